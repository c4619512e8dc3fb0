/* PCG32 (O'Neill 2014): small, fast, and the same stream on every platform. */
#include "rng_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "rng_codec_impl.h"

#include <float.h>
#include <math.h>

/* The largest |z| gan_rng_normal gives, rounded up: sqrt(-2 log 2^-24) = 5.77. */
#define NORMAL_MAX 6.0

static uint32_t pcg32_next(gan_rng *r)
{
    uint64_t old = r->state;
    r->state = gan__pcg32_step(old, r->inc);
    return gan__pcg32_output(old);
}

int gan_rng_seed(gan_rng *rng, uint64_t seed)
{
    GAN_CHECK_ARG(rng);
    /* The stream selector is derived from the seed too, so nearby seeds give unrelated streams. */
    rng->state = 0;
    rng->inc = ((seed ^ 0x9E3779B97F4A7C15ULL) << 1u) | 1u;
    pcg32_next(rng);
    rng->state += seed;
    pcg32_next(rng);
    rng->has_spare = 0;
    rng->spare = 0.0f;
    return GAN_OK;
}

int gan_rng_create(gan_rng **out, uint64_t seed)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    gan_rng *r = gan__malloc(sizeof *r);
    if (!r) return gan__fail(GAN_ENOMEM, "gan_rng_create: out of memory");
    gan_rng_seed(r, seed);
    *out = r;
    return GAN_OK;
}

void gan_rng_free(gan_rng *rng)
{
    gan__free(rng);
}

float gan_rng_uniform(gan_rng *rng)
{
    /* 24 random bits: every value is exactly representable and < 1. */
    return (float)(pcg32_next(rng) >> 8) * (1.0f / 16777216.0f);
}

float gan_rng_normal(gan_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    /* Box-Muller in double; u1 in (0, 1] keeps log finite. */
    double u1 = ((double)(pcg32_next(rng) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(pcg32_next(rng) >> 8) / 16777216.0;
    double radius = sqrt(-2.0 * log(u1));
    double angle = 6.283185307179586 * u2;
    rng->spare = (float)(radius * sin(angle));
    rng->has_spare = 1;
    return (float)(radius * cos(angle));
}

int gan_rng_fill_uniform(gan_rng *rng, float *dst, size_t n, float lo, float hi)
{
    GAN_CHECK_ARG(rng);
    if (n && !dst) return gan__fail(GAN_EINVAL, "gan_rng_fill_uniform: 'dst' is NULL");
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return gan__fail(GAN_EINVAL, "gan_rng_fill_uniform: need finite lo <= hi, got [%g, %g)", lo, hi);
    float span = hi - lo;
    if (isinf(span)) { /* finite bounds further apart than FLT_MAX: the span needs a double */
        double wide = (double)hi - (double)lo;
        for (size_t i = 0; i < n; i++) dst[i] = (float)(lo + wide * gan_rng_uniform(rng));
        return GAN_OK;
    }
    for (size_t i = 0; i < n; i++) dst[i] = lo + span * gan_rng_uniform(rng);
    return GAN_OK;
}

int gan_rng_fill_normal(gan_rng *rng, float *dst, size_t n, float mean, float std)
{
    GAN_CHECK_ARG(rng);
    if (n && !dst) return gan__fail(GAN_EINVAL, "gan_rng_fill_normal: 'dst' is NULL");
    if (!isfinite(mean) || !isfinite(std) || std < 0.0f)
        return gan__fail(GAN_EINVAL, "gan_rng_fill_normal: need finite mean and std >= 0, got %g and %g", mean, std);
    /* A draw is within NORMAL_MAX standard deviations of the mean: refuse what could overflow. */
    if (fabs((double)mean) + NORMAL_MAX * (double)std > FLT_MAX)
        return gan__fail(GAN_EINVAL, "gan_rng_fill_normal: mean %g with std %g would overflow a float", mean, std);
    for (size_t i = 0; i < n; i++) dst[i] = mean + std * gan_rng_normal(rng);
    return GAN_OK;
}

/* 24 uniform bits: gan_rng_uniform() returns k / 2^24, so the product is exactly k. */
static uint64_t bits24(gan_rng *rng)
{
    return (uint64_t)(gan_rng_uniform(rng) * 16777216.0f);
}

/* An unbiased integer in [0, n), 0 < n <= 2^48, by rejection (the callers' n stay below 2^32). */
size_t gan__rng_below(gan_rng *rng, size_t n)
{
    uint64_t span = (uint64_t)1 << 24, u;
    if (n > span) span <<= 24;
    uint64_t limit = span - span % n; /* largest multiple of n within span */
    do {
        u = bits24(rng);
        if (span > (uint64_t)1 << 24) u = u << 24 | bits24(rng);
    } while (u >= limit);
    return (size_t)(u % n);
}

/* ------------------------------------------------ the checkpoint record */

void gan__rng_encode(const gan_rng *rng, uint8_t out[GAN__RNG_RECORD])
{
    gan__put_u64(out, rng->state);
    gan__put_u64(out + 8, rng->inc);
    gan__put_u32(out + 16, (uint32_t)(rng->has_spare != 0));
    gan__put_f32(out + 20, rng->spare);
}

int gan__rng_decode(gan_rng *out, const uint8_t *p)
{
    uint64_t inc = gan__get_u64(p + 8);
    uint32_t has_spare = gan__get_u32(p + 16);
    if (!(inc & 1) || has_spare > 1)
        return gan__fail(GAN_EFORMAT, "invalid (even increment or bad spare flag)");
    out->state = gan__get_u64(p);
    out->inc = inc;
    out->has_spare = (int)has_spare;
    out->spare = gan__get_f32(p + 20);
    return GAN_OK;
}
