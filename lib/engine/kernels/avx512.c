/* SPDX-License-Identifier: MIT */
/* AVX-512 ternary kernels (compiled with -mavx512f/bw/vl/dq -mfma -mpopcnt;
 * called only after the dispatch checked the CPU).
 *
 * Matrix product: tmm-body.h with 16-float registers (strips of 64 columns);
 * shifted-row products: tshift-body.h and dshift-body.h, the same widths.
 *
 * Matrix-vector product: masked adds of x under the two bitmasks, 16 bits of
 * mask (one register of x) at a time, four independent chains per sign. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "tkernel-private.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* ---- matrix product: the primitives of tmm-body.h ---------------------- */

typedef __m512 vec;
typedef __mmask16 lanes;
#define VW 16

static ALWAYS_INLINE vec
v_zero(void)
{
    return _mm512_setzero_ps();
}

static ALWAYS_INLINE vec
v_add(vec a, vec b)
{
    return _mm512_add_ps(a, b);
}

/* masked: a fault-suppressing load of the lanes in k only */
static ALWAYS_INLINE vec
v_load(const float *p, lanes k, int masked)
{
    return masked ? _mm512_maskz_loadu_ps(k, p) : _mm512_loadu_ps(p);
}

static ALWAYS_INLINE void
v_store(float *p, vec v, lanes k, int masked)
{
    if (masked)
        _mm512_mask_storeu_ps(p, k, v);
    else
        _mm512_storeu_ps(p, v);
}

/* ((ap * sp) - (an * sn)) + b and the ReLU, rounding as the reference does;
 * max_ps turns NaN into 0 as the reference's ReLU does. */
static ALWAYS_INLINE vec
v_combine(vec sp, vec sn, float ap, float an, float b, int relu)
{
    vec v = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(ap), sp),
                                        _mm512_mul_ps(_mm512_set1_ps(an), sn)),
                          _mm512_set1_ps(b));
    return relu ? _mm512_max_ps(v, _mm512_setzero_ps()) : v;
}

static ALWAYS_INLINE lanes
lanes_first(int64_t n)
{
    return n >= VW ? (lanes)0xffff : n > 0 ? (lanes)((1u << n) - 1) : (lanes)0;
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
    return _mm512_max_ps(v, _mm512_setzero_ps());
}

static ALWAYS_INLINE vec
v_set1(float f)
{
    return _mm512_set1_ps(f);
}

static ALWAYS_INLINE vec
v_fma(vec a, vec b, vec c)
{
    return _mm512_fmadd_ps(a, b, c);
}

/* the dense shifted-row product's register block: 24 sums and 3 registers of
 * x plus a broadcast weight fit the 32 registers */
#define DSH_ROWS 8
#define DSH_VECS 3

#include "tmm-body.h"
#include "tshift-body.h"
#include "dshift-body.h"

void
ec2t__tmm_avx512(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                 const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu)
{
    tmm_simd(t, ap, an, bias, x, ldx, ncols, y, ldy, relu);
}

void
ec2t__tsh_avx512(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
                 const float *res)
{
    tsh_simd(s, x, ncols, y, ldy, res);
}

void
ec2t__dsh_avx512(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
                 const float *res)
{
    dsh_simd(d, x, ncols, y, ldy, res);
}

/* ---- matrix-vector ---------------------------------------------------- */

/* 32 bits of a mask, half h of word w, in every lane: x86 is little-endian,
 * so they are bytes 4 h .. 4 h + 3 of the word, and the broadcast loads
 * them straight from memory. */
static ALWAYS_INLINE __m512i
half_word(const uint64_t *mask, int32_t w, int h)
{
    uint32_t v;
    memcpy(&v, (const unsigned char *)(mask + w) + 4 * h, sizeof v);
    return _mm512_set1_epi32((int)v);
}

/* Adds x[16 c .. 16 c + 16) of a 64-float block under both masks of its word
 * (half h = c / 2 of it broadcast in ha, hb), to chain c. A test against the
 * lane bits (lane i of bit holds its bit) turns the broadcast into a mask
 * register: measured 1.3-1.4x faster than moving each 16-bit mask through a
 * general register (kmovw from a GPR is the bottleneck there). partial: the
 * block may end before x does, so load only the lanes under a set bit. */
static ALWAYS_INLINE void
chunk_add(__m512i ha, __m512i hb, __m512i bit, const float *xc, int partial, __m512 *p,
          __m512 *n)
{
    __mmask16 ka = _mm512_test_epi32_mask(ha, bit), kb = _mm512_test_epi32_mask(hb, bit);
    __m512 xv = partial ? _mm512_maskz_loadu_ps((__mmask16)(ka | kb), xc) : _mm512_loadu_ps(xc);
    *p = _mm512_mask_add_ps(*p, ka, *p, xv);
    *n = _mm512_mask_add_ps(*n, kb, *n, xv);
}

static ALWAYS_INLINE void
word_add(const uint64_t *pm, const uint64_t *nm, int32_t w, const float *x, int partial,
         __m512 *p, __m512 *n)
{
    /* lane i tests bit i of the low 16 bits of a 32-bit half, or bit 16 + i */
    const __m512i lo = _mm512_setr_epi32(1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5, 1 << 6,
                                         1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12,
                                         1 << 13, 1 << 14, 1 << 15);
    const __m512i hi = _mm512_slli_epi32(lo, 16);
    const float *xw = x + (int64_t)w * 64;
    for (int h = 0; h < 2; h++) {
        __m512i ha = half_word(pm, w, h), hb = half_word(nm, w, h);
        chunk_add(ha, hb, lo, xw + 32 * h, partial, &p[2 * h], &n[2 * h]);
        chunk_add(ha, hb, hi, xw + 32 * h + 16, partial, &p[2 * h + 1], &n[2 * h + 1]);
    }
}

/* Sums of x under one row's masks, four chains per sign. Whole words load x
 * directly; the last, partial word only the lanes under a set bit (bits
 * beyond cols are 0), so nothing past x[cols) is read. */
static void
row_mask_sums(const uint64_t *pm, const uint64_t *nm, int32_t words, int32_t cols, const float *x,
              float *sp, float *sn)
{
    __m512 p[4], n[4];
    int32_t full = cols / 64, w;
    for (int c = 0; c < 4; c++)
        p[c] = n[c] = _mm512_setzero_ps();
    for (w = 0; w < full; w++)
        word_add(pm, nm, w, x, 0, p, n);
    for (; w < words; w++)
        word_add(pm, nm, w, x, 1, p, n);
    *sp = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(p[0], p[1]), _mm512_add_ps(p[2], p[3])));
    *sn = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(n[0], n[1]), _mm512_add_ps(n[2], n[3])));
}

void
ec2t__tmv_avx512(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
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
