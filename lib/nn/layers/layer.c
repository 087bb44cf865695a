/* SPDX-License-Identifier: MIT */
/* ec2t_layer: the borrowed handle's accessors and settings. */
#include <ctype.h>
#include <string.h>

#include "net-private.h"

EC2T_API ec2t_layer_kind
ec2t_layer_get_kind(const ec2t_layer *layer)
{
    return layer ? layer->kind : EC2T_LAYER_INPUT;
}

EC2T_API int32_t
ec2t_layer_id(const ec2t_layer *layer)
{
    return layer ? layer->id : -1;
}

EC2T_API const char *
ec2t_layer_name(const ec2t_layer *layer)
{
    return layer ? layer->name : "";
}

static int
valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= EC2T__NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
            return 0;
    return 1;
}

EC2T_API ec2t_status
ec2t_layer_set_name(ec2t_layer *layer, const char *name)
{
    ec2t_net *net;
    if (!layer)
        return EC2T_E_INVAL;
    net = layer->net;
    if (!name || !valid_name(name))
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "ec2t_layer_set_name: '%s' is not 1-63 characters of [A-Za-z0-9_.-]",
                           name ? name : "(null)");
    if (ec2t__net_name_taken(net, name, layer))
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_layer_set_name: '%s' is already taken",
                           name);
    strcpy(layer->name, name);
    ec2t__net_rename_params(net, layer->id);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_layer_output_shape(const ec2t_layer *layer, int32_t *c, int32_t *h, int32_t *w)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (c)
        *c = layer->c;
    if (h)
        *h = layer->h;
    if (w)
        *w = layer->w;
    return EC2T_OK;
}

EC2T_API int32_t
ec2t_layer_input_count(const ec2t_layer *layer)
{
    return layer ? layer->n_inputs : 0;
}

EC2T_API ec2t_status
ec2t_layer_input(const ec2t_layer *layer, int32_t index, ec2t_layer **input)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (!input || index < 0 || index >= layer->n_inputs)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL, "ec2t_layer_input: '%s' has no input %d",
                           layer->name, (int)index);
    *input = layer->net->layers[layer->inputs[index]];
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_layer_param(ec2t_layer *layer, ec2t_param_role role, ec2t_tensor **value)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (!value || role < 0 || role >= EC2T__MAX_PARAMS_PER_LAYER)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL, "ec2t_layer_param: bad argument");
    if (!layer->param[role])
        return ec2t__error(layer->net->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_layer_param: layer '%s' has no tensor of role %d", layer->name,
                           (int)role);
    *value = layer->param[role];
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_layer_grad(ec2t_layer *layer, ec2t_param_role role, ec2t_tensor **grad)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (!grad || role < 0 || role >= EC2T__MAX_PARAMS_PER_LAYER)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL, "ec2t_layer_grad: bad argument");
    if (role > EC2T_PARAM_BIAS || !layer->grad[role])
        return ec2t__error(layer->net->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_layer_grad: layer '%s' has no trained tensor of role %d",
                           layer->name, (int)role);
    *grad = layer->grad[role];
    return EC2T_OK;
}

/* ---- settings (core/settings.c) ---- */

static ec2t_context *
layer_ctx(const void *obj)
{
    return ((const ec2t_layer *)obj)->net->ctx;
}

/* Which kinds have which setting; every layer has a compression (AUTO or
 * KEEP for the kinds that hold no weights). */
static int
layer_has(const void *obj, const ec2t__setting *s)
{
    const ec2t_layer *l = obj;
    int conv = l->kind == EC2T_LAYER_CONV2D;
    int pool = l->kind == EC2T_LAYER_MAXPOOL || l->kind == EC2T_LAYER_AVGPOOL;
    switch (s->id) {
    case EC2T_LAYER_BN_EPS:
    case EC2T_LAYER_BN_MOMENTUM: return l->kind == EC2T_LAYER_BATCHNORM;
    case EC2T_LAYER_DROPOUT_P: return l->kind == EC2T_LAYER_DROPOUT;
    case EC2T_LAYER_KERNEL_H:
    case EC2T_LAYER_KERNEL_W:
    case EC2T_LAYER_PAD: return conv || pool;
    case EC2T_LAYER_STRIDE: return conv || pool || l->kind == EC2T_LAYER_RESIDUAL;
    case EC2T_LAYER_GROUPS: return conv;
    case EC2T_LAYER_HAS_BIAS: return conv || l->kind == EC2T_LAYER_DENSE;
    default: return 1;
    }
}

static ec2t_status
check_layer(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    const ec2t_layer *l = obj;
    (void)d;
    if (s->id == EC2T_LAYER_COMPRESSION && i != EC2T_COMPRESS_AUTO && i != EC2T_COMPRESS_KEEP &&
        l->kind != EC2T_LAYER_CONV2D && l->kind != EC2T_LAYER_DENSE)
        return ec2t__error(layer_ctx(obj), EC2T_E_INVAL,
                           "ec2t_layer_set_int: %s: only conv and dense layers can be compressed", s->name);
    return EC2T_OK;
}

/* The read-only geometry. */
static void
compute_layer(const void *obj, const ec2t__setting *s, int64_t *v, double *d)
{
    const ec2t_layer *l = obj;
    (void)d;
    switch (s->id) {
    case EC2T_LAYER_OUT_CHANNELS: *v = l->c; break;
    case EC2T_LAYER_IN_CHANNELS: *v = l->n_inputs ? l->net->layers[l->inputs[0]]->c : l->c; break;
    case EC2T_LAYER_KERNEL_H: *v = l->kh; break;
    case EC2T_LAYER_KERNEL_W: *v = l->kw; break;
    case EC2T_LAYER_STRIDE: *v = l->stride; break;
    case EC2T_LAYER_PAD: *v = l->pad; break;
    case EC2T_LAYER_GROUPS: *v = l->groups; break;
    case EC2T_LAYER_HAS_BIAS: *v = l->param[EC2T_PARAM_BIAS] != NULL; break;
    default: break;
    }
}

static const ec2t__setting layer_rows[] = {
    EC2T__REAL_AT(EC2T_LAYER_BN_EPS, ec2t_layer, bn_eps, EC2T__AT_DOUBLE, EC2T__ABOVE_ZERO, EC2T__BELOW_ONE),
    EC2T__REAL_AT(EC2T_LAYER_BN_MOMENTUM, ec2t_layer, bn_momentum, EC2T__AT_DOUBLE, 0, 1),
    EC2T__REAL_AT(EC2T_LAYER_DROPOUT_P, ec2t_layer, dropout_p, EC2T__AT_FLOAT, 0, EC2T__BELOW_ONE),
    EC2T__INT_AT(EC2T_LAYER_COMPRESSION, ec2t_layer, compression, EC2T__AT_I32, EC2T_COMPRESS_AUTO,
                 EC2T_COMPRESS_KEEP),
    EC2T__INT_HOOKED(EC2T_LAYER_OUT_CHANNELS, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_IN_CHANNELS, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_KERNEL_H, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_KERNEL_W, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_STRIDE, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_PAD, 1, 0, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_GROUPS, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_LAYER_HAS_BIAS, 1, 0, 1),
};

const ec2t__settings ec2t__layer_settings = {
    EC2T__SETTINGS_ROWS("layer", layer_rows, EC2T_E_UNSUPPORTED),
    .ctx_of = layer_ctx,
    .has = layer_has,
    .check = check_layer,
    .compute = compute_layer,
};

EC2T_API ec2t_status
ec2t_layer_set_int(ec2t_layer *layer, ec2t_layer_setting param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__layer_settings, layer, param, value, "ec2t_layer_set_int");
}

EC2T_API ec2t_status
ec2t_layer_get_int(const ec2t_layer *layer, ec2t_layer_setting param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__layer_settings, layer, param, value, "ec2t_layer_get_int");
}

EC2T_API ec2t_status
ec2t_layer_set_double(ec2t_layer *layer, ec2t_layer_setting param, double value)
{
    return ec2t__settings_set_double(&ec2t__layer_settings, layer, param, value, "ec2t_layer_set_double");
}

EC2T_API ec2t_status
ec2t_layer_get_double(const ec2t_layer *layer, ec2t_layer_setting param, double *value)
{
    return ec2t__settings_get_double(&ec2t__layer_settings, layer, param, value, "ec2t_layer_get_double");
}

EC2T_API ec2t_status
ec2t_layer_param_bounds_int(ec2t_layer_setting param, int64_t *lo, int64_t *hi)
{
    return ec2t__settings_bounds_int(&ec2t__layer_settings, param, lo, hi);
}

EC2T_API ec2t_status
ec2t_layer_param_bounds_double(ec2t_layer_setting param, double *lo, double *hi)
{
    return ec2t__settings_bounds_double(&ec2t__layer_settings, param, lo, hi);
}
