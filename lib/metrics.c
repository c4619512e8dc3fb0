/* Scores of a generator on feature vectors (docs/evaluation.md): the Frechet distance
 * (Heusel et al. 2017), the kernel distance (Binkowski et al. 2018) and k-NN precision and
 * recall (Kynkaanniemi et al. 2019). Features are float rows; moments, kernel sums and
 * fractions are accumulated in double. */
#include "gan.h"
#include "alloc_impl.h"
#include "distance_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "rng_impl.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The Frechet distance's matrices are dim x dim doubles, four of them, and LAPACK counts in
 * int: 8192 features is 2 GiB of workspace, beyond any feature extractor's width. */
#define FD_MAX_DIM 8192
/* Rows converted to double per covariance update. */
#define FD_ROWS 256

/* ---------------------------------------------------------- Frechet distance */

typedef struct fd_ws {
    size_t dim;
    double *mean_a, *mean_b, *cov_a, *cov_b, *root, *prod, *rows, *eig, *work;
    int *iwork;
    size_t lwork, liwork;
} fd_ws;

static int fd_alloc(fd_ws *w, size_t dim)
{
    size_t lw, liw, lw_n, liw_n;
    if (gan__dsyevd_work(1, dim, &lw, &liw) || gan__dsyevd_work(0, dim, &lw_n, &liw_n)) return GAN_ENOMEM;
    w->dim = dim;
    w->lwork = lw > lw_n ? lw : lw_n;
    w->liwork = liw > liw_n ? liw : liw_n;
    size_t sq = dim * dim, doubles = 4 * sq + FD_ROWS * dim + 3 * dim + w->lwork; /* dim <= 8192: no overflow */
    w->mean_a = gan__malloc(doubles * sizeof(double));
    w->iwork = gan__malloc(w->liwork * sizeof(int));
    if (!w->mean_a || !w->iwork) {
        gan__free(w->mean_a);
        gan__free(w->iwork);
        return GAN_ENOMEM;
    }
    w->mean_b = w->mean_a + dim;
    w->eig = w->mean_b + dim;
    w->cov_a = w->eig + dim;
    w->cov_b = w->cov_a + sq;
    w->root = w->cov_b + sq;
    w->prod = w->root + sq;
    w->rows = w->prod + sq;
    w->work = w->rows + FD_ROWS * dim;
    return GAN_OK;
}

static void fd_free(fd_ws *w)
{
    gan__free(w->mean_a);
    gan__free(w->iwork);
}

/* The mean and the unbiased covariance (n - 1, as numpy.cov) of n rows, both full. */
static void moments(fd_ws *w, const float *x, size_t n, double *mean, double *cov)
{
    size_t d = w->dim;
    memset(mean, 0, d * sizeof *mean);
    memset(cov, 0, d * d * sizeof *cov);
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < d; j++) mean[j] += x[r * d + j];
    for (size_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t r0 = 0; r0 < n; r0 += FD_ROWS) {
        size_t rows = gan__min_size(FD_ROWS, n - r0);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < d; j++) w->rows[r * d + j] = x[(r0 + r) * d + j] - mean[j];
        gan__dsyrk_t(d, rows, w->rows, cov);
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= (double)(n - 1);
}

/* tr sqrt(A B) for symmetric positive semi-definite A and B: with A = V L V^T, the matrix
 * A^1/2 B A^1/2 (A^1/2 = V L^1/2 V^T) is symmetric and has the eigenvalues of A B. Tiny
 * negative eigenvalues are rounding and count as 0. A is overwritten. */
static int trace_sqrt_product(fd_ws *w, double *a, const double *b, double *out)
{
    size_t d = w->dim;
    int info = gan__dsyevd(1, d, a, w->eig, w->work, w->lwork, w->iwork, w->liwork);
    if (info) return info;
    /* Row i of a is eigenvector v_i; scaled by l_i^1/4 it makes U with U^T U = sum_i
     * l_i^1/2 v_i v_i^T = A^1/2. */
    for (size_t i = 0; i < d; i++) {
        double s = sqrt(sqrt(fmax(w->eig[i], 0.0)));
        for (size_t j = 0; j < d; j++) a[i * d + j] *= s;
    }
    gan__dgemm(1, 0, d, d, d, a, a, w->root);       /* A^1/2 */
    gan__dgemm(0, 0, d, d, d, w->root, b, w->prod); /* A^1/2 B */
    gan__dgemm(0, 0, d, d, d, w->prod, w->root, a); /* A^1/2 B A^1/2 */
    info = gan__dsyevd(0, d, a, w->eig, w->work, w->lwork, w->iwork, w->liwork);
    if (info) return info;
    double t = 0.0;
    for (size_t i = 0; i < d; i++) t += sqrt(fmax(w->eig[i], 0.0));
    *out = t;
    return 0;
}

int gan_frechet_distance(double *fd, const float *feats_a, size_t na, const float *feats_b, size_t nb, size_t dim)
{
    GAN_CHECK_ARG(fd);
    GAN_CHECK_ARG(feats_a);
    GAN_CHECK_ARG(feats_b);
    if (na == 1 || nb == 1) /* 0 rows: gan__check_pair's message */
        return gan__fail(GAN_EINVAL, "%s: a covariance needs 2 rows or more, got na %zu and nb %zu", __func__, na,
                         nb);
    if (dim > FD_MAX_DIM) return gan__fail(GAN_EINVAL, "%s: dim %zu exceeds %d", __func__, dim, FD_MAX_DIM);
    int rc = gan__check_pair(__func__, "na", feats_a, na, "nb", feats_b, nb, dim);
    if (rc) return rc;
    fd_ws w;
    if (fd_alloc(&w, dim)) return gan__fail(GAN_ENOMEM, "%s: out of memory for %zu features", __func__, dim);
    moments(&w, feats_a, na, w.mean_a, w.cov_a);
    moments(&w, feats_b, nb, w.mean_b, w.cov_b);
    double mean_d2 = 0.0, traces = 0.0, root_trace = 0.0;
    for (size_t j = 0; j < dim; j++) {
        double diff = w.mean_a[j] - w.mean_b[j];
        mean_d2 += diff * diff;
        traces += w.cov_a[j * dim + j] + w.cov_b[j * dim + j];
    }
    int info = trace_sqrt_product(&w, w.cov_a, w.cov_b, &root_trace);
    fd_free(&w);
    if (info) return gan__fail(GAN_EDIVERGED, "%s: LAPACK's dsyevd did not converge (info %d)", __func__, info);
    /* A distance: rounding may leave a value a hair below 0 for two equal sets. */
    *fd = fmax(mean_d2 + traces - 2.0 * root_trace, 0.0);
    return GAN_OK;
}

/* ----------------------------------------------------------- kernel distance */

/* Sum of k(x, y) = (x.y / dim + 1)^3 over a Gram matrix g (m x m), without its diagonal
 * when it is one set against itself. */
static double cubic_sum(const float *g, size_t m, double inv_dim, int skip_diagonal)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double k = g[i * m + j] * inv_dim + 1.0;
            s += skip_diagonal && i == j ? 0.0 : k * k * k;
        }
    return s;
}

/* m distinct rows of x chosen uniformly, copied to out: a partial Fisher-Yates shuffle of
 * perm, which stays a permutation for the next subset. */
static void draw_subset(float *out, const float *x, size_t *perm, size_t n, size_t m, size_t dim, gan_rng *rng)
{
    for (size_t i = 0; i < m; i++) {
        size_t j = i + gan__rng_below(rng, n - i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        memcpy(out + i * dim, x + perm[i] * dim, dim * sizeof *out);
    }
}

int gan_kernel_distance(double *kid, double *kid_std, const float *feats_a, size_t na, const float *feats_b,
                        size_t nb, size_t dim, size_t subset_size, size_t subsets, gan_rng *rng)
{
    GAN_CHECK_ARG(kid);
    GAN_CHECK_ARG(feats_a);
    GAN_CHECK_ARG(feats_b);
    GAN_CHECK_ARG(rng);
    int rc = gan__check_pair(__func__, "na", feats_a, na, "nb", feats_b, nb, dim);
    if (rc) return rc;
    size_t m = subset_size, gram, bytes;
    if (m < 2 || m > na || m > nb)
        return gan__fail(GAN_EINVAL, "%s: subset_size must be in [2, min(na, nb)] = [2, %zu], got %zu", __func__,
                         na < nb ? na : nb, m);
    if (subsets == 0) return gan__fail(GAN_EINVAL, "%s: subsets must be positive", __func__);
    /* m x dim floats are addressable (m <= na), so only the Gram matrix can overflow. */
    if (m > INT_MAX || gan__size_mul(m, m, &gram) || gram > SIZE_MAX / sizeof(float) / 2 - 2 * m * dim ||
        gan__size_mul(na + nb, sizeof(size_t), &bytes))
        return gan__fail(GAN_EINVAL, "%s: subsets of %zu rows make a Gram matrix too large", __func__, m);
    float *g = gan__malloc((gram + 2 * m * dim) * sizeof *g);
    size_t *perm = gan__malloc((na + nb) * sizeof *perm);
    if (!g || !perm) {
        gan__free(g);
        gan__free(perm);
        return gan__fail(GAN_ENOMEM, "%s: out of memory for subsets of %zu rows", __func__, m);
    }
    float *xa = g + gram, *xb = xa + m * dim;
    for (size_t i = 0; i < na; i++) perm[i] = i;
    for (size_t i = 0; i < nb; i++) perm[na + i] = i;
    double inv_dim = 1.0 / (double)dim, same = (double)m * (double)(m - 1), mean = 0.0, m2 = 0.0;
    for (size_t s = 0; s < subsets; s++) {
        draw_subset(xa, feats_a, perm, na, m, dim, rng);
        draw_subset(xb, feats_b, perm + na, nb, m, dim, rng);
        gan__gemm(0, 1, m, m, dim, 1.0f, xa, dim, xa, dim, 0.0f, g, m);
        double mmd = cubic_sum(g, m, inv_dim, 1) / same;
        gan__gemm(0, 1, m, m, dim, 1.0f, xb, dim, xb, dim, 0.0f, g, m);
        mmd += cubic_sum(g, m, inv_dim, 1) / same;
        gan__gemm(0, 1, m, m, dim, 1.0f, xa, dim, xb, dim, 0.0f, g, m);
        mmd -= 2.0 * cubic_sum(g, m, inv_dim, 0) / ((double)m * (double)m);
        double delta = mmd - mean; /* Welford */
        mean += delta / (double)(s + 1);
        m2 += delta * (mmd - mean);
    }
    gan__free(g);
    gan__free(perm);
    *kid = mean;
    if (kid_std) *kid_std = sqrt(m2 / (double)subsets);
    return GAN_OK;
}

/* ------------------------------------------------------ precision and recall */

/* Per query row, the k + 1 smallest distances to the reference rows so far, ascending:
 * over a set against itself the first is the row's own (0), so the last is the squared
 * radius of its k nearest others. */
typedef struct knn_sink {
    dist_sink base;
    size_t k1;    /* k + 1 */
    float *best;  /* bq x k1 */
    float *radii; /* the caller's: one per query row of the whole pass */
} knn_sink;

static void knn_start(dist_sink *base, size_t q0, size_t rows)
{
    knn_sink *s = (knn_sink *)base;
    (void)q0;
    for (size_t i = 0; i < rows * s->k1; i++) s->best[i] = INFINITY;
}

static void knn_block(dist_sink *base, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                      const float *row_min)
{
    knn_sink *s = (knn_sink *)base;
    (void)q0, (void)r0, (void)row_min;
    for (size_t i = 0; i < rows; i++) {
        float *best = s->best + i * s->k1;
        for (size_t j = 0; j < cols; j++) {
            float v = d2[i * cols + j];
            if (!(v < best[s->k1 - 1])) continue;
            size_t at = s->k1 - 1; /* insertion into the sorted list */
            for (; at > 0 && best[at - 1] > v; at--) best[at] = best[at - 1];
            best[at] = v;
        }
    }
}

static void knn_finish(dist_sink *base, size_t q0, size_t rows)
{
    knn_sink *s = (knn_sink *)base;
    for (size_t i = 0; i < rows; i++) s->radii[q0 + i] = s->best[i * s->k1 + s->k1 - 1];
}

/* Counts the query rows that fall within some reference row's radius. */
typedef struct cover_sink {
    dist_sink base;
    const float *radii; /* per reference row, squared */
    unsigned char *hit; /* bq */
    size_t covered;
} cover_sink;

static void cover_start(dist_sink *base, size_t q0, size_t rows)
{
    (void)q0;
    memset(((cover_sink *)base)->hit, 0, rows);
}

static void cover_block(dist_sink *base, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                        const float *row_min)
{
    cover_sink *s = (cover_sink *)base;
    (void)q0, (void)row_min;
    for (size_t i = 0; i < rows; i++) {
        if (s->hit[i]) continue;
        for (size_t j = 0; j < cols && !s->hit[i]; j++) s->hit[i] = d2[i * cols + j] <= s->radii[r0 + j];
    }
}

static void cover_finish(dist_sink *base, size_t q0, size_t rows)
{
    cover_sink *s = (cover_sink *)base;
    (void)q0;
    for (size_t i = 0; i < rows; i++) s->covered += s->hit[i];
}

/* The fraction of q's rows inside the k-NN balls of r's rows (radii: r's own). */
static double coverage(const dist_ws *w, const float *q, size_t nq, const float *r, size_t nr, size_t dim,
                       const float *radii, unsigned char *hit)
{
    cover_sink s = {{cover_start, cover_block, cover_finish}, radii, hit, 0};
    gan__dist_pass(w, q, nq, r, nr, dim, &s.base);
    return (double)s.covered / (double)nq;
}

int gan_precision_recall(double *precision, double *recall, const float *real, size_t nr, const float *fake,
                         size_t nf, size_t dim, size_t k)
{
    GAN_CHECK_ARG(precision);
    GAN_CHECK_ARG(recall);
    GAN_CHECK_ARG(real);
    GAN_CHECK_ARG(fake);
    int rc = gan__check_pair(__func__, "nr", real, nr, "nf", fake, nf, dim);
    if (rc) return rc;
    if (k == 0 || k >= nr || k >= nf)
        return gan__fail(GAN_EINVAL, "%s: k must be in [1, min(nr, nf) - 1] = [1, %zu], got %zu", __func__,
                         (nr < nf ? nr : nf) - 1, k);
    size_t n = nr > nf ? nr : nf;
    if (n > SIZE_MAX / sizeof(float) / (BLOCK_Q + 2)) /* the radii and lists below, k < n */
        return gan__fail(GAN_EINVAL, "%s: %zu rows are too many", __func__, n);
    dist_ws w;
    if (gan__dist_ws_alloc(&w, n, n)) return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
    float *radii = gan__malloc((nr + nf + w.bq * (k + 1)) * sizeof(float));
    unsigned char *hit = gan__malloc(w.bq);
    if (!radii || !hit) {
        gan__free(radii);
        gan__free(hit);
        gan__free(w.g);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
    }
    float *real_radii = radii, *fake_radii = radii + nr;
    knn_sink s = {{knn_start, knn_block, knn_finish}, k + 1, radii + nr + nf, real_radii};
    gan__dist_pass(&w, real, nr, real, nr, dim, &s.base);
    s.radii = fake_radii;
    gan__dist_pass(&w, fake, nf, fake, nf, dim, &s.base);
    *precision = coverage(&w, fake, nf, real, nr, dim, real_radii, hit);
    *recall = coverage(&w, real, nr, fake, nf, dim, fake_radii, hit);
    gan__free(radii);
    gan__free(hit);
    gan__free(w.g);
    return GAN_OK;
}
