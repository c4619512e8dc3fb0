/* Data sets of images (gan_dataset_load_images) on real data: Debian's gemojione emoji, 1,794
 * RGBA PNGs of 64 x 64 (docs/data.md), in colour and grey, at 64 and 32, with labels from a
 * list file built from the set's categories and from class folders; bad files; packing to
 * IDX and loading it back mapped; rows as floats and a sampler's range; the memory of
 * Fashion-MNIST as bytes. GAN_EMOJI names the emoji folder (tests/meson.build). */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EMOJI = 1794, CATEGORIES = 10 };

static char tmp_dir[64];

static const char *emoji_dir(void)
{
    const char *d = getenv("GAN_EMOJI");
    return d && *d ? d : "/usr/share/rubygems-integration/all/gems/gemojione-3.3.0";
}

static char *path_in(char *buf, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap) fail_msg("path too long: %s/%s", dir, name);
    return buf;
}


static void write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* The emoji's categories from config/index.json: the name of each PNG ("unicode" field)
 * and its "category", in the file's order. A list file of `assets/png/NAME.png category`
 * lines, and the count per category, sorted by name. */
typedef struct category_count {
    char name[32];
    size_t count;
} category_count;

static size_t write_category_list(const char *list_path, category_count *counts)
{
    char path[512];
    size_t size;
    char *json = (char *)test_read_file(path_in(path, sizeof path, emoji_dir(), "config/index.json"), &size);
    FILE *out = fopen(list_path, "w");
    assert_non_null(out);
    size_t lines = 0, n_counts = 0;
    for (char *p = json; (p = strstr(p, "\"unicode\": \"")) != NULL;) {
        p += strlen("\"unicode\": \"");
        char *end = strchr(p, '"'), *cat = strstr(end, "\"category\": \"");
        assert_non_null(end);
        assert_non_null(cat);
        cat += strlen("\"category\": \"");
        char *cat_end = strchr(cat, '"');
        fprintf(out, "%s/assets/png/%.*s.png %.*s\n", emoji_dir(), (int)(end - p), p, (int)(cat_end - cat), cat);
        size_t k = 0;
        while (k < n_counts && strncmp(counts[k].name, cat, (size_t)(cat_end - cat))) k++;
        if (k == n_counts) {
            assert_true(n_counts < CATEGORIES);
            snprintf(counts[n_counts++].name, sizeof counts[0].name, "%.*s", (int)(cat_end - cat), cat);
        }
        counts[k].count++;
        lines++;
        p = cat_end;
    }
    fclose(out);
    free(json);
    assert_int_equal(n_counts, CATEGORIES);
    for (size_t i = 0; i < n_counts; i++) /* sorted by name, as the loader numbers them */
        for (size_t j = i + 1; j < n_counts; j++)
            if (strcmp(counts[j].name, counts[i].name) < 0) {
                category_count t = counts[i];
                counts[i] = counts[j];
                counts[j] = t;
            }
    return lines;
}

static int make_tmp_dir(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/gan-test-images-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Row i of a set against the file decoded on its own, bit for bit. */
static void assert_row_is_file(const gan_dataset *ds, size_t i, const char *file, size_t c, size_t h, size_t w,
                               unsigned flags)
{
    size_t size, dim = c * h * w;
    void *bytes = test_read_file(file, &size);
    uint8_t *want = xcalloc(dim, 1);
    float *got = xcalloc(dim, sizeof *got);
    assert_int_equal(gan_image_decode_mem(want, bytes, size, c, h, w, flags), GAN_OK);
    assert_int_equal(gan_dataset_get_rows(ds, i, 1, got), GAN_OK);
    for (size_t k = 0; k < dim; k++) assert_true(got[k] == (float)want[k] / 255.0f);
    free(bytes);
    free(want);
    free(got);
}

/* The whole folder in colour at 64 and in grey at 32: sorted order, no labels. */
static void emoji_folder(void **state)
{
    (void)state;
    char dir[512], file[512];
    path_in(dir, sizeof dir, emoji_dir(), "assets/png");
    const size_t shapes[2][2] = {{3, 64}, {1, 32}};
    for (int s = 0; s < 2; s++) {
        size_t c = shapes[s][0], side = shapes[s][1];
        gan_dataset *ds;
        assert_int_equal(gan_dataset_load_images(&ds, dir, c, side, side, 0), GAN_OK);
        assert_int_equal(gan_dataset_size(ds), EMOJI);
        assert_int_equal(gan_dataset_dim(ds), c * side * side);
        size_t sc, sh, sw;
        assert_int_equal(gan_dataset_shape(ds, &sc, &sh, &sw), GAN_OK);
        assert_true(sc == c && sh == side && sw == side);
        assert_int_equal(gan_dataset_num_classes(ds), 0);
        assert_int_equal(gan_dataset_label(ds, 0), -1);
        assert_null(gan_dataset_class_name(ds, 0));
        assert_int_equal(gan_dataset_num_skipped(ds), 0);
        /* byte order of the names: 0023-20E3.png first, 3299.png last */
        assert_row_is_file(ds, 0, path_in(file, sizeof file, dir, "0023-20E3.png"), c, side, side, 0);
        assert_row_is_file(ds, EMOJI - 1, path_in(file, sizeof file, dir, "3299.png"), c, side, side, 0);
        gan_dataset_free(ds);
    }
}

/* Labels from a list file of category names: classes numbered in sorted order, with
 * their names and counts; absolute paths; a comment and a blank line. */
static void emoji_categories_from_a_list(void **state)
{
    (void)state;
    char list[128];
    category_count counts[CATEGORIES] = {{{0}, 0}};
    snprintf(list, sizeof list, "%s/emoji.txt", tmp_dir);
    size_t lines = write_category_list(list, counts);
    assert_int_equal(lines, EMOJI);
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_images(&ds, list, 3, 32, 32, GAN_IMAGE_LABELS | GAN_IMAGE_BLACK), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), EMOJI);
    assert_int_equal(gan_dataset_num_classes(ds), CATEGORIES);
    size_t seen[CATEGORIES] = {0};
    for (size_t i = 0; i < EMOJI; i++) {
        int label = gan_dataset_label(ds, i);
        assert_true(label >= 0 && label < CATEGORIES);
        seen[label]++;
    }
    for (size_t k = 0; k < CATEGORIES; k++) {
        assert_string_equal(gan_dataset_class_name(ds, k), counts[k].name);
        assert_int_equal(seen[k], counts[k].count);
    }
    assert_null(gan_dataset_class_name(ds, CATEGORIES));
    /* the first line of index.json is the "100" emoji, a symbol */
    assert_string_equal(gan_dataset_class_name(ds, (size_t)gan_dataset_label(ds, 0)), "symbols");
    gan_dataset_free(ds);
}

/* A small tree made of emoji files: class folders (nested files count for their class),
 * a hidden file and a text file ignored, an empty class folder not counted. */
static void make_tree(const char *root, const char *const *files, size_t n)
{
    char src[512], dst[512];
    for (size_t i = 0; i < n; i++) {
        size_t size;
        void *bytes = test_read_file(path_in(src, sizeof src, emoji_dir(), "assets/png/1F600.png"), &size);
        path_in(dst, sizeof dst, root, files[i]);
        for (char *p = dst + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
            *p = '\0';
            mkdir(dst, 0777);
            *p = '/';
        }
        write_all(dst, bytes, size);
        free(bytes);
    }
}

static void class_folders(void **state)
{
    (void)state;
    char root[128], path[256];
    snprintf(root, sizeof root, "%s/tree", tmp_dir);
    mkdir(root, 0777);
    static const char *const files[] = {"b/x.png", "a/2.PNG", "a/deep/er/1.png", "b/.hidden.png", "b/notes.txt",
                                        "c/readme.txt"};
    make_tree(root, files, 6);
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_images(&ds, root, 3, 8, 8, GAN_IMAGE_LABELS), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 3);
    assert_int_equal(gan_dataset_num_classes(ds), 2); /* c holds no image */
    assert_string_equal(gan_dataset_class_name(ds, 0), "a");
    assert_string_equal(gan_dataset_class_name(ds, 1), "b");
    int want[3] = {0, 0, 1}; /* a/2.PNG, a/deep/er/1.png, b/x.png */
    for (size_t i = 0; i < 3; i++) assert_int_equal(gan_dataset_label(ds, i), want[i]);
    gan_dataset_free(ds);
    /* without the flag any layout loads, with no labels */
    assert_int_equal(gan_dataset_load_images(&ds, root, 1, 8, 8, 0), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 3);
    assert_int_equal(gan_dataset_num_classes(ds), 0);
    gan_dataset_free(ds);
    /* a flat folder loads without labels; with them, its image has no class */
    static const char *const flat[] = {"flat/one.png"};
    make_tree(root, flat, 1);
    assert_int_equal(gan_dataset_load_images(&ds, path_in(path, sizeof path, root, "flat"), 3, 8, 8, 0), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 1);
    gan_dataset_free(ds);
    assert_error(gan_dataset_load_images(&ds, path, 3, 8, 8, GAN_IMAGE_LABELS), GAN_EINVAL, "is not in a class folder");
    assert_null(ds);
    /* symbolic links back up the tree (two of them: a loop that doubles at each level)
     * are not followed; a link to a file is */
    char target[256];
    snprintf(path, sizeof path, "%s/a/deep/up", root);
    assert_int_equal(symlink("../..", path), 0);
    snprintf(path, sizeof path, "%s/a/deep/top", root);
    assert_int_equal(symlink(root, path), 0);
    snprintf(target, sizeof target, "%s/b/x.png", root);
    snprintf(path, sizeof path, "%s/b/y.png", root);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(gan_dataset_load_images(&ds, root, 3, 8, 8, GAN_IMAGE_LABELS), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 5); /* a: 2, b: 2 (y.png the link), flat: 1 */
    assert_int_equal(gan_dataset_num_classes(ds), 3);
    gan_dataset_free(ds);
    /* a numeric list, relative to the list's folder */
    snprintf(path, sizeof path, "%s/list.txt", root);
    const char text[] = "# numbers\nb/x.png 4\n\na/2.PNG 1\n";
    write_all(path, text, sizeof text - 1);
    assert_int_equal(gan_dataset_load_images(&ds, path, 3, 8, 8, 0), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 2);
    assert_int_equal(gan_dataset_num_classes(ds), 5);
    assert_int_equal(gan_dataset_label(ds, 0), 4);
    assert_null(gan_dataset_class_name(ds, 0));
    gan_dataset_free(ds);
}

/* A bad file fails the load naming it, or is skipped and reported; bad lists and
 * arguments are refused with messages. */
static void bad_files_and_lists(void **state)
{
    (void)state;
    char root[128], path[256];
    snprintf(root, sizeof root, "%s/bad", tmp_dir);
    mkdir(root, 0777);
    static const char *const files[] = {"a.png", "c.png"};
    make_tree(root, files, 2);
    write_all(path_in(path, sizeof path, root, "b.png"), "not a png at all", 16);
    gan_dataset *ds;
    assert_error(gan_dataset_load_images(&ds, root, 3, 16, 16, 0), GAN_EFORMAT, "bad/b.png'");
    assert_null(ds);
    assert_int_equal(gan_dataset_load_images(&ds, root, 3, 16, 16, GAN_IMAGE_SKIP_BAD), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), 2);
    assert_int_equal(gan_dataset_num_skipped(ds), 1);
    assert_non_null(strstr(gan_dataset_skipped_name(ds, 0), "bad/b.png"));
    assert_null(gan_dataset_skipped_name(ds, 1));
    gan_dataset_free(ds);

    const char *lists[] = {"a.png 1\nc.png\n", "a.png 1\nc.png x\n", "a.png 1 2\n", "missing.png\n", "# nothing\n"};
    const char *needles[] = {"every line has a label or none", "all numbers or all names", "expected `path [label]`",
                             "missing.png", "no *.png"};
    const int codes[] = {GAN_EFORMAT, GAN_EFORMAT, GAN_EFORMAT, GAN_EIO, GAN_EINVAL};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/list%d.txt", root, i);
        write_all(path, lists[i], strlen(lists[i]));
        assert_error(gan_dataset_load_images(&ds, path, 1, 4, 4, 0), codes[i], needles[i]);
        assert_null(ds);
    }
    snprintf(path, sizeof path, "%s/list3.txt", root);
    write_all(path, "a.png\n", 6);
    assert_error(gan_dataset_load_images(&ds, path, 1, 4, 4, GAN_IMAGE_LABELS), GAN_EFORMAT, "has no labels");
    assert_error(gan_dataset_load_images(NULL, root, 1, 4, 4, 0), GAN_EINVAL, "'out' is NULL");
    assert_error(gan_dataset_load_images(&ds, NULL, 1, 4, 4, 0), GAN_EINVAL, "'path' is NULL");
    assert_error(gan_dataset_load_images(&ds, root, 2, 4, 4, 0), GAN_EINVAL, "channels must be 1");
    assert_error(gan_dataset_load_images(&ds, root, 1, 0, 4, 0), GAN_EINVAL, "height and width");
    assert_error(gan_dataset_load_images(&ds, root, 1, 4, 70000, 0), GAN_EINVAL, "height and width");
    assert_error(gan_dataset_load_images(&ds, root, 1, 4, 4, 1u << 20), GAN_EINVAL, "gan_dataset_load_images");
    assert_error(gan_dataset_load_images(&ds, "/nonexistent/x", 1, 4, 4, 0), GAN_EIO, "/nonexistent/x");
}

/* Packed to IDX and loaded back (mapped): the same bytes, shape and labels; a float set
 * does not pack; rows in a sampler's range. */
static void packed_to_idx(void **state)
{
    (void)state;
    char list[128], images[128], labels[128];
    category_count counts[CATEGORIES] = {{{0}, 0}};
    snprintf(list, sizeof list, "%s/emoji2.txt", tmp_dir);
    write_category_list(list, counts);
    gan_dataset *ds, *back;
    snprintf(images, sizeof images, "%s/emoji-images.idx", tmp_dir);
    snprintf(labels, sizeof labels, "%s/emoji-labels.idx", tmp_dir);
    assert_int_equal(gan_dataset_load_images(&ds, list, 3, 16, 24, 0), GAN_OK); /* the list's labels */
    assert_int_equal(gan_dataset_save_idx(ds, images, labels), GAN_OK);
    assert_int_equal(gan_dataset_load_idx(&back, images, labels), GAN_OK);
    size_t n = gan_dataset_size(ds), dim = gan_dataset_dim(ds), c, h, w;
    assert_int_equal(gan_dataset_size(back), n);
    assert_int_equal(gan_dataset_dim(back), dim);
    assert_int_equal(gan_dataset_shape(back, &c, &h, &w), GAN_OK);
    assert_true(c == 3 && h == 16 && w == 24);
    float *a = xcalloc(n * dim, sizeof *a), *b = xcalloc(n * dim, sizeof *b);
    assert_int_equal(gan_dataset_get_rows(ds, 0, n, a), GAN_OK);
    assert_int_equal(gan_dataset_get_rows(back, 0, n, b), GAN_OK);
    assert_memory_equal(a, b, n * dim * sizeof *a);
    for (size_t i = 0; i < n; i++) assert_int_equal(gan_dataset_label(back, i), gan_dataset_label(ds, i));
    assert_memory_equal(gan_dataset_row(back, 7), a + 7 * dim, dim * sizeof *a); /* the 0.1 contract */
    assert_error(gan_dataset_get_rows(ds, n - 1, 2, a), GAN_EINVAL, "rows [");

    /* a sampler in [-1, 1] gives 2 v - 1 */
    gan_sampler *s;
    gan_rng *r1 = new_rng(7), *r2 = new_rng(7);
    assert_int_equal(gan_sampler_create(&s, back, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_dataset_sampler(s, r1, b, NULL, 5), GAN_OK);
    gan_sampler_free(s);
    assert_int_equal(gan_sampler_create(&s, back, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_sampler_set_range(s, -1.0f, 1.0f), GAN_OK);
    assert_int_equal(gan_dataset_sampler(s, r2, a, NULL, 5), GAN_OK);
    for (size_t k = 0; k < 5 * dim; k++) assert_true(a[k] == -1.0f + 2.0f * b[k]);
    assert_error(gan_sampler_set_range(s, 1.0f, 1.0f), GAN_EINVAL, "lo < hi");
    assert_error(gan_sampler_set_range(s, 0.0f, INFINITY), GAN_EINVAL, "finite");
    gan_sampler_free(s);
    gan_rng_free(r1);
    gan_rng_free(r2);

    float one = 0.5f;
    gan_dataset *floats;
    assert_int_equal(gan_dataset_create_from_floats(&floats, &one, 1, 1, NULL, 0), GAN_OK);
    assert_error(gan_dataset_save_idx(floats, images, NULL), GAN_EINVAL, "holds floats");
    assert_int_equal(gan_dataset_save_idx(back, images, NULL), GAN_OK); /* over the mapped file itself */
    gan_dataset *unlabelled;
    assert_int_equal(gan_dataset_load_idx(&unlabelled, images, NULL), GAN_OK);
    assert_error(gan_dataset_save_idx(unlabelled, images, labels), GAN_EINVAL, "a labels path for a set without labels");
    gan_dataset_free(unlabelled);
    assert_error(gan_dataset_save_idx(ds, "/nonexistent/dir/x.idx", NULL), GAN_EIO, "cannot create a temporary file");
    gan_dataset_free(floats);
    free(a);
    free(b);
    gan_dataset_free(back);
    gan_dataset_free(ds);
}

/* NULL and out-of-range arguments of the accessors; every allocation of a load failing in
 * turn: GAN_ENOMEM, nothing leaked; a byte set's first gan_dataset_row without memory. */
static void arguments_and_allocation_failures(void **state)
{
    (void)state;
    char root[128];
    snprintf(root, sizeof root, "%s/alloc", tmp_dir);
    mkdir(root, 0777);
    static const char *const files[] = {"x/a.png", "y/b.png"};
    make_tree(root, files, 2);
    float f;
    size_t c = 9;
    assert_error(gan_dataset_get_rows(NULL, 0, 1, &f), GAN_EINVAL, "'ds' is NULL");
    assert_error(gan_dataset_shape(NULL, &c, NULL, NULL), GAN_EINVAL, "'ds' is NULL");
    assert_null(gan_dataset_class_name(NULL, 0));
    assert_int_equal(gan_dataset_num_skipped(NULL), 0);
    assert_null(gan_dataset_skipped_name(NULL, 0));
    assert_error(gan_sampler_set_range(NULL, 0.0f, 1.0f), GAN_EINVAL, "'s' is NULL");
    assert_error(gan_dataset_save_idx(NULL, "x", NULL), GAN_EINVAL, "'ds' is NULL");
    size_t n;
    for (n = 1;; n++) {
        test_alloc_install();
        test_alloc.fail_at = n;
        gan_dataset *ds = NULL;
        int rc = gan_dataset_load_images(&ds, root, 1, 8, 8, GAN_IMAGE_LABELS);
        if (rc == GAN_OK) {
            assert_int_equal(gan_dataset_size(ds), 2);
            assert_error(gan_dataset_get_rows(ds, 0, 1, NULL), GAN_EINVAL, "'dst' is NULL");
            test_alloc.fail_at = test_alloc.allocs + 1; /* the floats of gan_dataset_row */
            assert_null(gan_dataset_row(ds, 0));
            assert_non_null(strstr(gan_error_last(), "out of memory"));
            assert_non_null(gan_dataset_row(ds, 1));
            gan_dataset_free(ds);
            assert_int_equal(test_alloc_live(), 0);
            break;
        }
        assert_error(rc, GAN_ENOMEM, "out of memory");
        assert_null(ds);
        assert_int_equal(test_alloc_live(), 0);
    }
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
    assert_true(n > 5);
}

/* Resident memory, in bytes. */
static size_t resident(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &rss), 2);
    fclose(f);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* Fashion-MNIST's 60,000 training images as bytes: what loading adds to the resident
 * memory is at most a third of what their floats took before 0.3 (188 MB). */
static void fashion_mnist_as_bytes(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* AddressSanitizer keeps freed memory resident (its quarantine) */
#endif
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) skip(); /* valgrind's allocator: the same */
    const char *path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
    if (access(path, R_OK) != 0) skip();
    size_t before = resident();
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx(&ds, path, NULL), GAN_OK);
    size_t grown = resident() - before, floats = gan_dataset_size(ds) * gan_dataset_dim(ds) * sizeof(float);
    print_message("Fashion-MNIST: %zu rows; resident memory +%.1f MB (their floats: %.1f MB)\n", gan_dataset_size(ds),
                  grown / 1e6, floats / 1e6);
    gan_dataset_free(ds);
    assert_true(grown * 3 <= floats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fashion_mnist_as_bytes), /* first: the others' memory is not yet resident */
        cmocka_unit_test(emoji_folder),
        cmocka_unit_test(emoji_categories_from_a_list),
        cmocka_unit_test(class_folders),
        cmocka_unit_test(bad_files_and_lists),
        cmocka_unit_test(packed_to_idx),
        cmocka_unit_test(arguments_and_allocation_failures),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
