/* gan_dataset_load_images: a folder of PNG and JPEG files, or a list of them, as a data
 * set of bytes. First the listing (a recursive walk in sorted order, or the list file's
 * lines, with their labels), then one pass that reads and decodes each file into its row
 * (image.c does the decoding and the conversion). Nothing here is quadratic in the number
 * of files: names go into growing arenas, orders come from qsort, labels by name from a
 * binary search. */
#define _POSIX_C_SOURCE 200809L

#include "alloc_impl.h"
#include "dataset_impl.h"
#include "error_impl.h"
#include "file_impl.h"
#include "image_impl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char FN[] = "gan_dataset_load_images";

enum {
    MAX_DEPTH = 64,             /* folders nested deeper are refused (a symbolic link loop) */
    MAX_SIDE = 65535,           /* the largest height or width asked for */
    NO_LABEL = -1
};
#define MAX_FILE_BYTES ((uint64_t)1 << 30) /* a larger image file is refused, not read */

/* Strings one after another, each ended by '\0', addressed by offset. */
typedef struct arena {
    char *p;
    size_t len, cap;
} arena;

static int arena_add(arena *a, const char *s, size_t n, size_t *at)
{
    if (n >= SIZE_MAX / 2 - a->len) return gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1) cap *= 2;
        char *p = gan__malloc(cap);
        if (!p) return gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
        if (a->len) memcpy(p, a->p, a->len);
        gan__free(a->p);
        a->p = p;
        a->cap = cap;
    }
    if (at) *at = a->len;
    memcpy(a->p + a->len, s, n);
    a->p[a->len + n] = '\0';
    a->len += n + 1;
    return GAN_OK;
}

/* One image to load: its path (in `paths`), and its label or its label's name (in
 * `names`, a list file's class names until they are numbered). */
typedef struct entry {
    size_t path;
    long label; /* NO_LABEL, a number, or (named) the offset of its name */
} entry;

typedef struct listing {
    arena paths, names;
    entry *e;
    size_t n, cap;
    int named;              /* a list file's labels are names */
    size_t classes;         /* the classes so far */
} listing;

static void listing_free(listing *l)
{
    gan__free(l->paths.p);
    gan__free(l->names.p);
    gan__free(l->e);
}

static int add_entry(listing *l, const char *path, long label)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        entry *e = cap < SIZE_MAX / sizeof *e ? gan__malloc(cap * sizeof *e) : NULL;
        if (!e) return gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
        if (l->n) memcpy(e, l->e, l->n * sizeof *e);
        gan__free(l->e);
        l->e = e;
        l->cap = cap;
    }
    entry *e = &l->e[l->n];
    int rc = arena_add(&l->paths, path, strlen(path), &e->path);
    if (rc) return rc;
    e->label = label;
    l->n++;
    return GAN_OK;
}

/* ------------------------------------------------------------------ folders */

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in a directory but "." ones, sorted: one block of strings and their pointers. */
static int read_dir(const char *dir, char ***names, size_t *count, char **block)
{
    *names = NULL;
    *count = 0;
    *block = NULL;
    DIR *d = opendir(dir);
    if (!d) return gan__fail_errno(GAN_EIO, errno, "%s: '%s': cannot open the folder", FN, dir);
    arena a = {0};
    size_t n = 0;
    int rc = GAN_OK;
    while (!rc) {
        errno = 0; /* readdir's end and its failure differ only by errno */
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) rc = gan__fail_errno(GAN_EIO, errno, "%s: '%s': cannot read the folder", FN, dir);
            break;
        }
        if (de->d_name[0] == '.') continue;
        rc = arena_add(&a, de->d_name, strlen(de->d_name), NULL);
        n++;
    }
    closedir(d);
    char **p = !rc && n ? gan__malloc(n * sizeof *p) : NULL;
    if (!rc && n && !p) rc = gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
    if (rc) {
        gan__free(a.p);
        return rc;
    }
    char *s = a.p;
    for (size_t i = 0; i < n; i++, s += strlen(s) + 1) p[i] = s;
    if (n) qsort(p, n, sizeof *p, by_name);
    *names = p;
    *count = n;
    *block = a.p;
    return GAN_OK;
}

/* The folders from the top down to the one being walked: a symbolic link back to one of
 * them is a loop, and is not followed. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const struct ancestor *up;
} ancestor;

static int is_ancestor(const ancestor *a, const struct stat *st)
{
    for (; a; a = a->up)
        if (a->dev == st->st_dev && a->ino == st->st_ino) return 1;
    return 0;
}

/* Every image under `dir` (whose own folder is `self`), depth first in sorted order.
 * `label` is the class of the first-level folder being walked (labels from folders),
 * else NO_LABEL. */
static int walk(listing *l, const char *dir, const ancestor *self, size_t depth, int labels, long label)
{
    if (depth > MAX_DEPTH) return gan__fail(GAN_EINVAL, "%s: '%s' is nested %d folders deep", FN, dir, MAX_DEPTH);
    char **names, *block;
    size_t count;
    int rc = read_dir(dir, &names, &count, &block);
    size_t dir_len = strlen(dir);
    for (size_t i = 0; !rc && i < count; i++) {
        size_t len = dir_len + 1 + strlen(names[i]);
        char *path = gan__malloc(len + 1);
        if (!path) {
            rc = gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
            break;
        }
        memcpy(path, dir, dir_len);
        path[dir_len] = '/';
        strcpy(path + dir_len + 1, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = gan__fail_errno(GAN_EIO, errno, "%s: '%s'", FN, path);
        } else if (S_ISDIR(st.st_mode) && !is_ancestor(self, &st)) {
            ancestor child = {st.st_dev, st.st_ino, self};
            long sub = label;
            if (labels && depth == 0) sub = (long)l->classes; /* a class, counted once it holds an image */
            size_t before = l->n;
            rc = walk(l, path, &child, depth + 1, labels, sub);
            if (!rc && labels && depth == 0 && l->n > before) {
                size_t at;
                rc = arena_add(&l->names, names[i], strlen(names[i]), &at);
                l->classes++;
            }
        } else if (S_ISREG(st.st_mode) && is_image_name(names[i])) {
            if (labels && depth == 0)
                rc = gan__fail(GAN_EINVAL, "%s: '%s' is not in a class folder (GAN_IMAGE_LABELS takes the classes from "
                                           "the sub-folders of '%s')", FN, path, dir);
            else rc = add_entry(l, path, label);
        }
        gan__free(path);
    }
    gan__free(names);
    gan__free(block);
    return rc;
}

/* ---------------------------------------------------------------- list files */

/* The whole of a small file, '\0'-terminated. */
static int slurp(const char *path, char **out, size_t *size)
{
    int fd, regular;
    uint64_t len;
    int rc = gan__file_open(&fd, path, 1, &len, &regular);
    if (rc) return gan__wrap(rc, "%s: '%s'", FN, path);
    if (len > MAX_FILE_BYTES) {
        gan__file_close(fd);
        return gan__fail(GAN_EFORMAT, "%s: '%s' is %llu bytes, larger than %llu", FN, path, (unsigned long long)len,
                         (unsigned long long)MAX_FILE_BYTES);
    }
    char *buf = gan__malloc((size_t)len + 1);
    size_t got = 0;
    if (!buf) rc = gan__fail(GAN_ENOMEM, "%s: out of memory for '%s'", FN, path);
    else if ((rc = gan__file_read(fd, buf, (size_t)len, &got))) rc = gan__wrap(rc, "%s: '%s'", FN, path);
    else if (got != len) rc = gan__fail(GAN_EIO, "%s: '%s' changed while it was read", FN, path);
    gan__file_close(fd);
    if (rc) {
        gan__free(buf);
        return rc;
    }
    buf[got] = '\0';
    *out = buf;
    *size = got;
    return GAN_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* A label token as a number: digits only, at most INT_MAX; -1 otherwise. */
static long as_number(const char *t, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9') return -1;
        v = v * 10 + (t[i] - '0');
        if (v > INT_MAX) return -1;
    }
    return n ? v : -1;
}

/* The lines `path [label]` of a list file, paths taken relative to its folder. */
static int read_list(listing *l, const char *list_path)
{
    char *text;
    size_t size;
    int rc = slurp(list_path, &text, &size);
    if (rc) return rc;
    const char *slash = strrchr(list_path, '/');
    size_t dir_len = slash ? (size_t)(slash - list_path) + 1 : 0;
    int with = -1; /* whether lines carry labels: -1 until the first line says */
    size_t line_no = 0;
    char *path = NULL;
    for (char *p = text; !rc && p < text + size;) {
        char *end = memchr(p, '\n', (size_t)(text + size - p));
        if (!end) end = text + size;
        line_no++;
        char *tok[3];
        size_t len[3], nt = 0;
        for (char *q = p; q < end && nt < 3;) {
            while (q < end && is_space(*q)) q++;
            if (q == end) break;
            tok[nt] = q;
            while (q < end && !is_space(*q)) q++;
            len[nt] = (size_t)(q - tok[nt]);
            nt++;
        }
        p = end + 1;
        if (nt == 0 || tok[0][0] == '#') continue;
        if (nt > 2 || memchr(tok[0], '\0', len[0])) {
            rc = gan__fail(GAN_EFORMAT, "%s: '%s' line %zu: expected `path [label]`", FN, list_path, line_no);
            break;
        }
        if (with >= 0 && with != (nt == 2)) {
            rc = gan__fail(GAN_EFORMAT, "%s: '%s' line %zu: every line has a label or none does", FN, list_path,
                           line_no);
            break;
        }
        with = nt == 2;
        long label = NO_LABEL;
        if (with) {
            long v = as_number(tok[1], len[1]);
            int named = v < 0;
            if (l->n && named != l->named) {
                rc = gan__fail(GAN_EFORMAT, "%s: '%s' line %zu: labels are all numbers or all names", FN, list_path,
                               line_no);
                break;
            }
            l->named = named;
            size_t at = 0;
            if (named && (rc = arena_add(&l->names, tok[1], len[1], &at))) break;
            label = named ? (long)at : v;
        }
        int absolute = tok[0][0] == '/';
        size_t plen = (absolute ? 0 : dir_len) + len[0];
        gan__free(path);
        if (!(path = gan__malloc(plen + 1))) {
            rc = gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
            break;
        }
        if (!absolute) memcpy(path, list_path, dir_len);
        memcpy(path + (absolute ? 0 : dir_len), tok[0], len[0]);
        path[plen] = '\0';
        rc = add_entry(l, path, label);
    }
    gan__free(path);
    gan__free(text);
    return rc;
}

/* A list file's class names, numbered in sorted order: each entry's label becomes its
 * name's number, and l->names the sorted unique names. */
static int number_names(listing *l)
{
    const char **sorted = gan__malloc((l->n ? l->n : 1) * sizeof *sorted);
    if (!sorted) return gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
    for (size_t i = 0; i < l->n; i++) sorted[i] = l->names.p + l->e[i].label;
    qsort(sorted, l->n, sizeof *sorted, by_name);
    size_t unique = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!unique || strcmp(sorted[unique - 1], sorted[i])) sorted[unique++] = sorted[i];
    arena names = {0};
    int rc = GAN_OK;
    for (size_t i = 0; i < unique && !rc; i++) rc = arena_add(&names, sorted[i], strlen(sorted[i]), NULL);
    for (size_t i = 0; i < l->n && !rc; i++) {
        const char *name = l->names.p + l->e[i].label;
        size_t lo = 0, hi = unique;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(sorted[mid], name) <= 0) lo = mid;
            else hi = mid;
        }
        l->e[i].label = (long)lo;
    }
    gan__free(sorted);
    if (rc) {
        gan__free(names.p);
        return rc;
    }
    gan__free(l->names.p);
    l->names = names;
    l->classes = unique;
    return GAN_OK;
}

/* ----------------------------------------------------------------- decoding */

/* Remember a skipped file: counted always, named among the first few. */
static int note_skipped(gan_dataset *ds, arena *names, const char *path)
{
    if (ds->skipped++ >= GAN__SKIPPED_NAMES) return GAN_OK;
    return arena_add(names, path, strlen(path), NULL);
}

/* Read and decode every listed file into its row; bad files fail the load or, with
 * GAN_IMAGE_SKIP_BAD, are counted and skipped. */
static int decode_all(gan_dataset *ds, const listing *l, unsigned flags)
{
    arena skipped = {0};
    int rc = GAN_OK;
    size_t row = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        const char *path = l->paths.p + l->e[i].path;
        char *bytes = NULL;
        size_t size = 0;
        rc = slurp(path, &bytes, &size);
        if (!rc) {
            rc = gan__image_decode(ds->owned + row * ds->dim, (const uint8_t *)bytes, size, ds->c, ds->h, ds->w,
                                   flags);
            if (rc) rc = gan__wrap(rc, "%s: '%s'", FN, path);
        }
        gan__free(bytes);
        if (rc && rc != GAN_ENOMEM && (flags & GAN_IMAGE_SKIP_BAD)) {
            rc = note_skipped(ds, &skipped, path);
            continue;
        }
        if (!rc && ds->labels) ds->labels[row] = (int)l->e[i].label;
        row++;
    }
    ds->skipped_names = skipped.p;
    ds->n = row;
    if (!rc && row == 0)
        rc = gan__fail(GAN_EFORMAT, "%s: none of the %zu image files could be loaded (first: '%s')", FN, l->n,
                       ds->skipped_names);
    return rc;
}

int gan_dataset_load_images(gan_dataset **out, const char *path, size_t channels, size_t height, size_t width,
                            unsigned flags)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(path);
    if (channels != 1 && channels != 3)
        return gan__fail(GAN_EINVAL, "%s: channels must be 1 (grey) or 3 (RGB), got %zu", FN, channels);
    if (height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE)
        return gan__fail(GAN_EINVAL, "%s: height and width must be in [1, %d], got %zu x %zu", FN, MAX_SIDE, height,
                         width);
    int rc = gan__image_flags(flags, NULL);
    if (rc) return gan__wrap(rc, "%s", FN);
    struct stat st;
    if (stat(path, &st) != 0) return gan__fail_errno(GAN_EIO, errno, "%s: '%s'", FN, path);
    int labels = (flags & GAN_IMAGE_LABELS) != 0;
    listing l = {0};
    if (S_ISDIR(st.st_mode)) {
        size_t len = strlen(path);
        while (len > 1 && path[len - 1] == '/') len--; /* "dir/" names its files "dir/x.png" */
        char *dir = gan__malloc(len + 1);
        if (!dir) return gan__fail(GAN_ENOMEM, "%s: out of memory", FN);
        memcpy(dir, path, len);
        dir[len] = '\0';
        ancestor top = {st.st_dev, st.st_ino, NULL};
        rc = walk(&l, dir, &top, 0, labels, NO_LABEL);
        gan__free(dir);
        labels = labels && l.n;
    } else {
        rc = read_list(&l, path);
        if (!rc && labels && l.n && l.e[0].label == NO_LABEL)
            rc = gan__fail(GAN_EFORMAT, "%s: '%s' has no labels, and GAN_IMAGE_LABELS asks for them", FN, path);
        labels = l.n && l.e[0].label != NO_LABEL;
        if (!rc && labels && l.named) rc = number_names(&l);
        if (!rc && labels && !l.named) {
            long max = 0;
            for (size_t i = 0; i < l.n; i++) max = l.e[i].label > max ? l.e[i].label : max;
            l.classes = (size_t)max + 1;
        }
    }
    if (!rc && l.n == 0) rc = gan__fail(GAN_EINVAL, "%s: no *.png, *.jpg or *.jpeg files in '%s'", FN, path);
    size_t dim = channels * height * width, total;
    if (!rc && gan__size_mul(l.n, dim, &total))
        rc = gan__fail(GAN_EINVAL, "%s: %zu images of %zu bytes overflow", FN, l.n, dim);
    gan_dataset *ds = NULL;
    if (!rc && !(ds = gan__dataset_new_bytes(l.n, channels, height, width, labels)))
        rc = gan__fail(GAN_ENOMEM, "%s: out of memory for %zu images of %zu x %zu x %zu", FN, l.n, height, width,
                       channels);
    if (!rc) rc = decode_all(ds, &l, flags);
    if (!rc && labels) {
        ds->num_classes = l.classes;
        if (l.names.p && (l.named || S_ISDIR(st.st_mode))) {
            ds->class_names = l.names.p;
            l.names.p = NULL;
        }
    }
    listing_free(&l);
    if (rc) {
        gan_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return GAN_OK;
}
