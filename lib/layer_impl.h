/* Layers behind a small vtable. A layer's parameters live in its net's flat buffers;
 * the net binds w/b/dw/db when it places the layer. */
#ifndef GAN_LAYER_IMPL_H
#define GAN_LAYER_IMPL_H

#include "gan.h"

/* What a backward pass does with parameter gradients. */
enum {
    GAN__GRADS_NONE = 0, /* skip them: only the input gradient is wanted */
    GAN__GRADS_ADD = 1,  /* add to them (the public gan_net_backward) */
    GAN__GRADS_SET = 2   /* overwrite them: no gan_net_zero_grads pass needed */
};

struct gan_layer_ops {
    const char *name;
    int kind; /* GAN_LAYER_* */
    /* What backward reads besides dy and the layer's own workspaces: its input x, its
     * output y. An elementwise layer (same width in and out, position by position) may
     * run in place over its input; the net decides when (see net.c). */
    unsigned reads_x : 1, reads_y : 1, elementwise : 1;
    /* Fix the input width (activation and dropout adopt the net's); validate sizes. */
    int (*place)(gan_layer *l, size_t in_dim, size_t index);
    /* Grow per-layer workspaces to hold `batch` rows. */
    int (*reserve)(gan_layer *l, size_t batch);
    /* y may be x for an elementwise layer. */
    void (*forward)(gan_layer *l, const float *x, size_t batch, float *y, int train, gan_rng *rng);
    /* Parameter gradients as `grads` says (GAN__GRADS_*); dx (may be NULL) is overwritten,
     * and may be dy for an elementwise layer. x and y are the last forward's (x is
     * meaningless unless reads_x). */
    void (*backward)(gan_layer *l, const float *x, const float *y, const float *dy, size_t batch, float *dx,
                     int grads);
    void (*init)(gan_layer *l, gan_rng *rng, gan_init scheme, float scale);
};

struct gan_layer {
    const struct gan_layer_ops *ops;
    size_t in_dim, out_dim;
    size_t n_weights, n_biases; /* parameters: weights first, then biases */
    size_t units, pieces; /* maxout */
    int act;              /* activation code */
    float slope;          /* leaky ReLU */
    float keep_prob;      /* dropout */
    float *w, *b, *dw, *db;  /* bound into the net's buffers */
    void *work_next;      /* a grown workspace, until the net commits it */
    void *work;           /* maxout: winners (uint8_t when pieces <= 256, else uint32_t);
                             dropout: the mask, one byte per unit */
    size_t scratch_width; /* floats per row of the net's shared scratch this layer uses */
    float *scratch;       /* maxout: pre-activations, then their gradient (borrowed from the net) */
    const float *fwd_x;   /* the last forward's input and output (the net's buffers, or */
    float *fwd_y;         /* the caller's input when backward does not read it) */
    int trained;          /* dropout: the last forward applied a mask */
};

/* Bind parameter pointers at `params`/`grads` (weights first, then biases). */
void gan__layer_bind(gan_layer *l, float *params, float *grads);

#endif
