/* Gradient penalties (docs/trainer.md): a penalty on the norm of D's input gradient and
 * its gradient with respect to D's parameters, for the trainer and the tests. */
#ifndef GAN_PENALTY_IMPL_H
#define GAN_PENALTY_IMPL_H

#include "net_impl.h"

/* The rows and workspaces of one penalty: x holds `rows` rows of `width` values whose
 * first `data` are differentiated (the rest, a condition, are held); grad and plus are
 * rows x width, logits and dy rows. x is overwritten. */
typedef struct gan__penalty_rows {
    float *x, *grad, *plus, *logits, *dy;
    size_t rows, width, data;
} gan__penalty_rows;

/* P = scale * sum_i phi(|g_i|) with g_i the data part of grad_x of net's output at depth
 * (one value per row), phi(n) = (n - 1)^2 for GAN_PENALTY_WGAN_GP and n^2 / 2 for
 * GAN_PENALTY_R1: its gradient is added to the net's parameter gradients. *value is
 * P / (scale * rows) (the mean of phi), *norm the mean of |g_i|. The net must hold its
 * choices (gan__net_hold). Messages name no function. */
int gan__penalty_add(gan_net *net, size_t depth, int kind, double scale, const gan__penalty_rows *r, double *value,
                     double *norm);

#endif
