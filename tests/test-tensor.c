/* SPDX-License-Identifier: MIT */
/* ec2t_tensor: construction, shape, copies, fills, random init, reshape. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor-private.h"
#include "test-common.h"

static ec2t_tensor *
make(ec2t_context *ctx, int32_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int64_t dims[4] = {d0, d1, d2, d3};
    ec2t_tensor *t = NULL;
    ck_assert_ok(ec2t_tensor_new(ctx, rank, dims, &t));
    return t;
}

START_TEST(test_tensor_new_zeroed_aligned)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = make(ctx, 4, 2, 3, 5, 7);
    float *d = ec2t_tensor_data(t);
    ck_assert_int_eq(ec2t_tensor_rank(t), 4);
    ck_assert_int_eq(ec2t_tensor_numel(t), 210);
    ck_assert_int_eq(ec2t_tensor_dim(t, 0), 2);
    ck_assert_int_eq(ec2t_tensor_dim(t, 3), 7);
    ck_assert_int_eq(ec2t_tensor_dim(t, 4), 0);
    ck_assert_int_eq(ec2t_tensor_dim(t, -1), 0);
    ck_assert_uint_eq((uintptr_t)d % EC2T_TENSOR_ALIGN, 0);
    for (int i = 0; i < 210; i++)
        ck_assert(d[i] == 0.0f);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tensor_new_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int64_t dims[5] = {2, 2, 2, 2, 2};
    int64_t zero[2] = {3, 0}, neg[1] = {-1};
    int64_t huge[4] = {INT64_C(1) << 20, INT64_C(1) << 20, INT64_C(1) << 20, 2};
    ec2t_tensor *t = (ec2t_tensor *)&ta;
    ck_assert_status(ec2t_tensor_new(NULL, 1, dims, &t), EC2T_E_INVAL);
    ck_assert_ptr_null(t);
    ck_assert_status(ec2t_tensor_new(ctx, 1, dims, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 1, NULL, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 0, dims, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 5, dims, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, -1, dims, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 2, zero, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 1, neg, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_new(ctx, 4, huge, &t), EC2T_E_INVAL);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(ta.live, 1);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_null_handles)
{
    int64_t dims[4];
    float buf[4];
    size_t needed = 99;
    ec2t_tensor_free(NULL);
    ck_assert_int_eq(ec2t_tensor_rank(NULL), 0);
    ck_assert_int_eq(ec2t_tensor_numel(NULL), 0);
    ck_assert_int_eq(ec2t_tensor_dim(NULL, 0), 0);
    ck_assert_ptr_null(ec2t_tensor_data(NULL));
    ck_assert_status(ec2t_tensor_shape(NULL, dims, 4, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_read(NULL, buf, 4, &needed), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_write(NULL, buf, 4), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_fill(NULL, 1.0f), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_uniform(NULL, 0, 1, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_normal(NULL, 0, 1, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_kaiming(NULL, EC2T_FAN_IN, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_reshape(NULL, 1, dims), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_save_npy(NULL, "x.npy", 0), EC2T_E_INVAL);
}
END_TEST

START_TEST(test_tensor_shape_query)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = make(ctx, 3, 4, 5, 6, 0);
    int64_t dims[4] = {0, 0, 0, 0};
    int32_t rank = 0;
    ck_assert_ok(ec2t_tensor_shape(t, dims, 4, &rank));
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(dims[0], 4);
    ck_assert_int_eq(dims[1], 5);
    ck_assert_int_eq(dims[2], 6);
    rank = 0;
    ck_assert_status(ec2t_tensor_shape(t, dims, 2, &rank), EC2T_E_RANGE);
    ck_assert_int_eq(rank, 3);
    ck_assert_status(ec2t_tensor_shape(t, NULL, 0, &rank), EC2T_E_RANGE);
    ck_assert_status(ec2t_tensor_shape(t, NULL, 3, &rank), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_shape(t, dims, -1, &rank), EC2T_E_INVAL);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_read_write)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = make(ctx, 2, 3, 4, 0, 0);
    float in[12], out[12];
    size_t needed = 0;
    for (int i = 0; i < 12; i++)
        in[i] = (float)i * 0.5f - 2.0f;
    ck_assert_ok(ec2t_tensor_write(t, in, 12));
    ck_assert_ok(ec2t_tensor_read(t, out, 12, &needed));
    ck_assert_uint_eq(needed, 12);
    ck_assert_int_eq(memcmp(in, out, sizeof in), 0);
    /* too small: RANGE, the needed size is reported, nothing is copied */
    memset(out, 0, sizeof out);
    needed = 0;
    ck_assert_status(ec2t_tensor_read(t, out, 11, &needed), EC2T_E_RANGE);
    ck_assert_uint_eq(needed, 12);
    ck_assert(out[0] == 0.0f);
    needed = 0;
    ck_assert_status(ec2t_tensor_read(t, NULL, 0, &needed), EC2T_E_RANGE);
    ck_assert_uint_eq(needed, 12);
    ck_assert_status(ec2t_tensor_read(t, NULL, 12, &needed), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_write(t, in, 11), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_write(t, in, 13), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_write(t, NULL, 12), EC2T_E_INVAL);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_fill)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = make(ctx, 1, 33, 0, 0, 0);
    ck_assert_ok(ec2t_tensor_fill(t, -1.25f));
    for (int i = 0; i < 33; i++)
        ck_assert(ec2t_tensor_data(t)[i] == -1.25f);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
}
END_TEST

static void
moments(const float *v, int64_t n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

START_TEST(test_tensor_init_uniform)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *a = make(ctx, 1, 100000, 0, 0, 0);
    ec2t_tensor *b = make(ctx, 1, 100000, 0, 0, 0);
    double mean, sd;
    float *va = ec2t_tensor_data(a), *vb = ec2t_tensor_data(b);
    ck_assert_ok(ec2t_tensor_init_uniform(a, -2.0f, 3.0f, 11));
    ck_assert_ok(ec2t_tensor_init_uniform(b, -2.0f, 3.0f, 11));
    ck_assert_int_eq(memcmp(va, vb, 100000 * sizeof(float)), 0);
    for (int i = 0; i < 100000; i++)
        ck_assert(va[i] >= -2.0f && va[i] < 3.0f);
    moments(va, 100000, &mean, &sd);
    ck_assert_double_eq_tol(mean, 0.5, 0.02);
    ck_assert_double_eq_tol(sd, 5.0 / sqrt(12.0), 0.02);
    ck_assert_ok(ec2t_tensor_init_uniform(b, -2.0f, 3.0f, 12));
    ck_assert_int_ne(memcmp(va, vb, 100000 * sizeof(float)), 0);
    ck_assert_status(ec2t_tensor_init_uniform(a, 1.0f, 0.0f, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_uniform(a, 0.0f, INFINITY, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_uniform(a, NAN, 1.0f, 1), EC2T_E_INVAL);
    ec2t_tensor_free(a);
    ec2t_tensor_free(b);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_init_normal)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *a = make(ctx, 1, 200000, 0, 0, 0);
    double mean, sd;
    ck_assert_ok(ec2t_tensor_init_normal(a, 1.5f, 0.5f, 3));
    moments(ec2t_tensor_data(a), 200000, &mean, &sd);
    ck_assert_double_eq_tol(mean, 1.5, 0.01);
    ck_assert_double_eq_tol(sd, 0.5, 0.01);
    for (int i = 0; i < 200000; i++)
        ck_assert(isfinite(ec2t_tensor_data(a)[i]));
    ck_assert_status(ec2t_tensor_init_normal(a, 0.0f, -1.0f, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_normal(a, NAN, 1.0f, 1), EC2T_E_INVAL);
    ec2t_tensor_free(a);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_init_kaiming)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *w = make(ctx, 4, 64, 32, 3, 3); /* fan_in 288, fan_out 576 */
    ec2t_tensor *v = make(ctx, 1, 8, 0, 0, 0);
    double mean, sd;
    ck_assert_ok(ec2t_tensor_init_kaiming(w, EC2T_FAN_IN, 5));
    moments(ec2t_tensor_data(w), ec2t_tensor_numel(w), &mean, &sd);
    ck_assert_double_eq_tol(mean, 0.0, 0.003);
    ck_assert_double_eq_tol(sd, sqrt(2.0 / 288.0), 0.002);
    ck_assert_ok(ec2t_tensor_init_kaiming(w, EC2T_FAN_OUT, 5));
    moments(ec2t_tensor_data(w), ec2t_tensor_numel(w), &mean, &sd);
    ck_assert_double_eq_tol(sd, sqrt(2.0 / 576.0), 0.002);
    ck_assert_status(ec2t_tensor_init_kaiming(v, EC2T_FAN_IN, 5), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_init_kaiming(w, (ec2t_fan_mode)7, 5), EC2T_E_INVAL);
    ec2t_tensor_free(w);
    ec2t_tensor_free(v);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_tensor_reshape)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = make(ctx, 2, 6, 4, 0, 0);
    float *before = ec2t_tensor_data(t);
    int64_t d3[3] = {2, 3, 4}, bad[2] = {5, 5}, zero[2] = {0, 24};
    ec2t_tensor_data(t)[23] = 7.0f;
    ck_assert_ok(ec2t_tensor_reshape(t, 3, d3));
    ck_assert_ptr_eq(ec2t_tensor_data(t), before);
    ck_assert_int_eq(ec2t_tensor_rank(t), 3);
    ck_assert_int_eq(ec2t_tensor_dim(t, 2), 4);
    ck_assert(ec2t_tensor_data(t)[23] == 7.0f);
    ck_assert_status(ec2t_tensor_reshape(t, 2, bad), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_reshape(t, 2, zero), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_reshape(t, 5, d3), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_reshape(t, 2, NULL), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_tensor_rank(t), 3);
    /* a tensor another object owns keeps its shape and survives ec2t_tensor_free */
    t->flags |= EC2T__TENSOR_BORROWED;
    ck_assert_status(ec2t_tensor_reshape(t, 3, d3), EC2T_E_STATE);
    ec2t_tensor_free(t);
    ck_assert(ec2t_tensor_data(t)[23] == 7.0f);
    ec2t__tensor_destroy(t);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_add_test(tc, test_tensor_new_zeroed_aligned);
    tcase_add_test(tc, test_tensor_new_bad_args);
    tcase_add_test(tc, test_tensor_null_handles);
    tcase_add_test(tc, test_tensor_shape_query);
    tcase_add_test(tc, test_tensor_read_write);
    tcase_add_test(tc, test_tensor_fill);
    tcase_add_test(tc, test_tensor_init_uniform);
    tcase_add_test(tc, test_tensor_init_normal);
    tcase_add_test(tc, test_tensor_init_kaiming);
    tcase_add_test(tc, test_tensor_reshape);
    suite_add_tcase(s, tc);
    return s;
}
