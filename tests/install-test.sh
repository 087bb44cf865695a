#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary DESTDIR, then builds a C and a C++
# consumer with `pkg-config --cflags --libs libec2t` against that copy (not the
# build tree) and runs them.
# Usage: install-test.sh BUILD_DIR SOURCE_DIR CC [CXX]
set -eu
build=$1
src=$2
cc=$3
cxx=${4:-}
dest=$(mktemp -d "${TMPDIR:-/tmp}/ec2t-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name libec2t.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: libec2t.pc was not installed"; exit 1; }
# The sysroot prefixes every -I and -L that the installed .pc file names.
export PKG_CONFIG_SYSROOT_DIR="$dest"
export PKG_CONFIG_PATH="$(dirname "$pc")"
flags=$(pkg-config --cflags --libs libec2t)
libdir=$(dirname "$(find "$dest" -name 'libec2t.so.0' | head -n 1)")
echo "pkg-config --cflags --libs libec2t: $flags"
for h in ec2t.h common.h tensor.h version.h experimental.h; do
    find "$dest" -path "*/include/ec2t/$h" | grep -q . || { echo "FAIL: $h not installed"; exit 1; }
done
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror -o "$dest/consumer-c" "$src/tests/consumer.c" $flags
LD_LIBRARY_PATH="$libdir" "$dest/consumer-c"
passed=1
if [ -n "$cxx" ]; then
    # shellcheck disable=SC2086
    "$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror -o "$dest/consumer-cxx" "$src/tests/consumer.cc" $flags
    LD_LIBRARY_PATH="$libdir" "$dest/consumer-cxx"
    passed=2
fi
# Nothing links the private internals: the installed library exports ec2t_* only.
if nm -D --defined-only "$libdir/libec2t.so.0" | awk '$2 != "A" {print $3}' | grep -v '^ec2t_' ; then
    echo "FAIL: the installed library exports names outside ec2t_"
    exit 1
fi
echo "$passed passed, 0 failed"
