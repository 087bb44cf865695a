/* SPDX-License-Identifier: MIT */
/* One rank's (or one process's) training run of the collective tests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collective-job.h"

#define MAX_W 200000


static void
make_data(float *x, int32_t *y, int64_t count, int64_t sample, int classes)
{
    uint64_t s = 12345;
    for (int64_t i = 0; i < count; i++) {
        y[i] = (int32_t)(i % classes);
        for (int64_t k = 0; k < sample; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i * sample + k] = (float)((double)(s >> 40) / (double)(1 << 24)) - 0.5f +
                                0.3f * (float)y[i] * (k % 7 == 0);
        }
    }
}

static int
stop_at(void *user, const ec2t_trainer *tr)
{
    const job *j = user;
    int64_t step = 0;
    if (ec2t_trainer_get_int(tr, EC2T_TRAIN_STEP, &step) != EC2T_OK)
        return 1;
    return j->stop_at_step > 0 && step >= j->stop_at_step;
}

#define TRY(expr)                                                                           \
    do {                                                                                    \
        if ((j->st = (expr)) != EC2T_OK)                                                    \
            goto done;                                                                      \
    } while (0)

void
job_run(job *j)
{
    ec2t_context *ctx = j->ctx;
    ec2t_net *net = NULL;
    ec2t_dataset *data = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_ternarizer *tz = NULL;
    ec2t_net *teacher = NULL;
    int32_t c = j->net_kind == NET_RESNET ? 3 : 1, hw = j->net_kind == NET_RESNET ? 12 : 28;
    int64_t sample = (int64_t)c * hw * hw;
    float *x = malloc((size_t)(j->samples * sample) * sizeof *x);
    int32_t *y = malloc((size_t)j->samples * sizeof *y);
    static const int32_t blocks[2] = {1, 1}, widths[2] = {4, 8};

    make_data(x, y, j->samples, sample, 4);
    TRY(ec2t_dataset_from_arrays(ctx, x, y, j->samples, c, hw, hw, 4, 0, &data));
    if (j->net_kind == NET_RESNET)
        TRY(ec2t_net_build_resnet(ctx, 2, blocks, widths, c, hw, hw, 4, 0, &net));
    else
        TRY(ec2t_net_build_lenet5(ctx, c, hw, hw, 4, 0, &net));
    TRY(ec2t_net_init(net, j->init_seed));
    TRY(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    TRY(ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, j->batch));
    TRY(ec2t_trainer_set_int(tr, EC2T_TRAIN_SEED, 99));
    TRY(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    TRY(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, 0.02));
    TRY(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_MOMENTUM, 0.9));
    TRY(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 5e-4));
    if (j->stop_at_step)
        TRY(ec2t_trainer_set_progress(tr, stop_at, j));
    if (j->coll)
        TRY(ec2t_trainer_set_collective(tr, j->coll, 0));
    if (j->net_kind == NET_EC2T) {
        if (j->distill) {
            TRY(ec2t_net_clone(net, &teacher));
            TRY(ec2t_trainer_set_teacher(tr, teacher, 4.0, 0.5));
        }
        TRY(ec2t_ternarizer_new(net, 0, &tz));
        TRY(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.5));
        TRY(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_SHADOW, 1e-3));
        TRY(ec2t_ternarizer_attach(tz, tr, 0));
        TRY(ec2t_ternarizer_train(tz, tr, data, data, j->epochs, 1, 0));
        TRY(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &j->sparsity));
    } else {
        if (j->load_from)
            TRY(ec2t_trainer_load_checkpoint(tr, j->load_from, 0));
        for (int e = 0; e < j->epochs; e++)
            TRY(ec2t_trainer_epoch(tr, data, 0, &j->loss, NULL));
        if (j->save_to)
            TRY(ec2t_trainer_save_checkpoint(tr, j->save_to, 0));
    }
    j->n_weights = 0;
    j->weights = malloc(MAX_W * sizeof *j->weights);
    for (int32_t i = 0; i < ec2t_net_param_count(net); i++) {
        ec2t_tensor *t;
        int64_t n;
        TRY(ec2t_net_param(net, i, NULL, &t, NULL));
        n = ec2t_tensor_numel(t);
        if (j->n_weights + n > MAX_W)
            break;
        memcpy(j->weights + j->n_weights, ec2t_tensor_data(t), (size_t)n * sizeof(float));
        j->n_weights += n;
    }
done:
    if (j->st != EC2T_OK)
        snprintf(j->msg, sizeof j->msg, "%s", ec2t_context_errmsg(ctx));
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_net_free(teacher);
    ec2t_net_free(net);
    ec2t_dataset_free(data);
    free(x);
    free(y);
}

job
job_of(int net_kind, int epochs)
{
    job j;
    memset(&j, 0, sizeof j);
    j.net_kind = net_kind;
    j.epochs = epochs;
    j.batch = JOB_BATCH;
    j.samples = JOB_SAMPLES;
    j.init_seed = 7;
    return j;
}

double
job_max_rel_diff(const job *a, const job *b)
{
    double d = 0, m = 0;
    if (a->n_weights != b->n_weights)
        return INFINITY;
    for (int64_t i = 0; i < a->n_weights; i++) {
        d = fmax(d, fabs((double)a->weights[i] - b->weights[i]));
        m = fmax(m, fabs((double)a->weights[i]));
    }
    return m > 0 ? d / m : d;
}

int64_t
job_sign_differences(const job *a, const job *b, int64_t *zeros)
{
    int64_t differ = 0;
    *zeros = 0;
    for (int64_t i = 0; i < a->n_weights && i < b->n_weights; i++) {
        int x = (a->weights[i] > 0) - (a->weights[i] < 0);
        int y = (b->weights[i] > 0) - (b->weights[i] < 0);
        differ += x != y;
        *zeros += x == 0;
    }
    return differ + (a->n_weights != b->n_weights);
}
