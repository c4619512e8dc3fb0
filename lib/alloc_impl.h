/* Every allocation goes through the user's allocator hook; sizes are overflow-checked. */
#ifndef GAN_ALLOC_IMPL_H
#define GAN_ALLOC_IMPL_H

#include <stddef.h>
#include <stdint.h>

void *gan__malloc(size_t size);
void *gan__calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void gan__free(void *ptr);

/* a * b without overflow: returns 0 and sets *out, or -1 on overflow. */
static inline int gan__size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

#endif
