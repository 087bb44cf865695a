/* SPDX-License-Identifier: MIT */
/* The libec2t container (doc/FORMAT.md): a GGUF-like file of typed key/value
 * metadata and named tensors, always little-endian, aligned, with a CRC-32
 * per section. Model files, checkpoints and the deployable .ec2t file are all
 * containers; they differ only in their keys and tensors.
 *
 * The writer collects keys and tensors (tensor data is borrowed until the
 * write) and writes atomically. The reader validates the whole file when it
 * opens it (structure, bounds, overlaps, duplicates, checksums), so lookups
 * afterwards never see malformed data. */
#ifndef EC2T_CONTAINER_PRIVATE_H
#define EC2T_CONTAINER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context-private.h"

#define EC2T__CONTAINER_VERSION 1
#define EC2T__CONTAINER_ALIGN 64
#define EC2T__CONTAINER_MAX_NAME 255

/* Value types of keys (GGUF's numbering). Append only. */
typedef enum ec2t__kv_type {
    EC2T__KV_U8 = 0,
    EC2T__KV_I8 = 1,
    EC2T__KV_U16 = 2,
    EC2T__KV_I16 = 3,
    EC2T__KV_U32 = 4,
    EC2T__KV_I32 = 5,
    EC2T__KV_F32 = 6,
    EC2T__KV_BOOL = 7,
    EC2T__KV_STRING = 8,
    EC2T__KV_ARRAY = 9,
    EC2T__KV_U64 = 10,
    EC2T__KV_I64 = 11,
    EC2T__KV_F64 = 12
} ec2t__kv_type;

/* Tensor element types. Append only. */
typedef enum ec2t__dtype {
    EC2T__DT_F32 = 0,
    EC2T__DT_F16 = 1,
    EC2T__DT_I8 = 2,
    EC2T__DT_I32 = 3,
    EC2T__DT_U8 = 4,       /* also opaque byte streams (ndim 1) */
    EC2T__DT_I64 = 5,
    EC2T__DT_TERNARY_2B = 16, /* 4 weights per byte, LSB first: 00 = 0, 01 = +1, 11 = -1 */
    EC2T__DT_TERNARY_B3 = 17  /* 5 trits per byte */
} ec2t__dtype;

/* ---- writer ---- */
typedef struct ec2t__cwriter ec2t__cwriter;

ec2t_status ec2t__cw_new(ec2t_context *ctx, ec2t__cwriter **out);
void ec2t__cw_free(ec2t__cwriter *w);
/* Scalars and strings. Keys are 1..255 bytes, unique (a repeated key is EC2T_E_INVAL). */
ec2t_status ec2t__cw_add_u32(ec2t__cwriter *w, const char *key, uint32_t v);
ec2t_status ec2t__cw_add_i32(ec2t__cwriter *w, const char *key, int32_t v);
ec2t_status ec2t__cw_add_u64(ec2t__cwriter *w, const char *key, uint64_t v);
ec2t_status ec2t__cw_add_i64(ec2t__cwriter *w, const char *key, int64_t v);
ec2t_status ec2t__cw_add_f32(ec2t__cwriter *w, const char *key, float v);
ec2t_status ec2t__cw_add_f64(ec2t__cwriter *w, const char *key, double v);
ec2t_status ec2t__cw_add_bool(ec2t__cwriter *w, const char *key, int v);
ec2t_status ec2t__cw_add_str(ec2t__cwriter *w, const char *key, const char *v);
/* An array (copied); elems holds count host-order values of elem_type:
 * uint8_t/int8_t/uint16_t/int16_t/uint32_t/int32_t/float/uint64_t/int64_t/
 * double, uint8_t 0 or 1 for BOOL, or `const char *const` UTF-8 strings of at
 * most 1 MiB for STRING. Arrays of arrays are EC2T_E_INVAL. */
ec2t_status ec2t__cw_add_array(ec2t__cwriter *w, const char *key, ec2t__kv_type elem_type,
                               const void *elems, uint64_t count);
/* A tensor. dims are outermost first (as in the API; the file stores them
 * innermost first, like GGUF). data holds nbytes in host order for
 * F32/F16/I32/I64 (F16 as uint16_t bit patterns) and is borrowed until
 * ec2t__cw_write_* or ec2t__cw_free. For the fixed-size dtypes nbytes must
 * equal numel * size, for the ternary ones the packed size (doc/FORMAT.md);
 * for U8 streams dims = {nbytes}. Tensors are written in the order added. */
ec2t_status ec2t__cw_add_tensor(ec2t__cwriter *w, const char *name, ec2t__dtype dtype,
                                int32_t ndim, const int64_t *dims, const void *data,
                                uint64_t nbytes);
/* Atomic write to a file. */
ec2t_status ec2t__cw_write_file(ec2t__cwriter *w, const char *path);
/* The whole file in memory (allocated with ec2t__alloc; free with ec2t__free). */
ec2t_status ec2t__cw_write_mem(ec2t__cwriter *w, uint8_t **buf, size_t *len);

/* ---- reader ---- */
typedef struct ec2t__creader ec2t__creader;

typedef struct ec2t__ctensor {
    const char *name;      /* NUL-terminated */
    ec2t__dtype dtype;
    int32_t ndim;
    int64_t dims[4];       /* outermost first */
    const uint8_t *data;   /* little-endian bytes, EC2T__CONTAINER_ALIGN-aligned in memory */
    uint64_t nbytes;
} ec2t__ctensor;

/* Read and validate a file (what = path in messages). Any defect is
 * EC2T_E_FORMAT with a message naming the file and the problem; a newer major
 * version is EC2T_E_UNSUPPORTED. */
ec2t_status ec2t__cr_open_file(ec2t_context *ctx, const char *path, ec2t__creader **out);
/* The same for bytes in memory. The bytes are copied, so buf may go away. */
ec2t_status ec2t__cr_open_mem(ec2t_context *ctx, const void *buf, size_t len, const char *what,
                              ec2t__creader **out);
void ec2t__cr_free(ec2t__creader *r);
const char *ec2t__cr_what(const ec2t__creader *r);
/* The size of the file in bytes. */
size_t ec2t__cr_size(const ec2t__creader *r);

int ec2t__cr_has_key(const ec2t__creader *r, const char *key);
/* The keys in file order, for readers that look for a family of keys. */
uint64_t ec2t__cr_kv_count(const ec2t__creader *r);
const char *ec2t__cr_kv_key(const ec2t__creader *r, uint64_t index);
/* Typed lookups: a missing key or another type is EC2T_E_FORMAT naming the key. */
ec2t_status ec2t__cr_get_u32(const ec2t__creader *r, const char *key, uint32_t *v);
ec2t_status ec2t__cr_get_i32(const ec2t__creader *r, const char *key, int32_t *v);
ec2t_status ec2t__cr_get_u64(const ec2t__creader *r, const char *key, uint64_t *v);
ec2t_status ec2t__cr_get_i64(const ec2t__creader *r, const char *key, int64_t *v);
ec2t_status ec2t__cr_get_f32(const ec2t__creader *r, const char *key, float *v);
ec2t_status ec2t__cr_get_f64(const ec2t__creader *r, const char *key, double *v);
ec2t_status ec2t__cr_get_bool(const ec2t__creader *r, const char *key, int *v);
/* A borrowed NUL-terminated copy, valid while the reader lives. */
ec2t_status ec2t__cr_get_str(const ec2t__creader *r, const char *key, const char **v);
/* Array elements of the given type into dst (host order, the types of
 * ec2t__cw_add_array; for STRING, dst is a `const char **` that receives
 * borrowed NUL-terminated strings valid while the reader lives). *count (may
 * be NULL) receives the array length; a length above cap is EC2T_E_FORMAT
 * (nothing copied). */
ec2t_status ec2t__cr_get_array(const ec2t__creader *r, const char *key, ec2t__kv_type elem_type,
                               void *dst, uint64_t cap, uint64_t *count);

uint64_t ec2t__cr_tensor_count(const ec2t__creader *r);
const ec2t__ctensor *ec2t__cr_tensor_at(const ec2t__creader *r, uint64_t index);
const ec2t__ctensor *ec2t__cr_find_tensor(const ec2t__creader *r, const char *name);
/* Copy an F32 tensor of exactly this shape into dst (host order); a missing
 * tensor, another dtype or shape is EC2T_E_FORMAT naming the tensor. */
ec2t_status ec2t__cr_read_f32(const ec2t__creader *r, const char *name, int32_t ndim,
                              const int64_t *dims, float *dst);

#endif /* EC2T_CONTAINER_PRIVATE_H */
