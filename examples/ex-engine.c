/* SPDX-License-Identifier: MIT */
/* Running a compiled engine from the example programs (see ex-engine.h). */
#include <stdlib.h>

#include "ex-engine.h"

ec2t_status
ex_runner_init(ex_runner *r, ec2t_engine *e, int64_t batch)
{
    int64_t c = 0, h = 0, w = 0;
    ec2t_status st;
    *r = (ex_runner){.e = e, .batch = batch};
    ec2t_engine_get_int(e, EC2T_ENGINE_OUTPUTS, &r->outputs);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_C, &c);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_H, &h);
    ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_W, &w);
    r->in_size = c * h * w;
    if ((st = ec2t_engine_workspace_size(e, batch, &r->ws_bytes)) != EC2T_OK)
        return st;
    r->ws = malloc(r->ws_bytes ? r->ws_bytes : 1);
    r->out = malloc((size_t)(batch * r->outputs) * sizeof(float));
    return r->ws && r->out ? EC2T_OK : EC2T_E_NOMEM;
}

void
ex_runner_free(ex_runner *r)
{
    free(r->ws);
    free(r->out);
    r->ws = NULL, r->out = NULL;
}

ec2t_status
ex_runner_run(ex_runner *r, const float *x, size_t x_count, int64_t count)
{
    return ec2t_engine_run(r->e, x, x_count, count, r->out, (size_t)(r->batch * r->outputs), r->ws,
                           r->ws_bytes, 0);
}

ec2t_status
ex_runner_accuracy(ex_runner *r, ec2t_dataset *data, double *accuracy, uint8_t *right)
{
    int64_t n = ec2t_dataset_size(data), correct = 0;
    float *x = malloc((size_t)(r->batch * r->in_size) * sizeof(float));
    int32_t *y = malloc((size_t)r->batch * sizeof(int32_t));
    ec2t_status st = x && y ? EC2T_OK : EC2T_E_NOMEM;
    ex_progress bar;
    ex_progress_begin(&bar, "engine, test set");
    for (int64_t start = 0; st == EC2T_OK && start < n; start += r->batch) {
        int64_t count = n - start < r->batch ? n - start : r->batch;
        st = ec2t_dataset_get_batch(data, start, count, x, (size_t)(r->batch * r->in_size), y,
                                    (size_t)r->batch, 0);
        if (st == EC2T_OK)
            st = ex_runner_run(r, x, (size_t)(count * r->in_size), count);
        for (int64_t s = 0; st == EC2T_OK && s < count; s++) {
            int64_t best = 0;
            for (int64_t k = 1; k < r->outputs; k++)
                if (r->out[s * r->outputs + k] > r->out[s * r->outputs + best])
                    best = k;
            correct += best == y[s];
            if (right)
                right[start + s] = best == y[s];
        }
        ex_progress_update(&bar, start + count, n, NULL);
    }
    ex_progress_end(&bar);
    *accuracy = n > 0 ? (double)correct / (double)n : 0;
    free(x);
    free(y);
    return st;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double
ex_runner_latency(ex_runner *r, const float *x, int64_t batch)
{
    enum { REPS = 15 };
    double times[REPS];
    int inner = batch == 1 ? 20 : 1; /* batch 1 is short: time several runs together */
    for (int i = 0; i < 3; i++)
        ex_runner_run(r, x, (size_t)(batch * r->in_size), batch);
    for (int i = 0; i < REPS; i++) {
        double t0 = ex_now();
        for (int k = 0; k < inner; k++)
            ex_runner_run(r, x, (size_t)(batch * r->in_size), batch);
        times[i] = (ex_now() - t0) / inner;
    }
    qsort(times, REPS, sizeof times[0], cmp_double);
    return times[REPS / 2];
}

float *
ex_bench_inputs(int64_t n)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; x && i < n; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    return x;
}
