/* SPDX-License-Identifier: MIT */
/* The ternarizer's part of a trainer checkpoint (doc/FORMAT.md §12.3): what
 * the trainer does not save itself (it saves the shadow weights and the
 * centroids, the tensors it trains): gamma and the target's ramp, each
 * layer's assignment (frozen in phase B, so it cannot be derived), and where
 * ec2t_ternarizer_train is, with the best epoch of the current phase. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ternarizer-private.h"

#define REALS 4     /* cur_gamma, ramp_start, best_acc, best gamma */
#define COUNTERS 10 /* steer_steps, ramp_steps, trained, frozen, active, epochs_a, epochs_b, phase, done, taken */

static void
assign_name(char *buf, size_t cap, int32_t i)
{
    snprintf(buf, cap, "ternarizer.%d.assign", (int)i);
}

ec2t_status
ec2t__tz_save_state(void *user, ec2t__cwriter *w)
{
    ec2t_ternarizer *tz = user;
    const ec2t__tz_schedule *s = &tz->sched;
    double reals[REALS] = {tz->cur_gamma, tz->ramp_start, s->best_acc, s->best.gamma};
    int64_t counters[COUNTERS] = {tz->steer_steps, tz->ramp_steps, tz->trained, tz->frozen, s->active,
                                  s->epochs_a,     s->epochs_b,     s->phase,   s->done,   s->best.taken};
    char name[64];
    int64_t assigns, tern = ec2t__tz_tern_floats(tz, &assigns), net = ec2t__tz_net_floats(tz->net);
    ec2t_status st = ec2t__cw_add_u32(w, "ternarizer.layers", (uint32_t)tz->n_layers);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "ternarizer.reals", EC2T__KV_F64, reals, REALS);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "ternarizer.counters", EC2T__KV_I64, counters, COUNTERS);
    for (int32_t i = 0; i < tz->n_layers && st == EC2T_OK; i++) {
        assign_name(name, sizeof name, i);
        st = ec2t__cw_add_tensor(w, name, EC2T__DT_I8, 1, &tz->layers[i].n, tz->layers[i].assign,
                                 (uint64_t)tz->layers[i].n);
    }
    if (st == EC2T_OK && s->best.taken) {
        st = ec2t__cw_add_tensor(w, "ternarizer.best.net", EC2T__DT_F32, 1, &net, s->best.net,
                                 (uint64_t)net * 4);
        if (st == EC2T_OK)
            st = ec2t__cw_add_tensor(w, "ternarizer.best.tern", EC2T__DT_F32, 1, &tern, s->best.tern,
                                     (uint64_t)tern * 4);
        if (st == EC2T_OK)
            st = ec2t__cw_add_tensor(w, "ternarizer.best.assign", EC2T__DT_I8, 1, &assigns,
                                     s->best.assign, (uint64_t)assigns);
    }
    return st;
}

/* An I8 tensor of n assignments (-1, 0, +1), checked, or copied to dst. */
static int
assign_pass(const ec2t__creader *r, const char *name, int64_t n, int8_t *dst)
{
    const ec2t__ctensor *t = ec2t__cr_find_tensor(r, name);
    if (!t || t->dtype != EC2T__DT_I8 || t->ndim != 1 || t->dims[0] != n)
        return 0;
    for (int64_t k = 0; k < n; k++) {
        int8_t v = (int8_t)t->data[k];
        if (v < -1 || v > 1)
            return 0;
        if (dst)
            dst[k] = v;
    }
    return 1;
}

static int
counters_ok(const int64_t *c)
{
    const int64_t epochs = c[7] == 1 ? c[5] : c[6];
    for (int k = 2; k <= 4; k++)
        if (c[k] != 0 && c[k] != 1)
            return 0;
    return c[0] >= 0 && c[1] >= 0 && c[5] >= 0 && c[5] <= INT32_MAX && c[6] >= 0 &&
           c[6] <= INT32_MAX && (c[7] == 1 || c[7] == 2) && c[8] >= 0 && c[8] <= epochs &&
           (c[9] == 0 || c[9] == 1);
}

/* Check everything (commit 0; the snapshot's memory is made ready) or take
 * it over (commit 1). */
ec2t_status
ec2t__tz_load_state(void *user, const ec2t__creader *r, int commit)
{
    ec2t_ternarizer *tz = user;
    ec2t__tz_schedule *s = &tz->sched;
    const char *what = ec2t__cr_what(r);
    double reals[REALS];
    int64_t c[COUNTERS], assigns, tern = ec2t__tz_tern_floats(tz, &assigns), net = ec2t__tz_net_floats(tz->net);
    uint64_t nr, nc;
    uint32_t layers;
    char name[64];
    ec2t_status st = ec2t__cr_get_u32(r, "ternarizer.layers", &layers);
    if (st == EC2T_OK)
        st = ec2t__cr_get_array(r, "ternarizer.reals", EC2T__KV_F64, reals, REALS, &nr);
    if (st == EC2T_OK)
        st = ec2t__cr_get_array(r, "ternarizer.counters", EC2T__KV_I64, c, COUNTERS, &nc);
    if (st != EC2T_OK)
        return st;
    if (layers != (uint32_t)tz->n_layers || nr != REALS || nc != COUNTERS || !counters_ok(c) ||
        !(reals[0] >= 0 && reals[0] <= 1e3) || !isfinite(reals[1]) ||
        !(reals[2] >= -1 && reals[2] <= 1) || !(reals[3] >= 0 && reals[3] <= 1e3))
        return ec2t__error(tz->ctx, EC2T_E_FORMAT, "%s: the ternarizer state is malformed or for %u layers, "
                           "not %d", what, (unsigned)layers, (int)tz->n_layers);
    if (s->expect && (!c[4] || c[5] != s->epochs_a || c[6] != s->epochs_b))
        return ec2t__error(tz->ctx, EC2T_E_FORMAT,
                           "%s: a checkpoint of an EC2T run of %lld + %lld epochs, not %lld + %lld", what,
                           (long long)c[5], (long long)c[6], (long long)s->epochs_a, (long long)s->epochs_b);
    for (int32_t i = 0; i < tz->n_layers; i++) {
        assign_name(name, sizeof name, i);
        if (!assign_pass(r, name, tz->layers[i].n, commit ? tz->layers[i].assign : NULL))
            return ec2t__error(tz->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is missing or malformed", what, name);
    }
    if (c[9]) {
        static const char *const names[2] = {"ternarizer.best.net", "ternarizer.best.tern"};
        const int64_t sizes[2] = {net, tern};
        if (!commit && (st = ec2t__tz_snapshot_alloc(tz, &s->best)) != EC2T_OK)
            return st;
        for (int k = 0; k < 2 && st == EC2T_OK; k++) {
            const ec2t__ctensor *t = ec2t__cr_find_tensor(r, names[k]);
            if (!t || t->dtype != EC2T__DT_F32 || t->ndim != 1 || t->dims[0] != sizes[k])
                return ec2t__error(tz->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is missing or malformed", what,
                                   names[k]);
            if (commit)
                st = ec2t__cr_read_f32(r, names[k], 1, &sizes[k], k == 0 ? s->best.net : s->best.tern);
        }
        if (st == EC2T_OK && !assign_pass(r, "ternarizer.best.assign", assigns, commit ? s->best.assign : NULL))
            return ec2t__error(tz->ctx, EC2T_E_FORMAT, "%s: tensor 'ternarizer.best.assign' is missing or "
                               "malformed", what);
    }
    if (!commit || st != EC2T_OK)
        return st;
    tz->cur_gamma = reals[0], tz->ramp_start = reals[1];
    s->best_acc = reals[2], s->best.gamma = reals[3];
    tz->steer_steps = c[0], tz->ramp_steps = c[1], tz->trained = (int)c[2], tz->frozen = c[3];
    s->active = c[4], s->epochs_a = c[5], s->epochs_b = c[6], s->phase = c[7], s->done = c[8];
    s->best.taken = (int)c[9];
    ec2t__tz_recount(tz);
    return EC2T_OK;
}
