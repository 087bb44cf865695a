/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ex-common.h"

static int
vfail(const char *prog, int code, const char *fmt, va_list ap) EC2T_PRINTF(3, 0);

static int
vfail(const char *prog, int code, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int
ex_fail(const char *prog, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = vfail(prog, 1, fmt, ap);
    va_end(ap);
    return rc;
}

int
ex_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = vfail(prog, 2, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help'.\n", prog);
    return rc;
}

int
ex_fail_status(const char *prog, ec2t_context *ctx, const char *what, ec2t_status st)
{
    return ex_fail(prog, "%s: %s (%s)", what, ec2t_context_errmsg(ctx), ec2t_status_string(st));
}

double
ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

long long
ex_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int
ex_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return 1;
    *out = v;
    return 0;
}

int
ex_parse_real(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 1;
    *out = v;
    return 0;
}

int
ex_parse_name(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return *out = i, 0;
    return 1;
}

static int
exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* IDX pairs, preferring the .gz names Debian and the original sites use. */
static int
load_idx_pair(ec2t_context *ctx, const char *dir, const char *stem, ec2t_dataset **out, char *err,
              size_t cap)
{
    char img[4096], lab[4096];
    ec2t_status st;
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, stem);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, stem);
    if (!exists(img)) {
        snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte", dir, stem);
        snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte", dir, stem);
    }
    if (!exists(img)) {
        snprintf(err, cap, "no %s images in %s (for Fashion-MNIST: apt-get install dataset-fashion-mnist)",
                 stem, dir);
        return 1;
    }
    st = ec2t_dataset_load_idx(ctx, img, lab, 0, out);
    if (st != EC2T_OK) {
        snprintf(err, cap, "%s", ec2t_context_errmsg(ctx));
        return 1;
    }
    return 0;
}

static int
load_cifar10(ec2t_context *ctx, const char *dir, ec2t_dataset **train, ec2t_dataset **test,
             char *err, size_t cap)
{
    char names[6][4096];
    const char *paths[5];
    ec2t_status st;
    for (int i = 0; i < 5; i++) {
        snprintf(names[i], sizeof names[i], "%s/data_batch_%d.bin", dir, i + 1);
        paths[i] = names[i];
    }
    snprintf(names[5], sizeof names[5], "%s/test_batch.bin", dir);
    st = ec2t_dataset_load_cifar(ctx, paths, 5, EC2T_CIFAR10, 0, train);
    if (st == EC2T_OK) {
        paths[0] = names[5];
        st = ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR10, 0, test);
    }
    if (st != EC2T_OK) {
        snprintf(err, cap, "%s (CIFAR-10 binaries: data_batch_1..5.bin and test_batch.bin)",
                 ec2t_context_errmsg(ctx));
        return 1;
    }
    return 0;
}

int
ex_split_train(ec2t_context *ctx, ec2t_dataset **train, long long val, long long limit,
               ec2t_dataset **val_set, char *err, size_t err_cap)
{
    long long n = (long long)ec2t_dataset_size(*train), keep = n - val;
    ec2t_dataset *part = NULL;
    ec2t_status st = EC2T_OK;
    if (val_set)
        *val_set = NULL;
    if (val < 0 || (val > 0 && !val_set)) {
        snprintf(err, err_cap, "ex_split_train: bad validation size %lld", val);
        return 1;
    }
    if (val >= n) {
        snprintf(err, err_cap,
                 "a validation set of %lld images leaves no training images (the set has %lld)", val,
                 n);
        return 1;
    }
    if (limit > 0 && limit < keep)
        keep = limit;
    if (val > 0)
        st = ec2t_dataset_subset(*train, n - val, val, 0, val_set);
    if (st == EC2T_OK && keep < n)
        st = ec2t_dataset_subset(*train, 0, keep, 0, &part);
    if (st != EC2T_OK) {
        snprintf(err, err_cap, "%s", ec2t_context_errmsg(ctx));
        if (val_set) {
            ec2t_dataset_free(*val_set);
            *val_set = NULL;
        }
        return 1;
    }
    if (part) {
        ec2t_dataset_free(*train);
        *train = part;
    }
    return 0;
}

int
ex_load_data(ec2t_context *ctx, const char *spec, int augment, ec2t_dataset **train,
             ec2t_dataset **test, char *err, size_t err_cap)
{
    const char *colon = strchr(spec, ':');
    size_t kind_len = colon ? (size_t)(colon - spec) : strlen(spec);
    const char *dir = colon ? colon + 1 : NULL;
    int is_cifar = 0, rc;
    float mean[3], std[3];
    int32_t c;

    *train = *test = NULL;
    if (kind_len == 13 && strncmp(spec, "fashion-mnist", 13) == 0) {
        dir = dir ? dir : EX_DEFAULT_FASHION_DIR;
    } else if (kind_len == 5 && strncmp(spec, "mnist", 5) == 0 && dir) {
    } else if (kind_len == 7 && strncmp(spec, "cifar10", 7) == 0 && dir) {
        is_cifar = 1;
    } else {
        snprintf(err, err_cap, "unknown data '%s' (fashion-mnist[:DIR], mnist:DIR or cifar10:DIR)",
                 spec);
        return 1;
    }
    rc = is_cifar ? load_cifar10(ctx, dir, train, test, err, err_cap)
                  : load_idx_pair(ctx, dir, "train", train, err, err_cap) ||
                        load_idx_pair(ctx, dir, "t10k", test, err, err_cap);
    if (rc == 0) {
        ec2t_dataset_shape(*train, &c, NULL, NULL);
        if (ec2t_dataset_compute_normalization(*train, mean, std, c) != EC2T_OK ||
            ec2t_dataset_set_normalization(*train, mean, std, c) != EC2T_OK ||
            ec2t_dataset_set_normalization(*test, mean, std, c) != EC2T_OK) {
            snprintf(err, err_cap, "%s", ec2t_context_errmsg(ctx));
            rc = 1;
        }
    }
    if (rc == 0 && augment) {
        ec2t_dataset_set_int(*train, EC2T_DATA_CROP_PAD, is_cifar ? 4 : 2);
        ec2t_dataset_set_int(*train, EC2T_DATA_HFLIP, 1);
    }
    if (rc != 0) {
        ec2t_dataset_free(*train);
        ec2t_dataset_free(*test);
        *train = *test = NULL;
    }
    return rc;
}

int
ex_default_augment(ec2t_net *net)
{
    for (int32_t i = 0; i < ec2t_net_layer_count(net); i++) {
        ec2t_layer *l = NULL;
        if (ec2t_net_layer(net, i, &l) == EC2T_OK && ec2t_layer_get_kind(l) == EC2T_LAYER_BATCHNORM)
            return 1;
    }
    return 0;
}

void
ex_progress_begin(ex_progress *p, const char *label)
{
    p->active = isatty(STDOUT_FILENO);
    p->start = ex_now();
    snprintf(p->label, sizeof p->label, "%s", label);
}

void
ex_progress_update(ex_progress *p, long long done, long long total, const char *extra)
{
    enum { WIDTH = 28 };
    char bar[WIDTH + 1];
    double elapsed, eta, frac;
    int fill;
    if (!p->active || total <= 0)
        return;
    frac = (double)done / (double)total;
    fill = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    elapsed = ex_now() - p->start;
    eta = done > 0 ? elapsed * (double)(total - done) / (double)done : 0;
    printf("\r%-14s [%s] %3d%% %lld/%lld  ETA %3dm%02ds  %s\033[K", p->label, bar,
           (int)(100 * frac), done, total, (int)(eta / 60), (int)fmod(eta, 60), extra ? extra : "");
    fflush(stdout);
}

void
ex_progress_end(ex_progress *p)
{
    if (p->active) {
        printf("\r\033[K");
        fflush(stdout);
    }
}

void
ex_log_stderr(void *user, ec2t_log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"", "error", "warning", "info", "debug"};
    fprintf(stderr, "%s: %s: ", (const char *)user, names[level >= 1 && level <= 4 ? level : 0]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}
