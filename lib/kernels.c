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

/* Bit views of floats: comparisons on them do not stop vectorisation. */
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

/* sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = exp(-|x|): no overflow on
 * either tail, no branch, and no libm call, so the loop vectorises. Within 2e-7 relative
 * of expf's result; NaN stays NaN, sigmoid(+-inf) = 1 and 0 (up to e^-87 = 1.6e-38). */
static inline float sigmoid_fast(float x)
{
    float e = exp_neg(fabsf(x));
    float s = (x >= 0.0f ? 1.0f : e) / (1.0f + e);
    return x != x ? x : s;
}

/* The loops take one value, then compute: a load under a condition would stop the
 * compiler from turning the select into a blend. Inlined twice, into an in-place and
 * a restrict-qualified caller, so both vectorise without a run-time overlap test. */
static inline void act_forward_body(int act, float slope, const float *x, float *y, size_t n)
{
    switch (act) {
    case GAN_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v > 0.0f ? v : 0.0f;
        }
        break;
    case GAN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v > 0.0f ? v : slope * v;
        }
        break;
    case GAN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = sigmoid_fast(x[i]);
        break;
    case GAN_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++) y[i] = x[i];
        break;
    }
}

static void act_forward_inplace(int act, float slope, float *y, size_t n)
{
    if (act == GAN_ACT_IDENTITY) return;
    act_forward_body(act, slope, y, y, n);
}

static void act_forward_apart(int act, float slope, const float *restrict x, float *restrict y, size_t n)
{
    act_forward_body(act, slope, x, y, n);
}

void gan__act_forward(int act, float slope, const float *x, float *y, size_t n)
{
    if (x == y) act_forward_inplace(act, slope, y, n);
    else act_forward_apart(act, slope, x, y, n);
}

static inline void act_backward_body(int act, float slope, const float *y, const float *dy, float *dx, size_t n)
{
    switch (act) {
    case GAN_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float d = dy[i];
            dx[i] = y[i] > 0.0f ? d : 0.0f;
        }
        break;
    case GAN_ACT_LEAKY_RELU:
        /* With 0 <= slope < 1, y > 0 exactly when x > 0. */
        for (size_t i = 0; i < n; i++) {
            float d = dy[i];
            dx[i] = y[i] > 0.0f ? d : slope * d;
        }
        break;
    case GAN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case GAN_ACT_TANH:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++) dx[i] = dy[i];
        break;
    }
}

static void act_backward_inplace(int act, float slope, const float *restrict y, float *restrict d, size_t n)
{
    if (act == GAN_ACT_IDENTITY) return;
    act_backward_body(act, slope, y, d, d, n);
}

static void act_backward_apart(int act, float slope, const float *restrict y, const float *restrict dy,
                               float *restrict dx, size_t n)
{
    act_backward_body(act, slope, y, dy, dx, n);
}

void gan__act_backward(int act, float slope, const float *y, const float *dy, float *dx, size_t n)
{
    if (dx == dy) act_backward_inplace(act, slope, y, dx, n);
    else act_backward_apart(act, slope, y, dy, dx, n);
}

/* Winners are bytes when a unit has at most 256 pieces, 32-bit words otherwise. */
#define MAXOUT_FORWARD(T)                                                                   \
    for (size_t i = 0; i < n; i++) {                                                        \
        const float *zi = z + i * pieces;                                                   \
        float best = zi[0];                                                                 \
        T arg = 0;                                                                          \
        for (size_t p = 1; p < pieces; p++)                                                 \
            if (zi[p] > best) { best = zi[p]; arg = (T)p; }                                 \
        y[i] = best;                                                                        \
        ((T *)argmax)[i] = arg;                                                             \
    }

void gan__maxout_forward(const float *restrict z, size_t rows, size_t units, size_t pieces,
                         float *restrict y, void *restrict argmax)
{
    size_t n = rows * units;
    if (pieces <= 256) MAXOUT_FORWARD(uint8_t)
    else MAXOUT_FORWARD(uint32_t)
}

void gan__maxout_backward(const float *restrict dy, const void *restrict argmax, size_t rows,
                          size_t units, size_t pieces, float *restrict dz)
{
    size_t n = rows * units;
    memset(dz, 0, n * pieces * sizeof *dz);
    if (pieces <= 256) {
        const uint8_t *a = argmax;
        for (size_t i = 0; i < n; i++) dz[i * pieces + a[i]] = dy[i];
    } else {
        const uint32_t *a = argmax;
        for (size_t i = 0; i < n; i++) dz[i * pieces + a[i]] = dy[i];
    }
}

size_t gan__maxout_argmax_size(size_t pieces) { return pieces <= 256 ? sizeof(uint8_t) : sizeof(uint32_t); }

/* PCG32 exactly as rng.c steps it: state' = state * MULT + inc, output from the old state. */
#define PCG_MULT 6364136223846793005ULL

static inline uint32_t pcg_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

/* The draws run in PCG_LANES interleaved chains, each jumping PCG_LANES steps at a time
 * (state * MULT^L + inc * (MULT^(L-1) + ... + 1)): the same states in the same order as
 * one chain, without its multiply-add latency on every draw. */
enum { PCG_LANES = 8 };

void gan__dropout_mask(uint8_t *restrict mask, size_t n, uint64_t *state, uint64_t inc, float keep)
{
    /* rng.c's uniform is (r >> 8) / 2^24 < keep, that is (r >> 8) < ceil(keep 2^24). */
    double t = ceil((double)keep * 16777216.0);
    uint32_t threshold = t > 16777216.0 ? 16777217u : (uint32_t)t;
    uint64_t s[PCG_LANES], mul = 1, add = 0, cur = *state;
    for (int j = 0; j < PCG_LANES; j++) {
        s[j] = cur;
        cur = cur * PCG_MULT + inc;
        mul *= PCG_MULT;
        add = add * PCG_MULT + inc;
    }
    size_t i = 0;
    for (; i + PCG_LANES <= n; i += PCG_LANES)
        for (int j = 0; j < PCG_LANES; j++) {
            mask[i + j] = (pcg_output(s[j]) >> 8) < threshold;
            s[j] = s[j] * mul + add;
        }
    cur = s[0]; /* the state of draw i */
    for (; i < n; i++) {
        mask[i] = (pcg_output(cur) >> 8) < threshold;
        cur = cur * PCG_MULT + inc;
    }
    *state = cur;
}

/* y = x * (mask ? scale : 0): the product of the float mask it replaces, bit for bit. */
static inline void dropout_body(const float *x, const uint8_t *m, float scale, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] * ((float)m[i] * scale);
}

static void dropout_inplace(float *y, const uint8_t *restrict m, float scale, size_t n)
{
    dropout_body(y, m, scale, y, n);
}

static void dropout_apart(const float *restrict x, const uint8_t *restrict m, float scale, float *restrict y,
                          size_t n)
{
    dropout_body(x, m, scale, y, n);
}

void gan__dropout_apply(const float *x, const uint8_t *mask, float scale, float *y, size_t n)
{
    if (x == y) dropout_inplace(y, mask, scale, n);
    else dropout_apart(x, mask, scale, y, n);
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

/* The dry runs flag a new value that is infinite or NaN from its bits: the exponent
 * field plus one carries into the sign bit exactly when it is all ones. The flags are
 * OR-ed (an integer reduction, which the compiler vectorises), so the loop has no branch.
 * They also sum the squared gradient, so one pass serves both checks and the norm: each
 * chunk stores the squares in a small array, then adds them into LANES independent float
 * sums (vectorised without reassociating any one of them), which go to double once per
 * chunk to keep their precision. */
enum { LANES = 8, DRY_CHUNK = 512 };

static inline uint32_t nonfinite_bit(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return ((b & 0x7f800000u) + 0x00800000u) & 0x80000000u;
}

/* The sum of q[0..len) in double, through LANES float sums. */
static double lane_sum(const float *restrict q, size_t len)
{
    float sq[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= len; k += LANES)
        for (int j = 0; j < LANES; j++) sq[j] += q[k + j];
    for (; k < len; k++) sq[0] += q[k];
    double s = 0.0;
    for (int j = 0; j < LANES; j++) s += sq[j];
    return s;
}

/* The new values of one parameter, written once and used by the dry runs and the
 * updates alike, so a staged value is bit for bit the one the update later stores. */
static inline float sgd_velocity(float v, float g, float lr, float momentum) { return momentum * v - lr * g; }

static inline float sgd_param(float p, float vn, float g, float lr, float momentum, int nesterov)
{
    return p + (nesterov ? momentum * vn - lr * g : vn);
}

static inline float adam_m(float m, float g, float beta1) { return beta1 * m + (1.0f - beta1) * g; }
static inline float adam_v(float v, float g, float beta2) { return beta2 * v + (1.0f - beta2) * g * g; }

static inline float adam_param(float p, float mn, float vn, float lr, float eps, float c1, float c2)
{
    return p - lr * (mn / c1) / (sqrtf(vn / c2) + eps);
}

/* The SGD dry run: the new values exactly as gan__sgd_update computes them, flagged when
 * not finite, and stored in p_new when `stage` is set. Inlined twice (stage 0 and 1), so
 * neither loop tests it. */
static inline int sgd_dry_body(const float *restrict p, const float *restrict v, const float *restrict g, size_t n,
                               float lr, float momentum, int nesterov, float *restrict p_new, int stage,
                               double *grad_sq)
{
    float q[DRY_CHUNK];
    uint32_t bad = 0;
    double sq = 0.0;
    for (size_t i = 0; i < n; i += DRY_CHUNK) {
        size_t len = n - i < DRY_CHUNK ? n - i : DRY_CHUNK;
        const float *pi = p + i, *vi = v + i, *gi = g + i;
        for (size_t k = 0; k < len; k++) {
            float gk = gi[k];
            float vn = sgd_velocity(vi[k], gk, lr, momentum);
            float pn = sgd_param(pi[k], vn, gk, lr, momentum, nesterov);
            bad |= nonfinite_bit(vn) | nonfinite_bit(pn);
            q[k] = gk * gk;
            if (stage) p_new[i + k] = pn;
        }
        sq += lane_sum(q, len);
    }
    *grad_sq = sq;
    return !bad && isfinite(sq);
}

int gan__sgd_finite(const float *p, const float *v, const float *g, size_t n, float lr, float momentum, int nesterov,
                    float *p_new, double *grad_sq)
{
    if (p_new) return sgd_dry_body(p, v, g, n, lr, momentum, nesterov, p_new, 1, grad_sq);
    return sgd_dry_body(p, v, g, n, lr, momentum, nesterov, NULL, 0, grad_sq);
}

static inline int adam_dry_body(const float *restrict p, const float *restrict m, const float *restrict v,
                                const float *restrict g, size_t n, float lr, float beta1, float beta2, float eps,
                                float c1, float c2, float *restrict p_new, int stage, double *grad_sq)
{
    float q[DRY_CHUNK];
    uint32_t bad = 0;
    double sq = 0.0;
    for (size_t i = 0; i < n; i += DRY_CHUNK) {
        size_t len = n - i < DRY_CHUNK ? n - i : DRY_CHUNK;
        const float *pi = p + i, *mi = m + i, *vi = v + i, *gi = g + i;
        for (size_t k = 0; k < len; k++) {
            float gk = gi[k];
            float mn = adam_m(mi[k], gk, beta1), vn = adam_v(vi[k], gk, beta2);
            float pn = adam_param(pi[k], mn, vn, lr, eps, c1, c2);
            bad |= nonfinite_bit(mn) | nonfinite_bit(vn) | nonfinite_bit(pn);
            q[k] = gk * gk;
            if (stage) p_new[i + k] = pn;
        }
        sq += lane_sum(q, len);
    }
    *grad_sq = sq;
    return !bad && isfinite(sq);
}

int gan__adam_finite(const float *p, const float *m, const float *v, const float *g, size_t n, float lr,
                     float beta1, float beta2, float eps, float c1, float c2, float *p_new, double *grad_sq)
{
    if (p_new) return adam_dry_body(p, m, v, g, n, lr, beta1, beta2, eps, c1, c2, p_new, 1, grad_sq);
    return adam_dry_body(p, m, v, g, n, lr, beta1, beta2, eps, c1, c2, NULL, 0, grad_sq);
}

void gan__sgd_update(float *restrict p, float *restrict v, const float *restrict g, size_t n,
                     float lr, float momentum, int nesterov)
{
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            v[i] = sgd_velocity(v[i], g[i], lr, momentum);
            p[i] = sgd_param(p[i], v[i], g[i], lr, momentum, 1);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = sgd_velocity(v[i], g[i], lr, momentum);
            p[i] = sgd_param(p[i], v[i], g[i], lr, momentum, 0);
        }
    }
}

void gan__adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                      size_t n, float lr, float beta1, float beta2, float eps, float c1, float c2)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = adam_m(m[i], g[i], beta1);
        v[i] = adam_v(v[i], g[i], beta2);
        p[i] = adam_param(p[i], m[i], v[i], lr, eps, c1, c2);
    }
}
