/* SPDX-License-Identifier: MIT */
/* Packed ternary matrices, CPU feature detection, and the dispatch of the
 * ternary kernels (lib/kernels/) by ISA.
 *
 * A matrix is packed once into both of the forms the kernels want: index
 * lists (the matrix product walks them, a few columns at a time) and bitmasks
 * (the matrix-vector product adds under them). Both are built from the masks,
 * so the two forms agree by construction. */
#include <stdint.h>
#include <string.h>

#include "context-private.h"
#include "tkernel-private.h"

#if defined(EC2T_HAVE_X86_KERNELS) && defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#define X86_DISPATCH 1
#else
#define X86_DISPATCH 0
#endif

/* ---- bit helpers ------------------------------------------------------ */

static int
popcount64(uint64_t v)
{
#if defined(__GNUC__)
    return __builtin_popcountll(v);
#else
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
#endif
}

static int
lowest_bit(uint64_t v)
{
#if defined(__GNUC__)
    return __builtin_ctzll(v);
#else
    int k = 0;
    while (!(v & 1)) {
        v >>= 1;
        k++;
    }
    return k;
#endif
}

/* The valid bits of a row's last mask word (cols > 0). */
static uint64_t
last_word_bits(int32_t cols)
{
    int r = cols % 64;
    return r == 0 ? ~(uint64_t)0 : ((uint64_t)1 << r) - 1;
}

/* ---- packing ---------------------------------------------------------- */

void
ec2t__tmat_free(ec2t_context *ctx, ec2t__tmat *t)
{
    if (!t)
        return;
    if (ctx) {
        ec2t__free(ctx, t->prow);
        ec2t__free(ctx, t->nrow);
        ec2t__free(ctx, t->pidx);
        ec2t__free(ctx, t->nidx);
        ec2t__free(ctx, t->pmask);
        ec2t__free(ctx, t->nmask);
    }
    memset(t, 0, sizeof *t);
}

static ec2t_status
check_args(ec2t_context *ctx, const void *a, const void *b, int32_t rows, int32_t cols,
           ec2t__tmat *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!ctx || !out || rows < 0 || cols < 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary matrix: bad arguments");
    if ((int64_t)rows * cols > 0 && (!a || !b))
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary matrix: NULL weights");
    return EC2T_OK;
}

/* Allocate every array of a rows x cols matrix with np (+1) and nn (-1)
 * entries; on failure free what was allocated and leave *t zeroed. */
static ec2t_status
tmat_alloc(ec2t_context *ctx, int32_t rows, int32_t cols, int64_t np, int64_t nn, ec2t__tmat *t)
{
    size_t words, mask_bytes;
    if (np > INT32_MAX || nn > INT32_MAX)
        return ec2t__error(ctx, EC2T_E_INVAL, "ternary matrix: more than 2^31 non-zeros");
    t->rows = rows;
    t->cols = cols;
    t->words = (int32_t)(((int64_t)cols + 63) / 64);
    words = ec2t__mul_size((size_t)rows, (size_t)t->words);
    mask_bytes = ec2t__mul_size(words, sizeof(uint64_t));
    if (words != 0 && mask_bytes == 0) {
        memset(t, 0, sizeof *t);
        return ec2t__nomem(ctx, "ternary matrix masks");
    }
    /* 64-byte alignment: the kernels stream the lists and masks. */
    t->prow = ec2t__alloc(ctx, ((size_t)rows + 1) * sizeof(int32_t), 64);
    t->nrow = ec2t__alloc(ctx, ((size_t)rows + 1) * sizeof(int32_t), 64);
    t->pidx = ec2t__alloc(ctx, (size_t)np * sizeof(int32_t), 64);
    t->nidx = ec2t__alloc(ctx, (size_t)nn * sizeof(int32_t), 64);
    t->pmask = ec2t__alloc(ctx, mask_bytes, 64);
    t->nmask = ec2t__alloc(ctx, mask_bytes, 64);
    if (!t->prow || !t->nrow || !t->pidx || !t->nidx || !t->pmask || !t->nmask) {
        ec2t__tmat_free(ctx, t);
        return ec2t__nomem(ctx, "ternary matrix");
    }
    return EC2T_OK;
}

/* The ascending index lists of one sign from its masks. */
static void
lists_from_masks(const uint64_t *mask, int32_t rows, int32_t words, int32_t *row, int32_t *idx)
{
    int32_t n = 0;
    for (int32_t m = 0; m < rows; m++) {
        const uint64_t *mw = mask + (int64_t)m * words;
        row[m] = n;
        for (int32_t w = 0; w < words; w++)
            for (uint64_t bits = mw[w]; bits; bits &= bits - 1)
                idx[n++] = w * 64 + lowest_bit(bits);
    }
    row[rows] = n;
}

static void
build_lists(ec2t__tmat *t)
{
    lists_from_masks(t->pmask, t->rows, t->words, t->prow, t->pidx);
    lists_from_masks(t->nmask, t->rows, t->words, t->nrow, t->nidx);
}

ec2t_status
ec2t__tmat_from_signs(ec2t_context *ctx, const float *w, int32_t rows, int32_t cols,
                      ec2t__tmat *out)
{
    int64_t np = 0, nn = 0, n = (int64_t)rows * cols;
    ec2t_status st = check_args(ctx, w, w, rows, cols, out);
    if (st != EC2T_OK)
        return st;
    for (int64_t i = 0; i < n; i++) {
        np += w[i] > 0;
        nn += w[i] < 0;
    }
    if ((st = tmat_alloc(ctx, rows, cols, np, nn, out)) != EC2T_OK)
        return st;
    memset(out->pmask, 0, (size_t)rows * (size_t)out->words * sizeof(uint64_t));
    memset(out->nmask, 0, (size_t)rows * (size_t)out->words * sizeof(uint64_t));
    for (int32_t m = 0; m < rows; m++) {
        const float *wr = w + (int64_t)m * cols;
        uint64_t *pw = out->pmask + (int64_t)m * out->words;
        uint64_t *nw = out->nmask + (int64_t)m * out->words;
        for (int32_t k = 0; k < cols; k++) {
            uint64_t bit = (uint64_t)1 << (k % 64);
            if (wr[k] > 0)
                pw[k / 64] |= bit;
            else if (wr[k] < 0)
                nw[k / 64] |= bit;
        }
    }
    build_lists(out);
    return EC2T_OK;
}

/* Count the set bits of both masks; EC2T_E_FORMAT for a bit in both or one
 * beyond cols. Runs before any allocation, so a bad file costs nothing. */
static ec2t_status
check_masks(ec2t_context *ctx, const uint64_t *pmask, const uint64_t *nmask, int32_t rows,
            int32_t cols, int64_t *np, int64_t *nn)
{
    int32_t words = (int32_t)(((int64_t)cols + 63) / 64);
    uint64_t valid = cols > 0 ? last_word_bits(cols) : 0;
    *np = *nn = 0;
    for (int32_t m = 0; m < rows; m++) {
        for (int32_t w = 0; w < words; w++) {
            uint64_t p = pmask[(int64_t)m * words + w], n = nmask[(int64_t)m * words + w];
            if (p & n)
                return ec2t__error(ctx, EC2T_E_FORMAT,
                                   "ternary masks: row %d has a weight both +1 and -1", (int)m);
            if (w == words - 1 && ((p | n) & ~valid))
                return ec2t__error(ctx, EC2T_E_FORMAT,
                                   "ternary masks: row %d has a bit beyond column %d", (int)m,
                                   (int)cols);
            *np += popcount64(p);
            *nn += popcount64(n);
        }
    }
    return EC2T_OK;
}

ec2t_status
ec2t__tmat_from_masks(ec2t_context *ctx, const uint64_t *pmask, const uint64_t *nmask,
                      int32_t rows, int32_t cols, ec2t__tmat *out)
{
    int64_t np, nn;
    size_t bytes;
    ec2t_status st = check_args(ctx, pmask, nmask, rows, cols, out);
    if (st != EC2T_OK)
        return st;
    if ((st = check_masks(ctx, pmask, nmask, rows, cols, &np, &nn)) != EC2T_OK)
        return st;
    if ((st = tmat_alloc(ctx, rows, cols, np, nn, out)) != EC2T_OK)
        return st;
    bytes = (size_t)rows * (size_t)out->words * sizeof(uint64_t);
    if (bytes) {
        memcpy(out->pmask, pmask, bytes);
        memcpy(out->nmask, nmask, bytes);
    }
    build_lists(out);
    return EC2T_OK;
}

/* ---- CPU features ----------------------------------------------------- */

#if X86_DISPATCH
/* CPUID.1:ECX and CPUID.(7,0):EBX bits, and the XCR0 state components. */
#define CPUID1_FMA (1u << 12)
#define CPUID1_POPCNT (1u << 23)
#define CPUID1_OSXSAVE (1u << 27)
#define CPUID1_AVX (1u << 28)
#define CPUID7_AVX2 (1u << 5)
#define CPUID7_AVX512F (1u << 16)
#define CPUID7_AVX512DQ (1u << 17)
#define CPUID7_AVX512BW (1u << 30)
#define CPUID7_AVX512VL (1u << 31)
#define XCR0_SSE_AVX 0x06u    /* XMM and YMM state */
#define XCR0_AVX512 0xe0u     /* opmask, ZMM0-15 upper halves, ZMM16-31 */

static uint64_t
xcr0(void)
{
    uint32_t lo, hi;
    /* the encoding, so that no -mxsave is needed for _xgetbv */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

ec2t__isa
ec2t__isa_detect(void)
{
    unsigned a, b, c, d;
    uint64_t os;
    const unsigned base = CPUID1_OSXSAVE | CPUID1_AVX | CPUID1_FMA | CPUID1_POPCNT;
    const unsigned avx512 = CPUID7_AVX512F | CPUID7_AVX512DQ | CPUID7_AVX512BW | CPUID7_AVX512VL;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return EC2T__ISA_REF;
    /* the CPU has AVX, FMA and POPCNT (the kernels' block counts), and the
     * OS enabled XSAVE (so XGETBV works) */
    if ((c & base) != base)
        return EC2T__ISA_REF;
    os = xcr0();
    if ((os & XCR0_SSE_AVX) != XCR0_SSE_AVX)
        return EC2T__ISA_REF; /* the OS does not save YMM registers */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & CPUID7_AVX2))
        return EC2T__ISA_REF;
    if ((b & avx512) == avx512 && (os & XCR0_AVX512) == XCR0_AVX512)
        return EC2T__ISA_AVX512;
    return EC2T__ISA_AVX2;
}

/* The per-call guard must be cheap, and cpuid is not under a hypervisor (it
 * traps). The compiler runtime (libgcc or compiler-rt) ran cpuid and XGETBV
 * once at start-up for __builtin_cpu_supports; reading its answer keeps this
 * library free of state of its own. __builtin_cpu_init makes the answer
 * valid even if a constructor calls us before the runtime's own ran. */
ec2t__isa
ec2t__isa_usable(ec2t__isa isa)
{
    int want = (int)isa; /* as int: the enum may be unsigned, and -1 must stay below 0 */
    __builtin_cpu_init();
    if (want >= EC2T__ISA_AVX512 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt"))
        return EC2T__ISA_AVX512;
    if (want >= EC2T__ISA_AVX2 && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt"))
        return EC2T__ISA_AVX2;
    return EC2T__ISA_REF;
}
#else
ec2t__isa
ec2t__isa_detect(void)
{
    return EC2T__ISA_REF;
}

ec2t__isa
ec2t__isa_usable(ec2t__isa isa)
{
    (void)isa;
    return EC2T__ISA_REF;
}
#endif

const char *
ec2t__isa_name(ec2t__isa isa)
{
    switch (isa) {
    case EC2T__ISA_REF:
        return "reference";
    case EC2T__ISA_AVX2:
        return "avx2";
    case EC2T__ISA_AVX512:
        return "avx512";
    }
    return "unknown";
}

int
ec2t__isa_supported(ec2t__isa isa)
{
    int want = (int)isa;
    if (want == EC2T__ISA_REF)
        return 1;
    return want > EC2T__ISA_REF && want <= (int)ec2t__isa_detect();
}

/* ---- dispatch --------------------------------------------------------- */

void
ec2t__tmm(ec2t__isa isa, const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
          const float *x, int64_t ldx, int64_t ncols, float *y, int64_t ldy, int relu)
{
    if (t->rows == 0 || ncols <= 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__tmm_avx512(t, ap, an, bias, x, ldx, ncols, y, ldy, relu);
        return;
    case EC2T__ISA_AVX2:
        ec2t__tmm_avx2(t, ap, an, bias, x, ldx, ncols, y, ldy, relu);
        return;
#endif
    default:
        ec2t__tmm_ref(t, ap, an, bias, x, ldx, ncols, y, ldy, relu);
    }
}

void
ec2t__tmv(ec2t__isa isa, const ec2t__tmat *t, const float *ap, const float *an, const float *bias,
          const float *x, float *y, int relu)
{
    if (t->rows == 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__tmv_avx512(t, ap, an, bias, x, y, relu);
        return;
    case EC2T__ISA_AVX2:
        ec2t__tmv_avx2(t, ap, an, bias, x, y, relu);
        return;
#endif
    default:
        ec2t__tmv_ref(t, ap, an, bias, x, y, relu);
    }
}

void
ec2t__tsh(ec2t__isa isa, const ec2t__tshift *s, const float *x, int64_t ncols, float *y,
          int64_t ldy, const float *res)
{
    if (s->rows == 0 || ncols <= 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__tsh_avx512(s, x, ncols, y, ldy, res);
        return;
    case EC2T__ISA_AVX2:
        ec2t__tsh_avx2(s, x, ncols, y, ldy, res);
        return;
#endif
    default:
        ec2t__tsh_ref(s, x, ncols, y, ldy, res);
    }
}

void
ec2t__dsh(ec2t__isa isa, const ec2t__dshift *d, const float *x, int64_t ncols, float *y,
          int64_t ldy, const float *res)
{
    if (d->rows == 0 || ncols <= 0)
        return;
    switch (ec2t__isa_usable(isa)) {
#if X86_DISPATCH
    case EC2T__ISA_AVX512:
        ec2t__dsh_avx512(d, x, ncols, y, ldy, res);
        return;
    case EC2T__ISA_AVX2:
        ec2t__dsh_avx2(d, x, ncols, y, ldy, res);
        return;
#endif
    default:
        ec2t__dsh_ref(d, x, ncols, y, ldy, res);
    }
}
