/* SPDX-License-Identifier: MIT */
/**
 * @file net.h
 * @brief ec2t_net: a network as a directed acyclic graph of layers, with
 *        forward and backward passes, named parameters, builders for the
 *        networks of the EC2T work, and model files.
 *
 * A network is built by adding layers in order: every layer names its
 * input(s) among the layers added before it, so the order of addition is a
 * topological order and residual networks are natural. Layer 0 is the input.
 *
 * Tensors use NCHW order at the API: a batch of images is N x C x H x W
 * floats; outputs of flat layers are N x features.
 */
#ifndef EC2T_NET_H
#define EC2T_NET_H

#include <ec2t/common.h>
#include <ec2t/dataset.h>
#include <ec2t/layer.h>
#include <ec2t/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A network. */
typedef struct ec2t_net ec2t_net;

/** @brief Flag of ec2t_net_add_dense() and ec2t_net_add_conv2d(): the layer has a bias. */
#define EC2T_ADD_BIAS 1u
/** @brief Flag of ec2t_net_add_batchnorm(): no affine gamma/beta (fixed at 1 and 0). */
#define EC2T_ADD_NO_AFFINE 2u
/**
 * @brief Flag of ec2t_net_add_residual(): when the shortcut's shape differs, use
 *        the parameter-free "option A" shortcut (stride subsampling plus
 *        zero-padded channels, split evenly before and after).
 */
#define EC2T_ADD_OPTION_A 4u

/** @brief Network modes. */
typedef enum ec2t_net_mode {
    EC2T_MODE_EVAL = 0,  /**< batchnorm uses running statistics, dropout is the identity */
    EC2T_MODE_TRAIN = 1  /**< batchnorm uses batch statistics and updates the running ones; dropout drops */
} ec2t_net_mode;

/**
 * @brief Create an empty network whose input samples are c x h x w.  CONSTRUCTOR: ec2t_net
 * @param ctx the context.
 * @param c input channels (1 to 4096).
 * @param h input height (1 to 65536).
 * @param w input width (1 to 65536).
 * @param[out] out the new network (in EC2T_MODE_EVAL); NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_new(ec2t_context *ctx, int32_t c, int32_t h, int32_t w,
                                  ec2t_net **out) EC2T_WARN_UNUSED;

/**
 * @brief Free a network and its layers.  DESTRUCTOR: ec2t_net
 * @param net the network, or NULL (a no-op).
 */
EC2T_API void ec2t_net_free(ec2t_net *net);

/**
 * @brief A deep copy: same layers, names, parameters, statistics and mode.  CONSTRUCTOR: ec2t_net
 * @param net the network.
 * @param[out] out the copy; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_clone(const ec2t_net *net, ec2t_net **out) EC2T_WARN_UNUSED;

/**
 * @brief The input layer (id 0).  METHOD: ec2t_net
 * @param net the network.
 * @return the borrowed input layer, or NULL when @p net is NULL.
 */
EC2T_API ec2t_layer *ec2t_net_input(ec2t_net *net);

/**
 * @brief Add a fully connected layer.  METHOD: ec2t_net
 *
 * Its input must be flat (h = w = 1: add a flatten or global pooling layer
 * first). Weights get Kaiming-normal initialisation, biases zero.
 * @param net the network.
 * @param input the input layer.
 * @param out_features 1 to 2^24.
 * @param flags 0 or EC2T_ADD_BIAS.
 * @param[out] layer the new layer (borrowed; may be NULL if not wanted).
 * @return EC2T_OK, EC2T_E_INVAL (bad argument, non-flat input, input of another
 *         network, a layer after the loss) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_dense(ec2t_net *net, ec2t_layer *input, int32_t out_features,
                                        uint32_t flags, ec2t_layer **layer);

/**
 * @brief Add a 2-D convolution (cross-correlation, as in PyTorch).  METHOD: ec2t_net
 *
 * Output size: (in + 2 * pad - kernel) / stride + 1 per axis. Weights get
 * Kaiming-normal initialisation (fan in), biases zero.
 * @param net the network.
 * @param input the input layer.
 * @param out_channels a multiple of @p groups.
 * @param kernel_h kernel height, at least 1.
 * @param kernel_w kernel width, at least 1.
 * @param stride at least 1 (both axes).
 * @param pad zero padding on each side, 0 or more (both axes).
 * @param groups at least 1, dividing both the input and output channels
 *        (groups = input channels is a depthwise convolution).
 * @param flags 0 or EC2T_ADD_BIAS.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_conv2d(ec2t_net *net, ec2t_layer *input, int32_t out_channels,
                                         int32_t kernel_h, int32_t kernel_w, int32_t stride,
                                         int32_t pad, int32_t groups, uint32_t flags,
                                         ec2t_layer **layer);

/**
 * @brief Add per-channel batch normalisation (gamma 1, beta 0, eps 1e-5, momentum 0.1).  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param flags 0 or EC2T_ADD_NO_AFFINE.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_batchnorm(ec2t_net *net, ec2t_layer *input, uint32_t flags,
                                            ec2t_layer **layer);

/**
 * @brief Add a ReLU.  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_relu(ec2t_net *net, ec2t_layer *input, uint32_t flags,
                                       ec2t_layer **layer);

/**
 * @brief Add max pooling with a square window.  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param kernel window size, at least 1.
 * @param stride at least 1.
 * @param pad implicit padding (never selected), 0 to kernel / 2.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_maxpool(ec2t_net *net, ec2t_layer *input, int32_t kernel,
                                          int32_t stride, int32_t pad, uint32_t flags,
                                          ec2t_layer **layer);

/**
 * @brief Add average pooling with a square window; padding counts as zeros
 *        (PyTorch's count_include_pad=True).  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param kernel window size, at least 1.
 * @param stride at least 1.
 * @param pad zero padding, 0 to kernel / 2.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_avgpool(ec2t_net *net, ec2t_layer *input, int32_t kernel,
                                          int32_t stride, int32_t pad, uint32_t flags,
                                          ec2t_layer **layer);

/**
 * @brief Add global average pooling: (C, H, W) to (C, 1, 1).  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_global_avgpool(ec2t_net *net, ec2t_layer *input,
                                                 uint32_t flags, ec2t_layer **layer);

/**
 * @brief Add a flatten layer: (C, H, W) to (C*H*W, 1, 1), in C order.  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_flatten(ec2t_net *net, ec2t_layer *input, uint32_t flags,
                                          ec2t_layer **layer);

/**
 * @brief Add inverted dropout: in train mode each value is zeroed with
 *        probability @p p and the others scaled by 1 / (1 - p).  METHOD: ec2t_net
 * @param net the network.
 * @param input the input layer.
 * @param p drop probability in [0, 1).
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_dropout(ec2t_net *net, ec2t_layer *input, float p,
                                          uint32_t flags, ec2t_layer **layer);

/**
 * @brief Add a residual sum: out = a + shortcut(b).  METHOD: ec2t_net
 *
 * With equal shapes the shortcut is the identity. With EC2T_ADD_OPTION_A and
 * b having at most a's channels and a's height and width times an integer
 * stride s, the shortcut takes every s-th pixel of b and zero-pads its
 * channels ((a.c - b.c) / 2 before, the rest after), as the CIFAR ResNets of
 * He et al. do.
 * @param net the network.
 * @param a the residual branch; its shape is the output's.
 * @param b the shortcut input.
 * @param flags 0 or EC2T_ADD_OPTION_A.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL (shapes that do not fit) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_residual(ec2t_net *net, ec2t_layer *a, ec2t_layer *b,
                                           uint32_t flags, ec2t_layer **layer);

/**
 * @brief Add the softmax cross-entropy loss on the logits of @p input (flat).  METHOD: ec2t_net
 *
 * At most one loss layer, added last; the network's output is its input.
 * @param net the network.
 * @param input the logits layer.
 * @param flags must be 0.
 * @param[out] layer the new layer (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_add_softmax_xent(ec2t_net *net, ec2t_layer *input, uint32_t flags,
                                               ec2t_layer **layer);

/**
 * @brief Number of layers, the input layer included.  METHOD: ec2t_net
 * @param net the network.
 * @return the count, or 0 when @p net is NULL.
 */
EC2T_API int32_t ec2t_net_layer_count(const ec2t_net *net);

/**
 * @brief The layer with a given id.  METHOD: ec2t_net
 * @param net the network.
 * @param id 0 to ec2t_net_layer_count() - 1.
 * @param[out] layer the layer (borrowed).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_layer(ec2t_net *net, int32_t id, ec2t_layer **layer);

/**
 * @brief The layer with a given name.  METHOD: ec2t_net
 * @param net the network.
 * @param name the name.
 * @param[out] layer the layer (borrowed).
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument or no such layer).
 */
EC2T_API ec2t_status ec2t_net_find_layer(ec2t_net *net, const char *name, ec2t_layer **layer);

/**
 * @brief Number of named tensors of the network (trained parameters and
 *        batchnorm statistics).  METHOD: ec2t_net
 * @param net the network.
 * @return the count, or 0 when @p net is NULL.
 */
EC2T_API int32_t ec2t_net_param_count(const ec2t_net *net);

/**
 * @brief One named tensor of the network, in layer order.  METHOD: ec2t_net
 * @param net the network.
 * @param index 0 to ec2t_net_param_count() - 1.
 * @param[out] name its name, such as "layer2.0.conv1.weight" (borrowed; may be NULL).
 * @param[out] value the tensor (borrowed; may be NULL).
 * @param[out] grad its gradient, or NULL for a statistic that is not trained (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_param(ec2t_net *net, int32_t index, const char **name,
                                    ec2t_tensor **value, ec2t_tensor **grad);

/**
 * @brief The named tensor with a given name.  METHOD: ec2t_net
 * @param net the network.
 * @param name such as "bn1.running_var".
 * @param[out] value the tensor (borrowed; may be NULL).
 * @param[out] grad its gradient, or NULL for a statistic (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL (NULL argument, or no such tensor).
 */
EC2T_API ec2t_status ec2t_net_find_param(ec2t_net *net, const char *name, ec2t_tensor **value,
                                         ec2t_tensor **grad);

/**
 * @brief Number of trained scalars (weights and biases; statistics excluded).  METHOD: ec2t_net
 * @param net the network.
 * @return the count, or 0 when @p net is NULL.
 */
EC2T_API int64_t ec2t_net_trainable_count(const ec2t_net *net);

/**
 * @brief Multiply-accumulate count of one forward pass of one sample, in
 *        dense and conv layers (the usual "MACs"; FLOPs are about twice this).  METHOD: ec2t_net
 * @param net the network.
 * @return the count, or 0 when @p net is NULL.
 */
EC2T_API int64_t ec2t_net_macs(const ec2t_net *net);

/**
 * @brief The shape of one output sample (the loss layer's input when there is one).  METHOD: ec2t_net
 * @param net the network.
 * @param[out] c channels or classes (may be NULL).
 * @param[out] h height (may be NULL).
 * @param[out] w width (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_output_shape(const ec2t_net *net, int32_t *c, int32_t *h,
                                           int32_t *w);

/**
 * @brief The shape of one input sample.  METHOD: ec2t_net
 * @param net the network.
 * @param[out] c channels (may be NULL).
 * @param[out] h height (may be NULL).
 * @param[out] w width (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_input_shape(const ec2t_net *net, int32_t *c, int32_t *h,
                                          int32_t *w);

/**
 * @brief Switch between training and evaluation behaviour.  METHOD: ec2t_net
 * @param net the network.
 * @param mode the mode.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_set_mode(ec2t_net *net, ec2t_net_mode mode);

/**
 * @brief The current mode.  METHOD: ec2t_net
 * @param net the network.
 * @return the mode (EC2T_MODE_EVAL when @p net is NULL).
 */
EC2T_API ec2t_net_mode ec2t_net_get_mode(const ec2t_net *net);

/**
 * @brief Reinitialise every parameter from a seed (Kaiming-normal weights,
 *        zero biases, batchnorm gamma 1 and beta 0, running mean 0 and variance 1).  METHOD: ec2t_net
 * @param net the network.
 * @param seed the seed; the result depends only on it and the architecture.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_net_init(ec2t_net *net, uint64_t seed);

/**
 * @brief Run the network on a batch and copy its output out.  METHOD: ec2t_net
 *
 * Uses the current mode (call ec2t_net_set_mode(net, EC2T_MODE_EVAL) for
 * inference). Activations are kept for a following ec2t_net_backward(). The
 * input's size is checked, never assumed: a count other than batch * c * h * w
 * (ec2t_net_input_shape()) is refused with EC2T_E_INVAL and a message naming
 * both shapes, before anything is read.
 * @param net the network.
 * @param input batch * c * h * w floats, NCHW.
 * @param input_count the number of floats at @p input: batch * c * h * w.
 * @param batch number of samples, at least 1.
 * @param output receives batch * (output c*h*w) floats, NCHW (may be NULL
 *        when @p output_cap is 0).
 * @param output_cap capacity of @p output in floats.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (also an @p input_count that is not
 *         batch * c * h * w), EC2T_E_RANGE (output too small; nothing copied,
 *         but the pass ran) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_forward(ec2t_net *net, const float *input, size_t input_count,
                                      int64_t batch, float *output, size_t output_cap,
                                      uint32_t flags);

/**
 * @brief Run the network and its loss layer on a labelled batch.  METHOD: ec2t_net
 *
 * The sizes are checked as in ec2t_net_forward(): the input must hold
 * batch * c * h * w floats and the labels batch values.
 * @param net the network (it must end with a softmax cross-entropy layer).
 * @param input batch * c * h * w floats, NCHW.
 * @param input_count the number of floats at @p input: batch * c * h * w.
 * @param labels batch class indices in [0, classes).
 * @param label_count the number of labels at @p labels: batch.
 * @param batch number of samples, at least 1.
 * @param flags must be 0.
 * @param[out] loss mean cross-entropy over the batch (may be NULL).
 * @param[out] correct number of samples whose largest logit is the label (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL (bad label, no loss layer, a count that does
 *         not fit the batch) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_forward_loss(ec2t_net *net, const float *input, size_t input_count,
                                           const int32_t *labels, size_t label_count,
                                           int64_t batch, uint32_t flags, float *loss,
                                           int64_t *correct);

/**
 * @brief Back-propagate the loss of the last ec2t_net_forward_loss() and set
 *        (not accumulate) every parameter gradient.  METHOD: ec2t_net
 * @param net the network.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_STATE (no loss computed since the last change) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_backward(ec2t_net *net, uint32_t flags);

/**
 * @brief Mean loss and top-1 accuracy over a whole dataset, in eval mode
 *        (the previous mode is restored).  METHOD: ec2t_net
 * @param net the network (with a loss layer).
 * @param data the dataset (its shape must match the input).
 * @param batch_size samples per forward pass, at least 1.
 * @param flags must be 0.
 * @param[out] loss mean cross-entropy (may be NULL).
 * @param[out] accuracy fraction of correct samples in [0, 1] (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_evaluate(ec2t_net *net, ec2t_dataset *data, int64_t batch_size,
                                       uint32_t flags, double *loss, double *accuracy);

/* ---- builders ------------------------------------------------------------ */

/**
 * @brief LeNet-5 as in the EC2T reference code: conv 6@5x5 pad 2, ReLU, max
 *        pool 2, conv 16@5x5, ReLU, max pool 2, fc 120, ReLU, fc 84, ReLU, fc
 *        classes, softmax cross-entropy. Layer names: conv1, conv2, fc1, fc2, fc3.  CONSTRUCTOR: ec2t_net
 * @param ctx the context.
 * @param c input channels.
 * @param h input height (the second pooling must leave at least 1 pixel: h, w >= 12).
 * @param w input width.
 * @param classes number of classes.
 * @param flags must be 0.
 * @param[out] out the network; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_build_lenet5(ec2t_context *ctx, int32_t c, int32_t h, int32_t w,
                                           int32_t classes, uint32_t flags, ec2t_net **out)
    EC2T_WARN_UNUSED;

/**
 * @brief A CIFAR-style ResNet (He et al. 2016, §4.2): conv 3x3 (widths[0]),
 *        BN, ReLU, then @p n_stages stages of basic blocks (conv 3x3, BN,
 *        ReLU, conv 3x3, BN, + option-A shortcut, ReLU), the first block of
 *        every stage after the first with stride 2; global average pooling,
 *        linear layer, softmax cross-entropy.  CONSTRUCTOR: ec2t_net
 *
 * Names follow the PyTorch reference (akamaster): conv1, bn1,
 * layerS.B.conv1/bn1/conv2/bn2, linear. ResNet-n for n = 6k + 2 is
 * @p blocks = {k, k, k} with widths {16, 32, 64}.
 * @param ctx the context.
 * @param n_stages 1 to 8.
 * @param blocks blocks per stage (each 1 to 1000).
 * @param widths channels per stage (each 1 to 4096, not decreasing).
 * @param c input channels.
 * @param h input height.
 * @param w input width.
 * @param classes number of classes.
 * @param flags must be 0.
 * @param[out] out the network; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_build_resnet(ec2t_context *ctx, int32_t n_stages,
                                           const int32_t *blocks, const int32_t *widths, int32_t c,
                                           int32_t h, int32_t w, int32_t classes, uint32_t flags,
                                           ec2t_net **out) EC2T_WARN_UNUSED;

/**
 * @brief The authors' MicroNet, the network of EC2T super-network blocks
 *        (Becking's thesis, Fig. 4.1; `MicroNet` with `BasicBlock` in
 *        model/model.py of d-becking/efficientCNNs): a stem conv 3x3
 *        (widths[0]), BN, ReLU, then @p n_stages stages of blocks BN, conv
 *        3x3, BN, ReLU, dropout, conv 3x3, BN, plus the shortcut of the
 *        block's input (identity, or a 1x1 conv and a BN where the shape
 *        changes; stride 2 in the first block of every stage after the
 *        first), no activation after the sum; then one ReLU, global average
 *        pooling, linear layer, softmax cross-entropy.  CONSTRUCTOR: ec2t_net
 *
 * Names are the reference's state_dict names, so that its weights load by
 * name (ec2t_net_import_safetensors()): conv1, bn1,
 * layerS.B.bn1/conv1/bn2/conv2/bn3, layerS.B.shortcut.0 (the 1x1 conv) and
 * layerS.B.shortcut.1 (its BN), linear. The thesis' CIFAR-100 MicroNet is
 * @p blocks = {23, 23, 23}, @p widths = {32, 64, 120}, @p dropout 0.2,
 * 3x32x32 input, 100 classes (8.06 M parameters).
 *
 * Changed in 0.2: 0.1 named the block's batchnorms bn0/bn1/bn2 and added a
 * batchnorm `bn_final` before the last ReLU, which the reference does not
 * have. Model files of 0.1's networks still load and run (their layers are
 * stored), but the scaler no longer takes them for a builder's network.
 * @param ctx the context.
 * @param n_stages 1 to 8.
 * @param blocks blocks per stage (each 1 to 1000).
 * @param widths channels per stage (each 1 to 4096).
 * @param dropout drop probability between the two convolutions, in [0, 1).
 * @param c input channels.
 * @param h input height.
 * @param w input width.
 * @param classes number of classes.
 * @param flags must be 0.
 * @param[out] out the network; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_build_ec2t_blocks(ec2t_context *ctx, int32_t n_stages,
                                                const int32_t *blocks, const int32_t *widths,
                                                float dropout, int32_t c, int32_t h, int32_t w,
                                                int32_t classes, uint32_t flags, ec2t_net **out)
    EC2T_WARN_UNUSED;

/**
 * @brief A known architecture by name, for an input shape and a number of
 *        classes: what a PyTorch checkpoint of it needs before
 *        ec2t_net_import_safetensors().  CONSTRUCTOR: ec2t_net
 *
 * Names (the layer names are the builders'):
 * - "lenet5": ec2t_net_build_lenet5();
 * - "resnet<N>", N = 6k + 2 (resnet20, resnet32, resnet44, resnet56,
 *   resnet110, ...): ec2t_net_build_resnet() with blocks {k, k, k} and
 *   widths {16, 32, 64}, the CIFAR ResNet of He et al. (akamaster's PyTorch
 *   names, those of the EC2T authors' ResNet-20 checkpoints);
 * - "micronet": ec2t_net_build_ec2t_blocks() with blocks {7, 7, 7}, widths
 *   {16, 32, 64} and dropout 0.2, the thesis' baseline of EC2T blocks
 *   (MicroNet-0); its scaled versions come from ec2t_scaler_apply().
 * @param ctx the context.
 * @param name the architecture, as above.
 * @param c input channels.
 * @param h input height.
 * @param w input width.
 * @param classes number of classes.
 * @param flags must be 0.
 * @param[out] out the network (weights not initialised: call
 *        ec2t_net_init() or import them); NULL on failure.
 * @return EC2T_OK; EC2T_E_UNSUPPORTED for a name this library does not
 *         know; EC2T_E_INVAL (NULL argument, or a shape or a count the
 *         builder refuses) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_build_named(ec2t_context *ctx, const char *name, int32_t c,
                                          int32_t h, int32_t w, int32_t classes, uint32_t flags,
                                          ec2t_net **out) EC2T_WARN_UNUSED;

/* ---- files ---------------------------------------------------------------- */

/**
 * @brief Save architecture, parameters and batchnorm statistics to a model
 *        file (doc/FORMAT.md), atomically.  METHOD: ec2t_net
 * @param net the network.
 * @param path the file to write.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_IO or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_save(const ec2t_net *net, const char *path, uint32_t flags);

/**
 * @brief Load a model file written by ec2t_net_save().  CONSTRUCTOR: ec2t_net
 * @param ctx the context.
 * @param path the file.
 * @param flags must be 0.
 * @param[out] out the network (in EC2T_MODE_EVAL); NULL on failure.
 * @return EC2T_OK, EC2T_E_IO, EC2T_E_FORMAT (malformed, truncated, corrupt,
 *         or inconsistent; the message says what), EC2T_E_UNSUPPORTED (a
 *         newer format version), EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_load(ec2t_context *ctx, const char *path, uint32_t flags,
                                   ec2t_net **out) EC2T_WARN_UNUSED;

/**
 * @brief Load a model file from memory; the same rules as ec2t_net_load().  CONSTRUCTOR: ec2t_net
 * @param ctx the context.
 * @param buf the bytes (not retained).
 * @param len their count.
 * @param flags must be 0.
 * @param[out] out the network; NULL on failure.
 * @return as ec2t_net_load(), without EC2T_E_IO.
 */
EC2T_API ec2t_status ec2t_net_load_mem(ec2t_context *ctx, const void *buf, size_t len,
                                       uint32_t flags, ec2t_net **out) EC2T_WARN_UNUSED;

/**
 * @brief Copy weights from a safetensors file (F32 tensors) into the network's
 *        tensors of the same names and shapes (PyTorch state_dict names).  METHOD: ec2t_net
 *
 * Every named tensor of the network must be in the file; tensors of the file
 * that the network lacks (such as num_batches_tracked) are ignored.
 * @param net the network.
 * @param path the .safetensors file.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_IO, EC2T_E_FORMAT (malformed file, a missing name, a
 *         shape or dtype that does not match; nothing is changed then),
 *         EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_net_import_safetensors(ec2t_net *net, const char *path,
                                                 uint32_t flags);

/**
 * @brief Write every named tensor of the network to a safetensors file,
 *        atomically.  METHOD: ec2t_net
 *
 * The tensors are F32, in ec2t_net_param() order, each under its name and
 * with its shape (PyTorch state_dict names and shapes), so that PyTorch's
 * load_state_dict() of the same architecture accepts them and
 * ec2t_net_import_safetensors() reads them back bit for bit. The file has
 * no __metadata__ and is byte for byte a function of the network's tensors
 * (doc/FORMAT.md, section 14.4).
 * @param net the network.
 * @param path the .safetensors file to write.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument or bad flags), EC2T_E_IO or
 *         EC2T_E_NOMEM; a failed write leaves an existing file unchanged.
 */
EC2T_API ec2t_status ec2t_net_export_safetensors(const ec2t_net *net, const char *path,
                                                 uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_NET_H */
