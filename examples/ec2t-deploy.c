/* SPDX-License-Identifier: MIT */
/* ec2t-deploy: load a .ec2t file in the inference engine and run it: on a
 * data set (accuracy), on .npy inputs (logits to .npy), or as a benchmark;
 * in float, or in the experimental int8 precision calibrated on training
 * images. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <stdlib.h>
#include <string.h>

#include "ex-engine.h"

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
           "  --int8 N            8-bit activations (experimental), calibrated on the\n"
           "                      first N training images of --data (N up to 65536)\n"
           "  -h, --help          this text\n\n"
           "Ends with 'key: value' lines: file_bytes, test_accuracy (with --data),\n"
           "latency_ms_batch1 and images_per_second_batch64 (with --bench).\n");
}

typedef struct options {
    const char *model, *data, *npy, *logits, *isa;
    long long batch, threads, int8;
    int bench;
} options;

static int
parse(int argc, char **argv, options *o)
{
    *o = (options){NULL, NULL, NULL, NULL, NULL, 64, 1, 0, 0};
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
        } else if (!strcmp(a, "--int8")) {
            if (ex_parse_int(v, 1, 65536, &o->int8))
                return ex_usage_error(PROG, "bad --int8 '%s'", v);
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
    if (o->int8 && !o->data)
        return ex_usage_error(PROG, "--int8 needs --data for its calibration images");
    return 0;
}

/* int8 precision, its scales calibrated on the first n images of train. */
static int
use_int8(ec2t_engine *e, ec2t_context *ctx, ec2t_dataset *train, int64_t n)
{
    int32_t c, h, w;
    size_t count;
    float *x;
    ec2t_status st = ec2t_dataset_shape(train, &c, &h, &w);
    n = n < ec2t_dataset_size(train) ? n : ec2t_dataset_size(train);
    count = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    x = malloc(count * sizeof(float));
    if (!x)
        return ex_fail(PROG, "out of memory");
    if (st == EC2T_OK)
        st = ec2t_dataset_get_batch(train, 0, n, x, count, NULL, 0, 0);
    if (st == EC2T_OK)
        st = ec2t_engine_calibrate(e, x, count, n, 0);
    if (st == EC2T_OK)
        st = ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8);
    free(x);
    return st == EC2T_OK ? 0 : ex_fail_status(PROG, ctx, "int8 calibration", st);
}

int
main(int argc, char **argv)
{
    options o;
    ec2t_context *ctx = NULL;
    ec2t_engine *e = NULL;
    ec2t_tensor *in = NULL, *logits = NULL;
    ex_runner r = {0};
    ec2t_dataset *train = NULL, *test = NULL;
    char err[1024];
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
    if (o.data && ex_load_data(ctx, o.data, 0, &train, &test, err, sizeof err)) {
        rc = ex_fail(PROG, "%s", err);
        goto out;
    }
    if (o.int8 && (rc = use_int8(e, ctx, train, o.int8)) != 0)
        goto out;
    rc = 1;
    if (o.npy) {
        int64_t n;
        if ((st = ec2t_tensor_load_npy(ctx, o.npy, 0, &in)) != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, o.npy, st);
            goto out;
        }
        n = ec2t_tensor_dim(in, 0);
        if ((st = ex_runner_init(&r, e, n)) != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, o.npy, st);
            goto out;
        }
        /* the engine refuses an input of another shape, naming both */
        st = ex_runner_run(&r, ec2t_tensor_data(in), (size_t)ec2t_tensor_numel(in), n);
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
        ex_runner_free(&r);
    }
    if (o.data || o.bench) {
        if ((st = ex_runner_init(&r, e, o.bench && o.batch < 64 ? 64 : o.batch)) != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, "workspace", st);
            goto out;
        }
    }
    if (o.data && (st = ex_runner_accuracy(&r, test, &acc, NULL)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "inference", st);
        goto out;
    }
    if (o.bench) {
        float *x = ex_bench_inputs(64 * r.in_size);
        if (!x) {
            rc = ex_fail(PROG, "out of memory");
            goto out;
        }
        lat1 = ex_runner_latency(&r, x, 1);
        lat64 = ex_runner_latency(&r, x, 64);
        free(x);
    }
    ec2t_engine_get_int(e, EC2T_ENGINE_ACTIVE_ISA, &isa);
    printf("model: %s\nfile_bytes: %lld\nisa: %s\nthreads: %lld\nprecision: %s\n", o.model,
           ex_file_size(o.model),
           isa == EC2T_ISA_AVX512 ? "avx512" : isa == EC2T_ISA_AVX2 ? "avx2" : "reference", o.threads,
           o.int8 ? "int8" : "float");
    if (acc >= 0)
        printf("test_accuracy: %.2f\n", 100 * acc);
    if (o.logits)
        printf("logits: %s\n", o.logits);
    if (o.bench)
        printf("latency_ms_batch1: %.4f\nimages_per_second_batch64: %.1f\n", 1e3 * lat1, 64.0 / lat64);
    rc = 0;
out:
    ex_runner_free(&r);
    ec2t_dataset_free(train);
    ec2t_dataset_free(test);
    ec2t_tensor_free(in);
    ec2t_tensor_free(logits);
    ec2t_engine_free(e);
    ec2t_context_free(ctx);
    return rc;
}
