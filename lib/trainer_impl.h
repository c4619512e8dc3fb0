/* The trainer's layout, shared with the serializer (checkpoints save its settings,
 * streams and EMA). */
#ifndef GAN_TRAINER_IMPL_H
#define GAN_TRAINER_IMPL_H

#include "gan.h"
#include "rng_impl.h"

enum { NOISE_CUSTOM, NOISE_UNIFORM, NOISE_NORMAL };

/* What a failed step puts back: a net's parameters and its optimizer's state. */
typedef struct {
    float *params, *state;
    uint64_t steps;
    int had_state;
} snapshot;

struct gan_trainer {
    gan_net *g, *d;
    gan_optim *opt_g, *opt_d;
    gan_rng *rng[4];
    gan_data_fn data_fn;
    void *data_payload;
    gan_noise_fn noise_fn;
    void *noise_payload;
    int noise_kind;
    float noise_scale;
    size_t batch, cond_dim;
    unsigned d_steps, g_steps;
    int update, loss;
    float real_target, clip, ema_decay;
    float *ema; /* G's averaged weights, when ema_decay > 0 */
    uint64_t steps;
    gan_step_stats stats; /* the last step's, in full */
    /* A step of several updates is all or nothing: the state before it, to restore. */
    snapshot snap_d, snap_g;
    float *snap_ema;
    float *d_next; /* D's staged parameters when a step updates D once */
    gan_rng snap_rng[4];
    /* Workspaces carved from one block of `cap` floats. */
    float *block;
    size_t cap;
    float *x_real, *cond, *z, *g_in, *x_fake, *d_in, *logits, *dlogits, *d_dx, *g_dy;
};

#endif
