/* SPDX-License-Identifier: MIT */
/* Internals of ec2t_engine: a straight-line program of operations over
 * "values" (activations of a per-sample shape; at run time one sample at a
 * time, plane by plane, see ec2t__plane_stride), each value living in one of
 * a few workspace slots. */
#ifndef EC2T_ENGINE_PRIVATE_H
#define EC2T_ENGINE_PRIVATE_H

#include <ec2t/engine.h>

#include "context-private.h"
#include "settings-private.h"
#include "cnhw-private.h"
#include "thread-pool-private.h"
#include "tkernel-private.h"

/* Operation kinds; also their names in .ec2t files (engine-io.c). Append only. */
typedef enum ec2t__opkind {
    EC2T__OP_CONV = 1,    /* convolution with a per-channel epilogue */
    EC2T__OP_DENSE = 2,   /* fully connected, the same epilogue */
    EC2T__OP_AFFINE = 3,  /* y = x * scale[c] + bias[c]: a batchnorm that cannot be folded */
    EC2T__OP_RELU = 4,
    EC2T__OP_MAXPOOL = 5,
    EC2T__OP_AVGPOOL = 6,
    EC2T__OP_GAP = 7,     /* global average pooling */
    EC2T__OP_FLATTEN = 8, /* (C, N, HW) to (C*HW, N) */
    EC2T__OP_ADD = 9      /* residual sum, option-A shortcut when shapes differ */
} ec2t__opkind;

#define EC2T__OP_LAST EC2T__OP_ADD

typedef struct ec2t__value {
    int32_t c, h, w; /* one sample */
    int32_t slot;    /* workspace slot at run time */
} ec2t__value;

/* One operation. Conv/dense: out[m] = epilogue(sum_k W[m][k] x[k]) with
 * W either float (weight) or ternary (tm, levels wp/-wn); the epilogue is
 * scale[m] * sum + bias[m], then ReLU if relu. A ternary op runs the kernel
 * with a_p = scale * wp and a_n = scale * wn. */
typedef struct ec2t__eop {
    ec2t__opkind kind;
    int32_t in[2], n_in, out;
    ec2t__window win;  /* conv and pools; for ADD: h, w of the shortcut input */
    int32_t groups;    /* conv */
    int32_t stride;    /* ADD: shortcut subsampling */
    int32_t relu;
    int32_t m, k;      /* conv/dense: output channels, inputs per output (per group) */
    int32_t ternary;
    float wp, wn;      /* ternary levels before scaling */
    float *weight;     /* float path: m x k row-major, the scale folded in (NULL if ternary) */
    ec2t__tmat tm;     /* ternary path */
    float *scale;      /* ternary conv/dense, affine: per channel (NULL: 1) */
    float *bias;       /* per channel (NULL: 0) */
    float *ap, *an;    /* ternary: scale * wp, scale * wn */
    float *dense;      /* ternary op run on the dense kernels: the expanded weights, or NULL */
    /* run plan (engine-run.c, at finish; not saved) */
    int32_t *doff;        /* conv: where each weight column reads in its column variants */
    int32_t *poff, *noff; /* ternary conv: tm's lists as those offsets */
    ec2t__tshift sh;      /* the ternary kernel's view of poff, noff */
    int64_t vps;          /* conv: the stride of its column variant planes */
    int32_t vrows, vrow0; /* conv: their rows, and the phase row of the first (< 0: padding) */
    int32_t fuse;         /* conv: the next operation, a residual add, runs in its epilogue */
    int32_t prefer_dense; /* ternary: the dense kernels are faster for this shape */
    int64_t col_floats;   /* conv: its column variants' scratch */
    struct ec2t__q8 *q8;  /* ternary conv: its int8 form once calibrated (int8.c), or NULL */
} ec2t__eop;

typedef struct ec2t__meta {
    char *key, *value;
} ec2t__meta;

struct ec2t_engine {
    ec2t_context *ctx;
    ec2t__value *values;
    int32_t n_values;
    ec2t__eop *ops;
    int32_t n_ops;
    int32_t output;          /* the value the run returns */
    int32_t n_slots;
    int64_t slot_floats;     /* per sample (ec2t__plane_stride), a multiple of 16 */
    int64_t col_floats;      /* conv scratch of one sample, a multiple of 16 */
    int64_t isa, encoding, dense_fallback, float_bits;
    int64_t dead_channels;
    int64_t precision;       /* EC2T_ENGINE_PRECISION (int8.c) */
    int64_t split_min_work;  /* a team splits steps of at least this work (run.c; tests lower it) */
    int64_t team_min_work;   /* a team forms only when some step reaches this work (run.c; tests too) */
    ec2t__meta *meta;
    int32_t n_meta;
    int64_t load_budget;     /* while loading: bytes the coded layers may still ask for */
    int load_budget_caller;  /* 1: that budget is the caller's EC2T_CTX_LOAD_LIMIT */
};

/* How one sample of a value lies in a slot at run time: plane c at c * ps,
 * rows of w floats; ps is h * w rounded up to an odd number of cache lines
 * (1 for a single pixel: a plain vector). */
int64_t ec2t__plane_stride(const ec2t__value *v);
/* The run plan of each operation (a convolution's column variants and
 * offset lists, fused residual adds, the dense fallback choice) and
 * e->col_floats; before the slots are planned. EC2T_OK, EC2T_E_NOMEM or
 * EC2T_E_UNSUPPORTED (a convolution too large for int32_t offsets). */
ec2t_status ec2t__engine_plan_run(ec2t_engine *e);

/* A lane running samples through the program (run.c): alone, or as one
 * worker of a team that splits each step of an operation (a convolution's
 * output rows, another operation's channels) between its workers. */
typedef struct ec2t__run {
    const ec2t_engine *e;
    ec2t__isa isa;
    float *slots;       /* the lane's values */
    float *col;         /* the convolutions' scratch, this worker's own */
    ec2t__team *team;   /* NULL: alone */
    int worker, workers;
    ec2t__team_cursor cursor;
} ec2t__run;

/* The part [r0, r1) of a step's rows. */
typedef void (*ec2t__rows_fn)(const ec2t__run *r, void *arg, int64_t r0, int64_t r1);
/* One step of the operation a lane runs: fn over rows [0, rows) (output
 * channels, say), in one call, or split between the lane's team when work
 * (additions, or floats moved) reaches e->split_min_work. Rows weigh as in
 * ec2t__split_rows (cum1, cum2: CSR row pointers, or NULL; parts in
 * multiples of align rows). Returns when every row is done, by whichever
 * worker; so fn must compute each row the same way whatever rows a call
 * covers, and may only write those rows' outputs (a step that cannot be
 * split passes rows = 1). Every worker of the team calls it for every step,
 * with the same arguments. Allocates nothing. */
void ec2t__run_rows(ec2t__run *r, int64_t work, int64_t rows, const int32_t *cum1,
                    const int32_t *cum2, int64_t align, ec2t__rows_fn fn, void *arg);
/* The lane's copy of value v (plane c at c * ec2t__plane_stride). */
float *ec2t__run_value(const ec2t__run *r, int32_t v);

/* Plan the slots, pack ternary weights, derive a_p/a_n, choose per-op paths:
 * everything that follows the list of operations (compile and load). */
ec2t_status ec2t__engine_finish(ec2t_engine *e);
/* Free an operation's arrays. */
void ec2t__eop_free(ec2t_context *ctx, ec2t__eop *op);
/* The output shape of an operation from its input shapes and configuration;
 * EC2T_E_INVAL (with a message) if they do not fit together. */
ec2t_status ec2t__eop_infer(ec2t_engine *e, const ec2t__eop *op, ec2t__value *out);
/* Output positions of a window sweep of an input extent (0: invalid). */
int32_t ec2t__eop_swept(int32_t in, int32_t k, int32_t stride, int32_t pad);
/* The name of an operation kind in files and messages, or NULL. */
const char *ec2t__opkind_name(int kind);
/* The kernel set that runs: the EC2T_ENGINE_ISA setting if the CPU has it,
 * else the best it has. */
ec2t__isa ec2t__engine_isa(const ec2t_engine *e);
/* Operation counts of one sample (engine-run.c). */
void ec2t__engine_count_ops(const ec2t_engine *e, int64_t *adds, int64_t *mults);

/* The engine's settings (engine.c). */
extern const ec2t__settings ec2t__engine_settings;

#endif /* EC2T_ENGINE_PRIVATE_H */
