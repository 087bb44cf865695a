/* SPDX-License-Identifier: MIT */
/* A bounds-checked reader of safetensors files (huggingface/safetensors):
 * u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *    ..., "__metadata__": {"key": "value", ...}}
 * then the data, offsets relative to its start. The reader validates
 * everything when it opens the file: header size cap, JSON syntax, dtypes and
 * sizes, shape products, ranges inside the file, no overlaps, no duplicate
 * names. */
#ifndef EC2T_SAFETENSORS_PRIVATE_H
#define EC2T_SAFETENSORS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context-private.h"

#define EC2T__ST_MAX_DIMS 8

typedef struct ec2t__st_file ec2t__st_file;

typedef struct ec2t__st_tensor {
    const char *name;       /* NUL-terminated, JSON escapes decoded */
    const char *dtype;      /* "F32", "F16", "I64", ... as in the file */
    int32_t ndim;           /* 0 to EC2T__ST_MAX_DIMS */
    int64_t dims[EC2T__ST_MAX_DIMS];
    const uint8_t *data;    /* little-endian bytes inside the file image */
    uint64_t nbytes;
} ec2t__st_tensor;

/* EC2T_E_FORMAT with a message naming the file and the problem on any defect. */
ec2t_status ec2t__st_open_file(ec2t_context *ctx, const char *path, ec2t__st_file **out);
/* The bytes are copied. */
ec2t_status ec2t__st_open_mem(ec2t_context *ctx, const void *buf, size_t len, const char *what,
                              ec2t__st_file **out);
void ec2t__st_free(ec2t__st_file *f);
const char *ec2t__st_what(const ec2t__st_file *f);
size_t ec2t__st_count(const ec2t__st_file *f);
/* In file order of the header. */
const ec2t__st_tensor *ec2t__st_at(const ec2t__st_file *f, size_t index);
const ec2t__st_tensor *ec2t__st_find(const ec2t__st_file *f, const char *name);
/* A value of __metadata__, or NULL. */
const char *ec2t__st_metadata(const ec2t__st_file *f, const char *key);
/* Copy the elements of t, an F32 tensor of f, into dst (host order, room for
 * the product of t->dims); another dtype is EC2T_E_FORMAT naming the tensor. */
ec2t_status ec2t__st_read_f32(const ec2t__st_file *f, const ec2t__st_tensor *t, float *dst);

/* ---- writer ----
 * F32 tensors by name, written as a file the reader above accepts: the JSON
 * header lists the tensors in the order added (no __metadata__), padded
 * with spaces to a multiple of 8 bytes, then the data in the same order,
 * little-endian. The bytes are a function of the tensors added. */
typedef struct ec2t__st_writer ec2t__st_writer;

ec2t_status ec2t__st_writer_new(ec2t_context *ctx, ec2t__st_writer **out);
void ec2t__st_writer_free(ec2t__st_writer *w);
/* An F32 tensor of ndim (0 to EC2T__ST_MAX_DIMS) extents, outermost first;
 * data (host order, numel floats) is borrowed until the write or the free.
 * The name (copied) must be 1 to 65535 bytes of UTF-8 without NUL, not
 * "__metadata__", and not repeat an earlier one: EC2T_E_INVAL otherwise. */
ec2t_status ec2t__st_add_f32(ec2t__st_writer *w, const char *name, int32_t ndim,
                             const int64_t *dims, const float *data);
/* Write the file atomically (ec2t__atomic_*): EC2T_E_IO, EC2T_E_NOMEM, or
 * EC2T_E_INVAL if the header would exceed the reader's 100 MiB. */
ec2t_status ec2t__st_write_file(ec2t__st_writer *w, const char *path);

#endif /* EC2T_SAFETENSORS_PRIVATE_H */
