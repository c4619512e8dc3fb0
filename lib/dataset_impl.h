/* The data set's layout, shared by the IDX reader and the sampler (dataset.c) and the
 * image loader (dataset_images.c). */
#ifndef GAN_DATASET_IMPL_H
#define GAN_DATASET_IMPL_H

#include "gan.h"

#include <stdatomic.h>

/* The skipped files a data set remembers by name (gan_dataset_skipped_name). */
enum { GAN__SKIPPED_NAMES = 10 };

struct gan_dataset {
    size_t n, dim;          /* rows and row width */
    size_t c, h, w;         /* a row's shape (images, IDX files); (dim, 1, 1) otherwise */
    float *x;               /* float data sets: n x dim, row-major; NULL for byte ones */
    const uint8_t *bytes;   /* byte data sets (images, IDX): n x dim, HWC; into owned or map */
    uint8_t *owned;         /* the bytes when the set holds them, else NULL */
    void *map;              /* a mapped uncompressed IDX file, else NULL */
    size_t map_len;
    _Atomic(float *) row_cache; /* a byte set's rows as floats, made by the first gan_dataset_row */
    int *labels;            /* n labels in [0, num_classes), or NULL */
    size_t num_classes;     /* largest IDX label + 1, or the caller's; inherited by splits; 0 without labels */
    char *class_names;      /* num_classes names, each ended by '\0', or NULL */
    size_t skipped;         /* files the image loader skipped */
    char *skipped_names;    /* the first GAN__SKIPPED_NAMES of them, each ended by '\0' */
};

/* An empty data set of n byte rows of the shape c x h x w (bytes owned), with labels
 * when `labelled`. NULL when memory runs out (no message). */
gan_dataset *gan__dataset_new_bytes(size_t n, size_t c, size_t h, size_t w, int labelled);

#endif
