/* Convolution layers: conv2d and conv2d_transpose (see docs/layers.md). Rows are HWC,
 * channels last, so the batch folds into the rows of one gemm: the column buffer's rows
 * are output positions (b, oy, ox) of the whole batch and its columns a window (ky, kx,
 * c). A transposed convolution is a convolution's input gradient and the other way round:
 * both kinds run on one geometry (the convolution's: for conv2d from x to y, for
 * conv2d_transpose from y to x) and one pair of kernels, gan__im2col and gan__col2im.
 *
 * The batch goes through in chunks of output positions (whole output rows when one fits)
 * whose column buffer stays within CHUNK_BYTES, about L2's size (see chunk_positions).
 * DCGAN's 4x4 stride-2 geometries on even sizes take Winograd's F(2x2, 2x2) instead
 * (winograd_impl.h). Either way the layer's only workspace is the net's scratch, which
 * its layers share. */
#include "layer_kind_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "winograd_impl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The column buffer of one chunk: at most this many bytes, unless a single output
 * position's window is larger. */
enum { CHUNK_BYTES = 3 << 19 }; /* 1.5 MiB */

/* Encoding: in_channels u64, out_channels u64, kernel u64, stride u64, padding u64,
 * [output_padding u64,] flags u32 (bit 0: no biases; the others zero). */
enum { CONV_RECORD = 44, CONV_T_RECORD = 52, CONV_NO_BIAS = 1 };

typedef struct conv_layer {
    gan_layer base;
    size_t cin, cout, k, stride, pad, out_pad; /* out_pad: conv2d_transpose only */
    int transpose;
    int bias;           /* 0: no biases (a convolution before a batch norm) */
    gan__conv_geom g;   /* set by place: conv2d x -> y, conv2d_transpose y -> x */
    size_t span;        /* k * k * (channels of g's image): the column buffer's width */
    size_t chunk;       /* output positions of g per chunk, at most */
    int wino;           /* g runs on Winograd's F(2x2, 2x2), as planned (winograd_impl.h) */
    gan__wino plan;
} conv_layer;

static conv_layer *conv(gan_layer *l) { return (conv_layer *)l; }
static const conv_layer *conv_c(const gan_layer *l) { return (const conv_layer *)l; }

/* Weights first: conv2d [(k*k*cin) x cout], conv2d_transpose [cin x (k*k*cout)]; both
 * k * k * cin * cout values. Then cout biases. */
static size_t n_weights(const conv_layer *c) { return c->k * c->k * c->cin * c->cout; }
static float *bias(gan_layer *l) { return l->params + n_weights(conv(l)); }
static float *bias_grad(gan_layer *l) { return l->grads + n_weights(conv(l)); }

/* -------------------------------------------------------------- validation */

static int check_conv(const char *fn, size_t cin, size_t cout, size_t k, size_t stride, size_t pad)
{
    if (cin == 0 || cout == 0 || k == 0 || stride == 0)
        return gan__fail(GAN_EINVAL,
                         "%s: channels, kernel and stride must be positive, got %zu -> %zu channels, kernel %zu, "
                         "stride %zu",
                         fn, cin, cout, k, stride);
    if (pad >= k) return gan__fail(GAN_EINVAL, "%s: padding %zu must be less than the kernel %zu", fn, pad, k);
    /* k * k * channels is a gemm dimension on either side; the parameter count must not
     * overflow. Each factor is at most INT_MAX before it is multiplied, so no product
     * wraps in 64 bits. */
    uint64_t kk = (uint64_t)k * k; /* read only once k <= INT_MAX */
    if (cin > GAN_MAX_DIM || cout > GAN_MAX_DIM || k > GAN_MAX_DIM || stride > GAN_MAX_DIM || kk > GAN_MAX_DIM ||
        kk * cin > GAN_MAX_DIM || kk * cout > GAN_MAX_DIM)
        return gan__fail(GAN_EINVAL, "%s: a %zux%zu kernel of %zu -> %zu channels or stride %zu exceeds %d", fn, k,
                         k, cin, cout, stride, INT_MAX);
    size_t nw;
    if (gan__size_mul((size_t)(kk * cin), cout, &nw) || nw > SIZE_MAX / sizeof(float) / 2 - cout)
        return gan__fail(GAN_EINVAL, "%s: a %zux%zu kernel of %zu -> %zu channels makes too many weights", fn, k, k,
                         cin, cout);
    return GAN_OK;
}

static int new_conv(gan_layer **out, const struct gan_layer_ops *ops, const char *fn, size_t cin, size_t cout,
                    size_t k, size_t stride, size_t pad, size_t out_pad, int transpose)
{
    int rc = gan__layer_new(out, ops, fn);
    if (rc) return rc;
    conv_layer *c = conv(*out);
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->stride = stride;
    c->pad = pad;
    c->out_pad = out_pad;
    c->transpose = transpose;
    c->bias = 1;
    c->base.n_params = n_weights(c) + cout;
    return GAN_OK;
}

/* Positions per chunk: as many whole rows of g's output as CHUNK_BYTES holds, or as
 * many positions when not even one row fits, and at least one. */
static size_t chunk_positions(size_t span, size_t ow)
{
    size_t fit = CHUNK_BYTES / (span * sizeof(float));
    if (fit >= ow) return fit / ow * ow;
    return fit ? fit : 1;
}

/* The positions of one chunk of a batch: the chunk, or the whole batch if smaller. */
static size_t chunk_for(const conv_layer *c, size_t batch)
{
    size_t per_image = c->g.oh * c->g.ow;
    return batch > c->chunk / per_image ? c->chunk : batch * per_image;
}

/* Output shape and chunking; l->in and l->out change only on success. n: channels of g's
 * output. */
static int set_geometry(gan_layer *l, gan_shape in, gan__conv_geom g, size_t n, gan_shape out, size_t span,
                        size_t index)
{
    if (gan__check_shape(out.c, out.h, out.w))
        return gan__wrap(GAN_EINVAL, "%s layer %zu on a %zux%zu input", l->ops->name, index, in.h, in.w);
    conv_layer *c = conv(l);
    c->g = g;
    c->span = span;
    c->chunk = chunk_positions(span, g.ow);
    c->wino = gan__wino_plan(&c->plan, &g, n);
    l->in = in;
    l->out = out;
    return GAN_OK;
}

static int check_channels(const gan_layer *l, gan_shape in, size_t index)
{
    if (in.c != conv_c(l)->cin)
        return gan__fail(GAN_EINVAL, "%s layer %zu expects %zu input channels, got %zu", l->ops->name, index,
                         conv_c(l)->cin, in.c);
    return GAN_OK;
}

/* ------------------------------------------------------------- the kinds' hooks */

/* The column buffer is the net's scratch, shared by its layers (one runs at a time). */
static int conv_reserve(gan_layer *l, size_t batch)
{
    const conv_layer *c = conv(l);
    l->scratch_need = c->wino ? gan__wino_scratch(&c->plan, batch) : chunk_for(c, batch) * c->span;
    return GAN_OK;
}

/* Weights by the scheme with fan_in k*k*cin and fan_out k*k*cout; biases zero. */
static void conv_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale)
{
    conv_layer *c = conv(l);
    gan__init_weights(l->params, n_weights(c), c->k * c->k * c->cin, c->k * c->k * c->cout, rng, scheme, scale);
    if (c->bias)
        for (size_t j = 0; j < c->cout; j++) bias(l)[j] = 0.0f;
}

/* conv2d [(k*k*cin) x cout], conv2d_transpose [cin x (k*k*cout)]. */
static void conv_weights(const gan_layer *l, size_t *rows, size_t *cols)
{
    const conv_layer *c = conv_c(l);
    *rows = c->transpose ? c->cin : c->k * c->k * c->cin;
    *cols = c->transpose ? c->k * c->k * c->cout : c->cout;
}

static int conv_set_bias(gan_layer *l, int on)
{
    conv(l)->bias = on;
    l->n_params = n_weights(conv(l)) + (on ? conv(l)->cout : 0);
    return GAN_OK;
}

static size_t conv_encode(const gan_layer *l, uint8_t *out)
{
    const conv_layer *c = conv_c(l);
    size_t at = 0;
    if (out) {
        const size_t fields[] = {c->cin, c->cout, c->k, c->stride, c->pad, c->out_pad};
        for (size_t i = 0; i < (c->transpose ? 6u : 5u); i++, at += 8) gan__put_u64(out + at, fields[i]);
        gan__put_u32(out + at, c->bias ? 0 : CONV_NO_BIAS);
    }
    return c->transpose ? CONV_T_RECORD : CONV_RECORD;
}

/* The fields of a record of `len` bytes with `n` sizes, then the flags. */
static int decode_fields(const char *kind, const uint8_t *p, size_t len, unsigned version, size_t n,
                         size_t want, size_t *v, uint32_t *flags)
{
    if (version == 1) return gan__fail(GAN_EFORMAT, "%s layers came with format version 2", kind);
    if (len != want) return gan__bad_length(kind, len, want);
    for (size_t i = 0; i < n; i++) v[i] = gan__field_size(gan__get_u64(p + 8 * i));
    *flags = gan__get_u32(p + 8 * n);
    if (*flags & ~(uint32_t)CONV_NO_BIAS)
        return gan__fail(GAN_EFORMAT, "%s: flags 0x%lx (only bit 0 is defined)", kind, (unsigned long)*flags);
    return GAN_OK;
}

static void conv_describe(const gan_layer *l, char *buf, size_t cap)
{
    const conv_layer *c = conv_c(l);
    char op[32] = "", on[48] = "";
    if (c->transpose) snprintf(op, sizeof op, " op%zu", c->out_pad);
    if (l->in.c) snprintf(on, sizeof on, " on %zux%zu", l->in.h, l->in.w);
    snprintf(buf, cap, "%s %zu->%zu k%zu s%zu p%zu%s%s%s", l->ops->name, c->cin, c->cout, c->k, c->stride, c->pad, op,
             on, c->bias ? "" : " without bias");
}

/* ------------------------------------------------------------------ conv2d */

/* y[b, oy, ox, co] = bias[co] + sum over (ky, kx, ci) of
 * x[b, oy*s - p + ky, ox*s - p + kx, ci] * W[(ky*k + kx)*cin + ci, co]. */
static int conv2d_place(gan_layer *l, gan_shape in, size_t index)
{
    const conv_layer *c = conv_c(l);
    int rc = check_channels(l, in, index);
    if (rc) return rc;
    if (in.h + 2 * c->pad < c->k || in.w + 2 * c->pad < c->k)
        return gan__fail(GAN_EINVAL, "conv2d layer %zu: a %zux%zu kernel with padding %zu does not fit a %zux%zu input",
                         index, c->k, c->k, c->pad, in.h, in.w);
    gan__conv_geom g = {in.h, in.w, in.c, c->k, c->stride, c->pad, (in.h + 2 * c->pad - c->k) / c->stride + 1,
                        (in.w + 2 * c->pad - c->k) / c->stride + 1};
    return set_geometry(l, in, g, c->cout, (gan_shape){c->cout, g.oh, g.ow}, c->k * c->k * c->cin, index);
}

static void conv2d_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    const conv_layer *c = conv(l);
    if (c->wino) {
        gan__wino_forward(&c->plan, 0, l->params, x, batch, c->bias ? bias(l) : NULL, y, l->scratch);
        return;
    }
    size_t total = batch * c->g.oh * c->g.ow, step = chunk_for(c, batch), n = c->cout, K = c->span;
    float *col = l->scratch;
    for (size_t q0 = 0; q0 < total; q0 += step) {
        size_t rows = total - q0 < step ? total - q0 : step;
        float *yq = y + q0 * n;
        gan__im2col(&c->g, x, q0, q0 + rows, col);
        if (c->bias) gan__rows_set(yq, bias(l), rows, n);
        gan__gemm(0, 0, rows, n, K, 1.0f, col, K, l->params, n, c->bias ? 1.0f : 0.0f, yq, n);
    }
}

/* dW (+)= col^T dy and dcol = dy W^T chunk by chunk (the column buffer holds the
 * im2col of x, then dcol), dx += col2im(dcol). */
static void conv2d_backward_im2col(gan_layer *l, const float *x, const float *dy, size_t batch, float *dx, int grads)
{
    const conv_layer *c = conv(l);
    size_t total = batch * c->g.oh * c->g.ow, step = chunk_for(c, batch), n = c->cout, K = c->span;
    float *col = l->scratch;
    for (size_t q0 = 0; q0 < total; q0 += step) {
        size_t rows = total - q0 < step ? total - q0 : step;
        const float *dyq = dy + q0 * n;
        if (grads != GAN__GRADS_NONE) {
            float beta = grads == GAN__GRADS_ADD || q0 > 0 ? 1.0f : 0.0f;
            gan__im2col(&c->g, x, q0, q0 + rows, col);
            gan__gemm(1, 0, K, n, rows, 1.0f, col, K, dyq, n, beta, l->grads, n);
        }
        if (dx) {
            gan__gemm(0, 1, rows, K, n, 1.0f, dyq, n, l->params, n, 0.0f, col, K);
            gan__col2im(&c->g, col, q0, q0 + rows, dx);
        }
    }
}

/* The weight and input gradients, then db = column sums of dy. */
static void conv2d_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                            int grads)
{
    (void)y;
    const conv_layer *c = conv(l);
    if (grads == GAN__GRADS_NONE && !dx) return;
    if (dx) memset(dx, 0, batch * gan__shape_size(l->in) * sizeof *dx);
    if (!c->wino) conv2d_backward_im2col(l, x, dy, batch, dx, grads);
    else {
        if (grads != GAN__GRADS_NONE)
            gan__wino_weight_grad(&c->plan, 0, x, dy, batch, grads == GAN__GRADS_ADD, l->grads, l->scratch);
        if (dx) gan__wino_adjoint(&c->plan, 0, l->params, dy, batch, dx, l->scratch);
    }
    if (grads != GAN__GRADS_NONE && c->bias)
        gan__col_sums(bias_grad(l), dy, batch * c->g.oh * c->g.ow, c->cout, grads == GAN__GRADS_ADD);
}

static int conv2d_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    size_t v[5];
    uint32_t flags = 0;
    int rc = decode_fields("conv2d", p, len, version, 5, CONV_RECORD, v, &flags);
    if (rc) return rc;
    rc = gan_layer_conv2d(out, v[0], v[1], v[2], v[3], v[4]);
    if (!rc && (flags & CONV_NO_BIAS)) rc = gan_layer_set_bias(*out, 0);
    return rc;
}

const struct gan_layer_ops gan__conv2d_ops = {
    .name = "conv2d",
    .kind = GAN_LAYER_CONV2D,
    .size = sizeof(conv_layer),
    .reads_x = 1,
    .place = conv2d_place,
    .reserve = conv_reserve,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .init = conv_init,
    .encode = conv_encode,
    .decode = conv2d_decode,
    .describe = conv_describe,
    .set_bias = conv_set_bias,
    .weights = conv_weights,
};

int gan_layer_conv2d(gan_layer **out, size_t in_channels, size_t out_channels, size_t kernel, size_t stride,
                     size_t padding)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_conv(__func__, in_channels, out_channels, kernel, stride, padding);
    return rc ? rc
              : new_conv(out, &gan__conv2d_ops, __func__, in_channels, out_channels, kernel, stride, padding, 0, 0);
}

/* -------------------------------------------------------- conv2d_transpose */

/* conv2d's input gradient: y[b, iy*s - p + ky, ix*s - p + kx, co] += x[b, iy, ix, ci] *
 * W[ci, (ky*k + kx)*cout + co] (positions outside y dropped), then + bias[co]. Its
 * geometry g is the convolution from y (oh x ow x cout) back to x (h x w positions). */
static int conv2d_t_place(gan_layer *l, gan_shape in, size_t index)
{
    const conv_layer *c = conv_c(l);
    int rc = check_channels(l, in, index);
    if (rc) return rc;
    /* Each factor at most INT_MAX: no wrap in 64 bits. */
    uint64_t reach_h = (uint64_t)(in.h - 1) * c->stride + c->k + c->out_pad,
             reach_w = (uint64_t)(in.w - 1) * c->stride + c->k + c->out_pad;
    if (reach_h <= 2 * (uint64_t)c->pad || reach_w <= 2 * (uint64_t)c->pad)
        return gan__fail(GAN_EINVAL,
                         "conv2d_transpose layer %zu: a %zux%zu kernel with stride %zu, padding %zu and output padding "
                         "%zu gives no output on a %zux%zu input",
                         index, c->k, c->k, c->stride, c->pad, c->out_pad, in.h, in.w);
    uint64_t oh = reach_h - 2 * (uint64_t)c->pad, ow = reach_w - 2 * (uint64_t)c->pad;
    if (oh > GAN_MAX_DIM || ow > GAN_MAX_DIM)
        return gan__fail(GAN_EINVAL, "conv2d_transpose layer %zu: a %llux%llu output of a %zux%zu input exceeds %d",
                         index, (unsigned long long)oh, (unsigned long long)ow, in.h, in.w, INT_MAX);
    gan__conv_geom g = {(size_t)oh, (size_t)ow, c->cout, c->k, c->stride, c->pad, in.h, in.w};
    return set_geometry(l, in, g, c->cin, (gan_shape){c->cout, (size_t)oh, (size_t)ow}, c->k * c->k * c->cout,
                        index);
}

/* dcol = x W chunk by chunk, scattered into y by col2im over the biases (or zeros). */
static void conv2d_t_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng)
{
    (void)train; (void)rng;
    const conv_layer *c = conv(l);
    size_t total = batch * c->g.oh * c->g.ow, step = chunk_for(c, batch), cin = c->cin, K = c->span;
    size_t pixels = batch * c->g.h * c->g.w;
    float *col = l->scratch;
    if (c->bias) gan__rows_set(y, bias(l), pixels, c->cout);
    else memset(y, 0, pixels * c->cout * sizeof *y);
    if (c->wino) {
        gan__wino_adjoint(&c->plan, 1, l->params, x, batch, y, l->scratch);
        return;
    }
    for (size_t q0 = 0; q0 < total; q0 += step) {
        size_t rows = total - q0 < step ? total - q0 : step;
        gan__gemm(0, 0, rows, K, cin, 1.0f, x + q0 * cin, cin, l->params, K, 0.0f, col, K);
        gan__col2im(&c->g, col, q0, q0 + rows, y);
    }
}

/* With col = im2col(dy) chunk by chunk: dx = col W^T, dW (+)= x^T col. */
static void conv2d_t_backward_im2col(gan_layer *l, const float *x, const float *dy, size_t batch, float *dx,
                                     int grads)
{
    const conv_layer *c = conv(l);
    size_t total = batch * c->g.oh * c->g.ow, step = chunk_for(c, batch), cin = c->cin, K = c->span;
    float *col = l->scratch;
    for (size_t q0 = 0; q0 < total; q0 += step) {
        size_t rows = total - q0 < step ? total - q0 : step;
        gan__im2col(&c->g, dy, q0, q0 + rows, col);
        if (dx) gan__gemm(0, 1, rows, cin, K, 1.0f, col, K, l->params, K, 0.0f, dx + q0 * cin, cin);
        if (grads != GAN__GRADS_NONE) {
            float beta = grads == GAN__GRADS_ADD || q0 > 0 ? 1.0f : 0.0f;
            gan__gemm(1, 0, cin, K, rows, 1.0f, x + q0 * cin, cin, col, K, beta, l->grads, K);
        }
    }
}

/* The input and weight gradients, then db = column sums of dy. */
static void conv2d_t_backward(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch,
                              float *dx, int grads)
{
    (void)y;
    const conv_layer *c = conv(l);
    if (grads == GAN__GRADS_NONE && !dx) return;
    if (!c->wino) conv2d_t_backward_im2col(l, x, dy, batch, dx, grads);
    else {
        if (grads != GAN__GRADS_NONE)
            gan__wino_weight_grad(&c->plan, 1, dy, x, batch, grads == GAN__GRADS_ADD, l->grads, l->scratch);
        if (dx) gan__wino_forward(&c->plan, 1, l->params, dy, batch, NULL, dx, l->scratch);
    }
    if (grads != GAN__GRADS_NONE && c->bias)
        gan__col_sums(bias_grad(l), dy, batch * c->g.h * c->g.w, c->cout, grads == GAN__GRADS_ADD);
}

static int conv2d_t_decode(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size)
{
    (void)in_size;
    size_t v[6];
    uint32_t flags = 0;
    int rc = decode_fields("conv2d_transpose", p, len, version, 6, CONV_T_RECORD, v, &flags);
    if (rc) return rc;
    rc = gan_layer_conv2d_transpose(out, v[0], v[1], v[2], v[3], v[4], v[5]);
    if (!rc && (flags & CONV_NO_BIAS)) rc = gan_layer_set_bias(*out, 0);
    return rc;
}

const struct gan_layer_ops gan__conv2d_transpose_ops = {
    .name = "conv2d_transpose",
    .kind = GAN_LAYER_CONV2D_TRANSPOSE,
    .size = sizeof(conv_layer),
    .reads_x = 1,
    .place = conv2d_t_place,
    .reserve = conv_reserve,
    .forward = conv2d_t_forward,
    .backward = conv2d_t_backward,
    .init = conv_init,
    .encode = conv_encode,
    .decode = conv2d_t_decode,
    .describe = conv_describe,
    .set_bias = conv_set_bias,
    .weights = conv_weights,
};

int gan_layer_conv2d_transpose(gan_layer **out, size_t in_channels, size_t out_channels, size_t kernel,
                               size_t stride, size_t padding, size_t output_padding)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = check_conv(__func__, in_channels, out_channels, kernel, stride, padding);
    if (rc) return rc;
    if (output_padding >= stride)
        return gan__fail(GAN_EINVAL, "%s: output padding %zu must be less than the stride %zu", __func__,
                         output_padding, stride);
    return new_conv(out, &gan__conv2d_transpose_ops, __func__, in_channels, out_channels, kernel, stride, padding,
                    output_padding, 1);
}
