/* SPDX-License-Identifier: MIT */
/* The network and data of the golden files (tests/data/golden), shared by
 * the program that made them once (make-golden.c), the test that loads them
 * (test-golden.c) and the checkpoint fuzzer, which needs the same
 * architecture to get past the loader's architecture check. Changing
 * anything here changes what those files mean: add new files instead. */
#ifndef EC2T_GOLDEN_NET_H
#define EC2T_GOLDEN_NET_H

#include <stdint.h>

#include <ec2t/ec2t.h>

#define GOLDEN_C 3
#define GOLDEN_H 8
#define GOLDEN_W 8
#define GOLDEN_CLASSES 4
#define GOLDEN_SAMPLE (GOLDEN_C * GOLDEN_H * GOLDEN_W)
#define GOLDEN_SEED 20261207
#define GOLDEN_BATCH 16  /* samples per training step */
#define GOLDEN_TRAIN 32  /* samples of the ternarizer's training set */
#define GOLDEN_INPUTS 3  /* samples of the fixed input whose logits are pinned */
#define GOLDEN_FLOAT_STEPS 4 /* float training steps (data sets 1 to 4) before the trainer checkpoint */

/* conv(8) bn relu conv(8) bn +residual relu maxpool conv(16) bn relu gap
 * dense(4) softmax-xent, initialised from GOLDEN_SEED. The ternarizer's AUTO
 * rule ternarizes the two inner convolutions (first and last layer stay float). */
ec2t_status golden_net_build(ec2t_context *ctx, ec2t_net **out);

/* A trainer of the golden settings: SGD, lr 0.05, momentum 0.9, weight
 * decay 1e-4, batch GOLDEN_BATCH, seed GOLDEN_SEED, no augmentation. */
ec2t_status golden_trainer_new(ec2t_net *net, ec2t_trainer **out);

/* A ternarizer of the golden settings (gamma 0.2), attached to trainer. */
ec2t_status golden_ternarizer_new(ec2t_net *net, ec2t_trainer *trainer, ec2t_ternarizer **out);

/* n samples of data set number `set`: images in [-1, 1) that are exact
 * multiples of 2^-12 (integer arithmetic, the same on every machine), and
 * labels with a class-dependent brightness so that training learns something. */
void golden_data(uint32_t set, int64_t n, float *images, int32_t *labels);


/* Every named tensor of the network (ec2t_net_param order, statistics
 * included) concatenated, in a new tensor of shape (count). */
ec2t_status golden_flat_params(ec2t_context *ctx, ec2t_net *net, ec2t_tensor **out);

/* The progress callback that stops the golden EC2T run after the first epoch
 * of phase A (when the ternarizer checkpoint is saved). */
int golden_stop_after_first_epoch(void *user, const ec2t_ternarizer *tz, int32_t phase,
                                  int32_t epoch, double val_accuracy);

/* The golden EC2T schedule: phase-A and phase-B epochs, and the data sets. */
#define GOLDEN_EPOCHS_A 2
#define GOLDEN_EPOCHS_B 1
#define GOLDEN_SET_TRAIN 200u
#define GOLDEN_SET_VAL 201u
#define GOLDEN_SET_STEP 101u  /* the batch of the step after the trainer checkpoint */
#define GOLDEN_SET_INPUT 100u /* the fixed input (also committed as input.npy) */

/* The golden EC2T data sets (GOLDEN_TRAIN and GOLDEN_BATCH samples). */
ec2t_status golden_datasets(ec2t_context *ctx, ec2t_dataset **train, ec2t_dataset **val);

#endif /* EC2T_GOLDEN_NET_H */
