/* SPDX-License-Identifier: MIT */
/* Made the golden files of tests/data/golden ONCE, with libec2t 0.1.0 as it
 * stood before the format was frozen; see README.md there. Never run it to
 * make test-golden pass again: a golden file that no longer loads with the
 * same results is a broken promise, not a stale file. New files go beside
 * the old ones (into a new folder).
 *
 *   make-golden OUT_DIR
 *
 * Public API only, one thread, fixed seeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

#include "golden-net.h"

#define MORE_STEPS 12 /* float training steps after the trainer checkpoint, before EC2T */

static const char *out_dir;
static ec2t_context *ctx;

static const char *
path(const char *name)
{
    static char buf[4][4096];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", out_dir, name);
    return buf[slot];
}

static void
check(ec2t_status st, const char *what)
{
    if (st != EC2T_OK) {
        fprintf(stderr, "make-golden: %s: %s (%s)\n", what, ec2t_status_string(st),
                ec2t_context_errmsg(ctx));
        exit(1);
    }
}

static void
save_array(const char *name, int32_t rank, const int64_t *dims, const float *values)
{
    ec2t_tensor *t;
    check(ec2t_tensor_new(ctx, rank, dims, &t), name);
    check(ec2t_tensor_write(t, values, (size_t)ec2t_tensor_numel(t)), name);
    check(ec2t_tensor_save_npy(t, path(name), 0), name);
    ec2t_tensor_free(t);
}

static void
save_params(ec2t_net *net, const char *name)
{
    ec2t_tensor *flat;
    check(golden_flat_params(ctx, net, &flat), name);
    check(ec2t_tensor_save_npy(flat, path(name), 0), name);
    ec2t_tensor_free(flat);
}

static void
train_steps(ec2t_trainer *tr, uint32_t first_set, int n)
{
    float images[GOLDEN_BATCH * GOLDEN_SAMPLE];
    int32_t labels[GOLDEN_BATCH];
    for (int i = 0; i < n; i++) {
        golden_data(first_set + (uint32_t)i, GOLDEN_BATCH, images, labels);
        check(ec2t_trainer_step(tr, images, GOLDEN_BATCH * GOLDEN_SAMPLE, labels, GOLDEN_BATCH,
                                  GOLDEN_BATCH, 0, NULL), "training step");
    }
}

/* The trainer checkpoint, and what loading it and one more step give. */
static void
make_trainer_checkpoint(ec2t_trainer *tr)
{
    float images[GOLDEN_BATCH * GOLDEN_SAMPLE];
    int32_t labels[GOLDEN_BATCH];
    ec2t_net *net2;
    ec2t_trainer *tr2;
    float loss;
    int64_t one = 1;
    check(ec2t_trainer_save_checkpoint(tr, path("trainer.ckpt"), 0), "trainer checkpoint");
    check(golden_net_build(ctx, &net2), "network");
    check(golden_trainer_new(net2, &tr2), "trainer");
    check(ec2t_trainer_load_checkpoint(tr2, path("trainer.ckpt"), 0), "load trainer checkpoint");
    save_params(net2, "trainer.params.npy");
    golden_data(GOLDEN_SET_STEP, GOLDEN_BATCH, images, labels);
    check(ec2t_trainer_step(tr2, images, GOLDEN_BATCH * GOLDEN_SAMPLE, labels, GOLDEN_BATCH,
                            GOLDEN_BATCH, 0, &loss), "step after loading");
    save_params(net2, "trainer.step.npy");
    save_array("trainer.step-loss.npy", 1, &one, &loss);
    ec2t_trainer_free(tr2);
    ec2t_net_free(net2);
}

/* The ternarizer checkpoint (after phase A's first epoch of the golden EC2T
 * run), what loading it gives, and the network a resumed run ends with,
 * resumed in fresh objects as test-golden does. Returns that network. */
static ec2t_net *
make_ternarizer_checkpoint(ec2t_net *net)
{
    ec2t_dataset *train, *val;
    ec2t_trainer *tr;
    ec2t_ternarizer *tz;
    ec2t_net *net2;
    ec2t_status st;
    const char *ckpt = path("ternarizer.ckpt"), *work = path("ternarizer-resume.tmp");
    FILE *in, *out;
    char buf[4096];
    size_t n;

    check(golden_datasets(ctx, &train, &val), "data sets");
    check(golden_trainer_new(net, &tr), "trainer");
    check(golden_ternarizer_new(net, tr, &tz), "ternarizer");
    check(ec2t_ternarizer_set_progress(tz, golden_stop_after_first_epoch, NULL), "progress");
    remove(ckpt);
    st = ec2t_ternarizer_train_checkpointed(tz, tr, train, val, GOLDEN_EPOCHS_A, GOLDEN_EPOCHS_B,
                                            ckpt, 0);
    if (st != EC2T_E_ABORTED)
        check(st == EC2T_OK ? EC2T_E_INTERNAL : st, "EC2T run did not stop after one epoch");
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);

    /* loaded into fresh objects */
    check(golden_net_build(ctx, &net2), "network");
    check(golden_trainer_new(net2, &tr), "trainer");
    check(golden_ternarizer_new(net2, tr, &tz), "ternarizer");
    check(ec2t_trainer_load_checkpoint(tr, ckpt, 0), "load ternarizer checkpoint");
    save_params(net2, "ternarizer.params.npy");
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_net_free(net2);

    /* resumed to the end from a copy (the run rewrites its checkpoint) */
    in = fopen(ckpt, "rb");
    out = fopen(work, "wb");
    if (!in || !out)
        check(EC2T_E_IO, "copy of the ternarizer checkpoint");
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    if (fclose(out) != 0)
        check(EC2T_E_IO, "copy of the ternarizer checkpoint");
    check(golden_net_build(ctx, &net2), "network");
    check(golden_trainer_new(net2, &tr), "trainer");
    check(golden_ternarizer_new(net2, tr, &tz), "ternarizer");
    check(ec2t_ternarizer_train_checkpointed(tz, tr, train, val, GOLDEN_EPOCHS_A, GOLDEN_EPOCHS_B,
                                             work, 0),
          "resumed EC2T run");
    remove(work);
    save_params(net2, "ternarizer.resumed.npy");
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_dataset_free(train);
    ec2t_dataset_free(val);
    return net2;
}

static void
forward_logits(ec2t_net *net, const float *input, const char *name)
{
    float logits[GOLDEN_INPUTS * GOLDEN_CLASSES];
    int64_t dims[2] = {GOLDEN_INPUTS, GOLDEN_CLASSES};
    check(ec2t_net_set_mode(net, EC2T_MODE_EVAL), "eval mode");
    check(ec2t_net_forward(net, input, GOLDEN_INPUTS * GOLDEN_SAMPLE, GOLDEN_INPUTS, logits, GOLDEN_INPUTS * GOLDEN_CLASSES, 0),
          "forward");
    save_array(name, 2, dims, logits);
}

static void
make_engines(const float *input)
{
    ec2t_net *net;
    ec2t_engine *eng;
    float logits[GOLDEN_INPUTS * GOLDEN_CLASSES];
    int64_t dims[2] = {GOLDEN_INPUTS, GOLDEN_CLASSES};
    size_t bytes;
    void *ws;

    check(ec2t_net_load(ctx, path("model.ec2tm"), 0, &net), "load model");
    check(ec2t_engine_compile(net, 0, &eng), "compile");
    check(ec2t_engine_set_meta(eng, "source", "libec2t golden file, tests/golden/make-golden.c"),
          "meta");
    check(ec2t_engine_save(eng, path("engine-entropy.ec2t"), 0), "save entropy form");
    check(ec2t_engine_set_int(eng, EC2T_ENGINE_ENCODING, EC2T_ENCODING_RAW), "raw encoding");
    check(ec2t_engine_save(eng, path("engine-raw.ec2t"), 0), "save raw form");
    ec2t_engine_free(eng);
    ec2t_net_free(net);

    /* the expected logits: the saved file, run by the reference kernels */
    check(ec2t_engine_load(ctx, path("engine-entropy.ec2t"), 0, &eng), "load entropy form");
    check(ec2t_engine_set_int(eng, EC2T_ENGINE_ISA, EC2T_ISA_REFERENCE), "reference kernels");
    check(ec2t_engine_workspace_size(eng, GOLDEN_INPUTS, &bytes), "workspace size");
    ws = malloc(bytes);
    if (!ws)
        check(EC2T_E_NOMEM, "workspace");
    check(ec2t_engine_run(eng, input, GOLDEN_INPUTS * GOLDEN_SAMPLE, GOLDEN_INPUTS, logits, GOLDEN_INPUTS * GOLDEN_CLASSES, ws,
                          bytes, 0),
          "run");
    save_array("engine.logits.npy", 2, dims, logits);
    free(ws);
    ec2t_engine_free(eng);
}

int
main(int argc, char **argv)
{
    float input[GOLDEN_INPUTS * GOLDEN_SAMPLE];
    int32_t input_labels[GOLDEN_INPUTS];
    int64_t input_dims[4] = {GOLDEN_INPUTS, GOLDEN_C, GOLDEN_H, GOLDEN_W};
    ec2t_net *net, *ternary, *loaded;
    ec2t_trainer *tr;

    if (argc != 2) {
        fprintf(stderr, "usage: make-golden OUT_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    golden_data(GOLDEN_SET_INPUT, GOLDEN_INPUTS, input, input_labels);
    save_array("input.npy", 4, input_dims, input);

    /* float training, with the trainer checkpoint on the way */
    check(golden_net_build(ctx, &net), "network");
    check(golden_trainer_new(net, &tr), "trainer");
    train_steps(tr, 1, GOLDEN_FLOAT_STEPS);
    make_trainer_checkpoint(tr);
    train_steps(tr, 1 + GOLDEN_FLOAT_STEPS, MORE_STEPS);
    ec2t_trainer_free(tr);

    /* EC2T, stopped and resumed: the ternarizer checkpoint and the ternary network */
    ternary = make_ternarizer_checkpoint(net);
    ec2t_net_free(net);

    /* the model file of the ternary network, and what loading it gives */
    check(ec2t_net_save(ternary, path("model.ec2tm"), 0), "save model");
    ec2t_net_free(ternary);
    check(ec2t_net_load(ctx, path("model.ec2tm"), 0, &loaded), "load model");
    save_params(loaded, "model.params.npy");
    forward_logits(loaded, input, "model.logits.npy");
    ec2t_net_free(loaded);

    /* the deployable files in the two forms */
    make_engines(input);
    ec2t_context_free(ctx);
    return 0;
}
