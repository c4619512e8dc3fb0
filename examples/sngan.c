/* sngan: the ResNet GAN of Miyato et al. (2018) at 32 x 32, as StudioGAN configures it for
 * CIFAR-10, built as libgan graphs (gan_net_add_from: residual blocks, docs/graphs.md).
 *
 *   G: z (128) -> dense 4*4*w -> reshape w x 4 x 4 -> 3 up-blocks to w x 32 x 32
 *      -> batch norm -> ReLU -> conv 3x3 to C -> tanh
 *      up-block: batch norm, ReLU, nearest x2, conv 3x3, batch norm, ReLU, conv 3x3,
 *                plus the shortcut nearest x2, conv 1x1
 *   D: x (C x 32 x 32) -> first block to w x 16 x 16 -> down-block to 8 x 8 -> 2 blocks
 *      -> ReLU -> sum over positions -> dense 1; every convolution and dense layer
 *      spectrally normalised
 *      first block: conv 3x3, ReLU, conv 3x3, avgpool 2, plus the shortcut avgpool 2,
 *                   conv 1x1
 *      down-block: ReLU, conv 3x3, ReLU, conv 3x3, avgpool 2, plus conv 1x1, avgpool 2
 *      block: ReLU, conv 3x3, ReLU, conv 3x3, plus the input itself
 *   hinge loss, Adam 2e-4 betas (0, 0.9), batch 64, five D steps per G step, normal
 *   noise, Xavier init (StudioGAN's).
 *
 * --cond: conditional batch norm in G (every batch norm without its affine, followed by a
 * modulate by a dense layer of the one-hot class, zero at the start), and D's projection:
 * logit = dense(h) + <embed(class), h>, h the summed features, embed a spectrally
 * normalised dense layer of the one-hot class.
 *
 * Data: Fashion-MNIST (the default) padded with background to 32 x 32, or any --data
 * that examples/dcgan takes (a folder or list of images is read in colour at 32 x 32).
 * Trains for --minutes of wall-clock time (or --steps G steps), writes a grid from a fixed
 * z (samples.png, one row per class with --cond), losses.png, and with Fashion-MNIST
 * --samples for examples/score (10,000 samples cropped back to 28 x 28 in [0, 1], class
 * i % 10 for sample i with --cond). */
#include "common.h"
#include "data.h"
#include "flags.h"
#include "gan.h"
#include "log.h"
#include "plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 32
#define ZDIM 128
#define BATCH 64
#define CLASSES 10
#define GRID 100
#define N_SAMPLES 10000

typedef struct options {
    long width, seed, threads, d_steps, steps, interval;
    double minutes, cpu_minutes, r1;
    int cond;
    const char *data, *out, *samples, *log;
} options;

extern void openblas_set_num_threads(int n) __attribute__((weak));

/* ---------------------------------------------------------------- graphs */

/* A net under construction: each add returns the new node's number through *node. */
typedef struct builder {
    gan_net *net;
    long sn; /* power iterations of spectral norm on convolutions and dense layers; 0: none */
} builder;

static int put(builder *b, int made, gan_layer **l, size_t n_from, const size_t *from, size_t *node)
{
    EX_TRY(ex_add_from(b->net, made, l, from, n_from));
    *node = gan_net_num_layers(b->net);
    return GAN_OK;
}

static int unary(builder *b, int made, gan_layer **l, size_t from, size_t *node)
{
    return put(b, made, l, 1, &from, node);
}

static size_t channels_of(const builder *b, size_t node)
{
    size_t c;
    gan_net_node_shape(b->net, node, &c, NULL, NULL);
    return c;
}

/* A convolution (k x k, stride 1, same padding) or dense layer, normalised when b->sn. */
static int weighted(builder *b, int made, gan_layer **l, size_t from, size_t *node)
{
    if (!made && b->sn) made = gan_layer_spectral_norm(*l, (size_t)b->sn);
    if (made) gan_layer_free(*l);
    return made ? made : unary(b, GAN_OK, l, from, node);
}

static int conv(builder *b, size_t from, size_t out, size_t k, size_t *node)
{
    gan_layer *l;
    return weighted(b, gan_layer_conv2d(&l, channels_of(b, from), out, k, 1, k / 2), &l, from, node);
}

static int relu(builder *b, size_t from, size_t *node)
{
    gan_layer *l;
    return unary(b, gan_layer_activation(&l, GAN_ACT_RELU), &l, from, node);
}

static int join(builder *b, gan_layer **l, int made, size_t x, size_t y, size_t *node)
{
    const size_t from[2] = {x, y};
    return put(b, made, l, 2, from, node);
}

/* Batch norm, conditional when `cls` names the class node: without its affine, then
 * modulated by a dense layer of the class (its index goes to *mods, zeroed after init). */
static int norm(builder *b, size_t from, size_t cls, size_t *mods, size_t *n_mods, size_t *node)
{
    gan_layer *l;
    size_t c = channels_of(b, from), s = 0;
    if (!cls) return unary(b, gan_layer_batchnorm(&l, c, 0.1f, 1e-5f), &l, from, node);
    int made = gan_layer_batchnorm(&l, c, 0.1f, 1e-5f);
    if (!made && (made = gan_layer_set_bias(l, 0))) gan_layer_free(l);
    size_t normed = 0;
    EX_TRY(unary(b, made, &l, from, &normed));
    EX_TRY(unary(b, gan_layer_dense(&l, CLASSES, 2 * c), &l, cls, &s));
    mods[(*n_mods)++] = s - 1;
    return join(b, &l, gan_layer_modulate(&l), normed, s, node);
}

/* G's up-block. */
static int up_block(builder *b, size_t x, size_t out, size_t cls, size_t *mods, size_t *n_mods, size_t *node)
{
    gan_layer *l;
    size_t h, sc;
    EX_TRY(norm(b, x, cls, mods, n_mods, &h));
    EX_TRY(relu(b, h, &h));
    EX_TRY(unary(b, gan_layer_upsample(&l, 2), &l, h, &h));
    EX_TRY(conv(b, h, out, 3, &h));
    EX_TRY(norm(b, h, cls, mods, n_mods, &h));
    EX_TRY(relu(b, h, &h));
    EX_TRY(conv(b, h, out, 3, &h));
    EX_TRY(unary(b, gan_layer_upsample(&l, 2), &l, x, &sc));
    EX_TRY(conv(b, sc, out, 1, &sc));
    return join(b, &l, gan_layer_add(&l, 2), h, sc, node);
}

static int generator(gan_net **g, size_t channels, size_t w, int cond, size_t *mods, size_t *n_mods)
{
    gan_layer *l;
    builder b = {NULL, 0};
    size_t cls = 0, h;
    EX_TRY(gan_net_create(&b.net, ZDIM + (cond ? CLASSES : 0)));
    *g = b.net;
    if (cond) {
        EX_TRY(unary(&b, gan_layer_slice(&l, 0, ZDIM), &l, 0, &h));
        EX_TRY(unary(&b, gan_layer_slice(&l, ZDIM, CLASSES), &l, 0, &cls));
    }
    EX_TRY(unary(&b, gan_layer_dense(&l, ZDIM, 4 * 4 * w), &l, cond ? 1 : 0, &h));
    EX_TRY(unary(&b, gan_layer_reshape(&l, w, 4, 4), &l, h, &h));
    for (int i = 0; i < 3; i++) EX_TRY(up_block(&b, h, w, cls, mods, n_mods, &h));
    EX_TRY(norm(&b, h, cls, mods, n_mods, &h));
    EX_TRY(relu(&b, h, &h));
    EX_TRY(conv(&b, h, channels, 3, &h));
    return unary(&b, gan_layer_activation(&l, GAN_ACT_TANH), &l, h, &h);
}

/* D's blocks: `first` (no ReLU before its first convolution, the shortcut pooled first),
 * `down` (pooled after the convolutions and after the shortcut's), or neither (the
 * shortcut is the input). */
static int d_block(builder *b, size_t x, size_t out, int first, int down, size_t *node)
{
    gan_layer *l;
    size_t h = x, sc = x;
    if (!first) EX_TRY(relu(b, h, &h));
    EX_TRY(conv(b, h, out, 3, &h));
    EX_TRY(relu(b, h, &h));
    EX_TRY(conv(b, h, out, 3, &h));
    if (first || down) EX_TRY(unary(b, gan_layer_avgpool(&l, 2), &l, h, &h));
    if (first) {
        EX_TRY(unary(b, gan_layer_avgpool(&l, 2), &l, sc, &sc));
        EX_TRY(conv(b, sc, out, 1, &sc));
    } else if (down) {
        EX_TRY(conv(b, sc, out, 1, &sc));
        EX_TRY(unary(b, gan_layer_avgpool(&l, 2), &l, sc, &sc));
    }
    return join(b, &l, gan_layer_add(&l, 2), h, sc, node);
}

static int discriminator(gan_net **d, size_t channels, size_t w, int cond)
{
    gan_layer *l;
    builder b = {NULL, 1};
    size_t x = 0, h, cls = 0, logit;
    size_t dim = channels * SIDE * SIDE;
    EX_TRY(gan_net_create(&b.net, dim + (cond ? CLASSES : 0)));
    *d = b.net;
    if (cond) EX_TRY(unary(&b, gan_layer_slice(&l, 0, dim), &l, 0, &x));
    EX_TRY(unary(&b, gan_layer_reshape(&l, channels, SIDE, SIDE), &l, x, &h));
    EX_TRY(d_block(&b, h, w, 1, 0, &h));
    EX_TRY(d_block(&b, h, w, 0, 1, &h));
    EX_TRY(d_block(&b, h, w, 0, 0, &h));
    EX_TRY(d_block(&b, h, w, 0, 0, &h));
    EX_TRY(relu(&b, h, &h));
    EX_TRY(unary(&b, gan_layer_global_sum(&l), &l, h, &h));
    EX_TRY(weighted(&b, gan_layer_dense(&l, w, 1), &l, h, &logit));
    if (!cond) return GAN_OK;
    size_t embed, proj;
    EX_TRY(unary(&b, gan_layer_slice(&l, dim, CLASSES), &l, 0, &cls));
    int made = gan_layer_dense(&l, CLASSES, w);
    if (!made && (made = gan_layer_set_bias(l, 0))) gan_layer_free(l);
    EX_TRY(weighted(&b, made, &l, cls, &embed));
    EX_TRY(join(&b, &l, gan_layer_dot(&l), embed, h, &proj));
    return join(&b, &l, gan_layer_add(&l, 2), logit, proj, &h);
}

/* ---------------------------------------------------------------- data */

/* Fashion-MNIST's 28 x 28 rows padded with background (-1) to 32 x 32, or rows of the
 * model's size as they are. */
typedef struct feed {
    gan_dataset *train, *test;
    gan_sampler *sampler;
    size_t channels, side; /* of the data set's rows */
    float *rows;           /* BATCH rows of the data set's size, for padding */
} feed;

static int feed_batch(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    feed *f = payload;
    if (f->side == SIDE) return gan_dataset_sampler(f->sampler, rng, x, cond, batch);
    int rc = gan_dataset_sampler(f->sampler, rng, f->rows, cond, batch);
    size_t pad = (SIDE - f->side) / 2;
    for (size_t i = 0; !rc && i < batch; i++) {
        float *dst = x + i * SIDE * SIDE;
        for (size_t p = 0; p < SIDE * SIDE; p++) dst[p] = -1.0f;
        for (size_t y = 0; y < f->side; y++)
            memcpy(dst + (y + pad) * SIDE + pad, f->rows + (i * f->side + y) * f->side, f->side * sizeof *dst);
    }
    return rc;
}

static int feed_load(feed *f, const options *o)
{
    ex_data_kind kind = ex_data_kind_of(o->data);
    int idx = kind == EX_DATA_IDX_DIR || kind == EX_DATA_IDX_FILE;
    f->channels = idx ? 1 : 3;
    f->side = idx ? 28 : SIDE;
    EX_TRY(ex_data_load(&f->train, &f->test, NULL, o->data, f->channels, f->side, o->cond ? GAN_IMAGE_LABELS : 0));
    if (o->cond && (!gan_dataset_num_classes(f->train) || gan_dataset_num_classes(f->train) > CLASSES)) {
        fprintf(stderr, "sngan: --cond needs 1 to %d classes, and %s has %zu\n", CLASSES, o->data,
                gan_dataset_num_classes(f->train));
        return EX_FAIL;
    }
    EX_TRY(gan_sampler_create(&f->sampler, f->train, GAN_SAMPLE_EPOCHS, o->cond));
    EX_TRY(gan_sampler_set_range(f->sampler, -1.0f, 1.0f));
    f->rows = malloc((size_t)BATCH * f->channels * f->side * f->side * sizeof *f->rows);
    return f->rows ? GAN_OK : ex_out_of_memory("the padding rows");
}

static void feed_free(feed *f)
{
    gan_sampler_free(f->sampler);
    gan_dataset_free(f->train);
    gan_dataset_free(f->test);
    free(f->rows);
}

/* ---------------------------------------------------------------- training */

static int model_setup(ex_gan *m, feed *f, const options *o)
{
    size_t mods[16], n_mods = 0, w = (size_t)o->width;
    EX_TRY(generator(&m->g, f->channels, w, o->cond, mods, &n_mods));
    EX_TRY(discriminator(&m->d, f->channels, w, o->cond));
    EX_TRY(gan_optim_adam(&m->opt_g, 2e-4f, 0.0f, 0.9f, 1e-8f));
    EX_TRY(gan_optim_adam(&m->opt_d, 2e-4f, 0.0f, 0.9f, 1e-8f));
    EX_TRY(gan_trainer_create(&m->t, m->g, m->d, m->opt_g, m->opt_d));
    EX_TRY(gan_trainer_set_seed(m->t, (uint64_t)o->seed));
    EX_TRY(gan_trainer_set_batch_size(m->t, BATCH));
    EX_TRY(gan_trainer_set_noise_normal(m->t, 1.0f));
    EX_TRY(gan_trainer_set_loss(m->t, GAN_LOSS_HINGE));
    EX_TRY(gan_trainer_set_d_steps(m->t, (unsigned)o->d_steps));
    if (o->r1 > 0) EX_TRY(gan_trainer_set_gradient_penalty(m->t, GAN_PENALTY_R1, (float)o->r1, (unsigned)o->interval));
    EX_TRY(gan_trainer_set_cond_dim(m->t, o->cond ? CLASSES : 0));
    EX_TRY(gan_trainer_set_data(m->t, feed_batch, f));
    gan_rng *init = gan_trainer_rng(m->t, GAN_STREAM_INIT);
    EX_TRY(gan_net_init(m->g, init, GAN_INIT_XAVIER, 1.0f));
    EX_TRY(gan_net_init(m->d, init, GAN_INIT_XAVIER, 1.0f));
    float *p = gan_net_params(m->g); /* modulations start at zero: plain batch norm */
    for (size_t i = 0; i < n_mods; i++) {
        size_t off, count;
        EX_TRY(gan_net_layer_params(m->g, mods[i], &off, &count));
        memset(p + off, 0, count * sizeof *p);
    }
    return GAN_OK;
}

/* n samples (class i % 10 for sample i with --cond) mapped to [0, 1]; with padded data,
 * cropped back to the data set's size. */
static float *generate(gan_trainer *t, const feed *f, const float *z, size_t n, int cond, int crop)
{
    size_t dim = f->channels * SIDE * SIDE, chunk = 500;
    float *x = malloc(n * dim * sizeof *x), *c = cond ? calloc(chunk * CLASSES, sizeof *c) : NULL;
    int rc = x && (!cond || c) ? GAN_OK : ex_out_of_memory("the samples");
    for (size_t i0 = 0; !rc && i0 < n; i0 += chunk) {
        size_t rows = n - i0 < chunk ? n - i0 : chunk;
        for (size_t r = 0; c && r < rows; r++)
            for (size_t k = 0; k < CLASSES; k++) c[r * CLASSES + k] = k == (z ? (i0 + r) / 10 : i0 + r) % CLASSES;
        rc = ex_report(gan_trainer_generate(t, z ? z + i0 * ZDIM : NULL, c, rows, x + i0 * dim), "gan_trainer_generate");
    }
    for (size_t i = 0; !rc && i < n * dim; i++) x[i] = 0.5f * (x[i] + 1.0f);
    size_t pad = (SIDE - f->side) / 2;
    for (size_t i = 0; !rc && crop && i < n; i++) /* rows move down in place: never ahead of the reads */
        for (size_t y = 0; y < f->side; y++)
            memmove(x + (i * f->side + y) * f->side, x + i * dim + (y + pad) * SIDE + pad, f->side * sizeof *x);
    free(c);
    if (rc) {
        free(x);
        return NULL;
    }
    return x;
}

static int train(const options *o, feed *f)
{
    ex_gan m = {0};
    ex_progress bar;
    ex_log log = {0};
    char path[4096], title[160];
    float *z = malloc((size_t)GRID * ZDIM * sizeof *z);
    int rc = z ? model_setup(&m, f, o) : ex_out_of_memory("the grid's noise");
    gan_rng *zrng = NULL;
    if (!rc) rc = ex_report(gan_rng_create(&zrng, (uint64_t)o->seed ^ 0x5EED), "gan_rng_create");
    if (!rc) rc = gan_rng_fill_normal(zrng, z, (size_t)GRID * ZDIM, 0.0f, 1.0f);
    gan_rng_free(zrng);
    if (!rc) rc = ex_log_open(&log, o->log, 0, ex_progress_on_step, &bar);
    uint64_t total = o->steps > 0 ? (uint64_t)o->steps : 0, done = 0, chunk = 20;
    /* The budget's clock: wall-clock time, or this process's CPU time (--cpu-minutes). */
    double (*clock)(void) = o->cpu_minutes > 0 ? ex_cpu_now : ex_now;
    double t0 = clock(), budget = 60.0 * (o->cpu_minutes > 0 ? o->cpu_minutes : o->minutes), wall0 = ex_now();
    if (!rc) {
        printf("sngan: %zu training rows of %zux%d x %d%s | width %ld | %s | %s, seed %ld\n",
               gan_dataset_size(f->train), f->channels, SIDE, SIDE, f->side < SIDE ? " (padded)" : "", o->width,
               o->cond ? "class-conditional (conditional batch norm, projection)" : "unconditional",
               total ? "a fixed number of steps" : "a wall-clock budget", o->seed);
        printf("params: G %zu, D %zu\n", gan_net_num_params(m.g), gan_net_num_params(m.d));
        if (o->r1 > 0) printf("R1 gamma %g every %ld steps\n", o->r1, o->interval);
        fflush(stdout);
        ex_progress_start(&bar, total ? total : chunk, BATCH);
    }
    while (!rc && (total ? done < total : clock() - t0 < budget)) {
        /* Chunks of up to 20 steps; under a budget, no more than the time left allows at the
         * pace so far, so a run stops within a step of it. */
        double elapsed = clock() - t0, pace = done ? elapsed / (double)done : 0;
        uint64_t n = total ? (total - done < chunk ? total - done : chunk) : chunk;
        if (!total && pace > 0 && (budget - elapsed) / pace < (double)n)
            n = (budget - elapsed) / pace < 1 ? 1 : (uint64_t)((budget - elapsed) / pace);
        rc = ex_report(gan_trainer_run(m.t, n, ex_log_on_step, &log), "gan_trainer_run");
        done += n;
        elapsed = clock() - t0;
        if (!total) bar.total = done + (elapsed < budget ? (uint64_t)((budget - elapsed) / (elapsed / (double)done)) : 0);
    }
    if (!rc) ex_progress_end(&bar);
    double minutes = (ex_now() - wall0) / 60.0;
    if (!rc) printf("trained: %llu G steps (%llu D steps) in %.1f minutes\n", (unsigned long long)done,
                    (unsigned long long)done * (uint64_t)o->d_steps, minutes);
    snprintf(title, sizeof title, "sngan%s: %llu steps, seed %ld", o->cond ? " --cond" : "",
             (unsigned long long)done, o->seed);
    snprintf(path, sizeof path, "%s/losses.png", o->out);
    rc = ex_log_finish(&log, rc, path, title);
    float *x = rc ? NULL : generate(m.t, f, z, GRID, o->cond, 0);
    if (!rc && !x) rc = EX_FAIL;
    snprintf(path, sizeof path, "%s/samples.png", o->out);
    snprintf(title, sizeof title, "sngan%s, seed %ld: %llu steps, %.0f minutes%s", o->cond ? " --cond" : "", o->seed,
             (unsigned long long)done, minutes, o->cond ? ", one row per class" : "");
    if (!rc) rc = ex_save_labelled_grid(path, x, GRID, f->channels, SIDE, SIDE, 10, 3, NULL, title);
    if (!rc) printf("samples: %s\n", path);
    free(x);
    if (!rc && o->samples) {
        x = f->side < SIDE ? generate(m.t, f, NULL, N_SAMPLES, o->cond, 1) : NULL;
        if (!x) {
            fprintf(stderr, "sngan: --samples needs the padded 28 x 28 data (examples/score scores 784 pixels)\n");
            rc = EX_FAIL;
        }
        if (!rc) rc = ex_write_rows(o->samples, x, N_SAMPLES, f->side * f->side);
        free(x);
    }
    ex_gan_free(&m);
    free(z);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {.width = 32, .seed = 1, .threads = 1, .d_steps = 5, .interval = 1, .minutes = 10,
                 .data = "/usr/share/datasets/fashion-mnist", .out = "out/sngan"};
    const ex_flag flags[] = {
        {"--minutes", EX_REAL, &o.minutes, "M", "(0, inf)", "train for M minutes of wall-clock time (10)"},
        {"--cpu-minutes", EX_REAL, &o.cpu_minutes, "M", "[0, inf)",
         "train for M minutes of this process's CPU time instead (0: use --minutes): on one thread, the wall-clock "
         "time of a run alone on its core, whatever else shares the machine (bench/sngan_vs_dcgan.sh)"},
        {"--steps", EX_LONG, &o.steps, "N", "[0, inf)", "train N G steps instead (0: use --minutes)"},
        {"--width", EX_LONG, &o.width, "W", "[1, 1024]", "channels of every block, G's and D's (32; SNGAN: 256 in G, 128 in D)"},
        {"--d-steps", EX_LONG, &o.d_steps, "K", "[1, 16]", "D steps per G step (5)"},
        {"--r1", EX_REAL, &o.r1, "GAMMA", "[0, inf)", "an R1 penalty gamma/2 |grad D|^2 on real rows; 0: off (0)"},
        {"--penalty-interval", EX_LONG, &o.interval, "N", "[1, 1000000]", "take the penalty every N steps (1)"},
        {"--cond", EX_SWITCH, &o.cond, NULL, NULL, "class-conditional: conditional batch norm in G, projection in D"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {"--data", EX_TEXT, &o.data, "PATH", NULL,
         "the four IDX files' folder (/usr/share/datasets/fashion-mnist), an IDX file, a folder of images or a list"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where the pictures go (out/sngan)"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step"},
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL,
         "write 10,000 samples (28 x 28, [0, 1]) as raw float32 rows for examples/score"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "sngan: the ResNet GAN of Miyato et al. (2018) at 32 x 32: residual blocks, spectral norm in D,\n"
                   "hinge loss, five D steps per G step. Fashion-MNIST padded to 32 x 32 by default; a folder or list\n"
                   "of images is read in colour at 32 x 32.");
    if (o.threads > 0 && openblas_set_num_threads) openblas_set_num_threads((int)o.threads);
    if (ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "sngan: cannot create %s\n", o.out);
        return 1;
    }
    feed f = {0};
    int rc = feed_load(&f, &o);
    if (!rc) rc = train(&o, &f);
    feed_free(&f);
    return rc ? 1 : 0;
}
