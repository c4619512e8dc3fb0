/* Data-parallel training cases, written once and run on every kind of comm: a group of
 * threads (test_comm.c) and MPI (test_mpi_train.c). Each case runs on every rank with
 * that rank's comm and returns how many of its checks failed on this rank, after
 * printing each failure. The cases compare against trainings without a comm, which
 * every rank computes on its own. */
#ifndef GAN_COMM_CASES_H
#define GAN_COMM_CASES_H

#include "gan.h"

typedef int (*comm_case_fn)(const gan_comm *comm);

typedef struct comm_case {
    const char *name;
    comm_case_fn run;
} comm_case;

/* The cases, ended by a {NULL, NULL} entry. */
extern const comm_case comm_cases[];

/* A comm of one rank gives exactly the bits of no comm: run it with a comm of one rank. */
int comm_case_one_rank(const gan_comm *comm);

/* With `on`, install an allocator that counts the allocations of this process (every
 * thread), so that the case "allocates_nothing" can check that a warmed-up step makes
 * none on any rank; without, restore the default and skip that case. Call it while no
 * libgan object is alive. Returns gan_set_allocator()'s status. */
int comm_cases_count_allocations(int on);

#endif
