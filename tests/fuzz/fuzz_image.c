/* libFuzzer harness for the image decoders: PNG (libpng) and JPEG (libjpeg-turbo) bytes
 * into gan_image_decode_mem, through the conversion to a target size.
 * Layout: byte 0 picks the target (height x width, from the table below), byte 1 the
 * flags (bit 0: grey instead of RGB, bit 1: GAN_IMAGE_BLACK, the rest a pixel limit of
 * 2^10 to 2^22, small enough to keep every input fast), then the file's bytes. A decode
 * must succeed or fail with a message naming the function; an output of the wrong size
 * or a leak shows up under ASan. Seeds: corpus_image/ (make_corpus_image.py). */
#include "gan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t targets[16][2] = {
    {1, 1}, {2, 3}, {7, 5}, {8, 8}, {12, 16}, {16, 12}, {6, 16}, {24, 32},
    {3, 40}, {40, 3}, {13, 11}, {32, 32}, {5, 9}, {64, 64}, {17, 23}, {48, 20},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t h = targets[data[0] & 15][0], w = targets[data[0] & 15][1];
    size_t channels = data[1] & 1 ? 1 : 3;
    unsigned flags = (data[1] & 2 ? GAN_IMAGE_BLACK : 0) | GAN_IMAGE_PIXEL_LIMIT(10 + (data[1] >> 2) % 13);
    uint8_t *out = malloc(h * w * channels);
    if (!out) return 0;
    int rc = gan_image_decode_mem(out, data + 2, size - 2, channels, h, w, flags);
    if (rc == GAN_OK) {
        volatile unsigned sink = 0;
        for (size_t i = 0; i < h * w * channels; i++) sink += out[i]; /* every byte written and readable */
        (void)sink;
    } else if (rc != GAN_EFORMAT && rc != GAN_ENOMEM) {
        abort(); /* the arguments are valid: only the bytes can be wrong */
    } else if (strncmp(gan_error_last(), "gan_image_decode_mem: ", 22) != 0) {
        abort(); /* a failure says where and why */
    }
    free(out);
    return 0;
}
