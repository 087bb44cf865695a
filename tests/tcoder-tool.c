/* SPDX-License-Identifier: MIT */
/* Helper of tcoder-python.py, on the internal entropy coder of ternary layers:
 *   tcoder-tool encode ROWS COLS SLICE IN.sym OUT.bin
 *   tcoder-tool decode ROWS COLS SLICE IN.bin OUT.sym
 * A .sym file holds ROWS*COLS bytes, one symbol each as int8 (00, 01, FF),
 * row-major. Exit code 0 on success, 3 when the input was rejected (status
 * and message on stderr), 2 on usage or I/O errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcoder-private.h"

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
    fprintf(stderr, "tcoder-tool: %s: %s\n", ec2t_status_string(st), ec2t_context_errmsg(ctx));
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
        fprintf(stderr, "tcoder-tool: cannot read %s, or it does not hold %d x %d symbols\n", in,
                (int)rows, (int)cols);
        free(sym);
        return 2;
    }
    st = ec2t__tcode_encode(ctx, (const int8_t *)sym, rows, cols, slice, &coded, &coded_len);
    if (st != EC2T_OK)
        rc = rejected(ctx, st);
    else
        rc = write_all(out, coded, coded_len) ? 0 : 2;
    ec2t__free(ctx, coded);
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
        fprintf(stderr, "tcoder-tool: cannot read %s or bad shape\n", in);
        free(coded);
        return 2;
    }
    words = ((size_t)cols + 63) / 64;
    n = (size_t)rows * (size_t)cols;
    p = malloc((size_t)rows * words * 8);
    q = malloc((size_t)rows * words * 8);
    sym = malloc(n);
    if (p && q && sym) {
        st = ec2t__tcode_decode(ctx, coded, len, rows, cols, slice, p, q);
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
        fprintf(stderr, "usage: tcoder-tool encode|decode ROWS COLS SLICE IN OUT\n");
        return 2;
    }
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 2;
    if (strcmp(argv[1], "encode") == 0)
        rc = encode(ctx, rows, cols, slice, argv[5], argv[6]);
    else if (strcmp(argv[1], "decode") == 0)
        rc = decode(ctx, rows, cols, slice, argv[5], argv[6]);
    else
        fprintf(stderr, "tcoder-tool: unknown command '%s'\n", argv[1]);
    ec2t_context_free(ctx);
    return rc;
}
