/* SPDX-License-Identifier: MIT */
/* Buffer planning: output buffers (shared by in-place layers), gradient slots
 * reused by liveness, and the shared scratch of the lowering kernels. */
#include <string.h>

#include "net-private.h"

static const ec2t__layer_ops *const ops_table[] = {
    [EC2T_LAYER_INPUT] = &ec2t__ops_input,
    [EC2T_LAYER_DENSE] = &ec2t__ops_dense,
    [EC2T_LAYER_CONV2D] = &ec2t__ops_conv2d,
    [EC2T_LAYER_BATCHNORM] = &ec2t__ops_batchnorm,
    [EC2T_LAYER_RELU] = &ec2t__ops_relu,
    [EC2T_LAYER_MAXPOOL] = &ec2t__ops_maxpool,
    [EC2T_LAYER_AVGPOOL] = &ec2t__ops_avgpool,
    [EC2T_LAYER_GLOBAL_AVGPOOL] = &ec2t__ops_global_avgpool,
    [EC2T_LAYER_FLATTEN] = &ec2t__ops_flatten,
    [EC2T_LAYER_DROPOUT] = &ec2t__ops_dropout,
    [EC2T_LAYER_RESIDUAL] = &ec2t__ops_residual,
    [EC2T_LAYER_SOFTMAX_XENT] = &ec2t__ops_softmax_xent,
};

const ec2t__layer_ops *
ec2t__layer_ops_of(ec2t_layer_kind kind)
{
    return ops_table[kind];
}

void
ec2t__net_unplan(ec2t_net *net)
{
    ec2t_context *ctx = net->ctx;
    for (int32_t i = 0; i < net->n_layers; i++) {
        ec2t_layer *l = net->layers[i];
        if (l->out_owned)
            ec2t__free(ctx, l->out);
        ec2t__free(ctx, l->save);
        l->out = NULL;
        l->out_owned = 0;
        l->save = NULL;
        l->dout = NULL;
        l->dout_slot = -1;
    }
    for (int32_t s = 0; s < net->n_slots; s++)
        ec2t__free(ctx, net->slots[s]);
    ec2t__free(ctx, net->slots);
    ec2t__free(ctx, net->scratch);
    ec2t__free(ctx, net->io);
    ec2t__free(ctx, net->labels);
    net->slots = NULL;
    net->n_slots = 0;
    net->scratch = NULL;
    net->io = NULL;
    net->labels = NULL;
    net->planned = 0;
    net->batch_cap = 0;
    net->loss_ready = 0;
}

/* Whether layer l may write its output over its first input's buffer: the
 * input is read by l alone and its own backward pass does not need it. */
static int
runs_in_place(const ec2t_net *net, const ec2t_layer *l)
{
    const ec2t_layer *in;
    if (!ec2t__layer_ops_of(l->kind)->can_run_in_place || l->n_inputs == 0)
        return 0;
    in = net->layers[l->inputs[0]];
    return in->id != 0 && in->n_consumers == 1 && !ec2t__layer_ops_of(in->kind)->needs_own_output;
}

static ec2t_status
alloc_floats(ec2t_net *net, float **p, size_t n, const char *what)
{
    *p = ec2t__alloc(net->ctx, ec2t__mul_size(n ? n : 1, sizeof(float)), 64);
    return *p ? EC2T_OK : ec2t__nomem(net->ctx, what);
}

/* Assign gradient slots by walking the backward order: a layer's gradient is
 * live from the step of its last consumer to its own step. A fused ReLU hands
 * its slot on to the layer it is fused into. */
static ec2t_status
plan_slots(ec2t_net *net, size_t slot_floats)
{
    int32_t n = net->n_layers, n_free = 0, max_slots = 0;
    int32_t *free_list = ec2t__calloc(net->ctx, (size_t)n + 1, sizeof *free_list);
    ec2t_status st = EC2T_OK;
    if (!free_list)
        return ec2t__nomem(net->ctx, "gradient plan");
    for (int32_t j = n - 1; j >= 1; j--) {
        ec2t_layer *l = net->layers[j];
        if (j != net->loss_layer && l->dout_slot < 0)
            l->dout_slot = n_free ? free_list[--n_free] : max_slots++;
        if (l->fused_into) {
            net->layers[l->inputs[0]]->dout_slot = l->dout_slot;
            continue;
        }
        for (int32_t k = 0; k < l->n_inputs; k++) {
            ec2t_layer *in = net->layers[l->inputs[k]];
            if ((in->id != 0 || net->input_grad) && in->dout_slot < 0)
                in->dout_slot = n_free ? free_list[--n_free] : max_slots++;
        }
        if (l->dout_slot >= 0)
            free_list[n_free++] = l->dout_slot;
    }
    ec2t__free(net->ctx, free_list);
    net->slots = ec2t__calloc(net->ctx, (size_t)max_slots + 1, sizeof *net->slots);
    if (!net->slots)
        return ec2t__nomem(net->ctx, "gradient slots");
    for (int32_t s = 0; s < max_slots && st == EC2T_OK; s++) {
        st = alloc_floats(net, &net->slots[s], slot_floats, "gradient buffer");
        if (st == EC2T_OK)
            net->n_slots++;
    }
    net->slot_size = slot_floats;
    return st;
}

ec2t_status
ec2t__net_plan(ec2t_net *net, int64_t batch)
{
    size_t max_sample = 1, col = 0;
    ec2t_status st = EC2T_OK;
    int32_t i;

    /* the scratch holds a part per worker: a changed thread count re-plans */
    if (net->planned && batch <= net->batch_cap && net->plan_threads == net->ctx->threads)
        return EC2T_OK;
    ec2t__net_unplan(net);
    ec2t__blas_setup(net->ctx);
    for (i = 0; i < net->n_layers; i++)
        net->layers[i]->n_consumers = 0;
    for (i = 1; i < net->n_layers; i++)
        for (int32_t k = 0; k < net->layers[i]->n_inputs; k++)
            net->layers[net->layers[i]->inputs[k]]->n_consumers++;

    for (i = 0; i < net->n_layers && st == EC2T_OK; i++) {
        ec2t_layer *l = net->layers[i];
        const ec2t__layer_ops *ops = ec2t__layer_ops_of(l->kind);
        size_t sample = (size_t)ec2t__layer_sample_size(l);
        size_t save = ops->save_bytes ? ops->save_bytes(l, batch) : 0;
        if (sample > max_sample)
            max_sample = sample;
        if (ops->scratch_floats && ops->scratch_floats(l, batch) > col)
            col = ops->scratch_floats(l, batch);
        l->in_place = runs_in_place(net, l);
        l->fused_relu = l->fused_into = 0;
        if (l->in_place && l->kind == EC2T_LAYER_RELU &&
            (net->layers[l->inputs[0]]->kind == EC2T_LAYER_BATCHNORM ||
             net->layers[l->inputs[0]]->kind == EC2T_LAYER_RESIDUAL)) {
            l->fused_into = 1;
            net->layers[l->inputs[0]]->fused_relu = 1;
        }
        if (l->in_place) {
            l->out = net->layers[l->inputs[0]]->out;
        } else {
            st = alloc_floats(net, &l->out, ec2t__mul_size(sample, (size_t)batch), "activations");
            l->out_owned = st == EC2T_OK;
        }
        if (st == EC2T_OK && save) {
            l->save = ec2t__alloc(net->ctx, save, 64);
            if (!l->save)
                st = ec2t__nomem(net->ctx, "layer state");
        }
    }
    if (st == EC2T_OK)
        st = plan_slots(net, ec2t__mul_size(max_sample, (size_t)batch));
    if (st == EC2T_OK)
        st = alloc_floats(net, &net->scratch, col, "convolution scratch");
    if (st == EC2T_OK)
        st = alloc_floats(net, &net->io, ec2t__mul_size(max_sample, (size_t)batch), "staging buffer");
    if (st == EC2T_OK) {
        net->labels = ec2t__calloc(net->ctx, (size_t)batch, sizeof *net->labels);
        if (!net->labels)
            st = ec2t__nomem(net->ctx, "labels");
    }
    if (st != EC2T_OK) {
        ec2t__net_unplan(net);
        return st;
    }
    net->scratch_size = col;
    net->io_size = max_sample * (size_t)batch;
    net->batch_cap = batch;
    net->plan_threads = net->ctx->threads;
    net->planned = 1;
    return EC2T_OK;
}
