/* SPDX-License-Identifier: MIT */
/* The engine's int8 precision: per-operation quantisation parameters, the
 * precision setting and the run of a convolution on the integer kernel
 * (engine-int8-private.h).
 *
 * One scale per layer input, not per channel: the integer sum of a ternary
 * row adds the activations of every input channel with weight +-1, which is
 * only a sum of the real activations when they share a scale; per-channel
 * scales would turn the three weight values into one per channel. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine-int8-private.h"

static int64_t
round16(int64_t n)
{
    return (n + 15) / 16 * 16;
}

/* An odd number of 64-byte lines of 16-bit values, at least n values. */
static int64_t
odd_lines32(int64_t n)
{
    n = (n + 31) / 32 * 32;
    return (n / 32) % 2 ? n : n + 32;
}

/* An offset into planes of vps values as one into planes of vps8. */
static int64_t
replane(int32_t off, int64_t vps, int64_t vps8)
{
    return off / vps * vps8 + off % vps;
}

/* Values of the quantised variants of a planned conv. */
static int64_t
q8_values(const ec2t__eop *op, int64_t vps8)
{
    return op->col_floats / op->vps * vps8;
}

int
ec2t__q8_eligible(const ec2t__eop *op)
{
    return op->kind == EC2T__OP_CONV && op->ternary;
}

void
ec2t__q8_destroy(ec2t_context *ctx, ec2t__q8 *q)
{
    if (!q)
        return;
    ec2t__free(ctx, q->ap);
    ec2t__free(ctx, q->an);
    ec2t__free(ctx, q->poff);
    ec2t__free(ctx, q->noff);
    ec2t__free(ctx, q);
}

void
ec2t__q8_free(ec2t_context *ctx, ec2t__eop *op)
{
    ec2t__q8_destroy(ctx, op->q8);
    op->q8 = NULL;
}

ec2t_status
ec2t__q8_new(ec2t_engine *e, const ec2t__eop *op, float scale, int32_t zero, ec2t__q8 **out)
{
    ec2t__q8 *q;
    *out = NULL;
    if (!ec2t__q8_eligible(op) || !(scale > 0.0f) || !isfinite(scale) || !isfinite(1.0f / scale) ||
        zero < 0 || zero > 255)
        return ec2t__error(e->ctx, EC2T_E_INVAL, "engine int8: scale %g, zero point %d",
                           (double)scale, (int)zero);
    if (q8_values(op, odd_lines32(op->vps)) >= INT32_MAX)
        return ec2t__error(e->ctx, EC2T_E_UNSUPPORTED, "engine int8: convolution input too large");
    q = ec2t__calloc(e->ctx, 1, sizeof *q);
    if (!q)
        return ec2t__nomem(e->ctx, "int8 levels");
    q->ap = ec2t__alloc(e->ctx, (size_t)op->m * sizeof(float), 64);
    q->an = ec2t__alloc(e->ctx, (size_t)op->m * sizeof(float), 64);
    q->poff = ec2t__alloc(e->ctx, (size_t)op->tm.prow[op->m] * sizeof(int32_t) + 1, 64);
    q->noff = ec2t__alloc(e->ctx, (size_t)op->tm.nrow[op->m] * sizeof(int32_t) + 1, 64);
    if (!q->ap || !q->an || !q->poff || !q->noff) {
        ec2t__q8_destroy(e->ctx, q);
        return ec2t__nomem(e->ctx, "int8 levels");
    }
    q->scale = scale;
    q->zero = zero;
    q->vps8 = odd_lines32(op->vps);
    for (int32_t m = 0; m < op->m; m++) {
        q->ap[m] = op->ap[m] * scale;
        q->an[m] = op->an[m] * scale;
    }
    for (int32_t i = 0; i < op->tm.prow[op->m]; i++)
        q->poff[i] = (int32_t)replane(op->poff[i], op->vps, q->vps8);
    for (int32_t i = 0; i < op->tm.nrow[op->m]; i++)
        q->noff[i] = (int32_t)replane(op->noff[i], op->vps, q->vps8);
    q->sh = (ec2t__tshift8){op->m, op->tm.prow, op->tm.nrow, q->poff, q->noff,
                            q->ap, q->an, op->bias, zero, op->relu};
    *out = q;
    return EC2T_OK;
}

/* The scratch an int8 convolution needs: its float column variants, then
 * as many 16-bit values. */
static int64_t
int8_col_floats(const ec2t__eop *op)
{
    return round16(op->col_floats) + round16((q8_values(op, odd_lines32(op->vps)) + 1) / 2);
}

ec2t_status
ec2t__engine_set_precision(ec2t_engine *e, int64_t value)
{
    int64_t col = e->col_floats;
    if (value != EC2T_PRECISION_FLOAT && value != EC2T_PRECISION_INT8)
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_set_int: precision %lld",
                           (long long)value);
    for (int32_t i = 0; i < e->n_ops && value == EC2T_PRECISION_INT8; i++) {
        const ec2t__eop *op = &e->ops[i];
        if (!ec2t__q8_eligible(op))
            continue;
        if (!op->q8)
            return ec2t__error(e->ctx, EC2T_E_STATE,
                               "ec2t_engine_set_int: int8 needs calibrated scales "
                               "(ec2t_engine_calibrate)");
        col = int8_col_floats(op) > col ? int8_col_floats(op) : col;
    }
    /* the workspace grows to hold the quantised variants, and stays so */
    e->col_floats = col;
    e->precision = value;
    return EC2T_OK;
}

/* Quantise the variants lowering wrote (its row phases, vrows * ow values
 * of each plane); the kernel reads nothing else. */
/* Rows [v0, v1) of every float column variant plane in col into q. */
static void
quantize_variants(ec2t__isa isa, const ec2t_engine *e, const ec2t__eop *op, const float *col,
                  int32_t v0, int32_t v1, uint16_t *q)
{
    const ec2t__window *g = &op->win;
    int32_t cin = e->values[op->in[0]].c, phases = g->kh < g->stride ? g->kh : g->stride;
    int64_t first = (int64_t)v0 * g->ow, n = (int64_t)(v1 - v0) * g->ow;
    float inv = 1.0f / op->q8->scale;
    for (int32_t c = 0; c < cin; c++)
        for (int32_t i = 0; i < phases; i++) {
            /* tap row i's phase; rows below the stride are phases 0..stride-1 */
            int32_t py = ((i - g->pad) % g->stride + g->stride) % g->stride;
            for (int32_t j = 0; j < g->kw; j++) {
                int64_t plane = ((int64_t)c * g->stride + py) * g->kw + j;
                ec2t__quantize8(isa, col + plane * op->vps + first, n, inv, op->q8->zero,
                                q + plane * op->q8->vps8 + first);
            }
        }
}

static void
fill16(uint16_t *p, int64_t n, uint16_t v)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = v;
}

/* ec2t__lower_columns' stride-1, ow == w case on quantised values: rows
 * [r0, r0 + nrows) of the plane shifted by off = j - pad, z outside. */
static void
shift_plane(const ec2t__window *g, const uint16_t *xq, int32_t off, int32_t r0, int32_t nrows,
            uint16_t z, uint16_t *dst)
{
    int64_t w = g->w, n = (int64_t)g->h * w;
    int32_t ra = r0 < 0 ? -r0 : 0, rb = g->h - r0 < nrows ? g->h - r0 : nrows;
    int32_t lo = off < 0 ? -off : 0, hi = g->w - off < g->w ? g->w - off : g->w;
    int64_t s0, first, last;
    if (ra >= rb) {
        fill16(dst, (int64_t)nrows * w, z);
        return;
    }
    fill16(dst, ra * w, z);
    fill16(dst + rb * w, (nrows - rb) * w, z);
    /* element t of rows [ra, rb) copies xq[s0 + t]; keep the source inside */
    s0 = (ra + r0) * w + off;
    first = s0 < 0 ? -s0 : 0;
    last = (rb - ra) * w;
    last = s0 + last > n ? n - s0 : last;
    fill16(dst + ra * w, first < last ? first : last, z);
    if (last > first)
        memcpy(dst + ra * w + first, xq + s0 + first, (size_t)(last - first) * sizeof *xq);
    if (last < (rb - ra) * w)
        fill16(dst + ra * w + (last > 0 ? last : 0), (rb - ra) * w - (last > 0 ? last : 0), z);
    /* the columns outside the plane (the copy ran through them) */
    lo = lo < g->w ? lo : g->w;
    hi = hi > lo ? hi : lo;
    for (int32_t r = ra; r < rb; r++) {
        fill16(dst + r * w, lo, z);
        fill16(dst + r * w + hi, g->w - hi, z);
    }
}

int
ec2t__lower_int8(ec2t__isa isa, const ec2t_engine *e, const ec2t__eop *op, const float *x,
                 int64_t ps, float *col, int32_t v0, int32_t v1)
{
    const ec2t__window *g = &op->win;
    int32_t cin = e->values[op->in[0]].c;
    uint16_t *xq = (uint16_t *)col, *q = (uint16_t *)(col + round16(op->col_floats));
    int64_t hw = (int64_t)g->h * g->w;
    /* the input rows those variant rows copy (stride 1), inside the plane */
    int32_t a = v0 + op->vrow0 < 0 ? 0 : v0 + op->vrow0;
    int32_t b = v1 + op->vrow0 > g->h ? g->h : v1 + op->vrow0;
    if (g->stride != 1 || g->ow != g->w || hw * 2 > op->col_floats * 4)
        return 0;
    for (int32_t c = 0; c < cin; c++) {
        if (a < b)
            ec2t__quantize8(isa, x + c * ps + (int64_t)a * g->w, (int64_t)(b - a) * g->w,
                            1.0f / op->q8->scale, op->q8->zero, xq + (int64_t)a * g->w);
        for (int32_t j = 0; j < g->kw; j++)
            shift_plane(g, xq, j - g->pad, op->vrow0 + v0, v1 - v0, (uint16_t)op->q8->zero,
                        q + ((int64_t)c * g->kw + j) * op->q8->vps8 + (int64_t)v0 * g->ow);
    }
    return 1;
}

void
ec2t__conv_int8(ec2t__isa isa, const ec2t_engine *e, const ec2t__eop *op, float *col,
                int quantise, int32_t v0, int32_t v1, int64_t p0, int64_t p1, float *y,
                int64_t ldy, const float *res, int relu)
{
    uint16_t *q = (uint16_t *)(col + round16(op->col_floats));
    ec2t__tshift8 sh = op->q8->sh;
    if (quantise)
        quantize_variants(isa, e, op, col, v0, v1, q);
    sh.relu = relu;
    ec2t__tsh8(isa, &sh, q + p0, p1 - p0, y + p0, ldy, res ? res + p0 : NULL);
}
