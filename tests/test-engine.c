/* SPDX-License-Identifier: MIT */
/* The ternary inference engine: equal to the network it was compiled from,
 * equal to PyTorch on the authors' checkpoints through every kernel set,
 * allocation-free runs, thread-independent results, files that round-trip
 * and corrupted files that are rejected. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container-private.h"
#include "engine-private.h"
#include "net-private.h"
#include "test-common.h"

static const int isas[] = {EC2T_ISA_REFERENCE, EC2T_ISA_AVX2, EC2T_ISA_AVX512};

static int
isa_available(int isa)
{
    return ec2t__isa_supported(isa == EC2T_ISA_AVX512 ? EC2T__ISA_AVX512
                               : isa == EC2T_ISA_AVX2 ? EC2T__ISA_AVX2
                                                      : EC2T__ISA_REF);
}

static float
max_diff(const float *a, const float *b, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

static void
fill(float *v, int64_t n, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = ec2t__rng_normal(&rng);
}

/* Make every conv/dense layer but the first and the last ternary. */
static void
ternarize_layers(ec2t_net *net, uint64_t seed)
{
    int32_t first = -1, last = -1;
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int32_t i = 0; i < net->n_layers; i++)
        if (net->layers[i]->kind == EC2T_LAYER_CONV2D || net->layers[i]->kind == EC2T_LAYER_DENSE) {
            first = first < 0 ? i : first;
            last = i;
        }
    for (int32_t i = 0; i < net->n_layers; i++) {
        ec2t_layer *l = net->layers[i];
        ec2t_tensor *w = l->param[EC2T_PARAM_WEIGHT];
        float wp = 0.05f + 0.1f * ec2t__rng_uniform(&rng), wn = 0.05f + 0.1f * ec2t__rng_uniform(&rng);
        if (i == first || i == last || (l->kind != EC2T_LAYER_CONV2D && l->kind != EC2T_LAYER_DENSE))
            continue;
        for (int64_t k = 0; k < w->numel; k++) {
            float u = ec2t__rng_uniform(&rng);
            w->data[k] = u < 0.6f ? 0.0f : u < 0.8f ? wp : -wn;
        }
    }
}

/* Random batchnorm statistics, so that folding is exercised for real. */
static void
randomize_bn(ec2t_net *net, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int32_t i = 0; i < net->n_layers; i++) {
        ec2t_layer *l = net->layers[i];
        if (l->kind != EC2T_LAYER_BATCHNORM)
            continue;
        for (int32_t c = 0; c < l->c; c++) {
            l->param[EC2T_PARAM_RUNNING_MEAN]->data[c] = 0.2f * ec2t__rng_normal(&rng);
            l->param[EC2T_PARAM_RUNNING_VAR]->data[c] = 0.5f + ec2t__rng_uniform(&rng);
            if (l->param[EC2T_PARAM_WEIGHT]) {
                l->param[EC2T_PARAM_WEIGHT]->data[c] = 0.8f + 0.4f * ec2t__rng_uniform(&rng);
                l->param[EC2T_PARAM_BIAS]->data[c] = 0.1f * ec2t__rng_normal(&rng);
            }
        }
    }
}

/* The engine of a network computes what the network computes in eval mode. */
static void
check_against_net(ec2t_net *net, int64_t batch, int dense_fallback, float tol)
{
    ec2t_engine *e = NULL;
    int32_t c, h, w, oc;
    int64_t in, out;
    float *x, *want, *got;
    ck_assert_ok(ec2t_net_input_shape(net, &c, &h, &w));
    ck_assert_ok(ec2t_net_output_shape(net, &oc, NULL, NULL));
    in = batch * c * h * w;
    out = batch * oc;
    x = malloc((size_t)in * sizeof(float));
    want = malloc((size_t)out * sizeof(float));
    got = malloc((size_t)out * sizeof(float));
    fill(x, in, 77);
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_net_forward(net, x, (size_t)in, batch, want, (size_t)out, 0));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_DENSE_FALLBACK, dense_fallback));
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (!isa_available(isas[k]))
            continue;
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ISA, isas[k]));
        memset(got, 0, (size_t)out * sizeof(float));
        test_engine_run(e, x, batch, got, (size_t)out);
        ck_assert_msg(max_diff(got, want, out) <= tol, "isa %d batch %lld: off by %g", isas[k],
                      (long long)batch, (double)max_diff(got, want, out));
    }
    ec2t_engine_free(e);
    free(x);
    free(want);
    free(got);
}

START_TEST(test_engine_matches_net)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL;
    /* LeNet-5: flatten, max pooling, biases, ReLUs after dense layers */
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 16, 16, 5, 0, &net));
    ternarize_layers(net, 1);
    for (int64_t b = 1; b <= 5; b += 4)
        for (int fb = 0; fb < 2; fb++)
            check_against_net(net, b, fb, 1e-4f);
    ec2t_net_free(net);
    /* a ResNet: folded batchnorm, option-A shortcuts */
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 12, 12, 10, 0, &net));
    ternarize_layers(net, 2);
    randomize_bn(net, 3);
    for (int64_t b = 1; b <= 9; b += 8)
        for (int fb = 0; fb < 2; fb++)
            check_against_net(net, b, fb, 1e-4f);
    ec2t_net_free(net);
    /* EC2T blocks: a batchnorm before a conv stays an affine step; 1x1 projections */
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.3f, 1, 10, 10, 4, 0, &net));
    ternarize_layers(net, 4);
    randomize_bn(net, 5);
    check_against_net(net, 3, 0, 1e-4f);
    check_against_net(net, 3, 1, 1e-4f);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Dense copies only where they run: a ternary op keeps float rows only if
 * it prefers the dense kernels (few zeros), and both kinds stay exact. */
START_TEST(test_engine_dense_copies_only_where_they_run)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 1}, widths[3] = {16, 16, 32};
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    ec2t__rng rng;
    int with = 0, without = 0, layer = 0;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 16, 16, 10, 0, &net));
    ternarize_layers(net, 21);
    ec2t__rng_seed(&rng, 22);
    /* every other ternary layer nearly dense: 10 % zeros */
    for (int32_t i = 0; i < net->n_layers; i++) {
        ec2t_tensor *w = net->layers[i]->param[EC2T_PARAM_WEIGHT];
        float wp = 0, wn = 0;
        if (net->layers[i]->kind != EC2T_LAYER_CONV2D || layer++ % 2 == 0)
            continue;
        for (int64_t k = 0; k < w->numel; k++) { /* the layer's own two values */
            wp = w->data[k] > 0 ? w->data[k] : wp;
            wn = w->data[k] < 0 ? w->data[k] : wn;
        }
        for (int64_t k = 0; k < w->numel; k++)
            if (w->data[k] == 0.0f && ec2t__rng_uniform(&rng) < 0.85f)
                w->data[k] = k % 2 ? wp : wn;
    }
    randomize_bn(net, 23);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    for (int32_t i = 0; i < e->n_ops; i++) {
        const ec2t__eop *op = &e->ops[i];
        if (!op->ternary)
            continue;
        ck_assert_int_eq(op->dense != NULL, op->prefer_dense != 0);
        with += op->dense != NULL;
        without += op->dense == NULL;
    }
    ck_assert_int_gt(with, 0);
    ck_assert_int_gt(without, 0);
    ec2t_engine_free(e);
    check_against_net(net, 3, 1, 1e-4f);
    check_against_net(net, 3, 0, 1e-4f);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Padding as wide as the image: every tap of some outputs reads padding. */
START_TEST(test_engine_padding_wider_than_the_image)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static const int32_t shapes[4][2] = {{1, 1}, {1, 3}, {2, 1}, {3, 3}};
    for (int s = 0; s < 4; s++) {
        ec2t_net *net = NULL;
        ec2t_layer *x;
        ck_assert_ok(ec2t_net_new(ctx, 2, shapes[s][0], shapes[s][1], &net));
        ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 8, 5, 5, 1, 2, 1, 0, &x));
        ck_assert_ok(ec2t_net_add_batchnorm(net, x, 0, &x));
        ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
        ck_assert_ok(ec2t_net_add_conv2d(net, x, 8, 3, 3, 1, 1, 1, 0, &x));
        ck_assert_ok(ec2t_net_add_conv2d(net, x, 8, 3, 3, 1, 1, 1, 0, &x));
        ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
        ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, NULL));
        ck_assert_ok(ec2t_net_init(net, 31));
        ternarize_layers(net, 32);
        randomize_bn(net, 33);
        check_against_net(net, 2, 0, 1e-4f);
        ec2t_net_free(net);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Grouped convolutions (regression: the engine ran them as if every output
 * read the first group's inputs, and lowered all input channels into a
 * scratch sized for one group, past the end of the workspace). */
START_TEST(test_engine_grouped_conv_matches_net)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ck_assert_ok(ec2t_net_new(ctx, 4, 7, 6, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 6, 3, 3, 2, 1, 2, 0, &x));
    ck_assert_ok(ec2t_net_add_batchnorm(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 1, 1, 1, 0, 3, EC2T_ADD_BIAS, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 3, 2, 1, 1, 6, 0, &x));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 5, EC2T_ADD_BIAS, NULL));
    ck_assert_ok(ec2t_net_init(net, 11));
    randomize_bn(net, 12);
    for (int64_t b = 1; b <= 5; b += 2)
        check_against_net(net, b, 1, 1e-4f);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The authors' ResNet-20 checkpoints must give PyTorch's logits. */
static void
check_checkpoint(const char *name, float tol)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    char path[256];
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL, *back = NULL;
    ec2t_tensor *inputs = NULL, *want = NULL;
    float got[80];
    int64_t tern;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net));
    snprintf(path, sizeof path, "resnet20-cifar10/%s.safetensors", name);
    ck_assert_ok(ec2t_net_import_safetensors(net, test_data_path(path), 0));
    snprintf(path, sizeof path, "resnet20-cifar10/%s.logits.npy", name);
    ck_assert_ok(ec2t_tensor_load_npy(ctx, test_data_path(path), 0, &want));
    ck_assert_ok(ec2t_tensor_load_npy(ctx, test_data_path("resnet20-cifar10/inputs.npy"), 0, &inputs));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_TERNARY_LAYERS, &tern));
    ck_assert_int_eq(tern, strstr(name, "fp") ? 0 : 18);
    for (int fb = 0; fb < 2; fb++) {
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_DENSE_FALLBACK, fb));
        for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
            if (!isa_available(isas[k]))
                continue;
            ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ISA, isas[k]));
            test_engine_run(e, ec2t_tensor_data(inputs), 8, got, 80);
            ck_assert_msg(max_diff(got, ec2t_tensor_data(want), 80) <= tol,
                          "%s isa %d fallback %d: off by %g", name, isas[k], fb,
                          (double)max_diff(got, ec2t_tensor_data(want), 80));
        }
    }
    /* both encodings survive a file round trip */
    for (int enc = 0; enc < 2; enc++) {
        const char *file = test_tmpfile(0, "resnet.ec2t");
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, enc));
        ck_assert_ok(ec2t_engine_set_meta(e, "source", name));
        ck_assert_ok(ec2t_engine_save(e, file, 0));
        ck_assert_ok(ec2t_engine_load(ctx, file, 0, &back));
        test_engine_run(back, ec2t_tensor_data(inputs), 8, got, 80);
        ck_assert_float_le(max_diff(got, ec2t_tensor_data(want), 80), tol);
        {
            const char *src;
            ck_assert_ok(ec2t_engine_get_meta(back, "source", &src));
            ck_assert_str_eq(src, name);
        }
        ec2t_engine_free(back);
    }
    ec2t_engine_free(e);
    ec2t_tensor_free(inputs);
    ec2t_tensor_free(want);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_engine_authors_checkpoints_match_pytorch)
{
    check_checkpoint("resnet20_ec2t_spars64", 1e-3f);
    check_checkpoint("resnet20_ec2t_spars45", 1e-3f);
    check_checkpoint("resnet20_ec2t_spars73", 1e-3f);
    check_checkpoint("resnet20_fp", 1e-3f);
}
END_TEST

START_TEST(test_engine_removes_dead_channels_exactly)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_layer *x, *conv1, *bn1, *conv2;
    ec2t_engine *e = NULL;
    int64_t dead;
    ck_assert_ok(ec2t_net_new(ctx, 2, 6, 6, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 4, 3, 3, 1, 1, 1, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 3, 3, 1, 1, 1, 0, &conv1));
    ck_assert_ok(ec2t_net_add_batchnorm(net, conv1, 0, &bn1));
    ck_assert_ok(ec2t_net_add_relu(net, bn1, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 5, 3, 3, 1, 1, 1, 0, &conv2));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, conv2, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, &x));
    randomize_bn(net, 9);
    /* channel 2: all-zero weights and a negative bias after folding: dead */
    for (int k = 0; k < 4 * 9; k++)
        conv1->param[EC2T_PARAM_WEIGHT]->data[2 * 36 + k] = 0;
    bn1->param[EC2T_PARAM_BIAS]->data[2] = -0.5f;
    bn1->param[EC2T_PARAM_RUNNING_MEAN]->data[2] = 0.0f;
    /* channel 4: all zero too, but a positive bias keeps it alive (a constant) */
    for (int k = 0; k < 4 * 9; k++)
        conv1->param[EC2T_PARAM_WEIGHT]->data[4 * 36 + k] = 0;
    bn1->param[EC2T_PARAM_BIAS]->data[4] = 0.5f;
    bn1->param[EC2T_PARAM_RUNNING_MEAN]->data[4] = 0.0f;
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_DEAD_CHANNELS, &dead));
    ck_assert_int_eq(dead, 1);
    ec2t_engine_free(e);
    check_against_net(net, 2, 1, 1e-5f);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_engine_run_allocates_nothing)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    float x[4 * 3 * 8 * 8], y[40];
    size_t bytes;
    void *ws;
    long calls;
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 2));
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, 10, 0, &net));
    ternarize_layers(net, 6);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_workspace_size(e, 4, &bytes));
    ws = malloc(bytes);
    fill(x, 4 * 3 * 64, 1);
    /* the workers started when the thread count was set: not even the first run allocates */
    calls = ta.calls;
    for (int i = 0; i < 6; i++)
        ck_assert_ok(ec2t_engine_run(e, x, sizeof x / sizeof *x, 4, y, 40, ws, bytes, 0));
    ck_assert_int_eq(ta.calls, calls);
    /* a smaller batch fits the same workspace; a too small one is refused */
    ck_assert_ok(ec2t_engine_run(e, x, sizeof x / sizeof *x / 4, 1, y, 10, ws, bytes, 0));
    ck_assert_status(ec2t_engine_run(e, x, sizeof x / sizeof *x, 4, y, 40, ws, 100, 0), EC2T_E_RANGE);
    ck_assert_status(ec2t_engine_run(e, x, sizeof x / sizeof *x, 4, y, 39, ws, bytes, 0), EC2T_E_RANGE);
    free(ws);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The input's size is checked, not assumed. A buffer allocated with exactly
 * the short size (so that AddressSanitizer would see any read past it, as it
 * did in copy_planes before the count was passed) is refused before anything
 * is read, with both shapes named; so are a count for a batch of another size
 * and an input of another shape; the output is left as it was. */
START_TEST(test_engine_run_refuses_a_wrong_input_count)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    float *short_x = malloc(300 * sizeof(float)), *x = malloc(768 * sizeof(float)), y[40];
    size_t bytes;
    void *ws;
    ck_assert_ptr_nonnull(short_x);
    ck_assert_ptr_nonnull(x);
    fill(short_x, 300, 2);
    fill(x, 768, 3);
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, 10, 0, &net));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_workspace_size(e, 4, &bytes));
    ws = malloc(bytes);
    for (int i = 0; i < 40; i++)
        y[i] = -7.0f;
    ck_assert_status(ec2t_engine_run(e, short_x, 300, 2, y, 40, ws, bytes, 0), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx),
                     "ec2t_engine_run: input holds 300 floats; a batch of 2 of 3x8x8 needs 384");
    /* two samples' floats for a batch of four: the overread of a bare pointer */
    ck_assert_status(ec2t_engine_run(e, x, 384, 4, y, 40, ws, bytes, 0), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx),
                     "ec2t_engine_run: input holds 384 floats; a batch of 4 of 3x8x8 needs 768");
    /* too many floats is another shape, not a larger buffer */
    ck_assert_status(ec2t_engine_run(e, x, 385, 2, y, 40, ws, bytes, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_run(e, x, 0, 1, y, 40, ws, bytes, 0), EC2T_E_INVAL);
    for (int i = 0; i < 40; i++)
        ck_assert_float_eq(y[i], -7.0f);
    ck_assert_ok(ec2t_engine_run(e, x, 768, 4, y, 40, ws, bytes, 0));
    ck_assert_ok(ec2t_engine_run(e, short_x, 192, 1, y, 40, ws, bytes, 0));
    free(ws);
    free(x);
    free(short_x);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

typedef struct runner {
    ec2t_engine *e;
    const float *x;
    float y[16 * 10];
} runner;

static void *
run_thread(void *p)
{
    runner *r = p;
    size_t bytes;
    void *ws;
    ec2t_engine_workspace_size(r->e, 16, &bytes);
    ws = malloc(bytes);
    for (int i = 0; i < 20; i++)
        ec2t_engine_run(r->e, r->x, 16 * 3 * 12 * 12, 16, r->y, 160, ws, bytes, 0);
    free(ws);
    return NULL;
}

START_TEST(test_engine_threads_give_the_same_results)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {16, 16, 32};
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    float *x = malloc(16 * 3 * 12 * 12 * sizeof(float)), one[160], two[160];
    runner r[3];
    pthread_t t[3];
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 12, 12, 10, 0, &net));
    ternarize_layers(net, 7);
    randomize_bn(net, 8);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    fill(x, 16 * 3 * 144, 2);
    test_engine_run(e, x, 16, one, 160);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 2));
    test_engine_run(e, x, 16, two, 160);
    ck_assert_int_eq(memcmp(one, two, sizeof one), 0);
    /* three threads running one engine at once, each with its own workspace */
    for (int i = 0; i < 3; i++) {
        r[i].e = e;
        r[i].x = x;
        ck_assert_int_eq(pthread_create(&t[i], NULL, run_thread, &r[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(memcmp(one, r[i].y, sizeof one), 0);
    }
    free(x);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* An engine's outputs for `batch` samples of x on every kernel set, with and
 * without the dense fallback, one after another in y; asserts that no run
 * allocates. */
static void
outputs_everywhere(ec2t_engine *e, const test_alloc *ta, const float *x, int64_t batch, float *y,
                   size_t per_run)
{
    size_t bytes;
    void *ws;
    long calls;
    ck_assert_ok(ec2t_engine_workspace_size(e, batch, &bytes));
    ws = malloc(bytes);
    calls = ta->calls;
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++)
        for (int fb = 0; fb < 2; fb++) {
            float *out = y + (k * 2 + (size_t)fb) * per_run;
            memset(out, 0, per_run * sizeof(float));
            if (!isa_available(isas[k]))
                continue;
            ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ISA, isas[k]));
            ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_DENSE_FALLBACK, fb));
            ck_assert_ok(ec2t_engine_run(e, x, test_engine_input_floats(e, batch), batch, out,
                                         per_run, ws, bytes, 0));
        }
    ck_assert_msg(ta->calls == calls, "runs allocated %ld times", ta->calls - calls);
    free(ws);
}

/* One network's engine on 1, 2 and 3 threads, at batch 1 (one lane, each
 * operation split over the team) and 5 (a team again on 3 threads; lanes of
 * whole samples on 2), with the default split threshold and with every step
 * split (empty parts included: 3 workers on a 3-row layer): the outputs are
 * bitwise equal, because every kernel computes a row (output channel) the
 * same way whichever rows a call covers, so no sum changes order. */
static void
check_threads_bitwise(ec2t_context *ctx, const test_alloc *ta, ec2t_net *net, const char *what)
{
    enum { RUNS = 3 * 2, MAX_OUT = 5 * 10 };
    ec2t_engine *e = NULL;
    int32_t c, h, w, oc;
    float *x, want[RUNS * MAX_OUT], got[RUNS * MAX_OUT];
    ck_assert_ok(ec2t_net_input_shape(net, &c, &h, &w));
    ck_assert_ok(ec2t_net_output_shape(net, &oc, NULL, NULL));
    ck_assert_int_le(oc, 10);
    x = malloc((size_t)5 * c * h * w * sizeof(float));
    fill(x, (int64_t)5 * c * h * w, 41);
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    for (int64_t batch = 1; batch <= 5; batch += 4) {
        size_t per_run = (size_t)batch * (size_t)oc;
        ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 1));
        outputs_everywhere(e, ta, x, batch, want, per_run);
        for (int threads = 2; threads <= 3; threads++) {
            ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads));
            for (int every = 0; every < 2; every++) {
                int64_t keep = e->split_min_work, keep_team = e->team_min_work;
                if (every)
                    e->split_min_work = e->team_min_work = 0;
                outputs_everywhere(e, ta, x, batch, got, per_run);
                e->split_min_work = keep;
                e->team_min_work = keep_team;
                for (size_t i = 0; i < RUNS * per_run; i++)
                    ck_assert_msg(memcmp(&got[i], &want[i], sizeof(float)) == 0,
                                  "%s, batch %lld, %d threads%s, isa %d, fallback %d: output %zu "
                                  "is %.9g, not one thread's %.9g",
                                  what, (long long)batch, threads, every ? ", every step split" : "",
                                  isas[i / per_run / 2], (int)(i / per_run % 2), i % per_run,
                                  (double)got[i], (double)want[i]);
            }
        }
    }
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 1));
    ec2t_engine_free(e);
    free(x);
}

/* Every kind of operation split over 2 and 3 threads at batch 1 and 5 gives
 * one thread's results bit for bit, and no run allocates. */
START_TEST(test_engine_threads_split_operations_bitwise)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL;
    ec2t_layer *x;
    /* LeNet-5: max pooling, flatten, ternary dense layers */
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 16, 16, 5, 0, &net));
    ternarize_layers(net, 51);
    check_threads_bitwise(ctx, &ta, net, "LeNet-5");
    ec2t_net_free(net);
    /* ResNet: convs with fused residual adds, option-A shortcuts */
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 12, 12, 10, 0, &net));
    ternarize_layers(net, 52);
    randomize_bn(net, 53);
    check_threads_bitwise(ctx, &ta, net, "ResNet");
    ec2t_net_free(net);
    /* EC2T blocks: affine steps, 1x1 projections, unfused adds */
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.3f, 1, 10, 10, 4, 0, &net));
    ternarize_layers(net, 54);
    randomize_bn(net, 55);
    check_threads_bitwise(ctx, &ta, net, "EC2T blocks");
    ec2t_net_free(net);
    /* grouped convs, global average pooling, a 3-output dense layer */
    ck_assert_ok(ec2t_net_new(ctx, 4, 9, 8, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 6, 3, 3, 2, 1, 2, 0, &x));
    ck_assert_ok(ec2t_net_add_batchnorm(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 1, 1, 1, 0, 3, EC2T_ADD_BIAS, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 3, 2, 1, 1, 6, 0, &x));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, NULL));
    ck_assert_ok(ec2t_net_init(net, 56));
    randomize_bn(net, 57);
    check_threads_bitwise(ctx, &ta, net, "grouped convs");
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

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
    buf = malloc((size_t)n);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

START_TEST(test_engine_rejects_corrupt_files)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL, *back = (ec2t_engine *)&ta;
    const char *file = test_tmpfile(0, "victim.ec2t");
    uint8_t *bytes;
    size_t len;
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 12, 12, 3, 0, &net));
    ternarize_layers(net, 9);
    for (int enc = 0; enc < 2; enc++) {
        ck_assert_ok(ec2t_engine_compile(net, 0, &e));
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, enc));
        ck_assert_ok(ec2t_engine_save(e, file, 0));
        ec2t_engine_free(e);
        bytes = slurp(file, &len);
        ck_assert_ok(ec2t_engine_load_mem(ctx, bytes, len, 0, &back));
        ec2t_engine_free(back);
        for (size_t k = 0; k < len; k += k < 2048 ? 1 : 61) {
            ck_assert_int_ne(ec2t_engine_load_mem(ctx, bytes, k, 0, &back), EC2T_OK);
            ck_assert_ptr_null(back);
        }
        for (size_t k = 0; k < len; k += 7) {
            bytes[k] ^= 0x04;
            ck_assert_int_ne(ec2t_engine_load_mem(ctx, bytes, len, 0, &back), EC2T_OK);
            ck_assert_ptr_null(back);
            bytes[k] ^= 0x04;
        }
        free(bytes);
    }
    /* a model file is not a deployable file */
    ck_assert_ok(ec2t_net_save(net, test_tmpfile(1, "model.ec2tm"), 0));
    ck_assert_status(ec2t_engine_load(ctx, test_tmpfile(1, "model.ec2tm"), 0, &back), EC2T_E_FORMAT);
    ck_assert_status(ec2t_engine_load(ctx, test_tmpfile(2, "missing.ec2t"), 0, &back), EC2T_E_IO);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* One operation of a hand-made deployable file: kind, inputs, config. */
typedef struct raw_op {
    const char *kind;
    int32_t in[2], n_in;
    int32_t config[14];
} raw_op;

/* A deployable file of n raw operations (value i + 1 of shape shapes[i + 1])
 * written with the container writer, as the engine's writer never would;
 * conv and dense operations get an F32 weight of m x k. */
static uint8_t *
raw_engine_file(ec2t_context *ctx, const raw_op *ops, int32_t n, const int32_t *shapes,
                const float *weight, size_t *len)
{
    ec2t__cwriter *w = NULL;
    uint8_t *buf = NULL;
    char key[64];
    ck_assert_ok(ec2t__cw_new(ctx, &w));
    ck_assert_ok(ec2t__cw_add_str(w, "ec2t.file_kind", "deploy"));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.ops", (uint32_t)n));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.values", (uint32_t)n + 1));
    ck_assert_ok(ec2t__cw_add_array(w, "ec2t.engine.value_shapes", EC2T__KV_I32, shapes,
                                    3 * ((uint64_t)n + 1)));
    ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.engine.output", (uint32_t)n));
    for (int32_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "ec2t.op.%d.kind", (int)i);
        ck_assert_ok(ec2t__cw_add_str(w, key, ops[i].kind));
        snprintf(key, sizeof key, "ec2t.op.%d.inputs", (int)i);
        ck_assert_ok(ec2t__cw_add_array(w, key, EC2T__KV_I32, ops[i].in, (uint64_t)ops[i].n_in));
        snprintf(key, sizeof key, "ec2t.op.%d.config", (int)i);
        ck_assert_ok(ec2t__cw_add_array(w, key, EC2T__KV_I32, ops[i].config, 14));
        if (strcmp(ops[i].kind, "conv") == 0 || strcmp(ops[i].kind, "dense") == 0) {
            int64_t dims[2] = {ops[i].config[0], ops[i].config[1]};
            snprintf(key, sizeof key, "op.%d.weight", (int)i);
            ck_assert_ok(ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 2, dims, weight,
                                             (uint64_t)dims[0] * (uint64_t)dims[1] * 4));
        }
    }
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, len));
    ec2t__cw_free(w);
    return buf;
}

/* Geometry from a file that overflows 32 bits (regressions found by
 * fuzz-engine): a kernel of 65537 x 65537 whose k wrapped to 131073, a pad
 * of 2^31 - 1 whose output size wrapped to 6, an option-A stride whose
 * product with the height wrapped to the shortcut's; all were accepted and
 * then read or wrote outside their buffers. An average pool of 65537 x 65537
 * is valid and must divide by the true window size. */
START_TEST(test_engine_rejects_overflowing_geometry)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = (ec2t_engine *)&ta;
    float *weight = calloc(131073, sizeof *weight), x[4] = {3.0f, 1, 1, 1}, y[9], want;
    const raw_op big_kernel = {"conv", {0, 0}, 1, {1, 131073, 1, 0, 0, 65537, 65537, 1, 32768, 1, 1, 1, 1, 0}};
    const int32_t big_kernel_shapes[6] = {1, 1, 1, 1, 1, 1};
    const raw_op big_pad = {"conv", {0, 0}, 1, {1, 1, 1, 0, 0, 1, 1, 1, INT32_MAX, 8, 8, 6, 6, 0}};
    const int32_t big_pad_shapes[6] = {1, 8, 8, 1, 6, 6};
    const raw_op wrap_add[2] = {{"avgpool", {0, 0}, 1, {0, 0, 0, 0, 0, 2, 2, 1, 1, 2, 2, 3, 3, 0}},
                                {"add", {1, 0}, 2, {0, 0, 0, 0, 0, 1, 1, 1431655766, 0, 2, 2, 3, 3, 1431655766}}};
    const int32_t wrap_add_shapes[9] = {1, 2, 2, 1, 3, 3, 1, 3, 3};
    const raw_op wide_pool = {"avgpool", {0, 0}, 1, {0, 0, 0, 0, 0, 65537, 65537, 1, 32768, 1, 1, 1, 1, 0}};
    size_t len, bytes;
    uint8_t *f;
    void *ws;
    ck_assert_ptr_nonnull(weight);
    f = raw_engine_file(ctx, &big_kernel, 1, big_kernel_shapes, weight, &len);
    ck_assert_status(ec2t_engine_load_mem(ctx, f, len, 0, &e), EC2T_E_FORMAT);
    ck_assert_ptr_null(e);
    ec2t__free(ctx, f);
    f = raw_engine_file(ctx, &big_pad, 1, big_pad_shapes, weight, &len);
    ck_assert_status(ec2t_engine_load_mem(ctx, f, len, 0, &e), EC2T_E_FORMAT);
    ec2t__free(ctx, f);
    f = raw_engine_file(ctx, wrap_add, 2, wrap_add_shapes, weight, &len);
    ck_assert_status(ec2t_engine_load_mem(ctx, f, len, 0, &e), EC2T_E_FORMAT);
    ec2t__free(ctx, f);
    f = raw_engine_file(ctx, &wide_pool, 1, big_kernel_shapes, weight, &len);
    ck_assert_ok(ec2t_engine_load_mem(ctx, f, len, 0, &e));
    ec2t__free(ctx, f);
    ck_assert_ok(ec2t_engine_workspace_size(e, 1, &bytes));
    ws = malloc(bytes);
    ck_assert_ok(ec2t_engine_run(e, x, 1, 1, y, 9, ws, bytes, 0));
    want = 3.0f / (65537.0f * 65537.0f);
    ck_assert_msg(fabsf(y[0] - want) <= 1e-6f * want, "average %g, expected %g", (double)y[0], (double)want);
    free(ws);
    ec2t_engine_free(e);
    free(weight);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Configuration fields an operation does not use are ignored (regression
 * found by the reader test's differential mutants: a maxpool or flatten
 * with the ternary flag set crashed the loader, a dense layer with groups
 * other than 1 was rejected, a pool's relu flag could leak into a run). */
START_TEST(test_engine_ignores_unused_config)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *e = NULL;
    const raw_op ops[3] = {{"maxpool", {0, 0}, 1, {5, 9, 3, 1, 1, 2, 2, 2, 0, 4, 4, 2, 2, 9}},
                           {"flatten", {1, 0}, 1, {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}},
                           {"dense", {2, 0}, 1, {2, 4, 5, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3}}};
    const int32_t shapes[12] = {1, 4, 4, 1, 2, 2, 4, 1, 1, 2, 1, 1};
    const float weight[8] = {1, 2, 3, 4, -1, 0, 0, 1};
    float x[16], y[2], want[2] = {0, 0}, pooled[4];
    size_t len, bytes;
    uint8_t *f;
    void *ws;
    for (int i = 0; i < 16; i++)
        x[i] = -1.0f - (float)((i * 7) % 16); /* negative: a ReLU would zero them */
    for (int q = 0; q < 4; q++) {
        int y0 = 2 * (q / 2), x0 = 2 * (q % 2);
        float m = x[y0 * 4 + x0];
        for (int d = 1; d < 4; d++)
            m = fmaxf(m, x[(y0 + d / 2) * 4 + x0 + d % 2]);
        pooled[q] = m;
    }
    for (int r = 0; r < 2; r++)
        for (int q = 0; q < 4; q++)
            want[r] += weight[r * 4 + q] * pooled[q];
    f = raw_engine_file(ctx, ops, 3, shapes, weight, &len);
    ck_assert_ok(ec2t_engine_load_mem(ctx, f, len, 0, &e));
    ec2t__free(ctx, f);
    ck_assert_ok(ec2t_engine_workspace_size(e, 1, &bytes));
    ws = malloc(bytes);
    ck_assert_ok(ec2t_engine_run(e, x, 16, 1, y, 2, ws, bytes, 0));
    ck_assert_float_eq_tol(y[0], want[0], 1e-5f);
    ck_assert_float_eq_tol(y[1], want[1], 1e-5f);
    free(ws);
    ec2t_engine_free(e);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_engine_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL;
    int64_t v;
    size_t bytes;
    float x[144], y[3];
    const char *s;
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 12, 12, 3, 0, &net));
    ck_assert_status(ec2t_engine_compile(NULL, 0, &e), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_compile(net, 1, &e), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_compile(net, 0, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_ISA, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_OPS, 2), EC2T_E_STATE);
    ck_assert_status(ec2t_engine_set_int(e, (ec2t_engine_param)999, 2), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_engine_get_int(e, (ec2t_engine_param)999, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_engine_get_int(e, EC2T_ENGINE_OPS, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_OUTPUTS, &v));
    ck_assert_int_eq(v, 3);
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_H, &v));
    ck_assert_int_eq(v, 12);
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_ACTIVE_ISA, &v));
    ck_assert(isa_available((int)v));
    ck_assert_status(ec2t_engine_workspace_size(e, 0, &bytes), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_workspace_size(e, 1, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_run(e, NULL, 144, 1, y, 3, x, sizeof x, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_run(e, x, 144, 1, y, 3, x, sizeof x, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_meta(e, "Bad Key", "x"), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_get_meta(e, "nothing", &s), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_set_meta(e, "source", "a"));
    ck_assert_ok(ec2t_engine_set_meta(e, "source", "b"));
    ck_assert_ok(ec2t_engine_get_meta(e, "source", &s));
    ck_assert_str_eq(s, "b");
    ck_assert_status(ec2t_engine_save(e, NULL, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_save(e, "/nonexistent-dir/x.ec2t", 0), EC2T_E_IO);
    {
        ec2t_engine *none = e;
        ck_assert_status(ec2t_engine_load(NULL, "x", 0, &none), EC2T_E_INVAL);
        ck_assert_status(ec2t_engine_load_mem(ctx, NULL, 3, 0, &none), EC2T_E_INVAL);
        ck_assert_ptr_null(none);
    }
    ck_assert_status(ec2t_engine_set_int(NULL, EC2T_ENGINE_ISA, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_get_int(NULL, EC2T_ENGINE_ISA, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_workspace_size(NULL, 1, &bytes), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_run(NULL, x, 144, 1, y, 3, x, sizeof x, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_meta(NULL, "a", "b"), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_get_meta(NULL, "a", &s), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_save(NULL, "x", 0), EC2T_E_INVAL);
    ec2t_engine_free(NULL);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Issue 22: a deployable file of about 450 bytes (one relu over an input of
 * 1 x 32768 x 32768) made ec2t_engine_workspace_size ask for 4 GiB, and
 * nothing let a caller cap it. Loading must refuse it under
 * EC2T_CTX_LOAD_LIMIT (1 GiB by default), saying how much and the limit;
 * without a limit it loads, and ec2t_engine_workspace_size then answers an
 * error, not a number, once a limit below that size is set. */
START_TEST(test_engine_load_limit_covers_the_workspace)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const raw_op relu = {"relu", {0, 0}, 1, {0}};
    const int32_t shapes[6] = {1, 32768, 32768, 1, 32768, 32768};
    ec2t_engine *e = NULL;
    size_t len, bytes = 7;
    uint8_t *f = raw_engine_file(ctx, &relu, 1, shapes, NULL, &len);
    const char *msg;
    ck_assert_uint_lt(len, 512);
    ck_assert_status(ec2t_engine_load_mem(ctx, f, len, 0, &e), EC2T_E_NOMEM);
    ck_assert_ptr_null(e);
    msg = ec2t_context_errmsg(ctx);
    ck_assert_msg(strstr(msg, "workspace of a batch of 1 would need 4294967") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "EC2T_CTX_LOAD_LIMIT of 1073741824 bytes") != NULL, "%s", msg);
    /* no limit: it loads (the workspace is the caller's to allocate) */
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 0));
    ck_assert_ok(ec2t_engine_load_mem(ctx, f, len, 0, &e));
    ck_assert_ok(ec2t_engine_workspace_size(e, 1, &bytes));
    ck_assert_uint_ge(bytes, (size_t)4 << 30);
    bytes = 7;
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, INT64_C(1) << 32));
    ck_assert_status(ec2t_engine_workspace_size(e, 1, &bytes), EC2T_E_NOMEM);
    ck_assert_uint_eq(bytes, 7);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "EC2T_CTX_LOAD_LIMIT of 4294967296"));
    /* nor will a run take that size on trust */
    ck_assert_status(ec2t_engine_run(e, (float *)&bytes, test_engine_input_floats(e, 1), 1,
                                     (float *)&bytes, 1, &bytes, 8, 0),
                     EC2T_E_RANGE);
    ec2t_engine_free(e);
    ec2t__free(ctx, f);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_engine_matches_net);
    tcase_add_test(tc, test_engine_grouped_conv_matches_net);
    tcase_add_test(tc, test_engine_dense_copies_only_where_they_run);
    tcase_add_test(tc, test_engine_padding_wider_than_the_image);
    tcase_add_test(tc, test_engine_authors_checkpoints_match_pytorch);
    tcase_add_test(tc, test_engine_removes_dead_channels_exactly);
    tcase_add_test(tc, test_engine_run_allocates_nothing);
    tcase_add_test(tc, test_engine_run_refuses_a_wrong_input_count);
    tcase_add_test(tc, test_engine_threads_give_the_same_results);
    tcase_add_test(tc, test_engine_threads_split_operations_bitwise);
    tcase_add_test(tc, test_engine_rejects_corrupt_files);
    tcase_add_test(tc, test_engine_rejects_overflowing_geometry);
    tcase_add_test(tc, test_engine_ignores_unused_config);
    tcase_add_test(tc, test_engine_bad_args);
    tcase_add_test(tc, test_engine_load_limit_covers_the_workspace);
    suite_add_tcase(s, tc);
    return s;
}
