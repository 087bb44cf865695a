/* SPDX-License-Identifier: MIT */
/* ec2t-demo: the whole EC2T pipeline on Fashion-MNIST, read top to bottom.
 * Two settings and the options over them; then the stages in the order they
 * run: train a small float network, scale it into a super-network
 * (function-preserving), ternarize that with EC2T, compile, save and reload
 * the deployable .ec2t file, and measure the three models side by side
 * (demo-report.c prints the table and draws the chart). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo-report.h"
#include "ex-options.h"
#include "ex-train.h"

static const char *const PROG = "ec2t-demo";

/* Every option sets a field here; FULL and QUICK (--quick) are the defaults. */
typedef struct options {
    const char *out, *data, *base, *model; /* model: the small network */
    long long epochs, limit, val;          /* its epochs, training and validation images */
    double phi, depth, width;              /* the scaler's coefficient and base multipliers */
    long long epochs_a, epochs_b;          /* EC2T's phases */
    double target, distill;                /* zeros EC2T steers to, the teacher's weight */
    int tern_augment;                      /* EC2T's batches get random crops and flips */
    long long seed, threads;               /* threads -1: all cores */
    int quick, resume;
} options;

/* full: a wider super-network only (no added blocks, which EC2T left near the
 * identity), 81 % zeros, the float super-network as teacher, no augmentation
 * during EC2T (doc/experiments.md). quick keeps the shape its recorded
 * 5-minute run measured. */
static const options FULL = {
    .out = "ec2t-demo-out", .data = "fashion-mnist", .seed = 1, .threads = -1,
    .model = "resnet20", .epochs = 40, .limit = 0, .val = 5000, .phi = 0.75, .depth = 1.0,
    .width = 1.4, .epochs_a = 8, .epochs_b = 3, .target = 0.81, .distill = 0.5, .tern_augment = 0};
static const options QUICK = {
    .out = "ec2t-demo-out", .data = "fashion-mnist", .seed = 1, .threads = -1,
    .model = "resnet20", .epochs = 3, .limit = 12000, .val = 1000, .phi = 0.5, .depth = 1.4,
    .width = 1.2, .epochs_a = 2, .epochs_b = 1, .target = 0.92, .distill = 0, .tern_augment = 1};

/* name, value, type, field, bounds of a number, help */
#define AT(field) offsetof(options, field)
static const ex_opt OPTS[] = {
    {"--quick", NULL, EX_OPT_FLAG, AT(quick), 0, 0, "a run of about 5 minutes on 2 cores"},
    {"--out", "DIR", EX_OPT_TEXT, AT(out), 0, 0, "where the files go"},
    {"--data", "SPEC", EX_OPT_TEXT, AT(data), 0, 0, "fashion-mnist[:DIR] (DIR: see below)"},
    {"--resume", NULL, EX_OPT_FLAG, AT(resume), 0, 0, "reuse stage files, go on from a checkpoint"},
    {"--base", "MODEL", EX_OPT_TEXT, AT(base), 0, 0, "start from this trained float model"},
    {"--model", "NAME", EX_OPT_TEXT, AT(model), 0, 0, "resnet20 or resnetN (N = 6k+2)"},
    {"--epochs", "N", EX_OPT_INT, AT(epochs), 1, 1e5, "epochs of the small network"},
    {"--limit", "N", EX_OPT_INT, AT(limit), 0, 0x1p40, "training images (0: all but --val)"},
    {"--val", "N", EX_OPT_INT, AT(val), 1, 0x1p40, "training images held out for validation"},
    {"--phi", "F", EX_OPT_REAL, AT(phi), 0, 8, "scaling coefficient, work grows about 2^F"},
    {"--depth", "D", EX_OPT_REAL, AT(depth), 1, 8, "D^F times the blocks (D W^2 near 2 keeps 2^F)"},
    {"--width", "W", EX_OPT_REAL, AT(width), 1, 8, "W^F times the channels"},
    {"--epochs-a", "N", EX_OPT_INT, AT(epochs_a), 0, 1e5, "EC2T phase-A epochs"},
    {"--epochs-b", "N", EX_OPT_INT, AT(epochs_b), 0, 1e5, "EC2T phase-B epochs"},
    {"--target-sparsity", "S", EX_OPT_REAL, AT(target), 0.01, 0.999, "zeros EC2T steers to"},
    {"--distill", "A", EX_OPT_REAL, AT(distill), 0, 1, "weight of the super-network teaching EC2T"},
    {"--seed", "S", EX_OPT_INT, AT(seed), 0, 0x1p62, "seed"},
    {"--threads", "T", EX_OPT_INT, AT(threads), 1, 1024, "threads (default: all cores)"},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

static void
usage(void)
{
    static const void *const presets[2] = {&FULL, &QUICK};
    static const char *const names[2] = {"full", "quick"};
    printf("usage: ec2t-demo [options]\n"
           "Run the whole EC2T pipeline on Fashion-MNIST: train a small float network,\n"
           "scale it into a super-network, ternarize it with EC2T, save and run the\n"
           "deployable .ec2t file, and compare the three models.\n\n");
    ex_opts_usage(OPTS, N_OPTS, presets, names, 2);
    printf("  %-22s this text\n\nDIR of --data defaults to %s.\nEnds with 'key: value' lines: "
           "the three models' figures (small_, super_,\nternary_accuracy, ...), sparsity, "
           "compression, accuracy_gain, accuracy_stderr\nand the file names.\n", "-h, --help",
           EX_DEFAULT_FASHION_DIR);
}

static int
parse(int argc, char **argv, options *o)
{
    options given = {0};
    char set[N_OPTS] = {0};
    int rc = ex_opts_parse(PROG, argc, argv, OPTS, N_OPTS, &given, set);
    if (rc == 1)
        usage(), exit(0);
    if (rc != 0)
        return rc;
    *o = given.quick ? QUICK : FULL;
    ex_opts_apply(OPTS, N_OPTS, &given, set, o);
    if (o->epochs_a + o->epochs_b < 1)
        return ex_usage_error(PROG, "EC2T needs at least one epoch (--epochs-a, --epochs-b)");
    if (o->threads < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n > 0 ? n : 1;
    }
    return 0;
}

/* The files of a run, in --out; a checkpoint lives while its stage trains. */
enum { SMALL, SUPER, TERN, EC2T, SVG, SMALL_CKPT, TERN_CKPT, N_FILES };
static const char *const FILES[N_FILES] = {
    [SMALL] = "small.ec2tm", [SUPER] = "super.ec2tm", [TERN] = "ternary.ec2tm",
    [EC2T] = "model.ec2t", [SVG] = "report.svg", [SMALL_CKPT] = "small.ckpt",
    [TERN_CKPT] = "ec2t.ckpt"};

/* Everything the run holds, freed in one place. */
typedef struct demo {
    options o;
    ec2t_context *ctx;
    ec2t_dataset *train, *val, *test;
    ec2t_net *small, *super, *tern;
    char path[N_FILES][4096];
    demo_row rows[3];
    demo_layer *layers;
    int n_layers;
    double t0;
} demo;

static int
fail(demo *d, const char *what, ec2t_status st)
{
    return ex_fail_status(PROG, d->ctx, what, st);
}

/* Makes a stage's network into *net, going on from `checkpoint` if it exists
 * (NULL for a stage without one); 0 or an exit code. */
typedef int (*make_fn)(demo *d, ec2t_net **net, const char *checkpoint);

/* A stage: with --resume its file from an earlier run if there is one, else
 * made (without --resume, from scratch) and saved; the checkpoint goes once
 * the file holds it all. */
static int
make_or_reuse(demo *d, int file, int checkpoint, make_fn make, ec2t_net **net)
{
    const char *ckpt = checkpoint >= 0 ? d->path[checkpoint] : NULL;
    ec2t_status st;
    int rc;
    if (d->o.resume && access(d->path[file], R_OK) == 0) {
        if ((st = ec2t_net_load(d->ctx, d->path[file], 0, net)) != EC2T_OK)
            return fail(d, d->path[file], st);
        printf("reusing %s\n", d->path[file]);
        return 0;
    }
    if (ckpt && !d->o.resume)
        remove(ckpt);
    else if (ckpt && access(ckpt, R_OK) == 0)
        printf("going on from %s\n", ckpt);
    if ((rc = make(d, net, ckpt)) != 0)
        return rc;
    if ((st = ec2t_net_save(*net, d->path[file], 0)) != EC2T_OK)
        return fail(d, d->path[file], st);
    if (ckpt)
        remove(ckpt);
    return 0;
}

/* Stage 1: the small float network, SGD with a cosine decay, measured on the
 * validation images after every epoch. */
static int
train_small(demo *d, ec2t_net **net, const char *checkpoint)
{
    ex_float_recipe recipe = {.lr = 0.1, .wd = 5e-4, .schedule = EC2T_SCHED_COSINE,
                              .epochs = d->o.epochs, .batch = 128, .seed = d->o.seed, .augment = 1};
    ex_train_result res;
    ec2t_trainer *tr = NULL;
    int32_t c, h, w;
    ec2t_status st;
    ec2t_dataset_shape(d->train, &c, &h, &w);
    st = ec2t_net_build_named(d->ctx, d->o.model, c, h, w, ec2t_dataset_classes(d->train), 0,
                              net);
    if (st == EC2T_E_UNSUPPORTED)
        return ex_usage_error(PROG, "unknown --model '%s' (resnet20 or resnetN, N = 6k+2)",
                              d->o.model);
    if (st == EC2T_OK && (st = ec2t_net_init(*net, (uint64_t)d->o.seed)) == EC2T_OK &&
        (st = ec2t_trainer_new(*net, EC2T_OPT_SGD, 0, &tr)) == EC2T_OK)
        st = ex_float_configure(tr, &recipe);
    if (st == EC2T_OK && access(checkpoint, R_OK) == 0)
        st = ec2t_trainer_load_checkpoint(tr, checkpoint, 0);
    if (st == EC2T_OK)
        st = ex_train_epochs(tr, *net, d->train, d->val, recipe.epochs, "val", checkpoint, NULL,
                             NULL, &res);
    ec2t_trainer_free(tr);
    return st == EC2T_OK ? 0 : fail(d, "small network", st);
}

/* Stage 2: the super-network, which computes what the small one does. */
static int
scale(demo *d, ec2t_net **net, const char *checkpoint)
{
    ec2t_scaler *sc = NULL;
    ec2t_status st;
    (void)checkpoint; /* scaling takes no time */
    /* the default EC2T_SCALE_NOISE breaks the replicated channels' symmetry */
    if ((st = ec2t_scaler_new(d->ctx, 0, &sc)) == EC2T_OK &&
        (st = ec2t_scaler_set_double(sc, EC2T_SCALE_PHI, d->o.phi)) == EC2T_OK &&
        (st = ec2t_scaler_set_double(sc, EC2T_SCALE_DEPTH, d->o.depth)) == EC2T_OK &&
        (st = ec2t_scaler_set_double(sc, EC2T_SCALE_WIDTH, d->o.width)) == EC2T_OK &&
        (st = ec2t_scaler_set_int(sc, EC2T_SCALE_SEED, d->o.seed)) == EC2T_OK)
        st = ec2t_scaler_apply(sc, d->small, 0, net);
    ec2t_scaler_free(sc);
    if (st != EC2T_OK)
        return fail(d, "scaling", st);
    printf("%lld -> %lld parameters, %lld -> %lld multiply-adds per image\n",
           (long long)ec2t_net_trainable_count(d->small), (long long)ec2t_net_trainable_count(*net),
           (long long)ec2t_net_macs(d->small), (long long)ec2t_net_macs(*net));
    return 0;
}

/* Stage 3: EC2T on a copy of the super-network, which also teaches it. */
static int
ternarize(demo *d, ec2t_net **net, const char *checkpoint)
{
    ex_tern_recipe recipe;
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_status st;
    ex_tern_defaults(&recipe);
    recipe.target_sparsity = d->o.target;
    recipe.seed = d->o.seed;
    recipe.augment = d->o.tern_augment;
    recipe.teachers[0] = d->super;
    recipe.distill = d->o.distill;
    if ((st = ec2t_net_clone(d->super, net)) == EC2T_OK &&
        (st = ex_tern_setup(*net, &recipe, &tz, &tr)) == EC2T_OK)
        st = ex_tern_run(tz, tr, *net, d->train, d->val, d->o.epochs_a, d->o.epochs_b, 1,
                         checkpoint);
    if (st == EC2T_OK) {
        printf("per layer:\n");
        ex_tern_print_layers(tz, *net);
    }
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    return st == EC2T_OK ? 0 : fail(d, "EC2T", st);
}

/* Stage 4: the ternary row comes from the saved .ec2t file, loaded back:
 * what a user deploys. */
static int
deploy(demo *d)
{
    ec2t_engine *e = NULL, *loaded = NULL;
    ec2t_status st;
    printf("\n[4/5 %5.0fs] compiling, saving and running the .ec2t file: %s\n", ex_now() - d->t0,
           d->path[EC2T]);
    if ((st = ec2t_engine_compile(d->tern, 0, &e)) == EC2T_OK &&
        (st = ec2t_engine_set_meta(e, "source", "ec2t-demo")) == EC2T_OK)
        st = ec2t_engine_save(e, d->path[EC2T], 0);
    ec2t_engine_free(e);
    if (st == EC2T_OK && (st = ec2t_engine_load(d->ctx, d->path[EC2T], 0, &loaded)) == EC2T_OK)
        st = demo_measure_engine(loaded, d->path[EC2T], d->tern, d->test, &d->rows[2], &d->layers,
                                 &d->n_layers);
    ec2t_engine_free(loaded);
    return st == EC2T_OK ? 0 : fail(d, d->path[EC2T], st);
}

/* Stage 5: the float rows, then the table, the chart and the key lines. */
static int
report(demo *d)
{
    long long n_test = (long long)ec2t_dataset_size(d->test);
    ec2t_status st;
    printf("\n[5/5 %5.0fs] measuring the float models on the test set\n", ex_now() - d->t0);
    if ((st = demo_measure_float(d->small, d->test, d->path[SMALL], &d->rows[0])) != EC2T_OK ||
        (st = demo_measure_float(d->super, d->test, d->path[SUPER], &d->rows[1])) != EC2T_OK)
        return fail(d, "measuring", st);
    demo_print_table(stdout, d->rows, n_test);
    if (demo_write_svg(d->path[SVG], d->rows, 3, d->layers, d->n_layers, d->o.target) != 0)
        return ex_fail(PROG, "%s: cannot write the chart", d->path[SVG]);
    demo_print_keys(stdout, d->rows, n_test);
    printf("model: %s\nchart: %s\nwall_seconds: %.1f\n", d->path[EC2T], d->path[SVG],
           ex_now() - d->t0);
    return 0;
}

/* The stages in order: 0, or the exit code of the first that failed. */
static int
run(demo *d)
{
    const options *s = &d->o;
    char err[1024];
    ec2t_status st;
    int rc;
    if (ex_load_data(d->ctx, s->data, 1, &d->train, &d->test, err, sizeof err) ||
        ex_split_train(d->ctx, &d->train, s->val, s->limit, &d->val, err, sizeof err))
        return ex_fail(PROG, "%s", err);
    printf("%s: %lld training, %lld validation and %lld test images, %lld thread(s)\n", s->data,
           (long long)ec2t_dataset_size(d->train), (long long)ec2t_dataset_size(d->val),
           (long long)ec2t_dataset_size(d->test), s->threads);
    if (s->base) {
        printf("\n[1/5 %5.0fs] small float network: %s\n", ex_now() - d->t0, s->base);
        if ((st = ec2t_net_load(d->ctx, s->base, 0, &d->small)) != EC2T_OK)
            return fail(d, s->base, st);
        snprintf(d->path[SMALL], sizeof d->path[SMALL], "%s", s->base);
    } else {
        printf("\n[1/5 %5.0fs] training the small float network: %s\n", ex_now() - d->t0, s->model);
        if ((rc = make_or_reuse(d, SMALL, SMALL_CKPT, train_small, &d->small)) != 0)
            return rc;
    }
    printf("\n[2/5 %5.0fs] scaling into a super-network: phi %.2f (d %.2g, w %.2g)\n",
           ex_now() - d->t0, s->phi, s->depth, s->width);
    if ((rc = make_or_reuse(d, SUPER, -1, scale, &d->super)) != 0)
        return rc;
    printf("\n[3/5 %5.0fs] EC2T ternarization (phases A and B): %lld + %lld epochs, steering to "
           "%.0f%% zeros, %s%s\n", ex_now() - d->t0, s->epochs_a, s->epochs_b, 100 * s->target,
           s->distill > 0 ? "the super-network teaching" : "no teacher",
           s->tern_augment ? "" : ", no augmentation");
    if ((rc = make_or_reuse(d, TERN, TERN_CKPT, ternarize, &d->tern)) != 0)
        return rc;
    return (rc = deploy(d)) != 0 ? rc : report(d);
}

int
main(int argc, char **argv)
{
    demo d = {.rows = {{.name = "small float network"}, {.name = "float super-network"},
                       {.name = "ternary super-network"}}};
    int rc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((rc = parse(argc, argv, &d.o)) != 0)
        return rc;
    if (mkdir(d.o.out, 0777) != 0 && access(d.o.out, W_OK) != 0)
        return ex_fail(PROG, "%s: cannot create or write this directory", d.o.out);
    for (int i = 0; i < N_FILES; i++)
        snprintf(d.path[i], sizeof d.path[i], "%s/%s", d.o.out, FILES[i]);
    if (ec2t_context_new(&d.ctx) != EC2T_OK)
        return ex_fail(PROG, "out of memory");
    ec2t_context_set_log_handler(d.ctx, ex_log_stderr, (void *)PROG);
    ec2t_context_set_int(d.ctx, EC2T_CTX_THREADS, d.o.threads);
    ec2t_context_set_int(d.ctx, EC2T_CTX_SEED, d.o.seed);
    d.t0 = ex_now();
    printf("%s: the EC2T pipeline (%s setting) into %s/\n", PROG, d.o.quick ? "quick" : "full",
           d.o.out);
    rc = run(&d);
    ec2t_net_free(d.small);
    ec2t_net_free(d.super);
    ec2t_net_free(d.tern);
    ec2t_dataset_free(d.train);
    ec2t_dataset_free(d.val);
    ec2t_dataset_free(d.test);
    free(d.layers);
    ec2t_context_free(d.ctx);
    return rc;
}
