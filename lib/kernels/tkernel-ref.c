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
