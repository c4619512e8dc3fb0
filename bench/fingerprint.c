/* fingerprint: what training computes, as one hash per trainer configuration.
 *
 * A refactor that claims to change nothing runs this before and after and compares
 * the lines. Each configuration trains a small conditional-capable GAN with dropout
 * for a few steps, saves a checkpoint and hashes every chunk payload but the nets'
 * architecture records (the only part a new file format version may re-encode), plus
 * samples drawn from the trained G. The trainer's settings are hashed in one layout
 * whichever chunk holds them: the 64 bytes of the TRNR chunk that builds before the TSET
 * chunk wrote, into which the TSET entries are put (docs/file-format.md), so builds on
 * either side of that change give the same lines. Usage: fingerprint [steps] */
#include "gan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"


typedef struct config {
    const char *name;
    int adam, nesterov, loss, update;
    unsigned d_steps, g_steps;
    float ema;
    size_t cond;
} config;

static const config CONFIGS[] = {
    {"sgd", 0, 0, GAN_LOSS_NON_SATURATING, GAN_UPDATE_ALTERNATING, 1, 1, 0.0f, 0},
    {"nesterov", 0, 1, GAN_LOSS_NON_SATURATING, GAN_UPDATE_ALTERNATING, 1, 1, 0.0f, 0},
    {"adam", 1, 0, GAN_LOSS_NON_SATURATING, GAN_UPDATE_ALTERNATING, 1, 1, 0.0f, 0},
    {"wgan-clip", 0, 0, GAN_LOSS_WASSERSTEIN, GAN_UPDATE_ALTERNATING, 1, 1, 0.0f, 0},
    {"g-steps-2", 1, 0, GAN_LOSS_MINIMAX, GAN_UPDATE_ALTERNATING, 1, 2, 0.0f, 0},
    {"ema", 1, 0, GAN_LOSS_LEAST_SQUARES, GAN_UPDATE_ALTERNATING, 1, 1, 0.9f, 0},
    {"cond", 1, 0, GAN_LOSS_HINGE, GAN_UPDATE_ALTERNATING, 1, 1, 0.0f, 3},
    {"d-steps-3", 0, 0, GAN_LOSS_NON_SATURATING, GAN_UPDATE_ALTERNATING, 3, 1, 0.0f, 0},
    {"simultaneous", 1, 0, GAN_LOSS_NON_SATURATING, GAN_UPDATE_SIMULTANEOUS, 1, 1, 0.5f, 0},
};

enum { DATA = 6, NOISE = 4 };

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The TSET chunk's entries (key: setting number and bit 31, length, value) in the TRNR
 * layout: setting k's value at TRNR_AT[k]; a missing one keeps its default. */
static void settings_as_trnr(const uint8_t *p, size_t len, uint8_t out[64])
{
    static const size_t TRNR_AT[13] = {0, 0, 8, 16, 24, 28, 32, 36, 40, 44, 48, 52, 60};
    static const size_t TRNR_LEN[13] = {0, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 8, 4};
    static const uint8_t one[4] = {0x00, 0x00, 0x80, 0x3f}; /* real target 1 */
    memset(out, 0, 64);
    memcpy(out + 40, one, 4);
    for (size_t at = 0; at + 8 <= len; at += 8 + u32(p + at + 4)) {
        uint32_t k = u32(p + at) & 0x7FFFFFFFu, n = u32(p + at + 4);
        if (k < 1 || k > 12 || n != TRNR_LEN[k] || at + 8 + n > len) {
            fprintf(stderr, "fingerprint: a TSET entry this program does not know (setting %lu)\n", (unsigned long)k);
            exit(1);
        }
        memcpy(out + TRNR_AT[k], p + at + 8, n);
    }
}

/* Every chunk payload but NET (docs/file-format.md: 20-byte header, 16-byte chunk heads),
 * the settings in the TRNR layout. */
static uint64_t hash_checkpoint(const uint8_t *b, size_t size)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t pos = 20; pos + 20 <= size;) {
        uint32_t type = u32(b + pos);
        size_t len = (size_t)u32(b + pos + 8) | (size_t)u32(b + pos + 12) << 32;
        if (type == 0x54455354u) { /* 'TSET' */
            uint8_t trnr[64];
            settings_as_trnr(b + pos + 16, len, trnr);
            h = fnv(h, trnr, sizeof trnr);
        } else if (type != 0x2054454eu) { /* not 'NET ' */
            h = fnv(h, b + pos + 16, len);
        }
        pos += 16 + len + 4;
    }
    return h;
}

/* Real rows: DATA values around a per-class centre; the class one-hot as the condition. */
static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    size_t c = *(const size_t *)payload;
    for (size_t i = 0; i < batch; i++) {
        size_t k = c ? (size_t)(gan_rng_uniform(rng) * (float)c) % c : 0;
        for (size_t j = 0; j < DATA; j++) x[i * DATA + j] = (float)k + 0.3f * gan_rng_normal(rng) + 0.1f * (float)j;
        for (size_t j = 0; j < c; j++) cond[i * c + j] = j == k ? 1.0f : 0.0f;
    }
    return 0;
}

/* Make a layer into l, then move it into net n. */
#define ADD(n, make)              \
    do {                          \
        CHECK(make);                \
        CHECK(gan_net_add((n), l)); \
    } while (0)

static uint64_t run(const config *cf, unsigned steps)
{
    gan_net *g, *d;
    gan_layer *l;
    gan_optim *og, *od;
    gan_trainer *t;
    CHECK(gan_net_create(&g, NOISE + cf->cond));
    ADD(g, gan_layer_dense(&l, NOISE + cf->cond, 16));
    ADD(g, gan_layer_leaky_relu(&l, 0.2f));
    ADD(g, gan_layer_dense(&l, 16, DATA));
    CHECK(gan_net_create(&d, DATA + cf->cond));
    ADD(d, gan_layer_dropout(&l, 0.8f));
    ADD(d, gan_layer_maxout(&l, DATA + cf->cond, 8, 3));
    ADD(d, gan_layer_dropout(&l, 0.5f));
    ADD(d, gan_layer_dense(&l, 8, 1));
    ADD(d, gan_layer_activation(&l, GAN_ACT_SIGMOID));
    if (cf->adam) {
        CHECK(gan_optim_adam(&og, 2e-3f, 0.5f, 0.999f, 1e-8f));
        CHECK(gan_optim_adam(&od, 2e-3f, 0.5f, 0.999f, 1e-8f));
    } else {
        CHECK(gan_optim_sgd(&og, 0.05f, 0.5f, cf->nesterov));
        CHECK(gan_optim_sgd(&od, 0.05f, 0.5f, cf->nesterov));
    }
    CHECK(gan_trainer_create(&t, g, d, og, od));
    CHECK(gan_trainer_set_seed(t, 7));
    CHECK(gan_trainer_set_data(t, data, (void *)&cf->cond));
    CHECK(gan_trainer_set_batch_size(t, 32));
    CHECK(gan_trainer_set_loss(t, (gan_loss)cf->loss));
    CHECK(gan_trainer_set_update(t, (gan_update)cf->update));
    CHECK(gan_trainer_set_d_steps(t, cf->d_steps));
    CHECK(gan_trainer_set_g_steps(t, cf->g_steps));
    CHECK(gan_trainer_set_cond_dim(t, cf->cond));
    CHECK(gan_net_init(g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f));
    CHECK(gan_net_init(d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_UNIFORM, 0.1f));
    if (cf->ema > 0.0f) CHECK(gan_trainer_set_ema(t, cf->ema));
    CHECK(gan_trainer_run(t, steps, NULL, NULL));

    size_t size;
    CHECK(gan_trainer_save_mem(t, NULL, 0, &size));
    uint8_t *buf = malloc(size);
    if (!buf) exit(1);
    CHECK(gan_trainer_save_mem(t, buf, size, &size));
    uint64_t h = hash_checkpoint(buf, size);
    free(buf);
    float cond[8 * 3], out[8 * DATA];
    for (size_t i = 0; i < 8 * cf->cond; i++) cond[i] = i % cf->cond == (i / cf->cond) % cf->cond ? 1.0f : 0.0f;
    CHECK(gan_trainer_generate(t, NULL, cf->cond ? cond : NULL, 8, out));
    h = fnv(h, (const uint8_t *)out, sizeof out);
    gan_trainer_free(t);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    return h;
}

int main(int argc, char **argv)
{
    unsigned steps = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 50;
    for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++)
        printf("%-13s %016llx\n", CONFIGS[i].name, (unsigned long long)run(&CONFIGS[i], steps));
    return 0;
}
