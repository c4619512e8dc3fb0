/* Data-parallel training over MPI (libgan_mpi): every case of comm_cases.c, run by
 * tests/mpirun.sh on N ranks, then a one-rank comm (MPI_COMM_SELF) against no comm. The
 * first argument is the rank count the run must have: a binary started without the
 * right launcher runs as N one-rank copies that would each pass, and fails here. Every
 * rank runs every case; the verdict is agreed over MPI_COMM_WORLD, so no rank leaves
 * while another waits. */
#define OMPI_SKIP_MPICXX 1
#include "gan_mpi.h"
#include "comm_cases.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, expected = argc > 1 ? atoi(argv[1]) : 0, fails = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != expected || size < 2) {
        if (rank == 0) fprintf(stderr, "test_mpi_train: %d ranks, expected %d (at least 2)\n", size, expected);
        MPI_Finalize();
        return 1;
    }
    comm_cases_count_allocations(1);
    gan_comm world, self;
    if (gan_mpi_comm(&world, MPI_COMM_WORLD) != GAN_OK || gan_mpi_comm(&self, MPI_COMM_SELF) != GAN_OK) {
        fprintf(stderr, "rank %d: gan_mpi_comm failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1); /* the test's own setup; the library never aborts */
    }
    for (const comm_case *c = comm_cases; c->name; c++) {
        int mine = c->run(&world), all = 0;
        MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (rank == 0) printf("%-20s %s (%d failed checks over %d ranks)\n", c->name, all ? "FAIL" : "ok", all, size);
        fails += all;
    }
    int mine = comm_case_one_rank(&self), all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%-20s %s\n", "one_rank", all ? "FAIL" : "ok");
    fails += all;
    gan_mpi_comm_free(&world);
    gan_mpi_comm_free(&self);
    MPI_Finalize();
    return fails ? 1 : 0;
}
