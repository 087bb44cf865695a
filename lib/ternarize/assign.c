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

void
ec2t__tern_nn_counts(const float *w, int64_t n, float wp, float wn, int64_t count[3])
{
    int64_t c0 = 0, cn = 0, cp = 0;
    for (int64_t i = 0; i < n; i++) {
        float dn = sq(-wn - w[i]), d0 = sq(w[i]), dp = sq(wp - w[i]);
        /* argmin with ties to the lower index: n, then 0, then p */
        if (dn <= d0 && dn <= dp)
            cn++;
        else if (d0 <= dp)
            c0++;
        else
            cp++;
    }
    count[0] = cn;
    count[1] = c0;
    count[2] = cp;
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

/* The cluster of one weight at minimum cost (W - c)^2 + lambda I_c; ties go
 * to the lower index (n, then 0, then p), as torch.argmin does. */
static inline int8_t
cluster_of(float w, float wp, float wn, const float lam_i[3])
{
    float cn = sq(-wn - w) + lam_i[0], c0 = sq(w) + lam_i[1], cp = sq(wp - w) + lam_i[2];
    return cn <= c0 && cn <= cp ? -1 : c0 <= cp ? 0 : 1;
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
    int64_t c[3] = {0, 0, 0};
    scaled_info(lambda, info, lam_i);
    for (int64_t i = 0; i < n; i++) {
        a[i] = cluster_of(w[i], wp, wn, lam_i);
        c[a[i] + 1]++;
    }
    memcpy(count, c, sizeof c);
}

void
ec2t__tern_count_lambda(const float *w, int64_t n, float wp, float wn, double lambda,
                        const double info[3], int64_t count[3])
{
    float lam_i[3];
    int64_t c[3] = {0, 0, 0};
    scaled_info(lambda, info, lam_i);
    for (int64_t i = 0; i < n; i++)
        c[cluster_of(w[i], wp, wn, lam_i) + 1]++;
    memcpy(count, c, sizeof c);
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
    if (prune) {
        for (int64_t i = 0; i < n; i++)
            out[i] = a[i] != 0 ? w[i] : 0.0f;
        return;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] > 0 ? wp : a[i] < 0 ? -wn : 0.0f;
}

void
ec2t__tern_grads(const float *g, const int8_t *a, int64_t n, float wp, float wn, int prune,
                 int compat_ttq_sign, float *shadow_grad, float *gwp, float *gwn)
{
    double sp = 0, sn = 0;
    for (int64_t i = 0; i < n; i++) {
        float scale = prune ? 1.0f : a[i] > 0 ? wp : a[i] < 0 ? wn : 1.0f;
        shadow_grad[i] = scale * g[i];
        if (a[i] > 0)
            sp += g[i];
        else if (a[i] < 0)
            sn += g[i];
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
