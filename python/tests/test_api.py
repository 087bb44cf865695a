# SPDX-License-Identifier: MIT
"""The package covers the stable API: every function of the stable nodes of
lib/libec2t.sym is declared by the generated cdef, found in the library, and
called by a Python method (or listed in ec2t.UNWRAPPED with a reason); the
#define constants come through with their values."""
import glob
import os
import re

import ec2t
from conftest import SOURCE_ROOT

SYMFILE = os.environ.get("EC2T_SYMFILE", os.path.join(SOURCE_ROOT, "lib", "libec2t.sym"))


def stable_functions():
    text = re.sub(r"/\*.*?\*/", "", open(SYMFILE).read(), flags=re.S)
    names = set()
    for node, body in re.findall(r"(\w+(?:\.\w+)*)\s*\{(.*?)\}", text, flags=re.S):
        if node != "LIBEC2T_EXPERIMENTAL":
            names |= set(re.findall(r"\b(ec2t_[a-z0-9_]+)\s*;", body))
    assert "ec2t_net_build_named" in names and len(names) > 100
    return names


def package_calls():
    called = set()
    for path in glob.glob(os.path.join(os.path.dirname(ec2t.__file__), "*.py")):
        if not path.endswith("_cdef.py"):
            called |= set(re.findall(r"\blib\.(ec2t_[a-z0-9_]+)", open(path).read()))
    return called


def test_every_stable_function_is_wrapped():
    missing = sorted(stable_functions() - package_calls() - set(ec2t.UNWRAPPED))
    assert not missing, "public functions without a Python wrapper: %s" % missing


def test_every_wrapped_function_is_in_the_library():
    for name in stable_functions() - {"ec2t_context_set_log_handler"}:
        assert callable(getattr(ec2t.lib, name)), name
    assert set(ec2t.UNWRAPPED) <= stable_functions()


def test_constants_and_version():
    assert ec2t.EC2T_MAX_DIMS == ec2t.max_dims() == 4
    assert ec2t.EC2T_ADD_OPTION_A == 4 and ec2t.EC2T_REPORT_MULT_32BIT == 8
    assert ec2t.EC2T_E_ABORTED == -8 and ec2t.EC2T_TRAIN_WARMUP == 428
    assert ec2t.version() == ec2t.__version__ == ec2t.EC2T_VERSION_STRING
    assert ec2t.lib.ec2t_version_number() == ec2t.EC2T_VERSION_NUMBER
