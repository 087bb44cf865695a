/* SPDX-License-Identifier: MIT */
/* Command-line options from a table (see ex-options.h). */
#include <stdio.h>
#include <string.h>

#include "ex-common.h"
#include "ex-options.h"

static const size_t FIELD_SIZE[] = {[EX_OPT_FLAG] = sizeof(int), [EX_OPT_INT] = sizeof(long long),
                                    [EX_OPT_REAL] = sizeof(double),
                                    [EX_OPT_TEXT] = sizeof(const char *)};

int
ex_opts_parse(const char *prog, int argc, char **argv, const ex_opt *opts, size_t n, void *given,
              char *set)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const ex_opt *p = NULL;
        char *field;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 1;
        for (size_t k = 0; k < n && !p; k++)
            p = strcmp(a, opts[k].name) ? NULL : &opts[k];
        if (!p && a[0] != '-')
            return ex_usage_error(prog, "unexpected argument '%s'", a);
        if (!p)
            return ex_usage_error(prog, "unknown option '%s'", a);
        set[p - opts] = 1;
        field = (char *)given + p->at;
        if (p->type == EX_OPT_FLAG) {
            *(int *)field = 1;
            continue;
        }
        if (!v)
            return ex_usage_error(prog, "%s needs a value", a);
        if (p->type == EX_OPT_INT)
            bad = ex_parse_int(v, (long long)p->lo, (long long)p->hi, (long long *)field);
        else if (p->type == EX_OPT_REAL)
            bad = ex_parse_real(v, p->lo, p->hi, (double *)field);
        else
            *(const char **)field = v;
        if (bad)
            return ex_usage_error(prog, "bad value '%s' for %s", v, a);
        i++;
    }
    return 0;
}

void
ex_opts_apply(const ex_opt *opts, size_t n, const void *given, const char *set, void *out)
{
    for (size_t k = 0; k < n; k++)
        if (set[k])
            memcpy((char *)out + opts[k].at, (const char *)given + opts[k].at,
                   FIELD_SIZE[opts[k].type]);
}

/* An option's value in an options struct as text; 0 if it has none to show. */
static int
format_value(const ex_opt *p, const void *values, char *buf, size_t cap)
{
    const char *field = (const char *)values + p->at;
    if (p->type == EX_OPT_INT) {
        long long v = *(const long long *)field;
        return v >= p->lo && v <= p->hi ? snprintf(buf, cap, "%lld", v), 1 : 0;
    }
    if (p->type == EX_OPT_REAL) {
        double v = *(const double *)field;
        return v >= p->lo && v <= p->hi ? snprintf(buf, cap, "%g", v), 1 : 0;
    }
    if (p->type == EX_OPT_TEXT && *(const char *const *)field)
        return snprintf(buf, cap, "%s", *(const char *const *)field), 1;
    return 0;
}

void
ex_opts_usage(const ex_opt *opts, size_t n, const void *const *presets, const char *const *names,
              int n_presets)
{
    for (size_t i = 0; i < n; i++) {
        const ex_opt *p = &opts[i];
        char head[40], first[64], other[64];
        int same = 1, shown = format_value(p, presets[0], first, sizeof first);
        snprintf(head, sizeof head, "%s %s", p->name, p->arg ? p->arg : "");
        printf("  %-22s %s", head, p->help);
        for (int k = 1; k < n_presets && shown; k++)
            same &= format_value(p, presets[k], other, sizeof other) && !strcmp(first, other);
        if (shown && same) {
            printf(" (default %s)", first);
        } else if (shown) {
            for (int k = 0; k < n_presets; k++) {
                if (!format_value(p, presets[k], other, sizeof other))
                    snprintf(other, sizeof other, "-");
                printf("%s%s %s", k ? ", " : " (", names[k], other);
            }
            printf(")");
        }
        printf("\n");
    }
}
