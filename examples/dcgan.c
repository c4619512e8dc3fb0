/* dcgan: the convolutional GAN of Radford, Metz and Chintala (2016) on Fashion-MNIST at
 * 28 x 28 (or any IDX set of that size, or a folder or list of images converted to it:
 * --data, common/data.h).
 *
 *   G: z (100) -> dense 128*7*7 (no bias) + batch norm + ReLU -> reshape 128x7x7
 *      -> transposed conv 4x4 s2 p1 to 64x14x14 (no bias) + batch norm + ReLU
 *      -> transposed conv 4x4 s2 p1 to 1x28x28 -> tanh (the sampler maps data to [-1, 1])
 *   D: conv 4x4 s2 p1 1 -> 64 + leaky ReLU 0.2 -> conv 4x4 s2 p1 64 -> 128 (no bias)
 *      + batch norm + leaky ReLU 0.2 -> dense to one logit
 *   Adam lr 2e-4, betas (0.5, 0.999), batch 64, normal noise, non-saturating loss,
 *   DCGAN's init (weights N(0, 0.02), batch-norm scales N(1, 0.02)); two G updates per
 *   D update (--recipe peer: one, as pytorch/examples).
 *
 * With --cond the model is class-conditional, the usual way (as DCGAN-tensorflow's
 * conv_cond_concat): G takes [z | one-hot class]; D's rows are [image | one-hot class].
 * Both nets split their rows (slices) and concatenate the class, tiled into 10 constant
 * maps, to the channels before each convolution: D's image at 28 x 28 and its first
 * convolution's maps at 14 x 14, G's 7 x 7 maps (graphs: gan_net_add_from). The grids
 * then show one row per class.
 *
 * With --loss wgan-gp (the Wasserstein loss and WGAN-GP, the paper's code's MNIST recipe)
 * or --r1 GAMMA, a gradient penalty trains D, which then has no batch norm (the penalty is
 * per row); --d-norm none trains that D without one. --cpu-minutes stops training after so
 * much CPU time (runs at equal time: bench/penalties_dcgan.sh).
 *
 * Writes a grid from a fixed z every epoch (epoch_NNN.png), samples.png and losses.png
 * at the end, shows a progress line, saves and resumes checkpoints, writes a CSV log of
 * every step with --log, and ends with the line
 *   parzen_ll=<mean> se=<se> sigma=<sigma>
 * (the Parzen-window protocol of mnist_gan, on samples mapped back to [0, 1]). */
#include "common.h"
#include "data.h"
#include "flags.h"
#include "gan.h"
#include "log.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define DIM (SIDE * SIDE)
#define ZDIM 100
#define CLASSES 10
#define BATCH 64
#define N_VALID 1000
#define GRID 100 /* samples in a grid: 10 x 10 */
/* libgan's recipe. It departs from pytorch/examples' in two G updates per D update,
 * which lowered the FD at 2 epochs from 74 to 53 over 3 seeds (docs/benchmarks.md,
 * "Scores"), and in sampling with the running statistics. EMA of G, spectral norm in D
 * and a two-timescale learning rate were each measured too, and none lowered it. */
#define LIBGAN_EMA 0.0
#define LIBGAN_SN 0
#define LIBGAN_LR_G 2e-4
#define LIBGAN_LR_D 2e-4
#define LIBGAN_STATS "running"
#define LIBGAN_G_STEPS 2

typedef struct options {
    long epochs, seed, threads, train_rows, test_rows, parzen, sn, g_steps, d_steps, interval;
    int cond;
    double ema, lr_g, lr_d, beta2, gp, r1, cpu_minutes;
    const char *data, *out, *save, *resume, *log, *samples, *recipe, *stats, *loss, *d_norm;
} options;

/* D's second block has batch norm (--d-norm; never under a gradient penalty, which is
 * taken per row). */
static int d_batchnorm(const options *o) { return !strcmp(o->d_norm, "batch"); }

typedef struct data {
    gan_dataset *train, *valid, *test;
    gan_sampler *sampler;
    int cond;
} data;

extern void openblas_set_num_threads(int n) __attribute__((weak));

/* ---------------------------------------------------------------- data */


static void data_free(data *d)
{
    gan_sampler_free(d->sampler);
    gan_dataset_free(d->train);
    gan_dataset_free(d->valid);
    gan_dataset_free(d->test);
    memset(d, 0, sizeof *d);
}

/* The training rows but the last N_VALID (a tenth, at most N_VALID, of any --data other
 * than the four IDX files), the validation rows, the test set, and the sampler: rows in
 * [-1, 1], tanh's range. */
static int data_load(data *d, const options *o)
{
    gan_dataset *all = NULL, *rest = NULL;
    ex_data_kind kind;
    /* 28 x 28 grey; with --cond a folder's classes are its sub-folders */
    int rc = ex_data_load(&all, &d->test, &kind, o->data, 1, SIDE, o->cond ? GAN_IMAGE_LABELS : 0);
    size_t n = rc ? 0 : gan_dataset_size(all);
    size_t n_valid = kind == EX_DATA_IDX_DIR ? N_VALID : n / 10 < N_VALID ? n / 10 : N_VALID;
    if (!rc && (gan_dataset_num_classes(all) > CLASSES || gan_dataset_num_classes(d->test) > CLASSES)) {
        fprintf(stderr, "dcgan: %s has %zu classes, this model takes at most %d\n", o->data,
                gan_dataset_num_classes(all), CLASSES);
        rc = GAN_EFORMAT;
    }
    if (!rc && o->cond && !gan_dataset_num_classes(all)) {
        fprintf(stderr, "dcgan: --cond needs labels, and %s has none (a folder's classes are its sub-folders; "
                "a list file's, its lines' second word)\n", o->data);
        rc = GAN_EFORMAT;
    }
    if (!rc && (n <= n_valid || n_valid == 0)) {
        if (kind == EX_DATA_IDX_DIR)
            fprintf(stderr, "dcgan: %s has %zu training images, need more than %d\n", o->data, n, N_VALID);
        else
            fprintf(stderr, "dcgan: %s has %zu images besides its test rows, need 10 or more\n", o->data, n);
        rc = GAN_EFORMAT;
    }
    if (!rc) rc = ex_report(gan_dataset_split(&d->train, &d->valid, all, n - n_valid, NULL), "gan_dataset_split");
    gan_dataset_free(all);
    if (!rc && o->train_rows > 0 && (size_t)o->train_rows < gan_dataset_size(d->train)) {
        gan_dataset *sub = NULL;
        rc = ex_report(gan_dataset_split(&sub, &rest, d->train, (size_t)o->train_rows, NULL), "gan_dataset_split");
        gan_dataset_free(rest);
        if (!rc) {
            gan_dataset_free(d->train);
            d->train = sub;
        }
    }
    if (!rc) rc = ex_report(gan_sampler_create(&d->sampler, d->train, GAN_SAMPLE_EPOCHS, o->cond), "gan_sampler_create");
    if (!rc) rc = ex_report(gan_sampler_set_range(d->sampler, -1.0f, 1.0f), "gan_sampler_set_range");
    d->cond = o->cond;
    return rc;
}

/* ---------------------------------------------------------------- model */

/* The class, columns [at, at + classes) of the net's input rows, as `classes` constant
 * side x side maps concatenated to the channels of the last node. */
static int add_class_maps(gan_net *n, size_t at, size_t classes, size_t side)
{
    gan_layer *l;
    const size_t input = 0, features = gan_net_num_layers(n);
    EX_TRY(ex_add_from(n, gan_layer_slice(&l, at, classes), &l, &input, 1));
    EX_TRY(ex_add_layer(n, gan_layer_tile(&l, side, side), &l));
    return ex_add_from(n, gan_layer_concat(&l, 2), &l, (const size_t[]){features, features + 2}, 2);
}

/* Add the layer `made` put in l, without its bias. */
static int add_unbiased(gan_net *n, int made, gan_layer **l)
{
    if (!made) made = gan_layer_set_bias(*l, 0);
    if (made) {
        gan_layer_free(*l);
        return made;
    }
    return ex_add_layer(n, 0, l);
}

/* With a condition, the class also joins the 7 x 7 maps as `cond` constant maps (the
 * condition routed as in D, below). */
static int generator(gan_net **g, size_t cond)
{
    gan_layer *l;
    EX_TRY(gan_net_create(g, ZDIM + cond));
    EX_TRY(add_unbiased(*g, gan_layer_dense(&l, ZDIM + cond, 128 * 7 * 7), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_batchnorm(&l, 128 * 7 * 7, 0.1f, 1e-5f), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_reshape(&l, 128, 7, 7), &l));
    if (cond) EX_TRY(add_class_maps(*g, ZDIM, cond, 7));
    EX_TRY(add_unbiased(*g, gan_layer_conv2d_transpose(&l, 128 + cond, 64, 4, 2, 1, 0), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_batchnorm(&l, 64, 0.1f, 1e-5f), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_conv2d_transpose(&l, 64, 1, 4, 2, 1, 0), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_TANH), &l));
    return GAN_OK;
}

/* Add the layer `made` put in l, with spectral norm of `sn` power iterations (0: none). */
static int add_normalised(gan_net *n, int made, gan_layer **l, long sn)
{
    if (!made && sn) made = gan_layer_spectral_norm(*l, (size_t)sn);
    if (made) {
        gan_layer_free(*l);
        return made;
    }
    return ex_add_layer(n, 0, l);
}

/* Without batch norm (--d-norm none, and always under a gradient penalty) nothing takes
 * its place: WGAN-GP's paper puts layer norm there, which libgan does not have (docs/guide.md). */
static int discriminator(gan_net **d, size_t cond, long sn, int batchnorm)
{
    gan_layer *l;
    if (cond) { /* [image | class] rows: the image, and the class as constant maps beside it */
        EX_TRY(gan_net_create(d, DIM + cond));
        EX_TRY(ex_add_layer(*d, gan_layer_slice(&l, 0, DIM), &l));
        EX_TRY(ex_add_layer(*d, gan_layer_reshape(&l, 1, SIDE, SIDE), &l));
        EX_TRY(add_class_maps(*d, DIM, cond, SIDE));
    } else {
        EX_TRY(gan_net_create_image(d, 1, SIDE, SIDE));
    }
    EX_TRY(add_normalised(*d, gan_layer_conv2d(&l, 1 + cond, 64, 4, 2, 1), &l, sn));
    EX_TRY(ex_add_layer(*d, gan_layer_leaky_relu(&l, 0.2f), &l));
    if (cond) EX_TRY(add_class_maps(*d, DIM, cond, SIDE / 2));
    if (batchnorm) {
        EX_TRY(add_unbiased(*d, gan_layer_conv2d(&l, 64 + cond, 128, 4, 2, 1), &l));
        EX_TRY(ex_add_layer(*d, gan_layer_batchnorm(&l, 128, 0.1f, 1e-5f), &l));
    } else {
        EX_TRY(ex_add_layer(*d, gan_layer_conv2d(&l, 64 + cond, 128, 4, 2, 1), &l));
    }
    EX_TRY(ex_add_layer(*d, gan_layer_leaky_relu(&l, 0.2f), &l));
    EX_TRY(add_normalised(*d, gan_layer_dense(&l, 128 * 7 * 7, 1), &l, sn));
    return GAN_OK;
}

static int model_setup(ex_gan *m, data *d, const options *o)
{
    size_t c = o->cond ? CLASSES : 0;
    EX_TRY(generator(&m->g, c));
    EX_TRY(discriminator(&m->d, c, o->sn, d_batchnorm(o)));
    EX_TRY(gan_optim_adam(&m->opt_g, (float)o->lr_g, 0.5f, (float)o->beta2, 1e-8f));
    EX_TRY(gan_optim_adam(&m->opt_d, (float)o->lr_d, 0.5f, (float)o->beta2, 1e-8f));
    EX_TRY(gan_trainer_create(&m->t, m->g, m->d, m->opt_g, m->opt_d));
    EX_TRY(gan_trainer_set_seed(m->t, (uint64_t)o->seed));
    EX_TRY(gan_trainer_set_batch_size(m->t, BATCH));
    EX_TRY(gan_trainer_set_noise_normal(m->t, 1.0f));
    EX_TRY(gan_trainer_set_g_steps(m->t, (unsigned)o->g_steps));
    EX_TRY(gan_trainer_set_d_steps(m->t, (unsigned)o->d_steps));
    if (!strcmp(o->loss, "wgan-gp")) {
        EX_TRY(gan_trainer_set_loss(m->t, GAN_LOSS_WASSERSTEIN));
        EX_TRY(gan_trainer_set_gradient_penalty(m->t, GAN_PENALTY_WGAN_GP, (float)o->gp, (unsigned)o->interval));
    } else if (o->r1 > 0) {
        EX_TRY(gan_trainer_set_gradient_penalty(m->t, GAN_PENALTY_R1, (float)o->r1, (unsigned)o->interval));
    }
    EX_TRY(gan_trainer_set_cond_dim(m->t, c));
    EX_TRY(gan_trainer_set_data(m->t, gan_dataset_sampler, d->sampler)); /* rows in [-1, 1] */
    gan_rng *init = gan_trainer_rng(m->t, GAN_STREAM_INIT);
    EX_TRY(gan_net_init(m->g, init, GAN_INIT_DCGAN, 1.0f));
    EX_TRY(gan_net_init(m->d, init, GAN_INIT_DCGAN, 1.0f));
    if (o->ema > 0) EX_TRY(gan_trainer_set_ema(m->t, (float)o->ema)); /* after init: it averages from there */
    if (!strcmp(o->stats, "batch")) EX_TRY(gan_trainer_set_generate_stats(m->t, GAN_STATS_BATCH));
    return GAN_OK;
}

/* ---------------------------------------------------------------- pictures */

/* Map G's [-1, 1] back to pixels in [0, 1]. */
static void to_unit(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * (x[i] + 1.0f);
}


/* A grid from the fixed z (and, conditional, class r in row r). */
static int grid(gan_trainer *t, const float *z, const float *cond, float *x, const char *path, const char *title)
{
    EX_TRY(gan_trainer_generate(t, z, cond, GRID, x));
    to_unit(x, (size_t)GRID * DIM);
    return ex_save_image_grid(path, x, GRID, SIDE, 10, title);
}

/* ---------------------------------------------------------------- Parzen */

/* The Parzen protocol on n samples (a conditional model's cycle through the classes). */
static int parzen(gan_trainer *t, const data *d, size_t n, size_t test_rows, const char *samples)
{
    float *x = malloc(n * DIM * sizeof *x), *cond = NULL, sigma;
    double ll, se;
    int rc = x ? GAN_OK : ex_out_of_memory("the Parzen samples");
    if (!rc && d->cond && !(cond = calloc(n * CLASSES, sizeof *cond))) rc = ex_out_of_memory("the Parzen classes");
    for (size_t i = 0; !rc && cond && i < n; i++) cond[i * CLASSES + i % CLASSES] = 1.0f;
    if (!rc) rc = ex_report(gan_trainer_generate(t, NULL, cond, n, x), "gan_trainer_generate");
    if (!rc) to_unit(x, n * DIM);
    if (!rc && samples) rc = ex_write_rows(samples, x, n, DIM);
    const float *valid = gan_dataset_row(d->valid, 0), *test = gan_dataset_row(d->test, 0);
    size_t m = gan_dataset_size(d->test);
    if (test_rows > 0 && test_rows < m) m = test_rows;
    if (!rc) rc = ex_report(gan_parzen_select_sigma(&sigma, NULL, x, n, valid, gan_dataset_size(d->valid), DIM, NULL, 0),
                            "gan_parzen_select_sigma");
    if (!rc) rc = ex_report(gan_parzen_log_likelihood(&ll, &se, x, n, test, m, DIM, sigma), "gan_parzen_log_likelihood");
    if (!rc) printf("parzen_ll=%.2f se=%.2f sigma=%.4f\n", ll, se, sigma);
    free(cond);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- training */

typedef struct progress {
    ex_progress bar;
    gan_step_stats last;
    double budget, cpu0; /* --cpu-minutes in seconds (0: none), and the CPU time training began at */
    int out_of_time;
} progress;

static int on_step(void *payload, const gan_step_stats *s)
{
    progress *p = payload;
    p->last = *s;
    ex_progress_update(&p->bar, s);
    p->out_of_time = p->budget > 0 && ex_cpu_now() - p->cpu0 >= p->budget;
    return p->out_of_time; /* stops gan_trainer_run */
}

static int train(const options *o, data *d)
{
    ex_gan m = {0};
    progress p = {0};
    ex_log log = {0};
    char path[4096];
    size_t c = o->cond ? CLASSES : 0;
    float *z = malloc((size_t)GRID * ZDIM * sizeof *z), *x = malloc((size_t)GRID * DIM * sizeof *x);
    float *cond = c ? calloc((size_t)GRID * c, sizeof *cond) : NULL;
    int rc = z && x && (!c || cond) ? model_setup(&m, d, o) : ex_out_of_memory("the grids");
    gan_rng *zrng = NULL;
    if (!rc) rc = ex_report(gan_rng_create(&zrng, (uint64_t)o->seed ^ 0x5EED), "gan_rng_create");
    if (!rc) rc = gan_rng_fill_normal(zrng, z, (size_t)GRID * ZDIM, 0.0f, 1.0f);
    gan_rng_free(zrng);
    for (size_t i = 0; cond && i < GRID; i++) cond[i * c + i / 10] = 1.0f; /* row r: class r */

    uint64_t per_epoch = gan_dataset_size(d->train) / BATCH, total = (uint64_t)o->epochs * per_epoch;
    uint64_t done = 0;
    if (!rc) rc = ex_resume(m.t, o->resume, per_epoch, o->epochs, &done);
    long first_epoch = (long)(done / per_epoch);
    if (!rc) rc = ex_log_open(&log, o->log, done, on_step, &p);
    if (!rc) {
        printf("data %s: %zu training rows | %s | %ld epochs of %llu steps of %d, seed %ld\n", o->data,
               gan_dataset_size(d->train), o->cond ? "class-conditional" : "unconditional", o->epochs,
               (unsigned long long)per_epoch, BATCH, o->seed);
        printf("loss %s | %ld D and %ld G updates per step | Adam lr %g (G), %g (D), betas (0.5, %g) | D %s batch norm",
               o->loss, o->d_steps, o->g_steps, o->lr_g, o->lr_d, o->beta2, d_batchnorm(o) ? "with" : "without");
        if (!strcmp(o->loss, "wgan-gp")) printf(" | WGAN-GP lambda %g every %ld steps", o->gp, o->interval);
        if (o->r1 > 0) printf(" | R1 gamma %g every %ld steps", o->r1, o->interval);
        if (o->cpu_minutes > 0) printf(" | %g CPU-minutes at most", o->cpu_minutes);
        printf("\n");
        fflush(stdout);
        ex_progress_start(&p.bar, total, BATCH);
        p.bar.first = (uint64_t)first_epoch * per_epoch;
        p.budget = 60.0 * o->cpu_minutes;
        p.cpu0 = ex_cpu_now();
    }
    for (long e = first_epoch; !rc && !p.out_of_time && e < o->epochs; e++) {
        rc = gan_trainer_run(m.t, per_epoch, ex_log_on_step, &log);
        rc = p.out_of_time && rc == GAN_EUSER ? GAN_OK : ex_report(rc, "gan_trainer_run"); /* the budget's stop */
        snprintf(path, sizeof path, "%s/epoch_%03ld.png", o->out, e + 1);
        char title[128];
        snprintf(title, sizeof title, "dcgan%s, seed %ld: epoch %ld%s", o->cond ? " --cond" : "", o->seed, e + 1,
                 o->cond ? ", one row per class" : "");
        if (!rc) rc = grid(m.t, z, cond, x, path, title);
        if (!rc && o->save) rc = ex_report(gan_trainer_save(m.t, o->save), "gan_trainer_save");
        if (!rc)
            fprintf(stderr, "%sepoch %ld/%ld: loss_d %.4f loss_g %.4f D(x) %.3f D(G(z)) %.3f -> %s\n",
                    p.bar.tty ? "\r\033[K" : "", e + 1, o->epochs, p.last.loss_d, p.last.loss_g, p.last.d_real,
                    p.last.d_fake, path);
    }
    if (!rc) ex_progress_end(&p.bar);
    char title[128];
    double epochs = (double)gan_trainer_steps(m.t) / (double)per_epoch; /* fewer than --epochs under a budget */
    snprintf(title, sizeof title, "dcgan%s: %.3g epochs of %llu steps, seed %ld", o->cond ? " --cond" : "", epochs,
             (unsigned long long)per_epoch, o->seed);
    snprintf(path, sizeof path, "%s/losses.png", o->out);
    rc = ex_log_finish(&log, rc, path, title);
    if (!rc) printf("losses: %s\n", path);
    snprintf(path, sizeof path, "%s/samples.png", o->out);
    snprintf(title, sizeof title, "dcgan%s, seed %ld: after %.3g epochs%s", o->cond ? " --cond" : "", o->seed,
             epochs, o->cond ? ", one row per class" : "");
    if (!rc) rc = grid(m.t, z, cond, x, path, title);
    if (!rc) printf("samples: %s\n", path);
    if (!rc) rc = parzen(m.t, d, (size_t)o->parzen, (size_t)o->test_rows, o->samples);
    ex_gan_free(&m);
    free(cond);
    free(z);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    /* -1 and 0: the recipe's value */
    options o = {.epochs = 5, .seed = 1, .threads = 1, .parzen = 10000, .sn = -1, .ema = -1, .recipe = "libgan", .stats = NULL,
                 .gp = 10, .interval = 1, .loss = "ns", .data = "/usr/share/datasets/fashion-mnist", .out = "out/dcgan"};
    const ex_flag flags[] = {
        {"--epochs", EX_LONG, &o.epochs, "N", "[1, inf)", "training epochs (5)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {"--cond", EX_SWITCH, &o.cond, NULL, NULL, "class-conditional: one row of the grids per class"},
        {"--data", EX_TEXT, &o.data, "PATH", NULL,
         "the four IDX files' folder (/usr/share/datasets/fashion-mnist), an IDX file, a folder of images or a list"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where the pictures go (out/dcgan)"},
        {"--train-rows", EX_LONG, &o.train_rows, "N", "[0, inf)",
         "train on the first N rows, a multiple of 64 (0: all)"},
        {"--test-rows", EX_LONG, &o.test_rows, "N", "[0, inf)", "score on the first N test rows (0: all)"},
        {"--parzen", EX_LONG, &o.parzen, "N", "[100, inf)", "samples in the Parzen score (10000)"},
        {"--save", EX_TEXT, &o.save, "CHECKPOINT", NULL, "save the trainer after every epoch"},
        {"--resume", EX_TEXT, &o.resume, "CHECKPOINT", NULL, "continue a saved trainer"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step (a resume continues it)"},
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL, "write the Parzen samples as raw float32 rows (examples/score)"},
        {"--recipe", EX_CHOICE, &o.recipe, "libgan|peer", NULL,
         "libgan's defaults, or the pytorch/examples recipe (one G update, batch statistics) (libgan)"},
        {"--ema", EX_REAL, &o.ema, "DECAY", "[0, 1)", "EMA of G's weights for sampling; 0: none (the recipe's)"},
        {"--sn", EX_LONG, &o.sn, "N", "[0, 64]", "spectral norm on D's first and last layers, N power steps; 0: none"},
        {"--sample-stats", EX_CHOICE, &o.stats, "running|batch", NULL,
         "G's batch norm when sampling: running statistics, or the batch's (the recipe's)"},
        {"--lr-g", EX_REAL, &o.lr_g, "LR", "(0, 1)", "G's Adam learning rate (the recipe's)"},
        {"--lr-d", EX_REAL, &o.lr_d, "LR", "(0, 1)", "D's Adam learning rate (the recipe's)"},
        {"--g-steps", EX_LONG, &o.g_steps, "N", "[1, 16]", "G's updates per D update (the recipe's: 2, peer 1)"},
        {"--loss", EX_CHOICE, &o.loss, "ns|wgan-gp", NULL,
         "non-saturating, or Wasserstein with WGAN-GP (D without batch norm; Adam 1e-4, betas (0.5, 0.9), 5 D updates "
         "per G update, as the paper's code) (ns)"},
        {"--gp", EX_REAL, &o.gp, "L", "(0, inf)", "wgan-gp: the penalty's weight lambda (10)"},
        {"--r1", EX_REAL, &o.r1, "GAMMA", "[0, inf)", "an R1 penalty gamma/2 |grad D|^2 on real rows (D without batch norm); "
         "0: off (0)"},
        {"--penalty-interval", EX_LONG, &o.interval, "N", "[1, 1000000]", "take the penalty every N steps (1)"},
        {"--d-norm", EX_CHOICE, &o.d_norm, "batch|none", NULL,
         "batch norm in D's second block, or nothing there (batch; none under a penalty)"},
        {"--d-steps", EX_LONG, &o.d_steps, "K", "[1, 16]", "D updates per step (the recipe's: 1, wgan-gp 5)"},
        {"--beta2", EX_REAL, &o.beta2, "B", "[0, 1)", "Adam's beta2 (the recipe's: 0.999, wgan-gp 0.9)"},
        {"--cpu-minutes", EX_REAL, &o.cpu_minutes, "M", "[0, inf)",
         "stop training after M minutes of this process's CPU time, within --epochs (0: no limit)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "dcgan: the convolutional GAN of Radford, Metz and Chintala (2016) on 28 x 28 images.\n"
                   "--data: a folder of the four IDX files (train-images-idx3-ubyte ... raw or .gz), one IDX file\n"
                   "(examples/images --pack), a folder of PNG/JPEG images or a list file of `path [label]` lines,\n"
                   "converted to 28 x 28 grey; a single set is shuffled once and a seventh held out for the test.\n"
                   "With --cond the labels are a folder's sub-folders or the list's second words (10 classes at most).");
    int peer = !strcmp(o.recipe, "peer");
    /* WGAN-GP's recipe: its code's for MNIST (gan_mnist.py), on this D less batch norm. */
    int wgan_gp = !strcmp(o.loss, "wgan-gp");
    if (wgan_gp && o.r1 > 0) ex_flags_fail(flags, "--r1 goes with --loss ns (one penalty at a time)");
    if (o.d_norm && !strcmp(o.d_norm, "batch") && (wgan_gp || o.r1 > 0))
        ex_flags_fail(flags, "--d-norm batch: a gradient penalty is taken per row, and batch norm mixes the rows");
    if (!o.d_norm) o.d_norm = wgan_gp || o.r1 > 0 ? "none" : "batch";
    if (o.d_steps == 0) o.d_steps = wgan_gp ? 5 : 1;
    if (o.beta2 == 0) o.beta2 = wgan_gp ? 0.9 : 0.999;
    if (o.ema < 0) o.ema = peer ? 0.0 : LIBGAN_EMA;
    if (o.sn < 0) o.sn = peer ? 0 : LIBGAN_SN;
    if (o.lr_g == 0) o.lr_g = wgan_gp ? 1e-4 : peer ? 2e-4 : LIBGAN_LR_G;
    if (!o.stats) o.stats = peer ? "batch" : LIBGAN_STATS;
    if (o.lr_d == 0) o.lr_d = wgan_gp ? 1e-4 : peer ? 2e-4 : LIBGAN_LR_D;
    if (o.g_steps == 0) o.g_steps = wgan_gp || peer ? 1 : LIBGAN_G_STEPS;
    if (o.train_rows % BATCH)
        ex_flags_fail(flags, "--train-rows must be a multiple of %d (the batch), got %ld", BATCH, o.train_rows);
    if (o.threads > 0 && openblas_set_num_threads) openblas_set_num_threads((int)o.threads);
    if (ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "dcgan: cannot create %s\n", o.out);
        return 1;
    }
    data d = {0};
    int rc = data_load(&d, &o);
    if (!rc) rc = train(&o, &d);
    data_free(&d);
    return rc ? 1 : 0;
}
