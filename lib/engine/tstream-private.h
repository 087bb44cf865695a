/* SPDX-License-Identifier: MIT */
/* The coder of deployable files (doc/FORMAT.md, "The coder"): every float
 * and every ternary layer of a program in one range-coded stream, with one
 * model whose probabilities carry over from layer to layer. The packed
 * layout (io-packed.c) drives it in program order; this module knows
 * nothing of programs, only of floats (as bit patterns) and layers of
 * symbols. doc/ec2t_reader.py holds a second, independent decoder. */
#ifndef EC2T_TSTREAM_PRIVATE_H
#define EC2T_TSTREAM_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context-private.h"

/* The stream's first byte, identifying the coder; 0 and 1 are invalid,
 * larger values belong to newer coders (doc/FORMAT.md). */
#define EC2T__TSTREAM_CODER 2
/* A bin carries at least 0.0017 bits, so a byte holds at most
 * about 4,600 symbols; a reader refuses layers beyond this many per byte. */
#define EC2T__TSTREAM_MAX_SYMBOLS_PER_BYTE 4608

/* What a float is, its context: each kind has its own statistics. */
typedef enum ec2t__fkind {
    EC2T__FK_WEIGHT = 0, /* weights of a float layer */
    EC2T__FK_LEVEL = 1,  /* w_p and w_n of a ternary layer */
    EC2T__FK_SCALE = 2,  /* per-channel scales */
    EC2T__FK_BIAS = 3,   /* per-channel biases */
    EC2T__FK_COUNT = 4
} ec2t__fkind;

typedef struct ec2t__tswriter ec2t__tswriter;

/* A writer of floats of float_bits (16 or 32) bits into out, or, with out
 * NULL, one that only counts the bytes (to size out for a second pass: the
 * same calls write exactly the bytes counted). EC2T_E_INVAL, EC2T_E_NOMEM. */
ec2t_status ec2t__tsw_new(ec2t_context *ctx, int float_bits, uint8_t *out, ec2t__tswriter **w);
/* n floats of a kind, as bit patterns (the low float_bits bits of each). */
void ec2t__tsw_floats(ec2t__tswriter *w, ec2t__fkind kind, const uint32_t *bits, int64_t n);
/* A layer of rows x cols symbols in {-1, 0, +1} (row-major; slices of slice
 * symbols, cols a multiple of slice). EC2T_E_INVAL for a bad symbol or shape,
 * EC2T_E_NOMEM; the writer is then unusable. */
ec2t_status ec2t__tsw_ternary(ec2t__tswriter *w, const int8_t *sym, int32_t rows, int32_t cols,
                              int32_t slice);
/* End the stream; its length in bytes, header included. */
size_t ec2t__tsw_finish(ec2t__tswriter *w);
void ec2t__tsw_free(ec2t__tswriter *w);

typedef struct ec2t__tsreader ec2t__tsreader;

/* A reader of the len bytes at in (which must outlive it); who names the
 * stream in messages. EC2T_E_FORMAT for a stream too short or with a bad
 * header, EC2T_E_UNSUPPORTED for a newer coder. */
ec2t_status ec2t__tsr_new(ec2t_context *ctx, const char *who, const uint8_t *in, size_t len,
                          ec2t__tsreader **r);
/* 16 or 32. */
int ec2t__tsr_float_bits(const ec2t__tsreader *r);
/* The next n floats of a kind, as bit patterns. EC2T_E_FORMAT if the
 * stream ends first. */
ec2t_status ec2t__tsr_floats(ec2t__tsreader *r, ec2t__fkind kind, uint32_t *bits, int64_t n);
/* Whether n more floats are within what the stream's bytes can hold, with
 * the floats before them; call it before allocating them. EC2T_E_FORMAT
 * with a message if not. */
ec2t_status ec2t__tsr_check_floats(ec2t__tsreader *r, int64_t n);
/* Whether a next layer of rows x cols symbols is within what the stream's
 * bytes can hold, with the layers before it; call it before allocating the
 * layer's masks. EC2T_E_FORMAT with a message if not. */
ec2t_status ec2t__tsr_check_layer(ec2t__tsreader *r, int32_t rows, int32_t cols);
/* The next layer, straight into two bitmasks: row m's bit k in word
 * m * words + k / 64 (words = ceil(cols / 64), LSB first), pmask for the +1
 * symbols, nmask for the -1 ones; every word is written, bits past cols are
 * 0. The work is bounded by rows * cols, and ec2t__tsr_check_layer() bounds
 * that by the stream's length. EC2T_E_FORMAT if the stream ends first,
 * EC2T_E_NOMEM. */
ec2t_status ec2t__tsr_ternary(ec2t__tsreader *r, int32_t rows, int32_t cols, int32_t slice,
                              uint64_t *pmask, uint64_t *nmask);
/* After the last float and layer: EC2T_E_FORMAT unless the stream ends
 * exactly there, as the encoder ends it. */
ec2t_status ec2t__tsr_finish(ec2t__tsreader *r);
void ec2t__tsr_free(ec2t__tsreader *r);

#endif /* EC2T_TSTREAM_PRIVATE_H */
