/* Optimizers: updates against values computed by hand. */
#include "test_util.h"

#include <math.h>

/* A one-layer net dense(1 -> 1): two parameters, w then b. */
static gan_net *tiny_net(void)
{
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create(&net, 1), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 1, 1), GAN_OK);
    assert_int_equal(gan_net_add(net, l), GAN_OK);
    return net;
}

static void set2(float *dst, float a, float b)
{
    dst[0] = a;
    dst[1] = b;
}

static void sgd_plain_and_momentum(void **state)
{
    (void)state;
    gan_net *net = tiny_net();
    gan_optim *o;
    float *p = gan_net_params(net), *g = gan_net_grads(net);
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.0f, 0), GAN_OK);
    set2(p, 1.0f, -1.0f);
    set2(g, 2.0f, 0.5f);
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_float_equal(p[0], 0.8f, 1e-7);
    assert_float_equal(p[1], -1.05f, 1e-7);
    gan_optim_free(o);

    /* momentum 0.5: v1 = -lr g1; v2 = 0.5 v1 - lr g2 */
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.5f, 0), GAN_OK);
    set2(p, 1.0f, 0.0f);
    set2(g, 1.0f, -2.0f);
    assert_int_equal(gan_optim_step(o, net), GAN_OK); /* v = (-0.1, 0.2); p = (0.9, 0.2) */
    set2(g, 3.0f, 1.0f);
    assert_int_equal(gan_optim_step(o, net), GAN_OK); /* v = (-0.35, 0.0); p = (0.55, 0.2) */
    assert_float_equal(p[0], 0.55f, 1e-6);
    assert_float_equal(p[1], 0.2f, 1e-6);
    assert_int_equal(gan_optim_steps(o), 2);
    gan_optim_free(o);
    gan_net_free(net);
}

static void sgd_nesterov(void **state)
{
    (void)state;
    gan_net *net = tiny_net();
    gan_optim *o;
    float *p = gan_net_params(net), *g = gan_net_grads(net);
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.9f, 1), GAN_OK);
    set2(p, 1.0f, 1.0f);
    set2(g, 1.0f, 1.0f);
    /* v = -0.1; p += 0.9 * (-0.1) - 0.1 = -0.19 */
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_float_equal(p[0], 0.81f, 1e-6);
    /* v = 0.9 * -0.1 - 0.1 = -0.19; p += 0.9 * -0.19 - 0.1 = -0.271 */
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_float_equal(p[0], 0.539f, 1e-6);
    gan_optim_free(o);
    gan_net_free(net);
}

static void adam_by_hand(void **state)
{
    (void)state;
    gan_net *net = tiny_net();
    gan_optim *o;
    float *p = gan_net_params(net), *g = gan_net_grads(net);
    assert_int_equal(gan_optim_adam(&o, 0.01f, 0.9f, 0.999f, 1e-8f), GAN_OK);
    set2(p, 0.5f, -0.5f);
    set2(g, 0.2f, -4.0f);
    /* Step 1 with bias correction: mhat = g, vhat = g^2, so the step is lr * sign(g). */
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_float_equal(p[0], 0.49f, 1e-6);
    assert_float_equal(p[1], -0.49f, 1e-6);
    /* Step 2 by the formulas in double. */
    set2(g, -0.1f, 1.0f);
    double m0 = 0.9 * (0.1 * 0.2) + 0.1 * -0.1, v0 = 0.999 * (0.001 * 0.04) + 0.001 * 0.01;
    double m1 = 0.9 * (0.1 * -4.0) + 0.1 * 1.0, v1 = 0.999 * (0.001 * 16.0) + 0.001 * 1.0;
    double c1 = 1 - 0.81, c2 = 1 - 0.999 * 0.999;
    double e0 = 0.49 - 0.01 * (m0 / c1) / (sqrt(v0 / c2) + 1e-8);
    double e1 = -0.49 - 0.01 * (m1 / c1) / (sqrt(v1 / c2) + 1e-8);
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_float_equal(p[0], e0, 1e-5);
    assert_float_equal(p[1], e1, 1e-5);
    gan_optim_free(o);
    gan_net_free(net);
}

static void setters_and_reset(void **state)
{
    (void)state;
    gan_net *net = tiny_net(), *big;
    gan_layer *l;
    gan_optim *o;
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.5f, 0), GAN_OK);
    assert_int_equal(gan_optim_set_lr(o, 0.25f), GAN_OK);
    assert_true(gan_optim_get_lr(o) == 0.25f);
    assert_int_equal(gan_optim_set_momentum(o, 0.7f), GAN_OK);
    assert_true(gan_optim_get_momentum(o) == 0.7f);
    assert_error(gan_optim_set_lr(o, NAN), GAN_EINVAL, "lr");
    assert_error(gan_optim_set_lr(o, -1.0f), GAN_EINVAL, "lr");
    assert_error(gan_optim_set_momentum(o, 1.0f), GAN_EINVAL, "momentum");
    assert_true(gan_optim_get_lr(o) == 0.25f); /* failed setters change nothing */

    /* The state belongs to the first net's size until reset. */
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_int_equal(gan_net_create(&big, 3), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 3, 2), GAN_OK);
    assert_int_equal(gan_net_add(big, l), GAN_OK);
    assert_error(gan_optim_step(o, big), GAN_EINVAL, "8");
    assert_int_equal(gan_optim_reset(o), GAN_OK);
    assert_int_equal(gan_optim_steps(o), 0);
    assert_int_equal(gan_optim_step(o, big), GAN_OK);
    /* and to that net, not its size: a twin is refused with nothing changed, until reset */
    gan_net *twin = tiny_net();
    set2(gan_net_params(twin), 1.0f, 2.0f);
    set2(gan_net_grads(twin), 0.5f, 0.5f);
    assert_int_equal(gan_optim_reset(o), GAN_OK);
    assert_int_equal(gan_optim_step(o, net), GAN_OK);
    assert_error(gan_optim_step(o, twin), GAN_EINVAL, "gan_optim_step: the optimizer's state belongs to another net");
    assert_true(gan_net_params(twin)[0] == 1.0f && gan_net_params(twin)[1] == 2.0f);
    assert_int_equal(gan_optim_steps(o), 1);
    assert_int_equal(gan_optim_reset(o), GAN_OK);
    assert_int_equal(gan_optim_step(o, twin), GAN_OK);
    gan_optim_free(o);
    gan_net_free(twin);
    gan_net_free(big);
    gan_net_free(net);
}

static void non_finite_gradient_changes_nothing(void **state)
{
    (void)state;
    gan_net *net = tiny_net();
    gan_optim *o;
    float *p = gan_net_params(net), *g = gan_net_grads(net);
    assert_int_equal(gan_optim_adam(&o, 0.1f, 0.9f, 0.999f, 1e-8f), GAN_OK);
    set2(p, 1.0f, 2.0f);
    set2(g, NAN, 1.0f);
    assert_error(gan_optim_step(o, net), GAN_EDIVERGED, "not finite");
    assert_true(p[0] == 1.0f && p[1] == 2.0f);
    set2(g, 1.0f, INFINITY);
    assert_error(gan_optim_step(o, net), GAN_EDIVERGED, "not finite");
    assert_true(p[0] == 1.0f && p[1] == 2.0f);
    assert_int_equal(gan_optim_steps(o), 0);
    gan_optim_free(o);
    gan_net_free(net);
}

static void bad_constructors(void **state)
{
    (void)state;
    gan_optim *o = (gan_optim *)&o;
    assert_error(gan_optim_sgd(&o, -0.1f, 0.5f, 0), GAN_EINVAL, "lr");
    assert_null(o);
    assert_error(gan_optim_sgd(&o, 0.1f, 1.5f, 0), GAN_EINVAL, "momentum");
    assert_error(gan_optim_adam(&o, 0.1f, 0.9f, 1.0f, 1e-8f), GAN_EINVAL, "beta2");
    assert_error(gan_optim_adam(&o, 0.1f, -0.1f, 0.99f, 1e-8f), GAN_EINVAL, "beta1");
    assert_error(gan_optim_adam(&o, 0.1f, 0.9f, 0.99f, 0.0f), GAN_EINVAL, "eps");
    assert_error(gan_optim_sgd(NULL, 0.1f, 0.5f, 0), GAN_EINVAL, "out");
    assert_error(gan_optim_step(NULL, NULL), GAN_EINVAL, "opt");
    gan_net *empty;
    assert_int_equal(gan_net_create(&empty, 2), GAN_OK);
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.0f, 0), GAN_OK);
    assert_error(gan_optim_step(o, empty), GAN_EINVAL, "no parameters");
    gan_optim_free(o);
    gan_optim_free(NULL);
    gan_net_free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgd_plain_and_momentum),
        cmocka_unit_test(sgd_nesterov),
        cmocka_unit_test(adam_by_hand),
        cmocka_unit_test(setters_and_reset),
        cmocka_unit_test(non_finite_gradient_changes_nothing),
        cmocka_unit_test(bad_constructors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
