/* SPDX-License-Identifier: MIT */
/* The engine's int8 precision: the authors' ResNet-20 checkpoints predict
 * PyTorch's classes, every ISA; int8 needs a calibration and a valid value;
 * a failed calibration keeps the earlier one; runs allocate nothing and do
 * not depend on the thread count; the workspace grows for the quantised
 * variants; signed inputs (a zero point) stay close to float. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container-private.h"
#include "engine-int8-private.h"
#include "engine-io-private.h"
#include "net-private.h"
#include "rng-private.h"
#include "test-common.h"

static const int isas[] = {EC2T_ISA_REFERENCE, EC2T_ISA_AVX2, EC2T_ISA_AVX512};

static int
isa_available(int isa)
{
    return ec2t__isa_supported(isa == EC2T_ISA_AVX512 ? EC2T__ISA_AVX512
                               : isa == EC2T_ISA_AVX2 ? EC2T__ISA_AVX2
                                                      : EC2T__ISA_REF);
}

static void
fill_normal(float *v, int64_t n, uint64_t seed)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = ec2t__rng_normal(&rng);
}

static int
argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static ec2t_net *
authors_resnet(ec2t_context *ctx, const char *name)
{
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    char path[256];
    ec2t_net *net = NULL;
    ck_assert_ok(ec2t_net_build_resnet(ctx, 3, blocks, widths, 3, 32, 32, 10, 0, &net));
    snprintf(path, sizeof path, "resnet20-cifar10/%s.safetensors", name);
    ck_assert_ok(ec2t_net_import_safetensors(net, test_data_path(path), 0));
    return net;
}

/* Calibration inputs: 256 draws of the test inputs' distribution (standard
 * normal pixels), never the test inputs themselves. */
#define N_CAL 256

static void
check_checkpoint(const char *name, const float *cal)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    char path[256];
    ec2t_net *net = authors_resnet(ctx, name);
    ec2t_engine *e = NULL;
    ec2t_tensor *inputs = NULL, *want = NULL;
    float got[80], flt[80];
    int64_t v;
    snprintf(path, sizeof path, "resnet20-cifar10/%s.logits.npy", name);
    ck_assert_ok(ec2t_tensor_load_npy(ctx, test_data_path(path), 0, &want));
    ck_assert_ok(ec2t_tensor_load_npy(ctx, test_data_path("resnet20-cifar10/inputs.npy"), 0, &inputs));
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    test_engine_run(e, ec2t_tensor_data(inputs), 8, flt, 80);
    ck_assert_ok(ec2t_engine_calibrate(e, cal, (size_t)N_CAL * 3072, N_CAL, 0));
    /* calibrating changes neither the precision nor the float results */
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_PRECISION, &v));
    ck_assert_int_eq(v, EC2T_PRECISION_FLOAT);
    test_engine_run(e, ec2t_tensor_data(inputs), 8, got, 80);
    ck_assert_mem_eq(got, flt, sizeof got);
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        float diff = 0;
        if (!isa_available(isas[k]))
            continue;
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ISA, isas[k]));
        test_engine_run(e, ec2t_tensor_data(inputs), 8, got, 80);
        for (int s = 0; s < 8; s++) {
            ck_assert_msg(argmax(got + 10 * s, 10) == argmax(ec2t_tensor_data(want) + 10 * s, 10),
                          "%s isa %d input %d: int8 predicts %d, PyTorch %d", name, isas[k], s,
                          argmax(got + 10 * s, 10), argmax(ec2t_tensor_data(want) + 10 * s, 10));
        }
        for (int i = 0; i < 80; i++)
            diff = fmaxf(diff, fabsf(got[i] - ec2t_tensor_data(want)[i]));
        printf("%s isa %d: int8 logits within %g of PyTorch's\n", name, isas[k], (double)diff);
    }
    ec2t_engine_free(e);
    ec2t_tensor_free(inputs);
    ec2t_tensor_free(want);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}

START_TEST(test_engine_int8_authors_checkpoints_predict_pytorch)
{
    float *cal = malloc((size_t)N_CAL * 3072 * sizeof(float));
    fill_normal(cal, (int64_t)N_CAL * 3072, 2025);
    check_checkpoint("resnet20_ec2t_spars64", cal);
    check_checkpoint("resnet20_ec2t_spars45", cal);
    check_checkpoint("resnet20_ec2t_spars73", cal);
    free(cal);
}
END_TEST

/* A small EC2T-block network (batchnorm before each ternary conv: signed
 * inputs, so zero points) with every conv but the stem ternary, the 1x1
 * stride-2 shortcut too (a row phase no tap reads). */
static ec2t_net *
small_blocks(ec2t_context *ctx)
{
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 16};
    ec2t_net *net = NULL;
    ec2t__rng rng;
    int stem = 1;
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0.0f, 3, 12, 12, 5, 0, &net));
    ck_assert_ok(ec2t_net_init(net, 9));
    ec2t__rng_seed(&rng, 4);
    for (int32_t i = 0; i < net->n_layers; i++) {
        ec2t_layer *l = net->layers[i];
        ec2t_tensor *w = l->param[EC2T_PARAM_WEIGHT];
        if (l->kind != EC2T_LAYER_CONV2D || stem) {
            stem &= l->kind != EC2T_LAYER_CONV2D;
            continue;
        }
        for (int64_t k = 0; k < w->numel; k++) {
            float u = ec2t__rng_uniform(&rng);
            w->data[k] = u < 0.5f ? 0.0f : u < 0.75f ? 0.3f : -0.2f;
        }
    }
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL));
    return net;
}

START_TEST(test_engine_int8_settings_and_errors)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = small_blocks(ctx);
    ec2t_engine *e = NULL;
    float x[4 * 432], bad[432], y1[20], y2[20];
    int64_t v;
    fill_normal(x, 4 * 432, 1);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_TERNARY_LAYERS, &v));
    ck_assert_int_gt(v, 0);
    /* int8 before any calibration, an unknown precision */
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8), EC2T_E_STATE);
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, -1), EC2T_E_INVAL);
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_PRECISION, &v));
    ck_assert_int_eq(v, EC2T_PRECISION_FLOAT);
    /* bad calibration arguments */
    ck_assert_status(ec2t_engine_calibrate(NULL, x, 432, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_calibrate(e, NULL, 432, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_calibrate(e, x, 431, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_calibrate(e, x, 432, 0, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_calibrate(e, x, 432, 1, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8), EC2T_E_STATE);
    /* a good one, then a failing one (an infinite input) that keeps it */
    ck_assert_ok(ec2t_engine_calibrate(e, x, 4 * 432, 4, 0));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
    test_engine_run(e, x, 4, y1, 20);
    memcpy(bad, x, sizeof bad);
    bad[17] = INFINITY;
    ck_assert_status(ec2t_engine_calibrate(e, bad, 432, 1, 0), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "non-finite"));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_PRECISION, &v));
    ck_assert_int_eq(v, EC2T_PRECISION_INT8);
    test_engine_run(e, x, 4, y2, 20);
    ck_assert_mem_eq(y1, y2, sizeof y1);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Signed inputs with a zero point: int8 within a few quantisation steps of
 * float; the workspace grows and an old, smaller one is refused; runs
 * allocate nothing; 1 or 2 threads give the same bits. */
START_TEST(test_engine_int8_close_to_float_and_allocation_free)
{
    enum { B = 16, N = 200 };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = small_blocks(ctx);
    ec2t_engine *e = NULL;
    float *cal = malloc((size_t)N * 432 * sizeof(float)), x[B * 432], yf[B * 5], y8[B * 5], y2[B * 5];
    float range = 0, diff = 0;
    size_t before, after;
    void *ws;
    long calls;
    int64_t keep, keep_team;
    int zeros = 0;
    fill_normal(cal, (int64_t)N * 432, 3);
    fill_normal(x, B * 432, 4);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    test_engine_run(e, x, B, yf, B * 5);
    ck_assert_ok(ec2t_engine_workspace_size(e, B, &before));
    ck_assert_ok(ec2t_engine_calibrate(e, cal, (size_t)N * 432, N, 0));
    for (int32_t i = 0; i < e->n_ops; i++)
        zeros += e->ops[i].q8 && e->ops[i].q8->zero > 0;
    ck_assert_int_gt(zeros, 0); /* the test covers zero points */
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
    ck_assert_ok(ec2t_engine_workspace_size(e, B, &after));
    ck_assert_uint_gt(after, before);
    ws = malloc(after);
    ck_assert_status(ec2t_engine_run(e, x, sizeof x / sizeof x[0], B, y8, B * 5, ws, before, 0),
                     EC2T_E_RANGE);
    calls = ta.calls;
    ck_assert_ok(ec2t_engine_run(e, x, sizeof x / sizeof x[0], B, y8, B * 5, ws, after, 0));
    ck_assert_int_eq(ta.calls, calls);
    for (int i = 0; i < B * 5; i++) {
        range = fmaxf(range, fabsf(yf[i]));
        diff = fmaxf(diff, fabsf(y8[i] - yf[i]));
    }
    printf("int8 blocks: off by %g of %g\n", (double)diff, (double)range);
    ck_assert_float_gt(diff, 0.0f); /* int8 really ran */
    ck_assert_float_le(diff, 0.05f * range);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 2));
    ck_assert_ok(ec2t_engine_run(e, x, sizeof x / sizeof x[0], B, y2, B * 5, ws, after, 0));
    ck_assert_mem_eq(y2, y8, sizeof y8);
    ck_assert_ok(ec2t_engine_run(e, x, 432, 1, y2, 5, ws, after, 0));
    ck_assert_mem_eq(y2, y8, 5 * sizeof(float));
    /* a team that splits every step around the int8 convs: the same bits */
    keep = e->split_min_work, keep_team = e->team_min_work;
    e->split_min_work = e->team_min_work = 0;
    ck_assert_ok(ec2t_engine_run(e, x, 432, 1, y2, 5, ws, after, 0));
    ck_assert_mem_eq(y2, y8, 5 * sizeof(float));
    e->split_min_work = keep;
    e->team_min_work = keep_team;
    /* back to float: the float results again */
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_FLOAT));
    ck_assert_ok(ec2t_engine_run(e, x, sizeof x / sizeof x[0], B, y2, B * 5, ws, after, 0));
    ck_assert_mem_eq(y2, yf, sizeof yf);
    free(ws);
    free(cal);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The quantised variants made straight from the input planes, in two
 * ranges of rows as two tiles of a team make them, equal the float
 * variants quantised, on every stride-1 ternary conv. */
START_TEST(test_engine_int8_direct_lowering)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = small_blocks(ctx);
    ec2t_engine *e = NULL;
    float cal[16 * 432];
    int checked = 0;
    fill_normal(cal, 16 * 432, 8);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    ck_assert_ok(ec2t_engine_calibrate(e, cal, 16 * 432, 16, 0));
    for (int32_t i = 0; i < e->n_ops; i++) {
        const ec2t__eop *op = &e->ops[i];
        const ec2t__value *in;
        int64_t ps, n, need;
        float *x, *col, *flt;
        uint16_t *q, *want;
        if (!op->q8)
            continue;
        in = &e->values[op->in[0]];
        ps = ec2t__plane_stride(in);
        n = (int64_t)op->vrows * op->win.ow;
        need = (op->col_floats + 15) / 16 * 16 + op->col_floats / op->vps * op->q8->vps8;
        x = malloc((size_t)(in->c * ps) * sizeof(float));
        col = calloc((size_t)need, sizeof(float));
        flt = malloc((size_t)n * sizeof(float));
        want = malloc((size_t)n * sizeof(uint16_t));
        fill_normal(x, in->c * ps, (uint64_t)i);
        for (int64_t k = 0; k < in->c * ps; k += 7)
            x[k] = 0.0f; /* exact zeros too */
        if (ec2t__lower_int8(EC2T__ISA_REF, e, op, x, ps, col, 0, op->vrows / 2) &&
            ec2t__lower_int8(EC2T__ISA_REF, e, op, x, ps, col, op->vrows / 2, op->vrows)) {
            q = (uint16_t *)(col + (op->col_floats + 15) / 16 * 16);
            for (int32_t c = 0; c < in->c; c++)
                for (int32_t j = 0; j < op->win.kw; j++) {
                    ec2t__lower_columns(&op->win, x + c * ps, j, 0, op->vrow0, op->vrows, flt);
                    ec2t__quantize8_ref(flt, n, 1.0f / op->q8->scale, op->q8->zero, want);
                    ck_assert_mem_eq(q + ((int64_t)c * op->win.kw + j) * op->q8->vps8, want,
                                     (size_t)n * sizeof(uint16_t));
                }
            checked++;
        } else {
            ck_assert_int_ne(op->win.stride, 1);
        }
        free(x), free(col), free(flt), free(want);
    }
    ck_assert_int_gt(checked, 0);
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The calibration survives a file round trip in both layouts (the same
 * bits in int8 after loading); an uncalibrated file has none. */
START_TEST(test_engine_int8_file_round_trip)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = small_blocks(ctx);
    ec2t_engine *e = NULL, *back = NULL;
    float cal[64 * 432], x[3 * 432], y8[15], got[15];
    int64_t v;
    fill_normal(cal, 64 * 432, 5);
    fill_normal(x, 3 * 432, 6);
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    /* not calibrated: no int8 in the file */
    ck_assert_ok(ec2t_engine_save(e, test_tmpfile(0, "plain.ec2t"), 0));
    ck_assert_ok(ec2t_engine_load(ctx, test_tmpfile(0, "plain.ec2t"), 0, &back));
    ck_assert_status(ec2t_engine_set_int(back, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8), EC2T_E_STATE);
    ec2t_engine_free(back);
    ck_assert_ok(ec2t_engine_calibrate(e, cal, 64 * 432, 64, 0));
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
    test_engine_run(e, x, 3, y8, 15);
    for (int enc = 0; enc < 2; enc++) {
        ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_ENCODING, enc));
        ck_assert_ok(ec2t_engine_save(e, test_tmpfile(1, "int8.ec2t"), 0));
        ck_assert_ok(ec2t_engine_load(ctx, test_tmpfile(1, "int8.ec2t"), 0, &back));
        /* the precision is a setting, not saved: float until asked */
        ck_assert_ok(ec2t_engine_get_int(back, EC2T_ENGINE_PRECISION, &v));
        ck_assert_int_eq(v, EC2T_PRECISION_FLOAT);
        ck_assert_ok(ec2t_engine_set_int(back, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
        test_engine_run(back, x, 3, got, 15);
        ck_assert_msg(memcmp(got, y8, sizeof got) == 0, "encoding %d: int8 results differ", enc);
        ec2t_engine_free(back);
    }
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ec2t.int8.* keys as a file may hold them, read into engine e. */
static ec2t_status
load_keys(ec2t_engine *e, int version_type, uint32_t version, const float *scales, int n_scales,
          const int32_t *zeros, int n_zeros)
{
    ec2t__cwriter *w = NULL;
    ec2t__creader *r = NULL;
    uint8_t *buf = NULL;
    size_t len;
    ec2t_status st;
    ck_assert_ok(ec2t__cw_new(e->ctx, &w));
    if (version_type == 1)
        ck_assert_ok(ec2t__cw_add_u32(w, "ec2t.int8.version", version));
    else if (version_type == 2)
        ck_assert_ok(ec2t__cw_add_str(w, "ec2t.int8.version", "1"));
    if (scales)
        ck_assert_ok(ec2t__cw_add_array(w, "ec2t.int8.scales", EC2T__KV_F32, scales, (uint64_t)n_scales));
    if (zeros)
        ck_assert_ok(ec2t__cw_add_array(w, "ec2t.int8.zeros", EC2T__KV_I32, zeros, (uint64_t)n_zeros));
    ck_assert_ok(ec2t__cw_write_mem(w, &buf, &len));
    ck_assert_ok(ec2t__cr_open_mem(e->ctx, buf, len, "int8 keys", &r));
    st = ec2t__eio_load_int8(e, r);
    ec2t__cr_free(r);
    ec2t__cw_free(w);
    ec2t__free(e->ctx, buf);
    return st;
}

/* Every malformed calibration is refused with EC2T_E_FORMAT and leaves the
 * engine uncalibrated; a calibration version other than 1 is ignored. */
START_TEST(test_engine_int8_file_checks)
{
    enum { MAXOPS = 64 };
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = small_blocks(ctx);
    ec2t_engine *e = NULL;
    float scales[MAXOPS], bad[MAXOPS];
    int32_t zeros[MAXOPS], badz[MAXOPS];
    int32_t n, tern = -1, plain = -1;
    ck_assert_ok(ec2t_engine_compile(net, 0, &e));
    n = e->n_ops;
    ck_assert_int_le(n, MAXOPS);
    for (int32_t i = 0; i < n; i++) {
        int ok = ec2t__q8_eligible(&e->ops[i]);
        scales[i] = ok ? 0.05f : 0.0f;
        zeros[i] = ok ? 7 : 0;
        tern = ok && tern < 0 ? i : tern;
        plain = !ok && plain < 0 ? i : plain;
    }
    ck_assert_int_ge(tern, 0);
    ck_assert_int_ge(plain, 0);
    /* absent, or another version: nothing */
    ck_assert_ok(load_keys(e, 0, 0, scales, n, zeros, n));
    ck_assert_ok(load_keys(e, 1, 2, NULL, 0, NULL, 0));
    ck_assert_status(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8), EC2T_E_STATE);
    /* malformed */
    ck_assert_status(load_keys(e, 2, 0, scales, n, zeros, n), EC2T_E_FORMAT);
    ck_assert_status(load_keys(e, 1, 1, scales, n - 1, zeros, n), EC2T_E_FORMAT);
    ck_assert_status(load_keys(e, 1, 1, scales, n, zeros, n - 1), EC2T_E_FORMAT);
    ck_assert_status(load_keys(e, 1, 1, scales, n, NULL, 0), EC2T_E_FORMAT);
    ck_assert_status(load_keys(e, 1, 1, NULL, 0, zeros, n), EC2T_E_FORMAT);
    {
        const float bad_scales[] = {-0.05f, INFINITY, NAN, 1e-45f /* inverse infinite */};
        for (size_t k = 0; k < sizeof bad_scales / sizeof bad_scales[0]; k++) {
            memcpy(bad, scales, sizeof bad);
            bad[tern] = bad_scales[k];
            ck_assert_status(load_keys(e, 1, 1, bad, n, zeros, n), EC2T_E_FORMAT);
        }
        memcpy(bad, scales, sizeof bad);
        bad[plain] = 0.05f; /* on an operation that cannot run in int8 */
        ck_assert_status(load_keys(e, 1, 1, bad, n, zeros, n), EC2T_E_FORMAT);
        memcpy(badz, zeros, sizeof badz);
        badz[tern] = 256;
        ck_assert_status(load_keys(e, 1, 1, scales, n, badz, n), EC2T_E_FORMAT);
        badz[tern] = -1;
        ck_assert_status(load_keys(e, 1, 1, scales, n, badz, n), EC2T_E_FORMAT);
        memcpy(badz, zeros, sizeof badz);
        badz[plain] = 3; /* a zero point without a scale */
        ck_assert_status(load_keys(e, 1, 1, scales, n, badz, n), EC2T_E_FORMAT);
    }
    for (int32_t i = 0; i < n; i++)
        ck_assert_ptr_null(e->ops[i].q8);
    /* a valid one */
    ck_assert_ok(load_keys(e, 1, 1, scales, n, zeros, n));
    ck_assert_ptr_nonnull(e->ops[tern].q8);
    ck_assert_int_eq(e->ops[tern].q8->zero, 7);
    ck_assert_ok(ec2t_engine_set_int(e, EC2T_ENGINE_PRECISION, EC2T_PRECISION_INT8));
    ec2t_engine_free(e);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("engine-int8");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_engine_int8_authors_checkpoints_predict_pytorch);
    tcase_add_test(tc, test_engine_int8_settings_and_errors);
    tcase_add_test(tc, test_engine_int8_close_to_float_and_allocation_free);
    tcase_add_test(tc, test_engine_int8_direct_lowering);
    tcase_add_test(tc, test_engine_int8_file_round_trip);
    tcase_add_test(tc, test_engine_int8_file_checks);
    suite_add_tcase(s, tc);
    return s;
}
