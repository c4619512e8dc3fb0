/* Layers behind a small vtable (docs/layers.md). Each kind is one section of layer.c: a
 * private struct that starts with struct gan_layer, and an ops table. Other modules see
 * the common part and the ops, never a kind's fields. A layer's parameters live in its
 * net's flat buffers; the net binds params/grads when it places the layer. */
#ifndef GAN_LAYER_IMPL_H
#define GAN_LAYER_IMPL_H

#include "gan.h"

/* Channels, height, width; a row is c * h * w floats, channels last. A vector is (n, 1, 1). */
typedef struct gan_shape {
    size_t c, h, w;
} gan_shape;

static inline size_t gan__shape_size(gan_shape s) { return s.c * s.h * s.w; }
static inline gan_shape gan__vector_shape(size_t n) { return (gan_shape){n, 1, 1}; }

/* What a backward pass does with parameter gradients. */
enum {
    GAN__GRADS_NONE = 0, /* skip them: only the input gradient is wanted */
    GAN__GRADS_ADD = 1,  /* add to them (the public gan_net_backward) */
    GAN__GRADS_SET = 2   /* overwrite them: no gan_net_zero_grads pass needed */
};

/* The longest description a layer gives of itself, terminator included, and the
 * longest encoding of its hyperparameters in a file. */
enum { GAN__DESCRIBE_CAP = 96, GAN__ENCODING_CAP = 256 };

/* The most inputs one layer reads (concat, add). */
enum { GAN__MAX_INPUTS = 16 };

struct gan_layer_ops {
    const char *name;
    int kind; /* GAN_LAYER_* */
    size_t size; /* bytes of the kind's struct */
    /* What backward reads besides dy and the layer's own workspaces: its input x, its
     * output y. An elementwise layer (as many values out as in, position by position) may
     * run in place over its input; the net decides when (see net.c). couples_rows: a row's
     * output depends on the other rows of the batch (batch statistics). */
    unsigned reads_x : 1, reads_y : 1, elementwise : 1, couples_rows : 1;
    /* Take the input shape (elementwise layers adopt it), validate it, set l->in and
     * l->out. `index` is the layer's position, for messages. A kind of several inputs
     * (l->n_in > 1) has place_n, forward_n and backward_n instead of place, forward and
     * backward. */
    int (*place)(gan_layer *l, gan_shape in, size_t index);
    /* The n = l->n_in input shapes in the order the layer names them; sets l->in to in[0]
     * and l->out. Messages name the layer's inputs as "input k" (the net adds the nodes). */
    int (*place_n)(gan_layer *l, const gan_shape *in, size_t n, size_t index);
    void (*forward_n)(gan_layer *l, const float *const *x, size_t batch, float *y, int train, gan_rng *rng);
    /* dx[k] (each may be NULL: no gradient wanted) is overwritten; never aliases dy. */
    void (*backward_n)(gan_layer *l, const float *const *x, const float *y, const float *dy, size_t batch,
                       float *const *dx, int grads);
    /* Grow per-layer workspaces (into work_next) to hold `batch` rows; NULL: none. */
    int (*reserve)(gan_layer *l, size_t batch);
    /* y may be x for an elementwise layer. */
    void (*forward)(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng);
    /* Parameter gradients as `grads` says (GAN__GRADS_*); dx (may be NULL) is overwritten,
     * and may be dy for an elementwise layer. x and y are the last forward's (x is
     * meaningless unless reads_x). */
    void (*backward)(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                     int grads);
    /* Initialise the parameters; NULL: the kind has none. */
    void (*init)(gan_layer *l, gan_rng *rng, gan_init scheme, float scale);
    /* The hyperparameters as the file format stores them (docs/file-format.md): writes
     * them to out unless it is NULL, returns their length. */
    size_t (*encode)(const gan_layer *l, uint8_t *out);
    /* A new layer from an encoding of format `version`, every field checked as the
     * constructor checks it; in_size is the width the net hands the layer. */
    int (*decode)(gan_layer **out, const uint8_t *p, size_t len, unsigned version, size_t in_size);
    /* A short description for messages, e.g. "maxout 784->240x5". */
    void (*describe)(const gan_layer *l, char *buf, size_t cap);
    /* The kind's state as a file holds it (little-endian floats at p) can be valid: GAN_OK,
     * or GAN_EFORMAT with a message that names no layer; NULL: any finite state is. */
    int (*check_state)(const gan_layer *l, const uint8_t *p);
    /* A training forward of `batch` rows can run: GAN_OK, or GAN_EINVAL with a message
     * that names no layer; NULL: any batch can. */
    int (*check_batch)(const gan_layer *l, size_t batch);
    /* Keep (on) or drop the bias, before the layer is in a net; NULL: the kind has none. */
    int (*set_bias)(gan_layer *l, int on);
    /* The weight matrix at the start of the parameters, rows x cols row-major (what
     * spectral normalization normalises); NULL: the kind has none. */
    void (*weights)(const gan_layer *l, size_t *rows, size_t *cols);
};

/* Where a training forward's rows sit in the pass that all ranks share (a trainer with a
 * comm, docs/scale.md): they come in runs of `local` rows, run p being the rows
 * [p * global + first, p * global + first + local) of the whole pass. global = 0: the rows
 * are the whole pass. Dropout draws each row's mask from that row's place in the whole
 * pass, so the masks do not depend on the rank count. */
typedef struct gan__rows {
    size_t first, local, global;
} gan__rows;

/* A layer's spectral normalization (layer_sn.c); NULL when it has none. */
typedef struct gan__sn gan__sn;

struct gan_layer {
    const struct gan_layer_ops *ops;
    gan_shape in, out;    /* (0, 0, 0) for an elementwise layer until it is placed */
    size_t n_params;      /* the kind's layout within them: see its section of layer.c */
    float *params, *grads; /* bound into the net's buffers */
    size_t n_state;       /* non-trainable values (batch-norm running statistics) */
    float *state;         /* bound into the net's state buffer */
    int needs_rng;        /* a training-mode forward draws from the net's rng */
    int in_net;           /* added to a net: its hyperparameters are fixed */
    void *work_next;      /* a grown workspace, until the net commits it */
    void *work;           /* the kind's per-row workspace (maxout winners, dropout mask) */
    size_t scratch_width; /* floats per row of the net's shared scratch this layer uses */
    size_t scratch_need;  /* or floats in all, at the batch reserve last sized (conv buffers) */
    float *scratch;       /* borrowed from the net for what one call needs */
    const float *fwd_x;   /* the last forward's input and output (the net's buffers, or */
    float *fwd_y;         /* the caller's input when backward does not read it) */
    gan__sn *sn;          /* spectral normalization of the weights, or NULL */
    gan__rows rows;       /* the net's, for the forward under way */
    /* Graphs (docs/graphs.md): the number of inputs the kind takes (1 unless it has
     * place_n), and the nodes the layer reads once it is in a net (node 0 the net's
     * input, node k layer k-1's output); routed: they are not just the previous node, so
     * files wrap the layer's record. */
    size_t n_in, n_from;
    size_t from[GAN__MAX_INPUTS];
    int routed;
    const float *fwd_xs[GAN__MAX_INPUTS]; /* the last forward's inputs, for backward_n */
    int holds; /* keeps its choices in GAN__HOLD for GAN__REPLAY (its reserve makes room) */
};

/* The calls the net makes of a layer, whatever its kind: the ops, and around them what
 * every kind shares (spectral normalization). */
void gan__layer_forward(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng);
void gan__layer_backward(gan_layer *l, const float *dy, size_t batch, float *dx, int grads);
void gan__layer_init(gan_layer *l, gan_rng *rng, gan_init scheme, float scale);
/* Buffers the layer needs once it is in a net (gan_net_add); GAN_ENOMEM without a name. */
int gan__layer_attach(gan_layer *l);
/* The layer's record in a file (docs/file-format.md): its kind, and the encoding written
 * to out unless NULL; returns the encoding's length. */
size_t gan__layer_encode(const gan_layer *l, uint8_t *out, uint32_t *kind);
/* A short description for messages, e.g. "maxout 784->240x5". */
void gan__layer_describe(const gan_layer *l, char *buf, size_t cap);
/* The layer's n_state values as a file holds them (little-endian floats at p) can be
 * valid state: finite, and what the kind and spectral norm require. GAN_OK, or
 * GAN_EFORMAT with a message that names no layer. */
int gan__layer_check_state(const gan_layer *l, const uint8_t *p);

/* The record kind of a spectrally normalised layer: power iterations u32, the inner kind
 * u32, then the inner kind's encoding. Never a gan_layer_kind(). */
enum { GAN__RECORD_SPECTRAL_NORM = 64, GAN__SN_RECORD_HEAD = 8 };

/* The record kind of a layer that reads other nodes than the previous one (since 0.3):
 * u32 count n, n u32 node numbers, u32 the inner kind (which may be spectral norm's), then
 * the inner encoding. A decoded layer carries the nodes in from/n_from (n_from 0: the
 * previous node). Never a gan_layer_kind(). */
enum { GAN__RECORD_GRAPH = 65 };

/* A shape's bounds, for nets, reshape layers and files alike: every axis positive and the
 * product at most INT_MAX (BLAS takes int). GAN_EINVAL with a message naming no function. */
int gan__check_shape(uint64_t c, uint64_t h, uint64_t w);

/* Bind parameter pointers at `params`/`grads` and the state at `state` (each NULL while
 * the net has none). */
void gan__layer_bind(gan_layer *l, float *params, float *grads, float *state);

/* Forward modes: the `train` argument of ops->forward. */
enum {
    GAN__EVAL = 0,       /* evaluation: no dropout, batch norm on its running statistics */
    GAN__TRAIN = 1,      /* training: dropout, batch statistics, running statistics updated */
    GAN__BATCH_STATS = 2, /* evaluation with batch norm on the batch's statistics, nothing updated */
    /* A gradient penalty's passes (docs/trainer.md): HOLD is a training forward that
     * keeps every discrete choice it makes (ReLU signs, maxout winners, dropout masks;
     * spectral norm does not iterate), REPLAY a forward of other rows that makes the
     * held choices again instead of its own, so that the net stays the one linear piece
     * HOLD saw. Only layers with `holds` set keep ReLU signs (gan__net_hold). */
    GAN__HOLD = 3,
    GAN__REPLAY = 4
};

/* The mode draws dropout masks. */
static inline int gan__draws(int train) { return train == GAN__TRAIN || train == GAN__HOLD; }

/* A layer of kind `kind` from the file format's encoding (ops->decode); a kind this
 * version does not know is GAN_EVERSION (GAN_EFORMAT in a version-1 file). */
int gan__layer_decode(gan_layer **out, uint32_t kind, const uint8_t *p, size_t len, unsigned version,
                      size_t in_size);

/* The layer is a sigmoid: D's last one is read as a probability of its logit. */
int gan__layer_is_sigmoid(const gan_layer *l);

#endif
