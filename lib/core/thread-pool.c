/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "blas-private.h"
#include "thread-pool-private.h"

typedef struct worker {
    ec2t__pool *pool;
    int index; /* its range in a job: 1 .. n_workers (the caller is 0) */
    pthread_t thread;
} worker;

struct ec2t__pool {
    ec2t_context *ctx;
    int n_workers; /* threads started, besides the callers */
    worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    pthread_mutex_t busy; /* one job at a time; held by the caller that runs it */
    /* the current job */
    ec2t__range_fn fn;
    void *arg;
    int64_t n, per;
    int ranges;
    uint64_t generation;
    int pending;
    int quit;
};

static void
range_of(int64_t n, int64_t per, int k, int64_t *b, int64_t *e)
{
    *b = (int64_t)k * per;
    *e = *b + per < n ? *b + per : n;
}

static void *
worker_main(void *p)
{
    const worker *self = p;
    ec2t__pool *pool = self->pool;
    uint64_t seen = 0;
    for (;;) {
        int64_t b, e;
        pthread_mutex_lock(&pool->lock);
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->start, &pool->lock);
        if (pool->quit) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        if (self->index < pool->ranges) {
            range_of(pool->n, pool->per, self->index, &b, &e);
            pool->fn(pool->arg, b, e, self->index);
        }
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->lock);
    }
}

void
ec2t__pool_free(ec2t__pool *pool)
{
    if (!pool)
        return;
    /* a caller still inside a job on this pool finishes it first */
    pthread_mutex_lock(&pool->busy);
    pthread_mutex_unlock(&pool->busy);
    pthread_mutex_lock(&pool->lock);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->busy);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    ec2t__free(pool->ctx, pool->workers);
    ec2t__free(pool->ctx, pool);
}

ec2t_status
ec2t__pool_new(ec2t_context *ctx, int threads, ec2t__pool **out)
{
    ec2t__pool *pool = ec2t__calloc(ctx, 1, sizeof *pool);
    *out = NULL;
    if (!pool)
        return EC2T_E_NOMEM;
    pool->ctx = ctx;
    pool->workers = ec2t__calloc(ctx, (size_t)threads, sizeof *pool->workers);
    if (!pool->workers) {
        ec2t__free(ctx, pool);
        return EC2T_E_NOMEM;
    }
    /* glibc's default mutexes and condition variables cannot fail to initialise */
    pthread_mutex_init(&pool->lock, NULL);
    pthread_mutex_init(&pool->busy, NULL);
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
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
    ec2t__blas_workers_begin();
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->per = per;
    pool->ranges = ranges;
    pool->pending = pool->n_workers;
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    range_of(n, per, 0, &b, &e);
    fn(arg, b, e, 0);
    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    ec2t__blas_workers_end();
    pthread_mutex_unlock(&pool->busy);
}
