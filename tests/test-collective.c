/* SPDX-License-Identifier: MIT */
/* The experimental collective hook (ec2t_trainer_set_collective), without
 * MPI: a fake in-process world of ranks on threads, which sums in rank order
 * and makes every collective fail once a rank aborts. Two ranks end with the
 * weights of one process with the same global batch (LeNet-5, a small
 * ResNet with synchronised batch norm, EC2T phase A with a target sparsity
 * and phase B with distillation), the two ranks bit for bit alike; ranks
 * that differ are refused; a failing rank stops the other; checkpoints are
 * written by rank 0. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collective-job.h"
#include "test-common.h"

/* ---- the fake world ---- */

#define MAX_RANKS 4

typedef struct world {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int size, arrived, readers, aborted;
    long gen;
    void *ptr[MAX_RANKS];
    unsigned char *acc;
    size_t acc_cap;
    int ops;             /* collectives completed, all kinds */
    char why[320];
} world;

typedef struct rank_hook {
    world *w;
    int rank;
    int starts;          /* allreduce_start calls */
} rank_hook;

/* kind 0: float sum of n floats; kind 1: n bytes from root */
static int32_t
collective(rank_hook *h, void *buf, int64_t n, int kind, int32_t root)
{
    world *w = h->w;
    size_t bytes = (size_t)n * (kind == 0 ? sizeof(float) : 1);
    long gen;
    int ok = 1;
    pthread_mutex_lock(&w->mu);
    while (w->readers > 0 && !w->aborted)
        pthread_cond_wait(&w->cv, &w->mu);
    if (w->aborted) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->ptr[h->rank] = buf;
    gen = w->gen;
    if (++w->arrived == w->size) {
        if (w->acc_cap < bytes) {
            free(w->acc);
            w->acc = malloc(bytes);
            w->acc_cap = bytes;
        }
        if (kind == 0) {
            float *acc = (float *)w->acc;
            for (int64_t i = 0; i < n; i++) {
                float s = 0;
                for (int r = 0; r < w->size; r++)
                    s += ((const float *)w->ptr[r])[i];
                acc[i] = s;
            }
        } else {
            memcpy(w->acc, w->ptr[root], bytes);
        }
        w->arrived = 0;
        w->readers = w->size;
        w->gen++;
        w->ops++;
        pthread_cond_broadcast(&w->cv);
    } else {
        while (gen == w->gen && !w->aborted)
            pthread_cond_wait(&w->cv, &w->mu);
        ok = gen != w->gen;
    }
    if (ok) {
        memcpy(buf, w->acc, bytes);
        if (--w->readers == 0)
            pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return ok ? 0 : -1;
}

static int32_t
fake_rank(void *user)
{
    return ((rank_hook *)user)->rank;
}

static int32_t
fake_size(void *user)
{
    return ((rank_hook *)user)->w->size;
}

static int32_t
fake_allreduce(void *user, float *buf, int64_t n)
{
    return collective(user, buf, n, 0, 0);
}

static int32_t
fake_broadcast(void *user, void *buf, int64_t bytes, int32_t root)
{
    return collective(user, buf, bytes, 1, root);
}

/* "non-blocking": done at once, the request is the hook itself */
static int32_t
fake_start(void *user, float *buf, int64_t n, void **request)
{
    ((rank_hook *)user)->starts++;
    *request = user;
    return collective(user, buf, n, 0, 0);
}

static int32_t
fake_wait(void *user, void *request)
{
    return request == user ? 0 : -1;
}

static void
fake_abort(void *user, const char *message)
{
    world *w = ((rank_hook *)user)->w;
    pthread_mutex_lock(&w->mu);
    if (!w->aborted)
        snprintf(w->why, sizeof w->why, "%s", message);
    w->aborted = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void
world_init(world *w, int size)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->size = size;
}

static void
world_free(world *w)
{
    free(w->acc);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

static ec2t_collective
table_of(rank_hook *h, int nonblocking)
{
    ec2t_collective c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.user = h;
    c.rank = fake_rank;
    c.size = fake_size;
    c.allreduce_sum = fake_allreduce;
    c.broadcast = fake_broadcast;
    if (nonblocking) {
        c.allreduce_start = fake_start;
        c.wait = fake_wait;
    }
    c.abort = fake_abort;
    return c;
}

/* One thread: a rank of the world on its own context and allocator. */
typedef struct rank_run {
    job *j;
    rank_hook hook;
    test_alloc ta;
} rank_run;

static void *
rank_main(void *arg)
{
    rank_run *rr = arg;
    /* rank 0 overlaps (allreduce_start), rank 1 blocks: both are valid hooks */
    ec2t_collective t = table_of(&rr->hook, rr->hook.rank == 0);
    rr->j->ctx = test_context(&rr->ta);
    rr->j->coll = &t;
    job_run(rr->j);
    ec2t_context_free(rr->j->ctx);
    rr->j->ctx = NULL;
    rr->j->coll = NULL;
    return NULL;
}

/* Run n jobs as the ranks of one world (the jobs are filled in already). */
static void
run_world(job *jobs, int n, int *starts)
{
    world w;
    pthread_t th[MAX_RANKS];
    rank_run rr[MAX_RANKS];
    world_init(&w, n);
    for (int r = 0; r < n; r++) {
        rr[r].j = &jobs[r];
        rr[r].hook = (rank_hook){&w, r, 0};
        ck_assert_int_eq(pthread_create(&th[r], NULL, rank_main, &rr[r]), 0);
    }
    for (int r = 0; r < n; r++)
        pthread_join(th[r], NULL);
    for (int r = 0; r < n; r++) {
        ck_assert_int_eq(rr[r].ta.live, 0);
        if (starts)
            starts[r] = rr[r].hook.starts;
    }
    world_free(&w);
}

/* The single process, on its own allocator. */
static void
run_one(job *j)
{
    test_alloc ta;
    j->ctx = test_context(&ta);
    job_run(j);
    ec2t_context_free(j->ctx);
    j->ctx = NULL;
    ck_assert_int_eq(ta.live, 0);
}

/* Summation order only: the two ranks' gradient halves are added in
 * another order than one process's GEMM sums them, and batch norm's sums
 * travel as floats (rounded to 24 bits instead of summed in double). After
 * 24 SGD steps with momentum that measured 2e-7 (LeNet-5) and 1e-7
 * (ResNet) of the largest weight, a few float roundings grown by the steps;
 * the bound leaves 50 times that. A real semantic difference is far above
 * it: per-rank batch norm (EC2T_COLLECTIVE_LOCAL_BN) moves the ResNet's
 * weights by 3.5e-2. */
#define TOLERANCE 1e-5

static void
check_matches_one_process(int net_kind, int epochs)
{
    job one = job_of(net_kind, epochs), two[2] = {job_of(net_kind, epochs), job_of(net_kind, epochs)};
    double rel;
    int starts[2];
    run_one(&one);
    ck_assert_msg(one.st == EC2T_OK, "one process: %s", one.msg);
    run_world(two, 2, starts);
    for (int r = 0; r < 2; r++)
        ck_assert_msg(two[r].st == EC2T_OK, "rank %d: %s", r, two[r].msg);
    /* identical weights on every rank: bit for bit */
    ck_assert_int_eq(two[0].n_weights, two[1].n_weights);
    ck_assert(memcmp(two[0].weights, two[1].weights, (size_t)two[0].n_weights * sizeof(float)) == 0);
    /* rank 0 overlapped its buckets with the backward pass */
    ck_assert_int_gt(starts[0], 0);
    ck_assert_int_eq(starts[1], 0);
    rel = job_max_rel_diff(&one, &two[0]);
    ck_assert_msg(rel < TOLERANCE, "net %d: 2 ranks differ from 1 process by %g", net_kind, rel);
    ck_assert_msg(fabs(one.loss - two[0].loss) < 1e-4 * fabs(one.loss) + 1e-6,
                  "loss %g vs %g", one.loss, two[0].loss);
    free(one.weights);
    free(two[0].weights);
    free(two[1].weights);
}

START_TEST(test_collective_lenet_matches_one_process)
{
    check_matches_one_process(NET_LENET, 6); /* 24 steps */
}
END_TEST

START_TEST(test_collective_resnet_sync_bn_matches_one_process)
{
    check_matches_one_process(NET_RESNET, 6); /* 24 steps, running statistics included */
}
END_TEST

/* EC2T phase A with a target sparsity, then phase B, distilling from the
 * initial network: the same assignment on both ranks (the weights are equal
 * bit for bit), and the one process's up to weights that sit on a
 * threshold. */
START_TEST(test_collective_ec2t_matches_one_process)
{
    job one = job_of(NET_EC2T, 3), two[2] = {job_of(NET_EC2T, 3), job_of(NET_EC2T, 3)};
    int64_t differ = 0, zeros = 0;
    one.distill = two[0].distill = two[1].distill = 1;
    run_one(&one);
    ck_assert_msg(one.st == EC2T_OK, "one process: %s", one.msg);
    run_world(two, 2, NULL);
    for (int r = 0; r < 2; r++)
        ck_assert_msg(two[r].st == EC2T_OK, "rank %d: %s", r, two[r].msg);
    ck_assert(memcmp(two[0].weights, two[1].weights, (size_t)two[0].n_weights * sizeof(float)) == 0);
    ck_assert(two[0].sparsity == two[1].sparsity);
    ck_assert_msg(fabs(one.sparsity - two[0].sparsity) < 1e-3, "sparsity %g vs %g", one.sparsity,
                  two[0].sparsity);
    ck_assert_msg(one.sparsity > 0.3, "the target was steered towards: %g", one.sparsity);
    differ = job_sign_differences(&one, &two[0], &zeros);
    ck_assert_int_gt(zeros, 0);
    ck_assert_msg(differ * 1000 <= one.n_weights, "%lld of %lld assignments differ", (long long)differ,
                  (long long)one.n_weights);
    free(one.weights);
    free(two[0].weights);
    free(two[1].weights);
}
END_TEST

START_TEST(test_collective_refuses_ranks_that_differ)
{
    job two[2] = {job_of(NET_LENET, 1), job_of(NET_LENET, 1)};
    two[1].batch = 2 * JOB_BATCH;
    run_world(two, 2, NULL);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(two[r].st, EC2T_E_INVAL);
        ck_assert_msg(strstr(two[r].msg, "settings") != NULL, "%s", two[r].msg);
        free(two[r].weights);
    }
    two[0] = job_of(NET_LENET, 1), two[1] = job_of(NET_LENET, 1);
    two[1].init_seed = 8;
    run_world(two, 2, NULL);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(two[r].st, EC2T_E_INVAL);
        ck_assert_msg(strstr(two[r].msg, "weights") != NULL, "%s", two[r].msg);
        free(two[r].weights);
    }
}
END_TEST

/* Rank 1 stops inside its epoch (its progress callback): it aborts, and
 * rank 0, waiting in a collective, fails instead of hanging. */
START_TEST(test_collective_failing_rank_stops_the_others)
{
    job two[2] = {job_of(NET_LENET, 2), job_of(NET_LENET, 2)};
    two[1].stop_at_step = 2;
    run_world(two, 2, NULL);
    ck_assert_int_eq(two[1].st, EC2T_E_ABORTED);
    ck_assert_int_eq(two[0].st, EC2T_E_ABORTED);
    ck_assert_msg(strstr(two[0].msg, "collective failed") != NULL, "%s", two[0].msg);
    free(two[0].weights);
    free(two[1].weights);
}
END_TEST

/* Rank 0 writes, and its status is every rank's; both resume from its file;
 * a rank that cannot read fails them all. */
START_TEST(test_collective_checkpoints_by_rank_zero)
{
    job two[2] = {job_of(NET_LENET, 1), job_of(NET_LENET, 1)};
    char p0[512], p1[512];
    snprintf(p0, sizeof p0, "%s", test_tmpfile(0, "rank0.ckpt"));
    snprintf(p1, sizeof p1, "%s", test_tmpfile(1, "rank1.ckpt"));
    two[0].save_to = p0;
    two[1].save_to = p1; /* a different path shows who writes */
    run_world(two, 2, NULL);
    for (int r = 0; r < 2; r++) {
        ck_assert_msg(two[r].st == EC2T_OK, "rank %d: %s", r, two[r].msg);
        free(two[r].weights);
    }
    ck_assert_int_eq(access(p0, F_OK), 0);
    ck_assert_int_ne(access(p1, F_OK), 0);

    two[0] = job_of(NET_LENET, 1), two[1] = job_of(NET_LENET, 1);
    two[0].load_from = two[1].load_from = p0;
    run_world(two, 2, NULL);
    for (int r = 0; r < 2; r++)
        ck_assert_msg(two[r].st == EC2T_OK, "rank %d: %s", r, two[r].msg);
    ck_assert(memcmp(two[0].weights, two[1].weights, (size_t)two[0].n_weights * sizeof(float)) == 0);
    free(two[0].weights);
    free(two[1].weights);

    two[0] = job_of(NET_LENET, 1), two[1] = job_of(NET_LENET, 1);
    two[0].load_from = p0;
    two[1].load_from = p1; /* absent */
    run_world(two, 2, NULL);
    ck_assert_int_eq(two[0].st, EC2T_E_IO);
    ck_assert_msg(strstr(two[0].msg, "another rank") != NULL, "%s", two[0].msg);
    ck_assert_int_ne(two[1].st, EC2T_OK);
    free(two[0].weights);
    free(two[1].weights);
}
END_TEST

START_TEST(test_collective_refuses_bad_tables)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net = NULL;
    ec2t_trainer *tr = NULL;
    world w;
    rank_hook h = {&w, 0, 0};
    ec2t_collective t;
    world_init(&w, 2);
    ck_assert_ok(ec2t_net_build_lenet5(ctx, 1, 28, 28, 4, 0, &net));
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    t = table_of(&h, 1);
    t.struct_size = 8;
    ck_assert_status(ec2t_trainer_set_collective(tr, &t, 0), EC2T_E_INVAL);
    t = table_of(&h, 1);
    t.abort = NULL;
    ck_assert_status(ec2t_trainer_set_collective(tr, &t, 0), EC2T_E_INVAL);
    t = table_of(&h, 1);
    t.wait = NULL;
    ck_assert_status(ec2t_trainer_set_collective(tr, &t, 0), EC2T_E_INVAL);
    t = table_of(&h, 1);
    ck_assert_status(ec2t_trainer_set_collective(tr, &t, 1u << 5), EC2T_E_INVAL);
    h.rank = 2;
    ck_assert_status(ec2t_trainer_set_collective(tr, &t, 0), EC2T_E_INVAL);
    h.rank = 1;
    ck_assert_ok(ec2t_trainer_set_collective(tr, &t, EC2T_COLLECTIVE_LOCAL_BN));
    ck_assert_ok(ec2t_trainer_set_collective(tr, NULL, 0));
    ck_assert_status(ec2t_trainer_set_collective(NULL, &t, 0), EC2T_E_INVAL);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    world_free(&w);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("collective");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_collective_lenet_matches_one_process);
    tcase_add_test(tc, test_collective_resnet_sync_bn_matches_one_process);
    tcase_add_test(tc, test_collective_ec2t_matches_one_process);
    tcase_add_test(tc, test_collective_refuses_ranks_that_differ);
    tcase_add_test(tc, test_collective_failing_rank_stops_the_others);
    tcase_add_test(tc, test_collective_checkpoints_by_rank_zero);
    tcase_add_test(tc, test_collective_refuses_bad_tables);
    suite_add_tcase(s, tc);
    return s;
}
