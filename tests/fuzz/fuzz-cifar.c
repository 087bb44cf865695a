/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the CIFAR reader (ec2t_dataset_load_cifar). Input: one
 * byte choosing the record layout (its value mod 3: CIFAR-10, CIFAR-100 fine,
 * CIFAR-100 coarse) and, with its top bit, the file given twice; then the
 * file. A dataset that loads has its samples read back. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include <ec2t/ec2t.h>

#include "fuzz-file.h"

#define MAX_SAMPLES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ec2t_cifar_kind kinds[3] = {EC2T_CIFAR10, EC2T_CIFAR100_FINE, EC2T_CIFAR100_COARSE};
    ec2t_context *ctx = NULL;
    ec2t_dataset *ds = NULL;
    fuzz_file f;
    const char *paths[2];
    if (size < 1 || fuzz_file_open(&f, data + 1, size - 1) != 0)
        return 0;
    paths[0] = paths[1] = f.path;
    if (ec2t_context_new(&ctx) == EC2T_OK) {
        if (ec2t_dataset_load_cifar(ctx, paths, data[0] & 0x80 ? 2 : 1, kinds[(data[0] & 0x7f) % 3],
                                    0, &ds) == EC2T_OK) {
            int64_t n = ec2t_dataset_size(ds) < MAX_SAMPLES ? ec2t_dataset_size(ds) : MAX_SAMPLES;
            float *images = malloc((size_t)MAX_SAMPLES * 3 * 32 * 32 * sizeof *images);
            int32_t labels[MAX_SAMPLES];
            if (images && n >= 1)
                (void)ec2t_dataset_get_batch(ds, 0, n, images, (size_t)MAX_SAMPLES * 3 * 32 * 32,
                                             labels, MAX_SAMPLES, 0);
            free(images);
        }
        ec2t_dataset_free(ds);
        ec2t_context_free(ctx);
    }
    fuzz_file_close(&f);
    return 0;
}
