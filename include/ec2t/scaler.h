/* SPDX-License-Identifier: MIT */
/**
 * @file scaler.h
 * @brief ec2t_scaler: compound scaling of a network's depth and width into an
 *        EC2T super-network (Becking's thesis §4.1, EfficientNet-style), with
 *        either fresh weights or a function-preserving transfer of the
 *        pre-trained ones.
 *
 * With base multipliers d and w (d * w^2 close to 2) and a coefficient phi,
 * every stage gets ceil(d^phi * blocks) blocks and round8(w^phi * width)
 * channels (a multiple of 8, never below 8, raised by 8 if the rounding lost
 * more than 10 %), so the work grows by about 2^phi.
 *
 * The scaler works on networks made by ec2t_net_build_resnet() and
 * ec2t_net_build_ec2t_blocks() (or loaded from model files of them). A
 * network that does not record its builder (a model file written before
 * libec2t recorded it, or a network added layer by layer) is recognised by
 * its layers: it scales if it is exactly what one of the two builders makes.
 */
#ifndef EC2T_SCALER_H
#define EC2T_SCALER_H

#include <ec2t/common.h>
#include <ec2t/dataset.h>
#include <ec2t/net.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A scaler: multipliers, coefficient, transfer mode. */
typedef struct ec2t_scaler ec2t_scaler;

/** @brief Scaler settings. Append only. */
typedef enum ec2t_scale_param {
    EC2T_SCALE_PHI = 200,      /**< double: compound coefficient phi (0 to 8; default 1) */
    EC2T_SCALE_DEPTH = 201,    /**< double: base depth multiplier d (1 to 8; default 1.4) */
    EC2T_SCALE_WIDTH = 202,    /**< double: base width multiplier w (1 to 8; default 1.2) */
    EC2T_SCALE_TRANSFER = 203, /**< int: an ec2t_transfer (default EC2T_TRANSFER_PRESERVE) */
    /** double: relative noise on replicated units, to break their symmetry
     *  (0 to 1; default 0.01). With EC2T_TRANSFER_PRESERVE, every weight of
     *  a channel that copies another gets Gaussian noise of this times the
     *  standard deviation of the base layer's weights, drawn with
     *  EC2T_SCALE_SEED; without it, copies get the same gradients and stay
     *  copies, so the super-network would be no wider in effect. The
     *  default moves the outputs slightly; 0 preserves the function
     *  exactly (up to float rounding). */
    EC2T_SCALE_NOISE = 204,
    EC2T_SCALE_SEED = 205      /**< int: seed of initialisation, replication choice and noise */
} ec2t_scale_param;

/** @brief How the super-network gets its weights. Append only. */
typedef enum ec2t_transfer {
    EC2T_TRANSFER_SCRATCH = 0, /**< fresh Kaiming initialisation (the thesis' way) */
    EC2T_TRANSFER_PRESERVE = 1 /**< Net2Net-style widening (replicated units, divided outgoing
                                *   weights) and identity-initialised new blocks: the
                                *   super-network computes what the base computed */
} ec2t_transfer;

/**
 * @brief Create a scaler with the default settings.  CONSTRUCTOR: ec2t_scaler
 * @param ctx the context.
 * @param flags must be 0.
 * @param[out] out the scaler; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_scaler_new(ec2t_context *ctx, uint32_t flags, ec2t_scaler **out)
    EC2T_WARN_UNUSED;

/**
 * @brief Free a scaler.  DESTRUCTOR: ec2t_scaler
 * @param scaler the scaler, or NULL (a no-op).
 */
EC2T_API void ec2t_scaler_free(ec2t_scaler *scaler);

/**
 * @brief Set a real-valued setting.  METHOD: ec2t_scaler
 * @param scaler the scaler.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (out of range or an integer setting) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_scaler_set_double(ec2t_scaler *scaler, ec2t_scale_param param,
                                            double value);

/**
 * @brief Set an integer setting.  METHOD: ec2t_scaler
 * @param scaler the scaler.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_scaler_set_int(ec2t_scaler *scaler, ec2t_scale_param param,
                                         int64_t value);

/**
 * @brief Read a setting (integers as doubles).  METHOD: ec2t_scaler
 * @param scaler the scaler.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_scaler_get(const ec2t_scaler *scaler, ec2t_scale_param param,
                                     double *value);

/**
 * @brief Read an integer setting (EC2T_SCALE_TRANSFER, EC2T_SCALE_SEED) as an
 *        integer.  METHOD: ec2t_scaler  Since 0.2.
 * @param scaler the scaler.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument or a real-valued setting) or
 *         EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_scaler_get_int(const ec2t_scaler *scaler, ec2t_scale_param param,
                                         int64_t *value);

/**
 * @brief The accepted range of an integer setting, inclusive.  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or a real-valued setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_scaler_param_bounds_int(ec2t_scale_param param, int64_t *lo, int64_t *hi);

/**
 * @brief The accepted range of a real-valued setting, inclusive.  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or an integer setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_scaler_param_bounds_double(ec2t_scale_param param, double *lo,
                                                     double *hi);

/**
 * @brief The blocks and widths a base network's stages get.  METHOD: ec2t_scaler
 * @param scaler the scaler.
 * @param base the base network (from a builder).
 * @param[out] blocks receives the blocks of each stage (room for 8; may be NULL).
 * @param[out] widths receives the channels of each stage (room for 8; may be NULL).
 * @param[out] n_stages receives the number of stages (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED (not a ResNet or
 *         EC2T-block network made by a builder, or a stage that would narrow).
 */
EC2T_API ec2t_status ec2t_scaler_plan(const ec2t_scaler *scaler, const ec2t_net *base,
                                      int32_t *blocks, int32_t *widths, int32_t *n_stages);

/**
 * @brief Build the super-network of a base network.  METHOD: ec2t_scaler
 *
 * With EC2T_TRANSFER_PRESERVE, every new channel replicates one of the base's
 * (chosen with the seed; every base channel at least once), the weights that
 * read replicated channels are divided by the number of copies, and every new
 * block starts with its last batchnorm at zero, so that in eval mode the
 * super-network computes the base's outputs: up to float rounding with
 * EC2T_SCALE_NOISE 0, up to the symmetry-breaking noise by default.
 * The scaler never narrows: if the rounding to multiples of 8 would give a
 * stage fewer channels than the base has (a base width just above a
 * multiple of 8 with a small phi: 17 channels at 1.2^0.1 round to 16), the
 * call fails with EC2T_E_UNSUPPORTED and a message naming the stage and
 * both widths (ec2t_scaler_plan() too).
 * @param scaler the scaler.
 * @param base the base network (not changed).
 * @param flags must be 0.
 * @param[out] out the super-network; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_UNSUPPORTED (not a scalable network,
 *         a stage that would narrow, or widths whose rounding prevents an
 *         exact transfer) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_scaler_apply(const ec2t_scaler *scaler, const ec2t_net *base,
                                       uint32_t flags, ec2t_net **out) EC2T_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* EC2T_SCALER_H */
