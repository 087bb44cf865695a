/* SPDX-License-Identifier: MIT */
/* Dataset files: IDX (MNIST, Fashion-MNIST), raw or gzip-compressed, and
 * CIFAR-10/100 binary batches. Nothing in a file is trusted: every size it
 * announces is capped and compared with the bytes actually there before it
 * decides an allocation (a gzip stream's size is only known by inflating
 * it, so its data goes into a buffer that grows as it arrives), the whole
 * dataset must fit the context's EC2T_CTX_LOAD_LIMIT, and the data must end
 * exactly where it says. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "dataset-private.h"
#include "fileio-private.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_TYPE_UBYTE 0x08u
#define IDX_MAX_COUNT (UINT64_C(1) << 31)
#define IDX_MAX_EXTENT 65536u

/* Deflate cannot expand data by more than 1032:1 (a 258-byte match costs at
 * least 2 bits), so a gzip file announcing more is truncated, and we can say
 * so before allocating what the header asks for. */
#define GZIP_MAX_RATIO 1032u
#define GZIP_IN_CHUNK 65536u
/* First size of a buffer that grows (doubling) as gzip data arrives. */
#define GROW_FIRST (UINT64_C(1) << 16)

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_MAX_FILES 64
#define CIFAR_CHUNK_RECORDS 256

/* ---- byte sources: a raw file or a gzip stream ------------------------- */

typedef struct source {
    ec2t_context *ctx;
    const char *path;
    int fd;
    uint64_t file_size;
    int gzip;
    int zs_ready;    /* inflateInit2 succeeded */
    int member_done; /* inflate reached the end of a gzip member */
    int eof;         /* the compressed input is exhausted */
    z_stream zs;
    uint8_t *in; /* compressed input, GZIP_IN_CHUNK bytes */
} source;

/* zlib allocates through the context too, so its failures are ours to report
 * and the allocation-failure tests reach them. */
static voidpf
zalloc_ctx(voidpf opaque, uInt items, uInt size)
{
    size_t bytes = ec2t__mul_size(items, size);
    if (bytes == 0)
        return Z_NULL;
    return ec2t__alloc(opaque, bytes, 16);
}

static void
zfree_ctx(voidpf opaque, voidpf ptr)
{
    ec2t__free(opaque, ptr);
}

static uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Make source_close() safe whatever source_open() reached. */
static void
source_init(source *src, ec2t_context *ctx, const char *path)
{
    memset(src, 0, sizeof *src);
    src->ctx = ctx;
    src->path = path;
    src->fd = -1;
}

static ec2t_status
source_start_gzip(source *src)
{
    int rc;
    src->in = ec2t__alloc(src->ctx, GZIP_IN_CHUNK, 16);
    if (!src->in)
        return ec2t__nomem(src->ctx, "gzip input buffer");
    src->zs.zalloc = zalloc_ctx;
    src->zs.zfree = zfree_ctx;
    src->zs.opaque = src->ctx;
    /* 15 + 16: a 32 KiB window and the gzip wrapper (not zlib's). */
    rc = inflateInit2(&src->zs, 15 + 16);
    if (rc == Z_MEM_ERROR)
        return ec2t__nomem(src->ctx, "gzip state");
    if (rc != Z_OK)
        return ec2t__error(src->ctx, EC2T_E_INTERNAL, "%s: zlib cannot start inflating (%d)",
                           src->path, rc);
    src->zs_ready = 1;
    return EC2T_OK;
}

/* Open a file and detect gzip from its first two bytes (0x1f 0x8b). */
static ec2t_status
source_open(source *src, int allow_gzip)
{
    struct stat sb;
    uint8_t magic[2];
    ssize_t n;

    src->fd = open(src->path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0)
        return ec2t__error(src->ctx, EC2T_E_IO, "%s: cannot open: %s", src->path,
                           strerror(errno));
    if (fstat(src->fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return ec2t__error(src->ctx, EC2T_E_IO, "%s: not a regular file", src->path);
    src->file_size = (uint64_t)sb.st_size;
    if (src->file_size == 0)
        return ec2t__error(src->ctx, EC2T_E_FORMAT, "%s: empty file", src->path);
    n = pread(src->fd, magic, sizeof magic, 0);
    if (n < 0)
        return ec2t__error(src->ctx, EC2T_E_IO, "%s: read failed: %s", src->path,
                           strerror(errno));
    if (n < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        return EC2T_OK;
    if (!allow_gzip)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: gzip-compressed; this format is read uncompressed", src->path);
    src->gzip = 1;
    return source_start_gzip(src);
}

static void
source_close(source *src)
{
    if (src->zs_ready)
        inflateEnd(&src->zs);
    ec2t__free(src->ctx, src->in);
    if (src->fd >= 0)
        close(src->fd);
    src->zs_ready = 0;
    src->in = NULL;
    src->fd = -1;
}

static ec2t_status
raw_read(source *src, uint8_t *dst, size_t n, size_t *got)
{
    while (*got < n) {
        size_t want = n - *got;
        ssize_t r = read(src->fd, dst + *got, want > (1u << 30) ? (1u << 30) : want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ec2t__error(src->ctx, EC2T_E_IO, "%s: read failed: %s", src->path,
                               strerror(errno));
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return EC2T_OK;
}

/* Refill the compressed input once it is used up; sets eof at the end. */
static ec2t_status
gz_fill(source *src)
{
    ssize_t r;
    if (src->zs.avail_in > 0 || src->eof)
        return EC2T_OK;
    do
        r = read(src->fd, src->in, GZIP_IN_CHUNK);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return ec2t__error(src->ctx, EC2T_E_IO, "%s: read failed: %s", src->path,
                           strerror(errno));
    if (r == 0)
        src->eof = 1;
    src->zs.next_in = src->in;
    src->zs.avail_in = (uInt)r;
    return EC2T_OK;
}

/* A gzip member has ended: the data ends here, or another member follows
 * (concatenated members are valid gzip); anything else is garbage. */
static ec2t_status
gz_next_member(source *src, int *more)
{
    *more = 0;
    if (src->zs.avail_in == 0)
        return EC2T_OK;
    if (src->zs.next_in[0] != 0x1f)
        return ec2t__error(src->ctx, EC2T_E_FORMAT, "%s: trailing bytes after the gzip stream",
                           src->path);
    if (inflateReset(&src->zs) != Z_OK)
        return ec2t__error(src->ctx, EC2T_E_INTERNAL, "%s: zlib cannot restart inflating",
                           src->path);
    src->member_done = 0;
    *more = 1;
    return EC2T_OK;
}

static ec2t_status
gz_read(source *src, uint8_t *dst, size_t n, size_t *got)
{
    while (*got < n) {
        size_t want = n - *got;
        uInt chunk = want > UINT_MAX ? UINT_MAX : (uInt)want;
        ec2t_status st = gz_fill(src);
        int rc, more;
        if (st != EC2T_OK)
            return st;
        if (src->member_done) {
            st = gz_next_member(src, &more);
            if (st != EC2T_OK || !more)
                return st;
        }
        if (src->zs.avail_in == 0)
            return ec2t__error(src->ctx, EC2T_E_FORMAT,
                               "%s: truncated gzip stream (the file ends inside compressed data)",
                               src->path);
        src->zs.next_out = dst + *got;
        src->zs.avail_out = chunk;
        rc = inflate(&src->zs, Z_NO_FLUSH);
        *got += chunk - src->zs.avail_out;
        if (rc == Z_STREAM_END)
            src->member_done = 1;
        else if (rc == Z_MEM_ERROR)
            return ec2t__nomem(src->ctx, "gzip window");
        else if (rc != Z_OK)
            /* Z_BUF_ERROR too: input and output were both available, so no
             * progress means the stream is broken. */
            return ec2t__error(src->ctx, EC2T_E_FORMAT, "%s: corrupt gzip data (%s)", src->path,
                               src->zs.msg ? src->zs.msg : "inflate failed");
    }
    return EC2T_OK;
}

/* Up to n bytes; *got < n only at the end of the data. */
static ec2t_status
source_read(source *src, uint8_t *dst, size_t n, size_t *got)
{
    *got = 0;
    return src->gzip ? gz_read(src, dst, n, got) : raw_read(src, dst, n, got);
}

static ec2t_status
source_read_exact(source *src, void *dst, size_t n, const char *what)
{
    size_t got;
    ec2t_status st = source_read(src, dst, n, &got);
    if (st == EC2T_OK && got < n)
        st = ec2t__error(src->ctx, EC2T_E_FORMAT,
                         "%s: truncated: the %s ends after %zu of %zu bytes", src->path, what, got,
                         n);
    return st;
}

/* Exactly n bytes into a new buffer. A raw file's size was checked, so the
 * buffer is allocated whole; a gzip stream's buffer starts at GROW_FIRST and
 * doubles only once it is full, so a header announcing more than the stream
 * holds costs at most about three times the bytes that are there. */
static ec2t_status
source_read_grown(source *src, uint64_t n, const char *what, uint8_t **out)
{
    size_t cap = (size_t)(src->gzip && n > GROW_FIRST ? GROW_FIRST : n), have = 0, got;
    uint8_t *buf = ec2t__alloc(src->ctx, cap, 64), *bigger;
    ec2t_status st = buf ? EC2T_OK : ec2t__nomem(src->ctx, what);

    *out = NULL;
    while (st == EC2T_OK) {
        st = source_read(src, buf + have, cap - have, &got);
        have += got;
        if (st != EC2T_OK || have == n)
            break;
        if (have < cap) {
            st = ec2t__error(src->ctx, EC2T_E_FORMAT,
                             "%s: truncated: the %s ends after %zu of %llu bytes", src->path,
                             what, have, (unsigned long long)n);
            break;
        }
        cap = (uint64_t)cap > n / 2 ? (size_t)n : 2 * cap;
        bigger = ec2t__alloc(src->ctx, cap, 64);
        if (!bigger) {
            st = ec2t__nomem(src->ctx, what);
            break;
        }
        memcpy(bigger, buf, have);
        ec2t__free(src->ctx, buf);
        buf = bigger;
    }
    if (st != EC2T_OK) {
        ec2t__free(src->ctx, buf);
        return st;
    }
    *out = buf;
    return EC2T_OK;
}

static ec2t_status
source_expect_end(source *src, const char *what)
{
    uint8_t byte;
    size_t got;
    ec2t_status st = source_read(src, &byte, 1, &got);
    if (st == EC2T_OK && got > 0)
        st = ec2t__error(src->ctx, EC2T_E_FORMAT, "%s: trailing bytes after the %s", src->path,
                         what);
    return st;
}

/* ---- IDX ---------------------------------------------------------------- */

typedef struct idx_header {
    uint32_t count, rows, cols;
    uint64_t data_bytes;
} idx_header;

static ec2t_status
idx_check_magic(source *src, const uint8_t *b, uint32_t ndims)
{
    uint32_t want = ndims == 3 ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    const char *kind = ndims == 3 ? "image" : "label";
    if (b[0] != 0 || b[1] != 0)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: not an IDX file (bad magic 0x%08x, expected 0x%08x)", src->path,
                           (unsigned)be32(b), (unsigned)want);
    if (b[2] != IDX_TYPE_UBYTE)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: IDX element type 0x%02x is not supported (only 0x08, "
                           "unsigned byte)",
                           src->path, (unsigned)b[2]);
    if (b[3] != ndims)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: IDX file with %u dimensions where an %s file has %u "
                           "(magic 0x%08x, expected 0x%08x)",
                           src->path, (unsigned)b[3], kind, (unsigned)ndims, (unsigned)be32(b),
                           (unsigned)want);
    return EC2T_OK;
}

/* Compare the announced size with what the file can hold. */
static ec2t_status
idx_check_size(source *src, uint64_t header_bytes, uint64_t data_bytes, const char *what)
{
    uint64_t have, want = header_bytes + data_bytes;
    if (src->gzip) {
        if (want / GZIP_MAX_RATIO > src->file_size)
            return ec2t__error(src->ctx, EC2T_E_FORMAT,
                               "%s: truncated: the header announces %llu bytes of %s, more than "
                               "a gzip file of %llu bytes can hold",
                               src->path, (unsigned long long)data_bytes, what,
                               (unsigned long long)src->file_size);
        return EC2T_OK;
    }
    have = src->file_size > header_bytes ? src->file_size - header_bytes : 0;
    if (src->file_size < want)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: truncated: %llu bytes of %s where the header announces %llu",
                           src->path, (unsigned long long)have, what,
                           (unsigned long long)data_bytes);
    if (src->file_size > want)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: %llu trailing bytes after the %llu bytes of %s", src->path,
                           (unsigned long long)(have - data_bytes), (unsigned long long)data_bytes,
                           what);
    return EC2T_OK;
}

/* Header of an image (ndims 3) or label (ndims 1) file, checked and capped. */
static ec2t_status
idx_read_header(source *src, uint32_t ndims, idx_header *h)
{
    const char *what = ndims == 3 ? "image data" : "label data";
    uint8_t b[16];
    ec2t_status st;

    st = source_read_exact(src, b, 4, "IDX header");
    if (st == EC2T_OK)
        st = idx_check_magic(src, b, ndims);
    if (st == EC2T_OK)
        st = source_read_exact(src, b + 4, 4 * ndims, "IDX header");
    if (st != EC2T_OK)
        return st;
    h->count = be32(b + 4);
    h->rows = ndims == 3 ? be32(b + 8) : 1;
    h->cols = ndims == 3 ? be32(b + 12) : 1;
    if (h->count == 0 || h->count > IDX_MAX_COUNT)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: absurd %s count %lu in the header (1 to 2^31 accepted)", src->path,
                           ndims == 3 ? "image" : "label", (unsigned long)h->count);
    if (h->rows < 1 || h->rows > IDX_MAX_EXTENT || h->cols < 1 || h->cols > IDX_MAX_EXTENT)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: absurd image size %lux%lu in the header (1 to %u pixels a side)",
                           src->path, (unsigned long)h->rows, (unsigned long)h->cols,
                           IDX_MAX_EXTENT);
    /* At most 2^31 * 2^16 * 2^16 = 2^63: no overflow. */
    h->data_bytes = (uint64_t)h->count * h->rows * h->cols;
    if (h->data_bytes > EC2T__DATASET_MAX_BYTES || h->data_bytes > (uint64_t)SIZE_MAX)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: absurd header: %llu bytes of %s (at most %llu accepted)",
                           src->path, (unsigned long long)h->data_bytes, what,
                           (unsigned long long)EC2T__DATASET_MAX_BYTES);
    return idx_check_size(src, 4 + 4 * (uint64_t)ndims, h->data_bytes, what);
}

static ec2t_status
idx_open(source *src, uint32_t ndims, idx_header *h)
{
    ec2t_status st = source_open(src, 1);
    if (st == EC2T_OK)
        st = idx_read_header(src, ndims, h);
    return st;
}

/* What a loaded dataset of count samples of sample bytes holds (pixels,
 * int32 labels, int64 order) plus the label bytes while it loads. */
static uint64_t
loaded_bytes(uint64_t count, uint64_t sample)
{
    return count * (sample + 1 + sizeof(int32_t) + sizeof(int64_t));
}

/* The label bytes, then the pixels (the larger), each read whole before the
 * dataset is made: a file that announces more than it holds is refused
 * having cost memory in proportion to what it holds. */
static ec2t_status
idx_read_data(ec2t_context *ctx, source *img, source *lab, const idx_header *ih,
              ec2t_dataset **out)
{
    uint8_t *labels = NULL, *pixels = NULL;
    ec2t_dataset *ds = NULL;
    ec2t_status st = source_read_grown(lab, ih->count, "label data", &labels);
    uint8_t max = 0;
    if (st == EC2T_OK)
        st = source_expect_end(lab, "label data");
    if (st == EC2T_OK)
        st = source_read_grown(img, ih->data_bytes, "image data", &pixels);
    if (st == EC2T_OK)
        st = source_expect_end(img, "image data");
    if (st == EC2T_OK)
        st = ec2t__dataset_new(ctx, ih->count, 1, (int32_t)ih->rows, (int32_t)ih->cols, 1,
                               pixels, &ds);
    else
        ec2t__free(ctx, pixels);
    for (int64_t i = 0; st == EC2T_OK && i < ds->count; i++) {
        ds->labels[i] = labels[i];
        max = labels[i] > max ? labels[i] : max;
    }
    if (st == EC2T_OK)
        ds->n_classes = max + 1;
    ec2t__free(ctx, labels);
    *out = ds;
    return st;
}

EC2T_API ec2t_status
ec2t_dataset_load_idx(ec2t_context *ctx, const char *images_path, const char *labels_path,
                      uint32_t flags, ec2t_dataset **out)
{
    source img, lab;
    idx_header ih, lh;
    ec2t_dataset *ds = NULL;
    ec2t_status st;

    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!images_path || !labels_path || !out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_idx: NULL argument");
    if (flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_idx: flags must be 0");
    source_init(&img, ctx, images_path);
    source_init(&lab, ctx, labels_path);
    st = idx_open(&img, 3, &ih);
    if (st == EC2T_OK)
        st = idx_open(&lab, 1, &lh);
    if (st == EC2T_OK && ih.count != lh.count)
        st = ec2t__error(ctx, EC2T_E_FORMAT, "%s holds %lu images but %s holds %lu labels",
                         images_path, (unsigned long)ih.count, labels_path,
                         (unsigned long)lh.count);
    if (st == EC2T_OK)
        st = ec2t__load_check(ctx, loaded_bytes(ih.count, (uint64_t)ih.rows * ih.cols),
                              images_path);
    if (st == EC2T_OK)
        st = idx_read_data(ctx, &img, &lab, &ih, &ds);
    source_close(&img);
    source_close(&lab);
    if (st != EC2T_OK) {
        ec2t_dataset_free(ds);
        return st;
    }
    *out = ds;
    return EC2T_OK;
}

/* ---- CIFAR -------------------------------------------------------------- */

typedef struct cifar_layout {
    ec2t_cifar_kind kind;
    const char *name;
    size_t record; /* bytes per record */
    int32_t classes;
} cifar_layout;

static int
cifar_layout_of(ec2t_cifar_kind kind, cifar_layout *l)
{
    l->kind = kind;
    switch (kind) {
    case EC2T_CIFAR10:
        l->name = "CIFAR-10";
        l->record = 1 + CIFAR_PIXELS;
        l->classes = 10;
        return 1;
    case EC2T_CIFAR100_FINE:
    case EC2T_CIFAR100_COARSE:
        l->name = "CIFAR-100";
        l->record = 2 + CIFAR_PIXELS;
        l->classes = kind == EC2T_CIFAR100_FINE ? 100 : 20;
        return 1;
    }
    return 0;
}

/* Records in one file, from its size. */
static ec2t_status
cifar_count(ec2t_context *ctx, const char *path, const cifar_layout *l, int64_t *count)
{
    source src;
    ec2t_status st;
    source_init(&src, ctx, path);
    st = source_open(&src, 0);
    if (st == EC2T_OK && src.file_size % l->record != 0)
        st = ec2t__error(ctx, EC2T_E_FORMAT,
                         "%s: %llu bytes is not a whole number of %zu-byte %s records", path,
                         (unsigned long long)src.file_size, l->record, l->name);
    *count = (int64_t)(src.file_size / l->record);
    source_close(&src);
    return st;
}

/* Check a record's label bytes (both of them for CIFAR-100) and pick the label. */
static ec2t_status
cifar_label(source *src, const cifar_layout *l, const uint8_t *rec, int64_t index,
            int32_t *label)
{
    if (l->kind == EC2T_CIFAR10) {
        if (rec[0] >= 10)
            return ec2t__error(src->ctx, EC2T_E_FORMAT,
                               "%s: record %lld has label %u; CIFAR-10 labels are 0 to 9",
                               src->path, (long long)index, (unsigned)rec[0]);
        *label = rec[0];
        return EC2T_OK;
    }
    if (rec[0] >= 20 || rec[1] >= 100)
        return ec2t__error(src->ctx, EC2T_E_FORMAT,
                           "%s: record %lld has coarse label %u and fine label %u; CIFAR-100 "
                           "labels are 0 to 19 and 0 to 99",
                           src->path, (long long)index, (unsigned)rec[0], (unsigned)rec[1]);
    *label = l->kind == EC2T_CIFAR100_FINE ? rec[1] : rec[0];
    return EC2T_OK;
}

/* Read one file's count records into samples [base, base + count). */
static ec2t_status
cifar_read_file(ec2t_dataset *ds, const char *path, const cifar_layout *l, int64_t count,
                int64_t base, uint8_t *chunk)
{
    source src;
    ec2t_status st;
    source_init(&src, ds->ctx, path);
    st = source_open(&src, 0);
    if (st == EC2T_OK && src.file_size != (uint64_t)count * l->record)
        st = ec2t__error(ds->ctx, EC2T_E_IO, "%s: the file changed size while loading", path);
    for (int64_t done = 0; st == EC2T_OK && done < count;) {
        int64_t k = count - done < CIFAR_CHUNK_RECORDS ? count - done : CIFAR_CHUNK_RECORDS;
        st = source_read_exact(&src, chunk, (size_t)k * l->record, "records");
        for (int64_t j = 0; st == EC2T_OK && j < k; j++, done++) {
            const uint8_t *rec = chunk + (size_t)j * l->record;
            size_t s = (size_t)(base + done);
            st = cifar_label(&src, l, rec, done, &ds->labels[s]);
            if (st == EC2T_OK)
                memcpy(ds->u8 + s * CIFAR_PIXELS, rec + l->record - CIFAR_PIXELS, CIFAR_PIXELS);
        }
    }
    if (st == EC2T_OK)
        st = source_expect_end(&src, "records");
    source_close(&src);
    return st;
}

static ec2t_status
cifar_check_args(ec2t_context *ctx, const char *const *paths, int32_t n_paths,
                 ec2t_cifar_kind kind, uint32_t flags, cifar_layout *l)
{
    if (!paths)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: paths is NULL");
    if (n_paths < 1 || n_paths > CIFAR_MAX_FILES)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: %d files (1 to %d)",
                           (int)n_paths, CIFAR_MAX_FILES);
    for (int32_t i = 0; i < n_paths; i++)
        if (!paths[i])
            return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: paths[%d] is NULL",
                               (int)i);
    if (flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: flags must be 0");
    if (!cifar_layout_of(kind, l))
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: unknown kind %d",
                           (int)kind);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_dataset_load_cifar(ec2t_context *ctx, const char *const *paths, int32_t n_paths,
                        ec2t_cifar_kind kind, uint32_t flags, ec2t_dataset **out)
{
    int64_t counts[CIFAR_MAX_FILES], total = 0, base = 0;
    ec2t_dataset *ds = NULL;
    uint8_t *chunk = NULL;
    cifar_layout l = {EC2T_CIFAR10, NULL, 0, 0};
    ec2t_status st;

    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_load_cifar: out is NULL");
    st = cifar_check_args(ctx, paths, n_paths, kind, flags, &l);
    /* Sizes first, so that the pixels get one allocation of the right size;
     * every file is at most a few GiB, so the sum cannot overflow. */
    for (int32_t i = 0; st == EC2T_OK && i < n_paths; i++) {
        st = cifar_count(ctx, paths[i], &l, &counts[i]);
        total += counts[i];
    }
    if (st == EC2T_OK && (uint64_t)total > EC2T__DATASET_MAX_BYTES / CIFAR_PIXELS)
        st = ec2t__error(ctx, EC2T_E_FORMAT,
                         "ec2t_dataset_load_cifar: %lld records in %d files (from %s) are more "
                         "than a dataset holds",
                         (long long)total, (int)n_paths, paths[0]);
    if (st == EC2T_OK)
        st = ec2t__load_check(ctx, loaded_bytes((uint64_t)total, CIFAR_PIXELS), paths[0]);
    if (st == EC2T_OK)
        st = ec2t__dataset_new(ctx, total, 3, CIFAR_SIDE, CIFAR_SIDE, 1, NULL, &ds);
    if (st == EC2T_OK) {
        size_t records = total < CIFAR_CHUNK_RECORDS ? (size_t)total : CIFAR_CHUNK_RECORDS;
        chunk = ec2t__alloc(ctx, records * l.record, 64);
        if (!chunk)
            st = ec2t__nomem(ctx, "CIFAR read buffer");
    }
    for (int32_t i = 0; st == EC2T_OK && i < n_paths; i++) {
        st = cifar_read_file(ds, paths[i], &l, counts[i], base, chunk);
        base += counts[i];
    }
    ec2t__free(ctx, chunk);
    if (st != EC2T_OK) {
        ec2t_dataset_free(ds);
        return st;
    }
    ds->n_classes = l.classes;
    *out = ds;
    return EC2T_OK;
}
