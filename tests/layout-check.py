#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The folders of lib/ depend on each other one way (doc/ARCHITECTURE.md):

    core <- formats <- data, nn <- train <- scale, ternarize
    report on nn; engine on core and formats

Every folder of lib/ is an include directory, so the compiler would let any
file include any private header; this script is what keeps the direction.

Checks:
  1. every folder of lib/ (a subfolder belongs to its top folder: nn/layers
     is nn) is one of FOLDERS, no source lies in lib/ itself, and the folder
     list of lib/meson.build is FOLDERS' keys in order;
  2. every private header's name is unique in lib/ (it is included by its
     name alone);
  3. every #include "..." of a file in lib/ names a header of its own folder,
     of a folder it may depend on (FOLDERS), a public header (ec2t/...), or
     a header of its own directory (kernels' bodies); ALLOWED lists the known
     exceptions, each with its follow-up;
  4. every .c file of lib/ is named in the meson.build of its directory, and
     every file a meson.build names exists.
Usage: layout-check.py SOURCE_ROOT"""
import os
import re
import sys

# Each folder and the folders it may include private headers from.
FOLDERS = {
    "core": set(),
    "formats": {"core"},
    "data": {"core", "formats"},
    "nn": {"core", "formats"},
    "train": {"core", "formats", "data", "nn"},
    "scale": {"core", "formats", "data", "nn", "train"},
    "ternarize": {"core", "formats", "data", "nn", "train"},
    "report": {"core", "formats", "nn"},
    "engine": {"core", "formats"},
}

# Includes against the direction, accepted until their follow-up lands:
# (file under lib/, header) -> why.
ALLOWED = {
    ("nn/layers/conv-gemm.c", "tkernel-private.h"):
        "the convolution layers' AVX-512 products ask the engine's CPU "
        "detection (ec2t__isa_usable) whether they may run; follow-up: CPU "
        "detection moves from engine/ternary-matrix.c into core",
    ("engine/compile.c", "net-private.h"):
        "ec2t_engine_compile reads the network it compiles (the layer list: "
        "kinds, inputs, shapes, windows, parameter tensors, batchnorm epsilon) "
        "from ec2t_net's internals. No cycle (nn includes nothing of engine); "
        "follow-up after issue 23: declare engine -> nn, or have nn hand the "
        "compiler a description of its layers",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MESON_FILE = re.compile(r"'([^']+\.c)'")


def top_folder(rel):
    return rel.split("/", 1)[0]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lib = os.path.join(sys.argv[1], "lib")
    errors = []
    headers = {}  # name -> path under lib/
    sources = []  # paths under lib/ of .c and .h files
    for root, dirs, files in os.walk(lib):
        dirs.sort()
        rel_dir = os.path.relpath(root, lib)
        if rel_dir == ".":
            for d in dirs:
                if d not in FOLDERS:
                    errors.append(f"lib/{d}/ is no known folder: add it to FOLDERS "
                                  "with the folders it may depend on")
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    errors.append(f"lib/{name} is in no folder: move it into its stage's")
            continue
        for name in sorted(files):
            rel = os.path.join(rel_dir, name)
            if name.endswith(".h"):
                if name in headers:
                    errors.append(f"two headers named {name}: lib/{headers[name]} and lib/{rel}")
                headers[name] = rel
            if name.endswith((".c", ".h")):
                sources.append(rel)

    with open(os.path.join(lib, "meson.build"), encoding="utf-8") as f:
        listed = re.search(r"foreach folder : \[([^\]]*)\]", f.read())
    order = re.findall(r"'([^']+)'", listed.group(1)) if listed else []
    if order != list(FOLDERS):
        errors.append(f"lib/meson.build builds the folders {order}, expected {list(FOLDERS)}")

    for rel in sources:
        folder = top_folder(rel)
        if folder not in FOLDERS:
            continue
        with open(os.path.join(lib, rel), encoding="utf-8") as f:
            text = f.read()
        for header in INCLUDE.findall(text):
            if header.startswith("ec2t/"):
                continue
            if os.path.exists(os.path.join(lib, os.path.dirname(rel), header)):
                continue  # a header of its own directory
            if header not in headers:
                errors.append(f"lib/{rel} includes \"{header}\", which is in no folder of lib/")
                continue
            target = top_folder(headers[header])
            if target == folder or target in FOLDERS[folder]:
                continue
            if (rel, header) in ALLOWED:
                continue
            errors.append(f"lib/{rel} ({folder}) includes {header} of {target}, "
                          f"which {folder} may not depend on (allowed: "
                          f"{', '.join(sorted(FOLDERS[folder])) or 'nothing'})")

    for key in ALLOWED:
        path = os.path.join(lib, key[0])
        included = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                included = INCLUDE.findall(f.read())
        if key[1] not in included:
            errors.append(f"ALLOWED names lib/{key[0]} including {key[1]}, which no longer "
                          "happens: remove the exception")

    for root, _, files in os.walk(lib):
        rel_dir = os.path.relpath(root, lib)
        if rel_dir == ".":
            continue
        build = os.path.join(root, "meson.build")
        if not os.path.exists(build):
            errors.append(f"lib/{rel_dir}/ has no meson.build")
            continue
        with open(build, encoding="utf-8") as f:
            named = set(MESON_FILE.findall(f.read()))
        for name in sorted(files):
            if name.endswith(".c") and name not in named:
                errors.append(f"lib/{rel_dir}/{name} is not in its meson.build")
        for name in sorted(named - set(files)):
            errors.append(f"lib/{rel_dir}/meson.build names {name}, which does not exist")

    for e in errors:
        print("layout-check:", e, file=sys.stderr)
    if errors:
        return 1
    print(f"layout-check: {len(sources)} files in {len(FOLDERS)} folders, dependencies one way "
          f"({len(ALLOWED)} known exception(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
