/* Little-endian fixed-width fields, for the file format's framing (serial.c) and the
 * layers' encodings of their hyperparameters (layer.c). */
#ifndef GAN_BYTES_IMPL_H
#define GAN_BYTES_IMPL_H

#include <stdint.h>
#include <string.h>

static inline uint32_t gan__get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t gan__get_u64(const uint8_t *p)
{
    return (uint64_t)gan__get_u32(p) | (uint64_t)gan__get_u32(p + 4) << 32;
}

static inline float gan__f32_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float gan__get_f32(const uint8_t *p) { return gan__f32_of_bits(gan__get_u32(p)); }

static inline void gan__put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void gan__put_u64(uint8_t *p, uint64_t v)
{
    gan__put_u32(p, (uint32_t)v);
    gan__put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t gan__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline void gan__put_f32(uint8_t *p, float f) { gan__put_u32(p, gan__f32_bits(f)); }

#endif
