/* What the files of layer code share (layer.c and each kind's own file): the helpers every
 * kind's constructor, reserve and decode use, and the ops tables of the kinds that live
 * in files of their own, which layer.c lists in its table of kinds. */
#ifndef GAN_LAYER_KIND_IMPL_H
#define GAN_LAYER_KIND_IMPL_H

#include "layer_impl.h"

#include <limits.h>

/* BLAS takes int dimensions: every width and batch must fit one. */
#define GAN_MAX_DIM ((size_t)INT_MAX)

/* A zeroed layer of ops->size bytes with its ops; GAN_ENOMEM naming fn. */
int gan__layer_new(gan_layer **out, const struct gan_layer_ops *ops, const char *fn);

/* Grow a workspace of rows x width elements of elem bytes into l->work_next (the net
 * commits it into l->work once every layer's growth succeeded). */
int gan__layer_grow(gan_layer *l, size_t rows, size_t width, size_t elem);

/* A u64 field of a file as a size; values beyond size_t are refused by the constructor's
 * range check. */
size_t gan__field_size(uint64_t v);

/* Initialise n weights of a layer with the given fans (GAN_INIT_*). */
void gan__init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, gan_rng *rng, gan_init scheme, float scale);

/* The kinds in files of their own. */
extern const struct gan_layer_ops gan__batchnorm_ops;

/* GAN_EFORMAT: a record of the kind `kind` is len bytes, not want. */
int gan__bad_length(const char *kind, size_t len, size_t want);

/* Spectral normalization (layer_sn.c): its power iterations (0: none), the buffers it
 * needs in a net, teardown, the initial u and v, and the forward and backward halves
 * around the kind's calls. */
size_t gan__sn_iterations(const gan_layer *l);
int gan__sn_attach(gan_layer *l);
void gan__sn_free(gan_layer *l);
void gan__sn_init(gan_layer *l, gan_rng *rng);
float *gan__sn_forward(gan_layer *l, int train); /* the parameters to run the kind on */
float *gan__sn_grads(gan_layer *l);              /* where the kind's gradients go */
void gan__sn_backward(gan_layer *l, int grads);  /* those into l->grads as `grads` says */
float *gan__sn_copy(gan_layer *l);               /* the last forward's parameters */
int gan__sn_check_state(const gan_layer *l, const uint8_t *p); /* u and v finite in a file */

/* The kinds of lib/layer_conv.c. */
extern const struct gan_layer_ops gan__conv2d_ops, gan__conv2d_transpose_ops;

/* The kinds for graphs, lib/layer_graph.c. */
extern const struct gan_layer_ops gan__concat_ops, gan__add_ops, gan__slice_ops, gan__tile_ops, gan__upsample_ops,
    gan__avgpool_ops, gan__global_sum_ops, gan__modulate_ops, gan__dot_ops;

#endif
