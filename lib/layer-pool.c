/* SPDX-License-Identifier: MIT */
/* Max, average and global average pooling over CNHW activations: every
 * (channel, sample) plane is contiguous, so each is pooled on its own. */
#include <string.h>

#include "net-private.h"

typedef struct pool_geom {
    int64_t planes;        /* C * N */
    int32_t h, w, oh, ow;
    int32_t k, stride, pad;
} pool_geom;

static pool_geom
pool_geom_of(const ec2t_net *net, const ec2t_layer *l, int64_t batch)
{
    const ec2t_layer *in = net->layers[l->inputs[0]];
    pool_geom g = {(int64_t)l->c * batch, in->h, in->w, l->h, l->w, l->kh, l->stride, l->pad};
    return g;
}

/* The window's rows/cols inside the input: [*a, *b). */
static void
window(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t in, int32_t *a, int32_t *b)
{
    int32_t s = o * stride - pad;
    *a = s < 0 ? 0 : s;
    *b = s + k > in ? in : s + k;
}

/* l->save: the input index (within its plane) of every output's maximum. */
static size_t
maxpool_save_bytes(const ec2t_layer *l, int64_t batch)
{
    return (size_t)(l->c * batch * l->h * l->w) * sizeof(int32_t);
}

static void
maxpool_forward(ec2t_net *net, ec2t_layer *l)
{
    pool_geom g = pool_geom_of(net, l, net->batch);
    const float *x = ec2t__input(net, l, 0)->out;
    int32_t *arg = l->save;
    for (int64_t p = 0; p < g.planes; p++) {
        const float *xp = x + p * g.h * g.w;
        float *yp = l->out + p * g.oh * g.ow;
        int32_t *ap = arg + p * g.oh * g.ow;
        for (int32_t oy = 0; oy < g.oh; oy++) {
            int32_t y0, y1;
            window(oy, g.stride, g.pad, g.k, g.h, &y0, &y1);
            for (int32_t ox = 0; ox < g.ow; ox++) {
                int32_t x0, x1, best_i;
                float best;
                /* never empty: pad <= kernel / 2 */
                window(ox, g.stride, g.pad, g.k, g.w, &x0, &x1);
                best_i = y0 * g.w + x0;
                best = xp[best_i];
                for (int32_t yy = y0; yy < y1; yy++)
                    for (int32_t xx = x0; xx < x1; xx++)
                        if (xp[yy * g.w + xx] > best) {
                            best = xp[yy * g.w + xx];
                            best_i = yy * g.w + xx;
                        }
                yp[oy * g.ow + ox] = best;
                ap[oy * g.ow + ox] = best_i;
            }
        }
    }
}

static void
maxpool_backward(ec2t_net *net, ec2t_layer *l)
{
    pool_geom g = pool_geom_of(net, l, net->batch);
    float *dx = ec2t__input_grad(net, l, 0);
    const int32_t *arg = l->save;
    if (!dx)
        return;
    for (int64_t p = 0; p < g.planes; p++) {
        float *dxp = dx + p * g.h * g.w;
        const float *dyp = l->dout + p * g.oh * g.ow;
        const int32_t *ap = arg + p * g.oh * g.ow;
        for (int64_t i = 0; i < (int64_t)g.oh * g.ow; i++)
            dxp[ap[i]] += dyp[i];
    }
}

/* Padding counts as zeros: the divisor is always k*k (PyTorch's
 * count_include_pad=True with floor-mode output sizes). */
static void
avgpool_forward(ec2t_net *net, ec2t_layer *l)
{
    pool_geom g = pool_geom_of(net, l, net->batch);
    const float *x = ec2t__input(net, l, 0)->out;
    float inv = 1.0f / (float)(g.k * g.k);
    for (int64_t p = 0; p < g.planes; p++) {
        const float *xp = x + p * g.h * g.w;
        float *yp = l->out + p * g.oh * g.ow;
        for (int32_t oy = 0; oy < g.oh; oy++) {
            int32_t y0, y1;
            window(oy, g.stride, g.pad, g.k, g.h, &y0, &y1);
            for (int32_t ox = 0; ox < g.ow; ox++) {
                int32_t x0, x1;
                float s = 0;
                window(ox, g.stride, g.pad, g.k, g.w, &x0, &x1);
                for (int32_t yy = y0; yy < y1; yy++)
                    for (int32_t xx = x0; xx < x1; xx++)
                        s += xp[yy * g.w + xx];
                yp[oy * g.ow + ox] = s * inv;
            }
        }
    }
}

static void
avgpool_backward(ec2t_net *net, ec2t_layer *l)
{
    pool_geom g = pool_geom_of(net, l, net->batch);
    float *dx = ec2t__input_grad(net, l, 0);
    float inv = 1.0f / (float)(g.k * g.k);
    if (!dx)
        return;
    for (int64_t p = 0; p < g.planes; p++) {
        float *dxp = dx + p * g.h * g.w;
        const float *dyp = l->dout + p * g.oh * g.ow;
        for (int32_t oy = 0; oy < g.oh; oy++) {
            int32_t y0, y1;
            window(oy, g.stride, g.pad, g.k, g.h, &y0, &y1);
            for (int32_t ox = 0; ox < g.ow; ox++) {
                int32_t x0, x1;
                float d = dyp[oy * g.ow + ox] * inv;
                window(ox, g.stride, g.pad, g.k, g.w, &x0, &x1);
                for (int32_t yy = y0; yy < y1; yy++)
                    for (int32_t xx = x0; xx < x1; xx++)
                        dxp[yy * g.w + xx] += d;
            }
        }
    }
}

static void
gap_forward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    int64_t plane = (int64_t)in->h * in->w, planes = (int64_t)l->c * net->batch;
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = in->out + p * plane;
        double s = 0;
        for (int64_t i = 0; i < plane; i++)
            s += xp[i];
        l->out[p] = (float)(s / (double)plane);
    }
}

static void
gap_backward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    float *dx = ec2t__input_grad(net, l, 0);
    int64_t plane = (int64_t)in->h * in->w, planes = (int64_t)l->c * net->batch;
    if (!dx)
        return;
    for (int64_t p = 0; p < planes; p++) {
        float d = l->dout[p] / (float)plane;
        for (int64_t i = 0; i < plane; i++)
            dx[p * plane + i] += d;
    }
}

const ec2t__layer_ops ec2t__ops_maxpool = {
    .name = "maxpool",
    .save_bytes = maxpool_save_bytes,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

const ec2t__layer_ops ec2t__ops_avgpool = {
    .name = "avgpool",
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};

const ec2t__layer_ops ec2t__ops_global_avgpool = {
    .name = "global_avgpool",
    .forward = gap_forward,
    .backward = gap_backward,
};
