/* The compute seam: one gemm and the fused elementwise loops. Only kernels.c sees cblas.h. */
#ifndef GAN_KERNELS_IMPL_H
#define GAN_KERNELS_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* C = alpha * op(A) op(B) + beta * C, row-major; op transposes when trans_* is set. */
void gan__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta,
               float *c, size_t ldc);

/* Every row of y (rows x n) becomes b. */
void gan__rows_set(float *y, const float *b, size_t rows, size_t n);
/* db = (add ? db : 0) + column sums of dy (rows x n). */
void gan__col_sums(float *db, const float *dy, size_t rows, size_t n, int add);

/* Activations by gan_activation code; backward uses the forward output y. Both may run
 * in place (y == x, dx == dy). */
void gan__act_forward(int act, float slope, const float *x, float *y, size_t n);
void gan__act_backward(int act, float slope, const float *y, const float *dy, float *dx, size_t n);

/* Maxout over groups of `pieces` adjacent columns of z (rows x units*pieces). The winners
 * (rows x units) are elements of gan__maxout_argmax_size(pieces) bytes. */
void gan__maxout_forward(const float *z, size_t rows, size_t units, size_t pieces, float *y, void *argmax);
/* dz (rows x units*pieces) = dy routed to each unit's winning piece, zero elsewhere. */
void gan__maxout_backward(const float *dy, const void *argmax, size_t rows, size_t units, size_t pieces, float *dz);
size_t gan__maxout_argmax_size(size_t pieces);

/* n dropout draws from the PCG32 stream (*state, inc), exactly the n calls of
 * gan_rng_uniform(rng) < keep they replace: mask[i] is 1 to keep, 0 to drop, and
 * *state moves on by n steps. */
void gan__dropout_mask(uint8_t *mask, size_t n, uint64_t *state, uint64_t inc, float keep);
/* y = x * (mask ? scale : 0); y may be x. */
void gan__dropout_apply(const float *x, const uint8_t *mask, float scale, float *y, size_t n);

/* Sum of squares accumulated in double: NaN or Inf anywhere makes it non-finite. */
double gan__sum_squares(const float *x, size_t n);

/* out[r] = squared norm of row r of x (rows x dim), accumulated in double. */
void gan__sq_norms(float *out, const float *x, size_t rows, size_t dim);
/* Finish one row of squared distances from d2[j] = -2 x.s_j: d2[j] += xn + sn[j],
 * clamped at 0 (cancellation can make a tiny distance negative). Returns the row's minimum. */
float gan__sq_dist_finish(float *d2, float xn, const float *sn, size_t n);
/* sum_j exp((shift - d2[j]) * scale), accumulated in double, for d2[j] >= shift and
 * 0 <= scale < inf. Each term is within 1e-7 relative; terms under e^-87 count as e^-87,
 * negligible next to the sums of the callers, which hold a term exp(0) = 1. */
double gan__exp_sum(const float *d2, size_t n, float shift, float scale);

/* Dry runs of the two updates: 1 if the gradient and every new value would be finite,
 * 0 otherwise; *grad_sq receives the gradient's sum of squares either way. They let a
 * step refuse an update that would overflow, before writing anything. When p_new is not
 * NULL it receives the new parameters, bit for bit what the update will store: a staged
 * update, while p and the state stay as they are. */
int gan__sgd_finite(const float *p, const float *v, const float *g, size_t n, float lr, float momentum, int nesterov,
                    float *p_new, double *grad_sq);
int gan__adam_finite(const float *p, const float *m, const float *v, const float *g, size_t n, float lr,
                     float beta1, float beta2, float eps, float c1, float c2, float *p_new, double *grad_sq);

/* SGD with classical or Nesterov momentum; v is the velocity. */
void gan__sgd_update(float *p, float *v, const float *g, size_t n, float lr, float momentum, int nesterov);
/* Adam; c1, c2 are the bias corrections 1 - beta^t. */
void gan__adam_update(float *p, float *m, float *v, const float *g, size_t n, float lr,
                      float beta1, float beta2, float eps, float c1, float c2);

#endif
