#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Run the Python package's pytest suite on the build tree's package and
library; exit 77 (skipped), saying why, when it cannot run.
Usage: run-pytest.py BUILD_PYTHON_DIR TESTS_DIR (environment from meson:
EC2T_LIBRARY, EC2T_SOURCE_ROOT, EC2T_SYMFILE, EC2T_SANITIZE)"""
import importlib.util
import os
import sys

build_dir, tests_dir = sys.argv[1:3]
missing = [m for m in ("cffi", "numpy", "pytest") if importlib.util.find_spec(m) is None]
if missing:
    print("SKIP: %s lacks %s (Debian packages %s)" % (sys.executable, ", ".join(missing),
          " ".join("python3-" + m for m in missing)))
    sys.exit(77)
if not os.path.exists(os.path.join(build_dir, "ec2t", "_cdef.py")):
    print("SKIP: the package was not built (meson option python disabled, or its Python lacks "
          "cffi or numpy at configure time)")
    sys.exit(77)
if os.environ.get("EC2T_SANITIZE", "none") != "none":
    print("SKIP: b_sanitize=%s: a sanitized library cannot be loaded into Python"
          % os.environ["EC2T_SANITIZE"])
    sys.exit(77)
import pytest  # noqa: E402

os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (build_dir, os.environ.get("PYTHONPATH")) if p)
sys.path.insert(0, build_dir)
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-W", "error::DeprecationWarning",
                      tests_dir]))
