/* SPDX-License-Identifier: MIT */
/* ec2t_engine_compile: a network to a program of fused operations.
 *
 * Batchnorm after a conv/dense layer that only it reads is folded into the
 * layer's per-channel epilogue (scale, bias), and a ReLU that only reads the
 * result joins the epilogue too; for a ternary layer the scale multiplies the
 * two sums, so the weights keep their three values. A batchnorm elsewhere
 * (before a conv, as in the EC2T block) becomes a per-channel affine step. */
#include <math.h>
#include <string.h>

#include "engine-private.h"
#include "net-private.h"

/* Whether w holds only values of {-a, 0, +b}; then *wp = b, *wn = a (0 if absent). */
static int
ternary_levels(const float *w, int64_t n, float *wp, float *wn)
{
    float p = 0, q = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = w[i];
        if (v > 0) {
            if (p == 0)
                p = v;
            else if (v != p)
                return 0;
        } else if (v < 0) {
            if (q == 0)
                q = -v;
            else if (-v != q)
                return 0;
        } else if (v != 0) {
            return 0; /* NaN */
        }
    }
    *wp = p;
    *wn = q;
    return 1;
}

/* The layer that reads l's output, if exactly one does and l is not the output. */
static const ec2t_layer *
sole_consumer(const ec2t_net *net, const ec2t_layer *l, int32_t output_layer)
{
    const ec2t_layer *found = NULL;
    if (l->id == output_layer)
        return NULL;
    for (int32_t i = l->id + 1; i < net->n_layers; i++) {
        const ec2t_layer *c = net->layers[i];
        for (int32_t k = 0; k < c->n_inputs; k++) {
            if (c->inputs[k] != l->id)
                continue;
            if (found || c->kind == EC2T_LAYER_SOFTMAX_XENT)
                return NULL;
            found = c;
        }
    }
    return found;
}

typedef struct builder {
    ec2t_engine *e;
    const ec2t_net *net;
    int32_t *value_of; /* layer id -> value id */
    unsigned char *absorbed;
    int32_t output_layer;
    int32_t cap_ops, cap_values;
} builder;

static ec2t_status
grow(ec2t_context *ctx, void **p, int32_t *cap, int32_t need, size_t elem)
{
    void *q;
    int32_t ncap;
    if (need <= *cap)
        return EC2T_OK;
    ncap = *cap ? *cap * 2 : 32;
    while (ncap < need)
        ncap *= 2;
    q = ec2t__calloc(ctx, (size_t)ncap, elem);
    if (!q)
        return ec2t__nomem(ctx, "engine program");
    if (*p)
        memcpy(q, *p, (size_t)*cap * elem);
    ec2t__free(ctx, *p);
    *p = q;
    *cap = ncap;
    return EC2T_OK;
}

static ec2t_status
new_value(builder *b, int32_t c, int32_t h, int32_t w, int32_t *id)
{
    ec2t_engine *e = b->e;
    ec2t_status st = grow(e->ctx, (void **)&e->values, &b->cap_values, e->n_values + 1,
                          sizeof *e->values);
    if (st != EC2T_OK)
        return st;
    e->values[e->n_values] = (ec2t__value){c, h, w, -1};
    *id = e->n_values++;
    return EC2T_OK;
}

/* A new operation reading layer `in`'s value, writing a new value for `l`. */
static ec2t_status
new_op(builder *b, ec2t__opkind kind, const ec2t_layer *l, ec2t__eop **op)
{
    ec2t_engine *e = b->e;
    int32_t out;
    ec2t_status st = grow(e->ctx, (void **)&e->ops, &b->cap_ops, e->n_ops + 1, sizeof *e->ops);
    if (st == EC2T_OK)
        st = new_value(b, l->c, l->h, l->w, &out);
    if (st != EC2T_OK)
        return st;
    *op = &e->ops[e->n_ops++];
    memset(*op, 0, sizeof **op);
    (*op)->kind = kind;
    (*op)->n_in = l->n_inputs;
    for (int32_t k = 0; k < l->n_inputs; k++)
        (*op)->in[k] = b->value_of[l->inputs[k]];
    (*op)->out = out;
    b->value_of[l->id] = out;
    return EC2T_OK;
}

static float *
copy_floats(ec2t_context *ctx, const float *src, int64_t n)
{
    float *p = ec2t__alloc(ctx, (size_t)n * sizeof(float), 64);
    if (p)
        memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}

/* Per-channel scale and bias of a batchnorm in eval mode. */
static ec2t_status
bn_affine(ec2t_context *ctx, const ec2t_layer *bn, float **scale, float **bias)
{
    const float *g = bn->param[EC2T_PARAM_WEIGHT] ? bn->param[EC2T_PARAM_WEIGHT]->data : NULL;
    const float *be = bn->param[EC2T_PARAM_BIAS] ? bn->param[EC2T_PARAM_BIAS]->data : NULL;
    const float *mean = bn->param[EC2T_PARAM_RUNNING_MEAN]->data;
    const float *var = bn->param[EC2T_PARAM_RUNNING_VAR]->data;
    *scale = ec2t__alloc(ctx, (size_t)bn->c * sizeof(float), 64);
    *bias = ec2t__alloc(ctx, (size_t)bn->c * sizeof(float), 64);
    if (!*scale || !*bias)
        return ec2t__nomem(ctx, "batchnorm folding");
    for (int32_t c = 0; c < bn->c; c++) {
        double s = (g ? g[c] : 1.0) / sqrt((double)var[c] + bn->bn_eps);
        (*scale)[c] = (float)s;
        (*bias)[c] = (float)((be ? be[c] : 0.0) - mean[c] * s);
    }
    return EC2T_OK;
}

/* conv/dense with its folded batchnorm and ReLU. */
static ec2t_status
add_weighted(builder *b, const ec2t_layer *l)
{
    ec2t_context *ctx = b->e->ctx;
    const ec2t_layer *in = b->net->layers[l->inputs[0]], *next;
    const ec2t_tensor *w = l->param[EC2T_PARAM_WEIGHT];
    const ec2t_layer *tail = l;
    ec2t__eop *op;
    float *scale = NULL, *bias = NULL;
    ec2t_status st = new_op(b, l->kind == EC2T_LAYER_CONV2D ? EC2T__OP_CONV : EC2T__OP_DENSE, l, &op);
    if (st != EC2T_OK)
        return st;
    op->m = l->c;
    op->k = (int32_t)(w->numel / l->c);
    op->groups = l->kind == EC2T_LAYER_CONV2D ? l->groups : 1;
    if (l->kind == EC2T_LAYER_CONV2D)
        op->win = (ec2t__window){in->h, in->w, l->h, l->w, l->kh, l->kw, l->stride, l->pad};
    op->ternary = op->groups == 1 && ternary_levels(w->data, w->numel, &op->wp, &op->wn);
    op->weight = copy_floats(ctx, w->data, w->numel);
    if (!op->weight)
        return ec2t__nomem(ctx, "engine weights");
    if (l->param[EC2T_PARAM_BIAS]) {
        op->bias = copy_floats(ctx, l->param[EC2T_PARAM_BIAS]->data, l->c);
        if (!op->bias)
            return ec2t__nomem(ctx, "engine bias");
    }
    next = sole_consumer(b->net, l, b->output_layer);
    if (next && next->kind == EC2T_LAYER_BATCHNORM) {
        if ((st = bn_affine(ctx, next, &scale, &bias)) != EC2T_OK) {
            ec2t__free(ctx, scale);
            ec2t__free(ctx, bias);
            return st;
        }
        /* scale (W x + b) + beta' = (scale W) x + (scale b + beta') */
        for (int32_t c = 0; c < l->c; c++)
            bias[c] += op->bias ? scale[c] * op->bias[c] : 0.0f;
        ec2t__free(ctx, op->bias);
        op->bias = bias;
        op->scale = scale;
        b->absorbed[next->id] = 1;
        b->value_of[next->id] = op->out;
        tail = next;
        next = sole_consumer(b->net, next, b->output_layer);
    }
    if (next && next->kind == EC2T_LAYER_RELU) {
        op->relu = 1;
        b->absorbed[next->id] = 1;
        b->value_of[next->id] = op->out;
    }
    (void)tail;
    return EC2T_OK;
}

static ec2t_status
add_affine(builder *b, const ec2t_layer *l)
{
    const ec2t_layer *next;
    ec2t__eop *op;
    ec2t_status st = new_op(b, EC2T__OP_AFFINE, l, &op);
    if (st == EC2T_OK)
        st = bn_affine(b->e->ctx, l, &op->scale, &op->bias);
    if (st != EC2T_OK)
        return st;
    next = sole_consumer(b->net, l, b->output_layer);
    if (next && next->kind == EC2T_LAYER_RELU) {
        op->relu = 1;
        b->absorbed[next->id] = 1;
        b->value_of[next->id] = op->out;
    }
    return EC2T_OK;
}

static ec2t_status
add_layer(builder *b, const ec2t_layer *l)
{
    const ec2t_layer *in = l->n_inputs ? b->net->layers[l->inputs[0]] : NULL, *next;
    ec2t__eop *op;
    ec2t_status st = EC2T_OK;
    switch (l->kind) {
    case EC2T_LAYER_DENSE:
    case EC2T_LAYER_CONV2D: return add_weighted(b, l);
    case EC2T_LAYER_BATCHNORM: return add_affine(b, l);
    case EC2T_LAYER_DROPOUT: /* the identity at inference */
        b->value_of[l->id] = b->value_of[l->inputs[0]];
        return EC2T_OK;
    case EC2T_LAYER_FLATTEN:
        if (in->h == 1 && in->w == 1) { /* (C, N, 1) is already (C, N) */
            b->value_of[l->id] = b->value_of[l->inputs[0]];
            return EC2T_OK;
        }
        return new_op(b, EC2T__OP_FLATTEN, l, &op);
    case EC2T_LAYER_RELU: return new_op(b, EC2T__OP_RELU, l, &op);
    case EC2T_LAYER_GLOBAL_AVGPOOL: return new_op(b, EC2T__OP_GAP, l, &op);
    case EC2T_LAYER_MAXPOOL:
    case EC2T_LAYER_AVGPOOL:
        st = new_op(b, l->kind == EC2T_LAYER_MAXPOOL ? EC2T__OP_MAXPOOL : EC2T__OP_AVGPOOL, l, &op);
        if (st == EC2T_OK)
            op->win = (ec2t__window){in->h, in->w, l->h, l->w, l->kh, l->kw, l->stride, l->pad};
        return st;
    case EC2T_LAYER_RESIDUAL:
        st = new_op(b, EC2T__OP_ADD, l, &op);
        if (st != EC2T_OK)
            return st;
        {
            const ec2t_layer *sb = b->net->layers[l->inputs[1]];
            op->win = (ec2t__window){sb->h, sb->w, l->h, l->w, 1, 1, l->stride, 0};
            op->stride = l->stride;
        }
        next = sole_consumer(b->net, l, b->output_layer);
        if (next && next->kind == EC2T_LAYER_RELU) {
            op->relu = 1;
            b->absorbed[next->id] = 1;
            b->value_of[next->id] = op->out;
        }
        return EC2T_OK;
    case EC2T_LAYER_SOFTMAX_XENT: return EC2T_OK;
    default:
        return ec2t__error(b->e->ctx, EC2T_E_UNSUPPORTED, "ec2t_engine_compile: layer '%s' of kind %d",
                           l->name, (int)l->kind);
    }
}

/* ---- dead channels ---- */

/* The operation reading value v, if exactly one does and v is not the output. */
static ec2t__eop *
sole_reader(ec2t_engine *e, int32_t v)
{
    ec2t__eop *found = NULL;
    if (v == e->output)
        return NULL;
    for (int32_t i = 0; i < e->n_ops; i++)
        for (int32_t k = 0; k < e->ops[i].n_in; k++)
            if (e->ops[i].in[k] == v) {
                if (found)
                    return NULL;
                found = &e->ops[i];
            }
    return found;
}

/* Output channel m of op is dead when its weights are all zero and its
 * epilogue then yields exactly 0: removing it and the matching input channel
 * of the one reader changes no output. (A constant non-zero channel is kept:
 * next to zero padding it is not equivalent to a bias.) */
static int
dead_channel(const ec2t__eop *op, int32_t m)
{
    float b = op->bias ? op->bias[m] : 0.0f;
    for (int32_t k = 0; k < op->k; k++)
        if (op->weight[(int64_t)m * op->k + k] != 0.0f)
            return 0;
    return op->relu ? b <= 0.0f : b == 0.0f;
}

static void
drop_row(float *a, int32_t rows, int64_t width, int32_t m)
{
    if (a)
        memmove(a + (int64_t)m * width, a + (int64_t)(m + 1) * width,
                (size_t)((int64_t)(rows - m - 1) * width) * sizeof(float));
}

/* Remove input channel m (its `span` = kh*kw columns) from every row of r. */
static void
drop_input_channel(ec2t__eop *r, int32_t m, int32_t span)
{
    int32_t k = r->k, nk = r->k - span;
    for (int32_t row = 0; row < r->m; row++) {
        const float *src = r->weight + (int64_t)row * k;
        float *dst = r->weight + (int64_t)row * nk;
        memmove(dst, src, (size_t)m * span * sizeof(float));
        memmove(dst + (int64_t)m * span, src + (int64_t)(m + 1) * span,
                (size_t)(k - (m + 1) * span) * sizeof(float));
    }
    r->k = nk;
}

static void
remove_dead_channels(ec2t_engine *e)
{
    for (int32_t i = 0; i < e->n_ops; i++) {
        ec2t__eop *op = &e->ops[i], *r;
        int32_t span;
        if ((op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_DENSE) || op->groups != 1)
            continue;
        r = sole_reader(e, op->out);
        if (!r || (r->kind != EC2T__OP_CONV && r->kind != EC2T__OP_DENSE) || r->groups != 1)
            continue;
        span = r->kind == EC2T__OP_CONV ? r->win.kh * r->win.kw : e->values[op->out].h * e->values[op->out].w;
        for (int32_t m = op->m - 1; m >= 0 && op->m > 1; m--) {
            if (!dead_channel(op, m))
                continue;
            drop_row(op->weight, op->m, op->k, m);
            drop_row(op->scale, op->m, 1, m);
            drop_row(op->bias, op->m, 1, m);
            drop_input_channel(r, m, span);
            op->m--;
            e->values[op->out].c--;
            e->dead_channels++;
        }
    }
}

EC2T_API ec2t_status
ec2t_engine_compile(const ec2t_net *net, uint32_t flags, ec2t_engine **out)
{
    builder b;
    ec2t_engine *e;
    ec2t_context *ctx;
    ec2t_status st = EC2T_OK;
    int32_t v0;
    if (out)
        *out = NULL;
    if (!net)
        return EC2T_E_INVAL;
    ctx = net->ctx;
    if (!out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_engine_compile: bad argument");
    e = ec2t__calloc(ctx, 1, sizeof *e);
    if (!e)
        return ec2t__nomem(ctx, "engine");
    e->ctx = ctx;
    e->encoding = EC2T_ENCODING_ENTROPY;
    e->dense_fallback = 1;
    e->float_bits = 32;
    memset(&b, 0, sizeof b);
    b.e = e;
    b.net = net;
    b.output_layer = net->loss_layer >= 0 ? net->layers[net->loss_layer]->inputs[0] : net->n_layers - 1;
    b.value_of = ec2t__calloc(ctx, (size_t)net->n_layers, sizeof *b.value_of);
    b.absorbed = ec2t__calloc(ctx, (size_t)net->n_layers, 1);
    if (!b.value_of || !b.absorbed)
        st = ec2t__nomem(ctx, "engine compiler");
    if (st == EC2T_OK)
        st = new_value(&b, net->layers[0]->c, net->layers[0]->h, net->layers[0]->w, &v0);
    for (int32_t i = 1; i < net->n_layers && st == EC2T_OK; i++)
        if (!b.absorbed[i])
            st = add_layer(&b, net->layers[i]);
    if (st == EC2T_OK) {
        e->output = b.value_of[b.output_layer];
        remove_dead_channels(e);
        st = ec2t__engine_finish(e);
    }
    ec2t__free(ctx, b.value_of);
    ec2t__free(ctx, b.absorbed);
    if (st != EC2T_OK) {
        ec2t_engine_free(e);
        return st;
    }
    *out = e;
    return EC2T_OK;
}
