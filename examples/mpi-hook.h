/* SPDX-License-Identifier: MIT */
/* The trainer's collective hook over MPI (MPI_COMM_WORLD), for the -mpi
 * variants of the example programs and the mpirun test. */
#ifndef EC2T_MPI_HOOK_H
#define EC2T_MPI_HOOK_H

#ifndef EC2T_ENABLE_EXPERIMENTAL
#define EC2T_ENABLE_EXPERIMENTAL
#endif
#include <ec2t/ec2t.h>

/* The hook table over MPI_COMM_WORLD (MPI must be initialised). */
const ec2t_collective *ex_mpi_collective(void);
/* Make a trainer data-parallel over MPI_COMM_WORLD; without more than one
 * rank it stays a plain trainer. */
ec2t_status ex_mpi_attach(ec2t_trainer *tr);
/* This process's rank (0 without MPI). */
int ex_mpi_rank(void);

#endif /* EC2T_MPI_HOOK_H */
