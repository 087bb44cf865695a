/* SPDX-License-Identifier: MIT */
/* main() of the -mpi variants of ec2t-train, ec2t-ternarize and ec2t-demo:
 * their own main is compiled as ex_program_main (-Dmain=ex_program_main).
 * MPI starts around it; ranks other than 0 print no progress (stdout goes
 * to /dev/null; errors still reach stderr); a rank that fails ends the
 * whole job with MPI_Abort, since the others may be waiting for it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "ex-common.h"

int
main(int argc, char **argv)
{
    int rank = 0, rc;
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "MPI_Init failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0 && !getenv("EC2T_MPI_ALL_OUTPUT") && !freopen("/dev/null", "w", stdout))
        return 1;
    rc = ex_program_main(argc, argv);
    fflush(stdout);
    if (rc != 0)
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return rc;
}
