/* Data sets: the IDX reader (raw or gzip, file or memory; an uncompressed file is mapped)
 * and writer, copies of the caller's floats, splits and the trainer's sampler. IDX and
 * image sets keep bytes; rows become floats in a batch (docs/data.md).
 * Every header field is checked before use and buffers grow only as real bytes arrive,
 * so a lying header or a gzip bomb fails cleanly without a large allocation (docs/data.md). */
#define _POSIX_C_SOURCE 200809L

#include "alloc_impl.h"
#include "dataset_impl.h"
#include "error_impl.h"
#include "file_impl.h"
#include "rng_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sys/mman.h>
#include <zlib.h>


struct gan_sampler {
    const gan_dataset *ds; /* borrowed */
    gan_sample_mode mode;
    int one_hot;
    size_t *perm;          /* GAN_SAMPLE_EPOCHS: this epoch's order */
    size_t pos;            /* next position in perm; n means "start a new epoch" */
    uint64_t epochs;       /* epochs completed */
    int rank, ranks;       /* the shard this sampler fills (gan_sampler_set_shard) */
    float lo, scale;       /* a row value v in [0, 1] becomes lo + scale v (gan_sampler_set_range) */
};

/* ------------------------------------------------------------ byte streams */

enum {
    CHUNK = 4096,         /* bytes moved per read; small enough for the stack */
    FIRST_CAP = 4096,     /* first buffer size (elements) when the stream's length is unknown */
    IDX_UBYTE = 0x08,     /* the only IDX element type we read */
    MAX_IMAGE_DIMS = 8,   /* count plus up to 7 image dimensions */
    IN_CHUNK = 16384      /* compressed bytes per refill */
};

/* A source of bytes: memory or a file, optionally gunzipped on the fly. */
typedef struct idx_stream {
    const char *fn;       /* public function, for messages */
    const char *name;     /* path, or "images"/"labels" */
    const uint8_t *mem;   /* memory source, or NULL */
    size_t mem_len;
    int fd;               /* file source, or -1 */
    uint64_t size;        /* raw length when known */
    int size_known;       /* memory and seekable files: yes; pipes: no */
    uint64_t raw_pos;     /* raw bytes pulled from the source */
    uint8_t peek[2];      /* bytes pushed back after sniffing the gzip magic */
    size_t npeek;
    int gzip;
    z_stream zs;
    int z_ready, z_done;
    uint8_t *in;          /* compressed input buffer (IN_CHUNK bytes) */
} idx_stream;

static int fail_fmt(const idx_stream *s, const char *what)
{
    return gan__fail(GAN_EFORMAT, "%s: %s: %s", s->fn, s->name, what);
}

/* Up to `want` raw bytes; *got < want only at the end of the source. */
static int raw_read(idx_stream *s, uint8_t *dst, size_t want, size_t *got)
{
    size_t n = 0;
    while (s->npeek && n < want) {
        dst[n++] = s->peek[0];
        s->peek[0] = s->peek[1];
        s->npeek--;
    }
    if (s->mem) {
        size_t left = s->mem_len - (size_t)s->raw_pos, k = want - n < left ? want - n : left;
        if (k) memcpy(dst + n, s->mem + s->raw_pos, k);
        n += k;
        s->raw_pos += k;
    } else if (n < want) {
        size_t k = 0;
        int rc = gan__file_read(s->fd, dst + n, want - n, &k);
        n += k;
        s->raw_pos += k;
        if (rc) return gan__wrap(rc, "%s: %s", s->fn, s->name);
    }
    *got = n;
    return GAN_OK;
}

/* zlib's allocations go through the library's allocator too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return gan__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    gan__free(p);
}

static int gz_start(idx_stream *s)
{
    s->in = gan__malloc(IN_CHUNK);
    if (!s->in) return gan__fail(GAN_ENOMEM, "%s: out of memory", s->fn);
    s->zs.zalloc = z_alloc;
    s->zs.zfree = z_free;
    s->zs.opaque = Z_NULL;
    int zr = inflateInit2(&s->zs, 16 + MAX_WBITS); /* 16: gzip wrapper only */
    if (zr == Z_MEM_ERROR) return gan__fail(GAN_ENOMEM, "%s: out of memory", s->fn);
    if (zr != Z_OK) return gan__fail(GAN_EFORMAT, "%s: %s: cannot start zlib (%d)", s->fn, s->name, zr);
    s->z_ready = 1;
    return GAN_OK;
}

/* Refill the compressed input; *eof set when the source is exhausted. */
static int gz_refill(idx_stream *s, int *eof)
{
    size_t got = 0;
    int rc = raw_read(s, s->in, IN_CHUNK, &got);
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)got;
    *eof = got == 0;
    return rc;
}

/* After one gzip member ends, another may follow (RFC 1952 allows concatenation). */
static int gz_member_end(idx_stream *s)
{
    int eof = 0, rc = s->zs.avail_in ? GAN_OK : gz_refill(s, &eof);
    if (rc) return rc;
    if (eof) s->z_done = 1;
    else if (inflateReset(&s->zs) != Z_OK) return fail_fmt(s, "cannot restart the gzip stream");
    return GAN_OK;
}

static int gz_read(idx_stream *s, uint8_t *dst, size_t want, size_t *got)
{
    s->zs.next_out = dst;
    s->zs.avail_out = (uInt)want;
    int rc = GAN_OK;
    while (!rc && s->zs.avail_out && !s->z_done) {
        int eof = 0;
        if (!s->zs.avail_in && (rc = gz_refill(s, &eof)) != GAN_OK) break;
        if (eof) {
            rc = fail_fmt(s, "truncated gzip stream");
            break;
        }
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) rc = gz_member_end(s);
        else if (zr == Z_MEM_ERROR) rc = gan__fail(GAN_ENOMEM, "%s: out of memory", s->fn);
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            rc = gan__fail(GAN_EFORMAT, "%s: %s: corrupt gzip stream (%s)", s->fn, s->name,
                           s->zs.msg ? s->zs.msg : "inflate failed");
    }
    *got = want - s->zs.avail_out;
    s->zs.next_out = NULL; /* dst is the caller's; keep no pointer to it */
    s->zs.avail_out = 0;
    return rc;
}

/* Sniff the gzip magic (1f 8b) and push the bytes back. */
static int stream_start(idx_stream *s)
{
    int rc = raw_read(s, s->peek, 2, &s->npeek);
    if (rc) return rc;
    if (s->npeek < 2 || s->peek[0] != 0x1f || s->peek[1] != 0x8b) return GAN_OK;
    s->gzip = 1;
    return gz_start(s);
}

static void stream_close(idx_stream *s)
{
    if (s->z_ready) inflateEnd(&s->zs);
    gan__free(s->in);
    gan__file_close(s->fd);
    s->fd = -1;
}

static int stream_read(idx_stream *s, uint8_t *dst, size_t want, size_t *got)
{
    if (s->gzip) return gz_read(s, dst, want, got);
    return raw_read(s, dst, want, got);
}

/* Bytes left in an uncompressed source of known size. */
static int stream_left(const idx_stream *s, uint64_t *left)
{
    if (s->gzip || !s->size_known) return 0;
    *left = s->size - s->raw_pos + s->npeek;
    return 1;
}

static int stream_read_exact(idx_stream *s, uint8_t *dst, size_t want, const char *what)
{
    size_t got = 0;
    int rc = stream_read(s, dst, want, &got);
    if (!rc && got < want) rc = fail_fmt(s, what);
    return rc;
}

static int open_mem(idx_stream *s, const char *fn, const char *name, const void *p, size_t len)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->fn = fn;
    s->name = name;
    s->mem = p;
    s->mem_len = len;
    s->size = len;
    s->size_known = 1;
    return stream_start(s);
}

/* The file's length when it is seekable; pipes are read with an unknown length. */
static int open_file(idx_stream *s, const char *fn, const char *path)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    s->name = path;
    int rc = gan__file_open(&s->fd, path, 0, &s->size, &s->size_known);
    if (rc) return gan__wrap(rc, "%s: '%s'", fn, path);
    return stream_start(s);
}

/* ------------------------------------------------------------------- IDX */

typedef struct idx_header {
    size_t n;       /* first dimension: items */
    size_t dim;     /* product of the other dimensions */
    size_t bytes;   /* n * dim: the data that must follow */
    size_t c, h, w; /* an item's shape: N x H x W is (1, H, W), N x H x W x C is (C, H, W),
                       any other (dim, 1, 1) */
    size_t size;    /* of the header: where the data starts */
} idx_header;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int check_magic(idx_stream *s, const uint8_t m[4], int labels)
{
    char msg[128];
    if (m[0] || m[1]) {
        snprintf(msg, sizeof msg, "not an IDX file (magic %02x %02x %02x %02x)", m[0], m[1], m[2], m[3]);
        return fail_fmt(s, msg);
    }
    if (m[2] != IDX_UBYTE) {
        snprintf(msg, sizeof msg, "IDX element type 0x%02x is not supported (only 0x08, unsigned byte)", m[2]);
        return fail_fmt(s, msg);
    }
    if (labels && m[3] != 1) {
        snprintf(msg, sizeof msg, "%u dimensions; a label file has exactly 1", (unsigned)m[3]);
        return fail_fmt(s, msg);
    }
    if (!labels && (m[3] < 2 || m[3] > MAX_IMAGE_DIMS)) {
        snprintf(msg, sizeof msg, "%u dimensions; an image file has 2 to %d (count, then the image's)",
                 (unsigned)m[3], MAX_IMAGE_DIMS);
        return fail_fmt(s, msg);
    }
    return GAN_OK;
}

/* Dimensions: none zero, and n * dim * sizeof(float) fits a size_t. */
static int check_dims(idx_stream *s, const uint8_t *p, unsigned ndims, idx_header *h)
{
    char msg[128];
    size_t dim = 1;
    for (unsigned i = 0; i < ndims; i++) {
        uint32_t d = be32(p + 4 * i);
        if (d == 0) {
            snprintf(msg, sizeof msg, "dimension %u is zero", i);
            return fail_fmt(s, msg);
        }
        if (i > 0 && gan__size_mul(dim, d, &dim)) return fail_fmt(s, "the dimensions' product overflows");
    }
    h->n = be32(p);
    if (dim > INT_MAX) return fail_fmt(s, "a row is wider than INT_MAX values");
    size_t floats;
    if (gan__size_mul(h->n, dim, &h->bytes) || gan__size_mul(h->bytes, sizeof(float), &floats))
        return fail_fmt(s, "the dimensions' product overflows");
    h->dim = dim;
    h->c = ndims == 3 ? 1 : ndims == 4 ? be32(p + 12) : dim;
    h->h = ndims == 3 || ndims == 4 ? be32(p + 4) : 1;
    h->w = ndims == 3 || ndims == 4 ? be32(p + 8) : 1;
    h->size = 4 + 4 * (size_t)ndims;
    return GAN_OK;
}

/* A raw source must hold exactly the data the header announces: checked before allocating. */
static int check_length(idx_stream *s, const idx_header *h)
{
    uint64_t left;
    if (!stream_left(s, &left) || left == h->bytes) return GAN_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "the header announces %zu data bytes but %llu %s", h->bytes,
             (unsigned long long)left, left < h->bytes ? "are present (truncated)" : "follow (trailing bytes)");
    return fail_fmt(s, msg);
}

static int read_header(idx_stream *s, int labels, idx_header *h)
{
    uint8_t m[4], dims[4 * MAX_IMAGE_DIMS];
    memset(h, 0, sizeof *h);
    int rc = stream_read_exact(s, m, 4, "truncated IDX header");
    if (!rc) rc = check_magic(s, m, labels);
    if (!rc) rc = stream_read_exact(s, dims, 4u * m[3], "truncated IDX header");
    if (!rc) rc = check_dims(s, dims, m[3], h);
    if (!rc) rc = check_length(s, h);
    return rc;
}

/* Store n bytes at element offset `at`. */
typedef void (*put_fn)(void *dst, size_t at, const uint8_t *src, size_t n);

static void put_bytes(void *dst, size_t at, const uint8_t *src, size_t n) { memcpy((uint8_t *)dst + at, src, n); }

static void put_labels(void *dst, size_t at, const uint8_t *src, size_t n)
{
    int *y = (int *)dst + at;
    for (size_t i = 0; i < n; i++) y[i] = src[i];
}

/* Grow *buf from cap to new_cap elements, keeping the first `used`. */
static int grow(const idx_stream *s, void **buf, size_t *cap, size_t new_cap, size_t used, size_t elem)
{
    void *p = gan__malloc(new_cap * elem); /* new_cap <= the header's total: no overflow */
    if (!p) return gan__fail(GAN_ENOMEM, "%s: out of memory", s->fn);
    if (used) memcpy(p, *buf, used * elem);
    gan__free(*buf);
    *buf = p;
    *cap = new_cap;
    return GAN_OK;
}

/* Read the `total` data bytes. Of unknown length (gzip, pipes), the buffer grows only as
 * bytes arrive, so a header that lies costs at most twice the real data. */
static int read_body(idx_stream *s, size_t total, size_t elem, put_fn put, void **out)
{
    uint64_t left;
    size_t cap = 0, done = 0, first = stream_left(s, &left) || total < FIRST_CAP ? total : FIRST_CAP;
    void *buf = NULL;
    int rc = grow(s, &buf, &cap, first, 0, elem);
    while (!rc && done < total) {
        if (done == cap) rc = grow(s, &buf, &cap, cap > total - cap ? total : 2 * cap, done, elem);
        uint8_t chunk[CHUNK];
        size_t want = cap - done < CHUNK ? cap - done : CHUNK, got = 0;
        if (!rc) rc = stream_read(s, chunk, want, &got);
        if (!rc && got == 0) rc = fail_fmt(s, "truncated IDX data");
        if (!rc) put(buf, done, chunk, got);
        done += got;
    }
    if (rc) gan__free(buf);
    else *out = buf;
    return rc;
}

/* Nothing may follow the data; for gzip this also checks the stream's CRC. */
static int expect_end(idx_stream *s)
{
    uint8_t extra;
    size_t got = 0;
    int rc = stream_read(s, &extra, 1, &got);
    if (!rc && got) rc = fail_fmt(s, "trailing bytes after the IDX data");
    return rc;
}

static size_t max_label_plus_one(const int *labels, size_t n)
{
    int max = 0;
    for (size_t i = 0; i < n; i++) max = labels[i] > max ? labels[i] : max;
    return (size_t)max + 1;
}

/* An uncompressed regular file's bytes, mapped read-only: the data set may then be larger
 * than memory, and only the rows drawn are ever read. NULL for any other source, or when
 * mapping fails (the file is then read). */
static void *map_source(const idx_stream *s, size_t *len)
{
    if (s->fd < 0 || s->gzip || !s->size_known || s->size == 0 || s->size > SIZE_MAX) return NULL;
    void *p = mmap(NULL, (size_t)s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (p == MAP_FAILED) return NULL;
    /* Samplers draw rows at random: read ahead of a row, the kernel would bring in its
     * neighbours too (six times the rows drawn, on a 4 GB file). */
    (void)posix_madvise(p, (size_t)s->size, POSIX_MADV_RANDOM);
    *len = (size_t)s->size;
    return p;
}

/* Both headers first, so a count mismatch fails before any data is read. */
static int load_streams(gan_dataset **out, idx_stream *img, idx_stream *lbl)
{
    idx_header hi, hl = {0};
    int rc = read_header(img, 0, &hi);
    if (!rc && lbl) rc = read_header(lbl, 1, &hl);
    if (!rc && lbl && hl.n != hi.n)
        rc = gan__fail(GAN_EFORMAT, "%s: %s has %zu labels but %s has %zu images", img->fn, lbl->name, hl.n,
                       img->name, hi.n);
    if (rc) return rc;
    gan_dataset *ds = gan__calloc(1, sizeof *ds);
    if (!ds) return gan__fail(GAN_ENOMEM, "%s: out of memory", img->fn);
    void *bytes = NULL, *labels = NULL;
    if ((ds->map = map_source(img, &ds->map_len))) { /* check_length saw the data's exact size */
        ds->bytes = (const uint8_t *)ds->map + hi.size;
    } else {
        rc = read_body(img, hi.bytes, 1, put_bytes, &bytes);
        ds->bytes = ds->owned = bytes;
        if (!rc) rc = expect_end(img);
    }
    if (!rc && lbl) rc = read_body(lbl, hl.bytes, sizeof(int), put_labels, &labels);
    ds->labels = labels;
    if (!rc && lbl) rc = expect_end(lbl);
    if (rc) {
        gan_dataset_free(ds);
        return rc;
    }
    ds->n = hi.n;
    ds->dim = hi.dim;
    ds->c = hi.c;
    ds->h = hi.h;
    ds->w = hi.w;
    ds->num_classes = lbl ? max_label_plus_one(ds->labels, ds->n) : 0;
    *out = ds;
    return GAN_OK;
}

int gan_dataset_load_idx(gan_dataset **out, const char *images_path, const char *labels_path)
{
    static const char fn[] = "gan_dataset_load_idx";
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(images_path);
    idx_stream img, lbl = {.fd = -1}; /* closing a stream that was never opened is a no-op */
    int rc = open_file(&img, fn, images_path);
    if (!rc && labels_path) rc = open_file(&lbl, fn, labels_path);
    if (!rc) rc = load_streams(out, &img, labels_path ? &lbl : NULL);
    stream_close(&img);
    stream_close(&lbl);
    return rc;
}

int gan_dataset_load_idx_mem(gan_dataset **out, const void *images, size_t images_size, const void *labels,
                             size_t labels_size)
{
    static const char fn[] = "gan_dataset_load_idx_mem";
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(images);
    idx_stream img, lbl = {.fd = -1};
    int rc = open_mem(&img, fn, "images", images, images_size);
    if (!rc && labels) rc = open_mem(&lbl, fn, "labels", labels, labels_size);
    if (!rc) rc = load_streams(out, &img, labels ? &lbl : NULL);
    stream_close(&img);
    stream_close(&lbl);
    return rc;
}

/* ------------------------------------------------------------ IDX writer */

/* An IDX file being written: its header, then `n` bytes of `body` or of the labels. */
typedef struct idx_out {
    uint8_t head[4 + 4 * 4];
    size_t head_len;
    const uint8_t *body;
    const int *labels; /* labels as bytes, when body is NULL */
    size_t n;
} idx_out;

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int write_idx(void *arg, int fd)
{
    const idx_out *o = arg;
    int e = gan__file_write_all(fd, o->head, o->head_len);
    if (e || o->body) return e ? e : gan__file_write_all(fd, o->body, o->n);
    uint8_t chunk[CHUNK];
    for (size_t i = 0; i < o->n && !e; i += CHUNK) {
        size_t k = o->n - i < CHUNK ? o->n - i : CHUNK;
        for (size_t j = 0; j < k; j++) chunk[j] = (uint8_t)o->labels[i + j];
        e = gan__file_write_all(fd, chunk, k);
    }
    return e;
}

/* The header of n items of the given dimensions (at most 4 with the count). */
static void idx_head(idx_out *o, const uint32_t *dims, unsigned ndims)
{
    o->head[0] = o->head[1] = 0;
    o->head[2] = IDX_UBYTE;
    o->head[3] = (uint8_t)ndims;
    for (unsigned i = 0; i < ndims; i++) put_be32(o->head + 4 + 4 * i, dims[i]);
    o->head_len = 4 + 4 * (size_t)ndims;
}

int gan_dataset_save_idx(const gan_dataset *ds, const char *images_path, const char *labels_path)
{
    GAN_CHECK_ARG(ds);
    GAN_CHECK_ARG(images_path);
    if (!ds->bytes)
        return gan__fail(GAN_EINVAL, "%s: the data set holds floats (gan_dataset_create_from_floats); only sets of "
                                     "bytes (images, IDX files) pack into IDX bytes", __func__);
    if (labels_path && !ds->labels) return gan__fail(GAN_EINVAL, "%s: a labels path for a set without labels", __func__);
    if (labels_path && ds->num_classes > 256)
        return gan__fail(GAN_EINVAL, "%s: %zu classes; IDX labels are bytes (at most 256 classes)", __func__,
                         ds->num_classes);
    int image = ds->h > 1 || ds->w > 1;
    uint32_t dims[4] = {0};
    size_t values[4] = {ds->n, image ? ds->h : ds->dim, ds->w, ds->c};
    unsigned ndims = !image ? 2 : ds->c == 1 ? 3 : 4;
    for (unsigned i = 0; i < ndims; i++) {
        if (values[i] > UINT32_MAX)
            return gan__fail(GAN_EINVAL, "%s: dimension %u is %zu, above IDX's 2^32 - 1", __func__, i, values[i]);
        dims[i] = (uint32_t)values[i];
    }
    idx_out o = {.body = ds->bytes, .n = ds->n * ds->dim};
    idx_head(&o, dims, ndims);
    int rc = gan__file_write_atomic(images_path, write_idx, &o);
    if (rc) return gan__wrap(rc, "%s: '%s'", __func__, images_path);
    if (!labels_path) return GAN_OK;
    o = (idx_out){.labels = ds->labels, .n = ds->n};
    idx_head(&o, dims, 1);
    rc = gan__file_write_atomic(labels_path, write_idx, &o);
    return rc ? gan__wrap(rc, "%s: '%s'", __func__, labels_path) : GAN_OK;
}

/* ------------------------------------------------------ from the caller's floats */

/* Rows a sampler can draw from: gan__rng_below takes at most 2^48. */
#define MAX_ROWS ((uint64_t)1 << 48)

/* n labels take no more bytes than the n x dim floats, whose size was checked. */
_Static_assert(sizeof(int) <= sizeof(float), "labels must fit where the floats do");

/* An empty data set of n rows of `like`'s kind (floats, or bytes of its shape). */
static gan_dataset *new_dataset(size_t n, size_t dim, int labelled, const gan_dataset *like)
{
    if (like && like->bytes) return gan__dataset_new_bytes(n, like->c, like->h, like->w, labelled);
    gan_dataset *ds = gan__calloc(1, sizeof *ds);
    if (!ds) return NULL;
    ds->x = gan__malloc(n * dim * sizeof(float)); /* fits: checked by the caller */
    ds->labels = labelled ? gan__malloc(n * sizeof(int)) : NULL;
    if (!ds->x || (labelled && !ds->labels)) {
        gan_dataset_free(ds);
        return NULL;
    }
    ds->n = n;
    ds->dim = ds->c = dim;
    ds->h = ds->w = 1;
    return ds;
}

gan_dataset *gan__dataset_new_bytes(size_t n, size_t c, size_t h, size_t w, int labelled)
{
    gan_dataset *ds = gan__calloc(1, sizeof *ds);
    if (!ds) return NULL;
    ds->dim = c * h * w; /* n x dim fits: checked by the caller */
    ds->bytes = ds->owned = gan__malloc(n * ds->dim > 0 ? n * ds->dim : 1);
    ds->labels = labelled ? gan__malloc(n * sizeof(int)) : NULL;
    if (!ds->owned || (labelled && !ds->labels)) {
        gan_dataset_free(ds);
        return NULL;
    }
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    return ds;
}

static int check_floats(const char *fn, const float *rows, size_t n, size_t dim, const int *labels,
                        size_t num_classes)
{
    size_t count, bytes;
    if (n == 0 || dim == 0)
        return gan__fail(GAN_EINVAL, "%s: n and dim must be positive, got %zu and %zu", fn, n, dim);
    if (dim > INT_MAX) return gan__fail(GAN_EINVAL, "%s: dim must be at most %d, got %zu", fn, INT_MAX, dim);
    if ((uint64_t)n > MAX_ROWS) return gan__fail(GAN_EINVAL, "%s: n must be at most 2^48, got %zu", fn, n);
    if (gan__size_mul(n, dim, &count) || gan__size_mul(count, sizeof(float), &bytes))
        return gan__fail(GAN_EINVAL, "%s: %zu rows of %zu floats overflow", fn, n, dim);
    if (!labels && num_classes)
        return gan__fail(GAN_EINVAL, "%s: num_classes is %zu but 'labels' is NULL (pass 0 without labels)", fn,
                         num_classes);
    if (labels && (num_classes == 0 || num_classes > INT_MAX))
        return gan__fail(GAN_EINVAL, "%s: num_classes must be in [1, %d] with labels, got %zu", fn, INT_MAX,
                         num_classes);
    if (labels)
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || (size_t)labels[i] >= num_classes)
                return gan__fail(GAN_EINVAL, "%s: label %zu is %d, not in [0, %zu)", fn, i, labels[i], num_classes);
    /* A NaN or Inf would only surface steps later, as a trainer's GAN_EDIVERGED. */
    for (size_t i = 0; i < count; i++)
        if (!isfinite(rows[i]))
            return gan__fail(GAN_EINVAL, "%s: row %zu, column %zu is not finite (%g)", fn, i / dim, i % dim,
                             (double)rows[i]);
    return GAN_OK;
}

int gan_dataset_create_from_floats(gan_dataset **out, const float *rows, size_t n, size_t dim, const int *labels,
                                   size_t num_classes)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(rows);
    int rc = check_floats(__func__, rows, n, dim, labels, num_classes);
    if (rc) return rc;
    gan_dataset *ds = new_dataset(n, dim, labels != NULL, NULL);
    if (!ds) return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
    memcpy(ds->x, rows, n * dim * sizeof(float));
    if (labels) memcpy(ds->labels, labels, n * sizeof(int));
    ds->num_classes = num_classes;
    *out = ds;
    return GAN_OK;
}

void gan_dataset_free(gan_dataset *ds)
{
    if (!ds) return;
    gan__free(ds->x);
    gan__free(ds->owned);
    if (ds->map) munmap(ds->map, ds->map_len);
    gan__free(atomic_load(&ds->row_cache));
    gan__free(ds->labels);
    gan__free(ds->class_names);
    gan__free(ds->skipped_names);
    gan__free(ds);
}

size_t gan_dataset_size(const gan_dataset *ds) { return ds ? ds->n : 0; }
size_t gan_dataset_dim(const gan_dataset *ds) { return ds ? ds->dim : 0; }
size_t gan_dataset_num_classes(const gan_dataset *ds) { return ds ? ds->num_classes : 0; }

/* A byte as a row value: byte / 255, the value IDX sets held as floats before 0.3. */
static inline float byte_value(uint8_t b) { return (float)b / 255.0f; }

static void bytes_to_floats(float *restrict dst, const uint8_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = byte_value(src[i]);
}

const float *gan_dataset_row(const gan_dataset *ds, size_t i)
{
    if (!ds || i >= ds->n) return NULL;
    if (ds->x) return ds->x + i * ds->dim;
    /* The 0.1 contract: floats that live as long as the set. Readers of a const set may be
     * on several threads: a first call that loses the race to publish its copy frees it. */
    gan_dataset *set = (gan_dataset *)ds;
    float *cache = atomic_load(&set->row_cache);
    if (!cache) {
        float *mine = gan__malloc(ds->n * ds->dim * sizeof(float)); /* fits: checked at loading */
        if (!mine) {
            gan__fail(GAN_ENOMEM, "gan_dataset_row: out of memory for the floats of %zu rows", ds->n);
            return NULL;
        }
        bytes_to_floats(mine, ds->bytes, ds->n * ds->dim);
        cache = NULL;
        if (atomic_compare_exchange_strong(&set->row_cache, &cache, mine)) cache = mine;
        else gan__free(mine); /* cache is the winner's */
    }
    return cache + i * ds->dim;
}

int gan_dataset_get_rows(const gan_dataset *ds, size_t first, size_t n, float *dst)
{
    GAN_CHECK_ARG(ds);
    if (n && !dst) return gan__fail(GAN_EINVAL, "%s: 'dst' is NULL", __func__);
    if (first > ds->n || n > ds->n - first)
        return gan__fail(GAN_EINVAL, "%s: rows [%zu, %zu + %zu) of a data set of %zu", __func__, first, first, n,
                         ds->n);
    if (ds->x) memcpy(dst, ds->x + first * ds->dim, n * ds->dim * sizeof *dst);
    else bytes_to_floats(dst, ds->bytes + first * ds->dim, n * ds->dim);
    return GAN_OK;
}

int gan_dataset_shape(const gan_dataset *ds, size_t *channels, size_t *height, size_t *width)
{
    GAN_CHECK_ARG(ds);
    if (channels) *channels = ds->c;
    if (height) *height = ds->h;
    if (width) *width = ds->w;
    return GAN_OK;
}

/* The k-th of the names in `names`, each ended by '\0'; NULL past the last of `count`. */
static const char *nth_name(const char *names, size_t count, size_t k)
{
    if (!names || k >= count) return NULL;
    for (; k; k--) names += strlen(names) + 1;
    return names;
}

const char *gan_dataset_class_name(const gan_dataset *ds, size_t k)
{
    return ds ? nth_name(ds->class_names, ds->num_classes, k) : NULL;
}

size_t gan_dataset_num_skipped(const gan_dataset *ds) { return ds ? ds->skipped : 0; }

const char *gan_dataset_skipped_name(const gan_dataset *ds, size_t k)
{
    return ds ? nth_name(ds->skipped_names, ds->skipped < GAN__SKIPPED_NAMES ? ds->skipped : GAN__SKIPPED_NAMES, k)
              : NULL;
}

int gan_dataset_label(const gan_dataset *ds, size_t i)
{
    return ds && ds->labels && i < ds->n ? ds->labels[i] : -1;
}

/* Fisher-Yates: every permutation equally likely, whatever the starting order. */
static void shuffle(size_t *perm, size_t n, gan_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = gan__rng_below(rng, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* ------------------------------------------------------------------ split */

/* Copy rows order[from .. from + dst->n) of src (identity order when NULL). */
static void copy_rows(gan_dataset *dst, const gan_dataset *src, const size_t *order, size_t from)
{
    size_t d = src->dim;
    for (size_t i = 0; i < dst->n; i++) {
        size_t r = order ? order[from + i] : from + i;
        if (src->x) memcpy(dst->x + i * d, src->x + r * d, d * sizeof(float));
        else memcpy(dst->owned + i * d, src->bytes + r * d, d);
        if (src->labels) dst->labels[i] = src->labels[r];
    }
    dst->num_classes = src->num_classes; /* both halves keep the parent's condition width */
}

/* Both halves keep the parent's class names too. */
static int copy_names(gan_dataset *dst, const gan_dataset *src)
{
    if (!src->class_names) return GAN_OK;
    const char *last = nth_name(src->class_names, src->num_classes, src->num_classes - 1);
    size_t len = (size_t)(last - src->class_names) + strlen(last) + 1;
    if (!(dst->class_names = gan__malloc(len))) return GAN_ENOMEM;
    memcpy(dst->class_names, src->class_names, len);
    return GAN_OK;
}

int gan_dataset_split(gan_dataset **first, gan_dataset **second, const gan_dataset *ds, size_t n_first,
                      gan_rng *rng)
{
    static const char fn[] = "gan_dataset_split";
    if (first) *first = NULL;
    if (second) *second = NULL;
    GAN_CHECK_ARG(first);
    GAN_CHECK_ARG(second);
    GAN_CHECK_ARG(ds);
    if (ds->n < 2 || n_first == 0 || n_first >= ds->n)
        return gan__fail(GAN_EINVAL, "%s: n_first must be in [1, %zu] for %zu rows, got %zu", fn,
                         ds->n > 1 ? ds->n - 1 : 0, ds->n, n_first);
    /* Allocate everything before drawing, so a failure leaves the rng untouched. */
    size_t *order = rng ? gan__calloc(ds->n, sizeof *order) : NULL;
    gan_dataset *a = new_dataset(n_first, ds->dim, ds->labels != NULL, ds);
    gan_dataset *b = new_dataset(ds->n - n_first, ds->dim, ds->labels != NULL, ds);
    if (!a || !b || (rng && !order) || copy_names(a, ds) || copy_names(b, ds)) {
        gan__free(order);
        gan_dataset_free(a);
        gan_dataset_free(b);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    if (order) {
        for (size_t i = 0; i < ds->n; i++) order[i] = i;
        shuffle(order, ds->n, rng);
    }
    copy_rows(a, ds, order, 0);
    copy_rows(b, ds, order, n_first);
    gan__free(order);
    *first = a;
    *second = b;
    return GAN_OK;
}

/* ---------------------------------------------------------------- sampler */

int gan_sampler_create(gan_sampler **out, const gan_dataset *ds, gan_sample_mode mode, int one_hot_labels)
{
    static const char fn[] = "gan_sampler_create";
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(ds);
    if (mode != GAN_SAMPLE_UNIFORM && mode != GAN_SAMPLE_EPOCHS)
        return gan__fail(GAN_EINVAL, "%s: unknown sample mode %d", fn, (int)mode);
    if (one_hot_labels && !ds->labels)
        return gan__fail(GAN_EINVAL, "%s: one-hot labels asked for, but the data set has no labels", fn);
    gan_sampler *s = gan__calloc(1, sizeof *s);
    if (s && mode == GAN_SAMPLE_EPOCHS) s->perm = gan__calloc(ds->n, sizeof *s->perm);
    if (!s || (mode == GAN_SAMPLE_EPOCHS && !s->perm)) {
        gan_sampler_free(s);
        return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    }
    s->ds = ds;
    s->mode = mode;
    s->one_hot = one_hot_labels != 0;
    s->pos = ds->n; /* the first draw starts (and shuffles) epoch 1 */
    s->ranks = 1;
    s->scale = 1.0f;
    *out = s;
    return GAN_OK;
}

void gan_sampler_free(gan_sampler *s)
{
    if (!s) return;
    gan__free(s->perm);
    gan__free(s);
}

int gan_sampler_set_shard(gan_sampler *s, int rank, int ranks)
{
    GAN_CHECK_ARG(s);
    if (ranks < 1 || rank < 0 || rank >= ranks)
        return gan__fail(GAN_EINVAL, "%s: rank %d of %d ranks is out of range", __func__, rank, ranks);
    s->rank = rank;
    s->ranks = ranks;
    return GAN_OK;
}

int gan_sampler_set_range(gan_sampler *s, float lo, float hi)
{
    GAN_CHECK_ARG(s);
    if (!(isfinite(lo) && isfinite(hi) && lo < hi && isfinite(hi - lo)))
        return gan__fail(GAN_EINVAL, "%s: the range must be finite with lo < hi, got [%g, %g]", __func__, (double)lo,
                         (double)hi);
    s->lo = lo;
    s->scale = hi - lo;
    return GAN_OK;
}

uint64_t gan_sampler_epoch(const gan_sampler *s)
{
    return s ? s->epochs : 0;
}

static size_t next_row(gan_sampler *s, gan_rng *rng)
{
    size_t n = s->ds->n;
    if (s->mode == GAN_SAMPLE_UNIFORM) return gan__rng_below(rng, n);
    if (s->pos == n) {
        /* Each epoch's order depends on the rng alone, not on the last epoch's: a run
         * resumed from a checkpoint at an epoch boundary draws the same rows. */
        for (size_t i = 0; i < n; i++) s->perm[i] = i;
        shuffle(s->perm, n, rng);
        s->pos = 0;
    }
    size_t r = s->perm[s->pos++];
    if (s->pos == n) s->epochs++;
    return r;
}

/* The trainer passes cond exactly when its condition size is non-zero. */
static int check_call(const gan_sampler *s, const float *x, const float *cond, size_t batch)
{
    static const char fn[] = "gan_dataset_sampler";
    if (batch && !x) return gan__fail(GAN_EINVAL, "%s: 'x' is NULL", fn);
    if (s->one_hot && !cond)
        return gan__fail(GAN_EINVAL, "%s: the sampler gives one-hot labels but 'cond' is NULL "
                         "(set the trainer's condition size to %zu)", fn, s->ds->num_classes);
    if (!s->one_hot && cond)
        return gan__fail(GAN_EINVAL, "%s: 'cond' was passed but the sampler has no labels "
                         "(create it with one_hot_labels, or set the condition size to 0)", fn);
    return GAN_OK;
}

/* Row r into the sampler's range: lo + scale v, v the row's value in [0, 1] (exactly v in
 * the default [0, 1]). */
static void put_row(const gan_sampler *s, size_t r, float *restrict dst)
{
    const gan_dataset *ds = s->ds;
    size_t d = ds->dim;
    float lo = s->lo, scale = s->scale;
    if (ds->x) {
        const float *src = ds->x + r * d;
        if (lo == 0.0f && scale == 1.0f) memcpy(dst, src, d * sizeof *dst);
        else
            for (size_t k = 0; k < d; k++) dst[k] = lo + scale * src[k];
    } else {
        const uint8_t *src = ds->bytes + r * d;
        for (size_t k = 0; k < d; k++) dst[k] = lo + scale * byte_value(src[k]);
    }
}

int gan_dataset_sampler(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    gan_sampler *s = payload;
    GAN_CHECK_ARG(s);
    GAN_CHECK_ARG(rng);
    int rc = check_call(s, x, cond, batch);
    if (rc) return rc;
    if (batch % (size_t)s->ranks)
        return gan__fail(GAN_EINVAL, "gan_dataset_sampler: a batch of %zu does not divide among the shard's %d ranks",
                         batch, s->ranks);
    const gan_dataset *ds = s->ds;
    size_t part = batch / (size_t)s->ranks, first = (size_t)s->rank * part;
    for (size_t i = 0; i < batch; i++) {
        size_t r = next_row(s, rng); /* every row's draw, so that the stream and the epoch stay global */
        if (i - first >= part) continue; /* another rank's row (i < first wraps around) */
        put_row(s, r, x + i * ds->dim);
        if (!s->one_hot) continue;
        float *c = cond + i * ds->num_classes;
        memset(c, 0, ds->num_classes * sizeof *c);
        c[ds->labels[r]] = 1.0f;
    }
    return GAN_OK;
}
