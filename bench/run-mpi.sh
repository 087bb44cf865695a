#!/bin/sh
# SPDX-License-Identifier: MIT
# Data-parallel training over MPI (issue 27): ResNet-20, one global batch,
# 2 ranks of 1 thread (mpirun -np 2) against 1 process of 2 threads, run
# alternately REPS times each on this machine (shared memory and loopback:
# --mca btl self,vader); prints each run's global images per second and the
# medians' ratio, then the all-reduce volume per step of ResNet-20 and of
# ec2t-demo's super-network (bench-mpi volume).
#
# usage: bench/run-mpi.sh BUILD_DIR [STEPS] [REPS] [GLOBAL_BATCH]
set -eu
build=${1:?usage: run-mpi.sh BUILD_DIR [STEPS] [REPS] [GLOBAL_BATCH]}
steps=${2:-20}
reps=${3:-3}
batch=${4:-128}
exe="$build/bench/bench-mpi"
[ -x "$exe" ] || { echo "run-mpi.sh: $exe is missing (meson found no MPI)" >&2; exit 2; }
mpirun="mpirun --mca btl self,vader --oversubscribe"
[ "$(id -u)" = 0 ] && mpirun="$mpirun --allow-run-as-root"
export OPENBLAS_NUM_THREADS=1 # each rank's BLAS in its own thread; the library's threads split the work

value() { sed -n "s/^$1: //p"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

two=""; one=""
i=0
while [ "$i" -lt "$reps" ]; do
  a=$($mpirun -np 2 "$exe" steps "$batch" 1 "$steps" | value images_per_second)
  b=$($mpirun -np 1 "$exe" steps "$batch" 2 "$steps" | value images_per_second)
  echo "run $i: 2 ranks x 1 thread $a img/s, 1 process x 2 threads $b img/s"
  two="$two $a"; one="$one $b"
  i=$((i + 1))
done
m2=$(echo $two | tr ' ' '\n' | median)
m1=$(echo $one | tr ' ' '\n' | median)
echo "median: 2x1 $m2 img/s, 1x2 $m1 img/s, ratio $(echo "$m2 $m1" | awk '{printf "%.2f", $1 / $2}')"
$mpirun -np 1 "$exe" volume
