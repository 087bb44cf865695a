/* SPDX-License-Identifier: MIT */
/* One settings mechanism for every object that has settings (context,
 * dataset, trainer and its groups, scaler, ternarizer, engine, layer): each
 * describes its settings in a table of descriptors, and the functions below
 * do the lookups, type and range checks, messages, stores and bounds for all
 * of them. The public get/set/bounds functions are thin wrappers.
 *
 * Order of the checks on a set, the same for every object: unknown id
 * (EC2T_E_UNSUPPORTED), read-only (EC2T_E_STATE), the other type (the
 * table's wrong_type), a setting this object lacks (EC2T_E_INVAL), outside
 * the bounds (EC2T_E_INVAL), the table's check; then the store and the
 * table's apply. Every refusal of a value names the setting. */
#ifndef EC2T_SETTINGS_PRIVATE_H
#define EC2T_SETTINGS_PRIVATE_H

#include <stddef.h>

#include "context-private.h"

/** The type a setting is read and written as. */
typedef enum ec2t__setting_type { EC2T__SETTING_INT = 0, EC2T__SETTING_DOUBLE = 1 } ec2t__setting_type;

/** How a setting is kept in its object (at offset). */
typedef enum ec2t__storage {
    EC2T__AT_NONE = 0, /* computed by the table's compute, stored by its apply */
    EC2T__AT_INT,      /* int */
    EC2T__AT_I32,      /* int32_t */
    EC2T__AT_I64,      /* int64_t */
    EC2T__AT_FLOAT,    /* float (the value is checked as a double, then rounded) */
    EC2T__AT_DOUBLE    /* double */
} ec2t__storage;

/** One setting. Bounds are inclusive; an open end of a real range is the
 *  nearest double inside it (nextafter), so that the bounds a caller is told
 *  are values the setting accepts. */
#define EC2T__ABOVE_ZERO 0x1p-1074             /* the least double > 0 */
#define EC2T__BELOW_ONE 0x1.fffffffffffffp-1   /* the greatest double < 1 */
typedef struct ec2t__setting {
    int32_t id;            /* the public enum value */
    const char *name;      /* its name in the header, for messages */
    ec2t__setting_type type;
    int read_only;
    ec2t__storage storage;
    size_t offset;         /* in the object (storage != EC2T__AT_NONE) */
    int64_t ilo, ihi;      /* bounds of an integer setting */
    double lo, hi;         /* bounds of a real one */
} ec2t__setting;

/* Row makers: integer / real, stored at a field of struct type T, or computed
 * (read-only, or stored by the table's apply). */
#define EC2T__INT_AT(id, T, field, st, l, h) \
    {(id), #id, EC2T__SETTING_INT, 0, (st), offsetof(T, field), (l), (h), 0, 0}
#define EC2T__REAL_AT(id, T, field, st, l, h) \
    {(id), #id, EC2T__SETTING_DOUBLE, 0, (st), offsetof(T, field), 0, 0, (l), (h)}
#define EC2T__INT_RO_AT(id, T, field, st, l, h) \
    {(id), #id, EC2T__SETTING_INT, 1, (st), offsetof(T, field), (l), (h), 0, 0}
#define EC2T__REAL_RO_AT(id, T, field, st, l, h) \
    {(id), #id, EC2T__SETTING_DOUBLE, 1, (st), offsetof(T, field), 0, 0, (l), (h)}
#define EC2T__INT_HOOKED(id, ro, l, h) \
    {(id), #id, EC2T__SETTING_INT, (ro), EC2T__AT_NONE, 0, (l), (h), 0, 0}
#define EC2T__REAL_HOOKED(id, ro, l, h) \
    {(id), #id, EC2T__SETTING_DOUBLE, (ro), EC2T__AT_NONE, 0, 0, 0, (l), (h)}

/** The settings of one kind of object. Every hook may be NULL. */
typedef struct ec2t__settings {
    const char *object;         /* "trainer", for messages */
    const ec2t__setting *rows;
    int32_t n_rows;
    /* what a known setting asked for as the other type answers (0.1's choice per object) */
    ec2t_status wrong_type;
    /* the context of an object, for messages */
    ec2t_context *(*ctx_of)(const void *obj);
    /* where the stored fields live, when not in the object itself (a trainer's group) */
    void *(*base_of)(const void *obj);
    /* 0 when this object lacks the setting (a layer of another kind) */
    int (*has)(const void *obj, const ec2t__setting *s);
    /* a refusal beyond the bounds, before the store (with its own message) */
    ec2t_status (*check)(void *obj, const ec2t__setting *s, int64_t i, double d);
    /* after the store: side effects; for EC2T__AT_NONE rows, the store itself */
    ec2t_status (*apply)(void *obj, const ec2t__setting *s, int64_t i, double d);
    /* the value of an EC2T__AT_NONE row */
    void (*compute)(const void *obj, const ec2t__setting *s, int64_t *i, double *d);
} ec2t__settings;

/* The first fields of a table: its object's name, its rows, and what a
 * setting of the other type answers. */
#define EC2T__SETTINGS_ROWS(name, table, wrong) \
    .object = (name), .rows = (table), .n_rows = (int32_t)(sizeof(table) / sizeof((table)[0])), \
    .wrong_type = (wrong)

/* The descriptor of id, or NULL. */
const ec2t__setting *ec2t__setting_find(const ec2t__settings *t, int32_t id);

/* Set / get through the table; fn names the public function in messages.
 * A NULL object answers EC2T_E_INVAL without a message (it has no context). */
ec2t_status ec2t__settings_set_int(const ec2t__settings *t, void *obj, int32_t id, int64_t v,
                                   const char *fn);
ec2t_status ec2t__settings_set_double(const ec2t__settings *t, void *obj, int32_t id, double v,
                                      const char *fn);
ec2t_status ec2t__settings_get_int(const ec2t__settings *t, const void *obj, int32_t id, int64_t *v,
                                   const char *fn);
ec2t_status ec2t__settings_get_double(const ec2t__settings *t, const void *obj, int32_t id, double *v,
                                      const char *fn);

/* Bounds: EC2T_E_INVAL for NULL pointers or the other type, EC2T_E_UNSUPPORTED for an unknown id. */
ec2t_status ec2t__settings_bounds_int(const ec2t__settings *t, int32_t id, int64_t *lo, int64_t *hi);
ec2t_status ec2t__settings_bounds_double(const ec2t__settings *t, int32_t id, double *lo, double *hi);

/* The context's table (context.c); every other object's is declared in its
 * stage's private header. */
extern const ec2t__settings ec2t__context_settings;

#endif /* EC2T_SETTINGS_PRIVATE_H */
