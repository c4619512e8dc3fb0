/* The trainer's layout, shared with the serializer (checkpoints save its settings,
 * streams and EMA). */
#ifndef GAN_TRAINER_IMPL_H
#define GAN_TRAINER_IMPL_H

#include "augment_impl.h"
#include "gan.h"
#include "layer_impl.h"
#include "net_impl.h"
#include "optim_impl.h"
#include "rng_impl.h"

enum { NOISE_CUSTOM, NOISE_UNIFORM, NOISE_NORMAL };

/* What a failed step puts back: a net's parameters (when it takes several updates) and
 * its optimizer's state. */
typedef struct {
    float *params;
    gan__optim_mark opt;
} snapshot;

/* A borrowed net as the trainer first saw it: a net whose layout moved on since is
 * refused (gan__trainer_check_nets). */
typedef struct net_seen {
    uint64_t layout;
    size_t n_layers, n_params;
} net_seen;

struct gan_trainer {
    gan_net *g, *d;
    gan_optim *opt_g, *opt_d;
    net_seen g_seen, d_seen;
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
    int d_coupled; /* D's layers couple the rows of a batch: real and fake rows in two passes */
    float real_target, clip, ema_decay;
    /* Gradient penalty (gan_trainer_set_gradient_penalty): its kind, weight and lazy
     * interval; fresh: the step under way computed it (its statistics are shared). */
    int penalty, penalty_fresh;
    float penalty_weight;
    uint32_t penalty_interval;
    gan__augment augment; /* gan_trainer_set_augment: its policy (0: off) and the images' shape */
    int generate_stats; /* gan_norm_stats: what batch norm in G uses when generating */
    float *ema; /* G's averaged weights, when ema_decay > 0 */
    uint64_t ema_from; /* G's weights_set when the average started: G's later weights restart it */
    uint64_t steps;
    gan_step_stats stats; /* the last step's, in full */
    /* A step of several updates is all or nothing: the state before it, to restore. */
    snapshot snap_d, snap_g;
    float *snap_ema;
    float *snap_state; /* G's state then D's: running statistics move in every training pass */
    float *d_next; /* D's staged parameters when a step updates D once */
    gan__arena arena; /* G's and D's gradients in flight and scratch, during the trainer's calls */
    gan_rng snap_rng[4];
    /* Data-parallel training (comm.c): the collectives (ranks 1 without), and this rank's
     * rows of the step under way (global 0 outside a step, or on one rank). */
    gan_comm comm;
    gan__rows part;
    /* Workspaces carved from one block of `cap` floats. The callbacks fill x_all, cond_all
     * and z_all, the whole batch on every rank; x_real, cond and z are this rank's rows. */
    float *block;
    size_t cap;
    float *x_all, *cond_all, *z_all;
    float *x_real, *cond, *z, *g_in, *x_fake, *d_in, *logits, *dlogits, *d_dx, *g_dy;
    /* The penalty's (with one only): its rows and their input gradients, the rows a step
     * along it, D's logits and their gradients, and WGAN-GP's weights for the whole batch. */
    float *pen_x, *pen_grad, *pen_plus, *pen_logits, *pen_dy, *pen_mix;
    /* The augmentation's (with one only): the draws of the last real and fake rows D took,
     * GAN__AUGMENT_DRAWS per row of the whole batch each, and one image to move rows in. */
    float *aug_real, *aug_fake, *aug_image;
};

/* GAN_ESTATE, naming the net and what changed, when G or D is no longer the net the
 * trainer was created with (a layer added since). Every call that touches memory sized
 * for the nets checks it first. The message names no public function. */
int gan__trainer_check_nets(const gan_trainer *t);

/* More than one rank trains (gan_trainer_set_comm). */
static inline int gan__distributed(const gan_trainer *t) { return t->comm.ranks > 1; }

/* The EMA of G's weights as it stands: the average, or G's own weights when they were
 * set (gan_net_init, a load) after the average started, which the next step restarts
 * from. */
const float *gan__trainer_ema(const gan_trainer *t);

/* The settings' bounds, shared by the setters and the checkpoint loader. Each returns
 * GAN_OK or GAN_EINVAL with a message that names no function. */
int gan__check_batch(uint64_t batch);
int gan__check_update_count(uint64_t count, const char *what);
int gan__check_update_mode(uint64_t mode);
int gan__check_loss(uint64_t loss);
int gan__check_real_target(float target);
int gan__check_clip(float clip);
int gan__check_ema_decay(float decay);
int gan__check_noise_scale(float scale);
int gan__check_generate_stats(uint64_t stats);
int gan__check_penalty(uint64_t kind, float weight, uint64_t interval);
int gan__check_augment(uint64_t policy);
/* The images the augmentation transforms: a's shape from the nets, with `policy`; GAN_EINVAL
 * with a message when the data rows are not images. */
int gan__trainer_augment_shape(const gan_trainer *t, unsigned policy, gan__augment *a);

#endif
