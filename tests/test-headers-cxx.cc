// SPDX-License-Identifier: MIT
// Compiled as C++ with -pedantic -Werror and linked: proves the extern "C"
// guards (a missing guard fails at link time with mangled names).
#include <ec2t/ec2t.h>

#include <cstring>

int
main()
{
    ec2t_context *ctx = nullptr;
    if (ec2t_context_new(&ctx) != EC2T_OK)
        return 1;
    int rc = std::strcmp(ec2t_version_string(), EC2T_VERSION_STRING) == 0 ? 0 : 1;
    ec2t_context_free(ctx);
    return rc;
}
