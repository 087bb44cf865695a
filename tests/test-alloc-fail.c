/* SPDX-License-Identifier: MIT */
/* Allocation failure: for every k, make the k-th allocation fail and check
 * that each scenario returns EC2T_E_NOMEM cleanly and frees everything. A
 * scenario registers here once per public object. */
#include <stdio.h>
#include <string.h>

#include "test-common.h"

typedef ec2t_status (*scenario_fn)(ec2t_context *ctx);

/* Tensors: create, initialise, copy, reshape, save and load. */
static ec2t_status
scenario_tensor(ec2t_context *ctx)
{
    int64_t dims[3] = {2, 3, 4}, flat[1] = {24};
    ec2t_tensor *a = NULL, *b = NULL, *c = NULL;
    float out[24];
    ec2t_status st;
    const char *path = test_tmpfile(0, "alloc.npy");
    uint8_t npy[256];
    FILE *f;
    size_t n;

    if ((st = ec2t_tensor_new(ctx, 3, dims, &a)) != EC2T_OK)
        goto out;
    if ((st = ec2t_tensor_init_kaiming(a, EC2T_FAN_IN, 9)) != EC2T_OK)
        goto out;
    if ((st = ec2t_tensor_read(a, out, 24, NULL)) != EC2T_OK)
        goto out;
    if ((st = ec2t_tensor_reshape(a, 1, flat)) != EC2T_OK)
        goto out;
    if ((st = ec2t_tensor_save_npy(a, path, 0)) != EC2T_OK)
        goto out;
    if ((st = ec2t_tensor_load_npy(ctx, path, 0, &b)) != EC2T_OK)
        goto out;
    f = fopen(path, "rb");
    n = fread(npy, 1, sizeof npy, f);
    fclose(f);
    if ((st = ec2t_tensor_load_npy_mem(ctx, npy, n, 0, &c)) != EC2T_OK)
        goto out;
    ck_assert_int_eq(memcmp(ec2t_tensor_data(b), ec2t_tensor_data(c), sizeof out), 0);
out:
    if (st != EC2T_OK) {
        /* a constructor that failed returned NULL */
        ck_assert(b == NULL || c == NULL);
    }
    ec2t_tensor_free(a);
    ec2t_tensor_free(b);
    ec2t_tensor_free(c);
    return st;
}

/* Thread counts: the workers start when the count is set, so a failed start
 * fails the set (EC2T_E_NOMEM), keeps the count before and leaves nothing
 * running or allocated. */
static ec2t_status
scenario_threads(ec2t_context *ctx)
{
    static const int64_t counts[] = {3, 4, 4, 1, 2};
    int64_t before = 0, after = 0;
    ec2t_status st = EC2T_OK;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0] && st == EC2T_OK; i++) {
        ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &before));
        st = ec2t_context_set_int(ctx, EC2T_CTX_THREADS, counts[i]);
        ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_THREADS, &after));
        ck_assert_int_eq(after, st == EC2T_OK ? counts[i] : before);
    }
    return st;
}

static void
run_with_failures(const char *name, scenario_fn fn)
{
    long k;
    for (k = 0;; k++) {
        test_alloc ta = {0, k, 0, 0};
        ec2t_context *ctx = NULL;
        ec2t_status st = ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, &ctx);
        if (st == EC2T_OK)
            st = fn(ctx);
        else
            ck_assert_ptr_null(ctx);
        ec2t_context_free(ctx);
        ck_assert_msg(ta.live == 0, "%s: %ld blocks leaked when allocation %ld failed", name,
                      ta.live, k);
        if (test_alloc_pass_done(&ta, st, name, k, 0))
            break;
    }
    ck_assert_msg(k > 3, "%s: only %ld allocations; the scenario tests nothing", name, k);
}

START_TEST(test_alloc_fail_tensor)
{
    run_with_failures("tensor", scenario_tensor);
}
END_TEST

START_TEST(test_alloc_fail_threads)
{
    run_with_failures("threads", scenario_threads);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("alloc-fail");
    TCase *tc = tcase_create("alloc-fail");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_alloc_fail_tensor);
    tcase_add_test(tc, test_alloc_fail_threads);
    suite_add_tcase(s, tc);
    return s;
}
