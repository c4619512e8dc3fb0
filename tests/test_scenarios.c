/* Allocation failure across whole scenarios (issue #7): build nets, train 3 steps, save,
 * load, evaluate Parzen. For every n, the n-th allocation of the scenario fails. Each run
 * must end cleanly: the failing call returns GAN_ENOMEM with a message and changes
 * nothing, the same call then succeeds on the same handles (they stay usable), the
 * scenario completes, and everything is freed (no allocation left live). */
#include "test_util.h"

#include <stdio.h>
#include <unistd.h>

enum { ZDIM = 3, DIM = 4, BATCH = 8, N_EVAL = 40 };

typedef struct world {
    gan_net *g, *d, *g_loaded;
    gan_optim *og, *od;
    gan_trainer *t;
    void *ckpt;
    size_t ckpt_size;
    float samples[N_EVAL * DIM], test[N_EVAL * DIM];
    char path[64];
} world;

static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    (void)cond;
    return gan_rng_fill_uniform(rng, x, batch * DIM, 0.0f, 1.0f);
}

/* Each stage either completes or fails leaving the world as it found it. */
static int stage_nets(world *w)
{
    gan_net *g = NULL, *d = NULL;
    gan_layer *l = NULL;
    int rc = gan_net_create(&g, ZDIM);
    if (!rc) rc = try_add(g, gan_layer_dense(&l, ZDIM, 8), &l);
    if (!rc) rc = try_add(g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    if (!rc) rc = try_add(g, gan_layer_dense(&l, 8, DIM), &l);
    if (!rc) rc = try_add(g, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    if (!rc) rc = gan_net_create(&d, DIM);
    if (!rc) rc = try_add(d, gan_layer_dropout(&l, 0.8f), &l);
    if (!rc) rc = try_add(d, gan_layer_maxout(&l, DIM, 6, 2), &l);
    if (!rc) rc = try_add(d, gan_layer_dense(&l, 6, 1), &l);
    if (!rc) rc = try_add(d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    if (rc) {
        gan_net_free(g);
        gan_net_free(d);
        return rc;
    }
    w->g = g;
    w->d = d;
    return GAN_OK;
}

static int stage_trainer(world *w)
{
    gan_optim *og = NULL, *od = NULL;
    gan_trainer *t = NULL;
    int rc = gan_optim_sgd(&og, 0.05f, 0.5f, 0);
    if (!rc) rc = gan_optim_adam(&od, 1e-3f, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_trainer_create(&t, w->g, w->d, og, od);
    if (!rc) rc = gan_trainer_set_seed(t, 5);
    if (!rc) rc = gan_net_init(w->g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_net_init(w->d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_trainer_set_data(t, data, NULL);
    if (!rc) rc = gan_trainer_set_batch_size(t, BATCH);
    if (!rc) rc = gan_trainer_set_ema(t, 0.5f);
    if (rc) {
        gan_trainer_free(t);
        gan_optim_free(og);
        gan_optim_free(od);
        return rc;
    }
    w->og = og;
    w->od = od;
    w->t = t;
    return GAN_OK;
}

static int stage_train(world *w) { return gan_trainer_run(w->t, 3 - gan_trainer_steps(w->t), NULL, NULL); }

static int stage_save(world *w)
{
    size_t size;
    int rc = gan_trainer_save_mem(w->t, NULL, 0, &size);
    void *buf = rc ? NULL : malloc(size); /* the test's own memory, not the library's */
    if (!rc) rc = buf ? gan_trainer_save_mem(w->t, buf, size, &size) : GAN_ENOMEM;
    if (!rc) rc = gan_net_save(w->g, w->path);
    if (rc) {
        free(buf);
        return rc;
    }
    w->ckpt = buf;
    w->ckpt_size = size;
    return GAN_OK;
}

static int stage_load(world *w)
{
    gan_net *g = NULL;
    int rc = gan_net_load(&g, w->path);
    if (!rc) rc = gan_trainer_load_mem(w->t, w->ckpt, w->ckpt_size);
    if (rc) {
        gan_net_free(g);
        return rc;
    }
    w->g_loaded = g;
    return GAN_OK;
}

static int stage_parzen(world *w)
{
    float sigma;
    double ll;
    int rc = gan_trainer_generate(w->t, NULL, NULL, N_EVAL, w->samples);
    if (!rc) rc = gan_parzen_select_sigma(&sigma, NULL, w->samples, N_EVAL, w->test, N_EVAL, DIM, NULL, 0);
    if (!rc) rc = gan_parzen_log_likelihood(&ll, NULL, w->samples, N_EVAL, w->test, N_EVAL, DIM, sigma);
    return rc;
}

static void world_free(world *w)
{
    free_gan(w->t, w->og, w->od, w->g, w->d);
    gan_net_free(w->g_loaded);
    free(w->ckpt);
    unlink(w->path);
}

typedef int (*stage_fn)(world *);
static const stage_fn stages[] = {stage_nets, stage_trainer, stage_train, stage_save, stage_load, stage_parzen};
enum { N_STAGES = sizeof stages / sizeof stages[0] };

/* Run the scenario with allocation `fail_at` failing (0: none). Returns whether it failed. */
static int run_scenario(size_t fail_at)
{
    world w;
    memset(&w, 0, sizeof w);
    snprintf(w.path, sizeof w.path, "scenario-%ld.gan", (long)getpid());
    for (size_t i = 0; i < N_EVAL * DIM; i++) w.test[i] = (float)((i * 37) % 101) / 100.0f;
    test_alloc_install();
    test_alloc.fail_at = fail_at;
    int failed = 0;
    for (int s = 0; s < N_STAGES; s++) {
        int rc = stages[s](&w);
        if (rc) {
            assert_error(rc, GAN_ENOMEM, "out of memory");
            assert_int_equal(failed, 0); /* only one allocation ever fails */
            failed = 1;
            rc = stages[s](&w); /* the same handles work once memory is back */
        }
        assert_int_equal(rc, GAN_OK);
    }
    assert_int_equal(gan_trainer_steps(w.t), 3);
    world_free(&w);
    assert_int_equal(test_alloc_live(), 0); /* nothing leaked, on any path */
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
    return failed;
}

static void every_allocation_failure_ends_cleanly(void **state)
{
    (void)state;
    assert_int_equal(run_scenario(0), 0);
    size_t total = test_alloc.allocs;
    assert_true(total > 20); /* the scenario really allocates */
    size_t failures = 0;
    for (size_t n = 1; n <= total; n++) failures += (size_t)run_scenario(n);
    assert_int_equal(failures, total); /* every single allocation was reached and failed */
    assert_int_equal(run_scenario(total + 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_ends_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
