/* SPDX-License-Identifier: MIT */
/* Several threads on one context: the worker pool under an allocator that
 * fails now and then, the per-thread error message, and the BLAS thread
 * count the library leaves behind. Meant to run under ThreadSanitizer and
 * AddressSanitizer too (build-tsan, build-asan). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

/* ---- an allocator that fails every `period`-th call once armed ---- */

typedef struct flaky_alloc {
    long calls;
    long live;
    long failures;
    int armed;
    long period;
} flaky_alloc;

static void *
flaky_alloc_fn(void *user, size_t size, size_t align)
{
    flaky_alloc *fa = user;
    void *p = NULL;
    long call = __atomic_add_fetch(&fa->calls, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&fa->armed, __ATOMIC_SEQ_CST) && call % fa->period == 0) {
        __atomic_add_fetch(&fa->failures, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    __atomic_add_fetch(&fa->live, 1, __ATOMIC_SEQ_CST);
    return p;
}

static void
flaky_release_fn(void *user, void *ptr)
{
    flaky_alloc *fa = user;
    __atomic_sub_fetch(&fa->live, 1, __ATOMIC_SEQ_CST);
    free(ptr);
}

static void
fill(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

/* ---- four threads running one engine, each with its own batch size ---- */

#define RUNNERS 4
#define MAX_BATCH (RUNNERS + 1)
#define IN_FLOATS (3 * 8 * 8)
#define CLASSES 10

typedef struct runner {
    const ec2t_engine *e;
    const float *x;
    int64_t batch;
    int mismatches;
    int failures;
    const float *want; /* MAX_BATCH * CLASSES outputs of the one-thread run */
} runner;

static void *
run_engine(void *p)
{
    runner *r = p;
    float y[MAX_BATCH * CLASSES];
    size_t bytes = 0;
    void *ws;
    if (ec2t_engine_workspace_size(r->e, r->batch, &bytes) != EC2T_OK || !(ws = malloc(bytes))) {
        r->failures++;
        return NULL;
    }
    for (int i = 0; i < 60; i++) {
        if (ec2t_engine_run(r->e, r->x, test_engine_input_floats(r->e, r->batch), r->batch, y,
                            sizeof y / sizeof y[0], ws, bytes, 0) != EC2T_OK)
            r->failures++;
        else if (memcmp(y, r->want, (size_t)r->batch * CLASSES * sizeof(float)) != 0)
            r->mismatches++;
    }
    free(ws);
    return NULL;
}

/* The worker pool is made when the thread count is set, never rebuilt by a
 * run (before: a pool short of a worker whose allocation failed was torn
 * down by the next run while another thread was still inside it, a
 * use-after-free under ASan and TSan), and running allocates nothing. */
START_TEST(test_threads_pool_under_failing_allocator)
{
    flaky_alloc fa = {0, 0, 0, 0, 3};
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    float x[MAX_BATCH * IN_FLOATS], want[MAX_BATCH * CLASSES];
    runner r[RUNNERS];
    pthread_t t[RUNNERS];
    size_t bytes;
    void *ws;
    int64_t threads = 0;
    long calls, refused = 0;
    ec2t_status st;

    ck_assert_ok(ec2t_context_new_with_allocator(flaky_alloc_fn, flaky_release_fn, &fa, &ctx));
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, CLASSES, 0, &net));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    fill(x, sizeof x / sizeof x[0], 5);
    ck_assert_ok(ec2t_engine_workspace_size(e, MAX_BATCH, &bytes));
    ws = malloc(bytes);
    ck_assert_ok(ec2t_engine_run(e, x, test_engine_input_floats(e, MAX_BATCH), MAX_BATCH, want,
                                 sizeof want / sizeof want[0], ws, bytes, 0));
    free(ws);

    /* every third allocation fails from here on */
    __atomic_store_n(&fa.armed, 1, __ATOMIC_SEQ_CST);
    while ((st = ec2t_context_set_int(ctx, EC2T_CTX_THREADS, RUNNERS)) != EC2T_OK) {
        ck_assert_int_eq(st, EC2T_E_NOMEM);
        ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &threads));
        ck_assert_int_eq(threads, 1);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "worker threads"));
        ck_assert_int_lt(++refused, 10);
    }
    calls = __atomic_load_n(&fa.calls, __ATOMIC_SEQ_CST);
    for (int i = 0; i < RUNNERS; i++) {
        r[i] = (runner){e, x, 2 + i, 0, 0, want};
        ck_assert_int_eq(pthread_create(&t[i], NULL, run_engine, &r[i]), 0);
    }
    for (int i = 0; i < RUNNERS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(r[i].failures, 0);
        ck_assert_msg(r[i].mismatches == 0, "batch %lld: %d runs differ from one thread's",
                      (long long)r[i].batch, r[i].mismatches);
    }
    ck_assert_msg(__atomic_load_n(&fa.calls, __ATOMIC_SEQ_CST) == calls,
                  "running allocated %ld times", __atomic_load_n(&fa.calls, __ATOMIC_SEQ_CST) - calls);
    __atomic_store_n(&fa.armed, 0, __ATOMIC_SEQ_CST);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(fa.live, 0);
}
END_TEST

/* A network planned with one thread, then run with four: its scratch (a
 * lowering buffer per worker) must grow with the count; before, it did not
 * (ASan: heap-buffer-overflow in the convolution). The results do not depend
 * on the count. */
START_TEST(test_threads_raised_after_a_plan)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[1] = {1}, widths[1] = {16};
    ec2t_net *net = NULL;
    /* 32x32 inputs: one sample's lowering fills a chunk, so 4 samples are 4 ranges */
    float *x = malloc(4 * 3 * 32 * 32 * sizeof(float)), one[4 * CLASSES], four[4 * CLASSES];
    int32_t labels[4] = {1, 2, 3, 4};
    fill(x, 4 * 3 * 32 * 32, 9);
    ck_assert_ok(ec2t_net_build_resnet(ctx, 1, blocks, widths, 3, 32, 32, CLASSES, 0, &net));
    /* a backward pass needs the forward pass's thread count */
    ck_assert_ok(ec2t_net_forward_loss(net, x, test_net_input_floats(net, 4), labels, 4, 4, 0,
                                       NULL, NULL));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 4));
    ck_assert_status(ec2t_net_backward(net, 0), EC2T_E_STATE);
    ck_assert_ok(ec2t_net_forward_loss(net, x, test_net_input_floats(net, 4), labels, 4, 4, 0,
                                       NULL, NULL));
    ck_assert_ok(ec2t_net_backward(net, 0));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 1));
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_net_forward(net, x, test_net_input_floats(net, 4), 4, one,
                                  sizeof one / sizeof one[0], 0));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 4));
    ck_assert_ok(ec2t_net_forward(net, x, test_net_input_floats(net, 4), 4, four,
                                  sizeof four / sizeof four[0], 0));
    for (int i = 0; i < 4 * CLASSES; i++)
        ck_assert_float_eq_tol(four[i], one[i], 1e-4f);
    free(x);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- the error message: each thread reads its own, whole ---- */

#define FAILERS 4
#define FAILS 20000

typedef struct failer {
    ec2t_context *ctx;
    int index;
    long foreign; /* another thread's whole text */
    long broken;  /* no thread's text at all: empty or spliced */
    long moved;   /* the pointer kept from the first failure changed */
} failer;

static void
expected_text(char *buf, size_t cap, int index)
{
    snprintf(buf, cap, "tensor shape: extent %d of axis 0 is invalid", -(index + 1));
}

static int
is_some_text(const char *msg)
{
    char want[128];
    for (int i = 0; i < FAILERS; i++) {
        expected_text(want, sizeof want, i);
        if (strcmp(msg, want) == 0)
            return 1;
    }
    return 0;
}

static void *
fail_often(void *p)
{
    failer *f = p;
    int64_t dims[1] = {-(f->index + 1)};
    ec2t_tensor *t = NULL;
    const char *kept = NULL;
    char mine[128];
    expected_text(mine, sizeof mine, f->index);
    for (int i = 0; i < FAILS; i++) {
        const char *msg;
        if (ec2t_tensor_new(f->ctx, 1, dims, &t) != EC2T_E_INVAL)
            f->broken++;
        msg = ec2t_context_errmsg(f->ctx);
        if (!kept)
            kept = msg;
        if (strcmp(msg, mine) != 0) {
            if (is_some_text(msg))
                f->foreign++;
            else
                f->broken++;
        }
        if (strcmp(kept, mine) != 0)
            f->moved++;
        if (ec2t_context_errcode(f->ctx) != EC2T_E_INVAL)
            f->broken++;
    }
    return NULL;
}

/* Before: one buffer per context, written under a lock and read without it;
 * reads returned other threads' texts, and empty or spliced ones. */
START_TEST(test_threads_errmsg_is_whole_and_own)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    failer f[FAILERS];
    pthread_t t[FAILERS];
    for (int i = 0; i < FAILERS; i++) {
        f[i] = (failer){ctx, i, 0, 0, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, fail_often, &f[i]), 0);
    }
    for (int i = 0; i < FAILERS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(f[i].broken == 0 && f[i].foreign == 0 && f[i].moved == 0,
                      "thread %d: %ld of %d reads not a whole text, %ld another thread's, "
                      "%ld with the kept pointer changed",
                      i, f[i].broken, FAILS, f[i].foreign, f[i].moved);
    }
    /* this thread failed on nothing: nothing to read */
    ck_assert_str_eq(ec2t_context_errmsg(ctx), "");
    ck_assert_int_eq(ec2t_context_errcode(ctx), EC2T_OK);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- OpenBLAS's thread count, a process-wide setting ---- */

typedef int (*get_threads_fn)(void);
typedef void (*set_threads_fn)(int);

/* A forward/backward pass, a re-plan (a larger batch) and an engine run, with
 * one thread and with two: OpenBLAS's count is what it was before each.
 * Before: every plan set it to 1 for the whole process, for good. */
START_TEST(test_threads_blas_count_restored)
{
    void *get = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    void *set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    get_threads_fn blas_threads;
    set_threads_fn set_blas_threads;
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 8};
    int32_t labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int before;
    test_alloc ta;
    ec2t_context *ctx;
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    float x[8 * IN_FLOATS], y[8 * CLASSES];
    size_t bytes;
    void *ws;
    if (!get || !set) {
        printf("threads: BLAS thread count test skipped: the BLAS is not OpenBLAS\n");
        return;
    }
    memcpy(&blas_threads, &get, sizeof get);
    memcpy(&set_blas_threads, &set, sizeof set);
    before = blas_threads();
    set_blas_threads(3);
    if (blas_threads() != 3) {
        printf("threads: BLAS thread count test skipped: OpenBLAS keeps %d threads\n",
               blas_threads());
        set_blas_threads(before);
        return;
    }
    fill(x, sizeof x / sizeof x[0], 3);
    for (int threads = 1; threads <= 2; threads++) {
        ctx = test_context(&ta);
        ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads));
        ck_assert_ok(ec2t_net_build_resnet(ctx, 2, blocks, widths, 3, 8, 8, CLASSES, 0, &net));
        ck_assert_ok(ec2t_net_forward_loss(net, x, test_net_input_floats(net, 4), labels, 4, 4, 0,
                                           NULL, NULL));
        ck_assert_ok(ec2t_net_backward(net, 0));
        ck_assert_int_eq(blas_threads(), 3);
        /* a new batch size re-plans */
        ck_assert_ok(ec2t_net_forward_loss(net, x, test_net_input_floats(net, 8), labels, 8, 8, 0,
                                           NULL, NULL));
        ck_assert_ok(ec2t_net_backward(net, 0));
        ck_assert_int_eq(blas_threads(), 3);
        ck_assert_ok(ec2t_engine_compile(net, 0, &e));
        ck_assert_ok(ec2t_engine_workspace_size(e, 8, &bytes));
        ws = malloc(bytes);
        ck_assert_ok(ec2t_engine_run(e, x, test_engine_input_floats(e, 8), 8, y,
                                     sizeof y / sizeof y[0], ws, bytes, 0));
        free(ws);
        ck_assert_int_eq(blas_threads(), 3);
        ec2t_engine_free(e);
        ec2t_net_free(net);
        ec2t_context_free(ctx);
        ck_assert_int_eq(ta.live, 0);
    }
    set_blas_threads(before);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_test(tc, test_threads_pool_under_failing_allocator);
    tcase_add_test(tc, test_threads_raised_after_a_plan);
    tcase_add_test(tc, test_threads_errmsg_is_whole_and_own);
    tcase_add_test(tc, test_threads_blas_count_restored);
    suite_add_tcase(s, tc);
    return s;
}
