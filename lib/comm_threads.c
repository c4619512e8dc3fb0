/* pthread barriers are POSIX, beyond C11. */
#define _POSIX_C_SOURCE 200809L
/* gan_comm for a group of threads in one process: each exchange publishes every rank's
 * buffer, and after a barrier each rank works on its own slice of all of them. A sum is
 * taken in rank order, once per element, so every rank gets the same bits. */
#include "alloc_impl.h"
#include "error_impl.h"

#include <pthread.h>
#include <string.h>

/* OP_BAD: this rank's arguments are wrong; it still meets the others, so that every rank
 * passes the same barriers and all fail alike. */
enum { OP_BAD = -1, OP_SUM = 1, OP_MIN, OP_BROADCAST, MAX_AGREE = 8, MAX_RANKS = 1024 };

/* What a rank brings to an exchange. */
typedef struct slot {
    struct gan_thread_group *group;
    int rank, op, root;
    void *buf;
    size_t n;
} slot;

struct gan_thread_group {
    int ranks;
    pthread_barrier_t barrier;
    slot *slots;
};

int gan_thread_group_create(gan_thread_group **out, int ranks)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (ranks < 1 || ranks > MAX_RANKS)
        return gan__fail(GAN_EINVAL, "%s: ranks must be in [1, %d], got %d", __func__, MAX_RANKS, ranks);
    gan_thread_group *g = gan__calloc(1, sizeof *g);
    if (g && !(g->slots = gan__calloc((size_t)ranks, sizeof *g->slots))) {
        gan__free(g);
        g = NULL;
    }
    if (!g) return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
    if (pthread_barrier_init(&g->barrier, NULL, (unsigned)ranks)) {
        gan__free(g->slots);
        gan__free(g);
        return gan__fail(GAN_ENOMEM, "%s: no barrier for %d threads", __func__, ranks);
    }
    g->ranks = ranks;
    for (int r = 0; r < ranks; r++) g->slots[r] = (slot){.group = g, .rank = r};
    *out = g;
    return GAN_OK;
}

void gan_thread_group_free(gan_thread_group *g)
{
    if (!g) return;
    pthread_barrier_destroy(&g->barrier);
    gan__free(g->slots);
    gan__free(g);
}

/* Publish this rank's part of an exchange and wait for every rank's. Every rank then
 * checks that all brought the same operation and size, so all fail alike when not. */
static int meet(slot *s, int op, void *buf, size_t n, int root)
{
    gan_thread_group *g = s->group;
    s->op = op;
    s->buf = buf;
    s->n = n;
    s->root = root;
    pthread_barrier_wait(&g->barrier);
    for (int r = 0; r < g->ranks; r++) {
        const slot *o = &g->slots[r];
        if (op == OP_BAD || o->op != op || o->n != n || o->root != root) return -1;
    }
    return 0;
}

/* The second barrier: nobody leaves, and so nobody publishes the next exchange, while
 * another rank still reads this one. */
static int leave(slot *s, int rc)
{
    pthread_barrier_wait(&s->group->barrier);
    return rc;
}

static int threads_allreduce_sum(void *ctx, float *buf, size_t n)
{
    slot *s = ctx;
    gan_thread_group *g = s->group;
    if (meet(s, buf || !n ? OP_SUM : OP_BAD, buf, n, 0)) return leave(s, -1);
    size_t ranks = (size_t)g->ranks, rank = (size_t)s->rank, per = n / ranks, extra = n % ranks;
    size_t lo = rank * per + (rank < extra ? rank : extra), hi = lo + per + (rank < extra);
    enum { BLOCK = 1024 };
    float acc[BLOCK];
    for (size_t i = lo; i < hi; i += BLOCK) { /* a block summed in rank order, then written to every rank */
        size_t m = hi - i < BLOCK ? hi - i : BLOCK;
        memcpy(acc, (float *)g->slots[0].buf + i, m * sizeof *acc);
        for (int r = 1; r < g->ranks; r++) {
            const float *src = (const float *)g->slots[r].buf + i;
            for (size_t j = 0; j < m; j++) acc[j] += src[j];
        }
        for (int r = 0; r < g->ranks; r++) memcpy((float *)g->slots[r].buf + i, acc, m * sizeof *acc);
    }
    return leave(s, 0);
}

static int threads_agree_min(void *ctx, int64_t *values, size_t n)
{
    slot *s = ctx;
    gan_thread_group *g = s->group;
    if (meet(s, n <= MAX_AGREE && (values || !n) ? OP_MIN : OP_BAD, values, n, 0)) return leave(s, -1);
    int64_t min[MAX_AGREE];
    memcpy(min, values, n * sizeof *min);
    for (int r = 0; r < g->ranks; r++)
        for (size_t j = 0; j < n; j++) {
            int64_t v = ((const int64_t *)g->slots[r].buf)[j];
            if (v < min[j]) min[j] = v;
        }
    pthread_barrier_wait(&g->barrier); /* every rank has read every value */
    memcpy(values, min, n * sizeof *min);
    return 0;
}

static int threads_broadcast(void *ctx, void *buf, size_t bytes, int root)
{
    slot *s = ctx;
    gan_thread_group *g = s->group;
    int ok = root >= 0 && root < g->ranks && (buf || !bytes);
    if (meet(s, ok ? OP_BROADCAST : OP_BAD, buf, bytes, root)) return leave(s, -1);
    if (s->rank != root && bytes) memcpy(buf, g->slots[root].buf, bytes);
    return leave(s, 0);
}

int gan_comm_threads(gan_comm *out, gan_thread_group *group, int rank)
{
    GAN_CHECK_ARG(out);
    GAN_CHECK_ARG(group);
    if (rank < 0 || rank >= group->ranks)
        return gan__fail(GAN_EINVAL, "%s: rank %d is not in [0, %d)", __func__, rank, group->ranks);
    *out = (gan_comm){.size = sizeof(gan_comm),
                      .rank = rank,
                      .ranks = group->ranks,
                      .allreduce_sum = threads_allreduce_sum,
                      .agree_min = threads_agree_min,
                      .broadcast = threads_broadcast,
                      .ctx = &group->slots[rank]};
    return GAN_OK;
}
