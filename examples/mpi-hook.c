/* SPDX-License-Identifier: MIT */
/* The trainer's collective hook over MPI: MPI_Allreduce and MPI_Bcast on
 * MPI_COMM_WORLD, MPI_Iallreduce for buckets that overlap the backward
 * pass, and MPI_Abort when a rank fails, which ends every rank of the job
 * instead of leaving them waiting. MPI's default error handler
 * (MPI_ERRORS_ARE_FATAL) ends the job on a communication failure too. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>

#include "mpi-hook.h"

/* in-flight MPI_Iallreduce requests; the trainer waits for every bucket of
 * a step before the next, so a handful is enough; beyond, blocking */
#define MAX_REQUESTS 64

static MPI_Request requests[MAX_REQUESTS];
static int in_use[MAX_REQUESTS];

/* MPI counts are int: longer buffers go in pieces */
#define PIECE (INT_MAX / 2)

static int32_t
h_rank(void *user)
{
    int r = 0;
    (void)user;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static int32_t
h_size(void *user)
{
    int s = 1;
    (void)user;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

static int32_t
h_allreduce(void *user, float *buf, int64_t n)
{
    (void)user;
    for (int64_t i = 0; i < n; i += PIECE) {
        int k = (int)(n - i < PIECE ? n - i : PIECE);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + i, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int32_t
h_broadcast(void *user, void *buf, int64_t bytes, int32_t root)
{
    (void)user;
    for (int64_t i = 0; i < bytes; i += PIECE) {
        int k = (int)(bytes - i < PIECE ? bytes - i : PIECE);
        if (MPI_Bcast((char *)buf + i, k, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int32_t
h_start(void *user, float *buf, int64_t n, void **request)
{
    *request = NULL;
    if (n <= PIECE)
        for (int i = 0; i < MAX_REQUESTS; i++)
            if (!in_use[i]) {
                if (MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                                   &requests[i]) != MPI_SUCCESS)
                    return -1;
                in_use[i] = 1;
                *request = &requests[i];
                return 0;
            }
    return h_allreduce(user, buf, n); /* done already: no request */
}

static int32_t
h_wait(void *user, void *request)
{
    MPI_Request *r = request;
    (void)user;
    if (!r)
        return 0;
    in_use[r - requests] = 0;
    return MPI_Wait(r, MPI_STATUS_IGNORE) == MPI_SUCCESS ? 0 : -1;
}

static void
h_abort(void *user, const char *message)
{
    (void)user;
    fprintf(stderr, "%s\n", message);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static const ec2t_collective table = {
    .struct_size = sizeof(ec2t_collective),
    .user = NULL,
    .rank = h_rank,
    .size = h_size,
    .allreduce_sum = h_allreduce,
    .broadcast = h_broadcast,
    .allreduce_start = h_start,
    .wait = h_wait,
    .abort = h_abort,
};

const ec2t_collective *
ex_mpi_collective(void)
{
    return &table;
}

ec2t_status
ex_mpi_attach(ec2t_trainer *tr)
{
    if (h_size(NULL) < 2)
        return EC2T_OK;
    return ec2t_trainer_set_collective(tr, &table, 0);
}

int
ex_mpi_rank(void)
{
    return h_rank(NULL);
}
