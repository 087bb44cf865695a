/* SPDX-License-Identifier: MIT */
/* Command-line options from a table: each option names the field of the
 * program's options struct it sets and its bounds, so parsing, the usage
 * lines and the defaults come from one place. Public API only. */
#ifndef EC2T_EX_OPTIONS_H
#define EC2T_EX_OPTIONS_H

#include <stddef.h>

typedef enum ex_opt_type {
    EX_OPT_FLAG, /* int, set to 1 */
    EX_OPT_INT,  /* long long in [lo, hi] */
    EX_OPT_REAL, /* double in [lo, hi] */
    EX_OPT_TEXT  /* const char *, borrowed from argv */
} ex_opt_type;

/* One row of a program's option table, in the order a table lists them. */
typedef struct ex_opt {
    const char *name; /* "--epochs" */
    const char *arg;  /* "N" in the usage, NULL for a flag */
    ex_opt_type type;
    size_t at;        /* offsetof the field in the options struct */
    double lo, hi;    /* bounds of a number */
    const char *help;
} ex_opt;

/* Parse argv[1..] into `given` (an options struct the offsets point into),
 * setting set[i] for every option i that appears. Returns 0, 1 for -h or
 * --help (the caller prints its usage), or 2 after a one-line message. */
int ex_opts_parse(const char *prog, int argc, char **argv, const ex_opt *opts, size_t n,
                  void *given, char *set);

/* Copy the fields of the options that appeared from `given` into `out`. */
void ex_opts_apply(const ex_opt *opts, size_t n, const void *given, const char *set, void *out);

/* One usage line per option, with its default taken from each of the
 * n_presets options structs: "(default V)" when they agree, else
 * "(NAME1 V1, NAME2 V2)". A default outside [lo, hi] or NULL is left out
 * (the help text says what it means). */
void ex_opts_usage(const ex_opt *opts, size_t n, const void *const *presets,
                   const char *const *names, int n_presets);

#endif /* EC2T_EX_OPTIONS_H */
