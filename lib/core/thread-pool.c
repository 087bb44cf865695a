/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "blas-private.h"
#include "thread-pool-private.h"

/* How long a waiting thread spins before it sleeps: idle workers between
 * jobs (back-to-back batch-1 runs come within microseconds), and threads
 * inside a job (the caller at the join, a team member at a step), who wait
 * for work that is nearly done. Short, because a spinning thread takes CPU
 * time from the threads it waits for when the machine is busy (on a shared
 * 2-vCPU VM, where the kernel shares CPU time per session, 200 us of idle
 * spinning after each job of the dense path made the engine's single
 * thread, run right after, 1.3-2x slower). Past YIELD_NS a spinning thread
 * also yields, so that a peer it waits for on the same CPU gets to run. */
#define SPIN_IDLE_NS (INT64_C(20) * 1000)
#define SPIN_JOB_NS (INT64_C(50) * 1000)
#define YIELD_NS (INT64_C(20) * 1000)
#define LINE 64

typedef struct worker {
    ec2t__pool *pool;
    int index; /* its range in a job: 1 .. n_workers (the caller is 0) */
    pthread_t thread;
} worker;

/* The counters that threads spin on each have a cache line of their own,
 * apart from the job's description, which only the caller writes. */
struct ec2t__pool {
    ec2t_context *ctx;
    int n_workers; /* threads started, besides the callers */
    worker *workers;
    pthread_mutex_t busy; /* one job at a time; held by the caller that runs it */
    pthread_mutex_t lock; /* guards the sleep of a waiting thread */
    pthread_cond_t wake;
    /* the current job: written by its caller before generation moves */
    ec2t__range_fn fn;
    ec2t__team_fn team_fn;
    void *arg;
    int64_t n, per;
    int ranges;
    int quit;
    _Alignas(LINE) atomic_uint generation; /* a new job (or quit) */
    _Alignas(LINE) atomic_uint pending;    /* workers still in the job */
    _Alignas(LINE) atomic_uint finished;   /* moves when pending reaches 0 */
    /* a team job's steps (ec2t__team_step) */
    _Alignas(LINE) _Atomic uint64_t claim; /* the open step << 32 | its next chunk */
    _Alignas(LINE) _Atomic uint64_t done;  /* chunks done in this job */
    _Alignas(LINE) atomic_uint opened;     /* the step open for claims */
    _Alignas(LINE) atomic_int sleepers;    /* threads asleep (or about to be) on wake */
};

static void
cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Return once *word differs from seen: spin for up to spin_ns, then sleep.
 * A thread that changes a word calls wake_sleepers after it; both sides use
 * sequentially consistent operations on the word and on sleepers, so either
 * the sleeper sees the new value or the waker sees the sleeper. */
static void
wait_while(ec2t__pool *pool, atomic_uint *word, unsigned seen, int64_t spin_ns)
{
    int64_t t0 = 0, t;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != seen)
            return;
        cpu_relax();
        if (i % 64 != 0)
            continue;
        t = now_ns();
        if (i == 64)
            t0 = t;
        else if (t - t0 > spin_ns)
            break;
        else if (t - t0 > YIELD_NS)
            sched_yield();
    }
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->sleepers, 1);
    while (atomic_load(word) == seen)
        pthread_cond_wait(&pool->wake, &pool->lock);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->lock);
}

/* After a (sequentially consistent) change of a word others may wait on. */
static void
wake_sleepers(ec2t__pool *pool)
{
    if (atomic_load(&pool->sleepers) == 0)
        return;
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

static void
range_of(int64_t n, int64_t per, int k, int64_t *b, int64_t *e)
{
    *b = (int64_t)k * per;
    *e = *b + per < n ? *b + per : n;
}

/* Worker k's part of the current job. */
static void
work(ec2t__pool *pool, int k)
{
    int64_t b, e;
    if (k >= pool->ranges)
        return;
    if (pool->team_fn) {
        pool->team_fn(pool->arg, pool, k, pool->ranges);
        return;
    }
    range_of(pool->n, pool->per, k, &b, &e);
    pool->fn(pool->arg, b, e, k);
}

static void *
worker_main(void *p)
{
    const worker *self = p;
    ec2t__pool *pool = self->pool;
    unsigned seen = 0;
    for (;;) {
        /* the caller waits for every worker before the next job, so the
         * generation moves by one per job */
        wait_while(pool, &pool->generation, seen, SPIN_IDLE_NS);
        seen++;
        if (pool->quit)
            return NULL;
        work(pool, self->index);
        if (atomic_fetch_sub(&pool->pending, 1) == 1) {
            atomic_fetch_add(&pool->finished, 1);
            wake_sleepers(pool);
        }
    }
}

/* Run the job described in pool (busy held) on every worker and the caller. */
static void
run_job(ec2t__pool *pool)
{
    unsigned done = atomic_load(&pool->finished);
    ec2t__blas_workers_begin();
    atomic_store(&pool->pending, (unsigned)pool->n_workers);
    atomic_fetch_add(&pool->generation, 1);
    wake_sleepers(pool);
    work(pool, 0);
    wait_while(pool, &pool->finished, done, SPIN_JOB_NS);
    ec2t__blas_workers_end();
}

/* The chunk a member takes next of those not yet taken (bits of taken): its
 * own first (member, member + members, ...), so that with a member per chunk
 * each one computes the same part of every step, next to the data it wrote
 * in the last one; then any other, so that a member the OS did not schedule
 * delays no one. -1 when every chunk is taken. */
static int
pick_chunk(uint32_t taken, int64_t chunks, int member, int members)
{
    for (int64_t c = member; c < chunks; c += members)
        if (!(taken >> c & 1u))
            return (int)c;
    for (int64_t c = 0; c < chunks; c++)
        if (!(taken >> c & 1u))
            return (int)c;
    return -1;
}

/* A step of a team: members claim its chunks one at a time (pick_chunk);
 * the member that finishes the last chunk opens the next step. Steps are
 * numbered in each member's walk (cursor); a member that comes late to a
 * step already done passes it. The claim word holds the open step and the
 * mask of its chunks taken. */
void
ec2t__team_step(ec2t__team *team, ec2t__team_cursor *cur, int64_t chunks, ec2t__range_fn fn,
                void *arg, int member)
{
    unsigned step = cur->step, open;
    uint64_t end = cur->base + (uint64_t)chunks, v;
    if (!team) {
        if (chunks > 0)
            fn(arg, 0, chunks, member);
        return;
    }
    if (chunks <= 0)
        return; /* not a step: nothing to wait for */
    cur->step++;
    cur->base = end;
    while ((open = atomic_load(&team->opened)) < step)
        wait_while(team, &team->opened, open, SPIN_JOB_NS);
    if (open > step)
        return;
    v = atomic_load(&team->claim);
    while (v >> 32 == step) {
        int c = pick_chunk((uint32_t)v, chunks, member, team->ranges);
        if (c < 0)
            break;
        if (!atomic_compare_exchange_weak(&team->claim, &v, v | (UINT64_C(1) << c)))
            continue; /* v now holds the current value */
        fn(arg, c, c + 1, member);
        if (atomic_fetch_add(&team->done, 1) + 1 == end) {
            atomic_store(&team->claim, (uint64_t)(step + 1) << 32);
            atomic_fetch_add(&team->opened, 1);
            wake_sleepers(team);
            return;
        }
        v = atomic_load(&team->claim);
    }
    /* every chunk is taken: wait for the last ones to finish */
    wait_while(team, &team->opened, step, SPIN_JOB_NS);
}

void
ec2t__pool_free(ec2t__pool *pool)
{
    if (!pool)
        return;
    /* a caller still inside a job on this pool finishes it first */
    pthread_mutex_lock(&pool->busy);
    pool->quit = 1;
    atomic_fetch_add(&pool->generation, 1);
    wake_sleepers(pool);
    pthread_mutex_unlock(&pool->busy);
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->busy);
    pthread_cond_destroy(&pool->wake);
    ec2t__free(pool->ctx, pool->workers);
    ec2t__free(pool->ctx, pool);
}

ec2t_status
ec2t__pool_new(ec2t_context *ctx, int threads, ec2t__pool **out)
{
    ec2t__pool *pool = ec2t__alloc(ctx, sizeof *pool, LINE);
    *out = NULL;
    if (!pool)
        return EC2T_E_NOMEM;
    memset(pool, 0, sizeof *pool);
    pool->ctx = ctx;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->finished, 0);
    atomic_init(&pool->claim, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->opened, 0);
    atomic_init(&pool->sleepers, 0);
    pool->workers = ec2t__calloc(ctx, (size_t)threads, sizeof *pool->workers);
    if (!pool->workers) {
        ec2t__free(ctx, pool);
        return EC2T_E_NOMEM;
    }
    /* glibc's default mutexes and condition variables cannot fail to initialise */
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->busy, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (int i = 1; i < threads; i++) {
        worker *w = &pool->workers[pool->n_workers];
        w->pool = pool;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            ec2t__pool_free(pool); /* stops the workers already started */
            return EC2T_E_NOMEM;
        }
        pool->n_workers++;
    }
    *out = pool;
    return EC2T_OK;
}

/* Ranges of `per` items each; the count is chosen so that none is empty. */
static int64_t
per_range(const ec2t_context *ctx, int64_t n, int64_t grain)
{
    int64_t chunks, ranges;
    if (grain < 1)
        grain = 1;
    chunks = (n + grain - 1) / grain;
    ranges = chunks < ctx->threads ? chunks : ctx->threads;
    if (ranges < 1)
        ranges = 1;
    return n > 0 ? (n + ranges - 1) / ranges : 1;
}

int
ec2t__parallel_ranges(const ec2t_context *ctx, int64_t n, int64_t grain)
{
    int64_t per = per_range(ctx, n, grain);
    return n > 0 ? (int)((n + per - 1) / per) : 1;
}

/* The context's pool with its busy lock held, or NULL when there is none, it
 * is too small, or another caller runs a job on it. Claimed under pool_lock,
 * so that ec2t_context_set_int cannot swap the pool out in between. */
static ec2t__pool *
pool_claim(ec2t_context *ctx, int ranges)
{
    ec2t__pool *pool;
    pthread_mutex_lock(&ctx->pool_lock);
    pool = ctx->pool;
    if (pool && (pool->n_workers + 1 < ranges || pthread_mutex_trylock(&pool->busy) != 0))
        pool = NULL;
    pthread_mutex_unlock(&ctx->pool_lock);
    return pool;
}

void
ec2t__parallel_for(ec2t_context *ctx, int64_t n, int64_t grain, ec2t__range_fn fn, void *arg)
{
    int ranges = ec2t__parallel_ranges(ctx, n, grain);
    int64_t per = per_range(ctx, n, grain), b, e;
    ec2t__pool *pool;
    if (n <= 0)
        return;
    pool = ranges > 1 ? pool_claim(ctx, ranges) : NULL;
    if (!pool) {
        for (int k = 0; k < ranges; k++) {
            range_of(n, per, k, &b, &e);
            fn(arg, b, e, k);
        }
        return;
    }
    pool->fn = fn;
    pool->team_fn = NULL;
    pool->arg = arg;
    pool->n = n;
    pool->per = per;
    pool->ranges = ranges;
    run_job(pool);
    pthread_mutex_unlock(&pool->busy);
}

void
ec2t__parallel_team(ec2t_context *ctx, int max_workers, ec2t__team_fn fn, void *arg)
{
    int size = max_workers < ctx->threads ? max_workers : ctx->threads;
    ec2t__pool *pool = size > 1 ? pool_claim(ctx, size) : NULL;
    if (!pool) {
        fn(arg, NULL, 0, 1);
        return;
    }
    pool->fn = NULL;
    pool->team_fn = fn;
    pool->arg = arg;
    pool->ranges = size;
    /* no worker runs between jobs */
    atomic_store(&pool->claim, 0);
    atomic_store(&pool->done, 0);
    atomic_store(&pool->opened, 0);
    run_job(pool);
    pthread_mutex_unlock(&pool->busy);
}

/* The weight of rows [0, m) (see ec2t__split_rows). */
static int64_t
weight_below(int64_t m, const int32_t *cum1, const int32_t *cum2)
{
    return m + (cum1 ? cum1[m] - cum1[0] : 0) + (cum2 ? cum2[m] - cum2[0] : 0);
}

/* Where part k of n starts: the first row below which lies k / n of the
 * weight, rounded to a multiple of align. */
static int64_t
part_start(int64_t rows, const int32_t *cum1, const int32_t *cum2, int64_t align, int k, int n)
{
    int64_t lo = 0, hi = rows, target, m;
    if (k <= 0)
        return 0;
    if (k >= n)
        return rows;
    target = weight_below(rows, cum1, cum2) * k / n;
    while (lo < hi) { /* the first m whose weight below reaches the target */
        int64_t mid = lo + (hi - lo) / 2;
        if (weight_below(mid, cum1, cum2) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (align < 1)
        align = 1;
    m = (lo + align / 2) / align * align;
    return m < rows ? m : rows;
}

void
ec2t__split_rows(int64_t rows, const int32_t *cum1, const int32_t *cum2, int64_t align, int k,
                 int n, int64_t *b, int64_t *e)
{
    *b = part_start(rows, cum1, cum2, align, k, n);
    *e = part_start(rows, cum1, cum2, align, k + 1, n);
}
