/* SPDX-License-Identifier: MIT */
/* libFuzzer target: model files (doc/FORMAT.md section 12) from memory. */
#include <stdint.h>

#include <ec2t/ec2t.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    if (ec2t_net_load_mem(ctx, data, size, 0, &net) == EC2T_OK) {
        int32_t c, h, w;
        (void)ec2t_net_output_shape(net, &c, &h, &w);
        (void)ec2t_net_trainable_count(net);
        ec2t_net_free(net);
    }
    ec2t_context_free(ctx);
    return 0;
}
