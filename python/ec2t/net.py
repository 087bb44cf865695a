# SPDX-License-Identifier: MIT
"""Net and Layer: networks built by name, by builder or layer by layer;
model files and PyTorch safetensors; forward passes on NumPy batches."""
import numpy as np

from ._lib import (check, constant, ffi, floats, get_setting, lib, own, path_arg, ptr,
                   set_setting, setting_bounds, text)
from .context import context_of
from .tensor import Tensor


def _ints(values):
    return ffi.new("int32_t[]", [int(v) for v in values])


class Layer:
    """A layer of a Net (valid while the Net lives; it keeps the Net alive)."""

    def __init__(self, net, cptr):
        self.net = net
        self._ptr = cptr

    def _check(self, status):
        check(self.net.ctx.ptr, status)

    @property
    def name(self):
        return text(lib.ec2t_layer_name(self._ptr))

    @name.setter
    def name(self, value):
        self._check(lib.ec2t_layer_set_name(self._ptr, value.encode()))

    @property
    def id(self):
        return int(lib.ec2t_layer_id(self._ptr))

    @property
    def kind(self):
        """'conv2d', 'dense', 'batchnorm', ... (EC2T_LAYER_<KIND>)."""
        value = lib.ec2t_layer_get_kind(self._ptr)
        return ffi.string(ffi.cast("ec2t_layer_kind", value))[len("EC2T_LAYER_"):].lower()

    @property
    def output_shape(self):
        c, h, w = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int32_t *")
        self._check(lib.ec2t_layer_output_shape(self._ptr, c, h, w))
        return c[0], h[0], w[0]

    @property
    def inputs(self):
        out = []
        for i in range(lib.ec2t_layer_input_count(self._ptr)):
            p = ffi.new("ec2t_layer **")
            self._check(lib.ec2t_layer_input(self._ptr, i, p))
            out.append(Layer(self.net, p[0]))
        return out

    def param(self, role="weight", grad=False):
        """The tensor of a role (weight, bias, running_mean, running_var), or
        its gradient."""
        p = ffi.new("ec2t_tensor **")
        fn = lib.ec2t_layer_grad if grad else lib.ec2t_layer_param
        self._check(fn(self._ptr, constant("PARAM_", role), p))
        return Tensor(p[0], self.net, self.net.ctx)

    def set(self, name, value):
        """bn_eps, bn_momentum, dropout_p, compression (EC2T_LAYER_*)."""
        set_setting(self.net.ctx.ptr, "LAYER_", name, value,
                    set_int=lambda p, v: lib.ec2t_layer_set_int(self._ptr, p, v),
                    set_double=lambda p, v: lib.ec2t_layer_set_double(self._ptr, p, v))

    def get(self, name):
        return get_setting(self.net.ctx.ptr, "LAYER_", name,
                           get_int=lambda p, o: lib.ec2t_layer_get_int(self._ptr, p, o),
                           get_double=lambda p, o: lib.ec2t_layer_get_double(self._ptr, p, o))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        return setting_bounds("LAYER_", name, bounds_int=lib.ec2t_layer_param_bounds_int,
                              bounds_double=lib.ec2t_layer_param_bounds_double)

    def __repr__(self):
        return "ec2t.Layer(%d, %r, %s)" % (self.id, self.name, self.kind)


class Net:
    """An ec2t_net. Build one with Net.build('resnet20', (3, 32, 32), 10),
    another builder, Net.new() and the add_* methods, or Net.load()."""

    def __init__(self, cptr, ctx):
        self._ptr = own(self, cptr, lib.ec2t_net_free, ctx)
        self.ctx = ctx

    @property
    def ptr(self):
        return self._ptr

    def _check(self, status):
        check(self.ctx.ptr, status)

    @classmethod
    def _make(cls, ctx, fn, *args):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_net **")
        check(ctx.ptr, fn(ctx.ptr, *args, out))
        return cls(out[0], ctx)

    # ---- construction
    @classmethod
    def build(cls, name, input_shape, classes, ctx=None):
        """A known architecture by name (ec2t_net_build_named): lenet5,
        resnet20 (resnetN, N = 6k+2), micronet."""
        c, h, w = input_shape
        return cls._make(ctx, lib.ec2t_net_build_named, name.encode(), c, h, w, classes, 0)

    @classmethod
    def lenet5(cls, input_shape=(1, 28, 28), classes=10, ctx=None):
        return cls._make(ctx, lib.ec2t_net_build_lenet5, *input_shape, classes, 0)

    @classmethod
    def resnet(cls, blocks, widths, input_shape, classes, ctx=None):
        return cls._make(ctx, lib.ec2t_net_build_resnet, len(blocks), _ints(blocks), _ints(widths),
                         *input_shape, classes, 0)

    @classmethod
    def ec2t_blocks(cls, blocks, widths, dropout, input_shape, classes, ctx=None):
        return cls._make(ctx, lib.ec2t_net_build_ec2t_blocks, len(blocks), _ints(blocks),
                         _ints(widths), dropout, *input_shape, classes, 0)

    @classmethod
    def new(cls, input_shape, ctx=None):
        """An empty network with its input layer; add layers with add_*."""
        return cls._make(ctx, lib.ec2t_net_new, *input_shape)

    @classmethod
    def load(cls, path, ctx=None):
        """A model file (ec2t_net_save) or a trainer checkpoint."""
        return cls._make(ctx, lib.ec2t_net_load, path_arg(path), 0)

    @classmethod
    def load_bytes(cls, data, ctx=None):
        return cls._make(ctx, lib.ec2t_net_load_mem, ffi.from_buffer(data), len(data), 0)

    def clone(self):
        out = ffi.new("ec2t_net **")
        self._check(lib.ec2t_net_clone(self._ptr, out))
        return Net(out[0], self.ctx)

    def save(self, path):
        self._check(lib.ec2t_net_save(self._ptr, path_arg(path), 0))

    def import_safetensors(self, path):
        """Copy the tensors of a safetensors file in by their PyTorch names."""
        self._check(lib.ec2t_net_import_safetensors(self._ptr, path_arg(path), 0))
        return self

    def export_safetensors(self, path):
        self._check(lib.ec2t_net_export_safetensors(self._ptr, path_arg(path), 0))

    def init(self, seed):
        """Kaiming-normal weights, zero biases, unit batchnorm."""
        self._check(lib.ec2t_net_init(self._ptr, seed))
        return self

    # ---- adding layers (each returns the new Layer)
    def _add(self, fn, *args):
        out = ffi.new("ec2t_layer **")
        self._check(fn(self._ptr, *args, out))
        return Layer(self, out[0])

    @property
    def input(self):
        return Layer(self, lib.ec2t_net_input(self._ptr))

    def add_dense(self, x, features, bias=True):
        return self._add(lib.ec2t_net_add_dense, x._ptr, features, lib_flag(bias, "ADD_BIAS"))

    def add_conv2d(self, x, channels, kernel, stride=1, pad=0, groups=1, bias=False):
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        return self._add(lib.ec2t_net_add_conv2d, x._ptr, channels, kh, kw, stride, pad, groups,
                         lib_flag(bias, "ADD_BIAS"))

    def add_batchnorm(self, x, affine=True):
        return self._add(lib.ec2t_net_add_batchnorm, x._ptr, lib_flag(not affine, "ADD_NO_AFFINE"))

    def add_relu(self, x):
        return self._add(lib.ec2t_net_add_relu, x._ptr, 0)

    def add_maxpool(self, x, kernel, stride=None, pad=0):
        return self._add(lib.ec2t_net_add_maxpool, x._ptr, kernel, stride or kernel, pad, 0)

    def add_avgpool(self, x, kernel, stride=None, pad=0):
        return self._add(lib.ec2t_net_add_avgpool, x._ptr, kernel, stride or kernel, pad, 0)

    def add_global_avgpool(self, x):
        return self._add(lib.ec2t_net_add_global_avgpool, x._ptr, 0)

    def add_flatten(self, x):
        return self._add(lib.ec2t_net_add_flatten, x._ptr, 0)

    def add_dropout(self, x, p):
        return self._add(lib.ec2t_net_add_dropout, x._ptr, p, 0)

    def add_residual(self, a, b, option_a=False):
        return self._add(lib.ec2t_net_add_residual, a._ptr, b._ptr, lib_flag(option_a, "ADD_OPTION_A"))

    def add_softmax_xent(self, x):
        return self._add(lib.ec2t_net_add_softmax_xent, x._ptr, 0)

    # ---- structure
    @property
    def layers(self):
        out = []
        for i in range(lib.ec2t_net_layer_count(self._ptr)):
            p = ffi.new("ec2t_layer **")
            self._check(lib.ec2t_net_layer(self._ptr, i, p))
            out.append(Layer(self, p[0]))
        return out

    def layer(self, name):
        p = ffi.new("ec2t_layer **")
        self._check(lib.ec2t_net_find_layer(self._ptr, name.encode(), p))
        return Layer(self, p[0])

    def params(self):
        """{PyTorch-style name: float32 array over the parameter (no copy)}."""
        out = {}
        for i in range(lib.ec2t_net_param_count(self._ptr)):
            name, value = ffi.new("const char **"), ffi.new("ec2t_tensor **")
            self._check(lib.ec2t_net_param(self._ptr, i, name, value, ffi.NULL))
            out[text(name[0])] = Tensor(value[0], self, self.ctx).numpy()
        return out

    def param(self, name, grad=False):
        """A parameter (or its gradient) by name, as an array view."""
        value = ffi.new("ec2t_tensor **")
        args = (ffi.NULL, value) if grad else (value, ffi.NULL)
        self._check(lib.ec2t_net_find_param(self._ptr, name.encode(), *args))
        return Tensor(value[0], self, self.ctx).numpy()

    def _shape(self, fn):
        c, h, w = ffi.new("int32_t *"), ffi.new("int32_t *"), ffi.new("int32_t *")
        self._check(fn(self._ptr, c, h, w))
        return c[0], h[0], w[0]

    input_shape = property(lambda self: self._shape(lib.ec2t_net_input_shape))
    output_shape = property(lambda self: self._shape(lib.ec2t_net_output_shape))
    trainable_count = property(lambda self: int(lib.ec2t_net_trainable_count(self._ptr)))
    macs = property(lambda self: int(lib.ec2t_net_macs(self._ptr)))

    @property
    def mode(self):
        return "train" if lib.ec2t_net_get_mode(self._ptr) == lib.EC2T_MODE_TRAIN else "eval"

    @mode.setter
    def mode(self, value):
        self._check(lib.ec2t_net_set_mode(self._ptr, constant("MODE_", value)))

    # ---- running
    def forward(self, images):
        """The outputs for a batch (N, C, H, W): (N, C) logits, or (N, C, H, W)."""
        x = floats(images, 4)
        c, h, w = self.output_shape
        out = np.empty((len(x), c) if h == w == 1 else (len(x), c, h, w), np.float32)
        self._check(lib.ec2t_net_forward(self._ptr, ptr(x), x.size, len(x), ptr(out), out.size, 0))
        return out

    def forward_loss(self, images, labels):
        """(mean loss, correct count) of a labelled batch; keeps what
        backward() needs."""
        x = floats(images, 4)
        y = np.ascontiguousarray(labels, dtype=np.int32)
        loss, correct = ffi.new("float *"), ffi.new("int64_t *")
        self._check(lib.ec2t_net_forward_loss(self._ptr, ptr(x), x.size, ptr(y, "int32_t *"), y.size,
                                              len(x), 0, loss, correct))
        return float(loss[0]), int(correct[0])

    def backward(self):
        self._check(lib.ec2t_net_backward(self._ptr, 0))

    def evaluate(self, dataset, batch_size=256):
        """(mean loss, accuracy in [0, 1]) over a Dataset."""
        loss, acc = ffi.new("double *"), ffi.new("double *")
        self._check(lib.ec2t_net_evaluate(self._ptr, dataset.ptr, batch_size, 0, loss, acc))
        return loss[0], acc[0]


def lib_flag(on, name):
    return constant("", name) if on else 0
