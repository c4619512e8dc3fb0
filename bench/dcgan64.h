/* pytorch/examples' DCGAN (dcgan/main.py) at 64 x 64, for bench and scale: nz 100,
 * ngf = ndf = 64, 3 channels, no biases, batch norm, ReLU in G and leaky ReLU 0.2 in D, a
 * sigmoid at D's end (libgan reads its logit). A net is a list of layers, so that bench
 * --profile can time each alone and bench can count the memory backward needs. Include
 * after paper.h (add). */
#ifndef GAN_BENCH_DCGAN64_H
#define GAN_BENCH_DCGAN64_H

#include "check.h"

typedef enum { CONV_T, CONV, BN, RELU, LRELU, TANH, SIGMOID } layer_kind;
typedef struct { layer_kind kind; int cin, cout, k, s, p; } layer_spec;

enum { NZ = 100, W64 = 64, C64 = 3, SIDE64 = 64 };
#define BLOCK_T(ci, co, s_, p_) {CONV_T, ci, co, 4, s_, p_}, {BN, co, 0, 0, 0, 0}, {RELU, 0, 0, 0, 0, 0}
#define BLOCK(ci, co) {CONV, ci, co, 4, 2, 1}, {BN, co, 0, 0, 0, 0}, {LRELU, 0, 0, 0, 0, 0}
static const layer_spec g64[] = {
    BLOCK_T(NZ, 8 * W64, 1, 0),      BLOCK_T(8 * W64, 4 * W64, 2, 1), BLOCK_T(4 * W64, 2 * W64, 2, 1),
    BLOCK_T(2 * W64, W64, 2, 1),     {CONV_T, W64, C64, 4, 2, 1},     {TANH, 0, 0, 0, 0, 0},
};
static const layer_spec d64[] = {
    {CONV, C64, W64, 4, 2, 1}, {LRELU, 0, 0, 0, 0, 0}, BLOCK(W64, 2 * W64), BLOCK(2 * W64, 4 * W64),
    BLOCK(4 * W64, 8 * W64),   {CONV, 8 * W64, 1, 4, 1, 0}, {SIGMOID, 0, 0, 0, 0, 0},
};
#undef BLOCK
#undef BLOCK_T
enum { G64_LAYERS = sizeof g64 / sizeof *g64, D64_LAYERS = sizeof d64 / sizeof *d64 };

static gan_layer *make_layer(const layer_spec *s)
{
    gan_layer *l = NULL;
    switch (s->kind) {
    case CONV_T: CHECK(gan_layer_conv2d_transpose(&l, s->cin, s->cout, s->k, s->s, s->p, 0)); break;
    case CONV: CHECK(gan_layer_conv2d(&l, s->cin, s->cout, s->k, s->s, s->p)); break;
    case BN: CHECK(gan_layer_batchnorm(&l, s->cin, 0.1f, 1e-5f)); break;
    case RELU: CHECK(gan_layer_activation(&l, GAN_ACT_RELU)); break;
    case LRELU: CHECK(gan_layer_leaky_relu(&l, 0.2f)); break;
    case TANH: CHECK(gan_layer_activation(&l, GAN_ACT_TANH)); break;
    case SIGMOID: CHECK(gan_layer_activation(&l, GAN_ACT_SIGMOID)); break;
    }
    if (s->kind == CONV_T || s->kind == CONV) CHECK(gan_layer_set_bias(l, 0));
    return l;
}

/* The layers [from, to) of a spec list on an input of c x h x w (h = w = 1: a vector). */
static gan_net *net_of(const layer_spec *spec, int from, int to, size_t c, size_t h, size_t w)
{
    gan_net *n;
    if (h == 1 && w == 1) CHECK(gan_net_create(&n, c));
    else CHECK(gan_net_create_image(&n, c, h, w));
    for (int i = from; i < to; i++) add(n, make_layer(&spec[i]));
    return n;
}

/* What a layer's backward reads: its input (batch norm; a convolution for its weight
 * gradient, unless only input gradients are wanted), its output (activations). */
static inline int reads_input(const layer_spec *s, int inputs_only)
{
    return s->kind == BN || ((s->kind == CONV || s->kind == CONV_T) && !inputs_only);
}
static inline int reads_output(const layer_spec *s) { return s->kind >= RELU; }

/* Floats per row of the values a spec list's backward reads, each counted once (inputs_only:
 * D's part of G's update), and in *pair the widest input plus output of a layer that does
 * not run in place (the gradients backward holds at once). */
static inline size_t kept_floats(const layer_spec *spec, int n_spec, size_t c, size_t h, size_t w, int inputs_only,
                          size_t *pair)
{
    size_t kept = reads_input(&spec[0], inputs_only) ? c * h * w : 0;
    for (int i = 0; i < n_spec; i++) {
        const layer_spec *s = &spec[i];
        size_t in = c * h * w;
        if (s->kind == CONV_T) {
            h = (h - 1) * (size_t)s->s - 2 * (size_t)s->p + (size_t)s->k;
            w = (w - 1) * (size_t)s->s - 2 * (size_t)s->p + (size_t)s->k;
        } else if (s->kind == CONV) {
            h = (h + 2 * (size_t)s->p - (size_t)s->k) / (size_t)s->s + 1;
            w = (w + 2 * (size_t)s->p - (size_t)s->k) / (size_t)s->s + 1;
        }
        if (s->kind == CONV || s->kind == CONV_T) c = (size_t)s->cout;
        if (reads_output(s) || (i + 1 < n_spec && reads_input(&spec[i + 1], inputs_only))) kept += c * h * w;
        if (!reads_output(s) && in + c * h * w > *pair) *pair = in + c * h * w;
    }
    return kept;
}

static gan_net *dcgan64_generator(void) { return net_of(g64, 0, G64_LAYERS, NZ, 1, 1); }
static gan_net *dcgan64_discriminator(void) { return net_of(d64, 0, D64_LAYERS, C64, SIDE64, SIDE64); }

#endif
