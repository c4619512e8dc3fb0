/* The optimizer's layout, shared with the trainer (schedules) and the serializer. */
#ifndef GAN_OPTIM_IMPL_H
#define GAN_OPTIM_IMPL_H

#include "gan.h"

enum { GAN_OPTIM_SGD = 1, GAN_OPTIM_ADAM = 2 };

struct gan_optim {
    int kind;
    float lr, momentum; /* momentum is beta1 for Adam */
    float beta2, eps;   /* Adam */
    int nesterov;       /* SGD */
    float *state;       /* SGD: velocity; Adam: first then second moments */
    size_t n;           /* parameters the state is sized for; 0 before the first step */
    uint64_t steps;
    const gan_net *net; /* the net the state belongs to, while there is state */
};

/* The hyperparameters' bounds, shared by the constructors, setters and the checkpoint
 * loader: GAN_OK or GAN_EINVAL with a message that names no function. */
int gan__check_lr(float lr);
int gan__check_fraction(float f, const char *what); /* momentum, beta1, beta2: [0, 1) */
int gan__check_eps(float eps);

/* A step in two halves, so a caller can check several updates before applying any.
 * prepare sizes the state and refuses (GAN_EDIVERGED) a non-finite gradient or an
 * update that would overflow; it reports the gradient's L2 norm. With `staged` (NULL
 * or one float per parameter) it also writes there the parameters apply will store,
 * bit for bit, leaving the net and the state alone. apply cannot fail. */
int gan__optim_prepare(gan_optim *opt, gan_net *net, float *staged, double *grad_norm);
void gan__optim_apply(gan_optim *opt, gan_net *net);

/* Floats of state per parameter. */
size_t gan__optim_slots(const gan_optim *opt);

/* A transaction over an optimizer's state, for a trainer's all-or-nothing step: begin
 * records what rollback puts back. Begin checks first that the state fits `net` (none
 * yet, or accumulated for this net and its size) and refuses otherwise, so nothing is
 * ever copied for another net's size. With `full` it copies the state (updates will be
 * applied before the step can fail), into a buffer reserve sized for `net`; without, it
 * only notes whether there was state, since the caller applies no update before the
 * step's last check. Rollback frees state that the step created, so the optimizer is
 * as fresh as before (not tied to a size). */
typedef struct gan__optim_mark {
    float *copy;
    size_t cap; /* floats */
    uint64_t steps;
    int had_state, full;
} gan__optim_mark;

int gan__optim_mark_reserve(gan__optim_mark *m, const gan_optim *opt, const gan_net *net);
int gan__optim_begin(gan__optim_mark *m, const gan_optim *opt, const gan_net *net, int full);
void gan__optim_rollback(const gan__optim_mark *m, gan_optim *opt);
void gan__optim_mark_free(gan__optim_mark *m);

#endif
