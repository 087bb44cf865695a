/* SPDX-License-Identifier: MIT */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

void *
test_alloc_fn(void *user, size_t size, size_t align)
{
    test_alloc *ta = user;
    void *p = NULL;
    long call = __atomic_fetch_add(&ta->calls, 1, __ATOMIC_RELAXED);
    if (call == ta->fail_at) {
        __atomic_fetch_add(&ta->failures, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    __atomic_fetch_add(&ta->live, 1, __ATOMIC_RELAXED);
    return p;
}

void
test_release_fn(void *user, void *ptr)
{
    test_alloc *ta = user;
    __atomic_fetch_sub(&ta->live, 1, __ATOMIC_RELAXED);
    free(ptr);
}

ec2t_context *
test_context(test_alloc *ta)
{
    ec2t_context *ctx = NULL;
    memset(ta, 0, sizeof *ta);
    ta->fail_at = -1;
    ck_assert_ok(ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, ta, &ctx));
    return ctx;
}

int
test_alloc_pass_done(const test_alloc *ta, ec2t_status st, const char *what, long k, int ok_too)
{
    if (ta->failures == 0) {
        ck_assert_msg(st == EC2T_OK, "%s: failed (%s) without an allocation failure", what,
                      ec2t_status_string(st));
        return 1;
    }
    ck_assert_msg(st == EC2T_E_NOMEM || (ok_too && st == EC2T_OK),
                  "%s: allocation %ld failed but the status was %s", what, k, ec2t_status_string(st));
    return 0;
}

const char *
test_data_path(const char *name)
{
    static char buf[4][4096];
    static int next;
    const char *dir = getenv("EC2T_TEST_DATA");
    char *p = buf[next++ % 4];
    int n = snprintf(p, sizeof buf[0], "%s/%s", dir ? dir : "tests/data", name);
    ck_assert(n > 0 && (size_t)n < sizeof buf[0]);
    return p;
}

static char tmpdir_path[4096];

static int
remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void
remove_tmpdir(void)
{
    if (tmpdir_path[0])
        nftw(tmpdir_path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

const char *
test_tmpdir(void)
{
    if (!tmpdir_path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir_path, sizeof tmpdir_path, "%s/ec2t-test-XXXXXX", base ? base : "/tmp");
        ck_assert_msg(mkdtemp(tmpdir_path) != NULL, "mkdtemp: %s", strerror(errno));
        atexit(remove_tmpdir);
    }
    return tmpdir_path;
}

const char *
test_tmpfile(int slot, const char *name)
{
    static char buf[4][8192];
    int n = snprintf(buf[slot & 3], sizeof buf[0], "%s/%s", test_tmpdir(), name);
    ck_assert(n > 0 && (size_t)n < sizeof buf[0]);
    return buf[slot & 3];
}

const char *
test_write_file(int slot, const char *name, const void *data, size_t len)
{
    const char *path = test_tmpfile(slot, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

int
main(void)
{
    SRunner *sr = srunner_create(ec2t_test_suite());
    int failed;
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

size_t
test_engine_input_floats(const ec2t_engine *e, int64_t n)
{
    int64_t c = 0, h = 0, w = 0;
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_C, &c));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_H, &h));
    ck_assert_ok(ec2t_engine_get_int(e, EC2T_ENGINE_INPUT_W, &w));
    return (size_t)(n * c * h * w);
}

void
test_engine_run(ec2t_engine *e, const float *x, int64_t n, float *y, size_t cap)
{
    size_t bytes;
    void *ws;
    ck_assert_ok(ec2t_engine_workspace_size(e, n, &bytes));
    ws = malloc(bytes);
    ck_assert_ptr_nonnull(ws);
    ck_assert_ok(ec2t_engine_run(e, x, test_engine_input_floats(e, n), n, y, cap, ws, bytes, 0));
    free(ws);
}

size_t
test_net_input_floats(const ec2t_net *net, int64_t n)
{
    int32_t c = 0, h = 0, w = 0;
    ck_assert_ok(ec2t_net_input_shape(net, &c, &h, &w));
    return (size_t)(n * c * h * w);
}
