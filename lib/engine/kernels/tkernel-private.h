/* SPDX-License-Identifier: MIT */
/* The ternary kernels of the inference engine: a packed ternary matrix, and
 * products with it that add the activations under its +1 entries, subtract
 * those under its -1 entries and skip its zeros:
 *     y = w_p * sum_{k in P} x[k] - w_n * sum_{k in N} x[k] (+ bias, ReLU).
 * The shifted-row products (ec2t__tsh, and ec2t__dsh for float weights) are
 * the engine's convolutions: the same sums over rows of one buffer at an
 * offset per weight. The plain-C reference (lib/engine/kernels/reference.c) is
 * the truth; the AVX2 and AVX-512 kernels (x86-64 only) are tested against
 * it. ec2t__tmm, ec2t__tmv, ec2t__tsh and ec2t__dsh pick the kernel of the
 * ISA they are given, never one the CPU cannot run. */
#ifndef EC2T_TKERNEL_PRIVATE_H
#define EC2T_TKERNEL_PRIVATE_H

#include <stdint.h>

#include <ec2t/common.h>

typedef enum ec2t__isa { EC2T__ISA_REF = 0, EC2T__ISA_AVX2 = 1, EC2T__ISA_AVX512 = 2 } ec2t__isa;

#define EC2T__ISA_COUNT 3

/* The best ISA this CPU and OS support (cpuid, and XGETBV for the OS saving
 * the YMM/ZMM state); EC2T__ISA_REF on other architectures and in builds
 * without the x86 kernels. Not free: under a hypervisor every cpuid traps
 * (about 13 us each on the development VM), so callers detect once (when an
 * engine is compiled or loaded) and keep the answer. */
ec2t__isa ec2t__isa_detect(void);
/* "reference", "avx2", "avx512"; "unknown" for anything else. */
const char *ec2t__isa_name(ec2t__isa isa);
/* 1 if kernels of that ISA can run here (by ec2t__isa_detect), else 0. */
int ec2t__isa_supported(ec2t__isa isa);
/* The ISA ec2t__tmm/ec2t__tmv really use when asked for isa: isa itself when
 * this CPU runs it, else the best one it does run. Cheap (no cpuid trap): it
 * reads the feature bits the compiler runtime gathered at start-up. */
ec2t__isa ec2t__isa_usable(ec2t__isa isa);

/* A ternary M x K matrix packed for the kernels. Row m's +1 columns are
 * pidx[prow[m] .. prow[m+1]), its -1 columns nidx[nrow[m] .. nrow[m+1])
 * (ascending); the same as bitmasks: bit k of word k/64 of pmask + m*words
 * (resp. nmask). Bits at or beyond cols are always 0. */
typedef struct ec2t__tmat {
    int32_t rows, cols, words;
    int32_t *prow, *nrow; /* rows + 1 entries */
    int32_t *pidx, *nidx;
    uint64_t *pmask, *nmask;
} ec2t__tmat;

/* From a dense row-major M x K matrix of signs: > 0 is +1, < 0 is -1, 0 is 0
 * (NaN counts as 0). EC2T_E_INVAL for NULL pointers, negative sizes or more
 * than INT32_MAX non-zeros of one sign; EC2T_E_NOMEM (cleanly, *out zeroed)
 * or EC2T_OK. */
ec2t_status ec2t__tmat_from_signs(ec2t_context *ctx, const float *w, int32_t rows, int32_t cols,
                                  ec2t__tmat *out);
/* From the two bitmasks (as stored in files, rows * ceil(cols / 64) words
 * each); EC2T_E_FORMAT if a bit is set in both or beyond cols, and otherwise
 * as ec2t__tmat_from_signs. */
ec2t_status ec2t__tmat_from_masks(ec2t_context *ctx, const uint64_t *pmask, const uint64_t *nmask,
                                  int32_t rows, int32_t cols, ec2t__tmat *out);
/* Leaves *t zeroed; safe on a zeroed struct. */
void ec2t__tmat_free(ec2t_context *ctx, ec2t__tmat *t);

/* Y[m][j] = ap[m] * sum_{k in P_m} X[k][j] - an[m] * sum_{k in N_m} X[k][j]
 *           + (bias ? bias[m] : 0),
 * then max(., 0) if relu; for j in [0, ncols). X is K x ncols with row stride
 * ldx, Y is M x ncols with row stride ldy (ldx, ldy >= ncols). No allocation;
 * nothing read or written outside those ranges.
 *
 * X and Y must not overlap; Y's columns may hold partial sums until the call
 * returns. Uses up to 16 KiB of stack.
 *
 * Every element sums its +1 (resp. -1) activations in ascending k in float
 * and combines them as ((ap * sp) - (an * sn)) + bias, one rounding per step,
 * in all ISAs: the results of the kernels are bitwise equal to the
 * reference's on x86-64.
 *
 * Speed: give X a row stride that is not a multiple of 1024 floats (pad
 * ldx by 16): with a power-of-two stride every row of a column strip maps
 * to the same cache sets, and the kernels run up to 2x slower (see
 * doc/experiments.md, the ternary matrix kernels). X and Y 64-byte aligned. */
void ec2t__tmm(ec2t__isa isa, const ec2t__tmat *t, const float *ap, const float *an,
               const float *bias, const float *x, int64_t ldx, int64_t ncols, float *y,
               int64_t ldy, int relu);
/* The single-column case (a dense layer at batch 1): y[m] for x of K floats,
 * using the bitmasks. The SIMD kernels add in lanes, so they agree with the
 * reference to rounding, not bitwise. */
void ec2t__tmv(ec2t__isa isa, const ec2t__tmat *t, const float *ap, const float *an,
               const float *bias, const float *x, float *y, int relu);

/* The lists of a direct convolution: a ternary matrix whose columns are
 * shifts of one activation buffer. Row m's +1 entries are the offsets
 * poff[prow[m] .. prow[m+1]), its -1 entries noff[nrow[m] .. nrow[m+1]); an
 * offset o stands for the activations x[o + j] of output column j. For a
 * convolution over zero-padded planes (lib/engine/run.c) the offset of
 * weight (c, i, j) is where that tap reads, so no im2col copy is needed. */
typedef struct ec2t__tshift {
    int32_t rows;
    const int32_t *prow, *nrow, *poff, *noff;
    const float *ap, *an, *bias; /* bias may be NULL */
    int relu;
} ec2t__tshift;

/* Y[m][j] = ap[m] * sum_{o in P_m} x[o + j] - an[m] * sum_{o in N_m} x[o + j]
 *           + (bias ? bias[m] : 0) (+ res[m * ldy + j] if res),
 * then max(., 0) if relu; for j in [0, ncols), rows [0, s->rows). Y has row stride ldy; res (a residual input, e.g. a ResNet
 * shortcut) has Y's layout. Reads x[o + j] for the listed o only, and no
 * memory outside those ranges; no allocation. X must not overlap Y; res may
 * be Y itself.
 *
 * The sums run in list order in float and combine as ec2t__tmm's do, then
 * the residual is added (one more rounding): with lists in ascending weight
 * order the results equal ec2t__tmm on the im2col of the same data, bitwise,
 * and all ISAs give the reference's results bitwise on x86-64. The result of
 * a row does not depend on which other rows a call computes. */
void ec2t__tsh(ec2t__isa isa, const ec2t__tshift *s, const float *x, int64_t ncols, float *y,
               int64_t ldy, const float *res);

/* The float counterpart: a dense rows x cols matrix w (row-major) whose
 * column k reads x[off[k] + j]. */
typedef struct ec2t__dshift {
    int32_t rows, cols;
    const float *w;
    const int32_t *off;
    const float *bias; /* may be NULL */
    int relu;
} ec2t__dshift;

/* Y[m][j] = sum_k w[m][k] * x[off[k] + j] + (bias ? bias[m] : 0)
 *           (+ res[m * ldy + j] if res), then max(., 0) if relu; the memory
 * contract of ec2t__tsh. The sum runs in ascending k; the SIMD
 * kernels fuse each multiply-add (one rounding), the reference does not, so
 * ISAs agree to rounding, not bitwise; a row's result does not depend on
 * which other rows or columns a call computes. */
void ec2t__dsh(ec2t__isa isa, const ec2t__dshift *d, const float *x, int64_t ncols, float *y,
               int64_t ldy, const float *res);

/* The kernels behind the dispatch, same contracts. Only ec2t__tmm/ec2t__tmv
 * call the SIMD ones (after checking the CPU); the avx2/avx512 symbols exist
 * only in x86-64 builds (EC2T_HAVE_X86_KERNELS). */
void ec2t__tmm_ref(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                   const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu);
void ec2t__tmv_ref(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                   const float *x, float *y, int relu);
void ec2t__tmm_avx2(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                    const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu);
void ec2t__tmv_avx2(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                    const float *x, float *y, int relu);
void ec2t__tmm_avx512(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                      const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy,
                      int relu);
void ec2t__tmv_avx512(const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
                      const float *x, float *y, int relu);

void ec2t__tsh_ref(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
                   const float *res);
void ec2t__tsh_avx2(const ec2t__tshift *s, const float *x, int64_t ncols, float *y, int64_t ldy,
                    const float *res);
void ec2t__tsh_avx512(const ec2t__tshift *s, const float *x, int64_t ncols, float *y,
                      int64_t ldy, const float *res);
void ec2t__dsh_ref(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
                   const float *res);
void ec2t__dsh_avx2(const ec2t__dshift *d, const float *x, int64_t ncols, float *y, int64_t ldy,
                    const float *res);
void ec2t__dsh_avx512(const ec2t__dshift *d, const float *x, int64_t ncols, float *y,
                      int64_t ldy, const float *res);

#endif /* EC2T_TKERNEL_PRIVATE_H */
