/* The layer kinds for graphs (issue 25): concat, add, slice, tile, upsample, avgpool,
 * global_sum, modulate and dot. Each against a straightforward double-precision reference
 * written here from the definitions in docs/layers.md (value (y, x, c) of a row at
 * ((y * W) + x) * C + c): forward values, central differences of the reference for every
 * input gradient (the kinds are linear or bilinear, so the differences are exact up to
 * rounding and the tolerance is strict), a gradient buffer full of NaN that backward must
 * overwrite, refusals with their messages, encodings, descriptions and files.
 *
 * The single-input kinds run in chain nets (gan_net_add). The kinds of several inputs are
 * driven through their ops (place_n, forward_n, backward_n) directly, which is why this
 * test links the library's objects, and in graphs built with gan_net_add_from. */
#include "test_util.h"
#include "layer_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

#define FD_STEP 1e-3   /* central-difference step on the double copy (the kinds are (bi)linear) */
#define GRAD_TOL 1e-5  /* |library - numeric| <= GRAD_TOL * max(1, |numeric|) */
#define FWD_TOL 1e-5   /* library forward against the reference, same form */
#define MAX_IN 4       /* inputs of the multi-input cases here */

/* ------------------------------------------------------------------ helpers */

static gan_shape shape(size_t c, size_t h, size_t w) { return (gan_shape){c, h, w}; }
static size_t size_of(gan_shape s) { return s.c * s.h * s.w; }

/* Value (y, x, c) of row b of a batch of shape s. */
static size_t at(gan_shape s, size_t b, size_t y, size_t x, size_t c) { return ((b * s.h + y) * s.w + x) * s.c + c; }

static float *nan_filled(size_t n)
{
    float *p = xcalloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static void assert_describes(const gan_layer *l, const char *want)
{
    char buf[GAN__DESCRIBE_CAP];
    gan__layer_describe(l, buf, sizeof buf);
    if (strcmp(buf, want) != 0) fail_msg("described as '%s', not '%s'", buf, want);
}

/* ------------------------------------------------------- the references */

/* One kind's reference: its hyperparameters, its input shapes and its output shape. */
typedef struct spec {
    int kind; /* GAN_LAYER_* */
    size_t a, b;   /* slice first, count; tile height, width; upsample factor; avgpool size */
    size_t n;      /* inputs */
    gan_shape in[MAX_IN], out;
} spec;

/* y (batch rows of s->out) from the inputs x[k] (batch rows of s->in[k]), in double, by the
 * definition, loop by loop over output values. */
static void ref_kind(const spec *s, const double *const *x, size_t batch, double *y)
{
    gan_shape in = s->in[0], out = s->out;
    for (size_t b = 0; b < batch; b++)
        for (size_t oy = 0; oy < out.h; oy++)
            for (size_t ox = 0; ox < out.w; ox++)
                for (size_t c = 0; c < out.c; c++) {
                    double v = 0.0;
                    switch (s->kind) {
                    case GAN_LAYER_SLICE:
                        v = x[0][at(in, b, oy, ox, s->a + c)];
                        break;
                    case GAN_LAYER_TILE:
                        v = x[0][b * in.c + c];
                        break;
                    case GAN_LAYER_UPSAMPLE:
                        v = x[0][at(in, b, oy / s->a, ox / s->a, c)];
                        break;
                    case GAN_LAYER_AVGPOOL:
                        for (size_t ky = 0; ky < s->a; ky++)
                            for (size_t kx = 0; kx < s->a; kx++)
                                v += x[0][at(in, b, oy * s->a + ky, ox * s->a + kx, c)];
                        v /= (double)(s->a * s->a);
                        break;
                    case GAN_LAYER_GLOBAL_SUM:
                        for (size_t iy = 0; iy < in.h; iy++)
                            for (size_t ix = 0; ix < in.w; ix++) v += x[0][at(in, b, iy, ix, c)];
                        break;
                    case GAN_LAYER_CONCAT: {
                        size_t k = 0, first = 0;
                        while (c >= first + s->in[k].c) first += s->in[k++].c;
                        v = x[k][at(s->in[k], b, oy, ox, c - first)];
                        break;
                    }
                    case GAN_LAYER_ADD:
                        for (size_t k = 0; k < s->n; k++) v += x[k][at(in, b, oy, ox, c)];
                        break;
                    case GAN_LAYER_MODULATE: {
                        const double *sv = x[1] + b * 2 * in.c; /* s in any shape: its flat row */
                        v = x[0][at(in, b, oy, ox, c)] * (1.0 + sv[c]) + sv[in.c + c];
                        break;
                    }
                    case GAN_LAYER_DOT:
                        for (size_t i = 0, m = size_of(in); i < m; i++) v += x[0][b * m + i] * x[1][b * m + i];
                        break;
                    default:
                        fail_msg("no reference of kind %d", s->kind);
                    }
                    y[at(out, b, oy, ox, c)] = v;
                }
}

static spec one(int kind, gan_shape in, gan_shape out, size_t a, size_t b)
{
    return (spec){.kind = kind, .a = a, .b = b, .n = 1, .in = {in}, .out = out};
}

static int make_single(const spec *s, gan_layer **l)
{
    switch (s->kind) {
    case GAN_LAYER_SLICE: return gan_layer_slice(l, s->a, s->b);
    case GAN_LAYER_TILE: return gan_layer_tile(l, s->a, s->b);
    case GAN_LAYER_UPSAMPLE: return gan_layer_upsample(l, s->a);
    case GAN_LAYER_AVGPOOL: return gan_layer_avgpool(l, s->a);
    case GAN_LAYER_GLOBAL_SUM: return gan_layer_global_sum(l);
    default: fail_msg("kind %d takes several inputs", s->kind);
    }
    return GAN_EINVAL;
}

static int make_multi(const spec *s, gan_layer **l)
{
    switch (s->kind) {
    case GAN_LAYER_CONCAT: return gan_layer_concat(l, s->n);
    case GAN_LAYER_ADD: return gan_layer_add(l, s->n);
    case GAN_LAYER_MODULATE: return gan_layer_modulate(l);
    case GAN_LAYER_DOT: return gan_layer_dot(l);
    default: fail_msg("kind %d takes one input", s->kind);
    }
    return GAN_EINVAL;
}

/* ------------------------------------------------ whole nets against a reference */

/* A net's reference: y (batch x out_dim) from x (batch x in_dim). */
typedef void (*net_ref)(const void *ctx, const double *x, size_t batch, double *y);

static void spec_ref(const void *ctx, const double *x, size_t batch, double *y)
{
    ref_kind(ctx, (const double *const[]){x}, batch, y);
}

static double loss_of(net_ref ref, const void *ctx, const double *x, size_t batch, const double *dy, double *y,
                      size_t ny)
{
    ref(ctx, x, batch, y);
    return dot(dy, y, ny);
}

/* The net file of n, malloc'ed. */
static uint8_t *saved(const gan_net *n, size_t *size)
{
    assert_int_equal(gan_net_save_mem(n, NULL, 0, size), GAN_OK);
    uint8_t *b = xcalloc(*size, 1);
    assert_int_equal(gan_net_save_mem(n, b, *size, size), GAN_OK);
    return b;
}

/* The forward against the reference (training and evaluation alike), the input gradient
 * against central differences of L = sum(dy .* y), a NaN-filled dx overwritten, a NULL dx
 * skipped; then the net saved, loaded and saved again: the same bytes, the same output. */
static void check_net(gan_net *net, net_ref ref, const void *ctx, size_t batch, uint64_t seed)
{
    size_t nx = batch * gan_net_in_dim(net), ny = batch * gan_net_out_dim(net);
    float *x = xcalloc(nx, sizeof *x), *y = xcalloc(ny, sizeof *y), *y_eval = xcalloc(ny, sizeof *y);
    float *dy = xcalloc(ny, sizeof *dy), *dx = nan_filled(nx);
    double *xd = xcalloc(nx, sizeof *xd), *yd = xcalloc(ny, sizeof *yd), *dyd = xcalloc(ny, sizeof *dyd);
    gan_rng *rng = new_rng(seed);
    fill(rng, x, nx, -1.0f, 1.0f);
    fill(rng, dy, ny, -1.0f, 1.0f);
    to_double(x, xd, nx);
    to_double(dy, dyd, ny);

    assert_int_equal(gan_net_forward(net, x, batch, y_eval, 0), GAN_OK);
    assert_int_equal(gan_net_forward(net, x, batch, y, 1), GAN_OK);
    assert_memory_equal(y, y_eval, ny * sizeof *y);
    ref(ctx, xd, batch, yd);
    for (size_t i = 0; i < ny; i++) assert_close(y[i], yd[i], FWD_TOL, "forward y", i);

    assert_int_equal(gan_net_backward(net, dy, dx), GAN_OK);
    for (size_t i = 0; i < nx; i++) {
        double saved_x = xd[i];
        xd[i] = saved_x + FD_STEP;
        double plus = loss_of(ref, ctx, xd, batch, dyd, yd, ny);
        xd[i] = saved_x - FD_STEP;
        double minus = loss_of(ref, ctx, xd, batch, dyd, yd, ny);
        xd[i] = saved_x;
        assert_close(dx[i], (plus - minus) / (2 * FD_STEP), GRAD_TOL, "dL/dx", i);
    }
    assert_int_equal(gan_net_forward(net, x, batch, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(net, dy, NULL), GAN_OK);

    size_t size, size2;
    uint8_t *file = saved(net, &size);
    gan_net *back = NULL;
    assert_int_equal(gan_net_load_mem(&back, file, size), GAN_OK);
    assert_int_equal(gan_net_num_layers(back), gan_net_num_layers(net));
    uint8_t *again = saved(back, &size2);
    assert_int_equal(size2, size);
    assert_memory_equal(again, file, size);
    assert_int_equal(gan_net_forward(back, x, batch, y_eval, 1), GAN_OK);
    assert_memory_equal(y, y_eval, ny * sizeof *y);
    for (size_t i = 0; i < gan_net_num_layers(net); i++)
        assert_int_equal(gan_layer_kind(gan_net_layer(back, i)), gan_layer_kind(gan_net_layer(net, i)));

    gan_net_free(back);
    free(file), free(again);
    gan_rng_free(rng);
    free(x), free(y), free(y_eval), free(dy), free(dx), free(xd), free(yd), free(dyd);
}

/* A net of the one layer on s's input shape, checked as check_net does, its output shape
 * and description too. */
static void check_single(const spec *s, const char *describes, uint64_t seed)
{
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&net, s->in[0].c, s->in[0].h, s->in[0].w), GAN_OK);
    add(net, make_single(s, &l), &l);
    size_t c, h, w;
    assert_int_equal(gan_net_out_shape(net, &c, &h, &w), GAN_OK);
    if (c != s->out.c || h != s->out.h || w != s->out.w)
        fail_msg("kind %d gives %zux%zux%zu, not %zux%zux%zu", s->kind, c, h, w, s->out.c, s->out.h, s->out.w);
    assert_int_equal(gan_layer_kind(gan_net_layer(net, 0)), s->kind);
    assert_int_equal(gan_layer_num_params(gan_net_layer(net, 0)), 0);
    assert_int_equal(gan_net_num_state(net), 0);
    assert_describes(gan_net_layer(net, 0), describes);
    check_net(net, spec_ref, s, 3, seed);
    gan_net_free(net);
}

/* ------------------------------------------------------ single-input kinds */

static void slice_values_and_gradients(void **state)
{
    (void)state;
    spec s = one(GAN_LAYER_SLICE, shape(10, 1, 1), shape(3, 1, 1), 2, 3); /* a vector: elements */
    check_single(&s, "slice [2, 5) of 10", 11);
    s = one(GAN_LAYER_SLICE, shape(4, 3, 2), shape(2, 3, 2), 1, 2);
    check_single(&s, "slice [1, 3) of 4", 12);
    s = one(GAN_LAYER_SLICE, shape(4, 2, 2), shape(4, 2, 2), 0, 4); /* all of it */
    check_single(&s, "slice [0, 4) of 4", 13);
    s = one(GAN_LAYER_SLICE, shape(5, 2, 1), shape(1, 2, 1), 4, 1); /* the last channel */
    check_single(&s, "slice [4, 5) of 5", 14);
}

static void tile_values_and_gradients(void **state)
{
    (void)state;
    spec s = one(GAN_LAYER_TILE, shape(5, 1, 1), shape(5, 3, 2), 3, 2);
    check_single(&s, "tile 5 to 5x3x2", 21);
    s = one(GAN_LAYER_TILE, shape(3, 1, 1), shape(3, 1, 1), 1, 1);
    check_single(&s, "tile 3 to 3x1x1", 22);
    s = one(GAN_LAYER_TILE, shape(1, 1, 1), shape(1, 4, 4), 4, 4);
    check_single(&s, "tile 1 to 1x4x4", 23);
}

static void upsample_values_and_gradients(void **state)
{
    (void)state;
    spec s = one(GAN_LAYER_UPSAMPLE, shape(3, 2, 3), shape(3, 4, 6), 2, 0);
    check_single(&s, "upsample x2 to 3x4x6", 31);
    s = one(GAN_LAYER_UPSAMPLE, shape(2, 2, 1), shape(2, 6, 3), 3, 0);
    check_single(&s, "upsample x3 to 2x6x3", 32);
    s = one(GAN_LAYER_UPSAMPLE, shape(2, 2, 2), shape(2, 2, 2), 1, 0);
    check_single(&s, "upsample x1 to 2x2x2", 33);
    s = one(GAN_LAYER_UPSAMPLE, shape(1, 1, 1), shape(1, 16, 16), 16, 0);
    check_single(&s, "upsample x16 to 1x16x16", 34);
}

static void avgpool_values_and_gradients(void **state)
{
    (void)state;
    spec s = one(GAN_LAYER_AVGPOOL, shape(3, 4, 6), shape(3, 2, 3), 2, 0);
    check_single(&s, "avgpool 2x2 to 3x2x3", 41);
    s = one(GAN_LAYER_AVGPOOL, shape(2, 3, 6), shape(2, 1, 2), 3, 0);
    check_single(&s, "avgpool 3x3 to 2x1x2", 42);
    s = one(GAN_LAYER_AVGPOOL, shape(2, 2, 2), shape(2, 2, 2), 1, 0);
    check_single(&s, "avgpool 1x1 to 2x2x2", 43);
}

static void global_sum_values_and_gradients(void **state)
{
    (void)state;
    spec s = one(GAN_LAYER_GLOBAL_SUM, shape(4, 3, 2), shape(4, 1, 1), 0, 0);
    check_single(&s, "global_sum of 4x3x2 to 4", 51);
    s = one(GAN_LAYER_GLOBAL_SUM, shape(5, 1, 1), shape(5, 1, 1), 0, 0);
    check_single(&s, "global_sum of 5x1x1 to 5", 52);
    s = one(GAN_LAYER_GLOBAL_SUM, shape(1, 4, 4), shape(1, 1, 1), 0, 0);
    check_single(&s, "global_sum of 1x4x4 to 1", 53);
}

/* Values by hand, independent of the reference above: the layout is HWC. */
static void values_by_hand(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    /* upsample x2 of a 1x2 image of 2 channels: pixels (a0, a1) and (b0, b1) */
    assert_int_equal(gan_net_create_image(&n, 2, 1, 2), GAN_OK);
    add(n, gan_layer_upsample(&l, 2), &l);
    const float x[4] = {1, 2, 3, 4};
    float y[16];
    assert_int_equal(gan_net_forward(n, x, 1, y, 0), GAN_OK);
    const float up[16] = {1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4};
    assert_memory_equal(y, up, sizeof up);
    /* then avgpool 2 gives the input back */
    add(n, gan_layer_avgpool(&l, 2), &l);
    assert_int_equal(gan_net_forward(n, x, 1, y, 0), GAN_OK);
    assert_memory_equal(y, x, sizeof x);
    /* then global_sum: per channel 1 + 3, 2 + 4 */
    add(n, gan_layer_global_sum(&l), &l);
    assert_int_equal(gan_net_forward(n, x, 1, y, 0), GAN_OK);
    assert_true(y[0] == 4.0f && y[1] == 6.0f);
    /* tile 1x2 of it, then channel 1 */
    add(n, gan_layer_tile(&l, 1, 2), &l);
    add(n, gan_layer_slice(&l, 1, 1), &l);
    assert_int_equal(gan_net_forward(n, x, 1, y, 0), GAN_OK);
    assert_true(y[0] == 6.0f && y[1] == 6.0f);
    assert_int_equal(gan_net_out_dim(n), 2);
    /* backward: slice puts zeros on channel 0, tile sums the two pixels, global_sum
     * repeats, avgpool spreads a quarter, upsample sums its blocks back */
    float dy[2] = {1.0f, 2.0f}, dx[4];
    assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
    const float want[4] = {0, 3, 0, 3};
    assert_memory_equal(dx, want, sizeof want);
    gan_net_free(n);
}

/* The single-input kinds in one chain, after a layer with parameters: vector -> tile ->
 * upsample -> avgpool -> slice -> global_sum, all in one file. */
typedef struct {
    gan_net *net;
} chain_ctx;

static void chain_ref(const void *ctx, const double *x, size_t batch, double *y)
{
    (void)ctx;
    spec t = one(GAN_LAYER_TILE, shape(6, 1, 1), shape(6, 2, 2), 2, 2);
    spec u = one(GAN_LAYER_UPSAMPLE, shape(6, 2, 2), shape(6, 4, 4), 2, 0);
    spec a = one(GAN_LAYER_AVGPOOL, shape(6, 4, 4), shape(6, 2, 2), 2, 0);
    spec s = one(GAN_LAYER_SLICE, shape(6, 2, 2), shape(3, 2, 2), 1, 3);
    spec g = one(GAN_LAYER_GLOBAL_SUM, shape(3, 2, 2), shape(3, 1, 1), 0, 0);
    double *b1 = xcalloc(batch * 96, sizeof *b1), *b2 = xcalloc(batch * 96, sizeof *b2);
    spec_ref(&t, x, batch, b1);
    spec_ref(&u, b1, batch, b2);
    spec_ref(&a, b2, batch, b1);
    spec_ref(&s, b1, batch, b2);
    spec_ref(&g, b2, batch, y);
    free(b1);
    free(b2);
}

static void single_kinds_in_a_chain(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 6), GAN_OK);
    add(n, gan_layer_tile(&l, 2, 2), &l);
    add(n, gan_layer_upsample(&l, 2), &l);
    add(n, gan_layer_avgpool(&l, 2), &l);
    add(n, gan_layer_slice(&l, 1, 3), &l);
    add(n, gan_layer_global_sum(&l), &l);
    assert_int_equal(gan_net_out_dim(n), 3);
    check_net(n, chain_ref, NULL, 4, 61);
    gan_net_free(n);
}

/* Arguments the constructors refuse, naming themselves; *out NULL. */
static void constructor_refusals(void **state)
{
    (void)state;
    gan_layer *l = (gan_layer *)&l;
    assert_error(gan_layer_concat(NULL, 2), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_add(NULL, 2), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_slice(NULL, 0, 1), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_tile(NULL, 1, 1), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_upsample(NULL, 2), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_avgpool(NULL, 2), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_global_sum(NULL), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_modulate(NULL), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_layer_dot(NULL), GAN_EINVAL, "'out' is NULL");

    assert_error(gan_layer_concat(&l, 1), GAN_EINVAL, "n_inputs must be in [2, 16], got 1");
    assert_null(l);
    assert_error(gan_layer_concat(&l, 17), GAN_EINVAL, "got 17");
    assert_error(gan_layer_concat(&l, 0), GAN_EINVAL, "got 0");
    assert_error(gan_layer_add(&l, 1), GAN_EINVAL, "n_inputs must be in [2, 16], got 1");
    assert_error(gan_layer_add(&l, SIZE_MAX), GAN_EINVAL, "n_inputs");
    assert_null(l);
    assert_error(gan_layer_slice(&l, 0, 0), GAN_EINVAL, "count must be at least 1");
    assert_error(gan_layer_slice(&l, INT_MAX, 1), GAN_EINVAL, "beyond");
    assert_error(gan_layer_slice(&l, 0, (size_t)INT_MAX + 1), GAN_EINVAL, "beyond");
    assert_error(gan_layer_slice(&l, SIZE_MAX, 2), GAN_EINVAL, "beyond");
    assert_null(l);
    assert_error(gan_layer_tile(&l, 0, 2), GAN_EINVAL, "height and width");
    assert_error(gan_layer_tile(&l, 2, 0), GAN_EINVAL, "height and width");
    assert_error(gan_layer_tile(&l, 65536, 65536), GAN_EINVAL, "height and width");
    assert_null(l);
    assert_error(gan_layer_upsample(&l, 0), GAN_EINVAL, "factor must be in [1, 16], got 0");
    assert_error(gan_layer_upsample(&l, 17), GAN_EINVAL, "factor must be in [1, 16], got 17");
    assert_error(gan_layer_avgpool(&l, 0), GAN_EINVAL, "size must be in [1, 16], got 0");
    assert_error(gan_layer_avgpool(&l, 17), GAN_EINVAL, "size must be in [1, 16], got 17");
    assert_null(l);

    /* the edges are accepted */
    assert_int_equal(gan_layer_slice(&l, INT_MAX - 1, 1), GAN_OK);
    gan_layer_free(l);
    assert_int_equal(gan_layer_concat(&l, 16), GAN_OK);
    gan_layer_free(l);
    assert_int_equal(gan_layer_upsample(&l, 16), GAN_OK);
    gan_layer_free(l);
    assert_int_equal(gan_layer_avgpool(&l, 1), GAN_OK);
    gan_layer_free(l);
    assert_int_equal(gan_layer_tile(&l, 1, INT_MAX), GAN_OK);
    assert_int_equal(gan_layer_kind(l), GAN_LAYER_TILE);
    assert_int_equal(gan_layer_num_params(l), 0);
    gan_layer_free(l);

    /* kinds without biases */
    assert_int_equal(gan_layer_concat(&l, 2), GAN_OK);
    assert_error(gan_layer_set_bias(l, 0), GAN_EINVAL, "concat layers have no bias");
    gan_layer_free(l);
    assert_int_equal(gan_layer_global_sum(&l), GAN_OK);
    assert_error(gan_layer_spectral_norm(l, 1), GAN_EINVAL, "global_sum layers have no weight matrix");
    gan_layer_free(l);
}

/* Each constructor's one allocation failing: GAN_ENOMEM naming it, nothing leaked. */
static void constructor_allocation_failures(void **state)
{
    (void)state;
    gan_layer *l;
    size_t f;
    SWEEP(f, gan_layer_concat(&l, 3), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
    SWEEP(f, gan_layer_add(&l, 2), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_slice(&l, 1, 2), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_tile(&l, 2, 2), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_upsample(&l, 2), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_avgpool(&l, 2), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_global_sum(&l), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_modulate(&l), assert_null(l));
    gan_layer_free(l);
    SWEEP(f, gan_layer_dot(&l), assert_null(l));
    assert_int_equal(f, 1);
    gan_layer_free(l);
}

/* Shapes gan_net_add refuses, with the layer's position and the shapes; the net unchanged. */
static void placement_refusals(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 10, 3, 4), GAN_OK);
    add(n, gan_layer_slice(&l, 0, 10), &l); /* layer 0: all of it */
    assert_int_equal(gan_layer_slice(&l, 2, 9), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL,
                 "slice layer 1 takes channels [2, 11) of an input of 10 channels (10x3x4)");
    gan_layer_free(l);
    assert_int_equal(gan_layer_tile(&l, 2, 2), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "tile layer 1 expects a vector (c x 1 x 1), got 10x3x4");
    gan_layer_free(l);
    assert_int_equal(gan_layer_avgpool(&l, 2), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "avgpool layer 1: a 3x4 input does not divide into 2x2 blocks");
    gan_layer_free(l);
    assert_int_equal(gan_layer_avgpool(&l, 3), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "avgpool layer 1: a 3x4 input does not divide into 3x3 blocks");
    gan_layer_free(l);
    assert_int_equal(gan_layer_avgpool(&l, 8), GAN_OK); /* larger than the input */
    assert_error(gan_net_add(n, l), GAN_EINVAL, "avgpool layer 1");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 1);
    size_t c, h, w;
    assert_int_equal(gan_net_out_shape(n, &c, &h, &w), GAN_OK);
    assert_true(c == 10 && h == 3 && w == 4);
    gan_net_free(n);

    /* outputs beyond INT_MAX values */
    assert_int_equal(gan_net_create_image(&n, 2, 32768, 16384), GAN_OK); /* 2^30 values */
    assert_int_equal(gan_layer_upsample(&l, 2), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL, "upsample layer 0: the shape 2 x 65536 x 32768");
    gan_layer_free(l);
    add(n, gan_layer_upsample(&l, 1), &l);
    add(n, gan_layer_avgpool(&l, 16), &l);
    add(n, gan_layer_global_sum(&l), &l);
    assert_int_equal(gan_net_out_dim(n), 2);
    assert_int_equal(gan_layer_tile(&l, 65536, 16384), GAN_OK); /* 2^30 pixels of 2 channels */
    assert_error(gan_net_add(n, l), GAN_EINVAL, "tile layer 3: the shape 2 x 65536 x 16384");
    gan_layer_free(l);
    gan_net_free(n);
}

/* ------------------------------------------------------ several inputs, by their ops */

static spec multi(int kind, size_t n, const gan_shape *in, gan_shape out)
{
    spec s = {.kind = kind, .n = n, .out = out};
    for (size_t k = 0; k < n; k++) s.in[k] = in[k];
    return s;
}

/* Place the layer (as layer 3) on s's inputs, then forward against the reference and
 * every input's gradient against central differences, each dx[k] NaN-filled before; then
 * again with each dx[k] in turn NULL (the others the same). */
static void check_multi(const spec *s, const char *describes, uint64_t seed)
{
    enum { BATCH = 3 };
    gan_layer *l;
    assert_int_equal(make_multi(s, &l), GAN_OK);
    assert_int_equal(l->n_in, s->n);
    assert_null(l->ops->place);
    assert_non_null(l->ops->forward_n);
    assert_int_equal(l->ops->place_n(l, s->in, s->n, 3), GAN_OK);
    assert_true(l->out.c == s->out.c && l->out.h == s->out.h && l->out.w == s->out.w);
    assert_true(l->in.c == s->in[0].c && l->in.h == s->in[0].h && l->in.w == s->in[0].w);
    assert_int_equal(l->n_params, 0);
    assert_describes(l, describes);

    gan_rng *rng = new_rng(seed);
    size_t ny = BATCH * size_of(s->out), nx[MAX_IN];
    float *x[MAX_IN], *dx[MAX_IN], *dx2[MAX_IN];
    double *xd[MAX_IN];
    for (size_t k = 0; k < s->n; k++) {
        nx[k] = BATCH * size_of(s->in[k]);
        x[k] = xcalloc(nx[k], sizeof(float));
        fill(rng, x[k], nx[k], -1.0f, 1.0f);
        xd[k] = xcalloc(nx[k], sizeof(double));
        to_double(x[k], xd[k], nx[k]);
        dx[k] = nan_filled(nx[k]);
        dx2[k] = nan_filled(nx[k]);
    }
    float *y = nan_filled(ny), *dy = xcalloc(ny, sizeof *dy);
    double *yd = xcalloc(ny, sizeof *yd), *dyd = xcalloc(ny, sizeof *dyd);
    fill(rng, dy, ny, -1.0f, 1.0f);
    to_double(dy, dyd, ny);

    l->ops->forward_n(l, (const float *const *)x, BATCH, y, GAN__TRAIN, NULL);
    ref_kind(s, (const double *const *)xd, BATCH, yd);
    for (size_t i = 0; i < ny; i++) assert_close(y[i], yd[i], FWD_TOL, "forward y", i);

    l->ops->backward_n(l, (const float *const *)x, y, dy, BATCH, dx, GAN__GRADS_ADD);
    for (size_t k = 0; k < s->n; k++)
        for (size_t i = 0; i < nx[k]; i++) {
            double saved_x = xd[k][i], plus, minus;
            xd[k][i] = saved_x + FD_STEP;
            ref_kind(s, (const double *const *)xd, BATCH, yd);
            plus = dot(dyd, yd, ny);
            xd[k][i] = saved_x - FD_STEP;
            ref_kind(s, (const double *const *)xd, BATCH, yd);
            minus = dot(dyd, yd, ny);
            xd[k][i] = saved_x;
            char what[32];
            snprintf(what, sizeof what, "dL/dx%zu", k);
            assert_close(dx[k][i], (plus - minus) / (2 * FD_STEP), GRAD_TOL, what, i);
        }
    /* each gradient skipped in turn: the others as before, the skipped one untouched */
    for (size_t skip_k = 0; skip_k < s->n; skip_k++) {
        float *some[MAX_IN];
        for (size_t k = 0; k < s->n; k++) {
            for (size_t i = 0; i < nx[k]; i++) dx2[k][i] = NAN;
            some[k] = k == skip_k ? NULL : dx2[k];
        }
        l->ops->backward_n(l, (const float *const *)x, y, dy, BATCH, some, GAN__GRADS_NONE);
        for (size_t k = 0; k < s->n; k++)
            if (k == skip_k) {
                for (size_t i = 0; i < nx[k]; i++) assert_true(isnan(dx2[k][i]));
            } else {
                assert_memory_equal(dx2[k], dx[k], nx[k] * sizeof(float));
            }
    }

    for (size_t k = 0; k < s->n; k++) free(x[k]), free(xd[k]), free(dx[k]), free(dx2[k]);
    free(y), free(dy), free(yd), free(dyd);
    gan_rng_free(rng);
    gan_layer_free(l);
}

static void concat_values_and_gradients(void **state)
{
    (void)state;
    gan_shape in3[3] = {shape(2, 3, 2), shape(1, 3, 2), shape(3, 3, 2)};
    spec s = multi(GAN_LAYER_CONCAT, 3, in3, shape(6, 3, 2));
    check_multi(&s, "concat 3 inputs -> 6x3x2", 71);
    gan_shape vec[2] = {shape(3, 1, 1), shape(4, 1, 1)}; /* vectors end to end */
    s = multi(GAN_LAYER_CONCAT, 2, vec, shape(7, 1, 1));
    check_multi(&s, "concat 2 inputs -> 7x1x1", 72);
    gan_shape same[4] = {shape(1, 2, 2), shape(1, 2, 2), shape(1, 2, 2), shape(1, 2, 2)};
    s = multi(GAN_LAYER_CONCAT, 4, same, shape(4, 2, 2));
    check_multi(&s, "concat 4 inputs -> 4x2x2", 73);
}

static void add_values_and_gradients(void **state)
{
    (void)state;
    gan_shape in3[3] = {shape(2, 2, 3), shape(2, 2, 3), shape(2, 2, 3)};
    spec s = multi(GAN_LAYER_ADD, 3, in3, shape(2, 2, 3));
    check_multi(&s, "add 3 inputs of 2x2x3", 81);
    gan_shape in2[2] = {shape(5, 1, 1), shape(5, 1, 1)};
    s = multi(GAN_LAYER_ADD, 2, in2, shape(5, 1, 1));
    check_multi(&s, "add 2 inputs of 5x1x1", 82);
}

static void modulate_values_and_gradients(void **state)
{
    (void)state;
    gan_shape in[2] = {shape(3, 2, 2), shape(6, 1, 1)};
    spec s = multi(GAN_LAYER_MODULATE, 2, in, shape(3, 2, 2));
    check_multi(&s, "modulate 3x2x2 by 6", 91);
    gan_shape any[2] = {shape(2, 3, 1), shape(1, 2, 2)}; /* s of any shape with 2C values */
    s = multi(GAN_LAYER_MODULATE, 2, any, shape(2, 3, 1));
    check_multi(&s, "modulate 2x3x1 by 4", 92);
    gan_shape vec[2] = {shape(4, 1, 1), shape(8, 1, 1)};
    s = multi(GAN_LAYER_MODULATE, 2, vec, shape(4, 1, 1));
    check_multi(&s, "modulate 4x1x1 by 8", 93);
}

static void dot_values_and_gradients(void **state)
{
    (void)state;
    gan_shape in[2] = {shape(2, 2, 3), shape(12, 1, 1)}; /* equal sizes, any shapes */
    spec s = multi(GAN_LAYER_DOT, 2, in, shape(1, 1, 1));
    check_multi(&s, "dot of 2 x 12", 101);
    gan_shape one_each[2] = {shape(1, 1, 1), shape(1, 1, 1)};
    s = multi(GAN_LAYER_DOT, 2, one_each, shape(1, 1, 1));
    check_multi(&s, "dot of 2 x 1", 102);
}

/* Modulate by hand: y = x (1 + s[c]) + s[C + c] with C = 2 at two pixels. */
static void modulate_by_hand(void **state)
{
    (void)state;
    gan_layer *l;
    assert_int_equal(gan_layer_modulate(&l), GAN_OK);
    gan_shape in[2] = {shape(2, 1, 2), shape(4, 1, 1)};
    assert_int_equal(l->ops->place_n(l, in, 2, 0), GAN_OK);
    const float x[4] = {1, 2, 3, 4}, s[4] = {0.5f, -1.0f, 10.0f, 20.0f};
    float y[4];
    l->ops->forward_n(l, (const float *const[]){x, s}, 1, y, GAN__EVAL, NULL);
    const float want[4] = {11.5f, 20.0f, 14.5f, 20.0f};
    assert_memory_equal(y, want, sizeof want);
    gan_layer_free(l);
}

/* Shapes the multi-input kinds refuse, by position and input; the layer unplaced after. */
static void multi_input_refusals(void **state)
{
    (void)state;
    gan_layer *l;
    assert_int_equal(gan_layer_concat(&l, 2), GAN_OK);
    gan_shape c1[2] = {shape(2, 4, 4), shape(1, 8, 8)};
    assert_status(l->ops->place_n(l, c1, 2, 3), GAN_EINVAL, "concat layer 3: input 1 is 8x8, input 0 is 4x4");
    assert_int_equal(l->out.c, 0);
    gan_shape c2[2] = {shape(2, 4, 4), shape(1, 4, 5)};
    assert_status(l->ops->place_n(l, c2, 2, 3), GAN_EINVAL, "concat layer 3: input 1 is 4x5, input 0 is 4x4");
    gan_shape big[2] = {shape(1u << 30, 1, 1), shape(1u << 30, 1, 1)};
    assert_status(l->ops->place_n(l, big, 2, 3), GAN_EINVAL, "concat layer 3: the shape 2147483648 x 1 x 1");
    assert_status(l->ops->place_n(l, c1, 1, 3), GAN_EINVAL, "concat layer 3 takes 2 inputs, got 1");
    assert_int_equal(l->out.c, 0);
    gan_layer_free(l);

    assert_int_equal(gan_layer_add(&l, 3), GAN_OK);
    gan_shape a1[3] = {shape(2, 2, 3), shape(2, 2, 3), shape(2, 3, 2)};
    assert_status(l->ops->place_n(l, a1, 3, 5), GAN_EINVAL, "add layer 5: input 2 is 2x3x2, input 0 is 2x2x3");
    gan_shape a2[3] = {shape(2, 2, 3), shape(3, 2, 3), shape(2, 2, 3)};
    assert_status(l->ops->place_n(l, a2, 3, 5), GAN_EINVAL, "add layer 5: input 1 is 3x2x3, input 0 is 2x2x3");
    assert_status(l->ops->place_n(l, a2, 2, 5), GAN_EINVAL, "add layer 5 takes 3 inputs, got 2");
    assert_int_equal(l->out.c, 0);
    gan_layer_free(l);

    assert_int_equal(gan_layer_modulate(&l), GAN_OK);
    assert_int_equal(l->n_in, 2);
    gan_shape m1[2] = {shape(3, 2, 2), shape(5, 1, 1)};
    assert_status(l->ops->place_n(l, m1, 2, 1), GAN_EINVAL,
                  "modulate layer 1: input 1 has 5 values, not 6 (twice the 3 channels of input 0, 3x2x2)");
    gan_shape m2[2] = {shape(3, 2, 2), shape(12, 1, 1)}; /* x's size is not it either */
    assert_status(l->ops->place_n(l, m2, 2, 1), GAN_EINVAL, "input 1 has 12 values, not 6");
    assert_int_equal(l->out.c, 0);
    gan_layer_free(l);

    assert_int_equal(gan_layer_dot(&l), GAN_OK);
    gan_shape d1[2] = {shape(2, 2, 3), shape(11, 1, 1)};
    assert_status(l->ops->place_n(l, d1, 2, 4), GAN_EINVAL,
                  "dot layer 4: input 1 has 11 values (11x1x1), input 0 has 12 (2x2x3)");
    assert_int_equal(l->out.c, 0);
    gan_layer_free(l);
}

/* ------------------------------------------------------------------ encodings */

typedef struct {
    const char *name;
    uint32_t kind;
    int (*make)(gan_layer **l);
    size_t length;       /* of the encoding */
    uint8_t bytes[16];   /* little-endian */
} encoding_case;

static int mk_concat(gan_layer **l) { return gan_layer_concat(l, 3); }
static int mk_add(gan_layer **l) { return gan_layer_add(l, 2); }
static int mk_slice(gan_layer **l) { return gan_layer_slice(l, 2, 0x105); }
static int mk_tile(gan_layer **l) { return gan_layer_tile(l, 4, 0x203); }
static int mk_upsample(gan_layer **l) { return gan_layer_upsample(l, 2); }
static int mk_avgpool(gan_layer **l) { return gan_layer_avgpool(l, 16); }
static int mk_global_sum(gan_layer **l) { return gan_layer_global_sum(l); }
static int mk_modulate(gan_layer **l) { return gan_layer_modulate(l); }
static int mk_dot(gan_layer **l) { return gan_layer_dot(l); }

static const encoding_case ENCODINGS[] = {
    {"concat", GAN_LAYER_CONCAT, mk_concat, 8, {3}},
    {"add", GAN_LAYER_ADD, mk_add, 8, {2}},
    {"slice", GAN_LAYER_SLICE, mk_slice, 16, {2, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x01}},
    {"tile", GAN_LAYER_TILE, mk_tile, 16, {4, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x02}},
    {"upsample", GAN_LAYER_UPSAMPLE, mk_upsample, 8, {2}},
    {"avgpool", GAN_LAYER_AVGPOOL, mk_avgpool, 8, {16}},
    {"global_sum", GAN_LAYER_GLOBAL_SUM, mk_global_sum, 0, {0}},
    {"modulate", GAN_LAYER_MODULATE, mk_modulate, 0, {0}},
    {"dot", GAN_LAYER_DOT, mk_dot, 0, {0}},
};
enum { N_ENCODINGS = sizeof ENCODINGS / sizeof ENCODINGS[0] };

/* Each kind's record as docs/file-format.md gives it, decoded back to a layer that encodes
 * the same; other lengths and format version 1 refused with GAN_EFORMAT. */
static void encodings(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ENCODINGS; i++) {
        const encoding_case *e = &ENCODINGS[i];
        gan_layer *l, *back;
        uint8_t buf[GAN__ENCODING_CAP + 8], again[GAN__ENCODING_CAP];
        uint32_t kind = 0;
        assert_int_equal(e->make(&l), GAN_OK);
        memset(buf, 0xAB, sizeof buf);
        size_t len = gan__layer_encode(l, buf, &kind);
        assert_int_equal(kind, e->kind);
        if (len != e->length) fail_msg("%s: %zu bytes, not %zu", e->name, len, e->length);
        assert_int_equal(gan__layer_encode(l, NULL, &kind), len);
        if (len) assert_memory_equal(buf, e->bytes, len);
        assert_int_equal(buf[len], 0xAB); /* nothing written beyond */

        assert_int_equal(gan__layer_decode(&back, kind, buf, len, 2, 1), GAN_OK);
        assert_int_equal(gan_layer_kind(back), e->kind);
        assert_int_equal(back->n_in, l->n_in);
        assert_int_equal(gan__layer_encode(back, again, &kind), len);
        if (len) assert_memory_equal(again, buf, len);
        gan_layer_free(back);

        char want[128];
        snprintf(want, sizeof want, "%s layers are not in format version 1", e->name);
        assert_status(gan__layer_decode(&back, kind, buf, len, 1, 1), GAN_EFORMAT, want);
        assert_null(back);
        snprintf(want, sizeof want, "a %s record of %zu bytes, not %zu", e->name, len + 4, len);
        assert_status(gan__layer_decode(&back, kind, buf, len + 4, 2, 1), GAN_EFORMAT, want);
        if (len) {
            snprintf(want, sizeof want, "a %s record of %zu bytes, not %zu", e->name, len - 1, len);
            assert_status(gan__layer_decode(&back, kind, buf, len - 1, 2, 1), GAN_EFORMAT, want);
        }
        assert_null(back);
        gan_layer_free(l);
    }
}

/* Fields out of range are refused by the constructors that decode calls. */
static void encodings_checked_by_constructors(void **state)
{
    (void)state;
    gan_layer *l;
    uint8_t b[16] = {0};
    b[0] = 1; /* one input */
    assert_status(gan__layer_decode(&l, GAN_LAYER_CONCAT, b, 8, 2, 1), GAN_EINVAL, "got 1");
    b[0] = 17;
    assert_status(gan__layer_decode(&l, GAN_LAYER_ADD, b, 8, 2, 1), GAN_EINVAL, "got 17");
    b[0] = 0; /* a zero factor, size, count */
    assert_status(gan__layer_decode(&l, GAN_LAYER_UPSAMPLE, b, 8, 2, 1), GAN_EINVAL, "factor");
    assert_status(gan__layer_decode(&l, GAN_LAYER_AVGPOOL, b, 8, 2, 1), GAN_EINVAL, "size");
    assert_status(gan__layer_decode(&l, GAN_LAYER_SLICE, b, 16, 2, 1), GAN_EINVAL, "count");
    assert_status(gan__layer_decode(&l, GAN_LAYER_TILE, b, 16, 2, 1), GAN_EINVAL, "height");
    b[7] = 0x80; /* concat of 2^63 + 2 inputs: not 2 */
    b[0] = 2;
    assert_status(gan__layer_decode(&l, GAN_LAYER_CONCAT, b, 8, 2, 1), GAN_EINVAL, "n_inputs");
    b[8] = 1; /* slice from 2^63 + 2 */
    assert_status(gan__layer_decode(&l, GAN_LAYER_SLICE, b, 16, 2, 1), GAN_EINVAL, "beyond");
    assert_null(l);
}

/* Batch norm without its affine (conditional batch norm's first half): its record is the
 * 16 bytes of one with the affine, then flags u32 = 1; other flags and lengths refused. */
static void batchnorm_without_affine_record(void **state)
{
    (void)state;
    gan_layer *l, *back;
    uint8_t buf[32];
    uint32_t kind;
    assert_int_equal(gan_layer_batchnorm(&l, 3, 0.1f, 1e-5f), GAN_OK);
    assert_int_equal(gan__layer_encode(l, buf, &kind), 16);
    uint8_t with[16];
    memcpy(with, buf, 16);
    assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    memset(buf, 0xAB, sizeof buf);
    assert_int_equal(gan__layer_encode(l, buf, &kind), 20);
    assert_int_equal(kind, GAN_LAYER_BATCHNORM);
    assert_memory_equal(buf, with, 16);
    assert_true(buf[16] == 1 && buf[17] == 0 && buf[18] == 0 && buf[19] == 0 && buf[20] == 0xAB);
    assert_int_equal(gan__layer_decode(&back, kind, buf, 20, 2, 3), GAN_OK);
    assert_int_equal(gan_layer_num_params(back), 0);
    char text[GAN__DESCRIBE_CAP];
    gan__layer_describe(back, text, sizeof text);
    assert_non_null(strstr(text, "batchnorm(3, momentum 0.1, eps 1e-05, no affine)"));
    gan_layer_free(back);
    assert_int_equal(gan__layer_decode(&back, kind, buf, 16, 2, 3), GAN_OK);
    assert_int_equal(gan_layer_num_params(back), 6);
    gan_layer_free(back);
    buf[16] = 3;
    assert_status(gan__layer_decode(&back, kind, buf, 20, 2, 3), GAN_EFORMAT, "batchnorm: flags 0x3, not 0x1");
    buf[16] = 0;
    assert_status(gan__layer_decode(&back, kind, buf, 20, 2, 3), GAN_EFORMAT, "batchnorm: flags 0x0, not 0x1");
    assert_status(gan__layer_decode(&back, kind, buf, 18, 2, 3), GAN_EFORMAT, "a batchnorm record of 18 bytes");
    assert_status(gan__layer_decode(&back, kind, buf, 20, 1, 3), GAN_EFORMAT, "format version 2");
    assert_null(back);
    gan_layer_free(l);
}

/* Before it is placed a layer describes its hyperparameters alone. */
static void descriptions_before_placement(void **state)
{
    (void)state;
    gan_layer *l;
    const struct {
        int (*make)(gan_layer **);
        const char *want;
    } cases[] = {
        {mk_concat, "concat 3 inputs"}, {mk_add, "add 2 inputs"},   {mk_slice, "slice [2, 263)"},
        {mk_tile, "tile to 4x515"},     {mk_upsample, "upsample x2"}, {mk_avgpool, "avgpool 16x16"},
        {mk_global_sum, "global_sum"},  {mk_modulate, "modulate"},  {mk_dot, "dot"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(cases[i].make(&l), GAN_OK);
        assert_describes(l, cases[i].want);
        gan_layer_free(l);
    }
}

/* Warmed up, a forward and backward of the single-input kinds allocate nothing. */
static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    test_alloc_install();
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 6), GAN_OK);
    add(n, gan_layer_tile(&l, 4, 4), &l);
    add(n, gan_layer_upsample(&l, 2), &l);
    add(n, gan_layer_avgpool(&l, 4), &l);
    add(n, gan_layer_slice(&l, 2, 3), &l);
    add(n, gan_layer_global_sum(&l), &l);
    float x[4 * 6], y[4 * 3], dy[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, dx[4 * 6];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    assert_int_equal(gan_net_forward(n, x, 4, y, 1), GAN_OK);
    assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
    size_t before = test_alloc.allocs;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gan_net_forward(n, x, 4, y, 1), GAN_OK);
        assert_int_equal(gan_net_backward(n, dy, dx), GAN_OK);
    }
    assert_int_equal(test_alloc.allocs, before);
    gan_net_free(n);
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* -------------------------------------------------- graphs (gan_net_add_from) */

/* Input (3, 2, 2). Layer 0 = node 1: channels [0, 2) of node 0; layer 1 = node 2: channels
 * [1, 3) of node 0; layer 2 = node 3: node 1 + node 2; layer 3 = node 4: concat of nodes 3,
 * 0, 1 -> (7, 2, 2). Node 0 is read by three layers, node 1 by two. */
static void join_ref(const void *ctx, const double *x, size_t batch, double *y)
{
    (void)ctx;
    gan_shape in = shape(3, 2, 2), out = shape(7, 2, 2);
    for (size_t b = 0; b < batch; b++)
        for (size_t p = 0; p < 4; p++) {
            const double *v = x + at(in, b, p / 2, p % 2, 0);
            double *o = y + at(out, b, p / 2, p % 2, 0);
            o[0] = v[0] + v[1];
            o[1] = v[1] + v[2];
            o[2] = v[0], o[3] = v[1], o[4] = v[2];
            o[5] = v[0], o[6] = v[1];
        }
}

static void graph_of_concat_and_add(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 3, 2, 2), GAN_OK);
    add(n, gan_layer_slice(&l, 0, 2), &l);
    add_from(n, gan_layer_slice(&l, 1, 2), &l, (const size_t[]){0}, 1);
    add_from(n, gan_layer_add(&l, 2), &l, (const size_t[]){1, 2}, 2);
    add_from(n, gan_layer_concat(&l, 3), &l, (const size_t[]){3, 0, 1}, 3);
    size_t c, h, w;
    assert_int_equal(gan_net_out_shape(n, &c, &h, &w), GAN_OK);
    assert_true(c == 7 && h == 2 && w == 2);
    check_net(n, join_ref, NULL, 3, 111);

    /* refusals name the inputs' shapes; a kind of several inputs is refused by gan_net_add */
    assert_int_equal(gan_layer_concat(&l, 2), GAN_OK);
    assert_error(gan_net_add(n, l), GAN_EINVAL,
                 "concat layer 4 takes 2 inputs, 1 named (add it with gan_net_add_from)");
    assert_error(gan_net_add_from(n, l, (const size_t[]){0}, 1), GAN_EINVAL, "concat layer 4 takes 2 inputs");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 4);
    gan_net_free(n);
    assert_int_equal(gan_net_create_image(&n, 3, 4, 4), GAN_OK);
    add(n, gan_layer_avgpool(&l, 2), &l); /* node 1: 3x2x2 */
    assert_int_equal(gan_layer_concat(&l, 2), GAN_OK);
    assert_error(gan_net_add_from(n, l, (const size_t[]){1, 0}, 2), GAN_EINVAL, "input 1 is 4x4, input 0 is 2x2");
    gan_layer_free(l);
    assert_int_equal(gan_layer_add(&l, 2), GAN_OK);
    assert_error(gan_net_add_from(n, l, (const size_t[]){0, 1}, 2), GAN_EINVAL, "input 1 is 3x2x2, input 0 is 3x4x4");
    gan_layer_free(l);
    assert_int_equal(gan_net_num_layers(n), 1);
    gan_net_free(n);
}

/* Conditional batch norm's shape: a row [x (12 = 3x2x2) | s (6)]; node 1 = x as a vector,
 * node 2 = x as 3x2x2, node 3 = s, node 4 = modulate(node 2, node 3), node 5 = the dot of
 * node 4 with node 2 (the same node twice over, in effect). */
static void modulate_ref(const void *ctx, const double *x, size_t batch, double *y)
{
    (void)ctx;
    for (size_t b = 0; b < batch; b++) {
        const double *r = x + b * 18, *s = r + 12;
        double sum = 0.0;
        for (size_t i = 0; i < 12; i++) {
            size_t c = i % 3;
            sum += (r[i] * (1.0 + s[c]) + s[3 + c]) * r[i];
        }
        y[b] = sum;
    }
}

static void graph_of_modulate_and_dot(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 18), GAN_OK);
    add(n, gan_layer_slice(&l, 0, 12), &l);
    add(n, gan_layer_reshape(&l, 3, 2, 2), &l);
    add_from(n, gan_layer_slice(&l, 12, 6), &l, (const size_t[]){0}, 1);
    add_from(n, gan_layer_modulate(&l), &l, (const size_t[]){2, 3}, 2);
    add_from(n, gan_layer_dot(&l), &l, (const size_t[]){4, 2}, 2);
    assert_int_equal(gan_net_out_dim(n), 1);
    check_net(n, modulate_ref, NULL, 4, 121);

    assert_int_equal(gan_layer_modulate(&l), GAN_OK);
    assert_error(gan_net_add_from(n, l, (const size_t[]){2, 2}, 2), GAN_EINVAL, "input 1 has 12 values, not 6");
    gan_layer_free(l);
    assert_int_equal(gan_layer_dot(&l), GAN_OK);
    assert_error(gan_net_add_from(n, l, (const size_t[]){2, 3}, 2), GAN_EINVAL, "input 1 has 6 values");
    gan_layer_free(l);
    gan_net_free(n);
}

/* A node read twice by one layer: dot(x, x) = |x|^2 per row, gradient 2x; add(x, x) = 2x. */
static void same_node_twice_ref(const void *ctx, const double *x, size_t batch, double *y)
{
    (void)ctx;
    for (size_t b = 0; b < batch; b++) {
        double s = 0.0;
        for (size_t i = 0; i < 5; i++) s += 2.0 * x[b * 5 + i] * 2.0 * x[b * 5 + i];
        y[b] = s;
    }
}

static void graph_reads_a_node_twice(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 5), GAN_OK);
    add_from(n, gan_layer_add(&l, 2), &l, (const size_t[]){0, 0}, 2);
    add_from(n, gan_layer_dot(&l), &l, (const size_t[]){1, 1}, 2);
    check_net(n, same_node_twice_ref, NULL, 3, 131);
    gan_net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(slice_values_and_gradients),
        TEST(tile_values_and_gradients),
        TEST(upsample_values_and_gradients),
        TEST(avgpool_values_and_gradients),
        TEST(global_sum_values_and_gradients),
        TEST(values_by_hand),
        TEST(single_kinds_in_a_chain),
        TEST(constructor_refusals),
        TEST(constructor_allocation_failures),
        TEST(placement_refusals),
        TEST(concat_values_and_gradients),
        TEST(add_values_and_gradients),
        TEST(modulate_values_and_gradients),
        TEST(dot_values_and_gradients),
        TEST(modulate_by_hand),
        TEST(multi_input_refusals),
        TEST(encodings),
        TEST(encodings_checked_by_constructors),
        TEST(descriptions_before_placement),
        TEST(batchnorm_without_affine_record),
        cmocka_unit_test(steady_state_allocates_nothing),
        TEST(graph_of_concat_and_add),
        TEST(graph_of_modulate_and_dot),
        TEST(graph_reads_a_node_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
