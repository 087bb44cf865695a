#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Worked estimate of data-parallel scaling efficiency (issue 27) from the
all-reduce volume per step (bench-mpi volume) and a node's training rate.

Weak scaling: every node trains BATCH images per step (the global batch is
N * BATCH). Per step:
  compute   T_c = BATCH / RATE, forward one third, backward two thirds;
  gradients K buckets of S/K bytes, each a ring all-reduce,
            t = 2 (N-1)/N * (S/K) / BW + 2 (N-1) * ALPHA;
  sync BN   BN all-reduces of a few hundred bytes each, latency-bound
            (recursive doubling): BN * ceil(log2 N) * ALPHA, not overlapped.
"no overlap" adds every bucket after the backward pass (a blocking hook);
"overlap" starts bucket i when i/K of the backward pass is done and runs
the buckets one after another on the link; only what is left after the
backward pass adds to the step (an upper bound: Open MPI progresses an
MPI_Iallreduce only inside MPI calls unless it has a progress thread).
Efficiency = T_c / step time.

The super-network's rate is ResNet-20's divided by its parameter ratio
(1.60): it has ResNet-20's depth, 1.29 times its width, and both its
parameters and its multiply-adds grow with the width squared.

usage: mpi-scaling.py RATE [BATCH]   (RATE: one node's ResNet-20 images per second)"""
import math
import sys

NETS = {  # from bench-mpi volume: gradient floats, buckets, BN all-reduces
    'ResNet-20': (269436, 5, 57),
    'demo super-network': (431348, 7, 57),
}
LINKS = {  # bandwidth (bytes/s) and per-message latency (s): assumptions
    '10 Gbit/s (TCP, 20 us)': (10e9 / 8, 20e-6),
    '100 Gbit/s (RDMA, 3 us)': (100e9 / 8, 3e-6),
}


def step_time(n, tc, size, k, bn, bw, alpha, overlap):
    if n == 1:
        return tc
    t = 2 * (n - 1) / n * (size / k) / bw + 2 * (n - 1) * alpha
    t_bn = bn * math.ceil(math.log2(n)) * alpha
    tf, tb = tc / 3, 2 * tc / 3
    if not overlap:
        return tc + k * t + t_bn
    end = 0.0
    for i in range(1, k + 1):
        end = max(tf + tb * i / k, end) + t
    return tc + max(0.0, end - tc) + t_bn


def main():
    rate = float(sys.argv[1])
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    base = NETS['ResNet-20'][0]
    print('node: %.0f ResNet-20 img/s, %d images per node per step' % (rate, batch))
    print('| network | T_c | link | nodes | no overlap | overlap |')
    print('|---|---|---|---|---|---|')
    for net, (floats, k, bn) in NETS.items():
        size = 4 * floats
        tc = batch / (rate * base / floats)
        for link, (bw, alpha) in LINKS.items():
            for n in (8, 32, 128):
                a = tc / step_time(n, tc, size, k, bn, bw, alpha, False)
                b = tc / step_time(n, tc, size, k, bn, bw, alpha, True)
                print('| %s | %.0f ms | %s | %d | %.0f %% | %.0f %% |' %
                      (net, 1e3 * tc, link, n, 100 * a, 100 * b))


if __name__ == '__main__':
    main()
