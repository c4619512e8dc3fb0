/* The compute seam: the gemms, an eigensolver and the layers' fused elementwise loops. Only
 * kernels.c sees cblas.h and LAPACK; the optimizers' and the distances' loops live with
 * their users (optim.c, distance.c). */
#ifndef GAN_KERNELS_IMPL_H
#define GAN_KERNELS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* C = alpha * op(A) op(B) + beta * C, row-major; op transposes when trans_* is set. */
void gan__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta,
               float *c, size_t ldc);

/* In double, for the metrics' moments: c (m x n) = op(a) op(b), densely packed
 * row-major (a is m x k or k x m, b is k x n or n x k). */
void gan__dgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a, const double *b,
                double *c);
/* The upper triangle of c (n x n) += a^T a for a of k x n, row-major. */
void gan__dsyrk_t(size_t n, size_t k, const double *a, double *c);
/* LAPACK's dsyevd on a symmetric n x n matrix (row-major, upper triangle read): eig gets the
 * eigenvalues in ascending order and, with vectors, a's row i the eigenvector of eig[i].
 * gan__dsyevd_work gives the work sizes; both return LAPACK's info (0: done). */
int gan__dsyevd_work(int vectors, size_t n, size_t *lwork, size_t *liwork);
int gan__dsyevd(int vectors, size_t n, double *a, double *eig, double *work, size_t lwork, int *iwork,
                size_t liwork);

/* The geometry of a convolution over a batch of HWC images (channels last): images of
 * h x w pixels of c channels, a square k x k kernel, stride and zero padding; oh x ow
 * output positions per image, oh = (h + 2 pad - k) / stride + 1 (ow alike). An output
 * position q counts (b, oy, ox) over the batch: q = (b * oh + oy) * ow + ox. A column
 * row holds the k*k*c values position q's window reads, ordered (ky, kx, c), zero where
 * the window lies in the padding. The caller guarantees pad < k and h + 2 pad >= k
 * (every window then overlaps its image). */
typedef struct gan__conv_geom {
    size_t h, w, c;
    size_t k, stride, pad;
    size_t oh, ow;
} gan__conv_geom;

/* col (q1 - q0 rows of k*k*c) = the windows of positions q0 .. q1-1 of the batch img. */
void gan__im2col(const gan__conv_geom *g, const float *img, size_t q0, size_t q1, float *col);
/* The adjoint: every value of the rows of col (positions q0 .. q1-1) is added to the
 * pixel of img it was read from; padding is dropped. img is not cleared. */
void gan__col2im(const gan__conv_geom *g, const float *col, size_t q0, size_t q1, float *img);

/* Every row of y (rows x n) becomes b. */
void gan__rows_set(float *y, const float *b, size_t rows, size_t n);
/* db = (add ? db : 0) + column sums of dy (rows x n). */
void gan__col_sums(float *db, const float *dy, size_t rows, size_t n, int add);

/* Activations by gan_activation code; backward uses the forward output y. Both may run
 * in place (y == x, dx == dy). */
void gan__act_forward(int act, float slope, const float *x, float *y, size_t n);
void gan__act_backward(int act, float slope, const float *y, const float *dy, float *dx, size_t n);

/* A piecewise-linear activation (slope 0 for ReLU) with its sign pattern held
 * (GAN__HOLD, GAN__REPLAY): hold writes mask[i] = x[i] > 0 with y; replay applies a
 * mask it is given; the backward pass follows the mask. Each may run in place. */
void gan__act_hold(float slope, const float *x, float *y, uint8_t *mask, size_t n);
void gan__act_replay(float slope, const float *x, const uint8_t *mask, float *y, size_t n);

/* Maxout over groups of `pieces` adjacent columns of z (rows x units*pieces). The winners
 * (rows x units) are elements of gan__maxout_argmax_size(pieces) bytes. */
void gan__maxout_forward(const float *z, size_t rows, size_t units, size_t pieces, float *y, void *argmax);
/* dz (rows x units*pieces) = dy routed to each unit's winning piece, zero elsewhere. */
void gan__maxout_backward(const float *dy, const void *argmax, size_t rows, size_t units, size_t pieces, float *dz);
size_t gan__maxout_argmax_size(size_t pieces);
/* y = each unit's piece that argmax names (a held choice, GAN__REPLAY). */
void gan__maxout_replay(const float *z, size_t rows, size_t units, size_t pieces, float *y, const void *argmax);

/* n dropout draws from the PCG32 stream (*state, inc), exactly the n calls of
 * gan_rng_uniform(rng) < keep they replace: mask[i] is 1 to keep, 0 to drop, and
 * *state moves on by n steps. */
void gan__dropout_mask(uint8_t *mask, size_t n, uint64_t *state, uint64_t inc, float keep);
/* y = x * (mask ? scale : 0); y may be x. */
void gan__dropout_apply(const float *x, const uint8_t *mask, float scale, float *y, size_t n);

#endif
