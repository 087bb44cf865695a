/* SPDX-License-Identifier: MIT */
/* The EC2T schedule (phase A, best epoch, phase B) and the steering of gamma
 * towards a target sparsity or file size. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ternarizer-private.h"

/* The target modes solve for gamma: the assignment follows gamma within one
 * step, so the gamma that meets the target now is found by bisection on the
 * current weights (each probe counts every weight once, about 3 % of a
 * ResNet-20 step in all) after every step. Early in phase A the target ramps
 * from where the network started, so that the weights are not forced sparse
 * before they can adapt.
 *
 * gamma stays within the method's bounds: lambda = gamma delta lambda_max,
 * and lambda_max is the lambda at which the layer's extreme weight on one
 * side moves to zero, i.e. that whole cluster empties. At gamma 1 the
 * largest layer (delta 1) reaches it; every smaller layer stays below. A
 * target that needs more is out of reach: the steering then holds gamma at
 * 1, and the run says so (ec2t__tz_target_missed). */
#define STEER_ITERS 18
#define GAMMA_MAX 1.0

/* Sparsity, or estimated bytes, of the network if gamma were `gamma`
 * (t->last must hold the gamma-independent parts, ec2t__tern_prepare). */
static double
measure_at(const ec2t_ternarizer *tz, double gamma, int bytes)
{
    int64_t zeros = 0, total = 0;
    double size = ec2t__tz_fixed_bytes(tz);
    for (int32_t i = 0; i < tz->n_layers; i++) {
        const ec2t__tlayer *t = &tz->layers[i];
        int64_t c[3];
        ec2t__tern_count_lambda(t->shadow, t->n, t->cent[0], t->cent[1],
                                gamma * t->delta * t->last.lambda_max, t->last.info, c);
        zeros += c[1];
        total += t->n;
        size += ec2t__tz_layer_bytes(t, c);
    }
    if (!bytes)
        return total ? (double)zeros / (double)total : 0;
    return size;
}

static int
meets(double value, double target, int bytes)
{
    return bytes ? value <= target : value >= target;
}

int
ec2t__tz_steer(ec2t_ternarizer *tz)
{
    int bytes = tz->target_sparsity <= 0;
    double final, target, lo = 0, hi = GAMMA_MAX;
    if (tz->target_sparsity <= 0 && tz->target_bytes <= 0)
        return 0;
    tz->steer_steps++;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        ec2t__tern_prepare(t->shadow, t->n, t->cent[0], t->cent[1], &t->last);
    }
    final = bytes ? (double)tz->target_bytes : tz->target_sparsity;
    if (tz->ramp_steps > 0 && tz->steer_steps < tz->ramp_steps)
        target = tz->ramp_start + (final - tz->ramp_start) * (double)tz->steer_steps /
                                      (double)tz->ramp_steps;
    else
        target = final;
    if (meets(measure_at(tz, lo, bytes), target, bytes)) {
        tz->cur_gamma = 0;
        return 1;
    }
    if (!meets(measure_at(tz, hi, bytes), target, bytes)) {
        tz->cur_gamma = hi; /* out of reach now: as close as the bound allows */
        return 1;
    }
    for (int it = 0; it < STEER_ITERS; it++) {
        double mid = 0.5 * (lo + hi);
        if (meets(measure_at(tz, mid, bytes), target, bytes))
            hi = mid;
        else
            lo = mid;
    }
    tz->cur_gamma = hi;
    return 1;
}

int
ec2t__tz_target_missed(const ec2t_ternarizer *tz)
{
    /* the steering's own measure and the statistics sum in the same order,
     * so a met target compares exactly; the margin only absorbs rounding */
    if (tz->target_sparsity > 0)
        return ec2t__tz_sparsity(tz) < tz->target_sparsity - 1e-12;
    if (tz->target_bytes > 0)
        return ec2t__tz_estimated_bytes(tz) > (double)tz->target_bytes * (1 + 1e-12);
    return 0;
}

/* Both targets at once have no meaning (which would win?): refused where a
 * run starts, whatever order they were set in. */
ec2t_status
ec2t__tz_check_targets(const ec2t_ternarizer *tz, const char *fn)
{
    if (tz->target_sparsity > 0 && tz->target_bytes > 0)
        return ec2t__error(tz->ctx, EC2T_E_INVAL,
                           "%s: both EC2T_TERN_TARGET_SPARSITY (%g) and EC2T_TERN_TARGET_BYTES "
                           "(%lld) are set; set one of them, the other to 0",
                           fn, tz->target_sparsity, (long long)tz->target_bytes);
    return EC2T_OK;
}

/* After phase A: a target the steering could not meet is said, not hidden. */
static void
report_target(const ec2t_ternarizer *tz)
{
    if (!ec2t__tz_target_missed(tz))
        return;
    if (tz->target_sparsity > 0)
        ec2t__log(tz->ctx, EC2T_LOG_WARN,
                  "ec2t_ternarizer_train: target sparsity %.4f is out of reach: %.4f with gamma at "
                  "its bound 1 (lambda = lambda_max in the largest layer); EC2T_TSTAT_TARGET_MISSED is 1",
                  tz->target_sparsity, ec2t__tz_sparsity(tz));
    else
        ec2t__log(tz->ctx, EC2T_LOG_WARN,
                  "ec2t_ternarizer_train: target size %lld bytes is out of reach: %.0f with gamma at "
                  "its bound 1 (lambda = lambda_max in the largest layer); EC2T_TSTAT_TARGET_MISSED is 1",
                  (long long)tz->target_bytes, ec2t__tz_estimated_bytes(tz));
}

int64_t
ec2t__tz_net_floats(const ec2t_net *net)
{
    int64_t n = 0;
    for (int32_t i = 0; i < net->n_params; i++)
        n += net->layers[net->params[i].layer]->param[net->params[i].role]->numel;
    return n;
}

int64_t
ec2t__tz_tern_floats(const ec2t_ternarizer *tz, int64_t *assigns)
{
    int64_t n = 0;
    *assigns = 0;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        n += tz->layers[i].n + 2;
        *assigns += tz->layers[i].n;
    }
    return n;
}

ec2t_status
ec2t__tz_snapshot_alloc(ec2t_ternarizer *tz, ec2t__tz_snapshot *s)
{
    int64_t assigns, tf = ec2t__tz_tern_floats(tz, &assigns);
    if (s->net)
        return EC2T_OK;
    s->net = ec2t__alloc(tz->ctx, (size_t)ec2t__tz_net_floats(tz->net) * sizeof(float), 64);
    s->tern = ec2t__alloc(tz->ctx, (size_t)tf * sizeof(float), 64);
    s->assign = ec2t__alloc(tz->ctx, (size_t)assigns, 64);
    if (!s->net || !s->tern || !s->assign) {
        ec2t__tz_snapshot_free(tz, s);
        return ec2t__nomem(tz->ctx, "best-epoch snapshot");
    }
    return EC2T_OK;
}

void
ec2t__tz_snapshot_free(ec2t_ternarizer *tz, ec2t__tz_snapshot *s)
{
    ec2t__free(tz->ctx, s->net);
    ec2t__free(tz->ctx, s->tern);
    ec2t__free(tz->ctx, s->assign);
    memset(s, 0, sizeof *s);
}

void
ec2t__tz_recount(ec2t_ternarizer *tz)
{
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        int64_t c[3] = {0, 0, 0};
        for (int64_t k = 0; k < t->n; k++)
            c[t->assign[k] + 1]++;
        memcpy(t->last.count, c, sizeof c);
    }
}

/* Copy the state into (save = 1) or out of (save = 0) the snapshot. */
static void
snapshot_copy(ec2t_ternarizer *tz, ec2t__tz_snapshot *s, int save)
{
    ec2t_net *net = tz->net;
    float *p = s->net, *q = s->tern;
    int8_t *a = s->assign;
    for (int32_t i = 0; i < net->n_params; i++) {
        ec2t_tensor *t = net->layers[net->params[i].layer]->param[net->params[i].role];
        size_t bytes = (size_t)t->numel * sizeof(float);
        memcpy(save ? (void *)p : (void *)t->data, save ? (void *)t->data : (void *)p, bytes);
        p += t->numel;
    }
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        memcpy(save ? (void *)q : (void *)t->shadow, save ? (void *)t->shadow : (void *)q,
               (size_t)t->n * sizeof(float));
        memcpy(save ? (void *)(q + t->n) : (void *)t->cent, save ? (void *)t->cent : (void *)(q + t->n),
               2 * sizeof(float));
        memcpy(save ? (void *)a : (void *)t->assign, save ? (void *)t->assign : (void *)a, (size_t)t->n);
        q += t->n + 2;
        a += t->n;
    }
    if (save) {
        s->gamma = tz->cur_gamma;
        s->taken = 1;
    } else {
        tz->cur_gamma = s->gamma;
        ec2t__tz_recount(tz); /* the statistics of the restored assignment */
        net->loss_ready = 0;
    }
}

/* The rest of the current phase (from sched.done on), each epoch evaluated
 * and, with a checkpoint path, saved; then its best epoch is restored. */
static ec2t_status
run_phase(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_dataset *train, ec2t_dataset *val,
          const char *checkpoint)
{
    ec2t__tz_schedule *s = &tz->sched;
    int64_t epochs = s->phase == 1 ? s->epochs_a : s->epochs_b;
    ec2t_status st = EC2T_OK;
    while (s->done < epochs && st == EC2T_OK) {
        double acc = 0;
        st = ec2t_trainer_epoch(tr, train, 0, NULL, NULL);
        if (st == EC2T_OK)
            st = ec2t_net_evaluate(tz->net, val, 256, 0, NULL, &acc);
        if (st != EC2T_OK)
            break;
        /* while a target is still ramping in, the network is not what was asked for */
        if (acc > s->best_acc && (s->phase != 1 || tz->steer_steps > tz->ramp_steps ||
                                  (tz->target_sparsity <= 0 && tz->target_bytes <= 0))) {
            s->best_acc = acc;
            snapshot_copy(tz, &s->best, 1);
        }
        s->done++;
        if (checkpoint)
            st = ec2t_trainer_save_checkpoint(tr, checkpoint, 0);
        if (st == EC2T_OK && tz->progress &&
            tz->progress(tz->progress_user, tz, (int32_t)s->phase, (int32_t)s->done, acc) != 0)
            st = ec2t__error(tz->ctx, EC2T_E_ABORTED, "ec2t_ternarizer_train: stopped by the callback");
    }
    if (s->best.taken)
        snapshot_copy(tz, &s->best, 0);
    return st;
}

static int64_t
steps_per_epoch(const ec2t_trainer *tr, const ec2t_dataset *train)
{
    int64_t n = ec2t_dataset_size(train);
    return (n + tr->batch_size - 1) / tr->batch_size;
}

static void
start_phase(ec2t__tz_schedule *s, int64_t phase)
{
    s->phase = phase;
    s->done = 0;
    s->best_acc = -1;
    s->best.taken = 0;
}

/* A fresh run: phase A from its first epoch, a target ramping in over its first half. */
static ec2t_status
start_run(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_dataset *train)
{
    ec2t_status st = ec2t_ternarizer_set_int(tz, EC2T_TERN_FROZEN, 0);
    tz->steer_steps = 0;
    tz->ramp_steps = tz->sched.epochs_a * steps_per_epoch(tr, train) / 2;
    tz->ramp_start = tz->target_sparsity > 0 ? ec2t__tz_sparsity(tz) : ec2t__tz_estimated_bytes(tz);
    start_phase(&tz->sched, 1);
    return st;
}

static ec2t_status
train_run(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_dataset *train, ec2t_dataset *val,
          int32_t epochs_a, int32_t epochs_b, const char *checkpoint, uint32_t flags)
{
    ec2t__tz_schedule *s;
    FILE *f;
    ec2t_status st;
    if (!tz)
        return EC2T_E_INVAL;
    s = &tz->sched;
    if (!tr || !train || !val || epochs_a < 0 || epochs_b < 0 || flags != 0)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_train: bad argument");
    if (tz->trainer != tr)
        return ec2t__error(tz->ctx, EC2T_E_STATE,
                           "ec2t_ternarizer_train: attach the ternarizer to this trainer first");
    if ((st = ec2t__tz_check_targets(tz, "ec2t_ternarizer_train")) != EC2T_OK)
        return st;
    if ((st = ec2t__tz_snapshot_alloc(tz, &s->best)) != EC2T_OK)
        return st;
    s->epochs_a = epochs_a;
    s->epochs_b = epochs_b;
    if (checkpoint && (f = fopen(checkpoint, "rb")) != NULL) {
        fclose(f);
        s->expect = 1; /* the file must be of a run of this schedule */
        st = ec2t_trainer_load_checkpoint(tr, checkpoint, 0);
        s->expect = 0;
    } else {
        st = start_run(tz, tr, train);
    }
    s->active = 1;
    if (st == EC2T_OK && s->phase == 1) {
        st = run_phase(tz, tr, train, val, checkpoint);
        tz->ramp_steps = 0;
        if (st == EC2T_OK)
            report_target(tz);
        if (st == EC2T_OK && epochs_b > 0) {
            /* phase B starts from fresh optimizer states, as the reference does */
            for (int32_t i = 0; i < tr->n_params; i++)
                ec2t__tparam_reset(&tr->params[i]);
            st = ec2t_ternarizer_set_int(tz, EC2T_TERN_FROZEN, 1);
            start_phase(s, 2);
        }
    }
    if (st == EC2T_OK && s->phase == 2)
        st = run_phase(tz, tr, train, val, checkpoint);
    s->active = 0;
    ec2t__tz_snapshot_free(tz, &s->best);
    return st;
}

EC2T_API ec2t_status
ec2t_ternarizer_train(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_dataset *train,
                      ec2t_dataset *val, int32_t epochs_a, int32_t epochs_b, uint32_t flags)
{
    return train_run(tz, tr, train, val, epochs_a, epochs_b, NULL, flags);
}

EC2T_API ec2t_status
ec2t_ternarizer_train_checkpointed(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_dataset *train,
                                   ec2t_dataset *val, int32_t epochs_a, int32_t epochs_b,
                                   const char *checkpoint, uint32_t flags)
{
    if (tz && !checkpoint)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_train_checkpointed: NULL path");
    return train_run(tz, tr, train, val, epochs_a, epochs_b, checkpoint, flags);
}
