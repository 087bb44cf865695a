/* SPDX-License-Identifier: MIT */
/* The convolution layers' products (conv-gemm-private.h): the AVX-512 kernel
 * where the CPU has it, cblas_sgemm everywhere else. */
#include <cblas.h>

#include "conv-gemm-private.h"
#include "tkernel-private.h"

#if defined(EC2T_HAVE_X86_KERNELS) && defined(__x86_64__) && defined(__GNUC__)
#define HAND_KERNELS 1
#else
#define HAND_KERNELS 0
#endif

#if HAND_KERNELS
static int
hand_kernels(void)
{
    return ec2t__isa_usable(EC2T__ISA_AVX512) == EC2T__ISA_AVX512;
}
#endif

void
ec2t__conv_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                   float *c, int ldc, int accumulate)
{
#if HAND_KERNELS
    if (hand_kernels()) {
        ec2t__conv_gemm_nn_avx512(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}

void
ec2t__conv_gemm_nt(int m, int k, int n, const float *a, int lda, const float *b, int ldb,
                   float *c, int ldc, int accumulate)
{
#if HAND_KERNELS
    if (hand_kernels()) {
        ec2t__conv_gemm_nt_avx512(m, k, n, a, lda, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, a, lda, b, ldb,
                accumulate ? 1.0f : 0.0f, c, ldc);
}
