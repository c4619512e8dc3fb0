/* Winograd's F(2x2, 2x2) for the convolutions DCGAN is made of: 4x4 kernels at stride 2
 * with padding 1 on even sizes (docs/layers.md, "Convolutions"). Such a convolution is a
 * 2x2 stride-1 convolution of the input's four phases (space to depth: 4C channels), and
 * F(2x2, 2x2) computes each 2x2 tile of its output with 9 products of 4C x N matrices
 * instead of 16: 16/9 fewer multiplications. Its transforms add and subtract only, so
 * the result differs from the direct sum by rounding alone.
 *
 * A pass takes the output channels in blocks (their transformed weights U fill at most
 * 20 MiB) and the tiles (2x2 outputs) in chunks (their transformed inputs V and outputs
 * M fill at most 6 MiB, unless that is fewer than 256 tiles), in a scratch of
 * gan__wino_scratch() floats. Weights are conv2d's
 * [(ky*4 + kx)*C + c][N] (trans 0) or conv2d_transpose's [N][(ky*4 + kx)*C + c] (trans
 * 1), for the convolution g from C to N channels. */
#ifndef GAN_WINOGRAD_IMPL_H
#define GAN_WINOGRAD_IMPL_H

#include "kernels_impl.h"

#include <stddef.h>

typedef struct gan__wino {
    gan__conv_geom g;  /* the convolution, from C = g.c channels */
    size_t n;          /* to N channels */
    size_t nb;         /* output channels per block */
    size_t tile_chunk; /* tiles per chunk */
} gan__wino;

/* Plan g (to n channels): 1 if it takes this path (k 4, stride 2, padding 1, an even
 * output exactly half the input, and both channel counts at least 16: below that,
 * im2col's one product is faster), else 0. */
int gan__wino_plan(gan__wino *w, const gan__conv_geom *g, size_t n);
/* Floats of scratch a pass over `batch` images needs. */
size_t gan__wino_scratch(const gan__wino *w, size_t batch);

/* out (batch x oh x ow x N) = bias (NULL: none) + g(img). */
void gan__wino_forward(const gan__wino *w, int trans, const float *weights, const float *img, size_t batch,
                       const float *bias, float *out, float *scratch);
/* img (batch x h x w x C) += g's adjoint applied to grad (batch x oh x ow x N). */
void gan__wino_adjoint(const gan__wino *w, int trans, const float *weights, const float *grad, size_t batch,
                       float *img, float *scratch);
/* dw = (add ? dw : 0) + the weights' gradient, img g's input and grad the gradient at its
 * output. */
void gan__wino_weight_grad(const gan__wino *w, int trans, const float *img, const float *grad, size_t batch,
                           int add, float *dw, float *scratch);

#endif
