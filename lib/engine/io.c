/* SPDX-License-Identifier: MIT */
/* Deployable .ec2t files (doc/FORMAT.md §13): saving and loading, and the
 * keyed layout (the program as container keys, each array its own tensor,
 * ternary layers as 2-bit masks), written for the raw encoding. The packed
 * layout, written for the entropy encoding, is in engine-packed.c. Both
 * loaders rebuild the program and check every operation against its inputs
 * (ec2t__eop_infer) before the engine exists. */
#include <stdio.h>
#include <string.h>

#include "engine-io-private.h"

#define CONFIG_INTS 14
#define MAX_OPS (1 << 20)

static void
op_key(char *buf, size_t cap, int32_t i, const char *field)
{
    snprintf(buf, cap, "ec2t.op.%d.%s", (int)i, field);
}

static void
op_tensor(char *buf, size_t cap, int32_t i, const char *field)
{
    snprintf(buf, cap, "op.%d.%s", (int)i, field);
}

static void
op_config(const ec2t__eop *op, int32_t *c)
{
    int32_t v[CONFIG_INTS] = {op->m,      op->k,      op->groups,     op->relu,       op->ternary,
                              op->win.kh, op->win.kw, op->win.stride, op->win.pad,    op->win.h,
                              op->win.w,  op->win.oh, op->win.ow,     op->stride};
    memcpy(c, v, sizeof v);
}

/* ---- ternary layers on disk ---- */

/* 2-bit codes, 4 per byte, LSB first: 00 = 0, 01 = +1, 11 = -1. */
static uint8_t *
pack_2b(ec2t_context *ctx, const ec2t__tmat *t, uint64_t *bytes)
{
    int64_t n = (int64_t)t->rows * t->cols;
    uint8_t *out;
    *bytes = (uint64_t)((n + 3) / 4);
    out = ec2t__calloc(ctx, (size_t)*bytes, 1);
    if (!out)
        return NULL;
    for (int32_t m = 0; m < t->rows; m++)
        for (int32_t k = 0; k < t->cols; k++) {
            const uint64_t bit = (uint64_t)1 << (k % 64);
            int64_t i = (int64_t)m * t->cols + k;
            int code = t->pmask[(int64_t)m * t->words + k / 64] & bit   ? 1
                       : t->nmask[(int64_t)m * t->words + k / 64] & bit ? 3
                                                                       : 0;
            out[i / 4] |= (uint8_t)(code << (2 * (i % 4)));
        }
    return out;
}

static ec2t_status
unpack_2b(ec2t_context *ctx, const uint8_t *in, int32_t rows, int32_t cols, ec2t__tmat *out)
{
    int32_t words = (cols + 63) / 64;
    uint64_t *p = ec2t__calloc(ctx, (size_t)rows * (size_t)words, sizeof *p);
    uint64_t *q = ec2t__calloc(ctx, (size_t)rows * (size_t)words, sizeof *q);
    ec2t_status st;
    if (!p || !q) {
        ec2t__free(ctx, p);
        ec2t__free(ctx, q);
        return ec2t__nomem(ctx, "ternary masks");
    }
    for (int32_t m = 0; m < rows; m++)
        for (int32_t k = 0; k < cols; k++) {
            int64_t i = (int64_t)m * cols + k;
            int code = (in[i / 4] >> (2 * (i % 4))) & 3; /* 10 was rejected by the reader */
            uint64_t bit = (uint64_t)1 << (k % 64);
            if (code == 1)
                p[(int64_t)m * words + k / 64] |= bit;
            else if (code == 3)
                q[(int64_t)m * words + k / 64] |= bit;
        }
    st = ec2t__tmat_from_masks(ctx, p, q, rows, cols, out);
    ec2t__free(ctx, p);
    ec2t__free(ctx, q);
    return st;
}

int8_t *
ec2t__eio_symbols(ec2t_context *ctx, const ec2t__tmat *t)
{
    int8_t *s = ec2t__calloc(ctx, (size_t)t->rows * (size_t)t->cols, 1);
    if (!s)
        return NULL;
    for (int32_t m = 0; m < t->rows; m++) {
        for (int32_t j = t->prow[m]; j < t->prow[m + 1]; j++)
            s[(int64_t)m * t->cols + t->pidx[j]] = 1;
        for (int32_t j = t->nrow[m]; j < t->nrow[m + 1]; j++)
            s[(int64_t)m * t->cols + t->nidx[j]] = -1;
    }
    return s;
}

int32_t
ec2t__eio_slice(const ec2t__eop *op)
{
    return op->kind == EC2T__OP_CONV ? op->win.kh * op->win.kw : 1;
}

/* The ternary tensor of op i in the keyed layout: raw masks (TERNARY_2B).
 * The bytes must outlive the writer: they are handed back in *owned. */
static ec2t_status
write_ternary(const ec2t_engine *e, ec2t__cwriter *w, int32_t i, uint8_t **owned)
{
    const ec2t__eop *op = &e->ops[i];
    int64_t dims[2] = {op->m, op->k};
    char name[64];
    uint64_t bytes;
    *owned = pack_2b(e->ctx, &op->tm, &bytes);
    if (!*owned)
        return ec2t__nomem(e->ctx, "ternary tensor");
    op_tensor(name, sizeof name, i, "tern");
    return ec2t__cw_add_tensor(w, name, EC2T__DT_TERNARY_2B, 2, dims, *owned, bytes);
}

static ec2t_status
write_op(const ec2t_engine *e, ec2t__cwriter *w, int32_t i, uint8_t **owned)
{
    const ec2t__eop *op = &e->ops[i];
    int32_t config[CONFIG_INTS];
    int64_t m[1] = {op->m}, mk[2] = {op->m, op->k};
    char key[64];
    ec2t_status st;
    op_config(op, config);
    op_key(key, sizeof key, i, "kind");
    st = ec2t__cw_add_str(w, key, ec2t__opkind_name(op->kind));
    op_key(key, sizeof key, i, "inputs");
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, key, EC2T__KV_I32, op->in, (uint64_t)op->n_in);
    op_key(key, sizeof key, i, "config");
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, key, EC2T__KV_I32, config, CONFIG_INTS);
    if (op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_DENSE && op->kind != EC2T__OP_AFFINE)
        return st;
    m[0] = ec2t__eio_channels(e, op);
    if (st == EC2T_OK && op->ternary) {
        float levels[2] = {op->wp, op->wn};
        op_key(key, sizeof key, i, "levels");
        st = ec2t__cw_add_array(w, key, EC2T__KV_F32, levels, 2);
        if (st == EC2T_OK)
            st = write_ternary(e, w, i, owned);
    } else if (st == EC2T_OK && op->kind != EC2T__OP_AFFINE) {
        op_tensor(key, sizeof key, i, "weight");
        st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 2, mk, op->weight,
                                 (uint64_t)op->m * (uint64_t)op->k * 4);
    }
    op_tensor(key, sizeof key, i, "scale");
    if (st == EC2T_OK && op->scale)
        st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 1, m, op->scale, (uint64_t)m[0] * 4);
    op_tensor(key, sizeof key, i, "bias");
    if (st == EC2T_OK && op->bias)
        st = ec2t__cw_add_tensor(w, key, EC2T__DT_F32, 1, m, op->bias, (uint64_t)m[0] * 4);
    return st;
}

/* The keyed layout: the program as keys, each array its own tensor. */
static ec2t_status
save_keyed(const ec2t_engine *e, ec2t__cwriter *w, uint8_t **owned)
{
    int32_t *shapes = ec2t__calloc(e->ctx, (size_t)e->n_values * 3, sizeof *shapes);
    ec2t_status st = shapes ? EC2T_OK : ec2t__nomem(e->ctx, "engine writer");
    for (int32_t v = 0; v < e->n_values && shapes; v++) {
        shapes[3 * v] = e->values[v].c;
        shapes[3 * v + 1] = e->values[v].h;
        shapes[3 * v + 2] = e->values[v].w;
    }
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "ec2t.engine.values", (uint32_t)e->n_values);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "ec2t.engine.value_shapes", EC2T__KV_I32, shapes,
                                (uint64_t)e->n_values * 3);
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "ec2t.engine.ops", (uint32_t)e->n_ops);
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "ec2t.engine.output", (uint32_t)e->output);
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++)
        st = write_op(e, w, i, &owned[i]);
    ec2t__free(e->ctx, shapes);
    return st;
}

EC2T_API ec2t_status
ec2t_engine_save(const ec2t_engine *e, const char *path, uint32_t flags)
{
    ec2t__cwriter *w = NULL;
    uint8_t **owned = NULL;
    void *packed[2] = {NULL, NULL};
    int keyed;
    char key[96];
    ec2t_status st;
    if (!e)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(e->ctx, EC2T_E_INVAL, "ec2t_engine_save: NULL path or bad flags");
    keyed = e->encoding == EC2T_ENCODING_RAW;
    if (keyed && e->float_bits != 32)
        return ec2t__error(e->ctx, EC2T_E_INVAL,
                           "ec2t_engine_save: 16-bit floats need the entropy encoding");
    owned = ec2t__calloc(e->ctx, (size_t)e->n_ops + 1, sizeof *owned);
    st = owned ? ec2t__cw_new(e->ctx, &w) : ec2t__nomem(e->ctx, "engine writer");
    if (st == EC2T_OK)
        st = ec2t__cw_add_str(w, "ec2t.file_kind", "deploy");
    for (int32_t i = 0; i < e->n_meta && st == EC2T_OK; i++) {
        snprintf(key, sizeof key, "ec2t.meta.%s", e->meta[i].key);
        st = ec2t__cw_add_str(w, key, e->meta[i].value);
    }
    if (st == EC2T_OK)
        st = ec2t__eio_save_int8(e, w);
    if (st == EC2T_OK)
        st = keyed ? save_keyed(e, w, owned) : ec2t__eio_save_packed(e, w, packed);
    if (st == EC2T_OK)
        st = ec2t__cw_write_file(w, path);
    ec2t__cw_free(w);
    for (int32_t i = 0; owned && i < e->n_ops; i++)
        ec2t__free(e->ctx, owned[i]);
    for (int i = 0; i < 2; i++)
        ec2t__free(e->ctx, packed[i]);
    ec2t__free(e->ctx, owned);
    return st;
}

/* ---- loading ---- */

static int
kind_from_name(const char *name)
{
    for (int k = EC2T__OP_CONV; k <= EC2T__OP_LAST; k++)
        if (strcmp(ec2t__opkind_name(k), name) == 0)
            return k;
    return 0;
}

static ec2t_status
read_floats(ec2t_context *ctx, const ec2t__creader *r, const char *name, int32_t ndim,
            const int64_t *dims, float **out)
{
    int64_t n = ndim == 1 ? dims[0] : dims[0] * dims[1];
    *out = ec2t__alloc(ctx, (size_t)n * sizeof(float), 64);
    if (!*out)
        return ec2t__nomem(ctx, "engine tensor");
    return ec2t__cr_read_f32(r, name, ndim, dims, *out);
}

/* The ternary tensor of op i in the keyed layout: its TERNARY_2B masks. */
static ec2t_status
read_ternary(ec2t_engine *e, const ec2t__creader *r, int32_t i, ec2t__eop *op)
{
    const char *what = ec2t__cr_what(r);
    const ec2t__ctensor *t;
    char name[64];
    op_tensor(name, sizeof name, i, "tern");
    t = ec2t__cr_find_tensor(r, name);
    if (!t)
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d has no ternary tensor %s", what,
                           (int)i, name);
    if (t->dtype != EC2T__DT_TERNARY_2B || t->ndim != 2 || t->dims[0] != op->m || t->dims[1] != op->k)
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: tensor %s has the wrong type or shape", what, name);
    return unpack_2b(e->ctx, t->data, op->m, op->k, &op->tm);
}

int
ec2t__eio_sizes_ok(const ec2t__eop *op)
{
    if (op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_DENSE)
        return 1;
    return op->m >= 1 && op->k >= 1 && (int64_t)op->m * op->k <= (INT64_C(1) << 34) &&
           !(op->ternary && op->groups != 1);
}

int64_t
ec2t__eio_channels(const ec2t_engine *e, const ec2t__eop *op)
{
    return op->kind == EC2T__OP_AFFINE ? e->values[op->in[0]].c : op->m;
}

int
ec2t__eio_shape_ok(int32_t c, int32_t h, int32_t w)
{
    return c >= 1 && h >= 1 && w >= 1 && c <= (1 << 24) && h <= 65536 && w <= 65536 &&
           (int64_t)c * h * w <= (INT64_C(1) << 30);
}

/* Readers ignore the configuration fields an operation does not use
 * (doc/FORMAT.md §13): they get the values the compiler gives them, so that
 * no later stage sees a ternary pool or a grouped dense layer. */
static void
ignore_unused(ec2t__eop *op, const ec2t__value *out)
{
    int weighted = op->kind == EC2T__OP_CONV || op->kind == EC2T__OP_DENSE;
    if (op->kind != EC2T__OP_CONV)
        op->groups = 1;
    if (!weighted)
        op->m = 0, op->k = 0, op->ternary = 0;
    if (!weighted && op->kind != EC2T__OP_AFFINE && op->kind != EC2T__OP_ADD)
        op->relu = 0;
    if (op->kind != EC2T__OP_ADD)
        op->stride = 0;
    if (op->kind == EC2T__OP_ADD)
        op->win = (ec2t__window){op->win.h, op->win.w, out->h, out->w, 1, 1, op->stride, 0};
    else if (op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_MAXPOOL && op->kind != EC2T__OP_AVGPOOL)
        memset(&op->win, 0, sizeof op->win);
}

static ec2t_status
read_op(ec2t_engine *e, const ec2t__creader *r, int32_t i)
{
    const char *what = ec2t__cr_what(r), *kind;
    ec2t__eop *op = &e->ops[i];
    int32_t c[CONFIG_INTS];
    uint64_t n_in, n_c;
    ec2t__value shape;
    int64_t m[1], mk[2];
    char key[64];
    ec2t_status st;

    op_key(key, sizeof key, i, "kind");
    if ((st = ec2t__cr_get_str(r, key, &kind)) != EC2T_OK)
        return st;
    op->kind = (ec2t__opkind)kind_from_name(kind);
    op_key(key, sizeof key, i, "inputs");
    if (!op->kind || (st = ec2t__cr_get_array(r, key, EC2T__KV_I32, op->in, 2, &n_in)) != EC2T_OK)
        return st != EC2T_OK ? st : ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d: unknown kind '%s'", what, (int)i, kind);
    op_key(key, sizeof key, i, "config");
    if ((st = ec2t__cr_get_array(r, key, EC2T__KV_I32, c, CONFIG_INTS, &n_c)) != EC2T_OK)
        return st;
    op->n_in = (int32_t)n_in;
    op->out = i + 1;
    if (n_c != CONFIG_INTS || n_in != (op->kind == EC2T__OP_ADD ? 2u : 1u))
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d is malformed", what, (int)i);
    for (uint64_t k = 0; k < n_in; k++)
        if (op->in[k] < 0 || op->in[k] > i)
            return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d reads value %d before it exists",
                               what, (int)i, (int)op->in[k]);
    op->m = c[0], op->k = c[1], op->groups = c[2], op->relu = c[3] != 0, op->ternary = c[4] != 0;
    op->win = (ec2t__window){c[9], c[10], c[11], c[12], c[5], c[6], c[7], c[8]};
    op->stride = c[13];
    ignore_unused(op, &e->values[op->out]);
    if (!ec2t__eio_sizes_ok(op))
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d has bad sizes", what, (int)i);
    if (ec2t__eop_infer(e, op, &shape) != EC2T_OK ||
        shape.c != e->values[op->out].c || shape.h != e->values[op->out].h ||
        shape.w != e->values[op->out].w)
        return ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d (%s) does not fit its values",
                           what, (int)i, kind);
    if (op->kind != EC2T__OP_CONV && op->kind != EC2T__OP_DENSE && op->kind != EC2T__OP_AFFINE)
        return EC2T_OK;
    m[0] = ec2t__eio_channels(e, op);
    mk[0] = op->m, mk[1] = op->k;
    if (op->ternary) {
        float levels[2];
        uint64_t nl;
        op_key(key, sizeof key, i, "levels");
        st = ec2t__cr_get_array(r, key, EC2T__KV_F32, levels, 2, &nl);
        if (st == EC2T_OK && (nl != 2 || !(levels[0] >= 0) || !(levels[1] >= 0)))
            st = ec2t__error(e->ctx, EC2T_E_FORMAT, "%s: operation %d: bad levels", what, (int)i);
        op->wp = levels[0], op->wn = levels[1];
        if (st == EC2T_OK)
            st = read_ternary(e, r, i, op);
    } else if (op->kind != EC2T__OP_AFFINE) {
        op_tensor(key, sizeof key, i, "weight");
        st = read_floats(e->ctx, r, key, 2, mk, &op->weight);
    }
    op_tensor(key, sizeof key, i, "scale");
    if (st == EC2T_OK && (ec2t__cr_find_tensor(r, key) || op->kind == EC2T__OP_AFFINE))
        st = read_floats(e->ctx, r, key, 1, m, &op->scale);
    op_tensor(key, sizeof key, i, "bias");
    if (st == EC2T_OK && ec2t__cr_find_tensor(r, key))
        st = read_floats(e->ctx, r, key, 1, m, &op->bias);
    return st;
}

static ec2t_status
read_meta(ec2t_engine *e, const ec2t__creader *r)
{
    static const char prefix[] = "ec2t.meta.";
    for (uint64_t i = 0; i < ec2t__cr_kv_count(r); i++) {
        const char *key = ec2t__cr_kv_key(r, i), *v;
        ec2t_status st;
        if (strncmp(key, prefix, sizeof prefix - 1) != 0)
            continue;
        st = ec2t__cr_get_str(r, key, &v);
        if (st == EC2T_OK)
            st = ec2t_engine_set_meta(e, key + sizeof prefix - 1, v);
        if (st == EC2T_E_NOMEM)
            return st;
        /* a metadata entry of another type or with an odd key is ignored, as
         * unknown keys are */
    }
    return EC2T_OK;
}

/* The keyed layout into e (which has only ctx set). */
static ec2t_status
load_keyed(ec2t_engine *e, const ec2t__creader *r)
{
    const char *what = ec2t__cr_what(r);
    ec2t_context *ctx = e->ctx;
    uint32_t n_values, n_ops, output;
    uint64_t n_shapes;
    int32_t *shapes = NULL;
    ec2t_status st = ec2t__cr_get_u32(r, "ec2t.engine.values", &n_values);
    if (st == EC2T_OK)
        st = ec2t__cr_get_u32(r, "ec2t.engine.ops", &n_ops);
    if (st == EC2T_OK)
        st = ec2t__cr_get_u32(r, "ec2t.engine.output", &output);
    if (st == EC2T_OK && (n_ops < 1 || n_ops > MAX_OPS || n_values != n_ops + 1 || output >= n_values))
        st = ec2t__error(ctx, EC2T_E_FORMAT, "%s: inconsistent operation and value counts", what);
    if (st == EC2T_OK) {
        shapes = ec2t__calloc(ctx, (size_t)n_values * 3, sizeof *shapes);
        e->values = ec2t__calloc(ctx, n_values, sizeof *e->values);
        e->ops = ec2t__calloc(ctx, n_ops, sizeof *e->ops);
        if (!shapes || !e->values || !e->ops)
            st = ec2t__nomem(ctx, "engine");
    }
    if (st == EC2T_OK)
        st = ec2t__cr_get_array(r, "ec2t.engine.value_shapes", EC2T__KV_I32, shapes,
                                (uint64_t)n_values * 3, &n_shapes);
    if (st == EC2T_OK && n_shapes != (uint64_t)n_values * 3)
        st = ec2t__error(ctx, EC2T_E_FORMAT, "%s: value shapes missing", what);
    for (uint32_t v = 0; st == EC2T_OK && v < n_values; v++) {
        int32_t c = shapes[3 * v], h = shapes[3 * v + 1], w = shapes[3 * v + 2];
        if (!ec2t__eio_shape_ok(c, h, w))
            st = ec2t__error(ctx, EC2T_E_FORMAT, "%s: value %u has an absurd shape", what, (unsigned)v);
        else
            e->values[v] = (ec2t__value){c, h, w, -1};
    }
    if (st == EC2T_OK) {
        e->n_values = (int32_t)n_values;
        e->output = (int32_t)output;
    }
    for (uint32_t i = 0; st == EC2T_OK && i < n_ops; i++) {
        e->n_ops = (int32_t)i + 1;
        st = read_op(e, r, (int32_t)i);
    }
    ec2t__free(ctx, shapes);
    return st;
}

/* Whether name is one the format reserves (doc/FORMAT.md §11):
 * engine.floats, engine.coded, op.<i>.tern_coded. */
static int
reserved_name(const char *name)
{
    static const char suffix[] = ".tern_coded";
    size_t n = strlen(name), d = 3;
    if (strcmp(name, "engine.floats") == 0 || strcmp(name, "engine.coded") == 0)
        return 1;
    if (strncmp(name, "op.", 3) != 0 || n < 3 + sizeof suffix)
        return 0;
    while (name[d] >= '0' && name[d] <= '9')
        d++;
    return d > 3 && strcmp(name + d, suffix) == 0;
}

/* A file holding the tensor engine.program is in the packed layout (the
 * one libec2t writes for the entropy encoding), any other in the keyed one.
 * In both, the reserved tensor names refuse the file: they belonged to forms
 * that are not part of the format, which a reader must not half-read. */
static ec2t_status
load_from(ec2t_context *ctx, ec2t__creader *r, ec2t_engine **out)
{
    const char *what = ec2t__cr_what(r), *kind;
    int packed = ec2t__cr_find_tensor(r, "engine.program") != NULL;
    ec2t_engine *e = NULL;
    ec2t_status st = ec2t__cr_get_str(r, "ec2t.file_kind", &kind);
    if (st == EC2T_OK && strcmp(kind, "deploy") != 0)
        st = ec2t__error(ctx, EC2T_E_FORMAT, "%s: a '%s' file, not a deployable one", what, kind);
    for (uint64_t i = 0; st == EC2T_OK && i < ec2t__cr_tensor_count(r); i++) {
        const char *name = ec2t__cr_tensor_at(r, i)->name;
        if (reserved_name(name))
            st = ec2t__error(ctx, EC2T_E_FORMAT,
                             "%s: tensor %s is not part of the format (a reserved name; ternary "
                             "layers are op.<i>.tern masks or in engine.stream)",
                             what, name);
    }
    if (st == EC2T_OK && !(e = ec2t__calloc(ctx, 1, sizeof *e)))
        st = ec2t__nomem(ctx, "engine");
    if (st == EC2T_OK) {
        e->ctx = ctx;
        e->encoding = packed ? EC2T_ENCODING_ENTROPY : EC2T_ENCODING_RAW;
        e->dense_fallback = 1;
        e->float_bits = 32;
        e->load_budget = EC2T__LOAD_BUDGET_FLOOR + EC2T__LOAD_BUDGET_PER_BYTE * (int64_t)ec2t__cr_size(r);
        if (ctx->load_limit > 0 && ctx->load_limit < e->load_budget) {
            e->load_budget = ctx->load_limit;
            e->load_budget_caller = 1;
        }
        st = packed ? ec2t__eio_load_packed(e, r) : load_keyed(e, r);
    }
    if (st == EC2T_OK)
        st = read_meta(e, r);
    if (st == EC2T_OK)
        st = ec2t__engine_finish(e);
    if (st == EC2T_OK)
        st = ec2t__eio_load_int8(e, r);
    ec2t__cr_free(r);
    if (st != EC2T_OK) {
        ec2t_engine_free(e);
        return st == EC2T_E_INVAL ? EC2T_E_FORMAT : st;
    }
    *out = e;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_engine_load(ec2t_context *ctx, const char *path, uint32_t flags, ec2t_engine **out)
{
    ec2t__creader *r = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!path || !out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_engine_load: bad argument");
    st = ec2t__cr_open_file(ctx, path, &r);
    return st == EC2T_OK ? load_from(ctx, r, out) : st;
}

EC2T_API ec2t_status
ec2t_engine_load_mem(ec2t_context *ctx, const void *buf, size_t len, uint32_t flags,
                     ec2t_engine **out)
{
    ec2t__creader *r = NULL;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if ((!buf && len) || !out || flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_engine_load_mem: bad argument");
    st = ec2t__cr_open_mem(ctx, buf, len, "engine buffer", &r);
    return st == EC2T_OK ? load_from(ctx, r, out) : st;
}
