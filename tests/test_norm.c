/* Batch normalization and the nets' state buffer (its gradients: test_layers.c): running
 * statistics against values by hand, two-pass variance, evaluation mode, files, the
 * trainer's separate passes for a D that normalises, failed steps, resume, generation, and
 * batch norm without its affine. */
#include "test_util.h"

#include <limits.h>
#include <math.h>

/* A net in -> batchnorm(in) alone, initialised (gamma 1, beta 0, running 0 and 1). */
static gan_net *bn_net(size_t in, float momentum)
{
    gan_net *n;
    gan_layer *l;
    gan_rng *r;
    assert_int_equal(gan_net_create(&n, in), GAN_OK);
    add(n, gan_layer_batchnorm(&l, in, momentum, 1e-5f), &l);
    assert_int_equal(gan_rng_create(&r, 1), GAN_OK);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    gan_rng_free(r);
    return n;
}

/* Two features over three rows: (1, 10), (2, 20), (6, 60). Means 3 and 30, biased
 * variances 14/3 and 1400/3, unbiased 7 and 700. */
static const float ROWS[3 * 2] = {1, 10, 2, 20, 6, 60};

static void running_statistics_by_hand(void **state)
{
    (void)state;
    gan_net *n = bn_net(2, 0.1f);
    assert_int_equal(gan_net_num_state(n), 4);
    const float *s = gan_net_state(n);
    assert_true(s[0] == 0.0f && s[1] == 0.0f && s[2] == 1.0f && s[3] == 1.0f);
    float y[6];
    assert_int_equal(gan_net_forward(n, ROWS, 3, y, 1), GAN_OK);
    /* running = 0.9 running + 0.1 batch, the variance unbiased */
    assert_true(fabsf(s[0] - 0.3f) < 1e-6f && fabsf(s[1] - 3.0f) < 1e-5f);
    assert_true(fabsf(s[2] - (0.9f + 0.7f)) < 1e-5f && fabsf(s[3] - (0.9f + 70.0f)) < 1e-4f);
    /* training output: (x - mean) / sqrt(var + eps), the biased variance */
    double sd0 = sqrt(14.0 / 3 + 1e-5), sd1 = sqrt(1400.0 / 3 + 1e-5);
    for (int r = 0; r < 3; r++) {
        assert_true(fabs(y[2 * r] - (ROWS[2 * r] - 3.0) / sd0) < 1e-5);
        assert_true(fabs(y[2 * r + 1] - (ROWS[2 * r + 1] - 30.0) / sd1) < 1e-5);
    }
    /* evaluation mode uses the running statistics and moves nothing */
    float before[4];
    memcpy(before, s, sizeof before);
    assert_int_equal(gan_net_forward(n, ROWS, 3, y, 0), GAN_OK);
    assert_memory_equal(before, s, sizeof before);
    assert_true(fabs(y[0] - (1.0 - 0.3) / sqrt(1.6 + 1e-5)) < 1e-5);
    assert_true(fabs(y[5] - (60.0 - 3.0) / sqrt(70.9 + 1e-5)) < 1e-4);
    /* an optimizer moves gamma and beta, never the state */
    gan_optim *o;
    float dy[6] = {1, 1, 1, 1, 1, 1};
    assert_int_equal(gan_optim_sgd(&o, 0.5f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_net_forward(n, ROWS, 3, y, 1), GAN_OK);
    memcpy(before, s, sizeof before);
    assert_int_equal(gan_net_zero_grads(n), GAN_OK);
    assert_int_equal(gan_net_backward(n, dy, NULL), GAN_OK);
    assert_int_equal(gan_optim_step(o, n), GAN_OK);
    assert_memory_equal(before, s, sizeof before);
    assert_true(gan_net_params(n)[2] != 0.0f); /* beta moved: dL/dbeta = 3 */
    gan_optim_free(o);
    gan_net_free(n);
}

/* The variance in two passes: a large mean does not cancel a small spread. */
static void variance_in_two_passes(void **state)
{
    (void)state;
    gan_net *n = bn_net(1, 1.0f); /* momentum 1: the running statistics are the batch's */
    float x[4] = {10000.0f, 10001.0f, 10002.0f, 10003.0f}, y[4];
    assert_int_equal(gan_net_forward(n, x, 4, y, 1), GAN_OK);
    const float *s = gan_net_state(n);
    assert_true(fabsf(s[0] - 10001.5f) < 1e-3f);
    assert_true(fabsf(s[1] - 5.0f / 3.0f) < 1e-5f); /* E[x^2] - E[x]^2 in float would be 0 or far off */
    assert_true(fabs(y[0] + 1.5 / sqrt(1.25 + 1e-5)) < 1e-4);
    gan_net_free(n);
}

/* Images: statistics per channel over rows and positions; a misfit channel count is
 * refused; constructor arguments are checked. */
static void channels_and_arguments(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 2, 2, 1), GAN_OK); /* 2 positions of 2 channels */
    assert_int_equal(gan_layer_batchnorm(&l, 3, 0.1f, 1e-5f), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "batchnorm layer 0 normalises 3 channels, got 2");
    gan_layer_free(l);
    add(n, gan_layer_batchnorm(&l, 2, 1.0f, 1e-5f), &l);
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 1), GAN_OK);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_UNIFORM, 1.0f), GAN_OK);
    /* two rows x (position, channel): channel 0 sees 1, 3, 5, 7; channel 1 sees 2, 4, 6, 8 */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    assert_int_equal(gan_net_forward(n, x, 2, y, 1), GAN_OK);
    assert_true(fabsf(gan_net_state(n)[0] - 4.0f) < 1e-6f && fabsf(gan_net_state(n)[1] - 5.0f) < 1e-6f);
    assert_true(fabsf(gan_net_state(n)[2] - 20.0f / 3.0f) < 1e-5f);
    gan_net_free(n);
    /* DCGAN's init: gamma near 1, beta 0 */
    n = bn_net(64, 0.1f);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    double sum = 0;
    for (int j = 0; j < 64; j++) sum += gan_net_params(n)[j];
    assert_true(fabs(sum / 64 - 1.0) < 0.02 && gan_net_params(n)[0] != 1.0f && gan_net_params(n)[64] == 0.0f);
    gan_net_free(n);
    gan_rng_free(r);
    assert_error(gan_layer_batchnorm(NULL, 2, 0.1f, 1e-5f), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_batchnorm(&l, 0, 0.1f, 1e-5f), GAN_EINVAL, "channels");
    assert_null(l);
    assert_error(gan_layer_batchnorm(&l, (size_t)INT_MAX + 1, 0.1f, 1e-5f), GAN_EINVAL, "channels");
    assert_error(gan_layer_batchnorm(&l, 2, NAN, 1e-5f), GAN_EINVAL, "momentum");
    assert_error(gan_layer_batchnorm(&l, 2, 1.5f, 1e-5f), GAN_EINVAL, "momentum");
    assert_error(gan_layer_batchnorm(&l, 2, 0.1f, 0.0f), GAN_EINVAL, "eps");
    assert_error(gan_layer_batchnorm(&l, 2, 0.1f, INFINITY), GAN_EINVAL, "eps");
    assert_null(gan_net_state(NULL));
    assert_int_equal(gan_net_num_state(NULL), 0);
    test_alloc_install();
    size_t f;
    SWEEP(f, gan_layer_batchnorm(&l, 4, 0.1f, 1e-5f), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* A small DCGAN-like pair: G 4 -> dense 8 (no bias) -> batchnorm -> relu -> dense 2;
 * D 2 -> dense 8 -> batchnorm -> leaky -> dense 1, Adam, batch 16. */
typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    int calls, fail_on; /* the noise callback fails on call fail_on */
} bn_gan;

static int bn_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    (void)cond;
    return gan_rng_fill_normal(rng, x, 2 * batch, 1.0f, 0.5f);
}

static int bn_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    bn_gan *b = payload;
    if (++b->calls == b->fail_on) return 7;
    return gan_rng_fill_normal(rng, z, batch * dim, 0.0f, 1.0f);
}

static void bn_gan_make(bn_gan *b, gan_update update)
{
    gan_layer *l;
    memset(b, 0, sizeof *b);
    assert_int_equal(gan_net_create(&b->g, 4), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 4, 8), GAN_OK);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_net_add(b->g, l), GAN_OK);
    add(b->g, gan_layer_batchnorm(&l, 8, 0.1f, 1e-5f), &l);
    add(b->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    add(b->g, gan_layer_dense(&l, 8, 2), &l);
    assert_int_equal(gan_net_create(&b->d, 2), GAN_OK);
    add(b->d, gan_layer_dense(&l, 2, 8), &l);
    add(b->d, gan_layer_batchnorm(&l, 8, 0.1f, 1e-5f), &l);
    add(b->d, gan_layer_leaky_relu(&l, 0.2f), &l);
    add(b->d, gan_layer_dense(&l, 8, 1), &l);
    assert_int_equal(gan_optim_adam(&b->og, 2e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&b->od, 2e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&b->t, b->g, b->d, b->og, b->od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(b->t, 5), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(b->t, 16), GAN_OK);
    assert_int_equal(gan_trainer_set_update(b->t, update), GAN_OK);
    assert_int_equal(gan_trainer_set_data(b->t, bn_data, b), GAN_OK);
    assert_int_equal(gan_trainer_set_noise(b->t, bn_noise, b), GAN_OK);
    gan_rng *init = gan_trainer_rng(b->t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(b->g, init, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(b->d, init, GAN_INIT_DCGAN, 1.0f), GAN_OK);
}

static void bn_gan_free(bn_gan *b) { free_gan(b->t, b->og, b->od, b->g, b->d); }

/* Steps move both nets' running statistics; a step that fails after D's passes and G's
 * forward moved them leaves them, like everything else, bit-identical. */
static void trainer_steps_and_failed_steps(void **state)
{
    (void)state;
    for (int update = GAN_UPDATE_ALTERNATING; update <= GAN_UPDATE_SIMULTANEOUS; update++) {
        bn_gan b;
        bn_gan_make(&b, (gan_update)update);
        float before_g[16], before_d[16];
        memcpy(before_g, gan_net_state(b.g), sizeof before_g);
        memcpy(before_d, gan_net_state(b.d), sizeof before_d);
        assert_int_equal(gan_trainer_run(b.t, 3, NULL, NULL), GAN_OK);
        assert_memory_not_equal(before_g, gan_net_state(b.g), sizeof before_g);
        assert_memory_not_equal(before_d, gan_net_state(b.d), sizeof before_d);
        image snap_before = snap(b.t);
        /* alternating: noise call 1 is D's update, 2 is G's; simultaneous: one call */
        b.fail_on = b.calls + (update == GAN_UPDATE_ALTERNATING ? 2 : 1);
        assert_error(gan_trainer_step(b.t, NULL), GAN_EUSER, "the noise callback returned 7");
        assert_same_image(b.t, &snap_before);
        assert_int_equal(gan_trainer_step(b.t, NULL), GAN_OK); /* and it goes on */
        free(snap_before.b);
        bn_gan_free(&b);
    }
}

/* A checkpoint holds the running statistics: training N + M steps in one go or N, save,
 * load into a fresh pair, M gives the same bytes. */
static void resume_is_exact(void **state)
{
    (void)state;
    bn_gan a, b;
    bn_gan_make(&a, GAN_UPDATE_ALTERNATING);
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    assert_int_equal(gan_trainer_run(a.t, 4, NULL, NULL), GAN_OK);
    image half = snap(a.t);
    assert_int_equal(gan_trainer_run(a.t, 3, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(b.t, half.b, half.n), GAN_OK);
    assert_memory_equal(gan_net_state(b.d), gan_net_state(a.d), 0); /* (sizes checked below) */
    assert_int_equal(gan_trainer_run(b.t, 3, NULL, NULL), GAN_OK);
    image one = snap(a.t), two = snap(b.t);
    assert_int_equal(one.n, two.n);
    assert_memory_equal(one.b, two.b, one.n);
    assert_memory_equal(gan_net_state(a.g), gan_net_state(b.g), 16 * sizeof(float));
    /* a net file keeps the state too */
    size_t size;
    assert_int_equal(gan_net_save_mem(a.g, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size);
    assert_int_equal(gan_net_save_mem(a.g, buf, size, &size), GAN_OK);
    gan_net *g;
    assert_int_equal(gan_net_load_mem(&g, buf, size), GAN_OK);
    assert_int_equal(gan_net_num_state(g), 16);
    assert_memory_equal(gan_net_state(g), gan_net_state(a.g), 16 * sizeof(float));
    gan_net_free(g);
    free(buf);
    free(half.b);
    free(one.b);
    free(two.b);
    bn_gan_free(&a);
    bn_gan_free(&b);
}

/* Generation uses the running statistics unless told to use each batch's, and moves
 * neither; the setting is checked and saved. */
static void generate_statistics(void **state)
{
    (void)state;
    bn_gan b;
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    assert_int_equal(gan_trainer_run(b.t, 5, NULL, NULL), GAN_OK);
    float z[8 * 4], running[8 * 2], batch[8 * 2], again[8 * 2], stats[16];
    for (int i = 0; i < 32; i++) z[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
    memcpy(stats, gan_net_state(b.g), sizeof stats);
    assert_int_equal(gan_trainer_generate(b.t, z, NULL, 8, running), GAN_OK);
    assert_int_equal(gan_trainer_set_generate_stats(b.t, GAN_STATS_BATCH), GAN_OK);
    assert_int_equal(gan_trainer_generate(b.t, z, NULL, 8, batch), GAN_OK);
    assert_memory_equal(stats, gan_net_state(b.g), sizeof stats);
    assert_memory_not_equal(running, batch, sizeof batch);
    /* with batch statistics the outputs are G's training-mode ones (no dropout here) */
    assert_int_equal(gan_net_forward(b.g, z, 8, again, 1), GAN_OK);
    assert_memory_equal(batch, again, sizeof batch);
    memcpy(gan_net_state(b.g), stats, sizeof stats); /* that forward moved them */
    image ck = snap(b.t);
    assert_int_equal(gan_trainer_set_generate_stats(b.t, GAN_STATS_RUNNING), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(b.t, ck.b, ck.n), GAN_OK); /* the setting comes back */
    assert_int_equal(gan_trainer_generate(b.t, z, NULL, 8, again), GAN_OK);
    assert_memory_equal(batch, again, sizeof batch);
    assert_error(gan_trainer_set_generate_stats(b.t, (gan_norm_stats)5), GAN_EINVAL, "unknown batch-norm statistics");
    assert_error(gan_trainer_set_generate_stats(NULL, GAN_STATS_BATCH), GAN_EINVAL, "'t' is NULL");
    free(ck.b);
    bn_gan_free(&b);
}

/* Warmed up, steps allocate nothing, D's two passes and the state snapshots included. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    test_alloc_install();
    bn_gan b;
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    assert_steady_steps_allocate_nothing(b.t, 3);
    bn_gan_free(&b);
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* A first step of the pair under every allocation failure in turn: GAN_ENOMEM with
 * nothing changed, then it trains; nothing leaks. */
static void first_step_allocation_failures(void **state)
{
    (void)state;
    test_alloc_install();
    bn_gan b;
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    image before = snap(b.t);
    size_t f = 0;
    /* (not SWEEP: workspaces a failed step grew are kept for the next, so the live count
     * may grow; the trainer frees them, as the count at the end shows) */
    for (size_t k = 1;; k++, f++) {
        test_alloc.fail_at = test_alloc.allocs + k;
        int rc = gan_trainer_step(b.t, NULL);
        test_alloc.fail_at = 0;
        if (rc == GAN_OK) break;
        assert_error(rc, GAN_ENOMEM, "out of memory");
        assert_same_image(b.t, &before);
    }
    assert_true(f >= 4); /* each net's activations, the trainer's block (gradients, scratch) grown twice */
    free(before.b);
    bn_gan_free(&b);
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* Training on one value per channel is refused, naming the layer and the count: its
 * variance is 0 and the running variance would decay towards it (issue 23: evaluation
 * then gave 166 for 1). A feature map of 2 x 2 positions gives a row four values;
 * evaluation takes a single row. */
static void one_value_per_channel(void **state)
{
    (void)state;
    gan_net *n = bn_net(2, 0.1f);
    float y[2 * 2];
    float before[4];
    memcpy(before, gan_net_state(n), sizeof before);
    assert_error(gan_net_forward(n, ROWS, 1, y, 1), GAN_EINVAL,
                 "batchnorm layer 0: training needs at least 2 values per channel, got 1");
    assert_memory_equal(before, gan_net_state(n), sizeof before);
    assert_int_equal(gan_net_forward(n, ROWS, 1, y, 0), GAN_OK);
    assert_int_equal(gan_net_forward(n, ROWS, 2, y, 1), GAN_OK);
    gan_net_free(n);

    gan_layer *l;
    gan_rng *r = new_rng(2);
    assert_int_equal(gan_net_create_image(&n, 1, 2, 2), GAN_OK);
    add(n, gan_layer_batchnorm(&l, 1, 0.1f, 1e-5f), &l);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_forward(n, ROWS, 1, y, 1), GAN_OK);
    gan_net_free(n);
    gan_rng_free(r);

    bn_gan b;
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    assert_int_equal(gan_trainer_set_batch_size(b.t, 1), GAN_OK);
    image snap_before = snap(b.t);
    assert_error(gan_trainer_step(b.t, NULL), GAN_EINVAL, "batchnorm layer 1: training needs at least 2 values");
    assert_same_image(b.t, &snap_before);
    free(snap_before.b);
    bn_gan_free(&b);
}

/* A file whose running statistics cannot be (a negative or non-finite variance, a
 * non-finite mean) is refused naming the layer, by gan_net_load_mem and by
 * gan_trainer_load_mem, which then changes nothing. */
static void impossible_statistics_in_a_file(void **state)
{
    (void)state;
    const float bad[] = {-1.0f, NAN, INFINITY};
    for (int which = 0; which < 4; which++) {
        gan_net *n = bn_net(2, 0.1f), *back = NULL;
        float *st = gan_net_state(n); /* means 0, 1; variances 2, 3 */
        if (which < 3) st[2 + 1] = bad[which];
        else st[0] = NAN;
        size_t size;
        assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
        uint8_t *buf = xcalloc(size, 1);
        assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
        assert_error(gan_net_load_mem(&back, buf, size), GAN_EFORMAT,
                     which < 3 ? "layer 0 (batchnorm(2" : "the running mean of channel 0 is nan");
        assert_true(strstr(gan_error_last(), which < 3 ? "the running variance of channel 1 is" : "layer 0") != NULL);
        assert_null(back);
        free(buf);
        gan_net_free(n);
    }
    bn_gan b;
    bn_gan_make(&b, GAN_UPDATE_ALTERNATING);
    gan_net_state(b.d)[8 + 3] = -0.5f; /* D's running variance of channel 3 */
    size_t size;
    assert_int_equal(gan_trainer_save_mem(b.t, NULL, 0, &size), GAN_OK);
    uint8_t *buf = xcalloc(size, 1);
    assert_int_equal(gan_trainer_save_mem(b.t, buf, size, &size), GAN_OK);
    gan_net_state(b.d)[8 + 3] = 1.0f;
    image snap_before = snap(b.t);
    assert_error(gan_trainer_load_mem(b.t, buf, size), GAN_EFORMAT,
                 "D layer 1 (batchnorm(8, momentum 0.1, eps 1e-05) on 8x1x1): the running variance of channel 3 is -0.5");
    assert_same_image(b.t, &snap_before);
    free(snap_before.b);
    free(buf);
    bn_gan_free(&b);
}

/* Batch norm by the definition in double, training mode: per channel of rows of c values
 * (rows and positions alike), y = (x - mean) / sqrt(var + eps), the biased variance. */
static void normalised(const double *x, size_t n, size_t c, double eps, double *y)
{
    for (size_t j = 0; j < c; j++) {
        double mean = 0.0, var = 0.0;
        for (size_t i = 0; i < n; i++) mean += x[i * c + j];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) var += (x[i * c + j] - mean) * (x[i * c + j] - mean);
        var /= (double)n;
        for (size_t i = 0; i < n; i++) y[i * c + j] = (x[i * c + j] - mean) / sqrt(var + eps);
    }
}

/* The bytes of a batch-norm record (kind 8, length, channels u64, momentum f32, eps f32,
 * then flags u32 when len is 20) appear in buf. */
static int holds_bn_record(const uint8_t *buf, size_t size, uint32_t len, uint64_t channels, float momentum,
                           float eps)
{
    uint8_t rec[28] = {8, 0, 0, 0, (uint8_t)len};
    for (int i = 0; i < 8; i++) rec[8 + i] = (uint8_t)(channels >> (8 * i));
    uint32_t m, e;
    memcpy(&m, &momentum, 4);
    memcpy(&e, &eps, 4);
    for (int i = 0; i < 4; i++) {
        rec[16 + i] = (uint8_t)(m >> (8 * i));
        rec[20 + i] = (uint8_t)(e >> (8 * i));
    }
    if (len == 20) rec[24] = 1;
    size_t n = 8 + len;
    for (size_t at = 0; at + n <= size; at++)
        if (memcmp(buf + at, rec, n) == 0) return 1;
    return 0;
}

static uint8_t *saved_net(const gan_net *n, size_t *size)
{
    assert_int_equal(gan_net_save_mem(n, NULL, 0, size), GAN_OK);
    uint8_t *buf = xcalloc(*size, 1);
    assert_int_equal(gan_net_save_mem(n, buf, *size, size), GAN_OK);
    return buf;
}

/* gan_layer_set_bias(bn, 0) drops gamma and beta (PyTorch's affine=False): no parameters,
 * y = x_hat, the output and input gradient of a batch norm with gamma 1 and beta 0 to the
 * bit, the input gradient against central differences of the definition; a file keeps it
 * (a 20-byte record with flags 1), while one with the affine keeps its 16-byte record. */
static void without_affine(void **state)
{
    (void)state;
    enum { C = 2, H = 2, W = 1, BATCH = 3, N = BATCH * H * W, NX = N * C };
    gan_layer *l;
    assert_int_equal(gan_layer_batchnorm(&l, C, 0.1f, 1e-5f), GAN_OK);
    assert_int_equal(gan_layer_num_params(l), 2 * C);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_layer_num_params(l), 0);
    assert_int_equal(gan_layer_set_bias(l, 1), GAN_OK); /* and back */
    assert_int_equal(gan_layer_num_params(l), 2 * C);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    gan_net *off, *on;
    assert_int_equal(gan_net_create_image(&off, C, H, W), GAN_OK);
    assert_int_equal(gan_net_add(off, l), GAN_OK);
    assert_error(gan_layer_set_bias(l, 1), GAN_ESTATE, "in a net already");
    assert_int_equal(gan_net_create_image(&on, C, H, W), GAN_OK);
    add(on, gan_layer_batchnorm(&l, C, 0.1f, 1e-5f), &l);
    assert_int_equal(gan_net_num_params(off), 0);
    assert_int_equal(gan_net_num_state(off), 2 * C);
    gan_rng *r = new_rng(9);
    assert_int_equal(gan_net_init(off, r, GAN_INIT_DCGAN, 1.0f), GAN_OK); /* state only */
    assert_int_equal(gan_net_init(on, r, GAN_INIT_XAVIER, 1.0f), GAN_OK); /* gamma 1, beta 0 */
    const float *st = gan_net_state(off);
    assert_true(st[0] == 0.0f && st[1] == 0.0f && st[2] == 1.0f && st[3] == 1.0f);

    float x[NX], dy[NX], y_off[NX], y_on[NX], dx_off[NX], dx_on[NX];
    double xd[NX], yd[NX], dyd[NX];
    fill(r, x, NX, -1.0f, 1.0f);
    fill(r, dy, NX, -1.0f, 1.0f);
    to_double(x, xd, NX);
    to_double(dy, dyd, NX);
    assert_int_equal(gan_net_forward(off, x, BATCH, y_off, 1), GAN_OK);
    assert_int_equal(gan_net_forward(on, x, BATCH, y_on, 1), GAN_OK);
    assert_memory_equal(y_off, y_on, sizeof y_off);
    assert_memory_equal(gan_net_state(off), gan_net_state(on), 2 * C * sizeof(float));
    normalised(xd, N, C, 1e-5, yd);
    for (int i = 0; i < NX; i++)
        if (fabs(y_off[i] - yd[i]) > 1e-5) fail_msg("y[%d] = %.9g, not %.9g", i, (double)y_off[i], yd[i]);
    assert_int_equal(gan_net_zero_grads(on), GAN_OK);
    assert_int_equal(gan_net_backward(off, dy, dx_off), GAN_OK);
    assert_int_equal(gan_net_backward(on, dy, dx_on), GAN_OK);
    assert_memory_equal(dx_off, dx_on, sizeof dx_off);
    for (int i = 0; i < NX; i++) {
        const double h = 1e-4;
        double saved_x = xd[i], plus, minus;
        xd[i] = saved_x + h;
        normalised(xd, N, C, 1e-5, yd);
        plus = dot(dyd, yd, NX);
        xd[i] = saved_x - h;
        normalised(xd, N, C, 1e-5, yd);
        minus = dot(dyd, yd, NX);
        xd[i] = saved_x;
        double numeric = (plus - minus) / (2 * h);
        if (fabs(dx_off[i] - numeric) > 1e-3 * fmax(1.0, fabs(numeric)))
            fail_msg("dL/dx[%d]: library %.8g, finite difference %.8g", i, (double)dx_off[i], numeric);
    }
    /* evaluation: the running statistics, still no affine */
    assert_int_equal(gan_net_forward(off, x, BATCH, y_off, 0), GAN_OK);
    for (int i = 0; i < NX; i++) {
        double want = (x[i] - st[i % C]) / sqrt((double)st[C + i % C] + 1e-5);
        if (fabs(y_off[i] - want) > 1e-5) fail_msg("eval y[%d] = %.9g, not %.9g", i, (double)y_off[i], want);
    }

    /* files */
    size_t size, size_on, size2;
    uint8_t *file = saved_net(off, &size), *file_on = saved_net(on, &size_on);
    assert_true(holds_bn_record(file, size, 20, C, 0.1f, 1e-5f));
    assert_false(holds_bn_record(file, size, 16, C, 0.1f, 1e-5f));
    assert_true(holds_bn_record(file_on, size_on, 16, C, 0.1f, 1e-5f));
    gan_net *back;
    assert_int_equal(gan_net_load_mem(&back, file, size), GAN_OK);
    assert_int_equal(gan_net_num_params(back), 0);
    assert_int_equal(gan_net_num_state(back), 2 * C);
    assert_memory_equal(gan_net_state(back), st, 2 * C * sizeof(float));
    float y_back[NX];
    assert_int_equal(gan_net_forward(back, x, BATCH, y_back, 0), GAN_OK);
    assert_memory_equal(y_back, y_off, sizeof y_back);
    uint8_t *again = saved_net(back, &size2);
    assert_int_equal(size2, size);
    assert_memory_equal(again, file, size);
    gan_net_free(back);
    assert_int_equal(gan_net_load_mem(&back, file_on, size_on), GAN_OK);
    assert_int_equal(gan_net_num_params(back), 2 * C);
    gan_net_free(back);
    /* the description says so */
    gan_net_state(off)[C + 1] = -1.0f;
    free(file);
    file = saved_net(off, &size);
    assert_error(gan_net_load_mem(&back, file, size), GAN_EFORMAT,
                 "layer 0 (batchnorm(2, momentum 0.1, eps 1e-05, no affine) on 2x2x1)");
    free(file), free(file_on), free(again);
    gan_rng_free(r);
    gan_net_free(off);
    gan_net_free(on);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(running_statistics_by_hand),
        cmocka_unit_test(variance_in_two_passes),
        cmocka_unit_test(channels_and_arguments),
        cmocka_unit_test(trainer_steps_and_failed_steps),
        cmocka_unit_test(resume_is_exact),
        cmocka_unit_test(generate_statistics),
        cmocka_unit_test(first_step_allocation_failures),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(one_value_per_channel),
        cmocka_unit_test(impossible_statistics_in_a_file),
        cmocka_unit_test(without_affine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
