/* SPDX-License-Identifier: MIT */
/* Distillation: a teacher network's softened outputs as a second target of
 * the loss (ec2t_trainer_set_teacher; the gradient is in layer-loss.c). */
#include "trainer-private.h"

EC2T_API ec2t_status
ec2t_trainer_set_teacher(ec2t_trainer *tr, ec2t_net *teacher, double temperature, double alpha)
{
    int32_t c, h, w, tc, th, tw, k, tk;
    if (!tr)
        return EC2T_E_INVAL;
    if (!teacher) {
        tr->teacher = NULL;
        return EC2T_OK;
    }
    if (!(temperature >= 1 && temperature <= 100) || !(alpha >= 0 && alpha <= 1))
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "ec2t_trainer_set_teacher: temperature %g or alpha %g out of range", temperature,
                           alpha);
    if (teacher == tr->net)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_teacher: a network cannot teach itself");
    ec2t_net_input_shape(tr->net, &c, &h, &w);
    ec2t_net_input_shape(teacher, &tc, &th, &tw);
    ec2t_net_output_shape(tr->net, &k, NULL, NULL);
    ec2t_net_output_shape(teacher, &tk, NULL, NULL);
    if (c != tc || h != th || w != tw || k != tk)
        return ec2t__error(tr->ctx, EC2T_E_INVAL,
                           "ec2t_trainer_set_teacher: the teacher takes %dx%dx%d and gives %d outputs, the "
                           "network %dx%dx%d and %d", (int)tc, (int)th, (int)tw, (int)tk, (int)c, (int)h,
                           (int)w, (int)k);
    if (ec2t_net_set_mode(teacher, EC2T_MODE_EVAL) != EC2T_OK)
        return ec2t__error(tr->ctx, EC2T_E_INVAL, "ec2t_trainer_set_teacher: bad teacher");
    tr->teacher = teacher;
    tr->temperature = temperature;
    tr->alpha = alpha;
    return EC2T_OK;
}

ec2t_status
ec2t__trainer_soft_targets(ec2t_trainer *tr, const float *images, int64_t batch)
{
    int32_t k;
    ec2t_status st;
    tr->net->soft_targets = NULL;
    if (!tr->teacher)
        return EC2T_OK;
    ec2t_net_output_shape(tr->net, &k, NULL, NULL);
    if (batch * k > tr->soft_cap) {
        ec2t__free(tr->ctx, tr->teacher_out);
        ec2t__free(tr->ctx, tr->soft);
        tr->teacher_out = ec2t__alloc(tr->ctx, (size_t)(batch * k) * sizeof(float), 64);
        tr->soft = ec2t__alloc(tr->ctx, (size_t)(batch * k) * sizeof(float), 64);
        tr->soft_cap = tr->teacher_out && tr->soft ? batch * k : 0;
        if (!tr->soft_cap)
            return ec2t__nomem(tr->ctx, "teacher outputs");
    }
    st = ec2t_net_forward(tr->teacher, images, batch, tr->teacher_out, (size_t)(batch * k), 0);
    if (st != EC2T_OK)
        return st;
    /* the teacher's outputs are sample after sample; the targets, like the logits, class after class */
    for (int64_t s = 0; s < batch; s++)
        ec2t__softmax_tempered(tr->teacher_out + s * k, 1, k, tr->temperature, tr->soft + s, batch);
    tr->net->soft_targets = tr->soft;
    tr->net->soft_temperature = (float)tr->temperature;
    tr->net->soft_alpha = (float)tr->alpha;
    return EC2T_OK;
}
