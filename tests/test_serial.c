/* Model files and checkpoints (docs/file-format.md): round trips, exact resume, atomic
 * writes, damaged and hostile files, forward compatibility, allocation failures and the
 * golden files of format version 1.
 *
 * `test_serial --write-golden DIR` writes tests/data/golden_*_v1.gan (run it once per
 * format version; the files are committed and must keep loading forever). */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ helpers */

/* Exactly representable values from a formula, so tests can check them by value. */
static float formula(size_t i, int salt) { return (float)((int)((i * 37 + (size_t)salt * 11) % 101) - 50) / 64.0f; }

static void fill_formula(gan_net *n, int salt)
{
    float *p = gan_net_params(n);
    for (size_t i = 0; i < gan_net_num_params(n); i++) p[i] = formula(i, salt);
}

/* Every layer kind of format version 1: in 5 -> dense 8 -> leaky 0.1 -> maxout 4x2 ->
 * dropout 0.75 -> dense 3 -> tanh; with_reshape puts a reshape to 2x2x2 after the first
 * dense layer (every kind there is). 135 params. */
static gan_net *kinds_net(int with_reshape)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 5), GAN_OK);
    add(n, gan_layer_dense(&l, 5, 8), &l);
    if (with_reshape) add(n, gan_layer_reshape(&l, 2, 2, 2), &l);
    add(n, gan_layer_leaky_relu(&l, 0.1f), &l);
    add(n, gan_layer_maxout(&l, 8, 4, 2), &l);
    add(n, gan_layer_dropout(&l, 0.75f), &l);
    add(n, gan_layer_dense(&l, 4, 3), &l);
    add(n, gan_layer_activation(&l, GAN_ACT_TANH), &l);
    return n;
}

static gan_net *all_kinds_net(void) { return kinds_net(1); }

static uint8_t *save_net_mem(const gan_net *n, size_t *size)
{
    assert_int_equal(gan_net_save_mem(n, NULL, 0, size), GAN_OK);
    uint8_t *b = malloc(*size);
    assert_non_null(b);
    size_t again = 0;
    assert_int_equal(gan_net_save_mem(n, b, *size, &again), GAN_OK);
    assert_int_equal(again, *size);
    return b;
}


static void write_all(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A fresh directory for file tests, and its cleanup. */
static void make_dir(char *dir, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, cap, "%s/gan_serial_XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
}

/* Names in dir (sorted is not needed: we only count and look for temporaries). */
static int count_entries(const char *dir, int *temps)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    *temps = 0;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (strstr(e->d_name, ".tmp.")) (*temps)++;
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ------------------------------------------------- crafting files by hand */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}
static uint32_t fourcc(const char *s) { return rd32((const uint8_t *)s); }

/* A growing byte buffer for building files. */
typedef struct {
    uint8_t *b;
    size_t n, cap;
} bytes;

static void b_put(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->b = realloc(b->b, b->cap);
        assert_non_null(b->b);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void b_u32(bytes *b, uint32_t v)
{
    uint8_t t[4];
    wr32(t, v);
    b_put(b, t, 4);
}
static void b_u64(bytes *b, uint64_t v)
{
    uint8_t t[8];
    wr64(t, v);
    b_put(b, t, 8);
}
static void b_f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32(b, u);
}

static const uint8_t MAGIC[8] = {0x89, 'G', 'A', 'N', '\r', '\n', 0x1a, '\n'};

static void b_header(bytes *b, uint32_t version, uint32_t kind)
{
    size_t at = b->n;
    b_put(b, MAGIC, 8);
    b_u32(b, version);
    b_u32(b, kind);
    b_u32(b, (uint32_t)crc32(0, b->b + at, 16));
}

static void b_chunk(bytes *b, const char *type, uint32_t flags, const void *payload, size_t len)
{
    size_t at = b->n;
    b_u32(b, fourcc(type));
    b_u32(b, flags);
    b_u64(b, len);
    if (len) b_put(b, payload, len);
    b_u32(b, (uint32_t)crc32(0, b->b + at, (uInt)(16 + len)));
}

/* Offset of the n-th chunk of `type` (n from 0), or SIZE_MAX. */
static size_t find_chunk(const uint8_t *f, size_t size, const char *type, int nth)
{
    for (size_t pos = 20; pos + 20 <= size; pos += 20 + (size_t)rd64(f + pos + 8))
        if (rd32(f + pos) == fourcc(type) && nth-- == 0) return pos;
    return SIZE_MAX;
}

/* Rewrite the CRC of the chunk at pos after its payload was patched. */
static void fix_crc(uint8_t *f, size_t pos)
{
    size_t len = (size_t)rd64(f + pos + 8);
    wr32(f + pos + 16 + len, (uint32_t)crc32(0, f + pos, (uInt)(16 + len)));
}

/* Patch a u32/u64 at `off` in the payload of the nth chunk of `type`, keeping the CRC valid. */
static void patch32(uint8_t *f, size_t size, const char *type, int nth, size_t off, uint32_t v)
{
    size_t pos = find_chunk(f, size, type, nth);
    assert_true(pos != SIZE_MAX);
    wr32(f + pos + 16 + off, v);
    fix_crc(f, pos);
}
static void patch64(uint8_t *f, size_t size, const char *type, int nth, size_t off, uint64_t v)
{
    size_t pos = find_chunk(f, size, type, nth);
    assert_true(pos != SIZE_MAX);
    wr64(f + pos + 16 + off, v);
    fix_crc(f, pos);
}

/* The trainer's settings: the TSET chunk written today is a list of entries (key u32,
 * length u32, value); earlier builds wrote the fixed 64-byte TRNR chunk. */
enum { TRNR_SIZE = 64 };
#define REQUIRED_BIT 0x80000000u

/* Where setting k's value sits in the TRNR layout, and its length (the TSET entries hold
 * the same bytes): batch, condition, steps, D steps, G steps, update, loss, real target,
 * clip, EMA decay, noise kind and scale, batch-norm statistics. */
static const size_t TRNR_AT[13] = {0, 0, 8, 16, 24, 28, 32, 36, 40, 44, 48, 52, 60};
static const size_t TRNR_LEN[13] = {0, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 8, 4};

/* The payload of the first chunk of `type`; *len its length. */
static const uint8_t *chunk_payload(const uint8_t *f, size_t size, const char *type, size_t *len)
{
    size_t pos = find_chunk(f, size, type, 0);
    if (pos == SIZE_MAX) return NULL;
    *len = (size_t)rd64(f + pos + 8);
    return f + pos + 16;
}

/* The offset in f of setting k's value in the TSET chunk, or SIZE_MAX; *len its length. */
static size_t tset_value(const uint8_t *f, size_t size, uint32_t k, size_t *len)
{
    size_t n = 0;
    const uint8_t *p = chunk_payload(f, size, "TSET", &n);
    assert_non_null(p);
    for (size_t at = 0; at + 8 <= n; at += 8 + rd32(p + at + 4))
        if ((rd32(p + at) & ~REQUIRED_BIT) == k) {
            *len = rd32(p + at + 4);
            return (size_t)(p - f) + at + 8;
        }
    return SIZE_MAX;
}

/* A checkpoint's settings in the TRNR layout, from either chunk (a missing TSET entry
 * leaves the documented default), so files of both kinds compare. */
static void settings_image(const uint8_t *f, size_t size, uint8_t out[TRNR_SIZE])
{
    size_t n;
    const uint8_t *p = chunk_payload(f, size, "TRNR", &n);
    if (p) {
        assert_int_equal(n, TRNR_SIZE);
        memcpy(out, p, TRNR_SIZE);
        return;
    }
    memset(out, 0, TRNR_SIZE);
    wr32(out + 40, 0x3F800000u); /* real target 1 */
    for (uint32_t k = 1; k <= 12; k++) {
        size_t len, at = tset_value(f, size, k, &len);
        if (at == SIZE_MAX) continue;
        assert_int_equal(len, TRNR_LEN[k]);
        memcpy(out + TRNR_AT[k], f + at, len);
    }
}

/* f with its settings chunk (TSET or TRNR) replaced by a chunk of `type` holding
 * payload[0..len), or dropped when type is NULL. */
static void with_settings(bytes *out, const uint8_t *f, size_t size, const char *type, const void *payload, size_t len)
{
    size_t pos = find_chunk(f, size, "TSET", 0);
    if (pos == SIZE_MAX) pos = find_chunk(f, size, "TRNR", 0);
    assert_true(pos != SIZE_MAX);
    size_t end = pos + 20 + (size_t)rd64(f + pos + 8);
    out->n = 0;
    b_put(out, f, pos);
    if (type) b_chunk(out, type, 1, payload, len);
    b_put(out, f + end, size - end);
}

/* The TRNR payload of a checkpoint's settings, as earlier builds wrote it. */
static void as_trnr(bytes *out, const uint8_t *f, size_t size)
{
    uint8_t trnr[TRNR_SIZE];
    settings_image(f, size, trnr);
    with_settings(out, f, size, "TRNR", trnr, TRNR_SIZE);
}

/* Two checkpoints hold the same chunks in the same order, byte for byte, but for their
 * settings chunks, whose settings are equal. */
static void assert_same_but_settings(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    uint8_t sa[TRNR_SIZE], sb[TRNR_SIZE];
    settings_image(a, an, sa);
    settings_image(b, bn, sb);
    assert_memory_equal(sa, sb, TRNR_SIZE);
    assert_memory_equal(a, b, 20);
    size_t i = 20, j = 20;
    while (i + 20 <= an && j + 20 <= bn) {
        uint32_t ta = rd32(a + i), tb = rd32(b + j);
        size_t la = (size_t)rd64(a + i + 8), lb = (size_t)rd64(b + j + 8);
        int settings_a = ta == fourcc("TSET") || ta == fourcc("TRNR"), settings_b = tb == fourcc("TSET") ||
                                                                                      tb == fourcc("TRNR");
        assert_int_equal(settings_a, settings_b);
        if (!settings_a) {
            assert_int_equal(la, lb);
            assert_memory_equal(a + i, b + j, 20 + la);
        }
        i += 20 + la;
        j += 20 + lb;
    }
    assert_int_equal(i, an);
    assert_int_equal(j, bn);
}

/* ------------------------------------------------------------- trainer rigs */

/* Deterministic data: draws only from the trainer's data stream. */
typedef struct {
    size_t dim, cond;
} data_cfg;

static int data_fn(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    const data_cfg *c = payload;
    for (size_t i = 0; i < batch; i++) {
        size_t k = c->cond ? (size_t)(gan_rng_uniform(rng) * (float)c->cond) : 0;
        for (size_t j = 0; j < c->dim; j++) x[i * c->dim + j] = 0.5f * gan_rng_normal(rng) + (float)k - 0.5f;
        for (size_t j = 0; cond && j < c->cond; j++) cond[i * c->cond + j] = j == k ? 1.0f : 0.0f;
    }
    return 0;
}

static int custom_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    (void)payload;
    return gan_rng_fill_uniform(rng, z, batch * dim, -0.5f, 0.5f);
}

enum { RIG_SGD, RIG_ADAM, RIG_GOLDEN };

typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    data_cfg data;
} rig;

/* Build a rig's nets, optimizers and trainer. `configure`: also set the run's settings,
 * seed and initial weights; otherwise everything stays at defaults (a fresh target to load
 * into, deliberately configured differently). */
static void rig_make(rig *r, int which, int configure)
{
    gan_layer *l;
    memset(r, 0, sizeof *r);
    size_t nz = 4, c = which == RIG_ADAM ? 0 : 2, x = 3;
    if (which == RIG_GOLDEN) nz = 3;
    r->data = (data_cfg){x, c};
    assert_int_equal(gan_net_create(&r->g, nz + c), GAN_OK);
    assert_int_equal(gan_net_create(&r->d, x + c), GAN_OK);
    if (which == RIG_SGD) {
        add(r->g, gan_layer_dense(&l, nz + c, 16), &l);
        add(r->g, gan_layer_leaky_relu(&l, 0.2f), &l);
        add(r->g, gan_layer_dense(&l, 16, x), &l);
        add(r->d, gan_layer_dense(&l, x + c, 16), &l);
        add(r->d, gan_layer_activation(&l, GAN_ACT_RELU), &l);
        add(r->d, gan_layer_dropout(&l, 0.8f), &l);
        add(r->d, gan_layer_dense(&l, 16, 1), &l);
    } else if (which == RIG_ADAM) {
        add(r->g, gan_layer_dense(&l, nz, 12), &l);
        add(r->g, gan_layer_activation(&l, GAN_ACT_TANH), &l);
        add(r->g, gan_layer_dense(&l, 12, x), &l);
        add(r->d, gan_layer_maxout(&l, x, 8, 3), &l);
        add(r->d, gan_layer_dropout(&l, 0.9f), &l);
        add(r->d, gan_layer_dense(&l, 8, 1), &l);
        add(r->d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    } else {
        add(r->g, gan_layer_dense(&l, nz + c, 12), &l);
        add(r->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
        add(r->g, gan_layer_dense(&l, 12, x), &l);
        add(r->d, gan_layer_maxout(&l, x + c, 6, 2), &l);
        add(r->d, gan_layer_dropout(&l, 0.9f), &l);
        add(r->d, gan_layer_dense(&l, 6, 1), &l);
        add(r->d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    }
    int sgd_g = which == RIG_SGD, sgd_d = which != RIG_ADAM;
    if (configure && which == RIG_SGD) {
        assert_int_equal(gan_optim_sgd(&r->og, 0.05f, 0.9f, 1), GAN_OK);
        assert_int_equal(gan_optim_sgd(&r->od, 0.02f, 0.5f, 0), GAN_OK);
    } else if (configure && which == RIG_ADAM) {
        assert_int_equal(gan_optim_adam(&r->og, 2e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
        assert_int_equal(gan_optim_adam(&r->od, 1e-3f, 0.0f, 0.9f, 1e-7f), GAN_OK);
    } else if (configure) { /* golden: lr 0 keeps the weights at the formula */
        assert_int_equal(gan_optim_adam(&r->og, 0.0f, 0.5f, 0.99f, 1e-6f), GAN_OK);
        assert_int_equal(gan_optim_sgd(&r->od, 0.0f, 0.9f, 1), GAN_OK);
    } else {
        /* same kinds, other hyperparameters: the load must restore them */
        if (sgd_g) assert_int_equal(gan_optim_sgd(&r->og, 0.5f, 0.0f, 0), GAN_OK);
        else assert_int_equal(gan_optim_adam(&r->og, 0.1f, 0.1f, 0.2f, 0.3f), GAN_OK);
        if (sgd_d) assert_int_equal(gan_optim_sgd(&r->od, 0.5f, 0.0f, 0), GAN_OK);
        else assert_int_equal(gan_optim_adam(&r->od, 0.1f, 0.1f, 0.2f, 0.3f), GAN_OK);
    }
    assert_int_equal(gan_trainer_create(&r->t, r->g, r->d, r->og, r->od), GAN_OK);
    assert_int_equal(gan_trainer_set_data(r->t, data_fn, &r->data), GAN_OK);
    if (!configure) return;
    gan_trainer *t = r->t;
    if (which == RIG_SGD) {
        assert_int_equal(gan_trainer_set_seed(t, 11), GAN_OK);
        assert_int_equal(gan_trainer_set_batch_size(t, 16), GAN_OK);
        assert_int_equal(gan_trainer_set_cond_dim(t, c), GAN_OK);
        assert_int_equal(gan_trainer_set_d_steps(t, 2), GAN_OK);
        assert_int_equal(gan_trainer_set_g_steps(t, 2), GAN_OK);
        assert_int_equal(gan_trainer_set_label_smoothing(t, 0.9f), GAN_OK);
        assert_int_equal(gan_trainer_set_noise_uniform(t, 0.75f), GAN_OK);
    } else if (which == RIG_ADAM) {
        assert_int_equal(gan_trainer_set_seed(t, 22), GAN_OK);
        assert_int_equal(gan_trainer_set_batch_size(t, 12), GAN_OK);
        assert_int_equal(gan_trainer_set_update(t, GAN_UPDATE_SIMULTANEOUS), GAN_OK);
        assert_int_equal(gan_trainer_set_loss(t, GAN_LOSS_HINGE), GAN_OK);
        assert_int_equal(gan_trainer_set_noise_normal(t, 0.5f), GAN_OK);
    } else {
        assert_int_equal(gan_trainer_set_seed(t, 1234), GAN_OK);
        assert_int_equal(gan_trainer_set_batch_size(t, 8), GAN_OK);
        assert_int_equal(gan_trainer_set_cond_dim(t, c), GAN_OK);
        assert_int_equal(gan_trainer_set_d_steps(t, 2), GAN_OK);
        assert_int_equal(gan_trainer_set_loss(t, GAN_LOSS_LEAST_SQUARES), GAN_OK);
        assert_int_equal(gan_trainer_set_label_smoothing(t, 0.9f), GAN_OK);
        assert_int_equal(gan_trainer_set_clip(t, 0.5f), GAN_OK);
        assert_int_equal(gan_trainer_set_noise_normal(t, 0.7f), GAN_OK);
    }
    if (which == RIG_GOLDEN) {
        fill_formula(r->g, 1);
        fill_formula(r->d, 2);
    } else {
        gan_rng *init = gan_trainer_rng(t, GAN_STREAM_INIT);
        assert_int_equal(gan_net_init(r->g, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
        assert_int_equal(gan_net_init(r->d, init, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    }
    assert_int_equal(gan_trainer_set_ema(t, which == RIG_ADAM ? 0.99f : 0.9f), GAN_OK);
}

static void rig_free(rig *r)
{
    free_gan(r->t, r->og, r->od, r->g, r->d);
}

/* What a load test starts from: rig r of kind `which` trained `steps` steps and its
 * checkpoint ck, and a fresh rig t of the same kind with its state before any load. */
static void load_setup(rig *r, rig *t, image *ck, image *before, int which, uint64_t steps)
{
    rig_make(r, which, 1);
    assert_int_equal(gan_trainer_run(r->t, steps, NULL, NULL), GAN_OK);
    *ck = snap(r->t);
    rig_make(t, which, 0);
    *before = snap(t->t);
}

static void load_teardown(rig *r, rig *t, image *ck, image *before)
{
    free(ck->b);
    free(before->b);
    rig_free(r);
    rig_free(t);
}

/* ----------------------------------------------------------------- round trips */

static void net_round_trip(void **state)
{
    (void)state;
    gan_net *n = all_kinds_net();
    gan_rng *rng;
    assert_int_equal(gan_rng_create(&rng, 3), GAN_OK);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_HE, 1.0f), GAN_OK);
    size_t size;
    uint8_t *a = save_net_mem(n, &size);

    /* size query and a buffer one byte short */
    size_t got = 0;
    assert_error(gan_net_save_mem(n, a, size - 1, &got), GAN_EINVAL, "needed");
    assert_int_equal(got, size);

    gan_net *m;
    assert_int_equal(gan_net_load_mem(&m, a, size), GAN_OK);
    assert_int_equal(gan_net_num_layers(m), gan_net_num_layers(n));
    assert_int_equal(gan_net_in_dim(m), 5);
    assert_int_equal(gan_net_out_dim(m), 3);
    for (size_t i = 0; i < gan_net_num_layers(n); i++) {
        assert_int_equal(gan_layer_kind(gan_net_layer(m, i)), gan_layer_kind(gan_net_layer(n, i)));
        assert_int_equal(gan_layer_in_dim(gan_net_layer(m, i)), gan_layer_in_dim(gan_net_layer(n, i)));
        assert_int_equal(gan_layer_out_dim(gan_net_layer(m, i)), gan_layer_out_dim(gan_net_layer(n, i)));
    }
    assert_int_equal(gan_net_num_params(m), 135);
    assert_memory_equal(gan_net_params(m), gan_net_params(n), 135 * sizeof(float));
    for (size_t i = 0; i < 135; i++) assert_true(gan_net_grads(m)[i] == 0.0f);

    /* same outputs in evaluation mode; no rng bound, as after gan_net_create */
    float x[2 * 5], y1[2 * 3], y2[2 * 3];
    assert_int_equal(gan_rng_fill_normal(rng, x, 10, 0.0f, 1.0f), GAN_OK);
    assert_int_equal(gan_net_forward(n, x, 2, y1, 0), GAN_OK);
    assert_int_equal(gan_net_forward(m, x, 2, y2, 0), GAN_OK);
    assert_memory_equal(y1, y2, sizeof y1);
    assert_error(gan_net_forward(m, x, 2, y2, 1), GAN_ESTATE, "rng");

    /* a second save gives the same bytes, in memory and on disk */
    size_t size2;
    uint8_t *b = save_net_mem(m, &size2);
    assert_int_equal(size2, size);
    assert_memory_equal(a, b, size);
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/net.gan", dir);
    assert_int_equal(gan_net_save(m, path), GAN_OK);
    size_t size3;
    uint8_t *c = test_read_file(path, &size3);
    assert_int_equal(size3, size);
    assert_memory_equal(a, c, size);
    gan_net *k;
    assert_int_equal(gan_net_load(&k, path), GAN_OK);
    assert_memory_equal(gan_net_params(k), gan_net_params(n), 135 * sizeof(float));
    /* overwrite in place: atomic replace of an existing file */
    fill_formula(k, 5);
    assert_int_equal(gan_net_save(k, path), GAN_OK);
    gan_net *k2;
    assert_int_equal(gan_net_load(&k2, path), GAN_OK);
    assert_memory_equal(gan_net_params(k2), gan_net_params(k), 135 * sizeof(float));
    int temps;
    assert_int_equal(count_entries(dir, &temps), 1);
    assert_int_equal(temps, 0);

    /* an empty net is a valid net */
    gan_net *e, *e2;
    assert_int_equal(gan_net_create(&e, 7), GAN_OK);
    uint8_t *eb = save_net_mem(e, &size2);
    assert_int_equal(gan_net_load_mem(&e2, eb, size2), GAN_OK);
    assert_int_equal(gan_net_in_dim(e2), 7);
    assert_int_equal(gan_net_num_layers(e2), 0);

    remove_dir(dir);
    free(a);
    free(b);
    free(c);
    free(eb);
    gan_net_free(e);
    gan_net_free(e2);
    gan_net_free(k);
    gan_net_free(k2);
    gan_net_free(m);
    gan_net_free(n);
    gan_rng_free(rng);
}

static void trainer_round_trip(void **state)
{
    (void)state;
    /* a conditional trainer before gan_trainer_set_cond_dim: condition 0, D wider than G */
    rig f, g;
    rig_make(&f, RIG_SGD, 0);
    rig_make(&g, RIG_SGD, 0);
    assert_int_equal(gan_trainer_set_cond_dim(g.t, 2), GAN_OK);
    image fs = snap(f.t);
    assert_int_equal(gan_trainer_load_mem(g.t, fs.b, fs.n), GAN_OK);
    assert_same_image(g.t, &fs);
    assert_int_equal(gan_trainer_noise_dim(g.t), 6);
    free(fs.b);
    rig_free(&f);
    rig_free(&g);
    for (int which = RIG_SGD; which <= RIG_ADAM; which++) {
        rig a, b;
        rig_make(&a, which, 1);
        assert_int_equal(gan_trainer_run(a.t, 3, NULL, NULL), GAN_OK);
        image s = snap(a.t);
        rig_make(&b, which, 0);
        assert_int_equal(gan_trainer_load_mem(b.t, s.b, s.n), GAN_OK);
        assert_same_image(b.t, &s);
        assert_int_equal(gan_trainer_steps(b.t), 3);
        assert_true(gan_optim_get_lr(b.og) == gan_optim_get_lr(a.og));
        assert_true(gan_optim_get_momentum(b.od) == gan_optim_get_momentum(a.od));
        assert_int_equal(gan_optim_steps(b.od), gan_optim_steps(a.od));
        assert_int_equal(gan_trainer_noise_dim(b.t), gan_trainer_noise_dim(a.t));
        /* a checkpoint without EMA turns a target's EMA off */
        assert_int_equal(gan_trainer_set_ema(a.t, 0.0f), GAN_OK);
        image s2 = snap(a.t);
        assert_true(s2.n < s.n);
        assert_int_equal(gan_trainer_load_mem(b.t, s2.b, s2.n), GAN_OK);
        assert_same_image(b.t, &s2);
        free(s.b);
        free(s2.b);
        rig_free(&a);
        rig_free(&b);
    }
}

/* Train N + M steps in one run; train N, save, load into fresh handles, train M: same bits. */
static void resume(int which, int via_file)
{
    enum { N = 7, M = 6 };
    rig one, first, second;
    rig_make(&one, which, 1);
    rig_make(&first, which, 1);
    rig_make(&second, which, 0);
    assert_int_equal(gan_trainer_run(one.t, N + M, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(first.t, N, NULL, NULL), GAN_OK);

    char dir[512], path[600], gpath[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ckpt.gan", dir);
    snprintf(gpath, sizeof gpath, "%s/g.gan", dir);
    image ck = {NULL, 0};
    if (via_file) {
        assert_int_equal(gan_trainer_save(first.t, path), GAN_OK);
        assert_int_equal(gan_trainer_load(second.t, path), GAN_OK);
    } else {
        ck = snap(first.t);
        assert_int_equal(gan_trainer_load_mem(second.t, ck.b, ck.n), GAN_OK);
    }
    /* G alone, as a model file */
    assert_int_equal(gan_net_save(first.g, gpath), GAN_OK);
    gan_net *g;
    assert_int_equal(gan_net_load(&g, gpath), GAN_OK);
    assert_memory_equal(gan_net_params(g), gan_net_params(first.g), gan_net_num_params(g) * sizeof(float));
    gan_net_free(g);
    rig_free(&first); /* the resumed run owes nothing to the first */

    assert_int_equal(gan_trainer_run(second.t, M, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_steps(second.t), N + M);
    assert_memory_equal(gan_net_params(second.g), gan_net_params(one.g), gan_net_num_params(one.g) * sizeof(float));
    assert_memory_equal(gan_net_params(second.d), gan_net_params(one.d), gan_net_num_params(one.d) * sizeof(float));
    /* optimizer state, EMA, rng streams, settings: the whole checkpoint is identical */
    image a = snap(one.t), b = snap(second.t);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.b, b.b, a.n);
    /* and so is what they generate (from the EMA weights) */
    size_t nz = gan_trainer_noise_dim(one.t), c = one.data.cond, x = one.data.dim;
    float z[4 * 8], cond[4 * 2] = {1, 0, 0, 1, 1, 0, 0, 1}, y1[4 * 3], y2[4 * 3];
    for (size_t i = 0; i < 4 * nz; i++) z[i] = formula(i, 9);
    assert_int_equal(gan_trainer_generate(one.t, z, c ? cond : NULL, 4, y1), GAN_OK);
    assert_int_equal(gan_trainer_generate(second.t, z, c ? cond : NULL, 4, y2), GAN_OK);
    assert_memory_equal(y1, y2, 4 * x * sizeof(float));
    free(a.b);
    free(b.b);
    free(ck.b);
    remove_dir(dir);
    rig_free(&one);
    rig_free(&second);
}

static void resume_is_exact_sgd(void **state)
{
    (void)state;
    resume(RIG_SGD, 1);
    resume(RIG_SGD, 0);
}

static void resume_is_exact_adam(void **state)
{
    (void)state;
    resume(RIG_ADAM, 0);
    resume(RIG_ADAM, 1);
}

/* --------------------------------------------------------------- file errors */

static void atomic_save_survives_write_failure(void **state)
{
    (void)state;
    char dir[512], path[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gan", dir);
    gan_net *small = all_kinds_net(), *big;
    gan_layer *l;
    fill_formula(small, 0);
    assert_int_equal(gan_net_save(small, path), GAN_OK);
    size_t old_n;
    uint8_t *old = test_read_file(path, &old_n);
    assert_true(old_n < 2048);

    assert_int_equal(gan_net_create(&big, 64), GAN_OK);
    add(big, gan_layer_dense(&l, 64, 256), &l);
    fill_formula(big, 1); /* ~66 KB of parameters */
    rig r;
    rig_make(&r, RIG_SGD, 1);
    char tpath[600];
    snprintf(tpath, sizeof tpath, "%s/ckpt.gan", dir);
    write_all(tpath, old, old_n); /* an "old checkpoint" to keep */

    /* Writes past 2 KB now fail with EFBIG (SIGXFSZ ignored, so no signal kills us). */
    struct sigaction ign, saved_sa;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &saved_sa), 0);
    struct rlimit saved_rl, small_rl;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_rl), 0);
    small_rl = saved_rl;
    small_rl.rlim_cur = 2048;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small_rl), 0);
    int rc_net = gan_net_save(big, path);
    char msg_net[512];
    snprintf(msg_net, sizeof msg_net, "%s", gan_error_last());
    int rc_tr = gan_trainer_save(r.t, tpath);
    char msg_tr[512];
    snprintf(msg_tr, sizeof msg_tr, "%s", gan_error_last());
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_rl), 0);
    assert_int_equal(sigaction(SIGXFSZ, &saved_sa, NULL), 0);

    if (rc_net != GAN_EIO || !strstr(msg_net, "unchanged")) fail_msg("net save: %d %s", rc_net, msg_net);
    if (rc_tr != GAN_EIO || !strstr(msg_tr, "unchanged")) fail_msg("trainer save: %d %s", rc_tr, msg_tr);
    size_t now_n;
    uint8_t *now = test_read_file(path, &now_n);
    assert_int_equal(now_n, old_n);
    assert_memory_equal(now, old, old_n);
    free(now);
    now = test_read_file(tpath, &now_n);
    assert_int_equal(now_n, old_n);
    assert_memory_equal(now, old, old_n);
    free(now);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 2);
    assert_int_equal(temps, 0);
    gan_net *back;
    assert_int_equal(gan_net_load(&back, path), GAN_OK); /* the old file still loads */
    assert_memory_equal(gan_net_params(back), gan_net_params(small), 135 * sizeof(float));

    /* with the limit lifted the same saves succeed */
    assert_int_equal(gan_net_save(big, path), GAN_OK);
    assert_int_equal(gan_trainer_save(r.t, tpath), GAN_OK);
    assert_int_equal(count_entries(dir, &temps), 2);
    assert_int_equal(temps, 0);

    free(old);
    gan_net_free(back);
    gan_net_free(small);
    gan_net_free(big);
    rig_free(&r);
    remove_dir(dir);
}

static void file_errors(void **state)
{
    (void)state;
    char dir[512], path[700];
    make_dir(dir, sizeof dir);
    gan_net *n = all_kinds_net(), *m = (gan_net *)&n;
    rig r;
    rig_make(&r, RIG_SGD, 1);
    snprintf(path, sizeof path, "%s/no/such/dir/model.gan", dir);
    assert_error(gan_net_save(n, path), GAN_EIO, "model.gan");
    assert_error(gan_trainer_save(r.t, path), GAN_EIO, "No such file");
    assert_error(gan_net_load(&m, path), GAN_EIO, "cannot open");
    assert_null(m);
    image s = snap(r.t);
    assert_error(gan_trainer_load(r.t, path), GAN_EIO, "cannot open");
    assert_error(gan_net_load(&m, dir), GAN_EIO, "not a regular file");
    assert_error(gan_trainer_load(r.t, dir), GAN_EIO, "not a regular file");
    /* a FIFO is refused at once, without waiting for a writer */
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_error(gan_net_load(&m, path), GAN_EIO, "not a regular file");
    assert_error(gan_trainer_load(r.t, path), GAN_EIO, "not a regular file");
    unlink(path);
    assert_same_image(r.t, &s);
    int temps;
    assert_int_equal(count_entries(dir, &temps), 0);

    /* the wrong kind of file */
    snprintf(path, sizeof path, "%s/net.gan", dir);
    assert_int_equal(gan_net_save(n, path), GAN_OK);
    assert_error(gan_trainer_load(r.t, path), GAN_EFORMAT, "a net file");
    snprintf(path, sizeof path, "%s/ckpt.gan", dir);
    assert_int_equal(gan_trainer_save(r.t, path), GAN_OK);
    assert_error(gan_net_load(&m, path), GAN_EFORMAT, "trainer checkpoint");
    assert_same_image(r.t, &s);

    /* argument checks */
    size_t size;
    assert_error(gan_net_save(NULL, path), GAN_EINVAL, "NULL");
    assert_error(gan_net_save(n, NULL), GAN_EINVAL, "NULL");
    assert_error(gan_net_save(n, ""), GAN_EINVAL, "empty");
    assert_error(gan_net_save_mem(n, NULL, 0, NULL), GAN_EINVAL, "NULL");
    assert_error(gan_net_load(NULL, path), GAN_EINVAL, "NULL");
    assert_error(gan_net_load_mem(&m, NULL, 10), GAN_EINVAL, "NULL");
    assert_error(gan_net_load_mem(&m, NULL, 0), GAN_EFORMAT, "truncated");
    assert_error(gan_trainer_save_mem(NULL, NULL, 0, &size), GAN_EINVAL, "NULL");
    assert_error(gan_trainer_load_mem(NULL, s.b, s.n), GAN_EINVAL, "NULL");
    assert_error(gan_trainer_load(r.t, NULL), GAN_EINVAL, "NULL");
    assert_error(gan_trainer_save_mem(r.t, s.b, s.n - 1, &size), GAN_EINVAL, "needed");
    assert_int_equal(size, s.n);

    free(s.b);
    gan_net_free(n);
    rig_free(&r);
    remove_dir(dir);
}

/* ---------------------------------------------------------------- damage */

static void truncation_at_every_offset(void **state)
{
    (void)state;
    gan_net *n = all_kinds_net();
    fill_formula(n, 3);
    size_t size;
    uint8_t *f = save_net_mem(n, &size);
    for (size_t len = 0; len < size; len++) {
        gan_net *m = (gan_net *)&f;
        int rc = gan_net_load_mem(&m, f, len);
        if (rc != GAN_EFORMAT || !strstr(gan_error_last(), "truncated"))
            fail_msg("net cut at %zu of %zu: %d %s", len, size, rc, gan_error_last());
        assert_null(m);
    }
    rig r, t;
    image ck, before;
    load_setup(&r, &t, &ck, &before, RIG_ADAM, 2);
    for (size_t len = 0; len < ck.n; len++) {
        int rc = gan_trainer_load_mem(t.t, ck.b, len);
        if (rc != GAN_EFORMAT || !strstr(gan_error_last(), "truncated"))
            fail_msg("checkpoint cut at %zu of %zu: %d %s", len, ck.n, rc, gan_error_last());
        if (len % 97 == 0) assert_same_image(t.t, &before);
    }
    assert_same_image(t.t, &before);
    free(f);
    gan_net_free(n);
    load_teardown(&r, &t, &ck, &before);
}

static void every_bit_flip_is_caught(void **state)
{
    (void)state;
    gan_net *n = all_kinds_net();
    fill_formula(n, 4);
    size_t size;
    uint8_t *f = save_net_mem(n, &size);
    for (size_t bit = 0; bit < size * 8; bit++) {
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        gan_net *m = (gan_net *)&f;
        int rc = gan_net_load_mem(&m, f, size);
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rc != GAN_EFORMAT || gan_error_last()[0] == '\0')
            fail_msg("net bit %zu (byte %zu): %d %s", bit, bit / 8, rc, gan_error_last());
        assert_null(m);
    }
    /* a checkpoint too: every byte of it is covered by a CRC */
    rig r, t;
    image ck, before;
    load_setup(&r, &t, &ck, &before, RIG_SGD, 1);
    for (size_t bit = 0; bit < ck.n * 8; bit++) {
        ck.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = gan_trainer_load_mem(t.t, ck.b, ck.n);
        ck.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (rc != GAN_EFORMAT || gan_error_last()[0] == '\0')
            fail_msg("checkpoint bit %zu (byte %zu): %d %s", bit, bit / 8, rc, gan_error_last());
    }
    assert_same_image(t.t, &before);
    assert_int_equal(gan_trainer_load_mem(t.t, ck.b, ck.n), GAN_OK);
    free(f);
    gan_net_free(n);
    load_teardown(&r, &t, &ck, &before);
}

static void magic_version_and_flags(void **state)
{
    (void)state;
    gan_net *n = all_kinds_net(), *m;
    size_t size;
    uint8_t *f = save_net_mem(n, &size);
    uint8_t *g = malloc(size);

    memcpy(g, f, size);
    g[1] = 'X';
    assert_error(gan_net_load_mem(&m, g, size), GAN_EFORMAT, "not a libgan file");
    assert_error(gan_net_load_mem(&m, "hello", 5), GAN_EFORMAT, "not a libgan file");
    assert_error(gan_net_load_mem(&m, MAGIC, 5), GAN_EFORMAT, "truncated");

    /* a future format version, with a valid header CRC */
    memcpy(g, f, size);
    wr32(g + 8, 3);
    wr32(g + 16, (uint32_t)crc32(0, g, 16));
    assert_error(gan_net_load_mem(&m, g, size), GAN_EVERSION, "version 3");
    assert_null(m);
    wr32(g + 8, 0);
    wr32(g + 16, (uint32_t)crc32(0, g, 16));
    assert_error(gan_net_load_mem(&m, g, size), GAN_EFORMAT, "version 0");
    /* a layer kind added by a later version: its record's framing still reads */
    memcpy(g, f, size);
    patch32(g, size, "NET ", 0, 32, 99);
    assert_error(gan_net_load_mem(&m, g, size), GAN_EVERSION, "net layer 0: layer kind 99 is unknown to libgan");
    assert_null(m);
    /* an unknown kind of file */
    memcpy(g, f, size);
    wr32(g + 12, 9);
    wr32(g + 16, (uint32_t)crc32(0, g, 16));
    assert_error(gan_net_load_mem(&m, g, size), GAN_EFORMAT, "unknown kind");

    /* a reserved flag bit on a known chunk: written by a newer library */
    memcpy(g, f, size);
    size_t pos = find_chunk(g, size, "PARM", 0);
    wr32(g + pos + 4, 3);
    fix_crc(g, pos);
    assert_error(gan_net_load_mem(&m, g, size), GAN_EVERSION, "flags");
    /* bytes after END */
    uint8_t *h = malloc(size + 1);
    memcpy(h, f, size);
    h[size] = 0;
    assert_error(gan_net_load_mem(&m, h, size + 1), GAN_EFORMAT, "follow the END");
    /* a repeated chunk */
    bytes b = {0};
    b_put(&b, f, find_chunk(f, size, "END ", 0));
    pos = find_chunk(f, size, "PARM", 0);
    b_put(&b, f + pos, size - pos); /* PARM again, then END */
    assert_error(gan_net_load_mem(&m, b.b, b.n), GAN_EFORMAT, "repeats");
    free(b.b);
    free(h);
    free(f);
    free(g);
    gan_net_free(n);
}

static void unknown_chunks_are_skipped(void **state)
{
    (void)state;
    gan_net *n = all_kinds_net(), *m;
    fill_formula(n, 6);
    size_t size;
    uint8_t *f = save_net_mem(n, &size);
    size_t end = find_chunk(f, size, "END ", 0);
    /* header, an optional chunk, NET, another optional one, PARM, END */
    bytes b = {0};
    b_put(&b, f, 20);
    b_chunk(&b, "XTRA", 0, "hello", 5);
    size_t parm = find_chunk(f, size, "PARM", 0);
    b_put(&b, f + 20, parm - 20);
    b_chunk(&b, "note", 0, "written by a later version", 26);
    b_chunk(&b, "zero", 0, NULL, 0);
    b_put(&b, f + parm, size - parm);
    assert_int_equal(gan_net_load_mem(&m, b.b, b.n), GAN_OK);
    assert_memory_equal(gan_net_params(m), gan_net_params(n), 135 * sizeof(float));
    gan_net_free(m);
    /* a checkpoint with an optional chunk loads too */
    rig r, t;
    rig_make(&r, RIG_SGD, 1);
    image ck = snap(r.t);
    bytes c = {0};
    size_t cend = find_chunk(ck.b, ck.n, "END ", 0);
    b_put(&c, ck.b, cend);
    b_chunk(&c, "XTRA", 0, "abc", 3);
    b_put(&c, ck.b + cend, ck.n - cend);
    rig_make(&t, RIG_SGD, 0);
    assert_int_equal(gan_trainer_load_mem(t.t, c.b, c.n), GAN_OK);
    assert_same_image(t.t, &ck);
    /* a critical chunk this version does not know is refused */
    b.n = 0;
    b_put(&b, f, end);
    b_chunk(&b, "MUST", 1, "x", 1);
    b_put(&b, f + end, size - end);
    assert_error(gan_net_load_mem(&m, b.b, b.n), GAN_EVERSION, "critical");
    assert_null(m);
    free(b.b);
    free(c.b);
    free(ck.b);
    free(f);
    gan_net_free(n);
    rig_free(&r);
    rig_free(&t);
}

/* Hostile files with valid CRCs: absurd sizes are refused without a large allocation. */
static size_t largest_alloc;
static void *max_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size > largest_alloc) largest_alloc = size;
    return malloc(size);
}
static void max_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void net_file_with_layer(bytes *b, uint64_t in_dim, uint32_t n_layers, const uint64_t rec[5], uint64_t count,
                                size_t parm_floats)
{
    bytes p = {0};
    b->n = 0;
    b_header(b, 1, 1);
    b_u32(&p, 0);
    b_u32(&p, n_layers);
    b_u64(&p, in_dim);
    if (rec) {
        b_u32(&p, (uint32_t)rec[0]);
        b_u32(&p, (uint32_t)rec[1]);
        b_u64(&p, rec[2]);
        b_u64(&p, rec[3]);
        b_u64(&p, rec[4]);
        b_u32(&p, 0);
        b_u32(&p, 0);
    }
    b_chunk(b, "NET ", 1, p.b, p.n);
    p.n = 0;
    b_u32(&p, 0);
    b_u32(&p, 0);
    b_u64(&p, count);
    for (size_t i = 0; i < parm_floats; i++) b_f32(&p, 0.5f);
    b_chunk(b, "PARM", 1, p.b, p.n);
    b_chunk(b, "END ", 1, NULL, 0);
    free(p.b);
}

static void hostile_sizes(void **state)
{
    (void)state;
    gan_allocator a = {max_malloc, max_free, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
    gan_net *m;
    bytes b = {0};
    const uint64_t big = (uint64_t)1 << 30;
    struct {
        uint64_t in;
        uint32_t layers;
        uint64_t rec[5]; /* kind, act, in, out, pieces */
        uint64_t count;
        const char *needle;
    } cases[] = {
        {big, 1, {GAN_LAYER_DENSE, 0, big, big, 0}, big * big + big, "parameters need"},
        {big, 1, {GAN_LAYER_DENSE, 0, big, big, 0}, 3, "layers have"},
        {4, 1, {GAN_LAYER_MAXOUT, 0, 4, big, big}, 0, "weights overflow"},
        {4, 1, {GAN_LAYER_DENSE, 0, 4, (uint64_t)1 << 40, 0}, 0, "weights overflow"},
        {(uint64_t)1 << 40, 0, {0}, 0, "input shape"},
        {0, 0, {0}, 0, "input shape"},
        {4, 0xFFFFFFFFu, {0}, 0, "more than"},
        {4, 2, {GAN_LAYER_DENSE, 0, 4, 4, 0}, 20, "too short for 2 layers"},
        {4, 1, {GAN_LAYER_DENSE, 0, 5, 4, 0}, 24, "takes 5 inputs"},
        {4, 1, {GAN_LAYER_DENSE, 0, 4, 0, 0}, 0, "must be positive"},
        {4, 1, {GAN_LAYER_DENSE, 7, 4, 4, 0}, 20, "unused"},
        {4, 1, {GAN_LAYER_ACTIVATION, 9, 4, 4, 0}, 0, "unknown activation"},
        {4, 1, {GAN_LAYER_ACTIVATION, GAN_ACT_RELU, 4, 5, 0}, 0, "width changes"},
        {4, 1, {GAN_LAYER_DROPOUT, 0, 4, 4, 0}, 0, "keep_prob"},
        {4, 1, {GAN_LAYER_RESHAPE, 0, 4, 4, 0}, 0, "version 2"},
        {4, 1, {77, 0, 4, 4, 0}, 0, "unknown layer kind"},
        {4, 1, {GAN_LAYER_DENSE, 0, 4, 4, 0}, (uint64_t)1 << 62, "layers have"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        largest_alloc = 0;
        net_file_with_layer(&b, cases[i].in, cases[i].layers, cases[i].layers ? cases[i].rec : NULL, cases[i].count, 0);
        int rc = gan_net_load_mem(&m, b.b, b.n);
        if (rc != GAN_EFORMAT || !strstr(gan_error_last(), cases[i].needle))
            fail_msg("case %zu: %d %s", i, rc, gan_error_last());
        assert_null(m);
        assert_true(largest_alloc < 4096);
    }
    /* a chunk announcing 2^63 bytes */
    b.n = 0;
    b_header(&b, 1, 1);
    b_u32(&b, fourcc("NET "));
    b_u32(&b, 1);
    b_u64(&b, (uint64_t)1 << 63);
    b_u32(&b, 0);
    assert_error(gan_net_load_mem(&m, b.b, b.n), GAN_EFORMAT, "announces");
    /* a valid handcrafted file, to prove the crafting right */
    uint64_t rec[5] = {GAN_LAYER_DENSE, 0, 4, 4, 0};
    net_file_with_layer(&b, 4, 1, rec, 20, 20);
    assert_int_equal(gan_net_load_mem(&m, b.b, b.n), GAN_OK);
    assert_true(gan_net_params(m)[19] == 0.5f);
    gan_net_free(m);
    free(b.b);

    /* checkpoints: patched fields with valid CRCs */
    rig r, t;
    image ck, before;
    load_setup(&r, &t, &ck, &before, RIG_SGD, 1);
    uint8_t *f = malloc(ck.n);
    struct {
        const char *type;
        int nth;
        size_t off;
        int wide;
        uint64_t value;
        int code;
        const char *needle;
    } patches[] = {
        {"OPTM", 0, 40, 1, (uint64_t)1 << 61, GAN_EFORMAT, "state for"},
        {"OPTM", 0, 40, 1, 0, GAN_EFORMAT, "bytes but its state needs"},
        {"OPTM", 1, 4, 0, 2, GAN_EFORMAT, "adam in the file, sgd in the trainer"},
        {"OPTM", 0, 4, 0, 7, GAN_EFORMAT, "unknown kind"},
        {"OPTM", 0, 16, 0, 0x7FC00000u, GAN_EFORMAT, "lr"},
        {"OPTM", 0, 20, 0, 0x3F800000u, GAN_EFORMAT, "momentum"},
        {"OPTM", 0, 8, 0, 2, GAN_EFORMAT, "nesterov"},
        {"EMA ", 0, 0, 1, (uint64_t)1 << 62, GAN_EFORMAT, "EMA chunk holds"},
        {"RNG ", 0, 0, 0, 5, GAN_EFORMAT, "streams"},
        {"RNG ", 0, 16, 1, 2, GAN_EFORMAT, "rng stream 0"},
        {"RNG ", 0, 8 + 24 * 3 + 16, 0, 2, GAN_EFORMAT, "rng stream 3"},
        {"NET ", 1, 8, 1, 6, GAN_EFORMAT, "D takes 6x1x1 inputs in the file, 5x1x1 in the trainer"},
        {"NET ", 1, 32 + 8, 1, 6, GAN_EFORMAT, "D layer 0: dense layer 0 expects 6 inputs, got 5"},
        {"NET ", 1, 32 + 4, 0, 200, GAN_EFORMAT, "D layer 0 announces 200 bytes"},
        {"NET ", 1, 32, 0, GAN_LAYER_MAXOUT, GAN_EFORMAT, "a maxout record of 16 bytes, not 24"},
        {"NET ", 0, 0, 0, 2, GAN_EFORMAT, "repeats"},
        {"NET ", 0, 0, 0, 0, GAN_EFORMAT, "role 0"},
        {"PARM", 1, 8, 1, 12345, GAN_EFORMAT, "PARM chunk holds"},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        memcpy(f, ck.b, ck.n);
        if (patches[i].wide) patch64(f, ck.n, patches[i].type, patches[i].nth, patches[i].off, patches[i].value);
        else patch32(f, ck.n, patches[i].type, patches[i].nth, patches[i].off, (uint32_t)patches[i].value);
        largest_alloc = 0;
        int rc = gan_trainer_load_mem(t.t, f, ck.n);
        if (rc != patches[i].code || !strstr(gan_error_last(), patches[i].needle))
            fail_msg("patch %zu (%s +%zu): %d %s", i, patches[i].type, patches[i].off, rc, gan_error_last());
        assert_true(largest_alloc < 4096);
        assert_same_image(t.t, &before);
    }
    /* the settings, each refused by its setter's check, in a TSET entry and in the TRNR
     * chunk of earlier builds alike */
    struct {
        uint32_t setting;
        size_t off; /* in the value */
        int wide;
        uint64_t value;
        int code;
        const char *needle;
    } settings[] = {
        {1, 0, 1, (uint64_t)1 << 40, GAN_EFORMAT, "the trainer's settings: the batch size must be"},
        {1, 0, 1, 0, GAN_EFORMAT, "batch size"},
        {2, 0, 1, 1, GAN_EFORMAT, "condition size 1 does not fit"},
        {4, 0, 0, 0, GAN_EFORMAT, "at least 1"},
        {5, 0, 0, 0, GAN_EFORMAT, "G updates per step must be at least 1"},
        {6, 0, 0, 4, GAN_EFORMAT, "update mode"},
        {7, 0, 0, 6, GAN_EFORMAT, "unknown loss"},
        {8, 0, 0, 0, GAN_EFORMAT, "real target"},
        {9, 0, 0, 0xFF800000u, GAN_EFORMAT, "clip"},
        {10, 0, 0, 0x3F800000u, GAN_EFORMAT, "EMA decay"},
        {10, 0, 0, 0, GAN_EFORMAT, "EMA chunk but"},
        {11, 0, 0, 3, GAN_EFORMAT, "noise kind"},
        {11, 0, 0, 0, GAN_ESTATE, "custom noise"},
        {11, 4, 0, 0, GAN_EFORMAT, "noise scale"},
        {12, 0, 0, 2, GAN_EFORMAT, "unknown batch-norm statistics 2"},
    };
    bytes old = {0};
    as_trnr(&old, ck.b, ck.n);
    uint8_t *g = malloc(old.n);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        size_t len, at = tset_value(ck.b, ck.n, settings[i].setting, &len);
        assert_true(at != SIZE_MAX);
        memcpy(f, ck.b, ck.n);
        memcpy(g, old.b, old.n);
        size_t trnr = find_chunk(g, old.n, "TRNR", 0), in_trnr = trnr + 16 + TRNR_AT[settings[i].setting];
        if (settings[i].wide) {
            wr64(f + at + settings[i].off, settings[i].value);
            wr64(g + in_trnr + settings[i].off, settings[i].value);
        } else {
            wr32(f + at + settings[i].off, (uint32_t)settings[i].value);
            wr32(g + in_trnr + settings[i].off, (uint32_t)settings[i].value);
        }
        fix_crc(f, find_chunk(f, ck.n, "TSET", 0));
        fix_crc(g, trnr);
        for (int form = 0; form < 2; form++) {
            largest_alloc = 0;
            int rc = form ? gan_trainer_load_mem(t.t, g, old.n) : gan_trainer_load_mem(t.t, f, ck.n);
            if (rc != settings[i].code || !strstr(gan_error_last(), settings[i].needle))
                fail_msg("setting %lu +%zu in %s: %d %s", (unsigned long)settings[i].setting, settings[i].off,
                         form ? "TRNR" : "TSET", rc, gan_error_last());
            assert_true(largest_alloc < 4096);
            assert_same_image(t.t, &before);
        }
    }
    free(g);
    /* a missing chunk: the EMA one, cut out */
    size_t ema = find_chunk(ck.b, ck.n, "EMA ", 0), ema_end = ema + 20 + (size_t)rd64(ck.b + ema + 8);
    memcpy(f, ck.b, ema);
    memcpy(f + ema, ck.b + ema_end, ck.n - ema_end);
    assert_error(gan_trainer_load_mem(t.t, f, ck.n - (ema_end - ema)), GAN_EFORMAT, "no EMA chunk");
    assert_same_image(t.t, &before);
    /* unpatched, the TRNR form loads */
    assert_int_equal(gan_trainer_load_mem(t.t, old.b, old.n), GAN_OK);
    assert_same_image(t.t, &ck);
    free(old.b);
    free(f);
    load_teardown(&r, &t, &ck, &before);
    gan_set_allocator(NULL);
}

static void architecture_mismatch(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, RIG_SGD, 1);
    image ck = snap(r.t);
    /* D with a maxout where the file has a dense layer */
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    gan_layer *l;
    assert_int_equal(gan_net_create(&g, 6), GAN_OK);
    add(g, gan_layer_dense(&l, 6, 16), &l);
    add(g, gan_layer_leaky_relu(&l, 0.2f), &l);
    add(g, gan_layer_dense(&l, 16, 3), &l);
    assert_int_equal(gan_net_create(&d, 5), GAN_OK);
    add(d, gan_layer_dense(&l, 5, 16), &l);
    add(d, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    add(d, gan_layer_maxout(&l, 16, 1, 3), &l);
    assert_int_equal(gan_optim_sgd(&og, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&od, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    image before = snap(t);
    assert_error(gan_trainer_load_mem(t, ck.b, ck.n), GAN_EFORMAT,
                 "D layer 2: dropout(0.8) of 16 in the file, maxout 16->1x3 in the trainer");
    assert_same_image(t, &before);
    gan_trainer_free(t);
    gan_net_free(d);
    /* a missing layer */
    assert_int_equal(gan_net_create(&d, 5), GAN_OK);
    add(d, gan_layer_dense(&l, 5, 16), &l);
    add(d, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    add(d, gan_layer_dense(&l, 16, 1), &l);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_error(gan_trainer_load_mem(t, ck.b, ck.n), GAN_EFORMAT, "D layer 2: dropout(0.8) of 16 in the file, dense");
    gan_trainer_free(t);
    gan_net_free(d);
    /* the leaky slope is part of the architecture */
    gan_net_free(g);
    assert_int_equal(gan_net_create(&g, 6), GAN_OK);
    add(g, gan_layer_dense(&l, 6, 16), &l);
    add(g, gan_layer_leaky_relu(&l, 0.3f), &l);
    add(g, gan_layer_dense(&l, 16, 3), &l);
    assert_int_equal(gan_net_create(&d, 5), GAN_OK);
    add(d, gan_layer_dense(&l, 5, 16), &l);
    add(d, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    add(d, gan_layer_dropout(&l, 0.8f), &l);
    add(d, gan_layer_dense(&l, 16, 1), &l);
    assert_int_equal(gan_trainer_create(&t, g, d, og, od), GAN_OK);
    assert_error(gan_trainer_load_mem(t, ck.b, ck.n), GAN_EFORMAT,
                 "G layer 1: leaky_relu(0.2) of 16 in the file, leaky_relu(0.3) of 16 in the trainer");
    gan_trainer_free(t);
    gan_net_free(g);
    gan_net_free(d);
    gan_optim_free(og);
    gan_optim_free(od);
    free(ck.b);
    free(before.b);
    rig_free(&r);
}

static void noise_callbacks(void **state)
{
    (void)state;
    rig a, b;
    /* saved with a custom noise callback */
    rig_make(&a, RIG_ADAM, 1);
    assert_int_equal(gan_trainer_set_noise(a.t, custom_noise, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(a.t, 2, NULL, NULL), GAN_OK);
    image ck = snap(a.t);
    rig_make(&b, RIG_ADAM, 0);
    image before = snap(b.t);
    assert_error(gan_trainer_load_mem(b.t, ck.b, ck.n), GAN_ESTATE, "gan_trainer_set_noise");
    assert_same_image(b.t, &before);
    assert_int_equal(gan_trainer_set_noise(b.t, custom_noise, NULL), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(b.t, ck.b, ck.n), GAN_OK);
    assert_same_image(b.t, &ck);
    assert_int_equal(gan_trainer_run(a.t, 2, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 2, NULL, NULL), GAN_OK);
    image x = snap(a.t), y = snap(b.t);
    assert_memory_equal(x.b, y.b, x.n);
    /* a built-in noise checkpoint replaces the target's custom callback */
    rig c;
    rig_make(&c, RIG_ADAM, 1);
    image ck2 = snap(c.t);
    assert_int_equal(gan_trainer_load_mem(b.t, ck2.b, ck2.n), GAN_OK);
    assert_same_image(b.t, &ck2);
    assert_int_equal(gan_trainer_run(c.t, 2, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 2, NULL, NULL), GAN_OK);
    free(x.b);
    free(y.b);
    x = snap(c.t);
    y = snap(b.t);
    assert_memory_equal(x.b, y.b, x.n);
    free(x.b);
    free(y.b);
    free(ck.b);
    free(ck2.b);
    free(before.b);
    rig_free(&a);
    rig_free(&b);
    rig_free(&c);
}

/* -------------------------------------------------------- allocation failures */

static void allocation_failures(void **state)
{
    (void)state;
    test_alloc_install();
    size_t failures;
    char dir[512], path[600], tpath[600];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/net.gan", dir);
    snprintf(tpath, sizeof tpath, "%s/ckpt.gan", dir);

    gan_net *n = all_kinds_net(), *m = NULL;
    fill_formula(n, 7);
    size_t size;
    uint8_t *f = save_net_mem(n, &size);
    SWEEP(failures, gan_net_load_mem(&m, f, size), assert_null(m));
    assert_true(failures > 3);
    assert_memory_equal(gan_net_params(m), gan_net_params(n), 135 * sizeof(float));
    gan_net_free(m);

    int temps;
    SWEEP(failures, gan_net_save(n, path), assert_true(count_entries(dir, &temps) == 0 && temps == 0));
    assert_true(failures >= 1);
    SWEEP(failures, gan_net_load(&m, path), assert_null(m));
    assert_true(failures > 3);
    assert_memory_equal(gan_net_params(m), gan_net_params(n), 135 * sizeof(float));
    gan_net_free(m);

    /* t is fresh: no optimizer state and no EMA yet, so the load allocates them */
    rig r, t;
    image ck, before;
    load_setup(&r, &t, &ck, &before, RIG_SGD, 2);
    SWEEP(failures, gan_trainer_load_mem(t.t, ck.b, ck.n), assert_same_image(t.t, &before));
    assert_int_equal(failures, 3);
    assert_same_image(t.t, &ck);
    SWEEP(failures, gan_trainer_save(r.t, tpath), assert_true(count_entries(dir, &temps) == 1 && temps == 0));
    assert_true(failures >= 1);
    rig_free(&t);
    rig_make(&t, RIG_SGD, 0);
    SWEEP(failures, gan_trainer_load(t.t, tpath), assert_same_image(t.t, &before));
    assert_int_equal(failures, 4);
    assert_same_image(t.t, &ck);

    free(f);
    gan_net_free(n);
    load_teardown(&r, &t, &ck, &before);
    remove_dir(dir);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

/* ----------------------------------------------------------- the settings */

static const char *data_dir(void);

typedef struct {
    uint32_t key, len;
    const uint8_t *value;
} entry;

/* The TSET entries of a checkpoint, in file order. */
static size_t tset_entries(const uint8_t *f, size_t size, entry *e, size_t cap)
{
    size_t n = 0, len = 0;
    const uint8_t *p = chunk_payload(f, size, "TSET", &len);
    assert_non_null(p);
    for (size_t at = 0; at < len; at += 8 + e[n - 1].len) {
        assert_true(n < cap && at + 8 <= len);
        e[n++] = (entry){rd32(p + at), rd32(p + at + 4), p + at + 8};
    }
    return n;
}

static void b_entry(bytes *b, uint32_t key, uint32_t len, const void *value)
{
    b_u32(b, key);
    b_u32(b, len);
    if (len) b_put(b, value, len);
}

/* Entries e[0..n) but `skip` (SIZE_MAX: none) into b, after whatever b holds. */
static void b_entries(bytes *b, const entry *e, size_t n, size_t skip)
{
    for (size_t i = 0; i < n; i++)
        if (i != skip) b_entry(b, e[i].key, e[i].len, e[i].value);
}

/* Load ck with its TSET payload replaced by p: the code, and the message holds needle; a
 * failure leaves the trainer as `unchanged` holds it. */
static void load_tset(rig *t, const image *ck, const bytes *p, int code, const char *needle, const image *unchanged)
{
    bytes f = {0};
    with_settings(&f, ck->b, ck->n, "TSET", p->b, p->n);
    int rc = gan_trainer_load_mem(t->t, f.b, f.n);
    if (rc != code || (needle && !strstr(gan_error_last(), needle)))
        fail_msg("expected %d '%s', got %d %s", code, needle ? needle : "", rc, gan_error_last());
    if (rc) assert_same_image(t->t, unchanged);
    free(f.b);
}

/* The TSET chunk: entries of unknown optional settings are skipped, unknown required ones
 * refused, known ones read once each, at their exact length, with their required bit;
 * missing ones refused or defaulted as docs/file-format.md says. */
static void settings_entries(void **state)
{
    (void)state;
    rig r, t;
    image ck, before;
    load_setup(&r, &t, &ck, &before, RIG_SGD, 2);
    entry e[16];
    size_t n = tset_entries(ck.b, ck.n, e, 16);
    /* the writer: every setting, in the order of the numbers, each marked required */
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e[i].key, (uint32_t)(i + 1) | REQUIRED_BIT);
        assert_int_equal(e[i].len, TRNR_LEN[i + 1]);
    }
    bytes p = {0};
    /* refused, the trainer unchanged */
    b_entries(&p, e, n, SIZE_MAX);
    b_entry(&p, 99 | REQUIRED_BIT, 4, "abcd");
    load_tset(&t, &ck, &p, GAN_EVERSION,
              "gan_trainer_load_mem: the TSET chunk: setting 99 (payload byte 160) is required but unknown to libgan",
              &before);
    p.n = 0;
    b_entries(&p, e, n, SIZE_MAX);
    b_entry(&p, e[0].key, e[0].len, e[0].value);
    load_tset(&t, &ck, &p, GAN_EFORMAT, "the batch size entry (payload byte 160) repeats the one at payload byte 0",
              &before);
    p.n = 0;
    b_entry(&p, e[0].key, 4, e[0].value); /* batch size in 4 bytes */
    b_entries(&p, e, n, 0);
    load_tset(&t, &ck, &p, GAN_EFORMAT, "the batch size entry (payload byte 0) is 4 bytes, not 8", &before);
    p.n = 0;
    b_entries(&p, e, n, SIZE_MAX);
    b_u32(&p, 13);
    b_u32(&p, 4);
    b_u32(&p, 0);
    p.n -= 2; /* the value cut off by the chunk's end */
    load_tset(&t, &ck, &p, GAN_EFORMAT, "setting 13 (payload byte 160) announces 4 bytes but 2 remain", &before);
    p.n = 0;
    b_entries(&p, e, n, SIZE_MAX);
    b_put(&p, "\0\0\0", 3);
    load_tset(&t, &ck, &p, GAN_EFORMAT, "the TSET chunk ends with 3 bytes at payload byte 160, too few for an entry",
              &before);
    p.n = 0;
    b_entry(&p, e[0].key & ~REQUIRED_BIT, e[0].len, e[0].value);
    b_entries(&p, e, n, 0);
    load_tset(&t, &ck, &p, GAN_EFORMAT, "the batch size entry (payload byte 0) is not marked required", &before);
    uint32_t settings_without_default[] = {1, 3, 4, 5, 6, 7, 9, 11};
    const char *names[] = {"batch size", "steps completed", "D steps", "G steps", "update", "loss", "clip range",
                           "noise"};
    for (size_t i = 0; i < sizeof settings_without_default / sizeof settings_without_default[0]; i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "the TSET chunk has no %s entry (setting %lu)", names[i],
                 (unsigned long)settings_without_default[i]);
        p.n = 0;
        b_entries(&p, e, n, settings_without_default[i] - 1);
        load_tset(&t, &ck, &p, GAN_EFORMAT, needle, &before);
    }
    /* the gradient penalty (13): written only when set, required; its values checked */
    const struct {
        uint32_t kind, weight, interval;
        const char *needle;
    } penalties[] = {{3, 0x41200000u, 1, "unknown gradient penalty 3"},
                     {1, 0x41200000u, 0, "the penalty's interval must be in [1, 1000000], got 0"},
                     {2, 0x7fc00000u, 1, "the penalty's weight must be finite and > 0, got nan"}};
    for (size_t i = 0; i < sizeof penalties / sizeof penalties[0]; i++) {
        uint8_t v[12];
        wr32(v, penalties[i].kind);
        wr32(v + 4, penalties[i].weight);
        wr32(v + 8, penalties[i].interval);
        p.n = 0;
        b_entries(&p, e, n, SIZE_MAX);
        b_entry(&p, 13 | REQUIRED_BIT, 12, v);
        load_tset(&t, &ck, &p, GAN_EFORMAT, penalties[i].needle, &before);
    }
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_R1, 10.0f, 16), GAN_OK);
    image pen = snap(r.t);
    entry pe[16];
    assert_int_equal(tset_entries(pen.b, pen.n, pe, 16), 13);
    assert_int_equal(pe[12].key, 13 | REQUIRED_BIT);
    assert_int_equal(rd32(pe[12].value), GAN_PENALTY_R1);
    assert_int_equal(rd32(pe[12].value + 8), 16);
    free(pen.b);
    assert_int_equal(gan_trainer_set_gradient_penalty(r.t, GAN_PENALTY_NONE, 0.0f, 1), GAN_OK);
    p.n = 0;
    b_entries(&p, e, n, 9); /* no EMA decay: the default 0, but the file has an EMA chunk */
    load_tset(&t, &ck, &p, GAN_EFORMAT, "an EMA chunk but the EMA decay is 0", &before);
    /* two settings chunks, or none */
    bytes f = {0};
    uint8_t trnr[TRNR_SIZE];
    settings_image(ck.b, ck.n, trnr);
    size_t end = find_chunk(ck.b, ck.n, "END ", 0);
    b_put(&f, ck.b, end);
    b_chunk(&f, "TRNR", 1, trnr, TRNR_SIZE);
    b_put(&f, ck.b + end, ck.n - end);
    assert_error(gan_trainer_load_mem(t.t, f.b, f.n), GAN_EFORMAT, "two settings chunks: TSET at byte");
    with_settings(&f, ck.b, ck.n, NULL, NULL, 0);
    assert_error(gan_trainer_load_mem(t.t, f.b, f.n), GAN_EFORMAT, "no TSET chunk");
    assert_same_image(t.t, &before);

    /* loaded: unknown optional entries anywhere (an empty one too), skipped and not saved */
    p.n = 0;
    b_entry(&p, 99, 5, "hello");
    b_entries(&p, e, 6, SIZE_MAX);
    b_entry(&p, 0x7FFFFFFFu, 0, NULL);
    b_entries(&p, e + 6, n - 6, SIZE_MAX);
    b_entry(&p, 100, 3, "abc");
    load_tset(&t, &ck, &p, GAN_OK, NULL, NULL);
    assert_same_image(t.t, &ck);
    /* in any order */
    p.n = 0;
    for (size_t i = n; i-- > 0;) b_entry(&p, e[i].key, e[i].len, e[i].value);
    rig_free(&t);
    rig_make(&t, RIG_SGD, 0);
    load_tset(&t, &ck, &p, GAN_OK, NULL, NULL);
    assert_same_image(t.t, &ck);
    /* without the settings that have defaults (and without the EMA, whose chunk goes
     * too): no condition, no label smoothing, running statistics */
    p.n = 0;
    for (size_t i = 0; i < n; i++)
        if (i != 1 && i != 7 && i != 9 && i != 11) b_entry(&p, e[i].key, e[i].len, e[i].value);
    with_settings(&f, ck.b, ck.n, "TSET", p.b, p.n);
    size_t ema = find_chunk(f.b, f.n, "EMA ", 0), ema_len = 20 + (size_t)rd64(f.b + ema + 8);
    memmove(f.b + ema, f.b + ema + ema_len, f.n - ema - ema_len);
    f.n -= ema_len;
    assert_int_equal(gan_trainer_set_generate_stats(t.t, GAN_STATS_BATCH), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(t.t, f.b, f.n), GAN_OK);
    assert_int_equal(gan_trainer_cond_dim(t.t), 0);
    image s = snap(t.t);
    uint8_t got[TRNR_SIZE];
    settings_image(s.b, s.n, got);
    assert_true(find_chunk(s.b, s.n, "EMA ", 0) == SIZE_MAX);
    wr64(trnr + 8, 0);             /* condition size */
    wr32(trnr + 40, 0x3F800000u); /* real target 1 */
    wr32(trnr + 48, 0);           /* EMA off */
    wr32(trnr + 60, GAN_STATS_RUNNING);
    assert_memory_equal(got, trnr, TRNR_SIZE);
    free(s.b);
    free(f.b);
    free(p.b);
    load_teardown(&r, &t, &ck, &before);
}

/* A checkpoint of the build before the TSET chunk (tests/data/trainer_trnr_v2.gan, format
 * version 2 with the TRNR chunk) loads; it saves to the same chunks but for the settings,
 * which are the file's, and it trains on as its re-saved form does. It was written by
 * libgan at commit 786990c from test_serial's RIG_SGD nets and optimizers with every setting
 * away from its default: seed 31, batch 16, condition 2, D steps 2, G steps 3, simultaneous
 * updates, Wasserstein loss, real target 0.875, clip 0.25, normal noise of scale 0.75,
 * batch statistics for generation, Xavier weights from the init stream, EMA 0.75, and 3
 * steps of training. */
static void settings_of_earlier_builds(void **state)
{
    (void)state;
    char path[4096];
    size_t size;
    snprintf(path, sizeof path, "%s/trainer_trnr_v2.gan", data_dir());
    uint8_t *file = test_read_file(path, &size);
    assert_true(find_chunk(file, size, "TRNR", 0) != SIZE_MAX);
    assert_int_equal(rd32(file + 8), 2);
    uint8_t img[TRNR_SIZE];
    settings_image(file, size, img);
    assert_int_equal(rd64(img), 16);
    assert_int_equal(rd64(img + 8), 2);
    assert_int_equal(rd64(img + 16), 3);
    assert_int_equal(rd32(img + 24), 2);
    assert_int_equal(rd32(img + 28), 3);
    assert_int_equal(rd32(img + 32), GAN_UPDATE_SIMULTANEOUS);
    assert_int_equal(rd32(img + 36), GAN_LOSS_WASSERSTEIN);
    assert_int_equal(rd32(img + 40), 0x3F600000u); /* 0.875 */
    assert_int_equal(rd32(img + 44), 0x3E800000u); /* 0.25 */
    assert_int_equal(rd32(img + 48), 0x3F400000u); /* 0.75 */
    assert_int_equal(rd32(img + 52), 2);           /* built-in normal noise */
    assert_int_equal(rd32(img + 56), 0x3F400000u);
    assert_int_equal(rd32(img + 60), GAN_STATS_BATCH);

    rig a, b;
    rig_make(&a, RIG_SGD, 0);
    assert_int_equal(gan_trainer_load(a.t, path), GAN_OK);
    assert_int_equal(gan_trainer_steps(a.t), 3);
    assert_int_equal(gan_trainer_cond_dim(a.t), 2);
    assert_int_equal(gan_trainer_noise_dim(a.t), 4);
    assert_true(gan_optim_get_lr(a.og) == 0.05f && gan_optim_get_momentum(a.og) == 0.9f);
    assert_true(gan_optim_get_lr(a.od) == 0.02f && gan_optim_get_momentum(a.od) == 0.5f);
    image s = snap(a.t);
    assert_true(find_chunk(s.b, s.n, "TSET", 0) != SIZE_MAX && find_chunk(s.b, s.n, "TRNR", 0) == SIZE_MAX);
    assert_same_but_settings(s.b, s.n, file, size);
    /* the re-saved file loads to the same trainer, and both train on alike */
    rig_make(&b, RIG_SGD, 0);
    assert_int_equal(gan_trainer_load_mem(b.t, s.b, s.n), GAN_OK);
    assert_same_image(b.t, &s);
    assert_int_equal(gan_trainer_run(a.t, 2, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 2, NULL, NULL), GAN_OK);
    image x = snap(a.t), y = snap(b.t);
    assert_int_equal(x.n, y.n);
    assert_memory_equal(x.b, y.b, x.n);
    /* the TRNR form of a checkpoint saved today loads to what it holds (hostile_sizes
     * patches each field of it) */
    bytes old = {0};
    as_trnr(&old, x.b, x.n);
    rig_free(&b);
    rig_make(&b, RIG_SGD, 0);
    assert_int_equal(gan_trainer_load_mem(b.t, old.b, old.n), GAN_OK);
    assert_same_image(b.t, &x);
    free(old.b);
    free(x.b);
    free(y.b);
    free(s.b);
    free(file);
    rig_free(&a);
    rig_free(&b);
}

/* ------------------------------------------------------------------ golden */

static const char *data_dir(void)
{
    const char *d = getenv("GAN_TEST_DATA");
    if (!d || !*d) fail_msg("GAN_TEST_DATA is not set (tests/meson.build sets it)");
    return d;
}

/* The golden trainer: 3 steps at lr 0, so the weights stay at the formula while the
 * optimizers, rngs and EMA have real state. */
static void golden_trainer(rig *r)
{
    rig_make(r, RIG_GOLDEN, 1);
    assert_int_equal(gan_trainer_run(r->t, 3, NULL, NULL), GAN_OK);
}

static uint8_t *golden(const char *name, size_t *size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    return test_read_file(path, size);
}

/* A golden net file loads to the net built today, and saves to the bytes of `v2`. */
static void golden_net(const char *name, int with_reshape)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    gan_net *n;
    assert_int_equal(gan_net_load(&n, path), GAN_OK);
    gan_net *ref = kinds_net(with_reshape);
    fill_formula(ref, 11);
    size_t layers = gan_net_num_layers(ref);
    assert_int_equal(gan_net_num_layers(n), layers);
    assert_int_equal(gan_net_in_dim(n), 5);
    for (size_t i = 0; i < layers; i++) {
        assert_int_equal(gan_layer_kind(gan_net_layer(n, i)), gan_layer_kind(gan_net_layer(ref, i)));
        assert_int_equal(gan_layer_out_dim(gan_net_layer(n, i)), gan_layer_out_dim(gan_net_layer(ref, i)));
    }
    assert_int_equal(gan_net_num_params(n), 135);
    for (size_t i = 0; i < 135; i++) assert_true(gan_net_params(n)[i] == formula(i, 11));
    /* the same architecture as built today (slopes, pieces, keep probabilities), byte for byte */
    size_t a, b;
    uint8_t *loaded = save_net_mem(n, &a), *built = save_net_mem(ref, &b);
    assert_int_equal(a, b);
    assert_memory_equal(loaded, built, a);
    free(loaded);
    free(built);
    gan_net_free(ref);
    gan_net_free(n);
}

/* A golden checkpoint loads into today's rig with every setting, stream and state, and
 * saves to the bytes of golden_trainer_v2_tset.gan: those of golden_trainer_v2.gan (what
 * every build wrote for it before the TSET chunk) but for the settings chunk, whose
 * settings are the same. */
static void golden_checkpoint(const char *name)
{
    char path[4096];
    size_t size;
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    rig t, live;
    rig_make(&t, RIG_GOLDEN, 0);
    assert_int_equal(gan_trainer_load(t.t, path), GAN_OK);
    assert_int_equal(gan_trainer_steps(t.t), 3);
    assert_int_equal(gan_trainer_noise_dim(t.t), 3);
    for (size_t i = 0; i < gan_net_num_params(t.g); i++) assert_true(gan_net_params(t.g)[i] == formula(i, 1));
    for (size_t i = 0; i < gan_net_num_params(t.d); i++) assert_true(gan_net_params(t.d)[i] == formula(i, 2));
    assert_int_equal(gan_optim_steps(t.og), 3);
    assert_int_equal(gan_optim_steps(t.od), 6);
    assert_true(gan_optim_get_lr(t.og) == 0.0f && gan_optim_get_momentum(t.og) == 0.5f);
    assert_true(gan_optim_get_lr(t.od) == 0.0f && gan_optim_get_momentum(t.od) == 0.9f);
    uint8_t *want = golden("golden_trainer_v2_tset.gan", &size);
    image s = snap(t.t);
    assert_int_equal(s.n, size);
    assert_memory_equal(s.b, want, size);
    free(want);
    want = golden("golden_trainer_v2.gan", &size);
    assert_true(find_chunk(want, size, "TRNR", 0) != SIZE_MAX);
    assert_same_but_settings(s.b, s.n, want, size);
    /* the streams are where today's run leaves them (their draws do not depend on BLAS) */
    golden_trainer(&live);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 5; i++)
            assert_true(gan_rng_uniform(gan_trainer_rng(t.t, (gan_stream)k)) ==
                        gan_rng_uniform(gan_trainer_rng(live.t, (gan_stream)k)));
    /* the EMA equals the constant weights (up to rounding): generating with it is G itself */
    float z[2 * 3] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f}, c[2 * 2] = {1, 0, 0, 1}, y1[6], y2[6], gin[2 * 5];
    for (int i = 0; i < 2; i++) {
        memcpy(gin + 5 * i, z + 3 * i, 3 * sizeof(float));
        memcpy(gin + 5 * i + 3, c + 2 * i, 2 * sizeof(float));
    }
    assert_int_equal(gan_trainer_generate(t.t, z, c, 2, y1), GAN_OK);
    assert_int_equal(gan_net_forward(t.g, gin, 2, y2, 0), GAN_OK);
    for (int i = 0; i < 6; i++) assert_true(fabsf(y1[i] - y2[i]) <= 1e-5f);
    free(want);
    free(s.b);
    rig_free(&t);
    rig_free(&live);
}

/* Format version 1 (0.1.0) files keep loading, to what version 2 writes for them. */
static void golden_files(void **state)
{
    (void)state;
    golden_net("golden_net_v1.gan", 0);
    golden_net("golden_net_v2.gan", 1);
    golden_checkpoint("golden_trainer_v1.gan");
    golden_checkpoint("golden_trainer_v2.gan");
    golden_checkpoint("golden_trainer_v2_tset.gan");
    /* today's writer gives the version-2 golden net byte for byte */
    size_t size, now_n;
    uint8_t *want = golden("golden_net_v2.gan", &size);
    gan_net *ref = all_kinds_net();
    fill_formula(ref, 11);
    uint8_t *now = save_net_mem(ref, &now_n);
    assert_int_equal(now_n, size);
    assert_memory_equal(now, want, size);
    free(now);
    free(want);
    gan_net_free(ref);
    /* (a checkpoint trained today is not compared: its optimizer state holds gradients,
     * whose last bits depend on the BLAS; golden_checkpoint compares what loads) */
}

/* Writes the golden files of the current format version (the version-1 ones are frozen):
 * the net file, and the golden checkpoint as today's writer saves it (TSET), from
 * golden_trainer_v2.gan in `dir`, which is frozen too: it holds the TRNR chunk of the
 * builds before, and its optimizer state was trained on another BLAS. */
static int write_golden(const char *dir)
{
    char path[4096];
    gan_net *n = all_kinds_net();
    fill_formula(n, 11);
    snprintf(path, sizeof path, "%s/golden_net_v2.gan", dir);
    int rc = gan_net_save(n, path);
    gan_net_free(n);
    if (rc) {
        fprintf(stderr, "%s\n", gan_error_last());
        return 1;
    }
    rig r;
    rig_make(&r, RIG_GOLDEN, 0);
    snprintf(path, sizeof path, "%s/golden_trainer_v2.gan", dir);
    rc = gan_trainer_load(r.t, path);
    snprintf(path, sizeof path, "%s/golden_trainer_v2_tset.gan", dir);
    if (!rc) rc = gan_trainer_save(r.t, path);
    rig_free(&r);
    if (rc) {
        fprintf(stderr, "%s\n", gan_error_last());
        return 1;
    }
    printf("wrote %s/golden_net_v2.gan and golden_trainer_v2_tset.gan\n", dir);
    return 0;
}

/* A graph's records (kind 65: node count, nodes, inner kind, inner record) forged one
 * field at a time: each refused with a message, a kind unknown to this build as a newer
 * build's file (how a 0.2 build meets kind 65). */
static size_t graph_record(const uint8_t *f, size_t size, size_t nth)
{
    size_t pos = find_chunk(f, size, "NET ", 0), len = (size_t)rd64(f + pos + 8), at = pos + 16 + 32;
    assert_true(pos != SIZE_MAX);
    for (; at + 8 <= pos + 16 + len; at += 8 + rd32(f + at + 4))
        if (rd32(f + at) == 65 && nth-- == 0) return at;
    fail_msg("no graph record");
    return 0;
}

static void load_forged(const uint8_t *good, size_t size, size_t nth, size_t off, uint32_t v, int code,
                        const char *needle)
{
    uint8_t *f = malloc(size);
    assert_non_null(f);
    memcpy(f, good, size);
    wr32(f + graph_record(f, size, nth) + off, v);
    fix_crc(f, find_chunk(f, size, "NET ", 0));
    gan_net *n = (gan_net *)1;
    assert_error(gan_net_load_mem(&n, f, size), code, needle);
    assert_null(n);
    free(f);
}

static void graph_records(void **state)
{
    (void)state;
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, 4), GAN_OK);
    add(n, gan_layer_dense(&l, 4, 3), &l);                      /* node 1 */
    assert_int_equal(gan_layer_dense(&l, 4, 3), GAN_OK);         /* node 2, reads node 0 */
    assert_int_equal(gan_net_add_from(n, l, (const size_t[]){0}, 1), GAN_OK);
    assert_int_equal(gan_layer_add(&l, 2), GAN_OK);              /* node 3 */
    assert_int_equal(gan_net_add_from(n, l, (const size_t[]){1, 2}, 2), GAN_OK);
    size_t size;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *f = malloc(size);
    assert_non_null(f);
    assert_int_equal(gan_net_save_mem(n, f, size, &size), GAN_OK);
    gan_net *back;
    assert_int_equal(gan_net_load_mem(&back, f, size), GAN_OK);
    gan_net_free(back);
    /* Record 0 is layer 1's (node 0), record 1 the add's: payload u32 n, nodes, kind. */
    load_forged(f, size, 1, 8 + 4 + 4, 3, GAN_EFORMAT, "nodes so far are 0 to 2");
    load_forged(f, size, 1, 8, 0, GAN_EFORMAT, "naming 0 nodes");
    load_forged(f, size, 1, 8, 17, GAN_EFORMAT, "naming 17 nodes");
    load_forged(f, size, 1, 8 + 4 + 8, 65, GAN_EFORMAT, "inside a graph record");
    load_forged(f, size, 1, 8 + 4 + 8, 66, GAN_EVERSION, "layer kind 66 is unknown");
    load_forged(f, size, 0, 8 + 4, 1, GAN_EFORMAT, "just the previous node");
    free(f);
    gan_net_free(n);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-golden")) return write_golden(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(net_round_trip),
        cmocka_unit_test(trainer_round_trip),
        cmocka_unit_test(resume_is_exact_sgd),
        cmocka_unit_test(resume_is_exact_adam),
        cmocka_unit_test(atomic_save_survives_write_failure),
        cmocka_unit_test(file_errors),
        cmocka_unit_test(truncation_at_every_offset),
        cmocka_unit_test(every_bit_flip_is_caught),
        cmocka_unit_test(magic_version_and_flags),
        cmocka_unit_test(unknown_chunks_are_skipped),
        cmocka_unit_test(hostile_sizes),
        cmocka_unit_test(architecture_mismatch),
        cmocka_unit_test(noise_callbacks),
        cmocka_unit_test(allocation_failures),
        cmocka_unit_test(settings_entries),
        cmocka_unit_test(settings_of_earlier_builds),
        cmocka_unit_test(golden_files),
        cmocka_unit_test(graph_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
