/* Evaluation: Parzen-window log-likelihood, nearest neighbours and image grids, on the
 * blocked distances of distance.c (docs/evaluation.md). */
#include "gan.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "distance_impl.h"
#include "kernels_impl.h"
#include "vecmath_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* The paper's sigma grid: numpy.logspace(-1, 0, 10). */
#define DEFAULT_SIGMAS 10
/* Each candidate keeps a running sum per query row: 1024 of them is 4 MiB of state. */
#define MAX_SIGMAS 1024
#define LOG_SQRT_2PI 0.91893853320467274178

static int check_sigma(const char *fn, float sigma)
{
    if (!(sigma > 0.0f && sigma <= FLT_MAX))
        return gan__fail(GAN_EINVAL, "%s: sigma must be finite and > 0, got %g", fn, sigma);
    return GAN_OK;
}

/* ------------------------------------------------------------------ Parzen */

/* sum_j exp((shift - d2[j]) * scale), accumulated in double, for d2[j] >= shift and
 * 0 <= scale < inf. Each term is within 1e-7 relative; terms under e^-87 count as e^-87,
 * negligible next to the sums of the callers, which hold a term exp(0) = 1. */
static double exp_sum(const float *restrict d2, size_t n, float shift, float scale)
{
    float e[CHUNK];
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0; /* four chains: the adds overlap */
    size_t j = 0;
    for (; j + CHUNK <= n; j += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++) e[i] = exp_neg((d2[j + i] - shift) * scale);
        for (size_t i = 0; i < CHUNK; i += 4) s0 += e[i], s1 += e[i + 1], s2 += e[i + 2], s3 += e[i + 3];
    }
    for (; j < n; j++) s0 += exp_neg((d2[j] - shift) * scale);
    return (s0 + s1) + (s2 + s3);
}


/* Per test row, a running log-sum-exp for each of k sigmas. Every sigma shares the
 * row's smallest distance dmin as its reference point, so one rescale serves all:
 * ll = log(sum_j exp(-(d2_j - dmin) inv)) - dmin inv - log n - dim log(sigma sqrt(2 pi)). */
typedef struct parzen_sink {
    dist_sink base;
    size_t k;
    const double *inv;    /* k: 1 / (2 sigma^2) */
    const double *offset; /* k: log n + dim log(sigma sqrt(2 pi)) */
    const float *scale;   /* k: inv as a float for the exp kernel */
    double *dmin;         /* bq: smallest distance so far */
    double *sum;          /* bq x k: sum of exp(-(d2 - dmin) inv) */
    double *mean, *m2;    /* k: Welford mean and squared deviations over test rows */
    size_t count;         /* test rows finished */
} parzen_sink;

static void parzen_start(dist_sink *base, size_t q0, size_t rows)
{
    parzen_sink *p = (parzen_sink *)base;
    (void)q0;
    for (size_t i = 0; i < rows; i++) p->dmin[i] = INFINITY;
    memset(p->sum, 0, rows * p->k * sizeof *p->sum);
}

static void parzen_block(dist_sink *base, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                         const float *row_min)
{
    parzen_sink *p = (parzen_sink *)base;
    (void)q0, (void)r0;
    for (size_t i = 0; i < rows; i++) {
        double *sum = p->sum + i * p->k;
        if (row_min[i] < p->dmin[i]) { /* a closer sample: move the reference point */
            for (size_t k = 0; k < p->k; k++) sum[k] *= exp((row_min[i] - p->dmin[i]) * p->inv[k]);
            p->dmin[i] = row_min[i];
        }
        for (size_t k = 0; k < p->k; k++)
            sum[k] += exp_sum(d2 + i * cols, cols, (float)p->dmin[i], p->scale[k]);
    }
}

static void parzen_finish(dist_sink *base, size_t q0, size_t rows)
{
    parzen_sink *p = (parzen_sink *)base;
    (void)q0;
    for (size_t i = 0; i < rows; i++) {
        p->count++;
        for (size_t k = 0; k < p->k; k++) {
            double ll = log(p->sum[i * p->k + k]) - p->dmin[i] * p->inv[k] - p->offset[k];
            double delta = ll - p->mean[k];
            p->mean[k] += delta / (double)p->count;
            p->m2[k] += delta * (ll - p->mean[k]);
        }
    }
}

/* One allocation: doubles inv, offset, mean, m2 (k each), dmin (bq), sum (bq x k),
 * then the k float scales. */
static int parzen_alloc(parzen_sink *p, const dist_ws *w, const float *sigmas, size_t k, size_t n, size_t dim)
{
    size_t doubles = (w->bq + 4) * k + w->bq; /* k <= MAX_SIGMAS, bq <= BLOCK_Q: no overflow */
    double *d = gan__malloc(doubles * sizeof(double) + k * sizeof(float));
    if (!d) return GAN_ENOMEM;
    double *inv = d, *offset = d + k;
    float *scale = (float *)(d + doubles);
    *p = (parzen_sink){.base = {parzen_start, parzen_block, parzen_finish}, .k = k, .inv = inv,
                       .offset = offset, .scale = scale, .mean = d + 2 * k, .m2 = d + 3 * k,
                       .dmin = d + 4 * k, .sum = d + 4 * k + w->bq};
    for (size_t i = 0; i < k; i++) {
        double s = sigmas[i];
        inv[i] = 0.5 / (s * s);
        offset[i] = log((double)n) + (double)dim * (log(s) + LOG_SQRT_2PI);
        scale[i] = (float)fmin(inv[i], FLT_MAX); /* an infinite scale would make 0 * inf */
        p->mean[i] = p->m2[i] = 0.0;
    }
    return GAN_OK;
}

static void parzen_free(parzen_sink *p) { gan__free((void *)p->inv); }

/* Mean (and squared deviations) of the log-likelihood per sigma; results in p. */
static int parzen_run(const char *fn, parzen_sink *p, const float *samples, size_t n, const float *test, size_t m,
                      size_t dim, const float *sigmas, size_t k)
{
    dist_ws w;
    if (gan__dist_ws_alloc(&w, m, n)) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    if (parzen_alloc(p, &w, sigmas, k, n, dim)) {
        gan__free(w.g);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    gan__dist_pass(&w, test, m, samples, n, dim, &p->base);
    gan__free(w.g);
    return GAN_OK;
}

int gan_parzen_log_likelihood(double *mean, double *std_err, const float *samples, size_t n, const float *test,
                              size_t m, size_t dim, float sigma)
{
    static const char fn[] = "gan_parzen_log_likelihood";
    GAN_CHECK_ARG(mean);
    GAN_CHECK_ARG(samples);
    GAN_CHECK_ARG(test);
    int rc;
    if ((rc = check_sigma(fn, sigma)) || (rc = gan__check_pair(fn, "m", test, m, "n", samples, n, dim))) return rc;
    parzen_sink p;
    if ((rc = parzen_run(fn, &p, samples, n, test, m, dim, &sigma, 1))) return rc;
    double mu = p.mean[0], se = m > 1 ? sqrt(p.m2[0] / (double)(m - 1) / (double)m) : 0.0;
    parzen_free(&p);
    if (!isfinite(mu) || !isfinite(se)) /* unreachable with checked inputs; never hand out NaN */
        return gan__fail(GAN_EDIVERGED, "%s: the log-likelihood is not finite", fn);
    *mean = mu;
    if (std_err) *std_err = se;
    return GAN_OK;
}

int gan_parzen_select_sigma(float *best_sigma, double *best_ll, const float *samples, size_t n, const float *valid,
                            size_t m, size_t dim, const float *sigmas, size_t n_sigmas)
{
    static const char fn[] = "gan_parzen_select_sigma";
    GAN_CHECK_ARG(best_sigma);
    GAN_CHECK_ARG(samples);
    GAN_CHECK_ARG(valid);
    float grid[DEFAULT_SIGMAS];
    if (!sigmas) {
        for (size_t k = 0; k < DEFAULT_SIGMAS; k++) grid[k] = (float)pow(10.0, -1.0 + (double)k / 9.0);
        sigmas = grid, n_sigmas = DEFAULT_SIGMAS;
    }
    if (n_sigmas == 0 || n_sigmas > MAX_SIGMAS)
        return gan__fail(GAN_EINVAL, "%s: n_sigmas must be in [1, %d], got %zu", fn, MAX_SIGMAS, n_sigmas);
    int rc;
    for (size_t k = 0; k < n_sigmas; k++)
        if ((rc = check_sigma(fn, sigmas[k]))) return rc;
    if ((rc = gan__check_pair(fn, "m", valid, m, "n", samples, n, dim))) return rc;
    parzen_sink p;
    if ((rc = parzen_run(fn, &p, samples, n, valid, m, dim, sigmas, n_sigmas))) return rc;
    size_t best = 0;
    for (size_t k = 1; k < n_sigmas; k++) /* strict: the first of equal candidates wins */
        if (p.mean[k] > p.mean[best]) best = k;
    double ll = p.mean[best];
    parzen_free(&p);
    if (!isfinite(ll)) return gan__fail(GAN_EDIVERGED, "%s: the log-likelihood is not finite", fn);
    *best_sigma = sigmas[best];
    if (best_ll) *best_ll = ll;
    return GAN_OK;
}

/* -------------------------------------------------------- nearest neighbours */

typedef struct nn_sink {
    dist_sink base;
    size_t *index; /* the caller's output */
    float *best;   /* bq: smallest distance so far */
} nn_sink;

static void nn_start(dist_sink *base, size_t q0, size_t rows)
{
    nn_sink *s = (nn_sink *)base;
    (void)q0;
    for (size_t i = 0; i < rows; i++) s->best[i] = INFINITY;
}

/* Strictly smaller only, scanning references in order: ties go to the lowest index. */
static void nn_block(dist_sink *base, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                     const float *row_min)
{
    nn_sink *s = (nn_sink *)base;
    for (size_t i = 0; i < rows; i++) {
        if (!(row_min[i] < s->best[i])) continue;
        const float *row = d2 + i * cols;
        size_t j = 0;
        while (row[j] != row_min[i]) j++;
        s->best[i] = row_min[i];
        s->index[q0 + i] = r0 + j;
    }
}

static void nn_finish(dist_sink *base, size_t q0, size_t rows)
{
    (void)base, (void)q0, (void)rows;
}

/* The reported distance is recomputed from the two rows: exact to float rounding, with
 * no cancellation (a duplicate row reports exactly 0). */
static float sq_dist(const float *a, const float *b, size_t dim)
{
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return (float)s;
}

int gan_nearest_neighbors(size_t *index, float *dist2, const float *queries, size_t nq, const float *refs,
                          size_t nr, size_t dim)
{
    static const char fn[] = "gan_nearest_neighbors";
    GAN_CHECK_ARG(index);
    GAN_CHECK_ARG(queries);
    GAN_CHECK_ARG(refs);
    int rc = gan__check_pair(fn, "nq", queries, nq, "nr", refs, nr, dim);
    if (rc) return rc;
    dist_ws w;
    if (gan__dist_ws_alloc(&w, nq, nr)) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    nn_sink s = {{nn_start, nn_block, nn_finish}, index, gan__malloc(w.bq * sizeof(float))};
    if (!s.best) {
        gan__free(w.g);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    gan__dist_pass(&w, queries, nq, refs, nr, dim, &s.base);
    gan__free(s.best);
    gan__free(w.g);
    if (dist2)
        for (size_t i = 0; i < nq; i++) dist2[i] = sq_dist(queries + i * dim, refs + index[i] * dim, dim);
    return GAN_OK;
}

/* ------------------------------------------------------------- image grid */

/* count cells of len pixels with pad pixels between and around them. */
static int grid_extent(size_t count, size_t len, size_t pad, size_t *out)
{
    size_t cells, gaps;
    if (count == SIZE_MAX || gan__size_mul(count, len, &cells) || gan__size_mul(count + 1, pad, &gaps) || cells > SIZE_MAX - gaps)
        return -1;
    *out = cells + gaps;
    return 0;
}

/* A grid of n images of img_h x img_w pixels of c channels, cols per row: its scale-1
 * layout, scaled by `scale`, in pixels and bytes. */
typedef struct grid {
    size_t n, c, img_h, img_w, cols, pad, scale;
    size_t width, height, bytes; /* of the scaled grid */
} grid;

static int grid_layout(const char *fn, grid *g)
{
    if (g->c != 1 && g->c != 3)
        return gan__fail(GAN_EINVAL, "%s: channels must be 1 (grayscale) or 3 (RGB), got %zu", fn, g->c);
    if (g->n == 0 || g->img_w == 0 || g->img_h == 0 || g->cols == 0 || g->scale == 0)
        return gan__fail(GAN_EINVAL, "%s: n, img_w, img_h, cols and scale must be positive, got %zu, %zu, %zu, "
                         "%zu, %zu", fn, g->n, g->img_w, g->img_h, g->cols, g->scale);
    size_t rows = g->n / g->cols + (g->n % g->cols != 0), w, h;
    if (grid_extent(g->cols, g->img_w, g->pad, &w) || grid_extent(rows, g->img_h, g->pad, &h) ||
        gan__size_mul(w, g->scale, &g->width) || gan__size_mul(h, g->scale, &g->height) ||
        gan__size_mul(g->width, g->height, &g->bytes) || gan__size_mul(g->bytes, g->c, &g->bytes))
        return gan__fail(GAN_EINVAL, "%s: the grid size overflows (%zu images of %zu x %zu, %zu per row, pad %zu, "
                         "scale %zu)", fn, g->n, g->img_w, g->img_h, g->cols, g->pad, g->scale);
    return GAN_OK;
}

static int grid_size(const char *fn, size_t *width, size_t *height, grid g)
{
    int rc = grid_layout(fn, &g);
    if (!rc) *width = g.width, *height = g.height;
    return rc;
}

/* round(clamp(v, 0, 1) * 255), NaN to 0. */
static uint8_t to_byte(float v)
{
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return 255;
    return (uint8_t)(v * 255.0f + 0.5f);
}

/* Each pixel is written `scale` times across and each image row copied `scale` times
 * down: the scale-1 grid (padding included) with every pixel a scale x scale block. */
static int grid_draw(const char *fn, uint8_t *pixels, const float *images, grid g)
{
    size_t area, count;
    int rc = grid_layout(fn, &g);
    if (rc) return rc;
    if (gan__size_mul(g.img_w, g.img_h, &area) || gan__size_mul(area, g.c, &area) ||
        gan__size_mul(g.n, area, &count) || count > SIZE_MAX / sizeof(float))
        return gan__fail(GAN_EINVAL, "%s: %zu images of %zu x %zu x %zu (w x h x channels) overflow", fn, g.n,
                         g.img_w, g.img_h, g.c);
    const size_t c = g.c, s = g.scale, stride = g.width * c, row_bytes = g.img_w * s * c;
    memset(pixels, 0, g.bytes);
    for (size_t k = 0; k < g.n; k++) {
        const float *img = images + k * area;
        size_t x0 = g.pad + (k % g.cols) * (g.img_w + g.pad), y0 = g.pad + (k / g.cols) * (g.img_h + g.pad);
        for (size_t y = 0; y < g.img_h; y++) {
            uint8_t *dst = pixels + (y0 + y) * s * stride + x0 * s * c;
            for (size_t x = 0; x < g.img_w; x++)
                for (size_t ch = 0; ch < c; ch++) {
                    uint8_t v = to_byte(img[(y * g.img_w + x) * c + ch]);
                    for (size_t i = 0; i < s; i++) dst[(x * s + i) * c + ch] = v;
                }
            for (size_t i = 1; i < s; i++) memcpy(dst + i * stride, dst, row_bytes);
        }
    }
    return GAN_OK;
}

int gan_image_grid2_size(size_t *width, size_t *height, size_t n, size_t channels, size_t img_h, size_t img_w,
                         size_t cols, size_t pad, size_t scale)
{
    GAN_CHECK_ARG(width);
    GAN_CHECK_ARG(height);
    return grid_size(__func__, width, height, (grid){n, channels, img_h, img_w, cols, pad, scale, 0, 0, 0});
}

int gan_image_grid2(uint8_t *pixels, const float *images, size_t n, size_t channels, size_t img_h, size_t img_w,
                    size_t cols, size_t pad, size_t scale)
{
    GAN_CHECK_ARG(pixels);
    GAN_CHECK_ARG(images);
    return grid_draw(__func__, pixels, images, (grid){n, channels, img_h, img_w, cols, pad, scale, 0, 0, 0});
}

/* 0.1's grayscale grid at scale 1, kept for the programs built against it (docs/abi.md). */
int gan_image_grid_size(size_t *width, size_t *height, size_t n, size_t img_w, size_t img_h, size_t cols,
                        size_t pad)
{
    GAN_CHECK_ARG(width);
    GAN_CHECK_ARG(height);
    return grid_size(__func__, width, height, (grid){n, 1, img_h, img_w, cols, pad, 1, 0, 0, 0});
}

int gan_image_grid(uint8_t *pixels, const float *images, size_t n, size_t img_w, size_t img_h, size_t cols,
                   size_t pad)
{
    GAN_CHECK_ARG(pixels);
    GAN_CHECK_ARG(images);
    return grid_draw(__func__, pixels, images, (grid){n, 1, img_h, img_w, cols, pad, 1, 0, 0, 0});
}
