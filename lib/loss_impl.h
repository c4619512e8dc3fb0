/* GAN losses from D's logits, with their gradients. */
#ifndef GAN_LOSS_IMPL_H
#define GAN_LOSS_IMPL_H

#include <stddef.h>

/* D's loss over n real and n fake logits; writes d(loss)/d(logit) into g_real, g_fake.
 * real_target is the one-sided smoothed label (1 = none). Returns the mean loss. */
double gan__loss_d(int loss, const float *real, const float *fake, size_t n, float real_target,
                   float *g_real, float *g_fake);

/* The real (real != 0) or the fake half of D's loss, for a D that sees them in separate
 * passes: gan__loss_d is the sum of the two halves. */
double gan__loss_d_half(int loss, const float *logits, size_t n, int real, float real_target, float *g);

/* G's loss over n fake logits; writes d(loss)/d(logit) into g_fake. Returns the mean loss. */
double gan__loss_g(int loss, const float *fake, size_t n, float *g_fake);

/* Mean sigmoid of n logits: D's probability that they are real. */
double gan__mean_sigmoid(const float *logits, size_t n);

#endif
