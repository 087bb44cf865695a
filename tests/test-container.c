/* SPDX-License-Identifier: MIT */
/* The libec2t container (doc/FORMAT.md): round trips of every key type and
 * tensor dtype, the exact bytes of a tiny file, lookups, writer misuse, and
 * every way a file can be malformed or corrupted. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include "test-common.h"

#include "container-private.h"

/* ---- sample contents (static: the writer borrows tensor data) ---- */

static const float sample_f32[24] = {0.5f,  -1.0f, 2.25f, 3.0f,  -0.0f, 1e-45f, 7.0f,  8.0f,
                                     9.0f,  10.0f, 11.0f, 12.0f, 13.0f, 14.0f,  15.0f, 16.0f,
                                     17.0f, 18.0f, 19.0f, 20.0f, 21.0f, 22.0f,  23.0f, 1e30f};
static const uint16_t sample_f16[6] = {0x3c00, 0xbc00, 0x0000, 0x7c00, 0x3555, 0x0001};
static const int8_t sample_i8[5] = {-128, -1, 0, 1, 127};
static const int32_t sample_i32[4] = {INT32_MIN, -1, 0, INT32_MAX};
static const uint8_t sample_u8[3] = {0, 128, 255};
static const int64_t sample_i64[2] = {INT64_MIN, INT64_MAX};
/* 7 weights 0, +1, -1, 0, +1, +1, -1: codes 00 01 11 00 | 01 01 11, LSB first */
static const uint8_t sample_t2b[2] = {0x34, 0x35};
/* the same weights as base-3 digits 0 1 2 0 1 | 1 2 (0 -> 0, +1 -> 1, -1 -> 2) */
static const uint8_t sample_b3[2] = {0 + 1 * 3 + 2 * 9 + 0 * 27 + 1 * 81, 1 + 2 * 3};

static const uint8_t arr_u8[3] = {0, 7, 255};
static const int8_t arr_i8[3] = {-128, 0, 127};
static const uint16_t arr_u16[2] = {0, 65535};
static const int16_t arr_i16[2] = {-32768, 32767};
static const uint32_t arr_u32[3] = {0, 1, 4294967295u};
static const int32_t arr_i32[3] = {INT32_MIN, -5, INT32_MAX};
static const float arr_f32[3] = {1.5f, -0.0f, INFINITY};
static const uint64_t arr_u64[2] = {0, UINT64_MAX};
static const int64_t arr_i64[2] = {INT64_MIN, INT64_MAX};
static const double arr_f64[3] = {3.141592653589793, -1e300, 5e-324};
static const uint8_t arr_bool[4] = {1, 0, 0, 1};
static const char *const arr_str[3] = {"conv1", "", "caf\xc3\xa9"};

typedef struct sample_tensor {
    const char *name;
    ec2t__dtype dtype;
    int32_t ndim;
    int64_t dims[4];
    const void *data;
    uint64_t nbytes;
} sample_tensor;

static const sample_tensor sample_tensors[] = {
    {"layers.0.conv.weight", EC2T__DT_F32, 4, {2, 1, 2, 3}, sample_f32, 48},
    {"layers.0.bn.running_var", EC2T__DT_F32, 1, {5}, sample_f32, 20},
    {"dense.weight", EC2T__DT_F32, 2, {2, 3}, sample_f32 + 6, 24},
    {"cube", EC2T__DT_F32, 3, {2, 3, 4}, sample_f32, 96},
    {"half", EC2T__DT_F16, 2, {3, 2}, sample_f16, 12},
    {"bytes.i8", EC2T__DT_I8, 1, {5}, sample_i8, 5},
    {"ints", EC2T__DT_I32, 2, {2, 2}, sample_i32, 16},
    {"stream", EC2T__DT_U8, 1, {3}, sample_u8, 3},
    {"longs", EC2T__DT_I64, 1, {2}, sample_i64, 16},
    {"tern.2b", EC2T__DT_TERNARY_2B, 2, {1, 7}, sample_t2b, 2},
    {"tern.b3", EC2T__DT_TERNARY_B3, 1, {7}, sample_b3, 2},
};
#define N_SAMPLE_TENSORS (sizeof sample_tensors / sizeof sample_tensors[0])

/* Every key type, and every tensor of sample_tensors. */
static ec2t_status
add_sample(ec2t__cwriter *w)
{
    ec2t_status st = EC2T_OK;
    if (st == EC2T_OK) st = ec2t__cw_add_u32(w, "k.u32", 4000000000u);
    if (st == EC2T_OK) st = ec2t__cw_add_i32(w, "k.i32", -123456);
    if (st == EC2T_OK) st = ec2t__cw_add_u64(w, "k.u64", UINT64_MAX - 1);
    if (st == EC2T_OK) st = ec2t__cw_add_i64(w, "k.i64", INT64_MIN + 1);
    if (st == EC2T_OK) st = ec2t__cw_add_f32(w, "k.f32", -2.5f);
    if (st == EC2T_OK) st = ec2t__cw_add_f64(w, "k.f64", 1.0 / 3.0);
    if (st == EC2T_OK) st = ec2t__cw_add_bool(w, "k.true", 42);
    if (st == EC2T_OK) st = ec2t__cw_add_bool(w, "k.false", 0);
    if (st == EC2T_OK) st = ec2t__cw_add_str(w, "k.str", "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac");
    if (st == EC2T_OK) st = ec2t__cw_add_str(w, "k.empty", "");
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.u8", EC2T__KV_U8, arr_u8, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.i8", EC2T__KV_I8, arr_i8, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.u16", EC2T__KV_U16, arr_u16, 2);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.i16", EC2T__KV_I16, arr_i16, 2);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.u32", EC2T__KV_U32, arr_u32, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.i32", EC2T__KV_I32, arr_i32, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.f32", EC2T__KV_F32, arr_f32, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.u64", EC2T__KV_U64, arr_u64, 2);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.i64", EC2T__KV_I64, arr_i64, 2);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.f64", EC2T__KV_F64, arr_f64, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.bool", EC2T__KV_BOOL, arr_bool, 4);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.str", EC2T__KV_STRING, arr_str, 3);
    if (st == EC2T_OK) st = ec2t__cw_add_array(w, "a.empty", EC2T__KV_F32, NULL, 0);
    for (size_t i = 0; i < N_SAMPLE_TENSORS && st == EC2T_OK; i++) {
        const sample_tensor *t = &sample_tensors[i];
        st = ec2t__cw_add_tensor(w, t->name, t->dtype, t->ndim, t->dims, t->data, t->nbytes);
    }
    return st;
}

/* A new writer holding the sample; NULL and the status on failure. */
static ec2t_status
build_sample(ec2t_context *ctx, ec2t__cwriter **out)
{
    ec2t_status st = ec2t__cw_new(ctx, out);
    if (st == EC2T_OK)
        st = add_sample(*out);
    if (st != EC2T_OK) {
        ec2t__cw_free(*out);
        *out = NULL;
    }
    return st;
}

/* The sample's data as the file must hold it (little-endian). */
static void
expect_le_bytes(const sample_tensor *s, const uint8_t *got)
{
    size_t width = s->dtype == EC2T__DT_F32 || s->dtype == EC2T__DT_I32 ? 4
                   : s->dtype == EC2T__DT_F16                          ? 2
                   : s->dtype == EC2T__DT_I64                          ? 8
                                                                       : 1;
    const uint8_t *src = s->data;
    for (uint64_t i = 0; i < s->nbytes; i += width) {
        uint64_t v = 0, file = 0;
        uint16_t h16;
        uint32_t h32;
        switch (width) {
        case 1:
            v = src[i];
            break;
        case 2:
            memcpy(&h16, src + i, 2);
            v = h16;
            break;
        case 4:
            memcpy(&h32, src + i, 4);
            v = h32;
            break;
        default:
            memcpy(&v, src + i, 8);
            break;
        }
        for (size_t b = 0; b < width; b++)
            file |= (uint64_t)got[i + b] << (8 * b);
        ck_assert_msg(v == file, "tensor '%s' byte %llu is not little-endian", s->name,
                      (unsigned long long)i);
    }
}

static void
check_sample_keys(const ec2t__creader *r)
{
    uint32_t u32;
    int32_t i32;
    uint64_t u64, n;
    int64_t i64;
    float f32, fa[3];
    double f64, da[3];
    int b;
    const char *s, *sa[3];
    uint8_t u8a[3], ba[4];
    int8_t i8a[3];
    uint16_t u16a[2];
    int16_t i16a[2];
    uint32_t u32a[3];
    int32_t i32a[3];
    uint64_t u64a[2];
    int64_t i64a[2];

    ck_assert_ok(ec2t__cr_get_u32(r, "k.u32", &u32));
    ck_assert_uint_eq(u32, 4000000000u);
    ck_assert_ok(ec2t__cr_get_i32(r, "k.i32", &i32));
    ck_assert_int_eq(i32, -123456);
    ck_assert_ok(ec2t__cr_get_u64(r, "k.u64", &u64));
    ck_assert(u64 == UINT64_MAX - 1);
    ck_assert_ok(ec2t__cr_get_i64(r, "k.i64", &i64));
    ck_assert(i64 == INT64_MIN + 1);
    ck_assert_ok(ec2t__cr_get_f32(r, "k.f32", &f32));
    ck_assert(f32 == -2.5f);
    ck_assert_ok(ec2t__cr_get_f64(r, "k.f64", &f64));
    ck_assert(f64 == 1.0 / 3.0);
    ck_assert_ok(ec2t__cr_get_bool(r, "k.true", &b));
    ck_assert_int_eq(b, 1);
    ck_assert_ok(ec2t__cr_get_bool(r, "k.false", &b));
    ck_assert_int_eq(b, 0);
    ck_assert_ok(ec2t__cr_get_str(r, "k.str", &s));
    ck_assert_str_eq(s, "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac");
    ck_assert_ok(ec2t__cr_get_str(r, "k.empty", &s));
    ck_assert_str_eq(s, "");

    ck_assert_ok(ec2t__cr_get_array(r, "a.u8", EC2T__KV_U8, u8a, 3, &n));
    ck_assert(n == 3 && memcmp(u8a, arr_u8, sizeof u8a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.i8", EC2T__KV_I8, i8a, 3, &n));
    ck_assert(n == 3 && memcmp(i8a, arr_i8, sizeof i8a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.u16", EC2T__KV_U16, u16a, 2, &n));
    ck_assert(n == 2 && memcmp(u16a, arr_u16, sizeof u16a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.i16", EC2T__KV_I16, i16a, 2, &n));
    ck_assert(n == 2 && memcmp(i16a, arr_i16, sizeof i16a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.u32", EC2T__KV_U32, u32a, 3, &n));
    ck_assert(n == 3 && memcmp(u32a, arr_u32, sizeof u32a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.i32", EC2T__KV_I32, i32a, 3, &n));
    ck_assert(n == 3 && memcmp(i32a, arr_i32, sizeof i32a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.f32", EC2T__KV_F32, fa, 3, &n));
    ck_assert(n == 3 && memcmp(fa, arr_f32, sizeof fa) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.u64", EC2T__KV_U64, u64a, 2, &n));
    ck_assert(n == 2 && memcmp(u64a, arr_u64, sizeof u64a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.i64", EC2T__KV_I64, i64a, 2, &n));
    ck_assert(n == 2 && memcmp(i64a, arr_i64, sizeof i64a) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.f64", EC2T__KV_F64, da, 3, &n));
    ck_assert(n == 3 && memcmp(da, arr_f64, sizeof da) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.bool", EC2T__KV_BOOL, ba, 4, &n));
    ck_assert(n == 4 && memcmp(ba, arr_bool, sizeof ba) == 0);
    ck_assert_ok(ec2t__cr_get_array(r, "a.str", EC2T__KV_STRING, sa, 3, &n));
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(sa[i], arr_str[i]);
    n = 99;
    ck_assert_ok(ec2t__cr_get_array(r, "a.empty", EC2T__KV_F32, NULL, 0, &n));
    ck_assert_uint_eq(n, 0);
}

static void
check_sample_tensors(const ec2t__creader *r)
{
    float f[24];
    ck_assert_uint_eq(ec2t__cr_tensor_count(r), N_SAMPLE_TENSORS);
    ck_assert_ptr_null(ec2t__cr_tensor_at(r, N_SAMPLE_TENSORS));
    for (size_t i = 0; i < N_SAMPLE_TENSORS; i++) {
        const sample_tensor *s = &sample_tensors[i];
        const ec2t__ctensor *t = ec2t__cr_tensor_at(r, i);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->name, s->name); /* in the order added */
        ck_assert_ptr_eq(ec2t__cr_find_tensor(r, s->name), t);
        ck_assert_int_eq(t->dtype, s->dtype);
        ck_assert_int_eq(t->ndim, s->ndim);
        ck_assert_int_eq(memcmp(t->dims, s->dims, (size_t)s->ndim * 8), 0);
        ck_assert_uint_eq(t->nbytes, s->nbytes);
        ck_assert_uint_eq((uintptr_t)t->data % EC2T__CONTAINER_ALIGN, 0);
        expect_le_bytes(s, t->data);
        if (s->dtype == EC2T__DT_F32) {
            ck_assert_ok(ec2t__cr_read_f32(r, s->name, s->ndim, s->dims, f));
            ck_assert_int_eq(memcmp(f, s->data, s->nbytes), 0);
        }
    }
    ck_assert_ptr_null(ec2t__cr_find_tensor(r, "nope"));
}

/* The whole file of a writer, in a malloc'd buffer. */
static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

START_TEST(test_container_round_trip_mem)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    uint8_t *buf = NULL, *copy;
    size_t len = 0;
    ck_assert_ok(build_sample(ctx, &w));
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, &len));
    ck_assert_uint_eq((uintptr_t)buf % 64, 0);
    /* the reader copies: the caller's buffer may go away */
    copy = malloc(len);
    memcpy(copy, buf, len);
    ck_assert_ok(ec2t__cr_open_mem(ctx, copy, len, "sample", &r));
    memset(copy, 0xff, len);
    free(copy);
    ck_assert_str_eq(ec2t__cr_what(r), "sample");
    check_sample_keys(r);
    check_sample_tensors(r);
    ec2t__cr_free(r);
    ec2t__free(ctx, buf);
    ec2t__cw_free(w);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_round_trip_file)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    const char *path = test_tmpfile(0, "sample.ec2t");
    uint8_t *mem = NULL, *file;
    size_t mem_len = 0, file_len;
    ck_assert_ok(build_sample(ctx, &w));
    ck_assert_ok(ec2t__cw_write_file(w, path));
    ck_assert_ok(ec2t__cw_write_mem(w, &mem, &mem_len));
    /* writing twice gives the same bytes, on disk and in memory */
    file = slurp(path, &file_len);
    ck_assert_uint_eq(file_len, mem_len);
    ck_assert_int_eq(memcmp(file, mem, mem_len), 0);
    free(file);
    ec2t__cw_free(w); /* the reader needs nothing from the writer */
    ck_assert_ok(ec2t__cr_open_file(ctx, path, &r));
    ck_assert_str_eq(ec2t__cr_what(r), path);
    check_sample_keys(r);
    check_sample_tensors(r);
    ec2t__cr_free(r);
    ec2t__free(ctx, mem);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

START_TEST(test_container_exact_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    static const float t_data[6] = {1, 2, 3, 4, 5, 6};
    static const uint8_t u_data[3] = {9, 8, 7};
    int64_t t_dims[2] = {2, 3}, u_dims[1] = {3};
    uint8_t *b = NULL;
    size_t len = 0, p;
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_u32(w, "a", 7));
    ck_assert_ok(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 2, t_dims, t_data, 24));
    ck_assert_ok(ec2t__cw_add_tensor(w, "u", EC2T__DT_U8, 1, u_dims, u_data, 3));
    ck_assert_ok(ec2t__cw_write_mem(w, &b, &len));
    /* fixed header */
    ck_assert_int_eq(memcmp(b, "\x45\x43\x32\x54", 4), 0);
    ck_assert_uint_eq(rd32(b + 4), 1);
    ck_assert_uint_eq(rd64(b + 8), 2); /* tensors */
    ck_assert_uint_eq(rd64(b + 16), 1); /* keys */
    /* key "a": u64 length, bytes, u32 type 4 (u32), value */
    ck_assert_uint_eq(rd64(b + 24), 1);
    ck_assert_int_eq(b[32], 'a');
    ck_assert_uint_eq(rd32(b + 33), 4);
    ck_assert_uint_eq(rd32(b + 37), 7);
    /* tensor "t": dims innermost first (3, 2), dtype 0, offset 0, 24 bytes, CRC */
    p = 41;
    ck_assert_uint_eq(rd64(b + p), 1);
    ck_assert_int_eq(b[p + 8], 't');
    ck_assert_uint_eq(rd32(b + p + 9), 2);
    ck_assert_uint_eq(rd64(b + p + 13), 3);
    ck_assert_uint_eq(rd64(b + p + 21), 2);
    ck_assert_uint_eq(rd32(b + p + 29), 0);
    ck_assert_uint_eq(rd64(b + p + 33), 0);
    ck_assert_uint_eq(rd64(b + p + 41), 24);
    ck_assert_uint_eq(rd32(b + p + 49), (uint32_t)crc32(0, (const Bytef *)t_data, 24));
    /* tensor "u": one extent, dtype 4, at the next multiple of 64 */
    p += 53;
    ck_assert_uint_eq(rd64(b + p), 1);
    ck_assert_int_eq(b[p + 8], 'u');
    ck_assert_uint_eq(rd32(b + p + 9), 1);
    ck_assert_uint_eq(rd64(b + p + 13), 3);
    ck_assert_uint_eq(rd32(b + p + 21), 4);
    ck_assert_uint_eq(rd64(b + p + 25), 64);
    ck_assert_uint_eq(rd64(b + p + 33), 3);
    ck_assert_uint_eq(rd32(b + p + 41), (uint32_t)crc32(0, u_data, 3));
    p += 45;
    /* header checksum over every byte before it */
    ck_assert_uint_eq(p, 139);
    ck_assert_uint_eq(rd32(b + p), (uint32_t)crc32(0, b, (uInt)p));
    /* zero padding to 192, the data section: t, zeros, u; the file ends after u */
    for (size_t i = p + 4; i < 192; i++)
        ck_assert_int_eq(b[i], 0);
    ck_assert_int_eq(memcmp(b + 192, "\x00\x00\x80\x3f\x00\x00\x00\x40", 8), 0); /* 1.0f, 2.0f */
    for (size_t i = 192 + 24; i < 192 + 64; i++)
        ck_assert_int_eq(b[i], 0);
    ck_assert_int_eq(memcmp(b + 256, u_data, 3), 0);
    ck_assert_uint_eq(len, 259);
    ec2t__free(ctx, b);
    ec2t__cw_free(w);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_empty_and_alignment_key)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    static const uint8_t d[5] = {1, 2, 3, 4, 5};
    int64_t dims[1] = {5};
    uint32_t align;
    uint8_t *b = NULL;
    size_t len = 0;
    /* no keys, no tensors: 24 bytes and the checksum */
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_write_mem(w, &b, &len));
    ck_assert_uint_eq(len, 28);
    ck_assert_ok(ec2t__cr_open_mem(ctx, b, len, NULL, &r));
    ck_assert_uint_eq(ec2t__cr_tensor_count(r), 0);
    ck_assert_ptr_null(ec2t__cr_tensor_at(r, 0));
    ck_assert_ptr_null(ec2t__cr_find_tensor(r, "x"));
    ck_assert(!ec2t__cr_has_key(r, "x"));
    ec2t__cr_free(r);
    ec2t__free(ctx, b);
    ec2t__cw_free(w);
    /* general.alignment 4096: the data section and every offset follow it */
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_u32(w, "general.alignment", 4096));
    ck_assert_ok(ec2t__cw_add_tensor(w, "a", EC2T__DT_U8, 1, dims, d, 5));
    ck_assert_ok(ec2t__cw_add_tensor(w, "b", EC2T__DT_U8, 1, dims, d, 5));
    ck_assert_ok(ec2t__cw_write_mem(w, &b, &len));
    ck_assert_uint_eq(len, 4096 + 4096 + 5);
    ck_assert_ok(ec2t__cr_open_mem(ctx, b, len, "aligned", &r));
    ck_assert_ok(ec2t__cr_get_u32(r, "general.alignment", &align));
    ck_assert_uint_eq(align, 4096);
    ck_assert_ptr_eq(ec2t__cr_find_tensor(r, "b")->data, ec2t__cr_find_tensor(r, "a")->data + 4096);
    ec2t__cr_free(r);
    ec2t__free(ctx, b);
    ec2t__cw_free(w);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- crafted files ---- */

typedef struct craft {
    uint8_t b[16384];
    size_t n;
} craft;

static void
c_bytes(craft *c, const void *p, size_t n)
{
    ck_assert_uint_le(c->n + n, sizeof c->b);
    for (size_t i = 0; i < n; i++) /* p may be NULL when n is 0 */
        c->b[c->n + i] = ((const uint8_t *)p)[i];
    c->n += n;
}

static void
c_u32(craft *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    c_bytes(c, b, 4);
}

static void
c_u64(craft *c, uint64_t v)
{
    c_u32(c, (uint32_t)v);
    c_u32(c, (uint32_t)(v >> 32));
}

/* A u64 length and the bytes (which may hold NULs: n is explicit). */
static void
c_text(craft *c, const char *s, size_t n)
{
    c_u64(c, n);
    c_bytes(c, s, n);
}

static void
c_str(craft *c, const char *s)
{
    c_text(c, s, strlen(s));
}

static void
c_begin(craft *c, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    c->n = 0;
    c_bytes(c, "EC2T", 4);
    c_u32(c, version);
    c_u64(c, n_tensors);
    c_u64(c, n_kv);
}

/* A key holding a u32. */
static void
c_kv_u32(craft *c, const char *key, uint32_t v)
{
    c_str(c, key);
    c_u32(c, EC2T__KV_U32);
    c_u32(c, v);
}

/* A tensor info with dims innermost first; crc of data_sec + offset if data_sec is given. */
static void
c_tensor(craft *c, const char *name, uint32_t ndim, const uint64_t *dims, uint32_t dtype,
         uint64_t offset, uint64_t nbytes, const uint8_t *data_sec)
{
    c_str(c, name);
    c_u32(c, ndim);
    for (uint32_t i = 0; i < ndim; i++)
        c_u64(c, dims[i]);
    c_u32(c, dtype);
    c_u64(c, offset);
    c_u64(c, nbytes);
    c_u32(c, data_sec ? (uint32_t)crc32(0, data_sec + offset, (uInt)nbytes) : 0);
}

/* The header checksum, zero padding to 64, then the data section. */
static void
c_end(craft *c, const uint8_t *data_sec, size_t data_len)
{
    c_u32(c, (uint32_t)crc32(0, c->b, (uInt)c->n));
    while (c->n % 64)
        c->b[c->n++] = 0;
    c_bytes(c, data_sec, data_len);
}

/* An allocator that remembers the largest request, to show that no
 * allocation is sized by a count or length the file cannot back. */
typedef struct big_alloc {
    test_alloc ta;
    size_t max_size;
} big_alloc;

static void *
big_alloc_fn(void *user, size_t size, size_t align)
{
    big_alloc *b = user;
    if (size > b->max_size)
        b->max_size = size;
    return test_alloc_fn(&b->ta, size, align);
}

static void
big_release_fn(void *user, void *ptr)
{
    big_alloc *b = user;
    test_release_fn(&b->ta, ptr);
}

/* Open crafted bytes; on failure the reader stays NULL, nothing leaks and no
 * allocation exceeded 8 bytes per file byte (plus a little). */
static ec2t_status
open_crafted(const uint8_t *buf, size_t len, const char *expect_in_msg)
{
    big_alloc ba;
    ec2t_context *ctx = NULL;
    ec2t__creader *r = (ec2t__creader *)&ba;
    ec2t_status st;
    memset(&ba, 0, sizeof ba);
    ba.ta.fail_at = -1;
    ck_assert_ok(ec2t_context_new_with_allocator(big_alloc_fn, big_release_fn, &ba, &ctx));
    st = ec2t__cr_open_mem(ctx, buf, len, "crafted", &r);
    if (st != EC2T_OK) {
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(ec2t_context_errmsg(ctx), "crafted") != NULL,
                      "message does not name the file: %s", ec2t_context_errmsg(ctx));
        if (expect_in_msg)
            ck_assert_msg(strstr(ec2t_context_errmsg(ctx), expect_in_msg) != NULL,
                          "message lacks '%s': %s", expect_in_msg, ec2t_context_errmsg(ctx));
    }
    ec2t__cr_free(r);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ba.ta.live, 0);
    ck_assert_msg(ba.max_size <= 8 * len + 1024, "an allocation of %zu bytes for a %zu-byte file",
                  ba.max_size, len);
    return st;
}

#define ck_assert_crafted(c, want, msg) ck_assert_status(open_crafted((c)->b, (c)->n, msg), want)

START_TEST(test_container_unknown_keys_ignored)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__creader *r = NULL;
    craft c;
    uint32_t v;
    /* keys of every scalar type the writer never makes, among known ones */
    c_begin(&c, 1, 0, 7);
    c_str(&c, "vendor.u8");
    c_u32(&c, EC2T__KV_U8);
    c_bytes(&c, "\x05", 1);
    c_str(&c, "vendor.i16");
    c_u32(&c, EC2T__KV_I16);
    c_bytes(&c, "\xff\xff", 2);
    c_kv_u32(&c, "my.count", 42);
    c_str(&c, "vendor.u16s");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_U16);
    c_u64(&c, 2);
    c_bytes(&c, "\x01\x00\x02\x00", 4);
    c_str(&c, "vendor.i8");
    c_u32(&c, EC2T__KV_I8);
    c_bytes(&c, "\x80", 1);
    c_str(&c, "vendor.names");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, 2);
    c_str(&c, "x");
    c_str(&c, "yz");
    c_str(&c, "vendor.note");
    c_u32(&c, EC2T__KV_STRING);
    c_str(&c, "hello");
    c_end(&c, NULL, 0);
    ck_assert_ok(ec2t__cr_open_mem(ctx, c.b, c.n, "unknown", &r));
    ck_assert_ok(ec2t__cr_get_u32(r, "my.count", &v));
    ck_assert_uint_eq(v, 42);
    ck_assert(ec2t__cr_has_key(r, "vendor.u8"));
    ck_assert(!ec2t__cr_has_key(r, "vendor"));
    ck_assert(!ec2t__cr_has_key(r, NULL));
    ec2t__cr_free(r);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static void
assert_msg_has(ec2t_context *ctx, const char *what)
{
    ck_assert_msg(strstr(ec2t_context_errmsg(ctx), what) != NULL, "message lacks '%s': %s", what,
                  ec2t_context_errmsg(ctx));
}

START_TEST(test_container_lookup_errors_name_the_key)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    uint8_t *b = NULL;
    size_t len = 0;
    uint32_t u32;
    uint64_t u64, n = 0;
    float f[24];
    int64_t wrong_dims[3] = {2, 4, 3}, dims[3] = {2, 3, 4};
    const char *s;
    int bv;
    ck_assert_ok(build_sample(ctx, &w));
    ck_assert_ok(ec2t__cw_write_mem(w, &b, &len));
    ck_assert_ok(ec2t__cr_open_mem(ctx, b, len, "lookups", &r));
    ck_assert_status(ec2t__cr_get_u32(r, "no.such.key", &u32), EC2T_E_FORMAT);
    assert_msg_has(ctx, "no.such.key");
    assert_msg_has(ctx, "lookups");
    ck_assert_status(ec2t__cr_get_u64(r, "k.u32", &u64), EC2T_E_FORMAT);
    assert_msg_has(ctx, "k.u32");
    ck_assert_status(ec2t__cr_get_u32(r, "k.i32", &u32), EC2T_E_FORMAT);
    assert_msg_has(ctx, "k.i32");
    ck_assert_status(ec2t__cr_get_str(r, "a.str", &s), EC2T_E_FORMAT);
    assert_msg_has(ctx, "a.str");
    ck_assert_status(ec2t__cr_get_bool(r, "k.str", &bv), EC2T_E_FORMAT);
    assert_msg_has(ctx, "k.str");
    ck_assert_status(ec2t__cr_get_array(r, "k.u32", EC2T__KV_U32, &u32, 1, &n), EC2T_E_FORMAT);
    assert_msg_has(ctx, "k.u32");
    ck_assert_status(ec2t__cr_get_array(r, "a.u32", EC2T__KV_I32, f, 3, &n), EC2T_E_FORMAT);
    assert_msg_has(ctx, "a.u32");
    /* too small: the length is reported, nothing copied */
    ck_assert_status(ec2t__cr_get_array(r, "a.f32", EC2T__KV_F32, f, 2, &n), EC2T_E_FORMAT);
    ck_assert_uint_eq(n, 3);
    assert_msg_has(ctx, "a.f32");
    ck_assert_status(ec2t__cr_get_array(r, "a.f32", EC2T__KV_F32, NULL, 0, &n), EC2T_E_FORMAT);
    ck_assert_uint_eq(n, 3);
    /* tensors */
    ck_assert_status(ec2t__cr_read_f32(r, "missing.weight", 3, dims, f), EC2T_E_FORMAT);
    assert_msg_has(ctx, "missing.weight");
    ck_assert_status(ec2t__cr_read_f32(r, "cube", 3, wrong_dims, f), EC2T_E_FORMAT);
    assert_msg_has(ctx, "cube");
    assert_msg_has(ctx, "(2, 3, 4)");
    ck_assert_status(ec2t__cr_read_f32(r, "cube", 2, dims, f), EC2T_E_FORMAT);
    ck_assert_status(ec2t__cr_read_f32(r, "ints", 2, (const int64_t[]){2, 2}, f), EC2T_E_FORMAT);
    assert_msg_has(ctx, "ints");
    /* NULL arguments */
    ck_assert_status(ec2t__cr_get_u32(NULL, "k.u32", &u32), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_get_u32(r, NULL, &u32), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_get_u32(r, "k.u32", NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_get_str(r, "k.str", NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_get_array(r, "a.f32", EC2T__KV_F32, NULL, 3, &n), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_read_f32(r, "cube", 3, dims, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_read_f32(NULL, "cube", 3, dims, f), EC2T_E_INVAL);
    ck_assert_uint_eq(ec2t__cr_tensor_count(NULL), 0);
    ck_assert_ptr_null(ec2t__cr_tensor_at(NULL, 0));
    ck_assert_ptr_null(ec2t__cr_find_tensor(NULL, "cube"));
    ck_assert_ptr_null(ec2t__cr_find_tensor(r, NULL));
    ck_assert_str_eq(ec2t__cr_what(NULL), "");
    ec2t__cr_free(NULL);
    ec2t__cr_free(r);
    ec2t__free(ctx, b);
    ec2t__cw_free(w);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_writer_rejects_duplicates)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    static const float d[2] = {1, 2};
    int64_t dims[1] = {2};
    uint8_t *b = NULL;
    size_t len = 0;
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_u32(w, "x.key", 1));
    ck_assert_status(ec2t__cw_add_u32(w, "x.key", 2), EC2T_E_INVAL);
    assert_msg_has(ctx, "x.key");
    ck_assert_status(ec2t__cw_add_str(w, "x.key", "other type"), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_array(w, "x.key", EC2T__KV_F32, d, 2), EC2T_E_INVAL);
    ck_assert_ok(ec2t__cw_add_tensor(w, "w", EC2T__DT_F32, 1, dims, d, 8));
    ck_assert_status(ec2t__cw_add_tensor(w, "w", EC2T__DT_F32, 1, dims, d, 8), EC2T_E_INVAL);
    assert_msg_has(ctx, "'w'");
    /* a key may share a tensor's name: they are separate namespaces */
    ck_assert_ok(ec2t__cw_add_bool(w, "w", 1));
    /* the failed calls left nothing behind */
    ck_assert_ok(ec2t__cw_write_mem(w, &b, &len));
    ck_assert_uint_eq(rd64(b + 8), 1);
    ck_assert_uint_eq(rd64(b + 16), 2);
    ec2t__free(ctx, b);
    ec2t__cw_free(w);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_writer_rejects_bad_input)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL;
    static const float d[4] = {1, 2, 3, 4};
    static const uint8_t bad_2b[1] = {0x02};   /* code 10 */
    static const uint8_t pad_2b[1] = {0x40};   /* 3 weights, fourth code not 00 */
    static const uint8_t bad_b3[1] = {243};
    static const uint8_t pad_b3[1] = {27};     /* 3 weights, fourth trit not 0 */
    static const uint8_t bools[2] = {1, 2};
    static const char *const strs[2] = {"ok", "\xff"};
    int64_t dims[5] = {2, 2, 1, 1, 1}, zero[1] = {0}, neg[1] = {-4}, three[1] = {3};
    int64_t huge[2] = {INT64_C(1) << 21, INT64_C(1) << 20};
    char long_key[300];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    /* keys */
    ck_assert_status(ec2t__cw_add_u32(w, "", 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_u32(w, NULL, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_u32(w, long_key, 1), EC2T_E_INVAL);
    long_key[255] = '\0';
    ck_assert_ok(ec2t__cw_add_u32(w, long_key, 1)); /* 255 bytes is fine */
    ck_assert_status(ec2t__cw_add_u32(w, "bad\xc3", 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_str(w, "s", NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_str(w, "s", "\xed\xa0\x80"), EC2T_E_INVAL); /* a surrogate */
    ck_assert_status(ec2t__cw_add_array(w, "a", EC2T__KV_BOOL, bools, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_array(w, "a", EC2T__KV_STRING, strs, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_array(w, "a", EC2T__KV_ARRAY, d, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_array(w, "a", (ec2t__kv_type)13, d, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_array(w, "a", EC2T__KV_F32, NULL, 1), EC2T_E_INVAL);
    /* general.alignment is a u32 power of two in 64..65536 */
    ck_assert_status(ec2t__cw_add_u64(w, "general.alignment", 64), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_u32(w, "general.alignment", 32), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_u32(w, "general.alignment", 96), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_u32(w, "general.alignment", 131072), EC2T_E_INVAL);
    /* tensors */
    ck_assert_status(ec2t__cw_add_tensor(w, "", EC2T__DT_F32, 2, dims, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 0, dims, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 5, dims, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 2, NULL, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 2, dims, NULL, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 1, zero, d, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 1, neg, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_U8, 2, huge, d, 4), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 2, dims, d, 12), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", (ec2t__dtype)6, 2, dims, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_TERNARY_2B, 1, three, bad_2b, 1),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_TERNARY_2B, 1, three, pad_2b, 1),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_TERNARY_B3, 1, three, bad_b3, 1),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(w, "t", EC2T__DT_TERNARY_B3, 1, three, pad_b3, 1),
                     EC2T_E_INVAL);
    ck_assert_ok(ec2t__cw_add_tensor(w, "t", EC2T__DT_F32, 2, dims, d, 16));
    /* NULL handles and outputs */
    ck_assert_status(ec2t__cw_add_u32(NULL, "k", 1), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_add_tensor(NULL, "t", EC2T__DT_F32, 2, dims, d, 16), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_write_mem(w, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_write_mem(NULL, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_write_file(w, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_write_file(NULL, "x"), EC2T_E_INVAL);
    ec2t__cw_free(w);
    ck_assert_status(ec2t__cw_new(ctx, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cw_new(NULL, &w), EC2T_E_INVAL);
    ck_assert_ptr_null(w);
    ec2t__cw_free(NULL);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A small valid file for the corruption tests: keys of several kinds and
 * three tensors. With long_key, a first key of 300 bytes makes the header
 * much longer than the minimum its counts need, so that cuts reach the
 * checks of every later field instead of the early size check. */
static uint8_t *
small_file(ec2t_context *ctx, int long_key, size_t *len)
{
    char text[301];
    static const float d[3] = {1, -2, 3};
    static const uint8_t t2b[2] = {0x1d, 0x01}; /* +1 -1 +1 0 | +1 */
    static const uint8_t u8[3] = {7, 0, 200};
    int64_t dims[1] = {3}, five[1] = {5};
    ec2t__cwriter *w = NULL;
    uint8_t *b = NULL;
    memset(text, 'x', 300);
    text[300] = '\0';
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    if (long_key)
        ck_assert_ok(ec2t__cw_add_str(w, "long", text));
    ck_assert_ok(ec2t__cw_add_u32(w, "n", 3));
    ck_assert_ok(ec2t__cw_add_array(w, "s", EC2T__KV_STRING, (const char *const[]){"ab"}, 1));
    ck_assert_ok(ec2t__cw_add_array(w, "u", EC2T__KV_U16, (const uint16_t[]){1, 2}, 2));
    ck_assert_ok(ec2t__cw_add_str(w, "t", "cd"));
    ck_assert_ok(ec2t__cw_add_tensor(w, "a", EC2T__DT_F32, 1, dims, d, 12));
    ck_assert_ok(ec2t__cw_add_tensor(w, "b", EC2T__DT_TERNARY_2B, 1, five, t2b, 2));
    ck_assert_ok(ec2t__cw_add_tensor(w, "c", EC2T__DT_U8, 1, dims, u8, 3));
    ck_assert_ok(ec2t__cw_write_mem(w, &b, len));
    ec2t__cw_free(w);
    return b;
}

START_TEST(test_container_rejects_every_truncation)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__creader *r = NULL;
    for (int long_key = 0; long_key < 2; long_key++) {
        size_t len = 0;
        uint8_t *b = small_file(ctx, long_key, &len);
        ck_assert_ok(ec2t__cr_open_mem(ctx, b, len, "small", &r));
        ec2t__cr_free(r);
        for (size_t n = 0; n < len; n++) {
            ck_assert_msg(ec2t__cr_open_mem(ctx, b, n, "cut", &r) == EC2T_E_FORMAT,
                          "a file cut to %zu of %zu bytes: %s", n, len, ec2t_context_errmsg(ctx));
            ck_assert_ptr_null(r);
        }
        ec2t__free(ctx, b);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_rejects_every_bit_flip)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__creader *r = NULL;
    size_t len = 0;
    uint8_t *b = small_file(ctx, 0, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            ec2t_status st;
            b[i] ^= (uint8_t)(1u << bit);
            st = ec2t__cr_open_mem(ctx, b, len, "flip", &r);
            /* version 1 with a bit flipped is 0 (invalid) or a newer version */
            ck_assert_msg(st == EC2T_E_FORMAT || (st == EC2T_E_UNSUPPORTED && i >= 4 && i < 8),
                          "bit %d of byte %zu flipped: %s (%s)", bit, i, ec2t_status_string(st),
                          ec2t_context_errmsg(ctx));
            ck_assert_ptr_null(r);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    ec2t__free(ctx, b);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_container_rejects_huge_counts_and_lengths)
{
    static const uint64_t overflow_dims[2] = {UINT64_C(1) << 32, UINT64_C(1) << 32};
    static const uint64_t big_dim[1] = {(UINT64_C(1) << 40) + 1};
    static const uint64_t zero_dim[2] = {4, 0};
    static const uint64_t five_dims[5] = {1, 1, 1, 1, 1};
    static const uint64_t dims1[1] = {1};
    craft c;
    c_begin(&c, 1, 0, UINT64_MAX);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "keys");
    c_begin(&c, 1, UINT64_C(1) << 62, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "tensors");
    c_begin(&c, 1, 0, 65537);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    c_begin(&c, 1, 1000001, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    /* within the limits, but more than the file can hold */
    c_begin(&c, 1, 0, 1000);
    c_kv_u32(&c, "a", 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    /* key lengths */
    c_begin(&c, 1, 0, 1);
    c_u64(&c, UINT64_MAX);
    c_u32(&c, EC2T__KV_U32);
    c_u32(&c, 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    c_begin(&c, 1, 0, 1);
    c_u64(&c, 0);
    c_u32(&c, EC2T__KV_U32);
    c_u32(&c, 1);
    c_u32(&c, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    /* string lengths: huge, above 1 MiB, past the end */
    c_begin(&c, 1, 0, 1);
    c_str(&c, "s");
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, UINT64_MAX - 3);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    c_begin(&c, 1, 0, 1);
    c_str(&c, "s");
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, (UINT64_C(1) << 20) + 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "1 MiB");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "s");
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, 1000);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    /* array counts: huge numeric, huge string */
    c_begin(&c, 1, 0, 1);
    c_str(&c, "a");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_F64);
    c_u64(&c, UINT64_C(1) << 61);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    c_begin(&c, 1, 0, 1);
    c_str(&c, "a");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, UINT64_MAX);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    /* tensor names, ranks and extents */
    c_begin(&c, 1, 1, 0);
    c_u64(&c, 1u << 31);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, NULL);
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 2, overflow_dims, EC2T__DT_U8, 0, 0, NULL);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'t'");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, big_dim, EC2T__DT_U8, 0, (UINT64_C(1) << 40) + 1, NULL);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'t'");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 2, zero_dim, EC2T__DT_U8, 0, 0, NULL);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'t'");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 0, dims1, EC2T__DT_U8, 0, 1, NULL);
    c_end(&c, (const uint8_t *)"x", 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "dimensions");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 5, five_dims, EC2T__DT_U8, 0, 1, NULL);
    c_end(&c, (const uint8_t *)"x", 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "dimensions");
}
END_TEST

START_TEST(test_container_rejects_bad_values)
{
    static const uint8_t one[1] = {1};
    static const uint64_t dims1[1] = {1};
    craft c;
    /* bad bool, scalar and in an array */
    c_begin(&c, 1, 0, 1);
    c_str(&c, "flag");
    c_u32(&c, EC2T__KV_BOOL);
    c_bytes(&c, "\x02", 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'flag'");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "flags");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_BOOL);
    c_u64(&c, 3);
    c_bytes(&c, "\x01\x00\xff", 3);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'flags'");
    /* nested arrays, unknown types */
    c_begin(&c, 1, 0, 1);
    c_str(&c, "nest");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_ARRAY);
    c_u64(&c, 1);
    c_u32(&c, EC2T__KV_U8);
    c_u64(&c, 1);
    c_bytes(&c, "\x00", 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "array of arrays");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "odd");
    c_u32(&c, 13);
    c_u32(&c, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "type");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "odd");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, 13);
    c_u64(&c, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "type");
    /* texts: a NUL inside a key, invalid UTF-8 in a key, a value, a name */
    c_begin(&c, 1, 0, 1);
    c_text(&c, "a\0b", 3);
    c_u32(&c, EC2T__KV_U8);
    c_bytes(&c, "\x00", 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "UTF-8");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "\xc0\xaf");
    c_u32(&c, EC2T__KV_U8);
    c_bytes(&c, "\x00", 1);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "UTF-8");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "s");
    c_u32(&c, EC2T__KV_STRING);
    c_str(&c, "ok\xf5");
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'s'");
    c_begin(&c, 1, 0, 1);
    c_str(&c, "names");
    c_u32(&c, EC2T__KV_ARRAY);
    c_u32(&c, EC2T__KV_STRING);
    c_u64(&c, 2);
    c_str(&c, "fine");
    c_str(&c, "\xe0\x80\x80");
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'names'");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "\xff", 1, dims1, EC2T__DT_U8, 0, 1, one);
    c_end(&c, one, 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "UTF-8");
    /* duplicate keys and tensor names in a file */
    c_begin(&c, 1, 0, 2);
    c_kv_u32(&c, "dup", 1);
    c_kv_u32(&c, "dup", 2);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'dup' appears twice");
    c_begin(&c, 1, 2, 0);
    c_tensor(&c, "w", 1, dims1, EC2T__DT_U8, 0, 1, one);
    c_tensor(&c, "w", 1, dims1, EC2T__DT_U8, 64, 1, (const uint8_t[65]){[64] = 1});
    c_end(&c, (const uint8_t[65]){[0] = 1, [64] = 1}, 65);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'w' appears twice");
    /* general.alignment: wrong type, not a power of two, too small */
    c_begin(&c, 1, 0, 1);
    c_str(&c, "general.alignment");
    c_u32(&c, EC2T__KV_U64);
    c_u64(&c, 64);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "general.alignment");
    c_begin(&c, 1, 0, 1);
    c_kv_u32(&c, "general.alignment", 100);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "general.alignment");
    c_begin(&c, 1, 0, 1);
    c_kv_u32(&c, "general.alignment", 32);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "general.alignment");
}
END_TEST

START_TEST(test_container_rejects_bad_tensors)
{
    static const uint64_t dims1[1] = {1}, dims8[1] = {8}, dims5[1] = {5}, dims16[1] = {16};
    uint8_t data[256];
    craft c;
    memset(data, 0, sizeof data);
    data[0] = 1;
    /* a valid base case, to show the helpers make good files */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_OK, NULL);
    /* unknown dtypes */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, 6, 0, 8, data);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "dtype");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, 18, 0, 8, data);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "dtype");
    /* nbytes that does not fit the shape and dtype */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, EC2T__DT_F32, 0, 8, data);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'t'");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, EC2T__DT_TERNARY_2B, 0, 3, data);
    c_end(&c, data, 3);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "'t'");
    /* a misaligned offset */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims1, EC2T__DT_U8, 4, 1, data);
    c_end(&c, data, 5);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "alignment");
    /* past the end, also with an offset that would wrap */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims16, EC2T__DT_U8, 0, 16, NULL);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "past the end");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims1, EC2T__DT_U8, UINT64_MAX - 63, 1, NULL);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "past the end");
    /* overlapping tensors */
    c_begin(&c, 1, 2, 0);
    c_tensor(&c, "big", 1, (const uint64_t[]){128}, EC2T__DT_U8, 0, 128, data);
    c_tensor(&c, "inside", 1, dims8, EC2T__DT_U8, 64, 8, data);
    c_end(&c, data, 128);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "overlap");
    c_begin(&c, 1, 2, 0);
    c_tensor(&c, "x", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_tensor(&c, "y", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "overlap");
    /* a checksum that does not match */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "t", 1, dims8, EC2T__DT_U8, 0, 8, NULL);
    c_end(&c, data, 8);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "checksum");
    /* nonzero padding between tensors; bytes after the last one */
    data[20] = 1;
    c_begin(&c, 1, 2, 0);
    c_tensor(&c, "x", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_tensor(&c, "y", 1, dims8, EC2T__DT_U8, 64, 8, data);
    c_end(&c, data, 72);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "padding");
    data[20] = 0;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "x", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_end(&c, data, 65);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "follow");
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "x", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_end(&c, data, 64); /* zero padding up to the alignment is allowed */
    ck_assert_crafted(&c, EC2T_OK, NULL);
    data[63] = 1;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "x", 1, dims8, EC2T__DT_U8, 0, 8, data);
    c_end(&c, data, 64);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "padding");
    data[63] = 0;
    /* ternary codes: 10 in TERNARY_2B, bits past the end, bytes above 242 in TERNARY_B3 */
    data[0] = 0x08;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "q", 1, dims8, EC2T__DT_TERNARY_2B, 0, 2, data);
    c_end(&c, data, 2);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "ternary");
    data[0] = 0x40;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "q", 1, (const uint64_t[]){3}, EC2T__DT_TERNARY_2B, 0, 1, data);
    c_end(&c, data, 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "ternary");
    data[0] = 243;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "q", 1, dims5, EC2T__DT_TERNARY_B3, 0, 1, data);
    c_end(&c, data, 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "ternary");
    data[0] = 242;
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "q", 1, dims5, EC2T__DT_TERNARY_B3, 0, 1, data);
    c_end(&c, data, 1);
    ck_assert_crafted(&c, EC2T_OK, NULL);
    data[0] = 9; /* 2 weights, but the third trit is 1: padding trits must be 0 */
    c_begin(&c, 1, 1, 0);
    c_tensor(&c, "q", 1, (const uint64_t[]){2}, EC2T__DT_TERNARY_B3, 0, 1, data);
    c_end(&c, data, 1);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "ternary");
}
END_TEST

START_TEST(test_container_rejects_bad_preamble)
{
    craft c;
    /* version 2 is a newer format, version 0 is garbage, a bad magic is not ours */
    c_begin(&c, 2, 0, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_UNSUPPORTED, "version 2");
    c_begin(&c, 0, 0, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "version");
    c_begin(&c, 1, 0, 0);
    c.b[3] = 'U'; /* "EC2U" */
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_E_FORMAT, "magic");
    c_begin(&c, 1, 0, 0);
    c_end(&c, NULL, 0);
    ck_assert_crafted(&c, EC2T_OK, NULL);
    c.b[24] ^= 1; /* the header checksum, right after the fixed header */
    ck_assert_crafted(&c, EC2T_E_FORMAT, "checksum");
    ck_assert_status(open_crafted(NULL, 0, "magic"), EC2T_E_FORMAT);
}
END_TEST

START_TEST(test_container_open_errors)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__creader *r = (ec2t__creader *)&ta;
    char path[4200];
    ck_assert_status(ec2t__cr_open_file(ctx, test_tmpfile(0, "does-not-exist.ec2t"), &r),
                     EC2T_E_IO);
    ck_assert_ptr_null(r);
    ck_assert_status(ec2t__cr_open_file(ctx, test_tmpdir(), &r), EC2T_E_IO);
    snprintf(path, sizeof path, "%s", test_write_file(1, "garbage.ec2t", "GGUF....", 8));
    ck_assert_status(ec2t__cr_open_file(ctx, path, &r), EC2T_E_FORMAT);
    assert_msg_has(ctx, path);
    ck_assert_status(ec2t__cr_open_file(ctx, NULL, &r), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_open_file(ctx, path, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_open_file(NULL, path, &r), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_open_mem(ctx, NULL, 4, "x", &r), EC2T_E_INVAL);
    ck_assert_status(ec2t__cr_open_mem(NULL, "EC2T", 4, "x", &r), EC2T_E_INVAL);
    ck_assert_ptr_null(r);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Entries of a folder, and whether one is a leftover temporary file. */
static int
count_entries(const char *dir, int *temporaries)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    *temporaries = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(e->d_name, ".tmp-"))
            (*temporaries)++;
    }
    closedir(d);
    return n;
}

START_TEST(test_container_atomic_write)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__cwriter *w = NULL, *w2 = NULL;
    ec2t__creader *r = NULL;
    char dir[4200], path[4300];
    uint8_t *before, *after;
    size_t before_len, after_len;
    struct rlimit old_lim, lim;
    uint32_t n;
    int tmp;
    snprintf(dir, sizeof dir, "%s", test_tmpfile(0, "atomic"));
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/model.ec2t", dir);
    /* write, then overwrite with other contents: one file, no temporaries */
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_u32(w, "n", 1));
    ck_assert_ok(ec2t__cw_write_file(w, path));
    ck_assert_ok(build_sample(ctx, &w2));
    ck_assert_ok(ec2t__cw_write_file(w2, path));
    ck_assert_int_eq(count_entries(dir, &tmp), 1);
    ck_assert_int_eq(tmp, 0);
    ck_assert_ok(ec2t__cr_open_file(ctx, path, &r));
    check_sample_keys(r);
    ec2t__cr_free(r);
    before = slurp(path, &before_len);
    /* a write that fails half-way (the file size limit) keeps the old file */
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    lim = old_lim;
    lim.rlim_cur = 100;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_status(ec2t__cw_write_file(w2, path), EC2T_E_IO);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_msg_has(ctx, path);
    after = slurp(path, &after_len);
    ck_assert_uint_eq(after_len, before_len);
    ck_assert_int_eq(memcmp(before, after, before_len), 0);
    ck_assert_int_eq(count_entries(dir, &tmp), 1);
    ck_assert_int_eq(tmp, 0);
    free(after);
    /* a failing rename (the target is a folder) leaves nothing behind either */
    snprintf(path, sizeof path, "%s/folder.ec2t", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_status(ec2t__cw_write_file(w, path), EC2T_E_IO);
    ck_assert_int_eq(count_entries(dir, &tmp), 2);
    ck_assert_int_eq(tmp, 0);
    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/missing/model.ec2t", dir);
    ck_assert_status(ec2t__cw_write_file(w, path), EC2T_E_IO);
    /* and the first file still reads */
    snprintf(path, sizeof path, "%s/model.ec2t", dir);
    ck_assert_ok(ec2t__cr_open_file(ctx, path, &r));
    ck_assert_status(ec2t__cr_get_u32(r, "n", &n), EC2T_E_FORMAT); /* the sample has no "n" */
    ec2t__cr_free(r);
    free(before);
    ec2t__cw_free(w);
    ec2t__cw_free(w2);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- allocation failures ---- */

typedef ec2t_status (*scenario_fn)(ec2t_context *ctx);

/* Build the sample, write it to memory, read it back, look things up. */
static ec2t_status
scenario_mem(ec2t_context *ctx)
{
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint32_t u32;
    const char *s, *sa[3];
    uint64_t n;
    float f[24];
    ec2t_status st = build_sample(ctx, &w);
    if (st != EC2T_OK)
        goto out;
    buf = (uint8_t *)&len; /* a failed write must reset it */
    st = ec2t__cw_write_mem(w, &buf, &len);
    if (st != EC2T_OK) {
        ck_assert_ptr_null(buf);
        goto out;
    }
    r = (ec2t__creader *)&len; /* a failed open must reset it */
    st = ec2t__cr_open_mem(ctx, buf, len, "alloc", &r);
    if (st != EC2T_OK) {
        ck_assert_ptr_null(r);
        goto out;
    }
    ck_assert_ok(ec2t__cr_get_u32(r, "k.u32", &u32));
    ck_assert_ok(ec2t__cr_get_str(r, "k.str", &s));
    ck_assert_ok(ec2t__cr_get_array(r, "a.str", EC2T__KV_STRING, sa, 3, &n));
    ck_assert_ok(ec2t__cr_read_f32(r, "cube", 3, sample_tensors[3].dims, f));
    ck_assert_ptr_nonnull(ec2t__cr_find_tensor(r, "tern.b3"));
out:
    ec2t__cr_free(r);
    ec2t__free(ctx, buf);
    ec2t__cw_free(w);
    return st;
}

/* The same through a file. */
static ec2t_status
scenario_file(ec2t_context *ctx)
{
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    const char *path = test_tmpfile(2, "alloc.ec2t");
    float f[24];
    ec2t_status st = build_sample(ctx, &w);
    if (st == EC2T_OK)
        st = ec2t__cw_write_file(w, path);
    if (st == EC2T_OK)
        st = ec2t__cr_open_file(ctx, path, &r);
    if (st == EC2T_OK)
        ck_assert_ok(ec2t__cr_read_f32(r, "cube", 3, sample_tensors[3].dims, f));
    ec2t__cr_free(r);
    ec2t__cw_free(w);
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
        ec2t_context_free(ctx);
        ck_assert_msg(ta.live == 0, "%s: %ld blocks leaked when allocation %ld failed", name,
                      ta.live, k);
        if (test_alloc_pass_done(&ta, st, name, k, 0))
            break;
    }
    ck_assert_msg(k > 20, "%s: only %ld allocations; the scenario tests nothing", name, k);
}

START_TEST(test_container_allocation_failures)
{
    run_with_failures("container in memory", scenario_mem);
    run_with_failures("container file", scenario_file);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("container");
    TCase *tc = tcase_create("container");
    tcase_add_test(tc, test_container_round_trip_mem);
    tcase_add_test(tc, test_container_round_trip_file);
    tcase_add_test(tc, test_container_exact_bytes);
    tcase_add_test(tc, test_container_empty_and_alignment_key);
    tcase_add_test(tc, test_container_unknown_keys_ignored);
    tcase_add_test(tc, test_container_lookup_errors_name_the_key);
    tcase_add_test(tc, test_container_writer_rejects_duplicates);
    tcase_add_test(tc, test_container_writer_rejects_bad_input);
    tcase_add_test(tc, test_container_rejects_every_truncation);
    tcase_add_test(tc, test_container_rejects_every_bit_flip);
    tcase_add_test(tc, test_container_rejects_huge_counts_and_lengths);
    tcase_add_test(tc, test_container_rejects_bad_values);
    tcase_add_test(tc, test_container_rejects_bad_tensors);
    tcase_add_test(tc, test_container_rejects_bad_preamble);
    tcase_add_test(tc, test_container_open_errors);
    tcase_add_test(tc, test_container_atomic_write);
    tcase_add_test(tc, test_container_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
