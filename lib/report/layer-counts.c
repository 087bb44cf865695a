/* SPDX-License-Identifier: MIT */
/* ec2t_report: one layer's storage formats and operation counts.
 *
 * The arithmetic follows the EC2T authors' scoring script step by step, in
 * IEEE double and in the same order, because the published figures depend
 * on it: the script works with the layer's density 1 - (1 - nnz / n), whose
 * rounding can put the mean fan-in a hair above an integer, and its tree
 * adder then counts one more level (ResNet-20 spars73, layer1.1.conv2, is
 * such a case and moves the total from 6.12 M to 6.13 M adds). */
#include <math.h>

#include "report-private.h"

/* An addition of the accumulator (32 bits) is one op. */
#define EC2T__OP_BITS 32

int
ec2t__report_value_bits(uint32_t flags)
{
    return (flags & EC2T_REPORT_STORE_32BIT) ? 32 : 16;
}

int
ec2t__report_mult_bits(uint32_t flags)
{
    return (flags & EC2T_REPORT_MULT_32BIT) ? 32 : 16;
}

double
ec2t__report_tree_bits(double vector_length, int value_bits)
{
    /* nne additions remain; each level does half of them (rounded down) at
     * `base` bits and leaves the rounded-up half for the next level. Like the
     * script, the loop stops at one remaining addition without counting it. */
    double nne = vector_length - 1, bits = 0;
    int base = value_bits;
    while (nne > 1) {
        bits += floor(nne / 2) * base;
        nne = ceil(nne / 2);
        if (++base > 32)
            base = 32;
    }
    return bits;
}

static double
ceil_words(int64_t bits)
{
    return (double)((bits + EC2T__OP_BITS - 1) / EC2T__OP_BITS);
}

/* Words of every format; sparsity and density as the script computes them. */
static void
formats(ec2t__report_layer *l, int nb, double density)
{
    int64_t n = l->kept, nnz = l->nonzeros, rows = l->out_kept;
    double values = (double)n * density; /* the script's "param_count", nnz up to rounding */
    double mask = l->sparsity > 0 ? (double)n : 0;
    l->fmt_words[EC2T_REPORT_FORMAT_MICRONET] = values * nb / 32.0 + mask / 32.0;
    l->fmt_words[EC2T_REPORT_FORMAT_CSR] = ceil_words(nnz * (nb + 1) + (rows + 1) * nb + 2 * nb);
    l->fmt_words[EC2T_REPORT_FORMAT_CER] = ceil_words(nnz * nb + 2 * (rows + 1) * nb + 2 * nb);
    l->fmt_words[EC2T_REPORT_FORMAT_TERNARY_1] = ceil_words(2 * n + 2 * nb);
    l->fmt_words[EC2T_REPORT_FORMAT_TERNARY_2] = ceil(((double)n + values + 2 * nb) / 32.0);
}

/* The smallest candidate, the first one on ties (the script's argmin). */
static void
choose_format(ec2t__report_layer *l, uint32_t flags)
{
    static const ec2t_report_format all[] = {
        EC2T_REPORT_FORMAT_MICRONET, EC2T_REPORT_FORMAT_CSR, EC2T_REPORT_FORMAT_CER,
        EC2T_REPORT_FORMAT_TERNARY_1, EC2T_REPORT_FORMAT_TERNARY_2};
    l->format = EC2T_REPORT_FORMAT_MICRONET;
    if (!l->ternary)
        return; /* full-precision layers are stored the MicroNet way only */
    for (int f = 1; f < EC2T__REPORT_FORMATS; f++) {
        int candidate = all[f] == EC2T_REPORT_FORMAT_TERNARY_1 ||
                        (flags & EC2T_REPORT_COMPRESSED_FORMATS);
        if (candidate && l->fmt_words[all[f]] < l->fmt_words[l->format])
            l->format = all[f];
    }
}

/* Operations of the dot products themselves. */
static void
conv_ops(const ec2t__report_layer *l, uint32_t flags, int nb, double density, double *adds,
         double *mults)
{
    double outputs = (double)l->out_kept * (double)l->pixels;
    double vl = (double)l->fan_in * density; /* mean non-zeros per dot product */
    /* fewer than one non-zero per output on average: no additions, never negative ones */
    double plain_adds = vl > 1 ? (vl - 1) * outputs : 0;
    if (!l->ternary) {
        *mults = vl * outputs;
        *adds = plain_adds;
        return;
    }
    /* accumulate under the n- and p-masks, then one multiply by each centroid */
    *mults = (double)((flags & EC2T_REPORT_COMPAT_SCRIPT) ? 2 : l->levels) * outputs;
    if (flags & EC2T_REPORT_TREE_ADDER)
        *adds = ec2t__report_tree_bits(vl, nb) * (double)l->out_kept * (double)l->pixels /
                EC2T__OP_BITS;
    else
        *adds = plain_adds;
}

void
ec2t__report_count_layer(ec2t__report_layer *l, uint32_t flags)
{
    int nb = ec2t__report_value_bits(flags), mb = ec2t__report_mult_bits(flags);
    double outputs = (double)l->out_kept * (double)l->pixels, density, adds, mults;
    /* nothing kept (every output channel dead): all removed, nothing to count */
    l->sparsity = l->kept > 0 ? 1.0 - (double)l->nonzeros / (double)l->kept : 1.0;
    density = 1.0 - l->sparsity;
    formats(l, nb, density);
    choose_format(l, flags);
    l->words = l->fmt_words[l->format];
    l->bias_words = l->has_bias ? (double)l->out_kept * nb / 32.0 : 0;
    conv_ops(l, flags, nb, density, &adds, &mults);
    /* a ReLU is one multiplication per output (MicroNet rule); a bias and a
     * residual addition one 32-bit addition per output */
    l->mults = (mults + l->relus * outputs) * mb / 32.0;
    l->adds = adds + (l->has_bias ? outputs : 0) + l->skips * outputs;
}
