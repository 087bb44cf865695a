/* SPDX-License-Identifier: MIT */
/* ec2t_tensor: storage, shape, copies and random initialisation. */
#include <math.h>
#include <string.h>

#include "rng-private.h"
#include "tensor-private.h"

/* Large enough for any real network, small enough that numel * 4 cannot overflow. */
#define EC2T__MAX_NUMEL (INT64_C(1) << 40)

EC2T_API int32_t
ec2t_max_dims(void)
{
    return EC2T_MAX_DIMS;
}

ec2t_status
ec2t__shape_check(ec2t_context *ctx, int32_t rank, const int64_t *dims, int64_t *numel)
{
    int64_t n = 1;
    if (!dims)
        return ec2t__error(ctx, EC2T_E_INVAL, "tensor shape: dims is NULL");
    if (rank < 1 || rank > EC2T_MAX_DIMS)
        return ec2t__error(ctx, EC2T_E_INVAL, "tensor shape: rank %d is outside 1..%d",
                           (int)rank, EC2T_MAX_DIMS);
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 1 || dims[i] > EC2T__MAX_NUMEL)
            return ec2t__error(ctx, EC2T_E_INVAL, "tensor shape: extent %lld of axis %d is invalid",
                               (long long)dims[i], (int)i);
        if (n > EC2T__MAX_NUMEL / dims[i])
            return ec2t__error(ctx, EC2T_E_INVAL, "tensor shape: more than 2^40 elements");
        n *= dims[i];
    }
    *numel = n;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_new(ec2t_context *ctx, int32_t rank, const int64_t *dims, ec2t_tensor **out)
{
    ec2t_tensor *t;
    int64_t numel;
    ec2t_status st;
    if (!out)
        return ctx ? ec2t__error(ctx, EC2T_E_INVAL, "ec2t_tensor_new: out is NULL") : EC2T_E_INVAL;
    *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    st = ec2t__shape_check(ctx, rank, dims, &numel);
    if (st != EC2T_OK)
        return st;
    t = ec2t__calloc(ctx, 1, sizeof *t);
    if (!t)
        return ec2t__nomem(ctx, "tensor");
    t->data = ec2t__alloc(ctx, (size_t)numel * sizeof(float), EC2T_TENSOR_ALIGN);
    if (!t->data) {
        ec2t__free(ctx, t);
        return ec2t__nomem(ctx, "tensor data");
    }
    memset(t->data, 0, (size_t)numel * sizeof(float));
    t->ctx = ctx;
    t->rank = rank;
    memcpy(t->dims, dims, (size_t)rank * sizeof dims[0]);
    t->numel = numel;
    *out = t;
    return EC2T_OK;
}

void
ec2t__tensor_destroy(ec2t_tensor *t)
{
    if (!t)
        return;
    ec2t__free(t->ctx, t->data);
    ec2t__free(t->ctx, t);
}

EC2T_API void
ec2t_tensor_free(ec2t_tensor *t)
{
    if (!t)
        return;
    if (t->flags & EC2T__TENSOR_BORROWED) {
        ec2t__log(t->ctx, EC2T_LOG_WARN, "ec2t_tensor_free: ignored for a borrowed tensor");
        return;
    }
    ec2t__tensor_destroy(t);
}

EC2T_API int32_t
ec2t_tensor_rank(const ec2t_tensor *t)
{
    return t ? t->rank : 0;
}

EC2T_API int64_t
ec2t_tensor_dim(const ec2t_tensor *t, int32_t axis)
{
    if (!t || axis < 0 || axis >= t->rank)
        return 0;
    return t->dims[axis];
}

EC2T_API int64_t
ec2t_tensor_numel(const ec2t_tensor *t)
{
    return t ? t->numel : 0;
}

EC2T_API ec2t_status
ec2t_tensor_shape(const ec2t_tensor *t, int64_t *dims, int32_t cap, int32_t *rank)
{
    if (!t || cap < 0 || (cap > 0 && !dims))
        return EC2T_E_INVAL;
    if (rank)
        *rank = t->rank;
    if (cap < t->rank)
        return ec2t__error(t->ctx, EC2T_E_RANGE, "ec2t_tensor_shape: room for %d extents, rank is %d",
                           (int)cap, (int)t->rank);
    memcpy(dims, t->dims, (size_t)t->rank * sizeof dims[0]);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_read(const ec2t_tensor *t, float *dst, size_t cap, size_t *needed)
{
    if (!t || (cap > 0 && !dst))
        return EC2T_E_INVAL;
    if (needed)
        *needed = (size_t)t->numel;
    if (cap < (size_t)t->numel)
        return ec2t__error(t->ctx, EC2T_E_RANGE,
                           "ec2t_tensor_read: room for %zu elements, the tensor has %lld", cap,
                           (long long)t->numel);
    memcpy(dst, t->data, (size_t)t->numel * sizeof(float));
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_write(ec2t_tensor *t, const float *src, size_t count)
{
    if (!t)
        return EC2T_E_INVAL;
    if (!src)
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_write: src is NULL");
    if (count != (size_t)t->numel)
        return ec2t__error(t->ctx, EC2T_E_INVAL,
                           "ec2t_tensor_write: %zu elements given, the tensor has %lld", count,
                           (long long)t->numel);
    memcpy(t->data, src, count * sizeof(float));
    return EC2T_OK;
}

EC2T_API float *
ec2t_tensor_data(ec2t_tensor *t)
{
    return t ? t->data : NULL;
}

EC2T_API ec2t_status
ec2t_tensor_fill(ec2t_tensor *t, float value)
{
    if (!t)
        return EC2T_E_INVAL;
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = value;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_init_uniform(ec2t_tensor *t, float lo, float hi, uint64_t seed)
{
    ec2t__rng rng;
    if (!t)
        return EC2T_E_INVAL;
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_init_uniform: bad bounds [%g, %g)",
                           (double)lo, (double)hi);
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = lo + (hi - lo) * ec2t__rng_uniform(&rng);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_init_normal(ec2t_tensor *t, float mean, float stddev, uint64_t seed)
{
    ec2t__rng rng;
    if (!t)
        return EC2T_E_INVAL;
    if (!isfinite(mean) || !isfinite(stddev) || stddev < 0)
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_init_normal: bad mean %g or stddev %g",
                           (double)mean, (double)stddev);
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < t->numel; i++)
        t->data[i] = mean + stddev * ec2t__rng_normal(&rng);
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_tensor_init_kaiming(ec2t_tensor *t, ec2t_fan_mode mode, uint64_t seed)
{
    int64_t fan;
    if (!t)
        return EC2T_E_INVAL;
    if (t->rank < 2)
        return ec2t__error(t->ctx, EC2T_E_INVAL,
                           "ec2t_tensor_init_kaiming: needs a weight of rank 2 to 4, rank is %d",
                           (int)t->rank);
    switch (mode) {
    case EC2T_FAN_IN: fan = t->numel / t->dims[0]; break;
    case EC2T_FAN_OUT: fan = t->numel / t->dims[1]; break;
    default:
        return ec2t__error(t->ctx, EC2T_E_INVAL, "ec2t_tensor_init_kaiming: unknown mode %d",
                           (int)mode);
    }
    return ec2t_tensor_init_normal(t, 0.0f, (float)sqrt(2.0 / (double)fan), seed);
}

EC2T_API ec2t_status
ec2t_tensor_reshape(ec2t_tensor *t, int32_t rank, const int64_t *dims)
{
    int64_t numel;
    ec2t_status st;
    if (!t)
        return EC2T_E_INVAL;
    if (t->flags & EC2T__TENSOR_BORROWED)
        return ec2t__error(t->ctx, EC2T_E_STATE,
                           "ec2t_tensor_reshape: a borrowed tensor keeps its owner's shape");
    st = ec2t__shape_check(t->ctx, rank, dims, &numel);
    if (st != EC2T_OK)
        return st;
    if (numel != t->numel)
        return ec2t__error(t->ctx, EC2T_E_INVAL,
                           "ec2t_tensor_reshape: %lld elements cannot become %lld",
                           (long long)t->numel, (long long)numel);
    t->rank = rank;
    memset(t->dims, 0, sizeof t->dims);
    memcpy(t->dims, dims, (size_t)rank * sizeof dims[0]);
    return EC2T_OK;
}
