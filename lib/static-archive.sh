#!/bin/sh
# SPDX-License-Identifier: MIT
# Makes libec2t.a with the internals hidden, as in libec2t.so: the library's
# objects are partially linked into one (cc -r), so that the internals'
# references between files are resolved; then every global name it defines
# but the public ones listed in the version script becomes local, and the
# object alone goes into the archive. A static consumer then sees exactly the
# names the shared library exports, and its own names cannot collide with
# the library's internals.
# Usage: static-archive.sh OBJCOPY AR MAPFILE OUT.a CORE.a CC [CC_ARGS...]
set -eu
objcopy=$1 ar=$2 map=$3 out=$4 core=$5
shift 5
obj=$out.o
keep=$out.public
trap 'rm -f "$obj" "$keep"' EXIT
# The names of the version script's global: lists (all ec2t_*).
sed -n 's/^[[:space:]]*\(ec2t_[A-Za-z0-9_]*\);.*/\1/p' "$map" >"$keep"
[ -s "$keep" ] || { echo "static-archive.sh: no public names in $map" >&2; exit 1; }
"$@" -r -nostdlib -o "$obj" -Wl,--whole-archive "$core" -Wl,--no-whole-archive
"$objcopy" --localize-hidden --keep-global-symbols="$keep" "$obj"
rm -f "$out"
"$ar" rcD "$out" "$obj"
