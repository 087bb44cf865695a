#!/bin/sh
# SPDX-License-Identifier: MIT
# Training throughput and memory: libec2t (bench-train) against PyTorch
# (train_peer.py) on the same networks, batch sizes and thread counts, run
# alternately REPS times each; prints the medians and their ratio.
#
# usage: bench/run-train.sh BUILD_DIR [SECONDS] [REPS]
# The OpenBLAS core is whatever OPENBLAS_CORETYPE says (or OpenBLAS's own
# guess); run once plainly and once with OPENBLAS_CORETYPE=SkylakeX.
set -eu
build=${1:?usage: run-train.sh BUILD_DIR [SECONDS] [REPS]}
secs=${2:-8}
reps=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3

value() { sed -n "s/^$1: //p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

core=$("$build/bench/bench-core" 2>/dev/null || echo unknown)
echo "OpenBLAS core: $core (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
printf '%-9s %5s %7s | %10s %10s %6s | %9s %9s\n' model batch threads "ec2t img/s" "torch img/s" ratio "ec2t MiB" "torch MiB"
for model in lenet5 resnet20; do
  for batch in 64 128; do
    for threads in 1 2; do
      e=""; t=""; em=""; tm=""
      i=0
      while [ "$i" -lt "$reps" ]; do
        # libec2t leaves OpenBLAS's own thread count alone outside its workers,
        # so a cell of T threads gives OpenBLAS T threads too, as the peer has
        out=$(OPENBLAS_NUM_THREADS=$threads "$build/bench/bench-train" "$model" "$batch" "$threads" "$secs")
        e="$e $(echo "$out" | value images_per_second)"
        em="$em $(echo "$out" | awk '/^peak_rss_mib/ {p=$2} /^rss_before_mib/ {b=$2} END {print p-b}')"
        out=$("$py" "$here/train_peer.py" "$model" "$batch" "$threads" "$secs")
        t="$t $(echo "$out" | value images_per_second)"
        tm="$tm $(echo "$out" | awk '/^peak_rss_mib/ {p=$2} /^rss_before_mib/ {b=$2} END {print p-b}')"
        i=$((i + 1))
      done
      me=$(echo $e | tr ' ' '\n' | median)
      mt=$(echo $t | tr ' ' '\n' | median)
      mem_e=$(echo $em | tr ' ' '\n' | median)
      mem_t=$(echo $tm | tr ' ' '\n' | median)
      printf '%-9s %5s %7s | %10.1f %10.1f %6.2f | %9.1f %9.1f\n' "$model" "$batch" "$threads" \
        "$me" "$mt" "$(echo "$me $mt" | awk '{print $1/$2}')" "$mem_e" "$mem_t"
    done
  done
done
echo "(memory: peak RSS minus RSS after building the network, MiB; medians of $reps runs of ${secs}s)"
