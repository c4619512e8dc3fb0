/* The trainers the load fuzzer restores checkpoints into, shared with the program that
 * writes its seed corpus (make_corpus_load.c): a checkpoint only gets past the
 * architecture check into a trainer built the same way.
 *   arch 0: G 3 -> dense 6 -> leaky(0.2) -> dense 2 (SGD);
 *           D 2 -> maxout 4x2 -> dropout(0.9) -> dense 1 -> sigmoid (Adam); built-in noise.
 *   arch 1: condition size 2. G 5 -> dense 6 -> tanh -> dense 2 (Adam);
 *           D 4 -> dense 5 -> relu -> dense 1 (SGD with Nesterov momentum); custom noise.
 *   arch 2: images. G 3 -> dense 8 -> reshape 2x2x2 -> relu -> dense 4 -> reshape 1x2x2
 *           -> sigmoid (Adam); D takes 1x2x2 images (gan_net_create_image) -> dropout(0.8)
 *           -> maxout 3x2 -> dense 1 -> identity (SGD without momentum); built-in noise;
 *           data: 2x2 one-channel images.
 *   arch 3: batch norm and state. G 3 -> dense 8 without bias -> batchnorm(8) -> relu
 *           -> dense 2 (Adam); D 2 -> dense 4 -> batchnorm(4) -> leaky(0.2) -> dense 1
 *           (Adam; D sees real and fake rows in two passes); batch statistics for
 *           generation; built-in noise.
 *   arch 4: convolutions. G 3 -> dense 2 -> reshape 2x1x1 -> conv2d_transpose 2->1 k2 s2
 *           (to 1x2x2) -> sigmoid (Adam); D takes 1x2x2 images -> conv2d 1->3 k2 s1 p1
 *           without bias (to 3x3x3) -> batchnorm(3) -> leaky(0.2) -> conv2d 3->2 k3 s2 p1
 *           with spectral norm (2 iterations; to 2x2x2) -> dense 1 with spectral norm
 *           (Adam); data: 2x2 one-channel images.
 * Together they hold every layer kind (dense with and without bias, maxout, activation
 * with every function, leaky ReLU included, dropout, reshape, batch norm on vectors and
 * images, both convolutions with and without bias, spectral norm on a convolution and a
 * dense layer) and both kinds of net input (vector, image). */
#ifndef GAN_FUZZ_LOAD_ARCH_H
#define GAN_FUZZ_LOAD_ARCH_H

#include "gan.h"

#include <string.h>

enum { ARCH_COUNT = 5 };

typedef struct {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
} arch_rig;

static int arch_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    for (size_t i = 0; i < batch; i++) {
        size_t k = gan_rng_uniform(rng) < 0.5f ? 0 : 1;
        x[2 * i] = gan_rng_normal(rng) + (float)k;
        x[2 * i + 1] = 0.5f * gan_rng_normal(rng) - (float)k;
        if (cond) {
            cond[2 * i] = k == 0 ? 1.0f : 0.0f;
            cond[2 * i + 1] = k == 1 ? 1.0f : 0.0f;
        }
    }
    return 0;
}

/* Arch 2: 2x2 images, a diagonal or an anti-diagonal stroke with some noise, in [0, 1]. */
static int arch_image_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload; (void)cond;
    for (size_t i = 0; i < batch; i++) {
        size_t k = gan_rng_uniform(rng) < 0.5f ? 0 : 1;
        for (size_t j = 0; j < 4; j++) {
            float ink = (j == 0 || j == 3) == (k == 0) ? 0.9f : 0.1f;
            x[4 * i + j] = ink + 0.1f * (gan_rng_uniform(rng) - 0.5f);
        }
    }
    return 0;
}

static int arch_noise(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    (void)payload;
    return gan_rng_fill_normal(rng, z, batch * dim, 0.0f, 0.3f);
}

static void arch_free(arch_rig *r)
{
    gan_trainer_free(r->t);
    gan_optim_free(r->og);
    gan_optim_free(r->od);
    gan_net_free(r->g);
    gan_net_free(r->d);
    memset(r, 0, sizeof *r);
}

/* Add the layer its constructor (status rc_layer) put in *l, or fail. Takes &l, not l:
 * the constructor in the same argument list fills it. */
static int arch_add(gan_net *n, int rc_layer, gan_layer **l)
{
    if (rc_layer) return rc_layer;
    int rc = gan_net_add(n, *l);
    if (rc) gan_layer_free(*l);
    return rc;
}

/* Build arch 0, 1 or 2 with default settings and zero weights. Returns 0 or a GAN_E* code. */
static int arch_make(arch_rig *r, int arch)
{
    gan_layer *l = NULL;
    int rc;
    memset(r, 0, sizeof *r);
    if (arch == 0) {
        rc = gan_net_create(&r->g, 3);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 3, 6), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_leaky_relu(&l, 0.2f), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 6, 2), &l);
        if (!rc) rc = gan_net_create(&r->d, 2);
        if (!rc) rc = arch_add(r->d, gan_layer_maxout(&l, 2, 4, 2), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_dropout(&l, 0.9f), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 4, 1), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
        if (!rc) rc = gan_optim_sgd(&r->og, 0.1f, 0.5f, 0);
        if (!rc) rc = gan_optim_adam(&r->od, 1e-3f, 0.5f, 0.999f, 1e-8f);
    } else if (arch == 1) {
        rc = gan_net_create(&r->g, 5);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 5, 6), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_TANH), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 6, 2), &l);
        if (!rc) rc = gan_net_create(&r->d, 4);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 4, 5), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_activation(&l, GAN_ACT_RELU), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 5, 1), &l);
        if (!rc) rc = gan_optim_adam(&r->og, 1e-3f, 0.5f, 0.999f, 1e-8f);
        if (!rc) rc = gan_optim_sgd(&r->od, 0.05f, 0.9f, 1);
    } else if (arch == 4) {
        rc = gan_net_create(&r->g, 3);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 3, 2), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_reshape(&l, 2, 1, 1), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_conv2d_transpose(&l, 2, 1, 2, 2, 0, 0), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
        if (!rc) rc = gan_net_create_image(&r->d, 1, 2, 2);
        if (!rc) rc = gan_layer_conv2d(&l, 1, 3, 2, 1, 1);
        if (!rc && (rc = gan_layer_set_bias(l, 0)) != GAN_OK) gan_layer_free(l);
        if (!rc) rc = arch_add(r->d, GAN_OK, &l);
        if (!rc) rc = arch_add(r->d, gan_layer_batchnorm(&l, 3, 0.1f, 1e-5f), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_leaky_relu(&l, 0.2f), &l);
        if (!rc) rc = gan_layer_conv2d(&l, 3, 2, 3, 2, 1);
        if (!rc && (rc = gan_layer_spectral_norm(l, 2)) != GAN_OK) gan_layer_free(l);
        if (!rc) rc = arch_add(r->d, GAN_OK, &l);
        if (!rc) rc = gan_layer_dense(&l, 8, 1);
        if (!rc && (rc = gan_layer_spectral_norm(l, 1)) != GAN_OK) gan_layer_free(l);
        if (!rc) rc = arch_add(r->d, GAN_OK, &l);
        if (!rc) rc = gan_optim_adam(&r->og, 2e-3f, 0.5f, 0.999f, 1e-8f);
        if (!rc) rc = gan_optim_adam(&r->od, 2e-3f, 0.5f, 0.999f, 1e-8f);
    } else if (arch == 3) {
        rc = gan_net_create(&r->g, 3);
        if (!rc) rc = gan_layer_dense(&l, 3, 8);
        if (!rc && (rc = gan_layer_set_bias(l, 0)) != GAN_OK) gan_layer_free(l);
        if (!rc) rc = arch_add(r->g, GAN_OK, &l);
        if (!rc) rc = arch_add(r->g, gan_layer_batchnorm(&l, 8, 0.1f, 1e-5f), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 8, 2), &l);
        if (!rc) rc = gan_net_create(&r->d, 2);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 2, 4), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_batchnorm(&l, 4, 0.2f, 1e-3f), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_leaky_relu(&l, 0.2f), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 4, 1), &l);
        if (!rc) rc = gan_optim_adam(&r->og, 2e-3f, 0.5f, 0.999f, 1e-8f);
        if (!rc) rc = gan_optim_adam(&r->od, 2e-3f, 0.5f, 0.999f, 1e-8f);
    } else {
        rc = gan_net_create(&r->g, 3);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 3, 8), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_reshape(&l, 2, 2, 2), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 8, 4), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_reshape(&l, 1, 2, 2), &l);
        if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
        if (!rc) rc = gan_net_create_image(&r->d, 1, 2, 2);
        if (!rc) rc = arch_add(r->d, gan_layer_dropout(&l, 0.8f), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_maxout(&l, 4, 3, 2), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_dense(&l, 3, 1), &l);
        if (!rc) rc = arch_add(r->d, gan_layer_activation(&l, GAN_ACT_IDENTITY), &l);
        if (!rc) rc = gan_optim_adam(&r->og, 2e-3f, 0.9f, 0.99f, 1e-7f);
        if (!rc) rc = gan_optim_sgd(&r->od, 0.05f, 0.0f, 0);
    }
    if (!rc) rc = gan_trainer_create(&r->t, r->g, r->d, r->og, r->od);
    if (!rc) rc = gan_trainer_set_data(r->t, arch == 2 || arch == 4 ? arch_image_data : arch_data, NULL);
    if (!rc && arch == 1) rc = gan_trainer_set_noise(r->t, arch_noise, NULL);
    if (!rc && arch == 3) rc = gan_trainer_set_generate_stats(r->t, GAN_STATS_BATCH);
    if (rc) arch_free(r);
    return rc;
}

#endif
