/* SPDX-License-Identifier: MIT */
/* Trainer checkpoints: the network plus everything a trainer needs to go on
 * as if it had never stopped (doc/FORMAT.md, "Checkpoints"). Loading checks
 * the whole file against the trainer before it changes anything. */
#include <stdio.h>
#include <string.h>

#include "collective-private.h"
#include "net-io-private.h"
#include "trainer-private.h"

#define GROUP_REALS 7

static void
key_of(char *buf, size_t cap, const char *fmt_prefix, int32_t i, const char *field)
{
    snprintf(buf, cap, "%s.%d.%s", fmt_prefix, (int)i, field);
}

static void
group_reals(const ec2t__group *g, double *v)
{
    v[0] = g->lr, v[1] = g->momentum, v[2] = g->nesterov, v[3] = g->weight_decay;
    v[4] = g->beta1, v[5] = g->beta2, v[6] = g->eps;
}

static ec2t_status
write_trainer(const ec2t_trainer *tr, ec2t__cwriter *w)
{
    int64_t settings[8] = {tr->batch_size, tr->seed,         tr->schedule, tr->sched_epochs,
                           tr->step_size,  tr->augment,       tr->epoch,    tr->total_steps};
    double reals[2] = {tr->step_gamma, tr->min_lr_factor};
    char key[160];
    ec2t_status st = ec2t__cw_add_array(w, "trainer.settings", EC2T__KV_I64, settings, 8);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "trainer.real_settings", EC2T__KV_F64, reals, 2);
    /* only one-cycle reads it: other checkpoints stay as 0.1 wrote them */
    if (st == EC2T_OK && tr->schedule == EC2T_SCHED_ONE_CYCLE)
        st = ec2t__cw_add_f64(w, "trainer.warmup", tr->warmup);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "trainer.net_rng", EC2T__KV_U64, tr->net->rng.s, 4);
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "trainer.groups", (uint32_t)tr->n_groups);
    for (int32_t g = 0; g < tr->n_groups && st == EC2T_OK; g++) {
        double v[GROUP_REALS];
        group_reals(&tr->groups[g], v);
        key_of(key, sizeof key, "trainer.group", g, "optimizer");
        st = ec2t__cw_add_u32(w, key, (uint32_t)tr->groups[g].opt);
        key_of(key, sizeof key, "trainer.group", g, "settings");
        if (st == EC2T_OK)
            st = ec2t__cw_add_array(w, key, EC2T__KV_F64, v, GROUP_REALS);
    }
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "trainer.tensors", (uint32_t)tr->n_params);
    for (int32_t i = 0; i < tr->n_params && st == EC2T_OK; i++) {
        const ec2t__tparam *p = &tr->params[i];
        int64_t dims[1] = {p->n}, state[2] = {p->group, p->steps};
        key_of(key, sizeof key, "trainer.tensor", i, "name");
        st = ec2t__cw_add_str(w, key, p->name);
        key_of(key, sizeof key, "trainer.tensor", i, "state");
        if (st == EC2T_OK)
            st = ec2t__cw_add_array(w, key, EC2T__KV_I64, state, 2);
        snprintf(key, sizeof key, "optim.%d.m", (int)i);
        if (st == EC2T_OK)
            st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 1, dims, p->m, (uint64_t)p->n * 4);
        snprintf(key, sizeof key, "optim.%d.v", (int)i);
        if (st == EC2T_OK)
            st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 1, dims, p->v, (uint64_t)p->n * 4);
        /* tensors the network does not hold (a hook's) are saved here */
        snprintf(key, sizeof key, "optim.%d.value", (int)i);
        if (st == EC2T_OK && !p->owned_by_net)
            st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 1, dims, p->value, (uint64_t)p->n * 4);
    }
    return st;
}

static ec2t_status
save_checkpoint(const ec2t_trainer *tr, const char *path, uint32_t flags)
{
    ec2t__cwriter *w = NULL;
    ec2t_status st = ec2t__cw_new(tr->ctx, &w);
    if (st == EC2T_OK)
        st = ec2t__cw_add_str(w, "ec2t.file_kind", "checkpoint");
    if (st == EC2T_OK)
        st = ec2t__net_write(tr->net, w);
    if (st == EC2T_OK)
        st = write_trainer(tr, w);
    if (st == EC2T_OK && tr->hooks.save_state)
        st = tr->hooks.save_state(tr->hooks.user, w);
    if (st == EC2T_OK)
        st = ec2t__cw_write_file(w, path);
    ec2t__cw_free(w);
    (void)flags;
    return st;
}

EC2T_API ec2t_status
ec2t_trainer_save_checkpoint(const ec2t_trainer *tr, const char *path, uint32_t flags)
{
    if (!tr)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_save_checkpoint: bad argument");
    if (tr->coll) /* rank 0 writes */
        return ec2t__coll_save(tr, path, flags, save_checkpoint);
    return save_checkpoint(tr, path, flags);
}

/* Everything read and checked before the trainer changes. */
typedef struct staged {
    int64_t settings[8];
    double reals[2];
    double warmup; /* the trainer's own when the file has none */
    uint64_t rng[4];
    ec2t__group groups[EC2T__MAX_GROUPS];
    int32_t n_groups;
} staged;

static ec2t_status
read_settings(ec2t_trainer *tr, const ec2t__creader *r, staged *s)
{
    const char *what = ec2t__cr_what(r);
    uint64_t n8, n2, n4;
    uint32_t groups;
    char key[160];
    ec2t_status st;
    if ((st = ec2t__cr_get_array(r, "trainer.settings", EC2T__KV_I64, s->settings, 8, &n8)) != EC2T_OK ||
        (st = ec2t__cr_get_array(r, "trainer.real_settings", EC2T__KV_F64, s->reals, 2, &n2)) != EC2T_OK ||
        (st = ec2t__cr_get_array(r, "trainer.net_rng", EC2T__KV_U64, s->rng, 4, &n4)) != EC2T_OK ||
        (st = ec2t__cr_get_u32(r, "trainer.groups", &groups)) != EC2T_OK)
        return st;
    if (n8 != 8 || n2 != 2 || n4 != 4)
        return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: malformed trainer settings", what);
    if (!(s->settings[0] >= 1 && s->settings[0] <= 65536 && s->settings[2] >= EC2T_SCHED_CONSTANT &&
          s->settings[2] <= EC2T_SCHED_ONE_CYCLE && s->settings[3] >= 1 && s->settings[4] >= 1 &&
          (s->settings[5] == 0 || s->settings[5] == 1) && s->settings[6] >= 0 &&
          s->settings[7] >= 0 && s->reals[0] > 0 && s->reals[0] <= 1 && s->reals[1] >= 0 &&
          s->reals[1] <= 1))
        return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: trainer settings out of range", what);
    s->warmup = tr->warmup;
    if (ec2t__cr_has_key(r, "trainer.warmup")) {
        if ((st = ec2t__cr_get_f64(r, "trainer.warmup", &s->warmup)) != EC2T_OK)
            return st;
        if (!(s->warmup >= 0 && s->warmup < 1))
            return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: warm-up %g out of range", what,
                               s->warmup);
    }
    if (groups != (uint32_t)tr->n_groups)
        return ec2t__error(tr->ctx, EC2T_E_FORMAT,
                           "%s: the checkpoint has %u parameter groups, the trainer %d", what,
                           (unsigned)groups, (int)tr->n_groups);
    s->n_groups = (int32_t)groups;
    for (int32_t g = 0; g < s->n_groups; g++) {
        double v[GROUP_REALS];
        uint64_t n;
        uint32_t opt;
        key_of(key, sizeof key, "trainer.group", g, "optimizer");
        if ((st = ec2t__cr_get_u32(r, key, &opt)) != EC2T_OK)
            return st;
        key_of(key, sizeof key, "trainer.group", g, "settings");
        if ((st = ec2t__cr_get_array(r, key, EC2T__KV_F64, v, GROUP_REALS, &n)) != EC2T_OK)
            return st;
        if (n != GROUP_REALS || opt != (uint32_t)tr->groups[g].opt)
            return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: group %d differs from the trainer's",
                               what, (int)g);
        for (int k = 0; k < GROUP_REALS; k++)
            if (!ec2t__group_value_ok((ec2t_trainer_param)(EC2T_TRAIN_LR + k), v[k]))
                return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: group %d setting %d is out of range",
                                   what, (int)g, k);
        s->groups[g].opt = tr->groups[g].opt;
        s->groups[g].lr = v[0], s->groups[g].momentum = v[1], s->groups[g].nesterov = v[2];
        s->groups[g].weight_decay = v[3], s->groups[g].beta1 = v[4], s->groups[g].beta2 = v[5];
        s->groups[g].eps = v[6];
    }
    return EC2T_OK;
}

/* Check that a 1-D F32 tensor of dims[0] values exists, or copy it. */
static ec2t_status
f32_pass(ec2t_trainer *tr, const ec2t__creader *r, const char *name, const int64_t *dims,
         float *dst, int commit)
{
    const ec2t__ctensor *t;
    if (commit)
        return ec2t__cr_read_f32(r, name, 1, dims, dst);
    t = ec2t__cr_find_tensor(r, name);
    if (!t || t->dtype != EC2T__DT_F32 || t->ndim != 1 || t->dims[0] != dims[0])
        return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is missing or malformed",
                           ec2t__cr_what(r), name);
    return EC2T_OK;
}

/* Check (commit = 0) or copy (commit = 1) the per-tensor optimizer state. */
static ec2t_status
tensors_pass(ec2t_trainer *tr, const ec2t__creader *r, int commit)
{
    const char *what = ec2t__cr_what(r);
    uint32_t count;
    char key[160];
    ec2t_status st = ec2t__cr_get_u32(r, "trainer.tensors", &count);
    if (st != EC2T_OK)
        return st;
    if (count != (uint32_t)tr->n_params)
        return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: %u trained tensors, the trainer has %d",
                           what, (unsigned)count, (int)tr->n_params);
    for (int32_t i = 0; i < tr->n_params; i++) {
        ec2t__tparam *p = &tr->params[i];
        const char *name;
        int64_t state[2], dims[1] = {p->n};
        uint64_t n;
        key_of(key, sizeof key, "trainer.tensor", i, "name");
        if ((st = ec2t__cr_get_str(r, key, &name)) != EC2T_OK)
            return st;
        if (strcmp(name, p->name) != 0)
            return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: trained tensor %d is '%s', not '%s'",
                               what, (int)i, name, p->name);
        key_of(key, sizeof key, "trainer.tensor", i, "state");
        if ((st = ec2t__cr_get_array(r, key, EC2T__KV_I64, state, 2, &n)) != EC2T_OK)
            return st;
        if (n != 2 || state[0] < -1 || state[0] >= tr->n_groups || state[1] < 0)
            return ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: bad state of tensor '%s'", what, name);
        if (commit) {
            p->group = (int32_t)state[0];
            p->steps = state[1];
        }
        snprintf(key, sizeof key, "optim.%d.m", (int)i);
        st = f32_pass(tr, r, key, dims, p->m, commit);
        snprintf(key, sizeof key, "optim.%d.v", (int)i);
        if (st == EC2T_OK)
            st = f32_pass(tr, r, key, dims, p->v, commit);
        snprintf(key, sizeof key, "optim.%d.value", (int)i);
        if (st == EC2T_OK && !p->owned_by_net)
            st = f32_pass(tr, r, key, dims, p->value, commit);
        if (st != EC2T_OK)
            return st;
    }
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_load_checkpoint(ec2t_trainer *tr, const char *path, uint32_t flags)
{
    ec2t__creader *r = NULL;
    ec2t_net *saved = NULL;
    const char *kind;
    staged s;
    ec2t_status st;
    if (!tr)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_load_checkpoint: bad argument");
    if ((st = ec2t__cr_open_file(tr->ctx, path, &r)) != EC2T_OK)
        return tr->coll ? ec2t__coll_loaded(tr, st) : st;
    st = ec2t__cr_get_str(r, "ec2t.file_kind", &kind);
    if (st == EC2T_OK && strcmp(kind, "checkpoint") != 0)
        st = ec2t__error(tr->ctx, EC2T_E_FORMAT, "%s: a '%s' file, not a checkpoint", path, kind);
    if (st == EC2T_OK)
        st = ec2t__net_read(tr->ctx, r, &saved);
    if (st == EC2T_OK && !ec2t__net_same_architecture(saved, tr->net))
        st = ec2t__error(tr->ctx, EC2T_E_FORMAT,
                         "%s: the checkpoint's network differs from the trainer's", path);
    if (st == EC2T_OK)
        st = read_settings(tr, r, &s);
    if (st == EC2T_OK)
        st = tensors_pass(tr, r, 0);
    if (st == EC2T_OK && tr->hooks.load_state)
        st = tr->hooks.load_state(tr->hooks.user, r, 0);
    if (st == EC2T_OK) {
        /* every check passed: nothing below can fail on the file's account */
        st = ec2t__net_read_tensors(tr->net, r);
        if (st == EC2T_OK)
            st = tensors_pass(tr, r, 1);
        if (st == EC2T_OK && tr->hooks.load_state)
            st = tr->hooks.load_state(tr->hooks.user, r, 1);
        memcpy(tr->groups, s.groups, sizeof s.groups[0] * (size_t)s.n_groups);
        tr->batch_size = s.settings[0], tr->seed = s.settings[1], tr->schedule = s.settings[2];
        tr->sched_epochs = s.settings[3], tr->step_size = s.settings[4], tr->augment = s.settings[5];
        tr->epoch = s.settings[6], tr->total_steps = s.settings[7];
        tr->step_gamma = s.reals[0], tr->min_lr_factor = s.reals[1], tr->warmup = s.warmup;
        memcpy(tr->net->rng.s, s.rng, sizeof s.rng);
        tr->net->loss_ready = 0;
    }
    ec2t_net_free(saved);
    ec2t__cr_free(r);
    return tr->coll ? ec2t__coll_loaded(tr, st) : st;
}
