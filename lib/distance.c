/* Blocked squared distances and the checks of row sets (distance_impl.h). */
#include "distance_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "vecmath_impl.h"

#include <limits.h>
#include <math.h>

int gan__check_dim(const char *fn, size_t dim)
{
    if (dim == 0 || dim > INT_MAX) /* sgemm takes dim as an int */
        return gan__fail(GAN_EINVAL, "%s: dim must be in [1, %d], got %zu", fn, INT_MAX, dim);
    return GAN_OK;
}

/* rows > 0 and rows x dim floats addressable. */
int gan__check_rows(const char *fn, const char *name, size_t rows, size_t dim)
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
int gan__check_values(const char *fn, const char *what, const float *x, size_t rows, size_t dim)
{
    for (size_t i = 0; i < rows; i++) {
        double s = sum_squares(x + i * dim, dim);
        if (!(s <= MAX_NORM2))
            return gan__fail(GAN_EINVAL, "%s: %s row %zu is not finite or too large (squared norm %g)", fn,
                             what, i, s);
    }
    return GAN_OK;
}

int gan__check_pair(const char *fn, const char *qname, const float *q, size_t nq, const char *rname,
                    const float *r, size_t nr, size_t dim)
{
    int rc;
    if ((rc = gan__check_dim(fn, dim)) || (rc = gan__check_rows(fn, qname, nq, dim)) ||
        (rc = gan__check_rows(fn, rname, nr, dim)) || (rc = gan__check_values(fn, qname, q, nq, dim)) ||
        (rc = gan__check_values(fn, rname, r, nr, dim)))
        return rc;
    return GAN_OK;
}


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

int gan__dist_ws_alloc(dist_ws *w, size_t nq, size_t nr)
{
    w->bq = gan__min_size(nq, BLOCK_Q);
    w->br = gan__min_size(nr, BLOCK_R);
    w->g = gan__malloc((w->bq * w->br + 2 * w->bq + w->br) * sizeof(float));
    if (!w->g) return GAN_ENOMEM;
    w->qn = w->g + w->bq * w->br;
    w->rn = w->qn + w->bq;
    w->row_min = w->rn + w->br;
    return GAN_OK;
}

/* Queries in the outer loop: a sink keeps state for one block of queries only.
 * Reference norms are recomputed per query block, which is cheap next to the sgemm. */
void gan__dist_pass(const dist_ws *w, const float *q, size_t nq, const float *r, size_t nr, size_t dim,
                      dist_sink *s)
{
    for (size_t q0 = 0; q0 < nq; q0 += w->bq) {
        size_t rows = gan__min_size(w->bq, nq - q0);
        const float *qb = q + q0 * dim;
        sq_norms(w->qn, qb, rows, dim);
        s->start(s, q0, rows);
        for (size_t r0 = 0; r0 < nr; r0 += w->br) {
            size_t cols = gan__min_size(w->br, nr - r0);
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

