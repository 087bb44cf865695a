/* SPDX-License-Identifier: MIT */
/* The update rules, with PyTorch 1.13's semantics (torch/optim/sgd.py and
 * adam.py, single-tensor path): L2 weight decay joins the gradient first. */
#include <math.h>
#include <string.h>

#include "trainer-private.h"

void
ec2t__group_defaults(ec2t__group *g, ec2t_optimizer opt)
{
    memset(g, 0, sizeof *g);
    g->opt = opt;
    g->lr = opt == EC2T_OPT_ADAM ? 1e-3 : 0.1;
    g->momentum = opt == EC2T_OPT_ADAM ? 0.0 : 0.9;
    /* SGD: the recipe that matches PyTorch's accuracy per epoch (0.2) */
    g->nesterov = opt == EC2T_OPT_ADAM ? 0.0 : 1.0;
    g->weight_decay = opt == EC2T_OPT_ADAM ? 0.0 : 5e-4;
    g->beta1 = 0.9;
    g->beta2 = 0.999;
    g->eps = 1e-8;
}

void
ec2t__tparam_reset(ec2t__tparam *p)
{
    if (p->m)
        memset(p->m, 0, (size_t)p->n * sizeof *p->m);
    if (p->v)
        memset(p->v, 0, (size_t)p->n * sizeof *p->v);
    p->steps = 0;
}

/* SGD: d = g + wd p; buf = d on the first step, else mu buf + d;
 * p -= lr (d + mu buf) with Nesterov, lr buf without, lr d when mu = 0. */
static void
sgd(const ec2t__group *g, ec2t__tparam *p, float lr)
{
    float wd = (float)g->weight_decay, mu = (float)g->momentum;
    int first = p->steps == 0, nesterov = g->nesterov != 0;
    for (int64_t i = 0; i < p->n; i++) {
        float d = p->grad[i] + wd * p->value[i];
        if (mu != 0.0f) {
            float b = first ? d : mu * p->m[i] + d;
            p->m[i] = b;
            d = nesterov ? d + mu * b : b;
        }
        p->value[i] -= lr * d;
    }
}

/* Adam with bias correction: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps). */
static void
adam(const ec2t__group *g, ec2t__tparam *p, float lr)
{
    float wd = (float)g->weight_decay, b1 = (float)g->beta1, b2 = (float)g->beta2;
    float eps = (float)g->eps;
    double t = (double)(p->steps + 1);
    float step = (float)((double)lr / (1.0 - pow(g->beta1, t)));
    float bc2_sqrt = (float)sqrt(1.0 - pow(g->beta2, t));
    for (int64_t i = 0; i < p->n; i++) {
        float d = p->grad[i] + wd * p->value[i];
        p->m[i] = b1 * p->m[i] + (1.0f - b1) * d;
        p->v[i] = b2 * p->v[i] + (1.0f - b2) * d * d;
        p->value[i] -= step * p->m[i] / (sqrtf(p->v[i]) / bc2_sqrt + eps);
    }
}

void
ec2t__trainer_update(ec2t_trainer *tr)
{
    double factor = ec2t__trainer_lr_factor(tr);
    for (int32_t i = 0; i < tr->n_params; i++) {
        ec2t__tparam *p = &tr->params[i];
        const ec2t__group *g;
        if (p->group < 0)
            continue;
        g = &tr->groups[p->group];
        if (g->opt == EC2T_OPT_ADAM)
            adam(g, p, (float)(g->lr * factor));
        else
            sgd(g, p, (float)(g->lr * factor));
        p->steps++;
    }
}

/* The schedule's position in epochs: with EC2T_SCHED_ONE_CYCLE inside
 * ec2t_trainer_epoch() it moves every step (epoch + step / steps), else at
 * epoch ends only. */
static double
schedule_position(const ec2t_trainer *tr)
{
    double e = (double)tr->epoch;
    if (tr->schedule == EC2T_SCHED_ONE_CYCLE && tr->in_epoch && tr->steps_per_epoch > 0)
        e += (double)tr->step / (double)tr->steps_per_epoch;
    return e < (double)tr->sched_epochs ? e : (double)tr->sched_epochs;
}

/* A half cosine from a (x = 0) down to b (x = 1). */
static double
half_cosine(double a, double b, double x)
{
    return b + (a - b) * (1.0 + cos(3.14159265358979323846 * x)) / 2.0;
}

double
ec2t__trainer_lr_factor(const ec2t_trainer *tr)
{
    double x = schedule_position(tr) / (double)tr->sched_epochs, w = tr->warmup;
    switch (tr->schedule) {
    case EC2T_SCHED_STEP:
        return pow(tr->step_gamma, (double)(tr->epoch / tr->step_size));
    case EC2T_SCHED_COSINE:
        return half_cosine(1.0, tr->min_lr_factor, x);
    case EC2T_SCHED_ONE_CYCLE:
        /* PyTorch's OneCycleLR (anneal_strategy "cos"): up from 1/25 of the
         * base, then down to the floor */
        if (x < w)
            return half_cosine(1.0, EC2T__ONE_CYCLE_START, 1.0 - x / w);
        return half_cosine(1.0, tr->min_lr_factor, (x - w) / (1.0 - w));
    default:
        return 1.0;
    }
}
