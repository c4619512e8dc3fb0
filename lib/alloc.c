/* The allocator hook: the library's only global mutable state (see docs/threading.md). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "alloc_impl.h"
#include "error_impl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The default allocator. Blocks of BIG bytes and more (parameters, gradients, optimizer
 * state, large workspaces) are mappings of their own: freeing one returns it to the
 * system at once, and a fresh mapping is already zero. malloc would put some of them in
 * its heap once its adaptive threshold has risen, where a net's parameter buffers,
 * regrown layer by layer while it is built, leave resident holes behind. Every block
 * records its size just below the pointer, so std_free knows which kind it is. Under
 * AddressSanitizer all blocks come from malloc, so it checks their bounds. */
#if defined(__SANITIZE_ADDRESS__)
#define GAN_MAP_BIG 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GAN_MAP_BIG 0
#endif
#endif
#ifndef GAN_MAP_BIG
#define GAN_MAP_BIG 1
#endif

enum { BIG = 1 << 20, SMALL_HEAD = 16, BIG_HEAD = 64 }; /* heads keep malloc's and a cache line's alignment */

static int is_big(size_t size) { return GAN_MAP_BIG && size >= BIG; }

static void *std_alloc(size_t size, int zero)
{
    size_t head = is_big(size) ? BIG_HEAD : SMALL_HEAD;
    if (size > SIZE_MAX - head) return NULL;
    unsigned char *block;
    if (is_big(size)) {
        block = mmap(NULL, size + head, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (block == MAP_FAILED) return NULL;
    } else {
        block = zero ? calloc(1, size + head) : malloc(size + head);
        if (!block) return NULL;
    }
    memcpy(block + head - sizeof size, &size, sizeof size);
    return block + head;
}

static void *std_malloc(void *ctx, size_t size) { (void)ctx; return std_alloc(size, 0); }

static void std_free(void *ctx, void *p)
{
    (void)ctx;
    size_t size;
    memcpy(&size, (unsigned char *)p - sizeof size, sizeof size);
    if (is_big(size)) munmap((unsigned char *)p - BIG_HEAD, size + BIG_HEAD);
    else free((unsigned char *)p - SMALL_HEAD);
}

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
    if (current.malloc_fn == std_malloc) return std_alloc(bytes ? bytes : 1, 1); /* zero without a pass */
    void *p = gan__malloc(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void gan__free(void *ptr)
{
    if (ptr) current.free_fn(current.ctx, ptr);
}
