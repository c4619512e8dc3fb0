/* Winograd's F(2x2, 2x2) for the convolutions DCGAN is made of: 4x4 kernels at stride 2
 * with padding 1 on even sizes (docs/layers.md, "Convolutions"). Such a convolution is a
 * 2x2 stride-1 convolution of the input's four phases (space to depth: 4C channels), and
 * F(2x2, 2x2) computes each 2x2 tile of its output with 9 products of 4C x N matrices
 * instead of 16: 16/9 fewer multiplications. Its transforms add and subtract only, so
 * the result differs from the direct sum by rounding alone.
 *
 * Tiles are numbered over the batch: tile q is image q / tpi, row (q % tpi) / (ow/2),
 * column (q % tpi) % (ow/2), tpi = (oh/2) * (ow/2). Transformed data are 9 matrices
 * (xi = alpha * 3 + beta) of T = q1 - q0 rows: V[xi][t][4C] (the input's, columns (u, v, c)
 * for phase (u, v) and channel c), M[xi][t][N] (the output's). Transformed weights U are
 * 9 matrices [4C][N], or [N][4C] (`trans`, for conv2d_transpose's layout). */
#ifndef GAN_WINOGRAD_IMPL_H
#define GAN_WINOGRAD_IMPL_H

#include "kernels_impl.h"

#include <stddef.h>

/* Geometry g (from C to N = n channels) takes this path: k 4, stride 2, padding 1, an even
 * output exactly half the input, and both channel counts wide enough for gemm (at least
 * 16: below that im2col's one product is faster). */
int gan__wino_fits(const gan__conv_geom *g, size_t n);
/* Tiles per image. */
size_t gan__wino_tiles(const gan__conv_geom *g);

/* U from the weights: conv2d's [(ky*4 + kx)*C + c][N] (trans 0), or conv2d_transpose's
 * [N][(ky*4 + kx)*C + c] (trans 1, U stored [N][4C]). */
void gan__wino_filter(const gan__conv_geom *g, size_t n, int trans, const float *w, float *u);
/* The adjoint: dw = (add ? dw : 0) + the weights' gradient of dU (same layouts). */
void gan__wino_filter_adjoint(const gan__conv_geom *g, size_t n, int trans, const float *du, int add, float *dw);

/* V of tiles q0 .. q1-1 of the batch img (h x w x C images). */
void gan__wino_input(const gan__conv_geom *g, const float *img, size_t q0, size_t q1, float *v);
/* The adjoint: dV's gradient added to img (padding dropped); img is not cleared. */
void gan__wino_input_adjoint(const gan__conv_geom *g, const float *dv, size_t q0, size_t q1, float *img);

/* The output tiles q0 .. q1-1 of M into y (oh x ow x N images): bias + the tile, or the
 * tile alone when bias is NULL. */
void gan__wino_output(const gan__conv_geom *g, size_t n, const float *m, size_t q0, size_t q1, const float *bias,
                      float *y);
/* The adjoint: dM of the tiles q0 .. q1-1 of dy. */
void gan__wino_output_adjoint(const gan__conv_geom *g, size_t n, const float *dy, size_t q0, size_t q1, float *dm);

#endif
