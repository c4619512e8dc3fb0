/* Layer tests. The core is a finite-difference gradient check of every layer kind
 * against a naive double-precision reference written here (plain loops, no BLAS);
 * the rest pins down dense forward values, dropout statistics, maxout routing,
 * gradient accumulation and the initialisation schemes. */
#include "test_util.h"

#include <float.h>
#include <math.h>

#define FD_STEP 1e-4  /* central-difference step, taken on the double copy */
#define GRAD_TOL 1e-3 /* |library - numeric| <= GRAD_TOL * max(1, |numeric|) */
#define FWD_TOL 1e-4  /* library forward against the reference, same form */
#define KINK_EPS 1e-3 /* evaluation points stay this far from kinks and ties */
#define MAX_DRAWS 100 /* redraws allowed to find such a point */
#define MAX_LAYERS 8
#define DEFAULT_SLOPE (-1.0f) /* add_activation: use gan_layer_activation, not leaky_relu */

/* ------------------------------------------------------------------ helpers */

/* ------------------------------------------------------- reference interface */

/* A double-precision reference of a whole net: fills y (batch x out_dim) from the
 * parameters (laid out as gan_net_params()) and returns the distance to the
 * nearest kink or tie it passed (INFINITY if none), because a finite difference
 * straddling one says nothing about the derivative. */
typedef double (*ref_forward_fn)(void *ctx, const double *params, const double *x, size_t batch, double *y);
/* Optional: learn from the library's output what the reference cannot know
 * (dropout masks). Called once, after the library's forward. */
typedef void (*ref_prepare_fn)(void *ctx, const double *params, const double *x, size_t batch, const float *y);

typedef struct {
    ref_forward_fn forward;
    ref_prepare_fn prepare;
    void *ctx;
} reference;

/* Random parameters (biases too, so the forward exercises them) and inputs in
 * the net and in the double copies pd and xd, redrawn until the point is clear
 * of kinks. */
static void draw_point(gan_net *net, const reference *ref, gan_rng *rng, size_t batch, float *x,
                       double *pd, double *xd, double *yd)
{
    size_t np = gan_net_num_params(net), nx = batch * gan_net_in_dim(net);
    for (int draws = 0;; draws++) {
        if (draws == MAX_DRAWS) fail_msg("no draw clear of kinks in %d tries", MAX_DRAWS);
        fill(rng, gan_net_params(net), np, -0.5f, 0.5f);
        fill(rng, x, nx, -1.0f, 1.0f);
        to_double(gan_net_params(net), pd, np);
        to_double(x, xd, nx);
        if (ref->forward(ref->ctx, pd, xd, batch, yd) >= KINK_EPS) return;
    }
}

/* The point of a finite-difference check; one coordinate at a time is perturbed. */
typedef struct {
    const reference *ref;
    double *params, *x;
    const double *dy;
    double *y; /* scratch for the reference output */
    size_t batch, ny;
} fd_point;

/* L = sum(dy .* y) at the current point; *margin gets the reference's kink distance. */
static double fd_loss(const fd_point *pt, double *margin)
{
    *margin = pt->ref->forward(pt->ref->ctx, pt->params, pt->x, pt->batch, pt->y);
    return dot(pt->dy, pt->y, pt->ny);
}

/* Compare grad[i] with the central difference of L in var[i] (var is the point's
 * params or x). Returns the number of coordinates skipped because a step came
 * near a kink. */
static size_t fd_compare(const fd_point *pt, double *var, size_t n, const float *grad, const char *what)
{
    size_t skipped = 0;
    for (size_t i = 0; i < n; i++) {
        double saved = var[i], m_plus, m_minus;
        var[i] = saved + FD_STEP;
        double l_plus = fd_loss(pt, &m_plus);
        var[i] = saved - FD_STEP;
        double l_minus = fd_loss(pt, &m_minus);
        var[i] = saved;
        if (fmin(m_plus, m_minus) < KINK_EPS / 2) {
            skipped++;
            continue;
        }
        double numeric = (l_plus - l_minus) / (2 * FD_STEP);
        if (!close_to(grad[i], numeric, GRAD_TOL))
            fail_msg("dL/d%s[%zu]: library %.8g, finite difference %.8g", what, i, (double)grad[i], numeric);
    }
    return skipped;
}

/* The generic check: gradients of L = sum(dy .* y) from one library forward
 * (training mode) and backward, against central differences of the reference,
 * for every parameter and every input. The forward output is checked too. */
static void check_gradients(gan_net *net, const reference *ref, size_t batch, uint64_t seed)
{
    size_t np = gan_net_num_params(net), nx = batch * gan_net_in_dim(net), ny = batch * gan_net_out_dim(net);
    float *x = xcalloc(nx, sizeof *x), *dx = xcalloc(nx, sizeof *dx);
    float *y = xcalloc(ny, sizeof *y), *dy = xcalloc(ny, sizeof *dy);
    double *pd = xcalloc(np, sizeof *pd), *xd = xcalloc(nx, sizeof *xd);
    double *yd = xcalloc(ny, sizeof *yd), *dyd = xcalloc(ny, sizeof *dyd);
    gan_rng *rng = new_rng(seed);

    draw_point(net, ref, rng, batch, x, pd, xd, yd);
    fill(rng, dy, ny, -1.0f, 1.0f);
    to_double(dy, dyd, ny);

    assert_int_equal(gan_net_zero_grads(net), GAN_OK);
    assert_int_equal(gan_net_forward(net, x, batch, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(net, dy, dx), GAN_OK);
    if (ref->prepare) ref->prepare(ref->ctx, pd, xd, batch, y);

    ref->forward(ref->ctx, pd, xd, batch, yd);
    for (size_t i = 0; i < ny; i++) assert_close(y[i], yd[i], FWD_TOL, "forward y", i);

    fd_point pt = {ref, pd, xd, dyd, yd, batch, ny};
    size_t skipped = fd_compare(&pt, pd, np, gan_net_grads(net), "param") + fd_compare(&pt, xd, nx, dx, "x");
    /* A rare skip is fine; many would leave the check hollow. */
    if (skipped * 10 > np + nx) fail_msg("%zu of %zu coordinates skipped near kinks", skipped, np + nx);

    gan_rng_free(rng);
    free(x), free(dx), free(y), free(dy), free(pd), free(xd), free(yd), free(dyd);
}

/* ------------------------------------------------------------ reference nets */

/* One layer of the reference. Dense is maxout with one piece. */
typedef struct {
    int kind;        /* GAN_LAYER_* */
    size_t in, out;  /* out: units for maxout */
    size_t pieces;   /* affine layers only: 1 for dense */
    size_t offset;   /* first parameter in gan_net_params() */
    gan_activation act;
    double slope;    /* leaky ReLU */
    double keep;     /* dropout */
    size_t channels; /* batch norm */
    double eps;
    int sn;            /* spectral norm: u (width values), then v (in), from state value sn_at */
    size_t sn_at;
    const float *sn_u; /* the net's state there, set by check_model */
} ref_layer;

/* A gan_net built side by side with its reference description. */
typedef struct {
    gan_net *net;
    gan_rng *rng; /* lent to the net when it has dropout */
    ref_layer layer[MAX_LAYERS];
    size_t n;
    double *mask; /* the last layer's dropout mask, read back from the library; NULL until then */
} model;

/* Per unit, the max over its pieces of b + x W, piece p of unit u in column
 * u*pieces + p of the row-major in x width weights. The margin is the gap
 * between a unit's best two pieces. */
static double ref_affine(const ref_layer *l, const double *p, const double *x, size_t batch, double *y)
{
    size_t width = l->out * l->pieces;
    const double *w = p + l->offset, *b = w + l->in * width;
    double *normalised = NULL, margin = INFINITY;
    if (l->sn) {
        normalised = xcalloc(l->in * width, sizeof *normalised);
        sn_reference(normalised, w, l->in, width, l->sn_u, l->sn_u + width);
        w = normalised;
    }
    for (size_t r = 0; r < batch; r++) {
        for (size_t u = 0; u < l->out; u++) {
            double best = -INFINITY, second = -INFINITY;
            for (size_t k = 0; k < l->pieces; k++) {
                size_t col = u * l->pieces + k;
                double z = b[col];
                for (size_t i = 0; i < l->in; i++) z += x[r * l->in + i] * w[i * width + col];
                if (z > best) {
                    second = best;
                    best = z;
                } else if (z > second) {
                    second = z;
                }
            }
            y[r * l->out + u] = best;
            margin = fmin(margin, best - second); /* one piece: infinite */
        }
    }
    free(normalised);
    return margin;
}

static double ref_activation(const ref_layer *l, const double *x, size_t n, double *y)
{
    double margin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        switch (l->act) {
        case GAN_ACT_RELU:
            y[i] = v > 0 ? v : 0;
            margin = fmin(margin, fabs(v));
            break;
        case GAN_ACT_LEAKY_RELU:
            y[i] = v > 0 ? v : l->slope * v;
            margin = fmin(margin, fabs(v));
            break;
        case GAN_ACT_SIGMOID:
            y[i] = 1 / (1 + exp(-v));
            break;
        case GAN_ACT_TANH:
            y[i] = tanh(v);
            break;
        case GAN_ACT_IDENTITY:
            y[i] = v;
            break;
        }
    }
    return margin;
}

/* Batch norm with the batch's statistics (training mode): per channel j of rows of
 * positions x channels, y = gamma (x - mean) / sqrt(var + eps) + beta over every row and
 * position. Smooth: no kinks. */
static double ref_batchnorm(const ref_layer *l, const double *p, const double *x, size_t batch, double *y)
{
    size_t c = l->channels, n = batch * (l->in / c);
    const double *gamma = p + l->offset, *beta = gamma + c;
    for (size_t j = 0; j < c; j++) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < n; i++) mean += x[i * c + j];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) var += (x[i * c + j] - mean) * (x[i * c + j] - mean);
        var /= (double)n;
        for (size_t i = 0; i < n; i++) y[i * c + j] = gamma[j] * (x[i * c + j] - mean) / sqrt(var + l->eps) + beta[j];
    }
    return INFINITY;
}

/* A fixed mask of 0 or 1/keep; the identity until the mask is known. Either way
 * inputs must stay clear of 0, where the mask cannot be read off the output. */
static double ref_dropout(const double *mask, const double *x, size_t n, double *y)
{
    double margin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        y[i] = mask ? x[i] * mask[i] : x[i];
        margin = fmin(margin, fabs(x[i]));
    }
    return margin;
}

/* The reference forward of the model's first n_layers layers. */
static double model_run(const model *m, size_t n_layers, const double *p, const double *x, size_t batch, double *y)
{
    size_t width = gan_net_in_dim(m->net);
    for (size_t i = 0; i < n_layers; i++)
        if (m->layer[i].out > width) width = m->layer[i].out;
    double *buf[2] = {xcalloc(batch * width, sizeof(double)), xcalloc(batch * width, sizeof(double))};
    double margin = INFINITY;
    const double *in = x;
    if (n_layers == 0) memcpy(y, x, batch * gan_net_in_dim(m->net) * sizeof *y);
    for (size_t i = 0; i < n_layers; i++) {
        const ref_layer *l = &m->layer[i];
        double *out = i + 1 == n_layers ? y : buf[i & 1];
        double mi;
        if (l->kind == GAN_LAYER_BATCHNORM) mi = ref_batchnorm(l, p, in, batch, out);
        else if (l->kind == GAN_LAYER_RESHAPE) mi = ref_activation(&(ref_layer){.act = GAN_ACT_IDENTITY}, in, batch * l->in, out);
        else if (l->kind == GAN_LAYER_DROPOUT) mi = ref_dropout(m->mask, in, batch * l->in, out);
        else if (l->kind == GAN_LAYER_ACTIVATION) mi = ref_activation(l, in, batch * l->in, out);
        else mi = ref_affine(l, p, in, batch, out);
        margin = fmin(margin, mi);
        in = out;
    }
    free(buf[0]);
    free(buf[1]);
    return margin;
}

static double model_forward(void *ctx, const double *p, const double *x, size_t batch, double *y)
{
    const model *m = ctx;
    return model_run(m, m->n, p, x, batch, y);
}

/* Read the dropout mask back from the library's output: each output over the
 * reference's input to the dropout layer must be 0 or 1/keep. */
static void model_recover_mask(void *ctx, const double *p, const double *x, size_t batch, const float *y)
{
    model *m = ctx;
    for (size_t i = 0; i + 1 < m->n; i++)
        assert_int_not_equal(m->layer[i].kind, GAN_LAYER_DROPOUT); /* only the output is observable */
    const ref_layer *d = &m->layer[m->n - 1];
    if (d->kind != GAN_LAYER_DROPOUT) return;
    size_t n = batch * d->in, kept = 0;
    double *z = xcalloc(n, sizeof *z), scale = 1.0 / d->keep;
    model_run(m, m->n - 1, p, x, batch, z);
    free(m->mask);
    m->mask = xcalloc(n, sizeof *m->mask);
    for (size_t i = 0; i < n; i++) {
        double ratio = y[i] / z[i]; /* |z| >= KINK_EPS: draw_point saw to it */
        if (fabs(ratio) <= 1e-3) {
            m->mask[i] = 0.0;
        } else if (fabs(ratio - scale) <= 1e-3 * scale) {
            m->mask[i] = scale;
            kept++;
        } else {
            fail_msg("dropout output %zu is %g times its input: neither 0 nor 1/keep = %g", i, ratio, scale);
        }
    }
    /* Both outcomes must occur, or half the gradient paths go unchecked. */
    if (kept == 0 || kept == n) fail_msg("dropout kept %zu of %zu units", kept, n);
    free(z);
}

static void model_create(model *m, size_t in_dim)
{
    memset(m, 0, sizeof *m);
    assert_int_equal(gan_net_create(&m->net, in_dim), GAN_OK);
}

/* Add a layer to the net and its description to the reference. The parameter
 * offset comes from gan_net_layer_params; the count must match the documented
 * layout of in x width weights then width biases. */
static void model_push(model *m, gan_layer *layer, ref_layer r)
{
    assert_true(m->n < MAX_LAYERS);
    r.in = gan_net_out_dim(m->net);
    if (!r.pieces) r.out = r.in; /* elementwise: the width of what precedes */
    assert_int_equal(gan_net_add(m->net, layer), GAN_OK);
    size_t count;
    assert_int_equal(gan_net_layer_params(m->net, m->n, &r.offset, &count), GAN_OK);
    assert_int_equal(count, r.pieces ? (r.in + 1) * r.out * r.pieces : 2 * r.channels);
    assert_int_equal(gan_net_out_dim(m->net), r.out);
    m->layer[m->n++] = r;
}

static void add_dense(model *m, size_t out)
{
    gan_layer *l;
    assert_int_equal(gan_layer_dense(&l, gan_net_out_dim(m->net), out), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_DENSE, .out = out, .pieces = 1});
}

/* Dense or maxout with spectral norm; u and v are drawn by gan_net_init (check_model's
 * draw then replaces the parameters and keeps them). */
static void add_spectral(model *m, size_t units, size_t pieces)
{
    gan_layer *l;
    size_t in = gan_net_out_dim(m->net), state = gan_net_num_state(m->net);
    if (pieces == 1) assert_int_equal(gan_layer_dense(&l, in, units), GAN_OK);
    else assert_int_equal(gan_layer_maxout(&l, in, units, pieces), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 2), GAN_OK);
    model_push(m, l, (ref_layer){.kind = pieces == 1 ? GAN_LAYER_DENSE : GAN_LAYER_MAXOUT, .out = units,
                                 .pieces = pieces});
    assert_int_equal(gan_net_num_state(m->net), state + in + units * pieces);
    m->layer[m->n - 1].sn = 1;
    m->layer[m->n - 1].sn_at = state;
    gan_rng *rng = new_rng(77);
    assert_int_equal(gan_net_init(m->net, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    gan_rng_free(rng);
}

static void add_maxout(model *m, size_t units, size_t pieces)
{
    gan_layer *l;
    assert_int_equal(gan_layer_maxout(&l, gan_net_out_dim(m->net), units, pieces), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_MAXOUT, .out = units, .pieces = pieces});
}

/* slope >= 0: gan_layer_leaky_relu(slope). DEFAULT_SLOPE: gan_layer_activation,
 * whose leaky slope is documented as 0.2. */
static void add_activation(model *m, gan_activation act, float slope)
{
    gan_layer *l;
    if (slope >= 0.0f) {
        assert_int_equal(act, GAN_ACT_LEAKY_RELU);
        assert_int_equal(gan_layer_leaky_relu(&l, slope), GAN_OK);
    } else {
        assert_int_equal(gan_layer_activation(&l, act), GAN_OK);
        slope = 0.2f;
    }
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_ACTIVATION, .act = act, .slope = slope});
}

static void add_dropout(model *m, float keep)
{
    gan_layer *l;
    assert_int_equal(gan_layer_dropout(&l, keep), GAN_OK);
    if (!m->rng) {
        m->rng = new_rng(0xd0d0);
        assert_int_equal(gan_net_set_rng(m->net, m->rng), GAN_OK);
    }
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_DROPOUT, .keep = keep});
}

static void add_batchnorm(model *m, size_t channels)
{
    gan_layer *l;
    assert_int_equal(gan_layer_batchnorm(&l, channels, 0.1f, 1e-5f), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_BATCHNORM, .channels = channels, .eps = 1e-5});
}

/* A reshape is the identity on the values: the reference copies them. */
static void add_reshape(model *m, size_t c, size_t h, size_t w)
{
    gan_layer *l;
    assert_int_equal(gan_layer_reshape(&l, c, h, w), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_RESHAPE});
    size_t oc, oh, ow;
    assert_int_equal(gan_net_out_shape(m->net, &oc, &oh, &ow), GAN_OK);
    assert_true(oc == c && oh == h && ow == w);
}

static void model_free(model *m)
{
    gan_net_free(m->net);
    gan_rng_free(m->rng);
    free(m->mask);
    memset(m, 0, sizeof *m);
}

static void check_model(model *m, size_t batch, uint64_t seed)
{
    for (size_t i = 0; i < m->n; i++) m->layer[i].sn_u = gan_net_state(m->net) + m->layer[i].sn_at;
    reference ref = {model_forward, model_recover_mask, m};
    check_gradients(m->net, &ref, batch, seed);
    model_free(m);
}

/* ---------------------------------------------------- per-layer gradient checks */

static void test_grad_dense(void **state)
{
    (void)state;
    model m;
    model_create(&m, 5);
    add_dense(&m, 4);
    check_model(&m, 3, 101);
}

/* Spectral norm: the gradient goes through W / sigma(W) with u and v held, on dense and
 * maxout, alone and under a tanh. */
static void test_grad_spectral_norm(void **state)
{
    (void)state;
    model m;
    model_create(&m, 5);
    add_spectral(&m, 4, 1);
    check_model(&m, 3, 111);
    model_create(&m, 6);
    add_spectral(&m, 3, 2);
    add_activation(&m, GAN_ACT_TANH, DEFAULT_SLOPE);
    add_spectral(&m, 2, 1);
    check_model(&m, 4, 112);
}

static void test_grad_maxout(void **state)
{
    (void)state;
    model m;
    model_create(&m, 5);
    add_maxout(&m, 3, 4);
    check_model(&m, 4, 102);
}

/* Each activation alone (input gradient only) and behind a dense layer
 * (parameter gradients flow through it). */
static void check_activation(gan_activation act, float slope)
{
    model m;
    model_create(&m, 7);
    add_activation(&m, act, slope);
    check_model(&m, 4, 201);

    model_create(&m, 4);
    add_dense(&m, 6);
    add_activation(&m, act, slope);
    check_model(&m, 3, 202);
}

static void test_grad_relu(void **state) { (void)state; check_activation(GAN_ACT_RELU, DEFAULT_SLOPE); }
static void test_grad_leaky_relu(void **state) { (void)state; check_activation(GAN_ACT_LEAKY_RELU, 0.1f); }
static void test_grad_leaky_default(void **state) { (void)state; check_activation(GAN_ACT_LEAKY_RELU, DEFAULT_SLOPE); }
static void test_grad_sigmoid(void **state) { (void)state; check_activation(GAN_ACT_SIGMOID, DEFAULT_SLOPE); }
static void test_grad_tanh(void **state) { (void)state; check_activation(GAN_ACT_TANH, DEFAULT_SLOPE); }
static void test_grad_identity(void **state) { (void)state; check_activation(GAN_ACT_IDENTITY, DEFAULT_SLOPE); }

static void test_grad_dropout(void **state)
{
    (void)state;
    model m;
    model_create(&m, 8);
    add_dropout(&m, 0.5f);
    check_model(&m, 4, 301);

    model_create(&m, 5);
    add_dense(&m, 8);
    add_dropout(&m, 0.5f);
    check_model(&m, 4, 302);
}

/* Reshape alone (input gradient only), and between layers with parameters: a dense
 * layer's output seen as an image, read back flat by the next one. */
static void test_grad_reshape(void **state)
{
    (void)state;
    model m;
    model_create(&m, 6);
    add_reshape(&m, 3, 2, 1);
    check_model(&m, 4, 401);

    model_create(&m, 5);
    add_dense(&m, 8);
    add_reshape(&m, 2, 2, 2);
    add_activation(&m, GAN_ACT_LEAKY_RELU, 0.1f);
    add_reshape(&m, 8, 1, 1);
    add_dense(&m, 3);
    check_model(&m, 3, 402);
}

/* Batch norm in training mode, where every row's gradient depends on the whole batch:
 * on a vector (per feature), behind a dense layer, and on an image (per
 * channel over rows and positions) between layers with parameters. */
static void test_grad_batchnorm(void **state)
{
    (void)state;
    model m;
    model_create(&m, 6);
    add_batchnorm(&m, 6);
    check_model(&m, 5, 501);

    model_create(&m, 4);
    add_dense(&m, 6);
    add_batchnorm(&m, 6);
    add_activation(&m, GAN_ACT_TANH, DEFAULT_SLOPE);
    check_model(&m, 4, 502);

    model_create(&m, 5);
    add_dense(&m, 12);
    add_reshape(&m, 3, 2, 2);
    add_batchnorm(&m, 3);
    add_activation(&m, GAN_ACT_LEAKY_RELU, 0.2f);
    add_dense(&m, 2);
    check_model(&m, 3, 503);
}

/* A dense layer without biases computes x W: the same as one with zero biases, with the
 * same weight gradients and no bias parameters; it says so in files; the option is only
 * for kinds with biases and only before the layer is in a net. */
static void test_bias_optional(void **state)
{
    (void)state;
    gan_net *with, *without, *loaded;
    gan_layer *l;
    gan_rng *r = new_rng(77);
    assert_error(gan_layer_set_bias(NULL, 0), GAN_EINVAL, "'layer' is NULL");
    assert_int_equal(gan_layer_activation(&l, GAN_ACT_RELU), GAN_OK);
    assert_error(gan_layer_set_bias(l, 0), GAN_EINVAL, "activation layers have no bias");
    gan_layer_free(l);
    assert_int_equal(gan_net_create(&with, 5), GAN_OK);
    assert_int_equal(gan_net_create(&without, 5), GAN_OK);
    add(with, gan_layer_dense(&l, 5, 3), &l);
    assert_error(gan_layer_set_bias(l, 0), GAN_ESTATE, "in a net already");
    assert_int_equal(gan_layer_dense(&l, 5, 3), GAN_OK);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_layer_num_params(l), 15);
    assert_int_equal(gan_layer_set_bias(l, 1), GAN_OK); /* and back */
    assert_int_equal(gan_layer_num_params(l), 18);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_net_add(without, l), GAN_OK);
    assert_int_equal(gan_net_num_params(without), 15);
    assert_int_equal(gan_net_init(with, r, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    memcpy(gan_net_params(without), gan_net_params(with), 15 * sizeof(float)); /* biases of `with` are 0 */
    float x[4 * 5], y1[4 * 3], y2[4 * 3], dy[4 * 3], dx1[4 * 5], dx2[4 * 5];
    fill(r, x, 20, -1.0f, 1.0f);
    fill(r, dy, 12, -1.0f, 1.0f);
    assert_int_equal(gan_net_forward(with, x, 4, y1, 1), GAN_OK);
    assert_int_equal(gan_net_forward(without, x, 4, y2, 1), GAN_OK);
    assert_memory_equal(y1, y2, sizeof y1);
    assert_int_equal(gan_net_zero_grads(with), GAN_OK);
    assert_int_equal(gan_net_zero_grads(without), GAN_OK);
    assert_int_equal(gan_net_backward(with, dy, dx1), GAN_OK);
    assert_int_equal(gan_net_backward(without, dy, dx2), GAN_OK);
    assert_memory_equal(dx1, dx2, sizeof dx1);
    assert_memory_equal(gan_net_grads(with), gan_net_grads(without), 15 * sizeof(float));
    size_t size;
    assert_int_equal(gan_net_save_mem(without, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size);
    assert_int_equal(gan_net_save_mem(without, buf, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&loaded, buf, size), GAN_OK);
    assert_int_equal(gan_net_num_params(loaded), 15);
    assert_int_equal(gan_net_forward(loaded, x, 4, y2, 0), GAN_OK);
    assert_memory_equal(y1, y2, sizeof y1);
    free(buf);
    gan_net_free(loaded);
    gan_net_free(with);
    gan_net_free(without);
    gan_rng_free(r);
}

/* ------------------------------------------------------ whole-net gradient checks */

static void build_stack(model *m, gan_activation out_act)
{
    model_create(m, 6);
    add_dense(m, 8);
    add_activation(m, GAN_ACT_LEAKY_RELU, 0.1f);
    add_maxout(m, 4, 3);
    add_dense(m, 2);
    add_activation(m, out_act, DEFAULT_SLOPE);
}

static void test_grad_net_sigmoid(void **state)
{
    (void)state;
    model m;
    build_stack(&m, GAN_ACT_SIGMOID);
    check_model(&m, 4, 401);
}

static void test_grad_net_tanh(void **state)
{
    (void)state;
    model m;
    build_stack(&m, GAN_ACT_TANH);
    check_model(&m, 4, 402);
}

/* ------------------------------------------------------------- accumulation */

/* Parameter gradients are added (so a second backward doubles them), while dx is
 * overwritten: garbage left in it must not show through. */
static void test_backward_accumulates(void **state)
{
    (void)state;
    enum { BATCH = 5 };
    model m;
    model_create(&m, 6);
    add_dense(&m, 8);
    add_activation(&m, GAN_ACT_LEAKY_RELU, 0.1f);
    add_dropout(&m, 0.5f); /* its mask must be reused by both backward calls */
    add_maxout(&m, 4, 3);
    add_dense(&m, 2);
    add_activation(&m, GAN_ACT_SIGMOID, DEFAULT_SLOPE);

    size_t np = gan_net_num_params(m.net), nx = BATCH * 6, ny = BATCH * 2;
    float *x = xcalloc(nx, sizeof *x), *dx1 = xcalloc(nx, sizeof *dx1), *dx2 = xcalloc(nx, sizeof *dx2);
    float *y = xcalloc(ny, sizeof *y), *dy = xcalloc(ny, sizeof *dy), *g1 = xcalloc(np, sizeof *g1);
    gan_rng *rng = new_rng(501);
    fill(rng, gan_net_params(m.net), np, -0.5f, 0.5f);
    fill(rng, x, nx, -1.0f, 1.0f);
    fill(rng, dy, ny, -1.0f, 1.0f);

    assert_int_equal(gan_net_zero_grads(m.net), GAN_OK);
    assert_int_equal(gan_net_forward(m.net, x, BATCH, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(m.net, dy, dx1), GAN_OK);
    memcpy(g1, gan_net_grads(m.net), np * sizeof *g1);
    double g1_norm = 0.0;
    for (size_t i = 0; i < np; i++) g1_norm += fabs(g1[i]);
    assert_true(g1_norm > 1e-2); /* otherwise doubling proves nothing */

    for (size_t i = 0; i < nx; i++) dx2[i] = 123.0f;
    assert_int_equal(gan_net_backward(m.net, dy, dx2), GAN_OK);
    const float *g = gan_net_grads(m.net);
    for (size_t i = 0; i < np; i++) assert_close(g[i], 2.0 * g1[i], 1e-5, "doubled grad", i);
    for (size_t i = 0; i < nx; i++) assert_close(dx2[i], dx1[i], 1e-6, "second dx", i);

    /* Zeroing restarts the sum. */
    assert_int_equal(gan_net_zero_grads(m.net), GAN_OK);
    assert_int_equal(gan_net_backward(m.net, dy, NULL), GAN_OK);
    for (size_t i = 0; i < np; i++) assert_close(g[i], g1[i], 1e-6, "grad after zeroing", i);

    gan_rng_free(rng);
    free(x), free(dx1), free(dx2), free(y), free(dy), free(g1);
    model_free(&m);
}

/* ------------------------------------------------------------ dense forward */

/* Against a naive triple loop. The bound scales with the sum of |terms|, as
 * float accumulation error does. */
static void check_dense_forward(size_t batch, size_t in, size_t out, uint64_t seed)
{
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create(&net, in), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, in, out), GAN_OK);
    assert_int_equal(gan_net_add(net, l), GAN_OK);
    float *x = xcalloc(batch * in, sizeof *x), *y = xcalloc(batch * out, sizeof *y);
    gan_rng *rng = new_rng(seed);
    fill(rng, gan_net_params(net), gan_net_num_params(net), -0.5f, 0.5f);
    fill(rng, x, batch * in, -1.0f, 1.0f);

    assert_int_equal(gan_net_forward(net, x, batch, y, 0), GAN_OK);
    const float *w = gan_net_params(net), *b = w + in * out;
    for (size_t r = 0; r < batch; r++) {
        for (size_t j = 0; j < out; j++) {
            double acc = b[j], mag = fabs(b[j]);
            for (size_t k = 0; k < in; k++) {
                double t = (double)x[r * in + k] * w[k * out + j];
                acc += t;
                mag += fabs(t);
            }
            double got = y[r * out + j];
            if (fabs(got - acc) > FWD_TOL * mag)
                fail_msg("y[%zu][%zu] of a %zu x %zu -> %zu dense: got %.9g, expected %.9g", r, j, batch, in,
                         out, got, acc);
        }
    }
    gan_rng_free(rng);
    free(x), free(y);
    gan_net_free(net);
}

static void test_dense_forward(void **state)
{
    (void)state;
    check_dense_forward(17, 33, 29, 601);
    check_dense_forward(100, 784, 240, 602);
}

/* ------------------------------------------------------------------ dropout */

static gan_net *dropout_net(size_t width, float keep)
{
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create(&net, width), GAN_OK);
    assert_int_equal(gan_layer_dropout(&l, keep), GAN_OK);
    assert_int_equal(gan_net_add(net, l), GAN_OK);
    return net;
}

static void test_dropout_rate_and_scale(void **state)
{
    (void)state;
    enum { BATCH = 100, WIDTH = 1000, N = BATCH * WIDTH };
    gan_net *net = dropout_net(WIDTH, 0.8f);
    gan_rng *rng = new_rng(701);
    assert_int_equal(gan_net_set_rng(net, rng), GAN_OK);
    float *x = xcalloc(N, sizeof *x), *y = xcalloc(N, sizeof *y);
    for (size_t i = 0; i < N; i++) x[i] = 1.0f;

    assert_int_equal(gan_net_forward(net, x, BATCH, y, 1), GAN_OK);
    const float scale = 1.0f / 0.8f;
    size_t kept = 0;
    double sum = 0.0;
    for (size_t i = 0; i < N; i++) {
        sum += y[i];
        if (y[i] == 0.0f) continue;
        kept++;
        if (fabsf(y[i] - scale) > FLT_EPSILON * scale) fail_msg("kept output %zu is %.9g, not 1/0.8", i, (double)y[i]);
    }
    /* Binomial std of the fraction is 0.0013: 0.01 is a wide, deterministic margin. */
    double frac = (double)kept / N, mean = sum / N;
    if (fabs(frac - 0.8) > 0.01) fail_msg("kept fraction %.4f, expected 0.8", frac);
    if (fabs(mean - 1.0) > 0.01) fail_msg("mean output %.4f, expected 1 (inverted dropout)", mean);

    gan_rng_free(rng);
    free(x), free(y);
    gan_net_free(net);
}

/* Evaluation mode and keep 1 pass values and gradients through untouched. */
static void test_dropout_identity(void **state)
{
    (void)state;
    enum { BATCH = 7, WIDTH = 13, N = BATCH * WIDTH };
    float x[N], y[N], dy[N], dx[N];
    gan_rng *rng = new_rng(702);
    fill(rng, x, N, -1.0f, 1.0f);
    fill(rng, dy, N, -1.0f, 1.0f);

    gan_net *net = dropout_net(WIDTH, 0.5f);
    assert_int_equal(gan_net_set_rng(net, rng), GAN_OK);
    assert_int_equal(gan_net_forward(net, x, BATCH, y, 0), GAN_OK);
    assert_memory_equal(y, x, sizeof x);
    assert_int_equal(gan_net_backward(net, dy, dx), GAN_OK);
    assert_memory_equal(dx, dy, sizeof dy);
    gan_net_free(net);

    /* keep 1 never draws, so training mode needs no rng. */
    net = dropout_net(WIDTH, 1.0f);
    assert_int_equal(gan_net_forward(net, x, BATCH, y, 1), GAN_OK);
    assert_memory_equal(y, x, sizeof x);
    assert_int_equal(gan_net_backward(net, dy, dx), GAN_OK);
    assert_memory_equal(dx, dy, sizeof dy);
    gan_net_free(net);
    gan_rng_free(rng);
}

static void test_dropout_needs_rng(void **state)
{
    (void)state;
    float x[2 * 10] = {0}, y[2 * 10];
    gan_net *net = dropout_net(10, 0.5f);
    assert_error(gan_net_forward(net, x, 2, y, 1), GAN_ESTATE, "rng");
    /* Evaluation mode draws nothing, so it works without one. */
    assert_int_equal(gan_net_forward(net, x, 2, y, 0), GAN_OK);
    gan_rng *rng = new_rng(703);
    assert_int_equal(gan_net_set_rng(net, rng), GAN_OK);
    assert_int_equal(gan_net_forward(net, x, 2, y, 1), GAN_OK);
    gan_net_free(net);
    gan_rng_free(rng);
}

/* ------------------------------------------------------------------- maxout */

/* Batch of 1: each unit outputs its best piece, and backward feeds only the
 * winning piece's weight column and bias; the losers' stay exactly zero. */
static void test_maxout_routes_to_winner(void **state)
{
    (void)state;
    enum { IN = 5, UNITS = 3, PIECES = 4, WIDTH = UNITS * PIECES };
    model m;
    model_create(&m, IN);
    add_maxout(&m, UNITS, PIECES);
    reference ref = {model_forward, NULL, &m};
    gan_rng *rng = new_rng(801);
    float x[IN], y[UNITS], dy[UNITS], dx[IN];
    double pd[(IN + 1) * WIDTH], xd[IN], yd[UNITS];
    draw_point(m.net, &ref, rng, 1, x, pd, xd, yd); /* no near-ties */
    fill(rng, dy, UNITS, 0.5f, 1.0f);               /* nonzero: winners get visible gradients */

    assert_int_equal(gan_net_zero_grads(m.net), GAN_OK);
    assert_int_equal(gan_net_forward(m.net, x, 1, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(m.net, dy, dx), GAN_OK);

    const float *w = gan_net_params(m.net), *dw = gan_net_grads(m.net), *db = dw + IN * WIDTH;
    size_t win[UNITS];
    for (size_t u = 0; u < UNITS; u++) {
        double best = -INFINITY;
        for (size_t p = 0; p < PIECES; p++) {
            size_t col = u * PIECES + p;
            double z = pd[IN * WIDTH + col];
            for (size_t i = 0; i < IN; i++) z += xd[i] * pd[i * WIDTH + col];
            if (z > best) {
                best = z;
                win[u] = p;
            }
        }
        assert_close(y[u], best, FWD_TOL, "maxout y", u);
        for (size_t p = 0; p < PIECES; p++) {
            size_t col = u * PIECES + p;
            if (p != win[u]) {
                for (size_t i = 0; i < IN; i++)
                    if (dw[i * WIDTH + col] != 0.0f)
                        fail_msg("unit %zu: losing piece %zu has weight grad %g", u, p, (double)dw[i * WIDTH + col]);
                if (db[col] != 0.0f) fail_msg("unit %zu: losing piece %zu has bias grad %g", u, p, (double)db[col]);
                continue;
            }
            for (size_t i = 0; i < IN; i++) assert_close(dw[i * WIDTH + col], (double)x[i] * dy[u], 1e-6, "winner dw", i);
            assert_close(db[col], dy[u], 1e-6, "winner db", u);
        }
    }
    /* The input gradient comes back through the winning columns only. */
    for (size_t i = 0; i < IN; i++) {
        double e = 0.0;
        for (size_t u = 0; u < UNITS; u++) e += (double)w[i * WIDTH + u * PIECES + win[u]] * dy[u];
        assert_close(dx[i], e, 1e-5, "maxout dx", i);
    }
    gan_rng_free(rng);
    model_free(&m);
}

/* --------------------------------------------------------------------- init */

/* dense(in -> out), then maxout(out -> units x pieces) if units > 0, initialised
 * from `seed`. The buffer is poisoned first so that zero biases are init's work. */
static gan_net *init_net(size_t in, size_t out, size_t units, size_t pieces, uint64_t seed, gan_init scheme,
                         float scale)
{
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create(&net, in), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, in, out), GAN_OK);
    assert_int_equal(gan_net_add(net, l), GAN_OK);
    if (units) {
        assert_int_equal(gan_layer_maxout(&l, out, units, pieces), GAN_OK);
        assert_int_equal(gan_net_add(net, l), GAN_OK);
    }
    float *p = gan_net_params(net);
    for (size_t i = 0; i < gan_net_num_params(net); i++) p[i] = 7.0f;
    gan_rng *rng = new_rng(seed);
    assert_int_equal(gan_net_init(net, rng, scheme, scale), GAN_OK);
    gan_rng_free(rng);
    return net;
}

/* Layer `index`'s weights and biases, split by the documented layout. */
typedef struct {
    const float *w, *b;
    size_t n_w, n_b;
} affine_view;

static affine_view layer_view(gan_net *net, size_t index)
{
    size_t off, count, in = gan_layer_in_dim(gan_net_layer(net, index));
    assert_int_equal(gan_net_layer_params(net, index, &off, &count), GAN_OK);
    size_t width = count / (in + 1);
    const float *p = gan_net_params(net) + off;
    return (affine_view){p, p + in * width, in * width, width};
}

static void check_zero_biases(affine_view v)
{
    for (size_t j = 0; j < v.n_b; j++)
        if (v.b[j] != 0.0f) fail_msg("bias %zu is %g after init", j, (double)v.b[j]);
}

/* Weights within +-bound (up to float rounding of the bound) and reaching close
 * to both ends, so the range is neither narrower nor one-sided; biases zero. */
static void check_uniform_layer(gan_net *net, size_t index, double bound)
{
    affine_view v = layer_view(net, index);
    double lo = 0.0, hi = 0.0;
    for (size_t i = 0; i < v.n_w; i++) {
        if (fabs(v.w[i]) > bound * (1 + 1e-6))
            fail_msg("layer %zu weight %zu is %g, outside +-%g", index, i, (double)v.w[i], bound);
        lo = fmin(lo, v.w[i]);
        hi = fmax(hi, v.w[i]);
    }
    if (lo > -0.9 * bound || hi < 0.9 * bound)
        fail_msg("layer %zu: weights span [%g, %g] of a +-%g range", index, lo, hi, bound);
    check_zero_biases(v);
}

static void test_init_uniform(void **state)
{
    (void)state;
    gan_net *net = init_net(20, 30, 5, 3, 901, GAN_INIT_UNIFORM, 0.3f);
    check_uniform_layer(net, 0, 0.3);
    check_uniform_layer(net, 1, 0.3);
    gan_net_free(net);
}

static void test_init_xavier(void **state)
{
    (void)state;
    gan_net *net = init_net(20, 30, 0, 0, 902, GAN_INIT_XAVIER, 1.5f);
    check_uniform_layer(net, 0, 1.5 * sqrt(6.0 / (20 + 30)));
    gan_net_free(net);
    net = init_net(300, 100, 0, 0, 903, GAN_INIT_XAVIER, 1.0f);
    check_uniform_layer(net, 0, sqrt(6.0 / (300 + 100)));
    gan_net_free(net);
}

static void test_init_he(void **state)
{
    (void)state;
    const float scales[] = {1.0f, 0.5f};
    for (size_t s = 0; s < sizeof scales / sizeof *scales; s++) {
        gan_net *net = init_net(500, 400, 0, 0, 904 + s, GAN_INIT_HE, scales[s]);
        affine_view v = layer_view(net, 0);
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < v.n_w; i++) {
            sum += v.w[i];
            sq += (double)v.w[i] * v.w[i];
        }
        double n = (double)v.n_w, mean = sum / n, sd = sqrt(sq / n - mean * mean);
        double want = scales[s] * sqrt(2.0 / 500);
        if (fabs(sd - want) > 0.1 * want) fail_msg("He std %g, expected %g", sd, want);
        if (fabs(mean) > 0.05 * want) fail_msg("He mean %g, expected about 0", mean);
        check_zero_biases(v);
        gan_net_free(net);
    }
}

static void test_init_reproducible(void **state)
{
    (void)state;
    const gan_init schemes[] = {GAN_INIT_UNIFORM, GAN_INIT_XAVIER, GAN_INIT_HE};
    for (size_t s = 0; s < sizeof schemes / sizeof *schemes; s++) {
        gan_net *a = init_net(20, 30, 5, 3, 42, schemes[s], 1.0f);
        gan_net *b = init_net(20, 30, 5, 3, 42, schemes[s], 1.0f);
        gan_net *c = init_net(20, 30, 5, 3, 43, schemes[s], 1.0f);
        size_t bytes = gan_net_num_params(a) * sizeof(float);
        assert_memory_equal(gan_net_params(a), gan_net_params(b), bytes);
        assert_memory_not_equal(gan_net_params(a), gan_net_params(c), bytes);
        gan_net_free(a);
        gan_net_free(b);
        gan_net_free(c);
    }
}

/* ------------------------------------------------------------------- runner */

/* Every test runs under the counting allocator and must free what it allocates. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_grad_dense),
        TEST(test_grad_maxout),
        TEST(test_grad_spectral_norm),
        TEST(test_grad_relu),
        TEST(test_grad_leaky_relu),
        TEST(test_grad_leaky_default),
        TEST(test_grad_sigmoid),
        TEST(test_grad_tanh),
        TEST(test_grad_identity),
        TEST(test_grad_dropout),
        TEST(test_grad_reshape),
        TEST(test_bias_optional),
        TEST(test_grad_batchnorm),
        TEST(test_grad_net_sigmoid),
        TEST(test_grad_net_tanh),
        TEST(test_backward_accumulates),
        TEST(test_dense_forward),
        TEST(test_dropout_rate_and_scale),
        TEST(test_dropout_identity),
        TEST(test_dropout_needs_rng),
        TEST(test_maxout_routes_to_winner),
        TEST(test_init_uniform),
        TEST(test_init_xavier),
        TEST(test_init_he),
        TEST(test_init_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
