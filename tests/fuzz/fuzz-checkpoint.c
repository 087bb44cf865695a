/* SPDX-License-Identifier: MIT */
/* libFuzzer target: trainer checkpoints (ec2t_trainer_load_checkpoint), with
 * and without a ternarizer attached (whose state they then also hold). The
 * loader refuses a checkpoint of another architecture, so the trainer is of
 * the golden network (tests/golden/golden-net.c) and the seeds are its golden
 * checkpoints. Input: one byte (odd: attach a ternarizer), then the file. A
 * checkpoint that loads is trained on for one step. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include <ec2t/ec2t.h>

#include "../golden/golden-net.h"
#include "fuzz-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float images[2 * GOLDEN_SAMPLE];
    static const int32_t labels[2] = {0, 3};
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_ternarizer *tz = NULL;
    fuzz_file f;
    if (size < 1 || fuzz_file_open(&f, data + 1, size - 1) != 0)
        return 0;
    if (ec2t_context_new(&ctx) == EC2T_OK && golden_net_build(ctx, &net) == EC2T_OK &&
        golden_trainer_new(net, &tr) == EC2T_OK &&
        (!(data[0] & 1) || golden_ternarizer_new(net, tr, &tz) == EC2T_OK) &&
        ec2t_trainer_load_checkpoint(tr, f.path, 0) == EC2T_OK)
        (void)ec2t_trainer_step(tr, images, 2 * GOLDEN_SAMPLE, labels, 2, 2, 0, NULL);
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    fuzz_file_close(&f);
    return 0;
}
