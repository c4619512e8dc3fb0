/* Gradient penalties' gradients by a central difference of two backward passes with the
 * net's choices held (docs/trainer.md, "Gradient penalties").
 *
 * With g_i = grad_x D(x_i) (data part) and P = scale * sum_i phi(|g_i|), the chain rule
 * gives dP/dtheta = d/dtheta sum_i <a_i, g_i(theta)>, a_i = scale * phi'(|g_i|) g_i / |g_i|
 * held fixed: D's parameter gradient differentiated along a_i. That derivative is the
 * central difference of the parameter gradients at x_i + h u_i and x_i - h u_i
 * (u_i = g_i / |g_i|), weighted |a_i| / 2h. The two passes replay every discrete choice
 * of the pass at x_i (ReLU signs, maxout winners, dropout masks: GAN__HOLD), so D is the
 * one linear piece x_i lies on: where D is piecewise linear the difference is exact up to
 * rounding, and a ReLU kink between x_i and x_i +- h u_i adds nothing that autodiff's
 * double backward would not. Smooth activations add an error of O(h^2). */
#include "penalty_impl.h"
#include "error_impl.h"

#include <math.h>
#include <string.h>

/* The step, relative to the row's norm (at least 1): curvature errs by O(h^2), float
 * rounding in the difference by O(eps / h); both stay near 1e-4. */
#define PENALTY_STEP 1e-3

/* phi(n) and phi'(n). */
static double phi(int kind, double n, double *slope)
{
    if (kind == GAN_PENALTY_R1) {
        *slope = n;
        return 0.5 * n * n;
    }
    *slope = 2.0 * (n - 1.0);
    return (n - 1.0) * (n - 1.0);
}

/* The rows x +- h u (plus into r->plus, minus over r->x) and each row's weight of the
 * difference in r->dy; the mean of phi and of |g|. */
static void steps(int kind, double scale, const gan__penalty_rows *r, double *value, double *norm)
{
    double total = 0.0, norms = 0.0;
    for (size_t i = 0; i < r->rows; i++) {
        const float *g = r->grad + i * r->width;
        float *x = r->x + i * r->width, *plus = r->plus + i * r->width;
        double gg = 0.0, xx = 0.0, slope;
        for (size_t j = 0; j < r->data; j++) {
            gg += (double)g[j] * g[j];
            xx += (double)x[j] * x[j];
        }
        double n = sqrt(gg);
        total += phi(kind, n, &slope);
        norms += n;
        /* No direction at n = 0 (phi' is 0 there for R1; a subgradient for WGAN-GP): the
         * row adds nothing. */
        double h = PENALTY_STEP * (xx > 1.0 ? sqrt(xx) : 1.0);
        float s = n > 0.0 ? (float)(h / n) : 0.0f;
        memcpy(plus, x, r->width * sizeof *x); /* the condition as it is */
        for (size_t j = 0; j < r->data; j++) {
            plus[j] = x[j] + s * g[j];
            x[j] -= s * g[j];
        }
        r->dy[i] = n > 0.0 ? (float)(scale * slope / (2.0 * h)) : 0.0f;
    }
    *value = total / (double)r->rows;
    *norm = norms / (double)r->rows;
}

int gan__penalty_add(gan_net *net, size_t depth, int kind, double scale, const gan__penalty_rows *r, double *value,
                     double *norm)
{
    int rc = gan__net_forward_depth(net, r->x, r->rows, r->logits, GAN__HOLD, depth);
    if (rc) return rc;
    for (size_t i = 0; i < r->rows; i++) r->dy[i] = 1.0f;
    gan__net_backward_ex(net, r->dy, r->grad, GAN__GRADS_NONE);
    steps(kind, scale, r, value, norm);
    if (!isfinite(*value)) return gan__fail(GAN_EDIVERGED, "the gradient penalty is not finite (%g)", *value);
    const float *at[2] = {r->plus, r->x};
    for (int pass = 0; pass < 2; pass++) {
        if ((rc = gan__net_forward_depth(net, at[pass], r->rows, r->logits, GAN__REPLAY, depth))) return rc;
        gan__net_backward_ex(net, r->dy, NULL, GAN__GRADS_ADD);
        for (size_t i = 0; i < r->rows; i++) r->dy[i] = -r->dy[i];
    }
    return GAN_OK;
}
