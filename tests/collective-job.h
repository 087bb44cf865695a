/* SPDX-License-Identifier: MIT */
/* One rank's (or one process's) training run for the collective tests: the
 * unit suite's fake world of threads (test-collective.c) and the mpirun
 * test (mpi-train.c) run the same jobs. Public API only. */
#ifndef EC2T_COLLECTIVE_JOB_H
#define EC2T_COLLECTIVE_JOB_H

#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/ec2t.h>

enum { NET_LENET, NET_RESNET, NET_EC2T };

#define JOB_SAMPLES 64
#define JOB_BATCH 16

typedef struct job {
    /* in */
    ec2t_context *ctx;               /* the caller's, freed by the caller */
    const ec2t_collective *coll;     /* NULL: one process, no hook */
    int net_kind;
    int epochs;                      /* epochs (phase A's with NET_EC2T, then one of phase B) */
    int64_t batch;                   /* the global batch */
    uint64_t init_seed;
    int stop_at_step;                /* progress callback stops the epoch there (0: never) */
    int distill;                     /* NET_EC2T: the initial network teaches (alpha 0.5, T 4) */
    int64_t samples;                 /* data set size (JOB_SAMPLES unless set) */
    const char *save_to;             /* checkpoint after training, or NULL */
    const char *load_from;           /* resume before training, or NULL */
    /* out */
    ec2t_status st;
    char msg[400];
    float *weights;                  /* every tensor of the network, malloc'd */
    int64_t n_weights;
    double sparsity, loss;
} job;

/* A job with the defaults: seed 7, batch JOB_BATCH, JOB_SAMPLES samples. */
job job_of(int net_kind, int epochs);
/* Run it: build the data and the network, train, copy the weights out. */
void job_run(job *j);
/* The largest |a - b| over the largest |a| of two jobs' weights. */
double job_max_rel_diff(const job *a, const job *b);
/* The number of weights whose sign (-, 0, +) differs, and of zeros in a. */
int64_t job_sign_differences(const job *a, const job *b, int64_t *zeros);

#endif /* EC2T_COLLECTIVE_JOB_H */
