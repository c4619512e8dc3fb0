/* Evaluation: Parzen log-likelihood and sigma selection against a naive double-precision
 * reference, nearest neighbours against brute force, the image grid pixel by pixel,
 * every error path and every allocation failure. */
#include "test_util.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>

#define LOG_SQRT_2PI 0.91893853320467274178

static float *random_rows(uint64_t seed, size_t rows, size_t dim, float lo, float hi)
{
    gan_rng *r;
    float *x = malloc(rows * dim * sizeof *x);
    assert_non_null(x);
    assert_int_equal(gan_rng_create(&r, seed), GAN_OK);
    assert_int_equal(gan_rng_fill_uniform(r, x, rows * dim, lo, hi), GAN_OK);
    gan_rng_free(r);
    return x;
}

static double sq_dist(const float *a, const float *b, size_t dim)
{
    double s = 0.0;
    for (size_t i = 0; i < dim; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s;
}

/* parzen_ll.py in double: log-mean-exp with the max subtracted, then the normaliser. */
static double naive_ll(const float *x, const float *s, size_t n, size_t dim, double sigma)
{
    double top = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < n; j++) top = fmax(top, -0.5 * sq_dist(x, s + j * dim, dim) / (sigma * sigma));
    for (size_t j = 0; j < n; j++) sum += exp(-0.5 * sq_dist(x, s + j * dim, dim) / (sigma * sigma) - top);
    return top + log(sum / (double)n) - (double)dim * (log(sigma) + LOG_SQRT_2PI);
}

static void naive_parzen(double *mean, double *std_err, const float *s, size_t n, const float *t, size_t m,
                         size_t dim, double sigma)
{
    double sum = 0.0, sq = 0.0;
    double *ll = malloc(m * sizeof *ll);
    assert_non_null(ll);
    for (size_t i = 0; i < m; i++) sum += ll[i] = naive_ll(t + i * dim, s, n, dim, sigma);
    *mean = sum / (double)m;
    for (size_t i = 0; i < m; i++) sq += (ll[i] - *mean) * (ll[i] - *mean);
    *std_err = m > 1 ? sqrt(sq / (double)(m - 1)) / sqrt((double)m) : 0.0;
    free(ll);
}

static void assert_rel(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fmax(fabs(want), 1e-12)))
        fail_msg("got %.12g, want %.12g (relative tolerance %g)", got, want, tol);
}

/* ------------------------------------------------------------------ Parzen */

static void parzen_matches_naive(void **state)
{
    (void)state;
    /* Shapes around the 512 x 2048 blocks: one block, exact multiples, ragged edges. */
    const struct { size_t n, m, dim; float sigma; } cases[] = {
        {1, 1, 1, 0.3f},    {7, 3, 2, 0.2f},      {2500, 700, 13, 0.5f}, {2048, 512, 5, 0.25f},
        {4097, 1025, 3, 0.1f}, {300, 40, 100, 1.0f}, {50, 60, 784, 2.0f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n, m = cases[c].m, dim = cases[c].dim;
        float *s = random_rows(10 + c, n, dim, 0.0f, 1.0f), *t = random_rows(100 + c, m, dim, 0.0f, 1.0f);
        double mean, se, want_mean, want_se;
        assert_int_equal(gan_parzen_log_likelihood(&mean, &se, s, n, t, m, dim, cases[c].sigma), GAN_OK);
        naive_parzen(&want_mean, &want_se, s, n, t, m, dim, cases[c].sigma);
        assert_rel(mean, want_mean, 1e-4);
        if (m == 1) assert_true(se == 0.0);
        else assert_rel(se, want_se, 1e-4);
        assert_int_equal(gan_parzen_log_likelihood(&mean, NULL, s, n, t, m, dim, cases[c].sigma), GAN_OK);
        free(s);
        free(t);
    }
}

/* A sample on the test point gives the kernel's peak; far samples add nothing. */
static void parzen_exact_point(void **state)
{
    (void)state;
    const size_t dim = 5;
    const float sigma = 0.3f;
    float x[5] = {0.1f, -0.4f, 0.7f, 0.0f, 0.25f};
    float s[3 * 5] = {50, 50, 50, 50, 50, -50, 0, 0, 0, 0};
    memcpy(s + 10, x, sizeof x);
    double peak = -(double)dim * (log((double)sigma) + LOG_SQRT_2PI), ll, se;
    assert_int_equal(gan_parzen_log_likelihood(&ll, &se, s + 10, 1, x, 1, dim, sigma), GAN_OK);
    assert_rel(ll, peak, 1e-5);
    assert_true(se == 0.0);
    /* Among three samples, only the coincident one counts: log(1/3) + peak. */
    assert_int_equal(gan_parzen_log_likelihood(&ll, NULL, s, 3, x, 1, dim, sigma), GAN_OK);
    assert_rel(ll, peak - log(3.0), 1e-5);
}

/* Distances huge next to sigma: exp underflows to 0 in double, the stable form does not. */
static void parzen_far_points_stay_finite(void **state)
{
    (void)state;
    const size_t dim = 3;
    const float sigma = 0.1f;
    float test[2 * 3] = {0, 0, 0, 0, 0, 0};
    float samples[2 * 3] = {100, 0, 0, 0, -101, 0};
    double d2 = 100.0 * 100.0, inv = 0.5 / ((double)sigma * sigma);
    assert_true(exp(-d2 * inv) == 0.0); /* the naive form would give log(0) */
    /* The second sample is 201 further away in d2: exp(-201 * 50) also vanishes. */
    double want = -d2 * inv - log(2.0) - (double)dim * (log((double)sigma) + LOG_SQRT_2PI), ll, se;
    assert_int_equal(gan_parzen_log_likelihood(&ll, &se, samples, 2, test, 2, dim, sigma), GAN_OK);
    assert_true(isfinite(ll));
    assert_rel(ll, want, 1e-6);
    assert_true(se == 0.0);
}

/* ------------------------------------------------------------ sigma selection */

static void fill_normal(float *x, size_t count, uint64_t seed, float std)
{
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, seed), GAN_OK);
    assert_int_equal(gan_rng_fill_normal(r, x, count, 0.0f, std), GAN_OK);
    gan_rng_free(r);
}

/* The index of the sigma with the best mean log-likelihood, one call per sigma. */
static size_t argmax_one_by_one(double *best_ll, const float *s, size_t n, const float *v, size_t m, size_t dim,
                                const float *sigmas, size_t k)
{
    size_t best = 0;
    for (size_t i = 0; i < k; i++) {
        double ll;
        assert_int_equal(gan_parzen_log_likelihood(&ll, NULL, s, n, v, m, dim, sigmas[i]), GAN_OK);
        if (i == 0 || ll > *best_ll) *best_ll = ll, best = i;
    }
    return best;
}

static void select_sigma_finds_the_optimum(void **state)
{
    (void)state;
    /* N(0, 0.5^2 I) in 2-d, 2000 samples: the likelihood-optimal width is near
     * Silverman's 0.5 * 2000^(-1/6) = 0.14. */
    const size_t n = 2000, m = 600, dim = 2, k = 15;
    float *s = malloc(n * dim * sizeof *s), *v = malloc(m * dim * sizeof *v), sigmas[15];
    assert_non_null(s);
    assert_non_null(v);
    fill_normal(s, n * dim, 1, 0.5f);
    fill_normal(v, m * dim, 2, 0.5f);
    for (size_t i = 0; i < k; i++) sigmas[i] = (float)pow(10.0, -2.0 + 2.0 * (double)i / (double)(k - 1));
    float best;
    double ll, want_ll;
    assert_int_equal(gan_parzen_select_sigma(&best, &ll, s, n, v, m, dim, sigmas, k), GAN_OK);
    size_t want = argmax_one_by_one(&want_ll, s, n, v, m, dim, sigmas, k);
    assert_true(best == sigmas[want]);
    assert_rel(ll, want_ll, 1e-9);
    assert_true(best > 0.07f && best < 0.3f);
    assert_true(want > 0 && want < k - 1); /* an interior optimum, not a grid edge */
    /* best_ll may be NULL. */
    float again;
    assert_int_equal(gan_parzen_select_sigma(&again, NULL, s, n, v, m, dim, sigmas, k), GAN_OK);
    assert_true(again == best);
    free(s);
    free(v);
}

static void select_sigma_default_grid(void **state)
{
    (void)state;
    /* N(0, I) in 2-d with 500 samples: the optimum (about 0.35) is inside logspace(-1, 0, 10). */
    const size_t n = 500, m = 300, dim = 2;
    float *s = malloc(n * dim * sizeof *s), *v = malloc(m * dim * sizeof *v), grid[10];
    assert_non_null(s);
    assert_non_null(v);
    fill_normal(s, n * dim, 3, 1.0f);
    fill_normal(v, m * dim, 4, 1.0f);
    for (int i = 0; i < 10; i++) grid[i] = (float)pow(10.0, -1.0 + i / 9.0);
    float best;
    double ll, want_ll;
    /* n_sigmas is ignored when sigmas is NULL. */
    assert_int_equal(gan_parzen_select_sigma(&best, &ll, s, n, v, m, dim, NULL, 0), GAN_OK);
    size_t want = argmax_one_by_one(&want_ll, s, n, v, m, dim, grid, 10);
    assert_true(want > 0 && want < 9);
    assert_true(best == grid[want]);
    assert_rel(ll, want_ll, 1e-9);
    assert_int_equal(gan_parzen_select_sigma(&best, &ll, s, n, v, m, dim, NULL, 123), GAN_OK);
    assert_true(best == grid[want]);
    free(s);
    free(v);
}

/* -------------------------------------------------------- nearest neighbours */

static void nearest_matches_brute_force(void **state)
{
    (void)state;
    /* More queries and references than one block each, ragged at both ends. */
    const size_t nq = 600, nr = 2100, dim = 9;
    float *q = random_rows(5, nq, dim, -1.0f, 1.0f), *r = random_rows(6, nr, dim, -1.0f, 1.0f);
    size_t *index = malloc(nq * sizeof *index);
    float *dist2 = malloc(nq * sizeof *dist2);
    assert_non_null(index);
    assert_non_null(dist2);
    assert_int_equal(gan_nearest_neighbors(index, dist2, q, nq, r, nr, dim), GAN_OK);
    for (size_t i = 0; i < nq; i++) {
        double best = INFINITY;
        for (size_t j = 0; j < nr; j++) best = fmin(best, sq_dist(q + i * dim, r + j * dim, dim));
        assert_true(index[i] < nr);
        double got = sq_dist(q + i * dim, r + index[i] * dim, dim);
        /* float rounding of |x|^2 + |s|^2 - 2 x.s may swap near-ties only */
        assert_true(got <= best + 1e-5);
        assert_true(dist2[i] == (float)got);
    }
    assert_int_equal(gan_nearest_neighbors(index, NULL, q, nq, r, nr, dim), GAN_OK);
    free(q);
    free(r);
    free(index);
    free(dist2);
}

/* Small integers make every distance exact, so the ties are real ties. */
static void nearest_ties_go_to_the_lowest_index(void **state)
{
    (void)state;
    const size_t nr = 2600, dim = 2;
    float *r = malloc(nr * dim * sizeof *r);
    assert_non_null(r);
    for (size_t j = 0; j < nr; j++) r[2 * j] = 50.0f + (float)(j % 7), r[2 * j + 1] = 40.0f;
    /* Query 0 equals references 3 and 2500 (in different blocks); query 1 is at distance
     * 1 from (1, 0) at index 10, (0, -1) at index 20 (same block) and (-1, 0) at 2049. */
    r[2 * 3] = r[2 * 2500] = 5.0f, r[2 * 3 + 1] = r[2 * 2500 + 1] = 6.0f;
    r[2 * 10] = 1.0f, r[2 * 10 + 1] = 0.0f;
    r[2 * 20] = 0.0f, r[2 * 20 + 1] = -1.0f;
    r[2 * 2049] = -1.0f, r[2 * 2049 + 1] = 0.0f;
    float q[2 * 2] = {5, 6, 0, 0}, dist2[2];
    size_t index[2];
    assert_int_equal(gan_nearest_neighbors(index, dist2, q, 2, r, nr, dim), GAN_OK);
    assert_int_equal(index[0], 3);
    assert_true(dist2[0] == 0.0f);
    assert_int_equal(index[1], 10);
    assert_true(dist2[1] == 1.0f);
    /* Moved around: the lowest index still wins. */
    r[2 * 10] = 0.0f, r[2 * 10 + 1] = -1.0f;
    r[2 * 20] = -1.0f, r[2 * 20 + 1] = 0.0f;
    r[2 * 2049] = 1.0f;
    assert_int_equal(gan_nearest_neighbors(index, dist2, q, 2, r, nr, dim), GAN_OK);
    assert_int_equal(index[1], 10);
    free(r);
}

/* ---------------------------------------------------------------- image grid */

static void image_grid_layout(void **state)
{
    (void)state;
    /* Three 2 (wide) x 3 (high) images, 2 per row, pad 1: 7 x 9 pixels. */
    float img[3 * 6] = {
        0.0f, 1.0f, 0.5f, 1.0f / 255.0f, -1.0f, 2.0f,     /* clamping */
        NAN, INFINITY, -INFINITY, 0.25f, 0.75f, 0.998f,  /* NaN, infinities, rounding */
        0.12f, 0.2f, 0.35f, 0.4f, 0.6f, 0.95f,
    };
    size_t w, h;
    assert_int_equal(gan_image_grid_size(&w, &h, 3, 2, 3, 2, 1), GAN_OK);
    assert_int_equal(w, 2 * 2 + 3 * 1);
    assert_int_equal(h, 2 * 3 + 3 * 1);
    uint8_t px[9 * 7];
    memset(px, 0xAB, sizeof px);
    assert_int_equal(gan_image_grid(px, img, 3, 2, 3, 2, 1), GAN_OK);
    const uint8_t want[9 * 7] = {
        0, 0,   0,   0, 0,   0,   0,
        0, 0,   255, 0, 0,   255, 0,
        0, 128, 1,   0, 0,   64,  0,
        0, 0,   255, 0, 191, 254, 0,
        0, 0,   0,   0, 0,   0,   0,
        0, 31,  51,  0, 0,   0,   0,
        0, 89,  102, 0, 0,   0,   0,
        0, 153, 242, 0, 0,   0,   0,
        0, 0,   0,   0, 0,   0,   0,
    };
    assert_memory_equal(px, want, sizeof want);
    /* No padding: the images touch. */
    assert_int_equal(gan_image_grid_size(&w, &h, 3, 2, 3, 3, 0), GAN_OK);
    assert_int_equal(w, 6);
    assert_int_equal(h, 3);
    uint8_t flat[3 * 6];
    assert_int_equal(gan_image_grid(flat, img, 3, 2, 3, 3, 0), GAN_OK);
    assert_int_equal(flat[0], 0);
    assert_int_equal(flat[2], 0);   /* image 1's NaN */
    assert_int_equal(flat[3], 255); /* image 1's +inf */
    assert_int_equal(flat[6 + 4], 89); /* image 2, row 1 */
    /* More columns than images: the row is as wide as asked. */
    assert_int_equal(gan_image_grid_size(&w, &h, 1, 2, 3, 4, 2), GAN_OK);
    assert_int_equal(w, 4 * 2 + 5 * 2);
    assert_int_equal(h, 3 + 2 * 2);
}

/* The scaled RGB grid against a direct reading of its definition: pixel (X, Y) of the
 * grid is pixel (X / scale, Y / scale) of the scale-1 grid, black in the padding. */
static void image_grid2_rgb_scaled(void **state)
{
    (void)state;
    enum { N = 5, C = 3, H = 2, W = 3, COLS = 2, PAD = 1, S = 3 };
    float *img = random_rows(11, N, H * W * C, -0.2f, 1.2f); /* some values to clamp */
    img[7] = NAN;
    size_t w, h;
    assert_int_equal(gan_image_grid2_size(&w, &h, N, C, H, W, COLS, PAD, S), GAN_OK);
    assert_int_equal(w, (COLS * W + (COLS + 1) * PAD) * S);
    assert_int_equal(h, (3 * H + 4 * PAD) * S);
    uint8_t *px = malloc(w * h * C);
    assert_non_null(px);
    memset(px, 0xAB, w * h * C);
    assert_int_equal(gan_image_grid2(px, img, N, C, H, W, COLS, PAD, S), GAN_OK);
    for (size_t Y = 0; Y < h; Y++)
        for (size_t X = 0; X < w; X++)
            for (size_t c = 0; c < C; c++) {
                size_t x = X / S, y = Y / S, cx = x / (W + PAD), cy = y / (H + PAD);
                size_t ix = x % (W + PAD), iy = y % (H + PAD), k = cy * COLS + cx;
                uint8_t want = 0;
                if (ix >= PAD && iy >= PAD && cx < COLS && k < N) {
                    float v = img[k * H * W * C + ((iy - PAD) * W + (ix - PAD)) * C + c];
                    want = !(v > 0.0f) ? 0 : v >= 1.0f ? 255 : (uint8_t)(v * 255.0f + 0.5f);
                }
                if (px[(Y * w + X) * C + c] != want)
                    fail_msg("pixel (%zu, %zu) channel %zu: %u, want %u", X, Y, c, px[(Y * w + X) * C + c], want);
            }
    assert_int_equal(px[((PAD * S) * w + (PAD + 2) * S) * C + 1], 0); /* image 0's value 7, (0, 2) green, is NaN */
    free(px);
    free(img);
}

/* 0.1's gan_image_grid is gan_image_grid2 with one channel and scale 1, width first. */
static void image_grid_is_grid2_gray(void **state)
{
    (void)state;
    enum { N = 7, W = 4, H = 3, COLS = 3, PAD = 2 };
    float *img = random_rows(12, N, W * H, 0.0f, 1.0f);
    size_t w1, h1, w2, h2;
    assert_int_equal(gan_image_grid_size(&w1, &h1, N, W, H, COLS, PAD), GAN_OK);
    assert_int_equal(gan_image_grid2_size(&w2, &h2, N, 1, H, W, COLS, PAD, 1), GAN_OK);
    assert_int_equal(w1, w2);
    assert_int_equal(h1, h2);
    uint8_t *a = malloc(w1 * h1), *b = malloc(w1 * h1);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(gan_image_grid(a, img, N, W, H, COLS, PAD), GAN_OK);
    assert_int_equal(gan_image_grid2(b, img, N, 1, H, W, COLS, PAD, 1), GAN_OK);
    assert_memory_equal(a, b, w1 * h1);
    free(a);
    free(b);
    free(img);
}

/* ------------------------------------------------------------------ errors */

static void parzen_errors(void **state)
{
    (void)state;
    float x[4] = {0, 1, 2, 3}, bad[4] = {0, NAN, 0, 0}, big[4] = {1e30f, 0, 0, 0};
    double ll;
    assert_error(gan_parzen_log_likelihood(NULL, NULL, x, 2, x, 2, 2, 1.0f), GAN_EINVAL, "'mean' is NULL");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, NULL, 2, x, 2, 2, 1.0f), GAN_EINVAL, "'samples' is NULL");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, NULL, 2, 2, 1.0f), GAN_EINVAL, "'test' is NULL");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 0, x, 2, 2, 1.0f), GAN_EINVAL, "n must be positive");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, x, 0, 2, 1.0f), GAN_EINVAL, "m must be positive");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, x, 2, 0, 1.0f), GAN_EINVAL, "dim must be in");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, x, 2, (size_t)INT_MAX + 1, 1.0f), GAN_EINVAL,
                 "dim must be in");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, SIZE_MAX / 2, x, 2, 2, 1.0f), GAN_EINVAL, "overflows");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, x, SIZE_MAX / 2, 2, 1.0f), GAN_EINVAL, "overflows");
    const float sigmas[] = {0.0f, -1.0f, NAN, INFINITY, -0.0f};
    for (size_t i = 0; i < sizeof sigmas / sizeof *sigmas; i++)
        assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, x, 2, 2, sigmas[i]), GAN_EINVAL, "sigma must be");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, bad, 2, x, 2, 2, 1.0f), GAN_EINVAL, "n row 0 is not finite");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, bad, 2, 2, 1.0f), GAN_EINVAL, "m row 0 is not finite");
    assert_error(gan_parzen_log_likelihood(&ll, NULL, x, 2, big, 2, 2, 1.0f), GAN_EINVAL, "too large");
}

static void select_sigma_errors(void **state)
{
    (void)state;
    float x[4] = {0, 1, 2, 3}, bad[4] = {0, 0, INFINITY, 0}, best = 0.0f;
    const float sig[3] = {0.1f, NAN, 1.0f};
    assert_error(gan_parzen_select_sigma(NULL, NULL, x, 2, x, 2, 2, NULL, 0), GAN_EINVAL, "'best_sigma' is NULL");
    assert_error(gan_parzen_select_sigma(&best, NULL, NULL, 2, x, 2, 2, NULL, 0), GAN_EINVAL, "'samples' is NULL");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, NULL, 2, 2, NULL, 0), GAN_EINVAL, "'valid' is NULL");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 2, 2, sig, 0), GAN_EINVAL, "n_sigmas must be");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 2, 2, sig, 3), GAN_EINVAL, "sigma must be");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 0, x, 2, 2, NULL, 0), GAN_EINVAL, "n must be positive");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 0, 2, NULL, 0), GAN_EINVAL, "m must be positive");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 2, 0, NULL, 0), GAN_EINVAL, "dim must be in");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, SIZE_MAX / 2, x, 2, 2, NULL, 0), GAN_EINVAL, "overflows");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, bad, 2, 2, NULL, 0), GAN_EINVAL, "m row 1 is not finite");
    /* The count is checked before the list is read. */
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 2, 2, x + 1, 1025), GAN_EINVAL,
                 "n_sigmas must be in [1, 1024]");
    assert_error(gan_parzen_select_sigma(&best, NULL, x, 2, x, 2, 2, x + 1, SIZE_MAX), GAN_EINVAL, "n_sigmas");
    assert_true(best == 0.0f); /* untouched on failure */
}

static void nearest_errors(void **state)
{
    (void)state;
    float x[4] = {0, 1, 2, 3}, bad[4] = {0, 0, 0, NAN};
    size_t idx[2];
    assert_error(gan_nearest_neighbors(NULL, NULL, x, 2, x, 2, 2), GAN_EINVAL, "'index' is NULL");
    assert_error(gan_nearest_neighbors(idx, NULL, NULL, 2, x, 2, 2), GAN_EINVAL, "'queries' is NULL");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 2, NULL, 2, 2), GAN_EINVAL, "'refs' is NULL");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 0, x, 2, 2), GAN_EINVAL, "nq must be positive");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 2, x, 0, 2), GAN_EINVAL, "nr must be positive");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 2, x, 2, 0), GAN_EINVAL, "dim must be in");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 2, x, SIZE_MAX / 2, 2), GAN_EINVAL, "overflows");
    assert_error(gan_nearest_neighbors(idx, NULL, bad, 2, x, 2, 2), GAN_EINVAL, "nq row 1 is not finite");
    assert_error(gan_nearest_neighbors(idx, NULL, x, 2, bad, 2, 2), GAN_EINVAL, "nr row 1 is not finite");
}

static void image_grid_errors(void **state)
{
    (void)state;
    size_t w, h;
    float img[4] = {0};
    uint8_t px[16];
    assert_error(gan_image_grid_size(NULL, &h, 1, 2, 2, 1, 0), GAN_EINVAL, "'width' is NULL");
    assert_error(gan_image_grid_size(&w, NULL, 1, 2, 2, 1, 0), GAN_EINVAL, "'height' is NULL");
    assert_error(gan_image_grid(NULL, img, 1, 2, 2, 1, 0), GAN_EINVAL, "'pixels' is NULL");
    assert_error(gan_image_grid(px, NULL, 1, 2, 2, 1, 0), GAN_EINVAL, "'images' is NULL");
    const size_t zero[4][4] = {{0, 2, 2, 1}, {1, 0, 2, 1}, {1, 2, 0, 1}, {1, 2, 2, 0}};
    for (int i = 0; i < 4; i++) {
        assert_error(gan_image_grid_size(&w, &h, zero[i][0], zero[i][1], zero[i][2], zero[i][3], 0), GAN_EINVAL,
                     "must be positive");
        assert_error(gan_image_grid(px, img, zero[i][0], zero[i][1], zero[i][2], zero[i][3], 0), GAN_EINVAL,
                     "must be positive");
    }
    /* Width, height, their product and the padding can each overflow. */
    assert_error(gan_image_grid_size(&w, &h, 3, SIZE_MAX / 2, 2, 3, 0), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid_size(&w, &h, SIZE_MAX, 2, 2, 1, 0), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid_size(&w, &h, 1, 2, 2, 1, SIZE_MAX / 2), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid_size(&w, &h, 1, SIZE_MAX / 8, SIZE_MAX / 8, 1, 0), GAN_EINVAL,
                 "grid size overflows");
    assert_error(gan_image_grid(px, img, 3, SIZE_MAX / 2, 2, 3, 0), GAN_EINVAL, "grid size overflows");
    /* The grid fits size_t but the image array does not. */
    assert_error(gan_image_grid(px, img, SIZE_MAX / 32, 4, 4, SIZE_MAX / 32, 0), GAN_EINVAL, "images of 4 x 4");
}

static void image_grid2_errors(void **state)
{
    (void)state;
    size_t w = 7, h = 7;
    float img[12] = {0};
    uint8_t px[64];
    assert_error(gan_image_grid2_size(NULL, &h, 1, 1, 2, 2, 1, 0, 1), GAN_EINVAL, "'width' is NULL");
    assert_error(gan_image_grid2_size(&w, NULL, 1, 1, 2, 2, 1, 0, 1), GAN_EINVAL, "'height' is NULL");
    assert_error(gan_image_grid2(NULL, img, 1, 1, 2, 2, 1, 0, 1), GAN_EINVAL, "'pixels' is NULL");
    assert_error(gan_image_grid2(px, NULL, 1, 1, 2, 2, 1, 0, 1), GAN_EINVAL, "'images' is NULL");
    const size_t channels[] = {0, 2, 4, SIZE_MAX};
    for (int i = 0; i < 4; i++) {
        assert_error(gan_image_grid2_size(&w, &h, 1, channels[i], 2, 2, 1, 0, 1), GAN_EINVAL, "1 (grayscale) or 3");
        assert_error(gan_image_grid2(px, img, 1, channels[i], 2, 2, 1, 0, 1), GAN_EINVAL, "1 (grayscale) or 3");
    }
    /* n, height, width, cols, scale */
    const size_t zero[5][5] = {{0, 2, 2, 1, 1}, {1, 0, 2, 1, 1}, {1, 2, 0, 1, 1}, {1, 2, 2, 0, 1}, {1, 2, 2, 1, 0}};
    for (int i = 0; i < 5; i++) {
        const size_t *z = zero[i];
        assert_error(gan_image_grid2_size(&w, &h, z[0], 3, z[1], z[2], z[3], 0, z[4]), GAN_EINVAL, "must be positive");
        assert_error(gan_image_grid2(px, img, z[0], 3, z[1], z[2], z[3], 0, z[4]), GAN_EINVAL, "must be positive");
    }
    /* The scale, the channels and the padding each make the byte count overflow. */
    assert_error(gan_image_grid2_size(&w, &h, 1, 1, 2, 2, 1, 0, SIZE_MAX / 2), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid2_size(&w, &h, 1, 1, 1, SIZE_MAX / 4, 1, 0, 3), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid2_size(&w, &h, 1, 3, (size_t)1 << 31, (size_t)1 << 32, 1, 0, 1), GAN_EINVAL,
                 "grid size overflows");
    assert_int_equal(gan_image_grid2_size(&w, &h, 1, 1, (size_t)1 << 31, (size_t)1 << 32, 1, 0, 1), GAN_OK);
    assert_error(gan_image_grid2_size(&w, &h, 1, 1, 2, 2, 1, SIZE_MAX / 2, 1), GAN_EINVAL, "grid size overflows");
    assert_error(gan_image_grid2(px, img, 3, 1, 2, SIZE_MAX / 2, 3, 0, 1), GAN_EINVAL, "grid size overflows");
    /* The grid fits size_t but the image array does not. */
    assert_error(gan_image_grid2(px, img, SIZE_MAX / 64, 3, 4, 4, SIZE_MAX / 64, 0, 1), GAN_EINVAL,
                 "images of 4 x 4 x 3");
    assert_int_equal(w, (size_t)1 << 32); /* the outputs of failed calls are untouched */
}

/* --------------------------------------------------------------- allocation */

static void allocation_failures(void **state)
{
    (void)state;
    float *s = random_rows(7, 300, 4, 0.0f, 1.0f), *t = random_rows(8, 50, 4, 0.0f, 1.0f);
    size_t idx[50], f;
    double ll;
    float best;
    test_alloc_install();
    SWEEP(f, gan_parzen_log_likelihood(&ll, NULL, s, 300, t, 50, 4, 0.2f), (void)0);
    assert_int_equal(f, 2);
    assert_int_equal(test_alloc_live(), 0);
    SWEEP(f, gan_parzen_select_sigma(&best, &ll, s, 300, t, 50, 4, NULL, 0), (void)0);
    assert_int_equal(f, 2);
    assert_int_equal(test_alloc_live(), 0);
    SWEEP(f, gan_nearest_neighbors(idx, NULL, t, 50, s, 300, 4), (void)0);
    assert_int_equal(f, 2);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
    free(s);
    free(t);
}

/* The workspace is bounded by the block size: the 5000 x 1000 distance matrix (20 MB) is never held. */
static size_t largest_request;

static void *tracking_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > largest_request) largest_request = size;
    return malloc(size);
}

static void tracking_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void workspace_is_bounded(void **state)
{
    (void)state;
    const size_t n = 5000, m = 1000, dim = 2;
    float *s = random_rows(9, n, dim, 0.0f, 1.0f), *t = random_rows(10, m, dim, 0.0f, 1.0f);
    size_t *idx = malloc(m * sizeof *idx);
    assert_non_null(idx);
    gan_allocator a = {tracking_malloc, tracking_free, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
    double ll;
    float best;
    largest_request = 0;
    assert_int_equal(gan_parzen_log_likelihood(&ll, NULL, s, n, t, m, dim, 0.1f), GAN_OK);
    assert_int_equal(gan_parzen_select_sigma(&best, &ll, s, n, t, m, dim, NULL, 0), GAN_OK);
    assert_int_equal(gan_nearest_neighbors(idx, NULL, t, m, s, n, dim), GAN_OK);
    assert_true(largest_request <= 5u << 20);
    gan_set_allocator(NULL);
    free(s);
    free(t);
    free(idx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parzen_matches_naive),
        cmocka_unit_test(parzen_exact_point),
        cmocka_unit_test(parzen_far_points_stay_finite),
        cmocka_unit_test(select_sigma_finds_the_optimum),
        cmocka_unit_test(select_sigma_default_grid),
        cmocka_unit_test(nearest_matches_brute_force),
        cmocka_unit_test(nearest_ties_go_to_the_lowest_index),
        cmocka_unit_test(image_grid_layout),
        TEST(image_grid2_rgb_scaled),
        TEST(image_grid_is_grid2_gray),
        cmocka_unit_test(parzen_errors),
        cmocka_unit_test(select_sigma_errors),
        cmocka_unit_test(nearest_errors),
        cmocka_unit_test(image_grid_errors),
        TEST(image_grid2_errors),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(workspace_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
