/* SPDX-License-Identifier: MIT */
/* The shifted-row product (ec2t__tsh), written once for every vector width.
 * Included by a per-ISA file after tmm-body.h, whose primitives and strip
 * geometry (VECS, STRIP, strip_lanes) it uses, and after it defines
 * v_max0(v) = max(v, 0) as the ReLU of v_combine; defines tsh_simd() with
 * ec2t__tsh's contract.
 *
 * The activations of a direct convolution are one buffer of zero-padded
 * planes, read in place at each tap's offset; the few channels x (a strip +
 * two plane rows) a strip touches stay in L1 while every output row uses
 * them, so the columns go in strips and, inside a strip, all rows walk their
 * lists (both signs side by side: eight independent add chains, each column
 * adding in list order, bitwise the reference).
 *
 * Small planes end in a short strip: an 8x8 plane of stride 9 is 71
 * columns, one strip and 7. A partial strip uses only the registers it
 * needs (copies specialised for 1 to VECS registers); with all VECS masked
 * registers the 8x8 layers did 1.8x the loads they need. */

/* tsh_part's cases */
_Static_assert(VECS == 4, "tsh_part specialises 1 to 4 registers");

typedef struct tsh_args {
    const ec2t__tshift *s;
    const float *x, *res;
    float *y;
    int64_t ldy;
} tsh_args;

/* tmm-body.h's walk with a row stride of 1 and nv (a constant after
 * inlining) registers. */
static ALWAYS_INLINE void
tsh_walk(const int32_t *p, int32_t np, const int32_t *n, int32_t nn, const float *xb,
         const lanes *k, int masked, int nv, vec *sp, vec *sn)
{
    int32_t both = np < nn ? np : nn, i;
    for (i = 0; i < both; i++) {
        const float *a = xb + p[i], *c = xb + n[i];
        for (int v = 0; v < nv; v++)
            sp[v] = v_add(sp[v], v_load(a + VW * v, k[v], masked));
        for (int v = 0; v < nv; v++)
            sn[v] = v_add(sn[v], v_load(c + VW * v, k[v], masked));
    }
    for (int32_t j = i; j < np; j++) {
        const float *a = xb + p[j];
        for (int v = 0; v < nv; v++)
            sp[v] = v_add(sp[v], v_load(a + VW * v, k[v], masked));
    }
    for (int32_t j = i; j < nn; j++) {
        const float *c = xb + n[j];
        for (int v = 0; v < nv; v++)
            sn[v] = v_add(sn[v], v_load(c + VW * v, k[v], masked));
    }
}

/* Every row over the strip of nv registers at column j. */
static ALWAYS_INLINE void
tsh_strip(const tsh_args *a, int64_t j, const lanes *k, int masked, int nv)
{
    const ec2t__tshift *s = a->s;
    for (int32_t m = 0; m < s->rows; m++) {
        vec sp[VECS], sn[VECS];
        float *yb = a->y + m * a->ldy + j;
        const float *rb = a->res ? a->res + m * a->ldy + j : NULL;
        float b = s->bias ? s->bias[m] : 0.0f;
        for (int v = 0; v < nv; v++)
            sp[v] = sn[v] = v_zero();
        tsh_walk(s->poff + s->prow[m], s->prow[m + 1] - s->prow[m], s->noff + s->nrow[m],
                 s->nrow[m + 1] - s->nrow[m], a->x + j, k, masked, nv, sp, sn);
        for (int v = 0; v < nv; v++) {
            vec r = v_combine(sp[v], sn[v], s->ap[m], s->an[m], b, s->relu && !rb);
            if (rb) {
                r = v_add(r, v_load(rb + VW * v, k[v], masked));
                if (s->relu)
                    r = v_max0(r);
            }
            v_store(yb + VW * v, r, k[v], masked);
        }
    }
}

static void
tsh_full(const tsh_args *a, int64_t j)
{
    lanes k[VECS];
    strip_lanes(STRIP, k);
    tsh_strip(a, j, k, 0, VECS);
}

static void
tsh_part(const tsh_args *a, int64_t j, int64_t cols)
{
    lanes k[VECS];
    strip_lanes(cols, k);
    switch ((cols + VW - 1) / VW) {
    case 1: tsh_strip(a, j, k, 1, 1); break;
    case 2: tsh_strip(a, j, k, 1, 2); break;
    case 3: tsh_strip(a, j, k, 1, 3); break;
    default: tsh_strip(a, j, k, 1, VECS); break;
    }
}

static void
tsh_simd(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
         const float *res)
{
    tsh_args a;
    int64_t j = 0;
    a.s = s, a.x = x, a.res = res, a.y = y, a.ldy = ldy;
    for (; j + STRIP <= ncols; j += STRIP)
        tsh_full(&a, j);
    if (j < ncols)
        tsh_part(&a, j, ncols - j);
}
