/* One image: PNG through libpng, JPEG through libjpeg-turbo, then the conversion that
 * gan.h states under gan_image_decode_mem() (docs/images.md); and writing a PNG file.
 *
 * A decoder hands its rows, as the file stores them (8 or 16 bits, with or without alpha,
 * grey, RGB or CMYK), to put_row(), which converts each pixel inside the box (the largest
 * centred box of the target's aspect ratio) to 8-bit grey or RGB and stores it in the box
 * buffer: the caller's `out` itself when the box is the target's size, else a buffer of
 * the box. resample() then takes the box to the target, each axis by its own rule (area
 * averaging, bilinear, or a copy). Interlaced PNG rows come pass by pass and are put in
 * their place, so no decoder keeps more than one row of the file's pixels.
 *
 * Errors: libpng's and libjpeg's are caught with setjmp in the one function that calls
 * them (decode_png, decode_jpeg), whose own locals never change after setjmp: everything
 * they allocate is reached through the `dec` the caller holds, and freed there on every
 * path. libpng's warnings and libjpeg's messages are dropped (the library prints nothing);
 * a JPEG that ends early, which libjpeg only warns about, is an error here. libpng
 * allocates through the allocator hook (zlib's memory too); libjpeg through its own
 * manager, all of it released by jpeg_destroy_decompress. */
#define _POSIX_C_SOURCE 200809L

#include "image_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "file_impl.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

/* A progressive JPEG of more scans than this is refused: each scan walks the whole
 * image again, and a small file can hold thousands (libjpeg-turbo's fuzzers use 500). */
enum { MAX_JPEG_SCANS = 500 };

/* ------------------------------------------------------------------ flags */

int gan__image_flags(unsigned flags, uint64_t *max_pixels)
{
    if (flags & ~(unsigned)GAN__IMAGE_KNOWN_FLAGS)
        return gan__fail(GAN_EINVAL, "unknown flag bits 0x%x", flags & ~(unsigned)GAN__IMAGE_KNOWN_FLAGS);
    unsigned log2 = flags >> GAN__IMAGE_LIMIT_SHIFT & GAN__IMAGE_LIMIT_MASK;
    if (log2 > GAN__IMAGE_LIMIT_MAX)
        return gan__fail(GAN_EINVAL, "GAN_IMAGE_PIXEL_LIMIT(%u) is out of range [1, %d]", log2,
                         GAN__IMAGE_LIMIT_MAX);
    if (max_pixels) *max_pixels = (uint64_t)1 << (log2 ? log2 : GAN__IMAGE_LIMIT_DEFAULT);
    return GAN_OK;
}

/* ----------------------------------------------------------- conversion */

/* How a decoder's row stores a pixel. */
typedef enum src_kind {
    SRC_GREY,       /* 1 sample */
    SRC_GREY_ALPHA, /* 2 */
    SRC_RGB,        /* 3 */
    SRC_RGBA,       /* 4 */
    SRC_CMYK,       /* 4 inks, 8 bits (JPEG) */
    SRC_CMYK_INV    /* 4 inks stored inverted (a JPEG with an Adobe marker) */
} src_kind;

typedef struct dec {
    /* the call */
    const uint8_t *bytes;
    size_t size, pos;
    uint8_t *out;
    size_t c, oh, ow;  /* target channels, height, width */
    unsigned bg;       /* 255 or 0 */
    uint64_t max_pixels;
    /* the image, once its header is read */
    size_t w, h;
    src_kind kind;
    int depth16;       /* 16-bit samples (big-endian, PNG) */
    size_t bx, by, bw, bh; /* the box: offsets and size */
    size_t rx, ry, rw, rh; /* the pixels resampling reads: the box, and on an enlarging
                            * (bilinear) axis the pixel beyond each of its edges */
    uint8_t *box;      /* rw x rh x c bytes: out itself, or owned_box */
    uint8_t *owned_box;
    uint8_t *row;      /* one row of the file's pixels */
    /* failures caught by setjmp */
    int code;          /* GAN_EFORMAT or GAN_ENOMEM, 0 before any */
    int oom;           /* an allocation for libpng failed */
    char msg[200];     /* the decoder's message */
    /* libpng / libjpeg state, reached from the cleanup */
    png_structp png;
    png_infop info;
    struct jpeg_decompress_struct *jpg;
} dec;

static inline unsigned sample16(const uint8_t *p)
{
    return (((unsigned)p[0] << 8 | p[1]) + 128) / 257; /* round(v / 257) */
}

static inline unsigned composite(unsigned c, unsigned a, unsigned bg)
{
    return (a * c + (255 - a) * bg + 127) / 255; /* round((a c + (255 - a) bg) / 255) */
}

static inline unsigned muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return ((t >> 8) + t) >> 8; /* round(a b / 255), PIL's MULDIV255 */
}

/* One pixel of the file to the target's channels. */
static inline void put_pixel(const dec *d, uint8_t *dst, const uint8_t *p)
{
    unsigned r, g, b, a = 255;
    int grey = 0;
    switch (d->kind) {
    case SRC_GREY:
        r = g = b = d->depth16 ? sample16(p) : p[0];
        grey = 1;
        break;
    case SRC_GREY_ALPHA:
        r = g = b = d->depth16 ? sample16(p) : p[0];
        a = d->depth16 ? sample16(p + 2) : p[1];
        grey = 1;
        break;
    case SRC_RGB:
    case SRC_RGBA:
        if (d->depth16) {
            r = sample16(p), g = sample16(p + 2), b = sample16(p + 4);
            if (d->kind == SRC_RGBA) a = sample16(p + 6);
        } else {
            r = p[0], g = p[1], b = p[2];
            if (d->kind == SRC_RGBA) a = p[3];
        }
        break;
    default: { /* CMYK: PIL's cmyk2rgb on the inks (un-inverted for an Adobe file) */
        int inv = d->kind == SRC_CMYK_INV;
        unsigned nk = 255 - (inv ? 255u - p[3] : p[3]);
        r = nk - muldiv255(inv ? 255u - p[0] : p[0], nk);
        g = nk - muldiv255(inv ? 255u - p[1] : p[1], nk);
        b = nk - muldiv255(inv ? 255u - p[2] : p[2], nk);
        break;
    }
    }
    if (a != 255) {
        r = composite(r, a, d->bg);
        g = grey ? r : composite(g, a, d->bg);
        b = grey ? r : composite(b, a, d->bg);
    }
    if (d->c == 3) {
        dst[0] = (uint8_t)r, dst[1] = (uint8_t)g, dst[2] = (uint8_t)b;
    } else {
        dst[0] = (uint8_t)(grey ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16); /* PIL's L24 */
    }
}

static size_t bytes_per_pixel(const dec *d)
{
    static const size_t samples[] = {1, 2, 3, 4, 4, 4};
    return samples[d->kind] * (d->depth16 ? 2 : 1);
}

/* Row y of the file, n pixels of which pixel j sits at column x0 + j * step, into the
 * region resampling reads. */
static void put_row(dec *d, size_t y, const uint8_t *row, size_t n, size_t x0, size_t step)
{
    if (y < d->ry || y - d->ry >= d->rh) return;
    uint8_t *dst = d->box + (y - d->ry) * d->rw * d->c;
    size_t bpp = bytes_per_pixel(d);
    size_t j = 0;
    if (x0 < d->rx) j = (d->rx - x0 + step - 1) / step; /* the first pixel inside */
    for (; j < n; j++) {
        size_t x = x0 + j * step - d->rx;
        if (x >= d->rw) break;
        put_pixel(d, dst + x * d->c, row + j * bpp);
    }
}

/* Once the image's size is known: check the pixel limit, place the box, and find the
 * memory it goes to. */
static int start_image(dec *d, size_t w, size_t h)
{
    if (w == 0 || h == 0) return gan__fail(GAN_EFORMAT, "the image has %zu x %zu pixels", w, h);
    if ((uint64_t)w * h > d->max_pixels) { /* w, h < 2^32 */
        unsigned log2 = 0;
        while (((uint64_t)1 << log2) < d->max_pixels) log2++;
        return gan__fail(GAN_EFORMAT, "the image has %zu x %zu pixels, more than the limit of 2^%u "
                         "(GAN_IMAGE_PIXEL_LIMIT)", w, h, log2);
    }
    d->w = w;
    d->h = h;
    /* The largest centred box of the target's aspect ratio: sides below 2^32, products
     * below 2^64. */
    if ((uint64_t)w * d->oh >= (uint64_t)h * d->ow) {
        d->bh = h;
        d->bw = (size_t)((uint64_t)h * d->ow / d->oh);
        if (d->bw == 0) d->bw = 1;
    } else {
        d->bw = w;
        d->bh = (size_t)((uint64_t)w * d->oh / d->ow);
        if (d->bh == 0) d->bh = 1;
    }
    d->bx = (w - d->bw) / 2;
    d->by = (h - d->bh) / 2;
    /* Bilinear reads the image, not only the box (as PIL's resize(box=...) does): the
     * pixel beyond each edge of the box, where the image has one. */
    d->rx = d->bx;
    d->rw = d->bw;
    if (d->bw < d->ow) {
        d->rx -= d->bx > 0;
        d->rw += (d->bx > 0) + (d->bx + d->bw < w);
    }
    d->ry = d->by;
    d->rh = d->bh;
    if (d->bh < d->oh) {
        d->ry -= d->by > 0;
        d->rh += (d->by > 0) + (d->by + d->bh < h);
    }
    if (d->bw == d->ow && d->bh == d->oh) {
        d->box = d->out;
        return GAN_OK;
    }
    size_t n;
    if (gan__size_mul(d->rw, d->rh, &n) || gan__size_mul(n, d->c, &n))
        return gan__fail(GAN_ENOMEM, "out of memory (the image's box)"); /* not below 2^40 * 3 */
    d->owned_box = gan__malloc(n);
    if (!d->owned_box) return gan__fail(GAN_ENOMEM, "out of memory");
    d->box = d->owned_box;
    return GAN_OK;
}

static int alloc_row(dec *d, size_t bytes)
{
    d->row = gan__malloc(bytes ? bytes : 1);
    return d->row ? GAN_OK : gan__fail(GAN_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------- resampling */

typedef enum axis_mode { AXIS_COPY, AXIS_AREA, AXIS_BILINEAR } axis_mode;

/* One axis: box side s to target side n; the box starts at `off` in the region read,
 * which is `len` pixels long. */
typedef struct axis {
    size_t s, n, off, len;
    axis_mode mode;
    double denom; /* area: s (weights count 1/n-ths of a source pixel); else 1 */
} axis;

static axis make_axis(size_t s, size_t n, size_t off, size_t len)
{
    axis a = {s, n, off, len, s > n ? AXIS_AREA : s < n ? AXIS_BILINEAR : AXIS_COPY, s > n ? (double)s : 1.0};
    return a;
}

/* The most taps one output pixel of the axis has. */
static size_t max_taps(const axis *a)
{
    return a->mode == AXIS_AREA ? (a->s + a->n - 1) / a->n + 1 : a->mode == AXIS_BILINEAR ? 2 : 1;
}

/* The source pixels output k reads: *first and the count returned, their weights in w. */
static size_t taps(const axis *a, size_t k, size_t *first, double *w)
{
    uint64_t s = a->s, n = a->n;
    switch (a->mode) {
    case AXIS_AREA: { /* [k s, (k + 1) s) against pixel i's [i n, (i + 1) n), in 1/n-ths */
        uint64_t lo = k * s, hi = lo + s;
        uint64_t i0 = lo / n, i1 = (hi + n - 1) / n;
        for (uint64_t i = i0; i < i1; i++) {
            uint64_t a0 = i * n > lo ? i * n : lo, a1 = (i + 1) * n < hi ? (i + 1) * n : hi;
            w[i - i0] = (double)(a1 - a0);
        }
        *first = (size_t)i0 + a->off;
        return (size_t)(i1 - i0);
    }
    case AXIS_BILINEAR: { /* x = off + (k + 0.5) s / n - 0.5 = off + ((2k + 1) s - n) / 2n,
                           * clamped to the region, whose ends are the image's or beyond
                           * the reach of x */
        uint64_t num = (2 * k + 1) * s + 2 * n * a->off;
        if (num <= n) {
            *first = 0;
            w[0] = 1.0;
            return 1;
        }
        num -= n;
        uint64_t i = num / (2 * n), rem = num % (2 * n);
        if (i >= a->len - 1) {
            *first = a->len - 1;
            w[0] = 1.0;
            return 1;
        }
        *first = (size_t)i;
        if (rem == 0) {
            w[0] = 1.0;
            return 1;
        }
        double f = (double)rem / (double)(2 * n);
        w[0] = 1.0 - f;
        w[1] = f;
        return 2;
    }
    default:
        *first = k + a->off;
        w[0] = 1.0;
        return 1;
    }
}

/* The region (rw x rh x c) to the target (ow x oh x c): each output row is the vertical
 * combination of its source rows (one row of doubles), then each pixel the horizontal
 * combination of that row; exact sums of integer weights for area averaging, one
 * rounding at the end. */
static int resample(dec *d)
{
    axis ax = make_axis(d->bw, d->ow, d->bx - d->rx, d->rw), ay = make_axis(d->bh, d->oh, d->by - d->ry, d->rh);
    size_t c = d->c, tx = max_taps(&ax), ty = max_taps(&ay);
    size_t nw; /* x weights of every output column: at most s + n (area), 2n (bilinear), n */
    size_t bytes_first, bytes_count, bytes_wx, bytes_acc, bytes_wy;
    if (gan__size_mul(d->ow, sizeof(size_t), &bytes_first) || gan__size_mul(d->ow, sizeof(uint32_t), &bytes_count) ||
        (nw = d->bw + 2 * d->ow) < d->bw || gan__size_mul(nw + tx, sizeof(double), &bytes_wx) ||
        gan__size_mul(d->rw * c, sizeof(double), &bytes_acc) || gan__size_mul(ty, sizeof(double), &bytes_wy))
        return gan__fail(GAN_ENOMEM, "out of memory (resampling)");
    size_t *xfirst = gan__malloc(bytes_first);
    uint32_t *xcount = gan__malloc(bytes_count);
    double *wx = gan__malloc(bytes_wx), *acc = gan__malloc(bytes_acc), *wy = gan__malloc(bytes_wy);
    int rc = GAN_OK;
    if (!xfirst || !xcount || !wx || !acc || !wy) {
        rc = gan__fail(GAN_ENOMEM, "out of memory");
        goto done;
    }
    size_t used = 0;
    for (size_t k = 0; k < d->ow; k++) {
        xcount[k] = (uint32_t)taps(&ax, k, &xfirst[k], wx + used);
        used += xcount[k];
    }
    double inv = 1.0 / (ax.denom * ay.denom), denom = ax.denom * ay.denom;
    int exact = ax.mode != AXIS_BILINEAR && ay.mode != AXIS_BILINEAR; /* integer sums: divide */
    size_t row_len = d->rw * c;
    for (size_t y = 0; y < d->oh; y++) {
        size_t fy, ny = taps(&ay, y, &fy, wy);
        const uint8_t *src = d->box + fy * row_len;
        for (size_t i = 0; i < row_len; i++) acc[i] = wy[0] * src[i];
        for (size_t j = 1; j < ny; j++) {
            src += row_len;
            double wj = wy[j];
            for (size_t i = 0; i < row_len; i++) acc[i] += wj * src[i];
        }
        uint8_t *dst = d->out + y * d->ow * c;
        const double *w = wx;
        for (size_t x = 0; x < d->ow; x++) {
            const double *a = acc + xfirst[x] * c;
            for (size_t ch = 0; ch < c; ch++) {
                double sum = 0.0;
                for (uint32_t t = 0; t < xcount[x]; t++) sum += w[t] * a[t * c + ch];
                double v = floor((exact ? sum / denom : sum * inv) + 0.5);
                dst[x * c + ch] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
            }
            w += xcount[x];
        }
    }
done:
    gan__free(xfirst);
    gan__free(xcount);
    gan__free(wx);
    gan__free(acc);
    gan__free(wy);
    return rc;
}

/* -------------------------------------------------------------------- PNG */

/* libpng's allocations through the library's allocator; its mem_ptr is the flag that
 * tells a failure apart from a bad file. */
static png_voidp png_alloc(png_structp png, png_alloc_size_t size)
{
    int *oom = png_get_mem_ptr(png);
    void *p = gan__malloc(size);
    if (!p) *oom = 1;
    return p;
}

static void png_release(png_structp png, png_voidp p)
{
    (void)png;
    gan__free(p);
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    dec *d = png_get_error_ptr(png);
    if (!d->code) {
        d->code = d->oom ? GAN_ENOMEM : GAN_EFORMAT;
        snprintf(d->msg, sizeof d->msg, "%s", msg ? msg : "unknown error");
    }
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* silent: the library prints nothing */
}

static void png_on_read(png_structp png, png_bytep dst, size_t n)
{
    dec *d = png_get_io_ptr(png);
    if (n > d->size - d->pos) png_error(png, "the data ends early (truncated)");
    memcpy(dst, d->bytes + d->pos, n);
    d->pos += n;
}

/* Everything between setjmp and the cleanup: returns a status with its message set, or
 * leaves through png_on_error. */
static int png_body(dec *d)
{
    png_structp png = d->png;
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff); /* the pixel limit below is ours */
    png_set_read_fn(png, d, png_on_read);
    /* Chunks the conversion does not use are skipped unread: text, profiles, gamma (PIL
     * ignores them too), and chunks libpng does not know. */
    static const png_byte ignored[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0"
                                      "sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_read_info(png, d->info);
    png_uint_32 w, h;
    int depth, type, interlace;
    png_get_IHDR(png, d->info, &w, &h, &depth, &type, &interlace, NULL, NULL);
    int rc = start_image(d, w, h); /* the pixel limit, before libpng sizes its rows */
    if (rc) return rc;
    /* Palette to RGB, tRNS to alpha, 1/2/4-bit grey scaled to 8 bits; 16 bits are kept
     * (rounded to 8 by put_pixel, not truncated as png_set_strip_16 would). */
    png_set_expand(png);
    png_read_update_info(png, d->info);
    int channels = png_get_channels(png, d->info);
    depth = png_get_bit_depth(png, d->info);
    static const src_kind kinds[] = {SRC_GREY, SRC_GREY, SRC_GREY_ALPHA, SRC_RGB, SRC_RGBA};
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16))
        return gan__fail(GAN_EFORMAT, "bad PNG: %d channels of %d bits after expansion", channels, depth);
    d->kind = kinds[channels];
    d->depth16 = depth == 16;
    size_t rowbytes = png_get_rowbytes(png, d->info);
    if (rowbytes != (size_t)w * bytes_per_pixel(d))
        return gan__fail(GAN_EFORMAT, "bad PNG: rows of %zu bytes for %lu pixels", rowbytes, (unsigned long)w);
    rc = alloc_row(d, rowbytes);
    if (rc) return rc;
    if (interlace == PNG_INTERLACE_NONE) {
        for (size_t y = 0; y < h; y++) {
            png_read_row(png, d->row, NULL);
            put_row(d, y, d->row, w, 0, 1);
        }
    } else { /* Adam7 without libpng's interlace handling: each pass's rows in place */
        for (int pass = 0; pass < 7; pass++) {
            size_t cols = PNG_PASS_COLS(w, pass), rows = PNG_PASS_ROWS(h, pass);
            if (cols == 0 || rows == 0) continue;
            size_t x0 = PNG_COL_FROM_PASS_COL(0, pass), step = (size_t)1 << PNG_PASS_COL_SHIFT(pass);
            for (size_t r = 0; r < rows; r++) {
                png_read_row(png, d->row, NULL);
                put_row(d, PNG_ROW_FROM_PASS_ROW(r, pass), d->row, cols, x0, step);
            }
        }
    }
    return GAN_OK;
}

static int decode_png(dec *d)
{
    d->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, d, png_on_error, png_on_warning, &d->oom, png_alloc,
                                      png_release);
    if (!d->png) return gan__fail(GAN_ENOMEM, "out of memory");
    int rc;
    if (setjmp(png_jmpbuf(d->png))) {
        rc = d->code == GAN_ENOMEM ? gan__fail(GAN_ENOMEM, "out of memory")
                                   : gan__fail(GAN_EFORMAT, "bad PNG: %s", d->msg);
    } else {
        d->info = png_create_info_struct(d->png);
        rc = d->info ? png_body(d) : gan__fail(GAN_ENOMEM, "out of memory");
    }
    png_destroy_read_struct(&d->png, d->info ? &d->info : NULL, NULL);
    return rc;
}

/* ------------------------------------------------------------------- JPEG */

typedef struct jpg_err {
    struct jpeg_error_mgr pub;
    dec *d;
    jmp_buf jmp;
} jpg_err;

typedef struct jpg_state {
    struct jpeg_decompress_struct cinfo;
    jpg_err err;
    struct jpeg_progress_mgr progress;
} jpg_state;

static void jpg_fail(j_common_ptr cinfo, int code, const char *why)
{
    jpg_err *e = (jpg_err *)cinfo->err;
    if (!e->d->code) {
        e->d->code = code;
        if (why) snprintf(e->d->msg, sizeof e->d->msg, "%s", why);
        else (*cinfo->err->format_message)(cinfo, e->d->msg); /* JMSG_LENGTH_MAX (200) */
    }
    longjmp(e->jmp, 1);
}

static void jpg_error_exit(j_common_ptr cinfo)
{
    jpg_fail(cinfo, cinfo->err->msg_code == JERR_OUT_OF_MEMORY ? GAN_ENOMEM : GAN_EFORMAT, NULL);
}

/* Warnings (level -1) and traces are dropped, but for the end of the data: libjpeg would
 * fill the missing rows with grey and call it a warning. */
static void jpg_emit_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jpg_fail(cinfo, GAN_EFORMAT, "the data ends early (truncated)");
}

static void jpg_output_message(j_common_ptr cinfo)
{
    (void)cinfo; /* silent */
}

static void jpg_progress(j_common_ptr cinfo)
{
    j_decompress_ptr di = (j_decompress_ptr)cinfo;
    if (di->input_scan_number > MAX_JPEG_SCANS) {
        char why[80];
        snprintf(why, sizeof why, "more than %d scans", MAX_JPEG_SCANS);
        jpg_fail(cinfo, GAN_EFORMAT, why);
    }
}

static int jpeg_body(dec *d)
{
    struct jpeg_decompress_struct *ci = d->jpg;
    jpeg_mem_src(ci, d->bytes, (unsigned long)d->size);
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK)
        return gan__fail(GAN_EFORMAT, "bad JPEG: tables only, no image");
    int rc = start_image(d, ci->image_width, ci->image_height);
    if (rc) return rc;
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        d->kind = SRC_GREY;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        d->kind = SRC_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        d->kind = ci->saw_Adobe_marker ? SRC_CMYK_INV : SRC_CMYK;
        break;
    default:
        return gan__fail(GAN_EFORMAT, "bad JPEG: %d components in an unknown colour space", ci->num_components);
    }
    jpeg_start_decompress(ci);
    if (ci->output_width != ci->image_width || ci->output_height != ci->image_height ||
        (size_t)ci->output_components != bytes_per_pixel(d))
        return gan__fail(GAN_EFORMAT, "bad JPEG: unexpected output of %u x %u x %d", ci->output_width,
                         ci->output_height, ci->output_components);
    rc = alloc_row(d, (size_t)ci->output_width * (size_t)ci->output_components);
    if (rc) return rc;
    while (ci->output_scanline < ci->output_height) {
        size_t y = ci->output_scanline;
        JSAMPROW r = d->row;
        if (jpeg_read_scanlines(ci, &r, 1) != 1) return gan__fail(GAN_EFORMAT, "bad JPEG: no scanline %zu", y);
        put_row(d, y, d->row, d->w, 0, 1);
    }
    return GAN_OK;
}

static int decode_jpeg(dec *d)
{
    jpg_state *s = gan__malloc(sizeof *s);
    if (!s) return gan__fail(GAN_ENOMEM, "out of memory");
    memset(s, 0, sizeof *s);
    s->cinfo.err = jpeg_std_error(&s->err.pub);
    s->err.pub.error_exit = jpg_error_exit;
    s->err.pub.emit_message = jpg_emit_message;
    s->err.pub.output_message = jpg_output_message;
    s->err.d = d;
    s->progress.progress_monitor = jpg_progress;
    d->jpg = &s->cinfo;
    int rc;
    if (setjmp(s->err.jmp)) {
        rc = d->code == GAN_ENOMEM ? gan__fail(GAN_ENOMEM, "out of memory")
                                   : gan__fail(GAN_EFORMAT, "bad JPEG: %s", d->msg);
    } else {
        jpeg_create_decompress(&s->cinfo);
        s->cinfo.progress = &s->progress;
        rc = jpeg_body(d);
    }
    jpeg_destroy_decompress(&s->cinfo); /* safe after a failed create: mem is NULL then */
    d->jpg = NULL;
    gan__free(s);
    return rc;
}

/* ------------------------------------------------------------- the entry */

static const char *sniff_other(const uint8_t *b, size_t n)
{
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) return "a GIF image";
    if (n >= 2 && !memcmp(b, "BM", 2)) return "a BMP image";
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "a WebP image";
    if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return "a TIFF image";
    if (n >= 12 && !memcmp(b + 4, "ftyp", 4)) return "an ISO media file (HEIF, AVIF or video)";
    if (n >= 2 && !memcmp(b, "\x1f\x8b", 2)) return "gzip data";
    return NULL;
}

int gan__image_decode(uint8_t *out, const uint8_t *bytes, size_t size, size_t channels, size_t height,
                      size_t width, unsigned flags)
{
    if (channels != 1 && channels != 3) return gan__fail(GAN_EINVAL, "channels must be 1 or 3, got %zu", channels);
    if (height == 0 || width == 0 || height > GAN__IMAGE_MAX_SIDE || width > GAN__IMAGE_MAX_SIDE)
        return gan__fail(GAN_EINVAL, "height and width must be in [1, 2^31 - 1], got %zu and %zu", height, width);
    size_t total;
    if (gan__size_mul(height, width, &total) || gan__size_mul(total, channels, &total))
        return gan__fail(GAN_EINVAL, "%zu x %zu x %zu bytes overflow", height, width, channels);
    dec d;
    memset(&d, 0, sizeof d);
    int rc = gan__image_flags(flags, &d.max_pixels);
    if (rc) return rc;
    d.bytes = bytes;
    d.size = size;
    d.out = out;
    d.c = channels;
    d.oh = height;
    d.ow = width;
    d.bg = flags & GAN_IMAGE_BLACK ? 0 : 255;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size == 0) return gan__fail(GAN_EFORMAT, "no bytes: an empty file is not an image");
    if (size >= 8 && !memcmp(bytes, png_magic, 8)) rc = decode_png(&d);
    else if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) rc = decode_jpeg(&d);
    else {
        const char *what = sniff_other(bytes, size);
        return what ? gan__fail(GAN_EFORMAT, "%s, not PNG or JPEG", what)
                    : gan__fail(GAN_EFORMAT, "not a PNG or JPEG image (it starts with %02x %02x %02x %02x)",
                                bytes[0], size > 1 ? bytes[1] : 0, size > 2 ? bytes[2] : 0, size > 3 ? bytes[3] : 0);
    }
    if (!rc && d.box != d.out) rc = resample(&d);
    gan__free(d.owned_box);
    gan__free(d.row);
    return rc;
}

int gan_image_decode_mem(uint8_t *out, const void *bytes, size_t size, size_t channels, size_t height,
                         size_t width, unsigned flags)
{
    GAN_CHECK_ARG(out);
    GAN_CHECK_ARG(bytes);
    int rc = gan__image_decode(out, bytes, size, channels, height, width, flags);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

/* ---------------------------------------------------------------- writing */

typedef struct png_out {
    uint8_t *buf;
    size_t len, cap;
    int oom;
    char msg[200];
} png_out;

static void png_on_write(png_structp png, png_bytep src, size_t n)
{
    png_out *o = png_get_io_ptr(png);
    if (n > o->cap - o->len) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n) {
            if (cap > SIZE_MAX / 2) {
                o->oom = 1;
                png_error(png, "out of memory");
            }
            cap *= 2;
        }
        uint8_t *bigger = gan__malloc(cap);
        if (!bigger) {
            o->oom = 1;
            png_error(png, "out of memory");
        }
        if (o->len) memcpy(bigger, o->buf, o->len);
        gan__free(o->buf);
        o->buf = bigger;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, src, n);
    o->len += n;
}

static void png_on_flush(png_structp png)
{
    (void)png;
}

static void png_on_write_error(png_structp png, png_const_charp msg)
{
    png_out *o = png_get_error_ptr(png);
    snprintf(o->msg, sizeof o->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

typedef struct png_job {
    png_structp png;
    png_infop info;
    const uint8_t *pixels;
    size_t width, height, channels;
} png_job;

static void png_encode_body(png_job *j)
{
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_user_limits(j->png, 0x7fffffff, 0x7fffffff);
    png_set_IHDR(j->png, j->info, (png_uint_32)j->width, (png_uint_32)j->height, 8, types[j->channels - 1],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(j->png, j->info);
    size_t stride = j->width * j->channels;
    for (size_t y = 0; y < j->height; y++) png_write_row(j->png, (png_const_bytep)(j->pixels + y * stride));
    png_write_end(j->png, NULL);
}

/* The PNG file's bytes into o (owned by the caller, freed on failure too). */
static int png_encode(png_out *o, png_job *j)
{
    j->png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, o, png_on_write_error, png_on_warning, &o->oom,
                                       png_alloc, png_release);
    if (!j->png) return gan__fail(GAN_ENOMEM, "out of memory");
    int rc = GAN_OK;
    if (setjmp(png_jmpbuf(j->png))) {
        rc = o->oom ? gan__fail(GAN_ENOMEM, "out of memory") : gan__fail(GAN_EINVAL, "libpng: %s", o->msg);
    } else {
        png_set_write_fn(j->png, o, png_on_write, png_on_flush);
        j->info = png_create_info_struct(j->png);
        if (!j->info) rc = gan__fail(GAN_ENOMEM, "out of memory");
        else png_encode_body(j);
    }
    png_destroy_write_struct(&j->png, j->info ? &j->info : NULL);
    return rc;
}

static int write_bytes(void *ctx, int fd)
{
    const png_out *o = ctx;
    return gan__file_write_all(fd, o->buf, o->len);
}

int gan_image_write_png(const char *path, const uint8_t *pixels, size_t width, size_t height, size_t channels)
{
    GAN_CHECK_ARG(path);
    GAN_CHECK_ARG(pixels);
    const char *fn = __func__;
    if (channels < 1 || channels > 4)
        return gan__fail(GAN_EINVAL, "%s: channels must be 1, 2, 3 or 4, got %zu", fn, channels);
    size_t total;
    if (width == 0 || height == 0 || width > GAN__IMAGE_MAX_SIDE || height > GAN__IMAGE_MAX_SIDE ||
        gan__size_mul(width, height, &total) || gan__size_mul(total, channels, &total))
        return gan__fail(GAN_EINVAL, "%s: width and height must be in [1, 2^31 - 1] (and their pixels fit in "
                         "memory), got %zu and %zu", fn, width, height);
    if (!path[0]) return gan__fail(GAN_EINVAL, "%s: the path is empty", fn);
    png_out o;
    memset(&o, 0, sizeof o);
    png_job j = {NULL, NULL, pixels, width, height, channels};
    int rc = png_encode(&o, &j);
    if (!rc) rc = gan__file_write_atomic(path, write_bytes, &o);
    gan__free(o.buf);
    return rc ? gan__wrap(rc, "%s: '%s'", fn, path) : GAN_OK;
}
