/* classifier: trains the scoring classifier of examples/score (examples/common/classifier.h)
 * with libgan alone on a labelled image set, Fashion-MNIST by default, reports its test
 * accuracy and saves it as a model file. --data is what examples/dcgan reads
 * (common/data.h) with labels: the four IDX files as they ship, an IDX file with its labels
 * beside it, a folder of class sub-folders, or a list of `path label` lines; a single set is
 * shuffled once and its last seventh held out, the test rows of examples/dcgan and
 * examples/score too. examples/score trains a classifier itself when its file is missing;
 * this program is for training one on purpose, or again. Last line:
 *   accuracy=<test accuracy> path=<model file> */
#include "classifier.h"
#include "common.h"
#include "data.h"
#include "flags.h"

#include <stdio.h>
#include <stdlib.h>

extern void openblas_set_num_threads(int n) __attribute__((weak));

int main(int argc, char **argv)
{
    long epochs = 0, seed = 1, threads = 1, train_rows = 0; /* epochs 0: ex_classifier_epochs() */
    const char *data = "/usr/share/datasets/fashion-mnist", *out = "out/classifier", *size = "28", *channels = "0";
    const ex_flag flags[] = {
        {"--epochs", EX_LONG, &epochs, "N", "[1, 1000]",
         "training epochs (10, or on a small set enough to draw 30,000 rows)"},
        {"--seed", EX_LONG, &seed, "S", "[0, inf)", "seed of the init, batches and dropout (1)"},
        {"--threads", EX_LONG, &threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {"--train-rows", EX_LONG, &train_rows, "N", "[0, inf)", "train on the first N training rows (0: all)"},
        {"--data", EX_TEXT, &data, "PATH", NULL,
         "labelled images: the four IDX files' folder (/usr/share/datasets/fashion-mnist), an IDX file, a folder "
         "of class sub-folders or a list of `path label` lines"},
        {"--size", EX_CHOICE, &size, "28|32|64", NULL, "image side, the net's input (28)"},
        {"--channels", EX_CHOICE, &channels, "0|1|3", NULL,
         "1 grey, 3 colour; 0: the data's (IDX: its own; images: colour, grey when all are) (0)"},
        {"--out", EX_TEXT, &out, "DIR", NULL, "where classifier.gan goes (out/classifier)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "classifier: the scoring classifier of examples/score, trained on labelled images (Fashion-MNIST\n"
                   "by default). A single set (an IDX file, a folder, a list) is shuffled once and a seventh held out\n"
                   "for the test, the rows examples/dcgan and examples/score hold out. The model file carries the\n"
                   "input's size and channels, which examples/score reads from it.");
    size_t side = (size_t)atol(size);
    if (threads > 0 && openblas_set_num_threads) openblas_set_num_threads((int)threads);
    if (ex_mkdir_p(out) != 0) {
        fprintf(stderr, "classifier: cannot create %s\n", out);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/classifier.gan", out);
    gan_dataset *train = NULL, *test = NULL;
    gan_net *net = NULL;
    ex_data_kind kind;
    double accuracy = 0.0;
    int rc = ex_data_load(&train, &test, &kind, data, (size_t)atol(channels), side, GAN_IMAGE_LABELS);
    size_t classes = rc ? 0 : gan_dataset_num_classes(train);
    if (!rc && classes < 2) {
        fprintf(stderr, "classifier: %s has %s: the classifier needs two classes or more\n", data,
                classes ? "one class" : "no labels (an IDX file needs its labels file beside it)");
        rc = EX_FAIL;
    }
    if (!rc && train_rows > 0 && (size_t)train_rows < gan_dataset_size(train)) {
        gan_dataset *first = NULL, *rest = NULL;
        rc = ex_report(gan_dataset_split(&first, &rest, train, (size_t)train_rows, NULL), "gan_dataset_split");
        gan_dataset_free(rest);
        gan_dataset_free(train);
        train = first;
    }
    size_t c = rc ? 0 : gan_dataset_dim(train) / (side * side); /* 1 or 3: ex_data_load checked */
    if (!rc) {
        if (!epochs) epochs = ex_classifier_epochs(gan_dataset_size(train));
        printf("classifier: data %s, %ld epochs, seed %ld, model %s\n", data, epochs, seed, path);
        printf("classifier: %zu training and %zu test rows of %zu x %zu x %zu in %zu classes (%s)\n",
               gan_dataset_size(train), gan_dataset_size(test), c, side, side, classes, ex_data_kind_name(kind));
        fflush(stdout);
    }
    if (!rc) rc = ex_classifier_build(&net, c, side, classes);
    if (!rc) rc = ex_classifier_train(net, train, epochs, (uint64_t)seed);
    if (!rc) rc = ex_classifier_accuracy(net, test, &accuracy);
    if (!rc) rc = ex_report(gan_net_save(net, path), path);
    if (!rc) printf("accuracy=%.4f path=%s\n", accuracy, path);
    gan_net_free(net);
    gan_dataset_free(train);
    gan_dataset_free(test);
    return rc ? 1 : 0;
}
