/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the container reader (doc/FORMAT.md sections 2-9) on
 * arbitrary bytes, then every lookup on whatever it accepts. Built with
 * -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so that checksums do not stop
 * the fuzzer at the header. */
#include <stdint.h>
#include <stdlib.h>

#include "container-private.h"

#define MAX_ELEMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_scalars(const ec2t__creader *r, const char *key)
{
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f32;
    double f64;
    int b;
    const char *s;
    (void)ec2t__cr_get_u32(r, key, &u32);
    (void)ec2t__cr_get_i32(r, key, &i32);
    (void)ec2t__cr_get_u64(r, key, &u64);
    (void)ec2t__cr_get_i64(r, key, &i64);
    (void)ec2t__cr_get_f32(r, key, &f32);
    (void)ec2t__cr_get_f64(r, key, &f64);
    (void)ec2t__cr_get_bool(r, key, &b);
    (void)ec2t__cr_get_str(r, key, &s);
    (void)ec2t__cr_has_key(r, key);
}

/* Every element type, into a buffer of MAX_ELEMS of the widest one. */
static void
try_arrays(const ec2t__creader *r, const char *key)
{
    union {
        uint64_t u64[MAX_ELEMS];
        double f64[MAX_ELEMS];
        const char *str[MAX_ELEMS];
    } buf;
    for (int t = EC2T__KV_U8; t <= EC2T__KV_F64; t++) {
        uint64_t n = 0;
        (void)ec2t__cr_get_array(r, key, (ec2t__kv_type)t, &buf, MAX_ELEMS, &n);
        (void)ec2t__cr_get_array(r, key, (ec2t__kv_type)t, &buf, MAX_ELEMS, NULL);
    }
}

static void
try_tensor(ec2t_context *ctx, const ec2t__creader *r, const ec2t__ctensor *t)
{
    int64_t numel = 1;
    float *dst;
    if (ec2t__cr_find_tensor(r, t->name) != t)
        abort(); /* names are unique: the lookup finds this very tensor */
    if (t->dtype != EC2T__DT_F32)
        return;
    for (int32_t d = 0; d < t->ndim; d++)
        numel *= t->dims[d];
    dst = malloc((size_t)numel * sizeof *dst);
    if (dst)
        (void)ec2t__cr_read_f32(r, t->name, t->ndim, t->dims, dst);
    free(dst);
    (void)ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ec2t_context *ctx = NULL;
    ec2t__creader *r = NULL;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 0;
    if (ec2t__cr_open_mem(ctx, data, size, "fuzz input", &r) == EC2T_OK) {
        for (uint64_t i = 0; i < ec2t__cr_kv_count(r); i++) {
            const char *key = ec2t__cr_kv_key(r, i);
            try_scalars(r, key);
            try_arrays(r, key);
        }
        (void)ec2t__cr_has_key(r, "ec2t.file_kind");
        for (uint64_t i = 0; i < ec2t__cr_tensor_count(r); i++)
            try_tensor(ctx, r, ec2t__cr_tensor_at(r, i));
        (void)ec2t__cr_find_tensor(r, "no such tensor");
        (void)ec2t__cr_kv_key(r, ec2t__cr_kv_count(r));
        (void)ec2t__cr_tensor_at(r, ec2t__cr_tensor_count(r));
        ec2t__cr_free(r);
    }
    ec2t_context_free(ctx);
    return 0;
}
