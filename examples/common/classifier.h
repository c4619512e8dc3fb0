/* The scoring classifier (examples/classifier, examples/score): a small convolutional net
 * trained on Fashion-MNIST with libgan alone. Its penultimate layer, EX_FEATURES wide, is
 * the feature space of the Frechet distance, KID and precision/recall; the Inception net
 * of FID cannot be downloaded here and does not fit 28 x 28 greyscale images anyway.
 *
 *   1x28x28 -> conv 4x4 s2 p1 to 32x14x14 -> leaky ReLU 0.2 -> conv 4x4 s2 p1 to 64x7x7
 *   -> leaky ReLU 0.2 -> dense 256 -> ReLU (the features) -> dropout 0.5 -> dense 10
 *   Adam 1e-3 (0.9, 0.999), batch 100, softmax cross-entropy, He init. */
#ifndef EX_CLASSIFIER_H
#define EX_CLASSIFIER_H

#include <gan.h>
#include <stdint.h>

#define EX_SIDE 28
#define EX_PIXELS (EX_SIDE * EX_SIDE)
#define EX_CLASSES 10
#define EX_FEATURES 256
#define EX_FEATURE_DEPTH 6 /* layers up to the features: conv, leaky, conv, leaky, dense, ReLU */

int ex_classifier_build(gan_net **net);
/* Train on every row of `train` (pixels in [0, 1], labels 0-9) for `epochs`, with a
 * progress line on stderr. */
int ex_classifier_train(gan_net *net, const gan_dataset *train, long epochs, uint64_t seed);
/* The share of `test`'s rows whose largest logit is their label. */
int ex_classifier_accuracy(gan_net *net, const gan_dataset *test, double *accuracy);
/* The features of n rows of pixels in [0, 1] (n x EX_FEATURES). */
int ex_classifier_features(gan_net *net, const float *x, size_t n, float *features);
/* The classifier saved at `path`; when there is none, one trained on data_dir's training
 * set for `epochs`, saved there (atomically, by gan_net_save). Reports its test accuracy
 * on stderr either way. */
int ex_classifier_load_or_train(gan_net **net, const char *path, const char *data_dir, long epochs);
/* data_dir's training or test set (train != 0 or 0) as a data set of EX_PIXELS-wide rows. */
int ex_fashion_load(gan_dataset **ds, const char *data_dir, int train);

#endif
