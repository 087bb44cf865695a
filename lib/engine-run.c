/* SPDX-License-Identifier: MIT */
/* Running a compiled program: the workspace, the operations, the threads.
 *
 * Workspace: [slot 0 | slot 1 | ... each slot_floats * batch floats][lowering
 * scratch], 64-byte aligned whatever the caller's buffer. Work inside an
 * operation is split over the context's workers by output channel, so every
 * number is computed by the same code in the same order whatever the thread
 * count: results do not depend on it. */
#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "engine-private.h"
#include "pool-private.h"

/* Floats of im2col scratch per chunk of samples (about 1 MiB, in L2). */
#define COL_BUDGET (256 * 1024)
/* Output channels per block: every block is one kernel call whatever the
 * thread count (a BLAS call on other row ranges may sum in another order). */
#define ROW_BLOCK 8

static int64_t
chunk_of(const ec2t__eop *op, int64_t batch)
{
    int64_t per = (int64_t)op->k * op->win.oh * op->win.ow, chunk = COL_BUDGET / (per ? per : 1);
    if (chunk < 1)
        chunk = 1;
    return chunk < batch ? chunk : batch;
}

static int
direct_conv(const ec2t__eop *op)
{
    return op->win.kh == 1 && op->win.kw == 1 && op->win.stride == 1 && op->win.pad == 0;
}

static int64_t
scratch_floats(const ec2t_engine *e, int64_t batch)
{
    int64_t most = 0;
    for (int32_t i = 0; i < e->n_ops; i++) {
        const ec2t__eop *op = &e->ops[i];
        if (op->kind == EC2T__OP_CONV && !direct_conv(op)) {
            int64_t n = (int64_t)op->k * op->win.oh * op->win.ow * chunk_of(op, batch);
            most = n > most ? n : most;
        }
    }
    return most;
}

EC2T_API ec2t_status
ec2t_engine_workspace_size(const ec2t_engine *e, int64_t batch, size_t *bytes)
{
    int64_t floats;
    if (!e)
        return EC2T_E_INVAL;
    if (!bytes || batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_workspace_size: bad batch or NULL bytes");
    floats = e->n_slots * e->slot_floats * batch + scratch_floats(e, batch);
    *bytes = (size_t)floats * sizeof(float) + 64; /* room to align the caller's buffer */
    return EC2T_OK;
}

typedef struct run_state {
    const ec2t_engine *e;
    ec2t__isa isa;
    int64_t batch;
    float *slots;
    float *col;
} run_state;

static float *
value_ptr(const run_state *r, int32_t v)
{
    return r->slots + (int64_t)r->e->values[v].slot * r->e->slot_floats * r->batch;
}

/* ---- conv and dense ---- */

/* Whether a ternary operation runs on the dense kernels: where most weights
 * are non-zero, sgemm's dense throughput beats skipping the few zeros. */
static int
use_dense(const run_state *r, const ec2t__eop *op)
{
    int64_t nnz;
    if (!op->ternary)
        return 1;
    if (!r->e->dense_fallback)
        return 0;
    nnz = (int64_t)op->tm.prow[op->m] + op->tm.nrow[op->m];
    return nnz * 2 > (int64_t)op->m * op->k;
}

typedef struct rows_job {
    const run_state *r;
    const ec2t__eop *op;
    const float *x;
    int64_t ldx, ncols;
    float *y;
    int64_t ldy;
} rows_job;

/* Bias and ReLU of the float path (the ternary kernels apply their own). */
static void
epilogue(const ec2t__eop *op, float *y, int64_t ldy, int64_t ncols, int64_t r0, int64_t r1)
{
    for (int64_t m = r0; m < r1; m++) {
        float b = op->bias ? op->bias[m] : 0.0f, *row = y + m * ldy;
        if (op->relu)
            for (int64_t j = 0; j < ncols; j++) {
                float v = row[j] + b;
                row[j] = v > 0.0f ? v : 0.0f;
            }
        else if (b != 0.0f)
            for (int64_t j = 0; j < ncols; j++)
                row[j] += b;
    }
}

/* Output rows [r0, r1): one kernel call. */
static void
rows_block(const rows_job *j, int64_t r0, int64_t r1)
{
    const ec2t__eop *op = j->op;
    if (!use_dense(j->r, op)) {
        /* a view of the ternary matrix: rows r0.. share its index arrays */
        ec2t__tmat view = op->tm;
        view.rows = (int32_t)(r1 - r0);
        view.prow = op->tm.prow + r0;
        view.nrow = op->tm.nrow + r0;
        view.pmask = op->tm.pmask + r0 * op->tm.words;
        view.nmask = op->tm.nmask + r0 * op->tm.words;
        if (j->ncols == 1 && j->ldx == 1)
            ec2t__tmv(j->r->isa, &view, op->ap + r0, op->an + r0, op->bias ? op->bias + r0 : NULL,
                      j->x, j->y + r0 * j->ldy, op->relu);
        else
            ec2t__tmm(j->r->isa, &view, op->ap + r0, op->an + r0, op->bias ? op->bias + r0 : NULL,
                      j->x, j->ldx, j->ncols, j->y + r0 * j->ldy, j->ldy, op->relu);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(r1 - r0), (int)j->ncols, op->k,
                1.0f, (op->ternary ? op->dense : op->weight) + r0 * op->k, op->k, j->x, (int)j->ldx,
                0.0f, j->y + r0 * j->ldy, (int)j->ldy);
    epilogue(op, j->y, j->ldy, j->ncols, r0, r1);
}

/* Blocks [b0, b1) of ROW_BLOCK rows: workers own whole rows, no sum is split. */
static void
rows_range(void *arg, int64_t b0, int64_t b1, int worker)
{
    const rows_job *j = arg;
    (void)worker;
    for (int64_t b = b0; b < b1; b++) {
        int64_t r0 = b * ROW_BLOCK, r1 = r0 + ROW_BLOCK < j->op->m ? r0 + ROW_BLOCK : j->op->m;
        rows_block(j, r0, r1);
    }
}

static void
run_rows(const run_state *r, const ec2t__eop *op, const float *x, int64_t ldx, int64_t ncols,
         float *y, int64_t ldy)
{
    rows_job j = {r, op, x, ldx, ncols, y, ldy};
    ec2t__parallel_for(r->e->ctx, (op->m + ROW_BLOCK - 1) / ROW_BLOCK, 1, rows_range, &j);
}

typedef struct lower_job {
    const ec2t__eop *op;
    const float *x;
    int64_t n, n0, cn;
    float *col;
} lower_job;

/* im2col of input channels [c0, c1): their rows of col. */
static void
lower_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    const lower_job *j = arg;
    int64_t rows_per_c = (int64_t)j->op->win.kh * j->op->win.kw;
    int64_t ld = j->cn * j->op->win.oh * j->op->win.ow;
    (void)worker;
    ec2t__im2col(&j->op->win, j->x, j->n, (int32_t)c0, (int32_t)(c1 - c0), j->n0, j->cn,
                 j->col + c0 * rows_per_c * ld);
}

static void
run_conv(const run_state *r, const ec2t__eop *op)
{
    const float *x = value_ptr(r, op->in[0]);
    float *y = value_ptr(r, op->out);
    int64_t ohw = (int64_t)op->win.oh * op->win.ow, ldy = r->batch * ohw, chunk;
    int32_t cin = r->e->values[op->in[0]].c;
    if (direct_conv(op)) {
        run_rows(r, op, x, r->batch * ohw, r->batch * ohw, y, ldy);
        return;
    }
    chunk = chunk_of(op, r->batch);
    for (int64_t n0 = 0; n0 < r->batch; n0 += chunk) {
        int64_t cn = r->batch - n0 < chunk ? r->batch - n0 : chunk;
        lower_job lj = {op, x, r->batch, n0, cn, r->col};
        ec2t__parallel_for(r->e->ctx, cin, 1, lower_range, &lj);
        run_rows(r, op, r->col, cn * ohw, cn * ohw, y + n0 * ohw, ldy);
    }
}

/* ---- the element-wise and pooling operations ---- */

typedef struct chan_job {
    const run_state *r;
    const ec2t__eop *op;
} chan_job;

/* Channels [c0, c1) of affine / relu / pooling operations. */
static void
chan_range(void *arg, int64_t c0, int64_t c1, int worker)
{
    const chan_job *j = arg;
    const ec2t__eop *op = j->op;
    const ec2t__value *in = &j->r->e->values[op->in[0]], *out = &j->r->e->values[op->out];
    int64_t n = j->r->batch, ip = (int64_t)in->h * in->w, opl = (int64_t)out->h * out->w;
    const float *x = value_ptr(j->r, op->in[0]);
    float *y = value_ptr(j->r, op->out);
    (void)worker;
    for (int64_t c = c0; c < c1; c++) {
        const float *xc = x + c * n * ip;
        float *yc = y + c * n * opl;
        if (op->kind == EC2T__OP_AFFINE || op->kind == EC2T__OP_RELU) {
            float s = op->scale ? op->scale[c] : 1.0f, b = op->bias ? op->bias[c] : 0.0f;
            for (int64_t i = 0; i < n * ip; i++) {
                float v = xc[i] * s + b;
                yc[i] = op->relu || op->kind == EC2T__OP_RELU ? (v > 0.0f ? v : 0.0f) : v;
            }
        } else if (op->kind == EC2T__OP_GAP) {
            ec2t__mean_planes(xc, n, ip, yc);
        } else {
            for (int64_t s = 0; s < n; s++) {
                if (op->kind == EC2T__OP_MAXPOOL)
                    ec2t__maxpool_plane(&op->win, xc + s * ip, yc + s * opl, NULL);
                else
                    ec2t__avgpool_plane(&op->win, xc + s * ip, yc + s * opl);
            }
        }
    }
}

static void
run_op(const run_state *r, const ec2t__eop *op)
{
    const ec2t__value *in = &r->e->values[op->in[0]], *out = &r->e->values[op->out];
    chan_job cj = {r, op};
    switch (op->kind) {
    case EC2T__OP_CONV: run_conv(r, op); break;
    case EC2T__OP_DENSE:
        run_rows(r, op, value_ptr(r, op->in[0]), r->batch, r->batch, value_ptr(r, op->out), r->batch);
        break;
    case EC2T__OP_FLATTEN:
        ec2t__flatten(value_ptr(r, op->in[0]), in->c, r->batch, (int64_t)in->h * in->w,
                      value_ptr(r, op->out));
        break;
    case EC2T__OP_ADD: {
        const ec2t__value *s = &r->e->values[op->in[1]];
        ec2t__residual_add(value_ptr(r, op->out), value_ptr(r, op->in[0]), value_ptr(r, op->in[1]),
                           out->c, s->c, r->batch, out->h, out->w, s->h, s->w, op->stride, op->relu);
        break;
    }
    default: ec2t__parallel_for(r->e->ctx, in->c, 1, chan_range, &cj); break;
    }
}

EC2T_API ec2t_status
ec2t_engine_run(const ec2t_engine *e, const float *input, int64_t batch, float *output,
                size_t output_cap, void *workspace, size_t workspace_bytes, uint32_t flags)
{
    const ec2t__value *in, *out;
    run_state r;
    size_t need, n_out;
    uintptr_t base;
    int64_t plane;
    if (!e)
        return EC2T_E_INVAL;
    if (!input || !output || !workspace || flags != 0 || batch < 1 || batch > (INT64_C(1) << 24))
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_run: bad argument");
    ec2t_engine_workspace_size(e, batch, &need);
    out = &e->values[e->output];
    n_out = (size_t)batch * (size_t)out->c * (size_t)out->h * (size_t)out->w;
    if (workspace_bytes < need || output_cap < n_out)
        return ec2t__error(e->ctx, EC2T_E_RANGE,
                           "ec2t_engine_run: workspace %zu of %zu bytes, output %zu of %zu floats",
                           workspace_bytes, need, output_cap, n_out);
    base = ((uintptr_t)workspace + 63) & ~(uintptr_t)63;
    r.e = e;
    r.isa = ec2t__engine_isa(e);
    r.batch = batch;
    r.slots = (float *)base;
    r.col = r.slots + e->n_slots * e->slot_floats * batch;
    /* NCHW in, CNHW inside */
    in = &e->values[0];
    plane = (int64_t)in->h * in->w;
    for (int64_t s = 0; s < batch; s++)
        for (int32_t c = 0; c < in->c; c++)
            memcpy(value_ptr(&r, 0) + ((int64_t)c * batch + s) * plane, input + (s * in->c + c) * plane,
                   (size_t)plane * sizeof(float));
    for (int32_t i = 0; i < e->n_ops; i++)
        run_op(&r, &e->ops[i]);
    plane = (int64_t)out->h * out->w;
    for (int64_t s = 0; s < batch; s++)
        for (int32_t c = 0; c < out->c; c++)
            memcpy(output + (s * out->c + c) * plane, value_ptr(&r, e->output) + ((int64_t)c * batch + s) * plane,
                   (size_t)plane * sizeof(float));
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
