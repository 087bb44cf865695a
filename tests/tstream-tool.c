/* SPDX-License-Identifier: MIT */
/* Helper of tstream-python.py, on the internal coder of deployable files
 * (lib/engine/tstream.c), for streams of one ternary layer:
 *   tstream-tool encode ROWS COLS SLICE IN.sym OUT.bin
 *   tstream-tool decode ROWS COLS SLICE IN.bin OUT.sym
 * A .sym file holds ROWS*COLS bytes, one symbol each as int8 (00, 01, FF),
 * row-major. The stream says floats of 32 bits and holds none. Exit code 0
 * on success, 3 when the input was rejected (status and message on
 * stderr), 2 on usage or I/O errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tstream-private.h"

/* The whole file in a malloc'd buffer; NULL on error. */
static uint8_t *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int
write_all(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return 0;
    ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int
parse_dim(const char *s, int32_t *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < -2147483647L - 1 || v > 2147483647L)
        return 0;
    *out = (int32_t)v;
    return 1;
}

static int
rejected(ec2t_context *ctx, ec2t_status st)
{
    fprintf(stderr, "tstream-tool: %s: %s\n", ec2t_status_string(st), ec2t_context_errmsg(ctx));
    return 3;
}

static int
encode(ec2t_context *ctx, int32_t rows, int32_t cols, int32_t slice, const char *in,
       const char *out)
{
    size_t len = 0, coded_len = 0;
    uint8_t *sym = read_all(in, &len), *coded = NULL;
    ec2t_status st;
    int rc;
    if (!sym || rows < 1 || cols < 1 || len != (size_t)rows * (size_t)cols) {
        fprintf(stderr, "tstream-tool: cannot read %s, or it does not hold %d x %d symbols\n", in,
                (int)rows, (int)cols);
        free(sym);
        return 2;
    }
    /* count, then write into a buffer of that size */
    for (int pass = 0; pass < 2; pass++) {
        ec2t__tswriter *w = NULL;
        st = ec2t__tsw_new(ctx, 32, coded, &w);
        if (st == EC2T_OK)
            st = ec2t__tsw_ternary(w, (const int8_t *)sym, rows, cols, slice);
        if (st == EC2T_OK)
            coded_len = ec2t__tsw_finish(w);
        ec2t__tsw_free(w);
        if (st != EC2T_OK || (!coded && !(coded = malloc(coded_len))))
            break;
    }
    if (st != EC2T_OK)
        rc = rejected(ctx, st);
    else
        rc = coded && write_all(out, coded, coded_len) ? 0 : 2;
    free(coded);
    free(sym);
    return rc;
}

static int
decode(ec2t_context *ctx, int32_t rows, int32_t cols, int32_t slice, const char *in,
       const char *out)
{
    size_t len = 0, words, n;
    uint8_t *coded = read_all(in, &len);
    uint64_t *p = NULL, *q = NULL;
    int8_t *sym = NULL;
    ec2t_status st;
    int rc = 2;
    if (!coded || rows < 1 || cols < 1) {
        fprintf(stderr, "tstream-tool: cannot read %s or bad shape\n", in);
        free(coded);
        return 2;
    }
    words = ((size_t)cols + 63) / 64;
    n = (size_t)rows * (size_t)cols;
    p = malloc((size_t)rows * words * 8);
    q = malloc((size_t)rows * words * 8);
    sym = malloc(n);
    if (p && q && sym) {
        ec2t__tsreader *reader = NULL;
        st = ec2t__tsr_new(ctx, "stream", coded, len, &reader);
        if (st == EC2T_OK)
            st = ec2t__tsr_ternary(reader, rows, cols, slice, p, q);
        if (st == EC2T_OK)
            st = ec2t__tsr_finish(reader);
        ec2t__tsr_free(reader);
        if (st != EC2T_OK) {
            rc = rejected(ctx, st);
        } else {
            for (size_t i = 0; i < n; i++) {
                size_t r = i / (size_t)cols, c = i % (size_t)cols, w = r * words + c / 64;
                sym[i] = (int8_t)((int)(p[w] >> (c % 64) & 1) - (int)(q[w] >> (c % 64) & 1));
            }
            rc = write_all(out, sym, n) ? 0 : 2;
        }
    }
    free(sym);
    free(q);
    free(p);
    free(coded);
    return rc;
}

int
main(int argc, char **argv)
{
    ec2t_context *ctx = NULL;
    int32_t rows, cols, slice;
    int rc = 2;
    if (argc != 7 || !parse_dim(argv[2], &rows) || !parse_dim(argv[3], &cols) ||
        !parse_dim(argv[4], &slice)) {
        fprintf(stderr, "usage: tstream-tool encode|decode ROWS COLS SLICE IN OUT\n");
        return 2;
    }
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 2;
    if (strcmp(argv[1], "encode") == 0)
        rc = encode(ctx, rows, cols, slice, argv[5], argv[6]);
    else if (strcmp(argv[1], "decode") == 0)
        rc = decode(ctx, rows, cols, slice, argv[5], argv[6]);
    else
        fprintf(stderr, "tstream-tool: unknown command '%s'\n", argv[1]);
    ec2t_context_free(ctx);
    return rc;
}
