/* SPDX-License-Identifier: MIT */
/* Internals of ec2t_report. report.c walks the network (which layers are
 * counted, dead channels, what each layer is followed by); layer-counts.c
 * turns one layer's counts into storage words and ops. doc/METRICS.md states
 * the rules. */
#ifndef EC2T_REPORT_PRIVATE_H
#define EC2T_REPORT_PRIVATE_H

/* the library implements the experimental API too */
#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/experimental.h>

#include "context-private.h"

#define EC2T__REPORT_FORMATS 5

/* One counted (dense or convolution) layer. */
typedef struct ec2t__report_layer {
    int32_t id;          /* in the network */
    int ternary;
    int levels;          /* distinct non-zero values: 0, 1 or 2 */
    double w_p, w_n;     /* ternary layers: +w_p and -w_n, 0 when absent */
    int64_t weights, zeros;
    int64_t dead_out, dead_in;
    int64_t kept, nonzeros; /* after removing dead channels */
    int64_t out_kept;       /* output channels (rows) after removal */
    int64_t fan_in;         /* kept weights per output channel when dense (kernel x kept inputs) */
    int64_t pixels;         /* output pixels per channel (1 for dense layers) */
    int has_bias;           /* own bias or a batchnorm folded into it */
    int32_t relus;          /* ReLUs applied to its output */
    int32_t skips;          /* residual additions its output enters as the branch */

    /* results */
    double sparsity;
    double fmt_words[EC2T__REPORT_FORMATS]; /* indexed by ec2t_report_format */
    ec2t_report_format format;
    double words, bias_words, adds, mults;
} ec2t__report_layer;

struct ec2t_report {
    ec2t_context *ctx;
    uint32_t flags;
    int32_t n_layers;
    ec2t__report_layer *layers;
    double net_sparsity;
    /* batchnorm biases, ReLUs and residual additions that follow no counted layer */
    double extra_bias_words, extra_adds, extra_mults;
};

/* Bits of a stored value and of a multiplication under the report flags. */
int ec2t__report_value_bits(uint32_t flags);
int ec2t__report_mult_bits(uint32_t flags);

/* Bits of the additions of one dot product of vector_length (fractional:
 * the layer's mean kept fan-in) terms in a tree adder that starts at
 * value_bits and widens by one bit per level, up to 32. */
double ec2t__report_tree_bits(double vector_length, int value_bits);

/* Fill sparsity, fmt_words, format, words, bias_words, adds and mults of a
 * layer whose counts and attributions are set. */
void ec2t__report_count_layer(ec2t__report_layer *l, uint32_t flags);

#endif /* EC2T_REPORT_PRIVATE_H */
