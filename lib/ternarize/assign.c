/* SPDX-License-Identifier: MIT */
/* EC2T on one layer: assignment, probabilities, lambda, gradients, floor and
 * initialisation (doc/TERNARIZER.md; EC2T-METHOD.md §1-§2). Costs are float
 * as in the reference (PyTorch float32); sums are double. */
#include <math.h>
#include <string.h>

#include "tern-private.h"

/* Squared distance, in float like the reference's (C - W)^2. */
static inline float
sq(float d)
{
    return d * d;
}

/* Weights per block of the counting loops: their counters are int32 so that
 * the loops vectorise, and a block cannot overflow them. */
#define COUNT_BLOCK 65536

/* Counts of the assignment by minimum cost (W - c)^2 + lam[c], ties to the
 * lower index (n, then 0, then p) as torch.argmin does. Written without
 * branches so that the compiler vectorises it: a branch per weight was
 * mispredicted about as often as the clusters mix. */
static inline void
count_costs_body(const float *w, int64_t n, float wp, float wn, const float lam[3],
                 int64_t count[3])
{
    int64_t cn = 0, c0 = 0;
    const float l0 = lam[0], l1 = lam[1], l2 = lam[2];
    for (int64_t b = 0; b < n; b += COUNT_BLOCK) {
        int32_t e = (int32_t)(n - b < COUNT_BLOCK ? n - b : COUNT_BLOCK), kn = 0, k0 = 0;
        const float *x = w + b;
        for (int32_t i = 0; i < e; i++) {
            float dn = sq(-wn - x[i]) + l0, d0 = sq(x[i]) + l1, dp = sq(wp - x[i]) + l2;
            int32_t to_n = (dn <= d0) & (dn <= dp);
            kn += to_n;
            k0 += (to_n ^ 1) & (d0 <= dp);
        }
        cn += kn;
        c0 += k0;
    }
    count[0] = cn;
    count[1] = c0;
    count[2] = n - cn - c0;
}

#if defined(__GNUC__) && defined(__x86_64__)
/* The same loop in 8-float vectors: target steering counts every weight
 * about twenty times a step. Element-wise float operations give the same
 * results at any width (ISO C mode: no contraction into FMA). */
__attribute__((target("avx2"))) static void
count_costs_avx2(const float *w, int64_t n, float wp, float wn, const float lam[3],
                 int64_t count[3])
{
    count_costs_body(w, n, wp, wn, lam, count);
}
#endif

static void
count_costs(const float *w, int64_t n, float wp, float wn, const float lam[3], int64_t count[3])
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        count_costs_avx2(w, n, wp, wn, lam, count);
        return;
    }
#endif
    count_costs_body(w, n, wp, wn, lam, count);
}

void
ec2t__tern_nn_counts(const float *w, int64_t n, float wp, float wn, int64_t count[3])
{
    /* + 0.0f leaves a square (never -0) unchanged: the costs are the distances */
    const float zero[3] = {0.0f, 0.0f, 0.0f};
    count_costs(w, n, wp, wn, zero, count);
}

void
ec2t__tern_pmf(const int64_t count[3], int64_t n, double p[3])
{
    const double bound = 0.5;
    for (int c = 0; c < 3; c++)
        p[c] = (double)(count[c] > 0 ? count[c] : 1) / (double)(n > 0 ? n : 1);
    if (p[1] < bound) {
        /* the reference updates P_n first and uses the new value for P_p */
        p[0] -= p[0] / (p[0] + p[2]) * (bound - p[1]);
        p[2] -= p[2] / (p[0] + p[2]) * (bound - p[1]);
        p[1] = bound;
    }
    for (int c = 0; c < 3; c++)
        if (!(p[c] > 1e-12))
            p[c] = 1e-12; /* keeps -log2 finite whatever the counts */
}

/* One side's bound: the lambda at which its extreme weight m (> 0, as a
 * magnitude) would move to zero; < 0 when the side imposes no bound. */
static double
side_bound(int exists, float m, float c, double info_c, double info_0)
{
    double num = (double)sq(0.0f - m) - (double)sq(c - m), den = info_c - info_0;
    if (!exists || !(num > 0) || !(den > 1e-12))
        return -1;
    return num / den;
}

double
ec2t__tern_lambda_max(float wmin, float wmax, float wp, float wn, const double info[3])
{
    double ln = side_bound(wmin < 0, fabsf(wmin), wn, info[0], info[1]);
    double lp = side_bound(wmax > 0, fabsf(wmax), wp, info[2], info[1]);
    if (ln < 0 && lp < 0)
        return 0;
    if (ln < 0)
        return lp;
    if (lp < 0)
        return ln;
    return ln < lp ? ln : lp;
}

static void
scaled_info(double lambda, const double info[3], float lam_i[3])
{
    for (int k = 0; k < 3; k++)
        lam_i[k] = (float)(lambda * info[k]);
}

void
ec2t__tern_assign_lambda(const float *w, int64_t n, float wp, float wn, double lambda,
                         const double info[3], int8_t *a, int64_t count[3])
{
    float lam_i[3];
    int64_t cn = 0, c0 = 0;
    scaled_info(lambda, info, lam_i);
    for (int64_t b = 0; b < n; b += COUNT_BLOCK) {
        int32_t e = (int32_t)(n - b < COUNT_BLOCK ? n - b : COUNT_BLOCK), kn = 0, k0 = 0;
        const float *x = w + b;
        int8_t *out = a + b;
        for (int32_t i = 0; i < e; i++) {
            /* the costs and ties of count_costs */
            float dn = sq(-wn - x[i]) + lam_i[0], d0 = sq(x[i]) + lam_i[1],
                  dp = sq(wp - x[i]) + lam_i[2];
            int32_t to_n = (dn <= d0) & (dn <= dp), to_0 = (to_n ^ 1) & (d0 <= dp);
            kn += to_n;
            k0 += to_0;
            out[i] = (int8_t)(1 - 2 * to_n - to_0);
        }
        cn += kn;
        c0 += k0;
    }
    count[0] = cn;
    count[1] = c0;
    count[2] = n - cn - c0;
}

void
ec2t__tern_count_lambda(const float *w, int64_t n, float wp, float wn, double lambda,
                        const double info[3], int64_t count[3])
{
    float lam_i[3];
    scaled_info(lambda, info, lam_i);
    count_costs(w, n, wp, wn, lam_i, count);
}

void
ec2t__tern_prepare(const float *w, int64_t n, float wp, float wn, ec2t__tern_step *st)
{
    float wmin = n > 0 ? w[0] : 0, wmax = wmin;
    int64_t prelim[3];
    for (int64_t i = 1; i < n; i++) {
        wmin = w[i] < wmin ? w[i] : wmin;
        wmax = w[i] > wmax ? w[i] : wmax;
    }
    ec2t__tern_nn_counts(w, n, wp, wn, prelim);
    ec2t__tern_pmf(prelim, n, st->p);
    for (int c = 0; c < 3; c++)
        st->info[c] = -log2(st->p[c]);
    st->lambda_max = ec2t__tern_lambda_max(wmin, wmax, wp, wn, st->info);
}

void
ec2t__tern_assign(const float *w, int64_t n, float wp, float wn, double gamma, double delta,
                  int8_t *a, ec2t__tern_step *out)
{
    ec2t__tern_step st;
    ec2t__tern_prepare(w, n, wp, wn, &st);
    st.lambda = gamma * delta * st.lambda_max;
    ec2t__tern_assign_lambda(w, n, wp, wn, st.lambda, st.info, a, st.count);
    if (out)
        *out = st;
}

void
ec2t__tern_materialise(const float *w, const int8_t *a, int64_t n, float wp, float wn, int prune,
                       float *out)
{
    /* selects rather than branches, so that the loops vectorise */
    if (prune) {
        for (int64_t i = 0; i < n; i++)
            out[i] = a[i] != 0 ? w[i] : 0.0f;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        float pos = a[i] > 0 ? wp : 0.0f;
        out[i] = a[i] < 0 ? -wn : pos;
    }
}

void
ec2t__tern_grads(const float *g, const int8_t *a, int64_t n, float wp, float wn, int prune,
                 int compat_ttq_sign, float *shadow_grad, float *gwp, float *gwn)
{
    double sp = 0, sn = 0;
    /* the element-wise part vectorises; the sums stay one ordered chain each,
     * bit for bit the reference's (adding +0.0 for the other clusters leaves
     * them unchanged: neither is ever -0) */
    for (int64_t i = 0; i < n; i++) {
        float pos = a[i] > 0 ? wp : 1.0f, scale = a[i] < 0 ? wn : pos;
        shadow_grad[i] = (prune ? 1.0f : scale) * g[i];
    }
    for (int64_t i = 0; i < n; i++) {
        double gi = g[i];
        sp += a[i] > 0 ? gi : 0.0;
        sn += a[i] < 0 ? gi : 0.0;
    }
    *gwp = (float)sp;
    /* the level is -w_n, so dL/dw_n = -sum g; the reference keeps TTQ's +sum g */
    *gwn = (float)(compat_ttq_sign ? sn : -sn);
}

float
ec2t__tern_floor(const float *w, int64_t n, double factor)
{
    double mean = 0, ss = 0;
    if (n < 2 || factor <= 0)
        return 0.0f;
    for (int64_t i = 0; i < n; i++)
        mean += w[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        ss += (w[i] - mean) * (w[i] - mean);
    return (float)(factor * sqrt(ss / (double)(n - 1)));
}

void
ec2t__tern_init_minmax(const float *w, int64_t n, double s, float *wp, float *wn)
{
    float lo = n > 0 ? w[0] : 0, hi = lo;
    for (int64_t i = 1; i < n; i++) {
        lo = w[i] < lo ? w[i] : lo;
        hi = w[i] > hi ? w[i] : hi;
    }
    *wn = (float)(s * fabsf(lo));
    *wp = (float)(s * fabsf(hi));
}

/* Lloyd's iterations with three centres, the middle one fixed at 0; a cluster
 * that empties keeps its centre. */
void
ec2t__tern_init_kmeans(const float *w, int64_t n, float *wp, float *wn)
{
    ec2t__tern_init_minmax(w, n, 0.5, wp, wn);
    for (int it = 0; it < 100; it++) {
        double sp = 0, sn = 0;
        int64_t np = 0, nn = 0;
        float new_p, new_n;
        for (int64_t i = 0; i < n; i++) {
            float dn = sq(-*wn - w[i]), d0 = sq(w[i]), dp = sq(*wp - w[i]);
            if (dn <= d0 && dn <= dp)
                sn -= w[i], nn++;
            else if (dp < d0)
                sp += w[i], np++;
        }
        new_p = np ? (float)(sp / (double)np) : *wp;
        new_n = nn ? (float)(sn / (double)nn) : *wn;
        if (new_p == *wp && new_n == *wn)
            break;
        *wp = new_p;
        *wn = new_n;
    }
}

double
ec2t__tern_entropy(const int64_t count[3])
{
    double total = (double)(count[0] + count[1] + count[2]), h = 0;
    for (int c = 0; c < 3 && total > 0; c++)
        if (count[c] > 0) {
            double p = (double)count[c] / total;
            h -= p * log2(p);
        }
    return h;
}
