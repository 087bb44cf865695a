#!/bin/sh
# SPDX-License-Identifier: MIT
# ABI gate: compares the built libec2t against the committed reference dump
# abi/libec2t-SOVERSION.abi.xml (SOVERSION from the library's soname) and
# fails on ANY difference abidiff reports. Its exit status is a bitmask (1
# error, 2 usage, 4 ABI change, 8 incompatible change); an added parameter
# only sets 4, so every non-zero status fails here. The experimental API
# (version node LIBEC2T_EXPERIMENTAL) is suppressed by abi/libec2t.abignore.
#
# Usage: abi/check.sh SOURCE_DIR PATH/TO/libec2t.so.0.x.y
set -u
src=$1
lib=$2

if ! command -v abidiff >/dev/null 2>&1; then
    echo "SKIP: abidiff not found (Debian package abigail-tools)"
    exit 77
fi
# Without debug info abidiff sees no types and misses signature changes.
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "SKIP: $lib has no debug info; configure with --buildtype=debugoptimized or debug"
    exit 77
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
ref=$src/abi/libec2t-${soname##*.so.}.abi.xml
fail() {
    echo "FAIL: $1"
    echo "0 passed, 1 failed"
    exit 1
}
[ -f "$ref" ] || fail "no reference dump $ref for soname $soname"
# The dump is of this soname, and of no version node the version script lacks.
grep -q "soname='$soname'" "$ref" || fail "$ref is not the dump of $soname"
nodes=$(sed -n 's/^\(LIBEC2T_[A-Za-z0-9_.]*\) *{.*/\1/p' "$src/lib/libec2t.sym")
for v in $(grep -o "elf-symbol name='[^']*' version='[^']*'" "$ref" | sed "s/.*version='\(.*\)'/\1/" | sort -u); do
    echo "$nodes" | grep -qx "$v" ||
        fail "$ref holds symbols of version $v, which lib/libec2t.sym does not define: regenerate it"
done
abidiff --no-added-syms --headers-dir2 "$src/include/ec2t" \
        --suppressions "$src/abi/libec2t.abignore" "$ref" "$lib"
rc=$?
if [ "$rc" -ne 0 ]; then
    cat <<MSG
FAIL: abidiff exit status $rc: the ABI of $lib differs from $ref.
If the change is unintended, restore the signature, type or enum value.
While the version is 0.x an intended change is made like this, in a commit of
its own that says why:
    abi/update.sh BUILD_DIR      # BUILD_DIR configured with buildtype debug/debugoptimized
    git add abi/ && git commit -m 'abi: update reference dump: <why>'
After 1.0 an incompatible change needs a new soversion instead.
0 passed, 1 failed
MSG
    exit 1
fi
echo "ABI matches $ref"
echo "1 passed, 0 failed"
