/* The rng's layout, shared with the serializer (checkpoints save every stream). */
#ifndef GAN_RNG_IMPL_H
#define GAN_RNG_IMPL_H

#include "gan.h"

struct gan_rng {
    uint64_t state; /* PCG32 state */
    uint64_t inc;   /* PCG32 stream selector (odd) */
    int has_spare;  /* Box-Muller yields normals in pairs */
    float spare;
};

/* One PCG32 step (O'Neill 2014): the state advances by an LCG with the stream's odd
 * increment, and a draw is the XSH RR permutation of the state before the step. Defined
 * once here because kernels.c's dropout masks draw from the same stream as rng.c. */
#define GAN__PCG32_MULT 6364136223846793005ULL

static inline uint64_t gan__pcg32_step(uint64_t state, uint64_t inc) { return state * GAN__PCG32_MULT + inc; }

static inline uint32_t gan__pcg32_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

/* The state `delta` steps on, in O(log delta) (Brown 1994, "Random number generation
 * with arbitrary strides"): dropout masks drawn by row position (layer_impl.h, gan__rows). */
static inline uint64_t gan__pcg32_advance(uint64_t state, uint64_t inc, uint64_t delta)
{
    uint64_t acc_mult = 1, acc_plus = 0, mult = GAN__PCG32_MULT, plus = inc;
    for (; delta; delta >>= 1) {
        if (delta & 1) {
            acc_mult *= mult;
            acc_plus = acc_plus * mult + plus;
        }
        plus = (mult + 1) * plus;
        mult *= mult;
    }
    return acc_mult * state + acc_plus;
}

/* SplitMix64 (Steele, Lea and Flood 2014): mix scrambles 64 bits; splitmix64 is one
 * output of the generator whose state was x, seeds and hashes made from small integers. */
#define GAN__GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

static inline uint64_t gan__splitmix64_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static inline uint64_t gan__splitmix64(uint64_t x) { return gan__splitmix64_mix(x + GAN__GOLDEN_GAMMA); }

/* An unbiased integer in [0, n), 0 < n <= 2^48, from gan_rng_uniform()'s 24-bit draws
 * (one or two per try): the samplers' and the kernel distance's subsets. */
size_t gan__rng_below(gan_rng *rng, size_t n);

#endif
