/* SPDX-License-Identifier: MIT */
/* The BLAS under libec2t: what the library asks of OpenBLAS, looked up at run
 * time so that any CBLAS works. */
#ifndef EC2T_BLAS_PRIVATE_H
#define EC2T_BLAS_PRIVATE_H

#include <ec2t/common.h>

/* Logs a warning if OpenBLAS runs a generic core on a CPU with AVX2 or
 * AVX-512 (at a network's plan). Changes no BLAS setting. */
void ec2t__blas_setup(ec2t_context *ctx);
/* The OpenBLAS core name, or "unknown" when the BLAS is not OpenBLAS. */
const char *ec2t__blas_corename(void);
/* Bracket a job of the library's workers, who each call BLAS on a part: the
 * first begin (in the process) sets OpenBLAS to one thread, the last end
 * restores the count it found. Nothing happens with a BLAS that cannot both
 * read and set its thread count. Safe from any thread. */
void ec2t__blas_workers_begin(void);
void ec2t__blas_workers_end(void);

#endif /* EC2T_BLAS_PRIVATE_H */
