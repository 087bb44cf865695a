/* SPDX-License-Identifier: MIT */
/* ec2t_report: which layers are counted and how (ternary or not, dead
 * channels, the biases, ReLUs and residual additions that follow them), and
 * the queries. The counting rules are in doc/METRICS.md. */
#include <math.h>
#include <string.h>

#include "net-private.h"
#include "report-private.h"

#define ALL_FLAGS                                                                             \
    (EC2T_REPORT_TREE_ADDER | EC2T_REPORT_COMPRESSED_FORMATS | EC2T_REPORT_STORE_32BIT |       \
     EC2T_REPORT_MULT_32BIT | EC2T_REPORT_COMPAT_SCRIPT)

/* State that lives only while a report is built. */
typedef struct builder {
    const ec2t_net *net;
    ec2t_report *r;
    int32_t *index;    /* network layer id -> counted index, or -1 */
    uint8_t *dead;     /* dead output channels of every counted layer, back to back */
    int64_t *dead_off; /* counted index -> its first entry in dead */
} builder;

static int
counted_kind(const ec2t_layer *l)
{
    return (l->kind == EC2T_LAYER_CONV2D || l->kind == EC2T_LAYER_DENSE) &&
           l->param[EC2T_PARAM_WEIGHT] != NULL;
}

static const ec2t_layer *
layer_of(const builder *b, int32_t i)
{
    return b->net->layers[b->r->layers[i].id];
}

/* ---- classification ------------------------------------------------------ */

/* Ternary: at most one negative and one positive value besides zero. */
static void
classify(ec2t__report_layer *rl, const ec2t_layer *l)
{
    const ec2t_tensor *t = l->param[EC2T_PARAM_WEIGHT];
    float neg = 0, pos = 0;
    int ternary = 1;
    rl->weights = t->numel;
    rl->has_bias = l->param[EC2T_PARAM_BIAS] != NULL; /* or a batchnorm, found later */
    for (int64_t i = 0; i < t->numel; i++) {
        float v = t->data[i];
        if (v == 0)
            rl->zeros++;
        else if (v < 0 && isfinite(v) && (neg == 0 || v == neg))
            neg = v;
        else if (v > 0 && isfinite(v) && (pos == 0 || v == pos))
            pos = v;
        else
            ternary = 0; /* a second negative or positive value, NaN or infinity */
    }
    rl->ternary = ternary && l->compression != EC2T_COMPRESS_KEEP &&
                  l->compression != EC2T_COMPRESS_PRUNE;
    if (rl->ternary) {
        rl->w_p = pos;
        rl->w_n = -(double)neg;
        rl->levels = (neg != 0) + (pos != 0);
    }
}

/* Output channels whose weights are all zero (convolutions only: the script
 * never removes rows of a dense layer). */
static void
find_dead_outputs(builder *b, int32_t i)
{
    ec2t__report_layer *rl = &b->r->layers[i];
    const ec2t_layer *l = layer_of(b, i);
    const ec2t_tensor *t = l->param[EC2T_PARAM_WEIGHT];
    int64_t per = t->numel / t->dims[0];
    uint8_t *dead = b->dead + b->dead_off[i];
    if (l->kind != EC2T_LAYER_CONV2D)
        return;
    for (int64_t o = 0; o < t->dims[0]; o++) {
        int64_t k = 0;
        while (k < per && t->data[o * per + k] == 0)
            k++;
        dead[o] = k == per;
        rl->dead_out += dead[o];
    }
}

/* ---- which convolution feeds which --------------------------------------- */

/* Layers that keep channel c in channel c and whose dead (constant) input
 * channels stay dead: a removed input channel may be looked for across them. */
static int
channelwise(const ec2t_layer *l)
{
    switch (l->kind) {
    case EC2T_LAYER_BATCHNORM:
    case EC2T_LAYER_RELU:
    case EC2T_LAYER_DROPOUT:
    case EC2T_LAYER_MAXPOOL:
    case EC2T_LAYER_AVGPOOL:
    case EC2T_LAYER_GLOBAL_AVGPOOL:
        return 1;
    default:
        return 0;
    }
}

/* The convolution whose dead outputs remove input channels of counted layer
 * i, or -1. By default, the one reached through channel-wise layers only
 * (never across a residual addition, whose shortcut keeps the channel alive).
 * The script instead pairs each convolution with the previous one it counted
 * in the same call (ternary or full precision), wherever it is. */
static int32_t
producer(const builder *b, int32_t i)
{
    const ec2t_layer *l = layer_of(b, i), *x;
    int32_t j;
    if (l->kind != EC2T_LAYER_CONV2D || l->groups != 1)
        return -1;
    if (b->r->flags & EC2T_REPORT_COMPAT_SCRIPT) {
        for (j = i - 1; j >= 0; j--)
            if (layer_of(b, j)->kind == EC2T_LAYER_CONV2D &&
                b->r->layers[j].ternary == b->r->layers[i].ternary)
                break;
    } else {
        x = ec2t__input(b->net, l, 0);
        while (channelwise(x))
            x = ec2t__input(b->net, x, 0);
        j = b->index[x->id];
        if (j >= 0 && x->kind != EC2T_LAYER_CONV2D)
            j = -1;
    }
    if (j < 0 || layer_of(b, j)->c != l->param[EC2T_PARAM_WEIGHT]->dims[1])
        return -1;
    return j;
}

/* Kept weights and non-zeros once dead output channels and the inputs fed by
 * the producer's dead outputs are removed. */
static void
count_kept(builder *b, int32_t i)
{
    ec2t__report_layer *rl = &b->r->layers[i];
    const ec2t_layer *l = layer_of(b, i);
    const ec2t_tensor *t = l->param[EC2T_PARAM_WEIGHT];
    int64_t in = t->dims[1], k = t->numel / (t->dims[0] * in), in_kept = in;
    int32_t p = producer(b, i);
    const uint8_t *dead_in = p >= 0 ? b->dead + b->dead_off[p] : NULL;
    const uint8_t *dead_out = l->kind == EC2T_LAYER_CONV2D ? b->dead + b->dead_off[i] : NULL;
    for (int64_t c = 0; dead_in && c < in; c++)
        in_kept -= dead_in[c];
    rl->dead_in = in - in_kept;
    rl->out_kept = t->dims[0] - rl->dead_out;
    rl->fan_in = in_kept * k;
    rl->kept = rl->out_kept * rl->fan_in;
    rl->pixels = (int64_t)l->h * l->w;
    for (int64_t o = 0; o < t->dims[0]; o++) {
        if (dead_out && dead_out[o])
            continue;
        for (int64_t c = 0; c < in; c++) {
            const float *w = t->data + (o * in + c) * k;
            if (dead_in && dead_in[c])
                continue;
            for (int64_t e = 0; e < k; e++)
                rl->nonzeros += w[e] != 0;
        }
    }
}

/* ---- what follows a counted layer ---------------------------------------- */

/* The counted layer whose output reaches layer x's input 0 through
 * batchnorm, dropout and ReLU (and, when cross_residual, through the branch
 * input of residual additions), or -1. */
static int32_t
source(const builder *b, const ec2t_layer *x, int cross_residual)
{
    x = ec2t__input(b->net, x, 0);
    while (x->kind == EC2T_LAYER_BATCHNORM || x->kind == EC2T_LAYER_DROPOUT ||
           x->kind == EC2T_LAYER_RELU || (cross_residual && x->kind == EC2T_LAYER_RESIDUAL))
        x = ec2t__input(b->net, x, 0);
    return b->index[x->id];
}

/* The last residual addition of the network (the only one the script counts). */
static int32_t
last_residual(const ec2t_net *net)
{
    for (int32_t id = net->n_layers - 1; id > 0; id--)
        if (net->layers[id]->kind == EC2T_LAYER_RESIDUAL)
            return id;
    return -1;
}

/* Biases folded from batchnorms, ReLUs and residual additions: each goes to
 * the counted layer it follows, or to the network's extra counts. */
static void
attribute(builder *b)
{
    ec2t_report *r = b->r;
    int nb = ec2t__report_value_bits(r->flags), mb = ec2t__report_mult_bits(r->flags);
    int32_t last = last_residual(b->net);
    for (int32_t id = 1; id < b->net->n_layers; id++) {
        const ec2t_layer *l = b->net->layers[id];
        double elems = (double)ec2t__layer_sample_size(l);
        int32_t j;
        if (l->kind == EC2T_LAYER_BATCHNORM) {
            j = b->index[l->inputs[0]];
            if (j >= 0) {
                r->layers[j].has_bias = 1;
            } else {
                r->extra_bias_words += (double)l->c * nb / 32.0;
                r->extra_adds += elems;
            }
        } else if (l->kind == EC2T_LAYER_RELU) {
            if ((j = source(b, l, 1)) >= 0)
                r->layers[j].relus++;
            else
                r->extra_mults += elems * mb / 32.0;
        } else if (l->kind == EC2T_LAYER_RESIDUAL &&
                   (id == last || !(r->flags & EC2T_REPORT_COMPAT_SCRIPT))) {
            if ((j = source(b, l, 0)) >= 0)
                r->layers[j].skips++;
            else
                r->extra_adds += elems;
        }
    }
}

/* Zero scalars over all trained scalars (weights and biases of every layer),
 * the network sparsity the script prints. */
static double
net_sparsity(const ec2t_net *net)
{
    int64_t zeros = 0, total = 0;
    for (int32_t p = 0; p < net->n_params; p++) {
        const ec2t__param_entry *e = &net->params[p];
        const ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        if (e->role != EC2T_PARAM_WEIGHT && e->role != EC2T_PARAM_BIAS)
            continue;
        total += t->numel;
        for (int64_t i = 0; i < t->numel; i++)
            zeros += t->data[i] == 0;
    }
    return total > 0 ? (double)zeros / (double)total : 0;
}

/* ---- construction -------------------------------------------------------- */

static ec2t_status
allocate(builder *b)
{
    const ec2t_net *net = b->net;
    ec2t_context *ctx = net->ctx;
    int64_t channels = 0;
    int32_t n = 0;
    b->index = ec2t__calloc(ctx, (size_t)net->n_layers, sizeof *b->index);
    if (!b->index)
        return ec2t__nomem(ctx, "report layer map");
    for (int32_t id = 0; id < net->n_layers; id++) {
        b->index[id] = counted_kind(net->layers[id]) ? n++ : -1;
        if (b->index[id] >= 0)
            channels += net->layers[id]->c;
    }
    b->r->n_layers = n;
    b->r->layers = ec2t__calloc(ctx, (size_t)n, sizeof *b->r->layers);
    b->dead_off = ec2t__calloc(ctx, (size_t)n, sizeof *b->dead_off);
    b->dead = ec2t__calloc(ctx, (size_t)channels, 1);
    if (!b->r->layers || !b->dead_off || !b->dead)
        return ec2t__nomem(ctx, "report layers");
    channels = 0;
    for (int32_t id = 0; id < net->n_layers; id++) {
        int32_t i = b->index[id];
        if (i < 0)
            continue;
        b->r->layers[i].id = id;
        b->dead_off[i] = channels;
        channels += net->layers[id]->c;
    }
    return EC2T_OK;
}

static void
build(builder *b)
{
    ec2t_report *r = b->r;
    for (int32_t i = 0; i < r->n_layers; i++) {
        classify(&r->layers[i], layer_of(b, i));
        find_dead_outputs(b, i);
    }
    /* needs every layer's classification (the script's pairing) and dead outputs */
    for (int32_t i = 0; i < r->n_layers; i++)
        count_kept(b, i);
    attribute(b);
    for (int32_t i = 0; i < r->n_layers; i++)
        ec2t__report_count_layer(&r->layers[i], r->flags);
    r->net_sparsity = net_sparsity(b->net);
}

EC2T_API ec2t_status
ec2t_report_new(const ec2t_net *net, uint32_t flags, ec2t_report **out)
{
    builder b = {net, NULL, NULL, NULL, NULL};
    ec2t_context *ctx;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!net)
        return EC2T_E_INVAL;
    ctx = net->ctx;
    if (!out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_report_new: out is NULL");
    if (flags & ~ALL_FLAGS)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_report_new: unknown flags 0x%x",
                           (unsigned)(flags & ~ALL_FLAGS));
    b.r = ec2t__calloc(ctx, 1, sizeof *b.r);
    if (!b.r)
        return ec2t__nomem(ctx, "report");
    b.r->ctx = ctx;
    b.r->flags = flags;
    st = allocate(&b);
    if (st == EC2T_OK)
        build(&b);
    ec2t__free(ctx, b.index);
    ec2t__free(ctx, b.dead);
    ec2t__free(ctx, b.dead_off);
    if (st != EC2T_OK) {
        ec2t_report_free(b.r);
        return st;
    }
    *out = b.r;
    return EC2T_OK;
}

EC2T_API void
ec2t_report_free(ec2t_report *report)
{
    ec2t_context *ctx;
    if (!report)
        return;
    ctx = report->ctx;
    ec2t__free(ctx, report->layers);
    ec2t__free(ctx, report);
}

EC2T_API int32_t
ec2t_report_layer_count(const ec2t_report *report)
{
    return report ? report->n_layers : 0;
}
