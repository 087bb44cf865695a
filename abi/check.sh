#!/bin/sh
# SPDX-License-Identifier: MIT
# ABI gate: compares the built libec2t against the committed reference dump
# abi/libec2t-0.abi.xml and fails on ANY difference abidiff reports. Its exit
# status is a bitmask (1 error, 2 usage, 4 ABI change, 8 incompatible change);
# an added parameter only sets 4, so every non-zero status fails here.
#
# Usage: abi/check.sh SOURCE_DIR PATH/TO/libec2t.so.0.x.y
set -u
src=$1
lib=$2
ref=$src/abi/libec2t-0.abi.xml

if ! command -v abidiff >/dev/null 2>&1; then
    echo "SKIP: abidiff not found (Debian package abigail-tools)"
    exit 77
fi
# Without debug info abidiff sees no types and misses signature changes.
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "SKIP: $lib has no debug info; configure with --buildtype=debugoptimized or debug"
    exit 77
fi
abidiff --no-added-syms --headers-dir2 "$src/include/ec2t" \
        --suppressions "$src/abi/libec2t.abignore" "$ref" "$lib"
rc=$?
if [ "$rc" -ne 0 ]; then
    cat <<MSG
FAIL: abidiff exit status $rc: the ABI of $lib differs from abi/libec2t-0.abi.xml.
If the change is unintended, restore the signature, type or enum value.
While the version is 0.x an intended change is made like this, in a commit of
its own that says why:
    abi/update.sh BUILD_DIR      # BUILD_DIR configured with buildtype debug/debugoptimized
    git add abi/libec2t-0.abi.xml && git commit -m 'abi: update reference dump: <why>'
After 1.0 an incompatible change needs a new soversion instead.
0 passed, 1 failed
MSG
    exit 1
fi
echo "ABI matches abi/libec2t-0.abi.xml"
echo "1 passed, 0 failed"
