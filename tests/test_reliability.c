/* Reliability (issue #7): the public API against bad input. NULL arguments, zero and
 * overflowing sizes, NaN and Inf, failing callbacks and failing allocations, function by
 * function. docs/reliability.md is the table; each of its cells names the test (here or
 * in another tests/test_*.c) that checks it, and tests/check_reliability_doc.sh checks
 * that every cited test exists and every public function has a row.
 *
 * lib/loss.c is compiled in: the losses are internal, and their extreme logits are
 * checked here too. */
#include "test_util.h"
#include "loss_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

/* ------------------------------------------------------------------ helpers */

/* One row of a table: `call` returns `code`, and a failure's message mentions `needle`. */
#define EXPECT(call, code, needle) expect_rc(#call, (call), (code), (needle))

static void expect_rc(const char *call, int rc, int code, const char *needle)
{
    if (rc != code) fail_msg("%s: got %d (%s), expected %d: %s", call, rc, gan_strerror(rc), code, gan_error_last());
    if (needle && !strstr(gan_error_last(), needle))
        fail_msg("%s: message '%s' does not mention '%s'", call, gan_error_last(), needle);
    if (rc) assert_failure_explained(call);
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Data and noise callbacks that can fail, or write one bad value, on a given call. */
typedef struct feed {
    int calls;
    int fail_on; /* this call returns 5 (0: never) */
    int bad_on;  /* this call writes `bad` into one value (0: never) */
    float bad;
} feed;

enum { ZDIM = 3, DIM = 2, BATCH = 16 };

static int feed_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    feed *f = payload;
    (void)cond;
    f->calls++;
    if (f->calls == f->fail_on) return 5;
    int rc = gan_rng_fill_normal(rng, x, batch * DIM, 0.5f, 0.25f);
    if (f->calls == f->bad_on) x[batch * DIM / 2 + 1] = f->bad;
    return rc;
}

static int feed_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    feed *f = payload;
    f->calls++;
    if (f->calls == f->fail_on) return 5;
    int rc = gan_rng_fill_uniform(rng, z, batch * dim, -1.0f, 1.0f);
    if (f->calls == f->bad_on) z[batch * dim / 2] = f->bad;
    return rc;
}

/* A small GAN: G 3 -> 16 -> 16 -> 2, D 2 -> 16 -> 16 -> 1 -> sigmoid, with the given
 * hidden activation. Adam when sgd_lr is 0, else SGD at sgd_lr with momentum 0.5. */
typedef struct world {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    feed data, noise;
} world;

static void world_make(world *w, gan_activation act, float sgd_lr)
{
    memset(w, 0, sizeof *w);
    w->g = mlp(ZDIM, 16, DIM, act, 0);
    w->d = mlp(DIM, 16, 1, act, 1);
    if (sgd_lr > 0.0f) {
        assert_int_equal(gan_optim_sgd(&w->og, sgd_lr, 0.5f, 0), GAN_OK);
        assert_int_equal(gan_optim_sgd(&w->od, sgd_lr, 0.5f, 0), GAN_OK);
    } else {
        assert_int_equal(gan_optim_adam(&w->og, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
        assert_int_equal(gan_optim_adam(&w->od, 2e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    }
    assert_int_equal(gan_trainer_create(&w->t, w->g, w->d, w->og, w->od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(w->t, 3), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(w->t, BATCH), GAN_OK);
    assert_int_equal(gan_trainer_set_data(w->t, feed_data, &w->data), GAN_OK);
    assert_int_equal(gan_trainer_set_noise(w->t, feed_noise, &w->noise), GAN_OK);
    gan_rng *init = gan_trainer_rng(w->t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(w->g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(w->d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
}

static void world_free(world *w)
{
    free_gan(w->t, w->og, w->od, w->g, w->d);
}

/* An IDX data set of 3 images of 2 x 2 pixels and its labels, in memory. */
static const uint8_t IDX_IMAGES[4 + 12 + 12] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                                0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6};
static const uint8_t IDX_LABELS[4 + 4 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 1};

static gan_dataset *small_dataset(void)
{
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx_mem(&ds, IDX_IMAGES, sizeof IDX_IMAGES, IDX_LABELS, sizeof IDX_LABELS),
                     GAN_OK);
    return ds;
}

/* An allocator that refuses requests above 1 GiB, as a machine without that memory
 * would (and as AddressSanitizer would otherwise abort on): calls that would need it
 * must fail with GAN_ENOMEM. It counts like test_util.h's. */
static void *capped_malloc(void *ctx, size_t size)
{
    if (size > ((size_t)1 << 30)) return NULL;
    return test_malloc_fn(ctx, size);
}

static void capped_install(void)
{
    test_alloc_install();
    gan_allocator a = {capped_malloc, test_free_fn, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
}

/* ----------------------------------------------------------- NULL arguments */

/* Every public function that takes a pointer, each pointer NULL in turn: GAN_EINVAL naming
 * the argument (and *out set to NULL), or the documented meaning of NULL (a no-op free,
 * a query answering 0, an optional output skipped). */
static void null_arguments(void **state)
{
    (void)state;
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_rng *r = (gan_rng *)&r;
    gan_layer *l = (gan_layer *)&l;
    gan_net *n = (gan_net *)&n;
    gan_optim *o = (gan_optim *)&o;
    gan_trainer *t = (gan_trainer *)&t;
    gan_dataset *ds = (gan_dataset *)&ds, *a = (gan_dataset *)&a, *b = (gan_dataset *)&b;
    gan_sampler *s = (gan_sampler *)&s;
    float x[64] = {0}, y[64], out[64], sigma = 0.0f;
    size_t size = 0, off = 0, idx[4];
    double mean = 0.0;
    uint8_t px[256];

    /* version, errors, allocator */
    assert_non_null(gan_version_string());
    assert_non_null(gan_error_last());
    gan_allocator no_malloc = {NULL, test_free_fn, NULL}, no_free = {test_malloc_fn, NULL, NULL};
    EXPECT(gan_set_allocator(&no_malloc), GAN_EINVAL, "malloc_fn");
    EXPECT(gan_set_allocator(&no_free), GAN_EINVAL, "free_fn");
    EXPECT(gan_set_allocator(NULL), GAN_OK, NULL); /* NULL restores malloc and free */

    /* rng */
    EXPECT(gan_rng_create(NULL, 1), GAN_EINVAL, "'out' is NULL");
    gan_rng_free(NULL);
    EXPECT(gan_rng_seed(NULL, 1), GAN_EINVAL, "'rng' is NULL");
    EXPECT(gan_rng_create(&r, 1), GAN_OK, NULL);
    EXPECT(gan_rng_fill_uniform(NULL, x, 4, 0, 1), GAN_EINVAL, "'rng' is NULL");
    EXPECT(gan_rng_fill_uniform(r, NULL, 4, 0, 1), GAN_EINVAL, "'dst' is NULL");
    EXPECT(gan_rng_fill_normal(NULL, x, 4, 0, 1), GAN_EINVAL, "'rng' is NULL");
    EXPECT(gan_rng_fill_normal(r, NULL, 4, 0, 1), GAN_EINVAL, "'dst' is NULL");

    /* layers */
    EXPECT(gan_layer_dense(NULL, 2, 2), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_layer_maxout(NULL, 2, 2, 2), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_layer_activation(NULL, GAN_ACT_RELU), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_layer_leaky_relu(NULL, 0.1f), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_layer_dropout(NULL, 0.5f), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_layer_reshape(NULL, 1, 2, 2), GAN_EINVAL, "'out' is NULL");
    gan_layer_free(NULL);
    assert_int_equal(gan_layer_kind(NULL), 0);
    assert_int_equal(gan_layer_in_dim(NULL), 0);
    assert_int_equal(gan_layer_out_dim(NULL), 0);
    assert_int_equal(gan_layer_num_params(NULL), 0);

    /* nets */
    EXPECT(gan_net_create(NULL, 2), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_net_create_image(NULL, 1, 2, 2), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_net_in_shape(NULL, NULL, NULL, NULL), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_out_shape(NULL, NULL, NULL, NULL), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_out_shape(w.g, NULL, NULL, NULL), GAN_OK, NULL); /* every output may be NULL */
    gan_net_free(NULL);
    EXPECT(gan_layer_dense(&l, DIM, 4), GAN_OK, NULL);
    EXPECT(gan_net_add(NULL, l), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_add(w.g, NULL), GAN_EINVAL, "'layer' is NULL");
    gan_layer_free(l); /* still ours */
    assert_int_equal(gan_net_in_dim(NULL), 0);
    assert_int_equal(gan_net_out_dim(NULL), 0);
    assert_int_equal(gan_net_num_params(NULL), 0);
    assert_int_equal(gan_net_num_layers(NULL), 0);
    assert_null(gan_net_layer(NULL, 0));
    EXPECT(gan_net_layer_params(NULL, 0, &off, &size), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_layer_params(w.g, 2, NULL, NULL), GAN_OK, NULL); /* both outputs optional */
    EXPECT(gan_net_init(NULL, r, GAN_INIT_HE, 1.0f), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_init(w.g, NULL, GAN_INIT_HE, 1.0f), GAN_EINVAL, "'rng' is NULL");
    EXPECT(gan_net_set_rng(NULL, r), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_forward(NULL, x, 1, y, 0), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_forward(w.g, NULL, 1, y, 0), GAN_EINVAL, "'x' is NULL");
    EXPECT(gan_net_forward(w.g, x, 1, NULL, 0), GAN_EINVAL, "'y' is NULL");
    EXPECT(gan_net_backward(NULL, y, NULL), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_net_forward(w.g, x, 1, y, 0), GAN_OK, NULL);
    EXPECT(gan_net_backward(w.g, NULL, NULL), GAN_EINVAL, "'dy' is NULL");
    EXPECT(gan_net_backward(w.g, y, NULL), GAN_OK, NULL); /* dx is optional */
    assert_null(gan_net_params(NULL));
    assert_null(gan_net_grads(NULL));
    EXPECT(gan_net_zero_grads(NULL), GAN_EINVAL, "'net' is NULL");

    /* optimizers */
    EXPECT(gan_optim_sgd(NULL, 0.1f, 0.0f, 0), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_optim_adam(NULL, 0.1f, 0.9f, 0.999f, 1e-8f), GAN_EINVAL, "'out' is NULL");
    gan_optim_free(NULL);
    EXPECT(gan_optim_step(NULL, w.g), GAN_EINVAL, "'opt' is NULL");
    EXPECT(gan_optim_step(w.og, NULL), GAN_EINVAL, "'net' is NULL");
    EXPECT(gan_optim_reset(NULL), GAN_EINVAL, "'opt' is NULL");
    EXPECT(gan_optim_set_lr(NULL, 0.1f), GAN_EINVAL, "'opt' is NULL");
    EXPECT(gan_optim_set_momentum(NULL, 0.1f), GAN_EINVAL, "'opt' is NULL");
    assert_true(gan_optim_get_lr(NULL) == 0.0f);
    assert_true(gan_optim_get_momentum(NULL) == 0.0f);
    assert_int_equal(gan_optim_steps(NULL), 0);

    /* trainer */
    EXPECT(gan_trainer_create(NULL, w.g, w.d, w.og, w.od), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_trainer_create(&t, NULL, w.d, w.og, w.od), GAN_EINVAL, "'g' is NULL");
    assert_null(t);
    EXPECT(gan_trainer_create(&t, w.g, NULL, w.og, w.od), GAN_EINVAL, "'d' is NULL");
    EXPECT(gan_trainer_create(&t, w.g, w.d, NULL, w.od), GAN_EINVAL, "'opt_g' is NULL");
    EXPECT(gan_trainer_create(&t, w.g, w.d, w.og, NULL), GAN_EINVAL, "'opt_d' is NULL");
    gan_trainer_free(NULL);
    image before = snap(w.t);
    EXPECT(gan_trainer_set_data(NULL, feed_data, NULL), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_data(w.t, NULL, NULL), GAN_EINVAL, "'fn' is NULL");
    EXPECT(gan_trainer_set_noise(NULL, feed_noise, NULL), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_noise(w.t, NULL, NULL), GAN_EINVAL, "'fn' is NULL");
    EXPECT(gan_trainer_set_noise_uniform(NULL, 1.0f), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_noise_normal(NULL, 1.0f), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_batch_size(NULL, 1), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_d_steps(NULL, 1), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_g_steps(NULL, 1), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_update(NULL, GAN_UPDATE_ALTERNATING), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_loss(NULL, GAN_LOSS_HINGE), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_seed(NULL, 1), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_cond_dim(NULL, 0), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_label_smoothing(NULL, 0.9f), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_clip(NULL, 0.1f), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_gradient_penalty(NULL, GAN_PENALTY_R1, 1.0f, 1), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_augment(NULL, GAN_AUGMENT_COLOR), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_set_ema(NULL, 0.9f), GAN_EINVAL, "'t' is NULL");
    assert_same_image(w.t, &before); /* the refused setters changed nothing */
    assert_null(gan_trainer_rng(NULL, GAN_STREAM_INIT));
    assert_int_equal(gan_trainer_noise_dim(NULL), 0);
    assert_int_equal(gan_trainer_data_dim(NULL), 0);
    assert_int_equal(gan_trainer_cond_dim(NULL), 0);
    assert_int_equal(gan_trainer_steps(NULL), 0);
    EXPECT(gan_trainer_step(NULL, NULL), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_run(NULL, 1, NULL, NULL), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_generate(NULL, NULL, NULL, 1, out), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_generate(w.t, NULL, NULL, 1, NULL), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);      /* stats are optional */
    EXPECT(gan_trainer_run(w.t, 1, NULL, NULL), GAN_OK, NULL); /* so is on_step */
    EXPECT(gan_trainer_generate(w.t, NULL, NULL, 3, out), GAN_OK, NULL); /* z NULL: drawn */
    free(before.b);

    /* data sets and samplers */
    EXPECT(gan_dataset_load_idx(NULL, "x", NULL), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_dataset_load_idx(&ds, NULL, NULL), GAN_EINVAL, "'images_path' is NULL");
    assert_null(ds);
    EXPECT(gan_dataset_load_idx_mem(NULL, IDX_IMAGES, sizeof IDX_IMAGES, NULL, 0), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_dataset_load_idx_mem(&ds, NULL, 4, NULL, 0), GAN_EINVAL, "'images' is NULL");
    EXPECT(gan_dataset_load_idx_mem(&ds, IDX_IMAGES, sizeof IDX_IMAGES, NULL, 0), GAN_OK, NULL); /* no labels */
    assert_int_equal(gan_dataset_label(ds, 0), -1);
    gan_dataset_free(ds);
    EXPECT(gan_dataset_create_from_floats(NULL, x, 2, 2, NULL, 0), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_dataset_create_from_floats(&ds, NULL, 2, 2, NULL, 0), GAN_EINVAL, "'rows' is NULL");
    assert_null(ds);
    EXPECT(gan_dataset_create_from_floats(&ds, x, 2, 2, NULL, 0), GAN_OK, NULL); /* labels optional */
    gan_dataset_free(ds);
    gan_dataset_free(NULL);
    assert_int_equal(gan_dataset_size(NULL), 0);
    assert_int_equal(gan_dataset_dim(NULL), 0);
    assert_null(gan_dataset_row(NULL, 0));
    assert_int_equal(gan_dataset_label(NULL, 0), -1);
    assert_int_equal(gan_dataset_num_classes(NULL), 0);
    ds = small_dataset();
    EXPECT(gan_dataset_split(NULL, &b, ds, 1, NULL), GAN_EINVAL, "'first' is NULL");
    assert_null(b);
    EXPECT(gan_dataset_split(&a, NULL, ds, 1, NULL), GAN_EINVAL, "'second' is NULL");
    assert_null(a);
    EXPECT(gan_dataset_split(&a, &b, NULL, 1, NULL), GAN_EINVAL, "'ds' is NULL");
    EXPECT(gan_dataset_split(&a, &b, ds, 1, NULL), GAN_OK, NULL); /* shuffle NULL keeps the order */
    assert_true(gan_dataset_row(a, 0)[1] == gan_dataset_row(ds, 0)[1]);
    gan_dataset_free(a);
    gan_dataset_free(b);
    EXPECT(gan_sampler_create(NULL, ds, GAN_SAMPLE_UNIFORM, 0), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_sampler_create(&s, NULL, GAN_SAMPLE_UNIFORM, 0), GAN_EINVAL, "'ds' is NULL");
    assert_null(s);
    gan_sampler_free(NULL);
    assert_int_equal(gan_sampler_epoch(NULL), 0);
    EXPECT(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK, NULL);
    EXPECT(gan_dataset_sampler(NULL, r, x, NULL, 1), GAN_EINVAL, "'s' is NULL");
    EXPECT(gan_dataset_sampler(s, NULL, x, NULL, 1), GAN_EINVAL, "'rng' is NULL");
    EXPECT(gan_dataset_sampler(s, r, NULL, NULL, 1), GAN_EINVAL, "'x' is NULL");
    EXPECT(gan_dataset_sampler(s, r, x, NULL, 2), GAN_OK, NULL); /* cond NULL: no labels asked */
    gan_sampler_free(s);

    /* evaluation */
    EXPECT(gan_parzen_log_likelihood(NULL, NULL, x, 2, x, 2, 2, 1.0f), GAN_EINVAL, "'mean' is NULL");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, NULL, 2, x, 2, 2, 1.0f), GAN_EINVAL, "'samples' is NULL");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 2, NULL, 2, 2, 1.0f), GAN_EINVAL, "'test' is NULL");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 2, x, 2, 2, 1.0f), GAN_OK, NULL); /* std_err optional */
    EXPECT(gan_parzen_select_sigma(NULL, NULL, x, 2, x, 2, 2, NULL, 0), GAN_EINVAL, "'best_sigma' is NULL");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, NULL, 2, x, 2, 2, NULL, 0), GAN_EINVAL, "'samples' is NULL");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 2, NULL, 2, 2, NULL, 0), GAN_EINVAL, "'valid' is NULL");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 2, x, 2, 2, NULL, 0), GAN_OK, NULL); /* the paper's grid */
    EXPECT(gan_nearest_neighbors(NULL, NULL, x, 2, x, 2, 2), GAN_EINVAL, "'index' is NULL");
    EXPECT(gan_nearest_neighbors(idx, NULL, NULL, 2, x, 2, 2), GAN_EINVAL, "'queries' is NULL");
    EXPECT(gan_nearest_neighbors(idx, NULL, x, 2, NULL, 2, 2), GAN_EINVAL, "'refs' is NULL");
    EXPECT(gan_nearest_neighbors(idx, NULL, x, 2, x, 2, 2), GAN_OK, NULL); /* dist2 optional */
    EXPECT(gan_image_grid_size(NULL, &size, 1, 2, 2, 1, 0), GAN_EINVAL, "'width' is NULL");
    EXPECT(gan_image_grid_size(&size, NULL, 1, 2, 2, 1, 0), GAN_EINVAL, "'height' is NULL");
    EXPECT(gan_image_grid(NULL, x, 1, 2, 2, 1, 0), GAN_EINVAL, "'pixels' is NULL");
    EXPECT(gan_image_grid(px, NULL, 1, 2, 2, 1, 0), GAN_EINVAL, "'images' is NULL");

    /* model files and checkpoints */
    EXPECT(gan_net_save(NULL, "x.gan"), GAN_EINVAL, "'n' is NULL");
    EXPECT(gan_net_save(w.g, NULL), GAN_EINVAL, "'path' is NULL");
    EXPECT(gan_net_save_mem(NULL, NULL, 0, &size), GAN_EINVAL, "'n' is NULL");
    EXPECT(gan_net_save_mem(w.g, NULL, 0, NULL), GAN_EINVAL, "'size' is NULL");
    EXPECT(gan_net_save_mem(w.g, NULL, 0, &size), GAN_OK, NULL); /* buf NULL: a size query */
    assert_true(size > 0);
    EXPECT(gan_net_load(NULL, "x.gan"), GAN_EINVAL, "'out' is NULL");
    EXPECT(gan_net_load(&n, NULL), GAN_EINVAL, "'path' is NULL");
    assert_null(n);
    EXPECT(gan_net_load_mem(NULL, x, 4), GAN_EINVAL, "'out' is NULL");
    n = (gan_net *)&n;
    EXPECT(gan_net_load_mem(&n, NULL, 4), GAN_EINVAL, "'buf' is NULL");
    assert_null(n);
    EXPECT(gan_net_load_mem(&n, NULL, 0), GAN_EFORMAT, "truncated"); /* NULL with size 0: no bytes */
    before = snap(w.t);
    EXPECT(gan_trainer_save(NULL, "x.gan"), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_save(w.t, NULL), GAN_EINVAL, "'path' is NULL");
    EXPECT(gan_trainer_save_mem(NULL, NULL, 0, &size), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_save_mem(w.t, NULL, 0, NULL), GAN_EINVAL, "'size' is NULL");
    EXPECT(gan_trainer_load(NULL, "x.gan"), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_load(w.t, NULL), GAN_EINVAL, "'path' is NULL");
    EXPECT(gan_trainer_load_mem(NULL, before.b, before.n), GAN_EINVAL, "'t' is NULL");
    EXPECT(gan_trainer_load_mem(w.t, NULL, 4), GAN_EINVAL, "'buf' is NULL");
    EXPECT(gan_trainer_load_mem(w.t, NULL, 0), GAN_EFORMAT, "truncated");
    assert_same_image(w.t, &before);
    free(before.b);

    gan_dataset_free(ds);
    gan_rng_free(r);
    world_free(&w);
}

/* --------------------------------------------------------------- zero sizes */

static void zero_sizes(void **state)
{
    (void)state;
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_rng *r;
    gan_layer *l = (gan_layer *)&l;
    gan_net *n = (gan_net *)&n, *empty;
    gan_optim *o;
    gan_dataset *ds = (gan_dataset *)&ds, *a, *b;
    gan_sampler *s;
    float x[64] = {0}, y[64];
    size_t size, off, count;
    assert_int_equal(gan_rng_create(&r, 1), GAN_OK);

    /* rng: n = 0 draws nothing, dst may then be NULL */
    float before = gan_rng_uniform(r);
    assert_int_equal(gan_rng_seed(r, 1), GAN_OK);
    EXPECT(gan_rng_fill_uniform(r, NULL, 0, 0, 1), GAN_OK, NULL);
    EXPECT(gan_rng_fill_normal(r, NULL, 0, 0, 1), GAN_OK, NULL);
    assert_true(gan_rng_uniform(r) == before); /* the stream did not move */

    /* layers and nets */
    EXPECT(gan_layer_dense(&l, 0, 3), GAN_EINVAL, "positive");
    assert_null(l);
    EXPECT(gan_layer_dense(&l, 3, 0), GAN_EINVAL, "positive");
    EXPECT(gan_layer_maxout(&l, 0, 2, 2), GAN_EINVAL, "positive");
    EXPECT(gan_layer_maxout(&l, 3, 0, 2), GAN_EINVAL, "positive");
    EXPECT(gan_layer_maxout(&l, 3, 2, 0), GAN_EINVAL, "positive");
    assert_null(l);
    EXPECT(gan_net_create(&n, 0), GAN_EINVAL, "in_dim");
    assert_null(n);
    for (int axis = 0; axis < 3; axis++) {
        size_t dims[3] = {2, 2, 2};
        dims[axis] = 0;
        EXPECT(gan_net_create_image(&n, dims[0], dims[1], dims[2]), GAN_EINVAL, "must be positive");
        assert_null(n);
        EXPECT(gan_layer_reshape(&l, dims[0], dims[1], dims[2]), GAN_EINVAL, "must be positive");
        assert_null(l);
    }
    EXPECT(gan_net_forward(w.g, x, 0, y, 0), GAN_EINVAL, "batch must be in");
    EXPECT(gan_net_layer_params(w.g, gan_net_num_layers(w.g), &off, &count), GAN_EINVAL, "layer 5 of a net with 5");
    /* A net without layers is the identity and has no parameters. */
    EXPECT(gan_net_create(&empty, 2), GAN_OK, NULL);
    EXPECT(gan_net_layer_params(empty, 0, &off, &count), GAN_EINVAL, "layer 0 of a net with 0");
    assert_null(gan_net_params(empty));
    assert_null(gan_net_grads(empty));
    EXPECT(gan_net_zero_grads(empty), GAN_OK, NULL);
    EXPECT(gan_net_init(empty, r, GAN_INIT_HE, 1.0f), GAN_OK, NULL);
    EXPECT(gan_net_backward(empty, x, NULL), GAN_ESTATE, "no forward pass");
    EXPECT(gan_optim_sgd(&o, 0.1f, 0.0f, 0), GAN_OK, NULL);
    EXPECT(gan_optim_step(o, empty), GAN_EINVAL, "no parameters");
    assert_int_equal(gan_optim_steps(o), 0);
    gan_trainer *t = (gan_trainer *)&t;
    EXPECT(gan_trainer_create(&t, empty, w.d, o, w.od), GAN_EINVAL, "need parameters");
    assert_null(t);
    gan_optim_free(o);
    gan_net_free(empty);

    /* trainer: counts must be positive; 0 disables the condition and the EMA */
    image im = snap(w.t);
    EXPECT(gan_trainer_set_batch_size(w.t, 0), GAN_EINVAL, "batch size must be in");
    EXPECT(gan_trainer_set_d_steps(w.t, 0), GAN_EINVAL, "at least 1");
    EXPECT(gan_trainer_set_g_steps(w.t, 0), GAN_EINVAL, "at least 1");
    EXPECT(gan_trainer_set_cond_dim(w.t, 0), GAN_OK, NULL);
    EXPECT(gan_trainer_set_ema(w.t, 0.0f), GAN_OK, NULL);
    EXPECT(gan_trainer_run(w.t, 0, NULL, NULL), GAN_OK, NULL); /* no step */
    float out[8];
    EXPECT(gan_trainer_generate(w.t, NULL, NULL, 0, out), GAN_EINVAL, "n must be positive");
    assert_same_image(w.t, &im);
    free(im.b);

    /* data sets: an empty buffer or a zero dimension is a malformed file; splits keep >= 1 row each */
    EXPECT(gan_dataset_load_idx_mem(&ds, IDX_IMAGES, 0, NULL, 0), GAN_EFORMAT, "truncated");
    assert_null(ds);
    uint8_t zero_rows[sizeof IDX_IMAGES];
    memcpy(zero_rows, IDX_IMAGES, sizeof zero_rows);
    zero_rows[7] = 0; /* 0 images */
    EXPECT(gan_dataset_load_idx_mem(&ds, zero_rows, 16, NULL, 0), GAN_EFORMAT, "dimension 0 is zero");
    ds = small_dataset();
    EXPECT(gan_dataset_split(&a, &b, ds, 0, NULL), GAN_EINVAL, "n_first");
    assert_null(a);
    assert_null(b);
    EXPECT(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK, NULL);
    EXPECT(gan_dataset_sampler(s, r, NULL, x, 0), GAN_OK, NULL); /* batch 0: nothing drawn */
    assert_int_equal(gan_sampler_epoch(s), 0);
    gan_sampler_free(s);

    /* evaluation: sizes must be positive, padding may be 0 */
    double mean;
    float sigma;
    size_t idx[2];
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 0, x, 2, 2, 1.0f), GAN_EINVAL, "n must be positive");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 2, x, 0, 2, 1.0f), GAN_EINVAL, "m must be positive");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 2, x, 2, 0, 1.0f), GAN_EINVAL, "dim must be in");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 2, x, 2, 2, x, 0), GAN_EINVAL, "n_sigmas must be in");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 0, x, 2, 2, NULL, 0), GAN_EINVAL, "n must be positive");
    EXPECT(gan_nearest_neighbors(idx, NULL, x, 0, x, 2, 2), GAN_EINVAL, "nq must be positive");
    EXPECT(gan_image_grid_size(&size, &count, 1, 2, 2, 0, 0), GAN_EINVAL, "must be positive");
    EXPECT(gan_image_grid_size(&size, &count, 1, 2, 2, 1, 0), GAN_OK, NULL);
    assert_int_equal(size, 2);

    /* files: an empty path, an empty buffer, a buffer too small */
    EXPECT(gan_net_save(w.g, ""), GAN_EINVAL, "empty");
    EXPECT(gan_trainer_save(w.t, ""), GAN_EINVAL, "empty");
    EXPECT(gan_net_load(&n, ""), GAN_EIO, "cannot open");
    assert_null(n);
    gan_dataset *none = (gan_dataset *)&none;
    EXPECT(gan_dataset_load_idx(&none, "", NULL), GAN_EIO, "cannot open");
    assert_null(none);
    im = snap(w.t);
    EXPECT(gan_trainer_load(w.t, ""), GAN_EIO, "cannot open");
    assert_same_image(w.t, &im);
    free(im.b);
    uint8_t buf[8];
    EXPECT(gan_net_save_mem(w.g, buf, 0, &size), GAN_EINVAL, "needed");
    assert_true(size > 8); /* the size needed is still told */
    EXPECT(gan_trainer_save_mem(w.t, buf, 0, &size), GAN_EINVAL, "needed");
    EXPECT(gan_net_load_mem(&n, buf, 0), GAN_EFORMAT, "truncated");
    im = snap(w.t);
    EXPECT(gan_trainer_load_mem(w.t, buf, 0), GAN_EFORMAT, "truncated");
    assert_same_image(w.t, &im);
    free(im.b);

    gan_dataset_free(ds);
    gan_rng_free(r);
    world_free(&w);
}

/* ---------------------------------------------------------- overflowing sizes */

static void overflowing_sizes(void **state)
{
    (void)state;
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_layer *l = (gan_layer *)&l;
    gan_net *n = (gan_net *)&n;
    gan_dataset *ds = small_dataset(), *a, *b;
    float x[64] = {0}, y[64];
    size_t off;
    const size_t over_int = (size_t)INT_MAX + 1;

    /* constructors: widths above INT_MAX, products past size_t */
    EXPECT(gan_layer_dense(&l, SIZE_MAX, 1), GAN_EINVAL, "overflow");
    EXPECT(gan_layer_dense(&l, 1, SIZE_MAX), GAN_EINVAL, "overflow");
    EXPECT(gan_layer_dense(&l, over_int, 1), GAN_EINVAL, "overflow");
    EXPECT(gan_layer_maxout(&l, 4, SIZE_MAX, 2), GAN_EINVAL, "overflow");
    EXPECT(gan_layer_maxout(&l, 4, 2, SIZE_MAX), GAN_EINVAL, "overflow");
    EXPECT(gan_layer_maxout(&l, SIZE_MAX, 2, 2), GAN_EINVAL, "overflow");
    assert_null(l);
    EXPECT(gan_net_create(&n, SIZE_MAX), GAN_EINVAL, "in_dim");
    EXPECT(gan_net_create(&n, over_int), GAN_EINVAL, "in_dim");
    assert_null(n);
    /* image sizes whose product wraps size_t, or passes INT_MAX */
    EXPECT(gan_net_create_image(&n, (size_t)1 << 32, (size_t)1 << 32, 2), GAN_EINVAL, "product of at most");
    EXPECT(gan_net_create_image(&n, 3, 1 << 15, 1 << 15), GAN_EINVAL, "product of at most");
    assert_null(n);
    EXPECT(gan_layer_reshape(&l, SIZE_MAX, SIZE_MAX, 2), GAN_EINVAL, "product of at most");
    EXPECT(gan_layer_reshape(&l, over_int, 1, 1), GAN_EINVAL, "product of at most");
    assert_null(l);

    /* A layer of 2^60 weights is valid but takes 4 EiB: the add fails with GAN_ENOMEM and
     * changes nothing; the layer stays the caller's. */
    capped_install();
    gan_net *big;
    gan_layer *huge;
    EXPECT(gan_net_create(&big, (size_t)1 << 30), GAN_OK, NULL);
    EXPECT(gan_layer_dense(&huge, (size_t)1 << 30, (size_t)1 << 30), GAN_OK, NULL);
    EXPECT(gan_net_add(big, huge), GAN_ENOMEM, "out of memory");
    assert_int_equal(gan_net_num_layers(big), 0);
    assert_int_equal(gan_net_num_params(big), 0);
    assert_int_equal(gan_net_out_dim(big), (size_t)1 << 30);
    gan_layer_free(huge);
    gan_net_free(big);
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);

    /* forward: the batch must fit an int, and its workspace size_t */
    EXPECT(gan_net_forward(w.g, x, SIZE_MAX, y, 0), GAN_EINVAL, "batch");
    EXPECT(gan_net_forward(w.g, x, over_int, y, 0), GAN_EINVAL, "batch");
    EXPECT(gan_net_forward(w.g, x, 1, y, 0), GAN_OK, NULL); /* still usable */

    /* indexes past the end */
    assert_null(gan_net_layer(w.g, SIZE_MAX));
    EXPECT(gan_net_layer_params(w.g, SIZE_MAX, &off, NULL), GAN_EINVAL, "of a net with 5 layers");
    assert_null(gan_dataset_row(ds, SIZE_MAX));
    assert_int_equal(gan_dataset_label(ds, SIZE_MAX), -1);
    assert_null(gan_trainer_rng(w.t, (gan_stream)99));

    /* trainer: batch and condition size limits; refused values change nothing */
    image im = snap(w.t);
    EXPECT(gan_trainer_set_batch_size(w.t, ((size_t)1 << 28) + 1), GAN_EINVAL, "2^28");
    EXPECT(gan_trainer_set_batch_size(w.t, SIZE_MAX), GAN_EINVAL, "2^28");
    EXPECT(gan_trainer_set_cond_dim(w.t, SIZE_MAX), GAN_EINVAL, "condition");
    assert_same_image(w.t, &im);
    assert_int_equal(gan_trainer_noise_dim(w.t), ZDIM);
    /* The largest batch is accepted; its first step needs gigabytes: GAN_ENOMEM, and the
     * step changes nothing. A smaller batch then trains. */
    EXPECT(gan_trainer_set_batch_size(w.t, (size_t)1 << 28), GAN_OK, NULL);
    free(im.b);
    im = snap(w.t);
    capped_install();
    EXPECT(gan_trainer_step(w.t, NULL), GAN_ENOMEM, "out of memory");
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
    assert_same_image(w.t, &im);
    assert_int_equal(w.data.calls, 0); /* refused before any callback */
    EXPECT(gan_trainer_set_batch_size(w.t, BATCH), GAN_OK, NULL);
    EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);
    free(im.b);

    /* data sets */
    EXPECT(gan_dataset_split(&a, &b, ds, SIZE_MAX, NULL), GAN_EINVAL, "n_first");
    EXPECT(gan_dataset_split(&a, &b, ds, gan_dataset_size(ds), NULL), GAN_EINVAL, "n_first");

    /* evaluation: sample counts whose rows overflow, and the candidate count */
    double mean;
    float sigma;
    size_t idx[2], wd, ht;
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, SIZE_MAX / 2, x, 2, 2, 1.0f), GAN_EINVAL, "overflows");
    EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 2, x, 2, over_int, 1.0f), GAN_EINVAL, "dim must be in");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 2, x, SIZE_MAX / 2, 2, NULL, 0), GAN_EINVAL, "overflows");
    EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 2, x, 2, 2, x, SIZE_MAX), GAN_EINVAL, "n_sigmas");
    EXPECT(gan_nearest_neighbors(idx, NULL, x, SIZE_MAX / 2, x, 2, 2), GAN_EINVAL, "overflows");
    EXPECT(gan_image_grid_size(&wd, &ht, SIZE_MAX, 2, 2, 1, 0), GAN_EINVAL, "overflows");
    uint8_t px[16];
    EXPECT(gan_image_grid(px, x, SIZE_MAX / 32, 4, 4, SIZE_MAX / 32, 0), GAN_EINVAL, "overflow");

    gan_dataset_free(ds);
    world_free(&w);
}

/* ------------------------------------------------------------- NaN and Inf */

/* Every float argument: NaN and +-Inf are refused with GAN_EINVAL, and the object is
 * unchanged. */
static void non_finite_scalars_are_refused(void **state)
{
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_rng *r, *twin;
    gan_layer *l = (gan_layer *)&l;
    gan_optim *o = (gan_optim *)&o;
    float x[4] = {0};
    assert_int_equal(gan_rng_create(&r, 9), GAN_OK);
    assert_int_equal(gan_rng_create(&twin, 9), GAN_OK);
    size_t ng = gan_net_num_params(w.g);
    float *g0 = malloc(ng * sizeof *g0);
    memcpy(g0, gan_net_params(w.g), ng * sizeof *g0);
    image im = snap(w.t);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        float v = bad[i];
        /* rng: nothing is drawn */
        EXPECT(gan_rng_fill_uniform(r, x, 4, v, 1.0f), GAN_EINVAL, "finite");
        EXPECT(gan_rng_fill_uniform(r, x, 4, -1.0f, v), GAN_EINVAL, "finite");
        EXPECT(gan_rng_fill_normal(r, x, 4, v, 1.0f), GAN_EINVAL, "finite");
        EXPECT(gan_rng_fill_normal(r, x, 4, 0.0f, v), GAN_EINVAL, "std");
        /* layers */
        EXPECT(gan_layer_leaky_relu(&l, v), GAN_EINVAL, "slope");
        EXPECT(gan_layer_dropout(&l, v), GAN_EINVAL, "keep_prob");
        assert_null(l);
        /* nets: nothing drawn or written */
        EXPECT(gan_net_init(w.g, r, GAN_INIT_UNIFORM, v), GAN_EINVAL, "scale");
        /* optimizers */
        EXPECT(gan_optim_sgd(&o, v, 0.0f, 0), GAN_EINVAL, "lr");
        EXPECT(gan_optim_sgd(&o, 0.1f, v, 0), GAN_EINVAL, "momentum");
        EXPECT(gan_optim_adam(&o, v, 0.9f, 0.999f, 1e-8f), GAN_EINVAL, "lr");
        EXPECT(gan_optim_adam(&o, 0.1f, v, 0.999f, 1e-8f), GAN_EINVAL, "beta1");
        EXPECT(gan_optim_adam(&o, 0.1f, 0.9f, v, 1e-8f), GAN_EINVAL, "beta2");
        EXPECT(gan_optim_adam(&o, 0.1f, 0.9f, 0.999f, v), GAN_EINVAL, "eps");
        assert_null(o);
        EXPECT(gan_optim_set_lr(w.og, v), GAN_EINVAL, "lr");
        EXPECT(gan_optim_set_momentum(w.og, v), GAN_EINVAL, "momentum");
        /* trainer setters */
        EXPECT(gan_trainer_set_noise_uniform(w.t, v), GAN_EINVAL, "scale");
        EXPECT(gan_trainer_set_noise_normal(w.t, v), GAN_EINVAL, "scale");
        EXPECT(gan_trainer_set_label_smoothing(w.t, v), GAN_EINVAL, "real target");
        EXPECT(gan_trainer_set_clip(w.t, v), GAN_EINVAL, "clip");
        EXPECT(gan_trainer_set_gradient_penalty(w.t, GAN_PENALTY_WGAN_GP, v, 1), GAN_EINVAL, "weight");
        EXPECT(gan_trainer_set_ema(w.t, v), GAN_EINVAL, "decay");
        /* evaluation */
        double mean = 0.0;
        float sigma = 0.0f;
        EXPECT(gan_parzen_log_likelihood(&mean, NULL, x, 1, x, 1, 4, v), GAN_EINVAL, "sigma must be");
        EXPECT(gan_parzen_select_sigma(&sigma, NULL, x, 1, x, 1, 4, &v, 1), GAN_EINVAL, "sigma must be");
        assert_true(mean == 0.0 && sigma == 0.0f);
    }
    assert_true(gan_rng_uniform(r) == gan_rng_uniform(twin)); /* no draw was taken */
    assert_memory_equal(g0, gan_net_params(w.g), ng * sizeof *g0);
    assert_same_image(w.t, &im); /* the setters, the optimizers' lr and momentum included */
    /* The refusals leave training possible. */
    EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);
    free(im.b);
    free(g0);
    gan_rng_free(r);
    gan_rng_free(twin);
    world_free(&w);
}

/* Finite bounds whose span or draws exceed float: uniform draws stay in [lo, hi]; a normal
 * whose draws could overflow (|mean| + 6 std > FLT_MAX; Box-Muller's draws stay within
 * 5.8 std) is refused, as its values could not be represented. */
static void rng_extreme_bounds(void **state)
{
    (void)state;
    gan_rng *r;
    enum { N = 4096 };
    static float x[N];
    assert_int_equal(gan_rng_create(&r, 4), GAN_OK);
    const float bounds[][2] = {{-FLT_MAX, FLT_MAX}, {-FLT_MAX, 0.0f}, {-3e38f, 3e38f}, {1.0f, 1.0f}};
    for (size_t k = 0; k < sizeof bounds / sizeof *bounds; k++) {
        float lo = bounds[k][0], hi = bounds[k][1];
        EXPECT(gan_rng_fill_uniform(r, x, N, lo, hi), GAN_OK, NULL);
        int below = 0, above = 0;
        for (size_t i = 0; i < N; i++) {
            if (!(x[i] >= lo && x[i] <= hi)) fail_msg("[%g, %g): draw %zu is %g", lo, hi, i, x[i]);
            below += x[i] < lo + (hi / 2 - lo / 2);
            above += x[i] > lo + (hi / 2 - lo / 2);
        }
        if (lo < hi) assert_true(below > N / 3 && above > N / 3); /* spread over the range */
    }
    EXPECT(gan_rng_fill_normal(r, x, N, 0.0f, 1e38f), GAN_EINVAL, "overflow");
    EXPECT(gan_rng_fill_normal(r, x, N, FLT_MAX, 1e33f), GAN_EINVAL, "overflow");
    EXPECT(gan_rng_fill_normal(r, x, N, -3e38f, 1e36f), GAN_OK, NULL);
    assert_true(all_finite(x, N));
    EXPECT(gan_rng_fill_normal(r, x, N, 0.0f, 5e37f), GAN_OK, NULL); /* 6 x 5e37 < FLT_MAX */
    assert_true(all_finite(x, N));
    EXPECT(gan_rng_fill_normal(r, x, N, FLT_MAX, 0.0f), GAN_OK, NULL);
    assert_true(x[0] == FLT_MAX && x[N - 1] == FLT_MAX);
    gan_rng_free(r);
}

/* gan_net_forward and gan_net_backward do not check values (a finiteness pass would cost
 * as much as the elementwise layers): NaN and Inf are computed with like any float. Rows
 * are independent, so a bad row spoils its own output row only. A NaN stays NaN through
 * dense, maxout, leaky ReLU, sigmoid, tanh, identity and dropout; ReLU maps NaN to 0 (and
 * sigmoid and tanh saturate +-Inf), so a net can turn a bad input row into a finite
 * output. The gradient stays non-finite either way (0 * NaN is NaN), and that is what
 * gan_optim_step and the trainer refuse. */
static void non_finite_values_through_nets(void **state)
{
    (void)state;
    const struct {
        gan_activation act;
        int kind; /* 0: activation, 1: maxout, 2: dropout */
    } kinds[] = {{GAN_ACT_IDENTITY, 0}, {GAN_ACT_RELU, 0}, {GAN_ACT_LEAKY_RELU, 0}, {GAN_ACT_SIGMOID, 0},
                 {GAN_ACT_TANH, 0},     {GAN_ACT_IDENTITY, 1}, {GAN_ACT_IDENTITY, 2}};
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 5), GAN_OK);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        gan_net *n;
        gan_layer *l;
        gan_optim *o;
        assert_int_equal(gan_net_create(&n, 3), GAN_OK);
        if (kinds[k].kind == 1) {
            add(n, gan_layer_maxout(&l, 3, 4, 2), &l);
        } else {
            add(n, gan_layer_dense(&l, 3, 4), &l);
            if (kinds[k].kind == 0) add(n, gan_layer_activation(&l, kinds[k].act), &l);
            else add(n, gan_layer_dropout(&l, 0.5f), &l);
        }
        assert_int_equal(gan_net_init(n, r, GAN_INIT_UNIFORM, 1.0f), GAN_OK);
        assert_int_equal(gan_net_set_rng(n, r), GAN_OK);
        float clean[2 * 3] = {0.1f, -0.2f, 0.3f, 0.5f, 0.25f, -0.75f}, x[2 * 3], y0[2 * 4], y[2 * 4];
        float dy[2 * 4] = {1, -1, 0.5f, 2, 1, 1, 1, 1}, dx[2 * 3];
        /* Dropout draws its mask: give both runs the same stream position. */
        assert_int_equal(gan_rng_seed(r, 77), GAN_OK);
        assert_int_equal(gan_net_forward(n, clean, 2, y0, 1), GAN_OK);
        for (int inf = 0; inf < 2; inf++) {
            memcpy(x, clean, sizeof x);
            x[4] = inf ? INFINITY : NAN; /* row 1 */
            assert_int_equal(gan_rng_seed(r, 77), GAN_OK);
            EXPECT(gan_net_forward(n, x, 2, y, 1), GAN_OK, NULL);
            assert_memory_equal(y, y0, 4 * sizeof *y); /* row 0 untouched */
            for (int j = 0; j < 4; j++) {
                float v = y[4 + j];
                if (!inf && kinds[k].kind == 0 && kinds[k].act == GAN_ACT_RELU) {
                    if (!(isnan(v) || v == 0.0f)) fail_msg("relu(NaN) gave %g", v);
                } else if (!inf) {
                    if (!isnan(v)) fail_msg("kind %zu: NaN input gave %g", k, v);
                }
            }
            /* The gradient of the bad row is not finite, and the optimizer refuses it. */
            assert_int_equal(gan_net_zero_grads(n), GAN_OK);
            EXPECT(gan_net_backward(n, dy, dx), GAN_OK, NULL);
            assert_false(all_finite(gan_net_grads(n), gan_net_num_params(n)));
            assert_true(all_finite(dx, 3)); /* row 0's input gradient is clean */
            size_t np = gan_net_num_params(n);
            float *p0 = malloc(np * sizeof *p0);
            memcpy(p0, gan_net_params(n), np * sizeof *p0);
            assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.9f, 0), GAN_OK);
            EXPECT(gan_optim_step(o, n), GAN_EDIVERGED, "not finite");
            assert_memory_equal(p0, gan_net_params(n), np * sizeof *p0);
            assert_int_equal(gan_optim_steps(o), 0);
            gan_optim_free(o);
            free(p0);
        }
        /* A non-finite dy alone spoils the parameter gradient (except behind a ReLU whose
         * output was 0: its backward selects 0) and its own row of dx, nothing else. */
        float bad_dy[2 * 4];
        memcpy(bad_dy, dy, sizeof bad_dy);
        bad_dy[5] = NAN;
        assert_int_equal(gan_rng_seed(r, 77), GAN_OK);
        assert_int_equal(gan_net_forward(n, clean, 2, y, 1), GAN_OK);
        assert_int_equal(gan_net_zero_grads(n), GAN_OK);
        EXPECT(gan_net_backward(n, bad_dy, dx), GAN_OK, NULL);
        assert_true(all_finite(dx, 3));
        if (!(kinds[k].kind == 0 && kinds[k].act == GAN_ACT_RELU && y[5] == 0.0f))
            assert_false(all_finite(gan_net_grads(n), gan_net_num_params(n)));
        gan_net_free(n);
    }
    gan_rng_free(r);
}

/* Every optimizer refuses a non-finite gradient, a non-finite parameter and an update that
 * would overflow (GAN_EDIVERGED), and changes nothing: afterwards it steps exactly like a
 * twin that never saw the bad steps. */
static void optimizers_refuse_non_finite_updates(void **state)
{
    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        gan_net *n[2];
        gan_optim *o[2];
        gan_layer *l;
        for (int i = 0; i < 2; i++) {
            assert_int_equal(gan_net_create(&n[i], 2), GAN_OK);
            add(n[i], gan_layer_dense(&l, 2, 2), &l);
            float *p = gan_net_params(n[i]);
            for (size_t j = 0; j < 6; j++) p[j] = 0.25f * (float)j - 0.5f;
            if (kind == 3) assert_int_equal(gan_optim_adam(&o[i], 1e-2f, 0.9f, 0.999f, 1e-8f), GAN_OK);
            else assert_int_equal(gan_optim_sgd(&o[i], 1e-2f, kind ? 0.9f : 0.0f, kind == 2), GAN_OK);
        }
        /* one good step each, so that momentum and moments are not zero */
        for (int i = 0; i < 2; i++) {
            float *g = gan_net_grads(n[i]);
            for (size_t j = 0; j < 6; j++) g[j] = 0.1f * (float)(j + 1);
            assert_int_equal(gan_optim_step(o[i], n[i]), GAN_OK);
        }
        float p0[6], *p = gan_net_params(n[0]), *g = gan_net_grads(n[0]);
        memcpy(p0, p, sizeof p0);
        const float bad_grads[] = {NAN, INFINITY, -INFINITY};
        for (size_t b = 0; b < 3; b++) {
            float keep = g[3];
            g[3] = bad_grads[b];
            EXPECT(gan_optim_step(o[0], n[0]), GAN_EDIVERGED, "not finite");
            g[3] = keep;
            assert_memory_equal(p, p0, sizeof p0);
        }
        /* a NaN parameter: its update is not finite */
        p[2] = NAN;
        EXPECT(gan_optim_step(o[0], n[0]), GAN_EDIVERGED, "gan_optim_step");
        assert_true(isnan(p[2]));
        p[2] = p0[2];
        /* a finite gradient whose update overflows: SGD's lr x g, Adam's second moment g^2 */
        if (kind == 3) {
            g[0] = 1e20f;
            EXPECT(gan_optim_step(o[0], n[0]), GAN_EDIVERGED, "gan_optim_step");
        } else {
            assert_int_equal(gan_optim_set_lr(o[0], 1e30f), GAN_OK);
            g[0] = 1e10f;
            EXPECT(gan_optim_step(o[0], n[0]), GAN_EDIVERGED, "overflow");
        }
        p[0] = p0[0];
        g[0] = 0.1f;
        assert_int_equal(gan_optim_set_lr(o[0], 1e-2f), GAN_OK);
        assert_memory_equal(p, p0, sizeof p0);
        assert_int_equal(gan_optim_steps(o[0]), 1);
        /* same next step as the twin: the state did not move */
        for (int i = 0; i < 2; i++) {
            float *gi = gan_net_grads(n[i]);
            for (size_t j = 0; j < 6; j++) gi[j] = -0.05f * (float)(j + 2);
            assert_int_equal(gan_optim_step(o[i], n[i]), GAN_OK);
        }
        assert_memory_equal(gan_net_params(n[0]), gan_net_params(n[1]), 6 * sizeof(float));
        for (int i = 0; i < 2; i++) {
            gan_optim_free(o[i]);
            gan_net_free(n[i]);
        }
    }
}

/* ----------------------------------------------- the trainer and bad values */

/* The kinds of step, each with its own way to stay all or nothing: 0 several D and G
 * updates (snapshots to restore, EMA on), 1 simultaneous (both checked before either
 * moves), 2 one D and one G update (D's update staged, EMA on), 3 one D and two G updates
 * (D staged, G's snapshot). */
enum { STEP_KINDS = 4 };

static void set_step_kind(gan_trainer *t, int kind)
{
    if (kind == 1) {
        assert_int_equal(gan_trainer_set_update(t, GAN_UPDATE_SIMULTANEOUS), GAN_OK);
        return;
    }
    assert_int_equal(gan_trainer_set_d_steps(t, kind == 0 ? 3 : 1), GAN_OK);
    assert_int_equal(gan_trainer_set_g_steps(t, kind == 2 ? 1 : 2), GAN_OK);
    if (kind != 3) assert_int_equal(gan_trainer_set_ema(t, 0.5f), GAN_OK);
}

/* A world (act) taking steps of kind `mode`, after two of them; *f is its data (which 0)
 * or noise (which 1) feed. Returns that feed's calls per step. */
static int warmed_world(world *w, gan_activation act, int mode, int which, feed **f)
{
    world_make(w, act, 0.0f);
    set_step_kind(w->t, mode);
    *f = which ? &w->noise : &w->data;
    assert_int_equal(gan_trainer_run(w->t, 2, NULL, NULL), GAN_OK);
    return (*f)->calls / 2;
}

/* A data or noise callback that writes NaN or Inf, on any of the step's calls, in every
 * kind of step: GAN_EDIVERGED, and G, D, both optimizers, the EMA, the streams and the step
 * count are bit for bit as before the step. ReLU nets are the hard case: their forward
 * maps NaN to 0, and a noise row drawn for a D update reaches no gradient of G, so the
 * trainer checks what the callbacks write. Training then goes on. */
static void trainer_catches_non_finite_callback_values(void **state)
{
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int mode = 0; mode < STEP_KINDS; mode++) {
        for (int which = 0; which < 2; which++) { /* 0: data, 1: noise */
            world w;
            feed *f;
            int per_step = warmed_world(&w, GAN_ACT_RELU, mode, which, &f);
            for (int pos = 1; pos <= per_step; pos++) {
                for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
                    image im = snap(w.t);
                    uint64_t steps = gan_trainer_steps(w.t);
                    f->bad = bad[b];
                    f->bad_on = f->calls + pos;
                    int rc = gan_trainer_step(w.t, NULL);
                    if (rc != GAN_EDIVERGED)
                        fail_msg("mode %d, %s call %d of %d writing %g: got %d (%s)", mode, which ? "noise" : "data",
                                 pos, per_step, bad[b], rc, gan_error_last());
                    assert_non_null(strstr(gan_error_last(), which ? "noise callback wrote" : "data callback wrote"));
                    assert_same_image(w.t, &im);
                    assert_int_equal(gan_trainer_steps(w.t), steps);
                    f->bad_on = 0;
                    free(im.b);
                }
            }
            EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);
            /* gan_trainer_generate's z is the caller's: not checked, computed with like
             * gan_net_forward's input (rows independent, no error) */
            float z[2 * ZDIM] = {0.1f, 0.2f, 0.3f, NAN, 0.0f, 0.0f}, out[2 * DIM], clean[2 * DIM];
            EXPECT(gan_trainer_generate(w.t, z, NULL, 2, out), GAN_OK, NULL);
            z[3] = 0.0f;
            EXPECT(gan_trainer_generate(w.t, z, NULL, 2, clean), GAN_OK, NULL);
            assert_memory_equal(out, clean, DIM * sizeof *out); /* row 0 as without the NaN */
            /* Noise the callback draws for gan_trainer_generate is checked as in a step,
             * and the failed call takes its draws back. */
            if (which) {
                image im = snap(w.t);
                f->bad = NAN;
                f->bad_on = f->calls + 1;
                EXPECT(gan_trainer_generate(w.t, NULL, NULL, 2, out), GAN_EDIVERGED, "noise callback wrote");
                f->bad_on = 0;
                assert_same_image(w.t, &im);
                free(im.b);
            }
            world_free(&w);
        }
    }
}

/* A callback that fails on any of its calls in a step: GAN_EUSER naming it, and the step
 * is undone as for a NaN. gan_trainer_generate with a failing noise callback leaves the
 * trainer as it was: G's own weights (the EMA ones are swapped back out) and the noise
 * stream (the chunks drawn before the failure are taken back). */
static void trainer_undoes_failed_callbacks(void **state)
{
    (void)state;
    for (int mode = 0; mode < STEP_KINDS; mode++) {
        for (int which = 0; which < 2; which++) {
            world w;
            feed *f;
            int per_step = warmed_world(&w, GAN_ACT_LEAKY_RELU, mode, which, &f);
            for (int pos = 1; pos <= per_step; pos++) {
                image im = snap(w.t);
                f->fail_on = f->calls + pos;
                EXPECT(gan_trainer_run(w.t, 3, NULL, NULL), GAN_EUSER, which ? "noise callback returned 5"
                                                                            : "data callback returned 5");
                assert_same_image(w.t, &im);
                f->fail_on = 0;
                free(im.b);
            }
            if (mode == 0) { /* EMA on: generate swaps the averaged weights in and out */
                float out[40 * DIM];
                image im = snap(w.t);
                w.noise.fail_on = w.noise.calls + 2; /* the second chunk of 16 rows */
                EXPECT(gan_trainer_generate(w.t, NULL, NULL, 40, out), GAN_EUSER, "noise callback");
                assert_same_image(w.t, &im); /* G's own weights, the noise stream */
                free(im.b);
            }
            EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);
            world_free(&w);
        }
    }
}

/* Issue #7, item 5a: SGD at lr 1e3 on a small GAN. Every step that succeeds leaves finite
 * parameters; the first step whose update is not finite returns GAN_EDIVERGED and leaves G,
 * D, both optimizers (state and step counts), the EMA, the streams and the step count bit
 * for bit as they were; retrying fails the same way. In each update mode and with losses
 * that blow up differently. */
static void divergence_stops_at_the_first_bad_step(void **state)
{
    (void)state;
    const struct {
        int update;
        unsigned d_steps, g_steps;
        int loss;
        float ema, lr;
    } cfgs[] = {
        {GAN_UPDATE_ALTERNATING, 1, 1, GAN_LOSS_NON_SATURATING, 0.0f, 1e3f},
        {GAN_UPDATE_ALTERNATING, 2, 2, GAN_LOSS_LEAST_SQUARES, 0.9f, 1e3f},
        {GAN_UPDATE_ALTERNATING, 1, 3, GAN_LOSS_MINIMAX, 0.5f, 1e3f},
        {GAN_UPDATE_SIMULTANEOUS, 1, 1, GAN_LOSS_LEAST_SQUARES, 0.9f, 1e3f},
        {GAN_UPDATE_SIMULTANEOUS, 1, 1, GAN_LOSS_HINGE, 0.0f, 1e3f},
        /* slower blow-ups: many good steps first */
        {GAN_UPDATE_ALTERNATING, 1, 1, GAN_LOSS_NON_SATURATING, 0.9f, 1.0f},
        {GAN_UPDATE_SIMULTANEOUS, 1, 1, GAN_LOSS_LEAST_SQUARES, 0.0f, 3.0f},
    };
    for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
        world w;
        world_make(&w, GAN_ACT_LEAKY_RELU, cfgs[c].lr);
        assert_int_equal(gan_trainer_set_update(w.t, cfgs[c].update), GAN_OK);
        assert_int_equal(gan_trainer_set_d_steps(w.t, cfgs[c].d_steps), GAN_OK);
        assert_int_equal(gan_trainer_set_g_steps(w.t, cfgs[c].g_steps), GAN_OK);
        assert_int_equal(gan_trainer_set_loss(w.t, cfgs[c].loss), GAN_OK);
        assert_int_equal(gan_trainer_set_ema(w.t, cfgs[c].ema), GAN_OK);
        int rc = GAN_OK, step = 0;
        image im = {NULL, 0};
        for (; step < 500; step++) {
            free(im.b);
            im = snap(w.t);
            rc = gan_trainer_step(w.t, NULL);
            if (rc) break;
            assert_true(all_finite(gan_net_params(w.g), gan_net_num_params(w.g)));
            assert_true(all_finite(gan_net_params(w.d), gan_net_num_params(w.d)));
        }
        if (rc != GAN_EDIVERGED) fail_msg("config %zu: %d (%s) after %d steps", c, rc, gan_error_last(), step);
        print_message("config %zu: GAN_EDIVERGED at step %d: %s\n", c, step + 1, gan_error_last());
        assert_same_image(w.t, &im);
        assert_int_equal(gan_trainer_steps(w.t), (uint64_t)step);
        EXPECT(gan_trainer_step(w.t, NULL), GAN_EDIVERGED, "not finite"); /* deterministic: same again */
        assert_same_image(w.t, &im);
        free(im.b);
        world_free(&w);
    }
}

/* Issue #7, item 5c: logits of +-1e30 and +-FLT_MAX, alone and mixed, with and without
 * label smoothing: every loss and every gradient of the five losses is finite. */
static void extreme_logits_in_every_loss(void **state)
{
    (void)state;
    const int losses[] = {GAN_LOSS_MINIMAX, GAN_LOSS_NON_SATURATING, GAN_LOSS_LEAST_SQUARES, GAN_LOSS_HINGE,
                          GAN_LOSS_WASSERSTEIN};
    enum { N = 8 };
    const float real[N] = {1e30f, -1e30f, FLT_MAX, -FLT_MAX, 0.0f, 1e30f, -FLT_MAX, 3.0f};
    const float fake[N] = {-1e30f, 1e30f, -FLT_MAX, FLT_MAX, FLT_MAX, 0.5f, -1e30f, -FLT_MAX};
    const float targets[] = {1.0f, 0.9f};
    for (size_t k = 0; k < sizeof losses / sizeof *losses; k++) {
        for (size_t t = 0; t < 2; t++) {
            for (size_t n = 1; n <= N; n++) { /* n = 1: no averaging to shrink the gradients */
                float gr[N], gf[N], gg[N];
                double d = gan__loss_d(losses[k], real, fake, n, targets[t], gr, gf);
                double g = gan__loss_g(losses[k], fake, n, gg);
                if (!isfinite(d) || !isfinite(g)) fail_msg("loss %d, n %zu: D %g, G %g", losses[k], n, d, g);
                if (!all_finite(gr, n) || !all_finite(gf, n) || !all_finite(gg, n))
                    fail_msg("loss %d, n %zu: a gradient is not finite", losses[k], n);
                g = gan__loss_g(losses[k], real, n, gg);
                assert_true(isfinite(g) && all_finite(gg, n));
            }
        }
    }
    double m = gan__mean_sigmoid(real, N);
    assert_true(isfinite(m) && m >= 0.0 && m <= 1.0);
}

/* ------------------------------------------------------ allocation failures */

/* Allocation failures in the calls test_errors.c does not sweep, with the stronger check
 * that the trainer is bit for bit as before: turning the EMA on, the first training step
 * (it sizes every workspace, the snapshots and both optimizers' state) and
 * gan_trainer_generate at a larger batch, in both update modes. A failed call keeps what
 * it grew before the failing allocation (no leak: it is freed with the trainer, checked
 * below), so the next try allocates less: each allocation k is failed on a fresh world. */
static void allocation_failures_change_nothing(void **state)
{
    (void)state;
    static const char *const what_name[] = {"gan_trainer_set_ema", "gan_trainer_step", "gan_trainer_generate"};
    for (int mode = 0; mode < 2; mode++) {
        for (int what = 0; what < 3; what++) {
            size_t failures = 0;
            for (size_t k = 1;; k++) {
                test_alloc_install();
                world w;
                world_make(&w, GAN_ACT_LEAKY_RELU, 0.0f);
                assert_int_equal(gan_trainer_set_update(w.t, mode ? GAN_UPDATE_SIMULTANEOUS : GAN_UPDATE_ALTERNATING),
                                 GAN_OK);
                if (mode == 0) assert_int_equal(gan_trainer_set_g_steps(w.t, 2), GAN_OK);
                if (what >= 1) assert_int_equal(gan_trainer_set_ema(w.t, 0.5f), GAN_OK);
                if (what == 2) {
                    assert_int_equal(gan_trainer_step(w.t, NULL), GAN_OK);
                    assert_int_equal(gan_trainer_set_batch_size(w.t, 64), GAN_OK);
                }
                float out[100 * DIM];
                image im = snap(w.t);
                test_alloc.fail_at = test_alloc.allocs + k;
                int rc = what == 0   ? gan_trainer_set_ema(w.t, 0.5f)
                         : what == 1 ? gan_trainer_step(w.t, NULL)
                                     : gan_trainer_generate(w.t, NULL, NULL, 100, out);
                int failed = test_alloc.fail_at == 0; /* the allocator reached k and failed it */
                test_alloc.fail_at = 0;
                if (failed) {
                    if (rc != GAN_ENOMEM || !strstr(gan_error_last(), "out of memory"))
                        fail_msg("%s, mode %d, allocation %zu failed: %d %s", what_name[what], mode, k, rc,
                                 gan_error_last());
                    assert_same_image(w.t, &im);
                    failures++;
                    /* the same handles then succeed */
                    rc = what == 0   ? gan_trainer_set_ema(w.t, 0.5f)
                         : what == 1 ? gan_trainer_step(w.t, NULL)
                                     : gan_trainer_generate(w.t, NULL, NULL, 100, out);
                }
                assert_int_equal(rc, GAN_OK);
                free(im.b);
                world_free(&w);
                assert_int_equal(test_alloc_live(), 0);
                assert_int_equal(gan_set_allocator(NULL), GAN_OK);
                if (!failed) break;
            }
            print_message("%s, mode %d: %zu allocations failed in turn\n", what_name[what], mode, failures);
            assert_true(what == 0 ? failures == 1 : what == 1 ? failures >= 5 : failures >= 2);
        }
    }
    /* gan_trainer_create frees everything it made when an allocation fails */
    test_alloc_install();
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_trainer *t = (gan_trainer *)&t;
    size_t f;
    SWEEP(f, gan_trainer_create(&t, w.g, w.d, w.og, w.od), assert_null(t));
    assert_int_equal(f, 5);
    gan_trainer_free(t);
    world_free(&w);
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* The calls documented as allocating nothing: with an allocator that fails every request
 * they still succeed. */
static void failing_allocator_spares_calls_that_allocate_nothing(void **state)
{
    (void)state;
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_dataset *ds = small_dataset();
    gan_sampler *s;
    gan_rng *r;
    assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    assert_int_equal(gan_rng_create(&r, 2), GAN_OK);
    assert_int_equal(gan_trainer_run(w.t, 1, NULL, NULL), GAN_OK); /* workspaces at this batch */
    assert_int_equal(gan_trainer_set_d_steps(w.t, 2), GAN_OK);     /* and the snapshots of the */
    assert_int_equal(gan_trainer_run(w.t, 1, NULL, NULL), GAN_OK); /* kind of step taken below */
    size_t size, cap;
    uint8_t *buf;
    assert_int_equal(gan_trainer_save_mem(w.t, NULL, 0, &cap), GAN_OK);
    cap *= 2;
    buf = malloc(cap);
    float x[BATCH * 4], y[BATCH * 4], cond[BATCH * 2];
    uint8_t px[64];
    size_t off, count;
    assert_int_equal(gan_rng_fill_uniform(r, x, BATCH * 4, -1.0f, 1.0f), GAN_OK);
    /* G's own block for gradients and scratch: the trainer's calls lent it the trainer's. */
    assert_int_equal(gan_net_forward(w.g, x, BATCH, y, 1), GAN_OK);
    test_alloc_install();
    test_alloc.fail_at = 1;
    EXPECT(gan_rng_seed(r, 4), GAN_OK, NULL);
    EXPECT(gan_rng_fill_uniform(r, x, 8, -1.0f, 1.0f), GAN_OK, NULL);
    EXPECT(gan_rng_fill_normal(r, x, 8, 0.0f, 1.0f), GAN_OK, NULL);
    EXPECT(gan_net_layer_params(w.g, 2, &off, &count), GAN_OK, NULL);
    EXPECT(gan_net_init(w.g, r, GAN_INIT_HE, 1.0f), GAN_OK, NULL);
    EXPECT(gan_net_set_rng(w.g, r), GAN_OK, NULL);
    EXPECT(gan_net_forward(w.g, x, BATCH, y, 1), GAN_OK, NULL); /* a batch already seen */
    EXPECT(gan_net_zero_grads(w.g), GAN_OK, NULL);
    EXPECT(gan_net_backward(w.g, y, x), GAN_OK, NULL);
    EXPECT(gan_optim_step(w.og, w.g), GAN_OK, NULL); /* not the first */
    EXPECT(gan_optim_set_lr(w.og, 0.01f), GAN_OK, NULL);
    EXPECT(gan_optim_set_momentum(w.og, 0.5f), GAN_OK, NULL);
    EXPECT(gan_trainer_set_noise_uniform(w.t, 1.0f), GAN_OK, NULL);
    EXPECT(gan_trainer_set_noise_normal(w.t, 1.0f), GAN_OK, NULL);
    EXPECT(gan_trainer_set_batch_size(w.t, BATCH / 2), GAN_OK, NULL);
    EXPECT(gan_trainer_set_d_steps(w.t, 2), GAN_OK, NULL);
    EXPECT(gan_trainer_set_g_steps(w.t, 1), GAN_OK, NULL);
    EXPECT(gan_trainer_set_loss(w.t, GAN_LOSS_HINGE), GAN_OK, NULL);
    EXPECT(gan_trainer_set_label_smoothing(w.t, 0.9f), GAN_OK, NULL);
    EXPECT(gan_trainer_set_clip(w.t, 0.1f), GAN_OK, NULL);
    EXPECT(gan_trainer_set_gradient_penalty(w.t, GAN_PENALTY_NONE, 0.0f, 1), GAN_OK, NULL);
    EXPECT(gan_trainer_set_cond_dim(w.t, 0), GAN_OK, NULL);
    EXPECT(gan_trainer_set_seed(w.t, 8), GAN_OK, NULL);
    EXPECT(gan_trainer_set_update(w.t, GAN_UPDATE_ALTERNATING), GAN_OK, NULL);
    EXPECT(gan_trainer_set_noise(w.t, feed_noise, &w.noise), GAN_OK, NULL);
    EXPECT(gan_trainer_set_data(w.t, feed_data, &w.data), GAN_OK, NULL);
    EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL); /* steady state, smaller batch */
    EXPECT(gan_trainer_save_mem(w.t, buf, cap, &size), GAN_OK, NULL);
    EXPECT(gan_trainer_load_mem(w.t, buf, size), GAN_OK, NULL); /* state of the same sizes: in place */
    EXPECT(gan_net_save_mem(w.g, NULL, 0, &size), GAN_OK, NULL);
    EXPECT(gan_dataset_sampler(s, r, x, cond, BATCH), GAN_OK, NULL);
    EXPECT(gan_image_grid_size(&off, &count, 4, 2, 2, 2, 1), GAN_OK, NULL);
    EXPECT(gan_image_grid(px, x, 4, 2, 2, 2, 1), GAN_OK, NULL);
    EXPECT(gan_image_grid2_size(&off, &count, 2, 3, 1, 1, 2, 0, 2), GAN_OK, NULL);
    EXPECT(gan_image_grid2(px, x, 2, 3, 1, 1, 2, 0, 2), GAN_OK, NULL); /* 4 x 2 pixels of 3 bytes */
    assert_int_equal(test_alloc.allocs, 0);
    assert_int_equal(test_alloc.fail_at, 1); /* no request was made */
    test_alloc.fail_at = 0;
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
    free(buf);
    gan_sampler_free(s);
    gan_dataset_free(ds);
    gan_rng_free(r);
    world_free(&w);
}

/* ------------------------------------------------------------------ serial */

/* Parameters are saved bit for bit, NaN and Inf included (docs/file-format.md): a model
 * that diverged outside the trainer can still be saved and inspected. */
static void non_finite_parameters_round_trip(void **state)
{
    (void)state;
    gan_net *n = mlp(2, 3, 1, GAN_ACT_TANH, 0), *back;
    float *p = gan_net_params(n);
    const uint32_t nan_payload = 0x7FC01234u;
    memcpy(&p[0], &nan_payload, sizeof nan_payload);
    p[1] = INFINITY;
    p[2] = -INFINITY;
    p[3] = -0.0f;
    p[4] = FLT_MAX;
    p[5] = 1e-45f; /* denormal */
    size_t size;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size);
    assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
    EXPECT(gan_net_load_mem(&back, buf, size), GAN_OK, NULL);
    assert_memory_equal(gan_net_params(back), p, gan_net_num_params(n) * sizeof *p);
    gan_net_free(back);
    /* the same through a file */
    char path[64];
    snprintf(path, sizeof path, "reliability-%ld.gan", (long)getpid());
    EXPECT(gan_net_save(n, path), GAN_OK, NULL);
    EXPECT(gan_net_load(&back, path), GAN_OK, NULL);
    assert_memory_equal(gan_net_params(back), p, gan_net_num_params(n) * sizeof *p);
    assert_int_equal(unlink(path), 0);
    free(buf);
    gan_net_free(back);
    gan_net_free(n);
}

/* ------------------------------------------------- failures that change nothing */

/* An allocator that fills new memory with zeros, so that a workspace replaced by a failed
 * call reads as deterministic garbage (winner 0 for every maxout unit, a dropout mask that
 * drops everything) rather than as whatever malloc returned. */
static void *zeroing_malloc(void *ctx, size_t size)
{
    void *p = test_malloc_fn(ctx, size);
    if (p) memset(p, 0, size);
    return p;
}

/* A failing gan_net_forward leaves the net as it was (docs/conventions.md): gan_net_backward
 * still differentiates the last successful forward. The layers' new workspaces (maxout
 * winners, dropout masks) replace the old ones only once every allocation succeeded. */
static void failed_forward_keeps_the_last_forward(void **state)
{
    (void)state;
    enum { IN = 4, SMALL = 4, LARGE = 8 };
    float x[LARGE * IN], y[LARGE], dy[LARGE], dx_ref[SMALL * IN], dx[SMALL * IN];
    for (int i = 0; i < LARGE * IN; i++) x[i] = sinf(1.7f * (float)i);
    for (int i = 0; i < LARGE; i++) dy[i] = 1.0f + (float)i;
    for (size_t k = 1;; k++) {
        gan_net *n;
        gan_layer *l;
        gan_rng *r;
        test_alloc_install();
        gan_allocator a = {zeroing_malloc, test_free_fn, NULL};
        assert_int_equal(gan_set_allocator(&a), GAN_OK);
        assert_int_equal(gan_rng_create(&r, 3), GAN_OK);
        assert_int_equal(gan_net_create(&n, IN), GAN_OK);
        add(n, gan_layer_maxout(&l, IN, 3, 3), &l);
        add(n, gan_layer_dropout(&l, 0.5f), &l);
        add(n, gan_layer_dense(&l, 3, 1), &l);
        assert_int_equal(gan_net_init(n, r, GAN_INIT_UNIFORM, 1.0f), GAN_OK);
        assert_int_equal(gan_net_set_rng(n, r), GAN_OK);
        assert_int_equal(gan_net_forward(n, x, SMALL, y, 1), GAN_OK);
        assert_int_equal(gan_net_backward(n, dy, dx_ref), GAN_OK);
        size_t np = gan_net_num_params(n);
        float *grads_ref = malloc(np * sizeof *grads_ref);
        memcpy(grads_ref, gan_net_grads(n), np * sizeof *grads_ref);
        test_alloc.fail_at = test_alloc.allocs + k;
        int rc = gan_net_forward(n, x, LARGE, y, 1);
        test_alloc.fail_at = 0;
        if (rc == GAN_OK) {
            free(grads_ref);
            gan_net_free(n);
            gan_rng_free(r);
            assert_int_equal(gan_set_allocator(NULL), GAN_OK);
            assert_true(k > 2);
            break;
        }
        assert_error(rc, GAN_ENOMEM, "out of memory");
        /* backward of the batch-4 forward again: the same input gradient, the same
         * parameter gradients added once more */
        assert_int_equal(gan_net_zero_grads(n), GAN_OK);
        assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
        int changed = memcmp(dx, dx_ref, sizeof dx) || memcmp(gan_net_grads(n), grads_ref, np * sizeof *grads_ref);
        free(grads_ref);
        gan_net_free(n);
        gan_rng_free(r);
        assert_int_equal(test_alloc_live(), 0);
        assert_int_equal(gan_set_allocator(NULL), GAN_OK);
        if (changed) /* after the cleanup, so a failure leaks nothing */
            fail_msg("allocation %zu of the batch-%d forward failed; the backward of the batch-%d forward "
                     "before it changed", k, LARGE, SMALL);
    }
}

/* A failed gan_optim_step changes nothing (include/gan.h): in particular a failed first
 * step does not tie the optimizer to that net's size (it frees the state it allocated
 * before the dry run refused the update). */
static void failed_first_step_keeps_the_optimizer_fresh(void **state)
{
    (void)state;
    gan_net *a, *b;
    gan_layer *l;
    gan_optim *o;
    assert_int_equal(gan_net_create(&a, 2), GAN_OK);
    add(a, gan_layer_dense(&l, 2, 2), &l);
    assert_int_equal(gan_net_create(&b, 3), GAN_OK);
    add(b, gan_layer_dense(&l, 3, 1), &l);
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.9f, 0), GAN_OK);
    gan_net_grads(a)[0] = NAN;
    int first = gan_optim_step(o, a);
    int second = gan_optim_step(o, b); /* a fresh optimizer takes any net */
    char msg[256];
    snprintf(msg, sizeof msg, "%s", gan_error_last());
    gan_optim_free(o);
    gan_net_free(a);
    gan_net_free(b);
    assert_int_equal(first, GAN_EDIVERGED);
    if (second != GAN_OK) fail_msg("the step after a failed first step: %d: %s", second, msg);
}

/* ---------------------------------------------------------------------- main */

/* ------------------------------------- a borrowed handle changed underneath */

/* A net grown while a trainer borrows it (the heap overflow of issue 12: the trainer's
 * snapshots, staged D, EMA and workspaces were sized for the old net). Every trainer call
 * that touches them refuses with GAN_ESTATE naming the net, for every kind of step, and
 * with EMA after gan_optim_reset (the documented way to reuse an optimizer). */
static void net_grown_under_a_trainer(void **state)
{
    (void)state;
    for (int mode = 0; mode < STEP_KINDS + 1; mode++)
        for (int which = 0; which < 2; which++) {
            world w;
            feed *f;
            warmed_world(&w, GAN_ACT_RELU, mode < STEP_KINDS ? mode : 2, 0, &f);
            if (mode == STEP_KINDS) {
                assert_int_equal(gan_trainer_set_ema(w.t, 0.9f), GAN_OK);
                assert_int_equal(gan_optim_reset(w.og), GAN_OK);
                assert_int_equal(gan_optim_reset(w.od), GAN_OK);
            }
            size_t size;
            assert_int_equal(gan_trainer_save_mem(w.t, NULL, 0, &size), GAN_OK);
            uint8_t *ck = malloc(size);
            assert_int_equal(gan_trainer_save_mem(w.t, ck, size, &size), GAN_OK);
            gan_layer *l;
            gan_net *grown = which ? w.d : w.g;
            size_t width = gan_net_out_dim(grown);
            assert_int_equal(gan_layer_dense(&l, width, width), GAN_OK);
            assert_int_equal(gan_net_add(grown, l), GAN_OK);
            const char *needle = which ? "D changed after gan_trainer_create" : "G changed after gan_trainer_create";
            float out[2 * DIM];
            EXPECT(gan_trainer_step(w.t, NULL), GAN_ESTATE, needle);
            EXPECT(gan_trainer_run(w.t, 3, NULL, NULL), GAN_ESTATE, needle);
            EXPECT(gan_trainer_generate(w.t, NULL, NULL, 2, out), GAN_ESTATE, needle);
            EXPECT(gan_trainer_save_mem(w.t, NULL, 0, &size), GAN_ESTATE, needle);
            EXPECT(gan_trainer_load_mem(w.t, ck, size), GAN_ESTATE, needle);
            EXPECT(gan_trainer_set_ema(w.t, 0.5f), GAN_ESTATE, needle);
            EXPECT(gan_trainer_set_cond_dim(w.t, 0), GAN_ESTATE, needle);
            EXPECT(gan_trainer_set_augment(w.t, GAN_AUGMENT_NONE), GAN_ESTATE, needle);
            assert_int_equal(gan_trainer_steps(w.t), 2);
            free(ck);
            world_free(&w);
        }
}

/* A net re-initialised while a trainer borrows it keeps training; the EMA of G restarts
 * from the new weights instead of averaging them with the old ones. */
static void net_reinitialised_under_a_trainer(void **state)
{
    (void)state;
    world w;
    feed *f;
    warmed_world(&w, GAN_ACT_TANH, 2, 0, &f); /* EMA on */
    gan_rng *init = gan_trainer_rng(w.t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(w.g, init, GAN_INIT_HE, 1.0f), GAN_OK);
    float z[4 * ZDIM], by_trainer[4 * DIM], by_g[4 * DIM];
    assert_int_equal(gan_rng_fill_uniform(init, z, 4 * ZDIM, -1.0f, 1.0f), GAN_OK);
    /* before the next step the average is G's new weights */
    EXPECT(gan_trainer_generate(w.t, z, NULL, 4, by_trainer), GAN_OK, NULL);
    assert_int_equal(gan_net_forward(w.g, z, 4, by_g, 0), GAN_OK);
    assert_memory_equal(by_trainer, by_g, sizeof by_g);
    /* and after it, their average with the updated weights (decay 0.5, warming up) */
    size_t n = gan_net_num_params(w.g);
    float *before = malloc(n * sizeof *before), *avg = malloc(n * sizeof *avg);
    memcpy(before, gan_net_params(w.g), n * sizeof *before);
    float a = ema_decay_after(0.5f, gan_trainer_steps(w.t));
    EXPECT(gan_trainer_step(w.t, NULL), GAN_OK, NULL);
    const float *p = gan_net_params(w.g);
    for (size_t i = 0; i < n; i++) avg[i] = a * before[i] + (1.0f - a) * p[i];
    memcpy(before, p, n * sizeof *before); /* G's trained weights */
    memcpy(gan_net_params(w.g), avg, n * sizeof *avg);
    assert_int_equal(gan_net_forward(w.g, z, 4, by_g, 0), GAN_OK);
    memcpy(gan_net_params(w.g), before, n * sizeof *before);
    EXPECT(gan_trainer_generate(w.t, z, NULL, 4, by_trainer), GAN_OK, NULL);
    assert_memory_equal(by_trainer, by_g, sizeof by_g);
    free(before);
    free(avg);
    world_free(&w);
}

/* One optimizer given to two trainers: its state belongs to the first trainer's net, so
 * the second trainer's step refuses it (GAN_EINVAL) and changes nothing, until
 * gan_optim_reset gives it up. */
static void optimizer_shared_by_two_trainers(void **state)
{
    (void)state;
    world a, b;
    feed *f;
    warmed_world(&a, GAN_ACT_RELU, 2, 0, &f);
    world_make(&b, GAN_ACT_RELU, 0.0f);
    gan_trainer *t;
    assert_int_equal(gan_trainer_create(&t, b.g, b.d, a.og, b.od), GAN_OK); /* a's G optimizer, same sizes */
    assert_int_equal(gan_trainer_set_data(t, feed_data, &b.data), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, BATCH), GAN_OK);
    image before = snap(a.t);
    EXPECT(gan_trainer_step(t, NULL), GAN_EINVAL, "G: the optimizer's state belongs to another net");
    assert_same_image(a.t, &before);
    assert_int_equal(gan_optim_reset(a.og), GAN_OK);
    EXPECT(gan_trainer_step(t, NULL), GAN_OK, NULL);
    EXPECT(gan_trainer_step(a.t, NULL), GAN_EINVAL, "G: the optimizer's state belongs to another net");
    free(before.b);
    gan_trainer_free(t);
    world_free(&a);
    world_free(&b);
}

/* An optimizer whose state is for a bigger net, in a step that keeps a snapshot of it
 * (several G or D updates): refused before anything is copied, for every way the state
 * got there (another trainer, several D updates, a direct gan_optim_step). The snapshot
 * is sized for the trainer's net; the state once overflowed it (issue 23). */
static void optimizer_of_a_bigger_net_in_a_snapshot(void **state)
{
    (void)state;
    for (int way = 0; way < 3; way++) {
        gan_net *big = mlp(ZDIM, 24, DIM, GAN_ACT_RELU, 0), *g = mlp(ZDIM, 2, DIM, GAN_ACT_RELU, 0);
        gan_net *d = mlp(DIM, 4, 1, GAN_ACT_RELU, 1);
        gan_optim *shared, *od, *od_big;
        assert_int_equal(gan_optim_adam(&shared, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
        assert_int_equal(gan_optim_adam(&od, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
        assert_int_equal(gan_optim_adam(&od_big, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
        gan_trainer *first, *second;
        feed data = {0};
        /* the state comes from a trainer on `big` (ways 0 and 1, the second trainer taking
         * two D updates as well in way 1) or from gan_optim_step on `big` (way 2) */
        assert_int_equal(gan_trainer_create(&first, big, d, shared, od_big), GAN_OK);
        assert_int_equal(gan_trainer_set_data(first, feed_data, &data), GAN_OK);
        assert_int_equal(gan_trainer_set_batch_size(first, BATCH), GAN_OK);
        gan_rng *init = gan_trainer_rng(first, GAN_STREAM_INIT);
        assert_int_equal(gan_net_init(big, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
        assert_int_equal(gan_net_init(g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
        assert_int_equal(gan_net_init(d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
        if (way < 2) {
            EXPECT(gan_trainer_step(first, NULL), GAN_OK, NULL);
        } else {
            gan_net_grads(big)[0] = 0.5f;
            EXPECT(gan_optim_step(shared, big), GAN_OK, NULL);
        }
        assert_int_equal(gan_trainer_create(&second, g, d, shared, od), GAN_OK);
        assert_int_equal(gan_trainer_set_data(second, feed_data, &data), GAN_OK);
        assert_int_equal(gan_trainer_set_batch_size(second, BATCH), GAN_OK);
        if (way == 1) assert_int_equal(gan_trainer_set_d_steps(second, 2), GAN_OK);
        assert_int_equal(gan_trainer_set_g_steps(second, 2), GAN_OK);
        image before = snap(first); /* the shared state, with big's parameters and D's */
        size_t n = gan_net_num_params(g);
        float *g_before = malloc(n * sizeof *g_before);
        memcpy(g_before, gan_net_params(g), n * sizeof *g_before);
        EXPECT(gan_trainer_step(second, NULL), GAN_EINVAL, "G: the optimizer's state is for");
        assert_same_image(first, &before);
        assert_memory_equal(gan_net_params(g), g_before, n * sizeof *g_before);
        free(g_before);
        assert_int_equal(gan_optim_reset(shared), GAN_OK);
        EXPECT(gan_trainer_step(second, NULL), GAN_OK, NULL);
        free(before.b);
        gan_trainer_free(first);
        gan_trainer_free(second);
        gan_optim_free(shared);
        gan_optim_free(od);
        gan_optim_free(od_big);
        gan_net_free(big);
        gan_net_free(g);
        gan_net_free(d);
    }
}

/* One net given to two trainers: each draws dropout masks from its own stream, whichever
 * trainer was created last; each checks the nets against what it first saw. */
static void net_shared_by_two_trainers(void **state)
{
    (void)state;
    world w;
    world_make(&w, GAN_ACT_RELU, 0.0f);
    gan_net *d;
    gan_layer *l;
    assert_int_equal(gan_net_create(&d, DIM), GAN_OK);
    add(d, gan_layer_dropout(&l, 0.5f), &l);
    add(d, gan_layer_dense(&l, DIM, 1), &l);
    gan_optim *og, *od, *og2, *od2;
    assert_int_equal(gan_optim_adam(&og, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&od, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&og2, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&od2, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    gan_trainer *a, *b, *fresh;
    assert_int_equal(gan_trainer_create(&a, w.g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_create(&b, w.g, d, og2, od2), GAN_OK); /* lends the nets its stream */
    assert_int_equal(gan_trainer_set_data(a, feed_data, &w.data), GAN_OK);
    assert_int_equal(gan_net_init(d, gan_trainer_rng(a, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    EXPECT(gan_trainer_run(a, 3, NULL, NULL), GAN_OK, NULL);
    /* b's dropout stream is untouched: it draws what a new trainer's (same seed) draws */
    assert_int_equal(gan_trainer_create(&fresh, w.g, d, og2, od2), GAN_OK);
    assert_true(gan_rng_uniform(gan_trainer_rng(b, GAN_STREAM_DROPOUT)) ==
                gan_rng_uniform(gan_trainer_rng(fresh, GAN_STREAM_DROPOUT)));
    gan_trainer_free(fresh);
    gan_trainer_free(b); /* a keeps working without b */
    EXPECT(gan_trainer_step(a, NULL), GAN_OK, NULL);
    gan_trainer_free(a);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_optim_free(og2);
    gan_optim_free(od2);
    gan_net_free(d);
    world_free(&w);
}

/* Nets that do not fit the trainer's condition size (G 4 -> 1 and D 3 -> 1 without
 * gan_trainer_set_cond_dim, the commonest cGAN mistake) and nets never initialised are
 * GAN_ESTATE with a message (it used to be empty), and change nothing. */
static void misfits_and_uninitialised_nets_explain_themselves(void **state)
{
    (void)state;
    gan_net *g = mlp(4, 8, 1, GAN_ACT_RELU, 0), *d = mlp(3, 8, 1, GAN_ACT_RELU, 1);
    gan_optim *og, *od;
    gan_trainer *t;
    assert_int_equal(gan_optim_sgd(&og, 0.01f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 0.01f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    feed fd = {0};
    assert_int_equal(gan_trainer_set_data(t, feed_data, &fd), GAN_OK);
    EXPECT(gan_trainer_step(t, NULL), GAN_ESTATE, "D takes 3 inputs, but G's 1 outputs plus 0 condition values");
    EXPECT(gan_trainer_step(t, NULL), GAN_ESTATE, "gan_trainer_set_cond_dim");
    assert_int_equal(gan_trainer_set_cond_dim(t, 2), GAN_OK);
    EXPECT(gan_trainer_step(t, NULL), GAN_ESTATE, "G was never initialised (gan_net_init)");
    float out[2], cond[4] = {1, 0, 0, 1};
    EXPECT(gan_trainer_generate(t, NULL, cond, 2, out), GAN_ESTATE, "G was never initialised");
    /* EMA enabled before init starts from G's weights at the first step, not from zeros */
    assert_int_equal(gan_trainer_set_ema(t, 0.999f), GAN_OK);
    gan_rng *init = gan_trainer_rng(t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    EXPECT(gan_trainer_step(t, NULL), GAN_ESTATE, "D was never initialised (gan_net_init)");
    assert_int_equal(gan_trainer_steps(t), 0);
    gan_net_params(d)[0] = 0.5f; /* the caller's own weights count too */
    EXPECT(gan_trainer_step(t, NULL), GAN_OK, NULL);
    float with_ema[2], z[2 * 2] = {0.5f, -0.5f, 0.25f, 0.75f}, gin[2 * 4];
    for (int i = 0; i < 2; i++) {
        memcpy(gin + 4 * i, z + 2 * i, 2 * sizeof(float));
        memcpy(gin + 4 * i + 2, cond + 2 * i, 2 * sizeof(float));
    }
    EXPECT(gan_trainer_generate(t, z, cond, 2, with_ema), GAN_OK, NULL);
    /* one step at decay 0.999 leaves the average within 1e-3 of G's weights: zeros would be far */
    assert_int_equal(gan_net_forward(g, gin, 2, out, 0), GAN_OK);
    for (int i = 0; i < 2; i++) assert_true(fabsf(with_ema[i] - out[i]) < 1e-2f * (1.0f + fabsf(out[i])));
    assert_true(fabsf(out[0]) + fabsf(out[1]) > 1e-3f);
    free_gan(t, og, od, g, d);
}

/* Every failure explains itself: each EXPECT, assert_error and SWEEP above that saw a
 * public call fail also checked that gan_error_last() starts with that function's name
 * (assert_failure_explained, test_util.h). Run last, this proves the walk happened. */
static void every_failure_names_its_function(void **state)
{
    (void)state;
    print_message("%zu failures of public calls checked for a message naming the call\n", failures_explained);
    assert_true(failures_explained >= 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_forward_keeps_the_last_forward),
        cmocka_unit_test(failed_first_step_keeps_the_optimizer_fresh),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(zero_sizes),
        cmocka_unit_test(overflowing_sizes),
        cmocka_unit_test(non_finite_scalars_are_refused),
        cmocka_unit_test(rng_extreme_bounds),
        cmocka_unit_test(non_finite_values_through_nets),
        cmocka_unit_test(optimizers_refuse_non_finite_updates),
        cmocka_unit_test(trainer_catches_non_finite_callback_values),
        cmocka_unit_test(trainer_undoes_failed_callbacks),
        cmocka_unit_test(divergence_stops_at_the_first_bad_step),
        cmocka_unit_test(extreme_logits_in_every_loss),
        cmocka_unit_test(allocation_failures_change_nothing),
        cmocka_unit_test(failing_allocator_spares_calls_that_allocate_nothing),
        cmocka_unit_test(non_finite_parameters_round_trip),
        cmocka_unit_test(net_grown_under_a_trainer),
        cmocka_unit_test(net_reinitialised_under_a_trainer),
        cmocka_unit_test(optimizer_shared_by_two_trainers),
        cmocka_unit_test(optimizer_of_a_bigger_net_in_a_snapshot),
        cmocka_unit_test(net_shared_by_two_trainers),
        cmocka_unit_test(misfits_and_uninitialised_nets_explain_themselves),
        cmocka_unit_test(every_failure_names_its_function), /* last: counts the checks above */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
