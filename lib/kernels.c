/* The BLAS and LAPACK seam and the layers' elementwise loops. Loops run over contiguous
 * memory so the compiler vectorises them; every dense product is a single cblas_sgemm. */
/* BLIS's cblas.h declares pthread barriers (POSIX.1-2001): ask for them before any
 * system header, since it defines _POSIX_C_SOURCE itself too late. */
#define _POSIX_C_SOURCE 200809L
#include "kernels_impl.h"
#include "gan.h"
#include "rng_impl.h"
#include "vecmath_impl.h"

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

void gan__dgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a, const double *b,
                double *c)
{
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, 1.0, a, trans_a ? (int)m : (int)k, b, trans_b ? (int)k : (int)n, 0.0, c, (int)n);
}

void gan__dsyrk_t(size_t n, size_t k, const double *a, double *c)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, 1.0, a, (int)n, 1.0, c, (int)n);
}

/* LAPACK's Fortran entry (OpenBLAS exports it; the reference build links liblapack). The
 * two trailing arguments are the lengths of the character arguments, which gfortran passes
 * by value after all others. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

/* A symmetric matrix is its own transpose, so the row-major upper triangle is LAPACK's
 * column-major lower one, and column-major eigenvectors are the rows of the result. */
static int syevd(int vectors, size_t n, double *a, double *eig, double *work, int lwork, int *iwork, int liwork)
{
    int dim = (int)n, info = 0;
    dsyevd_(vectors ? "V" : "N", "L", &dim, a, &dim, eig, work, &lwork, iwork, &liwork, &info, 1, 1);
    return info;
}

int gan__dsyevd_work(int vectors, size_t n, size_t *lwork, size_t *liwork)
{
    double w;
    int iw, info = syevd(vectors, n, NULL, NULL, &w, -1, &iw, -1);
    *lwork = (size_t)w;
    *liwork = (size_t)iw;
    return info;
}

int gan__dsyevd(int vectors, size_t n, double *a, double *eig, double *work, size_t lwork, int *iwork,
                size_t liwork)
{
    return syevd(vectors, n, a, eig, work, (int)lwork, iwork, (int)liwork);
}

/* One output position's window, clipped to its image: kernel rows ky_lo .. ky_hi-1 and
 * columns kx_lo .. kx_hi-1 fall inside; the window's top-left pixel is (iy0, ix0). With
 * channels last, the kx_lo .. kx_hi-1 pixels of one kernel row are one contiguous run of
 * (kx_hi - kx_lo) * c floats in the image and in the column row alike. */
typedef struct conv_window {
    ptrdiff_t iy0, ix0;
    size_t ky_lo, ky_hi, kx_lo, kx_hi;
} conv_window;

static inline void clip(ptrdiff_t at, size_t k, size_t size, size_t *lo, size_t *hi)
{
    ptrdiff_t room = (ptrdiff_t)size - at; /* kernel taps before the far edge */
    *lo = at < 0 ? (size_t)-at : 0;
    *hi = room < (ptrdiff_t)k ? (room > 0 ? (size_t)room : 0) : k;
    if (*hi < *lo) *hi = *lo;
}

static inline conv_window window_at(const gan__conv_geom *g, size_t oy, size_t ox)
{
    conv_window v;
    v.iy0 = (ptrdiff_t)(oy * g->stride) - (ptrdiff_t)g->pad;
    v.ix0 = (ptrdiff_t)(ox * g->stride) - (ptrdiff_t)g->pad;
    clip(v.iy0, g->k, g->h, &v.ky_lo, &v.ky_hi);
    clip(v.ix0, g->k, g->w, &v.kx_lo, &v.kx_hi);
    return v;
}

/* The position after (b, oy, ox). */
static inline void next_position(const gan__conv_geom *g, size_t *b, size_t *oy, size_t *ox)
{
    if (++*ox == g->ow) {
        *ox = 0;
        if (++*oy == g->oh) {
            *oy = 0;
            ++*b;
        }
    }
}

/* A row of the column buffer: rows of the kernel outside the image are zero in one go,
 * each row inside is a zero head, one copied run, a zero tail. */
void gan__im2col(const gan__conv_geom *g, const float *restrict img, size_t q0, size_t q1, float *restrict col)
{
    const size_t c = g->c, kc = g->k * c, row = g->k * kc, image = g->h * g->w * c, per_image = g->oh * g->ow;
    size_t b = q0 / per_image, oy = q0 % per_image / g->ow, ox = q0 % g->ow;
    for (size_t q = q0; q < q1; q++, col += row) {
        conv_window v = window_at(g, oy, ox);
        size_t head = v.kx_lo * c, run = (v.kx_hi - v.kx_lo) * c, tail = kc - head - run;
        const float *src = img + b * image + ((size_t)(v.iy0 + (ptrdiff_t)v.ky_lo) * g->w +
                                              (size_t)(v.ix0 + (ptrdiff_t)v.kx_lo)) * c;
        if (v.ky_lo) memset(col, 0, v.ky_lo * kc * sizeof *col);
        for (size_t ky = v.ky_lo; ky < v.ky_hi; ky++, src += g->w * c) {
            float *dst = col + ky * kc;
            if (head) memset(dst, 0, head * sizeof *dst);
            memcpy(dst + head, src, run * sizeof *dst);
            if (tail) memset(dst + head + run, 0, tail * sizeof *dst);
        }
        if (v.ky_hi < g->k) memset(col + v.ky_hi * kc, 0, (g->k - v.ky_hi) * kc * sizeof *col);
        next_position(g, &b, &oy, &ox);
    }
}

/* The same walk, adding each run back into the image. */
void gan__col2im(const gan__conv_geom *g, const float *restrict col, size_t q0, size_t q1, float *restrict img)
{
    const size_t c = g->c, kc = g->k * c, row = g->k * kc, image = g->h * g->w * c, per_image = g->oh * g->ow;
    size_t b = q0 / per_image, oy = q0 % per_image / g->ow, ox = q0 % g->ow;
    for (size_t q = q0; q < q1; q++, col += row) {
        conv_window v = window_at(g, oy, ox);
        size_t head = v.kx_lo * c, run = (v.kx_hi - v.kx_lo) * c;
        float *dst = img + b * image + ((size_t)(v.iy0 + (ptrdiff_t)v.ky_lo) * g->w +
                                        (size_t)(v.ix0 + (ptrdiff_t)v.kx_lo)) * c;
        for (size_t ky = v.ky_lo; ky < v.ky_hi; ky++, dst += g->w * c) {
            const float *src = col + ky * kc + head;
            for (size_t i = 0; i < run; i++) dst[i] += src[i];
        }
        next_position(g, &b, &oy, &ox);
    }
}

/* The first row from b, then the rows written so far copied after themselves: log2(rows)
 * copies, not one per row (a bias of one channel over every pixel of a batch). */
void gan__rows_set(float *y, const float *b, size_t rows, size_t n)
{
    if (rows == 0) return;
    memcpy(y, b, n * sizeof *b);
    for (size_t done = 1; done < rows;) {
        size_t more = rows - done < done ? rows - done : done;
        memcpy(y + done * n, y, more * n * sizeof *y);
        done += more;
    }
}

void gan__col_sums(float *restrict db, const float *restrict dy, size_t rows, size_t n, int add)
{
    if (!add) memset(db, 0, n * sizeof *db);
    for (size_t r = 0; r < rows; r++) {
        const float *row = dy + r * n;
        for (size_t j = 0; j < n; j++) db[j] += row[j];
    }
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

void gan__act_hold(float slope, const float *x, float *y, uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        mask[i] = v > 0.0f;
        y[i] = v > 0.0f ? v : slope * v;
    }
}

void gan__act_replay(float slope, const float *x, const uint8_t *mask, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] : slope * x[i];
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

void gan__maxout_replay(const float *restrict z, size_t rows, size_t units, size_t pieces, float *restrict y,
                        const void *restrict argmax)
{
    size_t n = rows * units;
    for (size_t i = 0; i < n; i++)
        y[i] = z[i * pieces + (pieces <= 256 ? ((const uint8_t *)argmax)[i] : ((const uint32_t *)argmax)[i])];
}

size_t gan__maxout_argmax_size(size_t pieces) { return pieces <= 256 ? sizeof(uint8_t) : sizeof(uint32_t); }

/* The draws run in PCG_LANES interleaved chains of rng_impl.h's step, each jumping PCG_LANES
 * steps at a time (state * MULT^L + inc * (MULT^(L-1) + ... + 1)): the same states in the
 * same order as one chain, without its multiply-add latency on every draw. */
enum { PCG_LANES = 8 };

void gan__dropout_mask(uint8_t *restrict mask, size_t n, uint64_t *state, uint64_t inc, float keep)
{
    /* rng.c's uniform is (r >> 8) / 2^24 < keep, that is (r >> 8) < ceil(keep 2^24). */
    double t = ceil((double)keep * 16777216.0);
    uint32_t threshold = t > 16777216.0 ? 16777217u : (uint32_t)t;
    uint64_t s[PCG_LANES], mul = 1, add = 0, cur = *state;
    for (int j = 0; j < PCG_LANES; j++) {
        s[j] = cur;
        cur = gan__pcg32_step(cur, inc);
        mul *= GAN__PCG32_MULT;
        add = add * GAN__PCG32_MULT + inc;
    }
    size_t i = 0;
    for (; i + PCG_LANES <= n; i += PCG_LANES)
        for (int j = 0; j < PCG_LANES; j++) {
            mask[i + j] = (gan__pcg32_output(s[j]) >> 8) < threshold;
            s[j] = s[j] * mul + add;
        }
    cur = s[0]; /* the state of draw i */
    for (; i < n; i++) {
        mask[i] = (gan__pcg32_output(cur) >> 8) < threshold;
        cur = gan__pcg32_step(cur, inc);
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
