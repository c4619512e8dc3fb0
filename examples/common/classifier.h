/* The scoring classifier (examples/classifier, examples/score): a small convolutional net
 * trained with libgan alone on a labelled image set, Fashion-MNIST by default. Its
 * penultimate layer, EX_FEATURES wide, is the feature space of the Frechet distance, KID
 * and precision/recall; the Inception net of FID cannot be downloaded here and does not
 * fit 28 x 28 greyscale images or a small set of emoji anyway.
 *
 *   C x S x S -> conv 4x4 s2 p1 to 32 maps -> leaky ReLU 0.2, the side halved, then again
 *   with twice the maps, while the side is above 8 (28: 32 x 14 x 14, 64 x 7 x 7; 32: down
 *   to 64 x 8 x 8; 64: to 128 x 8 x 8) -> dense EX_FEATURES -> ReLU (the features)
 *   -> dropout 0.5 -> dense to the data's classes
 *   Adam 1e-3 (0.9, 0.999), batch 100, softmax cross-entropy, He init.
 *
 * The model file carries the input shape (gan_net_in_shape) and the classes (the output
 * width), so a program that loads it knows which images it takes. */
#ifndef EX_CLASSIFIER_H
#define EX_CLASSIFIER_H

#include <gan.h>
#include <stdint.h>

#define EX_FEATURES 256

/* The net for rows of channels x side x side (side 8 to 4096) and `classes` classes. */
int ex_classifier_build(gan_net **net, size_t channels, size_t side, size_t classes);
/* The default training length for a set of `rows` rows: 10 epochs (Fashion-MNIST's 6,000
 * steps), and on a small set as many as it takes to draw 30,000 rows (300 steps; 20
 * epochs of the emoji set's 1,538 training rows), 1,000 at most. */
long ex_classifier_epochs(size_t rows);
/* Train on every row of `train` (values in [0, 1], labels below the net's output width)
 * for `epochs`, with a progress line on stderr. The batches run across the ends of epochs,
 * so every row is drawn `epochs` times whatever the set's size (the last batch may reach
 * into one more epoch). */
int ex_classifier_train(gan_net *net, const gan_dataset *train, long epochs, uint64_t seed);
/* The share of `test`'s rows whose largest logit is their label. */
int ex_classifier_accuracy(gan_net *net, const gan_dataset *test, double *accuracy);
/* The layers up to the features (all but the dropout and the last dense layer). */
size_t ex_classifier_feature_depth(const gan_net *net);
/* The features of n rows of values in [0, 1] (n x EX_FEATURES). */
int ex_classifier_features(gan_net *net, const float *x, size_t n, float *features);
/* The classifier saved at `path`, checked to have the build above; *net stays NULL when
 * there is no such file. 0, or a status reported on stderr. */
int ex_classifier_load(gan_net **net, const char *path);
/* When *net is NULL, build one for train's rows (of channels x side x side) and classes,
 * train it for `epochs` (seed 1) and save it at `path` (atomically, by gan_net_save). Then,
 * either way, check its classes against test's and report its test accuracy on stderr. */
int ex_classifier_ready(gan_net **net, const char *path, const gan_dataset *train, const gan_dataset *test,
                        size_t channels, size_t side, long epochs);

#endif
