/* Layer kinds: dense, maxout, activation, dropout and reshape, one section each (see
 * docs/layers.md); the convolutions live in layer_conv.c, batch norm in layer_norm.c and
 * the kinds for graphs in layer_graph.c. A section holds the kind's
 * private struct, its kernels' calls, its parameter layout, its encoding in files and its
 * ops table; the table of kinds at the end is the only place that lists them. */
#include "layer_kind_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "rng_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int gan__layer_new(gan_layer **out, const struct gan_layer_ops *ops, const char *fn)
{
    gan_layer *l = gan__calloc(1, ops->size);
    if (!l) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    l->ops = ops;
    l->n_in = 1;
    *out = l;
    return GAN_OK;
}

void gan__layer_bind(gan_layer *l, float *params, float *grads, float *state)
{
    l->params = params;
    l->grads = grads;
    l->state = state;
}

int gan__layer_grow(gan_layer *l, size_t rows, size_t width, size_t elem)
{
    size_t n, bytes;
    if (gan__size_mul(rows, width, &n) || gan__size_mul(n, elem, &bytes))
        return gan__fail(GAN_EINVAL, "workspace of %zu x %zu overflows", rows, width);
    void *p = gan__malloc(bytes);
    if (!p) return gan__fail(GAN_ENOMEM, "out of memory for a %zu x %zu workspace", rows, width);
    gan__free(l->work_next);
    l->work_next = p;
    return GAN_OK;
}

size_t gan__field_size(uint64_t v) { return v > SIZE_MAX ? SIZE_MAX : (size_t)v; }

int gan__bad_length(const char *kind, size_t len, size_t want)
{
    return gan__fail(GAN_EFORMAT, "a %s record of %zu bytes, not %zu", kind, len, want);
}

/* Format version 1 gave every kind one fixed record: act u32, in u64, out u64, pieces u64,
 * a float's bits u32, reserved u32 (after the kind). Each kind reads the fields it used
 * and requires the others to be zero. */
enum { V1_RECORD = 36 };
typedef struct v1_record {
    uint32_t act, fbits;
    uint64_t in, out, pieces;
} v1_record;

static int v1_read(v1_record *r, const char *kind, const uint8_t *p, size_t len, size_t in_size)
{
    if (len != V1_RECORD) return gan__bad_length(kind, len, V1_RECORD);
    r->act = gan__get_u32(p);
    r->in = gan__get_u64(p + 4);
    r->out = gan__get_u64(p + 12);
    r->pieces = gan__get_u64(p + 20);
    r->fbits = gan__get_u32(p + 28);
    if (gan__get_u32(p + 32)) return gan__fail(GAN_EFORMAT, "%s: a reserved field is not zero", kind);
    if (r->in != in_size)
        return gan__fail(GAN_EFORMAT, "%s takes %llu inputs but the layer before gives %zu", kind,
                         (unsigned long long)r->in, in_size);
    return GAN_OK;
}


/* ------------------------------------------------------------------ affine */

/* Dense and maxout are both an affine map of the flattened input into `width` columns:
 * in_dim x width weights (row-major), then width biases. */
typedef struct affine_layer {
    gan_layer base;
    size_t in_dim, width;
    size_t units, pieces; /* maxout: width = units * pieces */
    int bias;             /* 0: no biases (dense before a batch norm) */
} affine_layer;

static affine_layer *affine(gan_layer *l) { return (affine_layer *)l; }
static const affine_layer *affine_c(const gan_layer *l) { return (const affine_layer *)l; }
static float *bias(gan_layer *l) { return l->params + affine(l)->in_dim * affine(l)->width; }
static float *bias_grad(gan_layer *l) { return l->grads + affine(l)->in_dim * affine(l)->width; }

void gan__init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, gan_rng *rng, gan_init scheme, float scale)
{
    if (scheme == GAN_INIT_HE) {
        gan_rng_fill_normal(rng, w, n, 0.0f, scale * sqrtf(2.0f / (float)fan_in));
    } else if (scheme == GAN_INIT_DCGAN) {
        gan_rng_fill_normal(rng, w, n, 0.0f, scale * 0.02f);
    } else {
        float range = scheme == GAN_INIT_XAVIER ? scale * sqrtf(6.0f / (float)(fan_in + fan_out)) : scale;
        gan_rng_fill_uniform(rng, w, n, -range, range);
    }
}

static int check_affine(const char *fn, size_t in_dim, size_t width, size_t out_dim)
{
    size_t nw, np;
    if (in_dim == 0 || width == 0 || out_dim == 0)
        return gan__fail(GAN_EINVAL, "%s: dimensions must be positive, got %zu inputs and %zu outputs", fn,
                         in_dim, width);
    if (in_dim > GAN_MAX_DIM || width > GAN_MAX_DIM || gan__size_mul(in_dim, width, &nw) ||
        nw > SIZE_MAX / sizeof(float) - width || (np = nw + width, np > SIZE_MAX / sizeof(float) / 2))
        return gan__fail(GAN_EINVAL, "%s: %zu x %zu weights overflow", fn, in_dim, width);
    return GAN_OK;
}

static int new_affine(gan_layer **out, const struct gan_layer_ops *ops, const char *fn, size_t in_dim,
                      size_t units, size_t pieces)
{
    int rc = gan__layer_new(out, ops, fn);
    if (rc) return rc;
    affine_layer *a = affine(*out);
    a->in_dim = in_dim;
    a->units = units;
    a->pieces = pieces;
    a->width = units * pieces;
    a->bias = 1;
    a->base.in = gan__vector_shape(in_dim);
    a->base.out = gan__vector_shape(units);
    a->base.n_params = in_dim * a->width + a->width;
    return GAN_OK;
}

/* Any input shape of in_dim values: an image is read as its flat HWC row. */
static int affine_place(gan_layer *l, gan_shape in, size_t index)
{
    size_t n = gan__shape_size(in);
    if (n != affine(l)->in_dim)
        return gan__fail(GAN_EINVAL, "%s layer %zu expects %zu inputs, got %zu", l->ops->name, index,
                         affine(l)->in_dim, n);
    l->in = in;
    return GAN_OK;
}

/* Weights by the scheme (fan_in x fan_out); biases zero. */
static void affine_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    size_t fan_in = affine(l)->in_dim, fan_out = affine(l)->width;
    gan__init_weights(l->params, fan_in * fan_out, fan_in, fan_out, rng, scheme, scale);
    if (affine(l)->bias)
        for (size_t j = 0; j < fan_out; j++) bias(l)[j] = 0.0f;
}

/* z = x W + b into `width` columns. */
static void affine_forward(gan_layer *l, const float *x, size_t batch, float *z)
{
    size_t in = affine(l)->in_dim, width = affine(l)->width;
    if (affine(l)->bias) gan__rows_set(z, bias(l), batch, width);
    gan__gemm(0, 0, batch, width, in, 1.0f, x, in, l->params, width, affine(l)->bias ? 1.0f : 0.0f, z, width);
}

/* Parameter gradients from dz as `grads` says, and dx unless NULL. */
static void affine_backward(gan_layer *l, const float *x, const float *dz, size_t batch, float *dx, int grads)
{
    size_t in = affine(l)->in_dim, width = affine(l)->width;
    if (grads != GAN__GRADS_NONE) {
        float beta = grads == GAN__GRADS_ADD ? 1.0f : 0.0f;
        gan__gemm(1, 0, in, width, batch, 1.0f, x, in, dz, width, beta, l->grads, width);
        if (affine(l)->bias) gan__col_sums(bias_grad(l), dz, batch, width, grads == GAN__GRADS_ADD);
    }
    if (dx) gan__gemm(0, 1, batch, in, width, 1.0f, dz, width, l->params, width, 0.0f, dx, in);
}

static void affine_weights(const gan_layer *l, size_t *rows, size_t *cols)
{
    *rows = affine_c(l)->in_dim;
    *cols = affine_c(l)->width;
}

/* ------------------------------------------------------------------- dense */

/* Encoding: in u64, out u64; without biases also flags u32 (bit 0: no biases), so a
 * dense layer with biases keeps its 16 bytes. */
enum { DENSE_RECORD = 16, DENSE_RECORD_FLAGS = 20, DENSE_NO_BIAS = 1 };

static void dense_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    affine_forward(l, x, batch, y);
}

static void dense_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                           int grads)
{
    (void)y;
    affine_backward(l, x, dy, batch, dx, grads);
}

static size_t dense_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, affine_c(l)->in_dim);
        gan__put_u64(out + 8, affine_c(l)->width);
        if (!affine_c(l)->bias) gan__put_u32(out + 16, DENSE_NO_BIAS);
    }
    return affine_c(l)->bias ? DENSE_RECORD : DENSE_RECORD_FLAGS;
}

static int dense_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    uint64_t in = in_size, width;
    uint32_t flags = 0;
    if (version == 1) {
        v1_record r;
        int rc = v1_read(&r, "dense", p, len, in_size);
        if (rc) return rc;
        if (r.act || r.pieces || r.fbits) return gan__fail(GAN_EFORMAT, "dense: unused fields are not zero");
        width = r.out;
    } else {
        if (len != DENSE_RECORD && len != DENSE_RECORD_FLAGS) return gan__bad_length("dense", len, DENSE_RECORD);
        in = gan__get_u64(p);
        width = gan__get_u64(p + 8);
        if (len == DENSE_RECORD_FLAGS && (flags = gan__get_u32(p + 16)) != DENSE_NO_BIAS)
            return gan__fail(GAN_EFORMAT, "dense: flags 0x%lx, not 0x%x", (unsigned long)flags, DENSE_NO_BIAS);
    }
    int rc = gan_layer_dense(out, gan__field_size(in), gan__field_size(width));
    if (!rc && flags) rc = gan_layer_set_bias(*out, 0);
    return rc;
}

/* Biases are the last `width` parameters; dropping them shortens the layer. */
static int affine_set_bias(gan_layer *l, int on)
{
    affine_layer *a = affine(l);
    a->bias = on;
    l->n_params = a->in_dim * a->width + (on ? a->width : 0);
    return GAN_OK;
}

static void dense_describe(const gan_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "dense %zu->%zu%s", affine_c(l)->in_dim, affine_c(l)->width,
             affine_c(l)->bias ? "" : " without bias");
}

static const struct gan_layer_ops dense_ops = {
    .name = "dense",
    .kind = GAN_LAYER_DENSE,
    .size = sizeof(affine_layer),
    .reads_x = 1,
    .place = affine_place,
    .forward = dense_forward,
    .backward = dense_backward,
    .init = affine_init,
    .encode = dense_encode,
    .decode = dense_decode,
    .describe = dense_describe,
    .set_bias = affine_set_bias,
    .weights = affine_weights,
};

int gan_layer_dense(gan_layer **out, size_t in_dim, size_t out_dim)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_affine(__func__, in_dim, out_dim, out_dim);
    return rc ? rc : new_affine(out, &dense_ops, __func__, in_dim, out_dim, 1);
}

/* ------------------------------------------------------------------ maxout */

/* Encoding: in u64, units u64, pieces u64. Columns are unit-major: unit u's pieces are
 * the adjacent columns u*pieces .. u*pieces + pieces-1. */
enum { MAXOUT_RECORD = 24 };

/* The winners only: the pre-activations live in the net's scratch, shared by its layers. */
static int maxout_reserve(gan_layer *l, size_t batch)
{
    return gan__layer_grow(l, batch, affine(l)->units, gan__maxout_argmax_size(affine(l)->pieces));
}

static void maxout_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)rng;
    affine_forward(l, x, batch, l->scratch);
    if (train == GAN__REPLAY) gan__maxout_replay(l->scratch, batch, affine(l)->units, affine(l)->pieces, y, l->work);
    else gan__maxout_forward(l->scratch, batch, affine(l)->units, affine(l)->pieces, y, l->work);
}

static void maxout_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                            int grads)
{
    (void)y;
    if (grads == GAN__GRADS_NONE && !dx) return;
    float *dz = l->scratch; /* the pre-activations are spent: reuse their space */
    gan__maxout_backward(dy, l->work, batch, affine(l)->units, affine(l)->pieces, dz);
    affine_backward(l, x, dz, batch, dx, grads);
}

static size_t maxout_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, affine_c(l)->in_dim);
        gan__put_u64(out + 8, affine_c(l)->units);
        gan__put_u64(out + 16, affine_c(l)->pieces);
    }
    return MAXOUT_RECORD;
}

static int maxout_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    uint64_t in = in_size, units, pieces;
    if (version == 1) {
        v1_record r;
        int rc = v1_read(&r, "maxout", p, len, in_size);
        if (rc) return rc;
        if (r.act || r.fbits) return gan__fail(GAN_EFORMAT, "maxout: unused fields are not zero");
        units = r.out;
        pieces = r.pieces;
    } else {
        if (len != MAXOUT_RECORD) return gan__bad_length("maxout", len, MAXOUT_RECORD);
        in = gan__get_u64(p);
        units = gan__get_u64(p + 8);
        pieces = gan__get_u64(p + 16);
    }
    return gan_layer_maxout(out, gan__field_size(in), gan__field_size(units), gan__field_size(pieces));
}

static void maxout_describe(const gan_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "maxout %zu->%zux%zu", affine_c(l)->in_dim, affine_c(l)->units, affine_c(l)->pieces);
}

static const struct gan_layer_ops maxout_ops = {
    .name = "maxout",
    .kind = GAN_LAYER_MAXOUT,
    .size = sizeof(affine_layer),
    .reads_x = 1,
    .place = affine_place,
    .reserve = maxout_reserve,
    .forward = maxout_forward,
    .backward = maxout_backward,
    .init = affine_init,
    .encode = maxout_encode,
    .decode = maxout_decode,
    .describe = maxout_describe,
    .weights = affine_weights,
};

int gan_layer_maxout(gan_layer **out, size_t in_dim, size_t units, size_t pieces)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    size_t width;
    if (units == 0 || pieces == 0)
        return gan__fail(GAN_EINVAL, "%s: units and pieces must be positive, got %zu x %zu", __func__, units, pieces);
    if (gan__size_mul(units, pieces, &width) || pieces > UINT32_MAX)
        return gan__fail(GAN_EINVAL, "%s: %zu units x %zu pieces overflow", __func__, units, pieces);
    int rc = check_affine(__func__, in_dim, width, units);
    if (rc) return rc;
    rc = new_affine(out, &maxout_ops, __func__, in_dim, units, pieces);
    if (!rc) (*out)->scratch_width = width;
    return rc;
}

/* -------------------------------------------------------------- elementwise */

/* Activation, dropout and reshape take the shape of whatever precedes them. */
static int adopt_shape(gan_layer *l, gan_shape in, size_t index)
{
    (void)index;
    l->in = l->out = in;
    return GAN_OK;
}

/* -------------------------------------------------------------- activation */

/* Encoding: the gan_activation code u32, the leaky slope's float bits u32 (0 otherwise). */
enum { ACT_RECORD = 8 };

typedef struct act_layer {
    gan_layer base;
    int act;     /* gan_activation */
    float slope; /* leaky ReLU */
    int replayed; /* the last forward made held choices: backward follows the mask in work */
} act_layer;

static act_layer *act_of(gan_layer *l) { return (act_layer *)l; }
static const act_layer *act_of_c(const gan_layer *l) { return (const act_layer *)l; }

/* ReLU and leaky ReLU are the kinks a gradient penalty's passes hold (layer_impl.h). */
static int piecewise_linear(const act_layer *a) { return a->act == GAN_ACT_RELU || a->act == GAN_ACT_LEAKY_RELU; }
static float kink_slope(const act_layer *a) { return a->act == GAN_ACT_LEAKY_RELU ? a->slope : 0.0f; }

static int act_reserve(gan_layer *l, size_t batch)
{
    if (!l->holds || !piecewise_linear(act_of(l))) return GAN_OK;
    return gan__layer_grow(l, batch, gan__shape_size(l->out), sizeof(uint8_t));
}

static void act_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)rng;
    act_layer *a = act_of(l);
    size_t n = batch * gan__shape_size(l->out);
    a->replayed = l->holds && piecewise_linear(a) && (train == GAN__HOLD || train == GAN__REPLAY);
    if (!a->replayed) gan__act_forward(a->act, a->slope, x, y, n);
    else if (train == GAN__HOLD) gan__act_hold(kink_slope(a), x, y, l->work, n);
    else gan__act_replay(kink_slope(a), x, l->work, y, n);
}

static void act_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                         int grads)
{
    (void)x; (void)grads;
    act_layer *a = act_of(l);
    size_t n = batch * gan__shape_size(l->out);
    if (!dx) return;
    if (a->replayed) gan__act_replay(kink_slope(a), dy, l->work, dx, n); /* the derivative is the held slope */
    else gan__act_backward(a->act, a->slope, y, dy, dx, n);
}

static uint32_t slope_bits(const act_layer *a) { return a->act == GAN_ACT_LEAKY_RELU ? gan__f32_bits(a->slope) : 0; }

static size_t act_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u32(out, (uint32_t)act_of_c(l)->act);
        gan__put_u32(out + 4, slope_bits(act_of_c(l)));
    }
    return ACT_RECORD;
}

static int act_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    uint32_t act, fbits;
    if (version == 1) {
        v1_record r;
        int rc = v1_read(&r, "activation", p, len, in_size);
        if (rc) return rc;
        if (r.out != r.in || r.pieces) return gan__fail(GAN_EFORMAT, "activation: the width changes");
        act = r.act;
        fbits = r.fbits;
    } else {
        if (len != ACT_RECORD) return gan__bad_length("activation", len, ACT_RECORD);
        act = gan__get_u32(p);
        fbits = gan__get_u32(p + 4);
    }
    if (act == GAN_ACT_LEAKY_RELU) return gan_layer_leaky_relu(out, gan__f32_of_bits(fbits));
    if (fbits) return gan__fail(GAN_EFORMAT, "activation %lu: the slope field is not zero", (unsigned long)act);
    return gan_layer_activation(out, (gan_activation)act);
}

static void act_describe(const gan_layer *l, char *buf, size_t cap)
{
    static const char *const names[] = {"?", "relu", "leaky_relu", "sigmoid", "tanh", "identity"};
    const act_layer *a = act_of_c(l);
    if (a->act == GAN_ACT_LEAKY_RELU)
        snprintf(buf, cap, "leaky_relu(%g) of %zu", (double)a->slope, gan__shape_size(l->in));
    else snprintf(buf, cap, "%s of %zu", names[a->act], gan__shape_size(l->in));
}

static const struct gan_layer_ops act_ops = {
    .name = "activation",
    .kind = GAN_LAYER_ACTIVATION,
    .size = sizeof(act_layer),
    .reads_y = 1,
    .elementwise = 1,
    .place = adopt_shape,
    .reserve = act_reserve,
    .forward = act_forward,
    .backward = act_backward,
    .encode = act_encode,
    .decode = act_decode,
    .describe = act_describe,
};

static int new_activation(gan_layer **out, int act, float slope, const char *fn)
{
    int rc = gan__layer_new(out, &act_ops, fn);
    if (rc) return rc;
    act_of(*out)->act = act;
    act_of(*out)->slope = slope;
    return GAN_OK;
}

int gan_layer_leaky_relu(gan_layer **out, float slope)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (!(slope >= 0.0f && slope < 1.0f))
        return gan__fail(GAN_EINVAL, "%s: slope must be in [0, 1), got %g", __func__, slope);
    return new_activation(out, GAN_ACT_LEAKY_RELU, slope, __func__);
}

int gan_layer_activation(gan_layer **out, gan_activation act)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (act < GAN_ACT_RELU || act > GAN_ACT_IDENTITY)
        return gan__fail(GAN_EINVAL, "%s: unknown activation %d", __func__, (int)act);
    return new_activation(out, act, 0.2f, __func__);
}

int gan__layer_is_sigmoid(const gan_layer *l)
{
    return l->ops == &act_ops && act_of_c(l)->act == GAN_ACT_SIGMOID;
}

/* ----------------------------------------------------------------- dropout */

/* Encoding: the keep probability's float bits u32. */
enum { DROPOUT_RECORD = 4 };

typedef struct dropout_layer {
    gan_layer base;
    float keep_prob;
    int masked; /* the last forward applied a mask (work holds it, one byte per value) */
} dropout_layer;

static dropout_layer *dropout_of(gan_layer *l) { return (dropout_layer *)l; }

static int dropout_reserve(gan_layer *l, size_t batch)
{
    return gan__layer_grow(l, batch, gan__shape_size(l->out), sizeof(uint8_t));
}

/* The mask takes the draws gan_rng_uniform(rng) < keep_prob would, one per value in order,
 * straight from the stream's state (rng_impl.h). */
static void dropout_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    dropout_layer *d = dropout_of(l);
    size_t n = batch * gan__shape_size(l->out);
    if (train == GAN__REPLAY) { /* the held mask, or none */
        if (d->masked) gan__dropout_apply(x, l->work, 1.0f / d->keep_prob, y, n);
        else gan__act_forward(GAN_ACT_IDENTITY, 0.0f, x, y, n);
        return;
    }
    d->masked = gan__draws(train) && d->keep_prob < 1.0f;
    if (!d->masked) {
        gan__act_forward(GAN_ACT_IDENTITY, 0.0f, x, y, n);
        return;
    }
    /* Each run of rows is masked from its place in the whole pass (one run, the whole
     * batch, in one process). */
    gan__rows r = l->rows.global ? l->rows : (gan__rows){0, batch, batch};
    size_t width = gan__shape_size(l->out), runs = batch / r.local;
    uint64_t start = rng->state;
    for (size_t p = 0; p < runs; p++) {
        uint64_t s = gan__pcg32_advance(start, rng->inc, (p * r.global + r.first) * width);
        gan__dropout_mask((uint8_t *)l->work + p * r.local * width, r.local * width, &s, rng->inc, d->keep_prob);
    }
    rng->state = gan__pcg32_advance(start, rng->inc, runs * r.global * width);
    gan__dropout_apply(x, l->work, 1.0f / d->keep_prob, y, n);
}

static void dropout_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                             int grads)
{
    (void)x; (void)y; (void)grads;
    if (!dx) return;
    dropout_layer *d = dropout_of(l);
    size_t n = batch * gan__shape_size(l->out);
    if (d->masked) gan__dropout_apply(dy, l->work, 1.0f / d->keep_prob, dx, n);
    else gan__act_backward(GAN_ACT_IDENTITY, 0.0f, NULL, dy, dx, n);
}

static size_t dropout_encode(const gan_layer *l, uint8_t *out)
{
    if (out) gan__put_f32(out, ((const dropout_layer *)l)->keep_prob);
    return DROPOUT_RECORD;
}

static int dropout_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    uint32_t fbits;
    if (version == 1) {
        v1_record r;
        int rc = v1_read(&r, "dropout", p, len, in_size);
        if (rc) return rc;
        if (r.out != r.in || r.pieces || r.act)
            return gan__fail(GAN_EFORMAT, "dropout: unused fields are not zero or the width changes");
        fbits = r.fbits;
    } else {
        if (len != DROPOUT_RECORD) return gan__bad_length("dropout", len, DROPOUT_RECORD);
        fbits = gan__get_u32(p);
    }
    return gan_layer_dropout(out, gan__f32_of_bits(fbits));
}

static void dropout_describe(const gan_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "dropout(%g) of %zu", (double)((const dropout_layer *)l)->keep_prob, gan__shape_size(l->in));
}

static const struct gan_layer_ops dropout_ops = {
    .name = "dropout",
    .kind = GAN_LAYER_DROPOUT,
    .size = sizeof(dropout_layer),
    .elementwise = 1,
    .place = adopt_shape,
    .reserve = dropout_reserve,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .encode = dropout_encode,
    .decode = dropout_decode,
    .describe = dropout_describe,
};

int gan_layer_dropout(gan_layer **out, float keep_prob)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (!(keep_prob > 0.0f && keep_prob <= 1.0f))
        return gan__fail(GAN_EINVAL, "%s: keep_prob must be in (0, 1], got %g", __func__, keep_prob);
    int rc = gan__layer_new(out, &dropout_ops, __func__);
    if (rc) return rc;
    dropout_of(*out)->keep_prob = keep_prob;
    (*out)->needs_rng = keep_prob < 1.0f;
    return GAN_OK;
}

/* ----------------------------------------------------------------- reshape */

/* The same values under another shape: rows are HWC either way, so nothing moves.
 * Encoding: c u64, h u64, w u64. */
enum { RESHAPE_RECORD = 24 };

static int reshape_place(gan_layer *l, gan_shape in, size_t index)
{
    size_t n = gan__shape_size(in), want = gan__shape_size(l->out);
    if (n != want)
        return gan__fail(GAN_EINVAL, "reshape layer %zu to %zux%zux%zu expects %zu inputs, got %zu", index, l->out.c,
                         l->out.h, l->out.w, want, n);
    l->in = in;
    return GAN_OK;
}

static void reshape_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    gan__act_forward(GAN_ACT_IDENTITY, 0.0f, x, y, batch * gan__shape_size(l->out));
}

static void reshape_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                             int grads)
{
    (void)x; (void)y; (void)grads;
    if (dx) gan__act_backward(GAN_ACT_IDENTITY, 0.0f, NULL, dy, dx, batch * gan__shape_size(l->out));
}

static size_t reshape_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, l->out.c);
        gan__put_u64(out + 8, l->out.h);
        gan__put_u64(out + 16, l->out.w);
    }
    return RESHAPE_RECORD;
}

static int reshape_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    if (version == 1) return gan__fail(GAN_EFORMAT, "reshape layers came with format version 2");
    if (len != RESHAPE_RECORD) return gan__bad_length("reshape", len, RESHAPE_RECORD);
    return gan_layer_reshape(out, gan__field_size(gan__get_u64(p)), gan__field_size(gan__get_u64(p + 8)),
                             gan__field_size(gan__get_u64(p + 16)));
}

static void reshape_describe(const gan_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "reshape %zu to %zux%zux%zu", gan__shape_size(l->out), l->out.c, l->out.h, l->out.w);
}

static const struct gan_layer_ops reshape_ops = {
    .name = "reshape",
    .kind = GAN_LAYER_RESHAPE,
    .size = sizeof(gan_layer),
    .elementwise = 1,
    .place = reshape_place,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .encode = reshape_encode,
    .decode = reshape_decode,
    .describe = reshape_describe,
};

int gan__check_shape(uint64_t c, uint64_t h, uint64_t w)
{
    /* Each axis at most INT_MAX first, so the products cannot wrap in 64 bits. */
    if (c == 0 || h == 0 || w == 0 || c > GAN_MAX_DIM || h > GAN_MAX_DIM || w > GAN_MAX_DIM || c * h > GAN_MAX_DIM ||
        c * h * w > GAN_MAX_DIM)
        return gan__fail(GAN_EINVAL, "the shape %llu x %llu x %llu must be positive with a product of at most %d",
                         (unsigned long long)c, (unsigned long long)h, (unsigned long long)w, INT_MAX);
    return GAN_OK;
}

int gan_layer_reshape(gan_layer **out, size_t channels, size_t height, size_t width)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = gan__check_shape(channels, height, width);
    if (rc) return gan__wrap(rc, "%s", __func__);
    rc = gan__layer_new(out, &reshape_ops, __func__);
    if (rc) return rc;
    (*out)->out = (gan_shape){channels, height, width};
    return GAN_OK;
}

/* ------------------------------------------------------------------ common */

static const struct gan_layer_ops *const KINDS[] = {
    &dense_ops,         &maxout_ops,     &act_ops,        &dropout_ops,      &reshape_ops,
    &gan__conv2d_ops,   &gan__conv2d_transpose_ops,       &gan__batchnorm_ops,
    &gan__concat_ops,   &gan__add_ops,   &gan__slice_ops, &gan__tile_ops,    &gan__upsample_ops,
    &gan__avgpool_ops,  &gan__global_sum_ops,             &gan__modulate_ops, &gan__dot_ops};

/* A spectrally normalised layer's record: its iterations and inner kind, then the inner
 * kind's own record. */
static int decode_sn(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    if (version == 1) return gan__fail(GAN_EFORMAT, "spectral norm came with format version 2");
    if (len < GAN__SN_RECORD_HEAD)
        return gan__fail(GAN_EFORMAT, "a spectral norm record of %zu bytes, not at least %d", len,
                         GAN__SN_RECORD_HEAD);
    uint32_t iterations = gan__get_u32(p), kind = gan__get_u32(p + 4);
    if (kind == GAN__RECORD_SPECTRAL_NORM) return gan__fail(GAN_EFORMAT, "spectral norm of a spectral norm");
    int rc = gan__layer_decode(out, kind, p + GAN__SN_RECORD_HEAD, len - GAN__SN_RECORD_HEAD, version, in_size);
    if (!rc) rc = gan_layer_spectral_norm(*out, iterations);
    if (rc && *out) {
        gan_layer_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A graph node's record: the nodes it reads, then its layer's own record. Whether the
 * nodes exist is for the net to check when it places the layer. */
static int decode_graph(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    if (version == 1) return gan__fail(GAN_EFORMAT, "graphs came with libgan 0.3");
    uint32_t n = len >= 4 ? gan__get_u32(p) : 0;
    if (n == 0 || n > GAN__MAX_INPUTS || len < 8 + 4 * (size_t)n)
        return gan__fail(GAN_EFORMAT, "a graph record of %zu bytes naming %lu nodes (1 to %d)", len,
                         (unsigned long)n, GAN__MAX_INPUTS);
    size_t head = 8 + 4 * (size_t)n;
    uint32_t kind = gan__get_u32(p + head - 4);
    if (kind == GAN__RECORD_GRAPH) return gan__fail(GAN_EFORMAT, "a graph record inside a graph record");
    int rc = gan__layer_decode(out, kind, p + head, len - head, version, in_size);
    if (rc) return rc;
    for (uint32_t m = 0; m < n; m++) (*out)->from[m] = gan__get_u32(p + 4 + 4 * (size_t)m);
    (*out)->n_from = n;
    return GAN_OK;
}

int gan__layer_decode(gan_layer **out, uint32_t kind, const uint8_t *p, size_t len, unsigned version,
                      size_t in_size)
{
    *out = NULL;
    if (kind == GAN__RECORD_SPECTRAL_NORM) return decode_sn(out, p, len, version, in_size);
    if (kind == GAN__RECORD_GRAPH) return decode_graph(out, p, len, version, in_size);
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if ((uint32_t)KINDS[i]->kind == kind) return KINDS[i]->decode(out, p, len, version, in_size);
    /* Version 1 is closed; a later version's file may hold a kind added since. */
    if (version == 1) return gan__fail(GAN_EFORMAT, "unknown layer kind %lu", (unsigned long)kind);
    return gan__fail(GAN_EVERSION, "layer kind %lu is unknown to libgan %s (a newer version wrote the file?)",
                     (unsigned long)kind, GAN_VERSION_STRING);
}

int gan_layer_set_bias(gan_layer *layer, int on)
{
    GAN_CHECK_ARG(layer);
    if (!layer->ops->set_bias)
        return gan__fail(GAN_EINVAL, "%s: %s layers have no bias", __func__, layer->ops->name);
    if (layer->in_net)
        return gan__fail(GAN_ESTATE, "%s: the layer is in a net already (set the bias before gan_net_add)", __func__);
    int rc = layer->ops->set_bias(layer, on != 0);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

/* The layer's own record, spectral norm's wrapped around it if it has one. */
static size_t encode_unrouted(const gan_layer *l, uint8_t *out, uint32_t *kind)
{
    size_t iterations = gan__sn_iterations(l);
    if (!iterations) {
        *kind = (uint32_t)l->ops->kind;
        return l->ops->encode(l, out);
    }
    *kind = GAN__RECORD_SPECTRAL_NORM;
    if (out) {
        gan__put_u32(out, (uint32_t)iterations);
        gan__put_u32(out + 4, (uint32_t)l->ops->kind);
    }
    return GAN__SN_RECORD_HEAD + l->ops->encode(l, out ? out + GAN__SN_RECORD_HEAD : NULL);
}

size_t gan__layer_encode(const gan_layer *l, uint8_t *out, uint32_t *kind)
{
    if (!l->routed) return encode_unrouted(l, out, kind);
    size_t head = 8 + 4 * l->n_from;
    uint32_t inner;
    size_t len = encode_unrouted(l, out ? out + head : NULL, &inner);
    *kind = GAN__RECORD_GRAPH;
    if (out) {
        gan__put_u32(out, (uint32_t)l->n_from);
        for (size_t m = 0; m < l->n_from; m++) gan__put_u32(out + 4 + 4 * m, (uint32_t)l->from[m]);
        gan__put_u32(out + head - 4, inner);
    }
    return head + len;
}

void gan__layer_describe(const gan_layer *l, char *buf, size_t cap)
{
    l->ops->describe(l, buf, cap);
    size_t iterations = gan__sn_iterations(l), used = strlen(buf);
    if (iterations && used < cap)
        snprintf(buf + used, cap - used, ", spectral norm (%zu iteration%s)", iterations, iterations > 1 ? "s" : "");
    for (size_t m = 0; l->routed && m < l->n_from && (used = strlen(buf)) < cap; m++)
        snprintf(buf + used, cap - used, "%s%zu", m ? ", " : l->n_from > 1 ? ", reading nodes " : ", reading node ",
                 l->from[m]);
}

void gan__layer_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    if (!l->sn) {
        l->ops->forward(l, x, batch, y, train, rng);
        return;
    }
    float *params = l->params;
    l->params = gan__sn_forward(l, train);
    l->ops->forward(l, x, batch, y, train, rng);
    l->params = params;
}

/* With spectral norm the kind differentiates its normalised copy, writing into a buffer
 * of the norm's, which then takes the gradients through the normalisation. */
void gan__layer_backward(gan_layer *l, const float *dy, size_t batch, float *dx, int grads)
{
    if (!l->sn) {
        l->ops->backward(l, l->fwd_x, l->fwd_y, dy, batch, dx, grads);
        return;
    }
    float *params = l->params, *g = l->grads;
    l->params = gan__sn_copy(l);
    if (grads != GAN__GRADS_NONE) l->grads = gan__sn_grads(l);
    l->ops->backward(l, l->fwd_x, l->fwd_y, dy, batch, dx, grads == GAN__GRADS_NONE ? grads : GAN__GRADS_SET);
    l->params = params;
    l->grads = g;
    if (grads != GAN__GRADS_NONE) gan__sn_backward(l, grads);
}

void gan__layer_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    if (l->ops->init) l->ops->init(l, rng, scheme, scale);
    gan__sn_init(l, rng);
}

int gan__layer_attach(gan_layer *l) { return gan__sn_attach(l); }

int gan__layer_check_state(const gan_layer *l, const uint8_t *p)
{
    int rc = l->ops->check_state ? l->ops->check_state(l, p) : GAN_OK;
    return rc ? rc : gan__sn_check_state(l, p);
}

void gan_layer_free(gan_layer *layer)
{
    if (!layer) return;
    gan__sn_free(layer);
    gan__free(layer->work);
    gan__free(layer->work_next);
    gan__free(layer);
}

int gan_layer_kind(const gan_layer *layer) { return layer ? layer->ops->kind : 0; }
size_t gan_layer_in_dim(const gan_layer *layer) { return layer ? gan__shape_size(layer->in) : 0; }
size_t gan_layer_out_dim(const gan_layer *layer) { return layer ? gan__shape_size(layer->out) : 0; }
size_t gan_layer_num_params(const gan_layer *layer) { return layer ? layer->n_params : 0; }
