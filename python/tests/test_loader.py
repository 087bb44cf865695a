# SPDX-License-Identifier: MIT
"""The package finds its library: EC2T_LIBRARY first (no fallback when it is
wrong), else the absolute path meson recorded (no ldconfig needed)."""
import os
import shutil
import subprocess
import sys

import ec2t


def run(code, pkg_parent, **env):
    e = {k: v for k, v in os.environ.items()
         if k not in ("EC2T_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    e.update(env, PYTHONPATH=str(pkg_parent))
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)


def test_absolute_path_recorded_at_configure_time_is_loaded(tmp_path):
    built = os.environ.get("EC2T_LIBRARY", ec2t.library_path)
    pkg = tmp_path / "ec2t"
    shutil.copytree(os.path.dirname(ec2t.__file__), pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "_config.py").write_text('LIBRARY = %r\nSONAME = "libec2t.so.0-missing"\n' % built)
    r = run("import ec2t; print(ec2t.library_path, ec2t.version())", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [built, ec2t.version()]
    r = run("import ec2t", tmp_path, EC2T_LIBRARY=str(tmp_path / "nothing.so"))
    assert r.returncode != 0 and "nothing.so: no such file" in r.stderr
