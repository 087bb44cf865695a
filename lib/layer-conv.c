/* SPDX-License-Identifier: MIT */
/* 2-D convolution lowered onto cblas_sgemm.
 *
 * With CNHW activations, the output of a chunk of samples is a block of
 * columns of the (M, N*OH*OW) output matrix, so one GEMM per group and chunk
 * computes it: Y[:, chunk] = W_g * col, where col is the chunk's im2col
 * matrix (Cg*kh*kw rows). Chunks keep col small enough to stay in cache.
 * 1x1 convolutions with stride 1 and no padding need no lowering at all: the
 * input already is the col matrix. */
#include <cblas.h>
#include <string.h>

#include "net-private.h"

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
    g.chunk = COL_BUDGET / (g.k * g.ohw);
    if (g.chunk < 1)
        g.chunk = 1;
    if (g.chunk > batch)
        g.chunk = batch;
    return g;
}

static size_t
conv_col_floats(const ec2t_layer *l, int64_t batch)
{
    conv_geom g = geom_of(l->net, l, batch);
    return g.direct ? 0 : (size_t)(g.k * g.chunk * g.ohw);
}

/* The valid output columns [*lo, *hi) for kernel column offset j: those whose
 * input column ox*stride - pad + j lies inside [0, w). */
static void
valid_range(int32_t out, int32_t in, int32_t stride, int32_t offset, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = out;
    while (a < out && a * stride + offset < 0)
        a++;
    while (b > a && (b - 1) * stride + offset >= in)
        b--;
    *lo = a;
    *hi = b;
}

/* col[(c*kh + i)*kw + j][(s*oh + oy)*ow + ox] = x[c][n0 + s][oy*st - p + i][ox*st - p + j]. */
static void
im2col(const conv_geom *g, const float *x, int32_t c0, int64_t n0, int64_t cn, float *col)
{
    int64_t plane = (int64_t)g->h * g->w, ld = cn * g->ohw;
    for (int32_t c = 0; c < g->cg; c++) {
        for (int32_t i = 0; i < g->kh; i++) {
            for (int32_t j = 0; j < g->kw; j++) {
                float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                int32_t lo, hi;
                valid_range(g->ow, g->w, g->stride, j - g->pad, &lo, &hi);
                for (int64_t s = 0; s < cn; s++) {
                    const float *src = x + ((int64_t)(c0 + c) * g->n + n0 + s) * plane;
                    for (int32_t oy = 0; oy < g->oh; oy++) {
                        float *dst = row + (s * g->oh + oy) * g->ow;
                        int32_t iy = oy * g->stride - g->pad + i;
                        if (iy < 0 || iy >= g->h || lo >= hi) {
                            memset(dst, 0, (size_t)g->ow * sizeof *dst);
                            continue;
                        }
                        const float *line = src + (int64_t)iy * g->w;
                        int32_t off = j - g->pad;
                        memset(dst, 0, (size_t)lo * sizeof *dst);
                        if (g->stride == 1) {
                            memcpy(dst + lo, line + lo + off, (size_t)(hi - lo) * sizeof *dst);
                        } else {
                            for (int32_t ox = lo; ox < hi; ox++)
                                dst[ox] = line[ox * g->stride + off];
                        }
                        memset(dst + hi, 0, (size_t)(g->ow - hi) * sizeof *dst);
                    }
                }
            }
        }
    }
}

/* The adjoint of im2col: dx[...] += col[...]. */
static void
col2im(const conv_geom *g, const float *col, int32_t c0, int64_t n0, int64_t cn, float *dx)
{
    int64_t plane = (int64_t)g->h * g->w, ld = cn * g->ohw;
    for (int32_t c = 0; c < g->cg; c++) {
        for (int32_t i = 0; i < g->kh; i++) {
            for (int32_t j = 0; j < g->kw; j++) {
                const float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                int32_t lo, hi;
                valid_range(g->ow, g->w, g->stride, j - g->pad, &lo, &hi);
                for (int64_t s = 0; s < cn; s++) {
                    float *dst = dx + ((int64_t)(c0 + c) * g->n + n0 + s) * plane;
                    for (int32_t oy = 0; oy < g->oh; oy++) {
                        const float *src = row + (s * g->oh + oy) * g->ow;
                        int32_t iy = oy * g->stride - g->pad + i;
                        if (iy < 0 || iy >= g->h)
                            continue;
                        float *line = dst + (int64_t)iy * g->w;
                        int32_t off = j - g->pad;
                        for (int32_t ox = lo; ox < hi; ox++)
                            line[ox * g->stride + off] += src[ox];
                    }
                }
            }
        }
    }
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

static void
conv_forward(ec2t_net *net, ec2t_layer *l)
{
    conv_geom g = geom_of(net, l, net->batch);
    const float *x = ec2t__input(net, l, 0)->out;
    const float *wt = l->param[EC2T_PARAM_WEIGHT]->data;
    int64_t ldy = g.n * g.ohw;
    for (int32_t gr = 0; gr < g.groups; gr++) {
        const float *wg = wt + (int64_t)gr * g.mg * g.k;
        float *yg = l->out + (int64_t)gr * g.mg * ldy;
        if (g.direct) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.mg, (int)ldy, (int)g.k, 1.0f, wg,
                        (int)g.k, x + (int64_t)gr * g.cg * ldy, (int)ldy, 0.0f, yg, (int)ldy);
            continue;
        }
        for (int64_t n0 = 0; n0 < g.n; n0 += g.chunk) {
            int64_t cn = g.n - n0 < g.chunk ? g.n - n0 : g.chunk;
            im2col(&g, x, gr * g.cg, n0, cn, net->col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.mg, (int)(cn * g.ohw), (int)g.k,
                        1.0f, wg, (int)g.k, net->col, (int)(cn * g.ohw), 0.0f, yg + n0 * g.ohw,
                        (int)ldy);
        }
    }
    if (l->param[EC2T_PARAM_BIAS])
        add_bias(l->out, l->param[EC2T_PARAM_BIAS]->data, g.m, ldy);
}

static void
bias_grad(const float *dy, float *db, int32_t m, int64_t cols)
{
    for (int32_t o = 0; o < m; o++) {
        double s = 0;
        for (int64_t i = 0; i < cols; i++)
            s += dy[o * cols + i];
        db[o] = (float)s;
    }
}

static void
conv_backward(ec2t_net *net, ec2t_layer *l)
{
    conv_geom g = geom_of(net, l, net->batch);
    const float *x = ec2t__input(net, l, 0)->out;
    float *dx = ec2t__input_grad(net, l, 0);
    const float *wt = l->param[EC2T_PARAM_WEIGHT]->data;
    float *dw = l->grad[EC2T_PARAM_WEIGHT]->data;
    int64_t ldy = g.n * g.ohw;

    if (l->param[EC2T_PARAM_BIAS])
        bias_grad(l->dout, l->grad[EC2T_PARAM_BIAS]->data, g.m, ldy);
    for (int32_t gr = 0; gr < g.groups; gr++) {
        const float *wg = wt + (int64_t)gr * g.mg * g.k;
        float *dwg = dw + (int64_t)gr * g.mg * g.k;
        const float *dyg = l->dout + (int64_t)gr * g.mg * ldy;
        if (g.direct) {
            const float *xg = x + (int64_t)gr * g.cg * ldy;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.mg, (int)g.k, (int)ldy, 1.0f, dyg,
                        (int)ldy, xg, (int)ldy, 0.0f, dwg, (int)g.k);
            if (dx)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.k, (int)ldy, g.mg, 1.0f,
                            wg, (int)g.k, dyg, (int)ldy, 1.0f, dx + (int64_t)gr * g.cg * ldy,
                            (int)ldy);
            continue;
        }
        for (int64_t n0 = 0; n0 < g.n; n0 += g.chunk) {
            int64_t cn = g.n - n0 < g.chunk ? g.n - n0 : g.chunk;
            int cols = (int)(cn * g.ohw);
            im2col(&g, x, gr * g.cg, n0, cn, net->col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.mg, (int)g.k, cols, 1.0f,
                        dyg + n0 * g.ohw, (int)ldy, net->col, cols, n0 == 0 ? 0.0f : 1.0f, dwg,
                        (int)g.k);
            if (!dx)
                continue;
            /* the chunk's col is no longer needed: reuse it for d(col) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.k, cols, g.mg, 1.0f, wg,
                        (int)g.k, dyg + n0 * g.ohw, (int)ldy, 0.0f, net->col, cols);
            col2im(&g, net->col, gr * g.cg, n0, cn, dx);
        }
    }
}

const ec2t__layer_ops ec2t__ops_conv2d = {
    .name = "conv2d",
    .col_floats = conv_col_floats,
    .forward = conv_forward,
    .backward = conv_backward,
};
