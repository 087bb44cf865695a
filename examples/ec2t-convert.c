/* SPDX-License-Identifier: MIT */
/* ec2t-convert: PyTorch weights (safetensors, state_dict names) or a libec2t
 * model file into a model file, a deployable .ec2t file or safetensors. */
#include <stdlib.h>
#include <string.h>

#include "ex-common.h"

static const char *const PROG = "ec2t-convert";

static void
usage(void)
{
    printf("usage: ec2t-convert --arch NAME [options] IN.safetensors OUT\n"
           "       ec2t-convert MODEL OUT\n"
           "Build the named architecture, copy the tensors of IN into it by name and save it;\n"
           "or load a libec2t model file (or checkpoint) MODEL, whose architecture it holds.\n"
           "OUT ending in .ec2t is compiled for the inference engine (ternary layers packed);\n"
           "OUT ending in .safetensors gets every named tensor, F32 under its PyTorch\n"
           "state_dict name (load_state_dict of the same architecture accepts it);\n"
           "any other name gets a model file (for ec2t-train, ec2t-ternarize, ec2t-scale).\n\n"
           "  --arch NAME         lenet5, resnet20 or resnetN (N = 6k+2): the CIFAR ResNet of\n"
           "                      He et al. with PyTorch names conv1, bn1, layerS.B.*, linear;\n"
           "                      micronet: the EC2T-block baseline (ec2t_net_build_named)\n"
           "  --input C,H,W       with --arch: input shape (default 3,32,32 for ResNets,\n"
           "                      1,28,28 for LeNet-5)\n"
           "  --classes N         with --arch: number of classes (default 10)\n"
           "  --encoding NAME     entropy (default) or raw, for .ec2t output\n"
           "  --float-bits N      32 (default, exact) or 16 (half precision: smaller, lossy)\n"
           "                      for the float weights, biases and scales of an entropy .ec2t\n"
           "  -h, --help          this text\n\n"
           "Ends with 'key: value' lines: params, ternary_layers, file_bytes.\n");
}

static int
parse_shape(const char *s, long long *c, long long *h, long long *w)
{
    char extra;
    return sscanf(s, "%lld,%lld,%lld%c", c, h, w, &extra) == 3 && *c >= 1 && *c <= 4096 && *h >= 1 &&
                   *h <= 65536 && *w >= 1 && *w <= 65536
               ? 0
               : 1;
}

/* The file name without its directories: where a deployed file came from,
 * without the converting machine's layout. */
static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
main(int argc, char **argv)
{
    const char *arch = NULL, *in = NULL, *out = NULL, *encoding = "entropy";
    long long c = 0, h = 0, w = 0, classes = 10, float_bits = 32;
    ec2t_context *ctx = NULL;
    ec2t_net *net = NULL;
    ec2t_engine *engine = NULL;
    int64_t tern = 0;
    ec2t_status st;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            return 0;
        } else if (a[0] != '-') {
            if (!in)
                in = a;
            else if (!out)
                out = a;
            else
                return ex_usage_error(PROG, "too many arguments");
            continue;
        } else if (!v) {
            return ex_usage_error(PROG, "%s needs a value", a);
        } else if (!strcmp(a, "--arch")) {
            arch = v;
        } else if (!strcmp(a, "--input")) {
            if (parse_shape(v, &c, &h, &w))
                return ex_usage_error(PROG, "bad --input '%s' (C,H,W)", v);
        } else if (!strcmp(a, "--classes")) {
            if (ex_parse_int(v, 1, 1 << 20, &classes))
                return ex_usage_error(PROG, "bad --classes '%s'", v);
        } else if (!strcmp(a, "--encoding")) {
            encoding = v;
            if (strcmp(v, "entropy") && strcmp(v, "raw"))
                return ex_usage_error(PROG, "bad --encoding '%s' (entropy or raw)", v);
        } else if (!strcmp(a, "--float-bits")) {
            if (ex_parse_int(v, 16, 32, &float_bits) || (float_bits != 16 && float_bits != 32))
                return ex_usage_error(PROG, "bad --float-bits '%s' (32 or 16)", v);
        } else {
            return ex_usage_error(PROG, "unknown option '%s'", a);
        }
        i++;
    }
    if (!in || !out)
        return ex_usage_error(PROG, "an input and an output are needed");
    if (!arch != !ends_with(in, ".safetensors"))
        return ex_usage_error(PROG, "--arch goes with a .safetensors input, and only with it");
    if (c == 0 && arch) {
        int lenet = !strcmp(arch, "lenet5");
        c = lenet ? 1 : 3;
        h = w = lenet ? 28 : 32;
    }
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return ex_fail(PROG, "out of memory");
    ec2t_context_set_log_handler(ctx, ex_log_stderr, (void *)PROG);
    if (arch) {
        st = ec2t_net_build_named(ctx, arch, (int32_t)c, (int32_t)h, (int32_t)w, (int32_t)classes, 0,
                                  &net);
        if (st == EC2T_E_UNSUPPORTED) {
            rc = ex_usage_error(PROG, "unknown architecture '%s' (lenet5, resnetN, micronet)", arch);
            goto out;
        }
        if (st == EC2T_OK)
            st = ec2t_net_import_safetensors(net, in, 0);
    } else {
        st = ec2t_net_load(ctx, in, 0, &net);
    }
    if (st != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, in, st);
        goto out;
    }
    if (ends_with(out, ".ec2t")) {
        st = ec2t_engine_compile(net, 0, &engine);
        if (st == EC2T_OK)
            st = ec2t_engine_set_int(engine, EC2T_ENGINE_ENCODING,
                                     strcmp(encoding, "raw") ? EC2T_ENCODING_ENTROPY : EC2T_ENCODING_RAW);
        if (st == EC2T_OK)
            st = ec2t_engine_set_int(engine, EC2T_ENGINE_FLOAT_BITS, float_bits);
        if (st == EC2T_OK)
            st = ec2t_engine_set_meta(engine, "source", base_name(in));
        if (st == EC2T_OK && arch)
            st = ec2t_engine_set_meta(engine, "architecture", arch);
        if (st == EC2T_OK)
            st = ec2t_engine_save(engine, out, 0);
        if (st == EC2T_OK)
            ec2t_engine_get_int(engine, EC2T_ENGINE_TERNARY_LAYERS, &tern);
    } else if (ends_with(out, ".safetensors")) {
        st = ec2t_net_export_safetensors(net, out, 0);
    } else {
        st = ec2t_net_save(net, out, 0);
    }
    if (st != EC2T_OK) {
        rc = ex_fail_status(PROG, ctx, out, st);
        goto out;
    }
    printf("output: %s\nparams: %lld\nternary_layers: %lld\nfile_bytes: %lld\n", out,
           (long long)ec2t_net_trainable_count(net), (long long)tern, ex_file_size(out));
    rc = 0;
out:
    ec2t_engine_free(engine);
    ec2t_net_free(net);
    ec2t_context_free(ctx);
    return rc;
}
