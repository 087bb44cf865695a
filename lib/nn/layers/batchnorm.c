/* SPDX-License-Identifier: MIT */
/* Batch normalisation over CNHW activations: every channel's N*H*W values
 * are contiguous. Train mode normalises with the batch's mean and (biased)
 * variance and moves the running statistics by the momentum, using the
 * unbiased variance as PyTorch does; eval mode uses the running statistics. */
#include <math.h>

#include "net-private.h"
#include "thread-pool-private.h"
#include "vec-private.h"

/* l->save: mean[C] then invstd[C] of the last forward, then 2C floats the
 * synchronised version sums in. */
static size_t
bn_save_bytes(const ec2t_layer *l, int64_t batch)
{
    (void)batch;
    return 4 * (size_t)l->c * sizeof(float);
}

void
ec2t__bn_apply(const ec2t_layer *l, int64_t c, const float *xc, int64_t m, float mu, float is)
{
    const float *gamma = l->param[EC2T_PARAM_WEIGHT] ? l->param[EC2T_PARAM_WEIGHT]->data : NULL;
    const float *beta = l->param[EC2T_PARAM_BIAS] ? l->param[EC2T_PARAM_BIAS]->data : NULL;
    float *yc = l->out + c * m;
    float scale = is * (gamma ? gamma[c] : 1.0f);
    float shift = (beta ? beta[c] : 0.0f) - mu * scale;
    if (l->fused_relu) {
        for (int64_t i = 0; i < m; i++) {
            float y = xc[i] * scale + shift;
            yc[i] = y > 0.0f ? y : 0.0f;
        }
    } else {
        for (int64_t i = 0; i < m; i++)
            yc[i] = xc[i] * scale + shift;
    }
}

static void
bn_forward_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    float *rmean = l->param[EC2T_PARAM_RUNNING_MEAN]->data;
    float *rvar = l->param[EC2T_PARAM_RUNNING_VAR]->data;
    float *mean = l->save, *invstd = (float *)l->save + l->c;
    int64_t m = net->batch * l->h * l->w;
    int train = net->mode == EC2T_MODE_TRAIN;

    (void)worker;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = x + c * m;
        float mu, is;
        if (train) {
            double s2, var;
            mu = (float)(ec2t__vsum(xc, m) / (double)m);
            s2 = ec2t__vsum_sqdev(xc, m, mu);
            var = s2 / (double)m;
            is = (float)(1.0 / sqrt(var + l->bn_eps));
            rmean[c] = (float)((1 - l->bn_momentum) * rmean[c] + l->bn_momentum * mu);
            rvar[c] = (float)((1 - l->bn_momentum) * rvar[c] +
                              l->bn_momentum * (m > 1 ? s2 / (double)(m - 1) : var));
        } else {
            mu = rmean[c];
            is = (float)(1.0 / sqrt((double)rvar[c] + l->bn_eps));
        }
        mean[c] = mu;
        invstd[c] = is;
        ec2t__bn_apply(l, c, xc, m, mu, is);
    }
}

static void
bn_forward(ec2t_net *net, ec2t_layer *l)
{
    l->fwd_mode = net->mode;
    if (net->sync_sum && net->mode == EC2T_MODE_TRAIN) {
        ec2t__bn_sync_forward(net, l);
        return;
    }
    ec2t__parallel_for(net->ctx, l->c, 1, bn_forward_range, l);
}

static void
bn_backward_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    float *dx = ec2t__input_grad(net, l, 0);
    const float *gamma = l->param[EC2T_PARAM_WEIGHT] ? l->param[EC2T_PARAM_WEIGHT]->data : NULL;
    float *dgamma = l->grad[EC2T_PARAM_WEIGHT] ? l->grad[EC2T_PARAM_WEIGHT]->data : NULL;
    float *dbeta = l->grad[EC2T_PARAM_BIAS] ? l->grad[EC2T_PARAM_BIAS]->data : NULL;
    const float *mean = l->save, *invstd = (const float *)l->save + l->c;
    int64_t m = net->batch * l->h * l->w;

    (void)worker;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = x + c * m;
        float *dyc = l->dout + c * m;
        float mu = mean[c], is = invstd[c], g = gamma ? gamma[c] : 1.0f;
        double sdy, sdyx;
        /* a fused ReLU's backward first: zero where it cut the output off */
        ec2t__vsum_pair(dyc, l->fused_relu ? l->out + c * m : NULL, xc, m, mu, &sdy, &sdyx);
        sdyx *= is; /* sum of dy * xhat */
        if (dgamma)
            dgamma[c] = (float)sdyx;
        if (dbeta)
            dbeta[c] = (float)sdy;
        if (!dx)
            continue;
        float *dxc = dx + c * m;
        if (l->fwd_mode == EC2T_MODE_TRAIN) {
            /* dx = g * is / m * (m dy - sum(dy) - xhat sum(dy xhat)) */
            float k = g * is, a = (float)(sdy / (double)m), b = (float)(sdyx / (double)m) * is;
            for (int64_t i = 0; i < m; i++)
                dxc[i] += k * (dyc[i] - a - (xc[i] - mu) * b);
        } else {
            float k = g * is;
            for (int64_t i = 0; i < m; i++)
                dxc[i] += k * dyc[i];
        }
    }
}

static void
bn_backward(ec2t_net *net, ec2t_layer *l)
{
    if (net->sync_sum && l->fwd_mode == EC2T_MODE_TRAIN) {
        ec2t__bn_sync_backward(net, l);
        return;
    }
    ec2t__parallel_for(net->ctx, l->c, 1, bn_backward_range, l);
}

const ec2t__layer_ops ec2t__ops_batchnorm = {
    .name = "batchnorm",
    .save_bytes = bn_save_bytes,
    .forward = bn_forward,
    .backward = bn_backward,
};
