/* SPDX-License-Identifier: MIT */
/* ec2t_trainer: the update rules against an independent double-precision
 * reimplementation of PyTorch's, groups, schedules, epochs, callbacks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"
#include "trainer-private.h"

#define IN 4
#define OUT 3
#define N 5

/* input (IN) -> dense OUT (bias) -> loss */
static ec2t_net *
linear_net(ec2t_context *ctx)
{
    ec2t_net *net = NULL;
    ec2t_layer *fc;
    ck_assert_ok(ec2t_net_new(ctx, IN, 1, 1, &net));
    ck_assert_ok(ec2t_net_add_dense(net, ec2t_net_input(net), OUT, EC2T_ADD_BIAS, &fc));
    ck_assert_ok(ec2t_layer_set_name(fc, "fc"));
    ck_assert_ok(ec2t_net_add_softmax_xent(net, fc, 0, NULL));
    return net;
}

static const float X[N * IN] = {0.5f, -1.0f, 0.25f, 2.0f,  -0.3f, 0.8f, 1.1f,  -0.6f, 0.9f, 0.1f,
                                -1.4f, 0.7f, 0.2f,  0.4f, -0.8f, 1.3f, -0.2f, 0.6f,  0.3f, -0.9f};
static const int32_t Y[N] = {0, 2, 1, 1, 0};

/* Gradient of the mean loss at the current weights (weight then bias). */
static void
grads_at(ec2t_net *net, double *gw, double *gb)
{
    ec2t_tensor *g;
    ck_assert_ok(ec2t_net_forward_loss(net, X, N * IN, Y, N, N, 0, NULL, NULL));
    ck_assert_ok(ec2t_net_backward(net, 0));
    ck_assert_ok(ec2t_net_find_param(net, "fc.weight", NULL, &g));
    for (int i = 0; i < OUT * IN; i++)
        gw[i] = ec2t_tensor_data(g)[i];
    ck_assert_ok(ec2t_net_find_param(net, "fc.bias", NULL, &g));
    for (int i = 0; i < OUT; i++)
        gb[i] = ec2t_tensor_data(g)[i];
}

typedef struct ref_state {
    double p[OUT * IN + OUT], m[OUT * IN + OUT], v[OUT * IN + OUT];
    int steps;
} ref_state;

static void
load_params(ec2t_net *net, ref_state *r)
{
    ec2t_tensor *w, *b;
    ck_assert_ok(ec2t_net_find_param(net, "fc.weight", &w, NULL));
    ck_assert_ok(ec2t_net_find_param(net, "fc.bias", &b, NULL));
    for (int i = 0; i < OUT * IN; i++)
        r->p[i] = ec2t_tensor_data(w)[i];
    for (int i = 0; i < OUT; i++)
        r->p[OUT * IN + i] = ec2t_tensor_data(b)[i];
}

static void
check_params(ec2t_net *net, const ref_state *r, double tol)
{
    ref_state now;
    load_params(net, &now);
    for (int i = 0; i < OUT * IN + OUT; i++)
        ck_assert_msg(fabs(now.p[i] - r->p[i]) <= tol * (1 + fabs(r->p[i])),
                      "param %d: %.9g, reference %.9g", i, now.p[i], r->p[i]);
}

/* torch.optim.SGD (dampening 0) and torch.optim.Adam, written out in double. */
static void
ref_step(ref_state *r, const double *g, ec2t_optimizer opt, double lr, double mu, int nesterov,
         double wd)
{
    r->steps++;
    for (int i = 0; i < OUT * IN + OUT; i++) {
        double d = g[i] + wd * r->p[i];
        if (opt == EC2T_OPT_SGD) {
            if (mu != 0) {
                r->m[i] = r->steps == 1 ? d : mu * r->m[i] + d;
                d = nesterov ? d + mu * r->m[i] : r->m[i];
            }
            r->p[i] -= lr * d;
        } else {
            double bc1 = 1 - pow(0.9, r->steps), bc2 = 1 - pow(0.999, r->steps);
            r->m[i] = 0.9 * r->m[i] + 0.1 * d;
            r->v[i] = 0.999 * r->v[i] + 0.001 * d * d;
            r->p[i] -= lr / bc1 * r->m[i] / (sqrt(r->v[i]) / sqrt(bc2) + 1e-8);
        }
    }
}

static void
compare_optimizer(ec2t_optimizer opt, double lr, double mu, int nesterov, double wd)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx), *probe_net = NULL;
    ec2t_trainer *tr = NULL;
    ref_state ref;
    memset(&ref, 0, sizeof ref);
    ck_assert_ok(ec2t_trainer_new(net, opt, 0, &tr));
    /* the update rule alone: an SGD trainer's default one-cycle schedule
     * would scale lr (since 0.2) */
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, lr));
    if (opt == EC2T_OPT_SGD) {
        ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_MOMENTUM, mu));
        ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_NESTEROV, nesterov));
    }
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, wd));
    load_params(net, &ref);
    for (int s = 0; s < 4; s++) {
        double g[OUT * IN + OUT];
        float loss;
        /* the reference gradient comes from a copy, at the same weights */
        ck_assert_ok(ec2t_net_clone(net, &probe_net));
        grads_at(probe_net, g, g + OUT * IN);
        ec2t_net_free(probe_net);
        ck_assert_ok(ec2t_trainer_step(tr, X, N * IN, Y, N, N, 0, &loss));
        ck_assert(isfinite(loss));
        ref_step(&ref, g, opt, lr, mu, nesterov, wd);
        check_params(net, &ref, 2e-6);
    }
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_trainer_sgd_matches_pytorch_rule)
{
    compare_optimizer(EC2T_OPT_SGD, 0.1, 0.0, 0, 0.0);
    compare_optimizer(EC2T_OPT_SGD, 0.05, 0.9, 0, 5e-4);
    compare_optimizer(EC2T_OPT_SGD, 0.05, 0.9, 1, 5e-4);
}
END_TEST

START_TEST(test_trainer_adam_matches_pytorch_rule)
{
    compare_optimizer(EC2T_OPT_ADAM, 1e-2, 0, 0, 0.0);
    compare_optimizer(EC2T_OPT_ADAM, 1e-3, 0, 0, 5e-6);
}
END_TEST

START_TEST(test_trainer_groups_and_freezing)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx);
    ec2t_trainer *tr = NULL;
    ec2t_tensor *w, *b;
    float w0[OUT * IN], b0[OUT];
    int32_t g1 = -7;
    double v;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    /* Adam's step of about lr below needs the full rate: the default
     * one-cycle schedule (since 0.2) starts at lr / 25 */
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    ck_assert_ok(ec2t_trainer_add_group(tr, EC2T_OPT_ADAM, &g1));
    ck_assert_int_eq(g1, 1);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 1, EC2T_TRAIN_LR, &v));
    ck_assert_double_eq(v, 1e-3);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_LR, &v));
    ck_assert_double_eq(v, 0.1);
    ck_assert_ok(ec2t_trainer_assign(tr, "fc.weight", -1)); /* frozen */
    ck_assert_ok(ec2t_trainer_assign(tr, "fc.bias", 1));
    ck_assert_ok(ec2t_net_find_param(net, "fc.weight", &w, NULL));
    ck_assert_ok(ec2t_net_find_param(net, "fc.bias", &b, NULL));
    memcpy(w0, ec2t_tensor_data(w), sizeof w0);
    memcpy(b0, ec2t_tensor_data(b), sizeof b0);
    ck_assert_ok(ec2t_trainer_step(tr, X, N * IN, Y, N, N, 0, NULL));
    ck_assert_int_eq(memcmp(w0, ec2t_tensor_data(w), sizeof w0), 0);
    /* Adam's first step moves every coordinate by about lr */
    for (int i = 0; i < OUT; i++)
        ck_assert_float_eq_tol(fabsf(ec2t_tensor_data(b)[i] - b0[i]), 1e-3f, 1e-5f);
    ck_assert_status(ec2t_trainer_assign(tr, "fc.nothing", 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_assign(tr, "fc.bias", 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(tr, 2, EC2T_TRAIN_LR, 0.1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, -1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_MOMENTUM, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_NESTEROV, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_BATCH_SIZE, 1),
                     EC2T_E_UNSUPPORTED);
    for (int i = 2; i < 16; i++)
        ck_assert_ok(ec2t_trainer_add_group(tr, EC2T_OPT_SGD, &g1));
    ck_assert_status(ec2t_trainer_add_group(tr, EC2T_OPT_SGD, &g1), EC2T_E_INVAL);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_trainer_schedules)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx);
    ec2t_trainer *tr = NULL;
    double f;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    /* an SGD trainer starts at the foot of its one-cycle warm-up (since 0.2) */
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_CURRENT_LR, &f));
    ck_assert_double_eq_tol(f, 1.0 / 25, 1e-12);
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_CURRENT_LR, &f));
    ck_assert_double_eq(f, 1.0);
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_STEP));
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_STEP_SIZE, 3));
    ck_assert_ok(ec2t_trainer_set_double(tr, EC2T_TRAIN_STEP_GAMMA, 0.5));
    tr->epoch = 2;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 1.0, 1e-12);
    tr->epoch = 7;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.25, 1e-12);
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_COSINE));
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_EPOCHS, 10));
    ck_assert_ok(ec2t_trainer_set_double(tr, EC2T_TRAIN_MIN_LR_FACTOR, 0.1));
    tr->epoch = 0;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 1.0, 1e-12);
    tr->epoch = 5;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.55, 1e-12);
    tr->epoch = 10;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.1, 1e-12);
    /* one-cycle over 10 epochs, warm-up 0.2: up from 1/25 by a half cosine
     * to 1 at epoch 2, then down to the floor 0.1 at epoch 10 */
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_ONE_CYCLE));
    ck_assert_ok(ec2t_trainer_set_double(tr, EC2T_TRAIN_WARMUP, 0.2));
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_WARMUP, &f));
    ck_assert_double_eq(f, 0.2);
    tr->epoch = 0;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.04, 1e-12);
    tr->epoch = 1;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.52, 1e-12);
    tr->epoch = 2;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 1.0, 1e-12);
    tr->epoch = 6;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.55, 1e-12);
    tr->epoch = 12; /* past the end: stays at the floor */
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 0.1, 1e-12);
    /* inside an epoch it moves with the step: half-way through epoch 5 is t = 0.55 */
    tr->epoch = 5, tr->in_epoch = 1, tr->step = 3, tr->steps_per_epoch = 6;
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr),
                            0.1 + 0.9 * (1 + cos(3.14159265358979323846 * 0.35 / 0.8)) / 2, 1e-12);
    tr->in_epoch = 0, tr->step = 0, tr->steps_per_epoch = 0;
    ck_assert_status(ec2t_trainer_set_double(tr, EC2T_TRAIN_WARMUP, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_double(tr, EC2T_TRAIN_WARMUP, -0.1), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_set_double(tr, EC2T_TRAIN_WARMUP, 0));
    tr->epoch = 0; /* no warm-up: starts at the base rate */
    ck_assert_double_eq_tol(ec2t__trainer_lr_factor(tr), 1.0, 1e-12);
    ck_assert_status(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, 7), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, 4), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_int(tr, EC2T_TRAIN_EPOCH, 3), EC2T_E_STATE);
    ck_assert_status(ec2t_trainer_set_double(tr, EC2T_TRAIN_LOSS, 3), EC2T_E_STATE);
    ck_assert_status(ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_int(tr, (ec2t_trainer_param)999, 0), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_trainer_set_double(tr, EC2T_TRAIN_STEP_GAMMA, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_double(tr, (ec2t_trainer_param)999, 0), EC2T_E_UNSUPPORTED);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
}
END_TEST

/* Two separable blobs: a LeNet-free problem a linear model must solve. */
static ec2t_dataset *
blobs(ec2t_context *ctx, int64_t n)
{
    float *x = malloc((size_t)(n * IN) * sizeof(float));
    int32_t *y = malloc((size_t)n * sizeof(int32_t));
    ec2t_dataset *ds = NULL;
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % OUT);
        for (int k = 0; k < IN; k++)
            x[i * IN + k] = (k == y[i] ? 2.0f : 0.0f) + 0.3f * sinf((float)(i * 7 + k * 3));
    }
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, x, y, n, IN, 1, 1, OUT, 0, &ds));
    free(x);
    free(y);
    return ds;
}

typedef struct progress_log {
    int calls;
    int stop_at;
    int64_t last_step, steps_per_epoch;
} progress_log;

static int
on_progress(void *user, const ec2t_trainer *tr)
{
    progress_log *log = user;
    double ips, loss;
    log->calls++;
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_STEP, &log->last_step));
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_STEPS_PER_EPOCH, &log->steps_per_epoch));
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_IMAGES_PER_SEC, &ips));
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_LOSS, &loss));
    ck_assert(ips > 0 && isfinite(loss));
    return log->stop_at > 0 && log->calls >= log->stop_at;
}

START_TEST(test_trainer_epochs_learn_and_report)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx);
    ec2t_dataset *ds = blobs(ctx, 90);
    ec2t_trainer *tr = NULL;
    progress_log log = {0, 0, 0, 0};
    double loss0 = 0, loss = 0, acc = 0, eval_acc = 0;
    int64_t epoch;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, 16));
    ck_assert_ok(ec2t_trainer_set_progress(tr, on_progress, &log));
    ck_assert_ok(ec2t_trainer_epoch(tr, ds, 0, &loss0, &acc));
    ck_assert_int_eq(log.calls, 6); /* ceil(90 / 16) */
    ck_assert_int_eq(log.last_step, 6);
    ck_assert_int_eq(log.steps_per_epoch, 6);
    for (int e = 0; e < 5; e++)
        ck_assert_ok(ec2t_trainer_epoch(tr, ds, 0, &loss, &acc));
    ck_assert_double_lt(loss, loss0);
    ck_assert_double_eq(acc, 1.0);
    ck_assert_ok(ec2t_net_evaluate(net, ds, 32, 0, NULL, &eval_acc));
    ck_assert_double_eq(eval_acc, 1.0);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_EPOCH, &epoch));
    ck_assert_int_eq(epoch, 6);
    /* a callback that asks to stop aborts the epoch, which does not count */
    log.calls = 0;
    log.stop_at = 2;
    ck_assert_status(ec2t_trainer_epoch(tr, ds, 0, &loss, &acc), EC2T_E_ABORTED);
    ck_assert_int_eq(log.calls, 2);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_EPOCH, &epoch));
    ck_assert_int_eq(epoch, 6);
    ec2t_trainer_free(tr);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The defaults the header and doc/GUIDE.md state: an SGD trainer gets the
 * recipe that learns as much per epoch as PyTorch's (issue 24). */
START_TEST(test_trainer_defaults_as_documented)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx);
    ec2t_trainer *tr = NULL;
    int32_t g = -1;
    int64_t v;
    double d;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_LR, &d));
    ck_assert_double_eq(d, 0.1);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_MOMENTUM, &d));
    ck_assert_double_eq(d, 0.9);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_NESTEROV, &d));
    ck_assert_double_eq(d, 1);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, &d));
    ck_assert_double_eq(d, 5e-4);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_BATCH_SIZE, &v));
    ck_assert_int_eq(v, 128);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_SCHEDULE, &v));
    ck_assert_int_eq(v, EC2T_SCHED_ONE_CYCLE);
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_WARMUP, &d));
    ck_assert_double_eq(d, 0.15);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_EPOCHS, &v));
    ck_assert_int_eq(v, 100);
    ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_MIN_LR_FACTOR, &d));
    ck_assert_double_eq(d, 0);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_AUGMENT, &v));
    ck_assert_int_eq(v, 1);
    /* an Adam group keeps Adam's defaults */
    ck_assert_ok(ec2t_trainer_add_group(tr, EC2T_OPT_ADAM, &g));
    ck_assert_ok(ec2t_trainer_group_get_double(tr, g, EC2T_TRAIN_NESTEROV, &d));
    ck_assert_double_eq(d, 0);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, g, EC2T_TRAIN_WEIGHT_DECAY, &d));
    ck_assert_double_eq(d, 0);
    ec2t_trainer_free(tr);
    /* an Adam trainer (EC2T's rates): constant schedule, no decay; an SGD
     * group added to it gets SGD's defaults */
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_ADAM, 0, &tr));
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_LR, &d));
    ck_assert_double_eq(d, 1e-3);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, &d));
    ck_assert_double_eq(d, 0);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_SCHEDULE, &v));
    ck_assert_int_eq(v, EC2T_SCHED_CONSTANT);
    ck_assert_ok(ec2t_trainer_add_group(tr, EC2T_OPT_SGD, &g));
    ck_assert_ok(ec2t_trainer_group_get_double(tr, g, EC2T_TRAIN_NESTEROV, &d));
    ck_assert_double_eq(d, 1);
    ck_assert_ok(ec2t_trainer_group_get_double(tr, g, EC2T_TRAIN_WEIGHT_DECAY, &d));
    ck_assert_double_eq(d, 5e-4);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The one-cycle rate of every step of the first epoch, seen by the callback. */
typedef struct lr_log {
    double lr[16];
    int n;
} lr_log;

static int
on_lr(void *user, const ec2t_trainer *tr)
{
    lr_log *log = user;
    if (log->n < 16)
        ck_assert_ok(ec2t_trainer_get_double(tr, EC2T_TRAIN_CURRENT_LR, &log->lr[log->n++]));
    return 0;
}

/* One-cycle moves with every step of an epoch, and a run resumed from a
 * checkpoint (which keeps the warm-up) is bit for bit the uninterrupted one. */
START_TEST(test_trainer_one_cycle_steps_and_resumes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *a = linear_net(ctx), *b = linear_net(ctx);
    ec2t_dataset *ds = blobs(ctx, 90), *ds2 = blobs(ctx, 90);
    ec2t_trainer *tra = NULL, *trb = NULL;
    const char *ckpt = test_tmpfile(0, "one-cycle.ckpt");
    lr_log log = {{0}, 0};
    double d;
    ck_assert_ok(ec2t_net_init(a, 3));
    ck_assert_ok(ec2t_trainer_new(a, EC2T_OPT_SGD, 0, &tra));
    ck_assert_ok(ec2t_trainer_set_int(tra, EC2T_TRAIN_BATCH_SIZE, 16));
    ck_assert_ok(ec2t_trainer_set_int(tra, EC2T_TRAIN_EPOCHS, 4));
    ck_assert_ok(ec2t_trainer_set_double(tra, EC2T_TRAIN_WARMUP, 0.3));
    ck_assert_ok(ec2t_trainer_set_progress(tra, on_lr, &log));
    ck_assert_ok(ec2t_trainer_epoch(tra, ds, 0, NULL, NULL));
    ck_assert_int_eq(log.n, 6);
    for (int i = 1; i < 6; i++) /* warming up: t = i / 24 < 0.3 */
        ck_assert_double_gt(log.lr[i], log.lr[i - 1]);
    ck_assert_double_gt(log.lr[0], 1.0 / 25);
    ck_assert_double_lt(log.lr[5], 1.0);
    ck_assert_ok(ec2t_trainer_set_progress(tra, NULL, NULL));
    ck_assert_ok(ec2t_trainer_epoch(tra, ds, 0, NULL, NULL));
    ck_assert_ok(ec2t_trainer_save_checkpoint(tra, ckpt, 0));
    for (int e = 2; e < 4; e++)
        ck_assert_ok(ec2t_trainer_epoch(tra, ds, 0, NULL, NULL));
    ck_assert_ok(ec2t_trainer_get_double(tra, EC2T_TRAIN_CURRENT_LR, &d));
    ck_assert_double_eq_tol(d, 0, 1e-12); /* annealed to the floor */

    ck_assert_ok(ec2t_net_init(b, 99)); /* the checkpoint overrides it */
    ck_assert_ok(ec2t_trainer_new(b, EC2T_OPT_SGD, 0, &trb));
    ck_assert_ok(ec2t_trainer_load_checkpoint(trb, ckpt, 0));
    ck_assert_ok(ec2t_trainer_get_double(trb, EC2T_TRAIN_WARMUP, &d));
    ck_assert_double_eq(d, 0.3);
    for (int e = 2; e < 4; e++)
        ck_assert_ok(ec2t_trainer_epoch(trb, ds2, 0, NULL, NULL));
    for (int32_t i = 0; i < ec2t_net_param_count(a); i++) {
        ec2t_tensor *ta_, *tb;
        ck_assert_ok(ec2t_net_param(a, i, NULL, &ta_, NULL));
        ck_assert_ok(ec2t_net_param(b, i, NULL, &tb, NULL));
        ck_assert_int_eq(memcmp(ec2t_tensor_data(ta_), ec2t_tensor_data(tb),
                                (size_t)ec2t_tensor_numel(ta_) * sizeof(float)),
                         0);
    }
    ec2t_trainer_free(tra);
    ec2t_trainer_free(trb);
    ec2t_dataset_free(ds);
    ec2t_dataset_free(ds2);
    ec2t_net_free(a);
    ec2t_net_free(b);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_trainer_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx), *noloss = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_dataset *ds = NULL;
    int32_t g;
    int64_t v;
    double d;
    ck_assert_status(ec2t_trainer_new(NULL, EC2T_OPT_SGD, 0, &tr), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_new(net, (ec2t_optimizer)5, 0, &tr), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_new(net, EC2T_OPT_SGD, 1, &tr), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_net_new(ctx, 2, 2, 2, &noloss));
    ck_assert_status(ec2t_trainer_new(noloss, EC2T_OPT_SGD, 0, &tr), EC2T_E_INVAL);
    ck_assert_ptr_null(tr);
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    ck_assert_status(ec2t_trainer_step(tr, X, N * IN, Y, N, N, 1, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_step(tr, NULL, N * IN, Y, N, N, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_step(tr, X, N * IN, NULL, N, N, 0, NULL), EC2T_E_INVAL);
    {
        /* counts that do not fit the batch are refused before anything is
         * read: a buffer of exactly the short size, for AddressSanitizer */
        float *short_x = malloc((N * IN - 1) * sizeof(float));
        ck_assert_ptr_nonnull(short_x);
        memcpy(short_x, X, (N * IN - 1) * sizeof(float));
        ck_assert_status(ec2t_trainer_step(tr, short_x, N * IN - 1, Y, N, N, 0, NULL), EC2T_E_INVAL);
        ck_assert_str_eq(ec2t_context_errmsg(ctx),
                         "ec2t_trainer_step: input holds 19 floats; a batch of 5 of 4x1x1 needs 20");
        ck_assert_status(ec2t_trainer_step(tr, X, N * IN, Y, N - 1, N, 0, NULL), EC2T_E_INVAL);
        ck_assert_str_eq(ec2t_context_errmsg(ctx),
                         "ec2t_trainer_step: labels hold 4 values; a batch of 5 needs 5");
        free(short_x);
    }
    ck_assert_status(ec2t_trainer_epoch(tr, NULL, 0, NULL, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, (const float[]){0, 0, 0, 0, 0}, (const int32_t[]){0}, 1,
                                          5, 1, 1, 2, 0, &ds));
    ck_assert_status(ec2t_trainer_epoch(tr, ds, 0, NULL, NULL), EC2T_E_INVAL); /* shape */
    ck_assert_status(ec2t_trainer_add_group(tr, EC2T_OPT_SGD, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_get_int(tr, EC2T_TRAIN_BATCH_SIZE, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_get_int(tr, EC2T_TRAIN_LR, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_trainer_get_double(tr, EC2T_TRAIN_BATCH_SIZE, &d), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_trainer_group_get_double(tr, 0, EC2T_TRAIN_LR, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_add_group(NULL, EC2T_OPT_SGD, &g), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_assign(NULL, "fc.bias", 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_set_double(NULL, 0, EC2T_TRAIN_LR, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_group_get_double(NULL, 0, EC2T_TRAIN_LR, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_int(NULL, EC2T_TRAIN_SEED, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_double(NULL, EC2T_TRAIN_STEP_GAMMA, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_get_int(NULL, EC2T_TRAIN_SEED, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_get_double(NULL, EC2T_TRAIN_LOSS, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_progress(NULL, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_step(NULL, X, N * IN, Y, N, N, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_epoch(NULL, ds, 0, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_save_checkpoint(NULL, "x", 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_load_checkpoint(NULL, "x", 0), EC2T_E_INVAL);
    ec2t_trainer_free(NULL);
    ec2t_trainer_free(tr);
    ec2t_dataset_free(ds);
    ec2t_net_free(noloss);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("trainer");
    TCase *tc = tcase_create("trainer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_trainer_sgd_matches_pytorch_rule);
    tcase_add_test(tc, test_trainer_adam_matches_pytorch_rule);
    tcase_add_test(tc, test_trainer_groups_and_freezing);
    tcase_add_test(tc, test_trainer_schedules);
    tcase_add_test(tc, test_trainer_epochs_learn_and_report);
    tcase_add_test(tc, test_trainer_defaults_as_documented);
    tcase_add_test(tc, test_trainer_one_cycle_steps_and_resumes);
    tcase_add_test(tc, test_trainer_bad_args);
    suite_add_tcase(s, tc);
    return s;
}
