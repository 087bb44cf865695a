/* SPDX-License-Identifier: MIT */
/* The int8 calibration in deployable files (doc/FORMAT.md §13.4), in both
 * layouts: three keys, written only for a calibrated engine. A reader that
 * ignores them runs the file in float, as it would without them, so they
 * are an extension of format version 1 (§11); they have a version of their
 * own, and a version this reader does not know is ignored the same way. */
#include <math.h>
#include <string.h>

#include "container-private.h"
#include "engine-int8-private.h"
#include "engine-io-private.h"

#define INT8_VERSION 1

ec2t_status
ec2t__eio_save_int8(const ec2t_engine *e, ec2t__cwriter *w)
{
    float *scales;
    int32_t *zeros;
    int any = 0;
    ec2t_status st;
    for (int32_t i = 0; i < e->n_ops; i++)
        any |= e->ops[i].q8 != NULL;
    if (!any)
        return EC2T_OK;
    scales = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *scales);
    zeros = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *zeros);
    st = scales && zeros ? EC2T_OK : ec2t__nomem(e->ctx, "int8 calibration");
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++)
        if (e->ops[i].q8) {
            scales[i] = e->ops[i].q8->scale;
            zeros[i] = e->ops[i].q8->zero;
        }
    if (st == EC2T_OK)
        st = ec2t__cw_add_u32(w, "ec2t.int8.version", INT8_VERSION);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "ec2t.int8.scales", EC2T__KV_F32, scales, (uint64_t)e->n_ops);
    if (st == EC2T_OK)
        st = ec2t__cw_add_array(w, "ec2t.int8.zeros", EC2T__KV_I32, zeros, (uint64_t)e->n_ops);
    ec2t__free(e->ctx, scales);
    ec2t__free(e->ctx, zeros);
    return st;
}

/* Operation i's entry: 0 and 0 (not calibrated), or for a ternary
 * convolution a scale that is finite, positive and has a finite inverse
 * and a zero point 0 to 255. */
static ec2t_status
check_entry(ec2t_engine *e, const char *what, int32_t i, float scale, int32_t zero)
{
    if (scale == 0.0f && zero == 0)
        return EC2T_OK;
    if (ec2t__q8_eligible(&e->ops[i]) && scale > 0.0f && isfinite(scale) &&
        isfinite(1.0f / scale) && zero >= 0 && zero <= 255)
        return EC2T_OK;
    return ec2t__error(e->ctx, EC2T_E_FORMAT,
                       "%s: ec2t.int8 entry %d (scale %g, zero point %d) is not valid for a %s "
                       "operation", what, (int)i, (double)scale, (int)zero,
                       ec2t__q8_eligible(&e->ops[i]) ? "ternary conv" : "non-ternary-conv");
}

ec2t_status
ec2t__eio_load_int8(ec2t_engine *e, const ec2t__creader *r)
{
    const char *what = ec2t__cr_what(r);
    float *scales = NULL;
    int32_t *zeros = NULL;
    ec2t__q8 **q = NULL;
    uint64_t ns = 0, nz = 0;
    uint32_t version;
    ec2t_status st;
    if (!ec2t__cr_has_key(r, "ec2t.int8.version"))
        return EC2T_OK;
    if ((st = ec2t__cr_get_u32(r, "ec2t.int8.version", &version)) != EC2T_OK)
        return st;
    if (version != INT8_VERSION)
        return EC2T_OK; /* a later calibration scheme: run in float */
    scales = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *scales);
    zeros = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *zeros);
    q = ec2t__calloc(e->ctx, (size_t)e->n_ops, sizeof *q);
    st = scales && zeros && q ? EC2T_OK : ec2t__nomem(e->ctx, "int8 calibration");
    if (st == EC2T_OK)
        st = ec2t__cr_get_array(r, "ec2t.int8.scales", EC2T__KV_F32, scales, (uint64_t)e->n_ops, &ns);
    if (st == EC2T_OK)
        st = ec2t__cr_get_array(r, "ec2t.int8.zeros", EC2T__KV_I32, zeros, (uint64_t)e->n_ops, &nz);
    if (st == EC2T_OK && (ns != (uint64_t)e->n_ops || nz != (uint64_t)e->n_ops))
        st = ec2t__error(e->ctx, EC2T_E_FORMAT,
                         "%s: ec2t.int8.scales and .zeros hold %llu and %llu entries for %d "
                         "operations", what, (unsigned long long)ns, (unsigned long long)nz,
                         (int)e->n_ops);
    for (int32_t i = 0; i < e->n_ops && st == EC2T_OK; i++) {
        st = check_entry(e, what, i, scales[i], zeros[i]);
        if (st == EC2T_OK && scales[i] > 0.0f)
            st = ec2t__q8_new(e, &e->ops[i], scales[i], zeros[i], &q[i]);
    }
    for (int32_t i = 0; q && i < e->n_ops; i++) {
        if (st == EC2T_OK)
            e->ops[i].q8 = q[i];
        else
            ec2t__q8_destroy(e->ctx, q[i]);
    }
    ec2t__free(e->ctx, scales);
    ec2t__free(e->ctx, zeros);
    ec2t__free(e->ctx, q);
    return st;
}
