/* SPDX-License-Identifier: MIT */
/* Mean loss and accuracy of a network over a dataset. */
#include "net-private.h"

EC2T_API ec2t_status
ec2t_net_evaluate(ec2t_net *net, ec2t_dataset *data, int64_t batch_size, uint32_t flags,
                  double *loss, double *accuracy)
{
    ec2t_net_mode mode;
    float *images = NULL;
    int32_t *labels = NULL;
    int64_t n, correct = 0;
    double total = 0;
    int32_t c, h, w;
    ec2t_status st;

    if (!net)
        return EC2T_E_INVAL;
    if (!data || batch_size < 1 || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_evaluate: bad argument");
    if (net->loss_layer < 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_evaluate: the network has no loss layer");
    if ((st = ec2t_dataset_shape(data, &c, &h, &w)) != EC2T_OK)
        return st;
    if (c != net->layers[0]->c || h != net->layers[0]->h || w != net->layers[0]->w)
        return ec2t__error(net->ctx, EC2T_E_INVAL,
                           "ec2t_net_evaluate: data is %dx%dx%d, the network takes %dx%dx%d",
                           (int)c, (int)h, (int)w, (int)net->layers[0]->c, (int)net->layers[0]->h,
                           (int)net->layers[0]->w);
    n = ec2t_dataset_size(data);
    if (batch_size > n)
        batch_size = n;
    images = ec2t__alloc(net->ctx, ec2t__mul_size((size_t)batch_size * c * h, (size_t)w * 4), 64);
    labels = ec2t__calloc(net->ctx, (size_t)batch_size, sizeof *labels);
    if (!images || !labels) {
        ec2t__free(net->ctx, images);
        ec2t__free(net->ctx, labels);
        return ec2t__nomem(net->ctx, "evaluation batch");
    }
    mode = net->mode;
    net->mode = EC2T_MODE_EVAL;
    for (int64_t start = 0; start < n; start += batch_size) {
        int64_t count = n - start < batch_size ? n - start : batch_size;
        float batch_loss;
        int64_t batch_correct;
        st = ec2t_dataset_get_batch(data, start, count, images, (size_t)batch_size * c * h * w,
                                    labels, (size_t)batch_size, 0);
        if (st == EC2T_OK)
            st = ec2t_net_forward_loss(net, images, (size_t)count * c * h * w, labels, (size_t)count,
                                       count, 0, &batch_loss, &batch_correct);
        if (st != EC2T_OK)
            break;
        total += (double)batch_loss * (double)count;
        correct += batch_correct;
    }
    net->mode = mode;
    net->loss_ready = 0;
    ec2t__free(net->ctx, images);
    ec2t__free(net->ctx, labels);
    if (st != EC2T_OK)
        return st;
    if (loss)
        *loss = total / (double)n;
    if (accuracy)
        *accuracy = (double)correct / (double)n;
    return EC2T_OK;
}
