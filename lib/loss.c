/* Losses on logits l. softplus(l) = log(1 + e^l) is evaluated without overflow, so
 * -log D = softplus(-l) and -log(1 - D) = softplus(l) stay finite for any finite l. */
#include "loss_impl.h"
#include "gan.h"

#include <math.h>

static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

double gan__mean_sigmoid(const float *logits, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += sigmoid(logits[i]);
    return s / (double)n;
}

/* D's loss terms for one real logit r (target t) and one fake logit f, with their
 * gradients: D's loss is their sum, averaged. */
static double d_real_term(int loss, double r, double t, double *g)
{
    switch (loss) {
    case GAN_LOSS_LEAST_SQUARES: /* 0.5 (D(x) - t)^2 */
        *g = r - t;
        return 0.5 * (r - t) * (r - t);
    case GAN_LOSS_HINGE: /* label smoothing applies to the two losses with targets only */
        *g = r < 1 ? -1 : 0;
        return r < 1 ? 1 - r : 0;
    case GAN_LOSS_WASSERSTEIN: /* the critic maximises l_real - l_fake */
        *g = -1;
        return -r;
    default: /* minimax and non-saturating share D's cross-entropy */
        *g = sigmoid(r) - t;
        return t * softplus(-r) + (1 - t) * softplus(r);
    }
}

static double d_fake_term(int loss, double f, double *g)
{
    switch (loss) {
    case GAN_LOSS_LEAST_SQUARES: /* 0.5 D(G(z))^2 */
        *g = f;
        return 0.5 * f * f;
    case GAN_LOSS_HINGE:
        *g = f > -1 ? 1 : 0;
        return f > -1 ? 1 + f : 0;
    case GAN_LOSS_WASSERSTEIN:
        *g = 1;
        return f;
    default:
        *g = sigmoid(f);
        return softplus(f);
    }
}

double gan__loss_d(int loss, const float *real, const float *fake, size_t n, float real_target,
                   float *g_real, float *g_fake)
{
    double total = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double gr, gf;
        double a = d_real_term(loss, real[i], real_target, &gr), b = d_fake_term(loss, fake[i], &gf);
        total += a + b;
        g_real[i] = (float)(gr * inv);
        g_fake[i] = (float)(gf * inv);
    }
    return total * inv;
}

double gan__loss_d_half(int loss, const float *logits, size_t n, int real, float real_target, float *g)
{
    double total = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double gi;
        total += real ? d_real_term(loss, logits[i], real_target, &gi) : d_fake_term(loss, logits[i], &gi);
        g[i] = (float)(gi * inv);
    }
    return total * inv;
}

double gan__loss_g(int loss, const float *fake, size_t n, float *g_fake)
{
    double total = 0, inv = 1.0 / (double)n;
    for (size_t i = 0; i < n; i++) {
        double f = fake[i], g;
        switch (loss) {
        case GAN_LOSS_MINIMAX: /* minimise log(1 - D) = -softplus(l) */
            total -= softplus(f);
            g = -sigmoid(f);
            break;
        case GAN_LOSS_LEAST_SQUARES:
            total += 0.5 * (f - 1) * (f - 1);
            g = f - 1;
            break;
        case GAN_LOSS_HINGE:
        case GAN_LOSS_WASSERSTEIN:
            total -= f;
            g = -1;
            break;
        default: /* non-saturating: minimise -log D = softplus(-l) */
            total += softplus(-f);
            g = sigmoid(f) - 1;
            break;
        }
        g_fake[i] = (float)(g * inv);
    }
    return total * inv;
}
