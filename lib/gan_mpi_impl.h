/* libgan_mpi's context, shared with tests/test_mpi_comm.c, which compiles lib/gan_mpi.c
 * in with a small chunk and looks at the duplicate's error handler. */
#ifndef GAN_MPI_IMPL_H
#define GAN_MPI_IMPL_H

#include "gan_mpi.h"

#include <limits.h>

/* Most elements one MPI call carries: MPI counts are int. A test build lowers it to cross
 * chunk boundaries with small buffers. */
#ifndef GAN_MPI_CHUNK
#define GAN_MPI_CHUNK (1 << 30)
#endif
_Static_assert(GAN_MPI_CHUNK > 0 && GAN_MPI_CHUNK <= INT_MAX, "GAN_MPI_CHUNK must fit an MPI count");

/* What gan_comm.ctx points to: the duplicate and this rank's place in it. */
typedef struct gan_mpi_ctx {
    MPI_Comm comm;
    int rank;
    int ranks;
} gan_mpi_ctx;

#endif
