/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the safetensors reader (doc/FORMAT.md section 14), then
 * every lookup and the conversion of every F32 tensor. */
#include <stdint.h>
#include <stdlib.h>

#include "safetensors-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_tensor(const ec2t__st_file *f, const ec2t__st_tensor *t)
{
    float *dst;
    if (ec2t__st_find(f, t->name) != t)
        abort(); /* names are unique: the lookup finds this very tensor */
    if (t->nbytes % 4 != 0)
        return;
    dst = malloc(t->nbytes ? (size_t)t->nbytes : 1);
    if (dst)
        (void)ec2t__st_read_f32(f, t, dst); /* other dtypes are refused */
    free(dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t__st_file *f = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    if (ec2t__st_open_mem(ctx, data, size, "fuzz input", &f) == EC2T_OK) {
        for (size_t i = 0; i < ec2t__st_count(f); i++)
            try_tensor(f, ec2t__st_at(f, i));
        (void)ec2t__st_metadata(f, "format");
        (void)ec2t__st_find(f, "no such tensor");
        ec2t__st_free(f);
    }
    ec2t_context_free(ctx);
    return 0;
}
