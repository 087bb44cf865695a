/* SPDX-License-Identifier: MIT */
/* Data-parallel training throughput over MPI (issue 27): ResNet-20 on
 * random 28x28x1 data, a fixed number of SGD steps of one global batch,
 * every rank its slice (examples/mpi-hook.c; one rank trains alone). Run by
 * bench/run-mpi.sh under mpirun.
 *
 * usage: bench-mpi steps GLOBAL_BATCH THREADS STEPS
 *   prints (rank 0): ranks, threads, images_per_second (global images)
 * usage: bench-mpi volume
 *   prints the all-reduce volume per step of ResNet-20 and of ec2t-demo's
 *   full super-network (phi 0.75, depth 1.0, width 1.4): gradient floats,
 *   and the synchronised batch norm's all-reduces and floats */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "mpi-hook.h" /* first: it enables the experimental API */

#include "bench-common.h"

static const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};

static ec2t_status
resnet20(ec2t_context *ctx, ec2t_net **net)
{
    ec2t_status st = ec2t_net_build_resnet(ctx, 3, blocks, widths, 1, 28, 28, 10, 0, net);
    return st == EC2T_OK ? ec2t_net_init(*net, 1) : st;
}

/* gradient floats (+ 2 for the loss and the correct count), and per step
 * the batch norms' all-reduces (3 per layer: mean, variance, the backward
 * pass's two sums) and floats (4 per channel) */
static void
print_volume(const char *name, ec2t_net *net)
{
    int64_t grads = ec2t_net_trainable_count(net) + 2, bn_layers = 0, bn_channels = 0;
    for (int32_t i = 0; i < ec2t_net_param_count(net); i++) {
        const char *pname;
        ec2t_tensor *t;
        if (ec2t_net_param(net, i, &pname, &t, NULL) != EC2T_OK)
            continue;
        if (strstr(pname, "running_mean")) {
            bn_layers++;
            bn_channels += ec2t_tensor_numel(t);
        }
    }
    printf("%s: gradient_floats %lld (%.3f MB), buckets %lld, bn_layers %lld, bn_allreduces %lld, "
           "bn_floats %lld (%.1f KB)\n",
           name, (long long)grads, 4e-6 * (double)grads, (long long)((grads + 65535) / 65536),
           (long long)bn_layers, (long long)(3 * bn_layers), (long long)(4 * bn_channels),
           4e-3 * 4 * (double)bn_channels);
}

static int
volume(ec2t_context *ctx)
{
    ec2t_net *small = NULL, *super = NULL;
    ec2t_scaler *sc = NULL;
    ec2t_status st = resnet20(ctx, &small);
    if (st == EC2T_OK)
        st = ec2t_scaler_new(ctx, 0, &sc);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_PHI, 0.75);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_DEPTH, 1.0);
    if (st == EC2T_OK)
        st = ec2t_scaler_set_double(sc, EC2T_SCALE_WIDTH, 1.4);
    if (st == EC2T_OK)
        st = ec2t_scaler_apply(sc, small, 0, &super);
    if (st == EC2T_OK) {
        print_volume("resnet20", small);
        print_volume("demo_super_network", super);
    }
    ec2t_scaler_free(sc);
    ec2t_net_free(small);
    ec2t_net_free(super);
    return st != EC2T_OK;
}

static int
steps(ec2t_context *ctx, int batch, int threads, int n)
{
    ec2t_net *net = NULL;
    ec2t_trainer *tr = NULL;
    float *x = malloc((size_t)batch * 784 * sizeof *x);
    int32_t *y = malloc((size_t)batch * sizeof *y);
    double t0 = 0;
    int size = 1;
    ec2t_status st;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 0; i < batch * 784; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < batch; i++)
        y[i] = i % 10;
    ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads);
    st = resnet20(ctx, &net);
    if (st == EC2T_OK)
        st = ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr);
    if (st == EC2T_OK)
        st = ex_mpi_attach(tr);
    for (int i = 0; i < n + 3 && st == EC2T_OK; i++) {
        if (i == 3) { /* after the warm-up steps */
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = bench_now();
        }
        st = ec2t_trainer_step(tr, x, (size_t)batch * 784, y, (size_t)batch, batch, 0, NULL);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (st == EC2T_OK && ex_mpi_rank() == 0)
        printf("ranks: %d\nthreads: %d\nglobal_batch: %d\nsteps: %d\nimages_per_second: %.1f\n", size,
               threads, batch, n, (double)n * batch / (bench_now() - t0));
    if (st != EC2T_OK)
        fprintf(stderr, "bench-mpi: %s\n", ec2t_context_errmsg(ctx));
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    free(x);
    free(y);
    return st != EC2T_OK;
}

int
main(int argc, char **argv)
{
    ec2t_context *ctx = NULL;
    int rc = 2;
    MPI_Init(&argc, &argv);
    if (ec2t_context_new(&ctx) != EC2T_OK)
        rc = 1;
    else if (argc == 2 && !strcmp(argv[1], "volume"))
        rc = ex_mpi_rank() == 0 ? volume(ctx) : 0;
    else if (argc == 5 && !strcmp(argv[1], "steps"))
        rc = steps(ctx, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else
        fprintf(stderr, "usage: bench-mpi steps GLOBAL_BATCH THREADS STEPS | bench-mpi volume\n");
    ec2t_context_free(ctx);
    if (rc != 0)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return 0;
}
