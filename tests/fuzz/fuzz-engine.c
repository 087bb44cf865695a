/* SPDX-License-Identifier: MIT */
/* libFuzzer target: deployable .ec2t files (doc/FORMAT.md section 13) from
 * memory; a program that loads is run once on zeros, batch 1, unless its
 * workspace or its work is too large for a fuzzer's budget, and once more
 * in int8 when the file holds a calibration (section 13.4) that allows it. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <stdint.h>
#include <stdlib.h>

#include <ec2t/ec2t.h>

#define MAX_WORKSPACE (64u << 20)
#define MAX_FLOATS (INT64_C(1) << 22)
#define MAX_WORK (INT64_C(1) << 26)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t
get(const ec2t_engine *e, ec2t_engine_param p)
{
    int64_t v = 0;
    (void)ec2t_engine_get_int(e, p, &v);
    return v;
}

static void
run_zeros(const ec2t_engine *e)
{
    int64_t in = get(e, EC2T_ENGINE_INPUT_C) * get(e, EC2T_ENGINE_INPUT_H) * get(e, EC2T_ENGINE_INPUT_W);
    int64_t out = get(e, EC2T_ENGINE_OUTPUTS);
    size_t ws_bytes = 0;
    float *x, *y;
    void *ws;
    if (ec2t_engine_workspace_size(e, 1, &ws_bytes) != EC2T_OK || ws_bytes > MAX_WORKSPACE ||
        in > MAX_FLOATS || out > MAX_FLOATS ||
        get(e, EC2T_ENGINE_ADDS) + get(e, EC2T_ENGINE_MULTS) > MAX_WORK)
        return;
    x = calloc((size_t)in, sizeof *x);
    y = malloc((size_t)out * sizeof *y);
    ws = malloc(ws_bytes);
    if (x && y && ws)
        (void)ec2t_engine_run(e, x, (size_t)in, 1, y, (size_t)out, ws, ws_bytes, 0);
    free(x);
    free(y);
    free(ws);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t_engine *e = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    if (ec2t_engine_load_mem(ctx, data, size, 0, &e) == EC2T_OK) {
        run_zeros(e);
        if (ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8) == EC2T_OK)
            run_zeros(e);
        ec2t_engine_free(e);
    }
    ec2t_context_free(ctx);
    return 0;
}
