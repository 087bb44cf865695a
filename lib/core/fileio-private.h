/* SPDX-License-Identifier: MIT */
/* File helpers: the caller's cap on what a loaded file may make the library
 * allocate, whole-file reads with a size cap, and atomic writes (temporary
 * file in the same folder, fsync, rename, fsync of the folder). */
#ifndef EC2T_FILEIO_PRIVATE_H
#define EC2T_FILEIO_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context-private.h"

/* EC2T_CTX_LOAD_LIMIT: EC2T_OK when bytes (what a loaded file makes the
 * library allocate, or asks the caller to) is within the context's limit
 * (0: no limit), else EC2T_E_NOMEM with a message that names what, how much
 * and the limit. Every loader calls it before the allocation it bounds. */
ec2t_status ec2t__load_check(ec2t_context *ctx, uint64_t bytes, const char *what);

/* Read a whole file into memory from ec2t__alloc. Files above max_bytes get
 * EC2T_E_FORMAT (a file that large cannot be what the caller expects); files
 * above the context's EC2T_CTX_LOAD_LIMIT get EC2T_E_NOMEM (ec2t__load_check). */
ec2t_status ec2t__read_file(ec2t_context *ctx, const char *path, size_t max_bytes,
                            uint8_t **data, size_t *len);

typedef struct ec2t__atomic_file ec2t__atomic_file;

ec2t_status ec2t__atomic_open(ec2t_context *ctx, const char *path, ec2t__atomic_file **out);
ec2t_status ec2t__atomic_write(ec2t__atomic_file *f, const void *data, size_t len);
/* Flush, fsync and rename over the target; frees f in every case. */
ec2t_status ec2t__atomic_commit(ec2t__atomic_file *f);
/* Remove the temporary file and free f; the target is untouched. NULL is a no-op. */
void ec2t__atomic_abort(ec2t__atomic_file *f);

#endif /* EC2T_FILEIO_PRIVATE_H */
