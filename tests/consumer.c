/* SPDX-License-Identifier: MIT */
/* Built by install-test.sh against an installed libec2t through pkg-config,
 * with the experimental header opted in: it is installed, and its functions
 * link under their own version node. */
#include <stdio.h>

#define EC2T_ENABLE_EXPERIMENTAL
#include <ec2t/ec2t.h>

int
main(void)
{
    ec2t_context *ctx = NULL;
    ec2t_tensor *t = NULL;
    const int64_t dims[2] = {3, 4};
    int ok;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    ok = ec2t_tensor_new(ctx, 2, dims, &t) == EC2T_OK && ec2t_tensor_numel(t) == 12 &&
         ec2t_version_number() == EC2T_VERSION_NUMBER &&
         ec2t_trainer_set_teachers(NULL, NULL, 0, 1, 0) == EC2T_E_INVAL;
    printf("C consumer: libec2t %s %s\n", ec2t_version_string(), ok ? "ok" : "FAILED");
    ec2t_tensor_free(t);
    ec2t_context_free(ctx);
    return ok ? 0 : 1;
}
