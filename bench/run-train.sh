#!/bin/sh
# SPDX-License-Identifier: MIT
# Training throughput and memory: libec2t (bench-train) against PyTorch
# (train_peer.py) on the same networks, batch sizes and thread counts, run
# alternately REPS times each; prints per cell the OpenBLAS core, the medians
# and their ratio.
#
# usage: bench/run-train.sh BUILD_DIR [SECONDS] [REPS] [CELL...]
#   CELL is MODEL:BATCH:THREADS (e.g. resnet20:64:2) to rerun some cells
#   alone; without cells, every cell of lenet5/resnet20 x 64/128 x 1/2.
# The OpenBLAS core is whatever OPENBLAS_CORETYPE says (or OpenBLAS's own
# guess); run once plainly and once with OPENBLAS_CORETYPE=SkylakeX.
# "cpu" columns: images per second of the process's CPU time, and their
# ratio. On a machine shared with other jobs they move much less than wall
# time; with one thread they are the wall-time figures of an idle machine
# (with two, time spent spinning while waiting counts as well).
set -eu
usage="usage: run-train.sh BUILD_DIR [SECONDS] [REPS] [MODEL:BATCH:THREADS...]"
build=${1:?$usage}
secs=${2:-8}
reps=${3:-3}
[ $# -gt 3 ] && shift 3 || set --
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3

cells="$*"
if [ -z "$cells" ]; then
  for model in lenet5 resnet20; do
    for batch in 64 128; do
      for threads in 1 2; do
        cells="$cells $model:$batch:$threads"
      done
    done
  done
fi
for cell in $cells; do
  case $cell in
    lenet5:[0-9]*:[0-9]*|resnet20:[0-9]*:[0-9]*) ;;
    *) echo "run-train.sh: bad cell '$cell' (MODEL:BATCH:THREADS, MODEL lenet5 or resnet20)" >&2
       exit 2 ;;
  esac
done

value() { sed -n "s/^$1: //p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mem() { awk '/^peak_rss_mib/ {p=$2} /^rss_before_mib/ {b=$2} END {print p-b}'; }

echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
printf '%-9s %5s %7s | %-10s | %10s %10s %6s | %9s %9s %6s | %9s %9s\n' model batch threads \
  "blas core" "ec2t img/s" "torch img/s" ratio "ec2t cpu" "torch cpu" ratio "ec2t MiB" "torch MiB"
for cell in $cells; do
  model=${cell%%:*}
  rest=${cell#*:}
  batch=${rest%%:*}
  threads=${rest#*:}
  core=$(OPENBLAS_NUM_THREADS=$threads "$build/bench/bench-core" 2>/dev/null || echo unknown)
  e=""; t=""; c=""; tc=""; em=""; tm=""
  i=0
  while [ "$i" -lt "$reps" ]; do
    # libec2t leaves OpenBLAS's own thread count alone outside its workers,
    # so a cell of T threads gives OpenBLAS T threads too, as the peer has
    out=$(OPENBLAS_NUM_THREADS=$threads "$build/bench/bench-train" "$model" "$batch" "$threads" "$secs")
    e="$e $(echo "$out" | value images_per_second)"
    c="$c $(echo "$out" | value cpu_images_per_second)"
    em="$em $(echo "$out" | mem)"
    out=$("$py" "$here/train_peer.py" "$model" "$batch" "$threads" "$secs")
    t="$t $(echo "$out" | value images_per_second)"
    tc="$tc $(echo "$out" | value cpu_images_per_second)"
    tm="$tm $(echo "$out" | mem)"
    i=$((i + 1))
  done
  me=$(echo $e | tr ' ' '\n' | median)
  mt=$(echo $t | tr ' ' '\n' | median)
  mc=$(echo $c | tr ' ' '\n' | median)
  mtc=$(echo $tc | tr ' ' '\n' | median)
  mem_e=$(echo $em | tr ' ' '\n' | median)
  mem_t=$(echo $tm | tr ' ' '\n' | median)
  printf '%-9s %5s %7s | %-10s | %10.1f %10.1f %6.2f | %9.1f %9.1f %6.2f | %9.1f %9.1f\n' \
    "$model" "$batch" "$threads" "$core" "$me" "$mt" "$(echo "$me $mt" | awk '{print $1/$2}')" \
    "$mc" "$mtc" "$(echo "$mc $mtc" | awk '{print $1/$2}')" "$mem_e" "$mem_t"
done
echo "(memory: peak RSS minus RSS after building the network, MiB; medians of $reps runs of ${secs}s)"
