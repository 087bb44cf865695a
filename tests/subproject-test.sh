#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds a tiny parent project that uses this source tree as a meson
# subproject (dependency('libec2t'), no options) and checks that libec2t stays
# out of its way: no ec2t-*, test-* or bench-* programs among its targets, only
# the parent's test in its `meson test`, only the library, headers and .pc in
# its install, and that the parent's program linking libec2t runs, linked to
# libec2t.so, and to libec2t.a when the parent sets default_library=static
# (the same build directory reconfigured, so the library is compiled once).
# Usage: subproject-test.sh SOURCE_DIR
# Exits 77 (skipped) when meson, ninja, python3 or readelf is missing.
set -eu
src=$(cd "$1" && pwd)
for tool in meson ninja python3 readelf; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ec2t-subproject-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
parent=$tmp/parent
mkdir -p "$parent/subprojects"
ln -s "$src" "$parent/subprojects/libec2t"

cat >"$parent/meson.build" <<'MESON'
project('parent', 'c', default_options: ['c_std=c11'])
dep = dependency('libec2t')
app = executable('parent-app', 'app.c', dependencies: dep, install: true)
test('parent-app', app)
MESON
cat >"$parent/app.c" <<'C'
#include <stdio.h>
#include <ec2t/ec2t.h>

int
main(void)
{
    ec2t_context *ctx = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    printf("parent: libec2t %s\n", ec2t_version_string());
    ec2t_context_free(ctx);
    return ec2t_version_number() == EC2T_VERSION_NUMBER ? 0 : 1;
}
C

# No optimisation: the library is compiled once more here, and only linked.
build=$parent/build
meson setup "$build" "$parent" --wrap-mode=nodownload --force-fallback-for=libec2t \
    -Dlibec2t:optimization=0 -Dlibec2t:debug=false >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; echo "FAIL: meson setup of the parent"; exit 1; }
fail=0
for probe in valgrind doxygen python3 Check; do
    if grep -i "program $probe found\|dependency $probe found" "$tmp/setup.log"; then
        echo "FAIL: the subproject probes $probe"
        fail=1
    fi
done

meson introspect --targets "$build" >"$tmp/targets.json"
python3 - "$tmp/targets.json" <<'PY' || fail=1
import json, sys
targets = json.load(open(sys.argv[1]))
names = sorted("%s (%s)" % (t["name"], t["type"]) for t in targets)
print("%d targets: %s" % (len(names), ", ".join(names)))
exes = [t["name"] for t in targets if t["type"] == "executable"]
bad = [n for n in exes if n != "parent-app"]
if bad:
    sys.exit("FAIL: the subproject builds programs: %s" % ", ".join(bad))
if len(targets) > 8:
    sys.exit("FAIL: %d targets, expected at most 8" % len(targets))
PY

meson compile -C "$build" >"$tmp/compile.log" 2>&1 ||
    { tail -n 40 "$tmp/compile.log"; echo "FAIL: meson compile of the parent"; exit 1; }
tests=$(meson test -C "$build" --no-rebuild --list 2>/dev/null)
echo "parent tests: $tests"
[ "$tests" = "parent-app" ] || { echo "FAIL: the parent's meson test lists more than its own test"; fail=1; }
meson test -C "$build" --print-errorlogs >"$tmp/test.log" 2>&1 ||
    { cat "$tmp/test.log"; echo "FAIL: the parent's program linking libec2t"; fail=1; }

dest=$tmp/dest
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
files=$(cd "$dest" && find . ! -type d | sort)
echo "installed:"; echo "$files" | sed 's/^/  /'
# Only the parent's program, libec2t (shared and static), its headers and .pc.
unexpected=$(echo "$files" | grep -v -e '/bin/parent-app$' -e '/lib[^/]*/\(.*/\)\?libec2t\.so[.0-9]*$' \
    -e '/lib[^/]*/\(.*/\)\?libec2t\.a$' -e '/pkgconfig/libec2t\.pc$' -e '/include/ec2t/[a-z0-9-]*\.h$' || true)
[ -z "$unexpected" ] || { echo "FAIL: the subproject installs more: $unexpected"; fail=1; }
for want in '/libec2t\.so\.0$' '/libec2t\.a$' '/libec2t\.pc$' '/include/ec2t/ec2t\.h$' '/include/ec2t/version\.h$'; do
    echo "$files" | grep -q "$want" || { echo "FAIL: nothing installed matches $want"; fail=1; }
done

# A parent that builds static libraries gets libec2t.a linked in. The same
# build directory, reconfigured (a reconfigure does not pass the parent's
# default_library down, hence libec2t:default_library): libec2t's objects
# are not compiled again, only parent-app is relinked.
if ! meson configure "$build" -Ddefault_library=static -Dlibec2t:default_library=static \
        >"$tmp/static.log" 2>&1 ||
    ! meson compile -C "$build" >>"$tmp/static.log" 2>&1; then
    tail -n 40 "$tmp/static.log"
    echo "FAIL: the parent with default_library=static"
    exit 1
fi
if grep -q 'Compiling C object subprojects/' "$tmp/static.log"; then
    echo "FAIL: default_library=static recompiled libec2t's objects"
    fail=1
fi
if readelf -d "$build/parent-app" | grep -q 'NEEDED.*libec2t'; then
    echo "FAIL: with default_library=static the parent still needs libec2t.so"
    fail=1
fi
"$build/parent-app" || { echo "FAIL: the statically linked parent"; fail=1; }
[ "$fail" = 0 ] || exit 1
echo "2 passed, 0 failed"
