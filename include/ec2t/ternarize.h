/* SPDX-License-Identifier: MIT */
/**
 * @file ternarize.h
 * @brief ec2t_ternarizer: Entropy-Constrained Trained Ternarization (EC2T,
 *        Marban et al. 2020) of a network while it trains.
 *
 * Every ternarized layer keeps a full-precision "shadow" copy of its weights,
 * two trained values w_p > 0 and w_n > 0 and an assignment of each weight to
 * -w_n, 0 or +w_p. The network's own weight tensor holds the ternary weights
 * that the forward and backward passes use. After every training step the
 * assignment is recomputed by minimising, per weight,
 *
 *     (W[i] - w_c)^2 + lambda * I_c,    I_c = -log2 P_c,   c in {n, 0, p}
 *
 * with lambda = gamma * delta(layer) * lambda_max(layer) (doc/TERNARIZER.md
 * gives every formula): gamma is the one knob, larger means sparser. Layers
 * marked EC2T_COMPRESS_PRUNE keep their full-precision values where the
 * assignment is not zero (entropy-constrained pruning, ECP).
 *
 * Typical use: build or load a trained network, create a ternarizer on it,
 * attach it to a trainer, then run ec2t_ternarizer_train() (phase A with the
 * assignment recomputed every step, then phase B with it frozen).
 */
#ifndef EC2T_TERNARIZE_H
#define EC2T_TERNARIZE_H

#include <ec2t/common.h>
#include <ec2t/dataset.h>
#include <ec2t/net.h>
#include <ec2t/trainer.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A ternarizer. */
typedef struct ec2t_ternarizer ec2t_ternarizer;

/** @brief Ternarizer settings (ec2t_ternarizer_set_double / _set_int). Append only.
 *         Keys from 1000 on are experimental (<ec2t/experimental.h>). */
typedef enum ec2t_tern_param {
    /** double: gamma, the gain on lambda_max (>= 0; default 0.15). 0 is nearest-value assignment. */
    EC2T_TERN_GAMMA = 100,
    /** double: steer gamma (within [0, 1], see EC2T_TSTAT_TARGET_MISSED) during phase A so
     *  that the ternarized weights end this sparse (0 = off, the default; else in (0, 1)).
     *  Not together with EC2T_TERN_TARGET_BYTES: training refuses both (EC2T_E_INVAL). */
    EC2T_TERN_TARGET_SPARSITY = 101,
    /** int: steer gamma (within [0, 1]) so that the deployed file ends about this many bytes
     *  (0 = off). Not together with EC2T_TERN_TARGET_SPARSITY. */
    EC2T_TERN_TARGET_BYTES = 102,
    /** double: s of the initial centroids w_n = s |min W|, w_p = s |max W| (in (0, 1]; default 0.3). */
    EC2T_TERN_INIT_SCALE = 103,
    /** int: initial centroids, an ec2t_tern_init (default EC2T_TERN_INIT_MINMAX). */
    EC2T_TERN_INIT = 104,
    /** int: 1 = phase B: the assignment is frozen, shadow weights are not trained (default 0). */
    EC2T_TERN_FROZEN = 108,
    /** double: learning rate of the shadow weights' Adam group (default 1e-4). */
    EC2T_TERN_LR_SHADOW = 110,
    /** double: learning rate of the centroids' Adam group (default 1e-5). */
    EC2T_TERN_LR_CENTROIDS = 111,
    /** double, read only: the gamma in use now (it moves in the target modes). */
    EC2T_TERN_CURRENT_GAMMA = 120,
    /** int, read only: number of compressed (ternarized or pruned) layers. */
    EC2T_TERN_LAYERS = 121
} ec2t_tern_param;

/** @brief Initial centroids. Append only. */
typedef enum ec2t_tern_init {
    EC2T_TERN_INIT_MINMAX = 0, /**< w_n = s |min W|, w_p = s |max W| (the reference's rule) */
    EC2T_TERN_INIT_KMEANS = 1  /**< 1-D k-means with three centres, the middle one pinned at 0 */
} ec2t_tern_init;

/** @brief Statistics (ec2t_ternarizer_stat): per compressed layer, or for all of them (index -1). Append only. */
typedef enum ec2t_tern_stat {
    EC2T_TSTAT_LAYER_ID = 150,   /**< id of the layer in the network (per layer only) */
    EC2T_TSTAT_MODE = 151,       /**< EC2T_COMPRESS_TERNARIZE or EC2T_COMPRESS_PRUNE (per layer only) */
    EC2T_TSTAT_WEIGHTS = 152,    /**< number of weights */
    EC2T_TSTAT_SPARSITY = 153,   /**< fraction of weights assigned to 0 */
    EC2T_TSTAT_P_NEG = 154,      /**< fraction assigned to -w_n */
    EC2T_TSTAT_P_ZERO = 155,     /**< fraction assigned to 0 */
    EC2T_TSTAT_P_POS = 156,      /**< fraction assigned to +w_p */
    EC2T_TSTAT_ENTROPY = 157,    /**< zero-order entropy of the assignment, bits per weight */
    EC2T_TSTAT_W_P = 158,        /**< w_p (per layer only) */
    EC2T_TSTAT_W_N = 159,        /**< w_n as a magnitude (per layer only) */
    EC2T_TSTAT_LAMBDA = 160,     /**< lambda of the last assignment (per layer only) */
    EC2T_TSTAT_LAMBDA_MAX = 161, /**< lambda_max of the last assignment (per layer only) */
    EC2T_TSTAT_EST_BYTES = 162,  /**< estimated bytes of the entropy-coded layer (or all layers) */
    /** all layers only: 1 if a target (EC2T_TERN_TARGET_SPARSITY or _BYTES) is set and the
     *  assignment falls short of it, else 0. After ec2t_ternarizer_train() 1 means the target
     *  was out of reach with gamma at its bound 1 (a warning is logged too). Since 0.2. */
    EC2T_TSTAT_TARGET_MISSED = 163
} ec2t_tern_stat;

/**
 * @brief Progress callback of ec2t_ternarizer_train(), called after every epoch.
 * @return 0 to continue, non-zero to stop (the call then returns EC2T_E_ABORTED).
 */
typedef int (*ec2t_tern_progress_fn)(void *user, const ec2t_ternarizer *tz, int32_t phase,
                                     int32_t epoch, double val_accuracy);

/**
 * @brief Create a ternarizer for a trained network.  CONSTRUCTOR: ec2t_ternarizer
 *
 * Chooses the layers: every conv and dense layer whose EC2T_LAYER_COMPRESSION
 * is TERNARIZE or PRUNE, and with AUTO every conv and dense layer except the
 * first layer, the last layer and 1x1 convolutions whose input is a block's
 * input (projection shortcuts). It copies their weights into shadow tensors,
 * initialises w_p and w_n, and writes the ternary weights into the network.
 * @param net the network (borrowed; it must outlive the ternarizer and keep its architecture).
 * @param flags must be 0.
 * @param[out] out the ternarizer; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (no layer to compress, bad argument) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_ternarizer_new(ec2t_net *net, uint32_t flags, ec2t_ternarizer **out)
    EC2T_WARN_UNUSED;

/**
 * @brief Free a ternarizer (the network keeps its current weights).  DESTRUCTOR: ec2t_ternarizer
 *
 * A ternarizer attached to a trainer must be freed after that trainer.
 * @param tz the ternarizer, or NULL (a no-op).
 */
EC2T_API void ec2t_ternarizer_free(ec2t_ternarizer *tz);

/**
 * @brief Set a real-valued setting.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (out of range), EC2T_E_STATE (read only, or
 *         the initialisation after it happened) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_ternarizer_set_double(ec2t_ternarizer *tz, ec2t_tern_param param,
                                                double value);

/**
 * @brief Set an integer setting.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_STATE or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_ternarizer_set_int(ec2t_ternarizer *tz, ec2t_tern_param param,
                                             int64_t value);

/**
 * @brief Read a real-valued setting.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_ternarizer_get_double(const ec2t_ternarizer *tz, ec2t_tern_param param,
                                                double *value);

/**
 * @brief Read an integer setting.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_ternarizer_get_int(const ec2t_ternarizer *tz, ec2t_tern_param param,
                                             int64_t *value);

/**
 * @brief The accepted range of a setting, inclusive.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_ternarizer_param_bounds(ec2t_tern_param param, double *lo, double *hi);

/**
 * @brief Make a trainer of the same network train the ternary network.  METHOD: ec2t_ternarizer
 *
 * Adds two Adam groups to the trainer, for the shadow weights and for the
 * centroids (their learning rates are EC2T_TERN_LR_SHADOW and
 * EC2T_TERN_LR_CENTROIDS); every other trained tensor stays in its group
 * (the reference code trains them with Adam, lr 1e-4, weight decay 5e-6).
 * The ternary weight tensors leave training: after each backward pass their
 * gradient is mapped onto the shadow weights and the centroids, and after
 * each update the assignment and the ternary weights are recomputed.
 * @param tz the ternarizer.
 * @param trainer a trainer of the ternarizer's network, not yet attached.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (another network, already attached, too many groups) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_ternarizer_attach(ec2t_ternarizer *tz, ec2t_trainer *trainer,
                                            uint32_t flags);

/**
 * @brief Install an epoch callback for ec2t_ternarizer_train() (NULL removes it).  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param fn the callback.
 * @param user passed to @p fn.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_ternarizer_set_progress(ec2t_ternarizer *tz, ec2t_tern_progress_fn fn,
                                                  void *user);

/**
 * @brief The whole EC2T schedule: @p epochs_a epochs of phase A, then restore
 *        the epoch with the best validation accuracy, then @p epochs_b epochs
 *        of phase B (frozen assignment; fresh optimizer states), again keeping
 *        the best epoch. The network ends with the best phase-B weights.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer, attached to @p trainer.
 * @param trainer the trainer (its own progress callback reports steps).
 * @param train training set.
 * @param val validation set for the choice of the best epoch.
 * @param epochs_a phase-A epochs (>= 0).
 * @param epochs_b phase-B epochs (>= 0).
 * @param flags must be 0.
 * @return EC2T_OK (also when a target was out of reach: see
 *         EC2T_TSTAT_TARGET_MISSED), EC2T_E_ABORTED (a callback asked to stop; the
 *         network keeps the best weights so far), EC2T_E_STATE (not attached),
 *         EC2T_E_INVAL (bad argument, or both targets set) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_ternarizer_train(ec2t_ternarizer *tz, ec2t_trainer *trainer,
                                           ec2t_dataset *train, ec2t_dataset *val,
                                           int32_t epochs_a, int32_t epochs_b, uint32_t flags);

/**
 * @brief ec2t_ternarizer_train() that survives being stopped.  METHOD: ec2t_ternarizer
 *
 * After every epoch it saves a trainer checkpoint to @p checkpoint
 * (atomically; see ec2t_trainer_save_checkpoint(), which with an attached
 * ternarizer also holds its state: gamma, the assignments, the target's ramp,
 * the schedule's phase and epoch, and the best epoch of the phase so far).
 * If @p checkpoint exists when it starts, it restores it first and goes on
 * after the saved epoch, so that a run stopped (by a callback, a crash or the
 * end of a session) and started again with the same arguments ends with
 * exactly the network an uninterrupted run gives. Datasets, settings and the
 * trainer must be the same as in the first call; teachers
 * (ec2t_trainer_set_teacher) must be set again.
 * @param tz the ternarizer, attached to @p trainer.
 * @param trainer the trainer.
 * @param train training set.
 * @param val validation set for the choice of the best epoch.
 * @param epochs_a phase-A epochs (>= 0).
 * @param epochs_b phase-B epochs (>= 0).
 * @param checkpoint the checkpoint file.
 * @param flags must be 0.
 * @return as ec2t_ternarizer_train(); also EC2T_E_IO (the checkpoint cannot
 *         be written or read) and EC2T_E_FORMAT (it exists but is damaged, of
 *         another network or of a schedule with other epoch counts; nothing
 *         is changed then).
 */
EC2T_API ec2t_status ec2t_ternarizer_train_checkpointed(ec2t_ternarizer *tz, ec2t_trainer *trainer,
                                                        ec2t_dataset *train, ec2t_dataset *val,
                                                        int32_t epochs_a, int32_t epochs_b,
                                                        const char *checkpoint, uint32_t flags);

/**
 * @brief Recompute the assignment and the ternary weights now (as after a
 *        training step), e.g. after changing gamma.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param flags must be 0.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_ternarizer_update(ec2t_ternarizer *tz, uint32_t flags);

/**
 * @brief A statistic of one compressed layer or of all of them.  METHOD: ec2t_ternarizer
 * @param tz the ternarizer.
 * @param index 0 to EC2T_TERN_LAYERS - 1, or -1 for all compressed layers together.
 * @param stat the statistic.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL (bad index, or a per-layer statistic with -1)
 *         or EC2T_E_UNSUPPORTED (unknown, or an all-layers statistic with an index).
 */
EC2T_API ec2t_status ec2t_ternarizer_stat(const ec2t_ternarizer *tz, int32_t index,
                                          ec2t_tern_stat stat, double *value);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_TERNARIZE_H */
