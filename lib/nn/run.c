/* SPDX-License-Identifier: MIT */
/* Forward and backward passes, the loss, and evaluation over a dataset. */
#include <math.h>
#include <string.h>

#include "count-private.h"
#include "net-private.h"

/* NCHW (the API's order) to CNHW (the network's) and back. */
static void
nchw_to_cnhw(float *dst, const float *src, int64_t n, int64_t c, int64_t plane)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < c; k++)
            memcpy(dst + (k * n + i) * plane, src + (i * c + k) * plane, (size_t)plane * sizeof *src);
}

static void
cnhw_to_nchw(float *dst, const float *src, int64_t n, int64_t c, int64_t plane)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < c; k++)
            memcpy(dst + (i * c + k) * plane, src + (k * n + i) * plane, (size_t)plane * sizeof *src);
}

/* The input is there, the batch in range, and the input holds exactly the
 * batch's samples: nothing is read past the caller's buffer. */
static ec2t_status
check_batch(ec2t_net *net, const float *input, size_t input_count, int64_t batch, const char *fn)
{
    const ec2t_layer *in = net->layers[0];
    if (!input)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: input is NULL", fn);
    if (batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(net->ctx, EC2T_E_INVAL, "%s: batch %lld is outside 1..2^24", fn,
                           (long long)batch);
    return ec2t__check_input_count(net->ctx, fn, input_count, batch, in->c, in->h, in->w);
}

ec2t_status
ec2t__net_run_forward(ec2t_net *net, const float *input, int64_t batch)
{
    const ec2t_layer *in = net->layers[0];
    ec2t_status st = ec2t__net_plan(net, batch);
    if (st != EC2T_OK)
        return st;
    net->batch = batch;
    net->loss_ready = 0;
    nchw_to_cnhw(in->out, input, batch, in->c, (int64_t)in->h * in->w);
    for (int32_t i = 1; i < net->n_layers; i++) {
        ec2t_layer *l = net->layers[i];
        if (i != net->loss_layer && !l->fused_into)
            ec2t__layer_ops_of(l->kind)->forward(net, l);
    }
    return EC2T_OK;
}

static const ec2t_layer *
output_layer(const ec2t_net *net)
{
    return net->loss_layer >= 0 ? net->layers[net->layers[net->loss_layer]->inputs[0]]
                                : net->layers[net->n_layers - 1];
}

EC2T_API ec2t_status
ec2t_net_forward(ec2t_net *net, const float *input, size_t input_count, int64_t batch,
                 float *output, size_t output_cap, uint32_t flags)
{
    const ec2t_layer *o;
    ec2t_status st;
    size_t need;
    if (!net)
        return EC2T_E_INVAL;
    if ((st = check_batch(net, input, input_count, batch, "ec2t_net_forward")) != EC2T_OK)
        return st;
    if (flags != 0 || (output_cap > 0 && !output))
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_forward: bad flags or output");
    if ((st = ec2t__net_run_forward(net, input, batch)) != EC2T_OK)
        return st;
    o = output_layer(net);
    need = (size_t)batch * (size_t)ec2t__layer_sample_size(o);
    if (output_cap < need)
        return ec2t__error(net->ctx, EC2T_E_RANGE, "ec2t_net_forward: output holds %zu floats, %zu needed",
                           output_cap, need);
    cnhw_to_nchw(output, o->out, batch, o->c, (int64_t)o->h * o->w);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_forward_loss(ec2t_net *net, const float *input, size_t input_count, const int32_t *labels,
                      size_t label_count, int64_t batch, uint32_t flags, float *loss,
                      int64_t *correct)
{
    ec2t_layer *l;
    ec2t_status st;
    int32_t classes;
    if (!net)
        return EC2T_E_INVAL;
    if ((st = check_batch(net, input, input_count, batch, "ec2t_net_forward_loss")) != EC2T_OK)
        return st;
    if (!labels || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_forward_loss: NULL labels or bad flags");
    if ((st = ec2t__check_label_count(net->ctx, "ec2t_net_forward_loss", label_count, batch)) != EC2T_OK)
        return st;
    if (net->loss_layer < 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_forward_loss: the network has no loss layer");
    l = net->layers[net->loss_layer];
    classes = net->layers[l->inputs[0]]->c;
    for (int64_t i = 0; i < batch; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return ec2t__error(net->ctx, EC2T_E_INVAL,
                               "ec2t_net_forward_loss: label %d of sample %lld is outside [0, %d)",
                               (int)labels[i], (long long)i, (int)classes);
    if ((st = ec2t__net_run_forward(net, input, batch)) != EC2T_OK)
        return st;
    memcpy(net->labels, labels, (size_t)batch * sizeof *labels);
    ec2t__layer_ops_of(l->kind)->forward(net, l);
    net->loss_ready = 1;
    if (loss)
        *loss = (float)net->loss;
    if (correct)
        *correct = net->correct;
    return EC2T_OK;
}

/* Give layer l its gradient slot, zeroed, the first time the backward pass
 * reaches it (as the input of a later layer or as itself). */
static void
acquire_grad(ec2t_net *net, ec2t_layer *l)
{
    if (l->dout_slot < 0 || l->grad_live)
        return;
    l->grad_live = 1;
    l->dout = net->slots[l->dout_slot];
    memset(l->dout, 0, (size_t)(ec2t__layer_sample_size(l) * net->batch) * sizeof(float));
}

EC2T_API ec2t_status
ec2t_net_backward(ec2t_net *net, uint32_t flags)
{
    if (!net)
        return EC2T_E_INVAL;
    if (flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_backward: flags must be 0");
    return ec2t__net_backward(net, NULL);
}

ec2t_status
ec2t__net_backward(ec2t_net *net, const ec2t__distill *distill)
{
    /* a thread count changed since the forward pass left scratch too small */
    if (!net->loss_ready || net->plan_threads != net->ctx->threads)
        return ec2t__error(net->ctx, EC2T_E_STATE,
                           "ec2t_net_backward: no loss since the last change (call ec2t_net_forward_loss)");
    for (int32_t j = 0; j < net->n_layers; j++)
        net->layers[j]->grad_live = 0;
    for (int32_t j = net->n_layers - 1; j >= 1; j--) {
        ec2t_layer *l = net->layers[j];
        acquire_grad(net, l);
        if (l->fused_into) {
            /* the layer it is fused into masks this gradient, in the shared slot */
            ec2t_layer *bn = net->layers[l->inputs[0]];
            bn->dout = l->dout;
            bn->grad_live = 1;
            continue;
        }
        for (int32_t k = 0; k < l->n_inputs; k++)
            acquire_grad(net, net->layers[l->inputs[k]]);
        if (j == net->loss_layer)
            ec2t__loss_backward(net, l, distill);
        else
            ec2t__layer_ops_of(l->kind)->backward(net, l);
        if (net->grad_ready)
            net->grad_ready(net->grad_ready_user, j);
    }
    return EC2T_OK;
}
