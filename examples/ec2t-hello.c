/* SPDX-License-Identifier: MIT */
/* ec2t-hello: the smallest libec2t program. It prints the library version,
 * fills a tensor with seeded random values, saves it as .npy, loads it back
 * and checks that every value survived. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

static int
fail(ec2t_context *ctx, const char *what, ec2t_status st)
{
    fprintf(stderr, "ec2t-hello: %s: %s (%s)\n", what, ec2t_status_string(st),
            ec2t_context_errmsg(ctx));
    return 1;
}

int
main(int argc, char **argv)
{
    const char *path = "ec2t-hello.npy";
    const int64_t dims[4] = {2, 3, 4, 5};
    ec2t_context *ctx = NULL;
    ec2t_tensor *a = NULL, *b = NULL;
    float *va, *vb;
    int64_t n, mismatches = 0;
    ec2t_status st;
    int rc = 1;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ec2t-hello [FILE.npy]\n"
               "Prints the libec2t version and round-trips a random tensor through FILE.npy\n"
               "(default ./ec2t-hello.npy).\n");
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "ec2t-hello: too many arguments (try --help)\n");
        return 2;
    }
    if (argc == 2)
        path = argv[1];

    printf("libec2t %s (header %s)\n", ec2t_version_string(), EC2T_VERSION_STRING);
    if ((st = ec2t_context_new(&ctx)) != EC2T_OK) {
        fprintf(stderr, "ec2t-hello: cannot create a context: %s\n", ec2t_status_string(st));
        return 1;
    }
    if ((st = ec2t_tensor_new(ctx, 4, dims, &a)) != EC2T_OK) {
        rc = fail(ctx, "tensor", st);
        goto out;
    }
    if ((st = ec2t_tensor_init_normal(a, 0.0f, 1.0f, 42)) != EC2T_OK ||
        (st = ec2t_tensor_save_npy(a, path, 0)) != EC2T_OK) {
        rc = fail(ctx, path, st);
        goto out;
    }
    if ((st = ec2t_tensor_load_npy(ctx, path, 0, &b)) != EC2T_OK) {
        rc = fail(ctx, path, st);
        goto out;
    }
    n = ec2t_tensor_numel(a);
    va = ec2t_tensor_data(a);
    vb = ec2t_tensor_data(b);
    for (int64_t i = 0; i < n; i++)
        mismatches += memcmp(&va[i], &vb[i], sizeof(float)) != 0;
    printf("file: %s\nelements: %lld\nmismatches: %lld\n", path, (long long)n,
           (long long)mismatches);
    rc = mismatches == 0 ? 0 : 1;
out:
    ec2t_tensor_free(a);
    ec2t_tensor_free(b);
    ec2t_context_free(ctx);
    return rc;
}
