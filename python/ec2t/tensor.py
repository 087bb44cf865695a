# SPDX-License-Identifier: MIT
"""Tensor: an ec2t_tensor, seen from NumPy without copying."""
import numpy as np

from ._lib import check, ffi, floats, lib, own, path_arg, ptr, view
from .context import context_of


class Tensor:
    """An ec2t_tensor of float32. t.numpy() is a view of its memory (no
    copy; writes go to the tensor); Tensor.from_numpy() copies into new
    library memory (aligned as the library needs)."""

    def __init__(self, cptr, owner, ctx=None):
        self._ptr = cptr
        self._owner = owner  # keeps the memory alive: the Tensor itself or its network
        self._ctx = ctx

    @classmethod
    def _owned(cls, cptr, ctx):
        t = cls(None, None, ctx)
        t._ptr = own(t, cptr, lib.ec2t_tensor_free, ctx)
        t._owner = t
        return t

    @classmethod
    def new(cls, shape, ctx=None):
        ctx = context_of(ctx)
        dims = ffi.new("int64_t[]", [int(d) for d in shape])
        out = ffi.new("ec2t_tensor **")
        check(ctx.ptr, lib.ec2t_tensor_new(ctx.ptr, len(shape), dims, out))
        return cls._owned(out[0], ctx)

    @classmethod
    def from_numpy(cls, array, ctx=None):
        a = floats(array)
        t = cls.new(a.shape, ctx)
        t.write(a)
        return t

    @classmethod
    def load_npy(cls, path, ctx=None):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_tensor **")
        check(ctx.ptr, lib.ec2t_tensor_load_npy(ctx.ptr, path_arg(path), 0, out))
        return cls._owned(out[0], ctx)

    @classmethod
    def load_npy_bytes(cls, data, ctx=None):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_tensor **")
        check(ctx.ptr, lib.ec2t_tensor_load_npy_mem(ctx.ptr, ffi.from_buffer(data), len(data), 0, out))
        return cls._owned(out[0], ctx)

    def _check(self, status):
        check(self._ctx.ptr if self._ctx else None, status)

    @property
    def shape(self):
        dims, rank = ffi.new("int64_t[]", int(lib.ec2t_max_dims())), ffi.new("int32_t *")
        self._check(lib.ec2t_tensor_shape(self._ptr, dims, lib.ec2t_max_dims(), rank))
        return tuple(dims[i] for i in range(rank[0]))

    def dim(self, axis):
        return int(lib.ec2t_tensor_dim(self._ptr, axis))

    @property
    def ndim(self):
        return int(lib.ec2t_tensor_rank(self._ptr))

    @property
    def size(self):
        return int(lib.ec2t_tensor_numel(self._ptr))

    def numpy(self):
        """A float32 array over the tensor's memory (no copy)."""
        return view(lib.ec2t_tensor_data(self._ptr), self.shape, self._owner)

    __array__ = lambda self, dtype=None: np.asarray(self.numpy(), dtype=dtype)

    def copy_to_numpy(self):
        """A copy, through ec2t_tensor_read()."""
        out = np.empty(self.shape, np.float32)
        needed = ffi.new("size_t *")
        self._check(lib.ec2t_tensor_read(self._ptr, ptr(out), out.size, needed))
        return out

    def write(self, array):
        a = floats(array)
        self._check(lib.ec2t_tensor_write(self._ptr, ptr(a), a.size))

    def fill(self, value):
        self._check(lib.ec2t_tensor_fill(self._ptr, value))

    def init_uniform(self, lo, hi, seed):
        self._check(lib.ec2t_tensor_init_uniform(self._ptr, lo, hi, seed))

    def init_normal(self, mean, std, seed):
        self._check(lib.ec2t_tensor_init_normal(self._ptr, mean, std, seed))

    def init_kaiming(self, seed, fan="in"):
        mode = lib.EC2T_FAN_OUT if fan == "out" else lib.EC2T_FAN_IN
        self._check(lib.ec2t_tensor_init_kaiming(self._ptr, mode, seed))

    def reshape(self, shape):
        dims = ffi.new("int64_t[]", [int(d) for d in shape])
        self._check(lib.ec2t_tensor_reshape(self._ptr, len(shape), dims))

    def save_npy(self, path):
        self._check(lib.ec2t_tensor_save_npy(self._ptr, path_arg(path), 0))

    def __repr__(self):
        return "ec2t.Tensor(shape=%s)" % (self.shape,)
