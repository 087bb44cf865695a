/* SPDX-License-Identifier: MIT */
/* The coder of deployable files (doc/FORMAT.md, "The coder"): every float
 * and every ternary layer of a program in one range-coded stream, with one
 * model whose probabilities carry over from layer to layer.
 *
 * Each ternary symbol is one or two binary decisions ("bins"): is it
 * non-zero, and if so, is it negative. Each bin has an adaptive probability
 * chosen by a context: for the zero bin the non-zeros so far in the kernel
 * slice, the left and upper neighbours in the kernel, and how active the
 * input channel was in the previous output filters; for the sign bin the
 * signs of the left and upper neighbours and of the slice's last non-zero.
 * The contexts were chosen by measurement on the EC2T ResNet-20 checkpoints.
 * Floats are coded as sign, exponent and mantissa: sign and exponent are
 * predictable within a kind (biases, scales, ...), the mantissa bits are not
 * and go in as direct bins. Every probability is the mean of a fast and a
 * slow estimate, which tracks a change quickly and still settles precisely.
 *
 * The binary coder is a carry-propagating range coder with a 32-bit range
 * and 16-bit probabilities. Its flush writes one byte, and the decoder reads
 * exactly three implicit zero bytes past the end; with a check of the final
 * state this makes every accepted stream exactly the encoder's output for
 * what it decodes to. */
#include <inttypes.h>
#include <string.h>

#include "tstream-private.h"

#define HEADER_BYTES 2      /* the coder byte, float_bits */
#define PROB_ONE 65536u     /* probabilities are in units of 2^-16 */
#define PROB_HALF 32768u    /* every context starts at one half */
#define FAST_SHIFT 5
#define SLOW_SHIFT 7
#define RANGE_INIT UINT32_C(0xFFFFFFFF)
#define RANGE_TOP (UINT32_C(1) << 24) /* renormalise below this */
#define PAD_BYTES 3                   /* implicit zero bytes the decoder reads past the end */
#define N_ZERO_CTX 80
#define N_SIGN_CTX 27
#define EXP_NODES 256 /* exponent tree nodes 1 .. 2^8 - 1 */

/* ---- adaptive probabilities ---- */

/* The probability that a bin is 0: the mean of a fast and a slow estimate. */
typedef struct prob {
    uint16_t fast, slow;
} prob;

static void
prob_init(prob *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i].fast = p[i].slow = PROB_HALF;
}

static inline uint32_t
prob_value(const prob *p)
{
    return ((uint32_t)p->fast + p->slow) >> 1;
}

/* Move an estimate 2^-shift of the way towards what happened. fast stays
 * within [31, 65505] and slow within [127, 65409], so neither sub-interval
 * of the coder is ever empty. */
static inline uint16_t
toward(uint16_t p, int bit, int shift)
{
    return bit ? (uint16_t)(p - (p >> shift)) : (uint16_t)(p + ((PROB_ONE - p) >> shift));
}

static inline void
prob_update(prob *p, int bit)
{
    p->fast = toward(p->fast, bit, FAST_SHIFT);
    p->slow = toward(p->slow, bit, SLOW_SHIFT);
}

/* ---- the range encoder ---- */

typedef struct enc {
    uint64_t low;   /* 32 bits of window, and the carry in bit 32 */
    uint32_t range;
    uint8_t cache;  /* the last byte shifted out, held back in case a carry reaches it */
    size_t pending; /* 0xFF bytes after cache, also held back */
    uint8_t *out;   /* NULL when only counting */
    size_t n;       /* bytes released so far, the first (always 0) included */
} enc;

static void
enc_init(enc *e, uint8_t *out)
{
    memset(e, 0, sizeof *e);
    e->range = RANGE_INIT;
    e->out = out;
}

static inline void
enc_put(enc *e, uint8_t b)
{
    if (e->out)
        e->out[e->n] = b;
    e->n++;
}

/* Move the top byte of the window out. A byte can still change while a
 * carry may reach it, that is while it and every byte after it are 0xFF. */
static inline void
enc_shift(enc *e)
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

/* Code a bin whose probability of 0 is p (in (0, 65536)). */
static inline void
enc_bin(enc *e, uint32_t p, int bit)
{
    uint32_t bound = (e->range >> 16) * p;
    if (bit) {
        e->low += bound;
        e->range -= bound;
    } else {
        e->range = bound;
    }
    while (e->range < RANGE_TOP) {
        e->range <<= 8;
        enc_shift(e);
    }
}

static inline void
enc_bit(enc *e, prob *p, int bit)
{
    enc_bin(e, prob_value(p), bit);
    prob_update(p, bit);
}

/* The smallest multiple of 2^24 in [low, low + range), which exists because
 * range >= 2^24; its top window byte is the last byte of the stream and its
 * three zero bytes are the decoder's implicit padding. */
static void
enc_finish(enc *e)
{
    e->low = (e->low + (RANGE_TOP - 1)) & ~(uint64_t)(RANGE_TOP - 1);
    enc_shift(e);
    enc_shift(e);
}

/* ---- the range decoder ---- */

typedef struct dec {
    const uint8_t *in; /* the coded bytes after the header */
    size_t len;
    size_t pos;     /* the next byte; past len, the implicit zero bytes read so far */
    uint32_t code;  /* the stream's value minus the encoder's low; always below range */
    uint32_t range;
    int overrun;    /* more than PAD_BYTES implicit bytes were needed */
} dec;

static inline uint32_t
dec_byte(dec *d)
{
    if (d->pos < d->len)
        return d->in[d->pos++];
    if (d->pos - d->len < PAD_BYTES)
        d->pos++;
    else
        d->overrun = 1;
    return 0;
}

/* Start on the coded bytes; 0 if the first four form a value that no
 * encoder writes. */
static int
dec_start(dec *d, const uint8_t *in, size_t len)
{
    memset(d, 0, sizeof *d);
    d->in = in;
    d->len = len;
    d->range = RANGE_INIT;
    for (int i = 0; i < 4; i++)
        d->code = (d->code << 8) | dec_byte(d);
    return d->code < d->range;
}

static inline int
dec_bin(dec *d, uint32_t p)
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
    while (d->range < RANGE_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | dec_byte(d);
    }
    return bit;
}

static inline int
dec_bit(dec *d, prob *p)
{
    int bit = dec_bin(d, prob_value(p));
    prob_update(p, bit);
    return bit;
}

/* ---- the context model of ternary symbols ---- */

typedef struct tmodel {
    prob zero[N_ZERO_CTX]; /* P(symbol is zero) per zero-bin context */
    prob sign[N_SIGN_CTX]; /* P(symbol is positive) per sign-bin context */
    uint16_t *act;         /* per slice column: decayed non-zero count, 0..256 */
    int32_t slice;
    int32_t width; /* kernel width: the slice is modelled as rows of this many symbols */
} tmodel;

/* Square slices (1, 9, 25, ...) are kw x kw kernels; any other slice is one
 * row, so that the upper neighbour is never used. The program gives kh*kw
 * only, and square kernels are the common case. */
static int32_t
slice_width(int32_t slice)
{
    int32_t w = 1;
    while ((int64_t)(w + 1) * (w + 1) <= slice)
        w++;
    return w * w == slice ? w : slice;
}

/* Begin a layer: its shape, and fresh activities (the probabilities carry
 * over from the layers before). */
static void
tmodel_layer(tmodel *m, uint16_t *act, int32_t n_slices, int32_t slice)
{
    memset(act, 0, (size_t)n_slices * sizeof *act);
    m->act = act;
    m->slice = slice;
    m->width = slice_width(slice);
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

/* The neighbours of position k of a slice, at column c of its kernel row
 * (missing ones are 0); x holds the slice's symbols before k. */
static inline void
neighbours(const int8_t *x, int32_t k, int32_t c, int32_t width, int *left, int *up)
{
    *left = c > 0 ? x[k - 1] : 0;
    *up = k >= width ? x[k - width] : 0;
}

static void
encode_slice(enc *e, tmodel *m, const int8_t *x, uint16_t *act)
{
    unsigned aq = act_class(*act);
    int nz = 0, last = 0, left, up;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = x[k];
        neighbours(x, k, c, m->width, &left, &up);
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

static void
decode_slice(dec *d, tmodel *m, int8_t *x, uint16_t *act)
{
    unsigned aq = act_class(*act);
    int nz = 0, last = 0, left, up;
    int32_t c = 0;
    for (int32_t k = 0; k < m->slice; k++) {
        int s = 0;
        neighbours(x, k, c, m->width, &left, &up);
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

/* A layer's shape: all at least 1, cols a multiple of slice, rows * cols
 * addressable. EC2T_E_INVAL naming who. */
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

/* ---- the float model ---- */

/* Sign and exponent contexts per kind. */
typedef struct fmodel {
    prob sign[EC2T__FK_COUNT];
    prob exp[EC2T__FK_COUNT][2][EXP_NODES];
    int exp_bits, man_bits;
} fmodel;

static void
fmodel_init(fmodel *f, int float_bits)
{
    prob_init(f->sign, EC2T__FK_COUNT);
    prob_init(&f->exp[0][0][0], sizeof f->exp / sizeof f->exp[0][0][0]);
    f->exp_bits = float_bits == 16 ? 5 : 8;
    f->man_bits = float_bits == 16 ? 10 : 23;
}

/* ---- writer ---- */

struct ec2t__tswriter {
    ec2t_context *ctx;
    enc enc;
    tmodel tm;
    fmodel fm;
    int float_bits;
};

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
    prob_init((*w)->tm.zero, N_ZERO_CTX);
    prob_init((*w)->tm.sign, N_SIGN_CTX);
    fmodel_init(&(*w)->fm, float_bits);
    /* the encoder's first byte released is always 0: it lands on out[1] and
     * is overwritten by float_bits, the stream's bytes following from out[2] */
    enc_init(&(*w)->enc, out ? out + 1 : NULL);
    return EC2T_OK;
}

void
ec2t__tsw_floats(ec2t__tswriter *w, ec2t__fkind kind, const uint32_t *bits, int64_t n)
{
    fmodel *f = &w->fm;
    for (int64_t j = 0; j < n; j++) {
        uint32_t x = bits[j], man = x & ((UINT32_C(1) << f->man_bits) - 1);
        uint32_t exp = (x >> f->man_bits) & ((UINT32_C(1) << f->exp_bits) - 1);
        int sign = (int)((x >> (f->man_bits + f->exp_bits)) & 1u);
        unsigned node = 1;
        enc_bit(&w->enc, &f->sign[kind], sign);
        for (int i = f->exp_bits - 1; i >= 0; i--) {
            int b = (int)((exp >> i) & 1u);
            enc_bit(&w->enc, &f->exp[kind][sign][node], b);
            node = 2 * node + (unsigned)b;
        }
        for (int i = f->man_bits - 1; i >= 0; i--)
            enc_bin(&w->enc, PROB_HALF, (int)((man >> i) & 1u));
    }
}

ec2t_status
ec2t__tsw_ternary(ec2t__tswriter *w, const int8_t *sym, int32_t rows, int32_t cols, int32_t slice)
{
    uint16_t *act;
    int32_t n_slices;
    ec2t_status st = check_shape(w->ctx, "stream writer", rows, cols, slice);
    if (st != EC2T_OK)
        return st;
    for (size_t i = 0, n = (size_t)rows * (size_t)cols; i < n; i++)
        if (sym[i] < -1 || sym[i] > 1)
            return ec2t__error(w->ctx, EC2T_E_INVAL,
                               "stream writer: symbol %d at row %zu, column %zu is not -1, 0 or 1",
                               (int)sym[i], i / (size_t)cols, i % (size_t)cols);
    n_slices = cols / slice;
    act = ec2t__alloc(w->ctx, (size_t)n_slices * sizeof *act, sizeof *act);
    if (!act)
        return ec2t__nomem(w->ctx, "stream writer state");
    tmodel_layer(&w->tm, act, n_slices, slice);
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *row = sym + (size_t)r * (size_t)cols;
        for (int32_t j = 0; j < n_slices; j++)
            encode_slice(&w->enc, &w->tm, row + (size_t)j * (size_t)slice, &act[j]);
    }
    ec2t__free(w->ctx, act);
    return EC2T_OK;
}

size_t
ec2t__tsw_finish(ec2t__tswriter *w)
{
    enc_finish(&w->enc);
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

struct ec2t__tsreader {
    ec2t_context *ctx;
    const char *who;
    dec dec;
    tmodel tm;
    fmodel fm;
    int float_bits;
    uint64_t symbols; /* in the layers so far, for the length check */
    uint64_t floats;  /* so far, for the length check */
};

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
    prob_init((*r)->tm.zero, N_ZERO_CTX);
    prob_init((*r)->tm.sign, N_SIGN_CTX);
    fmodel_init(&(*r)->fm, in[1]);
    if (!dec_start(&(*r)->dec, in + HEADER_BYTES, len - HEADER_BYTES)) {
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
    fmodel *f = &r->fm;
    for (int64_t j = 0; j < n; j++) {
        unsigned node = 1;
        uint32_t man = 0;
        int sign = dec_bit(&r->dec, &f->sign[kind]);
        for (int i = 0; i < f->exp_bits; i++)
            node = 2 * node + (unsigned)dec_bit(&r->dec, &f->exp[kind][sign][node]);
        for (int i = 0; i < f->man_bits; i++)
            man = man << 1 | (uint32_t)dec_bin(&r->dec, PROB_HALF);
        /* node is now 2^exp_bits + the exponent field */
        bits[j] = (uint32_t)sign << (f->man_bits + f->exp_bits) |
                  (node - (1u << f->exp_bits)) << f->man_bits | man;
        if (r->dec.overrun)
            return ec2t__error(r->ctx, EC2T_E_FORMAT,
                               "%s: truncated (the stream ends inside the floats)", r->who);
    }
    return EC2T_OK;
}

ec2t_status
ec2t__tsr_check_floats(ec2t__tsreader *r, int64_t n)
{
    /* a direct bin narrows the range by nearly half, so a float costs at
     * least man_bits - 1 bits, and the decoder reads 4 bytes at the start */
    uint64_t bits = ((uint64_t)r->dec.len + PAD_BYTES + 4) * 8;
    uint64_t cap = bits / (uint64_t)(r->fm.man_bits - 1);
    if (n < 0 || (uint64_t)n > cap || r->floats > cap - (uint64_t)n)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: %lld floats cannot fit in a %zu-byte stream with the %" PRIu64
                           " floats before them",
                           r->who, (long long)n, r->dec.len + HEADER_BYTES, r->floats);
    r->floats += (uint64_t)n;
    return EC2T_OK;
}

ec2t_status
ec2t__tsr_check_layer(ec2t__tsreader *r, int32_t rows, int32_t cols)
{
    uint64_t cap = ((uint64_t)r->dec.len + HEADER_BYTES + PAD_BYTES) *
                   EC2T__TSTREAM_MAX_SYMBOLS_PER_BYTE;
    uint64_t n = (uint64_t)(rows > 0 ? rows : 0) * (uint64_t)(cols > 0 ? cols : 0);
    if (n > cap || r->symbols > cap - n)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: a %d x %d ternary layer cannot fit in a %zu-byte stream with "
                           "the %" PRIu64 " symbols before it",
                           r->who, (int)rows, (int)cols, r->dec.len + HEADER_BYTES, r->symbols);
    return EC2T_OK;
}

/* All rows of a layer into its masks (row m's bit k in word m*words + k/64),
 * x a scratch row of cols symbols, after tmodel_layer(). Returns the row
 * where the stream ran out (overrun set), or rows when all decoded. */
static int32_t
decode_rows(dec *d, tmodel *m, int8_t *x, int32_t rows, int32_t cols, uint64_t *pmask,
            uint64_t *nmask)
{
    int32_t n_slices = cols / m->slice;
    size_t words = ((size_t)cols + 63) / 64;
    for (int32_t r = 0; r < rows; r++) {
        for (int32_t j = 0; j < n_slices; j++) {
            decode_slice(d, m, x + (size_t)j * (size_t)m->slice, &m->act[j]);
            if (d->overrun)
                return r;
        }
        pack_row(x, cols, pmask + (size_t)r * words, nmask + (size_t)r * words);
    }
    return rows;
}

ec2t_status
ec2t__tsr_ternary(ec2t__tsreader *r, int32_t rows, int32_t cols, int32_t slice, uint64_t *pmask,
                  uint64_t *nmask)
{
    int32_t n_slices, done;
    size_t act_bytes;
    uint8_t *scratch;
    ec2t_status st = ec2t__tsr_check_layer(r, rows, cols);
    if (st == EC2T_OK)
        st = check_shape(r->ctx, r->who, rows, cols, slice);
    if (st != EC2T_OK)
        return st;
    r->symbols += (uint64_t)rows * (uint64_t)cols;
    /* the slice columns' activities, then one row of symbols */
    n_slices = cols / slice;
    act_bytes = (size_t)n_slices * sizeof(uint16_t);
    if (act_bytes > SIZE_MAX - (size_t)cols)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "%s: %d columns are too many", r->who, (int)cols);
    scratch = ec2t__alloc(r->ctx, act_bytes + (size_t)cols, sizeof(uint16_t));
    if (!scratch)
        return ec2t__nomem(r->ctx, "stream reader state");
    tmodel_layer(&r->tm, (uint16_t *)(void *)scratch, n_slices, slice);
    done = decode_rows(&r->dec, &r->tm, (int8_t *)(scratch + act_bytes), rows, cols, pmask, nmask);
    ec2t__free(r->ctx, scratch);
    if (done < rows)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: truncated (the stream ends inside row %d of %d of a layer)", r->who,
                           (int)done, (int)rows);
    return EC2T_OK;
}

/* The encoder's flush leaves the value at a multiple of 2^24 less than 2^24
 * above low, and exactly PAD_BYTES implicit zeros to read. */
ec2t_status
ec2t__tsr_finish(ec2t__tsreader *r)
{
    const dec *d = &r->dec;
    if (d->pos < d->len + PAD_BYTES)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: %zu bytes of %zu left over after the last bin",
                           r->who, d->len + PAD_BYTES - d->pos, d->len + HEADER_BYTES);
    if (d->code >= RANGE_TOP)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: corrupt (the final state is not the encoder's)", r->who);
    return EC2T_OK;
}

void
ec2t__tsr_free(ec2t__tsreader *r)
{
    if (r)
        ec2t__free(r->ctx, r);
}
