/* Compiled as C99 with -pedantic -Werror: gan_mpi.h must stay clean. Run without a
 * launcher and before MPI_Init: gan_mpi_comm refuses, and freeing is safe. */
#include "gan_mpi.h"

#include <string.h>

int main(void)
{
    gan_comm c;
    memset(&c, 0xA5, sizeof c);
    if (gan_mpi_comm(&c, MPI_COMM_WORLD) != GAN_EINVAL || c.ctx != NULL) return 1;
    gan_mpi_comm_free(&c);
    gan_mpi_comm_free(NULL);
    return gan_mpi_comm(NULL, MPI_COMM_WORLD) == GAN_EINVAL ? 0 : 1;
}
