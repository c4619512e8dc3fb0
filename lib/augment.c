/* DiffAugment's transforms as its authors' code defines them (DiffAugment_pytorch.py),
 * on rows of images channels last, values in [-1, 1]:
 *   brightness  x + (u - 0.5)
 *   saturation  (x - mean over channels) * 2u + that mean, pixel by pixel
 *   contrast    (x - mean over the image) * (u + 0.5) + that mean
 *   translation y[i][j] = x[i + tx][j + ty], zero outside; tx, ty integers in
 *               [-s, s], s = side / 8 rounded
 *   cutout      zero a square of half the side (rounded), centred at a uniform place,
 *               clipped to the image
 * Each is affine in the row once its draws are fixed, so the adjoint below is exact and
 * G's gradient flows through it. */
#include "augment_impl.h"

#include "gan.h"

#include <string.h>

enum { U_BRIGHT, U_SATURATION, U_CONTRAST, U_SHIFT_Y, U_SHIFT_X, U_CUT_Y, U_CUT_X };

/* An integer in [0, n) from a uniform in [0, 1). */
static size_t pick(float u, size_t n)
{
    size_t k = (size_t)(u * (float)n);
    return k < n ? k : n - 1;
}

/* The rounding of the paper's code, int(side * ratio + 0.5). */
static size_t scaled(size_t side, double ratio) { return (size_t)((double)side * ratio + 0.5); }

typedef struct {
    float bright, saturation, contrast;
    long shift_y, shift_x;         /* translation: output (i, j) reads input (i + shift_y, j + shift_x) */
    size_t cut_y0, cut_y1, cut_x0, cut_x1; /* cutout: rows [cut_y0, cut_y1), columns [cut_x0, cut_x1) */
} transform;

/* [centre - size / 2, centre - size / 2 + size) within [0, side); centre in [0, side]
 * for even sizes, [0, side) for odd ones, as the paper's code draws it. */
static void cut_range(float u, size_t side, size_t *lo, size_t *hi)
{
    size_t size = scaled(side, 0.5), centre = pick(u, side + 1 - size % 2);
    long a = (long)centre - (long)(size / 2), b = a + (long)size;
    *lo = a < 0 ? 0 : (size_t)a;
    *hi = b > (long)side ? side : (size_t)b;
}

static transform transform_of(const gan__augment *a, const float *u)
{
    transform t = {0.0f, 1.0f, 1.0f, 0, 0, 0, 0, 0, 0};
    if (a->policy & GAN_AUGMENT_COLOR) {
        t.bright = u[U_BRIGHT] - 0.5f;
        t.saturation = 2.0f * u[U_SATURATION];
        t.contrast = u[U_CONTRAST] + 0.5f;
    }
    if (a->policy & GAN_AUGMENT_TRANSLATION) {
        size_t sy = scaled(a->height, 0.125), sx = scaled(a->width, 0.125);
        t.shift_y = (long)pick(u[U_SHIFT_Y], 2 * sy + 1) - (long)sy;
        t.shift_x = (long)pick(u[U_SHIFT_X], 2 * sx + 1) - (long)sx;
    }
    if (a->policy & GAN_AUGMENT_CUTOUT) {
        cut_range(u[U_CUT_Y], a->height, &t.cut_y0, &t.cut_y1);
        cut_range(u[U_CUT_X], a->width, &t.cut_x0, &t.cut_x1);
    }
    return t;
}

/* Whether output pixel (i, j) survives the cutout, and the input pixel it reads (false
 * when the translation brings in a zero). */
static int source(const transform *t, const gan__augment *a, size_t i, size_t j, size_t *si, size_t *sj)
{
    if (i >= t->cut_y0 && i < t->cut_y1 && j >= t->cut_x0 && j < t->cut_x1) return 0;
    long y = (long)i + t->shift_y, x = (long)j + t->shift_x;
    if (y < 0 || x < 0 || y >= (long)a->height || x >= (long)a->width) return 0;
    *si = (size_t)y;
    *sj = (size_t)x;
    return 1;
}

/* y = s x + (1 - s) m, m the mean of each pixel's c channels; self-adjoint. */
static void mix_channels(float *x, size_t pixels, size_t c, float s)
{
    float w = (1.0f - s) / (float)c;
    for (size_t p = 0; p < pixels; p++, x += c) {
        float sum = 0.0f;
        for (size_t k = 0; k < c; k++) sum += x[k];
        for (size_t k = 0; k < c; k++) x[k] = s * x[k] + w * sum;
    }
}

/* y = s x + (1 - s) m, m the mean of all n values; self-adjoint. */
static void mix_all(float *x, size_t n, float s)
{
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) sum += x[k];
    float shift = (1.0f - s) * (float)(sum / (double)n);
    for (size_t k = 0; k < n; k++) x[k] = s * x[k] + shift;
}

/* Saturation and contrast: the adjoint applies them in the reverse order. */
static void colour_mix(const gan__augment *a, const transform *t, float *x, int adjoint)
{
    size_t c = a->channels, pixels = a->height * a->width;
    if (adjoint) mix_all(x, pixels * c, t->contrast);
    if (c > 1) mix_channels(x, pixels, c, t->saturation); /* one channel is its own mean */
    if (!adjoint) mix_all(x, pixels * c, t->contrast);
}

void gan__augment_forward(const gan__augment *a, const float *u, float *x, size_t rows, size_t stride, float *tmp)
{
    size_t c = a->channels, n = a->height * a->width * c;
    int colour = (a->policy & GAN_AUGMENT_COLOR) != 0;
    int moves = (a->policy & (GAN_AUGMENT_TRANSLATION | GAN_AUGMENT_CUTOUT)) != 0;
    for (size_t r = 0; r < rows; r++, x += stride, u += GAN__AUGMENT_DRAWS) {
        transform t = transform_of(a, u);
        if (colour) {
            for (size_t k = 0; k < n; k++) x[k] += t.bright;
            colour_mix(a, &t, x, 0);
        }
        if (!moves) continue;
        memcpy(tmp, x, n * sizeof *x);
        for (size_t i = 0; i < a->height; i++)
            for (size_t j = 0; j < a->width; j++) {
                size_t si, sj;
                float *out = x + (i * a->width + j) * c;
                if (source(&t, a, i, j, &si, &sj)) memcpy(out, tmp + (si * a->width + sj) * c, c * sizeof *x);
                else memset(out, 0, c * sizeof *x);
            }
    }
}

void gan__augment_adjoint(const gan__augment *a, const float *u, const float *dy, size_t dy_stride, float *dx,
                          size_t dx_stride, size_t rows)
{
    size_t c = a->channels, n = a->height * a->width * c;
    int moves = (a->policy & (GAN_AUGMENT_TRANSLATION | GAN_AUGMENT_CUTOUT)) != 0;
    for (size_t r = 0; r < rows; r++, dy += dy_stride, dx += dx_stride, u += GAN__AUGMENT_DRAWS) {
        transform t = transform_of(a, u);
        if (!moves) {
            memcpy(dx, dy, n * sizeof *dx);
        } else { /* each input pixel feeds one output pixel at most: scatter */
            memset(dx, 0, n * sizeof *dx);
            for (size_t i = 0; i < a->height; i++)
                for (size_t j = 0; j < a->width; j++) {
                    size_t si, sj;
                    if (source(&t, a, i, j, &si, &sj))
                        memcpy(dx + (si * a->width + sj) * c, dy + (i * a->width + j) * c, c * sizeof *dx);
                }
        }
        if (a->policy & GAN_AUGMENT_COLOR) colour_mix(a, &t, dx, 1); /* brightness adds: its adjoint is 1 */
    }
}
