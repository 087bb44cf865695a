/* SPDX-License-Identifier: MIT */
/* The one settings mechanism (core/settings.c), driven from its descriptor
 * tables: every id each public header declares for an object (stable enum
 * and experimental #define) has a descriptor of the same name, and every
 * descriptor an id; then every setting of every object goes through the
 * public set, get and bounds functions: its lowest and highest values are
 * accepted and read back, one past each end is refused with EC2T_E_INVAL and
 * a message naming it, the other type is refused, read-only ones are
 * refused with EC2T_E_STATE, and the bounds the API reports are the table's. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"
#include "dataset-private.h"
#include "engine-private.h"
#include "scaler-private.h"
#include "ternarizer-private.h"

/* ---- the headers' ids against the tables ---- */

static char *
read_header(const char *name)
{
    char rel[256];
    FILE *f;
    long n;
    char *buf;
    snprintf(rel, sizeof rel, "../../include/ec2t/%s", name);
    f = fopen(test_data_path(rel), "rb");
    ck_assert_msg(f != NULL, "cannot open %s", test_data_path(rel));
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
    buf[n] = 0;
    fclose(f);
    /* comments out, so that prose never looks like an enumerator */
    for (char *p = strstr(buf, "/*"); p; p = strstr(p, "/*")) {
        char *e = strstr(p + 2, "*/");
        ck_assert_ptr_nonnull(e);
        memset(p, ' ', (size_t)(e + 2 - p));
    }
    return buf;
}

typedef struct header_id {
    char name[64];
    long value;
} header_id;

/* Enumerators "EC2T_X = N" of enum type, then "#define EC2T_X ((type)N)" of experimental.h. */
static int
header_ids(const char *file, const char *type, header_id *ids, int cap)
{
    char open_tag[128], close_tag[128], cast[128];
    char *h = read_header(file), *x = read_header("experimental.h");
    char *begin, *end, *p;
    int n = 0;
    snprintf(open_tag, sizeof open_tag, "typedef enum %s {", type);
    snprintf(close_tag, sizeof close_tag, "} %s;", type);
    snprintf(cast, sizeof cast, "((%s)", type);
    begin = strstr(h, open_tag);
    ck_assert_msg(begin != NULL, "%s has no enum %s", file, type);
    end = strstr(begin, close_tag);
    ck_assert_ptr_nonnull(end);
    *end = 0;
    for (p = strstr(begin, "EC2T_"); p; p = strstr(p, "EC2T_")) {
        int len = 0;
        while (p[len] == '_' || (p[len] >= 'A' && p[len] <= 'Z') || (p[len] >= '0' && p[len] <= '9'))
            len++;
        ck_assert_int_lt(n, cap);
        snprintf(ids[n].name, sizeof ids[n].name, "%.*s", len, p);
        p += len;
        while (*p == ' ')
            p++;
        if (*p != '=')
            continue; /* a use, not an enumerator */
        ids[n++].value = strtol(p + 1, NULL, 0);
    }
    for (p = strstr(x, "#define EC2T_"); p; p = strstr(p, "#define EC2T_")) {
        char name[64];
        const char *c;
        p += strlen("#define ");
        if (sscanf(p, "%63s", name) != 1)
            continue;
        c = p + strlen(name);
        while (*c == ' ')
            c++;
        if (strncmp(c, cast, strlen(cast)) != 0)
            continue;
        ck_assert_int_lt(n, cap);
        snprintf(ids[n].name, sizeof ids[n].name, "%s", name);
        ids[n++].value = strtol(c + strlen(cast), NULL, 0);
    }
    free(h);
    free(x);
    return n;
}

/* Every id of the header in exactly one of the tables, under its own name;
 * every row of the tables an id of the header. */
static void
check_tables_match_header(const char *file, const char *type, const ec2t__settings *const *tables,
                          int n_tables)
{
    header_id ids[64];
    int n = header_ids(file, type, ids, 64), rows = 0;
    ck_assert_int_gt(n, 0);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int t = 0; t < n_tables; t++) {
            const ec2t__setting *s = ec2t__setting_find(tables[t], (int32_t)ids[i].value);
            if (!s)
                continue;
            found++;
            ck_assert_msg(strcmp(s->name, ids[i].name) == 0,
                          "%s: id %ld is %s in the header, %s in the table", type, ids[i].value,
                          ids[i].name, s->name);
        }
        ck_assert_msg(found == 1, "%s: %s (%ld) has %d descriptors, not 1", type, ids[i].name,
                      ids[i].value, found);
    }
    for (int t = 0; t < n_tables; t++)
        rows += tables[t]->n_rows;
    ck_assert_msg(rows == n, "%s: the tables have %d rows, the header %d ids", type, rows, n);
}

START_TEST(test_settings_every_header_id_has_a_descriptor)
{
    const ec2t__settings *trainer[] = {&ec2t__trainer_settings, &ec2t__group_settings};
    const ec2t__settings *ctx[] = {&ec2t__context_settings}, *data[] = {&ec2t__dataset_settings},
                         *scaler[] = {&ec2t__scaler_settings}, *tern[] = {&ec2t__ternarizer_settings},
                         *engine[] = {&ec2t__engine_settings}, *layer[] = {&ec2t__layer_settings};
    check_tables_match_header("common.h", "ec2t_context_param", ctx, 1);
    check_tables_match_header("dataset.h", "ec2t_dataset_param", data, 1);
    check_tables_match_header("trainer.h", "ec2t_trainer_param", trainer, 2);
    check_tables_match_header("scaler.h", "ec2t_scale_param", scaler, 1);
    check_tables_match_header("ternarize.h", "ec2t_tern_param", tern, 1);
    check_tables_match_header("engine.h", "ec2t_engine_param", engine, 1);
    check_tables_match_header("layer.h", "ec2t_layer_setting", layer, 1);
}
END_TEST

/* ---- every setting through the public functions ---- */

/* An object's public settings functions, through void pointers (NULL: it has none of that type). */
typedef struct api {
    const ec2t__settings *table;
    ec2t_context *ctx;
    ec2t_status (*set_int)(void *o, int32_t id, int64_t v);
    ec2t_status (*get_int)(void *o, int32_t id, int64_t *v);
    ec2t_status (*set_double)(void *o, int32_t id, double v);
    ec2t_status (*get_double)(void *o, int32_t id, double *v);
    ec2t_status (*bounds_int)(int32_t id, int64_t *lo, int64_t *hi);
    ec2t_status (*bounds_double)(int32_t id, double *lo, double *hi);
    int get_double_any; /* get_double reads integer settings too (ec2t_scaler_get, 0.1) */
} api;

#define INT_FNS(obj, T, E, set, get)                                    \
    static ec2t_status obj##_set_int(void *o, int32_t id, int64_t v)    \
    {                                                                   \
        return set((T *)o, (E)id, v);                                   \
    }                                                                   \
    static ec2t_status obj##_get_int(void *o, int32_t id, int64_t *v)   \
    {                                                                   \
        return get((const T *)o, (E)id, v);                             \
    }
#define DOUBLE_FNS(obj, T, E, set, get)                                 \
    static ec2t_status obj##_set_double(void *o, int32_t id, double v)  \
    {                                                                   \
        return set((T *)o, (E)id, v);                                   \
    }                                                                   \
    static ec2t_status obj##_get_double(void *o, int32_t id, double *v) \
    {                                                                   \
        return get((const T *)o, (E)id, v);                             \
    }
#define BOUNDS_FN(name, E, fn, V)                                       \
    static ec2t_status name(int32_t id, V *lo, V *hi)                   \
    {                                                                   \
        return fn((E)id, lo, hi);                                       \
    }

INT_FNS(ctx, ec2t_context, ec2t_context_param, ec2t_context_set_int, ec2t_context_get_int)
BOUNDS_FN(ctx_bounds_int, ec2t_context_param, ec2t_context_param_bounds, int64_t)
INT_FNS(data, ec2t_dataset, ec2t_dataset_param, ec2t_dataset_set_int, ec2t_dataset_get_int)
BOUNDS_FN(data_bounds_int, ec2t_dataset_param, ec2t_dataset_param_bounds, int64_t)
INT_FNS(engine, ec2t_engine, ec2t_engine_param, ec2t_engine_set_int, ec2t_engine_get_int)
BOUNDS_FN(engine_bounds_int, ec2t_engine_param, ec2t_engine_param_bounds, int64_t)
INT_FNS(tr, ec2t_trainer, ec2t_trainer_param, ec2t_trainer_set_int, ec2t_trainer_get_int)
DOUBLE_FNS(tr, ec2t_trainer, ec2t_trainer_param, ec2t_trainer_set_double, ec2t_trainer_get_double)
BOUNDS_FN(tr_bounds_int, ec2t_trainer_param, ec2t_trainer_param_bounds_int, int64_t)
BOUNDS_FN(tr_bounds_double, ec2t_trainer_param, ec2t_trainer_param_bounds_double, double)
INT_FNS(scaler, ec2t_scaler, ec2t_scale_param, ec2t_scaler_set_int, ec2t_scaler_get_int)
DOUBLE_FNS(scaler, ec2t_scaler, ec2t_scale_param, ec2t_scaler_set_double, ec2t_scaler_get)
BOUNDS_FN(scaler_bounds_int, ec2t_scale_param, ec2t_scaler_param_bounds_int, int64_t)
BOUNDS_FN(scaler_bounds_double, ec2t_scale_param, ec2t_scaler_param_bounds_double, double)
INT_FNS(tz, ec2t_ternarizer, ec2t_tern_param, ec2t_ternarizer_set_int, ec2t_ternarizer_get_int)
DOUBLE_FNS(tz, ec2t_ternarizer, ec2t_tern_param, ec2t_ternarizer_set_double, ec2t_ternarizer_get_double)
BOUNDS_FN(tz_bounds_double, ec2t_tern_param, ec2t_ternarizer_param_bounds, double)
INT_FNS(layer, ec2t_layer, ec2t_layer_setting, ec2t_layer_set_int, ec2t_layer_get_int)
DOUBLE_FNS(layer, ec2t_layer, ec2t_layer_setting, ec2t_layer_set_double, ec2t_layer_get_double)
BOUNDS_FN(layer_bounds_int, ec2t_layer_setting, ec2t_layer_param_bounds_int, int64_t)
BOUNDS_FN(layer_bounds_double, ec2t_layer_setting, ec2t_layer_param_bounds_double, double)

/* The ternarizer's one bounds function answers integer settings as doubles (0.1). */
static ec2t_status
tz_bounds_int(int32_t id, int64_t *lo, int64_t *hi)
{
    double l, h;
    ec2t_status st = ec2t_ternarizer_param_bounds((ec2t_tern_param)id, &l, &h);
    if (st == EC2T_OK)
        *lo = (int64_t)l, *hi = (int64_t)h;
    return st;
}

/* group 0 of a trainer */
static ec2t_status
group_set_double(void *o, int32_t id, double v)
{
    return ec2t_trainer_group_set_double(o, 0, (ec2t_trainer_param)id, v);
}

static ec2t_status
group_get_double(void *o, int32_t id, double *v)
{
    return ec2t_trainer_group_get_double(o, 0, (ec2t_trainer_param)id, v);
}

/* The last failure's message names the setting. */
static void
check_refused(const api *a, ec2t_status got, ec2t_status want, const ec2t__setting *s, const char *what)
{
    ck_assert_msg(got == want, "%s %s: %s answered %d, not %d", a->table->object, s->name, what, (int)got,
                  (int)want);
    ck_assert_msg(strstr(ec2t_context_errmsg(a->ctx), s->name) != NULL,
                  "%s %s: %s: the message '%s' does not name it", a->table->object, s->name, what,
                  ec2t_context_errmsg(a->ctx));
}

/* EC2T_CTX_THREADS' highest value would start 1,023 threads: its ends are
 * checked, not the count itself. */
static int
too_costly(const api *a, const ec2t__setting *s, int64_t v)
{
    return a->table == &ec2t__context_settings && s->id == EC2T_CTX_THREADS && v > 4;
}

static void
walk_int(const api *a, void *o, const ec2t__setting *s)
{
    int64_t lo, hi, v, was;
    ck_assert_ok(a->bounds_int(s->id, &lo, &hi));
    ck_assert_msg(lo == s->ilo && hi == s->ihi && lo <= hi, "%s %s: bounds", a->table->object, s->name);
    ck_assert_ok(a->get_int(o, s->id, &was));
    ck_assert_msg(was >= lo && was <= hi, "%s %s: %lld outside its bounds", a->table->object, s->name,
                  (long long)was);
    if (a->set_double)
        ck_assert_status(a->set_double(o, s->id, (double)was),
                         s->read_only ? EC2T_E_STATE : a->table->wrong_type);
    if (a->get_double) {
        double d = -1;
        ck_assert_status(a->get_double(o, s->id, &d), a->get_double_any ? EC2T_OK : a->table->wrong_type);
        ck_assert(!a->get_double_any || d == (double)was);
    }
    if (s->read_only) {
        check_refused(a, a->set_int(o, s->id, was), EC2T_E_STATE, s, "set (read-only)");
        return;
    }
    for (int end = 0; end < 2; end++) {
        int64_t want = end ? hi : lo;
        if (too_costly(a, s, want))
            continue;
        ck_assert_msg(a->set_int(o, s->id, want) == EC2T_OK, "%s %s: %lld refused: %s", a->table->object,
                      s->name, (long long)want, ec2t_context_errmsg(a->ctx));
        ck_assert_ok(a->get_int(o, s->id, &v));
        ck_assert_msg(v == want, "%s %s: set %lld, got %lld", a->table->object, s->name, (long long)want,
                      (long long)v);
    }
    if (lo > INT64_MIN)
        check_refused(a, a->set_int(o, s->id, lo - 1), EC2T_E_INVAL, s, "one below the lowest");
    if (hi < INT64_MAX)
        check_refused(a, a->set_int(o, s->id, hi + 1), EC2T_E_INVAL, s, "one above the highest");
    ck_assert_ok(a->set_int(o, s->id, was));
}

static double
as_stored(const ec2t__setting *s, double v)
{
    return s->storage == EC2T__AT_FLOAT ? (double)(float)v : v;
}

static void
walk_double(const api *a, void *o, const ec2t__setting *s)
{
    double lo, hi, v, was;
    ck_assert_ok(a->bounds_double(s->id, &lo, &hi));
    ck_assert_msg(lo == s->lo && hi == s->hi && lo <= hi, "%s %s: bounds", a->table->object, s->name);
    ck_assert_ok(a->get_double(o, s->id, &was));
    ck_assert_msg(was >= lo && was <= hi, "%s %s: %g outside its bounds", a->table->object, s->name, was);
    if (a->set_int)
        ck_assert_status(a->set_int(o, s->id, 0), s->read_only ? EC2T_E_STATE : a->table->wrong_type);
    if (a->get_int) {
        int64_t i;
        ck_assert_status(a->get_int(o, s->id, &i), a->table->wrong_type);
    }
    if (s->read_only) {
        check_refused(a, a->set_double(o, s->id, was), EC2T_E_STATE, s, "set (read-only)");
        return;
    }
    for (int end = 0; end < 2; end++) {
        double want = end ? hi : lo;
        ck_assert_msg(a->set_double(o, s->id, want) == EC2T_OK, "%s %s: %.17g refused: %s", a->table->object,
                      s->name, want, ec2t_context_errmsg(a->ctx));
        ck_assert_ok(a->get_double(o, s->id, &v));
        ck_assert_msg(v == as_stored(s, want), "%s %s: set %.17g, got %.17g", a->table->object, s->name,
                      want, v);
    }
    check_refused(a, a->set_double(o, s->id, nextafter(lo, -HUGE_VAL)), EC2T_E_INVAL, s,
                  "just below the lowest");
    check_refused(a, a->set_double(o, s->id, nextafter(hi, HUGE_VAL)), EC2T_E_INVAL, s,
                  "just above the highest");
    check_refused(a, a->set_double(o, s->id, NAN), EC2T_E_INVAL, s, "NaN");
    ck_assert_ok(a->set_double(o, s->id, was));
}

/* Every row of the object's table; a row the object lacks (a layer of another
 * kind) is refused with EC2T_E_INVAL; an id in no row is unknown. */
static int
walk(const api *a, void *o)
{
    const ec2t__settings *t = a->table;
    int walked = 0;
    int32_t unknown = 0;
    for (int32_t r = 0; r < t->n_rows; r++) {
        const ec2t__setting *s = &t->rows[r];
        unknown = s->id >= unknown ? s->id + 1 : unknown;
        if (t->has && !t->has(o, s)) {
            int64_t i;
            double d;
            if (s->type == EC2T__SETTING_INT)
                check_refused(a, a->get_int(o, s->id, &i), EC2T_E_INVAL, s, "get on a layer without it");
            else
                check_refused(a, a->get_double(o, s->id, &d), EC2T_E_INVAL, s, "get on a layer without it");
            continue;
        }
        if (s->type == EC2T__SETTING_INT)
            walk_int(a, o, s);
        else
            walk_double(a, o, s);
        walked++;
    }
    if (a->set_int)
        ck_assert_status(a->set_int(o, unknown, 0), EC2T_E_UNSUPPORTED);
    if (a->set_double)
        ck_assert_status(a->set_double(o, unknown, 0), EC2T_E_UNSUPPORTED);
    return walked;
}

/* conv, batchnorm, relu, conv, residual, max and average pooling, global
 * pooling, flatten, dropout, dense and the loss: every kind of layer */
static ec2t_net *
every_kind(ec2t_context *ctx)
{
    ec2t_net *net = NULL;
    ec2t_layer *x, *r, *y;
    ck_assert_ok(ec2t_net_new(ctx, 3, 8, 8, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 4, 3, 3, 1, 1, 1, 0, &x));
    ck_assert_ok(ec2t_net_add_batchnorm(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &r));
    ck_assert_ok(ec2t_net_add_conv2d(net, r, 4, 3, 3, 1, 1, 1, EC2T_ADD_BIAS, &y));
    ck_assert_ok(ec2t_net_add_residual(net, y, r, 0, &x));
    ck_assert_ok(ec2t_net_add_maxpool(net, x, 2, 2, 0, 0, &x));
    ck_assert_ok(ec2t_net_add_avgpool(net, x, 2, 2, 0, 0, &x));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_flatten(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_dropout(net, x, 0.25f, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, &x));
    ck_assert_ok(ec2t_net_add_softmax_xent(net, x, 0, NULL));
    ck_assert_ok(ec2t_net_init(net, 1));
    return net;
}

START_TEST(test_settings_every_object_walks_every_setting)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *lenet = NULL, *kinds;
    ec2t_dataset *ds = NULL;
    ec2t_trainer *tr = NULL;
    ec2t_scaler *sc = NULL;
    ec2t_ternarizer *tz = NULL;
    ec2t_engine *e = NULL;
    float images[2 * 3 * 4 * 4] = {0}, *x;
    int32_t labels[2] = {0, 1};
    int walked = 0;
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        images[i] = (float)(i % 7) / 7;
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, images, labels, 2, 3, 4, 4, 2, 0, &ds));
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 28, 28, 10, 0, &lenet));
    ck_assert_ok(ec2t_net_init(lenet, 1));
    ck_assert_ok(ec2t_trainer_new(lenet, EC2T_OPT_SGD, 0, &tr));
    ck_assert_ok(ec2t_scaler_new(ctx, 0, &sc));
    ck_assert_ok(ec2t_ternarizer_new(lenet, 0, &tz));
    ck_assert_ok(ec2t_engine_compile(lenet, 0, &e));
    /* the int8 precision needs a calibration */
    x = calloc(28 * 28 * 4, sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < 28 * 28 * 4; i++)
        x[i] = (float)((i * 37) % 101) / 101 - 0.5f;
    ck_assert_ok(ec2t_engine_calibrate(e, x, 28 * 28 * 4, 4, 0));
    free(x);
    {
        const api ctx_api = {&ec2t__context_settings, ctx, ctx_set_int, ctx_get_int, NULL, NULL,
                             ctx_bounds_int, NULL, 0};
        const api data_api = {&ec2t__dataset_settings, ctx, data_set_int, data_get_int, NULL, NULL,
                              data_bounds_int, NULL, 0};
        const api engine_api = {&ec2t__engine_settings, ctx, engine_set_int, engine_get_int, NULL, NULL,
                                engine_bounds_int, NULL, 0};
        const api tr_api = {&ec2t__trainer_settings, ctx, tr_set_int, tr_get_int, tr_set_double,
                            tr_get_double, tr_bounds_int, tr_bounds_double, 0};
        const api group_api = {&ec2t__group_settings, ctx, NULL, NULL, group_set_double,
                               group_get_double, NULL, tr_bounds_double, 0};
        const api scaler_api = {&ec2t__scaler_settings, ctx, scaler_set_int, scaler_get_int,
                                scaler_set_double, scaler_get_double, scaler_bounds_int,
                                scaler_bounds_double, 1};
        const api tz_api = {&ec2t__ternarizer_settings, ctx, tz_set_int, tz_get_int, tz_set_double,
                            tz_get_double, tz_bounds_int, tz_bounds_double, 0};
        const api layer_api = {&ec2t__layer_settings, ctx, layer_set_int, layer_get_int,
                               layer_set_double, layer_get_double, layer_bounds_int,
                               layer_bounds_double, 0};
        int per_layer[16] = {0}, seen[16] = {0};
        walked += walk(&ctx_api, ctx);
        walked += walk(&data_api, ds);
        walked += walk(&engine_api, e);
        walked += walk(&tr_api, tr);
        walked += walk(&group_api, tr);
        walked += walk(&scaler_api, sc);
        walked += walk(&tz_api, tz);
        kinds = every_kind(ctx);
        for (int32_t i = 0; i < ec2t_net_layer_count(kinds); i++) {
            ec2t_layer *l = NULL;
            ck_assert_ok(ec2t_net_layer(kinds, i, &l));
            per_layer[ec2t_layer_get_kind(l)] = walk(&layer_api, l);
            seen[ec2t_layer_get_kind(l)] = 1;
        }
        /* every kind was there, and every layer setting applied to some kind */
        for (int k = EC2T_LAYER_INPUT; k <= EC2T_LAYER_SOFTMAX_XENT; k++)
            ck_assert_msg(seen[k], "no layer of kind %d", k);
        for (int32_t r = 0; r < ec2t__layer_settings.n_rows; r++) {
            int some = 0;
            for (int32_t i = 0; i < ec2t_net_layer_count(kinds); i++) {
                ec2t_layer *l = NULL;
                ck_assert_ok(ec2t_net_layer(kinds, i, &l));
                some |= ec2t__layer_settings.has(l, &ec2t__layer_settings.rows[r]);
            }
            ck_assert_msg(some, "no layer has %s", ec2t__layer_settings.rows[r].name);
        }
        ck_assert_int_eq(per_layer[EC2T_LAYER_CONV2D], 9);   /* compression and the 8 geometry ints */
        ck_assert_int_eq(per_layer[EC2T_LAYER_BATCHNORM], 5); /* eps, momentum, compression, 2 channels */
        ck_assert_int_eq(per_layer[EC2T_LAYER_DROPOUT], 4);
        ec2t_net_free(kinds);
    }
    ck_assert_int_eq(walked, ec2t__context_settings.n_rows + ec2t__dataset_settings.n_rows +
                                 ec2t__engine_settings.n_rows + ec2t__trainer_settings.n_rows +
                                 ec2t__group_settings.n_rows + ec2t__scaler_settings.n_rows +
                                 ec2t__ternarizer_settings.n_rows);
    ec2t_engine_free(e);
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_scaler_free(sc);
    ec2t_net_free(lenet);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The open ends written as hex literals are the nearest doubles inside. */
START_TEST(test_settings_open_ends_are_the_nearest_doubles)
{
    double lo, hi;
    ck_assert_ok(ec2t_trainer_param_bounds_double(EC2T_TRAIN_LR, &lo, &hi));
    ck_assert(lo == nextafter(0, 1) && hi == nextafter(1e6, 0));
    ck_assert_ok(ec2t_trainer_param_bounds_double(EC2T_TRAIN_MOMENTUM, &lo, &hi));
    ck_assert(lo == 0 && hi == nextafter(1, 0));
    ck_assert_ok(ec2t_layer_param_bounds_double(EC2T_LAYER_BN_EPS, &lo, &hi));
    ck_assert(lo == nextafter(0, 1) && hi == nextafter(1, 0));
    ck_assert_status(ec2t_trainer_param_bounds_double(EC2T_TRAIN_BATCH_SIZE, &lo, &hi), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_param_bounds_double((ec2t_trainer_param)999, &lo, &hi),
                     EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_trainer_param_bounds_double(EC2T_TRAIN_LR, NULL, &hi), EC2T_E_INVAL);
}
END_TEST

/* NULL objects: EC2T_E_INVAL from every new function. */
START_TEST(test_settings_new_functions_refuse_null)
{
    int64_t v;
    ck_assert_status(ec2t_dataset_get_int(NULL, EC2T_DATA_SEED, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_get_int(NULL, EC2T_SCALE_SEED, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_param_bounds(EC2T_DATA_SEED, NULL, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_engine_param_bounds(EC2T_ENGINE_ISA, &v, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_scaler_param_bounds_int(EC2T_SCALE_PHI, &v, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_layer_param_bounds_int(EC2T_LAYER_BN_EPS, &v, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_param_bounds_int(EC2T_TRAIN_LR, &v, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_trainer_param_bounds_int((ec2t_trainer_param)999, &v, &v), EC2T_E_UNSUPPORTED);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_settings_every_header_id_has_a_descriptor);
    tcase_add_test(tc, test_settings_every_object_walks_every_setting);
    tcase_add_test(tc, test_settings_open_ends_are_the_nearest_doubles);
    tcase_add_test(tc, test_settings_new_functions_refuse_null);
    suite_add_tcase(s, tc);
    return s;
}
