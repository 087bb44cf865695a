/* SPDX-License-Identifier: MIT */
/* The packed layout of deployable files (doc/FORMAT.md, "The packed
 * layout"): the program as one string of varints, and every float and every
 * ternary layer in one coded stream (tstream.c). Two tensors instead of
 * several keys and tensors per operation: the header of a ResNet-20 shrinks
 * from about 10 KB to under 300 bytes. */
#include <string.h>

#include "engine-io-private.h"
#include "tstream-private.h"

#define MAX_OPS (1 << 20)
#define VARINT_MAX 5              /* bytes of a value up to 2^31 - 1 */
#define OP_BYTES_MAX (1 + 2 * VARINT_MAX + 1 + 7 * VARINT_MAX)
#define FLAG_RELU 1u
#define FLAG_TERNARY 2u
#define FLAG_SCALE 4u
#define FLAG_BIAS 8u

/* ---- half precision ---- */

/* Round to the nearest half, ties to even; magnitudes from 65520 up become
 * infinity (the caller refuses them), NaN stays NaN. */
static uint16_t
half_of(float f)
{
    uint32_t x, sign, mag, h, rest;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000u;
    mag = x & 0x7FFFFFFFu;
    if (mag > 0x7F800000u)
        return (uint16_t)(sign | 0x7E00u);
    if (mag >= 0x477FF000u)
        return (uint16_t)(sign | 0x7C00u);
    if (mag < 0x38800000u) { /* below 2^-14: subnormal, in units of 2^-24 */
        float a, r;
        memcpy(&a, &mag, 4);
        a *= 16777216.0f; /* exact: a power of two, and a < 1024 */
        h = (uint32_t)a;
        r = a - (float)h;
        if (r > 0.5f || (r == 0.5f && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    h = (mag - 0x38000000u) >> 13; /* rebias the exponent from 127 to 15 */
    rest = mag & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is still the right half */
    return (uint16_t)(sign | h);
}

static float
float_of_half(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, x;
    float f;
    if (exp == 0) {
        f = (float)man * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    x = sign | (exp == 31 ? 0x7F800000u | (man << 13) : ((exp + 112) << 23) | (man << 13));
    memcpy(&f, &x, 4);
    return f;
}

/* ---- writing ---- */

static void
put_varint(uint8_t *buf, size_t *n, uint32_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7F);
        v >>= 7;
        buf[(*n)++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
}

static int
weighted(const ec2t__eop *op)
{
    return op->kind == EC2T__OP_CONV || op->kind == EC2T__OP_DENSE;
}

/* Whether op takes floats (and symbols) from the stream. */
static int
takes_stream(const ec2t__eop *op)
{
    return weighted(op) || op->scale || op->bias;
}

static void
write_program_op(const ec2t__eop *op, int32_t i, uint8_t *buf, size_t *n)
{
    uint32_t flags = (op->relu ? FLAG_RELU : 0) | (op->ternary ? FLAG_TERNARY : 0) |
                     (op->scale ? FLAG_SCALE : 0) | (op->bias ? FLAG_BIAS : 0);
    put_varint(buf, n, (uint32_t)op->kind);
    for (int32_t k = 0; k < op->n_in; k++)
        put_varint(buf, n, (uint32_t)(i - op->in[k]));
    put_varint(buf, n, flags);
    switch (op->kind) {
    case EC2T__OP_CONV: {
        uint32_t v[6] = {(uint32_t)op->m,      (uint32_t)op->groups,     (uint32_t)op->win.kh,
                         (uint32_t)op->win.kw, (uint32_t)op->win.stride, (uint32_t)op->win.pad};
        for (int k = 0; k < 6; k++)
            put_varint(buf, n, v[k]);
        break;
    }
    case EC2T__OP_DENSE: put_varint(buf, n, (uint32_t)op->m); break;
    case EC2T__OP_MAXPOOL:
    case EC2T__OP_AVGPOOL:
        put_varint(buf, n, (uint32_t)op->win.kh);
        put_varint(buf, n, (uint32_t)op->win.stride);
        put_varint(buf, n, (uint32_t)op->win.pad);
        break;
    case EC2T__OP_ADD: put_varint(buf, n, (uint32_t)op->stride); break;
    default: break;
    }
}

/* Floats of a kind into the stream, as bit patterns of e->float_bits bits;
 * EC2T_E_INVAL if one is too large for 16 bits. */
static ec2t_status
stream_floats(const ec2t_engine *e, ec2t__tswriter *w, ec2t__fkind kind, const float *f, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        uint32_t bits;
        if (e->float_bits == 16) {
            bits = half_of(f[j]);
            if ((bits & 0x7FFFu) == 0x7C00u && f[j] == f[j] && f[j] - f[j] == 0)
                return ec2t__error(e->ctx, EC2T_E_INVAL,
                                   "ec2t_engine_save: %g is too large for a 16-bit float", (double)f[j]);
        } else {
            memcpy(&bits, &f[j], 4);
        }
        ec2t__tsw_floats(w, kind, &bits, 1);
    }
    return EC2T_OK;
}

/* What op takes from the stream, in the order of doc/FORMAT.md §13.2. */
static ec2t_status
stream_op(const ec2t_engine *e, const ec2t__eop *op, ec2t__tswriter *w)
{
    int64_t c = ec2t__eio_channels(e, op);
    ec2t_status st = EC2T_OK;
    if (weighted(op) && op->ternary) {
        const float levels[2] = {op->wp, op->wn};
        int8_t *sym = NULL;
        st = stream_floats(e, w, EC2T__FK_LEVEL, levels, 2);
        if (st == EC2T_OK && !(sym = ec2t__eio_symbols(e->ctx, &op->tm)))
            st = ec2t__nomem(e->ctx, "ternary symbols");
        if (st == EC2T_OK)
            st = ec2t__tsw_ternary(w, sym, op->m, op->k, ec2t__eio_slice(op));
        ec2t__free(e->ctx, sym);
    } else if (weighted(op)) {
        st = stream_floats(e, w, EC2T__FK_WEIGHT, op->weight, (int64_t)op->m * op->k);
    }
    if (st == EC2T_OK && op->scale)
        st = stream_floats(e, w, EC2T__FK_SCALE, op->scale, c);
    if (st == EC2T_OK && op->bias)
        st = stream_floats(e, w, EC2T__FK_BIAS, op->bias, c);
    return st;
}

/* The whole stream into out, or with out NULL its length only. */
static ec2t_status
encode_stream(const ec2t_engine *e, uint8_t *out, size_t *len)
{
    ec2t__tswriter *w = NULL;
    ec2t_status st = ec2t__tsw_new(e->ctx, (int)e->float_bits, out, &w);
    for (int32_t i = 0; st == EC2T_OK && i < e->n_ops; i++)
        st = stream_op(e, &e->ops[i], w);
    if (st == EC2T_OK)
        *len = ec2t__tsw_finish(w);
    ec2t__tsw_free(w);
    return st;
}

ec2t_status
ec2t__eio_save_packed(const ec2t_engine *e, ec2t__cwriter *w, void *owned[2])
{
    const ec2t__value *in = &e->values[0];
    uint32_t head[5] = {(uint32_t)e->n_ops, (uint32_t)e->output, (uint32_t)in->c, (uint32_t)in->h,
                        (uint32_t)in->w};
    size_t n = 0, len = 0;
    uint8_t *prog = ec2t__alloc(e->ctx, 5 * VARINT_MAX + (size_t)e->n_ops * OP_BYTES_MAX, 64);
    int has_stream = 0;
    ec2t_status st = prog ? EC2T_OK : ec2t__nomem(e->ctx, "engine writer");
    owned[0] = prog;
    for (int32_t i = 0; i < e->n_ops; i++)
        has_stream |= takes_stream(&e->ops[i]);
    if (st != EC2T_OK)
        return st;
    for (int k = 0; k < 5; k++)
        put_varint(prog, &n, head[k]);
    for (int32_t i = 0; i < e->n_ops; i++)
        write_program_op(&e->ops[i], i, prog, &n);
    st = ec2t__cw_add_tensor(w, "engine.program", EC2T__DT_U8, 1, (int64_t[]){(int64_t)n}, prog, n);
    if (st != EC2T_OK || !has_stream)
        return st;
    /* count, then write into a buffer of the exact size (the context's
     * allocator has no realloc) */
    st = encode_stream(e, NULL, &len);
    if (st == EC2T_OK && !(owned[1] = ec2t__alloc(e->ctx, len, 64)))
        st = ec2t__nomem(e->ctx, "engine stream");
    if (st == EC2T_OK)
        st = encode_stream(e, owned[1], &len);
    if (st == EC2T_OK)
        st = ec2t__cw_add_tensor(w, "engine.stream", EC2T__DT_U8, 1, (int64_t[]){(int64_t)len}, owned[1],
                                 len);
    return st;
}

/* ---- reading ---- */

/* The program, and the stream its floats and symbols come from (NULL when
 * the file has none). */
typedef struct cursor {
    const uint8_t *prog;
    size_t n, pos;
    ec2t__tsreader *ts;
} cursor;

/* The next varint of the program: minimal LEB128 of at most 5 bytes, at most
 * max. -1 when there is none or it breaks a rule. */
static int64_t
next_varint(cursor *c, int64_t max)
{
    uint64_t v = 0;
    for (int k = 0; k < VARINT_MAX && c->pos < c->n; k++) {
        uint8_t b = c->prog[c->pos++];
        v |= (uint64_t)(b & 0x7F) << (7 * k);
        if (!(b & 0x80))
            return (k > 0 && b == 0) || v > (uint64_t)max ? -1 : (int64_t)v;
    }
    return -1;
}

/* Read the next n values of c into int32_t fields (each in [lo, INT32_MAX]). */
static int
next_fields(cursor *c, int32_t *const *dst, const int32_t *lo, int n)
{
    for (int k = 0; k < n; k++) {
        int64_t v = next_varint(c, INT32_MAX);
        if (v < lo[k])
            return 0;
        *dst[k] = (int32_t)v;
    }
    return 1;
}

static uint32_t
allowed_flags(ec2t__opkind kind)
{
    switch (kind) {
    case EC2T__OP_CONV:
    case EC2T__OP_DENSE: return FLAG_RELU | FLAG_TERNARY | FLAG_SCALE | FLAG_BIAS;
    case EC2T__OP_AFFINE: return FLAG_RELU | FLAG_SCALE | FLAG_BIAS;
    case EC2T__OP_ADD: return FLAG_RELU;
    default: return 0;
    }
}

/* Kind, inputs, flags and geometry of op i; 0 if the bytes break a rule. */
static int
read_program_op(ec2t_engine *e, cursor *c, int32_t i, uint32_t *flags)
{
    ec2t__eop *op = &e->ops[i];
    const ec2t__value *a;
    int64_t kind = next_varint(c, EC2T__OP_LAST), f, fan_in;
    if (kind < EC2T__OP_CONV)
        return 0;
    op->kind = (ec2t__opkind)kind;
    op->n_in = op->kind == EC2T__OP_ADD ? 2 : 1;
    op->out = i + 1;
    op->groups = 1;
    for (int32_t k = 0; k < op->n_in; k++) {
        int64_t back = next_varint(c, i);
        if (back < 0)
            return 0;
        op->in[k] = i - (int32_t)back;
    }
    f = next_varint(c, 15);
    if (f < 0 || ((uint32_t)f & ~allowed_flags(op->kind)) ||
        (op->kind == EC2T__OP_AFFINE && !((uint32_t)f & FLAG_SCALE)))
        return 0;
    *flags = (uint32_t)f;
    op->relu = (*flags & FLAG_RELU) != 0;
    op->ternary = (*flags & FLAG_TERNARY) != 0;
    a = &e->values[op->in[0]];
    op->win.h = a->h, op->win.w = a->w;
    if (op->kind == EC2T__OP_CONV) {
        int32_t *dst[6] = {&op->m, &op->groups, &op->win.kh, &op->win.kw, &op->win.stride, &op->win.pad};
        static const int32_t lo[6] = {1, 1, 1, 1, 1, 0};
        if (!next_fields(c, dst, lo, 6))
            return 0;
        fan_in = (int64_t)(a->c / op->groups) * op->win.kh * op->win.kw;
        op->k = fan_in <= INT32_MAX ? (int32_t)fan_in : 0; /* 0: refused as a bad size */
    } else if (op->kind == EC2T__OP_DENSE) {
        int32_t *dst[1] = {&op->m};
        static const int32_t lo[1] = {1};
        if (!next_fields(c, dst, lo, 1))
            return 0;
        op->k = a->c;
    } else if (op->kind == EC2T__OP_MAXPOOL || op->kind == EC2T__OP_AVGPOOL) {
        int32_t *dst[3] = {&op->win.kh, &op->win.stride, &op->win.pad};
        static const int32_t lo[3] = {1, 1, 0};
        if (!next_fields(c, dst, lo, 3))
            return 0;
        op->win.kw = op->win.kh;
    } else if (op->kind == EC2T__OP_ADD) {
        int32_t *dst[1] = {&op->stride};
        static const int32_t lo[1] = {1};
        if (!next_fields(c, dst, lo, 1))
            return 0;
        op->win = (ec2t__window){e->values[op->in[1]].h, e->values[op->in[1]].w, a->h, a->w, 1, 1,
                                 op->stride, 0};
    }
    if (op->kind == EC2T__OP_CONV || op->kind == EC2T__OP_MAXPOOL || op->kind == EC2T__OP_AVGPOOL) {
        op->win.oh = ec2t__eop_swept(a->h, op->win.kh, op->win.stride, op->win.pad);
        op->win.ow = ec2t__eop_swept(a->w, op->win.kw, op->win.stride, op->win.pad);
    }
    return 1;
}

static ec2t_status
no_stream(ec2t_engine *e, const char *what, int32_t i)
{
    return ec2t__error(e->ctx, EC2T_E_FORMAT,
                       "%s: operation %d needs floats or symbols but the file has no engine.stream",
                       what, (int)i);
}

/* The next n floats of a kind, in a new array. */
static ec2t_status
take_floats(ec2t_engine *e, const char *what, cursor *c, int32_t i, ec2t__fkind kind, int64_t n,
            float **out)
{
    ec2t_status st;
    if (!c->ts)
        return no_stream(e, what, i);
    if ((st = ec2t__tsr_check_floats(c->ts, n)) != EC2T_OK)
        return st;
    *out = ec2t__alloc(e->ctx, (size_t)n * sizeof **out, 64);
    if (!*out)
        return ec2t__nomem(e->ctx, "engine tensor");
    for (int64_t j = 0; j < n; j++) {
        uint32_t bits;
        st = ec2t__tsr_floats(c->ts, kind, &bits, 1);
        if (st != EC2T_OK)
            return st;
        if (e->float_bits == 16)
            (*out)[j] = float_of_half((uint16_t)bits);
        else
            memcpy(&(*out)[j], &bits, 4);
    }
    return EC2T_OK;
}

/* Decode op's ternary matrix from the stream into op->tm, within
 * e->load_budget (EC2T_E_FORMAT if the layer could need more, EC2T_E_NOMEM
 * when that budget is the caller's EC2T_CTX_LOAD_LIMIT). */
static ec2t_status
decode_masks(ec2t_engine *e, const char *what, ec2t__eop *op, ec2t__tsreader *ts)
{
    int32_t words = (op->k + 63) / 64;
    int64_t need = (int64_t)op->m * op->k * 12; /* masks, index lists, offsets, dense copy */
    uint64_t *p, *q;
    ec2t_status st;
    if (need > e->load_budget)
        return ec2t__error(e->ctx, e->load_budget_caller ? EC2T_E_NOMEM : EC2T_E_FORMAT,
                           "%s: a %d x %d ternary layer could need %lld bytes of memory, more than "
                           "%s (%lld bytes left)",
                           what, (int)op->m, (int)op->k, (long long)need,
                           e->load_budget_caller ? "the context's EC2T_CTX_LOAD_LIMIT"
                                                 : "libec2t lets a file of this size ask for",
                           (long long)e->load_budget);
    e->load_budget -= need;
    p = ec2t__calloc(e->ctx, (size_t)op->m * (size_t)words, sizeof *p);
    q = ec2t__calloc(e->ctx, (size_t)op->m * (size_t)words, sizeof *q);
    st = p && q ? EC2T_OK : ec2t__nomem(e->ctx, "ternary masks");
    if (st == EC2T_OK)
        st = ec2t__tsr_ternary(ts, op->m, op->k, ec2t__eio_slice(op), p, q);
    if (st == EC2T_OK)
        st = ec2t__tmat_from_masks(e->ctx, p, q, op->m, op->k, &op->tm);
    ec2t__free(e->ctx, p);
    ec2t__free(e->ctx, q);
    return st;
}

/* op's ternary matrix: the next layer of the stream. */
static ec2t_status
take_ternary(ec2t_engine *e, const char *what, cursor *c, int32_t i)
{
    ec2t__eop *op = &e->ops[i];
    ec2t_status st;
    if (!c->ts)
        return no_stream(e, what, i);
    st = ec2t__tsr_check_layer(c->ts, op->m, op->k);
    return st == EC2T_OK ? decode_masks(e, what, op, c->ts) : st;
}

static ec2t_status
read_op_arrays(ec2t_engine *e, const char *what, cursor *c, int32_t i, uint32_t flags)
{
    ec2t__eop *op = &e->ops[i];
    int64_t ch = ec2t__eio_channels(e, op);
    ec2t_status st = EC2T_OK;
    if (weighted(op) && op->ternary) {
        float *levels = NULL;
        st = take_floats(e, what, c, i, EC2T__FK_LEVEL, 2, &levels);
        if (st == EC2T_OK && !(levels[0] >= 0 && levels[1] >= 0))
            st = ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d: bad levels", what, (int)i);
        if (st == EC2T_OK) {
            op->wp = levels[0], op->wn = levels[1];
            st = take_ternary(e, what, c, i);
        }
        ec2t__free(e->ctx, levels);
    } else if (weighted(op)) {
        st = take_floats(e, what, c, i, EC2T__FK_WEIGHT, (int64_t)op->m * op->k, &op->weight);
    }
    if (st == EC2T_OK && (flags & FLAG_SCALE))
        st = take_floats(e, what, c, i, EC2T__FK_SCALE, ch, &op->scale);
    if (st == EC2T_OK && (flags & FLAG_BIAS))
        st = take_floats(e, what, c, i, EC2T__FK_BIAS, ch, &op->bias);
    return st;
}

static ec2t_status
read_program(ec2t_engine *e, const char *what, cursor *c)
{
    int64_t head[5];
    for (int k = 0; k < 5; k++)
        head[k] = next_varint(c, INT32_MAX);
    if (head[0] < 1 || head[0] > MAX_OPS || head[1] < 0 || head[1] > head[0] ||
        !ec2t__eio_shape_ok((int32_t)head[2], (int32_t)head[3], (int32_t)head[4]))
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: bad program header", what);
    e->values = ec2t__calloc(e->ctx, (size_t)head[0] + 1, sizeof *e->values);
    e->ops = ec2t__calloc(e->ctx, (size_t)head[0], sizeof *e->ops);
    if (!e->values || !e->ops)
        return ec2t__nomem(e->ctx, "engine");
    e->output = (int32_t)head[1];
    e->n_values = 1;
    e->values[0] = (ec2t__value){(int32_t)head[2], (int32_t)head[3], (int32_t)head[4], -1};
    for (int32_t i = 0; i < (int32_t)head[0]; i++) {
        ec2t__eop *op = &e->ops[i];
        ec2t__value *out = &e->values[i + 1];
        uint32_t flags = 0;
        ec2t_status st;
        e->n_ops = i + 1;
        if (!read_program_op(e, c, i, &flags))
            return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d is malformed", what, (int)i);
        if (!ec2t__eio_sizes_ok(op) || ec2t__eop_infer(e, op, out) != EC2T_OK ||
            !ec2t__eio_shape_ok(out->c, out->h, out->w))
            return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d (%s) does not fit its input",
                               what, (int)i, ec2t__opkind_name(op->kind));
        e->n_values = i + 2;
        if ((st = read_op_arrays(e, what, c, i, flags)) != EC2T_OK)
            return st;
    }
    if (c->pos != c->n)
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: %zu bytes left over after the program's last "
                           "operation", what, c->n - c->pos);
    return c->ts ? ec2t__tsr_finish(c->ts) : EC2T_OK;
}

static int
is_bytes(const ec2t__ctensor *t)
{
    return !t || (t->dtype == EC2T__DT_U8 && t->ndim == 1);
}

/* The stream's reader, when the file has engine.stream. */
static ec2t_status
open_stream(ec2t_engine *e, const ec2t__ctensor *t, const char *what, ec2t__tsreader **ts)
{
    ec2t_status st;
    *ts = NULL;
    if (!t)
        return EC2T_OK;
    st = ec2t__tsr_new(e->ctx, what, t->data, (size_t)t->nbytes, ts);
    if (st == EC2T_OK)
        e->float_bits = ec2t__tsr_float_bits(*ts);
    return st;
}

ec2t_status
ec2t__eio_load_packed(ec2t_engine *e, const ec2t__creader *r)
{
    const char *what = ec2t__cr_what(r);
    const ec2t__ctensor *prog = ec2t__cr_find_tensor(r, "engine.program");
    const ec2t__ctensor *stream = ec2t__cr_find_tensor(r, "engine.stream");
    cursor c = {0};
    ec2t_status st = EC2T_OK;
    if (!is_bytes(prog) || !is_bytes(stream))
        st = ec2t__error(e->ctx, EC2T_E_FORMAT,
                         "%s: engine.program or engine.stream is not a byte string", what);
    if (st == EC2T_OK)
        st = open_stream(e, stream, what, &c.ts);
    if (st == EC2T_OK) {
        c.prog = prog->data, c.n = (size_t)prog->nbytes;
        st = read_program(e, what, &c);
    }
    ec2t__tsr_free(c.ts);
    return st;
}
