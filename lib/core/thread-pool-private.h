/* SPDX-License-Identifier: MIT */
/* A fork-join worker pool owned by a context, for EC2T_CTX_THREADS > 1.
 *
 * ec2t__parallel_for splits [0, n) into at most `threads` contiguous,
 * non-empty ranges and runs range k as worker k (the caller is worker 0). The split depends
 * only on n, the grain and the thread count, so per-worker partial results
 * reduced in worker order are deterministic for a given thread count. With
 * one thread, or when the pool is busy with another caller, the ranges run
 * one after another in the calling thread: the same split, the same result.
 *
 * The pool is made by ec2t_context_set_int(EC2T_CTX_THREADS) and freed when
 * the count changes again or the context is freed, never during a job:
 * running allocates nothing and starts no thread. While its workers run a
 * job, BLAS runs one thread per call (blas-private.h). */
#ifndef EC2T_THREAD_POOL_PRIVATE_H
#define EC2T_THREAD_POOL_PRIVATE_H

#include <stdint.h>

#include "context-private.h"

typedef void (*ec2t__range_fn)(void *arg, int64_t begin, int64_t end, int worker);

typedef struct ec2t__pool ec2t__pool;

/* The number of ranges ec2t__parallel_for will use: workers to size scratch by. */
int ec2t__parallel_ranges(const ec2t_context *ctx, int64_t n, int64_t grain);
void ec2t__parallel_for(ec2t_context *ctx, int64_t n, int64_t grain, ec2t__range_fn fn, void *arg);
/* A pool of threads - 1 started workers: EC2T_OK, or EC2T_E_NOMEM (no memory,
 * or a thread that did not start) with nothing left running; sets no message. */
ec2t_status ec2t__pool_new(ec2t_context *ctx, int threads, ec2t__pool **out);
/* Wait for a job still running on the pool, stop the workers and free it. NULL is a no-op. */
void ec2t__pool_free(ec2t__pool *pool);

#endif /* EC2T_THREAD_POOL_PRIVATE_H */
