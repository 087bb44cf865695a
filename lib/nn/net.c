/* SPDX-License-Identifier: MIT */
/* ec2t_net: creation, the layer list, named tensors, mode, init and clone. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "net-private.h"

#define MAX_LAYERS (1 << 20)

static const char *const role_suffix[EC2T__MAX_PARAMS_PER_LAYER] = {
    "weight", "bias", "running_mean", "running_var"};

EC2T_API ec2t_status
ec2t_net_new(ec2t_context *ctx, int32_t c, int32_t h, int32_t w, ec2t_net **out)
{
    ec2t_net *net;
    ec2t_layer *input;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_new: out is NULL");
    if (c < 1 || c > 4096 || h < 1 || h > 65536 || w < 1 || w > 65536)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_new: input shape %dx%dx%d is invalid",
                           (int)c, (int)h, (int)w);
    net = ec2t__calloc(ctx, 1, sizeof *net);
    if (!net)
        return ec2t__nomem(ctx, "network");
    net->ctx = ctx;
    net->loss_layer = -1;
    net->mode = EC2T_MODE_EVAL;
    ec2t__rng_seed(&net->rng, (uint64_t)ctx->seed);
    st = ec2t__net_add_layer(net, EC2T_LAYER_INPUT, 0, NULL, &input);
    if (st != EC2T_OK) {
        ec2t_net_free(net);
        return st;
    }
    input->c = c;
    input->h = h;
    input->w = w;
    snprintf(input->name, sizeof input->name, "input");
    *out = net;
    return EC2T_OK;
}

static void
layer_free(ec2t_context *ctx, ec2t_layer *l)
{
    for (int r = 0; r < EC2T__MAX_PARAMS_PER_LAYER; r++)
        ec2t__tensor_destroy(l->param[r]);
    for (int r = 0; r < 2; r++)
        ec2t__tensor_destroy(l->grad[r]);
    ec2t__free(ctx, l);
}

EC2T_API void
ec2t_net_free(ec2t_net *net)
{
    ec2t_context *ctx;
    if (!net)
        return;
    ctx = net->ctx;
    ec2t__net_unplan(net);
    for (int32_t i = 0; i < net->n_layers; i++)
        layer_free(ctx, net->layers[i]);
    ec2t__free(ctx, net->layers);
    ec2t__free(ctx, net->params);
    ec2t__free(ctx, net);
}

void
ec2t__net_invalidate(ec2t_net *net)
{
    ec2t__net_unplan(net);
    net->loss_ready = 0;
}

static int
name_taken(const ec2t_net *net, const char *name, const ec2t_layer *except)
{
    for (int32_t i = 0; i < net->n_layers; i++)
        if (net->layers[i] != except && strcmp(net->layers[i]->name, name) == 0)
            return 1;
    return 0;
}

static void
default_name(const ec2t_net *net, ec2t_layer *l)
{
    snprintf(l->name, sizeof l->name, "layers.%d", (int)l->id);
    for (int k = 1; name_taken(net, l->name, l); k++)
        snprintf(l->name, sizeof l->name, "layers.%d_%d", (int)l->id, k);
}

static ec2t_status
grow(ec2t_context *ctx, void **array, int32_t *cap, int32_t need, size_t elem)
{
    int32_t ncap;
    void *p;
    if (need <= *cap)
        return EC2T_OK;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    p = ec2t__calloc(ctx, (size_t)ncap, elem);
    if (!p)
        return ec2t__nomem(ctx, "network tables");
    if (*array)
        memcpy(p, *array, (size_t)*cap * elem);
    ec2t__free(ctx, *array);
    *array = p;
    *cap = ncap;
    return EC2T_OK;
}

ec2t_status
ec2t__net_add_layer(ec2t_net *net, ec2t_layer_kind kind, int32_t n_inputs,
                    ec2t_layer *const *inputs, ec2t_layer **out)
{
    ec2t_context *ctx = net->ctx;
    ec2t_layer *l;
    ec2t_status st;

    *out = NULL;
    if (net->n_layers >= MAX_LAYERS)
        return ec2t__error(ctx, EC2T_E_INVAL, "network: more than %d layers", MAX_LAYERS);
    if (net->loss_layer >= 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "network: no layer can follow the loss layer");
    for (int32_t i = 0; i < n_inputs; i++) {
        if (!inputs[i])
            return ec2t__error(ctx, EC2T_E_INVAL, "network: input layer %d is NULL", (int)i);
        if (inputs[i]->net != net)
            return ec2t__error(ctx, EC2T_E_INVAL, "network: input layer '%s' belongs to another network",
                               inputs[i]->name);
        if (inputs[i]->kind == EC2T_LAYER_SOFTMAX_XENT)
            return ec2t__error(ctx, EC2T_E_INVAL, "network: the loss layer cannot be an input");
    }
    st = grow(ctx, (void **)&net->layers, &net->cap_layers, net->n_layers + 1, sizeof *net->layers);
    if (st != EC2T_OK)
        return st;
    l = ec2t__calloc(ctx, 1, sizeof *l);
    if (!l)
        return ec2t__nomem(ctx, "layer");
    l->net = net;
    l->id = net->n_layers;
    l->kind = kind;
    l->n_inputs = n_inputs;
    for (int32_t i = 0; i < n_inputs; i++)
        l->inputs[i] = inputs[i]->id;
    l->dout_slot = -1;
    l->compression = EC2T_COMPRESS_AUTO;
    net->layers[net->n_layers++] = l;
    net->arch.family = EC2T__ARCH_NONE; /* no longer what a builder made (builders set it last) */
    default_name(net, l);
    ec2t__net_invalidate(net);
    *out = l;
    return EC2T_OK;
}

static void
param_entry_name(const ec2t_net *net, ec2t__param_entry *e)
{
    snprintf(e->name, sizeof e->name, "%s.%s", net->layers[e->layer]->name, role_suffix[e->role]);
}

ec2t_status
ec2t__layer_add_param(ec2t_layer *l, ec2t_param_role role, int32_t rank, const int64_t *dims)
{
    ec2t_net *net = l->net;
    ec2t_status st;
    ec2t__param_entry *e;
    int trained = role == EC2T_PARAM_WEIGHT || role == EC2T_PARAM_BIAS;

    st = grow(net->ctx, (void **)&net->params, &net->cap_params, net->n_params + 1,
              sizeof *net->params);
    if (st != EC2T_OK)
        return st;
    st = ec2t_tensor_new(net->ctx, rank, dims, &l->param[role]);
    if (st == EC2T_OK && trained)
        st = ec2t_tensor_new(net->ctx, rank, dims, &l->grad[role]);
    if (st != EC2T_OK)
        return st; /* the layer's tensors are freed with the layer */
    l->param[role]->flags |= EC2T__TENSOR_BORROWED;
    if (trained)
        l->grad[role]->flags |= EC2T__TENSOR_BORROWED;
    e = &net->params[net->n_params++];
    e->layer = l->id;
    e->role = role;
    param_entry_name(net, e);
    return EC2T_OK;
}

void
ec2t__net_drop_last(ec2t_net *net)
{
    ec2t_layer *l = net->layers[net->n_layers - 1];
    while (net->n_params > 0 && net->params[net->n_params - 1].layer == l->id)
        net->n_params--;
    if (net->loss_layer == l->id)
        net->loss_layer = -1;
    net->n_layers--;
    layer_free(net->ctx, l);
    ec2t__net_invalidate(net);
}

/* Kaiming normal for weights of dense and conv layers (fan in), zero bias;
 * batchnorm gamma 1, beta 0, running mean 0, variance 1. */
void
ec2t__layer_init_params(ec2t_layer *l, uint64_t seed)
{
    ec2t_tensor **p = l->param;
    if (l->kind == EC2T_LAYER_BATCHNORM) {
        if (p[EC2T_PARAM_WEIGHT])
            ec2t_tensor_fill(p[EC2T_PARAM_WEIGHT], 1.0f);
        if (p[EC2T_PARAM_BIAS])
            ec2t_tensor_fill(p[EC2T_PARAM_BIAS], 0.0f);
        ec2t_tensor_fill(p[EC2T_PARAM_RUNNING_MEAN], 0.0f);
        ec2t_tensor_fill(p[EC2T_PARAM_RUNNING_VAR], 1.0f);
        return;
    }
    if (p[EC2T_PARAM_WEIGHT])
        ec2t_tensor_init_kaiming(p[EC2T_PARAM_WEIGHT], EC2T_FAN_IN, seed);
    if (p[EC2T_PARAM_BIAS])
        ec2t_tensor_fill(p[EC2T_PARAM_BIAS], 0.0f);
}

static uint64_t
layer_seed(uint64_t seed, int32_t id)
{
    return seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1));
}

EC2T_API ec2t_status
ec2t_net_init(ec2t_net *net, uint64_t seed)
{
    if (!net)
        return EC2T_E_INVAL;
    for (int32_t i = 0; i < net->n_layers; i++)
        ec2t__layer_init_params(net->layers[i], layer_seed(seed, i));
    return EC2T_OK;
}

/* ---- lookups ---- */

EC2T_API ec2t_layer *
ec2t_net_input(ec2t_net *net)
{
    return net ? net->layers[0] : NULL;
}

EC2T_API int32_t
ec2t_net_layer_count(const ec2t_net *net)
{
    return net ? net->n_layers : 0;
}

EC2T_API ec2t_status
ec2t_net_layer(ec2t_net *net, int32_t id, ec2t_layer **layer)
{
    if (!net)
        return EC2T_E_INVAL;
    if (!layer || id < 0 || id >= net->n_layers)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_layer: no layer %d (the network has %d)",
                           (int)id, (int)net->n_layers);
    *layer = net->layers[id];
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_find_layer(ec2t_net *net, const char *name, ec2t_layer **layer)
{
    if (!net)
        return EC2T_E_INVAL;
    if (!name || !layer)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_find_layer: NULL argument");
    for (int32_t i = 0; i < net->n_layers; i++) {
        if (strcmp(net->layers[i]->name, name) == 0) {
            *layer = net->layers[i];
            return EC2T_OK;
        }
    }
    return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_find_layer: no layer named '%s'", name);
}

EC2T_API int32_t
ec2t_net_param_count(const ec2t_net *net)
{
    return net ? net->n_params : 0;
}

static void
entry_tensors(ec2t_net *net, const ec2t__param_entry *e, ec2t_tensor **value, ec2t_tensor **grad)
{
    ec2t_layer *l = net->layers[e->layer];
    if (value)
        *value = l->param[e->role];
    if (grad)
        *grad = e->role <= EC2T_PARAM_BIAS ? l->grad[e->role] : NULL;
}

EC2T_API ec2t_status
ec2t_net_param(ec2t_net *net, int32_t index, const char **name, ec2t_tensor **value,
               ec2t_tensor **grad)
{
    if (!net)
        return EC2T_E_INVAL;
    if (index < 0 || index >= net->n_params)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_param: no tensor %d (the network has %d)",
                           (int)index, (int)net->n_params);
    if (name)
        *name = net->params[index].name;
    entry_tensors(net, &net->params[index], value, grad);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_find_param(ec2t_net *net, const char *name, ec2t_tensor **value, ec2t_tensor **grad)
{
    if (!net)
        return EC2T_E_INVAL;
    if (!name)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_find_param: name is NULL");
    for (int32_t i = 0; i < net->n_params; i++) {
        if (strcmp(net->params[i].name, name) == 0) {
            entry_tensors(net, &net->params[i], value, grad);
            return EC2T_OK;
        }
    }
    return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_find_param: no tensor named '%s'", name);
}

EC2T_API int64_t
ec2t_net_trainable_count(const ec2t_net *net)
{
    int64_t n = 0;
    if (!net)
        return 0;
    for (int32_t i = 0; i < net->n_params; i++)
        if (net->params[i].role <= EC2T_PARAM_BIAS)
            n += ec2t_tensor_numel(net->layers[net->params[i].layer]->param[net->params[i].role]);
    return n;
}

EC2T_API int64_t
ec2t_net_macs(const ec2t_net *net)
{
    int64_t macs = 0;
    if (!net)
        return 0;
    for (int32_t i = 0; i < net->n_layers; i++) {
        const ec2t_layer *l = net->layers[i];
        if (l->kind == EC2T_LAYER_CONV2D || l->kind == EC2T_LAYER_DENSE)
            macs += ec2t_tensor_numel(l->param[EC2T_PARAM_WEIGHT]) * l->h * l->w;
    }
    return macs;
}

static const ec2t_layer *
output_layer(const ec2t_net *net)
{
    const ec2t_layer *last = net->layers[net->n_layers - 1];
    return last->kind == EC2T_LAYER_SOFTMAX_XENT ? net->layers[last->inputs[0]] : last;
}

EC2T_API ec2t_status
ec2t_net_output_shape(const ec2t_net *net, int32_t *c, int32_t *h, int32_t *w)
{
    if (!net)
        return EC2T_E_INVAL;
    return ec2t_layer_output_shape(output_layer(net), c, h, w);
}

EC2T_API ec2t_status
ec2t_net_input_shape(const ec2t_net *net, int32_t *c, int32_t *h, int32_t *w)
{
    if (!net)
        return EC2T_E_INVAL;
    return ec2t_layer_output_shape(net->layers[0], c, h, w);
}

EC2T_API ec2t_status
ec2t_net_set_mode(ec2t_net *net, ec2t_net_mode mode)
{
    if (!net)
        return EC2T_E_INVAL;
    if (mode != EC2T_MODE_EVAL && mode != EC2T_MODE_TRAIN)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_set_mode: unknown mode %d", (int)mode);
    net->mode = mode;
    net->loss_ready = 0;
    return EC2T_OK;
}

EC2T_API ec2t_net_mode
ec2t_net_get_mode(const ec2t_net *net)
{
    return net ? net->mode : EC2T_MODE_EVAL;
}

void
ec2t__net_rename_params(ec2t_net *net, int32_t layer)
{
    for (int32_t i = 0; i < net->n_params; i++)
        if (net->params[i].layer == layer)
            param_entry_name(net, &net->params[i]);
}

int
ec2t__net_name_taken(const ec2t_net *net, const char *name, const ec2t_layer *except)
{
    return name_taken(net, name, except);
}

/* The same layers, names, settings and tensor shapes. */
int
ec2t__net_same_architecture(const ec2t_net *a, const ec2t_net *b)
{
    if (a->n_layers != b->n_layers || a->n_params != b->n_params)
        return 0;
    for (int32_t i = 0; i < a->n_layers; i++) {
        const ec2t_layer *x = a->layers[i], *y = b->layers[i];
        if (x->kind != y->kind || strcmp(x->name, y->name) != 0 || x->n_inputs != y->n_inputs ||
            x->c != y->c || x->h != y->h || x->w != y->w || x->kh != y->kh || x->kw != y->kw ||
            x->stride != y->stride || x->pad != y->pad || x->groups != y->groups ||
            x->flags != y->flags)
            return 0;
        for (int32_t k = 0; k < x->n_inputs; k++)
            if (x->inputs[k] != y->inputs[k])
                return 0;
    }
    return 1;
}

/* ---- clone ---- */

static ec2t_status
clone_layer(ec2t_net *dst, const ec2t_layer *src)
{
    ec2t_layer *inputs[2] = {NULL, NULL};
    ec2t_layer *l;
    ec2t_status st;
    for (int32_t i = 0; i < src->n_inputs; i++)
        inputs[i] = dst->layers[src->inputs[i]];
    st = ec2t__net_add_layer(dst, src->kind, src->n_inputs, inputs, &l);
    if (st != EC2T_OK)
        return st;
    /* copy the configuration, then give the copy its own tensors */
    memcpy(l->name, src->name, sizeof l->name);
    l->c = src->c, l->h = src->h, l->w = src->w;
    l->flags = src->flags;
    l->kh = src->kh, l->kw = src->kw, l->stride = src->stride, l->pad = src->pad;
    l->groups = src->groups;
    l->dropout_p = src->dropout_p;
    l->bn_eps = src->bn_eps, l->bn_momentum = src->bn_momentum;
    l->compression = src->compression;
    for (int r = 0; r < EC2T__MAX_PARAMS_PER_LAYER; r++) {
        const ec2t_tensor *t = src->param[r];
        if (!t)
            continue;
        st = ec2t__layer_add_param(l, (ec2t_param_role)r, t->rank, t->dims);
        if (st != EC2T_OK)
            return st;
        memcpy(l->param[r]->data, t->data, (size_t)t->numel * sizeof(float));
    }
    if (src->kind == EC2T_LAYER_SOFTMAX_XENT)
        dst->loss_layer = l->id;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_clone(const ec2t_net *net, ec2t_net **out)
{
    const ec2t_layer *in;
    ec2t_net *copy = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!net)
        return EC2T_E_INVAL;
    if (!out)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_clone: out is NULL");
    in = net->layers[0];
    st = ec2t_net_new(net->ctx, in->c, in->h, in->w, &copy);
    for (int32_t i = 1; st == EC2T_OK && i < net->n_layers; i++)
        st = clone_layer(copy, net->layers[i]);
    if (st != EC2T_OK) {
        ec2t_net_free(copy);
        return st;
    }
    copy->mode = net->mode;
    copy->rng = net->rng;
    copy->arch = net->arch;
    *out = copy;
    return EC2T_OK;
}
