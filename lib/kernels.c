/* The BLAS seam and the elementwise loops. Loops run over contiguous memory so the
 * compiler vectorises them; every dense product is a single cblas_sgemm. */
#include "kernels_impl.h"
#include "gan.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void gan__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta,
               float *c, size_t ldc)
{
    /* Callers have checked that every dimension fits an int (see layer.c). */
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void gan__rows_set(float *y, const float *b, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) memcpy(y + r * n, b, n * sizeof *b);
}

void gan__col_sums_add(float *restrict db, const float *restrict dy, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = dy + r * n;
        for (size_t j = 0; j < n; j++) db[j] += row[j];
    }
}

static inline float sigmoidf(float x)
{
    /* Stable on both tails: exp never overflows. */
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void gan__act_forward(int act, float slope, const float *restrict x, float *restrict y, size_t n)
{
    switch (act) {
    case GAN_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case GAN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
        break;
    case GAN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = sigmoidf(x[i]);
        break;
    case GAN_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    default:
        memcpy(y, x, n * sizeof *x);
        break;
    }
}

void gan__act_backward(int act, float slope, const float *restrict y, const float *restrict dy,
                       float *restrict dx, size_t n)
{
    switch (act) {
    case GAN_ACT_RELU:
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case GAN_ACT_LEAKY_RELU:
        /* With 0 <= slope < 1, y > 0 exactly when x > 0. */
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : slope * dy[i];
        break;
    case GAN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case GAN_ACT_TANH:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        memcpy(dx, dy, n * sizeof *dy);
        break;
    }
}

void gan__maxout_forward(const float *restrict z, size_t rows, size_t units, size_t pieces,
                         float *restrict y, uint32_t *restrict argmax)
{
    size_t n = rows * units;
    for (size_t i = 0; i < n; i++) {
        const float *zi = z + i * pieces;
        float best = zi[0];
        uint32_t arg = 0;
        for (size_t p = 1; p < pieces; p++)
            if (zi[p] > best) { best = zi[p]; arg = (uint32_t)p; }
        y[i] = best;
        argmax[i] = arg;
    }
}

void gan__maxout_backward(const float *restrict dy, const uint32_t *restrict argmax, size_t rows,
                          size_t units, size_t pieces, float *restrict dz)
{
    size_t n = rows * units;
    memset(dz, 0, n * pieces * sizeof *dz);
    for (size_t i = 0; i < n; i++) dz[i * pieces + argmax[i]] = dy[i];
}

void gan__vmul(const float *restrict x, const float *restrict m, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] * m[i];
}

double gan__sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

/* Both dry runs sum the new values times zero: the sum is NaN exactly when a value is
 * infinite or NaN, and the loop has no branch, so it vectorises. */
int gan__sgd_finite(const float *restrict p, const float *restrict v, const float *restrict g, size_t n, float lr,
                    float momentum, int nesterov)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float vi = momentum * v[i] - lr * g[i];
        float pi = p[i] + (nesterov ? momentum * vi - lr * g[i] : vi);
        acc += 0.0f * (vi + pi);
    }
    return acc == 0.0f;
}

int gan__adam_finite(const float *restrict p, const float *restrict m, const float *restrict v,
                     const float *restrict g, size_t n, float lr, float beta1, float beta2, float eps, float c1,
                     float c2)
{
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        float pi = p[i] - lr * (mi / c1) / (sqrtf(vi / c2) + eps);
        acc += 0.0f * (mi + vi + pi);
    }
    return acc == 0.0f;
}

void gan__sgd_update(float *restrict p, float *restrict v, const float *restrict g, size_t n,
                     float lr, float momentum, int nesterov)
{
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            v[i] = momentum * v[i] - lr * g[i];
            p[i] += momentum * v[i] - lr * g[i];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = momentum * v[i] - lr * g[i];
            p[i] += v[i];
        }
    }
}

void gan__adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                      size_t n, float lr, float beta1, float beta2, float eps, float c1, float c2)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}
