/* gan_rng: reproducibility, ranges and moments. */
#include "test_util.h"

#include <math.h>

static void same_seed_same_stream(void **state)
{
    (void)state;
    gan_rng *a, *b, *c;
    assert_int_equal(gan_rng_create(&a, 42), GAN_OK);
    assert_int_equal(gan_rng_create(&b, 42), GAN_OK);
    assert_int_equal(gan_rng_create(&c, 43), GAN_OK);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        float x = gan_rng_uniform(a), y = gan_rng_uniform(b), z = gan_rng_uniform(c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ > 990);
    /* Reseeding restarts the stream, spare normal included. */
    float first = gan_rng_normal(a);
    assert_int_equal(gan_rng_seed(a, 7), GAN_OK);
    assert_int_equal(gan_rng_seed(b, 7), GAN_OK);
    (void)first;
    for (int i = 0; i < 11; i++) assert_true(gan_rng_normal(a) == gan_rng_normal(b));
    gan_rng_free(a);
    gan_rng_free(b);
    gan_rng_free(c);
}

static void uniform_range_and_moments(void **state)
{
    (void)state;
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 1), GAN_OK);
    enum { N = 200000 };
    static float x[N];
    assert_int_equal(gan_rng_fill_uniform(r, x, N, -2.0f, 3.0f), GAN_OK);
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        assert_true(x[i] >= -2.0f && x[i] < 3.0f);
        sum += x[i];
        sq += (double)x[i] * x[i];
    }
    double mean = sum / N, var = sq / N - mean * mean;
    assert_true(fabs(mean - 0.5) < 0.02);          /* se = 5/sqrt(12 N) ~ 0.003 */
    assert_true(fabs(var - 25.0 / 12.0) < 0.05);
    gan_rng_free(r);
}

static void normal_moments(void **state)
{
    (void)state;
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, 2), GAN_OK);
    enum { N = 200001 }; /* odd: exercises the spare value */
    static float x[N];
    assert_int_equal(gan_rng_fill_normal(r, x, N, 1.5f, 0.5f), GAN_OK);
    double sum = 0, sq = 0, q = 0;
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(x[i]));
        sum += x[i];
        sq += (double)x[i] * x[i];
        q += fabs(x[i] - 1.5) < 0.5; /* within one sigma: 68.27% */
    }
    double mean = sum / N, var = sq / N - mean * mean;
    assert_true(fabs(mean - 1.5) < 0.01);
    assert_true(fabs(var - 0.25) < 0.01);
    assert_true(fabs(q / N - 0.6827) < 0.01);
    gan_rng_free(r);
}

static void bad_arguments(void **state)
{
    (void)state;
    gan_rng *r;
    float x[4];
    assert_error(gan_rng_create(NULL, 1), GAN_EINVAL, "out");
    assert_int_equal(gan_rng_create(&r, 3), GAN_OK);
    assert_error(gan_rng_fill_uniform(r, NULL, 4, 0, 1), GAN_EINVAL, "dst");
    assert_error(gan_rng_fill_uniform(r, x, 4, 1, 0), GAN_EINVAL, "lo <= hi");
    assert_error(gan_rng_fill_uniform(r, x, 4, 0, INFINITY), GAN_EINVAL, "finite");
    assert_error(gan_rng_fill_normal(r, x, 4, 0, -1), GAN_EINVAL, "std");
    assert_error(gan_rng_fill_normal(r, x, 4, NAN, 1), GAN_EINVAL, "mean");
    assert_error(gan_rng_fill_normal(NULL, x, 4, 0, 1), GAN_EINVAL, "rng");
    assert_int_equal(gan_rng_fill_normal(r, NULL, 0, 0, 1), GAN_OK); /* nothing to fill */
    gan_rng_free(r);
    gan_rng_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(uniform_range_and_moments),
        cmocka_unit_test(normal_moments),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
