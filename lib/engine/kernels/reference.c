/* SPDX-License-Identifier: MIT */
/* The plain-C ternary kernels: the truth the SIMD kernels are tested
 * against, and the kernels of every other architecture.
 *
 * Each output element sums its +1 and its -1 activations separately, in
 * ascending k, in float, and only then scales and combines them. The columns
 * go in blocks of REF_BLOCK so that the inner loops run over contiguous
 * floats (which compilers vectorise) without changing that order. */
#include <stdint.h>

#include "tkernel-private.h"

#define REF_BLOCK 64

/* ((ap * sp) - (an * sn)) + b, then the ReLU. Separate statements, so that
 * no compiler contracts them into a fused multiply-add: every ISA rounds
 * after each of these steps. NaN goes to 0 under the ReLU, as max_ps does. */
static float
combine(float sp, float sn, float ap, float an, float b, int relu)
{
    float pos = ap * sp;
    float neg = an * sn;
    float v = pos - neg;
    v = v + b;
    if (relu)
        v = v > 0.0f ? v : 0.0f;
    return v;
}

/* sum[j] += x[k][j0 + j] over the listed k, in list order. */
static void
add_rows(float *restrict sum, const int32_t *idx, int32_t count, const float *x, int64_t ldx,
         int64_t n)
{
    for (int32_t i = 0; i < count; i++) {
        const float *restrict xr = x + (int64_t)idx[i] * ldx;
        for (int64_t j = 0; j < n; j++)
            sum[j] += xr[j];
    }
}

/* Columns [j0, j0 + n) of row m, n <= REF_BLOCK. */
static void
row_block(const ec2t__tmat *t, int32_t m, float ap, float an, float b, const float *x, int64_t ldx,
          int64_t j0, int64_t n, float *yrow, int relu)
{
    float sp[REF_BLOCK], sn[REF_BLOCK];
    for (int64_t j = 0; j < n; j++)
        sp[j] = sn[j] = 0.0f;
    add_rows(sp, t->pidx + t->prow[m], t->prow[m + 1] - t->prow[m], x + j0, ldx, n);
    add_rows(sn, t->nidx + t->nrow[m], t->nrow[m + 1] - t->nrow[m], x + j0, ldx, n);
    for (int64_t j = 0; j < n; j++)
        yrow[j0 + j] = combine(sp[j], sn[j], ap, an, b, relu);
}

void
ec2t__tmm_ref(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
              const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu)
{
    for (int64_t j0 = 0; j0 < ncols; j0 += REF_BLOCK) {
        int64_t n = ncols - j0 < REF_BLOCK ? ncols - j0 : REF_BLOCK;
        for (int32_t m = 0; m < t->rows; m++)
            row_block(t, m, ap[m], an[m], bias ? bias[m] : 0.0f, x, ldx, j0, n, y + m * ldy,
                      relu);
    }
}

static float
list_sum(const int32_t *idx, int32_t count, const float *x)
{
    float s = 0.0f;
    for (int32_t i = 0; i < count; i++)
        s += x[idx[i]];
    return s;
}

void
ec2t__tmv_ref(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
              const float *x, float *y, int relu)
{
    for (int32_t m = 0; m < t->rows; m++) {
        float sp = list_sum(t->pidx + t->prow[m], t->prow[m + 1] - t->prow[m], x);
        float sn = list_sum(t->nidx + t->nrow[m], t->nrow[m + 1] - t->nrow[m], x);
        y[m] = combine(sp, sn, ap[m], an[m], bias ? bias[m] : 0.0f, relu);
    }
}

/* The epilogue of both shifted-row products after the bias: + residual,
 * then the ReLU. */
static float
shift_finish(float v, const float *rrow, int64_t j, int relu)
{
    if (rrow)
        v = v + rrow[j];
    return relu ? (v > 0.0f ? v : 0.0f) : v;
}

/* Row m of the shifted-row product over columns [j0, j0 + n), n <= REF_BLOCK:
 * add_rows with a row stride of 1 reads x[o + j0 + j] for each offset o. */
static void
shift_block(const ec2t__tshift *s, int32_t m, const float *x, int64_t j0, int64_t n, float *yrow,
            const float *rrow)
{
    float sp[REF_BLOCK], sn[REF_BLOCK];
    float b = s->bias ? s->bias[m] : 0.0f;
    for (int64_t j = 0; j < n; j++)
        sp[j] = sn[j] = 0.0f;
    add_rows(sp, s->poff + s->prow[m], s->prow[m + 1] - s->prow[m], x + j0, 1, n);
    add_rows(sn, s->noff + s->nrow[m], s->nrow[m + 1] - s->nrow[m], x + j0, 1, n);
    for (int64_t j = 0; j < n; j++)
        yrow[j0 + j] = shift_finish(combine(sp[j], sn[j], s->ap[m], s->an[m], b, 0), rrow, j0 + j,
                                    s->relu);
}

void
ec2t__tsh_ref(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
              const float *res)
{
    for (int64_t j0 = 0; j0 < ncols; j0 += REF_BLOCK) {
        int64_t n = ncols - j0 < REF_BLOCK ? ncols - j0 : REF_BLOCK;
        for (int32_t m = 0; m < s->rows; m++)
            shift_block(s, m, x, j0, n, y + m * ldy, res ? res + m * ldy : NULL);
    }
}

/* Row m of the dense shifted-row product over columns [j0, j0 + n): products
 * and sums rounded separately (no contraction: separate statements). */
static void
dshift_block(const ec2t__dshift *d, int32_t m, const float *x, int64_t j0, int64_t n,
             float *yrow, const float *rrow)
{
    float acc[REF_BLOCK];
    const float *w = d->w + (int64_t)m * d->cols;
    for (int64_t j = 0; j < n; j++)
        acc[j] = 0.0f;
    for (int32_t k = 0; k < d->cols; k++) {
        const float *xr = x + d->off[k] + j0;
        for (int64_t j = 0; j < n; j++) {
            float p = w[k] * xr[j];
            acc[j] = acc[j] + p;
        }
    }
    for (int64_t j = 0; j < n; j++) {
        float v = acc[j] + (d->bias ? d->bias[m] : 0.0f);
        yrow[j0 + j] = shift_finish(v, rrow, j0 + j, d->relu);
    }
}

void
ec2t__dsh_ref(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
              const float *res)
{
    for (int64_t j0 = 0; j0 < ncols; j0 += REF_BLOCK) {
        int64_t n = ncols - j0 < REF_BLOCK ? ncols - j0 : REF_BLOCK;
        for (int32_t m = 0; m < d->rows; m++)
            dshift_block(d, m, x, j0, n, y + m * ldy, res ? res + m * ldy : NULL);
    }
}
