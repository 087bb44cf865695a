/* SPDX-License-Identifier: MIT */
/* Inference latency and throughput of the authors' spars64 ResNet-20 (32x32x3):
 * the ternary engine against libec2t's own dense float path (ec2t_net_forward)
 * on the same weights, in one run, alternating. bench/engine_peer.py times
 * PyTorch on the same weights; bench/run-engine.sh runs both.
 *
 * usage: bench-engine WEIGHTS.safetensors BATCH THREADS [SECONDS] [ISA 1-3] [PRECISION]
 * prints: engine_ms, dense_ms (medians per batch) and their best, their
 * ratio, the engine's ms per image and its additions per image (every
 * non-zero ternary weight once per output pixel), and the ISA.
 *
 * PRECISION int8 (experimental, EC2T_ENGINE_PRECISION): the engine runs its
 * ternary convolutions on 8-bit activations, calibrated on 256 inputs of
 * the benchmark's own kind (not the timed ones), and a second, float
 * engine joins the rounds: float_engine_ms and int8_speedup_vs_float. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

#include "bench-common.h"

typedef struct timing {
    double best, median;
} timing;

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Alternate the paths in rounds so that all see the same machine load: the
 * engine, the dense path, and the float engine ef if not NULL. */
static void
measure(ec2t_engine *e, ec2t_engine *ef, ec2t_net *net, const float *x, size_t n_x, int batch,
        double seconds, timing *te, timing *td, timing *tf)
{
    enum { MAXR = 4000 };
    static double a[MAXR], b[MAXR], c[MAXR];
    size_t bytes, fbytes = 0;
    void *ws;
    float *out = malloc((size_t)batch * 10 * sizeof(float));
    int n = 0, inner = batch == 1 ? 10 : 1;
    double t0 = bench_now();
    ec2t_engine_workspace_size(e, batch, &bytes);
    if (ef)
        ec2t_engine_workspace_size(ef, batch, &fbytes);
    ws = malloc(bytes > fbytes ? bytes : fbytes);
    for (int i = 0; i < 3; i++) {
        ec2t_engine_run(e, x, n_x, batch, out, (size_t)batch * 10, ws, bytes, 0);
        if (ef)
            ec2t_engine_run(ef, x, n_x, batch, out, (size_t)batch * 10, ws, fbytes, 0);
        ec2t_net_forward(net, x, n_x, batch, out, (size_t)batch * 10, 0);
    }
    while (n < MAXR && (bench_now() - t0 < seconds || n < 5)) {
        double s = bench_now();
        for (int k = 0; k < inner; k++)
            ec2t_engine_run(e, x, n_x, batch, out, (size_t)batch * 10, ws, bytes, 0);
        a[n] = (bench_now() - s) / inner;
        s = bench_now();
        for (int k = 0; k < inner; k++)
            ec2t_net_forward(net, x, n_x, batch, out, (size_t)batch * 10, 0);
        b[n] = (bench_now() - s) / inner;
        if (ef) {
            s = bench_now();
            for (int k = 0; k < inner; k++)
                ec2t_engine_run(ef, x, n_x, batch, out, (size_t)batch * 10, ws, fbytes, 0);
            c[n] = (bench_now() - s) / inner;
        }
        n++;
    }
    qsort(a, (size_t)n, sizeof a[0], cmp);
    qsort(b, (size_t)n, sizeof b[0], cmp);
    te->best = a[0], te->median = a[n / 2];
    td->best = b[0], td->median = b[n / 2];
    if (ef) {
        qsort(c, (size_t)n, sizeof c[0], cmp);
        tf->best = c[0], tf->median = c[n / 2];
    }
    free(ws);
    free(out);
}

/* A second, float engine, and the first one calibrated and switched to
 * int8 on 256 inputs of the timed inputs' kind (another seed). */
static int
setup_int8(ec2t_net *net, ec2t_engine *e, ec2t_engine **ef)
{
    enum { N_CAL = 256 };
    float *cal = malloc((size_t)N_CAL * 3072 * sizeof *cal);
    int ok;
    if (!cal)
        return 0;
    for (int i = 0; i < N_CAL * 3072; i++)
        cal[i] = (float)((i * 2246822519u + 7u) % 1000) / 500.0f - 1.0f;
    ok = ec2t_engine_compile(net, 0, ef) == EC2T_OK &&
         ec2t_engine_calibrate(e, cal, (size_t)N_CAL * 3072, N_CAL, 0) == EC2T_OK &&
         ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8) == EC2T_OK;
    free(cal);
    return ok;
}

int
main(int argc, char **argv)
{
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    ec2t_engine *e = NULL, *ef = NULL;
    int batch, threads, int8;
    double seconds;
    timing te, td, tf = {0, 0};
    float *x;
    int64_t isa, adds, mults;
    if (argc < 4) {
        fprintf(stderr, "usage: bench-engine WEIGHTS.safetensors BATCH THREADS [SECONDS] [ISA 1-3] "
                        "[float|int8]\n");
        return 2;
    }
    batch = atoi(argv[2]);
    threads = atoi(argv[3]);
    seconds = argc > 4 ? atof(argv[4]) : 5.0;
    int8 = argc > 6 && strcmp(argv[6], "int8") == 0;
    if (argc > 6 && !int8 && strcmp(argv[6], "float") != 0) {
        fprintf(stderr, "bench-engine: precision '%s' is not float or int8\n", argv[6]);
        return 2;
    }
    if (batch < 1 || threads < 1 || ec2t_context_new(&ctx) != EC2T_OK)
        return 2;
    ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads);
    if (ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net) != EC2T_OK ||
        ec2t_net_import_safetensors(net, argv[1], 0) != EC2T_OK ||
        ec2t_net_set_mode(net, EC2T_MODE_EVAL) != EC2T_OK || ec2t_engine_compile(net, 0, &e) != EC2T_OK) {
        fprintf(stderr, "bench-engine: %s\n", ec2t_context_errmsg(ctx));
        return 1;
    }
    if (int8 && !setup_int8(net, e, &ef)) {
        fprintf(stderr, "bench-engine: int8: %s\n", ec2t_context_errmsg(ctx));
        return 1;
    }
    if (argc > 5 && atoi(argv[5]) > 0) {
        ec2t_engine_set_int(e, EC2T_ENGINE_ISA, atoi(argv[5]));
        if (ef)
            ec2t_engine_set_int(ef, EC2T_ENGINE_ISA, atoi(argv[5]));
    }
    x = malloc((size_t)batch * 3072 * sizeof *x);
    for (int i = 0; i < batch * 3072; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    measure(e, ef, net, x, (size_t)batch * 3072, batch, seconds, &te, &td, &tf);
    ec2t_engine_get_int(e, EC2T_ENGINE_ACTIVE_ISA, &isa);
    printf("batch: %d\nthreads: %d\nisa: %s\n", batch, threads,
           isa == EC2T_ISA_AVX512 ? "avx512" : isa == EC2T_ISA_AVX2 ? "avx2" : "reference");
    printf("engine_ms: %.4f\nengine_best_ms: %.4f\ndense_ms: %.4f\ndense_best_ms: %.4f\n",
           1e3 * te.median, 1e3 * te.best, 1e3 * td.median, 1e3 * td.best);
    printf("speedup_vs_dense: %.2f\n", td.median / te.median);
    printf("precision: %s\n", int8 ? "int8" : "float");
    if (ef)
        printf("float_engine_ms: %.4f\nfloat_engine_best_ms: %.4f\nint8_speedup_vs_float: %.2f\n",
               1e3 * tf.median, 1e3 * tf.best, tf.median / te.median);
    ec2t_engine_get_int(e, EC2T_ENGINE_ADDS, &adds);
    ec2t_engine_get_int(e, EC2T_ENGINE_MULTS, &mults);
    printf("engine_ms_per_image: %.4f\nengine_adds_per_image: %lld\nengine_mults_per_image: %lld\n",
           1e3 * te.median / batch, (long long)adds, (long long)mults);
    ec2t_engine_free(e);
    ec2t_engine_free(ef);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    free(x);
    return 0;
}
