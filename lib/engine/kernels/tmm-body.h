/* SPDX-License-Identifier: MIT */
/* The SIMD ternary matrix product, written once for every vector width.
 * Included by a per-ISA file (tkernel-avx2.c, tkernel-avx512.c) after it
 * defines:
 *   vec, lanes       a register of VW floats, and a lane mask for it
 *   VW               floats per register
 *   v_zero(), v_add(a, b)
 *   v_load(p, k, masked), v_store(p, v, k, masked)
 *                    whole registers, or (masked) only the lanes in k,
 *                    never touching memory outside them
 *   v_combine(sp, sn, ap, an, b, relu)
 *                    ((ap * sp) - (an * sn)) + b, one rounding per step,
 *                    then max(., 0) if relu
 *   lanes_first(n)   the first n lanes (n may be <= 0 or > VW)
 *   popcount64(w), prefetch_l2(p)
 *   ALWAYS_INLINE
 * and defines tmm_simd() with ec2t__tmm's contract.
 *
 * The columns go in strips of VECS registers. For each row the strip's +1
 * and -1 sums build up in 2 x VECS registers while the code walks the row's
 * two index lists side by side: eight independent add chains keep both add
 * pipes busy, and each column still adds in ascending k, in float, so the
 * result is bitwise the reference's. Two loop orders, measured on the
 * shapes of bench/bench-kernels.c:
 *
 * - streaming: when few output rows use each row of X (nnz / K <= 8), the
 *   cost is bringing X in. Column tiles of X sized for L2; each row walks
 *   the whole tile, so X is read in long contiguous runs the hardware
 *   prefetchers follow.
 * - blocked: when many rows use each row of X, the cost is the adds, and
 *   they run at L1 speed only if X comes from L1. Each strip goes in
 *   K-blocks (32 KiB of X) that a block of MB rows walks in turn, keeping
 *   partial sums between K-blocks (as floats: the order of additions is
 *   kept). The bigger the row block, the fewer times a strip of X too big
 *   for L2 comes in from L3: 64 rows measured 1.4-1.8x faster than 16 on
 *   (512, 4608, 4096). The next column tile is prefetched towards L2
 *   meanwhile. Stack: MB x STRIP floats (16 KiB with AVX-512). */

#define VECS 4
#define STRIP (VECS * VW)
#define MB 64                     /* rows per row block */
#define L1_BLOCK (32 * 1024)      /* bytes of X per K-block */
#define KB_MIN (L1_BLOCK / (STRIP * (int32_t)sizeof(float)))
#define KB_MAX 1024
#define TILE_BYTES (512 * 1024)   /* a column tile of X: half of a 1 MiB L2 */
#define STREAM_REUSE 8            /* nnz / K at or below which X streams */

typedef struct tmm_args {
    const ec2t__tmat *t;
    const float *ap, *an, *bias, *x;
    int64_t ldx, ldy;
    float *y;
    int relu;
    int32_t kb; /* K-block rows, a multiple of 64 */
} tmm_args;

/* Adds the rows of X at xb listed in p and n to sp and sn: both lists side
 * by side, then the longer one's rest. */
static ALWAYS_INLINE void
walk(const int32_t *p, int32_t np, const int32_t *n, int32_t nn, const float *xb, int64_t ldx,
     const lanes *k, int masked, vec *sp, vec *sn)
{
    int32_t both = np < nn ? np : nn, i;
    for (i = 0; i < both; i++) {
        const float *a = xb + (int64_t)p[i] * ldx, *c = xb + (int64_t)n[i] * ldx;
        for (int v = 0; v < VECS; v++)
            sp[v] = v_add(sp[v], v_load(a + VW * v, k[v], masked));
        for (int v = 0; v < VECS; v++)
            sn[v] = v_add(sn[v], v_load(c + VW * v, k[v], masked));
    }
    for (int32_t j = i; j < np; j++) {
        const float *a = xb + (int64_t)p[j] * ldx;
        for (int v = 0; v < VECS; v++)
            sp[v] = v_add(sp[v], v_load(a + VW * v, k[v], masked));
    }
    for (int32_t j = i; j < nn; j++) {
        const float *c = xb + (int64_t)n[j] * ldx;
        for (int v = 0; v < VECS; v++)
            sn[v] = v_add(sn[v], v_load(c + VW * v, k[v], masked));
    }
}

/* Y row m at column j from the finished sums. */
static ALWAYS_INLINE void
finish(const tmm_args *a, int32_t m, int64_t j, const vec *sp, const vec *sn, const lanes *k,
       int masked)
{
    float *yb = a->y + m * a->ldy + j;
    float b = a->bias ? a->bias[m] : 0.0f;
    for (int v = 0; v < VECS; v++)
        v_store(yb + VW * v, v_combine(sp[v], sn[v], a->ap[m], a->an[m], b, a->relu), k[v],
                masked);
}

/* Rows [m0, m1) over the strip at column j, whole lists at once. */
static ALWAYS_INLINE void
strip_whole(const tmm_args *a, int32_t m0, int32_t m1, int64_t j, const lanes *k, int masked)
{
    const ec2t__tmat *t = a->t;
    for (int32_t m = m0; m < m1; m++) {
        vec sp[VECS], sn[VECS];
        for (int v = 0; v < VECS; v++)
            sp[v] = sn[v] = v_zero();
        walk(t->pidx + t->prow[m], t->prow[m + 1] - t->prow[m], t->nidx + t->nrow[m],
             t->nrow[m + 1] - t->nrow[m], a->x + j, a->ldx, k, masked, sp, sn);
        finish(a, m, j, sp, sn, k, masked);
    }
}

/* How many of a row's entries lie in mask words [w0, w1). */
static ALWAYS_INLINE int32_t
count_bits(const uint64_t *row, int32_t w0, int32_t w1)
{
    int32_t c = 0;
    for (int32_t w = w0; w < w1; w++)
        c += popcount64(row[w]);
    return c;
}

/* Rows [m0, m1) (at most MB) over the strip at column j, K-block by
 * K-block; cur* are the rows' positions in their lists, and the bitmasks
 * say how many entries each K-block holds. Between K-blocks the +1 sums wait
 * in Y's own columns (they are ours until the final write) and the -1 sums
 * on the stack (MB x STRIP floats), both as floats: the order of additions
 * is the reference's. */
static ALWAYS_INLINE void
strip_blocked(const tmm_args *a, int32_t m0, int32_t m1, int64_t j, const lanes *k, int masked)
{
    const ec2t__tmat *t = a->t;
    vec neg[MB][VECS];
    int32_t curp[MB], curn[MB];
    for (int32_t m = m0; m < m1; m++) {
        curp[m - m0] = t->prow[m];
        curn[m - m0] = t->nrow[m];
    }
    for (int32_t k0 = 0; k0 < t->cols; k0 += a->kb) {
        int32_t w0 = k0 / 64, w1 = (k0 + a->kb) / 64 < t->words ? (k0 + a->kb) / 64 : t->words;
        int first = k0 == 0, last = k0 + a->kb >= t->cols;
        for (int32_t m = m0; m < m1; m++) {
            int32_t r = m - m0;
            int32_t np = count_bits(t->pmask + (int64_t)m * t->words, w0, w1);
            int32_t nn = count_bits(t->nmask + (int64_t)m * t->words, w0, w1);
            float *yb = a->y + m * a->ldy + j;
            vec sp[VECS], sn[VECS];
            for (int v = 0; v < VECS; v++) {
                sp[v] = first ? v_zero() : v_load(yb + VW * v, k[v], masked);
                sn[v] = first ? v_zero() : neg[r][v];
            }
            walk(t->pidx + curp[r], np, t->nidx + curn[r], nn, a->x + j, a->ldx, k, masked, sp,
                 sn);
            curp[r] += np;
            curn[r] += nn;
            if (last) {
                finish(a, m, j, sp, sn, k, masked);
                continue;
            }
            for (int v = 0; v < VECS; v++) {
                v_store(yb + VW * v, sp[v], k[v], masked);
                neg[r][v] = sn[v];
            }
        }
    }
}

/* The lane masks of a strip with cols columns (STRIP or fewer). */
static ALWAYS_INLINE void
strip_lanes(int64_t cols, lanes *k)
{
    for (int v = 0; v < VECS; v++)
        k[v] = lanes_first(cols - VW * v);
}

/* Blocked order: every row block over the strip at column j. Two copies,
 * whole and partial strips, so the whole ones carry no masks. */
static ALWAYS_INLINE void
strip_all_rows(const tmm_args *a, int64_t j, const lanes *k, int masked)
{
    for (int32_t m0 = 0; m0 < a->t->rows; m0 += MB) {
        int32_t m1 = a->t->rows - m0 > MB ? m0 + MB : a->t->rows;
        if (a->t->cols <= a->kb)
            strip_whole(a, m0, m1, j, k, masked);
        else
            strip_blocked(a, m0, m1, j, k, masked);
    }
}

static void
strip_all_rows_full(const tmm_args *a, int64_t j)
{
    lanes k[VECS];
    strip_lanes(STRIP, k);
    strip_all_rows(a, j, k, 0);
}

static void
strip_all_rows_part(const tmm_args *a, int64_t j, int64_t cols)
{
    lanes k[VECS];
    strip_lanes(cols, k);
    strip_all_rows(a, j, k, 1);
}

/* Streaming order: row m over the strip at column j. */
static void
strip_row_full(const tmm_args *a, int32_t m, int64_t j)
{
    lanes k[VECS];
    strip_lanes(STRIP, k);
    strip_whole(a, m, m + 1, j, k, 0);
}

static void
strip_row_part(const tmm_args *a, int32_t m, int64_t j, int64_t cols)
{
    lanes k[VECS];
    strip_lanes(cols, k);
    strip_whole(a, m, m + 1, j, k, 1);
}

/* Columns per tile: whole strips, K rows of them in TILE_BYTES. */
static int64_t
tile_cols(int32_t k)
{
    int64_t strips = TILE_BYTES / ((int64_t)(k > 0 ? k : 1) * STRIP * (int64_t)sizeof(float));
    return (strips > 1 ? strips : 1) * STRIP;
}

/* K-block rows: at least L1_BLOCK of X, and enough that a row finds some 48
 * entries in a block, so the per-block costs (counts, partial sums) stay
 * small; a multiple of 64 (whole mask words). */
static int32_t
kblock_rows(const ec2t__tmat *t, int64_t nnz)
{
    int64_t kb = nnz > 0 ? 48 * (int64_t)t->rows * t->cols / nnz : KB_MAX;
    kb = (kb + 63) / 64 * 64;
    return (int32_t)(kb < KB_MIN ? KB_MIN : kb > KB_MAX ? KB_MAX : kb);
}

/* Ask for rows [k0, k1) of X's columns [j0, j1) towards L2, row by row:
 * the blocked order's own loads jump between rows, which the hardware
 * prefetchers do not follow. */
static void
prefetch_rows(const tmm_args *a, int32_t k0, int32_t k1, int64_t j0, int64_t j1)
{
    for (int32_t k = k0; k < k1; k++) {
        const float *row = a->x + (int64_t)k * a->ldx;
        for (int64_t j = j0; j < j1; j += 64 / (int64_t)sizeof(float))
            prefetch_l2(row + j);
    }
}

static void
tmm_blocked(const tmm_args *a, int64_t ncols)
{
    const ec2t__tmat *t = a->t;
    int64_t tile = tile_cols(t->cols);
    for (int64_t j0 = 0; j0 < ncols; j0 += tile) {
        int64_t jend = ncols - j0 < tile ? ncols : j0 + tile;
        int64_t next_end = ncols - jend < tile ? ncols : jend + tile;
        int64_t strips = (jend - j0 + STRIP - 1) / STRIP, s = 0;
        for (int64_t j = j0; j < jend; j += STRIP, s++) {
            /* this strip's share of the next tile's rows */
            if (jend < next_end)
                prefetch_rows(a, (int32_t)(s * t->cols / strips),
                              (int32_t)((s + 1) * t->cols / strips), jend, next_end);
            if (j + STRIP <= jend)
                strip_all_rows_full(a, j);
            else
                strip_all_rows_part(a, j, jend - j);
        }
    }
}

static void
tmm_streaming(const tmm_args *a, int64_t ncols)
{
    int64_t tile = tile_cols(a->t->cols);
    for (int64_t j0 = 0; j0 < ncols; j0 += tile) {
        int64_t jend = ncols - j0 < tile ? ncols : j0 + tile;
        for (int32_t m = 0; m < a->t->rows; m++) {
            int64_t j = j0;
            for (; j + STRIP <= jend; j += STRIP)
                strip_row_full(a, m, j);
            if (j < jend)
                strip_row_part(a, m, j, jend - j);
        }
    }
}

static void
tmm_simd(const ec2t__tmat *t, const float *ap, const float *an, const float *bias, const float *x,
         int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu)
{
    tmm_args a;
    int64_t nnz = (int64_t)t->prow[t->rows] + t->nrow[t->rows];
    a.t = t, a.ap = ap, a.an = an, a.bias = bias, a.x = x;
    a.ldx = ldx, a.ldy = ldy, a.y = y, a.relu = relu;
    a.kb = kblock_rows(t, nnz);
    if (nnz <= (int64_t)STREAM_REUSE * t->cols)
        tmm_streaming(&a, ncols);
    else
        tmm_blocked(&a, ncols);
}
