/* The trainer's settings in a checkpoint (docs/file-format.md): the TSET chunk written
 * today, a list of entries that grows without a new format version, and the fixed
 * 64-byte TRNR chunk of older files, read through the same checks.
 *
 * A TSET entry is a u32 key, a u32 length L and L bytes of value. The key's low 31 bits
 * number the setting; bit 31 marks it required: a reader that does not know the number
 * refuses the file (GAN_EVERSION) when it is set and skips the entry when it is clear.
 * A number this reader knows must carry the bit it is defined with below, hold exactly
 * its length, and appear at most once. Writers put every setting they know, in the
 * order of the numbers; readers take any order. A setting missing from the chunk takes
 * the default in its row (the value that keeps the behaviour of files written before it
 * existed) or, where the row has none, refuses the file.
 *
 * Adding a setting: a row in SETTINGS with a new number, its field in `raw`, its check
 * in check_raw and its assignment in gan__trainer_settings_commit. No format version. */
#include "trainer_record_impl.h"
#include "alloc_impl.h"
#include "bytes_impl.h"
#include "error_impl.h"
#include "net_impl.h"
#include "trainer_impl.h"

#include <stddef.h>
#include <string.h>

/* The values as a file holds them, before any check. */
typedef struct {
    uint64_t batch, cond_dim, steps;
    uint32_t d_steps, g_steps, update, loss, noise, generate_stats, penalty, penalty_interval, augment;
    float real_target, clip, ema_decay, noise_scale, penalty_weight;
} raw;

/* Values of the file's fields, pinned by the format (not the library's enums). */
enum { FILE_NOISE_CUSTOM = 0, FILE_NOISE_UNIFORM = 1, FILE_NOISE_NORMAL = 2 };

#define REQUIRED 0x80000000u /* bit 31 of a key */
enum { ENTRY_HEAD = 8, TRNR_SIZE = 64, MAX_FIELDS = 3 };

typedef enum { U32, U64, F32 } field_type;

/* What a chunk without a setting's entry means: the file is refused, or the setting takes
 * its value in defaults() below. A setting that is OMITTED_AT_DEFAULT is also left out by
 * writers while it has that value: a file that does not use it stays what builds before
 * the setting wrote and read, and one that does is refused by them (it is required). */
typedef enum { IF_MISSING_REFUSE, IF_MISSING_DEFAULT, OMITTED_AT_DEFAULT } if_missing;

/* One setting: its key (number and required bit), what a chunk without it means, and its
 * fields in order. Number 0 is never used. */
typedef struct {
    uint32_t key;
    const char *name;
    if_missing missing;
    size_t n_fields;
    field_type type[MAX_FIELDS];
    size_t off[MAX_FIELDS];
} setting;

#define ONE(type, field) 1, {type}, {offsetof(raw, field)}
static const setting SETTINGS[] = {
    {1 | REQUIRED, "batch size", IF_MISSING_REFUSE, ONE(U64, batch)},
    {2 | REQUIRED, "condition size", IF_MISSING_DEFAULT, ONE(U64, cond_dim)},
    {3 | REQUIRED, "steps completed", IF_MISSING_REFUSE, ONE(U64, steps)},
    {4 | REQUIRED, "D steps", IF_MISSING_REFUSE, ONE(U32, d_steps)},
    {5 | REQUIRED, "G steps", IF_MISSING_REFUSE, ONE(U32, g_steps)},
    {6 | REQUIRED, "update", IF_MISSING_REFUSE, ONE(U32, update)},
    {7 | REQUIRED, "loss", IF_MISSING_REFUSE, ONE(U32, loss)},
    {8 | REQUIRED, "real target", IF_MISSING_DEFAULT, ONE(F32, real_target)},
    {9 | REQUIRED, "clip range", IF_MISSING_REFUSE, ONE(F32, clip)},
    {10 | REQUIRED, "EMA decay", IF_MISSING_DEFAULT, ONE(F32, ema_decay)},
    {11 | REQUIRED, "noise", IF_MISSING_REFUSE, 2, {U32, F32}, {offsetof(raw, noise), offsetof(raw, noise_scale)}},
    {12 | REQUIRED, "batch-norm statistics for generation", IF_MISSING_DEFAULT, ONE(U32, generate_stats)},
    {13 | REQUIRED, "gradient penalty", OMITTED_AT_DEFAULT, 3, {U32, F32, U32},
     {offsetof(raw, penalty), offsetof(raw, penalty_weight), offsetof(raw, penalty_interval)}},
    {14 | REQUIRED, "augmentation", OMITTED_AT_DEFAULT, ONE(U32, augment)},
};
#undef ONE
enum { N_SETTINGS = sizeof SETTINGS / sizeof SETTINGS[0] };

/* The settings a chunk may leave out, as gan_trainer_create starts them and as files
 * without them meant: no condition, no label smoothing, no EMA, running statistics. */
static raw defaults(void)
{
    raw r;
    memset(&r, 0, sizeof r);
    r.real_target = 1.0f;
    r.generate_stats = GAN_STATS_RUNNING;
    r.penalty = GAN_PENALTY_NONE;
    r.penalty_interval = 1;
    return r;
}

static size_t field_size(field_type t) { return t == U64 ? 8 : 4; }

/* A field of `raw` at v to its little-endian bytes at p, and back. */
static void put_field(uint8_t *p, field_type t, const void *v)
{
    uint32_t u32;
    uint64_t u64;
    if (t == U64) {
        memcpy(&u64, v, sizeof u64);
        gan__put_u64(p, u64);
    } else { /* a float's bits, as a u32's */
        memcpy(&u32, v, sizeof u32);
        gan__put_u32(p, u32);
    }
}

static void get_field(void *v, field_type t, const uint8_t *p)
{
    if (t == U64) {
        uint64_t u64 = gan__get_u64(p);
        memcpy(v, &u64, sizeof u64);
    } else {
        uint32_t u32 = gan__get_u32(p);
        memcpy(v, &u32, sizeof u32);
    }
}

static size_t value_size(const setting *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_fields; i++) n += field_size(s->type[i]);
    return n;
}

/* ------------------------------------------------------------------ encode */

static raw raw_of(const gan_trainer *t)
{
    raw r;
    memset(&r, 0, sizeof r);
    r.batch = t->batch;
    r.cond_dim = t->cond_dim;
    r.steps = t->steps;
    r.d_steps = t->d_steps;
    r.g_steps = t->g_steps;
    r.update = (uint32_t)t->update;
    r.loss = (uint32_t)t->loss;
    r.real_target = t->real_target;
    r.clip = t->clip;
    r.ema_decay = t->ema ? t->ema_decay : 0.0f;
    r.noise = t->noise_kind == NOISE_UNIFORM  ? FILE_NOISE_UNIFORM
              : t->noise_kind == NOISE_NORMAL ? FILE_NOISE_NORMAL
                                              : FILE_NOISE_CUSTOM;
    r.noise_scale = t->noise_scale;
    r.generate_stats = (uint32_t)t->generate_stats;
    r.penalty = (uint32_t)t->penalty;
    r.penalty_weight = t->penalty_weight;
    r.penalty_interval = t->penalty_interval;
    r.augment = t->augment.policy;
    return r;
}

/* The setting's fields in r hold their defaults. */
static int at_default(const setting *s, const raw *r)
{
    raw d = defaults();
    for (size_t f = 0; f < s->n_fields; f++)
        if (memcmp((const uint8_t *)r + s->off[f], (const uint8_t *)&d + s->off[f], field_size(s->type[f])))
            return 0;
    return 1;
}

size_t gan__trainer_settings_encode(const gan_trainer *t, uint8_t *out)
{
    raw r = raw_of(t);
    const uint8_t *base = (const uint8_t *)&r;
    size_t pos = 0;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const setting *s = &SETTINGS[i];
        if (s->missing == OMITTED_AT_DEFAULT && at_default(s, &r)) continue;
        if (out) {
            gan__put_u32(out + pos, s->key);
            gan__put_u32(out + pos + 4, (uint32_t)value_size(s));
        }
        pos += ENTRY_HEAD;
        for (size_t f = 0; f < s->n_fields; f++) {
            if (out) put_field(out + pos, s->type[f], base + s->off[f]);
            pos += field_size(s->type[f]);
        }
    }
    return pos;
}

/* ------------------------------------------------------------------ decode */

/* A setter's check refused a value: GAN_EFORMAT with its message. */
static int invalid(void)
{
    gan__saved_error inner;
    gan__error_save(&inner);
    return gan__fail(GAN_EFORMAT, "the trainer's settings: %s", inner.message);
}

/* The checks of every setter, then the settings against trainer t. */
static int check_raw(const raw *r, const gan_trainer *t, gan__trainer_settings *s)
{
    if (r->noise > FILE_NOISE_NORMAL) return gan__fail(GAN_EFORMAT, "unknown noise kind %lu", (unsigned long)r->noise);
    int rc = gan__check_batch(r->batch);
    if (!rc) rc = gan__check_update_count(r->d_steps, "k (D updates per step)");
    if (!rc) rc = gan__check_update_count(r->g_steps, "the number of G updates per step");
    if (!rc) rc = gan__check_update_mode(r->update);
    if (!rc) rc = gan__check_loss(r->loss);
    if (!rc) rc = gan__check_real_target(r->real_target);
    if (!rc) rc = gan__check_clip(r->clip);
    if (!rc) rc = gan__check_ema_decay(r->ema_decay);
    if (!rc) rc = gan__check_noise_scale(r->noise_scale);
    if (!rc) rc = gan__check_generate_stats(r->generate_stats);
    if (!rc) rc = gan__check_penalty(r->penalty, r->penalty_weight, r->penalty_interval);
    if (!rc) rc = gan__check_augment(r->augment);
    if (rc) return invalid();
    gan__augment augment;
    if (gan__trainer_augment_shape(t, r->augment, &augment)) return invalid();
    /* A condition must fit the nets, as gan_trainer_set_cond_dim requires; 0 is what a
     * trainer starts with, whatever its nets (it is checked when training starts). */
    size_t g_in = gan_net_in_dim(t->g), g_out = gan_net_out_dim(t->g), d_in = gan_net_in_dim(t->d);
    if (r->cond_dim != 0 && (r->cond_dim >= g_in || d_in != g_out + r->cond_dim))
        return gan__fail(GAN_EFORMAT, "condition size %llu does not fit G (%zu inputs, %zu outputs) and D (%zu inputs)",
                         (unsigned long long)r->cond_dim, g_in, g_out, d_in);
    memset(s, 0, sizeof *s);
    s->batch = (size_t)r->batch;
    s->cond_dim = (size_t)r->cond_dim;
    s->steps = r->steps;
    s->d_steps = (unsigned)r->d_steps;
    s->g_steps = (unsigned)r->g_steps;
    s->update = (int)r->update;
    s->loss = (int)r->loss;
    s->real_target = r->real_target;
    s->clip = r->clip;
    s->ema_decay = r->ema_decay;
    s->noise_kind = r->noise == FILE_NOISE_UNIFORM ? NOISE_UNIFORM
                    : r->noise == FILE_NOISE_NORMAL ? NOISE_NORMAL
                                                    : NOISE_CUSTOM;
    s->noise_scale = r->noise_scale;
    s->generate_stats = (int)r->generate_stats;
    s->penalty = (int)r->penalty;
    s->penalty_weight = r->penalty == GAN_PENALTY_NONE ? 0.0f : r->penalty_weight;
    s->penalty_interval = r->penalty_interval;
    s->augment = augment;
    if (s->noise_kind == NOISE_CUSTOM && t->noise_kind != NOISE_CUSTOM)
        return gan__fail(GAN_ESTATE, "the checkpoint was trained with a custom noise callback: set it on the trainer "
                                     "(gan_trainer_set_noise) before loading");
    return GAN_OK;
}

static const setting *find_setting(uint32_t number)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if ((SETTINGS[i].key & ~(uint32_t)REQUIRED) == number) return &SETTINGS[i];
    return NULL;
}

static void read_value(const setting *s, const uint8_t *p, raw *r)
{
    uint8_t *base = (uint8_t *)r;
    for (size_t f = 0; f < s->n_fields; f++) {
        get_field(base + s->off[f], s->type[f], p);
        p += field_size(s->type[f]);
    }
}

int gan__trainer_settings_decode(gan__trainer_settings *s, const gan_trainer *t, const uint8_t *p, size_t len)
{
    raw r = defaults();
    size_t seen[N_SETTINGS]; /* 1 + the payload byte of each setting's entry, 0 while missing */
    memset(seen, 0, sizeof seen);
    for (size_t pos = 0; pos < len;) {
        if (len - pos < ENTRY_HEAD)
            return gan__fail(GAN_EFORMAT, "the TSET chunk ends with %zu bytes at payload byte %zu, too few for an "
                             "entry", len - pos, pos);
        uint32_t key = gan__get_u32(p + pos), n = gan__get_u32(p + pos + 4), number = key & ~(uint32_t)REQUIRED;
        if (n > len - pos - ENTRY_HEAD)
            return gan__fail(GAN_EFORMAT, "the TSET chunk: setting %lu (payload byte %zu) announces %lu bytes but %zu "
                             "remain", (unsigned long)number, pos, (unsigned long)n, len - pos - ENTRY_HEAD);
        const setting *st = find_setting(number);
        if (!st) {
            if (key & REQUIRED)
                return gan__fail(GAN_EVERSION, "the TSET chunk: setting %lu (payload byte %zu) is required but unknown "
                                 "to libgan %s (a newer version wrote the file?)", (unsigned long)number, pos,
                                 GAN_VERSION_STRING);
            pos += ENTRY_HEAD + n; /* an optional setting of a later version: skipped */
            continue;
        }
        size_t i = (size_t)(st - SETTINGS);
        if (key != st->key)
            return gan__fail(GAN_EFORMAT, "the TSET chunk: the %s entry (payload byte %zu) is %s required", st->name,
                             pos, key & REQUIRED ? "marked" : "not marked");
        if (seen[i])
            return gan__fail(GAN_EFORMAT, "the TSET chunk: the %s entry (payload byte %zu) repeats the one at payload "
                             "byte %zu", st->name, pos, seen[i] - 1);
        if (n != value_size(st))
            return gan__fail(GAN_EFORMAT, "the TSET chunk: the %s entry (payload byte %zu) is %lu bytes, not %zu",
                             st->name, pos, (unsigned long)n, value_size(st));
        read_value(st, p + pos + ENTRY_HEAD, &r);
        seen[i] = pos + 1;
        pos += ENTRY_HEAD + n;
    }
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (!seen[i] && SETTINGS[i].missing == IF_MISSING_REFUSE)
            return gan__fail(GAN_EFORMAT, "the TSET chunk has no %s entry (setting %lu)", SETTINGS[i].name,
                             (unsigned long)(SETTINGS[i].key & ~(uint32_t)REQUIRED));
    return check_raw(&r, t, s);
}

/* TRNR: batch u64, condition u64, steps u64, D steps, G steps, update, loss u32, real
 * target, clip, EMA decay f32, noise u32, noise scale f32, statistics u32. */
int gan__trainer_settings_decode_fixed(gan__trainer_settings *s, const gan_trainer *t, const uint8_t *p,
                                       size_t len)
{
    if (len != TRNR_SIZE) return gan__fail(GAN_EFORMAT, "the TRNR chunk is %zu bytes, not %d", len, TRNR_SIZE);
    raw r = defaults(); /* the settings TRNR has no field for */
    r.batch = gan__get_u64(p);
    r.cond_dim = gan__get_u64(p + 8);
    r.steps = gan__get_u64(p + 16);
    r.d_steps = gan__get_u32(p + 24);
    r.g_steps = gan__get_u32(p + 28);
    r.update = gan__get_u32(p + 32);
    r.loss = gan__get_u32(p + 36);
    r.real_target = gan__get_f32(p + 40);
    r.clip = gan__get_f32(p + 44);
    r.ema_decay = gan__get_f32(p + 48);
    r.noise = gan__get_u32(p + 52);
    r.noise_scale = gan__get_f32(p + 56);
    r.generate_stats = gan__get_u32(p + 60);
    return check_raw(&r, t, s);
}

/* ------------------------------------------------------------------ commit */

float gan__trainer_settings_ema(const gan__trainer_settings *s) { return s->ema_decay; }

const float *gan__trainer_ema_values(const gan_trainer *t) { return t->ema ? gan__trainer_ema(t) : NULL; }

int gan__trainer_settings_reserve(gan__trainer_settings *s, const gan_trainer *t)
{
    s->ema = NULL;
    if (s->ema_decay > 0.0f && !t->ema && !(s->ema = gan__calloc(gan_net_num_params(t->g), sizeof(float))))
        return gan__fail(GAN_ENOMEM, "out of memory");
    return GAN_OK;
}

void gan__trainer_settings_release(gan__trainer_settings *s)
{
    gan__free(s->ema);
    s->ema = NULL;
}

float *gan__trainer_settings_commit(gan__trainer_settings *s, gan_trainer *t)
{
    t->ema_from = t->g->weights_set;
    if (s->ema_decay > 0.0f) {
        if (s->ema) t->ema = s->ema;
        s->ema = NULL;
    } else {
        gan__free(t->ema);
        t->ema = NULL;
    }
    t->ema_decay = s->ema_decay;
    t->cond_dim = s->cond_dim;
    t->batch = s->batch;
    t->d_steps = s->d_steps;
    t->g_steps = s->g_steps;
    t->update = s->update;
    t->loss = s->loss;
    t->real_target = s->real_target;
    t->clip = s->clip;
    t->generate_stats = s->generate_stats;
    t->penalty = s->penalty;
    t->penalty_weight = s->penalty_weight;
    t->penalty_interval = s->penalty_interval;
    t->augment = s->augment;
    t->steps = s->steps;
    /* A built-in noise replaces whatever noise the trainer had; a custom one is kept.
     * The scale was checked by the setters' check: the setters cannot fail here. */
    if (s->noise_kind == NOISE_UNIFORM) (void)gan_trainer_set_noise_uniform(t, s->noise_scale);
    else if (s->noise_kind == NOISE_NORMAL) (void)gan_trainer_set_noise_normal(t, s->noise_scale);
    else t->noise_scale = s->noise_scale;
    return t->ema;
}
