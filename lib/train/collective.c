/* SPDX-License-Identifier: MIT */
/* Data-parallel training through the caller's collective hook: each rank
 * runs its slice of the global batch, the gradients are summed in buckets
 * started as the backward pass produces them, and every rank applies the
 * same update. The library stays free of MPI: the hook is the caller's. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "collective-private.h"

/* One parameter gradient of the network and its place in the reduce buffer. */
typedef struct slot {
    float *grad;
    int64_t n, off;
} slot;

/* A run of slots reduced together: slots [first, last) of layers >= min_layer. */
typedef struct bucket {
    int64_t off, n;
    int32_t first, last, min_layer;
    void *request;
    int started;
} bucket;

struct ec2t__coll {
    ec2t_collective fn;
    int32_t rank, size;
    int local_bn;
    int checked; /* the ranks were compared since the hook or the state changed */
    slot *slots;
    int32_t n_slots;
    bucket *buckets;
    int32_t n_buckets, next;
    float *buf; /* every gradient, then the loss sum and the correct count */
    int64_t n_buf;
    int failed;
};

/* 0 when the trainer's net changed shape since the buckets were laid out */
static int
layout_ok(const ec2t__coll *c, const ec2t_net *net)
{
    int32_t k = 0;
    for (int32_t i = net->n_params - 1; i >= 0; i--) {
        const ec2t__param_entry *e = &net->params[i];
        if (e->role > EC2T_PARAM_BIAS)
            continue;
        if (k >= c->n_slots || c->slots[k].grad != net->layers[e->layer]->grad[e->role]->data)
            return 0;
        k++;
    }
    return k == c->n_slots && c->buf;
}

/* The network's trained tensors from the last layer to the first (the order
 * the backward pass produces them), cut into buckets. */
static ec2t_status
layout(ec2t_trainer *tr)
{
    ec2t__coll *c = tr->coll;
    const ec2t_net *net = tr->net;
    int64_t off = 0;
    int32_t k = 0;
    if (layout_ok(c, net))
        return EC2T_OK;
    ec2t__free(tr->ctx, c->slots);
    ec2t__free(tr->ctx, c->buckets);
    ec2t__free(tr->ctx, c->buf);
    c->slots = NULL, c->buckets = NULL, c->buf = NULL;
    c->n_slots = c->n_buckets = 0;
    c->slots = ec2t__calloc(tr->ctx, (size_t)net->n_params + 1, sizeof *c->slots);
    c->buckets = ec2t__calloc(tr->ctx, (size_t)net->n_params + 1, sizeof *c->buckets);
    if (!c->slots || !c->buckets)
        return ec2t__nomem(tr->ctx, "gradient buckets");
    for (int32_t i = net->n_params - 1; i >= 0; i--) {
        const ec2t__param_entry *e = &net->params[i];
        bucket *b;
        if (e->role > EC2T_PARAM_BIAS)
            continue;
        if (c->n_buckets == 0 || c->buckets[c->n_buckets - 1].n >= EC2T__BUCKET_FLOATS) {
            b = &c->buckets[c->n_buckets++];
            b->off = off, b->first = k;
        }
        b = &c->buckets[c->n_buckets - 1];
        c->slots[k].grad = net->layers[e->layer]->grad[e->role]->data;
        c->slots[k].n = net->layers[e->layer]->grad[e->role]->numel;
        c->slots[k].off = off;
        off += c->slots[k].n;
        b->n += c->slots[k].n;
        b->last = ++k;
        b->min_layer = e->layer;
    }
    c->n_slots = k;
    if (c->n_buckets == 0) { /* nothing trained: a bucket for the loss alone */
        c->buckets[0].off = 0, c->buckets[0].min_layer = 0;
        c->n_buckets = 1;
    }
    c->buckets[c->n_buckets - 1].n += 2; /* the loss sum and the correct count */
    c->n_buf = off + 2;
    c->buf = ec2t__alloc(tr->ctx, ec2t__mul_size((size_t)c->n_buf, sizeof(float)), 64);
    return c->buf ? EC2T_OK : ec2t__nomem(tr->ctx, "gradient buckets");
}

static int
reduce(ec2t__coll *c, float *buf, int64_t n)
{
    if (c->failed || c->fn.allreduce_sum(c->fn.user, buf, n) != 0)
        c->failed = 1;
    return c->failed ? -1 : 0;
}

/* net->sync_sum: batch norm's sums */
static int
sync_sum(void *user, float *buf, int64_t n)
{
    return reduce(user, buf, n);
}

static void
start_bucket(ec2t__coll *c, const ec2t_net *net, bucket *b)
{
    for (int32_t k = b->first; k < b->last; k++)
        memcpy(c->buf + c->slots[k].off, c->slots[k].grad, (size_t)c->slots[k].n * sizeof(float));
    if (b == &c->buckets[c->n_buckets - 1]) {
        c->buf[c->n_buf - 2] = (float)(net->loss * (double)net->batch);
        c->buf[c->n_buf - 1] = (float)net->correct;
    }
    b->started = 1;
    b->request = NULL;
    if (c->failed)
        return;
    if (c->fn.allreduce_start) {
        if (c->fn.allreduce_start(c->fn.user, c->buf + b->off, b->n, &b->request) != 0)
            c->failed = 1;
    } else {
        reduce(c, c->buf + b->off, b->n);
    }
}

/* net->grad_ready: start every bucket whose layers are all done */
static void
grad_ready(void *user, int32_t layer)
{
    ec2t_trainer *tr = user;
    ec2t__coll *c = tr->coll;
    while (c->next < c->n_buckets && layer <= c->buckets[c->next].min_layer)
        start_bucket(c, tr->net, &c->buckets[c->next++]);
}

/* ---- agreeing at start ---- */

static void
fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
}

#define FNV_START 0xcbf29ce484222325ULL

/* What must be equal on every rank: the network and the settings, ... */
static uint64_t
settings_hash(const ec2t_trainer *tr, int64_t data_size)
{
    uint64_t h = FNV_START;
    const ec2t_net *net = tr->net;
    int64_t v[] = {tr->batch_size, tr->seed, tr->schedule, tr->sched_epochs, tr->step_size,
                   tr->augment, tr->n_groups, tr->n_params, tr->n_teachers, tr->teacher_mirror,
                   net->n_layers, data_size, tr->coll->local_bn};
    double d[] = {tr->step_gamma, tr->min_lr_factor, tr->warmup, tr->temperature, tr->alpha};
    fnv(&h, v, sizeof v);
    fnv(&h, d, sizeof d);
    for (int32_t g = 0; g < tr->n_groups; g++) {
        const ec2t__group *gr = &tr->groups[g];
        double f[] = {(double)gr->opt, gr->lr, gr->momentum, gr->nesterov, gr->weight_decay,
                      gr->beta1, gr->beta2, gr->eps};
        fnv(&h, f, sizeof f);
    }
    for (int32_t i = 0; i < net->n_layers; i++) {
        const ec2t_layer *l = net->layers[i];
        int32_t s[] = {(int32_t)l->kind, l->c, l->h, l->w, l->n_inputs};
        fnv(&h, s, sizeof s);
    }
    for (int32_t i = 0; i < tr->n_params; i++) {
        fnv(&h, tr->params[i].name, strlen(tr->params[i].name));
        fnv(&h, &tr->params[i].n, sizeof tr->params[i].n);
        fnv(&h, &tr->params[i].group, sizeof tr->params[i].group);
    }
    return h;
}

/* ... and the trained state: weights, statistics, optimizer state, counters. */
static uint64_t
state_hash(const ec2t_trainer *tr)
{
    uint64_t h = FNV_START;
    const ec2t_net *net = tr->net;
    int64_t v[] = {tr->epoch, tr->total_steps};
    fnv(&h, v, sizeof v);
    for (int32_t i = 0; i < net->n_params; i++) {
        const ec2t__param_entry *e = &net->params[i];
        const ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        fnv(&h, t->data, (size_t)t->numel * sizeof(float));
    }
    for (int32_t i = 0; i < tr->n_params; i++) {
        const ec2t__tparam *p = &tr->params[i];
        if (!p->owned_by_net)
            fnv(&h, p->value, (size_t)p->n * sizeof(float));
        fnv(&h, p->m, (size_t)p->n * sizeof(float));
        fnv(&h, p->v, (size_t)p->n * sizeof(float));
        fnv(&h, &p->steps, sizeof p->steps);
    }
    return h;
}

/* Each hash as 16 nibbles and their squares, summed over the ranks: every
 * rank holds the same value exactly when sum(x^2) * size == (sum x)^2 for
 * every nibble (Cauchy-Schwarz), and the sums are exact in float up to
 * 2^24 / 225 ranks. */
static ec2t_status
agree(ec2t_trainer *tr, int64_t data_size)
{
    ec2t__coll *c = tr->coll;
    uint64_t h[2] = {settings_hash(tr, data_size), state_hash(tr)};
    float buf[64];
    int differ[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++) {
            float x = (float)((h[k] >> (4 * i)) & 15);
            buf[32 * k + 2 * i] = x;
            buf[32 * k + 2 * i + 1] = x * x;
        }
    if (reduce(c, buf, 64) != 0)
        return ec2t__error(tr->ctx, EC2T_E_ABORTED, "trainer: rank %d: the collective failed",
                           (int)c->rank);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 16; i++) {
            double s = buf[32 * k + 2 * i], s2 = buf[32 * k + 2 * i + 1];
            differ[k] |= s2 * (double)c->size != s * s;
        }
    if (differ[0])
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "trainer: rank %d of %d: the ranks differ in network, settings or data "
                           "set size; every rank must run the same program on the same files",
                           (int)c->rank, (int)c->size);
    if (differ[1])
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "trainer: rank %d of %d: the ranks differ in weights or optimizer "
                           "state; seed every rank alike or resume every rank from one checkpoint",
                           (int)c->rank, (int)c->size);
    c->checked = 1;
    return EC2T_OK;
}

/* ---- the trainer's side ---- */

ec2t_status
ec2t__coll_fail(ec2t_trainer *tr, ec2t_status st)
{
    ec2t__coll *c = tr->coll;
    if (c && c->fn.abort && st != EC2T_OK) {
        char msg[320];
        snprintf(msg, sizeof msg, "libec2t: rank %d of %d failed: %s", (int)c->rank, (int)c->size,
                 ec2t_context_errmsg(tr->ctx));
        c->failed = 1;
        c->fn.abort(c->fn.user, msg);
    }
    return st;
}

void
ec2t__coll_free(ec2t_trainer *tr)
{
    ec2t__coll *c = tr->coll;
    if (!c)
        return;
    ec2t__free(tr->ctx, c->slots);
    ec2t__free(tr->ctx, c->buckets);
    ec2t__free(tr->ctx, c->buf);
    ec2t__free(tr->ctx, c);
    tr->coll = NULL;
}

int64_t
ec2t__coll_min_batch(const ec2t_trainer *tr)
{
    return tr->coll ? tr->coll->size : 1;
}

ec2t_status
ec2t__coll_epoch_begin(ec2t_trainer *tr, int64_t data_size)
{
    if (data_size < tr->coll->size)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_epoch: %lld samples for %d ranks",
                           (long long)data_size, (int)tr->coll->size);
    return agree(tr, data_size);
}

ec2t_status
ec2t__coll_epoch_end(ec2t_trainer *tr, ec2t_status st)
{
    ec2t__coll *c = tr->coll;
    const ec2t_net *net = tr->net;
    if (st != EC2T_OK)
        return ec2t__coll_fail(tr, st);
    if (!c->local_bn)
        return EC2T_OK;
    /* local batch norm: the ranks' running statistics drifted apart */
    for (int32_t i = 0; i < net->n_params; i++) {
        const ec2t__param_entry *e = &net->params[i];
        ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        if (e->role != EC2T_PARAM_RUNNING_MEAN && e->role != EC2T_PARAM_RUNNING_VAR)
            continue;
        if (reduce(c, t->data, t->numel) != 0)
            return ec2t__error(tr->ctx, EC2T_E_ABORTED, "trainer: rank %d: the collective failed",
                               (int)c->rank);
        for (int64_t k = 0; k < t->numel; k++)
            t->data[k] /= (float)c->size;
    }
    return EC2T_OK;
}

ec2t_status
ec2t__coll_step_begin(ec2t_trainer *tr, int64_t batch, int64_t *lo, int64_t *count)
{
    ec2t__coll *c = tr->coll;
    ec2t_net *net = tr->net;
    ec2t_status st;
    if (batch < c->size)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_step: a global batch of %lld for %d ranks",
                           (long long)batch, (int)c->size);
    if (!c->checked && (st = agree(tr, 0)) != EC2T_OK)
        return st;
    if ((st = layout(tr)) != EC2T_OK)
        return ec2t__coll_fail(tr, st);
    *lo = batch * c->rank / c->size;
    *count = batch * (c->rank + 1) / c->size - *lo;
    for (int32_t b = 0; b < c->n_buckets; b++)
        c->buckets[b].started = 0;
    c->next = 0;
    net->global_batch = batch;
    net->sync_sum = c->local_bn ? NULL : sync_sum;
    net->sync_user = c;
    net->sync_failed = 0;
    net->grad_ready = grad_ready;
    net->grad_ready_user = tr;
    return EC2T_OK;
}

ec2t_status
ec2t__coll_step_end(ec2t_trainer *tr, ec2t_status st, float *loss, int64_t *correct)
{
    ec2t__coll *c = tr->coll;
    ec2t_net *net = tr->net;
    int64_t global = net->global_batch;
    net->global_batch = 0;
    net->sync_sum = NULL;
    net->grad_ready = NULL;
    if (st != EC2T_OK)
        return ec2t__coll_fail(tr, st);
    if (net->sync_failed)
        c->failed = 1;
    grad_ready(tr, 0); /* whatever the backward pass left */
    for (int32_t b = 0; b < c->n_buckets; b++) {
        bucket *bk = &c->buckets[b];
        if (bk->request && c->fn.wait(c->fn.user, bk->request) != 0)
            c->failed = 1;
        bk->request = NULL;
    }
    if (c->failed)
        return ec2t__error(tr->ctx, EC2T_E_ABORTED, "trainer: rank %d of %d: the collective failed",
                           (int)c->rank, (int)c->size);
    for (int32_t k = 0; k < c->n_slots; k++)
        memcpy(c->slots[k].grad, c->buf + c->slots[k].off, (size_t)c->slots[k].n * sizeof(float));
    if (loss)
        *loss = (float)((double)c->buf[c->n_buf - 2] / (double)global);
    if (correct)
        *correct = (int64_t)c->buf[c->n_buf - 1];
    return EC2T_OK;
}

/* ---- checkpoints ---- */

ec2t_status
ec2t__coll_save(const ec2t_trainer *tr, const char *path, uint32_t flags,
                ec2t_status (*save)(const ec2t_trainer *, const char *, uint32_t))
{
    ec2t__coll *c = tr->coll;
    int32_t st = EC2T_OK;
    if (c->rank == 0)
        st = save(tr, path, flags);
    if (c->fn.broadcast(c->fn.user, &st, sizeof st, 0) != 0) {
        c->failed = 1;
        return ec2t__error(tr->ctx, EC2T_E_ABORTED, "trainer: rank %d: the collective failed",
                           (int)c->rank);
    }
    if (st != EC2T_OK && c->rank != 0)
        return ec2t__error(tr->ctx, (ec2t_status)st, "%s: rank 0 failed to write the checkpoint", path);
    return (ec2t_status)st;
}

ec2t_status
ec2t__coll_loaded(ec2t_trainer *tr, ec2t_status st)
{
    ec2t__coll *c = tr->coll;
    float failed = st != EC2T_OK;
    c->checked = 0;
    if (reduce(c, &failed, 1) != 0)
        return ec2t__error(tr->ctx, EC2T_E_ABORTED, "trainer: rank %d: the collective failed",
                           (int)c->rank);
    if (st == EC2T_OK && failed > 0)
        return ec2t__error(tr->ctx, EC2T_E_IO,
                           "trainer: rank %d: another rank failed to load the checkpoint", (int)c->rank);
    return st;
}

/* ---- the hook ---- */

EC2T_API ec2t_status
ec2t_trainer_set_collective(ec2t_trainer *tr, const ec2t_collective *coll, uint32_t flags)
{
    ec2t_collective fn;
    ec2t__coll *c;
    int32_t rank, size;
    if (!tr)
        return EC2T_E_INVAL;
    if (flags & ~EC2T_COLLECTIVE_LOCAL_BN)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_collective: unknown flags");
    if (!coll) {
        ec2t__coll_free(tr);
        return EC2T_OK;
    }
    /* the first version's table; later fields are read only when present */
    if (coll->struct_size < offsetof(ec2t_collective, abort) + sizeof coll->abort)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_collective: struct_size %u is too small",
                           (unsigned)coll->struct_size);
    memset(&fn, 0, sizeof fn);
    memcpy(&fn, coll, coll->struct_size < sizeof fn ? coll->struct_size : sizeof fn);
    if (!fn.rank || !fn.size || !fn.allreduce_sum || !fn.broadcast || !fn.abort ||
        (fn.allreduce_start && !fn.wait))
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "ec2t_trainer_set_collective: rank, size, allreduce_sum, broadcast and "
                           "abort are required, and wait with allreduce_start");
    rank = fn.rank(fn.user);
    size = fn.size(fn.user);
    if (size < 1 || rank < 0 || rank >= size)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_collective: rank %d of %d",
                           (int)rank, (int)size);
    c = ec2t__calloc(tr->ctx, 1, sizeof *c);
    if (!c)
        return ec2t__nomem(tr->ctx, "collective");
    ec2t__coll_free(tr);
    c->fn = fn;
    c->rank = rank;
    c->size = size;
    c->local_bn = (flags & EC2T_COLLECTIVE_LOCAL_BN) != 0;
    tr->coll = c;
    return EC2T_OK;
}
