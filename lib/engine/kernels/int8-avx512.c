/* SPDX-License-Identifier: MIT */
/* AVX-512 integer ternary kernel and quantiser (compiled with -mavx512f/bw/vl
 * -mavx512dq; called only after the dispatch checked the CPU).
 *
 * The shifted-row product of tshift-body.h on 16-bit lanes: a strip is 128
 * columns, four registers of 32 lanes per sign (eight independent add
 * chains, and a list entry's index read once per four loads: 9 % faster on
 * ResNet-20 than two registers); all rows walk their lists over one strip,
 * which stays in L1.
 * Every EC2T__Q8_CHUNK values of a sign the 16-bit sums are widened into
 * 32-bit ones, so the sums are exact and equal the reference's. */
#include <immintrin.h>
#include <stdint.h>

#include "tkernel-int8-private.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define NV 4            /* registers of 32 lanes per sign */
#define STRIP (NV * 32) /* columns per strip */

typedef struct tsh8_args {
    const ec2t__tshift8 *s;
    const uint16_t *x;
    const float *res;
    float *y;
    int64_t ldy;
} tsh8_args;

static ALWAYS_INLINE __m512i
load16(const uint16_t *p, __mmask32 k, int masked)
{
    return masked ? _mm512_maskz_loadu_epi16(k, p) : _mm512_loadu_si512((const void *)p);
}

/* The 16-bit sums of up to EC2T__Q8_CHUNK entries of each list, both lists
 * side by side, then the longer one's rest. */
static ALWAYS_INLINE void
walk(const int32_t *p, int32_t np, const int32_t *n, int32_t nn, const uint16_t *xb,
     const __mmask32 *k, int masked, int nv, __m512i *sp, __m512i *sn)
{
    int32_t both = np < nn ? np : nn, i;
    for (i = 0; i < both; i++) {
        const uint16_t *a = xb + p[i], *c = xb + n[i];
        for (int v = 0; v < nv; v++)
            sp[v] = _mm512_add_epi16(sp[v], load16(a + 32 * v, k[v], masked));
        for (int v = 0; v < nv; v++)
            sn[v] = _mm512_add_epi16(sn[v], load16(c + 32 * v, k[v], masked));
    }
    for (int32_t j = i; j < np; j++)
        for (int v = 0; v < nv; v++)
            sp[v] = _mm512_add_epi16(sp[v], load16(xb + p[j] + 32 * v, k[v], masked));
    for (int32_t j = i; j < nn; j++)
        for (int v = 0; v < nv; v++)
            sn[v] = _mm512_add_epi16(sn[v], load16(xb + n[j] + 32 * v, k[v], masked));
}

/* 32 unsigned 16-bit sums into two registers of 32-bit ones (columns 0-15
 * and 16-31). */
static ALWAYS_INLINE void
widen_add(__m512i s16, __m512i *lo, __m512i *hi)
{
    *lo = _mm512_add_epi32(*lo, _mm512_cvtepu16_epi32(_mm512_castsi512_si256(s16)));
    *hi = _mm512_add_epi32(*hi, _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(s16, 1)));
}

/* The reference's float steps on 16 columns. */
static ALWAYS_INLINE __m512
epilogue(__m512i ip, __m512i in, float ap, float an, float b, const float *r, __mmask16 k,
         int masked, int relu)
{
    __m512 pos = _mm512_mul_ps(_mm512_set1_ps(ap), _mm512_cvtepi32_ps(ip));
    __m512 neg = _mm512_mul_ps(_mm512_set1_ps(an), _mm512_cvtepi32_ps(in));
    __m512 v = _mm512_add_ps(_mm512_sub_ps(pos, neg), _mm512_set1_ps(b));
    if (r)
        v = _mm512_add_ps(v, masked ? _mm512_maskz_loadu_ps(k, r) : _mm512_loadu_ps(r));
    return relu ? _mm512_max_ps(v, _mm512_setzero_ps()) : v;
}

/* Every row over the strip of nv registers (32 nv columns) at column j. */
static ALWAYS_INLINE void
strip(const tsh8_args *a, int64_t j, int64_t cols, int masked, int nv)
{
    const ec2t__tshift8 *s = a->s;
    __mmask32 k[NV];
    __mmask16 kf[2 * NV];
    for (int v = 0; v < NV; v++) {
        int64_t c = cols - 32 * v;
        k[v] = c >= 32 ? (__mmask32)0xffffffffu : c > 0 ? (__mmask32)((1u << c) - 1) : 0;
    }
    for (int q = 0; q < 2 * NV; q++) {
        int64_t c = cols - 16 * q;
        kf[q] = c >= 16 ? (__mmask16)0xffff : c > 0 ? (__mmask16)((1u << c) - 1) : 0;
    }
    for (int32_t m = 0; m < s->rows; m++) {
        const int32_t *pl = s->poff + s->prow[m], *nl = s->noff + s->nrow[m];
        int32_t np = s->prow[m + 1] - s->prow[m], nn = s->nrow[m + 1] - s->nrow[m];
        __m512i p32[2 * NV], n32[2 * NV];
        float *yb = a->y + m * a->ldy + j;
        const float *rb = a->res ? a->res + m * a->ldy + j : NULL;
        float b = s->bias ? s->bias[m] : 0.0f;
        for (int q = 0; q < 2 * nv; q++)
            p32[q] = n32[q] = _mm512_setzero_si512();
        for (int32_t c = 0; c < np || c < nn; c += EC2T__Q8_CHUNK) {
            int32_t cp = np - c, cn = nn - c;
            __m512i sp[NV], sn[NV];
            cp = cp < 0 ? 0 : cp > EC2T__Q8_CHUNK ? EC2T__Q8_CHUNK : cp;
            cn = cn < 0 ? 0 : cn > EC2T__Q8_CHUNK ? EC2T__Q8_CHUNK : cn;
            for (int v = 0; v < nv; v++)
                sp[v] = sn[v] = _mm512_setzero_si512();
            walk(pl + (cp ? c : 0), cp, nl + (cn ? c : 0), cn, a->x + j, k, masked, nv, sp, sn);
            for (int v = 0; v < nv; v++) {
                widen_add(sp[v], &p32[2 * v], &p32[2 * v + 1]);
                widen_add(sn[v], &n32[2 * v], &n32[2 * v + 1]);
            }
        }
        for (int q = 0; q < 2 * nv; q++) {
            __m512i ip = _mm512_sub_epi32(p32[q], _mm512_set1_epi32(s->zero * np));
            __m512i in = _mm512_sub_epi32(n32[q], _mm512_set1_epi32(s->zero * nn));
            __m512 v = epilogue(ip, in, s->ap[m], s->an[m], b, rb ? rb + 16 * q : NULL, kf[q],
                                masked, s->relu);
            if (masked)
                _mm512_mask_storeu_ps(yb + 16 * q, kf[q], v);
            else
                _mm512_storeu_ps(yb + 16 * q, v);
        }
    }
}

void
ec2t__tsh8_avx512(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
                  int64_t ldy, const float *res)
{
    tsh8_args a = {s, x, res, y, ldy};
    int64_t j = 0;
    for (; j + STRIP <= ncols; j += STRIP)
        strip(&a, j, STRIP, 0, NV);
    switch ((ncols - j + 31) / 32) { /* the last, partial strip's registers */
    case 0: break;
    case 1: strip(&a, j, ncols - j, 1, 1); break;
    case 2: strip(&a, j, ncols - j, 1, 2); break;
    case 3: strip(&a, j, ncols - j, 1, 3); break;
    default: strip(&a, j, ncols - j, 1, 4); break;
    }
}

void
ec2t__quantize8_avx512(const float *src, int64_t n, float inv_scale, int32_t zero,
                       uint16_t *dst)
{
    const __m512 inv = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps((float)zero);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 u = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, src + i), inv), z);
        u = _mm512_min_ps(_mm512_max_ps(u, lo), hi); /* max: NaN to 0 */
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, k, _mm512_cvtps_epi32(u));
    }
}
