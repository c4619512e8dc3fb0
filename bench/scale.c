/* Data-parallel scaling of the paper's MNIST model (bench.c's nets and recipe; with
 * --model dcgan64, bench's 64 x 64 DCGAN and its recipe): steps/s of one process without
 * a comm, then of N ranks training one global batch together.
 *
 *   scale [--model mlp|dcgan64] [--ranks 2] [--batch 200] [--windows 9]   N threads
 *   mpirun -np N scale_mpi [--model mlp|dcgan64] [--batch 200] [--windows 9]   N MPI ranks
 *
 * Run BLAS single-threaded (OPENBLAS_NUM_THREADS=1): each rank takes one core. Each run
 * times `windows` windows of 5 steps after 3 warm-up steps and reports the median, and a
 * wrapper around the comm counts the bytes all-reduced per step and the share of the
 * step spent in collectives (which includes waiting for the slowest rank). Without a
 * comm (1 rank, the baseline) the same program times one trainer on one thread.
 *
 * The threads mode also runs the ceiling: N trainers of batch/N each, apart (no comm), at
 * once: what N ranks would reach if their collectives cost nothing, on this machine (its
 * cores, caches and memory shared as the ranks share them). */
#define _POSIX_C_SOURCE 200809L
#include <gan.h>
#ifdef GAN_SCALE_MPI
#include <gan_mpi.h>
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "paper.h"
#include "dcgan64.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int dcgan64; /* --model dcgan64 */

/* Synthetic images in the range the model's G makes. */
static int random_images(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    (void)cond;
    return dcgan64 ? gan_rng_fill_uniform(rng, x, batch * C64 * SIDE64 * SIDE64, -1.0f, 1.0f)
                   : gan_rng_fill_uniform(rng, x, batch * 784, 0.0f, 1.0f);
}

/* ---------------------------------------------- a comm that counts and times */

typedef struct counted {
    gan_comm inner;
    double seconds; /* in collectives */
    double bytes;   /* all-reduced */
} counted;

static int counted_sum(void *ctx, float *buf, size_t n)
{
    counted *c = ctx;
    double t0 = now();
    int rc = c->inner.allreduce_sum(c->inner.ctx, buf, n);
    c->seconds += now() - t0;
    c->bytes += (double)n * sizeof *buf;
    return rc;
}

static int counted_min(void *ctx, int64_t *v, size_t n)
{
    counted *c = ctx;
    double t0 = now();
    int rc = c->inner.agree_min(c->inner.ctx, v, n);
    c->seconds += now() - t0;
    return rc;
}

static int counted_bcast(void *ctx, void *buf, size_t bytes, int root)
{
    counted *c = ctx;
    return c->inner.broadcast(c->inner.ctx, buf, bytes, root);
}

/* --------------------------------------------------------------- one rank */

typedef struct run {
    const gan_comm *comm; /* NULL: one process, no comm */
    size_t batch;
    int windows;
    double step_s;      /* median seconds per step */
    double comm_share;  /* of the timed steps, in collectives */
    double bytes_step;  /* all-reduced per step */
} run;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *train(void *arg)
{
    run *r = arg;
    gan_net *g = dcgan64 ? dcgan64_generator() : paper_generator();
    gan_net *d = dcgan64 ? dcgan64_discriminator() : paper_discriminator();
    gan_optim *og, *od;
    gan_trainer *t = recipe_trainer(g, d, dcgan64, r->batch, random_images, &og, &od);
    counted c = {.inner = r->comm ? *r->comm : (gan_comm){0}};
    if (r->comm) {
        gan_comm wrapped = {.size = sizeof wrapped, .rank = r->comm->rank, .ranks = r->comm->ranks,
                            .allreduce_sum = counted_sum, .agree_min = counted_min, .broadcast = counted_bcast,
                            .ctx = &c};
        CHECK(gan_trainer_set_comm(t, &wrapped));
        CHECK(gan_trainer_sync(t));
    }
    CHECK(gan_trainer_run(t, 3, NULL, NULL));
    double per_step[64], total = 0;
    c.seconds = c.bytes = 0;
    for (int w = 0; w < r->windows; w++) { /* every rank runs the same steps */
        double t0 = now();
        CHECK(gan_trainer_run(t, 5, NULL, NULL));
        per_step[w] = (now() - t0) / 5;
        total += per_step[w] * 5;
    }
    qsort(per_step, (size_t)r->windows, sizeof *per_step, cmp_double);
    r->step_s = per_step[r->windows / 2];
    r->comm_share = c.seconds / total;
    r->bytes_step = c.bytes / (5.0 * r->windows);
    gan_trainer_free(t);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    return NULL;
}

static void report(const char *how, int ranks, const run *r, double base_s)
{
    printf("%-8s ranks %d  batch %zu  %7.2f steps/s  %8.0f samples/s", how, ranks, r->batch, 1.0 / r->step_s,
           (double)r->batch / r->step_s);
    if (base_s > 0) printf("  speedup %.2fx  efficiency %.0f%%", base_s / r->step_s, 100.0 * base_s / r->step_s / ranks);
    if (r->comm) printf("  all-reduced %.1f MB/step  in collectives %.1f%%", r->bytes_step / 1e6, 100.0 * r->comm_share);
    printf("\n");
    fflush(stdout);
}

static int flag(int argc, char **argv, const char *name, int fallback)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) {
            int v = atoi(argv[i + 1]);
            if (v < 1) {
                fprintf(stderr, "%s must be a positive integer, got '%s'\n", name, argv[i + 1]);
                exit(2);
            }
            return v;
        }
    return fallback;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--model")) dcgan64 = !strcmp(argv[i + 1], "dcgan64");
    size_t batch = (size_t)flag(argc, argv, "--batch", dcgan64 ? 64 : 200);
    int windows = flag(argc, argv, "--windows", 9);
    if (windows > 64) windows = 64;
#ifdef GAN_SCALE_MPI
    MPI_Init(&argc, &argv);
    gan_comm comm;
    CHECK(gan_mpi_comm(&comm, MPI_COMM_WORLD));
    run r = {.comm = comm.ranks > 1 ? &comm : NULL, .batch = batch, .windows = windows};
    train(&r);
    if (comm.rank == 0) report("mpi", comm.ranks, &r, 0);
    gan_mpi_comm_free(&comm);
    MPI_Finalize();
#else
    int ranks = flag(argc, argv, "--ranks", 2);
    run base = {.batch = batch, .windows = windows};
    train(&base);
    report("one", 1, &base, 0);
    gan_thread_group *group;
    CHECK(gan_thread_group_create(&group, ranks));
    gan_comm *comms = calloc((size_t)ranks, sizeof *comms);
    run *runs = calloc((size_t)ranks, sizeof *runs);
    pthread_t *th = calloc((size_t)ranks, sizeof *th);
    if (!comms || !runs || !th) return 1;
    for (int k = 0; k < ranks; k++) {
        CHECK(gan_comm_threads(&comms[k], group, k));
        runs[k] = (run){.comm = &comms[k], .batch = batch, .windows = windows};
        if (pthread_create(&th[k], NULL, train, &runs[k])) return 1;
    }
    for (int k = 0; k < ranks; k++) pthread_join(th[k], NULL);
    report("threads", ranks, &runs[0], base.step_s);
    for (int k = 0; k < ranks; k++) { /* the ceiling: the same rows per rank, no exchanges */
        runs[k] = (run){.batch = batch / (size_t)ranks, .windows = windows};
        if (pthread_create(&th[k], NULL, train, &runs[k])) return 1;
    }
    run slowest = runs[0];
    for (int k = 0; k < ranks; k++) {
        pthread_join(th[k], NULL);
        if (runs[k].step_s > slowest.step_s) slowest = runs[k];
    }
    slowest.batch = batch;
    report("apart", ranks, &slowest, base.step_s);
    free(th);
    free(runs);
    free(comms);
    gan_thread_group_free(group);
#endif
    return 0;
}
