/* Evaluation: Parzen-window log-likelihood, nearest neighbours and image grids.
 * Squared distances come blockwise from |x|^2 + |s|^2 - 2 x.s with one sgemm per block,
 * so the workspace stays a few MiB whatever the number of rows (docs/evaluation.md). */
#include "gan.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "vecmath_impl.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* A block is BLOCK_Q query rows x BLOCK_R reference rows: a 4 MiB float tile. */
#define BLOCK_Q 512
#define BLOCK_R 2048
/* A distance is at most 4 x the larger squared norm; this bound keeps it (and the
 * sgemm's partial sums) finite in float. */
#define MAX_NORM2 ((double)FLT_MAX / 8.0)
/* The paper's sigma grid: numpy.logspace(-1, 0, 10). */
#define DEFAULT_SIGMAS 10
/* Each candidate keeps a running sum per query row: 1024 of them is 4 MiB of state. */
#define MAX_SIGMAS 1024
#define LOG_SQRT_2PI 0.91893853320467274178

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* ------------------------------------------------------------- validation */

static int check_dim(const char *fn, size_t dim)
{
    if (dim == 0 || dim > INT_MAX) /* sgemm takes dim as an int */
        return gan__fail(GAN_EINVAL, "%s: dim must be in [1, %d], got %zu", fn, INT_MAX, dim);
    return GAN_OK;
}

/* rows > 0 and rows x dim floats addressable. */
static int check_rows(const char *fn, const char *name, size_t rows, size_t dim)
{
    size_t count, bytes;
    if (rows == 0) return gan__fail(GAN_EINVAL, "%s: %s must be positive", fn, name);
    if (gan__size_mul(rows, dim, &count) || gan__size_mul(count, sizeof(float), &bytes))
        return gan__fail(GAN_EINVAL, "%s: %s x dim = %zu x %zu overflows", fn, name, rows, dim);
    return GAN_OK;
}

/* Sum of squares accumulated in double: NaN or Inf anywhere makes it non-finite. */
static double sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

/* Every row finite and small enough that its distances fit a float. Checked up front:
 * it costs one pass over the data, far less than the products. */
static int check_values(const char *fn, const char *what, const float *x, size_t rows, size_t dim)
{
    for (size_t i = 0; i < rows; i++) {
        double s = sum_squares(x + i * dim, dim);
        if (!(s <= MAX_NORM2))
            return gan__fail(GAN_EINVAL, "%s: %s row %zu is not finite or too large (squared norm %g)", fn,
                             what, i, s);
    }
    return GAN_OK;
}

static int check_pair(const char *fn, const char *qname, const float *q, size_t nq, const char *rname,
                      const float *r, size_t nr, size_t dim)
{
    int rc;
    if ((rc = check_dim(fn, dim)) || (rc = check_rows(fn, qname, nq, dim)) || (rc = check_rows(fn, rname, nr, dim)))
        return rc;
    if ((rc = check_values(fn, qname, q, nq, dim)) || (rc = check_values(fn, rname, r, nr, dim))) return rc;
    return GAN_OK;
}

static int check_sigma(const char *fn, float sigma)
{
    if (!(sigma > 0.0f && sigma <= FLT_MAX))
        return gan__fail(GAN_EINVAL, "%s: sigma must be finite and > 0, got %g", fn, sigma);
    return GAN_OK;
}

/* --------------------------------------------------------- blocked distances */

/* The distance loops run in chunks of a constant length: -O2's cheap cost model vectorises
 * a loop only when no scalar remainder is needed. Branches on floats also stop it, so clamps
 * compare bit patterns, which order like the values for floats >= 0. */
#define CHUNK 64

/* max(d2 + xn + sn, 0) in place; a negative float has negative bits. Returns the minimum bits. */
static inline int32_t dist_chunk(float *restrict d2, float xn, const float *restrict sn, size_t len, int32_t lo)
{
    for (size_t j = 0; j < len; j++) {
        int32_t b = float_bits(d2[j] + xn + sn[j]);
        b = b > 0 ? b : 0;
        d2[j] = bits_float(b);
        lo = b < lo ? b : lo;
    }
    return lo;
}

/* Finish one row of squared distances from d2[j] = -2 x.s_j: d2[j] += xn + sn[j],
 * clamped at 0 (cancellation can make a tiny distance negative). Returns the row's minimum. */
static float sq_dist_finish(float *restrict d2, float xn, const float *restrict sn, size_t n)
{
    int32_t lo = float_bits(INFINITY);
    size_t j = 0;
    for (; j + CHUNK <= n; j += CHUNK) lo = dist_chunk(d2 + j, xn, sn + j, CHUNK, lo);
    return bits_float(dist_chunk(d2 + j, xn, sn + j, n - j, lo));
}

/* out[r] = squared norm of row r of x (rows x dim), accumulated in double. */
static void sq_norms(float *restrict out, const float *restrict x, size_t rows, size_t dim)
{
    for (size_t r = 0; r < rows; r++, x += dim) {
        double s[4] = {0.0, 0.0, 0.0, 0.0}; /* four chains: the adds overlap */
        size_t i = 0;
        for (; i + 4 <= dim; i += 4)
            for (size_t l = 0; l < 4; l++) s[l] += (double)x[i + l] * x[i + l];
        for (; i < dim; i++) s[0] += (double)x[i] * x[i];
        out[r] = (float)((s[0] + s[1]) + (s[2] + s[3]));
    }
}

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

/* Receives the squared distances of query rows q0 .. q0+rows-1 to reference rows
 * r0 .. r0+cols-1 (d2 is rows x cols), with each row's minimum over the block. */
typedef struct dist_sink dist_sink;
struct dist_sink {
    void (*start)(dist_sink *s, size_t q0, size_t rows);
    void (*block)(dist_sink *s, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                  const float *row_min);
    void (*finish)(dist_sink *s, size_t q0, size_t rows);
};

typedef struct dist_ws {
    size_t bq, br;            /* block sizes, clipped to the problem */
    float *g;                 /* bq x br distances */
    float *qn, *rn, *row_min; /* bq query norms, br reference norms, bq minima */
} dist_ws;

static int dist_ws_alloc(dist_ws *w, size_t nq, size_t nr)
{
    w->bq = min_size(nq, BLOCK_Q);
    w->br = min_size(nr, BLOCK_R);
    w->g = gan__malloc((w->bq * w->br + 2 * w->bq + w->br) * sizeof(float));
    if (!w->g) return GAN_ENOMEM;
    w->qn = w->g + w->bq * w->br;
    w->rn = w->qn + w->bq;
    w->row_min = w->rn + w->br;
    return GAN_OK;
}

/* Queries in the outer loop: a sink keeps state for one block of queries only.
 * Reference norms are recomputed per query block, which is cheap next to the sgemm. */
static void dist_pass(const dist_ws *w, const float *q, size_t nq, const float *r, size_t nr, size_t dim,
                      dist_sink *s)
{
    for (size_t q0 = 0; q0 < nq; q0 += w->bq) {
        size_t rows = min_size(w->bq, nq - q0);
        const float *qb = q + q0 * dim;
        sq_norms(w->qn, qb, rows, dim);
        s->start(s, q0, rows);
        for (size_t r0 = 0; r0 < nr; r0 += w->br) {
            size_t cols = min_size(w->br, nr - r0);
            const float *rb = r + r0 * dim;
            sq_norms(w->rn, rb, cols, dim);
            gan__gemm(0, 1, rows, cols, dim, -2.0f, qb, dim, rb, dim, 0.0f, w->g, cols);
            for (size_t i = 0; i < rows; i++)
                w->row_min[i] = sq_dist_finish(w->g + i * cols, w->qn[i], w->rn, cols);
            s->block(s, q0, rows, r0, cols, w->g, w->row_min);
        }
        s->finish(s, q0, rows);
    }
}

/* ------------------------------------------------------------------ Parzen */

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
    if (dist_ws_alloc(&w, m, n)) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    if (parzen_alloc(p, &w, sigmas, k, n, dim)) {
        gan__free(w.g);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    dist_pass(&w, test, m, samples, n, dim, &p->base);
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
    if ((rc = check_sigma(fn, sigma)) || (rc = check_pair(fn, "m", test, m, "n", samples, n, dim))) return rc;
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
    if ((rc = check_pair(fn, "m", valid, m, "n", samples, n, dim))) return rc;
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
    int rc = check_pair(fn, "nq", queries, nq, "nr", refs, nr, dim);
    if (rc) return rc;
    dist_ws w;
    if (dist_ws_alloc(&w, nq, nr)) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    nn_sink s = {{nn_start, nn_block, nn_finish}, index, gan__malloc(w.bq * sizeof(float))};
    if (!s.best) {
        gan__free(w.g);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    dist_pass(&w, queries, nq, refs, nr, dim, &s.base);
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
