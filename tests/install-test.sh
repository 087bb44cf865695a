#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary DESTDIR, then builds a C and a C++
# consumer with `pkg-config --cflags --libs libec2t` against that copy (not the
# build tree) and runs them; then, with the shared library removed from the
# copy, a C consumer linked with `pkg-config --static` (libec2t.a and the
# Libs.private/Requires.private of the .pc) that must run without libec2t.so.
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

# The static library: every global name it defines is ec2t_ (public) or ec2t__
# (hidden internals), so a consumer's own symbols cannot collide with it.
static_lib="$libdir/libec2t.a"
[ -f "$static_lib" ] || { echo "FAIL: libec2t.a was not installed next to libec2t.so"; exit 1; }
if nm -g --defined-only "$static_lib" | awk 'NF == 3 {print $3}' | grep -v '^ec2t_' ; then
    echo "FAIL: libec2t.a defines global names outside ec2t_"
    exit 1
fi
# A static-only install: the linker can only pick libec2t.a.
rm -f "$libdir"/libec2t.so*
static_flags=$(pkg-config --static --cflags --libs libec2t)
echo "pkg-config --static --cflags --libs libec2t: $static_flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror -o "$dest/consumer-static" "$src/tests/consumer.c" $static_flags
if readelf -d "$dest/consumer-static" | grep -q 'NEEDED.*libec2t'; then
    echo "FAIL: the static consumer still needs libec2t.so"
    exit 1
fi
"$dest/consumer-static"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
