/* SPDX-License-Identifier: MIT */
/**
 * @file layer.h
 * @brief ec2t_layer: a borrowed handle to one layer inside its network.
 *
 * Layers are created inside a network by the ec2t_net_add_*() functions and
 * owned by it. A layer handle stays valid while its network lives; it is
 * never freed by the caller.
 */
#ifndef EC2T_LAYER_H
#define EC2T_LAYER_H

#include <ec2t/common.h>
#include <ec2t/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A layer of a network (borrowed). */
typedef struct ec2t_layer ec2t_layer;

/** @brief Layer kinds. Append only. */
typedef enum ec2t_layer_kind {
    EC2T_LAYER_INPUT = 0,          /**< the network's input (id 0) */
    EC2T_LAYER_DENSE = 1,          /**< fully connected: y = W x (+ b) */
    EC2T_LAYER_CONV2D = 2,         /**< 2-D convolution with stride, padding and groups */
    EC2T_LAYER_BATCHNORM = 3,      /**< per-channel batch normalisation */
    EC2T_LAYER_RELU = 4,           /**< max(x, 0) */
    EC2T_LAYER_MAXPOOL = 5,        /**< max pooling */
    EC2T_LAYER_AVGPOOL = 6,        /**< average pooling (padding counts as zeros) */
    EC2T_LAYER_GLOBAL_AVGPOOL = 7, /**< mean over H and W: (C, H, W) to (C, 1, 1) */
    EC2T_LAYER_FLATTEN = 8,        /**< (C, H, W) to (C*H*W, 1, 1) */
    EC2T_LAYER_DROPOUT = 9,        /**< inverted dropout (train mode only), seeded */
    EC2T_LAYER_RESIDUAL = 10,      /**< a + shortcut(b), option A shortcut when shapes differ */
    EC2T_LAYER_SOFTMAX_XENT = 11   /**< softmax cross-entropy loss on its input's logits */
} ec2t_layer_kind;

/** @brief The tensors a layer may hold. Append only. */
typedef enum ec2t_param_role {
    EC2T_PARAM_WEIGHT = 0,       /**< dense (out, in), conv (out, in/groups, kh, kw), batchnorm gamma (C) */
    EC2T_PARAM_BIAS = 1,         /**< dense/conv bias (out), batchnorm beta (C) */
    EC2T_PARAM_RUNNING_MEAN = 2, /**< batchnorm running mean (C); not trained */
    EC2T_PARAM_RUNNING_VAR = 3   /**< batchnorm running variance (C); not trained */
} ec2t_param_role;

/** @brief Per-layer settings for ec2t_layer_set_int() / ec2t_layer_set_double(). Append only. */
typedef enum ec2t_layer_setting {
    EC2T_LAYER_BN_EPS = 500,        /**< double: batchnorm epsilon (> 0; default 1e-5) */
    EC2T_LAYER_BN_MOMENTUM = 501,   /**< double: running-statistics momentum in [0, 1] (default 0.1, PyTorch's) */
    EC2T_LAYER_DROPOUT_P = 502,     /**< double: drop probability in [0, 1) */
    /** int: what the ternarizer does with this layer, an ec2t_compression value (default AUTO). */
    EC2T_LAYER_COMPRESSION = 510,
    EC2T_LAYER_OUT_CHANNELS = 520,  /**< int, read only: output channels (or features) */
    EC2T_LAYER_IN_CHANNELS = 521,   /**< int, read only: input channels (or features) */
    EC2T_LAYER_KERNEL_H = 522,      /**< int, read only: kernel height (conv, pools) */
    EC2T_LAYER_KERNEL_W = 523,      /**< int, read only: kernel width (conv, pools) */
    EC2T_LAYER_STRIDE = 524,        /**< int, read only: stride (conv, pools) */
    EC2T_LAYER_PAD = 525,           /**< int, read only: zero padding on each side (conv, pools) */
    EC2T_LAYER_GROUPS = 526,        /**< int, read only: convolution groups */
    EC2T_LAYER_HAS_BIAS = 527       /**< int, read only: 1 if the dense/conv layer has a bias */
} ec2t_layer_setting;

/** @brief Values of EC2T_LAYER_COMPRESSION. Append only. */
typedef enum ec2t_compression {
    EC2T_COMPRESS_AUTO = 0,      /**< the ternarizer's default rule decides */
    EC2T_COMPRESS_TERNARIZE = 1, /**< ternarize (EC2T) */
    EC2T_COMPRESS_PRUNE = 2,     /**< entropy-constrained pruning, values stay full precision (ECP) */
    EC2T_COMPRESS_KEEP = 3       /**< keep full precision */
} ec2t_compression;

/**
 * @brief The kind of a layer.  METHOD: ec2t_layer
 * @param layer the layer.
 * @return its kind; EC2T_LAYER_INPUT when @p layer is NULL.
 */
EC2T_API ec2t_layer_kind ec2t_layer_get_kind(const ec2t_layer *layer);

/**
 * @brief The id of a layer: its index in the network, 0 for the input.  METHOD: ec2t_layer
 * @param layer the layer.
 * @return the id, or -1 when @p layer is NULL.
 */
EC2T_API int32_t ec2t_layer_id(const ec2t_layer *layer);

/**
 * @brief The name of a layer (such as "layer2.0.conv1"; "layers.N" unless set).  METHOD: ec2t_layer
 * @param layer the layer.
 * @return a borrowed string valid while the layer lives; "" when @p layer is NULL.
 */
EC2T_API const char *ec2t_layer_name(const ec2t_layer *layer);

/**
 * @brief Rename a layer; its parameters become "<name>.weight", "<name>.bias" and so on.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param name 1 to 63 bytes of [A-Za-z0-9_.-], unique in the network.
 * @return EC2T_OK, or EC2T_E_INVAL (bad or duplicate name).
 */
EC2T_API ec2t_status ec2t_layer_set_name(ec2t_layer *layer, const char *name);

/**
 * @brief The shape of one sample of the layer's output.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param[out] c channels or features (may be NULL).
 * @param[out] h height, 1 for flat outputs (may be NULL).
 * @param[out] w width, 1 for flat outputs (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_layer_output_shape(const ec2t_layer *layer, int32_t *c, int32_t *h,
                                             int32_t *w);

/**
 * @brief The number of inputs of a layer (0 for the input layer, 2 for residual, else 1).  METHOD: ec2t_layer
 * @param layer the layer.
 * @return the count, or 0 when @p layer is NULL.
 */
EC2T_API int32_t ec2t_layer_input_count(const ec2t_layer *layer);

/**
 * @brief One input of a layer.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param index 0 to ec2t_layer_input_count() - 1.
 * @param[out] input the input layer (borrowed).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_layer_input(const ec2t_layer *layer, int32_t index, ec2t_layer **input);

/**
 * @brief A tensor of the layer: a parameter or a batchnorm statistic.  METHOD: ec2t_layer
 *
 * The tensor is borrowed: read and write its values freely, but do not free
 * or reshape it.
 * @param layer the layer.
 * @param role which tensor.
 * @param[out] value the tensor.
 * @return EC2T_OK, EC2T_E_INVAL, or EC2T_E_UNSUPPORTED (the layer has no such tensor).
 */
EC2T_API ec2t_status ec2t_layer_param(ec2t_layer *layer, ec2t_param_role role,
                                      ec2t_tensor **value);

/**
 * @brief The gradient of a trained parameter, as left by the last ec2t_net_backward().  METHOD: ec2t_layer
 * @param layer the layer.
 * @param role EC2T_PARAM_WEIGHT or EC2T_PARAM_BIAS.
 * @param[out] grad the gradient tensor (borrowed; same shape as the parameter).
 * @return EC2T_OK, EC2T_E_INVAL, or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_layer_grad(ec2t_layer *layer, ec2t_param_role role, ec2t_tensor **grad);

/**
 * @brief Set an integer setting.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param param the setting (only EC2T_LAYER_COMPRESSION is writable).
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (a value outside ec2t_layer_param_bounds_int()
 *         or, for TERNARIZE and PRUNE, a layer without weights; or a setting
 *         this kind lacks), EC2T_E_STATE (read-only setting) or
 *         EC2T_E_UNSUPPORTED (unknown setting, or a real-valued one; 0.1
 *         answered EC2T_E_INVAL for those).
 */
EC2T_API ec2t_status ec2t_layer_set_int(ec2t_layer *layer, ec2t_layer_setting param, int64_t value);

/**
 * @brief Read an integer setting.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument, or a setting this kind lacks) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_layer_get_int(const ec2t_layer *layer, ec2t_layer_setting param,
                                        int64_t *value);

/**
 * @brief Set a real-valued setting (batchnorm eps and momentum, dropout p).  METHOD: ec2t_layer
 * @param layer the layer.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (a value outside ec2t_layer_param_bounds_double(),
 *         or a setting this kind lacks), EC2T_E_STATE (a read-only setting;
 *         0.1 answered EC2T_E_UNSUPPORTED) or EC2T_E_UNSUPPORTED (unknown
 *         setting, or an integer one).
 */
EC2T_API ec2t_status ec2t_layer_set_double(ec2t_layer *layer, ec2t_layer_setting param,
                                           double value);

/**
 * @brief Read a real-valued setting.  METHOD: ec2t_layer
 * @param layer the layer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_layer_get_double(const ec2t_layer *layer, ec2t_layer_setting param,
                                           double *value);

/**
 * @brief The range of an integer setting, inclusive: the values
 *        ec2t_layer_set_int() may accept, or those a read-only one can take.  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or a real-valued setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_layer_param_bounds_int(ec2t_layer_setting param, int64_t *lo, int64_t *hi);

/**
 * @brief The accepted range of a real-valued setting, inclusive (an open end,
 *        such as eps > 0, is the nearest double inside it).  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or an integer setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_layer_param_bounds_double(ec2t_layer_setting param, double *lo,
                                                    double *hi);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_LAYER_H */
