/* SPDX-License-Identifier: MIT */
/* The plain-C integer ternary kernel and quantiser: the truth the SIMD ones
 * are tested against (tkernel-int8-private.h). Each output sums its +1 and
 * its -1 values in int32 (exact, so the order does not matter), then goes
 * to float in the order the contract gives; the columns go in blocks of
 * REF_BLOCK so that the inner loops run over contiguous values. */
#include <math.h>
#include <stdint.h>

#include "tkernel-int8-private.h"

#define REF_BLOCK 64

/* sum[j] += x[o + j] over the listed offsets o. */
static void
add_offsets(int32_t *restrict sum, const int32_t *off, int32_t count, const uint16_t *x,
            int64_t n)
{
    for (int32_t i = 0; i < count; i++) {
        const uint16_t *restrict xr = x + off[i];
        for (int64_t j = 0; j < n; j++)
            sum[j] += xr[j];
    }
}

/* The float epilogue; separate statements, so that no compiler contracts
 * them into a fused multiply-add. NaN goes to 0 under the ReLU, as max_ps
 * does. */
static float
finish(int32_t ip, int32_t in, float ap, float an, float b, const float *r, int relu)
{
    float pos = ap * (float)ip;
    float neg = an * (float)in;
    float v = pos - neg;
    v = v + b;
    if (r)
        v = v + *r;
    return relu ? (v > 0.0f ? v : 0.0f) : v;
}

/* Row m over columns [j0, j0 + n), n <= REF_BLOCK. */
static void
row_block(const ec2t__tshift8 *s, int32_t m, const uint16_t *x, int64_t j0, int64_t n,
          float *yrow, const float *rrow)
{
    int32_t sp[REF_BLOCK], sn[REF_BLOCK];
    int32_t np = s->prow[m + 1] - s->prow[m], nn = s->nrow[m + 1] - s->nrow[m];
    float b = s->bias ? s->bias[m] : 0.0f;
    for (int64_t j = 0; j < n; j++)
        sp[j] = sn[j] = 0;
    add_offsets(sp, s->poff + s->prow[m], np, x + j0, n);
    add_offsets(sn, s->noff + s->nrow[m], nn, x + j0, n);
    for (int64_t j = 0; j < n; j++)
        yrow[j0 + j] = finish(sp[j] - s->zero * np, sn[j] - s->zero * nn, s->ap[m], s->an[m], b,
                              rrow ? rrow + j0 + j : NULL, s->relu);
}

void
ec2t__tsh8_ref(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y, int64_t ldy,
               const float *res)
{
    for (int64_t j0 = 0; j0 < ncols; j0 += REF_BLOCK) {
        int64_t n = ncols - j0 < REF_BLOCK ? ncols - j0 : REF_BLOCK;
        for (int32_t m = 0; m < s->rows; m++)
            row_block(s, m, x, j0, n, y + m * ldy, res ? res + m * ldy : NULL);
    }
}

void
ec2t__quantize8_ref(const float *src, int64_t n, float inv_scale, int32_t zero, uint16_t *dst)
{
    for (int64_t i = 0; i < n; i++) {
        float u = src[i] * inv_scale;
        u = u + (float)zero;
        u = u > 0.0f ? u : 0.0f; /* NaN too */
        u = u < 255.0f ? u : 255.0f;
        dst[i] = (uint16_t)rintf(u); /* nearest, ties to even, as cvtps2dq */
    }
}
