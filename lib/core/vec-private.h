/* SPDX-License-Identifier: MIT */
/* Reductions written so that the compiler vectorises them: 16 independent
 * float lanes (a fixed order, so results are deterministic), combined in
 * double at the end. */
#ifndef EC2T_VEC_PRIVATE_H
#define EC2T_VEC_PRIVATE_H

#include <stdint.h>

#define EC2T__LANES 16

static inline double
ec2t__lanes_total(const float *acc, double tail)
{
    double s = tail;
    for (int k = 0; k < EC2T__LANES; k++)
        s += acc[k];
    return s;
}

/* sum of x[i] */
static inline double
ec2t__vsum(const float *x, int64_t n)
{
    float acc[EC2T__LANES] = {0};
    int64_t i = 0;
    double tail = 0;
    for (; i + EC2T__LANES <= n; i += EC2T__LANES)
        for (int k = 0; k < EC2T__LANES; k++)
            acc[k] += x[i + k];
    for (; i < n; i++)
        tail += x[i];
    return ec2t__lanes_total(acc, tail);
}

/* sum of (x[i] - mu)^2 */
static inline double
ec2t__vsum_sqdev(const float *x, int64_t n, float mu)
{
    float acc[EC2T__LANES] = {0};
    int64_t i = 0;
    double tail = 0;
    for (; i + EC2T__LANES <= n; i += EC2T__LANES)
        for (int k = 0; k < EC2T__LANES; k++) {
            float d = x[i + k] - mu;
            acc[k] += d * d;
        }
    for (; i < n; i++)
        tail += (double)(x[i] - mu) * (x[i] - mu);
    return ec2t__lanes_total(acc, tail);
}

/* Both sums of a batchnorm's backward pass in one sweep: *sdy = sum of dy[i]
 * and *sdyx = sum of dy[i] * (x[i] - mu), each in the lanes and order of
 * ec2t__vsum. If y is not NULL, dy is first masked in
 * place by a fused ReLU's output: dy[i] = 0 where y[i] <= 0. */
static inline void
ec2t__vsum_pair(float *dy, const float *y, const float *x, int64_t n, float mu, double *sdy,
                double *sdyx)
{
    float a[EC2T__LANES] = {0}, b[EC2T__LANES] = {0};
    int64_t i = 0;
    double ta = 0, tb = 0;
    for (; i + EC2T__LANES <= n; i += EC2T__LANES) {
        if (y)
            for (int k = 0; k < EC2T__LANES; k++)
                dy[i + k] = y[i + k] > 0.0f ? dy[i + k] : 0.0f;
        for (int k = 0; k < EC2T__LANES; k++) {
            a[k] += dy[i + k];
            b[k] += dy[i + k] * (x[i + k] - mu);
        }
    }
    for (; i < n; i++) {
        if (y && !(y[i] > 0.0f))
            dy[i] = 0.0f;
        ta += dy[i];
        tb += (double)dy[i] * (x[i] - mu);
    }
    *sdy = ec2t__lanes_total(a, ta);
    *sdyx = ec2t__lanes_total(b, tb);
}

#endif /* EC2T_VEC_PRIVATE_H */
