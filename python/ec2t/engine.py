# SPDX-License-Identifier: MIT
"""Engine: the ternary inference engine and the deployable .ec2t file."""
import numpy as np

from ._lib import (check, ffi, floats, get_setting, lib, own, path_arg, ptr, set_setting,
                   setting_bounds, text)
from .context import context_of


class Engine:
    """An ec2t_engine: Engine.compile(net) or Engine.load('model.ec2t'), then
    engine.run(batch) -> logits. Settings (EC2T_ENGINE_*): isa, encoding
    ('entropy', 'raw'), dense_fallback, float_bits; facts ops, ternary_layers,
    input_c/h/w, outputs, dead_channels, active_isa, adds, mults."""

    def __init__(self, cptr, ctx):
        self._ptr = own(self, cptr, lib.ec2t_engine_free, ctx)
        self.ctx = ctx
        self._workspace = {}  # batch -> bytes: each batch size allocates once

    @classmethod
    def compile(cls, net):
        out = ffi.new("ec2t_engine **")
        check(net.ctx.ptr, lib.ec2t_engine_compile(net.ptr, 0, out))
        return cls(out[0], net.ctx)

    @classmethod
    def load(cls, path, ctx=None):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_engine **")
        check(ctx.ptr, lib.ec2t_engine_load(ctx.ptr, path_arg(path), 0, out))
        return cls(out[0], ctx)

    @classmethod
    def load_bytes(cls, data, ctx=None):
        ctx = context_of(ctx)
        out = ffi.new("ec2t_engine **")
        check(ctx.ptr, lib.ec2t_engine_load_mem(ctx.ptr, ffi.from_buffer(data), len(data), 0, out))
        return cls(out[0], ctx)

    def _check(self, status):
        check(self.ctx.ptr, status)

    def save(self, path, **settings):
        """Write the .ec2t file (atomically); settings as set() first."""
        self.set(**settings)
        self._check(lib.ec2t_engine_save(self._ptr, path_arg(path), 0))

    def set(self, **settings):
        for name, value in settings.items():
            set_setting(self.ctx.ptr, "ENGINE_", name, value,
                        set_int=lambda p, v: lib.ec2t_engine_set_int(self._ptr, p, v))
        self._workspace.clear()
        return self

    def get(self, name):
        return get_setting(self.ctx.ptr, "ENGINE_", name,
                           get_int=lambda p, o: lib.ec2t_engine_get_int(self._ptr, p, o))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        return setting_bounds("ENGINE_", name, bounds_int=lib.ec2t_engine_param_bounds)

    def set_meta(self, key, value):
        self._check(lib.ec2t_engine_set_meta(self._ptr, key.encode(), value.encode()))

    def get_meta(self, key):
        value = ffi.new("const char **")
        self._check(lib.ec2t_engine_get_meta(self._ptr, key.encode(), value))
        return text(value[0])

    @property
    def input_shape(self):
        return self.get("input_c"), self.get("input_h"), self.get("input_w")

    def workspace_size(self, batch):
        size = ffi.new("size_t *")
        self._check(lib.ec2t_engine_workspace_size(self._ptr, batch, size))
        return size[0]

    def run(self, images, out=None):
        """Logits (N, outputs) for a batch (N, C, H, W) of float32 (used in
        place when C-contiguous float32; converted otherwise). out: a
        float32 (N, outputs) array to write into, to avoid allocating."""
        x = floats(images, 4)
        n = len(x)
        if out is None:
            out = np.empty((n, self.get("outputs")), np.float32)
        elif out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous float32 array")
        ws = self._workspace.get(n)
        if ws is None:
            ws = self._workspace[n] = np.empty(max(1, self.workspace_size(n)), np.uint8)
        self._check(lib.ec2t_engine_run(self._ptr, ptr(x), x.size, n, ptr(out), out.size,
                                        ptr(ws, "void *"), ws.size, 0))
        return out
