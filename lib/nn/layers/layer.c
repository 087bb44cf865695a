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

/* Read-only integer settings; returns 0 when the kind lacks the setting. */
static int
geometry(const ec2t_layer *l, ec2t_layer_setting param, int64_t *v)
{
    int conv = l->kind == EC2T_LAYER_CONV2D;
    int pool = l->kind == EC2T_LAYER_MAXPOOL || l->kind == EC2T_LAYER_AVGPOOL;
    int weighted = conv || l->kind == EC2T_LAYER_DENSE;
    switch (param) {
    case EC2T_LAYER_OUT_CHANNELS: *v = l->c; return 1;
    case EC2T_LAYER_IN_CHANNELS:
        *v = l->n_inputs ? l->net->layers[l->inputs[0]]->c : l->c;
        return 1;
    case EC2T_LAYER_KERNEL_H: *v = l->kh; return conv || pool;
    case EC2T_LAYER_KERNEL_W: *v = l->kw; return conv || pool;
    case EC2T_LAYER_STRIDE: *v = l->stride; return conv || pool || l->kind == EC2T_LAYER_RESIDUAL;
    case EC2T_LAYER_PAD: *v = l->pad; return conv || pool;
    case EC2T_LAYER_GROUPS: *v = l->groups; return conv;
    case EC2T_LAYER_HAS_BIAS: *v = l->param[EC2T_PARAM_BIAS] != NULL; return weighted;
    default: return 0;
    }
}

static int
is_geometry(ec2t_layer_setting param)
{
    return param >= EC2T_LAYER_OUT_CHANNELS && param <= EC2T_LAYER_HAS_BIAS;
}

EC2T_API ec2t_status
ec2t_layer_set_int(ec2t_layer *layer, ec2t_layer_setting param, int64_t value)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (is_geometry(param))
        return ec2t__error(layer->net->ctx, EC2T_E_STATE, "ec2t_layer_set_int: setting %d is read-only",
                           (int)param);
    if (param != EC2T_LAYER_COMPRESSION)
        return ec2t__error(layer->net->ctx,
                           param == EC2T_LAYER_BN_EPS || param == EC2T_LAYER_BN_MOMENTUM ||
                                   param == EC2T_LAYER_DROPOUT_P
                               ? EC2T_E_INVAL
                               : EC2T_E_UNSUPPORTED,
                           "ec2t_layer_set_int: %d is not an integer setting", (int)param);
    if (value < EC2T_COMPRESS_AUTO || value > EC2T_COMPRESS_KEEP)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL, "ec2t_layer_set_int: compression %lld is unknown",
                           (long long)value);
    if (value != EC2T_COMPRESS_AUTO && value != EC2T_COMPRESS_KEEP &&
        layer->kind != EC2T_LAYER_CONV2D && layer->kind != EC2T_LAYER_DENSE)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL,
                           "ec2t_layer_set_int: only conv and dense layers can be compressed");
    layer->compression = (int32_t)value;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_layer_get_int(const ec2t_layer *layer, ec2t_layer_setting param, int64_t *value)
{
    if (!layer)
        return EC2T_E_INVAL;
    if (!value)
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL, "ec2t_layer_get_int: value is NULL");
    if (param == EC2T_LAYER_COMPRESSION) {
        *value = layer->compression;
        return EC2T_OK;
    }
    if (!is_geometry(param))
        return ec2t__error(layer->net->ctx, EC2T_E_UNSUPPORTED,
                           "ec2t_layer_get_int: %d is not an integer setting", (int)param);
    if (!geometry(layer, param, value))
        return ec2t__error(layer->net->ctx, EC2T_E_INVAL,
                           "ec2t_layer_get_int: layer '%s' has no setting %d", layer->name,
                           (int)param);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_layer_set_double(ec2t_layer *layer, ec2t_layer_setting param, double value)
{
    ec2t_context *ctx;
    if (!layer)
        return EC2T_E_INVAL;
    ctx = layer->net->ctx;
    switch (param) {
    case EC2T_LAYER_BN_EPS:
    case EC2T_LAYER_BN_MOMENTUM:
        if (layer->kind != EC2T_LAYER_BATCHNORM)
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_set_double: '%s' is not batchnorm",
                               layer->name);
        if (param == EC2T_LAYER_BN_EPS) {
            if (!(value > 0 && value < 1))
                return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_set_double: eps %g", value);
            layer->bn_eps = value;
        } else {
            if (!(value >= 0 && value <= 1))
                return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_set_double: momentum %g", value);
            layer->bn_momentum = value;
        }
        return EC2T_OK;
    case EC2T_LAYER_DROPOUT_P:
        if (layer->kind != EC2T_LAYER_DROPOUT)
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_set_double: '%s' is not dropout",
                               layer->name);
        if (!(value >= 0 && value < 1))
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_set_double: p = %g", value);
        layer->dropout_p = (float)value;
        return EC2T_OK;
    default:
        return ec2t__error(ctx, EC2T_E_UNSUPPORTED, "ec2t_layer_set_double: %d is not a real setting",
                           (int)param);
    }
}

EC2T_API ec2t_status
ec2t_layer_get_double(const ec2t_layer *layer, ec2t_layer_setting param, double *value)
{
    ec2t_context *ctx;
    if (!layer)
        return EC2T_E_INVAL;
    ctx = layer->net->ctx;
    if (!value)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_get_double: value is NULL");
    switch (param) {
    case EC2T_LAYER_BN_EPS:
    case EC2T_LAYER_BN_MOMENTUM:
        if (layer->kind != EC2T_LAYER_BATCHNORM)
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_get_double: '%s' is not batchnorm",
                               layer->name);
        *value = param == EC2T_LAYER_BN_EPS ? layer->bn_eps : layer->bn_momentum;
        return EC2T_OK;
    case EC2T_LAYER_DROPOUT_P:
        if (layer->kind != EC2T_LAYER_DROPOUT)
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_layer_get_double: '%s' is not dropout",
                               layer->name);
        *value = layer->dropout_p;
        return EC2T_OK;
    default:
        return ec2t__error(ctx, EC2T_E_UNSUPPORTED, "ec2t_layer_get_double: %d is not a real setting",
                           (int)param);
    }
}
