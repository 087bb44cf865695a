/* SPDX-License-Identifier: MIT */
/* ec2t-scale: build the super-network of a trained ResNet or EC2T-block
 * network (compound scaling of depth and width), optionally fine-tune it,
 * or run the thesis' grid search over (d, w), which is experimental. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ex-train.h"

static const char *const PROG = "ec2t-scale";

static void
usage(void)
{
    printf("usage: ec2t-scale [options] IN.ec2tm OUT.ec2tm\n"
           "Scale a trained network's depth and width into a super-network and save it.\n\n"
           "  --phi F               compound coefficient (default 1): work grows about 2^F\n"
           "  --depth D             base depth multiplier (default 1.4)\n"
           "  --width W             base width multiplier (default 1.2)\n"
           "  --transfer MODE       preserve (default: the super-network computes what IN\n"
           "                        computes) or scratch (fresh weights, the thesis' way)\n"
           "  --noise X             relative noise on replicated units, 0 to keep the base's\n"
           "                        function exactly (default: the library's, 0.01)\n"
           "  --finetune N          then train the super-network N epochs (SGD, cosine) and\n"
           "                        report the first epoch whose accuracy passes IN's\n"
           "  --lr X                fine-tuning learning rate (default 0.02 preserve, 0.1 scratch)\n"
           "  --grid D:W,D:W,...    instead: train each (d, w) from scratch --grid-epochs\n"
           "                        epochs at phi 1 and rank them (OUT gets the best;\n"
           "                        experimental)\n"
           "  --grid-epochs N       epochs per grid candidate (default 2)\n"
           "  --data SPEC           fashion-mnist[:DIR] (default), mnist:DIR or cifar10:DIR\n"
           "  --limit N             train on the first N samples only\n"
           "  --seed S              seed (default 1)\n"
           "  --threads T           threads (default 1)\n"
           "  -h, --help            this text\n\n"
           "Ends with 'key: value' lines: params_before, params_after, macs_before,\n"
           "macs_after, macs_growth, predicted_growth, and with --finetune base_accuracy,\n"
           "test_accuracy, epochs_to_pass (0 if never), file_bytes.\n");
}

enum { MAX_GRID = 64 };

typedef struct options {
    const char *in, *out, *data;
    double phi, depth, width, noise, lr;
    double grid_d[MAX_GRID], grid_w[MAX_GRID];
    int grid_n;
    long long finetune, grid_epochs, limit, seed, threads;
    int transfer;
} options;

/* "1.4:1.2,1.9:1.0" into pairs; the number of pairs, or -1. */
static int
parse_grid(const char *s, double *d, double *w)
{
    int n = 0;
    while (*s) {
        char *end;
        if (n == MAX_GRID)
            return -1;
        d[n] = strtod(s, &end);
        if (end == s || *end != ':' || !(d[n] >= 1 && d[n] <= 8))
            return -1;
        s = end + 1;
        w[n] = strtod(s, &end);
        if (end == s || (*end && *end != ',') || !(w[n] >= 1 && w[n] <= 8))
            return -1;
        n++;
        s = *end ? end + 1 : end;
    }
    return n > 0 ? n : -1;
}

static int
parse(int argc, char **argv, options *o)
{
    int positional = 0;
    *o = (options){.data = "fashion-mnist", .phi = 1, .depth = 1.4, .width = 1.2, .lr = -1,
                   .noise = -1, .grid_epochs = 2, .seed = 1, .threads = 1, .transfer = EC2T_TRANSFER_PRESERVE};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (a[0] != '-') {
            if (positional == 0)
                o->in = a;
            else if (positional == 1)
                o->out = a;
            else
                return ex_usage_error(PROG, "too many arguments");
            positional++;
            continue;
        } else if (!v) {
            return ex_usage_error(PROG, "%s needs a value", a);
        } else if (!strcmp(a, "--phi")) {
            bad = ex_parse_real(v, 0, 8, &o->phi);
        } else if (!strcmp(a, "--depth")) {
            bad = ex_parse_real(v, 1, 8, &o->depth);
        } else if (!strcmp(a, "--width")) {
            bad = ex_parse_real(v, 1, 8, &o->width);
        } else if (!strcmp(a, "--transfer")) {
            bad = strcmp(v, "preserve") && strcmp(v, "scratch");
            o->transfer = !strcmp(v, "scratch") ? EC2T_TRANSFER_SCRATCH : EC2T_TRANSFER_PRESERVE;
        } else if (!strcmp(a, "--noise")) {
            bad = ex_parse_real(v, 0, 1, &o->noise);
        } else if (!strcmp(a, "--finetune")) {
            bad = ex_parse_int(v, 0, 100000, &o->finetune);
        } else if (!strcmp(a, "--lr")) {
            bad = ex_parse_real(v, 1e-12, 10, &o->lr);
        } else if (!strcmp(a, "--grid")) {
            o->grid_n = parse_grid(v, o->grid_d, o->grid_w);
            bad = o->grid_n < 0;
        } else if (!strcmp(a, "--grid-epochs")) {
            bad = ex_parse_int(v, 1, 100000, &o->grid_epochs);
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--limit")) {
            bad = ex_parse_int(v, 1, 1LL << 40, &o->limit);
        } else if (!strcmp(a, "--seed")) {
            bad = ex_parse_int(v, 0, 1LL << 62, &o->seed);
        } else if (!strcmp(a, "--threads")) {
            bad = ex_parse_int(v, 1, 1024, &o->threads);
        } else {
            return ex_usage_error(PROG, "unknown option '%s'", a);
        }
        if (bad)
            return ex_usage_error(PROG, "bad value '%s' for %s", v, a);
        i++;
    }
    if (positional != 2)
        return ex_usage_error(PROG, "an input model and an output file are needed");
    if (o->lr < 0)
        o->lr = o->transfer == EC2T_TRANSFER_PRESERVE ? 0.02 : 0.1;
    return 0;
}

static void
print_plan(const ec2t_scaler *sc, const ec2t_net *base, const char *title)
{
    int32_t blocks[8], widths[8], n = 0;
    if (ec2t_scaler_plan(sc, base, blocks, widths, &n) != EC2T_OK)
        return;
    printf("%s:", title);
    for (int32_t s = 0; s < n; s++)
        printf("  stage %d: %d blocks x %d channels", (int)s + 1, (int)blocks[s], (int)widths[s]);
    printf("\n");
}

static int
on_candidate(void *user, int32_t i, double d, double w, double acc)
{
    (void)user;
    printf("candidate %2d  d %.3f  w %.3f  d*w^2 %.3f  val acc %6.2f%%\n", (int)i + 1, d, w,
           d * w * w, 100 * acc);
    return 0;
}

/* Grid search: pick the best candidate into the scaler's multipliers. */
static ec2t_status
grid_search(ec2t_scaler *sc, const ec2t_net *base, const options *o, ec2t_dataset *train,
            ec2t_dataset *test)
{
    const double *d = o->grid_d, *w = o->grid_w;
    double acc[MAX_GRID];
    int n = o->grid_n, best = 0;
    ec2t_status st = ec2t_scaler_grid_search(sc, base, d, w, n, train, test,
                                             (int32_t)o->grid_epochs, on_candidate, NULL, acc);
    if (st != EC2T_OK)
        return st;
    for (int i = 1; i < n; i++)
        if (acc[i] > acc[best])
            best = i;
    printf("best: d %.3f w %.3f (%.2f%%)\n", d[best], w[best], 100 * acc[best]);
    st = ec2t_scaler_set_double(sc, EC2T_SCALE_DEPTH, d[best]);
    return st == EC2T_OK ? ec2t_scaler_set_double(sc, EC2T_SCALE_WIDTH, w[best]) : st;
}

typedef struct pass_watch {
    double base_acc;
    long long passed;
} pass_watch;

static int
on_epoch(void *user, long long epoch, double acc)
{
    pass_watch *p = user;
    if (!p->passed && acc > p->base_acc)
        p->passed = epoch;
    return 0;
}

int
main(int argc, char **argv)
{
    options o;
    ec2t_context *ctx = NULL;
    ec2t_dataset *train = NULL, *test = NULL;
    ec2t_net *base = NULL, *big = NULL;
    ec2t_scaler *sc = NULL;
    ec2t_trainer *tr = NULL;
    pass_watch watch = {0, 0};
    ex_train_result res = {0};
    char err[1024];
    ec2t_status st;
    double phi_growth;
    int rc, need_data;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((rc = parse(argc, argv, &o)) != 0)
        return rc;
    rc = 1;
    need_data = o.finetune > 0 || o.grid_n > 0;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return ex_fail(PROG, "out of memory");
    ec2t_context_set_log_handler(ctx, ex_log_stderr, (void *)PROG);
    ec2t_context_set_int(ctx, EC2T_CTX_THREADS, o.threads);
    ec2t_context_set_int(ctx, EC2T_CTX_SEED, o.seed);
    if ((st = ec2t_net_load(ctx, o.in, 0, &base)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, o.in, st);
        goto out;
    }
    if (need_data &&
        (ex_load_data(ctx, o.data, ex_default_augment(base), &train, &test, err, sizeof err) ||
         ex_split_train(ctx, &train, 0, o.limit, NULL, err, sizeof err))) {
        rc = ex_fail(PROG, "%s", err);
        goto out;
    }
    st = ec2t_scaler_new(ctx, 0, &sc);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_DEPTH, o.depth);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_WIDTH, o.width);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_PHI, o.grid_n > 0 ? 1.0 : o.phi);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_int(sc, EC2T_SCALE_TRANSFER, o.transfer);
    if (st == EC2T_OK)
        st = o.noise < 0 ? EC2T_OK : ec2t_scaler_set_double(sc, EC2T_SCALE_NOISE, o.noise);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_int(sc, EC2T_SCALE_SEED, o.seed);
    if (st == EC2T_OK && o.grid_n > 0)
        st = grid_search(sc, base, &o, train, test);
    if (st == EC2T_OK) {
        print_plan(sc, base, "plan");
        st = ec2t_scaler_apply(sc, base, 0, &big);
    }
    if (st != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, "scaling", st);
        goto out;
    }
    {
        double depth, width, phi;
        ec2t_scaler_get(sc, EC2T_SCALE_DEPTH, &depth);
        ec2t_scaler_get(sc, EC2T_SCALE_WIDTH, &width);
        ec2t_scaler_get(sc, EC2T_SCALE_PHI, &phi);
        phi_growth = pow(depth * width * width, phi);
    }
    printf("params_before: %lld\nparams_after: %lld\nmacs_before: %lld\nmacs_after: %lld\n"
           "macs_growth: %.3f\npredicted_growth: %.3f\n",
           (long long)ec2t_net_trainable_count(base), (long long)ec2t_net_trainable_count(big),
           (long long)ec2t_net_macs(base), (long long)ec2t_net_macs(big),
           (double)ec2t_net_macs(big) / (double)ec2t_net_macs(base), phi_growth);
    if (o.finetune > 0) {
        ex_float_recipe recipe = {.lr = o.lr, .wd = 5e-4, .schedule = EC2T_SCHED_COSINE,
                                  .epochs = o.finetune, .batch = 128, .seed = o.seed,
                                  .augment = ex_default_augment(base)};
        st = ec2t_net_evaluate(base, test, 256, 0, NULL, &watch.base_acc);
        if (st == EC2T_OK)
            printf("base_accuracy: %.2f\n", 100 * watch.base_acc);
        if (st == EC2T_OK)
            st = ec2t_trainer_new(big, EC2T_OPT_SGD, 0, &tr);
        if (st == EC2T_OK)
            st = ex_float_configure(tr, &recipe);
        if (st == EC2T_OK)
            st = ex_train_epochs(tr, big, train, test, o.finetune, "test", NULL, on_epoch, &watch,
                                 &res);
        if (st != EC2T_OK) {
            rc = ex_fail_status(PROG, ctx, "fine-tuning", st);
            goto out;
        }
        printf("test_accuracy: %.2f\nepochs_to_pass: %lld\nwall_seconds: %.1f\n", 100 * res.val_acc,
               watch.passed, res.seconds);
    }
    if ((st = ec2t_net_save(big, o.out, 0)) != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, o.out, st);
        goto out;
    }
    printf("model: %s\nfile_bytes: %lld\n", o.out, ex_file_size(o.out));
    rc = 0;
out:
    ec2t_trainer_free(tr);
    ec2t_scaler_free(sc);
    ec2t_net_free(big);
    ec2t_net_free(base);
    ec2t_dataset_free(train);
    ec2t_dataset_free(test);
    ec2t_context_free(ctx);
    return rc;
}
