/**
 * @file gan_mpi.h
 * @brief libgan_mpi: a gan_comm from an MPI communicator.
 *
 * A separate library (libgan_mpi.so, pkg-config `gan-mpi`) so that libgan itself never
 * links MPI. Link it and MPI, call MPI_Init, fill a gan_comm with gan_mpi_comm() and hand
 * it to gan_trainer_set_comm(). See docs/mpi.md.
 *
 * The functions here return status codes only: they set no message for
 * gan_error_last(), which may still hold one from an earlier libgan call.
 *
 * C++ programs that use only MPI's C API should define OMPI_SKIP_MPICXX and
 * MPICH_SKIP_MPICXX before including this header, or Open MPI's mpi.h brings in its C++
 * bindings, which need -lmpi_cxx.
 */
#ifndef GAN_MPI_H
#define GAN_MPI_H

#include <mpi.h>

#include "gan.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @def GAN_MPI_API
 * @brief Marks every exported declaration of libgan_mpi.
 *
 * Expands to default visibility with GCC and Clang while libgan_mpi itself is built
 * (GAN_MPI_BUILDING defined; everything else is hidden), and to nothing for programs
 * that include the header.
 */
#if defined(__GNUC__) && defined(GAN_MPI_BUILDING)
#define GAN_MPI_API __attribute__((visibility("default")))
#else
#define GAN_MPI_API
#endif

/**
 * Fill @p out with collectives over a duplicate of @p comm (MPI_Comm_dup), so that
 * libgan's messages never meet the program's. The duplicate returns errors
 * (MPI_ERRORS_RETURN) instead of aborting the job: a callback that fails returns its MPI
 * error code (positive; MPI_Error_string() describes it), and the trainer then returns
 * GAN_EUSER. The caller's @p comm keeps its own error handler.
 *
 * allreduce_sum reduces to rank 0 and broadcasts the result (MPI_Reduce, then
 * MPI_Bcast), so every rank gets the same bits, which MPI_Allreduce does not promise.
 * agree_min is one MPI_Allreduce (MPI_MIN of MPI_INT64_T). broadcast is MPI_Bcast of
 * bytes. Buffers of more than INT_MAX elements travel in several calls.
 *
 * Collective over @p comm: every rank calls it. The callbacks call MPI on the thread that
 * calls them; MPI_THREAD_FUNNELED is enough when one thread drives libgan, and trainers
 * on several threads at once need MPI_THREAD_MULTIPLE and one gan_mpi_comm() each.
 *
 * @param[out] out the comm, for gan_trainer_set_comm(); zeroed first (when not NULL), so
 *                 gan_mpi_comm_free() is safe on it after a failure
 * @param comm     an intracommunicator of the initialised MPI (not finalised)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, MPI not initialised or already
 * finalised, MPI_COMM_NULL or an intercommunicator; GAN_EUSER when an MPI call failed
 * (MPI_Comm_dup's failure goes through @p comm's error handler first, which aborts the
 * job unless the caller set MPI_ERRORS_RETURN on it); GAN_ENOMEM. The result is this
 * rank's own: another rank may have failed where this one did not.
 */
GAN_MPI_API int gan_mpi_comm(gan_comm *out, MPI_Comm comm);

/**
 * Free what gan_mpi_comm() allocated: the duplicate communicator (MPI_Comm_free, when
 * MPI is not yet finalised) and the context, then zero @p comm. Collective over the
 * communicator, like MPI_Comm_free. Free it only once no trainer uses it any more (a
 * trainer keeps a copy of the struct and with it the context), and free one copy only.
 * NULL-safe, and safe on a zeroed comm, so freeing the same struct twice is harmless.
 * @param comm the comm, or NULL
 */
GAN_MPI_API void gan_mpi_comm_free(gan_comm *comm);

#ifdef __cplusplus
}
#endif

#endif /* GAN_MPI_H */
