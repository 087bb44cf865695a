/* SPDX-License-Identifier: MIT */
/* The context's internals and the helpers every module uses to allocate,
 * report errors and log through it. */
#ifndef EC2T_CONTEXT_PRIVATE_H
#define EC2T_CONTEXT_PRIVATE_H

#include <pthread.h>

#include <ec2t/common.h>

#define EC2T__ERRMSG_MAX 512
/* buffer of a message formatted for an ec2t_log_msg_fn (1,023 bytes and NUL, common.h) */
#define EC2T__LOG_MSG_MAX 1024

struct ec2t__pool;

struct ec2t_context {
    ec2t_alloc_fn alloc;
    ec2t_release_fn release;
    void *alloc_user;
    /* at most one of the two handlers is set (context.c) */
    ec2t_log_fn log_fn;
    ec2t_log_msg_fn log_msg_fn;
    void *log_user;
    int log_level;
    int threads;
    int64_t seed;
    int64_t load_limit; /* EC2T_CTX_LOAD_LIMIT, 0 = none */
    /* Names the context in each thread's last error (context.c), unlike its
     * address, which a later context may reuse. */
    uint64_t serial;
    /* workers for EC2T_CTX_THREADS > 1, made when the count is set (thread-pool.c);
     * pool_lock guards the pointer against a set during a job */
    pthread_mutex_t pool_lock;
    struct ec2t__pool *pool;
};

/* Memory through the context's allocator. Sizes of 0 are rounded up to 1 so
 * that a valid pointer comes back; NULL means out of memory. */
void *ec2t__alloc(ec2t_context *ctx, size_t size, size_t align);
void *ec2t__calloc(ec2t_context *ctx, size_t count, size_t size);
void ec2t__free(ec2t_context *ctx, void *ptr);
/* count * size without overflow; returns 0 on overflow (never a valid size here). */
size_t ec2t__mul_size(size_t count, size_t size);

/* Record a failure as the calling thread's last on ctx and return its
 * status, so callers write `return ec2t__error(ctx, EC2T_E_INVAL, "...")`.
 * ctx may be NULL. The arguments may include ec2t_context_errmsg(ctx). */
ec2t_status ec2t__error(ec2t_context *ctx, ec2t_status status, const char *fmt, ...)
    EC2T_PRINTF(3, 4);
ec2t_status ec2t__nomem(ec2t_context *ctx, const char *what);

void ec2t__log(const ec2t_context *ctx, ec2t_log_level level, const char *fmt, ...)
    EC2T_PRINTF(3, 4);

#endif /* EC2T_CONTEXT_PRIVATE_H */
