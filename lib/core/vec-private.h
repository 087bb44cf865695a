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

/* sum of y[i] * (x[i] - mu) */
static inline double
ec2t__vsum_dotdev(const float *y, const float *x, int64_t n, float mu)
{
    float acc[EC2T__LANES] = {0};
    int64_t i = 0;
    double tail = 0;
    for (; i + EC2T__LANES <= n; i += EC2T__LANES)
        for (int k = 0; k < EC2T__LANES; k++)
            acc[k] += y[i + k] * (x[i + k] - mu);
    for (; i < n; i++)
        tail += (double)y[i] * (x[i] - mu);
    return ec2t__lanes_total(acc, tail);
}

#endif /* EC2T_VEC_PRIVATE_H */
