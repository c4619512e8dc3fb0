/* Winograd's F(2x2, 2x2) transforms for 4x4 stride-2 convolutions (winograd_impl.h).
 *
 * Per axis, with d the three input values of a tile, m the three products and w the two
 * taps of a phase (tap a of phase u is kernel row 2a + u):
 *   input   V = (d0 - d1, d1, d2 - d1)      adjoint  dd = (dV0, dV1 - dV0 - dV2, dV2)
 *   filter  U = (w0, w0 + w1, w1)           adjoint  dw = (dU0 + dU1, dU1 + dU2)
 *   output  y = (m0 + m1, m1 + m2)          adjoint  dm = (dy0, dy0 + dy1, dy1)
 * so y0 = d0 w0 + d1 w1 and y1 = d1 w0 + d2 w1, the stride-1 convolution of a phase. Each
 * 2-D transform is the 1-D one along rows, then along columns. Runs of channels are the
 * inner loops, contiguous in HWC rows and in the transformed matrices alike. */
#include "winograd_impl.h"

#include <string.h>

/* Channels per block of the input transforms: invalid taps (padding) read a zero block. */
enum { BLOCK = 64 };

static size_t tiles_per_image(const gan__conv_geom *g) { return (g->oh / 2) * (g->ow / 2); }

/* ------------------------------------------------------------------ filters */

/* dst[9] = G src[4] G^T, run by run of len values (src[a * 2 + b] is tap (a, b)). The
 * kernels copy their pointers to restrict locals, so that the compiler vectorises them. */
static void filter_run(const float *restrict w00, const float *restrict w01, const float *restrict w10,
                       const float *restrict w11, float *restrict u0, float *restrict u1, float *restrict u2,
                       float *restrict u3, float *restrict u4, float *restrict u5, float *restrict u6,
                       float *restrict u7, float *restrict u8, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float r00 = w00[i], r01 = w00[i] + w01[i], r02 = w01[i]; /* along columns */
        float r10 = w10[i], r11 = w10[i] + w11[i], r12 = w11[i];
        u0[i] = r00, u1[i] = r01, u2[i] = r02;
        u3[i] = r00 + r10, u4[i] = r01 + r11, u5[i] = r02 + r12;
        u6[i] = r10, u7[i] = r11, u8[i] = r12;
    }
}

/* dst[4] = (add ? dst : 0) + G^T src[9] G. */
static void filter_run_adjoint(const float *restrict u0, const float *restrict u1, const float *restrict u2,
                               const float *restrict u3, const float *restrict u4, const float *restrict u5,
                               const float *restrict u6, const float *restrict u7, const float *restrict u8,
                               float *restrict w00, float *restrict w01, float *restrict w10, float *restrict w11,
                               size_t len, int add)
{
    for (size_t i = 0; i < len; i++) {
        float c00 = u0[i] + u1[i], c01 = u1[i] + u2[i]; /* along columns: row alpha, tap b */
        float c10 = u3[i] + u4[i], c11 = u4[i] + u5[i];
        float c20 = u6[i] + u7[i], c21 = u7[i] + u8[i];
        w00[i] = add ? w00[i] + (c00 + c10) : c00 + c10;
        w01[i] = add ? w01[i] + (c01 + c11) : c01 + c11;
        w10[i] = add ? w10[i] + (c10 + c20) : c10 + c20;
        w11[i] = add ? w11[i] + (c11 + c21) : c11 + c21;
    }
}

/* Where the values of phase (u, v) are: the weights' four taps (tap[a * 2 + b]) and U's
 * nine matrices (the block of output channels n0 .. n0+nb-1 of N = n), for channel c and
 * output channel o (a run goes along the block, or along C when trans). */
static void filter_offsets(const gan__conv_geom *g, size_t n, size_t n0, size_t nb, int trans, size_t uv, size_t c,
                           size_t o, size_t tap[4], size_t mat[9])
{
    size_t C = g->c, u_ = uv >> 1, v_ = uv & 1;
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++) {
            size_t t = (2 * a + u_) * 4 + 2 * b + v_;
            tap[a * 2 + b] = trans ? (n0 + o) * 16 * C + t * C : (t * C + c) * n + n0;
        }
    for (size_t xi = 0; xi < 9; xi++) mat[xi] = trans ? (xi * nb + o) * 4 * C + uv * C : (xi * 4 * C + uv * C + c) * nb;
}

/* U of output channels n0 .. n0+nb-1 from the weights: conv2d's [(ky*4 + kx)*C + c][N]
 * (trans 0, U [4C][nb]), or conv2d_transpose's [N][(ky*4 + kx)*C + c] (trans 1, U
 * [nb][4C]). */
static void filter(const gan__conv_geom *g, size_t n, size_t n0, size_t nb, int trans, const float *w, float *u)
{
    size_t tap[4], mat[9];
    size_t runs = trans ? nb : g->c, len = trans ? g->c : nb;
    for (size_t uv = 0; uv < 4; uv++)
        for (size_t r = 0; r < runs; r++) {
            filter_offsets(g, n, n0, nb, trans, uv, trans ? 0 : r, trans ? r : 0, tap, mat);
            filter_run(w + tap[0], w + tap[1], w + tap[2], w + tap[3], u + mat[0], u + mat[1], u + mat[2], u + mat[3],
                       u + mat[4], u + mat[5], u + mat[6], u + mat[7], u + mat[8], len);
        }
}

/* The adjoint: dw = (add ? dw : 0) + the weights' gradient of dU (same layouts). */
static void filter_adjoint(const gan__conv_geom *g, size_t n, size_t n0, size_t nb, int trans, const float *du,
                           int add, float *dw)
{
    size_t tap[4], mat[9];
    size_t runs = trans ? nb : g->c, len = trans ? g->c : nb;
    for (size_t uv = 0; uv < 4; uv++)
        for (size_t r = 0; r < runs; r++) {
            filter_offsets(g, n, n0, nb, trans, uv, trans ? 0 : r, trans ? r : 0, tap, mat);
            filter_run_adjoint(du + mat[0], du + mat[1], du + mat[2], du + mat[3], du + mat[4], du + mat[5], du + mat[6],
                               du + mat[7], du + mat[8], dw + tap[0], dw + tap[1], dw + tap[2], dw + tap[3], len, add);
        }
}

/* -------------------------------------------------------------------- input */

/* Tile q's place: image, tile row, tile column. */
static void tile_of(const gan__conv_geom *g, size_t q, size_t *b, size_t *ty, size_t *tx)
{
    size_t tw = g->ow / 2, tpi = tiles_per_image(g);
    *b = q / tpi;
    *ty = q % tpi / tw;
    *tx = q % tpi % tw;
}

/* Where the 3x3 input pixels of tile q's phase (u, v) start in the batch's images:
 * PADDING where the padding is. */
enum { PADDING = -1 };
static void input_offsets(const gan__conv_geom *g, size_t q, size_t uv, size_t at[9])
{
    size_t b, ty, tx;
    tile_of(g, q, &b, &ty, &tx);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            /* P row i of the phase is image row 2i + u - 1 (padding 1). */
            size_t yr = 4 * ty + 2 * i + (uv >> 1), xc = 4 * tx + 2 * j + (uv & 1); /* plus 1 */
            int inside = yr >= 1 && yr <= g->h && xc >= 1 && xc <= g->w;
            at[i * 3 + j] = inside ? ((b * g->h + yr - 1) * g->w + xc - 1) * g->c : (size_t)PADDING;
        }
}

/* o[9] = B^T s[9] B over len channels. */
static void input_run(const float *restrict d00, const float *restrict d01, const float *restrict d02,
                      const float *restrict d10, const float *restrict d11, const float *restrict d12,
                      const float *restrict d20, const float *restrict d21, const float *restrict d22,
                      float *restrict v0, float *restrict v1, float *restrict v2, float *restrict v3,
                      float *restrict v4, float *restrict v5, float *restrict v6, float *restrict v7,
                      float *restrict v8, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float e00 = d00[i] - d10[i], e01 = d01[i] - d11[i], e02 = d02[i] - d12[i]; /* along rows */
        float e10 = d10[i], e11 = d11[i], e12 = d12[i];
        float e20 = d20[i] - d10[i], e21 = d21[i] - d11[i], e22 = d22[i] - d12[i];
        v0[i] = e00 - e01, v1[i] = e01, v2[i] = e02 - e01;
        v3[i] = e10 - e11, v4[i] = e11, v5[i] = e12 - e11;
        v6[i] = e20 - e21, v7[i] = e21, v8[i] = e22 - e21;
    }
}

/* o[9] = B s[9] B^T over len channels. */
static void input_run_adjoint(const float *restrict v0, const float *restrict v1, const float *restrict v2,
                              const float *restrict v3, const float *restrict v4, const float *restrict v5,
                              const float *restrict v6, const float *restrict v7, const float *restrict v8,
                              float *restrict p00, float *restrict p01, float *restrict p02, float *restrict p10,
                              float *restrict p11, float *restrict p12, float *restrict p20, float *restrict p21,
                              float *restrict p22, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float e00 = v0[i], e01 = v1[i] - v0[i] - v2[i], e02 = v2[i]; /* along columns */
        float e10 = v3[i], e11 = v4[i] - v3[i] - v5[i], e12 = v5[i];
        float e20 = v6[i], e21 = v7[i] - v6[i] - v8[i], e22 = v8[i];
        p00[i] = e00, p01[i] = e01, p02[i] = e02;
        p10[i] = e10 - e00 - e20, p11[i] = e11 - e01 - e21, p12[i] = e12 - e02 - e22;
        p20[i] = e20, p21[i] = e21, p22[i] = e22;
    }
}

/* V of tiles q0 .. q1-1 of the batch img (h x w x C images). */
static void input(const gan__conv_geom *g, const float *img, size_t q0, size_t q1, float *v)
{
    static const float zero[BLOCK];
    size_t C = g->c, T = q1 - q0;
    for (size_t q = q0; q < q1; q++)
        for (size_t uv = 0; uv < 4; uv++) {
            size_t at[9];
            input_offsets(g, q, uv, at);
            for (size_t c0 = 0; c0 < C; c0 += BLOCK) {
                const float *s[9];
                float *o[9];
                for (int k = 0; k < 9; k++) {
                    s[k] = at[k] == (size_t)PADDING ? zero : img + at[k] + c0;
                    o[k] = v + (k * T + q - q0) * 4 * C + uv * C + c0;
                }
                input_run(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], o[0], o[1], o[2], o[3], o[4], o[5], o[6],
                          o[7], o[8], C - c0 < BLOCK ? C - c0 : BLOCK);
            }
        }
}

/* The adjoint: dV's gradient added to img (padding dropped); img is not cleared. */
static void input_adjoint(const gan__conv_geom *g, const float *dv, size_t q0, size_t q1, float *img)
{
    float p[9][BLOCK];
    float *o[9];
    for (int k = 0; k < 9; k++) o[k] = p[k];
    size_t C = g->c, T = q1 - q0;
    for (size_t q = q0; q < q1; q++)
        for (size_t uv = 0; uv < 4; uv++) {
            size_t at[9];
            input_offsets(g, q, uv, at);
            for (size_t c0 = 0; c0 < C; c0 += BLOCK) {
                size_t len = C - c0 < BLOCK ? C - c0 : BLOCK;
                const float *s[9];
                for (int k = 0; k < 9; k++) s[k] = dv + (k * T + q - q0) * 4 * C + uv * C + c0;
                input_run_adjoint(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], o[0], o[1], o[2], o[3], o[4],
                                  o[5], o[6], o[7], o[8], len);
                for (int k = 0; k < 9; k++) {
                    if (at[k] == (size_t)PADDING) continue;
                    float *restrict to = img + at[k] + c0;
                    for (size_t i = 0; i < len; i++) to[i] += p[k][i];
                }
            }
        }
}

/* ------------------------------------------------------------------- output */

/* Where the 2x2 output pixels of tile q are, at channel n0 of n. */
static void output_offsets(const gan__conv_geom *g, size_t n, size_t n0, size_t q, size_t at[4])
{
    size_t b, ty, tx;
    tile_of(g, q, &b, &ty, &tx);
    for (size_t r = 0; r < 2; r++)
        for (size_t s = 0; s < 2; s++) at[r * 2 + s] = ((b * g->oh + 2 * ty + r) * g->ow + 2 * tx + s) * n + n0;
}

/* y[4] = b + A^T s[9] A over len channels. */
static void output_run(const float *restrict s0, const float *restrict s1, const float *restrict s2,
                       const float *restrict s3, const float *restrict s4, const float *restrict s5,
                       const float *restrict s6, const float *restrict s7, const float *restrict s8,
                       const float *restrict b, float *restrict y00, float *restrict y01, float *restrict y10,
                       float *restrict y11, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float h00 = s0[i] + s1[i], h01 = s1[i] + s2[i]; /* along columns: h[alpha][s] */
        float h10 = s3[i] + s4[i], h11 = s4[i] + s5[i];
        float h20 = s6[i] + s7[i], h21 = s7[i] + s8[i];
        y00[i] = b[i] + (h00 + h10), y01[i] = b[i] + (h01 + h11);
        y10[i] = b[i] + (h10 + h20), y11[i] = b[i] + (h11 + h21);
    }
}

/* o[9] = A y[4] A^T over len channels. */
static void output_run_adjoint(const float *restrict y00, const float *restrict y01, const float *restrict y10,
                               const float *restrict y11, float *restrict o0, float *restrict o1, float *restrict o2,
                               float *restrict o3, float *restrict o4, float *restrict o5, float *restrict o6,
                               float *restrict o7, float *restrict o8, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        float c00 = y00[i], c10 = y00[i] + y10[i], c20 = y10[i]; /* along rows, column s = 0 */
        float c01 = y01[i], c11 = y01[i] + y11[i], c21 = y11[i]; /* column s = 1 */
        o0[i] = c00, o1[i] = c00 + c01, o2[i] = c01;
        o3[i] = c10, o4[i] = c10 + c11, o5[i] = c11;
        o6[i] = c20, o7[i] = c20 + c21, o8[i] = c21;
    }
}

/* Channels n0 .. n0+nb-1 of the output tiles q0 .. q1-1 (of N = n) from M ([9][T][nb])
 * into y: bias + the tile, or the tile alone when bias is NULL. */
static void output(const gan__conv_geom *g, size_t n, size_t n0, size_t nb, const float *m, size_t q0, size_t q1,
                   const float *bias, float *y)
{
    static const float zero[BLOCK];
    size_t T = q1 - q0;
    for (size_t q = q0; q < q1; q++) {
        size_t at[4];
        const float *s[9];
        output_offsets(g, n, n0, q, at);
        for (int k = 0; k < 9; k++) s[k] = m + (k * T + q - q0) * nb;
        for (size_t i0 = 0; i0 < nb; i0 += BLOCK)
            output_run(s[0] + i0, s[1] + i0, s[2] + i0, s[3] + i0, s[4] + i0, s[5] + i0, s[6] + i0, s[7] + i0,
                       s[8] + i0, bias ? bias + n0 + i0 : zero, y + at[0] + i0, y + at[1] + i0, y + at[2] + i0,
                       y + at[3] + i0, nb - i0 < BLOCK ? nb - i0 : BLOCK);
    }
}

/* The adjoint: dM ([9][T][nb]) of channels n0 .. n0+nb-1 of the tiles q0 .. q1-1 of dy. */
static void output_adjoint(const gan__conv_geom *g, size_t n, size_t n0, size_t nb, const float *dy, size_t q0,
                           size_t q1, float *dm)
{
    size_t T = q1 - q0;
    for (size_t q = q0; q < q1; q++) {
        size_t at[4];
        float *o[9];
        output_offsets(g, n, n0, q, at);
        for (int k = 0; k < 9; k++) o[k] = dm + (k * T + q - q0) * nb;
        output_run_adjoint(dy + at[0], dy + at[1], dy + at[2], dy + at[3], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], nb);
    }
}

/* ------------------------------------------------------------------ passes */

/* Bytes of U (a block of output channels) and of V and M (a chunk of tiles), at most. */
enum { U_BYTES = 20 << 20, CHUNK_BYTES = 6 << 20, MIN_TILES = 256 };

int gan__wino_plan(gan__wino *w, const gan__conv_geom *g, size_t n)
{
    w->g = *g;
    w->n = n;
    if (!(g->k == 4 && g->stride == 2 && g->pad == 1 && g->h == 2 * g->oh && g->w == 2 * g->ow && g->oh % 2 == 0 &&
          g->ow % 2 == 0 && g->c >= 16 && n >= 16))
        return 0;
    size_t per_column = 9 * 4 * g->c, fit = U_BYTES / sizeof(float) / per_column;
    w->nb = fit >= n ? n : fit >= 16 ? fit / 16 * 16 : 16; /* whole blocks of 16 for the gemm's kernels */
    fit = CHUNK_BYTES / sizeof(float) / (9 * (4 * g->c + w->nb));
    w->tile_chunk = fit > MIN_TILES ? fit : MIN_TILES; /* fewer rows make the products slow */
    return 1;
}

static size_t chunk_for(const gan__wino *w, size_t batch)
{
    size_t all = batch * tiles_per_image(&w->g);
    return all < w->tile_chunk ? all : w->tile_chunk;
}

size_t gan__wino_scratch(const gan__wino *w, size_t batch)
{
    return 9 * 4 * w->g.c * w->nb + chunk_for(w, batch) * 9 * (4 * w->g.c + w->nb);
}

/* The nine products, one per transformed point xi: C_xi = op(A_xi) op(B_xi) (+ beta
 * C_xi), each operand's matrices `step` floats apart. */
static void gemms(int ta, int tb, size_t m, size_t n, size_t k, const float *a, size_t lda, size_t a_step,
                  const float *b, size_t ldb, size_t b_step, float beta, float *c, size_t ldc, size_t c_step)
{
    for (size_t xi = 0; xi < 9; xi++)
        gan__gemm(ta, tb, m, n, k, 1.0f, a + xi * a_step, lda, b + xi * b_step, ldb, beta, c + xi * c_step, ldc);
}

/* The scratch of a block of nb output channels and a chunk of T tiles: U, V ([9][T][4C]),
 * M ([9][T][nb]). */
typedef struct { float *u, *v, *m; size_t c4, nb, T; } parts;

static parts split(const gan__wino *w, size_t nb, size_t T, float *scratch)
{
    parts p = {scratch, scratch + 9 * 4 * w->g.c * w->nb, NULL, 4 * w->g.c, nb, T};
    p.m = p.v + 9 * T * p.c4;
    return p;
}

/* Output channels in a block that starts at n0. */
static size_t block_at(const gan__wino *w, size_t n0) { return w->n - n0 < w->nb ? w->n - n0 : w->nb; }

/* Each pass takes blocks of output channels outside (U made once per block) and chunks
 * of tiles inside. */
void gan__wino_forward(const gan__wino *w, int trans, const float *weights, const float *img, size_t batch,
                       const float *bias, float *out, float *scratch)
{
    size_t total = batch * tiles_per_image(&w->g), step = chunk_for(w, batch);
    for (size_t n0 = 0; n0 < w->n; n0 += w->nb) {
        size_t nb = block_at(w, n0);
        filter(&w->g, w->n, n0, nb, trans, weights, scratch);
        for (size_t q0 = 0; q0 < total; q0 += step) {
            parts p = split(w, nb, total - q0 < step ? total - q0 : step, scratch);
            input(&w->g, img, q0, q0 + p.T, p.v);
            gemms(0, trans, p.T, nb, p.c4, p.v, p.c4, p.T * p.c4, p.u, trans ? p.c4 : nb, p.c4 * nb, 0.0f, p.m, nb,
                  p.T * nb);
            output(&w->g, w->n, n0, nb, p.m, q0, q0 + p.T, bias, out);
        }
    }
}

void gan__wino_adjoint(const gan__wino *w, int trans, const float *weights, const float *grad, size_t batch,
                       float *img, float *scratch)
{
    size_t total = batch * tiles_per_image(&w->g), step = chunk_for(w, batch);
    for (size_t n0 = 0; n0 < w->n; n0 += w->nb) {
        size_t nb = block_at(w, n0);
        filter(&w->g, w->n, n0, nb, trans, weights, scratch);
        for (size_t q0 = 0; q0 < total; q0 += step) {
            parts p = split(w, nb, total - q0 < step ? total - q0 : step, scratch);
            output_adjoint(&w->g, w->n, n0, nb, grad, q0, q0 + p.T, p.m);
            gemms(0, !trans, p.T, p.c4, nb, p.m, nb, p.T * nb, p.u, trans ? p.c4 : nb, p.c4 * nb, 0.0f, p.v, p.c4,
                  p.T * p.c4);
            input_adjoint(&w->g, p.v, q0, q0 + p.T, img);
        }
    }
}

void gan__wino_weight_grad(const gan__wino *w, int trans, const float *img, const float *grad, size_t batch,
                           int add, float *dw, float *scratch)
{
    size_t total = batch * tiles_per_image(&w->g), step = chunk_for(w, batch);
    for (size_t n0 = 0; n0 < w->n; n0 += w->nb) {
        size_t nb = block_at(w, n0);
        for (size_t q0 = 0; q0 < total; q0 += step) {
            parts p = split(w, nb, total - q0 < step ? total - q0 : step, scratch);
            input(&w->g, img, q0, q0 + p.T, p.v);
            output_adjoint(&w->g, w->n, n0, nb, grad, q0, q0 + p.T, p.m);
            float beta = q0 > 0 ? 1.0f : 0.0f; /* the block's dU, summed over the chunks */
            if (trans) gemms(1, 0, nb, p.c4, p.T, p.m, nb, p.T * nb, p.v, p.c4, p.T * p.c4, beta, p.u, p.c4, nb * p.c4);
            else gemms(1, 0, p.c4, nb, p.T, p.v, p.c4, p.T * p.c4, p.m, nb, p.T * nb, beta, p.u, nb, p.c4 * nb);
        }
        filter_adjoint(&w->g, w->n, n0, nb, trans, scratch, add, dw);
    }
}
