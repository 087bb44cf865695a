/* SPDX-License-Identifier: MIT */
/* The engine's int8 precision (int8.c, calibrate.c): a ternary
 * convolution whose input was calibrated runs on the integer kernel
 * (tkernel-int8-private.h). Its column variants are lowered in float as
 * usual, quantised with the input's scale and zero point into 16-bit lanes
 * right after them in the scratch, and summed in integers; the two level
 * multiplications, the bias, the residual and the ReLU stay in float, and so
 * does every other operation. */
#ifndef EC2T_ENGINE_INT8_PRIVATE_H
#define EC2T_ENGINE_INT8_PRIVATE_H

#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/experimental.h>

#include "engine-private.h"
#include "tkernel-int8-private.h"

/* A calibrated ternary convolution: x = scale * (q - zero), q in [0, 255].
 * Its quantised variant planes are vps8 values apart, an odd number of
 * cache lines as the float ones (op->vps) are: with op->vps, an odd multiple
 * of 16 values, every other 16-bit plane would start mid-line, and every
 * 64-byte load from it would split two lines. */
typedef struct ec2t__q8 {
    float scale;
    int32_t zero;
    int64_t vps8;
    float *ap, *an;       /* op->ap, op->an times scale */
    int32_t *poff, *noff; /* op->poff, op->noff in planes of vps8 */
    ec2t__tshift8 sh;     /* the op's lists with these */
} ec2t__q8;

/* Whether an operation can run in int8: a ternary convolution. */
int ec2t__q8_eligible(const ec2t__eop *op);
/* The int8 form of op (eligible, planned) for an input of scale and zero
 * (scale finite and > 0 with a finite inverse, zero 0 to 255): EC2T_OK,
 * EC2T_E_INVAL or EC2T_E_NOMEM (*out NULL). op->q8 is left alone. */
ec2t_status ec2t__q8_new(ec2t_engine *e, const ec2t__eop *op, float scale, int32_t zero,
                         ec2t__q8 **out);
/* NULL is fine. */
void ec2t__q8_destroy(ec2t_context *ctx, ec2t__q8 *q);
/* Destroy op->q8 and clear it. */
void ec2t__q8_free(ec2t_context *ctx, ec2t__eop *op);

/* EC2T_ENGINE_PRECISION: set (EC2T_E_STATE if int8 and a ternary
 * convolution is not calibrated) and read. */
ec2t_status ec2t__engine_set_precision(ec2t_engine *e, int64_t value);

/* Rows [v0, v1) of the quantised column variants of a convolution of
 * stride 1 and ow == w straight from its input (planes ps floats apart):
 * the input rows they copy quantised once per plane (into col, the float
 * variants' room, unused then) and shifted as ec2t__lower_columns shifts
 * floats, the padding being the zero point, into the scratch after
 * op->col_floats. 1 when done, 0 for other geometries (lower those rows
 * in float, then ec2t__conv_int8 with quantise set). The same values as
 * quantising the float variants. */
int ec2t__lower_int8(ec2t__isa isa, const ec2t_engine *e, const ec2t__eop *op, const float *x,
                     int64_t ps, float *col, int32_t v0, int32_t v1);
/* Output pixels [p0, p1) of a lowered convolution in int8, whose taps
 * read variant rows [v0, v1): quantise: col holds those rows of its float
 * column variants, to quantise into the scratch after them; else the
 * scratch holds them quantised (ec2t__lower_int8). The output and residual
 * as in the float kernels; relu: the epilogue's. */
void ec2t__conv_int8(ec2t__isa isa, const ec2t_engine *e, const ec2t__eop *op, float *col,
                     int quantise, int32_t v0, int32_t v1, int64_t p0, int64_t p1, float *y,
                     int64_t ldy, const float *res, int relu);

#endif /* EC2T_ENGINE_INT8_PRIVATE_H */
