/* SPDX-License-Identifier: MIT */
/* ec2t_engine_calibrate: the scale and zero point of each ternary
 * convolution's input, from the range of the values it sees in float on
 * the caller's samples.
 *
 * The value an operation reads is observed with the engine's own run: the
 * program cut just before that operation, with the value as its output
 * (every value an operation reads is still alive when it runs, so its slot
 * holds it at the cut). Each cut runs the program's prefix again, some
 * n_ternary / 2 whole runs in all: about a second for ResNet-20 on 300
 * images, and no second copy of the run code. */
#include <math.h>
#include <string.h>

#include "count-private.h"
#include "engine-int8-private.h"

/* Samples per run while calibrating: a small workspace, few calls. */
#define CHUNK 32

typedef struct cut_run {
    const float *input;
    int64_t n, in_floats;
    float *out;
    void *ws;
    size_t ws_bytes;
} cut_run;

/* [lo, hi] of value v over every sample, with the program cut before op i;
 * EC2T_E_INVAL for a value that is not finite. The caller restores the
 * program. */
static ec2t_status
value_range(ec2t_engine *e, int32_t i, int32_t v, const cut_run *c, float *lo, float *hi)
{
    const ec2t__value *val = &e->values[v];
    int64_t per = (int64_t)val->c * val->h * val->w;
    ec2t_status st = EC2T_OK;
    e->n_ops = i;
    e->output = v;
    *lo = *hi = 0.0f; /* the range holds 0: zero padding is exact */
    for (int64_t s0 = 0; s0 < c->n && st == EC2T_OK; s0 += CHUNK) {
        int64_t b = c->n - s0 < CHUNK ? c->n - s0 : CHUNK;
        st = ec2t_engine_run(e, c->input + s0 * c->in_floats, (size_t)(b * c->in_floats), b,
                             c->out, (size_t)(CHUNK * per), c->ws, c->ws_bytes, 0);
        for (int64_t k = 0; k < b * per && st == EC2T_OK; k++) {
            float x = c->out[k];
            if (!isfinite(x))
                st = ec2t__error(e->ctx, EC2T_E_INVAL,
                                 "ec2t_engine_calibrate: sample %lld gives a non-finite input to "
                                 "operation %d", (long long)(s0 + k / per), (int)i);
            *lo = x < *lo ? x : *lo;
            *hi = x > *hi ? x : *hi;
        }
    }
    return st;
}

/* Scale and zero point of 8 bits over [lo, hi] (lo <= 0 <= hi). */
static void
choose(float lo, float hi, float *scale, int32_t *zero)
{
    double s = ((double)hi - lo) / 255.0;
    long z;
    if (!(s > 1e-30)) { /* only zeros: any scale is exact */
        *scale = 1.0f;
        *zero = 0;
        return;
    }
    z = lrint(-lo / s);
    *zero = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
    *scale = (float)s;
}

/* Every eligible operation's new form into q[i] (n_ops: the whole
 * program's; each cut shortens e->n_ops), or a failure with q's entries
 * destroyed by the caller. */
static ec2t_status
calibrate_ops(ec2t_engine *e, int32_t n_ops, const cut_run *c, ec2t__q8 **q)
{
    ec2t_status st = EC2T_OK;
    for (int32_t i = 0; i < n_ops && st == EC2T_OK; i++) {
        const ec2t__eop *op = &e->ops[i];
        float lo, hi, scale;
        int32_t zero;
        if (!ec2t__q8_eligible(op))
            continue;
        st = value_range(e, i, op->in[0], c, &lo, &hi);
        if (st != EC2T_OK)
            break;
        choose(lo, hi, &scale, &zero);
        st = ec2t__q8_new(e, op, scale, zero, &q[i]);
    }
    return st;
}

EC2T_API ec2t_status
ec2t_engine_calibrate(ec2t_engine *e, const float *input, size_t input_count, int64_t n,
                      uint32_t flags)
{
    const ec2t__value *in;
    int32_t n_ops, output;
    int64_t precision, biggest = 1;
    ec2t__q8 **q = NULL;
    cut_run c;
    ec2t_status st;
    if (!e)
        return EC2T_E_INVAL;
    if (!input || flags != 0 || n < 1 || n > (INT64_C(1) << 24))
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_calibrate: bad argument");
    in = &e->values[0];
    if ((st = ec2t__check_input_count(e->ctx, "ec2t_engine_calibrate", input_count, n, in->c,
                                      in->h, in->w)) != EC2T_OK)
        return st;
    for (int32_t v = 0; v < e->n_values; v++) {
        int64_t per = (int64_t)e->values[v].c * e->values[v].h * e->values[v].w;
        biggest = per > biggest ? per : biggest;
    }
    memset(&c, 0, sizeof c);
    c.input = input;
    c.n = n;
    c.in_floats = (int64_t)in->c * in->h * in->w;
    if ((st = ec2t_engine_workspace_size(e, CHUNK, &c.ws_bytes)) != EC2T_OK)
        return st;
    c.ws = ec2t__alloc(e->ctx, c.ws_bytes, 64);
    c.out = ec2t__alloc(e->ctx, (size_t)(CHUNK * biggest) * sizeof(float), 64);
    q = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *q);
    if (!c.ws || !c.out || !q) {
        st = ec2t__nomem(e->ctx, "calibration");
        goto done;
    }
    n_ops = e->n_ops;
    output = e->output;
    precision = e->precision;
    e->precision = EC2T_PRECISION_FLOAT;
    st = calibrate_ops(e, n_ops, &c, q);
    e->n_ops = n_ops;
    e->output = output;
    e->precision = precision;
    for (int32_t i = 0; i < e->n_ops; i++) {
        if (st == EC2T_OK && q[i]) {
            ec2t__q8_free(e->ctx, &e->ops[i]);
            e->ops[i].q8 = q[i];
        } else {
            ec2t__q8_destroy(e->ctx, q[i]);
        }
    }
done:
    ec2t__free(e->ctx, c.ws);
    ec2t__free(e->ctx, c.out);
    ec2t__free(e->ctx, q);
    return st;
}
