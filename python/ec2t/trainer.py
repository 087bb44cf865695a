# SPDX-License-Identifier: MIT
"""Trainer: SGD or Adam over a Net, with a Python progress callback."""
import weakref

import numpy as np

from ._lib import (Error, check, constant, ffi, floats, get_setting, lib, own, path_arg, ptr,
                   set_setting, setting_bounds)


class Callback:
    """A C callback around a Python function: an exception it raises stops
    the C call (non-zero return) and is raised again when the call returns.
    Nothing in it refers back to it or to its handle: no reference cycle,
    so that handles are freed by reference counting, in order, even at exit
    (the garbage collector frees a cycle's objects in any order)."""

    def __init__(self, ctype, fn, convert):
        errors = self.errors = []

        def call(*args):
            try:
                return 1 if fn(*convert(*args)) else 0
            except BaseException as e:  # KeyboardInterrupt too: stop the run
                errors.append(e)
                return 1

        self.c = ffi.callback(ctype, call)

    def raise_pending(self):
        if self.errors:
            error = self.errors.pop()
            self.errors.clear()
            raise error


class Trainer:
    """An ec2t_trainer. Settings (EC2T_TRAIN_*) by keyword: lr, momentum,
    nesterov, weight_decay, beta1, beta2, eps apply to a parameter group
    (group 0 by default); batch_size, seed, schedule ('one_cycle', 'cosine',
    'step', 'constant'), epochs, step_size, step_gamma, min_lr_factor,
    augment, warmup to the trainer. Read-only facts: epoch, step,
    steps_per_epoch, total_steps, loss, accuracy, images_per_sec, current_lr."""

    def __init__(self, net, optimizer="sgd", **settings):
        out = ffi.new("ec2t_trainer **")
        check(net.ctx.ptr, lib.ec2t_trainer_new(net.ptr, constant("OPT_", optimizer), 0, out))
        self._ptr = own(self, out[0], lib.ec2t_trainer_free, net)
        self.net = net
        self._progress = None
        self.set(**settings)

    @property
    def ptr(self):
        return self._ptr

    def _check(self, status):
        if self._progress is not None:
            self._progress.raise_pending()
        check(self.net.ctx.ptr, status)

    def set(self, group=0, **settings):
        for name, value in settings.items():
            try:
                set_setting(self.net.ctx.ptr, "TRAIN_", name, value,
                            set_int=lambda p, v: lib.ec2t_trainer_set_int(self._ptr, p, v),
                            set_double=lambda p, v: lib.ec2t_trainer_set_double(self._ptr, p, v))
            except Error as e:
                if e.status != lib.EC2T_E_UNSUPPORTED:
                    raise
                set_setting(self.net.ctx.ptr, "TRAIN_", name, float(value), set_double=lambda p, v:
                            lib.ec2t_trainer_group_set_double(self._ptr, group, p, v))
        return self

    def get(self, name, group=0):
        try:
            return get_setting(self.net.ctx.ptr, "TRAIN_", name,
                               get_int=lambda p, o: lib.ec2t_trainer_get_int(self._ptr, p, o),
                               get_double=lambda p, o: lib.ec2t_trainer_get_double(self._ptr, p, o))
        except Error as e:
            if e.status != lib.EC2T_E_UNSUPPORTED:
                raise
            return get_setting(self.net.ctx.ptr, "TRAIN_", name, get_double=lambda p, o:
                               lib.ec2t_trainer_group_get_double(self._ptr, group, p, o))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        return setting_bounds("TRAIN_", name, bounds_int=lib.ec2t_trainer_param_bounds_int,
                              bounds_double=lib.ec2t_trainer_param_bounds_double)

    def add_group(self, optimizer="sgd", params=(), **settings):
        """A new parameter group holding the named parameters; its index."""
        group = ffi.new("int32_t *")
        self._check(lib.ec2t_trainer_add_group(self._ptr, constant("OPT_", optimizer), group))
        for name in params:
            self._check(lib.ec2t_trainer_assign(self._ptr, name.encode(), group[0]))
        self.set(group=group[0], **settings)
        return group[0]

    def set_progress(self, fn):
        """fn(trainer) after every step of epoch(); a true return stops the
        epoch (Error EC2T_E_ABORTED). None removes it."""
        if fn is None:
            self._check(lib.ec2t_trainer_set_progress(self._ptr, ffi.NULL, ffi.NULL))
            self._progress = None
            return
        me = weakref.ref(self)  # no cycle: the trainer is freed by refcount, in order
        cb = Callback("ec2t_train_progress_fn", fn, lambda user, tr: (me(),))
        self._check(lib.ec2t_trainer_set_progress(self._ptr, cb.c, ffi.NULL))
        self._progress = cb

    def epoch(self, dataset):
        """One epoch over a Dataset: (mean loss, training accuracy)."""
        loss, acc = ffi.new("double *"), ffi.new("double *")
        self._check(lib.ec2t_trainer_epoch(self._ptr, dataset.ptr, 0, loss, acc))
        return loss[0], acc[0]

    def step(self, images, labels):
        """One optimizer step on a NumPy batch; its loss."""
        x = floats(images, 4)
        y = np.ascontiguousarray(labels, dtype=np.int32)
        loss = ffi.new("float *")
        self._check(lib.ec2t_trainer_step(self._ptr, ptr(x), x.size, ptr(y, "int32_t *"), y.size,
                                          len(x), 0, loss))
        return float(loss[0])

    def set_teacher(self, teacher, temperature=4.0, alpha=0.9):
        """Distil from a teacher Net (None removes it)."""
        self._check(lib.ec2t_trainer_set_teacher(self._ptr, teacher.ptr if teacher else ffi.NULL,
                                                 temperature, alpha))
        if teacher is not None:  # borrowed: freed after this trainer
            self._owner_record.depend_on(teacher._owner_record)

    def save_checkpoint(self, path):
        self._check(lib.ec2t_trainer_save_checkpoint(self._ptr, path_arg(path), 0))

    def load_checkpoint(self, path):
        self._check(lib.ec2t_trainer_load_checkpoint(self._ptr, path_arg(path), 0))
