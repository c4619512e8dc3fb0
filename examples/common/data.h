/* The training data of a model example's --data (examples/dcgan, examples/mnist_gan): the
 * four IDX files of MNIST or Fashion-MNIST as they ship, one IDX file (what
 * examples/images --pack writes), a folder of PNG and JPEG images, or a list file of them.
 * None of it is part of libgan. */
#ifndef EX_DATA_H
#define EX_DATA_H

#include <gan.h>
#include <stddef.h>

typedef enum ex_data_kind {
    EX_DATA_IDX_DIR,   /* a folder holding train-images-idx3-ubyte (or .gz), train-labels-idx1-ubyte,
                          t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte; also a path that does
                          not exist, so the load names the missing IDX file as it always has */
    EX_DATA_IDX_FILE,  /* one IDX images file (raw or gzip), its labels beside it when there: the
                          name with its last "images" made "labels" (out-images.idx, out-labels.idx) */
    EX_DATA_IMAGE_DIR, /* any other folder: PNG and JPEG images, read recursively */
    EX_DATA_LIST       /* any other file: a list of `path [label]` lines */
} ex_data_kind;

/* What `path` names, told by the file system and a file's first bytes (IDX or gzip magic). */
ex_data_kind ex_data_kind_of(const char *path);
/* A few words for the kind ("a folder of images"), for plans and messages. */
const char *ex_data_kind_name(ex_data_kind kind);

/* The rows of a single set (the three kinds after EX_DATA_IDX_DIR) held out as the test
 * set: a seventh, as MNIST's 10,000 of 70,000, at least one. */
size_t ex_data_test_rows(size_t n);

/* Load --data's training and test sets for a model of `channels` x `side` x `side` rows,
 * values in [0, 1]:
 * - EX_DATA_IDX_DIR: the training and test files as they ship, in their order;
 * - the others: one set (images converted by gan_dataset_load_images() at the model's
 *   size, with `image_flags`), shuffled once by a fixed stream (not the run's seed, so
 *   every run of every model holds out the same rows), its last ex_data_test_rows() rows
 *   the test set.
 * Rows of another width than the model's are refused with a message naming the file.
 * `channels` 0 takes the data's own: an IDX file's (its rows 1 or 3 x side x side),
 * images in colour, or in grey when every pixel of every image has R = G = B; the choice
 * is gan_dataset_dim(*train) / (side * side).
 * *kind (may be NULL) tells which it was. 0, or a status reported on stderr. */
int ex_data_load(gan_dataset **train, gan_dataset **test, ex_data_kind *kind, const char *path, size_t channels,
                 size_t side, unsigned image_flags);

#endif
