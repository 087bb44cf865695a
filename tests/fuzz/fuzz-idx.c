/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the IDX reader (ec2t_dataset_load_idx), raw and gzip.
 * Input: a 4-byte little-endian length n, then the image file (its first n
 * bytes, or all that is left) and the label file (the rest). A dataset that
 * loads has its first samples read back, so that it must be as large as it
 * says. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include <ec2t/ec2t.h>

#include "fuzz-file.h"

#define MAX_SAMPLES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_back(ec2t_dataset *ds)
{
    int32_t c = 0, h = 0, w = 0;
    int64_t n = ec2t_dataset_size(ds) < MAX_SAMPLES ? ec2t_dataset_size(ds) : MAX_SAMPLES;
    size_t floats;
    float *images;
    int32_t labels[MAX_SAMPLES];
    if (n < 1 || ec2t_dataset_shape(ds, &c, &h, &w) != EC2T_OK)
        return;
    floats = (size_t)n * (size_t)c * (size_t)h * (size_t)w;
    images = malloc(floats * sizeof *images);
    if (images)
        (void)ec2t_dataset_get_batch(ds, 0, n, images, floats, labels, MAX_SAMPLES, 0);
    free(images);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t_dataset *ds = NULL;
    fuzz_file img, lab;
    size_t n;
    if (size < 4)
        return 0;
    n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4, size -= 4;
    if (n > size)
        n = size;
    if (fuzz_file_open(&img, data, n) != 0)
        return 0;
    if (fuzz_file_open(&lab, data + n, size - n) != 0) {
        fuzz_file_close(&img);
        return 0;
    }
    if (ec2t_context_new(&ctx) == EC2T_OK) {
        if (ec2t_dataset_load_idx(ctx, img.path, lab.path, 0, &ds) == EC2T_OK)
            read_back(ds);
        ec2t_dataset_free(ds);
        ec2t_context_free(ctx);
    }
    fuzz_file_close(&lab);
    fuzz_file_close(&img);
    return 0;
}
