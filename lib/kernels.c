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

void gan__col_sums(float *restrict db, const float *restrict dy, size_t rows, size_t n, int add)
{
    if (!add) memset(db, 0, n * sizeof *db);
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

/* The distance loops run in chunks of a constant length: -O2's cheap cost model vectorises
 * a loop only when no scalar remainder is needed. Branches on floats also stop it, so clamps
 * compare bit patterns, which order like the values for floats >= 0. */
#define CHUNK 64

static inline int32_t float_bits(float x)
{
    int32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline float bits_float(int32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
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

float gan__sq_dist_finish(float *restrict d2, float xn, const float *restrict sn, size_t n)
{
    int32_t lo = float_bits(INFINITY);
    size_t j = 0;
    for (; j + CHUNK <= n; j += CHUNK) lo = dist_chunk(d2 + j, xn, sn + j, CHUNK, lo);
    return bits_float(dist_chunk(d2 + j, xn, sn + j, n - j, lo));
}

void gan__sq_norms(float *restrict out, const float *restrict x, size_t rows, size_t dim)
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

/* exp(-t) for t >= 0 with Cephes' expf polynomial (relative error < 1e-7) and no branch.
 * t is clamped at 87 (exp(-87) = 1.6e-38), which also keeps 2^n a normal float. */
static inline float exp_neg(float t)
{
    int32_t b = float_bits(t), cap = 0x42ae0000; /* 87.0f */
    float x = -bits_float(b < cap ? b : cap);
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;               /* x - n ln 2 in two parts */
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
               1.6666665459e-1f) * r + 5.0000001201e-1f;
    return (p * (r * r) + r + 1.0f) * bits_float(((int32_t)n + 127) * (1 << 23));
}

double gan__exp_sum(const float *restrict d2, size_t n, float shift, float scale)
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

/* The dry runs sum every new value times zero: the sum is NaN exactly when a value is
 * infinite or NaN, with no branch in the loop. They also sum the squared gradient, so
 * one pass serves both checks and the norm. Sums run in LANES independent lanes, which
 * the compiler vectorises without reassociating one float sum; the squares go to double
 * every BLOCK elements to keep their precision. */
enum { LANES = 8, BLOCK = 4096 };

typedef struct {
    float bad[LANES], sq[LANES];
    double sq_total;
} lanes;

static void lanes_flush(lanes *a)
{
    for (int j = 0; j < LANES; j++) {
        a->sq_total += a->sq[j];
        a->sq[j] = 0.0f;
    }
}

static int lanes_finish(lanes *a, double *grad_sq)
{
    float bad = 0.0f;
    lanes_flush(a);
    for (int j = 0; j < LANES; j++) bad += a->bad[j];
    *grad_sq = a->sq_total;
    return bad == 0.0f && isfinite(a->sq_total);
}

/* Classical momentum: p + v'; Nesterov: p + momentum v' - lr g. Written as
 * p + a v' - b g so that the loop has no branch. */
static inline float sgd_new_zero(float p, float v, float g, float lr, float momentum, float a, float b)
{
    float vn = momentum * v - lr * g;
    float pn = p + a * vn - b * g;
    return 0.0f * (vn + pn);
}

int gan__sgd_finite(const float *restrict p, const float *restrict v, const float *restrict g, size_t n, float lr,
                    float momentum, int nesterov, double *grad_sq)
{
    float a_ = nesterov ? momentum : 1.0f, b_ = nesterov ? lr : 0.0f;
    lanes a = {{0}, {0}, 0.0};
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        for (size_t k = i; k < i + BLOCK; k += LANES)
            for (int j = 0; j < LANES; j++) {
                a.bad[j] += sgd_new_zero(p[k + j], v[k + j], g[k + j], lr, momentum, a_, b_);
                a.sq[j] += g[k + j] * g[k + j];
            }
        lanes_flush(&a);
    }
    for (int j = 0; i < n; i++, j = (j + 1) % LANES) {
        a.bad[j] += sgd_new_zero(p[i], v[i], g[i], lr, momentum, a_, b_);
        a.sq[j] += g[i] * g[i];
    }
    return lanes_finish(&a, grad_sq);
}

static inline float adam_new_zero(float p, float m, float v, float g, float lr, float beta1, float beta2, float eps,
                                  float c1, float c2)
{
    float mn = beta1 * m + (1.0f - beta1) * g;
    float vn = beta2 * v + (1.0f - beta2) * g * g;
    float pn = p - lr * (mn / c1) / (sqrtf(vn / c2) + eps);
    return 0.0f * (mn + vn + pn);
}

int gan__adam_finite(const float *restrict p, const float *restrict m, const float *restrict v,
                     const float *restrict g, size_t n, float lr, float beta1, float beta2, float eps, float c1,
                     float c2, double *grad_sq)
{
    lanes a = {{0}, {0}, 0.0};
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        for (size_t k = i; k < i + BLOCK; k += LANES)
            for (int j = 0; j < LANES; j++) {
                a.bad[j] += adam_new_zero(p[k + j], m[k + j], v[k + j], g[k + j], lr, beta1, beta2, eps, c1, c2);
                a.sq[j] += g[k + j] * g[k + j];
            }
        lanes_flush(&a);
    }
    for (int j = 0; i < n; i++, j = (j + 1) % LANES) {
        a.bad[j] += adam_new_zero(p[i], m[i], v[i], g[i], lr, beta1, beta2, eps, c1, c2);
        a.sq[j] += g[i] * g[i];
    }
    return lanes_finish(&a, grad_sq);
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
