/* SPDX-License-Identifier: MIT */
/* The coder of deployable files (doc/FORMAT.md, "The coder", lib/engine/tstream.c):
 * round trips of many shapes and sparsities and of whole programs' worth of
 * floats and layers, the exact bytes of the specification's example, the
 * EC2T ResNet-20 checkpoints against their zero-order entropy, every
 * truncation, random byte flips, trailing bytes, bad headers, the length
 * bounds, bad arguments and allocation failures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test-common.h"

#include "safetensors-private.h"
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

/* A stream of one ternary layer, in a new buffer (malloc) of *len bytes;
 * the counting pass must give the length that the writing pass writes. */
static uint8_t *
encode_layer(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice,
             size_t *len)
{
    ec2t__tswriter *w = NULL;
    uint8_t *buf = NULL;
    size_t counted = 0;
    ck_assert_ok(ec2t__tsw_new(ctx, 32, NULL, &w));
    ck_assert_ok(ec2t__tsw_ternary(w, sym, rows, cols, slice));
    counted = ec2t__tsw_finish(w);
    ec2t__tsw_free(w);
    buf = malloc(counted);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ok(ec2t__tsw_new(ctx, 32, buf, &w));
    ck_assert_ok(ec2t__tsw_ternary(w, sym, rows, cols, slice));
    *len = ec2t__tsw_finish(w);
    ec2t__tsw_free(w);
    ck_assert_uint_eq(*len, counted);
    return buf;
}

/* Read a stream of one ternary layer into its masks: the reader's status. */
static ec2t_status
decode_layer(ec2t_context *ctx, const uint8_t *buf, size_t len, int32_t rows, int32_t cols,
             int32_t slice, uint64_t *p, uint64_t *q)
{
    ec2t__tsreader *r = NULL;
    ec2t_status st = ec2t__tsr_new(ctx, "ternary stream", buf, len, &r);
    if (st == EC2T_OK)
        st = ec2t__tsr_ternary(r, rows, cols, slice, p, q);
    if (st == EC2T_OK)
        st = ec2t__tsr_finish(r);
    ec2t__tsr_free(r);
    return st;
}

/* Masks against symbols. */
static void
expect_masks(const uint64_t *p, const uint64_t *q, const int8_t *sym, int32_t rows, int32_t cols)
{
    size_t words = words_of(cols);
    for (int32_t r = 0; r < rows; r++) {
        for (size_t w = 0; w < words; w++) {
            uint64_t ep = 0, en = 0;
            for (int32_t b = 0; b < 64 && (int32_t)(w * 64) + b < cols; b++) {
                int8_t s = sym[(size_t)r * (size_t)cols + w * 64 + (size_t)b];
                ep |= (uint64_t)(s > 0) << b;
                en |= (uint64_t)(s < 0) << b;
            }
            ck_assert_msg(p[(size_t)r * words + w] == ep && q[(size_t)r * words + w] == en,
                          "%d x %d: row %d word %zu differs", (int)rows, (int)cols, (int)r, w);
        }
    }
}

/* Decode and compare with sym; the masks start as garbage, since every word must be written. */
static void
expect_decodes_to(ec2t_context *ctx, const uint8_t *buf, size_t len, const int8_t *sym,
                  int32_t rows, int32_t cols, int32_t slice)
{
    size_t n = (size_t)rows * words_of(cols);
    uint64_t *p = malloc(n * 8), *q = malloc(n * 8);
    ck_assert(p && q);
    memset(p, 0xA5, n * 8);
    memset(q, 0x5A, n * 8);
    ck_assert_ok(decode_layer(ctx, buf, len, rows, cols, slice, p, q));
    expect_masks(p, q, sym, rows, cols);
    free(p);
    free(q);
}

/* Encode, decode; returns the stream (malloc). */
static uint8_t *
round_trip(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice,
           size_t *len)
{
    uint8_t *buf = encode_layer(ctx, sym, rows, cols, slice, len);
    ck_assert_uint_ge(*len, 3);
    ck_assert_int_eq(buf[0], EC2T__TSTREAM_CODER);
    ck_assert_int_eq(buf[1], 32);
    expect_decodes_to(ctx, buf, *len, sym, rows, cols, slice);
    return buf;
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
    uint8_t *again;
    size_t again_len = 0;
    ec2t_status st;
    ck_assert(p && q);
    st = decode_layer(ctx, buf, len, rows, cols, slice, p, q);
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
    again = encode_layer(ctx, sym, rows, cols, slice, &again_len);
    ck_assert_msg(again_len == len && memcmp(again, buf, len) == 0,
                  "an accepted stream is not the encoder's output for its symbols");
    free(again);
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

START_TEST(test_tstream_round_trip_shapes)
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
         * symbol costs 0.002 bits), after learning in each context they visit */
        if (c->density == 0.0 || (c->density == 1.0 && (c->neg == 0.0 || c->neg == 1.0)))
            ck_assert_msg(len <= 8 + n / 16, "%zu symbols of one value took %zu bytes", n, len);
        free(buf);
        free(sym);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Many layers and floats of every kind in one stream, as a program holds
 * them: the model carries over from layer to layer, and every layer and
 * float comes back. */
START_TEST(test_tstream_round_trip_programs)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    test_rng rng = {7};
    static const int32_t slices[] = {1, 4, 9, 9, 9, 25, 3};
    for (int t = 0; t < 40; t++) {
        enum { PARTS = 6 };
        int32_t rows[PARTS], cols[PARTS], slice[PARTS];
        int8_t *sym[PARTS];
        uint32_t floats[PARTS][8], got[8];
        int float_bits = t % 2 ? 16 : 32;
        ec2t__tswriter *w = NULL;
        ec2t__tsreader *r = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        for (int k = 0; k < PARTS; k++) {
            slice[k] = slices[rng_next(&rng) % 7];
            rows[k] = 1 + (int32_t)(rng_next(&rng) % 30);
            cols[k] = slice[k] * (1 + (int32_t)(rng_next(&rng) % 30));
            sym[k] = random_symbols(&rng, (size_t)rows[k] * cols[k], rng_unit(&rng), rng_unit(&rng));
            for (int j = 0; j < 8; j++)
                floats[k][j] = (uint32_t)rng_next(&rng) & (float_bits == 16 ? 0xFFFFu : 0xFFFFFFFFu);
        }
        for (int pass = 0; pass < 2; pass++) {
            ck_assert_ok(ec2t__tsw_new(ctx, float_bits, buf, &w));
            for (int k = 0; k < PARTS; k++) {
                ec2t__tsw_floats(w, (ec2t__fkind)(k % EC2T__FK_COUNT), floats[k], 8);
                ck_assert_ok(ec2t__tsw_ternary(w, sym[k], rows[k], cols[k], slice[k]));
            }
            len = ec2t__tsw_finish(w);
            ec2t__tsw_free(w);
            if (!buf)
                ck_assert_ptr_nonnull(buf = malloc(len));
        }
        ck_assert_ok(ec2t__tsr_new(ctx, "program", buf, len, &r));
        ck_assert_int_eq(ec2t__tsr_float_bits(r), float_bits);
        for (int k = 0; k < PARTS; k++) {
            size_t n = (size_t)rows[k] * words_of(cols[k]);
            uint64_t *p = malloc(n * 8), *q = malloc(n * 8);
            ck_assert(p && q);
            ck_assert_ok(ec2t__tsr_check_floats(r, 8));
            ck_assert_ok(ec2t__tsr_floats(r, (ec2t__fkind)(k % EC2T__FK_COUNT), got, 8));
            ck_assert_mem_eq(got, floats[k], sizeof got);
            ck_assert_ok(ec2t__tsr_ternary(r, rows[k], cols[k], slice[k], p, q));
            expect_masks(p, q, sym[k], rows[k], cols[k]);
            free(p);
            free(q);
            free(sym[k]);
        }
        ck_assert_ok(ec2t__tsr_finish(r));
        ec2t__tsr_free(r);
        free(buf);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A 2 x 18 layer with 3 x 3 slices: the layer of doc/FORMAT.md's example. */
static const int8_t example_sym[36] = {
    0, 1, 0, 1, 1, 0, 0, -1, 0, /* row 0, slice 0 */
    0, 0, 0, 0, 0, 0, 0, 0,  0, /* row 0, slice 1 */
    0, 1, 1, 0, 1, 0, 0, 0,  0, /* row 1, slice 0 */
    -1, 0, 0, -1, 0, 0, 1, 0, 0, /* row 1, slice 1 */
};

/* The example of doc/FORMAT.md: 16-bit levels 0.5 and 0.25 (0x3800,
 * 0x3400), the example layer, then the biases 1 and -2 (0x3c00, 0xc000). The
 * bytes came from a Python encoder written from the spec alone, so this pins
 * two independent readings of it to each other (doc/ec2t_reader.py decodes
 * them in tests/tstream-python.py). */
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
    expect_masks(p, q, example_sym, 2, 18);
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

#define RESNET_LAYERS 18

typedef struct resnet_layers {
    int8_t *sym[RESNET_LAYERS];
    int32_t rows[RESNET_LAYERS], cols[RESNET_LAYERS];
} resnet_layers;

/* The signs of the 18 ternary 3 x 3 convolutions of a checkpoint. */
static void
resnet_symbols(ec2t_context *ctx, const char *file, resnet_layers *L)
{
    ec2t__st_file *f = NULL;
    char name[64];
    int i = 0;
    ck_assert_ok(ec2t__st_open_file(ctx, test_data_path(file), &f));
    for (int s = 1; s <= 3; s++)
        for (int b = 0; b < 3; b++)
            for (int c = 1; c <= 2; c++, i++) {
                const ec2t__st_tensor *t;
                size_t n;
                float *w;
                snprintf(name, sizeof name, "layer%d.%d.conv%d.weight", s, b, c);
                t = ec2t__st_find(f, name);
                ck_assert_ptr_nonnull(t);
                ck_assert(t->ndim == 4 && t->dims[2] == 3 && t->dims[3] == 3);
                L->rows[i] = (int32_t)t->dims[0];
                L->cols[i] = (int32_t)(t->dims[1] * 9);
                n = (size_t)L->rows[i] * (size_t)L->cols[i];
                w = malloc(n * sizeof *w);
                L->sym[i] = malloc(n);
                ck_assert(w && L->sym[i]);
                ck_assert_ok(ec2t__st_read_f32(f, t, w));
                for (size_t j = 0; j < n; j++)
                    L->sym[i][j] = (int8_t)((w[j] > 0) - (w[j] < 0));
                free(w);
            }
    ec2t__st_free(f);
}

/* The 18 layers in one stream, as a deployable file holds them: below the
 * sum of their zero-order entropies, and back unchanged. */
static void
code_resnet(const char *file)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    resnet_layers L;
    ec2t__tswriter *w = NULL;
    ec2t__tsreader *r = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, symbols = 0;
    double entropy = 0, t_enc = 0, t_dec = 0, t0;
    resnet_symbols(ctx, file, &L);
    for (int pass = 0; pass < 2; pass++) {
        t0 = seconds_now();
        ck_assert_ok(ec2t__tsw_new(ctx, 32, buf, &w));
        for (int i = 0; i < RESNET_LAYERS; i++)
            ck_assert_ok(ec2t__tsw_ternary(w, L.sym[i], L.rows[i], L.cols[i], 9));
        len = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        t_enc = seconds_now() - t0;
        if (!buf)
            ck_assert_ptr_nonnull(buf = malloc(len));
    }
    t0 = seconds_now();
    ck_assert_ok(ec2t__tsr_new(ctx, file, buf, len, &r));
    for (int i = 0; i < RESNET_LAYERS; i++) {
        size_t n = (size_t)L.rows[i] * (size_t)L.cols[i], words = (size_t)L.rows[i] * words_of(L.cols[i]);
        uint64_t *p = malloc(words * 8), *q = malloc(words * 8);
        ck_assert(p && q);
        ck_assert_ok(ec2t__tsr_ternary(r, L.rows[i], L.cols[i], 9, p, q));
        expect_masks(p, q, L.sym[i], L.rows[i], L.cols[i]);
        entropy += zero_order_bytes(L.sym[i], n);
        symbols += n;
        free(p);
        free(q);
        free(L.sym[i]);
    }
    ck_assert_ok(ec2t__tsr_finish(r));
    ec2t__tsr_free(r);
    t_dec = seconds_now() - t0;
    printf("%s: %zu symbols in one stream of %zu bytes, zero-order entropy %.1f bytes (%.2f %%); "
           "encode %.1f Msym/s, decode and check %.1f Msym/s\n",
           file, symbols, len, entropy, 100.0 * (double)len / entropy,
           (double)symbols / t_enc / 1e6, (double)symbols / t_dec / 1e6);
    ck_assert_uint_eq(symbols, 267264);
    ck_assert_msg((double)len < entropy, "%s: %zu bytes coded, entropy %.1f", file, len, entropy);
    free(buf);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_tstream_resnet20_beats_zero_order_entropy)
{
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars45.safetensors");
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars64.safetensors");
    code_resnet("resnet20-cifar10/resnet20_ec2t_spars73.safetensors");
}
END_TEST

/* ---- damaged streams ---- */

START_TEST(test_tstream_every_truncation)
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
            if (decode_damaged(ctx, part, cut, c->rows, c->cols, c->slice) == EC2T_OK)
                accepted++;
            total++;
            free(part);
        }
        free(buf);
        free(sym);
    }
    printf("truncations: %zu of %zu decoded to another valid layer\n", accepted, total);
    /* possible in principle (a prefix can be another layer's exact stream),
     * but it should be rare */
    ck_assert_uint_le(accepted * 50, total);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tstream_random_byte_flips)
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
            /* past the header, which the next test covers */
            for (int k = 0; k < flips; k++)
                bad[2 + rng_next(&rng) % (len - 2)] ^= (uint8_t)(1 + rng_next(&rng) % 255);
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

START_TEST(test_tstream_rejects_trailing_bytes)
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
                ck_assert_status(decode_layer(ctx, longer, len + extra, rows, cols, 9, p, q),
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

/* Every value of the two header bytes; streams too short; a first value no
 * encoder writes; the right stream read as the wrong layer. */
START_TEST(test_tstream_rejects_bad_headers)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    size_t len;
    uint8_t *s = round_trip(ctx, example_sym, 2, 18, 9, &len);
    uint64_t p[2], q[2];
    ec2t__tsreader *r = (ec2t__tsreader *)&ta;
    static const uint8_t all_ff[] = {0x02, 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    for (unsigned v = 0; v < 256; v++) {
        uint8_t keep = s[0];
        s[0] = (uint8_t)v;
        ck_assert_status(decode_layer(ctx, s, len, 2, 18, 9, p, q),
                         v == 2 ? EC2T_OK : v > 2 ? EC2T_E_UNSUPPORTED : EC2T_E_FORMAT);
        if (v != 2)
            ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "coder"));
        s[0] = keep;
        keep = s[1];
        s[1] = (uint8_t)v;
        /* 16-bit floats read the same layer: the stream holds no floats */
        ck_assert_status(decode_layer(ctx, s, len, 2, 18, 9, p, q),
                         v == 32 || v == 16 ? EC2T_OK : EC2T_E_FORMAT);
        s[1] = keep;
    }
    for (size_t n = 0; n < 3; n++) {
        ck_assert_status(ec2t__tsr_new(ctx, "short", s, n, &r), EC2T_E_FORMAT);
        ck_assert_ptr_null(r);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "too short"));
        r = (ec2t__tsreader *)&ta;
    }
    ck_assert_status(ec2t__tsr_new(ctx, "short", NULL, 0, &r), EC2T_E_FORMAT);
    /* a value at or above the initial range is never written */
    ck_assert_status(decode_layer(ctx, all_ff, sizeof all_ff, 2, 18, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "corrupt first bytes"));
    /* the right stream with the wrong shape: too few or too many symbols */
    ck_assert_status(decode_layer(ctx, s, len, 1, 18, 9, p, q), EC2T_E_FORMAT);
    ck_assert_status(decode_layer(ctx, s, len, 2, 9, 9, p, q), EC2T_E_FORMAT);
    free(s);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A huge layer behind a three-byte stream is refused before any decoding;
 * one just inside the length bound fails fast when the implicit bytes run
 * out; so do floats beyond what the bytes can hold. */
START_TEST(test_tstream_short_stream_for_huge_layer)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static const uint8_t s[] = {0x02, 0x20, 0x42};
    int32_t rows = 4096, cols = 9 * 4096;
    ec2t__tsreader *r = NULL;
    uint64_t *p = malloc((size_t)9 * words_of(6561) * 8), *q = malloc((size_t)9 * words_of(6561) * 8);
    uint32_t bits[2];
    ck_assert(p && q);
    ck_assert_ok(ec2t__tsr_new(ctx, "tiny", s, sizeof s, &r));
    ck_assert_status(ec2t__tsr_check_layer(r, rows, cols), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "cannot fit in a 3-byte stream"));
    ck_assert_status(ec2t__tsr_ternary(r, rows, cols, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ok(ec2t__tsr_check_layer(r, 3, 6561));
    ck_assert_status(ec2t__tsr_ternary(r, 3, 6561, 9, p, q), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "truncated"));
    ec2t__tsr_free(r);
    /* one coded byte: the bound allows two floats of 23 mantissa bits, not
     * three; the decoder finds that not even two are there */
    ck_assert_ok(ec2t__tsr_new(ctx, "tiny", s, sizeof s, &r));
    ck_assert_status(ec2t__tsr_check_floats(r, 1000), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "cannot fit"));
    ck_assert_status(ec2t__tsr_check_floats(r, 3), EC2T_E_FORMAT);
    ck_assert_status(ec2t__tsr_check_floats(r, -1), EC2T_E_FORMAT);
    ck_assert_ok(ec2t__tsr_check_floats(r, 2));
    ck_assert_status(ec2t__tsr_floats(r, EC2T__FK_WEIGHT, bits, 2), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "truncated"));
    ec2t__tsr_free(r);
    free(p);
    free(q);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The length bounds hold for what compresses best (a layer of one symbol
 * throughout, floats of 16 bits), and are within a factor 2 of it. */
START_TEST(test_tstream_length_bounds_are_tight_and_safe)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int32_t rows = 512, cols = 9 * 1024;
    size_t n = (size_t)rows * (size_t)cols, words = (size_t)rows * words_of(cols);
    int8_t *sym = malloc(n);
    uint64_t *p = malloc(words * 8), *q = malloc(words * 8);
    uint32_t *zeros = calloc(100000, sizeof *zeros);
    ck_assert(sym && p && q && zeros);
    for (int fill = -1; fill <= 1; fill++) {
        size_t len = 0;
        uint8_t *buf;
        ec2t__tsreader *r = NULL;
        memset(sym, fill, n);
        buf = round_trip(ctx, sym, rows, cols, 9, &len);
        if (fill == 0) {
            /* one decision a symbol: the cheapest stream there is */
            ck_assert_msg((double)n > 0.5 * (double)(len + 3) * EC2T__TSTREAM_MAX_SYMBOLS_PER_BYTE,
                          "%zu symbols in %zu bytes, the bound allows %zu", n, len,
                          (len + 3) * EC2T__TSTREAM_MAX_SYMBOLS_PER_BYTE);
            ck_assert_ok(ec2t__tsr_new(ctx, "half", buf, len / 2, &r));
            ck_assert_status(ec2t__tsr_check_layer(r, rows, cols), EC2T_E_FORMAT);
            ec2t__tsr_free(r);
        }
        free(buf);
    }
    /* 100,000 zero floats of 16 bits: 10 direct bins each */
    {
        ec2t__tswriter *w = NULL;
        ec2t__tsreader *r = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;
        for (int pass = 0; pass < 2; pass++) {
            ck_assert_ok(ec2t__tsw_new(ctx, 16, buf, &w));
            ec2t__tsw_floats(w, EC2T__FK_BIAS, zeros, 100000);
            len = ec2t__tsw_finish(w);
            ec2t__tsw_free(w);
            if (!buf)
                ck_assert_ptr_nonnull(buf = malloc(len));
        }
        ck_assert_ok(ec2t__tsr_new(ctx, "floats", buf, len, &r));
        ck_assert_ok(ec2t__tsr_check_floats(r, 50000));
        ck_assert_ok(ec2t__tsr_check_floats(r, 50000));
        ck_assert_ok(ec2t__tsr_floats(r, EC2T__FK_BIAS, zeros, 100000));
        ck_assert_ok(ec2t__tsr_finish(r));
        /* twice as many are beyond the bound */
        ck_assert_status(ec2t__tsr_check_floats(r, 100000), EC2T_E_FORMAT);
        ec2t__tsr_free(r);
        free(buf);
    }
    free(zeros);
    free(sym);
    free(p);
    free(q);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tstream_bad_arguments)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    int8_t sym[18] = {0, 1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ec2t__tswriter *w = (ec2t__tswriter *)&ta;
    ec2t__tsreader *r = NULL;
    uint64_t p[2], q[2];
    size_t len;
    uint8_t *s;
    for (int bits = 0; bits <= 64; bits++) {
        if (bits == 16 || bits == 32)
            continue;
        ck_assert_status(ec2t__tsw_new(ctx, bits, NULL, &w), EC2T_E_INVAL);
        ck_assert_ptr_null(w);
    }
    ck_assert_ok(ec2t__tsw_new(ctx, 32, NULL, &w));
    ck_assert_status(ec2t__tsw_ternary(w, sym, 0, 9, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsw_ternary(w, sym, -1, 9, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 0, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 9, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 9, -9), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsw_ternary(w, sym, 3, 6, 4), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "multiple"));
    sym[13] = 2;
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 9, 9), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "row 1, column 4"));
    sym[13] = -2;
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 9, 9), EC2T_E_INVAL);
    sym[13] = 127;
    ck_assert_status(ec2t__tsw_ternary(w, sym, 2, 9, 9), EC2T_E_INVAL);
    ec2t__tsw_free(w);
    ec2t__tsw_free(NULL);
    s = round_trip(ctx, example_sym, 2, 18, 9, &len);
    ck_assert_ok(ec2t__tsr_new(ctx, "example", s, len, &r));
    ck_assert_status(ec2t__tsr_ternary(r, 2, 18, 4, p, q), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsr_ternary(r, 0, 18, 9, p, q), EC2T_E_INVAL);
    ck_assert_status(ec2t__tsr_ternary(r, 2, -18, 9, p, q), EC2T_E_INVAL);
    ec2t__tsr_free(r);
    ec2t__tsr_free(NULL);
    free(s);
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
    const uint32_t levels[2] = {0x3f000000, 0x3e800000};
    uint8_t *buf = NULL;
    size_t len = 0, size = 0;
    uint64_t p[24], q[24];
    uint32_t got[2];
    ec2t__tswriter *w = NULL;
    ec2t__tsreader *r = NULL;
    ec2t_status st = EC2T_OK;
    for (int pass = 0; pass < 2 && st == EC2T_OK; pass++) {
        st = ec2t__tsw_new(ctx, 32, buf, &w);
        if (st == EC2T_OK) {
            ec2t__tsw_floats(w, EC2T__FK_LEVEL, levels, 2);
            st = ec2t__tsw_ternary(w, sym, 12, 90, 9);
        }
        if (st == EC2T_OK)
            len = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        if (st == EC2T_OK && pass == 0) {
            size = len;
            buf = ec2t__alloc(ctx, size, 1);
            st = buf ? EC2T_OK : EC2T_E_NOMEM;
        }
    }
    if (st == EC2T_OK) {
        ck_assert_uint_eq(len, size);
        st = ec2t__tsr_new(ctx, "scenario", buf, len, &r);
    }
    if (st == EC2T_OK)
        st = ec2t__tsr_floats(r, EC2T__FK_LEVEL, got, 2);
    if (st == EC2T_OK)
        st = ec2t__tsr_ternary(r, 12, 90, 9, p, q);
    if (st == EC2T_OK)
        st = ec2t__tsr_finish(r);
    ec2t__tsr_free(r);
    ec2t__free(ctx, buf);
    free(sym);
    return st;
}

START_TEST(test_tstream_allocation_failures)
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
    /* the context's own, then: per pass the writer and its layer state, the
     * stream, the reader and its layer state */
    ck_assert_msg(k >= 8, "only %ld allocations; the scenario tests nothing", k);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("tstream");
    TCase *tc = tcase_create("tstream");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tstream_round_trip_shapes);
    tcase_add_test(tc, test_tstream_round_trip_programs);
    tcase_add_test(tc, test_tstream_exact_bytes);
    tcase_add_test(tc, test_tstream_resnet20_beats_zero_order_entropy);
    tcase_add_test(tc, test_tstream_every_truncation);
    tcase_add_test(tc, test_tstream_random_byte_flips);
    tcase_add_test(tc, test_tstream_rejects_trailing_bytes);
    tcase_add_test(tc, test_tstream_rejects_bad_headers);
    tcase_add_test(tc, test_tstream_short_stream_for_huge_layer);
    tcase_add_test(tc, test_tstream_length_bounds_are_tight_and_safe);
    tcase_add_test(tc, test_tstream_bad_arguments);
    tcase_add_test(tc, test_tstream_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
