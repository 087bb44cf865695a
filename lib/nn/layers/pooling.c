/* SPDX-License-Identifier: MIT */
/* Max, average and global average pooling over CNHW activations: every
 * (channel, sample) plane is contiguous, so each is pooled on its own. */
#include <string.h>

#include "net-private.h"
#include "cnhw-private.h"
#include "thread-pool-private.h"

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

static ec2t__window
win_of(const pool_geom *g)
{
    return (ec2t__window){g->h, g->w, g->oh, g->ow, g->k, g->k, g->stride, g->pad};
}

/* l->save: the input index (within its plane) of every output's maximum. */
static size_t
maxpool_save_bytes(const ec2t_layer *l, int64_t batch)
{
    return (size_t)(l->c * batch * l->h * l->w) * sizeof(int32_t);
}

/* Planes are independent: split over the workers in parts of this many
 * input floats at least (as the element-wise layers do). */
#define POOL_GRAIN_FLOATS (16 * 1024)

typedef struct maxpool_job {
    pool_geom g;
    const float *x, *dy;
    float *y, *dx;
    int32_t *arg;
} maxpool_job;

static void
maxpool_forward_range(void *arg, int64_t p0, int64_t p1, int worker)
{
    const maxpool_job *j = arg;
    const pool_geom *g = &j->g;
    ec2t__window win = win_of(g);
    int64_t in_plane = (int64_t)g->h * g->w, out_plane = (int64_t)g->oh * g->ow;
    (void)worker;
    for (int64_t p = p0; p < p1; p++)
        ec2t__maxpool_plane(&win, j->x + p * in_plane, j->y + p * out_plane,
                            j->arg + p * out_plane);
}

static int64_t
pool_grain(const pool_geom *g)
{
    int64_t plane = (int64_t)g->h * g->w;
    return plane >= POOL_GRAIN_FLOATS ? 1 : POOL_GRAIN_FLOATS / (plane > 0 ? plane : 1);
}

static void
maxpool_forward(ec2t_net *net, ec2t_layer *l)
{
    maxpool_job j = {pool_geom_of(net, l, net->batch), ec2t__input(net, l, 0)->out, NULL, l->out,
                     NULL, l->save};
    ec2t__parallel_for(net->ctx, j.g.planes, pool_grain(&j.g), maxpool_forward_range, &j);
}

static void
maxpool_backward_range(void *arg, int64_t p0, int64_t p1, int worker)
{
    const maxpool_job *j = arg;
    const pool_geom *g = &j->g;
    int64_t out_plane = (int64_t)g->oh * g->ow;
    (void)worker;
    for (int64_t p = p0; p < p1; p++) {
        float *dxp = j->dx + p * g->h * g->w;
        const float *dyp = j->dy + p * out_plane;
        const int32_t *ap = j->arg + p * out_plane;
        for (int64_t i = 0; i < out_plane; i++)
            dxp[ap[i]] += dyp[i];
    }
}

static void
maxpool_backward(ec2t_net *net, ec2t_layer *l)
{
    maxpool_job j = {pool_geom_of(net, l, net->batch), NULL, l->dout, NULL,
                     ec2t__input_grad(net, l, 0), l->save};
    if (!j.dx)
        return;
    ec2t__parallel_for(net->ctx, j.g.planes, pool_grain(&j.g), maxpool_backward_range, &j);
}

static void
avgpool_forward(ec2t_net *net, ec2t_layer *l)
{
    pool_geom g = pool_geom_of(net, l, net->batch);
    ec2t__window win = win_of(&g);
    const float *x = ec2t__input(net, l, 0)->out;
    int64_t in_plane = (int64_t)g.h * g.w, out_plane = (int64_t)g.oh * g.ow;
    for (int64_t p = 0; p < g.planes; p++)
        ec2t__avgpool_plane(&win, x + p * in_plane, l->out + p * out_plane);
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
            ec2t__window_range(oy, g.stride, g.pad, g.k, g.h, &y0, &y1);
            for (int32_t ox = 0; ox < g.ow; ox++) {
                int32_t x0, x1;
                float d = dyp[oy * g.ow + ox] * inv;
                ec2t__window_range(ox, g.stride, g.pad, g.k, g.w, &x0, &x1);
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
    ec2t__mean_planes(in->out, (int64_t)l->c * net->batch, (int64_t)in->h * in->w, l->out);
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
