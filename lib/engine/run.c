/* SPDX-License-Identifier: MIT */
/* Running a compiled program: the workspace, the operations, the threads.
 *
 * Samples run one at a time through the whole program, in "lanes": a lane
 * is a region of the workspace with every slot of one sample plus the
 * convolutions' scratch, about 0.4 MB for ResNet-20, so a sample's
 * activations stay in L2 from the first layer to the last (a whole batch
 * through one layer at a time streams megabytes through memory per layer).
 * A batch is split into at most MAX_LANES lanes of consecutive samples, run
 * by the context's workers; a single lane may split its larger operations
 * over the workers instead. Every number is computed by the same code in
 * the same order whatever the batch, the lanes and the thread count, so
 * results do not depend on them.
 *
 * Convolutions: im2col copies every input pixel kh x kw times, and a profile
 * showed it (and its memmove) costing as much as the ternary product. Here a
 * convolution copies its input once per kernel column j only, shifted by j
 * (and split into row phases at stride s, ec2t__lower_columns): the "column
 * variants", with the zero padding rows around each. Weight (c, i, j) then
 * reads the variant of (c, j) at a row offset: the shifted-row kernels
 * (ec2t__tsh for ternary weights, ec2t__dsh for float ones) take one offset
 * per weight and write the output planes directly, so a 3x3 convolution
 * copies 3x its input instead of 9x. With planes 16 or 32 floats wide every
 * one of those reads is 64-byte aligned; reading the taps in place from
 * zero-padded planes instead (no copy at all) made two thirds of the loads
 * split cache lines and was 1.45x slower on those layers. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "count-private.h"
#include "engine-private.h"
#include "engine-int8-private.h"
#include "fileio-private.h"
#include "thread-pool-private.h"

/* Lanes a batch splits into: the workers that can run samples at once. The
 * workspace holds one region per lane, so this bounds its size. */
#define MAX_LANES 8
/* Output channels per task when one sample's convolution is split over the
 * workers. */
#define ROW_BLOCK 8
/* Additions below which one sample's operation is not split over workers:
 * a fork and join of the pool costs about 18 us on the development VM
 * (splitting every ResNet-20 conv, 0.3-1 M additions, at batch 1 made 2
 * threads 2.4x slower than 1: 0.74 ms against 0.31), about the time of a
 * 1 M-addition convolution; a split pays from some 8 M on. */
#define SPLIT_MIN_ADDS (INT64_C(8) << 20)

/* ---- layout ---- */

static int64_t
round16(int64_t n)
{
    return (n + 15) / 16 * 16;
}

/* A plane stride of an odd number of cache lines: a stride of a multiple of
 * 1024 floats maps the planes a kernel walks onto the same cache sets
 * (doc/PERFORMANCE.md, ternary kernels). */
static int64_t
odd_lines(int64_t n)
{
    n = round16(n);
    return (n / 16) % 2 ? n : n + 16;
}

int64_t
ec2t__plane_stride(const ec2t__value *v)
{
    int64_t n = (int64_t)v->h * v->w;
    return n == 1 ? 1 : odd_lines(n);
}

/* ---- the run plan (at compile and load) ---- */

static int32_t
floor_div(int32_t a, int32_t s)
{
    return a >= 0 ? a / s : -((-a + s - 1) / s);
}

/* Tap row i of a conv reads input row s*oy + (i - pad) = s*(oy + dy) + py:
 * row phase py, row oy + dy of that phase. */
static void
tap_row(const ec2t__window *g, int32_t i, int32_t *py, int32_t *dy)
{
    *dy = floor_div(i - g->pad, g->stride);
    *py = i - g->pad - *dy * g->stride;
}

/* The column variants of a conv: per input channel c, row phase py and
 * kernel column j, a plane of vrows rows of ow floats; row r holds phase
 * row r + vrow0, from the top padding the first tap needs to the bottom
 * padding the last one does. */
static ec2t_status
plan_variants(const ec2t_engine *e, ec2t__eop *op)
{
    const ec2t__window *g = &op->win;
    int32_t py, dy_lo, dy_hi, cin = e->values[op->in[0]].c;
    int64_t rows;
    tap_row(g, 0, &py, &dy_lo);
    tap_row(g, g->kh - 1, &py, &dy_hi);
    rows = (int64_t)g->oh + dy_hi - dy_lo;
    /* the offsets are int32_t (in double: the product of four int32_t may
     * not fit an int64_t, with a file's geometry) */
    if ((double)cin * g->stride * g->kw * ((double)rows * g->ow + 32) >= INT32_MAX)
        return ec2t__error(e->ctx, EC2T_E_UNSUPPORTED, "engine: convolution input too large");
    op->vrow0 = dy_lo;
    op->vrows = (int32_t)rows;
    op->vps = odd_lines(rows * g->ow);
    op->col_floats = (int64_t)cin * g->stride * g->kw * op->vps;
    return EC2T_OK;
}

/* Where weight column k = (c*kh + i)*kw + j reads, from the scratch start
 * of c's group. */
static int64_t
tap_offset(const ec2t__eop *op, int32_t k)
{
    const ec2t__window *g = &op->win;
    int32_t taps = g->kh * g->kw, c = k / taps, i = k % taps / g->kw, j = k % g->kw, py, dy;
    tap_row(g, i, &py, &dy);
    return (((int64_t)c * g->stride + py) * g->kw + j) * op->vps +
           (int64_t)(dy - op->vrow0) * g->ow;
}

static int32_t *
alloc_ints(ec2t_context *ctx, int64_t n)
{
    return ec2t__alloc(ctx, (size_t)(n > 0 ? n : 1) * sizeof(int32_t), 64);
}

static ec2t_status
plan_conv(ec2t_engine *e, ec2t__eop *op)
{
    ec2t_status st = plan_variants(e, op);
    if (st != EC2T_OK)
        return st;
    op->doff = alloc_ints(e->ctx, op->k);
    if (!op->doff)
        return ec2t__nomem(e->ctx, "engine offsets");
    for (int32_t k = 0; k < op->k; k++)
        op->doff[k] = (int32_t)tap_offset(op, k);
    if (!op->ternary)
        return EC2T_OK;
    op->poff = alloc_ints(e->ctx, op->tm.prow[op->m]);
    op->noff = alloc_ints(e->ctx, op->tm.nrow[op->m]);
    if (!op->poff || !op->noff)
        return ec2t__nomem(e->ctx, "engine offsets");
    /* the lists in ascending k: the kernels' order of additions */
    for (int32_t i = 0; i < op->tm.prow[op->m]; i++)
        op->poff[i] = op->doff[op->tm.pidx[i]];
    for (int32_t i = 0; i < op->tm.nrow[op->m]; i++)
        op->noff[i] = op->doff[op->tm.nidx[i]];
    op->sh = (ec2t__tshift){op->m, op->tm.prow, op->tm.nrow, op->poff, op->noff,
                            op->ap, op->an, op->bias, op->relu};
    return EC2T_OK;
}

/* Whether a ternary operation prefers the dense kernels: where most weights
 * are non-zero, the FMA units' dense throughput beats skipping the few
 * zeros. Convolutions: both kernels timed per layer on ResNet-20 spars45
 * and spars64 with AVX-512 (doc/experiments.md): ec2t__dsh does 91-103 G
 * multiply-adds/s and ec2t__tsh 54-67 G additions/s on planes a multiple of
 * 16 floats wide (every load aligned), 76 G and 38-48 G on the 8-wide ones,
 * so they tie at densities of about 0.65 and 0.60 (the spars45 layers
 * between 0.55 and 0.66 came within 10 % either way). Dense layers: sgemv
 * against tmv, as the kernels' section says. */
static int
prefers_dense(const ec2t__eop *op)
{
    int64_t nnz = (int64_t)op->tm.prow[op->m] + op->tm.nrow[op->m], mk = (int64_t)op->m * op->k;
    if (op->kind != EC2T__OP_CONV)
        return nnz * 2 > mk;
    return nnz * 100 > mk * (op->win.ow % 16 == 0 ? 65 : 60);
}

/* A conv whose output only a following residual add reads, through its
 * first input, with no ReLU of its own between: the add (and its ReLU) runs
 * in the conv's epilogue, the same operations in the same order. */
static int
fusable(const ec2t_engine *e, int32_t i)
{
    const ec2t__eop *op = &e->ops[i], *add = i + 1 < e->n_ops ? &e->ops[i + 1] : NULL;
    const ec2t__value *a, *b;
    if (op->kind != EC2T__OP_CONV || op->relu || !add || add->kind != EC2T__OP_ADD ||
        add->in[0] != op->out || add->in[1] == op->out || op->out == e->output)
        return 0;
    for (int32_t j = i + 2; j < e->n_ops; j++)
        for (int32_t k = 0; k < e->ops[j].n_in; k++)
            if (e->ops[j].in[k] == op->out)
                return 0;
    a = &e->values[add->in[0]];
    b = &e->values[add->in[1]];
    return add->stride == 1 && a->c == b->c && a->h == b->h && a->w == b->w;
}

ec2t_status
ec2t__engine_plan_run(ec2t_engine *e)
{
    ec2t_status st = EC2T_OK;
    e->col_floats = 0;
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++) {
        ec2t__eop *op = &e->ops[i];
        op->fuse = fusable(e, i);
        op->prefer_dense = op->ternary && prefers_dense(op);
        if (op->kind != EC2T__OP_CONV)
            continue;
        st = plan_conv(e, op);
        e->col_floats = op->col_floats > e->col_floats ? op->col_floats : e->col_floats;
    }
    e->col_floats = round16(e->col_floats);
    return st;
}

/* ---- workspace ---- */

static int64_t
lanes_of(int64_t batch)
{
    return batch < MAX_LANES ? batch : MAX_LANES;
}

static int64_t
lane_floats(const ec2t_engine *e)
{
    return e->n_slots * e->slot_floats + e->col_floats;
}

/* Workspace bytes of a batch; value shapes (at most 2^30 floats, 2^20 + 1
 * values) keep this below 2^60. 64: room to align the caller's buffer. */
static uint64_t
workspace_need(const ec2t_engine *e, int64_t batch)
{
    return (uint64_t)(lanes_of(batch) * lane_floats(e)) * sizeof(float) + 64;
}

EC2T_API ec2t_status
ec2t_engine_workspace_size(const ec2t_engine *e, int64_t batch, size_t *bytes)
{
    uint64_t need;
    char what[64];
    if (!e)
        return EC2T_E_INVAL;
    if (!bytes || batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_workspace_size: bad batch or NULL bytes");
    need = workspace_need(e, batch);
    snprintf(what, sizeof what, "the workspace of a batch of %lld", (long long)batch);
    if (ec2t__load_check(e->ctx, need, what) != EC2T_OK)
        return EC2T_E_NOMEM;
    if (need > SIZE_MAX)
        return ec2t__error(e->ctx, EC2T_E_RANGE, "%s: %llu bytes do not fit in size_t", what,
                           (unsigned long long)need);
    *bytes = (size_t)need;
    return EC2T_OK;
}

/* One lane's state while it runs a sample. */
typedef struct run_state {
    const ec2t_engine *e;
    ec2t__isa isa;
    float *slots, *col;
    int split; /* may split an operation over the context's workers */
} run_state;

static float *
value_ptr(const run_state *r, int32_t v)
{
    return r->slots + (int64_t)r->e->values[v].slot * r->e->slot_floats;
}

static int64_t
stride_of(const run_state *r, int32_t v)
{
    return ec2t__plane_stride(&r->e->values[v]);
}

/* Whether a ternary operation runs on the dense kernels. */
static int
use_dense(const run_state *r, const ec2t__eop *op)
{
    return !op->ternary || (r->e->dense_fallback && op->prefer_dense);
}

/* ---- convolutions ---- */

/* A conv as it runs (after fusion). */
typedef struct conv_job {
    const run_state *r;
    const ec2t__eop *op;
    const float *x;   /* the column variants */
    float *y;         /* output plane 0 */
    const float *res; /* fused residual, y's layout, or NULL */
    int64_t ldy, ncols;
    int relu, ternary;
} conv_job;

/* Rows [r0, r1) on the ternary kernel (one group), on a view of the lists. */
static void
tsh_rows(const conv_job *j, int64_t r0, int64_t r1)
{
    ec2t__tshift v = j->op->sh;
    v.rows = (int32_t)(r1 - r0);
    v.prow += r0;
    v.nrow += r0;
    v.ap += r0;
    v.an += r0;
    v.bias = v.bias ? v.bias + r0 : NULL;
    v.relu = j->relu;
    ec2t__tsh(j->r->isa, &v, j->x, j->ncols, j->y + r0 * j->ldy, j->ldy,
              j->res ? j->res + r0 * j->ldy : NULL);
}

/* Rows [r0, r1) on the dense kernel (float weights, or a ternary conv's
 * expanded ones), group by group. */
static void
dsh_rows(const conv_job *j, int64_t r0, int64_t r1)
{
    const ec2t__eop *op = j->op;
    int32_t mg = op->m / op->groups;
    int64_t group_floats = op->col_floats / op->groups;
    for (int64_t a = r0; a < r1;) {
        int64_t g = a / mg, b = (g + 1) * mg < r1 ? (g + 1) * mg : r1;
        ec2t__dshift d;
        d.rows = (int32_t)(b - a);
        d.cols = op->k;
        d.w = (op->ternary ? op->dense : op->weight) + a * op->k;
        d.off = op->doff;
        d.bias = op->bias ? op->bias + a : NULL;
        d.relu = j->relu;
        ec2t__dsh(j->r->isa, &d, j->x + g * group_floats, j->ncols, j->y + a * j->ldy, j->ldy,
                  j->res ? j->res + a * j->ldy : NULL);
        a = b;
    }
}

static void
rows_range(void *arg, int64_t b0, int64_t b1, int worker)
{
    const conv_job *j = arg;
    int64_t r0 = b0 * ROW_BLOCK, r1 = b1 * ROW_BLOCK < j->op->m ? b1 * ROW_BLOCK : j->op->m;
    (void)worker;
    if (j->ternary)
        tsh_rows(j, r0, r1);
    else
        dsh_rows(j, r0, r1);
}

/* The kernel over every row, split over the workers when the operation is
 * big enough (a row's result does not depend on the split). */
static void
kernel_rows(conv_job *j)
{
    const ec2t__eop *op = j->op;
    int64_t terms = j->ternary ? (int64_t)op->tm.prow[op->m] + op->tm.nrow[op->m]
                               : (int64_t)op->m * op->k;
    int64_t blocks = (op->m + ROW_BLOCK - 1) / ROW_BLOCK;
    if (j->r->split && terms * j->ncols >= SPLIT_MIN_ADDS)
        ec2t__parallel_for(j->r->e->ctx, blocks, 1, rows_range, j);
    else
        rows_range(j, 0, blocks, 0);
}

typedef struct lower_job {
    const ec2t__eop *op;
    const float *x;
    int64_t ps;
    float *col;
} lower_job;

/* The column variants of input channels [c0, c1); the row phases no tap
 * reads are left alone. */
static void
lower_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    const lower_job *j = arg;
    const ec2t__eop *op = j->op;
    const ec2t__window *g = &op->win;
    (void)worker;
    for (int64_t c = c0; c < c1; c++)
        for (int32_t i = 0; i < g->kh && i < g->stride; i++) {
            int32_t py, dy;
            tap_row(g, i, &py, &dy);
            for (int32_t jj = 0; jj < g->kw; jj++)
                ec2t__lower_columns(g, j->x + c * j->ps, jj, py, op->vrow0, op->vrows,
                                    j->col + ((c * g->stride + py) * g->kw + jj) * op->vps);
        }
}

static void
lower(const run_state *r, const ec2t__eop *op)
{
    lower_job lj = {op, value_ptr(r, op->in[0]), stride_of(r, op->in[0]), r->col};
    int32_t cin = r->e->values[op->in[0]].c;
    if (r->split && op->col_floats >= SPLIT_MIN_ADDS / 8)
        ec2t__parallel_for(r->e->ctx, cin, 1, lower_range, &lj);
    else
        lower_range(&lj, 0, cin, 0);
}

static void
run_conv(const run_state *r, const ec2t__eop *op)
{
    const ec2t__eop *add = op->fuse ? op + 1 : NULL;
    int32_t out = add ? add->out : op->out;
    int int8 = op->q8 && r->e->precision == EC2T_PRECISION_INT8, lowered = 0;
    conv_job j;
    if (int8)
        lowered = ec2t__lower_int8(r->isa, r->e, op, value_ptr(r, op->in[0]),
                                   stride_of(r, op->in[0]), r->col);
    if (!lowered)
        lower(r, op);
    j.r = r;
    j.op = op;
    j.x = r->col;
    j.y = value_ptr(r, out);
    j.res = add ? value_ptr(r, add->in[1]) : NULL;
    j.ldy = stride_of(r, out);
    j.ncols = (int64_t)op->win.oh * op->win.ow;
    j.relu = add ? add->relu : op->relu;
    j.ternary = op->ternary && !use_dense(r, op);
    if (int8) {
        ec2t__conv_int8(r->isa, r->e, op, r->col, !lowered, j.ncols, j.y, j.ldy, j.res, j.relu);
        return;
    }
    kernel_rows(&j);
}

/* A dense layer: its input is a vector (one pixel per channel). */
static void
run_dense(const run_state *r, const ec2t__eop *op)
{
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    if (!use_dense(r, op)) {
        ec2t__tmv(r->isa, &op->tm, op->ap, op->an, op->bias, x, y, op->relu);
        return;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, op->m, op->k, 1.0f,
                op->ternary ? op->dense : op->weight, op->k, x, 1, 0.0f, y, 1);
    for (int32_t m = 0; m < op->m; m++) {
        float v = y[m] + (op->bias ? op->bias[m] : 0.0f);
        y[m] = op->relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

/* ---- the element-wise and pooling operations, plane by plane ---- */

static void
run_affine(const run_state *r, const ec2t__eop *op)
{
    const ec2t__value *v = &r->e->values[op->out];
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->out), hw = (int64_t)v->h * v->w;
    int relu = op->relu || op->kind == EC2T__OP_RELU;
    for (int32_t c = 0; c < v->c; c++) {
        float s = op->scale ? op->scale[c] : 1.0f, b = op->bias ? op->bias[c] : 0.0f;
        for (int64_t i = 0; i < hw; i++) {
            float t = x[c * ps + i] * s + b;
            y[c * ps + i] = relu ? (t > 0.0f ? t : 0.0f) : t;
        }
    }
}

static void
run_pool(const run_state *r, const ec2t__eop *op)
{
    const ec2t__value *v = &r->e->values[op->out];
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ips = stride_of(r, op->in[0]), ops = stride_of(r, op->out);
    for (int32_t c = 0; c < v->c; c++) {
        if (op->kind == EC2T__OP_MAXPOOL)
            ec2t__maxpool_plane(&op->win, x + c * ips, y + c * ops, NULL);
        else
            ec2t__avgpool_plane(&op->win, x + c * ips, y + c * ops);
    }
}

/* Global average pooling and flatten: a vector out of the planes. */
static void
run_gather(const run_state *r, const ec2t__eop *op)
{
    const ec2t__value *in = &r->e->values[op->in[0]];
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->in[0]), hw = (int64_t)in->h * in->w;
    for (int32_t c = 0; c < in->c; c++) {
        if (op->kind == EC2T__OP_GAP)
            ec2t__mean_planes(x + c * ps, 1, hw, y + c);
        else
            memcpy(y + c * hw, x + c * ps, (size_t)hw * sizeof(float));
    }
}

/* Option A: every stride-th pixel of a shortcut plane bc (bw wide) into yc. */
static void
option_a(float *yc, const ec2t__value *out, const float *bc, int32_t bw, int32_t stride)
{
    for (int32_t yy = 0; yy < out->h; yy++)
        for (int32_t xx = 0; xx < out->w; xx++)
            yc[yy * out->w + xx] += bc[(int64_t)yy * stride * bw + (int64_t)xx * stride];
}

/* Residual sum: out = a + shortcut(b), then the ReLU; option A adds every
 * stride-th pixel of b into the middle channels. */
static void
run_add(const run_state *r, const ec2t__eop *op)
{
    const ec2t__value *out = &r->e->values[op->out], *s = &r->e->values[op->in[1]];
    const float *a = value_ptr(r, op->in[0]), *b = value_ptr(r, op->in[1]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->out), bps = stride_of(r, op->in[1]);
    int64_t hw = (int64_t)out->h * out->w;
    int32_t front = (out->c - s->c) / 2;
    int same = s->c == out->c && op->stride == 1;
    for (int32_t c = 0; c < out->c; c++) {
        float *yc = y + c * ps;
        const float *ac = a + c * ps;
        if (same) {
            for (int64_t i = 0; i < hw; i++)
                yc[i] = ac[i] + b[c * bps + i];
        } else {
            if (yc != ac)
                memcpy(yc, ac, (size_t)hw * sizeof(float));
            if (c >= front && c < front + s->c)
                option_a(yc, out, b + (c - front) * bps, s->w, op->stride);
        }
        if (op->relu)
            for (int64_t i = 0; i < hw; i++)
                yc[i] = yc[i] > 0.0f ? yc[i] : 0.0f;
    }
}

static void
run_op(const run_state *r, const ec2t__eop *op)
{
    switch (op->kind) {
    case EC2T__OP_CONV: run_conv(r, op); break;
    case EC2T__OP_DENSE: run_dense(r, op); break;
    case EC2T__OP_AFFINE:
    case EC2T__OP_RELU: run_affine(r, op); break;
    case EC2T__OP_MAXPOOL:
    case EC2T__OP_AVGPOOL: run_pool(r, op); break;
    case EC2T__OP_GAP:
    case EC2T__OP_FLATTEN: run_gather(r, op); break;
    case EC2T__OP_ADD: run_add(r, op); break;
    }
}

/* ---- samples and lanes ---- */

/* Planes of a sample between NCHW (stride h*w) and a slot (stride ps). */
static void
copy_planes(float *dst, int64_t dps, const float *src, int64_t sps, const ec2t__value *v)
{
    for (int32_t c = 0; c < v->c; c++)
        memcpy(dst + c * dps, src + c * sps, (size_t)v->h * (size_t)v->w * sizeof(float));
}

/* One sample: NCHW in, through every operation, its outputs out. */
static void
run_sample(const run_state *r, const float *input, float *output)
{
    const ec2t_engine *e = r->e;
    const ec2t__value *in = &e->values[0], *out = &e->values[e->output];
    copy_planes(value_ptr(r, 0), stride_of(r, 0), input, (int64_t)in->h * in->w, in);
    for (int32_t i = 0; i < e->n_ops; i++) {
        run_op(r, &e->ops[i]);
        i += e->ops[i].fuse; /* a fused add ran in the conv */
    }
    copy_planes(output, (int64_t)out->h * out->w, value_ptr(r, e->output), stride_of(r, e->output),
                out);
}

typedef struct lanes_job {
    const ec2t_engine *e;
    ec2t__isa isa;
    const float *input;
    float *output;
    int64_t batch, lanes, in_floats, out_floats;
    float *base;
    int split;
} lanes_job;

/* Lanes [l0, l1): lane l runs samples [l * batch / lanes, (l + 1) * batch / lanes)
 * in its own region of the workspace. */
static void
lanes_range(void *arg, int64_t l0, int64_t l1, int worker)
{
    const lanes_job *j = arg;
    (void)worker;
    for (int64_t l = l0; l < l1; l++) {
        run_state r;
        r.e = j->e;
        r.isa = j->isa;
        r.slots = j->base + l * lane_floats(j->e);
        r.col = r.slots + j->e->n_slots * j->e->slot_floats;
        r.split = j->split;
        for (int64_t s = l * j->batch / j->lanes; s < (l + 1) * j->batch / j->lanes; s++)
            run_sample(&r, j->input + s * j->in_floats, j->output + s * j->out_floats);
    }
}

EC2T_API ec2t_status
ec2t_engine_run(const ec2t_engine *e, const float *input, size_t input_count, int64_t batch,
                float *output, size_t output_cap, void *workspace, size_t workspace_bytes,
                uint32_t flags)
{
    const ec2t__value *in, *out;
    lanes_job j;
    uint64_t need;
    size_t n_out;
    ec2t_status st;
    if (!e)
        return EC2T_E_INVAL;
    if (!input || !output || !workspace || flags != 0 || batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_run: bad argument");
    in = &e->values[0];
    out = &e->values[e->output];
    /* a short input would be read past its end, a long one is a wrong shape */
    if ((st = ec2t__check_input_count(e->ctx, "ec2t_engine_run", input_count, batch, in->c, in->h,
                                      in->w)) != EC2T_OK)
        return st;
    /* the load limit guards what ec2t_engine_workspace_size() asks a caller
     * to allocate; a run only compares the buffer it was given, and a run's
     * hot path formats no message unless it fails */
    need = workspace_need(e, batch);
    n_out = (size_t)batch * (size_t)out->c * (size_t)out->h * (size_t)out->w;
    if (workspace_bytes < need || output_cap < n_out)
        return ec2t__error(e->ctx, EC2T_E_RANGE,
                           "ec2t_engine_run: workspace %zu of %llu bytes, output %zu of %zu floats",
                           workspace_bytes, (unsigned long long)need, output_cap, n_out);
    j.e = e;
    j.isa = ec2t__engine_isa(e);
    j.input = input;
    j.output = output;
    j.batch = batch;
    j.lanes = lanes_of(batch);
    j.in_floats = (int64_t)in->c * in->h * in->w;
    j.out_floats = (int64_t)out->c * out->h * out->w;
    j.base = (float *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    /* several lanes share the workers; a single one may split operations */
    j.split = j.lanes == 1 && e->ctx->threads > 1;
    if (j.lanes == 1)
        lanes_range(&j, 0, 1, 0);
    else
        ec2t__parallel_for(e->ctx, j.lanes, 1, lanes_range, &j);
    return EC2T_OK;
}

/* ---- operation counts (§4.2 conventions: a ternary dot product is its
 * non-zeros minus one additions and two multiplications) ---- */

void
ec2t__engine_count_ops(const ec2t_engine *e, int64_t *adds, int64_t *mults)
{
    int64_t a = 0, m = 0;
    for (int32_t i = 0; i < e->n_ops; i++) {
        const ec2t__eop *op = &e->ops[i];
        const ec2t__value *out = &e->values[op->out];
        int64_t pixels = (int64_t)out->h * out->w;
        if (op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_DENSE)
            continue;
        if (op->ternary) {
            for (int32_t r = 0; r < op->m; r++) {
                int64_t nnz = (int64_t)(op->tm.prow[r + 1] - op->tm.prow[r]) +
                              (op->tm.nrow[r + 1] - op->tm.nrow[r]);
                a += pixels * (nnz > 0 ? nnz - 1 : 0);
                m += pixels * 2;
            }
        } else {
            a += pixels * op->m * (int64_t)(op->k - 1);
            m += pixels * op->m * (int64_t)op->k;
        }
    }
    *adds = a;
    *mults = m;
}
