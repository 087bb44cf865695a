/* SPDX-License-Identifier: MIT */
/* ec2t-deploy: load a .ec2t file in the inference engine and run it: on a
 * data set (accuracy), on .npy inputs (logits to .npy), or as a benchmark. */
#include <stdlib.h>
#include <string.h>

#include "ex-common.h"

static const char *const PROG = "ec2t-deploy";

static void
usage(void)
{
    printf("usage: ec2t-deploy MODEL.ec2t [options]\n"
           "Run a deployable file in the ternary inference engine.\n\n"
           "  --data SPEC         classify a test set: fashion-mnist[:DIR], mnist:DIR, cifar10:DIR\n"
           "  --npy IN.npy        run these inputs (N x C x H x W float32)\n"
           "  --save-logits F     with --npy: write the outputs to F (.npy, N x classes)\n"
           "  --bench             time batch 1 and batch 64\n"
           "  --batch N           batch size for --data (default 64)\n"
           "  --threads T         threads (default 1)\n"
           "  --isa NAME          force reference, avx2 or avx512 kernels\n"
           "  -h, --help          this text\n\n"
           "Ends with 'key: value' lines: file_bytes, test_accuracy (with --data),\n"
           "latency_ms_batch1 and images_per_second_batch64 (with --bench).\n");
}

typedef struct options {
    const char *model, *data, *npy, *logits, *isa;
    long long batch, threads;
    int bench;
} options;

static int
parse(int argc, char **argv, options *o)
{
    *o = (options){NULL, NULL, NULL, NULL, NULL, 64, 1, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--bench")) {
            o->bench = 1;
            continue;
        } else if (a[0] != '-') {
            if (o->model)
                return ex_usage_error(PROG, "too many arguments");
            o->model = a;
            continue;
        } else if (!v) {
            return ex_usage_error(PROG, "%s needs a value", a);
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--npy")) {
            o->npy = v;
        } else if (!strcmp(a, "--save-logits")) {
            o->logits = v;
        } else if (!strcmp(a, "--isa")) {
            o->isa = v;
            if (strcmp(v, "reference") && strcmp(v, "avx2") && strcmp(v, "avx512"))
                return ex_usage_error(PROG, "bad --isa '%s'", v);
        } else if (!strcmp(a, "--batch")) {
            if (ex_parse_int(v, 1, 65536, &o->batch))
                return ex_usage_error(PROG, "bad --batch '%s'", v);
        } else if (!strcmp(a, "--threads")) {
            if (ex_parse_int(v, 1, 1024, &o->threads))
                return ex_usage_error(PROG, "bad --threads '%s'", v);
        } else {
            return ex_usage_error(PROG, "unknown option '%s'", a);
        }
        i++;
    }
    if (!o->model)
        return ex_usage_error(PROG, "a .ec2t file is needed");
    if (o->logits && !o->npy)
        return ex_usage_error(PROG, "--save-logits goes with --npy");
    return 0;
}

/* Workspace and output for up to `batch` samples. */
typedef struct runner {
    ec2t_engine *e;
    void *ws;
    size_t ws_bytes;
    float *out;
    int64_t outputs, in_size, batch;
} runner;

static ec2t_status
runner_init(runner *r, ec2t_engine *e, int64_t batch)
{
    int64_t c, h, w;
    ec2t_engine_get_int(e, EC2T_ENGINE_OUTPUTS, &r->outputs);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_C, &c);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_H, &h);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_W, &w);
    r->e = e;
    r->in_size = c * h * w;
    r->batch = batch;
    if (ec2t_engine_workspace_size(e, batch, &r->ws_bytes) != EC2T_OK)
        return EC2T_E_INVAL;
    r->ws = malloc(r->ws_bytes);
    r->out = malloc((size_t)(batch * r->outputs) * sizeof(float));
    return r->ws && r->out ? EC2T_OK : EC2T_E_NOMEM;
}

static void
runner_free(runner *r)
{
    free(r->ws);
    free(r->out);
}

static int
classify(runner *r, ec2t_context *ctx, const char *spec, double *accuracy)
{
    ec2t_dataset *train = NULL, *test = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    int64_t n, correct = 0;
    char err[1024];
    ex_progress bar;
    if (ex_load_data(ctx, spec, 0, &train, &test, err, sizeof err))
        return ex_fail(PROG, "%s", err);
    n = ec2t_dataset_size(test);
    x = malloc((size_t)(r->batch * r->in_size) * sizeof(float));
    y = malloc((size_t)r->batch * sizeof(int32_t));
    ex_progress_begin(&bar, "test set");
    for (int64_t start = 0; x && y && start < n; start += r->batch) {
        int64_t count = n - start < r->batch ? n - start : r->batch;
        ec2t_status st = ec2t_dataset_get_batch(test, start, count, x, (size_t)(r->batch * r->in_size), y,
                                                (size_t)r->batch, 0);
        if (st == EC2T_OK)
            st = ec2t_engine_run(r->e, x, count, r->out, (size_t)(r->batch * r->outputs), r->ws,
                                 r->ws_bytes, 0);
        if (st != EC2T_OK) {
            ex_progress_end(&bar);
            free(x);
            free(y);
            ec2t_dataset_free(train);
            ec2t_dataset_free(test);
            return ex_fail_status(PROG, ctx, "inference", st);
        }
        for (int64_t s = 0; s < count; s++) {
            int64_t best = 0;
            for (int64_t k = 1; k < r->outputs; k++)
                if (r->out[s * r->outputs + k] > r->out[s * r->outputs + best])
                    best = k;
            correct += best == y[s];
        }
        ex_progress_update(&bar, start + count, n, NULL);
    }
    ex_progress_end(&bar);
    *accuracy = (double)correct / (double)n;
    free(x);
    free(y);
    ec2t_dataset_free(train);
    ec2t_dataset_free(test);
    return 0;
}

/* Median time of repeated runs of one batch, in seconds. */
static double
time_batch(runner *r, const float *x, int64_t batch)
{
    double times[15];
    int reps = 15;
    for (int i = 0; i < 3; i++)
        ec2t_engine_run(r->e, x, batch, r->out, (size_t)(r->batch * r->outputs), r->ws, r->ws_bytes, 0);
    for (int i = 0; i < reps; i++) {
        double t0 = ex_now();
        int inner = batch == 1 ? 20 : 1;
        for (int k = 0; k < inner; k++)
            ec2t_engine_run(r->e, x, batch, r->out, (size_t)(r->batch * r->outputs), r->ws, r->ws_bytes, 0);
        times[i] = (ex_now() - t0) / inner;
    }
    for (int i = 1; i < reps; i++) /* insertion sort: tiny */
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    return times[reps / 2];
}

int
main(int argc, char **argv)
{
    options o;
    ec2t_context *ctx = NULL;
    ec2t_engine *e = NULL;
    ec2t_tensor *in = NULL, *logits = NULL;
    runner r = {0};
    double acc = -1, lat1 = 0, lat64 = 0;
    int64_t isa;
    ec2t_status st;
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((rc = parse(argc, argv, &o)) != 0)
        return rc;
    rc = 1;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return ex_fail(PROG, "out of memory");
    ec2t_context_set_log_handler(ctx, ex_log_stderr, (void *)PROG);
    ec2t_context_set_int(ctx, EC2T_CTX_THREADS, o.threads);
    if ((st = ec2t_engine_load(ctx, o.model, 0, &e)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, o.model, st);
        goto out;
    }
    if (o.isa)
        ec2t_engine_set_int(e, EC2T_ENGINE_ISA,
                            !strcmp(o.isa, "avx512") ? EC2T_ISA_AVX512
                            : !strcmp(o.isa, "avx2") ? EC2T_ISA_AVX2
                                                     : EC2T_ISA_REFERENCE);
    if (o.npy) {
        int64_t n;
        if ((st = ec2t_tensor_load_npy(ctx, o.npy, 0, &in)) != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, o.npy, st);
            goto out;
        }
        n = ec2t_tensor_dim(in, 0);
        if (runner_init(&r, e, n) != EC2T_OK)
            goto out;
        if (ec2t_tensor_numel(in) != n * r.in_size) {
            rc = ex_fail(PROG, "%s: %lld values per sample, the model takes %lld", o.npy,
                         (long long)(ec2t_tensor_numel(in) / n), (long long)r.in_size);
            goto out;
        }
        st = ec2t_engine_run(e, ec2t_tensor_data(in), n, r.out, (size_t)(n * r.outputs), r.ws, r.ws_bytes, 0);
        if (st == EC2T_OK && o.logits) {
            const int64_t dims[2] = {n, r.outputs};
            st = ec2t_tensor_new(ctx, 2, dims, &logits);
            if (st == EC2T_OK)
                st = ec2t_tensor_write(logits, r.out, (size_t)(n * r.outputs));
            if (st == EC2T_OK)
                st = ec2t_tensor_save_npy(logits, o.logits, 0);
        }
        if (st != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, o.npy, st);
            goto out;
        }
        runner_free(&r);
        memset(&r, 0, sizeof r);
    }
    if (o.data || o.bench) {
        if (runner_init(&r, e, o.bench && o.batch < 64 ? 64 : o.batch) != EC2T_OK) {
            rc = ex_fail(PROG, "out of memory");
            goto out;
        }
        r.batch = o.batch > r.batch ? o.batch : r.batch;
    }
    if (o.data && (rc = classify(&r, ctx, o.data, &acc)) != 0)
        goto out;
    if (o.bench) {
        float *x = calloc((size_t)(64 * r.in_size), sizeof(float));
        for (int64_t i = 0; x && i < 64 * r.in_size; i++)
            x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        lat1 = time_batch(&r, x, 1);
        lat64 = time_batch(&r, x, 64);
        free(x);
    }
    ec2t_engine_get_int(e, EC2T_ENGINE_ACTIVE_ISA, &isa);
    printf("model: %s\nfile_bytes: %lld\nisa: %s\nthreads: %lld\n", o.model, ex_file_size(o.model),
           isa == EC2T_ISA_AVX512 ? "avx512" : isa == EC2T_ISA_AVX2 ? "avx2" : "reference", o.threads);
    if (acc >= 0)
        printf("test_accuracy: %.2f\n", 100 * acc);
    if (o.logits)
        printf("logits: %s\n", o.logits);
    if (o.bench)
        printf("latency_ms_batch1: %.4f\nimages_per_second_batch64: %.1f\n", 1e3 * lat1, 64.0 / lat64);
    rc = 0;
out:
    runner_free(&r);
    ec2t_tensor_free(in);
    ec2t_tensor_free(logits);
    ec2t_engine_free(e);
    ec2t_context_free(ctx);
    return rc;
}
