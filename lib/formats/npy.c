/* SPDX-License-Identifier: MIT */
/* NumPy .npy files of dtype '<f4' in C order (format versions 1.0 to 3.0
 * are read; 1.0 is written). The loader trusts nothing in the file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes-private.h"
#include "fileio-private.h"
#include "tensor-private.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER 65536 /* NumPy's own reader refuses more than 10000 by default */
#define NPY_ALIGN 64

typedef struct npy_header {
    int32_t rank;
    int64_t dims[EC2T_MAX_DIMS];
    int64_t numel;
    size_t data_offset; /* bytes from the start of the file */
} npy_header;

typedef struct dict_parser {
    const char *p, *end;
} dict_parser;

static void
skip_space(dict_parser *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static int
expect(dict_parser *d, char c)
{
    skip_space(d);
    if (d->p < d->end && *d->p == c) {
        d->p++;
        return 1;
    }
    return 0;
}

/* A quoted string (either quote); copies at most cap-1 bytes. */
static int
parse_string(dict_parser *d, char *out, size_t cap)
{
    char quote;
    size_t n = 0;
    skip_space(d);
    if (d->p >= d->end || (*d->p != '\'' && *d->p != '"'))
        return 0;
    quote = *d->p++;
    while (d->p < d->end && *d->p != quote) {
        if (*d->p == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *d->p++;
    }
    if (d->p >= d->end)
        return 0;
    d->p++;
    out[n] = '\0';
    return 1;
}

static int
parse_word(dict_parser *d, const char *word)
{
    size_t n = strlen(word);
    skip_space(d);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return 0;
    d->p += n;
    return 1;
}

/* "(2, 3)", "(5,)" or "()"; the rank may exceed EC2T_MAX_DIMS only to be reported. */
static ec2t_status
parse_shape(dict_parser *d, npy_header *h, ec2t_context *ctx, const char *what)
{
    if (!expect(d, '('))
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: shape is not a tuple", what);
    h->rank = 0;
    for (;;) {
        int64_t v = 0;
        int digits = 0;
        skip_space(d);
        if (d->p < d->end && *d->p == ')') {
            d->p++;
            return EC2T_OK;
        }
        while (d->p < d->end && isdigit((unsigned char)*d->p)) {
            if (v > (INT64_MAX - 9) / 10)
                return ec2t__error(ctx, EC2T_E_FORMAT, "%s: absurd extent in shape", what);
            v = v * 10 + (*d->p++ - '0');
            digits++;
        }
        if (!digits)
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: shape holds something other than integers",
                               what);
        if (h->rank >= EC2T_MAX_DIMS)
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: rank above %d is not supported", what,
                               EC2T_MAX_DIMS);
        h->dims[h->rank++] = v;
        skip_space(d);
        if (d->p < d->end && *d->p == ',')
            d->p++;
        else if (!(d->p < d->end && *d->p == ')'))
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: malformed shape tuple", what);
    }
}

static ec2t_status
parse_dict(ec2t_context *ctx, const char *text, size_t len, npy_header *h, const char *what)
{
    dict_parser d = {text, text + len};
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    ec2t_status st;

    if (!expect(&d, '{'))
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: header is not a dictionary", what);
    for (;;) {
        char key[32], val[32];
        skip_space(&d);
        if (d.p < d.end && *d.p == '}')
            break;
        if (!parse_string(&d, key, sizeof key) || !expect(&d, ':'))
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: malformed header dictionary", what);
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            if (!parse_string(&d, val, sizeof val))
                return ec2t__error(ctx, EC2T_E_FORMAT, "%s: descr is not a string", what);
            if (strcmp(val, "<f4") != 0)
                return ec2t__error(ctx, EC2T_E_FORMAT,
                                   "%s: dtype '%s' is not supported (only '<f4', float32 little-endian)",
                                   what, val);
            seen_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            if (parse_word(&d, "True"))
                return ec2t__error(ctx, EC2T_E_FORMAT,
                                   "%s: Fortran order is not supported (save a C-contiguous array)",
                                   what);
            if (!parse_word(&d, "False"))
                return ec2t__error(ctx, EC2T_E_FORMAT, "%s: fortran_order is not a boolean", what);
            seen_order = 1;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            st = parse_shape(&d, h, ctx, what);
            if (st != EC2T_OK)
                return st;
            seen_shape = 1;
        } else {
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: unexpected or repeated key '%s' in header",
                               what, key);
        }
        skip_space(&d);
        if (d.p < d.end && *d.p == ',')
            d.p++;
        else if (!(d.p < d.end && *d.p == '}'))
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: malformed header dictionary", what);
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: header lacks descr, fortran_order or shape",
                           what);
    if (h->rank == 0)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: scalars (shape ()) are not supported", what);
    if (ec2t__shape_check(NULL, h->rank, h->dims, &h->numel) != EC2T_OK)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "%s: absurd shape (an extent of 0, or more than 2^40 elements)", what);
    return EC2T_OK;
}

/* Parse the preamble and header found in the first `avail` bytes. */
static ec2t_status
parse_header(ec2t_context *ctx, const uint8_t *buf, size_t avail, npy_header *h, const char *what)
{
    size_t prefix, hlen;
    if (avail < NPY_MAGIC_LEN + 4 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: not a .npy file (bad magic)", what);
    switch (buf[6]) {
    case 1:
        prefix = 10;
        hlen = ec2t__le16(buf + 8);
        break;
    case 2:
    case 3:
        if (avail < 12)
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: truncated header", what);
        prefix = 12;
        hlen = ec2t__le32(buf + 8);
        break;
    default:
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: .npy format version %u.%u is not supported",
                           what, buf[6], buf[7]);
    }
    if (hlen > NPY_MAX_HEADER)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: header of %zu bytes is too large", what, hlen);
    if (avail < prefix + hlen)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: truncated header", what);
    if (hlen == 0 || buf[prefix + hlen - 1] != '\n')
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: header does not end with a newline", what);
    h->data_offset = prefix + hlen;
    return parse_dict(ctx, (const char *)buf + prefix, hlen, h, what);
}

static ec2t_status
check_data_size(ec2t_context *ctx, const npy_header *h, uint64_t total, const char *what)
{
    uint64_t want = (uint64_t)h->numel * 4u;
    uint64_t have = total - h->data_offset;
    if (have < want)
        return ec2t__error(ctx, EC2T_E_FORMAT,
                           "%s: truncated data: %llu bytes for a shape that needs %llu", what,
                           (unsigned long long)have, (unsigned long long)want);
    if (have > want)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %llu bytes of trailing data after the array",
                           what, (unsigned long long)(have - want));
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_load_npy_mem(ec2t_context *ctx, const void *buf, size_t len, uint32_t flags,
                         ec2t_tensor **out)
{
    npy_header h;
    ec2t_tensor *t;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || (!buf && len > 0))
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_tensor_load_npy_mem: NULL argument");
    if (flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_tensor_load_npy_mem: flags must be 0");
    st = parse_header(ctx, buf, len, &h, "npy buffer");
    if (st == EC2T_OK)
        st = check_data_size(ctx, &h, len, "npy buffer");
    if (st == EC2T_OK)
        st = ec2t__load_check(ctx, (uint64_t)h.numel * 4, "npy buffer");
    if (st == EC2T_OK)
        st = ec2t_tensor_new(ctx, h.rank, h.dims, &t);
    if (st != EC2T_OK)
        return st;
    ec2t__load_f32le(t->data, (const uint8_t *)buf + h.data_offset, (size_t)h.numel);
    *out = t;
    return EC2T_OK;
}

static ec2t_status
read_exact(ec2t_context *ctx, int fd, void *dst, size_t n, const char *path)
{
    uint8_t *p = dst;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ec2t__error(ctx, EC2T_E_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return ec2t__error(ctx, EC2T_E_FORMAT, "%s: truncated", path);
        p += r;
        n -= (size_t)r;
    }
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_load_npy(ec2t_context *ctx, const char *path, uint32_t flags, ec2t_tensor **out)
{
    enum { HEAD_MAX = NPY_MAX_HEADER + 12 };
    uint8_t *head = NULL;
    npy_header h;
    ec2t_tensor *t = NULL;
    struct stat sb;
    size_t head_len;
    ec2t_status st;
    int fd;

    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || !path)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_tensor_load_npy: NULL argument");
    if (flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_tensor_load_npy: flags must be 0");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ec2t__error(ctx, EC2T_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ec2t__error(ctx, EC2T_E_IO, "%s: not a regular file", path);
    }
    head_len = (uint64_t)sb.st_size < HEAD_MAX ? (size_t)sb.st_size : HEAD_MAX;
    head = ec2t__alloc(ctx, head_len, 16);
    if (!head) {
        close(fd);
        return ec2t__nomem(ctx, "npy header");
    }
    st = read_exact(ctx, fd, head, head_len, path);
    if (st == EC2T_OK)
        st = parse_header(ctx, head, head_len, &h, path);
    if (st == EC2T_OK)
        st = check_data_size(ctx, &h, (uint64_t)sb.st_size, path);
    if (st == EC2T_OK)
        st = ec2t__load_check(ctx, (uint64_t)h.numel * 4, path);
    if (st == EC2T_OK)
        st = ec2t_tensor_new(ctx, h.rank, h.dims, &t);
    if (st == EC2T_OK && lseek(fd, (off_t)h.data_offset, SEEK_SET) < 0)
        st = ec2t__error(ctx, EC2T_E_IO, "%s: seek failed: %s", path, strerror(errno));
    if (st == EC2T_OK)
        st = read_exact(ctx, fd, t->data, (size_t)h.numel * 4, path);
    if (st == EC2T_OK && !ec2t__host_is_le())
        ec2t__load_f32le(t->data, (const uint8_t *)t->data, (size_t)h.numel);
    close(fd);
    ec2t__free(ctx, head);
    if (st != EC2T_OK) {
        ec2t__tensor_destroy(t);
        return st;
    }
    *out = t;
    return EC2T_OK;
}

/* The 1.0 preamble and header for a shape; returns its length (a multiple of 64). */
static size_t
format_header(const ec2t_tensor *t, char *buf, size_t cap)
{
    char shape[EC2T_MAX_DIMS * 24 + 4];
    size_t n = 0, total;
    int len;
    shape[0] = '\0';
    for (int32_t i = 0; i < t->rank; i++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%lld,%s", (long long)t->dims[i],
                              i + 1 < t->rank ? " " : "");
    if (t->rank > 1)
        shape[n - 1] = '\0'; /* "(2, 3)" but "(5,)" */
    len = snprintf(buf + 10, cap - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                   shape);
    total = 10 + (size_t)len + 1;
    total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    ec2t__put_le16((uint8_t *)buf + 8, (uint16_t)(total - 10));
    return total;
}

EC2T_API ec2t_status
ec2t_tensor_save_npy(const ec2t_tensor *t, const char *path, uint32_t flags)
{
    char header[256];
    uint8_t chunk[4096];
    ec2t__atomic_file *f;
    ec2t_status st;
    size_t done = 0, n;

    if (!t)
        return EC2T_E_INVAL;
    if (!path)
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_save_npy: path is NULL");
    if (flags != 0)
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_save_npy: flags must be 0");
    n = format_header(t, header, sizeof header);
    st = ec2t__atomic_open(t->ctx, path, &f);
    if (st != EC2T_OK)
        return st;
    st = ec2t__atomic_write(f, header, n);
    while (st == EC2T_OK && done < (size_t)t->numel) {
        size_t k = (size_t)t->numel - done;
        if (k > sizeof chunk / 4)
            k = sizeof chunk / 4;
        ec2t__store_f32le(chunk, t->data + done, k);
        st = ec2t__atomic_write(f, chunk, k * 4);
        done += k;
    }
    if (st != EC2T_OK) {
        ec2t__atomic_abort(f);
        return st;
    }
    return ec2t__atomic_commit(f);
}
