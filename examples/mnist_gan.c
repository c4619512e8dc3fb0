/* mnist_gan: the MNIST experiment of Goodfellow et al. (2014), on MNIST-like IDX files
 * (default Fashion-MNIST from Debian's dataset-fashion-mnist) or a folder of images.
 *
 *   G: 100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid, weights uniform in +-0.05,
 *      output bias set to the logit of the data's pixel means.
 *   D: dropout keep 0.8 -> maxout 240x5 -> dropout 0.5 -> maxout 240x5 -> dropout 0.5
 *      -> dense 1 -> sigmoid, weights uniform in +-0.005.
 *   SGD lr 0.1 divided by 1.000004 every step (floor 1e-6), momentum 0.5 rising linearly
 *   to 0.7 at epoch 250 (the paper's code), batch 100, k = 1, uniform noise, non-saturating G loss.
 *
 * --data is a folder of the four IDX files of MNIST or Fashion-MNIST (the default, Debian's
 * /usr/share/datasets/fashion-mnist), one IDX file (examples/images --pack), a folder of
 * PNG and JPEG images or a list file of them (converted to 28 x 28 grey by
 * gan_dataset_load_images); a single set is shuffled once and a seventh of it held out
 * as the test set (common/data.h).
 *
 * Prints its plan first, writes a sample grid from a fixed z every epoch, the paper's
 * Figure 2 (samples beside their nearest training image), Figure 3 (latent
 * interpolations) and losses.png, then scores the model by the paper's Parzen-window
 * protocol beside two reference points (real images, the mean image). The last line is
 *   parzen_ll=<mean> se=<se> sigma=<sigma>
 * `--score FILE` skips training and scores 10,000 samples stored as raw little-endian
 * float32 rows (how bench/peer_mnist.py hands over the PyTorch peer's samples).
 *
 * Data-parallel (docs/scale.md): `--ranks N` trains on N threads of this process, one
 * replica each, on the same global batch of 100; mnist_gan_mpi, the same program built
 * with libgan_mpi, trains on the ranks of `mpirun -np N`. Rank 0 prints, draws, saves
 * and scores; a checkpoint resumes on any rank count. */
#include "common.h"
#include "data.h"
#include "flags.h"
#include "gan.h"
#include "log.h"
#include "plot.h"

#ifdef EX_MPI
#define OMPI_SKIP_MPICXX 1
#include "gan_mpi.h"
#endif

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define DIM (SIDE * SIDE)
#define ZDIM 100
#define N_VALID 1000    /* held out from the end of the training file, for choosing sigma */
#define N_PARZEN 10000  /* generated samples in the Parzen estimate */

typedef struct options {
    long epochs, seed, threads, test_rows, train_rows, saturate, ranks;
    const char *data, *out, *score, *save, *resume, *log, *samples;
} options;

typedef struct data {
    gan_dataset *real, *train, *valid, *test; /* real: the reference samples, the first training rows */
} data;

/* OpenBLAS's thread count, when OpenBLAS is the BLAS libgan was linked with (a weak
 * reference: with the reference BLAS it is absent and there is one thread anyway). */
extern void openblas_set_num_threads(int n) __attribute__((weak));

static void set_threads(long n)
{
    if (n > 0 && openblas_set_num_threads) openblas_set_num_threads((int)n);
}

/* ---------------------------------------------------------------- data */

static void data_free(data *d)
{
    gan_dataset_free(d->real);
    gan_dataset_free(d->train);
    gan_dataset_free(d->valid);
    gan_dataset_free(d->test);
    memset(d, 0, sizeof *d);
}

/* The first n rows of ds (fewer than all) as a new data set. */
static int head(gan_dataset **first, const gan_dataset *ds, size_t n)
{
    gan_dataset *rest = NULL;
    int rc = ex_report(gan_dataset_split(first, &rest, ds, n, NULL), "gan_dataset_split");
    gan_dataset_free(rest);
    return rc;
}

/* The validation rows held out from the end of `n` training rows: N_VALID from the four
 * IDX files, a tenth (at most N_VALID) from any other --data. */
static size_t valid_rows(ex_data_kind kind, size_t n)
{
    if (kind == EX_DATA_IDX_DIR) return N_VALID;
    return n / 10 < N_VALID ? n / 10 : N_VALID;
}

/* Training rows, the last of them held out for sigma, and the test set. */
static int data_load(data *d, const options *o)
{
    gan_dataset *all = NULL;
    ex_data_kind kind;
    /* 28 x 28 grey: a folder or list of images is converted to it (no labels needed) */
    int rc = ex_data_load(&all, &d->test, &kind, o->data, 1, SIDE, 0); /* reported there */
    if (rc) return rc;
    size_t n = gan_dataset_size(all), n_valid = valid_rows(kind, n);
    if (n <= n_valid || n_valid == 0) {
        if (kind == EX_DATA_IDX_DIR)
            fprintf(stderr, "mnist_gan: %s has %zu training images, need more than %d\n", o->data, n, N_VALID);
        else
            fprintf(stderr, "mnist_gan: %s has %zu images besides its test rows, need 10 or more\n", o->data, n);
        rc = GAN_EFORMAT;
    }
    if (!rc) rc = ex_report(gan_dataset_split(&d->train, &d->valid, all, n - n_valid, NULL), "gan_dataset_split");
    if (!rc) rc = head(&d->real, all, n - n_valid < N_PARZEN ? n - n_valid : N_PARZEN);
    gan_dataset_free(all);
    if (rc) return rc;
    if (o->train_rows > 0 && (size_t)o->train_rows < n - n_valid) { /* a quick run on a subset */
        gan_dataset *sub = NULL;
        EX_TRY(head(&sub, d->train, (size_t)o->train_rows));
        gan_dataset_free(d->train);
        d->train = sub;
    }
    return GAN_OK;
}

/* Rows of a data set are contiguous: row 0 is the whole matrix. */
static const float *rows(const gan_dataset *ds) { return gan_dataset_row(ds, 0); }

/* ---------------------------------------------------------------- model */

static int paper_generator(gan_net **g)
{
    gan_layer *l = NULL;
    EX_TRY(gan_net_create(g, ZDIM));
    EX_TRY(ex_add_layer(*g, gan_layer_dense(&l, ZDIM, 1200), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_dense(&l, 1200, 1200), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_dense(&l, 1200, DIM), &l));
    EX_TRY(ex_add_layer(*g, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l));
    return GAN_OK;
}

static int paper_discriminator(gan_net **d)
{
    gan_layer *l = NULL;
    EX_TRY(gan_net_create(d, DIM));
    EX_TRY(ex_add_layer(*d, gan_layer_dropout(&l, 0.8f), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_maxout(&l, DIM, 240, 5), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_dropout(&l, 0.5f), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_maxout(&l, 240, 240, 5), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_dropout(&l, 0.5f), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_dense(&l, 240, 1), &l));
    EX_TRY(ex_add_layer(*d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l));
    return GAN_OK;
}

/* G's output bias: the logit of each pixel's mean, so G starts at the average image
 * (the paper's init_bias_from_marginals). */
static void bias_from_marginals(gan_net *g, const gan_dataset *ds)
{
    size_t offset, count, n = gan_dataset_size(ds);
    gan_net_layer_params(g, 4, &offset, &count); /* layer 4: the 1200 -> 784 dense */
    float *b = gan_net_params(g) + offset + (count - DIM);
    const float *x = rows(ds);
    double sum[DIM] = {0};
    for (size_t i = 0; i < n; i++) /* row by row: the images are stored that way */
        for (size_t j = 0; j < DIM; j++) sum[j] += x[i * DIM + j];
    for (size_t j = 0; j < DIM; j++) {
        double mean = fmin(fmax(sum[j] / (double)n, 1e-4), 1 - 1e-4);
        b[j] = (float)log(mean / (1 - mean));
    }
}

/* The model and its trainer on this rank (comm NULL: one process), drawing its rows of
 * each batch through its own sampler. */
static int model_setup(ex_gan *m, gan_sampler **sampler, data *d, const options *o, const gan_comm *comm)
{
    EX_TRY(gan_sampler_create(sampler, d->train, GAN_SAMPLE_EPOCHS, 0));
    if (comm) EX_TRY(gan_sampler_set_shard(*sampler, comm->rank, comm->ranks));
    EX_TRY(paper_generator(&m->g));
    EX_TRY(paper_discriminator(&m->d));
    EX_TRY(gan_optim_sgd(&m->opt_g, 0.1f, 0.5f, 0));
    EX_TRY(gan_optim_sgd(&m->opt_d, 0.1f, 0.5f, 0));
    EX_TRY(gan_trainer_create(&m->t, m->g, m->d, m->opt_g, m->opt_d));
    EX_TRY(gan_trainer_set_seed(m->t, (uint64_t)o->seed));
    gan_rng *init = gan_trainer_rng(m->t, GAN_STREAM_INIT);
    EX_TRY(gan_net_init(m->g, init, GAN_INIT_UNIFORM, 0.05f));
    EX_TRY(gan_net_init(m->d, init, GAN_INIT_UNIFORM, 0.005f));
    bias_from_marginals(m->g, d->train);
    EX_TRY(gan_trainer_set_data(m->t, gan_dataset_sampler, *sampler));
    EX_TRY(gan_trainer_set_noise_uniform(m->t, sqrtf(3.0f))); /* unit variance, as the paper's code */
    EX_TRY(gan_trainer_set_batch_size(m->t, 100));
    EX_TRY(gan_trainer_set_d_steps(m->t, 1));
    EX_TRY(gan_trainer_set_loss(m->t, GAN_LOSS_NON_SATURATING));
    if (comm) EX_TRY(gan_trainer_set_comm(m->t, comm));
    return GAN_OK;
}

/* ---------------------------------------------------------------- schedules */

typedef struct progress {
    ex_progress bar;
    ex_gan *m;
    gan_step_stats last;
} progress;

/* lr after `step` steps: 0.1 / 1.000004^step, floored at 1e-6 (pylearn2's ExponentialDecay). */
static float lr_at(uint64_t step) { return (float)fmax(0.1 * pow(1.000004, -(double)step), 1e-6); }

/* Momentum for epoch `e` (0-based): 0.5 rising linearly to 0.7 at epoch `saturate`, as the
 * paper's MomentumAdjustor(start 1, saturate 250). A short run stays near 0.5. */
static float momentum_at(long e, long saturate)
{
    return (float)(0.5 + 0.2 * fmin(1.0, (double)e / (double)(saturate > 1 ? saturate - 1 : 1)));
}

/* The schedule, on every rank alike. */
static int schedule_on_step(void *payload, const gan_step_stats *s)
{
    ex_gan *m = payload;
    float lr = lr_at(s->step);
    int rc = gan_optim_set_lr(m->opt_g, lr);
    if (!rc) rc = gan_optim_set_lr(m->opt_d, lr);
    return ex_report(rc, "gan_optim_set_lr");
}

/* Rank 0's: the schedule and the progress line. */
static int on_step(void *payload, const gan_step_stats *s)
{
    progress *p = payload;
    p->last = *s;
    ex_progress_update(&p->bar, s);
    return schedule_on_step(p->m, s);
}

/* ---------------------------------------------------------------- pictures */

/* Figure 2: samples, each followed by its nearest training image framed in yellow,
 * to show G does not memorise. `pairs` samples, `per_row` pairs to a row. */
static int figure_neighbours(const char *path, gan_trainer *t, const gan_dataset *train, size_t pairs,
                             size_t per_row)
{
    float *x = malloc(pairs * DIM * sizeof *x), *near = malloc(pairs * DIM * sizeof *near);
    size_t *nn = malloc(pairs * sizeof *nn);
    int rc = x && near && nn ? 0 : ex_out_of_memory(path);
    if (!rc) rc = ex_report(gan_trainer_generate(t, NULL, NULL, pairs, x), "gan_trainer_generate");
    if (!rc)
        rc = ex_report(gan_nearest_neighbors(nn, NULL, x, pairs, rows(train), gan_dataset_size(train), DIM),
                       "gan_nearest_neighbors");
    for (size_t i = 0; !rc && i < pairs; i++) memcpy(near + i * DIM, gan_dataset_row(train, nn[i]), DIM * sizeof *near);
    if (!rc)
        rc = ex_save_pairs(path, x, near, pairs, per_row, 1, SIDE, 1,
                           "samples, each beside its nearest training image (yellow)");
    free(nn);
    free(near);
    free(x);
    return rc;
}

/* Figure 3: `n_rows` rows, each walking a straight line in z between two random points. */
static int figure_interpolation(const char *path, gan_trainer *t, size_t n_rows, size_t steps)
{
    float *z = malloc(n_rows * steps * ZDIM * sizeof *z), *x = malloc(n_rows * steps * DIM * sizeof *x);
    float ends[2][ZDIM];
    int rc = z && x ? 0 : ex_out_of_memory(path);
    gan_rng *rng = gan_trainer_rng(t, GAN_STREAM_NOISE);
    for (size_t r = 0; !rc && r < n_rows; r++) {
        rc = gan_rng_fill_uniform(rng, &ends[0][0], 2 * ZDIM, -sqrtf(3.0f), sqrtf(3.0f));
        for (size_t s = 0; s < steps; s++) {
            float a = (float)s / (float)(steps - 1);
            for (size_t j = 0; j < ZDIM; j++) z[(r * steps + s) * ZDIM + j] = (1 - a) * ends[0][j] + a * ends[1][j];
        }
    }
    if (!rc) rc = ex_report(gan_trainer_generate(t, z, NULL, n_rows * steps, x), "gan_trainer_generate");
    if (!rc) rc = ex_save_image_grid(path, x, n_rows * steps, SIDE, steps, "straight lines through z, one per row");
    free(z);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- Parzen */

typedef struct parzen {
    double ll, se;
    float sigma;
} parzen;

/* The paper's protocol: sigma from the paper's grid by the validation rows' likelihood,
 * then the mean log-likelihood of the test rows and its standard error. */
static int parzen_score(parzen *p, const float *samples, size_t n, const data *d, size_t m)
{
    EX_TRY(gan_parzen_select_sigma(&p->sigma, NULL, samples, n, rows(d->valid), gan_dataset_size(d->valid), DIM,
                                   NULL, 0));
    EX_TRY(gan_parzen_log_likelihood(&p->ll, &p->se, samples, n, rows(d->test), m, DIM, p->sigma));
    return GAN_OK;
}

static void print_score(const char *what, const parzen *p)
{
    printf("  %-52s %8.2f  se %.2f  sigma %.4f\n", what, p->ll, p->se, p->sigma);
    fflush(stdout);
}

/* The score of `what` between two reference points: real images as the samples (where a G
 * that draws from the data would land) and the training mean image as every sample (a G
 * that learnt the average only). The last line is the samples' own score. */
static int parzen_protocol(const float *samples, size_t n, const char *what, const data *d, size_t test_rows)
{
    size_t m = gan_dataset_size(d->test), n_real = gan_dataset_size(d->real), n_train = gan_dataset_size(d->train);
    if (test_rows > 0 && test_rows < m) m = test_rows;
    double t0 = ex_now(), sum[DIM] = {0};
    float mean[DIM];
    char label[80];
    parzen real, avg, p;
    printf("parzen: sigma chosen on %zu validation images, mean log-likelihood of %zu test images\n",
           gan_dataset_size(d->valid), m);
    snprintf(label, sizeof label, "real: %zu training images as the samples", n_real);
    EX_TRY(parzen_score(&real, rows(d->real), n_real, d, m));
    print_score(label, &real);
    for (size_t i = 0; i < n_train; i++)
        for (size_t j = 0; j < DIM; j++) sum[j] += rows(d->train)[i * DIM + j];
    for (size_t j = 0; j < DIM; j++) mean[j] = (float)(sum[j] / (double)n_train);
    /* One kernel: n copies of the mean image make the same density. */
    EX_TRY(parzen_score(&avg, mean, 1, d, m));
    print_score("mean: the training mean image as every sample", &avg);
    EX_TRY(parzen_score(&p, samples, n, d, m));
    print_score(what, &p);
    fprintf(stderr, "parzen: %zu samples, three scores (%.1f s)\n", n, ex_now() - t0);
    printf("parzen_ll=%.2f se=%.2f sigma=%.4f\n", p.ll, p.se, p.sigma);
    return GAN_OK;
}

/* Score samples from a raw float32 file (rows of 784). */
static int score_file(const options *o, const data *d)
{
    FILE *f = fopen(o->score, "rb");
    if (!f) {
        fprintf(stderr, "mnist_gan: cannot open %s\n", o->score);
        return GAN_EIO;
    }
    float *x = malloc((size_t)N_PARZEN * DIM * sizeof *x);
    size_t got = x ? fread(x, sizeof(float) * DIM, N_PARZEN + 1, f) : 0;
    fclose(f);
    int rc = GAN_OK;
    if (!x) rc = ex_out_of_memory(o->score);
    else if (got != N_PARZEN) {
        fprintf(stderr, "mnist_gan: %s must hold exactly %d rows of %d floats\n", o->score, N_PARZEN, DIM);
        rc = GAN_EFORMAT;
    } else
        rc = parzen_protocol(x, N_PARZEN, "the samples in --score's file", d, (size_t)o->test_rows);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- training */

/* A rank other than 0: the same collective calls as rank 0 (the sync, then each epoch's
 * run), and nothing else. */
static int follow(const options *o, data *d, const gan_comm *comm)
{
    ex_gan m = {0};
    gan_sampler *sampler = NULL;
    int rc = model_setup(&m, &sampler, d, o, comm);
    if (!rc) rc = ex_report(gan_trainer_sync(m.t), "gan_trainer_sync");
    uint64_t per_epoch = gan_dataset_size(d->train) / 100;
    for (long e = (long)(gan_trainer_steps(m.t) / per_epoch); !rc && e < o->epochs; e++) {
        float mom = momentum_at(e, o->saturate);
        rc = ex_report(gan_optim_set_momentum(m.opt_g, mom), "gan_optim_set_momentum");
        if (!rc) rc = ex_report(gan_optim_set_momentum(m.opt_d, mom), "gan_optim_set_momentum");
        if (!rc) rc = ex_report(gan_trainer_run(m.t, per_epoch, schedule_on_step, &m), "gan_trainer_run");
    }
    ex_gan_free(&m);
    gan_sampler_free(sampler);
    return rc;
}

/* Train on this rank (comm NULL: one process); rank 0 does everything the user sees. */
static int train(const options *o, data *d, const gan_comm *comm)
{
    if (comm && comm->rank != 0) return follow(o, d, comm);
    ex_gan m = {0};
    gan_sampler *sampler = NULL;
    progress p = {.m = &m};
    ex_log log = {0};
    char path[4096];
    float *z_fixed = malloc(100 * ZDIM * sizeof *z_fixed), *x = malloc((size_t)N_PARZEN * DIM * sizeof *x);
    int rc = z_fixed && x ? model_setup(&m, &sampler, d, o, comm) : ex_out_of_memory("the samples");
    /* The fixed z comes from its own stream, so the per-epoch grids show one set of samples. */
    gan_rng *zrng = NULL;
    if (!rc) rc = ex_report(gan_rng_create(&zrng, (uint64_t)o->seed ^ 0x5EED), "gan_rng_create");
    if (!rc) rc = gan_rng_fill_uniform(zrng, z_fixed, 100 * ZDIM, -sqrtf(3.0f), sqrtf(3.0f));
    gan_rng_free(zrng);

    uint64_t per_epoch = gan_dataset_size(d->train) / 100;
    uint64_t total = (uint64_t)o->epochs * per_epoch;
    /* A checkpoint (saved at an epoch's end) replaces the fresh model, rngs and step count. */
    uint64_t done = 0;
    if (!rc) rc = ex_resume(m.t, o->resume, per_epoch, o->epochs, &done);
    if (!rc && comm) rc = ex_report(gan_trainer_sync(m.t), "gan_trainer_sync"); /* every rank takes rank 0's */
    long first_epoch = (long)(done / per_epoch);
    if (!rc) rc = ex_log_open(&log, o->log, done, on_step, &p);
    if (!rc) {
        printf("data %s: %zu training rows, %zu validation, %zu test | %ld epochs of %llu steps, seed %ld, %d rank%s\n",
               o->data, gan_dataset_size(d->train), gan_dataset_size(d->valid), gan_dataset_size(d->test), o->epochs,
               (unsigned long long)per_epoch, o->seed, comm ? comm->ranks : 1, comm && comm->ranks > 1 ? "s" : "");
        fflush(stdout);
        ex_progress_start(&p.bar, total, 100);
        p.bar.first = (uint64_t)first_epoch * per_epoch;
    }
    for (long e = first_epoch; !rc && e < o->epochs; e++) {
        float mom = momentum_at(e, o->saturate);
        rc = ex_report(gan_optim_set_momentum(m.opt_g, mom), "gan_optim_set_momentum");
        if (!rc) rc = ex_report(gan_optim_set_momentum(m.opt_d, mom), "gan_optim_set_momentum");
        if (!rc) rc = ex_report(gan_trainer_run(m.t, per_epoch, ex_log_on_step, &log), "gan_trainer_run");
        if (!rc) rc = ex_report(gan_trainer_generate(m.t, z_fixed, NULL, 100, x), "gan_trainer_generate");
        snprintf(path, sizeof path, "%s/epoch_%03ld.png", o->out, e + 1);
        char title[96];
        snprintf(title, sizeof title, "mnist_gan, seed %ld: epoch %ld", o->seed, e + 1);
        if (!rc) rc = ex_save_image_grid(path, x, 100, SIDE, 10, title);
        if (!rc && o->save) rc = ex_report(gan_trainer_save(m.t, o->save), "gan_trainer_save");
        if (!rc) {
            const gan_step_stats *s = &p.last;
            fprintf(stderr, "%sepoch %ld/%ld: loss_d %.4f loss_g %.4f D(x) %.3f D(G(z)) %.3f lr %.5f momentum %.3f -> %s\n",
                    p.bar.tty ? "\r\033[K" : "", e + 1, o->epochs, s->loss_d, s->loss_g, s->d_real, s->d_fake, s->lr_d,
                    mom, path);
        }
    }
    if (!rc) ex_progress_end(&p.bar);
    char title[128];
    snprintf(title, sizeof title, "mnist_gan: the paper's model, %ld epochs of %llu steps, seed %ld", o->epochs,
             (unsigned long long)per_epoch, o->seed);
    snprintf(path, sizeof path, "%s/losses.png", o->out);
    rc = ex_log_finish(&log, rc, path, title);
    if (!rc) printf("losses: %s\n", path);
    snprintf(path, sizeof path, "%s/samples.png", o->out);
    if (!rc) rc = ex_report(gan_trainer_generate(m.t, z_fixed, NULL, 100, x), "gan_trainer_generate");
    snprintf(title, sizeof title, "mnist_gan, seed %ld: after %ld epochs", o->seed, o->epochs);
    if (!rc) rc = ex_save_image_grid(path, x, 100, SIDE, 10, title);
    if (!rc) printf("samples: %s\n", path);
    snprintf(path, sizeof path, "%s/neighbours.png", o->out);
    if (!rc) rc = figure_neighbours(path, m.t, d->train, 40, 5);
    snprintf(path, sizeof path, "%s/interpolation.png", o->out);
    if (!rc) rc = figure_interpolation(path, m.t, 8, 10);
    if (!rc) rc = ex_report(gan_trainer_generate(m.t, NULL, NULL, N_PARZEN, x), "gan_trainer_generate");
    if (!rc && o->samples) rc = ex_write_rows(o->samples, x, N_PARZEN, DIM);
    if (!rc) rc = parzen_protocol(x, N_PARZEN, "G: 10000 of its samples", d, (size_t)o->test_rows);
    ex_gan_free(&m);
    gan_sampler_free(sampler);
    free(z_fixed);
    free(x);
    return rc;
}

/* ---------------------------------------------------------------- ranks */

#ifdef EX_MPI
/* The ranks of mpirun, one process each. */
static int train_ranks(const options *o, data *d)
{
    gan_comm comm;
    int rc = ex_report(gan_mpi_comm(&comm, MPI_COMM_WORLD), "gan_mpi_comm");
    if (!rc) rc = train(o, d, comm.ranks > 1 ? &comm : NULL);
    gan_mpi_comm_free(&comm);
    return rc;
}
#else
typedef struct rank_job {
    const options *o;
    data *d;
    gan_comm comm;
    int rc;
} rank_job;

static void *rank_main(void *arg)
{
    rank_job *j = arg;
    j->rc = train(j->o, j->d, &j->comm);
    return NULL;
}

/* --ranks N: N threads of this process, rank 0 on this one. */
static int train_ranks(const options *o, data *d)
{
    if (o->ranks == 1) return train(o, d, NULL);
    gan_thread_group *group = NULL;
    rank_job *jobs = calloc((size_t)o->ranks, sizeof *jobs);
    pthread_t *threads = calloc((size_t)o->ranks, sizeof *threads);
    int rc = jobs && threads ? ex_report(gan_thread_group_create(&group, (int)o->ranks), "gan_thread_group_create")
                             : ex_out_of_memory("the ranks");
    for (long k = 0; !rc && k < o->ranks; k++) {
        jobs[k] = (rank_job){.o = o, .d = d};
        rc = ex_report(gan_comm_threads(&jobs[k].comm, group, (int)k), "gan_comm_threads");
    }
    for (long k = 1; !rc && k < o->ranks; k++)
        if (pthread_create(&threads[k], NULL, rank_main, &jobs[k])) {
            /* The ranks started wait in their first exchange for this one, for ever. */
            fprintf(stderr, "mnist_gan: cannot start the thread of rank %ld\n", k);
            exit(1);
        }
    if (!rc) rc = train(o, d, &jobs[0].comm);
    for (long k = 1; !rc && k < o->ranks; k++) { /* (a rank that fails fails them all, in the same step) */
        pthread_join(threads[k], NULL);
        if (!rc) rc = jobs[k].rc;
    }
    gan_thread_group_free(group);
    free(jobs);
    free(threads);
    return rc;
}
#endif

/* ---------------------------------------------------------------- main */

static options parse(int argc, char **argv)
{
    options o = {.epochs = 25, .seed = 1, .threads = 1, .saturate = 250, .ranks = 1,
                 .data = "/usr/share/datasets/fashion-mnist", .out = "out/mnist"};
    const ex_flag flags[] = {
        {"--epochs", EX_LONG, &o.epochs, "N", "[1, inf)", "training epochs (25)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
#ifndef EX_MPI
        {"--ranks", EX_LONG, &o.ranks, "N", "[1, 100]", "data-parallel replicas, one thread each; needs 100 % N == 0 (1)"},
#endif
        {"--data", EX_TEXT, &o.data, "PATH", NULL,
         "the four IDX files' folder (/usr/share/datasets/fashion-mnist), an IDX file, a folder of images or a list"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where the pictures go (out/mnist)"},
        {"--momentum-saturate", EX_LONG, &o.saturate, "E", "[1, inf)", "the epoch where momentum reaches 0.7 (250)"},
        {"--train-rows", EX_LONG, &o.train_rows, "N", "[0, inf)",
         "train on the first N rows, a multiple of 100 (0: all)"},
        {"--test-rows", EX_LONG, &o.test_rows, "N", "[0, inf)", "score on the first N test rows (0: all)"},
        {"--score", EX_TEXT, &o.score, "SAMPLES.f32", NULL, "only score 10,000 rows of raw float32 samples"},
        {"--save", EX_TEXT, &o.save, "CHECKPOINT", NULL, "save the trainer after every epoch"},
        {"--resume", EX_TEXT, &o.resume, "CHECKPOINT", NULL, "continue a saved trainer"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step (a resume continues it)"},
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL, "write the 10,000 scored samples as raw float32 (examples/score)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "mnist_gan: the MNIST experiment of Goodfellow et al. (2014) on an IDX data set or images.\n"
                   "--data: a folder of the four IDX files (train-images-idx3-ubyte ... raw or .gz), one IDX file\n"
                   "(examples/images --pack), a folder of PNG/JPEG images or a list file of `path [label]` lines,\n"
                   "converted to 28 x 28 grey; a single set is shuffled once and a seventh held out for the test.");
    if (o.train_rows % 100)
        ex_flags_fail(flags, "--train-rows must be a multiple of 100 (the batch), got %ld", o.train_rows);
    if (100 % o.ranks) ex_flags_fail(flags, "--ranks must divide the batch of 100, got %ld", o.ranks);
    return o;
}

/* What the run will do, before the data load's seconds. */
static void print_plan(const options *o)
{
    if (o->score) {
        printf("plan: score the samples in %s by the Parzen protocol on %s\n", o->score, o->data);
    } else {
        printf("plan: the paper's model, %ld epochs, seed %ld\n", o->epochs, o->seed);
        printf("  data:    %s: ", o->data);
        ex_data_kind kind = ex_data_kind_of(o->data);
        if (kind != EX_DATA_IDX_DIR)
            printf("%s%s, shuffled once; a seventh is the test set, a tenth of the rest (at most %d) chooses "
                   "the Parzen sigma%s\n", ex_data_kind_name(kind), kind == EX_DATA_IDX_FILE ? "" : " at 28 x 28 grey",
                   N_VALID, o->train_rows ? ", the first --train-rows of the others train" : "");
        else if (o->train_rows)
            printf("the first %ld training rows; the last %d choose the Parzen sigma\n", o->train_rows, N_VALID);
        else
            printf("every training row but the last %d, which choose the Parzen sigma\n", N_VALID);
        printf("  output:  %s (epoch_NNN.png, samples.png, neighbours.png, interpolation.png, losses.png)\n", o->out);
        if (o->resume) printf("  resume:  %s\n", o->resume);
        if (o->save) printf("  save:    %s after every epoch\n", o->save);
        if (o->log) printf("  log:     %s\n", o->log);
    }
    if (o->test_rows) printf("  score:   on the first %ld test rows\n", o->test_rows);
    else printf("  score:   on every test row\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
#ifdef EX_MPI
    MPI_Init(&argc, &argv);
    int world_rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
#endif
    options o = parse(argc, argv);
#ifdef EX_MPI
    if (world_rank == 0) print_plan(&o);
#else
    print_plan(&o);
#endif
    set_threads(o.ranks > 1 ? 1 : o.threads); /* ranks take a core each */
    if (!o.score && ex_mkdir_p(o.out) != 0) {
        fprintf(stderr, "mnist_gan: cannot create %s\n", o.out);
        return 1;
    }
    data d = {0};
#ifdef EX_MPI
    if (o.score && world_rank != 0) { /* scoring is one process's work: rank 0's */
        MPI_Finalize();
        return 0;
    }
#endif
    int rc = data_load(&d, &o);
    if (!rc) rc = o.score ? score_file(&o, &d) : train_ranks(&o, &d);
    data_free(&d);
#ifdef EX_MPI
    MPI_Finalize();
#endif
    return rc ? 1 : 0;
}
