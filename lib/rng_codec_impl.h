/* A stream's record in a checkpoint (docs/file-format.md, RNG): the rng encodes and
 * decodes its own fields; serial.c frames the records (lib/rng.c). */
#ifndef GAN_RNG_CODEC_IMPL_H
#define GAN_RNG_CODEC_IMPL_H

#include "rng_impl.h"

#include <stdint.h>

/* PCG32 state u64, increment u64, spare flag u32, spare normal f32. */
enum { GAN__RNG_RECORD = 24 };

void gan__rng_encode(const gan_rng *rng, uint8_t out[GAN__RNG_RECORD]);

/* A stream from GAN__RNG_RECORD bytes, refused unless PCG32 can run it (an odd
 * increment) and the spare flag is 0 or 1: GAN_EFORMAT with a message that names no
 * function. *out is written only on success. */
int gan__rng_decode(gan_rng *out, const uint8_t *p);

#endif
