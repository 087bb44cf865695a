/* SPDX-License-Identifier: MIT */
/* Running a compiled program: the workspace, the operations, the threads.
 *
 * Samples run one at a time through the whole program, in "lanes": a lane
 * is a region of the workspace with every slot of one sample plus the
 * convolutions' scratch, about 0.4 MB for ResNet-20, so a sample's
 * activations stay in L2 from the first layer to the last (a whole batch
 * through one layer at a time streams megabytes through memory per layer).
 * A batch is split into at most MAX_LANES lanes of consecutive samples, run
 * by the context's workers. A batch too small for that (batch 1) runs in
 * one lane, alone, or, when some step is large enough to pay for it
 * (TEAM_MIN_WORK), by a team of workers (thread-pool-private.h) that split
 * every large enough step: a convolution into tiles of output rows (run_tiles),
 * one per worker, each lowering its own input rows (and a halo row or two)
 * into a scratch buffer of its own, so the team meets once per conv, some
 * 20 times a ResNet-20 sample, and a worker mostly reads what it wrote; the
 * other operations by channel. Every number is computed by the same code in
 * the same order whatever the batch, the lanes, the tiles and the thread
 * count (each kernel computes an output pixel of a row the same way
 * whatever pixels and rows a call covers), so results do not depend on
 * them, bit for bit.
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
/* Work (additions, or floats moved) below which a step of a team is not
 * split (ec2t__run_rows, run_tiles). */
#define SPLIT_MIN_WORK (INT64_C(64) << 10)
/* A batch too small for lanes runs as a team only when some step of a
 * sample reaches this work; else alone. ResNet-20's steps (0.3-1 M
 * additions) stay below: on the development VM (2 vCPUs of an AMD EPYC)
 * a team in tiles of rows ran its batch 1 at 0.92-1.07x one thread in
 * bench/run-engine.sh (int8 0.81-0.93x), 1.0-1.2x alone, and LeNet-5 at
 * 0.4x; splitting by output channel instead made each worker read half
 * its input from the other core's cache and ran 1.6x slower. */
#define TEAM_MIN_WORK (INT64_C(8) << 20)
/* What a float an element-wise step moves weighs, in additions, against
 * SPLIT_MIN_WORK: such a step splits from 4 k floats (ResNet-20's option-A
 * shortcuts have 8 k and 16 k). */
#define MOVE_WORK 16
/* Chunks per worker of a split step (ec2t__run_rows). */
#define CHUNKS_PER_WORKER 2
/* A batch below TEAM_BELOW samples per thread runs as one lane whose
 * operations the team splits: lanes would leave workers idle (2 samples on
 * 2 threads, but also 3: 2 and 1). */
#define TEAM_BELOW 2

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
    e->split_min_work = SPLIT_MIN_WORK;
    e->team_min_work = TEAM_MIN_WORK;
    for (int32_t i = 0; i < e->n_ops; i++)
        e->ops[i].fuse = fusable(e, i);
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++) {
        ec2t__eop *op = &e->ops[i];
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

/* A lane: its slots and two convolution scratch buffers, one for itself
 * and one for a second worker when a team runs it (see team_size). */
static int64_t
lane_floats(const ec2t_engine *e)
{
    return e->n_slots * e->slot_floats + 2 * e->col_floats;
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

static float *
value_ptr(const ec2t__run *r, int32_t v)
{
    return r->slots + (int64_t)r->e->values[v].slot * r->e->slot_floats;
}

float *
ec2t__run_value(const ec2t__run *r, int32_t v)
{
    return value_ptr(r, v);
}

static int64_t
stride_of(const ec2t__run *r, int32_t v)
{
    return ec2t__plane_stride(&r->e->values[v]);
}

/* Whether a ternary operation runs on the dense kernels. */
static int
use_dense(const ec2t__run *r, const ec2t__eop *op)
{
    return !op->ternary || (r->e->dense_fallback && op->prefer_dense);
}

/* ---- steps: the unit of work a team splits ---- */

typedef struct rows_step {
    const ec2t__run *r;
    int64_t rows, align, chunks;
    const int32_t *cum1, *cum2;
    ec2t__rows_fn fn;
    void *arg;
} rows_step;

/* Chunks [c0, c1) of a step: the rows between their boundaries. */
static void
rows_chunks(void *arg, int64_t c0, int64_t c1, int worker)
{
    const rows_step *s = arg;
    int64_t b, e, other;
    (void)worker;
    ec2t__split_rows(s->rows, s->cum1, s->cum2, s->align, (int)c0, (int)s->chunks, &b, &other);
    ec2t__split_rows(s->rows, s->cum1, s->cum2, s->align, (int)c1 - 1, (int)s->chunks, &other, &e);
    if (b < e)
        s->fn(s->r, s->arg, b, e);
}

/* A step below split_min_work (SPLIT_MIN_WORK) is one chunk: handing
 * a chunk between cores costs about a microsecond on the development VM
 * (a few cache lines crossing, more when a vCPU is busy). A split step has
 * CHUNKS_PER_WORKER chunks per worker (never more than row blocks), so
 * that a worker that falls behind hands some of its share to the others. */
void
ec2t__run_rows(ec2t__run *r, int64_t work, int64_t rows, const int32_t *cum1,
               const int32_t *cum2, int64_t align, ec2t__rows_fn fn, void *arg)
{
    rows_step s = {r, rows, align < 1 ? 1 : align, 1, cum1, cum2, fn, arg};
    if (r->workers > 1 && work >= r->e->split_min_work) {
        int64_t blocks = (rows + s.align - 1) / s.align;
        s.chunks = (int64_t)r->workers * CHUNKS_PER_WORKER;
        s.chunks = s.chunks < blocks ? s.chunks : blocks;
        s.chunks = s.chunks < EC2T__TEAM_MAX_CHUNKS ? s.chunks : EC2T__TEAM_MAX_CHUNKS;
    }
    ec2t__team_step(r->team, &r->cursor, rows > 0 ? s.chunks : 0, rows_chunks, &s, r->worker);
}

/* A step split into tiles of image rows, one per worker: worker k computes
 * rows tile k of every convolution's output, all channels, and lowers the
 * same rows of the next one's input, so what it reads next it mostly wrote
 * itself (all but a halo row or two). Splitting output channels instead
 * made each worker read half its input from the other core's cache: two
 * threads ran batch-1 ResNet-20 1.6x slower than one on the development VM. */
typedef void (*tiles_fn)(const ec2t__run *r, void *arg, int64_t k0, int64_t k1, int64_t n);

typedef struct tiles_step {
    const ec2t__run *r;
    int64_t tiles;
    tiles_fn fn;
    void *arg;
} tiles_step;

static void
tiles_chunks(void *arg, int64_t c0, int64_t c1, int worker)
{
    const tiles_step *s = arg;
    (void)worker;
    s->fn(s->r, s->arg, c0, c1, s->tiles);
}

/* fn over tiles [0, n): one per worker when the team splits a step of this
 * work, else one tile, the whole image. */
static void
run_tiles(ec2t__run *r, int64_t work, tiles_fn fn, void *arg)
{
    tiles_step s = {r, 1, fn, arg};
    if (r->workers > 1 && work >= r->e->split_min_work)
        s.tiles = r->workers < EC2T__TEAM_MAX_CHUNKS ? r->workers : EC2T__TEAM_MAX_CHUNKS;
    ec2t__team_step(r->team, &r->cursor, s.tiles, tiles_chunks, &s, r->worker);
}

/* Rows [*y0, *y1) of tiles [k0, k1) of n of an image h rows high. Inner
 * boundaries are even, so that tiles of 8-float rows start on a cache line. */
static void
tile_rows(int32_t h, int64_t k0, int64_t k1, int64_t n, int32_t *y0, int32_t *y1)
{
    *y0 = k0 <= 0 ? 0 : (int32_t)(h * k0 / n) & ~1;
    *y1 = k1 >= n ? h : (int32_t)(h * k1 / n) & ~1;
}

/* ---- convolutions ---- */

/* A conv as it runs (after fusion). */
typedef struct conv_job {
    const ec2t__eop *op;
    float *y;         /* output plane 0 */
    const float *res; /* fused residual, y's layout, or NULL */
    int64_t ldy;
    int relu, ternary, int8;
} conv_job;

/* Output pixels [p0, p1) of every channel on the ternary kernel: column j
 * reads x[o + j] at each weight's offset o, so a range of pixels is the
 * same call on buffers moved by p0, and every pixel's sum is the same
 * whichever range a call covers. */
static void
tsh_pixels(const ec2t__run *r, const conv_job *j, int64_t p0, int64_t p1)
{
    ec2t__tshift v = j->op->sh;
    v.relu = j->relu;
    ec2t__tsh(r->isa, &v, r->col + p0, p1 - p0, j->y + p0, j->ldy, j->res ? j->res + p0 : NULL);
}

/* The same on the dense kernel (float weights, or a ternary conv's
 * expanded ones), group by group. */
static void
dsh_pixels(const ec2t__run *r, const conv_job *j, int64_t p0, int64_t p1)
{
    const ec2t__eop *op = j->op;
    int32_t mg = op->m / op->groups;
    int64_t group_floats = op->col_floats / op->groups;
    for (int32_t g = 0; g < op->groups; g++) {
        int64_t a = (int64_t)g * mg;
        ec2t__dshift d;
        d.rows = mg;
        d.cols = op->k;
        d.w = (op->ternary ? op->dense : op->weight) + a * op->k;
        d.off = op->doff;
        d.bias = op->bias ? op->bias + a : NULL;
        d.relu = j->relu;
        ec2t__dsh(r->isa, &d, r->col + g * group_floats + p0, p1 - p0, j->y + a * j->ldy + p0,
                  j->ldy, j->res ? j->res + a * j->ldy + p0 : NULL);
    }
}

/* The column variants' rows [v0, v1) of op (every channel, every row
 * phase a tap reads) into col. */
static void
lower_variant_rows(const ec2t__run *r, const ec2t__eop *op, float *col, int32_t v0, int32_t v1)
{
    const ec2t__window *g = &op->win;
    const float *x = value_ptr(r, op->in[0]);
    int64_t ps = stride_of(r, op->in[0]);
    int32_t cin = r->e->values[op->in[0]].c;
    for (int32_t i = 0; i < g->kh && i < g->stride; i++) {
        int32_t py, dy;
        tap_row(g, i, &py, &dy);
        for (int32_t c = 0; c < cin; c++)
            for (int32_t jj = 0; jj < g->kw; jj++)
                ec2t__lower_columns(g, x + c * ps, jj, py, op->vrow0 + v0, v1 - v0,
                                    col + ((c * g->stride + py) * g->kw + jj) * op->vps +
                                        (int64_t)v0 * g->ow);
    }
}

/* Output tiles [k0, k1) of n, every channel: the column variant rows
 * their taps read (vrows - oh more than the tile: the halo, lowered by
 * the tiles on either side too), into the worker's own scratch, then the
 * kernel. */
static void
conv_tiles(const ec2t__run *r, void *arg, int64_t k0, int64_t k1, int64_t n)
{
    const conv_job *j = arg;
    const ec2t__eop *op = j->op;
    int32_t y0, y1, v1;
    tile_rows(op->win.oh, k0, k1, n, &y0, &y1);
    if (y0 >= y1)
        return;
    v1 = y1 + op->vrows - op->win.oh;
    if (j->int8) {
        /* the input quantised straight from the activations where int8.c
         * can, else from the float column variants */
        int quantised = ec2t__lower_int8(r->isa, r->e, op, value_ptr(r, op->in[0]),
                                         stride_of(r, op->in[0]), r->col, y0, v1);
        if (!quantised)
            lower_variant_rows(r, op, r->col, y0, v1);
        ec2t__conv_int8(r->isa, r->e, op, r->col, !quantised, y0, v1, (int64_t)y0 * op->win.ow,
                        (int64_t)y1 * op->win.ow, j->y, j->ldy, j->res, j->relu);
        return;
    }
    lower_variant_rows(r, op, r->col, y0, v1);
    if (j->ternary)
        tsh_pixels(r, j, (int64_t)y0 * op->win.ow, (int64_t)y1 * op->win.ow);
    else
        dsh_pixels(r, j, (int64_t)y0 * op->win.ow, (int64_t)y1 * op->win.ow);
}

/* A convolution in tiles of output rows (run_tiles): one step, in which
 * every worker reads its own rows of the input and a halo of a row or two
 * that the workers beside it wrote. */
static void
run_conv(ec2t__run *r, const ec2t__eop *op)
{
    const ec2t__eop *add = op->fuse ? op + 1 : NULL;
    int32_t out = add ? add->out : op->out;
    int64_t terms;
    conv_job j;
    j.op = op;
    j.int8 = op->q8 && r->e->precision == EC2T_PRECISION_INT8;
    j.y = value_ptr(r, out);
    j.res = add ? value_ptr(r, add->in[1]) : NULL;
    j.ldy = stride_of(r, out);
    j.relu = add ? add->relu : op->relu;
    j.ternary = op->ternary && !use_dense(r, op);
    terms = j.ternary ? (int64_t)op->tm.prow[op->m] + op->tm.nrow[op->m] : (int64_t)op->m * op->k;
    run_tiles(r, terms * op->win.oh * op->win.ow, conv_tiles, &j);
}

/* ---- dense layers: the input is a vector (one pixel per channel) ---- */

/* Rows [r0, r1) on the ternary kernel, a view of the matrix (a row's sum
 * does not depend on the others). */
static void
tmv_rows(const ec2t__run *r, void *arg, int64_t r0, int64_t r1)
{
    const ec2t__eop *op = arg;
    const ec2t__tmat *t = &op->tm;
    ec2t__tmat v = *t;
    v.rows = (int32_t)(r1 - r0);
    v.prow += r0, v.nrow += r0;
    v.pmask += r0 * t->words, v.nmask += r0 * t->words;
    ec2t__tmv(r->isa, &v, op->ap + r0, op->an + r0, op->bias ? op->bias + r0 : NULL,
              value_ptr(r, op->in[0]), value_ptr(r, op->out) + r0, op->relu);
}

/* Every row with BLAS's sgemv, whose sums may depend on the rows a call
 * computes: a step of one row, never split (two calls at once would both
 * add into y). */
static void
gemv_rows(const ec2t__run *r, void *arg, int64_t r0, int64_t r1)
{
    const ec2t__eop *op = arg;
    float *y = value_ptr(r, op->out);
    (void)r0, (void)r1;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, op->m, op->k, 1.0f,
                op->ternary ? op->dense : op->weight, op->k, value_ptr(r, op->in[0]), 1, 0.0f, y,
                1);
    for (int32_t m = 0; m < op->m; m++) {
        float v = y[m] + (op->bias ? op->bias[m] : 0.0f);
        y[m] = op->relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

static void
run_dense(ec2t__run *r, const ec2t__eop *op)
{
    const ec2t__tmat *t = &op->tm;
    if (use_dense(r, op))
        ec2t__run_rows(r, 0, 1, NULL, NULL, 1, gemv_rows, (void *)op);
    else
        ec2t__run_rows(r, (int64_t)t->prow[t->rows] + t->nrow[t->rows], op->m, t->prow, t->nrow, 1,
                       tmv_rows, (void *)op);
}

/* ---- the element-wise and pooling operations, plane by plane, split by
 * channel ---- */

/* Output rows [y0, y1) of every channel of an element-wise operation. */
static void
affine_tiles(const ec2t__run *r, void *arg, int64_t k0, int64_t k1, int64_t n)
{
    const ec2t__eop *op = arg;
    const ec2t__value *v = &r->e->values[op->out];
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->out);
    int relu = op->relu || op->kind == EC2T__OP_RELU;
    int32_t y0, y1;
    tile_rows(v->h, k0, k1, n, &y0, &y1);
    for (int64_t c = 0; c < v->c; c++) {
        float s = op->scale ? op->scale[c] : 1.0f, b = op->bias ? op->bias[c] : 0.0f;
        for (int64_t i = (int64_t)y0 * v->w; i < (int64_t)y1 * v->w; i++) {
            float t = x[c * ps + i] * s + b;
            y[c * ps + i] = relu ? (t > 0.0f ? t : 0.0f) : t;
        }
    }
}

static void
pool_rows(const ec2t__run *r, void *arg, int64_t c0, int64_t c1)
{
    const ec2t__eop *op = arg;
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ips = stride_of(r, op->in[0]), ops = stride_of(r, op->out);
    for (int64_t c = c0; c < c1; c++) {
        if (op->kind == EC2T__OP_MAXPOOL)
            ec2t__maxpool_plane(&op->win, x + c * ips, y + c * ops, NULL);
        else
            ec2t__avgpool_plane(&op->win, x + c * ips, y + c * ops);
    }
}

/* Global average pooling and flatten: a vector out of the planes. */
static void
gather_rows(const ec2t__run *r, void *arg, int64_t c0, int64_t c1)
{
    const ec2t__eop *op = arg;
    const ec2t__value *in = &r->e->values[op->in[0]];
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->in[0]), hw = (int64_t)in->h * in->w;
    for (int64_t c = c0; c < c1; c++) {
        if (op->kind == EC2T__OP_GAP)
            ec2t__mean_planes(x + c * ps, 1, hw, y + c);
        else
            memcpy(y + c * hw, x + c * ps, (size_t)hw * sizeof(float));
    }
}

/* Option A: every stride-th pixel of a shortcut plane bc (bw wide) into
 * rows [y0, y1) of yc. */
static void
option_a(float *yc, const ec2t__value *out, int32_t y0, int32_t y1, const float *bc, int32_t bw,
         int32_t stride)
{
    for (int32_t yy = y0; yy < y1; yy++)
        for (int32_t xx = 0; xx < out->w; xx++)
            yc[yy * out->w + xx] += bc[(int64_t)yy * stride * bw + (int64_t)xx * stride];
}

/* Residual sum over output rows [y0, y1) of every channel: out = a +
 * shortcut(b), then the ReLU; option A adds every stride-th pixel of b
 * into the middle channels. */
static void
add_tiles(const ec2t__run *r, void *arg, int64_t k0, int64_t k1, int64_t n)
{
    const ec2t__eop *op = arg;
    const ec2t__value *out = &r->e->values[op->out], *s = &r->e->values[op->in[1]];
    const float *a = value_ptr(r, op->in[0]), *b = value_ptr(r, op->in[1]);
    float *y = value_ptr(r, op->out);
    int64_t ps = stride_of(r, op->out), bps = stride_of(r, op->in[1]);
    int32_t front = (out->c - s->c) / 2, y0, y1;
    int same = s->c == out->c && op->stride == 1;
    int64_t p0, p1;
    tile_rows(out->h, k0, k1, n, &y0, &y1);
    p0 = (int64_t)y0 * out->w, p1 = (int64_t)y1 * out->w;
    for (int64_t c = 0; c < out->c; c++) {
        float *yc = y + c * ps;
        const float *ac = a + c * ps;
        if (same) {
            for (int64_t i = p0; i < p1; i++)
                yc[i] = ac[i] + b[c * bps + i];
        } else {
            if (yc != ac)
                memcpy(yc + p0, ac + p0, (size_t)(p1 - p0) * sizeof(float));
            if (c >= front && c < front + s->c)
                option_a(yc, out, y0, y1, b + (c - front) * bps, s->w, op->stride);
        }
        if (op->relu)
            for (int64_t i = p0; i < p1; i++)
                yc[i] = yc[i] > 0.0f ? yc[i] : 0.0f;
    }
}

/* An element-wise step over value v, in tiles of rows: splitting it keeps
 * each worker on the rows its convolutions read and wrote. A float moved
 * weighs as MOVE_WORK additions against split_min_work. */
static void
run_elementwise(ec2t__run *r, int32_t v, tiles_fn fn, const ec2t__eop *op)
{
    const ec2t__value *val = &r->e->values[v];
    run_tiles(r, (int64_t)val->c * val->h * val->w * MOVE_WORK, fn, (void *)op);
}

/* A step over the planes of value v, split by channel. */
static void
run_planes(ec2t__run *r, int32_t v, ec2t__rows_fn fn, const ec2t__eop *op)
{
    const ec2t__value *val = &r->e->values[v];
    ec2t__run_rows(r, (int64_t)val->c * val->h * val->w, val->c, NULL, NULL, 1, fn, (void *)op);
}

static void
run_op(ec2t__run *r, const ec2t__eop *op)
{
    switch (op->kind) {
    case EC2T__OP_CONV: run_conv(r, op); break;
    case EC2T__OP_DENSE: run_dense(r, op); break;
    case EC2T__OP_AFFINE:
    case EC2T__OP_RELU: run_elementwise(r, op->out, affine_tiles, op); break;
    case EC2T__OP_MAXPOOL:
    case EC2T__OP_AVGPOOL: run_planes(r, op->in[0], pool_rows, op); break;
    case EC2T__OP_GAP:
    case EC2T__OP_FLATTEN: run_planes(r, op->in[0], gather_rows, op); break;
    case EC2T__OP_ADD: run_elementwise(r, op->out, add_tiles, op); break;
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

typedef struct sample_io {
    const float *input;
    float *output;
} sample_io;

static void
input_rows(const ec2t__run *r, void *arg, int64_t r0, int64_t r1)
{
    const sample_io *io = arg;
    const ec2t__value *in = &r->e->values[0];
    (void)r0, (void)r1;
    copy_planes(value_ptr(r, 0), stride_of(r, 0), io->input, (int64_t)in->h * in->w, in);
}

static void
output_rows(const ec2t__run *r, void *arg, int64_t r0, int64_t r1)
{
    const sample_io *io = arg;
    const ec2t__value *out = &r->e->values[r->e->output];
    (void)r0, (void)r1;
    copy_planes(io->output, (int64_t)out->h * out->w, value_ptr(r, r->e->output),
                stride_of(r, r->e->output), out);
}

/* One sample: NCHW in, through every operation, its outputs out. */
static void
run_sample(ec2t__run *r, const float *input, float *output)
{
    const ec2t_engine *e = r->e;
    sample_io io = {input, output};
    ec2t__run_rows(r, 0, 1, NULL, NULL, 1, input_rows, &io);
    for (int32_t i = 0; i < e->n_ops; i++) {
        run_op(r, &e->ops[i]);
        i += e->ops[i].fuse; /* a fused add ran in the conv */
    }
    ec2t__run_rows(r, 0, 1, NULL, NULL, 1, output_rows, &io);
}

typedef struct lanes_job {
    const ec2t_engine *e;
    ec2t__isa isa;
    const float *input;
    float *output;
    int64_t batch, lanes, in_floats, out_floats;
    float *base;
} lanes_job;

/* Lane l's state: its own region of the workspace. */
static ec2t__run
lane_state(const lanes_job *j, int64_t l, ec2t__team *team, int worker, int workers)
{
    ec2t__run r;
    memset(&r, 0, sizeof r);
    r.e = j->e;
    r.isa = j->isa;
    r.slots = j->base + l * lane_floats(j->e);
    /* a team's workers each have a scratch buffer, the lane's and then
     * those after it, into the next lanes' unused room (team_size) */
    r.col = r.slots + j->e->n_slots * j->e->slot_floats + worker * j->e->col_floats;
    r.team = team;
    r.worker = worker;
    r.workers = workers;
    return r;
}

/* Samples [s0, s1) one after another. */
static void
run_samples(const lanes_job *j, ec2t__run *r, int64_t s0, int64_t s1)
{
    for (int64_t s = s0; s < s1; s++)
        run_sample(r, j->input + s * j->in_floats, j->output + s * j->out_floats);
}

/* Lanes [l0, l1), each alone: lane l runs samples
 * [l * batch / lanes, (l + 1) * batch / lanes) in its own region. */
static void
lanes_range(void *arg, int64_t l0, int64_t l1, int worker)
{
    const lanes_job *j = arg;
    (void)worker;
    for (int64_t l = l0; l < l1; l++) {
        ec2t__run r = lane_state(j, l, NULL, 0, 1);
        run_samples(j, &r, l * j->batch / j->lanes, (l + 1) * j->batch / j->lanes);
    }
}

/* The whole batch in lane 0, every operation split over the team. */
static void
team_lane(void *arg, ec2t__team *team, int worker, int workers)
{
    const lanes_job *j = arg;
    ec2t__run r = lane_state(j, 0, team, worker, workers);
    run_samples(j, &r, 0, j->batch);
}

/* The most workers a team on lane 0 can have: one scratch buffer each,
 * in the workspace after lane 0's slots (2 at batch 1, more with more
 * lanes' room). */
static int
team_size(const lanes_job *j)
{
    const ec2t_engine *e = j->e;
    int64_t room = j->lanes * lane_floats(e) - e->n_slots * e->slot_floats;
    int64_t n = e->col_floats > 0 ? room / e->col_floats : EC2T__TEAM_MAX_CHUNKS;
    return n < EC2T__TEAM_MAX_CHUNKS ? (int)n : EC2T__TEAM_MAX_CHUNKS;
}

/* Whether some step of a sample reaches team_min_work (ec2t__run_rows'
 * and its callers' work measures): smaller programs run alone, since a
 * team meets at every step. */
static int
team_pays(const ec2t_engine *e)
{
    for (int32_t i = 0; i < e->n_ops; i++) {
        const ec2t__eop *op = &e->ops[i];
        const ec2t__value *out = &e->values[op->out];
        int64_t work = (int64_t)out->c * out->h * out->w, nnz = 0;
        if (op->kind == EC2T__OP_CONV || op->kind == EC2T__OP_DENSE)
            nnz = op->ternary ? (int64_t)op->tm.prow[op->m] + op->tm.nrow[op->m]
                              : (int64_t)op->m * op->k;
        if (op->kind == EC2T__OP_CONV)
            work = nnz * op->win.oh * op->win.ow;
        else if (op->kind == EC2T__OP_DENSE)
            work = nnz;
        if (work >= e->team_min_work)
            return 1;
    }
    return 0;
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
    int threads;
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
    /* a batch too small to give every worker the same number of samples
     * runs as one lane whose operations the workers split (one lane needs
     * no more workspace than several) */
    threads = e->ctx->threads;
    if (threads > 1 && batch < TEAM_BELOW * threads && team_pays(e))
        ec2t__parallel_team(e->ctx, team_size(&j), team_lane, &j);
    else if (j.lanes == 1)
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
