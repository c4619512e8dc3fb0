/* Batch normalization (Ioffe and Szegedy 2015) with PyTorch's semantics: per channel of
 * the input shape (C, H, W), over the batch's rows and positions. Training normalises
 * with the batch's mean and biased variance and moves the running statistics by
 * `momentum` (the running variance unbiased, n / (n - 1)); evaluation uses the running
 * statistics. Statistics are two passes accumulated in double: E[x^2] - E[x]^2 cancels
 * badly where the mean is large against the spread.
 *
 * Parameters: C scales (gamma), then C shifts (beta); none without the affine
 * (gan_layer_set_bias(l, 0): y = x_hat, PyTorch's affine=False). State: C running means,
 * then C running variances. Workspace: per channel the mean and 1/sqrt(var + eps) the last
 * forward used, and two double accumulators. */
#include "layer_kind_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Encoding: channels u64, momentum f32, eps f32; without the affine also flags u32 (bit 0:
 * no gamma and beta), so a batch norm with it keeps its 16 bytes. */
enum { BATCHNORM_RECORD = 16, BATCHNORM_RECORD_FLAGS = 20, BATCHNORM_NO_AFFINE = 1 };

typedef struct batchnorm_layer {
    gan_layer base;
    size_t channels;
    float momentum, eps;
    int affine; /* 1: gamma and beta (the default); 0: y = x_hat, no parameters */
    int train;  /* the last forward's mode (GAN__*) */
} batchnorm_layer;

static batchnorm_layer *bn_of(gan_layer *l) { return (batchnorm_layer *)l; }
static const batchnorm_layer *bn_of_c(const gan_layer *l) { return (const batchnorm_layer *)l; }

/* The workspace: mean[C] and invstd[C] as floats, three C-long float partial sums (or
 * backward's coefficients), then two C-long double accumulators. */
typedef struct bn_work {
    float *mean, *invstd, *part0, *part1, *part2;
    double *acc0, *acc1;
} bn_work;

static size_t work_bytes(size_t c) { return c * (5 * sizeof(float) + 2 * sizeof(double)); }

static bn_work work_of(gan_layer *l)
{
    size_t c = bn_of(l)->channels;
    double *acc = (double *)l->work; /* doubles first: their alignment */
    float *f = (float *)(acc + 2 * c);
    return (bn_work){f, f + c, f + 2 * c, f + 3 * c, f + 4 * c, acc, acc + c};
}

/* Sums over the rows go BN_ROWS rows at a time into float partials, which the double
 * accumulators then take: the inner loops run over channels in float, which vectorise,
 * and no float sum runs long enough to lose more than a few ulps. */
enum { BN_ROWS = 16 };

/* The partial sums of rows x c values, channel by channel (restrict: so they vectorise). */
static void sum_rows(float *restrict part, const float *restrict x, size_t rows, size_t c)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) part[j] += x[r * c + j];
}

static void sum_squares_about(float *restrict part, const float *restrict x, const float *restrict mean, size_t rows,
                              size_t c)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) {
            float d = x[r * c + j] - mean[j];
            part[j] += d * d;
        }
}

/* sum dy and sum dy x_hat */
static void sum_gradients(float *restrict sdy, float *restrict sdyx, const float *restrict dy,
                          const float *restrict x, const float *restrict mean, const float *restrict invstd,
                          size_t rows, size_t c)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < c; j++) {
            float g = dy[r * c + j];
            sdy[j] += g;
            sdyx[j] += g * ((x[r * c + j] - mean[j]) * invstd[j]);
        }
}

static int bn_place(gan_layer *l, gan_shape in, size_t index)
{
    if (in.c != bn_of(l)->channels)
        return gan__fail(GAN_EINVAL, "batchnorm layer %zu normalises %zu channels, got %zu (shape %zux%zux%zu)", index,
                         bn_of(l)->channels, in.c, in.c, in.h, in.w);
    l->in = l->out = in;
    return GAN_OK;
}

static int bn_reserve(gan_layer *l, size_t batch)
{
    (void)batch;
    return l->work ? GAN_OK : gan__layer_grow(l, 1, 1, work_bytes(bn_of(l)->channels));
}

/* Per channel, the mean (acc0, and rounded in w.mean) and the biased variance (acc1) of n
 * rows of c values, in two passes. The second centres on the float mean m_f: the sum of
 * squares about it is the one about the mean plus n (mean - m_f)^2, taken off exactly. */
static void batch_stats(gan_layer *l, const float *x, size_t n, bn_work w)
{
    size_t c = bn_of(l)->channels;
    memset(w.acc0, 0, c * sizeof *w.acc0);
    memset(w.acc1, 0, c * sizeof *w.acc1);
    for (size_t r0 = 0; r0 < n; r0 += BN_ROWS) {
        size_t r1 = n - r0 < BN_ROWS ? n : r0 + BN_ROWS;
        memset(w.part0, 0, c * sizeof *w.part0);
        sum_rows(w.part0, x + r0 * c, r1 - r0, c);
        for (size_t j = 0; j < c; j++) w.acc0[j] += w.part0[j];
    }
    for (size_t j = 0; j < c; j++) {
        w.acc0[j] /= (double)n;
        w.mean[j] = (float)w.acc0[j];
    }
    for (size_t r0 = 0; r0 < n; r0 += BN_ROWS) {
        size_t r1 = n - r0 < BN_ROWS ? n : r0 + BN_ROWS;
        memset(w.part0, 0, c * sizeof *w.part0);
        sum_squares_about(w.part0, x + r0 * c, w.mean, r1 - r0, c);
        for (size_t j = 0; j < c; j++) w.acc1[j] += w.part0[j];
    }
    for (size_t j = 0; j < c; j++) {
        double off = w.acc0[j] - w.mean[j];
        w.acc1[j] = fmax(w.acc1[j] / (double)n - off * off, 0.0);
    }
}

static void bn_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)rng;
    batchnorm_layer *b = bn_of(l);
    size_t c = b->channels, n = batch * l->in.h * l->in.w;
    bn_work w = work_of(l);
    float *run_mean = l->state, *run_var = l->state + c;
    b->train = train;
    if (train == GAN__EVAL) {
        for (size_t j = 0; j < c; j++) {
            w.mean[j] = run_mean[j];
            w.invstd[j] = (float)(1.0 / sqrt((double)run_var[j] + b->eps));
        }
    } else {
        batch_stats(l, x, n, w);
        for (size_t j = 0; j < c; j++) w.invstd[j] = (float)(1.0 / sqrt(w.acc1[j] + b->eps));
        if (train == GAN__TRAIN) {
            double m = b->momentum, unbias = n > 1 ? (double)n / (double)(n - 1) : 1.0;
            for (size_t j = 0; j < c; j++) {
                run_mean[j] = (float)((1.0 - m) * run_mean[j] + m * w.acc0[j]);
                run_var[j] = (float)((1.0 - m) * run_var[j] + m * w.acc1[j] * unbias);
            }
        }
    }
    /* y = (x - mean) (gamma invstd) + beta: subtracting first keeps a small spread around a
     * large mean (x scale + shift would cancel it). Without the affine gamma is 1, beta 0. */
    float *scale = w.part0, *shift = w.part1;
    for (size_t j = 0; j < c; j++) {
        scale[j] = b->affine ? l->params[j] * w.invstd[j] : w.invstd[j];
        shift[j] = b->affine ? l->params[c + j] : 0.0f;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < c; j++) y[r * c + j] = (x[r * c + j] - w.mean[j]) * scale[j] + shift[j];
}

/* With x_hat = (x - mean) invstd: dgamma = sum dy x_hat, dbeta = sum dy; with batch
 * statistics dx = gamma invstd (dy - (dbeta + x_hat dgamma) / n), with running ones
 * dx = gamma invstd dy. Without the affine gamma is 1 and there are no parameter
 * gradients. */
static void bn_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                        int grads)
{
    (void)y;
    batchnorm_layer *b = bn_of(l);
    size_t c = b->channels, n = batch * l->in.h * l->in.w;
    bn_work w = work_of(l);
    int batch_stats_used = b->train != GAN__EVAL;
    if (!b->affine) grads = GAN__GRADS_NONE;
    if (grads == GAN__GRADS_NONE && !dx) return;
    double *sdy = w.acc0, *sdyx = w.acc1;
    memset(sdy, 0, c * sizeof *sdy);
    memset(sdyx, 0, c * sizeof *sdyx);
    for (size_t r0 = 0; r0 < n; r0 += BN_ROWS) {
        size_t r1 = n - r0 < BN_ROWS ? n : r0 + BN_ROWS;
        memset(w.part0, 0, c * sizeof *w.part0);
        memset(w.part1, 0, c * sizeof *w.part1);
        sum_gradients(w.part0, w.part1, dy + r0 * c, x + r0 * c, w.mean, w.invstd, r1 - r0, c);
        for (size_t j = 0; j < c; j++) {
            sdy[j] += w.part0[j];
            sdyx[j] += w.part1[j];
        }
    }
    if (grads != GAN__GRADS_NONE) {
        float *dgamma = l->grads, *dbeta = l->grads + c;
        int add = grads == GAN__GRADS_ADD;
        for (size_t j = 0; j < c; j++) {
            dgamma[j] = (float)((add ? dgamma[j] : 0.0) + sdyx[j]);
            dbeta[j] = (float)((add ? dbeta[j] : 0.0) + sdy[j]);
        }
    }
    if (!dx) return;
    /* Per channel, dx = k dy - a - (x - mean) kx, with k = gamma invstd and, for batch
     * statistics, a = k sdy / n and kx = invstd k sdyx / n; the row loop is then float. */
    float *k = w.part0, *a = w.part1, *kx = w.part2;
    for (size_t j = 0; j < c; j++) {
        double kj = b->affine ? (double)l->params[j] * w.invstd[j] : (double)w.invstd[j];
        k[j] = (float)kj;
        a[j] = batch_stats_used ? (float)(kj * sdy[j] / (double)n) : 0.0f;
        kx[j] = batch_stats_used ? (float)(w.invstd[j] * kj * sdyx[j] / (double)n) : 0.0f;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < c; j++) dx[r * c + j] = k[j] * dy[r * c + j] - a[j] - (x[r * c + j] - w.mean[j]) * kx[j];
}

static void bn_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    size_t c = bn_of(l)->channels;
    if (bn_of(l)->affine) {
        if (scheme == GAN_INIT_DCGAN) gan_rng_fill_normal(rng, l->params, c, 1.0f, scale * 0.02f);
        else
            for (size_t j = 0; j < c; j++) l->params[j] = 1.0f;
        for (size_t j = 0; j < c; j++) l->params[c + j] = 0.0f;
    }
    for (size_t j = 0; j < c; j++) {
        l->state[j] = 0.0f;
        l->state[c + j] = 1.0f;
    }
}

static size_t bn_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, bn_of_c(l)->channels);
        gan__put_f32(out + 8, bn_of_c(l)->momentum);
        gan__put_f32(out + 12, bn_of_c(l)->eps);
        if (!bn_of_c(l)->affine) gan__put_u32(out + 16, BATCHNORM_NO_AFFINE);
    }
    return bn_of_c(l)->affine ? BATCHNORM_RECORD : BATCHNORM_RECORD_FLAGS;
}

static int bn_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    if (version == 1) return gan__fail(GAN_EFORMAT, "batchnorm layers came with format version 2");
    if (len != BATCHNORM_RECORD && len != BATCHNORM_RECORD_FLAGS)
        return gan__bad_length("batchnorm", len, BATCHNORM_RECORD);
    uint32_t flags = len == BATCHNORM_RECORD_FLAGS ? gan__get_u32(p + 16) : 0;
    if (len == BATCHNORM_RECORD_FLAGS && flags != BATCHNORM_NO_AFFINE)
        return gan__fail(GAN_EFORMAT, "batchnorm: flags 0x%lx, not 0x%x", (unsigned long)flags, BATCHNORM_NO_AFFINE);
    int rc = gan_layer_batchnorm(out, gan__field_size(gan__get_u64(p)), gan__get_f32(p + 8), gan__get_f32(p + 12));
    if (!rc && flags) rc = gan_layer_set_bias(*out, 0);
    return rc;
}

/* Dropping the "bias" drops the whole affine, gamma with beta: a batch norm whose output
 * something else scales and shifts (a modulate layer: conditional batch norm). */
static int bn_set_bias(gan_layer *l, int on)
{
    batchnorm_layer *b = bn_of(l);
    b->affine = on;
    l->n_params = on ? 2 * b->channels : 0;
    return GAN_OK;
}

/* Running means finite, running variances finite and >= 0. */
static int bn_check_state(const gan_layer *l, const uint8_t *p)
{
    size_t c = bn_of_c(l)->channels;
    for (size_t j = 0; j < 2 * c; j++) {
        float x = gan__get_f32(p + 4 * j);
        if (!isfinite(x) || (j >= c && x < 0.0f))
            return gan__fail(GAN_EFORMAT, "the running %s of channel %zu is %g", j < c ? "mean" : "variance",
                             j % c, (double)x);
    }
    return GAN_OK;
}

/* Batch statistics need two values per channel: one value's variance is 0, and the
 * running variance would decay towards it. The net passes the rows this process
 * normalises (a rank's share in data-parallel training). */
static int bn_check_batch(const gan_layer *l, size_t batch)
{
    size_t n = batch * l->in.h * l->in.w;
    if (n < 2)
        return gan__fail(GAN_EINVAL, "training needs at least 2 values per channel, got %zu (a batch of %zu x %zux%zu "
                                     "positions)", n, batch, l->in.h, l->in.w);
    return GAN_OK;
}

static void bn_describe(const gan_layer *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "batchnorm(%zu, momentum %g, eps %g%s) on %zux%zux%zu", bn_of_c(l)->channels,
             (double)bn_of_c(l)->momentum, (double)bn_of_c(l)->eps, bn_of_c(l)->affine ? "" : ", no affine", l->in.c,
             l->in.h, l->in.w);
}

const struct gan_layer_ops gan__batchnorm_ops = {
    .name = "batchnorm",
    .kind = GAN_LAYER_BATCHNORM,
    .size = sizeof(batchnorm_layer),
    .reads_x = 1,
    .couples_rows = 1,
    .place = bn_place,
    .reserve = bn_reserve,
    .forward = bn_forward,
    .backward = bn_backward,
    .init = bn_init,
    .encode = bn_encode,
    .decode = bn_decode,
    .describe = bn_describe,
    .check_state = bn_check_state,
    .check_batch = bn_check_batch,
    .set_bias = bn_set_bias,
};

int gan_layer_batchnorm(gan_layer **out, size_t channels, float momentum, float eps)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (channels == 0 || channels > GAN_MAX_DIM)
        return gan__fail(GAN_EINVAL, "%s: channels must be in [1, %d], got %zu", __func__, INT_MAX, channels);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return gan__fail(GAN_EINVAL, "%s: momentum must be in [0, 1], got %g", __func__, (double)momentum);
    if (!(eps > 0.0f && eps <= 1.0f))
        return gan__fail(GAN_EINVAL, "%s: eps must be in (0, 1], got %g", __func__, (double)eps);
    int rc = gan__layer_new(out, &gan__batchnorm_ops, __func__);
    if (rc) return rc;
    batchnorm_layer *b = bn_of(*out);
    b->channels = channels;
    b->momentum = momentum;
    b->eps = eps;
    b->affine = 1;
    (*out)->n_params = 2 * channels;
    (*out)->n_state = 2 * channels;
    return GAN_OK;
}
