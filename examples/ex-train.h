/* SPDX-License-Identifier: MIT */
/* Training recipes shared by ec2t-train, ec2t-scale, ec2t-ternarize and
 * ec2t-demo: the float SGD recipe with its epoch loop, and the EC2T setup
 * of the reference code. Public API only. */
#ifndef EC2T_EX_TRAIN_H
#define EC2T_EX_TRAIN_H

#include "ex-common.h"

/* The float recipe: SGD with Nesterov momentum 0.9 (or Adam), a schedule
 * over the given epochs, batch size, seed and augmentation. */
typedef struct ex_float_recipe {
    int adam;           /* 0 = SGD (Nesterov 0.9), 1 = Adam */
    double lr, wd;      /* learning rate, weight decay */
    int64_t schedule;   /* an ec2t_schedule */
    double warmup;      /* warm-up fraction, read with EC2T_SCHED_ONE_CYCLE only */
    long long epochs, batch, seed;
    int augment;
} ex_float_recipe;

/* Initialise the weights and biases of a network without batchnorm as
 * PyTorch's Conv2d and Linear do by default: uniform in +-1/sqrt(fan_in).
 * Kaiming-normal weights (ec2t_net_init) start LeNet-5 with large logits and
 * cost it 0.7 points after 12 epochs (issue 24). */
ec2t_status ex_init_like_torch(ec2t_net *net, uint64_t seed);

/* Configure a trainer (made with the recipe's optimizer) for the recipe. */
ec2t_status ex_float_configure(ec2t_trainer *tr, const ex_float_recipe *r);

/* Called after every epoch with the validation accuracy in [0, 1]; return
 * non-zero to stop training early. */
typedef int (*ex_epoch_fn)(void *user, long long epoch, double val_acc);

typedef struct ex_train_result {
    double train_loss, train_acc, val_loss, val_acc, seconds;
    long long first_epoch; /* epochs done before this run: past 0 after a loaded checkpoint */
    long long epochs_run, images;
} ex_train_result;

/* Train from the trainer's epoch (past 0 after a loaded checkpoint) up to
 * epochs: a progress bar per epoch, a line per epoch naming the held-out set
 * val as val_name ("test", "val"; NULL prints none), a checkpoint after each
 * if asked, then fn. */
ec2t_status ex_train_epochs(ec2t_trainer *tr, ec2t_net *net, ec2t_dataset *train,
                            ec2t_dataset *val, long long epochs, const char *val_name,
                            const char *checkpoint, ex_epoch_fn fn, void *user,
                            ex_train_result *res);

/* The most teachers an EC2T run distils from in these programs. */
#define EX_MAX_TEACHERS 4

/* EC2T as in the reference code: Adam (lr, weight decay 5e-6) for the
 * full-precision parameters, and the ternarizer's own rates. */
typedef struct ex_tern_recipe {
    double gamma, target_sparsity, lr, lr_shadow, lr_centroids, init_scale;
    long long target_bytes, batch, seed;
    int kmeans, compat_sign, augment;
    /* distil from these (borrowed; the mean of their softened outputs when
       more than one); the list ends at the first NULL */
    ec2t_net *teachers[EX_MAX_TEACHERS];
    double distill, temperature; /* the teachers' weight alpha and temperature T */
    int teacher_mirror;        /* the teachers also see each batch mirrored */
    long long anneal_epochs;   /* > 0: every rate follows one cosine over these
                                  epochs (phases A and B together); 0: constant */
} ex_tern_recipe;

/* The reference's defaults (gamma 0.15, no target, rates 1e-4/1e-4/1e-5,
 * constant, init scale 0.3, batch 128, seed 1, augmentation chosen by the
 * caller; no teacher, and T = 4 for one). */
void ex_tern_defaults(ex_tern_recipe *r);

/* The names of --schedule for EC2T's rates: "constant" (0) or "cosine" (1). */
extern const char *const ex_tern_schedules[2];

/* Parse a --schedule value into *cosine; non-zero if it is neither name. */
int ex_parse_tern_schedule(const char *s, int *cosine);

/* Create the ternarizer and its Adam trainer for net and attach them. */
ec2t_status ex_tern_setup(ec2t_net *net, const ex_tern_recipe *r, ec2t_ternarizer **tz,
                          ec2t_trainer **tr);

/* Run phases A and B with progress bars and a line per epoch (and the
 * per-layer table unless quiet); with a checkpoint path, saved after every
 * epoch and continued from it if it exists. */
ec2t_status ex_tern_run(ec2t_ternarizer *tz, ec2t_trainer *tr, ec2t_net *net, ec2t_dataset *train,
                        ec2t_dataset *val, long long epochs_a, long long epochs_b, int quiet,
                        const char *checkpoint);

/* The per-layer table of a ternarizer. */
void ex_tern_print_layers(const ec2t_ternarizer *tz, ec2t_net *net);

#endif /* EC2T_EX_TRAIN_H */
