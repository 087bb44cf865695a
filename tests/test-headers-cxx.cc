// SPDX-License-Identifier: MIT
// Compiled as C++ with -pedantic -Werror and linked: proves the extern "C"
// guards (a missing guard fails at link time with mangled names), of the
// experimental header too.
#define EC2T_ENABLE_EXPERIMENTAL
#include <ec2t/ec2t.h>

#include <cstring>

int
main()
{
    ec2t_context *ctx = nullptr;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    int rc = std::strcmp(ec2t_version_string(), EC2T_VERSION_STRING) == 0 ? 0 : 1;
    if (ec2t_trainer_set_teachers(nullptr, nullptr, 0, 1, 0) != EC2T_E_INVAL ||
        ec2t_ternarizer_set_int(nullptr, EC2T_TERN_COMPAT_TTQ_SIGN, 1) != EC2T_E_INVAL)
        rc = 1;
    ec2t_context_free(ctx);
    return rc;
}
