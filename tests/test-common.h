/* SPDX-License-Identifier: MIT */
/* Shared helpers of the Check suites: each test-*.c defines ec2t_test_suite()
 * and links test-main.c, which runs it with CK_ENV verbosity. */
#ifndef EC2T_TEST_COMMON_H
#define EC2T_TEST_COMMON_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <ec2t/ec2t.h>

Suite *ec2t_test_suite(void);

/* A test allocator: counts calls and live blocks and fails call number
 * fail_at (0-based; -1 never fails). Every test context can use it, so any
 * test can check that nothing leaked. */
typedef struct test_alloc {
    long calls;
    long fail_at;
    long live;
    long failures;
} test_alloc;

void *test_alloc_fn(void *user, size_t size, size_t align);
void test_release_fn(void *user, void *ptr);
/* A context on a fresh test_alloc that never fails. */
ec2t_context *test_context(test_alloc *ta);
/* The end of one pass of an allocation-failure loop (the pass made its k-th
 * allocation fail): 1 when no allocation failed, after checking that the
 * call then succeeded, so the loop is done; else 0, after checking that the
 * call returned EC2T_E_NOMEM (or EC2T_OK too, with ok_too, for a call that
 * may recover from a failed allocation). what names the scenario. */
int test_alloc_pass_done(const test_alloc *ta, ec2t_status st, const char *what, long k, int ok_too);

/* Path of a file in tests/data (EC2T_TEST_DATA, set by meson). */
const char *test_data_path(const char *name);
/* A fresh empty folder for the test's files. */
const char *test_tmpdir(void);
/* test_tmpdir()/name, in a static buffer per call slot (0..3). */
const char *test_tmpfile(int slot, const char *name);
/* Write bytes to a file in the temporary folder; returns its path. */
const char *test_write_file(int slot, const char *name, const void *data, size_t len);
/* The input floats of n samples of an engine: n x C x H x W. */
size_t test_engine_input_floats(const ec2t_engine *e, int64_t n);
/* Run an engine on n samples with a fresh workspace of the size it asks for. */
void test_engine_run(ec2t_engine *e, const float *x, int64_t n, float *y, size_t cap);
/* The same for a network. */
size_t test_net_input_floats(const ec2t_net *net, int64_t n);

#define ck_assert_status(expr, want)                                                        \
    do {                                                                                    \
        ec2t_status st__ = (expr);                                                          \
        ck_assert_msg(st__ == (want), "%s returned %d (%s), expected %d (%s)", #expr,       \
                      (int)st__, ec2t_status_string(st__), (int)(want),                     \
                      ec2t_status_string(want));                                            \
    } while (0)

#define ck_assert_ok(expr) ck_assert_status(expr, EC2T_OK)

#endif /* EC2T_TEST_COMMON_H */
