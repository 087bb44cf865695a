/* SPDX-License-Identifier: MIT */
/* The network and data of the golden files; see golden-net.h. */
#include "golden-net.h"

#define CHECK(expr)                                                                          \
    do {                                                                                     \
        if ((st = (expr)) != EC2T_OK)                                                        \
            goto fail;                                                                       \
    } while (0)

ec2t_status
golden_net_build(ec2t_context *ctx, ec2t_net **out)
{
    ec2t_net *net = NULL;
    ec2t_layer *l, *skip;
    ec2t_status st;
    *out = NULL;
    CHECK(ec2t_net_new(ctx, GOLDEN_C, GOLDEN_H, GOLDEN_W, &net));
    CHECK(ec2t_net_add_conv2d(net, ec2t_net_input(net), 8, 3, 3, 1, 1, 1, 0, &l));
    CHECK(ec2t_net_add_batchnorm(net, l, 0, &l));
    CHECK(ec2t_net_add_relu(net, l, 0, &skip));
    CHECK(ec2t_net_add_conv2d(net, skip, 8, 3, 3, 1, 1, 1, 0, &l));
    CHECK(ec2t_net_add_batchnorm(net, l, 0, &l));
    CHECK(ec2t_net_add_residual(net, l, skip, 0, &l));
    CHECK(ec2t_net_add_relu(net, l, 0, &l));
    CHECK(ec2t_net_add_maxpool(net, l, 2, 2, 0, 0, &l));
    CHECK(ec2t_net_add_conv2d(net, l, 16, 3, 3, 1, 1, 1, 0, &l));
    CHECK(ec2t_net_add_batchnorm(net, l, 0, &l));
    CHECK(ec2t_net_add_relu(net, l, 0, &l));
    CHECK(ec2t_net_add_global_avgpool(net, l, 0, &l));
    CHECK(ec2t_net_add_dense(net, l, GOLDEN_CLASSES, EC2T_ADD_BIAS, &l));
    CHECK(ec2t_net_add_softmax_xent(net, l, 0, NULL));
    CHECK(ec2t_net_init(net, GOLDEN_SEED));
    *out = net;
    return EC2T_OK;
fail:
    ec2t_net_free(net);
    return st;
}

ec2t_status
golden_trainer_new(ec2t_net *net, ec2t_trainer **out)
{
    ec2t_trainer *tr = NULL;
    ec2t_status st;
    *out = NULL;
    CHECK(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    CHECK(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, 0.05));
    CHECK(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_MOMENTUM, 0.9));
    CHECK(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 1e-4));
    /* the files were made with 0.1's defaults: plain momentum, constant rate */
    CHECK(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_NESTEROV, 0));
    CHECK(ec2t_trainer_set_int(tr, EC2T_TRAIN_SCHEDULE, EC2T_SCHED_CONSTANT));
    CHECK(ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, GOLDEN_BATCH));
    CHECK(ec2t_trainer_set_int(tr, EC2T_TRAIN_SEED, GOLDEN_SEED));
    CHECK(ec2t_trainer_set_int(tr, EC2T_TRAIN_AUGMENT, 0));
    *out = tr;
    return EC2T_OK;
fail:
    ec2t_trainer_free(tr);
    return st;
}

ec2t_status
golden_ternarizer_new(ec2t_net *net, ec2t_trainer *trainer, ec2t_ternarizer **out)
{
    ec2t_ternarizer *tz = NULL;
    ec2t_status st;
    *out = NULL;
    CHECK(ec2t_ternarizer_new(net, 0, &tz));
    CHECK(ec2t_ternarizer_set_double(tz, EC2T_TERN_GAMMA, 0.2));
    CHECK(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_SHADOW, 1e-3));
    CHECK(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_CENTROIDS, 1e-4));
    CHECK(ec2t_ternarizer_attach(tz, trainer, 0));
    *out = tz;
    return EC2T_OK;
fail:
    ec2t_ternarizer_free(tz);
    return st;
}

void
golden_data(uint32_t set, int64_t n, float *images, int32_t *labels)
{
    uint32_t s = 2463534242u ^ (set * 2654435761u);
    for (int64_t i = 0; i < n; i++) {
        int32_t label = (int32_t)((i * 7 + set) % GOLDEN_CLASSES);
        labels[i] = label;
        for (int32_t k = 0; k < GOLDEN_SAMPLE; k++) {
            int32_t bright = (k / (GOLDEN_H * GOLDEN_W) == label % GOLDEN_C) ? 1024 : 0;
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            /* 12-bit value in [-4096, 4096) / 4096: exact in a float */
            images[i * GOLDEN_SAMPLE + k] =
                (float)((int32_t)(s >> 20) - 2048 + bright + (label == 3) * 512) / 4096.0f;
        }
    }
}

ec2t_status
golden_flat_params(ec2t_context *ctx, ec2t_net *net, ec2t_tensor **out)
{
    int64_t total = 0;
    ec2t_tensor *flat = NULL, *t;
    float *dst;
    ec2t_status st;
    *out = NULL;
    for (int32_t i = 0; i < ec2t_net_param_count(net); i++) {
        CHECK(ec2t_net_param(net, i, NULL, &t, NULL));
        total += ec2t_tensor_numel(t);
    }
    CHECK(ec2t_tensor_new(ctx, 1, &total, &flat));
    dst = ec2t_tensor_data(flat);
    for (int32_t i = 0; i < ec2t_net_param_count(net); i++) {
        int64_t n;
        CHECK(ec2t_net_param(net, i, NULL, &t, NULL));
        n = ec2t_tensor_numel(t);
        CHECK(ec2t_tensor_read(t, dst, (size_t)n, NULL));
        dst += n;
    }
    *out = flat;
    return EC2T_OK;
fail:
    ec2t_tensor_free(flat);
    return st;
}

int
golden_stop_after_first_epoch(void *user, const ec2t_ternarizer *tz, int32_t phase, int32_t epoch,
                              double val_accuracy)
{
    (void)user, (void)tz, (void)val_accuracy;
    return phase == 1 && epoch == 1;
}

ec2t_status
golden_datasets(ec2t_context *ctx, ec2t_dataset **train, ec2t_dataset **val)
{
    float images[GOLDEN_TRAIN * GOLDEN_SAMPLE];
    int32_t labels[GOLDEN_TRAIN];
    ec2t_status st;
    *train = *val = NULL;
    golden_data(GOLDEN_SET_TRAIN, GOLDEN_TRAIN, images, labels);
    CHECK(ec2t_dataset_from_arrays(ctx, images, labels, GOLDEN_TRAIN, GOLDEN_C, GOLDEN_H,
                                   GOLDEN_W, GOLDEN_CLASSES, 0, train));
    golden_data(GOLDEN_SET_VAL, GOLDEN_BATCH, images, labels);
    CHECK(ec2t_dataset_from_arrays(ctx, images, labels, GOLDEN_BATCH, GOLDEN_C, GOLDEN_H,
                                   GOLDEN_W, GOLDEN_CLASSES, 0, val));
    return EC2T_OK;
fail:
    ec2t_dataset_free(*train);
    *train = NULL;
    return st;
}
