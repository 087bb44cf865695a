/* SPDX-License-Identifier: MIT */
/* Compiled with -std=c11 -pedantic -Werror: the public headers are clean C11.
 * Each header is included on its own first, proving it is self-contained. */
#include <ec2t/common.h>
#include <ec2t/tensor.h>
#include <ec2t/version.h>
#include <ec2t/ec2t.h>
#include <ec2t/ec2t.h> /* include guards */

int
main(void)
{
    return ec2t_version_number() == EC2T_VERSION_NUMBER ? 0 : 1;
}
