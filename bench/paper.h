/* The paper's MNIST nets, as the bench programs build them (bench.c, scale.c): G 100 ->
 * 1200 ReLU -> 1200 ReLU -> 784 sigmoid; D dropout 0.8 -> maxout 240x5 -> dropout 0.5 ->
 * maxout 240x5 -> dropout 0.5 -> dense 1 -> sigmoid. A failure exits (check.h). */
#ifndef GAN_BENCH_PAPER_H
#define GAN_BENCH_PAPER_H

#include "check.h"

static void add(gan_net *n, gan_layer *l) { CHECK(gan_net_add(n, l)); }

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
