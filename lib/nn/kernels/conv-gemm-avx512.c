/* SPDX-License-Identifier: MIT */
/* AVX-512 products of the convolution layers (conv-gemm-private.h), compiled
 * with -mavx512f/dq -mfma and called only after the dispatch checked the CPU.
 *
 * A B: register tiles of 8 rows x 48 columns (24 accumulators), each k
 * step one broadcast of A per row and three loads of B's row, no packing:
 * B's 48-column strip of KC rows (24 KiB) stays in L1 while every row block
 * of A passes over it. Masked loads and stores take the ragged edge.
 *
 * A B^T: tiles of 4 x 4 dot products along the long dimension n, in blocks
 * of NB so that the rows of B stay in L2, each reduced across its 16 lanes
 * at the end of the block. */
#include <immintrin.h>
#include <stdint.h>

#include "conv-gemm-private.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define NR 48  /* columns per tile: three registers */
#define MR 8   /* rows per tile */
#define KC 128 /* k rows of B per pass */
#define NB 256 /* n per pass of A B^T */

static ALWAYS_INLINE __mmask16
lane_mask(int n, int from)
{
    int k = n - from;
    return k >= 16 ? (__mmask16)0xffff : k <= 0 ? (__mmask16)0 : (__mmask16)((1u << k) - 1);
}

static ALWAYS_INLINE void
tile_nn(int mr, int nn, int kc, const float *a, int64_t lda, const float *b, int64_t ldb,
        float *c, int64_t ldc, int load_c)
{
    __m512 acc[MR][3];
    __mmask16 m0 = lane_mask(nn, 0), m1 = lane_mask(nn, 16), m2 = lane_mask(nn, 32);
    for (int r = 0; r < mr; r++) {
        if (load_c) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, c + r * ldc);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);
            acc[r][2] = _mm512_maskz_loadu_ps(m2, c + r * ldc + 32);
        } else {
            acc[r][0] = acc[r][1] = acc[r][2] = _mm512_setzero_ps();
        }
    }
    for (int p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bp);
        __m512 b1 = _mm512_maskz_loadu_ps(m1, bp + 16);
        __m512 b2 = _mm512_maskz_loadu_ps(m2, bp + 32);
        for (int r = 0; r < mr; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + p]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
        }
    }
    for (int r = 0; r < mr; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
        _mm512_mask_storeu_ps(c + r * ldc + 32, m2, acc[r][2]);
    }
}

void
ec2t__conv_gemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                          float *c, int ldc, int accumulate)
{
    for (int j = 0; j < n; j += NR) {
        int nn = n - j < NR ? n - j : NR;
        for (int p = 0; p < k; p += KC) {
            int kc = k - p < KC ? k - p : KC, load = accumulate || p > 0;
            for (int i = 0; i < m; i += MR) {
                const float *ap = a + (int64_t)i * lda + p;
                const float *bp = b + (int64_t)p * ldb + j;
                float *cp = c + (int64_t)i * ldc + j;
                /* a constant row count per call: the tile stays in registers */
                switch (m - i < MR ? m - i : MR) {
                case 8: tile_nn(8, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 7: tile_nn(7, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 6: tile_nn(6, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 5: tile_nn(5, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 4: tile_nn(4, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 3: tile_nn(3, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                case 2: tile_nn(2, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                default: tile_nn(1, nn, kc, ap, lda, bp, ldb, cp, ldc, load); break;
                }
            }
        }
    }
}

static ALWAYS_INLINE void
tile_nt(int mr, int kr, int nn, const float *a, int64_t lda, const float *b, int64_t ldb,
        float *c, int64_t ldc, int load_c)
{
    __m512 acc[4][4], av[4], bv[4];
    int p = 0;
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++)
            acc[r][q] = _mm512_setzero_ps();
    for (; p + 16 <= nn; p += 16) {
        for (int r = 0; r < mr; r++)
            av[r] = _mm512_loadu_ps(a + r * lda + p);
        for (int q = 0; q < kr; q++)
            bv[q] = _mm512_loadu_ps(b + q * ldb + p);
        for (int r = 0; r < mr; r++)
            for (int q = 0; q < kr; q++)
                acc[r][q] = _mm512_fmadd_ps(av[r], bv[q], acc[r][q]);
    }
    if (p < nn) {
        __mmask16 mk = lane_mask(nn, p);
        for (int r = 0; r < mr; r++)
            av[r] = _mm512_maskz_loadu_ps(mk, a + r * lda + p);
        for (int q = 0; q < kr; q++)
            bv[q] = _mm512_maskz_loadu_ps(mk, b + q * ldb + p);
        for (int r = 0; r < mr; r++)
            for (int q = 0; q < kr; q++)
                acc[r][q] = _mm512_fmadd_ps(av[r], bv[q], acc[r][q]);
    }
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < kr; q++) {
            float s = _mm512_reduce_add_ps(acc[r][q]);
            c[r * ldc + q] = load_c ? c[r * ldc + q] + s : s;
        }
}

void
ec2t__conv_gemm_nt_avx512(int m, int k, int n, const float *a, int lda, const float *b, int ldb,
                          float *c, int ldc, int accumulate)
{
    if (n <= 0) { /* an empty sum: C = 0 or C unchanged */
        for (int i = 0; i < m && !accumulate; i++)
            for (int j = 0; j < k; j++)
                c[(int64_t)i * ldc + j] = 0.0f;
        return;
    }
    for (int p = 0; p < n; p += NB) {
        int nn = n - p < NB ? n - p : NB, load = accumulate || p > 0;
        for (int i = 0; i < m; i += 4) {
            int mr = m - i < 4 ? m - i : 4;
            for (int j = 0; j < k; j += 4) {
                int kr = k - j < 4 ? k - j : 4;
                const float *ap = a + (int64_t)i * lda + p, *bp = b + (int64_t)j * ldb + p;
                float *cp = c + (int64_t)i * ldc + j;
                if (mr == 4 && kr == 4)
                    tile_nt(4, 4, nn, ap, lda, bp, ldb, cp, ldc, load);
                else
                    tile_nt(mr, kr, nn, ap, lda, bp, ldb, cp, ldc, load);
            }
        }
    }
}
