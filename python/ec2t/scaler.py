# SPDX-License-Identifier: MIT
"""Scaler: a super-network from a small one (compound scaling)."""
from ._lib import check, ffi, get_setting, lib, own, set_setting, setting_bounds
from .context import context_of
from .net import Net


class Scaler:
    """An ec2t_scaler. Settings (EC2T_SCALE_*): phi, depth, width, transfer
    ('scratch', 'preserve'), noise, seed."""

    def __init__(self, ctx=None, **settings):
        self.ctx = context_of(ctx)
        out = ffi.new("ec2t_scaler **")
        check(self.ctx.ptr, lib.ec2t_scaler_new(self.ctx.ptr, 0, out))
        self._ptr = own(self, out[0], lib.ec2t_scaler_free, self.ctx)
        self.set(**settings)

    def set(self, **settings):
        for name, value in settings.items():
            set_setting(self.ctx.ptr, "SCALE_", name, value,
                        set_int=lambda p, v: lib.ec2t_scaler_set_int(self._ptr, p, v),
                        set_double=lambda p, v: lib.ec2t_scaler_set_double(self._ptr, p, v))
        return self

    def get(self, name):
        return get_setting(self.ctx.ptr, "SCALE_", name,
                           get_int=lambda p, o: lib.ec2t_scaler_get_int(self._ptr, p, o),
                           get_double=lambda p, o: lib.ec2t_scaler_get(self._ptr, p, o))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        return setting_bounds("SCALE_", name, bounds_int=lib.ec2t_scaler_param_bounds_int,
                              bounds_double=lib.ec2t_scaler_param_bounds_double)

    def plan(self, base):
        """(blocks, widths) per stage of the super-network of base."""
        blocks, widths = ffi.new("int32_t[8]"), ffi.new("int32_t[8]")
        n = ffi.new("int32_t *")
        check(self.ctx.ptr, lib.ec2t_scaler_plan(self._ptr, base.ptr, blocks, widths, n))
        return list(blocks[0:n[0]]), list(widths[0:n[0]])

    def apply(self, base):
        """The super-network of base, a new Net."""
        out = ffi.new("ec2t_net **")
        check(self.ctx.ptr, lib.ec2t_scaler_apply(self._ptr, base.ptr, 0, out))
        return Net(out[0], base.ctx)
