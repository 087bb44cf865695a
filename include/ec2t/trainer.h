/* SPDX-License-Identifier: MIT */
/**
 * @file trainer.h
 * @brief ec2t_trainer: optimizers (SGD with momentum / Nesterov, Adam) over
 *        groups of parameters, learning-rate schedules, epochs with progress
 *        reports, and checkpoints that resume bit for bit.
 *
 * A trainer borrows its network, which must outlive it. Every trained tensor
 * of the network starts in group 0, whose optimizer is given at creation;
 * ec2t_trainer_add_group() and ec2t_trainer_assign() build other groups, each
 * with its own optimizer, learning rate and weight decay.
 *
 * Semantics follow PyTorch 1.13: SGD v = mu v + (g + wd p), p -= lr v (or
 * lr (g + wd p + mu v) with Nesterov); Adam with L2 weight decay added to the
 * gradient and bias-corrected moments.
 *
 * The defaults of an SGD trainer are the recipe that learns as much per
 * epoch as PyTorch's usual one: Nesterov momentum 0.9, weight decay 5e-4,
 * batches of 128 and a one-cycle schedule with 15 % warm-up, over
 * EC2T_TRAIN_EPOCHS, which should be set to the number of epochs trained.
 * (Before 0.2 they were plain momentum, no weight decay and a constant rate.)
 */
#ifndef EC2T_TRAINER_H
#define EC2T_TRAINER_H

#include <ec2t/common.h>
#include <ec2t/dataset.h>
#include <ec2t/net.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A trainer. */
typedef struct ec2t_trainer ec2t_trainer;

/** @brief Optimizers. Append only. */
typedef enum ec2t_optimizer {
    EC2T_OPT_SGD = 0,  /**< SGD with optional momentum and Nesterov */
    EC2T_OPT_ADAM = 1  /**< Adam */
} ec2t_optimizer;

/** @brief Learning-rate schedules (per epoch; one-cycle per step). Append only. */
typedef enum ec2t_schedule {
    EC2T_SCHED_CONSTANT = 0, /**< lr stays at its base value */
    EC2T_SCHED_STEP = 1,     /**< lr = base * gamma^floor(epoch / step_size) */
    EC2T_SCHED_COSINE = 2,   /**< lr = min + (base - min) (1 + cos(pi epoch / epochs)) / 2 */
    /** PyTorch's OneCycleLR (cosine), updated every step of ec2t_trainer_epoch()
     *  at the position t = (epoch + step / steps) / epochs: a half cosine from
     *  base / 25 up to base while t < EC2T_TRAIN_WARMUP, then one from base down
     *  to min. Since 0.2. */
    EC2T_SCHED_ONE_CYCLE = 3
} ec2t_schedule;

/**
 * @brief Trainer settings. Keys below 420 belong to a parameter group
 *        (ec2t_trainer_group_set_double()); the others to the whole trainer.
 *        Append only. Keys from 1000 on are experimental (<ec2t/experimental.h>).
 */
typedef enum ec2t_trainer_param {
    EC2T_TRAIN_LR = 400,            /**< double: base learning rate (> 0; default 0.1 SGD, 1e-3 Adam) */
    EC2T_TRAIN_MOMENTUM = 401,      /**< double: SGD momentum in [0, 1) (default 0.9) */
    EC2T_TRAIN_NESTEROV = 402,      /**< double: 1 for Nesterov momentum, 0 not (default 1 SGD,
                                         0 Adam; 0 for both before 0.2) */
    EC2T_TRAIN_WEIGHT_DECAY = 403,  /**< double: L2 weight decay >= 0 (default 5e-4 SGD, 0 Adam;
                                         0 for both before 0.2) */
    EC2T_TRAIN_BETA1 = 404,         /**< double: Adam beta1 in [0, 1) (default 0.9) */
    EC2T_TRAIN_BETA2 = 405,         /**< double: Adam beta2 in [0, 1) (default 0.999) */
    EC2T_TRAIN_EPS = 406,           /**< double: Adam epsilon > 0 (default 1e-8) */
    EC2T_TRAIN_BATCH_SIZE = 420,    /**< int: samples per step in ec2t_trainer_epoch() (1 to 65536; default 128) */
    EC2T_TRAIN_SEED = 421,          /**< int: seed of shuffling, augmentation and dropout (default: the context's) */
    EC2T_TRAIN_SCHEDULE = 422,      /**< int: an ec2t_schedule (default one-cycle for a trainer
                                         created with SGD, constant with Adam; constant before 0.2) */
    EC2T_TRAIN_EPOCHS = 423,        /**< int: cosine and one-cycle schedule length in epochs: set it
                                         to the epochs you train (default 100) */
    EC2T_TRAIN_STEP_SIZE = 424,     /**< int: step schedule period in epochs (default 30) */
    EC2T_TRAIN_STEP_GAMMA = 425,    /**< double: step schedule factor in (0, 1] (default 0.1) */
    EC2T_TRAIN_MIN_LR_FACTOR = 426, /**< double: cosine floor as a fraction of the base lr (default 0) */
    EC2T_TRAIN_AUGMENT = 427,       /**< int: 1 = augment training batches as the dataset says (default 1) */
    EC2T_TRAIN_WARMUP = 428,        /**< double: one-cycle warm-up as a fraction of the schedule, in
                                         [0, 1) (default 0.15). Since 0.2. */
    /* read-only state, for progress callbacks */
    EC2T_TRAIN_EPOCH = 440,         /**< int: epochs completed */
    EC2T_TRAIN_STEP = 441,          /**< int: steps completed in the current epoch */
    EC2T_TRAIN_STEPS_PER_EPOCH = 442, /**< int: steps of the current epoch */
    EC2T_TRAIN_TOTAL_STEPS = 443,   /**< int: steps completed since creation */
    EC2T_TRAIN_LOSS = 444,          /**< double: mean loss of the current (or last) epoch so far */
    EC2T_TRAIN_ACCURACY = 445,      /**< double: training accuracy of the current epoch so far, in [0, 1] */
    EC2T_TRAIN_IMAGES_PER_SEC = 446, /**< double: throughput of the current epoch so far */
    EC2T_TRAIN_CURRENT_LR = 447     /**< double: learning-rate factor of the schedule now (1 = base) */
} ec2t_trainer_param;

/**
 * @brief Progress callback of ec2t_trainer_epoch(), called after every step.
 *        Read the state with ec2t_trainer_get_int() / ec2t_trainer_get_double().
 * @return 0 to continue, non-zero to stop: the epoch then returns EC2T_E_ABORTED.
 */
typedef int (*ec2t_train_progress_fn)(void *user, const ec2t_trainer *trainer);

/**
 * @brief Create a trainer for a network; all its trained tensors form group 0.  CONSTRUCTOR: ec2t_trainer
 * @param net the network (borrowed; it must end with a loss layer and outlive the trainer).
 * @param optimizer the optimizer of group 0.
 * @param flags must be 0.
 * @param[out] out the trainer; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (no loss layer, bad argument) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_new(ec2t_net *net, ec2t_optimizer optimizer, uint32_t flags,
                                      ec2t_trainer **out) EC2T_WARN_UNUSED;

/**
 * @brief Free a trainer (not its network).  DESTRUCTOR: ec2t_trainer
 * @param trainer the trainer, or NULL (a no-op).
 */
EC2T_API void ec2t_trainer_free(ec2t_trainer *trainer);

/**
 * @brief Add an empty parameter group.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param optimizer its optimizer, with that optimizer's defaults.
 * @param[out] group the new group's index.
 * @return EC2T_OK, EC2T_E_INVAL (more than 16 groups) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_add_group(ec2t_trainer *trainer, ec2t_optimizer optimizer,
                                            int32_t *group);

/**
 * @brief Move a trained tensor into a group; its optimizer state is reset.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param param_name the tensor's name, such as "fc1.weight".
 * @param group a group index, or -1 to exclude the tensor from training (frozen).
 * @return EC2T_OK or EC2T_E_INVAL (unknown name or group).
 */
EC2T_API ec2t_status ec2t_trainer_assign(ec2t_trainer *trainer, const char *param_name,
                                         int32_t group);

/**
 * @brief Set a setting of one group (EC2T_TRAIN_LR to EC2T_TRAIN_EPS).  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param group the group index.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (bad group or value) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_group_set_double(ec2t_trainer *trainer, int32_t group,
                                                   ec2t_trainer_param param, double value);

/**
 * @brief Read a setting of one group.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param group the group index.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_group_get_double(const ec2t_trainer *trainer, int32_t group,
                                                   ec2t_trainer_param param, double *value);

/**
 * @brief Set an integer setting of the trainer.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_STATE (read-only) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_set_int(ec2t_trainer *trainer, ec2t_trainer_param param,
                                          int64_t value);

/**
 * @brief Set a real-valued setting of the trainer.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_STATE (read-only) or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_set_double(ec2t_trainer *trainer, ec2t_trainer_param param,
                                             double value);

/**
 * @brief Read an integer setting or state value.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_get_int(const ec2t_trainer *trainer, ec2t_trainer_param param,
                                          int64_t *value);

/**
 * @brief Read a real-valued setting or state value.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_trainer_get_double(const ec2t_trainer *trainer,
                                             ec2t_trainer_param param, double *value);

/**
 * @brief The range of an integer setting, inclusive: the values
 *        ec2t_trainer_set_int() accepts, or those a read-only one can take.  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or a real-valued setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_trainer_param_bounds_int(ec2t_trainer_param param, int64_t *lo,
                                                   int64_t *hi);

/**
 * @brief The range of a real-valued setting of the trainer or of a group,
 *        inclusive (an open end, such as lr > 0, is the nearest double inside
 *        it; EC2T_TRAIN_NESTEROV takes only its two ends).  Since 0.2.
 * @param param the setting.
 * @param[out] lo smallest value.
 * @param[out] hi largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer or an integer setting) or EC2T_E_UNSUPPORTED.
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_trainer_param_bounds_double(ec2t_trainer_param param, double *lo,
                                                      double *hi);

/**
 * @brief Install a progress callback (NULL removes it).  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param fn the callback.
 * @param user passed to @p fn.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_trainer_set_progress(ec2t_trainer *trainer, ec2t_train_progress_fn fn,
                                               void *user);

/**
 * @brief One optimisation step on a batch: forward in train mode, backward,
 *        update every group with the learning rate the schedule gives now
 *        (outside ec2t_trainer_epoch() that is its rate at the start of the
 *        current epoch: set a schedule when you drive the steps).  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param images batch * c * h * w floats, NCHW.
 * @param images_count the number of floats at @p images: batch * c * h * w.
 * @param labels batch labels.
 * @param labels_count the number of labels at @p labels: batch.
 * @param batch number of samples, at least 1.
 * @param flags must be 0.
 * @param[out] loss the batch's mean loss before the update (may be NULL).
 * @return EC2T_OK, EC2T_E_INVAL (also a count that does not fit the batch,
 *         refused before anything is read; the message names both shapes) or
 *         EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_step(ec2t_trainer *trainer, const float *images,
                                       size_t images_count, const int32_t *labels,
                                       size_t labels_count, int64_t batch, uint32_t flags,
                                       float *loss);

/**
 * @brief One epoch over a dataset: shuffle (seeded), then steps of
 *        EC2T_TRAIN_BATCH_SIZE samples (a smaller last one), augmented if set.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param data the training set (its order is changed by the shuffle).
 * @param flags must be 0.
 * @param[out] loss mean training loss of the epoch (may be NULL).
 * @param[out] accuracy training accuracy of the epoch in [0, 1] (may be NULL).
 * @return EC2T_OK, EC2T_E_ABORTED (the callback asked to stop; the epoch is
 *         not counted), EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_epoch(ec2t_trainer *trainer, ec2t_dataset *data, uint32_t flags,
                                        double *loss, double *accuracy);

/**
 * @brief Distil a teacher network into the trained one (Hinton et al.,
 *        2015).  METHOD: ec2t_trainer
 *
 * Each step's loss becomes (1 - alpha) times the cross-entropy with the
 * labels plus alpha * T^2 times the mean Kullback-Leibler divergence from the
 * teacher's softened outputs softmax(t / T) to the trained network's
 * softmax(z / T); its gradient is (1 - alpha) (softmax(z) - y) +
 * alpha T (softmax(z / T) - softmax(t / T)) per sample. The teacher runs
 * forward on every batch the trainer steps on (after augmentation), in eval
 * mode, which this call sets: a step costs one more forward pass, of the
 * teacher. The trainer borrows the teacher: it must outlive the trainer or be
 * replaced first (NULL turns distillation off), and must not be used
 * elsewhere while the trainer steps. The losses the trainer reports stay the
 * cross-entropy with the labels. Checkpoints do not hold the teacher: set it
 * again after ec2t_trainer_load_checkpoint(). (An ensemble of teachers is
 * experimental: ec2t_trainer_set_teachers() in <ec2t/experimental.h>.)
 * @param trainer the trainer.
 * @param teacher a network with the trained network's input shape and number
 *        of outputs, or NULL.
 * @param temperature T, from 1 to 100.
 * @param alpha the weight of the teacher's term, from 0 to 1.
 * @return EC2T_OK or EC2T_E_INVAL (a bad argument, or a teacher of another
 *         input shape or output count; the setting is unchanged then).
 */
EC2T_API ec2t_status ec2t_trainer_set_teacher(ec2t_trainer *trainer, ec2t_net *teacher,
                                              double temperature, double alpha);

/**
 * @brief Save a checkpoint: the network, every optimizer state, the RNG state,
 *        the schedule position and the settings, atomically.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param path the file to write.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_IO or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_save_checkpoint(const ec2t_trainer *trainer, const char *path,
                                                  uint32_t flags);

/**
 * @brief Restore a checkpoint into this trainer and its network, which must
 *        have the same architecture and groups. Training then continues
 *        exactly as if it had never stopped.  METHOD: ec2t_trainer
 * @param trainer the trainer.
 * @param path the checkpoint.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_IO, EC2T_E_FORMAT (bad file, or one for another
 *         architecture; nothing is changed then), EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_trainer_load_checkpoint(ec2t_trainer *trainer, const char *path,
                                                  uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_TRAINER_H */
