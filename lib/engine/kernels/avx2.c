/* SPDX-License-Identifier: MIT */
/* AVX2 ternary kernels (compiled with -mavx2 -mfma -mpopcnt; called only
 * after the dispatch checked the CPU).
 *
 * Matrix product: tmm-body.h with 8-float registers (strips of 32 columns);
 * shifted-row products: tshift-body.h and dshift-body.h, the same widths.
 *
 * Matrix-vector product: AVX2 has no mask registers, so each byte of a mask
 * selects its eight lanes of x through a table of lane masks (an AND), and
 * the selected values are added; four independent chains per sign. */
#include <immintrin.h>
#include <stdint.h>

#include "tkernel-private.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* ---- matrix product: the primitives of tmm-body.h ---------------------- */

typedef __m256 vec;
typedef __m256i lanes;
#define VW 8

static ALWAYS_INLINE vec
v_zero(void)
{
    return _mm256_setzero_ps();
}

static ALWAYS_INLINE vec
v_add(vec a, vec b)
{
    return _mm256_add_ps(a, b);
}

/* masked: maskload reads only the lanes whose mask is set (no fault) */
static ALWAYS_INLINE vec
v_load(const float *p, lanes k, int masked)
{
    return masked ? _mm256_maskload_ps(p, k) : _mm256_loadu_ps(p);
}

static ALWAYS_INLINE void
v_store(float *p, vec v, lanes k, int masked)
{
    if (masked)
        _mm256_maskstore_ps(p, k, v);
    else
        _mm256_storeu_ps(p, v);
}

/* ((ap * sp) - (an * sn)) + b and the ReLU, rounding as the reference does. */
static ALWAYS_INLINE vec
v_combine(vec sp, vec sn, float ap, float an, float b, int relu)
{
    vec v = _mm256_add_ps(_mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(ap), sp),
                                        _mm256_mul_ps(_mm256_set1_ps(an), sn)),
                          _mm256_set1_ps(b));
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

static ALWAYS_INLINE lanes
lanes_first(int64_t n)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int c = n < 0 ? 0 : n > VW ? VW : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), lane);
}

static ALWAYS_INLINE int32_t
popcount64(uint64_t w)
{
    return (int32_t)_mm_popcnt_u64(w);
}

static ALWAYS_INLINE void
prefetch_l2(const float *p)
{
    _mm_prefetch((const char *)p, _MM_HINT_T1);
}

/* the ReLU after a residual add, NaN to 0 as v_combine's */
static ALWAYS_INLINE vec
v_max0(vec v)
{
    return _mm256_max_ps(v, _mm256_setzero_ps());
}

static ALWAYS_INLINE vec
v_set1(float f)
{
    return _mm256_set1_ps(f);
}

static ALWAYS_INLINE vec
v_fma(vec a, vec b, vec c)
{
    return _mm256_fmadd_ps(a, b, c);
}

/* the dense shifted-row product's register block: 8 sums and 2 registers of
 * x plus a broadcast weight fit the 16 registers */
#define DSH_ROWS 4
#define DSH_VECS 2

#include "tmm-body.h"
#include "tshift-body.h"
#include "dshift-body.h"

void
ec2t__tmm_avx2(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
               const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu)
{
    tmm_simd(t, ap, an, bias, x, ldx, ncols, y, ldy, relu);
}

void
ec2t__tsh_avx2(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
               const float *res)
{
    tsh_simd(s, x, ncols, y, ldy, res);
}

void
ec2t__dsh_avx2(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
               const float *res)
{
    dsh_simd(d, x, ncols, y, ldy, res);
}

/* ---- matrix-vector ---------------------------------------------------- */

/* lane_mask[b][i] is all ones when bit i of b is set: byte b of a mask as an
 * AND mask over eight floats. Read-only (8 KiB). */
#define LM_ROW(b)                                                                                  \
    {                                                                                              \
        -((b) & 1), -((b) >> 1 & 1), -((b) >> 2 & 1), -((b) >> 3 & 1), -((b) >> 4 & 1),             \
            -((b) >> 5 & 1), -((b) >> 6 & 1), -((b) >> 7 & 1)                                     \
    }
#define LM_ROW4(b) LM_ROW(b), LM_ROW((b) + 1), LM_ROW((b) + 2), LM_ROW((b) + 3)
#define LM_ROW16(b) LM_ROW4(b), LM_ROW4((b) + 4), LM_ROW4((b) + 8), LM_ROW4((b) + 12)
#define LM_ROW64(b) LM_ROW16(b), LM_ROW16((b) + 16), LM_ROW16((b) + 32), LM_ROW16((b) + 48)

static _Alignas(32) const int32_t lane_mask[256][8] = {LM_ROW64(0), LM_ROW64(64), LM_ROW64(128),
                                                       LM_ROW64(192)};

static ALWAYS_INLINE __m256
lanes_of(uint64_t w, int c)
{
    return _mm256_castsi256_ps(_mm256_load_si256((const __m256i *)lane_mask[(w >> (8 * c)) & 0xff]));
}

/* x[8 c .. 8 c + 8) of a 64-float block at xw, of which only the first
 * avail (<= 64) exist: whole registers load directly, the last partial one
 * through a mask, so nothing past x[cols) is read. */
static ALWAYS_INLINE __m256
load_block(const float *xw, int c, int32_t avail)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (8 * c + 8 <= avail)
        return _mm256_loadu_ps(xw + 8 * c);
    return _mm256_maskload_ps(xw + 8 * c, _mm256_cmpgt_epi32(_mm256_set1_epi32(avail - 8 * c), lane));
}

static float
hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static void
row_mask_sums(const uint64_t *pm, const uint64_t *nm, int32_t words, int32_t cols, const float *x,
              float *sp, float *sn)
{
    __m256 p[4], n[4];
    for (int c = 0; c < 4; c++)
        p[c] = n[c] = _mm256_setzero_ps();
    for (int32_t w = 0; w < words; w++) {
        uint64_t a = pm[w], b = nm[w];
        const float *xw = x + (int64_t)w * 64;
        int32_t avail = cols - w * 64;
        for (int c = 0; c < 8; c++) {
            __m256 xv;
            if (8 * c >= avail)
                break;
            xv = load_block(xw, c, avail);
            p[c & 3] = _mm256_add_ps(p[c & 3], _mm256_and_ps(xv, lanes_of(a, c)));
            n[c & 3] = _mm256_add_ps(n[c & 3], _mm256_and_ps(xv, lanes_of(b, c)));
        }
    }
    *sp = hsum(_mm256_add_ps(_mm256_add_ps(p[0], p[1]), _mm256_add_ps(p[2], p[3])));
    *sn = hsum(_mm256_add_ps(_mm256_add_ps(n[0], n[1]), _mm256_add_ps(n[2], n[3])));
}

void
ec2t__tmv_avx2(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
               const float *x, float *y, int relu)
{
    for (int32_t m = 0; m < t->rows; m++) {
        float sp, sn, pos, neg, v;
        row_mask_sums(t->pmask + (int64_t)m * t->words, t->nmask + (int64_t)m * t->words,
                      t->words, t->cols, x, &sp, &sn);
        /* separate statements: no contraction into an FMA (see tkernel-ref.c) */
        pos = ap[m] * sp;
        neg = an[m] * sn;
        v = pos - neg;
        v = v + (bias ? bias[m] : 0.0f);
        y[m] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}
