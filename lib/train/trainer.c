/* SPDX-License-Identifier: MIT */
/* ec2t_trainer: groups, settings, steps and epochs. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collective-private.h"
#include "count-private.h"
#include "trainer-private.h"

static ec2t_status
grow_params(ec2t_trainer *tr)
{
    int32_t ncap;
    ec2t__tparam *p;
    if (tr->n_params < tr->cap_params)
        return EC2T_OK;
    ncap = tr->cap_params ? tr->cap_params * 2 : 64;
    p = ec2t__calloc(tr->ctx, (size_t)ncap, sizeof *p);
    if (!p)
        return ec2t__nomem(tr->ctx, "trainer tables");
    if (tr->params)
        memcpy(p, tr->params, (size_t)tr->n_params * sizeof *p);
    ec2t__free(tr->ctx, tr->params);
    tr->params = p;
    tr->cap_params = ncap;
    return EC2T_OK;
}

static ec2t_status
add_param(ec2t_trainer *tr, const char *name, float *value, float *grad, int64_t n, int32_t group,
          int owned_by_net)
{
    ec2t__tparam *p;
    ec2t_status st = grow_params(tr);
    if (st != EC2T_OK)
        return st;
    p = &tr->params[tr->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->value = value;
    p->grad = grad;
    p->n = n;
    p->group = group;
    p->owned_by_net = owned_by_net;
    p->m = ec2t__calloc(tr->ctx, (size_t)n, sizeof *p->m);
    p->v = ec2t__calloc(tr->ctx, (size_t)n, sizeof *p->v);
    if (!p->m || !p->v) {
        ec2t__free(tr->ctx, p->m);
        ec2t__free(tr->ctx, p->v);
        return ec2t__nomem(tr->ctx, "optimizer state");
    }
    tr->n_params++;
    return EC2T_OK;
}

ec2t_status
ec2t__trainer_add_tensor(ec2t_trainer *tr, const char *name, float *value, float *grad, int64_t n,
                         int32_t group)
{
    if (ec2t__trainer_find(tr, name))
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "trainer: a tensor named '%s' exists", name);
    return add_param(tr, name, value, grad, n, group, 0);
}

ec2t__tparam *
ec2t__trainer_find(ec2t_trainer *tr, const char *name)
{
    for (int32_t i = 0; i < tr->n_params; i++)
        if (strcmp(tr->params[i].name, name) == 0)
            return &tr->params[i];
    return NULL;
}

EC2T_API void
ec2t_trainer_free(ec2t_trainer *tr)
{
    if (!tr)
        return;
    for (int32_t i = 0; i < tr->n_params; i++) {
        ec2t__free(tr->ctx, tr->params[i].m);
        ec2t__free(tr->ctx, tr->params[i].v);
    }
    ec2t__free(tr->ctx, tr->params);
    ec2t__free(tr->ctx, tr->teacher_out);
    ec2t__free(tr->ctx, tr->soft_one);
    ec2t__free(tr->ctx, tr->soft);
    ec2t__free(tr->ctx, tr->mirrored);
    ec2t__free(tr->ctx, tr->images);
    ec2t__free(tr->ctx, tr->labels);
    ec2t__coll_free(tr);
    ec2t__free(tr->ctx, tr);
}

static int
valid_optimizer(ec2t_optimizer opt)
{
    return opt == EC2T_OPT_SGD || opt == EC2T_OPT_ADAM;
}

EC2T_API ec2t_status
ec2t_trainer_new(ec2t_net *net, ec2t_optimizer optimizer, uint32_t flags, ec2t_trainer **out)
{
    ec2t_trainer *tr;
    ec2t_status st = EC2T_OK;
    if (out)
        *out = NULL;
    if (!net)
        return EC2T_E_INVAL;
    if (!out || flags != 0 || !valid_optimizer(optimizer))
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_trainer_new: bad argument");
    if (net->loss_layer < 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_trainer_new: the network has no loss layer");
    tr = ec2t__calloc(net->ctx, 1, sizeof *tr);
    if (!tr)
        return ec2t__nomem(net->ctx, "trainer");
    tr->ctx = net->ctx;
    tr->net = net;
    tr->n_groups = 1;
    ec2t__group_defaults(&tr->groups[0], optimizer);
    tr->batch_size = 128;
    tr->seed = net->ctx->seed;
    /* SGD defaults to the recipe that matches PyTorch's accuracy per epoch;
     * Adam (EC2T's rates) keeps a constant rate */
    tr->schedule = optimizer == EC2T_OPT_SGD ? EC2T_SCHED_ONE_CYCLE : EC2T_SCHED_CONSTANT;
    tr->warmup = EC2T__DEFAULT_WARMUP;
    tr->sched_epochs = 100;
    tr->step_size = 30;
    tr->step_gamma = 0.1;
    tr->augment = 1;
    for (int32_t i = 0; i < net->n_params && st == EC2T_OK; i++) {
        const ec2t__param_entry *e = &net->params[i];
        ec2t_layer *l = net->layers[e->layer];
        if (e->role > EC2T_PARAM_BIAS)
            continue;
        st = add_param(tr, e->name, l->param[e->role]->data, l->grad[e->role]->data,
                       l->param[e->role]->numel, 0, 1);
    }
    if (st != EC2T_OK) {
        ec2t_trainer_free(tr);
        return st;
    }
    *out = tr;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_add_group(ec2t_trainer *tr, ec2t_optimizer optimizer, int32_t *group)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (!group || !valid_optimizer(optimizer))
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_add_group: bad argument");
    if (tr->n_groups >= EC2T__MAX_GROUPS)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_add_group: at most %d groups",
                           EC2T__MAX_GROUPS);
    ec2t__group_defaults(&tr->groups[tr->n_groups], optimizer);
    *group = tr->n_groups++;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_assign(ec2t_trainer *tr, const char *param_name, int32_t group)
{
    ec2t__tparam *p;
    if (!tr)
        return EC2T_E_INVAL;
    if (!param_name || group < -1 || group >= tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_assign: bad name or group %d",
                           (int)group);
    p = ec2t__trainer_find(tr, param_name);
    if (!p)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_assign: no trained tensor '%s'",
                           param_name);
    p->group = group;
    ec2t__tparam_reset(p);
    return EC2T_OK;
}

/* ---- settings ---- */

static double *
group_field(ec2t__group *g, ec2t_trainer_param param)
{
    switch (param) {
    case EC2T_TRAIN_LR: return &g->lr;
    case EC2T_TRAIN_MOMENTUM: return &g->momentum;
    case EC2T_TRAIN_NESTEROV: return &g->nesterov;
    case EC2T_TRAIN_WEIGHT_DECAY: return &g->weight_decay;
    case EC2T_TRAIN_BETA1: return &g->beta1;
    case EC2T_TRAIN_BETA2: return &g->beta2;
    case EC2T_TRAIN_EPS: return &g->eps;
    default: return NULL;
    }
}

int
ec2t__group_value_ok(ec2t_trainer_param param, double v)
{
    switch (param) {
    case EC2T_TRAIN_LR: return v > 0 && v < 1e6;
    case EC2T_TRAIN_MOMENTUM: return v >= 0 && v < 1;
    case EC2T_TRAIN_NESTEROV: return v == 0 || v == 1;
    case EC2T_TRAIN_WEIGHT_DECAY: return v >= 0 && v < 1e6;
    case EC2T_TRAIN_BETA1:
    case EC2T_TRAIN_BETA2: return v >= 0 && v < 1;
    case EC2T_TRAIN_EPS: return v > 0 && v < 1;
    default: return 0;
    }
}

EC2T_API ec2t_status
ec2t_trainer_group_set_double(ec2t_trainer *tr, int32_t group, ec2t_trainer_param param,
                              double value)
{
    double *field;
    if (!tr)
        return EC2T_E_INVAL;
    if (group < 0 || group >= tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_group_set_double: no group %d",
                           (int)group);
    field = group_field(&tr->groups[group], param);
    if (!field)
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_trainer_group_set_double: %d is not a group setting", (int)param);
    if (!ec2t__group_value_ok(param, value))
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "ec2t_trainer_group_set_double: %g is out of range for setting %d", value,
                           (int)param);
    *field = value;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_group_get_double(const ec2t_trainer *tr, int32_t group, ec2t_trainer_param param,
                              double *value)
{
    double *field;
    if (!tr)
        return EC2T_E_INVAL;
    if (!value || group < 0 || group >= tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_group_get_double: bad argument");
    field = group_field((ec2t__group *)&tr->groups[group], param);
    if (!field)
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_trainer_group_get_double: %d is not a group setting", (int)param);
    *value = *field;
    return EC2T_OK;
}

static int
is_state(ec2t_trainer_param param)
{
    return param >= EC2T_TRAIN_EPOCH && param <= EC2T_TRAIN_CURRENT_LR;
}

EC2T_API ec2t_status
ec2t_trainer_set_int(ec2t_trainer *tr, ec2t_trainer_param param, int64_t value)
{
    int ok;
    int64_t *field;
    if (!tr)
        return EC2T_E_INVAL;
    if (is_state(param))
        return ec2t__error(tr->ctx, EC2T_E_STATE, "ec2t_trainer_set_int: %d is read-only", (int)param);
    switch ((int)param) { /* int: experimental keys are outside the enum */
    case EC2T_TRAIN_BATCH_SIZE: field = &tr->batch_size, ok = value >= 1 && value <= 65536; break;
    case EC2T_TRAIN_SEED: field = &tr->seed, ok = 1; break;
    case EC2T_TRAIN_SCHEDULE:
        field = &tr->schedule, ok = value >= EC2T_SCHED_CONSTANT && value <= EC2T_SCHED_ONE_CYCLE;
        break;
    case EC2T_TRAIN_EPOCHS: field = &tr->sched_epochs, ok = value >= 1 && value <= 1000000; break;
    case EC2T_TRAIN_STEP_SIZE: field = &tr->step_size, ok = value >= 1 && value <= 1000000; break;
    case EC2T_TRAIN_AUGMENT: field = &tr->augment, ok = value == 0 || value == 1; break;
    case (int)EC2T_TRAIN_TEACHER_MIRROR: field = &tr->teacher_mirror, ok = value == 0 || value == 1; break;
    default:
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED, "ec2t_trainer_set_int: %d is not an integer setting",
                           (int)param);
    }
    if (!ok)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_int: %lld is out of range for %d",
                           (long long)value, (int)param);
    *field = value;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_set_double(ec2t_trainer *tr, ec2t_trainer_param param, double value)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (is_state(param))
        return ec2t__error(tr->ctx, EC2T_E_STATE, "ec2t_trainer_set_double: %d is read-only",
                           (int)param);
    switch (param) {
    case EC2T_TRAIN_STEP_GAMMA:
        if (!(value > 0 && value <= 1))
            break;
        tr->step_gamma = value;
        return EC2T_OK;
    case EC2T_TRAIN_MIN_LR_FACTOR:
        if (!(value >= 0 && value <= 1))
            break;
        tr->min_lr_factor = value;
        return EC2T_OK;
    case EC2T_TRAIN_WARMUP:
        if (!(value >= 0 && value < 1))
            break;
        tr->warmup = value;
        return EC2T_OK;
    default:
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED, "ec2t_trainer_set_double: %d is not a real setting",
                           (int)param);
    }
    return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_double: %g is out of range for %d",
                       value, (int)param);
}

EC2T_API ec2t_status
ec2t_trainer_get_int(const ec2t_trainer *tr, ec2t_trainer_param param, int64_t *value)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (!value)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_get_int: value is NULL");
    switch ((int)param) {
    case EC2T_TRAIN_BATCH_SIZE: *value = tr->batch_size; return EC2T_OK;
    case EC2T_TRAIN_SEED: *value = tr->seed; return EC2T_OK;
    case EC2T_TRAIN_SCHEDULE: *value = tr->schedule; return EC2T_OK;
    case EC2T_TRAIN_EPOCHS: *value = tr->sched_epochs; return EC2T_OK;
    case EC2T_TRAIN_STEP_SIZE: *value = tr->step_size; return EC2T_OK;
    case EC2T_TRAIN_AUGMENT: *value = tr->augment; return EC2T_OK;
    case (int)EC2T_TRAIN_TEACHER_MIRROR: *value = tr->teacher_mirror; return EC2T_OK;
    case EC2T_TRAIN_EPOCH: *value = tr->epoch; return EC2T_OK;
    case EC2T_TRAIN_STEP: *value = tr->step; return EC2T_OK;
    case EC2T_TRAIN_STEPS_PER_EPOCH: *value = tr->steps_per_epoch; return EC2T_OK;
    case EC2T_TRAIN_TOTAL_STEPS: *value = tr->total_steps; return EC2T_OK;
    default:
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED, "ec2t_trainer_get_int: %d is not an integer setting",
                           (int)param);
    }
}

EC2T_API ec2t_status
ec2t_trainer_get_double(const ec2t_trainer *tr, ec2t_trainer_param param, double *value)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (!value)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_get_double: value is NULL");
    switch (param) {
    case EC2T_TRAIN_STEP_GAMMA: *value = tr->step_gamma; return EC2T_OK;
    case EC2T_TRAIN_MIN_LR_FACTOR: *value = tr->min_lr_factor; return EC2T_OK;
    case EC2T_TRAIN_WARMUP: *value = tr->warmup; return EC2T_OK;
    case EC2T_TRAIN_LOSS: *value = tr->seen ? tr->loss_sum / (double)tr->seen : 0; return EC2T_OK;
    case EC2T_TRAIN_ACCURACY:
        *value = tr->seen ? (double)tr->correct / (double)tr->seen : 0;
        return EC2T_OK;
    case EC2T_TRAIN_IMAGES_PER_SEC: *value = tr->ips; return EC2T_OK;
    case EC2T_TRAIN_CURRENT_LR: *value = ec2t__trainer_lr_factor(tr); return EC2T_OK;
    default:
        return ec2t__error(tr->ctx, EC2T_E_UNSUPPORTED, "ec2t_trainer_get_double: %d is not a real setting",
                           (int)param);
    }
}

EC2T_API ec2t_status
ec2t_trainer_set_progress(ec2t_trainer *tr, ec2t_train_progress_fn fn, void *user)
{
    if (!tr)
        return EC2T_E_INVAL;
    tr->progress = fn;
    tr->progress_user = user;
    return EC2T_OK;
}

/* ---- training ---- */

/* A step on images_count floats and labels_count labels, which must be batch
 * samples: checked before the teachers read the images. With a collective
 * hook they are the global batch, and this rank runs its slice. */
static ec2t_status
step_on(ec2t_trainer *tr, const float *images, size_t images_count, const int32_t *labels,
        size_t labels_count, int64_t batch, float *loss, int64_t *correct)
{
    static const char fn[] = "ec2t_trainer_step";
    const ec2t_layer *in = tr->net->layers[0];
    ec2t__distill distill = {NULL, 0, 0};
    ec2t_status st;
    ec2t_net_mode mode = tr->net->mode;
    int64_t lo = 0;
    if (!images || !labels || batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: NULL images or labels, or batch %lld outside 1..2^24",
                           fn, (long long)batch);
    if ((st = ec2t__check_input_count(tr->ctx, fn, images_count, batch, in->c, in->h, in->w)) != EC2T_OK ||
        (st = ec2t__check_label_count(tr->ctx, fn, labels_count, batch)) != EC2T_OK)
        return st;
    if (tr->coll) {
        if ((st = ec2t__coll_step_begin(tr, batch, &lo, &batch)) != EC2T_OK)
            return st;
        images += lo * ((int64_t)in->c * in->h * in->w);
        images_count = (size_t)batch * (size_t)((int64_t)in->c * in->h * in->w);
        labels += lo;
        labels_count = (size_t)batch;
    }
    st = ec2t__trainer_soft_targets(tr, images, batch, &distill);
    tr->net->mode = EC2T_MODE_TRAIN;
    if (st == EC2T_OK)
        st = ec2t_net_forward_loss(tr->net, images, images_count, labels, labels_count, batch, 0, loss,
                                   correct);
    if (st == EC2T_OK)
        st = ec2t__net_backward(tr->net, distill.soft ? &distill : NULL);
    if (tr->coll)
        st = ec2t__coll_step_end(tr, st, loss, correct);
    if (st == EC2T_OK && tr->hooks.after_backward)
        st = tr->hooks.after_backward(tr->hooks.user, tr);
    if (st == EC2T_OK) {
        ec2t__trainer_update(tr);
        tr->total_steps++;
        if (tr->hooks.after_update)
            st = tr->hooks.after_update(tr->hooks.user, tr);
    }
    tr->net->mode = mode;
    tr->net->loss_ready = 0; /* the weights moved: that loss is stale */
    return st;
}

EC2T_API ec2t_status
ec2t_trainer_step(ec2t_trainer *tr, const float *images, size_t images_count, const int32_t *labels,
                  size_t labels_count, int64_t batch, uint32_t flags, float *loss)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (flags != 0)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_step: flags must be 0");
    return step_on(tr, images, images_count, labels, labels_count, batch, loss, NULL);
}

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The seeds of an epoch depend only on the trainer's seed and the epoch, so
 * a run resumed from a checkpoint draws exactly what it would have drawn. */
static uint64_t
epoch_seed(const ec2t_trainer *tr, uint64_t salt)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, (uint64_t)tr->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(tr->epoch + 1)) ^
                             salt);
    return ec2t__rng_next(&rng);
}

static ec2t_status
stage(ec2t_trainer *tr, int64_t floats)
{
    if (floats <= tr->staged_cap)
        return EC2T_OK;
    ec2t__free(tr->ctx, tr->images);
    ec2t__free(tr->ctx, tr->labels);
    tr->images = ec2t__alloc(tr->ctx, ec2t__mul_size((size_t)floats, sizeof(float)), 64);
    tr->labels = ec2t__calloc(tr->ctx, (size_t)tr->batch_size, sizeof *tr->labels);
    tr->staged_cap = tr->images && tr->labels ? floats : 0;
    return tr->staged_cap ? EC2T_OK : ec2t__nomem(tr->ctx, "training batch");
}

EC2T_API ec2t_status
ec2t_trainer_epoch(ec2t_trainer *tr, ec2t_dataset *data, uint32_t flags, double *loss,
                   double *accuracy)
{
    int32_t c, h, w;
    int64_t n, sample, bs;
    double t0;
    ec2t_status st;

    if (!tr)
        return EC2T_E_INVAL;
    if (!data || flags != 0)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_epoch: bad argument");
    if ((st = ec2t_dataset_shape(data, &c, &h, &w)) != EC2T_OK)
        return st;
    if (c != tr->net->layers[0]->c || h != tr->net->layers[0]->h || w != tr->net->layers[0]->w)
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "ec2t_trainer_epoch: data is %dx%dx%d, the network takes %dx%dx%d",
                           (int)c, (int)h, (int)w, (int)tr->net->layers[0]->c,
                           (int)tr->net->layers[0]->h, (int)tr->net->layers[0]->w);
    n = ec2t_dataset_size(data);
    if (tr->coll && (st = ec2t__coll_epoch_begin(tr, n)) != EC2T_OK)
        return st;
    bs = tr->batch_size < n ? tr->batch_size : n;
    sample = (int64_t)c * h * w;
    if ((st = stage(tr, bs * sample)) != EC2T_OK)
        return ec2t__coll_fail(tr, st);
    if ((st = ec2t_dataset_shuffle(data, epoch_seed(tr, 1))) != EC2T_OK ||
        (st = ec2t_dataset_set_int(data, EC2T_DATA_SEED, (int64_t)epoch_seed(tr, 2))) != EC2T_OK)
        return ec2t__coll_fail(tr, st);
    ec2t__rng_seed(&tr->net->rng, epoch_seed(tr, 3));

    tr->step = 0;
    tr->steps_per_epoch = (n + bs - 1) / bs;
    tr->loss_sum = 0;
    tr->correct = tr->seen = 0;
    tr->ips = 0;
    t0 = now_seconds();
    tr->in_epoch = 1;
    for (int64_t start = 0; start < n; start += bs) {
        int64_t count = n - start < bs ? n - start : bs, correct = 0;
        float batch_loss = 0;
        if (count < ec2t__coll_min_batch(tr))
            break; /* fewer samples than ranks */
        st = ec2t_dataset_get_batch(data, start, count, tr->images, (size_t)(bs * sample),
                                    tr->labels, (size_t)bs, tr->augment ? EC2T_BATCH_AUGMENT : 0);
        if (st == EC2T_OK)
            st = step_on(tr, tr->images, (size_t)(count * sample), tr->labels, (size_t)count, count,
                         &batch_loss, &correct);
        if (st != EC2T_OK)
            break;
        tr->step++;
        tr->loss_sum += (double)batch_loss * (double)count;
        tr->correct += correct;
        tr->seen += count;
        tr->ips = (double)tr->seen / (now_seconds() - t0 + 1e-9);
        if (tr->progress && tr->progress(tr->progress_user, tr) != 0) {
            st = ec2t__error(tr->ctx, EC2T_E_ABORTED, "ec2t_trainer_epoch: stopped by the progress callback");
            break;
        }
    }
    tr->in_epoch = 0;
    if (tr->coll)
        st = ec2t__coll_epoch_end(tr, st);
    if (st != EC2T_OK)
        return st;
    tr->epoch++;
    if (loss)
        *loss = tr->loss_sum / (double)tr->seen;
    if (accuracy)
        *accuracy = (double)tr->correct / (double)tr->seen;
    return EC2T_OK;
}
