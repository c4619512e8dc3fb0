/* Spectral normalization (Miyato et al. 2018) of a layer's weight matrix W (rows x cols,
 * as the kind stores it: dense and maxout in x width, conv2d (k*k*cin) x cout,
 * conv2d_transpose cin x (k*k*cout)). The layer runs on W / sigma, sigma being W's largest
 * singular value estimated by power iteration: v = W u / |W u|, u = W^T v / |W^T v|,
 * sigma = v^T W u. u (cols) and v (rows) are state, after the kind's own: saved, restored
 * by a failed step, never trained. A training-mode forward runs the iterations first; any
 * other forward uses u and v as they are. The backward pass holds u and v fixed, as
 * PyTorch does: with G = dL/d(W / sigma), dL/dW = (G - <G, W / sigma> v u^T) / sigma.
 *
 * The kind itself never knows: for its forward and backward, l->params points at a copy
 * of the parameters whose weights are normalised, and l->grads at a buffer that receives
 * G, which is then taken through the normalisation into the net's gradients. */
#include "layer_kind_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "rng_impl.h"

#include <math.h>
#include <string.h>

/* The most power iterations one forward may run. */
#define SN_MAX_ITERATIONS 64

struct gan__sn {
    size_t iterations;
    size_t rows, cols;
    float sigma;  /* of the last forward */
    float *copy;  /* n_params: the weights over sigma, then the kind's other parameters */
    float *g;     /* n_params: the kind's gradients against the normalised weights */
    double *tmp;  /* max(rows, cols) */
};

static float *sn_u(const gan_layer *l) { return l->state + l->n_state - l->sn->rows - l->sn->cols; }
static float *sn_v(const gan_layer *l) { return sn_u(l) + l->sn->cols; }

int gan_layer_spectral_norm(gan_layer *layer, size_t power_iterations)
{
    GAN_CHECK_ARG(layer);
    if (!layer->ops->weights)
        return gan__fail(GAN_EINVAL, "%s: %s layers have no weight matrix", __func__, layer->ops->name);
    if (layer->in_net)
        return gan__fail(GAN_ESTATE, "%s: the layer is in a net already (normalise it before gan_net_add)",
                         __func__);
    if (power_iterations == 0 || power_iterations > SN_MAX_ITERATIONS)
        return gan__fail(GAN_EINVAL, "%s: power_iterations must be in [1, %d], got %zu", __func__,
                         SN_MAX_ITERATIONS, power_iterations);
    if (!layer->sn) {
        gan__sn *sn = gan__calloc(1, sizeof *sn);
        if (!sn) return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
        layer->ops->weights(layer, &sn->rows, &sn->cols);
        layer->sn = sn;
        layer->n_state += sn->rows + sn->cols;
    }
    layer->sn->iterations = power_iterations;
    return GAN_OK;
}

size_t gan__sn_iterations(const gan_layer *l) { return l->sn ? l->sn->iterations : 0; }

int gan__sn_attach(gan_layer *l)
{
    gan__sn *sn = l->sn;
    if (!sn || sn->copy) return GAN_OK; /* n_params is final once the layer is in a net */
    size_t longer = sn->rows > sn->cols ? sn->rows : sn->cols;
    float *copy = gan__malloc(2 * l->n_params * sizeof(float)); /* no overflow: the net holds two buffers */
    double *tmp = gan__malloc(longer * sizeof(double));
    if (!copy || !tmp) {
        gan__free(copy);
        gan__free(tmp);
        return gan__fail(GAN_ENOMEM, "out of memory for the spectral norm of %zu parameters", l->n_params);
    }
    sn->copy = copy;
    sn->g = copy + l->n_params;
    sn->tmp = tmp;
    return GAN_OK;
}

void gan__sn_free(gan_layer *l)
{
    if (!l->sn) return;
    gan__free(l->sn->copy);
    gan__free(l->sn->tmp);
    gan__free(l->sn);
    l->sn = NULL;
}

/* The smallest |d| normalise divides by (PyTorch's normalize takes max(|d|, 1e-12)). */
#define SN_MIN_NORM 1e-12

/* x = d / |d|. A d too short to have a direction (W u = 0: W is zero, or orthogonal to
 * u) leaves x as it was, a unit vector still: zeros there would be a fixed point of the
 * iteration, and sigma would be read as 0 for ever after. */
static void normalise(float *x, const double *d, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += d[i] * d[i];
    double norm = sqrt(s);
    if (!(norm >= SN_MIN_NORM)) return;
    double inv = 1.0 / norm;
    for (size_t i = 0; i < n; i++) x[i] = (float)(d[i] * inv);
}

/* tmp = W u (rows), or W^T v (cols), accumulated in double. */
static void times_u(const float *w, size_t rows, size_t cols, const float *u, double *tmp)
{
    for (size_t i = 0; i < rows; i++) {
        double s = 0.0;
        for (size_t j = 0; j < cols; j++) s += (double)w[i * cols + j] * u[j];
        tmp[i] = s;
    }
}

static void transpose_times_v(const float *w, size_t rows, size_t cols, const float *v, double *tmp)
{
    for (size_t j = 0; j < cols; j++) tmp[j] = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) tmp[j] += (double)w[i * cols + j] * v[i];
}

/* u and v: a random direction each, normalised. */
static void draw_vectors(gan_layer *l, gan_rng *rng)
{
    float *u = sn_u(l), *v = sn_v(l);
    size_t rows = l->sn->rows, cols = l->sn->cols;
    gan_rng_fill_normal(rng, u, cols, 0.0f, 1.0f);
    gan_rng_fill_normal(rng, v, rows, 0.0f, 1.0f);
    for (size_t j = 0; j < cols; j++) l->sn->tmp[j] = u[j];
    normalise(u, l->sn->tmp, cols);
    for (size_t i = 0; i < rows; i++) l->sn->tmp[i] = v[i];
    normalise(v, l->sn->tmp, rows);
}

void gan__sn_init(gan_layer *l, gan_rng *rng)
{
    if (l->sn) draw_vectors(l, rng);
}

/* x is a unit vector, as every normalise leaves it. */
static int is_unit(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return fabs(s - 1.0) <= 1e-3;
}

/* The seed of the directions drawn for u and v that were never set (below). */
#define SN_REDRAW_SEED 0x5eC7a1u

/* sigma by the power iteration (training mode) or from u and v as they are, and the
 * normalised copy of the parameters.
 *
 * u and v that are not unit vectors were never set: weights written through
 * gan_net_params or a file whose state holds zeros, or other values nobody drew. Zeros
 * are a fixed point of the iteration, so they are drawn afresh (a fixed seed: the same
 * net gives the same output) and iterated SN_MAX_ITERATIONS times, in any mode, before
 * sigma is read. A sigma that is not positive in float, or whose inverse overflows (W
 * zero), leaves the weights as they are. */
float *gan__sn_forward(gan_layer *l, int train)
{
    gan__sn *sn = l->sn;
    const float *w = l->params;
    float *u = sn_u(l), *v = sn_v(l);
    size_t iterations = train == GAN__TRAIN ? sn->iterations : 0;
    if (!is_unit(u, sn->cols) || !is_unit(v, sn->rows)) {
        gan_rng rng;
        gan_rng_seed(&rng, SN_REDRAW_SEED);
        draw_vectors(l, &rng);
        iterations = SN_MAX_ITERATIONS;
    }
    for (size_t it = 0; it < iterations; it++) {
        times_u(w, sn->rows, sn->cols, u, sn->tmp);
        normalise(v, sn->tmp, sn->rows);
        transpose_times_v(w, sn->rows, sn->cols, v, sn->tmp);
        normalise(u, sn->tmp, sn->cols);
    }
    times_u(w, sn->rows, sn->cols, u, sn->tmp);
    double sigma = 0.0;
    for (size_t i = 0; i < sn->rows; i++) sigma += v[i] * sn->tmp[i];
    float sigma_f = (float)sigma; /* compared in the precision it is used in */
    sn->sigma = sigma_f > 0.0f && isfinite(1.0f / sigma_f) ? sigma_f : 1.0f;
    size_t nw = sn->rows * sn->cols;
    float inv = 1.0f / sn->sigma;
    for (size_t i = 0; i < nw; i++) sn->copy[i] = w[i] * inv;
    memcpy(sn->copy + nw, w + nw, (l->n_params - nw) * sizeof *w);
    return sn->copy;
}

int gan__sn_check_state(const gan_layer *l, const uint8_t *p)
{
    if (!l->sn) return GAN_OK;
    size_t first = l->n_state - l->sn->rows - l->sn->cols;
    for (size_t i = first; i < l->n_state; i++)
        if (!isfinite(gan__get_f32(p + 4 * i)))
            return gan__fail(GAN_EFORMAT, "spectral norm's %s holds a non-finite value",
                             i < first + l->sn->cols ? "u" : "v");
    return GAN_OK;
}

float *gan__sn_grads(gan_layer *l) { return l->sn->g; }
float *gan__sn_copy(gan_layer *l) { return l->sn->copy; }

/* The kind's gradients (in sn->g, against the copy) into the net's: the weights' through
 * the normalisation, the others as they are. */
void gan__sn_backward(gan_layer *l, int grads)
{
    gan__sn *sn = l->sn;
    const float *u = sn_u(l), *v = sn_v(l), *g = sn->g, *wn = sn->copy;
    size_t nw = sn->rows * sn->cols, cols = sn->cols;
    double inner = 0.0;
    for (size_t i = 0; i < nw; i++) inner += (double)g[i] * wn[i];
    float inv = 1.0f / sn->sigma, *out = l->grads;
    int add = grads == GAN__GRADS_ADD;
    for (size_t i = 0; i < sn->rows; i++) {
        float c = (float)(inner * v[i]);
        for (size_t j = 0; j < cols; j++) {
            float d = (g[i * cols + j] - c * u[j]) * inv;
            out[i * cols + j] = add ? out[i * cols + j] + d : d;
        }
    }
    for (size_t i = nw; i < l->n_params; i++) out[i] = add ? out[i] + g[i] : g[i];
}
