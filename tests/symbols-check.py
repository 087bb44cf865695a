#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The exported ABI is exactly what lib/libec2t.sym lists.

Checks, with nm:
  1. the shared library's defined dynamic symbols == the names in libec2t.sym;
  2. every EC2T_API function declared in include/ec2t/*.h is in libec2t.sym,
     and every name in libec2t.sym is declared;
  3. the static core exports no global symbol outside the ec2t_ namespace.
Usage: symbols-check.py NM LIBEC2T.so SYMFILE HEADER_DIR CORE.a"""
import glob
import re
import subprocess
import sys


def nm(nm_prog, *args):
    out = subprocess.run([nm_prog, *args], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def main():
    nm_prog, lib, symfile, header_dir, core = sys.argv[1:6]
    text = re.sub(r"/\*.*?\*/", "", open(symfile).read(), flags=re.S)
    listed = set(re.findall(r"\b(ec2t_[a-z0-9_]+)\s*;", text))
    exported = set()
    for fields in nm(nm_prog, "-D", "--defined-only", lib):
        kind, name = fields[-2], fields[-1]
        if kind == "A":  # version node names such as LIBEC2T_0.1
            continue
        exported.add(name.split("@")[0])
    declared = set()
    for h in glob.glob(header_dir + "/*.h"):
        src = re.sub(r"/\*.*?\*/", "", open(h).read(), flags=re.S)
        for decl in re.findall(r"EC2T_API[^;{]*?\b(ec2t_[a-z0-9_]+)\s*\(", src, flags=re.S):
            declared.add(decl)
    leaks = []
    for fields in nm(nm_prog, "--defined-only", "-g", core):
        if len(fields) >= 2 and not fields[-1].startswith("ec2t_") and not fields[-1].endswith(":"):
            leaks.append(fields[-1])

    problems = []
    for name in sorted(exported - listed):
        problems.append("exported but not in libec2t.sym: " + name)
    for name in sorted(listed - exported):
        problems.append("in libec2t.sym but not exported (missing EC2T_API or definition): " + name)
    for name in sorted(declared - listed):
        problems.append("declared EC2T_API but not in libec2t.sym: " + name)
    for name in sorted(listed - declared):
        problems.append("in libec2t.sym but not declared in a public header: " + name)
    for name in sorted(set(leaks)):
        problems.append("global symbol outside the ec2t_ namespace in the static core: " + name)
    for p in problems:
        print("FAIL:", p)
    print("%d exported, %d listed, %d declared" % (len(exported), len(listed), len(declared)))
    print("%d passed, %d failed" % (0 if problems else 1, 1 if problems else 0))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
