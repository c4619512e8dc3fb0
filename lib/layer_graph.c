/* Layer kinds for graphs (docs/layers.md): concat, add, slice, tile, upsample, avgpool,
 * global_sum, modulate and dot, one section each. None has parameters, state or
 * workspaces; each is a few plain loops over HWC rows (value (y, x, c) of a row at
 * ((y * W) + x) * C + c), bound by memory. Concat, add, modulate and dot take several
 * inputs (place_n, forward_n, backward_n); the others one. Backward overwrites dx (each
 * dx[k]) and skips a NULL one; nothing here allocates after construction.
 *
 * Encodings (after the record's kind and length, docs/file-format.md): concat and add
 * n_inputs u64; slice first u64, count u64; tile height u64, width u64; upsample factor
 * u64; avgpool size u64; global_sum, modulate and dot nothing (0 bytes). None is in
 * format version 1. */
#include "layer_kind_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The largest upsampling factor and pooling size. */
enum { MAX_FACTOR = 16 };

enum { COUNT_RECORD = 8, PAIR_RECORD = 16, EMPTY_RECORD = 0 };

/* ------------------------------------------------------------------ helpers */

static int refuse_v1(const char *kind)
{
    return gan__fail(GAN_EFORMAT, "%s layers are not in format version 1 (they came with libgan 0.3)", kind);
}

/* The decode of a kind with a record of `want` bytes: the version and length checked. */
static int check_record(const char *kind, size_t len, unsigned version, size_t want)
{
    if (version == 1) return refuse_v1(kind);
    return len == want ? GAN_OK : gan__bad_length(kind, len, want);
}

static size_t positions(gan_shape s) { return s.h * s.w; }

/* dst[r * dst_stride + j] = src[r * src_stride + j] for r < rows, j < width. */
static void copy_cols(float *restrict dst, size_t dst_stride, const float *restrict src, size_t src_stride,
                      size_t width, size_t rows)
{
    if (width == dst_stride && width == src_stride) {
        memcpy(dst, src, rows * width * sizeof *dst);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < width; j++) dst[r * dst_stride + j] = src[r * src_stride + j];
}

/* Per row of `rows`: dst's c values, the sums over the p positions of src's c channels
 * (tile's backward, global_sum's forward). */
static void position_sums(float *restrict dst, const float *restrict src, size_t rows, size_t p, size_t c)
{
    for (size_t b = 0; b < rows; b++) {
        float *d = dst + b * c;
        const float *s = src + b * p * c;
        for (size_t j = 0; j < c; j++) d[j] = s[j];
        for (size_t q = 1; q < p; q++)
            for (size_t j = 0; j < c; j++) d[j] += s[q * c + j];
    }
}

/* The adjoint: per row, src's c values at each of the p positions of dst (tile's
 * forward, global_sum's backward). */
static void position_repeat(float *restrict dst, const float *restrict src, size_t rows, size_t p, size_t c)
{
    for (size_t b = 0; b < rows; b++)
        for (size_t q = 0; q < p; q++) memcpy(dst + (b * p + q) * c, src + b * c, c * sizeof *dst);
}

/* dst (rows x cols pixels of c channels) = scale times the sums of the s x s blocks of src
 * ((rows * s) x (cols * s) pixels). Images of a batch are consecutive rows of pixels. */
static void block_sums(float *restrict dst, const float *restrict src, size_t rows, size_t cols, size_t c, size_t s,
                       float scale)
{
    size_t width = cols * c, src_width = cols * s * c;
    for (size_t r = 0; r < rows; r++) {
        float *d = dst + r * width;
        memset(d, 0, width * sizeof *d);
        for (size_t ky = 0; ky < s; ky++) {
            const float *g = src + (r * s + ky) * src_width;
            for (size_t x = 0; x < cols; x++)
                for (size_t kx = 0; kx < s; kx++)
                    for (size_t j = 0; j < c; j++) d[x * c + j] += g[(x * s + kx) * c + j];
        }
        if (scale != 1.0f)
            for (size_t i = 0; i < width; i++) d[i] *= scale;
    }
}

/* The adjoint: each pixel of src (rows x cols of c channels), times scale, over its s x s
 * block of dst ((rows * s) x (cols * s) pixels). */
static void block_repeat(float *restrict dst, const float *restrict src, size_t rows, size_t cols, size_t c, size_t s,
                         float scale)
{
    size_t width = cols * c, dst_width = cols * s * c;
    for (size_t r = 0; r < rows; r++) {
        const float *g = src + r * width;
        float *d = dst + r * s * dst_width;
        for (size_t x = 0; x < cols; x++)
            for (size_t kx = 0; kx < s; kx++)
                for (size_t j = 0; j < c; j++) d[(x * s + kx) * c + j] = g[x * c + j] * scale;
        for (size_t ky = 1; ky < s; ky++) memcpy(d + ky * dst_width, d, dst_width * sizeof *d);
    }
}

/* The n_inputs of concat and add: in [2, GAN__MAX_INPUTS]. */
static int check_inputs(const char *fn, size_t n)
{
    if (n < 2 || n > GAN__MAX_INPUTS)
        return gan__fail(GAN_EINVAL, "%s: n_inputs must be in [2, %d], got %zu", fn, GAN__MAX_INPUTS, n);
    return GAN_OK;
}

/* place_n's count: what the layer takes (the net checks it too). */
static int check_count(const gan_layer *l, size_t n, size_t index)
{
    if (n != l->n_in)
        return gan__fail(GAN_EINVAL, "%s layer %zu takes %zu inputs, got %zu", l->ops->name, index, l->n_in, n);
    return GAN_OK;
}

static size_t count_encode(const gan_layer *l, uint8_t *out)
{
    if (out) gan__put_u64(out, l->n_in);
    return COUNT_RECORD;
}

static size_t empty_encode(const gan_layer *l, uint8_t *out)
{
    (void)l;
    (void)out;
    return EMPTY_RECORD;
}

/* ------------------------------------------------------------------ concat */

/* Channels of the inputs side by side at each pixel: output channel off_k + j is input
 * k's channel j, off_k the channels of the inputs before k. */
typedef struct concat_layer {
    gan_layer base;
    size_t ch[GAN__MAX_INPUTS]; /* each input's channels, set by place_n */
} concat_layer;

static concat_layer *concat_of(gan_layer *l) { return (concat_layer *)l; }

static int concat_place_n(gan_layer *l, const gan_shape *in, size_t n, size_t index)
{
    int rc = check_count(l, n, index);
    if (rc) return rc;
    uint64_t channels = 0;
    for (size_t k = 0; k < n; k++) {
        if (in[k].h != in[0].h || in[k].w != in[0].w)
            return gan__fail(GAN_EINVAL, "concat layer %zu: input %zu is %zux%zu, input 0 is %zux%zu", index, k,
                             in[k].h, in[k].w, in[0].h, in[0].w);
        channels += in[k].c; /* each at most INT_MAX, at most 16 of them */
    }
    if (gan__check_shape(channels, in[0].h, in[0].w)) return gan__wrap(GAN_EINVAL, "concat layer %zu", index);
    for (size_t k = 0; k < n; k++) concat_of(l)->ch[k] = in[k].c;
    l->in = in[0];
    l->out = (gan_shape){(size_t)channels, in[0].h, in[0].w};
    return GAN_OK;
}

static void concat_forward_n(gan_layer *l, const float *const *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    const concat_layer *c = concat_of(l);
    size_t rows = batch * positions(l->out), width = l->out.c, off = 0;
    for (size_t k = 0; k < l->n_in; k++) {
        copy_cols(y + off, width, x[k], c->ch[k], c->ch[k], rows);
        off += c->ch[k];
    }
}

static void concat_backward_n(gan_layer *l, const float *const *x, const float *y, const float *dy, size_t batch,
                              float *const *dx, int grads)
{
    (void)x; (void)y; (void)grads;
    const concat_layer *c = concat_of(l);
    size_t rows = batch * positions(l->out), width = l->out.c, off = 0;
    for (size_t k = 0; k < l->n_in; k++) {
        if (dx[k]) copy_cols(dx[k], c->ch[k], dy + off, width, c->ch[k], rows);
        off += c->ch[k];
    }
}

static int concat_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("concat", len, version, COUNT_RECORD);
    return rc ? rc : gan_layer_concat(out, gan__field_size(gan__get_u64(p)));
}

static void concat_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->out.c)
        snprintf(buf, cap, "concat %zu inputs -> %zux%zux%zu", l->n_in, l->out.c, l->out.h, l->out.w);
    else snprintf(buf, cap, "concat %zu inputs", l->n_in);
}

const struct gan_layer_ops gan__concat_ops = {
    .name = "concat",
    .kind = GAN_LAYER_CONCAT,
    .size = sizeof(concat_layer),
    .place_n = concat_place_n,
    .forward_n = concat_forward_n,
    .backward_n = concat_backward_n,
    .encode = count_encode,
    .decode = concat_decode,
    .describe = concat_describe,
};

int gan_layer_concat(gan_layer **out, size_t n_inputs)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_inputs(__func__, n_inputs);
    if (!rc) rc = gan__layer_new(out, &gan__concat_ops, __func__);
    if (!rc) (*out)->n_in = n_inputs;
    return rc;
}

/* --------------------------------------------------------------------- add */

static int add_place_n(gan_layer *l, const gan_shape *in, size_t n, size_t index)
{
    int rc = check_count(l, n, index);
    if (rc) return rc;
    for (size_t k = 1; k < n; k++)
        if (in[k].c != in[0].c || in[k].h != in[0].h || in[k].w != in[0].w)
            return gan__fail(GAN_EINVAL, "add layer %zu: input %zu is %zux%zux%zu, input 0 is %zux%zux%zu", index, k,
                             in[k].c, in[k].h, in[k].w, in[0].c, in[0].h, in[0].w);
    l->in = l->out = in[0];
    return GAN_OK;
}

static void add_forward_n(gan_layer *l, const float *const *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    size_t n = batch * gan__shape_size(l->out);
    const float *restrict a = x[0], *restrict b = x[1];
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    for (size_t k = 2; k < l->n_in; k++) {
        const float *restrict c = x[k];
        for (size_t i = 0; i < n; i++) y[i] += c[i];
    }
}

static void add_backward_n(gan_layer *l, const float *const *x, const float *y, const float *dy, size_t batch,
                           float *const *dx, int grads)
{
    (void)x; (void)y; (void)grads;
    size_t n = batch * gan__shape_size(l->out);
    for (size_t k = 0; k < l->n_in; k++)
        if (dx[k]) memcpy(dx[k], dy, n * sizeof *dy);
}

static int add_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("add", len, version, COUNT_RECORD);
    return rc ? rc : gan_layer_add(out, gan__field_size(gan__get_u64(p)));
}

static void add_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->out.c) snprintf(buf, cap, "add %zu inputs of %zux%zux%zu", l->n_in, l->out.c, l->out.h, l->out.w);
    else snprintf(buf, cap, "add %zu inputs", l->n_in);
}

const struct gan_layer_ops gan__add_ops = {
    .name = "add",
    .kind = GAN_LAYER_ADD,
    .size = sizeof(gan_layer),
    .place_n = add_place_n,
    .forward_n = add_forward_n,
    .backward_n = add_backward_n,
    .encode = count_encode,
    .decode = add_decode,
    .describe = add_describe,
};

int gan_layer_add(gan_layer **out, size_t n_inputs)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_inputs(__func__, n_inputs);
    if (!rc) rc = gan__layer_new(out, &gan__add_ops, __func__);
    if (!rc) (*out)->n_in = n_inputs;
    return rc;
}

/* ------------------------------------------------------------------- slice */

typedef struct slice_layer {
    gan_layer base;
    size_t first, count;
} slice_layer;

static const slice_layer *slice_of(const gan_layer *l) { return (const slice_layer *)l; }

static int slice_place(gan_layer *l, gan_shape in, size_t index)
{
    const slice_layer *s = slice_of(l);
    if (s->first + s->count > in.c) /* both below INT_MAX: no wrap */
        return gan__fail(GAN_EINVAL,
                         "slice layer %zu takes channels [%zu, %zu) of an input of %zu channels (%zux%zux%zu)", index,
                         s->first, s->first + s->count, in.c, in.c, in.h, in.w);
    l->in = in;
    l->out = (gan_shape){s->count, in.h, in.w};
    return GAN_OK;
}

static void slice_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    const slice_layer *s = slice_of(l);
    copy_cols(y, s->count, x + s->first, l->in.c, s->count, batch * positions(l->in));
}

/* The channels outside the range get zeros. */
static void slice_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                           int grads)
{
    (void)x; (void)y; (void)grads;
    if (!dx) return;
    const slice_layer *s = slice_of(l);
    size_t c = l->in.c, rows = batch * positions(l->in), last = s->first + s->count;
    for (size_t r = 0; r < rows; r++) {
        float *d = dx + r * c;
        const float *g = dy + r * s->count;
        for (size_t j = 0; j < s->first; j++) d[j] = 0.0f;
        for (size_t j = 0; j < s->count; j++) d[s->first + j] = g[j];
        for (size_t j = last; j < c; j++) d[j] = 0.0f;
    }
}

static size_t slice_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, slice_of(l)->first);
        gan__put_u64(out + 8, slice_of(l)->count);
    }
    return PAIR_RECORD;
}

static int slice_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("slice", len, version, PAIR_RECORD);
    return rc ? rc : gan_layer_slice(out, gan__field_size(gan__get_u64(p)), gan__field_size(gan__get_u64(p + 8)));
}

static void slice_describe(const gan_layer *l, char *buf, size_t cap)
{
    const slice_layer *s = slice_of(l);
    if (l->in.c) snprintf(buf, cap, "slice [%zu, %zu) of %zu", s->first, s->first + s->count, l->in.c);
    else snprintf(buf, cap, "slice [%zu, %zu)", s->first, s->first + s->count);
}

const struct gan_layer_ops gan__slice_ops = {
    .name = "slice",
    .kind = GAN_LAYER_SLICE,
    .size = sizeof(slice_layer),
    .place = slice_place,
    .forward = slice_forward,
    .backward = slice_backward,
    .encode = slice_encode,
    .decode = slice_decode,
    .describe = slice_describe,
};

int gan_layer_slice(gan_layer **out, size_t first, size_t count)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (count == 0) return gan__fail(GAN_EINVAL, "%s: count must be at least 1", __func__);
    if (count > GAN_MAX_DIM || first > GAN_MAX_DIM - count)
        return gan__fail(GAN_EINVAL, "%s: channels [%zu, %zu + %zu) go beyond %d", __func__, first, first, count,
                         INT_MAX);
    int rc = gan__layer_new(out, &gan__slice_ops, __func__);
    if (rc) return rc;
    slice_layer *s = (slice_layer *)*out;
    s->first = first;
    s->count = count;
    return GAN_OK;
}

/* -------------------------------------------------------------------- tile */

typedef struct tile_layer {
    gan_layer base;
    size_t height, width;
} tile_layer;

static const tile_layer *tile_of(const gan_layer *l) { return (const tile_layer *)l; }

static int tile_place(gan_layer *l, gan_shape in, size_t index)
{
    const tile_layer *t = tile_of(l);
    if (in.h != 1 || in.w != 1)
        return gan__fail(GAN_EINVAL, "tile layer %zu expects a vector (c x 1 x 1), got %zux%zux%zu", index, in.c, in.h,
                         in.w);
    if (gan__check_shape(in.c, t->height, t->width)) return gan__wrap(GAN_EINVAL, "tile layer %zu", index);
    l->in = in;
    l->out = (gan_shape){in.c, t->height, t->width};
    return GAN_OK;
}

static void tile_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    position_repeat(y, x, batch, positions(l->out), l->out.c);
}

static void tile_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                          int grads)
{
    (void)x; (void)y; (void)grads;
    if (dx) position_sums(dx, dy, batch, positions(l->out), l->out.c);
}

static size_t tile_encode(const gan_layer *l, uint8_t *out)
{
    if (out) {
        gan__put_u64(out, tile_of(l)->height);
        gan__put_u64(out + 8, tile_of(l)->width);
    }
    return PAIR_RECORD;
}

static int tile_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("tile", len, version, PAIR_RECORD);
    return rc ? rc : gan_layer_tile(out, gan__field_size(gan__get_u64(p)), gan__field_size(gan__get_u64(p + 8)));
}

static void tile_describe(const gan_layer *l, char *buf, size_t cap)
{
    const tile_layer *t = tile_of(l);
    if (l->in.c) snprintf(buf, cap, "tile %zu to %zux%zux%zu", l->in.c, l->out.c, l->out.h, l->out.w);
    else snprintf(buf, cap, "tile to %zux%zu", t->height, t->width);
}

const struct gan_layer_ops gan__tile_ops = {
    .name = "tile",
    .kind = GAN_LAYER_TILE,
    .size = sizeof(tile_layer),
    .place = tile_place,
    .forward = tile_forward,
    .backward = tile_backward,
    .encode = tile_encode,
    .decode = tile_decode,
    .describe = tile_describe,
};

int gan_layer_tile(gan_layer **out, size_t height, size_t width)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (gan__check_shape(1, height, width))
        return gan__fail(GAN_EINVAL, "%s: height and width must be at least 1 with a product of at most %d, "
                                     "got %zu x %zu", __func__, INT_MAX, height, width);
    int rc = gan__layer_new(out, &gan__tile_ops, __func__);
    if (rc) return rc;
    tile_layer *t = (tile_layer *)*out;
    t->height = height;
    t->width = width;
    return GAN_OK;
}

/* --------------------------------------------------------- upsample, avgpool */

/* Both keep their factor (upsample) or block size (avgpool) as `s`. */
typedef struct block_layer {
    gan_layer base;
    size_t s;
} block_layer;

static size_t block_of(const gan_layer *l) { return ((const block_layer *)l)->s; }

static int check_factor(const char *fn, const char *what, size_t s)
{
    if (s < 1 || s > MAX_FACTOR)
        return gan__fail(GAN_EINVAL, "%s: %s must be in [1, %d], got %zu", fn, what, MAX_FACTOR, s);
    return GAN_OK;
}

static int new_block(gan_layer **out, const struct gan_layer_ops *ops, const char *fn, const char *what, size_t s)
{
    if (!out) return gan__fail(GAN_EINVAL, "%s: 'out' is NULL", fn);
    *out = NULL;
    int rc = check_factor(fn, what, s);
    if (!rc) rc = gan__layer_new(out, ops, fn);
    if (!rc) ((block_layer *)*out)->s = s;
    return rc;
}

static size_t block_encode(const gan_layer *l, uint8_t *out)
{
    if (out) gan__put_u64(out, block_of(l));
    return COUNT_RECORD;
}

/* upsample: each pixel repeated over a factor x factor block. */
static int upsample_place(gan_layer *l, gan_shape in, size_t index)
{
    uint64_t f = block_of(l); /* h, w at most INT_MAX, f at most 16: no wrap */
    if (gan__check_shape(in.c, in.h * f, in.w * f)) return gan__wrap(GAN_EINVAL, "upsample layer %zu", index);
    l->in = in;
    l->out = (gan_shape){in.c, (size_t)(in.h * f), (size_t)(in.w * f)};
    return GAN_OK;
}

static void upsample_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    block_repeat(y, x, batch * l->in.h, l->in.w, l->in.c, block_of(l), 1.0f);
}

static void upsample_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                              int grads)
{
    (void)x; (void)y; (void)grads;
    if (dx) block_sums(dx, dy, batch * l->in.h, l->in.w, l->in.c, block_of(l), 1.0f);
}

static int upsample_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("upsample", len, version, COUNT_RECORD);
    return rc ? rc : gan_layer_upsample(out, gan__field_size(gan__get_u64(p)));
}

static void upsample_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->in.c) snprintf(buf, cap, "upsample x%zu to %zux%zux%zu", block_of(l), l->out.c, l->out.h, l->out.w);
    else snprintf(buf, cap, "upsample x%zu", block_of(l));
}

const struct gan_layer_ops gan__upsample_ops = {
    .name = "upsample",
    .kind = GAN_LAYER_UPSAMPLE,
    .size = sizeof(block_layer),
    .place = upsample_place,
    .forward = upsample_forward,
    .backward = upsample_backward,
    .encode = block_encode,
    .decode = upsample_decode,
    .describe = upsample_describe,
};

int gan_layer_upsample(gan_layer **out, size_t factor)
{
    return new_block(out, &gan__upsample_ops, __func__, "factor", factor);
}

/* avgpool: the mean of each size x size block, at stride size. */
static int avgpool_place(gan_layer *l, gan_shape in, size_t index)
{
    size_t s = block_of(l);
    if (in.h % s || in.w % s)
        return gan__fail(GAN_EINVAL, "avgpool layer %zu: a %zux%zu input does not divide into %zux%zu blocks", index,
                         in.h, in.w, s, s);
    l->in = in;
    l->out = (gan_shape){in.c, in.h / s, in.w / s};
    return GAN_OK;
}

static float avgpool_scale(const gan_layer *l) { return 1.0f / (float)(block_of(l) * block_of(l)); }

static void avgpool_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    block_sums(y, x, batch * l->out.h, l->out.w, l->out.c, block_of(l), avgpool_scale(l));
}

static void avgpool_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                             int grads)
{
    (void)x; (void)y; (void)grads;
    if (dx) block_repeat(dx, dy, batch * l->out.h, l->out.w, l->out.c, block_of(l), avgpool_scale(l));
}

static int avgpool_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    int rc = check_record("avgpool", len, version, COUNT_RECORD);
    return rc ? rc : gan_layer_avgpool(out, gan__field_size(gan__get_u64(p)));
}

static void avgpool_describe(const gan_layer *l, char *buf, size_t cap)
{
    size_t s = block_of(l);
    if (l->in.c) snprintf(buf, cap, "avgpool %zux%zu to %zux%zux%zu", s, s, l->out.c, l->out.h, l->out.w);
    else snprintf(buf, cap, "avgpool %zux%zu", s, s);
}

const struct gan_layer_ops gan__avgpool_ops = {
    .name = "avgpool",
    .kind = GAN_LAYER_AVGPOOL,
    .size = sizeof(block_layer),
    .place = avgpool_place,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .encode = block_encode,
    .decode = avgpool_decode,
    .describe = avgpool_describe,
};

int gan_layer_avgpool(gan_layer **out, size_t size)
{
    return new_block(out, &gan__avgpool_ops, __func__, "size", size);
}

/* -------------------------------------------------------------- global_sum */

static int global_sum_place(gan_layer *l, gan_shape in, size_t index)
{
    (void)index;
    l->in = in;
    l->out = gan__vector_shape(in.c);
    return GAN_OK;
}

static void global_sum_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    position_sums(y, x, batch, positions(l->in), l->in.c);
}

static void global_sum_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch,
                                float *dx, int grads)
{
    (void)x; (void)y; (void)grads;
    if (dx) position_repeat(dx, dy, batch, positions(l->in), l->in.c);
}

static int global_sum_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)p; (void)in_size;
    int rc = check_record("global_sum", len, version, EMPTY_RECORD);
    return rc ? rc : gan_layer_global_sum(out);
}

static void global_sum_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->in.c) snprintf(buf, cap, "global_sum of %zux%zux%zu to %zu", l->in.c, l->in.h, l->in.w, l->out.c);
    else snprintf(buf, cap, "global_sum");
}

const struct gan_layer_ops gan__global_sum_ops = {
    .name = "global_sum",
    .kind = GAN_LAYER_GLOBAL_SUM,
    .size = sizeof(gan_layer),
    .place = global_sum_place,
    .forward = global_sum_forward,
    .backward = global_sum_backward,
    .encode = empty_encode,
    .decode = global_sum_decode,
    .describe = global_sum_describe,
};

int gan_layer_global_sum(gan_layer **out)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    return gan__layer_new(out, &gan__global_sum_ops, __func__);
}

/* ---------------------------------------------------------------- modulate */

/* x (C, H, W) and s (2C values): y = x (1 + s[c]) + s[C + c] at every pixel. */
static int modulate_place_n(gan_layer *l, const gan_shape *in, size_t n, size_t index)
{
    int rc = check_count(l, n, index);
    if (rc) return rc;
    size_t got = gan__shape_size(in[1]), want = 2 * in[0].c; /* c at most INT_MAX */
    if (got != want)
        return gan__fail(GAN_EINVAL,
                         "modulate layer %zu: input 1 has %zu values, not %zu (twice the %zu channels of input 0, "
                         "%zux%zux%zu)",
                         index, got, want, in[0].c, in[0].c, in[0].h, in[0].w);
    l->in = l->out = in[0];
    return GAN_OK;
}

static void modulate_forward_n(gan_layer *l, const float *const *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    size_t c = l->in.c, p = positions(l->in);
    for (size_t b = 0; b < batch; b++) {
        const float *restrict xr = x[0] + b * p * c, *restrict s = x[1] + b * 2 * c, *restrict t = s + c;
        float *restrict yr = y + b * p * c;
        for (size_t q = 0; q < p; q++)
            for (size_t j = 0; j < c; j++) yr[q * c + j] = xr[q * c + j] * (1.0f + s[j]) + t[j];
    }
}

/* dx = dy (1 + s[c]); ds[c] = sum over pixels of dy x, ds[C + c] = sum of dy. */
static void modulate_backward_n(gan_layer *l, const float *const *x, const float *y, const float *dy, size_t batch,
                                float *const *dx, int grads)
{
    (void)y; (void)grads;
    size_t c = l->in.c, p = positions(l->in);
    for (size_t b = 0; b < batch; b++) {
        const float *restrict xr = x[0] + b * p * c, *restrict s = x[1] + b * 2 * c, *restrict g = dy + b * p * c;
        if (dx[0]) {
            float *restrict d = dx[0] + b * p * c;
            for (size_t q = 0; q < p; q++)
                for (size_t j = 0; j < c; j++) d[q * c + j] = g[q * c + j] * (1.0f + s[j]);
        }
        if (dx[1]) {
            float *restrict ds = dx[1] + b * 2 * c, *restrict dt = ds + c;
            for (size_t j = 0; j < c; j++) {
                ds[j] = g[j] * xr[j];
                dt[j] = g[j];
            }
            for (size_t q = 1; q < p; q++)
                for (size_t j = 0; j < c; j++) {
                    ds[j] += g[q * c + j] * xr[q * c + j];
                    dt[j] += g[q * c + j];
                }
        }
    }
}

static int modulate_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)p; (void)in_size;
    int rc = check_record("modulate", len, version, EMPTY_RECORD);
    return rc ? rc : gan_layer_modulate(out);
}

static void modulate_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->in.c) snprintf(buf, cap, "modulate %zux%zux%zu by %zu", l->in.c, l->in.h, l->in.w, 2 * l->in.c);
    else snprintf(buf, cap, "modulate");
}

const struct gan_layer_ops gan__modulate_ops = {
    .name = "modulate",
    .kind = GAN_LAYER_MODULATE,
    .size = sizeof(gan_layer),
    .reads_x = 1,
    .place_n = modulate_place_n,
    .forward_n = modulate_forward_n,
    .backward_n = modulate_backward_n,
    .encode = empty_encode,
    .decode = modulate_decode,
    .describe = modulate_describe,
};

int gan_layer_modulate(gan_layer **out)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = gan__layer_new(out, &gan__modulate_ops, __func__);
    if (!rc) (*out)->n_in = 2;
    return rc;
}

/* --------------------------------------------------------------------- dot */

static int dot_place_n(gan_layer *l, const gan_shape *in, size_t n, size_t index)
{
    int rc = check_count(l, n, index);
    if (rc) return rc;
    size_t a = gan__shape_size(in[0]), b = gan__shape_size(in[1]);
    if (a != b)
        return gan__fail(GAN_EINVAL,
                         "dot layer %zu: input 1 has %zu values (%zux%zux%zu), input 0 has %zu (%zux%zux%zu)", index,
                         b, in[1].c, in[1].h, in[1].w, a, in[0].c, in[0].h, in[0].w);
    l->in = in[0];
    l->out = gan__vector_shape(1);
    return GAN_OK;
}

/* One value per row, accumulated in double. */
static void dot_forward_n(gan_layer *l, const float *const *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    size_t n = gan__shape_size(l->in);
    for (size_t b = 0; b < batch; b++) {
        const float *restrict u = x[0] + b * n, *restrict v = x[1] + b * n;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += (double)u[i] * v[i];
        y[b] = (float)sum;
    }
}

static void dot_backward_n(gan_layer *l, const float *const *x, const float *y, const float *dy, size_t batch,
                           float *const *dx, int grads)
{
    (void)y; (void)grads;
    size_t n = gan__shape_size(l->in);
    for (size_t k = 0; k < 2; k++) {
        if (!dx[k]) continue;
        const float *other = x[1 - k];
        for (size_t b = 0; b < batch; b++) {
            float g = dy[b], *restrict d = dx[k] + b * n;
            const float *restrict o = other + b * n;
            for (size_t i = 0; i < n; i++) d[i] = g * o[i];
        }
    }
}

static int dot_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)p; (void)in_size;
    int rc = check_record("dot", len, version, EMPTY_RECORD);
    return rc ? rc : gan_layer_dot(out);
}

static void dot_describe(const gan_layer *l, char *buf, size_t cap)
{
    if (l->in.c) snprintf(buf, cap, "dot of 2 x %zu", gan__shape_size(l->in));
    else snprintf(buf, cap, "dot");
}

const struct gan_layer_ops gan__dot_ops = {
    .name = "dot",
    .kind = GAN_LAYER_DOT,
    .size = sizeof(gan_layer),
    .reads_x = 1,
    .place_n = dot_place_n,
    .forward_n = dot_forward_n,
    .backward_n = dot_backward_n,
    .encode = empty_encode,
    .decode = dot_decode,
    .describe = dot_describe,
};

int gan_layer_dot(gan_layer **out)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = gan__layer_new(out, &gan__dot_ops, __func__);
    if (!rc) (*out)->n_in = 2;
    return rc;
}
