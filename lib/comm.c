/* Data-parallel training: the trainer's side of gan_comm (docs/scale.md). Every exchange
 * is preceded by an agreement on the status of the work before it and on a tag that
 * names the exchange, so a failure on one rank stops every rank at the same point and
 * ranks that reached different exchanges never mix their buffers. */
#include "alloc_impl.h"
#include "error_impl.h"
#include "net_impl.h"
#include "trainer_impl.h"

#include <string.h>

/* The comm's fields up to its last callback: what a caller's struct must hold. */
enum { COMM_MIN_SIZE = offsetof(gan_comm, ctx) + sizeof(void *) };

int gan_trainer_set_comm(gan_trainer *t, const gan_comm *comm)
{
    GAN_CHECK_ARG(t);
    if (!comm) {
        t->comm = (gan_comm){.size = sizeof(gan_comm), .ranks = 1};
        return GAN_OK;
    }
    if (comm->size < COMM_MIN_SIZE)
        return gan__fail(GAN_EINVAL, "%s: comm->size is %u; set it to sizeof(gan_comm) (%zu)", __func__,
                         (unsigned)comm->size, sizeof(gan_comm));
    if (comm->ranks < 1 || comm->rank < 0 || comm->rank >= comm->ranks)
        return gan__fail(GAN_EINVAL, "%s: rank %d of %d ranks is out of range", __func__, comm->rank, comm->ranks);
    if (!comm->allreduce_sum || !comm->agree_min || !comm->broadcast)
        return gan__fail(GAN_EINVAL, "%s: the comm lacks a callback (allreduce_sum, agree_min and broadcast are all "
                         "needed)", __func__);
    memcpy(&t->comm, comm, sizeof t->comm);
    t->comm.size = sizeof t->comm;
    return GAN_OK;
}

uint64_t gan__comm_tag(const uint64_t *v, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < n; i++) { /* splitmix64 of the running hash and each value */
        h ^= v[i] + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
        h ^= h >> 31;
    }
    return h >> 2;
}

int gan__comm_agree(gan_trainer *t, int rc, uint64_t tag)
{
    /* min(tag) == -min(-tag) exactly when every rank brought the same tag. */
    int64_t v[3] = {rc, (int64_t)tag, -(int64_t)tag};
    int r = t->comm.agree_min(t->comm.ctx, v, 3);
    if (r) return gan__fail(GAN_EUSER, "the comm's agree_min callback returned %d", r);
    if (v[1] != -v[2])
        return gan__fail(GAN_ESTATE, "rank %d of %d is out of step: the ranks reached different exchanges (another "
                         "step, another call, or nets or settings that differ); nothing was exchanged or updated",
                         t->comm.rank, t->comm.ranks);
    if (v[0] == rc) return rc; /* every rank fine, or this one's error is the one agreed */
    if (rc) return gan__wrap((int)v[0], "another rank failed (%s), and so did this one", gan_strerror((int)v[0]));
    return gan__fail((int)v[0], "another rank failed (%s); nothing was updated", gan_strerror((int)v[0]));
}

int gan__comm_sum(gan_trainer *t, float *buf, size_t n)
{
    int r = t->comm.allreduce_sum(t->comm.ctx, buf, n);
    return r ? gan__fail(GAN_EUSER, "the comm's allreduce_sum callback returned %d (%zu floats)", r, n) : GAN_OK;
}

static int broadcast(gan_trainer *t, void *buf, size_t bytes)
{
    int r = t->comm.broadcast(t->comm.ctx, buf, bytes, 0);
    return r ? gan__fail(GAN_EUSER, "the comm's broadcast callback returned %d (%zu bytes)", r, bytes) : GAN_OK;
}

/* Rank 0's checkpoint to every rank: its size, then its bytes, each after an agreement
 * that the work before it went well everywhere. */
static int sync_ranks(gan_trainer *t)
{
    uint64_t v[] = {0x53594e43 /* "SYNC" */, 0, t->g->n_params, t->d->n_params, t->g->n_state, t->d->n_state};
    int root = t->comm.rank == 0, rc = gan__trainer_check_nets(t);
    size_t size = 0;
    if (!rc && root) rc = gan_trainer_save_mem(t, NULL, 0, &size);
    if ((rc = gan__comm_agree(t, rc, gan__comm_tag(v, 6)))) return rc;
    uint64_t len = size;
    if ((rc = broadcast(t, &len, sizeof len))) return rc;
    uint8_t *bytes = len <= SIZE_MAX ? gan__malloc((size_t)len) : NULL;
    rc = bytes ? GAN_OK : gan__fail(GAN_ENOMEM, "out of memory for a checkpoint of %llu bytes", (unsigned long long)len);
    if (!rc && root) rc = gan_trainer_save_mem(t, bytes, (size_t)len, &size);
    v[1] = 1;
    if (!(rc = gan__comm_agree(t, rc, gan__comm_tag(v, 6))) && !(rc = broadcast(t, bytes, (size_t)len))) {
        if (!root) rc = gan_trainer_load_mem(t, bytes, (size_t)len);
        v[1] = 2;
        rc = gan__comm_agree(t, rc, gan__comm_tag(v, 6));
    }
    gan__free(bytes);
    return rc;
}

int gan_trainer_sync(gan_trainer *t)
{
    GAN_CHECK_ARG(t);
    if (!gan__distributed(t)) return GAN_OK;
    int rc = sync_ranks(t);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}
