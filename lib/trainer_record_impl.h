/* The trainer's settings in a checkpoint (docs/file-format.md, TSET and the older TRNR):
 * lib/trainer_record.c encodes, decodes, checks and commits them; serial.c frames the
 * chunk and puts it in its place among the others. */
#ifndef GAN_TRAINER_RECORD_IMPL_H
#define GAN_TRAINER_RECORD_IMPL_H

#include "augment_impl.h"
#include "gan.h"

#include <stddef.h>
#include <stdint.h>

/* Settings decoded from a file and checked against the trainer they will go into. */
typedef struct gan__trainer_settings {
    size_t batch, cond_dim;
    uint64_t steps;
    unsigned d_steps, g_steps;
    int update, loss, noise_kind, generate_stats, penalty;
    float penalty_weight;
    uint32_t penalty_interval;
    gan__augment augment;
    float real_target, clip, ema_decay, noise_scale;
    float *ema; /* set by reserve: G's averaged weights, when the trainer has no buffer yet */
} gan__trainer_settings;

/* At least the length of any TSET payload this version writes (a caller's buffer). */
enum { GAN__TRAINER_SETTINGS_CAP = 512 };

/* The TSET payload of t's settings into out (NULL: nothing written), its length returned. */
size_t gan__trainer_settings_encode(const gan_trainer *t, uint8_t *out);

/* Decode a TSET payload, or (fixed) a TRNR payload of older files, for trainer t: every
 * value passes the check its setter uses (gan__check_batch and the others in
 * trainer_impl.h), the condition size fits t's nets as gan_trainer_set_cond_dim
 * requires, and a checkpoint trained with a custom noise callback needs one on t
 * (GAN_ESTATE). Otherwise GAN_EFORMAT, or GAN_EVERSION for a required entry this version
 * does not know; the messages name no function. Nothing is allocated. */
int gan__trainer_settings_decode(gan__trainer_settings *s, const gan_trainer *t, const uint8_t *p, size_t len);
int gan__trainer_settings_decode_fixed(gan__trainer_settings *s, const gan_trainer *t, const uint8_t *p,
                                       size_t len);

/* The EMA decay the settings hold: 0 when the EMA is off (then the file has no EMA
 * chunk; otherwise it must have one). */
float gan__trainer_settings_ema(const gan__trainer_settings *s);

/* G's averaged weights as a checkpoint holds them (gan__trainer_ema), or NULL when the
 * EMA is off. */
const float *gan__trainer_ema_values(const gan_trainer *t);

/* Allocate what the commit needs (GAN_ENOMEM); release frees it when no commit follows. */
int gan__trainer_settings_reserve(gan__trainer_settings *s, const gan_trainer *t);
void gan__trainer_settings_release(gan__trainer_settings *s);

/* Put decoded, reserved settings into t, once G's parameters are in place (the EMA
 * restarts from what they were set to). A built-in noise replaces whatever noise t had;
 * a custom one is kept. Returns the buffer of G's averaged weights for the caller to
 * fill (G's parameter count of floats), or NULL when the EMA is off. Cannot fail. */
float *gan__trainer_settings_commit(gan__trainer_settings *s, gan_trainer *t);

#endif
