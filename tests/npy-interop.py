#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""NumPy reads what libec2t writes, and libec2t reads what NumPy writes.

Usage: npy-interop.py NPY_TOOL TMPDIR. Needs NumPy (Debian: python3-numpy);
exits 77 (a skip for meson) with the reason when it is missing."""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("SKIP: NumPy is not importable by %s; install python3-numpy" % sys.executable)
    sys.exit(77)


def run_tool(tool, *args):
    p = subprocess.run([tool, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def parse_dump(text):
    lines = text.splitlines()
    shape = tuple(int(x) for x in lines[0].split()[1:])
    bits = np.array([int(w, 16) for w in lines[1].split()], dtype=np.uint32)
    return shape, bits


def main():
    tool = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        # libec2t writes, NumPy reads
        for shape in [(7,), (3, 5), (2, 3, 4), (2, 3, 4, 5)]:
            path = os.path.join(tmp, "from-ec2t.npy")
            rc, out, err = run_tool(tool, "write", path, *map(str, shape))
            assert rc == 0, err
            want_shape, want_bits = parse_dump(out)
            arr = np.load(path, allow_pickle=False)
            ok = (arr.dtype == np.dtype("<f4") and arr.shape == shape == want_shape
                  and arr.flags.c_contiguous
                  and np.array_equal(arr.view(np.uint32).ravel(), want_bits))
            print("numpy reads libec2t %-14s %s" % (shape, "ok" if ok else "MISMATCH"))
            failures += not ok
        # NumPy writes, libec2t reads (special values included)
        rng = np.random.default_rng(7)
        for shape in [(9,), (4, 6), (3, 1, 5), (2, 3, 4, 5)]:
            arr = rng.standard_normal(shape).astype("<f4")
            arr.flat[0] = np.nan
            arr.flat[-1] = -np.inf
            path = os.path.join(tmp, "from-numpy.npy")
            np.save(path, arr)
            rc, out, err = run_tool(tool, "read", path)
            assert rc == 0, err
            got_shape, got_bits = parse_dump(out)
            ok = got_shape == shape and np.array_equal(got_bits, arr.view(np.uint32).ravel())
            print("libec2t reads numpy %-14s %s" % (shape, "ok" if ok else "MISMATCH"))
            failures += not ok
        # what libec2t must refuse: other dtypes, Fortran order, 0-d arrays
        refusals = {
            "float64": np.zeros((3,), dtype="<f8"),
            "big-endian": np.zeros((3,), dtype=">f4"),
            "fortran": np.asfortranarray(np.zeros((3, 2), dtype="<f4")),
            "scalar": np.float32(1.0).reshape(()),
        }
        for name, arr in refusals.items():
            path = os.path.join(tmp, name + ".npy")
            np.save(path, arr)
            rc, out, err = run_tool(tool, "read", path)
            ok = rc == 3 and "malformed" in err
            print("libec2t refuses %-10s %s (%s)" % (name, "ok" if ok else "ACCEPTED", err.strip()))
            failures += not ok
    print("%d passed, %d failed" % (12 - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
