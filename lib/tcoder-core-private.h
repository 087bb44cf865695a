/* SPDX-License-Identifier: MIT */
/* What coder 1 (tcoder.c: one stream per ternary layer) and coder 2
 * (tstream.c: one stream for all floats and layers of a program) share, as
 * doc/FORMAT.md specifies them: the binary range coder, the adaptive
 * probabilities, and the context model of a ternary layer's symbols.
 * Static inline, so that each coder's loops compile to straight code. */
#ifndef EC2T_TCODER_CORE_PRIVATE_H
#define EC2T_TCODER_CORE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "context-private.h"

#define TC_PROB_ONE 65536u  /* probabilities are in units of 2^-16 */
#define TC_PROB_HALF 32768u /* every context starts at one half */
#define TC_FAST_SHIFT 5     /* coder 1's only rate, and coder 2's fast one */
#define TC_SLOW_SHIFT 7     /* coder 2's slow rate */
#define TC_RANGE_INIT UINT32_C(0xFFFFFFFF)
#define TC_RANGE_TOP (UINT32_C(1) << 24) /* renormalise below this */
#define TC_PAD_BYTES 3                   /* implicit zero bytes the decoder reads past the end */
#define TC_N_ZERO_CTX 80
#define TC_N_SIGN_CTX 27

/* ---- adaptive probabilities ---- */

/* The probability that a bin is 0. Coder 1 uses fast only; coder 2 ("dual")
 * uses the mean of a fast and a slow estimate, which tracks a change quickly
 * and still settles precisely. */
typedef struct tc_prob {
    uint16_t fast, slow;
} tc_prob;

static inline void
tc_prob_init(tc_prob *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i].fast = p[i].slow = TC_PROB_HALF;
}

static inline uint32_t
tc_prob_value(const tc_prob *p, int dual)
{
    return dual ? ((uint32_t)p->fast + p->slow) >> 1 : p->fast;
}

/* Move an estimate 2^-shift of the way towards what happened. fast stays
 * within [31, 65505] and slow within [127, 65409], so neither sub-interval of
 * the coder is ever empty. */
static inline uint16_t
tc_toward(uint16_t p, int bit, int shift)
{
    return bit ? (uint16_t)(p - (p >> shift)) : (uint16_t)(p + ((TC_PROB_ONE - p) >> shift));
}

static inline void
tc_prob_update(tc_prob *p, int bit, int dual)
{
    p->fast = tc_toward(p->fast, bit, TC_FAST_SHIFT);
    if (dual)
        p->slow = tc_toward(p->slow, bit, TC_SLOW_SHIFT);
}

/* ---- the range encoder ---- */

typedef struct tc_enc {
    uint64_t low;   /* 32 bits of window, and the carry in bit 32 */
    uint32_t range;
    uint8_t cache;  /* the last byte shifted out, held back in case a carry reaches it */
    size_t pending; /* 0xFF bytes after cache, also held back */
    uint8_t *out;   /* NULL when only counting */
    size_t n;       /* bytes released so far, the first (always 0) included */
} tc_enc;

/* Bytes are released to out + 0, out + 1, ...; the first one released is
 * always 0 and is not part of the stream (its place holds a header byte). */
static inline void
tc_enc_init(tc_enc *e, uint8_t *out)
{
    e->low = 0;
    e->range = TC_RANGE_INIT;
    e->cache = 0;
    e->pending = 0;
    e->out = out;
    e->n = 0;
}

static inline void
tc_enc_put(tc_enc *e, uint8_t b)
{
    if (e->out)
        e->out[e->n] = b;
    e->n++;
}

/* Move the top byte of the window out. A byte can still change while a
 * carry may reach it, that is while it and every byte after it are 0xFF. */
static inline void
tc_enc_shift(tc_enc *e)
{
    if (e->low < UINT32_C(0xFF000000) || e->low > UINT32_C(0xFFFFFFFF)) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        tc_enc_put(e, (uint8_t)(e->cache + carry));
        for (; e->pending > 0; e->pending--)
            tc_enc_put(e, (uint8_t)(0xFF + carry));
        e->cache = (uint8_t)(e->low >> 24);
    } else {
        e->pending++;
    }
    e->low = (e->low << 8) & UINT32_C(0xFFFFFFFF);
}

/* Code a bin whose probability of 0 is p (in (0, 65536)). */
static inline void
tc_enc_bin(tc_enc *e, uint32_t p, int bit)
{
    uint32_t bound = (e->range >> 16) * p;
    if (bit) {
        e->low += bound;
        e->range -= bound;
    } else {
        e->range = bound;
    }
    while (e->range < TC_RANGE_TOP) {
        e->range <<= 8;
        tc_enc_shift(e);
    }
}

static inline void
tc_enc_bit(tc_enc *e, tc_prob *p, int dual, int bit)
{
    tc_enc_bin(e, tc_prob_value(p, dual), bit);
    tc_prob_update(p, bit, dual);
}

/* The smallest multiple of 2^24 in [low, low + range), which exists because
 * range >= 2^24; its top window byte is the last byte of the stream and its
 * three zero bytes are the decoder's implicit padding. */
static inline void
tc_enc_finish(tc_enc *e)
{
    e->low = (e->low + (TC_RANGE_TOP - 1)) & ~(uint64_t)(TC_RANGE_TOP - 1);
    tc_enc_shift(e);
    tc_enc_shift(e);
}

/* ---- the range decoder ---- */

typedef struct tc_dec {
    const uint8_t *in; /* the coded bytes after the header */
    size_t len;
    size_t pos;     /* the next byte; past len, the implicit zero bytes read so far */
    uint32_t code;  /* the stream's value minus the encoder's low; always below range */
    uint32_t range;
    int overrun;    /* more than TC_PAD_BYTES implicit bytes were needed */
} tc_dec;

static inline uint32_t
tc_dec_byte(tc_dec *d)
{
    if (d->pos < d->len)
        return d->in[d->pos++];
    if (d->pos - d->len < TC_PAD_BYTES)
        d->pos++;
    else
        d->overrun = 1;
    return 0;
}

/* Start on the coded bytes; 0 if the first four form a value that no encoder
 * writes. */
static inline int
tc_dec_start(tc_dec *d, const uint8_t *in, size_t len)
{
    memset(d, 0, sizeof *d);
    d->in = in;
    d->len = len;
    d->range = TC_RANGE_INIT;
    for (int i = 0; i < 4; i++)
        d->code = (d->code << 8) | tc_dec_byte(d);
    return d->code < d->range;
}

static inline int
tc_dec_bin(tc_dec *d, uint32_t p)
{
    uint32_t bound = (d->range >> 16) * p;
    int bit;
    if (d->code < bound) {
        d->range = bound;
        bit = 0;
    } else {
        d->code -= bound;
        d->range -= bound;
        bit = 1;
    }
    /* code < range < 2^24 here, so the shift loses nothing */
    while (d->range < TC_RANGE_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | tc_dec_byte(d);
    }
    return bit;
}

static inline int
tc_dec_bit(tc_dec *d, tc_prob *p, int dual)
{
    int bit = tc_dec_bin(d, tc_prob_value(p, dual));
    tc_prob_update(p, bit, dual);
    return bit;
}

/* The encoder's flush leaves the value at a multiple of 2^24 less than 2^24
 * above low, and exactly TC_PAD_BYTES implicit zeros to read: 0 if bytes are
 * left over, -1 if the final state is not the encoder's, 1 if all is well. */
static inline int
tc_dec_end(const tc_dec *d)
{
    if (d->pos < d->len + TC_PAD_BYTES)
        return 0;
    return d->code < TC_RANGE_TOP ? 1 : -1;
}

/* ---- the context model of ternary symbols ---- */

typedef struct tc_model {
    tc_prob zero[TC_N_ZERO_CTX]; /* P(symbol is zero) per zero-bin context */
    tc_prob sign[TC_N_SIGN_CTX]; /* P(symbol is positive) per sign-bin context */
    uint16_t *act;               /* per slice column: decayed non-zero count, 0..256 */
    int32_t slice;
    int32_t width; /* kernel width: the slice is modelled as rows of this many symbols */
    int dual;      /* coder 2's probabilities */
} tc_model;

/* Square slices (1, 9, 25, ...) are kw x kw kernels; any other slice is one
 * row, so that the upper neighbour is never used. The API gives kh*kw only,
 * and square kernels are the common case. */
static inline int32_t
tc_slice_width(int32_t slice)
{
    int32_t w = 1;
    while ((int64_t)(w + 1) * (w + 1) <= slice)
        w++;
    return w * w == slice ? w : slice;
}

static inline void
tc_model_init(tc_model *m, int dual)
{
    tc_prob_init(m->zero, TC_N_ZERO_CTX);
    tc_prob_init(m->sign, TC_N_SIGN_CTX);
    m->dual = dual;
}

/* Begin a layer: its shape, and fresh activities (the probabilities are
 * kept, which matters for coder 2 only). */
static inline void
tc_model_layer(tc_model *m, uint16_t *act, int32_t n_slices, int32_t slice)
{
    memset(act, 0, (size_t)n_slices * sizeof *act);
    m->act = act;
    m->slice = slice;
    m->width = tc_slice_width(slice);
}

/* The neighbours of position k of a slice whose column is c; missing ones are 0. */
static inline int
tc_left_of(const int8_t *x, int32_t k, int32_t c)
{
    return c > 0 ? x[k - 1] : 0;
}

static inline int
tc_up_of(const int8_t *x, int32_t k, int32_t w)
{
    return k >= w ? x[k - w] : 0;
}

static inline unsigned
tc_zero_ctx(int nz, int left, int up, unsigned act_q)
{
    unsigned n = nz < 4 ? (unsigned)nz : 4;
    return ((n * 2 + (left != 0)) * 2 + (up != 0)) * 4 + act_q;
}

static inline unsigned
tc_sign_ctx(int left, int up, int last)
{
    return (unsigned)(((left + 1) * 3 + up + 1) * 3 + last + 1);
}

/* The activity class of a slice column: how many non-zeros its slices held
 * in the previous output filters, decayed by 3/4 per filter. Input channels
 * that are dead (their producer was pruned) or weak get their own contexts. */
static inline unsigned
tc_act_class(uint16_t act)
{
    return act >> 4 < 3 ? act >> 4 : 3;
}

static inline uint16_t
tc_act_next(uint16_t act, int nz)
{
    return (uint16_t)(act - (act >> 2) + 16 * (nz < 4 ? nz : 4));
}

static inline void
tc_encode_slice(tc_enc *e, tc_model *m, const int8_t *x, uint16_t *act)
{
    unsigned aq = tc_act_class(*act);
    int nz = 0, last = 0;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = x[k], left = tc_left_of(x, k, c), up = tc_up_of(x, k, m->width);
        tc_enc_bit(e, &m->zero[tc_zero_ctx(nz, left, up, aq)], m->dual, s != 0);
        if (s != 0) {
            tc_enc_bit(e, &m->sign[tc_sign_ctx(left, up, last)], m->dual, s < 0);
            nz++;
            last = s;
        }
        if (++c == m->width)
            c = 0;
    }
    *act = tc_act_next(*act, nz);
}

/* All rows of a layer (sym: rows x cols, row-major), after tc_model_layer(). */
static inline void
tc_encode_rows(tc_enc *e, tc_model *m, const int8_t *sym, int32_t rows, int32_t cols)
{
    int32_t n_slices = cols / m->slice;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *row = sym + (size_t)r * (size_t)cols;
        for (int32_t j = 0; j < n_slices; j++)
            tc_encode_slice(e, m, row + (size_t)j * (size_t)m->slice, &m->act[j]);
    }
}

static inline void
tc_decode_slice(tc_dec *d, tc_model *m, int8_t *x, uint16_t *act)
{
    unsigned aq = tc_act_class(*act);
    int nz = 0, last = 0;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = 0, left = tc_left_of(x, k, c), up = tc_up_of(x, k, m->width);
        if (tc_dec_bit(d, &m->zero[tc_zero_ctx(nz, left, up, aq)], m->dual)) {
            s = tc_dec_bit(d, &m->sign[tc_sign_ctx(left, up, last)], m->dual) ? -1 : 1;
            nz++;
            last = s;
        }
        x[k] = (int8_t)s;
        if (++c == m->width)
            c = 0;
    }
    *act = tc_act_next(*act, nz);
}

/* One row of symbols into its mask words; bits past cols are 0. */
static inline void
tc_pack_row(const int8_t *x, int32_t cols, uint64_t *pw, uint64_t *nw)
{
    size_t words = ((size_t)cols + 63) / 64;
    for (size_t q = 0; q < words; q++) {
        size_t base = q * 64, end = base + 64 < (size_t)cols ? base + 64 : (size_t)cols;
        uint64_t p = 0, n = 0;
        for (size_t i = base; i < end; i++) {
            p |= (uint64_t)(x[i] > 0) << (i - base);
            n |= (uint64_t)(x[i] < 0) << (i - base);
        }
        pw[q] = p;
        nw[q] = n;
    }
}

/* All rows of a layer into its masks (row m's bit k in word m*words + k/64),
 * x a scratch row of cols symbols, after tc_model_layer(). Returns the row
 * where the stream ran out (d->overrun set), or rows when all decoded. */
static inline int32_t
tc_decode_rows(tc_dec *d, tc_model *m, int8_t *x, int32_t rows, int32_t cols, uint64_t *pmask,
               uint64_t *nmask)
{
    int32_t n_slices = cols / m->slice;
    size_t words = ((size_t)cols + 63) / 64;
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t j = 0; j < n_slices; j++) {
            tc_decode_slice(d, m, x + (size_t)j * (size_t)m->slice, &m->act[j]);
            if (d->overrun)
                return r;
        }
        tc_pack_row(x, cols, pmask + (size_t)r * words, nmask + (size_t)r * words);
    }
    return rows;
}

/* ---- in tcoder.c, for both coders ---- */

/* A layer's shape (all at least 1, cols a multiple of slice, rows * cols
 * addressable) and its symbols (each -1, 0 or +1): EC2T_E_INVAL naming who. */
ec2t_status ec2t__tcode_check_shape(ec2t_context *ctx, const char *who, int32_t rows, int32_t cols,
                                    int32_t slice);
ec2t_status ec2t__tcode_check_symbols(ec2t_context *ctx, const char *who, const int8_t *sym,
                                      int32_t rows, int32_t cols);
/* Decode one layer (of a checked shape) with d and m into its masks: fresh
 * activities, m's probabilities kept. EC2T_E_FORMAT naming who if the stream
 * ends first, EC2T_E_NOMEM. */
ec2t_status ec2t__tc_decode_layer(ec2t_context *ctx, const char *who, tc_dec *d, tc_model *m,
                                  int32_t rows, int32_t cols, int32_t slice, uint64_t *pmask,
                                  uint64_t *nmask);
/* The end checks after the last bin of a stream with header bytes before
 * the coded ones: EC2T_E_FORMAT naming who unless it ends as the encoder
 * ends it. */
ec2t_status ec2t__tc_end(ec2t_context *ctx, const char *who, const tc_dec *d, size_t header);

#endif /* EC2T_TCODER_CORE_PRIVATE_H */
