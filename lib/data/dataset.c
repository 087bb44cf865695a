/* SPDX-License-Identifier: MIT */
/* ec2t_dataset: construction from caller arrays, subsets, options,
 * normalisation, shuffling and (augmented) mini-batches. The IDX and CIFAR
 * readers are in dataset-io.c. */
#include <math.h>
#include <string.h>

#include "dataset-private.h"

#define MAX_CHANNELS 4096
#define MAX_EXTENT 65536
#define MAX_CROP_PAD 64
#define MAX_CUTOUT 64

/* Shape and size limits shared by every constructor; elem is the bytes of one
 * stored pixel (1 or 4). */
static ec2t_status
check_geometry(ec2t_context *ctx, const char *what, int64_t count, int32_t c, int32_t h,
               int32_t w, uint64_t elem)
{
    uint64_t sample_bytes;
    if (count < 1)
        return ec2t__error(ctx, EC2T_E_INVAL, "%s: %lld samples (at least 1 needed)", what,
                           (long long)count);
    if (c < 1 || c > MAX_CHANNELS || h < 1 || h > MAX_EXTENT || w < 1 || w > MAX_EXTENT)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "%s: image shape %dx%dx%d is outside 1..%d channels, 1..%d pixels", what,
                           (int)c, (int)h, (int)w, MAX_CHANNELS, MAX_EXTENT);
    /* At most 2^12 * 2^16 * 2^16 * 4 = 2^46: no overflow. */
    sample_bytes = (uint64_t)c * (uint64_t)h * (uint64_t)w * elem;
    if ((uint64_t)count > EC2T__DATASET_MAX_BYTES / sample_bytes ||
        (uint64_t)count * sample_bytes > (uint64_t)SIZE_MAX)
        return ec2t__error(ctx, EC2T_E_INVAL,
                           "%s: %lld samples of %dx%dx%d are more than %llu bytes", what,
                           (long long)count, (int)c, (int)h, (int)w,
                           (unsigned long long)EC2T__DATASET_MAX_BYTES);
    return EC2T_OK;
}

/* Byte value -> normalised float, per channel, so that batches of 8-bit
 * sources cost one lookup per pixel and follow the documented formula exactly. */
static void
rebuild_lut(ec2t_dataset *ds)
{
    if (!ds->lut)
        return;
    for (int32_t ch = 0; ch < ds->c; ch++)
        for (int v = 0; v < 256; v++)
            ds->lut[(size_t)ch * 256 + (size_t)v] =
                ((float)v / 255.0f - ds->mean[ch]) / ds->std[ch];
}

ec2t_status
ec2t__dataset_new(ec2t_context *ctx, int64_t count, int32_t c, int32_t h, int32_t w, int u8,
                  uint8_t *pixels, ec2t_dataset **out)
{
    ec2t_dataset *ds;
    size_t n, sample;
    ec2t_status st;

    *out = NULL;
    st = check_geometry(ctx, "dataset", count, c, h, w, u8 ? 1 : 4);
    if (st != EC2T_OK) {
        ec2t__free(ctx, pixels);
        return st;
    }
    n = (size_t)count;
    sample = (size_t)c * (size_t)h * (size_t)w;
    ds = ec2t__calloc(ctx, 1, sizeof *ds);
    if (!ds) {
        ec2t__free(ctx, pixels);
        return ec2t__nomem(ctx, "dataset");
    }
    ds->ctx = ctx;
    ds->count = count;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->n_classes = 1;
    ds->sample = (int64_t)sample;
    if (u8)
        ds->u8 = pixels ? pixels : ec2t__alloc(ctx, n * sample, 64);
    else
        ds->f32 = ec2t__alloc(ctx, n * sample * sizeof(float), 64);
    ds->labels = ec2t__calloc(ctx, n, sizeof *ds->labels);
    ds->order = ec2t__calloc(ctx, n, sizeof *ds->order);
    ds->mean = ec2t__calloc(ctx, 2 * (size_t)c, sizeof *ds->mean);
    if (u8)
        ds->lut = ec2t__calloc(ctx, (size_t)c * 256, sizeof *ds->lut);
    if ((!ds->u8 && !ds->f32) || !ds->labels || !ds->order || !ds->mean || (u8 && !ds->lut)) {
        ec2t_dataset_free(ds);
        return ec2t__nomem(ctx, "dataset storage");
    }
    ds->std = ds->mean + c;
    for (int32_t ch = 0; ch < c; ch++)
        ds->std[ch] = 1.0f;
    rebuild_lut(ds);
    for (size_t i = 0; i < n; i++)
        ds->order[i] = (int64_t)i;
    ds->seed = ctx->seed;
    ec2t__rng_seed(&ds->rng, (uint64_t)ds->seed);
    *out = ds;
    return EC2T_OK;
}

EC2T_API void
ec2t_dataset_free(ec2t_dataset *ds)
{
    ec2t_context *ctx;
    if (!ds)
        return;
    ctx = ds->ctx;
    ec2t__free(ctx, ds->u8);
    ec2t__free(ctx, ds->f32);
    ec2t__free(ctx, ds->labels);
    ec2t__free(ctx, ds->order);
    ec2t__free(ctx, ds->mean); /* std shares this block */
    ec2t__free(ctx, ds->lut);
    ec2t__free(ctx, ds);
}

static ec2t_status
check_arrays(ec2t_context *ctx, const float *images, const int32_t *labels, int64_t count,
             size_t sample, int32_t n_classes)
{
    for (int64_t i = 0; i < count; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return ec2t__error(ctx, EC2T_E_INVAL,
                               "ec2t_dataset_from_arrays: label %d of sample %lld is outside "
                               "[0, %d)",
                               (int)labels[i], (long long)i, (int)n_classes);
    for (size_t i = 0; i < (size_t)count * sample; i++)
        if (!isfinite(images[i]))
            return ec2t__error(ctx, EC2T_E_INVAL,
                               "ec2t_dataset_from_arrays: pixel %zu of sample %lld is not finite",
                               i % sample, (long long)(i / sample));
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_dataset_from_arrays(ec2t_context *ctx, const float *images, const int32_t *labels,
                         int64_t count, int32_t c, int32_t h, int32_t w, int32_t n_classes,
                         uint32_t flags, ec2t_dataset **out)
{
    ec2t_dataset *ds;
    ec2t_status st;

    if (out)
        *out = NULL;
    if (!ctx)
        return EC2T_E_INVAL;
    if (!images || !labels || !out)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_from_arrays: NULL argument");
    if (flags != 0)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_from_arrays: flags must be 0");
    if (n_classes < 1)
        return ec2t__error(ctx, EC2T_E_INVAL, "ec2t_dataset_from_arrays: %d classes (at least 1)",
                           (int)n_classes);
    st = check_geometry(ctx, "ec2t_dataset_from_arrays", count, c, h, w, sizeof(float));
    if (st == EC2T_OK)
        st = check_arrays(ctx, images, labels, count, (size_t)c * (size_t)h * (size_t)w,
                          n_classes);
    if (st == EC2T_OK)
        st = ec2t__dataset_new(ctx, count, c, h, w, 0, NULL, &ds);
    if (st != EC2T_OK)
        return st;
    memcpy(ds->f32, images, (size_t)count * (size_t)ds->sample * sizeof(float));
    memcpy(ds->labels, labels, (size_t)count * sizeof *labels);
    ds->n_classes = n_classes;
    *out = ds;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_dataset_subset(const ec2t_dataset *ds, int64_t start, int64_t count, uint32_t flags,
                    ec2t_dataset **out)
{
    ec2t_dataset *sub;
    size_t sample;
    ec2t_status st;

    if (out)
        *out = NULL;
    if (!ds)
        return EC2T_E_INVAL;
    if (!out)
        return ec2t__error(ds->ctx, EC2T_E_INVAL, "ec2t_dataset_subset: out is NULL");
    if (flags != 0)
        return ec2t__error(ds->ctx, EC2T_E_INVAL, "ec2t_dataset_subset: flags must be 0");
    if (start < 0 || count < 1 || start > ds->count - count)
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_subset: %lld samples from %lld do not fit in %lld",
                           (long long)count, (long long)start, (long long)ds->count);
    st = ec2t__dataset_new(ds->ctx, count, ds->c, ds->h, ds->w, ds->u8 != NULL, NULL, &sub);
    if (st != EC2T_OK)
        return st;
    sample = (size_t)ds->sample;
    for (int64_t i = 0; i < count; i++) {
        size_t src = (size_t)ds->order[start + i], dst = (size_t)i;
        if (ds->u8)
            memcpy(sub->u8 + dst * sample, ds->u8 + src * sample, sample);
        else
            memcpy(sub->f32 + dst * sample, ds->f32 + src * sample, sample * sizeof(float));
        sub->labels[dst] = ds->labels[src];
    }
    sub->n_classes = ds->n_classes;
    memcpy(sub->mean, ds->mean, 2 * (size_t)ds->c * sizeof *ds->mean);
    rebuild_lut(sub);
    sub->crop_pad = ds->crop_pad;
    sub->hflip = ds->hflip;
    sub->cutout = ds->cutout;
    sub->seed = ds->seed;
    ec2t__rng_seed(&sub->rng, (uint64_t)sub->seed);
    *out = sub;
    return EC2T_OK;
}

EC2T_API int64_t
ec2t_dataset_size(const ec2t_dataset *ds)
{
    return ds ? ds->count : 0;
}

EC2T_API int32_t
ec2t_dataset_classes(const ec2t_dataset *ds)
{
    return ds ? ds->n_classes : 0;
}

EC2T_API ec2t_status
ec2t_dataset_shape(const ec2t_dataset *ds, int32_t *c, int32_t *h, int32_t *w)
{
    if (!ds)
        return EC2T_E_INVAL;
    if (c)
        *c = ds->c;
    if (h)
        *h = ds->h;
    if (w)
        *w = ds->w;
    return EC2T_OK;
}

/* ---- settings (core/settings.c) ---- */

static ec2t_context *
dataset_ctx(const void *obj)
{
    return ((const ec2t_dataset *)obj)->ctx;
}

/* A new seed restarts the augmentation generator. */
static ec2t_status
apply_dataset(void *obj, const ec2t__setting *s, int64_t i, double d)
{
    ec2t_dataset *ds = obj;
    (void)d;
    if (s->id == EC2T_DATA_SEED)
        ec2t__rng_seed(&ds->rng, (uint64_t)i);
    return EC2T_OK;
}

static const ec2t__setting dataset_rows[] = {
    EC2T__INT_AT(EC2T_DATA_SEED, ec2t_dataset, seed, EC2T__AT_I64, INT64_MIN, INT64_MAX),
    EC2T__INT_AT(EC2T_DATA_CROP_PAD, ec2t_dataset, crop_pad, EC2T__AT_I32, 0, MAX_CROP_PAD),
    EC2T__INT_AT(EC2T_DATA_HFLIP, ec2t_dataset, hflip, EC2T__AT_I32, 0, 1),
    EC2T__INT_AT(EC2T_DATA_CUTOUT, ec2t_dataset, cutout, EC2T__AT_I32, 0, MAX_CUTOUT),
};

const ec2t__settings ec2t__dataset_settings = {
    EC2T__SETTINGS_ROWS("dataset", dataset_rows, EC2T_E_INVAL),
    .ctx_of = dataset_ctx,
    .apply = apply_dataset,
};

EC2T_API ec2t_status
ec2t_dataset_set_int(ec2t_dataset *ds, ec2t_dataset_param param, int64_t value)
{
    return ec2t__settings_set_int(&ec2t__dataset_settings, ds, param, value, "ec2t_dataset_set_int");
}

EC2T_API ec2t_status
ec2t_dataset_get_int(const ec2t_dataset *ds, ec2t_dataset_param param, int64_t *value)
{
    return ec2t__settings_get_int(&ec2t__dataset_settings, ds, param, value, "ec2t_dataset_get_int");
}

EC2T_API ec2t_status
ec2t_dataset_param_bounds(ec2t_dataset_param param, int64_t *lo, int64_t *hi)
{
    return ec2t__settings_bounds_int(&ec2t__dataset_settings, param, lo, hi);
}

EC2T_API ec2t_status
ec2t_dataset_set_normalization(ec2t_dataset *ds, const float *mean, const float *std,
                               int32_t channels)
{
    if (!ds)
        return EC2T_E_INVAL;
    if (!mean || !std)
        return ec2t__error(ds->ctx, EC2T_E_INVAL, "ec2t_dataset_set_normalization: NULL argument");
    if (channels != ds->c)
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_set_normalization: %d channels given, the images have %d",
                           (int)channels, (int)ds->c);
    for (int32_t ch = 0; ch < channels; ch++)
        if (!isfinite(mean[ch]) || !isfinite(std[ch]) || !(std[ch] > 0.0f))
            return ec2t__error(ds->ctx, EC2T_E_INVAL,
                               "ec2t_dataset_set_normalization: channel %d: mean %g, std %g "
                               "(finite values and std > 0 needed)",
                               (int)ch, (double)mean[ch], (double)std[ch]);
    memcpy(ds->mean, mean, (size_t)channels * sizeof *mean);
    memcpy(ds->std, std, (size_t)channels * sizeof *std);
    rebuild_lut(ds);
    return EC2T_OK;
}

/* Mean and population std of one channel of 8-bit pixels, from a histogram:
 * exact counts, then two passes over 256 values in double. */
static void
channel_stats_u8(const ec2t_dataset *ds, int32_t ch, double *mean, double *std)
{
    int64_t hist[256] = {0};
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    double n = (double)ds->count * (double)plane, m = 0, var = 0;
    for (int64_t i = 0; i < ds->count; i++) {
        const uint8_t *p = ds->u8 + (size_t)i * (size_t)ds->sample + (size_t)ch * plane;
        for (size_t k = 0; k < plane; k++)
            hist[p[k]]++;
    }
    for (int v = 0; v < 256; v++)
        m += (double)hist[v] * ((double)v / 255.0);
    m /= n;
    for (int v = 0; v < 256; v++) {
        double d = (double)v / 255.0 - m;
        var += (double)hist[v] * d * d;
    }
    *mean = m;
    *std = sqrt(var / n);
}

/* The same for float pixels: two passes in double, which stay accurate when
 * the mean is large compared with the spread. */
static void
channel_stats_f32(const ec2t_dataset *ds, int32_t ch, double *mean, double *std)
{
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    double n = (double)ds->count * (double)plane, m = 0, var = 0;
    for (int64_t i = 0; i < ds->count; i++) {
        const float *p = ds->f32 + (size_t)i * (size_t)ds->sample + (size_t)ch * plane;
        for (size_t k = 0; k < plane; k++)
            m += (double)p[k];
    }
    m /= n;
    for (int64_t i = 0; i < ds->count; i++) {
        const float *p = ds->f32 + (size_t)i * (size_t)ds->sample + (size_t)ch * plane;
        for (size_t k = 0; k < plane; k++) {
            double d = (double)p[k] - m;
            var += d * d;
        }
    }
    *mean = m;
    *std = sqrt(var / n);
}

EC2T_API ec2t_status
ec2t_dataset_compute_normalization(const ec2t_dataset *ds, float *mean, float *std,
                                   int32_t channels)
{
    if (!ds)
        return EC2T_E_INVAL;
    if (!mean || !std)
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_compute_normalization: NULL argument");
    if (channels != ds->c)
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_compute_normalization: room for %d channels, the images "
                           "have %d",
                           (int)channels, (int)ds->c);
    for (int32_t ch = 0; ch < channels; ch++) {
        double m, s;
        if (ds->u8)
            channel_stats_u8(ds, ch, &m, &s);
        else
            channel_stats_f32(ds, ch, &m, &s);
        mean[ch] = (float)m;
        std[ch] = (float)s;
    }
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_dataset_shuffle(ec2t_dataset *ds, uint64_t seed)
{
    ec2t__rng rng;
    if (!ds)
        return EC2T_E_INVAL;
    /* From the load order every time, so the result depends on the seed only. */
    for (int64_t i = 0; i < ds->count; i++)
        ds->order[i] = i;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = ds->count - 1; i > 0; i--) {
        int64_t j = (int64_t)ec2t__rng_below(&rng, (uint64_t)i + 1);
        int64_t t = ds->order[i];
        ds->order[i] = ds->order[j];
        ds->order[j] = t;
    }
    return EC2T_OK;
}

/* One sample, normalised, without augmentation. */
static void
copy_plain(const ec2t_dataset *ds, int64_t s, float *dst)
{
    size_t plane = (size_t)ds->h * (size_t)ds->w;
    for (int32_t ch = 0; ch < ds->c; ch++, dst += plane) {
        size_t off = (size_t)s * (size_t)ds->sample + (size_t)ch * plane;
        if (ds->u8) {
            const uint8_t *src = ds->u8 + off;
            const float *lut = ds->lut + (size_t)ch * 256;
            for (size_t k = 0; k < plane; k++)
                dst[k] = lut[src[k]];
        } else {
            const float *src = ds->f32 + off;
            float m = ds->mean[ch], sd = ds->std[ch];
            for (size_t k = 0; k < plane; k++)
                dst[k] = (src[k] - m) / sd;
        }
    }
}

/* Pixel (y, x) of channel ch of sample s, normalised. */
static float
norm_pixel(const ec2t_dataset *ds, int64_t s, int32_t ch, int64_t y, int64_t x)
{
    size_t off = (size_t)s * (size_t)ds->sample + ((size_t)ch * (size_t)ds->h + (size_t)y) *
                                                       (size_t)ds->w + (size_t)x;
    if (ds->u8)
        return ds->lut[(size_t)ch * 256 + ds->u8[off]];
    return (ds->f32[off] - ds->mean[ch]) / ds->std[ch];
}

/* One sample cropped at offset (dy, dx) from the image padded on every side,
 * then mirrored when flip is set: out(y, x) = in(y + dy, x' + dx) with
 * x' = w - 1 - x when flipped, else x.
 *
 * The padding is a raw pixel value of 0, normalised like any other pixel, so
 * it becomes (0 - mean) / std and not 0: torchvision's usual pipeline pads in
 * RandomCrop before ToTensor and Normalize, and we reproduce that. */
static void
copy_augmented(const ec2t_dataset *ds, int64_t s, float *dst, int64_t dy, int64_t dx, int flip)
{
    int64_t h = ds->h, w = ds->w;
    for (int32_t ch = 0; ch < ds->c; ch++) {
        float pad_value = (0.0f - ds->mean[ch]) / ds->std[ch];
        for (int64_t y = 0; y < h; y++) {
            int64_t sy = y + dy;
            for (int64_t x = 0; x < w; x++, dst++) {
                int64_t sx = (flip ? w - 1 - x : x) + dx;
                if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                    *dst = pad_value;
                else
                    *dst = norm_pixel(ds, s, ch, sy, sx);
            }
        }
    }
}

/* Cutout: rows and columns from cy - side / 2 and cx - side / 2, side of
 * each, clipped at the borders, set to 0 in every channel: the mean, once
 * normalised. */
static void
cut_out(const ec2t_dataset *ds, float *dst, int64_t cy, int64_t cx)
{
    int64_t h = ds->h, w = ds->w, side = ds->cutout;
    int64_t y0 = cy - side / 2, x0 = cx - side / 2;
    int64_t y1 = y0 + side > h ? h : y0 + side, x1 = x0 + side > w ? w : x0 + side;
    y0 = y0 < 0 ? 0 : y0;
    x0 = x0 < 0 ? 0 : x0;
    for (int32_t ch = 0; ch < ds->c; ch++)
        for (int64_t y = y0; y < y1; y++)
            for (int64_t x = x0; x < x1; x++)
                dst[(ch * h + y) * w + x] = 0.0f;
}

/* Per image, in this order: the crop's row and column offsets (only when
 * EC2T_DATA_CROP_PAD > 0), then the flip (only when EC2T_DATA_HFLIP is 1),
 * then the Cutout centre's row and column (only when EC2T_DATA_CUTOUT > 0). */
static void
copy_with_draws(ec2t_dataset *ds, int64_t s, float *dst)
{
    int64_t pad = ds->crop_pad, dy = 0, dx = 0;
    int flip = 0;
    if (pad > 0) {
        dy = (int64_t)ec2t__rng_below(&ds->rng, (uint64_t)(2 * pad + 1)) - pad;
        dx = (int64_t)ec2t__rng_below(&ds->rng, (uint64_t)(2 * pad + 1)) - pad;
    }
    if (ds->hflip)
        flip = ec2t__rng_below(&ds->rng, 2) == 1;
    if (dy == 0 && dx == 0 && !flip)
        copy_plain(ds, s, dst);
    else
        copy_augmented(ds, s, dst, dy, dx, flip);
    if (ds->cutout > 0) {
        int64_t cy = (int64_t)ec2t__rng_below(&ds->rng, (uint64_t)ds->h);
        int64_t cx = (int64_t)ec2t__rng_below(&ds->rng, (uint64_t)ds->w);
        cut_out(ds, dst, cy, cx);
    }
}

EC2T_API ec2t_status
ec2t_dataset_get_batch(ec2t_dataset *ds, int64_t start, int64_t count, float *images,
                       size_t images_cap, int32_t *labels, size_t labels_cap, uint32_t flags)
{
    size_t need, sample;
    int augment;

    if (!ds)
        return EC2T_E_INVAL;
    if (flags & ~EC2T_BATCH_AUGMENT)
        return ec2t__error(ds->ctx, EC2T_E_INVAL, "ec2t_dataset_get_batch: unknown flags 0x%x",
                           (unsigned)flags);
    if (start < 0 || count < 1 || start > ds->count - count)
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_get_batch: %lld samples from %lld do not fit in %lld",
                           (long long)count, (long long)start, (long long)ds->count);
    if ((images_cap > 0 && !images) || (labels_cap > 0 && !labels))
        return ec2t__error(ds->ctx, EC2T_E_INVAL,
                           "ec2t_dataset_get_batch: NULL buffer with a nonzero capacity");
    sample = (size_t)ds->sample;
    need = (size_t)count * sample;
    if (images_cap < need)
        return ec2t__error(ds->ctx, EC2T_E_RANGE,
                           "ec2t_dataset_get_batch: images holds %zu floats, %lld samples need %zu",
                           images_cap, (long long)count, need);
    if (labels && labels_cap < (size_t)count)
        return ec2t__error(ds->ctx, EC2T_E_RANGE,
                           "ec2t_dataset_get_batch: labels holds %zu values, %lld needed",
                           labels_cap, (long long)count);
    augment = (flags & EC2T_BATCH_AUGMENT) && (ds->crop_pad > 0 || ds->hflip || ds->cutout > 0);
    for (int64_t i = 0; i < count; i++) {
        int64_t s = ds->order[start + i];
        float *dst = images + (size_t)i * sample;
        if (augment)
            copy_with_draws(ds, s, dst);
        else
            copy_plain(ds, s, dst);
        if (labels)
            labels[i] = ds->labels[s];
    }
    return EC2T_OK;
}
