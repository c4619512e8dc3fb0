/* The softmax cross-entropy of a classifier's logits (the scoring classifier's loss, and an
 * auxiliary classifier's). Each row's log-sum-exp is taken from its largest logit, in
 * double, so no logit overflows exp. */
#include "gan.h"
#include "alloc_impl.h"
#include "error_impl.h"

#include <math.h>
#include <stdint.h>

int gan_softmax_cross_entropy(double *loss, float *dlogits, const float *logits, const int *labels, size_t n,
                              size_t classes)
{
    GAN_CHECK_ARG(loss);
    GAN_CHECK_ARG(logits);
    GAN_CHECK_ARG(labels);
    size_t count;
    if (n == 0 || classes < 2 || classes > INT32_MAX || gan__size_mul(n, classes, &count) ||
        count > SIZE_MAX / sizeof(float))
        return gan__fail(GAN_EINVAL, "%s: need n >= 1 rows of 2 to %d classes, got %zu x %zu", __func__, INT32_MAX,
                         n, classes);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return gan__fail(GAN_EINVAL, "%s: label %d of row %zu is not in [0, %zu)", __func__, labels[i], i,
                             classes);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(logits[i]))
            return gan__fail(GAN_EDIVERGED, "%s: logit %zu of row %zu is %g", __func__, i % classes, i / classes,
                             logits[i]);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        float top = z[0];
        for (size_t j = 1; j < classes; j++) top = z[j] > top ? z[j] : top;
        double sum = 0.0;
        for (size_t j = 0; j < classes; j++) sum += exp((double)z[j] - top);
        double log_sum = log(sum);
        total += log_sum - ((double)z[labels[i]] - top);
        if (!dlogits) continue;
        /* d(mean loss)/dz_j = (softmax_j - [j == label]) / n */
        float *g = dlogits + i * classes;
        for (size_t j = 0; j < classes; j++)
            g[j] = (float)((exp((double)z[j] - top - log_sum) - (j == (size_t)labels[i])) / (double)n);
    }
    *loss = total / (double)n;
    return GAN_OK;
}
