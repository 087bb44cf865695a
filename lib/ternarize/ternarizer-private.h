/* SPDX-License-Identifier: MIT */
/* Internals of ec2t_ternarizer. */
#ifndef EC2T_TERNARIZER_PRIVATE_H
#define EC2T_TERNARIZER_PRIVATE_H

/* the library implements the experimental API too */
#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/experimental.h>

#include "tern-private.h"
#include "trainer-private.h"

/* One compressed layer. */
typedef struct ec2t__tlayer {
    int32_t layer;       /* id in the network */
    int prune;           /* ECP: non-zero weights keep their shadow value */
    int64_t n;
    float *shadow;       /* full-precision background weights */
    float *shadow_grad;
    float cent[2];       /* w_p, w_n (magnitudes); trained as one 2-element tensor */
    float cent_grad[2];
    int8_t *assign;      /* -1, 0, +1 */
    double delta;        /* layer-size factor of lambda */
    ec2t__tern_step last;
} ec2t__tlayer;

/* The best epoch of a phase: the network's tensors and the ternarizer's
 * per-layer state (train.c). */
typedef struct ec2t__tz_snapshot {
    float *net;     /* all named tensors of the network, concatenated */
    float *tern;    /* shadow weights and centroids of every layer */
    int8_t *assign;
    double gamma;
    int taken;
} ec2t__tz_snapshot;

/* Where ec2t_ternarizer_train is; saved in trainer checkpoints, so that a
 * run can go on from its last epoch (checkpoint.c). */
typedef struct ec2t__tz_schedule {
    int64_t active;           /* inside ec2t_ternarizer_train */
    int64_t epochs_a, epochs_b;
    int64_t phase;            /* 1 (A) or 2 (B) */
    int64_t done;             /* epochs finished in this phase */
    double best_acc;          /* of this phase; -1 before its first epoch */
    ec2t__tz_snapshot best;
    int expect;               /* loading for a run of epochs_a + epochs_b */
} ec2t__tz_schedule;

struct ec2t_ternarizer {
    ec2t_context *ctx;
    ec2t_net *net;
    ec2t_trainer *trainer; /* attached trainer, or NULL */
    ec2t__tlayer *layers;
    int32_t n_layers;
    int trained;           /* a training step has run: no re-initialisation */

    /* settings */
    double gamma, target_sparsity, init_scale, sustain, floor, lr_shadow, lr_cent;
    int64_t target_bytes, init, compat_sign, frozen;

    double cur_gamma;      /* gamma in use (moves in the target modes) */
    int64_t steer_steps;   /* steps seen by the target modes */
    int64_t ramp_steps;    /* the target ramps in over this many steps (0: at once) */
    double ramp_start;     /* sparsity or estimated bytes where the ramp starts */
    int32_t g_shadow, g_cent;
    ec2t_tern_progress_fn progress;
    void *progress_user;
    ec2t__tz_schedule sched;
};

/* Recompute every layer's assignment (unless frozen) and ternary weights;
 * prepared: every layer's `last` already holds ec2t__tern_prepare of its
 * current shadow weights and centroids (ec2t__tz_steer computed it). */
void ec2t__tz_requantize(ec2t_ternarizer *tz, int prepared);
/* Move gamma towards the target sparsity or size after a step (no-op
 * otherwise); returns 1 when it left every layer's `last` prepared. */
int ec2t__tz_steer(ec2t_ternarizer *tz);
/* Estimated bytes of a deployed, entropy-coded network: a fixed part (the
 * full-precision tensors and two values per layer) plus, per compressed
 * layer, its zero-order entropy (and the kept values of a pruned layer). */
double ec2t__tz_estimated_bytes(const ec2t_ternarizer *tz);
double ec2t__tz_fixed_bytes(const ec2t_ternarizer *tz);
double ec2t__tz_layer_bytes(const ec2t__tlayer *t, const int64_t count[3]);
/* 1 if a target is set and the current assignment falls short of it (after
 * the steering: the target is out of gamma's reach). */
int ec2t__tz_target_missed(const ec2t_ternarizer *tz);
/* EC2T_E_INVAL with a message if both targets are set. */
ec2t_status ec2t__tz_check_targets(const ec2t_ternarizer *tz, const char *fn);
/* Overall sparsity of the compressed layers. */
double ec2t__tz_sparsity(const ec2t_ternarizer *tz);
/* Apply EC2T_TERN_FROZEN to the attached trainer's groups. */
void ec2t__tz_apply_frozen(ec2t_ternarizer *tz);

/* Floats of all named tensors of a network; floats (shadows and centroids)
 * and assignments of every compressed layer. */
int64_t ec2t__tz_net_floats(const ec2t_net *net);
int64_t ec2t__tz_tern_floats(const ec2t_ternarizer *tz, int64_t *assigns);
ec2t_status ec2t__tz_snapshot_alloc(ec2t_ternarizer *tz, ec2t__tz_snapshot *s);
void ec2t__tz_snapshot_free(ec2t_ternarizer *tz, ec2t__tz_snapshot *s);
/* Each layer's value counts from its assignment. */
void ec2t__tz_recount(ec2t_ternarizer *tz);
/* The checkpoint hooks (checkpoint.c). */
ec2t_status ec2t__tz_save_state(void *user, ec2t__cwriter *w);
ec2t_status ec2t__tz_load_state(void *user, const ec2t__creader *r, int commit);

/* The ternarizer's settings (ternarizer.c). */
extern const ec2t__settings ec2t__ternarizer_settings;

#endif /* EC2T_TERNARIZER_PRIVATE_H */
