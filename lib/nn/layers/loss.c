/* SPDX-License-Identifier: MIT */
/* Softmax cross-entropy on (classes, N) logits; the mean over the batch. */
#include <math.h>

#include "net-private.h"

/* l->save: the softmax probabilities of the last forward, (classes, N);
 * then, in a distilled backward pass, those at the teachers' temperature. */
static size_t
xent_save_bytes(const ec2t_layer *l, int64_t batch)
{
    const ec2t_layer *in = l->net->layers[l->inputs[0]];
    return 2 * (size_t)(in->c * batch) * sizeof(float);
}

void
ec2t__softmax_tempered(const float *z, int64_t zs, int32_t k, double t, float *p, int64_t ps)
{
    double zmax = z[0], sum = 0;
    for (int32_t c = 1; c < k; c++)
        zmax = z[c * zs] > zmax ? z[c * zs] : zmax;
    for (int32_t c = 0; c < k; c++)
        sum += exp((z[c * zs] - zmax) / t);
    for (int32_t c = 0; c < k; c++)
        p[c * ps] = (float)(exp((z[c * zs] - zmax) / t) / sum);
}

static void
xent_forward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    const float *z = in->out;
    float *p = l->save;
    int64_t n = net->batch;
    int32_t k = in->c;
    double total = 0;
    int64_t correct = 0;
    for (int64_t s = 0; s < n; s++) {
        float zmax = z[s];
        int32_t best = 0;
        double sum = 0;
        for (int32_t c = 1; c < k; c++)
            if (z[c * n + s] > zmax) {
                zmax = z[c * n + s];
                best = c;
            }
        for (int32_t c = 0; c < k; c++) {
            p[c * n + s] = expf(z[c * n + s] - zmax);
            sum += p[c * n + s];
        }
        for (int32_t c = 0; c < k; c++)
            p[c * n + s] = (float)(p[c * n + s] / sum);
        /* log-sum-exp form: finite even when a probability underflows */
        total += log(sum) - (double)(z[net->labels[s] * n + s] - zmax);
        correct += best == net->labels[s];
    }
    l->out[0] = (float)(total / (double)n);
    net->loss = total / (double)n;
    net->correct = correct;
}

/* With the teachers' softened outputs q (the distillation input d):
 * (1 - alpha) (p - y) + alpha T (p_T - q), p_T = softmax(z / T) (computed
 * here from the logits z, which the forward pass left), per sample,
 * averaged over the batch. */
static void
distill_backward(const ec2t_net *net, const float *z, int32_t k, float *p, const ec2t__distill *d,
                 float *dz)
{
    float *pt = p + (int64_t)k * net->batch;
    const float *q = d->soft;
    const double t = d->temperature, a = d->alpha;
    int64_t n = net->batch, div = net->global_batch > 0 ? net->global_batch : n;
    for (int64_t s = 0; s < n; s++)
        ec2t__softmax_tempered(z + s, n, k, d->temperature, pt + s, n);
    for (int64_t s = 0; s < n; s++)
        for (int32_t c = 0; c < k; c++) {
            int64_t i = c * n + s;
            /* the hard term as the plain loss computes it: alpha 0 is that loss exactly */
            float hard = (p[i] - (net->labels[s] == c ? 1.0f : 0.0f)) * (1.0f / (float)div);
            dz[i] += (float)(1 - a) * hard + (float)(a * t * (pt[i] - q[i]) / (double)div);
        }
}

void
ec2t__loss_backward(ec2t_net *net, ec2t_layer *l, const ec2t__distill *distill)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    float *dz = ec2t__input_grad(net, l, 0);
    float *p = l->save;
    int64_t n = net->batch;
    /* a rank's slice: its share of the global batch's mean */
    float inv = 1.0f / (float)(net->global_batch > 0 ? net->global_batch : n);
    if (!dz)
        return;
    if (distill) {
        distill_backward(net, in->out, in->c, p, distill, dz);
        return;
    }
    for (int32_t c = 0; c < in->c; c++)
        for (int64_t s = 0; s < n; s++)
            dz[c * n + s] += (p[c * n + s] - (net->labels[s] == c ? 1.0f : 0.0f)) * inv;
}

static void
xent_backward(ec2t_net *net, ec2t_layer *l)
{
    ec2t__loss_backward(net, l, NULL);
}

const ec2t__layer_ops ec2t__ops_softmax_xent = {
    .name = "softmax_xent",
    .save_bytes = xent_save_bytes,
    .forward = xent_forward,
    .backward = xent_backward,
};
