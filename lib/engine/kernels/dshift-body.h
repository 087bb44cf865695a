/* SPDX-License-Identifier: MIT */
/* The dense shifted-row product (ec2t__dsh), written once for every vector
 * width: a float convolution reading zero-padded planes in place, the
 * companion of tshift-body.h (included after it; uses its primitives plus
 * v_set1(f) and v_fma(a, b, c) = a * b + c in one rounding). The per-ISA
 * file defines DSH_ROWS and DSH_VECS, the register block.
 *
 * A block of DSH_ROWS output rows by DSH_VECS registers of columns keeps its
 * sums in registers while k runs over the weights: each step loads the
 * DSH_VECS registers of x at off[k] once and does DSH_ROWS x DSH_VECS
 * multiply-adds with broadcast weights, so the FMA units, not the loads,
 * bound it (a GEMM micro-kernel whose B rows are shifted views of x, no
 * packing). Row blocks go outer, so a block's weights (DSH_ROWS x K floats)
 * stay in L1 while its strips run. A last partial strip uses only the
 * registers it needs. */

/* dsh_rows' cases */
_Static_assert(DSH_VECS >= 1 && DSH_VECS <= 3, "dsh_rows specialises 1 to 3 registers");
_Static_assert(DSH_ROWS <= 8, "dsh_few_rows specialises up to 7 rows");

typedef struct dsh_args {
    const ec2t__dshift *d;
    const float *x, *res;
    float *y;
    int64_t ldy;
} dsh_args;

/* Rows [m0, m0 + mr) over the nv registers of columns at j; mr and nv are
 * constants after inlining. */
static ALWAYS_INLINE void
dsh_block(const dsh_args *a, int32_t m0, int mr, int64_t j, const lanes *k, int masked, int nv)
{
    const ec2t__dshift *d = a->d;
    const float *w = d->w + (int64_t)m0 * d->cols;
    vec acc[DSH_ROWS][DSH_VECS];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = v_zero();
    for (int32_t c = 0; c < d->cols; c++) {
        const float *xp = a->x + d->off[c] + j;
        vec xv[DSH_VECS];
        for (int v = 0; v < nv; v++)
            xv[v] = v_load(xp + VW * v, k[v], masked);
        for (int r = 0; r < mr; r++) {
            vec wv = v_set1(w[(int64_t)r * d->cols + c]);
            for (int v = 0; v < nv; v++)
                acc[r][v] = v_fma(wv, xv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < mr; r++) {
        int32_t m = m0 + r;
        vec b = v_set1(d->bias ? d->bias[m] : 0.0f);
        for (int v = 0; v < nv; v++) {
            int64_t at = m * a->ldy + j + VW * v;
            vec t = v_add(acc[r][v], b);
            if (a->res)
                t = v_add(t, v_load(a->res + at, k[v], masked));
            if (d->relu)
                t = v_max0(t);
            v_store(a->y + at, t, k[v], masked);
        }
    }
}

/* Rows [m0, m0 + mr) over every column, mr = DSH_ROWS or 1. */
static ALWAYS_INLINE void
dsh_rows(const dsh_args *a, int32_t m0, int mr, int64_t ncols)
{
    const int64_t strip = (int64_t)DSH_VECS * VW;
    lanes k[DSH_VECS];
    int64_t j = 0;
    for (int v = 0; v < DSH_VECS; v++)
        k[v] = lanes_first(strip - VW * v);
    for (; j + strip <= ncols; j += strip)
        dsh_block(a, m0, mr, j, k, 0, DSH_VECS);
    if (j == ncols)
        return;
    for (int v = 0; v < DSH_VECS; v++)
        k[v] = lanes_first(ncols - j - VW * v);
    switch ((ncols - j + VW - 1) / VW) {
    case 1: dsh_block(a, m0, mr, j, k, 1, 1); break;
    case 2: dsh_block(a, m0, mr, j, k, 1, 2); break;
    default: dsh_block(a, m0, mr, j, k, 1, DSH_VECS); break;
    }
}

static void
dsh_block_rows(const dsh_args *a, int32_t m0, int64_t ncols)
{
    dsh_rows(a, m0, DSH_ROWS, ncols);
}

static void
dsh_one_row(const dsh_args *a, int32_t m0, int64_t ncols)
{
    dsh_rows(a, m0, 1, ncols);
}

/* A block of fewer rows than DSH_ROWS, mr a constant in each case: a layer
 * with fewer output channels than a block (LeNet-5's first has 6) ran them
 * one by one, at a third of the speed. */
static void
dsh_few_rows(const dsh_args *a, int32_t m0, int mr, int64_t ncols)
{
    switch (mr) {
    case 2: dsh_rows(a, m0, 2, ncols); break;
    case 3: dsh_rows(a, m0, 3, ncols); break;
#if DSH_ROWS > 4
    case 4: dsh_rows(a, m0, 4, ncols); break;
    case 5: dsh_rows(a, m0, 5, ncols); break;
    case 6: dsh_rows(a, m0, 6, ncols); break;
    case 7: dsh_rows(a, m0, 7, ncols); break;
#endif
    default:
        for (int r = 0; r < mr; r++)
            dsh_one_row(a, m0 + r, ncols);
        break;
    }
}

static void
dsh_simd(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
         const float *res)
{
    dsh_args a;
    int32_t m = 0;
    a.d = d, a.x = x, a.res = res, a.y = y, a.ldy = ldy;
    for (; m + DSH_ROWS <= d->rows; m += DSH_ROWS)
        dsh_block_rows(&a, m, ncols);
    if (m == d->rows)
        return;
    /* the rows left over as one more full block ending at the last row: the
     * rows it repeats come out the same, bit for bit (one row alone runs at
     * a third of the speed: a load for every three FMAs) */
    if (d->rows >= DSH_ROWS && res != y) {
        dsh_block_rows(&a, d->rows - DSH_ROWS, ncols);
        return;
    }
    dsh_few_rows(&a, m, d->rows - m, ncols);
}
