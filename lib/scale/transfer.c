/* SPDX-License-Identifier: MIT */
/* Function-preserving transfer into a wider and deeper network (Net2Net:
 * Chen, Goodfellow, Shlens 2016, adapted to residual stages).
 *
 * Every channel space of the big network gets a map g onto the base's: new
 * channel j copies base channel g(j) (g is the identity on the base's
 * channels, the rest drawn with the seed). A layer writing a space copies the
 * base's rows g(j); a layer reading it divides the base's weights of channel i
 * by the number of copies of i. Spaces tied by residual sums share one map:
 * each stage's stream. With option-A shortcuts (zero-padded channels) the map
 * of stage s+1 must send the channels the shortcut fills to the base's
 * channels the base shortcut fills, and the padded ones to padded ones. New
 * blocks start with their last batchnorm at zero: their branch adds nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scaler-private.h"

typedef struct chmap {
    int32_t n_new, n_old;
    int32_t *g;   /* n_new entries in [0, n_old) */
    int32_t *cnt; /* n_old copy counts */
} chmap;

typedef struct xfer {
    const ec2t_scaler *s;
    const ec2t_net *base;
    const ec2t__arch *base_arch; /* recorded by its builder, or recognised */
    ec2t_net *big;
    ec2t__rng rng;
    chmap stream[EC2T__MAX_STAGES];
    chmap inner;
} xfer;

static void
map_free(ec2t_context *ctx, chmap *m)
{
    ec2t__free(ctx, m->g);
    ec2t__free(ctx, m->cnt);
    memset(m, 0, sizeof *m);
}

static ec2t_status
map_alloc(ec2t_context *ctx, chmap *m, int32_t n_new, int32_t n_old)
{
    map_free(ctx, m);
    m->n_new = n_new;
    m->n_old = n_old;
    m->g = ec2t__calloc(ctx, (size_t)n_new, sizeof *m->g);
    m->cnt = ec2t__calloc(ctx, (size_t)n_old, sizeof *m->cnt);
    return m->g && m->cnt ? EC2T_OK : ec2t__nomem(ctx, "channel map");
}

static void
map_count(chmap *m)
{
    memset(m->cnt, 0, (size_t)m->n_old * sizeof *m->cnt);
    for (int32_t j = 0; j < m->n_new; j++)
        m->cnt[m->g[j]]++;
}

/* The identity on the base's channels, random copies after them. */
static ec2t_status
map_plain(xfer *x, chmap *m, int32_t n_new, int32_t n_old)
{
    ec2t_status st = map_alloc(x->s->ctx, m, n_new, n_old);
    if (st != EC2T_OK)
        return st;
    for (int32_t j = 0; j < n_new; j++)
        m->g[j] = j < n_old ? j : (int32_t)ec2t__rng_below(&x->rng, (uint64_t)n_old);
    map_count(m);
    return EC2T_OK;
}

/* Stage s's stream after an option-A shortcut from stage s-1 (see the top). */
static ec2t_status
map_option_a(xfer *x, int32_t s, const ec2t__arch *a, const ec2t__arch *b)
{
    int32_t c0 = a->widths[s - 1], c1 = a->widths[s], n0 = b->widths[s - 1], n1 = b->widths[s];
    int32_t off = (c1 - c0) / 2, noff = (n1 - n0) / 2, pads = c1 - c0, t = 0;
    const chmap *prev = &x->stream[s - 1];
    chmap *m = &x->stream[s];
    ec2t_status st;
    if (n1 - n0 < pads || (pads == 0 && n1 != n0))
        return ec2t__error(x->s->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_scaler_apply: stage %d's widths %d -> %d cannot carry the base's %d -> %d "
                           "option-A shortcut exactly (use EC2T_TRANSFER_SCRATCH)",
                           (int)s + 1, (int)n0, (int)n1, (int)c0, (int)c1);
    if ((st = map_alloc(x->s->ctx, m, n1, c1)) != EC2T_OK)
        return st;
    for (int32_t j = 0; j < n1; j++) {
        if (j >= noff && j < noff + n0) {
            m->g[j] = prev->g[j - noff] + off;
        } else {
            /* the padded channels: first each of the base's once, then copies */
            int32_t k = t < pads ? t : (int32_t)ec2t__rng_below(&x->rng, (uint64_t)pads);
            m->g[j] = k < off ? k : k + c0;
            t++;
        }
    }
    map_count(m);
    return EC2T_OK;
}

static ec2t_tensor *
tensor_of(const ec2t_net *net, const char *layer, const char *suffix)
{
    char name[EC2T__NAME_MAX + 16];
    snprintf(name, sizeof name, "%s.%s", layer, suffix);
    for (int32_t i = 0; i < net->n_params; i++)
        if (strcmp(net->params[i].name, name) == 0)
            return net->layers[net->params[i].layer]->param[net->params[i].role];
    return NULL;
}

static float
stddev(const float *v, int64_t n)
{
    double m = 0, s = 0;
    for (int64_t i = 0; i < n; i++)
        m += v[i];
    m /= (double)(n ? n : 1);
    for (int64_t i = 0; i < n; i++)
        s += (v[i] - m) * (v[i] - m);
    return (float)sqrt(s / (double)(n ? n : 1));
}

/* A conv or dense weight (out, in, ...): rows by `out` (NULL: same), input
 * channels by `in` divided by their copies (NULL: same). Rows beyond the
 * base's get the symmetry-breaking noise. */
static ec2t_status
copy_weight(xfer *x, const char *layer, const chmap *out, const chmap *in)
{
    ec2t_tensor *d = tensor_of(x->big, layer, "weight");
    const ec2t_tensor *s = tensor_of(x->base, layer, "weight");
    ec2t_tensor *db = tensor_of(x->big, layer, "bias");
    const ec2t_tensor *sb = tensor_of(x->base, layer, "bias");
    int64_t rows, cols, span, srows, scols;
    float noise;
    if (!d || !s)
        return ec2t__error(x->s->ctx, EC2T_E_UNSUPPORTED, "ec2t_scaler_apply: no layer '%s'", layer);
    rows = d->dims[0], cols = d->dims[1], srows = s->dims[0], scols = s->dims[1];
    span = d->numel / (rows * cols);
    if ((out ? out->n_new : srows) != rows || (in ? in->n_new : scols) != cols ||
        s->numel / (srows * scols) != span)
        return ec2t__error(x->s->ctx, EC2T_E_INTERNAL, "ec2t_scaler_apply: '%s' has unexpected shapes", layer);
    noise = (float)x->s->noise * stddev(s->data, s->numel);
    for (int64_t o = 0; o < rows; o++) {
        int64_t so = out ? out->g[o] : o;
        for (int64_t i = 0; i < cols; i++) {
            int64_t si = in ? in->g[i] : i;
            float scale = in ? 1.0f / (float)in->cnt[si] : 1.0f;
            const float *src = s->data + (so * scols + si) * span;
            float *dst = d->data + (o * cols + i) * span;
            for (int64_t k = 0; k < span; k++)
                dst[k] = src[k] * scale + (o >= srows ? noise * ec2t__rng_normal(&x->rng) : 0.0f);
        }
        if (db && sb)
            db->data[o] = sb->data[so];
    }
    return EC2T_OK;
}

static ec2t_status
copy_bn(xfer *x, const char *layer, const chmap *m)
{
    static const char *const parts[] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        ec2t_tensor *d = tensor_of(x->big, layer, parts[k]);
        const ec2t_tensor *s = tensor_of(x->base, layer, parts[k]);
        if (!d && !s)
            continue;
        if (!d || !s || d->numel != m->n_new)
            return ec2t__error(x->s->ctx, EC2T_E_UNSUPPORTED, "ec2t_scaler_apply: batchnorm '%s'", layer);
        for (int64_t j = 0; j < d->numel; j++)
            d->data[j] = s->data[m->g[j]];
    }
    return EC2T_OK;
}

/* A new block's branch contributes 0 while its last batchnorm is zero. */
static ec2t_status
zero_bn(xfer *x, const char *layer)
{
    ec2t_tensor *g = tensor_of(x->big, layer, "weight"), *b = tensor_of(x->big, layer, "bias");
    if (!g || !b)
        return ec2t__error(x->s->ctx, EC2T_E_INTERNAL, "ec2t_scaler_apply: batchnorm '%s'", layer);
    memset(g->data, 0, (size_t)g->numel * sizeof(float));
    memset(b->data, 0, (size_t)b->numel * sizeof(float));
    return EC2T_OK;
}

static void
block_name(char *buf, size_t cap, int32_t s, int32_t b, const char *leaf)
{
    snprintf(buf, cap, "layer%d.%d.%s", (int)s + 1, (int)b, leaf);
}

/* The block's last batchnorm (the one before the residual sum). */
static const char *
last_bn(int ec2t_blocks)
{
    return ec2t_blocks ? "bn3" : "bn2";
}

/* One residual block of the base, copied into the same block of big. The
 * ResNet block is conv1 bn1 conv2 bn2; the EC2T block (the reference's
 * MicroNet block) bn1 conv1 bn2 conv2 bn3, with a projection shortcut
 * shortcut.0 (conv) and shortcut.1 (BN) where the shape changes. */
static ec2t_status
copy_block(xfer *x, int32_t s, int32_t b, const chmap *in, int ec2t_blocks)
{
    const ec2t__arch *a = x->base_arch, *n = &x->big->arch;
    char name[EC2T__NAME_MAX];
    ec2t_status st = map_plain(x, &x->inner, n->widths[s], a->widths[s]);
    int base_proj, big_proj;
    if (st == EC2T_OK && ec2t_blocks) {
        block_name(name, sizeof name, s, b, "bn1");
        st = copy_bn(x, name, in);
    }
    block_name(name, sizeof name, s, b, "conv1");
    if (st == EC2T_OK)
        st = copy_weight(x, name, &x->inner, in);
    block_name(name, sizeof name, s, b, ec2t_blocks ? "bn2" : "bn1");
    if (st == EC2T_OK)
        st = copy_bn(x, name, &x->inner);
    block_name(name, sizeof name, s, b, "conv2");
    if (st == EC2T_OK)
        st = copy_weight(x, name, &x->stream[s], &x->inner);
    block_name(name, sizeof name, s, b, last_bn(ec2t_blocks));
    if (st == EC2T_OK)
        st = copy_bn(x, name, &x->stream[s]);
    if (st != EC2T_OK || !ec2t_blocks)
        return st;
    block_name(name, sizeof name, s, b, "shortcut.0");
    base_proj = tensor_of(x->base, name, "weight") != NULL;
    big_proj = tensor_of(x->big, name, "weight") != NULL;
    if (base_proj != big_proj)
        return ec2t__error(x->s->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_scaler_apply: block %s changes its shortcut kind when scaled", name);
    if (!base_proj)
        return EC2T_OK;
    st = copy_weight(x, name, &x->stream[s], in);
    block_name(name, sizeof name, s, b, "shortcut.1");
    return st == EC2T_OK ? copy_bn(x, name, &x->stream[s]) : st;
}

static ec2t_status
transfer(xfer *x)
{
    const ec2t__arch *a = x->base_arch, *n = &x->big->arch;
    int ec2t_blocks = a->family == EC2T__ARCH_EC2T_BLOCKS;
    char name[EC2T__NAME_MAX];
    ec2t_status st = EC2T_OK;
    for (int32_t s = 0; s < a->n_stages && st == EC2T_OK; s++)
        st = s == 0 || ec2t_blocks ? map_plain(x, &x->stream[s], n->widths[s], a->widths[s])
                                   : map_option_a(x, s, a, n);
    if (st == EC2T_OK)
        st = copy_weight(x, "conv1", &x->stream[0], NULL);
    if (st == EC2T_OK)
        st = copy_bn(x, "bn1", &x->stream[0]);
    for (int32_t s = 0; s < a->n_stages && st == EC2T_OK; s++) {
        for (int32_t b = 0; b < n->blocks[s] && st == EC2T_OK; b++) {
            const chmap *in = b == 0 && s > 0 ? &x->stream[s - 1] : &x->stream[s];
            if (b < a->blocks[s]) {
                st = copy_block(x, s, b, in, ec2t_blocks);
            } else {
                block_name(name, sizeof name, s, b, last_bn(ec2t_blocks));
                st = zero_bn(x, name);
            }
        }
    }
    if (st == EC2T_OK)
        st = copy_weight(x, "linear", NULL, &x->stream[a->n_stages - 1]);
    return st;
}

ec2t_status
ec2t__scaler_transfer(const ec2t_scaler *s, const ec2t_net *base, const ec2t__arch *base_arch,
                      ec2t_net *big)
{
    xfer x;
    ec2t_status st;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.base = base;
    x.base_arch = base_arch;
    x.big = big;
    ec2t__rng_seed(&x.rng, (uint64_t)s->seed ^ 0x5ca1e5ca1eULL);
    st = transfer(&x);
    for (int32_t i = 0; i < EC2T__MAX_STAGES; i++)
        map_free(s->ctx, &x.stream[i]);
    map_free(s->ctx, &x.inner);
    return st;
}
