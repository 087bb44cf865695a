/* SPDX-License-Identifier: MIT */
/* Internals of ec2t_trainer: parameter groups, per-tensor optimizer state,
 * and the hooks through which the ternarizer joins a training step. */
#ifndef EC2T_TRAINER_PRIVATE_H
#define EC2T_TRAINER_PRIVATE_H

/* the library implements the experimental API too */
#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/experimental.h>

#include "container-private.h"
#include "net-private.h"

#define EC2T__MAX_GROUPS 16
/* where one-cycle warm-up starts, as a fraction of the base rate (PyTorch's
 * OneCycleLR div_factor 25) */
#define EC2T__ONE_CYCLE_START (1.0 / 25.0)
/* the default warm-up of the one-cycle schedule (EC2T_TRAIN_WARMUP) */
#define EC2T__DEFAULT_WARMUP 0.15

typedef struct ec2t__group {
    ec2t_optimizer opt;
    double lr, momentum, nesterov, weight_decay, beta1, beta2, eps;
} ec2t__group;

/* One trained tensor: a network parameter, or one a hook added (shadow
 * weights, centroids). */
typedef struct ec2t__tparam {
    char name[96];
    float *value;
    float *grad;
    int64_t n;
    int32_t group;   /* -1: frozen */
    float *m;        /* SGD momentum buffer, or Adam's first moment */
    float *v;        /* Adam's second moment */
    int64_t steps;   /* updates this tensor has had since its state was reset */
    int owned_by_net;
} ec2t__tparam;

/* Called inside ec2t_trainer_step(): after the backward pass (map gradients
 * onto the tensors that are really trained) and after the update (derive the
 * weights the next forward pass uses); and by checkpoints. */
typedef struct ec2t__trainer_hooks {
    void *user;
    ec2t_status (*after_backward)(void *user, ec2t_trainer *tr);
    ec2t_status (*after_update)(void *user, ec2t_trainer *tr);
    /* checkpoints: add the hook's state to a writer; check it in a reader
     * (commit 0, changing nothing) or take it over (commit 1, after every
     * check of the whole file passed) */
    ec2t_status (*save_state)(void *user, ec2t__cwriter *w);
    ec2t_status (*load_state)(void *user, const ec2t__creader *r, int commit);
} ec2t__trainer_hooks;

struct ec2t_trainer {
    ec2t_context *ctx;
    ec2t_net *net;
    ec2t__group groups[EC2T__MAX_GROUPS];
    int32_t n_groups;
    ec2t__tparam *params;
    int32_t n_params, cap_params;

    /* settings */
    int64_t batch_size;
    int64_t seed;
    int64_t schedule, sched_epochs, step_size;
    double step_gamma, min_lr_factor, warmup;
    int64_t augment;

    /* state */
    int64_t epoch, step, steps_per_epoch, total_steps;
    int in_epoch; /* inside ec2t_trainer_epoch(): one-cycle moves per step */
    double loss_sum, ips;
    int64_t correct, seen;

    ec2t_train_progress_fn progress;
    void *progress_user;
    ec2t__trainer_hooks hooks;

    /* distillation (trainer-distill.c): none, one teacher, or an ensemble */
    ec2t_net *teachers[EC2T_TRAINER_MAX_TEACHERS];
    int32_t n_teachers;
    double temperature, alpha;
    int64_t teacher_mirror;  /* teachers also see the batch mirrored */
    float *mirrored;         /* that batch */
    int64_t mirrored_cap;
    /* a teacher's outputs, their softened form, and the teachers' mean of it */
    float *teacher_out, *soft_one, *soft;
    int64_t soft_cap;

    float *images;      /* staging batch for ec2t_trainer_epoch */
    int32_t *labels;
    int64_t staged_cap;

    struct ec2t__coll *coll; /* data-parallel training (collective.c), or NULL */
};

/* With teachers: run them on the batch and fill *out with the mean of their
 * softened outputs, the temperature and alpha (the loss's distillation
 * input); without, out->soft is NULL. */
ec2t_status ec2t__trainer_soft_targets(ec2t_trainer *tr, const float *images, int64_t batch,
                                       ec2t__distill *out);

/* Add a trained tensor that the network does not own (its storage must
 * outlive the trainer or be removed first). */
ec2t_status ec2t__trainer_add_tensor(ec2t_trainer *tr, const char *name, float *value, float *grad,
                                     int64_t n, int32_t group);
/* Find a trained tensor by name; NULL if absent. */
ec2t__tparam *ec2t__trainer_find(ec2t_trainer *tr, const char *name);
/* Reset a tensor's optimizer state (as a fresh optimizer would have it). */
void ec2t__tparam_reset(ec2t__tparam *p);
/* The learning-rate factor of the schedule at the current epoch. */
double ec2t__trainer_lr_factor(const ec2t_trainer *tr);
/* One optimizer update of every tensor with a group. */
void ec2t__trainer_update(ec2t_trainer *tr);
void ec2t__group_defaults(ec2t__group *g, ec2t_optimizer opt);
/* Whether a group setting (EC2T_TRAIN_LR .. EC2T_TRAIN_EPS) accepts v. */
int ec2t__group_value_ok(ec2t_trainer_param param, double v);

/* The settings of the trainer and of its groups (trainer.c). */
extern const ec2t__settings ec2t__trainer_settings;
extern const ec2t__settings ec2t__group_settings;

#endif /* EC2T_TRAINER_PRIVATE_H */
