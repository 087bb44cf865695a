/* SPDX-License-Identifier: MIT */
/* Data-parallel training through the caller's collective hook
 * (collective.c): slicing, gradient buckets, the start-up check and the
 * rank-0 checkpoints. */
#ifndef EC2T_COLLECTIVE_PRIVATE_H
#define EC2T_COLLECTIVE_PRIVATE_H

#include "trainer-private.h"

/* gradients are summed in buckets of about this many floats (256 KB) */
#define EC2T__BUCKET_FLOATS 65536

typedef struct ec2t__coll ec2t__coll;

void ec2t__coll_free(ec2t_trainer *tr);
/* This rank failed with st inside training: with a hook, the other ranks are
 * stopped (the hook's abort); returns st. */
ec2t_status ec2t__coll_fail(ec2t_trainer *tr, ec2t_status st);
/* The smallest global batch a step takes: the number of ranks (1 alone). */
int64_t ec2t__coll_min_batch(const ec2t_trainer *tr);
/* Before an epoch over data_size samples: the ranks agree, or are refused. */
ec2t_status ec2t__coll_epoch_begin(ec2t_trainer *tr, int64_t data_size);
/* After an epoch that returned st: local batch-norm statistics averaged;
 * on a local failure the other ranks are stopped. Returns the status. */
ec2t_status ec2t__coll_epoch_end(ec2t_trainer *tr, ec2t_status st);
/* Before a step on a global batch: this rank's slice [*lo, *lo + *count),
 * and the network set up for it. */
ec2t_status ec2t__coll_step_begin(ec2t_trainer *tr, int64_t batch, int64_t *lo, int64_t *count);
/* After the local forward and backward passes, which returned st: the
 * gradients summed, *loss and *correct made those of the global batch. */
ec2t_status ec2t__coll_step_end(ec2t_trainer *tr, ec2t_status st, float *loss, int64_t *correct);
/* Checkpoints: rank 0 runs save and every rank gets its status; a load's
 * status is agreed on (any rank's failure fails all). */
ec2t_status ec2t__coll_save(const ec2t_trainer *tr, const char *path, uint32_t flags,
                            ec2t_status (*save)(const ec2t_trainer *, const char *, uint32_t));
ec2t_status ec2t__coll_loaded(ec2t_trainer *tr, ec2t_status st);

#endif /* EC2T_COLLECTIVE_PRIVATE_H */
