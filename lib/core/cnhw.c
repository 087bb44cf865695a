/* SPDX-License-Identifier: MIT */
/* Forward kernels shared by training and inference (cnhw-private.h). */
#include <string.h>

#include "cnhw-private.h"

/* The valid output columns [*lo, *hi) for kernel column offset j: those whose
 * input column ox*stride - pad + j lies inside [0, w). */
static void
valid_range(int32_t out, int32_t in, int32_t stride, int32_t offset, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = out;
    while (a < out && a * stride + offset < 0)
        a++;
    while (b > a && (b - 1) * stride + offset >= in)
        b--;
    *lo = a;
    *hi = b;
}

/* Short rows: plain loops the compiler vectorises beat memcpy/memset calls. */
static inline void
copy_row(float *restrict dst, const float *restrict src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = src[i];
}

static inline void
zero_row(float *dst, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = 0.0f;
}

static inline void
add_row(float *restrict dst, const float *restrict src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] += src[i];
}

/* Stride 1 without padding, every tap inside the plane: tap (i, j) of a
 * sample is the (oh, ow) block of its plane at row i, column j. One tight
 * loop per block instead of a call and its edge checks per row (LeNet-5's
 * second convolution has rows of 10 floats). Plain copies and additions:
 * the results of the general path. */
static int
interior(const ec2t__window *g)
{
    return g->stride == 1 && g->pad == 0 && g->ow != g->w && g->oh + g->kh - 1 <= g->h &&
           g->ow + g->kw - 1 <= g->w;
}

static void
copy_block(float *restrict dst, const float *restrict src, int32_t rows, int32_t cols,
           int32_t pitch)
{
    for (int32_t r = 0; r < rows; r++)
        for (int32_t k = 0; k < cols; k++)
            dst[(int64_t)r * cols + k] = src[(int64_t)r * pitch + k];
}

static void
add_block(float *restrict dst, const float *restrict src, int32_t rows, int32_t cols,
          int32_t pitch)
{
    for (int32_t r = 0; r < rows; r++)
        for (int32_t k = 0; k < cols; k++)
            dst[(int64_t)r * pitch + k] += src[(int64_t)r * cols + k];
}

void
ec2t__im2col(const ec2t__window *g, const float *x, int64_t n, int32_t c0, int32_t cg,
             int64_t n0, int64_t cn, float *col)
{
    int64_t plane = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow, ld = cn * ohw;
    if (interior(g)) {
        for (int32_t c = 0; c < cg; c++)
            for (int32_t i = 0; i < g->kh; i++)
                for (int32_t j = 0; j < g->kw; j++) {
                    float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                    const float *src = x + ((int64_t)(c0 + c) * n + n0) * plane + i * g->w + j;
                    for (int64_t s = 0; s < cn; s++)
                        copy_block(row + s * ohw, src + s * plane, g->oh, g->ow, g->w);
                }
        return;
    }
    for (int32_t c = 0; c < cg; c++) {
        for (int32_t i = 0; i < g->kh; i++) {
            /* tap row i reads input row oy*stride - pad + i: with stride 1 a
             * shift of the rows (the long-copy path), else a row phase */
            int32_t r0 = g->stride == 1 ? i - g->pad : 0, py = g->stride == 1 ? 0 : i - g->pad;
            for (int32_t j = 0; j < g->kw; j++) {
                float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                for (int64_t s = 0; s < cn; s++)
                    ec2t__lower_columns(g, x + ((int64_t)(c0 + c) * n + n0 + s) * plane, j, py, r0,
                                        g->oh, row + s * ohw);
            }
        }
    }
}

void
ec2t__col2im(const ec2t__window *g, const float *col, int64_t n, int32_t c0, int32_t cg,
             int64_t n0, int64_t cn, float *dx)
{
    int64_t plane = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow, ld = cn * ohw;
    if (interior(g)) {
        for (int32_t c = 0; c < cg; c++)
            for (int32_t i = 0; i < g->kh; i++)
                for (int32_t j = 0; j < g->kw; j++) {
                    const float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                    float *dst = dx + ((int64_t)(c0 + c) * n + n0) * plane + i * g->w + j;
                    for (int64_t s = 0; s < cn; s++)
                        add_block(dst + s * plane, row + s * ohw, g->oh, g->ow, g->w);
                }
        return;
    }
    for (int32_t c = 0; c < cg; c++) {
        for (int32_t i = 0; i < g->kh; i++) {
            for (int32_t j = 0; j < g->kw; j++) {
                const float *row = col + ((int64_t)(c * g->kh + i) * g->kw + j) * ld;
                int32_t lo, hi, off = j - g->pad;
                valid_range(g->ow, g->w, g->stride, off, &lo, &hi);
                for (int64_t s = 0; s < cn; s++) {
                    float *dst = dx + ((int64_t)(c0 + c) * n + n0 + s) * plane;
                    for (int32_t oy = 0; oy < g->oh; oy++) {
                        const float *src = row + (s * g->oh + oy) * g->ow;
                        int32_t iy = oy * g->stride - g->pad + i;
                        float *line;
                        if (iy < 0 || iy >= g->h || lo >= hi)
                            continue;
                        line = dst + (int64_t)iy * g->w;
                        if (g->stride == 1) {
                            add_row(line + lo + off, src + lo, hi - lo);
                        } else {
                            for (int32_t ox = lo; ox < hi; ox++)
                                line[ox * g->stride + off] += src[ox];
                        }
                    }
                }
            }
        }
    }
}


/* Columns [a, b) of rows [ra, rb) to 0, column by column: strided stores,
 * which the compiler does not turn into a memset call per row. */
static void
clear_columns(float *dst, int64_t w, int32_t ra, int32_t rb, int32_t a, int32_t b)
{
    for (int32_t ox = a; ox < b; ox++)
        for (int32_t r = ra; r < rb; r++)
            dst[r * w + ox] = 0.0f;
}

/* Stride 1 and ow == w: the variant is the plane shifted by off = j - pad,
 * so one copy of every inside row at once (long copies, not a call per
 * row), then the columns that fell outside the plane are cleared. */
static void
lower_shifted(const ec2t__window *g, const float *x, int32_t off, int32_t r0, int32_t nrows,
              float *dst)
{
    int64_t w = g->w, n = (int64_t)g->h * w;
    int32_t ra = r0 < 0 ? -r0 : 0, rb = g->h - r0 < nrows ? g->h - r0 : nrows, lo, hi;
    int64_t first, last, s0;
    if (ra >= rb) {
        memset(dst, 0, (size_t)nrows * (size_t)w * sizeof(float));
        return;
    }
    memset(dst, 0, (size_t)ra * (size_t)w * sizeof(float));
    memset(dst + rb * w, 0, (size_t)(nrows - rb) * (size_t)w * sizeof(float));
    /* element t of rows [ra, rb) copies x[s0 + t]; keep the source inside x */
    s0 = (ra + r0) * w + off;
    first = s0 < 0 ? -s0 : 0;
    last = (rb - ra) * w;
    last = s0 + last > n ? n - s0 : last;
    if (last > first) /* with |off| >= w (a padding wider than the plane) nothing is inside */
        memcpy(dst + ra * w + first, x + s0 + first, (size_t)(last - first) * sizeof(float));
    /* the columns outside the plane; the elements the copy skipped lie there */
    valid_range(g->ow, g->w, 1, off, &lo, &hi);
    clear_columns(dst, w, ra, rb, 0, lo);
    clear_columns(dst, w, ra, rb, hi, g->ow);
}

/* dst[ox] = line[2 ox + off], ox in [lo, hi): stride 2 as a constant, so
 * that the compiler vectorises the gather with shuffles. */
static void
gather2(float *restrict dst, const float *restrict line, int32_t off, int32_t lo, int32_t hi)
{
    for (int32_t ox = lo; ox < hi; ox++)
        dst[ox] = line[2 * ox + off];
}

void
ec2t__lower_columns(const ec2t__window *g, const float *x, int32_t j, int32_t py, int32_t r0,
                    int32_t nrows, float *dst)
{
    int32_t lo, hi, off = j - g->pad;
    if (g->stride == 1 && g->ow == g->w) {
        lower_shifted(g, x, off, r0, nrows, dst);
        return;
    }
    valid_range(g->ow, g->w, g->stride, off, &lo, &hi);
    for (int32_t r = 0; r < nrows; r++) {
        int64_t iy = (int64_t)g->stride * (r0 + r) + py;
        float *row = dst + (int64_t)r * g->ow;
        const float *line;
        if (iy < 0 || iy >= g->h || lo >= hi) {
            zero_row(row, g->ow);
            continue;
        }
        line = x + iy * g->w;
        zero_row(row, lo);
        if (g->stride == 1)
            copy_row(row + lo, line + lo + off, hi - lo);
        else if (g->stride == 2)
            gather2(row, line, off, lo, hi);
        else
            for (int32_t ox = lo; ox < hi; ox++)
                row[ox] = line[ox * g->stride + off];
        zero_row(row + hi, g->ow - hi);
    }
}

void
ec2t__window_range(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t in, int32_t *a,
                   int32_t *b)
{
    int32_t s = o * stride - pad;
    *a = s < 0 ? 0 : s;
    *b = s + k > in ? in : s + k;
}

/* 2 x 2 windows at stride 2 without padding (LeNet-5's): the result of
 * ec2t__maxpool_scan (the first maximum in row-major order; a NaN wins
 * only in first place), with selects instead of a branch per element,
 * which were mispredicted about half the time. */
static void
maxpool2_plane(const ec2t__window *g, const float *x, float *y, int32_t *arg)
{
    /* locals: through g, every store would make the bounds unknown and the
     * compiler would neither vectorise nor keep the selects */
    const int32_t w = g->w, oh = g->oh, ow = g->ow;
    for (int32_t oy = 0; oy < oh; oy++) {
        const float *restrict r0 = x + (int64_t)2 * oy * w, *restrict r1 = r0 + w;
        float *restrict yo = y + (int64_t)oy * ow;
        int32_t *restrict ao = arg + (int64_t)oy * ow;
        const int32_t i0 = 2 * oy * w, i1 = i0 + w;
        for (int32_t ox = 0; ox < ow; ox++) {
            float best = r0[2 * ox], v = r0[2 * ox + 1];
            int32_t at = i0 + 2 * ox, gt = v > best;
            best = gt ? v : best;
            at = gt ? i0 + 2 * ox + 1 : at;
            v = r1[2 * ox];
            gt = v > best;
            best = gt ? v : best;
            at = gt ? i1 + 2 * ox : at;
            v = r1[2 * ox + 1];
            gt = v > best;
            best = gt ? v : best;
            at = gt ? i1 + 2 * ox + 1 : at;
            yo[ox] = best;
            ao[ox] = at;
        }
    }
}

/* The same without the indices (the engine's). */
static void
maxpool2_values(const ec2t__window *g, const float *x, float *y)
{
    const int32_t w = g->w, oh = g->oh, ow = g->ow;
    for (int32_t oy = 0; oy < oh; oy++) {
        const float *restrict r0 = x + (int64_t)2 * oy * w, *restrict r1 = r0 + w;
        float *restrict yo = y + (int64_t)oy * ow;
        for (int32_t ox = 0; ox < ow; ox++) {
            float best = r0[2 * ox], v = r0[2 * ox + 1];
            best = v > best ? v : best;
            v = r1[2 * ox];
            best = v > best ? v : best;
            v = r1[2 * ox + 1];
            yo[ox] = v > best ? v : best;
        }
    }
}

void
ec2t__maxpool_plane(const ec2t__window *g, const float *x, float *y, int32_t *arg)
{
    if (g->kh == 2 && g->kw == 2 && g->stride == 2 && g->pad == 0) {
        if (arg)
            maxpool2_plane(g, x, y, arg);
        else
            maxpool2_values(g, x, y);
        return;
    }
    ec2t__maxpool_scan(g, x, y, arg);
}

void
ec2t__maxpool_scan(const ec2t__window *g, const float *x, float *y, int32_t *arg)
{
    for (int32_t oy = 0; oy < g->oh; oy++) {
        int32_t y0, y1;
        ec2t__window_range(oy, g->stride, g->pad, g->kh, g->h, &y0, &y1);
        for (int32_t ox = 0; ox < g->ow; ox++) {
            int32_t x0, x1, best_i;
            float best;
            /* never empty: pad <= kernel / 2 */
            ec2t__window_range(ox, g->stride, g->pad, g->kw, g->w, &x0, &x1);
            best_i = y0 * g->w + x0;
            best = x[best_i];
            for (int32_t yy = y0; yy < y1; yy++)
                for (int32_t xx = x0; xx < x1; xx++)
                    if (x[yy * g->w + xx] > best) {
                        best = x[yy * g->w + xx];
                        best_i = yy * g->w + xx;
                    }
            y[oy * g->ow + ox] = best;
            if (arg)
                arg[oy * g->ow + ox] = best_i;
        }
    }
}

void
ec2t__avgpool_plane(const ec2t__window *g, const float *x, float *y)
{
    /* the divisor is always the window size (PyTorch's count_include_pad=True
     * with floor-mode output sizes, whose windows never leave the padding) */
    /* in float: kh * kw may not fit an int (a 65537 x 65537 window from a
     * file), and below 2^24 the float product is exact */
    float inv = 1.0f / ((float)g->kh * (float)g->kw);
    for (int32_t oy = 0; oy < g->oh; oy++) {
        int32_t y0, y1;
        ec2t__window_range(oy, g->stride, g->pad, g->kh, g->h, &y0, &y1);
        for (int32_t ox = 0; ox < g->ow; ox++) {
            int32_t x0, x1;
            float s = 0;
            ec2t__window_range(ox, g->stride, g->pad, g->kw, g->w, &x0, &x1);
            for (int32_t yy = y0; yy < y1; yy++)
                for (int32_t xx = x0; xx < x1; xx++)
                    s += x[yy * g->w + xx];
            y[oy * g->ow + ox] = s * inv;
        }
    }
}

void
ec2t__mean_planes(const float *x, int64_t planes, int64_t plane, float *y)
{
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * plane;
        double s = 0;
        for (int64_t i = 0; i < plane; i++)
            s += xp[i];
        y[p] = (float)(s / (double)plane);
    }
}

void
ec2t__flatten(const float *x, int32_t c, int64_t n, int64_t hw, float *y)
{
    for (int32_t k = 0; k < c; k++)
        for (int64_t s = 0; s < n; s++)
            for (int64_t p = 0; p < hw; p++)
                y[(k * hw + p) * n + s] = x[(k * n + s) * hw + p];
}

void
ec2t__residual_add(float *out, const float *a, const float *b, int32_t c0, int32_t c1, int32_t c,
                   int32_t bc, int64_t n, int32_t h, int32_t w, int32_t bh, int32_t bw,
                   int32_t stride, int relu)
{
    int64_t hw = (int64_t)h * w, first = (int64_t)c0 * n * hw, total = (int64_t)(c1 - c0) * n * hw;
    int32_t front = (c - bc) / 2;
    out += first;
    a += first;
    if (out != a)
        memcpy(out, a, (size_t)total * sizeof(float));
    if (bc == c && stride == 1) {
        b += first;
        for (int64_t i = 0; i < total; i++)
            out[i] += b[i];
    } else {
        for (int32_t k = c0; k < c1; k++) {
            if (k < front || k >= front + bc)
                continue; /* the shortcut's zero channels */
            for (int64_t s = 0; s < n; s++) {
                float *dst = out + ((k - c0) * n + s) * hw;
                const float *src = b + ((k - front) * n + s) * (int64_t)bh * bw;
                for (int32_t y = 0; y < h; y++)
                    for (int32_t x = 0; x < w; x++)
                        dst[y * w + x] += src[(int64_t)y * stride * bw + (int64_t)x * stride];
            }
        }
    }
    if (relu)
        for (int64_t i = 0; i < total; i++)
            out[i] = out[i] > 0.0f ? out[i] : 0.0f;
}
