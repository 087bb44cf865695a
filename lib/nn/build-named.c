/* SPDX-License-Identifier: MIT */
/* ec2t_net_build_named(): the known architectures by name, so that loading a
 * PyTorch checkpoint (ec2t_net_import_safetensors) needs no builder
 * arguments. It only dispatches: the builders own the layers and names. */
#include <string.h>

#include "net-private.h"

/* "resnet<N>" with N = 6k + 2 (k = 1 to 1000), plain digits only: k blocks
 * per stage, or 0 for any other name. */
static int32_t
resnet_blocks(const char *name)
{
    long depth = 0;
    const char *p = name + 6;
    if (strncmp(name, "resnet", 6) != 0 || *p < '1' || *p > '9')
        return 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || depth > 6002)
            return 0;
        depth = depth * 10 + (*p - '0');
    }
    if (depth < 8 || depth > 6002 || (depth - 2) % 6 != 0)
        return 0;
    return (int32_t)((depth - 2) / 6);
}

EC2T_API ec2t_status
ec2t_net_build_named(ec2t_context *ctx, const char *name, int32_t c, int32_t h, int32_t w,
                     int32_t classes, uint32_t flags, ec2t_net **out)
{
    static const int32_t widths[3] = {16, 32, 64}, micronet_blocks[3] = {7, 7, 7};
    int32_t k;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!name || !out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_net_build_named: NULL argument");
    if (strcmp(name, "lenet5") == 0)
        return ec2t_net_build_lenet5(ctx, c, h, w, classes, flags, out);
    if (strcmp(name, "micronet") == 0)
        return ec2t_net_build_ec2t_blocks(ctx, 3, micronet_blocks, widths, 0.2f, c, h, w, classes,
                                          flags, out);
    k = resnet_blocks(name);
    if (k > 0) {
        const int32_t blocks[3] = {k, k, k};
        return ec2t_net_build_resnet(ctx, 3, blocks, widths, c, h, w, classes, flags, out);
    }
    return ec2t__error(ctx, EC2T_E_UNSUPPORTED,
                       "ec2t_net_build_named: unknown architecture '%.64s' (lenet5, resnet20, "
                       "resnetN with N = 6k+2, micronet)",
                       name);
}
