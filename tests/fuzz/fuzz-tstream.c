/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the stream reader of the coder (doc/FORMAT.md, "The coder").
 * The first four bytes choose what the stream must hold: b0 % 8 floats of
 * kind b1 % 4, then a layer of rows = 1 + b1 / 4 % 16, slice = 1 + b2 % 9,
 * cols = slice * (1 + b3 % 16), then b0 / 8 % 8 floats of kind b2 / 16 % 4;
 * the rest is the stream. An accepted stream must re-encode to the same
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tstream-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct plan {
    int n_before, n_after;
    ec2t__fkind kind_before, kind_after;
    int32_t rows, cols, slice;
} plan;

/* The decoded floats and symbols, encoded again: the decoder's promise of a
 * unique encoding, checked. */
static void
check_reencode(ec2t_context *ctx, const plan *pl, int float_bits, const uint32_t *floats,
               const uint64_t *p, const uint64_t *q, const uint8_t *stream, size_t len)
{
    int32_t words = (pl->cols + 63) / 64;
    int8_t *sym = calloc((size_t)pl->rows * (size_t)pl->cols, 1);
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (!sym)
        return;
    for (int32_t m = 0; m < pl->rows; m++)
        for (int32_t k = 0; k < pl->cols; k++) {
            uint64_t bit = (uint64_t)1 << (k % 64);
            int pos = (p[(size_t)m * words + k / 64] & bit) != 0;
            int neg = (q[(size_t)m * words + k / 64] & bit) != 0;
            if (pos && neg)
                abort(); /* a symbol cannot be both */
            sym[(size_t)m * pl->cols + k] = (int8_t)(pos - neg);
        }
    for (int pass = 0; pass < 2; pass++) {
        ec2t__tswriter *w = NULL;
        if (ec2t__tsw_new(ctx, float_bits, again, &w) != EC2T_OK)
            break;
        ec2t__tsw_floats(w, pl->kind_before, floats, pl->n_before);
        if (ec2t__tsw_ternary(w, sym, pl->rows, pl->cols, pl->slice) != EC2T_OK)
            abort();
        ec2t__tsw_floats(w, pl->kind_after, floats + pl->n_before, pl->n_after);
        again_len = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        if (pass == 0 && !(again = malloc(again_len)))
            break;
    }
    if (again && (again_len != len || memcmp(again, stream, len) != 0))
        abort();
    free(again);
    free(sym);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t__tsreader *r = NULL;
    uint32_t floats[14];
    uint64_t *p = NULL, *q = NULL;
    plan pl;
    int32_t words;
    if (size < 4)
        return 0;
    pl.n_before = data[0] % 8;
    pl.n_after = data[0] / 8 % 8;
    pl.kind_before = (ec2t__fkind)(data[1] % 4);
    pl.kind_after = (ec2t__fkind)(data[2] / 16 % 4);
    pl.rows = 1 + data[1] / 4 % 16;
    pl.slice = 1 + data[2] % 9;
    pl.cols = pl.slice * (1 + data[3] % 16);
    words = (pl.cols + 63) / 64;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    p = malloc((size_t)pl.rows * (size_t)words * sizeof *p);
    q = malloc((size_t)pl.rows * (size_t)words * sizeof *q);
    if (p && q && ec2t__tsr_new(ctx, "fuzz", data + 4, size - 4, &r) == EC2T_OK &&
        ec2t__tsr_floats(r, pl.kind_before, floats, pl.n_before) == EC2T_OK &&
        ec2t__tsr_ternary(r, pl.rows, pl.cols, pl.slice, p, q) == EC2T_OK &&
        ec2t__tsr_floats(r, pl.kind_after, floats + pl.n_before, pl.n_after) == EC2T_OK &&
        ec2t__tsr_finish(r) == EC2T_OK)
        check_reencode(ctx, &pl, ec2t__tsr_float_bits(r), floats, p, q, data + 4, size - 4);
    ec2t__tsr_free(r);
    free(p);
    free(q);
    ec2t_context_free(ctx);
    return 0;
}
