#!/bin/sh
# SPDX-License-Identifier: MIT
# Inference speed of the ternary engine against its peers, per cell (batch 1
# and 64, 1 and 2 threads), on two networks so that the figures are not tuned
# to one:
#
# - the authors' spars64 ResNet-20 (3x32x32): libec2t's engine in float and
#   in int8 (experimental, calibrated on 256 inputs) and its own dense float
#   path (bench-engine, all three timed in one process, alternating),
#   PyTorch 1.13 in eval mode (engine_peer.py) and ONNX Runtime's CPU build
#   (onnx_peer.mjs, the network exported by onnx_export.py);
# - LeNet-5 (1x28x28, seeded ternary weights from make_lenet5.py, 64 % zeros
#   in conv2, fc1 and fc2): the engine through ec2t-deploy --bench on the
#   .ec2t file ec2t-convert makes (bench-engine builds only the ResNet, so
#   there is no dense column; ec2t-deploy times 15 rounds after 3 warm-up
#   runs, not SECONDS; its int8 run is calibrated on 256 Fashion-MNIST
#   training images when dataset-fashion-mnist is installed), PyTorch and
#   ONNX Runtime as above;
# - with EC2T_BENCH_DEMO=path/to/model.ec2t, the demo's ternary
#   super-network the same way through ec2t-deploy (engine columns only:
#   the peers have no copy of that architecture).
#
# The programs of a cell run alternately REPS times, and for ResNet-20 the
# 1- and 2-thread cells of a batch alternate too; every cell is the median
# of the REPS runs' medians, and each ResNet-20 batch ends with the speedup
# of 2 threads over 1 (engine and ONNX Runtime). All of it twice: with the OpenBLAS core the
# environment gives (OPENBLAS_CORETYPE as set, or OpenBLAS's own guess) and
# with OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels). The core matters to
# the dense path and to PyTorch, which use OpenBLAS; the engine's ternary
# layers do not (only its float layers do), nor does ONNX Runtime (MLAS).
#
# ONNX Runtime comes from the npm package onnxruntime-node, pinned in
# bench/onnx/package.json; on first use this script runs
#   (cd bench/onnx && npm install --ignore-scripts)
# (its install script only fetches GPU add-ons; the CPU library is in the
# package). Without node, or when the install fails, the ONNX Runtime column
# says "-" and the rest runs. Set EC2T_BENCH_ORT=0 to leave it out.
#
# usage: bench/run-engine.sh BUILD_DIR [SECONDS] [REPS] [WEIGHTS]
# Columns: ms per batch (medians) of the float engine, the int8 engine and
# the peers, then speedups: dense/engine, torch/engine, ort/engine and
# ort/int8 (how many times faster the engine is), and the float engine's ms
# per image.
set -eu
build=${1:?usage: run-engine.sh BUILD_DIR [SECONDS] [REPS] [WEIGHTS]}
secs=${2:-5}
reps=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
weights=${4:-$here/../tests/data/resnet20-cifar10/resnet20_ec2t_spars64.safetensors}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
work=$build/bench/peers
mkdir -p "$work"
work=$(cd "$work" && pwd)

value() { sed -n "s/^$1: //p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B: A/B to two decimals, or "-" when either is missing
ratio() { echo "$1 $2" | awk '$1 == "-" || $2 == "-" {print "-"; next} {printf "%.2fx\n", $1 / $2}'; }
ms() { echo "$1" | awk '$1 == "-" {print "-"; next} {printf "%.3f\n", $1}'; }
# mid LIST: the median of a space-separated list, or "-" when it is empty
mid() { set -- $1; if [ $# -eq 0 ]; then echo -; else echo "$@" | tr ' ' '\n' | median; fi; }

# ONNX Runtime: node and the package, installed on first use.
ort=no
if [ "${EC2T_BENCH_ORT:-1}" = 0 ]; then
  echo "ONNX Runtime: left out (EC2T_BENCH_ORT=0)"
elif ! command -v node >/dev/null 2>&1; then
  echo "ONNX Runtime: skipped, no node on PATH (install Node.js >= 18 to compare with it)"
else
  if [ ! -d "$here/onnx/node_modules/onnxruntime-node" ]; then
    echo "ONNX Runtime: installing onnxruntime-node into bench/onnx (npm install --ignore-scripts)"
    (cd "$here/onnx" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
      echo "ONNX Runtime: npm install failed; run it by hand in bench/onnx to compare with it"
  fi
  if [ -d "$here/onnx/node_modules/onnxruntime-node" ]; then
    ort=yes
  else
    echo "ONNX Runtime: skipped, bench/onnx/node_modules/onnxruntime-node is missing"
  fi
fi

# export WEIGHTS OUT.onnx: the network for ONNX Runtime, its logits checked
# against PyTorch's (onnx_peer.mjs fails, and so does this script, when they
# differ); "no" when the export fails
export_onnx() {
  if "$py" "$here/onnx_export.py" "$1" "$2" >/dev/null; then
    check=$(node "$here/onnx_peer.mjs" "$2" 2 1 0) || exit 1
    echo "ONNX Runtime: $(basename "$2") logits within $(echo "$check" | value ort_max_abs_diff)" \
      "of PyTorch's" >&2
    echo yes
  else
    echo "ONNX Runtime: export of $1 failed, column left out" >&2
    echo no
  fi
}

# LeNet-5: seeded ternary weights, the .ec2t file for the engine, the ONNX file
lenet=$work/lenet5.safetensors
(cd "$here" && "$py" make_lenet5.py "$lenet")
lenet_engine=no
if [ -x "$build/examples/ec2t-convert" ] && [ -x "$build/examples/ec2t-deploy" ] &&
  "$build/examples/ec2t-convert" --arch lenet5 "$lenet" "$work/lenet5.ec2t" >/dev/null; then
  lenet_engine=yes
else
  echo "LeNet-5: no engine column (build with -Dexamples=true for ec2t-convert and ec2t-deploy)"
fi
# the int8 runs of ec2t-deploy calibrate on Fashion-MNIST training images
calib=""
if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
   [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
  calib="--int8 256 --data fashion-mnist"
else
  echo "int8 of ec2t-deploy: skipped, no Fashion-MNIST (apt-get install dataset-fashion-mnist)"
fi
resnet_ort=no lenet_ort=no
if [ "$ort" = yes ]; then
  resnet_ort=$(export_onnx "$weights" "$work/resnet20.onnx")
  lenet_ort=$(export_onnx "$lenet" "$work/lenet5.onnx")
  echo "ONNX Runtime: $(cd "$here" && node -e \
    "console.log(require('./onnx/node_modules/onnxruntime-node').env.versions.node)") (onnxruntime-node, CPU)"
fi

header() {
  printf '%5s %7s %6s | %9s %9s %9s %9s %9s | %12s %12s %10s %8s | %9s\n' batch threads isa \
    "engine ms" "int8 ms" "dense ms" "torch ms" "ort ms" "dense/engine" "torch/engine" \
    "ort/engine" "ort/int8" "ms/image"
}

# row BATCH THREADS ISA ENGINE INT8 DENSE TORCH ORT
row() {
  printf '%5s %7s %6s | %9s %9s %9s %9s %9s | %12s %12s %10s %8s | %9s\n' "$1" "$2" "$3" \
    "$(ms "$4")" "$(ms "$5")" "$(ms "$6")" "$(ms "$7")" "$(ms "$8")" "$(ratio "$6" "$4")" \
    "$(ratio "$7" "$4")" "$(ratio "$8" "$4")" "$(ratio "$8" "$5")" \
    "$(echo "$4 $1" | awk '$1 == "-" {print "-"; next} {printf "%.4f\n", $1 / $2}')"
}

# deploy_ms FILE BATCH THREADS [--int8 ...]: ms per batch of ec2t-deploy --bench
deploy_ms() {
  f=$1 b=$2 th=$3
  shift 3
  out=$(OPENBLAS_NUM_THREADS=$th "$build/examples/ec2t-deploy" "$f" --bench --threads "$th" "$@" 2>/dev/null) ||
    { echo -; return; }
  if [ "$b" = 1 ]; then
    echo "$out" | value latency_ms_batch1
  else
    echo "$out" | value images_per_second_batch64 | awk '{printf "%.4f", 64000 / $1}'
  fi
}

# torch_ort WEIGHTS ONNX_OK ONNX BATCH THREADS: appends to $t and $o
torch_ort() {
  out=$("$py" "$here/engine_peer.py" "$1" "$4" "$5" "$secs")
  t="$t $(echo "$out" | value torch_ms)"
  if [ "$2" = yes ]; then
    out=$(node "$here/onnx_peer.mjs" "$3" "$4" "$5" "$secs")
    o="$o $(echo "$out" | value ort_ms)"
  fi
}

# run_all LABEL: the tables for the current environment
run_all() {
  core=$("$build/bench/bench-core" 2>/dev/null || echo unknown)
  echo "OpenBLAS core: $core ($1)"
  echo "ResNet-20 spars64 (3x32x32)"
  header
  for batch in 1 64; do
    # 1 and 2 threads alternate within each repetition, so that their ratio
    # compares runs under the same machine load
    e1="" q1="" d1="" t1="" o1="" e2="" q2="" d2="" t2="" o2="" isa=""
    i=0
    while [ "$i" -lt "$reps" ]; do
      for threads in 1 2; do
        e="" q="" d="" t="" o=""
        # libec2t leaves OpenBLAS's own thread count alone outside its workers,
        # so a cell of T threads gives OpenBLAS T threads too, as the peers have
        out=$(OPENBLAS_NUM_THREADS=$threads "$build/bench/bench-engine" "$weights" "$batch" "$threads" "$secs" 0 int8)
        q="$(echo "$out" | value engine_ms)"
        e="$(echo "$out" | value float_engine_ms)"
        d="$(echo "$out" | value dense_ms)"
        isa=$(echo "$out" | value isa)
        torch_ort "$weights" "$resnet_ort" "$work/resnet20.onnx" "$batch" "$threads"
        if [ "$threads" = 1 ]; then
          e1="$e1 $e" q1="$q1 $q" d1="$d1 $d" t1="$t1 $t" o1="$o1 $o"
        else
          e2="$e2 $e" q2="$q2 $q" d2="$d2 $d" t2="$t2 $t" o2="$o2 $o"
        fi
      done
      i=$((i + 1))
    done
    row "$batch" 1 "$isa" "$(mid "$e1")" "$(mid "$q1")" "$(mid "$d1")" "$(mid "$t1")" "$(mid "$o1")"
    row "$batch" 2 "$isa" "$(mid "$e2")" "$(mid "$q2")" "$(mid "$d2")" "$(mid "$t2")" "$(mid "$o2")"
    echo "      batch $batch, 1 thread / 2 threads (2 threads' speedup): engine $(ratio "$(mid "$e1")" "$(mid "$e2")")," \
      "int8 $(ratio "$(mid "$q1")" "$(mid "$q2")"), ONNX Runtime $(ratio "$(mid "$o1")" "$(mid "$o2")")"
  done
  echo "LeNet-5 (1x28x28, seeded ternary weights)"
  header
  for batch in 1 64; do
    for threads in 1 2; do
      e="" q="" t="" o="" isa=-
      i=0
      while [ "$i" -lt "$reps" ]; do
        if [ "$lenet_engine" = yes ]; then
          e="$e $(deploy_ms "$work/lenet5.ec2t" "$batch" "$threads")"
          [ -z "$calib" ] || q="$q $(deploy_ms "$work/lenet5.ec2t" "$batch" "$threads" $calib)"
          isa=$("$build/examples/ec2t-deploy" "$work/lenet5.ec2t" | value isa)
        fi
        torch_ort "$lenet" "$lenet_ort" "$work/lenet5.onnx" "$batch" "$threads"
        i=$((i + 1))
      done
      row "$batch" "$threads" "$isa" "$(mid "$e")" "$(mid "$q")" - "$(mid "$t")" "$(mid "$o")"
    done
  done
  if [ -n "${EC2T_BENCH_DEMO:-}" ]; then
    echo "the demo's ternary super-network ($EC2T_BENCH_DEMO)"
    header
    for batch in 1 64; do
      e="" q=""
      i=0
      while [ "$i" -lt "$reps" ]; do
        e="$e $(deploy_ms "$EC2T_BENCH_DEMO" "$batch" 1)"
        [ -z "$calib" ] || q="$q $(deploy_ms "$EC2T_BENCH_DEMO" "$batch" 1 $calib)"
        i=$((i + 1))
      done
      row "$batch" 1 - "$(mid "$e")" "$(mid "$q")" - - -
    done
  fi
  echo "(medians of $reps alternating runs of ${secs}s each; LeNet-5's engine: ec2t-deploy --bench)"
}

run_all "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
echo
OPENBLAS_CORETYPE=SkylakeX
export OPENBLAS_CORETYPE
run_all "OPENBLAS_CORETYPE=SkylakeX"
