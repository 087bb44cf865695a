/* SPDX-License-Identifier: MIT */
/* Model files: a network's architecture as container keys, its tensors as
 * container tensors (doc/FORMAT.md, "Model files").
 *
 * Loading rebuilds the network through the public ec2t_net_add_* functions,
 * so an architecture read from a file passes exactly the checks a caller's
 * does; the shapes stored in the file must then agree with the rebuilt ones. */
#include <stdio.h>
#include <string.h>

#include "net-io-private.h"

#define CONFIG_INTS 10
#define CONFIG_REALS 3
#define MAX_FILE_LAYERS (1 << 20)

static void
layer_key(char *buf, size_t cap, int32_t id, const char *field)
{
    snprintf(buf, cap, "ec2t.layer.%d.%s", (int)id, field);
}

static void
layer_config(const ec2t_layer *l, int32_t *ints, double *reals)
{
    int32_t v[CONFIG_INTS] = {l->c,  l->h,      l->w,   (int32_t)l->flags, l->kh,
                              l->kw, l->stride, l->pad, l->groups,         l->compression};
    memcpy(ints, v, sizeof v);
    reals[0] = l->dropout_p;
    reals[1] = l->bn_eps;
    reals[2] = l->bn_momentum;
}

/* The builder family and shape (optional keys: the scaler needs them). */
static ec2t_status
write_arch(const ec2t__arch *a, ec2t__cwriter *w)
{
    int32_t v[3 + 2 * EC2T__MAX_STAGES];
    int32_t n = 3;
    v[0] = a->family, v[1] = a->n_stages, v[2] = a->classes;
    for (int32_t s = 0; s < a->n_stages; s++)
        v[n++] = a->blocks[s];
    for (int32_t s = 0; s < a->n_stages; s++)
        v[n++] = a->widths[s];
    ec2t_status st = ec2t__cw_add_array(w, "ec2t.net.arch", EC2T__KV_I32, v, (uint64_t)n);
    return st == EC2T_OK ? ec2t__cw_add_f32(w, "ec2t.net.arch_dropout", a->dropout) : st;
}

/* Read them back; a file whose keys describe another network than its
 * layers gets no family (the scaler then refuses it), never a wrong one. */
static void
read_arch(ec2t_net *net, const ec2t__creader *r)
{
    int32_t v[3 + 2 * EC2T__MAX_STAGES];
    uint64_t n;
    float dropout = 0;
    ec2t__arch a;
    memset(&a, 0, sizeof a);
    if (!ec2t__cr_has_key(r, "ec2t.net.arch") ||
        ec2t__cr_get_array(r, "ec2t.net.arch", EC2T__KV_I32, v, 3 + 2 * EC2T__MAX_STAGES, &n) != EC2T_OK ||
        n < 3 || v[1] < 0 || v[1] > EC2T__MAX_STAGES || n != 3 + 2 * (uint64_t)v[1] ||
        v[0] < EC2T__ARCH_LENET5 || v[0] > EC2T__ARCH_EC2T_BLOCKS)
        return;
    if (ec2t__cr_has_key(r, "ec2t.net.arch_dropout"))
        ec2t__cr_get_f32(r, "ec2t.net.arch_dropout", &dropout);
    a.family = v[0], a.n_stages = v[1], a.classes = v[2], a.dropout = dropout;
    for (int32_t s = 0; s < a.n_stages; s++) {
        a.blocks[s] = v[3 + s];
        a.widths[s] = v[3 + a.n_stages + s];
    }
    net->arch = a;
}

ec2t_status
ec2t__net_write(const ec2t_net *net, ec2t__cwriter *w)
{
    const ec2t_layer *in = net->layers[0];
    int32_t input[3] = {in->c, in->h, in->w};
    char key[96];
    ec2t_status st = ec2t__cw_add_array(w, "ec2t.net.input", EC2T__KV_I32, input, 3);
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "ec2t.net.layers", (uint32_t)net->n_layers);
    for (int32_t i = 1; i < net->n_layers && st == EC2T_OK; i++) {
        const ec2t_layer *l = net->layers[i];
        int32_t ints[CONFIG_INTS];
        double reals[CONFIG_REALS];
        layer_config(l, ints, reals);
        layer_key(key, sizeof key, i, "kind");
        st = ec2t__cw_add_str(w, key, ec2t__layer_ops_of(l->kind)->name);
        layer_key(key, sizeof key, i, "name");
        if (st == EC2T_OK)
            st = ec2t__cw_add_str(w, key, l->name);
        layer_key(key, sizeof key, i, "inputs");
        if (st == EC2T_OK)
            st = ec2t__cw_add_array(w, key, EC2T__KV_I32, l->inputs, (uint64_t)l->n_inputs);
        layer_key(key, sizeof key, i, "config");
        if (st == EC2T_OK)
            st = ec2t__cw_add_array(w, key, EC2T__KV_I32, ints, CONFIG_INTS);
        layer_key(key, sizeof key, i, "real_config");
        if (st == EC2T_OK)
            st = ec2t__cw_add_array(w, key, EC2T__KV_F64, reals, CONFIG_REALS);
    }
    if (st == EC2T_OK && net->arch.family != EC2T__ARCH_NONE)
        st = write_arch(&net->arch, w);
    for (int32_t i = 0; i < net->n_params && st == EC2T_OK; i++) {
        const ec2t__param_entry *e = &net->params[i];
        const ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        st = ec2t__cw_add_tensor(w, e->name, EC2T__DT_F32, t->rank, t->dims, t->data,
                                 (uint64_t)t->numel * sizeof(float));
    }
    return st;
}

static ec2t_status
kind_of(const char *name, ec2t_layer_kind *kind)
{
    for (int k = EC2T_LAYER_DENSE; k <= EC2T_LAYER_SOFTMAX_XENT; k++) {
        if (strcmp(ec2t__layer_ops_of((ec2t_layer_kind)k)->name, name) == 0) {
            *kind = (ec2t_layer_kind)k;
            return EC2T_OK;
        }
    }
    return EC2T_E_FORMAT;
}

/* The floats of the F32 tensors of the file: every parameter of a valid
 * file is one of them. */
static double
f32_budget(const ec2t__creader *r)
{
    double floats = 0;
    for (uint64_t i = 0; i < ec2t__cr_tensor_count(r); i++) {
        const ec2t__ctensor *t = ec2t__cr_tensor_at(r, i);
        if (t->dtype == EC2T__DT_F32)
            floats += (double)(t->nbytes / 4);
    }
    return floats;
}

/* A lower bound of the floats of the tensors a layer of this configuration
 * stores in the file (its weight, or a batchnorm's statistics), computed
 * before the layer allocates them: a layer the file cannot back is never
 * built (doc/FORMAT.md, section 9). */
static double
param_floats(ec2t_layer_kind kind, const int32_t *ints, const ec2t_layer *in)
{
    switch (kind) {
    case EC2T_LAYER_DENSE: return (double)ints[0] * in->c;
    case EC2T_LAYER_CONV2D:
        return ints[8] < 1 ? 0 : (double)ints[0] * (in->c / ints[8]) * ints[4] * ints[5];
    case EC2T_LAYER_BATCHNORM: return 2.0 * in->c;
    default: return 0;
    }
}

/* Add layer i as the file describes it, through the public functions;
 * *budget is what is left of f32_budget(). */
static ec2t_status
add_from_file(ec2t_net *net, const ec2t__creader *r, int32_t i, double *budget)
{
    ec2t_context *ctx = net->ctx;
    const char *what = ec2t__cr_what(r), *kind_name, *name;
    int32_t ints[CONFIG_INTS], ids[2];
    double reals[CONFIG_REALS];
    uint64_t n_ints, n_reals, n_in;
    ec2t_layer *in[2] = {NULL, NULL}, *l = NULL;
    ec2t_layer_kind kind;
    char key[96];
    ec2t_status st;

    layer_key(key, sizeof key, i, "kind");
    if ((st = ec2t__cr_get_str(r, key, &kind_name)) != EC2T_OK)
        return st;
    if (kind_of(kind_name, &kind) != EC2T_OK)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: layer %d has unknown kind '%s'", what, (int)i,
                           kind_name);
    layer_key(key, sizeof key, i, "name");
    if ((st = ec2t__cr_get_str(r, key, &name)) != EC2T_OK)
        return st;
    layer_key(key, sizeof key, i, "inputs");
    if ((st = ec2t__cr_get_array(r, key, EC2T__KV_I32, ids, 2, &n_in)) != EC2T_OK)
        return st;
    layer_key(key, sizeof key, i, "config");
    if ((st = ec2t__cr_get_array(r, key, EC2T__KV_I32, ints, CONFIG_INTS, &n_ints)) != EC2T_OK)
        return st;
    layer_key(key, sizeof key, i, "real_config");
    if ((st = ec2t__cr_get_array(r, key, EC2T__KV_F64, reals, CONFIG_REALS, &n_reals)) != EC2T_OK)
        return st;
    if (n_ints != CONFIG_INTS || n_reals != CONFIG_REALS ||
        n_in != (kind == EC2T_LAYER_RESIDUAL ? 2u : 1u))
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: layer %d has a malformed configuration", what,
                           (int)i);
    for (uint64_t k = 0; k < n_in; k++) {
        if (ids[k] < 0 || ids[k] >= i)
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: layer %d reads layer %d, which is not before it",
                               what, (int)i, (int)ids[k]);
        in[k] = net->layers[ids[k]];
    }
    *budget -= param_floats(kind, ints, in[0]);
    if (*budget < 0)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "%s: layer %d ('%s') has more parameters than the file's tensors hold",
                           what, (int)i, name);
    switch (kind) {
    case EC2T_LAYER_DENSE: st = ec2t_net_add_dense(net, in[0], ints[0], (uint32_t)ints[3], &l); break;
    case EC2T_LAYER_CONV2D:
        st = ec2t_net_add_conv2d(net, in[0], ints[0], ints[4], ints[5], ints[6], ints[7], ints[8],
                                 (uint32_t)ints[3], &l);
        break;
    case EC2T_LAYER_BATCHNORM: st = ec2t_net_add_batchnorm(net, in[0], (uint32_t)ints[3], &l); break;
    case EC2T_LAYER_RELU: st = ec2t_net_add_relu(net, in[0], (uint32_t)ints[3], &l); break;
    case EC2T_LAYER_MAXPOOL:
        st = ec2t_net_add_maxpool(net, in[0], ints[4], ints[6], ints[7], 0, &l);
        break;
    case EC2T_LAYER_AVGPOOL:
        st = ec2t_net_add_avgpool(net, in[0], ints[4], ints[6], ints[7], 0, &l);
        break;
    case EC2T_LAYER_GLOBAL_AVGPOOL: st = ec2t_net_add_global_avgpool(net, in[0], 0, &l); break;
    case EC2T_LAYER_FLATTEN: st = ec2t_net_add_flatten(net, in[0], 0, &l); break;
    case EC2T_LAYER_DROPOUT: st = ec2t_net_add_dropout(net, in[0], (float)reals[0], 0, &l); break;
    case EC2T_LAYER_RESIDUAL:
        st = ec2t_net_add_residual(net, in[0], in[1], (uint32_t)ints[3], &l);
        break;
    case EC2T_LAYER_SOFTMAX_XENT: st = ec2t_net_add_softmax_xent(net, in[0], 0, &l); break;
    default: st = EC2T_E_FORMAT; break;
    }
    if (st == EC2T_OK && kind == EC2T_LAYER_BATCHNORM) {
        st = ec2t_layer_set_double(l, EC2T_LAYER_BN_EPS, reals[1]);
        if (st == EC2T_OK)
            st = ec2t_layer_set_double(l, EC2T_LAYER_BN_MOMENTUM, reals[2]);
    }
    if (st == EC2T_OK)
        st = ec2t_layer_set_name(l, name);
    if (st == EC2T_OK && (kind == EC2T_LAYER_CONV2D || kind == EC2T_LAYER_DENSE))
        st = ec2t_layer_set_int(l, EC2T_LAYER_COMPRESSION, ints[9]);
    if (st == EC2T_E_NOMEM)
        return st;
    if (st != EC2T_OK) {
        char why[EC2T__ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", ec2t_context_errmsg(ctx));
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: layer %d ('%s', %s) is invalid: %s", what,
                           (int)i, name, kind_name, why);
    }
    if (l->c != ints[0] || l->h != ints[1] || l->w != ints[2])
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "%s: layer %d ('%s') is %dx%dx%d, but the file says %dx%dx%d", what,
                           (int)i, name, (int)l->c, (int)l->h, (int)l->w, (int)ints[0],
                           (int)ints[1], (int)ints[2]);
    return EC2T_OK;
}

ec2t_status
ec2t__net_read_tensors(ec2t_net *net, const ec2t__creader *r)
{
    for (int32_t i = 0; i < net->n_params; i++) {
        const ec2t__param_entry *e = &net->params[i];
        ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        ec2t_status st = ec2t__cr_read_f32(r, e->name, t->rank, t->dims, t->data);
        if (st != EC2T_OK)
            return st;
    }
    return EC2T_OK;
}

ec2t_status
ec2t__net_read(ec2t_context *ctx, const ec2t__creader *r, ec2t_net **out)
{
    const char *what = ec2t__cr_what(r);
    int32_t input[3];
    uint64_t n_input;
    uint32_t n_layers;
    ec2t_net *net = NULL;
    double budget = f32_budget(r);
    ec2t_status st;

    *out = NULL;
    if ((st = ec2t__cr_get_array(r, "ec2t.net.input", EC2T__KV_I32, input, 3, &n_input)) != EC2T_OK ||
        (st = ec2t__cr_get_u32(r, "ec2t.net.layers", &n_layers)) != EC2T_OK)
        return st;
    if (n_input != 3 || n_layers < 1 || n_layers > MAX_FILE_LAYERS)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: malformed network header", what);
    st = ec2t_net_new(ctx, input[0], input[1], input[2], &net);
    if (st != EC2T_OK)
        return st == EC2T_E_NOMEM ? st
                                  : ec2t__error(ctx, EC2T_E_FORMAT, "%s: invalid input shape", what);
    for (uint32_t i = 1; i < n_layers && st == EC2T_OK; i++)
        st = add_from_file(net, r, (int32_t)i, &budget);
    if (st == EC2T_OK)
        st = ec2t__net_read_tensors(net, r);
    if (st == EC2T_OK)
        read_arch(net, r);
    if (st != EC2T_OK) {
        ec2t_net_free(net);
        return st;
    }
    *out = net;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_save(const ec2t_net *net, const char *path, uint32_t flags)
{
    ec2t__cwriter *w = NULL;
    ec2t_status st;
    if (!net)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_save: NULL path or bad flags");
    st = ec2t__cw_new(net->ctx, &w);
    if (st == EC2T_OK)
        st = ec2t__cw_add_str(w, "ec2t.file_kind", "model");
    if (st == EC2T_OK)
        st = ec2t__net_write(net, w);
    if (st == EC2T_OK)
        st = ec2t__cw_write_file(w, path);
    ec2t__cw_free(w);
    return st;
}

static ec2t_status
load_from(ec2t_context *ctx, ec2t__creader *r, ec2t_net **out)
{
    const char *kind;
    ec2t_status st = ec2t__cr_get_str(r, "ec2t.file_kind", &kind);
    if (st == EC2T_OK && strcmp(kind, "model") != 0 && strcmp(kind, "checkpoint") != 0)
        st = ec2t__error(ctx, EC2T_E_FORMAT, "%s: a '%s' file, not a model", ec2t__cr_what(r), kind);
    if (st == EC2T_OK)
        st = ec2t__net_read(ctx, r, out);
    ec2t__cr_free(r);
    return st;
}

EC2T_API ec2t_status
ec2t_net_load(ec2t_context *ctx, const char *path, uint32_t flags, ec2t_net **out)
{
    ec2t__creader *r = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!path || !out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_load: bad argument");
    st = ec2t__cr_open_file(ctx, path, &r);
    return st == EC2T_OK ? load_from(ctx, r, out) : st;
}

EC2T_API ec2t_status
ec2t_net_load_mem(ec2t_context *ctx, const void *buf, size_t len, uint32_t flags, ec2t_net **out)
{
    ec2t__creader *r = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if ((!buf && len) || !out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_load_mem: bad argument");
    st = ec2t__cr_open_mem(ctx, buf, len, "model buffer", &r);
    return st == EC2T_OK ? load_from(ctx, r, out) : st;
}
