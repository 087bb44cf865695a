/* SPDX-License-Identifier: MIT */
/* Distillation: the softened outputs of a teacher network, or the mean of
 * several (an ensemble), as a second target of the loss
 * (ec2t_trainer_set_teacher, and the experimental ec2t_trainer_set_teachers).
 * The trainer hands them to the loss's backward pass as an explicit input
 * (ec2t__distill; the gradient is in nn/layers/loss.c). */
#include "trainer-private.h"

/* A teacher must take the trained network's input and give its number of
 * outputs; it runs in eval mode from now on. */
static ec2t_status
check_teacher(ec2t_trainer *tr, ec2t_net *teacher, const char *fn)
{
    int32_t c, h, w, tc, th, tw, k, tk;
    if (teacher == tr->net)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: a network cannot teach itself", fn);
    ec2t_net_input_shape(tr->net, &c, &h, &w);
    ec2t_net_input_shape(teacher, &tc, &th, &tw);
    ec2t_net_output_shape(tr->net, &k, NULL, NULL);
    ec2t_net_output_shape(teacher, &tk, NULL, NULL);
    if (c != tc || h != th || w != tw || k != tk)
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "%s: the teacher takes %dx%dx%d and gives %d outputs, the network %dx%dx%d "
                           "and %d", fn, (int)tc, (int)th, (int)tw, (int)tk, (int)c, (int)h, (int)w,
                           (int)k);
    if (ec2t_net_set_mode(teacher, EC2T_MODE_EVAL) != EC2T_OK)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: bad teacher", fn);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_set_teachers(ec2t_trainer *tr, ec2t_net *const *teachers, int32_t n, double temperature,
                          double alpha)
{
    static const char fn[] = "ec2t_trainer_set_teachers";
    ec2t_status st;
    if (!tr)
        return EC2T_E_INVAL;
    if (n < 0 || n > EC2T_TRAINER_MAX_TEACHERS || (n > 0 && !teachers))
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: %d teachers (0 to %d)", fn, (int)n,
                           EC2T_TRAINER_MAX_TEACHERS);
    if (n > 0 && (!(temperature >= 1 && temperature <= 100) || !(alpha >= 0 && alpha <= 1)))
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: temperature %g or alpha %g out of range", fn,
                           temperature, alpha);
    /* every teacher is checked before any replaces the current ones */
    for (int32_t i = 0; i < n; i++) {
        if (!teachers[i])
            return ec2t__error(tr->ctx, EC2T_E_INVAL, "%s: teacher %d is NULL", fn, (int)i);
        if ((st = check_teacher(tr, teachers[i], fn)) != EC2T_OK)
            return st;
    }
    for (int32_t i = 0; i < n; i++)
        tr->teachers[i] = teachers[i];
    tr->n_teachers = n;
    if (n > 0)
        tr->temperature = temperature, tr->alpha = alpha;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_trainer_set_teacher(ec2t_trainer *tr, ec2t_net *teacher, double temperature, double alpha)
{
    return ec2t_trainer_set_teachers(tr, &teacher, teacher ? 1 : 0, temperature, alpha);
}

static ec2t_status
reserve_soft(ec2t_trainer *tr, int64_t n)
{
    if (n <= tr->soft_cap)
        return EC2T_OK;
    ec2t__free(tr->ctx, tr->teacher_out);
    ec2t__free(tr->ctx, tr->soft_one);
    ec2t__free(tr->ctx, tr->soft);
    tr->teacher_out = ec2t__alloc(tr->ctx, (size_t)n * sizeof(float), 64);
    tr->soft_one = ec2t__alloc(tr->ctx, (size_t)n * sizeof(float), 64);
    tr->soft = ec2t__alloc(tr->ctx, (size_t)n * sizeof(float), 64);
    tr->soft_cap = tr->teacher_out && tr->soft_one && tr->soft ? n : 0;
    return tr->soft_cap ? EC2T_OK : ec2t__nomem(tr->ctx, "teacher outputs");
}

/* The batch mirrored left to right, into tr->mirrored. */
static ec2t_status
mirror_batch(ec2t_trainer *tr, const float *images, int64_t batch)
{
    int32_t c, h, w;
    int64_t rows;
    ec2t_net_input_shape(tr->net, &c, &h, &w);
    rows = batch * c * h;
    if (rows * w > tr->mirrored_cap) {
        ec2t__free(tr->ctx, tr->mirrored);
        tr->mirrored = ec2t__alloc(tr->ctx, ec2t__mul_size((size_t)(rows * w), sizeof(float)), 64);
        tr->mirrored_cap = tr->mirrored ? rows * w : 0;
        if (!tr->mirrored)
            return ec2t__nomem(tr->ctx, "mirrored batch");
    }
    for (int64_t r = 0; r < rows; r++)
        for (int32_t x = 0; x < w; x++)
            tr->mirrored[r * w + x] = images[r * w + w - 1 - x];
    return EC2T_OK;
}

ec2t_status
ec2t__trainer_soft_targets(ec2t_trainer *tr, const float *images, int64_t batch, ec2t__distill *out)
{
    int32_t k, c, h, w;
    int views = tr->teacher_mirror ? 2 : 1;
    ec2t_status st;
    out->soft = NULL;
    if (tr->n_teachers == 0)
        return EC2T_OK;
    ec2t_net_output_shape(tr->net, &k, NULL, NULL);
    ec2t_net_input_shape(tr->net, &c, &h, &w); /* every teacher's too */
    if ((st = reserve_soft(tr, batch * k)) != EC2T_OK)
        return st;
    if (views == 2 && (st = mirror_batch(tr, images, batch)) != EC2T_OK)
        return st;
    for (int32_t j = 0; j < tr->n_teachers * views; j++) {
        /* the first view's targets go straight into soft, the others' are added to them */
        float *p = j == 0 ? tr->soft : tr->soft_one;
        st = ec2t_net_forward(tr->teachers[j / views], j % views ? tr->mirrored : images,
                              (size_t)(batch * c * h * w), batch, tr->teacher_out, (size_t)(batch * k), 0);
        if (st != EC2T_OK)
            return st;
        /* the teacher's outputs are sample after sample; the targets, like the logits, class after class */
        for (int64_t s = 0; s < batch; s++)
            ec2t__softmax_tempered(tr->teacher_out + s * k, 1, k, tr->temperature, p + s, batch);
        if (j > 0)
            for (int64_t i = 0; i < batch * k; i++)
                tr->soft[i] += p[i];
    }
    if (tr->n_teachers * views > 1)
        for (int64_t i = 0; i < batch * k; i++)
            tr->soft[i] /= (float)(tr->n_teachers * views);
    out->soft = tr->soft;
    out->temperature = (float)tr->temperature;
    out->alpha = (float)tr->alpha;
    return EC2T_OK;
}
