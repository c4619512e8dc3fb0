/* classifier: trains the scoring classifier of examples/score (examples/common/classifier.h)
 * on Fashion-MNIST with libgan alone, reports its test accuracy and saves it as a model
 * file. examples/score trains one itself when its file is missing; this program is for
 * training it on purpose, or again. Last line:
 *   accuracy=<test accuracy> path=<model file> */
#include "classifier.h"
#include "common.h"
#include "flags.h"

#include <stdio.h>
#include <string.h>

extern void openblas_set_num_threads(int n) __attribute__((weak));

int main(int argc, char **argv)
{
    long epochs = 10, seed = 1, threads = 1, train_rows = 0;
    const char *data = "/usr/share/datasets/fashion-mnist", *out = "out/classifier";
    const ex_flag flags[] = {
        {"--epochs", EX_LONG, &epochs, "N", "[1, 1000]", "training epochs (10)"},
        {"--seed", EX_LONG, &seed, "S", "[0, inf)", "seed of the init, batches and dropout (1)"},
        {"--threads", EX_LONG, &threads, "T", "[0, 1024]", "OpenBLAS threads; 0: its default (1)"},
        {"--train-rows", EX_LONG, &train_rows, "N", "[0, inf)", "train on the first N rows, a multiple of 100 (0: all)"},
        {"--data", EX_TEXT, &data, "DIR", NULL, "the four IDX files, raw or .gz (/usr/share/datasets/fashion-mnist)"},
        {"--out", EX_TEXT, &out, "DIR", NULL, "where classifier.gan goes (out/classifier)"},
        {0}};
    ex_flags_parse(argc, argv, flags, "classifier: the scoring classifier of examples/score, trained on Fashion-MNIST.");
    if (train_rows % 100) ex_flags_fail(flags, "--train-rows must be a multiple of 100 (the batch), got %ld", train_rows);
    if (threads > 0 && openblas_set_num_threads) openblas_set_num_threads((int)threads);
    if (ex_mkdir_p(out) != 0) {
        fprintf(stderr, "classifier: cannot create %s\n", out);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/classifier.gan", out);
    printf("classifier: data %s, %ld epochs, seed %ld, model %s\n", data, epochs, seed, path);
    fflush(stdout);
    gan_dataset *train = NULL, *test = NULL;
    gan_net *net = NULL;
    double accuracy = 0.0;
    int rc = ex_fashion_load(&train, data, 1);
    if (!rc && train_rows > 0 && (size_t)train_rows < gan_dataset_size(train)) {
        gan_dataset *first = NULL, *rest = NULL;
        rc = ex_report(gan_dataset_split(&first, &rest, train, (size_t)train_rows, NULL), "gan_dataset_split");
        gan_dataset_free(rest);
        gan_dataset_free(train);
        train = first;
    }
    if (!rc) rc = ex_fashion_load(&test, data, 0);
    if (!rc) rc = ex_classifier_build(&net);
    if (!rc) rc = ex_classifier_train(net, train, epochs, (uint64_t)seed);
    if (!rc) rc = ex_classifier_accuracy(net, test, &accuracy);
    if (!rc) rc = ex_report(gan_net_save(net, path), path);
    if (!rc) printf("accuracy=%.4f path=%s\n", accuracy, path);
    gan_net_free(net);
    gan_dataset_free(train);
    gan_dataset_free(test);
    return rc ? 1 : 0;
}
