/* SPDX-License-Identifier: MIT */
/* 2-D convolution lowered onto matrix products (conv-gemm-private.h: an
 * AVX-512 kernel, or cblas_sgemm).
 *
 * With CNHW activations, the output of a chunk of samples is a block of
 * columns of the (M, N*OH*OW) output matrix, so one GEMM per group and chunk
 * computes it: Y[:, chunk] = W_g * col, where col is the chunk's im2col
 * matrix (Cg*kh*kw rows). Chunks keep col small enough to stay in cache.
 * 1x1 convolutions with stride 1 and no padding need no lowering at all: the
 * input already is the col matrix.
 *
 * The input gradient of a stride-1 convolution is itself a convolution: of
 * dy, padded by kh - 1 - pad, with the weights transposed (input and output
 * channels swapped) and rotated by 180 degrees. Lowering dy and accumulating
 * the product straight into dx (beta = 1) replaces the d(col) product and
 * its col2im scatter, which read and wrote dx once per tap. */
#include <cblas.h>
#include <string.h>

#include "conv-gemm-private.h"
#include "net-private.h"
#include "cnhw-private.h"
#include "thread-pool-private.h"
#include "vec-private.h"

/* Floats of lowering scratch per chunk: about 1 MiB keeps it in L2. */
#define COL_BUDGET (256 * 1024)

typedef struct conv_geom {
    int64_t n;              /* batch */
    int32_t c, h, w;        /* input sample */
    int32_t m, oh, ow;      /* output sample */
    int32_t kh, kw, stride, pad, groups;
    int32_t cg, mg;         /* channels per group */
    int64_t k;              /* rows of col: cg * kh * kw */
    int64_t ohw;            /* oh * ow */
    int64_t chunk;          /* samples per lowering chunk */
    int direct;             /* 1x1, stride 1, no padding: no lowering */
    int transposed;         /* dx as the convolution of dy (see the top) */
    ec2t__window win;
    ec2t__window twin;      /* the window of that convolution: dy to dx */
} conv_geom;

static conv_geom
geom_of(const ec2t_net *net, const ec2t_layer *l, int64_t batch)
{
    const ec2t_layer *in = net->layers[l->inputs[0]];
    conv_geom g;
    g.n = batch;
    g.c = in->c, g.h = in->h, g.w = in->w;
    g.m = l->c, g.oh = l->h, g.ow = l->w;
    g.kh = l->kh, g.kw = l->kw, g.stride = l->stride, g.pad = l->pad, g.groups = l->groups;
    g.cg = g.c / g.groups;
    g.mg = g.m / g.groups;
    g.k = (int64_t)g.cg * g.kh * g.kw;
    g.ohw = (int64_t)g.oh * g.ow;
    g.direct = g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
    g.win = (ec2t__window){g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.stride, g.pad};
    /* only when lowering dy costs no more than the d(col) it replaces */
    g.transposed = !g.direct && g.stride == 1 && g.kh == g.kw && g.pad <= g.kh - 1 &&
                   (int64_t)g.mg * g.h * g.w <= (int64_t)g.cg * g.ohw;
    g.twin = (ec2t__window){g.oh, g.ow, g.h, g.w, g.kh, g.kw, 1, g.kh - 1 - g.pad};
    g.chunk = COL_BUDGET / (g.k * g.ohw);
    if (g.chunk < 1)
        g.chunk = 1;
    if (g.chunk > batch)
        g.chunk = batch;
    return g;
}

/* Scratch: a lowering buffer per worker, then a partial weight gradient for
 * every worker but the first (which writes the gradient itself), then the
 * transposed weights. The lowering of dy is never larger than that of x
 * (g.transposed says so), so one buffer holds either. */
static int
conv_workers(const ec2t_net *net, const conv_geom *g)
{
    int64_t units = g->direct ? g->n : (g->n + g->chunk - 1) / g->chunk;
    return ec2t__parallel_ranges(net->ctx, units, 1);
}

static size_t
col_floats(const conv_geom *g)
{
    return g->direct ? 0 : (size_t)(g->k * g->chunk * g->ohw);
}

static size_t
conv_scratch_floats(const ec2t_layer *l, int64_t batch)
{
    conv_geom g = geom_of(l->net, l, batch);
    size_t w = (size_t)g.m * (size_t)g.k, workers = (size_t)l->net->ctx->threads;
    return workers * col_floats(&g) + (workers - 1) * w + (g.transposed ? w : 0);
}

static void
add_bias(float *y, const float *b, int32_t m, int64_t cols)
{
    for (int32_t o = 0; o < m; o++) {
        float *row = y + o * cols;
        for (int64_t i = 0; i < cols; i++)
            row[i] += b[o];
    }
}

typedef struct conv_job {
    ec2t_net *net;
    ec2t_layer *l;
    conv_geom g;
    const float *x;
    float *dx;
} conv_job;

/* Worker w's scratch: its lowering buffer, and (w > 0) its partial dW. */
static float *
col_of(const conv_job *j, int w)
{
    return j->net->scratch + (size_t)w * col_floats(&j->g);
}

static float *
dw_of(const conv_job *j, int w)
{
    if (w == 0)
        return j->l->grad[EC2T_PARAM_WEIGHT]->data;
    return j->net->scratch + (size_t)j->net->ctx->threads * col_floats(&j->g) +
           (size_t)(w - 1) * (size_t)j->g.m * (size_t)j->g.k;
}

/* After every worker's part: the transposed, rotated weights. */
static float *
wt_of(const conv_job *j)
{
    return dw_of(j, j->net->ctx->threads);
}

/* wt[gr][c][o][i][jj] = w[gr*mg + o][c][kh-1-i][kw-1-jj]: per group a
 * (cg, mg*kh*kw) matrix, the weights of the convolution dy -> dx. */
static void
transpose_weights(const conv_geom *g, const float *w, float *wt)
{
    int64_t taps = (int64_t)g->kh * g->kw;
    for (int32_t gr = 0; gr < g->groups; gr++)
        for (int32_t c = 0; c < g->cg; c++)
            for (int32_t o = 0; o < g->mg; o++) {
                const float *src = w + ((int64_t)(gr * g->mg + o) * g->cg + c) * taps;
                float *dst = wt + ((int64_t)(gr * g->cg + c) * g->mg + o) * taps;
                for (int64_t t = 0; t < taps; t++)
                    dst[t] = src[taps - 1 - t];
            }
}

/* Samples [s0, s1) of a 1x1/stride-1 convolution: one product per group. */
static void
direct_forward(const conv_job *j, int64_t s0, int64_t s1)
{
    const conv_geom *g = &j->g;
    int64_t ld = g->n * g->ohw;
    for (int32_t gr = 0; gr < g->groups; gr++)
        ec2t__conv_gemm_nn(g->mg, (int)((s1 - s0) * g->ohw), (int)g->k,
                           j->l->param[EC2T_PARAM_WEIGHT]->data + (int64_t)gr * g->mg * g->k,
                           (int)g->k, j->x + (int64_t)gr * g->cg * ld + s0 * g->ohw, (int)ld,
                           j->l->out + (int64_t)gr * g->mg * ld + s0 * g->ohw, (int)ld, 0);
}

static void
forward_range(void *arg, int64_t u0, int64_t u1, int w)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t ld = g->n * g->ohw;
    float *col = col_of(j, w);
    if (g->direct) {
        direct_forward(j, u0, u1);
        return;
    }
    for (int64_t u = u0; u < u1; u++) {
        int64_t n0 = u * g->chunk, cn = g->n - n0 < g->chunk ? g->n - n0 : g->chunk;
        for (int32_t gr = 0; gr < g->groups; gr++) {
            ec2t__im2col(&g->win, j->x, g->n, gr * g->cg, g->cg, n0, cn, col);
            ec2t__conv_gemm_nn(g->mg, (int)(cn * g->ohw), (int)g->k,
                               j->l->param[EC2T_PARAM_WEIGHT]->data + (int64_t)gr * g->mg * g->k,
                               (int)g->k, col, (int)(cn * g->ohw),
                               j->l->out + (int64_t)gr * g->mg * ld + n0 * g->ohw, (int)ld, 0);
        }
    }
}

static int64_t
units_of(const conv_geom *g)
{
    return g->direct ? g->n : (g->n + g->chunk - 1) / g->chunk;
}

static void
conv_forward(ec2t_net *net, ec2t_layer *l)
{
    conv_job j = {net, l, geom_of(net, l, net->batch), ec2t__input(net, l, 0)->out, NULL};
    ec2t__parallel_for(net->ctx, units_of(&j.g), 1, forward_range, &j);
    if (l->param[EC2T_PARAM_BIAS])
        add_bias(l->out, l->param[EC2T_PARAM_BIAS]->data, j.g.m, j.g.n * j.g.ohw);
}

static void
bias_grad(const float *dy, float *db, int32_t m, int64_t cols)
{
    for (int32_t o = 0; o < m; o++)
        db[o] = (float)ec2t__vsum(dy + o * cols, cols);
}

/* Gradients of samples [s0, s1) of a 1x1/stride-1 convolution. */
static void
direct_backward(const conv_job *j, int64_t s0, int64_t s1, float *dw)
{
    const conv_geom *g = &j->g;
    int64_t ld = g->n * g->ohw;
    int cols = (int)((s1 - s0) * g->ohw);
    for (int32_t gr = 0; gr < g->groups; gr++) {
        const float *wg = j->l->param[EC2T_PARAM_WEIGHT]->data + (int64_t)gr * g->mg * g->k;
        const float *dyg = j->l->dout + (int64_t)gr * g->mg * ld + s0 * g->ohw;
        ec2t__conv_gemm_nt(g->mg, (int)g->k, cols, dyg, (int)ld,
                           j->x + (int64_t)gr * g->cg * ld + s0 * g->ohw, (int)ld,
                           dw + (int64_t)gr * g->mg * g->k, (int)g->k, 0);
        if (j->dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->k, cols, g->mg, 1.0f, wg,
                        (int)g->k, dyg, (int)ld, 1.0f,
                        j->dx + (int64_t)gr * g->cg * ld + s0 * g->ohw, (int)ld);
    }
}

static void
backward_range(void *arg, int64_t u0, int64_t u1, int w)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t ld = g->n * g->ohw;
    float *col = col_of(j, w), *dw = dw_of(j, w);
    if (g->direct) {
        direct_backward(j, u0, u1, dw);
        return;
    }
    for (int64_t u = u0; u < u1; u++) {
        int64_t n0 = u * g->chunk, cn = g->n - n0 < g->chunk ? g->n - n0 : g->chunk;
        int cols = (int)(cn * g->ohw);
        for (int32_t gr = 0; gr < g->groups; gr++) {
            const float *wg = j->l->param[EC2T_PARAM_WEIGHT]->data + (int64_t)gr * g->mg * g->k;
            const float *dyg = j->l->dout + (int64_t)gr * g->mg * ld + n0 * g->ohw;
            ec2t__im2col(&g->win, j->x, g->n, gr * g->cg, g->cg, n0, cn, col);
            ec2t__conv_gemm_nt(g->mg, (int)g->k, cols, dyg, (int)ld, col, cols,
                               dw + (int64_t)gr * g->mg * g->k, (int)g->k, u != u0);
            if (!j->dx)
                continue;
            if (g->transposed) {
                /* dx[chunk] += wt_g * lowered dy: no d(col), no scatter */
                int64_t hw = (int64_t)g->h * g->w;
                ec2t__im2col(&g->twin, j->l->dout, g->n, gr * g->mg, g->mg, n0, cn, col);
                ec2t__conv_gemm_nn(g->cg, (int)(cn * hw), (int)(g->mg * g->kh * g->kw),
                                   wt_of(j) + (int64_t)gr * g->cg * g->mg * g->kh * g->kw,
                                   (int)(g->mg * g->kh * g->kw), col, (int)(cn * hw),
                                   j->dx + (int64_t)gr * g->cg * g->n * hw + n0 * hw,
                                   (int)(g->n * hw), 1);
                continue;
            }
            /* the chunk's col is no longer needed: reuse it for d(col) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->k, cols, g->mg, 1.0f, wg,
                        (int)g->k, dyg, (int)ld, 0.0f, col, cols);
            ec2t__col2im(&g->win, col, g->n, gr * g->cg, g->cg, n0, cn, j->dx);
        }
    }
}

static void
conv_backward(ec2t_net *net, ec2t_layer *l)
{
    conv_job j = {net, l, geom_of(net, l, net->batch), ec2t__input(net, l, 0)->out,
                  ec2t__input_grad(net, l, 0)};
    int workers = conv_workers(net, &j.g);
    size_t wsize = (size_t)j.g.m * (size_t)j.g.k;
    float *dw = l->grad[EC2T_PARAM_WEIGHT]->data;

    if (l->param[EC2T_PARAM_BIAS])
        bias_grad(l->dout, l->grad[EC2T_PARAM_BIAS]->data, j.g.m, j.g.n * j.g.ohw);
    if (j.dx && j.g.transposed)
        transpose_weights(&j.g, l->param[EC2T_PARAM_WEIGHT]->data, wt_of(&j));
    ec2t__parallel_for(net->ctx, units_of(&j.g), 1, backward_range, &j);
    /* the partial weight gradients, in worker order: deterministic */
    for (int w = 1; w < workers; w++) {
        const float *part = dw_of(&j, w);
        for (size_t i = 0; i < wsize; i++)
            dw[i] += part[i];
    }
}

const ec2t__layer_ops ec2t__ops_conv2d = {
    .name = "conv2d",
    .scratch_floats = conv_scratch_floats,
    .forward = conv_forward,
    .backward = conv_backward,
};
