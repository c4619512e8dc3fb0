/* libgan_mpi's collectives, run by tests/mpirun.sh on 2 and 3 ranks; the first argument is
 * the rank count the run must have, so a binary started without the right launcher (N
 * one-rank copies that would each pass) fails. Every check is agreed over all ranks
 * before it asserts: all ranks take the same path, and a failure on one never leaves the
 * others waiting in a collective. Built twice: against libgan_mpi.so, and with
 * lib/gan_mpi.c compiled in (TEST_INTERNALS) with a small GAN_MPI_CHUNK, so that small
 * buffers cross chunk boundaries and the test can look at the duplicate communicator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gan_mpi.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TEST_INTERNALS
#include "gan_mpi_impl.h"
#define LARGE ((size_t)3 * GAN_MPI_CHUNK + 7) /* crosses three chunk boundaries */
#else
#define LARGE (((size_t)1 << 20) + 7)
#endif

static int world_rank, world_size;

/* True on every rank when @p ok is true on every rank (MPI_COMM_WORLD, not the comm under
 * test). */
static int all(int ok)
{
    int v = ok ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return v;
}

/* Evaluate @p x once on every rank; fail on every rank when it is false on any. */
#define assert_all(x)                                                                      \
    do {                                                                                   \
        int ok_ = (x) ? 1 : 0;                                                             \
        if (!ok_) fprintf(stderr, "rank %d: %s:%d: %s is false\n", world_rank, __FILE__, __LINE__, #x); \
        assert_true(all(ok_));                                                             \
    } while (0)

/* Whether @p buf holds rank 0's bytes on every rank. */
static int same_as_rank0(const void *buf, size_t bytes)
{
    unsigned char *copy = malloc(bytes ? bytes : 1);
    int ok = copy != NULL;
    if (ok) memcpy(copy, buf, bytes);
    for (size_t done = 0; ok && done < bytes; done += 1u << 20) {
        int count = bytes - done < (1u << 20) ? (int)(bytes - done) : 1 << 20;
        ok = MPI_Bcast(copy + done, count, MPI_BYTE, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
    }
    ok = ok && memcmp(copy, buf, bytes) == 0;
    free(copy);
    return all(ok);
}

static int errhandler_is(MPI_Comm comm, MPI_Errhandler want)
{
    MPI_Errhandler h;
    if (MPI_Comm_get_errhandler(comm, &h) != MPI_SUCCESS) return 0;
    int same = h == want;
    MPI_Errhandler_free(&h);
    return same;
}

static int is_zero(const gan_comm *c)
{
    static const gan_comm zero;
    return memcmp(c, &zero, sizeof zero) == 0;
}

static void fills_the_comm(void **state)
{
    (void)state;
    gan_comm c;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    assert_all(c.size == sizeof(gan_comm) && c.reserved == 0);
    assert_all(c.rank == world_rank && c.ranks == world_size);
    assert_all(c.allreduce_sum && c.agree_min && c.broadcast && c.ctx);
    /* The caller's communicator keeps its handler; the duplicate returns errors. */
    assert_all(errhandler_is(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
#ifdef TEST_INTERNALS
    const gan_mpi_ctx *m = c.ctx;
    int cmp = MPI_UNEQUAL;
    assert_all(MPI_Comm_compare(m->comm, MPI_COMM_WORLD, &cmp) == MPI_SUCCESS && cmp == MPI_CONGRUENT);
    assert_all(errhandler_is(m->comm, MPI_ERRORS_RETURN));
#endif
    gan_mpi_comm_free(&c);
    assert_all(is_zero(&c));
}

/* The comm's ranks are those of the communicator given, not MPI_COMM_WORLD's. */
static void follows_the_communicator_given(void **state)
{
    (void)state;
    MPI_Comm reversed;
    assert_all(MPI_Comm_split(MPI_COMM_WORLD, 0, world_size - 1 - world_rank, &reversed) == MPI_SUCCESS);
    gan_comm c;
    assert_all(gan_mpi_comm(&c, reversed) == GAN_OK);
    assert_all(c.rank == world_size - 1 - world_rank && c.ranks == world_size);
    int64_t v = world_rank; /* root 0 of the reversed communicator is the last world rank */
    assert_all(c.broadcast(c.ctx, &v, sizeof v, 0) == 0 && v == world_size - 1);
    gan_mpi_comm_free(&c);
    MPI_Comm_free(&reversed);
}

static void rejects_what_it_cannot_use(void **state)
{
    (void)state;
    gan_comm c;
    assert_all(gan_mpi_comm(NULL, MPI_COMM_WORLD) == GAN_EINVAL);
    memset(&c, 0xA5, sizeof c);
    assert_all(gan_mpi_comm(&c, MPI_COMM_NULL) == GAN_EINVAL);
    assert_all(is_zero(&c)); /* zeroed on failure: freeing it is safe */
    gan_mpi_comm_free(&c);

    /* An intercommunicator's collectives join two groups: not a comm of ranks. */
    MPI_Comm half, inter;
    int colour = world_rank % 2;
    assert_all(MPI_Comm_split(MPI_COMM_WORLD, colour, world_rank, &half) == MPI_SUCCESS);
    assert_all(MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, colour ? 0 : 1, 99, &inter) == MPI_SUCCESS);
    assert_all(gan_mpi_comm(&c, inter) == GAN_EINVAL && is_zero(&c));
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
}

static void free_is_safe_twice(void **state)
{
    (void)state;
    gan_comm c, zero = {0};
    gan_mpi_comm_free(NULL);
    gan_mpi_comm_free(&zero);
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    gan_mpi_comm_free(&c);
    assert_all(is_zero(&c));
    gan_mpi_comm_free(&c);
    assert_all(is_zero(&c));
}

/* Integers below 2^24 sum exactly in any order: the sum itself is checked, on a buffer
 * that crosses chunk boundaries in the TEST_INTERNALS build. */
static void sum_is_exact_on_integers(void **state)
{
    (void)state;
    gan_comm c;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    float *x = malloc(LARGE * sizeof *x);
    assert_all(x != NULL);
    for (size_t i = 0; i < LARGE; i++) x[i] = (float)(i % 4096 + (size_t)world_rank);
    assert_all(c.allreduce_sum(c.ctx, x, LARGE) == 0);
    int exact = 1;
    for (size_t i = 0; i < LARGE; i++) {
        float want = (float)((double)world_size * (double)(i % 4096) + world_size * (world_size - 1) / 2);
        exact &= x[i] == want;
    }
    assert_all(exact);
    assert_all(same_as_rank0(x, LARGE * sizeof *x));
    assert_all(c.allreduce_sum(c.ctx, NULL, 0) == 0);
    free(x);
    gan_mpi_comm_free(&c);
}

/* Rank r's i-th value: magnitudes far apart and signs that cancel, so the float sum
 * depends on the order of the terms (1 + 1e8 - 1e8 is 0 or 1). */
static float order_sensitive(int r, size_t i)
{
    static const float scale[] = {1.0f, 1e8f, -1e8f, 3e-3f};
    return scale[(size_t)r % 4] * (1.0f + (float)(i % 97) * 1e-3f) + (float)(i % 7) * 1e-7f;
}

static void sum_gives_every_rank_the_same_bits(void **state)
{
    (void)state;
    enum { N = 10007 };
    gan_comm c;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    float *x = malloc(N * sizeof *x);
    assert_all(x != NULL);
    for (size_t i = 0; i < N; i++) x[i] = order_sensitive(world_rank, i);
    assert_all(c.allreduce_sum(c.ctx, x, N) == 0);
    assert_all(same_as_rank0(x, N * sizeof *x));
    /* Any order of summation is within (ranks - 1) roundings of the exact sum. */
    int close = 1;
    for (size_t i = 0; i < N; i++) {
        double exact = 0, mass = 0;
        for (int r = 0; r < world_size; r++) {
            exact += order_sensitive(r, i);
            mass += fabs(order_sensitive(r, i));
        }
        close &= fabs(x[i] - exact) <= world_size * 0x1p-23 * mass;
    }
    assert_all(close);
    free(x);
    gan_mpi_comm_free(&c);
}

static void agree_min_is_the_elementwise_minimum(void **state)
{
    (void)state;
    gan_comm c;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    int64_t r = world_rank, last = world_size - 1;
    int64_t v[8] = {r, -r, 100 - r, INT64_MAX - r, INT64_MIN + r, r == last ? -5 : 7, 0, r * r};
    const int64_t want[8] = {0, -last, 100 - last, INT64_MAX - last, INT64_MIN, -5, 0, 0};
    assert_all(c.agree_min(c.ctx, v, 8) == 0);
    assert_all(memcmp(v, want, sizeof v) == 0);
    /* Only the first n values take part. */
    int64_t w[3] = {r, r, r};
    assert_all(c.agree_min(c.ctx, w, 2) == 0 && w[0] == 0 && w[1] == 0 && w[2] == r);
    assert_all(c.agree_min(c.ctx, NULL, 0) == 0);
    gan_mpi_comm_free(&c);
}

static int broadcast_check(gan_comm *c, size_t bytes, int root)
{
    unsigned char *b = malloc(bytes ? bytes : 1);
    if (!all(b != NULL)) return 0;
    for (size_t i = 0; i < bytes; i++) b[i] = world_rank == root ? (unsigned char)(i * 31 + 7) : 0xEE;
    int ok = c->broadcast(c->ctx, b, bytes, root) == 0;
    for (size_t i = 0; ok && i < bytes; i++) ok = b[i] == (unsigned char)(i * 31 + 7);
    free(b);
    return all(ok);
}

static void broadcast_from_the_last_rank(void **state)
{
    (void)state;
    gan_comm c;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    assert_all(broadcast_check(&c, 37, world_size - 1));
    assert_all(broadcast_check(&c, LARGE, world_size - 1));
    assert_all(broadcast_check(&c, 5, 0));
    assert_all(c.broadcast(c.ctx, NULL, 0, world_size - 1) == 0);
    gan_mpi_comm_free(&c);
}

/* Failures come back as non-zero codes, on every rank, and the comm stays usable. */
static void errors_return(void **state)
{
    (void)state;
    gan_comm c;
    float f = 1;
    int64_t v = 1;
    assert_all(gan_mpi_comm(&c, MPI_COMM_WORLD) == GAN_OK);
    assert_all(c.broadcast(c.ctx, &v, sizeof v, world_size) != 0);
    assert_all(c.broadcast(c.ctx, &v, sizeof v, -1) != 0);
    assert_all(c.broadcast(c.ctx, NULL, 8, 0) != 0);
    assert_all(c.allreduce_sum(c.ctx, NULL, 8) != 0);
    assert_all(c.agree_min(c.ctx, &v, (size_t)INT32_MAX + 1) != 0);
    assert_all(c.allreduce_sum(NULL, &f, 1) != 0 && c.agree_min(NULL, &v, 1) != 0 &&
               c.broadcast(NULL, &v, sizeof v, 0) != 0);
    assert_all(broadcast_check(&c, 9, world_size - 1));
    gan_mpi_comm_free(&c);
}

int main(int argc, char **argv)
{
    gan_comm c;
    int early = gan_mpi_comm(&c, MPI_COMM_WORLD); /* before MPI_Init: GAN_EINVAL */
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    int expected = argc > 1 ? atoi(argv[1]) : 0;
    if (world_size != expected || world_size < 2) {
        fprintf(stderr, "rank %d of %d: expected %d ranks (at least 2); run it as tests/mpirun.sh N %s N\n",
                world_rank, world_size, expected, argv[0]);
        MPI_Finalize();
        return 1;
    }
    if (early != GAN_EINVAL || !is_zero(&c)) {
        fprintf(stderr, "gan_mpi_comm before MPI_Init gave %d, not GAN_EINVAL\n", early);
        MPI_Finalize();
        return 1;
    }
    /* Rank 0 reports for all: every assertion is agreed, so the others' lines would be
     * the same. Local failures go to stderr. */
    if (world_rank != 0 && !freopen("/dev/null", "w", stdout)) return 1;

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_the_comm),
        cmocka_unit_test(follows_the_communicator_given),
        cmocka_unit_test(rejects_what_it_cannot_use),
        cmocka_unit_test(free_is_safe_twice),
        cmocka_unit_test(sum_is_exact_on_integers),
        cmocka_unit_test(sum_gives_every_rank_the_same_bits),
        cmocka_unit_test(agree_min_is_the_elementwise_minimum),
        cmocka_unit_test(broadcast_from_the_last_rank),
        cmocka_unit_test(errors_return),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    /* A comm outlived by MPI: freeing it after MPI_Finalize makes no MPI call, and a new
     * one is refused. */
    int made = gan_mpi_comm(&c, MPI_COMM_WORLD);
    MPI_Finalize();
    gan_mpi_comm_free(&c);
    gan_comm late;
    if (made != GAN_OK || !is_zero(&c) || gan_mpi_comm(&late, MPI_COMM_WORLD) != GAN_EINVAL) {
        fprintf(stderr, "rank %d: gan_mpi_comm around MPI_Finalize misbehaved\n", world_rank);
        failed++;
    }
    return failed ? 1 : 0;
}
