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
 * The binary coder is a carry-propagating range coder with a 32-bit range,
 * 16-bit probabilities and shift adaptation. Its flush writes one byte, and
 * the decoder reads exactly three implicit zero bytes past the end; together
 * with a check of the final state this makes every accepted stream exactly
 * the encoder's output for the symbols it decodes to. */
#include <inttypes.h>
#include <string.h>

#include "tcoder-private.h"

#define PROB_ONE 65536u  /* probabilities are in units of 2^-16 */
#define PROB_INIT 32768u /* every context starts at one half */
#define ADAPT_SHIFT 5
#define RANGE_INIT UINT32_C(0xFFFFFFFF)
#define RANGE_TOP (UINT32_C(1) << 24) /* renormalise below this */
#define PAD_BYTES 3                   /* implicit zero bytes the decoder reads past the end */
#define N_ZERO_CTX 80
#define N_SIGN_CTX 27

/* ---- the model, identical in encoder and decoder ---- */

typedef struct tc_model {
    uint16_t zero[N_ZERO_CTX]; /* P(symbol is zero) per zero-bin context */
    uint16_t sign[N_SIGN_CTX]; /* P(symbol is positive) per sign-bin context */
    uint16_t *act;             /* per slice column: decayed non-zero count, 0..256 */
    int32_t slice;
    int32_t width; /* kernel width: the slice is modelled as rows of this many symbols */
} tc_model;

/* Square slices (1, 9, 25, ...) are kw x kw kernels; any other slice is one
 * row, so that the upper neighbour is never used. The API gives kh*kw only,
 * and square kernels are the common case. */
static int32_t
slice_width(int32_t slice)
{
    int32_t w = 1;
    while ((int64_t)(w + 1) * (w + 1) <= slice)
        w++;
    return w * w == slice ? w : slice;
}

static void
model_init(tc_model *m, uint16_t *act, int32_t n_slices, int32_t slice)
{
    for (int i = 0; i < N_ZERO_CTX; i++)
        m->zero[i] = PROB_INIT;
    for (int i = 0; i < N_SIGN_CTX; i++)
        m->sign[i] = PROB_INIT;
    memset(act, 0, (size_t)n_slices * sizeof *act);
    m->act = act;
    m->slice = slice;
    m->width = slice_width(slice);
}

/* Move the probability of a 0 bin 1/32 of the way towards what happened. It
 * stays within [31, 65505], so neither sub-interval of the coder is empty. */
static inline void
prob_update(uint16_t *p, int bit)
{
    if (bit)
        *p = (uint16_t)(*p - (*p >> ADAPT_SHIFT));
    else
        *p = (uint16_t)(*p + ((PROB_ONE - *p) >> ADAPT_SHIFT));
}

/* The neighbours of position k of a slice whose column is c; missing ones are 0. */
static inline int
left_of(const int8_t *x, int32_t k, int32_t c)
{
    return c > 0 ? x[k - 1] : 0;
}

static inline int
up_of(const int8_t *x, int32_t k, int32_t w)
{
    return k >= w ? x[k - w] : 0;
}

static inline unsigned
zero_ctx(int nz, int left, int up, unsigned act_q)
{
    unsigned n = nz < 4 ? (unsigned)nz : 4;
    return ((n * 2 + (left != 0)) * 2 + (up != 0)) * 4 + act_q;
}

static inline unsigned
sign_ctx(int left, int up, int last)
{
    return (unsigned)(((left + 1) * 3 + up + 1) * 3 + last + 1);
}

/* The activity class of a slice column: how many non-zeros its slices held
 * in the previous output filters, decayed by 3/4 per filter. Input channels
 * that are dead (their producer was pruned) or weak get their own contexts. */
static inline unsigned
act_class(uint16_t act)
{
    return act >> 4 < 3 ? act >> 4 : 3;
}

static inline uint16_t
act_next(uint16_t act, int nz)
{
    return (uint16_t)(act - (act >> 2) + 16 * (nz < 4 ? nz : 4));
}

/* ---- encoder ---- */

typedef struct tc_enc {
    uint64_t low;   /* 32 bits of window, and the carry in bit 32 */
    uint32_t range;
    uint8_t cache;  /* the last byte shifted out, held back in case a carry reaches it */
    size_t pending; /* 0xFF bytes after cache, also held back */
    uint8_t *out;   /* NULL when only counting */
    size_t n;       /* bytes released so far, the first (always 0) included */
} tc_enc;

static void
enc_init(tc_enc *e, uint8_t *out)
{
    e->low = 0;
    e->range = RANGE_INIT;
    e->cache = 0;
    e->pending = 0;
    e->out = out;
    e->n = 0;
}

static inline void
enc_put(tc_enc *e, uint8_t b)
{
    if (e->out)
        e->out[e->n] = b;
    e->n++;
}

/* Move the top byte of the window out. A byte can still change while a
 * carry may reach it, that is while it and every byte after it are 0xFF. */
static void
enc_shift(tc_enc *e)
{
    if (e->low < UINT32_C(0xFF000000) || e->low > UINT32_C(0xFFFFFFFF)) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        enc_put(e, (uint8_t)(e->cache + carry));
        for (; e->pending > 0; e->pending--)
            enc_put(e, (uint8_t)(0xFF + carry));
        e->cache = (uint8_t)(e->low >> 24);
    } else {
        e->pending++;
    }
    e->low = (e->low << 8) & UINT32_C(0xFFFFFFFF);
}

static inline void
enc_bit(tc_enc *e, uint16_t *p, int bit)
{
    uint32_t bound = (e->range >> 16) * *p;
    if (bit) {
        e->low += bound;
        e->range -= bound;
    } else {
        e->range = bound;
    }
    prob_update(p, bit);
    while (e->range < RANGE_TOP) {
        e->range <<= 8;
        enc_shift(e);
    }
}

/* The smallest multiple of 2^24 in [low, low + range), which exists because
 * range >= 2^24; its top window byte is the last byte of the stream and its
 * three zero bytes are the decoder's implicit padding. */
static void
enc_finish(tc_enc *e)
{
    e->low = (e->low + (RANGE_TOP - 1)) & ~(uint64_t)(RANGE_TOP - 1);
    enc_shift(e);
    enc_shift(e);
}

static void
encode_slice(tc_enc *e, tc_model *m, const int8_t *x, uint16_t *act)
{
    unsigned aq = act_class(*act);
    int nz = 0, last = 0;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = x[k], left = left_of(x, k, c), up = up_of(x, k, m->width);
        enc_bit(e, &m->zero[zero_ctx(nz, left, up, aq)], s != 0);
        if (s != 0) {
            enc_bit(e, &m->sign[sign_ctx(left, up, last)], s < 0);
            nz++;
            last = s;
        }
        if (++c == m->width)
            c = 0;
    }
    *act = act_next(*act, nz);
}

/* One pass over the layer; with out NULL it only counts the bytes. */
static size_t
encode_pass(const int8_t *sym, int32_t rows, int32_t cols, int32_t slice, uint16_t *act,
            uint8_t *out)
{
    int32_t n_slices = cols / slice;
    tc_model m;
    tc_enc e;
    model_init(&m, act, n_slices, slice);
    enc_init(&e, out);
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *row = sym + (size_t)r * (size_t)cols;
        for (int32_t j = 0; j < n_slices; j++)
            encode_slice(&e, &m, row + (size_t)j * (size_t)slice, &act[j]);
    }
    enc_finish(&e);
    /* the first byte released is always 0 and is not part of the stream: its
     * place holds the version byte */
    if (out)
        out[0] = EC2T__TCODE_VERSION;
    return e.n;
}

/* ---- argument checks ---- */

static ec2t_status
check_shape(ec2t_context *ctx, const char *who, int32_t rows, int32_t cols, int32_t slice)
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

static ec2t_status
check_symbols(ec2t_context *ctx, const int8_t *sym, int32_t rows, int32_t cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t i = 0; i < n; i++)
        if (sym[i] < -1 || sym[i] > 1)
            return ec2t__error(ctx, EC2T_E_INVAL,
                               "ternary encoder: symbol %d at row %zu, column %zu is not "
                               "-1, 0 or 1",
                               (int)sym[i], i / (size_t)cols, i % (size_t)cols);
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
    st = check_shape(ctx, "ternary encoder", rows, cols, slice);
    if (st == EC2T_OK)
        st = check_symbols(ctx, sym, rows, cols);
    return st;
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

typedef struct tc_dec {
    const uint8_t *in; /* the coded bytes after the version byte */
    size_t len;
    size_t pos;     /* the next byte; past len, the implicit zero bytes read so far */
    uint32_t code;  /* the stream's value minus the encoder's low; always below range */
    uint32_t range;
    int overrun;    /* more than PAD_BYTES implicit bytes were needed */
} tc_dec;

static inline uint32_t
dec_byte(tc_dec *d)
{
    if (d->pos < d->len)
        return d->in[d->pos++];
    if (d->pos - d->len < PAD_BYTES)
        d->pos++;
    else
        d->overrun = 1;
    return 0;
}

static inline int
dec_bit(tc_dec *d, uint16_t *p)
{
    uint32_t bound = (d->range >> 16) * *p;
    int bit;
    if (d->code < bound) {
        d->range = bound;
        bit = 0;
    } else {
        d->code -= bound;
        d->range -= bound;
        bit = 1;
    }
    prob_update(p, bit);
    /* code < range < 2^24 here, so the shift loses nothing */
    while (d->range < RANGE_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | dec_byte(d);
    }
    return bit;
}

static void
decode_slice(tc_dec *d, tc_model *m, int8_t *x, uint16_t *act)
{
    unsigned aq = act_class(*act);
    int nz = 0, last = 0;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = 0, left = left_of(x, k, c), up = up_of(x, k, m->width);
        if (dec_bit(d, &m->zero[zero_ctx(nz, left, up, aq)])) {
            s = dec_bit(d, &m->sign[sign_ctx(left, up, last)]) ? -1 : 1;
            nz++;
            last = s;
        }
        x[k] = (int8_t)s;
        if (++c == m->width)
            c = 0;
    }
    *act = act_next(*act, nz);
}

/* One row of symbols into its mask words; bits past cols are 0. */
static void
pack_row(const int8_t *x, int32_t cols, uint64_t *pw, uint64_t *nw)
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
    d->in = in + 1;
    d->len = len - 1;
    d->range = RANGE_INIT;
    for (int i = 0; i < 4; i++)
        d->code = (d->code << 8) | dec_byte(d);
    if (d->code >= d->range)
        return ec2t__error(ctx, EC2T_E_FORMAT, "ternary stream: corrupt first bytes");
    return EC2T_OK;
}

/* The encoder's flush leaves the value at a multiple of 2^24 less than 2^24
 * above low, and exactly PAD_BYTES implicit zeros to read. */
static ec2t_status
dec_finish(ec2t_context *ctx, const tc_dec *d)
{
    if (d->pos < d->len + PAD_BYTES)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "ternary stream: %zu bytes of %zu left over after the last symbol",
                           d->len + PAD_BYTES - d->pos, d->len + 1);
    if (d->code >= RANGE_TOP)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "ternary stream: corrupt (the final state is not the encoder's)");
    return EC2T_OK;
}

static ec2t_status
decode_rows(ec2t_context *ctx, tc_dec *d, tc_model *m, int8_t *x, int32_t rows, int32_t cols,
            uint64_t *pmask, uint64_t *nmask)
{
    int32_t n_slices = cols / m->slice;
    size_t words = ((size_t)cols + 63) / 64;
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t j = 0; j < n_slices; j++) {
            decode_slice(d, m, x + (size_t)j * (size_t)m->slice, &m->act[j]);
            if (d->overrun)
                return ec2t__error(ctx, EC2T_E_FORMAT,
                                   "ternary stream: truncated (%zu bytes end inside row %d of %d)",
                                   d->len + 1, (int)r, (int)rows);
        }
        pack_row(x, cols, pmask + (size_t)r * words, nmask + (size_t)r * words);
    }
    return dec_finish(ctx, d);
}

ec2t_status
ec2t__tcode_check_length(ec2t_context *ctx, const char *who, size_t len, int32_t rows, int32_t cols)
{
    /* the decoder reads PAD_BYTES implicit zeros past the end */
    uint64_t cap = ((uint64_t)len + PAD_BYTES) * EC2T__TCODE_MAX_SYMBOLS_PER_BYTE;
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
    int32_t n_slices;
    size_t act_bytes;
    uint8_t *scratch;
    tc_model m;
    tc_dec d;
    ec2t_status st;
    if (!ctx)
        return EC2T_E_INVAL;
    if ((!in && len > 0) || !pmask || !nmask)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary decoder: a buffer is NULL");
    st = check_shape(ctx, "ternary decoder", rows, cols, slice);
    if (st == EC2T_OK)
        st = ec2t__tcode_check_length(ctx, "ternary stream", len, rows, cols);
    if (st != EC2T_OK)
        return st;
    st = dec_start(ctx, &d, in, len);
    if (st != EC2T_OK)
        return st;
    /* the slice columns' activities, then one row of symbols */
    n_slices = cols / slice;
    act_bytes = (size_t)n_slices * sizeof(uint16_t);
    if (act_bytes > SIZE_MAX - (size_t)cols)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary decoder: %d columns are too many",
                           (int)cols);
    scratch = ec2t__alloc(ctx, act_bytes + (size_t)cols, sizeof(uint16_t));
    if (!scratch)
        return ec2t__nomem(ctx, "ternary decoder state");
    model_init(&m, (uint16_t *)(void *)scratch, n_slices, slice);
    st = decode_rows(ctx, &d, &m, (int8_t *)(scratch + act_bytes), rows, cols, pmask, nmask);
    ec2t__free(ctx, scratch);
    return st;
}
