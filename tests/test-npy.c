/* SPDX-License-Identifier: MIT */
/* NumPy .npy save and load: exact bytes, round trips, and every way a file
 * can be malformed. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test-common.h"

/* A .npy image: 1.0 preamble, the given dict padded to 64 bytes, then data. */
static size_t
build_npy(uint8_t *buf, size_t cap, const char *dict, const void *data, size_t data_len)
{
    size_t dlen = strlen(dict), total = (10 + dlen + 1 + 63) / 64 * 64;
    ck_assert_uint_le(total + data_len, cap);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((total - 10) & 0xff);
    buf[9] = (uint8_t)((total - 10) >> 8);
    memcpy(buf + 10, dict, dlen);
    memset(buf + 10 + dlen, ' ', total - 10 - dlen - 1);
    buf[total - 1] = '\n';
    if (data_len)
        memcpy(buf + total, data, data_len);
    return total + data_len;
}

static ec2t_status
load_mem(ec2t_context *ctx, const uint8_t *buf, size_t len)
{
    ec2t_tensor *t = (ec2t_tensor *)buf;
    ec2t_status st = ec2t_tensor_load_npy_mem(ctx, buf, len, 0, &t);
    if (st != EC2T_OK)
        ck_assert_ptr_null(t);
    ec2t_tensor_free(t);
    return st;
}

START_TEST(test_npy_save_exact_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int64_t dims[2] = {2, 3};
    ec2t_tensor *t = NULL;
    const char *path = test_tmpfile(0, "exact.npy");
    static const char want[] =
        "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    uint8_t buf[256];
    size_t n;
    FILE *f;
    ck_assert_ok(ec2t_tensor_new(ctx, 2, dims, &t));
    ck_assert_ok(ec2t_tensor_fill(t, 1.0f));
    ck_assert_ok(ec2t_tensor_save_npy(t, path, 0));
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, 128 + 24);
    ck_assert_int_eq(memcmp(buf, want, sizeof want - 1), 0);
    ck_assert_int_eq(buf[127], '\n');
    ck_assert_int_eq(buf[126], ' ');
    /* 1.0f little-endian */
    ck_assert_int_eq(memcmp(buf + 128, "\x00\x00\x80\x3f", 4), 0);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_npy_rank1_tuple)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int64_t dims[1] = {5};
    ec2t_tensor *t = NULL;
    const char *path = test_tmpfile(0, "rank1.npy");
    char buf[129];
    FILE *f;
    ck_assert_ok(ec2t_tensor_new(ctx, 1, dims, &t));
    ck_assert_ok(ec2t_tensor_save_npy(t, path, 0));
    f = fopen(path, "rb");
    ck_assert_uint_eq(fread(buf, 1, 128, f), 128);
    fclose(f);
    buf[128] = '\0';
    ck_assert_ptr_nonnull(strstr(buf + 10, "'shape': (5,), }"));
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_npy_round_trip_all_ranks)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static const int64_t shapes[4][4] = {{7}, {3, 5}, {2, 3, 4}, {2, 3, 4, 5}};
    for (int32_t rank = 1; rank <= 4; rank++) {
        ec2t_tensor *a = NULL, *b = NULL, *c = NULL;
        const char *path = test_tmpfile(0, "rt.npy");
        uint8_t *bytes;
        long len;
        FILE *f;
        int64_t dims[4];
        ck_assert_ok(ec2t_tensor_new(ctx, rank, shapes[rank - 1], &a));
        ck_assert_ok(ec2t_tensor_init_normal(a, 0.0f, 10.0f, (uint64_t)rank));
        ec2t_tensor_data(a)[0] = NAN;
        if (ec2t_tensor_numel(a) > 3) {
            ec2t_tensor_data(a)[1] = -INFINITY;
            ec2t_tensor_data(a)[2] = -0.0f;
            ec2t_tensor_data(a)[3] = 1e-45f; /* subnormal */
        }
        ck_assert_ok(ec2t_tensor_save_npy(a, path, 0));
        ck_assert_ok(ec2t_tensor_load_npy(ctx, path, 0, &b));
        ck_assert_int_eq(ec2t_tensor_rank(b), rank);
        ck_assert_ok(ec2t_tensor_shape(b, dims, 4, NULL));
        ck_assert_int_eq(memcmp(dims, shapes[rank - 1], (size_t)rank * 8), 0);
        ck_assert_int_eq(memcmp(ec2t_tensor_data(a), ec2t_tensor_data(b),
                                (size_t)ec2t_tensor_numel(a) * 4), 0);
        /* and the same through the memory loader */
        f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        bytes = malloc((size_t)len);
        ck_assert_uint_eq(fread(bytes, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        ck_assert_int_eq((len - ec2t_tensor_numel(a) * 4) % 64, 0);
        ck_assert_ok(ec2t_tensor_load_npy_mem(ctx, bytes, (size_t)len, 0, &c));
        ck_assert_int_eq(memcmp(ec2t_tensor_data(a), ec2t_tensor_data(c),
                                (size_t)ec2t_tensor_numel(a) * 4), 0);
        free(bytes);
        ec2t_tensor_free(a);
        ec2t_tensor_free(b);
        ec2t_tensor_free(c);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_npy_accepts_variants)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t buf[512];
    float v[6] = {1, 2, 3, 4, 5, 6};
    ec2t_tensor *t = NULL;
    size_t n;
    /* keys in another order, double quotes, no trailing comma, no spaces */
    n = build_npy(buf, sizeof buf, "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}",
                  v, sizeof v);
    ck_assert_ok(ec2t_tensor_load_npy_mem(ctx, buf, n, 0, &t));
    ck_assert_int_eq(ec2t_tensor_dim(t, 1), 3);
    ck_assert(ec2t_tensor_data(t)[5] == 6.0f);
    ec2t_tensor_free(t);
    /* format 2.0: 32-bit header length */
    memcpy(buf, "\x93NUMPY\x02\x00\x74\x00\x00\x00", 12);
    memcpy(buf + 12, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 57);
    memset(buf + 12 + 57, ' ', 128 - 12 - 57 - 1);
    buf[127] = '\n';
    memcpy(buf + 128, v, sizeof v);
    ck_assert_ok(ec2t_tensor_load_npy_mem(ctx, buf, 128 + sizeof v, 0, &t));
    ck_assert_int_eq(ec2t_tensor_numel(t), 6);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_npy_rejects_malformed)
{
    static const struct {
        const char *dict;
        size_t data_len;
        const char *msg;
    } bad[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "dtype"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "scalar"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", 8, "rank"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 0, "absurd"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", 8,
         "absurd"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8,
         "absurd"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, "truncated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8, "trailing"},
        {"{'descr': '<f4', 'shape': (2,), }", 8, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1, }", 8, "unexpected"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
         "repeated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", 8, "integers"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, "tuple"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8, "boolean"},
        {"['descr', '<f4']", 8, "dictionary"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }", 8, "malformed"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, "malformed"},
    };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t buf[1024], data[64];
    memset(data, 0, sizeof data);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = build_npy(buf, sizeof buf, bad[i].dict, data, bad[i].data_len);
        ck_assert_msg(load_mem(ctx, buf, n) == EC2T_E_FORMAT, "case %zu accepted: %s", i,
                      bad[i].dict);
        ck_assert_msg(strstr(ec2t_context_errmsg(ctx), bad[i].msg) != NULL,
                      "case %zu: message '%s' lacks '%s'", i, ec2t_context_errmsg(ctx),
                      bad[i].msg);
        /* the file loader says the same */
        ck_assert_int_eq(ec2t_tensor_load_npy(ctx, test_write_file(1, "bad.npy", buf, n), 0,
                                              &(ec2t_tensor *){NULL}),
                         EC2T_E_FORMAT);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_npy_rejects_bad_preamble)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t buf[256], good[256];
    float v[2] = {1, 2};
    size_t n = build_npy(good, sizeof good, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                         v, sizeof v);
    ck_assert_ok(load_mem(ctx, good, n));
    /* every truncation of a valid file fails cleanly */
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(load_mem(ctx, good, k), EC2T_E_FORMAT);
    memcpy(buf, good, n);
    buf[1] = 'X';
    ck_assert_int_eq(load_mem(ctx, buf, n), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "magic"));
    memcpy(buf, good, n);
    buf[6] = 9;
    ck_assert_int_eq(load_mem(ctx, buf, n), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "version"));
    memcpy(buf, good, n);
    buf[63] = ' '; /* header no longer ends in a newline */
    ck_assert_int_eq(load_mem(ctx, buf, n), EC2T_E_FORMAT);
    memcpy(buf, good, n);
    buf[8] = 0xff; /* header length past the end */
    buf[9] = 0xff;
    ck_assert_int_eq(load_mem(ctx, buf, n), EC2T_E_FORMAT);
    memcpy(buf, good, n);
    buf[6] = 2; /* 2.0 with a huge 32-bit header length */
    buf[8] = buf[9] = buf[10] = buf[11] = 0x7f;
    ck_assert_int_eq(load_mem(ctx, buf, n), EC2T_E_FORMAT);
    ck_assert_int_eq(load_mem(ctx, NULL, 0), EC2T_E_FORMAT);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_npy_bad_args_and_io)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *t = NULL;
    int64_t dims[1] = {3};
    uint8_t byte = 0;
    ck_assert_status(ec2t_tensor_load_npy(NULL, "x", 0, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy(ctx, NULL, 0, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy(ctx, "x", 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy(ctx, "x", 1, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy_mem(NULL, &byte, 1, 0, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy_mem(ctx, NULL, 1, 0, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy_mem(ctx, &byte, 1, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy_mem(ctx, &byte, 1, 2, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_load_npy(ctx, test_tmpfile(0, "missing.npy"), 0, &t), EC2T_E_IO);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "missing.npy"));
    ck_assert_status(ec2t_tensor_load_npy(ctx, test_tmpdir(), 0, &t), EC2T_E_IO);
    ck_assert_ptr_null(t);
    ck_assert_ok(ec2t_tensor_new(ctx, 1, dims, &t));
    ck_assert_status(ec2t_tensor_save_npy(t, NULL, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_save_npy(t, "x.npy", 4), EC2T_E_INVAL);
    ck_assert_status(ec2t_tensor_save_npy(t, "/nonexistent-dir/x.npy", 0), EC2T_E_IO);
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(test_npy_save_is_atomic)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *a = NULL, *b = NULL;
    int64_t dims[1] = {4};
    char sub[4096], target[4200], blocker[4200];
    snprintf(sub, sizeof sub, "%s/atomic", test_tmpdir());
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(target, sizeof target, "%s/w.npy", sub);
    ck_assert_ok(ec2t_tensor_new(ctx, 1, dims, &a));
    ck_assert_ok(ec2t_tensor_fill(a, 2.0f));
    ck_assert_ok(ec2t_tensor_save_npy(a, target, 0));
    ck_assert_ok(ec2t_tensor_fill(a, 3.0f));
    ck_assert_ok(ec2t_tensor_save_npy(a, target, 0)); /* overwrite */
    ck_assert_int_eq(count_entries(sub), 1);            /* no temporary left behind */
    ck_assert_ok(ec2t_tensor_load_npy(ctx, target, 0, &b));
    ck_assert(ec2t_tensor_data(b)[3] == 3.0f);
    ec2t_tensor_free(b);
    /* a failing save (the target is a non-empty folder) leaves nothing behind */
    snprintf(blocker, sizeof blocker, "%s/dir.npy", sub);
    ck_assert_int_eq(mkdir(blocker, 0700), 0);
    snprintf(target, sizeof target, "%s/dir.npy/keep", sub);
    ck_assert_ok(ec2t_tensor_save_npy(a, target, 0));
    ck_assert_status(ec2t_tensor_save_npy(a, blocker, 0), EC2T_E_IO);
    ck_assert_int_eq(count_entries(sub), 2);
    ck_assert_ok(ec2t_tensor_load_npy(ctx, target, 0, &b));
    ec2t_tensor_free(b);
    ec2t_tensor_free(a);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_add_test(tc, test_npy_save_exact_bytes);
    tcase_add_test(tc, test_npy_rank1_tuple);
    tcase_add_test(tc, test_npy_round_trip_all_ranks);
    tcase_add_test(tc, test_npy_accepts_variants);
    tcase_add_test(tc, test_npy_rejects_malformed);
    tcase_add_test(tc, test_npy_rejects_bad_preamble);
    tcase_add_test(tc, test_npy_bad_args_and_io);
    tcase_add_test(tc, test_npy_save_is_atomic);
    suite_add_tcase(s, tc);
    return s;
}
