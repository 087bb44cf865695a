# SPDX-License-Identifier: MIT
"""Ternarizer: EC2T on a Net, trained through a Trainer."""
import weakref

from ._lib import check, constant, ffi, get_setting, lib, own, path_arg, set_setting
from .trainer import Callback

_STATS = ("layer_id", "mode", "weights", "sparsity", "p_neg", "p_zero", "p_pos", "entropy",
          "w_p", "w_n", "lambda", "lambda_max", "est_bytes")


class Ternarizer:
    """An ec2t_ternarizer. Settings (EC2T_TERN_*) by keyword: gamma,
    target_sparsity, target_bytes, init_scale, init ('minmax', 'kmeans'),
    frozen, lr_shadow, lr_centroids; facts current_gamma, layers."""

    def __init__(self, net, **settings):
        out = ffi.new("ec2t_ternarizer **")
        check(net.ctx.ptr, lib.ec2t_ternarizer_new(net.ptr, 0, out))
        self._ptr = own(self, out[0], lib.ec2t_ternarizer_free, net)
        self.net = net
        self._progress = None
        self.set(**settings)

    def _check(self, status):
        if self._progress is not None:
            self._progress.raise_pending()
        check(self.net.ctx.ptr, status)

    def set(self, **settings):
        for name, value in settings.items():
            set_setting(self.net.ctx.ptr, "TERN_", name, value,
                        set_int=lambda p, v: lib.ec2t_ternarizer_set_int(self._ptr, p, v),
                        set_double=lambda p, v: lib.ec2t_ternarizer_set_double(self._ptr, p, v))
        return self

    def get(self, name):
        return get_setting(self.net.ctx.ptr, "TERN_", name,
                           get_int=lambda p, o: lib.ec2t_ternarizer_get_int(self._ptr, p, o),
                           get_double=lambda p, o: lib.ec2t_ternarizer_get_double(self._ptr, p, o))

    @staticmethod
    def bounds(name):
        lo, hi = ffi.new("double *"), ffi.new("double *")
        check(None, lib.ec2t_ternarizer_param_bounds(constant("TERN_", name), lo, hi))
        return lo[0], hi[0]

    def attach(self, trainer):
        """Let a Trainer's steps train the ternary layers too (the
        ternarizer is then freed after the trainer, as the library wants)."""
        self._check(lib.ec2t_ternarizer_attach(self._ptr, trainer.ptr, 0))
        trainer._owner_record.depend_on(self._owner_record)

    def set_progress(self, fn):
        """fn(ternarizer, phase, epoch, val_accuracy) after every epoch of
        train(); a true return stops it. None removes it."""
        if fn is None:
            self._check(lib.ec2t_ternarizer_set_progress(self._ptr, ffi.NULL, ffi.NULL))
            self._progress = None
            return
        me = weakref.ref(self)  # no cycle (see Trainer.set_progress)
        cb = Callback("ec2t_tern_progress_fn", fn,
                      lambda user, tz, phase, epoch, acc: (me(), phase, epoch, acc))
        self._check(lib.ec2t_ternarizer_set_progress(self._ptr, cb.c, ffi.NULL))
        self._progress = cb

    def train(self, trainer, train, val, epochs_a, epochs_b, checkpoint=None):
        """The two phases (epochs_a with gamma rising, epochs_b at the final
        assignment), optionally resumable from a checkpoint file."""
        if checkpoint is None:
            status = lib.ec2t_ternarizer_train(self._ptr, trainer.ptr, train.ptr,
                                               val.ptr if val else ffi.NULL, epochs_a, epochs_b, 0)
        else:
            status = lib.ec2t_ternarizer_train_checkpointed(
                self._ptr, trainer.ptr, train.ptr, val.ptr if val else ffi.NULL, epochs_a, epochs_b,
                path_arg(checkpoint), 0)
        self._check(status)

    def update(self):
        """Re-assign every ternary weight from the current shadow weights."""
        self._check(lib.ec2t_ternarizer_update(self._ptr, 0))

    def stats(self):
        """One dict per ternarized layer (EC2T_TSTAT_*)."""
        out = []
        value = ffi.new("double *")
        for i in range(self.get("layers")):
            row = {}
            for key in _STATS:
                self._check(lib.ec2t_ternarizer_stat(self._ptr, i, constant("TSTAT_", key), value))
                row[key] = value[0]
            out.append(row)
        return out
