/* SPDX-License-Identifier: MIT */
/* ec2t-demo: the whole EC2T pipeline on Fashion-MNIST. Train a small float
 * network, scale it into a super-network (function-preserving), ternarize
 * that with EC2T, compile and save the .ec2t file, load it in the engine and
 * compare the three models side by side. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo-chart.h"
#include "ex-engine.h"
#include "ex-train.h"

static const char *const PROG = "ec2t-demo";

/* The two settings; every field can be overridden on the command line. */
typedef struct setting {
    const char *model;
    long long epochs, limit, val, finetune, epochs_a, epochs_b;
    double phi, depth, width; /* the scaler's coefficient and base multipliers */
    double finetune_lr, target, distill;
    int cosine;       /* EC2T's rates follow a cosine over phases A and B (else constant) */
    long long cutout; /* side of the Cutout square in every stage's training images, 0 off */
    int ensemble;     /* EC2T's teacher: the super-network (0), or it and the small network (1) */
    int mirror;       /* the teachers also see each batch mirrored */
    int tern_augment; /* EC2T's batches get random crops and flips */
} setting;

static const char *const TEACHERS[2] = {"super", "both"};

/* full: a wider super-network only (no added blocks, which EC2T left near the
 * identity), 81 % zeros, no augmentation during EC2T; measured 94.74 % against
 * the small network's 94.56 % in 49,570 bytes (doc/PERFORMANCE.md). quick keeps
 * the earlier shape, the one its recorded 5-minute run measured. */
static const setting FULL = {"resnet20", 40, 0, 5000, 0, 8, 3, 0.75, 1.0, 1.4, 0.02, 0.81, 0.5, 0, 0, 0, 0, 0};
static const setting QUICK = {"resnet20", 3, 12000, 1000, 0, 2, 1, 0.5, 1.4, 1.2, 0.02, 0.92, 0, 0, 0, 0, 0, 1};

static void
usage(void)
{
    printf("usage: ec2t-demo [options]\n"
           "Run the whole EC2T pipeline on Fashion-MNIST: train a small float network,\n"
           "scale it into a super-network, ternarize it with EC2T, save and run the\n"
           "deployable .ec2t file, and compare the three models.\n\n"
           "  --quick               a run of about 5 minutes on 2 cores (small data, few epochs)\n"
           "  --out DIR             where the models, the .ec2t file and report.svg go\n"
           "                        (default ec2t-demo-out)\n"
           "  --data SPEC           fashion-mnist[:DIR] (default, DIR %s)\n"
           "  --resume              reuse the stage files already in DIR, and go on with an\n"
           "                        interrupted training (small network, fine-tuning or\n"
           "                        EC2T) from its last finished epoch\n"
           "  --base MODEL          start from this trained float model instead of training one\n"
           "  --model NAME          small network: resnet20 (default) or resnetN, N = 6k+2\n"
           "  --epochs N            epochs of the small network (full %lld, quick %lld)\n"
           "  --limit N             training images (full: all but the validation ones; quick %lld)\n"
           "  --val N               images held out of the training set for validation (%lld, %lld)\n"
           "  --phi F               scaling coefficient, work grows about 2^F\n"
           "                        (full %.2g, quick %.2g)\n"
           "  --depth D, --width W  base multipliers of depth and width: the super-network has\n"
           "                        D^F times the blocks and W^F times the channels (full %.2g\n"
           "                        and %.2g, quick %.2g and %.2g; D W^2 near 2 keeps the 2^F rule)\n"
           "  --finetune N          float epochs of the super-network (full %lld, quick %lld)\n"
           "  --finetune-lr X       their starting learning rate, SGD with a cosine decay\n"
           "                        (default %.2g)\n"
           "  --epochs-a N          EC2T phase-A epochs (full %lld, quick %lld)\n"
           "  --epochs-b N          EC2T phase-B epochs (full %lld, quick %lld)\n"
           "  --target-sparsity S   zeros EC2T steers to (full %.2f, quick %.2f)\n"
           "  --distill A           weight of the teacher's term during EC2T (distillation at\n"
           "                        temperature 4; full %.2g, quick %.2g; 0 is off)\n"
           "  --teacher WHO         super: the float super-network teaches; both: it and the\n"
           "                        small network, the mean of their softened outputs (an\n"
           "                        ensemble; best after --finetune moved the super-network\n"
           "                        away from the small one; experimental) (full %s, quick %s)\n"
           "  --teacher-mirror, --no-teacher-mirror  the teachers also see each batch\n"
           "                        mirrored left to right, their targets are the mean over\n"
           "                        both views (experimental) (full %s, quick %s)\n"
           "  --ec2t-augment, --no-ec2t-augment  random crops and flips of EC2T's training\n"
           "                        images (the float stages always have them) (full %s, quick %s)\n"
           "  --schedule S          EC2T's learning rates: constant (the reference's way) or\n"
           "                        cosine, one decay over phases A and B (full %s, quick %s)\n"
           "  --cutout N            Cutout: a square of N x N pixels of every training image\n"
           "                        of every stage set to the mean, centred on a random pixel\n"
           "                        (default %lld, 0 is off)\n"
           "  --seed S              seed (default 1)\n"
           "  --threads T           threads (default: all cores)\n"
           "  -h, --help            this text\n\n"
           "Ends with 'key: value' lines for the three models (small_, super_, ternary_\n"
           "accuracy, file_bytes, ...), sparsity, compression, accuracy_gain (ternary\n"
           "against small, in points) with accuracy_stderr (one standard error of an\n"
           "accuracy on this test set), paired_only_small and paired_only_ternary (test\n"
           "images only that model gets right) with paired_p (exact sign test of the two),\n"
           "and the file names.\n",
           EX_DEFAULT_FASHION_DIR, FULL.epochs, QUICK.epochs, QUICK.limit, FULL.val, QUICK.val,
           FULL.phi, QUICK.phi, FULL.depth, FULL.width, QUICK.depth, QUICK.width, FULL.finetune, QUICK.finetune, FULL.finetune_lr, FULL.epochs_a,
           QUICK.epochs_a, FULL.epochs_b, QUICK.epochs_b, FULL.target, QUICK.target, FULL.distill,
           QUICK.distill, TEACHERS[FULL.ensemble], TEACHERS[QUICK.ensemble],
           FULL.mirror ? "on" : "off", QUICK.mirror ? "on" : "off", FULL.tern_augment ? "on" : "off",
           QUICK.tern_augment ? "on" : "off",
           ex_tern_schedules[FULL.cosine], ex_tern_schedules[QUICK.cosine], FULL.cutout);
}

typedef struct options {
    const char *out, *data, *base;
    setting s;
    long long seed, threads;
    int quick, resume;
} options;

static int
parse(int argc, char **argv, options *o)
{
    /* -1: the setting's default, resolved once --quick is known */
    setting given = {NULL, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    *o = (options){.out = "ec2t-demo-out", .data = "fashion-mnist", .seed = 1, .threads = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
            continue;
        } else if (!strcmp(a, "--resume")) {
            o->resume = 1;
            continue;
        } else if (!strcmp(a, "--teacher-mirror") || !strcmp(a, "--no-teacher-mirror")) {
            given.mirror = a[2] == 't';
            continue;
        } else if (!strcmp(a, "--ec2t-augment") || !strcmp(a, "--no-ec2t-augment")) {
            given.tern_augment = a[2] == 'e';
            continue;
        } else if (a[0] != '-') {
            return ex_usage_error(PROG, "unexpected argument '%s'", a);
        } else if (!v) {
            return ex_usage_error(PROG, "%s needs a value", a);
        } else if (!strcmp(a, "--out")) {
            o->out = v;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--base")) {
            o->base = v;
        } else if (!strcmp(a, "--model")) {
            given.model = v;
        } else if (!strcmp(a, "--epochs")) {
            bad = ex_parse_int(v, 1, 100000, &given.epochs);
        } else if (!strcmp(a, "--limit")) {
            bad = ex_parse_int(v, 1, 1LL << 40, &given.limit);
        } else if (!strcmp(a, "--val")) {
            bad = ex_parse_int(v, 1, 1LL << 40, &given.val);
        } else if (!strcmp(a, "--phi")) {
            bad = ex_parse_real(v, 0, 8, &given.phi);
        } else if (!strcmp(a, "--depth")) {
            bad = ex_parse_real(v, 1, 8, &given.depth);
        } else if (!strcmp(a, "--width")) {
            bad = ex_parse_real(v, 1, 8, &given.width);
        } else if (!strcmp(a, "--finetune")) {
            bad = ex_parse_int(v, 0, 100000, &given.finetune);
        } else if (!strcmp(a, "--finetune-lr")) {
            bad = ex_parse_real(v, 1e-9, 10, &given.finetune_lr);
        } else if (!strcmp(a, "--epochs-a")) {
            bad = ex_parse_int(v, 0, 100000, &given.epochs_a);
        } else if (!strcmp(a, "--epochs-b")) {
            bad = ex_parse_int(v, 0, 100000, &given.epochs_b);
        } else if (!strcmp(a, "--target-sparsity")) {
            bad = ex_parse_real(v, 0.01, 0.999, &given.target);
        } else if (!strcmp(a, "--distill")) {
            bad = ex_parse_real(v, 0, 1, &given.distill);
        } else if (!strcmp(a, "--teacher")) {
            bad = ex_parse_name(v, TEACHERS, 2, &given.ensemble);
        } else if (!strcmp(a, "--cutout")) {
            bad = ex_parse_int(v, 0, 64, &given.cutout);
        } else if (!strcmp(a, "--schedule")) {
            bad = ex_parse_tern_schedule(v, &given.cosine);
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
    o->s = o->quick ? QUICK : FULL;
#define TAKE(field, unset) if (given.field != (unset)) o->s.field = given.field
    TAKE(model, NULL);
    TAKE(epochs, -1);
    TAKE(limit, -1);
    TAKE(val, -1);
    TAKE(phi, -1);
    TAKE(depth, -1);
    TAKE(width, -1);
    TAKE(finetune, -1);
    TAKE(finetune_lr, -1);
    TAKE(epochs_a, -1);
    TAKE(epochs_b, -1);
    TAKE(target, -1);
    TAKE(distill, -1);
    TAKE(cosine, -1);
    TAKE(cutout, -1);
    TAKE(ensemble, -1);
    TAKE(mirror, -1);
    TAKE(tern_augment, -1);
#undef TAKE
    if (o->s.epochs_a + o->s.epochs_b < 1)
        return ex_usage_error(PROG, "EC2T needs at least one epoch (--epochs-a, --epochs-b)");
    if (o->threads < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n > 0 ? n : 1;
    }
    return 0;
}

/* Everything the run holds, freed in one place. */
typedef struct demo {
    options o;
    ec2t_context *ctx;
    ec2t_dataset *train, *val, *test;
    ec2t_net *small, *super, *tern;
    char path_small[4096], path_super[4096], path_tern[4096], path_ec2t[4096], path_svg[4096];
    char path_ckpt[4096];       /* the EC2T stage after its last finished epoch */
    char path_small_ckpt[4096]; /* the same for the small network's training */
    char path_super_ckpt[4096]; /* and for the super-network's float fine-tuning */
    demo_row rows[3];
    demo_layer *layers;
    int n_layers;
    long long finetune_pass; /* first fine-tuning epoch past the small network, 0 if none */
    uint8_t *right[2];       /* per test image, 1 where the small / the ternary engine is right */
    double t0;
} demo;

static void
demo_free(demo *d)
{
    ec2t_net_free(d->small);
    ec2t_net_free(d->super);
    ec2t_net_free(d->tern);
    ec2t_dataset_free(d->train);
    ec2t_dataset_free(d->val);
    ec2t_dataset_free(d->test);
    free(d->layers);
    free(d->right[0]);
    free(d->right[1]);
    ec2t_context_free(d->ctx);
}

static int
fail(demo *d, const char *what, ec2t_status st)
{
    return ex_fail_status(PROG, d->ctx, what, st);
}

static void
stage(demo *d, int n, const char *fmt, const char *detail)
{
    printf("\n[%d/5 %5.0fs] %s%s\n", n, ex_now() - d->t0, fmt, detail ? detail : "");
}

/* Reuse a stage's file with --resume: 1 if loaded, 0 to compute, -1 on error. */
static int
reuse(demo *d, const char *path, ec2t_net **net)
{
    ec2t_status st;
    if (!d->o.resume || access(path, R_OK) != 0)
        return 0;
    if ((st = ec2t_net_load(d->ctx, path, 0, net)) != EC2T_OK)
        return fail(d, path, st), -1;
    printf("reusing %s\n", path);
    return 1;
}

/* An interrupted stage goes on from its checkpoint with --resume, else starts
 * afresh: 1 if there is a checkpoint to load. */
static int
resume_from(demo *d, const char *checkpoint)
{
    if (!d->o.resume) {
        remove(checkpoint);
        return 0;
    }
    if (access(checkpoint, R_OK) != 0)
        return 0;
    printf("going on from %s\n", checkpoint);
    return 1;
}

static int
load_data(demo *d)
{
    char err[1024];
    if (ex_load_data(d->ctx, d->o.data, 1, &d->train, &d->test, err, sizeof err) ||
        ex_split_train(d->ctx, &d->train, d->o.s.val, d->o.s.limit, &d->val, err, sizeof err))
        return ex_fail(PROG, "%s", err);
    if (ec2t_dataset_set_int(d->train, EC2T_DATA_CUTOUT, d->o.s.cutout) != EC2T_OK)
        return ex_fail(PROG, "%s", ec2t_context_errmsg(d->ctx));
    for (int i = 0; i < 2; i++)
        if (!(d->right[i] = calloc((size_t)ec2t_dataset_size(d->test) + 1, 1)))
            return ex_fail(PROG, "out of memory");
    printf("%s: %lld training, %lld validation and %lld test images, %lld thread(s)\n",
           d->o.data, (long long)ec2t_dataset_size(d->train), (long long)ec2t_dataset_size(d->val),
           (long long)ec2t_dataset_size(d->test), d->o.threads);
    if (d->o.s.cutout > 0)
        printf("training images: random crop, flip and a %lld x %lld Cutout square\n",
               d->o.s.cutout, d->o.s.cutout);
    return 0;
}

/* A float training that goes on from its checkpoint with --resume and
 * writes it after every epoch, measured on the validation images. */
static ec2t_status
train_resumable(demo *d, ec2t_trainer *tr, ec2t_net *net, long long epochs, const char *checkpoint,
                ex_epoch_fn fn, void *user, ex_train_result *res)
{
    ec2t_status st = EC2T_OK;
    if (resume_from(d, checkpoint))
        st = ec2t_trainer_load_checkpoint(tr, checkpoint, 0);
    if (st == EC2T_OK)
        st = ex_train_epochs(tr, net, d->train, d->val, epochs, "val", checkpoint, fn, user, res);
    return st;
}

static int
train_small(demo *d)
{
    ex_float_recipe recipe = {.lr = 0.1, .wd = 5e-4, .schedule = EC2T_SCHED_COSINE,
                              .epochs = d->o.s.epochs, .batch = 128, .seed = d->o.seed, .augment = 1};
    ex_train_result res;
    ec2t_trainer *tr = NULL;
    int32_t c, h, w;
    ec2t_status st;
    int r;
    if (d->o.base) {
        stage(d, 1, "small float network: ", d->o.base);
        if ((st = ec2t_net_load(d->ctx, d->o.base, 0, &d->small)) != EC2T_OK)
            return fail(d, d->o.base, st);
        snprintf(d->path_small, sizeof d->path_small, "%s", d->o.base);
        return 0;
    }
    stage(d, 1, "training the small float network: ", d->o.s.model);
    if ((r = reuse(d, d->path_small, &d->small)) != 0)
        return r < 0;
    ec2t_dataset_shape(d->train, &c, &h, &w);
    st = ex_build_model(d->ctx, d->o.s.model, c, h, w, ec2t_dataset_classes(d->train), &d->small);
    if (st == EC2T_E_UNSUPPORTED)
        return ex_usage_error(PROG, "unknown --model '%s' (resnet20 or resnetN, N = 6k+2)", d->o.s.model);
    if (st == EC2T_OK)
        st = ec2t_net_init(d->small, (uint64_t)d->o.seed);
    if (st == EC2T_OK)
        st = ec2t_trainer_new(d->small, EC2T_OPT_SGD, 0, &tr);
    if (st == EC2T_OK)
        st = ex_float_configure(tr, &recipe);
    if (st == EC2T_OK)
        st = train_resumable(d, tr, d->small, recipe.epochs, d->path_small_ckpt, NULL, NULL, &res);
    ec2t_trainer_free(tr);
    if (st == EC2T_OK)
        st = ec2t_net_save(d->small, d->path_small, 0);
    if (st == EC2T_OK)
        remove(d->path_small_ckpt); /* the stage's file holds it all now */
    return st == EC2T_OK ? 0 : fail(d, "small network", st);
}

static int
on_finetune_epoch(void *user, long long epoch, double acc)
{
    double *target = user;
    if (acc > target[0] && target[1] == 0)
        target[1] = (double)epoch;
    return 0;
}

/* Whether the fine-tuned super-network passed the small network on the validation set. */
static void
report_finetune(demo *d, const double watch[2], long long resumed_at)
{
    char counted[80] = "";
    d->finetune_pass = (long long)watch[1];
    if (resumed_at > 0)
        snprintf(counted, sizeof counted, " (counted from epoch %lld, where --resume went on)",
                 resumed_at + 1);
    if (d->finetune_pass > 0)
        printf("small network: %.2f%% on validation; the super-network passed it after %lld "
               "epoch(s)%s\n", 100 * watch[0], d->finetune_pass, counted);
    else
        printf("small network: %.2f%% on validation; the super-network did not pass it in %lld "
               "epoch(s)%s%s\n", 100 * watch[0], d->o.s.finetune, counted,
               d->o.base ? " (a --base model may have trained on the validation images)" : "");
}

static int
scale(demo *d)
{
    ec2t_scaler *sc = NULL;
    ec2t_trainer *tr = NULL;
    ex_train_result res;
    double watch[2] = {0, 0}; /* the small network's validation accuracy, the epoch that passed it */
    char detail[96];
    ec2t_status st;
    int r;
    snprintf(detail, sizeof detail, "phi %.2f (d %.2g, w %.2g), then %lld float epoch(s) from lr %g",
             d->o.s.phi, d->o.s.depth, d->o.s.width, d->o.s.finetune, d->o.s.finetune_lr);
    stage(d, 2, "scaling into a super-network: ", detail);
    if ((r = reuse(d, d->path_super, &d->super)) != 0)
        return r < 0;
    st = ec2t_scaler_new(d->ctx, 0, &sc);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_PHI, d->o.s.phi);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_DEPTH, d->o.s.depth);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_WIDTH, d->o.s.width);
    /* the default EC2T_SCALE_NOISE breaks the replicated channels' symmetry */
    if (st == EC2T_OK)
        st = ec2t_scaler_set_int(sc, EC2T_SCALE_SEED, d->o.seed);
    if (st == EC2T_OK)
        st = ec2t_scaler_apply(sc, d->small, 0, &d->super);
    ec2t_scaler_free(sc);
    if (st != EC2T_OK)
        return fail(d, "scaling", st);
    printf("%lld -> %lld parameters, %lld -> %lld multiply-adds per image\n",
           (long long)ec2t_net_trainable_count(d->small), (long long)ec2t_net_trainable_count(d->super),
           (long long)ec2t_net_macs(d->small), (long long)ec2t_net_macs(d->super));
    if (d->o.s.finetune > 0) {
        ex_float_recipe recipe = {.lr = d->o.s.finetune_lr, .wd = 5e-4,
                                  .schedule = EC2T_SCHED_COSINE, .epochs = d->o.s.finetune,
                                  .batch = 128, .seed = d->o.seed, .augment = 1};
        st = ec2t_net_evaluate(d->small, d->val, 256, 0, NULL, &watch[0]);
        if (st == EC2T_OK)
            st = ec2t_trainer_new(d->super, EC2T_OPT_SGD, 0, &tr);
        if (st == EC2T_OK)
            st = ex_float_configure(tr, &recipe);
        /* the scaling above is deterministic, so the checkpoint fits the network it made */
        if (st == EC2T_OK)
            st = train_resumable(d, tr, d->super, recipe.epochs, d->path_super_ckpt,
                                 on_finetune_epoch, watch, &res);
        ec2t_trainer_free(tr);
        if (st == EC2T_OK)
            report_finetune(d, watch, res.first_epoch);
    }
    if (st == EC2T_OK)
        st = ec2t_net_save(d->super, d->path_super, 0);
    if (st == EC2T_OK)
        remove(d->path_super_ckpt); /* the stage's file holds it all now */
    return st == EC2T_OK ? 0 : fail(d, "super-network", st);
}

static int
ternarize(demo *d)
{
    ex_tern_recipe recipe;
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr = NULL;
    char detail[160];
    ec2t_status st;
    int r;
    snprintf(detail, sizeof detail, "%lld + %lld epochs, steering to %.0f%% zeros, %s rates, teacher %s%s%s",
             d->o.s.epochs_a, d->o.s.epochs_b, 100 * d->o.s.target, ex_tern_schedules[d->o.s.cosine],
             d->o.s.distill > 0 ? TEACHERS[d->o.s.ensemble] : "none",
             d->o.s.distill > 0 && d->o.s.mirror ? " (mirrored too)" : "",
             d->o.s.tern_augment ? "" : ", no augmentation");
    stage(d, 3, "EC2T ternarization (phases A and B): ", detail);
    if ((r = reuse(d, d->path_tern, &d->tern)) != 0)
        return r < 0;
    if ((st = ec2t_net_clone(d->super, &d->tern)) != EC2T_OK)
        return fail(d, "clone", st);
    ex_tern_defaults(&recipe);
    recipe.target_sparsity = d->o.s.target;
    recipe.seed = d->o.seed;
    recipe.augment = d->o.s.tern_augment;
    recipe.teachers[0] = d->super;
    recipe.teachers[1] = d->o.s.ensemble ? d->small : NULL;
    recipe.teacher_mirror = d->o.s.mirror;
    recipe.distill = d->o.s.distill;
    recipe.anneal_epochs = d->o.s.cosine ? d->o.s.epochs_a + d->o.s.epochs_b : 0;
    resume_from(d, d->path_ckpt); /* ex_tern_run loads it */
    st = ex_tern_setup(d->tern, &recipe, &tz, &tr);
    if (st == EC2T_OK)
        st = ex_tern_run(tz, tr, d->tern, d->train, d->val, d->o.s.epochs_a, d->o.s.epochs_b, 1,
                         d->path_ckpt);
    if (st == EC2T_OK) {
        printf("per layer:\n");
        ex_tern_print_layers(tz, d->tern);
    }
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    if (st == EC2T_OK)
        st = ec2t_net_save(d->tern, d->path_tern, 0);
    if (st == EC2T_OK)
        remove(d->path_ckpt); /* the stage's file holds it all now */
    return st == EC2T_OK ? 0 : fail(d, "EC2T", st);
}

/* Counts of a network from ec2t_report; the per-layer sparsity if asked. */
static ec2t_status
count(demo *d, const ec2t_net *net, demo_row *row, int layers)
{
    ec2t_report *rep = NULL;
    double v, weights = 0, zeros = 0;
    ec2t_status st = ec2t_report_new(net, 0, &rep);
    int32_t n;
    if (st != EC2T_OK)
        return st;
    ec2t_report_get(rep, -1, EC2T_REPORT_ADDS, &v);
    row->adds = (long long)v;
    ec2t_report_get(rep, -1, EC2T_REPORT_MULTS, &v);
    row->mults = (long long)v;
    row->params = (long long)ec2t_net_trainable_count(net);
    n = ec2t_report_layer_count(rep);
    if (layers && !(d->layers = calloc((size_t)(n > 0 ? n : 1), sizeof *d->layers)))
        st = EC2T_E_NOMEM;
    for (int32_t i = 0; st == EC2T_OK && i < n; i++) {
        double id, w, z, t;
        ec2t_layer *l = NULL;
        ec2t_report_get(rep, i, EC2T_REPORT_LAYER_ID, &id);
        ec2t_report_get(rep, i, EC2T_REPORT_WEIGHTS, &w);
        ec2t_report_get(rep, i, EC2T_REPORT_ZEROS, &z);
        ec2t_report_get(rep, i, EC2T_REPORT_TERNARY, &t);
        if (t > 0)
            weights += w, zeros += z;
        if (layers) {
            demo_layer *dl = &d->layers[d->n_layers++];
            ec2t_net_layer((ec2t_net *)net, (int32_t)id, &l);
            snprintf(dl->name, sizeof dl->name, "%s", l ? ec2t_layer_name(l) : "?");
            dl->sparsity = w > 0 ? z / w : 0;
            dl->ternary = t > 0;
        }
    }
    row->sparsity = weights > 0 ? zeros / weights : -1;
    ec2t_report_free(rep);
    return st;
}

/* Engine latency of batch 1, in milliseconds. */
static ec2t_status
latency(ec2t_engine *e, double *ms)
{
    ex_runner r;
    float *x = NULL;
    ec2t_status st = ex_runner_init(&r, e, 1);
    if (st == EC2T_OK && !(x = ex_bench_inputs(r.in_size)))
        st = EC2T_E_NOMEM;
    if (st == EC2T_OK)
        *ms = 1e3 * ex_runner_latency(&r, x, 1);
    free(x);
    ex_runner_free(&r);
    return st;
}

/* A float model's row: its file, its accuracy in the library, its engine
 * latency; and, if `right` is not NULL, which test images its engine gets right. */
static ec2t_status
float_row(demo *d, ec2t_net *net, const char *name, const char *path, demo_row *row,
          uint8_t *right)
{
    ec2t_engine *e = NULL;
    ex_runner r = {0};
    double engine_accuracy;
    ec2t_status st = count(d, net, row, 0);
    row->name = name;
    row->file_bytes = ex_file_size(path);
    row->sparsity = -1;
    if (st == EC2T_OK)
        st = ec2t_net_evaluate(net, d->test, 256, 0, NULL, &row->accuracy);
    if (st == EC2T_OK)
        st = ec2t_engine_compile(net, 0, &e);
    if (st == EC2T_OK)
        st = latency(e, &row->latency_ms);
    if (st == EC2T_OK && right)
        st = ex_runner_init(&r, e, 256);
    if (st == EC2T_OK && right)
        st = ex_runner_accuracy(&r, d->test, &engine_accuracy, right);
    ex_runner_free(&r);
    ec2t_engine_free(e);
    return st;
}

/* The ternary row comes from the saved .ec2t file, loaded back: what a user deploys. */
static int
deploy(demo *d)
{
    ec2t_engine *e = NULL, *loaded = NULL;
    ex_runner r = {0};
    demo_row *row = &d->rows[2];
    ec2t_status st;
    stage(d, 4, "compiling, saving and running the .ec2t file: ", d->path_ec2t);
    st = ec2t_engine_compile(d->tern, 0, &e);
    if (st == EC2T_OK)
        st = ec2t_engine_set_meta(e, "source", "ec2t-demo");
    if (st == EC2T_OK)
        st = ec2t_engine_save(e, d->path_ec2t, 0);
    ec2t_engine_free(e);
    if (st == EC2T_OK)
        st = ec2t_engine_load(d->ctx, d->path_ec2t, 0, &loaded);
    if (st == EC2T_OK)
        st = ex_runner_init(&r, loaded, 256);
    if (st == EC2T_OK)
        st = ex_runner_accuracy(&r, d->test, &row->accuracy, d->right[1]);
    ex_runner_free(&r);
    if (st == EC2T_OK)
        st = latency(loaded, &row->latency_ms);
    ec2t_engine_free(loaded);
    if (st == EC2T_OK)
        st = count(d, d->tern, row, 1);
    row->name = "ternary super-network";
    row->file_bytes = ex_file_size(d->path_ec2t);
    return st == EC2T_OK ? 0 : fail(d, d->path_ec2t, st);
}

/* Two-sided exact sign test (McNemar's test on the discordant pairs): the
 * chance of a split at least this uneven of a + b images that only one of two
 * equally good models gets right. */
static double
sign_test_p(long long a, long long b)
{
    long long n = a + b, k = a < b ? a : b;
    double p = 0;
    for (long long i = 0; i <= k; i++)
        p += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) - (double)n * log(2.0));
    return 2 * p < 1 ? 2 * p : 1;
}

static int
report(demo *d)
{
    const demo_row *s = &d->rows[0], *t = &d->rows[2];
    /* one standard error of an accuracy measured on these test images: single
     * runs that differ by less than about twice this are not told apart */
    double n_test = (double)ec2t_dataset_size(d->test);
    double stderr_pts = 100 * sqrt(t->accuracy * (1 - t->accuracy) / n_test);
    long long only[2] = {0, 0}; /* test images only the small / only the ternary gets right */
    double paired_p;
    ec2t_status st;
    stage(d, 5, "measuring the float models on the test set", NULL);
    st = float_row(d, d->small, "small float network", d->path_small, &d->rows[0], d->right[0]);
    if (st == EC2T_OK)
        st = float_row(d, d->super, "float super-network", d->path_super, &d->rows[1], NULL);
    if (st != EC2T_OK)
        return fail(d, "measuring", st);
    for (int64_t i = 0; i < (int64_t)n_test; i++)
        if (d->right[0][i] != d->right[1][i])
            only[d->right[1][i]]++;
    paired_p = sign_test_p(only[0], only[1]);
    printf("\n");
    demo_print_table(stdout, d->rows, 3);
    printf("(test acc: on %.0f test images, one standard error about %.2f points;\n"
           " file bytes: .ec2tm model files for the float networks, the .ec2t file for the\n"
           " ternary one; zeros: share of the ternarized weights; adds and mults per image\n"
           " as ec2t_report counts them; latency: the engine, batch 1, median)\n\n",
           n_test, stderr_pts);
    printf("Paired on the same test images, the small network alone is right on %lld,\n"
           "the ternary one alone on %lld: if both were equally good, a split at least\n"
           "this uneven would come with probability %.2f (exact sign test).\n\n",
           only[0], only[1], paired_p);
    if (demo_write_svg(d->path_svg, d->rows, 3, d->layers, d->n_layers, d->o.s.target) != 0)
        return ex_fail(PROG, "%s: cannot write the chart", d->path_svg);
    for (int i = 0; i < 3; i++) {
        static const char *const key[3] = {"small", "super", "ternary"};
        const demo_row *r = &d->rows[i];
        printf("%s_accuracy: %.2f\n%s_file_bytes: %lld\n%s_params: %lld\n%s_adds: %lld\n"
               "%s_mults: %lld\n%s_latency_ms: %.4f\n",
               key[i], 100 * r->accuracy, key[i], r->file_bytes, key[i], r->params, key[i], r->adds,
               key[i], r->mults, key[i], r->latency_ms);
    }
    printf("paired_only_small: %lld\npaired_only_ternary: %lld\npaired_p: %.4f\n", only[0],
           only[1], paired_p);
    printf("sparsity: %.4f\ncompression: %.2f\naccuracy_gain: %.2f\naccuracy_stderr: %.2f\n"
           "finetune_epochs_to_pass: %lld\nmodel: %s\nchart: %s\nwall_seconds: %.1f\n",
           t->sparsity, (double)s->file_bytes / (double)t->file_bytes,
           100 * (t->accuracy - s->accuracy), stderr_pts, d->finetune_pass, d->path_ec2t,
           d->path_svg, ex_now() - d->t0);
    return 0;
}

int
main(int argc, char **argv)
{
    demo d;
    int rc;
    memset(&d, 0, sizeof d);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if ((rc = parse(argc, argv, &d.o)) != 0)
        return rc;
    if (mkdir(d.o.out, 0777) != 0 && access(d.o.out, W_OK) != 0)
        return ex_fail(PROG, "%s: cannot create or write this directory", d.o.out);
    snprintf(d.path_small, sizeof d.path_small, "%s/small.ec2tm", d.o.out);
    snprintf(d.path_super, sizeof d.path_super, "%s/super.ec2tm", d.o.out);
    snprintf(d.path_tern, sizeof d.path_tern, "%s/ternary.ec2tm", d.o.out);
    snprintf(d.path_ckpt, sizeof d.path_ckpt, "%s/ec2t.ckpt", d.o.out);
    snprintf(d.path_small_ckpt, sizeof d.path_small_ckpt, "%s/small.ckpt", d.o.out);
    snprintf(d.path_super_ckpt, sizeof d.path_super_ckpt, "%s/super.ckpt", d.o.out);
    snprintf(d.path_ec2t, sizeof d.path_ec2t, "%s/model.ec2t", d.o.out);
    snprintf(d.path_svg, sizeof d.path_svg, "%s/report.svg", d.o.out);
    if (ec2t_context_new(&d.ctx) != EC2T_OK)
        return ex_fail(PROG, "out of memory");
    ec2t_context_set_log_handler(d.ctx, ex_log_stderr, (void *)PROG);
    ec2t_context_set_int(d.ctx, EC2T_CTX_THREADS, d.o.threads);
    ec2t_context_set_int(d.ctx, EC2T_CTX_SEED, d.o.seed);
    d.t0 = ex_now();
    printf("%s: the EC2T pipeline (%s setting) into %s/\n", PROG, d.o.quick ? "quick" : "full", d.o.out);
    rc = load_data(&d);
    if (rc == 0)
        rc = train_small(&d);
    if (rc == 0)
        rc = scale(&d);
    if (rc == 0)
        rc = ternarize(&d);
    if (rc == 0)
        rc = deploy(&d);
    if (rc == 0)
        rc = report(&d);
    demo_free(&d);
    return rc;
}
