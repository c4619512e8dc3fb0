/* score: scores generated images against a test set, the Fashion-MNIST test set by
 * default, by the Frechet distance, KID and k-NN precision and recall on the scoring
 * classifier's features (examples/common/classifier.h; trained and cached when its file is
 * missing), and by the paper's Parzen window on the pixels.
 *
 *   score --samples FILE           raw little-endian float32 rows of C x S x S values in
 *                                  [0, 1], HWC (what mnist_gan, dcgan and the PyTorch peers
 *                                  write; 784 pixels for Fashion-MNIST)
 *   score --model G.gan [--tanh]   a generator's model file: 10,000 samples from its noise
 *   score --reference              the floor: real training rows scored as the samples
 *
 * The images are the classifier's: its model file holds their channels C and side S, and
 * --data is read at that size (common/data.h: a single set, such as a list of emoji, is
 * shuffled once and its last seventh is the test set, the rows examples/classifier and
 * examples/dcgan hold out). --size and --channels, when given, must agree with the file.
 * On a small set every count shrinks to what it has: --model's samples and --reference's
 * rows are 10,000 or, when fewer, the training rows less those held out for Parzen's sigma
 * (1,000, or a seventh of a smaller training set), so both floor and samples count alike;
 * the test rows are at most the test set's. FD then estimates the covariance of 256
 * features from as few rows (the emoji set's 256 test rows): its bias dominates, so compare
 * FDs only at equal counts and against the floor; KID has no such bias.
 *
 * Last line:
 *   fd=<FD> kid=<KID> kid_std=<sd over subsets> precision=<P> recall=<R> parzen_ll=<ll> se=<se> sigma=<s> */
#include "classifier.h"
#include "common.h"
#include "data.h"
#include "flags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_VALID 1000 /* the last training rows, held out for Parzen's sigma, as in mnist_gan */
#define N_SAMPLES 10000 /* --model's samples and --reference's rows, unless --n or a small set says less */
#define KID_SUBSET 1000
#define KID_SUBSETS 100
#define PR_K 3

extern void openblas_set_num_threads(int n) __attribute__((weak));

typedef struct options {
    const char *samples, *model, *noise, *data, *classifier, *size, *channels;
    long n, seed, threads, test_rows, classifier_epochs;
    double noise_scale;
    int tanh, reference, cond;
} options;

/* ---------------------------------------------------------------- samples */

static int read_samples(const char *path, size_t dim, float **x, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "score: cannot open %s\n", path);
        return EX_FAIL;
    }
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    size_t row = dim * sizeof(float);
    if (size <= 0 || size % (long)row) {
        fclose(f);
        fprintf(stderr, "score: %s holds %ld bytes, not rows of %zu floats (the classifier's images)\n", path, size,
                dim);
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

/* n samples of dim values from a generator's model file, from its noise (and, with
 * --cond, the `classes` in turn), mapped to [0, 1] when it ends in a tanh. */
static int generate(const options *o, size_t n, size_t dim, size_t classes, float **x)
{
    gan_net *g = NULL;
    gan_rng *rng = NULL;
    EX_TRY(gan_net_load(&g, o->model));
    size_t in = gan_net_in_dim(g), cond = o->cond ? classes : 0, batch = 500, z_dim = in - cond;
    if (in <= cond || gan_net_out_dim(g) != dim) {
        if (o->cond)
            fprintf(stderr, "score: %s maps %zu inputs to %zu values, not noise and %zu classes to %zu\n", o->model,
                    in, gan_net_out_dim(g), classes, dim);
        else
            fprintf(stderr, "score: %s maps %zu inputs to %zu values, not %zu\n", o->model, in, gan_net_out_dim(g),
                    dim);
        gan_net_free(g);
        return EX_FAIL;
    }
    *x = malloc(n * dim * sizeof **x);
    float *z = malloc(batch * in * sizeof *z);
    int rc = *x && z ? GAN_OK : ex_out_of_memory("the samples");
    if (!rc) rc = ex_report(gan_rng_create(&rng, (uint64_t)o->seed), "gan_rng_create");
    for (size_t i0 = 0; !rc && i0 < n; i0 += batch) {
        size_t rows = n - i0 < batch ? n - i0 : batch;
        for (size_t r = 0; r < rows; r++) {
            float *row = z + r * in, s = (float)o->noise_scale;
            rc = !strcmp(o->noise, "normal") ? gan_rng_fill_normal(rng, row, z_dim, 0.0f, s)
                                             : gan_rng_fill_uniform(rng, row, z_dim, -s, s);
            for (size_t c = 0; c < cond; c++) row[z_dim + c] = c == (i0 + r) % cond ? 1.0f : 0.0f;
        }
        if (!rc) rc = ex_report(gan_net_forward(g, z, rows, *x + i0 * dim, 0), "gan_net_forward");
    }
    for (size_t i = 0; !rc && o->tanh && i < n * dim; i++) (*x)[i] = 0.5f * ((*x)[i] + 1.0f);
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

/* Rows of a data set as floats, in one buffer (*x, the caller's to free). */
static int rows_of(const gan_dataset *ds, size_t first, size_t n, float **x)
{
    *x = malloc(n * gan_dataset_dim(ds) * sizeof **x);
    if (!*x) return ex_out_of_memory("the data set's rows");
    int rc = ex_report(gan_dataset_get_rows(ds, first, n, *x), "gan_dataset_get_rows");
    if (rc) {
        free(*x);
        *x = NULL;
    }
    return rc;
}

static int score(scores *s, gan_net *classifier, const float *samples, size_t n, const float *test, size_t m,
                 const float *valid, size_t n_valid, uint64_t seed)
{
    size_t dim = gan_net_in_dim(classifier);
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
        rc = ex_report(gan_parzen_select_sigma(&s->sigma, &s->parzen, samples, n, valid, n_valid, dim, NULL, 0),
                       "gan_parzen_select_sigma");
    if (!rc)
        rc = ex_report(gan_parzen_log_likelihood(&s->parzen, &s->parzen_se, samples, n, test, m, dim, s->sigma),
                       "gan_parzen_log_likelihood");
    gan_rng_free(rng);
    free(fs);
    free(ft);
    return rc;
}

/* The share of samples the classifier puts in the class they were drawn for: sample i of
 * a conditional model is class i % classes (--model --cond, and dcgan's --samples). */
static int class_accuracy(gan_net *classifier, const float *samples, size_t n, double *accuracy)
{
    enum { CHUNK = 500 };
    size_t dim = gan_net_in_dim(classifier), classes = gan_net_out_dim(classifier);
    float *logits = malloc(CHUNK * classes * sizeof *logits);
    int rc = logits ? GAN_OK : ex_out_of_memory("the logits");
    size_t right = 0;
    for (size_t i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        size_t rows = n - i0 < CHUNK ? n - i0 : CHUNK;
        rc = ex_report(gan_net_forward(classifier, samples + i0 * dim, rows, logits, 0), "gan_net_forward");
        for (size_t r = 0; !rc && r < rows; r++) {
            size_t best = 0;
            for (size_t c = 1; c < classes; c++)
                if (logits[r * classes + c] > logits[r * classes + best]) best = c;
            right += best == (i0 + r) % classes;
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

/* The images scored: the classifier's (its file holds their shape), which --size and
 * --channels (0: any) must match; when there is no classifier yet, theirs, 28 and the
 * data's channels by default. */
static int image_shape(const options *o, const gan_net *classifier, size_t *channels, size_t *side)
{
    *side = (size_t)atol(o->size);
    *channels = (size_t)atol(o->channels);
    if (!classifier) {
        if (!*side) *side = 28;
        return GAN_OK;
    }
    size_t c, h;
    EX_TRY(gan_net_in_shape(classifier, &c, &h, NULL));
    int other_side = *side && *side != h, other_channels = *channels && *channels != c;
    if (other_side || other_channels) {
        char asked[64];
        snprintf(asked, sizeof asked, "%s%s%s%s%s", other_side ? "--size " : "", other_side ? o->size : "",
                 other_side && other_channels ? " " : "", other_channels ? "--channels " : "",
                 other_channels ? o->channels : "");
        fprintf(stderr,
                "score: %s takes images of %zu x %zu x %zu (channels x height x width), not the %s asked for: "
                "examples/classifier trains one for those\n",
                o->classifier, c, h, h, asked);
        return EX_FAIL;
    }
    *channels = c;
    *side = h;
    return GAN_OK;
}

int main(int argc, char **argv)
{
    options o = {NULL, NULL, "normal", "/usr/share/datasets/fashion-mnist", "out/classifier/classifier.gan", "0", "0",
                 0, 1, 1, 10000, 0, 1.0, 0, 0, 0}; /* n and classifier_epochs 0: by the set's size */
    const ex_flag flags[] = {
        {"--samples", EX_TEXT, &o.samples, "FILE", NULL,
         "raw float32 rows of the classifier's images (C x S x S, HWC) in [0, 1]; 784 pixels for Fashion-MNIST"},
        {"--model", EX_TEXT, &o.model, "G.gan", NULL, "a generator's model file to draw samples from"},
        {"--tanh", EX_SWITCH, &o.tanh, NULL, NULL, "--model's G ends in a tanh: map [-1, 1] to [0, 1]"},
        {"--cond", EX_SWITCH, &o.cond, NULL, NULL,
         "conditional samples, class i % K for sample i of K classes (--model's G takes [z | one-hot class]; dcgan "
         "--cond's --samples): also prints class_accuracy, the share the classifier puts in their class"},
        {"--noise", EX_CHOICE, &o.noise, "normal|uniform", NULL, "--model's noise (normal)"},
        {"--noise-scale", EX_REAL, &o.noise_scale, "S", "(0, inf)", "its sd, or the uniform's half width (1)"},
        {"--n", EX_LONG, &o.n, "N", "[10, inf)",
         "samples drawn from --model, training rows for --reference (10000, or on a small set its training rows "
         "less Parzen's validation rows); with --samples, the file's first N rows (all)"},
        {"--reference", EX_SWITCH, &o.reference, NULL, NULL, "score real training rows as the samples (the floor)"},
        {"--test-rows", EX_LONG, &o.test_rows, "N", "[1000, 10000]",
         "test rows scored against (10000, or all the test set's when it has fewer)"},
        {"--classifier", EX_TEXT, &o.classifier, "FILE", NULL,
         "the scoring classifier, which sets the images' size and channels (out/classifier/classifier.gan)"},
        {"--classifier-epochs", EX_LONG, &o.classifier_epochs, "N", "[1, 1000]",
         "epochs when it is trained here (examples/classifier's default: 10, more on a small set)"},
        {"--data", EX_TEXT, &o.data, "PATH", NULL,
         "the labelled images the classifier was trained on: the four IDX files' folder "
         "(/usr/share/datasets/fashion-mnist), an IDX file, a folder of class sub-folders or a list"},
        {"--size", EX_CHOICE, &o.size, "0|28|32|64", NULL,
         "image side; 0: the classifier's (28 when it is trained here) (0)"},
        {"--channels", EX_CHOICE, &o.channels, "0|1|3", NULL,
         "1 grey, 3 colour; 0: the classifier's (the data's when it is trained here) (0)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of --model's noise and of KID's subsets (1)"},
        {"--threads", EX_LONG, &o.threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "score: FD, KID, precision/recall (classifier features) and Parzen (pixels) against the test set.\n"
                   "The images are the classifier's size and channels (its model file holds them); --data is read at\n"
                   "that size, a single set shuffled once and a seventh held out as the test set (as examples/classifier\n"
                   "and examples/dcgan hold it out).");
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
    size_t channels = 0, side = 0, n = 0, m = (size_t)o.test_rows, n_valid = 0, n_train = 0;
    int rc = ex_classifier_load(&classifier, o.classifier);
    if (!rc) rc = image_shape(&o, classifier, &channels, &side);
    if (!rc) rc = ex_data_load(&train, &test, NULL, o.data, channels, side, GAN_IMAGE_LABELS);
    if (!rc && gan_dataset_size(train) < 2) {
        fprintf(stderr, "score: %s has one training row: Parzen's sigma needs rows of its own\n", o.data);
        rc = EX_FAIL;
    }
    if (!rc) {
        channels = gan_dataset_dim(train) / (side * side); /* 1 or 3 when it was 0: ex_data_load checked */
        long epochs = o.classifier_epochs ? o.classifier_epochs : ex_classifier_epochs(gan_dataset_size(train));
        rc = ex_classifier_ready(&classifier, o.classifier, train, test, channels, side, epochs);
    }
    if (!rc) {
        if (m > gan_dataset_size(test)) m = gan_dataset_size(test);
        /* Parzen's validation rows: as many as ever on a large set, a seventh of a small one. */
        n_valid = ex_data_test_rows(gan_dataset_size(train));
        n_valid = n_valid < N_VALID ? n_valid : N_VALID;
        n_train = gan_dataset_size(train) - n_valid;
        n = o.n ? (size_t)o.n : n_train < N_SAMPLES ? n_train : N_SAMPLES;
    }
    if (!rc && o.samples) rc = read_samples(o.samples, gan_net_in_dim(classifier), &samples, &n);
    if (!rc && o.samples && o.n && n > (size_t)o.n) n = (size_t)o.n; /* the file's first rows: counts alike */
    if (!rc && o.model) rc = generate(&o, n, gan_net_in_dim(classifier), gan_net_out_dim(classifier), &samples);
    if (!rc && o.reference) {
        n = n < n_train ? n : n_train;
        rc = rows_of(train, 0, n, &samples);
    }
    if (!rc) rc = rows_of(test, 0, m, &test_x);
    if (!rc) rc = rows_of(train, n_train, n_valid, &valid_x);
    scores s;
    if (!rc) {
        printf("score: %zu samples from %s against %zu test rows\n", n,
               o.samples ? o.samples : o.model ? o.model : "the training set (the reference floor)", m);
        fflush(stdout);
        double t0 = ex_now();
        rc = score(&s, classifier, samples, n, test_x, m, valid_x, n_valid, (uint64_t)o.seed);
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
