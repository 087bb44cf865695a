#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The public headers, preprocessed with EC2T_FFI_DECLARATIONS, are
declarations cffi's ffi.cdef() accepts as they are (common.h promises it),
and they bind the built library in ABI mode.

Checks:
  1. `CC -E -P -DEC2T_FFI_DECLARATIONS` of the umbrella header, of the
     umbrella header with EC2T_ENABLE_EXPERIMENTAL, of experimental.h alone
     and of every other header alone: no attribute, builtin, va_list or
     system typedef is left, and a fresh FFI().cdef() accepts each;
  2. the functions the umbrella header declares are the stable names of
     lib/libec2t.sym less ec2t_context_set_log_handler (its va_list
     handler is the only declaration left out), and with
     EC2T_ENABLE_EXPERIMENTAL the experimental names too;
  3. ffi.dlopen() of libec2t.so.SOVERSION: ec2t_version_string(), then a
     context whose log messages go to a Python callback through
     ec2t_context_set_log_message_handler(): a failing call's message is
     passed at EC2T_LOG_DEBUG, equals ec2t_context_errmsg(), and the
     callback gets the user pointer back.
Exits 77 when Debian's python3-cffi is missing. Under a sanitizer build the
library cannot be loaded into Python, so step 3 is skipped.
Usage: ffi-cdef-test.py LIBEC2T.so SOVERSION VERSION SYMFILE SRC_INCLUDE
                        BUILD_INCLUDE SANITIZE CC [CC_ARGS...]"""
import os
import re
import subprocess
import sys
import warnings

try:
    import cffi
except ImportError:
    print("SKIP: cffi is not installed for %s (Debian package python3-cffi)" % sys.executable)
    sys.exit(77)

lib_path, soversion, version, symfile, src_inc, build_inc, sanitize = sys.argv[1:8]
cc = sys.argv[8:]
problems = []


def preprocess(header, *defines):
    args = cc + ["-E", "-P", "-DEC2T_FFI_DECLARATIONS"] + ["-D" + d for d in defines]
    args += ["-I", build_inc, "-I", src_inc, os.path.join(src_inc, "ec2t", header)]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def cdef(name, text):
    """A fresh FFI with text declared, or None (and a problem) if refused."""
    for bad in ("__attribute__", "__declspec", "__builtin", "va_list", "typedef long"):
        if bad in text:
            problems.append("%s: the preprocessed text still has %r" % (name, bad))
    ffi = cffi.FFI()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "String literal found in cdef()"
            ffi.cdef(text)
    except Exception as e:  # CDefError, pycparser's ParseError, a warning
        problems.append("%s: ffi.cdef() refused it: %s: %s" % (name, type(e).__name__, e))
        return None
    return ffi


def functions(text):
    """Names declared as functions (a typedef's name is followed by ')')."""
    return set(re.findall(r"\b(ec2t_[a-z0-9_]+)\s*\(", text))


def sym_nodes():
    text = re.sub(r"/\*.*?\*/", "", open(symfile).read(), flags=re.S)
    return {m.group(1): set(re.findall(r"\b(ec2t_[a-z0-9_]+)\s*;", m.group(2)))
            for m in re.finditer(r"(\w+(?:\.\w+)*)\s*\{(.*?)\}", text, flags=re.S)}


# 1. every header, alone and through the umbrella
headers = sorted(h for h in os.listdir(os.path.join(src_inc, "ec2t")) if h.endswith(".h"))
for h in headers:
    defines = ["EC2T_ENABLE_EXPERIMENTAL"] if h == "experimental.h" else []
    cdef(h, preprocess(h, *defines))
stable_text = preprocess("ec2t.h")
experimental_text = preprocess("ec2t.h", "EC2T_ENABLE_EXPERIMENTAL")
ffi = cdef("ec2t.h", stable_text)
cdef("ec2t.h with EC2T_ENABLE_EXPERIMENTAL", experimental_text)

# 2. nothing but the va_list declaration is left out
nodes = sym_nodes()
experimental = nodes.pop("LIBEC2T_EXPERIMENTAL", set())
stable = set().union(*nodes.values())
want = stable - {"ec2t_context_set_log_handler"}
for name, text, expect in (("ec2t.h", stable_text, want),
                           ("ec2t.h with EC2T_ENABLE_EXPERIMENTAL", experimental_text,
                            want | experimental)):
    got = functions(text)
    for missing in sorted(expect - got):
        problems.append("%s: %s is exported but not declared" % (name, missing))
    for extra in sorted(got - expect):
        problems.append("%s: %s is declared but should not be" % (name, extra))

# 3. the library through cffi, with a Python log callback
if ffi is None:
    pass
elif sanitize != "none":
    print("note: b_sanitize=%s: a sanitized library cannot be loaded into Python; "
          "dlopen round trip skipped" % sanitize)
else:
    soname = os.path.join(os.path.dirname(lib_path), "libec2t.so." + soversion)
    lib = ffi.dlopen(soname)
    for name in sorted(want):
        if not hasattr(lib, name):
            problems.append("%s: declared, but cffi cannot find it in %s" % (name, soname))
    got_version = ffi.string(lib.ec2t_version_string()).decode()
    if got_version != version:
        problems.append("ec2t_version_string() is %r, the project %r" % (got_version, version))

    received = []
    tag = object()

    @ffi.callback("ec2t_log_msg_fn")
    def on_message(user, level, message):
        received.append((ffi.from_handle(user), level, ffi.string(message).decode()))

    handle = ffi.new_handle(tag)
    pctx = ffi.new("ec2t_context **")
    if lib.ec2t_context_new(pctx) != lib.EC2T_OK:
        sys.exit("FAIL: ec2t_context_new() failed")
    ctx = pctx[0]
    try:
        checks = [
            (lib.ec2t_context_set_log_message_handler(ctx, on_message, handle), lib.EC2T_OK),
            (lib.ec2t_context_set_int(ctx, lib.EC2T_CTX_LOG_LEVEL, lib.EC2T_LOG_DEBUG),
             lib.EC2T_OK),
            (lib.ec2t_context_set_int(ctx, lib.EC2T_CTX_THREADS, 0), lib.EC2T_E_INVAL),
        ]
        errmsg = ffi.string(lib.ec2t_context_errmsg(ctx)).decode()
        for i, (status, expect) in enumerate(checks):
            if status != expect:
                problems.append("call %d returned %d, not %d" % (i, status, expect))
        if received != [(tag, lib.EC2T_LOG_DEBUG, errmsg)] or "outside" not in errmsg:
            problems.append("the callback received %r; wanted one DEBUG message %r"
                            % (received, errmsg))
        # NULL unsets: the next failure reaches no Python code
        lib.ec2t_context_set_log_message_handler(ctx, ffi.NULL, ffi.NULL)
        lib.ec2t_context_set_int(ctx, lib.EC2T_CTX_THREADS, 0)
        if len(received) != 1:
            problems.append("the callback was called after being removed: %r" % received)
    finally:
        lib.ec2t_context_free(ctx)

for p in problems:
    print("FAIL:", p)
if problems:
    sys.exit(1)
print("ffi.cdef() accepts every header; %d functions declared and bound" % len(want))
