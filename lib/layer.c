/* Layer kinds: dense, maxout, activation and dropout, one section each. */
#include "layer_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "rng_impl.h"

#include <limits.h>
#include <math.h>

/* BLAS takes int dimensions: every width and batch must fit one. */
#define GAN_MAX_DIM ((size_t)INT_MAX)

static int new_layer(gan_layer **out, const struct gan_layer_ops *ops)
{
    gan_layer *l = gan__calloc(1, sizeof *l);
    if (!l) return gan__fail(GAN_ENOMEM, "gan_layer_%s: out of memory", ops->name);
    l->ops = ops;
    *out = l;
    return GAN_OK;
}

void gan__layer_bind(gan_layer *l, float *params, float *grads)
{
    l->w = params;
    l->dw = grads;
    l->b = params ? params + l->n_weights : NULL;
    l->db = grads ? grads + l->n_weights : NULL;
}

/* Grow a workspace of `rows` x `width` elements of `elem` bytes, keeping the old one on failure. */
static int grow(void **buf, size_t rows, size_t width, size_t elem)
{
    size_t n, bytes;
    if (gan__size_mul(rows, width, &n) || gan__size_mul(n, elem, &bytes))
        return gan__fail(GAN_EINVAL, "workspace of %zu x %zu overflows", rows, width);
    void *p = gan__malloc(bytes);
    if (!p) return gan__fail(GAN_ENOMEM, "out of memory for a %zu x %zu workspace", rows, width);
    gan__free(*buf);
    *buf = p;
    return GAN_OK;
}

static int no_reserve(gan_layer *l, size_t batch) { (void)l; (void)batch; return GAN_OK; }
static void no_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    (void)l; (void)rng; (void)scheme; (void)scale;
}

/* Weights of a fan_in x fan_out matrix; biases zero. */
static void init_weights(float *w, size_t fan_in, size_t fan_out, gan_rng *rng, gan_init scheme, float scale)
{
    size_t n = fan_in * fan_out;
    if (scheme == GAN_INIT_HE) {
        gan_rng_fill_normal(rng, w, n, 0.0f, scale * sqrtf(2.0f / (float)fan_in));
        return;
    }
    float range = scheme == GAN_INIT_XAVIER ? scale * sqrtf(6.0f / (float)(fan_in + fan_out)) : scale;
    gan_rng_fill_uniform(rng, w, n, -range, range);
}

/* Shared by dense and maxout: both are an affine map into `width` columns. */
static int place_affine(gan_layer *l, size_t in_dim, size_t index)
{
    if (l->in_dim != in_dim)
        return gan__fail(GAN_EINVAL, "%s layer %zu expects %zu inputs, got %zu", l->ops->name, index,
                         l->in_dim, in_dim);
    return GAN_OK;
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

/* ------------------------------------------------------------------- dense */

static void dense_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    gan__rows_set(y, l->b, batch, l->out_dim);
    gan__gemm(0, 0, batch, l->out_dim, l->in_dim, 1.0f, x, l->in_dim, l->w, l->out_dim, 1.0f, y, l->out_dim);
}

static void dense_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                           int grads)
{
    (void)y;
    if (grads != GAN__GRADS_NONE) {
        float beta = grads == GAN__GRADS_ADD ? 1.0f : 0.0f;
        gan__gemm(1, 0, l->in_dim, l->out_dim, batch, 1.0f, x, l->in_dim, dy, l->out_dim, beta, l->dw, l->out_dim);
        gan__col_sums(l->db, dy, batch, l->out_dim, grads == GAN__GRADS_ADD);
    }
    if (dx) gan__gemm(0, 1, batch, l->in_dim, l->out_dim, 1.0f, dy, l->out_dim, l->w, l->out_dim, 0.0f, dx, l->in_dim);
}

static void dense_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    init_weights(l->w, l->in_dim, l->out_dim, rng, scheme, scale);
    for (size_t j = 0; j < l->out_dim; j++) l->b[j] = 0.0f;
}

static const struct gan_layer_ops dense_ops = {
    "dense", GAN_LAYER_DENSE, 1, 0, 0, place_affine, no_reserve, dense_forward, dense_backward, dense_init,
};

int gan_layer_dense(gan_layer **out, size_t in_dim, size_t out_dim)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_affine("gan_layer_dense", in_dim, out_dim, out_dim);
    if (rc) return rc;
    rc = new_layer(out, &dense_ops);
    if (rc) return rc;
    (*out)->in_dim = in_dim;
    (*out)->out_dim = out_dim;
    (*out)->n_weights = in_dim * out_dim;
    (*out)->n_biases = out_dim;
    return GAN_OK;
}

/* ------------------------------------------------------------------ maxout */

static size_t maxout_width(const gan_layer *l) { return l->units * l->pieces; }

/* The winners only: the pre-activations live in the net's scratch, shared by its layers. */
static int maxout_reserve(gan_layer *l, size_t batch)
{
    return grow(&l->work_next, batch, l->units, gan__maxout_argmax_size(l->pieces));
}

static void maxout_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    size_t width = maxout_width(l);
    float *z = l->scratch;
    gan__rows_set(z, l->b, batch, width);
    gan__gemm(0, 0, batch, width, l->in_dim, 1.0f, x, l->in_dim, l->w, width, 1.0f, z, width);
    gan__maxout_forward(z, batch, l->units, l->pieces, y, l->work);
}

static void maxout_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                            int grads)
{
    (void)y;
    if (grads == GAN__GRADS_NONE && !dx) return;
    size_t width = maxout_width(l);
    float *dz = l->scratch; /* the pre-activations are spent: reuse their space */
    gan__maxout_backward(dy, l->work, batch, l->units, l->pieces, dz);
    if (grads != GAN__GRADS_NONE) {
        float beta = grads == GAN__GRADS_ADD ? 1.0f : 0.0f;
        gan__gemm(1, 0, l->in_dim, width, batch, 1.0f, x, l->in_dim, dz, width, beta, l->dw, width);
        gan__col_sums(l->db, dz, batch, width, grads == GAN__GRADS_ADD);
    }
    if (dx) gan__gemm(0, 1, batch, l->in_dim, width, 1.0f, dz, width, l->w, width, 0.0f, dx, l->in_dim);
}

static void maxout_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    size_t width = maxout_width(l);
    init_weights(l->w, l->in_dim, width, rng, scheme, scale);
    for (size_t j = 0; j < width; j++) l->b[j] = 0.0f;
}

static const struct gan_layer_ops maxout_ops = {
    "maxout", GAN_LAYER_MAXOUT, 1, 0, 0, place_affine, maxout_reserve, maxout_forward, maxout_backward, maxout_init,
};

int gan_layer_maxout(gan_layer **out, size_t in_dim, size_t units, size_t pieces)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    size_t width;
    if (units == 0 || pieces == 0)
        return gan__fail(GAN_EINVAL, "gan_layer_maxout: units and pieces must be positive, got %zu x %zu", units,
                         pieces);
    if (gan__size_mul(units, pieces, &width) || pieces > UINT32_MAX)
        return gan__fail(GAN_EINVAL, "gan_layer_maxout: %zu units x %zu pieces overflow", units, pieces);
    int rc = check_affine("gan_layer_maxout", in_dim, width, units);
    if (rc) return rc;
    rc = new_layer(out, &maxout_ops);
    if (rc) return rc;
    (*out)->in_dim = in_dim;
    (*out)->out_dim = units;
    (*out)->units = units;
    (*out)->pieces = pieces;
    (*out)->n_weights = in_dim * width;
    (*out)->n_biases = width;
    (*out)->scratch_width = width;
    return GAN_OK;
}

/* -------------------------------------------------------------- activation */

/* Activation and dropout take the width of whatever precedes them. */
static int place_elementwise(gan_layer *l, size_t in_dim, size_t index)
{
    (void)index;
    l->in_dim = l->out_dim = in_dim;
    return GAN_OK;
}

static void act_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    gan__act_forward(l->act, l->slope, x, y, batch * l->out_dim);
}

static void act_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                         int grads)
{
    (void)x; (void)grads;
    if (dx) gan__act_backward(l->act, l->slope, y, dy, dx, batch * l->out_dim);
}

static const struct gan_layer_ops act_ops = {
    "activation", GAN_LAYER_ACTIVATION, 0, 1, 1, place_elementwise, no_reserve, act_forward, act_backward, no_init,
};

int gan_layer_leaky_relu(gan_layer **out, float slope)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (!(slope >= 0.0f && slope < 1.0f))
        return gan__fail(GAN_EINVAL, "gan_layer_leaky_relu: slope must be in [0, 1), got %g", slope);
    int rc = new_layer(out, &act_ops);
    if (rc) return rc;
    (*out)->act = GAN_ACT_LEAKY_RELU;
    (*out)->slope = slope;
    return GAN_OK;
}

int gan_layer_activation(gan_layer **out, gan_activation act)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (act < GAN_ACT_RELU || act > GAN_ACT_IDENTITY)
        return gan__fail(GAN_EINVAL, "gan_layer_activation: unknown activation %d", (int)act);
    int rc = new_layer(out, &act_ops);
    if (rc) return rc;
    (*out)->act = act;
    (*out)->slope = 0.2f;
    return GAN_OK;
}

/* ----------------------------------------------------------------- dropout */

static int dropout_reserve(gan_layer *l, size_t batch)
{
    return grow(&l->work_next, batch, l->out_dim, sizeof(uint8_t));
}

/* The mask takes the draws gan_rng_uniform(rng) < keep_prob would, one per unit in order,
 * straight from the stream's state (rng_impl.h). */
static void dropout_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    size_t n = batch * l->out_dim;
    l->trained = train && l->keep_prob < 1.0f;
    if (!l->trained) {
        gan__act_forward(GAN_ACT_IDENTITY, 0.0f, x, y, n);
        return;
    }
    gan__dropout_mask(l->work, n, &rng->state, rng->inc, l->keep_prob);
    gan__dropout_apply(x, l->work, 1.0f / l->keep_prob, y, n);
}

static void dropout_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                             int grads)
{
    (void)x; (void)y; (void)grads;
    if (!dx) return;
    size_t n = batch * l->out_dim;
    if (l->trained) gan__dropout_apply(dy, l->work, 1.0f / l->keep_prob, dx, n);
    else gan__act_backward(GAN_ACT_IDENTITY, 0.0f, NULL, dy, dx, n);
}

static const struct gan_layer_ops dropout_ops = {
    "dropout", GAN_LAYER_DROPOUT, 0, 0, 1, place_elementwise, dropout_reserve, dropout_forward, dropout_backward, no_init,
};

int gan_layer_dropout(gan_layer **out, float keep_prob)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (!(keep_prob > 0.0f && keep_prob <= 1.0f))
        return gan__fail(GAN_EINVAL, "gan_layer_dropout: keep_prob must be in (0, 1], got %g", keep_prob);
    int rc = new_layer(out, &dropout_ops);
    if (rc) return rc;
    (*out)->keep_prob = keep_prob;
    return GAN_OK;
}

/* ------------------------------------------------------------------ common */

void gan_layer_free(gan_layer *layer)
{
    if (!layer) return;
    gan__free(layer->work);
    gan__free(layer->work_next);
    gan__free(layer);
}

int gan_layer_kind(const gan_layer *layer) { return layer ? layer->ops->kind : 0; }
size_t gan_layer_in_dim(const gan_layer *layer) { return layer ? layer->in_dim : 0; }
size_t gan_layer_out_dim(const gan_layer *layer) { return layer ? layer->out_dim : 0; }
size_t gan_layer_num_params(const gan_layer *layer) { return layer ? layer->n_weights + layer->n_biases : 0; }
