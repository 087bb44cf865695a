#!/bin/sh
# SPDX-License-Identifier: MIT
# CI job 4: the Debian packages. Builds them from a copy of the tree with
# packaging/debian as debian/ (no tests: jobs 1-3 ran them), runs lintian on
# the .changes (an error fails), installs the .debs, then builds a C consumer
# against the system install with pkg-config, shared and --static, and runs
# both and every ec2t-* program's --help, and imports ec2t from Debian's
# Python. The packages are purged at the end,
# so that later builds on this machine do not find a system libec2t.
# Usage: packaging/ci-deb.sh WORK_DIR   (as root; WORK_DIR is emptied)
# Prints one "deb: NAME ok|FAIL" line per step for .ci/run's summary.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
work=$1
rm -rf "$work"
mkdir -p "$work/src"
# absolute: apt-get takes "dir/x.deb" for a package name, "/dir/x.deb" for a file
work=$(cd "$work" && pwd)
result() { echo "deb: $1 $2"; [ "$2" = ok ] || status=1; }
status=0

# The tree as a source package: no build directories, no git.
tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./debian -cf - . |
    tar -C "$work/src" -xf -
cp -r "$src/packaging/debian" "$work/src/debian"
if (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
        >"$work/build.log" 2>&1; then
    result build ok
else
    tail -n 60 "$work/build.log"
    result build FAIL
    exit 1
fi
changes=$(ls "$work"/libec2t_*.changes)
for deb in "$work"/*.deb; do
    echo "== dpkg -c $(basename "$deb")"
    dpkg -c "$deb" | awk '{print $6, $7, $8}'
done

echo "== lintian"
lintian --info --display-level '>=pedantic' "$changes" >"$work/lintian.log" 2>&1
cat "$work/lintian.log"
if grep -q '^E: ' "$work/lintian.log"; then result lintian FAIL; else result lintian ok; fi

debs=$(ls "$work"/*.deb)
# shellcheck disable=SC2086
if apt-get install -y -q --no-install-recommends $debs >"$work/install.log" 2>&1; then
    result install ok
else
    cat "$work/install.log"
    result install FAIL
fi

# A consumer of the system install: linked to libec2t.so.0, then all static
# (cc -static with pkg-config --static, as README says).
cd "$work" || exit 1
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -o consumer "$src/tests/consumer.c" \
        $(pkg-config --cflags --libs libec2t) &&
    readelf -d consumer | grep -q 'NEEDED.*libec2t\.so\.0' && ./consumer; then
    result consumer-shared ok
else
    result consumer-shared FAIL
fi
# shellcheck disable=SC2046
if cc -static -std=c11 -Wall -Wextra -Werror -o consumer-static "$src/tests/consumer.c" \
        $(pkg-config --static --cflags --libs libec2t) &&
    ! readelf -d consumer-static | grep -q NEEDED && ./consumer-static; then
    result consumer-static ok
else
    result consumer-static FAIL
fi
# The programs of ec2t-tools run from the system install, with their man pages.
tools_ok=ok
[ -n "$(dpkg -L ec2t-tools 2>/dev/null | grep '^/usr/bin/')" ] || { echo "ec2t-tools installed no program"; tools_ok=FAIL; }
for prog in $(dpkg -L ec2t-tools 2>/dev/null | grep '^/usr/bin/'); do
    "$prog" --help >/dev/null || { echo "$prog --help failed"; tools_ok=FAIL; }
    [ -f "/usr/share/man/man1/$(basename "$prog").1.gz" ] ||
        { echo "no man page for $prog"; tools_ok=FAIL; }
done
result tools "$tools_ok"
# python3-ec2t from Debian's Python: the system library, a tensor round trip
if /usr/bin/python3 -c "import ec2t, numpy as np; \
        t = ec2t.Tensor.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)); \
        assert (t.numpy() == np.arange(6).reshape(2, 3)).all(); \
        assert ec2t.library_path.startswith('/usr/lib/'), ec2t.library_path; \
        print(ec2t.version(), ec2t.library_path)"; then
    result python ok
else
    result python FAIL
fi

# shellcheck disable=SC2046
apt-get purge -y -q $(for deb in $debs; do dpkg-deb -f "$deb" Package; done) >/dev/null 2>&1 ||
    result purge FAIL
exit $status
