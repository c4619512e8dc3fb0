/* gan_trainer_sync: rank 0's whole trainer to every rank, as a checkpoint in memory. It
 * sits above the file code (serial.c) and the collectives (comm.c), which know nothing
 * of it: data flows one way. */
#include "alloc_impl.h"
#include "comm_impl.h"
#include "error_impl.h"
#include "net_impl.h"
#include "trainer_impl.h"

/* Rank 0's checkpoint to every rank: its size, then its bytes, each after an agreement
 * that the work before it went well everywhere. */
static int sync_ranks(gan_trainer *t)
{
    const gan_comm *comm = &t->comm;
    uint64_t v[] = {0x53594e43 /* "SYNC" */, 0, t->g->n_params, t->d->n_params, t->g->n_state, t->d->n_state};
    int root = comm->rank == 0, rc = gan__trainer_check_nets(t);
    size_t size = 0;
    if (!rc && root) rc = gan_trainer_save_mem(t, NULL, 0, &size);
    if ((rc = gan__comm_agree(comm, rc, gan__comm_tag(v, 6)))) return rc;
    uint64_t len = size;
    if ((rc = gan__comm_broadcast(comm, &len, sizeof len))) return rc;
    uint8_t *bytes = len <= SIZE_MAX ? gan__malloc((size_t)len) : NULL;
    rc = bytes ? GAN_OK : gan__fail(GAN_ENOMEM, "out of memory for a checkpoint of %llu bytes", (unsigned long long)len);
    if (!rc && root) rc = gan_trainer_save_mem(t, bytes, (size_t)len, &size);
    v[1] = 1;
    rc = gan__comm_agree(comm, rc, gan__comm_tag(v, 6));
    if (!rc) rc = gan__comm_broadcast(comm, bytes, (size_t)len);
    if (!rc) {
        if (!root) rc = gan_trainer_load_mem(t, bytes, (size_t)len);
        v[1] = 2;
        rc = gan__comm_agree(comm, rc, gan__comm_tag(v, 6));
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
