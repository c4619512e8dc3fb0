/* The optimizer's layout, shared with the trainer (schedules), and its record in a
 * checkpoint, which serial.c frames. */
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

/* The optimizer's record in a checkpoint (docs/file-format.md, OPTM): the bytes after
 * the chunk's role, which serial.c writes. A fixed head (kind, Nesterov flag, reserved,
 * lr, momentum or beta1, beta2, eps, steps, n), then n x slots state floats. */
enum { GAN__OPTIM_RECORD_HEAD = 44 };

/* The head into out (NULL: nothing written), its length returned. */
size_t gan__optim_encode(const gan_optim *opt, uint8_t *out);

/* The state floats that follow the head, *count of them (0 and NULL before the first
 * step). */
const float *gan__optim_values(const gan_optim *opt, size_t *count);

/* GAN_ESTATE when the optimizer holds state for a net of another size than `net`: such
 * a checkpoint could not be restored, so it is not written. */
int gan__optim_check_savable(const gan_optim *opt, const gan_net *net);

/* A record decoded and checked against the optimizer it will go into. */
typedef struct gan__optim_record {
    float lr, momentum, beta2, eps;
    int nesterov;
    uint64_t steps;
    size_t n;             /* parameters the state covers: 0 or the net's count */
    const uint8_t *state; /* n x slots little-endian floats, in the caller's bytes */
    float *fresh;         /* set by reserve when the live state cannot take them */
} gan__optim_record;

/* Decode the record p[0..len) for `live`, whose net has n_params parameters: its kind
 * must be live's, its hyperparameters pass the constructors' checks (gan__check_lr and
 * the others), its state is for n_params parameters (or none) and fills the record
 * exactly. GAN_EFORMAT with a message that names no function. r->state points into p. */
int gan__optim_decode(gan__optim_record *r, const gan_optim *live, size_t n_params, const uint8_t *p, size_t len);

/* Allocate what the commit needs (GAN_ENOMEM); release frees it when no commit follows. */
int gan__optim_reserve(gan__optim_record *r, const gan_optim *live);
void gan__optim_release(gan__optim_record *r);

/* Put a decoded, reserved record into `live`, its state now `net`'s. Cannot fail. */
void gan__optim_commit(gan__optim_record *r, gan_optim *live, const gan_net *net);

#endif
