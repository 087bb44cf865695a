#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the build into a temporary DESTDIR, then builds a C and a C++
# consumer with `pkg-config --cflags --libs libec2t` against that copy (not the
# build tree) and runs them; then, with the shared library removed from the
# copy, a C consumer linked with `pkg-config --static` (libec2t.a and the
# Libs.private/Requires.private of the .pc) that must run without libec2t.so,
# although it defines a name that libec2t.a uses internally.
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

# The static library defines exactly the public names as globals, like the
# shared library (lib/static-archive.sh localizes the internals).
static_lib="$libdir/libec2t.a"
[ -f "$static_lib" ] || { echo "FAIL: libec2t.a was not installed next to libec2t.so"; exit 1; }
sed -n 's/^[[:space:]]*\(ec2t_[A-Za-z0-9_]*\);.*/\1/p' "$src/lib/libec2t.sym" | sort >"$dest/public.txt"
nm -g --defined-only "$static_lib" | awk 'NF == 3 {print $3}' | sort >"$dest/static-globals.txt"
if ! cmp -s "$dest/public.txt" "$dest/static-globals.txt"; then
    diff "$dest/public.txt" "$dest/static-globals.txt" || true
    echo "FAIL: the global names of libec2t.a are not the public names of libec2t.sym"
    exit 1
fi
# A consumer may define a name that libec2t uses internally (here the first
# internal function of the archive): linking statically must not collide.
internal=$(nm --defined-only "$static_lib" | awk '$2 == "t" && $3 ~ /^ec2t__/ {print $3; exit}')
[ -n "$internal" ] || { echo "FAIL: no internal ec2t__ function found in libec2t.a"; exit 1; }
printf 'void %s(void);\nvoid\n%s(void)\n{\n}\n' "$internal" "$internal" >"$dest/clash.c"
echo "consumer defining the internal name $internal"
# A static-only install: the linker can only pick libec2t.a.
rm -f "$libdir"/libec2t.so*
static_flags=$(pkg-config --static --cflags --libs libec2t)
echo "pkg-config --static --cflags --libs libec2t: $static_flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror -o "$dest/consumer-static" "$src/tests/consumer.c" \
    "$dest/clash.c" $static_flags
if readelf -d "$dest/consumer-static" | grep -q 'NEEDED.*libec2t'; then
    echo "FAIL: the static consumer still needs libec2t.so"
    exit 1
fi
"$dest/consumer-static"
passed=$((passed + 1))
echo "$passed passed, 0 failed"
