/* SPDX-License-Identifier: MIT */
/**
 * @file tensor.h
 * @brief ec2t_tensor: a dense float32 array of rank 1 to 4 (NCHW order), with
 *        64-byte aligned storage, random initialisation and NumPy .npy I/O.
 */
#ifndef EC2T_TENSOR_H
#define EC2T_TENSOR_H

#include <ec2t/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest tensor rank. Runtime twin: ec2t_max_dims(). */
#define EC2T_MAX_DIMS 4

/** @brief Alignment in bytes of every tensor's data. */
#define EC2T_TENSOR_ALIGN 64

/** @brief The runtime twin of EC2T_MAX_DIMS, for bindings.
 *  @return EC2T_MAX_DIMS. */
EC2T_API int32_t ec2t_max_dims(void);

/** @brief A float32 tensor. */
typedef struct ec2t_tensor ec2t_tensor;

/** @brief Fan used by Kaiming initialisation. */
typedef enum ec2t_fan_mode {
    EC2T_FAN_IN = 0,  /**< elements per output unit: numel / dims[0] (PyTorch's default) */
    EC2T_FAN_OUT = 1  /**< dims[0] * (numel / (dims[0] * dims[1])) */
} ec2t_fan_mode;

/**
 * @brief Create a tensor filled with zeros.  CONSTRUCTOR: ec2t_tensor
 * @param ctx the context (allocator, error text).
 * @param rank 1 to EC2T_MAX_DIMS.
 * @param dims @p rank extents, each at least 1, outermost first (N, C, H, W).
 * @param[out] out the new tensor; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (bad rank or extent, NULL pointer) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_tensor_new(ec2t_context *ctx, int32_t rank, const int64_t *dims,
                                     ec2t_tensor **out) EC2T_WARN_UNUSED;

/**
 * @brief Free a tensor.  DESTRUCTOR: ec2t_tensor
 *
 * NULL is a no-op. Tensors borrowed from another object (a network's
 * parameters) are owned by that object: freeing them here does nothing.
 * @param t the tensor, or NULL.
 */
EC2T_API void ec2t_tensor_free(ec2t_tensor *t);

/** @brief The rank of a tensor.  METHOD: ec2t_tensor
 *  @param t the tensor.
 *  @return 1 to 4, or 0 when @p t is NULL. */
EC2T_API int32_t ec2t_tensor_rank(const ec2t_tensor *t);

/** @brief The extent of one axis.  METHOD: ec2t_tensor
 *  @param t the tensor.
 *  @param axis 0 (outermost) to rank - 1.
 *  @return the extent, or 0 when @p t is NULL or the axis is out of range. */
EC2T_API int64_t ec2t_tensor_dim(const ec2t_tensor *t, int32_t axis);

/** @brief The number of elements.  METHOD: ec2t_tensor
 *  @param t the tensor.
 *  @return the element count, or 0 when @p t is NULL. */
EC2T_API int64_t ec2t_tensor_numel(const ec2t_tensor *t);

/**
 * @brief Copy the shape out.  METHOD: ec2t_tensor
 * @param t the tensor.
 * @param dims receives the extents; may be NULL when @p cap is 0.
 * @param cap number of entries @p dims can hold.
 * @param[out] rank receives the rank (also on EC2T_E_RANGE); may be NULL.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_RANGE (cap below the rank).
 */
EC2T_API ec2t_status ec2t_tensor_shape(const ec2t_tensor *t, int64_t *dims, int32_t cap,
                                       int32_t *rank);

/**
 * @brief Copy the elements out, in C order.  METHOD: ec2t_tensor
 * @param t the tensor.
 * @param dst destination; may be NULL when @p cap is 0 (size query).
 * @param cap capacity of @p dst in elements.
 * @param[out] needed receives numel (also on EC2T_E_RANGE); may be NULL.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_RANGE (cap < numel; nothing copied).
 */
EC2T_API ec2t_status ec2t_tensor_read(const ec2t_tensor *t, float *dst, size_t cap,
                                      size_t *needed);

/**
 * @brief Copy elements in, in C order.  METHOD: ec2t_tensor
 * @param t the tensor.
 * @param src numel floats.
 * @param count must equal numel.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer, or count differs from numel).
 */
EC2T_API ec2t_status ec2t_tensor_write(ec2t_tensor *t, const float *src, size_t count);

/**
 * @brief The tensor's storage, for callers that need zero-copy access.  METHOD: ec2t_tensor
 * @param t the tensor.
 * @return a borrowed pointer to numel floats, valid until the tensor is
 *         reshaped or freed; NULL when @p t is NULL.
 */
EC2T_API float *ec2t_tensor_data(ec2t_tensor *t);

/** @brief Set every element to @p value.  METHOD: ec2t_tensor
 *  @param t the tensor.
 *  @param value the value.
 *  @return EC2T_OK or EC2T_E_INVAL. */
EC2T_API ec2t_status ec2t_tensor_fill(ec2t_tensor *t, float value);

/**
 * @brief Fill with independent draws from U[lo, hi).  METHOD: ec2t_tensor
 * @param t the tensor.
 *
 * The values depend only on @p seed and numel: the same on every platform.
 * @param lo lower bound (included).
 * @param hi upper bound (excluded unless equal to @p lo).
 * @param seed the seed.
 * @return EC2T_OK or EC2T_E_INVAL (NULL tensor, lo > hi, non-finite bound).
 */
EC2T_API ec2t_status ec2t_tensor_init_uniform(ec2t_tensor *t, float lo, float hi, uint64_t seed);

/**
 * @brief Fill with independent draws from N(mean, stddev^2).  METHOD: ec2t_tensor
 * @param t the tensor.
 * @param mean the mean.
 * @param stddev the standard deviation, at least 0.
 * @param seed the seed.
 * @return EC2T_OK or EC2T_E_INVAL (NULL tensor, stddev < 0, non-finite argument).
 */
EC2T_API ec2t_status ec2t_tensor_init_normal(ec2t_tensor *t, float mean, float stddev,
                                             uint64_t seed);

/**
 * @brief Kaiming-normal initialisation for a ReLU network: N(0, 2 / fan).  METHOD: ec2t_tensor
 * @param t the tensor.
 *
 * The tensor is read as a weight of shape (out, in, kh, kw) or (out, in).
 * @param mode which fan sets the variance.
 * @param seed the seed.
 * @return EC2T_OK or EC2T_E_INVAL (NULL tensor, rank 1 tensor, unknown mode).
 */
EC2T_API ec2t_status ec2t_tensor_init_kaiming(ec2t_tensor *t, ec2t_fan_mode mode, uint64_t seed);

/**
 * @brief Give the tensor a new shape with the same number of elements; no copy.  METHOD: ec2t_tensor
 * @param t the tensor.
 * @param rank the new rank, 1 to EC2T_MAX_DIMS.
 * @param dims the new extents.
 * @return EC2T_OK, EC2T_E_INVAL (bad shape, or a different element count) or
 *         EC2T_E_STATE (the tensor is borrowed from a network, whose shape it must keep).
 */
EC2T_API ec2t_status ec2t_tensor_reshape(ec2t_tensor *t, int32_t rank, const int64_t *dims);

/**
 * @brief Save as a NumPy .npy file (format 1.0, dtype '<f4', C order).  METHOD: ec2t_tensor
 * @param t the tensor.
 *
 * The file is written atomically: to a temporary file in the same folder,
 * flushed to disk, then renamed over @p path. An existing file is never left
 * half written.
 * @param path the file to write.
 * @param flags must be 0.
 * @return EC2T_OK, EC2T_E_INVAL or EC2T_E_IO.
 */
EC2T_API ec2t_status ec2t_tensor_save_npy(const ec2t_tensor *t, const char *path, uint32_t flags);

/**
 * @brief Load a NumPy .npy file of dtype '<f4' in C order, rank 1 to 4.  CONSTRUCTOR: ec2t_tensor
 * @param ctx the context.
 * @param path the file to read.
 * @param flags must be 0.
 * @param[out] out the new tensor; NULL on failure.
 * @return EC2T_OK; EC2T_E_IO (cannot read); EC2T_E_FORMAT (bad magic or
 *         header, other dtype, Fortran order, bad rank or extent, data size
 *         not matching the shape); EC2T_E_INVAL; EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_tensor_load_npy(ec2t_context *ctx, const char *path, uint32_t flags,
                                          ec2t_tensor **out) EC2T_WARN_UNUSED;

/**
 * @brief Load a .npy image from memory; the same rules as ec2t_tensor_load_npy().  CONSTRUCTOR: ec2t_tensor
 * @param ctx the context.
 * @param buf the bytes (not retained).
 * @param len their count.
 * @param flags must be 0.
 * @param[out] out the new tensor; NULL on failure.
 * @return as ec2t_tensor_load_npy(), without EC2T_E_IO.
 */
EC2T_API ec2t_status ec2t_tensor_load_npy_mem(ec2t_context *ctx, const void *buf, size_t len,
                                              uint32_t flags, ec2t_tensor **out)
    EC2T_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* EC2T_TENSOR_H */
