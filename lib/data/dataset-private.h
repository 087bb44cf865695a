/* SPDX-License-Identifier: MIT */
/* The dataset's internals, shared by dataset.c (construction, options,
 * normalisation, shuffling, batches) and files.c (IDX and CIFAR files). */
#ifndef EC2T_DATASET_PRIVATE_H
#define EC2T_DATASET_PRIVATE_H

#include <ec2t/dataset.h>

#include "context-private.h"
#include "rng-private.h"
#include "settings-private.h"

/* Pixel storage of one dataset, in bytes (64 GiB). Far above any real image
 * set, low enough that no size computed from it overflows; files announcing
 * more are corrupt, caller arrays that large are refused. */
#define EC2T__DATASET_MAX_BYTES (UINT64_C(1) << 36)

struct ec2t_dataset {
    ec2t_context *ctx;
    int64_t count;
    int32_t c, h, w;
    int32_t n_classes;
    int64_t sample;    /* c * h * w */
    uint8_t *u8;       /* 8-bit sources: count * sample bytes in load order; else NULL */
    float *f32;        /* caller arrays: count * sample floats in load order; else NULL */
    int32_t *labels;   /* count labels in load order */
    int64_t *order;    /* order[i]: load index of the i-th sample in the current order */
    float *mean, *std; /* c each */
    float *lut;        /* 8-bit sources: c * 256 normalised values, one per byte value */
    int64_t seed;      /* EC2T_DATA_SEED */
    int32_t crop_pad;  /* EC2T_DATA_CROP_PAD */
    int32_t hflip;     /* EC2T_DATA_HFLIP */
    int32_t cutout;    /* EC2T_DATA_CUTOUT */
    ec2t__rng rng;     /* augmentation draws, seeded from seed */
};

/* A dataset of count samples of shape (c, h, w), 8-bit (u8 != 0) or float
 * storage, with uninitialised pixels and labels, the identity order, mean 0,
 * std 1, no augmentation and the context's seed. Callers validate the sizes;
 * anything above EC2T__DATASET_MAX_BYTES still gets EC2T_E_INVAL here.
 * pixels: NULL, or (with u8) count * c * h * w bytes from ec2t__alloc that
 * the dataset takes over, also when this fails (the file readers read the
 * pixels first, so that nothing is allocated for data that is not there). */
ec2t_status ec2t__dataset_new(ec2t_context *ctx, int64_t count, int32_t c, int32_t h, int32_t w,
                              int u8, uint8_t *pixels, ec2t_dataset **out);

/* The dataset's settings (dataset.c). */
extern const ec2t__settings ec2t__dataset_settings;

#endif /* EC2T_DATASET_PRIVATE_H */
