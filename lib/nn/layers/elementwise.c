/* SPDX-License-Identifier: MIT */
/* The parameter-free element-wise layers: input, ReLU, dropout, flatten and
 * the residual sum. */
#include <string.h>

#include "net-private.h"
#include "cnhw-private.h"
#include "thread-pool-private.h"

/* Element-wise work is split over the workers in blocks of this many floats
 * at least: smaller parts cost more to hand out than they save. */
#define ELEMENT_GRAIN (16 * 1024)

static void
nothing(ec2t_net *net, ec2t_layer *l)
{
    (void)net;
    (void)l;
}

static int64_t
count(const ec2t_net *net, const ec2t_layer *l)
{
    return ec2t__layer_sample_size(l) * net->batch;
}

/* ---- ReLU (may run in place: its backward reads only its own output) ---- */

/* The loops read and write through locals: through l, every store would
 * make the compiler reload l->out and l->dout, and not vectorise. */
static void
relu_forward_range(void *arg, int64_t i0, int64_t i1, int worker)
{
    ec2t_layer *l = arg;
    const float *x = ec2t__input(l->net, l, 0)->out;
    float *y = l->out; /* may be x: in place */
    (void)worker;
    for (int64_t i = i0; i < i1; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void
relu_forward(ec2t_net *net, ec2t_layer *l)
{
    ec2t__parallel_for(net->ctx, count(net, l), ELEMENT_GRAIN, relu_forward_range, l);
}

static void
relu_backward_range(void *arg, int64_t i0, int64_t i1, int worker)
{
    ec2t_layer *l = arg;
    float *restrict dx = ec2t__input_grad(l->net, l, 0);
    const float *restrict y = l->out, *restrict dy = l->dout;
    (void)worker;
    for (int64_t i = i0; i < i1; i++) {
        float g = dy[i]; /* loaded either way: the select vectorises */
        dx[i] += y[i] > 0.0f ? g : 0.0f;
    }
}

static void
relu_backward(ec2t_net *net, ec2t_layer *l)
{
    if (ec2t__input_grad(net, l, 0))
        ec2t__parallel_for(net->ctx, count(net, l), ELEMENT_GRAIN, relu_backward_range, l);
}

/* ---- dropout: l->save holds the keep mask of the last train-mode pass ---- */

static size_t
dropout_save_bytes(const ec2t_layer *l, int64_t batch)
{
    return (size_t)(ec2t__layer_sample_size(l) * batch);
}

static void
dropout_forward(ec2t_net *net, ec2t_layer *l)
{
    const float *x = ec2t__input(net, l, 0)->out;
    unsigned char *keep = l->save;
    int64_t n = count(net, l);
    float scale = 1.0f / (1.0f - l->dropout_p);
    l->fwd_mode = net->mode;
    if (net->mode != EC2T_MODE_TRAIN || l->dropout_p == 0.0f) {
        if (l->out != x)
            memcpy(l->out, x, (size_t)n * sizeof *x);
        l->fwd_mode = EC2T_MODE_EVAL;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        keep[i] = ec2t__rng_uniform(&net->rng) >= l->dropout_p;
        l->out[i] = keep[i] ? x[i] * scale : 0.0f;
    }
}

static void
dropout_backward(ec2t_net *net, ec2t_layer *l)
{
    float *dx = ec2t__input_grad(net, l, 0);
    const unsigned char *keep = l->save;
    int64_t n = count(net, l);
    float scale = 1.0f / (1.0f - l->dropout_p);
    if (!dx)
        return;
    if (l->fwd_mode != EC2T_MODE_TRAIN) {
        for (int64_t i = 0; i < n; i++)
            dx[i] += l->dout[i];
        return;
    }
    for (int64_t i = 0; i < n; i++)
        dx[i] += keep[i] ? l->dout[i] * scale : 0.0f;
}

/* ---- flatten: (C, N, HW) to (C*HW, N) ---- */

static void
flatten_forward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    ec2t__flatten(in->out, in->c, net->batch, (int64_t)in->h * in->w, l->out);
}

static void
flatten_backward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    float *dx = ec2t__input_grad(net, l, 0);
    int64_t n = net->batch, hw = (int64_t)in->h * in->w;
    if (!dx)
        return;
    for (int32_t c = 0; c < in->c; c++)
        for (int64_t s = 0; s < n; s++)
            for (int64_t p = 0; p < hw; p++)
                dx[(c * n + s) * hw + p] += l->dout[(c * hw + p) * n + s];
}

/* ---- residual: out = a + shortcut(b); option A subsamples b by the stride
 * and places its channels at offset (C - Cb) / 2. A ReLU that follows in
 * place is fused into it (l->fused_relu): the sum rectifies its own output
 * and masks its own gradient. Both passes split the output channels over
 * the workers; a shortcut channel feeds one output channel only. ---- */

static void
residual_forward_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    const ec2t_layer *a = ec2t__input(l->net, l, 0), *b = ec2t__input(l->net, l, 1);
    (void)worker;
    ec2t__residual_add(l->out, a->out, b->out, (int32_t)c0, (int32_t)c1, l->c, b->c,
                       l->net->batch, l->h, l->w, b->h, b->w, l->stride, l->fused_relu);
}

static void
residual_forward(ec2t_net *net, ec2t_layer *l)
{
    ec2t__parallel_for(net->ctx, l->c, 1, residual_forward_range, l);
}

static void
residual_backward_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    ec2t_net *net = l->net;
    const ec2t_layer *b = ec2t__input(net, l, 1);
    float *da = ec2t__input_grad(net, l, 0), *db = ec2t__input_grad(net, l, 1);
    int64_t n = net->batch, hw = (int64_t)l->h * l->w, first = c0 * n * hw;
    int64_t total = (c1 - c0) * n * hw;
    int32_t front = (l->c - b->c) / 2, s = l->stride;
    float *dy = l->dout + first;

    (void)worker;
    if (l->fused_relu) {
        const float *y = l->out + first;
        for (int64_t i = 0; i < total; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
    if (da)
        for (int64_t i = 0; i < total; i++)
            da[first + i] += dy[i];
    if (!db)
        return;
    if (b->c == l->c && s == 1) {
        for (int64_t i = 0; i < total; i++)
            db[first + i] += dy[i];
        return;
    }
    for (int64_t c = c0; c < c1; c++) {
        if (c < front || c >= front + b->c)
            continue;
        for (int64_t i = 0; i < n; i++) {
            const float *src = l->dout + (c * n + i) * hw;
            float *dst = db + ((c - front) * n + i) * (int64_t)b->h * b->w;
            for (int32_t y = 0; y < l->h; y++)
                for (int32_t x = 0; x < l->w; x++)
                    dst[(int64_t)y * s * b->w + (int64_t)x * s] += src[y * l->w + x];
        }
    }
}

static void
residual_backward(ec2t_net *net, ec2t_layer *l)
{
    ec2t__parallel_for(net->ctx, l->c, 1, residual_backward_range, l);
}

const ec2t__layer_ops ec2t__ops_input = {
    .name = "input",
    .forward = nothing,
    .backward = nothing,
};

const ec2t__layer_ops ec2t__ops_relu = {
    .name = "relu",
    .needs_own_output = 1,
    .can_run_in_place = 1,
    .forward = relu_forward,
    .backward = relu_backward,
};

const ec2t__layer_ops ec2t__ops_dropout = {
    .name = "dropout",
    .can_run_in_place = 1,
    .save_bytes = dropout_save_bytes,
    .forward = dropout_forward,
    .backward = dropout_backward,
};

const ec2t__layer_ops ec2t__ops_flatten = {
    .name = "flatten",
    .forward = flatten_forward,
    .backward = flatten_backward,
};

const ec2t__layer_ops ec2t__ops_residual = {
    .name = "residual",
    .can_run_in_place = 1,
    .forward = residual_forward,
    .backward = residual_backward,
};
