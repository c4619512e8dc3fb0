/* Data-parallel training: the collectives over a gan_comm (docs/scale.md). Every exchange
 * is preceded by an agreement on the status of the work before it and on a tag that
 * names the exchange, so a failure on one rank stops every rank at the same point and
 * ranks that reached different exchanges never mix their buffers. The trainer (every
 * step) and gan_trainer_sync (sync.c) call these; this module calls nothing above it. */
#include "comm_impl.h"
#include "error_impl.h"
#include "rng_impl.h"

#include <stddef.h>

/* The comm's fields up to its last callback: what a caller's struct must hold. */
enum { COMM_MIN_SIZE = offsetof(gan_comm, ctx) + sizeof(void *) };

int gan__comm_check(const gan_comm *comm)
{
    if (comm->size < COMM_MIN_SIZE)
        return gan__fail(GAN_EINVAL, "comm->size is %u; set it to sizeof(gan_comm) (%zu)", (unsigned)comm->size,
                         sizeof(gan_comm));
    if (comm->ranks < 1 || comm->rank < 0 || comm->rank >= comm->ranks)
        return gan__fail(GAN_EINVAL, "rank %d of %d ranks is out of range", comm->rank, comm->ranks);
    if (!comm->allreduce_sum || !comm->agree_min || !comm->broadcast)
        return gan__fail(GAN_EINVAL, "the comm lacks a callback (allreduce_sum, agree_min and broadcast are all "
                         "needed)");
    return GAN_OK;
}

uint64_t gan__comm_tag(const uint64_t *v, size_t n)
{
    uint64_t h = GAN__GOLDEN_GAMMA;
    for (size_t i = 0; i < n; i++) /* splitmix64 of the running hash and each value */
        h = gan__splitmix64_mix(h ^ (v[i] + GAN__GOLDEN_GAMMA + (h << 6) + (h >> 2)));
    return h >> 2;
}

int gan__comm_agree(const gan_comm *comm, int rc, uint64_t tag)
{
    /* min(tag) == -min(-tag) exactly when every rank brought the same tag. */
    int64_t v[3] = {rc, (int64_t)tag, -(int64_t)tag};
    int r = comm->agree_min(comm->ctx, v, 3);
    if (r) return gan__fail(GAN_EUSER, "the comm's agree_min callback returned %d", r);
    if (v[1] != -v[2])
        return gan__fail(GAN_ESTATE, "rank %d of %d is out of step: the ranks reached different exchanges (another "
                         "step, another call, or nets or settings that differ); nothing was exchanged or updated",
                         comm->rank, comm->ranks);
    if (v[0] == rc) return rc; /* every rank fine, or this one's error is the one agreed */
    if (rc) return gan__wrap((int)v[0], "another rank failed (%s), and so did this one", gan_strerror((int)v[0]));
    return gan__fail((int)v[0], "another rank failed (%s); nothing was updated", gan_strerror((int)v[0]));
}

int gan__comm_sum(const gan_comm *comm, float *buf, size_t n)
{
    int r = comm->allreduce_sum(comm->ctx, buf, n);
    return r ? gan__fail(GAN_EUSER, "the comm's allreduce_sum callback returned %d (%zu floats)", r, n) : GAN_OK;
}

int gan__comm_broadcast(const gan_comm *comm, void *buf, size_t bytes)
{
    int r = comm->broadcast(comm->ctx, buf, bytes, 0);
    return r ? gan__fail(GAN_EUSER, "the comm's broadcast callback returned %d (%zu bytes)", r, bytes) : GAN_OK;
}
