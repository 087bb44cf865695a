/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "rng-private.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
ec2t__rng_seed(ec2t__rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t
ec2t__rng_next(ec2t__rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float
ec2t__rng_uniform(ec2t__rng *rng)
{
    return (float)(ec2t__rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

uint64_t
ec2t__rng_below(ec2t__rng *rng, uint64_t n)
{
    /* Rejection sampling: draws below 2^64 mod n would bias the result. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = ec2t__rng_next(rng);
        if (r >= threshold)
            return r % n;
    }
}

float
ec2t__rng_normal(ec2t__rng *rng)
{
    /* u1 in (0, 1] so that log(u1) is finite. */
    double u1 = ((double)(ec2t__rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(ec2t__rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
