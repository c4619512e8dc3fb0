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
};

/* One step that also reports the gradient's L2 norm. A non-finite gradient
 * returns GAN_EDIVERGED before anything changes. */
int gan__optim_step_norm(gan_optim *opt, gan_net *net, double *grad_norm);

#endif
