// Compiled as C++11 with -pedantic -Werror: gan_mpi.h must be usable from C++. The MPI C
// API only: without OMPI_SKIP_MPICXX Open MPI's mpi.h brings its C++ bindings, which
// need -lmpi_cxx and are not warning-clean (docs/mpi.md).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include "gan_mpi.h"

int main()
{
    gan_comm c = gan_comm();
    if (gan_mpi_comm(&c, MPI_COMM_WORLD) != GAN_EINVAL) return 1; // MPI not initialised
    gan_mpi_comm_free(&c);
    return c.ctx == nullptr ? 0 : 1;
}
