/* SPDX-License-Identifier: MIT */
/* ec2t_trainer: groups, settings, steps and epochs. */
#include <math.h>
#include <stdint.h>
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

/* ---- settings (core/settings.c) ---- */

/* Just below 10^6: the open upper end of the learning rate and weight decay. */
#define BELOW_1E6 0x1.e847fffffffffp+19

/* A group's settings are set through this view: the trainer for messages,
 * the group for the fields. */
typedef struct group_view {
    ec2t_trainer *tr;
    int32_t g;
} group_view;

static ec2t_context *
group_ctx(const void *obj)
{
    return ((const group_view *)obj)->tr->ctx;
}

static void *
group_base(const void *obj)
{
    const group_view *v = obj;
    return &v->tr->groups[v->g];
}

/* Nesterov is a real setting that is either 0 or 1. */
static int
whole_ok(int32_t id, double v)
{
    return id != EC2T_TRAIN_NESTEROV || v == 0 || v == 1;
}

static ec2t_status
check_group(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    (void)i;
    if (!whole_ok(s->id, d))
        return ec2t__error(group_ctx(obj), EC2T_E_INVAL, "ec2t_trainer_group_set_double: %s = %g is "
                           "neither 0 nor 1", s->name, d);
    return EC2T_OK;
}

static const ec2t__setting group_rows[] = {
    EC2T__REAL_AT(EC2T_TRAIN_LR, ec2t__group, lr, EC2T__AT_DOUBLE, EC2T__ABOVE_ZERO, BELOW_1E6),
    EC2T__REAL_AT(EC2T_TRAIN_MOMENTUM, ec2t__group, momentum, EC2T__AT_DOUBLE, 0, EC2T__BELOW_ONE),
    EC2T__REAL_AT(EC2T_TRAIN_NESTEROV, ec2t__group, nesterov, EC2T__AT_DOUBLE, 0, 1),
    EC2T__REAL_AT(EC2T_TRAIN_WEIGHT_DECAY, ec2t__group, weight_decay, EC2T__AT_DOUBLE, 0, BELOW_1E6),
    EC2T__REAL_AT(EC2T_TRAIN_BETA1, ec2t__group, beta1, EC2T__AT_DOUBLE, 0, EC2T__BELOW_ONE),
    EC2T__REAL_AT(EC2T_TRAIN_BETA2, ec2t__group, beta2, EC2T__AT_DOUBLE, 0, EC2T__BELOW_ONE),
    EC2T__REAL_AT(EC2T_TRAIN_EPS, ec2t__group, eps, EC2T__AT_DOUBLE, EC2T__ABOVE_ZERO, EC2T__BELOW_ONE),
};

const ec2t__settings ec2t__group_settings = {
    EC2T__SETTINGS_ROWS("group", group_rows, EC2T_E_UNSUPPORTED),
    .ctx_of = group_ctx,
    .base_of = group_base,
    .check = check_group,
};

int
ec2t__group_value_ok(ec2t_trainer_param param, double v)
{
    const ec2t__setting *s = ec2t__setting_find(&ec2t__group_settings, param);
    return s && v >= s->lo && v <= s->hi && whole_ok(s->id, v);
}

EC2T_API ec2t_status
ec2t_trainer_group_set_double(ec2t_trainer *tr, int32_t group, ec2t_trainer_param param,
                              double value)
{
    group_view v = {tr, group};
    if (!tr)
        return EC2T_E_INVAL;
    if (group < 0 || group >= tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_group_set_double: no group %d",
                           (int)group);
    return ec2t__settings_set_double(&ec2t__group_settings, &v, param, value,
                                     "ec2t_trainer_group_set_double");
}

EC2T_API ec2t_status
ec2t_trainer_group_get_double(const ec2t_trainer *tr, int32_t group, ec2t_trainer_param param,
                              double *value)
{
    group_view v = {(ec2t_trainer *)(uintptr_t)tr, group};
    if (!tr)
        return EC2T_E_INVAL;
    if (!value || group < 0 || group >= tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_group_get_double: bad argument");
    return ec2t__settings_get_double(&ec2t__group_settings, &v, param, value,
                                     "ec2t_trainer_group_get_double");
}

static ec2t_context *
trainer_ctx(const void *obj)
{
    return ((const ec2t_trainer *)obj)->ctx;
}

/* The running figures of the epoch. */
static void
compute_trainer(const void *obj, const ec2t__setting *s, int64_t *i, double *d)
{
    const ec2t_trainer *tr = obj;
    (void)i;
    switch (s->id) {
    case EC2T_TRAIN_LOSS: *d = tr->seen ? tr->loss_sum / (double)tr->seen : 0; break;
    case EC2T_TRAIN_ACCURACY: *d = tr->seen ? (double)tr->correct / (double)tr->seen : 0; break;
    case EC2T_TRAIN_IMAGES_PER_SEC: *d = tr->ips; break;
    case EC2T_TRAIN_CURRENT_LR: *d = ec2t__trainer_lr_factor(tr); break;
    default: break;
    }
}

static const ec2t__setting trainer_rows[] = {
    EC2T__INT_AT(EC2T_TRAIN_BATCH_SIZE, ec2t_trainer, batch_size, EC2T__AT_I64, 1, 65536),
    EC2T__INT_AT(EC2T_TRAIN_SEED, ec2t_trainer, seed, EC2T__AT_I64, INT64_MIN, INT64_MAX),
    EC2T__INT_AT(EC2T_TRAIN_SCHEDULE, ec2t_trainer, schedule, EC2T__AT_I64, EC2T_SCHED_CONSTANT,
                 EC2T_SCHED_ONE_CYCLE),
    EC2T__INT_AT(EC2T_TRAIN_EPOCHS, ec2t_trainer, sched_epochs, EC2T__AT_I64, 1, 1000000),
    EC2T__INT_AT(EC2T_TRAIN_STEP_SIZE, ec2t_trainer, step_size, EC2T__AT_I64, 1, 1000000),
    EC2T__REAL_AT(EC2T_TRAIN_STEP_GAMMA, ec2t_trainer, step_gamma, EC2T__AT_DOUBLE, EC2T__ABOVE_ZERO, 1),
    EC2T__REAL_AT(EC2T_TRAIN_MIN_LR_FACTOR, ec2t_trainer, min_lr_factor, EC2T__AT_DOUBLE, 0, 1),
    EC2T__INT_AT(EC2T_TRAIN_AUGMENT, ec2t_trainer, augment, EC2T__AT_I64, 0, 1),
    EC2T__REAL_AT(EC2T_TRAIN_WARMUP, ec2t_trainer, warmup, EC2T__AT_DOUBLE, 0, EC2T__BELOW_ONE),
    EC2T__INT_RO_AT(EC2T_TRAIN_EPOCH, ec2t_trainer, epoch, EC2T__AT_I64, 0, INT64_MAX),
    EC2T__INT_RO_AT(EC2T_TRAIN_STEP, ec2t_trainer, step, EC2T__AT_I64, 0, INT64_MAX),
    EC2T__INT_RO_AT(EC2T_TRAIN_STEPS_PER_EPOCH, ec2t_trainer, steps_per_epoch, EC2T__AT_I64, 0, INT64_MAX),
    EC2T__INT_RO_AT(EC2T_TRAIN_TOTAL_STEPS, ec2t_trainer, total_steps, EC2T__AT_I64, 0, INT64_MAX),
    EC2T__REAL_HOOKED(EC2T_TRAIN_LOSS, 1, 0, HUGE_VAL),
    EC2T__REAL_HOOKED(EC2T_TRAIN_ACCURACY, 1, 0, 1),
    EC2T__REAL_HOOKED(EC2T_TRAIN_IMAGES_PER_SEC, 1, 0, HUGE_VAL),
    EC2T__REAL_HOOKED(EC2T_TRAIN_CURRENT_LR, 1, 0, 1),
    EC2T__INT_AT(EC2T_TRAIN_TEACHER_MIRROR, ec2t_trainer, teacher_mirror, EC2T__AT_I64, 0, 1),
};

const ec2t__settings ec2t__trainer_settings = {
    EC2T__SETTINGS_ROWS("trainer", trainer_rows, EC2T_E_UNSUPPORTED),
    .ctx_of = trainer_ctx,
    .compute = compute_trainer,
};

EC2T_API ec2t_status
ec2t_trainer_set_int(ec2t_trainer *tr, ec2t_trainer_param param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__trainer_settings, tr, param, value, "ec2t_trainer_set_int");
}

EC2T_API ec2t_status
ec2t_trainer_set_double(ec2t_trainer *tr, ec2t_trainer_param param, double value)
{
    return ec2t__settings_set_double(&ec2t__trainer_settings, tr, param, value, "ec2t_trainer_set_double");
}

EC2T_API ec2t_status
ec2t_trainer_get_int(const ec2t_trainer *tr, ec2t_trainer_param param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__trainer_settings, tr, param, value, "ec2t_trainer_get_int");
}

EC2T_API ec2t_status
ec2t_trainer_get_double(const ec2t_trainer *tr, ec2t_trainer_param param, double *value)
{
    return ec2t__settings_get_double(&ec2t__trainer_settings, tr, param, value, "ec2t_trainer_get_double");
}

/* the trainer's settings and its groups' (real-valued: EC2T_E_INVAL) */
EC2T_API ec2t_status
ec2t_trainer_param_bounds_int(ec2t_trainer_param param, int64_t *lo, int64_t *hi)
{
    if (ec2t__setting_find(&ec2t__group_settings, param))
        return ec2t__settings_bounds_int(&ec2t__group_settings, param, lo, hi);
    return ec2t__settings_bounds_int(&ec2t__trainer_settings, param, lo, hi);
}

/* the trainer's real settings and its groups' */
EC2T_API ec2t_status
ec2t_trainer_param_bounds_double(ec2t_trainer_param param, double *lo, double *hi)
{
    if (ec2t__setting_find(&ec2t__group_settings, param))
        return ec2t__settings_bounds_double(&ec2t__group_settings, param, lo, hi);
    return ec2t__settings_bounds_double(&ec2t__trainer_settings, param, lo, hi);
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
