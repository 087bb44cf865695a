/* SPDX-License-Identifier: MIT */
/* The matrix products of the convolution layers: row-major single precision,
 * C = A B (accumulate = 0) or C += A B (accumulate = 1) for the forward pass
 * and the input gradient, C (+)= A B^T for the weight gradient. On CPUs with
 * AVX-512 a hand kernel runs them (measured about 2x OpenBLAS 0.3.21's
 * Haswell kernels, which it picks for this CPU, on ResNet-20's shapes);
 * elsewhere cblas_sgemm does. Deterministic: the order of the sums depends
 * only on the sizes. */
#ifndef EC2T_CONV_GEMM_PRIVATE_H
#define EC2T_CONV_GEMM_PRIVATE_H

#include <stdint.h>

/* C[m x n] (+)= A[m x k] B[k x n]; lda, ldb, ldc in floats. */
void ec2t__conv_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);
/* C[m x k] (+)= A[m x n] B[k x n]^T. */
void ec2t__conv_gemm_nt(int m, int k, int n, const float *a, int lda, const float *b, int ldb,
                        float *c, int ldc, int accumulate);

/* The AVX-512 kernels (lib/nn/kernels/conv-gemm-avx512.c): call only after
 * ec2t__isa_usable(EC2T__ISA_AVX512) said yes. */
void ec2t__conv_gemm_nn_avx512(int m, int n, int k, const float *a, int lda, const float *b,
                               int ldb, float *c, int ldc, int accumulate);
void ec2t__conv_gemm_nt_avx512(int m, int k, int n, const float *a, int lda, const float *b,
                               int ldb, float *c, int ldc, int accumulate);

#endif /* EC2T_CONV_GEMM_PRIVATE_H */
