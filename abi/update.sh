#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerates abi/libec2t-0.abi.xml from a debug-info build. A deliberate,
# reviewed step: commit the result on its own with the reason.
# Usage: abi/update.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:?usage: abi/update.sh BUILD_DIR}
lib=$(ls "$build"/lib/libec2t.so.0.*.* | head -n 1)
readelf -S "$lib" | grep -q '\.debug_info' || {
    echo "$lib has no debug info: use a debug or debugoptimized build" >&2
    exit 1
}
abidw --headers-dir "$src/include/ec2t" --no-corpus-path --no-comp-dir-path --short-locs \
      --drop-private-types "$lib" > "$here/libec2t-0.abi.xml"
if grep -q "$src" "$here/libec2t-0.abi.xml"; then
    echo "the dump contains the absolute path $src: refusing to keep it" >&2
    exit 1
fi
echo "wrote $here/libec2t-0.abi.xml from $lib"
