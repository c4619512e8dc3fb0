/* Scores on features: Frechet distance, kernel distance, precision and recall against
 * numpy/scipy (tests/metrics_reference.py) and against what they must be by construction;
 * the softmax cross-entropy against its formula and finite differences; features from the
 * first layers of a net. */
#include "test_util.h"

#include <math.h>

/* /usr/bin/python3 tests/metrics_reference.py */
#define REF_FD 1.2421794576855798
#define REF_KID 0.6079558676499381
#define REF_PRECISION 0.95
#define REF_RECALL 0.4

enum { N = 40, DIM = 6 };

/* The reference script's rows, evaluated the same way: in double, rounded to float. */
static void reference_rows(float *a, float *b)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < DIM; j++) {
            a[i * DIM + j] = (float)(sin(0.37 * i * (j + 1) + 0.11 * j) + 0.05 * j * cos(1.3 * i));
            b[i * DIM + j] = (float)(0.8 * cos(0.23 * i * (j + 2) - 0.4 * j) + 0.45);
        }
}

static float *normal_rows(uint64_t seed, size_t n, size_t dim, float mean, float sd)
{
    float *x = xcalloc(n * dim, sizeof *x);
    gan_rng *rng = new_rng(seed);
    assert_int_equal(gan_rng_fill_normal(rng, x, n * dim, mean, sd), GAN_OK);
    gan_rng_free(rng);
    return x;
}

/* ------------------------------------------------------------ Frechet distance */

static void frechet_matches_scipy(void **state)
{
    (void)state;
    float a[N * DIM], b[N * DIM];
    reference_rows(a, b);
    double fd, back;
    assert_int_equal(gan_frechet_distance(&fd, a, N, b, N, DIM), GAN_OK);
    assert_true(fabs(fd - REF_FD) <= 1e-6 * REF_FD);
    assert_int_equal(gan_frechet_distance(&back, b, N, a, N, DIM), GAN_OK); /* symmetric */
    assert_true(fabs(back - fd) <= 1e-9 * fd);
}

/* Against itself 0; against a shifted copy exactly |shift|^2 (same covariance); against a
 * copy scaled by s about its mean (1 - s)^2 tr S, S the sample covariance. */
static void frechet_known_moments(void **state)
{
    (void)state;
    const size_t n = 500, dim = 12;
    float *x = normal_rows(1, n, dim, 0.5f, 2.0f), *y = xcalloc(n * dim, sizeof *y);
    double fd, mean[12] = {0}, trace = 0.0;
    assert_int_equal(gan_frechet_distance(&fd, x, n, x, n, dim), GAN_OK);
    assert_true(fd <= 1e-9);
    for (size_t i = 0; i < n * dim; i++) mean[i % dim] += x[i] / (double)n;
    for (size_t i = 0; i < n * dim; i++) trace += (x[i] - mean[i % dim]) * (x[i] - mean[i % dim]) / (double)(n - 1);
    /* a shift by a power of two changes no rounding of the centred rows */
    for (size_t i = 0; i < n * dim; i++) y[i] = x[i] + (i % dim == 3 ? 4.0f : 0.0f);
    assert_int_equal(gan_frechet_distance(&fd, x, n, y, n, dim), GAN_OK);
    assert_true(fabs(fd - 16.0) <= 1e-6);
    for (size_t i = 0; i < n * dim; i++) y[i] = (float)(mean[i % dim] + 0.5 * (x[i] - mean[i % dim]));
    assert_int_equal(gan_frechet_distance(&fd, x, n, y, n, dim), GAN_OK);
    assert_true(fabs(fd - 0.25 * trace) <= 1e-5 * trace);
    free(x);
    free(y);
}

/* Two large samples of Gaussians with diagonal covariances: FD tends to |mu_a - mu_b|^2 +
 * sum (sd_a - sd_b)^2, here 4 * 0.25 + 8 * (2 - 1)^2 = 9. */
static void frechet_two_gaussians(void **state)
{
    (void)state;
    const size_t n = 20000, dim = 8;
    float *x = normal_rows(2, n, dim, 0.0f, 1.0f), *y = normal_rows(3, n, dim, 0.0f, 2.0f);
    for (size_t i = 0; i < n * dim; i++) y[i] += i % dim < 4 ? 0.5f : 0.0f;
    double fd;
    assert_int_equal(gan_frechet_distance(&fd, x, n, y, n, dim), GAN_OK);
    assert_true(fabs(fd - 9.0) < 0.15);
    free(x);
    free(y);
}

/* ------------------------------------------------------------- kernel distance */

static void kernel_distance_matches_numpy(void **state)
{
    (void)state;
    float a[N * DIM], b[N * DIM];
    reference_rows(a, b);
    gan_rng *rng = new_rng(1);
    double kid, sd;
    /* One subset of every row: the order drawn does not change the sums. */
    assert_int_equal(gan_kernel_distance(&kid, &sd, a, N, b, N, DIM, N, 1, rng), GAN_OK);
    assert_true(fabs(kid - REF_KID) <= 1e-5 * REF_KID);
    assert_true(sd == 0.0);
    gan_rng_free(rng);
}

/* Unbiased: two samples of one distribution give a mean near 0, small next to the
 * distance to a shifted one; subsets of another seed give another estimate. */
static void kernel_distance_is_unbiased(void **state)
{
    (void)state;
    const size_t n = 2000, dim = 16;
    float *x = normal_rows(4, n, dim, 0.0f, 1.0f), *y = normal_rows(5, n, dim, 0.0f, 1.0f),
          *z = normal_rows(6, n, dim, 0.3f, 1.0f);
    gan_rng *rng = new_rng(7);
    double same, same_sd, far, far_sd;
    assert_int_equal(gan_kernel_distance(&same, &same_sd, x, n, y, n, dim, 500, 50, rng), GAN_OK);
    assert_int_equal(gan_kernel_distance(&far, &far_sd, x, n, z, n, dim, 500, 50, rng), GAN_OK);
    assert_true(far > 0.0);
    assert_true(fabs(same) < 0.05 * far);
    assert_true(fabs(same) < 3.0 * same_sd); /* within the spread of its subsets */
    assert_true(same_sd > 0.0);
    gan_rng_free(rng);
    free(x);
    free(y);
    free(z);
}

/* ------------------------------------------------------- precision and recall */

static void precision_recall_matches_numpy(void **state)
{
    (void)state;
    float a[N * DIM], b[N * DIM];
    reference_rows(a, b);
    double p, r;
    assert_int_equal(gan_precision_recall(&p, &r, a, N, b, N, DIM, 3), GAN_OK);
    assert_true(p == REF_PRECISION);
    assert_true(r == REF_RECALL);
}

/* A set against itself: all of both. Against a far-away set: none. A fake set that
 * repeats one real mode: precise, with a recall near that mode's share. */
static void precision_recall_by_construction(void **state)
{
    (void)state;
    const size_t n = 1000, dim = 4;
    float *x = normal_rows(8, n, dim, 0.0f, 1.0f), *far = normal_rows(9, n, dim, 50.0f, 1.0f),
          *y = xcalloc(n * dim, sizeof *y);
    double p, r;
    assert_int_equal(gan_precision_recall(&p, &r, x, n, x, n, dim, 3), GAN_OK);
    assert_true(p == 1.0 && r == 1.0);
    assert_int_equal(gan_precision_recall(&p, &r, x, n, far, n, dim, 3), GAN_OK);
    assert_true(p == 0.0 && r == 0.0);
    /* real: two modes 20 apart, half each; fake: only the first */
    for (size_t i = 0; i < n * dim; i++) y[i] = x[i] * 0.5f;
    for (size_t i = n / 2 * dim; i < n * dim; i++) x[i] = x[i] * 0.5f + 20.0f;
    for (size_t i = 0; i < n / 2 * dim; i++) x[i] *= 0.5f;
    assert_int_equal(gan_precision_recall(&p, &r, x, n, y, n, dim, 3), GAN_OK);
    assert_true(p > 0.95);
    assert_true(r > 0.4 && r <= 0.5);
    free(x);
    free(far);
    free(y);
}

/* ------------------------------------------------------------ softmax CE */

static void softmax_cross_entropy_values(void **state)
{
    (void)state;
    /* row 0: logits (1, 2, 3), label 2: log(e + e^2 + e^3) - 3; row 1: huge logits stay
     * finite: (1000, 0, -1000), label 1: 1000 + log(1 + e^-1000 + e^-2000). */
    const float z[6] = {1, 2, 3, 1000, 0, -1000};
    const int y[2] = {2, 1};
    float g[6];
    double loss, want0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0, want1 = 1000.0;
    assert_int_equal(gan_softmax_cross_entropy(&loss, g, z, y, 2, 3), GAN_OK);
    assert_true(fabs(loss - (want0 + want1) / 2) < 1e-12);
    double s = exp(1.0) + exp(2.0) + exp(3.0);
    assert_true(fabs(g[0] - exp(1.0) / s / 2) < 1e-7);
    assert_true(fabs(g[2] - (exp(3.0) / s - 1) / 2) < 1e-7);
    assert_true(fabs(g[3] - 0.5) < 1e-7 && fabs(g[4] + 0.5) < 1e-7 && g[5] == 0.0f);
    assert_int_equal(gan_softmax_cross_entropy(&loss, NULL, z, y, 1, 3), GAN_OK);
    assert_true(fabs(loss - want0) < 1e-12);
}

/* The gradient against central differences of the loss, in double through float logits
 * (h = 1e-3: the loss is smooth and its third derivative small). */
static void softmax_cross_entropy_gradient_check(void **state)
{
    (void)state;
    enum { ROWS = 5, CLASSES = 7 };
    float z[ROWS * CLASSES], g[ROWS * CLASSES];
    int y[ROWS] = {0, 6, 3, 3, 1};
    gan_rng *rng = new_rng(10);
    fill(rng, z, ROWS * CLASSES, -3.0f, 3.0f);
    gan_rng_free(rng);
    double loss, up, down;
    assert_int_equal(gan_softmax_cross_entropy(&loss, g, z, y, ROWS, CLASSES), GAN_OK);
    for (size_t i = 0; i < ROWS * CLASSES; i++) {
        float keep = z[i], h = 1e-3f;
        z[i] = keep + h;
        assert_int_equal(gan_softmax_cross_entropy(&up, NULL, z, y, ROWS, CLASSES), GAN_OK);
        z[i] = keep - h;
        assert_int_equal(gan_softmax_cross_entropy(&down, NULL, z, y, ROWS, CLASSES), GAN_OK);
        z[i] = keep;
        double numeric = (up - down) / ((double)(keep + h) - (double)(keep - h));
        if (fabs(numeric - g[i]) > 1e-4 * (1.0 + fabs(numeric)))
            fail_msg("logit %zu: analytic %g, numeric %g", i, g[i], numeric);
    }
}

/* ------------------------------------------------------------ features */

/* Depth 1 of dense -> ReLU is the dense layer's affine map; depth 2 the ReLU of it; the
 * whole depth is gan_net_forward in evaluation mode; depth 0 copies the input. */
static void forward_to_stops_at_a_layer(void **state)
{
    (void)state;
    gan_net *net;
    gan_layer *l;
    assert_int_equal(gan_net_create(&net, 3), GAN_OK);
    add(net, gan_layer_dense(&l, 3, 2), &l);
    add(net, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    gan_rng *rng = new_rng(11);
    assert_int_equal(gan_net_init(net, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    const float x[6] = {1, -2, 0.5f, -1, 3, 2}, *p = gan_net_params(net); /* W (3 x 2), then b */
    float y1[4], y2[4], y[4], y0[6];
    assert_int_equal(gan_net_forward_to(net, x, 2, 1, y1), GAN_OK);
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 2; j++) {
            double want = p[6 + j];
            for (int i = 0; i < 3; i++) want += x[r * 3 + i] * p[i * 2 + j];
            assert_true(fabs(y1[r * 2 + j] - want) < 1e-6);
        }
    assert_int_equal(gan_net_forward_to(net, x, 2, 2, y2), GAN_OK);
    assert_int_equal(gan_net_forward(net, x, 2, y, 0), GAN_OK);
    for (int i = 0; i < 4; i++) {
        assert_true(y2[i] == (y1[i] > 0 ? y1[i] : 0.0f));
        assert_true(y[i] == y2[i]);
    }
    assert_int_equal(gan_net_forward_to(net, x, 2, 0, y0), GAN_OK);
    assert_memory_equal(y0, x, sizeof x);
    assert_error(gan_net_forward_to(net, x, 2, 3, y), GAN_EINVAL, "depth 3 exceeds the net's 2 layers");
    assert_error(gan_net_forward_to(NULL, x, 2, 1, y), GAN_EINVAL, "'net' is NULL");
    assert_error(gan_net_forward_to(net, NULL, 2, 1, y), GAN_EINVAL, "'x' is NULL");
    assert_error(gan_net_forward_to(net, x, 2, 1, NULL), GAN_EINVAL, "'y' is NULL");
    assert_error(gan_net_forward_to(net, x, 0, 1, y), GAN_EINVAL, "batch must be in");
    assert_error(gan_net_forward_to(net, x, SIZE_MAX, 1, y), GAN_EINVAL, "batch must be in");
    gan_rng_free(rng);
    gan_net_free(net);
}

/* ------------------------------------------------------------------ errors */

static void metric_errors(void **state)
{
    (void)state;
    float a[N * DIM], b[N * DIM], bad[N * DIM];
    reference_rows(a, b);
    memcpy(bad, a, sizeof bad);
    bad[7] = NAN;
    double v, w;
    gan_rng *rng = new_rng(1);
    assert_error(gan_frechet_distance(NULL, a, N, b, N, DIM), GAN_EINVAL, "fd");
    assert_error(gan_frechet_distance(&v, NULL, N, b, N, DIM), GAN_EINVAL, "feats_a");
    assert_error(gan_frechet_distance(&v, a, 1, b, N, DIM), GAN_EINVAL, "2 rows or more");
    assert_error(gan_frechet_distance(&v, a, N, b, 0, DIM), GAN_EINVAL, "nb must be positive");
    assert_error(gan_frechet_distance(&v, a, N, b, N, 0), GAN_EINVAL, "dim");
    assert_error(gan_frechet_distance(&v, a, 2, b, 2, 9000), GAN_EINVAL, "exceeds 8192");
    assert_error(gan_frechet_distance(&v, bad, N, b, N, DIM), GAN_EINVAL, "na row 1 is not finite");
    assert_error(gan_frechet_distance(&v, a, SIZE_MAX / 2, b, N, DIM), GAN_EINVAL, "overflows");

    assert_error(gan_kernel_distance(NULL, &w, a, N, b, N, DIM, 10, 1, rng), GAN_EINVAL, "kid");
    assert_error(gan_kernel_distance(&v, &w, a, N, b, N, DIM, 10, 1, NULL), GAN_EINVAL, "rng");
    assert_error(gan_kernel_distance(&v, &w, a, N, b, 20, DIM, 21, 1, rng), GAN_EINVAL, "[2, 20], got 21");
    assert_error(gan_kernel_distance(&v, &w, a, N, b, N, DIM, 1, 1, rng), GAN_EINVAL, "subset_size");
    assert_error(gan_kernel_distance(&v, &w, a, N, b, N, DIM, 10, 0, rng), GAN_EINVAL, "subsets must be positive");
    assert_error(gan_kernel_distance(&v, &w, a, N, bad, N, DIM, 10, 1, rng), GAN_EINVAL, "not finite");

    assert_error(gan_precision_recall(&v, NULL, a, N, b, N, DIM, 3), GAN_EINVAL, "recall");
    assert_error(gan_precision_recall(&v, &w, a, N, b, N, DIM, 0), GAN_EINVAL, "= [1, 39], got 0");
    assert_error(gan_precision_recall(&v, &w, a, N, b, 4, DIM, 4), GAN_EINVAL, "[1, 3], got 4");
    assert_error(gan_precision_recall(&v, &w, a, N, bad, N, DIM, 3), GAN_EINVAL, "nf row 1");

    const float z[4] = {0, 1, INFINITY, 0};
    const int labels[2] = {1, 2}, good[2] = {1, 0};
    float g[4] = {9, 9, 9, 9};
    assert_error(gan_softmax_cross_entropy(&v, g, z, labels, 2, 2), GAN_EINVAL, "label 2 of row 1 is not in [0, 2)");
    assert_error(gan_softmax_cross_entropy(&v, g, z, good, 2, 2), GAN_EDIVERGED, "logit 0 of row 1 is inf");
    assert_true(g[0] == 9.0f && g[3] == 9.0f); /* nothing written on failure */
    assert_error(gan_softmax_cross_entropy(&v, g, z, good, 2, 1), GAN_EINVAL, "2 to");
    assert_error(gan_softmax_cross_entropy(&v, g, z, good, 0, 2), GAN_EINVAL, "n >= 1");
    assert_error(gan_softmax_cross_entropy(&v, g, NULL, good, 2, 2), GAN_EINVAL, "logits");
    assert_error(gan_softmax_cross_entropy(&v, g, z, good, SIZE_MAX / 2, 4), GAN_EINVAL, "x 4");
    gan_rng_free(rng);
}

/* Every allocation failing in turn: GAN_ENOMEM with nothing leaked, then success. */
static void allocation_failures(void **state)
{
    (void)state;
    float a[N * DIM], b[N * DIM];
    reference_rows(a, b);
    gan_rng *rng = new_rng(1);
    double v, w;
    size_t f;
    SWEEP(f, gan_frechet_distance(&v, a, N, b, N, DIM), (void)0);
    assert_int_equal(f, 2);
    SWEEP(f, gan_kernel_distance(&v, &w, a, N, b, N, DIM, 10, 2, rng), (void)0);
    assert_int_equal(f, 2);
    SWEEP(f, gan_precision_recall(&v, &w, a, N, b, N, DIM, 3), (void)0);
    assert_int_equal(f, 3);
    gan_rng_free(rng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(frechet_matches_scipy),
        TEST(frechet_known_moments),
        TEST(frechet_two_gaussians),
        TEST(kernel_distance_matches_numpy),
        TEST(kernel_distance_is_unbiased),
        TEST(precision_recall_matches_numpy),
        TEST(precision_recall_by_construction),
        TEST(softmax_cross_entropy_values),
        TEST(softmax_cross_entropy_gradient_check),
        TEST(forward_to_stops_at_a_layer),
        TEST(metric_errors),
        TEST(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
