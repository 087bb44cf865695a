/* SPDX-License-Identifier: MIT */
/* Helpers shared by the ec2t-* example programs: data sets by name, model
 * names, progress bars and messages. Public API only. */
#ifndef EC2T_EX_COMMON_H
#define EC2T_EX_COMMON_H

#include <stdio.h>

#include <ec2t/ec2t.h>

#define EX_DEFAULT_FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* Print "PROGRAM: message" to stderr and return the exit code 1 (or 2 for usage). */
int ex_fail(const char *prog, const char *fmt, ...) EC2T_PRINTF(2, 3);
int ex_usage_error(const char *prog, const char *fmt, ...) EC2T_PRINTF(2, 3);
/* The same for a failed call: its status and the context's message. */
int ex_fail_status(const char *prog, ec2t_context *ctx, const char *what, ec2t_status st);

/* Load "fashion-mnist[:DIR]", "mnist:DIR" or "cifar10:DIR": training and test
 * sets, the test set normalised with the training set's statistics. With
 * augment, training batches get random crops (and flips for CIFAR and
 * Fashion-MNIST). On failure returns 1 with a message in err. */
int ex_load_data(ec2t_context *ctx, const char *spec, int augment, ec2t_dataset **train,
                 ec2t_dataset **test, char *err, size_t err_cap);

/* Cut a loaded training set: its last val images become the validation set
 * (*val_set is NULL when val is 0, and val_set may be NULL then), and the
 * first limit images of the rest (all of them when limit is 0) the training
 * set, which replaces *train. The test set stays unseen until the final
 * figures. On failure returns 1 with a message in err. */
int ex_split_train(ec2t_context *ctx, ec2t_dataset **train, long long val, long long limit,
                   ec2t_dataset **val_set, char *err, size_t err_cap);

/* Augmentation by default, as ec2t-train does it: on for networks with
 * batchnorm (the ResNets), off for those without (LeNet-5). */
int ex_default_augment(ec2t_net *net);

/* Parse a whole number or a real from an option value; 0 on success. */
int ex_parse_int(const char *s, long long lo, long long hi, long long *out);
int ex_parse_real(const char *s, double lo, double hi, double *out);
/* Parse an option value that must be one of n names into its index; 0 on success. */
int ex_parse_name(const char *s, const char *const *names, int n, int *out);

/* A one-line progress bar, drawn only when stdout is a terminal. */
typedef struct ex_progress {
    int active;
    double start;
    char label[48];
} ex_progress;

void ex_progress_begin(ex_progress *p, const char *label);
void ex_progress_update(ex_progress *p, long long done, long long total, const char *extra);
void ex_progress_end(ex_progress *p);
double ex_now(void);

/* Default log handler for examples: messages to stderr with a prefix. */
void ex_log_stderr(void *user, ec2t_log_level level, const char *fmt, va_list ap) EC2T_PRINTF(3, 0);

/* Size of a file in bytes, or -1. */
long long ex_file_size(const char *path);

#ifdef EX_MPI
/* The -mpi programs: their main() is compiled under this name and called by
 * examples/mpi-main.c between MPI_Init and MPI_Finalize. */
int ex_program_main(int argc, char **argv);
#endif

#endif /* EC2T_EX_COMMON_H */
