/* SPDX-License-Identifier: MIT */
/* ec2t-demo's results: the counts of each model, the side-by-side table,
 * the 'key: value' lines and the SVG chart. */
#ifndef EC2T_DEMO_REPORT_H
#define EC2T_DEMO_REPORT_H

#include <stdio.h>

#include <ec2t/ec2t.h>

/* One model of the comparison; negative numbers are "not applicable". */
typedef struct demo_row {
    const char *name;
    double accuracy;      /* test accuracy in [0, 1] */
    long long file_bytes; /* its file: .ec2tm for float models, .ec2t for the ternary one */
    long long params;     /* trained weights and biases */
    double sparsity;      /* zeros among the ternarized weights */
    long long adds, mults;
    double latency_ms;    /* engine, batch 1 */
} demo_row;

/* One counted layer of the ternary network. */
typedef struct demo_layer {
    char name[64];
    double sparsity; /* zeros among its weights */
    int ternary;     /* 1 if ternarized, 0 if kept in float */
} demo_layer;

/* A float model's row: its counts, its file's size, its test accuracy in the
 * library and the latency of its compiled engine. */
ec2t_status demo_measure_float(ec2t_net *net, ec2t_dataset *test, const char *path,
                               demo_row *row);

/* The deployed model's row: test accuracy and latency of the engine loaded
 * from `path`, and the counts of `net`, the network it was compiled from,
 * with one entry per layer in a new array (caller frees). */
ec2t_status demo_measure_engine(ec2t_engine *e, const char *path, const ec2t_net *net,
                                ec2t_dataset *test, demo_row *row, demo_layer **layers,
                                int *n_layers);

/* The table of the three models (small, super, ternary), compression
 * against rows[0], and a note on what the columns count. */
void demo_print_table(FILE *f, const demo_row rows[3], long long n_test);

/* The 'key: value' lines of the three models and their comparison:
 * sparsity, compression, accuracy_gain and accuracy_stderr. */
void demo_print_keys(FILE *f, const demo_row rows[3], long long n_test);

/* Per-layer sparsity bars and accuracy against size; written atomically.
 * 0 on success. */
int demo_write_svg(const char *path, const demo_row *rows, int n, const demo_layer *layers,
                   int n_layers, double target_sparsity);

#endif /* EC2T_DEMO_REPORT_H */
