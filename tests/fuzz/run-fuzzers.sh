#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every libFuzzer target of a -Dfuzz=true build for SECONDS each, one
# after the other, and print per target: executions, coverage (libFuzzer's
# "cov", covered edges, and "ft", features) and whether it crashed.
#
# usage: tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# The seeds come from make-corpus.py (run on BUILD_DIR, which must also hold
# the examples and tests/sample-nets); each target keeps its growing corpus
# in BUILD_DIR/fuzz-work/TARGET and its logs and crash artifacts in
# BUILD_DIR/fuzz-out/TARGET. Exit code 1 if any target crashed (crash, leak,
# timeout or out-of-memory), else 0.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
# default: every fuzz-* target the build made
targets=${*:-$(find "$build/tests/fuzz" -maxdepth 1 -type f -perm -u+x -name 'fuzz-*' 2>/dev/null |
                sed 's|.*/fuzz-||' | sort)}
if [ -z "$targets" ]; then
    echo "$0: no fuzz targets in $build/tests/fuzz (configure with CC=clang and -Dfuzz=true)" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
seeds=$build/fuzz-seeds

python3 "$here/make-corpus.py" "$build" "$seeds" >/dev/null || {
    echo "$0: cannot make the seed corpora" >&2
    exit 2
}

status=0
printf '%-12s %8s %12s %8s %8s  %s\n' target seconds executions cov ft result
for t in $targets; do
    exe=$build/tests/fuzz/fuzz-$t
    work=$build/fuzz-work/$t
    out=$build/fuzz-out/$t
    if [ ! -x "$exe" ]; then
        echo "$0: no $exe (configure with CC=clang and -Dfuzz=true)" >&2
        exit 2
    fi
    mkdir -p "$work" "$out"
    rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* "$out"/slow-unit-*
    "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
        -artifact_prefix="$out/" "$work" "$build/fuzz-seeds/$t" >"$out/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -n 1 | sed 's/cov: //')
    ft=$(grep -o 'ft: [0-9]*' "$out/log" | tail -n 1 | sed 's/ft: //')
    artifacts=$(ls "$out" | grep -E '^(crash|leak|timeout|oom)-' | tr '\n' ' ')
    if [ $rc -eq 0 ] && [ -z "$artifacts" ]; then
        result="no crash"
    else
        result="CRASH (exit $rc) $artifacts"
        status=1
    fi
    printf '%-12s %8s %12s %8s %8s  %s\n' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $status
