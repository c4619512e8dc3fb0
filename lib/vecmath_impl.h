/* Branch-free float helpers for loops that must vectorise, shared by the sigmoid (kernels.c)
 * and the Parzen sums (eval.c) so that both use the one exp polynomial. */
#ifndef GAN_VECMATH_IMPL_H
#define GAN_VECMATH_IMPL_H

#include <stdint.h>
#include <string.h>

/* Bit views of floats: comparisons on them do not stop vectorisation. */
static inline int32_t float_bits(float x)
{
    int32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline float bits_float(int32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* exp(-t) for t >= 0 with Cephes' expf polynomial (relative error < 1e-7) and no branch.
 * t is clamped at 87 (exp(-87) = 1.6e-38), which also keeps 2^n a normal float. */
static inline float exp_neg(float t)
{
    int32_t b = float_bits(t), cap = 0x42ae0000; /* 87.0f */
    float x = -bits_float(b < cap ? b : cap);
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;               /* x - n ln 2 in two parts */
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
               1.6666665459e-1f) * r + 5.0000001201e-1f;
    return (p * (r * r) + r + 1.0f) * bits_float(((int32_t)n + 127) * (1 << 23));
}

#endif
