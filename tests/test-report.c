/* SPDX-License-Identifier: MIT */
/* ec2t_report: the thesis' Table 5.3 from the authors' ResNet-20 files, small
 * networks whose every number is worked out by hand in the comments, bad
 * arguments and allocation failures. doc/METRICS.md states the rules. The
 * scoring script's conventions are the experimental EC2T_REPORT_COMPAT_SCRIPT. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report-private.h"
#include "test-common.h"

#define TABLE_FLAGS \
    (EC2T_REPORT_TREE_ADDER | EC2T_REPORT_COMPRESSED_FORMATS | EC2T_REPORT_COMPAT_SCRIPT)
#define FP_FLAGS (EC2T_REPORT_STORE_32BIT | EC2T_REPORT_MULT_32BIT | EC2T_REPORT_COMPAT_SCRIPT)

static double
get(const ec2t_report *r, int32_t index, ec2t_report_key key)
{
    double v = NAN;
    ck_assert_ok(ec2t_report_get(r, index, key, &v));
    return v;
}

/* value == want up to rounding (the counts mirror the script's double arithmetic) */
static void
check_value(const ec2t_report *r, int32_t index, ec2t_report_key key, const char *name,
            double want)
{
    double v = get(r, index, key);
    ck_assert_msg(fabs(v - want) <= 1e-9 * (1 + fabs(want)), "index %d, %s: %.12g, expected %.12g",
                  (int)index, name, v, want);
}

#define ck_assert_value(r, index, key, want) check_value(r, index, key, #key, (double)(want))

static void
set_weights(ec2t_layer *l, const float *w, size_t n)
{
    ec2t_tensor *t;
    ck_assert_ok(ec2t_layer_param(l, EC2T_PARAM_WEIGHT, &t));
    ck_assert_ok(ec2t_tensor_write(t, w, n));
}

static ec2t_report *
report(const ec2t_net *net, uint32_t flags)
{
    ec2t_report *r = NULL;
    ck_assert_ok(ec2t_report_new(net, flags, &r));
    ck_assert_ptr_nonnull(r);
    return r;
}

/* ---- Table 5.3 ------------------------------------------------------------ */

static ec2t_net *
resnet20(ec2t_context *ctx, const char *file)
{
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    char path[128];
    ec2t_net *net = NULL;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net));
    snprintf(path, sizeof path, "resnet20-cifar10/%s", file);
    ck_assert_ok(ec2t_net_import_safetensors(net, test_data_path(path), 0));
    return net;
}

/* The figures as printed: sparsity in 0.01 %, params exact, ops in 0.01 M. */
static void
check_row(const ec2t_report *r, long sparsity, long params, long adds, long mults, long flops)
{
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_SPARSITY) * 1e4), sparsity);
    ck_assert_int_eq((long)get(r, -1, EC2T_REPORT_PARAMS), params);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_ADDS) / 1e4), adds);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_MULTS) / 1e4), mults);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_FLOPS) / 1e4), flops);
}

START_TEST(test_report_resnet20_table_5_3)
{
    static const struct {
        const char *file;
        long sparsity, params, adds, mults, flops;
    } rows[] = {
        {"resnet20_ec2t_spars45.safetensors", 4515, 13441, 1061, 48, 1109},
        {"resnet20_ec2t_spars64.safetensors", 6389, 11810, 802, 48, 849},
        {"resnet20_ec2t_spars73.safetensors", 7324, 10990, 613, 47, 661},
    };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t m = 0; m < sizeof rows / sizeof rows[0]; m++) {
        ec2t_net *net = resnet20(ctx, rows[m].file);
        ec2t_report *r = report(net, TABLE_FLAGS);
        /* stem, 18 block convolutions, linear */
        ck_assert_int_eq(ec2t_report_layer_count(r), 20);
        ck_assert_value(r, -1, EC2T_REPORT_TERNARY, 18);
        ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 0);
        ck_assert_value(r, 19, EC2T_REPORT_TERNARY, 0);
        for (int32_t i = 1; i <= 18; i++)
            ck_assert_value(r, i, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_TERNARY_2);
        check_row(r, rows[m].sparsity, rows[m].params, rows[m].adds, rows[m].mults,
                  rows[m].flops);
        ec2t_report_free(r);
        ec2t_net_free(net);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_resnet20_fp_row)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = resnet20(ctx, "resnet20_fp.safetensors");
    ec2t_report *r = report(net, FP_FLAGS);
    ck_assert_value(r, -1, EC2T_REPORT_TERNARY, 0);
    /* 269 K: 432 + 16 (stem), 267,264 + 672 (blocks), 640 + 10 (linear) words */
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 269034);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_PARAMS) / 1e3), 269);
    check_row(r, 0, 269034, 4056, 4074, 8129);
    /* exactly: 40,550,400 MACs over 188,416 outputs, + one 4,096-element residual add */
    ck_assert_value(r, -1, EC2T_REPORT_MULTS, 40739456);
    ck_assert_value(r, -1, EC2T_REPORT_ADDS, 40555136);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Per-layer numbers of spars64, and what the conventions change. */
START_TEST(test_report_resnet20_layers_and_conventions)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = resnet20(ctx, "resnet20_ec2t_spars64.safetensors");
    ec2t_report *r = report(net, TABLE_FLAGS);
    ec2t_layer *l;
    /* layer1.0.conv1: two dead outputs */
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_OUT, 2);
    ck_assert_value(r, 1, EC2T_REPORT_KEPT_WEIGHTS, 14 * 16 * 9);
    ck_assert_value(r, 1, EC2T_REPORT_NONZEROS, 555);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS, 82); /* ceil((2016 + 555 + 32) / 32) */
    /* layer1.0.conv2 loses the matching inputs; layer1.1.conv1 does too, but only
     * in the script's pairing, across the residual addition */
    ck_assert_value(r, 2, EC2T_REPORT_DEAD_IN, 2);
    ck_assert_value(r, 3, EC2T_REPORT_DEAD_IN, 2);
    /* layer3.0.conv2 */
    ck_assert_value(r, 14, EC2T_REPORT_DEAD_OUT, 1);
    ck_assert_value(r, 14, EC2T_REPORT_DEAD_IN, 2);
    ck_assert_value(r, 14, EC2T_REPORT_KEPT_WEIGHTS, 35154);
    ck_assert_value(r, 14, EC2T_REPORT_NONZEROS, 13827);
    ck_assert_value(r, 14, EC2T_REPORT_WORDS, 1532);
    ck_assert_value(r, 14, EC2T_REPORT_BYTES, 4 * 1532);
    ck_assert_value(r, -1, EC2T_REPORT_WEIGHTS, 432 + 267264 + 640);
    ec2t_report_free(r);

    /* graph pairing and every residual addition: more words, more adds */
    r = report(net, EC2T_REPORT_TREE_ADDER | EC2T_REPORT_COMPRESSED_FORMATS);
    ck_assert_value(r, 3, EC2T_REPORT_DEAD_IN, 0);
    ck_assert_value(r, 2, EC2T_REPORT_DEAD_IN, 2);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 11844);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_ADDS) / 1e4), 810);
    ec2t_report_free(r);

    /* the committed script (block convolutions counted as full precision):
     * 56.3 K params and 22.1 M FLOPs */
    for (int32_t id = 0; id < ec2t_net_layer_count(net); id++) {
        ck_assert_ok(ec2t_net_layer(net, id, &l));
        if (ec2t_layer_get_kind(l) == EC2T_LAYER_CONV2D && id > 1)
            ck_assert_ok(ec2t_layer_set_int(l, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_KEEP));
    }
    r = report(net, EC2T_REPORT_COMPAT_SCRIPT);
    ck_assert_value(r, -1, EC2T_REPORT_TERNARY, 0);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 56287);
    ck_assert_int_eq(llround(get(r, -1, EC2T_REPORT_FLOPS) / 1e5), 221);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- small networks worked out by hand ------------------------------------ */

/* A: conv 2 -> 3, 3x3, pad 1, on 2x4x4; output channel 1 is dead.
 * out 0: 4 non-zeros, out 2: 3; values {-0.25, 0, 0.5}. */
static const float hand_a[54] = {
    0.5f, 0, 0, 0, -0.25f, 0, 0, 0, 0.5f, /* out 0, in 0 */
    0, 0, 0, 0, 0.5f, 0, 0, 0, 0,         /* out 0, in 1 */
    0, 0, 0, 0, 0, 0, 0, 0, 0,            /* out 1 (dead) */
    0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0,            /* out 2, in 0 */
    -0.25f, -0.25f, 0, 0, 0, 0, 0, 0, 0.5f /* out 2, in 1 */
};
/* B: conv 3 -> 2 on A's output; its input 1 is A's dead channel (4 of its 8
 * non-zeros go with it); values {-1, 0, 2}. */
static const float hand_b[54] = {
    2, 0, 0, 0, 0, 0, 0, 0, 0,  /* out 0, in 0 */
    2, 2, 2, 0, 0, 0, 0, 0, 0,  /* out 0, in 1 (removed) */
    0, 0, 0, 0, -1, 0, 0, 0, 0, /* out 0, in 2 */
    0, 0, 0, 0, 0, 0, 0, 0, 0,  /* out 1, in 0 */
    -1, 0, 0, 0, 0, 0, 0, 0, 0, /* out 1, in 1 (removed) */
    2, -1, 0, 0, 0, 0, 0, 0, 0  /* out 1, in 2 */
};

static ec2t_net *
chain_net(ec2t_context *ctx)
{
    ec2t_net *net = NULL;
    ec2t_layer *a, *b;
    ck_assert_ok(ec2t_net_new(ctx, 2, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 3, 3, 3, 1, 1, 1, 0, &a));
    ck_assert_ok(ec2t_net_add_conv2d(net, a, 2, 3, 3, 1, 1, 1, 0, &b));
    set_weights(a, hand_a, 54);
    set_weights(b, hand_b, 54);
    return net;
}

START_TEST(test_report_dead_channels_and_formats)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = chain_net(ctx);
    ec2t_report *r = report(net, 0);
    ck_assert_int_eq(ec2t_report_layer_count(r), 2);
    ck_assert_value(r, 0, EC2T_REPORT_LAYER_ID, 1);
    ck_assert_value(r, 1, EC2T_REPORT_LAYER_ID, 2);
    /* A: 54 weights, 47 zeros; 2 outputs x 18 kept; 7 non-zeros */
    ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 1);
    ck_assert_value(r, 0, EC2T_REPORT_W_P, 0.5);
    ck_assert_value(r, 0, EC2T_REPORT_W_N, 0.25);
    ck_assert_value(r, 0, EC2T_REPORT_WEIGHTS, 54);
    ck_assert_value(r, 0, EC2T_REPORT_ZEROS, 47);
    ck_assert_value(r, 0, EC2T_REPORT_DEAD_OUT, 1);
    ck_assert_value(r, 0, EC2T_REPORT_DEAD_IN, 0);
    ck_assert_value(r, 0, EC2T_REPORT_KEPT_WEIGHTS, 36);
    ck_assert_value(r, 0, EC2T_REPORT_NONZEROS, 7);
    ck_assert_value(r, 0, EC2T_REPORT_SPARSITY, 29.0 / 36);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_MICRONET, 7 * 0.5 + 36 / 32.0); /* 4.625 */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CSR, 7);       /* ceil((7*17 + 3*16 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CER, 8);       /* ceil((7*16 + 2*3*16 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_1, 4); /* ceil((2*36 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_2, 3); /* ceil((36 + 7 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_TERNARY_1);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS, 4);
    ck_assert_value(r, 0, EC2T_REPORT_BYTES, 16);
    /* B: input 1 removed with A's dead output 1; 4 non-zeros left of 36 */
    ck_assert_value(r, 1, EC2T_REPORT_ZEROS, 46);
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_OUT, 0);
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_IN, 1);
    ck_assert_value(r, 1, EC2T_REPORT_KEPT_WEIGHTS, 36);
    ck_assert_value(r, 1, EC2T_REPORT_NONZEROS, 4);
    ck_assert_value(r, 1, EC2T_REPORT_SPARSITY, 8.0 / 9);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS_MICRONET, 3.125);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS_CSR, 5);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS_CER, 6);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS_TERNARY_1, 4);
    ck_assert_value(r, 1, EC2T_REPORT_WORDS_TERNARY_2, 3);
    /* without the compressed formats the MicroNet format wins here */
    ck_assert_value(r, 1, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_MICRONET);
    ck_assert_value(r, -1, EC2T_REPORT_WORDS, 7.125);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 7);
    ck_assert_value(r, -1, EC2T_REPORT_DEAD_OUT, 1);
    ck_assert_value(r, -1, EC2T_REPORT_DEAD_IN, 1);
    ck_assert_value(r, -1, EC2T_REPORT_TERNARY, 2);
    ck_assert_value(r, -1, EC2T_REPORT_SPARSITY, 93.0 / 108);
    ec2t_report_free(r);

    /* with them, ternary-2 wins both */
    r = report(net, EC2T_REPORT_COMPRESSED_FORMATS);
    ck_assert_value(r, 0, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_TERNARY_2);
    ck_assert_value(r, 1, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_TERNARY_2);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 6);
    ec2t_report_free(r);

    /* 32-bit values: A's formats are 8.125, 13, 15, 5, 4 words */
    r = report(net, EC2T_REPORT_STORE_32BIT | EC2T_REPORT_COMPRESSED_FORMATS);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_MICRONET, 8.125);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CSR, 13);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CER, 15);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_1, 5);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_2, 4);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_ops_with_and_without_tree_adder)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = chain_net(ctx);
    /* A: 2 kept outputs x 16 pixels = 32 outputs, mean fan-in 18 * 7/36 = 3.5;
     * B: 32 outputs, mean fan-in 18 * 4/36 = 2 */
    ec2t_report *r = report(net, 0);
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 2 * 32 * 0.5); /* w_p and w_n, 16-bit */
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, (3.5 - 1) * 32);
    ck_assert_value(r, 1, EC2T_REPORT_MULTS, 32);
    ck_assert_value(r, 1, EC2T_REPORT_ADDS, (2 - 1) * 32);
    ck_assert_value(r, -1, EC2T_REPORT_ADDS, 112);
    ck_assert_value(r, -1, EC2T_REPORT_MULTS, 64);
    ck_assert_value(r, -1, EC2T_REPORT_FLOPS, 176);
    ec2t_report_free(r);

    /* tree: A's 2.5 additions are 1 at 16 bits, then 1 at 17: 33 bits per
     * output channel and pixel, 33 * 2 * 16 / 32 ops; B's single addition is not
     * counted (the script's loop stops at one) */
    r = report(net, EC2T_REPORT_TREE_ADDER | EC2T_REPORT_MULT_32BIT);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 33);
    ck_assert_value(r, 1, EC2T_REPORT_ADDS, 0);
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 64);
    ec2t_report_free(r);

    /* a 32-bit tree starts at 32 bits: 64 bits, 64 ops */
    r = report(net, EC2T_REPORT_TREE_ADDER | EC2T_REPORT_STORE_32BIT);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 64);
    ec2t_report_free(r);

    /* the tree by itself: 78.2 additions -> 39 @16, 20 @17, 10 @18, 5 @19, 2 @20,
     * 1 @21, 1 @22; the width stops at 32 */
    ck_assert_double_eq_tol(ec2t__report_tree_bits(79.2, 16), 1322, 1e-9);
    ck_assert_double_eq_tol(ec2t__report_tree_bits(9, 16), 4 * 16 + 2 * 17 + 18, 1e-9);
    ck_assert_double_eq_tol(ec2t__report_tree_bits(9, 32), 7 * 32, 1e-9);
    ck_assert_double_eq_tol(ec2t__report_tree_bits(2, 16), 0, 1e-9);
    ck_assert_double_eq_tol(ec2t__report_tree_bits(0, 16), 0, 1e-9);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* input 2x4x4 -> A conv 2->2 -> bnA -> res1 = bnA + input -> relu1 -> B conv 2->2
 * -> res2 = B + relu1. A's output 0 is dead. */
START_TEST(test_report_residual_bias_relu_and_script_pairing)
{
    static const float wa[36] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, /* out 0 (dead) */
        1, 0, 0, 0, 0, 0, 0, 0, 0,  -1, 1, 0, 0, 0, 0, 0, 0, 0 /* out 1: 3 non-zeros */
    };
    static const float wb[36] = {
        2, 0, 0, 0, 0, 0, 0, 0, 0,  2, 0, 0, 0, 0, 0, 0, 0, 0, /* out 0 */
        -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0  /* out 1 */
    };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *in, *a, *x, *relu1, *b;
    ec2t_report *r;
    ck_assert_ok(ec2t_net_new(ctx, 2, 4, 4, &net));
    in = ec2t_net_input(net);
    ck_assert_ok(ec2t_net_add_conv2d(net, in, 2, 3, 3, 1, 1, 1, 0, &a));
    ck_assert_ok(ec2t_net_add_batchnorm(net, a, 0, &x));
    ck_assert_ok(ec2t_net_add_residual(net, x, in, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &relu1));
    ck_assert_ok(ec2t_net_add_conv2d(net, relu1, 2, 3, 3, 1, 1, 1, 0, &b));
    ck_assert_ok(ec2t_net_add_residual(net, b, relu1, 0, NULL));
    set_weights(a, wa, 36);
    set_weights(b, wb, 36);

    /* A: 1 kept output, 16 outputs, fan-in 3: folded bias (0.5 word, 16 adds),
     * ReLU after the residual (16 mults), the residual add (16 adds) */
    r = report(net, 0);
    ck_assert_value(r, 0, EC2T_REPORT_BIAS_WORDS, 0.5);
    ck_assert_value(r, 0, EC2T_REPORT_PARAMS, 2.0625 + 0.5); /* MicroNet: 3 / 2 + 18 / 32 */
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, (2 * 16 + 16) * 0.5);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, (3 - 1) * 16 + 16 + 16);
    /* B: no pairing across res1; 32 outputs, fan-in 18 * 3/36 = 1.5; res2 adds */
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_IN, 0);
    ck_assert_value(r, 1, EC2T_REPORT_BIAS_WORDS, 0);
    ck_assert_value(r, 1, EC2T_REPORT_MULTS, 32);
    ck_assert_value(r, 1, EC2T_REPORT_ADDS, 0.5 * 32 + 32);
    ck_assert_value(r, -1, EC2T_REPORT_ADDS, 64 + 48);
    ck_assert_value(r, -1, EC2T_REPORT_BIAS_WORDS, 0.5);
    /* zeros: 33 + 33 weights and batchnorm's beta (2) of 36 + 36 + 4 scalars */
    ck_assert_value(r, -1, EC2T_REPORT_SPARSITY, 68.0 / 76);
    ec2t_report_free(r);

    /* the script's way: B pairs with A across res1 (input 0 goes, leaving 1
     * non-zero in 18 weights, fan-in 0.5: no additions), and only res2 counts */
    r = report(net, EC2T_REPORT_COMPAT_SCRIPT);
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_IN, 1);
    ck_assert_value(r, 1, EC2T_REPORT_KEPT_WEIGHTS, 18);
    ck_assert_value(r, 1, EC2T_REPORT_NONZEROS, 1);
    ck_assert_value(r, 1, EC2T_REPORT_ADDS, 32);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, (3 - 1) * 16 + 16);
    ck_assert_value(r, -1, EC2T_REPORT_ADDS, 48 + 32);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* input 2x4x4 -> BN -> ReLU -> C conv 2->2 1x1 with full-precision values:
 * the BN and the ReLU follow no counted layer and go to the totals. */
START_TEST(test_report_full_precision_and_extras)
{
    static const float wc[4] = {0.3f, -0.7f, 0.1f, 0};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ec2t_report *r;
    double v;
    ck_assert_ok(ec2t_net_new(ctx, 2, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_batchnorm(net, ec2t_net_input(net), 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 2, 1, 1, 1, 0, 1, 0, &x));
    set_weights(x, wc, 4);
    r = report(net, EC2T_REPORT_TREE_ADDER | EC2T_REPORT_COMPRESSED_FORMATS);
    ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 0);
    ck_assert_status(ec2t_report_get(r, 0, EC2T_REPORT_W_P, &v), EC2T_E_INVAL);
    /* sparse FP: 3 values of 16 bits + a 4-bit mask; the only format */
    ck_assert_value(r, 0, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_MICRONET);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS, 1.625);
    /* 32 outputs, mean fan-in 2 * 3/4 = 1.5: 48 multiplies (24 ops), 16 adds */
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 24);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 16);
    /* BN: 2 biases (1 word), 32 adds; ReLU: 32 multiplies (16 ops) */
    ck_assert_value(r, -1, EC2T_REPORT_BIAS_WORDS, 1);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 2);
    ck_assert_value(r, -1, EC2T_REPORT_ADDS, 16 + 32);
    ck_assert_value(r, -1, EC2T_REPORT_MULTS, 24 + 16);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_all_zero_layer)
{
    static const float zero[18] = {0}, half[2] = {0.5f, 0.5f};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *z, *c;
    ec2t_report *r;
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 2, 3, 3, 1, 1, 1, 0, &z));
    ck_assert_ok(ec2t_net_add_conv2d(net, z, 1, 1, 1, 1, 0, 1, 0, &c));
    set_weights(z, zero, 18);
    set_weights(c, half, 2);
    r = report(net, EC2T_REPORT_COMPRESSED_FORMATS | EC2T_REPORT_TREE_ADDER |
                        EC2T_REPORT_COMPAT_SCRIPT);
    /* no value at all is a (trivially) ternary layer whose channels are all dead */
    ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 1);
    ck_assert_value(r, 0, EC2T_REPORT_W_P, 0);
    ck_assert_value(r, 0, EC2T_REPORT_W_N, 0);
    ck_assert_value(r, 0, EC2T_REPORT_DEAD_OUT, 2);
    ck_assert_value(r, 0, EC2T_REPORT_KEPT_WEIGHTS, 0);
    ck_assert_value(r, 0, EC2T_REPORT_SPARSITY, 1);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_MICRONET, 0);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CSR, 2);       /* ceil((16 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CER, 2);       /* ceil((2*16 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_1, 1); /* the two centroids */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_2, 1);
    ck_assert_value(r, 0, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_MICRONET);
    ck_assert_value(r, 0, EC2T_REPORT_FLOPS, 0);
    /* the next layer loses both inputs */
    ck_assert_value(r, 1, EC2T_REPORT_DEAD_IN, 2);
    ck_assert_value(r, 1, EC2T_REPORT_KEPT_WEIGHTS, 0);
    ck_assert_value(r, 1, EC2T_REPORT_NONZEROS, 0);
    ck_assert_value(r, 1, EC2T_REPORT_ADDS, 0);
    ck_assert_value(r, -1, EC2T_REPORT_SPARSITY, 18.0 / 20);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_positive_only_layer_and_compression)
{
    static const float w[18] = {0.3f, 0.3f, 0, 0, 0, 0, 0, 0, 0, /* out 0 */
                                0,    0,    0, 0, 0, 0, 0, 0, 0.3f};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *c;
    ec2t_report *r;
    double v;
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 2, 3, 3, 1, 1, 1, 0, &c));
    set_weights(c, w, 18);
    /* 32 outputs, mean fan-in 9 * 3/18 = 1.5; one centroid, one multiply each */
    r = report(net, 0);
    ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 1);
    ck_assert_value(r, 0, EC2T_REPORT_W_P, (double)0.3f);
    ck_assert_value(r, 0, EC2T_REPORT_W_N, 0);
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 32 * 0.5);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 0.5 * 32);
    ec2t_report_free(r);
    /* the script always counts two */
    r = report(net, EC2T_REPORT_COMPAT_SCRIPT);
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 2 * 32 * 0.5);
    ec2t_report_free(r);
    /* KEEP and PRUNE: sparse full precision, 1.5 multiplies per output */
    for (int mode = EC2T_COMPRESS_PRUNE; mode <= EC2T_COMPRESS_KEEP; mode++) {
        ck_assert_ok(ec2t_layer_set_int(c, EC2T_LAYER_COMPRESSION, mode));
        r = report(net, EC2T_REPORT_COMPRESSED_FORMATS);
        ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 0);
        ck_assert_status(ec2t_report_get(r, 0, EC2T_REPORT_W_N, &v), EC2T_E_INVAL);
        ck_assert_value(r, 0, EC2T_REPORT_MULTS, 1.5 * 32 * 0.5);
        ck_assert_value(r, 0, EC2T_REPORT_WORDS, 3 * 0.5 + 18 / 32.0);
        ec2t_report_free(r);
    }
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_dense_layer)
{
    static const float w[12] = {1, 0, -1, 0, /* row 1 is zero but stays: dense rows are never removed */
                                0, 0, 0, 0, 1, 1, 0, -1};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *d;
    ec2t_report *r;
    ck_assert_ok(ec2t_net_new(ctx, 4, 1, 1, &net));
    ck_assert_ok(ec2t_net_add_dense(net, ec2t_net_input(net), 3, EC2T_ADD_BIAS, &d));
    set_weights(d, w, 12);
    r = report(net, EC2T_REPORT_COMPRESSED_FORMATS);
    ck_assert_value(r, 0, EC2T_REPORT_TERNARY, 1);
    ck_assert_value(r, 0, EC2T_REPORT_DEAD_OUT, 0);
    ck_assert_value(r, 0, EC2T_REPORT_KEPT_WEIGHTS, 12);
    ck_assert_value(r, 0, EC2T_REPORT_NONZEROS, 5);
    ck_assert_value(r, 0, EC2T_REPORT_SPARSITY, 7.0 / 12);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_MICRONET, 2.875);
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CSR, 6);       /* ceil((85 + 64 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_CER, 8);       /* ceil((80 + 128 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_1, 2); /* ceil((24 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_WORDS_TERNARY_2, 2); /* ceil((12 + 5 + 32) / 32) */
    ck_assert_value(r, 0, EC2T_REPORT_FORMAT, EC2T_REPORT_FORMAT_TERNARY_1); /* first of a tie */
    ck_assert_value(r, 0, EC2T_REPORT_BIAS_WORDS, 1.5);
    ck_assert_value(r, 0, EC2T_REPORT_PARAMS, 3.5);
    /* 3 outputs, mean fan-in 4 * 5/12: 2 additions in all, plus 3 bias adds */
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 2 + 3);
    ck_assert_value(r, 0, EC2T_REPORT_MULTS, 2 * 3 * 0.5);
    ck_assert_value(r, -1, EC2T_REPORT_PARAMS, 3);
    /* weights and the (zero) biases */
    ck_assert_value(r, -1, EC2T_REPORT_SPARSITY, 10.0 / 15);
    ec2t_report_free(r);
    r = report(net, EC2T_REPORT_TREE_ADDER);
    ck_assert_value(r, 0, EC2T_REPORT_ADDS, 3);
    ec2t_report_free(r);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- bad arguments, allocation failures ------------------------------------ */

START_TEST(test_report_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = chain_net(ctx), *empty = NULL;
    ec2t_report *r = (ec2t_report *)&r, *ok;
    double v;
    ck_assert_status(ec2t_report_new(NULL, 0, &r), EC2T_E_INVAL);
    ck_assert_ptr_null(r);
    ck_assert_status(ec2t_report_new(net, 0, NULL), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx), "ec2t_report_new: out is NULL");
    r = (ec2t_report *)&r;
    ck_assert_status(ec2t_report_new(net, 0x100, &r), EC2T_E_INVAL);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "flags"));
    /* experimental flags live in bits 16 and up; an unknown one is refused too */
    ck_assert_uint_ge(EC2T_REPORT_COMPAT_SCRIPT, 1u << 16);
    ck_assert_status(ec2t_report_new(net, 1u << 17, &r), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_new(net, 16u, &r), EC2T_E_INVAL); /* the script's old value */

    ok = report(net, 0);
    ck_assert_status(ec2t_report_get(NULL, 0, EC2T_REPORT_ADDS, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, 0, EC2T_REPORT_ADDS, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, -2, EC2T_REPORT_ADDS, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, 2, EC2T_REPORT_ADDS, &v), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "index 2"));
    ck_assert_status(ec2t_report_get(ok, 0, (ec2t_report_key)699, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_report_get(ok, 0, (ec2t_report_key)719, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_report_get(ok, -1, (ec2t_report_key)725, &v), EC2T_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "unknown key 725"));
    /* per-layer keys have no total */
    ck_assert_status(ec2t_report_get(ok, -1, EC2T_REPORT_LAYER_ID, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, -1, EC2T_REPORT_FORMAT, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, -1, EC2T_REPORT_W_P, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_report_get(ok, -1, EC2T_REPORT_WORDS_CSR, &v), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "no network total"));
    ck_assert_int_eq(ec2t_report_layer_count(NULL), 0);
    ec2t_report_free(NULL);
    ec2t_report_free(ok);

    /* a network without dense or conv layers: nothing counted, totals 0 */
    ck_assert_ok(ec2t_net_new(ctx, 1, 2, 2, &empty));
    ok = report(empty, 0);
    ck_assert_int_eq(ec2t_report_layer_count(ok), 0);
    ck_assert_value(ok, -1, EC2T_REPORT_PARAMS, 0);
    ck_assert_value(ok, -1, EC2T_REPORT_SPARSITY, 0);
    ck_assert_status(ec2t_report_get(ok, 0, EC2T_REPORT_ADDS, &v), EC2T_E_INVAL);
    ec2t_report_free(ok);
    ec2t_net_free(empty);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_report_allocation_failures)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = chain_net(ctx);
    ec2t_report *r = NULL;
    long base = ta.live, k;
    for (k = 0;; k++) {
        ec2t_status st;
        ta.failures = 0;
        ta.fail_at = ta.calls + k;
        st = ec2t_report_new(net, TABLE_FLAGS, &r);
        ta.fail_at = -1;
        if (test_alloc_pass_done(&ta, st, "ec2t_report_new", k, 0))
            break;
        ck_assert_ptr_null(r);
        ck_assert_int_eq(ta.live, base);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "out of memory"));
    }
    ck_assert_int_ge(k, 4);
    ck_assert_value(r, -1, EC2T_REPORT_TERNARY, 2);
    ec2t_report_free(r);
    ck_assert_int_eq(ta.live, base);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_report_resnet20_table_5_3);
    tcase_add_test(tc, test_report_resnet20_fp_row);
    tcase_add_test(tc, test_report_resnet20_layers_and_conventions);
    tcase_add_test(tc, test_report_dead_channels_and_formats);
    tcase_add_test(tc, test_report_ops_with_and_without_tree_adder);
    tcase_add_test(tc, test_report_residual_bias_relu_and_script_pairing);
    tcase_add_test(tc, test_report_full_precision_and_extras);
    tcase_add_test(tc, test_report_all_zero_layer);
    tcase_add_test(tc, test_report_positive_only_layer_and_compression);
    tcase_add_test(tc, test_report_dense_layer);
    tcase_add_test(tc, test_report_bad_args);
    tcase_add_test(tc, test_report_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
