/* SPDX-License-Identifier: MIT */
/* Fully connected layer on (features, N) activations: Y = W X (+ b). */
#include <cblas.h>

#include "net-private.h"

static void
dense_forward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    int n = (int)net->batch, fout = l->c, fin = in->c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, fout, n, fin, 1.0f,
                l->param[EC2T_PARAM_WEIGHT]->data, fin, in->out, n, 0.0f, l->out, n);
    if (l->param[EC2T_PARAM_BIAS]) {
        const float *b = l->param[EC2T_PARAM_BIAS]->data;
        for (int o = 0; o < fout; o++)
            for (int i = 0; i < n; i++)
                l->out[(int64_t)o * n + i] += b[o];
    }
}

static void
dense_backward(ec2t_net *net, ec2t_layer *l)
{
    const ec2t_layer *in = ec2t__input(net, l, 0);
    float *dx = ec2t__input_grad(net, l, 0);
    int n = (int)net->batch, fout = l->c, fin = in->c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, fout, fin, n, 1.0f, l->dout, n, in->out, n,
                0.0f, l->grad[EC2T_PARAM_WEIGHT]->data, fin);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fin, n, fout, 1.0f,
                    l->param[EC2T_PARAM_WEIGHT]->data, fin, l->dout, n, 1.0f, dx, n);
    if (l->grad[EC2T_PARAM_BIAS]) {
        float *db = l->grad[EC2T_PARAM_BIAS]->data;
        for (int o = 0; o < fout; o++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += l->dout[(int64_t)o * n + i];
            db[o] = (float)s;
        }
    }
}

const ec2t__layer_ops ec2t__ops_dense = {
    .name = "dense",
    .forward = dense_forward,
    .backward = dense_backward,
};
