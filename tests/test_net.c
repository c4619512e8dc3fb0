/* Nets: shapes, ownership, parameter layout, workspaces and error paths. */
#include "test_util.h"

#include <math.h>

static gan_layer *dense(size_t in, size_t out)
{
    gan_layer *l;
    assert_int_equal(gan_layer_dense(&l, in, out), GAN_OK);
    return l;
}

static gan_layer *act(gan_activation a)
{
    gan_layer *l;
    assert_int_equal(gan_layer_activation(&l, a), GAN_OK);
    return l;
}

/* The paper's discriminator shape, scaled down: dropout, maxout, dropout, dense, sigmoid. */
static gan_net *small_discriminator(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 20), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, 0.8f), GAN_OK);
    assert_int_equal(gan_net_add(n, l), GAN_OK);
    assert_int_equal(gan_layer_maxout(&l, 20, 8, 5), GAN_OK);
    assert_int_equal(gan_net_add(n, l), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, 0.5f), GAN_OK);
    assert_int_equal(gan_net_add(n, l), GAN_OK);
    assert_int_equal(gan_net_add(n, dense(8, 1)), GAN_OK);
    assert_int_equal(gan_net_add(n, act(GAN_ACT_SIGMOID)), GAN_OK);
    return n;
}

static void shapes_and_layout(void **state)
{
    (void)state;
    gan_net *n = small_discriminator();
    assert_int_equal(gan_net_in_dim(n), 20);
    assert_int_equal(gan_net_out_dim(n), 1);
    assert_int_equal(gan_net_num_layers(n), 5);
    assert_int_equal(gan_net_num_params(n), (20 + 1) * 40 + 8 + 1);
    size_t off, count;
    assert_int_equal(gan_net_layer_params(n, 1, &off, &count), GAN_OK);
    assert_int_equal(off, 0);
    assert_int_equal(count, 21 * 40);
    assert_int_equal(gan_net_layer_params(n, 3, &off, &count), GAN_OK);
    assert_int_equal(off, 21 * 40);
    assert_int_equal(count, 9);
    assert_int_equal(gan_net_layer_params(n, 4, &off, &count), GAN_OK);
    assert_int_equal(count, 0);
    assert_error(gan_net_layer_params(n, 5, &off, &count), GAN_EINVAL, "layer 5");
    const gan_layer *l = gan_net_layer(n, 2);
    assert_int_equal(gan_layer_kind(l), GAN_LAYER_DROPOUT);
    assert_int_equal(gan_layer_in_dim(l), 8);
    assert_int_equal(gan_layer_out_dim(l), 8);
    assert_null(gan_net_layer(n, 5));
    assert_int_equal(gan_layer_kind(gan_net_layer(n, 1)), GAN_LAYER_MAXOUT);
    gan_net_free(n);
}

static void adding_keeps_existing_parameters(void **state)
{
    (void)state;
    gan_net *n;
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 5), GAN_OK);
    assert_int_equal(gan_net_create(&n, 3), GAN_OK);
    assert_int_equal(gan_net_add(n, dense(3, 4)), GAN_OK);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_UNIFORM, 0.5f), GAN_OK);
    float before[16];
    memcpy(before, gan_net_params(n), sizeof before);
    assert_int_equal(gan_net_add(n, act(GAN_ACT_TANH)), GAN_OK);
    assert_int_equal(gan_net_add(n, dense(4, 2)), GAN_OK);
    assert_memory_equal(before, gan_net_params(n), sizeof before);
    for (size_t i = 16; i < gan_net_num_params(n); i++) assert_true(gan_net_params(n)[i] == 0.0f);
    gan_rng_free(r);
    gan_net_free(n);
}

static void mismatched_layer_is_refused_and_stays_owned(void **state)
{
    (void)state;
    gan_net *n;
    assert_int_equal(gan_net_create(&n, 784), GAN_OK);
    assert_int_equal(gan_net_add(n, dense(784, 1200)), GAN_OK);
    assert_int_equal(gan_net_add(n, act(GAN_ACT_RELU)), GAN_OK);
    gan_layer *wrong = dense(784, 10);
    assert_error(gan_net_add(n, wrong), GAN_EINVAL, "dense layer 2 expects 784 inputs, got 1200");
    assert_int_equal(gan_net_num_layers(n), 2);
    gan_layer *m;
    assert_int_equal(gan_layer_maxout(&m, 10, 2, 2), GAN_OK);
    assert_error(gan_net_add(n, m), GAN_EINVAL, "maxout layer 2 expects 10 inputs, got 1200");
    gan_layer_free(m);
    gan_layer_free(wrong); /* still ours */
    /* An elementwise layer refused by one net keeps no width from it. */
    gan_layer *a = act(GAN_ACT_RELU);
    assert_int_equal(gan_net_add(n, a), GAN_OK);
    assert_error(gan_net_add(n, a), GAN_EINVAL, "already");
    gan_net_free(n);
}

static void null_and_zero_arguments(void **state)
{
    (void)state;
    gan_net *n = (gan_net *)&n;
    gan_layer *l = (gan_layer *)&l;
    float x[8] = {0}, y[8];
    assert_error(gan_net_create(NULL, 3), GAN_EINVAL, "out");
    assert_error(gan_net_create(&n, 0), GAN_EINVAL, "in_dim");
    assert_null(n);
    assert_error(gan_layer_dense(&l, 0, 3), GAN_EINVAL, "positive");
    assert_null(l);
    assert_error(gan_layer_dense(&l, 3, 0), GAN_EINVAL, "positive");
    assert_error(gan_layer_dense(NULL, 3, 3), GAN_EINVAL, "out");
    assert_error(gan_layer_maxout(&l, 3, 0, 2), GAN_EINVAL, "positive");
    assert_error(gan_layer_maxout(&l, 3, 2, 0), GAN_EINVAL, "positive");
    assert_error(gan_layer_maxout(&l, 0, 2, 2), GAN_EINVAL, "positive");
    assert_error(gan_layer_activation(&l, (gan_activation)99), GAN_EINVAL, "unknown activation 99");
    assert_error(gan_layer_dropout(&l, 0.0f), GAN_EINVAL, "keep_prob");
    assert_error(gan_layer_dropout(&l, 1.5f), GAN_EINVAL, "keep_prob");
    assert_error(gan_layer_dropout(&l, NAN), GAN_EINVAL, "keep_prob");
    assert_error(gan_layer_leaky_relu(&l, -0.1f), GAN_EINVAL, "slope");
    assert_error(gan_layer_leaky_relu(&l, NAN), GAN_EINVAL, "slope");

    assert_int_equal(gan_net_create(&n, 2), GAN_OK);
    assert_error(gan_net_add(NULL, NULL), GAN_EINVAL, "net");
    assert_error(gan_net_add(n, NULL), GAN_EINVAL, "layer");
    assert_error(gan_net_forward(NULL, x, 1, y, 0), GAN_EINVAL, "net");
    assert_error(gan_net_forward(n, NULL, 1, y, 0), GAN_EINVAL, "x");
    assert_error(gan_net_forward(n, x, 1, NULL, 0), GAN_EINVAL, "y");
    assert_error(gan_net_forward(n, x, 0, y, 0), GAN_EINVAL, "batch");
    assert_error(gan_net_backward(n, x, NULL), GAN_ESTATE, "no forward");
    assert_error(gan_net_backward(n, NULL, NULL), GAN_EINVAL, "dy");
    assert_error(gan_net_init(n, NULL, GAN_INIT_HE, 1.0f), GAN_EINVAL, "rng");
    assert_error(gan_net_zero_grads(NULL), GAN_EINVAL, "net");
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 1), GAN_OK);
    assert_error(gan_net_init(n, r, (gan_init)7, 1.0f), GAN_EINVAL, "scheme 7");
    assert_error(gan_net_init(n, r, GAN_INIT_UNIFORM, NAN), GAN_EINVAL, "scale");
    assert_error(gan_net_set_rng(NULL, r), GAN_EINVAL, "net");
    /* Queries on NULL are harmless. */
    assert_int_equal(gan_net_in_dim(NULL), 0);
    assert_int_equal(gan_net_out_dim(NULL), 0);
    assert_int_equal(gan_net_num_params(NULL), 0);
    assert_null(gan_net_params(NULL));
    assert_null(gan_net_grads(NULL));
    assert_int_equal(gan_layer_num_params(NULL), 0);
    gan_net_free(NULL);
    gan_layer_free(NULL);
    /* An empty net is the identity, and its backward passes dy through. */
    x[0] = 1.5f;
    x[1] = -2.0f;
    assert_int_equal(gan_net_forward(n, x, 1, y, 1), GAN_OK);
    assert_true(y[0] == 1.5f && y[1] == -2.0f);
    float dx[2];
    assert_int_equal(gan_net_backward(n, x, dx), GAN_OK);
    assert_true(dx[0] == 1.5f && dx[1] == -2.0f);
    gan_rng_free(r);
    gan_net_free(n);
}

static void overflowing_sizes(void **state)
{
    (void)state;
    gan_layer *l = NULL;
    size_t huge = SIZE_MAX / 2;
    assert_error(gan_layer_dense(&l, huge, 2), GAN_EINVAL, "overflow");
    assert_error(gan_layer_dense(&l, (size_t)1 << 32, 3), GAN_EINVAL, "overflow");
    assert_error(gan_layer_maxout(&l, 4, huge, 4), GAN_EINVAL, "overflow");
    assert_error(gan_layer_maxout(&l, 4, 1u << 16, 1u << 16), GAN_EINVAL, "overflow");
    assert_null(l);
    gan_net *n;
    assert_error(gan_net_create(&n, huge), GAN_EINVAL, "in_dim");
    assert_int_equal(gan_net_create(&n, 1000), GAN_OK);
    assert_int_equal(gan_net_add(n, dense(1000, 1000)), GAN_OK);
    float x[1000] = {0}, y[1000];
    /* A batch whose workspace would not fit in size_t is refused before any allocation. */
    assert_error(gan_net_forward(n, x, huge, y, 0), GAN_EINVAL, "batch");
    assert_error(gan_net_forward(n, x, (size_t)1 << 31, y, 0), GAN_EINVAL, "batch");
    assert_int_equal(gan_net_forward(n, x, 1, y, 0), GAN_OK); /* still usable */
    gan_net_free(n);
}

static void dropout_requires_rng_in_training(void **state)
{
    (void)state;
    gan_net *n = small_discriminator();
    gan_rng *r;
    float x[40] = {0}, y[2];
    assert_error(gan_net_forward(n, x, 2, y, 1), GAN_ESTATE, "gan_net_set_rng");
    assert_int_equal(gan_net_forward(n, x, 2, y, 0), GAN_OK);
    assert_int_equal(gan_rng_create(&r, 9), GAN_OK);
    assert_int_equal(gan_net_set_rng(n, r), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, 2, y, 1), GAN_OK);
    gan_net_free(n);
    gan_rng_free(r);
}

/* The paper-sized nets allocate nothing once their workspaces fit the batch. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    test_alloc_install();
    gan_net *g, *d;
    gan_layer *l;
    gan_rng *r;
    gan_optim *og, *od;
    assert_int_equal(gan_rng_create(&r, 3), GAN_OK);
    assert_int_equal(gan_net_create(&g, 100), GAN_OK);
    assert_int_equal(gan_net_add(g, dense(100, 1200)), GAN_OK);
    assert_int_equal(gan_net_add(g, act(GAN_ACT_RELU)), GAN_OK);
    assert_int_equal(gan_net_add(g, dense(1200, 1200)), GAN_OK);
    assert_int_equal(gan_net_add(g, act(GAN_ACT_RELU)), GAN_OK);
    assert_int_equal(gan_net_add(g, dense(1200, 784)), GAN_OK);
    assert_int_equal(gan_net_add(g, act(GAN_ACT_SIGMOID)), GAN_OK);
    assert_int_equal(gan_net_create(&d, 784), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, 0.8f), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_layer_maxout(&l, 784, 240, 5), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, 0.5f), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_layer_maxout(&l, 240, 240, 5), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, 0.5f), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_net_add(d, dense(240, 1)), GAN_OK);
    assert_int_equal(gan_net_add(d, act(GAN_ACT_SIGMOID)), GAN_OK);
    assert_int_equal(gan_net_init(g, r, GAN_INIT_UNIFORM, 0.05f), GAN_OK);
    assert_int_equal(gan_net_init(d, r, GAN_INIT_UNIFORM, 0.005f), GAN_OK);
    assert_int_equal(gan_net_set_rng(d, r), GAN_OK);
    assert_int_equal(gan_optim_sgd(&og, 0.1f, 0.5f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 0.1f, 0.5f, 0), GAN_OK);

    enum { B = 100 };
    static float z[B * 100], x[B * 784], p[B], dp[B], dx[B * 784];
    gan_rng_fill_uniform(r, z, B * 100, -1, 1);
    size_t live_after_first = 0;
    for (int step = 0; step < 3; step++) {
        if (step == 1) live_after_first = test_alloc.allocs;
        /* G forward, D forward/backward through to its input, G backward, both updates. */
        assert_int_equal(gan_net_zero_grads(g), GAN_OK);
        assert_int_equal(gan_net_zero_grads(d), GAN_OK);
        assert_int_equal(gan_net_forward(g, z, B, x, 1), GAN_OK);
        assert_int_equal(gan_net_forward(d, x, B, p, 1), GAN_OK);
        for (int i = 0; i < B; i++) dp[i] = -1.0f / (p[i] + 1e-6f) / B;
        assert_int_equal(gan_net_backward(d, dp, dx), GAN_OK);
        assert_int_equal(gan_net_backward(g, dx, NULL), GAN_OK);
        assert_int_equal(gan_optim_step(og, g), GAN_OK);
        assert_int_equal(gan_optim_step(od, d), GAN_OK);
    }
    assert_int_equal(test_alloc.allocs, live_after_first);
    /* A smaller batch reuses the same workspaces. */
    assert_int_equal(gan_net_forward(g, z, B / 2, x, 1), GAN_OK);
    assert_int_equal(gan_net_backward(g, x, NULL), GAN_OK);
    assert_int_equal(test_alloc.allocs, live_after_first);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    gan_rng_free(r);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

/* The default allocator (malloc, and calloc for zeroed blocks) with a net whose buffers
 * grow past 1 MiB layer by layer (geometric growth, lib/net.c): new room starts at zero,
 * what earlier layers held is kept, and it is usable end to end, aligned, and frees
 * cleanly, next to small blocks. */
static void big_buffers_from_the_default_allocator(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    gan_rng *r;
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
    assert_int_equal(gan_rng_create(&r, 3), GAN_OK);
    assert_int_equal(gan_net_create(&n, 16), GAN_OK);
    add(n, gan_layer_dense(&l, 16, 600), &l); /* 39 KiB of parameters: malloc's */
    assert_int_equal(gan_net_init(n, r, GAN_INIT_UNIFORM, 0.5f), GAN_OK);
    float first[16 * 600 + 600];
    memcpy(first, gan_net_params(n), sizeof first);
    add(n, gan_layer_dense(&l, 600, 700), &l); /* now 1.7 MB each: regrown */
    size_t np = gan_net_num_params(n);
    float *p = gan_net_params(n), *g = gan_net_grads(n);
    assert_true(np * sizeof(float) > (1u << 20));
    assert_int_equal((uintptr_t)p % 16, 0); /* malloc's alignment */
    assert_int_equal((uintptr_t)g % 16, 0);
    assert_memory_equal(p, first, sizeof first);
    size_t nonzero = 0;
    for (size_t i = sizeof first / sizeof *first; i < np; i++) nonzero += p[i] != 0.0f || g[i] != 0.0f;
    assert_int_equal(nonzero, 0);
    for (size_t i = 0; i < np; i++) g[i] = p[i] = (float)i;
    float x[4 * 16], y[4 * 700];
    for (size_t i = 0; i < 4 * 16; i++) x[i] = 0.01f * (float)i;
    assert_int_equal(gan_net_forward(n, x, 4, y, 0), GAN_OK);
    assert_true(isfinite(y[4 * 700 - 1]));
    gan_net_free(n);
    gan_rng_free(r);
}

static void expect_shape(const gan_net *n, int out, size_t c, size_t h, size_t w)
{
    size_t a, b, d;
    assert_int_equal(out ? gan_net_out_shape(n, &a, &b, &d) : gan_net_in_shape(n, &a, &b, &d), GAN_OK);
    if (a != c || b != h || d != w)
        fail_msg("%s shape %zux%zux%zu, expected %zux%zux%zu", out ? "output" : "input", a, b, d, c, h, w);
}

/* Shapes flow from layer to layer: an image net's elementwise layers keep its shape,
 * dense and maxout layers read it flat and give vectors, reshape gives an image again;
 * a layer that does not fit the shape is refused, changes nothing and stays the
 * caller's; files keep the shapes. */
static void shapes_flow_through_the_net(void **state)
{
    (void)state;
    gan_net *n, *m;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 2, 3, 4), GAN_OK);
    assert_int_equal(gan_net_in_dim(n), 24);
    expect_shape(n, 0, 2, 3, 4);
    expect_shape(n, 1, 2, 3, 4); /* no layers: the input's */
    add(n, gan_layer_dropout(&l, 0.5f), &l);
    expect_shape(n, 1, 2, 3, 4);
    add(n, gan_layer_dense(&l, 24, 12), &l);
    expect_shape(n, 1, 12, 1, 1);
    add(n, gan_layer_reshape(&l, 3, 2, 2), &l);
    expect_shape(n, 1, 3, 2, 2);
    add(n, gan_layer_activation(&l, GAN_ACT_TANH), &l);
    expect_shape(n, 1, 3, 2, 2);
    assert_int_equal(gan_layer_in_dim(gan_net_layer(n, 2)), 12);
    assert_int_equal(gan_layer_out_dim(gan_net_layer(n, 2)), 12);
    assert_int_equal(gan_layer_kind(gan_net_layer(n, 2)), GAN_LAYER_RESHAPE);
    /* misfits */
    assert_int_equal(gan_layer_reshape(&l, 2, 2, 2), GAN_OK);
    assert_int_equal(gan_layer_in_dim(l), 0); /* not placed yet */
    assert_error(gan_net_add(n, l), GAN_EINVAL, "reshape layer 4 to 2x2x2 expects 8 inputs, got 12");
    assert_int_equal(gan_layer_in_dim(l), 0);
    gan_layer_free(l);
    assert_int_equal(gan_layer_dense(&l, 13, 2), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "dense layer 4 expects 13 inputs, got 12");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 4);
    expect_shape(n, 1, 3, 2, 2);
    /* a forward through the image net: reshape and tanh change no position */
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 9), GAN_OK);
    assert_int_equal(gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    float x[2 * 24], y[2 * 12], z[2 * 12];
    assert_int_equal(gan_rng_fill_uniform(r, x, 2 * 24, -1.0f, 1.0f), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, 2, y, 0), GAN_OK);
    /* the same net without the reshape gives the same values */
    assert_int_equal(gan_net_create_image(&m, 2, 3, 4), GAN_OK);
    add(m, gan_layer_dropout(&l, 0.5f), &l);
    add(m, gan_layer_dense(&l, 24, 12), &l);
    add(m, gan_layer_activation(&l, GAN_ACT_TANH), &l);
    memcpy(gan_net_params(m), gan_net_params(n), gan_net_num_params(n) * sizeof(float));
    assert_int_equal(gan_net_forward(m, x, 2, z, 0), GAN_OK);
    assert_memory_equal(y, z, sizeof y);
    gan_net_free(m);
    /* a round trip through a file keeps every shape */
    size_t size;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size);
    assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&m, buf, size), GAN_OK);
    expect_shape(m, 0, 2, 3, 4);
    expect_shape(m, 1, 3, 2, 2);
    assert_int_equal(gan_net_forward(m, x, 2, z, 0), GAN_OK);
    assert_memory_equal(y, z, sizeof y);
    free(buf);
    gan_net_free(m);
    gan_net_free(n);
    gan_rng_free(r);
}

/* A net owns its layers: adding one that is in this net or another is refused, and
 * both nets stay as they were (issue 23: the second net took it, and both freed it). */
static void a_layer_has_one_owner(void **state)
{
    (void)state;
    gan_net *a, *b;
    assert_int_equal(gan_net_create(&a, 3), GAN_OK);
    assert_int_equal(gan_net_create(&b, 3), GAN_OK);
    gan_layer *l = dense(3, 3);
    assert_int_equal(gan_net_add(a, l), GAN_OK);
    assert_error(gan_net_add(a, l), GAN_EINVAL, "gan_net_add: the layer is already in this net");
    assert_error(gan_net_add(b, l), GAN_EINVAL, "gan_net_add: the layer is already in another net");
    assert_int_equal(gan_net_num_layers(a), 1);
    assert_int_equal(gan_net_num_layers(b), 0);
    assert_int_equal(gan_net_num_params(b), 0);
    gan_net_free(a);
    gan_net_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_layer_has_one_owner),
        cmocka_unit_test(shapes_and_layout),
        cmocka_unit_test(shapes_flow_through_the_net),
        cmocka_unit_test(adding_keeps_existing_parameters),
        cmocka_unit_test(mismatched_layer_is_refused_and_stays_owned),
        cmocka_unit_test(null_and_zero_arguments),
        cmocka_unit_test(overflowing_sizes),
        cmocka_unit_test(dropout_requires_rng_in_training),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(big_buffers_from_the_default_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
