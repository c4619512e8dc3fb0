/* dcgan: the convolutional GAN of Radford, Metz and Chintala (2016): at 28 x 28 (the
 * default) the model libgan has trained on Fashion-MNIST since 0.2, at 32 x 32 and 64 x 64
 * the one pytorch/examples' dcgan/main.py builds, grey or in colour, on any --data of
 * common/data.h (the four IDX files, an IDX file, a folder or list of images converted to
 * the size). g = --ngf and d = --ndf (64 each by default), C the data's channels.
 *
 *   --size 28:
 *   G: z (100) -> dense 2g*7*7 (no bias) + batch norm + ReLU -> reshape 2g x 7 x 7
 *      -> transposed conv 4x4 s2 p1 to g x 14 x 14 (no bias) + batch norm + ReLU
 *      -> transposed conv 4x4 s2 p1 to C x 28 x 28 -> tanh (the sampler maps data to [-1, 1])
 *   D: conv 4x4 s2 p1 C -> d + leaky ReLU 0.2 -> conv 4x4 s2 p1 d -> 2d (no bias)
 *      + batch norm + leaky ReLU 0.2 -> dense to one logit
 *   --size 64 (main.py: no layer has a bias):
 *   G: z as a 100 x 1 x 1 image -> transposed conv 4x4 s1 p0 to 8g x 4 x 4 + batch norm
 *      + ReLU -> transposed convs 4x4 s2 p1 to 4g x 8 x 8, 2g x 16 x 16 and g x 32 x 32,
 *      each + batch norm + ReLU -> transposed conv 4x4 s2 p1 to C x 64 x 64 -> tanh
 *   D: conv 4x4 s2 p1 C -> d + leaky ReLU 0.2 -> convs 4x4 s2 p1 to 2d x 16 x 16,
 *      4d x 8 x 8 and 8d x 4 x 4, each + batch norm + leaky ReLU 0.2 -> conv 4x4 s1 p0
 *      to one logit
 *   --size 32: the same with one stage fewer (G from 4g x 4 x 4, D down to 4d x 4 x 4).
 *   Adam lr 2e-4, betas (0.5, 0.999), batch 64, normal noise, non-saturating loss,
 *   DCGAN's init (weights N(0, 0.02), batch-norm scales N(1, 0.02)); two G updates per
 *   D update (--recipe peer: one, as pytorch/examples). Each update draws new fakes;
 *   --update reuse_fakes trains G's first update on the fakes of D's last, as main.py's
 *   loop does (one G forward fewer a step).
 *
 * C is the data's own (--channels 0): an IDX file's, and images in colour unless every
 * one is grey.
 *
 * With --cond the model is class-conditional, the usual way (as DCGAN-tensorflow's
 * conv_cond_concat): G takes [z | one-hot class]; D's rows are [image | one-hot class].
 * Both nets split their rows (slices) and concatenate the class, tiled into 10 constant
 * maps, to the channels before each convolution: D's image and its first convolution's
 * maps, G's first maps (7 x 7 at 28, 4 x 4 at 32 and 64) (graphs: gan_net_add_from). The
 * grids then show one row per class.
 *
 * With --loss wgan-gp (the Wasserstein loss and WGAN-GP, the paper's code's MNIST recipe)
 * or --r1 GAMMA, a gradient penalty trains D, which then has no batch norm (the penalty is
 * per row); --d-norm none trains that D without one. --augment puts DiffAugment's
 * transforms (gan_trainer_set_augment) on every row D sees, the remedy for a small set.
 * --cpu-minutes stops training after so much CPU time (runs at equal time:
 * bench/penalties_dcgan.sh).
 *
 * Writes a grid from a fixed z every epoch (epoch_NNN.png), samples.png and losses.png
 * at the end, shows a progress line, saves and resumes checkpoints, writes a CSV log of
 * every step with --log. After the score below it draws interpolation.png (walks through
 * z, spherical: see slerp()) and neighbours.png (samples beside their nearest training
 * images: has G memorised the set?), their z from a stream of their own, so nothing
 * before them changes. It ends with the line
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

#define ZDIM 100
#define CLASSES 10
#define BATCH 64
#define N_VALID 1000
#define GRID 100 /* samples in a grid: 10 x 10 */
/* The pictures drawn after training: walks of 10 steps in 8 rows, and 40 samples with
 * their nearest training images, 5 pairs a row. */
#define WALKS 8
#define WALK_STEPS 10
#define PAIRS 40
#define PAIRS_PER_ROW 5
/* The stream of their z: --seed's, not the trainer's, so the run is the same with them. */
#define FIGURE_SEED 0xF16u
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
    long epochs, seed, threads, train_rows, test_rows, parzen, sn, g_steps, d_steps, interval, ngf, ndf;
    size_t side, channels; /* --size and --channels (0: the data's) */
    unsigned augment;      /* gan_augment bits */
    int cond;
    double ema, lr_g, lr_d, beta2, gp, r1, cpu_minutes;
    const char *data, *out, *save, *resume, *log, *samples, *recipe, *stats, *loss, *d_norm, *update;
} options;

/* D's blocks after the first have batch norm (--d-norm; never under a gradient penalty,
 * which is taken per row). */
static int d_batchnorm(const options *o) { return !strcmp(o->d_norm, "batch"); }

typedef struct data {
    gan_dataset *train, *valid, *test;
    gan_sampler *sampler;
    int cond;
    size_t side, channels, dim; /* rows of channels x side x side values, channels last */
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
    /* side x side, the data's channels or --channels; with --cond a folder's classes are
     * its sub-folders */
    int rc = ex_data_load(&all, &d->test, &kind, o->data, o->channels, o->side, o->cond ? GAN_IMAGE_LABELS : 0);
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
    if (!rc) {
        d->side = o->side;
        d->dim = gan_dataset_dim(all);
        d->channels = d->dim / (d->side * d->side); /* 1 or 3: ex_data_load checked */
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
    if (!rc && gan_dataset_size(d->train) < BATCH) { /* an epoch is a whole number of batches */
        fprintf(stderr, "dcgan: %s leaves %zu training rows (after %zu for validation), need a batch of %d\n",
                o->data, gan_dataset_size(d->train), n_valid, BATCH);
        rc = GAN_EFORMAT;
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

/* Add the layer `made` put in l, with its bias or without, and with spectral norm of `sn`
 * power iterations (0: none). */
static int add_weighted(gan_net *n, int made, gan_layer **l, int bias, long sn)
{
    if (!made && !bias) made = gan_layer_set_bias(*l, 0);
    if (!made && sn) made = gan_layer_spectral_norm(*l, (size_t)sn);
    if (made) {
        gan_layer_free(*l);
        return made;
    }
    return ex_add_layer(n, 0, l);
}

/* Batch norm over `channels`, then ReLU (G) or leaky ReLU 0.2 (D). */
static int add_norm_act(gan_net *n, size_t channels, int leaky)
{
    gan_layer *l;
    EX_TRY(ex_add_layer(n, gan_layer_batchnorm(&l, channels, 0.1f, 1e-5f), &l));
    if (leaky) return ex_add_layer(n, gan_layer_leaky_relu(&l, 0.2f), &l);
    return ex_add_layer(n, gan_layer_activation(&l, GAN_ACT_RELU), &l);
}

/* With a condition, the class also joins G's first maps as `cond` constant maps (the
 * condition routed as in D, below). */
static int generator(gan_net **g, const data *d, size_t ngf, size_t cond)
{
    gan_layer *l;
    size_t w, first; /* the first maps' channels and side */
    EX_TRY(gan_net_create(g, ZDIM + cond));
    if (d->side == 28) {
        w = 2 * ngf, first = 7;
        EX_TRY(add_weighted(*g, gan_layer_dense(&l, ZDIM + cond, w * 7 * 7), &l, 0, 0));
        EX_TRY(add_norm_act(*g, w * 7 * 7, 0));
        EX_TRY(ex_add_layer(*g, gan_layer_reshape(&l, w, 7, 7), &l));
    } else { /* a row of gan_net_create() is a (ZDIM + cond) x 1 x 1 image */
        w = ngf << (d->side == 64 ? 3 : 2), first = 4;
        EX_TRY(add_weighted(*g, gan_layer_conv2d_transpose(&l, ZDIM + cond, w, 4, 1, 0, 0), &l, 0, 0));
        EX_TRY(add_norm_act(*g, w, 0));
    }
    if (cond) EX_TRY(add_class_maps(*g, ZDIM, cond, first));
    size_t in = w + cond;
    for (size_t s = first; 2 * s < d->side; s *= 2, in = w) { /* doubling the side, halving the channels */
        w /= 2;
        EX_TRY(add_weighted(*g, gan_layer_conv2d_transpose(&l, in, w, 4, 2, 1, 0), &l, 0, 0));
        EX_TRY(add_norm_act(*g, w, 0));
    }
    /* main.py's last layer has no bias either; the 28 x 28 model's has */
    EX_TRY(add_weighted(*g, gan_layer_conv2d_transpose(&l, in, d->channels, 4, 2, 1, 0), &l, d->side == 28, 0));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_TANH), &l));
    return GAN_OK;
}

/* Without batch norm (--d-norm none, and always under a gradient penalty) nothing takes
 * its place: WGAN-GP's paper puts layer norm there, which libgan does not have (docs/guide.md).
 * Spectral norm (--sn) goes on the first and the last layer. */
static int discriminator(gan_net **dn, const data *d, size_t ndf, size_t cond, long sn, int batchnorm)
{
    gan_layer *l;
    size_t side = d->side, c = d->channels;
    if (cond) { /* [image | class] rows: the image, and the class as constant maps beside it */
        EX_TRY(gan_net_create(dn, d->dim + cond));
        EX_TRY(ex_add_layer(*dn, gan_layer_slice(&l, 0, d->dim), &l));
        EX_TRY(ex_add_layer(*dn, gan_layer_reshape(&l, c, side, side), &l));
        EX_TRY(add_class_maps(*dn, d->dim, cond, side));
    } else {
        EX_TRY(gan_net_create_image(dn, c, side, side));
    }
    EX_TRY(add_weighted(*dn, gan_layer_conv2d(&l, c + cond, ndf, 4, 2, 1), &l, 1, sn));
    EX_TRY(ex_add_layer(*dn, gan_layer_leaky_relu(&l, 0.2f), &l));
    if (cond) EX_TRY(add_class_maps(*dn, d->dim, cond, side / 2));
    /* Halving the side, doubling the channels: at 28 to 7 x 7 (one block), else to 4 x 4. */
    size_t in = ndf + cond, w = ndf, last = side == 28 ? 7 : 4;
    for (size_t s = side / 2; s > last; s /= 2, in = w) {
        w *= 2;
        EX_TRY(add_weighted(*dn, gan_layer_conv2d(&l, in, w, 4, 2, 1), &l, !batchnorm, 0));
        if (batchnorm) EX_TRY(ex_add_layer(*dn, gan_layer_batchnorm(&l, w, 0.1f, 1e-5f), &l));
        EX_TRY(ex_add_layer(*dn, gan_layer_leaky_relu(&l, 0.2f), &l));
    }
    if (side == 28) return add_weighted(*dn, gan_layer_dense(&l, w * 7 * 7, 1), &l, 1, sn);
    return add_weighted(*dn, gan_layer_conv2d(&l, w, 1, 4, 1, 0), &l, 0, sn); /* 4 x 4 to 1 x 1 */
}

static int model_setup(ex_gan *m, data *d, const options *o)
{
    size_t c = o->cond ? CLASSES : 0;
    EX_TRY(generator(&m->g, d, (size_t)o->ngf, c));
    EX_TRY(discriminator(&m->d, d, (size_t)o->ndf, c, o->sn, d_batchnorm(o)));
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
    if (o->augment) EX_TRY(gan_trainer_set_augment(m->t, o->augment));
    if (!strcmp(o->update, "reuse_fakes")) EX_TRY(gan_trainer_set_update(m->t, GAN_UPDATE_REUSE_FAKES));
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

/* Each pixel drawn 2 x 2 up to 32 x 32, once at 64 x 64. */
static int scale_of(const data *d) { return d->side > 32 ? 1 : 2; }

/* n images in [0, 1] as a grid of 10 columns under a title: grey ones as dcgan always
 * drew them (gan_image_grid2), colour ones (and 64 x 64) at their scale. */
static int save_grid(const data *d, const char *path, const float *x, size_t n, const char *title)
{
    if (d->channels == 1 && scale_of(d) == GRID_SCALE) return ex_save_image_grid(path, x, n, d->side, 10, title);
    return ex_save_labelled_grid(path, x, n, d->channels, d->side, d->side, 10, scale_of(d), NULL, title);
}

/* A grid from the fixed z (and, conditional, class r in row r). */
static int grid(gan_trainer *t, const data *d, const float *z, const float *cond, float *x, const char *path,
                const char *title)
{
    EX_TRY(gan_trainer_generate(t, z, cond, GRID, x));
    to_unit(x, (size_t)GRID * d->dim);
    return save_grid(d, path, x, GRID, title);
}

/* The point at t in [0, 1] on the great circle from a to b (n values each):
 * slerp(a, b, t) = sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b, w the angle between
 * them. Why not the straight line: z is normal in 100 dimensions, so
 * its norm is close to sqrt(100) = 10, and the midpoint of two independent draws has a
 * norm near sqrt(2)/2 of that, about 7, far inside the shell G saw in training; the great
 * circle stays in the shell. Two almost parallel points (sin w tiny) take the line. */
static void slerp(float *out, const float *a, const float *b, size_t n, double t)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t j = 0; j < n; j++) {
        ab += (double)a[j] * b[j];
        aa += (double)a[j] * a[j];
        bb += (double)b[j] * b[j];
    }
    double cosw = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1.0;
    double w = acos(cosw < -1 ? -1 : cosw > 1 ? 1 : cosw), sw = sin(w);
    double ka = sw > 1e-6 ? sin((1 - t) * w) / sw : 1 - t, kb = sw > 1e-6 ? sin(t * w) / sw : t;
    for (size_t j = 0; j < n; j++) out[j] = (float)(ka * a[j] + kb * b[j]);
}

/* One-hot classes for n samples, class (i / per) % CLASSES for sample i: `per` to a row
 * of a grid, or 1. NULL unconditional, or out of memory, which *rc tells. */
static float *classes_for(const data *d, size_t n, size_t per, int *rc)
{
    if (!d->cond || *rc) return NULL;
    float *cond = calloc(n * CLASSES, sizeof *cond);
    if (!cond) *rc = ex_out_of_memory("the classes");
    for (size_t i = 0; cond && i < n; i++) cond[i * CLASSES + (i / per) % CLASSES] = 1.0f;
    return cond;
}

/* WALKS rows of WALK_STEPS samples, each row on the great circle between two normal z
 * (slerp()); conditional, row r keeps class r. */
static int figure_interpolation(const char *path, gan_trainer *t, const data *d, gan_rng *rng, const char *title)
{
    const size_t n = (size_t)WALKS * WALK_STEPS;
    float *z = malloc(n * ZDIM * sizeof *z), *x = malloc(n * d->dim * sizeof *x), ends[2][ZDIM];
    int rc = z && x ? GAN_OK : ex_out_of_memory(path);
    float *cond = classes_for(d, n, WALK_STEPS, &rc);
    for (size_t r = 0; !rc && r < WALKS; r++) {
        rc = ex_report(gan_rng_fill_normal(rng, &ends[0][0], 2 * ZDIM, 0.0f, 1.0f), "gan_rng_fill_normal");
        for (size_t s = 0; !rc && s < WALK_STEPS; s++)
            slerp(z + (r * WALK_STEPS + s) * ZDIM, ends[0], ends[1], ZDIM, (double)s / (WALK_STEPS - 1));
    }
    if (!rc) rc = ex_report(gan_trainer_generate(t, z, cond, n, x), "gan_trainer_generate");
    if (!rc) to_unit(x, n * d->dim);
    if (!rc) rc = save_grid(d, path, x, n, title);
    free(cond);
    free(z);
    free(x);
    return rc;
}

/* For each of the n rows of x, the index of the nearest training row: the set read in
 * chunks, as bytes become floats only in the chunk (no float copy of a large set). */
static int nearest_training(size_t *nn, const float *x, size_t n, const gan_dataset *train)
{
    const size_t rows = gan_dataset_size(train), dim = gan_dataset_dim(train), chunk = 512;
    float *ref = malloc(chunk * dim * sizeof *ref), *d2 = malloc(n * sizeof *d2), *best = malloc(n * sizeof *best);
    size_t *at = malloc(n * sizeof *at);
    int rc = ref && d2 && best && at ? GAN_OK : ex_out_of_memory("the nearest training images");
    for (size_t i0 = 0; !rc && i0 < rows; i0 += chunk) {
        size_t m = rows - i0 < chunk ? rows - i0 : chunk;
        rc = ex_report(gan_dataset_get_rows(train, i0, m, ref), "gan_dataset_get_rows");
        if (!rc) rc = ex_report(gan_nearest_neighbors(at, d2, x, n, ref, m, dim), "gan_nearest_neighbors");
        for (size_t q = 0; !rc && q < n; q++)
            if (i0 == 0 || d2[q] < best[q]) { /* strictly nearer: ties keep the lower index */
                best[q] = d2[q];
                nn[q] = i0 + at[q];
            }
    }
    free(ref);
    free(d2);
    free(best);
    free(at);
    return rc;
}

/* PAIRS samples (conditional: sample i of class i % CLASSES), each beside its nearest
 * training image, framed in yellow: copies of training images would tell that G memorised
 * them. */
static int figure_neighbours(const char *path, gan_trainer *t, const data *d, gan_rng *rng)
{
    float *z = malloc((size_t)PAIRS * ZDIM * sizeof *z), *x = malloc((size_t)PAIRS * d->dim * sizeof *x);
    float *near = malloc((size_t)PAIRS * d->dim * sizeof *near);
    size_t *nn = malloc(PAIRS * sizeof *nn);
    int rc = z && x && near && nn ? GAN_OK : ex_out_of_memory(path);
    float *cond = classes_for(d, PAIRS, 1, &rc);
    if (!rc) rc = ex_report(gan_rng_fill_normal(rng, z, (size_t)PAIRS * ZDIM, 0.0f, 1.0f), "gan_rng_fill_normal");
    if (!rc) rc = ex_report(gan_trainer_generate(t, z, cond, PAIRS, x), "gan_trainer_generate");
    if (!rc) to_unit(x, (size_t)PAIRS * d->dim);
    if (!rc) rc = nearest_training(nn, x, PAIRS, d->train); /* both in [0, 1] */
    for (size_t i = 0; !rc && i < PAIRS; i++)
        rc = ex_report(gan_dataset_get_rows(d->train, nn[i], 1, near + i * d->dim), "gan_dataset_get_rows");
    if (!rc)
        rc = ex_save_pairs(path, x, near, PAIRS, PAIRS_PER_ROW, (int)d->channels, (int)d->side, scale_of(d),
                           "samples, each beside its nearest training image (yellow)");
    free(cond);
    free(nn);
    free(near);
    free(x);
    free(z);
    return rc;
}

/* interpolation.png and neighbours.png, their z from a stream of --seed's own. */
static int figures(gan_trainer *t, const data *d, const options *o)
{
    char path[4096], title[128];
    gan_rng *rng = NULL;
    int rc = ex_report(gan_rng_create(&rng, (uint64_t)o->seed ^ FIGURE_SEED), "gan_rng_create");
    snprintf(path, sizeof path, "%s/interpolation.png", o->out);
    snprintf(title, sizeof title, "great circles through z, one per row%s", d->cond ? ", one class per row" : "");
    if (!rc) rc = figure_interpolation(path, t, d, rng, title);
    if (!rc) printf("interpolation: %s\n", path);
    snprintf(path, sizeof path, "%s/neighbours.png", o->out);
    if (!rc) rc = figure_neighbours(path, t, d, rng);
    if (!rc) printf("neighbours: %s\n", path);
    gan_rng_free(rng);
    return rc;
}

/* ---------------------------------------------------------------- Parzen */

typedef struct parzen_score {
    double ll, se;
    float sigma;
} parzen_score;

/* The Parzen protocol on n samples (a conditional model's cycle through the classes). */
static int parzen(gan_trainer *t, const data *d, size_t n, size_t test_rows, const char *samples, parzen_score *p)
{
    float *x = malloc(n * d->dim * sizeof *x), *cond = NULL;
    int rc = x ? GAN_OK : ex_out_of_memory("the Parzen samples");
    if (!rc && d->cond && !(cond = calloc(n * CLASSES, sizeof *cond))) rc = ex_out_of_memory("the Parzen classes");
    for (size_t i = 0; !rc && cond && i < n; i++) cond[i * CLASSES + i % CLASSES] = 1.0f;
    if (!rc) rc = ex_report(gan_trainer_generate(t, NULL, cond, n, x), "gan_trainer_generate");
    if (!rc) to_unit(x, n * d->dim);
    if (!rc && samples) rc = ex_write_rows(samples, x, n, d->dim);
    const float *valid = gan_dataset_row(d->valid, 0), *test = gan_dataset_row(d->test, 0);
    size_t m = gan_dataset_size(d->test);
    if (test_rows > 0 && test_rows < m) m = test_rows;
    if (!rc)
        rc = ex_report(gan_parzen_select_sigma(&p->sigma, NULL, x, n, valid, gan_dataset_size(d->valid), d->dim,
                                               NULL, 0), "gan_parzen_select_sigma");
    if (!rc)
        rc = ex_report(gan_parzen_log_likelihood(&p->ll, &p->se, x, n, test, m, d->dim, p->sigma),
                       "gan_parzen_log_likelihood");
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

/* The --augment policy as its words, in the order the trainer applies them. */
static const struct {
    const char *name;
    unsigned bit;
} augments[] = {{"color", GAN_AUGMENT_COLOR}, {"translation", GAN_AUGMENT_TRANSLATION}, {"cutout", GAN_AUGMENT_CUTOUT}};
#define N_AUGMENTS (sizeof augments / sizeof *augments)

static const char *augment_name(unsigned bits, char *buf, size_t size)
{
    snprintf(buf, size, "none");
    for (size_t k = 0, at = 0; k < N_AUGMENTS; k++)
        if (bits & augments[k].bit && at < size)
            at += (size_t)snprintf(buf + at, size - at, "%s%s", at ? "," : "", augments[k].name);
    return buf;
}

static int train(const options *o, data *d)
{
    ex_gan m = {0};
    progress p = {0};
    ex_log log = {0};
    char path[4096], policy[64];
    size_t c = o->cond ? CLASSES : 0;
    float *z = malloc((size_t)GRID * ZDIM * sizeof *z), *x = malloc((size_t)GRID * d->dim * sizeof *x);
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
        printf("data %s: %zu training rows of %zu x %zu x %zu | %s | ngf %ld, ndf %ld | %ld epochs of %llu steps "
               "of %d, seed %ld\n", o->data, gan_dataset_size(d->train), d->channels, d->side, d->side,
               o->cond ? "class-conditional" : "unconditional", o->ngf, o->ndf, o->epochs,
               (unsigned long long)per_epoch, BATCH, o->seed);
        printf("loss %s | %ld D and %ld G updates per step | Adam lr %g (G), %g (D), betas (0.5, %g) | D %s batch norm",
               o->loss, o->d_steps, o->g_steps, o->lr_g, o->lr_d, o->beta2, d_batchnorm(o) ? "with" : "without");
        if (!strcmp(o->loss, "wgan-gp")) printf(" | WGAN-GP lambda %g every %ld steps", o->gp, o->interval);
        if (o->r1 > 0) printf(" | R1 gamma %g every %ld steps", o->r1, o->interval);
        if (strcmp(o->update, "alternating")) printf(" | G's first update on D's fakes");
        printf(" | augment %s", augment_name(o->augment, policy, sizeof policy));
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
        if (!rc) rc = grid(m.t, d, z, cond, x, path, title);
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
    if (!rc) rc = grid(m.t, d, z, cond, x, path, title);
    if (!rc) printf("samples: %s\n", path);
    parzen_score score;
    if (!rc) rc = parzen(m.t, d, (size_t)o->parzen, (size_t)o->test_rows, o->samples, &score);
    if (!rc) rc = figures(m.t, d, o); /* after the score, which they leave as it was */
    if (!rc) printf("parzen_ll=%.2f se=%.2f sigma=%.4f\n", score.ll, score.se, score.sigma);
    ex_gan_free(&m);
    free(cond);
    free(z);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- main */

/* --augment: "none" or a comma-separated list of augments' names; 0, or -1 for a word
 * that is none of them. */
static int parse_augment(const char *text, unsigned *bits)
{
    *bits = 0;
    if (!strcmp(text, "none")) return 0;
    for (const char *w = text;; w++) {
        size_t n = strcspn(w, ","), k = 0;
        while (k < N_AUGMENTS && !(strlen(augments[k].name) == n && !strncmp(w, augments[k].name, n))) k++;
        if (k == N_AUGMENTS) return -1;
        *bits |= augments[k].bit;
        w += n;
        if (!*w) return 0;
    }
}

int main(int argc, char **argv)
{
    /* -1 and 0: the recipe's value */
    options o = {.epochs = 5, .seed = 1, .threads = 1, .sn = -1, .ema = -1, .recipe = "libgan", .stats = NULL,
                 .gp = 10, .interval = 1, .loss = "ns", .update = "alternating", .ngf = 64, .ndf = 64,
                 .data = "/usr/share/datasets/fashion-mnist", .out = "out/dcgan"};
    const char *size = "28", *channels = "0", *augment = "none";
    const ex_flag flags[] = {
        {"--epochs", EX_LONG, &o.epochs, "N", "[1, inf)", "training epochs (5)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {"--size", EX_CHOICE, &size, "28|32|64", NULL,
         "image side: 28, libgan's model; 32 and 64, pytorch/examples' dcgan (28)"},
        {"--channels", EX_CHOICE, &channels, "0|1|3", NULL,
         "1 grey, 3 colour; 0: the data's (IDX: its own; images: colour, grey when all are) (0)"},
        {"--ngf", EX_LONG, &o.ngf, "G", "[1, 1024]", "G's width: channels of its last maps before the image (64)"},
        {"--ndf", EX_LONG, &o.ndf, "D", "[1, 1024]", "D's width: channels of its first convolution (64)"},
        {"--cond", EX_SWITCH, &o.cond, NULL, NULL, "class-conditional: one row of the grids per class"},
        {"--augment", EX_TEXT, &augment, "POLICY", NULL,
         "DiffAugment on every row D sees: none, or some of color,translation,cutout (none)"},
        {"--data", EX_TEXT, &o.data, "PATH", NULL,
         "the four IDX files' folder (/usr/share/datasets/fashion-mnist), an IDX file, a folder of images or a list"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where the pictures go (out/dcgan)"},
        {"--train-rows", EX_LONG, &o.train_rows, "N", "[0, inf)",
         "train on the first N rows, a multiple of 64 (0: all)"},
        {"--test-rows", EX_LONG, &o.test_rows, "N", "[0, inf)", "score on the first N test rows (0: all)"},
        {"--parzen", EX_LONG, &o.parzen, "N", "[100, inf)",
         "samples in the Parzen score (10000 at 28; 2000 at 32 and 64, where a sample is 4 to 16 times the size)"},
        {"--save", EX_TEXT, &o.save, "CHECKPOINT", NULL, "save the trainer after every epoch"},
        {"--resume", EX_TEXT, &o.resume, "CHECKPOINT", NULL, "continue a saved trainer"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step (a resume continues it)"},
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL,
         "write the Parzen samples as raw float32 rows in [0, 1], HWC at the model's size and channels (for "
         "examples/score)"},
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
         "batch norm in D's blocks after the first, or nothing there (batch; none under a penalty)"},
        {"--update", EX_CHOICE, &o.update, "alternating|reuse_fakes", NULL,
         "new fakes for every update, or G's first update on those of D's last (pytorch/examples' loop: one G "
         "forward fewer a step) (alternating)"},
        {"--d-steps", EX_LONG, &o.d_steps, "K", "[1, 16]", "D updates per step (the recipe's: 1, wgan-gp 5)"},
        {"--beta2", EX_REAL, &o.beta2, "B", "[0, 1)", "Adam's beta2 (the recipe's: 0.999, wgan-gp 0.9)"},
        {"--cpu-minutes", EX_REAL, &o.cpu_minutes, "M", "[0, inf)",
         "stop training after M minutes of this process's CPU time, within --epochs (0: no limit)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "dcgan: the convolutional GAN of Radford, Metz and Chintala (2016). --size 28 is libgan's\n"
                   "model (Fashion-MNIST by default); 32 and 64 are pytorch/examples' dcgan (transposed\n"
                   "convolutions from z as a 1 x 1 image up to the image, D mirrored down to a 4 x 4\n"
                   "convolution): 64 at --ngf = --ndf = 64 is exactly its model, 32 one stage fewer. At 28\n"
                   "--ngf and --ndf scale the 28 x 28 model's widths (64 each: the model as it always was).\n"
                   "--data: a folder of the four IDX files (train-images-idx3-ubyte ... raw or .gz), one IDX\n"
                   "file (examples/images --pack), a folder of PNG/JPEG images or a list file of `path [label]`\n"
                   "lines, converted to the size; a single set is shuffled once and a seventh held out for the\n"
                   "test. IDX rows must be of the size (examples/images --pack --size 64 writes such a file),\n"
                   "in their own channels; images are read in colour, or grey when every one is (--channels).\n"
                   "With --cond the labels are a folder's sub-folders or the list's second words (10 classes\n"
                   "at most). --augment: DiffAugment (Zhao et al. 2020) on real and generated rows alike, for\n"
                   "small sets.\n"
                   "At the end, after the score: interpolation.png, rows of samples along great circles\n"
                   "(slerp) between two normal z: a straight line between two draws passes near the origin,\n"
                   "where the norm is about sqrt(2)/2 of a draw's typical sqrt(100), a region G never saw;\n"
                   "the great circle keeps the norm in the typical shell. neighbours.png: samples beside their\n"
                   "nearest training images, to tell whether G copies a small set.");
    o.side = (size_t)atol(size);
    o.channels = (size_t)atol(channels);
    if (parse_augment(augment, &o.augment))
        ex_flags_fail(flags, "--augment expects none or some of color,translation,cutout joined by commas, got '%s'",
                      augment);
    if (o.parzen == 0) o.parzen = o.side == 28 ? 10000 : 2000;
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
