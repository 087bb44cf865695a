/* SPDX-License-Identifier: MIT */
/* Layers: forward passes against naive references, and every gradient
 * (parameters and inputs) against central finite differences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnhw-private.h"
#include "conv-gemm-private.h"
#include "net-private.h"
#include "test-common.h"

#define BATCH 3
#define CLASSES 3

typedef ec2t_status (*build_fn)(ec2t_net *net, ec2t_layer *x, ec2t_layer **y);

typedef struct probe {
    ec2t_net *net;
    float *input; /* NCHW */
    int32_t labels[BATCH];
    int64_t in_size;
    ec2t__rng rng_state;
} probe;

static double
loss_of(probe *p)
{
    float loss;
    p->net->rng = p->rng_state; /* the same dropout masks in every evaluation */
    ck_assert_ok(ec2t_net_forward_loss(p->net, p->input, (size_t)p->in_size, p->labels, BATCH, BATCH, 0, &loss, NULL));
    return p->net->loss;
}

static void
fill_uniform(float *v, int64_t n, float lo, float hi, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * ec2t__rng_uniform(&rng);
}

/* A shuffled even grid over (-1, 1): no two inputs closer than 2/n and none
 * nearer zero than 1/n, so small probes cross no ReLU kink and no max-pool tie. */
static void
fill_spread(float *v, int64_t n, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = -1.0f + (2.0f * (float)i + 1.0f) / (float)n;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ec2t__rng_below(&rng, (uint64_t)i + 1);
        float t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Compare one analytic derivative with a central difference of the loss. */
static void
check_one(probe *p, float *x, float analytic, const char *what, int64_t index, double eps,
          double tol)
{
    float keep = *x;
    double up, down, numeric;
    *x = keep + (float)eps;
    up = loss_of(p);
    *x = keep - (float)eps;
    down = loss_of(p);
    *x = keep;
    numeric = (up - down) / (2 * eps);
    ck_assert_msg(fabs(numeric - analytic) <= tol * (1e-2 + fabs(numeric) + fabs(analytic)),
                  "%s[%lld]: analytic %.6g, numeric %.6g", what, (long long)index,
                  (double)analytic, numeric);
}

/* Build input -> build() -> (flatten) -> dense(CLASSES) -> loss, randomise
 * everything, and check every gradient numerically (sampled for big tensors). */
static void
gradcheck(const char *name, int32_t c, int32_t h, int32_t w, build_fn build, ec2t_net_mode mode,
          double eps, double tol)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    probe p;
    ec2t_layer *y = NULL;
    float *grad_in;
    int64_t n_params;
    memset(&p, 0, sizeof p);
    ck_assert_ok(ec2t_net_new(ctx, c, h, w, &p.net));
    ck_assert_ok(build(p.net, ec2t_net_input(p.net), &y));
    if (y->h != 1 || y->w != 1)
        ck_assert_ok(ec2t_net_add_flatten(p.net, y, 0, &y));
    ck_assert_ok(ec2t_net_add_dense(p.net, y, CLASSES, EC2T_ADD_BIAS, &y));
    ck_assert_ok(ec2t_net_add_softmax_xent(p.net, y, 0, NULL));
    ck_assert_ok(ec2t_net_set_mode(p.net, mode));
    p.net->input_grad = 1;

    p.in_size = (int64_t)BATCH * c * h * w;
    p.input = malloc((size_t)p.in_size * sizeof(float));
    fill_spread(p.input, p.in_size, 11);
    for (int i = 0; i < BATCH; i++)
        p.labels[i] = i % CLASSES;
    n_params = ec2t_net_param_count(p.net);
    for (int32_t i = 0; i < n_params; i++) {
        const char *pname;
        ec2t_tensor *v;
        ck_assert_ok(ec2t_net_param(p.net, i, &pname, &v, NULL));
        if (strstr(pname, "running_var"))
            fill_uniform(v->data, v->numel, 0.5f, 1.5f, 100 + (uint64_t)i);
        else {
            /* weights scaled by 1/sqrt(fan in) keep the logits moderate, so the
             * softmax does not saturate and the loss keeps its precision */
            float r = v->rank >= 2 ? 1.5f / sqrtf((float)(v->numel / v->dims[0])) : 0.8f;
            fill_uniform(v->data, v->numel, -r, r, 100 + (uint64_t)i);
        }
    }
    ec2t__rng_seed(&p.rng_state, 5);

    loss_of(&p);
    ck_assert_ok(ec2t_net_backward(p.net, 0));
    /* copy the analytic gradients before the probes overwrite them */
    grad_in = malloc((size_t)p.in_size * sizeof(float));
    for (int64_t s = 0; s < BATCH; s++)
        for (int32_t k = 0; k < c; k++)
            memcpy(grad_in + (s * c + k) * h * w,
                   p.net->layers[0]->dout + ((int64_t)k * BATCH + s) * h * w,
                   (size_t)h * w * sizeof(float));
    for (int32_t i = 0; i < n_params; i++) {
        const char *pname;
        ec2t_tensor *v, *g;
        float *ga;
        int64_t stride;
        ck_assert_ok(ec2t_net_param(p.net, i, &pname, &v, &g));
        if (!g)
            continue;
        ga = malloc((size_t)g->numel * sizeof(float));
        memcpy(ga, g->data, (size_t)g->numel * sizeof(float));
        stride = v->numel > 24 ? v->numel / 24 + 1 : 1;
        for (int64_t e = 0; e < v->numel; e += stride) {
            char what[160];
            snprintf(what, sizeof what, "%s: %s", name, pname);
            check_one(&p, &v->data[e], ga[e], what, e, eps, tol);
        }
        free(ga);
    }
    {
        int64_t stride = p.in_size > 40 ? p.in_size / 40 + 1 : 1;
        char what[160];
        snprintf(what, sizeof what, "%s: input", name);
        for (int64_t e = 0; e < p.in_size; e += stride)
            check_one(&p, &p.input[e], grad_in[e], what, e, eps, tol);
    }
    free(grad_in);
    free(p.input);
    ec2t_net_free(p.net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

/* ---- the layers under test ---- */

static ec2t_status
b_dense(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_status st = ec2t_net_add_flatten(net, x, 0, &x);
    if (st == EC2T_OK)
        st = ec2t_net_add_dense(net, x, 5, 0, &x);
    if (st == EC2T_OK)
        st = ec2t_net_add_dense(net, x, 4, EC2T_ADD_BIAS, y);
    return st;
}

#define CONV_CASE(fn, m, kh, kw, s, p, g, f)                          \
    static ec2t_status fn(ec2t_net *net, ec2t_layer *x, ec2t_layer **y) \
    {                                                                   \
        return ec2t_net_add_conv2d(net, x, m, kh, kw, s, p, g, f, y);   \
    }
CONV_CASE(b_conv3, 4, 3, 3, 1, 1, 1, 0)
CONV_CASE(b_conv3_s2, 4, 3, 3, 2, 1, 1, EC2T_ADD_BIAS)
CONV_CASE(b_conv5_bias, 3, 5, 5, 1, 2, 1, EC2T_ADD_BIAS)
CONV_CASE(b_conv3_s2_nopad, 2, 3, 3, 2, 0, 1, 0)
CONV_CASE(b_conv1x1, 5, 1, 1, 1, 0, 1, EC2T_ADD_BIAS)
CONV_CASE(b_conv1x1_s2, 5, 1, 1, 2, 0, 1, 0)
CONV_CASE(b_conv_groups, 6, 3, 3, 1, 1, 2, 0)
CONV_CASE(b_conv_depthwise, 4, 3, 3, 1, 1, 4, EC2T_ADD_BIAS)
CONV_CASE(b_conv_rect, 3, 2, 3, 1, 1, 1, 0)
CONV_CASE(b_conv_chunked, 2, 3, 3, 1, 1, 1, 0)
/* no more output than input channels: dx is the convolution of dy */
CONV_CASE(b_conv3_narrow, 2, 3, 3, 1, 1, 1, EC2T_ADD_BIAS)
CONV_CASE(b_conv3_valid_narrow, 2, 3, 3, 1, 0, 1, 0)
CONV_CASE(b_conv3_pad2_narrow, 2, 3, 3, 1, 2, 1, 0)
CONV_CASE(b_conv5_narrow, 2, 5, 5, 1, 2, 1, 0)
CONV_CASE(b_conv_groups_narrow, 4, 3, 3, 1, 1, 2, 0)

static ec2t_status
b_bn(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_batchnorm(net, x, 0, y);
}

static ec2t_status
b_bn_noaffine(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_status st = ec2t_net_add_conv2d(net, x, 3, 1, 1, 1, 0, 1, 0, &x);
    return st == EC2T_OK ? ec2t_net_add_batchnorm(net, x, EC2T_ADD_NO_AFFINE, y) : st;
}

/* conv -> BN -> ReLU: the ReLU runs in place over the batchnorm output */
static ec2t_status
b_conv_bn_relu(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_status st = ec2t_net_add_conv2d(net, x, 4, 3, 3, 1, 1, 1, 0, &x);
    if (st == EC2T_OK)
        st = ec2t_net_add_batchnorm(net, x, 0, &x);
    return st == EC2T_OK ? ec2t_net_add_relu(net, x, 0, y) : st;
}

static ec2t_status
b_relu(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_relu(net, x, 0, y);
}

static ec2t_status
b_maxpool(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_maxpool(net, x, 2, 2, 0, 0, y);
}

static ec2t_status
b_maxpool_pad(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_maxpool(net, x, 3, 2, 1, 0, y);
}

static ec2t_status
b_avgpool(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_avgpool(net, x, 3, 1, 1, 0, y);
}

static ec2t_status
b_gap(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    return ec2t_net_add_global_avgpool(net, x, 0, y);
}

static ec2t_status
b_dropout(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_status st = ec2t_net_add_conv2d(net, x, 3, 1, 1, 1, 0, 1, 0, &x);
    return st == EC2T_OK ? ec2t_net_add_dropout(net, x, 0.3f, 0, y) : st;
}

static ec2t_status
b_residual(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_layer *a;
    ec2t_status st = ec2t_net_add_conv2d(net, x, 3, 3, 3, 1, 1, 1, 0, &a);
    return st == EC2T_OK ? ec2t_net_add_residual(net, a, x, 0, y) : st;
}

static ec2t_status
b_option_a(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    ec2t_layer *a, *b;
    ec2t_status st = ec2t_net_add_conv2d(net, x, 2, 1, 1, 1, 0, 1, 0, &b);
    if (st == EC2T_OK)
        st = ec2t_net_add_conv2d(net, b, 4, 3, 3, 2, 1, 1, 0, &a);
    return st == EC2T_OK ? ec2t_net_add_residual(net, a, b, EC2T_ADD_OPTION_A, y) : st;
}

static ec2t_status
b_tiny_resnet(ec2t_net *net, ec2t_layer *x, ec2t_layer **y)
{
    /* the ResNet block structure: conv-BN-ReLU-conv-BN + shortcut, ReLU, twice */
    ec2t_layer *s = x;
    ec2t_status st = EC2T_OK;
    for (int b = 0; b < 2 && st == EC2T_OK; b++) {
        int32_t width = b == 0 ? 2 : 4, stride = b == 0 ? 1 : 2;
        ec2t_layer *t = s;
        st = ec2t_net_add_conv2d(net, t, width, 3, 3, stride, 1, 1, 0, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_batchnorm(net, t, 0, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_relu(net, t, 0, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_conv2d(net, t, width, 3, 3, 1, 1, 1, 0, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_batchnorm(net, t, 0, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_residual(net, t, s, EC2T_ADD_OPTION_A, &t);
        if (st == EC2T_OK)
            st = ec2t_net_add_relu(net, t, 0, &s);
    }
    *y = s;
    return st;
}

START_TEST(test_layers_grad_dense) { gradcheck("dense", 2, 2, 2, b_dense, EC2T_MODE_TRAIN, 1e-2, 1e-2); }
END_TEST
START_TEST(test_layers_grad_conv)
{
    gradcheck("conv3x3", 2, 5, 5, b_conv3, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv3x3 s2 bias", 2, 6, 6, b_conv3_s2, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv5x5 pad2 bias", 1, 6, 6, b_conv5_bias, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv3x3 s2 nopad odd", 2, 7, 7, b_conv3_s2_nopad, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv1x1", 3, 4, 4, b_conv1x1, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv1x1 s2", 3, 5, 5, b_conv1x1_s2, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv groups 2", 4, 4, 4, b_conv_groups, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv depthwise", 4, 4, 4, b_conv_depthwise, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv 2x3", 2, 4, 5, b_conv_rect, EC2T_MODE_TRAIN, 1e-2, 1e-2);
}
END_TEST
START_TEST(test_layers_grad_conv_transposed)
{
    /* the input gradient as the convolution of dy with the rotated weights:
     * odd and unequal sides, no padding, padding kh - 1, groups */
    gradcheck("conv3x3 narrow odd", 3, 5, 7, b_conv3_narrow, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv3x3 narrow nopad", 8, 6, 7, b_conv3_valid_narrow, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv3x3 narrow pad2", 3, 4, 5, b_conv3_pad2_narrow, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv5x5 narrow", 4, 5, 6, b_conv5_narrow, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("conv groups narrow", 6, 5, 5, b_conv_groups_narrow, EC2T_MODE_TRAIN, 1e-2, 1e-2);
}
END_TEST
/* The convolution products (the AVX-512 kernel on CPUs that have it) against
 * plain sums, on every edge of their tiles: every row count left over by 8
 * (and by 4), columns around 16 and 48, k around 128, n around 16 and 256,
 * padded strides, writing and accumulating. */
START_TEST(test_layers_conv_gemm_matches_naive)
{
    static const int ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17}, ns[] = {1, 17, 48, 49, 300},
                     ks[] = {1, 127, 128, 129};
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t e = 0; e < sizeof ks / sizeof *ks; e++)
                for (int acc = 0; acc < 2; acc++) {
                    int m = ms[a], n = ns[b], k = ks[e], lda = k + 3, ldb = n + 5, ldc = n + 2;
                    int ldt = k + 1; /* C of A B^T: m x k; A: m x n (ld ldb), B: k x n (ld ldb) */
                    float *x = malloc((size_t)m * lda * sizeof *x);
                    float *y = malloc((size_t)k * ldb * sizeof *y);
                    float *z = malloc((size_t)m * ldb * sizeof *z);
                    float *c = malloc((size_t)m * ldc * sizeof *c);
                    float *t = malloc((size_t)m * ldt * sizeof *t);
                    fill_uniform(x, (int64_t)m * lda, -1, 1, 1);
                    fill_uniform(y, (int64_t)k * ldb, -1, 1, 2);
                    fill_uniform(z, (int64_t)m * ldb, -1, 1, 3);
                    fill_uniform(c, (int64_t)m * ldc, -1, 1, 4);
                    fill_uniform(t, (int64_t)m * ldt, -1, 1, 5);
                    float *c0 = malloc((size_t)m * ldc * sizeof *c0);
                    float *t0 = malloc((size_t)m * ldt * sizeof *t0);
                    memcpy(c0, c, (size_t)m * ldc * sizeof *c);
                    memcpy(t0, t, (size_t)m * ldt * sizeof *t);
                    ec2t__conv_gemm_nn(m, n, k, x, lda, y, ldb, c, ldc, acc);
                    ec2t__conv_gemm_nt(m, k, n, z, ldb, y, ldb, t, ldt, acc);
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double want = acc ? c0[i * ldc + j] : 0.0;
                            for (int p = 0; p < k; p++)
                                want += (double)x[i * lda + p] * y[p * ldb + j];
                            ck_assert_msg(fabs(c[i * ldc + j] - want) <= 1e-4 * (1 + fabs(want)),
                                          "A B %dx%dx%d acc %d at (%d, %d): %g, want %g", m, n, k,
                                          acc, i, j, c[i * ldc + j], want);
                        }
                        for (int j = 0; j < k; j++) {
                            double want = acc ? t0[i * ldt + j] : 0.0;
                            for (int p = 0; p < n; p++)
                                want += (double)z[i * ldb + p] * y[j * ldb + p];
                            ck_assert_msg(fabs(t[i * ldt + j] - want) <= 1e-4 * (1 + fabs(want)),
                                          "A B^T %dx%dx%d acc %d at (%d, %d): %g, want %g", m, k,
                                          n, acc, i, j, t[i * ldt + j], want);
                        }
                    }
                    free(c0);
                    free(t0);
                    free(x);
                    free(y);
                    free(z);
                    free(c);
                    free(t);
                }
}
END_TEST
START_TEST(test_layers_grad_conv_chunked)
{
    /* 144 x 1024 lowering floats per sample: every sample is its own chunk */
    gradcheck("conv chunked", 16, 32, 32, b_conv_chunked, EC2T_MODE_TRAIN, 1e-2, 2e-2);
}
END_TEST
START_TEST(test_layers_grad_batchnorm)
{
    gradcheck("batchnorm train", 3, 3, 3, b_bn, EC2T_MODE_TRAIN, 1e-2, 2e-2);
    gradcheck("batchnorm eval", 3, 3, 3, b_bn, EC2T_MODE_EVAL, 1e-2, 1e-2);
    gradcheck("batchnorm no affine", 2, 3, 3, b_bn_noaffine, EC2T_MODE_TRAIN, 1e-2, 2e-2);
    gradcheck("conv-bn-relu in place", 2, 4, 4, b_conv_bn_relu, EC2T_MODE_TRAIN, 1e-3, 3e-2);
}
END_TEST
START_TEST(test_layers_grad_pools)
{
    gradcheck("relu", 2, 3, 3, b_relu, EC2T_MODE_TRAIN, 1e-3, 1e-2);
    gradcheck("maxpool", 2, 4, 4, b_maxpool, EC2T_MODE_TRAIN, 1e-3, 1e-2);
    gradcheck("maxpool pad", 2, 5, 5, b_maxpool_pad, EC2T_MODE_TRAIN, 1e-3, 1e-2);
    gradcheck("avgpool", 2, 4, 4, b_avgpool, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("global avgpool", 3, 3, 4, b_gap, EC2T_MODE_TRAIN, 1e-2, 1e-2);
}
END_TEST
START_TEST(test_layers_grad_misc)
{
    gradcheck("dropout", 2, 3, 3, b_dropout, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("dropout eval", 2, 3, 3, b_dropout, EC2T_MODE_EVAL, 1e-2, 1e-2);
    gradcheck("residual", 3, 4, 4, b_residual, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("option A", 2, 6, 6, b_option_a, EC2T_MODE_TRAIN, 1e-2, 1e-2);
    gradcheck("tiny resnet", 2, 6, 6, b_tiny_resnet, EC2T_MODE_TRAIN, 1e-3, 3e-2);
}
END_TEST

/* ---- forward passes against naive references ---- */

static float
naive_conv(const float *x, const float *wt, const float *b, int32_t c, int32_t h, int32_t w,
           int32_t groups, int32_t kh, int32_t kw, int32_t s, int32_t p, int32_t m, int32_t o,
           int32_t oy, int32_t ox)
{
    int32_t cg = c / groups, mg = m / groups, g = o / mg;
    double acc = b ? b[o] : 0;
    for (int32_t ci = 0; ci < cg; ci++)
        for (int32_t i = 0; i < kh; i++)
            for (int32_t j = 0; j < kw; j++) {
                int32_t iy = oy * s - p + i, ix = ox * s - p + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                    continue;
                acc += (double)x[((g * cg + ci) * h + iy) * w + ix] *
                       wt[((o * cg + ci) * kh + i) * kw + j];
            }
    return (float)acc;
}

START_TEST(test_layers_conv_forward_matches_naive)
{
    static const int32_t cases[][8] = {
        /* c, h, w, m, k, stride, pad, groups */
        {3, 8, 8, 4, 3, 1, 1, 1}, {4, 9, 7, 6, 3, 2, 1, 2}, {2, 6, 6, 3, 5, 1, 2, 1},
        {4, 5, 5, 4, 3, 1, 0, 4}, {3, 4, 4, 5, 1, 1, 0, 1}, {16, 32, 32, 3, 3, 2, 1, 1},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int32_t *k = cases[t];
        test_alloc ta;
        ec2t_context *ctx = test_context(&ta);
        ec2t_net *net;
        ec2t_layer *conv;
        int32_t oc, oh, ow;
        int64_t n = 2, in_size = n * k[0] * k[1] * k[2];
        float *x = malloc((size_t)in_size * sizeof(float)), *y;
        ck_assert_ok(ec2t_net_new(ctx, k[0], k[1], k[2], &net));
        ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), k[3], k[4], k[4], k[5], k[6],
                                         k[7], EC2T_ADD_BIAS, &conv));
        fill_uniform(conv->param[EC2T_PARAM_WEIGHT]->data, conv->param[EC2T_PARAM_WEIGHT]->numel,
                     -1, 1, 3);
        fill_uniform(conv->param[EC2T_PARAM_BIAS]->data, k[3], -1, 1, 4);
        fill_uniform(x, in_size, -1, 1, 5);
        ck_assert_ok(ec2t_net_output_shape(net, &oc, &oh, &ow));
        y = malloc((size_t)(n * oc * oh * ow) * sizeof(float));
        ck_assert_ok(ec2t_net_forward(net, x, (size_t)in_size, n, y, (size_t)(n * oc * oh * ow), 0));
        for (int64_t s = 0; s < n; s++)
            for (int32_t o = 0; o < oc; o++)
                for (int32_t yy = 0; yy < oh; yy++)
                    for (int32_t xx = 0; xx < ow; xx++) {
                        float want = naive_conv(x + s * k[0] * k[1] * k[2],
                                                conv->param[EC2T_PARAM_WEIGHT]->data,
                                                conv->param[EC2T_PARAM_BIAS]->data, k[0], k[1],
                                                k[2], k[7], k[4], k[4], k[5], k[6], k[3], o, yy, xx);
                        float got = y[((s * oc + o) * oh + yy) * ow + xx];
                        ck_assert_msg(fabsf(got - want) <= 1e-4f * (1 + fabsf(want)),
                                      "case %zu: y[%lld,%d,%d,%d] = %g, want %g", t, (long long)s,
                                      (int)o, (int)yy, (int)xx, (double)got, (double)want);
                    }
        free(x);
        free(y);
        ec2t_net_free(net);
        ec2t_context_free(ctx);
    }
}
END_TEST

/* The 2 x 2, stride-2 max pool's branch-free paths (with the indices, for
 * training, and without, for the engine) give what the generic window
 * scan gives, values and argmax indices alike: on ties the first
 * maximum in row-major order, a NaN only where it comes first, and an odd
 * plane whose last row and column no window reads. */
/* im2col and col2im against their definitions (cnhw-private.h) on a
 * window where every tap lies inside the plane (stride 1, no padding, the
 * block-copy path) and on a padded one (the general path): a chunk of
 * samples and a group of channels inside larger tensors. Integer values
 * make the sums exact in any order. */
START_TEST(test_layers_im2col_matches_definition)
{
    enum { N = 3, C = 3, H = 7, W = 6, KH = 3, KW = 2, CG = 2, C0 = 1, N0 = 1, CN = 2 };
    for (int pad = 0; pad <= 1; pad++) {
        const int32_t oh = H + 2 * pad - KH + 1, ow = W + 2 * pad - KW + 1;
        const ec2t__window g = {H, W, oh, ow, KH, KW, 1, pad};
        const int64_t ld = (int64_t)CN * oh * ow;
        float x[N * C * H * W], dx[N * C * H * W], want_dx[N * C * H * W];
        float *col = malloc((size_t)(CG * KH * KW * ld) * sizeof(float));
        for (int i = 0; i < N * C * H * W; i++)
            x[i] = (float)(i % 13) - 6.0f;
        ec2t__im2col(&g, x, N, C0, CG, N0, CN, col);
        memcpy(dx, x, sizeof dx);
        memcpy(want_dx, x, sizeof dx);
        ec2t__col2im(&g, col, N, C0, CG, N0, CN, dx);
        for (int c = 0; c < CG; c++)
            for (int i = 0; i < KH; i++)
                for (int j = 0; j < KW; j++)
                    for (int s = 0; s < CN; s++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++) {
                                int iy = oy - pad + i, ix = ox - pad + j;
                                int inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                                int64_t at = (((int64_t)(C0 + c) * N + N0 + s) * H + iy) * W + ix;
                                float v = col[((c * KH + i) * KW + j) * ld + (s * oh + oy) * ow + ox];
                                ck_assert(v == (inside ? x[at] : 0.0f));
                                if (inside)
                                    want_dx[at] += v;
                            }
        ck_assert(memcmp(dx, want_dx, sizeof dx) == 0);
        free(col);
    }
}
END_TEST

START_TEST(test_layers_maxpool2_matches_scan)
{
    enum { N = 3, H = 7, W = 7, OH = 3, OW = 3 };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_layer *mp;
    float x[N * H * W], out[N * OH * OW], want[OH * OW], values[OH * OW];
    int32_t arg[OH * OW];
    const ec2t__window win = {H, W, OH, OW, 2, 2, 2, 0};
    for (int i = 0; i < N * H * W; i++)
        x[i] = (float)((i * i) % 3); /* ties at every position of a window */
    x[0] = NAN;                      /* first in its window: it stays */
    x[H * W + 1] = NAN;              /* second in its window: never wins */
    ck_assert_ok(ec2t_net_new(ctx, 1, H, W, &net));
    ck_assert_ok(ec2t_net_add_maxpool(net, ec2t_net_input(net), 2, 2, 0, 0, &mp));
    ck_assert_ok(ec2t_net_forward(net, x, N * H * W, N, out, N * OH * OW, 0));
    for (int s = 0; s < N; s++) {
        ec2t__maxpool_scan(&win, x + s * H * W, want, arg);
        ck_assert(memcmp(out + s * OH * OW, want, sizeof want) == 0);
        ck_assert(memcmp((const int32_t *)mp->save + s * OH * OW, arg, sizeof arg) == 0);
        /* and without the indices (the engine's path) */
        ec2t__maxpool_plane(&win, x + s * H * W, values, NULL);
        ck_assert(memcmp(values, want, sizeof want) == 0);
    }
    ck_assert(isnan(out[0]) && !isnan(out[OH * OW]));
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_layers_pool_and_bn_forward)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_layer *mp, *ap, *gap, *bn, *l;
    float x[2 * 1 * 4 * 4], out[8];
    for (int i = 0; i < 32; i++)
        x[i] = (float)((i * 7) % 11) - 5.0f;
    /* max pool 2x2 */
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_maxpool(net, ec2t_net_input(net), 2, 2, 0, 0, &mp));
    ck_assert_ok(ec2t_net_forward(net, x, 32, 2, out, 8, 0));
    for (int s = 0; s < 2; s++)
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 2; ox++) {
                const float *p = x + s * 16 + oy * 8 + ox * 2;
                float want = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[4], p[5]));
                ck_assert(out[s * 4 + oy * 2 + ox] == want);
            }
    ec2t_net_free(net);
    /* average pool 3x3 stride 2 pad 1: padding counts as zeros */
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_avgpool(net, ec2t_net_input(net), 3, 2, 1, 0, &ap));
    ck_assert_ok(ec2t_net_forward(net, x, 32, 2, out, 8, 0));
    ck_assert_float_eq_tol(out[0], (x[0] + x[1] + x[4] + x[5]) / 9.0f, 1e-6f);
    ec2t_net_free(net);
    /* global average pool */
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, ec2t_net_input(net), 0, &gap));
    ck_assert_ok(ec2t_net_forward(net, x, 32, 2, out, 2, 0));
    {
        float s0 = 0;
        for (int i = 0; i < 16; i++)
            s0 += x[i];
        ck_assert_float_eq_tol(out[0], s0 / 16, 1e-6f);
    }
    ec2t_net_free(net);
    /* batchnorm: train mode normalises and moves the running statistics */
    ck_assert_ok(ec2t_net_new(ctx, 1, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_batchnorm(net, ec2t_net_input(net), 0, &bn));
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_TRAIN));
    {
        float y[32];
        double mean = 0, var = 0, ym = 0, yv = 0;
        for (int i = 0; i < 32; i++)
            mean += x[i] / 32.0;
        for (int i = 0; i < 32; i++)
            var += (x[i] - mean) * (x[i] - mean) / 32.0;
        ck_assert_ok(ec2t_net_forward(net, x, 32, 2, y, 32, 0));
        for (int i = 0; i < 32; i++)
            ym += y[i] / 32.0;
        for (int i = 0; i < 32; i++)
            yv += (y[i] - ym) * (y[i] - ym) / 32.0;
        ck_assert_double_eq_tol(ym, 0, 1e-5);
        ck_assert_double_eq_tol(yv, var / (var + 1e-5), 1e-4);
        ck_assert_float_eq_tol(bn->param[EC2T_PARAM_RUNNING_MEAN]->data[0], (float)(0.1 * mean), 1e-5f);
        ck_assert_float_eq_tol(bn->param[EC2T_PARAM_RUNNING_VAR]->data[0],
                               (float)(0.9 + 0.1 * var * 32 / 31), 1e-4f);
    }
    l = NULL;
    ck_assert_ok(ec2t_net_layer(net, 1, &l));
    ck_assert_ptr_eq(l, bn);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Gradients of a ResNet block stack with every parameter and the input, at
 * the given thread count. */
static void
grads_with_threads(int threads, float *out, int64_t *n_out)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {2, 1, 1}, widths[3] = {4, 8, 8};
    ec2t_net *net = NULL;
    float *x = malloc(7 * 3 * 16 * 16 * sizeof(float));
    int32_t labels[7] = {0, 1, 2, 3, 4, 0, 1};
    int64_t k = 0;
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads));
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 16, 16, 5, 0, &net));
    ck_assert_ok(ec2t_net_init(net, 3));
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_TRAIN));
    fill_uniform(x, 7 * 3 * 16 * 16, -1, 1, 9);
    ck_assert_ok(ec2t_net_forward_loss(net, x, 7 * 3 * 16 * 16, labels, 7, 7, 0, NULL, NULL));
    ck_assert_ok(ec2t_net_backward(net, 0));
    for (int32_t i = 0; i < ec2t_net_param_count(net); i++) {
        ec2t_tensor *v, *g;
        ck_assert_ok(ec2t_net_param(net, i, NULL, &v, &g));
        /* gradients, and the running statistics the pass moved */
        memcpy(out + k, ec2t_tensor_data(g ? g : v), (size_t)ec2t_tensor_numel(v) * sizeof(float));
        k += ec2t_tensor_numel(v);
    }
    *n_out = k;
    free(x);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_layers_threads_agree)
{
    enum { CAP = 1 << 16 };
    float *one = malloc(CAP * sizeof(float)), *two = malloc(CAP * sizeof(float));
    float *again = malloc(CAP * sizeof(float)), *three = malloc(CAP * sizeof(float));
    int64_t n1, n2, n3, n4;
    grads_with_threads(1, one, &n1);
    grads_with_threads(2, two, &n2);
    grads_with_threads(2, again, &n3);
    grads_with_threads(3, three, &n4);
    ck_assert_int_eq(n1, n2);
    ck_assert_int_lt(n1, CAP);
    /* the same thread count gives the same bits */
    ck_assert_int_eq(memcmp(two, again, (size_t)n2 * sizeof(float)), 0);
    /* other counts only reorder floating-point sums */
    for (int64_t i = 0; i < n1; i++) {
        ck_assert_msg(fabsf(one[i] - two[i]) <= 1e-4f * (1 + fabsf(one[i])),
                      "value %lld: %g with 1 thread, %g with 2", (long long)i, (double)one[i],
                      (double)two[i]);
        ck_assert_msg(fabsf(one[i] - three[i]) <= 1e-4f * (1 + fabsf(one[i])),
                      "value %lld: %g with 1 thread, %g with 3", (long long)i, (double)one[i],
                      (double)three[i]);
    }
    free(one);
    free(two);
    free(again);
    free(three);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_layers_grad_dense);
    tcase_add_test(tc, test_layers_grad_conv);
    tcase_add_test(tc, test_layers_grad_conv_transposed);
    tcase_add_test(tc, test_layers_grad_conv_chunked);
    tcase_add_test(tc, test_layers_conv_gemm_matches_naive);
    tcase_add_test(tc, test_layers_grad_batchnorm);
    tcase_add_test(tc, test_layers_grad_pools);
    tcase_add_test(tc, test_layers_grad_misc);
    tcase_add_test(tc, test_layers_conv_forward_matches_naive);
    tcase_add_test(tc, test_layers_pool_and_bn_forward);
    tcase_add_test(tc, test_layers_maxpool2_matches_scan);
    tcase_add_test(tc, test_layers_im2col_matches_definition);
    tcase_add_test(tc, test_layers_threads_agree);
    suite_add_tcase(s, tc);
    return s;
}
