#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The exported ABI is exactly what lib/libec2t.sym lists, under the version
nodes the project version names.

Checks:
  1. the shared library's defined dynamic symbols == the names in libec2t.sym;
  2. every EC2T_API function declared in include/ec2t/*.h is in libec2t.sym,
     and every name in libec2t.sym is declared;
  3. every name is in exactly one node: the functions of experimental.h in
     LIBEC2T_EXPERIMENTAL, all others in a stable node LIBEC2T_<major>.<minor>;
  4. `nm -D --with-symbol-versions` shows each symbol under the node that
     lists it, and no version but the nodes of libec2t.sym;
  5. versions agree: the newest stable node is LIBEC2T_<major>.<minor> of the
     project version, the soname is libec2t.so.<soversion>, and the ABI
     reference dump is abi/libec2t-<soversion>.abi.xml and names that soname;
  6. the static core exports no global symbol outside the ec2t_ namespace.
Usage: symbols-check.py NM READELF LIBEC2T.so SYMFILE HEADER_DIR CORE.a
                        PROJECT_VERSION SOVERSION ABI_DIR"""
import glob
import os
import re
import subprocess
import sys

EXPERIMENTAL_NODE = "LIBEC2T_EXPERIMENTAL"
EXPERIMENTAL_HEADER = "experimental.h"


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def nm(nm_prog, *args):
    return [line.split() for line in run(nm_prog, *args).splitlines() if line.strip()]


def parse_nodes(symfile):
    """[(node, parent or None, [names])] in file order."""
    text = re.sub(r"/\*.*?\*/", "", open(symfile).read(), flags=re.S)
    nodes = []
    for m in re.finditer(r"(\w+(?:\.\w+)*)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        names = re.findall(r"\b(ec2t_[a-z0-9_]+)\s*;", m.group(2))
        nodes.append((m.group(1), m.group(3) or None, names))
    return nodes


def declarations(header_dir):
    """{function: header file name} of every EC2T_API declaration."""
    declared = {}
    for h in sorted(glob.glob(os.path.join(header_dir, "*.h"))):
        src = re.sub(r"/\*.*?\*/", "", open(h).read(), flags=re.S)
        for decl in re.findall(r"EC2T_API[^;{]*?\b(ec2t_[a-z0-9_]+)\s*\(", src, flags=re.S):
            declared[decl] = os.path.basename(h)
    return declared


def check_versions(nodes, version, soversion, soname, abi_dir, problems):
    major, minor = version.split(".")[:2]
    stable = [n for n, _, _ in nodes if n != EXPERIMENTAL_NODE]
    want = "LIBEC2T_%s.%s" % (major, minor)
    if not stable or stable[-1] != want:
        problems.append("project version %s needs the newest stable node %s; libec2t.sym has %s"
                        % (version, want, ", ".join(stable) or "none"))
    for name, parent, _ in nodes:
        i = stable.index(name) if name in stable else -1
        if i > 0 and parent != stable[i - 1]:
            problems.append("node %s must inherit %s" % (name, stable[i - 1]))
    for name in stable:
        if not re.fullmatch(r"LIBEC2T_%s\.\d+" % re.escape(major), name):
            problems.append("stable node %s is not LIBEC2T_%s.<minor>" % (name, major))
    if soname != "libec2t.so.%s" % soversion:
        problems.append("soname %s, but the soversion is %s" % (soname, soversion))
    dump = os.path.join(abi_dir, "libec2t-%s.abi.xml" % soversion)
    if not os.path.exists(dump):
        problems.append("no ABI reference dump %s for soversion %s" % (dump, soversion))
    else:
        m = re.search(r"soname='([^']*)'", open(dump).read(4096))
        if not m or m.group(1) != soname:
            problems.append("%s names soname %s, the library %s"
                            % (dump, m.group(1) if m else "none", soname))


def main():
    (nm_prog, readelf, lib, symfile, header_dir, core, version, soversion,
     abi_dir) = sys.argv[1:10]
    problems = []
    nodes = parse_nodes(symfile)
    node_of = {}
    for node, _, names in nodes:
        for name in names:
            if name in node_of:
                problems.append("%s is in both %s and %s" % (name, node_of[name], node))
            node_of[name] = node
    listed = set(node_of)

    exported, exported_node, versions = set(), {}, set()
    for fields in nm(nm_prog, "-D", "--defined-only", "--with-symbol-versions", lib):
        kind, name = fields[-2], fields[-1]
        if kind == "A":  # the version node names themselves
            versions.add(name)
            continue
        base, _, ver = name.partition("@")
        exported.add(base)
        exported_node[base] = ver.lstrip("@")
        versions.add(ver.lstrip("@"))
    declared = declarations(header_dir)
    leaks = []
    for fields in nm(nm_prog, "--defined-only", "-g", core):
        if len(fields) >= 2 and not fields[-1].startswith("ec2t_") and not fields[-1].endswith(":"):
            leaks.append(fields[-1])
    soname = (re.search(r"\(SONAME\).*\[(.*)\]", run(readelf, "-d", lib)) or [None, "none"])[1]

    for name in sorted(exported - listed):
        problems.append("exported but not in libec2t.sym: " + name)
    for name in sorted(listed - exported):
        problems.append("in libec2t.sym but not exported (missing EC2T_API or definition): " + name)
    for name in sorted(set(declared) - listed):
        problems.append("declared EC2T_API but not in libec2t.sym: " + name)
    for name in sorted(listed - set(declared)):
        problems.append("in libec2t.sym but not declared in a public header: " + name)
    for name in sorted(listed & set(declared)):
        experimental = declared[name] == EXPERIMENTAL_HEADER
        if experimental != (node_of[name] == EXPERIMENTAL_NODE):
            problems.append("%s is declared in %s but listed in node %s"
                            % (name, declared[name], node_of[name]))
    for name in sorted(listed & exported):
        if exported_node[name] != node_of[name]:
            problems.append("%s is exported as version %s, listed in %s"
                            % (name, exported_node[name] or "none", node_of[name]))
    for ver in sorted(versions - {n for n, _, _ in nodes}):
        problems.append("the library has version %s, which libec2t.sym does not define"
                        % (ver or "(none)"))
    check_versions(nodes, version, soversion, soname, abi_dir, problems)
    for name in sorted(set(leaks)):
        problems.append("global symbol outside the ec2t_ namespace in the static core: " + name)

    for p in problems:
        print("FAIL:", p)
    n_exp = sum(1 for n in node_of.values() if n == EXPERIMENTAL_NODE)
    print("%d exported, %d listed (%d stable, %d experimental), %d declared; versions %s; soname %s"
          % (len(exported), len(listed), len(listed) - n_exp, n_exp, len(declared),
             " ".join(sorted(versions)), soname))
    print("%d passed, %d failed" % (0 if problems else 1, 1 if problems else 0))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
