/* The paper's MNIST nets, as the bench programs build them (bench.c, scale.c): G 100 ->
 * 1200 ReLU -> 1200 ReLU -> 784 sigmoid; D dropout 0.8 -> maxout 240x5 -> dropout 0.5 ->
 * maxout 240x5 -> dropout 0.5 -> dense 1 -> sigmoid. A failure exits (check.h). */
#ifndef GAN_BENCH_PAPER_H
#define GAN_BENCH_PAPER_H

#include "check.h"

static void add(gan_net *n, gan_layer *l) { CHECK(gan_net_add(n, l)); }

/* A bench model's trainer, batch size and data, and its recipe: the paper's (SGD 0.1 with
 * momentum 0.5, uniform init and noise) or, for a DCGAN, pytorch/examples' (Adam 2e-4,
 * betas (0.5, 0.999), DCGAN's init, normal noise). The optimizers go to *og and *od. */
static gan_trainer *recipe_trainer(gan_net *g, gan_net *d, int dcgan, size_t batch, gan_data_fn data,
                                   gan_optim **og, gan_optim **od)
{
    gan_trainer *t;
    if (dcgan) {
        CHECK(gan_optim_adam(og, 2e-4f, 0.5f, 0.999f, 1e-8f));
        CHECK(gan_optim_adam(od, 2e-4f, 0.5f, 0.999f, 1e-8f));
    } else {
        CHECK(gan_optim_sgd(og, 0.1f, 0.5f, 0));
        CHECK(gan_optim_sgd(od, 0.1f, 0.5f, 0));
    }
    CHECK(gan_trainer_create(&t, g, d, *og, *od));
    CHECK(gan_trainer_set_batch_size(t, batch));
    CHECK(gan_trainer_set_data(t, data, NULL));
    gan_rng *init = gan_trainer_rng(t, GAN_STREAM_INIT);
    if (dcgan) {
        CHECK(gan_trainer_set_noise_normal(t, 1.0f));
        CHECK(gan_net_init(g, init, GAN_INIT_DCGAN, 1.0f));
        CHECK(gan_net_init(d, init, GAN_INIT_DCGAN, 1.0f));
    } else {
        CHECK(gan_net_init(g, init, GAN_INIT_UNIFORM, 0.05f));
        CHECK(gan_net_init(d, init, GAN_INIT_UNIFORM, 0.005f));
    }
    return t;
}

static gan_net *paper_generator(void)
{
    gan_net *g;
    gan_layer *l;
    CHECK(gan_net_create(&g, 100));
    CHECK(gan_layer_dense(&l, 100, 1200)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_RELU)); add(g, l);
    CHECK(gan_layer_dense(&l, 1200, 1200)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_RELU)); add(g, l);
    CHECK(gan_layer_dense(&l, 1200, 784)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_SIGMOID)); add(g, l);
    return g;
}

static gan_net *paper_discriminator(void)
{
    gan_net *d;
    gan_layer *l;
    CHECK(gan_net_create(&d, 784));
    CHECK(gan_layer_dropout(&l, 0.8f)); add(d, l);
    CHECK(gan_layer_maxout(&l, 784, 240, 5)); add(d, l);
    CHECK(gan_layer_dropout(&l, 0.5f)); add(d, l);
    CHECK(gan_layer_maxout(&l, 240, 240, 5)); add(d, l);
    CHECK(gan_layer_dropout(&l, 0.5f)); add(d, l);
    CHECK(gan_layer_dense(&l, 240, 1)); add(d, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_SIGMOID)); add(d, l);
    return d;
}

#endif
