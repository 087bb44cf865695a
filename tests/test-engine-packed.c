/* SPDX-License-Identifier: MIT */
/* The packed layout of deployable files (doc/FORMAT.md, "The packed
 * layout"): what the writer produces, 16-bit floats rounded as IEEE 754
 * says, hand-made programs and streams that break one rule each, all
 * rejected with EC2T_E_FORMAT, and files of forms that are not part of the
 * format refused with a message naming what they hold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container-private.h"
#include "engine-private.h"
#include "net-private.h"
#include "tstream-private.h"
#include "test-common.h"

/* One sample through an engine, with a fresh workspace. */
static void
run_one(ec2t_engine *e, const float *x, float *y, size_t cap)
{
    size_t bytes;
    void *ws;
    ck_assert_ok(ec2t_engine_workspace_size(e, 1, &bytes));
    ws = malloc(bytes);
    ck_assert_ok(ec2t_engine_run(e, x, test_engine_input_floats(e, 1), 1, y, cap, ws, bytes, 0));
    free(ws);
}

/* The weights of a dense engine with n inputs and one output, read back by
 * running it on each unit vector. */
static void
read_dense_weights(ec2t_engine *e, int n, float *w)
{
    for (int j = 0; j < n; j++) {
        float x[8] = {0};
        x[j] = 1.0f;
        run_one(e, x, &w[j], 1);
    }
}

/* LEB128, as the program stores numbers. */
static void
put_varint(uint8_t *buf, size_t *n, uint32_t v)
{
    for (; v >= 0x80; v >>= 7)
        buf[(*n)++] = (uint8_t)(0x80 | (v & 0x7F));
    buf[(*n)++] = (uint8_t)v;
}

/* A packed file written with the container writer, as libec2t's writer
 * never would: the program bytes, the stream (none if n_stream is 0) and,
 * if extra is not NULL, a U8 tensor of that name holding the stream too. */
static uint8_t *
packed_file(ec2t_context *ctx, const uint8_t *prog, size_t n_prog, const uint8_t *stream,
            size_t n_stream, const char *extra, size_t *len)
{
    ec2t__cwriter *w = NULL;
    uint8_t *buf = NULL;
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.file_kind", "deploy"));
    ck_assert_ok(ec2t__cw_add_tensor(w, "engine.program", EC2T__DT_U8, 1, (int64_t[]){(int64_t)n_prog},
                                     prog, n_prog));
    if (n_stream > 0)
        ck_assert_ok(ec2t__cw_add_tensor(w, "engine.stream", EC2T__DT_U8, 1,
                                         (int64_t[]){(int64_t)n_stream}, stream, n_stream));
    if (extra)
        ck_assert_ok(ec2t__cw_add_tensor(w, extra, EC2T__DT_U8, 1, (int64_t[]){(int64_t)n_stream},
                                         stream, n_stream));
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, len));
    ec2t__cw_free(w);
    return buf;
}

static ec2t_status
load_stream_with(ec2t_context *ctx, const uint8_t *prog, size_t n_prog, const uint8_t *stream,
                 size_t n_stream, const char *extra, ec2t_engine **out)
{
    size_t len;
    uint8_t *buf = packed_file(ctx, prog, n_prog, stream, n_stream, extra, &len);
    ec2t_status st = ec2t_engine_load_mem(ctx, buf, len, 0, out);
    ec2t__free(ctx, buf);
    return st;
}

static ec2t_status
load_stream(ec2t_context *ctx, const uint8_t *prog, size_t n_prog, const uint8_t *stream,
            size_t n_stream, ec2t_engine **out)
{
    return load_stream_with(ctx, prog, n_prog, stream, n_stream, NULL, out);
}

/* A stream of n floats of one kind (bit patterns of float_bits bits), in a
 * new buffer (ec2t__free) of *len bytes and room for 8 more. */
static uint8_t *
float_stream(ec2t_context *ctx, int float_bits, const uint32_t *bits, int64_t n, size_t *len)
{
    ec2t__tswriter *w = NULL;
    uint8_t *buf = NULL;
    for (int pass = 0; pass < 2; pass++) {
        ck_assert_ok(ec2t__tsw_new(ctx, float_bits, buf, &w));
        ec2t__tsw_floats(w, EC2T__FK_WEIGHT, bits, n);
        *len = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        if (!buf)
            buf = ec2t__alloc(ctx, *len + 8, 1);
    }
    return buf;
}

START_TEST(test_packed_writer_holds_program_and_stream)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL, *back = NULL;
    ec2t__creader *r = NULL;
    const ec2t__ctensor *t;
    const char *raw = test_tmpfile(0, "raw.ec2t"), *packed = test_tmpfile(1, "packed.ec2t");
    float x[144], want[3], got[3];
    int64_t v;
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 12, 12, 3, 0, &net));
    ck_assert_ok(ec2t_net_init(net, 5));
    for (int i = 0; i < 144; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f;
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_FLOAT_BITS, &v));
    ck_assert_int_eq(v, 32);
    run_one(e, x, want, 3);
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_RAW));
    ck_assert_ok(ec2t_engine_save(e, raw, 0));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_ENTROPY));
    ck_assert_ok(ec2t_engine_save(e, packed, 0));
    ck_assert_ok(ec2t__cr_open_file(ctx, packed, &r));
    ck_assert_uint_eq(ec2t__cr_tensor_count(r), 2);
    ck_assert_ptr_nonnull(ec2t__cr_find_tensor(r, "engine.program"));
    t = ec2t__cr_find_tensor(r, "engine.stream");
    ck_assert_int_eq(t->dtype, EC2T__DT_U8);
    ck_assert_uint_eq(t->data[0], 2);  /* the coder */
    ck_assert_uint_eq(t->data[1], 32); /* exact floats */
    ck_assert(!ec2t__cr_has_key(r, "ec2t.engine.ops"));
    ec2t__cr_free(r);
    ck_assert_ok(ec2t_engine_load(ctx, packed, 0, &back));
    ck_assert_ok(ec2t_engine_get_int(back, EC2T_ENGINE_ENCODING, &v));
    ck_assert_int_eq(v, EC2T_ENCODING_ENTROPY);
    run_one(back, x, got, 3);
    ck_assert_mem_eq(got, want, sizeof want); /* 32-bit floats: exact */
    ec2t_engine_free(back);
    ck_assert_ok(ec2t_engine_load(ctx, raw, 0, &back));
    ck_assert_ok(ec2t_engine_get_int(back, EC2T_ENGINE_ENCODING, &v));
    ck_assert_int_eq(v, EC2T_ENCODING_RAW);
    ec2t_engine_free(back);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Floats saved in 16 bits round to nearest, ties to even, as IEEE 754
 * binary16 does; too large a value is refused, not saved as infinity. */
START_TEST(test_packed_half_floats_round_to_nearest_even)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL, *back = NULL;
    ec2t_layer *x = NULL, *dense = NULL;
    const char *file = test_tmpfile(0, "half.ec2t");
    /* 1 + 2^-11: a tie, to even 1; 1 + 3 * 2^-11: a tie, to even 1 + 2^-9;
     * 65519: below the midpoint to infinity, 65504; 3 * 2^-26: a subnormal,
     * 0.75 of 2^-24, up to 2^-24; 2^-25: a tie between 0 and 2^-24, to 0;
     * -1/3: to the nearest half, -0x3555 * 2^-16 ... = -0.333251953125 */
    const float in[6] = {1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65519.0f, 0x3p-26f, 0x1p-25f, -1.0f / 3.0f};
    const float want[6] = {1.0f, 1.0f + 0x1p-9f, 65504.0f, 0x1p-24f, 0.0f, -0.333251953125f};
    float got[6];
    int64_t v;
    ck_assert_ok(ec2t_net_new(ctx, 6, 1, 1, &net));
    x = ec2t_net_input(net);
    ck_assert_ok(ec2t_net_add_dense(net, x, 1, 0, &dense));
    memcpy(dense->param[EC2T_PARAM_WEIGHT]->data, in, sizeof in);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_FLOAT_BITS, 8), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_FLOAT_BITS, 16));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_RAW));
    ck_assert_status(ec2t_engine_save(e, file, 0), EC2T_E_INVAL); /* raw files stay exact */
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_ENTROPY));
    ck_assert_ok(ec2t_engine_save(e, file, 0));
    ck_assert_ok(ec2t_engine_load(ctx, file, 0, &back));
    ck_assert_ok(ec2t_engine_get_int(back, EC2T_ENGINE_FLOAT_BITS, &v));
    ck_assert_int_eq(v, 16);
    read_dense_weights(back, 6, got);
    for (int j = 0; j < 6; j++)
        ck_assert_msg(got[j] == want[j], "weight %d: %a saved as %a, expected %a", j, (double)in[j],
                      (double)got[j], (double)want[j]);
    ec2t_engine_free(back);
    ec2t_engine_free(e);
    /* 65520 rounds to infinity in 16 bits: refused, and the old file stays */
    dense->param[EC2T_PARAM_WEIGHT]->data[2] = 65520.0f;
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_FLOAT_BITS, 16));
    ck_assert_status(ec2t_engine_save(e, file, 0), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_load(ctx, file, 0, &back));
    ec2t_engine_free(back);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Hand-made halves decode to the values IEEE 754 gives them. */
START_TEST(test_packed_half_floats_decode)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    /* 4 inputs, one dense op of 1 output: n_ops 1, output 1, input 4x1x1,
     * kind 2, input back 0, flags 0, m 1 */
    const uint8_t prog[] = {1, 1, 4, 1, 1, 2, 0, 0, 1};
    const uint16_t halves[4] = {0x3C00, 0x0001, 0x7BFF, 0x8400};
    const float want[4] = {1.0f, 0x1p-24f, 65504.0f, -0x1p-14f};
    const uint32_t bits[4] = {halves[0], halves[1], halves[2], halves[3]};
    float got[4];
    size_t n = 0;
    uint8_t *stream = float_stream(ctx, 16, bits, 4, &n);
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, stream, n, &e));
    ec2t__free(ctx, stream);
    read_dense_weights(e, 4, got);
    for (int j = 0; j < 4; j++)
        ck_assert_msg(got[j] == want[j], "half %04x read as %a", halves[j], (double)got[j]);
    ec2t_engine_free(e);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Programs that break one rule each of doc/FORMAT.md §13.2. */
START_TEST(test_packed_rejects_bad_programs)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = (ec2t_engine *)&ta;
    const uint32_t bits[5] = {0x3f000000, 0xbf800000, 0x40000000, 0x3e800000, 0x40400000};
    static const struct {
        const char *what;
        uint8_t prog[16];
        size_t n;
        int64_t n_floats;
    } bad[] = {
        {"the valid program, for reference", {1, 1, 4, 1, 1, 2, 0, 0, 1}, 9, 4},
        {"a byte after the last operation", {1, 1, 4, 1, 1, 2, 0, 0, 1, 0}, 10, 4},
        {"a truncated operation", {1, 1, 4, 1, 1, 2, 0, 0}, 8, 4},
        {"a non-minimal varint (m = 1 in two bytes)", {1, 1, 4, 1, 1, 2, 0, 0, 0x81, 0}, 10, 4},
        {"a varint of six bytes", {1, 1, 4, 1, 1, 2, 0, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0}, 14, 4},
        {"no operations", {0, 0, 4, 1, 1}, 5, 0},
        {"an output past the last value", {1, 2, 4, 1, 1, 2, 0, 0, 1}, 9, 4},
        {"an unknown kind", {1, 1, 4, 1, 1, 10, 0, 0}, 8, 0},
        {"a kind of 0", {1, 1, 4, 1, 1, 0, 0, 0}, 8, 0},
        {"an input that does not exist yet", {1, 1, 4, 1, 1, 2, 1, 0, 1}, 9, 4},
        {"an unknown flag", {1, 1, 4, 1, 1, 2, 0, 16, 1}, 9, 4},
        {"a flag the kind does not take (relu on gap)", {1, 1, 4, 1, 1, 7, 0, 1}, 8, 0},
        {"an affine without its scale", {1, 1, 4, 1, 1, 3, 0, 8}, 8, 4},
        {"a ternary layer with a stream length", {1, 1, 4, 1, 1, 2, 0, 2, 1, 0}, 10, 2},
        {"a ternary layer and no stream", {1, 1, 4, 1, 1, 2, 0, 2, 1}, 9, 0},
        {"a float layer and no stream", {1, 1, 4, 1, 1, 2, 0, 0, 1}, 9, 0},
        {"one float too many", {1, 1, 4, 1, 1, 2, 0, 0, 1}, 9, 5},
        {"one float too few", {1, 1, 4, 1, 1, 2, 0, 0, 1}, 9, 3},
        {"a dense layer on an image (4x2x1)", {1, 1, 4, 2, 1, 2, 0, 0, 1}, 9, 4},
        {"a pool window wider than the input", {1, 1, 4, 1, 1, 5, 0, 0, 3, 1, 0}, 11, 0},
        {"an input of 0 channels", {1, 1, 0, 1, 1, 4, 0, 0}, 8, 0},
    };
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        size_t n = 0;
        uint8_t *stream = bad[t].n_floats ? float_stream(ctx, 32, bits, bad[t].n_floats, &n) : NULL;
        ec2t_status st = load_stream(ctx, bad[t].prog, bad[t].n, stream, n, &e);
        ec2t__free(ctx, stream);
        if (t == 0) {
            ck_assert_ok(st);
            ec2t_engine_free(e);
            continue;
        }
        ck_assert_msg(st == EC2T_E_FORMAT, "%s: status %d", bad[t].what, (int)st);
        ck_assert_ptr_null(e);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "engine buffer"));
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The stream of a dense 4 -> 2 ternary layer: its levels and symbols sym,
 * then, if extra, one float more than the program takes. */
static uint8_t *
dense_stream(ec2t_context *ctx, const float levels[2], const int8_t sym[8], int extra, size_t *n)
{
    ec2t__tswriter *w = NULL;
    uint8_t *buf = NULL;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t bits[3];
        memcpy(bits, levels, 8);
        bits[2] = bits[0];
        ck_assert_ok(ec2t__tsw_new(ctx, 32, buf, &w));
        ec2t__tsw_floats(w, EC2T__FK_LEVEL, bits, 2);
        ck_assert_ok(ec2t__tsw_ternary(w, sym, 2, 4, 1));
        if (extra)
            ec2t__tsw_floats(w, EC2T__FK_BIAS, bits + 2, 1);
        *n = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        if (!buf)
            buf = ec2t__alloc(ctx, *n + 8, 1); /* room for a byte too many */
    }
    return buf;
}

/* What the stream holds runs, and a stream of the wrong length, with a bad
 * header or with negative levels is refused; no corrupted byte crashes the
 * loader. */
START_TEST(test_stream_rejects_bad_streams)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    const uint8_t prog[] = {1, 1, 4, 1, 1, 2, 0, 2, 2}; /* dense 4 -> 2, ternary, no length */
    const uint8_t prog_len[] = {1, 1, 4, 1, 1, 2, 0, 2, 2, 5}; /* with a stream length */
    const int8_t sym[8] = {1, 0, -1, 0, 0, 0, 1, 1};
    const float levels[2] = {0.5f, 0.25f}, negative[2] = {0.5f, -0.25f};
    float got[2], x[4] = {1, 2, 3, 4};
    size_t n = 0, n_neg = 0, n_extra = 0;
    uint8_t *stream = dense_stream(ctx, levels, sym, 0, &n);
    uint8_t *neg = dense_stream(ctx, negative, sym, 0, &n_neg);
    uint8_t *extra = dense_stream(ctx, levels, sym, 1, &n_extra);
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, stream, n, &e));
    run_one(e, x, got, 2);
    ck_assert_float_eq(got[0], 0.5f * 1 - 0.25f * 3);
    ck_assert_float_eq(got[1], 0.5f * (3 + 4));
    ec2t_engine_free(e);
    e = NULL;
    for (size_t len = 1; len < n; len++) /* truncated anywhere */
        ck_assert_status(load_stream(ctx, prog, sizeof prog, stream, len, &e), EC2T_E_FORMAT);
    stream[n] = 0;
    ck_assert_status(load_stream(ctx, prog, sizeof prog, stream, n + 1, &e), EC2T_E_FORMAT);
    ck_assert_status(load_stream(ctx, prog, sizeof prog, extra, n_extra, &e), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "left over"));
    ck_assert_status(load_stream(ctx, prog, sizeof prog, neg, n_neg, &e), EC2T_E_FORMAT);
    ck_assert_status(load_stream(ctx, prog_len, sizeof prog_len, stream, n, &e), EC2T_E_FORMAT);
    for (unsigned v = 0; v < 256; v++) { /* the header bytes */
        ec2t_status want = v == 2 ? EC2T_OK : v > 2 ? EC2T_E_UNSUPPORTED : EC2T_E_FORMAT;
        uint8_t keep = stream[0];
        stream[0] = (uint8_t)v;
        ck_assert_status(load_stream(ctx, prog, sizeof prog, stream, n, &e), want);
        ec2t_engine_free(e);
        e = NULL;
        stream[0] = keep;
        keep = stream[1];
        stream[1] = (uint8_t)v;
        ck_assert_status(load_stream(ctx, prog, sizeof prog, stream, n, &e),
                         v == 32 ? EC2T_OK : EC2T_E_FORMAT);
        ec2t_engine_free(e);
        e = NULL;
        stream[1] = keep;
    }
    for (size_t bit = 16; bit < 8 * n; bit++) { /* any other bit: refused, or another valid layer */
        ec2t_status st;
        stream[bit / 8] ^= (uint8_t)(1u << bit % 8);
        st = load_stream(ctx, prog, sizeof prog, stream, n, &e);
        ck_assert_msg(st == EC2T_OK || st == EC2T_E_FORMAT, "bit %zu: status %d", bit, (int)st);
        ec2t_engine_free(e);
        e = NULL;
        stream[bit / 8] ^= (uint8_t)(1u << bit % 8);
    }
    ec2t__free(ctx, stream);
    ec2t__free(ctx, neg);
    ec2t__free(ctx, extra);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A layer of zeros codes in a few hundred bytes however large: the loader
 * refuses one too large for its stream's bytes before allocating anything,
 * and one that could need more memory than its file may ask for, and loads
 * what the encoder wrote. */
START_TEST(test_stream_refuses_layers_too_large_for_their_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    const int32_t k = 8192;
    int8_t *sym = calloc((size_t)2048 * k, 1);
    ck_assert_ptr_nonnull(sym);
    for (int32_t m = 512; m <= 2048; m *= 4) {
        /* dense k -> m, ternary: n_ops 1, output 1, input k x 1 x 1, kind 2, back 0, flags 2, m */
        const uint32_t fields[9] = {1, 1, (uint32_t)k, 1, 1, 2, 0, 2, (uint32_t)m};
        const float levels[2] = {0.5f, 0.25f};
        uint32_t bits[2];
        uint8_t prog[64], *stream = NULL;
        ec2t__tswriter *w = NULL;
        size_t n = 0, np = 0;
        ec2t_status st;
        memcpy(bits, levels, sizeof bits);
        for (int f = 0; f < 9; f++)
            put_varint(prog, &np, fields[f]);
        for (int pass = 0; pass < 2; pass++) {
            ck_assert_ok(ec2t__tsw_new(ctx, 32, stream, &w));
            ec2t__tsw_floats(w, EC2T__FK_LEVEL, bits, 2);
            ck_assert_ok(ec2t__tsw_ternary(w, sym, m, k, 1));
            n = ec2t__tsw_finish(w);
            ec2t__tsw_free(w);
            if (!stream)
                stream = ec2t__alloc(ctx, n, 1);
        }
        st = load_stream(ctx, prog, np, stream, n, &e);
        if (m == 512) { /* 4.2 M zeros: about 920 bytes, 50 MB at most */
            ck_assert_ok(st);
            ec2t_engine_free(e);
            e = NULL;
            /* the same stream cut to a quarter cannot hold the layer */
            ck_assert_status(load_stream(ctx, prog, np, stream, n / 4, &e), EC2T_E_FORMAT);
            ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "cannot fit"));
        } else { /* 16.8 M zeros: 200 MB */
            ck_assert_status(st, EC2T_E_FORMAT);
            ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "could need"));
        }
        ck_assert_ptr_null(e);
        ec2t__free(ctx, stream);
    }
    free(sym);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A dense 4 -> 2 ternary layer with scale and bias in the packed layout:
 * the program in prog, the stream in buf (returns its length). */
static const uint8_t SMALL_PROG[] = {1, 1, 4, 1, 1, 2, 0, 14, 2}; /* dense 4 -> 2, ternary, scale, bias */

static size_t
small_stream(ec2t_context *ctx, uint8_t *buf, size_t cap)
{
    const int8_t sym[8] = {1, 0, -1, 0, 0, 0, 1, 1};
    const uint32_t levels[2] = {0x3f000000, 0x3e800000}, scale[2] = {0x3f800000, 0x40000000};
    const uint32_t bias[2] = {0xbf800000, 0x3f000000};
    ec2t__tswriter *w = NULL;
    size_t n;
    ck_assert_ok(ec2t__tsw_new(ctx, 32, buf, &w));
    ec2t__tsw_floats(w, EC2T__FK_LEVEL, levels, 2);
    ck_assert_ok(ec2t__tsw_ternary(w, sym, 2, 4, 1));
    ec2t__tsw_floats(w, EC2T__FK_SCALE, scale, 2);
    ec2t__tsw_floats(w, EC2T__FK_BIAS, bias, 2);
    n = ec2t__tsw_finish(w);
    ec2t__tsw_free(w);
    ck_assert_uint_le(n, cap);
    return n;
}

/* EC2T_CTX_LOAD_LIMIT: the 2 x 4 layer may need 96 bytes; a limit of 95
 * refuses it with EC2T_E_NOMEM before any mask is allocated, 96 passes it
 * but not the workspace (192 bytes), 192 lets it load, and a limit above libec2t's own rule does not lift that rule. */
START_TEST(test_stream_load_limit)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    uint8_t buf[64];
    size_t n = small_stream(ctx, buf, sizeof buf);
    int64_t v = -1;
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_LOAD_LIMIT, &v));
    ck_assert_int_eq(v, INT64_C(1) << 30);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 95));
    ck_assert_status(load_stream(ctx, SMALL_PROG, sizeof SMALL_PROG, buf, n, &e), EC2T_E_NOMEM);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "EC2T_CTX_LOAD_LIMIT"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "96 bytes"));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 96));
    /* the layer fits; the workspace of one sample (the limit covers it too) does not */
    ck_assert_status(load_stream(ctx, SMALL_PROG, sizeof SMALL_PROG, buf, n, &e), EC2T_E_NOMEM);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "workspace of a batch of 1"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "192 bytes"));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 192));
    ck_assert_ok(load_stream(ctx, SMALL_PROG, sizeof SMALL_PROG, buf, n, &e));
    ec2t_engine_free(e);
    e = NULL;
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 0));
    ck_assert_ok(load_stream(ctx, SMALL_PROG, sizeof SMALL_PROG, buf, n, &e));
    ec2t_engine_free(e);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Saving and loading the packed layout under allocation failure: for
 * every k, the k-th allocation fails, the call returns EC2T_E_NOMEM, nothing
 * leaks and the file saved before is untouched. */
START_TEST(test_stream_save_load_alloc_fail)
{
    const char *file = test_tmpfile(0, "alloc.ec2t");
    long k;
    for (k = 0;; k++) {
        test_alloc ta;
        ec2t_context *ctx = test_context(&ta);
        ec2t_engine *e = NULL, *back = NULL;
        uint8_t buf[64];
        size_t n = small_stream(ctx, buf, sizeof buf);
        long live;
        ec2t_status st;
        ck_assert_ok(load_stream(ctx, SMALL_PROG, sizeof SMALL_PROG, buf, n, &e));
        if (k == 0)
            ck_assert_ok(ec2t_engine_save(e, file, 0));
        live = ta.live;
        ta.fail_at = ta.calls + k;
        st = ec2t_engine_save(e, file, 0);
        if (st == EC2T_OK)
            st = ec2t_engine_load(ctx, file, 0, &back);
        ta.fail_at = -1;
        ec2t_engine_free(back);
        ck_assert_msg(ta.live == live, "%ld blocks leaked when allocation %ld failed", ta.live - live, k);
        ck_assert_ok(ec2t_engine_load(ctx, file, 0, &back)); /* the file is whole */
        ec2t_engine_free(back);
        ec2t_engine_free(e);
        ec2t_context_free(ctx);
        ck_assert_int_eq(ta.live, 0);
        if (test_alloc_pass_done(&ta, st, "packed save and load", k, 0))
            break;
    }
    ck_assert_int_gt(k, 8); /* the writer, symbols, stream, reader, masks, ... */
}
END_TEST

/* Files of two forms that development builds wrote and that are not part of
 * the format: a packed file with engine.floats or engine.coded, and a keyed
 * file whose ternary layer is a coded stream (op.<i>.tern_coded) instead of
 * TERNARY_2B masks. Each is refused with EC2T_E_FORMAT and a message naming
 * the reserved tensor it found, even beside a valid engine.stream or valid
 * masks, while names that only look alike are ignored. */
START_TEST(test_removed_forms_are_refused)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = (ec2t_engine *)&ta;
    ec2t__cwriter *w = NULL;
    /* dense 4 -> 1 and its four weights */
    const uint8_t prog[] = {1, 1, 4, 1, 1, 2, 0, 0, 1};
    const uint32_t bits[4] = {0x3f000000, 0xbf800000, 0x40000000, 0x3e800000};
    /* a coder-1 stream of a 2 x 4 layer, as development builds wrote it */
    const uint8_t coded[] = {0x01, 0x4b, 0xde, 0x7b, 0x36, 0x29, 0x09};
    const int32_t shapes[6] = {4, 1, 1, 2, 1, 1}, inputs[1] = {0};
    const int32_t config[14] = {2, 4, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* m 2, k 4, ternary */
    const float levels[2] = {0.5f, 0.25f};
    /* the writer borrows tensor data until it writes: no compound literal
     * inside the assertion's block, which would end before the write */
    const uint8_t masks[2] = {0x31, 0x50};
    static const char *const names[] = {"engine.floats", "engine.coded", "op.0.tern_coded"};
    static const char *const alike[] = {"op.tern_coded", "op..tern_coded", "op.1.tern_coded2",
                                        "xop.1.tern_coded", "op.1a.tern_coded", "engine.floats16"};
    size_t n = 0, len = 0;
    uint8_t *stream = float_stream(ctx, 32, bits, 4, &n), *buf = NULL;
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, stream, n, &e));
    ec2t_engine_free(e);
    for (int k = 0; k < 3; k++) {
        e = (ec2t_engine *)&ta;
        ck_assert_status(load_stream_with(ctx, prog, sizeof prog, stream, n, names[k], &e),
                         EC2T_E_FORMAT);
        ck_assert_ptr_null(e);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), names[k]));
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "not part of the format"));
    }
    for (size_t k = 0; k < sizeof alike / sizeof alike[0]; k++) {
        ck_assert_ok(load_stream_with(ctx, prog, sizeof prog, stream, n, alike[k], &e));
        ec2t_engine_free(e);
    }
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.file_kind", "deploy"));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.values", 2));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.engine.value_shapes", EC2T__KV_I32, shapes, 6));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.ops", 1));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.output", 1));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.op.0.kind", "dense"));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.inputs", EC2T__KV_I32, inputs, 1));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.config", EC2T__KV_I32, config, 14));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.levels", EC2T__KV_F32, levels, 2));
    ck_assert_ok(ec2t__cw_add_tensor(w, "op.0.tern_coded", EC2T__DT_U8, 1,
                                     (int64_t[]){(int64_t)sizeof coded}, coded, sizeof coded));
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, &len));
    ec2t__cw_free(w);
    e = (ec2t_engine *)&ta;
    ck_assert_status(ec2t_engine_load_mem(ctx, buf, len, 0, &e), EC2T_E_FORMAT);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "op.0.tern_coded"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "not part of the format"));
    ec2t__free(ctx, buf);
    /* beside the masks it would be read as they are: refused all the same */
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.file_kind", "deploy"));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.values", 2));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.engine.value_shapes", EC2T__KV_I32, shapes, 6));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.ops", 1));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.output", 1));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.op.0.kind", "dense"));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.inputs", EC2T__KV_I32, inputs, 1));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.config", EC2T__KV_I32, config, 14));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.op.0.levels", EC2T__KV_F32, levels, 2));
    ck_assert_ok(ec2t__cw_add_tensor(w, "op.0.tern", EC2T__DT_TERNARY_2B, 2, (int64_t[]){2, 4},
                                     masks, sizeof masks));
    ck_assert_ok(ec2t__cw_add_tensor(w, "op.12.tern_coded", EC2T__DT_U8, 1,
                                     (int64_t[]){(int64_t)sizeof coded}, coded, sizeof coded));
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, &len));
    ec2t__cw_free(w);
    ck_assert_status(ec2t_engine_load_mem(ctx, buf, len, 0, &e), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "op.12.tern_coded"));
    ec2t__free(ctx, buf);
    ec2t__free(ctx, stream);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A program that takes no floats and no symbols needs no stream (libec2t
 * writes none), and a stream that holds no bins is valid too. */
START_TEST(test_stream_absent_or_empty)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    const uint8_t prog[] = {1, 1, 4, 1, 1, 4, 0, 0}; /* relu on 4 values */
    const uint8_t empty[] = {2, 32, 0}, empty16[] = {2, 16, 0}, left_over[] = {2, 32, 0, 0};
    const float x[4] = {-1, 2, -3, 4};
    float y[4];
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, NULL, 0, &e));
    run_one(e, x, y, 4);
    ck_assert(y[0] == 0 && y[1] == 2 && y[2] == 0 && y[3] == 4);
    ec2t_engine_free(e);
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, empty, sizeof empty, &e));
    ec2t_engine_free(e);
    ck_assert_ok(load_stream(ctx, prog, sizeof prog, empty16, sizeof empty16, &e));
    ec2t_engine_free(e);
    e = NULL;
    ck_assert_status(load_stream(ctx, prog, sizeof prog, left_over, sizeof left_over, &e),
                     EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "left over"));
    ck_assert_ptr_null(e);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* An allocator that records the largest request. */
static size_t largest_request;

static void *
recording_alloc(void *user, size_t size, size_t align)
{
    if (size > largest_request)
        largest_request = size;
    return test_alloc_fn(user, size, align);
}

/* A float costs at least 9 bits of stream (16-bit floats), so a few bytes
 * cannot announce a weight matrix of 2^28 floats: the loader refuses it
 * before allocating it. Before this check it asked for 1 GiB (the largest
 * request seen here), then found the stream too short. */
START_TEST(test_stream_floats_bounded_by_its_length)
{
    test_alloc ta = {0, -1, 0, 0};
    ec2t_context *ctx = NULL;
    ec2t_engine *e = NULL;
    /* dense 16384 -> 16384, float weights: n_ops 1, output 1, input 16384 x 1 x 1 */
    uint8_t prog[32];
    const uint32_t fields[9] = {1, 1, 16384, 1, 1, 2, 0, 0, 16384};
    const uint32_t bits[1] = {0x3f000000};
    size_t np = 0, n = 0;
    uint8_t *stream;
    ck_assert_ok(ec2t_context_new_with_allocator(recording_alloc, test_release_fn, &ta, &ctx));
    for (int f = 0; f < 9; f++)
        put_varint(prog, &np, fields[f]);
    stream = float_stream(ctx, 32, bits, 1, &n);
    largest_request = 0;
    ck_assert_status(load_stream(ctx, prog, np, stream, n, &e), EC2T_E_FORMAT);
    ck_assert_msg(largest_request < (1u << 20), "a %zu-byte stream made the loader ask for %zu bytes",
                  n, largest_request);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "cannot fit"));
    ec2t__free(ctx, stream);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("engine-packed");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_packed_writer_holds_program_and_stream);
    tcase_add_test(tc, test_packed_half_floats_round_to_nearest_even);
    tcase_add_test(tc, test_packed_half_floats_decode);
    tcase_add_test(tc, test_packed_rejects_bad_programs);
    tcase_add_test(tc, test_removed_forms_are_refused);
    tcase_add_test(tc, test_stream_absent_or_empty);
    tcase_add_test(tc, test_stream_floats_bounded_by_its_length);
    tcase_add_test(tc, test_stream_rejects_bad_streams);
    tcase_add_test(tc, test_stream_refuses_layers_too_large_for_their_bytes);
    tcase_add_test(tc, test_stream_load_limit);
    tcase_add_test(tc, test_stream_save_load_alloc_fail);
    suite_add_tcase(s, tc);
    return s;
}
