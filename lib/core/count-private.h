/* SPDX-License-Identifier: MIT */
/* Inputs of known size: a run is given the element count of its input and
 * refuses any other than batch x C x H x W, naming both shapes, so that a
 * short buffer is never read past its end nor a wrong shape run. */
#ifndef EC2T_COUNT_PRIVATE_H
#define EC2T_COUNT_PRIVATE_H

#include <stdint.h>

#include "context-private.h"

/* EC2T_OK when @p count floats are exactly @p batch samples of c x h x w (all
 * positive); else EC2T_E_INVAL with, for example, "fn: input holds 3000
 * floats; a batch of 2 of 3x32x32 needs 6144". */
static inline ec2t_status
ec2t__check_input_count(ec2t_context *ctx, const char *fn, size_t count, int64_t batch, int64_t c,
                        int64_t h, int64_t w)
{
    uint64_t per = (uint64_t)c * (uint64_t)h * (uint64_t)w;
    if ((uint64_t)batch > UINT64_MAX / per)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "%s: input holds %zu floats; a batch of %lld of %lldx%lldx%lld needs more than "
                           "2^64", fn, count, (long long)batch, (long long)c, (long long)h, (long long)w);
    if ((uint64_t)count != per * (uint64_t)batch)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "%s: input holds %zu floats; a batch of %lld of %lldx%lldx%lld needs %llu", fn,
                           count, (long long)batch, (long long)c, (long long)h, (long long)w,
                           (unsigned long long)(per * (uint64_t)batch));
    return EC2T_OK;
}

/* EC2T_OK when @p count labels are one per sample of @p batch; else
 * EC2T_E_INVAL with both numbers. */
static inline ec2t_status
ec2t__check_label_count(ec2t_context *ctx, const char *fn, size_t count, int64_t batch)
{
    if ((uint64_t)count != (uint64_t)batch)
        return ec2t__error(ctx, EC2T_E_INVAL, "%s: labels hold %zu values; a batch of %lld needs %lld", fn,
                           count, (long long)batch, (long long)batch);
    return EC2T_OK;
}

#endif /* EC2T_COUNT_PRIVATE_H */
