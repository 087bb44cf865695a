# SPDX-License-Identifier: MIT
"""The C library through cffi in ABI mode: the declarations generated from
the installed headers at build time (_cdef.py), the library found by the
path meson recorded at configure time (_config.py), the exception, and the
helpers every wrapper shares."""
import os
import weakref

import numpy as np
from cffi import FFI

from . import _cdef, _config

ffi = FFI()
ffi.cdef(_cdef.CDEF)


def _open():
    """EC2T_LIBRARY when set (and only it: a wrong path must not fall back
    silently); else the library this package was installed with, by its
    absolute path (no ldconfig or LD_LIBRARY_PATH needed); else the soname."""
    wanted = os.environ.get("EC2T_LIBRARY")
    candidates = [wanted] if wanted else [_config.LIBRARY, _config.SONAME]
    errors = []
    for path in candidates:
        if os.path.isabs(path) and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            return ffi.dlopen(path), path
        except OSError as e:
            errors.append(str(e))
    raise ImportError("ec2t: cannot load libec2t (%s)" % "; ".join(errors))


lib, library_path = _open()

if lib.ec2t_version_number() < _cdef.CONSTANTS["EC2T_VERSION_NUMBER"]:
    raise ImportError("ec2t: %s is libec2t %s, older than the %s this package was built for"
                      % (library_path, ffi.string(lib.ec2t_version_string()).decode(),
                         _cdef.CONSTANTS["EC2T_VERSION_STRING"]))

# Public functions deliberately not wrapped by a Python method, with why
# (tests/python: every other stable function is called by the package).
UNWRAPPED = {
    "ec2t_context_set_log_handler": "its handler takes a va_list, which no FFI can implement; "
                                    "Context.set_log_handler uses the message variant",
    "ec2t_context_new_with_allocator": "Python code cannot usefully allocate for the library",
}


class Owner:
    """Frees a C object once its Python wrapper is gone and every handle
    that depends on it (made from it, or borrowing it) is freed: the order
    the library needs (a network before its context, a trainer before its
    ternarizer), whatever order the garbage collector or the interpreter's
    exit takes. (ffi.gc frees each object on its own, so a cycle collected
    at exit could free a context before its networks.)"""

    __slots__ = ("ptr", "free", "parents", "users", "dead")

    def __init__(self, ptr, free):
        self.ptr, self.free, self.parents, self.users, self.dead = ptr, free, [], 0, False

    def depend_on(self, other):
        """other is freed after this one."""
        other.users += 1
        self.parents.append(other)

    def release(self):
        self.dead = True
        self._maybe_free()

    def _maybe_free(self):
        if self.dead and self.users == 0 and self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            self.free(ptr)
            parents, self.parents = self.parents, []
            for p in parents:
                p.users -= 1
                p._maybe_free()


def own(wrapper, ptr, free, *parents):
    """Give wrapper the C object ptr, freed with free after every wrapper
    of parents is freed; returns ptr."""
    owner = wrapper._owner_record = Owner(ptr, free)
    for p in parents:
        if p is not None:
            owner.depend_on(p._owner_record)
    weakref.finalize(wrapper, owner.release)
    return ptr


class Error(Exception):
    """A libec2t call failed: status is the ec2t_status (a negative int),
    message the library's message for it."""

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = status
        self.message = message

    @property
    def status_name(self):
        return status_name(self.status)

    def __str__(self):
        return "%s (%s)" % (self.message, self.status_name)


def status_name(status):
    for name, value in _cdef.ENUMS.items():
        if name.startswith("EC2T_OK") or name.startswith("EC2T_E_"):
            if value == status:
                return name
    return "status %d" % status


def text(ptr):
    """A C string as str ('' for NULL)."""
    return "" if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


def check(ctx, status):
    """Raise Error(status, the context's message) unless status is EC2T_OK."""
    if status != lib.EC2T_OK:
        message = text(lib.ec2t_context_errmsg(ctx)) if ctx is not None else ""
        raise Error(status, message or text(lib.ec2t_status_string(status)))


def path_arg(path):
    return os.fsencode(path)


def floats(array, ndim=None):
    """A C-contiguous float32 array: the same object when it already is one
    (no copy), else a converted copy."""
    a = np.ascontiguousarray(array, dtype=np.float32)
    if ndim is not None and a.ndim != ndim:
        raise ValueError("expected an array of %d dimensions, got shape %s" % (ndim, a.shape))
    return a


def ptr(array, ctype="float *"):
    return ffi.cast(ctype, ffi.from_buffer(array))


def out_ptr(ctype):
    return ffi.new(ctype + " *")


class _View:
    """An array interface over library memory that keeps its owner alive
    as long as a NumPy array uses it."""

    def __init__(self, address, shape, owner):
        self.owner = owner
        self.__array_interface__ = {"data": (address, False), "shape": tuple(shape),
                                    "typestr": "<f4", "version": 3}


def view(cptr, shape, owner):
    """A NumPy float32 array over cptr (float *), without copying."""
    if cptr == ffi.NULL:
        raise ValueError("no data")
    return np.asarray(_View(int(ffi.cast("uintptr_t", cptr)), shape, owner))


def constant(prefix, name):
    """The value of EC2T_<prefix><NAME> (enums and #defines)."""
    key = "EC2T_" + prefix + name.upper()
    if key in _cdef.ENUMS:
        return _cdef.ENUMS[key]
    if key in _cdef.CONSTANTS:
        return _cdef.CONSTANTS[key]
    raise KeyError("unknown setting or value %r (no %s)" % (name, key))


# Settings whose values may be given by name: prefix of their constants.
_VALUE_PREFIX = {"schedule": "SCHED_", "encoding": "ENCODING_", "isa": "ISA_",
                 "init": "TERN_INIT_", "transfer": "TRANSFER_", "compression": "COMPRESS_",
                 "mode": "MODE_", "optimizer": "OPT_"}


def value_arg(name, value):
    if isinstance(value, str):
        return constant(_VALUE_PREFIX.get(name, ""), value)
    return value


def set_setting(ctx, prefix, name, value, set_int=None, set_double=None):
    """Set a setting through the setter of its documented type (TYPES,
    from the headers); an undocumented one through set_int for integers."""
    param = constant(prefix, name)
    value = value_arg(name, value)
    kind = _cdef.TYPES.get("EC2T_" + prefix + name.upper())
    if kind is None:
        kind = "int" if isinstance(value, (int, np.integer)) else "double"
    if kind == "int" and set_int is not None:
        if not float(value).is_integer():
            raise ValueError("%s is an integer setting, not %r" % (name, value))
        check(ctx, set_int(param, int(value)))
    elif set_double is not None:
        check(ctx, set_double(param, float(value)))
    else:
        check(ctx, set_int(param, int(value)))


def setting_bounds(prefix, name, bounds_int=None, bounds_double=None):
    """The accepted (lo, hi) of a setting, through the bounds function of
    its documented type."""
    param = constant(prefix, name)
    kind = _cdef.TYPES.get("EC2T_" + prefix + name.upper(), "int")
    if kind == "int" and bounds_int is not None:
        lo, hi = ffi.new("int64_t *"), ffi.new("int64_t *")
        check(None, bounds_int(param, lo, hi))
        return int(lo[0]), int(hi[0])
    lo, hi = ffi.new("double *"), ffi.new("double *")
    check(None, bounds_double(param, lo, hi))
    return float(lo[0]), float(hi[0])


def get_setting(ctx, prefix, name, get_int=None, get_double=None):
    """Read a setting through the getter of its documented type."""
    param = constant(prefix, name)
    kind = _cdef.TYPES.get("EC2T_" + prefix + name.upper(), "int")
    if kind == "int" and get_int is not None:
        out = ffi.new("int64_t *")
        check(ctx, get_int(param, out))
        return int(out[0])
    out = ffi.new("double *")
    check(ctx, (get_double or get_int)(param, out))
    return int(out[0]) if kind == "int" else float(out[0])
