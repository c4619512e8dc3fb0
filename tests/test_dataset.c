/* Data sets: the IDX reader (raw, gzip, file, memory, every malformed input), splits and samplers. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ helpers */

/* The counting allocator of test_util.h, also recording the largest request. */
static size_t max_alloc;

static void *track_malloc(void *ctx, size_t size)
{
    if (size > max_alloc) max_alloc = size;
    return test_malloc_fn(ctx, size);
}

static void track_install(void)
{
    test_alloc_install();
    max_alloc = 0;
    gan_allocator a = {track_malloc, test_free_fn, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
}

static void track_done(void)
{
    assert_int_equal(test_alloc_live(), 0);
    assert_int_equal(gan_set_allocator(NULL), GAN_OK);
}

/* A byte buffer owned by the test (plain malloc). */
typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void bytes_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* An IDX file: 00 00 type ndims, big-endian dims, then the data. */
static bytes make_idx(uint8_t type, unsigned ndims, const uint32_t *dims, const uint8_t *data, size_t ndata)
{
    bytes b = {malloc(4 + 4 * ndims + ndata + 1), 4 + 4 * ndims + ndata};
    assert_non_null(b.p);
    uint8_t *p = b.p;
    *p++ = 0;
    *p++ = 0;
    *p++ = type;
    *p++ = (uint8_t)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        *p++ = (uint8_t)(dims[i] >> 24);
        *p++ = (uint8_t)(dims[i] >> 16);
        *p++ = (uint8_t)(dims[i] >> 8);
        *p++ = (uint8_t)dims[i];
    }
    if (ndata) memcpy(p, data, ndata);
    return b;
}

/* The small valid set: 3 images of 2 x 3 pixels, labels 2 0 1. */
static const uint8_t PIXELS[18] = {0, 255, 128, 1, 2, 3, 10, 20, 30, 40, 50, 60, 254, 253, 252, 127, 64, 32};
static const uint8_t LABELS[3] = {2, 0, 1};

static bytes small_images(void)
{
    uint32_t dims[3] = {3, 2, 3};
    return make_idx(0x08, 3, dims, PIXELS, sizeof PIXELS);
}

static bytes small_labels(void)
{
    uint32_t dims[1] = {3};
    return make_idx(0x08, 1, dims, LABELS, sizeof LABELS);
}

/* Gzip in memory (deflate with the gzip wrapper). */
static bytes gzip_mem(const uint8_t *src, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    bytes b = {malloc(deflateBound(&zs, (uLong)n) + 32), 0};
    assert_non_null(b.p);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = b.p;
    zs.avail_out = (uInt)(deflateBound(&zs, (uLong)n) + 32);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    b.n = zs.total_out;
    deflateEnd(&zs);
    return b;
}

static bytes concat(bytes a, bytes b)
{
    bytes c = {malloc(a.n + b.n + 1), a.n + b.n};
    assert_non_null(c.p);
    memcpy(c.p, a.p, a.n);
    memcpy(c.p + a.n, b.p, b.n);
    return c;
}

/* Temporary directory for the files the tests write. */
static char tmp_dir[64];
static char path_buf[4][256];

static const char *tmp_path(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", tmp_dir, name);
    return path_buf[slot];
}

static const char *write_file(int slot, const char *name, const void *p, size_t n)
{
    const char *path = tmp_path(slot, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Write with zlib's gz* file API, as gzip(1) would. */
static const char *write_gz_file(int slot, const char *name, const void *p, size_t n)
{
    const char *path = tmp_path(slot, name);
    gzFile f = gzopen(path, "wb9");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, p, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
    return path;
}

static bytes read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    bytes b = {malloc(1 << 16), 0};
    assert_non_null(b.p);
    b.n = fread(b.p, 1, 1 << 16, f);
    assert_true(b.n < (1 << 16));
    fclose(f);
    return b;
}

static int make_tmp_dir(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/gan-test-dataset-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmp_dir);
    if (!d) return -1;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        if (unlink(path) != 0) rmdir(path);
    }
    closedir(d);
    return rmdir(tmp_dir);
}

static void check_small(const gan_dataset *ds, int labelled)
{
    assert_int_equal(gan_dataset_size(ds), 3);
    assert_int_equal(gan_dataset_dim(ds), 6);
    for (size_t i = 0; i < 3; i++) {
        const float *row = gan_dataset_row(ds, i);
        assert_non_null(row);
        for (size_t j = 0; j < 6; j++) assert_true(row[j] == (float)PIXELS[i * 6 + j] / 255.0f);
        assert_int_equal(gan_dataset_label(ds, i), labelled ? LABELS[i] : -1);
    }
    assert_null(gan_dataset_row(ds, 3));
    assert_int_equal(gan_dataset_label(ds, 3), -1);
    assert_int_equal(gan_dataset_num_classes(ds), labelled ? 3 : 0);
}

/* ---------------------------------------------------------------- loading */

static void round_trip_raw(void **state)
{
    (void)state;
    bytes img = small_images(), lbl = small_labels();
    const char *pi = write_file(0, "img.idx", img.p, img.n), *pl = write_file(1, "lbl.idx", lbl.p, lbl.n);
    track_install();
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx(&ds, pi, pl), GAN_OK);
    check_small(ds, 1);
    assert_true(gan_dataset_row(ds, 0)[0] == 0.0f && gan_dataset_row(ds, 0)[1] == 1.0f);
    gan_dataset_free(ds);
    assert_int_equal(gan_dataset_load_idx(&ds, pi, NULL), GAN_OK);
    check_small(ds, 0);
    gan_dataset_free(ds);
    assert_int_equal(gan_dataset_load_idx_mem(&ds, img.p, img.n, lbl.p, lbl.n), GAN_OK);
    check_small(ds, 1);
    gan_dataset_free(ds);
    assert_int_equal(gan_dataset_load_idx_mem(&ds, img.p, img.n, NULL, 0), GAN_OK);
    check_small(ds, 0);
    gan_dataset_free(ds);
    track_done();
    bytes_free(&img);
    bytes_free(&lbl);
}

static void every_byte_value_scales(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    uint32_t dims[2] = {1, 256};
    bytes img = make_idx(0x08, 2, dims, all, sizeof all);
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx_mem(&ds, img.p, img.n, NULL, 0), GAN_OK);
    const float *row = gan_dataset_row(ds, 0);
    for (int i = 0; i < 256; i++) {
        assert_true(row[i] == (float)i / 255.0f);
        assert_true(row[i] >= 0.0f && row[i] <= 1.0f);
    }
    gan_dataset_free(ds);
    bytes_free(&img);
}

static void gzip_equals_raw(void **state)
{
    (void)state;
    bytes img = small_images(), lbl = small_labels();
    const char *pi = write_gz_file(0, "img.idx.gz", img.p, img.n);
    const char *pl = write_gz_file(1, "lbl.idx.gz", lbl.p, lbl.n);
    const char *pr = write_file(2, "lbl.idx", lbl.p, lbl.n);
    track_install();
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx(&ds, pi, pl), GAN_OK);
    check_small(ds, 1);
    gan_dataset_free(ds);
    assert_int_equal(gan_dataset_load_idx(&ds, pi, pr), GAN_OK); /* gzip and raw mixed */
    check_small(ds, 1);
    gan_dataset_free(ds);
    bytes gi = read_whole(pi), gl = read_whole(pl);
    assert_true(gi.p[0] == 0x1f && gi.p[1] == 0x8b);
    assert_int_equal(gan_dataset_load_idx_mem(&ds, gi.p, gi.n, gl.p, gl.n), GAN_OK);
    check_small(ds, 1);
    gan_dataset_free(ds);
    track_done();
    bytes_free(&gi);
    bytes_free(&gl);
    bytes_free(&img);
    bytes_free(&lbl);
}

/* RFC 1952: a gzip file may be several members; `cat a.gz b.gz` is valid. */
static void gzip_members_concatenated(void **state)
{
    (void)state;
    bytes img = small_images();
    bytes a = gzip_mem(img.p, 10), b = gzip_mem(img.p + 10, img.n - 10), ab = concat(a, b);
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx_mem(&ds, ab.p, ab.n, NULL, 0), GAN_OK);
    check_small(ds, 0);
    gan_dataset_free(ds);
    bytes_free(&img);
    bytes_free(&a);
    bytes_free(&b);
    bytes_free(&ab);
}

static void missing_files_are_eio(void **state)
{
    (void)state;
    bytes img = small_images();
    const char *pi = write_file(0, "img.idx", img.p, img.n);
    const char *missing = tmp_path(1, "no-such-file.idx");
    track_install();
    gan_dataset *ds = (gan_dataset *)1;
    assert_error(gan_dataset_load_idx(&ds, missing, NULL), GAN_EIO, "no-such-file.idx");
    assert_null(ds);
    assert_error(gan_dataset_load_idx(&ds, pi, missing), GAN_EIO, "no-such-file.idx");
    assert_null(ds);
    assert_error(gan_dataset_load_idx(&ds, tmp_dir, NULL), GAN_EIO, tmp_dir); /* a directory */
    track_done();
    bytes_free(&img);
}

static void null_arguments(void **state)
{
    (void)state;
    gan_dataset *ds;
    uint8_t b[4] = {0};
    assert_error(gan_dataset_load_idx(NULL, "x", NULL), GAN_EINVAL, "out");
    assert_error(gan_dataset_load_idx(&ds, NULL, NULL), GAN_EINVAL, "images_path");
    assert_error(gan_dataset_load_idx_mem(NULL, b, 4, NULL, 0), GAN_EINVAL, "out");
    assert_error(gan_dataset_load_idx_mem(&ds, NULL, 4, NULL, 0), GAN_EINVAL, "images");
    assert_int_equal(gan_dataset_size(NULL), 0);
    assert_int_equal(gan_dataset_dim(NULL), 0);
    assert_int_equal(gan_dataset_num_classes(NULL), 0);
    assert_null(gan_dataset_row(NULL, 0));
    assert_int_equal(gan_dataset_label(NULL, 0), -1);
    gan_dataset_free(NULL);
    gan_sampler_free(NULL);
    assert_int_equal(gan_sampler_epoch(NULL), 0);
}

/* A malformed file must fail as GAN_EFORMAT naming the source and the problem, from memory
 * and from a file, as images and as labels, without leaking. */
static void expect_bad(const bytes *bad, int as_labels, const char *needle)
{
    bytes img = small_images(), lbl = small_labels();
    const bytes *ib = as_labels ? &img : bad, *lb = as_labels ? bad : &lbl;
    const char *pi = write_file(0, "img.idx", ib->p, ib->n), *pl = write_file(1, "lbl.idx", lb->p, lb->n);
    track_install();
    gan_dataset *ds = (gan_dataset *)1;
    assert_error(gan_dataset_load_idx_mem(&ds, ib->p, ib->n, lb->p, lb->n), GAN_EFORMAT, needle);
    assert_non_null(strstr(gan_error_last(), as_labels ? "labels" : "images"));
    assert_non_null(strstr(gan_error_last(), "gan_dataset_load_idx_mem"));
    assert_null(ds);
    assert_error(gan_dataset_load_idx(&ds, pi, pl), GAN_EFORMAT, needle);
    assert_non_null(strstr(gan_error_last(), as_labels ? pl : pi));
    assert_null(ds);
    track_done();
    bytes_free(&img);
    bytes_free(&lbl);
}

static void bad_headers(void **state)
{
    (void)state;
    uint32_t d3[3] = {3, 2, 3}, d1[1] = {3};
    static const uint8_t zeros[64];
    struct { uint8_t type; unsigned ndims; const uint32_t *dims; int labels; const char *needle; } cases[] = {
        {0x09, 3, d3, 0, "element type 0x09"},   /* signed byte */
        {0x0D, 3, d3, 0, "element type 0x0d"},   /* float */
        {0x08, 1, d3, 0, "1 dimensions"},        /* a label file given as images */
        {0x08, 3, d3, 1, "3 dimensions"},        /* an image file given as labels */
        {0x09, 1, d1, 1, "element type 0x09"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t nd = cases[i].labels ? 3 : 18;
        bytes b = make_idx(cases[i].type, cases[i].ndims, cases[i].dims, cases[i].labels ? LABELS : PIXELS, nd);
        expect_bad(&b, cases[i].labels, cases[i].needle);
        bytes_free(&b);
    }
    bytes b = make_idx(0x08, 0, NULL, zeros, 0); /* ndims 0 */
    expect_bad(&b, 0, "0 dimensions");
    expect_bad(&b, 1, "0 dimensions");
    b.p[3] = 9; /* ndims 9: too many for an image */
    expect_bad(&b, 0, "9 dimensions");
    b.p[3] = 255;
    expect_bad(&b, 0, "255 dimensions");
    b.p[0] = 1; /* wrong magic */
    expect_bad(&b, 0, "not an IDX file");
    b.p[0] = 0;
    b.p[1] = 8;
    expect_bad(&b, 1, "not an IDX file");
    bytes_free(&b);
}

static void bad_dimensions(void **state)
{
    (void)state;
    uint32_t zero_n[3] = {0, 2, 3}, zero_w[3] = {3, 2, 0}, zero_l[1] = {0};
    bytes b = make_idx(0x08, 3, zero_n, NULL, 0);
    expect_bad(&b, 0, "dimension 0 is zero");
    bytes_free(&b);
    b = make_idx(0x08, 3, zero_w, NULL, 0);
    expect_bad(&b, 0, "dimension 2 is zero");
    bytes_free(&b);
    b = make_idx(0x08, 1, zero_l, NULL, 0);
    expect_bad(&b, 1, "dimension 0 is zero");
    bytes_free(&b);
    /* Eight dimensions of 2^32 - 1: the product overflows any size_t. */
    uint32_t huge[8] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
                        0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    b = make_idx(0x08, 8, huge, NULL, 0);
    expect_bad(&b, 0, "overflows");
    bytes_free(&b);
    /* n * dim * sizeof(float) overflows although n * dim does not (on 64-bit). */
    uint32_t wide[2] = {0xffffffffu, 0x7fffffffu};
    b = make_idx(0x08, 2, wide, NULL, 0);
    expect_bad(&b, 0, "overflow");
    bytes_free(&b);
    /* A row wider than INT_MAX is refused (nets take int widths). */
    uint32_t too_wide[3] = {1, 65536, 65536};
    b = make_idx(0x08, 3, too_wide, NULL, 0);
    expect_bad(&b, 0, "INT_MAX");
    bytes_free(&b);
}

/* A header announcing 60000 x 28 x 28 bytes over a 116-byte file fails before allocating. */
static void lying_header_fails_fast(void **state)
{
    (void)state;
    uint32_t dims[3] = {60000, 28, 28};
    bytes b = make_idx(0x08, 3, dims, PIXELS, sizeof PIXELS);
    const char *p = write_file(0, "liar.idx", b.p, b.n);
    track_install();
    gan_dataset *ds;
    assert_error(gan_dataset_load_idx_mem(&ds, b.p, b.n, NULL, 0), GAN_EFORMAT, "truncated");
    assert_true(max_alloc <= 2 * b.n);
    max_alloc = 0;
    assert_error(gan_dataset_load_idx(&ds, p, NULL), GAN_EFORMAT, "truncated");
    assert_true(max_alloc <= 2 * b.n);
    /* Gzipped, the length is unknown until inflated: buffers grow with the real data only. */
    bytes z = gzip_mem(b.p, b.n);
    max_alloc = 0;
    assert_error(gan_dataset_load_idx_mem(&ds, z.p, z.n, NULL, 0), GAN_EFORMAT, "truncated");
    assert_true(max_alloc <= 64 * 1024); /* zlib's 32 KiB window is the largest */
    track_done();
    bytes_free(&z);
    bytes_free(&b);
}

static void trailing_bytes_refused(void **state)
{
    (void)state;
    bytes img = small_images();
    bytes longer = {malloc(img.n + 1), img.n + 1};
    memcpy(longer.p, img.p, img.n);
    longer.p[img.n] = 0;
    expect_bad(&longer, 0, "trailing");
    bytes lbl = small_labels(), lbl_long = concat(lbl, lbl);
    expect_bad(&lbl_long, 1, "trailing");
    /* Inside the gzip stream, and after it. */
    bytes z = gzip_mem(longer.p, longer.n), zi = gzip_mem(img.p, img.n), junk = concat(zi, lbl);
    gan_dataset *ds;
    assert_error(gan_dataset_load_idx_mem(&ds, z.p, z.n, NULL, 0), GAN_EFORMAT, "trailing");
    assert_error(gan_dataset_load_idx_mem(&ds, junk.p, junk.n, NULL, 0), GAN_EFORMAT, "gzip");
    bytes_free(&z);
    bytes_free(&zi);
    bytes_free(&junk);
    bytes_free(&longer);
    bytes_free(&img);
    bytes_free(&lbl);
    bytes_free(&lbl_long);
}

static void label_count_mismatch(void **state)
{
    (void)state;
    uint32_t d2[1] = {2};
    bytes two = make_idx(0x08, 1, d2, LABELS, 2);
    expect_bad(&two, 1, "2 labels");
    assert_non_null(strstr(gan_error_last(), "3 images"));
    bytes_free(&two);
}

static void corrupt_gzip(void **state)
{
    (void)state;
    bytes img = small_images(), z = gzip_mem(img.p, img.n);
    z.p[z.n - 6] ^= 0x55; /* the CRC-32 */
    gan_dataset *ds;
    track_install();
    assert_error(gan_dataset_load_idx_mem(&ds, z.p, z.n, NULL, 0), GAN_EFORMAT, "gzip");
    z.p[z.n - 6] ^= 0x55;
    z.p[12] ^= 0xff; /* the deflate data */
    assert_int_equal(gan_dataset_load_idx_mem(&ds, z.p, z.n, NULL, 0), GAN_EFORMAT);
    track_done();
    bytes_free(&z);
    bytes_free(&img);
}

/* Cut a valid input at every offset: always a clean error, never a leak. */
static void truncate_sweep(const bytes *img, const bytes *lbl, int cut_labels, int use_files)
{
    const bytes *whole = cut_labels ? lbl : img;
    for (size_t len = 0; len < whole->n; len++) {
        bytes cut = {whole->p, len};
        const bytes *ib = cut_labels ? img : &cut, *lb = cut_labels ? &cut : lbl;
        track_install();
        gan_dataset *ds = NULL;
        int rc;
        if (use_files) {
            const char *pi = write_file(0, "cut-img", ib->p, ib->n), *pl = write_file(1, "cut-lbl", lb->p, lb->n);
            rc = gan_dataset_load_idx(&ds, pi, pl);
        } else {
            rc = gan_dataset_load_idx_mem(&ds, ib->p, ib->n, lb->p, lb->n);
        }
        if (rc != GAN_EFORMAT) fail_msg("cut at %zu of %zu: got %d (%s)", len, whole->n, rc, gan_error_last());
        assert_null(ds);
        track_done();
    }
}

static void truncated_everywhere(void **state)
{
    (void)state;
    bytes img = small_images(), lbl = small_labels();
    bytes zi = gzip_mem(img.p, img.n), zl = gzip_mem(lbl.p, lbl.n);
    for (int files = 0; files < 2; files++) {
        truncate_sweep(&img, &lbl, 0, files);
        truncate_sweep(&img, &lbl, 1, files);
        truncate_sweep(&zi, &zl, 0, files);
        truncate_sweep(&zi, &zl, 1, files);
    }
    bytes_free(&zi);
    bytes_free(&zl);
    bytes_free(&img);
    bytes_free(&lbl);
}

/* A tiny gzip stream of 64 MiB of zeros behind a header announcing 1000 bytes. */
static bytes gzip_bomb(void)
{
    uint32_t dims[3] = {10, 10, 10};
    bytes head = make_idx(0x08, 3, dims, NULL, 0);
    static const uint8_t zeros[1 << 16];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    bytes b = {malloc(1 << 20), 0};
    assert_non_null(b.p);
    zs.next_out = b.p;
    zs.avail_out = 1 << 20;
    zs.next_in = head.p;
    zs.avail_in = (uInt)head.n;
    assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
    for (int i = 0; i < 1024; i++) {
        zs.next_in = (Bytef *)zeros;
        zs.avail_in = sizeof zeros;
        assert_int_equal(deflate(&zs, i == 1023 ? Z_FINISH : Z_NO_FLUSH), i == 1023 ? Z_STREAM_END : Z_OK);
    }
    b.n = zs.total_out;
    deflateEnd(&zs);
    bytes_free(&head);
    return b;
}

static void gzip_bomb_refused(void **state)
{
    (void)state;
    bytes bomb = gzip_bomb();
    assert_true(bomb.n < 128 * 1024);
    const char *p = write_file(0, "bomb.idx.gz", bomb.p, bomb.n);
    track_install();
    gan_dataset *ds;
    assert_error(gan_dataset_load_idx_mem(&ds, bomb.p, bomb.n, NULL, 0), GAN_EFORMAT, "trailing");
    assert_true(max_alloc <= 64 * 1024);
    assert_error(gan_dataset_load_idx(&ds, p, NULL), GAN_EFORMAT, "trailing");
    assert_true(max_alloc <= 64 * 1024);
    track_done();
    bytes_free(&bomb);
}

/* Fail the n-th allocation for every n until the load succeeds. */
static void alloc_sweep(const bytes *img, const bytes *lbl)
{
    size_t n = 1;
    for (;; n++) {
        track_install();
        test_alloc.fail_at = n;
        gan_dataset *ds = NULL;
        int rc = gan_dataset_load_idx_mem(&ds, img->p, img->n, lbl ? lbl->p : NULL, lbl ? lbl->n : 0);
        if (rc == GAN_OK) {
            test_alloc.fail_at = 0; /* gan_dataset_row's first call makes the floats of a byte set */
            check_small(ds, lbl != NULL);
            gan_dataset_free(ds);
            track_done();
            break;
        }
        assert_error(rc, GAN_ENOMEM, "out of memory");
        assert_null(ds);
        track_done();
    }
    assert_true(n > 2);
}

static void allocation_failures(void **state)
{
    (void)state;
    bytes img = small_images(), lbl = small_labels();
    bytes zi = gzip_mem(img.p, img.n), zl = gzip_mem(lbl.p, lbl.n);
    alloc_sweep(&img, NULL);
    alloc_sweep(&img, &lbl);
    alloc_sweep(&zi, &zl);
    alloc_sweep(&zi, &lbl);
    bytes_free(&zi);
    bytes_free(&zl);
    bytes_free(&img);
    bytes_free(&lbl);
}

/* ------------------------------------------------------------- from floats */

/* A shard fills its own rows only (with labels), draws what the whole batch draws, and
 * refuses ranks out of range and batches that do not divide. */
static void sampler_shard_fills_its_rows(void **state)
{
    (void)state;
    enum { N = 10, DIM = 2, CLASSES = 3, BATCH = 6 };
    float rows[N * DIM];
    int labels[N];
    for (int i = 0; i < N * DIM; i++) rows[i] = (float)i;
    for (int i = 0; i < N; i++) labels[i] = i % CLASSES;
    gan_dataset *ds;
    gan_sampler *whole, *shard;
    assert_int_equal(gan_dataset_create_from_floats(&ds, rows, N, DIM, labels, CLASSES), GAN_OK);
    assert_int_equal(gan_sampler_create(&whole, ds, GAN_SAMPLE_UNIFORM, 1), GAN_OK);
    assert_int_equal(gan_sampler_create(&shard, ds, GAN_SAMPLE_UNIFORM, 1), GAN_OK);
    assert_error(gan_sampler_set_shard(shard, 3, 3), GAN_EINVAL, "out of range");
    assert_error(gan_sampler_set_shard(shard, -1, 3), GAN_EINVAL, "out of range");
    assert_error(gan_sampler_set_shard(NULL, 0, 1), GAN_EINVAL, "'s'");
    assert_int_equal(gan_sampler_set_shard(shard, 1, 3), GAN_OK);
    gan_rng *ra = new_rng(5), *rb = new_rng(5);
    float xa[BATCH * DIM], ca[BATCH * CLASSES], xb[BATCH * DIM], cb[BATCH * CLASSES];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < BATCH * DIM; i++) xb[i] = -1.0f;
        for (int i = 0; i < BATCH * CLASSES; i++) cb[i] = -1.0f;
        assert_int_equal(gan_dataset_sampler(whole, ra, xa, ca, BATCH), GAN_OK);
        assert_int_equal(gan_dataset_sampler(shard, rb, xb, cb, BATCH), GAN_OK);
        for (int i = 0; i < BATCH; i++) {
            int mine = i >= 2 && i < 4; /* rank 1 of 3: rows 2 and 3 */
            for (int j = 0; j < DIM; j++) assert_true(xb[i * DIM + j] == (mine ? xa[i * DIM + j] : -1.0f));
            for (int j = 0; j < CLASSES; j++) assert_true(cb[i * CLASSES + j] == (mine ? ca[i * CLASSES + j] : -1.0f));
        }
        assert_true(gan_rng_uniform(ra) == gan_rng_uniform(rb)); /* the same draws: the streams stay together */
    }
    assert_error(gan_dataset_sampler(shard, rb, xb, cb, 4), GAN_EINVAL, "does not divide");
    assert_int_equal(gan_sampler_set_shard(shard, 0, 1), GAN_OK); /* back to the whole batch */
    assert_int_equal(gan_dataset_sampler(shard, rb, xb, cb, 4), GAN_OK);
    gan_rng_free(ra);
    gan_rng_free(rb);
    gan_sampler_free(whole);
    gan_sampler_free(shard);
    gan_dataset_free(ds);
}

/* Any finite values and int labels beyond a byte are copied in as they are; the caller's
 * buffers may change afterwards; samplers and splits work on the copy. */
static void from_floats_copies_rows_and_labels(void **state)
{
    (void)state;
    enum { N = 4, DIM = 3, CLASSES = 1000 };
    float rows[N * DIM] = {-3.5f, 0.0f, 1e30f, 2.0f, -0.0f, FLT_MIN, 0.25f, 7.0f, -1e-30f, 1.0f, 2.0f, 3.0f};
    int labels[N] = {999, 0, 300, 999};
    float want[N * DIM];
    memcpy(want, rows, sizeof rows);
    gan_dataset *ds, *a, *b;
    assert_int_equal(gan_dataset_create_from_floats(&ds, rows, N, DIM, labels, CLASSES), GAN_OK);
    rows[0] = labels[0] = 5; /* the data set keeps its copy */
    assert_int_equal(gan_dataset_size(ds), N);
    assert_int_equal(gan_dataset_dim(ds), DIM);
    assert_int_equal(gan_dataset_num_classes(ds), CLASSES); /* the caller's, not the largest label + 1 */
    assert_memory_equal(gan_dataset_row(ds, 0), want, sizeof want); /* contiguous, bit for bit */
    assert_int_equal(gan_dataset_label(ds, 0), 999);
    assert_int_equal(gan_dataset_label(ds, 2), 300);
    assert_null(gan_dataset_row(ds, N));
    /* One-hot conditions of 1000 classes, rows and labels drawn together. */
    gan_sampler *s;
    gan_rng *rng = new_rng(3);
    float x[8 * DIM], *cond = xcalloc(8 * CLASSES, sizeof *cond);
    assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    assert_int_equal(gan_dataset_sampler(s, rng, x, cond, 8), GAN_OK);
    for (size_t i = 0; i < 8; i++) {
        size_t r = 0;
        while (r < N && memcmp(x + i * DIM, want + r * DIM, DIM * sizeof *x)) r++;
        assert_true(r < N);
        size_t label = (size_t)gan_dataset_label(ds, r);
        for (size_t c = 0; c < CLASSES; c++) assert_true(cond[i * CLASSES + c] == (c == label ? 1.0f : 0.0f));
    }
    assert_int_equal(gan_sampler_epoch(s), 2);
    gan_sampler_free(s);
    assert_int_equal(gan_dataset_split(&a, &b, ds, 1, NULL), GAN_OK);
    assert_int_equal(gan_dataset_num_classes(b), CLASSES);
    assert_int_equal(gan_dataset_label(b, 2), 999);
    assert_memory_equal(gan_dataset_row(b, 0), want + DIM, (N - 1) * DIM * sizeof *want);
    gan_dataset_free(a);
    gan_dataset_free(b);
    gan_dataset_free(ds);
    /* Without labels. */
    assert_int_equal(gan_dataset_create_from_floats(&ds, want, N * DIM, 1, NULL, 0), GAN_OK);
    assert_int_equal(gan_dataset_size(ds), N * DIM);
    assert_int_equal(gan_dataset_num_classes(ds), 0);
    assert_int_equal(gan_dataset_label(ds, 0), -1);
    assert_true(gan_dataset_row(ds, 2)[0] == 1e30f);
    gan_dataset_free(ds);
    gan_rng_free(rng);
    free(cond);
}

static void from_floats_errors(void **state)
{
    (void)state;
    float rows[6] = {0, 1, 2, 3, 4, 5};
    int labels[3] = {0, 1, 2};
    gan_dataset *ds = (gan_dataset *)1;
#define FLOATS(rows_, n, dim, labels_, classes) gan_dataset_create_from_floats(&ds, rows_, n, dim, labels_, classes)
    assert_error(gan_dataset_create_from_floats(NULL, rows, 3, 2, NULL, 0), GAN_EINVAL, "'out' is NULL");
    assert_error(FLOATS(NULL, 3, 2, NULL, 0), GAN_EINVAL, "'rows' is NULL");
    assert_null(ds);
    assert_error(FLOATS(rows, 0, 2, NULL, 0), GAN_EINVAL, "n and dim must be positive, got 0 and 2");
    assert_error(FLOATS(rows, 3, 0, NULL, 0), GAN_EINVAL, "n and dim must be positive, got 3 and 0");
    assert_error(FLOATS(rows, 1, (size_t)INT_MAX + 1, NULL, 0), GAN_EINVAL, "dim must be at most");
    assert_error(FLOATS(rows, (size_t)1 << 40, (size_t)1 << 30, NULL, 0), GAN_EINVAL, "floats overflow");
    assert_error(FLOATS(rows, (size_t)1 << 46, (size_t)1 << 17, NULL, 0), GAN_EINVAL, "floats overflow"); /* bytes */
    assert_error(FLOATS(rows, ((size_t)1 << 48) + 1, 1, NULL, 0), GAN_EINVAL, "n must be at most 2^48"); /* a sampler's */
    assert_error(FLOATS(rows, 3, 2, NULL, 3), GAN_EINVAL, "num_classes is 3 but 'labels' is NULL");
    assert_error(FLOATS(rows, 3, 2, labels, 0), GAN_EINVAL, "num_classes must be in [1, ");
    assert_error(FLOATS(rows, 3, 2, labels, (size_t)INT_MAX + 1), GAN_EINVAL, "num_classes must be in [1, ");
    assert_error(FLOATS(rows, 3, 2, labels, 2), GAN_EINVAL, "label 2 is 2, not in [0, 2)");
    labels[1] = -1;
    assert_error(FLOATS(rows, 3, 2, labels, 3), GAN_EINVAL, "label 1 is -1, not in [0, 3)");
    labels[1] = INT_MIN;
    assert_error(FLOATS(rows, 3, 2, labels, 3), GAN_EINVAL, "label 1 is -2147483648");
    labels[1] = 1;
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        rows[5] = bad[i];
        assert_error(FLOATS(rows, 3, 2, labels, 3), GAN_EINVAL, "row 2, column 1 is not finite");
        assert_null(ds);
    }
    rows[5] = FLT_MAX; /* finite: taken as it is */
    assert_int_equal(FLOATS(rows, 3, 2, labels, 3), GAN_OK);
#undef FLOATS
    gan_dataset_free(ds);
}

/* Each of the three allocations (the handle, the rows, the labels) fails in turn. */
static void from_floats_allocation_failures(void **state)
{
    (void)state;
    float rows[6] = {0, 1, 2, 3, 4, 5};
    int labels[3] = {2, 0, 1};
    gan_dataset *ds = (gan_dataset *)1;
    size_t failures;
    SWEEP(failures, gan_dataset_create_from_floats(&ds, rows, 3, 2, labels, 3), assert_null(ds));
    assert_int_equal(failures, 3);
    assert_int_equal(gan_dataset_label(ds, 0), 2);
    gan_dataset_free(ds);
    SWEEP(failures, gan_dataset_create_from_floats(&ds, rows, 6, 1, NULL, 0), assert_null(ds));
    assert_int_equal(failures, 2);
    gan_dataset_free(ds);
}

/* ------------------------------------------------------------------- split */

/* n rows of dim 3 whose first pixel is the row index; labels i % classes. */
static gan_dataset *indexed_set(size_t n, int classes)
{
    assert_true(n <= 256);
    uint8_t px[256 * 3], lb[256];
    for (size_t i = 0; i < n; i++) {
        px[3 * i] = (uint8_t)i;
        px[3 * i + 1] = (uint8_t)(255 - i);
        px[3 * i + 2] = 7;
        lb[i] = (uint8_t)(i % (size_t)(classes ? classes : 1));
    }
    uint32_t di[2] = {(uint32_t)n, 3}, dl[1] = {(uint32_t)n};
    bytes img = make_idx(0x08, 2, di, px, 3 * n), lbl = make_idx(0x08, 1, dl, lb, n);
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx_mem(&ds, img.p, img.n, classes ? lbl.p : NULL, lbl.n), GAN_OK);
    bytes_free(&img);
    bytes_free(&lbl);
    return ds;
}

static size_t row_index(const float *row)
{
    return (size_t)lroundf(row[0] * 255.0f);
}

/* Every row of `part` is an intact row of the 10-row indexed set; mark it seen. */
static void check_part(const gan_dataset *part, int *seen, int classes)
{
    for (size_t i = 0; i < gan_dataset_size(part); i++) {
        const float *r = gan_dataset_row(part, i);
        size_t k = row_index(r);
        assert_true(k < 10);
        assert_true(r[1] == (float)(255 - k) / 255.0f && r[2] == 7.0f / 255.0f);
        assert_int_equal(gan_dataset_label(part, i), (int)(k % (size_t)classes));
        seen[k]++;
    }
    assert_int_equal(gan_dataset_num_classes(part), classes);
}

static void split_in_order_and_shuffled(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(10, 4), *a, *b;
    assert_int_equal(gan_dataset_split(&a, &b, ds, 3, NULL), GAN_OK);
    assert_int_equal(gan_dataset_size(a), 3);
    assert_int_equal(gan_dataset_size(b), 7);
    assert_int_equal(gan_dataset_dim(a), 3);
    for (size_t i = 0; i < 3; i++) assert_int_equal(row_index(gan_dataset_row(a, i)), i);
    for (size_t i = 0; i < 7; i++) assert_int_equal(row_index(gan_dataset_row(b, i)), 3 + i);
    gan_dataset_free(a);
    gan_dataset_free(b);
    gan_rng *rng;
    assert_int_equal(gan_rng_create(&rng, 5), GAN_OK);
    int moved = 0;
    for (int trial = 0; trial < 20; trial++) {
        int seen[10] = {0};
        assert_int_equal(gan_dataset_split(&a, &b, ds, 4, rng), GAN_OK);
        check_part(a, seen, 4);
        check_part(b, seen, 4);
        for (int k = 0; k < 10; k++) assert_int_equal(seen[k], 1); /* a permutation */
        for (size_t i = 0; i < 4; i++) moved += row_index(gan_dataset_row(a, i)) != i;
        gan_dataset_free(a);
        gan_dataset_free(b);
    }
    assert_true(moved > 40);
    /* The source is unchanged. */
    for (size_t i = 0; i < 10; i++) assert_int_equal(row_index(gan_dataset_row(ds, i)), i);
    gan_rng_free(rng);
    gan_dataset_free(ds);
}

/* A split keeps the parent's class count even when a half lacks the largest label. */
static void split_keeps_class_count(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(10, 10), *a, *b;
    assert_int_equal(gan_dataset_split(&a, &b, ds, 2, NULL), GAN_OK);
    assert_int_equal(gan_dataset_num_classes(a), 10);
    assert_int_equal(gan_dataset_num_classes(b), 10);
    gan_dataset_free(a);
    gan_dataset_free(b);
    gan_dataset *u = indexed_set(5, 0);
    assert_int_equal(gan_dataset_split(&a, &b, u, 1, NULL), GAN_OK);
    assert_int_equal(gan_dataset_label(a, 0), -1);
    assert_int_equal(gan_dataset_num_classes(b), 0);
    gan_dataset_free(a);
    gan_dataset_free(b);
    gan_dataset_free(u);
    gan_dataset_free(ds);
}

static void split_bad_arguments(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(10, 4), *one = indexed_set(1, 2), *a, *b;
    size_t bad[3] = {0, 10, 11};
    for (int i = 0; i < 3; i++) {
        a = b = (gan_dataset *)1;
        assert_error(gan_dataset_split(&a, &b, ds, bad[i], NULL), GAN_EINVAL, "n_first");
        assert_null(a);
        assert_null(b);
    }
    assert_error(gan_dataset_split(&a, &b, one, 1, NULL), GAN_EINVAL, "n_first");
    assert_error(gan_dataset_split(NULL, &b, ds, 1, NULL), GAN_EINVAL, "first");
    assert_null(b);
    assert_error(gan_dataset_split(&a, NULL, ds, 1, NULL), GAN_EINVAL, "second");
    assert_null(a);
    assert_error(gan_dataset_split(&a, &b, NULL, 1, NULL), GAN_EINVAL, "ds");
    gan_dataset_free(one);
    gan_dataset_free(ds);
}

static void split_allocation_failures(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(10, 4), *a, *b;
    gan_rng *rng, *ref;
    assert_int_equal(gan_rng_create(&rng, 9), GAN_OK);
    assert_int_equal(gan_rng_create(&ref, 9), GAN_OK);
    for (size_t n = 1;; n++) {
        track_install();
        test_alloc.fail_at = n;
        int rc = gan_dataset_split(&a, &b, ds, 6, rng);
        if (rc == GAN_OK) {
            gan_dataset_free(a);
            gan_dataset_free(b);
            track_done();
            break;
        }
        assert_error(rc, GAN_ENOMEM, "gan_dataset_split");
        assert_null(a);
        assert_null(b);
        assert_true(gan_rng_uniform(rng) == gan_rng_uniform(ref)); /* untouched before the draw */
        track_done();
    }
    gan_rng_free(rng);
    gan_rng_free(ref);
    gan_dataset_free(ds);
}

/* ----------------------------------------------------------------- sampler */

static void uniform_sampler_covers_rows(void **state)
{
    (void)state;
    size_t sizes[3] = {10, 3, 7};
    for (int t = 0; t < 3; t++) {
        size_t n = sizes[t];
        gan_dataset *ds = indexed_set(n, 0);
        gan_sampler *s;
        gan_rng *rng;
        assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_UNIFORM, 0), GAN_OK);
        assert_int_equal(gan_rng_create(&rng, 11 + (uint64_t)t), GAN_OK);
        enum { BATCH = 1000, BATCHES = 100 };
        static float x[BATCH * 3];
        double count[10] = {0};
        for (int k = 0; k < BATCHES; k++) {
            assert_int_equal(gan_dataset_sampler(s, rng, x, NULL, BATCH), 0);
            for (int i = 0; i < BATCH; i++) {
                size_t r = row_index(x + 3 * i);
                assert_true(r < n);
                assert_true(x[3 * i + 1] == (float)(255 - r) / 255.0f);
                count[r]++;
            }
        }
        /* Chi-square with n - 1 degrees of freedom; 40 is far in the tail for n <= 10. */
        double expect = (double)BATCH * BATCHES / (double)n, chi2 = 0;
        for (size_t r = 0; r < n; r++) chi2 += (count[r] - expect) * (count[r] - expect) / expect;
        assert_true(chi2 < 40.0);
        assert_int_equal(gan_sampler_epoch(s), 0);
        gan_sampler_free(s);
        gan_rng_free(rng);
        gan_dataset_free(ds);
    }
}

/* More than 2^24 rows: the draw needs more bits than one gan_rng_uniform() gives. */
static void uniform_sampler_large_set(void **state)
{
    (void)state;
    const size_t n = ((size_t)1 << 24) + ((size_t)1 << 22); /* rows >= 2^24: one in five */
    uint32_t dims[2] = {(uint32_t)n, 1};
    bytes img = make_idx(0x08, 2, dims, NULL, 0);
    uint8_t *p = realloc(img.p, img.n + n);
    assert_non_null(p);
    memset(p + img.n, 0, (size_t)1 << 24);
    memset(p + img.n + ((size_t)1 << 24), 255, n - ((size_t)1 << 24));
    gan_dataset *ds;
    assert_int_equal(gan_dataset_load_idx_mem(&ds, p, img.n + n, NULL, 0), GAN_OK);
    free(p);
    gan_sampler *s;
    gan_rng *rng;
    assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_UNIFORM, 0), GAN_OK);
    assert_int_equal(gan_rng_create(&rng, 3), GAN_OK);
    enum { N = 100000 };
    static float x[N];
    assert_int_equal(gan_dataset_sampler(s, rng, x, NULL, N), 0);
    double high = 0;
    for (int i = 0; i < N; i++) high += x[i] == 1.0f;
    assert_true(fabs(high / N - 0.2) < 0.01); /* se ~ 0.0013 */
    gan_sampler_free(s);
    gan_rng_free(rng);
    gan_dataset_free(ds);
}

static void epoch_sampler_visits_each_row_once(void **state)
{
    (void)state;
    enum { N = 7, BATCH = 3, BATCHES = 14 };
    gan_dataset *ds = indexed_set(N, 3);
    gan_sampler *s;
    gan_rng *rng;
    assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_rng_create(&rng, 4), GAN_OK);
    assert_int_equal(gan_sampler_epoch(s), 0);
    size_t order[BATCH * BATCHES];
    float x[BATCH * 3];
    for (int k = 0; k < BATCHES; k++) {
        assert_int_equal(gan_dataset_sampler(s, rng, x, NULL, BATCH), 0);
        for (int i = 0; i < BATCH; i++) order[k * BATCH + i] = row_index(x + 3 * i);
        assert_int_equal(gan_sampler_epoch(s), (size_t)((k + 1) * BATCH / N));
    }
    int differ = 0;
    for (int e = 0; e < BATCH * BATCHES / N; e++) {
        int seen[N] = {0};
        for (int i = 0; i < N; i++) seen[order[e * N + i]]++;
        for (int i = 0; i < N; i++) assert_int_equal(seen[i], 1);
        if (e) differ += memcmp(order + e * N, order + (e - 1) * N, N * sizeof order[0]) != 0;
    }
    assert_true(differ >= 4); /* reshuffled every epoch (5 changes expected) */
    gan_sampler_free(s);
    gan_rng_free(rng);
    gan_dataset_free(ds);
}

/* An epoch's order depends only on the rng state at its start: a fresh sampler handed
 * the same state draws what a long-running one draws (what resuming a checkpoint needs). */
static void epoch_order_depends_on_rng_alone(void **state)
{
    (void)state;
    enum { N = 9 };
    gan_dataset *ds = indexed_set(N, 3);
    gan_sampler *old, *fresh;
    gan_rng *a, *b;
    assert_int_equal(gan_sampler_create(&old, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_sampler_create(&fresh, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_rng_create(&a, 8), GAN_OK);
    assert_int_equal(gan_rng_create(&b, 0), GAN_OK);
    float x[N * 3], y[N * 3];
    for (int e = 0; e < 3; e++) assert_int_equal(gan_dataset_sampler(old, a, x, NULL, N), 0);
    /* Equal rng states from here on, as a restored checkpoint gives; old's order is not the identity. */
    assert_int_equal(gan_rng_seed(a, 99), GAN_OK);
    assert_int_equal(gan_rng_seed(b, 99), GAN_OK);
    for (int e = 0; e < 2; e++) {
        assert_int_equal(gan_dataset_sampler(old, a, x, NULL, N), 0);
        assert_int_equal(gan_dataset_sampler(fresh, b, y, NULL, N), 0);
        assert_memory_equal(x, y, sizeof x);
    }
    gan_sampler_free(old);
    gan_sampler_free(fresh);
    gan_rng_free(a);
    gan_rng_free(b);
    gan_dataset_free(ds);
}

/* Each epoch's order is a uniformly random permutation, independent of the previous one:
 * all 3! orders equally often, and the same order twice in a row one time in six. */
static void epoch_orders_are_uniform(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(3, 0);
    gan_sampler *s;
    gan_rng *rng;
    assert_int_equal(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_rng_create(&rng, 21), GAN_OK);
    enum { EPOCHS = 6000 };
    double count[9] = {0}; /* indexed by 3 * first + second */
    float x[3 * 3];
    size_t prev = 9, repeats = 0;
    for (int e = 0; e < EPOCHS; e++) {
        assert_int_equal(gan_dataset_sampler(s, rng, x, NULL, 3), 0);
        size_t order = 3 * row_index(x) + row_index(x + 3);
        count[order]++;
        repeats += order == prev;
        prev = order;
    }
    assert_true(repeats > 800 && repeats < 1200); /* 1000 +- 29 */
    assert_int_equal(gan_sampler_epoch(s), EPOCHS);
    double expect = EPOCHS / 6.0, chi2 = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            if (a == b) assert_true(count[3 * a + b] == 0);
            else chi2 += (count[3 * a + b] - expect) * (count[3 * a + b] - expect) / expect;
        }
    assert_true(chi2 < 30.0); /* 5 degrees of freedom */
    gan_sampler_free(s);
    gan_rng_free(rng);
    gan_dataset_free(ds);
}

static void one_hot_conditions_match_labels(void **state)
{
    (void)state;
    for (int mode = GAN_SAMPLE_UNIFORM; mode <= GAN_SAMPLE_EPOCHS; mode++) {
        gan_dataset *ds = indexed_set(20, 4);
        gan_sampler *s;
        gan_rng *rng;
        assert_int_equal(gan_sampler_create(&s, ds, (gan_sample_mode)mode, 1), GAN_OK);
        assert_int_equal(gan_rng_create(&rng, 8), GAN_OK);
        enum { BATCH = 50 };
        float x[BATCH * 3], cond[BATCH * 4];
        for (int i = 0; i < BATCH * 4; i++) cond[i] = 9.0f; /* overwritten in full */
        assert_int_equal(gan_dataset_sampler(s, rng, x, cond, BATCH), 0);
        for (int i = 0; i < BATCH; i++) {
            size_t r = row_index(x + 3 * i);
            for (size_t c = 0; c < 4; c++) assert_true(cond[4 * i + c] == (c == r % 4 ? 1.0f : 0.0f));
        }
        gan_sampler_free(s);
        gan_rng_free(rng);
        gan_dataset_free(ds);
    }
}

static void sampling_allocates_nothing(void **state)
{
    (void)state;
    track_install();
    gan_dataset *ds = indexed_set(13, 5);
    gan_sampler *su, *se;
    gan_rng *rng;
    assert_int_equal(gan_sampler_create(&su, ds, GAN_SAMPLE_UNIFORM, 1), GAN_OK);
    assert_int_equal(gan_sampler_create(&se, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    assert_int_equal(gan_rng_create(&rng, 1), GAN_OK);
    size_t before = test_alloc.allocs;
    float x[32 * 3], cond[32 * 5];
    for (int k = 0; k < 100; k++) {
        assert_int_equal(gan_dataset_sampler(su, rng, x, cond, 32), 0);
        assert_int_equal(gan_dataset_sampler(se, rng, x, cond, 32), 0);
    }
    assert_int_equal(test_alloc.allocs, before);
    assert_true(gan_sampler_epoch(se) >= 240);
    gan_sampler_free(su);
    gan_sampler_free(se);
    gan_rng_free(rng);
    gan_dataset_free(ds);
    track_done();
}

static void sampler_errors(void **state)
{
    (void)state;
    gan_dataset *lab = indexed_set(6, 2), *unl = indexed_set(6, 0);
    gan_sampler *s = (gan_sampler *)1, *plain, *hot;
    gan_rng *rng;
    float x[6], cond[4];
    assert_int_equal(gan_rng_create(&rng, 1), GAN_OK);
    assert_error(gan_sampler_create(&s, unl, GAN_SAMPLE_UNIFORM, 1), GAN_EINVAL, "no labels");
    assert_null(s);
    assert_error(gan_sampler_create(&s, lab, (gan_sample_mode)3, 0), GAN_EINVAL, "mode");
    assert_error(gan_sampler_create(&s, NULL, GAN_SAMPLE_UNIFORM, 0), GAN_EINVAL, "ds");
    assert_error(gan_sampler_create(NULL, lab, GAN_SAMPLE_UNIFORM, 0), GAN_EINVAL, "out");
    assert_int_equal(gan_sampler_create(&plain, lab, GAN_SAMPLE_UNIFORM, 0), GAN_OK);
    assert_int_equal(gan_sampler_create(&hot, lab, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    assert_true(gan_dataset_sampler(plain, rng, x, cond, 2) != 0);
    assert_non_null(strstr(gan_error_last(), "'cond' was passed but the sampler has no labels"));
    assert_true(gan_dataset_sampler(hot, rng, x, NULL, 2) != 0);
    assert_non_null(strstr(gan_error_last(), "condition size to 2"));
    assert_true(gan_dataset_sampler(NULL, rng, x, NULL, 2) != 0);
    assert_true(gan_dataset_sampler(plain, NULL, x, NULL, 2) != 0);
    assert_true(gan_dataset_sampler(plain, rng, NULL, NULL, 2) != 0);
    assert_int_equal(gan_sampler_epoch(hot), 0); /* failed calls draw nothing */
    gan_sampler_free(plain);
    gan_sampler_free(hot);
    gan_rng_free(rng);
    gan_dataset_free(lab);
    gan_dataset_free(unl);
}

static void sampler_allocation_failures(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(6, 2);
    for (size_t n = 1;; n++) {
        track_install();
        test_alloc.fail_at = n;
        gan_sampler *s = (gan_sampler *)1;
        int rc = gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 1);
        if (rc == GAN_OK) {
            gan_sampler_free(s);
            track_done();
            break;
        }
        assert_error(rc, GAN_ENOMEM, "gan_sampler_create");
        assert_null(s);
        track_done();
    }
    gan_dataset_free(ds);
}

/* The sampler plugged into the trainer; a condition mismatch stops the step with GAN_EUSER. */
static void sampler_drives_the_trainer(void **state)
{
    (void)state;
    gan_dataset *ds = indexed_set(20, 4);
    gan_net *g, *d;
    gan_layer *l;
    gan_optim *og, *od;
    gan_sampler *plain, *hot;
    assert_int_equal(gan_net_create(&g, 2), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 2, 3), GAN_OK);
    assert_int_equal(gan_net_add(g, l), GAN_OK);
    assert_int_equal(gan_net_create(&d, 3), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 3, 1), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_optim_sgd(&og, 0.01f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 0.01f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_sampler_create(&plain, ds, GAN_SAMPLE_EPOCHS, 0), GAN_OK);
    assert_int_equal(gan_sampler_create(&hot, ds, GAN_SAMPLE_EPOCHS, 1), GAN_OK);
    gan_trainer *t;
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, 10), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, gan_dataset_sampler, plain), GAN_OK);
    assert_int_equal(gan_net_init(g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_run(t, 4, NULL, NULL), GAN_OK);
    assert_true(gan_sampler_epoch(plain) >= 2);
    assert_int_equal(gan_trainer_set_data(t, gan_dataset_sampler, hot), GAN_OK);
    assert_int_equal(gan_trainer_step(t, NULL), GAN_EUSER); /* one-hot sampler, no condition */
    gan_trainer_free(t);
    gan_sampler_free(plain);
    gan_sampler_free(hot);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    gan_dataset_free(ds);
}

/* ------------------------------------------------------------ Fashion-MNIST */

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void check_fashion(const char *images, const char *labels, size_t n)
{
    gan_dataset *ds;
    int rc = gan_dataset_load_idx(&ds, images, labels);
    if (rc) fail_msg("%s", gan_error_last());
    assert_int_equal(gan_dataset_size(ds), n);
    assert_int_equal(gan_dataset_dim(ds), 784);
    assert_int_equal(gan_dataset_num_classes(ds), 10);
    double sum = 0;
    size_t per_class[10] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *r = gan_dataset_row(ds, i);
        for (size_t j = 0; j < 784; j++) {
            assert_true(r[j] >= 0.0f && r[j] <= 1.0f);
            sum += r[j];
        }
        per_class[gan_dataset_label(ds, i)]++;
    }
    double mean = sum / (double)(n * 784);
    assert_true(mean > 0.2 && mean < 0.4); /* Fashion-MNIST's mean pixel is about 0.286 */
    for (int c = 0; c < 10; c++) assert_int_equal(per_class[c], n / 10); /* balanced classes */
    gan_dataset_free(ds);
}

static void fashion_mnist(void **state)
{
    (void)state;
    struct stat st;
    if (stat(FASHION_DIR "/train-images-idx3-ubyte.gz", &st) != 0) {
        print_message("skipped: " FASHION_DIR " is missing (Debian package dataset-fashion-mnist)\n");
        skip();
    }
    check_fashion(FASHION_DIR "/train-images-idx3-ubyte.gz", FASHION_DIR "/train-labels-idx1-ubyte.gz", 60000);
    check_fashion(FASHION_DIR "/t10k-images-idx3-ubyte.gz", FASHION_DIR "/t10k-labels-idx1-ubyte.gz", 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_raw),
        cmocka_unit_test(every_byte_value_scales),
        cmocka_unit_test(gzip_equals_raw),
        cmocka_unit_test(gzip_members_concatenated),
        cmocka_unit_test(missing_files_are_eio),
        cmocka_unit_test(null_arguments),
        cmocka_unit_test(bad_headers),
        cmocka_unit_test(bad_dimensions),
        cmocka_unit_test(lying_header_fails_fast),
        cmocka_unit_test(trailing_bytes_refused),
        cmocka_unit_test(label_count_mismatch),
        cmocka_unit_test(corrupt_gzip),
        cmocka_unit_test(truncated_everywhere),
        cmocka_unit_test(gzip_bomb_refused),
        cmocka_unit_test(allocation_failures),
        TEST(from_floats_copies_rows_and_labels),
        TEST(from_floats_errors),
        TEST(from_floats_allocation_failures),
        cmocka_unit_test(split_in_order_and_shuffled),
        cmocka_unit_test(split_keeps_class_count),
        cmocka_unit_test(split_bad_arguments),
        cmocka_unit_test(split_allocation_failures),
        cmocka_unit_test(uniform_sampler_covers_rows),
        cmocka_unit_test(uniform_sampler_large_set),
        cmocka_unit_test(epoch_sampler_visits_each_row_once),
        cmocka_unit_test(epoch_orders_are_uniform),
        cmocka_unit_test(epoch_order_depends_on_rng_alone),
        cmocka_unit_test(one_hot_conditions_match_labels),
        cmocka_unit_test(sampling_allocates_nothing),
        cmocka_unit_test(sampler_errors),
        cmocka_unit_test(sampler_allocation_failures),
        cmocka_unit_test(sampler_drives_the_trainer),
        cmocka_unit_test(sampler_shard_fills_its_rows),
        cmocka_unit_test(fashion_mnist),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
