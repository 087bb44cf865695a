/* SPDX-License-Identifier: MIT */
/* ec2t_scaler: the thesis' rounding, FLOP growth, and function-preserving
 * transfer (width only, depth only, both) on real and random networks, and
 * the experimental grid search. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net-private.h"
#include "scaler-private.h"
#include "test-common.h"

static ec2t_scaler *
scaler(ec2t_context *ctx, double d, double w, double phi)
{
    ec2t_scaler *s = NULL;
    ck_assert_ok(ec2t_scaler_new(ctx, 0, &s));
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_DEPTH, d));
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_WIDTH, w));
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_PHI, phi));
    /* no symmetry-breaking noise: these tests check the exact transfer */
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_NOISE, 0));
    return s;
}

START_TEST(test_scaler_rounding_and_plan)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t seven[3] = {7, 7, 7}, three[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    ec2t_net *net = NULL;
    ec2t_scaler *s;
    int32_t blocks[8], w[8], n;
    /* the thesis' C100 MicroNet: phi 3.5 on (1.4, 1.2) -> 23 blocks, 32/64/120 channels */
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, seven, widths, 0.2f, 3, 32, 32, 100, 0, &net));
    s = scaler(ctx, 1.4, 1.2, 3.5);
    ck_assert_ok(ec2t_scaler_plan(s, net, blocks, w, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(blocks[0], 23);
    ck_assert_int_eq(w[0], 32);
    ck_assert_int_eq(w[1], 64);
    ck_assert_int_eq(w[2], 120);
    ec2t_scaler_free(s);
    ec2t_net_free(net);
    /* ResNet-20 at phi 1: ceil(4.2) = 5 blocks, 16*1.2 = 19.2 -> 16 < 0.9*19.2 -> 24; 40; 80 */
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, three, widths, 1, 28, 28, 10, 0, &net));
    s = scaler(ctx, 1.4, 1.2, 1.0);
    ck_assert_ok(ec2t_scaler_plan(s, net, blocks, w, NULL));
    ck_assert_int_eq(blocks[2], 5);
    ck_assert_int_eq(w[0], 24);
    ck_assert_int_eq(w[1], 40);
    ck_assert_int_eq(w[2], 80);
    /* phi 0 changes nothing */
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_PHI, 0));
    ck_assert_ok(ec2t_scaler_plan(s, net, blocks, w, NULL));
    ck_assert_int_eq(blocks[1], 3);
    ck_assert_int_eq(w[1], 32);
    ck_assert_int_eq(ec2t__scaler_round_width(8.0), 8);
    ck_assert_int_eq(ec2t__scaler_round_width(3.0), 8);
    ec2t_scaler_free(s);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_scaler_flops_grow_about_two_to_phi)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {7, 7, 7}, widths[3] = {16, 32, 64};
    ec2t_net *net = NULL, *big = NULL;
    ec2t_scaler *s = scaler(ctx, 1.4, 1.2, 2.0);
    double growth;
    ck_assert_ok(ec2t_scaler_set_int(s, EC2T_SCALE_TRANSFER, EC2T_TRANSFER_SCRATCH));
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0, 3, 32, 32, 10, 0, &net));
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &big));
    growth = (double)ec2t_net_macs(big) / (double)ec2t_net_macs(net);
    /* 2^phi = 4, before rounding; the thesis' d w^2 = 2.02 */
    ck_assert_double_gt(growth, 3.0);
    ck_assert_double_lt(growth, 5.5);
    ec2t_net_free(big);
    ec2t_net_free(net);
    ec2t_scaler_free(s);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static float
max_diff(const float *a, const float *b, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= m))
            m = fabsf(a[i] - b[i]);
    return m;
}

/* Outputs of base and its preserved super-network on the same inputs. */
static float
preserved_gap(ec2t_context *ctx, ec2t_net *base, double d, double w, const float *x, int64_t n,
              int32_t *blocks_out)
{
    ec2t_scaler *s = scaler(ctx, d, w, 1.0);
    ec2t_net *big = NULL;
    int32_t classes;
    float *y0, *y1, gap;
    ck_assert_ok(ec2t_scaler_apply(s, base, 0, &big));
    ck_assert_ok(ec2t_net_output_shape(base, &classes, NULL, NULL));
    y0 = malloc((size_t)(n * classes) * sizeof(float));
    y1 = malloc((size_t)(n * classes) * sizeof(float));
    ck_assert_ok(ec2t_net_set_mode(base, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_net_set_mode(big, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_net_forward(base, x, test_net_input_floats(base, n), n, y0, (size_t)(n * classes), 0));
    ck_assert_ok(ec2t_net_forward(big, x, test_net_input_floats(base, n), n, y1, (size_t)(n * classes), 0));
    gap = max_diff(y0, y1, n * classes);
    if (blocks_out)
        *blocks_out = big->arch.blocks[0];
    ck_assert_int_gt(ec2t_net_trainable_count(big), ec2t_net_trainable_count(base) - (d == 1 && w == 1));
    free(y0);
    free(y1);
    ec2t_net_free(big);
    ec2t_scaler_free(s);
    return gap;
}

START_TEST(test_scaler_preserves_the_authors_resnet20)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    ec2t_net *net = NULL;
    ec2t_tensor *x = NULL;
    int32_t b;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net));
    ck_assert_ok(ec2t_net_import_safetensors(net, test_data_path("resnet20-cifar10/resnet20_fp.safetensors"), 0));
    ck_assert_ok(ec2t_tensor_load_npy(ctx, test_data_path("resnet20-cifar10/inputs.npy"), 0, &x));
    /* width only, depth only, both */
    ck_assert_float_le(preserved_gap(ctx, net, 1.0, 1.5, ec2t_tensor_data(x), 8, &b), 1e-4f);
    ck_assert_int_eq(b, 3);
    ck_assert_float_le(preserved_gap(ctx, net, 2.0, 1.0, ec2t_tensor_data(x), 8, &b), 1e-4f);
    ck_assert_int_eq(b, 6);
    ck_assert_float_le(preserved_gap(ctx, net, 1.4, 1.2, ec2t_tensor_data(x), 8, &b), 1e-4f);
    ck_assert_int_eq(b, 5);
    ec2t_tensor_free(x);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Random weights and batchnorm statistics, so that copies are really tested. */
static void
randomize(ec2t_net *net, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int32_t i = 0; i < net->n_params; i++) {
        ec2t_tensor *t = net->layers[net->params[i].layer]->param[net->params[i].role];
        for (int64_t k = 0; k < t->numel; k++) {
            float u = ec2t__rng_uniform(&rng);
            t->data[k] = net->params[i].role == EC2T_PARAM_RUNNING_VAR ? 0.5f + u
                         : net->params[i].role == EC2T_PARAM_WEIGHT && t->rank == 1 ? 0.5f + u
                                                                                      : 0.4f * (u - 0.5f);
        }
    }
}

START_TEST(test_scaler_preserves_ec2t_blocks)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 2}, widths[3] = {8, 16, 24};
    ec2t_net *net = NULL;
    float *x = malloc(5 * 2 * 12 * 12 * sizeof(float));
    ec2t__rng rng;
    ec2t__rng_seed(&rng, 4);
    for (int i = 0; i < 5 * 2 * 144; i++)
        x[i] = ec2t__rng_normal(&rng);
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.2f, 2, 12, 12, 6, 0, &net));
    randomize(net, 5);
    ck_assert_float_le(preserved_gap(ctx, net, 1.0, 1.7, x, 5, NULL), 1e-4f);
    ck_assert_float_le(preserved_gap(ctx, net, 2.5, 1.0, x, 5, NULL), 1e-4f);
    ck_assert_float_le(preserved_gap(ctx, net, 1.4, 1.3, x, 5, NULL), 1e-4f);
    free(x);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_scaler_scratch_and_noise)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL, *big = NULL;
    ec2t_scaler *s = scaler(ctx, 1.0, 1.5, 1.0);
    float x[2 * 3 * 64], y0[20], y1[20];
    for (int i = 0; i < 2 * 3 * 64; i++)
        x[i] = sinf((float)i);
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, 10, 0, &net));
    randomize(net, 6);
    ck_assert_ok(ec2t_net_forward(net, x, 2 * 3 * 64, 2, y0, 20, 0));
    /* from scratch: the same architecture, other weights */
    ck_assert_ok(ec2t_scaler_set_int(s, EC2T_SCALE_TRANSFER, EC2T_TRANSFER_SCRATCH));
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &big));
    ck_assert_ok(ec2t_net_forward(big, x, 2 * 3 * 64, 2, y1, 20, 0));
    ck_assert_float_gt(max_diff(y0, y1, 20), 1e-3f);
    ec2t_net_free(big);
    /* noise: close to the base, but not equal */
    ck_assert_ok(ec2t_scaler_set_int(s, EC2T_SCALE_TRANSFER, EC2T_TRANSFER_PRESERVE));
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_NOISE, 0.01));
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &big));
    ck_assert_ok(ec2t_net_forward(big, x, 2 * 3 * 64, 2, y1, 20, 0));
    ck_assert_float_gt(max_diff(y0, y1, 20), 1e-7f);
    ck_assert_float_lt(max_diff(y0, y1, 20), 0.2f);
    ec2t_net_free(big);
    ec2t_scaler_free(s);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static int
count_candidates(void *user, int32_t i, double d, double w, double acc)
{
    int *calls = user;
    ck_assert(d >= 1 && w >= 1 && acc >= 0 && acc <= 1);
    (void)i;
    return ++*calls >= 3;
}

START_TEST(test_scaler_grid_search)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 1}, widths[2] = {4, 8};
    const double d[3] = {1.0, 1.9, 1.4}, w[3] = {1.0, 1.0, 1.2};
    double acc[3];
    float *x = malloc(60 * 64 * sizeof(float));
    int32_t y[60];
    ec2t_dataset *ds = NULL;
    ec2t_net *net = NULL;
    ec2t_scaler *s = scaler(ctx, 1.4, 1.2, 1.0);
    int calls = 0;
    for (int i = 0; i < 60; i++) {
        y[i] = i % 2;
        for (int p = 0; p < 64; p++)
            x[i * 64 + p] = (float)((p < 32) == y[i]) + 0.1f * sinf((float)(i * 64 + p));
    }
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, x, y, 60, 1, 8, 8, 2, 0, &ds));
    ck_assert_ok(ec2t_net_build_resnet(ctx, 2, blocks, widths, 1, 8, 8, 2, 0, &net));
    ck_assert_ok(ec2t_scaler_grid_search(s, net, d, w, 2, ds, ds, 1, count_candidates, &calls, acc));
    ck_assert_int_eq(calls, 2);
    ck_assert(acc[0] >= 0 && acc[1] <= 1);
    ck_assert_status(ec2t_scaler_grid_search(s, net, d, w, 3, ds, ds, 1, count_candidates, &calls, acc),
                     EC2T_E_ABORTED);
    ck_assert_status(ec2t_scaler_grid_search(s, net, d, w, 0, ds, ds, 1, NULL, NULL, acc), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_grid_search(s, net, w, d, 1, ds, ds, 0, NULL, NULL, acc), EC2T_E_INVAL);
    free(x);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_scaler_free(s);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_scaler_rejects)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 16};
    ec2t_net *net = NULL, *big = (ec2t_net *)&ta;
    ec2t_scaler *s = scaler(ctx, 1.4, 1.2, 1.0), *other = (ec2t_scaler *)&ta;
    ec2t_layer *x;
    double v;
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 28, 28, 10, 0, &net));
    ck_assert_status(ec2t_scaler_apply(s, net, 0, &big), EC2T_E_UNSUPPORTED);
    ck_assert_ptr_null(big);
    ec2t_net_free(net);
    /* a builder's network changed afterwards */
    ck_assert_ok(ec2t_net_build_resnet(ctx, 2, blocks, widths, 1, 8, 8, 2, 0, &net));
    ck_assert_ok(ec2t_net_layer(net, 1, &x));
    ck_assert_ok(ec2t_layer_set_name(x, "renamed"));
    ck_assert_status(ec2t_scaler_apply(s, net, 0, &big), EC2T_E_UNSUPPORTED);
    ec2t_net_free(net);
    ck_assert_status(ec2t_scaler_set_double(s, EC2T_SCALE_PHI, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_double(s, EC2T_SCALE_DEPTH, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_double(s, EC2T_SCALE_SEED, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_double(s, (ec2t_scale_param)999, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_scaler_set_int(s, EC2T_SCALE_TRANSFER, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_int(s, EC2T_SCALE_PHI, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_int(s, (ec2t_scale_param)999, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_scaler_get(s, (ec2t_scale_param)999, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_scaler_get(s, EC2T_SCALE_PHI, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_scaler_get(s, EC2T_SCALE_WIDTH, &v));
    ck_assert_double_eq(v, 1.2);
    ck_assert_status(ec2t_scaler_apply(s, NULL, 0, &big), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_plan(s, NULL, NULL, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_new(NULL, 0, &other), EC2T_E_INVAL);
    ck_assert_ptr_null(other);
    ck_assert_status(ec2t_scaler_set_double(NULL, EC2T_SCALE_PHI, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_set_int(NULL, EC2T_SCALE_SEED, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_get(NULL, EC2T_SCALE_PHI, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_apply(NULL, net, 0, &big), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_plan(NULL, net, NULL, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_grid_search(NULL, net, &v, &v, 1, NULL, NULL, 1, NULL, NULL, &v),
                     EC2T_E_INVAL);
    ec2t_scaler_free(NULL);
    ec2t_scaler_free(s);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A network that does not say which builder made it (an old model file, or
 * one built layer by layer) is recognised by its layers. */
START_TEST(test_scaler_recognises_unrecorded_networks)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 1}, widths[3] = {8, 16, 24};
    ec2t_net *net = NULL;
    float x[2 * 3 * 64];
    int32_t b;
    for (int i = 0; i < 2 * 3 * 64; i++)
        x[i] = cosf((float)i);
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, 4, 0, &net));
    randomize(net, 8);
    memset(&net->arch, 0, sizeof net->arch);
    ck_assert_float_le(preserved_gap(ctx, net, 1.4, 1.2, x, 2, &b), 1e-4f);
    ck_assert_int_eq(b, 3);
    ec2t_net_free(net);
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.3f, 3, 8, 8, 4, 0, &net));
    randomize(net, 9);
    memset(&net->arch, 0, sizeof net->arch);
    ck_assert_float_le(preserved_gap(ctx, net, 1.0, 1.5, x, 2, NULL), 1e-4f);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_scaler_family_survives_model_files)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 2}, widths[2] = {8, 16};
    ec2t_net *net = NULL, *back = NULL, *big = NULL;
    ec2t_scaler *s = scaler(ctx, 1.4, 1.2, 1.0);
    const char *path = test_tmpfile(0, "family.ec2tm");
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0.1f, 1, 8, 8, 3, 0, &net));
    ck_assert_ok(ec2t_net_save(net, path, 0));
    ck_assert_ok(ec2t_net_load(ctx, path, 0, &back));
    ck_assert_ok(ec2t_scaler_apply(s, back, 0, &big));
    ck_assert_int_eq(big->arch.blocks[1], 3);
    ec2t_net_free(big);
    ec2t_net_free(back);
    ec2t_net_free(net);
    ec2t_scaler_free(s);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Pairs of equal output rows of a weight (channels that are copies). */
static int
equal_rows(const ec2t_net *net, const char *name)
{
    ec2t_tensor *t = NULL;
    int64_t rows, span;
    int pairs = 0;
    for (int32_t i = 0; i < net->n_params; i++)
        if (strcmp(net->params[i].name, name) == 0)
            t = net->layers[net->params[i].layer]->param[net->params[i].role];
    ck_assert_ptr_nonnull(t);
    rows = t->dims[0];
    span = t->numel / rows;
    for (int64_t a = 0; a < rows; a++)
        for (int64_t b = a + 1; b < rows; b++)
            pairs += memcmp(t->data + a * span, t->data + b * span, (size_t)span * sizeof(float)) == 0;
    return pairs;
}

/* Issue 22: with the default noise of 0, replicated channels were exact
 * copies that training never separates. The default now breaks the
 * symmetry (seeded: the same seed gives the same network); an explicit 0
 * still makes copies. */
START_TEST(test_scaler_default_noise_breaks_symmetry)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 16, 16};
    ec2t_net *net = NULL, *big = NULL, *again = NULL;
    ec2t_scaler *s = NULL;
    double noise = -1;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 8, 8, 10, 0, &net));
    randomize(net, 8);
    ck_assert_int_eq(equal_rows(net, "layer1.0.conv1.weight"), 0);
    ck_assert_ok(ec2t_scaler_new(ctx, 0, &s));
    ck_assert_ok(ec2t_scaler_get(s, EC2T_SCALE_NOISE, &noise));
    ck_assert_double_eq(noise, 0.01);
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_DEPTH, 1.0));
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_WIDTH, 2.0));
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &big));
    ck_assert_int_eq(big->arch.widths[0], 16);
    ck_assert_int_eq(equal_rows(big, "conv1.weight"), 0);
    ck_assert_int_eq(equal_rows(big, "layer1.0.conv1.weight"), 0);
    ck_assert_int_eq(equal_rows(big, "layer3.0.conv2.weight"), 0);
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &again));
    ck_assert(ec2t__net_same_architecture(big, again));
    for (int32_t i = 0; i < big->n_params; i++) {
        const ec2t_tensor *x = big->layers[big->params[i].layer]->param[big->params[i].role];
        const ec2t_tensor *y = again->layers[again->params[i].layer]->param[again->params[i].role];
        ck_assert_int_eq(memcmp(x->data, y->data, (size_t)x->numel * sizeof(float)), 0);
    }
    ec2t_net_free(big);
    ec2t_net_free(again);
    big = NULL;
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_NOISE, 0));
    ck_assert_ok(ec2t_scaler_apply(s, net, 0, &big));
    ck_assert_int_ge(equal_rows(big, "layer1.0.conv1.weight"), 8); /* 8 copies, some of one row */
    ec2t_net_free(big);
    ec2t_scaler_free(s);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Issue 22: a base width one above a multiple of 8 with a small phi (17
 * channels at 1.2^0.1 = 1.018 round to 16) narrowed the stage while
 * ec2t_scaler_apply returned EC2T_OK and the function was lost. */
START_TEST(test_scaler_refuses_to_narrow)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {1, 1, 1}, widths[3] = {8, 17, 32};
    ec2t_net *net = NULL, *big = (ec2t_net *)&ta;
    ec2t_scaler *s = scaler(ctx, 1.4, 1.2, 0.1);
    int32_t w[8];
    const char *msg;
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.2f, 3, 8, 8, 10, 0, &net));
    ck_assert_status(ec2t_scaler_apply(s, net, 0, &big), EC2T_E_UNSUPPORTED);
    ck_assert_ptr_null(big);
    msg = ec2t_context_errmsg(ctx);
    ck_assert_msg(strstr(msg, "stage 2 (layers layer2.*) would narrow from 17 to 16") != NULL,
                  "%s", msg);
    ck_assert_status(ec2t_scaler_plan(s, net, NULL, w, NULL), EC2T_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "ec2t_scaler_plan"));
    /* scratch training would not keep a function, but still not narrow */
    ck_assert_ok(ec2t_scaler_set_int(s, EC2T_SCALE_TRANSFER, EC2T_TRANSFER_SCRATCH));
    ck_assert_status(ec2t_scaler_apply(s, net, 0, &big), EC2T_E_UNSUPPORTED);
    /* a phi that keeps every width is fine */
    ck_assert_ok(ec2t_scaler_set_double(s, EC2T_SCALE_PHI, 1.0));
    ck_assert_ok(ec2t_scaler_plan(s, net, NULL, w, NULL));
    ck_assert_int_ge(w[1], 17);
    ec2t_scaler_free(s);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("scaler");
    TCase *tc = tcase_create("scaler");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_scaler_rounding_and_plan);
    tcase_add_test(tc, test_scaler_flops_grow_about_two_to_phi);
    tcase_add_test(tc, test_scaler_preserves_the_authors_resnet20);
    tcase_add_test(tc, test_scaler_preserves_ec2t_blocks);
    tcase_add_test(tc, test_scaler_scratch_and_noise);
    tcase_add_test(tc, test_scaler_grid_search);
    tcase_add_test(tc, test_scaler_rejects);
    tcase_add_test(tc, test_scaler_family_survives_model_files);
    tcase_add_test(tc, test_scaler_recognises_unrecorded_networks);
    tcase_add_test(tc, test_scaler_default_noise_breaks_symmetry);
    tcase_add_test(tc, test_scaler_refuses_to_narrow);
    suite_add_tcase(s, tc);
    return s;
}
