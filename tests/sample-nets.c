/* SPDX-License-Identifier: MIT */
/* Small networks that use every layer kind and every operation of the
 * deployable format, with seeded weights (some layers ternary), for the
 * Python reader test and the fuzzers' seed corpora. Public API only.
 *
 *   sample-nets OUT_DIR
 *
 * writes for each network NAME (cnn, gapnet, mlp): NAME.ec2tm (model file),
 * NAME.raw.ec2t and NAME.entropy.ec2t (deployable files), NAME.input.npy
 * (3 seeded inputs, NCHW) and NAME.output.npy (the engine's outputs for
 * them). It checks that the engine agrees with the network's own forward
 * pass and exits 1 if not. The deployable files of networks with ternary
 * convolutions hold an int8 calibration on the 3 inputs (doc/FORMAT.md
 * §13.4; the experimental ec2t_engine_calibrate). */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

#define BATCH 3
#define MAX_TERNARY 8

typedef struct sample {
    ec2t_net *net;
    ec2t_layer *ternary[MAX_TERNARY]; /* layers whose weights get three values */
    int n_ternary;
} sample;

/* xorshift64*: a uniform float in [lo, hi). */
static float
uniform(uint64_t *s, float lo, float hi)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return lo + (hi - lo) * (float)((*s * UINT64_C(2685821657736338717)) >> 40) / 16777216.0f;
}

static void
fill(ec2t_tensor *t, uint64_t *s, float lo, float hi)
{
    float *v = ec2t_tensor_data(t);
    for (int64_t i = 0; i < ec2t_tensor_numel(t); i++)
        v[i] = uniform(s, lo, hi);
}

/* -wn, 0 or +wp, about half of them 0. */
static void
fill_ternary(ec2t_tensor *t, uint64_t *s)
{
    float *v = ec2t_tensor_data(t);
    for (int64_t i = 0; i < ec2t_tensor_numel(t); i++) {
        float u = uniform(s, 0.0f, 1.0f);
        v[i] = u < 0.5f ? 0.0f : u < 0.75f ? 0.375f : -0.25f;
    }
}

static int
is_ternary(const sample *sm, const ec2t_layer *l)
{
    for (int i = 0; i < sm->n_ternary; i++)
        if (sm->ternary[i] == l)
            return 1;
    return 0;
}

/* Seeded values for every tensor: weights by fan, batchnorm statistics in
 * ranges that keep the activations of order 1. */
static void
randomize(sample *sm, uint64_t seed)
{
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    for (int32_t id = 1; id < ec2t_net_layer_count(sm->net); id++) {
        ec2t_layer *l = NULL;
        ec2t_tensor *t = NULL;
        ec2t_layer_kind kind;
        (void)ec2t_net_layer(sm->net, id, &l);
        kind = ec2t_layer_get_kind(l);
        if (kind == EC2T_LAYER_BATCHNORM) {
            if (ec2t_layer_param(l, EC2T_PARAM_WEIGHT, &t) == EC2T_OK)
                fill(t, &s, 0.5f, 1.5f);
            if (ec2t_layer_param(l, EC2T_PARAM_BIAS, &t) == EC2T_OK)
                fill(t, &s, -0.5f, 0.5f);
            if (ec2t_layer_param(l, EC2T_PARAM_RUNNING_MEAN, &t) == EC2T_OK)
                fill(t, &s, -0.5f, 0.5f);
            if (ec2t_layer_param(l, EC2T_PARAM_RUNNING_VAR, &t) == EC2T_OK)
                fill(t, &s, 0.5f, 2.0f);
        } else if (kind == EC2T_LAYER_CONV2D || kind == EC2T_LAYER_DENSE) {
            if (ec2t_layer_param(l, EC2T_PARAM_WEIGHT, &t) == EC2T_OK) {
                if (is_ternary(sm, l))
                    fill_ternary(t, &s);
                else
                    fill(t, &s, -0.5f, 0.5f);
            }
            if (ec2t_layer_param(l, EC2T_PARAM_BIAS, &t) == EC2T_OK)
                fill(t, &s, -0.25f, 0.25f);
        }
    }
}

#define TRY(call)                  \
    do {                           \
        if ((st = (call)) != EC2T_OK) \
            return st;             \
    } while (0)

/* 3x8x8: conv (ternary), batchnorm, relu, maxpool with padding, a float conv
 * with bias and a batchnorm without affine, identity and option-A residuals,
 * a grouped 1x1 conv, average pooling with padding, a batchnorm that cannot
 * be folded, flatten, ternary and float dense layers, dropout, the loss. */
static ec2t_status
build_cnn(ec2t_context *ctx, sample *sm)
{
    ec2t_layer *x, *pool, *a, *b;
    ec2t_net *n;
    ec2t_status st;
    TRY(ec2t_net_new(ctx, 3, 8, 8, &sm->net));
    n = sm->net;
    TRY(ec2t_net_add_conv2d(n, ec2t_net_input(n), 8, 3, 3, 1, 1, 1, 0, &x));
    sm->ternary[sm->n_ternary++] = x;
    TRY(ec2t_net_add_batchnorm(n, x, 0, &x));
    TRY(ec2t_net_add_relu(n, x, 0, &x));
    TRY(ec2t_net_add_maxpool(n, x, 3, 2, 1, 0, &pool));
    TRY(ec2t_net_add_conv2d(n, pool, 8, 3, 3, 1, 1, 1, EC2T_ADD_BIAS, &a));
    TRY(ec2t_net_add_batchnorm(n, a, EC2T_ADD_NO_AFFINE, &a));
    TRY(ec2t_net_add_residual(n, a, pool, 0, &a));
    TRY(ec2t_net_add_relu(n, a, 0, &a));
    TRY(ec2t_net_add_conv2d(n, a, 16, 3, 3, 2, 1, 1, 0, &b));
    sm->ternary[sm->n_ternary++] = b;
    TRY(ec2t_net_add_batchnorm(n, b, 0, &b));
    TRY(ec2t_net_add_residual(n, b, a, EC2T_ADD_OPTION_A, &b));
    TRY(ec2t_net_add_relu(n, b, 0, &b));
    TRY(ec2t_net_add_conv2d(n, b, 16, 1, 1, 1, 0, 4, EC2T_ADD_BIAS, &b));
    TRY(ec2t_net_add_avgpool(n, b, 3, 1, 1, 0, &b));
    TRY(ec2t_net_add_batchnorm(n, b, 0, &b));
    TRY(ec2t_net_add_relu(n, b, 0, &b));
    TRY(ec2t_net_add_flatten(n, b, 0, &b));
    TRY(ec2t_net_add_dense(n, b, 12, EC2T_ADD_BIAS, &b));
    sm->ternary[sm->n_ternary++] = b;
    TRY(ec2t_net_add_relu(n, b, 0, &b));
    TRY(ec2t_net_add_dropout(n, b, 0.25f, 0, &b));
    TRY(ec2t_net_add_dense(n, b, 5, EC2T_ADD_BIAS, &b));
    return ec2t_net_add_softmax_xent(n, b, 0, NULL);
}

/* 4x5x7: a non-square ternary kernel with stride 2, a maxpool of an even
 * window, a ReLU that is an operation of its own, global average pooling,
 * no loss layer. */
static ec2t_status
build_gapnet(ec2t_context *ctx, sample *sm)
{
    ec2t_layer *x;
    ec2t_net *n;
    ec2t_status st;
    TRY(ec2t_net_new(ctx, 4, 5, 7, &sm->net));
    n = sm->net;
    TRY(ec2t_net_add_conv2d(n, ec2t_net_input(n), 6, 3, 2, 2, 1, 1, 0, &x));
    sm->ternary[sm->n_ternary++] = x;
    TRY(ec2t_net_add_maxpool(n, x, 2, 1, 1, 0, &x));
    TRY(ec2t_net_add_relu(n, x, 0, &x));
    TRY(ec2t_net_add_conv2d(n, x, 6, 3, 3, 1, 0, 1, EC2T_ADD_BIAS, &x));
    TRY(ec2t_net_add_global_avgpool(n, x, 0, &x));
    return ec2t_net_add_dense(n, x, 3, 0, NULL);
}

/* 10x1x1: dense layers only. */
static ec2t_status
build_mlp(ec2t_context *ctx, sample *sm)
{
    ec2t_layer *x;
    ec2t_net *n;
    ec2t_status st;
    TRY(ec2t_net_new(ctx, 10, 1, 1, &sm->net));
    n = sm->net;
    TRY(ec2t_net_add_dense(n, ec2t_net_input(n), 7, 0, &x));
    sm->ternary[sm->n_ternary++] = x;
    TRY(ec2t_net_add_batchnorm(n, x, 0, &x));
    TRY(ec2t_net_add_relu(n, x, 0, &x));
    return ec2t_net_add_dense(n, x, 4, EC2T_ADD_BIAS, NULL);
}

static const char *
path_of(char *buf, size_t cap, const char *dir, const char *name, const char *suffix)
{
    snprintf(buf, cap, "%s/%s%s", dir, name, suffix);
    return buf;
}

/* Save floats as an .npy file of the given shape. */
static ec2t_status
save_npy(ec2t_context *ctx, const char *path, const float *v, int32_t rank, const int64_t *dims)
{
    ec2t_tensor *t = NULL;
    ec2t_status st = ec2t_tensor_new(ctx, rank, dims, &t);
    if (st == EC2T_OK)
        st = ec2t_tensor_write(t, v, (size_t)ec2t_tensor_numel(t));
    if (st == EC2T_OK)
        st = ec2t_tensor_save_npy(t, path, 0);
    ec2t_tensor_free(t);
    return st;
}

/* The input floats of n samples of an engine. */
static size_t
in_floats(const ec2t_engine *e, int64_t n)
{
    int64_t c = 0, h = 0, w = 0;
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_C, &c);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_H, &h);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_W, &w);
    return (size_t)(n * c * h * w);
}

/* The engine's outputs for the inputs x (BATCH samples) into y. */
static ec2t_status
run_engine(ec2t_engine *e, const float *x, float *y, size_t cap)
{
    size_t bytes = 0;
    void *ws;
    ec2t_status st = ec2t_engine_workspace_size(e, BATCH, &bytes);
    if (st != EC2T_OK)
        return st;
    ws = malloc(bytes);
    st = ws ? ec2t_engine_run(e, x, in_floats(e, BATCH), BATCH, y, cap, ws, bytes, 0) : EC2T_E_NOMEM;
    free(ws);
    return st;
}

/* The engine's and the network's outputs agree (float sums in other orders). */
static int
agree(const char *name, const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-4f * (1.0f + fabsf(b[i])))) {
            fprintf(stderr, "sample-nets: %s: output %lld is %g in the engine, %g in the network\n",
                    name, (long long)i, (double)a[i], (double)b[i]);
            return 0;
        }
    return 1;
}

typedef struct buffers {
    float x[BATCH * 256], y[BATCH * 64], ref[BATCH * 64];
} buffers;

/* Save the model and both deployable files, and the inputs and outputs. */
static ec2t_status
emit(ec2t_context *ctx, sample *sm, const char *dir, const char *name, uint64_t seed, buffers *b)
{
    int32_t c, h, w, oc, oh, ow;
    int64_t in_dims[4] = {BATCH, 0, 0, 0}, out_dims[2] = {BATCH, 0};
    uint64_t s = seed + 7;
    ec2t_engine *e = NULL;
    char path[1024];
    ec2t_status st;
    randomize(sm, seed);
    TRY(ec2t_net_input_shape(sm->net, &c, &h, &w));
    TRY(ec2t_net_output_shape(sm->net, &oc, &oh, &ow));
    in_dims[1] = c, in_dims[2] = h, in_dims[3] = w, out_dims[1] = (int64_t)oc * oh * ow;
    for (int64_t i = 0; i < BATCH * (int64_t)c * h * w; i++)
        b->x[i] = uniform(&s, -1.0f, 1.0f);
    TRY(ec2t_net_save(sm->net, path_of(path, sizeof path, dir, name, ".ec2tm"), 0));
    TRY(ec2t_net_set_mode(sm->net, EC2T_MODE_EVAL));
    TRY(ec2t_net_forward(sm->net, b->x, (size_t)BATCH * c * h * w, BATCH, b->ref, BATCH * 64, 0));
    TRY(ec2t_engine_compile(sm->net, 0, &e));
    st = run_engine(e, b->x, b->y, BATCH * 64);
    if (st == EC2T_OK && !agree(name, b->y, b->ref, out_dims[0] * out_dims[1]))
        st = EC2T_E_FORMAT;
    if (st == EC2T_OK)
        st = ec2t_engine_calibrate(e, b->x, (size_t)BATCH * c * h * w, BATCH, 0);
    if (st == EC2T_OK)
        st = ec2t_engine_set_meta(e, "source", name);
    if (st == EC2T_OK)
        st = ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_RAW);
    if (st == EC2T_OK)
        st = ec2t_engine_save(e, path_of(path, sizeof path, dir, name, ".raw.ec2t"), 0);
    if (st == EC2T_OK)
        st = ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, EC2T_ENCODING_ENTROPY);
    if (st == EC2T_OK)
        st = ec2t_engine_save(e, path_of(path, sizeof path, dir, name, ".entropy.ec2t"), 0);
    ec2t_engine_free(e);
    if (st == EC2T_OK)
        st = save_npy(ctx, path_of(path, sizeof path, dir, name, ".input.npy"), b->x, 4, in_dims);
    if (st == EC2T_OK)
        st = save_npy(ctx, path_of(path, sizeof path, dir, name, ".output.npy"), b->y, 2, out_dims);
    return st;
}

int
main(int argc, char **argv)
{
    static const char *const names[] = {"cnn", "gapnet", "mlp"};
    ec2t_status (*const builders[])(ec2t_context *, sample *) = {build_cnn, build_gapnet, build_mlp};
    ec2t_context *ctx = NULL;
    buffers *b = malloc(sizeof *b);
    int rc = 0;
    if (argc != 2 || !b) {
        fprintf(stderr, "usage: sample-nets OUT_DIR\n");
        free(b);
        return 2;
    }
    if (ec2t_context_new(&ctx) != EC2T_OK) {
        free(b);
        return 1;
    }
    for (int i = 0; i < 3 && rc == 0; i++) {
        sample sm;
        ec2t_status st;
        memset(&sm, 0, sizeof sm);
        st = builders[i](ctx, &sm);
        if (st == EC2T_OK)
            st = emit(ctx, &sm, argv[1], names[i], (uint64_t)i + 1, b);
        if (st != EC2T_OK) {
            fprintf(stderr, "sample-nets: %s: %s (%s)\n", names[i], ec2t_status_string(st),
                    ec2t_context_errmsg(ctx));
            rc = 1;
        }
        ec2t_net_free(sm.net);
    }
    ec2t_context_free(ctx);
    free(b);
    return rc;
}
