/* Decoding and converting one image (image.c): PNG through libpng, JPEG through
 * libjpeg-turbo, then the conversion gan.h states under gan_image_decode_mem(). The data
 * set's image loader calls gan__image_decode for each file, and puts the function and the
 * file's name in front of its messages. */
#ifndef GAN_IMAGE_IMPL_H
#define GAN_IMAGE_IMPL_H

#include "gan.h"

#include <stddef.h>
#include <stdint.h>

/* The pixel limit's place in the flags (GAN_IMAGE_PIXEL_LIMIT), its default and bounds. */
enum {
    GAN__IMAGE_LIMIT_SHIFT = 8,
    GAN__IMAGE_LIMIT_MASK = 0x3f,
    GAN__IMAGE_LIMIT_DEFAULT = 27,
    GAN__IMAGE_LIMIT_MAX = 40,
    GAN__IMAGE_KNOWN_FLAGS = GAN_IMAGE_LABELS | GAN_IMAGE_SKIP_BAD | GAN_IMAGE_BLACK |
                             GAN__IMAGE_LIMIT_MASK << GAN__IMAGE_LIMIT_SHIFT
};

/* The largest target side gan__image_decode takes (height, width). */
#define GAN__IMAGE_MAX_SIDE ((size_t)0x7fffffff)

/* Check `flags` (unknown bits, a pixel limit out of [1, 40]) and give the limit in pixels
 * in *max_pixels (may be NULL): GAN_OK or GAN_EINVAL with a message naming no function. */
int gan__image_flags(unsigned flags, uint64_t *max_pixels);

/* Decode one PNG or JPEG (told by its magic bytes) and convert it into `out`, height x
 * width x channels bytes (HWC, channels 1 or 3), as gan.h states for
 * gan_image_decode_mem(). GAN_EFORMAT (not PNG or JPEG, broken, truncated, above the
 * pixel limit, unsupported JPEG), GAN_ENOMEM or GAN_EINVAL (channels, sizes, flags), with
 * a message that names neither the function nor a file: callers put those in front.
 * Allocations go through gan__malloc (libpng's too; libjpeg's through its own manager,
 * released before returning), are bounded by the image and the target, and are freed on
 * every path. `out` may be partly written on failure. Prints nothing. Thread-safe. */
int gan__image_decode(uint8_t *out, const uint8_t *bytes, size_t size, size_t channels, size_t height,
                      size_t width, unsigned flags);

#endif
