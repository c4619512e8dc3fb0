/* The scoring classifier (classifier.h). */
#include "classifier.h"
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BATCH 100
#define EVAL_BATCH 500

int ex_fashion_load(gan_dataset **ds, const char *data_dir, int train)
{
    char ip[4096], lp[4096];
    ex_idx_path(ip, sizeof ip, data_dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
    ex_idx_path(lp, sizeof lp, data_dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");
    EX_TRY(gan_dataset_load_idx(ds, ip, lp));
    if (gan_dataset_dim(*ds) != EX_PIXELS || gan_dataset_num_classes(*ds) > EX_CLASSES) {
        fprintf(stderr, "%s is not 28 x 28 images of at most %d classes\n", ip, EX_CLASSES);
        gan_dataset_free(*ds);
        *ds = NULL;
        return EX_FAIL;
    }
    return GAN_OK;
}

int ex_classifier_build(gan_net **net)
{
    gan_layer *l;
    EX_TRY(gan_net_create_image(net, 1, EX_SIDE, EX_SIDE));
    EX_TRY(ex_add_layer(*net, gan_layer_conv2d(&l, 1, 32, 4, 2, 1), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_leaky_relu(&l, 0.2f), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_conv2d(&l, 32, 64, 4, 2, 1), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_leaky_relu(&l, 0.2f), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_dense(&l, 64 * 7 * 7, EX_FEATURES), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_activation(&l, GAN_ACT_RELU), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_dropout(&l, 0.5f), &l));
    EX_TRY(ex_add_layer(*net, gan_layer_dense(&l, EX_FEATURES, EX_CLASSES), &l));
    return GAN_OK;
}

static int argmax(const float *z)
{
    int best = 0;
    for (int j = 1; j < EX_CLASSES; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

/* One training run; rng draws the init, the batches and the dropout masks. */
static int train_with(gan_net *net, const gan_dataset *train, long epochs, gan_rng *rng, gan_sampler *sampler,
                      gan_optim *opt, float *x, float *onehot, float *logits, float *dlogits)
{
    int labels[BATCH];
    uint64_t per_epoch = gan_dataset_size(train) / BATCH, total = per_epoch * (uint64_t)epochs;
    double start = ex_now(), last = 0.0, loss_avg = 0.0;
    EX_TRY(gan_net_init(net, rng, GAN_INIT_HE, 1.0f));
    EX_TRY(gan_net_set_rng(net, rng));
    for (uint64_t step = 1; step <= total; step++) {
        EX_TRY(gan_dataset_sampler(sampler, rng, x, onehot, BATCH));
        for (int i = 0; i < BATCH; i++) labels[i] = argmax(onehot + i * EX_CLASSES);
        double loss;
        EX_TRY(gan_net_forward(net, x, BATCH, logits, 1));
        EX_TRY(gan_softmax_cross_entropy(&loss, dlogits, logits, labels, BATCH, EX_CLASSES));
        EX_TRY(gan_net_zero_grads(net));
        EX_TRY(gan_net_backward(net, dlogits, NULL));
        EX_TRY(gan_optim_step(opt, net));
        loss_avg = step == 1 ? loss : 0.98 * loss_avg + 0.02 * loss;
        double now = ex_now();
        if (now - last >= 0.5 || step == total) {
            double rate = (double)(step * BATCH) / (now - start);
            fprintf(stderr, "\rclassifier: epoch %llu/%ld step %llu/%llu loss %.3f %.0f samples/s ETA %.0f s  ",
                    (unsigned long long)((step - 1) / per_epoch + 1), epochs, (unsigned long long)step,
                    (unsigned long long)total, loss_avg, rate, (double)((total - step) * BATCH) / rate);
            last = now;
        }
    }
    fputc('\n', stderr);
    return gan_net_set_rng(net, NULL);
}

int ex_classifier_train(gan_net *net, const gan_dataset *train, long epochs, uint64_t seed)
{
    gan_rng *rng = NULL;
    gan_sampler *sampler = NULL;
    gan_optim *opt = NULL;
    float *buf = malloc((size_t)BATCH * (EX_PIXELS + 3 * EX_CLASSES) * sizeof *buf);
    int rc = buf ? GAN_OK : ex_out_of_memory("a batch");
    if (!rc) rc = ex_report(gan_rng_create(&rng, seed), "gan_rng_create");
    if (!rc) rc = ex_report(gan_sampler_create(&sampler, train, GAN_SAMPLE_EPOCHS, 1), "gan_sampler_create");
    if (!rc) rc = ex_report(gan_optim_adam(&opt, 1e-3f, 0.9f, 0.999f, 1e-8f), "gan_optim_adam");
    if (!rc) {
        float *x = buf, *onehot = x + BATCH * EX_PIXELS, *logits = onehot + BATCH * EX_CLASSES;
        rc = train_with(net, train, epochs, rng, sampler, opt, x, onehot, logits, logits + BATCH * EX_CLASSES);
    }
    gan_optim_free(opt);
    gan_sampler_free(sampler);
    gan_rng_free(rng);
    free(buf);
    return rc;
}

int ex_classifier_accuracy(gan_net *net, const gan_dataset *test, double *accuracy)
{
    size_t n = gan_dataset_size(test), right = 0;
    float *x = malloc((size_t)EVAL_BATCH * (EX_PIXELS + EX_CLASSES) * sizeof *x), *z = x + EVAL_BATCH * EX_PIXELS;
    if (!x) return ex_out_of_memory("a batch");
    for (size_t i0 = 0; i0 < n; i0 += EVAL_BATCH) {
        size_t rows = n - i0 < EVAL_BATCH ? n - i0 : EVAL_BATCH;
        for (size_t i = 0; i < rows; i++) memcpy(x + i * EX_PIXELS, gan_dataset_row(test, i0 + i), EX_PIXELS * 4);
        int rc = gan_net_forward(net, x, rows, z, 0);
        if (rc) {
            free(x);
            return ex_report(rc, "gan_net_forward");
        }
        for (size_t i = 0; i < rows; i++) right += argmax(z + i * EX_CLASSES) == gan_dataset_label(test, i0 + i);
    }
    free(x);
    *accuracy = (double)right / (double)n;
    return GAN_OK;
}

int ex_classifier_features(gan_net *net, const float *x, size_t n, float *features)
{
    for (size_t i0 = 0; i0 < n; i0 += EVAL_BATCH) {
        size_t rows = n - i0 < EVAL_BATCH ? n - i0 : EVAL_BATCH;
        EX_TRY(gan_net_forward_to(net, x + i0 * EX_PIXELS, rows, EX_FEATURE_DEPTH, features + i0 * EX_FEATURES));
    }
    return GAN_OK;
}

int ex_classifier_load_or_train(gan_net **net, const char *path, const char *data_dir, long epochs)
{
    struct stat st;
    gan_dataset *test = NULL;
    double accuracy = 0.0;
    int trained = stat(path, &st) != 0;
    if (!trained) {
        EX_TRY(gan_net_load(net, path));
        if (gan_net_in_dim(*net) != EX_PIXELS || gan_net_out_dim(*net) != EX_CLASSES ||
            gan_net_num_layers(*net) <= EX_FEATURE_DEPTH ||
            gan_layer_out_dim(gan_net_layer(*net, EX_FEATURE_DEPTH - 1)) != EX_FEATURES) {
            fprintf(stderr, "%s is not the scoring classifier (784 inputs, %d features, 10 classes)\n", path,
                    EX_FEATURES);
            return EX_FAIL;
        }
    } else {
        gan_dataset *train = NULL;
        fprintf(stderr, "classifier: %s is missing: training one (%ld epochs)\n", path, epochs);
        EX_TRY(ex_classifier_build(net));
        int rc = ex_fashion_load(&train, data_dir, 1);
        if (!rc) rc = ex_classifier_train(*net, train, epochs, 1);
        gan_dataset_free(train);
        if (rc) return rc;
        EX_TRY(gan_net_save(*net, path));
    }
    int rc = ex_fashion_load(&test, data_dir, 0);
    if (!rc) rc = ex_classifier_accuracy(*net, test, &accuracy);
    gan_dataset_free(test);
    if (!rc)
        fprintf(stderr, "classifier: %s %s, test accuracy %.2f%%\n", path, trained ? "trained and saved" : "loaded",
                100.0 * accuracy);
    return rc;
}
