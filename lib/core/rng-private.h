/* SPDX-License-Identifier: MIT */
/* A small, fast, portable PRNG (xoshiro256**, seeded by splitmix64). Every
 * random draw of the library goes through a state owned by some handle. */
#ifndef EC2T_RNG_PRIVATE_H
#define EC2T_RNG_PRIVATE_H

#include <stdint.h>

typedef struct ec2t__rng {
    uint64_t s[4];
} ec2t__rng;

void ec2t__rng_seed(ec2t__rng *rng, uint64_t seed);
uint64_t ec2t__rng_next(ec2t__rng *rng);
/* Uniform in [0, 1) with 24 random bits: exactly representable as float. */
float ec2t__rng_uniform(ec2t__rng *rng);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t ec2t__rng_below(ec2t__rng *rng, uint64_t n);
/* Standard normal (Box-Muller, computed in double). */
float ec2t__rng_normal(ec2t__rng *rng);

#endif /* EC2T_RNG_PRIVATE_H */
