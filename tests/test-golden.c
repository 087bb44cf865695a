/* SPDX-License-Identifier: MIT */
/* The golden files of tests/data/golden, made once by tests/golden/make-golden.c
 * with libec2t 0.1.0 (see the README there): every later libec2t must load
 * them and give the committed results, forever. A failure here means old
 * files broke: fix the library, never the files.
 *
 * Exact (bit for bit, any machine): the bytes of every golden file (length
 * and SHA-256), the tensors a model file or checkpoint restores, the facts of
 * a loaded engine, and the two .ec2t forms giving identical outputs.
 * Within a tolerance: whatever computes through BLAS or the SIMD kernels
 * (logits, a training step, a resumed EC2T run), because their summation
 * order depends on the CPU and the BLAS build (see TOL_* below). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden/golden-net.h"
#include "test-common.h"

/* Logits: float32 through 5 layers, sums in CPU- and BLAS-dependent order;
 * the measured spread between kernels and BLAS core types is below 1e-6,
 * a changed weight, scale or layer moves them by 1e-2 or more. */
#define TOL_LOGITS 1e-4
/* Parameters after one SGD step (lr 0.05): the gradient's rounding moves
 * them by about 1e-7; a lost momentum buffer or setting by 1e-3 or more. */
#define TOL_STEP 1e-5
/* Parameters at the end of a resumed EC2T run (Adam steps, then the best
 * epoch restored): rounding alone moves them by about 1e-7; an assignment
 * flipped by rounding at a threshold would fail here (not seen; report it). */
#define TOL_RESUME 1e-4

/* ---- the files, byte for byte ------------------------------------------- */

typedef struct golden_file {
    const char *name;
    long bytes;
    const char *sha256;
} golden_file;

static const golden_file golden_files[] = {
#include "golden/golden-sums.h"
};

typedef struct sha256 {
    uint32_t h[8];
    uint8_t block[64];
    uint64_t bytes;
} sha256;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t
ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void
sha256_block(sha256 *s)
{
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)s->block[4 * i] << 24 | (uint32_t)s->block[4 * i + 1] << 16 |
               (uint32_t)s->block[4 * i + 2] << 8 | s->block[4 * i + 3];
    for (int i = 16; i < 64; i++)
        w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7] +
               (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
        uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

/* The SHA-256 of a buffer, as 64 lowercase hex digits. */
static void
sha256_hex(const uint8_t *data, size_t len, char hex[65])
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    sha256 s;
    size_t fill = 0;
    memcpy(s.h, h0, sizeof h0);
    s.bytes = len;
    for (size_t i = 0; i < len; i++) {
        s.block[fill++] = data[i];
        if (fill == 64)
            sha256_block(&s), fill = 0;
    }
    s.block[fill++] = 0x80;
    if (fill > 56) {
        memset(s.block + fill, 0, 64 - fill);
        sha256_block(&s), fill = 0;
    }
    memset(s.block + fill, 0, 56 - fill);
    for (int i = 0; i < 8; i++)
        s.block[56 + i] = (uint8_t)((s.bytes * 8) >> (56 - 8 * i));
    sha256_block(&s);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned)(s.h[i / 4] >> (24 - 8 * (i % 4))) & 0xff);
}

START_TEST(test_golden_sha256_known_answers)
{
    char hex[65];
    sha256_hex((const uint8_t *)"", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex((const uint8_t *)"abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* two blocks: the padding spills over */
    sha256_hex((const uint8_t *)"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

static uint8_t *
read_all(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    *len = ftell(f);
    ck_assert_int_ge(*len, 0);
    rewind(f);
    buf = malloc((size_t)*len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return buf;
}

START_TEST(test_golden_files_unchanged)
{
    const golden_file *g = &golden_files[_i];
    char hex[65], name[256];
    long len;
    uint8_t *buf;
    snprintf(name, sizeof name, "golden/%s", g->name);
    buf = read_all(test_data_path(name), &len);
    ck_assert_msg(len == g->bytes, "%s: %ld bytes, the golden file has %ld", g->name, len, g->bytes);
    sha256_hex(buf, (size_t)len, hex);
    ck_assert_msg(strcmp(hex, g->sha256) == 0, "%s: SHA-256 %s, the golden file's is %s", g->name,
                  hex, g->sha256);
    free(buf);
}
END_TEST

/* ---- helpers ------------------------------------------------------------- */

static const char *
golden_path(const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, "golden/%s", name);
    return test_data_path(buf);
}

static ec2t_tensor *
load_npy(ec2t_context *ctx, const char *name)
{
    ec2t_tensor *t = NULL;
    ck_assert_ok(ec2t_tensor_load_npy(ctx, golden_path(name), 0, &t));
    return t;
}

/* got == want bit for bit (the same float32 values, no tolerance). */
static void
assert_identical(const float *got, ec2t_tensor *want, int64_t n, const char *what)
{
    const float *w = ec2t_tensor_data(want);
    ck_assert_int_eq(ec2t_tensor_numel(want), n);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(memcmp(&got[i], &w[i], sizeof(float)) == 0, "%s[%lld]: %.9g, expected %.9g",
                      what, (long long)i, (double)got[i], (double)w[i]);
}

/* |got - want| <= tol * max(1, |want|) everywhere. */
static void
assert_close(const float *got, ec2t_tensor *want, int64_t n, double tol, const char *what)
{
    const float *w = ec2t_tensor_data(want);
    ck_assert_int_eq(ec2t_tensor_numel(want), n);
    for (int64_t i = 0; i < n; i++) {
        double scale = w[i] > 1 || w[i] < -1 ? (w[i] < 0 ? -w[i] : w[i]) : 1.0;
        double d = (double)got[i] - (double)w[i];
        ck_assert_msg(d <= tol * scale && -d <= tol * scale, "%s[%lld]: %.9g, expected %.9g (tol %g)",
                      what, (long long)i, (double)got[i], (double)w[i], tol);
    }
}

static void
assert_params(ec2t_context *ctx, ec2t_net *net, const char *npy, double tol)
{
    ec2t_tensor *flat, *want = load_npy(ctx, npy);
    ck_assert_ok(golden_flat_params(ctx, net, &flat));
    if (tol == 0)
        assert_identical(ec2t_tensor_data(flat), want, ec2t_tensor_numel(flat), npy);
    else
        assert_close(ec2t_tensor_data(flat), want, ec2t_tensor_numel(flat), tol, npy);
    ec2t_tensor_free(flat);
    ec2t_tensor_free(want);
}

/* ---- model file ---------------------------------------------------------- */

/* The weights of layer id take at most {-a, 0, +b}, with all three present. */
static void
assert_ternary_layer(ec2t_net *net, int32_t id)
{
    ec2t_layer *l;
    ec2t_tensor *w;
    float neg = 0, pos = 0;
    int64_t zeros = 0, n;
    const float *v;
    ck_assert_ok(ec2t_net_layer(net, id, &l));
    ck_assert_int_eq(ec2t_layer_get_kind(l), EC2T_LAYER_CONV2D);
    ck_assert_ok(ec2t_layer_param(l, EC2T_PARAM_WEIGHT, &w));
    v = ec2t_tensor_data(w);
    n = ec2t_tensor_numel(w);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] == 0) {
            zeros++;
        } else if (v[i] < 0) {
            ck_assert_msg(neg == 0 || v[i] == neg, "layer %d: two negative values", (int)id);
            neg = v[i];
        } else {
            ck_assert_msg(pos == 0 || v[i] == pos, "layer %d: two positive values", (int)id);
            pos = v[i];
        }
    }
    ck_assert_msg(neg < 0 && pos > 0 && zeros > 0 && zeros < n, "layer %d is not genuinely ternary",
                  (int)id);
}

START_TEST(test_golden_model_file)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_tensor *input, *want;
    float logits[GOLDEN_INPUTS * GOLDEN_CLASSES];
    int32_t c, h, w;

    ck_assert_ok(ec2t_net_load(ctx, golden_path("model.ec2tm"), 0, &net));
    ck_assert_int_eq(ec2t_net_layer_count(net), 15);
    ck_assert_ok(ec2t_net_input_shape(net, &c, &h, &w));
    ck_assert(c == GOLDEN_C && h == GOLDEN_H && w == GOLDEN_W);
    assert_params(ctx, net, "model.params.npy", 0);
    assert_ternary_layer(net, 4);
    assert_ternary_layer(net, 9);

    input = load_npy(ctx, "input.npy");
    want = load_npy(ctx, "model.logits.npy");
    ck_assert_int_eq(ec2t_tensor_numel(input), GOLDEN_INPUTS * GOLDEN_SAMPLE);
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL));
    ck_assert_ok(ec2t_net_forward(net, ec2t_tensor_data(input), GOLDEN_INPUTS * GOLDEN_SAMPLE, GOLDEN_INPUTS, logits,
                                  GOLDEN_INPUTS * GOLDEN_CLASSES, 0));
    assert_close(logits, want, GOLDEN_INPUTS * GOLDEN_CLASSES, TOL_LOGITS, "model logits");
    ec2t_tensor_free(want);
    ec2t_tensor_free(input);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- deployable files ---------------------------------------------------- */

static const char *const engine_files[2] = {"engine-entropy.ec2t", "engine-raw.ec2t"};

/* The logits of one golden .ec2t file on input.npy with a kernel set. */
static void
engine_logits(ec2t_context *ctx, const char *file, ec2t_isa isa, float *logits)
{
    ec2t_engine *eng;
    ec2t_tensor *input = load_npy(ctx, "input.npy");
    size_t bytes;
    void *ws;
    ck_assert_ok(ec2t_engine_load(ctx, golden_path(file), 0, &eng));
    ck_assert_ok(ec2t_engine_set_int(eng, EC2T_ENGINE_ISA, isa));
    ck_assert_ok(ec2t_engine_workspace_size(eng, GOLDEN_INPUTS, &bytes));
    ws = malloc(bytes);
    ck_assert_ptr_nonnull(ws);
    ck_assert_ok(ec2t_engine_run(eng, ec2t_tensor_data(input), GOLDEN_INPUTS * GOLDEN_SAMPLE, GOLDEN_INPUTS, logits,
                                 GOLDEN_INPUTS * GOLDEN_CLASSES, ws, bytes, 0));
    free(ws);
    ec2t_engine_free(eng);
    ec2t_tensor_free(input);
}

START_TEST(test_golden_engine_file)
{
    static const ec2t_engine_param facts[5] = {EC2T_ENGINE_TERNARY_LAYERS, EC2T_ENGINE_INPUT_C,
                                               EC2T_ENGINE_INPUT_H, EC2T_ENGINE_INPUT_W,
                                               EC2T_ENGINE_OUTPUTS};
    static const int64_t expect[5] = {2, GOLDEN_C, GOLDEN_H, GOLDEN_W, GOLDEN_CLASSES};
    static const ec2t_isa isas[2] = {EC2T_ISA_REFERENCE, EC2T_ISA_AUTO};
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_engine *eng;
    ec2t_tensor *want = load_npy(ctx, "engine.logits.npy");
    ec2t_tensor *model = load_npy(ctx, "model.logits.npy");
    float logits[GOLDEN_INPUTS * GOLDEN_CLASSES];
    const char *meta;
    int64_t v;

    ck_assert_ok(ec2t_engine_load(ctx, golden_path(engine_files[_i]), 0, &eng));
    for (int k = 0; k < 5; k++) {
        ck_assert_ok(ec2t_engine_get_int(eng, facts[k], &v));
        ck_assert_int_eq(v, expect[k]);
    }
    ck_assert_ok(ec2t_engine_get_meta(eng, "source", &meta));
    ck_assert_str_eq(meta, "libec2t golden file, tests/golden/make-golden.c");
    ec2t_engine_free(eng);

    for (int k = 0; k < 2; k++) {
        engine_logits(ctx, engine_files[_i], isas[k], logits);
        assert_close(logits, want, GOLDEN_INPUTS * GOLDEN_CLASSES, TOL_LOGITS, engine_files[_i]);
        /* the engine computes what the network it came from computes */
        assert_close(logits, model, GOLDEN_INPUTS * GOLDEN_CLASSES, TOL_LOGITS, engine_files[_i]);
    }
    ec2t_tensor_free(model);
    ec2t_tensor_free(want);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Both forms hold the same 32-bit values: the same kernels give the same bits. */
START_TEST(test_golden_engine_forms_identical)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_tensor *entropy;
    int64_t dims[2] = {GOLDEN_INPUTS, GOLDEN_CLASSES};
    float raw[GOLDEN_INPUTS * GOLDEN_CLASSES];
    ck_assert_ok(ec2t_tensor_new(ctx, 2, dims, &entropy));
    engine_logits(ctx, engine_files[0], EC2T_ISA_REFERENCE, ec2t_tensor_data(entropy));
    engine_logits(ctx, engine_files[1], EC2T_ISA_REFERENCE, raw);
    assert_identical(raw, entropy, GOLDEN_INPUTS * GOLDEN_CLASSES, "raw against entropy form");
    ec2t_tensor_free(entropy);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- checkpoints --------------------------------------------------------- */

START_TEST(test_golden_trainer_checkpoint)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_trainer *tr;
    ec2t_tensor *want_loss = load_npy(ctx, "trainer.step-loss.npy");
    float images[GOLDEN_BATCH * GOLDEN_SAMPLE], loss;
    int32_t labels[GOLDEN_BATCH];
    int64_t v;

    ck_assert_ok(golden_net_build(ctx, &net));
    ck_assert_ok(golden_trainer_new(net, &tr));
    ck_assert_ok(ec2t_trainer_load_checkpoint(tr, golden_path("trainer.ckpt"), 0));
    assert_params(ctx, net, "trainer.params.npy", 0);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_TOTAL_STEPS, &v));
    ck_assert_int_eq(v, GOLDEN_FLOAT_STEPS);

    /* one more step continues the saved run: momentum buffers and settings restored */
    golden_data(GOLDEN_SET_STEP, GOLDEN_BATCH, images, labels);
    ck_assert_ok(ec2t_trainer_step(tr, images, GOLDEN_BATCH * GOLDEN_SAMPLE, labels, GOLDEN_BATCH,
                                  GOLDEN_BATCH, 0, &loss));
    assert_close(&loss, want_loss, 1, TOL_STEP, "loss of the step after loading");
    assert_params(ctx, net, "trainer.step.npy", TOL_STEP);
    ec2t_tensor_free(want_loss);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_golden_ternarizer_checkpoint)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_trainer *tr;
    ec2t_ternarizer *tz;
    int64_t v;

    ck_assert_ok(golden_net_build(ctx, &net));
    ck_assert_ok(golden_trainer_new(net, &tr));
    ck_assert_ok(golden_ternarizer_new(net, tr, &tz));
    ck_assert_ok(ec2t_trainer_load_checkpoint(tr, golden_path("ternarizer.ckpt"), 0));
    assert_params(ctx, net, "ternarizer.params.npy", 0);
    assert_ternary_layer(net, 4);
    assert_ternary_layer(net, 9);
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &v));
    ck_assert_int_eq(v, 2);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_TOTAL_STEPS, &v));
    ck_assert_int_eq(v, GOLDEN_TRAIN / GOLDEN_BATCH); /* one epoch of phase A */
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_golden_ternarizer_resume)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_net *net;
    ec2t_trainer *tr;
    ec2t_ternarizer *tz;
    ec2t_dataset *train, *val;
    long len;
    uint8_t *bytes = read_all(golden_path("ternarizer.ckpt"), &len);
    /* the run rewrites its checkpoint: resume from a copy */
    const char *work = test_write_file(0, "ternarizer.ckpt", bytes, (size_t)len);

    free(bytes);
    ck_assert_ok(golden_datasets(ctx, &train, &val));
    ck_assert_ok(golden_net_build(ctx, &net));
    ck_assert_ok(golden_trainer_new(net, &tr));
    ck_assert_ok(golden_ternarizer_new(net, tr, &tz));
    ck_assert_ok(ec2t_ternarizer_train_checkpointed(tz, tr, train, val, GOLDEN_EPOCHS_A,
                                                    GOLDEN_EPOCHS_B, work, 0));
    assert_params(ctx, net, "ternarizer.resumed.npy", TOL_RESUME);
    assert_ternary_layer(net, 4);
    assert_ternary_layer(net, 9);
    ec2t_ternarizer_free(tz);
    ec2t_trainer_free(tr);
    ec2t_net_free(net);
    ec2t_dataset_free(train);
    ec2t_dataset_free(val);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_golden_sha256_known_answers);
    tcase_add_loop_test(tc, test_golden_files_unchanged, 0,
                        (int)(sizeof golden_files / sizeof golden_files[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("load");
    tcase_add_test(tc, test_golden_model_file);
    tcase_add_loop_test(tc, test_golden_engine_file, 0, 2);
    tcase_add_test(tc, test_golden_engine_forms_identical);
    tcase_add_test(tc, test_golden_trainer_checkpoint);
    tcase_add_test(tc, test_golden_ternarizer_checkpoint);
    tcase_add_test(tc, test_golden_ternarizer_resume);
    suite_add_tcase(s, tc);
    return s;
}
