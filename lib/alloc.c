/* The allocator hook: the library's only global mutable state (see docs/threading.md).
 * The default is malloc and free. A default that mapped large blocks on their own (0.1)
 * no longer earns its place now that a net's buffers grow geometrically: peak RSS of the
 * paper's MNIST step at batch 100 was 58.7 MiB with it and 58.8 MiB without (bench, AMD
 * EPYC), and glibc maps large blocks itself. */
#include "alloc_impl.h"
#include "error_impl.h"

#include <stdlib.h>
#include <string.h>

static void *std_malloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void std_free(void *ctx, void *p) { (void)ctx; free(p); }

static gan_allocator current = {std_malloc, std_free, NULL};

int gan_set_allocator(const gan_allocator *allocator)
{
    if (!allocator) {
        current = (gan_allocator){std_malloc, std_free, NULL};
        return GAN_OK;
    }
    if (!allocator->malloc_fn || !allocator->free_fn)
        return gan__fail(GAN_EINVAL, "gan_set_allocator: malloc_fn and free_fn are both required");
    current = *allocator;
    return GAN_OK;
}

void *gan__malloc(size_t size)
{
    return current.malloc_fn(current.ctx, size ? size : 1);
}

void *gan__calloc(size_t count, size_t size)
{
    size_t bytes;
    if (gan__size_mul(count, size, &bytes)) return NULL;
    if (current.malloc_fn == std_malloc) return calloc(1, bytes ? bytes : 1); /* fresh pages need no zeroing pass */
    void *p = gan__malloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void gan__free(void *ptr)
{
    if (ptr) current.free_fn(current.ctx, ptr);
}
