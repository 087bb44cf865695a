/* SPDX-License-Identifier: MIT */
/* ec2t_context: allocator, log handler, last error and defaults. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context-private.h"
#include "settings-private.h"
#include "thread-pool-private.h"

#define EC2T__MIN_ALIGN 16

static void *
default_alloc(void *user, size_t size, size_t align)
{
    void *p = NULL;
    (void)user;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    return p;
}

static void
default_release(void *user, void *p)
{
    (void)user;
    free(p);
}

void *
ec2t__alloc(ec2t_context *ctx, size_t size, size_t align)
{
    if (align < EC2T__MIN_ALIGN)
        align = EC2T__MIN_ALIGN;
    if (size == 0)
        size = 1;
    return ctx->alloc(ctx->alloc_user, size, align);
}

size_t
ec2t__mul_size(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return 0;
    return count * size;
}

void *
ec2t__calloc(ec2t_context *ctx, size_t count, size_t size)
{
    size_t bytes = ec2t__mul_size(count, size);
    void *p;
    if (bytes == 0 && count != 0 && size != 0)
        return NULL;
    p = ec2t__alloc(ctx, bytes, EC2T__MIN_ALIGN);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void
ec2t__free(ec2t_context *ctx, void *ptr)
{
    if (ptr)
        ctx->release(ctx->alloc_user, ptr);
}

static void
log_va(const ec2t_context *ctx, ec2t_log_level level, const char *fmt, va_list ap)
    EC2T_PRINTF(3, 0);

/* A message cut to fit buf ends in "...", placed at a UTF-8 character
 * boundary so that a binding can decode what it receives. */
static void
format_message(char *buf, size_t size, const char *fmt, va_list ap) EC2T_PRINTF(3, 0);

static void
format_message(char *buf, size_t size, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, size, fmt, ap);
    size_t cut;
    if (n < 0) {
        buf[0] = '\0';
        return;
    }
    if ((size_t)n < size)
        return;
    cut = size - 4;
    while (cut > 0 && ((unsigned char)buf[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(buf + cut, "...", 4);
}

static void
log_va(const ec2t_context *ctx, ec2t_log_level level, const char *fmt, va_list ap)
{
    char msg[EC2T__LOG_MSG_MAX];
    if (!ctx || (int)level > ctx->log_level)
        return;
    if (ctx->log_fn) {
        ctx->log_fn(ctx->log_user, level, fmt, ap);
    } else if (ctx->log_msg_fn) {
        format_message(msg, sizeof msg, fmt, ap);
        ctx->log_msg_fn(ctx->log_user, level, msg);
    }
}

void
ec2t__log(const ec2t_context *ctx, ec2t_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_va(ctx, level, fmt, ap);
    va_end(ap);
}

/* The calling thread's last failure, errno-like: one per thread, so that no
 * other thread can change the text a thread reads. It belongs to the context
 * whose serial it carries (0: none yet). */
typedef struct last_error {
    uint64_t serial;
    ec2t_status code;
    char msg[EC2T__ERRMSG_MAX];
} last_error;

static _Thread_local last_error thread_error;
static atomic_uint_fast64_t contexts_made;

ec2t_status
ec2t__error(ec2t_context *ctx, ec2t_status status, const char *fmt, ...)
{
    char msg[EC2T__ERRMSG_MAX];
    va_list ap;
    if (!ctx)
        return status;
    /* formatted aside first: the arguments may point into thread_error.msg */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    thread_error.serial = ctx->serial;
    thread_error.code = status;
    memcpy(thread_error.msg, msg, sizeof msg);
    va_start(ap, fmt);
    log_va(ctx, EC2T_LOG_DEBUG, fmt, ap);
    va_end(ap);
    return status;
}

ec2t_status
ec2t__nomem(ec2t_context *ctx, const char *what)
{
    return ec2t__error(ctx, EC2T_E_NOMEM, "out of memory allocating %s", what);
}

EC2T_API ec2t_status
ec2t_context_new_with_allocator(ec2t_alloc_fn alloc, ec2t_release_fn release, void *user,
                                ec2t_context **out)
{
    ec2t_context *ctx;
    if (!out)
        return EC2T_E_INVAL;
    *out = NULL;
    if (!alloc || !release)
        return EC2T_E_INVAL;
    ctx = alloc(user, sizeof *ctx, _Alignof(ec2t_context));
    if (!ctx)
        return EC2T_E_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    if (pthread_mutex_init(&ctx->pool_lock, NULL) != 0) {
        release(user, ctx);
        return EC2T_E_NOMEM;
    }
    ctx->serial = (uint64_t)atomic_fetch_add(&contexts_made, 1) + 1;
    ctx->alloc = alloc;
    ctx->release = release;
    ctx->alloc_user = user;
    ctx->log_level = EC2T_LOG_WARN;
    ctx->threads = 1;
    ctx->seed = 0x5eed;
    ctx->load_limit = INT64_C(1) << 30; /* EC2T_CTX_LOAD_LIMIT: 1 GiB (common.h) */
    *out = ctx;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_context_new(ec2t_context **out)
{
    return ec2t_context_new_with_allocator(default_alloc, default_release, NULL, out);
}

EC2T_API void
ec2t_context_free(ec2t_context *ctx)
{
    if (!ctx)
        return;
    ec2t__pool_free(ctx->pool);
    pthread_mutex_destroy(&ctx->pool_lock);
    ctx->release(ctx->alloc_user, ctx);
}

EC2T_API const char *
ec2t_context_errmsg(const ec2t_context *ctx)
{
    if (!ctx)
        return "no context (NULL)";
    return thread_error.serial == ctx->serial ? thread_error.msg : "";
}

EC2T_API ec2t_status
ec2t_context_errcode(const ec2t_context *ctx)
{
    if (!ctx)
        return EC2T_E_INVAL;
    return thread_error.serial == ctx->serial ? thread_error.code : EC2T_OK;
}

EC2T_API ec2t_status
ec2t_context_set_log_handler(ec2t_context *ctx, ec2t_log_fn fn, void *user)
{
    if (!ctx)
        return EC2T_E_INVAL;
    ctx->log_fn = fn;
    ctx->log_msg_fn = NULL;
    ctx->log_user = user;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_context_set_log_message_handler(ec2t_context *ctx, ec2t_log_msg_fn fn, void *user)
{
    if (!ctx)
        return EC2T_E_INVAL;
    ctx->log_fn = NULL;
    ctx->log_msg_fn = fn;
    ctx->log_user = user;
    return EC2T_OK;
}

/* Start the new count's workers before anything changes, so that a failure
 * keeps the old count and its pool; the old pool is freed after its last job. */
static ec2t_status
set_threads(ec2t_context *ctx, int threads)
{
    ec2t__pool *pool = NULL, *old;
    if (threads == ctx->threads)
        return EC2T_OK;
    if (threads > 1 && ec2t__pool_new(ctx, threads, &pool) != EC2T_OK)
        return ec2t__error(ctx, EC2T_E_NOMEM,
                           "EC2T_CTX_THREADS %d: could not start %d worker threads; %d kept",
                           threads, threads - 1, ctx->threads);
    pthread_mutex_lock(&ctx->pool_lock);
    old = ctx->pool;
    ctx->pool = pool;
    ctx->threads = threads;
    pthread_mutex_unlock(&ctx->pool_lock);
    ec2t__pool_free(old);
    return EC2T_OK;
}

/* ---- settings (core/settings.c) ---- */

static ec2t_context *
context_itself(const void *obj)
{
    return (ec2t_context *)(uintptr_t)obj;
}

static ec2t_status
apply_context(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    (void)d;
    return s->id == EC2T_CTX_THREADS ? set_threads(obj, (int)i) : EC2T_OK;
}

static void
compute_context(const void *obj, const ec2t__setting *s, int64_t *i, double *d)
{
    (void)s, (void)d;
    *i = ((const ec2t_context *)obj)->threads; /* the only computed row */
}

static const ec2t__setting context_rows[] = {
    EC2T__INT_HOOKED(EC2T_CTX_THREADS, 0, 1, 1024),
    EC2T__INT_AT(EC2T_CTX_SEED, ec2t_context, seed, EC2T__AT_I64, INT64_MIN, INT64_MAX),
    EC2T__INT_AT(EC2T_CTX_LOG_LEVEL, ec2t_context, log_level, EC2T__AT_INT, 0, EC2T_LOG_DEBUG),
    EC2T__INT_AT(EC2T_CTX_LOAD_LIMIT, ec2t_context, load_limit, EC2T__AT_I64, 0, INT64_MAX),
};

const ec2t__settings ec2t__context_settings = {
    EC2T__SETTINGS_ROWS("context", context_rows, EC2T_E_INVAL),
    .ctx_of = context_itself,
    .apply = apply_context,
    .compute = compute_context,
};

EC2T_API ec2t_status
ec2t_context_param_bounds(ec2t_context_param param, int64_t *lo, int64_t *hi)
{
    return ec2t__settings_bounds_int(&ec2t__context_settings, param, lo, hi);
}

EC2T_API ec2t_status
ec2t_context_set_int(ec2t_context *ctx, ec2t_context_param param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__context_settings, ctx, param, value, "ec2t_context_set_int");
}

EC2T_API ec2t_status
ec2t_context_get_int(const ec2t_context *ctx, ec2t_context_param param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__context_settings, ctx, param, value, "ec2t_context_get_int");
}
