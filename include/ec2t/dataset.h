/* SPDX-License-Identifier: MIT */
/**
 * @file dataset.h
 * @brief ec2t_dataset: labelled images from IDX files (MNIST, Fashion-MNIST;
 *        raw or gzip), CIFAR-10/100 binary batches or caller arrays, with
 *        per-channel normalisation, seeded shuffling, mini-batches and
 *        augmentation (random crop with padding, horizontal flip).
 *
 * Pixels of 8-bit sources become floats in [0, 1] (value / 255); then each
 * channel is normalised as (x - mean[c]) / std[c] (mean 0, std 1 until set).
 * Batches come out in NCHW order.
 */
#ifndef EC2T_DATASET_H
#define EC2T_DATASET_H

#include <ec2t/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A set of labelled images. */
typedef struct ec2t_dataset ec2t_dataset;

/** @brief Which labels a CIFAR binary file holds. */
typedef enum ec2t_cifar_kind {
    EC2T_CIFAR10 = 10,          /**< 1 label byte + 3072 pixel bytes per record */
    EC2T_CIFAR100_FINE = 100,   /**< coarse byte, fine byte, 3072 pixels; 100 fine classes */
    EC2T_CIFAR100_COARSE = 101  /**< the same records, labelled with the 20 coarse classes */
} ec2t_cifar_kind;

/** @brief Dataset options for ec2t_dataset_set_int(). Append only. */
typedef enum ec2t_dataset_param {
    /** int: seed of the augmentation draws (any int64; default: the context's seed
     *  when the dataset is made). Setting it restarts the generator. */
    EC2T_DATA_SEED = 600,
    /** int: random-crop padding in pixels, 0 = off (0 to 64; default 0). */
    EC2T_DATA_CROP_PAD = 601,
    /** int: 1 = random horizontal flip with probability 1/2, 0 = off (default 0). */
    EC2T_DATA_HFLIP = 602,
    /** int: Cutout (DeVries and Taylor, 2017): side in pixels of a square set to
     *  0 after normalisation (the mean), centred on a uniformly drawn pixel and
     *  clipped at the borders; 0 = off (0 to 64; default 0). */
    EC2T_DATA_CUTOUT = 603
} ec2t_dataset_param;

/** @brief Flag of ec2t_dataset_get_batch(): apply the augmentation that is set. */
#define EC2T_BATCH_AUGMENT 1u

/**
 * @brief Load an IDX image file and its IDX label file.  CONSTRUCTOR: ec2t_dataset
 *
 * Images: magic 0x00000803, unsigned bytes, shape (count, rows, cols), one
 * channel. Labels: magic 0x00000801, unsigned bytes, shape (count). Either file
 * may be gzip-compressed (detected from its first bytes, not its name).
 * @param ctx the context.
 * @param images_path the image file.
 * @param labels_path the label file.
 * @param flags must be 0.
 * @param[out] out the new dataset; NULL on failure.
 * @return EC2T_OK; EC2T_E_IO (cannot read); EC2T_E_FORMAT (bad magic, bad or
 *         absurd sizes, truncated or corrupt data, counts that differ between
 *         the two files; the message names the file and the problem);
 *         EC2T_E_INVAL; EC2T_E_NOMEM (also when the dataset would hold more
 *         than the context's EC2T_CTX_LOAD_LIMIT: count * (pixels + 13)
 *         bytes). Memory follows the bytes actually there: a gzip file's
 *         data is read into a buffer that grows as it is inflated, so a
 *         header announcing more than the file holds is refused (truncated)
 *         having cost about three times what it holds.
 */
EC2T_API ec2t_status ec2t_dataset_load_idx(ec2t_context *ctx, const char *images_path,
                                           const char *labels_path, uint32_t flags,
                                           ec2t_dataset **out) EC2T_WARN_UNUSED;

/**
 * @brief Load CIFAR-10 or CIFAR-100 binary batch files, concatenated in the
 *        order given.  CONSTRUCTOR: ec2t_dataset
 *
 * Images are 3x32x32 (CHW, as stored). The files are read uncompressed, as
 * the .bin files of the official archives are; a gzip-compressed file gets
 * EC2T_E_FORMAT.
 * @param ctx the context.
 * @param paths @p n_paths file names (for example data_batch_1.bin ... data_batch_5.bin).
 * @param n_paths 1 to 64.
 * @param kind the record layout and label set.
 * @param flags must be 0.
 * @param[out] out the new dataset; NULL on failure.
 * @return EC2T_OK; EC2T_E_IO; EC2T_E_FORMAT (size not a whole number of
 *         records, label out of range; the message names the file);
 *         EC2T_E_INVAL; EC2T_E_NOMEM (also when the records would hold more
 *         than the context's EC2T_CTX_LOAD_LIMIT: (3072 + 13) bytes each).
 */
EC2T_API ec2t_status ec2t_dataset_load_cifar(ec2t_context *ctx, const char *const *paths,
                                             int32_t n_paths, ec2t_cifar_kind kind,
                                             uint32_t flags, ec2t_dataset **out)
    EC2T_WARN_UNUSED;

/**
 * @brief A dataset from caller arrays, copied.  CONSTRUCTOR: ec2t_dataset
 * @param ctx the context.
 * @param images count * c * h * w floats in NCHW order (already scaled as the caller wants).
 * @param labels count labels in [0, n_classes).
 * @param count number of samples, at least 1.
 * @param c channels (1 to 4096).
 * @param h height (1 to 65536).
 * @param w width (1 to 65536).
 * @param n_classes number of classes, at least 1.
 * @param flags must be 0.
 * @param[out] out the new dataset; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (bad sizes, a label out of range, a
 *         non-finite pixel) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_dataset_from_arrays(ec2t_context *ctx, const float *images,
                                              const int32_t *labels, int64_t count, int32_t c,
                                              int32_t h, int32_t w, int32_t n_classes,
                                              uint32_t flags, ec2t_dataset **out)
    EC2T_WARN_UNUSED;

/**
 * @brief A new dataset holding samples [start, start + count) of @p ds in its
 *        current order, with the same normalisation and options.  CONSTRUCTOR: ec2t_dataset
 *
 * The samples are copied: the subset's load order is the source's current
 * order, and it keeps the source's class count. Its augmentation generator
 * starts afresh from the source's EC2T_DATA_SEED.
 * @param ds the source.
 * @param start first sample.
 * @param count number of samples, at least 1.
 * @param flags must be 0.
 * @param[out] out the new dataset; NULL on failure.
 * @return EC2T_OK, EC2T_E_INVAL (range outside the dataset) or EC2T_E_NOMEM.
 */
EC2T_API ec2t_status ec2t_dataset_subset(const ec2t_dataset *ds, int64_t start, int64_t count,
                                         uint32_t flags, ec2t_dataset **out) EC2T_WARN_UNUSED;

/**
 * @brief Free a dataset.  DESTRUCTOR: ec2t_dataset
 * @param ds the dataset, or NULL (a no-op).
 */
EC2T_API void ec2t_dataset_free(ec2t_dataset *ds);

/**
 * @brief Number of samples.  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @return the count, or 0 when @p ds is NULL.
 */
EC2T_API int64_t ec2t_dataset_size(const ec2t_dataset *ds);

/**
 * @brief Number of classes (labels are in [0, classes)).  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @return the count, or 0 when @p ds is NULL.
 */
EC2T_API int32_t ec2t_dataset_classes(const ec2t_dataset *ds);

/**
 * @brief Shape of one image.  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @param[out] c channels (may be NULL).
 * @param[out] h height (may be NULL).
 * @param[out] w width (may be NULL).
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_dataset_shape(const ec2t_dataset *ds, int32_t *c, int32_t *h,
                                        int32_t *w);

/**
 * @brief Set an option.  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @param param the option.
 * @param value its value.
 * @return EC2T_OK, EC2T_E_INVAL (out of ec2t_dataset_param_bounds(), with a
 *         message naming the option) or EC2T_E_UNSUPPORTED (unknown option).
 */
EC2T_API ec2t_status ec2t_dataset_set_int(ec2t_dataset *ds, ec2t_dataset_param param,
                                          int64_t value);

/**
 * @brief Read an option.  METHOD: ec2t_dataset  Since 0.2.
 * @param ds the dataset.
 * @param param the option.
 * @param[out] value receives its value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument) or EC2T_E_UNSUPPORTED (unknown option).
 */
EC2T_API ec2t_status ec2t_dataset_get_int(const ec2t_dataset *ds, ec2t_dataset_param param,
                                          int64_t *value);

/**
 * @brief The accepted range of a dataset option, inclusive.  Since 0.2.
 * @param param the option.
 * @param[out] lo receives the smallest accepted value.
 * @param[out] hi receives the largest accepted value.
 * @return EC2T_OK, EC2T_E_INVAL (NULL pointer) or EC2T_E_UNSUPPORTED (unknown option).
 * @threadsafety Safe from any thread.
 */
EC2T_API ec2t_status ec2t_dataset_param_bounds(ec2t_dataset_param param, int64_t *lo, int64_t *hi);

/**
 * @brief Set per-channel normalisation: x' = (x - mean[c]) / std[c].  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @param mean @p channels means.
 * @param std @p channels standard deviations, each > 0.
 * @param channels must equal the dataset's channel count.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_dataset_set_normalization(ec2t_dataset *ds, const float *mean,
                                                    const float *std, int32_t channels);

/**
 * @brief Per-channel mean and standard deviation of the pixels (before
 *        normalisation), e.g. to normalise a test set with training statistics.  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @param[out] mean receives @p channels means.
 * @param[out] std receives @p channels (population) standard deviations; 0 for
 *             a constant channel, which ec2t_dataset_set_normalization() refuses.
 * @param channels must equal the dataset's channel count.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_dataset_compute_normalization(const ec2t_dataset *ds, float *mean,
                                                        float *std, int32_t channels);

/**
 * @brief Put the samples in a random order: a permutation of the order they
 *        were loaded in, which depends only on @p seed and the size (not on
 *        earlier shuffles, so a training run can be resumed).  METHOD: ec2t_dataset
 * @param ds the dataset.
 * @param seed the seed.
 * @return EC2T_OK or EC2T_E_INVAL.
 */
EC2T_API ec2t_status ec2t_dataset_shuffle(ec2t_dataset *ds, uint64_t seed);

/**
 * @brief Copy samples [start, start + count) out, normalised, in NCHW order.  METHOD: ec2t_dataset
 *
 * With EC2T_BATCH_AUGMENT, each image gets the augmentation that is set
 * (random crop from the zero-padded image, random flip), drawn from the
 * dataset's own generator (EC2T_DATA_SEED), so a sequence of calls is
 * reproducible. The padding is a raw pixel value of 0, so after
 * normalisation it reads (0 - mean[c]) / std[c], as when torchvision pads
 * before normalising. Per image, the crop offsets are drawn first (when
 * EC2T_DATA_CROP_PAD > 0), then the flip (when EC2T_DATA_HFLIP is 1), then
 * the Cutout square's centre row and column (when EC2T_DATA_CUTOUT > 0), which
 * is applied to the cropped and flipped image in every channel.
 * @param ds the dataset.
 * @param start first sample (in the current order).
 * @param count number of samples, at least 1; start + count <= size.
 * @param images receives count * c * h * w floats.
 * @param images_cap capacity of @p images in floats.
 * @param labels receives count labels, or NULL (with @p labels_cap 0) when the
 *               labels are not wanted.
 * @param labels_cap capacity of @p labels.
 * @param flags 0 or EC2T_BATCH_AUGMENT.
 * @return EC2T_OK, EC2T_E_INVAL (bad range or flags) or EC2T_E_RANGE (a buffer
 *         too small; nothing is copied).
 * @threadsafety Augmented batches advance the dataset's generator: one thread
 *               at a time. Without the flag, concurrent calls are safe.
 */
EC2T_API ec2t_status ec2t_dataset_get_batch(ec2t_dataset *ds, int64_t start, int64_t count,
                                            float *images, size_t images_cap, int32_t *labels,
                                            size_t labels_cap, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_DATASET_H */
