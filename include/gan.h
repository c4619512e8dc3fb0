/**
 * @file gan.h
 * @brief libgan: train Generative Adversarial Networks from C.
 *
 * The one public header. Conventions (see docs/conventions.md):
 *  - every call that can fail returns int: GAN_OK (0) or a negative GAN_E* code,
 *    with detail in gan_error_last();
 *  - constructors take their output pointer first and hand ownership to the caller;
 *  - destructors are NULL-safe;
 *  - data is float32, row-major [batch x features].
 */
#ifndef GAN_H
#define GAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(GAN_BUILDING)
#define GAN_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(GAN_BUILDING)
#define GAN_API __attribute__((visibility("default")))
#else
#define GAN_API
#endif

/* ------------------------------------------------------------------ version */

/** Major version: changes only when the ABI breaks (also the SONAME). */
#define GAN_VERSION_MAJOR 0
/** Minor version: grows with additions to the API. */
#define GAN_VERSION_MINOR 1
/** Patch version: fixes only. */
#define GAN_VERSION_PATCH 0
/** The version as a string literal "MAJOR.MINOR.PATCH". */
#define GAN_VERSION_STRING "0.1.0"
/** The version as one number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define GAN_VERSION_NUMBER \
    (GAN_VERSION_MAJOR * 10000 + GAN_VERSION_MINOR * 100 + GAN_VERSION_PATCH)

/** @return the runtime library's GAN_VERSION_NUMBER. Thread-safe. */
GAN_API unsigned gan_version_number(void);
/** @return the runtime library's version string (static storage). Thread-safe. */
GAN_API const char *gan_version_string(void);

/** Feature bits returned by gan_features(). */
enum {
    GAN_FEATURE_OPENBLAS = 1u << 0, /**< dense kernels run on OpenBLAS */
    GAN_FEATURE_REFBLAS = 1u << 1,  /**< dense kernels run on the reference CBLAS */
    GAN_FEATURE_BLIS = 1u << 2,     /**< dense kernels run on BLIS */
    GAN_FEATURE_ZLIB = 1u << 3      /**< gzip-compressed inputs can be read */
};
/** @return a bitwise OR of GAN_FEATURE_* flags of this build. Thread-safe. */
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
 * @param code a GAN_* status code.
 * @return a static, human-readable description of @p code; never NULL.
 */
GAN_API const char *gan_strerror(int code);

/**
 * @return the detailed message of the last failure on the calling thread
 * (e.g. "dense layer 2 expects 1200 inputs, got 784"); "" when none.
 * Never NULL. Valid until the next libgan call on this thread.
 */
GAN_API const char *gan_error_last(void);

/* ---------------------------------------------------------------- allocator */

/** A custom allocator. Every allocation of the library goes through it. */
typedef struct gan_allocator {
    void *(*malloc_fn)(void *ctx, size_t size); /**< like malloc; size is never 0 */
    void (*free_fn)(void *ctx, void *ptr);      /**< like free; never given NULL */
    void *ctx;                                  /**< passed to each function */
} gan_allocator;

/**
 * Install an allocator, or restore the C library's with NULL. The struct is
 * copied. Call it before any other libgan call, or when no libgan object is
 * alive: memory must be freed by the allocator that allocated it.
 * Not thread-safe: this is the library's one piece of global state.
 * @return GAN_OK, or GAN_EINVAL if malloc_fn or free_fn is missing.
 */
GAN_API int gan_set_allocator(const gan_allocator *allocator);

/* ---------------------------------------------------------------------- rng */

/** A seeded pseudo-random stream (PCG32). One thread at a time. */
typedef struct gan_rng gan_rng;

/** Create a stream from @p seed; equal seeds give equal streams on every platform. */
GAN_API int gan_rng_create(gan_rng **out, uint64_t seed);
/** Free a stream. NULL-safe. */
GAN_API void gan_rng_free(gan_rng *rng);
/** Reset a stream to the state gan_rng_create(seed) gives. */
GAN_API int gan_rng_seed(gan_rng *rng, uint64_t seed);
/** @return a uniform float in [0, 1). @p rng must not be NULL. */
GAN_API float gan_rng_uniform(gan_rng *rng);
/** @return a standard normal float. @p rng must not be NULL. */
GAN_API float gan_rng_normal(gan_rng *rng);
/** Fill @p dst[0..n) with uniform floats in [lo, hi). */
GAN_API int gan_rng_fill_uniform(gan_rng *rng, float *dst, size_t n, float lo, float hi);
/** Fill @p dst[0..n) with normal floats of the given mean and standard deviation. */
GAN_API int gan_rng_fill_normal(gan_rng *rng, float *dst, size_t n, float mean, float std);

/* ------------------------------------------------------------------- layers */

/** A layer. Owned by the caller until gan_net_add() succeeds, then by the net. */
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
    GAN_LAYER_DENSE = 1,
    GAN_LAYER_MAXOUT = 2,
    GAN_LAYER_ACTIVATION = 3,
    GAN_LAYER_DROPOUT = 4
};

/** Fully connected layer: y = x W + b, W is in_dim x out_dim. */
GAN_API int gan_layer_dense(gan_layer **out, size_t in_dim, size_t out_dim);
/** Maxout: units outputs, each the max of @p pieces affine pieces of the input. */
GAN_API int gan_layer_maxout(gan_layer **out, size_t in_dim, size_t units, size_t pieces);
/** Elementwise activation; its width is the net's width where it is added. */
GAN_API int gan_layer_activation(gan_layer **out, gan_activation act);
/** Leaky ReLU with a given negative slope (finite, 0 <= slope < 1). */
GAN_API int gan_layer_leaky_relu(gan_layer **out, float slope);
/**
 * Inverted dropout: in training mode keeps each unit with probability
 * @p keep_prob (0 < keep_prob <= 1) and scales kept units by 1 / keep_prob;
 * identity in evaluation mode. Draws from the net's rng (gan_net_set_rng).
 */
GAN_API int gan_layer_dropout(gan_layer **out, float keep_prob);
/** Free a layer the caller owns. NULL-safe. Never call it on a layer a net owns. */
GAN_API void gan_layer_free(gan_layer *layer);

/* --------------------------------------------------------------------- nets */

/** A feed-forward network: a stack of layers with one flat parameter buffer. */
typedef struct gan_net gan_net;

/** Parameter initialisation schemes for gan_net_init(). Biases start at zero. */
typedef enum gan_init {
    GAN_INIT_UNIFORM = 1, /**< weights uniform in [-scale, scale] (the paper's irange) */
    GAN_INIT_XAVIER = 2,  /**< uniform in +-scale * sqrt(6 / (fan_in + fan_out)) */
    GAN_INIT_HE = 3       /**< normal with std scale * sqrt(2 / fan_in) */
} gan_init;

/** Create an empty net taking inputs of width @p in_dim (> 0). */
GAN_API int gan_net_create(gan_net **out, size_t in_dim);
/** Free a net and the layers it owns. NULL-safe. */
GAN_API void gan_net_free(gan_net *net);
/**
 * Append @p layer. On success the net owns it; on failure the caller still does.
 * Parameters are zero until gan_net_init(). Invalidates pointers from
 * gan_net_params() and gan_net_grads().
 */
GAN_API int gan_net_add(gan_net *net, gan_layer *layer);
/** @return the input width, or 0 for NULL. */
GAN_API size_t gan_net_in_dim(const gan_net *net);
/** @return the output width (the input width while empty), or 0 for NULL. */
GAN_API size_t gan_net_out_dim(const gan_net *net);
/** @return the number of float parameters, or 0 for NULL. */
GAN_API size_t gan_net_num_params(const gan_net *net);
/** @return the number of layers, or 0 for NULL. */
GAN_API size_t gan_net_num_layers(const gan_net *net);
/** @return the layer at @p index (borrowed), or NULL when out of range. */
GAN_API const gan_layer *gan_net_layer(const gan_net *net, size_t index);
/** @return the layer's kind, or 0 for NULL. */
GAN_API int gan_layer_kind(const gan_layer *layer);
/** @return the layer's input width (0 for an unplaced activation or dropout). */
GAN_API size_t gan_layer_in_dim(const gan_layer *layer);
/** @return the layer's output width (0 for an unplaced activation or dropout). */
GAN_API size_t gan_layer_out_dim(const gan_layer *layer);
/** @return the layer's number of parameters. */
GAN_API size_t gan_layer_num_params(const gan_layer *layer);
/**
 * Where layer @p index's parameters sit in gan_net_params(): weights first
 * (row-major in_dim x out_dim; maxout: in_dim x (units*pieces), piece-major
 * within a unit), then biases.
 * @param[out] offset first float of the layer's parameters
 * @param[out] count  number of floats
 */
GAN_API int gan_net_layer_params(const gan_net *net, size_t index, size_t *offset, size_t *count);

/** Initialise all parameters from @p rng (borrowed for the call). */
GAN_API int gan_net_init(gan_net *net, gan_rng *rng, gan_init scheme, float scale);
/**
 * Lend the net an rng for dropout in training mode. Borrowed: it must outlive
 * its use; NULL detaches it. Needed only by nets with dropout.
 */
GAN_API int gan_net_set_rng(gan_net *net, gan_rng *rng);

/**
 * Forward pass. @p x is batch x in_dim, @p y is batch x out_dim (row-major);
 * @p train selects training mode (dropout active). Activations are kept for
 * gan_net_backward(). Workspaces grow on the first call at a larger batch
 * and are reused afterwards: no allocation in steady state.
 */
GAN_API int gan_net_forward(gan_net *net, const float *x, size_t batch, float *y, int train);
/**
 * Backward pass for the last forward: @p dy is batch x out_dim, @p dx
 * (batch x in_dim) receives the input gradient and may be NULL. Parameter
 * gradients are added to gan_net_grads().
 */
GAN_API int gan_net_backward(gan_net *net, const float *dy, float *dx);
/** @return the flat parameter buffer (borrowed; valid until the net changes shape or is freed). */
GAN_API float *gan_net_params(gan_net *net);
/** @return the flat gradient buffer, same layout as gan_net_params(). */
GAN_API float *gan_net_grads(gan_net *net);
/** Set every gradient to zero. */
GAN_API int gan_net_zero_grads(gan_net *net);

/* --------------------------------------------------------------- optimizers */

/** An optimizer. Its state is sized for the first net it steps. */
typedef struct gan_optim gan_optim;

/**
 * SGD with classical momentum: v = momentum * v - lr * g; p += v.
 * With @p nesterov: p += momentum * v - lr * g (after updating v).
 */
GAN_API int gan_optim_sgd(gan_optim **out, float lr, float momentum, int nesterov);
/** Adam (Kingma & Ba) with bias correction. */
GAN_API int gan_optim_adam(gan_optim **out, float lr, float beta1, float beta2, float eps);
/** Free an optimizer. NULL-safe. */
GAN_API void gan_optim_free(gan_optim *opt);
/**
 * Apply one update to @p net from its gradients. The first step allocates the
 * state for the net's parameter count; a net of another size is GAN_EINVAL
 * until gan_optim_reset().
 */
GAN_API int gan_optim_step(gan_optim *opt, gan_net *net);
/** Forget all state (momentum, moments, step count). */
GAN_API int gan_optim_reset(gan_optim *opt);
/** Set the learning rate (finite, >= 0). */
GAN_API int gan_optim_set_lr(gan_optim *opt, float lr);
/** @return the learning rate, or 0 for NULL. */
GAN_API float gan_optim_get_lr(const gan_optim *opt);
/** Set the momentum (SGD) or beta1 (Adam), in [0, 1). */
GAN_API int gan_optim_set_momentum(gan_optim *opt, float momentum);
/** @return the momentum (SGD) or beta1 (Adam), or 0 for NULL. */
GAN_API float gan_optim_get_momentum(const gan_optim *opt);
/** @return the number of steps taken since creation or reset. */
GAN_API uint64_t gan_optim_steps(const gan_optim *opt);

/* ------------------------------------------------------------------ trainer */

/** The minimax trainer. Borrows G, D and their optimizers: they must outlive it. */
typedef struct gan_trainer gan_trainer;

/**
 * Data callback: fill @p x (batch x data_dim, data_dim = G's output width) with real
 * samples and, when the condition size c > 0, @p cond (batch x c) with their
 * conditions (@p cond is NULL when c = 0). Draw randomness only from @p rng, the
 * trainer's data stream, so a run is reproducible from its seed.
 * @return 0 to go on; anything else stops the call with GAN_EUSER.
 */
typedef int (*gan_data_fn)(void *payload, gan_rng *rng, float *x, float *cond, size_t batch);
/**
 * Noise callback: fill @p z (batch x dim) from @p rng, the trainer's noise stream.
 * @return 0 to go on; anything else stops the call with GAN_EUSER.
 */
typedef int (*gan_noise_fn)(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim);

/** Losses, all computed from D's logit in a numerically stable form. */
typedef enum gan_loss {
    GAN_LOSS_MINIMAX = 1,         /**< the paper's game; G minimises log(1 - D(G(z))) */
    GAN_LOSS_NON_SATURATING = 2,  /**< G maximises log D(G(z)) (default) */
    GAN_LOSS_LEAST_SQUARES = 3,   /**< LSGAN on the logit: l_real -> 1, l_fake -> 0 in squares */
    GAN_LOSS_HINGE = 4,           /**< D: relu(1 - l_real) + relu(1 + l_fake); G: -l_fake */
    GAN_LOSS_WASSERSTEIN = 5      /**< critic l_fake - l_real with weight clipping */
} gan_loss;

/** How D and G updates interleave. */
typedef enum gan_update {
    GAN_UPDATE_ALTERNATING = 1,  /**< Algorithm 1: k D steps, then g G steps (default) */
    GAN_UPDATE_SIMULTANEOUS = 2  /**< D and G updated from the same batch */
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
    uint32_t size;       /**< set by the caller: sizeof(gan_step_stats) */
    uint32_t reserved;   /**< zero */
    uint64_t step;       /**< steps completed, this one included */
    double loss_d;       /**< D's loss on its last update */
    double loss_g;       /**< G's loss on its last update */
    double d_real;       /**< mean sigmoid(D logit) on real data */
    double d_fake;       /**< mean sigmoid(D logit) on generated data */
    double grad_norm_d;  /**< L2 norm of D's last gradient */
    double grad_norm_g;  /**< L2 norm of G's last gradient */
    double lr_d;         /**< D's learning rate */
    double lr_g;         /**< G's learning rate */
} gan_step_stats;

/** Called after every step of gan_trainer_run(); non-zero stops the run with GAN_EUSER. */
typedef int (*gan_step_fn)(void *payload, const gan_step_stats *stats);

/**
 * Create a trainer over generator @p g, discriminator @p d (one output: a logit, or a
 * probability when its last layer is a sigmoid, whose input is then used as the logit)
 * and their optimizers. All four are borrowed. The trainer lends its dropout stream to
 * G and D (gan_net_set_rng) and takes it back when freed.
 * Defaults: batch 100, k = 1 D step and 1 G step, alternating, non-saturating loss,
 * seed 0, no condition, noise uniform in [-1, 1], no label smoothing, no EMA.
 */
GAN_API int gan_trainer_create(gan_trainer **out, gan_net *g, gan_net *d, gan_optim *opt_g, gan_optim *opt_d);
/** Free a trainer (not the nets or optimizers it borrows). NULL-safe. */
GAN_API void gan_trainer_free(gan_trainer *t);
/** Set the data callback (required before training). */
GAN_API int gan_trainer_set_data(gan_trainer *t, gan_data_fn fn, void *payload);
/** Set a custom noise callback. */
GAN_API int gan_trainer_set_noise(gan_trainer *t, gan_noise_fn fn, void *payload);
/** Built-in noise: uniform in [-a, a] (a > 0). */
GAN_API int gan_trainer_set_noise_uniform(gan_trainer *t, float a);
/** Built-in noise: normal with mean 0 and standard deviation @p std (> 0). */
GAN_API int gan_trainer_set_noise_normal(gan_trainer *t, float std);
/** Samples per batch (> 0). */
GAN_API int gan_trainer_set_batch_size(gan_trainer *t, size_t batch);
/** D updates per step (k >= 1). */
GAN_API int gan_trainer_set_d_steps(gan_trainer *t, unsigned k);
/** G updates per step (>= 1). */
GAN_API int gan_trainer_set_g_steps(gan_trainer *t, unsigned g);
/** Alternating (default) or simultaneous updates. */
GAN_API int gan_trainer_set_update(gan_trainer *t, gan_update mode);
/** Choose the loss. */
GAN_API int gan_trainer_set_loss(gan_trainer *t, gan_loss loss);
/** Reseed every stream from @p seed and restart the step count. */
GAN_API int gan_trainer_set_seed(gan_trainer *t, uint64_t seed);
/**
 * Condition size c (0 disables): the data callback fills one condition row per sample,
 * and the trainer appends it to G's noise and to D's input. Needs
 * D's input width = G's output width + c and G's input width > c.
 */
GAN_API int gan_trainer_set_cond_dim(gan_trainer *t, size_t c);
/** One-sided label smoothing: D's target for real data (in (0, 1]; 1 disables). */
GAN_API int gan_trainer_set_label_smoothing(gan_trainer *t, float real_target);
/** Weight clipping range for the Wasserstein loss (> 0; default 0.01). */
GAN_API int gan_trainer_set_clip(gan_trainer *t, float c);
/**
 * Exponential moving average of G's weights with the given decay in [0, 1); 0 turns
 * it off. When on, gan_trainer_generate() uses the averaged weights. The average
 * starts at G's weights as they are at this call: call it after initialising G.
 */
GAN_API int gan_trainer_set_ema(gan_trainer *t, float decay);
/** @return the trainer's rng stream @p which (borrowed), or NULL. */
GAN_API gan_rng *gan_trainer_rng(gan_trainer *t, gan_stream which);
/** @return the noise width (G's input width minus the condition size), or 0. */
GAN_API size_t gan_trainer_noise_dim(const gan_trainer *t);
/** @return the steps completed. */
GAN_API uint64_t gan_trainer_steps(const gan_trainer *t);

/**
 * One step: k D updates then g G updates (alternating), or one joint update
 * (simultaneous). A step is all or nothing: when it fails (a non-finite loss or
 * gradient gives GAN_EDIVERGED, a callback GAN_EUSER) G, D, their optimizers, the EMA
 * and the rng streams are left bit-identical to their state before the step.
 * In steady state a step allocates nothing.
 * @param[out] stats may be NULL; see gan_step_stats for its size field.
 */
GAN_API int gan_trainer_step(gan_trainer *t, gan_step_stats *stats);
/** Run @p steps steps, calling @p on_step (may be NULL) after each. */
GAN_API int gan_trainer_run(gan_trainer *t, uint64_t steps, gan_step_fn on_step, void *payload);
/**
 * Generate @p n samples into @p out (n x data_dim) in evaluation mode. @p z is n x
 * noise_dim, or NULL to draw it from the noise callback with the noise stream; @p cond
 * is n x c (required when c > 0, else ignored).
 */
GAN_API int gan_trainer_generate(gan_trainer *t, const float *z, const float *cond, size_t n, float *out);

/* ------------------------------------------------------------------ dataset */

/** An in-memory data set: n rows of dim floats in [0, 1], with optional labels. */
typedef struct gan_dataset gan_dataset;

/**
 * Load an IDX image file (MNIST / Fashion-MNIST format: unsigned bytes, 1 or more
 * dimensions after the count), raw or gzip-compressed, scaling pixels to [0, 1].
 * @p labels_path (may be NULL) is an IDX label file whose count must match.
 * Every header field is validated: a bad file is GAN_EFORMAT with a message, a missing
 * one GAN_EIO; nothing is allocated beyond what the file's real size supports.
 */
GAN_API int gan_dataset_load_idx(gan_dataset **out, const char *images_path, const char *labels_path);
/** Like gan_dataset_load_idx() from memory (raw or gzip bytes); @p labels may be NULL. */
GAN_API int gan_dataset_load_idx_mem(gan_dataset **out, const void *images, size_t images_size,
                                     const void *labels, size_t labels_size);
/** Free a data set. NULL-safe. */
GAN_API void gan_dataset_free(gan_dataset *ds);
/** @return the number of rows, or 0 for NULL. */
GAN_API size_t gan_dataset_size(const gan_dataset *ds);
/** @return the row width (e.g. 784 for 28 x 28 images), or 0 for NULL. */
GAN_API size_t gan_dataset_dim(const gan_dataset *ds);
/** @return row @p i (borrowed, valid until the data set is freed), or NULL when out of range. */
GAN_API const float *gan_dataset_row(const gan_dataset *ds, size_t i);
/** @return the label of row @p i, or -1 without labels or out of range. */
GAN_API int gan_dataset_label(const gan_dataset *ds, size_t i);
/** @return the number of classes (largest label + 1), or 0 without labels. */
GAN_API size_t gan_dataset_num_classes(const gan_dataset *ds);
/**
 * Split into two new data sets: @p n_first rows and the rest (copies; @p ds is
 * unchanged). With @p shuffle (may be NULL) the rows are drawn in a random order.
 */
GAN_API int gan_dataset_split(gan_dataset **first, gan_dataset **second, const gan_dataset *ds, size_t n_first,
                              gan_rng *shuffle);

/** How a sampler draws rows. */
typedef enum gan_sample_mode {
    GAN_SAMPLE_UNIFORM = 1, /**< uniformly with replacement */
    GAN_SAMPLE_EPOCHS = 2   /**< every row once per epoch, in a fresh shuffled order */
} gan_sample_mode;

/** Draws batches from a data set for the trainer. Borrows the data set. */
typedef struct gan_sampler gan_sampler;

/**
 * Create a sampler over @p ds. With @p one_hot_labels the condition rows are the
 * one-hot labels (condition size gan_dataset_num_classes()); the data set must have labels.
 */
GAN_API int gan_sampler_create(gan_sampler **out, const gan_dataset *ds, gan_sample_mode mode, int one_hot_labels);
/** Free a sampler (not its data set). NULL-safe. */
GAN_API void gan_sampler_free(gan_sampler *s);
/** @return epochs completed (GAN_SAMPLE_EPOCHS), or 0. */
GAN_API uint64_t gan_sampler_epoch(const gan_sampler *s);
/**
 * A ready gan_data_fn: pass it with a gan_sampler as payload to gan_trainer_set_data().
 * Fills @p x (and @p cond with one-hot labels when the sampler was made so) from @p rng.
 */
GAN_API int gan_dataset_sampler(void *payload, gan_rng *rng, float *x, float *cond, size_t batch);

/* --------------------------------------------------------------- evaluation */

/**
 * Parzen-window log-likelihood, as the paper's released code computed it: an
 * isotropic Gaussian kernel of width @p sigma on @p n samples (n x dim), evaluated at
 * @p m test points (m x dim): ll(x) = log mean_i exp(-|x - s_i|^2 / (2 sigma^2))
 * - dim * log(sigma * sqrt(2 pi)). Distances are computed blockwise with sgemm in
 * bounded memory; the log-mean-exp is stable. A row with NaN or Inf is GAN_EINVAL.
 * @param[out] mean     mean log-likelihood over the test points
 * @param[out] std_err  its standard error (may be NULL)
 */
GAN_API int gan_parzen_log_likelihood(double *mean, double *std_err, const float *samples, size_t n,
                                      const float *test, size_t m, size_t dim, float sigma);
/**
 * Choose sigma from @p sigmas (or, when NULL, the paper's grid logspace(-1, 0, 10))
 * by the mean log-likelihood of the validation points (m x dim). One pass over the
 * distances serves every candidate; at most 1024 candidates; ties go to the first.
 * @param[out] best_sigma the chosen sigma
 * @param[out] best_ll    its mean validation log-likelihood (may be NULL)
 */
GAN_API int gan_parzen_select_sigma(float *best_sigma, double *best_ll, const float *samples, size_t n,
                                    const float *valid, size_t m, size_t dim, const float *sigmas,
                                    size_t n_sigmas);
/**
 * For each of @p nq queries (nq x dim), the index of its nearest reference row
 * (nr x dim, Euclidean) and the squared distance (@p dist2 may be NULL). Ties go
 * to the lowest reference index.
 */
GAN_API int gan_nearest_neighbors(size_t *index, float *dist2, const float *queries, size_t nq,
                                  const float *refs, size_t nr, size_t dim);
/** Size in pixels of the grid gan_image_grid() draws. */
GAN_API int gan_image_grid_size(size_t *width, size_t *height, size_t n, size_t img_w, size_t img_h, size_t cols,
                                size_t pad);
/**
 * Tile @p n images (each img_h x img_w floats in [0, 1], row-major; values outside
 * are clamped) into an 8-bit grayscale buffer of gan_image_grid_size(), @p cols per
 * row, with @p pad pixels of black between and around them. Does no I/O.
 */
GAN_API int gan_image_grid(uint8_t *pixels, const float *images, size_t n, size_t img_w, size_t img_h,
                           size_t cols, size_t pad);

#ifdef __cplusplus
}
#endif

#endif /* GAN_H */
