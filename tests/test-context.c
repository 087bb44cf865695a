/* SPDX-License-Identifier: MIT */
/* ec2t_context, status texts and version queries. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "context-private.h"
#include "test-common.h"

START_TEST(test_context_new_free)
{
    ec2t_context *ctx = NULL;
    ck_assert_ok(ec2t_context_new(&ctx));
    ck_assert_ptr_nonnull(ctx);
    ck_assert_str_eq(ec2t_context_errmsg(ctx), "");
    ck_assert_int_eq(ec2t_context_errcode(ctx), EC2T_OK);
    ec2t_context_free(ctx);
    ec2t_context_free(NULL);
}
END_TEST

START_TEST(test_context_new_bad_args)
{
    test_alloc ta = {0, -1, 0, 0};
    ec2t_context *ctx = (ec2t_context *)&ta;
    ck_assert_status(ec2t_context_new(NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_new_with_allocator(NULL, test_release_fn, &ta, &ctx),
                     EC2T_E_INVAL);
    ck_assert_ptr_null(ctx);
    ctx = (ec2t_context *)&ta;
    ck_assert_status(ec2t_context_new_with_allocator(test_alloc_fn, NULL, &ta, &ctx),
                     EC2T_E_INVAL);
    ck_assert_ptr_null(ctx);
    ck_assert_status(ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, NULL),
                     EC2T_E_INVAL);
    ck_assert_int_eq(ta.calls, 0);
}
END_TEST

START_TEST(test_context_alloc_failure)
{
    test_alloc ta = {0, 0, 0, 0};
    ec2t_context *ctx = (ec2t_context *)&ta;
    ck_assert_status(ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, &ctx),
                     EC2T_E_NOMEM);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_context_custom_allocator_used)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = NULL;
    int64_t dims[1] = {10};
    ck_assert_int_eq(ta.live, 1); /* the context itself */
    ck_assert_ok(ec2t_tensor_new(ctx, 1, dims, &t));
    ck_assert_int_gt(ta.live, 1);
    ec2t_tensor_free(t);
    ck_assert_int_eq(ta.live, 1);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_context_errmsg)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = NULL;
    int64_t dims[1] = {0};
    ck_assert_ptr_nonnull(ec2t_context_errmsg(NULL));
    ck_assert_int_eq(ec2t_context_errcode(NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_context_errcode(ctx), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "extent 0"));
    ec2t_context_free(ctx);
}
END_TEST

typedef struct errmsg_seen {
    ec2t_context *ctx;
    char msg[128];
    ec2t_status code;
} errmsg_seen;

static void *
read_errmsg(void *p)
{
    errmsg_seen *seen = p;
    snprintf(seen->msg, sizeof seen->msg, "%s", ec2t_context_errmsg(seen->ctx));
    seen->code = ec2t_context_errcode(seen->ctx);
    return NULL;
}

/* The message is the calling thread's: another thread does not see it,
 * another context does not show it, and it outlives its context. */
START_TEST(test_context_errmsg_per_thread)
{
    test_alloc ta, tb;
    ec2t_context *ctx = test_context(&ta), *other = test_context(&tb);
    ec2t_tensor *t = NULL;
    int64_t dims[1] = {0};
    errmsg_seen seen = {ctx, "unread", EC2T_E_INTERNAL};
    pthread_t reader;
    const char *kept;
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    kept = ec2t_context_errmsg(ctx);
    ck_assert_ptr_nonnull(strstr(kept, "extent 0"));
    ck_assert_int_eq(pthread_create(&reader, NULL, read_errmsg, &seen), 0);
    pthread_join(reader, NULL);
    ck_assert_str_eq(seen.msg, "");
    ck_assert_int_eq(seen.code, EC2T_OK);
    ck_assert_str_eq(ec2t_context_errmsg(other), "");
    ck_assert_int_eq(ec2t_context_errcode(other), EC2T_OK);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
    ck_assert_ptr_nonnull(strstr(kept, "extent 0"));
    /* a new context, perhaps at the same address, starts with nothing */
    ctx = test_context(&ta);
    ck_assert_str_eq(ec2t_context_errmsg(ctx), "");
    /* a failure on another context replaces this thread's message */
    ck_assert_status(ec2t_tensor_new(other, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_context_errcode(other), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx), "");
    ec2t_context_free(ctx);
    ec2t_context_free(other);
    ck_assert_int_eq(ta.live + tb.live, 0);
}
END_TEST

START_TEST(test_context_options)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int64_t v = 0, lo = 0, hi = 0;
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 2));
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &v));
    ck_assert_int_eq(v, 2);
    ck_assert_status(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 1025), EC2T_E_INVAL);
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &v));
    ck_assert_int_eq(v, 2);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_SEED, -77));
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_SEED, &v));
    ck_assert_int_eq(v, -77);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOG_LEVEL, EC2T_LOG_DEBUG));
    ck_assert_status(ec2t_context_set_int(ctx, EC2T_CTX_LOG_LEVEL, 5), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_set_int(ctx, (ec2t_context_param)999, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_context_get_int(ctx, (ec2t_context_param)999, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_context_set_int(NULL, EC2T_CTX_THREADS, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_get_int(NULL, EC2T_CTX_THREADS, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_context_param_bounds(EC2T_CTX_THREADS, &lo, &hi));
    ck_assert_int_eq(lo, 1);
    ck_assert_int_eq(hi, 1024);
    ck_assert_status(ec2t_context_param_bounds(EC2T_CTX_THREADS, NULL, &hi), EC2T_E_INVAL);
    ck_assert_status(ec2t_context_param_bounds((ec2t_context_param)0, &lo, &hi),
                     EC2T_E_UNSUPPORTED);
    ck_assert_ok(ec2t_context_param_bounds(EC2T_CTX_LOAD_LIMIT, &lo, &hi));
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, INT64_MAX);
    ck_assert_status(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, -1), EC2T_E_INVAL);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, INT64_C(1) << 40));
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_LOAD_LIMIT, &v));
    ck_assert_int_eq(v, INT64_C(1) << 40);
    ec2t_context_free(ctx);
}
END_TEST

typedef struct log_capture {
    int calls;
    ec2t_log_level last_level;
    char last[256];
} log_capture;

/* a printf-like handler: the attribute lets the compiler check its vsnprintf */
static void capture_log(void *user, ec2t_log_level level, const char *fmt, va_list ap)
    EC2T_PRINTF(3, 0);

static void
capture_log(void *user, ec2t_log_level level, const char *fmt, va_list ap)
{
    log_capture *c = user;
    c->calls++;
    c->last_level = level;
    vsnprintf(c->last, sizeof c->last, fmt, ap);
}

START_TEST(test_context_log_handler)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    log_capture cap = {0, EC2T_LOG_ERROR, ""};
    int64_t dims[1] = {-3};
    ec2t_tensor *t = NULL;
    ck_assert_status(ec2t_context_set_log_handler(NULL, capture_log, &cap), EC2T_E_INVAL);
    ck_assert_ok(ec2t_context_set_log_handler(ctx, capture_log, &cap));
    /* errors are logged at DEBUG level; the default maximum is WARN */
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(cap.calls, 0);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOG_LEVEL, EC2T_LOG_DEBUG));
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(cap.calls, 1);
    ck_assert_int_eq(cap.last_level, EC2T_LOG_DEBUG);
    ck_assert_ptr_nonnull(strstr(cap.last, "-3"));
    ck_assert_ok(ec2t_context_set_log_handler(ctx, NULL, NULL));
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(cap.calls, 1);
    ec2t_context_free(ctx);
}
END_TEST

typedef struct msg_capture {
    int calls;
    ec2t_log_level last_level;
    char last[2048];
} msg_capture;

static void
capture_message(void *user, ec2t_log_level level, const char *message)
{
    msg_capture *c = user;
    c->calls++;
    c->last_level = level;
    snprintf(c->last, sizeof c->last, "%s", message);
}

START_TEST(test_context_log_message_handler)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    msg_capture cap = {0, EC2T_LOG_ERROR, ""};
    log_capture va_cap = {0, EC2T_LOG_ERROR, ""};
    int64_t dims[1] = {-3};
    ec2t_tensor *t = NULL;
    ck_assert_status(ec2t_context_set_log_message_handler(NULL, capture_message, &cap),
                     EC2T_E_INVAL);
    ck_assert_ok(ec2t_context_set_log_message_handler(ctx, capture_message, &cap));
    /* the library formats the message */
    ec2t__log(ctx, EC2T_LOG_WARN, "%d %s", 42, "layers");
    ck_assert_int_eq(cap.calls, 1);
    ck_assert_int_eq(cap.last_level, EC2T_LOG_WARN);
    ck_assert_str_eq(cap.last, "42 layers");
    /* levels above EC2T_CTX_LOG_LEVEL never reach it: errors log at DEBUG */
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(cap.calls, 1);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOG_LEVEL, EC2T_LOG_ERROR));
    ec2t__log(ctx, EC2T_LOG_WARN, "filtered");
    ck_assert_int_eq(cap.calls, 1);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOG_LEVEL, EC2T_LOG_DEBUG));
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_int_eq(cap.calls, 2);
    ck_assert_int_eq(cap.last_level, EC2T_LOG_DEBUG);
    ck_assert_str_eq(cap.last, ec2t_context_errmsg(ctx));
    /* each setter replaces the other's handler */
    ck_assert_ok(ec2t_context_set_log_handler(ctx, capture_log, &va_cap));
    ec2t__log(ctx, EC2T_LOG_WARN, "to the va_list handler");
    ck_assert_int_eq(cap.calls, 2);
    ck_assert_int_eq(va_cap.calls, 1);
    ck_assert_ok(ec2t_context_set_log_message_handler(ctx, capture_message, &cap));
    ec2t__log(ctx, EC2T_LOG_WARN, "to the message handler");
    ck_assert_int_eq(va_cap.calls, 1);
    ck_assert_int_eq(cap.calls, 3);
    ck_assert_str_eq(cap.last, "to the message handler");
    /* NULL leaves no handler */
    ck_assert_ok(ec2t_context_set_log_message_handler(ctx, NULL, NULL));
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, &t), EC2T_E_INVAL);
    ec2t__log(ctx, EC2T_LOG_ERROR, "nobody");
    ck_assert_int_eq(cap.calls, 3);
    ck_assert_int_eq(va_cap.calls, 1);
    ec2t_context_free(ctx);
}
END_TEST

/* A message over the buffer is cut to 1,023 bytes ending in "...", and never
 * inside a UTF-8 character. */
START_TEST(test_context_log_message_truncated)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    msg_capture cap = {0, EC2T_LOG_ERROR, ""};
    char long_text[1500];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    ck_assert_ok(ec2t_context_set_log_message_handler(ctx, capture_message, &cap));
    ec2t__log(ctx, EC2T_LOG_WARN, "%s", long_text);
    ck_assert_int_eq(cap.calls, 1);
    ck_assert_uint_eq(strlen(cap.last), EC2T__LOG_MSG_MAX - 1);
    ck_assert_str_eq(cap.last + EC2T__LOG_MSG_MAX - 4, "...");
    ck_assert_int_eq(strspn(cap.last, "a"), EC2T__LOG_MSG_MAX - 4);
    /* a two-byte character on the cut: it goes whole */
    long_text[EC2T__LOG_MSG_MAX - 5] = (char)0xc3;
    long_text[EC2T__LOG_MSG_MAX - 4] = (char)0xa9;
    ec2t__log(ctx, EC2T_LOG_WARN, "%s", long_text);
    ck_assert_uint_eq(strlen(cap.last), EC2T__LOG_MSG_MAX - 2);
    ck_assert_int_eq(strspn(cap.last, "a"), EC2T__LOG_MSG_MAX - 5);
    ck_assert_str_eq(cap.last + EC2T__LOG_MSG_MAX - 5, "...");
    /* one that fits exactly is passed whole */
    long_text[EC2T__LOG_MSG_MAX - 5] = 'a';
    long_text[EC2T__LOG_MSG_MAX - 4] = 'a';
    long_text[EC2T__LOG_MSG_MAX - 1] = '\0';
    ec2t__log(ctx, EC2T_LOG_WARN, "%s", long_text);
    ck_assert_str_eq(cap.last, long_text);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_status_strings)
{
    static const ec2t_status all[] = {EC2T_OK, EC2T_E_INVAL, EC2T_E_NOMEM, EC2T_E_IO,
                                      EC2T_E_FORMAT, EC2T_E_UNSUPPORTED, EC2T_E_STATE,
                                      EC2T_E_RANGE, EC2T_E_ABORTED, EC2T_E_INTERNAL};
    const char *unknown = ec2t_status_string((ec2t_status)-1000);
    ck_assert_str_eq(unknown, "unknown status");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ck_assert_ptr_nonnull(ec2t_status_string(all[i]));
        ck_assert_str_ne(ec2t_status_string(all[i]), unknown);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(ec2t_status_string(all[i]), ec2t_status_string(all[j]));
    }
    /* the enum is append-only: these values are part of the ABI */
    ck_assert_int_eq(EC2T_E_INVAL, -1);
    ck_assert_int_eq(EC2T_E_INTERNAL, -9);
}
END_TEST

START_TEST(test_version)
{
    char expect[32];
    ck_assert_uint_eq(ec2t_version_number(), EC2T_VERSION_NUMBER);
    ck_assert_str_eq(ec2t_version_string(), EC2T_VERSION_STRING);
    snprintf(expect, sizeof expect, "%d.%d.%d", EC2T_VERSION_MAJOR, EC2T_VERSION_MINOR,
             EC2T_VERSION_MICRO);
    ck_assert_str_eq(ec2t_version_string(), expect);
    ck_assert_int_eq(EC2T_VERSION_NUMBER,
                     EC2T_VERSION_MAJOR * 10000 + EC2T_VERSION_MINOR * 100 + EC2T_VERSION_MICRO);
    ck_assert_int_eq(ec2t_max_dims(), EC2T_MAX_DIMS);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("context");
    tcase_add_test(tc, test_context_new_free);
    tcase_add_test(tc, test_context_new_bad_args);
    tcase_add_test(tc, test_context_alloc_failure);
    tcase_add_test(tc, test_context_custom_allocator_used);
    tcase_add_test(tc, test_context_errmsg);
    tcase_add_test(tc, test_context_errmsg_per_thread);
    tcase_add_test(tc, test_context_options);
    tcase_add_test(tc, test_context_log_handler);
    tcase_add_test(tc, test_context_log_message_handler);
    tcase_add_test(tc, test_context_log_message_truncated);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_version);
    suite_add_tcase(s, tc);
    return s;
}
