/* SPDX-License-Identifier: MIT */
/* Internals of ec2t_net and ec2t_layer.
 *
 * Activations live in "CNHW" order inside the network: for every channel,
 * the whole batch of planes is contiguous. A convolution over a batch is then
 * one matrix product whose output columns are (sample, pixel) pairs, and
 * batchnorm statistics run over contiguous memory. Flat layers are (F, N).
 * The API converts from and to NCHW at the input and the output only.
 *
 * Buffers are planned once per batch capacity (ec2t__net_plan): every layer
 * gets an output buffer, unless it runs in place on its input; gradient
 * buffers come from a small pool of slots reused by liveness during the
 * backward pass. Forward and backward passes never allocate. */
#ifndef EC2T_NET_PRIVATE_H
#define EC2T_NET_PRIVATE_H

#include <ec2t/net.h>

#include "blas-private.h"
#include "context-private.h"
#include "rng-private.h"
#include "settings-private.h"
#include "tensor-private.h"

#define EC2T__NAME_MAX 64
#define EC2T__MAX_STAGES 8

/* How a builder made a network, so that the scaler can rebuild it wider and
 * deeper. Families (also their names in model files): */
enum { EC2T__ARCH_NONE = 0, EC2T__ARCH_LENET5 = 1, EC2T__ARCH_RESNET = 2, EC2T__ARCH_EC2T_BLOCKS = 3 };

typedef struct ec2t__arch {
    int32_t family;
    int32_t n_stages;
    int32_t blocks[EC2T__MAX_STAGES];
    int32_t widths[EC2T__MAX_STAGES];
    float dropout;
    int32_t classes;
} ec2t__arch;
#define EC2T__MAX_PARAMS_PER_LAYER 4

struct ec2t_layer {
    ec2t_net *net;
    int32_t id;
    ec2t_layer_kind kind;
    char name[EC2T__NAME_MAX];
    int32_t n_inputs;
    int32_t inputs[2];
    int32_t c, h, w; /* one output sample */
    uint32_t flags;  /* EC2T_ADD_* given at creation */

    /* configuration (the fields a kind does not use stay 0) */
    int32_t kh, kw, stride, pad, groups;
    float dropout_p;
    double bn_eps, bn_momentum;
    int32_t compression; /* ec2t_compression */

    /* tensors by ec2t_param_role; grads only for WEIGHT and BIAS */
    ec2t_tensor *param[EC2T__MAX_PARAMS_PER_LAYER];
    ec2t_tensor *grad[2];

    /* planned buffers, CNHW, for net->batch_cap samples */
    float *out;           /* this layer's output (may alias its input's) */
    int out_owned;        /* out was allocated for this layer */
    int32_t dout_slot;    /* gradient slot used in backward, -1 if none */
    float *dout;          /* set during backward: net->slots[dout_slot] */
    void *save;           /* kind-specific state kept from forward to backward */
    int32_t n_consumers;  /* layers that read this output */
    int in_place;         /* output written over input 0's buffer */
    int grad_live;        /* backward: dout acquired and zeroed */
    /* A ReLU in place on a batchnorm or residual sum that only it reads is
     * fused into it: that layer rectifies its own output and masks its own
     * gradient, and the ReLU does nothing (both share one gradient slot). */
    int fused_relu;       /* batchnorm, residual: applies the ReLU that follows */
    int fused_into;       /* ReLU: done by its input layer */
    ec2t_net_mode fwd_mode; /* mode of the last forward (batchnorm, dropout) */
};

/* One named tensor of the network, in layer order. */
typedef struct ec2t__param_entry {
    int32_t layer;
    ec2t_param_role role;
    char name[EC2T__NAME_MAX + 16];
} ec2t__param_entry;

struct ec2t_net {
    ec2t_context *ctx;
    ec2t_layer **layers;
    int32_t n_layers, cap_layers;
    ec2t__param_entry *params;
    int32_t n_params, cap_params;
    int32_t loss_layer; /* -1 if none */
    ec2t__arch arch;    /* set by the builders; family 0 for hand-built networks */
    ec2t_net_mode mode;
    ec2t__rng rng;      /* dropout draws */

    /* the plan */
    int planned;
    int64_t batch_cap;  /* samples the buffers hold */
    int plan_threads;   /* EC2T_CTX_THREADS the scratch was sized for */
    int64_t batch;      /* samples of the current pass */
    float **slots;      /* gradient buffers, slot_size floats each */
    int32_t n_slots;
    size_t slot_size;
    float *scratch;     /* shared scratch of the kernels (convolution lowering, partial sums) */
    size_t scratch_size;
    float *io;          /* NCHW <-> CNHW staging */
    size_t io_size;

    /* also compute the gradient of the network input (layer 0's dout, CNHW);
     * nobody needs it in training, tests and attribution do */
    int input_grad;

    /* the last loss pass */
    int32_t *labels;    /* batch_cap labels */
    int loss_ready;     /* a forward_loss ran since the last change */
    double loss;
    int64_t correct;

    /* data-parallel training (train/collective.c), set only inside a step:
     * this pass is the rank's slice of a global batch of global_batch
     * samples, the loss gradient is divided by that; sync_sum (when not
     * NULL) all-reduces train-mode batch-norm sums, and sync_failed records
     * that it failed; grad_ready is told each layer whose backward is done */
    int64_t global_batch;
    int (*sync_sum)(void *user, float *buf, int64_t n);
    void *sync_user;
    int sync_failed;
    void (*grad_ready)(void *user, int32_t layer);
    void *grad_ready_user;
};

/* Distillation, an input of the loss that the trainer gives its backward
 * pass (train/distill.c): the teachers' softened outputs q, (classes, batch)
 * like the logits, at temperature T, with the weight alpha of their term.
 * The loss layer holds none of it: without this input it is the plain loss. */
typedef struct ec2t__distill {
    const float *soft;
    float temperature, alpha;
} ec2t__distill;

/* ec2t_net_backward() with the distillation input of the loss (NULL: none). */
ec2t_status ec2t__net_backward(ec2t_net *net, const ec2t__distill *distill);
/* The loss layer's backward pass with that input (layers/loss.c). */
void ec2t__loss_backward(ec2t_net *net, ec2t_layer *l, const ec2t__distill *distill);

/* softmax(z / t) of k values z[0], z[zs], ..., z[(k-1) zs] into p[0], p[ps],
 * ... (layers/loss.c; the distillation's targets and its tempered output). */
void ec2t__softmax_tempered(const float *z, int64_t zs, int32_t k, double t, float *p, int64_t ps);

/* What every layer kind provides. forward/backward cannot fail: everything
 * they touch was sized by the plan. backward reads l->dout and adds into the
 * dout of each input (ec2t__input_grad returns NULL for the network input,
 * whose gradient nobody needs) and sets the parameter gradients. */
typedef struct ec2t__layer_ops {
    const char *name;          /* "conv2d", also the kind's name in model files */
    int needs_own_output;      /* backward reads l->out */
    int can_run_in_place;      /* forward may overwrite input 0's buffer */
    /* bytes of l->save for batch samples (0: none) */
    size_t (*save_bytes)(const ec2t_layer *l, int64_t batch);
    /* floats of shared scratch for batch samples and the context's threads (0: none) */
    size_t (*scratch_floats)(const ec2t_layer *l, int64_t batch);
    void (*forward)(ec2t_net *net, ec2t_layer *l);
    void (*backward)(ec2t_net *net, ec2t_layer *l);
} ec2t__layer_ops;

const ec2t__layer_ops *ec2t__layer_ops_of(ec2t_layer_kind kind);

/* Batch norm with statistics summed over every rank's slice (net->sync_sum;
 * layers/batchnorm-sync.c), and the per-channel output transform both
 * versions share (layers/batchnorm.c). */
void ec2t__bn_sync_forward(ec2t_net *net, ec2t_layer *l);
void ec2t__bn_sync_backward(ec2t_net *net, ec2t_layer *l);
void ec2t__bn_apply(const ec2t_layer *l, int64_t c, const float *xc, int64_t m, float mu, float is);

extern const ec2t__layer_ops ec2t__ops_input;
extern const ec2t__layer_ops ec2t__ops_dense;
extern const ec2t__layer_ops ec2t__ops_conv2d;
extern const ec2t__layer_ops ec2t__ops_batchnorm;
extern const ec2t__layer_ops ec2t__ops_relu;
extern const ec2t__layer_ops ec2t__ops_maxpool;
extern const ec2t__layer_ops ec2t__ops_avgpool;
extern const ec2t__layer_ops ec2t__ops_global_avgpool;
extern const ec2t__layer_ops ec2t__ops_flatten;
extern const ec2t__layer_ops ec2t__ops_dropout;
extern const ec2t__layer_ops ec2t__ops_residual;
extern const ec2t__layer_ops ec2t__ops_softmax_xent;

/* Elements of one output sample. */
static inline int64_t
ec2t__layer_sample_size(const ec2t_layer *l)
{
    return (int64_t)l->c * l->h * l->w;
}

static inline ec2t_layer *
ec2t__input(const ec2t_net *net, const ec2t_layer *l, int i)
{
    return net->layers[l->inputs[i]];
}

/* The gradient buffer of input i, or NULL when no gradient is needed (the
 * network input, unless net->input_grad). */
static inline float *
ec2t__input_grad(const ec2t_net *net, const ec2t_layer *l, int i)
{
    const ec2t_layer *in = net->layers[l->inputs[i]];
    return in->id == 0 && !net->input_grad ? NULL : in->dout;
}

/* Batch-size dependent buffers: (re)plan for at least batch samples. */
ec2t_status ec2t__net_plan(ec2t_net *net, int64_t batch);
void ec2t__net_unplan(ec2t_net *net);
/* Forget the plan after a structural change. */
void ec2t__net_invalidate(ec2t_net *net);

/* Forward over the planned buffers from a NCHW batch. */
ec2t_status ec2t__net_run_forward(ec2t_net *net, const float *input, int64_t batch);

/* Shared creation path of the ec2t_net_add_* functions. */
ec2t_status ec2t__net_add_layer(ec2t_net *net, ec2t_layer_kind kind, int32_t n_inputs,
                                ec2t_layer *const *inputs, ec2t_layer **out);
/* Create the tensors of a layer: role, rank, dims; grads for trained roles. */
ec2t_status ec2t__layer_add_param(ec2t_layer *l, ec2t_param_role role, int32_t rank,
                                  const int64_t *dims);
void ec2t__layer_init_params(ec2t_layer *l, uint64_t seed);
/* Keep parameter names in step with a renamed layer. */
void ec2t__net_rename_params(ec2t_net *net, int32_t layer);
int ec2t__net_name_taken(const ec2t_net *net, const char *name, const ec2t_layer *except);
/* The same layers, names, settings and tensor shapes. */
int ec2t__net_same_architecture(const ec2t_net *a, const ec2t_net *b);
/* Remove the last layer (used to undo a failed add). */
void ec2t__net_drop_last(ec2t_net *net);

/* The layers' settings (layers/layer.c). */
extern const ec2t__settings ec2t__layer_settings;

#endif /* EC2T_NET_PRIVATE_H */
