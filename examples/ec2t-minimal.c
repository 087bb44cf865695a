/* SPDX-License-Identifier: MIT */
/* ec2t-minimal: the EC2T pipeline in one straight function, for reading
 * (doc/GUIDE.md walks through it). Train a small ResNet on Fashion-MNIST,
 * scale it into a super-network, ternarize it, save the .ec2t file, load it
 * back and classify the test set. Every call is checked; nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

/* Stop with the library's message on the first failure. */
#define CHECK(call)                                                                           \
    do {                                                                                      \
        ec2t_status st_ = (call);                                                             \
        if (st_ != EC2T_OK) {                                                                 \
            fprintf(stderr, "ec2t-minimal: %s: %s\n", #call, ec2t_context_errmsg(ctx));       \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char img[4096], lab[4096];
    ec2t_context *ctx = NULL;
    ec2t_dataset *all = NULL, *train = NULL, *val = NULL, *test = NULL;
    ec2t_net *small = NULL, *super = NULL;
    ec2t_trainer *sgd = NULL, *adam = NULL;
    ec2t_scaler *scaler = NULL;
    ec2t_ternarizer *tz = NULL;
    ec2t_engine *engine = NULL, *loaded = NULL;
    float mean[1], std[1], *x, *logits;
    int32_t *y;
    void *ws;
    size_t ws_bytes;
    int64_t correct = 0, n_test = 1000, n_all, n_train;
    double loss, acc, sparsity;

    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        int help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        printf("usage: ec2t-minimal [FASHION_MNIST_DIR]\n"
               "Train a small ResNet on Fashion-MNIST, scale it, ternarize it with EC2T,\n"
               "save the .ec2t file, load it back and classify the test set.\n"
               "FASHION_MNIST_DIR holds the IDX files (default "
               "/usr/share/datasets/fashion-mnist).\n");
        return help ? 0 : 2;
    }
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    CHECK(ec2t_context_set_int(ctx, EC2T_CTX_THREADS, 2));

    /* 1. Data: the IDX files, normalised with the training set's statistics. */
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    CHECK(ec2t_dataset_load_idx(ctx, img, lab, 0, &all));
    /* a taste, not a result: 5000 images to train on, the file's last 500 to validate */
    n_all = ec2t_dataset_size(all);
    n_train = n_all - 500 < 5000 ? n_all - 500 : 5000;
    if (n_train < 1) {
        fprintf(stderr, "ec2t-minimal: %s: too few training images\n", dir);
        return 1;
    }
    CHECK(ec2t_dataset_subset(all, 0, n_train, 0, &train));
    CHECK(ec2t_dataset_subset(all, n_all - 500, 500, 0, &val));
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    CHECK(ec2t_dataset_load_idx(ctx, img, lab, 0, &test));
    CHECK(ec2t_dataset_compute_normalization(train, mean, std, 1));
    CHECK(ec2t_dataset_set_normalization(train, mean, std, 1));
    CHECK(ec2t_dataset_set_normalization(val, mean, std, 1));
    CHECK(ec2t_dataset_set_normalization(test, mean, std, 1));
    if (ec2t_dataset_size(test) < n_test)
        n_test = ec2t_dataset_size(test);

    /* 2. A small float ResNet-8, trained one epoch with SGD. */
    {
        const int32_t blocks[3] = {1, 1, 1}, widths[3] = {16, 32, 64};
        CHECK(ec2t_net_build_resnet(ctx, 3, blocks, widths, 1, 28, 28, 10, 0, &small));
    }
    CHECK(ec2t_net_init(small, 1));
    CHECK(ec2t_trainer_new(small, EC2T_OPT_SGD, 0, &sgd));
    CHECK(ec2t_trainer_group_set_double(sgd, 0, EC2T_TRAIN_LR, 0.05));
    CHECK(ec2t_trainer_set_int(sgd, EC2T_TRAIN_EPOCHS, 1)); /* the schedule's length */
    CHECK(ec2t_trainer_epoch(sgd, train, 0, &loss, &acc));
    CHECK(ec2t_net_evaluate(small, test, 256, 0, NULL, &acc));
    printf("small float network: %.2f%% on the test set\n", 100 * acc);

    /* 3. The super-network: depth and width scaled with phi = 1, starting
     *    from the small network's function (noise breaks the copies' symmetry). */
    CHECK(ec2t_scaler_new(ctx, 0, &scaler));
    CHECK(ec2t_scaler_set_double(scaler, EC2T_SCALE_PHI, 1.0));
    CHECK(ec2t_scaler_set_double(scaler, EC2T_SCALE_NOISE, 0.01));
    CHECK(ec2t_scaler_apply(scaler, small, 0, &super));
    printf("super-network: %lld parameters (from %lld)\n",
           (long long)ec2t_net_trainable_count(super), (long long)ec2t_net_trainable_count(small));

    /* 4. EC2T: a ternarizer attached to an Adam trainer; one epoch of phase A
     *    (assignment every step) and one of phase B (assignment frozen). */
    CHECK(ec2t_ternarizer_new(super, 0, &tz));
    CHECK(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.8));
    CHECK(ec2t_trainer_new(super, EC2T_OPT_ADAM, 0, &adam));
    CHECK(ec2t_trainer_group_set_double(adam, 0, EC2T_TRAIN_LR, 1e-4));
    CHECK(ec2t_ternarizer_attach(tz, adam, 0));
    CHECK(ec2t_ternarizer_train(tz, adam, train, val, 1, 1, 0));
    CHECK(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &sparsity));
    printf("ternary super-network: %.1f%% of its ternary weights are zero\n", 100 * sparsity);

    /* 5. Deploy: compile, save the .ec2t file, load it back. */
    CHECK(ec2t_engine_compile(super, 0, &engine));
    CHECK(ec2t_engine_save(engine, "minimal.ec2t", 0));
    CHECK(ec2t_engine_load(ctx, "minimal.ec2t", 0, &loaded));

    /* 6. Run: the engine allocates nothing; the caller owns every buffer. */
    CHECK(ec2t_engine_workspace_size(loaded, n_test, &ws_bytes));
    x = malloc((size_t)n_test * 28 * 28 * sizeof(float));
    y = malloc((size_t)n_test * sizeof(int32_t));
    logits = malloc((size_t)n_test * 10 * sizeof(float));
    ws = malloc(ws_bytes);
    if (!x || !y || !logits || !ws)
        return 1;
    CHECK(ec2t_dataset_get_batch(test, 0, n_test, x, (size_t)n_test * 784, y, (size_t)n_test, 0));
    CHECK(ec2t_engine_run(loaded, x, (size_t)n_test * 784, n_test, logits, (size_t)n_test * 10, ws,
                          ws_bytes, 0));
    for (int64_t i = 0; i < n_test; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (logits[i * 10 + k] > logits[i * 10 + best])
                best = k;
        correct += best == y[i];
    }
    printf("minimal.ec2t: %.2f%% on %lld test images\n", 100.0 * (double)correct / (double)n_test,
           (long long)n_test);

    free(x), free(y), free(logits), free(ws);
    ec2t_engine_free(loaded);
    ec2t_engine_free(engine);
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(adam);
    ec2t_trainer_free(sgd);
    ec2t_scaler_free(scaler);
    ec2t_net_free(super);
    ec2t_net_free(small);
    ec2t_dataset_free(test);
    ec2t_dataset_free(train);
    ec2t_dataset_free(val);
    ec2t_dataset_free(all);
    ec2t_context_free(ctx);
    return 0;
}
