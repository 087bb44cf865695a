/* SPDX-License-Identifier: MIT */
/* What the two layouts of deployable files (doc/FORMAT.md §13) share:
 * io.c writes and reads the keyed layout and chooses between them,
 * io-packed.c writes and reads the packed one. */
#ifndef EC2T_ENGINE_IO_PRIVATE_H
#define EC2T_ENGINE_IO_PRIVATE_H

#include "container-private.h"
#include "engine-private.h"

/* The symbols (-1, 0, +1) of a ternary matrix, rows x cols, row-major, in a
 * new buffer (ec2t__alloc); NULL when out of memory. */
int8_t *ec2t__eio_symbols(ec2t_context *ctx, const ec2t__tmat *t);
/* Symbols per kernel slice of a conv or dense operation: kh * kw, or 1. */
int32_t ec2t__eio_slice(const ec2t__eop *op);
/* What a loader lets the entropy-coded layers of a file of n bytes ask for,
 * at 12 bytes a weight (masks, index lists, their offsets, a dense copy: the
 * most a layer can need): a realistic layer codes at least 0.3 bits a weight,
 * so it needs at most about 320 bytes a file byte, while the coder can pack
 * 4,608 weights into a byte; so a small hostile file cannot make the engine
 * allocate gigabytes. */
#define EC2T__LOAD_BUDGET_FLOOR (INT64_C(64) << 20)
#define EC2T__LOAD_BUDGET_PER_BYTE 4096
/* Whether a conv or dense operation's sizes are in range (m, k >= 1,
 * m * k <= 2^34, a ternary one ungrouped); other kinds pass. */
int ec2t__eio_sizes_ok(const ec2t__eop *op);
/* Channels of an operation's scale and bias: the input's for an affine
 * operation, the outputs (m) for conv and dense. */
int64_t ec2t__eio_channels(const ec2t_engine *e, const ec2t__eop *op);
/* Whether one sample of a value has a shape a file may hold. */
int ec2t__eio_shape_ok(int32_t c, int32_t h, int32_t w);

/* The packed layout: add its tensors to a writer that holds the common keys;
 * the bytes handed to the writer (the program, the stream) are returned in
 * owned[0..1] (free them after the write). */
ec2t_status ec2t__eio_save_packed(const ec2t_engine *e, ec2t__cwriter *w, void *owned[2]);
/* Read the packed layout into e (which has only ctx set). */
ec2t_status ec2t__eio_load_packed(ec2t_engine *e, const ec2t__creader *r);

/* The int8 calibration keys of both layouts (io-int8.c, §13.4): add
 * them to a writer if any operation is calibrated; read them into a loaded,
 * finished engine (none, or a version other than 1: nothing to do). */
ec2t_status ec2t__eio_save_int8(const ec2t_engine *e, ec2t__cwriter *w);
ec2t_status ec2t__eio_load_int8(ec2t_engine *e, const ec2t__creader *r);

#endif /* EC2T_ENGINE_IO_PRIVATE_H */
