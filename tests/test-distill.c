/* SPDX-License-Identifier: MIT */
/* ec2t_trainer_set_teacher and the experimental ec2t_trainer_set_teachers:
 * a distillation step, from one teacher or an ensemble, against the gradient
 * of Hinton et al.'s loss written out in double; alpha 0 is the plain step; a
 * teacher equal to the network teaches nothing; bad teachers are refused;
 * the loss's distillation input against finite differences. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"
#include "net-private.h"

#define IN 4
#define OUT 3
#define N 5

static const float X[N * IN] = {0.5f, -1.0f, 0.25f, 2.0f,  -0.3f, 0.8f, 1.1f,  -0.6f, 0.9f, 0.1f,
                                -1.4f, 0.7f, 0.2f,  0.4f, -0.8f, 1.3f, -0.2f, 0.6f,  0.3f, -0.9f};
static const int32_t Y[N] = {0, 2, 1, 1, 0};

/* input (IN channels of 1 x 1 pixel, or with wide one channel of 1 x IN, which
 * a mirror reverses) -> dense OUT (bias) [-> loss], initialised from seed */
static ec2t_net *
shaped_net(ec2t_context *ctx, uint64_t seed, int with_loss, int wide)
{
    ec2t_net *net = NULL;
    ec2t_layer *fc;
    ec2t_layer *in;
    ck_assert_ok(ec2t_net_new(ctx, wide ? 1 : IN, 1, wide ? IN : 1, &net));
    in = ec2t_net_input(net);
    if (wide)
        ck_assert_ok(ec2t_net_add_flatten(net, in, 0, &in));
    ck_assert_ok(ec2t_net_add_dense(net, in, OUT, EC2T_ADD_BIAS, &fc));
    ck_assert_ok(ec2t_layer_set_name(fc, "fc"));
    if (with_loss)
        ck_assert_ok(ec2t_net_add_softmax_xent(net, fc, 0, NULL));
    ck_assert_ok(ec2t_net_init(net, seed));
    return net;
}

static ec2t_net *
linear_net(ec2t_context *ctx, uint64_t seed, int with_loss)
{
    return shaped_net(ctx, seed, with_loss, 0);
}

/* fc.weight (OUT x IN) then fc.bias (OUT) */
static void
params_of(ec2t_net *net, double *p)
{
    ec2t_tensor *w, *b;
    ck_assert_ok(ec2t_net_find_param(net, "fc.weight", &w, NULL));
    ck_assert_ok(ec2t_net_find_param(net, "fc.bias", &b, NULL));
    for (int i = 0; i < OUT * IN; i++)
        p[i] = ec2t_tensor_data(w)[i];
    for (int i = 0; i < OUT; i++)
        p[OUT * IN + i] = ec2t_tensor_data(b)[i];
}

static void
softmax(const double *z, double t, double *p)
{
    double zmax = z[0], sum = 0;
    for (int c = 1; c < OUT; c++)
        zmax = fmax(zmax, z[c]);
    for (int c = 0; c < OUT; c++)
        sum += p[c] = exp((z[c] - zmax) / t);
    for (int c = 0; c < OUT; c++)
        p[c] /= sum;
}

static void
logits(const double *p, const float *x, double *z)
{
    for (int c = 0; c < OUT; c++) {
        z[c] = p[OUT * IN + c];
        for (int i = 0; i < IN; i++)
            z[c] += p[c * IN + i] * x[i];
    }
}

/* One SGD step (lr, no momentum, no decay) on the distillation loss whose
 * target is the mean of the m teachers' softened outputs (with mirror, over
 * each sample and its reverse too). */
static void
reference_step(double *p, const double *const *teachers, int m, int mirror, double t, double alpha,
               double lr)
{
    double g[OUT * IN + OUT] = {0};
    for (int s = 0; s < N; s++) {
        double z[OUT], zt[OUT], ps[OUT], pst[OUT], qj[OUT], q[OUT] = {0};
        logits(p, X + s * IN, z);
        softmax(z, 1, ps);
        softmax(z, t, pst);
        float reversed[IN];
        for (int i = 0; i < IN; i++)
            reversed[i] = X[s * IN + IN - 1 - i];
        for (int j = 0; j < m * (mirror + 1); j++) {
            logits(teachers[j % m], j < m ? X + s * IN : reversed, zt);
            softmax(zt, t, qj);
            for (int c = 0; c < OUT; c++)
                q[c] += qj[c] / (m * (mirror + 1));
        }
        for (int c = 0; c < OUT; c++) {
            double dz = ((1 - alpha) * (ps[c] - (Y[s] == c)) + alpha * t * (pst[c] - q[c])) / N;
            g[OUT * IN + c] += dz;
            for (int i = 0; i < IN; i++)
                g[c * IN + i] += dz * X[s * IN + i];
        }
    }
    for (int i = 0; i < OUT * IN + OUT; i++)
        p[i] -= lr * g[i];
}

/* Three steps of tr on net against the reference with these teachers. */
static void
check_steps(ec2t_trainer *tr, ec2t_net *net, const double *const *teachers, int m, int mirror,
            double t, double alpha, double lr)
{
    double want[OUT * IN + OUT], got[OUT * IN + OUT];
    params_of(net, want);
    for (int step = 0; step < 3; step++) {
        ck_assert_ok(ec2t_trainer_step(tr, X, N * IN, Y, N, N, 0, NULL));
        reference_step(want, teachers, m, mirror, t, alpha, lr);
        params_of(net, got);
        for (int i = 0; i < OUT * IN + OUT; i++)
            ck_assert_msg(fabs(got[i] - want[i]) <= 2e-6 * (1 + fabs(want[i])),
                          "%d teacher(s), mirror %d, T %g alpha %g step %d param %d: %.9g, reference "
                          "%.9g", m, mirror, t, alpha, step, i, got[i], want[i]);
    }
}

static ec2t_trainer *
plain_sgd(ec2t_net *net, double lr)
{
    ec2t_trainer *tr = NULL;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, lr));
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_MOMENTUM, 0));
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 0));
    /* plain steps at lr: not the default one-cycle schedule (since 0.2) */
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    return tr;
}

START_TEST(test_distill_step_matches_the_loss_gradient)
{
    static const double settings[][2] = {{4, 0.7}, {1, 1}, {2.5, 0.3}}; /* T, alpha */
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        ec2t_net *net = linear_net(ctx, 1, 1), *teacher = linear_net(ctx, 2, 0);
        ec2t_trainer *tr = plain_sgd(net, 0.5);
        double t[OUT * IN + OUT];
        const double *teachers[] = {t};
        params_of(teacher, t);
        ck_assert_ok(ec2t_trainer_set_teacher(tr, teacher, settings[k][0], settings[k][1]));
        check_steps(tr, net, teachers, 1, 0, settings[k][0], settings[k][1], 0.5);
        ec2t_trainer_free(tr);
        ec2t_net_free(teacher);
        ec2t_net_free(net);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Two teachers, then the first listed again (it counts twice): the target is
 * the mean of their softened outputs; with EC2T_TRAIN_TEACHER_MIRROR the mean
 * over each batch and its mirror image too; set_teacher goes back to one. The
 * input is one row of IN pixels, which the mirror reverses. */
START_TEST(test_distill_ensemble_matches_the_loss_gradient)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = shaped_net(ctx, 1, 1, 1), *a = shaped_net(ctx, 2, 0, 1), *b = shaped_net(ctx, 7, 1, 1);
    ec2t_trainer *tr = plain_sgd(net, 0.5);
    double pa[OUT * IN + OUT], pb[OUT * IN + OUT];
    const double *two[] = {pa, pb}, *three[] = {pa, pb, pa}, *one[] = {pb};
    int64_t mirror = -1;
    params_of(a, pa);
    params_of(b, pb);
    ec2t_net *list[] = {a, b, a};
    /* no ec2t_trainer_set_teacher first: the list is the whole setting */
    ck_assert_ok(ec2t_trainer_set_teachers(tr, list, 2, 3, 0.8));
    check_steps(tr, net, two, 2, 0, 3, 0.8, 0.5);
    ck_assert_ok(ec2t_trainer_set_teachers(tr, list, 3, 3, 0.8));
    check_steps(tr, net, three, 3, 0, 3, 0.8, 0.5);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_TEACHER_MIRROR, &mirror));
    ck_assert_int_eq(mirror, 0);
    /* an experimental key, outside the stable key space (428 was its old value) */
    ck_assert_int_ge((int)EC2T_TRAIN_TEACHER_MIRROR, 1000);
    ck_assert_status(ec2t_trainer_set_int(tr, (ec2t_trainer_param)428, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 2), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 1));
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_TEACHER_MIRROR, &mirror));
    ck_assert_int_eq(mirror, 1);
    check_steps(tr, net, three, 3, 1, 3, 0.8, 0.5);
    ck_assert_ok(ec2t_trainer_set_teacher(tr, b, 2, 0.6));
    check_steps(tr, net, one, 1, 1, 2, 0.6, 0.5);
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 0));
    check_steps(tr, net, one, 1, 0, 2, 0.6, 0.5);
    ec2t_trainer_free(tr);
    ec2t_net_free(a);
    ec2t_net_free(b);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* alpha 0 is the plain step, bit for bit; a teacher equal to the network
 * (and alpha 1) leaves it where it is; NULL turns distillation off. */
START_TEST(test_distill_limits)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *a = linear_net(ctx, 3, 1), *b = linear_net(ctx, 3, 1), *teacher = linear_net(ctx, 4, 1);
    ec2t_trainer *ta_tr = plain_sgd(a, 0.3), *tb_tr = plain_sgd(b, 0.3);
    double pa[OUT * IN + OUT], pb[OUT * IN + OUT], before[OUT * IN + OUT];
    float la, lb;
    ck_assert_ok(ec2t_trainer_set_teacher(tb_tr, teacher, 3, 0));
    ck_assert_ok(ec2t_trainer_step(ta_tr, X, N * IN, Y, N, N, 0, &la));
    ck_assert_ok(ec2t_trainer_step(tb_tr, X, N * IN, Y, N, N, 0, &lb));
    params_of(a, pa);
    params_of(b, pb);
    ck_assert_mem_eq(pa, pb, sizeof pa);
    ck_assert_float_eq(la, lb); /* the reported loss is the cross-entropy */
    /* the network teaching a copy of itself */
    ec2t_net_free(teacher);
    ck_assert_ok(ec2t_net_clone(b, &teacher));
    ck_assert_ok(ec2t_trainer_set_teacher(tb_tr, teacher, 2, 1));
    params_of(b, before);
    ck_assert_ok(ec2t_trainer_step(tb_tr, X, N * IN, Y, N, N, 0, NULL));
    params_of(b, pb);
    for (int i = 0; i < OUT * IN + OUT; i++)
        ck_assert_msg(fabs(pb[i] - before[i]) < 1e-6, "param %d moved by %g", i, pb[i] - before[i]);
    /* off again: the same step as the plain trainer's */
    ck_assert_ok(ec2t_trainer_set_teacher(tb_tr, NULL, 0, 0));
    ec2t_net_free(b);
    ck_assert_ok(ec2t_net_clone(a, &b));
    ec2t_trainer_free(tb_tr);
    tb_tr = plain_sgd(b, 0.3);
    ck_assert_ok(ec2t_trainer_set_teacher(tb_tr, teacher, 2, 1));
    ck_assert_ok(ec2t_trainer_set_teacher(tb_tr, NULL, 0, 0));
    ck_assert_ok(ec2t_trainer_step(ta_tr, X, N * IN, Y, N, N, 0, NULL));
    ck_assert_ok(ec2t_trainer_step(tb_tr, X, N * IN, Y, N, N, 0, NULL));
    params_of(a, pa);
    params_of(b, pb);
    ck_assert_mem_eq(pa, pb, sizeof pa);
    ec2t_trainer_free(ta_tr);
    ec2t_trainer_free(tb_tr);
    ec2t_net_free(teacher);
    ec2t_net_free(a);
    ec2t_net_free(b);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_distill_refuses_bad_teachers)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx, 1, 1), *teacher = linear_net(ctx, 2, 1), *other = NULL;
    ec2t_trainer *tr = plain_sgd(net, 0.1);
    ec2t_layer *fc;
    ck_assert_status(ec2t_trainer_set_teacher(NULL, teacher, 2, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, teacher, 0.5, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, teacher, 101, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, teacher, NAN, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, teacher, 2, -0.1), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, teacher, 2, 1.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teacher(tr, net, 2, 0.5), EC2T_E_INVAL);
    /* another number of outputs */
    ck_assert_ok(ec2t_net_new(ctx, IN, 1, 1, &other));
    ck_assert_ok(ec2t_net_add_dense(other, ec2t_net_input(other), OUT + 1, 0, &fc));
    ck_assert_status(ec2t_trainer_set_teacher(tr, other, 2, 0.5), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "teacher"));
    ec2t_net_free(other);
    /* another input shape */
    ck_assert_ok(ec2t_net_new(ctx, IN + 1, 1, 1, &other));
    ck_assert_ok(ec2t_net_add_dense(other, ec2t_net_input(other), OUT, 0, &fc));
    ck_assert_status(ec2t_trainer_set_teacher(tr, other, 2, 0.5), EC2T_E_INVAL);
    ec2t_net_free(other);
    ck_assert_ok(ec2t_trainer_set_teacher(tr, teacher, 2, 0.5));
    ck_assert_ok(ec2t_trainer_step(tr, X, N * IN, Y, N, N, 0, NULL));
    ec2t_trainer_free(tr);
    ec2t_net_free(teacher);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Each refusal leaves the teachers as they were: the steps afterwards are
 * the one-teacher steps. A list is checked whole before it replaces them. */
START_TEST(test_distill_set_teachers_refuses_bad_lists)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx, 1, 1), *teacher = linear_net(ctx, 2, 1), *other = NULL;
    ec2t_trainer *tr = plain_sgd(net, 0.5);
    ec2t_net *list[EC2T_TRAINER_MAX_TEACHERS + 1];
    double t[OUT * IN + OUT];
    const double *one[] = {t};
    ec2t_layer *fc;
    params_of(teacher, t);
    for (int i = 0; i <= EC2T_TRAINER_MAX_TEACHERS; i++)
        list[i] = teacher;
    ck_assert_status(ec2t_trainer_set_teachers(NULL, list, 1, 2, 0.5), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_set_teachers(tr, list, 1, 2, 0.5));
    ck_assert_status(ec2t_trainer_set_teachers(tr, NULL, 1, 2, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, -1, 2, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, EC2T_TRAINER_MAX_TEACHERS + 1, 2, 0.5),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 0.5, 0.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 2, 1.5), EC2T_E_INVAL);
    /* a bad entry after a good one */
    list[1] = NULL;
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 2, 0.5), EC2T_E_INVAL);
    list[1] = net;
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 2, 0.5), EC2T_E_INVAL);
    ck_assert_ok(ec2t_net_new(ctx, IN, 1, 1, &other));
    ck_assert_ok(ec2t_net_add_dense(other, ec2t_net_input(other), OUT + 1, 0, &fc));
    list[1] = other;
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 2, 0.5), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "teacher"));
    ec2t_net_free(other);
    ck_assert_ok(ec2t_net_new(ctx, IN + 1, 1, 1, &other));
    ck_assert_ok(ec2t_net_add_dense(other, ec2t_net_input(other), OUT, 0, &fc));
    list[1] = other;
    ck_assert_status(ec2t_trainer_set_teachers(tr, list, 2, 2, 0.5), EC2T_E_INVAL);
    ec2t_net_free(other);
    list[1] = teacher;
    check_steps(tr, net, one, 1, 0, 2, 0.5, 0.5);
    /* EC2T_TRAINER_MAX_TEACHERS copies of one network: the mean is its own output */
    ck_assert_ok(ec2t_trainer_set_teachers(tr, list, EC2T_TRAINER_MAX_TEACHERS, 2, 0.5));
    check_steps(tr, net, one, 1, 0, 2, 0.5, 0.5);
    {
        /* the teachers (and the mirror) read the images only after their
         * count is checked: a buffer of exactly the short size, for ASan */
        float *short_x = malloc((N * IN - 1) * sizeof(float));
        ck_assert_ptr_nonnull(short_x);
        memcpy(short_x, X, (N * IN - 1) * sizeof(float));
        ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 1));
        ck_assert_status(ec2t_trainer_step(tr, short_x, N * IN - 1, Y, N, N, 0, NULL), EC2T_E_INVAL);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "input holds 19 floats"));
        ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_TEACHER_MIRROR, 0));
        free(short_x);
    }
    /* 0 turns distillation off, like ec2t_trainer_set_teacher(tr, NULL, ...) */
    ck_assert_ok(ec2t_trainer_set_teachers(tr, NULL, 0, 0, 0));
    check_steps(tr, net, one, 0, 0, 1, 0, 0.5); /* no teacher: the plain step */
    ec2t_trainer_free(tr);
    ec2t_net_free(teacher);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The distillation loss of the network's logits in double: the mean over
 * samples of (1 - alpha) CE(z, y) + alpha T^2 KL(q || softmax(z / T)), q
 * class after class like the loss layer's input. */
static double
distill_loss(ec2t_net *net, const float *q, double t, double alpha)
{
    float out[N * OUT];
    double total = 0;
    ck_assert_ok(ec2t_net_forward(net, X, N * IN, N, out, N * OUT, 0));
    for (int s = 0; s < N; s++) {
        double z[OUT], pt[OUT], zmax = out[s * OUT], sum = 0, kl = 0;
        for (int c = 0; c < OUT; c++) {
            z[c] = out[s * OUT + c];
            zmax = fmax(zmax, z[c]);
        }
        for (int c = 0; c < OUT; c++)
            sum += exp(z[c] - zmax);
        softmax(z, t, pt);
        for (int c = 0; c < OUT; c++)
            kl += q[c * N + s] * log(q[c * N + s] / pt[c]);
        total += (1 - alpha) * (log(sum) + zmax - z[Y[s]]) + alpha * t * t * kl;
    }
    return total / N;
}

/* The loss takes the teachers' targets, T and alpha as an explicit input of
 * its backward pass (ec2t__distill, which the trainer builds): the gradient
 * it gives the parameters is that of the distillation loss, by central
 * finite differences; without the input it is the plain loss's. */
START_TEST(test_distill_loss_input_matches_finite_differences)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = linear_net(ctx, 3, 1);
    ec2t_tensor *w, *b, *gw, *gb, *plain;
    float q[OUT * N];
    ec2t__distill d = {q, 2.5f, 0.7f};
    const float h = 1e-2f;
    for (int s = 0; s < N; s++) {
        double z[OUT] = {0.3 * s, -0.5, 1.0 - 0.2 * s}, p[OUT];
        softmax(z, 1, p);
        for (int c = 0; c < OUT; c++)
            q[c * N + s] = (float)p[c];
    }
    ck_assert_ok(ec2t_net_find_param(net, "fc.weight", &w, &gw));
    ck_assert_ok(ec2t_net_find_param(net, "fc.bias", &b, &gb));
    ck_assert_ok(ec2t_net_forward_loss(net, X, N * IN, Y, N, N, 0, NULL, NULL));
    ck_assert_ok(ec2t__net_backward(net, &d));
    for (int i = 0; i < OUT * IN + OUT; i++) {
        float *v = i < OUT * IN ? ec2t_tensor_data(w) + i : ec2t_tensor_data(b) + i - OUT * IN;
        double g = i < OUT * IN ? ec2t_tensor_data(gw)[i] : ec2t_tensor_data(gb)[i - OUT * IN];
        float was = *v;
        double up, down, fd;
        *v = was + h;
        up = distill_loss(net, q, d.temperature, d.alpha);
        *v = was - h;
        down = distill_loss(net, q, d.temperature, d.alpha);
        *v = was;
        fd = (up - down) / (2.0 * h);
        ck_assert_msg(fabs(fd - g) <= 2e-4 + 1e-3 * fabs(fd),
                      "param %d: gradient %.7g, finite differences %.7g", i, g, fd);
    }
    /* without the input: the plain cross-entropy's gradient, which differs */
    ck_assert_ok(ec2t_tensor_new(ctx, 1, (int64_t[]){OUT}, &plain));
    memcpy(ec2t_tensor_data(plain), ec2t_tensor_data(gb), OUT * sizeof(float));
    ck_assert_ok(ec2t_net_forward_loss(net, X, N * IN, Y, N, N, 0, NULL, NULL));
    ck_assert_ok(ec2t__net_backward(net, NULL));
    ck_assert(memcmp(ec2t_tensor_data(plain), ec2t_tensor_data(gb), OUT * sizeof(float)) != 0);
    ec2t_tensor_free(plain);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("distill");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_distill_step_matches_the_loss_gradient);
    tcase_add_test(tc, test_distill_limits);
    tcase_add_test(tc, test_distill_ensemble_matches_the_loss_gradient);
    tcase_add_test(tc, test_distill_refuses_bad_teachers);
    tcase_add_test(tc, test_distill_set_teachers_refuses_bad_lists);
    tcase_add_test(tc, test_distill_loss_input_matches_finite_differences);
    suite_add_tcase(s, tc);
    return s;
}
