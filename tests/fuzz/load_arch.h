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
 *   arch 5: a graph on both sides, condition size 2, 1x2x2 images. G [z 3 | cond 2] ->
 *           dense 8 -> reshape 2x2x2 -> batchnorm(2) without affine, modulated by a dense
 *           layer of the condition (slice 3..5) -> relu -> conv2d 2->1 k1 -> sigmoid;
 *           D [image 4 | cond 2]: the image (slice, reshape) concatenated with the class
 *           tiled to 2x2 maps -> conv2d 3->4 k3 p1 -> leaky(0.2), a residual join with its
 *           avgpool(2) upsampled back -> global sum -> spectrally normalised dense 1, plus
 *           the projection dot(dense 2->4 of the class, the sum) (Adam both); its
 *           trained checkpoints take WGAN-GP every second step (TSET entry 13).
 * Together they hold every layer kind (dense with and without bias, maxout, activation
 * with every function, leaky ReLU included, dropout, reshape, batch norm on vectors and
 * images, both convolutions with and without bias, spectral norm on a convolution and a
 * dense layer) and both kinds of net input (vector, image). */
#ifndef GAN_FUZZ_LOAD_ARCH_H
#define GAN_FUZZ_LOAD_ARCH_H

#include "gan.h"

#include <string.h>

enum { ARCH_COUNT = 6 };

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

/* Arch 5: arch 2's images with their class as a one-hot condition. */
static int arch_image_cond_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    for (size_t i = 0; i < batch; i++) {
        size_t k = gan_rng_uniform(rng) < 0.5f ? 0 : 1;
        for (size_t j = 0; j < 4; j++) x[4 * i + j] = (j == 0 || j == 3) == (k == 0) ? 0.9f : 0.1f;
        cond[2 * i] = k == 0 ? 1.0f : 0.0f;
        cond[2 * i + 1] = k == 1 ? 1.0f : 0.0f;
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

/* Add the layer its constructor (status rc_layer) put in *l, reading nodes `from`. */
static int arch_add_from(gan_net *n, int rc_layer, gan_layer **l, size_t n_from, size_t a, size_t b)
{
    if (rc_layer) return rc_layer;
    const size_t from[2] = {a, b};
    int rc = gan_net_add_from(n, *l, from, n_from);
    if (rc) gan_layer_free(*l);
    return rc;
}

/* Arch 5's nets (see the top of the file). */
static int arch_graphs(arch_rig *r)
{
    gan_layer *l = NULL;
    int rc = gan_net_create(&r->g, 5);
    if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 5, 8), &l);                  /* node 1 */
    if (!rc) rc = arch_add(r->g, gan_layer_reshape(&l, 2, 2, 2), &l);             /* node 2 */
    if (!rc) rc = gan_layer_batchnorm(&l, 2, 0.1f, 1e-5f);
    if (!rc && (rc = gan_layer_set_bias(l, 0)) != GAN_OK) gan_layer_free(l);
    if (!rc) rc = arch_add(r->g, GAN_OK, &l);                                      /* node 3 */
    if (!rc) rc = arch_add_from(r->g, gan_layer_slice(&l, 3, 2), &l, 1, 0, 0);    /* node 4 */
    if (!rc) rc = arch_add(r->g, gan_layer_dense(&l, 2, 4), &l);                  /* node 5 */
    if (!rc) rc = arch_add_from(r->g, gan_layer_modulate(&l), &l, 2, 3, 5);       /* node 6 */
    if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);     /* node 7 */
    if (!rc) rc = arch_add(r->g, gan_layer_conv2d(&l, 2, 1, 1, 1, 0), &l);        /* node 8 */
    if (!rc) rc = arch_add(r->g, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    if (!rc) rc = gan_net_create(&r->d, 6);
    if (!rc) rc = arch_add(r->d, gan_layer_slice(&l, 0, 4), &l);                  /* node 1 */
    if (!rc) rc = arch_add(r->d, gan_layer_reshape(&l, 1, 2, 2), &l);             /* node 2 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_slice(&l, 4, 2), &l, 1, 0, 0);    /* node 3 */
    if (!rc) rc = arch_add(r->d, gan_layer_tile(&l, 2, 2), &l);                   /* node 4 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_concat(&l, 2), &l, 2, 2, 4);      /* node 5 */
    if (!rc) rc = arch_add(r->d, gan_layer_conv2d(&l, 3, 4, 3, 1, 1), &l);        /* node 6 */
    if (!rc) rc = arch_add(r->d, gan_layer_leaky_relu(&l, 0.2f), &l);             /* node 7 */
    if (!rc) rc = arch_add(r->d, gan_layer_avgpool(&l, 2), &l);                   /* node 8 */
    if (!rc) rc = arch_add(r->d, gan_layer_upsample(&l, 2), &l);                  /* node 9 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_add(&l, 2), &l, 2, 7, 9);         /* node 10 */
    if (!rc) rc = arch_add(r->d, gan_layer_global_sum(&l), &l);                   /* node 11 */
    if (!rc) rc = gan_layer_dense(&l, 4, 1);
    if (!rc && (rc = gan_layer_spectral_norm(l, 1)) != GAN_OK) gan_layer_free(l);
    if (!rc) rc = arch_add(r->d, GAN_OK, &l);                                      /* node 12 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_dense(&l, 2, 4), &l, 1, 3, 0);    /* node 13 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_dot(&l), &l, 2, 13, 11);          /* node 14 */
    if (!rc) rc = arch_add_from(r->d, gan_layer_add(&l, 2), &l, 2, 12, 14);
    if (!rc) rc = gan_optim_adam(&r->og, 2e-3f, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_optim_adam(&r->od, 2e-3f, 0.5f, 0.999f, 1e-8f);
    return rc;
}

/* Build arch 0 to 5 with default settings and zero weights. Returns 0 or a GAN_E* code. */
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
    } else if (arch == 5) {
        rc = arch_graphs(r);
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
    if (!rc) rc = gan_trainer_set_data(r->t, arch == 5 ? arch_image_cond_data
                                             : arch == 2 || arch == 4 ? arch_image_data : arch_data, NULL);
    if (!rc && arch == 5) rc = gan_trainer_set_cond_dim(r->t, 2);
    if (!rc && arch == 1) rc = gan_trainer_set_noise(r->t, arch_noise, NULL);
    if (!rc && arch == 3) rc = gan_trainer_set_generate_stats(r->t, GAN_STATS_BATCH);
    if (rc) arch_free(r);
    return rc;
}

#endif
