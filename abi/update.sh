#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates the ABI reference dump abi/libec2t-SOVERSION.abi.xml from a
# debug-info build (SOVERSION from the library's soname, so the name follows
# a soversion bump). A deliberate, reviewed step: commit the result on its
# own with the reason. The dump holds the whole exported ABI; abi/check.sh
# ignores the experimental node through abi/libec2t.abignore.
# Usage: abi/update.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:?usage: abi/update.sh BUILD_DIR}
lib=$(ls "$build"/lib/libec2t.so.*.*.* | head -n 1)
readelf -S "$lib" | grep -q '\.debug_info' || {
    echo "$lib has no debug info: use a debug or debugoptimized build" >&2
    exit 1
}
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
out=$here/libec2t-${soname##*.so.}.abi.xml
# Only the version nodes of lib/libec2t.sym: a stale build would dump others.
nodes=$(sed -n 's/^\(LIBEC2T_[A-Za-z0-9_.]*\) *{.*/\1/p' "$src/lib/libec2t.sym")
for v in $(nm -D --defined-only --with-symbol-versions "$lib" | sed -n 's/.*@@*//p' | sort -u); do
    echo "$nodes" | grep -qx "$v" || {
        echo "$lib exports version $v, which lib/libec2t.sym does not define: rebuild it" >&2
        exit 1
    }
done
tmp=$out.tmp
abidw --headers-dir "$src/include/ec2t" --no-corpus-path --no-comp-dir-path --short-locs \
      --drop-private-types "$lib" > "$tmp"
if grep -q "$src" "$tmp"; then
    rm -f "$tmp"
    echo "the dump contains the absolute path $src: refusing to keep it" >&2
    exit 1
fi
mv "$tmp" "$out"
echo "wrote $out from $lib ($soname)"
