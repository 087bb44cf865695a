/* SPDX-License-Identifier: MIT */
/**
 * @file engine.h
 * @brief ec2t_engine: the ternary inference engine and the deployable .ec2t file.
 *
 * ec2t_engine_compile() turns a network (any network: layers with at most
 * three distinct weight values {-a, 0, +b} run on the ternary kernels, the
 * others as dense float) into a compact program: batchnorm folded into
 * per-channel scales and biases, ReLUs fused, dead channels removed where
 * that changes no output, ternary layers packed for kernels chosen for this
 * CPU. The dot product of a ternary layer is two masked sums and two
 * multiplications: y = a_p * sum x[P] - a_n * sum x[N] + b.
 *
 * Running never allocates: ask ec2t_engine_workspace_size() once, pass a
 * buffer of that size to ec2t_engine_run(). An engine is read-only while it
 * runs, so several threads may run one engine at the same time, each with its
 * own workspace; the results do not depend on the number of threads.
 */
#ifndef EC2T_ENGINE_H
#define EC2T_ENGINE_H

#include <ec2t/common.h>
#include <ec2t/net.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A compiled network. */
typedef struct ec2t_engine ec2t_engine;

/** @brief Engine settings and read-only facts (ec2t_engine_set_int / _get_int). Append only. */
typedef enum ec2t_engine_param {
    /** int: kernel set to run, an ec2t_isa (default EC2T_ISA_AUTO: the best this CPU has;
     *  an ISA the CPU lacks falls back to the best it has). */
    EC2T_ENGINE_ISA = 300,
    /** int: how ec2t_engine_save() stores ternary layers, an ec2t_encoding (default ENTROPY). */
    EC2T_ENGINE_ENCODING = 301,
    /** int: 1 = a ternary layer may run on the dense float kernels where they are
     *  faster for its shape and sparsity (the default); 0 = always the ternary kernels. */
    EC2T_ENGINE_DENSE_FALLBACK = 302,
    /** int: bits of each float (float weights, biases, scales, ternary levels) in files that
     *  ec2t_engine_save() writes with the ENTROPY encoding: 32 (the default, exact) or 16
     *  (IEEE half precision, lossy: about 3 significant digits, half the bytes). Saving
     *  with 16 and the RAW encoding fails with EC2T_E_INVAL; so does a value that half
     *  precision cannot hold (above 65504 in magnitude). */
    EC2T_ENGINE_FLOAT_BITS = 303,
    EC2T_ENGINE_OPS = 320,            /**< int, read only: operations of the compiled program */
    EC2T_ENGINE_TERNARY_LAYERS = 321, /**< int, read only: layers packed as ternary */
    EC2T_ENGINE_INPUT_C = 322,        /**< int, read only: input channels */
    EC2T_ENGINE_INPUT_H = 323,        /**< int, read only: input height */
    EC2T_ENGINE_INPUT_W = 324,        /**< int, read only: input width */
    EC2T_ENGINE_OUTPUTS = 325,        /**< int, read only: output values per sample (classes) */
    EC2T_ENGINE_DEAD_CHANNELS = 326,  /**< int, read only: output channels removed as dead */
    EC2T_ENGINE_ACTIVE_ISA = 327,     /**< int, read only: the ec2t_isa that runs now */
    EC2T_ENGINE_ADDS = 328,           /**< int, read only: additions of one sample (ternary sums counted once per non-zero) */
    EC2T_ENGINE_MULTS = 329           /**< int, read only: multiplications of one sample */
} ec2t_engine_param;

/** @brief Kernel sets. Append only. */
typedef enum ec2t_isa {
    EC2T_ISA_AUTO = 0,      /**< the best the CPU supports */
    EC2T_ISA_REFERENCE = 1, /**< plain C, the truth the others are tested against */
    EC2T_ISA_AVX2 = 2,      /**< x86-64 AVX2 and FMA */
    EC2T_ISA_AVX512 = 3     /**< x86-64 AVX-512 (F, BW, VL, DQ) */
} ec2t_isa;

/** @brief Encodings of ternary layers in .ec2t files. Append only. */
typedef enum ec2t_encoding {
    EC2T_ENCODING_RAW = 0,    /**< keyed layout, 2 bits per weight (TERNARY_2B): simple, mmap-friendly */
    EC2T_ENCODING_ENTROPY = 1 /**< packed layout, ternary layers and floats in one context-adaptive
                                   range-coded stream: smallest */
} ec2t_encoding;

/**
 * @brief Compile a network for inference (in eval-mode semantics: batchnorm
 *        uses its running statistics, dropout is the identity).  CONSTRUCTOR: ec2t_engine
 *
 * The engine copies what it needs: the network may be changed or freed afterwards.
 * @param net the network (its loss layer, if any, is left out: the engine outputs logits).
 * @param flags must be 0.
 * @param[out] out the engine; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_UNSUPPORTED (a layer the engine cannot run) or EC2T_E_NOMEM
 *         (also when the workspace of one sample is over EC2T_CTX_LOAD_LIMIT).
 */
EC2T_API ec2t_status ec2t_engine_compile(const ec2t_net *net, uint32_t flags, ec2t_engine **out)
    EC2T_WARN_UNUSED;

/**
 * @brief Free an engine.  DESTRUCTOR: ec2t_engine
 * @param engine the engine, or NULL (a no-op).
 */
EC2T_API void ec2t_engine_free(ec2t_engine *engine);

/**
 * @brief Set a setting.  METHOD: ec2t_engine
 * @param engine the engine.
 * @param param the setting.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL, EC2T_E_STATE (read only) or EC2T_E_UNSUPPORTED.
 * @threadsafety Not while the engine runs.
 */
EC2T_API ec2t_status ec2t_engine_set_int(ec2t_engine *engine, ec2t_engine_param param, int64_t value);

/**
 * @brief Read a setting or fact.  METHOD: ec2t_engine
 * @param engine the engine.
 * @param param the setting.
 * @param[out] value its value.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_UNSUPPORTED.
 */
EC2T_API ec2t_status ec2t_engine_get_int(const ec2t_engine *engine, ec2t_engine_param param,
                                         int64_t *value);

/**
 * @brief The range of an engine setting, inclusive: the values ec2t_engine_set_int()
 *        may accept (EC2T_ENGINE_FLOAT_BITS takes only its two ends), or those a
 *        read-only one can take.  Since 0.2.
 * @param param the setting.
 * @param[out] lo receives the smallest value.
 * @param[out] hi receives the largest value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer) or EC2T_E_UNSUPPORTED (unknown setting).
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_engine_param_bounds(ec2t_engine_param param, int64_t *lo, int64_t *hi);

/**
 * @brief Bytes of workspace ec2t_engine_run() needs for a batch.  METHOD: ec2t_engine
 * @param engine the engine.
 * @param batch number of samples, at least 1.
 * @param[out] bytes receives the size (any alignment of the buffer is fine).
 * @return EC2T_OK, EC2T_E_INVAL, or EC2T_E_NOMEM when the size is above the
 *         context's EC2T_CTX_LOAD_LIMIT (the message says how much; @p bytes
 *         is then left unchanged).
 */
EC2T_API ec2t_status ec2t_engine_workspace_size(const ec2t_engine *engine, int64_t batch,
                                                size_t *bytes);

/**
 * @brief Run a batch. Allocates nothing.  METHOD: ec2t_engine
 *
 * The input's size is checked, never assumed: a count other than
 * batch * C * H * W (EC2T_ENGINE_INPUT_C, _H, _W) is refused with
 * EC2T_E_INVAL and a message naming both shapes, such as "input holds 3000
 * floats; a batch of 2 of 3x32x32 needs 6144", before anything is read.
 * @param engine the engine.
 * @param input batch * C * H * W floats, NCHW.
 * @param input_count the number of floats at @p input: batch * C * H * W.
 * @param batch number of samples, at least 1.
 * @param output receives batch * outputs floats (N x outputs).
 * @param output_cap capacity of @p output in floats.
 * @param workspace at least ec2t_engine_workspace_size(batch) bytes.
 * @param workspace_bytes its size.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (also an @p input_count that is not
 *         batch * C * H * W), EC2T_E_RANGE (output or workspace too small;
 *         nothing written).
 * @threadsafety Several threads may run one engine at once, each with its own workspace.
 */
EC2T_API ec2t_status ec2t_engine_run(const ec2t_engine *engine, const float *input,
                                     size_t input_count, int64_t batch, float *output,
                                     size_t output_cap, void *workspace, size_t workspace_bytes,
                                     uint32_t flags);

/**
 * @brief Attach a metadata string saved with the engine (such as "source" or
 *        "test_accuracy"); a later value replaces an earlier one.  METHOD: ec2t_engine
 * @param engine the engine.
 * @param key 1 to 63 bytes of [a-z0-9_.].
 * @param value a UTF-8 string of at most 4096 bytes.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_engine_set_meta(ec2t_engine *engine, const char *key, const char *value);

/**
 * @brief A metadata string.  METHOD: ec2t_engine
 * @param engine the engine.
 * @param key the key.
 * @param[out] value a borrowed string, valid until the engine is changed or freed.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument or no such key).
 */
EC2T_API ec2t_status ec2t_engine_get_meta(const ec2t_engine *engine, const char *key,
                                          const char **value);

/**
 * @brief Save as a deployable .ec2t file (doc/FORMAT.md §13, format version 1), atomically.
 * METHOD: ec2t_engine
 *
 * The format has two forms, and ec2t_engine_load() reads both. With
 * EC2T_ENGINE_ENCODING ENTROPY (the default) the file is in the packed
 * layout, the smallest: the ternary layers and the floats (in 32 or 16 bits,
 * EC2T_ENGINE_FLOAT_BITS) entropy-coded in one stream. With RAW it is in the keyed layout: ternary
 * layers as 2-bit masks and floats in 32 bits, each array aligned for mmap.
 * A failed save leaves an existing file as it was.
 * @param engine the engine.
 * @param path the file.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL (also RAW with 16-bit floats, or a float too
 *         large for 16 bits), EC2T_E_IO or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_engine_save(const ec2t_engine *engine, const char *path, uint32_t flags);

/**
 * @brief Load a .ec2t file.  CONSTRUCTOR: ec2t_engine
 * @param ctx the context.
 * @param path the file.
 * @param flags must be 0.
 * @param[out] out the engine; NULL on failure.
 * @return EC2T_OK, EC2T_E_IO, EC2T_E_FORMAT (anything malformed, truncated,
 *         inconsistent or failing its checksum; the message says what),
 *         EC2T_E_UNSUPPORTED (a newer format), EC2T_E_INVAL or EC2T_E_NOMEM
 *         (also when the file, its ternary layers or the workspace of one
 *         sample need more memory than the context's EC2T_CTX_LOAD_LIMIT
 *         allows; the message says how much).
 */
EC2T_API ec2t_status ec2t_engine_load(ec2t_context *ctx, const char *path, uint32_t flags,
                                      ec2t_engine **out) EC2T_WARN_UNUSED;

/**
 * @brief Load a .ec2t image from memory (copied); the rules of ec2t_engine_load().  CONSTRUCTOR: ec2t_engine
 * @param ctx the context.
 * @param buf the bytes.
 * @param len their count.
 * @param flags must be 0.
 * @param[out] out the engine; NULL on failure.
 * @return as ec2t_engine_load(), without EC2T_E_IO.
 */
EC2T_API ec2t_status ec2t_engine_load_mem(ec2t_context *ctx, const void *buf, size_t len,
                                          uint32_t flags, ec2t_engine **out) EC2T_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* EC2T_ENGINE_H */
