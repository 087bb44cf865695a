/* SPDX-License-Identifier: MIT */
/* Coder 2: one stream of floats and ternary layers (doc/FORMAT.md, "Coder 2").
 *
 * Against one coder-1 stream per layer it saves each layer's header and
 * flush bytes, and the cost of learning the statistics again in every layer:
 * the model carries over, and its dual-rate probabilities adapt quickly at
 * first and still settle precisely. Floats are coded as sign, exponent and
 * mantissa: sign and exponent are predictable within a kind (biases,
 * scales, ...), the mantissa bits are not and go in as direct bins. On the
 * EC2T ResNet-20 checkpoints this takes about 2 % fewer bytes than coder 1's
 * streams plus raw floats. */
#include <inttypes.h>
#include <string.h>

#include "tcoder-core-private.h"
#include "tstream-private.h"

#define HEADER_BYTES 2
#define EXP_NODES 256 /* exponent tree nodes 1 .. 2^8 - 1 */

/* The float part of the model: sign and exponent contexts per kind. */
typedef struct float_model {
    tc_prob sign[EC2T__FK_COUNT];
    tc_prob exp[EC2T__FK_COUNT][2][EXP_NODES];
    int exp_bits, man_bits;
} float_model;

struct ec2t__tswriter {
    ec2t_context *ctx;
    tc_enc enc;
    tc_model tm;
    float_model fm;
    int float_bits;
};

struct ec2t__tsreader {
    ec2t_context *ctx;
    const char *who;
    tc_dec dec;
    tc_model tm;
    float_model fm;
    int float_bits;
    uint64_t symbols; /* in the layers so far, for the length check */
};

static void
float_model_init(float_model *f, int float_bits)
{
    tc_prob_init(f->sign, EC2T__FK_COUNT);
    tc_prob_init(&f->exp[0][0][0], sizeof f->exp / sizeof f->exp[0][0][0]);
    f->exp_bits = float_bits == 16 ? 5 : 8;
    f->man_bits = float_bits == 16 ? 10 : 23;
}

/* ---- writer ---- */

ec2t_status
ec2t__tsw_new(ec2t_context *ctx, int float_bits, uint8_t *out, ec2t__tswriter **w)
{
    *w = NULL;
    if (float_bits != 16 && float_bits != 32)
        return ec2t__error(ctx, EC2T_E_INVAL, "stream writer: floats of %d bits (16 or 32)",
                           float_bits);
    *w = ec2t__calloc(ctx, 1, sizeof **w);
    if (!*w)
        return ec2t__nomem(ctx, "stream writer");
    (*w)->ctx = ctx;
    (*w)->float_bits = float_bits;
    tc_model_init(&(*w)->tm, 1);
    float_model_init(&(*w)->fm, float_bits);
    /* the encoder's first byte released is always 0: it lands on out[1] and
     * is overwritten by float_bits, the stream's bytes following from out[2] */
    tc_enc_init(&(*w)->enc, out ? out + 1 : NULL);
    return EC2T_OK;
}

void
ec2t__tsw_floats(ec2t__tswriter *w, ec2t__fkind kind, const uint32_t *bits, int64_t n)
{
    float_model *f = &w->fm;
    for (int64_t j = 0; j < n; j++) {
        uint32_t x = bits[j], man = x & ((UINT32_C(1) << f->man_bits) - 1);
        uint32_t exp = (x >> f->man_bits) & ((UINT32_C(1) << f->exp_bits) - 1);
        int sign = (int)((x >> (f->man_bits + f->exp_bits)) & 1u);
        unsigned node = 1;
        tc_enc_bit(&w->enc, &f->sign[kind], 1, sign);
        for (int i = f->exp_bits - 1; i >= 0; i--) {
            int b = (int)((exp >> i) & 1u);
            tc_enc_bit(&w->enc, &f->exp[kind][sign][node], 1, b);
            node = 2 * node + (unsigned)b;
        }
        for (int i = f->man_bits - 1; i >= 0; i--)
            tc_enc_bin(&w->enc, TC_PROB_HALF, (int)((man >> i) & 1u));
    }
}

ec2t_status
ec2t__tsw_ternary(ec2t__tswriter *w, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice)
{
    uint16_t *act;
    ec2t_status st = ec2t__tcode_check_shape(w->ctx, "stream writer", rows, cols, slice);
    if (st == EC2T_OK)
        st = ec2t__tcode_check_symbols(w->ctx, "stream writer", sym, rows, cols);
    if (st != EC2T_OK)
        return st;
    act = ec2t__alloc(w->ctx, (size_t)(cols / slice) * sizeof *act, sizeof *act);
    if (!act)
        return ec2t__nomem(w->ctx, "stream writer state");
    tc_model_layer(&w->tm, act, cols / slice, slice);
    tc_encode_rows(&w->enc, &w->tm, sym, rows, cols);
    ec2t__free(w->ctx, act);
    return EC2T_OK;
}

size_t
ec2t__tsw_finish(ec2t__tswriter *w)
{
    tc_enc_finish(&w->enc);
    if (w->enc.out) {
        w->enc.out[-1] = EC2T__TSTREAM_CODER;
        w->enc.out[0] = (uint8_t)w->float_bits;
    }
    return 1 + w->enc.n; /* the coder byte, then what was released (float_bits first) */
}

void
ec2t__tsw_free(ec2t__tswriter *w)
{
    if (w)
        ec2t__free(w->ctx, w);
}

/* ---- reader ---- */

ec2t_status
ec2t__tsr_new(ec2t_context *ctx, const char *who, const uint8_t *in, size_t len, ec2t__tsreader **r)
{
    *r = NULL;
    if (len < HEADER_BYTES + 1)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %zu bytes, too short for a stream", who, len);
    if (in[0] != EC2T__TSTREAM_CODER)
        return ec2t__error(ctx, in[0] > EC2T__TSTREAM_CODER ? EC2T_E_UNSUPPORTED : EC2T_E_FORMAT,
                           "%s: coder %u where coder %d was expected", who, (unsigned)in[0],
                           EC2T__TSTREAM_CODER);
    if (in[1] != 16 && in[1] != 32)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: floats of %u bits (16 or 32)", who,
                           (unsigned)in[1]);
    *r = ec2t__calloc(ctx, 1, sizeof **r);
    if (!*r)
        return ec2t__nomem(ctx, "stream reader");
    (*r)->ctx = ctx;
    (*r)->who = who;
    (*r)->float_bits = in[1];
    tc_model_init(&(*r)->tm, 1);
    float_model_init(&(*r)->fm, in[1]);
    if (!tc_dec_start(&(*r)->dec, in + HEADER_BYTES, len - HEADER_BYTES)) {
        ec2t__free(ctx, *r);
        *r = NULL;
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: corrupt first bytes", who);
    }
    return EC2T_OK;
}

int
ec2t__tsr_float_bits(const ec2t__tsreader *r)
{
    return r->float_bits;
}

ec2t_status
ec2t__tsr_floats(ec2t__tsreader *r, ec2t__fkind kind, uint32_t *bits, int64_t n)
{
    float_model *f = &r->fm;
    for (int64_t j = 0; j < n; j++) {
        unsigned node = 1;
        uint32_t man = 0;
        int sign = tc_dec_bit(&r->dec, &f->sign[kind], 1);
        for (int i = 0; i < f->exp_bits; i++)
            node = 2 * node + (unsigned)tc_dec_bit(&r->dec, &f->exp[kind][sign][node], 1);
        for (int i = 0; i < f->man_bits; i++)
            man = man << 1 | (uint32_t)tc_dec_bin(&r->dec, TC_PROB_HALF);
        /* node is now 2^exp_bits + the exponent field */
        bits[j] = (uint32_t)sign << (f->man_bits + f->exp_bits) |
                  (node - (1u << f->exp_bits)) << f->man_bits | man;
        if (r->dec.overrun)
            return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: truncated (the stream ends inside the floats)",
                               r->who);
    }
    return EC2T_OK;
}

ec2t_status
ec2t__tsr_check_layer(ec2t__tsreader *r, int32_t rows, int32_t cols)
{
    uint64_t cap = ((uint64_t)r->dec.len + HEADER_BYTES + TC_PAD_BYTES) *
                   EC2T__TSTREAM_MAX_SYMBOLS_PER_BYTE;
    uint64_t n = (uint64_t)(rows > 0 ? rows : 0) * (uint64_t)(cols > 0 ? cols : 0);
    if (n > cap || r->symbols > cap - n)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: a %d x %d ternary layer cannot fit in a %zu-byte stream with "
                           "the %" PRIu64 " symbols before it",
                           r->who, (int)rows, (int)cols, r->dec.len + HEADER_BYTES, r->symbols);
    return EC2T_OK;
}

ec2t_status
ec2t__tsr_ternary(ec2t__tsreader *r, int32_t rows, int32_t cols, int32_t slice, uint64_t *pmask,
                  uint64_t *nmask)
{
    ec2t_status st = ec2t__tsr_check_layer(r, rows, cols);
    if (st == EC2T_OK)
        st = ec2t__tcode_check_shape(r->ctx, r->who, rows, cols, slice);
    if (st == EC2T_OK)
        st = ec2t__tc_decode_layer(r->ctx, r->who, &r->dec, &r->tm, rows, cols, slice, pmask, nmask);
    r->symbols += (uint64_t)rows * (uint64_t)cols;
    return st;
}

ec2t_status
ec2t__tsr_finish(ec2t__tsreader *r)
{
    return ec2t__tc_end(r->ctx, r->who, &r->dec, HEADER_BYTES);
}

void
ec2t__tsr_free(ec2t__tsreader *r)
{
    if (r)
        ec2t__free(r->ctx, r);
}
