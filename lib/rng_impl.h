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

#endif
