/* SPDX-License-Identifier: MIT */
/* The one settings mechanism (settings-private.h): lookups, checks,
 * messages, stores and bounds for every object's descriptor table. */
#include "settings-private.h"

const ec2t__setting *
ec2t__setting_find(const ec2t__settings *t, int32_t id)
{
    for (int32_t i = 0; i < t->n_rows; i++)
        if (t->rows[i].id == id)
            return &t->rows[i];
    return NULL;
}

static ec2t_context *
context_of(const ec2t__settings *t, const void *obj)
{
    return t->ctx_of ? t->ctx_of(obj) : NULL;
}

/* The descriptor of a setting obj has, asked for as type; NULL after a refusal in *st. */
static const ec2t__setting *
lookup(const ec2t__settings *t, const void *obj, int32_t id, ec2t__setting_type type, int writing,
       const char *fn, ec2t_status *st)
{
    ec2t_context *ctx = context_of(t, obj);
    const ec2t__setting *s = ec2t__setting_find(t, id);
    if (!s) {
        *st = ec2t__error(ctx, EC2T_E_UNSUPPORTED, "%s: %d is not a %s setting", fn, (int)id, t->object);
        return NULL;
    }
    if (writing && s->read_only) {
        *st = ec2t__error(ctx, EC2T_E_STATE, "%s: %s is read-only", fn, s->name);
        return NULL;
    }
    if (s->type != type) {
        *st = ec2t__error(ctx, t->wrong_type, "%s: %s is %s", fn, s->name,
                          s->type == EC2T__SETTING_INT ? "an integer setting" : "a real-valued setting");
        return NULL;
    }
    if (t->has && !t->has(obj, s)) {
        *st = ec2t__error(ctx, EC2T_E_INVAL, "%s: this %s has no setting %s", fn, t->object, s->name);
        return NULL;
    }
    *st = EC2T_OK;
    return s;
}

static void
store(const ec2t__settings *t, void *obj, const ec2t__setting *s, int64_t i, double d)
{
    char *at = (char *)(t->base_of ? t->base_of(obj) : obj) + s->offset;
    switch (s->storage) {
    case EC2T__AT_INT: *(int *)(void *)at = (int)i; break;
    case EC2T__AT_I32: *(int32_t *)(void *)at = (int32_t)i; break;
    case EC2T__AT_I64: *(int64_t *)(void *)at = i; break;
    case EC2T__AT_FLOAT: *(float *)(void *)at = (float)d; break;
    case EC2T__AT_DOUBLE: *(double *)(void *)at = d; break;
    case EC2T__AT_NONE: break;
    }
}

static void
load(const ec2t__settings *t, const void *obj, const ec2t__setting *s, int64_t *i, double *d)
{
    const char *at = (const char *)(t->base_of ? t->base_of(obj) : obj) + s->offset;
    switch (s->storage) {
    case EC2T__AT_INT: *i = *(const int *)(const void *)at; break;
    case EC2T__AT_I32: *i = *(const int32_t *)(const void *)at; break;
    case EC2T__AT_I64: *i = *(const int64_t *)(const void *)at; break;
    case EC2T__AT_FLOAT: *d = *(const float *)(const void *)at; break;
    case EC2T__AT_DOUBLE: *d = *(const double *)(const void *)at; break;
    case EC2T__AT_NONE:
        if (t->compute)
            t->compute(obj, s, i, d);
        break;
    }
}

/* After the range check: the table's check, the store, the table's apply. */
static ec2t_status
commit(const ec2t__settings *t, void *obj, const ec2t__setting *s, int64_t i, double d)
{
    ec2t_status st = t->check ? t->check(obj, s, i, d) : EC2T_OK;
    if (st != EC2T_OK)
        return st;
    store(t, obj, s, i, d);
    return t->apply ? t->apply(obj, s, i, d) : EC2T_OK;
}

/* A set of either type: the lookup, the range, then commit. */
static ec2t_status
set_value(const ec2t__settings *t, void *obj, int32_t id, ec2t__setting_type type, int64_t i, double d,
          const char *fn)
{
    const ec2t__setting *s;
    ec2t_status st;
    if (!obj)
        return EC2T_E_INVAL;
    if (!(s = lookup(t, obj, id, type, 1, fn, &st)))
        return st;
    if (type == EC2T__SETTING_INT && (i < s->ilo || i > s->ihi))
        return ec2t__error(context_of(t, obj), EC2T_E_INVAL, "%s: %s = %lld is outside [%lld, %lld]", fn,
                           s->name, (long long)i, (long long)s->ilo, (long long)s->ihi);
    if (type == EC2T__SETTING_DOUBLE && !(d >= s->lo && d <= s->hi)) /* NaN too */
        return ec2t__error(context_of(t, obj), EC2T_E_INVAL, "%s: %s = %.17g is outside [%.17g, %.17g]",
                           fn, s->name, d, s->lo, s->hi);
    return commit(t, obj, s, i, d);
}

/* A get of either type into *i or *d (the other one is not written). */
static ec2t_status
get_value(const ec2t__settings *t, const void *obj, int32_t id, ec2t__setting_type type, int64_t *i,
          double *d, const char *fn)
{
    const ec2t__setting *s;
    ec2t_status st;
    int64_t i_unused = 0;
    double d_unused = 0;
    if (!obj)
        return EC2T_E_INVAL;
    if (!i && !d)
        return ec2t__error(context_of(t, obj), EC2T_E_INVAL, "%s: value is NULL", fn);
    if (!(s = lookup(t, obj, id, type, 0, fn, &st)))
        return st;
    load(t, obj, s, i ? i : &i_unused, d ? d : &d_unused);
    return EC2T_OK;
}

ec2t_status
ec2t__settings_set_int(const ec2t__settings *t, void *obj, int32_t id, int64_t v, const char *fn)
{
    return set_value(t, obj, id, EC2T__SETTING_INT, v, 0, fn);
}

ec2t_status
ec2t__settings_set_double(const ec2t__settings *t, void *obj, int32_t id, double v, const char *fn)
{
    return set_value(t, obj, id, EC2T__SETTING_DOUBLE, 0, v, fn);
}

ec2t_status
ec2t__settings_get_int(const ec2t__settings *t, const void *obj, int32_t id, int64_t *v, const char *fn)
{
    return get_value(t, obj, id, EC2T__SETTING_INT, v, NULL, fn);
}

ec2t_status
ec2t__settings_get_double(const ec2t__settings *t, const void *obj, int32_t id, double *v,
                          const char *fn)
{
    return get_value(t, obj, id, EC2T__SETTING_DOUBLE, NULL, v, fn);
}

/* The bounds of a setting of the given type, as its descriptor holds them. */
static ec2t_status
bounds_of(const ec2t__settings *t, int32_t id, ec2t__setting_type type, const void *lo, const void *hi,
          const ec2t__setting **out)
{
    const ec2t__setting *s = ec2t__setting_find(t, id);
    if (!lo || !hi)
        return EC2T_E_INVAL;
    if (!s)
        return EC2T_E_UNSUPPORTED;
    if (s->type != type)
        return EC2T_E_INVAL;
    *out = s;
    return EC2T_OK;
}

ec2t_status
ec2t__settings_bounds_int(const ec2t__settings *t, int32_t id, int64_t *lo, int64_t *hi)
{
    const ec2t__setting *s = NULL;
    ec2t_status st = bounds_of(t, id, EC2T__SETTING_INT, lo, hi, &s);
    if (st == EC2T_OK)
        *lo = s->ilo, *hi = s->ihi;
    return st;
}

ec2t_status
ec2t__settings_bounds_double(const ec2t__settings *t, int32_t id, double *lo, double *hi)
{
    const ec2t__setting *s = NULL;
    ec2t_status st = bounds_of(t, id, EC2T__SETTING_DOUBLE, lo, hi, &s);
    if (st == EC2T_OK)
        *lo = s->lo, *hi = s->hi;
    return st;
}
