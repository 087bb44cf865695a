/* SPDX-License-Identifier: MIT */
/* ec2t-demo's results: the side-by-side table and the SVG chart. */
#ifndef EC2T_DEMO_CHART_H
#define EC2T_DEMO_CHART_H

#include <stdio.h>

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

/* The table, compression against rows[0]. */
void demo_print_table(FILE *f, const demo_row *rows, int n);

/* Per-layer sparsity bars and accuracy against size; written atomically.
 * 0 on success. */
int demo_write_svg(const char *path, const demo_row *rows, int n, const demo_layer *layers,
                   int n_layers, double target_sparsity);

#endif /* EC2T_DEMO_CHART_H */
