/* SPDX-License-Identifier: MIT */
/**
 * @file experimental.h
 * @brief The experimental API: research switches and functions that are
 *        outside the stable ABI.
 *
 * **Unstable.** Everything declared here may change or vanish in any release,
 * without a soversion bump and without a deprecation period. Use it to
 * reproduce the EC2T work or to try an idea; do not build a product on it.
 *
 * Opt in explicitly, as with zstd's ZSTD_STATIC_LINKING_ONLY:
 *
 *     #define EC2T_ENABLE_EXPERIMENTAL
 *     #include <ec2t/ec2t.h>          (or <ec2t/experimental.h>)
 *
 * Without the definition the umbrella header does not include this one, and
 * including it directly is an error.
 *
 * How experimental parts are kept apart from the stable ones:
 * - functions are exported under the version node LIBEC2T_EXPERIMENTAL, which
 *   the ABI gate (abi/libec2t.abignore) ignores;
 * - keys take values from 1000 on in their object's key space, so that no
 *   stable enum holds them; they are macros of the stable key type, passed to
 *   the stable setters and getters (ec2t_trainer_set_int() and so on), which
 *   accept them;
 * - flags take bits 16 and up of their flags word.
 */
#ifndef EC2T_EXPERIMENTAL_H
#define EC2T_EXPERIMENTAL_H

#ifndef EC2T_ENABLE_EXPERIMENTAL
#error "<ec2t/experimental.h> is unstable: #define EC2T_ENABLE_EXPERIMENTAL before including it"
#endif

#include <ec2t/common.h>
#include <ec2t/dataset.h>
#include <ec2t/engine.h>
#include <ec2t/net.h>
#include <ec2t/report.h>
#include <ec2t/scaler.h>
#include <ec2t/ternarize.h>
#include <ec2t/trainer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- trainer: distillation from an ensemble ------------------------------ */

/**
 * @brief int trainer setting: 1 = every teacher also sees each batch mirrored
 *        left to right, and its softened outputs are the mean over the two
 *        views, a better teacher where mirror images are as likely as the
 *        originals (default 0; like the teachers, not held by checkpoints).
 */
#define EC2T_TRAIN_TEACHER_MIRROR ((ec2t_trainer_param)1000)

/** @brief The most teachers ec2t_trainer_set_teachers() takes. */
#define EC2T_TRAINER_MAX_TEACHERS 8

/**
 * @brief Distil from an ensemble: replace the trainer's teachers with
 *        @p n networks.  METHOD: ec2t_trainer
 *
 * The softened target is the mean of the teachers' softened outputs,
 * (1/n) sum_j softmax(t_j / T); loss, gradient, borrowing and eval mode are
 * those of ec2t_trainer_set_teacher(), which is this call with one teacher.
 * Every teacher runs forward on every batch; a network listed twice counts
 * twice. This is the only way to give several teachers: one call with the
 * whole list, checked as a whole.
 * @param trainer the trainer.
 * @param teachers @p n networks, each with the trained network's input shape
 *        and number of outputs (may be NULL when @p n is 0).
 * @param n 0 (distillation off) to EC2T_TRAINER_MAX_TEACHERS.
 * @param temperature T, from 1 to 100 (ignored when @p n is 0).
 * @param alpha the weight of the teachers' term, from 0 to 1 (ignored when @p n is 0).
 * @return EC2T_OK or EC2T_E_INVAL (a bad argument, a NULL teacher, the trained
 *         network itself, or a teacher of another input shape or output count;
 *         the teachers are unchanged then).
 */
EC2T_API ec2t_status ec2t_trainer_set_teachers(ec2t_trainer *trainer, ec2t_net *const *teachers,
                                               int32_t n, double temperature, double alpha);

/* ---- trainer: data-parallel training through a collective hook ---------- */

/**
 * @brief The collective operations a data-parallel trainer needs, supplied
 *        by the caller (for example over MPI: examples/mpi-hook.c), so that
 *        the library itself never links a communication library.
 *
 * Every rank runs the same program on the same network, settings and data,
 * and calls the same trainer functions in the same order; the trainer then
 * calls these operations in the same order on every rank. Each returns 0 on
 * success and non-zero on failure; after a failure, or after abort() on any
 * rank, the operations on every rank must fail or end the process promptly
 * instead of waiting (MPI_Abort does this for MPI). Results must be
 * identical on every rank (MPI_Allreduce's are in practice).
 *
 * The struct may grow at its end: set struct_size to sizeof(ec2t_collective)
 * of the header you compiled with; the trainer reads only what is there.
 */
typedef struct ec2t_collective {
    /** sizeof(ec2t_collective) as the caller compiled it */
    uint32_t struct_size;
    /** passed to every function below */
    void *user;
    /** this process's rank, 0 .. size() - 1 */
    int32_t (*rank)(void *user);
    /** the number of ranks, at least 1 */
    int32_t (*size)(void *user);
    /** blocking all-reduce: buf[i] becomes the sum over the ranks of buf[i], n >= 1 */
    int32_t (*allreduce_sum)(void *user, float *buf, int64_t n);
    /** blocking broadcast of @p bytes bytes from rank @p root to every rank */
    int32_t (*broadcast)(void *user, void *buf, int64_t bytes, int32_t root);
    /** optional (NULL: allreduce_sum is used): start the same all-reduce
     *  without waiting and set *request; buf is not touched until wait() */
    int32_t (*allreduce_start)(void *user, float *buf, int64_t n, void **request);
    /** optional, with allreduce_start: finish a started all-reduce */
    int32_t (*wait)(void *user, void *request);
    /** this rank failed (the message says why): make every rank stop with
     *  an error; may not return (MPI_Abort) */
    void (*abort)(void *user, const char *message);
} ec2t_collective;

/** @brief Flag of ec2t_trainer_set_collective(): batch norm normalises with
 *         the statistics of each rank's slice only (no communication in the
 *         forward pass; not one process with the global batch any more). */
#define EC2T_COLLECTIVE_LOCAL_BN (1u << 0)

/**
 * @brief Train data-parallel: every rank takes its slice of each global
 *        batch, and the trainer behaves as one process with the global
 *        batch.  METHOD: ec2t_trainer
 *
 * With a hook of size() ranks, ec2t_trainer_epoch() on every rank shuffles
 * the same data the same way, reads each global batch of EC2T_TRAIN_BATCH_SIZE
 * samples (augmented the same way) and runs forward and backward on samples
 * [B r / size, B (r + 1) / size) only; the gradients of the network's
 * parameters are summed across ranks in buckets (about 256 KB each), each
 * started as soon as the backward pass has produced it, so that
 * communication overlaps the rest of the backward pass when the hook has
 * allreduce_start(); every rank then applies the same update, and the
 * ternarizer's hooks (EC2T phases A and B: w_p/w_n gradients, the
 * assignment and the target-sparsity steering) see the summed gradients and
 * identical weights. ec2t_trainer_step() takes the global batch, identical
 * on every rank. Loss and accuracy are those of the global batch. A final
 * batch with fewer samples than ranks is skipped.
 *
 * Batch norm is synchronised by default: the mean, variance and the sums of
 * its backward pass are all-reduced (three all-reduces of C or 2C floats
 * per layer and step), which makes the result that of one process with the
 * global batch whatever the number of ranks; without it (flag
 * EC2T_COLLECTIVE_LOCAL_BN) each rank normalises by its slice, as PyTorch's
 * DistributedDataParallel does, and the running statistics are averaged
 * over the ranks at the end of each epoch.
 *
 * At the first step and at each epoch the ranks compare a hash of the
 * network, the settings, the data set's size and the trained state (one
 * all-reduce of 64 floats); ranks that differ are refused with
 * EC2T_E_INVAL and a message on every rank. A local failure inside a step
 * or an epoch calls the hook's abort(). ec2t_trainer_save_checkpoint()
 * writes on rank 0 only and returns rank 0's status on every rank;
 * ec2t_trainer_load_checkpoint() reads on every rank (the file must be
 * visible to all) and fails on all if it fails on one.
 *
 * @param trainer the trainer.
 * @param collective the hook (copied: up to its struct_size bytes), or NULL
 *        to train alone again.
 * @param flags 0 or EC2T_COLLECTIVE_LOCAL_BN.
 * @return EC2T_OK, EC2T_E_INVAL (a bad table: struct_size too small, a
 *         required function missing, rank outside 0 .. size - 1) or
 *         EC2T_E_NOMEM.
 * @threadsafety Not while the trainer runs.
 */
EC2T_API ec2t_status ec2t_trainer_set_collective(ec2t_trainer *trainer,
                                                 const ec2t_collective *collective, uint32_t flags);

/* ---- ternarizer: the reference code's constants and quirks ---------------- */

/** @brief int ternarizer setting: 1 = the reference code's sign for dL/dw_n
 *         (+sum g instead of -sum g, inherited from TTQ; default 0). */
#define EC2T_TERN_COMPAT_TTQ_SIGN ((ec2t_tern_param)1000)
/** @brief double ternarizer setting: the sustain s of the layer-size factor
 *         delta = (n / n_max + s) / (1 + s) (>= 0; default 0.05). */
#define EC2T_TERN_SUSTAIN ((ec2t_tern_param)1001)
/** @brief double ternarizer setting: centroid floor as a multiple of the
 *         shadow weights' standard deviation (>= 0; default 0.675; 0 disables it). */
#define EC2T_TERN_FLOOR ((ec2t_tern_param)1002)

/* ---- report: the scoring script's conventions ---------------------------- */

/**
 * @brief Flag of ec2t_report_new(): count exactly as the EC2T authors'
 *        scoring script (model_scoring/main_scoring.py) does, quirks included:
 *        a convolution drops the input channels that match the dead output
 *        channels of the previous counted convolution of its kind (ternary or
 *        full precision), even across a residual addition; only the last
 *        residual addition of the network is counted; every ternary layer
 *        needs two multiplications per output, even with one non-zero value.
 *        The thesis' Table 5.3 is EC2T_REPORT_TREE_ADDER |
 *        EC2T_REPORT_COMPRESSED_FORMATS | EC2T_REPORT_COMPAT_SCRIPT for the
 *        ternary networks and EC2T_REPORT_STORE_32BIT | EC2T_REPORT_MULT_32BIT
 *        | EC2T_REPORT_COMPAT_SCRIPT for the full-precision one.
 */
#define EC2T_REPORT_COMPAT_SCRIPT (1u << 16)

/* ---- scaler: the thesis' grid search -------------------------------------- */

/**
 * @brief Progress callback of ec2t_scaler_grid_search(), after each candidate.
 * @return 0 to continue, non-zero to stop (the search returns EC2T_E_ABORTED).
 */
typedef int (*ec2t_scale_progress_fn)(void *user, int32_t candidate, double depth, double width,
                                      double accuracy);

/**
 * @brief The thesis' grid search: for each (depth[i], width[i]) with phi = 1,
 *        build the scaled network from scratch, train it @p epochs epochs
 *        with a fixed recipe (SGD, Nesterov momentum 0.9, lr 0.1, cosine,
 *        weight decay 5e-4) and measure its validation accuracy.  METHOD: ec2t_scaler
 * @param scaler the scaler (its seed is used).
 * @param base the base network.
 * @param depth @p n base depth multipliers.
 * @param width @p n base width multipliers.
 * @param n number of candidates (1 to 64).
 * @param train training set.
 * @param val validation set.
 * @param epochs epochs per candidate (at least 1).
 * @param fn progress callback, or NULL.
 * @param user passed to @p fn.
 * @param[out] accuracy receives @p n validation accuracies in [0, 1].
 * @return EC2T_OK, EC2T_E_ABORTED, EC2T_E_INVAL, EC2T_E_UNSUPPORTED or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_scaler_grid_search(const ec2t_scaler *scaler, const ec2t_net *base,
                                             const double *depth, const double *width, int32_t n,
                                             ec2t_dataset *train, ec2t_dataset *val,
                                             int32_t epochs, ec2t_scale_progress_fn fn, void *user,
                                             double *accuracy);

/* ---- engine: int8 activations ---------------------------------------------- */

/**
 * @brief int engine setting: the precision ternary convolutions run in, an
 *        EC2T_PRECISION_* value (default EC2T_PRECISION_FLOAT).
 *
 * With EC2T_PRECISION_INT8 every ternary convolution quantises its input to
 * 8 bits with the scale and zero point ec2t_engine_calibrate() chose for it,
 * sums its +1 and its -1 inputs as two exact integer sums, and applies its
 * two levels, bias, residual and ReLU in float; every other operation
 * (float layers, ternary dense layers, pooling, residual additions) stays in
 * float. Setting it fails with EC2T_E_STATE until the engine is calibrated.
 * The workspace of int8 may be larger: ask ec2t_engine_workspace_size()
 * after setting it.
 */
#define EC2T_ENGINE_PRECISION ((ec2t_engine_param)1000)
/** @brief EC2T_ENGINE_PRECISION: 32-bit float activations everywhere. */
#define EC2T_PRECISION_FLOAT 0
/** @brief EC2T_ENGINE_PRECISION: 8-bit activations into ternary convolutions. */
#define EC2T_PRECISION_INT8 1

/**
 * @brief Calibrate the int8 precision on sample inputs: run them in float
 *        and give the input of every ternary convolution a scale and zero
 *        point that cover the values seen there.  METHOD: ec2t_engine
 *
 * The scale is per layer input (one for all channels: the integer sum of a
 * ternary row adds every channel with weight +-1); the range always holds 0,
 * so that zero padding is exact. A few hundred inputs like the ones the
 * engine will see are enough. The precision setting is not changed; the
 * engine's float results are not either. Allocates (this is not a run).
 * @param engine the engine.
 * @param input @p n samples, NCHW, as ec2t_engine_run() takes them.
 * @param input_count the number of floats at @p input: n * C * H * W.
 * @param n number of samples, 1 to 2^24.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (a bad argument, a count other than
 *         n * C * H * W, or a non-finite value reaching a ternary
 *         convolution) or EC2T_E_NOMEM; on failure the engine's earlier
 *         calibration, if any, is unchanged.
 * @threadsafety Not while the engine runs.
 */
EC2T_API ec2t_status ec2t_engine_calibrate(ec2t_engine *engine, const float *input,
                                           size_t input_count, int64_t n, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_EXPERIMENTAL_H */
