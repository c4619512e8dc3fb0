/* The trainer: reproducibility, safety, conditioning, and two facts from the paper's
 * theory (the optimal discriminator, and G matching p_data at the optimum). */
#include "test_util.h"

#include <math.h>

typedef struct {
    float mean, std;
    int fail_with;  /* non-zero: the callback returns it */
    int nan_after;  /* > 0: calls after this many write NaN */
    int calls;
    size_t cond_dim; /* one-hot of the sign of x, when > 0 */
} gauss_data;

static int gauss_fill(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    gauss_data *g = payload;
    g->calls++;
    if (g->fail_with) return g->fail_with;
    gan_rng_fill_normal(rng, x, batch, g->mean, g->std);
    if (g->nan_after && g->calls > g->nan_after) x[batch / 2] = NAN;
    for (size_t i = 0; cond && i < batch; i++) {
        memset(cond + i * g->cond_dim, 0, g->cond_dim * sizeof *cond);
        cond[i * g->cond_dim + (x[i] > g->mean)] = 1.0f;
    }
    return 0;
}

typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    gauss_data data;
} setup;

static void setup_make(setup *s, uint64_t seed, size_t cond_dim)
{
    memset(s, 0, sizeof *s);
    s->data = (gauss_data){.mean = 2.0f, .std = 0.5f, .cond_dim = cond_dim};
    s->g = mlp(4 + cond_dim, 16, 1, GAN_ACT_LEAKY_RELU, 0);
    s->d = mlp(1 + cond_dim, 16, 1, GAN_ACT_TANH, 1);
    assert_int_equal(gan_optim_adam(&s->og, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&s->od, 2e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&s->t, s->g, s->d, s->og, s->od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(s->t, seed), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(s->t, 32), GAN_OK);
    assert_int_equal(gan_trainer_set_data(s->t, gauss_fill, &s->data), GAN_OK);
    if (cond_dim) assert_int_equal(gan_trainer_set_cond_dim(s->t, cond_dim), GAN_OK);
    gan_rng *init = gan_trainer_rng(s->t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(s->g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(s->d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
}

static void setup_free(setup *s)
{
    free_gan(s->t, s->og, s->od, s->g, s->d);
}

static void same_seed_same_bits(void **state)
{
    (void)state;
    const int modes[][2] = {{GAN_UPDATE_ALTERNATING, 2}, {GAN_UPDATE_SIMULTANEOUS, 1}};
    for (int m = 0; m < 2; m++) {
        setup a, b, c;
        setup_make(&a, 7, 0);
        setup_make(&b, 7, 0);
        setup_make(&c, 8, 0);
        setup *all[3] = {&a, &b, &c};
        for (int i = 0; i < 3; i++) {
            assert_int_equal(gan_trainer_set_update(all[i]->t, modes[m][0]), GAN_OK);
            assert_int_equal(gan_trainer_set_d_steps(all[i]->t, (unsigned)modes[m][1]), GAN_OK);
            assert_int_equal(gan_trainer_run(all[i]->t, 25, NULL, NULL), GAN_OK);
            assert_int_equal(gan_trainer_steps(all[i]->t), 25);
        }
        size_t ng = gan_net_num_params(a.g), nd = gan_net_num_params(a.d);
        assert_memory_equal(gan_net_params(a.g), gan_net_params(b.g), ng * sizeof(float));
        assert_memory_equal(gan_net_params(a.d), gan_net_params(b.d), nd * sizeof(float));
        assert_memory_not_equal(gan_net_params(a.g), gan_net_params(c.g), ng * sizeof(float));
        setup_free(&a);
        setup_free(&b);
        setup_free(&c);
    }
}

/* Every kind of step: one update of D (staged), several (snapshots), simultaneous. The
 * first step of a kind may size what it needs; later steps of every kind allocate nothing. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    test_alloc_install();
    setup s;
    setup_make(&s, 1, 2);
    assert_int_equal(gan_trainer_set_ema(s.t, 0.99f), GAN_OK);
    const unsigned kinds[][3] = {{GAN_UPDATE_ALTERNATING, 1, 1}, {GAN_UPDATE_ALTERNATING, 2, 2},
                                 {GAN_UPDATE_SIMULTANEOUS, 1, 1}};
    gan_step_stats st = {.size = sizeof st};
    size_t before = 0;
    for (int round = 0; round < 2; round++) {
        if (round == 1) before = test_alloc.allocs;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            assert_int_equal(gan_trainer_set_update(s.t, (gan_update)kinds[k][0]), GAN_OK);
            assert_int_equal(gan_trainer_set_d_steps(s.t, kinds[k][1]), GAN_OK);
            assert_int_equal(gan_trainer_set_g_steps(s.t, kinds[k][2]), GAN_OK);
            for (int i = 0; i < 3; i++) assert_int_equal(gan_trainer_step(s.t, &st), GAN_OK);
        }
    }
    assert_int_equal(test_alloc.allocs, before);
    setup_free(&s);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

typedef struct {
    float z[8 * 4]; /* the last batch drawn */
} noise_log;

static int logged_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    noise_log *log = payload;
    int rc = gan_rng_fill_uniform(rng, z, batch * dim, -1.0f, 1.0f);
    memcpy(log->z, z, batch * dim * sizeof *z);
    return rc;
}

/* G's update after `d` (a logit net) took its params: G's new params from g0 by plain
 * SGD on the non-saturating loss of the batch z, through the public calls. */
static void g_step_by_hand(gan_net *g, gan_net *d, const float *g0, const float *z, size_t rows, float lr, float *out)
{
    size_t ng = gan_net_num_params(g);
    float x[8], logit[8], dlogit[8], dx[8];
    memcpy(gan_net_params(g), g0, ng * sizeof *g0);
    assert_int_equal(gan_net_forward(g, z, rows, x, 1), GAN_OK);
    assert_int_equal(gan_net_forward(d, x, rows, logit, 1), GAN_OK);
    for (size_t i = 0; i < rows; i++) dlogit[i] = (float)((1.0 / (1.0 + exp(-(double)logit[i])) - 1.0) / (double)rows);
    assert_int_equal(gan_net_backward(d, dlogit, dx), GAN_OK);
    assert_int_equal(gan_net_zero_grads(g), GAN_OK);
    assert_int_equal(gan_net_backward(g, dx, NULL), GAN_OK);
    for (size_t i = 0; i < ng; i++) out[i] = g0[i] - lr * gan_net_grads(g)[i];
}

/* Algorithm 1: G's update follows D's, so it differentiates through the D just updated,
 * not the D the step started with. */
static void g_update_sees_the_updated_d(void **state)
{
    (void)state;
    gan_net *g = mlp(4, 16, 1, GAN_ACT_LEAKY_RELU, 0), *d = mlp(1, 16, 1, GAN_ACT_TANH, 0);
    gan_optim *og, *od;
    gan_trainer *t;
    gauss_data data = {.mean = 2.0f, .std = 0.5f};
    noise_log log;
    assert_int_equal(gan_optim_sgd(&og, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 0.5f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, 8), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, gauss_fill, &data), GAN_OK);
    assert_int_equal(gan_trainer_set_noise(t, logged_noise, &log), GAN_OK);
    gan_rng *init = gan_trainer_rng(t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    size_t ng = gan_net_num_params(g), nd = gan_net_num_params(d);
    float *g0 = malloc(ng * sizeof *g0), *g1 = malloc(ng * sizeof *g1), *want = malloc(ng * sizeof *want);
    float *d0 = malloc(nd * sizeof *d0);
    memcpy(g0, gan_net_params(g), ng * sizeof *g0);
    memcpy(d0, gan_net_params(d), nd * sizeof *d0);
    assert_int_equal(gan_trainer_step(t, NULL), GAN_OK);
    memcpy(g1, gan_net_params(g), ng * sizeof *g1);
    g_step_by_hand(g, d, g0, log.z, 8, 0.1f, want);
    double err = 0, moved = 0;
    for (size_t i = 0; i < ng; i++) err = fmax(err, fabs((double)g1[i] - want[i]));
    assert_true(err < 1e-6);
    memcpy(gan_net_params(d), d0, nd * sizeof *d0); /* the test can tell: against the old D */
    g_step_by_hand(g, d, g0, log.z, 8, 0.1f, want);
    for (size_t i = 0; i < ng; i++) moved = fmax(moved, fabs((double)g1[i] - want[i]));
    assert_true(moved > 100 * err && moved > 1e-5);
    free(g0);
    free(g1);
    free(want);
    free(d0);
    free_gan(t, og, od, g, d);
}

/* Noise that repeats: call c draws batch number c / per_step, so that with per_step 2
 * both draws of an alternating step (D's, then G's) are the same rows. */
typedef struct {
    int calls, per_step;
} repeated_noise;

static int repeating_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    (void)rng;
    repeated_noise *n = payload;
    int k = n->calls++ / n->per_step;
    for (size_t i = 0; i < batch * dim; i++) z[i] = sinf(0.37f * (float)(i + 1) * (float)(k + 1));
    return 0;
}

static void assert_same_params(gan_net *a, gan_net *b)
{
    assert_int_equal(gan_net_num_params(a), gan_net_num_params(b));
    assert_memory_equal(gan_net_params(a), gan_net_params(b), gan_net_num_params(a) * sizeof(float));
}

/* GAN_UPDATE_REUSE_FAKES trains G on the fakes of D's update: bit for bit an alternating
 * step whose G update drew the same noise again (G has no batch norm or dropout, so its
 * second forward is the first's), with one noise draw a step instead of two; the data
 * callback is not called again for conditions; the mode is in checkpoints. */
static void reuse_fakes_is_alternating_on_the_same_noise(void **state)
{
    (void)state;
    setup a, b, c;
    setup_make(&a, 5, 0);
    setup_make(&b, 5, 0);
    repeated_noise na = {.per_step = 2}, nb = {.per_step = 1}, nc = {.per_step = 1};
    assert_int_equal(gan_trainer_set_noise(a.t, repeating_noise, &na), GAN_OK);
    assert_int_equal(gan_trainer_set_noise(b.t, repeating_noise, &nb), GAN_OK);
    assert_int_equal(gan_trainer_set_update(b.t, GAN_UPDATE_REUSE_FAKES), GAN_OK);
    assert_int_equal(gan_trainer_run(a.t, 2, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 2, NULL, NULL), GAN_OK);
    assert_int_equal(na.calls, 4);
    assert_int_equal(nb.calls, 2);
    assert_same_params(a.g, b.g);
    assert_same_params(a.d, b.d);

    /* Checkpointed: a fresh alternating trainer takes the mode from b's file. */
    size_t size;
    assert_int_equal(gan_trainer_save_mem(b.t, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(gan_trainer_save_mem(b.t, buf, size, &size), GAN_OK);
    setup_make(&c, 9, 0);
    nc.calls = nb.calls;
    assert_int_equal(gan_trainer_set_noise(c.t, repeating_noise, &nc), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(c.t, buf, size), GAN_OK);
    assert_int_equal(gan_trainer_run(a.t, 1, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 1, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(c.t, 1, NULL, NULL), GAN_OK);
    assert_int_equal(nc.calls, 3);
    assert_same_params(b.g, c.g);
    assert_same_params(b.d, c.d);
    assert_same_params(a.g, b.g);
    free(buf);
    setup_free(&a);
    setup_free(&b);
    setup_free(&c);

    /* Conditional: the conditions of D's update stay; D's two updates: G takes the last's. */
    setup_make(&a, 6, 2);
    setup_make(&b, 6, 2);
    assert_int_equal(gan_trainer_set_update(b.t, GAN_UPDATE_REUSE_FAKES), GAN_OK);
    assert_int_equal(gan_trainer_step(a.t, NULL), GAN_OK);
    assert_int_equal(gan_trainer_step(b.t, NULL), GAN_OK);
    assert_int_equal(a.data.calls, 2);
    assert_int_equal(b.data.calls, 1);
    assert_int_equal(gan_trainer_set_d_steps(b.t, 2), GAN_OK);
    nb = (repeated_noise){.per_step = 1};
    assert_int_equal(gan_trainer_set_noise(b.t, repeating_noise, &nb), GAN_OK);
    assert_int_equal(gan_trainer_step(b.t, NULL), GAN_OK);
    assert_int_equal(nb.calls, 2);
    assert_int_equal(b.data.calls, 3);
    setup_free(&a);
    setup_free(&b);
}

static void nan_data_diverges_and_changes_nothing(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 2, 0);
    s.data.nan_after = 3;
    assert_int_equal(gan_trainer_run(s.t, 3, NULL, NULL), GAN_OK); /* one data call per step */
    size_t ng = gan_net_num_params(s.g), nd = gan_net_num_params(s.d);
    float *g0 = malloc(ng * sizeof *g0), *d0 = malloc(nd * sizeof *d0);
    memcpy(g0, gan_net_params(s.g), ng * sizeof *g0);
    memcpy(d0, gan_net_params(s.d), nd * sizeof *d0);
    assert_error(gan_trainer_step(s.t, NULL), GAN_EDIVERGED, "not finite");
    assert_memory_equal(g0, gan_net_params(s.g), ng * sizeof *g0);
    assert_memory_equal(d0, gan_net_params(s.d), nd * sizeof *d0);
    assert_int_equal(gan_trainer_steps(s.t), 3);
    assert_int_equal(gan_optim_steps(s.od), 3);
    /* A learning rate that explodes (SGD at 1e3) is caught at the first non-finite
     * update, which leaves D as it was before that step. */
    s.data.nan_after = 0;
    gan_optim *wild;
    gan_trainer *t;
    assert_int_equal(gan_optim_sgd(&wild, 1e3f, 0.0f, 0), GAN_OK);
    gan_net *d = mlp(1, 16, 1, GAN_ACT_LEAKY_RELU, 1); /* unbounded, so it can blow up */
    assert_int_equal(gan_net_init(d, gan_trainer_rng(s.t, GAN_STREAM_INIT), GAN_INIT_HE, 1.0f), GAN_OK);
    nd = gan_net_num_params(d);
    assert_int_equal(gan_trainer_create(&t, s.g, d, s.og, wild), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, gauss_fill, &s.data), GAN_OK);
    int rc = GAN_OK;
    for (int i = 0; i < 100 && rc == GAN_OK; i++) {
        memcpy(d0, gan_net_params(d), nd * sizeof *d0);
        rc = gan_trainer_step(t, NULL);
    }
    assert_int_equal(rc, GAN_EDIVERGED);
    assert_memory_equal(d0, gan_net_params(d), nd * sizeof *d0);
    for (size_t i = 0; i < nd; i++) assert_true(isfinite(gan_net_params(d)[i]));
    gan_trainer_free(t);
    gan_net_free(d);
    gan_optim_free(wild);
    free(g0);
    free(d0);
    setup_free(&s);
}

static int stop_at_5(void *payload, const gan_step_stats *st)
{
    *(uint64_t *)payload = st->step;
    return st->step == 5 ? 42 : 0;
}

static int failing_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    (void)payload; (void)rng; (void)z; (void)batch; (void)dim;
    return -3;
}

static void callbacks_can_stop(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 3, 0);
    uint64_t seen = 0;
    assert_error(gan_trainer_run(s.t, 100, stop_at_5, &seen), GAN_EUSER, "on_step callback returned 42 at step 5");
    assert_int_equal(seen, 5);
    assert_int_equal(gan_trainer_steps(s.t), 5);
    s.data.fail_with = 7;
    assert_error(gan_trainer_step(s.t, NULL), GAN_EUSER, "data callback returned 7");
    s.data.fail_with = 0;
    assert_int_equal(gan_trainer_set_noise(s.t, failing_noise, NULL), GAN_OK);
    assert_error(gan_trainer_step(s.t, NULL), GAN_EUSER, "noise callback returned -3");
    float out[4];
    assert_error(gan_trainer_generate(s.t, NULL, NULL, 4, out), GAN_EUSER, "noise callback");
    assert_int_equal(gan_trainer_set_noise_normal(s.t, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_step(s.t, NULL), GAN_OK);
    assert_int_equal(gan_trainer_steps(s.t), 6);
    setup_free(&s);
}

static void configuration_errors(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 4, 0);
    gan_trainer *t = NULL;
    assert_error(gan_trainer_create(&t, s.g, s.g, s.og, s.od), GAN_EINVAL, "distinct");
    assert_error(gan_trainer_create(&t, s.g, s.d, NULL, s.od), GAN_EINVAL, "opt_g");
    assert_null(t);
    gan_net *wide = mlp(1, 4, 3, GAN_ACT_RELU, 0);
    assert_error(gan_trainer_create(&t, s.g, wide, s.og, s.od), GAN_EINVAL, "1 output");
    assert_error(gan_trainer_create(&t, wide, s.d, s.og, s.od), GAN_EINVAL, "D takes 1 inputs, fewer than G's 3");
    gan_net_free(wide);
    assert_error(gan_trainer_set_cond_dim(s.t, 3), GAN_EINVAL, "D takes 1 inputs, but G's 1 outputs plus 3");
    assert_error(gan_trainer_set_batch_size(s.t, 0), GAN_EINVAL, "batch");
    assert_error(gan_trainer_set_d_steps(s.t, 0), GAN_EINVAL, "k");
    assert_error(gan_trainer_set_g_steps(s.t, 0), GAN_EINVAL, "at least 1");
    assert_error(gan_trainer_set_loss(s.t, (gan_loss)9), GAN_EINVAL, "unknown loss 9");
    assert_error(gan_trainer_set_update(s.t, (gan_update)0), GAN_EINVAL, "update mode");
    assert_error(gan_trainer_set_label_smoothing(s.t, 0.0f), GAN_EINVAL, "(0, 1]");
    assert_error(gan_trainer_set_ema(s.t, 1.0f), GAN_EINVAL, "decay");
    assert_error(gan_trainer_set_clip(s.t, -1.0f), GAN_EINVAL, "clip");
    assert_error(gan_trainer_set_noise_uniform(s.t, 0.0f), GAN_EINVAL, "scale");
    assert_error(gan_trainer_set_data(s.t, NULL, NULL), GAN_EINVAL, "fn");
    assert_error(gan_trainer_step(NULL, NULL), GAN_EINVAL, "t");
    gan_step_stats st = {0};
    assert_error(gan_trainer_step(s.t, &st), GAN_EINVAL, "sizeof(gan_step_stats)");
    assert_null(gan_trainer_rng(s.t, (gan_stream)4));
    assert_int_equal(gan_trainer_noise_dim(s.t), 4);
    /* Without data, a step is refused. */
    gan_trainer *bare;
    gan_optim *o1, *o2;
    assert_int_equal(gan_optim_sgd(&o1, 0.1f, 0, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&o2, 0.1f, 0, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&bare, s.g, s.d, o1, o2), GAN_OK);
    assert_error(gan_trainer_step(bare, NULL), GAN_ESTATE, "gan_trainer_set_data");
    gan_trainer_free(bare);
    gan_optim_free(o1);
    gan_optim_free(o2);
    gan_trainer_free(NULL);
    setup_free(&s);
}

/* A data callback that checks the trainer's widths against its data set's before it
 * samples: what gan_trainer_data_dim and gan_trainer_cond_dim are for. */
typedef struct {
    const gan_trainer *t;
    const gan_dataset *ds;
    gan_sampler *s;
} checked_sampler;

static int sample_checked(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    checked_sampler *c = payload;
    if (gan_trainer_data_dim(c->t) != gan_dataset_dim(c->ds) ||
        gan_trainer_cond_dim(c->t) != gan_dataset_num_classes(c->ds))
        return 7;
    return gan_dataset_sampler(c->s, rng, x, cond, batch);
}

static void widths_for_the_data_callback(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 5, 2); /* G: 4 noise + 2 condition -> 1; D: 1 + 2 -> 1 */
    assert_int_equal(gan_trainer_data_dim(s.t), 1);
    assert_int_equal(gan_trainer_cond_dim(s.t), 2);
    assert_int_equal(gan_trainer_noise_dim(s.t), 4);
    assert_error(gan_trainer_set_cond_dim(s.t, 0), GAN_EINVAL, "D takes 3 inputs");
    assert_int_equal(gan_trainer_cond_dim(s.t), 2); /* refused: kept */
    assert_int_equal(gan_trainer_data_dim(NULL), 0);
    assert_int_equal(gan_trainer_cond_dim(NULL), 0);
    /* Two Gaussians, one per class, from the caller's floats. */
    enum { N = 64 };
    float x[N], wide[2 * N];
    int y[N];
    gan_rng *rng = new_rng(8);
    fill(rng, x, N, -0.5f, 0.5f);
    fill(rng, wide, 2 * N, -0.5f, 0.5f);
    for (int i = 0; i < N; i++) x[i] += (float)(y[i] = i % 2) * 4.0f;
    gan_dataset *ds, *ds2;
    gan_sampler *smp, *smp2;
    assert_int_equal(gan_dataset_create_from_floats(&ds, x, N, 1, y, 2), GAN_OK);
    assert_int_equal(gan_dataset_create_from_floats(&ds2, wide, N, 2, y, 2), GAN_OK);
    assert_int_equal(gan_sampler_create(&smp, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    assert_int_equal(gan_sampler_create(&smp2, ds2, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    checked_sampler fits = {s.t, ds, smp}, misfit = {s.t, ds2, smp2};
    assert_int_equal(gan_trainer_set_data(s.t, sample_checked, &fits), GAN_OK);
    assert_int_equal(gan_trainer_run(s.t, 3, NULL, NULL), GAN_OK);
    assert_true(gan_sampler_epoch(smp) >= 2);
    assert_int_equal(gan_trainer_set_data(s.t, sample_checked, &misfit), GAN_OK);
    assert_error(gan_trainer_step(s.t, NULL), GAN_EUSER, "data callback");
    assert_int_equal(gan_trainer_steps(s.t), 3);
    gan_sampler_free(smp);
    gan_sampler_free(smp2);
    gan_dataset_free(ds);
    gan_dataset_free(ds2);
    gan_rng_free(rng);
    setup_free(&s);
}

/* Partial stats structs, as an older caller compiled with a smaller struct would pass. */
static void stats_respect_size(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 5, 0);
    gan_step_stats full = {.size = sizeof full}, part;
    memset(&part, 0xAB, sizeof part);
    part.size = (uint32_t)offsetof(gan_step_stats, d_real);
    assert_int_equal(gan_trainer_step(s.t, &full), GAN_OK);
    assert_int_equal(gan_trainer_step(s.t, &part), GAN_OK);
    assert_int_equal(full.step, 1);
    assert_int_equal(part.step, 2);
    assert_true(isfinite(part.loss_g));
    unsigned char tail[sizeof part - offsetof(gan_step_stats, d_real)];
    memset(tail, 0xAB, sizeof tail);
    assert_memory_equal((unsigned char *)&part + offsetof(gan_step_stats, d_real), tail, sizeof tail);
    assert_true(full.d_real > 0 && full.d_real < 1 && full.d_fake > 0 && full.d_fake < 1);
    assert_true(full.grad_norm_d > 0 && full.grad_norm_g > 0);
    assert_true(full.lr_d == 2e-3f && full.lr_g == 1e-3f);
    setup_free(&s);
}

static void generate_matches_g_and_uses_ema(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 6, 2);
    float z[3 * 4], cond[3 * 2] = {1, 0, 0, 1, 1, 0}, in[3 * 6], direct[3], out[3];
    gan_rng_fill_uniform(gan_trainer_rng(s.t, GAN_STREAM_INIT), z, 12, -1, 1);
    for (int i = 0; i < 3; i++) {
        memcpy(in + i * 6, z + i * 4, 4 * sizeof *z);
        memcpy(in + i * 6 + 4, cond + i * 2, 2 * sizeof *cond);
    }
    assert_int_equal(gan_trainer_run(s.t, 5, NULL, NULL), GAN_OK);
    assert_error(gan_trainer_generate(s.t, z, NULL, 3, out), GAN_EINVAL, "cond");
    assert_int_equal(gan_trainer_set_batch_size(s.t, 2), GAN_OK); /* generate works in chunks */
    assert_int_equal(gan_trainer_generate(s.t, z, cond, 3, out), GAN_OK);
    assert_int_equal(gan_net_forward(s.g, in, 3, direct, 0), GAN_OK);
    /* BLIS may round a row one bit differently with other rows beside it (docs/install.md) */
    if (gan_features() & GAN_FEATURE_BLIS)
        for (int i = 0; i < 3; i++) assert_true(fabsf(out[i] - direct[i]) <= 1e-6f * fmaxf(1.0f, fabsf(direct[i])));
    else
        assert_memory_equal(out, direct, sizeof out);
    /* With EMA on, generate uses the average, and G's own weights are back afterwards. */
    assert_int_equal(gan_trainer_set_ema(s.t, 0.9f), GAN_OK);
    assert_int_equal(gan_trainer_run(s.t, 5, NULL, NULL), GAN_OK);
    size_t ng = gan_net_num_params(s.g);
    float *w = malloc(ng * sizeof *w);
    memcpy(w, gan_net_params(s.g), ng * sizeof *w);
    assert_int_equal(gan_trainer_generate(s.t, z, cond, 3, out), GAN_OK);
    assert_memory_equal(w, gan_net_params(s.g), ng * sizeof *w);
    assert_int_equal(gan_net_forward(s.g, in, 3, direct, 0), GAN_OK);
    assert_memory_not_equal(out, direct, sizeof out);
    free(w);
    setup_free(&s);
}

/* The EMA's decay warms up: after s steps it is min(decay, (1 + s) / (10 + s)), so the
 * first step keeps a tenth of the starting weights, not 0.999 of them. Checked on the
 * weights generate uses, through G's output for one z. */
static void ema_decay_warms_up(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 9, 0);
    assert_int_equal(gan_trainer_set_ema(s.t, 0.999f), GAN_OK);
    size_t ng = gan_net_num_params(s.g);
    float *warm = malloc(ng * sizeof *warm), *cold = malloc(ng * sizeof *cold), *live = malloc(ng * sizeof *live);
    memcpy(warm, gan_net_params(s.g), ng * sizeof *warm);
    memcpy(cold, warm, ng * sizeof *cold);
    for (int step = 0; step < 3; step++) {
        assert_int_equal(gan_trainer_step(s.t, NULL), GAN_OK);
        float a = ema_decay_after(0.999f, (uint64_t)step);
        const float *p = gan_net_params(s.g);
        for (size_t i = 0; i < ng; i++) {
            warm[i] = a * warm[i] + (1.0f - a) * p[i];
            cold[i] = 0.999f * cold[i] + 0.001f * p[i];
        }
    }
    float z[4] = {0.3f, -0.7f, 0.1f, 0.9f}, out[1], expect[1], unwarmed[1];
    assert_int_equal(gan_trainer_generate(s.t, z, NULL, 1, out), GAN_OK);
    memcpy(live, gan_net_params(s.g), ng * sizeof *live);
    memcpy(gan_net_params(s.g), warm, ng * sizeof *warm);
    assert_int_equal(gan_net_forward(s.g, z, 1, expect, 0), GAN_OK);
    memcpy(gan_net_params(s.g), cold, ng * sizeof *cold);
    assert_int_equal(gan_net_forward(s.g, z, 1, unwarmed, 0), GAN_OK);
    memcpy(gan_net_params(s.g), live, ng * sizeof *live);
    assert_true(fabsf(out[0] - expect[0]) <= 1e-6f * (1.0f + fabsf(expect[0])));
    assert_true(fabsf(expect[0] - unwarmed[0]) > 1e-4f); /* the check can tell the two apart */
    free(warm);
    free(cold);
    free(live);
    setup_free(&s);
}

static void wasserstein_clips_weights(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 7, 0);
    assert_int_equal(gan_trainer_set_loss(s.t, GAN_LOSS_WASSERSTEIN), GAN_OK);
    assert_int_equal(gan_trainer_set_clip(s.t, 0.02f), GAN_OK);
    assert_int_equal(gan_trainer_run(s.t, 3, NULL, NULL), GAN_OK);
    const float *p = gan_net_params(s.d);
    for (size_t i = 0; i < gan_net_num_params(s.d); i++) assert_true(fabsf(p[i]) <= 0.02f);
    /* Every loss trains without error. */
    for (int loss = GAN_LOSS_MINIMAX; loss <= GAN_LOSS_HINGE; loss++) {
        assert_int_equal(gan_trainer_set_loss(s.t, (gan_loss)loss), GAN_OK);
        assert_int_equal(gan_trainer_set_label_smoothing(s.t, 0.9f), GAN_OK);
        assert_int_equal(gan_trainer_run(s.t, 3, NULL, NULL), GAN_OK);
    }
    setup_free(&s);
}

/* ------------------------------------------------------------------ theory */

static double normal_pdf(double x, double mu, double sigma)
{
    return exp(-0.5 * (x - mu) * (x - mu) / (sigma * sigma)) / (sigma * sqrt(2 * 3.14159265358979323846));
}

/* G is fixed to x = mu_g + sigma_g * z with z ~ N(0, 1): a dense 1 -> 1 layer whose
 * optimizer has lr 0. D alone converges to p_data / (p_data + p_g) (Proposition 1). */
static void optimal_discriminator(void **state)
{
    (void)state;
    const double mu_d = 0.0, sd_d = 1.0, mu_g = 1.0, sd_g = 1.5;
    gan_net *g, *d = mlp(1, 32, 1, GAN_ACT_TANH, 1);
    gan_layer *l;
    gan_optim *og, *od;
    gan_trainer *t;
    gauss_data data = {.mean = (float)mu_d, .std = (float)sd_d};
    assert_int_equal(gan_net_create(&g, 1), GAN_OK);
    add(g, gan_layer_dense(&l, 1, 1), &l);
    gan_net_params(g)[0] = (float)sd_g;
    gan_net_params(g)[1] = (float)mu_g;
    assert_int_equal(gan_optim_sgd(&og, 0.0f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_adam(&od, 2e-3f, 0.9f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(t, 11), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, gauss_fill, &data), GAN_OK);
    assert_int_equal(gan_trainer_set_noise_normal(t, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, 256), GAN_OK);
    assert_int_equal(gan_net_init(d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_run(t, 3000, NULL, NULL), GAN_OK);
    assert_true(gan_net_params(g)[0] == (float)sd_g && gan_net_params(g)[1] == (float)mu_g);
    /* Compare on a grid where both densities have mass. Tolerance 0.05: the sampling
     * noise of 256-sample batches and a 32-unit D leave errors of about 0.01-0.03. */
    enum { K = 41 };
    float x[K], dx[K];
    for (int i = 0; i < K; i++) x[i] = (float)(-2.0 + 4.5 * i / (K - 1));
    assert_int_equal(gan_net_forward(d, x, K, dx, 0), GAN_OK);
    double worst = 0;
    for (int i = 0; i < K; i++) {
        double pd = normal_pdf(x[i], mu_d, sd_d), pg = normal_pdf(x[i], mu_g, sd_g), opt = pd / (pd + pg);
        worst = fmax(worst, fabs(dx[i] - opt));
    }
    print_message("max |D(x) - D*(x)| on [-2, 2.5] = %.4f\n", worst);
    assert_true(worst < 0.05);
    free_gan(t, og, od, g, d);
}

/* A whole GAN on N(2, 0.5): G's samples match the data's moments and D is near 1/2. */
static void gan_matches_gaussian(void **state)
{
    (void)state;
    setup s;
    setup_make(&s, 12, 0);
    assert_int_equal(gan_trainer_set_batch_size(s.t, 128), GAN_OK);
    assert_int_equal(gan_trainer_set_ema(s.t, 0.99f), GAN_OK);
    assert_int_equal(gan_trainer_run(s.t, 4000, NULL, NULL), GAN_OK);
    enum { N = 20000 };
    static float samples[N];
    assert_int_equal(gan_trainer_generate(s.t, NULL, NULL, N, samples), GAN_OK);
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        sum += samples[i];
        sq += (double)samples[i] * samples[i];
    }
    double mean = sum / N, sd = sqrt(sq / N - mean * mean);
    float x[9], dx[9];
    for (int i = 0; i < 9; i++) x[i] = 2.0f + 0.5f * (i - 4) / 4.0f; /* mean +- one sd */
    assert_int_equal(gan_net_forward(s.d, x, 9, dx, 0), GAN_OK);
    double worst = 0;
    for (int i = 0; i < 9; i++) worst = fmax(worst, fabs(dx[i] - 0.5));
    print_message("G: mean %.3f sd %.3f (data 2, 0.5); max |D - 1/2| on the support %.3f\n", mean, sd, worst);
    assert_true(fabs(mean - 2.0) < 0.1);
    assert_true(fabs(sd - 0.5) < 0.1);
    assert_true(worst < 0.1);
    setup_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_bits),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(g_update_sees_the_updated_d),
        cmocka_unit_test(reuse_fakes_is_alternating_on_the_same_noise),
        cmocka_unit_test(nan_data_diverges_and_changes_nothing),
        cmocka_unit_test(callbacks_can_stop),
        cmocka_unit_test(configuration_errors),
        TEST(widths_for_the_data_callback),
        cmocka_unit_test(stats_respect_size),
        cmocka_unit_test(generate_matches_g_and_uses_ema),
        cmocka_unit_test(ema_decay_warms_up),
        cmocka_unit_test(wasserstein_clips_weights),
        cmocka_unit_test(optimal_discriminator),
        cmocka_unit_test(gan_matches_gaussian),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
