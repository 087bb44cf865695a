/* SPDX-License-Identifier: MIT */
/* ec2t_ternarizer: layer selection, per-layer state, settings, the hooks
 * that put EC2T inside a training step, and statistics. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ternarizer-private.h"

/* ---- layer selection ---- */

static int
weighted(const ec2t_layer *l)
{
    return l->kind == EC2T_LAYER_CONV2D || l->kind == EC2T_LAYER_DENSE;
}

/* A 1x1 convolution feeding the shortcut input of a residual sum, directly
 * or through a batchnorm: a projection shortcut (§3.3 keeps it). */
static int
projection_shortcut(const ec2t_net *net, const ec2t_layer *l)
{
    if (l->kind != EC2T_LAYER_CONV2D || l->kh != 1 || l->kw != 1)
        return 0;
    for (int32_t i = l->id + 1; i < net->n_layers; i++) {
        const ec2t_layer *r = net->layers[i];
        const ec2t_layer *b;
        if (r->kind != EC2T_LAYER_RESIDUAL)
            continue;
        b = net->layers[r->inputs[1]];
        if (b->id == l->id ||
            (b->kind == EC2T_LAYER_BATCHNORM && b->inputs[0] == l->id))
            return 1;
    }
    return 0;
}

/* The compression each weighted layer gets; AUTO resolved by the default rule. */
static int32_t
resolve(const ec2t_net *net, const ec2t_layer *l, int32_t first, int32_t last)
{
    if (l->compression != EC2T_COMPRESS_AUTO)
        return l->compression;
    if (l->id == first || l->id == last || projection_shortcut(net, l))
        return EC2T_COMPRESS_KEEP;
    return EC2T_COMPRESS_TERNARIZE;
}

static void
free_layers(ec2t_ternarizer *tz)
{
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__free(tz->ctx, tz->layers[i].shadow);
        ec2t__free(tz->ctx, tz->layers[i].shadow_grad);
        ec2t__free(tz->ctx, tz->layers[i].assign);
    }
    ec2t__free(tz->ctx, tz->layers);
}

EC2T_API void
ec2t_ternarizer_free(ec2t_ternarizer *tz)
{
    if (!tz)
        return;
    ec2t__tz_snapshot_free(tz, &tz->sched.best);
    free_layers(tz);
    ec2t__free(tz->ctx, tz);
}

static float *
weights_of(const ec2t_ternarizer *tz, const ec2t__tlayer *t)
{
    return tz->net->layers[t->layer]->param[EC2T_PARAM_WEIGHT]->data;
}

/* Centroids from the shadow weights, then the nearest-value assignment. */
static void
initialise(ec2t_ternarizer *tz)
{
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        if (tz->init == EC2T_TERN_INIT_KMEANS)
            ec2t__tern_init_kmeans(t->shadow, t->n, &t->cent[0], &t->cent[1]);
        else
            ec2t__tern_init_minmax(t->shadow, t->n, tz->init_scale, &t->cent[0], &t->cent[1]);
        ec2t__tern_assign(t->shadow, t->n, t->cent[0], t->cent[1], 0, t->delta, t->assign, &t->last);
        ec2t__tern_materialise(t->shadow, t->assign, t->n, t->cent[0], t->cent[1], t->prune,
                               weights_of(tz, t));
    }
}

static ec2t_status
add_layers(ec2t_ternarizer *tz)
{
    ec2t_net *net = tz->net;
    int32_t first = -1, last = -1, count = 0;
    int64_t n_max = 0;
    for (int32_t i = 0; i < net->n_layers; i++)
        if (weighted(net->layers[i])) {
            first = first < 0 ? i : first;
            last = i;
        }
    for (int32_t i = 0; i < net->n_layers; i++)
        count += weighted(net->layers[i]) &&
                 resolve(net, net->layers[i], first, last) != EC2T_COMPRESS_KEEP;
    if (count == 0)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_new: no layer to compress");
    tz->layers = ec2t__calloc(tz->ctx, (size_t)count, sizeof *tz->layers);
    if (!tz->layers)
        return ec2t__nomem(tz->ctx, "ternarizer layers");
    for (int32_t i = 0; i < net->n_layers; i++) {
        const ec2t_layer *l = net->layers[i];
        int32_t mode;
        ec2t__tlayer *t;
        if (!weighted(l) || (mode = resolve(net, l, first, last)) == EC2T_COMPRESS_KEEP)
            continue;
        t = &tz->layers[tz->n_layers++];
        t->layer = i;
        t->prune = mode == EC2T_COMPRESS_PRUNE;
        t->n = l->param[EC2T_PARAM_WEIGHT]->numel;
        t->shadow = ec2t__calloc(tz->ctx, (size_t)t->n, sizeof *t->shadow);
        t->shadow_grad = ec2t__calloc(tz->ctx, (size_t)t->n, sizeof *t->shadow_grad);
        t->assign = ec2t__calloc(tz->ctx, (size_t)t->n, 1);
        if (!t->shadow || !t->shadow_grad || !t->assign)
            return ec2t__nomem(tz->ctx, "ternarizer state");
        memcpy(t->shadow, l->param[EC2T_PARAM_WEIGHT]->data, (size_t)t->n * sizeof(float));
        n_max = t->n > n_max ? t->n : n_max;
    }
    for (int32_t i = 0; i < tz->n_layers; i++)
        tz->layers[i].delta = ((double)tz->layers[i].n / (double)n_max + tz->sustain) / (1 + tz->sustain);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_ternarizer_new(ec2t_net *net, uint32_t flags, ec2t_ternarizer **out)
{
    ec2t_ternarizer *tz;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!net)
        return EC2T_E_INVAL;
    if (!out || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_ternarizer_new: bad argument");
    tz = ec2t__calloc(net->ctx, 1, sizeof *tz);
    if (!tz)
        return ec2t__nomem(net->ctx, "ternarizer");
    tz->ctx = net->ctx;
    tz->net = net;
    tz->gamma = tz->cur_gamma = 0.15;
    tz->init_scale = 0.3;
    tz->init = EC2T_TERN_INIT_MINMAX;
    tz->sustain = 0.05;
    tz->floor = 0.675;
    tz->lr_shadow = 1e-4;
    tz->lr_cent = 1e-5;
    tz->g_shadow = tz->g_cent = -1;
    st = add_layers(tz);
    if (st != EC2T_OK) {
        ec2t_ternarizer_free(tz);
        return st;
    }
    initialise(tz);
    net->loss_ready = 0;
    *out = tz;
    return EC2T_OK;
}

/* ---- settings (core/settings.c) ---- */

static ec2t_context *
tz_ctx(const void *obj)
{
    return ((const ec2t_ternarizer *)obj)->ctx;
}

/* The initialisation settings hold until a step trained the centroids. */
static ec2t_status
check_tz(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    const ec2t_ternarizer *tz = obj;
    (void)i, (void)d;
    if ((s->id == EC2T_TERN_INIT || s->id == EC2T_TERN_INIT_SCALE) && tz->trained)
        return ec2t__error(tz->ctx, EC2T_E_STATE, "%s: the centroids were trained already", s->name);
    return EC2T_OK;
}

/* What a new value changes beyond its field. */
static ec2t_status
apply_tz(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    ec2t_ternarizer *tz = obj;
    (void)i;
    switch ((int)s->id) { /* int: experimental keys are outside the enum */
    case EC2T_TERN_GAMMA: tz->cur_gamma = d; break;
    case (int)EC2T_TERN_SUSTAIN: {
        int64_t n_max = 0;
        for (int32_t k = 0; k < tz->n_layers; k++)
            n_max = tz->layers[k].n > n_max ? tz->layers[k].n : n_max;
        for (int32_t k = 0; k < tz->n_layers; k++)
            tz->layers[k].delta = ((double)tz->layers[k].n / (double)n_max + d) / (1 + d);
        break;
    }
    case EC2T_TERN_INIT:
    case EC2T_TERN_INIT_SCALE: initialise(tz); break;
    case EC2T_TERN_LR_SHADOW:
    case EC2T_TERN_LR_CENTROIDS:
        if (tz->trainer)
            ec2t_trainer_group_set_double(tz->trainer,
                                          s->id == EC2T_TERN_LR_SHADOW ? tz->g_shadow : tz->g_cent,
                                          EC2T_TRAIN_LR, d);
        break;
    case EC2T_TERN_FROZEN: ec2t__tz_apply_frozen(tz); break;
    default: break;
    }
    return EC2T_OK;
}

/* Rows written out: a wrapper macro would expand the experimental ids'
 * names before the row maker names them. */
static const ec2t__setting tz_rows[] = {
    EC2T__REAL_AT(EC2T_TERN_GAMMA, ec2t_ternarizer, gamma, EC2T__AT_DOUBLE, 0, 1e3),
    EC2T__REAL_AT(EC2T_TERN_TARGET_SPARSITY, ec2t_ternarizer, target_sparsity, EC2T__AT_DOUBLE, 0, 0.999),
    EC2T__INT_AT(EC2T_TERN_TARGET_BYTES, ec2t_ternarizer, target_bytes, EC2T__AT_I64, 0,
                 INT64_C(9007199254740992)),
    EC2T__REAL_AT(EC2T_TERN_INIT_SCALE, ec2t_ternarizer, init_scale, EC2T__AT_DOUBLE, 1e-6, 1),
    EC2T__INT_AT(EC2T_TERN_INIT, ec2t_ternarizer, init, EC2T__AT_I64, EC2T_TERN_INIT_MINMAX,
                 EC2T_TERN_INIT_KMEANS),
    EC2T__REAL_AT(EC2T_TERN_SUSTAIN, ec2t_ternarizer, sustain, EC2T__AT_DOUBLE, 0, 1e6),
    EC2T__REAL_AT(EC2T_TERN_FLOOR, ec2t_ternarizer, floor, EC2T__AT_DOUBLE, 0, 100),
    EC2T__INT_AT(EC2T_TERN_COMPAT_TTQ_SIGN, ec2t_ternarizer, compat_sign, EC2T__AT_I64, 0, 1),
    EC2T__INT_AT(EC2T_TERN_FROZEN, ec2t_ternarizer, frozen, EC2T__AT_I64, 0, 1),
    EC2T__REAL_AT(EC2T_TERN_LR_SHADOW, ec2t_ternarizer, lr_shadow, EC2T__AT_DOUBLE, 1e-12, 10),
    EC2T__REAL_AT(EC2T_TERN_LR_CENTROIDS, ec2t_ternarizer, lr_cent, EC2T__AT_DOUBLE, 1e-12, 10),
    EC2T__REAL_RO_AT(EC2T_TERN_CURRENT_GAMMA, ec2t_ternarizer, cur_gamma, EC2T__AT_DOUBLE, 0, 1e3),
    EC2T__INT_RO_AT(EC2T_TERN_LAYERS, ec2t_ternarizer, n_layers, EC2T__AT_I32, 0, INT32_MAX),
};

const ec2t__settings ec2t__ternarizer_settings = {
    EC2T__SETTINGS_ROWS("ternarizer", tz_rows, EC2T_E_INVAL),
    .ctx_of = tz_ctx,
    .check = check_tz,
    .apply = apply_tz,
};

/* 0.1's bounds: every setting's as doubles, integers converted (exact: below 2^53) */
EC2T_API ec2t_status
ec2t_ternarizer_param_bounds(ec2t_tern_param param, double *lo, double *hi)
{
    const ec2t__setting *s = ec2t__setting_find(&ec2t__ternarizer_settings, param);
    if (!lo || !hi)
        return EC2T_E_INVAL;
    if (!s)
        return EC2T_E_UNSUPPORTED;
    *lo = s->type == EC2T__SETTING_INT ? (double)s->ilo : s->lo;
    *hi = s->type == EC2T__SETTING_INT ? (double)s->ihi : s->hi;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_ternarizer_set_double(ec2t_ternarizer *tz, ec2t_tern_param param, double value)
{
    return ec2t__settings_set_double(&ec2t__ternarizer_settings, tz, param, value,
                                     "ec2t_ternarizer_set_double");
}

EC2T_API ec2t_status
ec2t_ternarizer_set_int(ec2t_ternarizer *tz, ec2t_tern_param param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__ternarizer_settings, tz, param, value, "ec2t_ternarizer_set_int");
}

EC2T_API ec2t_status
ec2t_ternarizer_get_double(const ec2t_ternarizer *tz, ec2t_tern_param param, double *value)
{
    return ec2t__settings_get_double(&ec2t__ternarizer_settings, tz, param, value,
                                     "ec2t_ternarizer_get_double");
}

EC2T_API ec2t_status
ec2t_ternarizer_get_int(const ec2t_ternarizer *tz, ec2t_tern_param param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__ternarizer_settings, tz, param, value, "ec2t_ternarizer_get_int");
}

/* ---- the training step ---- */

static ec2t_status
after_backward(void *user, ec2t_trainer *tr)
{
    ec2t_ternarizer *tz = user;
    /* a trainer driven step by step starts here: refuse before any update */
    ec2t_status st = ec2t__tz_check_targets(tz, "ec2t_trainer_step");
    (void)tr;
    if (st != EC2T_OK)
        return st;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        const float *g = tz->net->layers[t->layer]->grad[EC2T_PARAM_WEIGHT]->data;
        ec2t__tern_grads(g, t->assign, t->n, t->cent[0], t->cent[1], t->prune, (int)tz->compat_sign,
                         t->shadow_grad, &t->cent_grad[0], &t->cent_grad[1]);
    }
    return EC2T_OK;
}

void
ec2t__tz_requantize(ec2t_ternarizer *tz, int prepared)
{
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        if (!tz->frozen) {
            /* ec2t__tern_assign, with the gamma-free part done once per step */
            if (!prepared)
                ec2t__tern_prepare(t->shadow, t->n, t->cent[0], t->cent[1], &t->last);
            t->last.lambda = tz->cur_gamma * t->delta * t->last.lambda_max;
            ec2t__tern_assign_lambda(t->shadow, t->n, t->cent[0], t->cent[1], t->last.lambda,
                                     t->last.info, t->assign, t->last.count);
        }
        ec2t__tern_materialise(t->shadow, t->assign, t->n, t->cent[0], t->cent[1], t->prune,
                               weights_of(tz, t));
    }
    tz->net->loss_ready = 0;
}

static ec2t_status
after_update(void *user, ec2t_trainer *tr)
{
    ec2t_ternarizer *tz = user;
    int prepared = 0;
    (void)tr;
    tz->trained = 1;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        float fl = ec2t__tern_floor(t->shadow, t->n, tz->floor);
        t->cent[0] = t->cent[0] < fl ? fl : t->cent[0];
        t->cent[1] = t->cent[1] < fl ? fl : t->cent[1];
    }
    if (!tz->frozen)
        prepared = ec2t__tz_steer(tz);
    ec2t__tz_requantize(tz, prepared);
    return EC2T_OK;
}

void
ec2t__tz_apply_frozen(ec2t_ternarizer *tz)
{
    char name[160];
    if (!tz->trainer)
        return;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        ec2t__tparam *p;
        snprintf(name, sizeof name, "%s.weight.shadow", tz->net->layers[tz->layers[i].layer]->name);
        p = ec2t__trainer_find(tz->trainer, name);
        if (p)
            p->group = tz->frozen ? -1 : tz->g_shadow;
    }
}

EC2T_API ec2t_status
ec2t_ternarizer_attach(ec2t_ternarizer *tz, ec2t_trainer *tr, uint32_t flags)
{
    char name[160];
    ec2t_status st;
    if (!tz)
        return EC2T_E_INVAL;
    if (!tr || flags != 0 || tr->net != tz->net)
        return ec2t__error(tz->ctx, EC2T_E_INVAL,
                           "ec2t_ternarizer_attach: a trainer of the same network is needed");
    if (tz->trainer || tr->hooks.user)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_attach: already attached");
    if (tr->n_groups + 2 > EC2T__MAX_GROUPS)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_attach: the trainer has no room for two groups");
    st = ec2t_trainer_add_group(tr, EC2T_OPT_ADAM, &tz->g_shadow);
    if (st == EC2T_OK)
        st = ec2t_trainer_add_group(tr, EC2T_OPT_ADAM, &tz->g_cent);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, tz->g_shadow, EC2T_TRAIN_LR, tz->lr_shadow);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, tz->g_cent, EC2T_TRAIN_LR, tz->lr_cent);
    for (int32_t i = 0; i < tz->n_layers && st == EC2T_OK; i++) {
        ec2t__tlayer *t = &tz->layers[i];
        const char *lname = tz->net->layers[t->layer]->name;
        snprintf(name, sizeof name, "%s.weight", lname);
        st = ec2t_trainer_assign(tr, name, -1); /* derived, not trained */
        snprintf(name, sizeof name, "%s.weight.shadow", lname);
        if (st == EC2T_OK)
            st = ec2t__trainer_add_tensor(tr, name, t->shadow, t->shadow_grad, t->n,
                                          tz->frozen ? -1 : tz->g_shadow);
        snprintf(name, sizeof name, "%s.weight.centroids", lname);
        if (st == EC2T_OK)
            st = ec2t__trainer_add_tensor(tr, name, t->cent, t->cent_grad, 2, tz->g_cent);
    }
    if (st != EC2T_OK)
        return st; /* the trainer is left with extra groups: free it */
    tr->hooks.user = tz;
    tr->hooks.after_backward = after_backward;
    tr->hooks.after_update = after_update;
    tr->hooks.save_state = ec2t__tz_save_state;
    tr->hooks.load_state = ec2t__tz_load_state;
    tz->trainer = tr;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_ternarizer_set_progress(ec2t_ternarizer *tz, ec2t_tern_progress_fn fn, void *user)
{
    if (!tz)
        return EC2T_E_INVAL;
    tz->progress = fn;
    tz->progress_user = user;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_ternarizer_update(ec2t_ternarizer *tz, uint32_t flags)
{
    if (!tz)
        return EC2T_E_INVAL;
    if (flags != 0)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_update: flags must be 0");
    ec2t__tz_requantize(tz, 0);
    return EC2T_OK;
}

/* ---- statistics ---- */

double
ec2t__tz_sparsity(const ec2t_ternarizer *tz)
{
    int64_t zeros = 0, total = 0;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        zeros += tz->layers[i].last.count[1];
        total += tz->layers[i].n;
    }
    return total ? (double)zeros / (double)total : 0;
}

double
ec2t__tz_layer_bytes(const ec2t__tlayer *t, const int64_t count[3])
{
    double bytes = (double)t->n * ec2t__tern_entropy(count) / 8.0;
    return t->prune ? bytes + 4.0 * (double)(t->n - count[1]) : bytes;
}

double
ec2t__tz_fixed_bytes(const ec2t_ternarizer *tz)
{
    int64_t compressed = 0;
    for (int32_t i = 0; i < tz->n_layers; i++)
        compressed += tz->layers[i].n;
    /* two values per compressed layer, 4 bytes for every other trained scalar */
    return 8.0 * tz->n_layers + 4.0 * (double)(ec2t_net_trainable_count(tz->net) - compressed);
}

double
ec2t__tz_estimated_bytes(const ec2t_ternarizer *tz)
{
    double bytes = ec2t__tz_fixed_bytes(tz);
    for (int32_t i = 0; i < tz->n_layers; i++)
        bytes += ec2t__tz_layer_bytes(&tz->layers[i], tz->layers[i].last.count);
    return bytes;
}

static ec2t_status
layer_stat(const ec2t__tlayer *t, ec2t_tern_stat stat, double *v)
{
    double n = (double)t->n;
    switch (stat) {
    case EC2T_TSTAT_LAYER_ID: *v = t->layer; break;
    case EC2T_TSTAT_MODE: *v = t->prune ? EC2T_COMPRESS_PRUNE : EC2T_COMPRESS_TERNARIZE; break;
    case EC2T_TSTAT_WEIGHTS: *v = n; break;
    case EC2T_TSTAT_SPARSITY:
    case EC2T_TSTAT_P_ZERO: *v = (double)t->last.count[1] / n; break;
    case EC2T_TSTAT_P_NEG: *v = (double)t->last.count[0] / n; break;
    case EC2T_TSTAT_P_POS: *v = (double)t->last.count[2] / n; break;
    case EC2T_TSTAT_ENTROPY: *v = ec2t__tern_entropy(t->last.count); break;
    case EC2T_TSTAT_W_P: *v = t->cent[0]; break;
    case EC2T_TSTAT_W_N: *v = t->cent[1]; break;
    case EC2T_TSTAT_LAMBDA: *v = t->last.lambda; break;
    case EC2T_TSTAT_LAMBDA_MAX: *v = t->last.lambda_max; break;
    case EC2T_TSTAT_EST_BYTES: *v = ec2t__tz_layer_bytes(t, t->last.count) + 8.0; break;
    default: return EC2T_E_UNSUPPORTED;
    }
    return EC2T_OK;
}

static ec2t_status
total_stat(const ec2t_ternarizer *tz, ec2t_tern_stat stat, double *v)
{
    int64_t count[3] = {0, 0, 0}, total = 0;
    for (int32_t i = 0; i < tz->n_layers; i++) {
        for (int c = 0; c < 3; c++)
            count[c] += tz->layers[i].last.count[c];
        total += tz->layers[i].n;
    }
    switch (stat) {
    case EC2T_TSTAT_WEIGHTS: *v = (double)total; break;
    case EC2T_TSTAT_SPARSITY:
    case EC2T_TSTAT_P_ZERO: *v = (double)count[1] / (double)total; break;
    case EC2T_TSTAT_P_NEG: *v = (double)count[0] / (double)total; break;
    case EC2T_TSTAT_P_POS: *v = (double)count[2] / (double)total; break;
    case EC2T_TSTAT_ENTROPY: {
        double bits = 0;
        for (int32_t i = 0; i < tz->n_layers; i++)
            bits += (double)tz->layers[i].n * ec2t__tern_entropy(tz->layers[i].last.count);
        *v = bits / (double)total;
        break;
    }
    case EC2T_TSTAT_EST_BYTES: *v = ec2t__tz_estimated_bytes(tz); break;
    case EC2T_TSTAT_TARGET_MISSED: *v = ec2t__tz_target_missed(tz); break;
    default: return EC2T_E_INVAL; /* a per-layer statistic */
    }
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_ternarizer_stat(const ec2t_ternarizer *tz, int32_t index, ec2t_tern_stat stat, double *value)
{
    ec2t_status st;
    if (!tz)
        return EC2T_E_INVAL;
    if (!value || index < -1 || index >= tz->n_layers)
        return ec2t__error(tz->ctx, EC2T_E_INVAL, "ec2t_ternarizer_stat: bad index %d or NULL value",
                           (int)index);
    if (stat < EC2T_TSTAT_LAYER_ID || stat > EC2T_TSTAT_TARGET_MISSED)
        return ec2t__error(tz->ctx, EC2T_E_UNSUPPORTED, "ec2t_ternarizer_stat: unknown statistic %d",
                           (int)stat);
    st = index < 0 ? total_stat(tz, stat, value) : layer_stat(&tz->layers[index], stat, value);
    if (st != EC2T_OK)
        return ec2t__error(tz->ctx, st, "ec2t_ternarizer_stat: statistic %d is %s only", (int)stat,
                           index < 0 ? "per layer" : "for all layers (index -1)");
    return EC2T_OK;
}
