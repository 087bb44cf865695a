/* SPDX-License-Identifier: MIT */
/* ec2t_dataset: IDX (raw and gzip) and CIFAR files crafted byte by byte,
 * caller arrays, normalisation, shuffling, subsets, batches, augmentation,
 * every malformed input, bad arguments and allocation failures. */
#define ZLIB_CONST
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "test-common.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define CIFAR_PIXELS 3072

/* Three 2x3 images and their labels: the reference IDX data set. */
static const uint8_t px3[18] = {0,  1,  2,  3,  4,   5,   10,  20,  30,
                                40, 50, 60, 255, 254, 253, 128, 127, 0};
static const uint8_t lab3[3] = {0, 4, 2};

static char not_null; /* a non-NULL sentinel for out-parameters */
#define SENTINEL ((ec2t_dataset *)(void *)&not_null)

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX file: magic, ndims big-endian extents, then len data bytes. */
static size_t
build_idx(uint8_t *buf, size_t cap, uint32_t magic, int ndims, const uint32_t *dims,
          const void *data, size_t len)
{
    size_t n = 4 + 4 * (size_t)ndims;
    ck_assert_uint_le(n + len, cap);
    put_be32(buf, magic);
    for (int i = 0; i < ndims; i++)
        put_be32(buf + 4 + 4 * i, dims[i]);
    if (len)
        memcpy(buf + n, data, len);
    return n + len;
}

static size_t
std_images(uint8_t *buf, size_t cap)
{
    static const uint32_t dims[3] = {3, 2, 3};
    return build_idx(buf, cap, IDX_IMAGES, 3, dims, px3, sizeof px3);
}

static size_t
std_labels(uint8_t *buf, size_t cap)
{
    static const uint32_t dims[1] = {3};
    return build_idx(buf, cap, IDX_LABELS, 1, dims, lab3, sizeof lab3);
}

/* One gzip member holding src. */
static size_t
gzip_mem(const void *src, size_t len, uint8_t *dst, size_t cap)
{
    z_stream zs;
    size_t n;
    memset(&zs, 0, sizeof zs);
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = src;
    zs.avail_in = (uInt)len;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    n = zs.total_out;
    deflateEnd(&zs);
    return n;
}

/* The same through zlib's file interface, as gzip(1) users would write it. */
static const char *
write_gzip_file(int slot, const char *name, const void *data, size_t len)
{
    const char *path = test_tmpfile(slot, name);
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzwrite(f, data, (unsigned)len), (int)len);
    ck_assert_int_eq(gzclose(f), Z_OK);
    return path;
}

static void
check_std(ec2t_dataset *ds)
{
    float out[18];
    int32_t lab[3], c = 0, h = 0, w = 0;
    ck_assert_int_eq(ec2t_dataset_size(ds), 3);
    ck_assert_int_eq(ec2t_dataset_classes(ds), 5);
    ck_assert_ok(ec2t_dataset_shape(ds, &c, &h, &w));
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(h, 2);
    ck_assert_int_eq(w, 3);
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, 3, out, 18, lab, 3, 0));
    for (int i = 0; i < 18; i++)
        ck_assert_msg(out[i] == (float)px3[i] / 255.0f, "pixel %d: %g", i, (double)out[i]);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(lab[i], lab3[i]);
}

START_TEST(test_dataset_idx_raw_values)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t ib[64], lb[32];
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb);
    const char *ip = test_write_file(0, "images.idx", ib, ni);
    const char *lp = test_write_file(1, "labels.idx", lb, nl);
    ec2t_dataset *ds = SENTINEL;
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_idx_gzip_values)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t ib[64], lb[32], gz[256], two[512];
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb), n1, n2;
    const char *ip = write_gzip_file(0, "images.idx.gz", ib, ni);
    const char *lp = write_gzip_file(1, "labels.idx.gz", lb, nl);
    const char *raw_lp;
    ec2t_dataset *ds = NULL;

    /* both compressed */
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    /* compression is detected per file, whatever the name says */
    raw_lp = test_write_file(1, "labels.idx.gz", lb, nl);
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, raw_lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    /* concatenated gzip members are one stream (RFC 1952, gzip -c a b) */
    n1 = gzip_mem(ib, 10, two, sizeof two);
    n2 = gzip_mem(ib + 10, ni - 10, two + n1, sizeof two - n1);
    ip = test_write_file(0, "two-members.gz", two, n1 + n2);
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, raw_lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    /* and the in-memory compressor's output, for the malformed cases below */
    n1 = gzip_mem(ib, ni, gz, sizeof gz);
    ip = test_write_file(0, "mem.gz", gz, n1);
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, raw_lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Load a pair of crafted files that must fail with EC2T_E_FORMAT; the message
 * names the bad file (bad: 0 images, 1 labels, 2 both) and contains needle. */
static void
expect_idx_format(ec2t_context *ctx, const void *img, size_t ni, const void *lab, size_t nl,
                  int bad, const char *needle, const char *what)
{
    const char *ip = test_write_file(0, "bad-images.idx", img, ni);
    const char *lp = test_write_file(1, "bad-labels.idx", lab, nl);
    ec2t_dataset *ds = SENTINEL;
    const char *msg;
    ec2t_status st = ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds);
    ck_assert_msg(st == EC2T_E_FORMAT, "%s: status %s", what, ec2t_status_string(st));
    ck_assert_ptr_null(ds);
    msg = ec2t_context_errmsg(ctx);
    if (bad != 1)
        ck_assert_msg(strstr(msg, "bad-images.idx") != NULL, "%s: '%s' lacks the image file",
                      what, msg);
    if (bad != 0)
        ck_assert_msg(strstr(msg, "bad-labels.idx") != NULL, "%s: '%s' lacks the label file",
                      what, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "%s: '%s' lacks '%s'", what, msg, needle);
}

START_TEST(test_dataset_idx_rejects_malformed_raw)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t ib[64], lb[32], x[64];
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb), n;
    static const uint32_t d3[3] = {3, 2, 3}, d2[2] = {3, 6}, d1b[1] = {2};
    uint32_t dims[3];

    expect_idx_format(ctx, ib, ni, lb, nl - 1, 1, "truncated", "truncated labels");
    expect_idx_format(ctx, ib, ni - 1, lb, nl, 0, "truncated", "truncated images");
    memcpy(x, ib, ni);
    x[ni] = 7;
    expect_idx_format(ctx, x, ni + 1, lb, nl, 0, "trailing", "trailing image bytes");
    memcpy(x, lb, nl);
    x[nl] = 7;
    expect_idx_format(ctx, ib, ni, x, nl + 1, 1, "trailing", "trailing label bytes");
    n = build_idx(x, sizeof x, 0x12345678u, 3, d3, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "magic", "bad magic");
    n = build_idx(x, sizeof x, 0x00000802u, 2, d2, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "dimensions", "2-D images");
    n = build_idx(x, sizeof x, 0x00000d03u, 3, d3, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "element type", "float images");
    /* the files swapped */
    expect_idx_format(ctx, lb, nl, ib, ni, 0, "dimensions", "labels as images");
    expect_idx_format(ctx, ib, ni, ib, ni, 1, "dimensions", "images as labels");
    n = build_idx(x, sizeof x, IDX_LABELS, 1, d1b, lab3, 2);
    expect_idx_format(ctx, ib, ni, x, n, 2, "3 images", "count mismatch");
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "2 labels"));
    /* absurd sizes */
    dims[0] = 0xffffffffu, dims[1] = 28, dims[2] = 28;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "absurd", "count 2^32-1");
    dims[0] = 0, dims[1] = 2, dims[2] = 3;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, NULL, 0);
    expect_idx_format(ctx, x, n, lb, nl, 0, "absurd", "count 0");
    dims[0] = 3, dims[1] = 0, dims[2] = 3;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, NULL, 0);
    expect_idx_format(ctx, x, n, lb, nl, 0, "absurd", "0 rows");
    dims[0] = 3, dims[1] = 2, dims[2] = 100000;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "absurd", "100000 columns");
    dims[0] = 0x80000000u, dims[1] = 65536, dims[2] = 65536;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "absurd", "2^63 bytes");
    dims[0] = 0xffffffffu;
    n = build_idx(x, sizeof x, IDX_LABELS, 1, dims, lab3, sizeof lab3);
    expect_idx_format(ctx, ib, ni, x, n, 1, "absurd", "label count 2^32-1");
    dims[0] = 1000000, dims[1] = 28, dims[2] = 28; /* plausible, but not in this file */
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, px3, sizeof px3);
    expect_idx_format(ctx, x, n, lb, nl, 0, "truncated", "1e6 images announced");
    /* short headers and empty files */
    expect_idx_format(ctx, ib, 3, lb, nl, 0, "truncated", "3-byte file");
    expect_idx_format(ctx, ib, 10, lb, nl, 0, "truncated", "half a header");
    expect_idx_format(ctx, ib, 0, lb, nl, 0, "empty", "empty image file");
    expect_idx_format(ctx, ib, ni, lb, 0, 1, "empty", "empty label file");
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_idx_rejects_malformed_gzip)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t ib[64], lb[32], x[64], gz[512], good[256];
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb), n, ng;
    uint32_t dims[3] = {1u << 20, 28, 28};

    ng = gzip_mem(ib, ni, good, sizeof good);
    /* decompressed data shorter or longer than the header says */
    n = gzip_mem(ib, ni - 1, gz, sizeof gz);
    expect_idx_format(ctx, gz, n, lb, nl, 0, "truncated", "gzip: truncated images");
    memcpy(x, ib, ni);
    x[ni] = 9;
    n = gzip_mem(x, ni + 1, gz, sizeof gz);
    expect_idx_format(ctx, gz, n, lb, nl, 0, "trailing", "gzip: trailing image bytes");
    n = gzip_mem(lb, nl - 1, gz, sizeof gz);
    expect_idx_format(ctx, ib, ni, gz, n, 1, "truncated", "gzip: truncated labels");
    /* the compressed stream itself cut short */
    expect_idx_format(ctx, good, ng / 2, lb, nl, 0, "truncated", "gzip: file cut in half");
    expect_idx_format(ctx, good, ng - 4, lb, nl, 0, "truncated", "gzip: trailer cut");
    expect_idx_format(ctx, good, 2, lb, nl, 0, "truncated", "gzip: magic only");
    /* corrupt stream: unknown method, bad CRC, damaged body */
    memcpy(gz, good, ng);
    gz[2] = 7;
    expect_idx_format(ctx, gz, ng, lb, nl, 0, "corrupt", "gzip: method 7");
    memcpy(gz, good, ng);
    gz[ng - 8] ^= 0xff;
    expect_idx_format(ctx, gz, ng, lb, nl, 0, "corrupt", "gzip: bad CRC");
    memcpy(gz, good, ng);
    gz[ng - 4] ^= 0x01; /* the CRC holds, the length does not */
    expect_idx_format(ctx, gz, ng, lb, nl, 0, "corrupt", "gzip: bad length");
    memcpy(gz, good, ng);
    for (size_t i = 10; i < ng - 8; i++)
        gz[i] ^= 0x5a;
    expect_idx_format(ctx, gz, ng, lb, nl, 0, "", "gzip: scrambled body");
    /* garbage after the stream */
    memcpy(gz, good, ng);
    memcpy(gz + ng, "junk", 4);
    expect_idx_format(ctx, gz, ng + 4, lb, nl, 0, "trailing", "gzip: junk after the stream");
    memcpy(gz + ng, "\x1fjunk", 5);
    expect_idx_format(ctx, gz, ng + 5, lb, nl, 0, "corrupt", "gzip: junk member");
    /* a header promising more than the file could ever inflate to */
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, NULL, 0);
    n = gzip_mem(x, n, gz, sizeof gz);
    expect_idx_format(ctx, gz, n, lb, nl, 0, "truncated", "gzip: 2^20 images announced");
    dims[0] = 0xffffffffu;
    n = build_idx(x, sizeof x, IDX_IMAGES, 3, dims, NULL, 0);
    n = gzip_mem(x, n, gz, sizeof gz);
    expect_idx_format(ctx, gz, n, lb, nl, 0, "absurd", "gzip: count 2^32-1");
    /* an empty stream */
    n = gzip_mem(ib, 0, gz, sizeof gz);
    expect_idx_format(ctx, gz, n, lb, nl, 0, "truncated", "gzip: no data at all");
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* An allocator that records the most bytes live at once. Each block keeps
 * its size and the start of its allocation just below the pointer it hands
 * out (alignments are at least 16, so there is room). */
typedef struct peak_alloc {
    size_t live, peak;
} peak_alloc;

static void *
peak_alloc_fn(void *user, size_t size, size_t align)
{
    peak_alloc *pa = user;
    uint8_t *base = NULL;
    size_t *hdr;
    if (align < 16)
        align = 16;
    if (posix_memalign((void **)&base, align, size + align) != 0)
        return NULL;
    hdr = (size_t *)(void *)(base + align) - 2;
    hdr[0] = (size_t)(uintptr_t)base;
    hdr[1] = size;
    pa->live += size;
    pa->peak = pa->live > pa->peak ? pa->live : pa->peak;
    return base + align;
}

static void
peak_release_fn(void *user, void *ptr)
{
    peak_alloc *pa = user;
    size_t *hdr = (size_t *)ptr - 2;
    pa->live -= hdr[1];
    free((void *)(uintptr_t)hdr[0]);
}

/* n bytes that deflate cannot shrink, so that a small gzip file is not
 * refused outright for the size its header announces. */
static uint8_t *
noise_bytes(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
    return p;
}

/* A gzip IDX file: the header for dims, then n_data bytes of data. */
static const char *
gzip_idx_file(int slot, const char *name, uint32_t magic, int ndims, const uint32_t *dims,
              const uint8_t *data, size_t n_data)
{
    size_t n = 4 + 4 * (size_t)ndims, cap = n + n_data + n_data / 100 + 256, len;
    uint8_t *raw = malloc(n + n_data), *gz = malloc(cap);
    const char *path;
    ck_assert_ptr_nonnull(raw);
    ck_assert_ptr_nonnull(gz);
    len = build_idx(raw, n + n_data, magic, ndims, dims, data, n_data);
    len = gzip_mem(raw, len, gz, cap);
    path = test_write_file(slot, name, gz, len);
    free(raw);
    free(gz);
    return path;
}

/* Issue 22: a gzip IDX file of 66 KB announcing 2^26 samples made the loader
 * allocate (and zero) about 770 MB for the labels, the order and the pixels
 * before it found the data missing. Memory must now follow the bytes that
 * are there: a few MB at most, and EC2T_E_FORMAT with a message. */
START_TEST(test_dataset_idx_gzip_announcing_too_much_stays_small)
{
    peak_alloc pa = {0, 0};
    ec2t_context *ctx = NULL;
    ec2t_dataset *ds = SENTINEL;
    uint32_t dims[3] = {1u << 26, 1, 1};
    uint8_t *noise = noise_bytes(66000, 7), *zeros = calloc(1u << 20, 1);
    const char *ip, *lp;
    ck_assert_ptr_nonnull(zeros);
    ck_assert_ok(ec2t_context_new_with_allocator(peak_alloc_fn, peak_release_fn, &pa, &ctx));

    /* 2^26 one-pixel images and as many labels announced, 66,000 of each there */
    ip = gzip_idx_file(0, "huge-images.gz", IDX_IMAGES, 3, dims, noise, 66000);
    lp = gzip_idx_file(1, "huge-labels.gz", IDX_LABELS, 1, dims, noise, 66000);
    pa.peak = pa.live;
    ck_assert_status(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds), EC2T_E_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert_msg(pa.peak < (4u << 20), "peak %zu bytes", pa.peak);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "truncated"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "of 67108864 bytes"));

    /* the labels all there (2^20 of them, 1 MiB), the 2^20 8x8 images not */
    dims[0] = 1u << 20;
    dims[1] = dims[2] = 8;
    ip = gzip_idx_file(0, "huge-images.gz", IDX_IMAGES, 3, dims, noise, 66000);
    lp = gzip_idx_file(1, "huge-labels.gz", IDX_LABELS, 1, dims, zeros, 1u << 20);
    pa.peak = pa.live;
    ck_assert_status(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds), EC2T_E_FORMAT);
    ck_assert_ptr_null(ds);
    ck_assert_msg(pa.peak < (4u << 20), "peak %zu bytes", pa.peak);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "huge-images.gz: truncated"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "image data"));
    ec2t_context_free(ctx);
    ck_assert_uint_eq(pa.live, 0);
    free(noise);
    free(zeros);
}
END_TEST

/* EC2T_CTX_LOAD_LIMIT bounds what a dataset file may make the library hold:
 * the 3 samples of the reference set hold 3 * (6 + 13) = 57 bytes. */
START_TEST(test_dataset_load_limit)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = SENTINEL;
    uint8_t ib[64], lb[32], rec[2 * (1 + CIFAR_PIXELS)];
    const char *ip = test_write_file(0, "images.idx", ib, std_images(ib, sizeof ib));
    const char *lp = test_write_file(1, "labels.idx", lb, std_labels(lb, sizeof lb));
    const char *cp;
    int64_t v = 0;
    memset(rec, 1, sizeof rec);
    cp = test_write_file(2, "batch.bin", rec, sizeof rec);
    ck_assert_ok(ec2t_context_get_int(ctx, EC2T_CTX_LOAD_LIMIT, &v));
    ck_assert_int_eq(v, INT64_C(1) << 30);
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 56));
    ck_assert_status(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds), EC2T_E_NOMEM);
    ck_assert_ptr_null(ds);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "57 bytes"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "EC2T_CTX_LOAD_LIMIT of 56"));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 57));
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds));
    check_std(ds);
    ec2t_dataset_free(ds);
    /* two CIFAR-10 records hold 2 * (3072 + 13) bytes */
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 2 * (CIFAR_PIXELS + 13) - 1));
    ck_assert_status(ec2t_dataset_load_cifar(ctx, &cp, 1, EC2T_CIFAR10, 0, &ds), EC2T_E_NOMEM);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "batch.bin"));
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_LOAD_LIMIT, 2 * (CIFAR_PIXELS + 13)));
    ck_assert_ok(ec2t_dataset_load_cifar(ctx, &cp, 1, EC2T_CIFAR10, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_size(ds), 2);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_idx_io_errors)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    uint8_t lb[32];
    size_t nl = std_labels(lb, sizeof lb);
    const char *lp = test_write_file(1, "labels.idx", lb, nl);
    ec2t_dataset *ds = SENTINEL;
    ck_assert_status(ec2t_dataset_load_idx(ctx, test_tmpfile(0, "missing.idx"), lp, 0, &ds),
                     EC2T_E_IO);
    ck_assert_ptr_null(ds);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "missing.idx"));
    ck_assert_status(ec2t_dataset_load_idx(ctx, test_tmpdir(), lp, 0, &ds), EC2T_E_IO);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), test_tmpdir()));
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* n CIFAR records: label bytes lab0 (+ lab1 for CIFAR-100), pixels (i*7+r)&255. */
static size_t
build_cifar(uint8_t *buf, size_t cap, int n, int hundred, const uint8_t *lab0,
            const uint8_t *lab1, int seed)
{
    size_t rec = (size_t)(hundred ? 2 : 1) + CIFAR_PIXELS, off = 0;
    ck_assert_uint_le(rec * (size_t)n, cap);
    for (int r = 0; r < n; r++) {
        buf[off++] = lab0[r];
        if (hundred)
            buf[off++] = lab1[r];
        for (int i = 0; i < CIFAR_PIXELS; i++)
            buf[off++] = (uint8_t)((i * 7 + r + seed) & 255);
    }
    return off;
}

static void
check_cifar_sample(ec2t_dataset *ds, int64_t index, int r, int seed, int32_t label)
{
    static float out[CIFAR_PIXELS];
    int32_t lab = -1;
    int bad = -1;
    ck_assert_ok(ec2t_dataset_get_batch(ds, index, 1, out, CIFAR_PIXELS, &lab, 1, 0));
    ck_assert_int_eq(lab, label);
    for (int i = 0; i < CIFAR_PIXELS && bad < 0; i++)
        if (out[i] != (float)((i * 7 + r + seed) & 255) / 255.0f)
            bad = i;
    ck_assert_msg(bad < 0, "sample %lld pixel %d", (long long)index, bad);
}

START_TEST(test_dataset_cifar10_values)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static uint8_t a[2 * 3073], b[3073];
    static const uint8_t la[2] = {3, 9}, lb[1] = {0};
    const char *paths[2];
    ec2t_dataset *ds = SENTINEL;
    int32_t c, h, w;
    size_t na = build_cifar(a, sizeof a, 2, 0, la, NULL, 0);
    size_t nb = build_cifar(b, sizeof b, 1, 0, lb, NULL, 5);
    paths[0] = test_write_file(0, "data_batch_1.bin", a, na);
    paths[1] = test_write_file(1, "data_batch_2.bin", b, nb);
    ck_assert_ok(ec2t_dataset_load_cifar(ctx, paths, 2, EC2T_CIFAR10, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_size(ds), 3);
    ck_assert_int_eq(ec2t_dataset_classes(ds), 10);
    ck_assert_ok(ec2t_dataset_shape(ds, &c, &h, &w));
    ck_assert(c == 3 && h == 32 && w == 32);
    check_cifar_sample(ds, 0, 0, 0, 3);
    check_cifar_sample(ds, 1, 1, 0, 9);
    check_cifar_sample(ds, 2, 0, 5, 0); /* the second file follows the first */
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_cifar100_fine_and_coarse)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static uint8_t a[2 * 3074];
    static const uint8_t coarse[2] = {19, 0}, fine[2] = {99, 42};
    const char *paths[1];
    ec2t_dataset *ds = NULL;
    paths[0] = test_write_file(0, "train.bin", a, build_cifar(a, sizeof a, 2, 1, coarse, fine, 1));
    ck_assert_ok(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR100_FINE, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_size(ds), 2);
    ck_assert_int_eq(ec2t_dataset_classes(ds), 100);
    check_cifar_sample(ds, 0, 0, 1, 99);
    check_cifar_sample(ds, 1, 1, 1, 42);
    ec2t_dataset_free(ds);
    ck_assert_ok(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR100_COARSE, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_classes(ds), 20);
    check_cifar_sample(ds, 0, 0, 1, 19);
    check_cifar_sample(ds, 1, 1, 1, 0);
    ec2t_dataset_free(ds);
    /* CIFAR-100 records read as CIFAR-10 do not divide the file */
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR10, 0, &ds), EC2T_E_FORMAT);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A valid one-record file of the kind's layout, then the bad file: loading
 * both must fail with EC2T_E_FORMAT and a message naming the bad one. */
static void
expect_cifar_format(ec2t_context *ctx, const void *bytes, size_t len, ec2t_cifar_kind kind,
                    const char *needle, const char *what)
{
    static uint8_t good[3074];
    static const uint8_t l0[1] = {1}, l1[1] = {2};
    const char *paths[2];
    ec2t_dataset *ds = SENTINEL;
    const char *msg;
    ec2t_status st;
    size_t n = build_cifar(good, sizeof good, 1, kind != EC2T_CIFAR10, l0, l1, 0);
    paths[0] = test_write_file(0, "good.bin", good, n);
    paths[1] = test_write_file(1, "bad.bin", bytes, len);
    st = ec2t_dataset_load_cifar(ctx, paths, 2, kind, 0, &ds);
    ck_assert_msg(st == EC2T_E_FORMAT, "%s: status %s", what, ec2t_status_string(st));
    ck_assert_ptr_null(ds);
    msg = ec2t_context_errmsg(ctx);
    ck_assert_msg(strstr(msg, "bad.bin") != NULL, "%s: '%s' lacks the file name", what, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "%s: '%s' lacks '%s'", what, msg, needle);
}

START_TEST(test_dataset_cifar_rejects_malformed)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static uint8_t buf[3 * 3074], gz[4 * 3074];
    static const uint8_t l10[3] = {1, 10, 2}, c100[2] = {3, 20}, f100[2] = {5, 7},
                         c_ok[2] = {3, 4}, f_bad[2] = {5, 100};
    const char *paths[1];
    ec2t_dataset *ds = SENTINEL;
    size_t n;

    n = build_cifar(buf, sizeof buf, 3, 0, l10, NULL, 0);
    expect_cifar_format(ctx, buf, n, EC2T_CIFAR10, "label 10", "CIFAR-10 label 10");
    expect_cifar_format(ctx, buf, 3073 * 2 - 1, EC2T_CIFAR10, "whole number", "short record");
    expect_cifar_format(ctx, buf, 3073 + 1, EC2T_CIFAR10, "whole number", "extra byte");
    expect_cifar_format(ctx, buf, 0, EC2T_CIFAR10, "empty", "empty file");
    n = build_cifar(buf, sizeof buf, 2, 1, c100, f100, 0);
    expect_cifar_format(ctx, buf, n, EC2T_CIFAR100_FINE, "coarse label 20", "coarse 20 (fine)");
    expect_cifar_format(ctx, buf, n, EC2T_CIFAR100_COARSE, "coarse label 20", "coarse 20");
    n = build_cifar(buf, sizeof buf, 2, 1, c_ok, f_bad, 0);
    expect_cifar_format(ctx, buf, n, EC2T_CIFAR100_FINE, "fine label 100", "fine 100");
    expect_cifar_format(ctx, buf, n, EC2T_CIFAR100_COARSE, "fine label 100", "fine 100 (coarse)");
    n = build_cifar(buf, sizeof buf, 1, 0, l10, NULL, 0);
    n = gzip_mem(buf, n, gz, sizeof gz);
    expect_cifar_format(ctx, gz, n, EC2T_CIFAR10, "gzip", "compressed batch");
    paths[0] = test_tmpfile(0, "no-such-batch.bin");
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR10, 0, &ds), EC2T_E_IO);
    ck_assert_ptr_null(ds);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "no-such-batch.bin"));
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_from_arrays_values)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    float img[2 * 2 * 1 * 3], out[12];
    int32_t lab[2] = {6, 1}, got[2], c, h, w;
    ec2t_dataset *ds = SENTINEL;
    for (int i = 0; i < 12; i++)
        img[i] = (float)i * 0.5f - 2.0f;
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, img, lab, 2, 2, 1, 3, 7, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_size(ds), 2);
    ck_assert_int_eq(ec2t_dataset_classes(ds), 7);
    ck_assert_ok(ec2t_dataset_shape(ds, &c, NULL, &w));
    ck_assert_ok(ec2t_dataset_shape(ds, NULL, &h, NULL));
    ck_assert(c == 2 && h == 1 && w == 3);
    /* the arrays were copied */
    img[0] = 100.0f;
    lab[0] = 0;
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, 2, out, 12, got, 2, 0));
    ck_assert(out[0] == -2.0f);
    for (int i = 1; i < 12; i++)
        ck_assert(out[i] == img[i]);
    ck_assert_int_eq(got[0], 6);
    ck_assert_int_eq(got[1], 1);
    /* the second sample alone */
    ck_assert_ok(ec2t_dataset_get_batch(ds, 1, 1, out, 6, got, 1, 0));
    ck_assert(out[0] == img[6] && out[5] == img[11]);
    ck_assert_int_eq(got[0], 1);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_from_arrays_rejects)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    float img[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int32_t lab[2] = {0, 1};
    ec2t_dataset *ds;
#define EXPECT_INVAL(call)                                                                   \
    do {                                                                                     \
        ds = SENTINEL;                                                                       \
        ck_assert_status(call, EC2T_E_INVAL);                                                \
        ck_assert_ptr_null(ds);                                                              \
        ck_assert_str_ne(ec2t_context_errmsg(ctx), "");                                      \
    } while (0)
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 0, 1, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, -1, 1, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 0, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 4097, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 0, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 65537, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, -3, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 0, 0, &ds));
    /* more than the storage cap, refused before the arrays are read */
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, INT64_C(1) << 40, 4096, 65536, 65536,
                                          2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 1, 0, &ds));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "label 1"));
    lab[1] = -1;
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 0, &ds));
    lab[1] = 1;
    img[5] = NAN;
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 0, &ds));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "not finite"));
    img[5] = INFINITY;
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 0, &ds));
    img[5] = 5;
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, NULL, lab, 2, 1, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, NULL, 2, 1, 2, 2, 2, 0, &ds));
    EXPECT_INVAL(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 1, &ds));
    ck_assert_status(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 0, NULL),
                     EC2T_E_INVAL);
    ds = SENTINEL;
    ck_assert_status(ec2t_dataset_from_arrays(NULL, img, lab, 2, 1, 2, 2, 2, 0, &ds),
                     EC2T_E_INVAL);
    ck_assert_ptr_null(ds);
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, img, lab, 2, 1, 2, 2, 2, 0, &ds));
    ec2t_dataset_free(ds);
#undef EXPECT_INVAL
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static ec2t_dataset *
load_std(ec2t_context *ctx)
{
    uint8_t ib[64], lb[32];
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb);
    ec2t_dataset *ds = NULL;
    ck_assert_ok(ec2t_dataset_load_idx(ctx, test_write_file(0, "std-images.idx", ib, ni),
                                       test_write_file(1, "std-labels.idx", lb, nl), 0, &ds));
    return ds;
}

START_TEST(test_dataset_normalization_applied)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = load_std(ctx), *sub = NULL;
    float mean = 0.5f, sd = 0.25f, out[18];
    float fimg[4] = {1, 2, 3, 4}, fmean[2] = {1, -1}, fsd[2] = {2, 0.5f}, fout[4];
    int32_t flab[1] = {0};
    ec2t_dataset *fds = NULL;

    ck_assert_ok(ec2t_dataset_set_normalization(ds, &mean, &sd, 1));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, 3, out, 18, NULL, 0, 0));
    for (int i = 0; i < 18; i++)
        ck_assert_msg(out[i] == ((float)px3[i] / 255.0f - 0.5f) / 0.25f, "pixel %d", i);
    ck_assert(out[0] == -2.0f);
    ck_assert(out[12] == 2.0f);
    /* a subset keeps the normalisation */
    ck_assert_ok(ec2t_dataset_subset(ds, 2, 1, 0, &sub));
    ck_assert_ok(ec2t_dataset_get_batch(sub, 0, 1, out, 6, NULL, 0, 0));
    ck_assert(out[0] == 2.0f);
    ec2t_dataset_free(sub);
    /* float data, two channels */
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, fimg, flab, 1, 2, 1, 2, 1, 0, &fds));
    ck_assert_ok(ec2t_dataset_set_normalization(fds, fmean, fsd, 2));
    ck_assert_ok(ec2t_dataset_get_batch(fds, 0, 1, fout, 4, NULL, 0, 0));
    ck_assert(fout[0] == 0.0f && fout[1] == 0.5f && fout[2] == 8.0f && fout[3] == 10.0f);
    /* rejected values leave the normalisation as it was */
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 3), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "3 channels"));
    fsd[1] = 0;
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 2), EC2T_E_INVAL);
    fsd[1] = -1;
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 2), EC2T_E_INVAL);
    fsd[1] = NAN;
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 2), EC2T_E_INVAL);
    fsd[1] = 0.5f;
    fmean[0] = INFINITY;
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, fsd, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_normalization(fds, NULL, fsd, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_normalization(fds, fmean, NULL, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_normalization(NULL, fmean, fsd, 2), EC2T_E_INVAL);
    ck_assert_ok(ec2t_dataset_get_batch(fds, 0, 1, fout, 4, NULL, 0, 0));
    ck_assert(fout[0] == 0.0f && fout[3] == 10.0f);
    ec2t_dataset_free(fds);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_normalization_computed)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = load_std(ctx), *fds = NULL;
    /* channel 0: {1, 3} -> 2, 1; channel 1: {-2, -2} -> -2, 0; channel 2: {0, 10} -> 5, 5 */
    float fimg[6] = {1, -2, 0, 3, -2, 10}, m[3], s[3], keep = 42.0f;
    int32_t flab[2] = {0, 0};
    double sum = 0, sq = 0, mean;

    for (int i = 0; i < 18; i++)
        sum += px3[i] / 255.0;
    mean = sum / 18;
    for (int i = 0; i < 18; i++)
        sq += (px3[i] / 255.0 - mean) * (px3[i] / 255.0 - mean);
    /* statistics of the raw pixels, whatever normalisation is set */
    ck_assert_ok(ec2t_dataset_set_normalization(ds, &keep, &keep, 1));
    ck_assert_ok(ec2t_dataset_compute_normalization(ds, m, s, 1));
    ck_assert_float_eq_tol(m[0], mean, 1e-6);
    ck_assert_float_eq_tol(s[0], sqrt(sq / 18), 1e-6);
    ck_assert_status(ec2t_dataset_compute_normalization(ds, m, s, 3), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_compute_normalization(ds, NULL, s, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_compute_normalization(ds, m, NULL, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_compute_normalization(NULL, m, s, 1), EC2T_E_INVAL);

    /* images (1,3,1,1) in NCHW: sample 0 = {1, -2, 0}, sample 1 = {3, -2, 10} */
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, fimg, flab, 2, 3, 1, 1, 1, 0, &fds));
    ck_assert_ok(ec2t_dataset_compute_normalization(fds, m, s, 3));
    ck_assert_float_eq_tol(m[0], 2.0f, 1e-6);
    ck_assert_float_eq_tol(s[0], 1.0f, 1e-6);
    ck_assert_float_eq_tol(m[1], -2.0f, 1e-6);
    ck_assert_float_eq_tol(s[1], 0.0f, 1e-6);
    ck_assert_float_eq_tol(m[2], 5.0f, 1e-6);
    ck_assert_float_eq_tol(s[2], 5.0f, 1e-6);
    ck_assert_status(ec2t_dataset_compute_normalization(fds, m, s, 1), EC2T_E_INVAL);
    ec2t_dataset_free(fds);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* n samples of one 1x1 pixel whose value is the sample's load index. */
static ec2t_dataset *
index_dataset(ec2t_context *ctx, int n)
{
    float *img = malloc((size_t)n * sizeof *img);
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    ec2t_dataset *ds = NULL;
    for (int i = 0; i < n; i++) {
        img[i] = (float)i;
        lab[i] = i % 7;
    }
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, img, lab, n, 1, 1, 1, 7, 0, &ds));
    free(img);
    free(lab);
    return ds;
}

/* The current order, as load indices. */
static void
current_order(ec2t_dataset *ds, int n, int *order)
{
    float v[100];
    int32_t lab[100];
    ck_assert_int_le(n, 100);
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, n, v, (size_t)n, lab, (size_t)n, 0));
    for (int i = 0; i < n; i++) {
        order[i] = (int)v[i];
        ck_assert_int_eq(lab[i], order[i] % 7); /* labels travel with their images */
    }
}

START_TEST(test_dataset_shuffle_permutation)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    enum { N = 100 };
    ec2t_dataset *ds = index_dataset(ctx, N), *sub = NULL;
    int a[N], b[N], c[N], seen[N] = {0}, identity = 1, differ = 0;
    float v[20];

    current_order(ds, N, a);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(a[i], i); /* load order until shuffled */
    ck_assert_ok(ec2t_dataset_shuffle(ds, 42));
    current_order(ds, N, a);
    for (int i = 0; i < N; i++) {
        ck_assert(a[i] >= 0 && a[i] < N);
        seen[a[i]]++;
        identity &= a[i] == i;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert(!identity);
    /* another seed, another order; the same seed again, the same order,
     * whatever came before */
    ck_assert_ok(ec2t_dataset_shuffle(ds, 43));
    current_order(ds, N, b);
    ck_assert_ok(ec2t_dataset_shuffle(ds, 42));
    current_order(ds, N, c);
    for (int i = 0; i < N; i++) {
        differ += a[i] != b[i];
        ck_assert_int_eq(a[i], c[i]);
    }
    ck_assert_int_gt(differ, 0);
    /* a subset copies the current order */
    ck_assert_ok(ec2t_dataset_subset(ds, 10, 20, 0, &sub));
    ck_assert_int_eq(ec2t_dataset_size(sub), 20);
    ck_assert_int_eq(ec2t_dataset_classes(sub), 7);
    ck_assert_ok(ec2t_dataset_get_batch(sub, 0, 20, v, 20, NULL, 0, 0));
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq((int)v[i], a[10 + i]);
    /* and owns its copy: reshuffling or freeing the source changes nothing */
    ck_assert_ok(ec2t_dataset_shuffle(ds, 7));
    ec2t_dataset_free(ds);
    ck_assert_ok(ec2t_dataset_get_batch(sub, 0, 20, v, 20, NULL, 0, 0));
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq((int)v[i], a[10 + i]);
    ec2t_dataset_free(sub);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_subset_errors_and_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = load_std(ctx), *sub = SENTINEL;
    float out[12];
    int32_t lab[2];
    ck_assert_status(ec2t_dataset_subset(ds, -1, 1, 0, &sub), EC2T_E_INVAL);
    ck_assert_ptr_null(sub);
    ck_assert_status(ec2t_dataset_subset(ds, 0, 0, 0, &sub), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(ds, 1, 3, 0, &sub), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(ds, 3, 1, 0, &sub), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(ds, 1, INT64_MAX, 0, &sub), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(ds, 0, 1, 1, &sub), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(ds, 0, 1, 0, NULL), EC2T_E_INVAL);
    sub = SENTINEL;
    ck_assert_status(ec2t_dataset_subset(NULL, 0, 1, 0, &sub), EC2T_E_INVAL);
    ck_assert_ptr_null(sub);
    /* an 8-bit subset stays exact */
    ck_assert_ok(ec2t_dataset_subset(ds, 1, 2, 0, &sub));
    ck_assert_int_eq(ec2t_dataset_classes(sub), 5);
    ck_assert_ok(ec2t_dataset_get_batch(sub, 0, 2, out, 12, lab, 2, 0));
    for (int i = 0; i < 12; i++)
        ck_assert(out[i] == (float)px3[6 + i] / 255.0f);
    ck_assert_int_eq(lab[0], 4);
    ck_assert_int_eq(lab[1], 2);
    ec2t_dataset_free(sub);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- augmentation ------------------------------------------------------- */

enum { AUG_N = 32, AUG_C = 2, AUG_H = 5, AUG_W = 6 };

/* AUG_N images of AUG_C x 5 x 6 with distinct positive values in each image. */
static ec2t_dataset *
aug_float_dataset(ec2t_context *ctx)
{
    static float img[AUG_N * AUG_C * AUG_H * AUG_W];
    int32_t lab[AUG_N];
    ec2t_dataset *ds = NULL;
    static const float mean[AUG_C] = {0.5f, -1.0f}, sd[AUG_C] = {0.25f, 2.0f};
    for (int i = 0; i < AUG_N * AUG_C * AUG_H * AUG_W; i++)
        img[i] = 1.0f + (float)i;
    for (int i = 0; i < AUG_N; i++)
        lab[i] = i % 3;
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, img, lab, AUG_N, AUG_C, AUG_H, AUG_W, 3, 0, &ds));
    ck_assert_ok(ec2t_dataset_set_normalization(ds, mean, sd, AUG_C));
    return ds;
}

/* The same from an IDX file (8-bit storage, one channel). */
static ec2t_dataset *
aug_u8_dataset(ec2t_context *ctx)
{
    static uint8_t px[AUG_N * AUG_H * AUG_W], ib[16 + sizeof px], lb[8 + AUG_N], lab[AUG_N];
    static const uint32_t di[3] = {AUG_N, AUG_H, AUG_W}, dl[1] = {AUG_N};
    static const float mean = 0.5f, sd = 0.25f;
    ec2t_dataset *ds = NULL;
    size_t ni, nl;
    for (int i = 0; i < AUG_N; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int k = 0; k < AUG_H * AUG_W; k++)
            px[i * AUG_H * AUG_W + k] = (uint8_t)(1 + k + 3 * i);
    }
    ni = build_idx(ib, sizeof ib, IDX_IMAGES, 3, di, px, sizeof px);
    nl = build_idx(lb, sizeof lb, IDX_LABELS, 1, dl, lab, sizeof lab);
    ck_assert_ok(ec2t_dataset_load_idx(ctx, test_write_file(0, "aug-images.idx", ib, ni),
                                       test_write_file(1, "aug-labels.idx", lb, nl), 0, &ds));
    ck_assert_ok(ec2t_dataset_set_normalization(ds, &mean, &sd, 1));
    return ds;
}

/* Whether out is ref (one normalised image, c planes of h x w) cropped at
 * (dy, dx) from the padded image and then mirrored when flip is set. */
static int
is_augmented(const float *out, const float *ref, int c, int h, int w, int dy, int dx, int flip,
             const float *pad_value)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
                float want = sy < 0 || sy >= h || sx < 0 || sx >= w
                                 ? pad_value[ch]
                                 : ref[(ch * h + sy) * w + sx];
                if (out[(ch * h + y) * w + x] != want)
                    return 0;
            }
    return 1;
}

typedef struct aug_stats {
    int shifted, flipped, plain;
} aug_stats;

/* Every augmented image is the plain one under some crop offset within the
 * padding and some flip (only when allowed); count what was drawn. */
static aug_stats
check_augmented(ec2t_dataset *ds, int pad, int hflip, const float *pad_value)
{
    static float ref[AUG_N * AUG_C * AUG_H * AUG_W], aug[AUG_N * AUG_C * AUG_H * AUG_W];
    int32_t c, h, w, lab_ref[AUG_N], lab_aug[AUG_N];
    size_t sample;
    aug_stats st = {0, 0, 0};
    ck_assert_ok(ec2t_dataset_shape(ds, &c, &h, &w));
    sample = (size_t)(c * h * w);
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, ref, sizeof ref / 4, lab_ref, AUG_N, 0));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, aug, sizeof aug / 4, lab_aug, AUG_N,
                                        EC2T_BATCH_AUGMENT));
    for (int i = 0; i < AUG_N; i++) {
        int found = 0;
        ck_assert_int_eq(lab_ref[i], lab_aug[i]);
        for (int flip = 0; flip <= hflip && !found; flip++)
            for (int dy = -pad; dy <= pad && !found; dy++)
                for (int dx = -pad; dx <= pad && !found; dx++)
                    if (is_augmented(aug + i * sample, ref + i * sample, c, h, w, dy, dx, flip,
                                     pad_value)) {
                        found = 1;
                        st.shifted += dy != 0 || dx != 0;
                        st.flipped += flip;
                        st.plain += !flip && dy == 0 && dx == 0;
                    }
        ck_assert_msg(found, "image %d is no crop/flip of the original", i);
    }
    return st;
}

START_TEST(test_dataset_augment_off_is_plain)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = aug_float_dataset(ctx);
    static float a[AUG_N * AUG_C * AUG_H * AUG_W], b[AUG_N * AUG_C * AUG_H * AUG_W];
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, a, sizeof a / 4, NULL, 0, 0));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, b, sizeof b / 4, NULL, 0,
                                        EC2T_BATCH_AUGMENT));
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, 0));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 0));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, b, sizeof b / 4, NULL, 0,
                                        EC2T_BATCH_AUGMENT));
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* augmentation set, but not asked for */
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, 3));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 1));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, b, sizeof b / 4, NULL, 0, 0));
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_augment_flip)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = aug_u8_dataset(ctx);
    static const float pad_value[1] = {-2.0f};
    float ref[AUG_H * AUG_W], out[AUG_H * AUG_W];
    aug_stats st;
    int flipped_seen = 0;
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 1));
    st = check_augmented(ds, 0, 1, pad_value);
    ck_assert_int_eq(st.shifted, 0);
    ck_assert_int_gt(st.flipped, 0);
    ck_assert_int_gt(st.plain, 0);
    /* spelled out: a flipped image has row y of the original reversed */
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, 1, ref, AUG_H * AUG_W, NULL, 0, 0));
    for (int k = 0; k < 64 && !flipped_seen; k++) {
        ck_assert_ok(ec2t_dataset_get_batch(ds, 0, 1, out, AUG_H * AUG_W, NULL, 0,
                                            EC2T_BATCH_AUGMENT));
        if (out[0] != ref[0]) {
            flipped_seen = 1;
            for (int y = 0; y < AUG_H; y++)
                for (int x = 0; x < AUG_W; x++)
                    ck_assert(out[y * AUG_W + x] == ref[y * AUG_W + AUG_W - 1 - x]);
            /* pixel (0, 0) is raw 1, so (1/255 - 0.5) / 0.25; (0, 5) is raw 6 */
            ck_assert(out[AUG_W - 1] == (1.0f / 255.0f - 0.5f) / 0.25f);
            ck_assert(out[0] == (6.0f / 255.0f - 0.5f) / 0.25f);
        } else {
            ck_assert_int_eq(memcmp(out, ref, sizeof out), 0);
        }
    }
    ck_assert(flipped_seen);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_augment_crop)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *u8 = aug_u8_dataset(ctx), *f32 = aug_float_dataset(ctx);
    /* a raw 0 normalised: (0 - 0.5) / 0.25 and (0 + 1) / 2 */
    static const float pad_u8[1] = {-2.0f}, pad_f32[AUG_C] = {-2.0f, 0.5f};
    aug_stats st;

    ck_assert_ok(ec2t_dataset_set_int(u8, EC2T_DATA_CROP_PAD, 2));
    st = check_augmented(u8, 2, 0, pad_u8);
    ck_assert_int_gt(st.shifted, 0);
    ck_assert_int_eq(st.flipped, 0);
    ck_assert_ok(ec2t_dataset_set_int(f32, EC2T_DATA_CROP_PAD, 2));
    st = check_augmented(f32, 2, 0, pad_f32);
    ck_assert_int_gt(st.shifted, 0);
    /* both together, and a padding wider than the image */
    ck_assert_ok(ec2t_dataset_set_int(f32, EC2T_DATA_HFLIP, 1));
    st = check_augmented(f32, 2, 1, pad_f32);
    ck_assert_int_gt(st.shifted, 0);
    ck_assert_int_gt(st.flipped, 0);
    ck_assert_ok(ec2t_dataset_set_int(u8, EC2T_DATA_CROP_PAD, 7));
    ck_assert_ok(ec2t_dataset_set_int(u8, EC2T_DATA_HFLIP, 1));
    st = check_augmented(u8, 7, 1, pad_u8);
    ck_assert_int_gt(st.shifted, 0);
    ec2t_dataset_free(u8);
    ec2t_dataset_free(f32);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static void
augmented_batch(ec2t_dataset *ds, float *out)
{
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, out, AUG_N * AUG_C * AUG_H * AUG_W, NULL, 0,
                                        EC2T_BATCH_AUGMENT));
}

/* With Cutout alone, each augmented image is the plain one but for a
 * rectangle of zeros (no pixel of these images is 0 once normalised): at most
 * side x side, exactly that when it lies inside the image, and clipped at a
 * border for some draws. A subset keeps the setting. */
static void
check_cutout(ec2t_dataset *ds, int side, int *full, int *clipped)
{
    static float ref[AUG_N * AUG_H * AUG_W], aug[AUG_N * AUG_H * AUG_W];
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, ref, AUG_N * AUG_H * AUG_W, NULL, 0, 0));
    ck_assert_ok(ec2t_dataset_get_batch(ds, 0, AUG_N, aug, AUG_N * AUG_H * AUG_W, NULL, 0,
                                        EC2T_BATCH_AUGMENT));
    for (int i = 0; i < AUG_N; i++) {
        const float *r = ref + i * AUG_H * AUG_W, *a = aug + i * AUG_H * AUG_W;
        int y0 = AUG_H, y1 = -1, x0 = AUG_W, x1 = -1, zeros = 0;
        for (int y = 0; y < AUG_H; y++)
            for (int x = 0; x < AUG_W; x++) {
                ck_assert(r[y * AUG_W + x] != 0.0f);
                if (a[y * AUG_W + x] == 0.0f) {
                    zeros++;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                } else {
                    ck_assert(a[y * AUG_W + x] == r[y * AUG_W + x]);
                }
            }
        ck_assert_int_gt(zeros, 0); /* the centre is always inside */
        ck_assert_int_eq(zeros, (y1 - y0 + 1) * (x1 - x0 + 1));
        ck_assert_int_le(y1 - y0 + 1, side);
        ck_assert_int_le(x1 - x0 + 1, side);
        *full += zeros == side * side;
        *clipped += zeros < side * side;
    }
}

START_TEST(test_dataset_augment_cutout)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = aug_u8_dataset(ctx), *sub = NULL;
    int full = 0, clipped = 0;
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CUTOUT, 3));
    for (int k = 0; k < 16; k++)
        check_cutout(ds, 3, &full, &clipped);
    ck_assert_int_gt(full, 0);
    ck_assert_int_gt(clipped, 0);
    ck_assert_ok(ec2t_dataset_subset(ds, 0, AUG_N, 0, &sub));
    full = clipped = 0;
    check_cutout(sub, 3, &full, &clipped);
    ck_assert_int_eq(full + clipped, AUG_N);
    ec2t_dataset_free(sub);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_augment_reproducible)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *a = aug_float_dataset(ctx), *b = aug_float_dataset(ctx), *c = NULL, *sub = NULL;
    static float x[AUG_N * AUG_C * AUG_H * AUG_W], y[AUG_N * AUG_C * AUG_H * AUG_W],
        z[AUG_N * AUG_C * AUG_H * AUG_W];
    ec2t_dataset *all[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        ck_assert_ok(ec2t_dataset_set_int(all[i], EC2T_DATA_CROP_PAD, 2));
        ck_assert_ok(ec2t_dataset_set_int(all[i], EC2T_DATA_HFLIP, 1));
    }
    /* the default seed is the context's: two datasets draw alike */
    augmented_batch(a, x);
    augmented_batch(b, y);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    /* the generator advances... */
    augmented_batch(a, z);
    ck_assert_int_ne(memcmp(x, z, sizeof x), 0);
    /* ...and setting the seed restarts it */
    ck_assert_ok(ec2t_dataset_set_int(a, EC2T_DATA_SEED, -5));
    ck_assert_ok(ec2t_dataset_set_int(b, EC2T_DATA_SEED, -5));
    augmented_batch(a, x);
    augmented_batch(b, y);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    augmented_batch(a, z);
    ck_assert_ok(ec2t_dataset_set_int(a, EC2T_DATA_SEED, -5));
    augmented_batch(a, y);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    ck_assert_ok(ec2t_dataset_set_int(b, EC2T_DATA_SEED, 6));
    augmented_batch(b, y);
    ck_assert_int_ne(memcmp(x, y, sizeof x), 0);
    /* a subset takes the options and the seed, and starts its own generator */
    ck_assert_ok(ec2t_dataset_set_int(a, EC2T_DATA_SEED, 11));
    ck_assert_ok(ec2t_dataset_subset(a, 0, AUG_N, 0, &sub));
    augmented_batch(a, x);
    augmented_batch(sub, y);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    /* another context seed, other draws */
    ck_assert_ok(ec2t_context_set_int(ctx, EC2T_CTX_SEED, 99));
    c = aug_float_dataset(ctx);
    ck_assert_ok(ec2t_dataset_set_int(c, EC2T_DATA_CROP_PAD, 2));
    ck_assert_ok(ec2t_dataset_set_int(c, EC2T_DATA_HFLIP, 1));
    ck_assert_ok(ec2t_dataset_set_int(b, EC2T_DATA_SEED, 0x5eed));
    augmented_batch(b, x);
    augmented_batch(c, y);
    ck_assert_int_ne(memcmp(x, y, sizeof x), 0);
    ck_assert_ok(ec2t_dataset_set_int(c, EC2T_DATA_SEED, 0x5eed));
    augmented_batch(c, y);
    ck_assert_int_eq(memcmp(x, y, sizeof x), 0);
    ec2t_dataset_free(a);
    ec2t_dataset_free(b);
    ec2t_dataset_free(c);
    ec2t_dataset_free(sub);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_get_batch_errors)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = load_std(ctx);
    float out[18];
    int32_t lab[3];
    const char *msg;

    for (int i = 0; i < 18; i++)
        out[i] = 7777.0f;
    lab[0] = lab[1] = lab[2] = -9;
    /* buffers too small: EC2T_E_RANGE, the size needed in the message, nothing written */
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 3, out, 17, lab, 3, 0), EC2T_E_RANGE);
    msg = ec2t_context_errmsg(ctx);
    ck_assert_msg(strstr(msg, "18") != NULL, "'%s'", msg);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 3, out, 18, lab, 2, 0), EC2T_E_RANGE);
    ck_assert_status(ec2t_dataset_get_batch(ds, 1, 2, out, 18, lab, 1, EC2T_BATCH_AUGMENT),
                     EC2T_E_RANGE);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 1, NULL, 0, lab, 3, 0), EC2T_E_RANGE);
    for (int i = 0; i < 18; i++)
        ck_assert(out[i] == 7777.0f);
    ck_assert(lab[0] == -9 && lab[1] == -9 && lab[2] == -9);
    /* bad ranges, flags and pointers */
    ck_assert_status(ec2t_dataset_get_batch(ds, -1, 1, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 0, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, -2, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 2, 2, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 3, 1, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 1, INT64_MAX, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, INT64_MAX, 1, out, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 1, out, 18, lab, 3, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 1, NULL, 18, lab, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(ds, 0, 1, out, 18, NULL, 3, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(NULL, 0, 1, out, 18, lab, 3, 0), EC2T_E_INVAL);
    for (int i = 0; i < 18; i++)
        ck_assert(out[i] == 7777.0f);
    /* labels are optional */
    ck_assert_ok(ec2t_dataset_get_batch(ds, 2, 1, out, 6, NULL, 0, 0));
    ck_assert(out[0] == 1.0f && out[6] == 7777.0f);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_set_int)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = load_std(ctx);
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_SEED, INT64_MIN));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_SEED, INT64_MAX));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, 0));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, 64));
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, 65), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "CROP_PAD"));
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_CROP_PAD, -1), EC2T_E_INVAL);
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 1));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 0));
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, 2), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_HFLIP, -1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_int(ds, (ec2t_dataset_param)599, 0), EC2T_E_UNSUPPORTED);
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CUTOUT, 64));
    ck_assert_ok(ec2t_dataset_set_int(ds, EC2T_DATA_CUTOUT, 0));
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_CUTOUT, 65), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "CUTOUT"));
    ck_assert_status(ec2t_dataset_set_int(ds, EC2T_DATA_CUTOUT, -1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_int(ds, (ec2t_dataset_param)604, 0), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_dataset_set_int(NULL, EC2T_DATA_HFLIP, 0), EC2T_E_INVAL);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_dataset_null_and_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = SENTINEL;
    const char *paths[2] = {"a.bin", NULL};
    float f[4] = {0};
    int32_t i32 = 0;

    /* constructors: a NULL context (no message possible), NULL arguments, flags */
    ck_assert_status(ec2t_dataset_load_idx(NULL, "a", "b", 0, &ds), EC2T_E_INVAL);
    ck_assert_ptr_null(ds);
    ck_assert_status(ec2t_dataset_load_idx(ctx, NULL, "b", 0, &ds), EC2T_E_INVAL);
    ck_assert_str_ne(ec2t_context_errmsg(ctx), "");
    ck_assert_status(ec2t_dataset_load_idx(ctx, "a", NULL, 0, &ds), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_idx(ctx, "a", "b", 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_idx(ctx, "a", "b", 1, &ds), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "flags"));
    ds = SENTINEL;
    ck_assert_status(ec2t_dataset_load_cifar(NULL, paths, 1, EC2T_CIFAR10, 0, &ds), EC2T_E_INVAL);
    ck_assert_ptr_null(ds);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, NULL, 1, EC2T_CIFAR10, 0, &ds), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR10, 0, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 0, EC2T_CIFAR10, 0, &ds), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 65, EC2T_CIFAR10, 0, &ds), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 2, EC2T_CIFAR10, 0, &ds), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "paths[1]"));
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, (ec2t_cifar_kind)11, 0, &ds),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, (ec2t_cifar_kind)0, 0, &ds),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_load_cifar(ctx, paths, 1, EC2T_CIFAR10, 4, &ds), EC2T_E_INVAL);
    ck_assert_ptr_null(ds);
    ck_assert_status(ec2t_dataset_from_arrays(NULL, f, &i32, 1, 1, 2, 2, 1, 0, &ds),
                     EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_subset(NULL, 0, 1, 0, &ds), EC2T_E_INVAL);
    /* methods on a NULL handle */
    ec2t_dataset_free(NULL);
    ck_assert_int_eq(ec2t_dataset_size(NULL), 0);
    ck_assert_int_eq(ec2t_dataset_classes(NULL), 0);
    ck_assert_status(ec2t_dataset_shape(NULL, &i32, &i32, &i32), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_int(NULL, EC2T_DATA_SEED, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_set_normalization(NULL, f, f, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_compute_normalization(NULL, f, f, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_shuffle(NULL, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_dataset_get_batch(NULL, 0, 1, f, 4, &i32, 1, 0), EC2T_E_INVAL);
    /* a shape query may skip any output */
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, f, &i32, 1, 1, 2, 2, 1, 0, &ds));
    ck_assert_ok(ec2t_dataset_shape(ds, NULL, NULL, NULL));
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The real Fashion-MNIST test set, when the system has it (CI installs it). */
START_TEST(test_dataset_fashion_mnist_test_set)
{
    static const char dir[] = "/usr/share/datasets/fashion-mnist";
    static float images[1000 * 784];
    char ip[256], lp[256];
    test_alloc ta;
    ec2t_context *ctx;
    ec2t_dataset *ds = NULL;
    int32_t labels[1000], c, h, w;
    int64_t per_class[10] = {0}, out_of_range = 0;
    float mean, sd;

    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (access(ip, R_OK) != 0 || access(lp, R_OK) != 0) {
        printf("test_dataset_fashion_mnist_test_set: %s or %s is missing; "
               "not checked here (install the Fashion-MNIST package to run it)\n",
               ip, lp);
        return;
    }
    ctx = test_context(&ta);
    ck_assert_ok(ec2t_dataset_load_idx(ctx, ip, lp, 0, &ds));
    ck_assert_int_eq(ec2t_dataset_size(ds), 10000);
    ck_assert_int_eq(ec2t_dataset_classes(ds), 10);
    ck_assert_ok(ec2t_dataset_shape(ds, &c, &h, &w));
    ck_assert(c == 1 && h == 28 && w == 28);
    for (int64_t start = 0; start < 10000; start += 1000) {
        ck_assert_ok(ec2t_dataset_get_batch(ds, start, 1000, images, 1000 * 784, labels, 1000, 0));
        for (int i = 0; i < 1000; i++) {
            ck_assert(labels[i] >= 0 && labels[i] < 10);
            per_class[labels[i]]++;
        }
        /* one check per batch: Check reports every passing assertion over a pipe */
        for (int i = 0; i < 1000 * 784; i++)
            out_of_range += !(images[i] >= 0.0f && images[i] <= 1.0f);
        ck_assert_int_eq(out_of_range, 0);
    }
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(per_class[k], 1000);
    /* the published statistics of the test set: mean 0.2868, std 0.3524 */
    ck_assert_ok(ec2t_dataset_compute_normalization(ds, &mean, &sd, 1));
    ck_assert_float_eq_tol(mean, 0.2868f, 0.002f);
    ck_assert_float_eq_tol(sd, 0.3524f, 0.002f);
    ec2t_dataset_free(ds);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- allocation failure ------------------------------------------------- */

typedef struct scenario_files {
    const char *a, *b;
} scenario_files;

typedef ec2t_status (*scenario_fn)(ec2t_context *ctx, const scenario_files *files);

/* Make allocation k fail, for k = 0, 1, ... until the scenario runs without
 * a failure: each run returns EC2T_E_NOMEM (or EC2T_OK when the failed
 * allocation was not needed) and leaks nothing. */
static void
run_with_failures(const char *name, scenario_fn fn, const scenario_files *files)
{
    long k;
    for (k = 0;; k++) {
        test_alloc ta = {0, k, 0, 0};
        ec2t_context *ctx = NULL;
        ec2t_status st = ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, &ctx);
        if (st == EC2T_OK)
            st = fn(ctx, files);
        ec2t_context_free(ctx);
        ck_assert_msg(ta.live == 0, "%s: %ld blocks leaked when allocation %ld failed", name,
                      ta.live, k);
        if (test_alloc_pass_done(&ta, st, name, k, 1))
            break;
    }
    ck_assert_msg(k > 3, "%s: only %ld allocations; the scenario tests nothing", name, k);
}

/* Load, then subset, normalise and take an augmented batch of the result. */
static ec2t_status
use_dataset(ec2t_context *ctx, ec2t_status st, ec2t_dataset *ds)
{
    ec2t_dataset *sub = NULL;
    float m[3], s[3], out[3 * 32 * 32];
    int32_t c;
    (void)ctx;
    if (st != EC2T_OK) {
        ck_assert_ptr_null(ds);
        return st;
    }
    ck_assert_ok(ec2t_dataset_shape(ds, &c, NULL, NULL));
    ck_assert_ok(ec2t_dataset_shuffle(ds, 3));
    st = ec2t_dataset_subset(ds, 1, 2, 0, &sub);
    if (st == EC2T_OK) {
        ck_assert_ok(ec2t_dataset_compute_normalization(sub, m, s, c));
        ck_assert_ok(ec2t_dataset_set_int(sub, EC2T_DATA_CROP_PAD, 1));
        ck_assert_ok(ec2t_dataset_get_batch(sub, 0, 1, out, sizeof out / 4, NULL, 0,
                                            EC2T_BATCH_AUGMENT));
    } else {
        ck_assert_ptr_null(sub);
    }
    ec2t_dataset_free(sub);
    ec2t_dataset_free(ds);
    return st;
}

static ec2t_status
scenario_idx(ec2t_context *ctx, const scenario_files *files)
{
    ec2t_dataset *ds = NULL;
    ec2t_status st = ec2t_dataset_load_idx(ctx, files->a, files->b, 0, &ds);
    return use_dataset(ctx, st, ds);
}

static ec2t_status
scenario_cifar(ec2t_context *ctx, const scenario_files *files)
{
    const char *paths[2] = {files->a, files->b};
    ec2t_dataset *ds = NULL;
    ec2t_status st = ec2t_dataset_load_cifar(ctx, paths, 2, EC2T_CIFAR100_COARSE, 0, &ds);
    return use_dataset(ctx, st, ds);
}

static ec2t_status
scenario_arrays(ec2t_context *ctx, const scenario_files *files)
{
    float img[3 * 2 * 2 * 2];
    int32_t lab[3] = {0, 1, 0};
    ec2t_dataset *ds = NULL;
    ec2t_status st;
    (void)files;
    for (int i = 0; i < 24; i++)
        img[i] = (float)i;
    st = ec2t_dataset_from_arrays(ctx, img, lab, 3, 2, 2, 2, 2, 0, &ds);
    return use_dataset(ctx, st, ds);
}

START_TEST(test_dataset_alloc_failures)
{
    uint8_t ib[64], lb[32], gi[256], gl[256];
    static uint8_t a[2 * 3074], b[3074];
    static const uint8_t coarse[2] = {1, 2}, fine[2] = {3, 4};
    size_t ni = std_images(ib, sizeof ib), nl = std_labels(lb, sizeof lb);
    scenario_files raw, gz, cifar;

    raw.a = test_write_file(0, "af-images.idx", ib, ni);
    raw.b = test_write_file(1, "af-labels.idx", lb, nl);
    run_with_failures("idx raw", scenario_idx, &raw);
    gz.a = test_write_file(2, "af-images.idx.gz", gi, gzip_mem(ib, ni, gi, sizeof gi));
    gz.b = test_write_file(3, "af-labels.idx.gz", gl, gzip_mem(lb, nl, gl, sizeof gl));
    run_with_failures("idx gzip", scenario_idx, &gz);
    cifar.a = test_write_file(0, "af-1.bin", a, build_cifar(a, sizeof a, 2, 1, coarse, fine, 0));
    cifar.b = test_write_file(1, "af-2.bin", b, build_cifar(b, sizeof b, 1, 1, coarse, fine, 1));
    run_with_failures("cifar", scenario_cifar, &cifar);
    run_with_failures("arrays", scenario_arrays, NULL);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("dataset");
    tcase_add_test(tc, test_dataset_idx_raw_values);
    tcase_add_test(tc, test_dataset_idx_gzip_values);
    tcase_add_test(tc, test_dataset_idx_rejects_malformed_raw);
    tcase_add_test(tc, test_dataset_idx_rejects_malformed_gzip);
    tcase_add_test(tc, test_dataset_idx_gzip_announcing_too_much_stays_small);
    tcase_add_test(tc, test_dataset_load_limit);
    tcase_add_test(tc, test_dataset_idx_io_errors);
    tcase_add_test(tc, test_dataset_cifar10_values);
    tcase_add_test(tc, test_dataset_cifar100_fine_and_coarse);
    tcase_add_test(tc, test_dataset_cifar_rejects_malformed);
    tcase_add_test(tc, test_dataset_from_arrays_values);
    tcase_add_test(tc, test_dataset_from_arrays_rejects);
    tcase_add_test(tc, test_dataset_normalization_applied);
    tcase_add_test(tc, test_dataset_normalization_computed);
    tcase_add_test(tc, test_dataset_shuffle_permutation);
    tcase_add_test(tc, test_dataset_subset_errors_and_bytes);
    tcase_add_test(tc, test_dataset_augment_off_is_plain);
    tcase_add_test(tc, test_dataset_augment_flip);
    tcase_add_test(tc, test_dataset_augment_crop);
    tcase_add_test(tc, test_dataset_augment_cutout);
    tcase_add_test(tc, test_dataset_augment_reproducible);
    tcase_add_test(tc, test_dataset_get_batch_errors);
    tcase_add_test(tc, test_dataset_set_int);
    tcase_add_test(tc, test_dataset_null_and_bad_args);
    tcase_add_test(tc, test_dataset_fashion_mnist_test_set);
    tcase_add_test(tc, test_dataset_alloc_failures);
    suite_add_tcase(s, tc);
    return s;
}
