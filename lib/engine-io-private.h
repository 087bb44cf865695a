/* SPDX-License-Identifier: MIT */
/* What the two layouts of deployable files (doc/FORMAT.md §13) share:
 * engine-io.c writes and reads the keyed layout and chooses between them,
 * engine-packed.c writes and reads the packed one. */
#ifndef EC2T_ENGINE_IO_PRIVATE_H
#define EC2T_ENGINE_IO_PRIVATE_H

#include "container-private.h"
#include "engine-private.h"

/* Entropy-code op's ternary matrix (doc/FORMAT.md, "Entropy-coded ternary
 * tensors"); *out is allocated with ec2t__alloc. */
ec2t_status ec2t__eio_encode_ternary(const ec2t_engine *e, const ec2t__eop *op, uint8_t **out,
                                     size_t *len);
/* Decode a stream of len bytes into op->tm, for op's m, k and slice. */
ec2t_status ec2t__eio_decode_ternary(ec2t_engine *e, const char *what, const uint8_t *in,
                                     size_t len, ec2t__eop *op);
/* Whether a conv or dense operation's sizes are in range (m, k >= 1,
 * m * k <= 2^34, a ternary one ungrouped); other kinds pass. */
int ec2t__eio_sizes_ok(const ec2t__eop *op);
/* Whether one sample of a value has a shape a file may hold. */
int ec2t__eio_shape_ok(int32_t c, int32_t h, int32_t w);

/* The packed layout: add its tensors to a writer that holds the common keys;
 * the bytes handed to the writer are returned in owned[0..2] (free them after
 * the write). */
ec2t_status ec2t__eio_save_packed(const ec2t_engine *e, ec2t__cwriter *w, void *owned[3]);
/* Read the packed layout into e (which has only ctx set). */
ec2t_status ec2t__eio_load_packed(ec2t_engine *e, const ec2t__creader *r);

#endif /* EC2T_ENGINE_IO_PRIVATE_H */
