/* The scoring classifier (classifier.h). */
#include "classifier.h"
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BATCH 100
#define EVAL_BATCH 500
#define EPOCHS 10        /* the default: Fashion-MNIST's 6,000 steps */
#define SMALL_ROWS 30000 /* and at least so many rows drawn on a small set: 300 steps */

static int add_layers(gan_net *net, size_t channels, size_t side, size_t classes)
{
    gan_layer *l;
    size_t in = channels, maps = 32;
    /* Halving the side while it is above 8 (28 ends at 7, 32 and 64 at 8), with more maps
     * at each stage: the net at 28 x 28 is the one Fashion-MNIST's scores have always used. */
    for (size_t s = side; s > 8; in = maps, maps *= 2) {
        EX_TRY(ex_add_layer(net, gan_layer_conv2d(&l, in, maps, 4, 2, 1), &l));
        EX_TRY(ex_add_layer(net, gan_layer_leaky_relu(&l, 0.2f), &l));
        EX_TRY(gan_net_out_shape(net, NULL, &s, NULL));
    }
    EX_TRY(ex_add_layer(net, gan_layer_dense(&l, gan_net_out_dim(net), EX_FEATURES), &l));
    EX_TRY(ex_add_layer(net, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(net, gan_layer_dropout(&l, 0.5f), &l));
    EX_TRY(ex_add_layer(net, gan_layer_dense(&l, EX_FEATURES, classes), &l));
    return GAN_OK;
}

int ex_classifier_build(gan_net **net, size_t channels, size_t side, size_t classes)
{
    EX_TRY(gan_net_create_image(net, channels, side, side));
    int rc = add_layers(*net, channels, side, classes);
    if (rc) {
        gan_net_free(*net);
        *net = NULL;
    }
    return rc;
}

long ex_classifier_epochs(size_t rows)
{
    /* On the 1,538 training rows of the emoji set the test accuracy stops rising after some
     * 20 epochs (300 steps) while the training loss keeps falling: past that the features
     * only learn the training rows, and the floor of the scores (training rows against
     * test rows) rises with every epoch. */
    uint64_t epochs = rows ? (SMALL_ROWS + rows - 1) / rows : EPOCHS;
    return epochs < EPOCHS ? EPOCHS : epochs > 1000 ? 1000 : (long)epochs;
}

static size_t argmax(const float *z, size_t classes)
{
    size_t best = 0;
    for (size_t j = 1; j < classes; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

/* One training run; rng draws the init, the batches and the dropout masks. */
static int train_with(gan_net *net, const gan_dataset *train, long epochs, gan_rng *rng, gan_sampler *sampler,
                      gan_optim *opt, float *x, float *onehot, float *logits, float *dlogits)
{
    int labels[BATCH];
    size_t classes = gan_net_out_dim(net);
    uint64_t n = gan_dataset_size(train), total = (n * (uint64_t)epochs + BATCH - 1) / BATCH;
    double start = ex_now(), last = 0.0, loss_avg = 0.0;
    EX_TRY(gan_net_init(net, rng, GAN_INIT_HE, 1.0f));
    EX_TRY(gan_net_set_rng(net, rng));
    for (uint64_t step = 1; step <= total; step++) {
        EX_TRY(gan_dataset_sampler(sampler, rng, x, onehot, BATCH));
        for (int i = 0; i < BATCH; i++) labels[i] = (int)argmax(onehot + i * classes, classes);
        double loss;
        EX_TRY(gan_net_forward(net, x, BATCH, logits, 1));
        EX_TRY(gan_softmax_cross_entropy(&loss, dlogits, logits, labels, BATCH, classes));
        EX_TRY(gan_net_zero_grads(net));
        EX_TRY(gan_net_backward(net, dlogits, NULL));
        EX_TRY(gan_optim_step(opt, net));
        loss_avg = step == 1 ? loss : 0.98 * loss_avg + 0.02 * loss;
        double now = ex_now();
        if (now - last >= 0.5 || step == total) {
            double rate = (double)(step * BATCH) / (now - start);
            uint64_t epoch = (step - 1) * BATCH / n + 1; /* of the batch's first row */
            fprintf(stderr, "\rclassifier: epoch %llu/%ld step %llu/%llu loss %.3f %.0f samples/s ETA %.0f s  ",
                    (unsigned long long)epoch, epochs, (unsigned long long)step, (unsigned long long)total, loss_avg,
                    rate, (double)((total - step) * BATCH) / rate);
            last = now;
        }
    }
    fputc('\n', stderr);
    return gan_net_set_rng(net, NULL);
}

int ex_classifier_train(gan_net *net, const gan_dataset *train, long epochs, uint64_t seed)
{
    size_t dim = gan_net_in_dim(net), classes = gan_net_out_dim(net);
    if (gan_dataset_dim(train) != dim || gan_dataset_num_classes(train) != classes) {
        fprintf(stderr, "classifier: the training rows are %zu wide in %zu classes, the net takes %zu in %zu\n",
                gan_dataset_dim(train), gan_dataset_num_classes(train), dim, classes);
        return EX_FAIL;
    }
    gan_rng *rng = NULL;
    gan_sampler *sampler = NULL;
    gan_optim *opt = NULL;
    float *buf = malloc((size_t)BATCH * (dim + 3 * classes) * sizeof *buf);
    int rc = buf ? GAN_OK : ex_out_of_memory("a batch");
    if (!rc) rc = ex_report(gan_rng_create(&rng, seed), "gan_rng_create");
    if (!rc) rc = ex_report(gan_sampler_create(&sampler, train, GAN_SAMPLE_EPOCHS, 1), "gan_sampler_create");
    if (!rc) rc = ex_report(gan_optim_adam(&opt, 1e-3f, 0.9f, 0.999f, 1e-8f), "gan_optim_adam");
    if (!rc) {
        float *x = buf, *onehot = x + BATCH * dim, *logits = onehot + BATCH * classes;
        rc = train_with(net, train, epochs, rng, sampler, opt, x, onehot, logits, logits + BATCH * classes);
    }
    gan_optim_free(opt);
    gan_sampler_free(sampler);
    gan_rng_free(rng);
    free(buf);
    return rc;
}

int ex_classifier_accuracy(gan_net *net, const gan_dataset *test, double *accuracy)
{
    size_t n = gan_dataset_size(test), right = 0, dim = gan_net_in_dim(net), classes = gan_net_out_dim(net);
    float *x = malloc((size_t)EVAL_BATCH * (dim + classes) * sizeof *x);
    if (!x) return ex_out_of_memory("a batch");
    float *z = x + EVAL_BATCH * dim;
    int rc = GAN_OK;
    for (size_t i0 = 0; !rc && i0 < n; i0 += EVAL_BATCH) {
        size_t rows = n - i0 < EVAL_BATCH ? n - i0 : EVAL_BATCH;
        rc = ex_report(gan_dataset_get_rows(test, i0, rows, x), "gan_dataset_get_rows");
        if (!rc) rc = ex_report(gan_net_forward(net, x, rows, z, 0), "gan_net_forward");
        for (size_t i = 0; !rc && i < rows; i++)
            right += (int)argmax(z + i * classes, classes) == gan_dataset_label(test, i0 + i);
    }
    free(x);
    *accuracy = n ? (double)right / (double)n : 0.0;
    return rc;
}

size_t ex_classifier_feature_depth(const gan_net *net) { return gan_net_num_layers(net) - 2; }

int ex_classifier_features(gan_net *net, const float *x, size_t n, float *features)
{
    size_t dim = gan_net_in_dim(net), depth = ex_classifier_feature_depth(net);
    for (size_t i0 = 0; i0 < n; i0 += EVAL_BATCH) {
        size_t rows = n - i0 < EVAL_BATCH ? n - i0 : EVAL_BATCH;
        EX_TRY(gan_net_forward_to(net, x + i0 * dim, rows, depth, features + i0 * EX_FEATURES));
    }
    return GAN_OK;
}

/* Whether a net ends as the classifier does (dense EX_FEATURES, ReLU, dropout, dense to two
 * classes or more) and takes square images: what the scores rely on. */
static int is_classifier(const gan_net *net)
{
    size_t n = gan_net_num_layers(net), h = 0, w = 0;
    if (n < 4 || gan_net_in_shape(net, NULL, &h, &w) || h != w) return 0;
    const gan_layer *features = gan_net_layer(net, n - 3);
    return gan_layer_kind(gan_net_layer(net, n - 4)) == GAN_LAYER_DENSE &&
           gan_layer_kind(features) == GAN_LAYER_ACTIVATION && gan_layer_out_dim(features) == EX_FEATURES &&
           gan_layer_kind(gan_net_layer(net, n - 2)) == GAN_LAYER_DROPOUT &&
           gan_layer_kind(gan_net_layer(net, n - 1)) == GAN_LAYER_DENSE && gan_net_out_dim(net) >= 2;
}

int ex_classifier_load(gan_net **net, const char *path)
{
    struct stat st;
    *net = NULL;
    if (stat(path, &st) != 0 && errno == ENOENT) return GAN_OK;
    EX_TRY(gan_net_load(net, path));
    if (!is_classifier(*net)) {
        fprintf(stderr,
                "classifier: %s is not a scoring classifier (examples/classifier: square images in, then a dense "
                "layer of %d features, ReLU, dropout and a dense layer to the classes)\n",
                path, EX_FEATURES);
        gan_net_free(*net);
        *net = NULL;
        return EX_FAIL;
    }
    return GAN_OK;
}

int ex_classifier_ready(gan_net **net, const char *path, const gan_dataset *train, const gan_dataset *test,
                        size_t channels, size_t side, long epochs)
{
    int trained = !*net;
    if (trained && gan_dataset_num_classes(train) < 2) {
        fprintf(stderr, "classifier: %s is missing, and the data has %s to train one on\n", path,
                gan_dataset_num_classes(train) ? "a single class" : "no labels");
        return EX_FAIL;
    }
    if (trained) {
        fprintf(stderr, "classifier: %s is missing: training one (%ld epochs)\n", path, epochs);
        int rc = ex_classifier_build(net, channels, side, gan_dataset_num_classes(train));
        if (!rc) rc = ex_classifier_train(*net, train, epochs, 1);
        if (!rc) rc = ex_report(gan_net_save(*net, path), path);
        if (rc) return rc;
    }
    if (gan_dataset_num_classes(test) != gan_net_out_dim(*net)) {
        if (gan_dataset_num_classes(test))
            fprintf(stderr, "classifier: %s sorts images into %zu classes, the test set has %zu\n", path,
                    gan_net_out_dim(*net), gan_dataset_num_classes(test));
        else
            fprintf(stderr, "classifier: the test set has no labels to check %s on\n", path);
        return EX_FAIL;
    }
    double accuracy = 0.0;
    int rc = ex_classifier_accuracy(*net, test, &accuracy);
    if (rc) return rc;
    fprintf(stderr, "classifier: %s %s, test accuracy %.2f%%\n", path, trained ? "trained and saved" : "loaded",
            100.0 * accuracy);
    return GAN_OK;
}
