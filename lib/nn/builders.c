/* SPDX-License-Identifier: MIT */
/* Builders of the networks the EC2T work uses, with PyTorch state_dict
 * names: the ResNet's are those of akamaster's CIFAR ResNet, the EC2T-block
 * network's those of the authors' MicroNet (d-becking/efficientCNNs,
 * model/model.py), whose layers it repeats, so that their weights load by
 * name (tests/data/micronet holds the list test-net.c checks). */
#include <stdio.h>
#include <string.h>

#include "net-private.h"

#define MAX_STAGES EC2T__MAX_STAGES

/* Each step of a builder: stop at the first failure, keep the status. */
#define TRY(expr)                   \
    do {                            \
        if (st == EC2T_OK)          \
            st = (expr);            \
    } while (0)

static ec2t_status
named(ec2t_status st, ec2t_layer *l, const char *name)
{
    return st == EC2T_OK ? ec2t_layer_set_name(l, name) : st;
}

static ec2t_status
finish(ec2t_net *net, ec2t_status st, ec2t_net **out)
{
    if (st != EC2T_OK) {
        ec2t_net_free(net);
        return st;
    }
    *out = net;
    return EC2T_OK;
}

static void
remember(ec2t_net *net, int32_t family, int32_t n_stages, const int32_t *blocks,
         const int32_t *widths, float dropout, int32_t classes)
{
    ec2t__arch *a = &net->arch;
    memset(a, 0, sizeof *a);
    a->family = family;
    a->n_stages = n_stages;
    for (int32_t s = 0; s < n_stages; s++) {
        a->blocks[s] = blocks[s];
        a->widths[s] = widths[s];
    }
    a->dropout = dropout;
    a->classes = classes;
}

EC2T_API ec2t_status
ec2t_net_build_lenet5(ec2t_context *ctx, int32_t c, int32_t h, int32_t w, int32_t classes,
                      uint32_t flags, ec2t_net **out)
{
    ec2t_net *net = NULL;
    ec2t_layer *x = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || flags != 0 || classes < 1 || h < 12 || w < 12)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "ec2t_net_build_lenet5: bad argument (input %dx%d must be at least 12x12)",
                           (int)h, (int)w);
    st = ec2t_net_new(ctx, c, h, w, &net);
    if (st != EC2T_OK)
        return st;
    x = ec2t_net_input(net);
    TRY(ec2t_net_add_conv2d(net, x, 6, 5, 5, 1, 2, 1, EC2T_ADD_BIAS, &x));
    st = named(st, x, "conv1");
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    TRY(ec2t_net_add_maxpool(net, x, 2, 2, 0, 0, &x));
    TRY(ec2t_net_add_conv2d(net, x, 16, 5, 5, 1, 0, 1, EC2T_ADD_BIAS, &x));
    st = named(st, x, "conv2");
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    TRY(ec2t_net_add_maxpool(net, x, 2, 2, 0, 0, &x));
    TRY(ec2t_net_add_flatten(net, x, 0, &x));
    TRY(ec2t_net_add_dense(net, x, 120, EC2T_ADD_BIAS, &x));
    st = named(st, x, "fc1");
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    TRY(ec2t_net_add_dense(net, x, 84, EC2T_ADD_BIAS, &x));
    st = named(st, x, "fc2");
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    TRY(ec2t_net_add_dense(net, x, classes, EC2T_ADD_BIAS, &x));
    st = named(st, x, "fc3");
    TRY(ec2t_net_add_softmax_xent(net, x, 0, NULL));
    if (st == EC2T_OK)
        remember(net, EC2T__ARCH_LENET5, 0, NULL, NULL, 0, classes);
    return finish(net, st, out);
}

static ec2t_status
check_stages(ec2t_context *ctx, const char *fn, int32_t n_stages, const int32_t *blocks,
             const int32_t *widths, int32_t classes, uint32_t flags, ec2t_net **out)
{
    if (!out || !blocks || !widths || flags != 0 || classes < 1 || n_stages < 1 ||
        n_stages > MAX_STAGES)
        return ec2t__error(ctx, EC2T_E_INVAL, "%s: bad argument", fn);
    for (int32_t s = 0; s < n_stages; s++)
        if (blocks[s] < 1 || blocks[s] > 1000 || widths[s] < 1 || widths[s] > 4096)
            return ec2t__error(ctx, EC2T_E_INVAL, "%s: stage %d has %d blocks of width %d", fn,
                               (int)s + 1, (int)blocks[s], (int)widths[s]);
    return EC2T_OK;
}

/* conv 3x3 (no bias) then batchnorm, named <prefix>convK / <prefix>bnK. */
static ec2t_status
conv_bn(ec2t_net *net, ec2t_layer **x, int32_t width, int32_t stride, const char *prefix, int k)
{
    char name[EC2T__NAME_MAX];
    ec2t_status st = ec2t_net_add_conv2d(net, *x, width, 3, 3, stride, 1, 1, 0, x);
    snprintf(name, sizeof name, "%sconv%d", prefix, k);
    TRY(ec2t_layer_set_name(*x, name));
    TRY(ec2t_net_add_batchnorm(net, *x, 0, x));
    snprintf(name, sizeof name, "%sbn%d", prefix, k);
    TRY(ec2t_layer_set_name(*x, name));
    return st;
}

EC2T_API ec2t_status
ec2t_net_build_resnet(ec2t_context *ctx, int32_t n_stages, const int32_t *blocks,
                      const int32_t *widths, int32_t c, int32_t h, int32_t w, int32_t classes,
                      uint32_t flags, ec2t_net **out)
{
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    st = check_stages(ctx, "ec2t_net_build_resnet", n_stages, blocks, widths, classes, flags, out);
    if (st == EC2T_OK)
        st = ec2t_net_new(ctx, c, h, w, &net);
    if (st != EC2T_OK)
        return st;
    x = ec2t_net_input(net);
    TRY(conv_bn(net, &x, widths[0], 1, "", 1));
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    for (int32_t s = 0; s < n_stages; s++) {
        for (int32_t b = 0; b < blocks[s]; b++) {
            char prefix[32];
            ec2t_layer *shortcut = x;
            snprintf(prefix, sizeof prefix, "layer%d.%d.", (int)s + 1, (int)b);
            TRY(conv_bn(net, &x, widths[s], s > 0 && b == 0 ? 2 : 1, prefix, 1));
            TRY(ec2t_net_add_relu(net, x, 0, &x));
            TRY(conv_bn(net, &x, widths[s], 1, prefix, 2));
            TRY(ec2t_net_add_residual(net, x, shortcut, EC2T_ADD_OPTION_A, &x));
            TRY(ec2t_net_add_relu(net, x, 0, &x));
        }
    }
    TRY(ec2t_net_add_global_avgpool(net, x, 0, &x));
    TRY(ec2t_net_add_dense(net, x, classes, EC2T_ADD_BIAS, &x));
    st = named(st, x, "linear");
    TRY(ec2t_net_add_softmax_xent(net, x, 0, NULL));
    if (st == EC2T_OK)
        remember(net, EC2T__ARCH_RESNET, n_stages, blocks, widths, 0, classes);
    return finish(net, st, out);
}

static ec2t_status
set_name2(ec2t_status st, ec2t_layer *l, const char *prefix, const char *leaf)
{
    char name[EC2T__NAME_MAX];
    if (st != EC2T_OK)
        return st;
    snprintf(name, sizeof name, "%s%s", prefix, leaf);
    return ec2t_layer_set_name(l, name);
}

/* A 3x3 conv without bias, named <prefix>convK. */
static ec2t_status
conv3x3(ec2t_net *net, ec2t_layer **x, int32_t width, int32_t stride, const char *prefix, int k)
{
    char leaf[16];
    ec2t_status st = ec2t_net_add_conv2d(net, *x, width, 3, 3, stride, 1, 1, 0, x);
    snprintf(leaf, sizeof leaf, "conv%d", k);
    return set_name2(st, *x, prefix, leaf);
}

static ec2t_status
batchnorm(ec2t_net *net, ec2t_layer **x, const char *prefix, const char *leaf)
{
    ec2t_status st = ec2t_net_add_batchnorm(net, *x, 0, x);
    return set_name2(st, *x, prefix, leaf);
}

/* The reference's BasicBlock (model/model.py of d-becking/efficientCNNs):
 * bn1, conv1, bn2, ReLU, dropout, conv2, bn3, plus the shortcut of the
 * block's input (nn.Sequential(conv 1x1, BN): shortcut.0, shortcut.1); no
 * activation after the sum. */
static ec2t_status
ec2t_block(ec2t_net *net, ec2t_layer **x, int32_t width, int32_t stride, float dropout,
           const char *prefix)
{
    ec2t_layer *in = *x, *shortcut = *x, *y = *x;
    ec2t_status st = batchnorm(net, &y, prefix, "bn1");
    TRY(conv3x3(net, &y, width, stride, prefix, 1));
    TRY(batchnorm(net, &y, prefix, "bn2"));
    TRY(ec2t_net_add_relu(net, y, 0, &y));
    if (dropout > 0)
        TRY(ec2t_net_add_dropout(net, y, dropout, 0, &y));
    TRY(conv3x3(net, &y, width, 1, prefix, 2));
    TRY(batchnorm(net, &y, prefix, "bn3"));
    if (st == EC2T_OK && (stride != 1 || in->c != width)) {
        TRY(ec2t_net_add_conv2d(net, in, width, 1, 1, stride, 0, 1, 0, &shortcut));
        st = set_name2(st, shortcut, prefix, "shortcut.0");
        TRY(batchnorm(net, &shortcut, prefix, "shortcut.1"));
    }
    TRY(ec2t_net_add_residual(net, y, shortcut, 0, x));
    return st;
}

EC2T_API ec2t_status
ec2t_net_build_ec2t_blocks(ec2t_context *ctx, int32_t n_stages, const int32_t *blocks,
                           const int32_t *widths, float dropout, int32_t c, int32_t h, int32_t w,
                           int32_t classes, uint32_t flags, ec2t_net **out)
{
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    st = check_stages(ctx, "ec2t_net_build_ec2t_blocks", n_stages, blocks, widths, classes, flags,
                      out);
    if (st == EC2T_OK && !(dropout >= 0 && dropout < 1))
        st = ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_build_ec2t_blocks: dropout %g", (double)dropout);
    if (st == EC2T_OK)
        st = ec2t_net_new(ctx, c, h, w, &net);
    if (st != EC2T_OK)
        return st;
    x = ec2t_net_input(net);
    TRY(conv_bn(net, &x, widths[0], 1, "", 1));
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    for (int32_t s = 0; s < n_stages; s++) {
        for (int32_t b = 0; b < blocks[s]; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d.", (int)s + 1, (int)b);
            TRY(ec2t_block(net, &x, widths[s], s > 0 && b == 0 ? 2 : 1, dropout, prefix));
        }
    }
    /* the blocks end without an activation: the reference rectifies once before pooling */
    TRY(ec2t_net_add_relu(net, x, 0, &x));
    TRY(ec2t_net_add_global_avgpool(net, x, 0, &x));
    TRY(ec2t_net_add_dense(net, x, classes, EC2T_ADD_BIAS, &x));
    st = named(st, x, "linear");
    TRY(ec2t_net_add_softmax_xent(net, x, 0, NULL));
    if (st == EC2T_OK)
        remember(net, EC2T__ARCH_EC2T_BLOCKS, n_stages, blocks, widths, dropout, classes);
    return finish(net, st, out);
}
