/* SPDX-License-Identifier: MIT */
/* The ternary kernels against BLAS in the same run: ec2t__tmm against
 * cblas_sgemm on the equivalent dense matrix (entries ap, -an, 0) for the
 * lowered convolutions of ResNet-20 and a large square product, and ec2t__tmv
 * against cblas_sgemv. Each time is the median of several samples; a ratio is
 * BLAS time / kernel time (above 1: the kernel is faster).
 *
 * Usage: bench-kernels [--quick] [--tmm-only | --tmv-only] [--samples N]
 * Run with OPENBLAS_NUM_THREADS=1 (the kernels are single-threaded) and
 * OPENBLAS_CORETYPE set to the core to compare with. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench-common.h"
#include "context-private.h"
#include "rng-private.h"
#include "tkernel-private.h"

#define MAX_SAMPLES 15

typedef struct options {
    int quick, tmm, tmv, samples;
} options;

/* What one timed call needs; the callbacks run one product. */
typedef struct bench_case {
    int32_t m, k;
    int64_t ncols, ldx, ldy;
    const ec2t__tmat *t;
    const float *ap, *an, *bias, *wdense, *x;
    float *y;
    ec2t__isa isa;
} bench_case;

typedef void (*run_fn)(const bench_case *c);

static void
run_sgemm(const bench_case *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->m, (int)c->ncols, c->k, 1.0f,
                c->wdense, c->k, c->x, (int)c->ldx, 0.0f, c->y, (int)c->ncols);
}

static void
run_tmm(const bench_case *c)
{
    ec2t__tmm(c->isa, c->t, c->ap, c->an, c->bias, c->x, c->ldx, c->ncols, c->y, c->ldy, 0);
}

static void
run_sgemv(const bench_case *c)
{
    cblas_sgemv(CblasRowMajor, CblasNoTrans, c->m, c->k, 1.0f, c->wdense, c->k, c->x, 1, 0.0f,
                c->y, 1);
}

static void
run_tmv(const bench_case *c)
{
    ec2t__tmv(c->isa, c->t, c->ap, c->an, c->bias, c->x, c->y, 0);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call: each sample repeats the call until it has run
 * for at least min_s (after one warm-up call). */
static double
time_median(run_fn fn, const bench_case *c, int samples, double min_s)
{
    double t[MAX_SAMPLES];
    long reps = 1;
    double t0 = bench_now(), el;
    fn(c);
    el = bench_now() - t0;
    if (el < min_s)
        reps = (long)(min_s / (el > 1e-9 ? el : 1e-9)) + 1;
    for (int s = 0; s < samples; s++) {
        t0 = bench_now();
        for (long r = 0; r < reps; r++)
            fn(c);
        t[s] = (bench_now() - t0) / (double)reps;
    }
    qsort(t, (size_t)samples, sizeof t[0], cmp_double);
    return t[samples / 2];
}

static void
fill_uniform(float *v, int64_t n, float lo, float hi, ec2t__rng *rng)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * ec2t__rng_uniform(rng);
}

/* Random signs at the given sparsity, the scales, and the dense equivalent. */
static void
make_weights(int32_t m, int32_t k, double sparsity, ec2t__rng *rng, float *signs, float *ap,
             float *an, float *dense)
{
    fill_uniform(ap, m, 0.5f, 1.5f, rng);
    fill_uniform(an, m, 0.5f, 1.5f, rng);
    for (int64_t i = 0; i < (int64_t)m * k; i++) {
        float s = 0.0f;
        if (ec2t__rng_uniform(rng) >= sparsity)
            s = ec2t__rng_uniform(rng) < 0.5f ? 1.0f : -1.0f;
        signs[i] = s;
        dense[i] = s > 0 ? ap[i / k] : s < 0 ? -an[i / k] : 0.0f;
    }
}

static const char *
openblas_core(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "openblas_get_corename");
    char *(*corename)(void);
    if (!sym)
        return "not-openblas";
    memcpy(&corename, &sym, sizeof corename);
    return corename();
}

static int
openblas_threads(void)
{
    void *sym = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    int (*threads)(void);
    if (!sym)
        return -1;
    memcpy(&threads, &sym, sizeof threads);
    return threads();
}

/* One row of the table: BLAS, then every supported ISA (and, for tmm, the
 * best ISA again with ldx padded by 16 floats off the power of two). */
static void
bench_shape(ec2t_context *ctx, const options *o, int matvec, int32_t m, int32_t k, int64_t ncols,
            double sparsity, ec2t__isa best)
{
    ec2t__rng rng;
    int64_t ldx_pad = ncols + 16, nx = (int64_t)k * ldx_pad;
    float *signs = malloc((size_t)m * (size_t)k * sizeof(float));
    float *dense = malloc((size_t)m * (size_t)k * sizeof(float));
    float *ap = malloc((size_t)m * sizeof(float)), *an = malloc((size_t)m * sizeof(float));
    /* 64-byte aligned, as the engine's tensors and workspaces are */
    float *x = aligned_alloc(64, ((size_t)nx * sizeof(float) + 63) / 64 * 64);
    float *y = aligned_alloc(64, ((size_t)m * (size_t)ldx_pad * sizeof(float) + 63) / 64 * 64);
    double min_s = o->quick ? 0.004 : 0.02, t_blas, t;
    ec2t__tmat tm;
    bench_case c;
    ec2t__rng_seed(&rng, (uint64_t)m * 1000003u + (uint64_t)k * 101u + (uint64_t)ncols);
    make_weights(m, k, sparsity, &rng, signs, ap, an, dense);
    fill_uniform(x, nx, -1.0f, 1.0f, &rng);
    if (ec2t__tmat_from_signs(ctx, signs, m, k, &tm) != EC2T_OK) {
        fprintf(stderr, "bench-kernels: out of memory\n");
        exit(1);
    }
    memset(&c, 0, sizeof c);
    c.m = m, c.k = k, c.ncols = ncols, c.ldx = ncols, c.ldy = ncols;
    c.t = &tm, c.ap = ap, c.an = an, c.bias = NULL, c.wdense = dense, c.x = x, c.y = y;
    t_blas = time_median(matvec ? run_sgemv : run_sgemm, &c, o->samples, min_s);
    printf("%-3s %5d %5d %7lld %4.2f | %9.4f", matvec ? "tmv" : "tmm", (int)m, (int)k,
           (long long)ncols, sparsity, t_blas * 1e3);
    for (int i = EC2T__ISA_REF; i <= (int)best; i++) {
        c.isa = (ec2t__isa)i;
        t = time_median(matvec ? run_tmv : run_tmm, &c, o->samples, min_s);
        printf(" | %9.4f %6.2fx", t * 1e3, t_blas / t);
    }
    if (!matvec) {
        c.isa = best;
        c.ldx = ldx_pad;
        c.ldy = ldx_pad;
        t = time_median(run_tmm, &c, o->samples, min_s);
        printf(" | %9.4f %6.2fx", t * 1e3, t_blas / t);
    }
    printf("\n");
    fflush(stdout);
    ec2t__tmat_free(ctx, &tm);
    free(signs);
    free(dense);
    free(ap);
    free(an);
    free(x);
    free(y);
}

static void
header(int matvec, ec2t__isa best)
{
    printf("\n%-3s %5s %5s %7s %4s | %9s", "op", "M", "K", "ncols", "spar",
           matvec ? "sgemv ms" : "sgemm ms");
    for (int i = EC2T__ISA_REF; i <= (int)best; i++)
        printf(" | %9s %7s", ec2t__isa_name((ec2t__isa)i), "ratio");
    if (!matvec)
        printf(" | %9s %7s", "ld+16", "ratio");
    printf("\n");
}

static void
bench_tmm(ec2t_context *ctx, const options *o, ec2t__isa best)
{
    /* ResNet-20's convolutions lowered to (M, K, ncols per sample) */
    static const int32_t conv[][3] = {{16, 144, 1024}, {32, 288, 256}, {64, 576, 64}};
    static const int batches[] = {1, 64};
    static const double sparsities[] = {0.5, 0.65, 0.75, 0.9};
    header(0, best);
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
        for (size_t s = 0; s < sizeof conv / sizeof conv[0]; s++)
            for (size_t p = 0; p < sizeof sparsities / sizeof sparsities[0]; p++)
                bench_shape(ctx, o, 0, conv[s][0], conv[s][1],
                            (int64_t)conv[s][2] * batches[b], sparsities[p], best);
    for (size_t p = 0; p < sizeof sparsities / sizeof sparsities[0]; p++)
        bench_shape(ctx, o, 0, 512, 4608, 4096, sparsities[p], best);
}

static void
bench_tmv(ec2t_context *ctx, const options *o, ec2t__isa best)
{
    static const int32_t dense[][2] = {{4096, 4096}, {10, 64}, {120, 400}, {84, 120}};
    static const double sparsities[] = {0.6, 0.7, 0.8, 0.9};
    header(1, best);
    for (size_t s = 0; s < sizeof dense / sizeof dense[0]; s++)
        for (size_t p = 0; p < sizeof sparsities / sizeof sparsities[0]; p++)
            bench_shape(ctx, o, 1, dense[s][0], dense[s][1], 1, sparsities[p], best);
}

static int
parse(int argc, char **argv, options *o)
{
    o->quick = 0, o->tmm = 1, o->tmv = 1, o->samples = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o->quick = 1, o->samples = 3;
        else if (strcmp(argv[i], "--tmm-only") == 0)
            o->tmv = 0;
        else if (strcmp(argv[i], "--tmv-only") == 0)
            o->tmm = 0;
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            o->samples = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-kernels [--quick] [--tmm-only | --tmv-only] "
                            "[--samples N]\n");
            return 0;
        }
    }
    if (o->samples < 1 || o->samples > MAX_SAMPLES) {
        fprintf(stderr, "bench-kernels: --samples must be 1..%d\n", MAX_SAMPLES);
        return 0;
    }
    return 1;
}

int
main(int argc, char **argv)
{
    options o;
    ec2t_context *ctx = NULL;
    ec2t__isa best = ec2t__isa_detect();
    const char *ct = getenv("OPENBLAS_CORETYPE");
    float a = 1, b = 1, c = 0;
    if (!parse(argc, argv, &o))
        return 2;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    /* load and initialise the BLAS before asking it its core */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);
    printf("blas_core: %s\nblas_threads: %d\nOPENBLAS_CORETYPE: %s\nbest_isa: %s\n",
           openblas_core(), openblas_threads(), ct ? ct : "(unset)", ec2t__isa_name(best));
    printf("times in ms per call (median of %d samples); ratio = BLAS time / kernel time\n",
           o.samples);
    if (o.tmm)
        bench_tmm(ctx, &o, best);
    if (o.tmv)
        bench_tmv(ctx, &o, best);
    ec2t_context_free(ctx);
    return 0;
}
