/* SPDX-License-Identifier: MIT */
/* The entropy coder of ternary layers (doc/FORMAT.md, "Entropy-coded ternary
 * tensors"): round trips of many shapes and sparsities, the exact bytes of a
 * small stream, the EC2T ResNet-20 checkpoints against their zero-order
 * entropy, every truncation, random byte flips, trailing bytes, bad arguments
 * and allocation failures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test-common.h"

#include "safetensors-private.h"
#include "tcoder-private.h"
#include "tstream-private.h"

/* ---- helpers ---- */

typedef struct test_rng {
    uint64_t s;
} test_rng;

/* splitmix64: small, and the same sequence everywhere */
static uint64_t
rng_next(test_rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double
rng_unit(test_rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* Symbols that are non-zero with probability density, negative with probability neg. */
static int8_t *
random_symbols(test_rng *r, size_t n, double density, double neg)
{
    int8_t *s = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        s[i] = rng_unit(r) < density ? (rng_unit(r) < neg ? -1 : 1) : 0;
    return s;
}

static size_t
words_of(int32_t cols)
{
    return ((size_t)cols + 63) / 64;
}

/* Decode and compare with sym; the masks start as garbage, since every word must be written. */
static void
expect_decodes_to(ec2t_context *ctx, const uint8_t *buf, size_t len, const int8_t *sym,
                  int32_t rows, int32_t cols, int32_t slice)
{
    size_t words = words_of(cols), n = (size_t)rows * words;
    uint64_t *p = malloc(n * 8), *q = malloc(n * 8);
    ck_assert(p && q);
    memset(p, 0xA5, n * 8);
    memset(q, 0x5A, n * 8);
    ck_assert_ok(ec2t__tcode_decode(ctx, buf, len, rows, cols, slice, p, q));
    for (int32_t r = 0; r < rows; r++) {
        for (size_t w = 0; w < words; w++) {
            uint64_t ep = 0, en = 0;
            for (int32_t b = 0; b < 64 && (int32_t)(w * 64) + b < cols; b++) {
                int8_t s = sym[(size_t)r * (size_t)cols + w * 64 + (size_t)b];
                ep |= (uint64_t)(s > 0) << b;
                en |= (uint64_t)(s < 0) << b;
            }
            ck_assert_msg(p[(size_t)r * words + w] == ep && q[(size_t)r * words + w] == en,
                          "%d x %d / %d: row %d word %zu differs", (int)rows, (int)cols,
                          (int)slice, (int)r, w);
        }
    }
    free(p);
    free(q);
}

/* Encode, check the size function, decode; returns the stream (malloc'd copy). */
static uint8_t *
round_trip(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice,
           size_t *len)
{
    uint8_t *buf = NULL, *copy;
    size_t size = 0;
    ck_assert_ok(ec2t__tcode_size(ctx, sym, rows, cols, slice, &size));
    ck_assert_ok(ec2t__tcode_encode(ctx, sym, rows, cols, slice, &buf, len));
    ck_assert_uint_eq(size, *len);
    ck_assert_uint_ge(*len, 2);
    ck_assert_int_eq(buf[0], EC2T__TCODE_VERSION);
    expect_decodes_to(ctx, buf, *len, sym, rows, cols, slice);
    copy = malloc(*len);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, *len);
    ec2t__free(ctx, buf);
    return copy;
}

/* Decode a possibly damaged stream. A stream that is accepted must be exactly
 * what the encoder writes for the symbols it decodes to (the format has one
 * encoding per layer). Returns the status. */
static ec2t_status
decode_damaged(ec2t_context *ctx, const uint8_t *buf, size_t len, int32_t rows, int32_t cols,
               int32_t slice)
{
    size_t words = words_of(cols), n = (size_t)rows * words, n_sym = (size_t)rows * cols;
    uint64_t *p = malloc(n * 8), *q = malloc(n * 8);
    int8_t *sym;
    uint8_t *again = NULL;
    size_t again_len = 0;
    ec2t_status st;
    ck_assert(p && q);
    st = ec2t__tcode_decode(ctx, buf, len, rows, cols, slice, p, q);
    if (st != EC2T_OK) {
        ck_assert_msg(st == EC2T_E_FORMAT || st == EC2T_E_UNSUPPORTED, "status %s",
                      ec2t_status_string(st));
        ck_assert(strlen(ec2t_context_errmsg(ctx)) > 0);
        free(p);
        free(q);
        return st;
    }
    sym = malloc(n_sym);
    ck_assert_ptr_nonnull(sym);
    for (size_t i = 0; i < n_sym; i++) {
        size_t r = i / (size_t)cols, c = i % (size_t)cols, w = r * words + c / 64;
        int pos = (int)(p[w] >> (c % 64) & 1), neg = (int)(q[w] >> (c % 64) & 1);
        ck_assert(!(pos && neg));
        sym[i] = (int8_t)(pos - neg);
    }
    ck_assert_ok(ec2t__tcode_encode(ctx, sym, rows, cols, slice, &again, &again_len));
    ck_assert_msg(again_len == len && memcmp(again, buf, len) == 0,
                  "an accepted stream is not the encoder's output for its symbols");
    ec2t__free(ctx, again);
    free(sym);
    free(p);
    free(q);
    return st;
}

/* ---- round trips ---- */

typedef struct shape_case {
    int32_t rows, cols, slice;
    double density, neg;
} shape_case;

static const shape_case shape_cases[] = {
    {1, 1, 1, 0.5, 0.5},       {1, 1, 1, 0.0, 0.5},     {1, 1, 1, 1.0, 1.0},
    {1, 9, 9, 0.5, 0.5},       {9, 1, 1, 0.5, 0.5},     {300, 1, 1, 0.3, 0.4},
    {1, 900, 9, 0.4, 0.5},     {16, 144, 9, 0.36, 0.5}, {16, 144, 9, 0.0, 0.5},
    {16, 144, 9, 1.0, 0.5},    {16, 144, 9, 1.0, 0.0},  {16, 144, 9, 1.0, 1.0},
    {16, 144, 9, 0.001, 0.5},  {16, 144, 9, 0.999, 0.2}, {7, 63, 9, 0.5, 0.5},
    {5, 65, 1, 0.5, 0.5},      {3, 130, 13, 0.5, 0.5},  {10, 127, 127, 0.2, 0.5},
    {4, 100, 25, 0.3, 0.6},    {6, 96, 4, 0.5, 0.5},    {6, 96, 6, 0.5, 0.5},
    {33, 64, 1, 0.1, 0.5},     {64, 576, 9, 0.27, 0.45}, {2, 4096, 1, 0.5, 0.5},
    {128, 1, 1, 1.0, 0.5},     {40, 49, 49, 0.6, 0.5},
};

START_TEST(test_tcoder_round_trip_shapes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {42};
    for (size_t i = 0; i < sizeof shape_cases / sizeof shape_cases[0]; i++) {
        const shape_case *c = &shape_cases[i];
        size_t n = (size_t)c->rows * (size_t)c->cols, len;
        int8_t *sym = random_symbols(&rng, n, c->density, c->neg);
        uint8_t *buf = round_trip(ctx, sym, c->rows, c->cols, c->slice, &len);
        /* constant layers cost little: the probabilities adapt (and then a
         * symbol costs 0.001 bits), after learning in each context they visit */
        if (c->density == 0.0 || (c->density == 1.0 && (c->neg == 0.0 || c->neg == 1.0)))
            ck_assert_msg(len <= 8 + n / 32, "%zu symbols of one value took %zu bytes", n, len);
        free(buf);
        free(sym);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tcoder_round_trip_random_many)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {7};
    static const int32_t slices[] = {1, 4, 9, 9, 9, 25, 3};
    for (int t = 0; t < 200; t++) {
        int32_t slice = slices[rng_next(&rng) % 7];
        int32_t rows = 1 + (int32_t)(rng_next(&rng) % 40);
        int32_t cols = slice * (1 + (int32_t)(rng_next(&rng) % 40));
        double density = rng_unit(&rng), neg = rng_unit(&rng);
        size_t len;
        int8_t *sym = random_symbols(&rng, (size_t)rows * cols, density, neg);
        uint8_t *buf = round_trip(ctx, sym, rows, cols, slice, &len);
        free(buf);
        free(sym);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A 2 x 18 layer with 3 x 3 slices and its stream, pinned so that the format
 * cannot drift (tests/tcoder-python.py decodes the same bytes). */
static const int8_t example_sym[36] = {
    0, 1, 0, 1, 1, 0, 0, -1, 0, /* row 0, slice 0 */
    0, 0, 0, 0, 0, 0, 0, 0,  0, /* row 0, slice 1 */
    0, 1, 1, 0, 1, 0, 0, 0,  0, /* row 1, slice 0 */
    -1, 0, 0, -1, 0, 0, 1, 0, 0, /* row 1, slice 1 */
};
static const uint8_t example_stream[] = {0x01, 0x4b, 0xde, 0x7b, 0x36, 0x29, 0x09};

START_TEST(test_tcoder_exact_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_ok(ec2t__tcode_encode(ctx, example_sym, 2, 18, 9, &buf, &len));
    for (size_t i = 0; i < len; i++)
        printf("%s0x%02x", i ? ", " : "tcoder example stream: ", buf[i]);
    printf("\n");
    ck_assert_uint_eq(len, sizeof example_stream);
    ck_assert_int_eq(memcmp(buf, example_stream, len), 0);
    expect_decodes_to(ctx, buf, len, example_sym, 2, 18, 9);
    ec2t__free(ctx, buf);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Coder 2's example of doc/FORMAT.md: 16-bit levels 0.5 and 0.25 (0x3800,
 * 0x3400), the example layer, then the biases 1 and -2 (0x3c00, 0xc000). The
 * bytes came from a Python encoder written from the spec alone, so this pins
 * two independent readings of it to each other. */
static const uint32_t example2_levels[2] = {0x3800, 0x3400}, example2_biases[2] = {0x3c00, 0xc000};
static const uint8_t example2_stream[] = {0x02, 0x10, 0x37, 0xff, 0xb5, 0x79, 0x3a, 0x25,
                                          0x45, 0x16, 0x0c, 0xa2, 0x92, 0x85, 0x9c, 0x46};

START_TEST(test_tstream_exact_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t buf[sizeof example2_stream];
    uint64_t p[2], q[2];
    uint32_t got[4];
    ec2t__tswriter *w = NULL;
    ec2t__tsreader *r = NULL;
    ck_assert_ok(ec2t__tsw_new(ctx, 16, NULL, &w)); /* counting */
    ec2t__tsw_floats(w, EC2T__FK_LEVEL, example2_levels, 2);
    ck_assert_ok(ec2t__tsw_ternary(w, example_sym, 2, 18, 9));
    ec2t__tsw_floats(w, EC2T__FK_BIAS, example2_biases, 2);
    ck_assert_uint_eq(ec2t__tsw_finish(w), sizeof example2_stream);
    ec2t__tsw_free(w);
    ck_assert_ok(ec2t__tsw_new(ctx, 16, buf, &w));
    ec2t__tsw_floats(w, EC2T__FK_LEVEL, example2_levels, 2);
    ck_assert_ok(ec2t__tsw_ternary(w, example_sym, 2, 18, 9));
    ec2t__tsw_floats(w, EC2T__FK_BIAS, example2_biases, 2);
    ck_assert_uint_eq(ec2t__tsw_finish(w), sizeof example2_stream);
    ec2t__tsw_free(w);
    ck_assert_int_eq(memcmp(buf, example2_stream, sizeof buf), 0);
    ck_assert_ok(ec2t__tsr_new(ctx, "example", buf, sizeof buf, &r));
    ck_assert_int_eq(ec2t__tsr_float_bits(r), 16);
    ck_assert_ok(ec2t__tsr_floats(r, EC2T__FK_LEVEL, got, 2));
    ck_assert_ok(ec2t__tsr_ternary(r, 2, 18, 9, p, q));
    ck_assert_ok(ec2t__tsr_floats(r, EC2T__FK_BIAS, got + 2, 2));
    ck_assert_ok(ec2t__tsr_finish(r));
    ec2t__tsr_free(r);
    ck_assert_uint_eq(got[0], 0x3800);
    ck_assert_uint_eq(got[1], 0x3400);
    ck_assert_uint_eq(got[2], 0x3c00);
    ck_assert_uint_eq(got[3], 0xc000);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 18; k++) {
            int s = example_sym[m * 18 + k];
            ck_assert_int_eq((int)(p[m] >> k & 1), s > 0);
            ck_assert_int_eq((int)(q[m] >> k & 1), s < 0);
        }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- the EC2T ResNet-20 checkpoints ---- */

/* Bytes of an ideal static code of the layer's three symbol frequencies. */
static double
zero_order_bytes(const int8_t *sym, size_t n)
{
    size_t count[3] = {0, 0, 0};
    double bits = 0;
    for (size_t i = 0; i < n; i++)
        count[sym[i] + 1]++;
    for (int v = 0; v < 3; v++)
        if (count[v])
            bits -= (double)count[v] * log2((double)count[v] / (double)n);
    return bits / 8;
}

static double
seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct coded_totals {
    double entropy;
    size_t coded, symbols;
    double t_encode, t_decode;
} coded_totals;

/* Round trip of one ternary conv layer; adds to the totals. */
static void
code_resnet_layer(ec2t_context *ctx, const ec2t__st_file *f, const char *name, coded_totals *tot)
{
    const ec2t__st_tensor *t = ec2t__st_find(f, name);
    int32_t rows, cols;
    size_t n, len = 0, words;
    float *w;
    int8_t *sym;
    uint8_t *buf = NULL;
    uint64_t *p, *q;
    double t0, h;
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 4);
    ck_assert(t->dims[2] == 3 && t->dims[3] == 3);
    rows = (int32_t)t->dims[0];
    cols = (int32_t)(t->dims[1] * 9);
    n = (size_t)rows * (size_t)cols;
    w = malloc(n * sizeof *w);
    sym = malloc(n);
    ck_assert(w && sym);
    ck_assert_ok(ec2t__st_read_f32(f, t, w));
    for (size_t i = 0; i < n; i++)
        sym[i] = (int8_t)((w[i] > 0) - (w[i] < 0));
    t0 = seconds_now();
    ck_assert_ok(ec2t__tcode_encode(ctx, sym, rows, cols, 9, &buf, &len));
    tot->t_encode += seconds_now() - t0;
    words = words_of(cols);
    p = malloc((size_t)rows * words * 8);
    q = malloc((size_t)rows * words * 8);
    ck_assert(p && q);
    t0 = seconds_now();
    ck_assert_ok(ec2t__tcode_decode(ctx, buf, len, rows, cols, 9, p, q));
    tot->t_decode += seconds_now() - t0;
    free(p);
    free(q);
    expect_decodes_to(ctx, buf, len, sym, rows, cols, 9);
    h = zero_order_bytes(sym, n);
    printf("  %-22s %3d x %4d: %6zu bytes coded, zero-order entropy %8.1f bytes\n", name,
           (int)rows, (int)cols, len, h);
    tot->entropy += h;
    tot->coded += len;
    tot->symbols += n;
    ec2t__free(ctx, buf);
    free(sym);
    free(w);
}

static void
code_resnet(const char *file)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__st_file *f = NULL;
    coded_totals tot = {0, 0, 0, 0, 0};
    char name[64];
    printf("%s:\n", file);
    ck_assert_ok(ec2t__st_open_file(ctx, test_data_path(file), &f));
    for (int s = 1; s <= 3; s++)
        for (int b = 0; b < 3; b++)
            for (int c = 1; c <= 2; c++) {
                snprintf(name, sizeof name, "layer%d.%d.conv%d.weight", s, b, c);
                code_resnet_layer(ctx, f, name, &tot);
            }
    printf("%s: %zu symbols, %zu bytes coded, zero-order entropy %.1f bytes (%.2f %%); "
           "encode %.1f Msym/s, decode %.1f Msym/s\n",
           file, tot.symbols, tot.coded, tot.entropy, 100.0 * (double)tot.coded / tot.entropy,
           (double)tot.symbols / tot.t_encode / 1e6, (double)tot.symbols / tot.t_decode / 1e6);
    ck_assert_uint_eq(tot.symbols, 267264);
    ck_assert_msg((double)tot.coded < tot.entropy, "%s: %zu bytes coded, entropy %.1f", file,
                  tot.coded, tot.entropy);
    ec2t__st_free(f);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_tcoder_resnet20_beats_zero_order_entropy)
{
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars45.safetensors");
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars64.safetensors");
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars73.safetensors");
}
END_TEST

/* ---- damaged streams ---- */

START_TEST(test_tcoder_every_truncation)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {99};
    static const shape_case cases[] = {
        {16, 144, 9, 0.36, 0.5}, {1, 9, 9, 0.5, 0.5}, {30, 1, 1, 0.5, 0.5}, {8, 200, 25, 0.9, 0.3}};
    size_t accepted = 0, total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const shape_case *c = &cases[i];
        size_t len;
        int8_t *sym = random_symbols(&rng, (size_t)c->rows * c->cols, c->density, c->neg);
        uint8_t *buf = round_trip(ctx, sym, c->rows, c->cols, c->slice, &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* a copy of exactly cut bytes, so that valgrind sees any read past it */
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, buf, cut);
            if (decode_damaged(ctx, cut ? part : NULL, cut, c->rows, c->cols, c->slice) ==
                EC2T_OK)
                accepted++;
            total++;
            free(part);
        }
        free(buf);
        free(sym);
    }
    printf("truncations: %zu of %zu decoded to another valid layer\n", accepted, total);
    /* possible in principle (a prefix can be another layer's exact stream),
     * but it should be rare; none of these does */
    ck_assert_uint_le(accepted * 50, total);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tcoder_random_byte_flips)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {2024};
    static const shape_case cases[] = {
        {16, 144, 9, 0.36, 0.5}, {8, 72, 9, 0.7, 0.4}, {40, 1, 1, 0.5, 0.5}, {4, 50, 25, 0.3, 0.5}};
    size_t accepted = 0, total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const shape_case *c = &cases[i];
        size_t len;
        int8_t *sym = random_symbols(&rng, (size_t)c->rows * c->cols, c->density, c->neg);
        uint8_t *buf = round_trip(ctx, sym, c->rows, c->cols, c->slice, &len);
        uint8_t *bad = malloc(len);
        for (int t = 0; t < 400; t++) {
            int flips = 1 + (int)(rng_next(&rng) % 3);
            memcpy(bad, buf, len);
            for (int k = 0; k < flips; k++)
                bad[rng_next(&rng) % len] ^= (uint8_t)(1 + rng_next(&rng) % 255);
            if (decode_damaged(ctx, bad, len, c->rows, c->cols, c->slice) == EC2T_OK)
                accepted++;
            total++;
        }
        free(bad);
        free(buf);
        free(sym);
    }
    printf("byte flips: %zu of %zu decoded to another valid layer\n", accepted, total);
    ck_assert_uint_lt(accepted * 10, total);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tcoder_rejects_trailing_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {5};
    static const uint8_t tails[] = {0x00, 0x01, 0x80, 0xFF};
    for (int t = 0; t < 20; t++) {
        int32_t rows = 1 + (int32_t)(rng_next(&rng) % 20), cols = 9 * (1 + t % 5);
        size_t len;
        int8_t *sym = random_symbols(&rng, (size_t)rows * cols, 0.4, 0.5);
        uint8_t *buf = round_trip(ctx, sym, rows, cols, 9, &len);
        uint8_t *longer = malloc(len + 8);
        uint64_t *p = malloc((size_t)rows * 8), *q = malloc((size_t)rows * 8);
        memcpy(longer, buf, len);
        for (size_t extra = 1; extra <= 8; extra++) {
            for (size_t k = 0; k < sizeof tails; k++) {
                memset(longer + len, tails[k], extra);
                ck_assert_status(ec2t__tcode_decode(ctx, longer, len + extra, rows, cols, 9, p, q),
                                 EC2T_E_FORMAT);
            }
        }
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "ternary stream"));
        free(p);
        free(q);
        free(longer);
        free(buf);
        free(sym);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tcoder_rejects_bad_headers)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t s[sizeof example_stream];
    uint64_t p[2], q[2];
    static const uint8_t all_ff[] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    memcpy(s, example_stream, sizeof s);
    ck_assert_ok(ec2t__tcode_decode(ctx, s, sizeof s, 2, 18, 9, p, q));
    ck_assert_status(ec2t__tcode_decode(ctx, s, 0, 2, 18, 9, p, q), EC2T_E_FORMAT);
    ck_assert_status(ec2t__tcode_decode(ctx, NULL, 0, 2, 18, 9, p, q), EC2T_E_FORMAT);
    ck_assert_status(ec2t__tcode_decode(ctx, s, 1, 2, 18, 9, p, q), EC2T_E_FORMAT);
    s[0] = 0;
    ck_assert_status(ec2t__tcode_decode(ctx, s, sizeof s, 2, 18, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "version"));
    s[0] = 2;
    ck_assert_status(ec2t__tcode_decode(ctx, s, sizeof s, 2, 18, 9, p, q), EC2T_E_UNSUPPORTED);
    /* a value at or above the initial range is never written */
    ck_assert_status(ec2t__tcode_decode(ctx, all_ff, sizeof all_ff, 2, 18, 9, p, q),
                     EC2T_E_FORMAT);
    /* the right stream with the wrong shape: too few or too many symbols */
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 1, 18, 9, p,
                                        q),
                     EC2T_E_FORMAT);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 2, 9, 9, p,
                                        q),
                     EC2T_E_FORMAT);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A huge layer behind a two-byte stream is refused before any decoding; one
 * just inside the length bound fails fast when the implicit bytes run out. */
START_TEST(test_tcoder_short_stream_for_huge_layer)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static const uint8_t s[] = {0x01, 0x42};
    int32_t rows = 4096, cols = 9 * 4096;
    size_t n = (size_t)rows * words_of(cols);
    uint64_t *p = malloc(n * 8), *q = malloc(n * 8);
    ck_assert(p && q);
    ck_assert_status(ec2t__tcode_decode(ctx, s, sizeof s, rows, cols, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "cannot fit in a 2-byte stream"));
    ck_assert_status(ec2t__tcode_decode(ctx, s, sizeof s, 9, 6561, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "truncated"));
    free(p);
    free(q);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The length bound holds for the layers that compress best (one symbol
 * throughout), and is within a factor 2 of the all-zero layer's stream. */
START_TEST(test_tcoder_length_bound_is_tight_and_safe)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int32_t rows = 512, cols = 9 * 1024;
    size_t n = (size_t)rows * (size_t)cols, words = (size_t)rows * words_of(cols);
    int8_t *sym = malloc(n);
    uint64_t *p = malloc(words * 8), *q = malloc(words * 8);
    ck_assert(sym && p && q);
    for (int fill = -1; fill <= 1; fill++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        memset(sym, fill, n);
        ck_assert_status(ec2t__tcode_encode(ctx, sym, rows, cols, 9, &buf, &len), EC2T_OK);
        ck_assert_status(ec2t__tcode_check_length(ctx, "test", len, rows, cols), EC2T_OK);
        ck_assert_status(ec2t__tcode_decode(ctx, buf, len, rows, cols, 9, p, q), EC2T_OK);
        if (fill == 0) {
            /* one decision a symbol: the cheapest stream there is (the range's
             * truncation to 16 bits makes it cost more than the bound's 0.00067 bits) */
            ck_assert_msg((double)n > 0.5 * (double)(len + 3) * EC2T__TCODE_MAX_SYMBOLS_PER_BYTE,
                          "%zu symbols in %zu bytes, the bound allows %zu", n, len,
                          (len + 3) * EC2T__TCODE_MAX_SYMBOLS_PER_BYTE);
            ck_assert_status(ec2t__tcode_check_length(ctx, "test", len / 2, rows, cols),
                             EC2T_E_FORMAT);
        }
        ec2t__free(ctx, buf);
    }
    free(sym);
    free(p);
    free(q);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tcoder_bad_arguments)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int8_t sym[18] = {0, 1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t *buf = (uint8_t *)1;
    size_t len = 99, size = 99;
    uint64_t p[1], q[1];

    ck_assert_status(ec2t__tcode_encode(NULL, sym, 2, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_status(ec2t__tcode_encode(ctx, NULL, 2, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, 9, NULL, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, 9, &buf, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 0, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, -1, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 0, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, 0, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, -9, &buf, &len), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 3, 6, 4, &buf, &len), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "multiple"));
    ck_assert_status(ec2t__tcode_size(ctx, sym, 2, 9, 9, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_size(ctx, sym, 2, 9, 10, &size), EC2T_E_INVAL);
    ck_assert_uint_eq(size, 0);
    sym[13] = 2;
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "row 1, column 4"));
    sym[13] = -2;
    ck_assert_status(ec2t__tcode_size(ctx, sym, 2, 9, 9, &size), EC2T_E_INVAL);
    sym[13] = 127;
    ck_assert_status(ec2t__tcode_encode(ctx, sym, 2, 9, 9, &buf, &len), EC2T_E_INVAL);
    ck_assert_ptr_null(buf);

    ck_assert_status(ec2t__tcode_decode(NULL, example_stream, sizeof example_stream, 2, 18, 9, p,
                                        q),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, NULL, 5, 2, 18, 9, p, q), EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 2, 18, 9,
                                        NULL, q),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 2, 18, 9, p,
                                        NULL),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 0, 18, 9, p,
                                        q),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 2, 18, 4, p,
                                        q),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t__tcode_decode(ctx, example_stream, sizeof example_stream, 2, -18, 9, p,
                                        q),
                     EC2T_E_INVAL);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- allocation failures ---- */

static ec2t_status
alloc_scenario(ec2t_context *ctx)
{
    test_rng rng = {11};
    int8_t *sym = random_symbols(&rng, 12 * 90, 0.4, 0.5);
    uint8_t *buf = NULL;
    size_t len = 0, size = 0;
    uint64_t p[24], q[24];
    ec2t_status st = ec2t__tcode_size(ctx, sym, 12, 90, 9, &size);
    if (st == EC2T_OK) {
        st = ec2t__tcode_encode(ctx, sym, 12, 90, 9, &buf, &len);
        ck_assert(st == EC2T_OK || (buf == NULL && len == 0));
    }
    if (st == EC2T_OK) {
        ck_assert_uint_eq(len, size);
        st = ec2t__tcode_decode(ctx, buf, len, 12, 90, 9, p, q);
    }
    ec2t__free(ctx, buf);
    free(sym);
    return st;
}

START_TEST(test_tcoder_allocation_failures)
{
    long k;
    for (k = 0;; k++) {
        test_alloc ta = {0, k, 0, 0};
        ec2t_context *ctx = NULL;
        ec2t_status st = ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, &ctx);
        if (st == EC2T_OK)
            st = alloc_scenario(ctx);
        ec2t_context_free(ctx);
        ck_assert_msg(ta.live == 0, "%ld blocks leaked when allocation %ld failed", ta.live, k);
        if (test_alloc_pass_done(&ta, st, "encode and decode", k, 0))
            break;
    }
    /* the context's own, then the coder's four: the state of the size pass,
     * the encoder's state and stream, the decoder's state */
    ck_assert_msg(k >= 5, "only %ld allocations; the scenario tests nothing", k);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("tcoder");
    TCase *tc = tcase_create("tcoder");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tcoder_round_trip_shapes);
    tcase_add_test(tc, test_tcoder_round_trip_random_many);
    tcase_add_test(tc, test_tcoder_exact_bytes);
    tcase_add_test(tc, test_tcoder_resnet20_beats_zero_order_entropy);
    tcase_add_test(tc, test_tcoder_every_truncation);
    tcase_add_test(tc, test_tcoder_random_byte_flips);
    tcase_add_test(tc, test_tcoder_rejects_trailing_bytes);
    tcase_add_test(tc, test_tcoder_rejects_bad_headers);
    tcase_add_test(tc, test_tcoder_short_stream_for_huge_layer);
    tcase_add_test(tc, test_tcoder_length_bound_is_tight_and_safe);
    tcase_add_test(tc, test_tcoder_bad_arguments);
    tcase_add_test(tc, test_tcoder_allocation_failures);
    tcase_add_test(tc, test_tstream_exact_bytes);
    suite_add_tcase(s, tc);
    return s;
}
