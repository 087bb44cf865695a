/* SPDX-License-Identifier: MIT */
/* The collective hook over real MPI (examples/mpi-hook.c), run by
 * mpi-test.py under mpirun -np 2:
 *   mpi-train equal        LeNet-5, a small ResNet with synchronised batch
 *                          norm, and EC2T phase A with a target sparsity then
 *                          phase B, distilling, each data-parallel; every rank ends with
 *                          the same weights (hash compared), and rank 0
 *                          compares them with one process on the global batch
 *   mpi-train hang DIR     write DIR/rank-N.pid, then train for a long time
 *                          (the test kills one rank)
 *   mpi-train fail         rank 1 fails inside an epoch; the library calls
 *                          the hook's abort, which ends every rank
 * Exit status 0 when every check holds. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collective-job.h"
#include "mpi-hook.h"

/* the tolerance of test-collective.c, where it is justified */
#define TOLERANCE 1e-5

static int
run(job *j, int with_hook)
{
    if (ec2t_context_new(&j->ctx) != EC2T_OK)
        return 1;
    ec2t_context_set_int(j->ctx, EC2T_CTX_THREADS, 1);
    j->coll = with_hook ? ex_mpi_collective() : NULL;
    job_run(j);
    ec2t_context_free(j->ctx);
    j->ctx = NULL;
    if (j->st != EC2T_OK) {
        fprintf(stderr, "mpi-train: rank %d: %s\n", ex_mpi_rank(), j->msg);
        return 1;
    }
    return 0;
}

static uint64_t
hash_of(const job *j)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *b = (const unsigned char *)j->weights;
    for (size_t i = 0; i < (size_t)j->n_weights * sizeof(float); i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* every rank holds the same weights, bit for bit */
static int
ranks_agree(const job *j)
{
    unsigned long long h = hash_of(j), lo = 0, hi = 0;
    MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

static int
equal(void)
{
    static const char *const names[] = {"lenet5", "resnet (sync BN)", "ec2t A+B"};
    int rank = ex_mpi_rank(), bad = 0;
    for (int kind = NET_LENET; kind <= NET_EC2T; kind++) {
        job two = job_of(kind, kind == NET_EC2T ? 3 : 6), one = job_of(kind, kind == NET_EC2T ? 3 : 6);
        two.distill = one.distill = kind == NET_EC2T;
        if (run(&two, 1))
            return 1;
        if (!ranks_agree(&two)) {
            fprintf(stderr, "mpi-train: %s: the ranks' weights differ\n", names[kind]);
            bad = 1;
        }
        if (rank == 0) {
            double rel;
            int64_t zeros, differ;
            if (run(&one, 0))
                return 1;
            rel = job_max_rel_diff(&one, &two);
            differ = job_sign_differences(&one, &two, &zeros);
            printf("%s: max relative difference to one process %.3g, sparsity %.4f vs %.4f, "
                   "%lld of %lld signs differ\n",
                   names[kind], rel, one.sparsity, two.sparsity, (long long)differ,
                   (long long)one.n_weights);
            if (kind != NET_EC2T && !(rel < TOLERANCE))
                bad = 1;
            if (kind == NET_EC2T && (fabs(one.sparsity - two.sparsity) > 1e-3 ||
                                     differ * 1000 > one.n_weights || zeros == 0))
                bad = 1;
            free(one.weights);
        }
        free(two.weights);
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return bad;
}

static int
hang(const char *dir)
{
    char path[4096];
    FILE *f;
    job j = job_of(NET_LENET, 1000000);
    snprintf(path, sizeof path, "%s/rank-%d.pid", dir, ex_mpi_rank());
    if (!(f = fopen(path, "w")))
        return 1;
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    run(&j, 1);
    free(j.weights);
    return 1; /* a million epochs: only a failure ends this */
}

static int
fail(void)
{
    job j = job_of(NET_LENET, 4);
    if (ex_mpi_rank() == 1)
        j.stop_at_step = 2;
    run(&j, 1);
    free(j.weights);
    return 1; /* not reached: rank 1's abort ends the job */
}

int
main(int argc, char **argv)
{
    int rc = 2, size = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2)
        fprintf(stderr, "mpi-train: run under mpirun -np 2 or more\n");
    else if (argc == 2 && !strcmp(argv[1], "equal"))
        rc = equal();
    else if (argc == 3 && !strcmp(argv[1], "hang"))
        rc = hang(argv[2]);
    else if (argc == 2 && !strcmp(argv[1], "fail"))
        rc = fail();
    else
        fprintf(stderr, "usage: mpi-train equal | hang DIR | fail\n");
    if (rc != 0)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return 0;
}
