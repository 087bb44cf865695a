/* SPDX-License-Identifier: MIT */
/* Training throughput of libec2t: forward + backward + SGD step on random
 * 28x28x1 data, for LeNet-5 or ResNet-20. bench/train_peer.py runs the same
 * networks in PyTorch; bench/run-train.sh runs both and prints ratios.
 *
 * usage: bench-train MODEL BATCH THREADS [SECONDS]
 * prints: images_per_second, cpu_images_per_second (images per second of
 * the process's CPU time: steadier than wall time on a shared machine, and
 * with one thread the same figure on an idle one), peak_rss_mib,
 * rss_before_mib */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ec2t/ec2t.h>

#include "bench-common.h"

static double
cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    ec2t_trainer *tr = NULL;
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    float *x;
    int32_t *y;
    int batch, threads, steps = 0;
    double seconds = argc > 4 ? atof(argv[4]) : 10.0, rss0, t0, t, cpu0;
    ec2t_status st;

    if (argc < 4) {
        fprintf(stderr, "usage: bench-train lenet5|resnet20 BATCH THREADS [SECONDS]\n");
        return 2;
    }
    batch = atoi(argv[2]);
    threads = atoi(argv[3]);
    if (batch < 1 || threads < 1 || ec2t_context_new(&ctx) != EC2T_OK)
        return 2;
    ec2t_context_set_int(ctx, EC2T_CTX_THREADS, threads);
    if (!strcmp(argv[1], "lenet5"))
        st = ec2t_net_build_lenet5(ctx, 1, 28, 28, 10, 0, &net);
    else
        st = ec2t_net_build_resnet(ctx, 3, blocks, widths, 1, 28, 28, 10, 0, &net);
    if (st == EC2T_OK)
        st = ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr);
    if (st != EC2T_OK) {
        fprintf(stderr, "bench-train: %s\n", ec2t_context_errmsg(ctx));
        return 1;
    }
    ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, 0.01);
    ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_WEIGHT_DECAY, 5e-4);
    x = malloc((size_t)batch * 784 * sizeof *x);
    y = malloc((size_t)batch * sizeof *y);
    for (int i = 0; i < batch * 784; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (int i = 0; i < batch; i++)
        y[i] = i % 10;
    rss0 = bench_rss_mib();
    for (int i = 0; i < 3; i++) /* warm-up: plans buffers, starts BLAS threads */
        ec2t_trainer_step(tr, x, (size_t)batch * 784, y, (size_t)batch, batch, 0, NULL);
    t0 = bench_now();
    cpu0 = cpu_seconds();
    do {
        if ((st = ec2t_trainer_step(tr, x, (size_t)batch * 784, y, (size_t)batch, batch, 0, NULL)) != EC2T_OK) {
            fprintf(stderr, "bench-train: %s\n", ec2t_context_errmsg(ctx));
            return 1;
        }
        steps++;
        t = bench_now();
    } while (t - t0 < seconds || steps < 5);
    printf("model: %s\nbatch: %d\nthreads: %d\nsteps: %d\n", argv[1], batch, threads, steps);
    printf("images_per_second: %.1f\n", (double)steps * batch / (t - t0));
    printf("cpu_images_per_second: %.1f\n", (double)steps * batch / (cpu_seconds() - cpu0));
    printf("rss_before_mib: %.1f\npeak_rss_mib: %.1f\n", rss0, bench_peak_rss_mib());
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    free(x);
    free(y);
    return 0;
}
