/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the decoder of entropy-coded ternary streams
 * (doc/FORMAT.md section 13). The first three bytes choose the layer:
 * rows = 1 + b0 % 64, slice = 1 + b1 % 9, cols = slice * (1 + b2 % 32); the
 * rest is the stream. An accepted stream must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcoder-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The symbols of the masks, re-encoded: the decoder's promise of a unique
 * encoding, checked. */
static void
check_reencode(ec2t_context *ctx, const uint8_t *stream, size_t len, int32_t rows, int32_t cols,
               int32_t slice, const uint64_t *p, const uint64_t *q)
{
    int32_t words = (cols + 63) / 64;
    int8_t *sym = calloc((size_t)rows * (size_t)cols, 1);
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (!sym)
        return;
    for (int32_t m = 0; m < rows; m++)
        for (int32_t k = 0; k < cols; k++) {
            uint64_t bit = (uint64_t)1 << (k % 64);
            int pos = (p[(size_t)m * words + k / 64] & bit) != 0;
            int neg = (q[(size_t)m * words + k / 64] & bit) != 0;
            if (pos && neg)
                abort(); /* a symbol cannot be both */
            sym[(size_t)m * cols + k] = (int8_t)(pos - neg);
        }
    if (ec2t__tcode_encode(ctx, sym, rows, cols, slice, &again, &again_len) == EC2T_OK &&
        (again_len != len || memcmp(again, stream, len) != 0))
        abort();
    ec2t__free(ctx, again);
    free(sym);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    int32_t rows, slice, cols, words;
    uint64_t *p, *q;
    if (size < 3)
        return 0;
    rows = 1 + data[0] % 64;
    slice = 1 + data[1] % 9;
    cols = slice * (1 + data[2] % 32);
    words = (cols + 63) / 64;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    p = malloc((size_t)rows * (size_t)words * sizeof *p);
    q = malloc((size_t)rows * (size_t)words * sizeof *q);
    if (p && q &&
        ec2t__tcode_decode(ctx, data + 3, size - 3, rows, cols, slice, p, q) == EC2T_OK)
        check_reencode(ctx, data + 3, size - 3, rows, cols, slice, p, q);
    free(p);
    free(q);
    ec2t_context_free(ctx);
    return 0;
}
