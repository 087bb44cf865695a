/* SPDX-License-Identifier: MIT */
/* AVX2 integer ternary kernel and quantiser (compiled with -mavx2 -mfma;
 * called only after the dispatch checked the CPU).
 *
 * As int8-avx512.c with registers of 16 lanes: a strip is 64
 * columns, four registers per sign (eight independent add chains). AVX2 has
 * no 16-bit masked loads: the columns past the last whole register go to
 * the reference kernel, whose results are the same bits. */
#include <immintrin.h>
#include <stdint.h>

#include "tkernel-int8-private.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define NV 4            /* registers of 16 lanes per sign */
#define STRIP (NV * 16) /* columns per strip */

typedef struct tsh8_args {
    const ec2t__tshift8 *s;
    const uint16_t *x;
    const float *res;
    float *y;
    int64_t ldy;
} tsh8_args;

static ALWAYS_INLINE __m256i
load16(const uint16_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

static ALWAYS_INLINE void
walk(const int32_t *p, int32_t np, const int32_t *n, int32_t nn, const uint16_t *xb, int nv,
     __m256i *sp, __m256i *sn)
{
    int32_t both = np < nn ? np : nn, i;
    for (i = 0; i < both; i++) {
        const uint16_t *a = xb + p[i], *c = xb + n[i];
        for (int v = 0; v < nv; v++)
            sp[v] = _mm256_add_epi16(sp[v], load16(a + 16 * v));
        for (int v = 0; v < nv; v++)
            sn[v] = _mm256_add_epi16(sn[v], load16(c + 16 * v));
    }
    for (int32_t j = i; j < np; j++)
        for (int v = 0; v < nv; v++)
            sp[v] = _mm256_add_epi16(sp[v], load16(xb + p[j] + 16 * v));
    for (int32_t j = i; j < nn; j++)
        for (int v = 0; v < nv; v++)
            sn[v] = _mm256_add_epi16(sn[v], load16(xb + n[j] + 16 * v));
}

static ALWAYS_INLINE void
widen_add(__m256i s16, __m256i *lo, __m256i *hi)
{
    *lo = _mm256_add_epi32(*lo, _mm256_cvtepu16_epi32(_mm256_castsi256_si128(s16)));
    *hi = _mm256_add_epi32(*hi, _mm256_cvtepu16_epi32(_mm256_extracti128_si256(s16, 1)));
}

/* The reference's float steps on 8 columns (no FMA: separate intrinsics). */
static ALWAYS_INLINE __m256
epilogue(__m256i ip, __m256i in, float ap, float an, float b, const float *r, int relu)
{
    __m256 pos = _mm256_mul_ps(_mm256_set1_ps(ap), _mm256_cvtepi32_ps(ip));
    __m256 neg = _mm256_mul_ps(_mm256_set1_ps(an), _mm256_cvtepi32_ps(in));
    __m256 v = _mm256_add_ps(_mm256_sub_ps(pos, neg), _mm256_set1_ps(b));
    if (r)
        v = _mm256_add_ps(v, _mm256_loadu_ps(r));
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* Every row over the strip of nv registers (16 nv columns) at column j. */
static ALWAYS_INLINE void
strip(const tsh8_args *a, int64_t j, int nv)
{
    const ec2t__tshift8 *s = a->s;
    for (int32_t m = 0; m < s->rows; m++) {
        const int32_t *pl = s->poff + s->prow[m], *nl = s->noff + s->nrow[m];
        int32_t np = s->prow[m + 1] - s->prow[m], nn = s->nrow[m + 1] - s->nrow[m];
        __m256i p32[2 * NV], n32[2 * NV];
        float *yb = a->y + m * a->ldy + j;
        const float *rb = a->res ? a->res + m * a->ldy + j : NULL;
        float b = s->bias ? s->bias[m] : 0.0f;
        for (int q = 0; q < 2 * nv; q++)
            p32[q] = n32[q] = _mm256_setzero_si256();
        for (int32_t c = 0; c < np || c < nn; c += EC2T__Q8_CHUNK) {
            int32_t cp = np - c, cn = nn - c;
            __m256i sp[NV], sn[NV];
            cp = cp < 0 ? 0 : cp > EC2T__Q8_CHUNK ? EC2T__Q8_CHUNK : cp;
            cn = cn < 0 ? 0 : cn > EC2T__Q8_CHUNK ? EC2T__Q8_CHUNK : cn;
            for (int v = 0; v < nv; v++)
                sp[v] = sn[v] = _mm256_setzero_si256();
            walk(pl + (cp ? c : 0), cp, nl + (cn ? c : 0), cn, a->x + j, nv, sp, sn);
            for (int v = 0; v < nv; v++) {
                widen_add(sp[v], &p32[2 * v], &p32[2 * v + 1]);
                widen_add(sn[v], &n32[2 * v], &n32[2 * v + 1]);
            }
        }
        for (int q = 0; q < 2 * nv; q++) {
            __m256i ip = _mm256_sub_epi32(p32[q], _mm256_set1_epi32(s->zero * np));
            __m256i in = _mm256_sub_epi32(n32[q], _mm256_set1_epi32(s->zero * nn));
            _mm256_storeu_ps(yb + 8 * q, epilogue(ip, in, s->ap[m], s->an[m], b,
                                                  rb ? rb + 8 * q : NULL, s->relu));
        }
    }
}

void
ec2t__tsh8_avx2(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y, int64_t ldy,
                const float *res)
{
    tsh8_args a = {s, x, res, y, ldy};
    int64_t j = 0;
    for (; j + STRIP <= ncols; j += STRIP)
        strip(&a, j, NV);
    switch ((ncols - j) / 16) {
    case 3: strip(&a, j, 3); break;
    case 2: strip(&a, j, 2); break;
    case 1: strip(&a, j, 1); break;
    default: break;
    }
    j += (ncols - j) / 16 * 16;
    if (j < ncols)
        ec2t__tsh8_ref(s, x + j, ncols - j, y + j, ldy, res ? res + j : NULL);
}

void
ec2t__quantize8_avx2(const float *src, int64_t n, float inv_scale, int32_t zero, uint16_t *dst)
{
    const __m256 inv = _mm256_set1_ps(inv_scale), z = _mm256_set1_ps((float)zero);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 u = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(src + i), inv), z);
        __m256i q;
        u = _mm256_min_ps(_mm256_max_ps(u, lo), hi); /* max: NaN to 0 */
        q = _mm256_cvtps_epi32(u);
        /* eight values 0..255: pack to 16 bits, lanes in order */
        q = _mm256_packus_epi32(q, q);
        q = _mm256_permute4x64_epi64(q, 0x08);
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_castsi256_si128(q));
    }
    if (i < n)
        ec2t__quantize8_ref(src + i, n - i, inv_scale, zero, dst + i);
}
