/* SPDX-License-Identifier: MIT */
/* ec2t_scaler: settings, the scaled stages, building the super-network, and
 * the thesis' grid search over (depth, width). */
#include <math.h>
#include <string.h>

/* the library implements the experimental API too */
#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/experimental.h>

#include "scaler-private.h"

EC2T_API ec2t_status
ec2t_scaler_new(ec2t_context *ctx, uint32_t flags, ec2t_scaler **out)
{
    ec2t_scaler *s;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_scaler_new: bad argument");
    s = ec2t__calloc(ctx, 1, sizeof *s);
    if (!s)
        return ec2t__nomem(ctx, "scaler");
    s->ctx = ctx;
    s->phi = 1.0;
    s->depth = 1.4; /* the thesis' best pair on CIFAR (d w^2 = 2.02) */
    s->width = 1.2;
    s->transfer = EC2T_TRANSFER_PRESERVE;
    /* replicated channels that start as exact copies get the same gradients
     * and stay copies: the wider network would be no wider in effect */
    s->noise = EC2T__SCALE_NOISE_DEFAULT;
    s->seed = ctx->seed;
    *out = s;
    return EC2T_OK;
}

EC2T_API void
ec2t_scaler_free(ec2t_scaler *s)
{
    if (s)
        ec2t__free(s->ctx, s);
}

/* ---- settings (core/settings.c) ---- */

static ec2t_context *
scaler_ctx(const void *obj)
{
    return ((const ec2t_scaler *)obj)->ctx;
}

static const ec2t__setting scaler_rows[] = {
    EC2T__REAL_AT(EC2T_SCALE_PHI, ec2t_scaler, phi, EC2T__AT_DOUBLE, 0, 8),
    EC2T__REAL_AT(EC2T_SCALE_DEPTH, ec2t_scaler, depth, EC2T__AT_DOUBLE, 1, 8),
    EC2T__REAL_AT(EC2T_SCALE_WIDTH, ec2t_scaler, width, EC2T__AT_DOUBLE, 1, 8),
    EC2T__INT_AT(EC2T_SCALE_TRANSFER, ec2t_scaler, transfer, EC2T__AT_I64, EC2T_TRANSFER_SCRATCH,
                 EC2T_TRANSFER_PRESERVE),
    EC2T__REAL_AT(EC2T_SCALE_NOISE, ec2t_scaler, noise, EC2T__AT_DOUBLE, 0, 1),
    EC2T__INT_AT(EC2T_SCALE_SEED, ec2t_scaler, seed, EC2T__AT_I64, INT64_MIN, INT64_MAX),
};

const ec2t__settings ec2t__scaler_settings = {
    EC2T__SETTINGS_ROWS("scaler", scaler_rows, EC2T_E_INVAL),
    .ctx_of = scaler_ctx,
};

EC2T_API ec2t_status
ec2t_scaler_set_double(ec2t_scaler *s, ec2t_scale_param param, double v)
{
    return ec2t__settings_set_double(&ec2t__scaler_settings, s, param, v, "ec2t_scaler_set_double");
}

EC2T_API ec2t_status
ec2t_scaler_set_int(ec2t_scaler *s, ec2t_scale_param param, int64_t v)
{
    return ec2t__settings_set_int(&ec2t__scaler_settings, s, param, v, "ec2t_scaler_set_int");
}

EC2T_API ec2t_status
ec2t_scaler_get_int(const ec2t_scaler *s, ec2t_scale_param param, int64_t *v)
{
    return ec2t__settings_get_int(&ec2t__scaler_settings, s, param, v, "ec2t_scaler_get_int");
}

/* 0.1's reader: every setting as a double, integers converted */
EC2T_API ec2t_status
ec2t_scaler_get(const ec2t_scaler *s, ec2t_scale_param param, double *v)
{
    const ec2t__setting *row = ec2t__setting_find(&ec2t__scaler_settings, param);
    int64_t i = 0;
    ec2t_status st;
    if (!row || row->type == EC2T__SETTING_DOUBLE)
        return ec2t__settings_get_double(&ec2t__scaler_settings, s, param, v, "ec2t_scaler_get");
    st = ec2t__settings_get_int(&ec2t__scaler_settings, s, param, v ? &i : NULL, "ec2t_scaler_get");
    if (st == EC2T_OK)
        *v = (double)i;
    return st;
}

EC2T_API ec2t_status
ec2t_scaler_param_bounds_int(ec2t_scale_param param, int64_t *lo, int64_t *hi)
{
    return ec2t__settings_bounds_int(&ec2t__scaler_settings, param, lo, hi);
}

EC2T_API ec2t_status
ec2t_scaler_param_bounds_double(ec2t_scale_param param, double *lo, double *hi)
{
    return ec2t__settings_bounds_double(&ec2t__scaler_settings, param, lo, hi);
}

/* The thesis' rounding (model_compound_scaling): to a multiple of 8, at
 * least 8, and 8 more if that lost over 10 % of c * w. */
int32_t
ec2t__scaler_round_width(double cw)
{
    int32_t r = (int32_t)(cw + 4) / 8 * 8;
    if (r < 8)
        r = 8;
    if (r < 0.9 * cw)
        r += 8;
    return r;
}

ec2t_status
ec2t__scaler_build(ec2t_context *ctx, const ec2t_net *base, const ec2t__arch *a, ec2t_net **out)
{
    const ec2t_layer *in = base->layers[0];
    if (a->family == EC2T__ARCH_RESNET)
        return ec2t_net_build_resnet(ctx, a->n_stages, a->blocks, a->widths, in->c, in->h, in->w,
                                     a->classes, 0, out);
    return ec2t_net_build_ec2t_blocks(ctx, a->n_stages, a->blocks, a->widths, a->dropout, in->c,
                                      in->h, in->w, a->classes, 0, out);
}

/* 1 if base has exactly the layers the builder makes from a. */
static int
builds_base(const ec2t_scaler *s, const ec2t_net *base, const ec2t__arch *a)
{
    ec2t_net *again = NULL;
    int same;
    if (ec2t__scaler_build(s->ctx, base, a, &again) != EC2T_OK)
        return 0;
    same = ec2t__net_same_architecture(again, base);
    ec2t_net_free(again);
    return same;
}

/* A network without a recorded family (a model file from before the family
 * was recorded, or one built layer by layer): read the stages off its
 * residual layers (a new stage wherever the width changes), then keep the
 * family whose builder makes exactly these layers. */
static int
recognise(const ec2t_scaler *s, const ec2t_net *base, ec2t__arch *a)
{
    static const int32_t families[2] = {EC2T__ARCH_RESNET, EC2T__ARCH_EC2T_BLOCKS};
    int32_t classes = 0;
    memset(a, 0, sizeof *a);
    if (ec2t_net_output_shape(base, &classes, NULL, NULL) != EC2T_OK)
        return 0;
    a->classes = classes;
    for (int32_t i = 1; i < base->n_layers; i++) {
        const ec2t_layer *l = base->layers[i];
        if (l->kind == EC2T_LAYER_DROPOUT && a->dropout == 0)
            a->dropout = l->dropout_p;
        if (l->kind != EC2T_LAYER_RESIDUAL)
            continue;
        if (a->n_stages == 0 || a->widths[a->n_stages - 1] != l->c) {
            if (a->n_stages == EC2T__MAX_STAGES)
                return 0;
            a->widths[a->n_stages++] = l->c;
        }
        a->blocks[a->n_stages - 1]++;
    }
    for (int f = 0; f < 2 && a->n_stages > 0; f++) {
        a->family = families[f];
        if (builds_base(s, base, a))
            return 1;
    }
    return 0;
}

/* The base's stages: recorded by its builder or recognised. The transfer
 * relies on the builders' layer names and order, so either way the base
 * must be exactly what the builder makes. */
static ec2t_status
base_arch(const ec2t_scaler *s, const ec2t_net *base, const char *fn, ec2t__arch *a)
{
    int recorded = base->arch.family == EC2T__ARCH_RESNET ||
                   base->arch.family == EC2T__ARCH_EC2T_BLOCKS;
    if (recorded) {
        *a = base->arch;
        if (builds_base(s, base, a))
            return EC2T_OK;
        return ec2t__error(s->ctx, EC2T_E_UNSUPPORTED,
                           "%s: the network is not what its builder makes now (changed after it was "
                           "built, or an EC2T-block network of libec2t 0.1, whose layers differ)",
                           fn);
    }
    if (recognise(s, base, a))
        return EC2T_OK;
    return ec2t__error(s->ctx, EC2T_E_UNSUPPORTED,
                       "%s: only ResNet and EC2T-block networks (as ec2t_net_build_resnet and "
                       "ec2t_net_build_ec2t_blocks make them) scale",
                       fn);
}

/* The scaled stages; EC2T_E_UNSUPPORTED if the rounding (or the cap of 4096
 * channels) would narrow a stage: its layers would lose channels, which no
 * transfer preserves and which is not what scaling up means. */
static ec2t_status
scaled_arch(const ec2t_scaler *s, const ec2t__arch *base, const char *fn, ec2t__arch *out)
{
    double dm = pow(s->depth, s->phi), wm = pow(s->width, s->phi);
    *out = *base;
    for (int32_t i = 0; i < base->n_stages; i++) {
        double b = ceil(dm * base->blocks[i] - 1e-9);
        int32_t wd = ec2t__scaler_round_width(wm * base->widths[i]);
        out->blocks[i] = b > 1000 ? 1000 : (int32_t)b;
        out->widths[i] = wd > 4096 ? 4096 : wd;
        if (out->widths[i] < base->widths[i])
            return ec2t__error(s->ctx, EC2T_E_UNSUPPORTED,
                               "%s: stage %d (layers layer%d.*) would narrow from %d to %d "
                               "channels (width multiplier %g^%g = %g rounds down); the scaler "
                               "only widens: use a larger EC2T_SCALE_WIDTH or EC2T_SCALE_PHI",
                               fn, (int)i + 1, (int)i + 1, (int)base->widths[i],
                               (int)out->widths[i], s->width, s->phi, wm);
        if (out->blocks[i] < base->blocks[i])
            return ec2t__error(s->ctx, EC2T_E_UNSUPPORTED,
                               "%s: stage %d (layers layer%d.*) would lose blocks (%d to %d); "
                               "the scaler only deepens",
                               fn, (int)i + 1, (int)i + 1, (int)base->blocks[i],
                               (int)out->blocks[i]);
    }
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_scaler_plan(const ec2t_scaler *s, const ec2t_net *base, int32_t *blocks, int32_t *widths,
                 int32_t *n_stages)
{
    ec2t__arch b, a;
    ec2t_status st;
    if (!s)
        return EC2T_E_INVAL;
    if (!base)
        return ec2t__error(s->ctx, EC2T_E_INVAL, "ec2t_scaler_plan: base is NULL");
    if ((st = base_arch(s, base, "ec2t_scaler_plan", &b)) != EC2T_OK)
        return st;
    if ((st = scaled_arch(s, &b, "ec2t_scaler_plan", &a)) != EC2T_OK)
        return st;
    for (int32_t i = 0; i < a.n_stages; i++) {
        if (blocks)
            blocks[i] = a.blocks[i];
        if (widths)
            widths[i] = a.widths[i];
    }
    if (n_stages)
        *n_stages = a.n_stages;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_scaler_apply(const ec2t_scaler *s, const ec2t_net *base, uint32_t flags, ec2t_net **out)
{
    ec2t__arch b, a;
    ec2t_net *big = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!s)
        return EC2T_E_INVAL;
    if (!base || !out || flags != 0)
        return ec2t__error(s->ctx, EC2T_E_INVAL, "ec2t_scaler_apply: bad argument");
    if ((st = base_arch(s, base, "ec2t_scaler_apply", &b)) != EC2T_OK)
        return st;
    if ((st = scaled_arch(s, &b, "ec2t_scaler_apply", &a)) != EC2T_OK)
        return st;
    st = ec2t__scaler_build(s->ctx, base, &a, &big);
    if (st == EC2T_OK)
        st = ec2t_net_init(big, (uint64_t)s->seed);
    if (st == EC2T_OK && s->transfer == EC2T_TRANSFER_PRESERVE)
        st = ec2t__scaler_transfer(s, base, &b, big);
    if (st != EC2T_OK) {
        ec2t_net_free(big);
        return st;
    }
    *out = big;
    return EC2T_OK;
}

/* One candidate of the grid search: train briefly from scratch, validate. */
static ec2t_status
try_candidate(const ec2t_scaler *s, const ec2t_net *base, double d, double w, ec2t_dataset *train,
              ec2t_dataset *val, int32_t epochs, double *acc)
{
    ec2t_scaler probe = *s;
    ec2t_net *net = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_status st;
    probe.depth = d, probe.width = w, probe.phi = 1, probe.transfer = EC2T_TRANSFER_SCRATCH;
    st = ec2t_scaler_apply(&probe, base, 0, &net);
    if (st == EC2T_OK)
        st = ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_NESTEROV, 1);
    if (st == EC2T_OK)
        st = ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 5e-4);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_COSINE);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_EPOCHS, epochs);
    if (st == EC2T_OK)
        st = ec2t_trainer_set_int(tr, EC2T_TRAIN_SEED, s->seed);
    for (int32_t e = 0; e < epochs && st == EC2T_OK; e++)
        st = ec2t_trainer_epoch(tr, train, 0, NULL, NULL);
    if (st == EC2T_OK)
        st = ec2t_net_evaluate(net, val, 256, 0, NULL, acc);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    return st;
}

EC2T_API ec2t_status
ec2t_scaler_grid_search(const ec2t_scaler *s, const ec2t_net *base, const double *depth,
                        const double *width, int32_t n, ec2t_dataset *train, ec2t_dataset *val,
                        int32_t epochs, ec2t_scale_progress_fn fn, void *user, double *accuracy)
{
    ec2t__arch b;
    ec2t_status st;
    if (!s)
        return EC2T_E_INVAL;
    if (!base || !depth || !width || !train || !val || !accuracy || n < 1 || n > 64 || epochs < 1)
        return ec2t__error(s->ctx, EC2T_E_INVAL, "ec2t_scaler_grid_search: bad argument");
    for (int32_t i = 0; i < n; i++)
        if (!(depth[i] >= 1 && depth[i] <= 8 && width[i] >= 1 && width[i] <= 8))
            return ec2t__error(s->ctx, EC2T_E_INVAL,
                               "ec2t_scaler_grid_search: candidate %d (%g, %g) is outside [1, 8]",
                               (int)i, depth[i], width[i]);
    if ((st = base_arch(s, base, "ec2t_scaler_grid_search", &b)) != EC2T_OK)
        return st;
    for (int32_t i = 0; i < n; i++) {
        if ((st = try_candidate(s, base, depth[i], width[i], train, val, epochs, &accuracy[i])) != EC2T_OK)
            return st;
        if (fn && fn(user, i, depth[i], width[i], accuracy[i]) != 0)
            return ec2t__error(s->ctx, EC2T_E_ABORTED, "ec2t_scaler_grid_search: stopped by the callback");
    }
    return EC2T_OK;
}
