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
 * ec2t__parallel_team runs one function on a team of workers that walk
 * the same sequence of steps (ec2t__team_step), such as every operation of
 * one sample in the engine: one wake-up of the pool for the whole job
 * instead of a fork and a join per step. A step is cut into chunks that
 * the members claim one at a time, so a member the OS does not schedule (a
 * busy machine) holds no one up unless it is inside a chunk; a member takes
 * its own chunks first (chunk c is member c's, modulo the team's size), so
 * that a step split into one chunk per member gives each the same part of
 * every step while all keep pace. When the pool
 * is busy or there is none, the team is the caller alone, who runs each
 * step whole in one call: a team function must give the same results
 * however a step's chunks are grouped.
 *
 * Waiting (idle workers for a job, the caller for its workers, a member for
 * the last chunks of a step) spins for a few tens of microseconds before sleeping: the
 * steps of a batch-1 inference are a few microseconds each, and waking a
 * sleeping thread costs more than that (about 18 us on the development VM).
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
/* A running team; NULL for a team of one. */
typedef struct ec2t__pool ec2t__team;
/* Member `worker` of a team of `workers` (0 is the caller). */
typedef void (*ec2t__team_fn)(void *arg, ec2t__team *team, int worker, int workers);
/* Where a member is in the team's walk; zeroed at the start of the job. */
typedef struct ec2t__team_cursor {
    unsigned step;
    uint64_t base; /* chunks in the steps before */
} ec2t__team_cursor;

/* The number of ranges ec2t__parallel_for will use: workers to size scratch by. */
int ec2t__parallel_ranges(const ec2t_context *ctx, int64_t n, int64_t grain);
void ec2t__parallel_for(ec2t_context *ctx, int64_t n, int64_t grain, ec2t__range_fn fn, void *arg);
/* fn on a team of at most max_workers (and the context's thread count)
 * workers, or on the caller alone. */
void ec2t__parallel_team(ec2t_context *ctx, int max_workers, ec2t__team_fn fn, void *arg);
/* The most chunks a team step has. */
#define EC2T__TEAM_MAX_CHUNKS 32
/* The next step of a member's walk: fn(arg, c, c + 1, worker) runs once
 * for each chunk c in [0, chunks) (chunks <= EC2T__TEAM_MAX_CHUNKS), on
 * whichever members claim it, a member its own chunks first; returns
 * when all are done, and what they wrote is then visible. Every member
 * calls it for every step, with the same chunk count. For a NULL team it
 * is fn(arg, 0, chunks, worker). A step of 0 chunks is no step. */
void ec2t__team_step(ec2t__team *team, ec2t__team_cursor *cur, int64_t chunks, ec2t__range_fn fn,
                     void *arg, int worker);
/* Rows [*b, *e) of worker k of n when rows [0, rows) are split into
 * contiguous parts of about equal weight, for an operation that splits its
 * output rows (channels) over a team. Row m weighs 1, plus the entries it
 * owns in up to two CSR row-pointer arrays (rows + 1 entries each, or
 * NULL): cum1[m + 1] - cum1[m] + cum2[m + 1] - cum2[m], e.g. a ternary
 * matrix's +1 and -1 lists. Boundaries are rounded to multiples of align
 * (a kernel's row block), except the last. Parts may be empty. The split
 * depends only on the arguments. */
void ec2t__split_rows(int64_t rows, const int32_t *cum1, const int32_t *cum2, int64_t align, int k,
                      int n, int64_t *b, int64_t *e);
/* A pool of threads - 1 started workers: EC2T_OK, or EC2T_E_NOMEM (no memory,
 * or a thread that did not start) with nothing left running; sets no message. */
ec2t_status ec2t__pool_new(ec2t_context *ctx, int threads, ec2t__pool **out);
/* Wait for a job still running on the pool, stop the workers and free it. NULL is a no-op. */
void ec2t__pool_free(ec2t__pool *pool);

#endif /* EC2T_THREAD_POOL_PRIVATE_H */
