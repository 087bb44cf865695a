/* SPDX-License-Identifier: MIT */
/* A validating reader of safetensors files (doc/FORMAT.md, "safetensors
 * files libec2t reads"). The whole file is read into one buffer; the JSON
 * header is parsed once, every string decoded into one arena of the header's
 * size (decoding never makes a string longer), and every rule is checked
 * before the handle is returned. */
#include <stdlib.h>
#include <string.h>

#include "bytes-private.h"
#include "fileio-private.h"
#include "json-private.h"
#include "safetensors-private.h"

#define ST_MAX_HEADER (UINT64_C(100) << 20) /* 100 MiB, as the reference implementation */
#define ST_MAX_FILE (UINT64_C(16) << 30)    /* 16 GiB */

typedef struct st_dtype {
    const char *name;
    uint32_t size;
} st_dtype;

/* The byte-sized dtypes of safetensors; only F32 is ever converted. */
static const st_dtype st_dtypes[] = {
    {"F64", 8}, {"F32", 4},  {"F16", 2},  {"BF16", 2},    {"I64", 8},     {"I32", 4},
    {"I16", 2}, {"I8", 1},   {"U8", 1},   {"BOOL", 1},    {"U16", 2},     {"U32", 4},
    {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

typedef struct st_meta {
    const char *key, *value;
} st_meta;

struct ec2t__st_file {
    ec2t_context *ctx;
    uint8_t *image; /* the whole file */
    size_t len;
    const char *what;
    char *arena; /* decoded strings of the header, and `what` */
    size_t arena_used, arena_cap;
    const uint8_t *data; /* the data area after the header */
    uint64_t data_len;
    ec2t__st_tensor *tensors; /* in header order */
    size_t n, cap;
    const ec2t__st_tensor **by_name; /* sorted by name */
    st_meta *meta;                   /* sorted by key once parsed */
    size_t n_meta, cap_meta;
    int seen_metadata;
};

static const st_dtype *
find_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    return NULL;
}

/* Room for element n of an array of capacity *cap: a doubled copy when it is
 * full (the context's allocator has no realloc). NULL on failure, arr intact. */
static void *
grow(ec2t_context *ctx, void *arr, size_t n, size_t *cap, size_t elem)
{
    size_t new_cap;
    void *p;
    if (n < *cap)
        return arr;
    new_cap = *cap ? *cap * 2 : 16;
    p = ec2t__calloc(ctx, new_cap, elem);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, arr, n * elem);
    ec2t__free(ctx, arr);
    *cap = new_cap;
    return p;
}

static ec2t_status
json_error(const ec2t__st_file *f, const ec2t__json *j)
{
    return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: malformed JSON header at byte %zu: %s",
                       f->what, j->err_pos, j->err);
}

/* The next JSON string, decoded into the arena; NULL on failure (j says why). */
static const char *
read_text(ec2t__st_file *f, ec2t__json *j, size_t *len)
{
    char *dst = f->arena + f->arena_used;
    size_t n;
    if (!ec2t__json_string(j, dst, f->arena_cap - f->arena_used, &n))
        return NULL;
    f->arena_used += n + 1;
    if (len)
        *len = n;
    return dst;
}

/* A string that must become a C string (a name, a metadata key or value). */
static ec2t_status
read_c_string(ec2t__st_file *f, ec2t__json *j, const char *kind, const char **out)
{
    size_t n;
    const char *s = read_text(f, j, &n);
    if (!s)
        return json_error(f, j);
    if (strlen(s) != n)
        return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: a %s holds a NUL character (\\u0000)",
                           f->what, kind);
    *out = s;
    return EC2T_OK;
}

static ec2t_status
parse_dtype(ec2t__st_file *f, ec2t__json *j, ec2t__st_tensor *t)
{
    const st_dtype *dt;
    const char *s = read_text(f, j, NULL);
    if (!s)
        return json_error(f, j);
    dt = find_dtype(s);
    if (!dt)
        return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' has unknown dtype '%.32s'",
                           f->what, t->name, s);
    t->dtype = dt->name;
    return EC2T_OK;
}

/* [d0, d1, ...]: 0 to EC2T__ST_MAX_DIMS non-negative integers. */
static ec2t_status
parse_shape(ec2t__st_file *f, ec2t__json *j, ec2t__st_tensor *t)
{
    int first = 1;
    if (!ec2t__json_expect(j, '['))
        return json_error(f, j);
    t->ndim = 0;
    while (ec2t__json_next(j, ']', &first)) {
        uint64_t v;
        if (!ec2t__json_uint(j, &v))
            return json_error(f, j);
        if (t->ndim >= EC2T__ST_MAX_DIMS)
            return ec2t__error(f->ctx, EC2T_E_FORMAT,
                               "%s: tensor '%s' has more than %d dimensions", f->what, t->name,
                               EC2T__ST_MAX_DIMS);
        if (v > INT64_MAX)
            return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' has an extent of %llu",
                               f->what, t->name, (unsigned long long)v);
        t->dims[t->ndim++] = (int64_t)v;
    }
    return ec2t__json_failed(j) ? json_error(f, j) : EC2T_OK;
}

/* [begin, end]: exactly two non-negative integers. */
static ec2t_status
parse_offsets(ec2t__st_file *f, ec2t__json *j, const ec2t__st_tensor *t, uint64_t off[2])
{
    int first = 1, n = 0;
    if (!ec2t__json_expect(j, '['))
        return json_error(f, j);
    while (ec2t__json_next(j, ']', &first)) {
        uint64_t v;
        if (!ec2t__json_uint(j, &v))
            return json_error(f, j);
        if (n < 2)
            off[n] = v;
        n++;
    }
    if (ec2t__json_failed(j))
        return json_error(f, j);
    if (n != 2)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s': data_offsets holds %d numbers, not 2", f->what,
                           t->name, n);
    return EC2T_OK;
}

/* Element count and byte size of the shape (a 0 extent makes an empty
 * tensor), then the byte range inside the data area. */
static ec2t_status
check_extent(ec2t__st_file *f, ec2t__st_tensor *t, const uint64_t off[2])
{
    uint64_t numel = 1, size = find_dtype(t->dtype)->size;
    for (int32_t d = 0; d < t->ndim; d++)
        if (t->dims[d] == 0)
            numel = 0; /* empty: the product of the other extents does not matter */
    for (int32_t d = 0; numel != 0 && d < t->ndim; d++) {
        uint64_t e = (uint64_t)t->dims[d];
        if (numel > UINT64_MAX / e)
            goto overflow;
        numel *= e;
    }
    if (numel > UINT64_MAX / size)
        goto overflow;
    if (off[1] < off[0])
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s': data_offsets end %llu is before begin %llu", f->what,
                           t->name, (unsigned long long)off[1], (unsigned long long)off[0]);
    if (off[1] > f->data_len)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' ends at data byte %llu, past the data area "
                           "(%llu bytes)", f->what, t->name, (unsigned long long)off[1],
                           (unsigned long long)f->data_len);
    if (off[1] - off[0] != numel * size)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' has %llu data bytes; its dtype %s and shape need %llu",
                           f->what, t->name, (unsigned long long)(off[1] - off[0]), t->dtype,
                           (unsigned long long)(numel * size));
    t->data = f->data + off[0];
    t->nbytes = numel * size;
    return EC2T_OK;
overflow:
    return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s': the size of its shape overflows",
                       f->what, t->name);
}

enum { F_DTYPE = 1, F_SHAPE = 2, F_OFFSETS = 4, F_ALL = 7 };

static int
field_bit(const char *field)
{
    if (strcmp(field, "dtype") == 0)
        return F_DTYPE;
    if (strcmp(field, "shape") == 0)
        return F_SHAPE;
    if (strcmp(field, "data_offsets") == 0)
        return F_OFFSETS;
    return 0;
}

/* One field of a tensor object; other fields than the three are skipped. */
static ec2t_status
parse_field(ec2t__st_file *f, ec2t__json *j, ec2t__st_tensor *t, int bit, uint64_t off[2])
{
    switch (bit) {
    case F_DTYPE:
        return parse_dtype(f, j, t);
    case F_SHAPE:
        return parse_shape(f, j, t);
    case F_OFFSETS:
        return parse_offsets(f, j, t, off);
    default:
        return ec2t__json_skip_value(j) ? EC2T_OK : json_error(f, j);
    }
}

/* {"dtype": .., "shape": [..], "data_offsets": [b, e]}: each exactly once. */
static ec2t_status
parse_tensor(ec2t__st_file *f, ec2t__json *j, const char *name)
{
    ec2t__st_tensor *t;
    uint64_t off[2] = {0, 0};
    int seen = 0, first = 1;
    ec2t_status st;
    void *arr = grow(f->ctx, f->tensors, f->n, &f->cap, sizeof *f->tensors);
    if (!arr)
        return ec2t__nomem(f->ctx, "safetensors tensor list");
    f->tensors = arr;
    t = &f->tensors[f->n];
    memset(t, 0, sizeof *t);
    t->name = name;
    if (!ec2t__json_expect(j, '{'))
        return json_error(f, j);
    while (ec2t__json_next(j, '}', &first)) {
        const char *field = read_text(f, j, NULL);
        int bit;
        if (!field || !ec2t__json_expect(j, ':'))
            return json_error(f, j);
        bit = field_bit(field);
        if (seen & bit)
            return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' has '%s' twice", f->what,
                               name, field);
        seen |= bit;
        st = parse_field(f, j, t, bit, off);
        if (st != EC2T_OK)
            return st;
    }
    if (ec2t__json_failed(j))
        return json_error(f, j);
    if (seen != F_ALL)
        return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' lacks %s", f->what, name,
                           !(seen & F_DTYPE) ? "dtype" : !(seen & F_SHAPE) ? "shape"
                                                                            : "data_offsets");
    st = check_extent(f, t, off);
    if (st == EC2T_OK)
        f->n++;
    return st;
}

/* {"key": "value", ...}: string values only. */
static ec2t_status
parse_metadata(ec2t__st_file *f, ec2t__json *j)
{
    int first = 1;
    if (f->seen_metadata)
        return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: '__metadata__' appears twice", f->what);
    f->seen_metadata = 1;
    if (!ec2t__json_expect(j, '{'))
        return json_error(f, j);
    while (ec2t__json_next(j, '}', &first)) {
        st_meta m;
        void *arr;
        ec2t_status st = read_c_string(f, j, "metadata key", &m.key);
        if (st != EC2T_OK)
            return st;
        if (!ec2t__json_expect(j, ':'))
            return json_error(f, j);
        if (ec2t__json_peek(j) != '"')
            return ec2t__error(f->ctx, EC2T_E_FORMAT,
                               "%s: the __metadata__ value of '%s' is not a string", f->what,
                               m.key);
        st = read_c_string(f, j, "metadata value", &m.value);
        if (st != EC2T_OK)
            return st;
        arr = grow(f->ctx, f->meta, f->n_meta, &f->cap_meta, sizeof *f->meta);
        if (!arr)
            return ec2t__nomem(f->ctx, "safetensors metadata");
        f->meta = arr;
        f->meta[f->n_meta++] = m;
    }
    return ec2t__json_failed(j) ? json_error(f, j) : EC2T_OK;
}

/* The top-level object, then nothing but spaces up to the data. */
static ec2t_status
parse_header(ec2t__st_file *f, ec2t__json *j)
{
    int first = 1;
    if (!ec2t__json_expect(j, '{'))
        return json_error(f, j);
    while (ec2t__json_next(j, '}', &first)) {
        const char *name;
        ec2t_status st = read_c_string(f, j, "tensor name", &name);
        if (st != EC2T_OK)
            return st;
        if (!ec2t__json_expect(j, ':'))
            return json_error(f, j);
        if (strcmp(name, "__metadata__") == 0)
            st = parse_metadata(f, j);
        else
            st = parse_tensor(f, j, name);
        if (st != EC2T_OK)
            return st;
    }
    if (ec2t__json_failed(j))
        return json_error(f, j);
    for (const char *p = j->p; p < j->end; p++)
        if (*p != ' ')
            return ec2t__error(f->ctx, EC2T_E_FORMAT,
                               "%s: the JSON header is followed by bytes other than spaces",
                               f->what);
    return EC2T_OK;
}

static int
cmp_tensor_name(const void *a, const void *b)
{
    const ec2t__st_tensor *x = *(const ec2t__st_tensor *const *)a;
    const ec2t__st_tensor *y = *(const ec2t__st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int
cmp_name_tensor(const void *name, const void *elem)
{
    return strcmp(*(const char *const *)name, (*(const ec2t__st_tensor *const *)elem)->name);
}

/* By data offset, then by size, so that empty tensors come before the
 * tensor that starts where they are. */
static int
cmp_tensor_offset(const void *a, const void *b)
{
    const ec2t__st_tensor *x = *(const ec2t__st_tensor *const *)a;
    const ec2t__st_tensor *y = *(const ec2t__st_tensor *const *)b;
    if (x->data != y->data)
        return x->data < y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int
cmp_meta(const void *a, const void *b)
{
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

static int
cmp_key_meta(const void *key, const void *elem)
{
    return strcmp(key, ((const st_meta *)elem)->key);
}

/* With by_name sorted by offset: the tensors tile the data area exactly, as
 * safetensors requires (no overlaps, no holes, nothing after them). */
static ec2t_status
check_tiling(const ec2t__st_file *f)
{
    uint64_t expected = 0;
    const ec2t__st_tensor *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const ec2t__st_tensor *t = f->by_name[i];
        uint64_t begin = (uint64_t)(t->data - f->data);
        if (begin < expected)
            return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensors '%s' and '%s' overlap",
                               f->what, prev ? prev->name : "", t->name);
        if (begin > expected)
            return ec2t__error(f->ctx, EC2T_E_FORMAT,
                               "%s: data bytes %llu to %llu belong to no tensor (holes are not "
                               "allowed)", f->what, (unsigned long long)expected,
                               (unsigned long long)begin);
        expected = begin + t->nbytes;
        prev = t;
    }
    if (expected != f->data_len)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: %llu bytes follow the last tensor's data", f->what,
                           (unsigned long long)(f->data_len - expected));
    return EC2T_OK;
}

/* The name index, the tiling, and no name or metadata key twice. */
static ec2t_status
check_tensors(ec2t__st_file *f)
{
    ec2t_status st;
    f->by_name = ec2t__calloc(f->ctx, f->n ? f->n : 1, sizeof *f->by_name);
    if (!f->by_name)
        return ec2t__nomem(f->ctx, "safetensors index");
    for (size_t i = 0; i < f->n; i++)
        f->by_name[i] = &f->tensors[i];
    if (f->n > 1)
        qsort(f->by_name, f->n, sizeof *f->by_name, cmp_tensor_offset);
    st = check_tiling(f);
    if (st != EC2T_OK)
        return st;
    if (f->n > 1)
        qsort(f->by_name, f->n, sizeof *f->by_name, cmp_tensor_name);
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' appears twice", f->what,
                               f->by_name[i]->name);
    if (f->n_meta > 1)
        qsort(f->meta, f->n_meta, sizeof *f->meta, cmp_meta);
    for (size_t i = 1; i < f->n_meta; i++)
        if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0)
            return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: __metadata__ key '%s' appears twice",
                               f->what, f->meta[i].key);
    return EC2T_OK;
}

/* The 8-byte header length and where the JSON and the data are. */
static ec2t_status
read_prefix(ec2t__st_file *f, uint64_t *header_len)
{
    uint64_t n;
    if (f->len < 8)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: %zu bytes is too short for a safetensors file", f->what, f->len);
    n = ec2t__le64(f->image);
    if (n > ST_MAX_HEADER)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: header length %llu is above the 100 MiB limit", f->what,
                           (unsigned long long)n);
    if (n > f->len - 8)
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: header length %llu runs past the end of the file (%zu bytes)",
                           f->what, (unsigned long long)n, f->len);
    if (n < 2 || f->image[8] != '{')
        return ec2t__error(f->ctx, EC2T_E_FORMAT,
                           "%s: the header is not a JSON object (it must start with '{')",
                           f->what);
    f->data = f->image + 8 + n;
    f->data_len = f->len - 8 - n;
    *header_len = n;
    return EC2T_OK;
}

/* Validate an image (taken over: freed on failure) into a handle. */
static ec2t_status
open_image(ec2t_context *ctx, uint8_t *image, size_t len, const char *what, ec2t__st_file **out)
{
    ec2t__st_file *f = ec2t__calloc(ctx, 1, sizeof *f);
    uint64_t header_len = 0;
    size_t what_len = strlen(what);
    ec2t__json j;
    ec2t_status st;
    if (!f) {
        ec2t__free(ctx, image);
        return ec2t__nomem(ctx, "safetensors reader");
    }
    f->ctx = ctx;
    f->image = image;
    f->len = len;
    f->what = what; /* the caller's until the arena has a copy */
    st = read_prefix(f, &header_len);
    if (st != EC2T_OK)
        goto fail;
    f->arena_cap = (size_t)header_len + what_len + 1;
    f->arena = ec2t__alloc(ctx, f->arena_cap, 1);
    if (!f->arena) {
        st = ec2t__nomem(ctx, "safetensors header");
        goto fail;
    }
    memcpy(f->arena, what, what_len + 1);
    f->what = f->arena;
    f->arena_used = what_len + 1;
    ec2t__json_init(&j, (const char *)image + 8, (size_t)header_len);
    st = parse_header(f, &j);
    if (st == EC2T_OK)
        st = check_tensors(f);
    if (st != EC2T_OK)
        goto fail;
    *out = f;
    return EC2T_OK;
fail:
    ec2t__st_free(f);
    return st;
}

ec2t_status
ec2t__st_open_file(ec2t_context *ctx, const char *path, ec2t__st_file **out)
{
    size_t max = SIZE_MAX < ST_MAX_FILE ? SIZE_MAX : (size_t)ST_MAX_FILE;
    uint8_t *image;
    size_t len;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || !path)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t__st_open_file: NULL argument");
    st = ec2t__read_file(ctx, path, max, &image, &len);
    if (st != EC2T_OK)
        return st;
    return open_image(ctx, image, len, path, out);
}

ec2t_status
ec2t__st_open_mem(ec2t_context *ctx, const void *buf, size_t len, const char *what,
                  ec2t__st_file **out)
{
    uint8_t *image;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || (!buf && len > 0))
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t__st_open_mem: NULL argument");
    if (!what)
        what = "safetensors buffer";
    if ((uint64_t)len > ST_MAX_FILE)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %zu bytes is more than the 16 GiB allowed",
                           what, len);
    image = ec2t__alloc(ctx, len, 64);
    if (!image)
        return ec2t__nomem(ctx, what);
    if (len)
        memcpy(image, buf, len);
    return open_image(ctx, image, len, what, out);
}

void
ec2t__st_free(ec2t__st_file *f)
{
    if (!f)
        return;
    ec2t__free(f->ctx, f->by_name);
    ec2t__free(f->ctx, f->meta);
    ec2t__free(f->ctx, f->tensors);
    ec2t__free(f->ctx, f->arena);
    ec2t__free(f->ctx, f->image);
    ec2t__free(f->ctx, f);
}

const char *
ec2t__st_what(const ec2t__st_file *f)
{
    return f ? f->what : "";
}

size_t
ec2t__st_count(const ec2t__st_file *f)
{
    return f ? f->n : 0;
}

const ec2t__st_tensor *
ec2t__st_at(const ec2t__st_file *f, size_t index)
{
    return f && index < f->n ? &f->tensors[index] : NULL;
}

const ec2t__st_tensor *
ec2t__st_find(const ec2t__st_file *f, const char *name)
{
    const ec2t__st_tensor *const *hit;
    if (!f || !name || f->n == 0)
        return NULL;
    hit = bsearch(&name, f->by_name, f->n, sizeof *f->by_name, cmp_name_tensor);
    return hit ? *hit : NULL;
}

const char *
ec2t__st_metadata(const ec2t__st_file *f, const char *key)
{
    const st_meta *hit;
    if (!f || !key || f->n_meta == 0)
        return NULL;
    hit = bsearch(key, f->meta, f->n_meta, sizeof *f->meta, cmp_key_meta);
    return hit ? hit->value : NULL;
}

ec2t_status
ec2t__st_read_f32(const ec2t__st_file *f, const ec2t__st_tensor *t, float *dst)
{
    if (!f)
        return EC2T_E_INVAL;
    if (!t || (!dst && t->nbytes > 0))
        return ec2t__error(f->ctx, EC2T_E_INVAL, "ec2t__st_read_f32: NULL argument");
    if (strcmp(t->dtype, "F32") != 0)
        return ec2t__error(f->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is %s, expected F32", f->what,
                           t->name, t->dtype);
    ec2t__load_f32le(dst, t->data, (size_t)(t->nbytes / 4));
    return EC2T_OK;
}

/* ---- writer ---- */

#define ST_WRITE_CHUNK 16384 /* floats converted to little-endian per write */
#define ST_MAX_NAME 65535

typedef struct st_entry {
    char *name;
    int32_t ndim;
    int64_t dims[EC2T__ST_MAX_DIMS];
    const float *data;
    uint64_t numel;
} st_entry;

struct ec2t__st_writer {
    ec2t_context *ctx;
    st_entry *entries; /* in the order added */
    size_t n, cap;
};

ec2t_status
ec2t__st_writer_new(ec2t_context *ctx, ec2t__st_writer **out)
{
    ec2t__st_writer *w;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t__st_writer_new: NULL argument");
    w = ec2t__calloc(ctx, 1, sizeof *w);
    if (!w)
        return ec2t__nomem(ctx, "safetensors writer");
    w->ctx = ctx;
    *out = w;
    return EC2T_OK;
}

void
ec2t__st_writer_free(ec2t__st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        ec2t__free(w->ctx, w->entries[i].name);
    ec2t__free(w->ctx, w->entries);
    ec2t__free(w->ctx, w);
}

/* A tensor name the reader accepts back as the same string. */
static int
valid_name(const ec2t__st_writer *w, const char *name, size_t len)
{
    if (len == 0 || len > ST_MAX_NAME || !ec2t__utf8_valid(name, len) ||
        strcmp(name, "__metadata__") == 0)
        return 0;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->entries[i].name, name) == 0)
            return 0;
    return 1;
}

/* The element count of a shape, 0 on overflow of the byte size (and for an
 * empty shape with a 0 extent, which *ok tells apart). */
static uint64_t
shape_numel(int32_t ndim, const int64_t *dims, int *ok)
{
    uint64_t numel = 1;
    *ok = 1;
    for (int32_t d = 0; d < ndim; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && numel > (UINT64_MAX / 4) / (uint64_t)dims[d])) {
            *ok = 0;
            return 0;
        }
        numel *= (uint64_t)dims[d];
    }
    return numel;
}

ec2t_status
ec2t__st_add_f32(ec2t__st_writer *w, const char *name, int32_t ndim, const int64_t *dims,
                 const float *data)
{
    st_entry *e;
    uint64_t numel;
    void *arr;
    int ok;
    if (!w)
        return EC2T_E_INVAL;
    if (!name || ndim < 0 || ndim > EC2T__ST_MAX_DIMS || (ndim > 0 && !dims))
        return ec2t__error(w->ctx, EC2T_E_INVAL, "ec2t__st_add_f32: bad name or shape");
    numel = shape_numel(ndim, dims, &ok);
    if (!ok || (numel > 0 && !data) || !valid_name(w, name, strlen(name)))
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "ec2t__st_add_f32: tensor '%.64s': bad or repeated name, bad shape or "
                           "no data", name);
    arr = grow(w->ctx, w->entries, w->n, &w->cap, sizeof *w->entries);
    if (!arr)
        return ec2t__nomem(w->ctx, "safetensors writer");
    w->entries = arr;
    e = &w->entries[w->n];
    memset(e, 0, sizeof *e);
    e->name = ec2t__alloc(w->ctx, strlen(name) + 1, 1);
    if (!e->name)
        return ec2t__nomem(w->ctx, "safetensors tensor name");
    memcpy(e->name, name, strlen(name) + 1);
    e->ndim = ndim;
    for (int32_t d = 0; d < ndim; d++)
        e->dims[d] = dims[d];
    e->data = data;
    e->numel = numel;
    w->n++;
    return EC2T_OK;
}

/* Append text to the header buffer, or only count it when buf is NULL. */
static void
put_text(char *buf, size_t *len, const char *text, size_t n)
{
    if (buf)
        memcpy(buf + *len, text, n);
    *len += n;
}

#define PUT_LIT(buf, len, lit) put_text(buf, len, lit, sizeof lit - 1)

static void
put_uint(char *buf, size_t *len, uint64_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_text(buf, len, digits + sizeof digits - n, (size_t)n);
}

/* A JSON string: '"' and '\' escaped, control characters as \u00XX. */
static void
put_string(char *buf, size_t *len, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    PUT_LIT(buf, len, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put_text(buf, len, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put_text(buf, len, esc, 6);
        } else {
            put_text(buf, len, s, 1);
        }
    }
    PUT_LIT(buf, len, "\"");
}

/* The JSON header without its padding (buf NULL: only its length). */
static size_t
header_json(const ec2t__st_writer *w, char *buf)
{
    size_t len = 0;
    uint64_t offset = 0;
    PUT_LIT(buf, &len, "{");
    for (size_t i = 0; i < w->n; i++) {
        const st_entry *e = &w->entries[i];
        if (i)
            PUT_LIT(buf, &len, ",");
        put_string(buf, &len, e->name);
        PUT_LIT(buf, &len, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int32_t d = 0; d < e->ndim; d++) {
            if (d)
                PUT_LIT(buf, &len, ",");
            put_uint(buf, &len, (uint64_t)e->dims[d]);
        }
        PUT_LIT(buf, &len, "],\"data_offsets\":[");
        put_uint(buf, &len, offset);
        PUT_LIT(buf, &len, ",");
        offset += e->numel * 4;
        put_uint(buf, &len, offset);
        PUT_LIT(buf, &len, "]}");
    }
    PUT_LIT(buf, &len, "}");
    return len;
}

/* The 8-byte length and the header, padded with spaces so that the data
 * starts at a multiple of 8; *out from ec2t__alloc. */
static ec2t_status
build_header(ec2t__st_writer *w, uint8_t **out, size_t *out_len)
{
    size_t json = header_json(w, NULL), padded = (json + 7) / 8 * 8;
    uint8_t *buf;
    if ((uint64_t)padded > ST_MAX_HEADER)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "safetensors writer: a header of %zu bytes exceeds 100 MiB", padded);
    buf = ec2t__alloc(w->ctx, 8 + padded, 8);
    if (!buf)
        return ec2t__nomem(w->ctx, "safetensors header");
    ec2t__put_le64(buf, (uint64_t)padded);
    header_json(w, (char *)buf + 8);
    memset(buf + 8 + json, ' ', padded - json);
    *out = buf;
    *out_len = 8 + padded;
    return EC2T_OK;
}

/* A tensor's floats as little-endian bytes, through a bounce buffer. */
static ec2t_status
write_floats(ec2t__atomic_file *f, const float *data, uint64_t numel, uint8_t *bounce)
{
    ec2t_status st = EC2T_OK;
    for (uint64_t i = 0; i < numel && st == EC2T_OK; i += ST_WRITE_CHUNK) {
        size_t n = numel - i < ST_WRITE_CHUNK ? (size_t)(numel - i) : ST_WRITE_CHUNK;
        ec2t__store_f32le(bounce, data + i, n);
        st = ec2t__atomic_write(f, bounce, n * 4);
    }
    return st;
}

ec2t_status
ec2t__st_write_file(ec2t__st_writer *w, const char *path)
{
    ec2t__atomic_file *f = NULL;
    uint8_t *header = NULL, *bounce = NULL;
    size_t header_len = 0;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    if (!path)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "ec2t__st_write_file: NULL path");
    st = build_header(w, &header, &header_len);
    if (st == EC2T_OK) {
        bounce = ec2t__alloc(w->ctx, ST_WRITE_CHUNK * 4, 64);
        st = bounce ? ec2t__atomic_open(w->ctx, path, &f) : ec2t__nomem(w->ctx, "safetensors writer");
    }
    if (st == EC2T_OK)
        st = ec2t__atomic_write(f, header, header_len);
    for (size_t i = 0; i < w->n && st == EC2T_OK; i++)
        st = write_floats(f, w->entries[i].data, w->entries[i].numel, bounce);
    if (st == EC2T_OK)
        st = ec2t__atomic_commit(f);
    else
        ec2t__atomic_abort(f);
    ec2t__free(w->ctx, bounce);
    ec2t__free(w->ctx, header);
    return st;
}
