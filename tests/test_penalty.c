/* Gradient penalties (docs/trainer.md): the penalty's gradient on nets of every layer kind
 * against central differences of the penalty itself, the held choices the passes replay,
 * and the trainer's setting: R1 leaves a D that is flat on the data alone, the lazy
 * interval, files, refusals, all-or-nothing steps that allocate nothing. Linked with the
 * library's objects, to drive gan__penalty_add and the forward modes directly. */
#include "test_util.h"

#include "net_impl.h"
#include "penalty_impl.h"

#include <math.h>

#define NEXT NULL, 0

/* ------------------------------------------------------------ the nets */

/* A D of each kind: its input is `data` values then `width - data` condition values, its
 * output one value per row. smooth: no kink, no dropout (the reference needs no held
 * choices). */
typedef struct {
    const char *name;
    gan_net *net;
    size_t width, data;
    int smooth;
} d_net;

static d_net relu_mlp(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add_from(n, gan_layer_dense(&l, 4, 6), &l, NEXT);
    add_from(n, gan_layer_activation(&l, GAN_ACT_RELU), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 6, 1), &l, NEXT);
    return (d_net){"dense, relu", n, 4, 4, 0};
}

static d_net leaky_conditional(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 5), GAN_OK);
    add_from(n, gan_layer_dense(&l, 5, 6), &l, NEXT);
    add_from(n, gan_layer_leaky_relu(&l, 0.2f), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 6, 1), &l, NEXT);
    return (d_net){"leaky relu, a condition", n, 5, 3, 0};
}

static d_net maxout_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add_from(n, gan_layer_maxout(&l, 4, 3, 3), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 3, 1), &l, NEXT);
    return (d_net){"maxout", n, 4, 4, 0};
}

static d_net smooth_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add_from(n, gan_layer_dense(&l, 4, 5), &l, NEXT);
    add_from(n, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 5, 5), &l, NEXT);
    add_from(n, gan_layer_activation(&l, GAN_ACT_TANH), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 5, 1), &l, NEXT);
    return (d_net){"sigmoid, tanh", n, 4, 4, 1};
}

static d_net dropout_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add_from(n, gan_layer_dropout(&l, 0.8f), &l, NEXT);
    add_from(n, gan_layer_maxout(&l, 4, 5, 2), &l, NEXT);
    add_from(n, gan_layer_dropout(&l, 0.5f), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 5, 1), &l, NEXT);
    return (d_net){"dropout, maxout", n, 4, 4, 0};
}

static d_net conv_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 2, 4, 4), GAN_OK);
    add_from(n, gan_layer_conv2d(&l, 2, 3, 3, 1, 1), &l, NEXT);
    add_from(n, gan_layer_leaky_relu(&l, 0.2f), &l, NEXT);
    add_from(n, gan_layer_conv2d_transpose(&l, 3, 2, 2, 1, 0, 0), &l, NEXT); /* 5 x 5 */
    add_from(n, gan_layer_activation(&l, GAN_ACT_TANH), &l, NEXT);
    add_from(n, gan_layer_conv2d(&l, 2, 2, 3, 2, 1), &l, NEXT); /* 3 x 3 */
    add_from(n, gan_layer_reshape(&l, 18, 1, 1), &l, NEXT);
    add_from(n, gan_layer_dense(&l, 18, 1), &l, NEXT);
    return (d_net){"conv, transposed conv, reshape", n, 32, 32, 0};
}

static d_net spectral_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 4, 6), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add_from(n, GAN_OK, &l, NEXT);
    add_from(n, gan_layer_activation(&l, GAN_ACT_RELU), &l, NEXT);
    assert_int_equal(gan_layer_dense(&l, 6, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add_from(n, GAN_OK, &l, NEXT);
    return (d_net){"spectral norm", n, 4, 4, 0};
}

/* Every graph kind: a conditional D whose row is 18 data values and a 2-value condition. */
static d_net graph_net(void)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 20), GAN_OK);
    add_from(n, gan_layer_slice(&l, 0, 18), &l, FROM(0));                 /* node 1 */
    add_from(n, gan_layer_reshape(&l, 2, 3, 3), &l, NEXT);                /* 2 */
    add_from(n, gan_layer_conv2d(&l, 2, 3, 3, 1, 1), &l, NEXT);           /* 3 */
    add_from(n, gan_layer_leaky_relu(&l, 0.2f), &l, NEXT);                /* 4 */
    add_from(n, gan_layer_upsample(&l, 2), &l, NEXT);                     /* 5: 3 x 6 x 6 */
    add_from(n, gan_layer_avgpool(&l, 2), &l, NEXT);                      /* 6: 3 x 3 x 3 */
    add_from(n, gan_layer_slice(&l, 18, 2), &l, FROM(0));                 /* 7: the condition */
    add_from(n, gan_layer_dense(&l, 2, 6), &l, NEXT);                     /* 8 */
    add_from(n, gan_layer_modulate(&l), &l, FROM(6, 8));                  /* 9 */
    add_from(n, gan_layer_add(&l, 2), &l, FROM(9, 4));                    /* 10 */
    add_from(n, gan_layer_tile(&l, 3, 3), &l, FROM(7));                   /* 11 */
    add_from(n, gan_layer_concat(&l, 2), &l, FROM(10, 11));               /* 12: 5 x 3 x 3 */
    add_from(n, gan_layer_global_sum(&l), &l, NEXT);                      /* 13 */
    add_from(n, gan_layer_activation(&l, GAN_ACT_TANH), &l, NEXT);        /* 14 */
    add_from(n, gan_layer_dense(&l, 5, 1), &l, NEXT);                     /* 15 */
    add_from(n, gan_layer_dense(&l, 2, 5), &l, FROM(7));                  /* 16: the class's embedding */
    add_from(n, gan_layer_dot(&l), &l, FROM(14, 16));                     /* 17: the projection */
    add_from(n, gan_layer_add(&l, 2), &l, FROM(15, 17));                  /* 18 */
    return (d_net){"every graph kind", n, 20, 18, 0};
}

/* ------------------------------------------------------- the reference */

static double phi(int kind, double n) { return kind == GAN_PENALTY_R1 ? 0.5 * n * n : (n - 1) * (n - 1); }

/* The mean of phi(|grad_x D|) over the rows, each norm over the row's data part, from a
 * forward in `mode` and a backward: what the penalty is, computed as a user would. */
static double penalty_of(const d_net *d, const float *x, size_t rows, int kind, int mode, double *norm)
{
    float *out = xcalloc(rows, sizeof *out), *ones = xcalloc(rows, sizeof *ones);
    float *g = xcalloc(rows * d->width, sizeof *g);
    for (size_t i = 0; i < rows; i++) ones[i] = 1.0f;
    assert_int_equal(gan__net_forward_depth(d->net, x, rows, out, mode, d->net->n_layers), GAN_OK);
    assert_int_equal(gan__net_backward_ex(d->net, ones, g, GAN__GRADS_NONE), GAN_OK);
    double total = 0, norms = 0;
    for (size_t i = 0; i < rows; i++) {
        double s = 0;
        for (size_t j = 0; j < d->data; j++) s += (double)g[i * d->width + j] * g[i * d->width + j];
        total += phi(kind, sqrt(s));
        norms += sqrt(s);
    }
    free(out);
    free(ones);
    free(g);
    if (norm) *norm = norms / (double)rows;
    return total / (double)rows;
}

typedef struct {
    float *x, *grad, *plus, *logits, *dy;
    gan__penalty_rows r;
} work;

static work work_make(const d_net *d, const float *x, size_t rows)
{
    work w;
    w.x = xcalloc(rows * d->width, sizeof(float));
    w.grad = xcalloc(rows * d->width, sizeof(float));
    w.plus = xcalloc(rows * d->width, sizeof(float));
    w.logits = xcalloc(rows, sizeof(float));
    w.dy = xcalloc(rows, sizeof(float));
    memcpy(w.x, x, rows * d->width * sizeof *x);
    w.r = (gan__penalty_rows){w.x, w.grad, w.plus, w.logits, w.dy, rows, d->width, d->data};
    return w;
}

static void work_free(work *w)
{
    free(w->x);
    free(w->grad);
    free(w->plus);
    free(w->logits);
    free(w->dy);
}

/* dP/dp by central differences at steps h and h/2, extrapolated (error O(h^4)). */
static double richardson(const d_net *d, const float *x, size_t rows, int kind, int mode, float *p, float h)
{
    float saved = *p;
    double diff[2];
    for (int k = 0; k < 2; k++, h /= 2) {
        *p = saved + h;
        double up = penalty_of(d, x, rows, kind, mode, NULL);
        *p = saved - h;
        double down = penalty_of(d, x, rows, kind, mode, NULL);
        *p = saved;
        diff[k] = (up - down) / ((double)(saved + h) - (double)(saved - h)); /* the steps float can take */
    }
    return (4.0 * diff[1] - diff[0]) / 3.0;
}

/* The library's gradient of the mean penalty against central differences of it in every
 * parameter, taken on the linear piece the library held (REPLAY), or by plain evaluation
 * for a smooth net. Steps 1e-2 and 5e-3 in float, extrapolated: the nets are small and
 * their weights O(1). */
static void check_penalty(d_net d, int kind, uint64_t seed)
{
    const size_t rows = 3;
    gan_rng *rng = new_rng(seed);
    assert_int_equal(gan_net_init(d.net, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_set_rng(d.net, rng), GAN_OK);
    gan__net_hold(d.net);
    size_t np = gan_net_num_params(d.net);
    if (d.net->layers[0]->sn) { /* u and v as training leaves them: power iterations run */
        float *in = xcalloc(d.width, sizeof *in), out;
        for (int i = 0; i < 30; i++) assert_int_equal(gan_net_forward(d.net, in, 1, &out, 1), GAN_OK);
        free(in);
    }
    float *x = xcalloc(rows * d.width, sizeof *x), *lib = xcalloc(np, sizeof *lib);
    fill(rng, x, rows * d.width, -1, 1);
    for (size_t i = 0; i < rows; i++) /* conditions one-hot, as a class is */
        for (size_t j = d.data; j < d.width; j++) x[i * d.width + j] = (float)(j - d.data == i % (d.width - d.data));
    work w = work_make(&d, x, rows);
    double value, norm, mode = d.smooth ? GAN__EVAL : GAN__REPLAY, ref_norm;
    assert_int_equal(gan_net_zero_grads(d.net), GAN_OK);
    assert_int_equal(gan__penalty_add(d.net, d.net->n_layers, kind, 1.0 / rows, &w.r, &value, &norm), GAN_OK);
    memcpy(lib, gan_net_grads(d.net), np * sizeof *lib);
    double ref = penalty_of(&d, x, rows, kind, (int)mode, &ref_norm);
    if (fabs(value - ref) > 1e-5 * (1 + fabs(ref)) || fabs(norm - ref_norm) > 1e-5 * (1 + ref_norm))
        fail_msg("%s: penalty %.7g (norm %.7g), recomputed %.7g (%.7g)", d.name, value, norm, ref, ref_norm);
    float *p = gan_net_params(d.net);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(lib[i]));
    assert_true(scale > 1e-3); /* the penalty's gradient is not zero: there is something to compare */
    for (size_t i = 0; i < np; i++) {
        double numeric = richardson(&d, x, rows, kind, (int)mode, p + i, 1e-2f), err = fabs(lib[i] - numeric);
        if (err > 1e-3 * scale + 1e-2 * fabs(numeric))
            fail_msg("%s, %s: dP/dtheta[%zu] of %zu: library %.7g, finite difference %.7g", d.name,
                     kind == GAN_PENALTY_R1 ? "R1" : "WGAN-GP", i, np, (double)lib[i], numeric);
        worst = fmax(worst, err / scale);
    }
    print_message("%-32s %-7s %4zu parameters: worst difference %.1e of the largest gradient\n", d.name,
                  kind == GAN_PENALTY_R1 ? "R1" : "WGAN-GP", np, worst);
    work_free(&w);
    free(x);
    free(lib);
    gan_net_free(d.net);
    gan_rng_free(rng);
}

static void gradients_of_every_kind(void **state)
{
    (void)state;
    d_net (*const make[])(void) = {relu_mlp,   leaky_conditional, maxout_net, smooth_net,
                                   dropout_net, conv_net,          spectral_net, graph_net};
    for (size_t k = 0; k < sizeof make / sizeof *make; k++)
        for (int kind = GAN_PENALTY_WGAN_GP; kind <= GAN_PENALTY_R1; kind++) check_penalty(make[k](), kind, 10 + k);
}

/* A replayed pass at the held rows is the held pass, bit for bit; at other rows it keeps
 * the held choices (a ReLU whose input changed sign passes it on with the held slope). */
static void replay_keeps_the_choices(void **state)
{
    (void)state;
    d_net d = dropout_net();
    gan_net *n = d.net;
    gan_layer *l;
    add_from(n, gan_layer_activation(&l, GAN_ACT_RELU), &l, NEXT);
    gan_rng *rng = new_rng(3);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_set_rng(n, rng), GAN_OK);
    gan__net_hold(n);
    const size_t rows = 16;
    float x[16 * 4], y0[16], y1[16], y2[16], ones[16], g0[16 * 4], g1[16 * 4];
    fill(rng, x, rows * 4, -1, 1);
    for (size_t i = 0; i < rows; i++) ones[i] = 1.0f;
    assert_int_equal(gan__net_forward_depth(n, x, rows, y0, GAN__HOLD, n->n_layers), GAN_OK);
    assert_int_equal(gan__net_backward_ex(n, ones, g0, GAN__GRADS_NONE), GAN_OK);
    assert_int_equal(gan__net_forward_depth(n, x, rows, y1, GAN__REPLAY, n->n_layers), GAN_OK);
    assert_int_equal(gan__net_backward_ex(n, ones, g1, GAN__GRADS_NONE), GAN_OK);
    assert_memory_equal(y0, y1, sizeof y0);
    assert_memory_equal(g0, g1, sizeof g0);
    /* On the held piece the output is affine in x: D(x + t) + D(x - t) = 2 D(x) on every
     * row, where some of the ReLUs' inputs change sign between the three. */
    float plus[16 * 4], minus[16 * 4], yp[16], ym[16];
    for (size_t i = 0; i < rows * 4; i++) {
        plus[i] = x[i] + 0.5f;
        minus[i] = x[i] - 0.5f;
    }
    assert_int_equal(gan__net_forward_depth(n, plus, rows, yp, GAN__REPLAY, n->n_layers), GAN_OK);
    assert_int_equal(gan__net_forward_depth(n, minus, rows, ym, GAN__REPLAY, n->n_layers), GAN_OK);
    for (size_t i = 0; i < rows; i++) assert_true(fabs(yp[i] + ym[i] - 2 * y0[i]) < 1e-5);
    /* A training forward draws new masks: its output differs from the held one. */
    assert_int_equal(gan__net_forward_depth(n, x, rows, y2, GAN__TRAIN, n->n_layers), GAN_OK);
    assert_memory_not_equal(y0, y2, sizeof y0);
    gan_net_free(n);
    gan_rng_free(rng);
}

/* ------------------------------------------------------------ the trainer */

/* Real data: points in [0, 1]^2. */
static int square_fill(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    int *fail_on = payload;
    (void)cond;
    if (fail_on && *fail_on && --*fail_on == 0) return 5;
    return gan_rng_fill_uniform(rng, x, 2 * batch, 0.0f, 1.0f);
}

typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    int fail_on;
} rig;

/* A trainer of 2-D points; D is `d`, or an MLP when NULL. */
static void rig_make_with(rig *r, uint64_t seed, gan_net *d)
{
    memset(r, 0, sizeof *r);
    r->g = mlp(3, 8, 2, GAN_ACT_LEAKY_RELU, 0);
    r->d = d ? d : mlp(2, 8, 1, GAN_ACT_LEAKY_RELU, 1);
    assert_int_equal(gan_optim_sgd(&r->og, 1e-2f, 0.5f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&r->od, 1e-2f, 0.5f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&r->t, r->g, r->d, r->og, r->od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(r->t, seed), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(r->t, 16), GAN_OK);
    assert_int_equal(gan_trainer_set_data(r->t, square_fill, &r->fail_on), GAN_OK);
    gan_rng *init = gan_trainer_rng(r->t, GAN_STREAM_INIT);
    assert_int_equal(gan_net_init(r->g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(r->d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
}

static void rig_make(rig *r, uint64_t seed) { rig_make_with(r, seed, NULL); }

static void rig_free(rig *r) { free_gan(r->t, r->og, r->od, r->g, r->d); }

static void step(rig *r, gan_step_stats *st)
{
    st->size = sizeof *st;
    if (gan_trainer_step(r->t, st)) fail_msg("%s", gan_error_last());
}

/* D's first layer sends every point of [0, 1]^2 below zero (ReLU, not leaky): D is flat
 * on the data, so R1 is 0 there and its gradient too; D is not flat elsewhere, so
 * WGAN-GP's interpolates towards G's rows far away see a slope. */
static void make_flat_on_the_data(rig *r)
{
    gan_net *d;
    gan_layer *l;
    assert_int_equal(gan_net_create(&d, 2), GAN_OK);
    add_from(d, gan_layer_dense(&l, 2, 4), &l, NEXT);
    add_from(d, gan_layer_activation(&l, GAN_ACT_RELU), &l, NEXT);
    add_from(d, gan_layer_dense(&l, 4, 1), &l, NEXT);
    add_from(d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l, NEXT);
    rig_make_with(r, 4, d);
    float *p = gan_net_params(d);
    const float w[8] = {1, -1, -1, 1, 2, 1, 1, 2}; /* 2 x 4, row-major: input j to unit k */
    for (int i = 0; i < 8; i++) p[i] = w[i];
    for (int k = 0; k < 4; k++) p[8 + k] = -4.0f; /* x W < 4 on [0, 1]^2 */
    for (int k = 0; k < 5; k++) p[12 + k] = 0.5f;
    float *g = gan_net_params(r->g); /* G's rows far from the data: its output bias */
    size_t ng = gan_net_num_params(r->g);
    g[ng - 2] = g[ng - 1] = 6.0f;
}

static void r1_leaves_a_flat_d_alone(void **state)
{
    (void)state;
    rig plain, r1, gp;
    make_flat_on_the_data(&plain);
    make_flat_on_the_data(&r1);
    make_flat_on_the_data(&gp);
    assert_int_equal(gan_trainer_set_gradient_penalty(r1.t, GAN_PENALTY_R1, 10.0f, 1), GAN_OK);
    assert_int_equal(gan_trainer_set_gradient_penalty(gp.t, GAN_PENALTY_WGAN_GP, 10.0f, 1), GAN_OK);
    gan_step_stats a, b, c;
    step(&plain, &a);
    step(&r1, &b);
    step(&gp, &c);
    assert_true(b.penalty == 0.0 && b.input_grad_norm == 0.0);
    size_t nd = gan_net_num_params(plain.d);
    assert_memory_equal(gan_net_params(plain.d), gan_net_params(r1.d), nd * sizeof(float));
    assert_true(c.penalty > 0.0 && c.input_grad_norm > 0.0);
    assert_memory_not_equal(gan_net_params(plain.d), gan_net_params(gp.d), nd * sizeof(float));
    rig_free(&plain);
    rig_free(&r1);
    rig_free(&gp);
}

/* Every interval-th step (from step 0), with the weight times the interval. */
static void lazy_interval(void **state)
{
    (void)state;
    rig every, lazy;
    rig_make(&every, 2);
    rig_make(&lazy, 2);
    assert_int_equal(gan_trainer_set_gradient_penalty(every.t, GAN_PENALTY_R1, 2.0f, 1), GAN_OK);
    assert_int_equal(gan_trainer_set_gradient_penalty(lazy.t, GAN_PENALTY_R1, 2.0f, 3), GAN_OK);
    gan_step_stats a, b;
    step(&every, &a);
    step(&lazy, &b);
    assert_true(a.penalty > 0.0);
    assert_true(fabs(b.penalty - 3.0 * a.penalty) <= 1e-12 * b.penalty);
    assert_true(b.input_grad_norm == a.input_grad_norm);
    for (int s = 2; s <= 7; s++) { /* steps 4 and 7 take it; the others add 0 */
        step(&lazy, &b);
        assert_true((s == 4 || s == 7) == (b.penalty > 0.0 && b.input_grad_norm > 0.0));
        assert_true((s == 4 || s == 7) || (b.penalty == 0.0 && b.input_grad_norm == 0.0));
    }
    rig_free(&every);
    rig_free(&lazy);
}

static void settings_refused(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 3);
    assert_int_equal(gan_trainer_set_gradient_penalty(NULL, GAN_PENALTY_R1, 1.0f, 1), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, (gan_penalty)3, 1.0f, 1), GAN_EINVAL);
    assert_non_null(strstr(gan_error_last(), "gan_trainer_set_gradient_penalty: unknown gradient penalty 3"));
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_R1, 0.0f, 1), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_WGAN_GP, NAN, 1), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_R1, 1.0f, 0), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_R1, 1.0f, 1000001), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_NONE, 0.0f, 1), GAN_OK);
    rig_free(&r);

    /* Batch norm in D: refused when set, and by a step of a trainer that has it (a load). */
    gan_net *g = mlp(3, 8, 2, GAN_ACT_RELU, 0), *d;
    gan_layer *l;
    gan_optim *og, *od;
    gan_trainer *t;
    assert_int_equal(gan_net_create(&d, 2), GAN_OK);
    add_from(d, gan_layer_dense(&l, 2, 4), &l, NEXT);
    add_from(d, gan_layer_batchnorm(&l, 4, 0.1f, 1e-5f), &l, NEXT);
    add_from(d, gan_layer_dense(&l, 4, 1), &l, NEXT);
    assert_int_equal(gan_optim_sgd(&og, 1e-2f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 1e-2f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_set_gradient_penalty(t, GAN_PENALTY_WGAN_GP, 10.0f, 1), GAN_EINVAL);
    assert_non_null(strstr(gan_error_last(), "D's batchnorm layer 1 makes a row's output depend on the rest of the "
                                             "batch, and a gradient penalty is taken per row"));
    free_gan(t, og, od, g, d);
}

/* The setting travels in checkpoints: a loaded trainer takes the same next steps. Without
 * a penalty the file has no entry for it; forged entries are test_serial's. */
static void settings_in_files(void **state)
{
    (void)state;
    rig a, b, c;
    rig_make(&a, 5);
    rig_make(&b, 6);
    rig_make(&c, 5);
    assert_int_equal(gan_trainer_set_gradient_penalty(a.t, GAN_PENALTY_WGAN_GP, 10.0f, 2), GAN_OK);
    gan_step_stats sa, sb;
    step(&a, &sa);
    size_t cap = 1 << 20, na, nc;
    uint8_t *buf = xcalloc(cap, 1), *plain = xcalloc(cap, 1);
    assert_int_equal(gan_trainer_save_mem(a.t, buf, cap, &na), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(b.t, buf, na), GAN_OK);
    step(&c, &sb); /* c: the same run without a penalty, one step */
    assert_int_equal(gan_trainer_save_mem(c.t, plain, cap, &nc), GAN_OK);
    assert_true(nc < na);
    for (int s = 0; s < 2; s++) { /* step 2 skips the penalty, step 3 takes it */
        step(&a, &sa);
        step(&b, &sb);
        assert_true(sa.loss_d == sb.loss_d && sa.loss_g == sb.loss_g);
        assert_true(sa.penalty == sb.penalty && sa.input_grad_norm == sb.input_grad_norm);
        assert_true((s == 1) == (sa.penalty > 0.0));
        assert_memory_equal(gan_net_params(a.d), gan_net_params(b.d), gan_net_num_params(a.d) * sizeof(float));
    }
    free(buf);
    free(plain);
    rig_free(&a);
    rig_free(&b);
    rig_free(&c);
}

/* A penalised step allocates nothing once warmed up, in every kind of step, and a step
 * that fails puts everything back. */
static void steps_allocate_nothing_and_fail_whole(void **state)
{
    (void)state;
    test_alloc_install();
    rig r;
    rig_make(&r, 7);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_WGAN_GP, 10.0f, 1), GAN_OK);
    const unsigned kinds[][2] = {{GAN_UPDATE_ALTERNATING, 1}, {GAN_UPDATE_ALTERNATING, 2}, {GAN_UPDATE_SIMULTANEOUS, 1}};
    gan_step_stats st;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(gan_trainer_set_update(r.t, (gan_update)kinds[k][0]), GAN_OK);
        assert_int_equal(gan_trainer_set_d_steps(r.t, kinds[k][1]), GAN_OK);
        step(&r, &st);
        size_t before = test_alloc.allocs;
        for (int s = 0; s < 3; s++) step(&r, &st);
        assert_int_equal(test_alloc.allocs, before);
        assert_true(st.penalty > 0.0);
    }
    /* The second D update's data fails: D, G, their optimizers' state and the streams are
     * as before (the next step is the one that would have run). */
    assert_int_equal(gan_trainer_set_update(r.t, GAN_UPDATE_ALTERNATING), GAN_OK);
    assert_int_equal(gan_trainer_set_d_steps(r.t, 2), GAN_OK);
    assert_failed_step_changes_nothing(r.t, &r.fail_on, 2, GAN_EUSER);
    rig_free(&r);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* Without clipping the Wasserstein critic's weights leave [-0.01, 0.01]. */
static void a_penalty_replaces_clipping(void **state)
{
    (void)state;
    rig clip, gp;
    rig_make(&clip, 8);
    rig_make(&gp, 8);
    rig *both[2] = {&clip, &gp};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gan_trainer_set_loss(both[i]->t, GAN_LOSS_WASSERSTEIN), GAN_OK);
        if (i) assert_int_equal(gan_trainer_set_gradient_penalty(both[i]->t, GAN_PENALTY_WGAN_GP, 10.0f, 1), GAN_OK);
        gan_step_stats st;
        step(both[i], &st);
        float top = 0;
        const float *p = gan_net_params(both[i]->d);
        for (size_t j = 0; j < gan_net_num_params(both[i]->d); j++) top = fmaxf(top, fabsf(p[j]));
        if (i) assert_true(top > 0.05f);
        else assert_true(top <= 0.01f);
    }
    rig_free(&clip);
    rig_free(&gp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_of_every_kind),
        cmocka_unit_test(replay_keeps_the_choices),
        cmocka_unit_test(r1_leaves_a_flat_d_alone),
        cmocka_unit_test(lazy_interval),
        cmocka_unit_test(settings_refused),
        cmocka_unit_test(settings_in_files),
        cmocka_unit_test(steps_allocate_nothing_and_fail_whole),
        cmocka_unit_test(a_penalty_replaces_clipping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
