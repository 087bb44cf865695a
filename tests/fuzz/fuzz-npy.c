/* SPDX-License-Identifier: MIT */
/* libFuzzer target: .npy images from memory. */
#include <stdint.h>
#include <string.h>

#include <ec2t/ec2t.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t_tensor *t = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    if (ec2t_tensor_load_npy_mem(ctx, data, size, 0, &t) == EC2T_OK) {
        /* touch every element: the tensor must be as large as it says */
        const float *v = ec2t_tensor_data(t);
        volatile float sink = 0;
        for (int64_t i = 0; i < ec2t_tensor_numel(t); i++)
            sink += v[i];
        (void)sink;
        ec2t_tensor_free(t);
    }
    ec2t_context_free(ctx);
    return 0;
}
