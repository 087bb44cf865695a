/* SPDX-License-Identifier: MIT */
/* The dispatch of the integer ternary kernels (kernels/int8-*.c)
 * by ISA, as ternary-matrix.c does for the float ones. */
#include <stdint.h>

#include "tkernel-int8-private.h"

#if defined(EC2T_HAVE_X86_KERNELS) && defined(__x86_64__) && defined(__GNUC__)
#define X86_DISPATCH 1
#else
#define X86_DISPATCH 0
#endif

void
ec2t__tsh8(ec2t__isa isa, const ec2t__tshift8 *s, const uint16_t *x, int64_t ncols, float *y,
           int64_t ldy, const float *res)
{
    if (s->rows == 0 || ncols <= 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__tsh8_avx512(s, x, ncols, y, ldy, res);
        return;
    case EC2T__ISA_AVX2:
        ec2t__tsh8_avx2(s, x, ncols, y, ldy, res);
        return;
#endif
    default:
        ec2t__tsh8_ref(s, x, ncols, y, ldy, res);
    }
}

void
ec2t__quantize8(ec2t__isa isa, const float *src, int64_t n, float inv_scale, int32_t zero,
                uint16_t *dst)
{
    if (n <= 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__quantize8_avx512(src, n, inv_scale, zero, dst);
        return;
    case EC2T__ISA_AVX2:
        ec2t__quantize8_avx2(src, n, inv_scale, zero, dst);
        return;
#endif
    default:
        ec2t__quantize8_ref(src, n, inv_scale, zero, dst);
    }
}
