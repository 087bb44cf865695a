#!/bin/sh
# SPDX-License-Identifier: MIT
# Inference speed of the ternary engine: libec2t's engine and its own dense
# float path (bench-engine, both timed in one process, alternating) against
# PyTorch 1.13 in eval mode (engine_peer.py), on the authors' spars64
# ResNet-20; batch 1 and 64, 1 and 2 threads; bench-engine and
# engine_peer.py run alternately REPS times, and every cell is the median of
# the REPS runs' medians. All of it twice: with the OpenBLAS core the
# environment gives (OPENBLAS_CORETYPE as set, or OpenBLAS's own guess) and
# with OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels). The core matters to
# the dense path and to PyTorch, which use OpenBLAS; the engine's ternary
# convolutions do not (only its float dense layer does).
#
# usage: bench/run-engine.sh BUILD_DIR [SECONDS] [REPS] [WEIGHTS]
# Columns: ms per batch (medians), then speedups: dense/engine and
# torch/engine (how many times faster the engine is), and the engine's ms
# per image.
set -eu
build=${1:?usage: run-engine.sh BUILD_DIR [SECONDS] [REPS] [WEIGHTS]}
secs=${2:-5}
reps=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
weights=${4:-$here/../tests/data/resnet20-cifar10/resnet20_ec2t_spars64.safetensors}
py=/usr/bin/python3
[ -x "$py" ] || py=python3

value() { sed -n "s/^$1: //p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run_all LABEL: the table for the current environment
run_all() {
  core=$("$build/bench/bench-core" 2>/dev/null || echo unknown)
  echo "OpenBLAS core: $core ($1)"
  printf '%5s %7s %6s | %10s %10s %10s | %12s %12s | %9s\n' batch threads isa "engine ms" "dense ms" \
    "torch ms" "dense/engine" "torch/engine" "ms/image"
  for batch in 1 64; do
    for threads in 1 2; do
      e=""; d=""; t=""; isa=""
      i=0
      while [ "$i" -lt "$reps" ]; do
        out=$("$build/bench/bench-engine" "$weights" "$batch" "$threads" "$secs")
        e="$e $(echo "$out" | value engine_ms)"
        d="$d $(echo "$out" | value dense_ms)"
        isa=$(echo "$out" | value isa)
        out=$("$py" "$here/engine_peer.py" "$weights" "$batch" "$threads" "$secs")
        t="$t $(echo "$out" | value torch_ms)"
        i=$((i + 1))
      done
      me=$(echo $e | tr ' ' '\n' | median)
      md=$(echo $d | tr ' ' '\n' | median)
      mt=$(echo $t | tr ' ' '\n' | median)
      printf '%5s %7s %6s | %10.3f %10.3f %10.3f | %11.2fx %11.2fx | %9.4f\n' "$batch" "$threads" "$isa" \
        "$me" "$md" "$mt" "$(echo "$md $me" | awk '{print $1/$2}')" \
        "$(echo "$mt $me" | awk '{print $1/$2}')" "$(echo "$me $batch" | awk '{print $1/$2}')"
    done
  done
  echo "(medians of $reps alternating runs of ${secs}s each)"
}

run_all "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo
OPENBLAS_CORETYPE=SkylakeX
export OPENBLAS_CORETYPE
run_all "OPENBLAS_CORETYPE=SkylakeX"
