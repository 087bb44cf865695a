/* SPDX-License-Identifier: MIT */
/* Training recipes shared by the example programs (see ex-train.h). The
 * reference code's gradient sign, distillation from an ensemble and mirrored
 * teachers are experimental: used only when an option asks for them. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ex-train.h"
#ifdef EX_MPI
#include "mpi-hook.h" /* the -mpi programs: every trainer is data-parallel */
#endif

ec2t_status
ex_init_like_torch(ec2t_net *net, uint64_t seed)
{
    ec2t_status st = EC2T_OK;
    for (int32_t i = 0; i < ec2t_net_param_count(net) && st == EC2T_OK; i++) {
        const char *name;
        ec2t_tensor *t, *grad, *w = NULL;
        char weight[256];
        size_t len;
        double bound;
        if ((st = ec2t_net_param(net, i, &name, &t, &grad)) != EC2T_OK || !grad)
            continue; /* a statistic, not trained */
        len = strlen(name);
        /* a bias takes the fan-in of its layer's weight */
        if (len > 5 && strcmp(name + len - 5, ".bias") == 0 && len + 2 < sizeof weight) {
            snprintf(weight, sizeof weight, "%.*s.weight", (int)(len - 5), name);
            if (ec2t_net_find_param(net, weight, &w, NULL) != EC2T_OK)
                continue;
        } else if (ec2t_tensor_rank(t) >= 2) {
            w = t;
        } else {
            continue;
        }
        bound = 1.0 / sqrt((double)(ec2t_tensor_numel(w) / ec2t_tensor_dim(w, 0)));
        st = ec2t_tensor_init_uniform(t, (float)-bound, (float)bound,
                                      seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)));
    }
    return st;
}

ec2t_status
ex_float_configure(ec2t_trainer *tr, const ex_float_recipe *r)
{
    ec2t_status st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, r->lr);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, r->wd);
    if (st == EC2T_OK && !r->adam)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_NESTEROV, 1);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, r->batch);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SEED, r->seed);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, r->schedule);
    if (st == EC2T_OK && r->schedule == EC2T_SCHED_ONE_CYCLE)
        st = ec2t_trainer_set_double(tr, EC2T_TRAIN_WARMUP, r->warmup);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_EPOCHS, r->epochs);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_STEP_SIZE, r->epochs / 3 > 0 ? r->epochs / 3 : 1);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_AUGMENT, r->augment);
#ifdef EX_MPI
    if (st == EC2T_OK)
        st = ex_mpi_attach(tr);
#endif
    return st;
}

/* The progress bar of a trainer's steps. */
static int
on_step(void *user, const ec2t_trainer *tr)
{
    ex_progress *bar = user;
    int64_t step, steps;
    double loss, acc, ips;
    char extra[96];
    ec2t_trainer_get_int(tr, EC2T_TRAIN_STEP, &step);
    ec2t_trainer_get_int(tr, EC2T_TRAIN_STEPS_PER_EPOCH, &steps);
    ec2t_trainer_get_double(tr, EC2T_TRAIN_LOSS, &loss);
    ec2t_trainer_get_double(tr, EC2T_TRAIN_ACCURACY, &acc);
    ec2t_trainer_get_double(tr, EC2T_TRAIN_IMAGES_PER_SEC, &ips);
    snprintf(extra, sizeof extra, "loss %.4f acc %.2f%% %.0f img/s", loss, 100 * acc, ips);
    ex_progress_update(bar, step, steps, extra);
    return 0;
}

ec2t_status
ex_train_epochs(ec2t_trainer *tr, ec2t_net *net, ec2t_dataset *train, ec2t_dataset *val,
                long long epochs, const char *val_name, const char *checkpoint,
                ex_epoch_fn fn, void *user, ex_train_result *res)
{
    ex_progress bar;
    double t0 = ex_now();
    int64_t first = 0;
    ec2t_status st = ec2t_trainer_get_int(tr, EC2T_TRAIN_EPOCH, &first);
    *res = (ex_train_result){.first_epoch = first};
    ec2t_trainer_set_progress(tr, on_step, &bar);
    for (long long e = first; e < epochs && st == EC2T_OK; e++) {
        char label[64];
        snprintf(label, sizeof label, "epoch %lld/%lld", e + 1, epochs);
        ex_progress_begin(&bar, label);
        st = ec2t_trainer_epoch(tr, train, 0, &res->train_loss, &res->train_acc);
        ex_progress_end(&bar);
        if (st != EC2T_OK)
            break;
        res->images += ec2t_dataset_size(train);
        res->epochs_run++;
        st = ec2t_net_evaluate(net, val, 256, 0, &res->val_loss, &res->val_acc);
        if (st == EC2T_OK && checkpoint)
            st = ec2t_trainer_save_checkpoint(tr, checkpoint, 0);
        if (st != EC2T_OK)
            break;
        if (val_name)
            printf("epoch %3lld  train loss %.4f acc %6.2f%%  %s loss %.4f acc %6.2f%%  %6.0fs\n",
                   e + 1, res->train_loss, 100 * res->train_acc, val_name, res->val_loss,
                   100 * res->val_acc, ex_now() - t0);
        if (fn && fn(user, e + 1, res->val_acc))
            break;
    }
    ec2t_trainer_set_progress(tr, NULL, NULL);
    res->seconds = ex_now() - t0;
    return st;
}

void
ex_tern_defaults(ex_tern_recipe *r)
{
    *r = (ex_tern_recipe){.gamma = 0.15, .lr = 1e-4, .lr_shadow = 1e-4, .lr_centroids = 1e-5,
                          .init_scale = 0.3, .batch = 128, .seed = 1, .temperature = 4};
}

const char *const ex_tern_schedules[2] = {"constant", "cosine"};

int
ex_parse_tern_schedule(const char *s, int *cosine)
{
    return ex_parse_name(s, ex_tern_schedules, 2, cosine);
}

ec2t_status
ex_tern_setup(ec2t_net *net, const ex_tern_recipe *r, ec2t_ternarizer **tzp, ec2t_trainer **trp)
{
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_status st = ec2t_ternarizer_new(net, 0, &tz);
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_int(tz, EC2T_TERN_INIT,
                                     r->kmeans ? EC2T_TERN_INIT_KMEANS : EC2T_TERN_INIT_MINMAX);
    if (st == EC2T_OK && !r->kmeans)
        st = ec2t_ternarizer_set_double(tz, EC2T_TERN_INIT_SCALE, r->init_scale);
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_double(tz, EC2T_TERN_GAMMA, r->gamma);
    if (st == EC2T_OK && r->target_sparsity > 0)
        st = ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, r->target_sparsity);
    if (st == EC2T_OK && r->target_bytes > 0)
        st = ec2t_ternarizer_set_int(tz, EC2T_TERN_TARGET_BYTES, r->target_bytes);
    if (st == EC2T_OK && r->compat_sign)
        st = ec2t_ternarizer_set_int(tz, EC2T_TERN_COMPAT_TTQ_SIGN, 1);
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_SHADOW, r->lr_shadow);
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_CENTROIDS, r->lr_centroids);
    if (st == EC2T_OK)
        st = ec2t_trainer_new(net, EC2T_OPT_ADAM, 0, &tr);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, r->lr);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 5e-6);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, r->batch);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SEED, r->seed);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_AUGMENT, r->augment);
    if (st == EC2T_OK && r->anneal_epochs > 0)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_COSINE);
    if (st == EC2T_OK && r->anneal_epochs > 0)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_EPOCHS, r->anneal_epochs);
    if (st == EC2T_OK && r->teachers[0] && r->distill > 0) {
        int32_t n = 1;
        while (n < EX_MAX_TEACHERS && r->teachers[n])
            n++;
        /* one teacher is the stable API; an ensemble is experimental */
        if (n == 1)
            st = ec2t_trainer_set_teacher(tr, r->teachers[0], r->temperature, r->distill);
        else
            st = ec2t_trainer_set_teachers(tr, r->teachers, n, r->temperature, r->distill);
        if (st == EC2T_OK && r->teacher_mirror)
            st = ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 1);
    }
#ifdef EX_MPI
    if (st == EC2T_OK)
        st = ex_mpi_attach(tr);
#endif
    if (st == EC2T_OK)
        st = ec2t_ternarizer_attach(tz, tr, 0);
    if (st != EC2T_OK) {
        ec2t_trainer_free(tr);
        ec2t_ternarizer_free(tz);
        tr = NULL, tz = NULL;
    }
    *tzp = tz;
    *trp = tr;
    return st;
}

void
ex_tern_print_layers(const ec2t_ternarizer *tz, ec2t_net *net)
{
    int64_t n = 0;
    ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &n);
    printf("  %-22s %8s %7s %6s %6s %6s %8s %8s %9s\n", "layer", "weights", "zeros", "p-", "p+",
           "bits", "w_p", "w_n", "lambda");
    for (int32_t i = 0; i < n; i++) {
        double id, w, s, pn, pp, h, wp, wn, lam;
        ec2t_layer *l = NULL;
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_LAYER_ID, &id);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_WEIGHTS, &w);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_SPARSITY, &s);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_P_NEG, &pn);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_P_POS, &pp);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_ENTROPY, &h);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_W_P, &wp);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_W_N, &wn);
        ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_LAMBDA, &lam);
        ec2t_net_layer(net, (int32_t)id, &l);
        printf("  %-22s %8.0f %6.2f%% %6.3f %6.3f %6.3f %8.4f %8.4f %9.2e\n", ec2t_layer_name(l), w,
               100 * s, pn, pp, h, wp, wn, lam);
    }
}

typedef struct tern_run {
    ex_progress bar;
    ec2t_net *net;
    int quiet;
    double t0, lr; /* lr: the schedule's factor in the epoch that ran */
} tern_run;

static int
on_tern_step(void *user, const ec2t_trainer *tr)
{
    tern_run *r = user;
    ec2t_trainer_get_double(tr, EC2T_TRAIN_CURRENT_LR, &r->lr);
    return on_step(&r->bar, tr);
}

static int
on_tern_epoch(void *user, const ec2t_ternarizer *tz, int32_t phase, int32_t epoch, double acc)
{
    tern_run *r = user;
    double s, g, h;
    ex_progress_end(&r->bar);
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &s);
    ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_ENTROPY, &h);
    ec2t_ternarizer_get_double(tz, EC2T_TERN_CURRENT_GAMMA, &g);
    printf("phase %c epoch %3d  val acc %6.2f%%  sparsity %6.2f%%  %.3f bits/weight  gamma %.4f  "
           "lr x%.3f  %6.0fs\n",
           phase == 1 ? 'A' : 'B', (int)epoch, 100 * acc, 100 * s, h, g, r->lr, ex_now() - r->t0);
    if (!r->quiet)
        ex_tern_print_layers(tz, r->net);
    ex_progress_begin(&r->bar, phase == 1 ? "phase A" : "phase B");
    return 0;
}

ec2t_status
ex_tern_run(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_net *net, ec2t_dataset *train,
            ec2t_dataset *val, long long epochs_a, long long epochs_b, int quiet,
            const char *checkpoint)
{
    tern_run r = {.net = net, .quiet = quiet, .t0 = ex_now()};
    ec2t_status st;
    ec2t_trainer_set_progress(tr, on_tern_step, &r);
    ec2t_ternarizer_set_progress(tz, on_tern_epoch, &r);
    ex_progress_begin(&r.bar, epochs_a > 0 ? "phase A" : "phase B");
    if (checkpoint)
        st = ec2t_ternarizer_train_checkpointed(tz, tr, train, val, (int32_t)epochs_a,
                                                (int32_t)epochs_b, checkpoint, 0);
    else
        st = ec2t_ternarizer_train(tz, tr, train, val, (int32_t)epochs_a, (int32_t)epochs_b, 0);
    ex_progress_end(&r.bar);
    ec2t_trainer_set_progress(tr, NULL, NULL);
    ec2t_ternarizer_set_progress(tz, NULL, NULL);
    return st;
}
