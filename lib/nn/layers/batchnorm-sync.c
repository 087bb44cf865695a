/* SPDX-License-Identifier: MIT */
/* Synchronised batch normalisation for data-parallel training: each rank
 * holds a slice of the global batch, and the mean, the variance and the two
 * sums of the backward pass are sums over every slice (net->sync_sum), so
 * that every rank normalises exactly as one process with the global batch
 * would, up to the order of the sums. Two-pass statistics, as the local
 * version computes them: the squared deviations are taken from the global
 * mean. */
#include <math.h>

#include "net-private.h"
#include "thread-pool-private.h"
#include "vec-private.h"

/* the global number of values per channel */
static int64_t
global_m(const ec2t_net *net, const ec2t_layer *l)
{
    return net->global_batch * l->h * l->w;
}

static int
sync(ec2t_net *net, float *buf, int64_t n)
{
    if (net->sync_failed)
        return -1;
    if (net->sync_sum(net->sync_user, buf, n) != 0)
        net->sync_failed = 1;
    return net->sync_failed ? -1 : 0;
}

static void
sums_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    const ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    float *sums = (float *)l->save + 2 * l->c;
    int64_t m = net->batch * l->h * l->w;
    (void)worker;
    for (int64_t c = c0; c < c1; c++)
        sums[c] = (float)ec2t__vsum(x + c * m, m);
}

static void
sqdev_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    const ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    const float *mean = l->save;
    float *sums = (float *)l->save + 2 * l->c;
    int64_t m = net->batch * l->h * l->w;
    (void)worker;
    for (int64_t c = c0; c < c1; c++)
        sums[c] = (float)ec2t__vsum_sqdev(x + c * m, m, mean[c]);
}

static void
apply_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    const ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    const float *mean = l->save, *invstd = (const float *)l->save + l->c;
    int64_t m = net->batch * l->h * l->w;
    (void)worker;
    for (int64_t c = c0; c < c1; c++)
        ec2t__bn_apply(l, c, x + c * m, m, mean[c], invstd[c]);
}

void
ec2t__bn_sync_forward(ec2t_net *net, ec2t_layer *l)
{
    float *mean = l->save, *invstd = (float *)l->save + l->c, *sums = (float *)l->save + 2 * l->c;
    float *rmean = l->param[EC2T_PARAM_RUNNING_MEAN]->data;
    float *rvar = l->param[EC2T_PARAM_RUNNING_VAR]->data;
    int64_t gm = global_m(net, l);

    ec2t__parallel_for(net->ctx, l->c, 1, sums_range, l);
    if (sync(net, sums, l->c) != 0)
        return; /* the step fails: the output does not matter */
    for (int32_t c = 0; c < l->c; c++)
        mean[c] = (float)((double)sums[c] / (double)gm);
    ec2t__parallel_for(net->ctx, l->c, 1, sqdev_range, l);
    if (sync(net, sums, l->c) != 0)
        return;
    for (int32_t c = 0; c < l->c; c++) {
        double s2 = sums[c], var = s2 / (double)gm;
        invstd[c] = (float)(1.0 / sqrt(var + l->bn_eps));
        rmean[c] = (float)((1 - l->bn_momentum) * rmean[c] + l->bn_momentum * mean[c]);
        rvar[c] = (float)((1 - l->bn_momentum) * rvar[c] +
                          l->bn_momentum * (gm > 1 ? s2 / (double)(gm - 1) : var));
    }
    ec2t__parallel_for(net->ctx, l->c, 1, apply_range, l);
}

/* The local sums of dy and dy * xhat; the parameter gradients are these
 * local sums (the gradient all-reduce adds the ranks' shares). */
static void
dsums_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    const ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    float *dgamma = l->grad[EC2T_PARAM_WEIGHT] ? l->grad[EC2T_PARAM_WEIGHT]->data : NULL;
    float *dbeta = l->grad[EC2T_PARAM_BIAS] ? l->grad[EC2T_PARAM_BIAS]->data : NULL;
    const float *mean = l->save, *invstd = (const float *)l->save + l->c;
    float *sums = (float *)l->save + 2 * l->c;
    int64_t m = net->batch * l->h * l->w;
    (void)worker;
    for (int64_t c = c0; c < c1; c++) {
        double sdy, sdyx;
        ec2t__vsum_pair(l->dout + c * m, l->fused_relu ? l->out + c * m : NULL, x + c * m, m,
                        mean[c], &sdy, &sdyx);
        sdyx *= invstd[c];
        sums[c] = (float)sdy;
        sums[l->c + c] = (float)sdyx;
        if (dgamma)
            dgamma[c] = (float)sdyx;
        if (dbeta)
            dbeta[c] = (float)sdy;
    }
}

static void
dx_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    ec2t_layer *l = arg;
    ec2t_net *net = l->net;
    const float *x = ec2t__input(net, l, 0)->out;
    float *dx = ec2t__input_grad(net, l, 0);
    const float *gamma = l->param[EC2T_PARAM_WEIGHT] ? l->param[EC2T_PARAM_WEIGHT]->data : NULL;
    const float *mean = l->save, *invstd = (const float *)l->save + l->c;
    const float *sums = (const float *)l->save + 2 * l->c;
    int64_t m = net->batch * l->h * l->w, gm = global_m(net, l);
    (void)worker;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = x + c * m, *dyc = l->dout + c * m;
        float *dxc = dx + c * m;
        float mu = mean[c], is = invstd[c], g = gamma ? gamma[c] : 1.0f;
        /* dx = g * is / M * (M dy - sum(dy) - xhat sum(dy xhat)), sums over all ranks */
        float k = g * is, a = (float)((double)sums[c] / (double)gm);
        float b = (float)((double)sums[l->c + c] / (double)gm) * is;
        for (int64_t i = 0; i < m; i++)
            dxc[i] += k * (dyc[i] - a - (xc[i] - mu) * b);
    }
}

void
ec2t__bn_sync_backward(ec2t_net *net, ec2t_layer *l)
{
    ec2t__parallel_for(net->ctx, l->c, 1, dsums_range, l);
    if (sync(net, (float *)l->save + 2 * l->c, 2 * (int64_t)l->c) != 0)
        return;
    if (ec2t__input_grad(net, l, 0))
        ec2t__parallel_for(net->ctx, l->c, 1, dx_range, l);
}
