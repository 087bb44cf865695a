/* SPDX-License-Identifier: MIT */
/* The cost of EC2T's training: steps of phase A (assignment recomputed
 * every step; also steering gamma to 90 % zeros, which searches gamma every
 * step) and phase B (assignment frozen) against plain full-precision
 * steps of the same network with SGD and with Adam, in one run. Modes are
 * interleaved in rounds and the median of each is kept, so that a busy
 * machine slows them alike.
 *
 * usage: bench-ternarize MODEL BATCH THREADS [ROUNDS [SECONDS_PER_ROUND]]
 * prints: images_per_second_<mode>, ratio_<mode> (time of a step against SGD) */
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

#include "bench-common.h"

enum { SGD, ADAM, PHASE_A, PHASE_A_TARGET, PHASE_B, MODES, MAX_ROUNDS = 31 };
static const char *const MODE_NAMES[MODES] = {"sgd", "adam", "phase_a", "phase_a_target", "phase_b"};

typedef struct bench {
    ec2t_context *ctx;
    ec2t_net *net[MODES];
    ec2t_trainer *tr[MODES];
    ec2t_ternarizer *tz[MODES];
    float *x;
    int32_t *y;
    int batch;
} bench;

static int
fail(bench *b, const char *what)
{
    fprintf(stderr, "bench-ternarize: %s: %s\n", what, ec2t_context_errmsg(b->ctx));
    return 1;
}

/* The four copies of one initialised network and their trainers. */
static int
setup(bench *b, const char *model)
{
    const int32_t blocks[3] = {3, 3, 3}, widths[3] = {16, 32, 64};
    ec2t_status st = !strcmp(model, "lenet5")
                         ? ec2t_net_build_lenet5(b->ctx, 1, 28, 28, 10, 0, &b->net[SGD])
                         : ec2t_net_build_resnet(b->ctx, 3, blocks, widths, 1, 28, 28, 10, 0, &b->net[SGD]);
    if (st == EC2T_OK)
        st = ec2t_net_init(b->net[SGD], 1);
    for (int m = 1; m < MODES && st == EC2T_OK; m++)
        st = ec2t_net_clone(b->net[SGD], &b->net[m]);
    for (int m = 0; m < MODES && st == EC2T_OK; m++)
        st = ec2t_trainer_new(b->net[m], m == SGD ? EC2T_OPT_SGD : EC2T_OPT_ADAM, 0, &b->tr[m]);
    for (int m = PHASE_A; m < MODES && st == EC2T_OK; m++) {
        st = ec2t_ternarizer_new(b->net[m], 0, &b->tz[m]);
        if (st == EC2T_OK)
            st = ec2t_ternarizer_attach(b->tz[m], b->tr[m], 0);
    }
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_double(b->tz[PHASE_A_TARGET], EC2T_TERN_TARGET_SPARSITY, 0.9);
    if (st == EC2T_OK)
        st = ec2t_ternarizer_set_int(b->tz[PHASE_B], EC2T_TERN_FROZEN, 1);
    return st == EC2T_OK ? 0 : fail(b, "setup");
}

/* Images per second of one mode over about `seconds`. */
static double
measure(bench *b, int mode, double seconds)
{
    int steps = 0;
    double t0 = bench_now(), t;
    do {
        if (ec2t_trainer_step(b->tr[mode], b->x, (size_t)b->batch * 784, b->y, (size_t)b->batch,
                              b->batch, 0, NULL) != EC2T_OK)
            return -1;
        steps++;
        t = bench_now();
    } while (t - t0 < seconds || steps < 2);
    return (double)steps * b->batch / (t - t0);
}

static int
cmp_double(const void *a, const void *c)
{
    double x = *(const double *)a, y = *(const double *)c;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    bench b;
    int threads, rounds;
    double seconds, ips[MODES][MAX_ROUNDS], median[MODES];
    int rc = 1;

    if (argc < 4) {
        fprintf(stderr, "usage: bench-ternarize lenet5|resnet20 BATCH THREADS [ROUNDS [SECONDS]]\n");
        return 2;
    }
    memset(&b, 0, sizeof b);
    b.batch = atoi(argv[2]);
    threads = atoi(argv[3]);
    rounds = argc > 4 ? atoi(argv[4]) : 5;
    seconds = argc > 5 ? atof(argv[5]) : 4.0;
    if (b.batch < 1 || threads < 1 || rounds < 1 || rounds > MAX_ROUNDS || !(seconds > 0) ||
        ec2t_context_new(&b.ctx) != EC2T_OK)
        return 2;
    ec2t_context_set_int(b.ctx, EC2T_CTX_THREADS, threads);
    b.x = malloc((size_t)b.batch * 784 * sizeof *b.x);
    b.y = malloc((size_t)b.batch * sizeof *b.y);
    if (!b.x || !b.y)
        goto out;
    for (int i = 0; i < b.batch * 784; i++)
        b.x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (int i = 0; i < b.batch; i++)
        b.y[i] = i % 10;
    if (setup(&b, argv[1]) != 0)
        goto out;
    for (int m = 0; m < MODES; m++) /* warm-up: plans buffers, starts threads */
        if (measure(&b, m, 0) < 0) {
            fail(&b, MODE_NAMES[m]);
            goto out;
        }
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < MODES; m++)
            if ((ips[m][r] = measure(&b, m, seconds)) < 0) {
                fail(&b, MODE_NAMES[m]);
                goto out;
            }
    printf("model: %s\nbatch: %d\nthreads: %d\nrounds: %d\n", argv[1], b.batch, threads, rounds);
    for (int m = 0; m < MODES; m++) {
        qsort(ips[m], (size_t)rounds, sizeof ips[m][0], cmp_double);
        median[m] = ips[m][rounds / 2];
        printf("images_per_second_%s: %.1f\n", MODE_NAMES[m], median[m]);
    }
    for (int m = 1; m < MODES; m++)
        printf("ratio_%s: %.3f\n", MODE_NAMES[m], median[SGD] / median[m]);
    printf("ratio_phase_a_vs_adam: %.3f\n", median[ADAM] / median[PHASE_A]);
    rc = 0;
out:
    for (int m = 0; m < MODES; m++) {
        ec2t_trainer_free(b.tr[m]);
        ec2t_ternarizer_free(b.tz[m]);
        ec2t_net_free(b.net[m]);
    }
    free(b.x);
    free(b.y);
    ec2t_context_free(b.ctx);
    return rc;
}
