/* SPDX-License-Identifier: MIT */
/* ec2t_engine: finishing a program (slots, packing), settings, metadata,
 * shape inference and operation counts. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "engine-private.h"
#include "engine-int8-private.h"

static const char *const op_names[] = {
    [EC2T__OP_CONV] = "conv",       [EC2T__OP_DENSE] = "dense",     [EC2T__OP_AFFINE] = "affine",
    [EC2T__OP_RELU] = "relu",       [EC2T__OP_MAXPOOL] = "maxpool", [EC2T__OP_AVGPOOL] = "avgpool",
    [EC2T__OP_GAP] = "gap",         [EC2T__OP_FLATTEN] = "flatten", [EC2T__OP_ADD] = "add",
};

const char *
ec2t__opkind_name(int kind)
{
    return kind >= EC2T__OP_CONV && kind <= EC2T__OP_LAST ? op_names[kind] : NULL;
}

void
ec2t__eop_free(ec2t_context *ctx, ec2t__eop *op)
{
    ec2t__free(ctx, op->weight);
    ec2t__free(ctx, op->scale);
    ec2t__free(ctx, op->bias);
    ec2t__free(ctx, op->ap);
    ec2t__free(ctx, op->an);
    ec2t__free(ctx, op->dense);
    ec2t__free(ctx, op->doff);
    ec2t__free(ctx, op->poff);
    ec2t__free(ctx, op->noff);
    ec2t__tmat_free(ctx, &op->tm);
    ec2t__q8_free(ctx, op);
}

EC2T_API void
ec2t_engine_free(ec2t_engine *e)
{
    if (!e)
        return;
    for (int32_t i = 0; i < e->n_ops; i++)
        ec2t__eop_free(e->ctx, &e->ops[i]);
    for (int32_t i = 0; i < e->n_meta; i++) {
        ec2t__free(e->ctx, e->meta[i].key);
        ec2t__free(e->ctx, e->meta[i].value);
    }
    ec2t__free(e->ctx, e->meta);
    ec2t__free(e->ctx, e->ops);
    ec2t__free(e->ctx, e->values);
    ec2t__free(e->ctx, e);
}

/* Output positions of a window sweep; 0 (invalid) when the padded input is
 * shorter than the window or longer than an int32_t can index. */
int32_t
ec2t__eop_swept(int32_t in, int32_t k, int32_t stride, int32_t pad)
{
    int64_t padded = (int64_t)in + 2 * (int64_t)pad, span = padded - k;
    return span < 0 || padded > INT32_MAX ? 0 : (int32_t)(span / stride + 1);
}

/* Check an operation against its inputs and give its output shape. The
 * loader relies on this to reject every inconsistent file. */
ec2t_status
ec2t__eop_infer(ec2t_engine *e, const ec2t__eop *op, ec2t__value *out)
{
    const ec2t__value *a = &e->values[op->in[0]];
    const ec2t__window *g = &op->win;
    ec2t_context *ctx = e->ctx;
    switch (op->kind) {
    case EC2T__OP_CONV:
        if (op->groups < 1 || a->c % op->groups || op->m % op->groups || g->kh < 1 || g->kw < 1 ||
            g->stride < 1 || g->pad < 0 || g->h != a->h || g->w != a->w ||
            (int64_t)g->kh * g->kw > INT32_MAX ||
            op->k != (int64_t)(a->c / op->groups) * g->kh * g->kw ||
            g->oh != ec2t__eop_swept(a->h, g->kh, g->stride, g->pad) ||
            g->ow != ec2t__eop_swept(a->w, g->kw, g->stride, g->pad) || g->oh < 1 || g->ow < 1)
            break;
        *out = (ec2t__value){op->m, g->oh, g->ow, -1};
        return EC2T_OK;
    case EC2T__OP_DENSE:
        if (a->h != 1 || a->w != 1 || op->k != a->c)
            break;
        *out = (ec2t__value){op->m, 1, 1, -1};
        return EC2T_OK;
    case EC2T__OP_AFFINE:
    case EC2T__OP_RELU: *out = (ec2t__value){a->c, a->h, a->w, -1}; return EC2T_OK;
    case EC2T__OP_MAXPOOL:
    case EC2T__OP_AVGPOOL:
        if (g->kh < 1 || g->kh != g->kw || g->stride < 1 || g->pad < 0 || g->pad > g->kh / 2 ||
            g->h != a->h || g->w != a->w || g->oh != ec2t__eop_swept(a->h, g->kh, g->stride, g->pad) ||
            g->ow != ec2t__eop_swept(a->w, g->kw, g->stride, g->pad) || g->oh < 1 || g->ow < 1)
            break;
        *out = (ec2t__value){a->c, g->oh, g->ow, -1};
        return EC2T_OK;
    case EC2T__OP_GAP: *out = (ec2t__value){a->c, 1, 1, -1}; return EC2T_OK;
    case EC2T__OP_FLATTEN:
        if ((int64_t)a->c * a->h * a->w > (1 << 24))
            break;
        *out = (ec2t__value){a->c * a->h * a->w, 1, 1, -1};
        return EC2T_OK;
    case EC2T__OP_ADD: {
        const ec2t__value *s = &e->values[op->in[1]];
        int same = s->c == a->c && s->h == a->h && s->w == a->w && op->stride == 1;
        int option_a = op->stride >= 1 && s->c <= a->c && s->h == (int64_t)a->h * op->stride &&
                       s->w == (int64_t)a->w * op->stride;
        if (op->n_in != 2 || !(same || option_a) || g->h != s->h || g->w != s->w)
            break;
        *out = (ec2t__value){a->c, a->h, a->w, -1};
        return EC2T_OK;
    }
    }
    return ec2t__error(ctx, EC2T_E_INVAL, "engine: operation %s does not fit its input %dx%dx%d",
                       ec2t__opkind_name(op->kind) ? ec2t__opkind_name(op->kind) : "?", (int)a->c,
                       (int)a->h, (int)a->w);
}

/* ---- slots ---- */

static int
in_place_capable(ec2t__opkind kind)
{
    return kind == EC2T__OP_AFFINE || kind == EC2T__OP_RELU || kind == EC2T__OP_ADD;
}

/* The slot of a step's output: the first input's when the operation can
 * write over it and it dies there, else a free or new slot. */
static int32_t
out_slot(ec2t_engine *e, const ec2t__eop *op, const int32_t *last, int32_t i, int32_t *free_list,
         int32_t *n_free)
{
    if (!op->fuse && in_place_capable(op->kind) && last[op->in[0]] == i && op->in[0] != e->output &&
        (op->n_in < 2 || op->in[1] != op->in[0]))
        return e->values[op->in[0]].slot; /* the input dies here: overwrite it */
    return *n_free ? free_list[--*n_free] : e->n_slots++;
}

/* Free the slots of the values a step (ops [i, end]) reads for the last
 * time; `skip` is a value the step makes and consumes itself (a fused
 * conv's own output), `keep` the step's output slot. */
static void
release_inputs(ec2t_engine *e, int32_t i, int32_t end, const int32_t *last, int32_t skip,
               int32_t keep, int32_t *free_list, int32_t *n_free)
{
    int32_t seen[4], n_seen = 0;
    for (int32_t o = i; o <= end; o++)
        for (int32_t k = 0; k < e->ops[o].n_in; k++) {
            int32_t v = e->ops[o].in[k], dup = 0;
            for (int32_t q = 0; q < n_seen; q++)
                dup |= seen[q] == v;
            if (dup || v == skip)
                continue;
            seen[n_seen++] = v;
            if (last[v] <= end && e->values[v].slot != keep)
                free_list[(*n_free)++] = e->values[v].slot;
        }
}

/* Give every value a slot: a value lives from the operation that writes it to
 * its last reader; element-wise operations write over their first input when
 * that input dies there. A conv with a fused residual add (op->fuse) and the
 * add are one step that writes the add's output: the conv's own output never
 * exists and shares that slot. A slot holds a value of one sample. */
static ec2t_status
plan_slots(ec2t_engine *e)
{
    int32_t *last = ec2t__calloc(e->ctx, (size_t)e->n_values, sizeof *last);
    int32_t *free_list = ec2t__calloc(e->ctx, (size_t)e->n_values + 1, sizeof *free_list);
    int32_t n_free = 0;
    int64_t biggest = 1;
    if (!last || !free_list) {
        ec2t__free(e->ctx, last);
        ec2t__free(e->ctx, free_list);
        return ec2t__nomem(e->ctx, "engine plan");
    }
    for (int32_t v = 0; v < e->n_values; v++) {
        int64_t size = e->values[v].c * ec2t__plane_stride(&e->values[v]);
        biggest = size > biggest ? size : biggest;
        last[v] = v == e->output ? e->n_ops : -1;
        e->values[v].slot = -1;
    }
    for (int32_t i = 0; i < e->n_ops; i++)
        for (int32_t k = 0; k < e->ops[i].n_in; k++)
            if (last[e->ops[i].in[k]] < i)
                last[e->ops[i].in[k]] = i;
    e->n_slots = 0;
    e->values[0].slot = e->n_slots++;
    for (int32_t i = 0; i < e->n_ops; i++) {
        ec2t__eop *op = &e->ops[i];
        int32_t end = op->fuse ? i + 1 : i;
        int32_t slot = out_slot(e, op, last, i, free_list, &n_free);
        e->values[op->out].slot = slot;
        e->values[e->ops[end].out].slot = slot;
        release_inputs(e, i, end, last, op->fuse ? op->out : -1, slot, free_list, &n_free);
        i = end;
    }
    e->slot_floats = (biggest + 15) / 16 * 16; /* every slot 64-byte aligned */
    ec2t__free(e->ctx, last);
    ec2t__free(e->ctx, free_list);
    return EC2T_OK;
}

/* ---- ternary packing ---- */

static ec2t_status
finish_weighted(ec2t_engine *e, ec2t__eop *op)
{
    ec2t_context *ctx = e->ctx;
    ec2t_status st;
    if (!op->ternary) {
        /* float path: fold the scale into the rows */
        if (op->scale) {
            for (int32_t m = 0; m < op->m; m++)
                for (int32_t k = 0; k < op->k; k++)
                    op->weight[(int64_t)m * op->k + k] *= op->scale[m];
            ec2t__free(ctx, op->scale);
            op->scale = NULL;
        }
        return EC2T_OK;
    }
    if (op->weight) {
        st = ec2t__tmat_from_signs(ctx, op->weight, op->m, op->k, &op->tm);
        if (st != EC2T_OK)
            return st;
        ec2t__free(ctx, op->weight);
        op->weight = NULL;
    }
    op->ap = ec2t__alloc(ctx, (size_t)op->m * sizeof(float), 64);
    op->an = ec2t__alloc(ctx, (size_t)op->m * sizeof(float), 64);
    if (!op->ap || !op->an)
        return ec2t__nomem(ctx, "engine weights");
    for (int32_t m = 0; m < op->m; m++) {
        float s = op->scale ? op->scale[m] : 1.0f;
        op->ap[m] = s * op->wp;
        op->an[m] = s * op->wn;
    }
    return EC2T_OK;
}

/* The float rows of a ternary op that runs faster on the dense kernels
 * (few zeros); the others keep only their packed form, 2 bits or less per
 * weight instead of 32. */
static ec2t_status
expand_dense(ec2t_engine *e, ec2t__eop *op)
{
    int64_t n = (int64_t)op->m * op->k;
    op->dense = ec2t__alloc(e->ctx, (size_t)n * sizeof(float), 64);
    if (!op->dense)
        return ec2t__nomem(e->ctx, "engine weights");
    memset(op->dense, 0, (size_t)n * sizeof(float));
    for (int32_t m = 0; m < op->m; m++) {
        for (int32_t j = op->tm.prow[m]; j < op->tm.prow[m + 1]; j++)
            op->dense[(int64_t)m * op->k + op->tm.pidx[j]] = op->ap[m];
        for (int32_t j = op->tm.nrow[m]; j < op->tm.nrow[m + 1]; j++)
            op->dense[(int64_t)m * op->k + op->tm.nidx[j]] = -op->an[m];
    }
    return EC2T_OK;
}

ec2t_status
ec2t__engine_finish(ec2t_engine *e)
{
    ec2t_status st = EC2T_OK;
    size_t ws;
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++)
        if (e->ops[i].kind == EC2T__OP_CONV || e->ops[i].kind == EC2T__OP_DENSE)
            st = finish_weighted(e, &e->ops[i]);
    if (st == EC2T_OK)
        st = ec2t__engine_plan_run(e);
    if (st == EC2T_OK)
        st = plan_slots(e);
    /* A program of a few hundred bytes can describe activations of
     * gigabytes: its workspace for one sample must fit EC2T_CTX_LOAD_LIMIT
     * (the message says how much and the limit) before anything more is
     * allocated for it. */
    if (st == EC2T_OK)
        st = ec2t_engine_workspace_size(e, 1, &ws);
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++)
        if (e->ops[i].prefer_dense)
            st = expand_dense(e, &e->ops[i]);
    return st;
}

/* ---- settings (core/settings.c) ---- */

ec2t__isa
ec2t__engine_isa(const ec2t_engine *e)
{
    /* ec2t__isa_usable is the cheap check (cpuid traps to the hypervisor in
     * virtual machines, some 13 us, too slow for every run) */
    ec2t__isa want = e->isa == EC2T_ISA_REFERENCE ? EC2T__ISA_REF
                     : e->isa == EC2T_ISA_AVX2    ? EC2T__ISA_AVX2
                                                  : EC2T__ISA_AVX512;
    return ec2t__isa_usable(want);
}

static ec2t_context *
engine_ctx(const void *obj)
{
    return ((const ec2t_engine *)obj)->ctx;
}

static ec2t_status
check_engine(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    (void)d;
    if (s->id == EC2T_ENGINE_FLOAT_BITS && i != 16 && i != 32)
        return ec2t__error(engine_ctx(obj), EC2T_E_INVAL,
                           "ec2t_engine_set_int: %s = %lld is neither 16 nor 32",
                           s->name, (long long)i);
    return EC2T_OK;
}

static ec2t_status
apply_engine(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    (void)d;
    return s->id == EC2T_ENGINE_PRECISION ? ec2t__engine_set_precision(obj, i) : EC2T_OK;
}

/* The read-only figures of the compiled program, and the precision. */
static void
compute_engine(const void *obj, const ec2t__setting *s, int64_t *value, double *d)
{
    const ec2t_engine *e = obj;
    int64_t v = 0, adds, mults;
    (void)d;
    switch ((int)s->id) { /* int: the precision's key is outside the enum */
    case EC2T_ENGINE_OPS: v = e->n_ops; break;
    case EC2T_ENGINE_TERNARY_LAYERS:
        for (int32_t i = 0; i < e->n_ops; i++)
            v += e->ops[i].ternary;
        break;
    case EC2T_ENGINE_INPUT_C: v = e->values[0].c; break;
    case EC2T_ENGINE_INPUT_H: v = e->values[0].h; break;
    case EC2T_ENGINE_INPUT_W: v = e->values[0].w; break;
    case EC2T_ENGINE_OUTPUTS:
        v = (int64_t)e->values[e->output].c * e->values[e->output].h * e->values[e->output].w;
        break;
    case EC2T_ENGINE_DEAD_CHANNELS: v = e->dead_channels; break;
    case EC2T_ENGINE_ACTIVE_ISA: {
        ec2t__isa isa = ec2t__engine_isa(e);
        v = isa == EC2T__ISA_AVX512 ? EC2T_ISA_AVX512
            : isa == EC2T__ISA_AVX2 ? EC2T_ISA_AVX2
                                    : EC2T_ISA_REFERENCE;
        break;
    }
    case EC2T_ENGINE_ADDS:
    case EC2T_ENGINE_MULTS:
        ec2t__engine_count_ops(e, &adds, &mults);
        v = s->id == EC2T_ENGINE_ADDS ? adds : mults;
        break;
    case (int)EC2T_ENGINE_PRECISION: v = e->precision; break;
    default: break;
    }
    *value = v;
}

static const ec2t__setting engine_rows[] = {
    EC2T__INT_AT(EC2T_ENGINE_ISA, ec2t_engine, isa, EC2T__AT_I64, EC2T_ISA_AUTO, EC2T_ISA_AVX512),
    EC2T__INT_AT(EC2T_ENGINE_ENCODING, ec2t_engine, encoding, EC2T__AT_I64, EC2T_ENCODING_RAW,
                 EC2T_ENCODING_ENTROPY),
    EC2T__INT_AT(EC2T_ENGINE_DENSE_FALLBACK, ec2t_engine, dense_fallback, EC2T__AT_I64, 0, 1),
    EC2T__INT_AT(EC2T_ENGINE_FLOAT_BITS, ec2t_engine, float_bits, EC2T__AT_I64, 16, 32),
    EC2T__INT_HOOKED(EC2T_ENGINE_OPS, 1, 0, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_TERNARY_LAYERS, 1, 0, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_INPUT_C, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_INPUT_H, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_INPUT_W, 1, 1, INT32_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_OUTPUTS, 1, 1, INT64_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_DEAD_CHANNELS, 1, 0, INT64_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_ACTIVE_ISA, 1, EC2T_ISA_REFERENCE, EC2T_ISA_AVX512),
    EC2T__INT_HOOKED(EC2T_ENGINE_ADDS, 1, 0, INT64_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_MULTS, 1, 0, INT64_MAX),
    EC2T__INT_HOOKED(EC2T_ENGINE_PRECISION, 0, EC2T_PRECISION_FLOAT, EC2T_PRECISION_INT8),
};

const ec2t__settings ec2t__engine_settings = {
    EC2T__SETTINGS_ROWS("engine", engine_rows, EC2T_E_INVAL),
    .ctx_of = engine_ctx,
    .check = check_engine,
    .apply = apply_engine,
    .compute = compute_engine,
};

EC2T_API ec2t_status
ec2t_engine_set_int(ec2t_engine *e, ec2t_engine_param param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__engine_settings, e, param, value, "ec2t_engine_set_int");
}

EC2T_API ec2t_status
ec2t_engine_get_int(const ec2t_engine *e, ec2t_engine_param param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__engine_settings, e, param, value, "ec2t_engine_get_int");
}

EC2T_API ec2t_status
ec2t_engine_param_bounds(ec2t_engine_param param, int64_t *lo, int64_t *hi)
{
    return ec2t__settings_bounds_int(&ec2t__engine_settings, param, lo, hi);
}

/* ---- metadata ---- */

static int
valid_key(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)key[i]) || isdigit((unsigned char)key[i]) || key[i] == '_' ||
              key[i] == '.'))
            return 0;
    return 1;
}

static char *
dup_str(ec2t_context *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ec2t__alloc(ctx, n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

EC2T_API ec2t_status
ec2t_engine_set_meta(ec2t_engine *e, const char *key, const char *value)
{
    ec2t__meta *grown;
    char *k, *v;
    if (!e)
        return EC2T_E_INVAL;
    if (!key || !value || !valid_key(key) || strlen(value) > 4096)
        return ec2t__error(e->ctx, EC2T_E_INVAL,
                           "ec2t_engine_set_meta: the key must be 1-63 of [a-z0-9_.], the value at most 4096 bytes");
    v = dup_str(e->ctx, value);
    if (!v)
        return ec2t__nomem(e->ctx, "metadata");
    for (int32_t i = 0; i < e->n_meta; i++)
        if (strcmp(e->meta[i].key, key) == 0) {
            ec2t__free(e->ctx, e->meta[i].value);
            e->meta[i].value = v;
            return EC2T_OK;
        }
    k = dup_str(e->ctx, key);
    grown = ec2t__calloc(e->ctx, (size_t)e->n_meta + 1, sizeof *grown);
    if (!k || !grown) {
        ec2t__free(e->ctx, k);
        ec2t__free(e->ctx, v);
        ec2t__free(e->ctx, grown);
        return ec2t__nomem(e->ctx, "metadata");
    }
    if (e->meta)
        memcpy(grown, e->meta, (size_t)e->n_meta * sizeof *grown);
    ec2t__free(e->ctx, e->meta);
    e->meta = grown;
    e->meta[e->n_meta].key = k;
    e->meta[e->n_meta].value = v;
    e->n_meta++;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_engine_get_meta(const ec2t_engine *e, const char *key, const char **value)
{
    if (!e)
        return EC2T_E_INVAL;
    if (!key || !value)
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_get_meta: NULL argument");
    for (int32_t i = 0; i < e->n_meta; i++)
        if (strcmp(e->meta[i].key, key) == 0) {
            *value = e->meta[i].value;
            return EC2T_OK;
        }
    return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_get_meta: no key '%s'", key);
}
