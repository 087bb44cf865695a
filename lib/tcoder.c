/* SPDX-License-Identifier: MIT */
/* Entropy coding of ternary layers (doc/FORMAT.md, "Entropy-coded ternary
 * tensors").
 *
 * Each symbol is one or two binary decisions ("bins"): is it non-zero, and
 * if so, is it negative. Each bin has an adaptive probability chosen by a
 * context: for the zero bin the non-zeros so far in the kernel slice, the
 * left and upper neighbours in the kernel, and how active the input channel
 * was in the previous output filters; for the sign bin the signs of the left
 * and upper neighbours and of the slice's last non-zero. The contexts were
 * chosen by measurement on the EC2T ResNet-20 checkpoints, which they code
 * about 10 % below the zero-order entropy of each layer.
 *
 * The binary coder (tcoder-core-private.h, shared with coder 2) is a
 * carry-propagating range coder with a 32-bit range, 16-bit probabilities and
 * shift adaptation. Its flush writes one byte, and the decoder reads exactly
 * three implicit zero bytes past the end; together with a check of the final
 * state this makes every accepted stream exactly the encoder's output for
 * the symbols it decodes to. */
#include <inttypes.h>
#include <string.h>

#include "tcoder-core-private.h"
#include "tcoder-private.h"

/* One pass over the layer; with out NULL it only counts the bytes. */
static size_t
encode_pass(const int8_t *sym, int32_t rows, int32_t cols, int32_t slice, uint16_t *act,
            uint8_t *out)
{
    tc_model m;
    tc_enc e;
    tc_model_init(&m, 0);
    tc_model_layer(&m, act, cols / slice, slice);
    tc_enc_init(&e, out);
    tc_encode_rows(&e, &m, sym, rows, cols);
    tc_enc_finish(&e);
    /* the first byte released is always 0 and is not part of the stream: its
     * place holds the version byte */
    if (out)
        out[0] = EC2T__TCODE_VERSION;
    return e.n;
}

/* ---- what both coders use ---- */

ec2t_status
ec2t__tcode_check_shape(ec2t_context *ctx, const char *who, int32_t rows, int32_t cols, int32_t slice)
{
    if (rows < 1 || cols < 1 || slice < 1 || cols % slice != 0)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "%s: bad layer shape %d x %d with slices of %d (all at least 1, "
                           "cols a multiple of slice)",
                           who, (int)rows, (int)cols, (int)slice);
    if (ec2t__mul_size((size_t)rows, (size_t)cols) == 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "%s: layer of %d x %d is too large", who, (int)rows,
                           (int)cols);
    return EC2T_OK;
}

ec2t_status
ec2t__tcode_check_symbols(ec2t_context *ctx, const char *who, const int8_t *sym, int32_t rows,
                          int32_t cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++)
        if (sym[i] < -1 || sym[i] > 1)
            return ec2t__error(ctx, EC2T_E_INVAL, "%s: symbol %d at row %zu, column %zu is not -1, 0 or 1",
                               who, (int)sym[i], i / (size_t)cols, i % (size_t)cols);
    return EC2T_OK;
}

static ec2t_status
check_encode_args(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice)
{
    ec2t_status st;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!sym)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary encoder: symbols are NULL");
    st = ec2t__tcode_check_shape(ctx, "ternary encoder", rows, cols, slice);
    if (st == EC2T_OK)
        st = ec2t__tcode_check_symbols(ctx, "ternary encoder", sym, rows, cols);
    return st;
}

ec2t_status
ec2t__tc_decode_layer(ec2t_context *ctx, const char *who, tc_dec *d, tc_model *m, int32_t rows,
                      int32_t cols, int32_t slice, uint64_t *pmask, uint64_t *nmask)
{
    /* the slice columns' activities, then one row of symbols */
    int32_t n_slices = cols / slice, r;
    size_t act_bytes = (size_t)n_slices * sizeof(uint16_t);
    uint8_t *scratch;
    if (act_bytes > SIZE_MAX - (size_t)cols)
        return ec2t__error(ctx, EC2T_E_INVAL, "%s: %d columns are too many", who, (int)cols);
    scratch = ec2t__alloc(ctx, act_bytes + (size_t)cols, sizeof(uint16_t));
    if (!scratch)
        return ec2t__nomem(ctx, "ternary decoder state");
    tc_model_layer(m, (uint16_t *)(void *)scratch, n_slices, slice);
    r = tc_decode_rows(d, m, (int8_t *)(scratch + act_bytes), rows, cols, pmask, nmask);
    ec2t__free(ctx, scratch);
    if (r < rows)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: truncated (the stream ends inside row %d of %d)",
                           who, (int)r, (int)rows);
    return EC2T_OK;
}

ec2t_status
ec2t__tc_end(ec2t_context *ctx, const char *who, const tc_dec *d, size_t header)
{
    int end = tc_dec_end(d);
    if (end == 0)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %zu bytes of %zu left over after the last bin", who,
                           d->len + TC_PAD_BYTES - d->pos, d->len + header);
    if (end < 0)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: corrupt (the final state is not the encoder's)",
                           who);
    return EC2T_OK;
}

/* ---- encoder API ---- */

ec2t_status
ec2t__tcode_size(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice,
                 size_t *size)
{
    uint16_t *act;
    ec2t_status st;
    if (size)
        *size = 0;
    if (ctx && !size)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary encoder: size is NULL");
    st = check_encode_args(ctx, sym, rows, cols, slice);
    if (st != EC2T_OK)
        return st;
    act = ec2t__alloc(ctx, (size_t)(cols / slice) * sizeof *act, sizeof *act);
    if (!act)
        return ec2t__nomem(ctx, "ternary encoder state");
    *size = encode_pass(sym, rows, cols, slice, act, NULL);
    ec2t__free(ctx, act);
    return EC2T_OK;
}

ec2t_status
ec2t__tcode_encode(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols,
                   int32_t slice, uint8_t **out, size_t *out_len)
{
    uint16_t *act;
    uint8_t *buf;
    size_t len;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (ctx && (!out || !out_len))
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary encoder: out or out_len is NULL");
    st = check_encode_args(ctx, sym, rows, cols, slice);
    if (st != EC2T_OK)
        return st;
    act = ec2t__alloc(ctx, (size_t)(cols / slice) * sizeof *act, sizeof *act);
    if (!act)
        return ec2t__nomem(ctx, "ternary encoder state");
    /* count first, so that the buffer has the exact size (the context's
     * allocator has no realloc, and a worst-case bound would be ~3 bytes per
     * symbol) */
    len = encode_pass(sym, rows, cols, slice, act, NULL);
    buf = ec2t__alloc(ctx, len, 1);
    if (!buf) {
        ec2t__free(ctx, act);
        return ec2t__nomem(ctx, "ternary stream");
    }
    encode_pass(sym, rows, cols, slice, act, buf);
    ec2t__free(ctx, act);
    *out = buf;
    *out_len = len;
    return EC2T_OK;
}

/* ---- decoder ---- */

static ec2t_status
dec_start(ec2t_context *ctx, tc_dec *d, const uint8_t *in, size_t len)
{
    memset(d, 0, sizeof *d);
    if (len < 2)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "ternary stream: %zu bytes, too short (at least 2)", len);
    if (in[0] != EC2T__TCODE_VERSION)
        return ec2t__error(ctx, in[0] > EC2T__TCODE_VERSION ? EC2T_E_UNSUPPORTED : EC2T_E_FORMAT,
                           "ternary stream: unknown coder version %u (this reader knows %d)",
                           (unsigned)in[0], EC2T__TCODE_VERSION);
    if (!tc_dec_start(d, in + 1, len - 1))
        return ec2t__error(ctx, EC2T_E_FORMAT, "ternary stream: corrupt first bytes");
    return EC2T_OK;
}

ec2t_status
ec2t__tcode_check_length(ec2t_context *ctx, const char *who, size_t len, int32_t rows, int32_t cols)
{
    /* the decoder reads TC_PAD_BYTES implicit zeros past the end */
    uint64_t cap = ((uint64_t)len + TC_PAD_BYTES) * EC2T__TCODE_MAX_SYMBOLS_PER_BYTE;
    uint64_t n = (uint64_t)(rows > 0 ? rows : 0) * (uint64_t)(cols > 0 ? cols : 0);
    if (n > cap)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "%s: a %d x %d ternary layer cannot fit in a %zu-byte stream "
                           "(at most %" PRIu64 " symbols)",
                           who, (int)rows, (int)cols, len, cap);
    return EC2T_OK;
}

ec2t_status
ec2t__tcode_decode(ec2t_context *ctx, const uint8_t *in, size_t len, int32_t rows, int32_t cols,
                   int32_t slice, uint64_t *pmask, uint64_t *nmask)
{
    tc_model m;
    tc_dec d;
    ec2t_status st;
    if (!ctx)
        return EC2T_E_INVAL;
    if ((!in && len > 0) || !pmask || !nmask)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary decoder: a buffer is NULL");
    st = ec2t__tcode_check_shape(ctx, "ternary decoder", rows, cols, slice);
    if (st == EC2T_OK)
        st = ec2t__tcode_check_length(ctx, "ternary stream", len, rows, cols);
    if (st == EC2T_OK)
        st = dec_start(ctx, &d, in, len);
    if (st != EC2T_OK)
        return st;
    tc_model_init(&m, 0);
    st = ec2t__tc_decode_layer(ctx, "ternary stream", &d, &m, rows, cols, slice, pmask, nmask);
    return st == EC2T_OK ? ec2t__tc_end(ctx, "ternary stream", &d, 1) : st;
}
