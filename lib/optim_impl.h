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

/* A step in two halves, so a caller can check several updates before applying any.
 * prepare sizes the state and refuses (GAN_EDIVERGED) a non-finite gradient or an
 * update that would overflow; it reports the gradient's L2 norm. apply cannot fail. */
int gan__optim_prepare(gan_optim *opt, gan_net *net, double *grad_norm);
void gan__optim_apply(gan_optim *opt, gan_net *net);

/* A step that can be taken back, for a caller that applies one update before it knows
 * whether a later one succeeds (the trainer's alternating step: D's update, then G's).
 * It replaces a snapshot of the parameters and the state with one spare parameter
 * buffer, and the snapshot copy, dry run and update with two passes:
 *
 *   stage    checks like prepare and writes the new parameters into *spare (n floats)
 *            in the same pass, then lends that buffer to the net as its parameters: the
 *            net computes with the new ones, *spare holds the old, the optimizer's state
 *            and step count are as before. On failure (GAN_EDIVERGED) nothing changed.
 *   commit   completes the step in one pass: the state update, and the new parameters
 *            copied into the net's own buffer, which it gets back (gan_net_params() is
 *            the same pointer as before stage). It reads the net's gradient, which
 *            must not change between stage and commit.
 *   unstage  takes the step back: the net gets its own buffer, with the old
 *            parameters, back.
 *
 * The parameters may be changed between stage and commit (weight clipping): commit
 * keeps the changes, unstage drops them. None of the three allocates. */
int gan__optim_stage(gan_optim *opt, gan_net *net, float **spare, double *grad_norm);
void gan__optim_commit(gan_optim *opt, gan_net *net, float **spare);
void gan__optim_unstage(gan_optim *opt, gan_net *net, float **spare);

/* Floats of state per parameter. */
size_t gan__optim_slots(const gan_optim *opt);

#endif
