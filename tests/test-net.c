/* SPDX-License-Identifier: MIT */
/* ec2t_net and ec2t_layer: building, names, tensors, settings, modes,
 * builders, clone, and every bad argument. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net-private.h"
#include "test-common.h"

static ec2t_net *
small_net(ec2t_context *ctx, ec2t_layer **conv, ec2t_layer **fc)
{
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ck_assert_ok(ec2t_net_new(ctx, 2, 6, 6, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 4, 3, 3, 1, 1, 1, EC2T_ADD_BIAS, conv));
    ck_assert_ok(ec2t_net_add_batchnorm(net, *conv, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, fc));
    ck_assert_ok(ec2t_net_add_softmax_xent(net, *fc, 0, NULL));
    return net;
}

START_TEST(test_net_build_and_query)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc, *l;
    ec2t_net *net = small_net(ctx, &conv, &fc);
    ec2t_tensor *w, *g;
    const char *name;
    int32_t c, h, wd;
    int64_t v;
    ck_assert_int_eq(ec2t_net_layer_count(net), 7);
    ck_assert_int_eq(ec2t_layer_id(conv), 1);
    ck_assert_str_eq(ec2t_layer_name(conv), "layers.1");
    ck_assert_int_eq(ec2t_layer_get_kind(conv), EC2T_LAYER_CONV2D);
    ck_assert_int_eq(ec2t_layer_get_kind(ec2t_net_input(net)), EC2T_LAYER_INPUT);
    ck_assert_ok(ec2t_layer_output_shape(conv, &c, &h, &wd));
    ck_assert_int_eq(c, 4);
    ck_assert_int_eq(h, 6);
    ck_assert_ok(ec2t_net_output_shape(net, &c, &h, &wd));
    ck_assert_int_eq(c, 3);
    ck_assert_int_eq(h, 1);
    ck_assert_ok(ec2t_net_input_shape(net, &c, &h, &wd));
    ck_assert_int_eq(c, 2);
    ck_assert_int_eq(wd, 6);
    /* tensors: conv w+b, bn w+b+mean+var, dense w+b */
    ck_assert_int_eq(ec2t_net_param_count(net), 8);
    ck_assert_int_eq(ec2t_net_trainable_count(net), 4 * 2 * 9 + 4 + 4 + 4 + 3 * 4 + 3);
    ck_assert_int_eq(ec2t_net_macs(net), 4 * 2 * 9 * 36 + 3 * 4);
    ck_assert_ok(ec2t_net_param(net, 0, &name, &w, &g));
    ck_assert_str_eq(name, "layers.1.weight");
    ck_assert_int_eq(ec2t_tensor_rank(w), 4);
    ck_assert_ptr_nonnull(g);
    ck_assert_ok(ec2t_net_param(net, 4, &name, &w, &g));
    ck_assert_str_eq(name, "layers.2.running_mean");
    ck_assert_ptr_null(g);
    /* renaming renames the tensors */
    ck_assert_ok(ec2t_layer_set_name(conv, "stem.conv"));
    ck_assert_ok(ec2t_net_find_param(net, "stem.conv.bias", &w, &g));
    ck_assert_int_eq(ec2t_tensor_numel(w), 4);
    ck_assert_ok(ec2t_net_find_layer(net, "stem.conv", &l));
    ck_assert_ptr_eq(l, conv);
    ck_assert_status(ec2t_net_find_param(net, "layers.1.weight", &w, &g), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_name(fc, "stem.conv"), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_name(fc, "bad name"), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_name(fc, ""), EC2T_E_INVAL);
    /* borrowed tensors survive ec2t_tensor_free and refuse reshape */
    ec2t_tensor_free(w);
    ck_assert_int_eq(ec2t_tensor_numel(w), 4);
    ck_assert_status(ec2t_tensor_reshape(w, 1, (int64_t[]){4}), EC2T_E_STATE);
    /* geometry */
    ck_assert_ok(ec2t_layer_get_int(conv, EC2T_LAYER_KERNEL_H, &v));
    ck_assert_int_eq(v, 3);
    ck_assert_ok(ec2t_layer_get_int(conv, EC2T_LAYER_HAS_BIAS, &v));
    ck_assert_int_eq(v, 1);
    ck_assert_ok(ec2t_layer_get_int(fc, EC2T_LAYER_IN_CHANNELS, &v));
    ck_assert_int_eq(v, 4);
    ck_assert_status(ec2t_layer_get_int(fc, EC2T_LAYER_KERNEL_H, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_int(conv, EC2T_LAYER_KERNEL_H, 5), EC2T_E_STATE);
    ck_assert_ok(ec2t_layer_set_int(conv, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_PRUNE));
    ck_assert_ok(ec2t_layer_get_int(conv, EC2T_LAYER_COMPRESSION, &v));
    ck_assert_int_eq(v, EC2T_COMPRESS_PRUNE);
    ck_assert_status(ec2t_layer_set_int(conv, EC2T_LAYER_COMPRESSION, 9), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_int(ec2t_net_input(net), EC2T_LAYER_COMPRESSION,
                                        EC2T_COMPRESS_TERNARIZE),
                     EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_layer_input_count(fc), 1);
    ck_assert_ok(ec2t_layer_input(fc, 0, &l));
    ck_assert_int_eq(ec2t_layer_get_kind(l), EC2T_LAYER_GLOBAL_AVGPOOL);
    ck_assert_status(ec2t_layer_input(fc, 1, &l), EC2T_E_INVAL);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_net_layer_settings)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_layer *bn, *dr, *relu;
    double v;
    ck_assert_ok(ec2t_net_new(ctx, 3, 4, 4, &net));
    ck_assert_ok(ec2t_net_add_batchnorm(net, ec2t_net_input(net), 0, &bn));
    ck_assert_ok(ec2t_net_add_dropout(net, bn, 0.25f, 0, &dr));
    ck_assert_ok(ec2t_net_add_relu(net, dr, 0, &relu));
    ck_assert_ok(ec2t_layer_get_double(bn, EC2T_LAYER_BN_EPS, &v));
    ck_assert_double_eq(v, 1e-5);
    ck_assert_ok(ec2t_layer_set_double(bn, EC2T_LAYER_BN_MOMENTUM, 0.01));
    ck_assert_ok(ec2t_layer_get_double(bn, EC2T_LAYER_BN_MOMENTUM, &v));
    ck_assert_double_eq(v, 0.01);
    ck_assert_status(ec2t_layer_set_double(bn, EC2T_LAYER_BN_EPS, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_double(bn, EC2T_LAYER_BN_MOMENTUM, 1.5), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_double(bn, EC2T_LAYER_DROPOUT_P, 0.5), EC2T_E_INVAL);
    ck_assert_ok(ec2t_layer_get_double(dr, EC2T_LAYER_DROPOUT_P, &v));
    ck_assert_double_eq_tol(v, 0.25, 1e-7);
    ck_assert_status(ec2t_layer_set_double(dr, EC2T_LAYER_DROPOUT_P, 1.0), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_double(relu, EC2T_LAYER_BN_EPS, 0.1), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_double(relu, (ec2t_layer_setting)9999, 0.1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_layer_get_double(relu, (ec2t_layer_setting)9999, &v), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_layer_set_int(relu, (ec2t_layer_setting)9999, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_layer_get_int(relu, (ec2t_layer_setting)9999, &(int64_t){0}),
                     EC2T_E_UNSUPPORTED);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_net_add_rejects)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net, *other;
    ec2t_layer *in, *l = NULL, *conv, *flat, *fc;
    ck_assert_ok(ec2t_net_new(ctx, 2, 8, 8, &net));
    ck_assert_ok(ec2t_net_new(ctx, 2, 8, 8, &other));
    in = ec2t_net_input(net);
    /* shapes and geometry */
    ck_assert_status(ec2t_net_add_dense(net, in, 4, 0, &l), EC2T_E_INVAL); /* not flat */
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "flatten"));
    ck_assert_status(ec2t_net_add_conv2d(net, in, 4, 9, 9, 1, 0, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(net, in, 3, 3, 3, 1, 1, 2, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(net, in, 0, 3, 3, 1, 1, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(net, in, 4, 3, 3, 0, 1, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(net, in, 4, 3, 3, 1, -1, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(net, in, 4, 3, 3, 1, 1, 1, 0x80, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_maxpool(net, in, 2, 2, 2, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_avgpool(net, in, 9, 1, 0, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_dropout(net, in, 1.0f, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_dropout(net, in, NAN, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_relu(net, ec2t_net_input(other), 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_relu(net, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_relu(NULL, in, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_relu(net, in, 1, &l), EC2T_E_INVAL);
    ck_assert_ptr_null(l);
    ck_assert_int_eq(ec2t_net_layer_count(net), 1); /* nothing was added */
    ck_assert_ok(ec2t_net_add_conv2d(net, in, 4, 3, 3, 2, 1, 1, 0, &conv));
    ck_assert_status(ec2t_net_add_residual(net, conv, in, 0, &l), EC2T_E_INVAL);
    ck_assert_ok(ec2t_net_add_residual(net, conv, in, EC2T_ADD_OPTION_A, &l));
    ck_assert_status(ec2t_net_add_residual(net, in, conv, EC2T_ADD_OPTION_A, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_softmax_xent(net, conv, 0, &l), EC2T_E_INVAL); /* not flat */
    ck_assert_ok(ec2t_net_add_flatten(net, conv, 0, &flat));
    ck_assert_ok(ec2t_net_add_dense(net, flat, 5, 0, &fc));
    ck_assert_status(ec2t_net_add_softmax_xent(net, flat, 0, &l), EC2T_E_INVAL); /* not last */
    ck_assert_ok(ec2t_net_add_softmax_xent(net, fc, 0, &l));
    ck_assert_status(ec2t_net_add_relu(net, fc, 0, &l), EC2T_E_INVAL); /* after the loss */
    ck_assert_status(ec2t_net_add_softmax_xent(net, fc, 0, &l), EC2T_E_INVAL);
    {
        ec2t_net *none = net;
        ck_assert_status(ec2t_net_new(ctx, 0, 8, 8, &none), EC2T_E_INVAL);
        ck_assert_ptr_null(none);
    }
    ec2t_net_free(net);
    ec2t_net_free(NULL);
    ec2t_net_free(other);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_net_null_handles)
{
    ec2t_layer *l = NULL;
    ec2t_tensor *t = NULL;
    int32_t i32;
    int64_t i64;
    double d;
    float f;
    ck_assert_status(ec2t_net_new(NULL, 1, 1, 1, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_clone(NULL, NULL), EC2T_E_INVAL);
    ck_assert_ptr_null(ec2t_net_input(NULL));
    ck_assert_int_eq(ec2t_net_layer_count(NULL), 0);
    ck_assert_status(ec2t_net_layer(NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_find_layer(NULL, "x", &l), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_net_param_count(NULL), 0);
    ck_assert_status(ec2t_net_param(NULL, 0, NULL, &t, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_find_param(NULL, "x", &t, NULL), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_net_trainable_count(NULL), 0);
    ck_assert_int_eq(ec2t_net_macs(NULL), 0);
    ck_assert_status(ec2t_net_output_shape(NULL, &i32, &i32, &i32), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_input_shape(NULL, &i32, &i32, &i32), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_set_mode(NULL, EC2T_MODE_TRAIN), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_net_get_mode(NULL), EC2T_MODE_EVAL);
    ck_assert_status(ec2t_net_init(NULL, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward(NULL, &f, 1, 1, &f, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward_loss(NULL, &f, 1, &i32, 1, 1, 0, &f, &i64), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_backward(NULL, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_evaluate(NULL, NULL, 1, 0, &d, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_dense(NULL, NULL, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_conv2d(NULL, NULL, 1, 1, 1, 1, 0, 1, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_batchnorm(NULL, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_maxpool(NULL, NULL, 2, 2, 0, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_avgpool(NULL, NULL, 2, 2, 0, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_global_avgpool(NULL, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_flatten(NULL, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_dropout(NULL, NULL, 0.1f, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_residual(NULL, NULL, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_add_softmax_xent(NULL, NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_layer_get_kind(NULL), EC2T_LAYER_INPUT);
    ck_assert_int_eq(ec2t_layer_id(NULL), -1);
    ck_assert_str_eq(ec2t_layer_name(NULL), "");
    ck_assert_status(ec2t_layer_set_name(NULL, "x"), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_output_shape(NULL, &i32, &i32, &i32), EC2T_E_INVAL);
    ck_assert_int_eq(ec2t_layer_input_count(NULL), 0);
    ck_assert_status(ec2t_layer_input(NULL, 0, &l), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_param(NULL, EC2T_PARAM_WEIGHT, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_grad(NULL, EC2T_PARAM_WEIGHT, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_int(NULL, EC2T_LAYER_COMPRESSION, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_get_int(NULL, EC2T_LAYER_COMPRESSION, &i64), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_set_double(NULL, EC2T_LAYER_BN_EPS, 0.1), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_get_double(NULL, EC2T_LAYER_BN_EPS, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_lenet5(NULL, 1, 28, 28, 10, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_resnet(NULL, 3, NULL, NULL, 1, 28, 28, 10, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_ec2t_blocks(NULL, 3, NULL, NULL, 0, 1, 28, 28, 10, 0, NULL),
                     EC2T_E_INVAL);
}
END_TEST

START_TEST(test_net_layer_tensor_access)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc, *relu;
    ec2t_net *net = small_net(ctx, &conv, &fc);
    ec2t_tensor *t;
    ck_assert_ok(ec2t_layer_param(conv, EC2T_PARAM_WEIGHT, &t));
    ck_assert_int_eq(ec2t_tensor_dim(t, 0), 4);
    ck_assert_int_eq(ec2t_tensor_dim(t, 1), 2);
    ck_assert_ok(ec2t_layer_grad(fc, EC2T_PARAM_BIAS, &t));
    ck_assert_int_eq(ec2t_tensor_numel(t), 3);
    ck_assert_status(ec2t_layer_param(conv, EC2T_PARAM_RUNNING_MEAN, &t), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_layer_grad(conv, EC2T_PARAM_RUNNING_MEAN, &t), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_layer_param(conv, (ec2t_param_role)9, &t), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_param(conv, EC2T_PARAM_WEIGHT, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_net_layer(net, 3, &relu));
    ck_assert_status(ec2t_layer_param(relu, EC2T_PARAM_WEIGHT, &t), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_net_layer(net, 7, &relu), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_layer(net, -1, &relu), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_param(net, 8, NULL, &t, NULL), EC2T_E_INVAL);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
}
END_TEST

START_TEST(test_net_forward_modes_and_errors)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc;
    ec2t_net *net = small_net(ctx, &conv, &fc);
    float x[4 * 2 * 36], y[12], y2[12], loss;
    int32_t labels[4] = {0, 1, 2, 1}, bad[4] = {0, 1, 3, 1};
    int64_t correct;
    for (int i = 0; i < 4 * 72; i++)
        x[i] = sinf((float)i);
    ck_assert_int_eq(ec2t_net_get_mode(net), EC2T_MODE_EVAL);
    ck_assert_status(ec2t_net_backward(net, 0), EC2T_E_STATE);
    ck_assert_ok(ec2t_net_forward(net, x, 4 * 72, 4, y, 12, 0));
    ck_assert_status(ec2t_net_forward(net, x, 4 * 72, 4, y2, 11, 0), EC2T_E_RANGE);
    ck_assert_status(ec2t_net_forward(net, x, 0, 0, y2, 12, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward(net, NULL, 4 * 72, 4, y2, 12, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward(net, x, 4 * 72, 4, y2, 12, 1), EC2T_E_INVAL);
    /* eval mode: a sample's output does not depend on the rest of the batch */
    ck_assert_ok(ec2t_net_forward(net, x + 72, 72, 1, y2, 3, 0));
    for (int k = 0; k < 3; k++)
        ck_assert_float_eq_tol(y2[k], y[3 + k], 1e-5f);
    ck_assert_ok(ec2t_net_forward_loss(net, x, 4 * 72, labels, 4, 4, 0, &loss, &correct));
    ck_assert(isfinite(loss) && loss > 0);
    ck_assert_int_le(correct, 4);
    ck_assert_ok(ec2t_net_backward(net, 0));
    ck_assert_status(ec2t_net_backward(net, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward_loss(net, x, 4 * 72, bad, 4, 4, 0, &loss, &correct), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "label 3"));
    ck_assert_status(ec2t_net_forward_loss(net, x, 4 * 72, NULL, 4, 4, 0, &loss, &correct), EC2T_E_INVAL);
    /* a plain forward pass invalidates the loss */
    ck_assert_ok(ec2t_net_forward(net, x, 4 * 72, 4, y, 12, 0));
    ck_assert_status(ec2t_net_backward(net, 0), EC2T_E_STATE);
    /* train mode: batch statistics, so outputs differ from eval */
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_TRAIN));
    ck_assert_int_eq(ec2t_net_get_mode(net), EC2T_MODE_TRAIN);
    ck_assert_ok(ec2t_net_forward(net, x, 4 * 72, 4, y2, 12, 0));
    ck_assert(fabsf(y2[0] - y[0]) > 1e-6f || fabsf(y2[1] - y[1]) > 1e-6f);
    ck_assert_status(ec2t_net_set_mode(net, (ec2t_net_mode)5), EC2T_E_INVAL);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ec2t_net_forward and ec2t_net_forward_loss check their counts before
 * reading: a buffer allocated with exactly the short size (AddressSanitizer
 * saw nchw_to_cnhw read past it before the count was passed) is refused with
 * both shapes named, as are too many floats and a label count that is not
 * the batch; nothing is written to the output. */
START_TEST(test_net_forward_refuses_a_wrong_input_count)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc;
    ec2t_net *net = small_net(ctx, &conv, &fc);
    float *short_x = malloc(100 * sizeof(float)), x[4 * 72], y[12], loss;
    int32_t labels[4] = {0, 1, 2, 1};
    ck_assert_ptr_nonnull(short_x);
    for (int i = 0; i < 100; i++)
        short_x[i] = 0.25f;
    for (int i = 0; i < 4 * 72; i++)
        x[i] = sinf((float)i);
    for (int i = 0; i < 12; i++)
        y[i] = -7.0f;
    ck_assert_status(ec2t_net_forward(net, short_x, 100, 2, y, 12, 0), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx),
                     "ec2t_net_forward: input holds 100 floats; a batch of 2 of 2x6x6 needs 144");
    ck_assert_status(ec2t_net_forward(net, x, 4 * 72 - 1, 4, y, 12, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_forward(net, x, 4 * 72, 3, y, 12, 0), EC2T_E_INVAL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq(y[i], -7.0f);
    ck_assert_status(ec2t_net_forward_loss(net, short_x, 100, labels, 2, 2, 0, &loss, NULL),
                     EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx),
                     "ec2t_net_forward_loss: input holds 100 floats; a batch of 2 of 2x6x6 needs 144");
    ck_assert_status(ec2t_net_forward_loss(net, x, 4 * 72, labels, 3, 4, 0, &loss, NULL), EC2T_E_INVAL);
    ck_assert_str_eq(ec2t_context_errmsg(ctx),
                     "ec2t_net_forward_loss: labels hold 3 values; a batch of 4 needs 4");
    ck_assert_ok(ec2t_net_forward(net, short_x, 72, 1, y, 12, 0));
    ck_assert_ok(ec2t_net_forward_loss(net, x, 4 * 72, labels, 4, 4, 0, &loss, NULL));
    free(short_x);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_net_batch_capacity_grows_and_shrinks)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc;
    ec2t_net *net = small_net(ctx, &conv, &fc);
    float *x = malloc(64 * 72 * sizeof(float)), *y = malloc(64 * 3 * sizeof(float)), one[3];
    for (int i = 0; i < 64 * 72; i++)
        x[i] = cosf((float)i * 0.37f);
    ck_assert_ok(ec2t_net_forward(net, x, 64 * 72, 64, y, 64 * 3, 0));
    for (int s = 0; s < 64; s += 9) {
        ck_assert_ok(ec2t_net_forward(net, x + s * 72, 72, 1, one, 3, 0));
        for (int k = 0; k < 3; k++)
            ck_assert_float_eq_tol(one[k], y[s * 3 + k], 1e-5f);
    }
    free(x);
    free(y);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_net_clone_and_init)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *conv, *fc;
    ec2t_net *net = small_net(ctx, &conv, &fc), *copy = NULL;
    float x[2 * 72], y1[6], y2[6];
    for (int i = 0; i < 144; i++)
        x[i] = (float)(i % 13) * 0.1f;
    ck_assert_ok(ec2t_layer_set_name(conv, "stem"));
    ck_assert_ok(ec2t_net_clone(net, &copy));
    ck_assert_int_eq(ec2t_net_layer_count(copy), ec2t_net_layer_count(net));
    ck_assert_ok(ec2t_net_find_param(copy, "stem.weight", NULL, NULL));
    ck_assert_ok(ec2t_net_forward(net, x, 144, 2, y1, 6, 0));
    ck_assert_ok(ec2t_net_forward(copy, x, 144, 2, y2, 6, 0));
    ck_assert_int_eq(memcmp(y1, y2, sizeof y1), 0);
    /* the copy is independent */
    ck_assert_ok(ec2t_net_init(copy, 99));
    ck_assert_ok(ec2t_net_forward(copy, x, 144, 2, y2, 6, 0));
    ck_assert_int_ne(memcmp(y1, y2, sizeof y1), 0);
    ck_assert_ok(ec2t_net_forward(net, x, 144, 2, y2, 6, 0));
    ck_assert_int_eq(memcmp(y1, y2, sizeof y1), 0);
    /* init is a function of the seed alone */
    ck_assert_ok(ec2t_net_init(net, 99));
    ck_assert_ok(ec2t_net_forward(net, x, 144, 2, y1, 6, 0));
    ck_assert_ok(ec2t_net_forward(copy, x, 144, 2, y2, 6, 0));
    ck_assert_int_eq(memcmp(y1, y2, sizeof y1), 0);
    ck_assert_status(ec2t_net_clone(net, NULL), EC2T_E_INVAL);
    ec2t_net_free(copy);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_net_builders)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64}, bad[3] = {3, 0, 3};
    ec2t_tensor *t;
    int32_t c, h, w;
    /* LeNet-5 on 28x28: 61,706 parameters (as PyTorch counts them) */
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 28, 28, 10, 0, &net));
    ck_assert_int_eq(ec2t_net_trainable_count(net), 61706);
    ck_assert_ok(ec2t_net_find_param(net, "fc1.weight", &t, NULL));
    ck_assert_int_eq(ec2t_tensor_dim(t, 1), 400);
    ec2t_net_free(net);
    ck_assert_status(ec2t_net_build_lenet5(ctx, 1, 8, 8, 10, 0, &net), EC2T_E_INVAL);
    ck_assert_ptr_null(net);
    /* ResNet-20: 269,722 parameters; names of the PyTorch reference */
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net));
    ck_assert_int_eq(ec2t_net_trainable_count(net), 269722);
    ck_assert_ok(ec2t_net_find_param(net, "layer3.2.conv2.weight", &t, NULL));
    ck_assert_int_eq(ec2t_tensor_numel(t), 64 * 64 * 9);
    ck_assert_ok(ec2t_net_find_param(net, "layer2.0.bn1.running_var", &t, NULL));
    ck_assert_ok(ec2t_net_find_param(net, "linear.bias", &t, NULL));
    ck_assert_ok(ec2t_net_output_shape(net, &c, &h, &w));
    ck_assert_int_eq(c, 10);
    /* 40.55 M MACs for 32x32 inputs (the thesis counts 40.6 M adds, 40.7 M mults) */
    ck_assert_int_eq(ec2t_net_macs(net), 40551040);
    ec2t_net_free(net);
    ck_assert_status(ec2t_net_build_resnet(ctx, 3, bad, widths, 3, 32, 32, 10, 0, &net),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_resnet(ctx, 9, blocks, widths, 3, 32, 32, 10, 0, &net),
                     EC2T_E_INVAL);
    /* the EC2T block network: projection shortcuts where the shape changes */
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.2f, 1, 28, 28, 10, 0, &net));
    ck_assert_ok(ec2t_net_find_param(net, "layer2.0.shortcut.0.weight", &t, NULL));
    ck_assert_int_eq(ec2t_tensor_dim(t, 2), 1);
    ck_assert_ok(ec2t_net_find_param(net, "layer2.0.bn3.weight", &t, NULL));
    ck_assert_status(ec2t_net_find_param(net, "layer2.0.bn0.weight", &t, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_find_param(net, "bn_final.weight", &t, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_find_param(net, "layer1.0.shortcut.0.weight", &t, NULL), EC2T_E_INVAL);
    ec2t_net_free(net);
    ck_assert_status(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 1.0f, 1, 28, 28, 10, 0, &net),
                     EC2T_E_INVAL);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The builder by name gives what the builder it names gives, and refuses
 * every other name with EC2T_E_UNSUPPORTED and a message naming it. */
static int64_t
named_count(ec2t_context *ctx, const char *name, int32_t c, int32_t hw, int32_t classes)
{
    ec2t_net *net = NULL;
    int64_t n;
    ck_assert_ok(ec2t_net_build_named(ctx, name, c, hw, hw, classes, 0, &net));
    n = ec2t_net_trainable_count(net);
    ec2t_net_free(net);
    return n;
}

START_TEST(test_net_build_named)
{
    static const char *const unknown[] = {"resnet21", "resnet2", "resnet", "resnet020", "resnet+20",
                                          "ResNet20", "resnet20 ", "resnet6008",
                                          "resnet99999999999999999999", "", "lenet", "micronet2"};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t seven[3] = {7, 7, 7}, widths[3] = {16, 32, 64};
    ec2t_net *net = NULL, *ref = NULL;
    ck_assert_int_eq(named_count(ctx, "lenet5", 1, 28, 10), 61706);
    ck_assert_int_eq(named_count(ctx, "resnet20", 3, 32, 10), 269722);
    ck_assert_ok(ec2t_net_build_named(ctx, "resnet20", 3, 32, 32, 10, 0, &net));
    ck_assert_int_eq(ec2t_net_macs(net), 40551040);
    ec2t_net_free(net);
    /* ResNet-56: 9 blocks per stage (853,018 + 90 * 65 for 100 classes); ResNet-8: 1 */
    ck_assert_int_eq(named_count(ctx, "resnet56", 3, 32, 100), 858868);
    ck_assert_int_eq(named_count(ctx, "resnet8", 1, 28, 10), 75002);
    ck_assert_ok(ec2t_net_build_named(ctx, "micronet", 3, 32, 32, 100, 0, &net));
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, seven, widths, 0.2f, 3, 32, 32, 100, 0, &ref));
    ck_assert_int_eq(ec2t_net_trainable_count(net), ec2t_net_trainable_count(ref));
    ck_assert_int_eq(ec2t_net_layer_count(net), ec2t_net_layer_count(ref));
    ec2t_net_free(ref);
    ec2t_net_free(net);
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        net = (ec2t_net *)&ta;
        ck_assert_status(ec2t_net_build_named(ctx, unknown[i], 3, 32, 32, 10, 0, &net),
                         EC2T_E_UNSUPPORTED);
        ck_assert_ptr_null(net);
        ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "unknown architecture"));
    }
    /* the named builder's own refusals pass through */
    ck_assert_status(ec2t_net_build_named(ctx, "lenet5", 1, 8, 8, 10, 0, &net), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_named(ctx, "resnet20", 3, 32, 32, 0, 0, &net), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_named(ctx, "resnet20", 3, 32, 32, 10, 1, &net), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_named(ctx, NULL, 3, 32, 32, 10, 0, &net), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_named(ctx, "resnet20", 3, 32, 32, 10, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_net_build_named(NULL, "resnet20", 3, 32, 32, 10, 0, &net), EC2T_E_INVAL);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* One line of tests/data/micronet/state-dict.txt: a name and its dimensions. */
static int
read_entry(FILE *f, char *name, size_t cap, int64_t *dims, int *rank)
{
    char line[512], *p, *end;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        p = line + strcspn(line, " \n");
        ck_assert_uint_lt((size_t)(p - line), cap);
        memcpy(name, line, (size_t)(p - line));
        name[p - line] = '\0';
        for (*rank = 0; *rank < 8; (*rank)++) {
            long long d = strtoll(p, &end, 10);
            if (end == p)
                break;
            dims[*rank] = d;
            p = end;
        }
        return 1;
    }
    return 0;
}

/* The authors' CIFAR-100 MicroNet: every tensor of its PyTorch state_dict
 * (tests/data/micronet, listed from their model/model.py) is a tensor of
 * the builder's network, in the same order and of the same shape, and the
 * network has no other; the activations are theirs too (one ReLU in the
 * stem, one per block, one before the pooling: none after the sums). */
START_TEST(test_net_micronet_names)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[3] = {23, 23, 23}, widths[3] = {32, 64, 120};
    ec2t_net *net = NULL;
    FILE *f = fopen(test_data_path("micronet/state-dict.txt"), "r");
    char name[256];
    int64_t dims[8];
    int rank, relus = 0, dropouts = 0;
    int32_t i = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 3, blocks, widths, 0.2f, 3, 32, 32, 100, 0, &net));
    while (read_entry(f, name, sizeof name, dims, &rank)) {
        const char *ours;
        ec2t_tensor *t;
        if (strstr(name, ".num_batches_tracked"))
            continue; /* ignored by ec2t_net_import_safetensors */
        ck_assert_int_lt(i, ec2t_net_param_count(net));
        ck_assert_ok(ec2t_net_param(net, i++, &ours, &t, NULL));
        ck_assert_str_eq(ours, name);
        ck_assert_int_eq(ec2t_tensor_rank(t), rank);
        for (int d = 0; d < rank; d++)
            ck_assert_int_eq(ec2t_tensor_dim(t, d), dims[d]);
    }
    fclose(f);
    ck_assert_int_eq(i, ec2t_net_param_count(net));
    ck_assert_int_eq(i, 1193 - 210); /* the list's tensors without its 210 counters */
    ck_assert_int_eq(ec2t_net_trainable_count(net), 8055124);
    for (int32_t id = 0; id < ec2t_net_layer_count(net); id++) {
        ec2t_layer *l;
        ck_assert_ok(ec2t_net_layer(net, id, &l));
        relus += ec2t_layer_get_kind(l) == EC2T_LAYER_RELU;
        dropouts += ec2t_layer_get_kind(l) == EC2T_LAYER_DROPOUT;
    }
    ck_assert_int_eq(relus, 1 + 69 + 1);
    ck_assert_int_eq(dropouts, 69);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_add_test(tc, test_net_build_and_query);
    tcase_add_test(tc, test_net_build_named);
    tcase_add_test(tc, test_net_micronet_names);
    tcase_add_test(tc, test_net_layer_settings);
    tcase_add_test(tc, test_net_add_rejects);
    tcase_add_test(tc, test_net_null_handles);
    tcase_add_test(tc, test_net_layer_tensor_access);
    tcase_add_test(tc, test_net_forward_modes_and_errors);
    tcase_add_test(tc, test_net_forward_refuses_a_wrong_input_count);
    tcase_add_test(tc, test_net_batch_capacity_grows_and_shrinks);
    tcase_add_test(tc, test_net_clone_and_init);
    tcase_add_test(tc, test_net_builders);
    suite_add_tcase(s, tc);
    return s;
}
