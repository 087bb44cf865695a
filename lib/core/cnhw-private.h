/* SPDX-License-Identifier: MIT */
/* Forward kernels shared by the training layers and the inference engine,
 * on CNHW activations: for each channel, the planes of the batch's samples
 * follow each other. */
#ifndef EC2T_CNHW_PRIVATE_H
#define EC2T_CNHW_PRIVATE_H

#include <stdint.h>

/* The geometry of a convolution or pooling window sweep. */
typedef struct ec2t__window {
    int32_t h, w;        /* input plane */
    int32_t oh, ow;      /* output plane */
    int32_t kh, kw, stride, pad;
} ec2t__window;

/* Lower samples [n0, n0 + cn) of channels [c0, c0 + cg) of x (n samples in
 * all) into col: row (c*kh + i)*kw + j, column (s*oh + oy)*ow + ox holds
 * x[c0 + c][n0 + s][oy*stride - pad + i][ox*stride - pad + j] (0 outside). */
void ec2t__im2col(const ec2t__window *g, const float *x, int64_t n, int32_t c0, int32_t cg,
                  int64_t n0, int64_t cn, float *col);
/* The adjoint: dx[...] += col[...]. */
void ec2t__col2im(const ec2t__window *g, const float *col, int64_t n, int32_t c0, int32_t cg,
                  int64_t n0, int64_t cn, float *dx);

/* One column variant of plane x (g->h x g->w) for the inference engine:
 * row r, column ox of dst holds x[stride*r + py][stride*ox - pad + j], 0
 * outside the plane, for rows r in [r0, r0 + nrows) (r0 may be negative:
 * padding rows) and ox in [0, ow). A convolution then reads tap (i, j) of
 * output (oy, ox) at row oy + floor((i - pad) / stride) of the variant of
 * column j and row phase (i - pad) mod stride: im2col by kernel column
 * only, so 1/kh of its copies, each read by kh taps. */
void ec2t__lower_columns(const ec2t__window *g, const float *x, int32_t j, int32_t py, int32_t r0,
                         int32_t nrows, float *dst);

/* One plane: the maximum of each window (padding never wins); arg, if not
 * NULL, receives the index in the input plane of each maximum. */
void ec2t__maxpool_plane(const ec2t__window *g, const float *x, float *y, int32_t *arg);
/* The same by scanning every window, whatever its geometry: what the 2 x 2
 * fast path of ec2t__maxpool_plane is tested against. */
void ec2t__maxpool_scan(const ec2t__window *g, const float *x, float *y, int32_t *arg);
/* One plane: the mean of each window, padding counting as zeros. */
void ec2t__avgpool_plane(const ec2t__window *g, const float *x, float *y);
/* y[p] = mean of plane p (planes planes of `plane` floats each). */
void ec2t__mean_planes(const float *x, int64_t planes, int64_t plane, float *y);
/* (C, N, HW) to (C*HW, N). */
void ec2t__flatten(const float *x, int32_t c, int64_t n, int64_t hw, float *y);

/* Channels [c0, c1) of out = a + shortcut(b), then max(., 0) if relu (all
 * three pointers at channel 0). out may be a. The shortcut is the identity
 * when b has the output's shape; otherwise option A: every stride-th pixel
 * of b, its bc channels placed at (c - bc) / 2. */
void ec2t__residual_add(float *out, const float *a, const float *b, int32_t c0, int32_t c1,
                        int32_t c, int32_t bc, int64_t n, int32_t h, int32_t w, int32_t bh,
                        int32_t bw, int32_t stride, int relu);

/* The window [*a, *b) of output o inside an input of extent `in`. */
void ec2t__window_range(int32_t o, int32_t stride, int32_t pad, int32_t k, int32_t in, int32_t *a,
                        int32_t *b);

#endif /* EC2T_CNHW_PRIVATE_H */
