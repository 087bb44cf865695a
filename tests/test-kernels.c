/* SPDX-License-Identifier: MIT */
/* Ternary kernels: packing (signs, masks, bad masks, allocation failure),
 * the reference kernels against a naive double-precision product, every
 * SIMD kernel this CPU runs against the reference, and the ISA dispatch.
 *
 * EC2T_FORCE_ISA=reference|avx2|avx512 limits the SIMD checks to one ISA
 * (for tools such as valgrind that do not decode every instruction). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context-private.h"
#include "rng-private.h"
#include "test-common.h"
#include "tkernel-private.h"

/* A float bit pattern no kernel computes: marks bytes that must stay put. */
#define GUARD_BITS 0x7fa5a5a5u

/* ---- helpers ---------------------------------------------------------- */

static float
guard_value(void)
{
    uint32_t bits = GUARD_BITS;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int
is_guard(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits == GUARD_BITS;
}

/* Random signs: each weight non-zero with probability density, then +1 or
 * -1 with equal odds. */
static float *
random_signs(int32_t rows, int32_t cols, double density, uint64_t seed)
{
    ec2t__rng rng;
    float *w = malloc((size_t)rows * (size_t)cols * sizeof(float) + 1);
    ck_assert_ptr_nonnull(w);
    ec2t__rng_seed(&rng, seed);
    /* uniform() < 1 always: density 1 leaves no zero at all */
    for (int64_t i = 0; i < (int64_t)rows * cols; i++) {
        float u = ec2t__rng_uniform(&rng);
        w[i] = u < density ? (ec2t__rng_uniform(&rng) < 0.5f ? 1.0f : -1.0f) : 0.0f;
    }
    return w;
}

static void
fill(float *v, int64_t n, float lo, float hi, ec2t__rng *rng)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * ec2t__rng_uniform(rng);
}

static void
check_tmat_equal(const ec2t__tmat *a, const ec2t__tmat *b)
{
    size_t mask = (size_t)a->rows * (size_t)a->words * sizeof(uint64_t);
    ck_assert_int_eq(a->rows, b->rows);
    ck_assert_int_eq(a->cols, b->cols);
    ck_assert_int_eq(a->words, b->words);
    ck_assert_int_eq(memcmp(a->prow, b->prow, ((size_t)a->rows + 1) * sizeof(int32_t)), 0);
    ck_assert_int_eq(memcmp(a->nrow, b->nrow, ((size_t)a->rows + 1) * sizeof(int32_t)), 0);
    ck_assert_int_eq(memcmp(a->pidx, b->pidx, (size_t)a->prow[a->rows] * sizeof(int32_t)), 0);
    ck_assert_int_eq(memcmp(a->nidx, b->nidx, (size_t)a->nrow[a->rows] * sizeof(int32_t)), 0);
    if (mask) {
        ck_assert_int_eq(memcmp(a->pmask, b->pmask, mask), 0);
        ck_assert_int_eq(memcmp(a->nmask, b->nmask, mask), 0);
    }
}

static int
tmat_is_zeroed(const ec2t__tmat *t)
{
    return t->rows == 0 && t->cols == 0 && t->words == 0 && !t->prow && !t->nrow && !t->pidx &&
           !t->nidx && !t->pmask && !t->nmask;
}

/* The ISAs to compare with the reference: every one this CPU runs, or the
 * one EC2T_FORCE_ISA names. Says which it skips and why. */
static int
isa_wanted(ec2t__isa isa)
{
    const char *force = getenv("EC2T_FORCE_ISA");
    if (force && *force && strcmp(force, ec2t__isa_name(isa)) != 0) {
        printf("kernels: %s skipped (EC2T_FORCE_ISA=%s)\n", ec2t__isa_name(isa), force);
        return 0;
    }
    if (!ec2t__isa_supported(isa)) {
        printf("kernels: %s skipped: this CPU or OS does not support it\n", ec2t__isa_name(isa));
        return 0;
    }
    return 1;
}

/* ---- packing ---------------------------------------------------------- */

START_TEST(test_kernels_pack_small)
{
    /* 3 x 70: the second mask word holds columns 64..69 */
    enum { R = 3, C = 70 };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    float w[R * C];
    ec2t__tmat a, b;
    const int32_t prow[] = {0, 2, 2, 3}, nrow[] = {0, 1, 1, 3};
    const int32_t pidx[] = {0, 69, 64}, nidx[] = {5, 1, 63};
    memset(w, 0, sizeof w);
    w[0] = 1.0f, w[69] = 0.5f, w[5] = -2.0f;      /* row 0: + {0, 69}, - {5} */
    w[C + 3] = 0.0f;                              /* row 1: all zero */
    w[2 * C + 64] = 3.0f, w[2 * C + 1] = -1e-30f; /* row 2: + {64}, - {1, 63} */
    w[2 * C + 63] = -INFINITY;
    ck_assert_ok(ec2t__tmat_from_signs(ctx, w, R, C, &a));
    ck_assert_int_eq(a.rows, R);
    ck_assert_int_eq(a.cols, C);
    ck_assert_int_eq(a.words, 2);
    ck_assert_int_eq(memcmp(a.prow, prow, sizeof prow), 0);
    ck_assert_int_eq(memcmp(a.nrow, nrow, sizeof nrow), 0);
    ck_assert_int_eq(memcmp(a.pidx, pidx, sizeof pidx), 0);
    ck_assert_int_eq(memcmp(a.nidx, nidx, sizeof nidx), 0);
    ck_assert_uint_eq(a.pmask[0], 1);
    ck_assert_uint_eq(a.pmask[1], (uint64_t)1 << 5);
    ck_assert_uint_eq(a.nmask[0], (uint64_t)1 << 5);
    ck_assert_uint_eq(a.nmask[1], 0);
    ck_assert_uint_eq(a.pmask[2] | a.pmask[3] | a.nmask[2] | a.nmask[3], 0);
    ck_assert_uint_eq(a.pmask[4], 0);
    ck_assert_uint_eq(a.pmask[5], 1);
    ck_assert_uint_eq(a.nmask[4], ((uint64_t)1 << 1) | ((uint64_t)1 << 63));
    ck_assert_uint_eq(a.nmask[5], 0);
    ck_assert_ok(ec2t__tmat_from_masks(ctx, a.pmask, a.nmask, R, C, &b));
    check_tmat_equal(&a, &b);
    ec2t__tmat_free(ctx, &a);
    ec2t__tmat_free(ctx, &b);
    ck_assert(tmat_is_zeroed(&a) && tmat_is_zeroed(&b));
    ec2t__tmat_free(ctx, &a); /* twice: safe on a zeroed struct */
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_kernels_pack_random_agree)
{
    static const int32_t shapes[][2] = {{1, 1}, {1, 64}, {2, 65}, {7, 128}, {13, 200}, {0, 5}, {4, 0}};
    static const double densities[] = {0.0, 0.1, 0.5, 1.0};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++) {
            int32_t r = shapes[s][0], c = shapes[s][1];
            float *w = random_signs(r, c, densities[d], 17 + s * 7 + d);
            ec2t__tmat a, b;
            ck_assert_ok(ec2t__tmat_from_signs(ctx, w, r, c, &a));
            ck_assert_ok(ec2t__tmat_from_masks(ctx, a.pmask, a.nmask, r, c, &b));
            check_tmat_equal(&a, &b);
            /* the lists say exactly what the signs say */
            for (int32_t m = 0; m < r; m++) {
                int32_t ip = a.prow[m], in = a.nrow[m];
                for (int32_t k = 0; k < c; k++) {
                    float v = w[(int64_t)m * c + k];
                    if (v > 0)
                        ck_assert_int_eq(a.pidx[ip++], k);
                    else if (v < 0)
                        ck_assert_int_eq(a.nidx[in++], k);
                }
                ck_assert_int_eq(ip, a.prow[m + 1]);
                ck_assert_int_eq(in, a.nrow[m + 1]);
            }
            if (densities[d] == 1.0)
                ck_assert_int_eq(a.prow[r] + a.nrow[r], r * c);
            ec2t__tmat_free(ctx, &a);
            ec2t__tmat_free(ctx, &b);
            free(w);
        }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_kernels_pack_bad_masks)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint64_t p[4] = {1, 0, 2, 0}, n[4] = {2, 0, 4, 0};
    float w[2] = {1, -1};
    ec2t__tmat t;
    /* 2 x 70: fine as given */
    ck_assert_ok(ec2t__tmat_from_masks(ctx, p, n, 2, 70, &t));
    ec2t__tmat_free(ctx, &t);
    /* a bit in both masks */
    n[2] = 6;
    ck_assert_status(ec2t__tmat_from_masks(ctx, p, n, 2, 70, &t), EC2T_E_FORMAT);
    ck_assert(tmat_is_zeroed(&t));
    n[2] = 4;
    /* a bit at column 70, just beyond cols, in either mask */
    p[3] = (uint64_t)1 << 6;
    ck_assert_status(ec2t__tmat_from_masks(ctx, p, n, 2, 70, &t), EC2T_E_FORMAT);
    p[3] = 0;
    n[1] = (uint64_t)1 << 63;
    ck_assert_status(ec2t__tmat_from_masks(ctx, p, n, 2, 70, &t), EC2T_E_FORMAT);
    ck_assert(tmat_is_zeroed(&t));
    /* ... and at column 64 of a 64-column matrix: the word does not exist, so
     * check a 1-word matrix with a bit at 40 and cols 40 */
    {
        uint64_t p1 = (uint64_t)1 << 40, n1 = 0;
        ck_assert_status(ec2t__tmat_from_masks(ctx, &p1, &n1, 1, 40, &t), EC2T_E_FORMAT);
        ck_assert_ok(ec2t__tmat_from_masks(ctx, &p1, &n1, 1, 41, &t));
        ck_assert_int_eq(t.pidx[0], 40);
        ec2t__tmat_free(ctx, &t);
    }
    /* invalid arguments */
    ck_assert_status(ec2t__tmat_from_masks(ctx, NULL, n, 2, 70, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t__tmat_from_masks(ctx, p, n, -1, 70, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t__tmat_from_signs(ctx, NULL, 1, 2, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t__tmat_from_signs(ctx, w, 1, -2, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t__tmat_from_signs(NULL, w, 1, 2, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t__tmat_from_signs(ctx, w, 1, 2, NULL), EC2T_E_INVAL);
    ck_assert(tmat_is_zeroed(&t));
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Pack the same matrix both ways with the k-th allocation failing. */
static ec2t_status
pack_both(ec2t_context *ctx, const float *w, int32_t rows, int32_t cols)
{
    ec2t__tmat a, b;
    ec2t_status st = ec2t__tmat_from_signs(ctx, w, rows, cols, &a);
    if (st != EC2T_OK) {
        ck_assert(tmat_is_zeroed(&a));
        return st;
    }
    st = ec2t__tmat_from_masks(ctx, a.pmask, a.nmask, rows, cols, &b);
    if (st == EC2T_OK)
        check_tmat_equal(&a, &b);
    else
        ck_assert(tmat_is_zeroed(&b));
    ec2t__tmat_free(ctx, &a);
    ec2t__tmat_free(ctx, &b);
    return st;
}

START_TEST(test_kernels_pack_alloc_fail)
{
    float *w = random_signs(5, 70, 0.5, 3);
    long k;
    for (k = 0;; k++) {
        test_alloc ta;
        ec2t_context *ctx = test_context(&ta);
        long live = ta.live;
        ec2t_status st;
        ta.fail_at = ta.calls + k; /* the k-th allocation after the context's own */
        st = pack_both(ctx, w, 5, 70);
        ck_assert_msg(ta.live == live, "%ld blocks leaked when allocation %ld failed",
                      ta.live - live, k);
        ec2t_context_free(ctx);
        ck_assert_int_eq(ta.live, 0);
        if (test_alloc_pass_done(&ta, st, "packing both masks", k, 0))
            break;
    }
    ck_assert_int_eq(k, 12); /* six arrays per matrix, two matrices */
    free(w);
}
END_TEST

/* ---- kernels ---------------------------------------------------------- */

/* One product to check: shapes, strides, weights and inputs. */
typedef struct problem {
    int32_t m, k;
    int64_t ncols, ldx, ldy;
    double density;
    int bias, relu;
    float *w;                   /* M x K signs */
    float *ap, *an, *b;         /* M each */
    float *x;                   /* exactly (K-1) * ldx + ncols floats */
    ec2t__tmat t;
} problem;

static void
problem_make(problem *p, ec2t_context *ctx, uint64_t seed)
{
    ec2t__rng rng;
    int64_t nx = p->ncols > 0 ? (int64_t)(p->k - 1) * p->ldx + p->ncols : 0;
    ec2t__rng_seed(&rng, seed);
    p->w = random_signs(p->m, p->k, p->density, seed + 1);
    p->ap = malloc((size_t)p->m * sizeof(float));
    p->an = malloc((size_t)p->m * sizeof(float));
    p->b = malloc((size_t)p->m * sizeof(float));
    p->x = malloc((size_t)(nx > 0 ? nx : 1) * sizeof(float));
    fill(p->ap, p->m, 0.25f, 2.0f, &rng);
    fill(p->an, p->m, 0.25f, 2.0f, &rng);
    fill(p->b, p->m, -1.0f, 1.0f, &rng);
    fill(p->x, nx, -1.0f, 1.0f, &rng);
    /* the padding between rows of X must never be read: NaN there would show */
    for (int64_t i = 0; i < nx; i++)
        if (i % p->ldx >= p->ncols)
            p->x[i] = NAN;
    ck_assert_ok(ec2t__tmat_from_signs(ctx, p->w, p->m, p->k, &p->t));
}

static void
problem_free(problem *p, ec2t_context *ctx)
{
    ec2t__tmat_free(ctx, &p->t);
    free(p->w);
    free(p->ap);
    free(p->an);
    free(p->b);
    free(p->x);
}

/* Y in a buffer with 16 guard floats before and after; the padding of each
 * row is guarded too. Returns the buffer; the matrix starts at + 16. */
static float *
guarded_y(const problem *p)
{
    int64_t n = (int64_t)p->m * p->ldy + 32;
    float *buf = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        buf[i] = guard_value();
    return buf;
}

static void
check_guards(const problem *p, const float *buf, const char *what)
{
    int64_t n = (int64_t)p->m * p->ldy + 32;
    for (int64_t i = 0; i < n; i++) {
        int64_t e = i - 16;
        int inside = e >= 0 && e < (int64_t)p->m * p->ldy && e % p->ldy < p->ncols;
        if (!inside)
            ck_assert_msg(is_guard(buf[i]), "%s: wrote outside Y at offset %lld", what,
                          (long long)e);
        else
            ck_assert_msg(!is_guard(buf[i]), "%s: Y[%lld] not written", what, (long long)e);
    }
}

/* Naive product in double, and the rounding bound of a float computation of
 * it: (terms + 3) * eps * (sum of magnitudes) covers recursive summation of
 * the terms plus the two products, the difference and the bias. */
static void
naive(const problem *p, int32_t m, int64_t j, double *value, double *bound)
{
    double sp = 0, sn = 0, mag = 0, v;
    int32_t terms = 0;
    for (int32_t k = 0; k < p->k; k++) {
        float w = p->w[(int64_t)m * p->k + k];
        double xv = p->x[(int64_t)k * p->ldx + j];
        if (w > 0)
            sp += xv;
        else if (w < 0)
            sn += xv;
        if (w != 0) {
            mag += fabs(xv) * (w > 0 ? p->ap[m] : p->an[m]);
            terms++;
        }
    }
    v = p->ap[m] * sp - p->an[m] * sn + (p->bias ? p->b[m] : 0.0);
    if (p->relu)
        v = v > 0 ? v : 0;
    *value = v;
    *bound = (terms + 3) * (double)FLT_EPSILON * (mag + fabs(p->bias ? p->b[m] : 0.0)) + 1e-30;
}

static float *
run_tmm(const problem *p, ec2t__isa isa)
{
    float *buf = guarded_y(p);
    ec2t__tmm(isa, &p->t, p->ap, p->an, p->bias ? p->b : NULL, p->x, p->ldx, p->ncols, buf + 16,
              p->ldy, p->relu);
    check_guards(p, buf, ec2t__isa_name(isa));
    return buf;
}

/* tmv on column j of X (gathered into a contiguous vector of K floats). */
static void
run_tmv(const problem *p, ec2t__isa isa, int64_t j, float *y)
{
    float *xv = malloc((size_t)(p->k > 0 ? p->k : 1) * sizeof(float));
    float *yb = malloc(((size_t)p->m + 2) * sizeof(float));
    for (int32_t k = 0; k < p->k; k++)
        xv[k] = p->x[(int64_t)k * p->ldx + j];
    yb[0] = yb[p->m + 1] = guard_value();
    ec2t__tmv(isa, &p->t, p->ap, p->an, p->bias ? p->b : NULL, xv, yb + 1, p->relu);
    ck_assert(is_guard(yb[0]) && is_guard(yb[p->m + 1]));
    memcpy(y, yb + 1, (size_t)p->m * sizeof(float));
    free(yb);
    free(xv);
}

static void
check_near(const problem *p, const float *y, int64_t ldy, int64_t j_of_col0, int64_t ncols,
           const char *what)
{
    for (int32_t m = 0; m < p->m; m++)
        for (int64_t j = 0; j < ncols; j++) {
            double want, bound, got = y[m * ldy + j];
            naive(p, m, j + j_of_col0, &want, &bound);
            ck_assert_msg(fabs(got - want) <= bound,
                          "%s %dx%dx%lld d=%.2f: y[%d][%lld] = %.9g, want %.9g (bound %.3g)",
                          what, (int)p->m, (int)p->k, (long long)p->ncols, p->density, (int)m,
                          (long long)(j + j_of_col0), got, want, bound);
        }
}

/* The shapes of the kernel checks: ones, odd sizes, sizes around 8/16/32/64,
 * strides wider than the rows. */
static const struct {
    int32_t m, k;
    int64_t ncols, xpad, ypad;
} shapes[] = {
    {1, 1, 1, 0, 0},      {1, 5, 1, 3, 2},      {3, 1, 7, 0, 1},       {2, 9, 8, 0, 0},
    {5, 13, 17, 3, 5},    {4, 64, 16, 16, 0},   {7, 65, 33, 0, 7},     {9, 130, 64, 1, 0},
    {6, 144, 65, 6, 1},   {3, 33, 95, 0, 0},    {2, 70, 129, 16, 3},   {16, 200, 200, 8, 8},
    {1, 300, 31, 0, 0},   {17, 96, 1, 5, 0},    {33, 40, 250, 0, 0},
};
static const double densities[] = {0.0, 0.1, 0.5, 0.9, 1.0};

static void
set_shape(problem *p, size_t s, size_t d, int variant)
{
    memset(p, 0, sizeof *p);
    p->m = shapes[s].m;
    p->k = shapes[s].k;
    p->ncols = shapes[s].ncols;
    p->ldx = p->ncols + shapes[s].xpad;
    p->ldy = p->ncols + shapes[s].ypad;
    p->density = densities[d];
    p->bias = variant & 1;
    p->relu = (variant >> 1) & 1;
}

START_TEST(test_kernels_ref_vs_naive)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
            for (int variant = 0; variant < 4; variant++) {
                problem p;
                float *y, *yv;
                set_shape(&p, s, d, variant);
                problem_make(&p, ctx, 1000 + s * 31 + d * 7 + (uint64_t)variant);
                y = run_tmm(&p, EC2T__ISA_REF);
                check_near(&p, y + 16, p.ldy, 0, p.ncols, "reference tmm");
                yv = malloc((size_t)p.m * sizeof(float));
                run_tmv(&p, EC2T__ISA_REF, p.ncols - 1, yv);
                check_near(&p, yv, 1, p.ncols - 1, 1, "reference tmv");
                /* tmv is tmm's single column, bit for bit */
                for (int32_t m = 0; m < p.m; m++)
                    ck_assert(memcmp(&yv[m], &y[16 + m * p.ldy + p.ncols - 1], sizeof(float)) == 0);
                free(yv);
                free(y);
                problem_free(&p, ctx);
            }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Every SIMD kernel against the reference: tmm bitwise (same order of
 * additions), tmv within the float rounding bound. */
static void
check_isa(ec2t__isa isa)
{
    test_alloc ta;
    ec2t_context *ctx;
    if (!isa_wanted(isa))
        return;
    ctx = test_context(&ta);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
            for (int variant = 0; variant < 4; variant++) {
                problem p;
                float *ref, *got, *yv;
                set_shape(&p, s, d, variant);
                problem_make(&p, ctx, 5000 + s * 31 + d * 7 + (uint64_t)variant);
                ref = run_tmm(&p, EC2T__ISA_REF);
                got = run_tmm(&p, isa);
                check_near(&p, got + 16, p.ldy, 0, p.ncols, ec2t__isa_name(isa));
                for (int32_t m = 0; m < p.m; m++)
                    ck_assert_msg(memcmp(got + 16 + m * p.ldy, ref + 16 + m * p.ldy,
                                         (size_t)p.ncols * sizeof(float)) == 0,
                                  "%s tmm %dx%dx%lld d=%.2f: row %d differs from the reference",
                                  ec2t__isa_name(isa), (int)p.m, (int)p.k, (long long)p.ncols,
                                  p.density, (int)m);
                yv = malloc((size_t)p.m * sizeof(float));
                for (int64_t j = 0; j < p.ncols; j += p.ncols > 3 ? p.ncols / 3 : 1) {
                    run_tmv(&p, isa, j, yv);
                    check_near(&p, yv, 1, j, 1, "tmv");
                }
                free(yv);
                free(ref);
                free(got);
                problem_free(&p, ctx);
            }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_kernels_avx2_vs_ref)
{
    check_isa(EC2T__ISA_AVX2);
}
END_TEST

/* A product big enough for every path of the SIMD kernels: dense enough
 * that they block K (K beyond one K-block), more rows than one row block,
 * several column tiles, and a partial last strip. */
START_TEST(test_kernels_blocked_paths)
{
    static const double dens[] = {0.5, 1.0, 0.05};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++) {
        problem p;
        float *ref;
        memset(&p, 0, sizeof p);
        p.m = 70, p.k = 600, p.ncols = 450, p.ldx = 466, p.ldy = 453;
        p.density = dens[d], p.bias = (int)d & 1, p.relu = d != 1;
        problem_make(&p, ctx, 99 + d);
        ref = run_tmm(&p, EC2T__ISA_REF);
        check_near(&p, ref + 16, p.ldy, 0, p.ncols, "reference tmm");
        for (int isa = EC2T__ISA_AVX2; isa < EC2T__ISA_COUNT; isa++) {
            float *got;
            if (!isa_wanted((ec2t__isa)isa))
                continue;
            got = run_tmm(&p, (ec2t__isa)isa);
            ck_assert_msg(memcmp(got, ref, ((size_t)p.m * (size_t)p.ldy + 32) * sizeof(float)) == 0,
                          "%s differs from the reference at density %.2f",
                          ec2t__isa_name((ec2t__isa)isa), p.density);
            free(got);
        }
        free(ref);
        problem_free(&p, ctx);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_kernels_avx512_vs_ref)
{
    check_isa(EC2T__ISA_AVX512);
}
END_TEST

/* tmv over a long row: many mask words, the last one partial. */
START_TEST(test_kernels_tmv_long)
{
    static const int32_t ks[] = {1000, 1024, 4097};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        for (int isa = EC2T__ISA_REF; isa < EC2T__ISA_COUNT; isa++) {
            problem p;
            float y[12];
            if (isa != EC2T__ISA_REF && !isa_wanted((ec2t__isa)isa))
                continue;
            memset(&p, 0, sizeof p);
            p.m = 12, p.k = ks[i], p.ncols = 1, p.ldx = 1, p.ldy = 1;
            p.density = 0.3, p.bias = 1, p.relu = 0;
            problem_make(&p, ctx, 77 + i);
            run_tmv(&p, (ec2t__isa)isa, 0, y);
            check_near(&p, y, 1, 0, 1, ec2t__isa_name((ec2t__isa)isa));
            problem_free(&p, ctx);
        }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- the shifted-row product ------------------------------------------ */

/* A shifted-row problem: K ascending offsets into a buffer x of nx floats;
 * the same data as an explicit K x ncols matrix (row k = x + off[k]) is a
 * tmm problem, whose reference result tsh must give bitwise. */
typedef struct shift_problem {
    problem mm;    /* w, ap, an, b, explicit X (ldx = ncols), tmat */
    float *buf;    /* the shifted buffer */
    int32_t *off;  /* K offsets */
    int32_t *poff, *noff;
    float *res;    /* M x ldy residual */
    ec2t__tshift s;
} shift_problem;

static void
shift_make(shift_problem *q, ec2t_context *ctx, uint64_t seed)
{
    problem *p = &q->mm;
    ec2t__rng rng;
    int64_t nx = (int64_t)p->k * 3 + p->ncols + 5, at = 0;
    ec2t__rng_seed(&rng, seed + 17);
    problem_make(p, ctx, seed);
    q->buf = malloc((size_t)nx * sizeof(float));
    q->off = malloc((size_t)p->k * sizeof(int32_t));
    q->poff = malloc((size_t)(p->t.prow[p->m] + 1) * sizeof(int32_t));
    q->noff = malloc((size_t)(p->t.nrow[p->m] + 1) * sizeof(int32_t));
    q->res = malloc((size_t)p->m * (size_t)p->ldy * sizeof(float));
    fill(q->buf, nx, -1.0f, 1.0f, &rng);
    fill(q->res, (int64_t)p->m * p->ldy, -1.0f, 1.0f, &rng);
    for (int32_t k = 0; k < p->k; k++) { /* ascending, gaps of 0-3 (rows overlap) */
        at += (int64_t)(ec2t__rng_uniform(&rng) * 4.0f);
        q->off[k] = (int32_t)at;
    }
    for (int32_t k = 0; k < p->k; k++)
        for (int64_t j = 0; j < p->ncols; j++)
            p->x[(int64_t)k * p->ldx + j] = q->buf[q->off[k] + j];
    for (int32_t i = 0; i < p->t.prow[p->m]; i++)
        q->poff[i] = q->off[p->t.pidx[i]];
    for (int32_t i = 0; i < p->t.nrow[p->m]; i++)
        q->noff[i] = q->off[p->t.nidx[i]];
    q->s = (ec2t__tshift){p->m, p->t.prow, p->t.nrow, q->poff, q->noff, p->ap, p->an,
                          p->bias ? p->b : NULL, p->relu};
}

static void
shift_free(shift_problem *q, ec2t_context *ctx)
{
    problem_free(&q->mm, ctx);
    free(q->buf);
    free(q->off);
    free(q->poff);
    free(q->noff);
    free(q->res);
}

/* tsh's Y with guards (as run_tmm's). */
static float *
run_tsh(const shift_problem *q, ec2t__isa isa, int with_res)
{
    float *buf = guarded_y(&q->mm);
    ec2t__tsh(isa, &q->s, q->buf, q->mm.ncols, buf + 16, q->mm.ldy, with_res ? q->res : NULL);
    check_guards(&q->mm, buf, ec2t__isa_name(isa));
    return buf;
}

/* What tsh must give: the reference tmm without its ReLU, plus the
 * residual, then the ReLU. */
static float *
shift_want(const shift_problem *q, int with_res)
{
    problem p = q->mm;
    float *want;
    p.relu = with_res ? 0 : q->mm.relu;
    want = run_tmm(&p, EC2T__ISA_REF);
    for (int32_t m = 0; m < p.m; m++)
        for (int64_t j = 0; j < p.ncols; j++) {
            float *v = &want[16 + m * p.ldy + j];
            if (with_res) {
                *v = *v + q->res[m * p.ldy + j];
                if (q->mm.relu)
                    *v = *v > 0.0f ? *v : 0.0f;
            }
        }
    return want;
}

/* The columns of ResNet-20's planes (32, 16, 8 wide at stride w + 1 and 1
 * to 4 registers over a last strip) and small odd ones. */
static const struct {
    int32_t m, k;
    int64_t ncols;
} shift_shapes[] = {{1, 1, 1},      {3, 9, 7},     {5, 27, 17},  {16, 144, 1055}, {8, 288, 271},
                    {12, 576, 71},  {4, 40, 33},   {2, 20, 100}, {7, 50, 64},     {17, 30, 49},
                    {9, 27, 40}};

static void
shift_shape(shift_problem *q, size_t s, size_t d, int variant)
{
    memset(q, 0, sizeof *q);
    q->mm.m = shift_shapes[s].m, q->mm.k = shift_shapes[s].k, q->mm.ncols = shift_shapes[s].ncols;
    q->mm.ldx = shift_shapes[s].ncols, q->mm.ldy = shift_shapes[s].ncols + (int64_t)s % 3;
    q->mm.density = densities[d], q->mm.bias = variant & 1, q->mm.relu = (variant >> 1) & 1;
}

START_TEST(test_kernels_tsh_vs_tmm)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t s = 0; s < sizeof shift_shapes / sizeof shift_shapes[0]; s++)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; d++)
            for (int variant = 0; variant < 8; variant++) {
                shift_problem q;
                int with_res = variant >> 2;
                float *want;
                shift_shape(&q, s, d, variant);
                shift_make(&q, ctx, 700 + s * 13 + d * 5 + (uint64_t)variant);
                want = shift_want(&q, with_res);
                for (int isa = EC2T__ISA_REF; isa < EC2T__ISA_COUNT; isa++) {
                    float *got;
                    if (isa != EC2T__ISA_REF && !isa_wanted((ec2t__isa)isa))
                        continue;
                    got = run_tsh(&q, (ec2t__isa)isa, with_res);
                    ck_assert_msg(memcmp(got, want, ((size_t)q.mm.m * (size_t)q.mm.ldy + 32) *
                                                         sizeof(float)) == 0,
                                  "%s tsh %dx%dx%lld d=%.2f variant %d differs from tmm",
                                  ec2t__isa_name((ec2t__isa)isa), (int)q.mm.m, (int)q.mm.k,
                                  (long long)q.mm.ncols, q.mm.density, variant);
                    free(got);
                }
                free(want);
                shift_free(&q, ctx);
            }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The dense shifted-row product against a naive double computation, with
 * the float rounding bound of naive(): weights are the problem's signs times
 * magnitudes in [0.25, 2). */
static void
check_dsh(const shift_problem *q, const float *w, ec2t__isa isa, int with_res)
{
    const problem *p = &q->mm;
    ec2t__dshift d = {p->m, p->k, w, q->off, p->bias ? p->b : NULL, p->relu};
    float *buf = guarded_y(p);
    ec2t__dsh(isa, &d, q->buf, p->ncols, buf + 16, p->ldy, with_res ? q->res : NULL);
    check_guards(p, buf, ec2t__isa_name(isa));
    for (int32_t m = 0; m < p->m; m++)
        for (int64_t j = 0; j < p->ncols; j++) {
            double v = p->bias ? p->b[m] : 0.0, mag = fabs(v), got = buf[16 + m * p->ldy + j];
            for (int32_t k = 0; k < p->k; k++) {
                double t = (double)w[(int64_t)m * p->k + k] * q->buf[q->off[k] + j];
                v += t;
                mag += fabs(t);
            }
            if (with_res) {
                v += q->res[m * p->ldy + j];
                mag += fabs(q->res[m * p->ldy + j]);
            }
            if (p->relu)
                v = v > 0 ? v : 0;
            ck_assert_msg(fabs(got - v) <= (p->k + 4) * (double)FLT_EPSILON * mag + 1e-30,
                          "%s dsh %dx%dx%lld: y[%d][%lld] = %.9g, want %.9g",
                          ec2t__isa_name(isa), (int)p->m, (int)p->k, (long long)p->ncols, (int)m,
                          (long long)j, got, v);
        }
    free(buf);
}

START_TEST(test_kernels_dsh_vs_naive)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t s = 0; s < sizeof shift_shapes / sizeof shift_shapes[0]; s++)
        for (int variant = 0; variant < 8; variant++) {
            shift_problem q;
            ec2t__rng rng;
            size_t nw = (size_t)shift_shapes[s].m * (size_t)shift_shapes[s].k;
            float *w = malloc(nw * sizeof(float));
            shift_shape(&q, s, 2, variant);
            shift_make(&q, ctx, 900 + s * 13 + (uint64_t)variant);
            ec2t__rng_seed(&rng, 31 + s);
            for (int64_t i = 0; i < (int64_t)q.mm.m * q.mm.k; i++)
                w[i] = q.mm.w[i] * (0.25f + 1.75f * ec2t__rng_uniform(&rng));
            for (int isa = EC2T__ISA_REF; isa < EC2T__ISA_COUNT; isa++)
                if (isa == EC2T__ISA_REF || isa_wanted((ec2t__isa)isa))
                    check_dsh(&q, w, (ec2t__isa)isa, variant >> 2);
            free(w);
            shift_free(&q, ctx);
        }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- ISA detection and dispatch --------------------------------------- */

START_TEST(test_kernels_isa)
{
    ec2t__isa best = ec2t__isa_detect();
    printf("kernels: this CPU runs %s\n", ec2t__isa_name(best));
    ck_assert(best >= EC2T__ISA_REF && best < EC2T__ISA_COUNT);
    ck_assert(ec2t__isa_supported(best));
    ck_assert(ec2t__isa_supported(EC2T__ISA_REF));
    ck_assert(!ec2t__isa_supported((ec2t__isa)-1));
    ck_assert(!ec2t__isa_supported((ec2t__isa)EC2T__ISA_COUNT));
    ck_assert_str_eq(ec2t__isa_name(EC2T__ISA_REF), "reference");
    ck_assert_str_eq(ec2t__isa_name(EC2T__ISA_AVX2), "avx2");
    ck_assert_str_eq(ec2t__isa_name(EC2T__ISA_AVX512), "avx512");
    ck_assert_str_eq(ec2t__isa_name((ec2t__isa)9), "unknown");
    for (int i = EC2T__ISA_REF; i < EC2T__ISA_COUNT; i++) {
        ec2t__isa isa = (ec2t__isa)i;
        /* the cheap guard of the dispatch agrees with the cpuid detection */
        ck_assert_int_eq(ec2t__isa_supported(isa), i <= (int)best);
        /* a supported ISA runs as asked; an unsupported one falls back to the best */
        ck_assert_int_eq(ec2t__isa_usable(isa), ec2t__isa_supported(isa) ? isa : best);
    }
    ck_assert_int_eq(ec2t__isa_usable((ec2t__isa)7), best);
    ck_assert_int_eq(ec2t__isa_usable((ec2t__isa)-3), EC2T__ISA_REF);
}
END_TEST

/* Asking for an ISA beyond any CPU's (or one this CPU lacks) still computes
 * the right product. */
START_TEST(test_kernels_forced_fallback)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    problem p;
    float *ref, *got, yv[16];
    memset(&p, 0, sizeof p);
    p.m = 16, p.k = 100, p.ncols = 77, p.ldx = 80, p.ldy = 79, p.density = 0.4;
    p.bias = 1, p.relu = 1;
    problem_make(&p, ctx, 4242);
    ref = run_tmm(&p, EC2T__ISA_REF);
    for (int i = EC2T__ISA_AVX2; i <= EC2T__ISA_COUNT + 4; i++) {
        got = run_tmm(&p, (ec2t__isa)i);
        ck_assert(memcmp(got, ref, ((size_t)p.m * (size_t)p.ldy + 32) * sizeof(float)) == 0);
        free(got);
        run_tmv(&p, (ec2t__isa)i, 5, yv);
        check_near(&p, yv, 1, 5, 1, "forced tmv");
    }
    free(ref);
    problem_free(&p, ctx);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_kernels_pack_small);
    tcase_add_test(tc, test_kernels_pack_random_agree);
    tcase_add_test(tc, test_kernels_pack_bad_masks);
    tcase_add_test(tc, test_kernels_pack_alloc_fail);
    tcase_add_test(tc, test_kernels_ref_vs_naive);
    tcase_add_test(tc, test_kernels_avx2_vs_ref);
    tcase_add_test(tc, test_kernels_avx512_vs_ref);
    tcase_add_test(tc, test_kernels_blocked_paths);
    tcase_add_test(tc, test_kernels_tmv_long);
    tcase_add_test(tc, test_kernels_tsh_vs_tmm);
    tcase_add_test(tc, test_kernels_dsh_vs_naive);
    tcase_add_test(tc, test_kernels_isa);
    tcase_add_test(tc, test_kernels_forced_fallback);
    suite_add_tcase(s, tc);
    return s;
}
