/* SPDX-License-Identifier: MIT */
/* Compiled with -std=c11 -pedantic -Werror: the public headers are clean C11.
 * Each header is included on its own first, proving it is self-contained.
 * The stable headers declare nothing experimental; the experimental header,
 * opted in after them, declares it, and its functions link. */
#include <ec2t/common.h>
#include <ec2t/tensor.h>
#include <ec2t/version.h>
#include <ec2t/ec2t.h>
#include <ec2t/ec2t.h> /* include guards */

#if defined(EC2T_EXPERIMENTAL_H) || defined(EC2T_TRAIN_TEACHER_MIRROR) || \
    defined(EC2T_REPORT_COMPAT_SCRIPT) || defined(EC2T_TERN_COMPAT_TTQ_SIGN)
#error "the stable headers declare experimental names"
#endif

#define EC2T_ENABLE_EXPERIMENTAL
#include <ec2t/experimental.h>
#include <ec2t/experimental.h> /* include guards */

int
main(void)
{
    ec2t_scale_progress_fn fn = 0;
    int ok = ec2t_version_number() == EC2T_VERSION_NUMBER &&
             ec2t_trainer_set_teachers(NULL, NULL, 0, 1, 0) == EC2T_E_INVAL &&
             ec2t_trainer_set_int(NULL, EC2T_TRAIN_TEACHER_MIRROR, 1) == EC2T_E_INVAL &&
             ec2t_scaler_grid_search(NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, fn, NULL, NULL) ==
                 EC2T_E_INVAL &&
             (EC2T_REPORT_COMPAT_SCRIPT & 0xffffu) == 0;
    return ok ? 0 : 1;
}
