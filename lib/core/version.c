/* SPDX-License-Identifier: MIT */
/* Version queries and status texts: the parts of the API that need no context. */
#include <ec2t/common.h>
#include <ec2t/version.h>

EC2T_API uint32_t
ec2t_version_number(void)
{
    return EC2T_VERSION_NUMBER;
}

EC2T_API const char *
ec2t_version_string(void)
{
    return EC2T_VERSION_STRING;
}

EC2T_API const char *
ec2t_status_string(ec2t_status status)
{
    switch (status) {
    case EC2T_OK: return "success";
    case EC2T_E_INVAL: return "invalid argument";
    case EC2T_E_NOMEM: return "out of memory";
    case EC2T_E_IO: return "input/output error";
    case EC2T_E_FORMAT: return "malformed or inconsistent data";
    case EC2T_E_UNSUPPORTED: return "not supported";
    case EC2T_E_STATE: return "call not valid in the current state";
    case EC2T_E_RANGE: return "buffer too small";
    case EC2T_E_ABORTED: return "aborted by the caller";
    case EC2T_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}
