/* SPDX-License-Identifier: MIT */
/* The arithmetic of EC2T on one layer's arrays (doc/TERNARIZER.md), kept
 * free of any object so that it can be tested against the method's worked
 * example. Assignments are int8: -1 (to -w_n), 0, +1 (to +w_p); w_n is a
 * magnitude. Clusters are indexed n = 0, zero = 1, p = 2 as in the method. */
#ifndef EC2T_TERN_PRIVATE_H
#define EC2T_TERN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Result of one entropy-constrained assignment. */
typedef struct ec2t__tern_step {
    double p[3];        /* cluster probabilities used for the information content */
    double info[3];     /* -log2 p */
    double lambda_max;  /* min over the sides that bound it; 0 if none does */
    double lambda;      /* gamma * delta * lambda_max */
    int64_t count[3];   /* weights assigned to n, 0, p */
} ec2t__tern_step;

/* Preliminary nearest-value counts (ties go to the lower index: n, then 0, then p). */
void ec2t__tern_nn_counts(const float *w, int64_t n, float wp, float wn, int64_t count[3]);
/* The probabilities of §2.2: a pseudo-count of 1 for an empty cluster, then
 * P_0 >= 0.5 by the reference's sequential redistribution. */
void ec2t__tern_pmf(const int64_t count[3], int64_t n, double p[3]);
/* lambda_max of §2.3, guarded: a side whose extreme weight is not beyond 0
 * on that side, whose numerator is not positive, or whose information does
 * not exceed I_0 imposes no bound; with no bound at all the result is 0. */
double ec2t__tern_lambda_max(float wmin, float wmax, float wp, float wn, const double info[3]);
/* Assignment by minimum cost (W - c)^2 + lambda I_c for a given lambda. */
void ec2t__tern_assign_lambda(const float *w, int64_t n, float wp, float wn, double lambda,
                              const double info[3], int8_t *a, int64_t count[3]);
/* The counts that ec2t__tern_assign_lambda would produce, without writing them. */
void ec2t__tern_count_lambda(const float *w, int64_t n, float wp, float wn, double lambda,
                             const double info[3], int64_t count[3]);
/* The parts of a step that do not depend on gamma: preliminary counts,
 * probabilities, information and lambda_max (st->lambda, st->count untouched). */
void ec2t__tern_prepare(const float *w, int64_t n, float wp, float wn, ec2t__tern_step *st);
/* The whole assignment of §2: counts, pmf, info, lambda = gamma * delta *
 * lambda_max, then argmin of (W - c)^2 + lambda I_c into a[]. */
void ec2t__tern_assign(const float *w, int64_t n, float wp, float wn, double gamma, double delta,
                       int8_t *a, ec2t__tern_step *out);
/* Ternary weights: wp, 0, -wn; or (prune) w[i] where a[i] != 0. */
void ec2t__tern_materialise(const float *w, const int8_t *a, int64_t n, float wp, float wn,
                            int prune, float *out);
/* §1.2: the shadow gradient (scaled straight-through: wp, 1 or wn times g;
 * plain straight-through for pruned layers) and the centroid gradients;
 * d/dw_n is -sum g over the n cluster, or +sum g with compat_ttq_sign. */
void ec2t__tern_grads(const float *g, const int8_t *a, int64_t n, float wp, float wn, int prune,
                      int compat_ttq_sign, float *shadow_grad, float *gwp, float *gwn);
/* factor * the unbiased standard deviation of w (§1.3). */
float ec2t__tern_floor(const float *w, int64_t n, double factor);
/* Initial centroids: s |min w| and s |max w|, or 1-D k-means with 0 pinned. */
void ec2t__tern_init_minmax(const float *w, int64_t n, double s, float *wp, float *wn);
void ec2t__tern_init_kmeans(const float *w, int64_t n, float *wp, float *wn);
/* Zero-order entropy in bits per weight of assignment counts. */
double ec2t__tern_entropy(const int64_t count[3]);

#endif /* EC2T_TERN_PRIVATE_H */
