/* SPDX-License-Identifier: MIT */
/* Several threads on one context: the per-thread error message. Meant to
 * run under ThreadSanitizer and AddressSanitizer too (build-tsan, build-asan). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

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

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_add_test(tc, test_threads_errmsg_is_whole_and_own);
    suite_add_tcase(s, tc);
    return s;
}
