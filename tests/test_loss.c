/* Losses: finite-difference gradients against the loss values, and stability at
 * extreme logits. Built with lib/loss.c directly: the loss functions are internal. */
#include "test_util.h"
#include "loss_impl.h"

#include <math.h>

static const int losses[] = {GAN_LOSS_MINIMAX, GAN_LOSS_NON_SATURATING, GAN_LOSS_LEAST_SQUARES, GAN_LOSS_HINGE,
                             GAN_LOSS_WASSERSTEIN};
enum { N = 6 };
static const float real0[N] = {-3.1f, -0.4f, 0.2f, 1.3f, 2.7f, 0.77f};
static const float fake0[N] = {1.9f, -2.2f, 0.05f, -0.6f, 3.3f, -1.4f};

/* Central differences in double around float logits; h is large enough for float rounding
 * of the inputs to be negligible and small enough for the curvature (and hinge kinks
 * are kept 0.05 away from every logit above). */
static void check_d_loss(int loss, float target)
{
    float real[N], fake[N], gr[N], gf[N], scratch_r[N], scratch_f[N];
    memcpy(real, real0, sizeof real);
    memcpy(fake, fake0, sizeof fake);
    gan__loss_d(loss, real, fake, N, target, gr, gf);
    const float h = 1e-2f;
    for (int which = 0; which < 2; which++) {
        float *v = which ? fake : real, *g = which ? gf : gr;
        for (int i = 0; i < N; i++) {
            float keep = v[i];
            v[i] = keep + h;
            double up = gan__loss_d(loss, real, fake, N, target, scratch_r, scratch_f);
            v[i] = keep - h;
            double down = gan__loss_d(loss, real, fake, N, target, scratch_r, scratch_f);
            v[i] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (fabs(numeric - g[i]) > 1e-4 + 1e-3 * fabs(numeric))
                fail_msg("D loss %d (target %g): d/d%s[%d] analytic %g numeric %g", loss, target,
                         which ? "fake" : "real", i, g[i], numeric);
        }
    }
}

static void check_g_loss(int loss)
{
    float fake[N], g[N], scratch[N];
    memcpy(fake, fake0, sizeof fake);
    gan__loss_g(loss, fake, N, g);
    const float h = 1e-2f;
    for (int i = 0; i < N; i++) {
        float keep = fake[i];
        fake[i] = keep + h;
        double up = gan__loss_g(loss, fake, N, scratch);
        fake[i] = keep - h;
        double down = gan__loss_g(loss, fake, N, scratch);
        fake[i] = keep;
        double numeric = (up - down) / (2.0 * h);
        if (fabs(numeric - g[i]) > 1e-4 + 1e-3 * fabs(numeric))
            fail_msg("G loss %d: d/dfake[%d] analytic %g numeric %g", loss, i, g[i], numeric);
    }
}

static void gradients_match_finite_differences(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof losses / sizeof *losses; k++) {
        check_d_loss(losses[k], 1.0f);
        check_d_loss(losses[k], 0.9f);
        check_g_loss(losses[k]);
    }
}

static void values_match_the_definitions(void **state)
{
    (void)state;
    float real[1] = {0.3f}, fake[1] = {-0.8f}, gr[1], gf[1];
    double dr = 1 / (1 + exp(-0.3)), df = 1 / (1 + exp(0.8));
    /* Cross-entropy: -log D(x) - log(1 - D(G(z))). */
    assert_float_equal(gan__loss_d(GAN_LOSS_MINIMAX, real, fake, 1, 1.0f, gr, gf), -log(dr) - log(1 - df), 1e-9);
    assert_float_equal(gan__loss_g(GAN_LOSS_MINIMAX, fake, 1, gf), log(1 - df), 1e-9);
    assert_float_equal(gan__loss_g(GAN_LOSS_NON_SATURATING, fake, 1, gf), -log(df), 1e-9);
    assert_float_equal(gan__loss_d(GAN_LOSS_LEAST_SQUARES, real, fake, 1, 1.0f, gr, gf),
                       0.5 * 0.7 * 0.7 + 0.5 * 0.8 * 0.8, 1e-6);
    assert_float_equal(gan__loss_d(GAN_LOSS_HINGE, real, fake, 1, 1.0f, gr, gf), 0.7 + 0.2, 1e-6);
    assert_float_equal(gan__loss_d(GAN_LOSS_WASSERSTEIN, real, fake, 1, 1.0f, gr, gf), -0.8 - 0.3, 1e-6);
    assert_float_equal(gan__mean_sigmoid(real, 1), dr, 1e-7);
}

static void extreme_logits_stay_finite(void **state)
{
    (void)state;
    const float big[4] = {1e4f, -1e4f, 3e38f, -3e38f};
    float g1[4], g2[4];
    for (size_t k = 0; k < 2; k++) { /* the two cross-entropy losses involve exp */
        double d = gan__loss_d(losses[k], big, big, 4, 1.0f, g1, g2);
        double g = gan__loss_g(losses[k], big, 4, g2);
        assert_true(isfinite(d) && isfinite(g));
        for (int i = 0; i < 4; i++) assert_true(isfinite(g1[i]) && isfinite(g2[i]));
    }
    /* A confident, correct D has (almost) zero loss, not NaN. */
    float r[1] = {80.0f}, f[1] = {-80.0f};
    assert_true(gan__loss_d(GAN_LOSS_MINIMAX, r, f, 1, 1.0f, g1, g2) < 1e-30);
    assert_float_equal(gan__mean_sigmoid(big, 2), 0.5, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(values_match_the_definitions),
        cmocka_unit_test(extreme_logits_stay_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
