/* --data of the model examples (data.h). */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "data.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The stream that shuffles a single set before its test rows are held out: fixed, so the
 * split is the same for every seed and every program. */
#define SPLIT_SEED 0x7E57u

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

ex_data_kind ex_data_kind_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return EX_DATA_IDX_DIR;
    if (S_ISDIR(st.st_mode)) {
        char idx[4096];
        ex_idx_path(idx, sizeof idx, path, "train-images-idx3-ubyte");
        return exists(idx) ? EX_DATA_IDX_DIR : EX_DATA_IMAGE_DIR;
    }
    unsigned char b[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    int gzip = got >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    int idx = got == 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] >= 1 && b[3] <= 7; /* unsigned bytes */
    return gzip || idx ? EX_DATA_IDX_FILE : EX_DATA_LIST;
}

const char *ex_data_kind_name(ex_data_kind kind)
{
    switch (kind) {
    case EX_DATA_IDX_DIR: return "the four IDX files";
    case EX_DATA_IDX_FILE: return "an IDX file";
    case EX_DATA_IMAGE_DIR: return "a folder of images";
    case EX_DATA_LIST: return "a list of images";
    }
    return "?";
}

size_t ex_data_test_rows(size_t n) { return n / 7 > 0 ? n / 7 : 1; }

/* The labels beside an IDX images file: its name with the last "images" made "labels"
 * (and "-idx3-" made "-idx1-", as MNIST names them), when that file exists; else "". */
static void labels_beside(char *buf, size_t size, const char *images)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *hit = NULL;
    for (const char *p = base; (p = strstr(p, "images")); p++) hit = p;
    buf[0] = '\0';
    if (!hit || strlen(images) >= size) return;
    strcpy(buf, images);
    memcpy(buf + (hit - images), "labels", 6);
    char *idx3 = strstr(buf + (base - images), "-idx3-");
    if (idx3) idx3[4] = '1';
    if (!exists(buf)) buf[0] = '\0';
}

/* channels 0: either 1 or 3 (the file's own). */
static int check_width(const gan_dataset *ds, const char *path, size_t channels, size_t side)
{
    size_t dim = gan_dataset_dim(ds), plane = side * side;
    if (channels ? dim == channels * plane : dim == plane || dim == 3 * plane) return GAN_OK;
    if (channels)
        fprintf(stderr, "%s: %s has %zu values a row, this model takes %zu x %zu x %zu (channels x height x width)\n",
                program_invocation_short_name, path, dim, channels, side, side);
    else
        fprintf(stderr, "%s: %s has %zu values a row, this model takes 1 or 3 x %zu x %zu (channels x height x "
                "width)\n", program_invocation_short_name, path, dim, side, side);
    return GAN_EFORMAT;
}

/* Whether every pixel of every row of a colour set has R = G = B (*grey 1), read in
 * chunks so a large set needs no float copy. */
static int all_grey(const gan_dataset *ds, int *grey)
{
    size_t n = gan_dataset_size(ds), dim = gan_dataset_dim(ds), chunk = 256;
    float *x = malloc(chunk * dim * sizeof *x);
    if (!x) return ex_out_of_memory("the colour check");
    int rc = GAN_OK;
    *grey = 1;
    for (size_t i0 = 0; !rc && *grey && i0 < n; i0 += chunk) {
        size_t rows = n - i0 < chunk ? n - i0 : chunk;
        rc = ex_report(gan_dataset_get_rows(ds, i0, rows, x), "gan_dataset_get_rows");
        for (size_t k = 0; !rc && *grey && k < rows * dim; k += 3) *grey = x[k] == x[k + 1] && x[k] == x[k + 2];
    }
    free(x);
    return rc;
}

/* Images at `channels`; 0: in colour, or grey when every one is (the luma of R = G = B is
 * that value, so the grey load holds the same values). */
static int load_images(gan_dataset **all, const char *path, size_t channels, size_t side, unsigned image_flags)
{
    int grey = 0, rc = ex_report(gan_dataset_load_images(all, path, channels ? channels : 3, side, side, image_flags),
                                 "gan_dataset_load_images");
    if (!rc && !channels) rc = all_grey(*all, &grey);
    if (!rc && grey) {
        gan_dataset_free(*all);
        *all = NULL;
        rc = ex_report(gan_dataset_load_images(all, path, 1, side, side, image_flags), "gan_dataset_load_images");
    }
    return rc;
}

/* The training (or test) files of an IDX folder. */
static int load_idx_dir(gan_dataset **ds, const char *dir, int train, size_t channels, size_t side)
{
    char ip[4096], lp[4096];
    ex_idx_path(ip, sizeof ip, dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
    ex_idx_path(lp, sizeof lp, dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");
    EX_TRY(gan_dataset_load_idx(ds, ip, lp));
    return check_width(*ds, ip, channels, side);
}

int ex_data_load(gan_dataset **train, gan_dataset **test, ex_data_kind *kind, const char *path, size_t channels,
                 size_t side, unsigned image_flags)
{
    *train = *test = NULL;
    ex_data_kind k = ex_data_kind_of(path);
    if (kind) *kind = k;
    if (k == EX_DATA_IDX_DIR) {
        int rc = load_idx_dir(train, path, 1, channels, side);
        if (!rc) rc = load_idx_dir(test, path, 0, channels, side);
        if (rc) {
            gan_dataset_free(*train);
            gan_dataset_free(*test);
            *train = *test = NULL;
        }
        return rc;
    }
    gan_dataset *all = NULL;
    gan_rng *rng = NULL;
    int rc;
    if (k == EX_DATA_IDX_FILE) {
        char lp[4096];
        labels_beside(lp, sizeof lp, path);
        rc = ex_report(gan_dataset_load_idx(&all, path, lp[0] ? lp : NULL), "gan_dataset_load_idx");
        if (!rc) rc = check_width(all, path, channels, side);
    } else {
        rc = load_images(&all, path, channels, side, image_flags);
    }
    size_t n = rc ? 0 : gan_dataset_size(all);
    if (!rc && n < 2) {
        fprintf(stderr, "%s: %s has %zu image, need two or more (training and test rows)\n",
                program_invocation_short_name, path, n);
        rc = GAN_EFORMAT;
    }
    if (!rc) rc = ex_report(gan_rng_create(&rng, SPLIT_SEED), "gan_rng_create");
    if (!rc) rc = ex_report(gan_dataset_split(train, test, all, n - ex_data_test_rows(n), rng), "gan_dataset_split");
    gan_rng_free(rng);
    gan_dataset_free(all);
    return rc;
}
