/* SPDX-License-Identifier: MIT */
/* The EC2T ternarizer: the method's worked example step by step, the
 * properties of the assignment, every guarded edge case, the centroid
 * gradients by finite differences, layer selection, phases and targets; the
 * experimental settings of the reference code. */
#define EC2T_ENABLE_EXPERIMENTAL
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "test-common.h"
#include "ternarizer-private.h"

/* ---- the worked example of EC2T-METHOD.md §6 (Becking, Fig. 4.4) ---- */

static const float ex_g[16] = {-0.03f, 0.01f,  0.01f, -0.06f, 0.02f, -0.07f, 0.08f,  -0.04f,
                               0.03f,  -0.08f, 0.10f, -0.03f, 0.01f, 0.05f,  -0.04f, 0.04f};
static const float ex_w[16] = {1.78f, -0.18f, 0.02f,  -0.50f, 0.01f, 0.02f, -0.03f, -1.90f,
                               0.02f, -0.39f, -0.15f, 0.01f,  0.77f, 0.01f, 0.90f,  -0.46f};
/* the assignment behind the figure's ternary matrix: 1.36 -> +1, -0.56 -> -1 */
static const int8_t ex_a[16] = {1, -1, 0, -1, 0, 0, 0, -1, 0, -1, 0, 0, 1, 0, 1, -1};

START_TEST(test_tern_worked_example)
{
    static const float want_grad[16] = {-0.04f, 0.01f, 0.01f, -0.03f, 0.02f, -0.07f, 0.08f, -0.02f,
                                        0.03f,  -0.04f, 0.10f, -0.03f, 0.01f, 0.05f, -0.05f, 0.02f};
    static const float want_w[16] = {1.82f,  -0.19f, 0.01f,  -0.47f, -0.01f, 0.09f, -0.11f, -1.88f,
                                     -0.01f, -0.35f, -0.25f, 0.04f,  0.76f,  -0.04f, 0.95f, -0.48f};
    float wp = 1.36f, wn = 0.56f, gwp, gwn, grad[16], w[16], t[16];
    int64_t count[3];
    double p[3], info[3];
    int8_t a[16];

    /* steps 1-2: the ternary weights of the figure */
    ec2t__tern_materialise(ex_w, ex_a, 16, wp, wn, 0, t);
    ck_assert(t[0] == 1.36f && t[1] == -0.56f && t[2] == 0.0f);
    /* step 3: sums over the clusters; with w_n a magnitude, dL/dw_n = -sum g */
    ec2t__tern_grads(ex_g, ex_a, 16, wp, wn, 0, 0, grad, &gwp, &gwn);
    ck_assert_float_eq_tol(gwp, -0.06f, 1e-6f);
    ck_assert_float_eq_tol(gwn, 0.13f, 1e-6f);
    /* step 4: SGD with lr 0.7 on the centroids: 1.40 and -0.47 */
    wp -= 0.7f * gwp;
    wn -= 0.7f * gwn;
    ck_assert_float_eq_tol(wp, 1.40f, 0.005f);
    ck_assert_float_eq_tol(-wn, -0.47f, 0.005f);
    /* the reference code's sign moves the level the other way (to -0.65) */
    {
        float cwp, cwn, cg[16];
        ec2t__tern_grads(ex_g, ex_a, 16, 1.36f, 0.56f, 0, 1, cg, &cwp, &cwn);
        ck_assert_float_eq_tol(0.56f - 0.7f * cwn, 0.651f, 1e-3f);
    }
    /* step 5: background gradient scaled by w_n / 1 / w_p; step 6: lr 1.0 */
    for (int i = 0; i < 16; i++) {
        ck_assert_msg(fabsf(grad[i] - want_grad[i]) <= 0.0051f, "grad[%d] %g", i, (double)grad[i]);
        w[i] = ex_w[i] - grad[i];
        ck_assert_msg(fabsf(w[i] - want_w[i]) <= 0.0051f, "w[%d] %g", i, (double)w[i]);
    }
    /* step 7: preliminary assignment, boundaries -0.235 and 0.70: 5 / 8 / 3 */
    ec2t__tern_nn_counts(w, 16, wp, wn, count);
    ck_assert_int_eq(count[0], 5);
    ck_assert_int_eq(count[1], 8);
    ck_assert_int_eq(count[2], 3);
    ec2t__tern_pmf(count, 16, p);
    ck_assert_double_eq_tol(p[0], 0.3125, 1e-12);
    ck_assert_double_eq_tol(p[1], 0.5, 1e-12);
    ck_assert_double_eq_tol(p[2], 0.1875, 1e-12);
    for (int c = 0; c < 3; c++)
        info[c] = -log2(p[c]);
    ck_assert_double_eq_tol(info[0], 1.678, 1e-3);
    ck_assert_double_eq_tol(info[1], 1.0, 1e-12);
    ck_assert_double_eq_tol(info[2], 2.415, 1e-3);
    /* step 8 with lambda 0.1: -0.25 goes to zero, 0.76 stays at w_p ... */
    ec2t__tern_assign_lambda(w, 16, wp, wn, 0.1, info, a, count);
    ck_assert_int_eq(a[10], 0);
    ck_assert_int_eq(a[12], 1);
    /* ... until lambda passes the point where its two costs meet: about
     * 0.119 with the figure's rounded numbers, 0.110 with the exact ones */
    {
        double cross = ((double)w[12] * w[12] - ((double)wp - w[12]) * (wp - w[12])) /
                       (info[2] - info[1]);
        ck_assert_double_eq_tol(cross, 0.110, 0.001);
        ec2t__tern_assign_lambda(w, 16, wp, wn, cross - 1e-3, info, a, count);
        ck_assert_int_eq(a[12], 1);
        ec2t__tern_assign_lambda(w, 16, wp, wn, cross + 1e-3, info, a, count);
        ck_assert_int_eq(a[12], 0);
    }
    /* the rest of the figure's final matrix */
    ck_assert_int_eq(a[0], 1);
    ck_assert_int_eq(a[3], -1);
    ck_assert_int_eq(a[7], -1);
    ck_assert_int_eq(a[9], -1);
    ck_assert_int_eq(a[14], 1);
    ck_assert_int_eq(a[15], -1);
}
END_TEST

static void
gaussian(float *w, int64_t n, uint64_t seed, float mean, float sd)
{
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++)
        w[i] = mean + sd * ec2t__rng_normal(&rng);
}

START_TEST(test_tern_gamma_zero_is_nearest_value)
{
    enum { N = 5000 };
    float *w = malloc(N * sizeof(float)), wp = 0.7f, wn = 0.4f;
    int8_t *a = malloc(N);
    ec2t__tern_step st;
    gaussian(w, N, 3, 0.05f, 0.8f);
    ec2t__tern_assign(w, N, wp, wn, 0.0, 1.0, a, &st);
    ck_assert_double_eq(st.lambda, 0);
    for (int i = 0; i < N; i++) {
        int8_t want = w[i] <= -wn / 2 ? -1 : w[i] <= wp / 2 ? 0 : 1;
        ck_assert_int_eq(a[i], want);
    }
    free(w);
    free(a);
}
END_TEST

/* The per-weight rule as the method states it: argmin of (W - c)^2 +
 * lambda I_c in float, ties to n, then 0, then p (torch.argmin). */
static int8_t
reference_cluster(float w, float wp, float wn, const float lam[3])
{
    float cn = (-wn - w) * (-wn - w) + lam[0], c0 = w * w + lam[1], cp = (wp - w) * (wp - w) + lam[2];
    if (cn <= c0 && cn <= cp)
        return -1;
    return c0 <= cp ? 0 : 1;
}

/* The vectorised assignment, counts, ternary weights and gradients agree
 * weight for weight with the plain per-weight rule and ordered double
 * sums, on lengths that leave vector tails and on weights exactly at the
 * midpoints (ties), so that the branch-free loops are bit for bit the
 * branching ones they replaced. */
START_TEST(test_tern_vector_loops_match_reference)
{
    enum { N = 4099 };
    const float wp = 0.5f, wn = 0.25f;
    const int lengths[4] = {1, 7, 33, N};
    float *w = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    float *sg = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float));
    int8_t *a = malloc(N);
    ec2t__tern_step st;
    gaussian(w, N, 11, 0.0f, 0.4f);
    gaussian(g, N, 12, 0.0f, 0.1f);
    for (int i = 0; i < N; i += 17)
        w[i] = i % 34 ? 0.25f : -0.125f; /* the n/0 and 0/p midpoints at lambda 0 */
    for (int li = 0; li < 4; li++) {
        int n = lengths[li];
        for (double gamma = 0; gamma < 1.01; gamma += 0.25) {
            int64_t want[3] = {0, 0, 0}, got[3];
            float lam[3], gwp, gwn;
            double sp = 0, sn = 0;
            ec2t__tern_assign(w, n, wp, wn, gamma, 1.0, a, &st);
            ec2t__tern_count_lambda(w, n, wp, wn, st.lambda, st.info, got);
            for (int k = 0; k < 3; k++)
                lam[k] = (float)(st.lambda * st.info[k]);
            for (int i = 0; i < n; i++) {
                int8_t c = reference_cluster(w[i], wp, wn, lam);
                ck_assert_int_eq(a[i], c);
                want[c + 1]++;
            }
            for (int k = 0; k < 3; k++) {
                ck_assert_int_eq(st.count[k], want[k]);
                ck_assert_int_eq(got[k], want[k]);
            }
            ec2t__tern_materialise(w, a, n, wp, wn, 0, out);
            ec2t__tern_grads(g, a, n, wp, wn, 0, 0, sg, &gwp, &gwn);
            for (int i = 0; i < n; i++) {
                ck_assert(out[i] == (a[i] > 0 ? wp : a[i] < 0 ? -wn : 0.0f));
                ck_assert(sg[i] == (a[i] > 0 ? wp : a[i] < 0 ? wn : 1.0f) * g[i]);
                if (a[i] > 0)
                    sp += g[i];
                else if (a[i] < 0)
                    sn += g[i];
            }
            ck_assert(gwp == (float)sp && gwn == (float)-sn);
            ec2t__tern_materialise(w, a, n, wp, wn, 1, out);
            ec2t__tern_grads(g, a, n, wp, wn, 1, 0, sg, &gwp, &gwn);
            for (int i = 0; i < n; i++) {
                ck_assert(out[i] == (a[i] != 0 ? w[i] : 0.0f));
                ck_assert(sg[i] == g[i]);
            }
        }
    }
    free(w);
    free(g);
    free(sg);
    free(out);
    free(a);
}
END_TEST

START_TEST(test_tern_sparsity_grows_with_gamma)
{
    enum { N = 20000 };
    float *w = malloc(N * sizeof(float));
    int8_t *a = malloc(N);
    int64_t prev = -1;
    gaussian(w, N, 4, 0.0f, 0.1f);
    for (double gamma = 0; gamma <= 1.0001; gamma += 0.05) {
        ec2t__tern_step st;
        ec2t__tern_assign(w, N, 0.12f, 0.11f, gamma, 0.8, a, &st);
        ck_assert_msg(st.count[1] >= prev, "gamma %.2f: %lld zeros after %lld", gamma,
                      (long long)st.count[1], (long long)prev);
        prev = st.count[1];
        ck_assert(isfinite(st.lambda) && st.lambda >= 0);
    }
    /* and it really grows */
    {
        ec2t__tern_step lo, hi;
        ec2t__tern_assign(w, N, 0.12f, 0.11f, 0.0, 0.8, a, &lo);
        ec2t__tern_assign(w, N, 0.12f, 0.11f, 0.5, 0.8, a, &hi);
        ck_assert_int_gt(hi.count[1], lo.count[1] + N / 10);
    }
    free(w);
    free(a);
}
END_TEST

static void
check_finite(const float *w, int64_t n, float wp, float wn, double gamma)
{
    int8_t *a = malloc((size_t)(n ? n : 1));
    ec2t__tern_step st;
    ec2t__tern_assign(w, n, wp, wn, gamma, 1.0, a, &st);
    for (int c = 0; c < 3; c++) {
        ck_assert(isfinite(st.p[c]) && st.p[c] > 0);
        ck_assert(isfinite(st.info[c]));
    }
    ck_assert(isfinite(st.lambda_max) && st.lambda_max >= 0);
    ck_assert(isfinite(st.lambda) && st.lambda >= 0);
    ck_assert_int_eq(st.count[0] + st.count[1] + st.count[2], n);
    free(a);
}

START_TEST(test_tern_edge_cases_are_finite)
{
    float pos[6] = {0.1f, 0.5f, 0.9f, 0.3f, 0.0f, 0.7f};
    float neg[5] = {-0.1f, -0.5f, -0.9f, -0.2f, 0.0f};
    float zeros[4] = {0, 0, 0, 0};
    float near[6] = {-0.05f, 0.04f, 0.01f, -0.02f, 0.03f, 0.0f}; /* extremes nearer 0 than c */
    /* P_n = P_0 = 0.5 (and P_p from the pseudo-count): I_n == I_0 */
    float half[4] = {-1.0f, -1.0f, 0.0f, 0.0f};
    float one[1] = {0.3f};
    double info[3] = {1.0, 1.0, 2.0};
    check_finite(pos, 6, 0.5f, 0.5f, 0.5);
    check_finite(neg, 5, 0.5f, 0.5f, 0.5);
    check_finite(zeros, 4, 0.1f, 0.1f, 0.5);
    check_finite(near, 6, 0.5f, 0.5f, 0.5);
    check_finite(half, 4, 1.0f, 1.0f, 0.5);
    check_finite(one, 1, 0.2f, 0.2f, 1.0);
    check_finite(pos, 0, 0.2f, 0.2f, 1.0);
    /* a side with equal informations imposes no bound; none at all: 0 */
    ck_assert_double_eq(ec2t__tern_lambda_max(-1.0f, 0.0f, 1.0f, 1.0f, info), 0.0);
    /* a one-signed layer is bounded by its one side only */
    info[0] = 3.0;
    ck_assert_double_eq_tol(ec2t__tern_lambda_max(0.0f, 0.9f, 0.5f, 0.5f, info),
                            (0.81 - 0.16) / (2.0 - 1.0), 1e-6);
    /* a negative numerator (extreme nearer 0 than its centroid) is no bound */
    ck_assert_double_eq(ec2t__tern_lambda_max(-0.05f, 0.04f, 0.5f, 0.5f, info), 0.0);
    /* the floor of a constant or tiny layer */
    ck_assert_float_eq(ec2t__tern_floor(zeros, 4, 0.675), 0.0f);
    ck_assert_float_eq(ec2t__tern_floor(one, 1, 0.675), 0.0f);
}
END_TEST

START_TEST(test_tern_pmf_redistribution)
{
    /* P_0 < 0.5: P_n shrinks first, and P_p uses the updated P_n (the reference's order) */
    int64_t count[3] = {30, 40, 30};
    double p[3], pn, pp;
    ec2t__tern_pmf(count, 100, p);
    pn = 0.3 - 0.3 / 0.6 * 0.1;
    pp = 0.3 - 0.3 / (pn + 0.3) * 0.1;
    ck_assert_double_eq_tol(p[0], pn, 1e-12);
    ck_assert_double_eq_tol(p[1], 0.5, 1e-12);
    ck_assert_double_eq_tol(p[2], pp, 1e-12);
    /* an empty cluster counts as one weight */
    count[0] = 0, count[1] = 90, count[2] = 10;
    ec2t__tern_pmf(count, 100, p);
    ck_assert_double_eq_tol(p[0], 0.01, 1e-12);
}
END_TEST

START_TEST(test_tern_kmeans_init)
{
    float w[8] = {-1.0f, -1.1f, -0.9f, 0.01f, -0.02f, 2.0f, 2.2f, 1.8f};
    float wp, wn;
    ec2t__tern_init_kmeans(w, 8, &wp, &wn);
    ck_assert_float_eq_tol(wp, 2.0f, 1e-5f);
    ck_assert_float_eq_tol(wn, 1.0f, 1e-5f);
    ec2t__tern_init_minmax(w, 8, 0.3, &wp, &wn);
    ck_assert_float_eq_tol(wp, 0.66f, 1e-6f);
    ck_assert_float_eq_tol(wn, 0.33f, 1e-6f);
}
END_TEST

/* ---- through the network ---- */

/* conv (kept: first) -> BN -> ReLU -> conv (ternary) -> BN -> ReLU -> GAP -> fc (kept: last) */
static ec2t_net *
small_net(ec2t_context *ctx, ec2t_layer **mid)
{
    ec2t_net *net = NULL;
    ec2t_layer *x;
    ck_assert_ok(ec2t_net_new(ctx, 1, 8, 8, &net));
    ck_assert_ok(ec2t_net_add_conv2d(net, ec2t_net_input(net), 4, 3, 3, 1, 1, 1, 0, &x));
    ck_assert_ok(ec2t_net_add_batchnorm(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_conv2d(net, x, 6, 3, 3, 1, 1, 1, 0, mid));
    ck_assert_ok(ec2t_layer_set_name(*mid, "mid"));
    ck_assert_ok(ec2t_net_add_batchnorm(net, *mid, 0, &x));
    ck_assert_ok(ec2t_net_add_relu(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_global_avgpool(net, x, 0, &x));
    ck_assert_ok(ec2t_net_add_dense(net, x, 3, EC2T_ADD_BIAS, &x));
    ck_assert_ok(ec2t_net_add_softmax_xent(net, x, 0, NULL));
    ck_assert_ok(ec2t_net_init(net, 2));
    return net;
}

static int
distinct_values(const float *v, int64_t n, float *vals, int cap)
{
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen |= vals[j] == v[i];
        if (!seen) {
            if (k == cap)
                return cap + 1;
            vals[k++] = v[i];
        }
    }
    return k;
}

START_TEST(test_tern_selection_and_ternary_weights)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    ec2t_tensor *w;
    int64_t layers;
    double id, wp, wn;
    float vals[4];
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &layers));
    ck_assert_int_eq(layers, 1); /* first and last layer kept */
    ck_assert_ok(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_LAYER_ID, &id));
    ck_assert_int_eq((int)id, ec2t_layer_id(mid));
    ck_assert_ok(ec2t_layer_param(mid, EC2T_PARAM_WEIGHT, &w));
    ck_assert_int_le(distinct_values(ec2t_tensor_data(w), ec2t_tensor_numel(w), vals, 3), 3);
    ck_assert_ok(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_W_P, &wp));
    ck_assert_ok(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_W_N, &wn));
    for (int64_t i = 0; i < ec2t_tensor_numel(w); i++) {
        float v = ec2t_tensor_data(w)[i];
        ck_assert(v == 0.0f || v == (float)wp || v == -(float)wn);
    }
    ec2t_ternarizer_free(tz);
    /* overrides: ternarize the first layer too, keep the middle one */
    {
        ec2t_layer *first;
        ck_assert_ok(ec2t_net_layer(net, 1, &first));
        ck_assert_ok(ec2t_layer_set_int(first, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_TERNARIZE));
        ck_assert_ok(ec2t_layer_set_int(mid, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_KEEP));
        ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
        ck_assert_ok(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_LAYER_ID, &id));
        ck_assert_int_eq((int)id, 1);
        ec2t_ternarizer_free(tz);
        ck_assert_ok(ec2t_layer_set_int(first, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_KEEP));
        ck_assert_status(ec2t_ternarizer_new(net, 0, &tz), EC2T_E_INVAL); /* nothing left */
        ck_assert_ptr_null(tz);
    }
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tern_default_rule_skips_projection_shortcuts)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 1}, widths[2] = {4, 8};
    ec2t_net *net = NULL;
    ec2t_ternarizer *tz = NULL;
    int64_t layers;
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0, 1, 8, 8, 3, 0, &net));
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &layers));
    ck_assert_int_eq(layers, 4); /* the block convs; not the stem, the linear or shortcut.0 */
    for (int32_t i = 0; i < 4; i++) {
        double id;
        ec2t_layer *l;
        ck_assert_ok(ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_LAYER_ID, &id));
        ck_assert_ok(ec2t_net_layer(net, (int32_t)id, &l));
        ck_assert_ptr_nonnull(strstr(ec2t_layer_name(l), ".conv"));
    }
    ec2t_ternarizer_free(tz);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* dL/dw_p and dL/dw_n through the network against central differences. */
START_TEST(test_tern_centroid_gradients)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    float x[4 * 64];
    int32_t y[4] = {0, 1, 2, 1};
    ec2t__tlayer *t;
    float gwp, gwn, cwp, cwn;
    float *sg;
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_net_set_mode(net, EC2T_MODE_EVAL)); /* no batch statistics: smooth */
    for (int i = 0; i < 4 * 64; i++)
        x[i] = sinf(0.37f * (float)i) + 0.1f * (float)(i % 5);
    t = &tz->layers[0];
    sg = malloc((size_t)t->n * sizeof(float));
    ck_assert_ok(ec2t_net_forward_loss(net, x, 4 * 64, y, 4, 4, 0, NULL, NULL));
    ck_assert_ok(ec2t_net_backward(net, 0));
    ec2t__tern_grads(mid->grad[EC2T_PARAM_WEIGHT]->data, t->assign, t->n, t->cent[0], t->cent[1], 0,
                     0, sg, &gwp, &gwn);
    ec2t__tern_grads(mid->grad[EC2T_PARAM_WEIGHT]->data, t->assign, t->n, t->cent[0], t->cent[1], 0,
                     1, sg, &cwp, &cwn);
    for (int c = 0; c < 2; c++) {
        const double eps = 1e-3;
        double up, down, numeric;
        float keep = t->cent[c];
        float l;
        t->cent[c] = keep + (float)eps;
        ec2t__tern_materialise(t->shadow, t->assign, t->n, t->cent[0], t->cent[1], 0,
                               mid->param[EC2T_PARAM_WEIGHT]->data);
        ck_assert_ok(ec2t_net_forward_loss(net, x, 4 * 64, y, 4, 4, 0, &l, NULL));
        up = net->loss;
        t->cent[c] = keep - (float)eps;
        ec2t__tern_materialise(t->shadow, t->assign, t->n, t->cent[0], t->cent[1], 0,
                               mid->param[EC2T_PARAM_WEIGHT]->data);
        ck_assert_ok(ec2t_net_forward_loss(net, x, 4 * 64, y, 4, 4, 0, &l, NULL));
        down = net->loss;
        t->cent[c] = keep;
        numeric = (up - down) / (2 * eps);
        ck_assert_msg(fabs(numeric - (c ? gwn : gwp)) <= 1e-3 + 2e-2 * fabs(numeric),
                      "centroid %d: analytic %g, numeric %g", c, (double)(c ? gwn : gwp), numeric);
    }
    /* the reference's sign is the opposite for w_n, the same for w_p */
    ck_assert_float_eq(cwp, gwp);
    ck_assert_float_eq(cwn, -gwn);
    free(sg);
    ec2t_ternarizer_free(tz);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* Three learnable classes of 8x8 images. */
static ec2t_dataset *
toy(ec2t_context *ctx, int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)(n * 64) * sizeof(float));
    int32_t *y = malloc((size_t)n * sizeof(int32_t));
    ec2t_dataset *ds = NULL;
    ec2t__rng rng;
    ec2t__rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        for (int p = 0; p < 64; p++) {
            int r = p / 8, c = p % 8;
            float pattern = y[i] == 0 ? (r < 4) : y[i] == 1 ? (c < 4) : ((r + c) % 2);
            x[i * 64 + p] = pattern + 0.3f * ec2t__rng_normal(&rng);
        }
    }
    ck_assert_ok(ec2t_dataset_from_arrays(ctx, x, y, n, 1, 8, 8, 3, 0, &ds));
    free(x);
    free(y);
    return ds;
}

static ec2t_trainer *
tern_trainer(ec2t_net *net, ec2t_ternarizer *tz)
{
    ec2t_trainer *tr = NULL;
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_ADAM, 0, &tr));
    ck_assert_ok(ec2t_trainer_group_set_double(tr, 0, EC2T_TRAIN_LR, 1e-3));
    ck_assert_ok(ec2t_trainer_set_int(tr, EC2T_TRAIN_BATCH_SIZE, 16));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_SHADOW, 1e-2));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_CENTROIDS, 1e-3));
    ck_assert_ok(ec2t_ternarizer_attach(tz, tr, 0));
    return tr;
}

START_TEST(test_tern_frozen_phase_keeps_assignment)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_dataset *ds = toy(ctx, 96, 1);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    int8_t *before;
    ec2t__tlayer *t;
    float wp0;
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    tr = tern_trainer(net, tz);
    ck_assert_ok(ec2t_trainer_epoch(tr, ds, 0, NULL, NULL)); /* phase A moves things */
    ck_assert_ok(ec2t_ternarizer_set_int(tz, EC2T_TERN_FROZEN, 1));
    t = &tz->layers[0];
    before = malloc((size_t)t->n);
    memcpy(before, t->assign, (size_t)t->n);
    wp0 = t->cent[0];
    for (int e = 0; e < 2; e++)
        ck_assert_ok(ec2t_trainer_epoch(tr, ds, 0, NULL, NULL));
    ck_assert_int_eq(memcmp(before, t->assign, (size_t)t->n), 0);
    ck_assert(t->cent[0] != wp0); /* the values still train */
    for (int64_t i = 0; i < t->n; i++) {
        float v = mid->param[EC2T_PARAM_WEIGHT]->data[i];
        ck_assert(before[i] == 0 ? v == 0.0f : before[i] > 0 ? v == t->cent[0] : v == -t->cent[1]);
    }
    free(before);
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tern_centroids_stay_above_floor)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_dataset *ds = toy(ctx, 64, 2);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    ec2t__tlayer *t;
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    tr = tern_trainer(net, tz);
    /* a huge centroid learning rate pushes them around hard */
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_LR_CENTROIDS, 5.0));
    t = &tz->layers[0];
    for (int e = 0; e < 3; e++) {
        float fl;
        ck_assert_ok(ec2t_trainer_epoch(tr, ds, 0, NULL, NULL));
        fl = ec2t__tern_floor(t->shadow, t->n, 0.675);
        ck_assert(fl > 0);
        ck_assert_float_ge(t->cent[0], fl);
        ck_assert_float_ge(t->cent[1], fl);
    }
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tern_prune_mode_keeps_values)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    ec2t__tlayer *t;
    double mode;
    ck_assert_ok(ec2t_layer_set_int(mid, EC2T_LAYER_COMPRESSION, EC2T_COMPRESS_PRUNE));
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_GAMMA, 0.3));
    ck_assert_ok(ec2t_ternarizer_update(tz, 0));
    ck_assert_ok(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_MODE, &mode));
    ck_assert_int_eq((int)mode, EC2T_COMPRESS_PRUNE);
    t = &tz->layers[0];
    for (int64_t i = 0; i < t->n; i++) {
        float v = mid->param[EC2T_PARAM_WEIGHT]->data[i];
        ck_assert(t->assign[i] == 0 ? v == 0.0f : v == t->shadow[i]);
    }
    ck_assert_int_gt(t->last.count[1], 0);
    ec2t_ternarizer_free(tz);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

static int
count_epochs(void *user, const ec2t_ternarizer *tz, int32_t phase, int32_t epoch, double acc)
{
    int *calls = user;
    (void)tz;
    (void)epoch;
    ck_assert(phase == 1 || phase == 2);
    ck_assert(acc >= 0 && acc <= 1);
    {
        double sp, g;
        ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &sp);
        ec2t_ternarizer_get_double(tz, EC2T_TERN_CURRENT_GAMMA, &g);
        if (getenv("EC2T_TEST_VERBOSE"))
            fprintf(stderr, "phase %d epoch %d acc %.3f sparsity %.3f gamma %.3f\n", (int)phase,
                    (int)epoch, acc, sp, g);
    }
    calls[phase - 1]++;
    return 0;
}

START_TEST(test_tern_train_schedule_and_target)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 16};
    ec2t_net *net = NULL;
    ec2t_dataset *train = toy(ctx, 240, 3), *val = toy(ctx, 60, 4);
    ec2t_trainer *pre = NULL, *tr;
    ec2t_ternarizer *tz = NULL;
    int calls[2] = {0, 0};
    double sparsity, acc_fp, acc;
    /* a trained float network first */
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0, 1, 8, 8, 3, 0, &net));
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_ADAM, 0, &pre));
    ck_assert_ok(ec2t_trainer_set_int(pre, EC2T_TRAIN_BATCH_SIZE, 16));
    for (int e = 0; e < 3; e++)
        ck_assert_ok(ec2t_trainer_epoch(pre, train, 0, NULL, NULL));
    ec2t_trainer_free(pre);
    ck_assert_ok(ec2t_net_evaluate(net, val, 64, 0, NULL, &acc_fp));
    /* then EC2T aiming at 80 % zeros */
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.8));
    tr = tern_trainer(net, tz);
    ck_assert_ok(ec2t_ternarizer_set_progress(tz, count_epochs, calls));
    ck_assert_ok(ec2t_ternarizer_train(tz, tr, train, val, 4, 2, 0));
    ck_assert_int_eq(calls[0], 4);
    ck_assert_int_eq(calls[1], 2);
    ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &sparsity));
    ck_assert_double_eq_tol(sparsity, 0.8, 0.01);
    {
        double missed, gamma;
        ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_TARGET_MISSED, &missed));
        ck_assert_double_eq(missed, 0);
        ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_CURRENT_GAMMA, &gamma));
        ck_assert_double_le(gamma, 1);
    }
    ck_assert_ok(ec2t_net_evaluate(net, val, 64, 0, NULL, &acc));
    ck_assert_double_gt(acc, 0.6); /* still classifies */
    /* every ternarized layer holds at most three values */
    for (int32_t i = 0; i < tz->n_layers; i++) {
        const ec2t_tensor *w = net->layers[tz->layers[i].layer]->param[EC2T_PARAM_WEIGHT];
        float vals[4];
        ck_assert_int_le(distinct_values(w->data, w->numel, vals, 3), 3);
    }
    (void)acc_fp;
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(train);
    ec2t_dataset_free(val);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

typedef struct warn_capture {
    int warnings;
    char last[1024];
} warn_capture;

static void
capture_warning(void *user, ec2t_log_level level, const char *message)
{
    warn_capture *c = user;
    if (level == EC2T_LOG_WARN) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", message);
    }
}

/* A target beyond the method's bound: gamma stops at 1, where lambda reaches
 * lambda_max in the largest layer, no layer's lambda exceeds its
 * lambda_max, and the run says that the target was missed (statistic and
 * warning) instead of ending quietly at another sparsity. */
START_TEST(test_tern_target_out_of_reach)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 16};
    ec2t_net *net = NULL;
    ec2t_dataset *ds = toy(ctx, 96, 21);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    warn_capture cap = {0, ""};
    double missed, gamma, sparsity;
    int64_t layers = 0;
    ck_assert_ok(ec2t_context_set_log_message_handler(ctx, capture_warning, &cap));
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0, 1, 8, 8, 3, 0, &net));
    ck_assert_ok(ec2t_net_init(net, 3));
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.999));
    tr = tern_trainer(net, tz);
    ck_assert_ok(ec2t_ternarizer_train(tz, tr, ds, ds, 2, 1, 0));
    ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_CURRENT_GAMMA, &gamma));
    ck_assert_double_eq(gamma, 1);
    ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_SPARSITY, &sparsity));
    ck_assert_double_lt(sparsity, 0.999);
    ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_TARGET_MISSED, &missed));
    ck_assert_double_eq(missed, 1);
    ck_assert_int_eq(cap.warnings, 1);
    ck_assert_ptr_nonnull(strstr(cap.last, "out of reach"));
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_LAYERS, &layers));
    ck_assert_int_eq(layers, 4);
    for (int32_t i = 0; i < (int32_t)layers; i++) {
        double lambda, lambda_max;
        ck_assert_ok(ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_LAMBDA, &lambda));
        ck_assert_ok(ec2t_ternarizer_stat(tz, i, EC2T_TSTAT_LAMBDA_MAX, &lambda_max));
        ck_assert_double_le(lambda, lambda_max);
    }
    /* asked of one layer it is refused, with a message saying why */
    ck_assert_status(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_TARGET_MISSED, &missed), EC2T_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "for all layers"));
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A sparsity and a size target together: the run is refused with a message
 * naming both (the sparsity target used to win silently), and so is a
 * training step driven directly; nothing trains. With one of them unset
 * the same objects run. */
START_TEST(test_tern_two_targets_refused)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_dataset *ds = toy(ctx, 48, 22);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    float x[2 * 64] = {0}, loss = 0;
    int32_t y[2] = {0, 1};
    int64_t steps = -1;
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_set_int(tz, EC2T_TERN_TARGET_BYTES, 100));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.7));
    tr = tern_trainer(net, tz);
    ck_assert_status(ec2t_ternarizer_train(tz, tr, ds, ds, 1, 0, 0), EC2T_E_INVAL);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "EC2T_TERN_TARGET_SPARSITY"));
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "EC2T_TERN_TARGET_BYTES"));
    ck_assert_status(ec2t_trainer_step(tr, x, 2 * 64, y, 2, 2, 0, &loss), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_get_int(tr, EC2T_TRAIN_TOTAL_STEPS, &steps));
    ck_assert_int_eq(steps, 0);
    ck_assert_ok(ec2t_ternarizer_set_int(tz, EC2T_TERN_TARGET_BYTES, 0));
    ck_assert_ok(ec2t_ternarizer_train(tz, tr, ds, ds, 1, 0, 0));
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tern_target_bytes)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_dataset *ds = toy(ctx, 96, 6);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    double start, end;
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_EST_BYTES, &start));
    /* the ternary layer's share of the file is what gamma can shrink */
    ck_assert_ok(ec2t_ternarizer_set_int(tz, EC2T_TERN_TARGET_BYTES, (int64_t)(start - 20)));
    tr = tern_trainer(net, tz);
    ck_assert_ok(ec2t_ternarizer_train(tz, tr, ds, ds, 2, 0, 0));
    ck_assert_ok(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_EST_BYTES, &end));
    ck_assert_double_le(end, start - 20);
    ck_assert_double_ge(end, start - 30);
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- stopping and going on (ec2t_ternarizer_train_checkpointed) ---- */

static int
stop_countdown(void *user, const ec2t_ternarizer *tz, int32_t phase, int32_t epoch, double acc)
{
    int *left = user;
    (void)tz, (void)phase, (void)epoch, (void)acc;
    return --*left == 0;
}

/* A fresh network, ternarizer (70 % zeros) and trainer, run for 3 + 2 epochs
 * with a checkpoint; stop after `stop` epochs (0: never). Returns the status
 * and, in *weights (malloc), all named tensors of the network at the end. */
static ec2t_status
resumable_run(ec2t_context *ctx, ec2t_dataset *train, ec2t_dataset *val, const char *ckpt, int stop,
              float **weights, int64_t *n)
{
    const int32_t blocks[2] = {1, 1}, widths[2] = {8, 16};
    ec2t_net *net = NULL;
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr;
    ec2t_status st;
    ck_assert_ok(ec2t_net_build_ec2t_blocks(ctx, 2, blocks, widths, 0, 1, 8, 8, 3, 0, &net));
    ck_assert_ok(ec2t_net_init(net, 5));
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 0.7));
    tr = tern_trainer(net, tz);
    if (stop)
        ck_assert_ok(ec2t_ternarizer_set_progress(tz, stop_countdown, &stop));
    st = ec2t_ternarizer_train_checkpointed(tz, tr, train, val, 3, 2, ckpt, 0);
    *n = ec2t__tz_net_floats(net);
    *weights = malloc((size_t)*n * sizeof(float));
    for (int32_t i = 0, at = 0; i < net->n_params; i++) {
        const ec2t_tensor *t = net->layers[net->params[i].layer]->param[net->params[i].role];
        memcpy(*weights + at, t->data, (size_t)t->numel * sizeof(float));
        at += (int32_t)t->numel;
    }
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_net_free(net);
    return st;
}

/* Stopped after any epoch (in phase A, at its end, in phase B) and started
 * again, a run ends with exactly the network of an uninterrupted one. */
START_TEST(test_tern_resume_equals_uninterrupted)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *train = toy(ctx, 160, 11), *val = toy(ctx, 48, 12);
    const char *ref = test_tmpfile(0, "ref.ckpt"), *ckpt = test_tmpfile(1, "run.ckpt");
    const int stops[3] = {1, 3, 4};
    float *want, *got;
    int64_t n, m;
    ck_assert_ok(resumable_run(ctx, train, val, ref, 0, &want, &n));
    for (int k = 0; k < 3; k++) {
        remove(ckpt);
        ck_assert_status(resumable_run(ctx, train, val, ckpt, stops[k], &got, &m), EC2T_E_ABORTED);
        free(got);
        ck_assert_ok(resumable_run(ctx, train, val, ckpt, 0, &got, &m));
        ck_assert_int_eq(m, n);
        ck_assert_msg(memcmp(got, want, (size_t)n * sizeof(float)) == 0,
                      "stopped after epoch %d: the resumed run ends elsewhere", stops[k]);
        free(got);
    }
    /* a finished run's checkpoint: going on changes nothing */
    ck_assert_ok(resumable_run(ctx, train, val, ref, 0, &got, &m));
    ck_assert_mem_eq(got, want, (size_t)n * sizeof(float));
    free(got);
    free(want);
    ec2t_dataset_free(train);
    ec2t_dataset_free(val);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* A checkpoint of another schedule, or one without the ternarizer's state,
 * is refused and changes nothing. */
START_TEST(test_tern_resume_refuses_other_checkpoints)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_dataset *ds = toy(ctx, 64, 13);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid), *plain_net = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr, *plain = NULL;
    const char *ckpt = test_tmpfile(0, "t.ckpt"), *plain_ckpt = test_tmpfile(1, "p.ckpt");
    float before[6 * 4 * 9];
    remove(ckpt);
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    tr = tern_trainer(net, tz);
    ck_assert_ok(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 1, 1, ckpt, 0));
    memcpy(before, mid->param[EC2T_PARAM_WEIGHT]->data, sizeof before);
    ck_assert_status(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 2, 1, ckpt, 0), EC2T_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(ec2t_context_errmsg(ctx), "1 + 1 epochs"));
    ck_assert_mem_eq(before, mid->param[EC2T_PARAM_WEIGHT]->data, sizeof before);
    ck_assert_status(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 1, 1, NULL, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train_checkpointed(NULL, tr, ds, ds, 1, 1, ckpt, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 1, 1, ckpt, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 1, 1, "/nonexistent-dir/t.ckpt", 0),
                     EC2T_E_IO);
    /* a plain trainer's checkpoint has no ternarizer state, and the other way round */
    ck_assert_ok(ec2t_trainer_new(plain_net, EC2T_OPT_ADAM, 0, &plain));
    ck_assert_ok(ec2t_trainer_save_checkpoint(plain, plain_ckpt, 0));
    ck_assert_status(ec2t_ternarizer_train_checkpointed(tz, tr, ds, ds, 1, 1, plain_ckpt, 0), EC2T_E_FORMAT);
    ck_assert_status(ec2t_trainer_load_checkpoint(plain, ckpt, 0), EC2T_E_FORMAT);
    ec2t_trainer_free(plain);
    ec2t_trainer_free(tr);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_net_free(plain_net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* The reference code's constants and quirks are experimental keys (1000 on):
 * they work through the stable setters, with their defaults and bounds, and
 * the stable key space no longer holds them (their former values 105 to 107
 * are unknown keys now). */
START_TEST(test_tern_experimental_settings)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    double d, lo, hi;
    int64_t v;
    ck_assert_int_ge((int)EC2T_TERN_COMPAT_TTQ_SIGN, 1000);
    ck_assert_int_ge((int)EC2T_TERN_SUSTAIN, 1000);
    ck_assert_int_ge((int)EC2T_TERN_FLOOR, 1000);
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_COMPAT_TTQ_SIGN, &v));
    ck_assert_int_eq(v, 0);
    ck_assert_ok(ec2t_ternarizer_set_int(tz, EC2T_TERN_COMPAT_TTQ_SIGN, 1));
    ck_assert_ok(ec2t_ternarizer_get_int(tz, EC2T_TERN_COMPAT_TTQ_SIGN, &v));
    ck_assert_int_eq(v, 1);
    ck_assert_status(ec2t_ternarizer_set_int(tz, EC2T_TERN_COMPAT_TTQ_SIGN, 2), EC2T_E_INVAL);
    ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_SUSTAIN, &d));
    ck_assert_double_eq(d, 0.05);
    ck_assert_ok(ec2t_ternarizer_set_double(tz, EC2T_TERN_SUSTAIN, 0.1));
    ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_SUSTAIN, &d));
    ck_assert_double_eq(d, 0.1);
    ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_FLOOR, &d));
    ck_assert_double_eq(d, 0.675);
    ck_assert_ok(ec2t_ternarizer_param_bounds(EC2T_TERN_FLOOR, &lo, &hi));
    ck_assert_double_eq(lo, 0);
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_FLOOR, -1), EC2T_E_INVAL);
    for (int k = 105; k <= 107; k++) {
        ck_assert_status(ec2t_ternarizer_get_double(tz, (ec2t_tern_param)k, &d), EC2T_E_UNSUPPORTED);
        ck_assert_status(ec2t_ternarizer_param_bounds((ec2t_tern_param)k, &lo, &hi),
                         EC2T_E_UNSUPPORTED);
    }
    ec2t_ternarizer_free(tz);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_tern_bad_args)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t_layer *mid;
    ec2t_net *net = small_net(ctx, &mid), *other = small_net(ctx, &mid);
    ec2t_ternarizer *tz = NULL;
    ec2t_trainer *tr = NULL, *tr2 = NULL;
    ec2t_dataset *ds = toy(ctx, 8, 5);
    double d, lo, hi;
    int64_t v;
    ck_assert_status(ec2t_ternarizer_new(NULL, 0, &tz), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_new(net, 1, &tz), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_new(net, 0, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_ternarizer_new(net, 0, &tz));
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_GAMMA, -1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_TARGET_SPARSITY, 1.0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_FROZEN, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_int(tz, EC2T_TERN_GAMMA, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_int(tz, EC2T_TERN_INIT, 7), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_CURRENT_GAMMA, 1), EC2T_E_STATE);
    ck_assert_status(ec2t_ternarizer_set_double(tz, (ec2t_tern_param)999, 1), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_ternarizer_get_double(tz, (ec2t_tern_param)999, &d), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_ternarizer_get_double(tz, EC2T_TERN_GAMMA, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_get_int(tz, EC2T_TERN_GAMMA, &v), EC2T_E_INVAL);
    ck_assert_ok(ec2t_ternarizer_get_double(tz, EC2T_TERN_GAMMA, &d));
    ck_assert_double_eq(d, 0.15);
    ck_assert_ok(ec2t_ternarizer_param_bounds(EC2T_TERN_GAMMA, &lo, &hi));
    ck_assert_double_eq(lo, 0);
    ck_assert_status(ec2t_ternarizer_param_bounds((ec2t_tern_param)999, &lo, &hi), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_ternarizer_param_bounds(EC2T_TERN_GAMMA, NULL, &hi), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_stat(tz, 1, EC2T_TSTAT_SPARSITY, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_stat(tz, -1, EC2T_TSTAT_W_P, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_stat(tz, 0, (ec2t_tern_stat)999, &d), EC2T_E_UNSUPPORTED);
    ck_assert_status(ec2t_ternarizer_stat(tz, 0, EC2T_TSTAT_W_P, NULL), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_new(other, EC2T_OPT_SGD, 0, &tr2));
    ck_assert_status(ec2t_ternarizer_attach(tz, tr2, 0), EC2T_E_INVAL); /* another network */
    ck_assert_ok(ec2t_trainer_new(net, EC2T_OPT_SGD, 0, &tr));
    ck_assert_status(ec2t_ternarizer_train(tz, tr, ds, ds, 1, 1, 0), EC2T_E_STATE);
    ck_assert_status(ec2t_ternarizer_attach(tz, tr, 1), EC2T_E_INVAL);
    ck_assert_ok(ec2t_ternarizer_attach(tz, tr, 0));
    ck_assert_status(ec2t_ternarizer_attach(tz, tr, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train(tz, tr, NULL, ds, 1, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train(tz, tr, ds, ds, -1, 1, 0), EC2T_E_INVAL);
    ck_assert_ok(ec2t_trainer_step(tr, (float[64]){0}, 64, (int32_t[1]){0}, 1, 1, 0, NULL));
    ck_assert_status(ec2t_ternarizer_set_double(tz, EC2T_TERN_INIT_SCALE, 0.5), EC2T_E_STATE);
    ck_assert_status(ec2t_ternarizer_update(tz, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_double(NULL, EC2T_TERN_GAMMA, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_int(NULL, EC2T_TERN_FROZEN, 1), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_get_double(NULL, EC2T_TERN_GAMMA, &d), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_get_int(NULL, EC2T_TERN_FROZEN, &v), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_attach(NULL, tr, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_set_progress(NULL, NULL, NULL), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_train(NULL, tr, ds, ds, 1, 1, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_update(NULL, 0), EC2T_E_INVAL);
    ck_assert_status(ec2t_ternarizer_stat(NULL, 0, EC2T_TSTAT_W_P, &d), EC2T_E_INVAL);
    ec2t_ternarizer_free(NULL);
    ec2t_trainer_free(tr);
    ec2t_trainer_free(tr2);
    ec2t_ternarizer_free(tz);
    ec2t_dataset_free(ds);
    ec2t_net_free(net);
    ec2t_net_free(other);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("ternarize");
    TCase *tc = tcase_create("ternarize");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_tern_worked_example);
    tcase_add_test(tc, test_tern_gamma_zero_is_nearest_value);
    tcase_add_test(tc, test_tern_sparsity_grows_with_gamma);
    tcase_add_test(tc, test_tern_vector_loops_match_reference);
    tcase_add_test(tc, test_tern_target_out_of_reach);
    tcase_add_test(tc, test_tern_two_targets_refused);
    tcase_add_test(tc, test_tern_edge_cases_are_finite);
    tcase_add_test(tc, test_tern_pmf_redistribution);
    tcase_add_test(tc, test_tern_kmeans_init);
    tcase_add_test(tc, test_tern_selection_and_ternary_weights);
    tcase_add_test(tc, test_tern_default_rule_skips_projection_shortcuts);
    tcase_add_test(tc, test_tern_centroid_gradients);
    tcase_add_test(tc, test_tern_frozen_phase_keeps_assignment);
    tcase_add_test(tc, test_tern_centroids_stay_above_floor);
    tcase_add_test(tc, test_tern_prune_mode_keeps_values);
    tcase_add_test(tc, test_tern_train_schedule_and_target);
    tcase_add_test(tc, test_tern_target_bytes);
    tcase_add_test(tc, test_tern_resume_equals_uninterrupted);
    tcase_add_test(tc, test_tern_resume_refuses_other_checkpoints);
    tcase_add_test(tc, test_tern_experimental_settings);
    tcase_add_test(tc, test_tern_bad_args);
    suite_add_tcase(s, tc);
    return s;
}
