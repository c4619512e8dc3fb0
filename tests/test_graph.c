/* Nets that branch (gan_net_add_from, docs/graphs.md): whole graphs against finite
 * differences of their own forward, refusals that name the nodes, files, and training
 * steps that allocate nothing. The layer kinds themselves are tested in test_graph_layers. */
#include "test_util.h"

#include <math.h>


/* L = sum(dy .* net(x)) in double, the net in evaluation or training mode. */
static double loss_at(gan_net *n, const float *x, size_t batch, const float *dy, float *y, int train)
{
    assert_int_equal(gan_net_forward(n, x, batch, y, train), GAN_OK);
    double l = 0;
    for (size_t i = 0; i < batch * gan_net_out_dim(n); i++) l += (double)dy[i] * y[i];
    return l;
}

static void compare(const char *what, size_t i, float lib, double numeric)
{
    if (fabs(lib - numeric) > 2e-3 + 1e-2 * fabs(numeric))
        fail_msg("dL/d%s[%zu]: library %.7g, finite difference %.7g", what, i, (double)lib, numeric);
}

/* Every parameter's and every input's gradient from one backward against central
 * differences in float (step 1e-2: the nets here are smooth, tanh their only
 * nonlinearity), and the parameter gradients again without dx. The differences run in
 * evaluation mode, or in training mode (`train`: batch statistics, for a net without
 * dropout). Frees the net. */
static void check_gradients(gan_net *n, size_t batch, uint64_t seed, int train)
{
    gan_rng *rng = new_rng(seed);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    size_t in = gan_net_in_dim(n), out = gan_net_out_dim(n), np = gan_net_num_params(n);
    float *x = xcalloc(batch * in, sizeof *x), *dy = xcalloc(batch * out, sizeof *dy);
    float *y = xcalloc(batch * out, sizeof *y), *dx = xcalloc(batch * in, sizeof *dx);
    float *grads = xcalloc(np ? np : 1, sizeof *grads);
    fill(rng, x, batch * in, -1, 1);
    fill(rng, dy, batch * out, -1, 1);
    assert_int_equal(gan_net_zero_grads(n), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, batch, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
    if (np) memcpy(grads, gan_net_grads(n), np * sizeof *grads);
    assert_int_equal(gan_net_zero_grads(n), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, batch, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(n, dy, NULL), GAN_OK);
    if (np) assert_memory_equal(grads, gan_net_grads(n), np * sizeof *grads);
    const float h = 1e-2f;
    float *p = gan_net_params(n);
    for (size_t i = 0; i < np; i++) {
        float saved = p[i];
        p[i] = saved + h;
        double plus = loss_at(n, x, batch, dy, y, train);
        p[i] = saved - h;
        double minus = loss_at(n, x, batch, dy, y, train);
        p[i] = saved;
        compare("param", i, grads[i], (plus - minus) / (2.0 * h));
    }
    for (size_t i = 0; i < batch * in; i++) {
        float saved = x[i];
        x[i] = saved + h;
        double plus = loss_at(n, x, batch, dy, y, train);
        x[i] = saved - h;
        double minus = loss_at(n, x, batch, dy, y, train);
        x[i] = saved;
        compare("x", i, dx[i], (plus - minus) / (2.0 * h));
    }
    free(x), free(dy), free(y), free(dx), free(grads);
    gan_rng_free(rng);
    gan_net_free(n);
}

static void conv(gan_net *n, size_t cin, size_t cout, size_t k, size_t pad, size_t node)
{
    gan_layer *l;
    add_from(n, gan_layer_conv2d(&l, cin, cout, k, 1, pad), &l, &node, 1);
}

static void act(gan_net *n, gan_activation a, size_t node)
{
    gan_layer *l;
    add_from(n, gan_layer_activation(&l, a), &l, &node, 1);
}

/* A residual block: x + conv(tanh(conv(x))), then tanh in place over the sum. */
static void residual_block(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 2, 4, 4), GAN_OK);
    conv(n, 2, 3, 3, 1, 0);          /* node 1 */
    act(n, GAN_ACT_TANH, 1);         /* node 2 */
    conv(n, 3, 2, 3, 1, 2);          /* node 3 */
    add_from(n, gan_layer_add(&l, 2), &l, FROM(3, 0)); /* node 4 */
    act(n, GAN_ACT_TANH, 4);         /* node 5 */
    conv(n, 2, 2, 1, 0, 0);          /* node 6: a 1x1 shortcut of the input */
    add_from(n, gan_layer_add(&l, 2), &l, FROM(5, 6));
    size_t c, h, w;
    assert_int_equal(gan_net_node_shape(n, 4, &c, &h, &w), GAN_OK);
    assert_true(c == 2 && h == 4 && w == 4);
    check_gradients(n, 3, 1, 0);
}

/* One node read by three layers, and twice by one of them. */
static void node_read_twice(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 6), GAN_OK);
    add_from(n, gan_layer_dense(&l, 6, 5), &l, FROM(0)); /* node 1 */
    act(n, GAN_ACT_TANH, 1);                         /* node 2 */
    add_from(n, gan_layer_dense(&l, 5, 5), &l, FROM(1)); /* node 3 */
    add_from(n, gan_layer_add(&l, 3), &l, FROM(2, 3, 1)); /* node 4 */
    add_from(n, gan_layer_concat(&l, 2), &l, FROM(4, 4)); /* node 5 */
    act(n, GAN_ACT_TANH, 5);
    size_t from[4], count;
    assert_int_equal(gan_net_layer_inputs(n, 3, from, 4, &count), GAN_OK);
    assert_true(count == 3 && from[0] == 2 && from[1] == 3 && from[2] == 1);
    assert_int_equal(gan_net_layer_inputs(n, 3, from, 2, &count), GAN_EINVAL);
    check_gradients(n, 4, 2, 0);
}

/* A row [x | cond] split by slices; the condition joins the features by a concat. */
static void concat_of_a_slice(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 8), GAN_OK);
    add_from(n, gan_layer_slice(&l, 0, 5), &l, FROM(0));   /* node 1: x */
    add_from(n, gan_layer_slice(&l, 5, 3), &l, FROM(0));   /* node 2: cond */
    add_from(n, gan_layer_dense(&l, 5, 4), &l, FROM(1));   /* node 3 */
    act(n, GAN_ACT_TANH, 3);                           /* node 4 */
    add_from(n, gan_layer_concat(&l, 2), &l, FROM(4, 2)); /* node 5 */
    add_from(n, gan_layer_dense(&l, 7, 2), &l, FROM(5));
    check_gradients(n, 3, 3, 0);
}

/* The class as constant maps beside an image, and a projection term:
 * logit = dense(features) + dot(embed(cond), features). */
static void maps_and_projection(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 2 * 4 * 4 + 3), GAN_OK);
    add_from(n, gan_layer_slice(&l, 0, 32), &l, FROM(0));          /* node 1 */
    add_from(n, gan_layer_reshape(&l, 2, 4, 4), &l, FROM(1));       /* node 2 */
    add_from(n, gan_layer_slice(&l, 32, 3), &l, FROM(0));           /* node 3: cond */
    add_from(n, gan_layer_tile(&l, 4, 4), &l, FROM(3));             /* node 4 */
    add_from(n, gan_layer_concat(&l, 2), &l, FROM(2, 4));         /* node 5: 5 x 4 x 4 */
    conv(n, 5, 3, 3, 1, 5);                                   /* node 6 */
    act(n, GAN_ACT_TANH, 6);                                  /* node 7 */
    add_from(n, gan_layer_avgpool(&l, 2), &l, FROM(7));             /* node 8: 3 x 2 x 2 */
    add_from(n, gan_layer_global_sum(&l), &l, FROM(8));             /* node 9: 3 */
    add_from(n, gan_layer_dense(&l, 3, 1), &l, FROM(9));            /* node 10 */
    add_from(n, gan_layer_dense(&l, 3, 3), &l, FROM(3));            /* node 11: embed */
    add_from(n, gan_layer_dot(&l), &l, FROM(11, 9));               /* node 12 */
    add_from(n, gan_layer_add(&l, 2), &l, FROM(10, 12));
    check_gradients(n, 2, 4, 0);
}

/* Conditional batch norm in a G: batch norm without affine, modulated by a dense layer
 * of the class, then upsampled. Batch statistics in the finite differences too. */
static void conditional_batch_norm(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 2 * 2 * 2 + 2), GAN_OK);
    add_from(n, gan_layer_slice(&l, 0, 8), &l, FROM(0));        /* node 1 */
    add_from(n, gan_layer_reshape(&l, 2, 2, 2), &l, FROM(1));   /* node 2 */
    assert_int_equal(gan_layer_batchnorm(&l, 2, 0.1f, 1e-5f), GAN_OK);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    add_from(n, GAN_OK, &l, FROM(2));                            /* node 3 */
    add_from(n, gan_layer_slice(&l, 8, 2), &l, FROM(0));        /* node 4 */
    add_from(n, gan_layer_dense(&l, 2, 4), &l, FROM(4));        /* node 5 */
    add_from(n, gan_layer_modulate(&l), &l, FROM(3, 5));       /* node 6 */
    add_from(n, gan_layer_upsample(&l, 2), &l, FROM(6));
    act(n, GAN_ACT_TANH, 7);
    /* An evaluation forward would use running statistics: differences in training mode. */
    check_gradients(n, 4, 5, 1);
}

/* Wrong counts, missing nodes and shapes that do not fit are refused, naming the nodes;
 * the net and the layer stay as they were. */
static void refusals(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l, *cat;
    assert_int_equal(gan_net_create_image(&n, 2, 4, 4), GAN_OK);
    conv(n, 2, 3, 3, 0, 0); /* node 1: 3 x 2 x 2 */
    assert_int_equal(gan_layer_concat(&cat, 2), GAN_OK);
    assert_error(gan_net_add(n, cat), GAN_EINVAL, "gan_net_add_from");
    assert_failure_explained("gan_net_add");
    assert_error(gan_net_add_from(n, cat, FROM(0, 2)), GAN_EINVAL, "nodes so far are 0 to 1");
    assert_failure_explained("gan_net_add_from");
    assert_error(gan_net_add_from(n, cat, FROM(0, 1)), GAN_EINVAL, "node 0 (2x4x4), node 1 (3x2x2)");
    assert_failure_explained("gan_net_add_from");
    assert_error(gan_net_add_from(n, cat, FROM(1)), GAN_EINVAL, "takes 2 inputs");
    assert_error(gan_net_add_from(n, cat, (const size_t[]){0}, 0), GAN_EINVAL, "n_from");
    assert_error(gan_net_add_from(n, cat, NULL, 2), GAN_EINVAL, "from");
    assert_int_equal(gan_layer_dense(&l, 5, 2), GAN_OK);
    assert_error(gan_net_add_from(n, l, FROM(0)), GAN_EINVAL, "node 0 (2x4x4)");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 1);
    add_from(n, GAN_OK, &cat, FROM(1, 1)); /* the refused layer is still good */
    assert_error(gan_net_add_from(n, cat, FROM(0, 1)), GAN_EINVAL, "already in this net");
    assert_error(gan_net_node_shape(n, 3, NULL, NULL, NULL), GAN_EINVAL, "node 3");
    assert_failure_explained("gan_net_node_shape");
    assert_error(gan_net_layer_inputs(n, 2, NULL, 0, NULL), GAN_EINVAL, "layer 2");
    size_t c;
    assert_int_equal(gan_net_node_shape(n, 2, &c, NULL, NULL), GAN_OK);
    assert_int_equal(c, 6);
    gan_net_free(n);
}

/* A graph saved and loaded computes the same and saves the same bytes (forged records:
 * test_serial). */
static void files(void **state)
{
    (void)state;
    gan_net *n, *back;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 6), GAN_OK);
    add_from(n, gan_layer_dense(&l, 6, 4), &l, FROM(0));
    assert_int_equal(gan_layer_dense(&l, 6, 4), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add_from(n, GAN_OK, &l, FROM(0));
    add_from(n, gan_layer_add(&l, 2), &l, FROM(2, 1));
    act(n, GAN_ACT_TANH, 3);
    gan_rng *rng = new_rng(9);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    size_t size, size2;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *bytes = xcalloc(size, 1), *bytes2 = xcalloc(size, 1);
    assert_int_equal(gan_net_save_mem(n, bytes, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&back, bytes, size), GAN_OK);
    assert_int_equal(gan_net_save_mem(back, bytes2, size, &size2), GAN_OK);
    assert_int_equal(size, size2);
    assert_memory_equal(bytes, bytes2, size);
    size_t from[2], count;
    assert_int_equal(gan_net_layer_inputs(back, 2, from, 2, &count), GAN_OK);
    assert_true(count == 2 && from[0] == 2 && from[1] == 1);
    float x[18], y1[12], y2[12];
    fill(rng, x, 18, -1, 1);
    assert_int_equal(gan_net_forward(n, x, 3, y1, 0), GAN_OK);
    assert_int_equal(gan_net_forward(back, x, 3, y2, 0), GAN_OK);
    assert_memory_equal(y1, y2, sizeof y1);
    free(bytes), free(bytes2);
    gan_net_free(back);
    gan_rng_free(rng);
    gan_net_free(n);
}

static int data_fn(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    for (size_t i = 0; i < batch; i++) {
        size_t k = (size_t)(gan_rng_uniform(rng) * 4) % 4;
        for (size_t j = 0; j < 8; j++) x[i * 8 + j] = (float)(k + 1) * 0.2f * (float)(j % 2);
        for (size_t j = 0; j < 4; j++) cond[i * 4 + j] = j == k;
    }
    return 0;
}

/* A conditional GAN whose nets route [x | cond] themselves, with batch norm in D:
 * warmed-up steps allocate nothing, and the logit below a final sigmoid is read. */
static void trainer_steps(void **state)
{
    (void)state;
    gan_net *g, *d;
    gan_layer *l;
    assert_int_equal(gan_net_create(&g, 6 + 4), GAN_OK); /* [z | cond] */
    add_from(g, gan_layer_dense(&l, 10, 8), &l, FROM(0));
    act(g, GAN_ACT_SIGMOID, 1);
    assert_int_equal(gan_net_create(&d, 8 + 4), GAN_OK);
    add_from(d, gan_layer_slice(&l, 0, 8), &l, FROM(0));   /* node 1 */
    add_from(d, gan_layer_dense(&l, 8, 6), &l, FROM(1));   /* node 2 */
    add_from(d, gan_layer_batchnorm(&l, 6, 0.1f, 1e-5f), &l, FROM(2));
    act(d, GAN_ACT_RELU, 3);                           /* node 4 */
    add_from(d, gan_layer_slice(&l, 8, 4), &l, FROM(0));   /* node 5 */
    add_from(d, gan_layer_concat(&l, 2), &l, FROM(4, 5)); /* node 6 */
    add_from(d, gan_layer_dense(&l, 10, 1), &l, FROM(6));
    act(d, GAN_ACT_SIGMOID, 7);
    gan_rng *rng = new_rng(3);
    assert_int_equal(gan_net_init(g, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(d, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    gan_optim *og, *od;
    gan_trainer *t;
    assert_int_equal(gan_optim_adam(&og, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&od, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_set_cond_dim(t, 4), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, data_fn, NULL), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, 8), GAN_OK);
    assert_steady_steps_allocate_nothing(t, 5);
    gan_step_stats st = {.size = sizeof st};
    assert_int_equal(gan_trainer_step(t, &st), GAN_OK);
    assert_true(isfinite(st.loss_d) && isfinite(st.loss_g));
    free_gan(t, og, od, g, d);
    gan_rng_free(rng);
}

/* Every allocation of adding a graph's layers and of its first forward and backward fails
 * in turn: ENOMEM, the net as it was (it still computes) and the layer the caller's. */
static void allocation_failures(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add_from(n, gan_layer_dense(&l, 4, 3), &l, FROM(0));
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[6], dx[8];
    size_t failures;
    assert_int_equal(gan_layer_dense(&l, 4, 3), GAN_OK);
    SWEEP(failures, gan_net_add_from(n, l, FROM(0)), assert_int_equal(gan_net_num_layers(n), 1));
    assert_true(failures > 0);
    assert_int_equal(gan_layer_add(&l, 2), GAN_OK);
    SWEEP(failures, gan_net_add_from(n, l, FROM(1, 2)), assert_int_equal(gan_net_num_layers(n), 2));
    SWEEP(failures, gan_net_forward(n, x, 2, y, 1), (void)0);
    assert_true(failures > 0);
    assert_int_equal(gan_net_backward(n, y, dx), GAN_OK);
    gan_net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(residual_block), TEST(node_read_twice), TEST(concat_of_a_slice), TEST(maps_and_projection),
        TEST(conditional_batch_norm), TEST(refusals), TEST(files), TEST(trainer_steps),
        TEST(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
