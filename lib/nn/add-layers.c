/* SPDX-License-Identifier: MIT */
/* The ec2t_net_add_* functions: argument checks, output shapes, parameters. */
#include <math.h>

#include "net-private.h"

#define MAX_CHANNELS (1 << 24)

/* Shared checks: a network, an input of that network, flags within `allowed`. */
static ec2t_status
check_add(ec2t_net *net, const ec2t_layer *input, uint32_t flags, uint32_t allowed, const char *fn)
{
    if (!net)
        return EC2T_E_INVAL;
    if (!input)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: input is NULL", fn);
    if (input->net != net)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: input '%s' belongs to another network", fn,
                           input->name);
    if (flags & ~allowed)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: unknown flags 0x%x", fn,
                           (unsigned)(flags & ~allowed));
    return EC2T_OK;
}

/* Create the layer with one input and its output shape. */
static ec2t_status
create(ec2t_net *net, ec2t_layer_kind kind, ec2t_layer *input, int32_t c, int32_t h, int32_t w,
       uint32_t flags, ec2t_layer **l)
{
    ec2t_status st = ec2t__net_add_layer(net, kind, 1, &input, l);
    if (st != EC2T_OK)
        return st;
    (*l)->c = c;
    (*l)->h = h;
    (*l)->w = w;
    (*l)->flags = flags;
    return EC2T_OK;
}

/* Initialise the new layer's tensors and hand it out; undo on failure. */
static ec2t_status
finish(ec2t_net *net, ec2t_layer *l, ec2t_status st, ec2t_layer **out)
{
    if (st != EC2T_OK) {
        if (l)
            ec2t__net_drop_last(net);
        return st;
    }
    ec2t__layer_init_params(l, (uint64_t)net->ctx->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)l->id));
    if (out)
        *out = l;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_add_dense(ec2t_net *net, ec2t_layer *input, int32_t out_features, uint32_t flags,
                   ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    int64_t dims[2];
    const char *fn = "ec2t_net_add_dense";
    if ((st = check_add(net, input, flags, EC2T_ADD_BIAS, fn)) != EC2T_OK)
        return st;
    if (out_features < 1 || out_features > MAX_CHANNELS)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: %d output features", fn, (int)out_features);
    if (input->h != 1 || input->w != 1)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "%s: input '%s' is %dx%dx%d, not flat: add a flatten or global pooling layer",
                           fn, input->name, (int)input->c, (int)input->h, (int)input->w);
    st = create(net, EC2T_LAYER_DENSE, input, out_features, 1, 1, flags, &l);
    if (st == EC2T_OK) {
        dims[0] = out_features;
        dims[1] = input->c;
        st = ec2t__layer_add_param(l, EC2T_PARAM_WEIGHT, 2, dims);
    }
    if (st == EC2T_OK && (flags & EC2T_ADD_BIAS))
        st = ec2t__layer_add_param(l, EC2T_PARAM_BIAS, 1, dims);
    return finish(net, l, st, out);
}

/* Output extent of a window sweep; 0 when the window does not fit. */
static int32_t
swept(int32_t in, int32_t kernel, int32_t stride, int32_t pad)
{
    int64_t span = (int64_t)in + 2 * (int64_t)pad - kernel;
    return span < 0 ? 0 : (int32_t)(span / stride + 1);
}

EC2T_API ec2t_status
ec2t_net_add_conv2d(ec2t_net *net, ec2t_layer *input, int32_t out_channels, int32_t kernel_h,
                    int32_t kernel_w, int32_t stride, int32_t pad, int32_t groups, uint32_t flags,
                    ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    int32_t oh, ow;
    int64_t dims[4];
    const char *fn = "ec2t_net_add_conv2d";
    if ((st = check_add(net, input, flags, EC2T_ADD_BIAS, fn)) != EC2T_OK)
        return st;
    if (out_channels < 1 || out_channels > MAX_CHANNELS || kernel_h < 1 || kernel_w < 1 ||
        kernel_h > 4096 || kernel_w > 4096 || stride < 1 || stride > 4096 || pad < 0 || pad > 4096)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "%s: bad geometry (out %d, kernel %dx%d, stride %d, pad %d)", fn,
                           (int)out_channels, (int)kernel_h, (int)kernel_w, (int)stride, (int)pad);
    if (groups < 1 || input->c % groups != 0 || out_channels % groups != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "%s: %d groups must divide the %d input and %d output channels", fn,
                           (int)groups, (int)input->c, (int)out_channels);
    oh = swept(input->h, kernel_h, stride, pad);
    ow = swept(input->w, kernel_w, stride, pad);
    if (oh < 1 || ow < 1)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: a %dx%d kernel does not fit the %dx%d input",
                           fn, (int)kernel_h, (int)kernel_w, (int)input->h, (int)input->w);
    st = create(net, EC2T_LAYER_CONV2D, input, out_channels, oh, ow, flags, &l);
    if (st == EC2T_OK) {
        l->kh = kernel_h;
        l->kw = kernel_w;
        l->stride = stride;
        l->pad = pad;
        l->groups = groups;
        dims[0] = out_channels;
        dims[1] = input->c / groups;
        dims[2] = kernel_h;
        dims[3] = kernel_w;
        st = ec2t__layer_add_param(l, EC2T_PARAM_WEIGHT, 4, dims);
    }
    if (st == EC2T_OK && (flags & EC2T_ADD_BIAS))
        st = ec2t__layer_add_param(l, EC2T_PARAM_BIAS, 1, dims);
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_batchnorm(ec2t_net *net, ec2t_layer *input, uint32_t flags, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    int64_t dims[1];
    if ((st = check_add(net, input, flags, EC2T_ADD_NO_AFFINE, "ec2t_net_add_batchnorm")) != EC2T_OK)
        return st;
    st = create(net, EC2T_LAYER_BATCHNORM, input, input->c, input->h, input->w, flags, &l);
    if (st == EC2T_OK) {
        l->bn_eps = 1e-5;
        l->bn_momentum = 0.1;
        dims[0] = input->c;
        if (!(flags & EC2T_ADD_NO_AFFINE)) {
            st = ec2t__layer_add_param(l, EC2T_PARAM_WEIGHT, 1, dims);
            if (st == EC2T_OK)
                st = ec2t__layer_add_param(l, EC2T_PARAM_BIAS, 1, dims);
        }
    }
    if (st == EC2T_OK)
        st = ec2t__layer_add_param(l, EC2T_PARAM_RUNNING_MEAN, 1, dims);
    if (st == EC2T_OK)
        st = ec2t__layer_add_param(l, EC2T_PARAM_RUNNING_VAR, 1, dims);
    return finish(net, l, st, out);
}

/* Layers whose output has the input's shape and that take no parameters. */
static ec2t_status
add_same_shape(ec2t_net *net, ec2t_layer *input, ec2t_layer_kind kind, uint32_t flags,
               const char *fn, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    if ((st = check_add(net, input, flags, 0, fn)) != EC2T_OK)
        return st;
    st = create(net, kind, input, input->c, input->h, input->w, flags, &l);
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_relu(ec2t_net *net, ec2t_layer *input, uint32_t flags, ec2t_layer **out)
{
    return add_same_shape(net, input, EC2T_LAYER_RELU, flags, "ec2t_net_add_relu", out);
}

static ec2t_status
add_pool(ec2t_net *net, ec2t_layer *input, ec2t_layer_kind kind, int32_t kernel, int32_t stride,
         int32_t pad, uint32_t flags, const char *fn, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    int32_t oh, ow;
    if ((st = check_add(net, input, flags, 0, fn)) != EC2T_OK)
        return st;
    if (kernel < 1 || kernel > 4096 || stride < 1 || stride > 4096 || pad < 0 || pad > kernel / 2)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: bad kernel %d, stride %d or pad %d", fn,
                           (int)kernel, (int)stride, (int)pad);
    oh = swept(input->h, kernel, stride, pad);
    ow = swept(input->w, kernel, stride, pad);
    if (oh < 1 || ow < 1)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: a %d window does not fit the %dx%d input", fn,
                           (int)kernel, (int)input->h, (int)input->w);
    st = create(net, kind, input, input->c, oh, ow, flags, &l);
    if (st == EC2T_OK) {
        l->kh = l->kw = kernel;
        l->stride = stride;
        l->pad = pad;
    }
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_maxpool(ec2t_net *net, ec2t_layer *input, int32_t kernel, int32_t stride, int32_t pad,
                     uint32_t flags, ec2t_layer **out)
{
    return add_pool(net, input, EC2T_LAYER_MAXPOOL, kernel, stride, pad, flags,
                    "ec2t_net_add_maxpool", out);
}

EC2T_API ec2t_status
ec2t_net_add_avgpool(ec2t_net *net, ec2t_layer *input, int32_t kernel, int32_t stride, int32_t pad,
                     uint32_t flags, ec2t_layer **out)
{
    return add_pool(net, input, EC2T_LAYER_AVGPOOL, kernel, stride, pad, flags,
                    "ec2t_net_add_avgpool", out);
}

EC2T_API ec2t_status
ec2t_net_add_global_avgpool(ec2t_net *net, ec2t_layer *input, uint32_t flags, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    if ((st = check_add(net, input, flags, 0, "ec2t_net_add_global_avgpool")) != EC2T_OK)
        return st;
    st = create(net, EC2T_LAYER_GLOBAL_AVGPOOL, input, input->c, 1, 1, flags, &l);
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_flatten(ec2t_net *net, ec2t_layer *input, uint32_t flags, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    int64_t features;
    if ((st = check_add(net, input, flags, 0, "ec2t_net_add_flatten")) != EC2T_OK)
        return st;
    features = ec2t__layer_sample_size(input);
    if (features > MAX_CHANNELS)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_add_flatten: %lld features is too many",
                           (long long)features);
    st = create(net, EC2T_LAYER_FLATTEN, input, (int32_t)features, 1, 1, flags, &l);
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_dropout(ec2t_net *net, ec2t_layer *input, float p, uint32_t flags, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    if ((st = check_add(net, input, flags, 0, "ec2t_net_add_dropout")) != EC2T_OK)
        return st;
    if (!(p >= 0.0f && p < 1.0f))
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_add_dropout: p = %g is outside [0, 1)",
                           (double)p);
    st = create(net, EC2T_LAYER_DROPOUT, input, input->c, input->h, input->w, flags, &l);
    if (st == EC2T_OK)
        l->dropout_p = p;
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_residual(ec2t_net *net, ec2t_layer *a, ec2t_layer *b, uint32_t flags,
                      ec2t_layer **out)
{
    ec2t_layer *l = NULL, *inputs[2] = {a, b};
    ec2t_status st;
    const char *fn = "ec2t_net_add_residual";
    if ((st = check_add(net, a, flags, EC2T_ADD_OPTION_A, fn)) != EC2T_OK ||
        (st = check_add(net, b, 0, 0, fn)) != EC2T_OK)
        return st;
    if (a->c != b->c || a->h != b->h || a->w != b->w) {
        int fits = (flags & EC2T_ADD_OPTION_A) && b->c <= a->c && b->h % a->h == 0 &&
                   b->w % a->w == 0 && b->h / a->h == b->w / a->w;
        if (!fits)
            return ec2t__error(net->ctx, EC2T_E_INVAL,
                               "%s: shapes %dx%dx%d and %dx%dx%d differ%s", fn, (int)a->c,
                               (int)a->h, (int)a->w, (int)b->c, (int)b->h, (int)b->w,
                               (flags & EC2T_ADD_OPTION_A) ? " beyond what option A bridges"
                                                           : " (EC2T_ADD_OPTION_A not given)");
    }
    st = ec2t__net_add_layer(net, EC2T_LAYER_RESIDUAL, 2, inputs, &l);
    if (st == EC2T_OK) {
        l->c = a->c;
        l->h = a->h;
        l->w = a->w;
        l->flags = flags;
        l->stride = b->h / a->h;
    }
    return finish(net, l, st, out);
}

EC2T_API ec2t_status
ec2t_net_add_softmax_xent(ec2t_net *net, ec2t_layer *input, uint32_t flags, ec2t_layer **out)
{
    ec2t_layer *l = NULL;
    ec2t_status st;
    if ((st = check_add(net, input, flags, 0, "ec2t_net_add_softmax_xent")) != EC2T_OK)
        return st;
    if (input->h != 1 || input->w != 1 || input->id == 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "ec2t_net_add_softmax_xent: input '%s' must be flat logits", input->name);
    if (input->id != net->n_layers - 1)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "ec2t_net_add_softmax_xent: the loss must follow the last layer");
    st = create(net, EC2T_LAYER_SOFTMAX_XENT, input, 1, 1, 1, flags, &l);
    if (st == EC2T_OK)
        net->loss_layer = l->id;
    return finish(net, l, st, out);
}
