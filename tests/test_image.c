/* Images (lib/image.c): decoding PNG and JPEG with the conversion gan.h states, against
 * PIL for real, and writing PNG files.
 *
 * pixels_match_pil runs tests/image_reference.py (GAN_PYTHON, GAN_IMAGE_REFERENCE) into
 * a temporary directory: small images of every PNG colour type and bit depth and every
 * kind of JPEG, each with what PIL gives at a set of target sizes (and what the exact rule
 * gives); it skips when the script exits 77 (no PIL or numpy). Everything else needs no
 * Python: the fuzz seeds (GAN_IMAGE_CORPUS, tests/fuzz/corpus_image) stand for every
 * colour type there, and the rest is made here with gan_image_write_png. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ helpers */


static const char *corpus_dir(void)
{
    const char *dir = getenv("GAN_IMAGE_CORPUS");
    return dir ? dir : "../tests/fuzz/corpus_image";
}

/* A seed of the fuzz corpus without its two bytes of target and flags. */
static uint8_t *seed(const char *name, size_t *size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
    uint8_t *b = test_read_file(path, size);
    if (!b) fail_msg("cannot read %s (GAN_IMAGE_CORPUS)", path);
    assert_true(*size >= 2);
    memmove(b, b + 2, *size - 2);
    *size -= 2;
    return b;
}

static char tmpdir[4096];

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gan-image-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(path, 0700);
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int remove_tmpdir(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

static void tmp_path(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", tmpdir, name);
}

/* The largest single request made to the allocator, on top of test_util.h's counting. */
static size_t biggest;

static void *tracking_malloc(void *ctx, size_t size)
{
    if (size > biggest) biggest = size;
    return test_malloc_fn(ctx, size);
}

static void track_allocations(void)
{
    biggest = 0;
    gan_allocator a = {tracking_malloc, test_free_fn, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
}

static int decode(uint8_t *out, const uint8_t *b, size_t n, size_t c, size_t h, size_t w, unsigned flags)
{
    return gan_image_decode_mem(out, b, n, c, h, w, flags);
}

/* A PNG of the caller's pixels, written by the library and read back as bytes. */
static uint8_t *png_of(const uint8_t *pixels, size_t w, size_t h, size_t c, size_t *size)
{
    char path[4200];
    tmp_path(path, sizeof path, "made.png");
    assert_int_equal(gan_image_write_png(path, pixels, w, h, c), GAN_OK);
    uint8_t *b = test_read_file(path, size);
    assert_non_null(b);
    return b;
}

/* ------------------------------------------------------- against PIL for real */

enum { KINDS = 5 };
static const char *const kind_names[KINDS] = {"same", "crop", "integer", "fraction", "enlarge"};

static int run_reference(const char *dir)
{
    const char *py = getenv("GAN_PYTHON"), *script = getenv("GAN_IMAGE_REFERENCE");
    if (!py || !script) return 77;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
        execl(py, py, script, dir, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every case of the manifest: within one level of PIL (but for non-integer shrink
 * factors, whose difference is reported: PIL's BOX counts whole pixels) and of the exact
 * rule. Prints the largest differences per image and kind. */
static void pixels_match_pil(void **state)
{
    (void)state;
    char dir[4200], path[4800];
    tmp_path(dir, sizeof dir, "reference");
    int rc = run_reference(dir);
    if (rc == 77) {
        print_message("image_reference.py skipped (no PIL or numpy, or GAN_PYTHON unset)\n");
        skip();
    }
    assert_int_equal(rc, 0);
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    char name[256], file[256], last_image[256] = "";
    size_t channels, h, w;
    unsigned flags;
    char kind[32];
    int worst_pil[KINDS] = {0}, worst_exact[KINDS] = {0}, cases[KINDS] = {0};
    int image_pil[KINDS], image_exact[KINDS];
    memset(image_pil, -1, sizeof image_pil);
    memset(image_exact, -1, sizeof image_exact);
    size_t count = 0, fraction_pixels = 0, fraction_off = 0;
    int failures = 0;
    for (;;) {
        int got = fscanf(m, "%255s %255s %zu %zu %zu %u %31s", name, file, &channels, &h, &w, &flags, kind);
        char image[256];
        snprintf(image, sizeof image, "%s", got == 7 ? file : "");
        if (strcmp(image, last_image) != 0 && last_image[0]) { /* one line per source image */
            char line[512];
            size_t pos = (size_t)snprintf(line, sizeof line, "  %-28s", last_image);
            for (int k = 0; k < KINDS; k++)
                if (image_pil[k] >= 0 && pos < sizeof line)
                    pos += (size_t)snprintf(line + pos, sizeof line - pos, " %s %d/%d", kind_names[k], image_pil[k],
                                            image_exact[k]);
            print_message("%s\n", line);
            memset(image_pil, -1, sizeof image_pil);
            memset(image_exact, -1, sizeof image_exact);
        }
        if (got != 7) break;
        snprintf(last_image, sizeof last_image, "%s", image);
        int k = 0;
        while (k < KINDS && strcmp(kind, kind_names[k]) != 0) k++;
        assert_true(k < KINDS);
        size_t n_file, n_pil, n_exact, n = h * w * channels;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        uint8_t *bytes = test_read_file(path, &n_file);
        snprintf(path, sizeof path, "%s/%s.pil", dir, name);
        uint8_t *pil = test_read_file(path, &n_pil);
        snprintf(path, sizeof path, "%s/%s.exact", dir, name);
        uint8_t *exact = test_read_file(path, &n_exact);
        assert_true(bytes && pil && exact && n_pil == n && n_exact == n);
        uint8_t *out = malloc(n);
        assert_non_null(out);
        int status = decode(out, bytes, n_file, channels, h, w, flags);
        if (status != GAN_OK) fail_msg("%s: %s", name, gan_error_last());
        int dp = 0, de = 0;
        for (size_t i = 0; i < n; i++) {
            int a = abs((int)out[i] - pil[i]), b = abs((int)out[i] - exact[i]);
            dp = a > dp ? a : dp;
            de = b > de ? b : de;
            if (k == 3) {
                fraction_pixels++;
                fraction_off += a > 1;
            }
        }
        if (de > 1 || (dp > 1 && k != 3)) {
            print_error("%s: %d levels from PIL, %d from the exact rule\n", name, dp, de);
            failures++;
        }
        worst_pil[k] = dp > worst_pil[k] ? dp : worst_pil[k];
        worst_exact[k] = de > worst_exact[k] ? de : worst_exact[k];
        image_pil[k] = dp > image_pil[k] ? dp : image_pil[k];
        image_exact[k] = de > image_exact[k] ? de : image_exact[k];
        cases[k]++;
        count++;
        free(out);
        free(bytes);
        free(pil);
        free(exact);
    }
    fclose(m);
    print_message("largest difference from PIL / from the exact rule, by kind of resize:\n");
    for (int k = 0; k < KINDS; k++)
        print_message("  %-8s %4d cases: %3d / %d levels\n", kind_names[k], cases[k], worst_pil[k], worst_exact[k]);
    print_message("  fraction: %zu of %zu values more than 1 level from PIL's BOX\n", fraction_off,
                  fraction_pixels);
    assert_true(count > 500);
    assert_int_equal(failures, 0);
}

/* --------------------------------------------------- the seeds of every type */

/* Every good seed of the fuzz corpus decodes at a few sizes, the same bytes each time;
 * every bad one is GAN_EFORMAT with a message. */
static void corpus_seeds_decode(void **state)
{
    (void)state;
    DIR *d = opendir(corpus_dir());
    if (!d) fail_msg("cannot open %s (GAN_IMAGE_CORPUS)", corpus_dir());
    struct dirent *e;
    size_t good = 0, bad = 0;
    static const size_t sizes[][2] = {{12, 16}, {1, 1}, {5, 7}, {40, 30}};
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        size_t n;
        uint8_t *b = seed(e->d_name, &n);
        int is_bad = strncmp(e->d_name, "bad-", 4) == 0;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (size_t c = 1; c <= 3; c += 2) {
                size_t len = sizes[s][0] * sizes[s][1] * c;
                uint8_t *out = malloc(len), *again = malloc(len);
                assert_true(out && again);
                int rc = decode(out, b, n, c, sizes[s][0], sizes[s][1], 0);
                if (is_bad) {
                    assert_error(rc, GAN_EFORMAT, "gan_image_decode_mem: ");
                } else {
                    if (rc) fail_msg("%s: %s", e->d_name, gan_error_last());
                    assert_int_equal(decode(again, b, n, c, sizes[s][0], sizes[s][1], 0), GAN_OK);
                    assert_memory_equal(out, again, len);
                }
                free(out);
                free(again);
            }
        is_bad ? bad++ : good++;
        free(b);
    }
    closedir(d);
    assert_true(good >= 30);
    assert_true(bad >= 5);
}

/* ------------------------------------------------------------ the conversion */

/* gan.h's formulas on pixels made here: compositing onto white and black, luma,
 * replication, the box's offsets, an exact 2 x 2 mean rounded half up, bilinear. */
static void conversion_follows_the_header(void **state)
{
    (void)state;
    size_t n;
    uint8_t out[64 * 3];
    /* RGBA 2 x 1: a half-transparent red and a transparent green */
    const uint8_t rgba[] = {255, 0, 0, 128, 0, 255, 0, 0};
    uint8_t *b = png_of(rgba, 2, 1, 4, &n);
    assert_int_equal(decode(out, b, n, 3, 1, 2, 0), GAN_OK);
    const uint8_t white[] = {255, 127, 127, 255, 255, 255}; /* round((128*255 + 127*255)/255), round(127*255/255) */
    assert_memory_equal(out, white, 6);
    assert_int_equal(decode(out, b, n, 3, 1, 2, GAN_IMAGE_BLACK), GAN_OK);
    const uint8_t black[] = {128, 0, 0, 0, 0, 0};
    assert_memory_equal(out, black, 6);
    assert_int_equal(decode(out, b, n, 1, 1, 2, 0), GAN_OK); /* composite, then luma */
    assert_int_equal(out[0], (255 * 19595 + 127 * 38470 + 127 * 7471 + 0x8000) >> 16);
    assert_int_equal(out[1], 255);
    free(b);
    /* luma of RGB, replication of grey */
    const uint8_t rgb[] = {10, 200, 30, 255, 255, 0, 1, 2, 3};
    b = png_of(rgb, 3, 1, 3, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 3, 0), GAN_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(out[i], (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16);
    free(b);
    const uint8_t grey[] = {0, 77, 255};
    b = png_of(grey, 3, 1, 1, &n);
    assert_int_equal(decode(out, b, n, 3, 1, 3, 0), GAN_OK);
    const uint8_t replicated[] = {0, 0, 0, 77, 77, 77, 255, 255, 255};
    assert_memory_equal(out, replicated, 9);
    free(b);
    /* the centred box: 6 x 1 to 1 x 1 takes column floor((6 - 1) / 2) = 2; 1 x 5 to 1 x 1
     * row 2; 5 x 2 to 1 x 1 the box 2 x 2 at column 1 */
    const uint8_t row6[] = {0, 10, 20, 30, 40, 50};
    b = png_of(row6, 6, 1, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 1, 0), GAN_OK);
    assert_int_equal(out[0], 20);
    free(b);
    b = png_of(row6, 1, 5, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 1, 0), GAN_OK);
    assert_int_equal(out[0], 20);
    free(b);
    /* 2 x 2 to 1 x 1: the exact mean, half up: (0 + 0 + 0 + 2) / 4 = 0.5 -> 1, 1.25 -> 1 */
    const uint8_t quad[] = {0, 0, 0, 2}, quad2[] = {0, 1, 2, 2};
    b = png_of(quad, 2, 2, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 1, 0), GAN_OK);
    assert_int_equal(out[0], 1);
    free(b);
    b = png_of(quad2, 2, 2, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 1, 0), GAN_OK);
    assert_int_equal(out[0], 1);
    free(b);
    /* 3 px to 2: area with fractional coverage: (2a + b) / 3 and (b + 2c) / 3 */
    const uint8_t three[] = {0, 90, 200};
    b = png_of(three, 3, 1, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 1, 2, 0), GAN_OK); /* box 2 x 1 at 0: (0, 90) */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 90);
    free(b);
    const uint8_t three3[] = {0, 90, 200, 0, 90, 200, 0, 90, 200};
    b = png_of(three3, 3, 3, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 2, 2, 0), GAN_OK);
    assert_int_equal(out[0], 30);  /* (2 * 0 + 90) / 3 */
    assert_int_equal(out[1], 163); /* (90 + 2 * 200) / 3 = 163.33 */
    assert_memory_equal(out, out + 2, 2);
    free(b);
    /* 2 px to 4: bilinear between centres, edges repeated: x = (k + 0.5) / 2 - 0.5 */
    const uint8_t two[] = {0, 100, 0, 100};
    b = png_of(two, 2, 2, 1, &n);
    assert_int_equal(decode(out, b, n, 1, 4, 4, 0), GAN_OK);
    const uint8_t up[] = {0, 25, 75, 100};
    for (int y = 0; y < 4; y++) assert_memory_equal(out + 4 * y, up, 4);
    free(b);
}

/* The pixel limit refuses what is larger, and only that; the flags are checked. */
static void pixel_limit_and_flags(void **state)
{
    (void)state;
    uint8_t px[64 * 48];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
    size_t n;
    uint8_t *b = png_of(px, 64, 48, 1, &n); /* 3072 pixels */
    uint8_t out[64 * 48];
    assert_error(gan_image_decode_mem(out, b, n, 1, 48, 64, GAN_IMAGE_PIXEL_LIMIT(11)), GAN_EFORMAT,
                 "64 x 48 pixels, more than the limit of 2^11");
    assert_int_equal(decode(out, b, n, 1, 48, 64, GAN_IMAGE_PIXEL_LIMIT(12)), GAN_OK);
    assert_memory_equal(out, px, sizeof px);
    assert_int_equal(decode(out, b, n, 1, 48, 64, GAN_IMAGE_PIXEL_LIMIT(40) | GAN_IMAGE_LABELS | GAN_IMAGE_SKIP_BAD),
                     GAN_OK);
    assert_error(gan_image_decode_mem(out, b, n, 1, 48, 64, GAN_IMAGE_PIXEL_LIMIT(41)), GAN_EINVAL, "GAN_IMAGE_PIXEL_LIMIT(41)");
    assert_error(gan_image_decode_mem(out, b, n, 1, 48, 64, 1u << 20), GAN_EINVAL, "unknown flag bits 0x100000");
    assert_error(gan_image_decode_mem(out, b, n, 1, 48, 64, 8), GAN_EINVAL, "unknown flag bits 0x8");
    free(b);
    /* the same for JPEG */
    uint8_t *j = seed("jpeg-baseline", &n); /* 32 x 24 */
    assert_error(gan_image_decode_mem(out, j, n, 3, 8, 8, GAN_IMAGE_PIXEL_LIMIT(9)), GAN_EFORMAT, "32 x 24 pixels");
    assert_int_equal(decode(out, j, n, 3, 8, 8, GAN_IMAGE_PIXEL_LIMIT(10)), GAN_OK);
    free(j);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A decompression bomb is refused from its header, before anything the size of its
 * pixels is allocated: PNG's IHDR and JPEG's SOF of 100000 x 100000 and 65000 x 65000. */
static void bombs_refused_before_allocating(void **state)
{
    (void)state;
    uint8_t png[8 + 25 + 12 + 64 + 12];
    size_t n = 0;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    put32(png + n, 13);
    memcpy(png + n + 4, "IHDR", 4);
    put32(png + n + 8, 100000);
    put32(png + n + 12, 100000);
    memcpy(png + n + 16, "\x08\x02\x00\x00\x00", 5);
    put32(png + n + 21, (uint32_t)crc32(0, png + n + 4, 17));
    n += 25;
    uLongf zlen = 64;
    static const uint8_t zeros[1000];
    assert_int_equal(compress(png + n + 8, &zlen, zeros, sizeof zeros), Z_OK);
    put32(png + n, (uint32_t)zlen);
    memcpy(png + n + 4, "IDAT", 4);
    put32(png + n + 8 + zlen, (uint32_t)crc32(0, png + n + 4, (uInt)zlen + 4));
    n += 12 + zlen;
    put32(png + n, 0);
    memcpy(png + n + 4, "IEND", 4);
    put32(png + n + 8, (uint32_t)crc32(0, png + n + 4, 4));
    n += 12;
    uint8_t out[64 * 64 * 3];
    track_allocations();
    assert_error(gan_image_decode_mem(out, png, n, 3, 64, 64, 0), GAN_EFORMAT, "100000 x 100000 pixels, more than the limit of 2^27");
    print_message("PNG bomb: largest allocation %zu bytes\n", biggest);
    assert_true(biggest < 256 * 1024);
    /* with a limit that lets it through, it is the truncated stream that fails */
    size_t j_size;
    uint8_t *jpg = seed("jpeg-baseline", &j_size);
    size_t sof = 0;
    while (sof + 9 < j_size && !(jpg[sof] == 0xff && jpg[sof + 1] == 0xc0)) sof++;
    assert_true(sof + 9 < j_size);
    jpg[sof + 5] = 65000 >> 8, jpg[sof + 6] = 65000 & 255, jpg[sof + 7] = 65000 >> 8, jpg[sof + 8] = 65000 & 255;
    biggest = 0;
    assert_error(gan_image_decode_mem(out, jpg, j_size, 3, 64, 64, 0), GAN_EFORMAT, "65000 x 65000 pixels");
    print_message("JPEG bomb: largest allocation through the hook %zu bytes\n", biggest);
    assert_true(biggest < 256 * 1024);
    free(jpg);
}

/* --------------------------------------------------------------- bad bytes */

static void not_png_or_jpeg(void **state)
{
    (void)state;
    uint8_t out[3];
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"", 0, 3, 1, 1, 0), GAN_EFORMAT, "no bytes");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"hello, world", 12, 3, 1, 1, 0), GAN_EFORMAT,
                 "not a PNG or JPEG image (it starts with 68 65 6c 6c)");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"GIF89a\1\0\1\0", 10, 3, 1, 1, 0), GAN_EFORMAT, "a GIF image");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"BM\0\0", 4, 3, 1, 1, 0), GAN_EFORMAT, "a BMP image");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"RIFF\0\0\0\0WEBPVP8 ", 16, 3, 1, 1, 0), GAN_EFORMAT, "a WebP image");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"\x89PNG\r\n", 6, 3, 1, 1, 0), GAN_EFORMAT, "not a PNG or JPEG");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"\x89PNG\r\n\x1a\n", 8, 3, 1, 1, 0), GAN_EFORMAT,
                 "bad PNG: the data ends early (truncated)");
    assert_error(gan_image_decode_mem(out, (const uint8_t *)"\xff\xd8\xff", 3, 3, 1, 1, 0), GAN_EFORMAT, "bad JPEG: ");
}

/* Every prefix of a PNG and a JPEG: an error (or, past the image data, success), never
 * a crash or a leak. */
static void truncated_files(void **state)
{
    (void)state;
    static const char *const names[] = {"png-rgba16", "png-rgba8-adam7", "jpeg-baseline", "jpeg-progressive",
                                        "jpeg-grey"};
    uint8_t out[16 * 16 * 3];
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        size_t n;
        uint8_t *b = seed(names[f], &n);
        int png = names[f][0] == 'p';
        size_t ok = 0;
        for (size_t len = 0; len < n; len++) {
            uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes, for ASan */
            memcpy(copy, b, len);
            int rc = decode(out, copy, len, 3, 16, 16, 0);
            free(copy);
            if (rc == GAN_OK) {
                ok++;
                /* only the end may go missing: IEND and the last IDAT's checks; the EOI */
                assert_true(png ? len + 24 >= n : len + 2 >= n);
                continue;
            }
            assert_int_equal(rc, GAN_EFORMAT);
            assert_failure_explained("gan_image_decode_mem");
        }
        if (ok) print_message("%s: %zu of %zu prefixes decode (the end is not read)\n", names[f], ok, n);
        free(b);
    }
}

/* Bytes changed at random in every seed: success or GAN_EFORMAT, nothing printed,
 * nothing leaked (the fuzz harness does this for minutes; this is its smoke test). */
static void corrupted_bytes(void **state)
{
    (void)state;
    DIR *d = opendir(corpus_dir());
    assert_non_null(d);
    struct dirent *e;
    uint64_t x = 88172645463325252ull;
    size_t runs = 0, fails = 0;
    uint8_t out[24 * 32 * 3];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "bad-", 4)) continue;
        size_t n;
        uint8_t *b = seed(e->d_name, &n);
        for (int round = 0; round < 40; round++) {
            uint8_t *c = malloc(n);
            memcpy(c, b, n);
            for (int k = 0; k < 1 + round % 4; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                c[(x >> 8) % n] ^= (uint8_t)(1u << (x % 8));
            }
            int rc = decode(out, c, n, 1 + 2 * (round & 1), 24, 32, 0);
            assert_true(rc == GAN_OK || rc == GAN_EFORMAT);
            if (rc) {
                assert_failure_explained("gan_image_decode_mem");
                fails++;
            }
            runs++;
            free(c);
        }
        free(b);
    }
    closedir(d);
    print_message("%zu corrupted files, %zu refused\n", runs, fails);
}

static void null_and_invalid_arguments(void **state)
{
    (void)state;
    size_t n;
    uint8_t *b = seed("png-rgb8", &n), out[16 * 12 * 3];
    assert_error(gan_image_decode_mem(NULL, b, n, 3, 12, 16, 0), GAN_EINVAL, "gan_image_decode_mem: 'out' is NULL");
    assert_error(gan_image_decode_mem(out, NULL, n, 3, 12, 16, 0), GAN_EINVAL, "'bytes' is NULL");
    assert_error(gan_image_decode_mem(out, b, n, 2, 12, 16, 0), GAN_EINVAL, "channels must be 1 or 3, got 2");
    assert_error(gan_image_decode_mem(out, b, n, 0, 12, 16, 0), GAN_EINVAL, "channels must be 1 or 3");
    assert_error(gan_image_decode_mem(out, b, n, 3, 0, 16, 0), GAN_EINVAL, "height and width must be in [1, 2^31 - 1]");
    assert_error(gan_image_decode_mem(out, b, n, 3, 12, 0, 0), GAN_EINVAL, "height and width");
    assert_error(gan_image_decode_mem(out, b, n, 3, (size_t)1 << 31, 1, 0), GAN_EINVAL, "height and width");
    assert_int_equal(gan_image_decode_mem(out, b, n, 3, 12, 16, 0), GAN_OK);
    free(b);
    const uint8_t px[4] = {1, 2, 3, 4};
    char path[4200];
    tmp_path(path, sizeof path, "null.png");
    assert_error(gan_image_write_png(NULL, px, 1, 1, 1), GAN_EINVAL, "gan_image_write_png: 'path' is NULL");
    assert_error(gan_image_write_png(path, NULL, 1, 1, 1), GAN_EINVAL, "'pixels' is NULL");
    assert_error(gan_image_write_png("", px, 1, 1, 1), GAN_EINVAL, "the path is empty");
    assert_error(gan_image_write_png(path, px, 1, 1, 0), GAN_EINVAL, "channels must be 1, 2, 3 or 4, got 0");
    assert_error(gan_image_write_png(path, px, 1, 1, 5), GAN_EINVAL, "channels must be 1, 2, 3 or 4, got 5");
    assert_error(gan_image_write_png(path, px, 0, 1, 1), GAN_EINVAL, "width and height must be in [1, 2^31 - 1]");
    assert_error(gan_image_write_png(path, px, 1, 0, 1), GAN_EINVAL, "width and height");
    assert_error(gan_image_write_png(path, px, (size_t)1 << 31, 1, 1), GAN_EINVAL, "width and height");
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
}

/* Each allocation failing in turn: GAN_ENOMEM, nothing leaked; libpng's allocations go
 * through the hook too. */
static void allocation_failures(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t c, h, w;
    } cases[] = {{"png-rgba16", 3, 5, 7}, {"png-rgba8-adam7", 1, 12, 16}, {"png-palette4-trns", 3, 30, 20},
                 {"jpeg-progressive", 3, 10, 10}, {"jpeg-grey", 1, 24, 32}, {"jpeg-cmyk", 3, 40, 40}};
    uint8_t out[40 * 40 * 3];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n, failures;
        uint8_t *b = seed(cases[i].name, &n);
        SWEEP(failures, gan_image_decode_mem(out, b, n, cases[i].c, cases[i].h, cases[i].w, 0), (void)0);
        assert_true(failures >= 1);
        free(b);
    }
    const uint8_t px[6 * 5 * 4] = {1, 2, 3};
    char path[4200];
    tmp_path(path, sizeof path, "sweep.png");
    size_t failures;
    SWEEP(failures, gan_image_write_png(path, px, 6, 5, 4), (void)0);
    assert_true(failures >= 3);
}

/* ------------------------------------------------------------------ writing */

/* Written, then decoded at the same size: the same pixels (alpha composited as stated). */
static void write_png_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[][2] = {{1, 1}, {7, 3}, {3, 7}, {64, 33}, {1, 300}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t c = 1; c <= 4; c++) {
            size_t w = sizes[s][0], h = sizes[s][1], npx = w * h, n;
            uint8_t *px = malloc(npx * c), *out = malloc(npx * 3), *want = malloc(npx * 3);
            for (size_t i = 0; i < npx * c; i++) px[i] = (uint8_t)(i * 37 + s * 11 + (i >> 3));
            uint8_t *b = png_of(px, w, h, c, &n);
            size_t oc = c == 1 || c == 2 ? 1 : 3;
            for (size_t i = 0; i < npx; i++)
                for (size_t k = 0; k < oc; k++) {
                    unsigned v = px[i * c + k];
                    if (c == 2 || c == 4) {
                        unsigned a = px[i * c + c - 1];
                        v = (a * v + (255 - a) * 255 + 127) / 255;
                    }
                    want[i * oc + k] = (uint8_t)v;
                }
            assert_int_equal(decode(out, b, n, oc, h, w, 0), GAN_OK);
            assert_memory_equal(out, want, npx * oc);
            free(px);
            free(out);
            free(want);
            free(b);
        }
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* A write that fails leaves the file that was there, and no temporary file. */
static void write_png_is_atomic(void **state)
{
    (void)state;
    char dir[4200], path[4400];
    tmp_path(dir, sizeof dir, "atomic");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/kept.png", dir);
    uint8_t px[32 * 32 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 131 + (i >> 5));
    assert_int_equal(gan_image_write_png(path, px, 32, 32, 3), GAN_OK);
    size_t before_n, after_n;
    uint8_t *before = test_read_file(path, &before_n);
    assert_non_null(before);
    /* a file size limit makes the write itself fail (works as root too) */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    uint8_t other[32 * 32 * 3];
    for (size_t i = 0; i < sizeof other; i++) other[i] = (uint8_t)(i * 17);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = gan_image_write_png(path, other, 32, 32, 3);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_error(rc, GAN_EIO, "writing failed (the old file, if any, is unchanged): File too large");
    assert_non_null(strstr(gan_error_last(), "kept.png"));
    uint8_t *after = test_read_file(path, &after_n);
    assert_int_equal(after_n, before_n);
    assert_memory_equal(after, before, before_n);
    free(after);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left */
    /* a directory in the way of the rename */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_error(gan_image_write_png(path, px, 32, 32, 3), GAN_EIO, "renaming the temporary file over it failed");
    assert_int_equal(count_entries(dir), 2);
    /* a missing directory */
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    assert_error(gan_image_write_png(path, px, 32, 32, 3), GAN_EIO,
                 "cannot create a temporary file beside it: No such file or directory");
    /* a directory that cannot be written (not for root, who may write anywhere) */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/kept.png", dir);
        assert_int_equal(chmod(dir, 0500), 0);
        assert_error(gan_image_write_png(path, other, 32, 32, 3), GAN_EIO, "Permission denied");
        assert_int_equal(chmod(dir, 0700), 0);
        after = test_read_file(path, &after_n);
        assert_memory_equal(after, before, before_n);
        free(after);
    }
    free(before);
    /* and a write that succeeds replaces the file whole */
    snprintf(path, sizeof path, "%s/kept.png", dir);
    assert_int_equal(gan_image_write_png(path, other, 32, 32, 3), GAN_OK);
    size_t n;
    uint8_t *b = test_read_file(path, &n), out[32 * 32 * 3];
    assert_int_equal(decode(out, b, n, 3, 32, 32, 0), GAN_OK);
    assert_memory_equal(out, other, sizeof other);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(conversion_follows_the_header),
        TEST(pixels_match_pil),
        TEST(corpus_seeds_decode),
        TEST(pixel_limit_and_flags),
        TEST(bombs_refused_before_allocating),
        TEST(not_png_or_jpeg),
        TEST(truncated_files),
        TEST(corrupted_bytes),
        TEST(null_and_invalid_arguments),
        TEST(allocation_failures),
        TEST(write_png_round_trip),
        TEST(write_png_is_atomic),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
