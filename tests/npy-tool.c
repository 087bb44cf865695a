/* SPDX-License-Identifier: MIT */
/* Helper of npy-interop.py, using only the public API:
 *   npy-tool write PATH D0 [D1 ...]  writes a seeded random tensor and prints it
 *   npy-tool read PATH               loads a file and prints it
 * Output: "shape d0 d1 ..." then one line of hex words (IEEE bits). Exit code
 * 0 on success, 3 when the file was rejected (status name on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ec2t/ec2t.h>

static void
dump(ec2t_tensor *t)
{
    int32_t rank = ec2t_tensor_rank(t);
    float *v = ec2t_tensor_data(t);
    printf("shape");
    for (int32_t i = 0; i < rank; i++)
        printf(" %lld", (long long)ec2t_tensor_dim(t, i));
    printf("\n");
    for (int64_t i = 0; i < ec2t_tensor_numel(t); i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        printf("%08x%c", u, i + 1 < ec2t_tensor_numel(t) ? ' ' : '\n');
    }
}

int
main(int argc, char **argv)
{
    ec2t_context *ctx = NULL;
    ec2t_tensor *t = NULL;
    ec2t_status st;
    int rc = 0;
    if (argc < 3 || ec2t_context_new(&ctx) != EC2T_OK) {
        fprintf(stderr, "usage: npy-tool write PATH D0 [D1 ...] | read PATH\n");
        return 2;
    }
    if (strcmp(argv[1], "write") == 0 && argc >= 4 && argc <= 7) {
        int64_t dims[4];
        for (int i = 3; i < argc; i++)
            dims[i - 3] = atoll(argv[i]);
        st = ec2t_tensor_new(ctx, argc - 3, dims, &t);
        if (st == EC2T_OK)
            st = ec2t_tensor_init_normal(t, 0.0f, 3.0f, 2026);
        if (st == EC2T_OK)
            st = ec2t_tensor_save_npy(t, argv[2], 0);
    } else if (strcmp(argv[1], "read") == 0 && argc == 3) {
        st = ec2t_tensor_load_npy(ctx, argv[2], 0, &t);
    } else {
        fprintf(stderr, "npy-tool: bad arguments\n");
        ec2t_context_free(ctx);
        return 2;
    }
    if (st == EC2T_OK) {
        dump(t);
    } else {
        fprintf(stderr, "%s: %s\n", ec2t_status_string(st), ec2t_context_errmsg(ctx));
        rc = 3;
    }
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
    return rc;
}
