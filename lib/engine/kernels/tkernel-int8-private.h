/* SPDX-License-Identifier: MIT */
/* The integer ternary kernel of the engine's int8 precision: the shifted-row
 * product of ec2t__tsh (tkernel-private.h) over activations quantised to 8
 * bits, x = scale * (q - zero) with q in [0, 255]. Each output sums its +1
 * and its -1 activations as two exact integer sums and only then goes to
 * float:
 *     y = ap * (sum_{P} q - zero * |P|) - an * (sum_{N} q - zero * |N|) + b,
 * where ap and an are the ternary levels times the activation scale.
 *
 * The quantised values are held in 16-bit lanes: the sums then need no
 * widening per addition (a 512-bit load feeds 32 additions instead of 16
 * float ones), and 256 values of at most 255 fit a 16-bit lane exactly
 * before the kernels widen it to 32 bits. Multiply-add instructions
 * (vpdpbusd, vpmaddubsw) would multiply by the zeros a ternary row skips.
 *
 * The reference (lib/engine/kernels/int8-reference.c) is the truth; the AVX2 and
 * AVX-512 kernels give its results bit for bit (the sums are exact, and the
 * float steps are the same, in the same order). */
#ifndef EC2T_TKERNEL_INT8_PRIVATE_H
#define EC2T_TKERNEL_INT8_PRIVATE_H

#include <stdint.h>

#include "tkernel-private.h"

/* Values of one sign a 16-bit lane adds before the kernels widen it: 256 x 255
 * < 65536. */
#define EC2T__Q8_CHUNK 256

/* The lists of ec2t__tshift (offsets into a buffer of quantised values) and
 * the integer epilogue. */
typedef struct ec2t__tshift8 {
    int32_t rows;
    const int32_t *prow, *nrow, *poff, *noff;
    const float *ap, *an, *bias; /* levels times the activation scale; bias may be NULL */
    int32_t zero;                /* the activations' zero point, 0 to 255 */
    int relu;
} ec2t__tshift8;

/* Y[m][j] = ap[m] * (float)(sum_{o in P_m} x[o + j] - zero * |P_m|)
 *         - an[m] * (float)(sum_{o in N_m} x[o + j] - zero * |N_m|)
 *         + (bias ? bias[m] : 0) (+ res[m * ldy + j] if res),
 * then max(., 0) if relu: products, difference, bias and residual each
 * rounded once, in that order. x holds values 0 to 255 (larger ones give
 * unspecified results); the memory contract of ec2t__tsh. Rows of at most
 * 2^23 entries per sign keep the integer sums exact. */
void ec2t__tsh8(ec2t__isa isa, const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
                int64_t ldy, const float *res);

/* Quantise n floats: u = x * inv_scale, then u + zero, clamped to [0, 255]
 * (NaN to 0), rounded to the nearest integer (ties to even), each step
 * rounded in float as written; every ISA gives the same values. dst must not
 * overlap src. */
void ec2t__quantize8(ec2t__isa isa, const float *src, int64_t n, float inv_scale, int32_t zero,
                     uint16_t *dst);

/* The kernels behind the dispatch, same contracts (SIMD only in x86-64
 * builds, EC2T_HAVE_X86_KERNELS). */
void ec2t__tsh8_ref(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
                    int64_t ldy, const float *res);
void ec2t__tsh8_avx2(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
                     int64_t ldy, const float *res);
void ec2t__tsh8_avx512(const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
                       int64_t ldy, const float *res);
void ec2t__quantize8_ref(const float *src, int64_t n, float inv_scale, int32_t zero,
                         uint16_t *dst);
void ec2t__quantize8_avx2(const float *src, int64_t n, float inv_scale, int32_t zero,
                          uint16_t *dst);
void ec2t__quantize8_avx512(const float *src, int64_t n, float inv_scale, int32_t zero,
                            uint16_t *dst);

#endif /* EC2T_TKERNEL_INT8_PRIVATE_H */
