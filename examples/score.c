/* score: scores generated 28 x 28 images against the Fashion-MNIST test set by the
 * Frechet distance, KID and k-NN precision and recall on the scoring classifier's
 * features (examples/common/classifier.h; trained and cached when its file is missing),
 * and by the paper's Parzen window on the pixels.
 *
 *   score --samples FILE           raw little-endian float32 rows of 784 pixels in [0, 1]
 *                                  (what mnist_gan, dcgan and the PyTorch peers write)
 *   score --model G.gan [--tanh]   a generator's model file: 10,000 samples from its noise
 *   score --reference              the floor: real training rows scored as the samples
 *
 * Last line:
 *   fd=<FD> kid=<KID> kid_std=<sd over subsets> precision=<P> recall=<R> parzen_ll=<ll> se=<se> sigma=<s> */
#include "classifier.h"
#include "common.h"
#include "flags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_VALID 1000 /* the last training rows, held out for Parzen's sigma, as in mnist_gan */
#define KID_SUBSET 1000
#define KID_SUBSETS 100
#define PR_K 3

extern void openblas_set_num_threads(int n) __attribute__((weak));

typedef struct options {
    const char *samples, *model, *noise, *data, *classifier;
    long n, seed, threads, test_rows, classifier_epochs;
    double noise_scale;
    int tanh, reference, cond;
} options;

/* ---------------------------------------------------------------- samples */

static int read_samples(const char *path, float **x, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "score: cannot open %s\n", path);
        return EX_FAIL;
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    size_t row = EX_PIXELS * sizeof(float);
    if (size <= 0 || size % (long)row) {
        fclose(f);
        fprintf(stderr, "score: %s holds %ld bytes, not rows of %d floats\n", path, size, EX_PIXELS);
        return EX_FAIL;
    }
    *n = (size_t)size / row;
    *x = malloc((size_t)size);
    int ok = *x && fread(*x, row, *n, f) == *n;
    fclose(f);
    if (!ok) {
        free(*x);
        fprintf(stderr, "score: cannot read %s\n", path);
        return EX_FAIL;
    }
    return GAN_OK;
}

/* n samples of a generator's model file, from its noise (and, with --cond, the classes
 * in turn), mapped to [0, 1] when it ends in a tanh. */
static int generate(const options *o, float **x, size_t *n)
{
    gan_net *g = NULL;
    gan_rng *rng = NULL;
    EX_TRY(gan_net_load(&g, o->model));
    size_t in = gan_net_in_dim(g), cond = o->cond ? EX_CLASSES : 0, batch = 500, z_dim = in - cond;
    if (in <= cond || gan_net_out_dim(g) != EX_PIXELS) {
        fprintf(stderr, "score: %s maps %zu inputs to %zu pixels, not %s784\n", o->model, in, gan_net_out_dim(g),
                o->cond ? "noise and 10 classes to " : "");
        gan_net_free(g);
        return EX_FAIL;
    }
    *n = (size_t)o->n;
    *x = malloc(*n * EX_PIXELS * sizeof **x);
    float *z = malloc(batch * in * sizeof *z);
    int rc = *x && z ? GAN_OK : ex_out_of_memory("the samples");
    if (!rc) rc = ex_report(gan_rng_create(&rng, (uint64_t)o->seed), "gan_rng_create");
    for (size_t i0 = 0; !rc && i0 < *n; i0 += batch) {
        size_t rows = *n - i0 < batch ? *n - i0 : batch;
        for (size_t r = 0; r < rows; r++) {
            float *row = z + r * in, s = (float)o->noise_scale;
            rc = !strcmp(o->noise, "normal") ? gan_rng_fill_normal(rng, row, z_dim, 0.0f, s)
                                             : gan_rng_fill_uniform(rng, row, z_dim, -s, s);
            for (size_t c = 0; c < cond; c++) row[z_dim + c] = c == (i0 + r) % cond ? 1.0f : 0.0f;
        }
        if (!rc) rc = ex_report(gan_net_forward(g, z, rows, *x + i0 * EX_PIXELS, 0), "gan_net_forward");
    }
    for (size_t i = 0; !rc && o->tanh && i < *n * EX_PIXELS; i++) (*x)[i] = 0.5f * ((*x)[i] + 1.0f);
    free(z);
    gan_rng_free(rng);
    gan_net_free(g);
    if (rc) free(*x);
    return rc;
}

/* ---------------------------------------------------------------- scores */

typedef struct scores {
    double fd, kid, kid_std, precision, recall, parzen, parzen_se;
    float sigma;
} scores;

/* Rows of a data set, copied into one buffer. */
static float *rows_of(const gan_dataset *ds, size_t first, size_t n)
{
    float *x = malloc(n * EX_PIXELS * sizeof *x);
    for (size_t i = 0; x && i < n; i++) memcpy(x + i * EX_PIXELS, gan_dataset_row(ds, first + i), EX_PIXELS * 4);
    return x;
}

static int score(scores *s, gan_net *classifier, const float *samples, size_t n, const float *test, size_t m,
                 const float *valid, size_t n_valid, uint64_t seed)
{
    float *fs = malloc(n * EX_FEATURES * sizeof *fs), *ft = malloc(m * EX_FEATURES * sizeof *ft);
    gan_rng *rng = NULL;
    int rc = fs && ft ? GAN_OK : ex_out_of_memory("the features");
    if (!rc) rc = ex_classifier_features(classifier, samples, n, fs);
    if (!rc) rc = ex_classifier_features(classifier, test, m, ft);
    if (!rc) rc = ex_report(gan_frechet_distance(&s->fd, ft, m, fs, n, EX_FEATURES), "gan_frechet_distance");
    if (!rc) rc = ex_report(gan_rng_create(&rng, seed), "gan_rng_create");
    size_t subset = n < m ? n : m;
    subset = subset < KID_SUBSET ? subset : KID_SUBSET;
    if (!rc)
        rc = ex_report(gan_kernel_distance(&s->kid, &s->kid_std, ft, m, fs, n, EX_FEATURES, subset, KID_SUBSETS, rng),
                       "gan_kernel_distance");
    if (!rc)
        rc = ex_report(gan_precision_recall(&s->precision, &s->recall, ft, m, fs, n, EX_FEATURES, PR_K),
                       "gan_precision_recall");
    if (!rc)
        rc = ex_report(gan_parzen_select_sigma(&s->sigma, &s->parzen, samples, n, valid, n_valid, EX_PIXELS, NULL, 0),
                       "gan_parzen_select_sigma");
    if (!rc)
        rc = ex_report(gan_parzen_log_likelihood(&s->parzen, &s->parzen_se, samples, n, test, m, EX_PIXELS, s->sigma),
                       "gan_parzen_log_likelihood");
    gan_rng_free(rng);
    free(fs);
    free(ft);
    return rc;
}

/* The share of samples the classifier puts in the class they were drawn for: sample i of
 * a conditional model is class i % 10 (--model --cond, and dcgan's --samples). */
static int class_accuracy(gan_net *classifier, const float *samples, size_t n, double *accuracy)
{
    enum { CHUNK = 500 };
    float *logits = malloc(CHUNK * EX_CLASSES * sizeof *logits);
    int rc = logits ? GAN_OK : ex_out_of_memory("the logits");
    size_t right = 0;
    for (size_t i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        size_t rows = n - i0 < CHUNK ? n - i0 : CHUNK;
        rc = ex_report(gan_net_forward(classifier, samples + i0 * EX_PIXELS, rows, logits, 0), "gan_net_forward");
        for (size_t r = 0; !rc && r < rows; r++) {
            size_t best = 0;
            for (size_t c = 1; c < EX_CLASSES; c++)
                if (logits[r * EX_CLASSES + c] > logits[r * EX_CLASSES + best]) best = c;
            right += best == (i0 + r) % EX_CLASSES;
        }
    }
    free(logits);
    *accuracy = n ? (double)right / (double)n : 0.0;
    return rc;
}

static void print_scores(const char *prefix, const scores *s)
{
    printf("%sfd=%.3f kid=%.5f kid_std=%.5f precision=%.4f recall=%.4f parzen_ll=%.2f se=%.2f sigma=%.4f\n", prefix,
           s->fd, s->kid, s->kid_std, s->precision, s->recall, s->parzen, s->parzen_se, (double)s->sigma);
}

int main(int argc, char **argv)
{
    options o = {NULL, NULL, "normal", "/usr/share/datasets/fashion-mnist", "out/classifier/classifier.gan",
                 10000, 1, 1, 10000, 10, 1.0, 0, 0, 0};
    const ex_flag flags[] = {
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL, "raw float32 rows of 784 pixels in [0, 1]"},
        {"--model", EX_TEXT, &o.model, "G.gan", NULL, "a generator's model file to draw samples from"},
        {"--tanh", EX_SWITCH, &o.tanh, NULL, NULL, "--model's G ends in a tanh: map [-1, 1] to [0, 1]"},
        {"--cond", EX_SWITCH, &o.cond, NULL, NULL,
         "conditional samples, class i % 10 for sample i (--model's G takes [z | one-hot class]; dcgan --cond's "
         "--samples): also prints class_accuracy, the share the classifier puts in their class"},
        {"--noise", EX_CHOICE, &o.noise, "normal|uniform", NULL, "--model's noise (normal)"},
        {"--noise-scale", EX_REAL, &o.noise_scale, "S", "(0, inf)", "its sd, or the uniform's half width (1)"},
        {"--n", EX_LONG, &o.n, "N", "[1000, inf)", "samples drawn from --model (10000)"},
        {"--reference", EX_SWITCH, &o.reference, NULL, NULL, "score real training rows as the samples (the floor)"},
        {"--test-rows", EX_LONG, &o.test_rows, "N", "[1000, 10000]", "test rows scored against (10000)"},
        {"--classifier", EX_TEXT, &o.classifier, "FILE", NULL, "the scoring classifier (out/classifier/classifier.gan)"},
        {"--classifier-epochs", EX_LONG, &o.classifier_epochs, "N", "[1, 1000]", "epochs when it is trained here (10)"},
        {"--data", EX_TEXT, &o.data, "DIR", NULL, "the four IDX files, raw or .gz (/usr/share/datasets/fashion-mnist)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of --model's noise and of KID's subsets (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "score: FD, KID, precision/recall (classifier features) and Parzen (pixels) against the test set.");
    if (!!o.samples + !!o.model + o.reference != 1)
        ex_flags_fail(flags, "give one of --samples, --model and --reference");
    if (o.threads > 0 && openblas_set_num_threads) openblas_set_num_threads((int)o.threads);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", o.classifier);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (slash && ex_mkdir_p(dir) != 0) {
        fprintf(stderr, "score: cannot create %s\n", dir);
        return 1;
    }

    gan_net *classifier = NULL;
    gan_dataset *train = NULL, *test = NULL;
    float *samples = NULL, *test_x = NULL, *valid_x = NULL;
    size_t n = 0, m = (size_t)o.test_rows;
    int rc = ex_classifier_load_or_train(&classifier, o.classifier, o.data, o.classifier_epochs);
    if (!rc) rc = ex_fashion_load(&train, o.data, 1);
    if (!rc) rc = ex_fashion_load(&test, o.data, 0);
    if (!rc && m > gan_dataset_size(test)) m = gan_dataset_size(test);
    size_t n_train = rc ? 0 : gan_dataset_size(train) - N_VALID;
    if (!rc && o.samples) rc = read_samples(o.samples, &samples, &n);
    if (!rc && o.model) rc = generate(&o, &samples, &n);
    if (!rc && o.reference) {
        n = (size_t)o.n < n_train ? (size_t)o.n : n_train;
        samples = rows_of(train, 0, n);
        if (!samples) rc = ex_out_of_memory("the training rows");
    }
    if (!rc) {
        test_x = rows_of(test, 0, m);
        valid_x = rows_of(train, n_train, N_VALID);
        if (!test_x || !valid_x) rc = ex_out_of_memory("the test rows");
    }
    scores s;
    if (!rc) {
        printf("score: %zu samples from %s against %zu test rows\n", n,
               o.samples ? o.samples : o.model ? o.model : "the training set (the reference floor)", m);
        fflush(stdout);
        double t0 = ex_now();
        rc = score(&s, classifier, samples, n, test_x, m, valid_x, N_VALID, (uint64_t)o.seed);
        if (!rc) fprintf(stderr, "score: %.1f s\n", ex_now() - t0);
    }
    double accuracy;
    if (!rc && o.cond && !(rc = class_accuracy(classifier, samples, n, &accuracy)))
        printf("class_accuracy=%.4f\n", accuracy);
    if (!rc) print_scores("", &s);
    free(samples);
    free(test_x);
    free(valid_x);
    gan_dataset_free(train);
    gan_dataset_free(test);
    gan_net_free(classifier);
    return rc ? 1 : 0;
}
