/* images: a first look at a folder of images (or a list file of them) as libgan sees it.
 *
 *   images PATH [--size HxW] [--channels 1|3] [--labels] [--skip-bad] [--black]
 *               [--out DIR] [--pack PREFIX]
 *
 * Loads PATH with gan_dataset_load_images() (every image converted to H x W, grey or
 * RGB, alpha composited onto white or black), then prints how long that took, the count,
 * the shape and the memory it takes, the classes with their counts (with --labels: a
 * folder's first level of sub-folders; a list file's second words whenever it has them),
 * and the files skipped (--skip-bad). Writes DIR/grid.png: the first 100 images, 10 to a
 * row, each with its class under it when there are labels. With --pack it writes the set
 * as IDX files, PREFIX-images.idx (N x H x W x C bytes; N x H x W when grey) and
 * PREFIX-labels.idx, which gan_dataset_load_idx() maps instead of reading, and which
 * examples/dcgan and examples/mnist_gan take as --data. The last line is
 *   images=<N> height=<H> width=<W> channels=<C> classes=<K> skipped=<S>
 * (docs/data.md, "A first look: examples/images"). */
#include "common.h"
#include "flags.h"
#include "gan.h"
#include "plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID 100     /* images in the grid */
#define GRID_COLS 10 /* to a row */

typedef struct options {
    const char *path, *size, *channels, *out, *pack;
    int labels, skip_bad, black;
    size_t height, width;
} options;

/* "HxW" or "N" (square) into o->height, o->width; each in [1, 65535]. */
static int parse_size(options *o)
{
    unsigned long h, w;
    char x, end;
    int got = sscanf(o->size, "%lu%c%lu%c", &h, &x, &w, &end);
    if (got == 1) w = h;
    else if (got != 3 || (x != 'x' && x != 'X')) return -1;
    if (o->size[0] == '-' || h < 1 || w < 1 || h > 65535 || w > 65535) return -1;
    o->height = h;
    o->width = w;
    return 0;
}

static options parse(int argc, char **argv)
{
    options o = {.size = "64x64", .channels = "3", .out = "out/images"};
    const ex_flag flags[] = {
        {"PATH", EX_TEXT, &o.path, "PATH", NULL, "a folder of PNG and JPEG images (read recursively) or a list file"},
        {"--size", EX_TEXT, &o.size, "HxW", NULL, "the size every image is converted to; N for N x N (64x64)"},
        {"--channels", EX_CHOICE, &o.channels, "1|3", NULL, "1: grey (ITU-R 601 luma), 3: RGB (3)"},
        {"--labels", EX_SWITCH, &o.labels, NULL, NULL,
         "classes from the folder's sub-folders (a list file's labels are read without it)"},
        {"--skip-bad", EX_SWITCH, &o.skip_bad, NULL, NULL, "skip files that cannot be read or decoded, and list them"},
        {"--black", EX_SWITCH, &o.black, NULL, NULL, "composite transparent pixels onto black (default: white)"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where grid.png goes (out/images)"},
        {"--pack", EX_TEXT, &o.pack, "PREFIX", NULL, "write PREFIX-images.idx and PREFIX-labels.idx (with labels)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "images: load a folder or a list of images as libgan does, print what it found, draw the\n"
                   "first 100 and pack the set into IDX files.");
    if (parse_size(&o)) ex_flags_fail(flags, "--size expects HxW or N, each in [1, 65535], got '%s'", o.size);
    return o;
}

/* The label of row i as text: its class name, or the number. */
static const char *label_text(const gan_dataset *ds, int label, char *buf, size_t size)
{
    const char *name = gan_dataset_class_name(ds, (size_t)label);
    if (name) return name;
    snprintf(buf, size, "%d", label);
    return buf;
}

static void print_classes(const gan_dataset *ds)
{
    size_t k = gan_dataset_num_classes(ds), n = gan_dataset_size(ds);
    if (!k) {
        printf("classes: none (--labels takes them from the sub-folders; a list file's from its lines)\n");
        return;
    }
    size_t *count = calloc(k, sizeof *count);
    if (!count) return;
    for (size_t i = 0; i < n; i++) {
        int l = gan_dataset_label(ds, i);
        if (l >= 0 && (size_t)l < k) count[l]++;
    }
    printf("classes: %zu\n", k);
    for (size_t c = 0; c < k; c++) {
        char buf[32];
        printf("  %3zu %-24s %8zu  %5.1f%%\n", c, label_text(ds, (int)c, buf, sizeof buf), count[c],
               100.0 * (double)count[c] / (double)n);
    }
    free(count);
}

static void print_skipped(const gan_dataset *ds)
{
    size_t s = gan_dataset_num_skipped(ds);
    printf("skipped: %zu file%s\n", s, s == 1 ? "" : "s");
    for (size_t k = 0; k < s; k++) {
        const char *name = gan_dataset_skipped_name(ds, k);
        if (!name) {
            printf("  ... (the first %zu are named)\n", k);
            break;
        }
        printf("  %s\n", name);
    }
}

/* The first GRID images (fewer in a smaller set), each with its class under it. */
static int draw_grid(const gan_dataset *ds, const options *o, size_t channels)
{
    size_t n = gan_dataset_size(ds) < GRID ? gan_dataset_size(ds) : GRID, dim = gan_dataset_dim(ds);
    size_t side = o->height > o->width ? o->height : o->width;
    int scale = (int)((56 + side - 1) / side); /* small images drawn larger: a cell of 56 px or more */
    if (scale > 8) scale = 8;
    char path[4096], title[256], (*names)[32] = NULL;
    const char **labels = NULL;
    float *x = malloc(n * dim * sizeof *x);
    int rc = x ? ex_report(gan_dataset_get_rows(ds, 0, n, x), "gan_dataset_get_rows") : ex_out_of_memory("the grid");
    if (!rc && gan_dataset_num_classes(ds)) {
        labels = calloc(n, sizeof *labels);
        names = calloc(n, sizeof *names);
        if (!labels || !names) rc = ex_out_of_memory("the grid's labels");
        for (size_t i = 0; !rc && i < n; i++) labels[i] = label_text(ds, gan_dataset_label(ds, i), names[i], 32);
    }
    const char *base = strrchr(o->path, '/');
    base = base && base[1] ? base + 1 : o->path;
    snprintf(title, sizeof title, "%s: the first %zu of %zu images, %zu x %zu %s", base, n, gan_dataset_size(ds),
             o->height, o->width, channels == 3 ? "RGB" : "grey");
    snprintf(path, sizeof path, "%s/grid.png", o->out);
    if (!rc)
        rc = ex_save_labelled_grid(path, x, n, channels, o->height, o->width, GRID_COLS, scale, labels, title);
    if (!rc) printf("grid: %s (the first %zu, %d px to a pixel)\n", path, n, scale);
    free(names);
    free(labels);
    free(x);
    return rc;
}

/* PREFIX-images.idx and, with labels, PREFIX-labels.idx. */
static int pack(const gan_dataset *ds, const char *prefix)
{
    char images[4096], labels[4096];
    int has_labels = gan_dataset_num_classes(ds) > 0;
    snprintf(images, sizeof images, "%s-images.idx", prefix);
    snprintf(labels, sizeof labels, "%s-labels.idx", prefix);
    char *slash = strrchr(images, '/');
    if (slash && slash != images) { /* the prefix's folder, made if missing */
        *slash = '\0';
        int made = ex_mkdir_p(images);
        *slash = '/';
        if (made != 0) {
            fprintf(stderr, "images: cannot create the folder of %s\n", images);
            return EX_FAIL;
        }
    }
    double t0 = ex_now();
    EX_TRY(gan_dataset_save_idx(ds, images, has_labels ? labels : NULL));
    printf("packed: %s%s%s in %.2f s (gan_dataset_load_idx maps it)\n", images, has_labels ? ", " : "",
           has_labels ? labels : "", ex_now() - t0);
    return GAN_OK;
}

int main(int argc, char **argv)
{
    options o = parse(argc, argv);
    size_t channels = (size_t)atoi(o.channels), c, h, w;
    unsigned flags = (o.labels ? GAN_IMAGE_LABELS : 0) | (o.skip_bad ? GAN_IMAGE_SKIP_BAD : 0) |
                     (o.black ? GAN_IMAGE_BLACK : 0);
    printf("images: %s at %zu x %zu, %s, transparent pixels onto %s\n", o.path, o.height, o.width,
           channels == 3 ? "RGB" : "grey", o.black ? "black" : "white");
    fflush(stdout);
    gan_dataset *ds = NULL;
    double t0 = ex_now();
    int rc = ex_report(gan_dataset_load_images(&ds, o.path, channels, o.height, o.width, flags),
                       "gan_dataset_load_images");
    double secs = ex_now() - t0;
    if (!rc) rc = ex_report(gan_dataset_shape(ds, &c, &h, &w), "gan_dataset_shape");
    if (!rc) {
        size_t n = gan_dataset_size(ds), dim = gan_dataset_dim(ds);
        printf("loaded: %zu images in %.2f s (%.0f images/s, on one thread)\n", n, secs,
               secs > 0 ? (double)n / secs : 0.0);
        printf("shape: %zu x %zu x %zu x %zu (images x height x width x channels), %zu bytes a row\n", n, h, w, c,
               dim);
        double mb = (double)n * (double)dim / 1e6;
        if (mb >= 0.1) printf("memory: %.1f MB as bytes (%.1f MB as floats)\n", mb, 4 * mb);
        else printf("memory: %.1f kB as bytes (%.1f kB as floats)\n", 1e3 * mb, 4e3 * mb);
        print_classes(ds);
        print_skipped(ds);
        fflush(stdout);
        if (ex_mkdir_p(o.out) != 0) {
            fprintf(stderr, "images: cannot create %s\n", o.out);
            rc = EX_FAIL;
        }
    }
    if (!rc) rc = draw_grid(ds, &o, channels);
    if (!rc && o.pack) rc = pack(ds, o.pack);
    if (!rc)
        printf("images=%zu height=%zu width=%zu channels=%zu classes=%zu skipped=%zu\n", gan_dataset_size(ds), h, w,
               c, gan_dataset_num_classes(ds), gan_dataset_num_skipped(ds));
    gan_dataset_free(ds);
    return rc ? 1 : 0;
}
