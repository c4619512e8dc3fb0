/* Write the seed corpus of fuzz_load.c: valid net files and checkpoints for the trainers
 * of load_arch.h, plus damaged and hand-edited variants.
 * Usage: meson compile -C build make_corpus_load && build/tests/make_corpus_load tests/fuzz/corpus_load */
#include "gan.h"
#include "load_arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *out_dir;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus_load: %s: %s\n", what, gan_error_last());
    exit(1);
}

static void put(const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *net_bytes(const gan_net *n, size_t *size)
{
    if (gan_net_save_mem(n, NULL, 0, size)) die("size");
    uint8_t *b = malloc(*size + 64);
    if (!b || gan_net_save_mem(n, b, *size, size)) die("save net");
    return b;
}

static uint8_t *trainer_bytes(const gan_trainer *t, size_t *size)
{
    if (gan_trainer_save_mem(t, NULL, 0, size)) die("size");
    uint8_t *b = malloc(*size + 64);
    if (!b || gan_trainer_save_mem(t, b, *size, size)) die("save trainer");
    return b;
}

/* A trained checkpoint of arch 0 or 1 with non-default settings. */
static uint8_t *trained(int arch, int ema, size_t *size)
{
    arch_rig r;
    if (arch_make(&r, arch)) die("arch");
    gan_rng *init = gan_trainer_rng(r.t, GAN_STREAM_INIT);
    if (gan_net_init(r.g, init, GAN_INIT_XAVIER, 1.0f) || gan_net_init(r.d, init, GAN_INIT_XAVIER, 1.0f)) die("init");
    if (gan_trainer_set_seed(r.t, 5 + (uint64_t)arch) || gan_trainer_set_batch_size(r.t, 8)) die("settings");
    if (arch == 1 && (gan_trainer_set_cond_dim(r.t, 2) || gan_trainer_set_loss(r.t, GAN_LOSS_WASSERSTEIN) ||
                      gan_trainer_set_clip(r.t, 0.5f) || gan_trainer_set_update(r.t, GAN_UPDATE_SIMULTANEOUS)))
        die("settings");
    if (arch == 0 && (gan_trainer_set_d_steps(r.t, 2) || gan_trainer_set_label_smoothing(r.t, 0.9f) ||
                      gan_trainer_set_noise_normal(r.t, 0.5f)))
        die("settings");
    if (ema && gan_trainer_set_ema(r.t, 0.9f)) die("ema");
    if (gan_trainer_run(r.t, 3, NULL, NULL)) die("train");
    uint8_t *b = trainer_bytes(r.t, size);
    arch_free(&r);
    return b;
}

/* Insert a chunk before the END chunk (the last 20 bytes). */
static void with_chunk(const char *name, const uint8_t *f, size_t n, const char *type, uint32_t flags)
{
    static const char payload[] = "optional";
    size_t len = sizeof payload - 1, at = n - 20;
    uint8_t *b = malloc(n + 20 + len);
    memcpy(b, f, at);
    memcpy(b + at, type, 4);
    wr32(b + at + 4, flags);
    wr32(b + at + 8, (uint32_t)len);
    wr32(b + at + 12, 0);
    memcpy(b + at + 16, payload, len);
    wr32(b + at + 16 + len, (uint32_t)crc32(0, b + at, (uInt)(16 + len)));
    memcpy(b + at + 20 + len, f + at, 20);
    put(name, b, n + 20 + len);
    free(b);
}

static void damaged(const char *stem, const uint8_t *f, size_t n)
{
    char name[256];
    uint8_t *b = malloc(n);
    snprintf(name, sizeof name, "bad-%s-truncated", stem);
    put(name, f, n / 2);
    memcpy(b, f, n);
    b[n / 3] ^= 0x10;
    snprintf(name, sizeof name, "bad-%s-bitflip", stem);
    put(name, b, n);
    memcpy(b, f, n);
    b[0] = 'X';
    snprintf(name, sizeof name, "bad-%s-magic", stem);
    put(name, b, n);
    memcpy(b, f, n);
    wr32(b + 8, 2);
    wr32(b + 16, (uint32_t)crc32(0, b, 16));
    snprintf(name, sizeof name, "bad-%s-future-version", stem);
    put(name, b, n);
    snprintf(name, sizeof name, "bad-%s-critical-chunk", stem);
    with_chunk(name, f, n, "MUST", 1);
    snprintf(name, sizeof name, "ok-%s-optional-chunk", stem);
    with_chunk(name, f, n, "XTRA", 0);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    size_t n;
    uint8_t *b;

    /* nets: every layer kind; and an empty one */
    gan_net *net;
    gan_layer *l = NULL;
    gan_rng *rng;
    int rc = gan_net_create(&net, 4) || gan_rng_create(&rng, 1);
    rc = rc || arch_add(net, gan_layer_dense(&l, 4, 5), &l) || arch_add(net, gan_layer_leaky_relu(&l, 0.1f), &l) ||
         arch_add(net, gan_layer_maxout(&l, 5, 3, 2), &l) || arch_add(net, gan_layer_dropout(&l, 0.5f), &l) ||
         arch_add(net, gan_layer_dense(&l, 3, 2), &l) || arch_add(net, gan_layer_activation(&l, GAN_ACT_TANH), &l) ||
         gan_net_init(net, rng, GAN_INIT_UNIFORM, 0.5f);
    if (rc) die("net");
    b = net_bytes(net, &n);
    put("ok-net", b, n);
    damaged("net", b, n);
    free(b);
    gan_net_free(net);
    gan_rng_free(rng);
    if (gan_net_create(&net, 3)) die("net");
    b = net_bytes(net, &n);
    put("ok-net-empty", b, n);
    free(b);
    gan_net_free(net);

    /* checkpoints: fresh (no optimizer state, no EMA) and trained, for both trainers */
    for (int arch = 0; arch < 2; arch++) {
        arch_rig r;
        char name[64];
        if (arch_make(&r, arch)) die("arch");
        b = trainer_bytes(r.t, &n);
        snprintf(name, sizeof name, "ok-trainer%d-fresh", arch);
        put(name, b, n);
        free(b);
        arch_free(&r);
        b = trained(arch, 1, &n);
        snprintf(name, sizeof name, "ok-trainer%d-trained", arch);
        put(name, b, n);
        snprintf(name, sizeof name, "trainer%d", arch);
        damaged(name, b, n);
        free(b);
        b = trained(arch, 0, &n);
        snprintf(name, sizeof name, "ok-trainer%d-no-ema", arch);
        put(name, b, n);
        free(b);
    }
    printf("wrote the load corpus to %s\n", out_dir);
    return 0;
}
