/* SPDX-License-Identifier: MIT */
/* Entropy coding of ternary layers: an adaptive binary range coder with
 * contexts taken from the kernel slice and from the input channel's activity
 * in earlier output filters. The stream format is normative and specified in
 * doc/FORMAT.md, "Entropy-coded ternary tensors"; doc/ec2t_tcoder.py is a
 * second, independent decoder of it. */
#ifndef EC2T_TCODER_PRIVATE_H
#define EC2T_TCODER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context-private.h"

/* The identifier byte that starts every stream this coder writes. */
#define EC2T__TCODE_VERSION 1

/* Ternary symbols of a layer: rows (output channels) x cols (fan-in), row-major; consecutive runs
   of `slice` symbols (kh*kw, 1 for dense layers) form one kernel slice; cols is a multiple of
   slice. */

/* The exact length of the stream ec2t__tcode_encode() would write, without
   writing it (it allocates only the model's small state). Same errors as
   ec2t__tcode_encode(). */
ec2t_status ec2t__tcode_size(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols,
                             int32_t slice, size_t *size);

/* Encode into a new buffer (ec2t__alloc; the caller frees it with ec2t__free). EC2T_E_INVAL for a
   symbol outside {-1, 0, +1} or bad sizes; EC2T_E_NOMEM cleanly. *out is NULL and *out_len 0 on
   failure. The output is deterministic: the same symbols give the same bytes. */
ec2t_status ec2t__tcode_encode(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols,
                               int32_t slice, uint8_t **out, size_t *out_len);

/* Whether a stream of len bytes (version byte included) can hold rows*cols
   symbols. Every symbol costs at least one binary decision, and a decision
   narrows the coder's range by at least 30.8/65536 of itself (the adaptive
   probabilities stay within [31, 65505] of 65536), that is at least 0.00067
   bits: a byte carries at most about 11,800 symbols. The check uses 12,288,
   so no stream the encoder writes fails it, while a hostile file cannot make
   a reader allocate masks for a layer far larger than its bytes. EC2T_E_FORMAT
   with a message naming who asks if not. */
#define EC2T__TCODE_MAX_SYMBOLS_PER_BYTE 12288
ec2t_status ec2t__tcode_check_length(ec2t_context *ctx, const char *who, size_t len, int32_t rows,
                                     int32_t cols);

/* Decode straight into two bitmasks (row m's bit k in word m*words + k/64, words = ceil(cols/64),
   LSB first; the caller provides rows*words zeroed or not: every word is written). pmask holds the
   +1 symbols, nmask the -1 symbols; bits past cols are 0. Never reads past len, never writes past
   the masks, never loops forever on hostile input (the work is bounded by rows*cols, and by len:
   ec2t__tcode_check_length() comes first);
   EC2T_E_FORMAT with a message (the context's) on a stream that is corrupt, truncated or has
   trailing garbage, EC2T_E_UNSUPPORTED for a stream of a newer coder version, EC2T_E_INVAL for bad
   arguments. A stream is accepted only if it is byte for byte what the encoder writes for the
   decoded symbols. On failure the masks hold unspecified bits. */
ec2t_status ec2t__tcode_decode(ec2t_context *ctx, const uint8_t *in, size_t len, int32_t rows,
                               int32_t cols, int32_t slice, uint64_t *pmask, uint64_t *nmask);

#endif /* EC2T_TCODER_PRIVATE_H */
