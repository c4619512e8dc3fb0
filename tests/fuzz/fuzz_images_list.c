/* libFuzzer harness for gan_dataset_load_images: its list-file parser and its path from
 * image bytes to a data set. The first input byte picks the case:
 * - even: the rest is a list file's text, over a folder holding two small PNG files,
 *   a.png and b/c.png (written once, with gan_image_write_png);
 * - odd: the rest is the bytes of one image file (PNG, JPEG or anything), loaded as a
 *   folder of one.
 * The second byte picks the target (channels, size) and the flags. A data set that loads
 * has every row read and checked to lie in [0, 1]. */
#define _POSIX_C_SOURCE 200809L
#include "gan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

static void setup(void)
{
    if (root[0]) return;
    snprintf(root, sizeof root, "/tmp/gan-fuzz-images-XXXXXX");
    if (!mkdtemp(root)) abort();
    char path[128];
    uint8_t pixels[3 * 5 * 7];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 37);
    snprintf(path, sizeof path, "%s/a.png", root);
    if (gan_image_write_png(path, pixels, 7, 5, 3) != GAN_OK) abort();
    snprintf(path, sizeof path, "%s/b", root);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/b/c.png", root);
    if (gan_image_write_png(path, pixels, 5, 7, 1) != GAN_OK) abort();
    snprintf(path, sizeof path, "%s/one", root);
    mkdir(path, 0700);
}

static void check(const gan_dataset *ds)
{
    size_t n = gan_dataset_size(ds), dim = gan_dataset_dim(ds);
    float *row = malloc(dim * sizeof *row);
    if (!row) abort();
    for (size_t i = 0; i < n; i++) {
        if (gan_dataset_get_rows(ds, i, 1, row) != GAN_OK) abort();
        for (size_t k = 0; k < dim; k++)
            if (!(row[k] >= 0.0f && row[k] <= 1.0f)) abort();
        int label = gan_dataset_label(ds, i);
        if (label >= (int)gan_dataset_num_classes(ds)) abort();
    }
    for (size_t k = 0; k < gan_dataset_num_classes(ds); k++) (void)gan_dataset_class_name(ds, k);
    free(row);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    setup();
    static const size_t sides[4] = {1, 3, 8, 17};
    size_t channels = data[1] & 1 ? 3 : 1, height = sides[(data[1] >> 1) & 3], width = sides[(data[1] >> 3) & 3];
    unsigned flags = (data[1] >> 5) & 7; /* GAN_IMAGE_LABELS, SKIP_BAD, BLACK */
    char path[128];
    if (data[0] & 1) {
        snprintf(path, sizeof path, "%s/one/x.png", root);
        write_file(path, data + 2, size - 2);
        snprintf(path, sizeof path, "%s/one", root);
        flags &= ~(unsigned)GAN_IMAGE_LABELS;
    } else {
        snprintf(path, sizeof path, "%s/list.txt", root);
        write_file(path, data + 2, size - 2);
    }
    gan_dataset *ds = NULL;
    if (gan_dataset_load_images(&ds, path, channels, height, width, flags) == GAN_OK) check(ds);
    else if (ds) abort();
    gan_dataset_free(ds);
    return 0;
}
