/* The collectives the trainer and gan_trainer_sync exchange through, over a gan_comm
 * (comm.c). They know the comm and nothing above it: no trainer, no file. */
#ifndef GAN_COMM_IMPL_H
#define GAN_COMM_IMPL_H

#include "gan.h"

/* A caller's comm can be used: its size, its rank among its ranks, every callback.
 * GAN_OK or GAN_EINVAL with a message that names no public function. */
int gan__comm_check(const gan_comm *comm);

/* Each returns GAN_OK on every rank or the same error on every rank, with a message that
 * names no public function.
 * agree: every rank's `rc` at the same point, with a tag that names the point (the kind
 * of exchange, the step, the nets' sizes): the worst status wins; tags that differ are
 * GAN_ESTATE. sum: buf summed over the ranks, in place. broadcast: rank 0's bytes to
 * every rank. */
int gan__comm_agree(const gan_comm *comm, int rc, uint64_t tag);
int gan__comm_sum(const gan_comm *comm, float *buf, size_t n);
int gan__comm_broadcast(const gan_comm *comm, void *buf, size_t bytes);

/* A tag from n values, below 2^62 so that its negation is exact. */
uint64_t gan__comm_tag(const uint64_t *v, size_t n);

#endif
