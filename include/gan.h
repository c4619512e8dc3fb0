/**
 * @file gan.h
 * @brief libgan: train Generative Adversarial Networks from C.
 *
 * The one public header. Conventions (see docs/conventions.md):
 *  - every call that can fail returns int: GAN_OK (0) or a negative GAN_E* code,
 *    with detail in gan_error_last();
 *  - constructors take their output pointer first and hand ownership to the caller;
 *  - destructors are NULL-safe;
 *  - data is float32, row-major [batch x features];
 *  - a handle is used by one thread at a time; distinct handles may be used on
 *    distinct threads at once (docs/threading.md). Borrowing counts as use.
 */
#ifndef GAN_H
#define GAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @def GAN_API
 * @brief Marks every exported declaration of the library.
 *
 * Expands to default visibility with GCC and Clang while libgan itself is built
 * (GAN_BUILDING defined; everything else is hidden), and to nothing for programs that
 * include the header.
 */
#if defined(__GNUC__) && defined(GAN_BUILDING)
#define GAN_API __attribute__((visibility("default")))
#else
#define GAN_API
#endif

/* ------------------------------------------------------------------ version */

/** Major version: changes only when the ABI breaks (also the SONAME). */
#define GAN_VERSION_MAJOR 0
/** Minor version: grows with additions to the API. */
#define GAN_VERSION_MINOR 2
/** Patch version: fixes only. */
#define GAN_VERSION_PATCH 0
/** The version as a string literal "MAJOR.MINOR.PATCH". */
#define GAN_VERSION_STRING "0.2.0"
/** The version as one number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define GAN_VERSION_NUMBER \
    (GAN_VERSION_MAJOR * 10000 + GAN_VERSION_MINOR * 100 + GAN_VERSION_PATCH)

/**
 * The version of the library linked at run time, which may differ from the header's.
 * Thread-safe.
 * @return the runtime library's GAN_VERSION_NUMBER.
 */
GAN_API unsigned gan_version_number(void);
/**
 * The version of the library linked at run time, as a string. Thread-safe.
 * @return the runtime library's GAN_VERSION_STRING (static storage: never freed,
 * never NULL).
 */
GAN_API const char *gan_version_string(void);

/** Feature bits returned by gan_features(). */
enum {
    GAN_FEATURE_OPENBLAS = 1u << 0, /**< dense kernels run on OpenBLAS */
    GAN_FEATURE_REFBLAS = 1u << 1,  /**< dense kernels run on the reference CBLAS */
    GAN_FEATURE_BLIS = 1u << 2,     /**< dense kernels run on BLIS */
    GAN_FEATURE_ZLIB = 1u << 3      /**< gzip-compressed inputs can be read (always set) */
};
/**
 * The features the runtime library was built with. Thread-safe.
 * @return a bitwise OR of GAN_FEATURE_* flags: exactly one BLAS flag, plus
 * GAN_FEATURE_ZLIB, which every build sets (zlib is a required dependency).
 */
GAN_API unsigned gan_features(void);

/* ------------------------------------------------------------------- errors */

/** Status codes. Values are pinned and never reused. */
enum {
    GAN_OK = 0,          /**< success */
    GAN_EINVAL = -1,     /**< an argument is invalid (NULL, zero, mismatched, overflowing) */
    GAN_ENOMEM = -2,     /**< an allocation failed */
    GAN_EIO = -3,        /**< a file could not be read or written */
    GAN_EFORMAT = -4,    /**< bytes do not follow the expected format */
    GAN_EVERSION = -5,   /**< a file was written by a newer, unknown format version */
    GAN_EUSER = -6,      /**< a user callback failed or asked to stop */
    GAN_EDIVERGED = -7,  /**< a loss or gradient became NaN or infinite */
    GAN_ESTATE = -8      /**< the call is not valid in the object's current state */
};

/**
 * Describe a status code. Thread-safe.
 * @param code a GAN_OK or GAN_E* status code.
 * @return a static, human-readable description of @p code ("unknown error code" for
 * a value that is not a status code); never NULL, never to be freed.
 */
GAN_API const char *gan_strerror(int code);

/**
 * The detail of the last failure on the calling thread. Thread-safe: each thread
 * has its own message.
 *
 * Successful calls need not clear it, so read it right after the call that failed.
 * @return the message (e.g. "dense layer 2 expects 1200 inputs, got 784"), or ""
 * when none was recorded. Never NULL; owned by the library (do not free it); its
 * contents are valid until the next libgan call on this thread.
 */
GAN_API const char *gan_error_last(void);

/* ---------------------------------------------------------------- allocator */

/**
 * A custom allocator. Every allocation of the library (zlib's included) goes through
 * it; a multithreaded BLAS may still allocate its own buffers. Its functions are called
 * from whichever threads use libgan, so they must be thread-safe when libgan is used
 * from several threads.
 */
typedef struct gan_allocator {
    /** Like malloc: returns suitably aligned memory, or NULL on failure (the call then
     *  fails with GAN_ENOMEM). @p size is never 0. */
    void *(*malloc_fn)(void *ctx, size_t size);
    /** Like free: releases memory from malloc_fn. Never given NULL. */
    void (*free_fn)(void *ctx, void *ptr);
    /** Passed as the first argument of each function; may be NULL. */
    void *ctx;
} gan_allocator;

/**
 * Install an allocator, or restore the C library's malloc and free with NULL.
 * The struct is copied. Call it before any other libgan call, or when no libgan
 * object is alive: memory must be freed by the allocator that allocated it.
 * Not thread-safe: this is the library's one piece of global state; no other
 * libgan call may run on any thread meanwhile.
 * @param allocator the allocator to install (copied; @p allocator itself is not kept),
 *                  or NULL for the default.
 * @return GAN_OK, or GAN_EINVAL if malloc_fn or free_fn is NULL (the current
 * allocator is then kept).
 */
GAN_API int gan_set_allocator(const gan_allocator *allocator);

/* ---------------------------------------------------------------------- rng */

/**
 * A seeded pseudo-random stream (PCG32). Every draw changes its state, so a stream is
 * used by one thread at a time, including while a net or trainer borrows it.
 */
typedef struct gan_rng gan_rng;

/**
 * Create a stream from @p seed; equal seeds give equal streams on every platform.
 * @param[out] out  the new stream, owned by the caller (free it with gan_rng_free());
 *                  NULL on failure
 * @param seed      any value
 * @return GAN_OK; GAN_EINVAL if @p out is NULL; GAN_ENOMEM.
 */
GAN_API int gan_rng_create(gan_rng **out, uint64_t seed);
/**
 * Free a stream. NULL-safe. It must no longer be lent to a net (gan_net_set_rng()).
 * @param rng the stream, or NULL
 */
GAN_API void gan_rng_free(gan_rng *rng);
/**
 * Reset a stream to the state gan_rng_create() gives for @p seed.
 * @param rng  the stream
 * @param seed any value
 * @return GAN_OK; GAN_EINVAL if @p rng is NULL.
 */
GAN_API int gan_rng_seed(gan_rng *rng, uint64_t seed);
/**
 * Draw a uniform float in [0, 1) (a multiple of 2^-24).
 * @param rng the stream; must not be NULL (not checked)
 * @return the value.
 */
GAN_API float gan_rng_uniform(gan_rng *rng);
/**
 * Draw a standard normal float (Box-Muller; values come in pairs, the second kept
 * in the stream for the next call).
 * @param rng the stream; must not be NULL (not checked)
 * @return the value.
 */
GAN_API float gan_rng_normal(gan_rng *rng);
/**
 * Fill @p dst[0..n) with uniform floats in [lo, hi).
 * @param rng      the stream
 * @param[out] dst n floats; may be NULL when @p n is 0
 * @param n        number of values
 * @param lo       lower bound (finite)
 * @param hi       upper bound (finite, >= @p lo)
 * @return GAN_OK; GAN_EINVAL for a NULL @p rng or @p dst, or bounds that are not
 * finite or not ordered (nothing is drawn).
 */
GAN_API int gan_rng_fill_uniform(gan_rng *rng, float *dst, size_t n, float lo, float hi);
/**
 * Fill @p dst[0..n) with normal floats of the given mean and standard deviation.
 * @param rng      the stream
 * @param[out] dst n floats; may be NULL when @p n is 0
 * @param n        number of values
 * @param mean     mean (finite)
 * @param std      standard deviation (finite, >= 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p rng or @p dst, or a non-finite @p mean or
 * an invalid @p std (nothing is drawn).
 */
GAN_API int gan_rng_fill_normal(gan_rng *rng, float *dst, size_t n, float mean, float std);

/* ------------------------------------------------------------------- layers */

/**
 * A layer. Owned by the caller until gan_net_add() succeeds, then by the net, which
 * frees it. Once in a net it is used through the net (one thread at a time).
 */
typedef struct gan_layer gan_layer;

/** Activation kinds for gan_layer_activation(). */
typedef enum gan_activation {
    GAN_ACT_RELU = 1,       /**< max(0, x) */
    GAN_ACT_LEAKY_RELU = 2, /**< x > 0 ? x : slope * x (slope 0.2 by default) */
    GAN_ACT_SIGMOID = 3,    /**< 1 / (1 + exp(-x)) */
    GAN_ACT_TANH = 4,       /**< tanh(x) */
    GAN_ACT_IDENTITY = 5    /**< x */
} gan_activation;

/** Layer kinds, as reported by gan_layer_kind(). */
enum {
    GAN_LAYER_DENSE = 1,      /**< made by gan_layer_dense() */
    GAN_LAYER_MAXOUT = 2,     /**< made by gan_layer_maxout() */
    GAN_LAYER_ACTIVATION = 3, /**< made by gan_layer_activation() or gan_layer_leaky_relu() */
    GAN_LAYER_DROPOUT = 4,    /**< made by gan_layer_dropout() */
    GAN_LAYER_RESHAPE = 5,    /**< made by gan_layer_reshape() (since 0.2) */
    GAN_LAYER_CONV2D = 6,     /**< made by gan_layer_conv2d() (since 0.2) */
    GAN_LAYER_CONV2D_TRANSPOSE = 7, /**< made by gan_layer_conv2d_transpose() (since 0.2) */
    GAN_LAYER_BATCHNORM = 8,  /**< made by gan_layer_batchnorm() (since 0.2) */
    GAN_LAYER_CONCAT = 9,     /**< made by gan_layer_concat() (since 0.3) */
    GAN_LAYER_ADD = 10,       /**< made by gan_layer_add() (since 0.3) */
    GAN_LAYER_SLICE = 11,     /**< made by gan_layer_slice() (since 0.3) */
    GAN_LAYER_TILE = 12,      /**< made by gan_layer_tile() (since 0.3) */
    GAN_LAYER_UPSAMPLE = 13,  /**< made by gan_layer_upsample() (since 0.3) */
    GAN_LAYER_AVGPOOL = 14,   /**< made by gan_layer_avgpool() (since 0.3) */
    GAN_LAYER_GLOBAL_SUM = 15, /**< made by gan_layer_global_sum() (since 0.3) */
    GAN_LAYER_MODULATE = 16,  /**< made by gan_layer_modulate() (since 0.3) */
    GAN_LAYER_DOT = 17        /**< made by gan_layer_dot() (since 0.3) */
};

/**
 * Fully connected layer: y = x W + b, W is in_dim x out_dim (in_dim * out_dim weights,
 * then out_dim biases).
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param in_dim   input width, in [1, INT_MAX]
 * @param out_dim  output width, in [1, INT_MAX]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero or too large width, or a
 * parameter count that overflows; GAN_ENOMEM.
 */
GAN_API int gan_layer_dense(gan_layer **out, size_t in_dim, size_t out_dim);
/**
 * Maxout: units outputs, each the max of @p pieces affine pieces of the input
 * (in_dim * units * pieces weights, then units * pieces biases).
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param in_dim   input width, in [1, INT_MAX]
 * @param units    output width (> 0)
 * @param pieces   affine pieces per unit (> 0; units * pieces at most INT_MAX)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero or too large size, or a
 * parameter count that overflows; GAN_ENOMEM.
 */
GAN_API int gan_layer_maxout(gan_layer **out, size_t in_dim, size_t units, size_t pieces);
/**
 * Elementwise activation, without parameters; its width is the net's width where it
 * is added.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param act      the function (GAN_ACT_LEAKY_RELU uses slope 0.2; see
 *                 gan_layer_leaky_relu() for another)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or an unknown @p act; GAN_ENOMEM.
 */
GAN_API int gan_layer_activation(gan_layer **out, gan_activation act);
/**
 * Leaky ReLU with a given negative slope (a GAN_LAYER_ACTIVATION layer).
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param slope    the slope for x < 0, in [0, 1)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a slope outside [0, 1) (NaN
 * included); GAN_ENOMEM.
 */
GAN_API int gan_layer_leaky_relu(gan_layer **out, float slope);
/**
 * Inverted dropout: in training mode keeps each unit with probability
 * @p keep_prob (0 < keep_prob <= 1) and scales kept units by 1 / keep_prob;
 * identity in evaluation mode. Draws from the net's rng (gan_net_set_rng): a
 * training-mode gan_net_forward() with keep_prob < 1 and no rng is GAN_ESTATE.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param keep_prob probability of keeping a unit, in (0, 1] (1: identity)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p keep_prob outside (0, 1];
 * GAN_ENOMEM.
 */
GAN_API int gan_layer_dropout(gan_layer **out, float keep_prob);
/**
 * Reshape: the same values seen as an image of @p channels x @p height x @p width (for
 * a dense layer to feed a convolution, say). Rows are HWC, channels last, before and
 * after, so nothing moves: it checks the size and carries the shape. Since 0.2.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param channels channels (> 0)
 * @param height   rows of the image (> 0)
 * @param width    columns of the image (> 0; channels * height * width at most INT_MAX)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero size or a product beyond
 * INT_MAX; GAN_ENOMEM. gan_net_add() refuses it (GAN_EINVAL) where the net's output
 * does not have channels * height * width values.
 */
GAN_API int gan_layer_reshape(gan_layer **out, size_t channels, size_t height, size_t width);
/**
 * 2-D convolution over images, channels last. Placed on an input of shape
 * (in_channels, H, W), it gives (out_channels, OH, OW) with
 * OH = (H + 2 padding - kernel) / stride + 1 (rounded down; OW alike):
 * y[oy][ox][co] = b[co] + sum over ky, kx < kernel and ci < in_channels of
 * x[oy*stride - padding + ky][ox*stride - padding + kx][ci] * W[(ky*kernel + kx)*in_channels + ci][co],
 * zero outside the image (zero padding), as PyTorch's nn.Conv2d (dilation 1, groups 1).
 *
 * Parameters: the weights W, row-major (kernel*kernel*in_channels) x out_channels (the
 * layout of dense weights: row (ky*kernel + kx)*in_channels + ci), then out_channels
 * biases (dropped by gan_layer_set_bias()). From PyTorch, whose Conv2d weight is
 * [out, in, kh, kw]: `weight.permute(2, 3, 1, 0).reshape(kh*kw*in, out)`, then `bias`.
 * Initialised with fan_in kernel*kernel*in_channels and fan_out
 * kernel*kernel*out_channels; biases zero. The batch is folded into the rows of the
 * gemm, in chunks whose im2col buffer (the layer's only workspace, reused from call to
 * call) takes at most 1.5 MiB, more only when a single window is larger. Since 0.2.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param in_channels  input channels (> 0); gan_net_add() refuses (GAN_EINVAL) an input
 *                     with other channels
 * @param out_channels output channels (> 0)
 * @param kernel       kernel height and width (> 0; kernel*kernel*in_channels at most
 *                     INT_MAX); gan_net_add() refuses an input smaller than the kernel
 *                     with its padding
 * @param stride       step between windows (> 0, at most INT_MAX)
 * @param padding      zeros around each side of the input (less than @p kernel)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero size, a padding not less than the
 * kernel, a size beyond INT_MAX or a parameter count that overflows; GAN_ENOMEM.
 */
GAN_API int gan_layer_conv2d(gan_layer **out, size_t in_channels, size_t out_channels, size_t kernel, size_t stride,
                             size_t padding);
/**
 * Transposed 2-D convolution (the adjoint of gan_layer_conv2d(), which maps its output
 * back onto its input), channels last, as PyTorch's nn.ConvTranspose2d (dilation 1,
 * groups 1). Placed on an input of shape (in_channels, H, W), it gives
 * (out_channels, OH, OW) with OH = (H - 1) stride - 2 padding + kernel + output_padding
 * (OW alike): every input pixel (iy, ix) adds x[iy][ix][ci] * W[ci][(ky*kernel + kx)*out_channels + co]
 * to y[iy*stride - padding + ky][ix*stride - padding + kx][co] where that lies inside the
 * output, then the biases are added.
 *
 * Parameters: the weights W, row-major in_channels x (kernel*kernel*out_channels) (column
 * (ky*kernel + kx)*out_channels + co), then out_channels biases (dropped by
 * gan_layer_set_bias()). From PyTorch, whose ConvTranspose2d weight is [in, out, kh, kw]:
 * `weight.permute(0, 2, 3, 1).reshape(in, kh*kw*out)`, then `bias`. A conv2d's weights
 * transposed are the weights of the transposed convolution that is its adjoint.
 * Initialised with fan_in kernel*kernel*in_channels and fan_out
 * kernel*kernel*out_channels; biases zero. Workspace as gan_layer_conv2d(). Since 0.2.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param in_channels    input channels (> 0); gan_net_add() refuses (GAN_EINVAL) an
 *                       input with other channels, or one whose output would be empty
 *                       or beyond INT_MAX values
 * @param out_channels   output channels (> 0)
 * @param kernel         kernel height and width (> 0; kernel*kernel*out_channels at most
 *                       INT_MAX)
 * @param stride         step between windows in the output (> 0, at most INT_MAX)
 * @param padding        rows and columns taken off each side of the output (less than
 *                       @p kernel)
 * @param output_padding rows and columns added at the bottom and right of the output
 *                       (less than @p stride), to reach sizes a stride leaves ambiguous
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero size, a padding not less than the
 * kernel, an output padding not less than the stride, a size beyond INT_MAX or a
 * parameter count that overflows; GAN_ENOMEM.
 */
GAN_API int gan_layer_conv2d_transpose(gan_layer **out, size_t in_channels, size_t out_channels, size_t kernel,
                                       size_t stride, size_t padding, size_t output_padding);
/**
 * Batch normalization with PyTorch's semantics, per channel of the shape it receives
 * (per feature on a vector (n, 1, 1), per channel on an image): y = gamma (x - mean) /
 * sqrt(var + eps) + beta. In training mode mean and var are the batch's (over its rows
 * and positions; the biased variance) and the running statistics move by @p momentum:
 * running = (1 - momentum) running + momentum batch, the variance unbiased (n / (n - 1)).
 * In evaluation mode it uses the running statistics. The row's outputs depend on the
 * whole batch, so a trainer shows D real and generated rows in separate passes. A
 * training-mode forward needs at least two values per channel (batch x height x width,
 * counting the rows this process normalises in data-parallel training): fewer is
 * GAN_EINVAL naming the layer, as PyTorch refuses it. Parameters: @p channels scales (gamma), then @p channels shifts (beta); state
 * (gan_net_state()): @p channels running means, then @p channels running variances.
 * gan_net_init() sets gamma to 1 (GAN_INIT_DCGAN: normal(1, 0.02 scale)), beta to 0,
 * the running means to 0 and the running variances to 1. Since 0.2.
 * @param[out] out the new layer, owned by the caller until gan_net_add(); NULL on failure
 * @param channels channels (or features) normalised, in [1, INT_MAX]; gan_net_add()
 *                 refuses a shape with another channel count
 * @param momentum weight of a batch in the running statistics, in [0, 1] (PyTorch: 0.1)
 * @param eps      added to the variance, in (0, 1] (PyTorch: 1e-5)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or an argument out of range (NaN
 * included); GAN_ENOMEM.
 */
GAN_API int gan_layer_batchnorm(gan_layer **out, size_t channels, float momentum, float eps);
/**
 * Keep or drop a layer's biases (dense, convolution and transposed convolution layers
 * have them by default). A layer followed by a batch norm needs none: its shift plays
 * their part (DCGAN drops them). Without biases the layer's parameters are its weights
 * alone. Since 0.2.
 *
 * On a batch norm it keeps or drops the whole affine, scale gamma and shift beta together
 * (since 0.3): without it the layer has no parameters and gives y = x_hat, the normalised
 * input (PyTorch's affine=False), for a layer after it to scale and shift (a modulate
 * layer: conditional batch norm).
 * @param layer the layer, not yet in a net
 * @param on    non-zero to keep the biases (a batch norm's affine), 0 to drop them
 * @return GAN_OK; GAN_EINVAL for a NULL @p layer or a kind without biases; GAN_ESTATE
 * for a layer already in a net.
 */
GAN_API int gan_layer_set_bias(gan_layer *layer, int on);
/**
 * Spectral normalization (Miyato et al. 2018), the stabilizer of D in modern GANs: the
 * layer runs on W / sigma(W), W its weight matrix as the layer stores it (dense and maxout
 * in x width; conv2d (k*k*cin) x cout; conv2d_transpose cin x (k*k*cout)), sigma its
 * largest singular value estimated by power iteration. Each training-mode forward runs
 * @p power_iterations steps from the last estimate; other forwards use it as it stands.
 * The iteration's vectors u (columns) and v (rows) are the layer's state
 * (gan_net_state()): drawn by gan_net_init(), saved in files, restored by a failed step,
 * never trained. Vectors that are not unit vectors were never set (weights written
 * through gan_net_params(), a file whose state holds zeros): the next forward, in any
 * mode, draws them from a fixed seed and runs 64 iterations before it reads sigma. A
 * sigma that is not positive in float (W zero) leaves the weights as they are.
 * Gradients go through the normalization with u and v held, as in
 * PyTorch's torch.nn.utils.spectral_norm. Calling it again changes the count. Since 0.2.
 * @param layer             a dense, maxout, conv2d or conv2d_transpose layer, not yet in
 *                          a net
 * @param power_iterations  steps per training forward, in [1, 64] (1 is usual)
 * @return GAN_OK; GAN_EINVAL for a NULL @p layer, a kind without weights or a count out
 * of range; GAN_ESTATE for a layer already in a net; GAN_ENOMEM.
 */
GAN_API int gan_layer_spectral_norm(gan_layer *layer, size_t power_iterations);

/*
 * Layers for graphs (since 0.3). None has parameters. The kinds of several inputs
 * (concat, add, modulate, dot) go into a net with gan_net_add_from(), which names their
 * inputs; gan_net_add() gives a layer one input, so it refuses them. Shapes are checked
 * when the layer is added, with messages naming the nodes. docs/layers.md has each
 * formula.
 */
/**
 * Concatenation along channels, pixel by pixel (rows are HWC): inputs of equal height and
 * width, (c1, h, w) ... (cn, h, w) -> (c1 + ... + cn, h, w). A vector is (n, 1, 1), so
 * vectors concatenate end to end.
 * @param[out] out the new layer, owned by the caller until gan_net_add_from(); NULL on failure
 * @param n_inputs inputs, in [2, 16]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a count out of range; GAN_ENOMEM.
 */
GAN_API int gan_layer_concat(gan_layer **out, size_t n_inputs);
/**
 * Elementwise sum of inputs of one shape (a residual block's join).
 * @param[out] out the new layer; NULL on failure
 * @param n_inputs inputs, in [2, 16]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a count out of range; GAN_ENOMEM.
 */
GAN_API int gan_layer_add(gan_layer **out, size_t n_inputs);
/**
 * Channels [first, first + count) of the input: (c, h, w) -> (count, h, w). On a vector,
 * elements: this is how a net splits a row [x | cond] into its parts.
 * @param[out] out the new layer; NULL on failure
 * @param first the first channel kept
 * @param count channels kept, at least 1; gan_net_add() refuses first + count beyond the
 *              input's channels
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a count of 0 or a range beyond INT_MAX;
 * GAN_ENOMEM.
 */
GAN_API int gan_layer_slice(gan_layer **out, size_t first, size_t count);
/**
 * A vector repeated at every pixel: (c, 1, 1) -> (c, height, width); its gradient is the
 * sum over the pixels. A class as constant feature maps is a tile of its one-hot vector.
 * @param[out] out the new layer; NULL on failure
 * @param height, width the map's size, each at least 1
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a size out of range; GAN_ENOMEM.
 */
GAN_API int gan_layer_tile(gan_layer **out, size_t height, size_t width);
/**
 * Nearest-neighbour upsampling: (c, h, w) -> (c, h * factor, w * factor), each pixel
 * repeated in a factor x factor block.
 * @param[out] out the new layer; NULL on failure
 * @param factor in [1, 16]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a factor out of range; GAN_ENOMEM.
 */
GAN_API int gan_layer_upsample(gan_layer **out, size_t factor);
/**
 * Average pooling over size x size blocks at stride size: (c, h, w) ->
 * (c, h / size, w / size); gan_net_add() refuses a height or width that size does not
 * divide.
 * @param[out] out the new layer; NULL on failure
 * @param size in [1, 16]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a size out of range; GAN_ENOMEM.
 */
GAN_API int gan_layer_avgpool(gan_layer **out, size_t size);
/**
 * The sum over all positions of each channel: (c, h, w) -> (c, 1, 1) (SNGAN's D ends
 * with it).
 * @param[out] out the new layer; NULL on failure
 * @return GAN_OK; GAN_EINVAL for a NULL @p out; GAN_ENOMEM.
 */
GAN_API int gan_layer_global_sum(gan_layer **out);
/**
 * Feature-wise modulation: two inputs, x of shape (C, H, W) and s of 2C values (any
 * shape); y = x * (1 + s[:C]) + s[C:], channel by channel at every pixel. Conditional
 * batch norm is a batch norm without its own affine (gan_layer_set_bias(bn, 0)) followed
 * by a modulate whose s is computed from the class (a dense layer of the one-hot
 * condition, zero-initialised to start as plain batch norm).
 * @param[out] out the new layer; NULL on failure
 * @return GAN_OK; GAN_EINVAL for a NULL @p out; GAN_ENOMEM.
 */
GAN_API int gan_layer_modulate(gan_layer **out);
/**
 * The inner product of two inputs of equal size, one value per row (the projection
 * discriminator's term: the class embedding times D's features).
 * @param[out] out the new layer; NULL on failure
 * @return GAN_OK; GAN_EINVAL for a NULL @p out; GAN_ENOMEM.
 */
GAN_API int gan_layer_dot(gan_layer **out);
/**
 * Free a layer the caller owns. NULL-safe. Never call it on a layer a net owns.
 * @param layer the layer, or NULL
 */
GAN_API void gan_layer_free(gan_layer *layer);

/* --------------------------------------------------------------------- nets */

/**
 * A feed-forward network: a stack of layers with one flat parameter buffer and one
 * gradient buffer of the same layout. One thread at a time; a trainer or optimizer
 * that uses the net counts as a user.
 */
typedef struct gan_net gan_net;

/** Parameter initialisation schemes for gan_net_init(). Biases start at zero. */
typedef enum gan_init {
    GAN_INIT_UNIFORM = 1, /**< weights uniform in [-scale, scale] (the paper's irange) */
    GAN_INIT_XAVIER = 2,  /**< uniform in +-scale * sqrt(6 / (fan_in + fan_out)) */
    GAN_INIT_HE = 3,      /**< normal with std scale * sqrt(2 / fan_in) */
    GAN_INIT_DCGAN = 4    /**< DCGAN's: weights normal with std scale * 0.02, batch-norm scales
                               normal(1, scale * 0.02) (since 0.2) */
} gan_init;

/**
 * Create an empty net taking inputs of width @p in_dim.
 * @param[out] out the new net, owned by the caller (free it with gan_net_free()); NULL
 *                 on failure
 * @param in_dim   input width, in [1, INT_MAX]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or an @p in_dim out of range; GAN_ENOMEM.
 */
GAN_API int gan_net_create(gan_net **out, size_t in_dim);
/**
 * Create an empty net taking images: each input row holds @p height x @p width pixels of
 * @p channels values, channels last (HWC, the order of an image file's interleaved
 * pixels): value (y, x, c) is at (y * width + x) * channels + c. To feed it PyTorch's
 * NCHW tensors, permute them to NHWC first (`x.permute(0, 2, 3, 1)`). Dense and maxout
 * layers read an image as its flat row. Since 0.2.
 * @param[out] out the new net, owned by the caller; NULL on failure
 * @param channels channels per pixel (> 0)
 * @param height   image height (> 0)
 * @param width    image width (> 0; channels * height * width at most INT_MAX)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out, a zero size or a product beyond
 * INT_MAX; GAN_ENOMEM.
 */
GAN_API int gan_net_create_image(gan_net **out, size_t channels, size_t height, size_t width);
/**
 * The shape of the net's input rows: (in_dim, 1, 1) for a net made by gan_net_create().
 * Since 0.2.
 * @param net           the net
 * @param[out] channels channels (may be NULL)
 * @param[out] height   height (may be NULL)
 * @param[out] width    width (may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p net.
 */
GAN_API int gan_net_in_shape(const gan_net *net, size_t *channels, size_t *height, size_t *width);
/**
 * The shape of the net's output rows: the last layer's output shape, (n, 1, 1) after a
 * dense or maxout layer; the input shape for a net without layers. Since 0.2.
 * @param net           the net
 * @param[out] channels channels (may be NULL)
 * @param[out] height   height (may be NULL)
 * @param[out] width    width (may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p net.
 */
GAN_API int gan_net_out_shape(const gan_net *net, size_t *channels, size_t *height, size_t *width);
/**
 * Free a net and the layers it owns (not the rng lent with gan_net_set_rng()).
 * NULL-safe. A trainer that borrows the net must be freed first.
 * @param net the net, or NULL
 */
GAN_API void gan_net_free(gan_net *net);
/**
 * Append @p layer. On success the net owns it; on failure the caller still does, and
 * the net and the layer are unchanged. The new layer's parameters are zero until
 * gan_net_init(); those of the layers before it are kept. Invalidates pointers from
 * gan_net_params() and gan_net_grads(), and the last forward pass (the next
 * gan_net_backward() needs a new gan_net_forward()).
 * @param net   the net
 * @param layer a layer the caller owns (never one that a net already owns)
 * A trainer that borrows the net refuses it from then on (GAN_ESTATE): create a new
 * trainer for the new net. The parameter buffer grows geometrically, so building a net
 * layer by layer copies it a logarithmic number of times.
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a layer already in this or another net, a layer
 * that does not fit the net's output shape (a dense or maxout layer whose input width is
 * not the net's output size, a reshape of another size), or a net size that overflows;
 * GAN_ENOMEM.
 */
GAN_API int gan_net_add(gan_net *net, gan_layer *layer);
/**
 * Append @p layer reading the nodes @p from (since 0.3). Node 0 is the net's input and
 * node k the output of the k-th layer added (layer k-1), so a layer added as the net's
 * n-th reads nodes 0 .. n-1 and its output becomes node n. gan_net_add(net, layer) is
 * this with the last node. A node read by several layers gets the sum of their gradients
 * in backward. The layer's shapes are checked against the nodes it names, with a message
 * naming them; otherwise as gan_net_add().
 * @param net    the net
 * @param layer  a layer the caller owns
 * @param from   the nodes it reads, in the order the layer takes them
 * @param n_from how many: the layer's input count (1 for every kind but concat, add,
 *               modulate and dot)
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a node that does not exist yet, a count
 * the layer does not take, or shapes that do not fit (and as gan_net_add()); GAN_ENOMEM.
 */
GAN_API int gan_net_add_from(gan_net *net, gan_layer *layer, const size_t *from, size_t n_from);
/**
 * The shape of node @p node: 0 the input, k the output of layer k-1 (since 0.3).
 * @param net  the net
 * @param node in [0, gan_net_num_layers()]
 * @param[out] channels, height, width the shape (each may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p net or a node that does not exist.
 */
GAN_API int gan_net_node_shape(const gan_net *net, size_t node, size_t *channels, size_t *height, size_t *width);
/**
 * The nodes layer @p index reads (since 0.3).
 * @param net    the net
 * @param index  the layer, in [0, gan_net_num_layers())
 * @param[out] from   where to write up to @p cap node numbers (may be NULL when @p cap is 0)
 * @param cap    room in @p from
 * @param[out] n_from the layer's input count (may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p net, a layer that does not exist, or a @p cap
 * below the count.
 */
GAN_API int gan_net_layer_inputs(const gan_net *net, size_t index, size_t *from, size_t cap, size_t *n_from);
/**
 * The width of the net's input rows.
 * @param net the net, or NULL
 * @return the input width, or 0 for NULL.
 */
GAN_API size_t gan_net_in_dim(const gan_net *net);
/**
 * The width of the net's output rows.
 * @param net the net, or NULL
 * @return the output width (the input width while empty), or 0 for NULL.
 */
GAN_API size_t gan_net_out_dim(const gan_net *net);
/**
 * The size of the parameter (and gradient) buffer.
 * @param net the net, or NULL
 * @return the number of float parameters, or 0 for NULL.
 */
GAN_API size_t gan_net_num_params(const gan_net *net);
/**
 * The number of layers added so far.
 * @param net the net, or NULL
 * @return the number of layers, or 0 for NULL.
 */
GAN_API size_t gan_net_num_layers(const gan_net *net);
/**
 * A layer of the net, for inspection.
 * @param net   the net, or NULL
 * @param index the layer's position, from 0
 * @return the layer at @p index, borrowed (owned by the net: never free it; valid until
 * the net changes shape or is freed), or NULL for a NULL @p net or an @p index out of
 * range.
 */
GAN_API const gan_layer *gan_net_layer(const gan_net *net, size_t index);
/**
 * The kind of a layer.
 * @param layer the layer, or NULL
 * @return one of the GAN_LAYER_* kinds (the enum above lists them all); 0 for NULL.
 */
GAN_API int gan_layer_kind(const gan_layer *layer);
/**
 * The width of a layer's input rows.
 * @param layer the layer, or NULL
 * @return the layer's input width (0 for NULL, or for an activation or dropout layer
 * not yet added to a net).
 */
GAN_API size_t gan_layer_in_dim(const gan_layer *layer);
/**
 * The width of a layer's output rows (for maxout, the number of units).
 * @param layer the layer, or NULL
 * @return the layer's output width (0 for NULL, or for an activation or dropout layer
 * not yet added to a net).
 */
GAN_API size_t gan_layer_out_dim(const gan_layer *layer);
/**
 * The number of parameters a layer takes in its net's buffer.
 * @param layer the layer, or NULL
 * @return the layer's number of parameters (weights and biases; 0 for activation and
 * dropout layers and for NULL).
 */
GAN_API size_t gan_layer_num_params(const gan_layer *layer);
/**
 * Where layer @p index's parameters sit in gan_net_params() (and its gradients in
 * gan_net_grads()): weights first (row-major in_dim x out_dim; maxout: in_dim x
 * (units * pieces), where column u * pieces + k is piece k of unit u), then biases.
 * @param net         the net
 * @param index       the layer's position, from 0
 * @param[out] offset first float of the layer's parameters (may be NULL)
 * @param[out] count  number of floats, 0 for a layer without parameters (may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p net or an @p index out of range.
 */
GAN_API int gan_net_layer_params(const gan_net *net, size_t index, size_t *offset, size_t *count);

/**
 * Initialise every dense and maxout layer's parameters: weights drawn from @p rng,
 * layer by layer, biases zero.
 * @param net    the net
 * @param rng    the stream to draw from (borrowed for the call only)
 * @param scheme the initialisation scheme
 * @param scale  its scale (finite, >= 0)
 * A net counts as initialised, for gan_trainer_step(), once this, a load or
 * gan_net_params() has set its parameters after its last layer was added. A trainer that
 * borrows the net keeps training it; the EMA of G restarts from the new weights.
 * @return GAN_OK; GAN_EINVAL for a NULL @p net or @p rng, an unknown @p scheme or an
 * invalid @p scale (nothing is drawn or written).
 */
GAN_API int gan_net_init(gan_net *net, gan_rng *rng, gan_init scheme, float scale);
/**
 * Lend the net an rng for dropout in training mode. Needed only by nets with dropout.
 * A trainer lends its own dropout stream to G and D, replacing any set before.
 * @param net the net
 * @param rng the stream, borrowed: it must outlive its use and is drawn from during
 *            gan_net_forward(), so it counts as used by the net's thread; NULL detaches it
 * @return GAN_OK; GAN_EINVAL if @p net is NULL.
 */
GAN_API int gan_net_set_rng(gan_net *net, gan_rng *rng);

/**
 * Forward pass. @p x is batch x in_dim, @p y is batch x out_dim (row-major);
 * @p train selects training mode (dropout active). Activations are kept for
 * gan_net_backward(); @p x is not. Workspaces grow on the first call at a larger batch
 * and are reused afterwards: no allocation in steady state.
 * @param net      the net
 * @param x        batch x in_dim input rows
 * @param batch    number of rows, in [1, INT_MAX]
 * @param[out] y   batch x out_dim output rows
 * @param train    non-zero for training mode, 0 for evaluation mode
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a @p batch out of range or
 * workspaces whose size overflows; GAN_ESTATE in training mode when a dropout layer
 * (keep_prob < 1) has no rng (gan_net_set_rng()); GAN_ENOMEM.
 */
GAN_API int gan_net_forward(gan_net *net, const float *x, size_t batch, float *y, int train);
/**
 * The output of the first @p depth layers in evaluation mode (running statistics, no
 * dropout): a classifier's penultimate layer as features, say. gan_net_backward() after it
 * differentiates those @p depth layers. Same workspaces and rules as gan_net_forward().
 * @param net      the net
 * @param x        batch x in_dim input rows
 * @param batch    number of rows, in [1, INT_MAX]
 * @param depth    layers to run, in [0, gan_net_num_layers()]; 0 copies @p x
 * @param[out] y   batch x (output width of layer depth - 1, gan_layer_out_dim()) rows
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a @p batch out of range or a @p depth
 * beyond the last layer; GAN_ENOMEM.
 */
GAN_API int gan_net_forward_to(gan_net *net, const float *x, size_t batch, size_t depth, float *y);
/**
 * Backward pass for the last forward: @p dy is batch x out_dim, @p dx
 * (batch x in_dim) receives the input gradient and may be NULL. Parameter
 * gradients are added to gan_net_grads() (call gan_net_zero_grads() first to start
 * afresh); @p dx is overwritten.
 * @param net     the net
 * @param dy      batch x out_dim gradient of the loss with respect to the last output
 * @param[out] dx batch x in_dim gradient with respect to the input, or NULL
 * @return GAN_OK; GAN_EINVAL for a NULL @p net or @p dy; GAN_ESTATE when there was no
 * forward pass since the net was created or last changed shape.
 */
GAN_API int gan_net_backward(gan_net *net, const float *dy, float *dx);
/**
 * The flat parameter buffer, writable (e.g. to load weights); layout in
 * gan_net_layer_params(). Whoever holds it may write weights, so from this call on the
 * net counts as initialised (see gan_net_init()).
 * @param net the net, or NULL
 * @return gan_net_num_params() floats, borrowed (owned by the net; valid until the net
 * changes shape or is freed), or NULL for NULL or a net without parameters.
 */
GAN_API float *gan_net_params(gan_net *net);
/**
 * The flat gradient buffer, same layout as gan_net_params().
 * @param net the net, or NULL
 * @return gan_net_num_params() floats, borrowed (owned by the net; valid until the net
 * changes shape or is freed), or NULL for NULL or a net without parameters.
 */
GAN_API float *gan_net_grads(gan_net *net);
/**
 * The flat state buffer: the net's non-trainable values (batch-norm running
 * statistics), layer by layer. Optimizers, weight clipping and gradients never touch it;
 * files, checkpoints and the all-or-nothing step cover it. Since 0.2.
 * @param net the net, or NULL
 * @return gan_net_num_state() floats, borrowed (valid until the net changes shape or is
 * freed), or NULL for NULL or a net without state.
 */
GAN_API float *gan_net_state(gan_net *net);
/**
 * The number of floats in gan_net_state(). Since 0.2.
 * @param net the net, or NULL
 * @return the state's size (0 for NULL or a net without batch norm).
 */
GAN_API size_t gan_net_num_state(const gan_net *net);
/**
 * Set every gradient to zero.
 * @param net the net
 * @return GAN_OK; GAN_EINVAL if @p net is NULL.
 */
GAN_API int gan_net_zero_grads(gan_net *net);

/* --------------------------------------------------------------- optimizers */

/**
 * An optimizer. Its state is sized for the first net it steps. One thread at a time;
 * a trainer that borrows it counts as a user.
 */
typedef struct gan_optim gan_optim;

/**
 * SGD with classical momentum: v = momentum * v - lr * g; p += v.
 * With @p nesterov: p += momentum * v - lr * g (after updating v).
 * @param[out] out the new optimizer, owned by the caller (free it with
 *                 gan_optim_free()); NULL on failure
 * @param lr       learning rate (finite, >= 0)
 * @param momentum momentum, in [0, 1) (0: plain SGD)
 * @param nesterov non-zero for Nesterov momentum
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or an invalid @p lr or @p momentum;
 * GAN_ENOMEM.
 */
GAN_API int gan_optim_sgd(gan_optim **out, float lr, float momentum, int nesterov);
/**
 * Adam (Kingma & Ba) with bias correction.
 * @param[out] out the new optimizer, owned by the caller (free it with
 *                 gan_optim_free()); NULL on failure
 * @param lr       learning rate (finite, >= 0)
 * @param beta1    decay of the first moment, in [0, 1)
 * @param beta2    decay of the second moment, in [0, 1)
 * @param eps      added to the denominator, in (0, 1]
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or a hyperparameter out of range;
 * GAN_ENOMEM.
 */
GAN_API int gan_optim_adam(gan_optim **out, float lr, float beta1, float beta2, float eps);
/**
 * Free an optimizer. NULL-safe. A trainer that borrows it must be freed first.
 * @param opt the optimizer, or NULL
 */
GAN_API void gan_optim_free(gan_optim *opt);
/**
 * Apply one update to @p net from its gradients. The first step allocates the
 * state for that net; another net (of any size: the state is its parameters' history,
 * so one optimizer given to two trainers is refused too) is GAN_EINVAL until
 * gan_optim_reset(). The gradients are read, not cleared. The update is checked
 * before it is written: on failure the parameters and the state are unchanged.
 * @param opt the optimizer
 * @param net the net whose parameters are updated (only used for the call)
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a net without parameters, or a net
 * other than the one the state is for; GAN_ENOMEM (first step); GAN_EDIVERGED when the
 * gradient is not finite or the update would overflow.
 */
GAN_API int gan_optim_step(gan_optim *opt, gan_net *net);
/**
 * Forget all state (momentum, moments, step count) and free it; the hyperparameters
 * stay. The next step may then be for a net of another size.
 * @param opt the optimizer
 * @return GAN_OK; GAN_EINVAL if @p opt is NULL.
 */
GAN_API int gan_optim_reset(gan_optim *opt);
/**
 * Set the learning rate, used from the next step on.
 * @param opt the optimizer
 * @param lr  the learning rate (finite, >= 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p opt or an invalid @p lr.
 */
GAN_API int gan_optim_set_lr(gan_optim *opt, float lr);
/**
 * The current learning rate.
 * @param opt the optimizer, or NULL
 * @return the learning rate, or 0 for NULL.
 */
GAN_API float gan_optim_get_lr(const gan_optim *opt);
/**
 * Set the momentum (SGD) or beta1 (Adam), used from the next step on.
 * @param opt      the optimizer
 * @param momentum the value, in [0, 1)
 * @return GAN_OK; GAN_EINVAL for a NULL @p opt or a value outside [0, 1).
 */
GAN_API int gan_optim_set_momentum(gan_optim *opt, float momentum);
/**
 * The current momentum (SGD) or beta1 (Adam).
 * @param opt the optimizer, or NULL
 * @return the momentum (SGD) or beta1 (Adam), or 0 for NULL.
 */
GAN_API float gan_optim_get_momentum(const gan_optim *opt);
/**
 * The number of updates applied.
 * @param opt the optimizer, or NULL
 * @return the number of steps taken since creation or reset, or 0 for NULL.
 */
GAN_API uint64_t gan_optim_steps(const gan_optim *opt);

/* ------------------------------------------------------------------ trainer */

/**
 * The minimax trainer. Borrows G, D and their optimizers: they must outlive it. One
 * thread at a time, and while it trains, G, D, their optimizers and its callbacks'
 * payloads are used by that thread too.
 */
typedef struct gan_trainer gan_trainer;

/**
 * Data callback: fill @p x (batch x data_dim, data_dim = G's output width) with real
 * samples and, when the condition size c > 0, @p cond (batch x c) with their
 * conditions (@p cond is NULL when c = 0). Draw randomness only from @p rng, the
 * trainer's data stream, so a run is reproducible from its seed. Called on the thread
 * that called the trainer, during gan_trainer_step() or gan_trainer_run().
 * @param payload   the pointer given to gan_trainer_set_data()
 * @param rng       the trainer's data stream (borrowed for the call)
 * @param[out] x    batch x data_dim floats to fill (the trainer's; valid for the call)
 * @param[out] cond batch x c floats to fill, or NULL when c = 0
 * @param batch     number of rows
 * @return 0 to go on; anything else stops the call with GAN_EUSER.
 */
typedef int (*gan_data_fn)(void *payload, gan_rng *rng, float *x, float *cond, size_t batch);
/**
 * Noise callback: fill @p z (batch x dim) from @p rng, the trainer's noise stream.
 * Called on the thread that called the trainer, during gan_trainer_step(),
 * gan_trainer_run() or gan_trainer_generate().
 * @param payload the pointer given to gan_trainer_set_noise()
 * @param rng     the trainer's noise stream (borrowed for the call)
 * @param[out] z  batch x dim floats to fill (the trainer's; valid for the call)
 * @param batch   number of rows
 * @param dim     the noise width, gan_trainer_noise_dim()
 * @return 0 to go on; anything else stops the call with GAN_EUSER.
 */
typedef int (*gan_noise_fn)(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim);

/** Losses, all computed from D's logit in a numerically stable form. */
typedef enum gan_loss {
    GAN_LOSS_MINIMAX = 1,         /**< the paper's game: G minimises log(1 - D(G(z))) */
    GAN_LOSS_NON_SATURATING = 2,  /**< G maximises log D(G(z)) (default) */
    GAN_LOSS_LEAST_SQUARES = 3,   /**< LSGAN on the logit: l_real -> 1, l_fake -> 0 in squares */
    GAN_LOSS_HINGE = 4,           /**< D: relu(1 - l_real) + relu(1 + l_fake); G: -l_fake */
    GAN_LOSS_WASSERSTEIN = 5      /**< critic l_fake - l_real with weight clipping */
} gan_loss;

/** How D and G updates interleave. */
typedef enum gan_update {
    GAN_UPDATE_ALTERNATING = 1,  /**< Algorithm 1: k D steps, then g G steps (default) */
    GAN_UPDATE_SIMULTANEOUS = 2, /**< D and G updated from the same batch */
    GAN_UPDATE_REUSE_FAKES = 3   /**< alternating, G's first update on the fakes of D's last
                                      (pytorch/examples' DCGAN loop: one G forward fewer a
                                      step; since 0.3) */
} gan_update;

/** The trainer's rng streams, all derived from its seed. */
typedef enum gan_stream {
    GAN_STREAM_INIT = 0,    /**< for initialising the nets (gan_net_init) */
    GAN_STREAM_DATA = 1,    /**< handed to the data callback */
    GAN_STREAM_NOISE = 2,   /**< handed to the noise callback */
    GAN_STREAM_DROPOUT = 3  /**< lent to G and D for dropout */
} gan_stream;

/**
 * Per-step statistics, filled by the library. Set @c size to sizeof(gan_step_stats)
 * before passing it in; the library fills only the fields that fit, so the struct can
 * grow at its end without breaking old callers.
 */
typedef struct gan_step_stats {
    uint32_t size;       /**< set by the caller: sizeof(gan_step_stats); left unchanged */
    uint32_t reserved;   /**< zero */
    uint64_t step;       /**< steps completed, this one included (gan_trainer_steps()) */
    double loss_d;       /**< D's loss on its last update */
    double loss_g;       /**< G's loss on its last update */
    double d_real;       /**< mean sigmoid(D logit) on real data */
    double d_fake;       /**< mean sigmoid(D logit) on generated data */
    double grad_norm_d;  /**< L2 norm of D's last gradient */
    double grad_norm_g;  /**< L2 norm of G's last gradient */
    double lr_d;         /**< D's learning rate */
    double lr_g;         /**< G's learning rate */
    /** The gradient penalty this step added to D's loss on its last D update (weight and
     *  lazy interval included); 0 on steps that take none (since 0.3) */
    double penalty;
    /** The mean over the penalty's rows of |grad_x D|, the norm it is taken of; 0 on steps
     *  that take no penalty (since 0.3) */
    double input_grad_norm;
} gan_step_stats;

/**
 * Step callback of gan_trainer_run(), called after every completed step on the thread
 * that called gan_trainer_run().
 * @param payload the pointer given to gan_trainer_run()
 * @param stats   the step's statistics, all fields filled (borrowed: valid during
 *                the call only)
 * @return 0 to go on; non-zero stops the run with GAN_EUSER (the step stays done).
 */
typedef int (*gan_step_fn)(void *payload, const gan_step_stats *stats);

/**
 * Create a trainer over generator @p g, discriminator @p d (one output: a logit, or a
 * probability when its last layer is a sigmoid, whose input is then used as the logit)
 * and their optimizers. All four are borrowed. The trainer lends its dropout stream to
 * G and D (gan_net_set_rng) here and whenever it runs them, and takes it back when freed.
 * The owner may still change a borrowed handle: the trainer notices. A net grown since
 * this call (gan_net_add) is refused by every call that uses it (GAN_ESTATE, naming the
 * net); a net re-initialised keeps training. Two trainers may share a net (each uses its
 * own dropout stream); an optimizer stays with the net its state was made for (see
 * gan_optim_step()). Train only initialised nets: see gan_trainer_step().
 * Defaults: batch 100, k = 1 D step and 1 G step, alternating, non-saturating loss,
 * seed 0, no condition, noise uniform in [-1, 1], no label smoothing, no EMA.
 * @param[out] out the new trainer, owned by the caller (free it with
 *                 gan_trainer_free()); NULL on failure
 * @param g        the generator: input width = noise width + condition size, output
 *                 width = data width (borrowed: must outlive the trainer)
 * @param d        the discriminator, with one output (borrowed: must outlive the trainer)
 * @param opt_g    G's optimizer (borrowed: must outlive the trainer)
 * @param opt_d    D's optimizer, distinct from @p opt_g (borrowed: must outlive the
 *                 trainer)
 * @return GAN_OK; GAN_EINVAL for a NULL argument, the same net or optimizer given
 * twice, a D without exactly one output or with fewer inputs than G's outputs, or a net
 * without parameters; GAN_ENOMEM.
 */
GAN_API int gan_trainer_create(gan_trainer **out, gan_net *g, gan_net *d, gan_optim *opt_g, gan_optim *opt_d);
/**
 * Free a trainer (not the nets or optimizers it borrows, which must still be alive),
 * detaching its dropout stream from G and D. NULL-safe. Streams from gan_trainer_rng()
 * are freed with it.
 * @param t the trainer, or NULL
 */
GAN_API void gan_trainer_free(gan_trainer *t);
/**
 * Set the data callback (required before training).
 * @param t       the trainer
 * @param fn      the callback
 * @param payload passed to @p fn as is (borrowed: must stay valid while the trainer
 *                may call @p fn; may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or @p fn.
 */
GAN_API int gan_trainer_set_data(gan_trainer *t, gan_data_fn fn, void *payload);
/**
 * Set a custom noise callback, replacing the built-in noise. Checkpoints do not save
 * it (see gan_trainer_load()).
 * @param t       the trainer
 * @param fn      the callback
 * @param payload passed to @p fn as is (borrowed: must stay valid while the trainer
 *                may call @p fn; may be NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or @p fn.
 */
GAN_API int gan_trainer_set_noise(gan_trainer *t, gan_noise_fn fn, void *payload);
/**
 * Built-in noise: uniform in [-a, a], replacing any custom callback.
 * @param t the trainer
 * @param a the half-width (finite, > 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an invalid @p a.
 */
GAN_API int gan_trainer_set_noise_uniform(gan_trainer *t, float a);
/**
 * Built-in noise: normal with mean 0 and standard deviation @p std, replacing any
 * custom callback.
 * @param t   the trainer
 * @param std the standard deviation (finite, > 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an invalid @p std.
 */
GAN_API int gan_trainer_set_noise_normal(gan_trainer *t, float std);
/**
 * Samples per batch (default 100); D sees twice as many rows. Workspaces grow at the
 * next step.
 * @param t     the trainer
 * @param batch the batch size, in [1, 2^28]
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or a @p batch out of range.
 */
GAN_API int gan_trainer_set_batch_size(gan_trainer *t, size_t batch);
/**
 * D updates per step (alternating mode; default 1).
 * @param t the trainer
 * @param k the count (>= 1)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or @p k = 0.
 */
GAN_API int gan_trainer_set_d_steps(gan_trainer *t, unsigned k);
/**
 * G updates per step (alternating mode; default 1).
 * @param t the trainer
 * @param g the count (>= 1)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or @p g = 0.
 */
GAN_API int gan_trainer_set_g_steps(gan_trainer *t, unsigned g);
/**
 * Alternating (default) or simultaneous updates, or alternating updates whose first G
 * update trains on the fakes (noise, conditions, G's forward) of the step's last D update
 * instead of new ones (GAN_UPDATE_REUSE_FAKES, since 0.3).
 * @param t    the trainer
 * @param mode the update mode
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an unknown @p mode.
 */
GAN_API int gan_trainer_set_update(gan_trainer *t, gan_update mode);
/**
 * Choose the loss (default GAN_LOSS_NON_SATURATING).
 * @param t    the trainer
 * @param loss the loss
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an unknown @p loss.
 */
GAN_API int gan_trainer_set_loss(gan_trainer *t, gan_loss loss);
/**
 * Reseed every stream from @p seed and restart the step count at 0. The nets, the
 * optimizers and the EMA are not touched.
 * @param t    the trainer
 * @param seed any value (default 0)
 * @return GAN_OK; GAN_EINVAL if @p t is NULL.
 */
GAN_API int gan_trainer_set_seed(gan_trainer *t, uint64_t seed);
/**
 * Condition size c (0 disables): the data callback fills one condition row per sample,
 * and the trainer appends it to G's noise and to D's input. Needs
 * D's input width = G's output width + c and G's input width > c.
 * @param t the trainer
 * @param c the condition size (default 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or widths that do not fit @p c (the old
 * size is kept); GAN_ESTATE when G or D changed since gan_trainer_create().
 */
GAN_API int gan_trainer_set_cond_dim(gan_trainer *t, size_t c);
/**
 * One-sided label smoothing: D's target for real data (in (0, 1]; 1 disables).
 * Used by the cross-entropy and least-squares losses only.
 * @param t           the trainer
 * @param real_target the target, in (0, 1] (default 1)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or a target outside (0, 1].
 */
GAN_API int gan_trainer_set_label_smoothing(gan_trainer *t, float real_target);
/**
 * Weight clipping range for the Wasserstein loss: after each D update every D
 * parameter is clipped to [-c, c].
 * @param t the trainer
 * @param c the range (finite, > 0; default 0.01)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an invalid @p c.
 */
GAN_API int gan_trainer_set_clip(gan_trainer *t, float c);

/** Gradient penalties on D (gan_trainer_set_gradient_penalty(), since 0.3). */
typedef enum gan_penalty {
    GAN_PENALTY_NONE = 0,    /**< no penalty (default) */
    GAN_PENALTY_WGAN_GP = 1, /**< weight * (|grad_x D(x_hat)| - 1)^2 on interpolates (Gulrajani et al. 2017) */
    GAN_PENALTY_R1 = 2       /**< weight / 2 * |grad_x D(x)|^2 on real rows (Mescheder et al. 2018) */
} gan_penalty;

/**
 * A gradient penalty added to D's loss (docs/trainer.md). D(x) is D's logit (below a
 * final sigmoid); the norm of its input gradient is taken per row over the data part of
 * the row (not its condition) and the penalty averaged over the batch. WGAN-GP takes it
 * on x_hat = e x + (1 - e) G(z), one uniform e per row drawn from the dropout stream;
 * R1 on the real rows. The penalty is applied on every @p interval-th step (steps 0,
 * interval, 2 interval, ... counted before the step) with its weight multiplied by
 * @p interval, StyleGAN2's lazy form. With a penalty the Wasserstein loss does not clip
 * D's weights. D may hold any layer but batch norm, whose output for a row depends on
 * the batch (the penalty is defined per row).
 * @param t        the trainer
 * @param kind     a gan_penalty
 * @param weight   finite, > 0 (ignored for GAN_PENALTY_NONE); 10 is WGAN-GP's usual lambda
 * @param interval 1 to apply it on every step, at most 1,000,000
 * @return GAN_OK; GAN_EINVAL for a NULL @p t, an unknown kind, a bad weight or interval,
 * or a D with batch norm (the settings are kept).
 */
GAN_API int gan_trainer_set_gradient_penalty(gan_trainer *t, gan_penalty kind, float weight, unsigned interval);

/** Differentiable augmentation (gan_trainer_set_augment(), since 0.3): bits, OR-ed. */
typedef enum gan_augment {
    GAN_AUGMENT_NONE = 0,        /**< D sees the rows as they are (default) */
    GAN_AUGMENT_COLOR = 1,       /**< brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5) */
    GAN_AUGMENT_TRANSLATION = 2, /**< shift by up to 1/8 of the side each way, zeros coming in */
    GAN_AUGMENT_CUTOUT = 4       /**< zero a square of half the side at a random place */
} gan_augment;

/**
 * DiffAugment (Zhao et al. 2020) on everything D sees: every real and generated row D
 * takes, in D's updates and in G's, goes through the same kinds of random transform
 * (in the order colour, translation, cutout, as the paper's code applies them), each row
 * with its own draw, and G's gradient flows back through the transform (docs/trainer.md).
 * The draws come from the dropout stream, one set per row of the whole batch whatever
 * the rank count, so runs are reproducible and resume bit for bit. A gradient penalty
 * is taken on augmented rows, as D sees them. Only the data part of a row is
 * transformed, never its condition; data rows are images channels last, values in
 * [-1, 1] as the paper's code expects (the transforms' constants are for that range).
 * @param t      the trainer
 * @param policy gan_augment bits; 0 turns it off.
 *               GAN_AUGMENT_COLOR | GAN_AUGMENT_TRANSLATION | GAN_AUGMENT_CUTOUT is the
 *               paper's choice for small data sets
 * @return GAN_OK; GAN_EINVAL for a NULL @p t, an unknown bit, or nets whose data rows
 * are not images: D's input shape (gan_net_create_image()) or, for a D with condition
 * columns, G's output shape must be an image of at least 2 x 2 of G's output width
 * (the settings are kept).
 */
GAN_API int gan_trainer_set_augment(gan_trainer *t, unsigned policy);
/**
 * Exponential moving average of G's weights with the given decay in [0, 1); 0 turns
 * it off. When on, gan_trainer_generate() uses the averaged weights. The average
 * starts at G's weights as they are at this call, and starts again from G's weights
 * whenever they are set afterwards (gan_net_init(), a load of G's file), so turning it
 * on before initialising G is fine. Changing a non-zero decay keeps the running average.
 * The decay used after s steps (gan_trainer_steps()) is min(decay, (1 + s) / (10 + s)),
 * as in TensorFlow's ExponentialMovingAverage with num_updates, so the weights the
 * average starts from fade out within the first steps.
 * Only parameters are averaged: G's state (batch-norm running statistics, themselves
 * averages) is used as it is.
 * @param t     the trainer
 * @param decay the decay, in [0, 1) (default 0: off)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or a decay outside [0, 1); GAN_ESTATE when
 * G changed since gan_trainer_create(); GAN_ENOMEM when turning it on (the setting is
 * then unchanged).
 */
GAN_API int gan_trainer_set_ema(gan_trainer *t, float decay);
/** The statistics batch norm uses in G when gan_trainer_generate() runs it. */
typedef enum gan_norm_stats {
    GAN_STATS_RUNNING = 0, /**< the running statistics (evaluation mode; the default) */
    GAN_STATS_BATCH = 1    /**< each generated batch's own statistics, as the DCGAN reference
                                code samples (nothing is updated) */
} gan_norm_stats;

/**
 * Choose what batch norm layers in G use when gan_trainer_generate() runs it: the
 * running statistics (evaluation mode, the default) or the statistics of each batch it
 * generates (with n smaller than the batch size, of those n rows). Saved in
 * checkpoints. Since 0.2.
 * @param t     the trainer
 * @param stats GAN_STATS_RUNNING or GAN_STATS_BATCH
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or an unknown @p stats.
 */
GAN_API int gan_trainer_set_generate_stats(gan_trainer *t, gan_norm_stats stats);
/**
 * One of the trainer's rng streams, e.g. GAN_STREAM_INIT for gan_net_init().
 * Drawing from it changes the trainer's run; it is used under the trainer's
 * threading rule (one thread at a time with the trainer).
 * @param t     the trainer, or NULL
 * @param which the stream
 * @return the stream, borrowed (owned by the trainer: never free it; valid until the
 * trainer is freed), or NULL for a NULL @p t or an unknown @p which.
 */
GAN_API gan_rng *gan_trainer_rng(gan_trainer *t, gan_stream which);
/**
 * The width of a noise row.
 * @param t the trainer, or NULL
 * @return the noise width (G's input width minus the condition size), or 0 for NULL.
 */
GAN_API size_t gan_trainer_noise_dim(const gan_trainer *t);
/**
 * The width of a data row: what the data callback writes per sample into @p x, and
 * what gan_trainer_generate() writes per sample. Since 0.2.
 * @param t the trainer, or NULL
 * @return G's output width, or 0 for NULL.
 */
GAN_API size_t gan_trainer_data_dim(const gan_trainer *t);
/**
 * The width of a condition row: what the data callback writes per sample into
 * @p cond (which is NULL when this is 0). Since 0.2.
 * @param t the trainer, or NULL
 * @return the condition size set with gan_trainer_set_cond_dim(), or 0 for NULL.
 */
GAN_API size_t gan_trainer_cond_dim(const gan_trainer *t);
/**
 * The number of steps completed.
 * @param t the trainer, or NULL
 * @return the steps completed since creation or the last gan_trainer_set_seed() (a
 * restored checkpoint sets its own count), or 0 for NULL.
 */
GAN_API uint64_t gan_trainer_steps(const gan_trainer *t);

/**
 * One step: k D updates then g G updates (alternating), or one joint update
 * (simultaneous). A step is all or nothing: when it fails (a non-finite loss or
 * gradient gives GAN_EDIVERGED, a callback GAN_EUSER) G, D, their optimizers, the EMA
 * and the rng streams are left bit-identical to their state before the step.
 * In steady state a step allocates nothing: once a step of the same kind (update mode,
 * one or several D updates, one or several G updates) has run at this batch size.
 * @param t              the trainer
 * @param[in,out] stats  may be NULL; else its size field (at least 16: size, reserved
 *                       and step) is read and the fields that fit are filled on success
 * A D with batch norm sees the generated rows and the real ones in separate passes;
 * every training-mode pass moves the running statistics, which a failed step restores.
 * Every failure leaves a message naming this function and where it failed
 * ("gan_trainer_step: D: ...").
 * @return GAN_OK; GAN_EINVAL for a NULL @p t, a @p stats size below 16, an optimizer
 * whose state is for another net, or workspaces whose size overflows; GAN_ESTATE when no
 * data callback is set, the nets' widths do not fit the condition size (a conditional
 * model without gan_trainer_set_cond_dim()), G or D changed since gan_trainer_create(),
 * or G or D was never initialised: no gan_net_init(), load or gan_net_params() since
 * its last layer was added ("G was never initialised (gan_net_init)"); GAN_ENOMEM (first step at a
 * batch size); GAN_EUSER when a callback returns non-zero; GAN_EDIVERGED for a
 * non-finite loss or gradient or an update that would overflow.
 */
GAN_API int gan_trainer_step(gan_trainer *t, gan_step_stats *stats);
/**
 * Run @p steps steps, calling @p on_step (may be NULL) after each. Stops at the first
 * failure: steps completed before it stay done, the failed one is undone as in
 * gan_trainer_step().
 * @param t       the trainer
 * @param steps   number of steps (0 does nothing)
 * @param on_step called after each step, or NULL
 * @param payload passed to @p on_step as is (may be NULL)
 * @return GAN_OK; GAN_EINVAL if @p t is NULL; any code of gan_trainer_step(); GAN_EUSER
 * when @p on_step returns non-zero.
 */
GAN_API int gan_trainer_run(gan_trainer *t, uint64_t steps, gan_step_fn on_step, void *payload);
/**
 * Generate @p n samples into @p out (n x data_dim) in evaluation mode. @p z is n x
 * noise_dim, or NULL to draw it from the noise callback with the noise stream; @p cond
 * is n x c (required when c > 0, else ignored). Uses the EMA weights when the EMA is
 * on (G's own weights are left as they were) and works in chunks of the batch size.
 * @param t        the trainer
 * @param z        n x gan_trainer_noise_dim() noise rows, or NULL
 * @param cond     n x c condition rows, or NULL when c = 0
 * @param n        number of samples (> 0)
 * @param[out] out n x data_dim floats (data_dim = G's output width)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t or @p out, @p n = 0 or a NULL @p cond when
 * c > 0; GAN_ESTATE for widths that do not fit the condition size, a G changed since
 * gan_trainer_create() or never initialised; GAN_ENOMEM; GAN_EUSER when the
 * noise callback returns non-zero, GAN_EDIVERGED when it writes NaN or Inf (@p out is
 * then partly written; the trainer, its noise stream included, is as before the call).
 */
GAN_API int gan_trainer_generate(gan_trainer *t, const float *z, const float *cond, size_t n, float *out);

/* ------------------------------------------------------------------ dataset */

/**
 * A data set: n rows of dim values, with optional labels. Images and IDX files keep their
 * bytes (a quarter of the memory of floats; an uncompressed IDX file is mapped, not read,
 * so a set may be larger than memory); a row's value is then byte / 255, in [0, 1], and
 * becomes a float only when it is read (gan_dataset_get_rows(), a sampler's batch).
 * gan_dataset_create_from_floats() keeps the caller's floats. Its contents never change
 * after loading.
 */
typedef struct gan_dataset gan_dataset;

/**
 * Load an IDX image file (MNIST / Fashion-MNIST format: unsigned bytes, 1 to 7
 * dimensions after the count), raw or gzip-compressed; row values are pixel / 255. An
 * uncompressed file is mapped (since 0.3): only the rows read are ever brought in, and
 * the file must not change while the data set lives. An item of N x H x W x C has the
 * shape (C, H, W), one of N x H x W the shape (1, H, W) (gan_dataset_shape()).
 * @p labels_path (may be NULL) is an IDX label file whose count must match.
 * Every header field is validated: a bad file is GAN_EFORMAT with a message, a missing
 * one GAN_EIO; nothing is allocated beyond what the file's real size supports.
 * @param[out] out     the new data set, owned by the caller (free it with
 *                     gan_dataset_free()); NULL on failure
 * @param images_path  the IDX image file
 * @param labels_path  the IDX label file (one dimension), or NULL for no labels
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p images_path; GAN_EIO when a file
 * cannot be opened or read; GAN_EFORMAT for a malformed file, counts that differ or a
 * corrupt gzip stream; GAN_ENOMEM.
 */
GAN_API int gan_dataset_load_idx(gan_dataset **out, const char *images_path, const char *labels_path);
/**
 * Like gan_dataset_load_idx() from memory (raw or gzip bytes); @p labels may be NULL.
 * The bytes are copied: they need to live only for the call.
 * @param[out] out    the new data set, owned by the caller (free it with
 *                    gan_dataset_free()); NULL on failure
 * @param images      the image file's bytes
 * @param images_size their number
 * @param labels      the label file's bytes, or NULL for no labels
 * @param labels_size their number (ignored when @p labels is NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p images; GAN_EFORMAT as
 * gan_dataset_load_idx(); GAN_ENOMEM.
 */
GAN_API int gan_dataset_load_idx_mem(gan_dataset **out, const void *images, size_t images_size,
                                     const void *labels, size_t labels_size);
/**
 * A data set from the caller's rows (and labels), copied in: samplers and splits then
 * work on any data, not only IDX files. Values are taken as they are (no scaling to
 * [0, 1]); NaN and infinities are refused here rather than found steps later as a
 * trainer's GAN_EDIVERGED. Since 0.2.
 * @param[out] out      the new data set, owned by the caller (free it with
 *                      gan_dataset_free()); NULL on failure
 * @param rows          n x dim floats, row-major (for images H*W*C, channels last, as
 *                      nets take them); needed only for the call
 * @param n             number of rows (> 0)
 * @param dim           row width, in [1, INT_MAX]
 * @param labels        n labels, each in [0, num_classes), or NULL for none
 * @param num_classes   the number of classes, the width of one-hot conditions
 *                      (gan_dataset_num_classes(); classes without rows are allowed),
 *                      in [1, INT_MAX] with labels, 0 without
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p rows, a zero or overflowing size
 * (more than 2^48 rows included), a label out of range, a @p num_classes that does not
 * fit the labels (or is not 0 without them), or a value that is NaN or infinite;
 * GAN_ENOMEM.
 */
GAN_API int gan_dataset_create_from_floats(gan_dataset **out, const float *rows, size_t n, size_t dim,
                                           const int *labels, size_t num_classes);
/**
 * Free a data set. NULL-safe. Samplers over it must be freed first, and its rows
 * (gan_dataset_row()) are no longer valid.
 * @param ds the data set, or NULL
 */
GAN_API void gan_dataset_free(gan_dataset *ds);
/**
 * The number of rows.
 * @param ds the data set, or NULL
 * @return the number of rows, or 0 for NULL.
 */
GAN_API size_t gan_dataset_size(const gan_dataset *ds);
/**
 * The width of a row: the product of the image dimensions.
 * @param ds the data set, or NULL
 * @return the row width (e.g. 784 for 28 x 28 images), or 0 for NULL.
 */
GAN_API size_t gan_dataset_dim(const gan_dataset *ds);
/**
 * One row of the data set, as floats.
 * @param ds the data set, or NULL
 * @param i  the row's index, from 0
 * @return gan_dataset_dim() floats, borrowed (owned by the data set; valid until it is
 * freed), or NULL for a NULL @p ds or an @p i out of range. The rows are contiguous:
 * row 0 is the start of all n x dim floats. For a set of bytes (images, IDX files;
 * since 0.3) the first call makes a float copy of the whole set (4 bytes per value; NULL
 * and GAN_ENOMEM's message in gan_error_last() when memory runs out), which the set
 * keeps; concurrent first calls on several threads are safe (one copy is kept).
 * gan_dataset_get_rows() converts only the rows asked for, into the caller's memory.
 */
GAN_API const float *gan_dataset_row(const gan_dataset *ds, size_t i);
/**
 * The label of one row.
 * @param ds the data set, or NULL
 * @param i  the row's index, from 0
 * @return the label of row @p i (0 to gan_dataset_num_classes() - 1; at most 255 from
 * IDX files), or -1 for NULL, without labels or out of range.
 */
GAN_API int gan_dataset_label(const gan_dataset *ds, size_t i);
/**
 * The number of classes, the width of one-hot condition rows.
 * @param ds the data set, or NULL
 * @return the number of classes (largest label + 1 for IDX files, the caller's for
 * gan_dataset_create_from_floats(); inherited by splits), or 0 for NULL or without
 * labels.
 */
GAN_API size_t gan_dataset_num_classes(const gan_dataset *ds);
/**
 * Split into two new data sets: @p n_first rows and the rest (copies; @p ds is
 * unchanged). With @p shuffle (may be NULL) the rows are drawn in a random order.
 * @param[out] first  the first @p n_first rows, owned by the caller; NULL on failure
 * @param[out] second the remaining rows, owned by the caller; NULL on failure
 * @param ds          the data set to split (at least 2 rows)
 * @param n_first     rows in @p first, in [1, gan_dataset_size(ds) - 1]
 * @param shuffle     a stream to draw the order from, or NULL to keep the order
 * @return GAN_OK; GAN_EINVAL for a NULL @p first, @p second or @p ds, or an
 * @p n_first out of range; GAN_ENOMEM (@p shuffle is then not drawn from).
 */
GAN_API int gan_dataset_split(gan_dataset **first, gan_dataset **second, const gan_dataset *ds, size_t n_first,
                              gan_rng *shuffle);

/**
 * Rows as floats in [0, 1] (byte / 255 for a set of bytes, the values themselves for
 * gan_dataset_create_from_floats()), HWC, into the caller's memory. Since 0.3.
 * @param ds         the data set
 * @param first      the first row
 * @param n          rows, with first + n at most gan_dataset_size()
 * @param[out] dst   n x gan_dataset_dim() floats; may be NULL when @p n is 0
 * @return GAN_OK; GAN_EINVAL for a NULL @p ds or @p dst, or rows out of range.
 */
GAN_API int gan_dataset_get_rows(const gan_dataset *ds, size_t first, size_t n, float *dst);
/**
 * A row's shape: (C, H, W) for images and for IDX files of N x H x W (x C) items, (dim,
 * 1, 1) otherwise. Since 0.3.
 * @param ds the data set
 * @param[out] channels, height, width  may each be NULL
 * @return GAN_OK; GAN_EINVAL for a NULL @p ds.
 */
GAN_API int gan_dataset_shape(const gan_dataset *ds, size_t *channels, size_t *height, size_t *width);

/**
 * Load a folder of PNG and JPEG images, or a list of them, as a set of bytes of
 * @p height x @p width x @p channels (HWC), each image converted as
 * gan_image_decode_mem() states (alpha onto white, or black with GAN_IMAGE_BLACK; the
 * largest centred box of the target's aspect ratio, then area averaging to shrink and
 * bilinear to enlarge). Since 0.3.
 *
 * @p path is either a directory, read recursively in sorted (byte) order, taking the
 * files named *.png, *.jpg and *.jpeg in any case, skipping names that start with a dot
 * and symbolic links back to a folder above them; or a list file of lines `relative/path [label]` (paths relative to the list
 * file's directory, without white space; blank lines and lines starting with '#'
 * skipped). Labels:
 * - a directory with GAN_IMAGE_LABELS: the first level of sub-folders are the classes,
 *   in sorted order (torchvision's ImageFolder rule); an image directly in @p path has
 *   no class and fails the load. Without the flag any layout loads, a flat folder too.
 * - a list file: its labels, on every line or on none; integers are the labels
 *   themselves, names are classes numbered in sorted order (gan_dataset_class_name()).
 *   GAN_IMAGE_LABELS then requires them.
 * A file that cannot be read or decoded fails the load, naming it; with
 * GAN_IMAGE_SKIP_BAD it is skipped instead, and gan_dataset_num_skipped() and
 * gan_dataset_skipped_name() tell which. Decoding runs on the calling thread.
 * @param[out] out     the new data set, owned by the caller; NULL on failure
 * @param path         a directory or a list file
 * @param channels     1 (grey, ITU-R 601 luma) or 3 (RGB)
 * @param height, width the size every image is converted to, each in [1, 65535]
 * @param flags        GAN_IMAGE_LABELS, GAN_IMAGE_SKIP_BAD, GAN_IMAGE_BLACK and the pixel
 *                     limit (GAN_IMAGE_PIXEL_LIMIT()), OR-ed; 0: no labels, white
 *                     background, a bad file fails the load
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a size or flag out of range, or no
 * images found; GAN_EIO when @p path or a file cannot be read; GAN_EFORMAT for a file
 * that is not a PNG or JPEG image, a bad list file or labels; GAN_ENOMEM.
 */
GAN_API int gan_dataset_load_images(gan_dataset **out, const char *path, size_t channels, size_t height,
                                    size_t width, unsigned flags);
/**
 * The name of class @p k: the folder or the list file's name of the class. Since 0.3.
 * @param ds the data set, or NULL
 * @param k  the class, in [0, gan_dataset_num_classes())
 * @return the name, borrowed (valid while @p ds lives), or NULL for a set without
 * names (IDX files, numeric labels, floats), a NULL @p ds or @p k out of range.
 */
GAN_API const char *gan_dataset_class_name(const gan_dataset *ds, size_t k);
/**
 * The number of files gan_dataset_load_images() skipped (GAN_IMAGE_SKIP_BAD). Since 0.3.
 * @param ds the data set, or NULL
 * @return that number; 0 for NULL or any other set.
 */
GAN_API size_t gan_dataset_num_skipped(const gan_dataset *ds);
/**
 * The path of the k-th skipped file, as the folder walk or the list named it; the first
 * ten are kept. Since 0.3.
 * @param ds the data set, or NULL
 * @param k  in [0, min(gan_dataset_num_skipped(), 10))
 * @return the path, borrowed, or NULL out of range.
 */
GAN_API const char *gan_dataset_skipped_name(const gan_dataset *ds, size_t k);
/**
 * Pack a set of bytes (images, IDX files) into IDX files of unsigned bytes: images as
 * N x H x W x C (N x H x W when C is 1, N x dim for a set without an image shape), labels
 * (which must be below 256) as N. Each file is written atomically: a temporary file in
 * the same directory, flushed and renamed over the path. The uncompressed images file
 * then loads mapped (gan_dataset_load_idx()). Since 0.3.
 * @param ds           a data set of bytes
 * @param images_path  where to write the images
 * @param labels_path  where to write the labels, or NULL
 * @return GAN_OK; GAN_EINVAL for a NULL @p ds or @p images_path, a set of floats, a
 * labels path for a set without labels, a label above 255 or a dimension above 2^32 - 1;
 * GAN_EIO when a file cannot be written (an existing file is then unchanged); GAN_ENOMEM.
 */
GAN_API int gan_dataset_save_idx(const gan_dataset *ds, const char *images_path, const char *labels_path);

/** How a sampler draws rows. */
typedef enum gan_sample_mode {
    GAN_SAMPLE_UNIFORM = 1, /**< uniformly with replacement */
    GAN_SAMPLE_EPOCHS = 2   /**< every row once per epoch, in an order drawn afresh from the rng
                                 at the epoch's first row (a function of the rng state alone) */
} gan_sample_mode;

/**
 * Draws batches from a data set for the trainer. Borrows the data set. Its position
 * in the epoch changes with every draw: one thread at a time (the trainer's, once it
 * is a trainer's data payload).
 */
typedef struct gan_sampler gan_sampler;

/**
 * Create a sampler over @p ds. With @p one_hot_labels the condition rows are the
 * one-hot labels (condition size gan_dataset_num_classes()); the data set must have labels.
 * @param[out] out      the new sampler, owned by the caller (free it with
 *                      gan_sampler_free()); NULL on failure
 * @param ds            the data set, borrowed: it must outlive the sampler
 * @param mode          how rows are drawn
 * @param one_hot_labels non-zero to fill condition rows with one-hot labels
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p ds, an unknown @p mode, or
 * one-hot labels over a data set without labels; GAN_ENOMEM.
 */
GAN_API int gan_sampler_create(gan_sampler **out, const gan_dataset *ds, gan_sample_mode mode, int one_hot_labels);
/**
 * Free a sampler (not its data set). NULL-safe. A trainer given it as data payload
 * must not step or run afterwards until another data callback is set.
 * @param s the sampler, or NULL
 */
GAN_API void gan_sampler_free(gan_sampler *s);
/**
 * The number of epochs completed.
 * @param s the sampler, or NULL
 * @return epochs completed (GAN_SAMPLE_EPOCHS), or 0 (uniform mode, or NULL).
 */
GAN_API uint64_t gan_sampler_epoch(const gan_sampler *s);
/**
 * Fill only one rank's rows of each batch (data-parallel training, gan_trainer_set_comm()):
 * rows [rank * batch / ranks, (rank + 1) * batch / ranks), the ones that rank trains on.
 * The draws are still those of the whole batch, so the rows, the rng stream and the
 * epoch are what one process would have; the other rows are left as they are (the
 * trainer reads a rank's own rows only). An epoch is then shared among the ranks.
 * @param s     the sampler
 * @param rank  this rank, in [0, ranks)
 * @param ranks the rank count (1: every row, the default); batches must divide by it
 * @return GAN_OK; GAN_EINVAL for a NULL @p s or a rank out of range.
 */
GAN_API int gan_sampler_set_shard(gan_sampler *s, int rank, int ranks);
/**
 * The range a sampler's rows take: a value v in [0, 1] becomes lo + (hi - lo) v. [0, 1]
 * suits a sigmoid G, [-1, 1] a tanh G (DCGAN). The default, [0, 1], gives the values
 * unchanged. Values of gan_dataset_create_from_floats() are mapped the same way. Since 0.3.
 * @param s  the sampler
 * @param lo the value of 0
 * @param hi the value of 1, above @p lo
 * @return GAN_OK; GAN_EINVAL for a NULL @p s, non-finite bounds or hi <= lo.
 */
GAN_API int gan_sampler_set_range(gan_sampler *s, float lo, float hi);
/**
 * A ready gan_data_fn: pass it with a gan_sampler as payload to gan_trainer_set_data().
 * Fills @p x (and @p cond with one-hot labels when the sampler was made so) from @p rng.
 * The widths are not checked: G's output width must be gan_dataset_dim() and the
 * trainer's condition size gan_dataset_num_classes() (with one-hot labels) or 0.
 * Allocates nothing.
 * @param payload   the gan_sampler
 * @param rng       the stream to draw rows from
 * @param[out] x    batch x gan_dataset_dim() floats; may be NULL when @p batch is 0
 * @param[out] cond batch x gan_dataset_num_classes() floats for a one-hot sampler, else
 *                  NULL
 * @param batch     number of rows
 * @return GAN_OK; GAN_EINVAL for a NULL sampler, @p rng or @p x, or a @p cond that
 * does not match the sampler (given to a sampler without labels, missing for a one-hot
 * one). The trainer reports a failure as GAN_EUSER.
 */
GAN_API int gan_dataset_sampler(void *payload, gan_rng *rng, float *x, float *cond, size_t batch);

/* ------------------------------------------------------------------- images */

/**
 * Flags of gan_image_decode_mem() and gan_dataset_load_images(), OR-ed together with a
 * pixel limit (GAN_IMAGE_PIXEL_LIMIT(), bits 8 to 13). Values are pinned. Since 0.3.
 */
enum {
    GAN_IMAGE_LABELS = 1,   /**< gan_dataset_load_images(): labels from the first level of
                                 sub-folders (or the list file); nothing for one image */
    GAN_IMAGE_SKIP_BAD = 2, /**< gan_dataset_load_images(): skip a file that cannot be read
                                 or decoded instead of failing; nothing for one image */
    GAN_IMAGE_BLACK = 4     /**< composite alpha onto black instead of white */
};

/**
 * @def GAN_IMAGE_PIXEL_LIMIT
 * @brief The most pixels an image may have, 2^@p log2 (width x height as its header
 * states them), as flag bits: OR it into the flags of gan_image_decode_mem() and
 * gan_dataset_load_images(). @p log2 is in [1, 40]; without it (those bits 0) the limit is
 * 2^27 pixels (134 million, e.g. 11585 x 11585: 403 MB as RGB bytes). A larger image is
 * refused with GAN_EFORMAT from its header, before anything is allocated for its pixels,
 * so a decompression bomb (a small file that declares 100000 x 100000 pixels) costs
 * nothing. Since 0.3.
 * @param log2 the limit's base-2 logarithm, in [1, 40]
 */
#define GAN_IMAGE_PIXEL_LIMIT(log2) ((unsigned)(log2) << 8)

/**
 * Decode one PNG or JPEG image from memory (the format is told by its first bytes, not by
 * a name) and convert it into @p height x @p width x @p channels bytes, HWC: rows top to
 * bottom, channels interleaved. Since 0.3. Thread-safe: uses no handle.
 *
 * Every PNG is read (grey of 1, 2, 4, 8 and 16 bits, grey + alpha, palette, RGB, RGBA, 8
 * and 16 bits, Adam7-interlaced or not), and baseline, extended and progressive JPEG of
 * 8 bits (grey, YCbCr, RGB, CMYK and YCCK). The conversion, in this order, is what PIL's
 * Image.open(f).convert(...) then resize(..., box=...) give, to within one level where
 * docs/images.md says so:
 * 1. Samples to 8 bits: a 16-bit sample v becomes round(v / 257); 1-, 2- and 4-bit grey
 *    is scaled to 0..255 (x 255, 85, 17); a palette is expanded, its tRNS entries becoming
 *    alpha, as a tRNS colour of a grey or RGB image does. A CMYK (or YCCK) JPEG becomes RGB
 *    as PIL's convert('RGB') does: R = round((255 - C)(255 - K) / 255), G and B the same
 *    from M and Y, with the inks C, M, Y, K taken as inverted in the file when it has an
 *    Adobe marker (as Photoshop writes them; PIL's rule). Gamma and colour profiles (gAMA,
 *    sRGB, iCCP chunks, ICC markers) and EXIF orientation are ignored, as PIL ignores them.
 * 2. Alpha is composited onto a background bg in 8-bit sRGB: each channel c becomes
 *    round((a c + (255 - a) bg) / 255), bg = 255 (white), or 0 with GAN_IMAGE_BLACK.
 * 3. Channels: grey to RGB by replication; RGB to grey by ITU-R 601 luma as PIL's
 *    convert('L') computes it: (19595 R + 38470 G + 7471 B + 32768) >> 16.
 * 4. The box: the largest centred box of the target's aspect ratio. For a w x h image,
 *    when w * height >= h * width it is floor(h * width / height) x h (at least 1 wide),
 *    else w x floor(w * height / width) (at least 1 high), at offsets
 *    floor((w - box width) / 2), floor((h - box height) / 2).
 * 5. Resizing, each axis on its own, a box side of s pixels to a target side of n:
 *    - s > n, shrinking: area averaging. Output pixel k covers [k s / n, (k + 1) s / n)
 *      of the box and is the mean of the pixels under it, each weighted by the part of it
 *      covered (OpenCV's INTER_AREA; PIL's BOX when n divides s);
 *    - s < n, enlarging: bilinear between pixel centres (PIL's BILINEAR): output pixel k
 *      samples the box at x = (k + 0.5) s / n - 0.5, interpolating linearly between the
 *      pixels floor(x) and floor(x) + 1, an edge pixel standing for those beyond it;
 *    - s = n: the pixels as they are.
 *    The output is the product of the two axes' weights (separable), summed in double
 *    precision and rounded once, half up: an area average is the exact mean, rounded. With
 *    the box of step 4 one axis never shrinks while the other enlarges (if they differ,
 *    one is unchanged); were it to happen, each axis would still follow its own rule.
 * @param[out] out  @p height x @p width x @p channels bytes; partly written on failure
 * @param bytes     the file's bytes
 * @param size      their number
 * @param channels  1 (grey) or 3 (RGB)
 * @param height    the target's height, in [1, 2^31 - 1]
 * @param width     the target's width, in [1, 2^31 - 1]
 * @param flags     GAN_IMAGE_BLACK and GAN_IMAGE_PIXEL_LIMIT(), OR-ed, or 0 (white, 2^27
 *                  pixels at most); GAN_IMAGE_LABELS and GAN_IMAGE_SKIP_BAD are accepted
 *                  and change nothing here
 * @return GAN_OK; GAN_EINVAL for a NULL @p out or @p bytes, @p channels other than 1 or
 * 3, a size out of range, unknown flag bits or a pixel limit out of [1, 40]; GAN_EFORMAT
 * for bytes that are neither PNG nor JPEG, a broken or truncated file, an image of more
 * pixels than the limit, or a JPEG of another precision or colour space; GAN_ENOMEM.
 * The message says which (never naming a file: the bytes have none).
 */
GAN_API int gan_image_decode_mem(uint8_t *out, const void *bytes, size_t size, size_t channels, size_t height,
                                 size_t width, unsigned flags);
/**
 * Write 8-bit pixels as a PNG file, atomically: the bytes go to a temporary file in the
 * same directory, which is flushed (fsync) and renamed over @p path, so a file already
 * there is replaced whole or not at all. Since 0.3.
 * @param path     the file to write
 * @param pixels   @p height x @p width x @p channels bytes, HWC (rows top to bottom)
 * @param width    the image's width, in [1, 2^31 - 1]
 * @param height   the image's height, in [1, 2^31 - 1]
 * @param channels 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)
 * @return GAN_OK; GAN_EINVAL for a NULL @p path or @p pixels, an empty @p path, a size
 * out of range or @p channels out of [1, 4]; GAN_EIO when the file cannot be written (the
 * system's reason in the message; a file already at @p path is then unchanged);
 * GAN_ENOMEM.
 */
GAN_API int gan_image_write_png(const char *path, const uint8_t *pixels, size_t width, size_t height,
                                size_t channels);

/* --------------------------------------------------------------- evaluation */

/**
 * Parzen-window log-likelihood, as the paper's released code computed it: an
 * isotropic Gaussian kernel of width @p sigma on @p n samples (n x dim), evaluated at
 * @p m test points (m x dim):
 * ll(x) = log mean_i exp(-|x - s_i|^2 / (2 sigma^2)) - dim * log(sigma * sqrt(2 pi)).
 * Distances are computed blockwise with sgemm in bounded memory; the log-mean-exp is
 * stable. A row with NaN or Inf is GAN_EINVAL. Thread-safe: uses no handle.
 * @param[out] mean     mean log-likelihood over the test points
 * @param[out] std_err  its standard error (0 when m = 1; may be NULL)
 * @param samples       n x dim kernel centres (e.g. generated samples)
 * @param n             number of samples (> 0)
 * @param test          m x dim points to evaluate
 * @param m             number of test points (> 0)
 * @param dim           row width, in [1, INT_MAX]
 * @param sigma         kernel width (finite, > 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p mean, @p samples or @p test, a zero or
 * overflowing size, a non-finite (or too large) row, or an invalid @p sigma;
 * GAN_ENOMEM; GAN_EDIVERGED if the result is not finite (not expected with valid
 * input). On failure the outputs are not written.
 */
GAN_API int gan_parzen_log_likelihood(double *mean, double *std_err, const float *samples, size_t n,
                                      const float *test, size_t m, size_t dim, float sigma);
/**
 * Choose sigma from @p sigmas (or, when NULL, the paper's grid logspace(-1, 0, 10))
 * by the mean log-likelihood of the validation points (m x dim). One pass over the
 * distances serves every candidate; at most 1024 candidates; ties go to the first.
 * Thread-safe: uses no handle.
 * @param[out] best_sigma the chosen sigma
 * @param[out] best_ll    its mean validation log-likelihood (may be NULL)
 * @param samples         n x dim kernel centres
 * @param n               number of samples (> 0)
 * @param valid           m x dim validation points
 * @param m               number of validation points (> 0)
 * @param dim             row width, in [1, INT_MAX]
 * @param sigmas          n_sigmas candidates (each finite, > 0), or NULL for the grid
 * @param n_sigmas        number of candidates, in [1, 1024] (ignored when @p sigmas
 *                        is NULL)
 * @return GAN_OK; GAN_EINVAL for a NULL @p best_sigma, @p samples or @p valid, a
 * zero or overflowing size, a non-finite (or too large) row, or an invalid candidate
 * or count; GAN_ENOMEM; GAN_EDIVERGED if the best log-likelihood is not finite (not
 * expected with valid input). On failure the outputs are not written.
 */
GAN_API int gan_parzen_select_sigma(float *best_sigma, double *best_ll, const float *samples, size_t n,
                                    const float *valid, size_t m, size_t dim, const float *sigmas,
                                    size_t n_sigmas);
/**
 * For each of @p nq queries (nq x dim), the index of its nearest reference row
 * (nr x dim, Euclidean) and the squared distance (@p dist2 may be NULL). Ties go
 * to the lowest reference index. Thread-safe: uses no handle.
 * @param[out] index nq indices into @p refs
 * @param[out] dist2 nq squared distances, computed directly from the two rows (0 for
 *                   a duplicate), or NULL
 * @param queries    nq x dim query rows
 * @param nq         number of queries (> 0)
 * @param refs       nr x dim reference rows
 * @param nr         number of references (> 0)
 * @param dim        row width, in [1, INT_MAX]
 * @return GAN_OK; GAN_EINVAL for a NULL @p index, @p queries or @p refs, a zero or
 * overflowing size, or a non-finite (or too large) row; GAN_ENOMEM.
 */
GAN_API int gan_nearest_neighbors(size_t *index, float *dist2, const float *queries, size_t nq,
                                  const float *refs, size_t nr, size_t dim);
/**
 * Size in pixels of the grid gan_image_grid2() draws: @p cols cells per row,
 * ceil(n / cols) rows, with @p pad pixels between and around them, every pixel then
 * drawn as a @p scale x @p scale block. The buffer holds width x height x @p channels
 * bytes; that product is checked to fit a size_t. Since 0.2.
 * @param[out] width  pixels per row: (cols * img_w + (cols + 1) * pad) * scale
 * @param[out] height rows of pixels: (rows * img_h + (rows + 1) * pad) * scale
 * @param n           number of images (> 0)
 * @param channels    1 (grayscale) or 3 (RGB)
 * @param img_h       image height (> 0)
 * @param img_w       image width (> 0)
 * @param cols        images per grid row (> 0)
 * @param pad         padding in pixels at scale 1 (may be 0)
 * @param scale       magnification (> 0; 1 draws each pixel once)
 * @return GAN_OK; GAN_EINVAL for a NULL output, a zero size or scale, @p channels other
 * than 1 or 3, or a grid whose size in bytes overflows.
 */
GAN_API int gan_image_grid2_size(size_t *width, size_t *height, size_t n, size_t channels, size_t img_h,
                                 size_t img_w, size_t cols, size_t pad, size_t scale);
/**
 * Tile @p n images into an 8-bit grayscale or RGB buffer of gan_image_grid2_size(),
 * @p cols per row, with @p pad pixels of black between and around them, each pixel
 * drawn as a @p scale x @p scale block. An image is a row as nets see it (channels
 * last, H*W*C floats: value (y, x, c) at (y * img_w + x) * channels + c), with values
 * in [0, 1]; values outside are clamped. The sizes come in the order of
 * gan_net_create_image(). Does no I/O. Thread-safe: uses no handle. Since 0.2.
 * @param[out] pixels width x height x channels bytes (gan_image_grid2_size() with the
 *                    same arguments), row-major and channels last: grayscale bytes or
 *                    RGB triplets, 0 black to 255 white; every byte is written
 * @param images      n images one after another, img_h x img_w x channels floats each
 *                    (NaN gives 0)
 * @param n           number of images (> 0)
 * @param channels    1 (grayscale) or 3 (RGB)
 * @param img_h       image height (> 0)
 * @param img_w       image width (> 0)
 * @param cols        images per grid row (> 0)
 * @param pad         padding in pixels at scale 1 (may be 0)
 * @param scale       magnification (> 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p pixels or @p images, a zero size or scale,
 * @p channels other than 1 or 3, or sizes that overflow.
 */
GAN_API int gan_image_grid2(uint8_t *pixels, const float *images, size_t n, size_t channels, size_t img_h,
                            size_t img_w, size_t cols, size_t pad, size_t scale);
/**
 * Size in pixels of the grid gan_image_grid() draws: gan_image_grid2_size() with one
 * channel and scale 1 (note the order: width before height). Kept from 0.1.
 * @param[out] width  pixels per row: cols * img_w + (cols + 1) * pad
 * @param[out] height rows of pixels: rows * img_h + (rows + 1) * pad
 * @param n           number of images (> 0)
 * @param img_w       image width (> 0)
 * @param img_h       image height (> 0)
 * @param cols        images per grid row (> 0)
 * @param pad         padding in pixels (may be 0)
 * @return GAN_OK; GAN_EINVAL for a NULL output, a zero size, or a grid whose size
 * overflows.
 */
GAN_API int gan_image_grid_size(size_t *width, size_t *height, size_t n, size_t img_w, size_t img_h, size_t cols,
                                size_t pad);
/**
 * Tile @p n grayscale images: gan_image_grid2() with one channel and scale 1 (note the
 * order: width before height). Kept from 0.1.
 * @param[out] pixels width x height bytes (from gan_image_grid_size() with the same
 *                    arguments), row-major, 0 black to 255 white; every byte is written
 * @param images      n images one after another, img_h x img_w floats each in [0, 1]
 *                    (clamped; NaN gives 0)
 * @param n           number of images (> 0)
 * @param img_w       image width (> 0)
 * @param img_h       image height (> 0)
 * @param cols        images per grid row (> 0)
 * @param pad         padding in pixels (may be 0)
 * @return GAN_OK; GAN_EINVAL for a NULL @p pixels or @p images, a zero size, or
 * sizes that overflow.
 */
GAN_API int gan_image_grid(uint8_t *pixels, const float *images, size_t n, size_t img_w, size_t img_h,
                           size_t cols, size_t pad);

/* ------------------------------------------------------------------ metrics */

/*
 * Scores of generated samples against real ones on feature vectors, e.g. a classifier's
 * penultimate layer (gan_net_forward_to()); docs/evaluation.md says which to use when.
 * Rows are float features; moments and sums are accumulated in double. Each call
 * allocates its workspace and frees it before returning; none keeps state.
 * Thread-safe: they use no handle but the rng of gan_kernel_distance().
 */

/**
 * The Frechet distance between Gaussians fitted to two sets of features (the FID of
 * Heusel et al. 2017 on the caller's features): |mu_a - mu_b|^2 + tr(S_a + S_b -
 * 2 (S_a S_b)^1/2), with unbiased covariances (n - 1). The trace of the root comes from
 * two symmetric eigendecompositions (LAPACK's dsyevd); eigenvalues below 0 by rounding
 * count as 0, and the result is clamped at 0. Workspace: 4 dim^2 + 260 dim doubles.
 * @param[out] fd    the distance (>= 0)
 * @param feats_a    na x dim rows
 * @param na         rows of @p feats_a (>= 2)
 * @param feats_b    nb x dim rows
 * @param nb         rows of @p feats_b (>= 2)
 * @param dim        features per row, in [1, 8192]
 * @return GAN_OK; GAN_EINVAL for a NULL argument, fewer than 2 rows, a @p dim out of
 * range or a row that is not finite (or whose squared norm exceeds FLT_MAX / 8);
 * GAN_ENOMEM; GAN_EDIVERGED if LAPACK does not converge.
 */
GAN_API int gan_frechet_distance(double *fd, const float *feats_a, size_t na, const float *feats_b, size_t nb,
                                 size_t dim);
/**
 * The kernel distance (KID, Binkowski et al. 2018): the unbiased estimate of the squared
 * MMD with the kernel k(x, y) = (x.y / dim + 1)^3, averaged over @p subsets pairs of
 * random subsets of @p subset_size rows of each set (drawn without replacement within a
 * subset). Unbiased: its mean over draws of two samples of one distribution is 0, so a
 * single value may be slightly negative. Workspace: subset_size^2 + 2 subset_size dim
 * floats and na + nb indices.
 * @param[out] kid      the mean over subsets
 * @param[out] kid_std  their standard deviation (divided by @p subsets), or NULL
 * @param feats_a       na x dim rows
 * @param na            rows of @p feats_a
 * @param feats_b       nb x dim rows
 * @param nb            rows of @p feats_b
 * @param dim           features per row
 * @param subset_size   rows per subset, in [2, min(na, nb)] (1000 is usual)
 * @param subsets       number of subset pairs (>= 1; 100 is usual)
 * @param rng           draws the subsets
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a size out of range or a row that is
 * not finite; GAN_ENOMEM.
 */
GAN_API int gan_kernel_distance(double *kid, double *kid_std, const float *feats_a, size_t na,
                                const float *feats_b, size_t nb, size_t dim, size_t subset_size, size_t subsets,
                                gan_rng *rng);
/**
 * Improved precision and recall (Kynkaanniemi et al. 2019). Each row's ball has the
 * radius of its k-th nearest other row of its own set (its (k+1)-th nearest, itself
 * included). Precision is the fraction of @p fake rows inside some real row's ball
 * (quality), recall the fraction of @p real rows inside some fake row's ball (coverage).
 * Distances come from the blocked kernel of gan_nearest_neighbors().
 * @param[out] precision  in [0, 1]
 * @param[out] recall     in [0, 1]
 * @param real            nr x dim rows
 * @param nr              rows of @p real
 * @param fake            nf x dim rows
 * @param nf              rows of @p fake
 * @param dim             features per row
 * @param k               neighbours, in [1, min(nr, nf) - 1]; the paper uses 3
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a size out of range or a row that is
 * not finite; GAN_ENOMEM.
 */
GAN_API int gan_precision_recall(double *precision, double *recall, const float *real, size_t nr,
                                 const float *fake, size_t nf, size_t dim, size_t k);
/**
 * Softmax cross-entropy of @p n rows of logits against class labels: the mean over rows of
 * -log softmax(z)[label], computed from each row's largest logit in double (no overflow).
 * @param[out] loss     the mean loss
 * @param[out] dlogits  n x classes gradient of the mean loss, (softmax - onehot) / n, or
 *                      NULL; written only on success
 * @param logits        n x classes rows
 * @param labels        n labels in [0, classes)
 * @param n             rows (>= 1)
 * @param classes       classes per row (>= 2)
 * @return GAN_OK; GAN_EINVAL for a NULL argument, a size out of range or a label out of
 * range; GAN_EDIVERGED for a logit that is NaN or infinite.
 */
GAN_API int gan_softmax_cross_entropy(double *loss, float *dlogits, const float *logits, const int *labels,
                                      size_t n, size_t classes);

/* ------------------------------------------------------------------- serial */

/*
 * Model files and trainer checkpoints (docs/file-format.md): a versioned, little-endian
 * chunk format with a CRC-32 per chunk. Readers check every length and CRC and refuse a
 * bad file with GAN_EFORMAT and a message (GAN_EVERSION for a newer format version);
 * they never allocate more than the bytes present justify. Saves to a path are atomic:
 * a temporary file beside it is written, flushed, fsync'ed and renamed over the path, so
 * a failed or interrupted save leaves the old file intact. Loads are all or nothing.
 */

/**
 * Save a net (its layers and parameters) to a file, atomically. Reads the net: a use
 * of it (one thread at a time).
 * @param n    the net
 * @param path the file to write (replaced if it exists)
 * @return GAN_OK; GAN_EIO when it cannot be written (missing or read-only directory, full
 * disk...: the old file is unchanged and no temporary file is left); GAN_ENOMEM;
 * GAN_EINVAL for a NULL argument or an empty path.
 */
GAN_API int gan_net_save(const gan_net *n, const char *path);
/**
 * Save a net to memory, or ask for the size that takes.
 * @param n          the net
 * @param[out] buf   where to write (the caller's memory), or NULL to only query the size
 * @param cap        bytes available at @p buf
 * @param[out] size  the file's size in bytes, set whenever the arguments are valid
 * @return GAN_OK (also for a size query); GAN_EINVAL for a NULL @p n or @p size, or
 * when @p cap is too small for a non-NULL @p buf (nothing is written; @p *size tells
 * the size needed).
 */
GAN_API int gan_net_save_mem(const gan_net *n, void *buf, size_t cap, size_t *size);
/**
 * Load a net saved by gan_net_save(): its layers and parameters. Its gradients are zero
 * and it has no rng bound, as after gan_net_create().
 * @param[out] out the new net, owned by the caller (free it with gan_net_free()), or
 *                 NULL on failure
 * @param path     the file to read (a regular file)
 * @return GAN_OK; GAN_EINVAL for a NULL argument; GAN_EIO when the file cannot be read;
 * GAN_EFORMAT when it is not a net file or is damaged; GAN_EVERSION when a newer format
 * version wrote it; GAN_ENOMEM.
 */
GAN_API int gan_net_load(gan_net **out, const char *path);
/**
 * Load a net from memory, as gan_net_load() does from a file.
 * @param[out] out the new net, owned by the caller (free it with gan_net_free()), or
 *                 NULL on failure
 * @param buf      the file's bytes (borrowed for the call; may be NULL when @p size is 0)
 * @param size     their number
 * @return as gan_net_load(), without GAN_EIO.
 */
GAN_API int gan_net_load_mem(gan_net **out, const void *buf, size_t size);

/**
 * Save a full checkpoint of a trainer to a file, atomically: G and D (layers and
 * parameters), both optimizers (hyperparameters, step counts, momentum or Adam moments),
 * every setting, the four rng streams, the EMA weights and the step count. Callbacks and
 * their payloads are not saved; the built-in noise kind and scale are. Reads the
 * trainer, its nets and its optimizers: a use of each (one thread at a time).
 * @param t    the trainer
 * @param path the file to write (replaced if it exists)
 * @return as gan_net_save(); GAN_ESTATE when an optimizer holds state for a net of
 * another size, or G or D changed since gan_trainer_create().
 */
GAN_API int gan_trainer_save(const gan_trainer *t, const char *path);
/**
 * Save a checkpoint to memory, with the size rules of gan_net_save_mem().
 * @param t          the trainer
 * @param[out] buf   where to write (the caller's memory), or NULL to only query the size
 * @param cap        bytes available at @p buf
 * @param[out] size  the checkpoint's size in bytes (not set on GAN_ESTATE)
 * @return as gan_net_save_mem(); GAN_ESTATE as gan_trainer_save().
 */
GAN_API int gan_trainer_save_mem(const gan_trainer *t, void *buf, size_t cap, size_t *size);
/**
 * Restore a checkpoint into a trainer built like the one that saved it: its G and D
 * must have the file's architecture and its optimizers the file's kinds. Parameters,
 * optimizer state and hyperparameters, settings, rng streams, EMA and step count are
 * replaced; callbacks stay. Training then continues bit for bit as the saved run would
 * have. A checkpoint saved with built-in noise sets that noise (replacing a custom
 * callback); one saved with a custom callback needs one set before the load. All or
 * nothing: on any failure the trainer, its nets and its optimizers are unchanged.
 * Values are written in place: pointers from gan_net_params() and gan_trainer_rng()
 * stay valid. A use of the trainer, its nets and its optimizers (one thread at a time).
 * @param t    the trainer to restore into
 * @param path the checkpoint (a regular file)
 * @return GAN_OK; GAN_EINVAL for a NULL argument; GAN_EIO; GAN_EFORMAT when the file is
 * damaged or does not match the trainer (the message names the difference, e.g.
 * "D layer 2: dropout(0.8) of 16 in the file, maxout 16->1x3 in the trainer");
 * GAN_EVERSION; GAN_ESTATE when a custom noise callback is needed, or G or D changed
 * since gan_trainer_create(); GAN_ENOMEM. Files of format version 1 (libgan 0.1) load
 * too.
 */
GAN_API int gan_trainer_load(gan_trainer *t, const char *path);
/**
 * Restore a checkpoint from memory, as gan_trainer_load() does from a file.
 * @param t    the trainer to restore into
 * @param buf  the checkpoint's bytes (borrowed for the call; may be NULL when @p size
 *             is 0)
 * @param size their number
 * @return as gan_trainer_load(), without GAN_EIO.
 */
GAN_API int gan_trainer_load_mem(gan_trainer *t, const void *buf, size_t size);

/* -------------------------------------------------------------------- scale */

/**
 * Collectives for data-parallel training, as callbacks: libgan itself never links MPI.
 * libgan_mpi (gan_mpi.h) fills one from an MPI communicator, gan_comm_threads() from a
 * group of threads in one process; a program may fill its own (NCCL, a job scheduler's
 * transport). The struct is copied in by gan_trainer_set_comm() and only ever grows at
 * its end: set @c size to sizeof(gan_comm).
 *
 * Every rank must make the same libgan calls in the same order (the trainer's step, run
 * and sync are collective); the trainer checks that they do before every exchange and
 * returns GAN_ESTATE when they do not, rather than mix gradients. A callback returns 0,
 * or non-zero when the exchange failed (the trainer then returns GAN_EUSER). See
 * docs/scale.md.
 */
typedef struct gan_comm {
    uint32_t size;     /**< sizeof(gan_comm), set by whoever fills it */
    uint32_t reserved; /**< zero */
    int rank;          /**< this process's or thread's rank, in [0, ranks) */
    int ranks;         /**< how many take part (>= 1) */
    /** Sum @p n floats over all ranks, in place. Every rank must get the same bits
     *  (sum in one fixed order), or the ranks' parameters drift apart. */
    int (*allreduce_sum)(void *ctx, float *buf, size_t n);
    /** The element-wise minimum of @p n integers over all ranks, in place (n <= 8):
     *  the trainer's agreement on status, step and shape before each exchange. */
    int (*agree_min)(void *ctx, int64_t *values, size_t n);
    /** Rank @p root's @p bytes at @p buf to every rank's @p buf. */
    int (*broadcast)(void *ctx, void *buf, size_t bytes, int root);
    /** Passed as the first argument of each function; may be NULL. */
    void *ctx;
} gan_comm;

/**
 * Train on several ranks: each computes the gradients of its share of the global batch
 * (gan_trainer_set_batch_size() is the global batch and must divide by the rank count),
 * the gradients are averaged, and every rank applies the same update. Every rank draws
 * the whole batch's data and noise from its streams and keeps its own rows, so a run
 * computes the same thing on any rank count, up to the order of float sums. Step
 * statistics are global. Batch norm uses each rank's own rows (as PyTorch's DDP does),
 * and its running statistics are averaged after each step. Call gan_trainer_sync()
 * before the first step. A comm of one rank gives the bits of no comm.
 * @param t    the trainer
 * @param comm the collectives (copied), or NULL for one process (the default)
 * @return GAN_OK; GAN_EINVAL for a NULL @p t, a @p comm whose size is too small, whose
 * rank is not in [0, ranks), or which lacks a callback.
 */
GAN_API int gan_trainer_set_comm(gan_trainer *t, const gan_comm *comm);
/**
 * Make every rank's trainer rank 0's: nets, optimizers, settings, streams, EMA and step
 * count travel as the bytes of gan_trainer_save_mem(). Collective: every rank calls it.
 * Callbacks stay each rank's own.
 * @param t the trainer (with a comm; without one the call does nothing)
 * @return GAN_OK on every rank, or the same error on every rank: as
 * gan_trainer_load_mem(); GAN_ESTATE when the ranks are not all in this call (or their
 * nets differ in size); GAN_EUSER when a collective failed; GAN_ENOMEM.
 */
GAN_API int gan_trainer_sync(gan_trainer *t);

/**
 * A group of threads in one process that train together, one trainer replica per
 * thread: the comm for every core of one machine without MPI. The exchanges go through
 * memory; each thread sums a slice of every buffer, in rank order, so every rank gets
 * the same bits. Run BLAS single-threaded beside it (OPENBLAS_NUM_THREADS=1).
 */
typedef struct gan_thread_group gan_thread_group;

/**
 * Create a group of @p ranks threads.
 * @param[out] out the group, owned by the caller; free it once every thread is done
 * @param ranks    the number of threads (1 to 1024)
 * @return GAN_OK; GAN_EINVAL; GAN_ENOMEM.
 */
GAN_API int gan_thread_group_create(gan_thread_group **out, int ranks);
/**
 * Free a group. NULL-safe. No thread may be inside one of its exchanges.
 * @param group the group, or NULL
 */
GAN_API void gan_thread_group_free(gan_thread_group *group);
/**
 * Fill @p out with the collectives of @p group for the thread of rank @p rank. Each rank
 * is taken by exactly one thread, which must then join every exchange of the others.
 * @param[out] out the comm, for gan_trainer_set_comm()
 * @param group    the group, borrowed: it must outlive the trainers that use it
 * @param rank     this thread's rank, in [0, ranks)
 * @return GAN_OK; GAN_EINVAL for a NULL argument or a rank out of range.
 */
GAN_API int gan_comm_threads(gan_comm *out, gan_thread_group *group, int rank);

#ifdef __cplusplus
}
#endif

#endif /* GAN_H */
