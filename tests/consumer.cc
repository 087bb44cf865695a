// SPDX-License-Identifier: MIT
// Built by install-test.sh as C++ against an installed libec2t.
#include <ec2t/ec2t.h>

#include <cstdio>
#include <memory>

int
main()
{
    ec2t_context *raw = nullptr;
    if (ec2t_context_new(&raw) != EC2T_OK)
        return 1;
    std::unique_ptr<ec2t_context, decltype(&ec2t_context_free)> ctx(raw, ec2t_context_free);
    const int64_t dims[1] = {5};
    ec2t_tensor *t = nullptr;
    bool ok = ec2t_tensor_new(ctx.get(), 1, dims, &t) == EC2T_OK && ec2t_tensor_numel(t) == 5;
    ec2t_tensor_free(t);
    std::printf("C++ consumer: libec2t %s %s\n", ec2t_version_string(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
