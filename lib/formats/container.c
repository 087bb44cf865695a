/* SPDX-License-Identifier: MIT */
/* The libec2t container (doc/FORMAT.md): a writer and a validating reader.
 *
 * The writer keeps every key/value pair already encoded as its file bytes and
 * borrows tensor data until it writes. The reader owns one aligned image of
 * the whole file; it walks the header once with bounds checks, verifies the
 * header checksum, and then checks every rule of the specification, so that
 * lookups afterwards never meet malformed data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytes-private.h"
#include "container-private.h"
#include "fileio-private.h"
#include "json-private.h"

#define KEY_ALIGNMENT "general.alignment"
#define MAX_FILE (UINT64_C(16) << 30)  /* 16 GiB */
#define MAX_KV 65536u
#define MAX_TENSORS 1000000u
#define MAX_STRING (UINT64_C(1) << 20) /* 1 MiB */
#define MAX_NUMEL (UINT64_C(1) << 40)
#define MAX_ALIGN 65536u
#define MAX_DIMS 4
#define FIXED_LEN 24     /* magic, version, n_tensors, n_kv */
#define MIN_KV_LEN 14    /* u64 key length, 1-byte key, u32 type, 1-byte value */
#define MIN_TINFO_LEN 45 /* 1-byte name, one extent */

/* ---- shared by the writer and the reader ---- */

/* Bytes of one scalar of a value type; 0 for strings, arrays and unknown types. */
static size_t
scalar_size(uint32_t type)
{
    switch (type) {
    case EC2T__KV_U8:
    case EC2T__KV_I8:
    case EC2T__KV_BOOL:
        return 1;
    case EC2T__KV_U16:
    case EC2T__KV_I16:
        return 2;
    case EC2T__KV_U32:
    case EC2T__KV_I32:
    case EC2T__KV_F32:
        return 4;
    case EC2T__KV_U64:
    case EC2T__KV_I64:
    case EC2T__KV_F64:
        return 8;
    default:
        return 0;
    }
}

static const char *
kv_type_name(uint32_t type)
{
    static const char *const names[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static const char *
dtype_name(uint32_t dtype)
{
    switch (dtype) {
    case EC2T__DT_F32: return "F32";
    case EC2T__DT_F16: return "F16";
    case EC2T__DT_I8: return "I8";
    case EC2T__DT_I32: return "I32";
    case EC2T__DT_U8: return "U8";
    case EC2T__DT_I64: return "I64";
    case EC2T__DT_TERNARY_2B: return "TERNARY_2B";
    case EC2T__DT_TERNARY_B3: return "TERNARY_B3";
    default: return "unknown";
    }
}

/* Data bytes of numel (<= 2^40, so nothing overflows) elements; 0 for an unknown dtype. */
static uint64_t
dtype_nbytes(uint32_t dtype, uint64_t numel)
{
    switch (dtype) {
    case EC2T__DT_F32:
    case EC2T__DT_I32:
        return numel * 4;
    case EC2T__DT_F16:
        return numel * 2;
    case EC2T__DT_I8:
    case EC2T__DT_U8:
        return numel;
    case EC2T__DT_I64:
        return numel * 8;
    case EC2T__DT_TERNARY_2B:
        return (numel + 3) / 4;
    case EC2T__DT_TERNARY_B3:
        return (numel + 4) / 5;
    default:
        return 0;
    }
}

/* Width of the host-order elements that the writer turns into little-endian
 * bytes; 1 for byte data, which is written as it is. */
static size_t
dtype_swap_width(uint32_t dtype)
{
    switch (dtype) {
    case EC2T__DT_F32:
    case EC2T__DT_I32:
        return 4;
    case EC2T__DT_F16:
        return 2;
    case EC2T__DT_I64:
        return 8;
    default:
        return 1;
    }
}

/* Product of extents (any order), or 0 if one is below 1 or the product exceeds 2^40. */
static uint64_t
numel_of(const uint64_t *dims, uint32_t ndim)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > MAX_NUMEL || n > MAX_NUMEL / dims[i])
            return 0;
        n *= dims[i];
    }
    return n;
}

/* TERNARY_2B never uses code 10 and TERNARY_B3 never a byte above 3^5 - 1;
 * the codes past the last weight are 0, so each tensor has one encoding. */
static int
ternary_valid(uint32_t dtype, const uint8_t *p, uint64_t numel)
{
    uint64_t nbytes = dtype_nbytes(dtype, numel), rem;
    if (dtype == EC2T__DT_TERNARY_2B) {
        for (uint64_t i = 0; i < nbytes; i++) {
            /* a pair whose high bit is set and low bit clear is 10 */
            if ((p[i] & 0xAA) & ~((p[i] & 0x55) << 1))
                return 0;
        }
        rem = numel % 4;
        return rem == 0 || (p[nbytes - 1] >> (2 * rem)) == 0;
    }
    if (dtype == EC2T__DT_TERNARY_B3) {
        static const unsigned pow3[5] = {1, 3, 9, 27, 81};
        for (uint64_t i = 0; i < nbytes; i++)
            if (p[i] >= 243)
                return 0;
        rem = numel % 5;
        return rem == 0 || p[nbytes - 1] < pow3[rem];
    }
    return 1;
}

/* zlib's CRC-32; zlib takes uInt lengths, so large buffers go in pieces. */
static uint32_t
crc_update(uint32_t crc, const uint8_t *p, uint64_t n)
{
    while (n > 0) {
        uInt k = n > (UINT64_C(1) << 30) ? (uInt)1 << 30 : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

/* Whether a stored checksum differs from the computed one. Fuzzing builds
 * (tests/fuzz) accept every checksum, as a fuzzer cannot forge them; every
 * other check of the reader stays. */
static int
crc_differs(uint32_t stored, uint32_t computed)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)stored;
    (void)computed;
    return 0;
#else
    return stored != computed;
#endif
}

static uint64_t
align_up(uint64_t x, uint64_t align)
{
    return (x + align - 1) & ~(align - 1);
}

static int
alignment_valid(uint64_t a)
{
    return a >= EC2T__CONTAINER_ALIGN && a <= MAX_ALIGN && (a & (a - 1)) == 0;
}

/* One element of width size (1, 2, 4 or 8) from host order to little-endian. */
static void
host_to_le(uint8_t *dst, const uint8_t *src, size_t size)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (size) {
    case 2:
        memcpy(&u16, src, 2);
        ec2t__put_le16(dst, u16);
        break;
    case 4:
        memcpy(&u32, src, 4);
        ec2t__put_le32(dst, u32);
        break;
    case 8:
        memcpy(&u64, src, 8);
        ec2t__put_le64(dst, u64);
        break;
    default:
        dst[0] = src[0];
        break;
    }
}

/* One element of width size from little-endian to host order. */
static void
le_to_host(uint8_t *dst, const uint8_t *src, size_t size)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (size) {
    case 2:
        u16 = ec2t__le16(src);
        memcpy(dst, &u16, 2);
        break;
    case 4:
        u32 = ec2t__le32(src);
        memcpy(dst, &u32, 4);
        break;
    case 8:
        u64 = ec2t__le64(src);
        memcpy(dst, &u64, 8);
        break;
    default:
        dst[0] = src[0];
        break;
    }
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
    new_cap = *cap ? *cap * 2 : 8;
    p = ec2t__calloc(ctx, new_cap, elem);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, arr, n * elem);
    ec2t__free(ctx, arr);
    *cap = new_cap;
    return p;
}

/* ---- writer ---- */

typedef struct cw_kv {
    uint8_t *rec; /* u64 key length, key, u32 type, value: the bytes of the file */
    size_t rec_len;
    size_t key_len;
} cw_kv;

typedef struct cw_tensor {
    char name[EC2T__CONTAINER_MAX_NAME + 1];
    size_t name_len;
    ec2t__dtype dtype;
    uint32_t ndim;
    uint64_t dims[MAX_DIMS]; /* innermost first, as the file stores them */
    const uint8_t *data;     /* borrowed */
    uint64_t nbytes;
    uint64_t offset; /* set by layout() */
    uint32_t crc;    /* set by compute_crcs() */
} cw_tensor;

struct ec2t__cwriter {
    ec2t_context *ctx;
    cw_kv *kv;
    size_t n_kv, cap_kv;
    cw_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint32_t alignment;
};

/* Where the file goes: a buffer of the right size, or an atomic file. */
typedef struct out_sink {
    uint8_t *mem;
    ec2t__atomic_file *file;
    uint64_t pos;
} out_sink;

typedef struct cw_layout {
    uint64_t header_len; /* through the header checksum */
    uint64_t head_bytes; /* header_len, plus the padding to the data section if there are tensors */
    uint64_t total;      /* the file length */
} cw_layout;

ec2t_status
ec2t__cw_new(ec2t_context *ctx, ec2t__cwriter **out)
{
    ec2t__cwriter *w;
    if (!out)
        return ctx ? ec2t__error(ctx, EC2T_E_INVAL, "container writer: out is NULL") : EC2T_E_INVAL;
    *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    w = ec2t__calloc(ctx, 1, sizeof *w);
    if (!w)
        return ec2t__nomem(ctx, "container writer");
    w->ctx = ctx;
    w->alignment = EC2T__CONTAINER_ALIGN;
    *out = w;
    return EC2T_OK;
}

void
ec2t__cw_free(ec2t__cwriter *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++)
        ec2t__free(w->ctx, w->kv[i].rec);
    ec2t__free(w->ctx, w->kv);
    ec2t__free(w->ctx, w->tensors);
    ec2t__free(w->ctx, w);
}

/* A key or tensor name: 1..255 bytes of UTF-8 (a C string has no NUL inside). */
static ec2t_status
check_name(ec2t_context *ctx, const char *s, const char *kind, size_t *len)
{
    if (!s)
        return ec2t__error(ctx, EC2T_E_INVAL, "container writer: %s is NULL", kind);
    *len = strlen(s);
    if (*len < 1 || *len > EC2T__CONTAINER_MAX_NAME)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "container writer: %s '%.40s' has %zu bytes (1 to %d allowed)", kind, s,
                           *len, EC2T__CONTAINER_MAX_NAME);
    if (!ec2t__utf8_valid(s, *len))
        return ec2t__error(ctx, EC2T_E_INVAL, "container writer: %s '%.40s' is not valid UTF-8",
                           kind, s);
    return EC2T_OK;
}

static int
writer_has_key(const ec2t__cwriter *w, const char *key, size_t key_len)
{
    for (size_t i = 0; i < w->n_kv; i++)
        if (w->kv[i].key_len == key_len && memcmp(w->kv[i].rec + 8, key, key_len) == 0)
            return 1;
    return 0;
}

/* Everything about a new key that does not depend on its value. */
static ec2t_status
check_key(ec2t__cwriter *w, const char *key, ec2t__kv_type type)
{
    size_t key_len;
    ec2t_status st = check_name(w->ctx, key, "key", &key_len);
    if (st != EC2T_OK)
        return st;
    if (writer_has_key(w, key, key_len))
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: key '%s' is already set", key);
    if (strcmp(key, KEY_ALIGNMENT) == 0 && type != EC2T__KV_U32)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: key '%s' must be a u32", key);
    if (w->n_kv >= MAX_KV)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: more than %u keys", MAX_KV);
    return EC2T_OK;
}

/* Append a checked key with room for value_len bytes of value; *val points at
 * that room, which the caller fills (nothing can fail after this). */
static ec2t_status
kv_begin(ec2t__cwriter *w, const char *key, ec2t__kv_type type, size_t value_len, uint8_t **val)
{
    size_t key_len = strlen(key), rec_len;
    uint8_t *rec;
    void *arr;
    if (value_len > SIZE_MAX - 12 - key_len)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: value of key '%s' is too large",
                           key);
    rec_len = 8 + key_len + 4 + value_len;
    arr = grow(w->ctx, w->kv, w->n_kv, &w->cap_kv, sizeof *w->kv);
    if (!arr)
        return ec2t__nomem(w->ctx, "container keys");
    w->kv = arr;
    rec = ec2t__alloc(w->ctx, rec_len, 1);
    if (!rec)
        return ec2t__nomem(w->ctx, "container key");
    ec2t__put_le64(rec, key_len);
    memcpy(rec + 8, key, key_len);
    ec2t__put_le32(rec + 8 + key_len, (uint32_t)type);
    w->kv[w->n_kv].rec = rec;
    w->kv[w->n_kv].rec_len = rec_len;
    w->kv[w->n_kv].key_len = key_len;
    w->n_kv++;
    *val = rec + 12 + key_len;
    return EC2T_OK;
}

/* A scalar whose host-order bytes are at value. */
static ec2t_status
add_scalar(ec2t__cwriter *w, const char *key, ec2t__kv_type type, const void *value)
{
    uint8_t *val;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    st = check_key(w, key, type);
    if (st == EC2T_OK)
        st = kv_begin(w, key, type, scalar_size(type), &val);
    if (st == EC2T_OK)
        host_to_le(val, value, scalar_size(type));
    return st;
}

ec2t_status
ec2t__cw_add_u32(ec2t__cwriter *w, const char *key, uint32_t v)
{
    int is_align = key && strcmp(key, KEY_ALIGNMENT) == 0;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    if (is_align && !alignment_valid(v))
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: alignment %u is not a power of two in %d..%u", v,
                           EC2T__CONTAINER_ALIGN, MAX_ALIGN);
    st = add_scalar(w, key, EC2T__KV_U32, &v);
    if (st == EC2T_OK && is_align)
        w->alignment = v;
    return st;
}

ec2t_status
ec2t__cw_add_i32(ec2t__cwriter *w, const char *key, int32_t v)
{
    return add_scalar(w, key, EC2T__KV_I32, &v);
}

ec2t_status
ec2t__cw_add_u64(ec2t__cwriter *w, const char *key, uint64_t v)
{
    return add_scalar(w, key, EC2T__KV_U64, &v);
}

ec2t_status
ec2t__cw_add_i64(ec2t__cwriter *w, const char *key, int64_t v)
{
    return add_scalar(w, key, EC2T__KV_I64, &v);
}

ec2t_status
ec2t__cw_add_f32(ec2t__cwriter *w, const char *key, float v)
{
    return add_scalar(w, key, EC2T__KV_F32, &v);
}

ec2t_status
ec2t__cw_add_f64(ec2t__cwriter *w, const char *key, double v)
{
    return add_scalar(w, key, EC2T__KV_F64, &v);
}

ec2t_status
ec2t__cw_add_bool(ec2t__cwriter *w, const char *key, int v)
{
    uint8_t b = v ? 1 : 0;
    return add_scalar(w, key, EC2T__KV_BOOL, &b);
}

/* A string value: at most 1 MiB of UTF-8. */
static ec2t_status
check_string(ec2t__cwriter *w, const char *key, const char *s)
{
    size_t n;
    if (!s)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: string for key '%s' is NULL",
                           key);
    n = strlen(s);
    if (n > MAX_STRING)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: string for key '%s' has %zu bytes (at most 1 MiB)",
                           key, n);
    if (!ec2t__utf8_valid(s, n))
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: string for key '%s' is not valid UTF-8", key);
    return EC2T_OK;
}

ec2t_status
ec2t__cw_add_str(ec2t__cwriter *w, const char *key, const char *v)
{
    uint8_t *val;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    st = check_key(w, key, EC2T__KV_STRING);
    if (st == EC2T_OK)
        st = check_string(w, key, v);
    if (st == EC2T_OK)
        st = kv_begin(w, key, EC2T__KV_STRING, 8 + strlen(v), &val);
    if (st != EC2T_OK)
        return st;
    ec2t__put_le64(val, strlen(v));
    memcpy(val + 8, v, strlen(v));
    return EC2T_OK;
}

/* An array of strings: elems is a `const char *const *`. */
static ec2t_status
add_string_array(ec2t__cwriter *w, const char *key, const char *const *elems, uint64_t count)
{
    size_t value_len = 12;
    uint8_t *val;
    ec2t_status st;
    for (uint64_t i = 0; i < count; i++) {
        st = check_string(w, key, elems[i]);
        if (st != EC2T_OK)
            return st;
        if (strlen(elems[i]) > SIZE_MAX - 8 - value_len)
            return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: array '%s' is too large",
                               key);
        value_len += 8 + strlen(elems[i]);
    }
    st = kv_begin(w, key, EC2T__KV_ARRAY, value_len, &val);
    if (st != EC2T_OK)
        return st;
    ec2t__put_le32(val, EC2T__KV_STRING);
    ec2t__put_le64(val + 4, count);
    val += 12;
    for (uint64_t i = 0; i < count; i++) {
        size_t n = strlen(elems[i]);
        ec2t__put_le64(val, n);
        memcpy(val + 8, elems[i], n);
        val += 8 + n;
    }
    return EC2T_OK;
}

ec2t_status
ec2t__cw_add_array(ec2t__cwriter *w, const char *key, ec2t__kv_type elem_type, const void *elems,
                   uint64_t count)
{
    size_t size = scalar_size(elem_type);
    const uint8_t *src = elems;
    uint8_t *val;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    st = check_key(w, key, EC2T__KV_ARRAY);
    if (st != EC2T_OK)
        return st;
    if (count > 0 && !elems)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: elements of '%s' are NULL",
                           key);
    if (elem_type == EC2T__KV_STRING)
        return add_string_array(w, key, elems, count);
    if (size == 0)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: key '%s': arrays of type %d are not supported", key,
                           (int)elem_type);
    if (count > (SIZE_MAX - 12) / size)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: array '%s' is too large", key);
    for (uint64_t i = 0; elem_type == EC2T__KV_BOOL && i < count; i++)
        if (src[i] > 1)
            return ec2t__error(w->ctx, EC2T_E_INVAL,
                               "container writer: bool array '%s' holds %u (0 or 1 allowed)", key,
                               src[i]);
    st = kv_begin(w, key, EC2T__KV_ARRAY, 12 + (size_t)count * size, &val);
    if (st != EC2T_OK)
        return st;
    ec2t__put_le32(val, (uint32_t)elem_type);
    ec2t__put_le64(val + 4, count);
    for (uint64_t i = 0; i < count; i++)
        host_to_le(val + 12 + i * size, src + i * size, size);
    return EC2T_OK;
}

static int
writer_has_tensor(const ec2t__cwriter *w, const char *name)
{
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return 1;
    return 0;
}

/* Rank, extents (turned innermost first) and size of a new tensor. */
static ec2t_status
check_tensor_shape(ec2t__cwriter *w, cw_tensor *t, int32_t ndim, const int64_t *dims,
                   uint64_t nbytes)
{
    uint64_t numel, want;
    if (ndim < 1 || ndim > MAX_DIMS || !dims)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: tensor '%s': rank %d is outside 1..%d (or dims "
                           "is NULL)", t->name, (int)ndim, MAX_DIMS);
    t->ndim = (uint32_t)ndim;
    for (int32_t i = 0; i < ndim; i++)
        t->dims[i] = dims[ndim - 1 - i] < 1 ? 0 : (uint64_t)dims[ndim - 1 - i];
    numel = numel_of(t->dims, t->ndim);
    if (numel == 0)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: tensor '%s': an extent below 1 or more than 2^40 "
                           "elements", t->name);
    want = dtype_nbytes(t->dtype, numel);
    if (want == 0)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: tensor '%s': unknown dtype %d",
                           t->name, (int)t->dtype);
    if (nbytes != want)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: tensor '%s': %llu bytes given, its shape and dtype "
                           "need %llu", t->name, (unsigned long long)nbytes,
                           (unsigned long long)want);
    if (!ternary_valid(t->dtype, t->data, numel))
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: tensor '%s' holds an invalid ternary code", t->name);
    return EC2T_OK;
}

ec2t_status
ec2t__cw_add_tensor(ec2t__cwriter *w, const char *name, ec2t__dtype dtype, int32_t ndim,
                    const int64_t *dims, const void *data, uint64_t nbytes)
{
    cw_tensor t;
    ec2t_status st;
    void *arr;
    if (!w)
        return EC2T_E_INVAL;
    memset(&t, 0, sizeof t);
    st = check_name(w->ctx, name, "tensor name", &t.name_len);
    if (st != EC2T_OK)
        return st;
    memcpy(t.name, name, t.name_len + 1);
    if (writer_has_tensor(w, name))
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: tensor '%s' is already added",
                           name);
    if (w->n_tensors >= MAX_TENSORS)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: more than %u tensors",
                           MAX_TENSORS);
    if (!data || nbytes > SIZE_MAX)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "container writer: tensor '%s': no data", name);
    t.dtype = dtype;
    t.data = data;
    st = check_tensor_shape(w, &t, ndim, dims, nbytes);
    if (st != EC2T_OK)
        return st;
    t.nbytes = nbytes;
    arr = grow(w->ctx, w->tensors, w->n_tensors, &w->cap_tensors, sizeof *w->tensors);
    if (!arr)
        return ec2t__nomem(w->ctx, "container tensors");
    w->tensors = arr;
    w->tensors[w->n_tensors++] = t;
    return EC2T_OK;
}

/* Header length, tensor offsets (in the order added, each at the next
 * aligned offset) and the file length. */
static ec2t_status
layout(ec2t__cwriter *w, cw_layout *lay)
{
    uint64_t h = FIXED_LEN + 4, off = 0, data_start;
    for (size_t i = 0; i < w->n_kv; i++)
        h += w->kv[i].rec_len;
    for (size_t i = 0; i < w->n_tensors; i++)
        h += 8 + w->tensors[i].name_len + 4 + 8 * w->tensors[i].ndim + 4 + 8 + 8 + 4;
    data_start = align_up(h, w->alignment);
    for (size_t i = 0; i < w->n_tensors; i++) {
        off = align_up(off, w->alignment);
        w->tensors[i].offset = off;
        off += w->tensors[i].nbytes;
    }
    lay->header_len = h;
    lay->head_bytes = w->n_tensors ? data_start : h;
    lay->total = w->n_tensors ? data_start + off : h;
    if (lay->total > MAX_FILE)
        return ec2t__error(w->ctx, EC2T_E_INVAL,
                           "container writer: %llu bytes is more than the 16 GiB readers accept",
                           (unsigned long long)lay->total);
    return EC2T_OK;
}

static ec2t_status
sink_put(out_sink *s, const void *p, size_t n)
{
    ec2t_status st = EC2T_OK;
    if (s->file)
        st = ec2t__atomic_write(s->file, p, n);
    else if (n)
        memcpy(s->mem + s->pos, p, n);
    s->pos += n;
    return st;
}

static ec2t_status
sink_zeros(out_sink *s, uint64_t n)
{
    static const uint8_t zeros[512];
    while (n > 0) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        ec2t_status st = sink_put(s, zeros, k);
        if (st != EC2T_OK)
            return st;
        n -= k;
    }
    return EC2T_OK;
}

/* Send a tensor's little-endian bytes to s (NULL: nowhere) and compute their
 * CRC-32. Host-order elements are converted in pieces on big-endian hosts, so
 * no copy of a whole tensor is ever made. */
static ec2t_status
emit_tensor(out_sink *s, const cw_tensor *t, uint32_t *crc)
{
    size_t width = dtype_swap_width(t->dtype);
    uint8_t chunk[4096]; /* a multiple of every width */
    uint64_t done = 0;
    uint32_t c = 0;
    if (width == 1 || ec2t__host_is_le()) {
        *crc = crc_update(0, t->data, t->nbytes);
        return s ? sink_put(s, t->data, (size_t)t->nbytes) : EC2T_OK;
    }
    while (done < t->nbytes) {
        size_t k = t->nbytes - done < sizeof chunk ? (size_t)(t->nbytes - done) : sizeof chunk;
        for (size_t i = 0; i < k; i += width)
            host_to_le(chunk + i, t->data + done + i, width);
        c = crc_update(c, chunk, k);
        if (s) {
            ec2t_status st = sink_put(s, chunk, k);
            if (st != EC2T_OK)
                return st;
        }
        done += k;
    }
    *crc = c;
    return EC2T_OK;
}

static void
compute_crcs(ec2t__cwriter *w)
{
    for (size_t i = 0; i < w->n_tensors; i++)
        (void)emit_tensor(NULL, &w->tensors[i], &w->tensors[i].crc);
}

/* The header into dst, which holds the layout's head_bytes zero bytes (so
 * the padding that ends the header is already there). */
static void
build_header(const ec2t__cwriter *w, uint8_t *dst)
{
    size_t p = FIXED_LEN;
    memcpy(dst, "EC2T", 4);
    ec2t__put_le32(dst + 4, EC2T__CONTAINER_VERSION);
    ec2t__put_le64(dst + 8, w->n_tensors);
    ec2t__put_le64(dst + 16, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        memcpy(dst + p, w->kv[i].rec, w->kv[i].rec_len);
        p += w->kv[i].rec_len;
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const cw_tensor *t = &w->tensors[i];
        ec2t__put_le64(dst + p, t->name_len);
        memcpy(dst + p + 8, t->name, t->name_len);
        p += 8 + t->name_len;
        ec2t__put_le32(dst + p, t->ndim);
        p += 4;
        for (uint32_t d = 0; d < t->ndim; d++, p += 8)
            ec2t__put_le64(dst + p, t->dims[d]);
        ec2t__put_le32(dst + p, (uint32_t)t->dtype);
        ec2t__put_le64(dst + p + 4, t->offset);
        ec2t__put_le64(dst + p + 12, t->nbytes);
        ec2t__put_le32(dst + p + 20, t->crc);
        p += 24;
    }
    ec2t__put_le32(dst + p, crc_update(0, dst, p));
}

/* The data section, after the header bytes that s already has. */
static ec2t_status
emit_data(ec2t__cwriter *w, const cw_layout *lay, out_sink *s)
{
    uint32_t crc;
    for (size_t i = 0; i < w->n_tensors; i++) {
        ec2t_status st = sink_zeros(s, lay->head_bytes + w->tensors[i].offset - s->pos);
        if (st == EC2T_OK)
            st = emit_tensor(s, &w->tensors[i], &crc);
        if (st != EC2T_OK)
            return st;
    }
    return EC2T_OK;
}

ec2t_status
ec2t__cw_write_mem(ec2t__cwriter *w, uint8_t **buf, size_t *len)
{
    cw_layout lay;
    out_sink s = {NULL, NULL, 0};
    ec2t_status st;
    if (buf)
        *buf = NULL;
    if (len)
        *len = 0;
    if (!w)
        return EC2T_E_INVAL;
    if (!buf || !len)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "ec2t__cw_write_mem: NULL argument");
    st = layout(w, &lay);
    if (st != EC2T_OK)
        return st;
    if (lay.total > SIZE_MAX)
        return ec2t__nomem(w->ctx, "a container larger than the address space");
    compute_crcs(w);
    s.mem = ec2t__alloc(w->ctx, (size_t)lay.total, EC2T__CONTAINER_ALIGN);
    if (!s.mem)
        return ec2t__nomem(w->ctx, "container image");
    memset(s.mem, 0, (size_t)lay.head_bytes);
    build_header(w, s.mem);
    s.pos = lay.head_bytes;
    (void)emit_data(w, &lay, &s); /* memory sinks cannot fail */
    *buf = s.mem;
    *len = (size_t)lay.total;
    return EC2T_OK;
}

ec2t_status
ec2t__cw_write_file(ec2t__cwriter *w, const char *path)
{
    cw_layout lay;
    out_sink s = {NULL, NULL, 0};
    uint8_t *head;
    ec2t_status st;
    if (!w)
        return EC2T_E_INVAL;
    if (!path)
        return ec2t__error(w->ctx, EC2T_E_INVAL, "ec2t__cw_write_file: path is NULL");
    st = layout(w, &lay);
    if (st != EC2T_OK)
        return st;
    compute_crcs(w);
    head = ec2t__calloc(w->ctx, 1, (size_t)lay.head_bytes);
    if (!head)
        return ec2t__nomem(w->ctx, "container header");
    build_header(w, head);
    st = ec2t__atomic_open(w->ctx, path, &s.file);
    if (st == EC2T_OK)
        st = sink_put(&s, head, (size_t)lay.head_bytes);
    if (st == EC2T_OK)
        st = emit_data(w, &lay, &s);
    ec2t__free(w->ctx, head);
    if (st != EC2T_OK) {
        ec2t__atomic_abort(s.file);
        return st;
    }
    return ec2t__atomic_commit(s.file);
}

/* ---- reader ---- */

typedef struct cr_kv {
    const uint8_t *key_raw; /* in the image */
    size_t key_len;
    const char *key;        /* NUL-terminated, in the arena */
    uint32_t type;
    uint32_t elem_type;     /* of an array */
    uint64_t count;         /* bytes of a string, elements of an array */
    const uint8_t *value;   /* scalar, string bytes or first array element, in the image */
    const char *str;        /* string, or the first string of an array, in the arena */
} cr_kv;

typedef struct cr_tensor {
    ec2t__ctensor pub;
    const uint8_t *name_raw;
    size_t name_len;
    uint32_t dtype_raw;
    uint64_t dims_raw[MAX_DIMS]; /* innermost first, as in the file */
    uint64_t offset;
    uint32_t crc;
} cr_tensor;

struct ec2t__creader {
    ec2t_context *ctx;
    uint8_t *image; /* the whole file, EC2T__CONTAINER_ALIGN-aligned */
    size_t len;
    const char *what;
    char *arena; /* NUL-terminated copies of every text of the header */
    size_t arena_used;
    uint32_t alignment;
    size_t header_end; /* after the header checksum */
    uint64_t data_start;
    size_t n_kv;
    cr_kv *kv;
    cr_kv **kv_by_key; /* sorted by key */
    size_t n_tensors;
    cr_tensor *tensors;
    cr_tensor **t_by_name; /* sorted by name */
};

typedef struct cursor {
    const uint8_t *base;
    size_t pos, len;
} cursor;

/* n bytes at the cursor, or NULL if the file ends first. */
static const uint8_t *
take(cursor *c, uint64_t n)
{
    const uint8_t *p;
    if (n > c->len - c->pos)
        return NULL;
    p = c->base + c->pos;
    c->pos += (size_t)n;
    return p;
}

static int
take_u32(cursor *c, uint32_t *v)
{
    const uint8_t *p = take(c, 4);
    if (p)
        *v = ec2t__le32(p);
    return p != NULL;
}

static int
take_u64(cursor *c, uint64_t *v)
{
    const uint8_t *p = take(c, 8);
    if (p)
        *v = ec2t__le64(p);
    return p != NULL;
}

static ec2t_status
truncated(const ec2t__creader *r, const char *where, size_t index)
{
    return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: the file ends inside %s %zu of the header "
                       "(truncated or corrupt)", r->what, where, index);
}

/* Grow the arena size by n bytes, refusing sizes that wrap. */
static ec2t_status
arena_need(const ec2t__creader *r, size_t *need, uint64_t n)
{
    if (n > SIZE_MAX - *need)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: header texts too large", r->what);
    *need += (size_t)n;
    return EC2T_OK;
}

/* Magic, version and counts; the counts must fit in the file before anything is allocated. */
static ec2t_status
read_preamble(ec2t__creader *r, cursor *c)
{
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if (r->len < 4 || memcmp(r->image, "EC2T", 4) != 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: not a libec2t container (bad magic)",
                           r->what);
    if (r->len < FIXED_LEN)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: the file ends inside the fixed header",
                           r->what);
    version = ec2t__le32(r->image + 4);
    if (version > EC2T__CONTAINER_VERSION)
        return ec2t__error(r->ctx, EC2T_E_UNSUPPORTED,
                           "%s: container version %u is newer than this library reads (%d)",
                           r->what, version, EC2T__CONTAINER_VERSION);
    if (version != EC2T__CONTAINER_VERSION)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: invalid container version %u", r->what,
                           version);
    n_tensors = ec2t__le64(r->image + 8);
    n_kv = ec2t__le64(r->image + 16);
    if (n_kv > MAX_KV || n_tensors > MAX_TENSORS)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: %llu keys and %llu tensors exceed the limits (%u and %u)", r->what,
                           (unsigned long long)n_kv, (unsigned long long)n_tensors, MAX_KV,
                           MAX_TENSORS);
    if (n_kv * MIN_KV_LEN + n_tensors * MIN_TINFO_LEN + 4 > r->len - FIXED_LEN)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: %llu keys and %llu tensors cannot fit in %zu bytes", r->what,
                           (unsigned long long)n_kv, (unsigned long long)n_tensors, r->len);
    r->n_kv = (size_t)n_kv;
    r->n_tensors = (size_t)n_tensors;
    c->base = r->image;
    c->len = r->len;
    c->pos = FIXED_LEN;
    return EC2T_OK;
}

/* A u64 length and that many bytes of text (at most 1 MiB). */
static ec2t_status
walk_string(const ec2t__creader *r, cursor *c, size_t i, const uint8_t **bytes, uint64_t *n,
            size_t *need)
{
    if (!take_u64(c, n))
        return truncated(r, "key", i);
    if (*n > MAX_STRING)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: a string of key %zu has %llu bytes (at most 1 MiB allowed)",
                           r->what, i, (unsigned long long)*n);
    *bytes = take(c, *n);
    if (!*bytes)
        return truncated(r, "key", i);
    return arena_need(r, need, *n + 1);
}

static ec2t_status
walk_array(const ec2t__creader *r, cursor *c, cr_kv *kv, size_t i, size_t *need)
{
    size_t size;
    if (!take_u32(c, &kv->elem_type) || !take_u64(c, &kv->count))
        return truncated(r, "key", i);
    if (kv->elem_type == EC2T__KV_ARRAY)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key %zu is an array of arrays (not allowed)",
                           r->what, i);
    if (kv->elem_type == EC2T__KV_STRING) {
        /* each element takes at least its 8-byte length */
        if (kv->count > (c->len - c->pos) / 8)
            return truncated(r, "key", i);
        kv->value = c->base + c->pos;
        for (uint64_t j = 0; j < kv->count; j++) {
            const uint8_t *bytes;
            uint64_t n;
            ec2t_status st = walk_string(r, c, i, &bytes, &n, need);
            if (st != EC2T_OK)
                return st;
        }
        return EC2T_OK;
    }
    size = scalar_size(kv->elem_type);
    if (size == 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key %zu is an array of unknown type %u",
                           r->what, i, kv->elem_type);
    if (kv->count > (c->len - c->pos) / size)
        return truncated(r, "key", i);
    kv->value = take(c, kv->count * size);
    return EC2T_OK;
}

static ec2t_status
walk_kv(const ec2t__creader *r, cursor *c, size_t i, size_t *need)
{
    cr_kv *kv = &r->kv[i];
    uint64_t key_len;
    size_t size;
    ec2t_status st;
    if (!take_u64(c, &key_len))
        return truncated(r, "key", i);
    if (key_len < 1 || key_len > EC2T__CONTAINER_MAX_NAME)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: key %zu has a length of %llu bytes (1 to %d allowed)", r->what, i,
                           (unsigned long long)key_len, EC2T__CONTAINER_MAX_NAME);
    kv->key_raw = take(c, key_len);
    kv->key_len = (size_t)key_len;
    if (!kv->key_raw || !take_u32(c, &kv->type))
        return truncated(r, "key", i);
    st = arena_need(r, need, key_len + 1);
    if (st != EC2T_OK)
        return st;
    size = scalar_size(kv->type);
    if (size) {
        kv->value = take(c, size);
        return kv->value ? EC2T_OK : truncated(r, "key", i);
    }
    if (kv->type == EC2T__KV_STRING)
        return walk_string(r, c, i, &kv->value, &kv->count, need);
    if (kv->type == EC2T__KV_ARRAY)
        return walk_array(r, c, kv, i, need);
    return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key %zu has unknown value type %u", r->what, i,
                       kv->type);
}

static ec2t_status
walk_tensor(const ec2t__creader *r, cursor *c, size_t i, size_t *need)
{
    cr_tensor *t = &r->tensors[i];
    uint64_t name_len;
    uint32_t ndim;
    if (!take_u64(c, &name_len))
        return truncated(r, "tensor info", i);
    if (name_len < 1 || name_len > EC2T__CONTAINER_MAX_NAME)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: tensor %zu has a name of %llu bytes (1 to %d allowed)", r->what, i,
                           (unsigned long long)name_len, EC2T__CONTAINER_MAX_NAME);
    t->name_raw = take(c, name_len);
    t->name_len = (size_t)name_len;
    if (!t->name_raw || !take_u32(c, &ndim))
        return truncated(r, "tensor info", i);
    if (ndim < 1 || ndim > MAX_DIMS)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor %zu has %u dimensions (1 to %d)",
                           r->what, i, ndim, MAX_DIMS);
    t->pub.ndim = (int32_t)ndim;
    for (uint32_t d = 0; d < ndim; d++)
        if (!take_u64(c, &t->dims_raw[d]))
            return truncated(r, "tensor info", i);
    if (!take_u32(c, &t->dtype_raw) || !take_u64(c, &t->offset) || !take_u64(c, &t->pub.nbytes) ||
        !take_u32(c, &t->crc))
        return truncated(r, "tensor info", i);
    return arena_need(r, need, name_len + 1);
}

/* Walk every key and tensor info with bounds checks, then the header
 * checksum; *need receives the arena size for the header's texts. */
static ec2t_status
walk_header(ec2t__creader *r, cursor *c, size_t *need)
{
    uint32_t stored, computed;
    ec2t_status st = EC2T_OK;
    for (size_t i = 0; i < r->n_kv && st == EC2T_OK; i++)
        st = walk_kv(r, c, i, need);
    for (size_t i = 0; i < r->n_tensors && st == EC2T_OK; i++)
        st = walk_tensor(r, c, i, need);
    if (st != EC2T_OK)
        return st;
    computed = crc_update(0, r->image, c->pos);
    if (!take_u32(c, &stored))
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: the file ends before the header checksum",
                           r->what);
    if (crc_differs(stored, computed))
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: header checksum mismatch (stored %08x, computed %08x): corrupt",
                           r->what, stored, computed);
    r->header_end = c->pos;
    return EC2T_OK;
}

static char *
arena_put(ec2t__creader *r, const void *src, size_t n)
{
    char *dst = r->arena + r->arena_used;
    memcpy(dst, src, n);
    dst[n] = '\0';
    r->arena_used += n + 1;
    return dst;
}

/* Texts are UTF-8 without NUL bytes, so their NUL-terminated copies say all. */
static int
text_ok(const uint8_t *p, size_t n)
{
    return memchr(p, 0, n) == NULL && ec2t__utf8_valid((const char *)p, n);
}

/* Check and copy the strings of one key's value. */
static ec2t_status
copy_value_texts(ec2t__creader *r, cr_kv *kv)
{
    const uint8_t *p = kv->value;
    uint64_t n;
    if (kv->type == EC2T__KV_STRING) {
        if (!text_ok(p, (size_t)kv->count))
            goto bad;
        kv->str = arena_put(r, p, (size_t)kv->count);
    } else if (kv->type == EC2T__KV_ARRAY && kv->elem_type == EC2T__KV_STRING) {
        kv->str = r->arena + r->arena_used;
        for (uint64_t j = 0; j < kv->count; j++, p += 8 + n) {
            n = ec2t__le64(p);
            if (!text_ok(p + 8, (size_t)n))
                goto bad;
            (void)arena_put(r, p + 8, (size_t)n);
        }
    }
    return EC2T_OK;
bad:
    return ec2t__error(r->ctx, EC2T_E_FORMAT,
                       "%s: a string of key '%s' is not UTF-8 text (or holds a NUL byte)", r->what,
                       kv->key);
}

/* NUL-terminated copies of `what`, every key, string and tensor name. */
static ec2t_status
copy_texts(ec2t__creader *r, size_t need)
{
    r->arena = ec2t__alloc(r->ctx, need, 1);
    if (!r->arena)
        return ec2t__nomem(r->ctx, "container texts");
    r->what = arena_put(r, r->what, strlen(r->what));
    for (size_t i = 0; i < r->n_kv; i++) {
        cr_kv *kv = &r->kv[i];
        ec2t_status st;
        if (!text_ok(kv->key_raw, kv->key_len))
            return ec2t__error(r->ctx, EC2T_E_FORMAT,
                               "%s: key %zu is not UTF-8 text (or holds a NUL byte)", r->what, i);
        kv->key = arena_put(r, kv->key_raw, kv->key_len);
        st = copy_value_texts(r, kv);
        if (st != EC2T_OK)
            return st;
    }
    for (size_t i = 0; i < r->n_tensors; i++) {
        cr_tensor *t = &r->tensors[i];
        if (!text_ok(t->name_raw, t->name_len))
            return ec2t__error(r->ctx, EC2T_E_FORMAT,
                               "%s: the name of tensor %zu is not UTF-8 text (or holds a NUL byte)",
                               r->what, i);
        t->pub.name = arena_put(r, t->name_raw, t->name_len);
    }
    return EC2T_OK;
}

static int
cmp_kv_key(const void *a, const void *b)
{
    const cr_kv *x = *(const cr_kv *const *)a, *y = *(const cr_kv *const *)b;
    return strcmp(x->key, y->key);
}

static int
cmp_key_kv(const void *key, const void *elem)
{
    return strcmp(*(const char *const *)key, (*(const cr_kv *const *)elem)->key);
}

static const cr_kv *
find_kv(const ec2t__creader *r, const char *key)
{
    cr_kv *const *hit;
    if (!key || r->n_kv == 0)
        return NULL;
    hit = bsearch(&key, r->kv_by_key, r->n_kv, sizeof *r->kv_by_key, cmp_key_kv);
    return hit ? *hit : NULL;
}

/* Bools hold 0 or 1, also inside arrays. */
static int
bools_valid(const cr_kv *kv)
{
    uint64_t n = kv->type == EC2T__KV_BOOL ? 1 : kv->count;
    if (kv->type != EC2T__KV_BOOL &&
        !(kv->type == EC2T__KV_ARRAY && kv->elem_type == EC2T__KV_BOOL))
        return 1;
    for (uint64_t j = 0; j < n; j++)
        if (kv->value[j] > 1)
            return 0;
    return 1;
}

/* No key twice, valid bools, and the alignment. */
static ec2t_status
check_keys(ec2t__creader *r)
{
    const cr_kv *align;
    r->kv_by_key = ec2t__calloc(r->ctx, r->n_kv ? r->n_kv : 1, sizeof *r->kv_by_key);
    if (!r->kv_by_key)
        return ec2t__nomem(r->ctx, "container key index");
    for (size_t i = 0; i < r->n_kv; i++) {
        if (!bools_valid(&r->kv[i]))
            return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key '%s' holds a bool other than 0 or 1",
                               r->what, r->kv[i].key);
        r->kv_by_key[i] = &r->kv[i];
    }
    if (r->n_kv > 1)
        qsort(r->kv_by_key, r->n_kv, sizeof *r->kv_by_key, cmp_kv_key);
    for (size_t i = 1; i < r->n_kv; i++)
        if (strcmp(r->kv_by_key[i - 1]->key, r->kv_by_key[i]->key) == 0)
            return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key '%s' appears twice", r->what,
                               r->kv_by_key[i]->key);
    r->alignment = EC2T__CONTAINER_ALIGN;
    align = find_kv(r, KEY_ALIGNMENT);
    if (align) {
        if (align->type != EC2T__KV_U32 || !alignment_valid(ec2t__le32(align->value)))
            return ec2t__error(r->ctx, EC2T_E_FORMAT,
                               "%s: key '%s' must be a u32 power of two in %d..%u", r->what,
                               KEY_ALIGNMENT, EC2T__CONTAINER_ALIGN, MAX_ALIGN);
        r->alignment = ec2t__le32(align->value);
    }
    return EC2T_OK;
}

/* dtype, shape, size, alignment and range of one tensor, then its checksum. */
static ec2t_status
check_tensor(ec2t__creader *r, cr_tensor *t, uint64_t data_len)
{
    const char *name = t->pub.name;
    uint32_t ndim = (uint32_t)t->pub.ndim;
    uint64_t numel, want, nbytes = t->pub.nbytes;
    if (dtype_nbytes(t->dtype_raw, 1) == 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' has unknown dtype %u", r->what,
                           name, t->dtype_raw);
    numel = numel_of(t->dims_raw, ndim);
    if (numel == 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' has an extent of 0 or more than 2^40 elements",
                           r->what, name);
    want = dtype_nbytes(t->dtype_raw, numel);
    if (nbytes != want)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' has %llu data bytes; its shape and dtype need %llu",
                           r->what, name, (unsigned long long)nbytes, (unsigned long long)want);
    if (t->offset % r->alignment != 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' is at offset %llu, not a multiple of the alignment %u",
                           r->what, name, (unsigned long long)t->offset, r->alignment);
    if (t->offset > data_len || nbytes > data_len - t->offset)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: tensor '%s' (data bytes %llu to %llu) ends past the end of the "
                           "file", r->what, name, (unsigned long long)t->offset,
                           (unsigned long long)(t->offset + nbytes));
    t->pub.data = r->image + r->data_start + t->offset;
    if (crc_differs(t->crc, crc_update(0, t->pub.data, nbytes)))
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' fails its checksum: corrupt",
                           r->what, name);
    if (!ternary_valid(t->dtype_raw, t->pub.data, numel))
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' holds an invalid ternary code",
                           r->what, name);
    t->pub.dtype = (ec2t__dtype)t->dtype_raw;
    for (uint32_t d = 0; d < ndim; d++)
        t->pub.dims[d] = (int64_t)t->dims_raw[ndim - 1 - d];
    return EC2T_OK;
}

static int
cmp_tensor_offset(const void *a, const void *b)
{
    const cr_tensor *x = *(const cr_tensor *const *)a, *y = *(const cr_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int
cmp_tensor_name(const void *a, const void *b)
{
    const cr_tensor *x = *(const cr_tensor *const *)a, *y = *(const cr_tensor *const *)b;
    return strcmp(x->pub.name, y->pub.name);
}

static int
cmp_name_tensor(const void *name, const void *elem)
{
    return strcmp(*(const char *const *)name, (*(const cr_tensor *const *)elem)->pub.name);
}

static int
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* With t_by_name sorted by offset: no overlaps, zero padding everywhere, and
 * nothing after the last tensor but padding to the alignment. */
static ec2t_status
check_layout(ec2t__creader *r)
{
    uint64_t pos = r->header_end, limit;
    const cr_tensor *prev = NULL;
    for (size_t i = 0; i < r->n_tensors; i++) {
        const cr_tensor *t = r->t_by_name[i];
        uint64_t start = r->data_start + t->offset;
        if (start < pos)
            return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensors '%s' and '%s' overlap",
                               r->what, prev ? prev->pub.name : "(header)", t->pub.name);
        if (!all_zero(r->image + pos, (size_t)(start - pos)))
            return ec2t__error(r->ctx, EC2T_E_FORMAT,
                               "%s: nonzero padding before the data of tensor '%s': corrupt",
                               r->what, t->pub.name);
        pos = start + t->pub.nbytes;
        prev = t;
    }
    limit = align_up(pos, r->alignment);
    if (r->len > limit)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: %llu bytes follow the end of the data",
                           r->what, (unsigned long long)(r->len - limit));
    if (!all_zero(r->image + pos, (size_t)(r->len - pos)))
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: nonzero padding at the end: corrupt",
                           r->what);
    return EC2T_OK;
}

static ec2t_status
check_tensors(ec2t__creader *r)
{
    uint64_t data_len;
    ec2t_status st;
    r->data_start = align_up(r->header_end, r->alignment);
    data_len = r->len > r->data_start ? r->len - r->data_start : 0;
    for (size_t i = 0; i < r->n_tensors; i++) {
        st = check_tensor(r, &r->tensors[i], data_len);
        if (st != EC2T_OK)
            return st;
    }
    r->t_by_name = ec2t__calloc(r->ctx, r->n_tensors ? r->n_tensors : 1, sizeof *r->t_by_name);
    if (!r->t_by_name)
        return ec2t__nomem(r->ctx, "container tensor index");
    for (size_t i = 0; i < r->n_tensors; i++)
        r->t_by_name[i] = &r->tensors[i];
    if (r->n_tensors > 1)
        qsort(r->t_by_name, r->n_tensors, sizeof *r->t_by_name, cmp_tensor_offset);
    st = check_layout(r);
    if (st != EC2T_OK)
        return st;
    if (r->n_tensors > 1)
        qsort(r->t_by_name, r->n_tensors, sizeof *r->t_by_name, cmp_tensor_name);
    for (size_t i = 1; i < r->n_tensors; i++)
        if (strcmp(r->t_by_name[i - 1]->pub.name, r->t_by_name[i]->pub.name) == 0)
            return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' appears twice", r->what,
                               r->t_by_name[i]->pub.name);
    return EC2T_OK;
}

/* Validate an image (taken over: freed on failure) into a reader. */
static ec2t_status
open_image(ec2t_context *ctx, uint8_t *image, size_t len, const char *what, ec2t__creader **out)
{
    ec2t__creader *r = ec2t__calloc(ctx, 1, sizeof *r);
    cursor c;
    size_t need = strlen(what) + 1;
    ec2t_status st;
    if (!r) {
        ec2t__free(ctx, image);
        return ec2t__nomem(ctx, "container reader");
    }
    r->ctx = ctx;
    r->image = image;
    r->len = len;
    r->what = what; /* the caller's until copy_texts() */
    st = read_preamble(r, &c);
    if (st != EC2T_OK)
        goto fail;
    r->kv = ec2t__calloc(ctx, r->n_kv ? r->n_kv : 1, sizeof *r->kv);
    r->tensors = ec2t__calloc(ctx, r->n_tensors ? r->n_tensors : 1, sizeof *r->tensors);
    if (!r->kv || !r->tensors) {
        st = ec2t__nomem(ctx, "container index");
        goto fail;
    }
    st = walk_header(r, &c, &need);
    if (st == EC2T_OK)
        st = copy_texts(r, need);
    if (st == EC2T_OK)
        st = check_keys(r);
    if (st == EC2T_OK)
        st = check_tensors(r);
    if (st != EC2T_OK)
        goto fail;
    *out = r;
    return EC2T_OK;
fail:
    ec2t__cr_free(r);
    return st;
}

ec2t_status
ec2t__cr_open_file(ec2t_context *ctx, const char *path, ec2t__creader **out)
{
    size_t max = SIZE_MAX < MAX_FILE ? SIZE_MAX : (size_t)MAX_FILE;
    uint8_t *image;
    size_t len;
    ec2t_status st;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || !path)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t__cr_open_file: NULL argument");
    /* ec2t__read_file's buffer is 64-aligned, as tensor data must be */
    st = ec2t__read_file(ctx, path, max, &image, &len);
    if (st != EC2T_OK)
        return st;
    return open_image(ctx, image, len, path, out);
}

ec2t_status
ec2t__cr_open_mem(ec2t_context *ctx, const void *buf, size_t len, const char *what,
                  ec2t__creader **out)
{
    uint8_t *image;
    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!out || (!buf && len > 0))
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t__cr_open_mem: NULL argument");
    if (!what)
        what = "container buffer";
    if ((uint64_t)len > MAX_FILE)
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %zu bytes is more than the 16 GiB allowed",
                           what, len);
    image = ec2t__alloc(ctx, len, EC2T__CONTAINER_ALIGN);
    if (!image)
        return ec2t__nomem(ctx, what);
    if (len)
        memcpy(image, buf, len);
    return open_image(ctx, image, len, what, out);
}

void
ec2t__cr_free(ec2t__creader *r)
{
    if (!r)
        return;
    ec2t__free(r->ctx, r->t_by_name);
    ec2t__free(r->ctx, r->tensors);
    ec2t__free(r->ctx, r->kv_by_key);
    ec2t__free(r->ctx, r->kv);
    ec2t__free(r->ctx, r->arena);
    ec2t__free(r->ctx, r->image);
    ec2t__free(r->ctx, r);
}

size_t
ec2t__cr_size(const ec2t__creader *r)
{
    return r->len;
}

const char *
ec2t__cr_what(const ec2t__creader *r)
{
    return r ? r->what : "";
}

int
ec2t__cr_has_key(const ec2t__creader *r, const char *key)
{
    return r && find_kv(r, key) != NULL;
}

uint64_t
ec2t__cr_kv_count(const ec2t__creader *r)
{
    return r ? r->n_kv : 0;
}

const char *
ec2t__cr_kv_key(const ec2t__creader *r, uint64_t index)
{
    return r && index < r->n_kv ? r->kv[index].key : NULL;
}

/* The key, if it exists with this type; EC2T_E_FORMAT naming it otherwise. */
static ec2t_status
find_typed(const ec2t__creader *r, const char *key, uint32_t type, const cr_kv **out)
{
    const cr_kv *kv;
    if (!r)
        return EC2T_E_INVAL;
    if (!key)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "%s: lookup of a NULL key", r->what);
    kv = find_kv(r, key);
    if (!kv)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key '%s' is missing", r->what, key);
    if (kv->type != type)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key '%s' is a %s, expected a %s", r->what,
                           key, kv_type_name(kv->type), kv_type_name(type));
    *out = kv;
    return EC2T_OK;
}

/* A scalar of the given type into v (host order, scalar_size(type) bytes). */
static ec2t_status
get_scalar(const ec2t__creader *r, const char *key, uint32_t type, void *v)
{
    const cr_kv *kv;
    ec2t_status st = find_typed(r, key, type, &kv);
    if (st != EC2T_OK)
        return st;
    if (!v)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "%s: lookup of key '%s' into NULL", r->what, key);
    le_to_host(v, kv->value, scalar_size(type));
    return EC2T_OK;
}

ec2t_status
ec2t__cr_get_u32(const ec2t__creader *r, const char *key, uint32_t *v)
{
    return get_scalar(r, key, EC2T__KV_U32, v);
}

ec2t_status
ec2t__cr_get_i32(const ec2t__creader *r, const char *key, int32_t *v)
{
    return get_scalar(r, key, EC2T__KV_I32, v);
}

ec2t_status
ec2t__cr_get_u64(const ec2t__creader *r, const char *key, uint64_t *v)
{
    return get_scalar(r, key, EC2T__KV_U64, v);
}

ec2t_status
ec2t__cr_get_i64(const ec2t__creader *r, const char *key, int64_t *v)
{
    return get_scalar(r, key, EC2T__KV_I64, v);
}

ec2t_status
ec2t__cr_get_f32(const ec2t__creader *r, const char *key, float *v)
{
    return get_scalar(r, key, EC2T__KV_F32, v);
}

ec2t_status
ec2t__cr_get_f64(const ec2t__creader *r, const char *key, double *v)
{
    return get_scalar(r, key, EC2T__KV_F64, v);
}

ec2t_status
ec2t__cr_get_bool(const ec2t__creader *r, const char *key, int *v)
{
    uint8_t b = 0;
    ec2t_status st = get_scalar(r, key, EC2T__KV_BOOL, &b);
    if (st == EC2T_OK && v)
        *v = b;
    return st;
}

ec2t_status
ec2t__cr_get_str(const ec2t__creader *r, const char *key, const char **v)
{
    const cr_kv *kv;
    ec2t_status st = find_typed(r, key, EC2T__KV_STRING, &kv);
    if (st != EC2T_OK)
        return st;
    if (!v)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "%s: lookup of key '%s' into NULL", r->what, key);
    *v = kv->str;
    return EC2T_OK;
}

ec2t_status
ec2t__cr_get_array(const ec2t__creader *r, const char *key, ec2t__kv_type elem_type, void *dst,
                   uint64_t cap, uint64_t *count)
{
    const cr_kv *kv;
    size_t size = scalar_size(elem_type);
    ec2t_status st = find_typed(r, key, EC2T__KV_ARRAY, &kv);
    if (st != EC2T_OK)
        return st;
    if (kv->elem_type != (uint32_t)elem_type)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: key '%s' is an array of %s, expected %s",
                           r->what, key, kv_type_name(kv->elem_type), kv_type_name(elem_type));
    if (count)
        *count = kv->count;
    if (kv->count > cap)
        return ec2t__error(r->ctx, EC2T_E_FORMAT,
                           "%s: key '%s' has %llu elements, more than the %llu expected", r->what,
                           key, (unsigned long long)kv->count, (unsigned long long)cap);
    if (kv->count > 0 && !dst)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "%s: lookup of key '%s' into NULL", r->what, key);
    if (elem_type == EC2T__KV_STRING) {
        const char **out = dst;
        const char *s = kv->str;
        for (uint64_t i = 0; i < kv->count; i++, s += strlen(s) + 1)
            out[i] = s;
        return EC2T_OK;
    }
    for (uint64_t i = 0; i < kv->count; i++)
        le_to_host((uint8_t *)dst + i * size, kv->value + i * size, size);
    return EC2T_OK;
}

uint64_t
ec2t__cr_tensor_count(const ec2t__creader *r)
{
    return r ? r->n_tensors : 0;
}

const ec2t__ctensor *
ec2t__cr_tensor_at(const ec2t__creader *r, uint64_t index)
{
    if (!r || index >= r->n_tensors)
        return NULL;
    return &r->tensors[index].pub;
}

const ec2t__ctensor *
ec2t__cr_find_tensor(const ec2t__creader *r, const char *name)
{
    cr_tensor *const *hit;
    if (!r || !name || r->n_tensors == 0)
        return NULL;
    hit = bsearch(&name, r->t_by_name, r->n_tensors, sizeof *r->t_by_name, cmp_name_tensor);
    return hit ? &(*hit)->pub : NULL;
}

/* "(2, 3, 4)" into buf. */
static const char *
format_shape(char *buf, size_t cap, int32_t ndim, const int64_t *dims)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "(", (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, ")");
    return buf;
}

ec2t_status
ec2t__cr_read_f32(const ec2t__creader *r, const char *name, int32_t ndim, const int64_t *dims,
                  float *dst)
{
    const ec2t__ctensor *t;
    char have[128], want[128];
    if (!r)
        return EC2T_E_INVAL;
    if (!name || !dims || !dst)
        return ec2t__error(r->ctx, EC2T_E_INVAL, "ec2t__cr_read_f32: NULL argument");
    t = ec2t__cr_find_tensor(r, name);
    if (!t)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is missing", r->what, name);
    if (t->dtype != EC2T__DT_F32)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' is %s, expected F32", r->what,
                           name, dtype_name(t->dtype));
    if (ndim != t->ndim || memcmp(dims, t->dims, (size_t)t->ndim * sizeof dims[0]) != 0)
        return ec2t__error(r->ctx, EC2T_E_FORMAT, "%s: tensor '%s' has shape %s, expected %s",
                           r->what, name, format_shape(have, sizeof have, t->ndim, t->dims),
                           format_shape(want, sizeof want,
                                        ndim < 0 ? 0 : ndim > MAX_DIMS ? MAX_DIMS : ndim, dims));
    ec2t__load_f32le(dst, t->data, (size_t)(t->nbytes / 4));
    return EC2T_OK;
}
