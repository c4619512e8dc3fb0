/* Data-parallel training on a group of threads (gan_comm_threads): the group's
 * collectives, the trainer's comm settings, and every case of comm_cases.c on 2 and 3
 * threads. tests/run.sh runs it under ThreadSanitizer as well. */
#include "test_util.h"
#include "comm_cases.h"

#include <pthread.h>
#include <stdio.h>

typedef struct rank_job {
    gan_thread_group *group;
    int rank;
    comm_case_fn run;
    void (*body)(struct rank_job *);
    int fails;
    int rc[4]; /* what body() saw, per call */
    float sum[5];
} rank_job;

static void *rank_main(void *arg)
{
    rank_job *j = arg;
    gan_comm comm;
    if (gan_comm_threads(&comm, j->group, j->rank) != GAN_OK) {
        j->fails = 1;
        return NULL;
    }
    if (j->run) j->fails = j->run(&comm);
    if (j->body) j->body(j);
    return NULL;
}

/* Run fn or body on `ranks` threads; returns the failures summed over the ranks. */
static int on_threads(int ranks, comm_case_fn fn, void (*body)(rank_job *), rank_job *jobs)
{
    gan_thread_group *group = NULL;
    assert_int_equal(gan_thread_group_create(&group, ranks), GAN_OK);
    pthread_t th[8];
    for (int r = 0; r < ranks; r++) {
        jobs[r] = (rank_job){.group = group, .rank = r, .run = fn, .body = body};
        assert_int_equal(pthread_create(&th[r], NULL, rank_main, &jobs[r]), 0);
    }
    int fails = 0;
    for (int r = 0; r < ranks; r++) {
        pthread_join(th[r], NULL);
        fails += jobs[r].fails;
    }
    gan_thread_group_free(group);
    return fails;
}

static void run_cases(int ranks)
{
    rank_job jobs[8];
    assert_int_equal(comm_cases_count_allocations(1), GAN_OK); /* no libgan object is alive */
    for (const comm_case *c = comm_cases; c->name; c++) {
        int fails = on_threads(ranks, c->run, NULL, jobs);
        if (fails) fprintf(stderr, "case %s on %d threads: %d failed checks\n", c->name, ranks, fails);
        assert_int_equal(fails, 0);
    }
    comm_cases_count_allocations(0);
}

static void test_cases_2_threads(void **state)
{
    (void)state;
    run_cases(2);
}

static void test_cases_3_threads(void **state)
{
    (void)state;
    run_cases(3);
}

static void test_one_rank_gives_the_bits_of_no_comm(void **state)
{
    (void)state;
    rank_job job;
    assert_int_equal(on_threads(1, comm_case_one_rank, NULL, &job), 0);
}

/* Values whose float sum depends on the order: every rank gets rank order's bits. */
static void collectives(rank_job *j)
{
    gan_comm c;
    gan_comm_threads(&c, j->group, j->rank);
    float v[5] = {1e8f, 1.0f, -1e8f, 0.5f, (float)j->rank};
    if (j->rank == 1) v[0] = -1e8f, v[2] = 1e8f;
    j->rc[0] = c.allreduce_sum(c.ctx, v, 5);
    memcpy(j->sum, v, sizeof v);
    int64_t a[2] = {j->rank, -j->rank};
    j->rc[1] = c.agree_min(c.ctx, a, 2) || a[0] != 0 || a[1] != -(c.ranks - 1);
    char bytes[16];
    snprintf(bytes, sizeof bytes, "from rank %d", j->rank);
    j->rc[2] = c.broadcast(c.ctx, bytes, sizeof bytes, c.ranks - 1) || strncmp(bytes, "from rank", 9) ||
               bytes[10] - '0' != c.ranks - 1;
    /* One rank's wrong arguments fail the exchange on every rank, without a hang. */
    j->rc[3] = c.broadcast(c.ctx, bytes, j->rank == 0 ? 8 : 16, 0);
}

static void test_thread_collectives(void **state)
{
    (void)state;
    for (int ranks = 2; ranks <= 3; ranks++) {
        rank_job jobs[3];
        on_threads(ranks, NULL, collectives, jobs);
        float expect[5] = {1e8f, (float)ranks, -1e8f, 0.5f * (float)ranks, ranks == 2 ? 1.0f : 3.0f};
        expect[0] = 1e8f + -1e8f, expect[2] = -1e8f + 1e8f; /* rank 0 + rank 1 first */
        for (int r = 2; r < ranks; r++) expect[0] += 1e8f, expect[2] += -1e8f;
        for (int r = 0; r < ranks; r++) {
            assert_int_equal(jobs[r].rc[0], 0);
            assert_memory_equal(jobs[r].sum, jobs[0].sum, sizeof jobs[r].sum);
            assert_memory_equal(jobs[r].sum, expect, sizeof expect);
            assert_int_equal(jobs[r].rc[1], 0);
            assert_int_equal(jobs[r].rc[2], 0);
            assert_int_not_equal(jobs[r].rc[3], 0);
        }
    }
}

static int nop_sum(void *ctx, float *b, size_t n) { (void)ctx, (void)b, (void)n; return 0; }
static int nop_min(void *ctx, int64_t *v, size_t n) { (void)ctx, (void)v, (void)n; return 0; }
static int nop_bcast(void *ctx, void *b, size_t n, int r) { (void)ctx, (void)b, (void)n, (void)r; return 0; }

/* A comm of two ranks whose collectives this one thread plays: each callback can fail. */
static int fail_sum, fail_min, fail_bcast;
static int fake_sum(void *ctx, float *b, size_t n) { (void)ctx, (void)b, (void)n; return fail_sum; }
static int fake_min(void *ctx, int64_t *v, size_t n) { (void)ctx, (void)v, (void)n; return fail_min; }
static int fake_bcast(void *ctx, void *b, size_t n, int r) { (void)ctx, (void)b, (void)n, (void)r; return fail_bcast; }

static int tiny_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload, (void)cond;
    return gan_rng_fill_normal(rng, x, 2 * batch, 1.0f, 0.5f);
}

/* A tiny trainer in one process: G 3 -> 2, D 2 -> 1, SGD, its data callback set. */
typedef struct tiny {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
} tiny;

static tiny tiny_make(void)
{
    tiny m = {0};
    gan_layer *l = NULL;
    assert_int_equal(gan_net_create(&m.g, 3), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 3, 2), GAN_OK);
    assert_int_equal(gan_net_add(m.g, l), GAN_OK);
    assert_int_equal(gan_net_create(&m.d, 2), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 2, 1), GAN_OK);
    assert_int_equal(gan_net_add(m.d, l), GAN_OK);
    assert_int_equal(gan_optim_sgd(&m.og, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&m.od, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&m.t, m.g, m.d, m.og, m.od), GAN_OK);
    assert_int_equal(gan_net_init(m.g, gan_trainer_rng(m.t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(m.d, gan_trainer_rng(m.t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_set_data(m.t, tiny_data, NULL), GAN_OK);
    return m;
}

static void tiny_free(tiny *m)
{
    gan_trainer_free(m->t);
    gan_optim_free(m->og);
    gan_optim_free(m->od);
    gan_net_free(m->g);
    gan_net_free(m->d);
}

/* A collective that fails is GAN_EUSER naming the callback, and nothing moves; sync's
 * allocation failure is GAN_ENOMEM. */
static void test_collective_failures(void **state)
{
    (void)state;
    tiny m = tiny_make();
    gan_trainer *t = m.t;
    gan_comm c = {.size = sizeof c, .rank = 0, .ranks = 2, .allreduce_sum = fake_sum, .agree_min = fake_min,
                  .broadcast = fake_bcast};
    assert_int_equal(gan_trainer_set_comm(t, &c), GAN_OK);
    size_t n = 0;
    assert_int_equal(gan_trainer_save_mem(t, NULL, 0, &n), GAN_OK);
    unsigned char *before = malloc(n), *after = malloc(n);
    assert_int_equal(gan_trainer_save_mem(t, before, n, &n), GAN_OK);
    fail_sum = 5;
    assert_error(gan_trainer_step(t, NULL), GAN_EUSER, "allreduce_sum callback returned 5");
    fail_sum = 0, fail_min = 6;
    assert_error(gan_trainer_step(t, NULL), GAN_EUSER, "agree_min callback returned 6");
    assert_error(gan_trainer_sync(t), GAN_EUSER, "agree_min callback returned 6");
    fail_min = 0, fail_bcast = 7;
    assert_error(gan_trainer_sync(t), GAN_EUSER, "broadcast callback returned 7");
    assert_int_equal(gan_trainer_save_mem(t, after, n, &n), GAN_OK);
    assert_memory_equal(before, after, n);
    fail_bcast = 0;
    test_alloc_install(); /* sync's one allocation, the checkpoint's bytes */
    test_alloc.fail_at = 1;
    assert_error(gan_trainer_sync(t), GAN_ENOMEM, "out of memory");
    gan_set_allocator(NULL);
    assert_int_equal(gan_trainer_step(t, NULL), GAN_OK);
    assert_int_equal(gan_trainer_sync(t), GAN_OK); /* rank 0 of two: its own checkpoint, kept */
    free(before);
    free(after);
    tiny_free(&m);
}

static void test_comm_arguments(void **state)
{
    (void)state;
    gan_thread_group *g = NULL;
    gan_comm c;
    assert_int_equal(gan_thread_group_create(&g, 0), GAN_EINVAL);
    assert_null(g);
    assert_int_equal(gan_thread_group_create(&g, 1025), GAN_EINVAL);
    assert_int_equal(gan_thread_group_create(NULL, 2), GAN_EINVAL);
    for (size_t fail = 1; fail <= 2; fail++) { /* the group, then its slots */
        test_alloc_install();
        test_alloc.fail_at = fail;
        assert_error(gan_thread_group_create(&g, 2), GAN_ENOMEM, "out of memory");
        assert_null(g);
        assert_int_equal(test_alloc_live(), 0);
        gan_set_allocator(NULL);
    }
    assert_int_equal(gan_thread_group_create(&g, 2), GAN_OK);
    assert_int_equal(gan_comm_threads(&c, g, 2), GAN_EINVAL);
    assert_int_equal(gan_comm_threads(&c, g, -1), GAN_EINVAL);
    assert_int_equal(gan_comm_threads(NULL, g, 0), GAN_EINVAL);
    assert_int_equal(gan_comm_threads(&c, NULL, 0), GAN_EINVAL);
    gan_thread_group_free(g);
    gan_thread_group_free(NULL);

    tiny m = tiny_make();
    gan_trainer *t = m.t;
    gan_comm ok = {.size = sizeof ok, .rank = 1, .ranks = 2, .allreduce_sum = nop_sum, .agree_min = nop_min,
                   .broadcast = nop_bcast};
    gan_comm bad = ok;
    bad.size = 8;
    assert_int_equal(gan_trainer_set_comm(t, &bad), GAN_EINVAL);
    assert_non_null(strstr(gan_error_last(), "sizeof(gan_comm)"));
    bad = ok;
    bad.rank = 2;
    assert_int_equal(gan_trainer_set_comm(t, &bad), GAN_EINVAL);
    bad = ok;
    bad.ranks = 0, bad.rank = 0;
    assert_int_equal(gan_trainer_set_comm(t, &bad), GAN_EINVAL);
    bad = ok;
    bad.agree_min = NULL;
    assert_int_equal(gan_trainer_set_comm(t, &bad), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_comm(NULL, &ok), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_comm(t, &ok), GAN_OK);
    assert_int_equal(gan_trainer_set_comm(t, NULL), GAN_OK);
    assert_int_equal(gan_trainer_sync(t), GAN_OK); /* one process: nothing to do */
    assert_int_equal(gan_trainer_sync(NULL), GAN_EINVAL);
    tiny_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comm_arguments),
        cmocka_unit_test(test_thread_collectives),
        cmocka_unit_test(test_collective_failures),
        cmocka_unit_test(test_one_rank_gives_the_bits_of_no_comm),
        cmocka_unit_test(test_cases_2_threads),
        cmocka_unit_test(test_cases_3_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
