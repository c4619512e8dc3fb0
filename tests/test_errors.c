/* Error reporting and allocation-failure injection: every failing allocation gives
 * GAN_ENOMEM, leaks nothing and leaves the handles usable. */
#include "test_util.h"

#include <pthread.h>

static void strerror_covers_every_code(void **state)
{
    (void)state;
    const int codes[] = {GAN_OK, GAN_EINVAL, GAN_ENOMEM, GAN_EIO, GAN_EFORMAT,
                         GAN_EVERSION, GAN_EUSER, GAN_EDIVERGED, GAN_ESTATE};
    /* Pinned values: changing one breaks the ABI. */
    assert_int_equal(GAN_EINVAL, -1);
    assert_int_equal(GAN_ESTATE, -8);
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        const char *s = gan_strerror(codes[i]);
        assert_non_null(s);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, gan_strerror(codes[j]));
    }
    assert_string_equal(gan_strerror(-1000), "unknown error code");
    assert_string_equal(gan_strerror(42), "unknown error code");
}

static void *fail_in_thread(void *arg)
{
    gan_layer *l;
    (void)arg;
    if (gan_error_last()[0] != '\0') return (void *)1; /* fresh thread: empty message */
    gan_layer_dense(&l, 0, 5);
    return strstr(gan_error_last(), "positive") ? NULL : (void *)1;
}

static void error_message_is_thread_local(void **state)
{
    (void)state;
    gan_layer *l;
    assert_non_null(gan_error_last());
    gan_layer_dropout(&l, 2.0f);
    assert_non_null(strstr(gan_error_last(), "keep_prob"));
    pthread_t t;
    void *result;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &result), 0);
    assert_null(result);
    assert_non_null(strstr(gan_error_last(), "keep_prob")); /* ours is untouched */
}

static void allocator_hook_validates(void **state)
{
    (void)state;
    gan_allocator half = {test_malloc_fn, NULL, NULL};
    assert_error(gan_set_allocator(&half), GAN_EINVAL, "free_fn");
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

static void constructors_fail_cleanly(void **state)
{
    (void)state;
    test_alloc_install();
    gan_rng *r = NULL;
    gan_net *n = NULL;
    gan_layer *l = NULL;
    gan_optim *o = NULL;
    size_t f;
    SWEEP(f, gan_rng_create(&r, 1), assert_null(r));
    assert_int_equal(f, 1);
    SWEEP(f, gan_net_create(&n, 4), assert_null(n));
    assert_int_equal(f, 1);
    SWEEP(f, gan_optim_adam(&o, 0.1f, 0.9f, 0.99f, 1e-8f), assert_null(o));
    assert_int_equal(f, 1);
    gan_optim_free(o);
    SWEEP(f, gan_optim_sgd(&o, 0.1f, 0.9f, 0), assert_null(o));
    assert_int_equal(f, 1);
    SWEEP(f, gan_layer_dense(&l, 4, 4), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_maxout(&l, 4, 2, 2), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_activation(&l, GAN_ACT_TANH), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_leaky_relu(&l, 0.1f), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_dropout(&l, 0.5f), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_reshape(&l, 1, 2, 3), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    gan_net *image;
    SWEEP(f, gan_net_create_image(&image, 3, 4, 5), assert_null(image));
    assert_int_equal(f, 1);
    gan_net_free(image);
    gan_net_free(n);
    gan_rng_free(r);
    gan_optim_free(o);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

static void add_forward_and_step_fail_cleanly(void **state)
{
    (void)state;
    test_alloc_install();
    gan_net *n;
    gan_layer *l;
    gan_rng *r;
    gan_optim *o;
    size_t f;
    float x[2 * 6] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, y[2 * 6], dx[2 * 6];
    assert_int_equal(gan_rng_create(&r, 4), GAN_OK);
    assert_int_equal(gan_net_create(&n, 6), GAN_OK);
    assert_int_equal(gan_net_set_rng(n, r), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 6, 6), GAN_OK);
    assert_int_equal(gan_net_add(n, l), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, 1, y, 1), GAN_OK);

    /* Adding: the net is unchanged after each failure and can still run batch 1. */
    const gan_layer *kinds[3];
    gan_layer *m, *d, *a;
    assert_int_equal(gan_layer_maxout(&m, 6, 6, 3), GAN_OK);
    assert_int_equal(gan_layer_dropout(&d, 0.5f), GAN_OK);
    assert_int_equal(gan_layer_activation(&a, GAN_ACT_RELU), GAN_OK);
    kinds[0] = m, kinds[1] = d, kinds[2] = a;
    gan_layer *adds[3] = {m, d, a};
    for (int i = 0; i < 3; i++) {
        size_t layers = gan_net_num_layers(n), params = gan_net_num_params(n);
        SWEEP(f, gan_net_add(n, adds[i]), {
            assert_int_equal(gan_net_num_layers(n), layers);
            assert_int_equal(gan_net_num_params(n), params);
        });
        assert_ptr_equal(gan_net_layer(n, layers), kinds[i]);
    }
    assert_int_equal(gan_net_init(n, r, GAN_INIT_XAVIER, 1.0f), GAN_OK);

    /* Growing the workspaces: the old ones survive each failure. */
    assert_int_equal(gan_net_forward(n, x, 1, y, 1), GAN_OK);
    SWEEP(f, gan_net_forward(n, x, 2, y, 1), {
        assert_int_equal(gan_net_forward(n, x, 1, y, 1), GAN_OK);
        assert_int_equal(gan_net_backward(n, y, dx), GAN_OK);
    });
    assert_true(f >= 2);
    assert_int_equal(gan_net_backward(n, y, dx), GAN_OK);

    /* The first optimizer step allocates its state. */
    assert_int_equal(gan_optim_adam(&o, 0.01f, 0.9f, 0.999f, 1e-8f), GAN_OK);
    float before = gan_net_params(n)[0];
    SWEEP(f, gan_optim_step(o, n), {
        assert_true(gan_net_params(n)[0] == before);
        assert_int_equal(gan_optim_steps(o), 0);
    });
    assert_int_equal(f, 1);
    assert_true(gan_net_params(n)[0] != before);

    gan_optim_free(o);
    gan_net_free(n);
    gan_rng_free(r);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

/* A whole scenario: build G and D, run a training step. Every allocation in it is
 * failed once in turn; each run cleans up and must leave nothing behind. */
static int scenario(void)
{
    gan_rng *r = NULL;
    gan_net *g = NULL, *d = NULL;
    gan_optim *og = NULL, *od = NULL;
    gan_layer *l = NULL;
    float z[4 * 3] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, -1.2f};
    float x[4 * 5], p[4], dp[4] = {1, -1, 1, -1}, dx[4 * 5];
    int rc;
#define TRY(call) do { if ((rc = (call)) != GAN_OK) goto done; } while (0)
#define ADD(net, ctor) do { TRY(ctor); if ((rc = gan_net_add(net, l)) != GAN_OK) goto done; l = NULL; } while (0)
    TRY(gan_rng_create(&r, 11));
    TRY(gan_net_create(&g, 3));
    ADD(g, gan_layer_dense(&l, 3, 8));
    ADD(g, gan_layer_leaky_relu(&l, 0.2f));
    ADD(g, gan_layer_dense(&l, 8, 5));
    ADD(g, gan_layer_activation(&l, GAN_ACT_TANH));
    TRY(gan_net_create(&d, 5));
    ADD(d, gan_layer_dropout(&l, 0.8f));
    ADD(d, gan_layer_maxout(&l, 5, 4, 3));
    ADD(d, gan_layer_dense(&l, 4, 1));
    ADD(d, gan_layer_activation(&l, GAN_ACT_SIGMOID));
    TRY(gan_net_init(g, r, GAN_INIT_HE, 1.0f));
    TRY(gan_net_init(d, r, GAN_INIT_XAVIER, 1.0f));
    TRY(gan_net_set_rng(d, r));
    TRY(gan_optim_sgd(&og, 0.1f, 0.5f, 1));
    TRY(gan_optim_adam(&od, 0.1f, 0.5f, 0.999f, 1e-8f));
    TRY(gan_net_forward(g, z, 4, x, 1));
    TRY(gan_net_forward(d, x, 4, p, 1));
    TRY(gan_net_backward(d, dp, dx));
    TRY(gan_net_backward(g, dx, NULL));
    TRY(gan_optim_step(od, d));
    TRY(gan_optim_step(og, g));
done:
    gan_layer_free(l);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    gan_rng_free(r);
    return rc;
#undef ADD
#undef TRY
}

static void whole_scenario_sweep(void **state)
{
    (void)state;
    test_alloc_install();
    size_t failures;
    SWEEP(failures, scenario(), (void)0);
    assert_true(failures > 20);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_covers_every_code),
        cmocka_unit_test(error_message_is_thread_local),
        cmocka_unit_test(allocator_hook_validates),
        cmocka_unit_test(constructors_fail_cleanly),
        cmocka_unit_test(add_forward_and_step_fail_cleanly),
        cmocka_unit_test(whole_scenario_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
