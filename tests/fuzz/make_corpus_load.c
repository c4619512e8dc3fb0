/* Write the seed corpus of fuzz_load.c: valid net files and checkpoints for the trainers
 * of load_arch.h, plus damaged and hand-edited variants. Files are what the library writes
 * (the newest format version, the settings in a TSET chunk) and, for what format version 1
 * can express (vector inputs, no reshape), the same files rewritten in version 1 with the
 * settings in the fixed TRNR chunk as libgan 0.1 wrote them, checked to load back to the
 * same nets and trainers (ok-v1-*); checkpoints also as the builds before the TSET chunk
 * wrote them (ok-trnr-*, version 2 with TRNR), and with hand-edited TSET entries (an
 * optional one a later version may add, and refused ones). Names: ok-* load (as a net
 * file or into one trainer), bad-* are refused. Hand-made seeds sit beside them and are
 * not written here: v1-*-golden are copies of tests/data/golden_*_v1.gan (another
 * architecture than the trainers here).
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

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* The same bytes with another format version in the header (its CRC redone). */
static void relabel(uint8_t *b, uint32_t version)
{
    wr32(b + 8, version);
    wr32(b + 16, (uint32_t)crc32(0, b, 16));
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

/* A trained checkpoint of trainer `arch` with non-default settings. */
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
    if (arch == 2 && (gan_trainer_set_loss(r.t, GAN_LOSS_LEAST_SQUARES) || gan_trainer_set_g_steps(r.t, 2) ||
                      gan_trainer_set_noise_uniform(r.t, 1.5f)))
        die("settings");
    if (arch == 5 && gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_WGAN_GP, 10.0f, 2)) die("settings");
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
    relabel(b, rd32(f + 8) + 1);
    snprintf(name, sizeof name, "bad-%s-future-version", stem);
    put(name, b, n);
    snprintf(name, sizeof name, "bad-%s-critical-chunk", stem);
    with_chunk(name, f, n, "MUST", 1);
    snprintf(name, sizeof name, "ok-%s-optional-chunk", stem);
    with_chunk(name, f, n, "XTRA", 0);
    free(b);
}

/* A layer record of format version 1: kind u32, then act u32, in u64, out u64, pieces u64,
 * a float's bits u32, reserved u32. */
enum { V1_LAYER = 40, V2_NET_HEAD = 32, V1_NET_HEAD = 16 };

static void v1_layer(uint8_t *o, uint32_t kind, uint32_t act, uint64_t in, uint64_t out, uint64_t pieces,
                     uint32_t fbits)
{
    wr32(o, kind);
    wr32(o + 4, act);
    wr64(o + 8, in);
    wr64(o + 16, out);
    wr64(o + 24, pieces);
    wr32(o + 32, fbits);
    wr32(o + 36, 0);
}

/* The TSET payload p[0..len) as the fixed 64-byte TRNR payload of earlier writers into o:
 * setting k's value goes to TRNR_AT[k] (the bytes are the same; noise is kind and scale). */
enum { TRNR_SIZE = 64 };
static const size_t TRNR_AT[13] = {0, 0, 8, 16, 24, 28, 32, 36, 40, 44, 48, 52, 60};
static const size_t TRNR_LEN[13] = {0, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 8, 4};

/* 0 when the chunk has a setting TRNR has no field for (a gradient penalty, 13). */
static int tset_to_trnr(const uint8_t *p, size_t len, uint8_t o[TRNR_SIZE])
{
    unsigned seen = 0;
    memset(o, 0, TRNR_SIZE);
    for (size_t at = 0; at + 8 <= len; at += 8 + rd32(p + at + 4)) {
        uint32_t k = rd32(p + at) & 0x7FFFFFFFu, n = rd32(p + at + 4);
        if (k == 13) return 0;
        if (k < 1 || k > 12 || n != TRNR_LEN[k]) die("tset_to_trnr: a TSET entry the writer does not write");
        memcpy(o + TRNR_AT[k], p + at + 8, n);
        seen |= 1u << k;
    }
    if (seen != 0x1FFEu) die("tset_to_trnr: the writer left a setting out");
    return 1;
}

/* A version-2 NET payload in version 1 into o (room for it), its length returned; 0 when
 * version 1 cannot express it (an image input, a reshape layer). */
static size_t net_to_v1(const uint8_t *p, size_t len, uint8_t *o)
{
    uint32_t n_layers = rd32(p + 4);
    uint64_t width = rd64(p + 8);
    if (len < V2_NET_HEAD || rd64(p + 16) != 1 || rd64(p + 24) != 1) return 0;
    memcpy(o, p, 8);
    wr64(o + 8, width);
    size_t at = V2_NET_HEAD, out = V1_NET_HEAD;
    for (uint32_t i = 0; i < n_layers; i++, out += V1_LAYER) {
        uint32_t kind = rd32(p + at), n = rd32(p + at + 4);
        const uint8_t *e = p + at + 8;
        at += 8 + n;
        if (kind == GAN_LAYER_DENSE) {
            v1_layer(o + out, kind, 0, rd64(e), rd64(e + 8), 0, 0);
            width = rd64(e + 8);
        } else if (kind == GAN_LAYER_MAXOUT) {
            v1_layer(o + out, kind, 0, rd64(e), rd64(e + 8), rd64(e + 16), 0);
            width = rd64(e + 8);
        } else if (kind == GAN_LAYER_ACTIVATION) {
            v1_layer(o + out, kind, rd32(e), width, width, 0, rd32(e + 4));
        } else if (kind == GAN_LAYER_DROPOUT) {
            v1_layer(o + out, kind, 0, width, width, 0, rd32(e));
        } else {
            return 0;
        }
    }
    return at == len ? out : 0;
}

/* A file the library wrote, rewritten as an earlier writer would have: in format version 1
 * (v1: NET chunks re-encoded) and with the settings in a TRNR chunk, every other chunk as
 * is, CRCs redone; NULL when version 1 cannot express it. */
static uint8_t *rewrite(const uint8_t *f, size_t n, int v1, size_t *size)
{
    uint8_t *b = malloc(n * 3 + 64); /* a v1 layer record is at most 40 bytes for v2's 8 + 4 */
    if (!b) die("memory");
    memcpy(b, f, 20);
    if (v1) relabel(b, 1);
    size_t at = 20, out = 20;
    while (at + 20 <= n) {
        uint32_t type = rd32(f + at);
        size_t len = (size_t)rd64(f + at + 8), plen = len;
        memcpy(b + out, f + at, 16);
        if (type == rd32((const uint8_t *)"TSET")) {
            memcpy(b + out, "TRNR", 4);
            if (!tset_to_trnr(f + at + 16, len, b + out + 16)) {
                free(b);
                return NULL;
            }
            plen = TRNR_SIZE;
            wr64(b + out + 8, plen);
        } else if (v1 && type == rd32((const uint8_t *)"NET ")) {
            plen = net_to_v1(f + at + 16, len, b + out + 16);
            if (!plen) {
                free(b);
                return NULL;
            }
            wr64(b + out + 8, plen);
        } else {
            memcpy(b + out + 16, f + at + 16, len);
        }
        wr32(b + out + 16 + plen, (uint32_t)crc32(0, b + out, (uInt)(16 + plen)));
        at += 20 + len;
        out += 20 + plen;
    }
    if (at != n) die("rewrite: a file the library wrote does not frame");
    *size = out;
    return b;
}

static uint8_t *to_v1(const uint8_t *f, size_t n, size_t *size) { return rewrite(f, n, 1, size); }

/* v1, the version-1 form of f, as ok-v1-STEM once what it loads to saves as f again
 * (again, freed here); and v1 labelled version 2 as bad-v1-STEM-as-v2, which the v2
 * reader must refuse. */
static void put_v1_pair(const char *stem, uint8_t *v1, size_t v1_n, uint8_t *again, size_t again_n,
                        const uint8_t *f, size_t n)
{
    char name[256];
    if (again_n != n || memcmp(again, f, n)) die("the version-1 file loads as something else");
    snprintf(name, sizeof name, "ok-v1-%s", stem);
    put(name, v1, v1_n);
    relabel(v1, 2);
    snprintf(name, sizeof name, "bad-v1-%s-as-v2", stem);
    put(name, v1, v1_n);
    free(again);
    free(v1);
}

/* Write f (a net file) in version 1, checked to load back to the net f holds. */
static void v1_net(const char *stem, const uint8_t *f, size_t n)
{
    size_t v1_n, again_n;
    uint8_t *v1 = to_v1(f, n, &v1_n);
    if (!v1) die("a net version 1 cannot express");
    gan_net *net;
    if (gan_net_load_mem(&net, v1, v1_n)) die("load the version-1 net");
    uint8_t *again = net_bytes(net, &again_n);
    put_v1_pair(stem, v1, v1_n, again, again_n, f, n);
    gan_net_free(net);
}

/* The same for a checkpoint of trainer `arch`. */
static void v1_trainer(const char *stem, int arch, const uint8_t *f, size_t n)
{
    size_t v1_n, again_n;
    uint8_t *v1 = to_v1(f, n, &v1_n);
    if (!v1) die("a trainer version 1 cannot express");
    arch_rig r;
    if (arch_make(&r, arch) || gan_trainer_load_mem(r.t, v1, v1_n)) die("load the version-1 checkpoint");
    uint8_t *again = trainer_bytes(r.t, &again_n);
    put_v1_pair(stem, v1, v1_n, again, again_n, f, n);
    arch_free(&r);
}

/* A checkpoint of trainer `arch` as the builds before the TSET chunk wrote it (version 2,
 * TRNR), checked to load back to the trainer f holds, as ok-trnr-STEM; none when TRNR
 * cannot hold its settings. */
static void trnr_trainer(const char *stem, int arch, const uint8_t *f, size_t n)
{
    char name[256];
    size_t old_n, again_n;
    uint8_t *old = rewrite(f, n, 0, &old_n);
    if (!old) return;
    arch_rig r;
    if (arch_make(&r, arch) || gan_trainer_load_mem(r.t, old, old_n)) die("load the TRNR checkpoint");
    uint8_t *again = trainer_bytes(r.t, &again_n);
    if (again_n != n || memcmp(again, f, n)) die("the TRNR checkpoint loads as something else");
    snprintf(name, sizeof name, "ok-trnr-%s", stem);
    put(name, old, old_n);
    free(again);
    free(old);
    arch_free(&r);
}

/* f with its TSET payload replaced by the entries it holds with `extra` (an entry: key,
 * length, value) put after them, or, when first_len is not 0, with its first entry's
 * length set to first_len (its value cut to it). */
static void tset_variant(const char *name, const uint8_t *f, size_t n, const uint8_t *extra, size_t extra_n,
                         uint32_t first_len)
{
    size_t at = 20;
    while (at + 20 <= n && rd32(f + at) != rd32((const uint8_t *)"TSET")) at += 20 + (size_t)rd64(f + at + 8);
    if (at + 20 > n) die("no TSET chunk");
    size_t len = (size_t)rd64(f + at + 8), end = at + 20 + len;
    uint8_t *b = malloc(n + extra_n + 64);
    if (!b) die("memory");
    memcpy(b, f, at + 16);
    size_t plen;
    if (first_len) { /* the first entry's head, first_len bytes of its value, the others */
        uint32_t was = rd32(f + at + 20);
        memcpy(b + at + 16, f + at + 16, 8 + first_len);
        wr32(b + at + 20, first_len);
        memcpy(b + at + 24 + first_len, f + at + 24 + was, len - 8 - was);
        plen = len - was + first_len;
    } else {
        memcpy(b + at + 16, f + at + 16, len);
        memcpy(b + at + 16 + len, extra, extra_n);
        plen = len + extra_n;
    }
    wr64(b + at + 8, plen);
    wr32(b + at + 16 + plen, (uint32_t)crc32(0, b + at, (uInt)(16 + plen)));
    memcpy(b + at + 20 + plen, f + end, n - end);
    put(name, b, n - len + plen);
    free(b);
}

/* Hand-edited TSET chunks of checkpoint f: an optional entry of a later version (loads),
 * an unknown required one, a repeated one, a short one (refused). */
static void tset_edits(const char *stem, const uint8_t *f, size_t n)
{
    char name[256];
    uint8_t e[16];
    wr32(e, 99);
    wr32(e + 4, 8);
    memcpy(e + 8, "a later!", 8);
    snprintf(name, sizeof name, "ok-%s-tset-optional-entry", stem);
    tset_variant(name, f, n, e, sizeof e, 0);
    wr32(e, 99 | 0x80000000u);
    snprintf(name, sizeof name, "bad-%s-tset-required-entry", stem);
    tset_variant(name, f, n, e, sizeof e, 0);
    size_t at = 20;
    while (rd32(f + at) != rd32((const uint8_t *)"TSET")) at += 20 + (size_t)rd64(f + at + 8);
    snprintf(name, sizeof name, "bad-%s-tset-repeated-entry", stem);
    tset_variant(name, f, n, f + at + 16, 8 + rd32(f + at + 20), 0);
    snprintf(name, sizeof name, "bad-%s-tset-short-entry", stem);
    tset_variant(name, f, n, NULL, 0, 4);
}

/* Version-2 bytes labelled version 1, which the v1 reader must refuse. */
static void as_v1(const char *stem, const uint8_t *f, size_t n)
{
    char name[256];
    uint8_t *b = malloc(n);
    if (!b) die("memory");
    memcpy(b, f, n);
    relabel(b, 1);
    snprintf(name, sizeof name, "bad-%s-as-v1", stem);
    put(name, b, n);
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

    /* nets: every kind but reshape on a vector, every kind on an image; and an empty one */
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
    v1_net("net", b, n);
    as_v1("net", b, n);
    free(b);
    gan_net_free(net);
    /* 2x3x2 images -> dropout -> dense 6 -> reshape 3x1x2 -> leaky -> maxout 4x2
     * -> reshape 2x2x1 -> sigmoid -> dense 3 -> reshape 3x1x1 -> tanh */
    rc = gan_net_create_image(&net, 2, 3, 2);
    rc = rc || arch_add(net, gan_layer_dropout(&l, 0.75f), &l) || arch_add(net, gan_layer_dense(&l, 12, 6), &l) ||
         arch_add(net, gan_layer_reshape(&l, 3, 1, 2), &l) || arch_add(net, gan_layer_leaky_relu(&l, 0.3f), &l) ||
         arch_add(net, gan_layer_maxout(&l, 6, 4, 2), &l) || arch_add(net, gan_layer_reshape(&l, 2, 2, 1), &l) ||
         arch_add(net, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l) ||
         arch_add(net, gan_layer_dense(&l, 4, 3), &l) || arch_add(net, gan_layer_reshape(&l, 3, 1, 1), &l) ||
         arch_add(net, gan_layer_activation(&l, GAN_ACT_TANH), &l) || gan_net_init(net, rng, GAN_INIT_HE, 1.0f);
    if (rc) die("image net");
    b = net_bytes(net, &n);
    put("ok-net-image", b, n);
    damaged("net-image", b, n);
    as_v1("net-image", b, n);
    free(b);
    gan_net_free(net);
    gan_rng_free(rng);
    if (gan_net_create(&net, 3)) die("net");
    b = net_bytes(net, &n);
    put("ok-net-empty", b, n);
    v1_net("net-empty", b, n);
    free(b);
    gan_net_free(net);

    /* checkpoints: fresh (no optimizer state, no EMA) and trained, for every trainer */
    for (int arch = 0; arch < ARCH_COUNT; arch++) {
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
        as_v1(name, b, n);
        snprintf(name, sizeof name, "trainer%d-trained", arch);
        if (arch < 2) v1_trainer(name, arch, b, n); /* arch 2 and 3 use what came with version 2 */
        trnr_trainer(name, arch, b, n);
        snprintf(name, sizeof name, "trainer%d", arch);
        tset_edits(name, b, n);
        free(b);
        b = trained(arch, 0, &n);
        snprintf(name, sizeof name, "ok-trainer%d-no-ema", arch);
        put(name, b, n);
        free(b);
    }
    printf("wrote the load corpus to %s\n", out_dir);
    return 0;
}
