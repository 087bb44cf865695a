/* SPDX-License-Identifier: MIT */
/* ec2t-ternarize: run EC2T (phase A, then phase B) on a trained model and
 * save the ternary model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ex-train.h"

static const char *const PROG = "ec2t-ternarize";

static void
usage(void)
{
    printf("usage: ec2t-ternarize [options] IN.ec2tm OUT.ec2tm\n"
           "Make a trained model sparse and ternary with EC2T and save it.\n\n"
           "  --gamma G             entropy-constraint gain (default 0.15; 0 = nearest value)\n"
           "  --target-sparsity S   steer gamma to end with this fraction of zeros, e.g. 0.8\n"
           "  --target-bytes N      steer gamma to an estimated deployed size of N bytes\n"
           "  --epochs A            phase-A epochs, assignment recomputed every step (default 20)\n"
           "  --retrain-epochs B    phase-B epochs, assignment frozen (default 15)\n"
           "  --data SPEC           fashion-mnist[:DIR] (default), mnist:DIR or cifar10:DIR\n"
           "  --batch N             batch size (default 128)\n"
           "  --lr X                Adam learning rate of the full-precision parameters (1e-4)\n"
           "  --lr-shadow X         of the shadow weights (1e-4)\n"
           "  --lr-centroids X      of w_p and w_n (1e-5)\n"
           "  --schedule S          the rates: constant (default, the reference's way) or\n"
           "                        cosine, one decay over both phases\n"
           "  --init-scale S        initial w_p = S max W, w_n = S |min W| (default 0.3)\n"
           "  --kmeans              initial centroids by 1-D k-means instead\n"
           "  --compat-sign         the reference code's sign for dL/dw_n (experimental)\n"
           "  --distill A           add a teacher's softened outputs to the loss with weight A\n"
           "                        (0 to 1; default 0, off)\n"
           "  --teacher MODEL       the teacher (default: the float input model itself);\n"
           "                        given up to %d times, an ensemble: the mean of the\n"
           "                        teachers' softened outputs (experimental)\n"
           "  --teacher-mirror      the teachers also see each batch mirrored left to right,\n"
           "                        their targets are the mean over both views (experimental)\n"
           "  --temperature T       of the distillation (default 4)\n"
           "  --augment, --no-augment  random crops and flips (default: as ec2t-train)\n"
           "  --limit N             train on the first N samples only\n"
           "  --val N               hold the last N training samples out to pick the best\n"
           "                        epoch (default 5000; 0 picks on the test set, as the\n"
           "                        reference code does)\n"
           "  --checkpoint FILE     save the run after every epoch; if FILE exists, go on\n"
           "                        from it (same options needed); removed at the end\n"
           "  --seed S              seed (default 1)\n"
           "  --threads T           threads (default 1)\n"
           "  --quiet               no per-epoch tables\n"
           "  -h, --help            this text\n\n"
           "Ends with 'key: value' lines: float_accuracy, test_accuracy (percent), sparsity,\n"
           "entropy_bits, est_bytes, gamma, layers, file_bytes.\n", EX_MAX_TEACHERS);
}

typedef struct options {
    const char *in, *out, *data, *checkpoint;
    const char *teachers[EX_MAX_TEACHERS];
    int n_teachers;
    double gamma, target_sparsity, lr, lr_shadow, lr_cent, init_scale, distill, temperature;
    long long target_bytes, epochs_a, epochs_b, batch, limit, val, seed, threads;
    int kmeans, compat, augment, quiet, cosine, teacher_mirror;
} options;

static int
parse(int argc, char **argv, options *o)
{
    int positional = 0;
    *o = (options){.data = "fashion-mnist", .gamma = 0.15, .lr = 1e-4, .lr_shadow = 1e-4,
                   .lr_cent = 1e-5, .init_scale = 0.3, .temperature = 4, .epochs_a = 20, .epochs_b = 15,
                   .batch = 128, .val = 5000, .seed = 1, .threads = 1, .augment = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--kmeans")) {
            o->kmeans = 1, takes = 0;
        } else if (!strcmp(a, "--compat-sign")) {
            o->compat = 1, takes = 0;
        } else if (!strcmp(a, "--augment")) {
            o->augment = 1, takes = 0;
        } else if (!strcmp(a, "--no-augment")) {
            o->augment = 0, takes = 0;
        } else if (!strcmp(a, "--teacher-mirror")) {
            o->teacher_mirror = 1, takes = 0;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1, takes = 0;
        } else if (a[0] != '-') {
            if (positional == 0)
                o->in = a;
            else if (positional == 1)
                o->out = a;
            else
                return ex_usage_error(PROG, "too many arguments");
            positional++, takes = 0;
        } else if (!v) {
            return ex_usage_error(PROG, "%s needs a value", a);
        } else if (!strcmp(a, "--gamma")) {
            bad = ex_parse_real(v, 0, 1000, &o->gamma);
        } else if (!strcmp(a, "--target-sparsity")) {
            bad = ex_parse_real(v, 1e-6, 0.999, &o->target_sparsity);
        } else if (!strcmp(a, "--target-bytes")) {
            bad = ex_parse_int(v, 1, 1LL << 50, &o->target_bytes);
        } else if (!strcmp(a, "--epochs")) {
            bad = ex_parse_int(v, 0, 100000, &o->epochs_a);
        } else if (!strcmp(a, "--retrain-epochs")) {
            bad = ex_parse_int(v, 0, 100000, &o->epochs_b);
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--batch")) {
            bad = ex_parse_int(v, 1, 65536, &o->batch);
        } else if (!strcmp(a, "--lr")) {
            bad = ex_parse_real(v, 1e-12, 10, &o->lr);
        } else if (!strcmp(a, "--lr-shadow")) {
            bad = ex_parse_real(v, 1e-12, 10, &o->lr_shadow);
        } else if (!strcmp(a, "--lr-centroids")) {
            bad = ex_parse_real(v, 1e-12, 10, &o->lr_cent);
        } else if (!strcmp(a, "--schedule")) {
            bad = ex_parse_tern_schedule(v, &o->cosine);
        } else if (!strcmp(a, "--init-scale")) {
            bad = ex_parse_real(v, 1e-6, 1, &o->init_scale);
        } else if (!strcmp(a, "--distill")) {
            bad = ex_parse_real(v, 0, 1, &o->distill);
        } else if (!strcmp(a, "--checkpoint")) {
            o->checkpoint = v;
        } else if (!strcmp(a, "--teacher")) {
            if (o->n_teachers == EX_MAX_TEACHERS)
                return ex_usage_error(PROG, "at most %d --teacher options", EX_MAX_TEACHERS);
            o->teachers[o->n_teachers++] = v;
        } else if (!strcmp(a, "--temperature")) {
            bad = ex_parse_real(v, 1, 100, &o->temperature);
        } else if (!strcmp(a, "--limit")) {
            bad = ex_parse_int(v, 1, 1LL << 40, &o->limit);
        } else if (!strcmp(a, "--val")) {
            bad = ex_parse_int(v, 0, 1LL << 40, &o->val);
        } else if (!strcmp(a, "--seed")) {
            bad = ex_parse_int(v, 0, 1LL << 62, &o->seed);
        } else if (!strcmp(a, "--threads")) {
            bad = ex_parse_int(v, 1, 1024, &o->threads);
        } else {
            return ex_usage_error(PROG, "unknown option '%s'", a);
        }
        if (bad)
            return ex_usage_error(PROG, "bad value '%s' for %s", v, a);
        i += takes;
    }
    if (positional != 2)
        return ex_usage_error(PROG, "an input model and an output file are needed");
    if (o->target_sparsity > 0 && o->target_bytes > 0)
        return ex_usage_error(PROG, "--target-sparsity and --target-bytes exclude each other");
    return 0;
}

int
main(int argc, char **argv)
{
    options o;
    ec2t_context *ctx = NULL;
    ec2t_dataset *train = NULL, *test = NULL, *val = NULL;
    ec2t_net *net = NULL, *teachers[EX_MAX_TEACHERS] = {NULL};
    ec2t_trainer *tr = NULL;
    ec2t_ternarizer *tz = NULL;
    ex_tern_recipe recipe;
    char err[1024];
    double acc_fp = 0, acc = 0, s = 0, h = 0, bytes = 0, gamma = 0, t0;
    int64_t layers = 0;
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
    ec2t_context_set_int(ctx, EC2T_CTX_SEED, o.seed);
    if ((st = ec2t_net_load(ctx, o.in, 0, &net)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, o.in, st);
        goto out;
    }
    if (o.distill > 0 && !o.n_teachers && (st = ec2t_net_clone(net, &teachers[0])) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "teacher", st);
        goto out;
    }
    for (int i = 0; o.distill > 0 && i < o.n_teachers; i++)
        if ((st = ec2t_net_load(ctx, o.teachers[i], 0, &teachers[i])) != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, o.teachers[i], st);
            goto out;
        }
    if (o.augment < 0)
        o.augment = ex_default_augment(net);
    if (ex_load_data(ctx, o.data, o.augment, &train, &test, err, sizeof err)) {
        rc = ex_fail(PROG, "%s", err);
        goto out;
    }
    if (ex_split_train(ctx, &train, o.val, o.limit, &val, err, sizeof err)) {
        rc = ex_fail(PROG, "%s", err);
        goto out;
    }
    if ((st = ec2t_net_evaluate(net, test, 256, 0, NULL, &acc_fp)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "evaluation", st);
        goto out;
    }
    printf("%s: %s, float test accuracy %.2f%%\n", PROG, o.in, 100 * acc_fp);
    recipe = (ex_tern_recipe){.gamma = o.gamma, .target_sparsity = o.target_sparsity, .lr = o.lr,
                              .lr_shadow = o.lr_shadow, .lr_centroids = o.lr_cent,
                              .init_scale = o.init_scale, .target_bytes = o.target_bytes,
                              .batch = o.batch, .seed = o.seed, .kmeans = o.kmeans,
                              .compat_sign = o.compat, .augment = o.augment,
                              .distill = o.distill, .teacher_mirror = o.teacher_mirror,
                              .temperature = o.temperature,
                              .anneal_epochs = o.cosine ? o.epochs_a + o.epochs_b : 0};
    memcpy(recipe.teachers, teachers, sizeof teachers);
    if ((st = ex_tern_setup(net, &recipe, &tz, &tr)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "setup", st);
        goto out;
    }
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &s);
    ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &layers);
    printf("%lld layers ternarized; initial (nearest-value) sparsity %.2f%%\n", (long long)layers,
           100 * s);
    t0 = ex_now();
    st = ex_tern_run(tz, tr, net, train, val ? val : test, o.epochs_a, o.epochs_b, o.quiet, o.checkpoint);
    if (st != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "EC2T", st);
        goto out;
    }
    if ((st = ec2t_net_evaluate(net, test, 256, 0, NULL, &acc)) != EC2T_OK ||
        (st = ec2t_net_save(net, o.out, 0)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, o.out, st);
        goto out;
    }
    if (o.checkpoint)
        remove(o.checkpoint); /* the run is done and saved */
    printf("final:\n");
    ex_tern_print_layers(tz, net);
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &s);
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_ENTROPY, &h);
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_EST_BYTES, &bytes);
    ec2t_ternarizer_get_double(tz, EC2T_TERN_CURRENT_GAMMA, &gamma);
    printf("model: %s\nfloat_accuracy: %.2f\ntest_accuracy: %.2f\nsparsity: %.4f\n"
           "entropy_bits: %.4f\nest_bytes: %.0f\ngamma: %.4f\nlayers: %lld\nwall_seconds: %.1f\n"
           "file_bytes: %lld\n",
           o.out, 100 * acc_fp, 100 * acc, s, h, bytes, gamma, (long long)layers, ex_now() - t0,
           ex_file_size(o.out));
    rc = 0;
out:
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    for (int i = 0; i < EX_MAX_TEACHERS; i++)
        ec2t_net_free(teachers[i]);
    ec2t_net_free(net);
    ec2t_dataset_free(train);
    ec2t_dataset_free(test);
    ec2t_dataset_free(val);
    ec2t_context_free(ctx);
    return rc;
}
