# SPDX-License-Identifier: MIT
"""Context: the root handle (threads, seed, log level, load limit, log handler)."""
from ._lib import check, ffi, get_setting, lib, own, set_setting, text


class Context:
    """An ec2t_context. Settings are attributes of EC2T_CTX_*: threads, seed,
    log_level, load_limit (ctx.threads = 2). Every handle made from it keeps
    it alive."""

    def __init__(self, threads=None, seed=None):
        out = ffi.new("ec2t_context **")
        check(None, lib.ec2t_context_new(out))
        self._ptr = own(self, out[0], lib.ec2t_context_free)
        self._log = None
        if threads is not None:
            self.threads = threads
        if seed is not None:
            self.seed = seed

    @property
    def ptr(self):
        return self._ptr

    def set(self, name, value):
        set_setting(self._ptr, "CTX_", name, value,
                    set_int=lambda p, v: lib.ec2t_context_set_int(self._ptr, p, v))

    def get(self, name):
        return get_setting(self._ptr, "CTX_", name,
                           get_int=lambda p, out: lib.ec2t_context_get_int(self._ptr, p, out))

    @staticmethod
    def bounds(name):
        """The accepted (lo, hi) of a setting."""
        from ._lib import constant
        lo, hi = ffi.new("int64_t *"), ffi.new("int64_t *")
        check(None, lib.ec2t_context_param_bounds(constant("CTX_", name), lo, hi))
        return lo[0], hi[0]

    threads = property(lambda self: self.get("threads"), lambda self, v: self.set("threads", v))
    seed = property(lambda self: self.get("seed"), lambda self, v: self.set("seed", v))
    log_level = property(lambda self: self.get("log_level"),
                         lambda self, v: self.set("log_level", v))
    load_limit = property(lambda self: self.get("load_limit"),
                          lambda self, v: self.set("load_limit", v))

    def set_log_handler(self, fn):
        """fn(level, message) receives the library's log messages (levels up
        to log_level); None removes it."""
        if fn is None:
            check(self._ptr, lib.ec2t_context_set_log_message_handler(self._ptr, ffi.NULL, ffi.NULL))
            self._log = None
            return

        @ffi.callback("ec2t_log_msg_fn")
        def on_message(user, level, message):
            fn(int(level), text(message))

        check(self._ptr, lib.ec2t_context_set_log_message_handler(self._ptr, on_message, ffi.NULL))
        self._log = on_message  # the callback lives as long as the context uses it

    @property
    def last_error(self):
        """(status, message) of this thread's last failure on this context."""
        return int(lib.ec2t_context_errcode(self._ptr)), text(lib.ec2t_context_errmsg(self._ptr))


_default = None


def default_context():
    """The context handles use when none is given (created on first use)."""
    global _default
    if _default is None:
        _default = Context()
    return _default


def context_of(ctx):
    return ctx if ctx is not None else default_context()
