/* SPDX-License-Identifier: MIT */
#ifndef EC2T_TENSOR_PRIVATE_H
#define EC2T_TENSOR_PRIVATE_H

#include <ec2t/tensor.h>

#include "context-private.h"

/* The tensor belongs to another object (a network's parameter): the caller
 * may read and write its values but neither free nor reshape it. */
#define EC2T__TENSOR_BORROWED 1u

struct ec2t_tensor {
    ec2t_context *ctx;
    int32_t rank;
    int64_t dims[EC2T_MAX_DIMS];
    int64_t numel;
    float *data; /* EC2T_TENSOR_ALIGN-aligned */
    uint32_t flags;
};

/* Validate a shape and compute its element count; messages go to ctx (may be NULL). */
ec2t_status ec2t__shape_check(ec2t_context *ctx, int32_t rank, const int64_t *dims,
                              int64_t *numel);
/* Free a tensor whatever its flags (for the owner of a borrowed tensor). */
void ec2t__tensor_destroy(ec2t_tensor *t);

#endif /* EC2T_TENSOR_PRIVATE_H */
