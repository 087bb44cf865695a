# SPDX-License-Identifier: MIT
"""Dataset: images and labels the trainer and the evaluation read."""
import numpy as np

from ._lib import (check, constant, ffi, floats, get_setting, lib, own, path_arg, ptr,
                   set_setting, setting_bounds)
from .context import context_of


class Dataset:
    """An ec2t_dataset: IDX files (MNIST, Fashion-MNIST), CIFAR batches, or
    NumPy arrays (copied in: the library normalises and augments its own)."""

    def __init__(self, cptr, ctx):
        self._ptr = own(self, cptr, lib.ec2t_dataset_free, ctx)
        self._ctx = ctx

    @property
    def ptr(self):
        return self._ptr

    def _check(self, status):
        check(self._ctx.ptr, status)

    @classmethod
    def load_idx(cls, images, labels, ctx=None):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_dataset **")
        check(ctx.ptr, lib.ec2t_dataset_load_idx(ctx.ptr, path_arg(images), path_arg(labels), 0, out))
        return cls(out[0], ctx)

    @classmethod
    def load_cifar(cls, paths, kind="cifar10", ctx=None):
        """kind: cifar10, cifar100_fine or cifar100_coarse."""
        ctx = context_of(ctx)
        keep = [ffi.new("char[]", path_arg(p)) for p in paths]
        out = ffi.new("ec2t_dataset **")
        check(ctx.ptr, lib.ec2t_dataset_load_cifar(ctx.ptr, ffi.new("const char *[]", keep), len(keep),
                                                   constant("", kind), 0, out))
        return cls(out[0], ctx)

    @classmethod
    def from_arrays(cls, images, labels, classes=None, ctx=None):
        """images: (N, C, H, W) floats; labels: N integers in [0, classes)."""
        ctx = context_of(ctx)
        x = floats(images, 4)
        y = np.ascontiguousarray(labels, dtype=np.int32)
        classes = int(y.max()) + 1 if classes is None else classes
        n, c, h, w = x.shape
        if n != len(y) or y.ndim != 1:
            raise ValueError("%d images but labels of shape %s" % (n, y.shape))
        out = ffi.new("ec2t_dataset **")
        check(ctx.ptr, lib.ec2t_dataset_from_arrays(ctx.ptr, ptr(x), ptr(y, "int32_t *"), len(y), c, h,
                                                    w, classes, 0, out))
        return cls(out[0], ctx)

    def subset(self, start, count):
        out = ffi.new("ec2t_dataset **")
        self._check(lib.ec2t_dataset_subset(self._ptr, start, count, 0, out))
        return Dataset(out[0], self._ctx)

    def __len__(self):
        return int(lib.ec2t_dataset_size(self._ptr))

    @property
    def classes(self):
        return int(lib.ec2t_dataset_classes(self._ptr))

    @property
    def shape(self):
        """(C, H, W) of an image."""
        c, h, w = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int32_t *")
        self._check(lib.ec2t_dataset_shape(self._ptr, c, h, w))
        return c[0], h[0], w[0]

    def set(self, name, value):
        """seed, crop_pad, hflip, cutout (EC2T_DATA_*)."""
        set_setting(self._ctx.ptr, "DATA_", name, value,
                    set_int=lambda p, v: lib.ec2t_dataset_set_int(self._ptr, p, v))

    def get(self, name):
        return get_setting(self._ctx.ptr, "DATA_", name,
                           get_int=lambda p, o: lib.ec2t_dataset_get_int(self._ptr, p, o))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        return setting_bounds("DATA_", name, bounds_int=lib.ec2t_dataset_param_bounds)

    def compute_normalization(self):
        """Per-channel (mean, std) arrays."""
        c = self.shape[0]
        mean, std = np.empty(c, np.float32), np.empty(c, np.float32)
        self._check(lib.ec2t_dataset_compute_normalization(self._ptr, ptr(mean), ptr(std), c))
        return mean, std

    def set_normalization(self, mean, std):
        m, s = floats(mean, 1), floats(std, 1)
        self._check(lib.ec2t_dataset_set_normalization(self._ptr, ptr(m), ptr(s), len(m)))

    def shuffle(self, seed):
        self._check(lib.ec2t_dataset_shuffle(self._ptr, seed))

    def batch(self, start, count, augment=False):
        """(images, labels) of count samples from start, normalised (and
        augmented when asked) as the trainer sees them."""
        c, h, w = self.shape
        x = np.empty((count, c, h, w), np.float32)
        y = np.empty(count, np.int32)
        flags = constant("", "batch_augment") if augment else 0
        self._check(lib.ec2t_dataset_get_batch(self._ptr, start, count, ptr(x), x.size,
                                               ptr(y, "int32_t *"), y.size, flags))
        return x, y
