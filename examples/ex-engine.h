/* SPDX-License-Identifier: MIT */
/* Running a compiled engine from the example programs: workspace, accuracy
 * on a data set, median latency. Public API only. */
#ifndef EC2T_EX_ENGINE_H
#define EC2T_EX_ENGINE_H

#include "ex-common.h"

/* An engine with a workspace and an output buffer for up to `batch` samples. */
typedef struct ex_runner {
    ec2t_engine *e;
    void *ws;
    size_t ws_bytes;
    float *out;
    int64_t outputs, in_size, batch;
} ex_runner;

ec2t_status ex_runner_init(ex_runner *r, ec2t_engine *e, int64_t batch);
void ex_runner_free(ex_runner *r);

/* Run up to r->batch samples, x_count floats at x, into r->out. */
ec2t_status ex_runner_run(ex_runner *r, const float *x, size_t x_count, int64_t count);

/* Top-1 accuracy in [0, 1] of the engine on a whole data set (progress bar).
 * `right`: NULL, or one byte per sample, set to 1 where the top class is the
 * label and 0 elsewhere (for paired comparisons of two models). */
ec2t_status ex_runner_accuracy(ex_runner *r, ec2t_dataset *data, double *accuracy, uint8_t *right);

/* Median seconds of one run of `batch` (at most r->batch) samples of x. */
double ex_runner_latency(ex_runner *r, const float *x, int64_t batch);

/* Deterministic inputs in [-1, 1) for benchmarks: n floats, caller frees. */
float *ex_bench_inputs(int64_t n);

#endif /* EC2T_EX_ENGINE_H */
