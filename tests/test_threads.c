/* Separate trainers on separate threads do not interfere: two trainings run at once give
 * the same bits as the same trainings run one after the other, and each thread keeps its
 * own error message. CI also runs this test under ThreadSanitizer (tests/run.sh). */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>

enum { STEPS = 150, BATCH = 32, ZDIM = 4 };

typedef struct job {
    uint64_t seed;
    float *params; /* G's then D's parameters after training; malloc'ed */
    size_t n;
    int rc;
    char message[256]; /* this thread's gan_error_last() after a deliberate error */
} job;

/* Real data: a 2-D Gaussian centred at (1, -1), from the trainer's data stream. */
static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    (void)cond;
    int rc = gan_rng_fill_normal(rng, x, 2 * batch, 0.0f, 0.3f);
    for (size_t i = 0; i < batch; i++) {
        x[2 * i] += 1.0f;
        x[2 * i + 1] -= 1.0f;
    }
    return rc;
}

static int build(gan_net **g, gan_net **d)
{
    gan_layer *l = NULL;
    int rc = gan_net_create(g, ZDIM);
    if (!rc) rc = try_add(*g, gan_layer_dense(&l, ZDIM, 32), &l);
    if (!rc) rc = try_add(*g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    if (!rc) rc = try_add(*g, gan_layer_dense(&l, 32, 2), &l);
    if (!rc) rc = gan_net_create(d, 2);
    if (!rc) rc = try_add(*d, gan_layer_maxout(&l, 2, 16, 3), &l);
    if (!rc) rc = try_add(*d, gan_layer_dropout(&l, 0.5f), &l);
    if (!rc) rc = try_add(*d, gan_layer_dense(&l, 16, 1), &l);
    return rc;
}

static void *train(void *arg)
{
    job *j = arg;
    gan_net *g = NULL, *d = NULL;
    gan_optim *og = NULL, *od = NULL;
    gan_trainer *t = NULL;
    int rc = build(&g, &d);
    if (!rc) rc = gan_optim_adam(&og, 1e-3f, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_optim_sgd(&od, 0.05f, 0.5f, 0);
    if (!rc) rc = gan_trainer_create(&t, g, d, og, od);
    if (!rc) rc = gan_trainer_set_seed(t, j->seed);
    if (!rc) rc = gan_net_init(g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_net_init(d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_trainer_set_data(t, data, NULL);
    if (!rc) rc = gan_trainer_set_noise_normal(t, 1.0f);
    if (!rc) rc = gan_trainer_set_batch_size(t, BATCH);
    if (!rc) rc = gan_trainer_set_ema(t, 0.9f);
    if (!rc) rc = gan_trainer_run(t, STEPS, NULL, NULL);
    if (!rc) {
        size_t ng = gan_net_num_params(g), nd = gan_net_num_params(d);
        j->n = ng + nd;
        j->params = malloc(j->n * sizeof *j->params);
        if (!j->params) rc = GAN_ENOMEM;
        else {
            memcpy(j->params, gan_net_params(g), ng * sizeof(float));
            memcpy(j->params + ng, gan_net_params(d), nd * sizeof(float));
        }
    }
    /* A deliberate error: its message must be this thread's, whatever the other does. */
    if (!rc && gan_trainer_set_batch_size(t, 0) == GAN_EINVAL)
        snprintf(j->message, sizeof j->message, "%s", gan_error_last());
    free_gan(t, og, od, g, d);
    j->rc = rc;
    return NULL;
}

static void concurrent_trainers_match_sequential_runs(void **state)
{
    (void)state;
    job seq[2] = {{.seed = 11}, {.seed = 12}}, par[2] = {{.seed = 11}, {.seed = 12}};
    for (int i = 0; i < 2; i++) {
        train(&seq[i]);
        assert_int_equal(seq[i].rc, GAN_OK);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, train, &par[i]), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(par[i].rc, GAN_OK);
        assert_int_equal(par[i].n, seq[i].n);
        assert_memory_equal(par[i].params, seq[i].params, seq[i].n * sizeof(float));
        assert_non_null(strstr(par[i].message, "batch"));
        assert_string_equal(par[i].message, seq[i].message);
    }
    /* Different seeds really train differently: the comparison above means something. */
    assert_true(memcmp(seq[0].params, seq[1].params, seq[0].n * sizeof(float)) != 0);
    for (int i = 0; i < 2; i++) {
        free(seq[i].params);
        free(par[i].params);
    }
}

/* Reading one data set of bytes from several threads: gan_dataset_row's first calls race
 * to make the set's float copy (examples/mnist_gan --ranks 2 leaked the loser's), and
 * every thread sees one copy's rows. */
typedef struct reader {
    const gan_dataset *ds;
    const float *rows;
} reader;

static void *read_rows(void *arg)
{
    reader *r = arg;
    r->rows = gan_dataset_row(r->ds, 0);
    return NULL;
}

static void concurrent_first_rows_of_a_byte_set(void **state)
{
    (void)state;
    enum { N = 200, SIDE = 8, READERS = 4 };
    uint8_t idx[16 + N * SIDE * SIDE] = {0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, SIDE, 0, 0, 0, SIDE};
    for (size_t i = 16; i < sizeof idx; i++) idx[i] = (uint8_t)(i * 7);
    for (int round = 0; round < 20; round++) {
        gan_dataset *ds; /* the losers' copies are freed: LeakSanitizer and valgrind check it */
        assert_int_equal(gan_dataset_load_idx_mem(&ds, idx, sizeof idx, NULL, 0), GAN_OK);
        reader r[READERS];
        pthread_t th[READERS];
        for (int i = 0; i < READERS; i++) {
            r[i] = (reader){ds, NULL};
            assert_int_equal(pthread_create(&th[i], NULL, read_rows, &r[i]), 0);
        }
        for (int i = 0; i < READERS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < READERS; i++) assert_ptr_equal(r[i].rows, r[0].rows);
        assert_true(r[0].rows[5] == (float)(uint8_t)(21 * 7) / 255.0f);
        gan_dataset_free(ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_trainers_match_sequential_runs),
        cmocka_unit_test(concurrent_first_rows_of_a_byte_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
