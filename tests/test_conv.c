/* Convolution layers (conv2d, conv2d_transpose). The core is a naive double-precision
 * reference of both kinds written here (the seven loops of the definition, no im2col, no
 * BLAS): forward values against it in many geometries, finite-difference gradient checks
 * alone and in stacks, and, where the batch takes several chunks, exact directional
 * derivatives (the layers are bilinear in input and parameters). Then the adjoint
 * identity between the two kinds, output sizes, what backward does with the parameter
 * gradients (GAN__GRADS_*, through the internal gan__net_backward_ex as the trainer calls
 * it), refusals, allocation failures, files and steady state.
 *
 * Linked with the static library, so the internal backward modes, decoders and
 * descriptions are reachable. */
#include "test_util.h"
#include "layer_impl.h"
#include "net_impl.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#define FD_STEP 1e-4  /* central-difference step, taken on the double copy */
#define GRAD_TOL 1e-3 /* |library - numeric| <= GRAD_TOL * max(1, |numeric|) */
#define FWD_TOL 1e-4  /* library forward against the reference, relative to the sum of |terms| */
#define DIR_TOL 1e-4  /* directional derivatives, relative to the sum of |terms| */
#define MAX_LAYERS 8

/* ------------------------------------------------------------------ helpers */

static double dot_f(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void abs_all(double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = fabs(v[i]);
}

/* ------------------------------------------------------------- the reference */

/* One layer of the reference: its input and output shapes and, for the convolutions,
 * the geometry. Only what these tests build: dense, reshape, tanh, conv2d,
 * conv2d_transpose. */
typedef struct {
    int kind;           /* GAN_LAYER_*; GAN_LAYER_ACTIVATION is tanh */
    size_t c, h, w;     /* input shape */
    size_t oc, oh, ow;  /* output shape */
    size_t k, s, p, op; /* kernel, stride, padding, output padding */
    int bias;
    size_t offset;      /* first parameter in gan_net_params() */
    int sn;             /* spectral norm, with the net's u and v from state value sn_at */
    size_t sn_at;
    const float *sn_u;  /* the net's state there, set by check_model */
} ref_layer;

static size_t in_size(const ref_layer *l) { return l->c * l->h * l->w; }
static size_t out_size(const ref_layer *l) { return l->oc * l->oh * l->ow; }

static size_t ref_weights(const ref_layer *l)
{
    if (l->kind == GAN_LAYER_DENSE) return in_size(l) * out_size(l);
    if (l->kind == GAN_LAYER_CONV2D || l->kind == GAN_LAYER_CONV2D_TRANSPOSE) return l->k * l->k * l->c * l->oc;
    return 0;
}

/* The documented parameter count: weights, then one bias per output (channel). */
static size_t ref_params(const ref_layer *l)
{
    size_t biases = l->kind == GAN_LAYER_DENSE ? out_size(l) : l->oc;
    return ref_weights(l) ? ref_weights(l) + (l->bias ? biases : 0) : 0;
}

/* y = x W (+ b), W row-major in x out. */
static void ref_dense(const ref_layer *l, const double *par, const double *x, size_t batch, double *y)
{
    size_t in = in_size(l), out = out_size(l);
    const double *w = par + l->offset, *b = w + in * out;
    for (size_t r = 0; r < batch; r++)
        for (size_t j = 0; j < out; j++) {
            double acc = l->bias ? b[j] : 0.0;
            for (size_t i = 0; i < in; i++) acc += x[r * in + i] * w[i * out + j];
            y[r * out + j] = acc;
        }
}

/* The definition, seven loops: y[b][oy][ox][co] = bias[co] + sum over ky, kx, ci inside
 * the image of x[b][oy*s - p + ky][ox*s - p + kx][ci] * W[(ky*k + kx)*c + ci][co]. */
static void ref_conv(const ref_layer *l, const double *par, const double *x, size_t batch, double *y)
{
    const double *w = par + l->offset, *bias = w + ref_weights(l);
    for (size_t b = 0; b < batch; b++)
        for (size_t oy = 0; oy < l->oh; oy++)
            for (size_t ox = 0; ox < l->ow; ox++)
                for (size_t co = 0; co < l->oc; co++) {
                    double acc = l->bias ? bias[co] : 0.0;
                    for (size_t ky = 0; ky < l->k; ky++) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * l->s + ky) - (ptrdiff_t)l->p;
                        if (iy < 0 || iy >= (ptrdiff_t)l->h) continue;
                        for (size_t kx = 0; kx < l->k; kx++) {
                            ptrdiff_t ix = (ptrdiff_t)(ox * l->s + kx) - (ptrdiff_t)l->p;
                            if (ix < 0 || ix >= (ptrdiff_t)l->w) continue;
                            const double *xp = x + ((b * l->h + (size_t)iy) * l->w + (size_t)ix) * l->c;
                            const double *wp = w + (ky * l->k + kx) * l->c * l->oc + co;
                            for (size_t ci = 0; ci < l->c; ci++) acc += xp[ci] * wp[ci * l->oc];
                        }
                    }
                    y[((b * l->oh + oy) * l->ow + ox) * l->oc + co] = acc;
                }
}

/* PyTorch's ConvTranspose2d by its definition, seven loops scattering every input value:
 * y[b][iy*s - p + ky][ix*s - p + kx][co] += x[b][iy][ix][ci] * W[ci][(ky*k + kx)*oc + co]
 * where that lies inside the output, then + bias[co]. */
static void ref_conv_t(const ref_layer *l, const double *par, const double *x, size_t batch, double *y)
{
    const double *w = par + l->offset, *bias = w + ref_weights(l);
    for (size_t i = 0; i < batch * out_size(l); i++) y[i] = l->bias ? bias[i % l->oc] : 0.0;
    for (size_t b = 0; b < batch; b++)
        for (size_t iy = 0; iy < l->h; iy++)
            for (size_t ix = 0; ix < l->w; ix++)
                for (size_t ci = 0; ci < l->c; ci++) {
                    double xv = x[((b * l->h + iy) * l->w + ix) * l->c + ci];
                    for (size_t ky = 0; ky < l->k; ky++) {
                        ptrdiff_t oy = (ptrdiff_t)(iy * l->s + ky) - (ptrdiff_t)l->p;
                        if (oy < 0 || oy >= (ptrdiff_t)l->oh) continue;
                        for (size_t kx = 0; kx < l->k; kx++) {
                            ptrdiff_t ox = (ptrdiff_t)(ix * l->s + kx) - (ptrdiff_t)l->p;
                            if (ox < 0 || ox >= (ptrdiff_t)l->ow) continue;
                            double *yp = y + ((b * l->oh + (size_t)oy) * l->ow + (size_t)ox) * l->oc;
                            const double *wp = w + ci * l->k * l->k * l->oc + (ky * l->k + kx) * l->oc;
                            for (size_t co = 0; co < l->oc; co++) yp[co] += xv * wp[co];
                        }
                    }
                }
}

static void ref_layer_forward(const ref_layer *l, const double *par, const double *x, size_t batch, double *y);

/* The layer on its parameters with the weights over sigma (the library's u and v held). */
static void ref_spectral(const ref_layer *l, const double *par, const double *x, size_t batch, double *y)
{
    ref_layer plain = *l;
    plain.sn = 0;
    plain.offset = 0;
    size_t np = ref_params(l), rows = l->kind == GAN_LAYER_CONV2D_TRANSPOSE ? l->c : ref_weights(l) / l->oc,
           cols = ref_weights(l) / rows;
    double *p = xcalloc(np, sizeof *p);
    memcpy(p, par + l->offset, np * sizeof *p);
    sn_reference(p, par + l->offset, rows, cols, l->sn_u, l->sn_u + cols);
    ref_layer_forward(&plain, p, x, batch, y);
    free(p);
}

static void ref_layer_forward(const ref_layer *l, const double *par, const double *x, size_t batch, double *y)
{
    size_t n = batch * in_size(l);
    if (l->sn) {
        ref_spectral(l, par, x, batch, y);
        return;
    }
    switch (l->kind) {
    case GAN_LAYER_DENSE: ref_dense(l, par, x, batch, y); break;
    case GAN_LAYER_CONV2D: ref_conv(l, par, x, batch, y); break;
    case GAN_LAYER_CONV2D_TRANSPOSE: ref_conv_t(l, par, x, batch, y); break;
    case GAN_LAYER_ACTIVATION:
        for (size_t i = 0; i < n; i++) y[i] = tanh(x[i]);
        break;
    default: memcpy(y, x, n * sizeof *y); break; /* reshape */
    }
}

/* A gan_net built side by side with its reference description. */
typedef struct {
    gan_net *net;
    ref_layer layer[MAX_LAYERS];
    size_t n;
} model;

static void model_run(const model *m, const double *par, const double *x, size_t batch, double *y)
{
    size_t width = gan_net_in_dim(m->net);
    for (size_t i = 0; i < m->n; i++)
        if (out_size(&m->layer[i]) > width) width = out_size(&m->layer[i]);
    size_t cap = m->n > 1 ? batch * width : 0; /* one layer writes y straight */
    double *buf[2] = {xcalloc(cap, sizeof(double)), xcalloc(cap, sizeof(double))};
    const double *in = x;
    if (m->n == 0) memcpy(y, x, batch * gan_net_in_dim(m->net) * sizeof *y);
    for (size_t i = 0; i < m->n; i++) {
        double *out = i + 1 == m->n ? y : buf[i & 1];
        ref_layer_forward(&m->layer[i], par, in, batch, out);
        in = out;
    }
    free(buf[0]);
    free(buf[1]);
}

static void model_image(model *m, size_t c, size_t h, size_t w)
{
    memset(m, 0, sizeof *m);
    assert_int_equal(gan_net_create_image(&m->net, c, h, w), GAN_OK);
}

static void model_vector(model *m, size_t n)
{
    memset(m, 0, sizeof *m);
    assert_int_equal(gan_net_create(&m->net, n), GAN_OK);
}

/* Add the layer; its input shape is the net's output, its output shape the one the
 * reference expects (r.oc, r.oh, r.ow, or the formulas for the convolutions), and its
 * parameter count and offset those of the documented layout. */
static void model_push(model *m, gan_layer *layer, ref_layer r)
{
    assert_true(m->n < MAX_LAYERS);
    assert_int_equal(gan_net_out_shape(m->net, &r.c, &r.h, &r.w), GAN_OK);
    if (r.kind == GAN_LAYER_CONV2D) {
        r.oh = (r.h + 2 * r.p - r.k) / r.s + 1;
        r.ow = (r.w + 2 * r.p - r.k) / r.s + 1;
    } else if (r.kind == GAN_LAYER_CONV2D_TRANSPOSE) {
        r.oh = (r.h - 1) * r.s - 2 * r.p + r.k + r.op;
        r.ow = (r.w - 1) * r.s - 2 * r.p + r.k + r.op;
    } else if (r.kind == GAN_LAYER_ACTIVATION) {
        r.oc = r.c, r.oh = r.h, r.ow = r.w;
    }
    assert_int_equal(gan_net_add(m->net, layer), GAN_OK);
    size_t count, oc, oh, ow;
    assert_int_equal(gan_net_layer_params(m->net, m->n, &r.offset, &count), GAN_OK);
    assert_int_equal(count, ref_params(&r));
    assert_int_equal(gan_net_out_shape(m->net, &oc, &oh, &ow), GAN_OK);
    if (oc != r.oc || oh != r.oh || ow != r.ow)
        fail_msg("layer %zu gives %zux%zux%zu, expected %zux%zux%zu", m->n, oc, oh, ow, r.oc, r.oh, r.ow);
    m->layer[m->n++] = r;
}

static void add_conv(model *m, size_t cout, size_t k, size_t s, size_t p, int bias)
{
    size_t c;
    gan_layer *l;
    assert_int_equal(gan_net_out_shape(m->net, &c, NULL, NULL), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, c, cout, k, s, p), GAN_OK);
    assert_int_equal(gan_layer_kind(l), GAN_LAYER_CONV2D);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_CONV2D, .oc = cout, .k = k, .s = s, .p = p, .bias = bias});
}

static void add_conv_t(model *m, size_t cout, size_t k, size_t s, size_t p, size_t op, int bias)
{
    size_t c;
    gan_layer *l;
    assert_int_equal(gan_net_out_shape(m->net, &c, NULL, NULL), GAN_OK);
    assert_int_equal(gan_layer_conv2d_transpose(&l, c, cout, k, s, p, op), GAN_OK);
    assert_int_equal(gan_layer_kind(l), GAN_LAYER_CONV2D_TRANSPOSE);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    model_push(m, l,
               (ref_layer){.kind = GAN_LAYER_CONV2D_TRANSPOSE, .oc = cout, .k = k, .s = s, .p = p, .op = op,
                           .bias = bias});
}

static void add_dense(model *m, size_t out, int bias)
{
    gan_layer *l;
    assert_int_equal(gan_layer_dense(&l, gan_net_out_dim(m->net), out), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_DENSE, .oc = out, .oh = 1, .ow = 1, .bias = bias});
}

static void add_reshape(model *m, size_t c, size_t h, size_t w)
{
    gan_layer *l;
    assert_int_equal(gan_layer_reshape(&l, c, h, w), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_RESHAPE, .oc = c, .oh = h, .ow = w});
}

static void add_tanh(model *m)
{
    gan_layer *l;
    assert_int_equal(gan_layer_activation(&l, GAN_ACT_TANH), GAN_OK);
    model_push(m, l, (ref_layer){.kind = GAN_LAYER_ACTIVATION});
}

static void model_free(model *m)
{
    gan_net_free(m->net);
    memset(m, 0, sizeof *m);
}

/* A model's sizes and a point: parameters and inputs drawn in the net, their double
 * copies, and a random output gradient. */
typedef struct {
    size_t np, nx, ny, batch;
    float *x, *y, *dy, *dx;
    double *pd, *xd, *yd, *dyd;
} point;

static point point_draw(const model *m, size_t batch, gan_rng *rng)
{
    point pt = {gan_net_num_params(m->net), batch * gan_net_in_dim(m->net), batch * gan_net_out_dim(m->net), batch,
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    pt.x = xcalloc(pt.nx, sizeof(float)), pt.dx = xcalloc(pt.nx, sizeof(float));
    pt.y = xcalloc(pt.ny, sizeof(float)), pt.dy = xcalloc(pt.ny, sizeof(float));
    pt.pd = xcalloc(pt.np, sizeof(double)), pt.xd = xcalloc(pt.nx, sizeof(double));
    pt.yd = xcalloc(pt.ny, sizeof(double)), pt.dyd = xcalloc(pt.ny, sizeof(double));
    fill(rng, gan_net_params(m->net), pt.np, -0.5f, 0.5f);
    fill(rng, pt.x, pt.nx, -1.0f, 1.0f);
    fill(rng, pt.dy, pt.ny, -1.0f, 1.0f);
    to_double(gan_net_params(m->net), pt.pd, pt.np);
    to_double(pt.x, pt.xd, pt.nx);
    to_double(pt.dy, pt.dyd, pt.ny);
    return pt;
}

static void point_free(point *pt)
{
    free(pt->x), free(pt->y), free(pt->dy), free(pt->dx);
    free(pt->pd), free(pt->xd), free(pt->yd), free(pt->dyd);
}

/* The library's forward (pt->y) against the reference's (pt->yd), each value within
 * FWD_TOL of the sum of the magnitudes of its terms (the reference on |params|, |x|). */
static void check_forward_values(const model *m, const point *pt, const char *what)
{
    double *pa = xcalloc(pt->np, sizeof *pa), *xa = xcalloc(pt->nx, sizeof *xa), *mag = xcalloc(pt->ny, sizeof *mag);
    memcpy(pa, pt->pd, pt->np * sizeof *pa);
    memcpy(xa, pt->xd, pt->nx * sizeof *xa);
    abs_all(pa, pt->np);
    abs_all(xa, pt->nx);
    model_run(m, pt->pd, pt->xd, pt->batch, pt->yd);
    model_run(m, pa, xa, pt->batch, mag);
    for (size_t i = 0; i < pt->ny; i++)
        if (fabs(pt->y[i] - pt->yd[i]) > FWD_TOL * fmax(1.0, mag[i]))
            fail_msg("%s: y[%zu] is %.9g, the reference %.9g", what, i, (double)pt->y[i], pt->yd[i]);
    free(pa), free(xa), free(mag);
}

/* ---------------------------------------------------- finite differences */

/* L = sum(dy .* y) by the reference at (par, x). */
static double fd_loss(const model *m, const point *pt, const double *par, const double *x)
{
    model_run(m, par, x, pt->batch, pt->yd);
    return dot(pt->dyd, pt->yd, pt->ny);
}

static void fd_compare(const model *m, const point *pt, double *var, size_t n, const float *grad, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double saved = var[i];
        var[i] = saved + FD_STEP;
        double l_plus = fd_loss(m, pt, pt->pd, pt->xd);
        var[i] = saved - FD_STEP;
        double l_minus = fd_loss(m, pt, pt->pd, pt->xd);
        var[i] = saved;
        double numeric = (l_plus - l_minus) / (2 * FD_STEP);
        if (!close_to(grad[i], numeric, GRAD_TOL))
            fail_msg("dL/d%s[%zu]: library %.8g, finite difference %.8g", what, i, (double)grad[i], numeric);
    }
}

/* Gradients of L = sum(dy .* y) from one library forward and backward against central
 * differences of the reference, for every parameter and every input; the forward too.
 * (The layers here have no kinks: tanh is the only activation.) Frees the model. */
static void check_model(model *m, size_t batch, uint64_t seed)
{
    for (size_t i = 0; i < m->n; i++) m->layer[i].sn_u = gan_net_state(m->net) + m->layer[i].sn_at;
    gan_rng *rng = new_rng(seed);
    assert_int_equal(gan_net_init(m->net, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK); /* u and v for spectral norm */
    point pt = point_draw(m, batch, rng);
    assert_int_equal(gan_net_zero_grads(m->net), GAN_OK);
    assert_int_equal(gan_net_forward(m->net, pt.x, batch, pt.y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(m->net, pt.dy, pt.dx), GAN_OK);
    check_forward_values(m, &pt, "forward");
    fd_compare(m, &pt, pt.pd, pt.np, gan_net_grads(m->net), "param");
    fd_compare(m, &pt, pt.xd, pt.nx, pt.dx, "x");
    point_free(&pt);
    gan_rng_free(rng);
    model_free(m);
}

/* ------------------------------------------------------------ forward values */

typedef struct {
    size_t c, h, w;           /* input */
    size_t oc, k, s, p, op;   /* layer */
    int bias;
    size_t batch;
} geometry;

static void model_single(model *m, int kind, const geometry *g)
{
    model_image(m, g->c, g->h, g->w);
    if (kind == GAN_LAYER_CONV2D) add_conv(m, g->oc, g->k, g->s, g->p, g->bias);
    else add_conv_t(m, g->oc, g->k, g->s, g->p, g->op, g->bias);
}

static void check_forward(int kind, const geometry *g, uint64_t seed)
{
    model m;
    model_single(&m, kind, g);
    gan_rng *rng = new_rng(seed);
    point pt = point_draw(&m, g->batch, rng);
    assert_int_equal(gan_net_forward(m.net, pt.x, g->batch, pt.y, 0), GAN_OK);
    char what[96];
    snprintf(what, sizeof what, "%s %zux%zux%zu -> %zu k%zu s%zu p%zu op%zu bias %d",
             kind == GAN_LAYER_CONV2D ? "conv2d" : "conv2d_transpose", g->c, g->h, g->w, g->oc, g->k, g->s, g->p,
             g->op, g->bias);
    check_forward_values(&m, &pt, what);
    point_free(&pt);
    gan_rng_free(rng);
    model_free(&m);
}

static void conv_forward_matches_reference(void **state)
{
    (void)state;
    static const geometry cases[] = {
        {1, 5, 7, 2, 3, 1, 0, 0, 1, 3}, {3, 5, 7, 4, 3, 2, 1, 0, 0, 3}, {3, 7, 5, 2, 4, 2, 2, 0, 1, 2},
        {1, 4, 3, 3, 1, 1, 0, 0, 1, 2}, {2, 5, 7, 3, 5, 1, 2, 0, 1, 2}, {3, 7, 5, 5, 2, 3, 1, 0, 0, 2},
        {1, 28, 28, 8, 4, 2, 1, 0, 1, 3}, {3, 2, 2, 2, 4, 1, 1, 0, 1, 2}, {2, 1, 1, 3, 1, 1, 0, 0, 1, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_forward(GAN_LAYER_CONV2D, &cases[i], 100 + i);
}

static void conv_transpose_forward_matches_reference(void **state)
{
    (void)state;
    static const geometry cases[] = {
        {2, 3, 3, 3, 4, 2, 1, 0, 1, 2}, {1, 5, 7, 2, 3, 1, 0, 0, 1, 2}, {3, 4, 3, 2, 3, 2, 1, 1, 0, 2},
        {3, 5, 7, 1, 3, 3, 2, 2, 1, 2}, {2, 1, 1, 4, 4, 1, 0, 0, 1, 3}, {4, 7, 7, 2, 4, 2, 1, 0, 0, 2},
        {3, 2, 3, 2, 2, 2, 0, 1, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_forward(GAN_LAYER_CONV2D_TRANSPOSE, &cases[i], 200 + i);
}

/* Output sizes: (H + 2p - k) / s + 1 and PyTorch's (H - 1) s - 2p + k + op, worked out
 * by hand here for DCGAN's layers and a few odd ones. */
static void output_sizes_follow_pytorch(void **state)
{
    (void)state;
    static const struct {
        int kind;
        size_t c, h, w, oc, k, s, p, op, oh, ow;
    } cases[] = {
        {GAN_LAYER_CONV2D, 1, 28, 28, 64, 4, 2, 1, 0, 14, 14},
        {GAN_LAYER_CONV2D, 64, 14, 14, 128, 4, 2, 1, 0, 7, 7},
        {GAN_LAYER_CONV2D, 3, 5, 7, 2, 3, 2, 0, 0, 2, 3},
        {GAN_LAYER_CONV2D, 3, 5, 7, 2, 5, 3, 2, 0, 2, 3},
        {GAN_LAYER_CONV2D, 1, 4, 4, 1, 4, 1, 0, 0, 1, 1},
        {GAN_LAYER_CONV2D_TRANSPOSE, 128, 7, 7, 64, 4, 2, 1, 0, 14, 14},
        {GAN_LAYER_CONV2D_TRANSPOSE, 64, 14, 14, 1, 4, 2, 1, 0, 28, 28},
        {GAN_LAYER_CONV2D_TRANSPOSE, 100, 1, 1, 512, 4, 1, 0, 0, 4, 4},
        {GAN_LAYER_CONV2D_TRANSPOSE, 3, 4, 3, 2, 3, 2, 1, 1, 8, 6},
        {GAN_LAYER_CONV2D_TRANSPOSE, 3, 5, 7, 1, 3, 3, 2, 2, 13, 19},
        {GAN_LAYER_CONV2D_TRANSPOSE, 1, 1, 1, 1, 3, 1, 1, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gan_net *n;
        gan_layer *l;
        size_t c, h, w;
        assert_int_equal(gan_net_create_image(&n, cases[i].c, cases[i].h, cases[i].w), GAN_OK);
        if (cases[i].kind == GAN_LAYER_CONV2D)
            add(n, gan_layer_conv2d(&l, cases[i].c, cases[i].oc, cases[i].k, cases[i].s, cases[i].p), &l);
        else
            add(n, gan_layer_conv2d_transpose(&l, cases[i].c, cases[i].oc, cases[i].k, cases[i].s, cases[i].p, cases[i].op),
                &l);
        assert_int_equal(gan_net_out_shape(n, &c, &h, &w), GAN_OK);
        if (c != cases[i].oc || h != cases[i].oh || w != cases[i].ow)
            fail_msg("case %zu: %zux%zux%zu, expected %zux%zux%zu", i, c, h, w, cases[i].oc, cases[i].oh, cases[i].ow);
        assert_int_equal(gan_layer_in_dim(gan_net_layer(n, 0)), cases[i].c * cases[i].h * cases[i].w);
        assert_int_equal(gan_layer_out_dim(gan_net_layer(n, 0)), c * h * w);
        assert_int_equal(gan_net_num_params(n), cases[i].k * cases[i].k * cases[i].c * cases[i].oc + cases[i].oc);
        gan_net_free(n);
    }
}

/* <y, conv(x)> = <conv_T(y), x> for a conv2d c -> oc and the conv2d_transpose oc -> c of
 * the same kernel, stride and padding, its weights the conv's transposed ([oc x (k*k*c)]
 * against [(k*k*c) x oc]), with the output padding that brings it back to H x W. */
static void transpose_is_the_adjoint(void **state)
{
    (void)state;
    static const geometry cases[] = {
        {1, 5, 7, 2, 3, 1, 0, 0, 0, 2}, {3, 5, 7, 4, 3, 2, 1, 0, 0, 2}, {3, 5, 7, 2, 4, 2, 1, 0, 0, 2},
        {2, 5, 8, 3, 3, 3, 0, 0, 0, 2}, {3, 6, 6, 2, 5, 2, 2, 0, 0, 1}, {1, 28, 28, 4, 4, 2, 1, 0, 0, 2},
        {3, 4, 4, 2, 4, 1, 0, 0, 0, 3},
    };
    gan_rng *rng = new_rng(300);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const geometry *g = &cases[i];
        size_t oh = (g->h + 2 * g->p - g->k) / g->s + 1, ow = (g->w + 2 * g->p - g->k) / g->s + 1;
        size_t op = (g->h + 2 * g->p - g->k) % g->s;
        assert_int_equal(op, (g->w + 2 * g->p - g->k) % g->s); /* the case must have one output padding */
        gan_net *fwd, *adj;
        gan_layer *l;
        assert_int_equal(gan_net_create_image(&fwd, g->c, g->h, g->w), GAN_OK);
        assert_int_equal(gan_layer_conv2d(&l, g->c, g->oc, g->k, g->s, g->p), GAN_OK);
        assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
        add(fwd, GAN_OK, &l);
        assert_int_equal(gan_net_create_image(&adj, g->oc, oh, ow), GAN_OK);
        assert_int_equal(gan_layer_conv2d_transpose(&l, g->oc, g->c, g->k, g->s, g->p, op), GAN_OK);
        assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
        add(adj, GAN_OK, &l);
        size_t c, h, w, rows = g->k * g->k * g->c;
        assert_int_equal(gan_net_out_shape(adj, &c, &h, &w), GAN_OK);
        assert_true(c == g->c && h == g->h && w == g->w);
        assert_int_equal(gan_net_num_params(fwd), gan_net_num_params(adj));
        float *wc = gan_net_params(fwd), *wt = gan_net_params(adj);
        fill(rng, wc, rows * g->oc, -0.5f, 0.5f);
        for (size_t r = 0; r < rows; r++)
            for (size_t co = 0; co < g->oc; co++) wt[co * rows + r] = wc[r * g->oc + co];
        size_t nx = g->batch * g->c * g->h * g->w, ny = g->batch * g->oc * oh * ow;
        float *x = xcalloc(nx, sizeof *x), *y = xcalloc(ny, sizeof *y), *cx = xcalloc(ny, sizeof *cx),
              *ty = xcalloc(nx, sizeof *ty);
        fill(rng, x, nx, -1.0f, 1.0f);
        fill(rng, y, ny, -1.0f, 1.0f);
        assert_int_equal(gan_net_forward(fwd, x, g->batch, cx, 0), GAN_OK);
        assert_int_equal(gan_net_forward(adj, y, g->batch, ty, 0), GAN_OK);
        double a = dot_f(y, cx, ny), b = dot_f(ty, x, nx), mag = 0.0;
        for (size_t j = 0; j < ny; j++) mag += fabs((double)y[j] * cx[j]);
        if (fabs(a - b) > 1e-5 * fmax(1.0, mag)) fail_msg("case %zu: <y, conv x> = %.9g, <conv_T y, x> = %.9g", i, a, b);
        free(x), free(y), free(cx), free(ty);
        gan_net_free(fwd);
        gan_net_free(adj);
    }
    gan_rng_free(rng);
}

/* ---------------------------------------------------------- gradient checks */

static void grad_conv(void **state)
{
    (void)state;
    static const geometry cases[] = {
        {1, 5, 7, 2, 3, 1, 0, 0, 1, 2}, {3, 5, 7, 2, 3, 2, 1, 0, 0, 2}, {3, 7, 5, 2, 4, 2, 2, 0, 1, 2},
        {1, 4, 4, 3, 2, 2, 0, 0, 1, 2}, {2, 5, 6, 2, 5, 1, 2, 0, 1, 1}, {3, 5, 5, 1, 1, 1, 0, 0, 0, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        model m;
        model_single(&m, GAN_LAYER_CONV2D, &cases[i]);
        check_model(&m, cases[i].batch, 400 + i);
    }
}

/* Spectral norm on both convolutions (their weight matrices as stored), with a tanh
 * between them. */
static void grad_spectral_norm(void **state)
{
    (void)state;
    model m;
    gan_layer *l;
    model_image(&m, 2, 5, 6);
    assert_int_equal(gan_layer_conv2d(&l, 2, 3, 3, 2, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    model_push(&m, l, (ref_layer){.kind = GAN_LAYER_CONV2D, .oc = 3, .k = 3, .s = 2, .p = 1, .bias = 1, .sn = 1});
    assert_int_equal(gan_net_num_state(m.net), 3 * 3 * 2 + 3); /* u: cout, v: k*k*cin */
    add_tanh(&m);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 3, 2, 3, 2, 1, 1), GAN_OK);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 3), GAN_OK);
    model_push(&m, l, (ref_layer){.kind = GAN_LAYER_CONV2D_TRANSPOSE, .oc = 2, .k = 3, .s = 2, .p = 1, .op = 1,
                                   .sn = 1, .sn_at = 21});
    assert_int_equal(gan_net_num_state(m.net), 21 + 3 + 3 * 3 * 2); /* u: k*k*cout, v: cin */
    check_model(&m, 2, 550);
}

static void grad_conv_transpose(void **state)
{
    (void)state;
    static const geometry cases[] = {
        {2, 3, 3, 3, 4, 2, 1, 0, 1, 2}, {1, 3, 4, 2, 3, 1, 0, 0, 0, 2}, {3, 3, 2, 2, 3, 2, 2, 1, 1, 2},
        {3, 2, 3, 1, 2, 3, 1, 2, 1, 2}, {2, 1, 1, 3, 4, 1, 0, 0, 1, 2}, {1, 5, 7, 3, 3, 2, 1, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        model m;
        model_single(&m, GAN_LAYER_CONV2D_TRANSPOSE, &cases[i]);
        check_model(&m, cases[i].batch, 500 + i);
    }
}

/* A small generator-then-discriminator: dense -> tanh -> reshape -> conv_transpose ->
 * tanh -> conv -> dense, with and without biases; and an image net that starts with a
 * convolution (its input gradient from col2im). */
static void grad_conv_stacks(void **state)
{
    (void)state;
    for (int bias = 0; bias <= 1; bias++) {
        model m;
        model_vector(&m, 6);
        add_dense(&m, 18, bias);
        add_tanh(&m);
        add_reshape(&m, 2, 3, 3);
        add_conv_t(&m, 3, 4, 2, 1, 0, bias); /* 6x6x3 */
        add_tanh(&m);
        add_conv(&m, 2, 3, 2, 0, bias); /* 2x2x2 */
        add_dense(&m, 1, 1);
        check_model(&m, 1 + (size_t)bias, 600 + (uint64_t)bias);
    }
    model m;
    model_image(&m, 3, 5, 5);
    add_conv(&m, 2, 3, 1, 1, 1);
    add_tanh(&m);
    add_conv_t(&m, 1, 3, 2, 1, 1, 0); /* 10x10x1 */
    add_dense(&m, 1, 1);
    check_model(&m, 2, 610);
}

/* ------------------------------------------------ several chunks, grads modes */

/* Geometries that need several chunks of the column buffer (1.5 MiB): whole output rows
 * (16 channels, k3: 576 bytes a position, a first chunk of 94 rows of 29 positions that
 * ends inside the fourth image of four) and single positions when a row does not fit
 * (128 channels, k7: 25088 bytes a position, chunks of 62, in a row of 63). */
static const geometry CONV_CHUNKED[] = {
    {16, 29, 29, 1, 3, 1, 1, 0, 1, 4},
    {128, 7, 69, 1, 7, 1, 0, 0, 0, 1},
};
static const geometry CONV_T_CHUNKED[] = {
    {1, 29, 29, 16, 3, 1, 1, 0, 1, 4},
    {1, 1, 63, 128, 7, 1, 0, 0, 1, 1},
};

/* One layer on several chunks. The layers are bilinear, so directional derivatives are
 * exact: <dx, u> = <dy, F(u; W, no bias)> and <grads, v> = <dy, F(x; v)>, both by the
 * reference. Then the backward modes the trainer uses: GAN__GRADS_SET overwrites what the
 * gradients held with what ADD added to zeros, NONE leaves them and still gives dx, and
 * dx may be NULL. */
static void check_chunked(int kind, const geometry *g, uint64_t seed)
{
    model m;
    model_single(&m, kind, g);
    const ref_layer *rl = &m.layer[0];
    gan_rng *rng = new_rng(seed);
    point pt = point_draw(&m, g->batch, rng);
    float *grads = gan_net_grads(m.net);
    assert_int_equal(gan_net_zero_grads(m.net), GAN_OK);
    assert_int_equal(gan_net_forward(m.net, pt.x, g->batch, pt.y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(m.net, pt.dy, pt.dx), GAN_OK);

    /* Every |x|, |u| is at most 1, every |parameter|, |v| at most 1: the reference on ones
     * bounds the sum of the magnitudes of the terms of each output. */
    double *ones_x = xcalloc(pt.nx, sizeof *ones_x), *ones_p = xcalloc(pt.np, sizeof *ones_p);
    double *bound = xcalloc(pt.ny, sizeof *bound), *yv = xcalloc(pt.ny, sizeof *yv);
    for (size_t i = 0; i < pt.nx; i++) ones_x[i] = 1.0;
    for (size_t i = 0; i < pt.np; i++) ones_p[i] = 1.0;
    model_run(&m, ones_p, ones_x, g->batch, bound);
    model_run(&m, pt.pd, pt.xd, g->batch, pt.yd);
    for (size_t i = 0; i < pt.ny; i++)
        if (fabs(pt.y[i] - pt.yd[i]) > FWD_TOL * fmax(1.0, bound[i]))
            fail_msg("chunked forward: y[%zu] is %.9g, the reference %.9g", i, (double)pt.y[i], pt.yd[i]);
    double mag = 0.0;
    for (size_t i = 0; i < pt.ny; i++) mag += fabs(pt.dyd[i]) * bound[i];

    /* Directions u (inputs) and v (parameters). */
    float *uf = xcalloc(pt.nx, sizeof *uf), *vf = xcalloc(pt.np, sizeof *vf);
    fill(rng, uf, pt.nx, -1.0f, 1.0f);
    fill(rng, vf, pt.np, -1.0f, 1.0f);
    double *u = xcalloc(pt.nx, sizeof *u), *v = xcalloc(pt.np, sizeof *v), *w0 = xcalloc(pt.np, sizeof *w0);
    to_double(uf, u, pt.nx);
    to_double(vf, v, pt.np);
    memcpy(w0, pt.pd, pt.np * sizeof *w0);
    for (size_t i = ref_weights(rl); i < pt.np; i++) w0[i] = 0.0; /* no bias */
    model_run(&m, w0, u, g->batch, yv);
    double want = dot(pt.dyd, yv, pt.ny), got = dot_f(pt.dx, uf, pt.nx);
    if (fabs(got - want) > DIR_TOL * mag) fail_msg("<dx, u>: library %.9g, reference %.9g (of %g)", got, want, mag);
    model_run(&m, v, pt.xd, g->batch, yv);
    want = dot(pt.dyd, yv, pt.ny), got = dot_f(grads, vf, pt.np);
    if (fabs(got - want) > DIR_TOL * mag) fail_msg("<grads, v>: library %.9g, reference %.9g (of %g)", got, want, mag);

    /* The modes. */
    float *added = xcalloc(pt.np, sizeof *added), *dx2 = xcalloc(pt.nx, sizeof *dx2);
    memcpy(added, grads, pt.np * sizeof *added);
    for (size_t i = 0; i < pt.np; i++) grads[i] = 7.0f;
    for (size_t i = 0; i < pt.nx; i++) dx2[i] = 123.0f;
    assert_int_equal(gan__net_backward_ex(m.net, pt.dy, dx2, GAN__GRADS_SET), GAN_OK);
    for (size_t i = 0; i < pt.np; i++) assert_close(grads[i], added[i], 1e-6, "GRADS_SET", i);
    if (memcmp(dx2, pt.dx, pt.nx * sizeof *dx2)) fail_msg("GRADS_SET changed dx");
    for (size_t i = 0; i < pt.np; i++) grads[i] = 7.0f;
    assert_int_equal(gan__net_backward_ex(m.net, pt.dy, NULL, GAN__GRADS_SET), GAN_OK);
    for (size_t i = 0; i < pt.np; i++) assert_close(grads[i], added[i], 1e-6, "GRADS_SET without dx", i);
    for (size_t i = 0; i < pt.np; i++) grads[i] = 7.0f;
    for (size_t i = 0; i < pt.nx; i++) dx2[i] = 123.0f;
    assert_int_equal(gan__net_backward_ex(m.net, pt.dy, dx2, GAN__GRADS_NONE), GAN_OK);
    for (size_t i = 0; i < pt.np; i++)
        if (grads[i] != 7.0f) fail_msg("GRADS_NONE changed gradient %zu to %g", i, (double)grads[i]);
    if (memcmp(dx2, pt.dx, pt.nx * sizeof *dx2)) fail_msg("GRADS_NONE changed dx");
    assert_int_equal(gan__net_backward_ex(m.net, pt.dy, NULL, GAN__GRADS_NONE), GAN_OK);
    for (size_t i = 0; i < pt.np; i++) assert_true(grads[i] == 7.0f);

    free(ones_x), free(ones_p), free(bound), free(yv);
    free(uf), free(vf), free(u), free(v), free(w0), free(added), free(dx2);
    point_free(&pt);
    gan_rng_free(rng);
    model_free(&m);
}

static void chunked_backward_and_grads_modes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CONV_CHUNKED / sizeof *CONV_CHUNKED; i++)
        check_chunked(GAN_LAYER_CONV2D, &CONV_CHUNKED[i], 700 + i);
    for (size_t i = 0; i < sizeof CONV_T_CHUNKED / sizeof *CONV_T_CHUNKED; i++)
        check_chunked(GAN_LAYER_CONV2D_TRANSPOSE, &CONV_T_CHUNKED[i], 710 + i);
    /* Winograd's geometries (4x4 kernels, stride 2, padding 1, even sizes, 16 channels
     * or more: lib/winograd.c): one chunk with a bias and unequal channel counts; two
     * chunks of 16 channels (2,184 tiles of 2,880 bytes fill 6 MiB; 9 images of 256
     * tiles), the second starting inside the ninth image; and two blocks of output
     * channels, 272 and 16 (272 columns of U from 512 channels fill 20 MiB). */
    static const geometry wino[] = {
        {32, 8, 8, 24, 4, 2, 1, 0, 1, 2}, {16, 64, 64, 16, 4, 2, 1, 0, 0, 9}, {512, 4, 4, 288, 4, 2, 1, 0, 1, 2},
    };
    static const geometry wino_t[] = {
        {24, 4, 4, 32, 4, 2, 1, 0, 1, 2}, {16, 32, 32, 16, 4, 2, 1, 0, 0, 9}, {288, 2, 2, 512, 4, 2, 1, 0, 1, 2},
    };
    for (size_t i = 0; i < 3; i++) {
        check_chunked(GAN_LAYER_CONV2D, &wino[i], 730 + i);
        check_chunked(GAN_LAYER_CONV2D_TRANSPOSE, &wino_t[i], 740 + i);
    }
    /* And one chunk, a batch of one image, a small layer. */
    static const geometry small = {3, 5, 7, 2, 3, 2, 1, 1, 1, 1};
    check_chunked(GAN_LAYER_CONV2D, &small, 720);
    check_chunked(GAN_LAYER_CONV2D_TRANSPOSE, &small, 721);
}

/* gan_net_backward adds to the gradients: a second call doubles them; dx is overwritten
 * (garbage left in it must not show through). */
static void backward_accumulates(void **state)
{
    (void)state;
    model m;
    model_vector(&m, 4);
    add_dense(&m, 12, 1);
    add_reshape(&m, 3, 2, 2);
    add_conv_t(&m, 2, 3, 2, 1, 1, 1); /* 4x4x2 */
    add_tanh(&m);
    add_conv(&m, 3, 3, 1, 1, 1);
    add_dense(&m, 2, 1);
    gan_rng *rng = new_rng(800);
    point pt = point_draw(&m, 3, rng);
    float *g1 = xcalloc(pt.np, sizeof *g1), *dx2 = xcalloc(pt.nx, sizeof *dx2);
    assert_int_equal(gan_net_zero_grads(m.net), GAN_OK);
    assert_int_equal(gan_net_forward(m.net, pt.x, 3, pt.y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(m.net, pt.dy, pt.dx), GAN_OK);
    memcpy(g1, gan_net_grads(m.net), pt.np * sizeof *g1);
    double norm = 0.0;
    for (size_t i = 0; i < pt.np; i++) norm += fabs(g1[i]);
    assert_true(norm > 1e-2);
    for (size_t i = 0; i < pt.nx; i++) dx2[i] = 123.0f;
    assert_int_equal(gan_net_backward(m.net, pt.dy, dx2), GAN_OK);
    const float *g = gan_net_grads(m.net);
    for (size_t i = 0; i < pt.np; i++) assert_close(g[i], 2.0 * g1[i], 1e-5, "doubled grad", i);
    for (size_t i = 0; i < pt.nx; i++) assert_close(dx2[i], pt.dx[i], 1e-6, "second dx", i);
    free(g1), free(dx2);
    point_free(&pt);
    gan_rng_free(rng);
    model_free(&m);
}

/* ------------------------------------------------------------------- refusals */

static void constructor_arguments(void **state)
{
    (void)state;
    gan_layer *l = (gan_layer *)&l;
    assert_error(gan_layer_conv2d(NULL, 1, 1, 3, 1, 0), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_conv2d_transpose(NULL, 1, 1, 3, 1, 0, 0), GAN_EINVAL, "'out' is NULL");
    static const size_t zeros[][4] = {{0, 1, 3, 1}, {1, 0, 3, 1}, {1, 1, 0, 1}, {1, 1, 3, 0}};
    for (size_t i = 0; i < 4; i++) {
        l = (gan_layer *)&l;
        assert_error(gan_layer_conv2d(&l, zeros[i][0], zeros[i][1], zeros[i][2], zeros[i][3], 0), GAN_EINVAL,
                     "must be positive");
        assert_null(l);
        l = (gan_layer *)&l;
        assert_error(gan_layer_conv2d_transpose(&l, zeros[i][0], zeros[i][1], zeros[i][2], zeros[i][3], 0, 0),
                     GAN_EINVAL, "must be positive");
        assert_null(l);
    }
    assert_error(gan_layer_conv2d(&l, 1, 1, 3, 1, 3), GAN_EINVAL, "padding 3 must be less than the kernel 3");
    assert_error(gan_layer_conv2d_transpose(&l, 1, 1, 3, 2, 4, 0), GAN_EINVAL, "padding 4 must be less than the kernel 3");
    assert_error(gan_layer_conv2d_transpose(&l, 1, 1, 4, 2, 1, 2), GAN_EINVAL,
                 "output padding 2 must be less than the stride 2");
    assert_error(gan_layer_conv2d_transpose(&l, 1, 1, 4, 1, 1, 1), GAN_EINVAL,
                 "output padding 1 must be less than the stride 1");
    /* Beyond INT_MAX, SIZE_MAX, a kernel whose window or weights overflow. */
    size_t big = (size_t)INT_MAX + 1;
    assert_error(gan_layer_conv2d(&l, big, 1, 1, 1, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, 1, SIZE_MAX, 1, 1, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, 1, 1, SIZE_MAX, 1, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, 1, 1, 3, SIZE_MAX, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, 1, 1, 65536, 1, 0), GAN_EINVAL, "exceeds"); /* k*k = 2^32 */
    assert_error(gan_layer_conv2d(&l, 16, 16, (size_t)1 << 30, 1, 0), GAN_EINVAL, "exceeds"); /* k*k*16 = 2^64 */
    assert_error(gan_layer_conv2d_transpose(&l, 16, 16, (size_t)1 << 30, 1, 0, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, 3, 1, 30000, 1, 0), GAN_EINVAL, "exceeds"); /* k*k*cin > INT_MAX */
    assert_error(gan_layer_conv2d_transpose(&l, 1, 3, 30000, 1, 0, 0), GAN_EINVAL, "exceeds"); /* k*k*cout */
    assert_error(gan_layer_conv2d_transpose(&l, SIZE_MAX, 1, 1, 1, 0, 0), GAN_EINVAL, "exceeds");
    assert_error(gan_layer_conv2d(&l, INT_MAX, INT_MAX, 1, 1, 0), GAN_EINVAL, "too many weights");
    assert_error(gan_layer_conv2d_transpose(&l, INT_MAX, INT_MAX, 1, 1, 0, 0), GAN_EINVAL, "too many weights");
    assert_null(l);
    /* The largest that fit are accepted (nothing is allocated for the weights yet). */
    assert_int_equal(gan_layer_conv2d(&l, 1, INT_MAX, 1, 1, 0), GAN_OK);
    assert_int_equal(gan_layer_num_params(l), 2 * (size_t)INT_MAX);
    gan_layer_free(l);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 1, 1, 46340, INT_MAX, 46339, INT_MAX - 1), GAN_OK);
    gan_layer_free(l);
}

/* Placed where they do not fit: EINVAL from gan_net_add with the numbers, and the layer
 * still the caller's. */
static void misfits_are_refused(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 1, 28, 28), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, 3, 8, 4, 2, 1), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "gan_net_add: conv2d layer 0 expects 3 input channels, got 1");
    gan_layer_free(l);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 2, 8, 4, 2, 1, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "conv2d_transpose layer 0 expects 2 input channels, got 1");
    gan_layer_free(l);
    gan_net_free(n);

    /* At index 3, after a dense layer and a reshape. */
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add(n, gan_layer_dense(&l, 4, 16), &l);
    add(n, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    add(n, gan_layer_reshape(&l, 1, 4, 4), &l);
    assert_int_equal(gan_layer_conv2d(&l, 3, 2, 3, 1, 1), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "conv2d layer 3 expects 3 input channels, got 1");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 3);
    gan_net_free(n);

    /* A kernel larger than the padded input. */
    assert_int_equal(gan_net_create_image(&n, 1, 2, 2), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, 1, 1, 4, 1, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "conv2d layer 0: a 4x4 kernel with padding 0 does not fit a 2x2 input");
    assert_int_equal(gan_layer_in_dim(l), 0); /* nothing kept from the attempt */
    gan_layer_free(l);
    add(n, gan_layer_conv2d(&l, 1, 1, 4, 1, 1), &l); /* with padding 1 it does: 1x1 */
    assert_int_equal(gan_net_out_dim(n), 1);
    gan_net_free(n);
    assert_int_equal(gan_net_create_image(&n, 1, 9, 2), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, 1, 1, 3, 1, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "a 3x3 kernel with padding 0 does not fit a 9x2 input");
    gan_layer_free(l);
    gan_net_free(n);

    /* A transposed convolution whose padding leaves nothing, or whose output is too big. */
    assert_int_equal(gan_net_create_image(&n, 1, 1, 1), GAN_OK);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 1, 1, 3, 1, 2, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL,
                 "conv2d_transpose layer 0: a 3x3 kernel with stride 1, padding 2 and output padding 0 gives no output "
                 "on a 1x1 input");
    gan_layer_free(l);
    gan_net_free(n);
    assert_int_equal(gan_net_create_image(&n, 1, 1 << 20, 1), GAN_OK);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 1, 1, 3, 4096, 0, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "exceeds");
    gan_layer_free(l);
    gan_net_free(n);
    assert_int_equal(gan_net_create_image(&n, 1, 1000, 1000), GAN_OK);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 1, 4, 2, 30, 0, 0), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "conv2d_transpose layer 0 on a 1000x1000 input: the shape 4 x 29972 x 29972");
    gan_layer_free(l);
    gan_net_free(n);
}

/* ----------------------------------------------------- allocation failures */

static gan_net *dcgan_d(size_t c, size_t hw, int bias)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, c, hw, hw), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, c, 8, 4, 2, 1), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    add(n, GAN_OK, &l);
    add(n, gan_layer_leaky_relu(&l, 0.2f), &l);
    assert_int_equal(gan_layer_conv2d(&l, 8, 16, 4, 2, 1), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    add(n, GAN_OK, &l);
    add(n, gan_layer_leaky_relu(&l, 0.2f), &l);
    add(n, gan_layer_dense(&l, gan_net_out_dim(n), 1), &l);
    return n;
}

static gan_net *dcgan_g(size_t z, size_t c, int bias)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, z), GAN_OK);
    add(n, gan_layer_dense(&l, z, 16 * 7 * 7), &l);
    add(n, gan_layer_reshape(&l, 16, 7, 7), &l);
    add(n, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 16, 8, 4, 2, 1, 0), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    add(n, GAN_OK, &l);
    add(n, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    assert_int_equal(gan_layer_conv2d_transpose(&l, 8, c, 4, 2, 1, 0), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    add(n, GAN_OK, &l);
    add(n, gan_layer_activation(&l, GAN_ACT_TANH), &l);
    return n;
}

/* The constructors, and a first forward (which sizes every workspace) of a conv net:
 * every allocation fails in turn, cleanly; then the net computes what a twin computes. */
static void allocation_failures(void **state)
{
    (void)state;
    size_t f;
    gan_layer *l = NULL;
    SWEEP(f, gan_layer_conv2d(&l, 3, 4, 3, 1, 1), assert_null(l));
    assert_true(f > 0);
    gan_layer_free(l);
    SWEEP(f, gan_layer_conv2d_transpose(&l, 3, 4, 3, 2, 1, 1), assert_null(l));
    assert_true(f > 0);
    gan_layer_free(l);

    enum { B = 3 };
    gan_net *n = dcgan_d(1, 28, 1), *twin = dcgan_d(1, 28, 1);
    gan_rng *rng = new_rng(900);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    memcpy(gan_net_params(twin), gan_net_params(n), gan_net_num_params(n) * sizeof(float));
    static float x[B * 28 * 28], y[B], y2[B], dy[B], dx[B * 28 * 28], dx2[B * 28 * 28];
    fill(rng, x, B * 28 * 28, -1.0f, 1.0f);
    fill(rng, dy, B, -1.0f, 1.0f);
    SWEEP(f, gan_net_forward(n, x, B, y, 1), assert_int_equal(gan_net_backward(n, dy, dx), GAN_ESTATE));
    assert_true(f >= 2); /* activations, then one block for the gradients and the column buffers */
    assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
    assert_int_equal(gan_net_forward(twin, x, B, y2, 1), GAN_OK);
    assert_int_equal(gan_net_backward(twin, dy, dx2), GAN_OK);
    assert_memory_equal(y, y2, sizeof y);
    assert_memory_equal(dx, dx2, sizeof dx);
    assert_memory_equal(gan_net_grads(n), gan_net_grads(twin), gan_net_num_params(n) * sizeof(float));
    /* A larger batch grows the workspaces: failing there keeps the old ones. */
    static float xb[2 * B * 28 * 28], yb[2 * B];
    memcpy(xb, x, sizeof x);
    memcpy(xb + B * 28 * 28, x, sizeof x);
    SWEEP(f, gan_net_forward(n, xb, 2 * B, yb, 1), assert_int_equal(gan_net_forward(n, x, B, y2, 1), GAN_OK));
    for (size_t i = 0; i < B; i++) assert_close(yb[i], y[i], 1e-5, "the larger batch's y", i);
    gan_net_free(n);
    gan_net_free(twin);

    /* A generator's transposed convolutions alike. */
    n = dcgan_g(4, 1, 1), twin = dcgan_g(4, 1, 1);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    memcpy(gan_net_params(twin), gan_net_params(n), gan_net_num_params(n) * sizeof(float));
    float z[B * 4], dz[B * 4], dz2[B * 4];
    fill(rng, z, B * 4, -1.0f, 1.0f);
    fill(rng, dx2, B * 28 * 28, -1.0f, 1.0f); /* the image gradient */
    SWEEP(f, gan_net_forward(n, z, B, x, 1), assert_int_equal(gan_net_backward(n, dx2, dz), GAN_ESTATE));
    assert_true(f >= 2);
    assert_int_equal(gan_net_backward(n, dx2, dz), GAN_OK);
    assert_int_equal(gan_net_forward(twin, z, B, dx, 1), GAN_OK);
    assert_int_equal(gan_net_backward(twin, dx2, dz2), GAN_OK);
    assert_memory_equal(x, dx, sizeof x);
    assert_memory_equal(dz, dz2, sizeof dz);
    gan_rng_free(rng);
    gan_net_free(n);
    gan_net_free(twin);
}

/* ------------------------------------------------------------------- files */

static void round_trip(int bias)
{
    gan_net *n = dcgan_g(5, 3, bias), *loaded = NULL;
    gan_rng *rng = new_rng(1000 + (uint64_t)bias);
    fill(rng, gan_net_params(n), gan_net_num_params(n), -0.3f, 0.3f);
    enum { B = 2 };
    static float z[B * 5], y1[B * 28 * 28 * 3], y2[B * 28 * 28 * 3];
    fill(rng, z, B * 5, -1.0f, 1.0f);
    assert_int_equal(gan_net_forward(n, z, B, y1, 0), GAN_OK);
    size_t size, again;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *buf = malloc(size), *buf2 = malloc(size);
    assert_non_null(buf);
    assert_non_null(buf2);
    assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&loaded, buf, size), GAN_OK);
    assert_int_equal(gan_net_num_params(loaded), gan_net_num_params(n));
    assert_int_equal(gan_net_num_layers(loaded), gan_net_num_layers(n));
    assert_int_equal(gan_layer_kind(gan_net_layer(loaded, 3)), GAN_LAYER_CONV2D_TRANSPOSE);
    assert_int_equal(gan_layer_num_params(gan_net_layer(loaded, 3)), 16 * 16 * 8 + (bias ? 8 : 0));
    assert_int_equal(gan_net_forward(loaded, z, B, y2, 0), GAN_OK);
    assert_memory_equal(y1, y2, sizeof y1);
    assert_int_equal(gan_net_save_mem(loaded, buf2, size, &again), GAN_OK);
    assert_int_equal(again, size);
    assert_memory_equal(buf, buf2, size);
    gan_net_free(loaded);
    free(buf), free(buf2);
    gan_net_free(n);

    /* A discriminator, its convolutions first. */
    n = dcgan_d(3, 28, bias);
    fill(rng, gan_net_params(n), gan_net_num_params(n), -0.3f, 0.3f);
    static float x[B * 28 * 28 * 3], p1[B], p2[B];
    fill(rng, x, B * 28 * 28 * 3, -1.0f, 1.0f);
    assert_int_equal(gan_net_forward(n, x, B, p1, 0), GAN_OK);
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&loaded, buf, size), GAN_OK);
    assert_int_equal(gan_layer_kind(gan_net_layer(loaded, 0)), GAN_LAYER_CONV2D);
    assert_int_equal(gan_layer_num_params(gan_net_layer(loaded, 0)), 16 * 3 * 8 + (bias ? 8 : 0));
    assert_int_equal(gan_net_forward(loaded, x, B, p2, 0), GAN_OK);
    assert_memory_equal(p1, p2, sizeof p1);
    gan_net_free(loaded);
    free(buf);
    gan_net_free(n);
    gan_rng_free(rng);
}

static void file_round_trip(void **state)
{
    (void)state;
    round_trip(1);
    round_trip(0);
}

/* The encodings field by field, and what the decoders refuse. */
static void encodings_and_decoding(void **state)
{
    (void)state;
    gan_layer *l, *d;
    uint8_t enc[GAN__ENCODING_CAP];
    assert_int_equal(gan_layer_conv2d(&l, 3, 64, 4, 2, 1), GAN_OK);
    assert_int_equal(l->ops->encode(l, NULL), 44);
    assert_int_equal(l->ops->encode(l, enc), 44);
    static const uint8_t want[44] = {3, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0,
                                     0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(enc, want, 44);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    l->ops->encode(l, enc);
    assert_int_equal(enc[40], 1);
    assert_int_equal(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 44, 2, 3 * 28 * 28), GAN_OK);
    assert_int_equal(gan_layer_kind(d), GAN_LAYER_CONV2D);
    assert_int_equal(gan_layer_num_params(d), 16 * 3 * 64);
    gan_layer_free(d);
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 44, 1, 3 * 28 * 28), GAN_EFORMAT,
                  "conv2d layers came with format version 2");
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 40, 2, 1), GAN_EFORMAT,
                  "a conv2d record of 40 bytes, not 44");
    enc[40] = 3;
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 44, 2, 1), GAN_EFORMAT, "conv2d: flags 0x3");
    enc[40] = 0;
    enc[16] = 0; /* kernel 0 */
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 44, 2, 1), GAN_EINVAL, "must be positive");
    memset(enc + 16, 0xff, 8); /* kernel 2^64 - 1 */
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D, enc, 44, 2, 1), GAN_EINVAL, "exceeds");
    assert_null(d);
    gan_layer_free(l);

    assert_int_equal(gan_layer_conv2d_transpose(&l, 128, 64, 4, 2, 1, 1), GAN_OK);
    assert_int_equal(l->ops->encode(l, enc), 52);
    assert_int_equal(enc[0], 128);
    assert_int_equal(enc[8], 64);
    assert_int_equal(enc[40], 1); /* output padding */
    assert_int_equal(enc[48], 0); /* flags: biases */
    assert_int_equal(gan__layer_decode(&d, GAN_LAYER_CONV2D_TRANSPOSE, enc, 52, 2, 128 * 7 * 7), GAN_OK);
    assert_int_equal(gan_layer_num_params(d), 128 * 16 * 64 + 64);
    gan_layer_free(d);
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D_TRANSPOSE, enc, 52, 1, 1), GAN_EFORMAT,
                  "conv2d_transpose layers came with format version 2");
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D_TRANSPOSE, enc, 44, 2, 1), GAN_EFORMAT,
                  "a conv2d_transpose record of 44 bytes, not 52");
    enc[40] = 2; /* output padding = stride */
    assert_status(gan__layer_decode(&d, GAN_LAYER_CONV2D_TRANSPOSE, enc, 52, 2, 1), GAN_EINVAL,
                  "output padding 2 must be less than the stride 2");
    gan_layer_free(l);
}

/* Descriptions, as messages show them. */
static void descriptions(void **state)
{
    (void)state;
    char buf[GAN__DESCRIBE_CAP];
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 1, 28, 28), GAN_OK);
    add(n, gan_layer_conv2d(&l, 1, 64, 4, 2, 1), &l);
    assert_int_equal(gan_layer_conv2d(&l, 64, 128, 4, 2, 1), GAN_OK);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    l->ops->describe(l, buf, sizeof buf);
    assert_string_equal(buf, "conv2d 64->128 k4 s2 p1 without bias"); /* not placed yet */
    add(n, GAN_OK, &l);
    gan__net_describe_layer(n, 0, buf, sizeof buf);
    assert_string_equal(buf, "conv2d 1->64 k4 s2 p1 on 28x28");
    gan__net_describe_layer(n, 1, buf, sizeof buf);
    assert_string_equal(buf, "conv2d 64->128 k4 s2 p1 on 14x14 without bias");
    add(n, gan_layer_conv2d_transpose(&l, 128, 64, 4, 2, 1, 0), &l);
    gan__net_describe_layer(n, 2, buf, sizeof buf);
    assert_string_equal(buf, "conv2d_transpose 128->64 k4 s2 p1 op0 on 7x7");
    gan_net_free(n);
}

/* --------------------------------------------------------------- init, steady */

/* Weights by the scheme with fan_in k*k*cin (DCGAN: std 0.02 * scale; He: std
 * sqrt(2 / fan_in)); biases zero. */
static void init_schemes(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++)
        for (int scheme = 0; scheme < 2; scheme++) {
            gan_net *n;
            gan_layer *l;
            assert_int_equal(gan_net_create_image(&n, 16, 8, 8), GAN_OK);
            if (kind) assert_int_equal(gan_layer_conv2d_transpose(&l, 16, 32, 4, 2, 1, 0), GAN_OK);
            else assert_int_equal(gan_layer_conv2d(&l, 16, 32, 4, 2, 1), GAN_OK);
            add(n, GAN_OK, &l);
            float *p = gan_net_params(n);
            size_t nw = 16 * 16 * 32, np = gan_net_num_params(n);
            assert_int_equal(np, nw + 32);
            for (size_t i = 0; i < np; i++) p[i] = 7.0f;
            gan_rng *rng = new_rng(1100 + (uint64_t)(2 * kind + scheme));
            assert_int_equal(gan_net_init(n, rng, scheme ? GAN_INIT_HE : GAN_INIT_DCGAN, 0.5f), GAN_OK);
            double sum = 0.0, sq = 0.0;
            for (size_t i = 0; i < nw; i++) sum += p[i], sq += (double)p[i] * p[i];
            double mean = sum / nw, sd = sqrt(sq / nw - mean * mean);
            double want = scheme ? 0.5 * sqrt(2.0 / (16 * 16)) : 0.5 * 0.02;
            if (fabs(sd - want) > 0.05 * want) fail_msg("kind %d scheme %d: std %g, expected %g", kind, scheme, sd, want);
            if (fabs(mean) > 0.05 * want) fail_msg("kind %d scheme %d: mean %g", kind, scheme, mean);
            for (size_t i = nw; i < np; i++) assert_true(p[i] == 0.0f);
            gan_rng_free(rng);
            gan_net_free(n);
        }
}

/* A DCGAN step's passes (G forward, D forward, D backward to its input, G backward),
 * repeated: after the first nothing is allocated, nor at a smaller batch. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    gan_net *g = dcgan_g(8, 1, 0), *d = dcgan_d(1, 28, 1);
    gan_rng *r = new_rng(1200);
    assert_int_equal(gan_net_init(g, r, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(d, r, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    enum { B = 4 };
    static float z[B * 8], x[B * 28 * 28], p[B], dp[B], dx[B * 28 * 28];
    fill(r, z, B * 8, -1.0f, 1.0f);
    fill(r, dp, B, -1.0f, 1.0f);
    size_t after_first = 0;
    for (int step = 0; step < 3; step++) {
        if (step == 1) after_first = test_alloc.allocs;
        assert_int_equal(gan_net_zero_grads(g), GAN_OK);
        assert_int_equal(gan_net_zero_grads(d), GAN_OK);
        assert_int_equal(gan_net_forward(g, z, B, x, 1), GAN_OK);
        assert_int_equal(gan_net_forward(d, x, B, p, 1), GAN_OK);
        assert_int_equal(gan__net_backward_ex(d, dp, dx, GAN__GRADS_NONE), GAN_OK);
        assert_int_equal(gan__net_backward_ex(d, dp, NULL, GAN__GRADS_SET), GAN_OK);
        assert_int_equal(gan_net_backward(g, dx, NULL), GAN_OK);
    }
    assert_int_equal(test_alloc.allocs, after_first);
    assert_int_equal(gan_net_forward(g, z, B / 2, x, 1), GAN_OK);
    assert_int_equal(gan_net_backward(g, x, NULL), GAN_OK);
    assert_int_equal(test_alloc.allocs, after_first);
    gan_rng_free(r);
    gan_net_free(g);
    gan_net_free(d);
}

/* -------------------------------------------------------------------- trainer */

static int image_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload; (void)cond;
    return gan_rng_fill_uniform(rng, x, batch * 28 * 28, -1.0f, 1.0f);
}

typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
} rig;

static void rig_make(rig *r, uint64_t init_seed)
{
    r->g = dcgan_g(8, 1, 0);
    r->d = dcgan_d(1, 28, 1);
    gan_rng *rng = new_rng(init_seed);
    assert_int_equal(gan_net_init(r->g, rng, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(r->d, rng, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    gan_rng_free(rng);
    assert_int_equal(gan_optim_adam(&r->og, 2e-4f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(&r->od, 2e-4f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&r->t, r->g, r->d, r->og, r->od), GAN_OK);
    assert_int_equal(gan_trainer_set_data(r->t, image_data, NULL), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(r->t, 2), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(r->t, 1300), GAN_OK);
}

/* A DCGAN of both kinds trains (the trainer overwrites D's gradients, skips them when G
 * trains, and asks D for its input gradient only), a checkpoint taken in between resumes
 * to the same bits, and warmed-up steps allocate nothing. */
static void trains_in_a_trainer(void **state)
{
    (void)state;
    rig a, b;
    rig_make(&a, 1);
    gan_step_stats st = {.size = sizeof st};
    assert_int_equal(gan_trainer_step(a.t, &st), GAN_OK);
    assert_true(isfinite(st.loss_d) && isfinite(st.loss_g));
    assert_true(st.grad_norm_d > 0.0 && st.grad_norm_g > 0.0);
    image ck = snap(a.t);
    rig_make(&b, 2);
    assert_int_equal(gan_trainer_load_mem(b.t, ck.b, ck.n), GAN_OK);
    assert_same_image(b.t, &ck);
    assert_int_equal(gan_trainer_step(a.t, &st), GAN_OK);
    assert_int_equal(gan_trainer_step(b.t, &st), GAN_OK);
    image after = snap(a.t);
    assert_same_image(b.t, &after);
    assert_steady_steps_allocate_nothing(a.t, 2);
    /* The trainer's steps ran G and D on its one block (gradients, column buffers); their
     * own are made by their first call outside it, and then give the same values. */
    assert_null(a.g->own.buf);
    assert_null(a.d->own.buf);
    float z[2 * 8], x[2 * 28 * 28], x2[2 * 28 * 28];
    for (size_t i = 0; i < 2 * 8; i++) z[i] = 0.1f * (float)i - 0.7f;
    assert_int_equal(gan_trainer_generate(a.t, z, NULL, 2, x), GAN_OK);
    assert_null(a.g->own.buf);
    assert_int_equal(gan_net_forward(a.g, z, 2, x2, 0), GAN_OK);
    assert_non_null(a.g->own.buf);
    assert_null(a.g->lent);
    assert_memory_equal(x, x2, sizeof x);
    free(ck.b), free(after.b);
    free_gan(a.t, a.og, a.od, a.g, a.d);
    free_gan(b.t, b.og, b.od, b.g, b.d);
}

/* ------------------------------------------------------------------- runner */


int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(conv_forward_matches_reference),
        TEST(conv_transpose_forward_matches_reference),
        TEST(output_sizes_follow_pytorch),
        TEST(transpose_is_the_adjoint),
        TEST(grad_conv),
        TEST(grad_conv_transpose),
        TEST(grad_spectral_norm),
        TEST(grad_conv_stacks),
        TEST(chunked_backward_and_grads_modes),
        TEST(backward_accumulates),
        TEST(constructor_arguments),
        TEST(misfits_are_refused),
        TEST(allocation_failures),
        TEST(file_round_trip),
        TEST(encodings_and_decoding),
        TEST(descriptions),
        TEST(init_schemes),
        TEST(steady_state_allocates_nothing),
        TEST(trains_in_a_trainer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
