/* SPDX-License-Identifier: MIT */
/* The integer ternary kernel and the quantiser: exact integer results on
 * hand-made cases, the reference within the quantisation error of a float
 * computation on the unquantised activations, and every SIMD kernel this
 * CPU runs bit for bit equal to the reference (the 16-bit sums' widening,
 * tails, residuals, zero points, values at 255, nothing written outside).
 *
 * EC2T_FORCE_ISA=reference|avx2|avx512 limits the SIMD checks to one ISA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context-private.h"
#include "rng-private.h"
#include "test-common.h"
#include "tkernel-int8-private.h"

/* A float bit pattern no kernel computes: marks bytes that must stay put. */
#define GUARD_BITS 0x7fa5a5a5u

static float
guard_value(void)
{
    uint32_t bits = GUARD_BITS;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int
same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static int
isa_wanted(ec2t__isa isa)
{
    const char *force = getenv("EC2T_FORCE_ISA");
    if (force && *force && strcmp(force, ec2t__isa_name(isa)) != 0)
        return 0;
    if (!ec2t__isa_supported(isa)) {
        printf("kernels-int8: %s skipped: this CPU or OS does not support it\n", ec2t__isa_name(isa));
        return 0;
    }
    return 1;
}

/* A random ternary M x K problem in shifted-row form: weight k reads rows of
 * the buffer at offset k * ld (k in ascending order per list). */
typedef struct problem {
    int32_t m, k;
    int64_t ld;
    int32_t *prow, *nrow, *poff, *noff;
    float *ap, *an, *bias;
} problem;

static void
problem_make(problem *p, int32_t m, int32_t k, int64_t ld, double density, uint64_t seed)
{
    ec2t__rng rng;
    int32_t np = 0, nn = 0;
    ec2t__rng_seed(&rng, seed);
    p->m = m, p->k = k, p->ld = ld;
    p->prow = malloc(((size_t)m + 1) * sizeof(int32_t));
    p->nrow = malloc(((size_t)m + 1) * sizeof(int32_t));
    p->poff = malloc(((size_t)m * k + 1) * sizeof(int32_t));
    p->noff = malloc(((size_t)m * k + 1) * sizeof(int32_t));
    p->ap = malloc((size_t)m * sizeof(float));
    p->an = malloc((size_t)m * sizeof(float));
    p->bias = malloc((size_t)m * sizeof(float));
    for (int32_t r = 0; r < m; r++) {
        p->prow[r] = np;
        p->nrow[r] = nn;
        for (int32_t c = 0; c < k; c++) {
            float u = ec2t__rng_uniform(&rng);
            if (u >= density)
                continue;
            if (ec2t__rng_uniform(&rng) < 0.5f)
                p->poff[np++] = (int32_t)(c * ld);
            else
                p->noff[nn++] = (int32_t)(c * ld);
        }
        p->ap[r] = 0.01f + 0.1f * ec2t__rng_uniform(&rng);
        p->an[r] = 0.01f + 0.1f * ec2t__rng_uniform(&rng);
        p->bias[r] = ec2t__rng_uniform(&rng) - 0.5f;
    }
    p->prow[m] = np;
    p->nrow[m] = nn;
}

static void
problem_free(problem *p)
{
    free(p->prow), free(p->nrow), free(p->poff), free(p->noff);
    free(p->ap), free(p->an), free(p->bias);
}

static ec2t__tshift8
view(const problem *p, int32_t zero, int relu, int with_bias)
{
    ec2t__tshift8 s = {p->m, p->prow, p->nrow, p->poff, p->noff,
                       p->ap, p->an, with_bias ? p->bias : NULL, zero, relu};
    return s;
}

/* ---- exact integer results ----------------------------------------------- */

START_TEST(test_kernels_int8_exact_small)
{
    /* 3 weights over a buffer of 3 rows of 4 columns */
    const uint16_t x[12] = {1, 2, 3, 4, /* row 0 */ 10, 20, 30, 40, /* row 1 */ 255, 0, 7, 100};
    /* row 0: +x0 +x2 -x1; row 1: -x0 -x1 -x2; row 2: no entries */
    const int32_t prow[4] = {0, 2, 2, 2}, nrow[4] = {0, 1, 4, 4};
    const int32_t poff[2] = {0, 8}, noff[4] = {4, 0, 4, 8};
    const float one[3] = {1, 1, 1}, two[3] = {2, 2, 2}, bias[3] = {0.5f, -1, 3};
    ec2t__tshift8 s = {3, prow, nrow, poff, noff, one, one, NULL, 0, 0};
    float y[12];
    /* row 0: (x0 + x2) - x1; row 1: -(x0 + x1 + x2); row 2: 0 */
    const float want0[12] = {256 - 10, 2 - 20, 10 - 30, 104 - 40, -266, -22, -40, -144,
                             0, 0, 0, 0};
    /* zero point 1, ap 2, an 1, bias, ReLU: each value counts as q - 1 */
    const float want1[12] = {2 * 254 - 9 + 0.5f, 0 /* -18.5 under the ReLU */, 0 /* -12.5 */,
                             2 * 102 - 39 + 0.5f, 0, 0, 0, 0, 3, 3, 3, 3};
    for (int isa = EC2T__ISA_REF; isa < EC2T__ISA_COUNT; isa++) {
        if (!isa_wanted((ec2t__isa)isa))
            continue;
        s.ap = one, s.an = one, s.bias = NULL, s.zero = 0, s.relu = 0;
        ec2t__tsh8((ec2t__isa)isa, &s, x, 4, y, 4, NULL);
        for (int i = 0; i < 12; i++)
            ck_assert_msg(y[i] == want0[i], "isa %d y[%d] = %g, want %g", isa, i, (double)y[i],
                          (double)want0[i]);
        s.ap = two, s.bias = bias, s.zero = 1, s.relu = 1;
        ec2t__tsh8((ec2t__isa)isa, &s, x, 4, y, 4, NULL);
        for (int i = 0; i < 12; i++)
            ck_assert_msg(y[i] == want1[i], "isa %d zero 1: y[%d] = %g, want %g", isa, i,
                          (double)y[i], (double)want1[i]);
    }
}
END_TEST

/* 600 entries of 255 in one row: past two widenings of the 16-bit sums. */
START_TEST(test_kernels_int8_long_rows_exact)
{
    enum { K = 600, N = 80 };
    static uint16_t x[K * N];
    problem p;
    float y[2 * N];
    for (int i = 0; i < K * N; i++)
        x[i] = 255;
    problem_make(&p, 2, K, N, 2.0, 5); /* density 2: every weight non-zero */
    for (int32_t r = 0; r < 2; r++)
        p.ap[r] = p.an[r] = 1.0f;
    for (int isa = EC2T__ISA_REF; isa < EC2T__ISA_COUNT; isa++) {
        ec2t__tshift8 s = view(&p, 0, 0, 0);
        if (!isa_wanted((ec2t__isa)isa))
            continue;
        ec2t__tsh8((ec2t__isa)isa, &s, x, N, y, N, NULL);
        for (int32_t r = 0; r < 2; r++) {
            int32_t np = p.prow[r + 1] - p.prow[r], nn = p.nrow[r + 1] - p.nrow[r];
            ck_assert_int_eq(np + nn, K);
            for (int j = 0; j < N; j++)
                ck_assert_msg(y[r * N + j] == (float)(255 * (np - nn)), "isa %d row %d col %d: %g",
                              isa, r, j, (double)y[r * N + j]);
        }
    }
    problem_free(&p);
}
END_TEST

/* ---- against float -------------------------------------------------------- */

/* Activations in [lo, hi] quantised with scale (hi - lo) / 255 and the zero
 * point of lo: each value is off by at most scale / 2, so an output by at
 * most (ap |P| + an |N|) scale / 2, plus float rounding. */
START_TEST(test_kernels_int8_ref_vs_float)
{
    const float ranges[3][2] = {{0.0f, 6.0f}, {-2.0f, 3.0f}, {-1.0f, 0.0f}};
    enum { M = 12, K = 150, N = 70 };
    problem p;
    ec2t__rng rng;
    static float xf[K * N];
    static uint16_t xq[K * N];
    float y[M * N];
    ec2t__rng_seed(&rng, 11);
    problem_make(&p, M, K, N, 0.4, 3);
    for (int r = 0; r < 3; r++) {
        float lo = ranges[r][0], hi = ranges[r][1], scale = (hi - lo) / 255.0f;
        int32_t zero = (int32_t)lrintf(-lo / scale);
        ec2t__tshift8 s = view(&p, zero, 0, 1);
        float ap8[M], an8[M];
        for (int i = 0; i < K * N; i++)
            xf[i] = lo + (hi - lo) * ec2t__rng_uniform(&rng);
        ec2t__quantize8_ref(xf, K * N, 1.0f / scale, zero, xq);
        for (int32_t m = 0; m < M; m++) {
            ap8[m] = p.ap[m] * scale;
            an8[m] = p.an[m] * scale;
        }
        s.ap = ap8, s.an = an8;
        ec2t__tsh8_ref(&s, xq, N, y, N, NULL);
        for (int32_t m = 0; m < M; m++) {
            int32_t np = p.prow[m + 1] - p.prow[m], nn = p.nrow[m + 1] - p.nrow[m];
            double bound = (p.ap[m] * np + p.an[m] * nn) * scale * 0.5 * 1.001 + 1e-4;
            for (int j = 0; j < N; j++) {
                double sp = 0, sn = 0, want;
                for (int32_t i = p.prow[m]; i < p.prow[m + 1]; i++)
                    sp += xf[p.poff[i] + j];
                for (int32_t i = p.nrow[m]; i < p.nrow[m + 1]; i++)
                    sn += xf[p.noff[i] + j];
                want = p.ap[m] * sp - p.an[m] * sn + p.bias[m];
                ck_assert_msg(fabs(y[m * N + j] - want) <= bound,
                              "range %d row %d col %d: %g vs %g (bound %g)", r, m, j,
                              (double)y[m * N + j], want, bound);
            }
        }
    }
    problem_free(&p);
}
END_TEST

/* ---- SIMD against the reference, bit for bit --------------------------------- */

static void
check_simd_case(ec2t__isa isa, int32_t m, int32_t k, int64_t ncols, double density, int32_t zero,
                int relu, int with_bias, int with_res, int max_values, uint64_t seed)
{
    problem p;
    ec2t__rng rng;
    int64_t ld = ncols + 3, ldy = ncols + 5, nx = (int64_t)k * ld + 64;
    uint16_t *x = malloc((size_t)nx * sizeof *x);
    float *want = malloc((size_t)(m * ldy) * sizeof(float));
    float *got = malloc((size_t)(m * ldy) * sizeof(float));
    float *res = with_res ? malloc((size_t)(m * ldy) * sizeof(float)) : NULL;
    ec2t__tshift8 s;
    ec2t__rng_seed(&rng, seed);
    problem_make(&p, m, k, ld, density, seed + 1);
    s = view(&p, zero, relu, with_bias);
    for (int64_t i = 0; i < nx; i++)
        x[i] = max_values ? 255 : (uint16_t)(ec2t__rng_uniform(&rng) * 256.0f) & 255;
    for (int64_t i = 0; res && i < m * ldy; i++)
        res[i] = 4.0f * ec2t__rng_uniform(&rng) - 2.0f;
    for (int64_t i = 0; i < m * ldy; i++)
        want[i] = got[i] = guard_value();
    ec2t__tsh8_ref(&s, x, ncols, want, ldy, res);
    ec2t__tsh8(isa, &s, x, ncols, got, ldy, res);
    for (int64_t i = 0; i < m * ldy; i++)
        ck_assert_msg(same_bits(got[i], want[i]),
                      "%s m %d k %d ncols %lld zero %d relu %d res %d: [%lld] %a vs %a",
                      ec2t__isa_name(isa), m, k, (long long)ncols, zero, relu, with_res,
                      (long long)i, (double)got[i], (double)want[i]);
    problem_free(&p);
    free(x), free(want), free(got), free(res);
}

static void
check_simd(ec2t__isa isa)
{
    static const int64_t cols[] = {1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 128, 200, 1024};
    if (!isa_wanted(isa))
        return;
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        for (int variant = 0; variant < 4; variant++)
            check_simd_case(isa, 9, 40, cols[c], 0.5, variant & 1 ? 37 : 0, variant & 2,
                            variant != 1, variant >= 2, 0, 100 + c * 4 + (uint64_t)variant);
    /* rows with more than two chunks per sign, every value 255 */
    check_simd_case(isa, 3, 1200, 70, 0.95, 0, 0, 1, 0, 1, 7);
    check_simd_case(isa, 3, 1200, 130, 0.95, 255, 1, 1, 1, 1, 8);
    /* one sign much longer than the other */
    check_simd_case(isa, 5, 600, 64, 0.1, 3, 0, 1, 1, 0, 9);
}

START_TEST(test_kernels_int8_avx2_vs_ref)
{
    check_simd(EC2T__ISA_AVX2);
}
END_TEST

START_TEST(test_kernels_int8_avx512_vs_ref)
{
    check_simd(EC2T__ISA_AVX512);
}
END_TEST

/* ---- the quantiser ---------------------------------------------------------- */

START_TEST(test_kernels_int8_quantize)
{
    enum { N = 203 };
    float x[N];
    uint16_t want[N + 8], got[N + 8];
    ec2t__rng rng;
    ec2t__rng_seed(&rng, 21);
    for (int i = 0; i < N; i++)
        x[i] = 20.0f * ec2t__rng_uniform(&rng) - 5.0f;
    /* ties go to even; out of range and NaN clamp */
    x[0] = 2.5f, x[1] = 3.5f, x[2] = -0.0f, x[3] = NAN, x[4] = INFINITY, x[5] = -INFINITY;
    x[6] = 1e30f, x[7] = 254.5f - 10.0f;
    ec2t__quantize8_ref(x, N, 1.0f, 10, want);
    ck_assert_int_eq(want[0], 12);  /* 12.5 to even */
    ck_assert_int_eq(want[1], 14);  /* 13.5 to even */
    ck_assert_int_eq(want[2], 10);  /* zero is the zero point */
    ck_assert_int_eq(want[3], 0);   /* NaN */
    ck_assert_int_eq(want[4], 255);
    ck_assert_int_eq(want[5], 0);
    ck_assert_int_eq(want[6], 255);
    ck_assert_int_eq(want[7], 254); /* 254.5 to even */
    for (int isa = EC2T__ISA_AVX2; isa < EC2T__ISA_COUNT; isa++) {
        if (!isa_wanted((ec2t__isa)isa))
            continue;
        for (int n = 0; n <= N; n += n < 40 ? 1 : 37) {
            for (int i = 0; i < N + 8; i++)
                got[i] = 0xa5a5;
            ec2t__quantize8((ec2t__isa)isa, x, n, 1.0f, 10, got);
            ck_assert_mem_eq(got, want, (size_t)n * sizeof got[0]);
            for (int i = n; i < N + 8; i++)
                ck_assert_int_eq(got[i], 0xa5a5);
        }
    }
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("kernels-int8");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kernels_int8_exact_small);
    tcase_add_test(tc, test_kernels_int8_long_rows_exact);
    tcase_add_test(tc, test_kernels_int8_ref_vs_float);
    tcase_add_test(tc, test_kernels_int8_avx2_vs_ref);
    tcase_add_test(tc, test_kernels_int8_avx512_vs_ref);
    tcase_add_test(tc, test_kernels_int8_quantize);
    suite_add_tcase(s, tc);
    return s;
}
