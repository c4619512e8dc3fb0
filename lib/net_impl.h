/* The net's layout, shared with the trainer and the serializer. */
#ifndef GAN_NET_IMPL_H
#define GAN_NET_IMPL_H

#include "gan.h"
#include "layer_impl.h"

/* A graph's plan for node k (0 the input, k layer k-1's output), made when layers are
 * added (net.c). */
typedef struct gan__node {
    size_t act;         /* floats per row before the node's activation in acts */
    size_t slot;        /* its gradient's slot in grad_buf */
    size_t readers;     /* input edges that name it */
    size_t stack;       /* planning: an entry of the stack of free slots */
    const float *value; /* the last forward's (acts + batch * act) */
    unsigned char need, written; /* backward: wants a gradient, has one so far */
} gan__node;

/* A block for the buffers that last one call (the gradients in flight and the layers'
 * scratch): a net's own, or lent by a trainer to both its nets for its calls, which run
 * them one at a time (gan__net_lend). */
typedef struct gan__arena {
    float *buf;
    size_t cap; /* floats */
} gan__arena;

struct gan_net {
    gan_shape in, out; /* the input's shape and the last layer's */
    size_t max_dim;   /* widest gradient backward keeps between layers */
    gan_layer **layers;
    size_t n_layers, cap_layers;
    float *params, *grads; /* one contiguous buffer each, room for cap_params */
    size_t n_params, cap_params;
    float *state;          /* non-trainable values (running statistics), room for cap_state */
    size_t n_state, cap_state;
    /* Borrowers notice changes by these (DESIGN.md, "Where data goes"): layout grows with
     * every added layer, weights_set with every gan_net_init or load. initialised: the
     * parameters were set (init, load, or write access through gan_net_params) since the
     * last layer was added. */
    uint64_t layout, weights_set;
    int initialised;
    float *acts;      /* activations for batch_cap rows: the input when layer 0's backward
                         reads it, then each output not computed in place (see net.c) */
    size_t act_width; /* floats per row of acts */
    float *grad_buf;  /* grad_bufs slots of batch_cap x max_dim for backward: a chain's two
                         ping-pong halves, or a graph's node gradients and sums */
    size_t grad_bufs;
    int graph;        /* some layer reads other nodes than the previous one */
    int graph_copies_input; /* a graph's: a reader of node 0 reads it again in backward */
    gan__node *nodes; /* a graph's plan, cap_layers + 1 entries */
    size_t grad_slots; /* a graph's node gradient slots; the rest of grad_bufs hold sums */
    float *scratch;   /* batch_cap x scratch_width or more, lent to layers for what one call needs */
    size_t scratch_width;
    size_t grad_n, transient_n; /* floats of grad_buf, and of grad_buf and scratch together */
    gan__arena own;   /* where grad_buf and scratch are, unless a trainer lends its block */
    gan__arena *lent;
    size_t batch_cap; /* rows the workspaces hold */
    size_t batch;     /* rows of the last forward; 0 if backward is not possible */
    size_t depth;     /* layers the last forward ran */
    gan_rng *rng;     /* borrowed, for dropout */
    gan__rows rows;   /* set by a trainer with a comm for its step; zero otherwise */
};

/* Forward through the first `depth` layers only; y receives that layer's output.
 * gan_net_backward() then starts from there. The trainer uses it to read D's logit
 * below a final sigmoid. Messages name no public function: the caller adds its own. */
int gan__net_forward_depth(gan_net *net, const float *x, size_t batch, float *y, int train, size_t depth);

/* Some layer couples the rows of a batch (batch norm): a batch's rows must be the ones
 * that belong together (D sees real and generated rows in separate passes). */
int gan__net_couples_rows(const gan_net *net);

/* gan_net_backward() with a choice for the parameter gradients (GAN__GRADS_* in
 * layer_impl.h): the trainer overwrites them, or skips them when it wants only D's
 * input gradient to train G. */
int gan__net_backward_ex(gan_net *net, const float *dy, float *dx, int grads);

/* Make the net's layers keep their choices in GAN__HOLD forwards for GAN__REPLAY ones
 * (layer_impl.h); their room is reserved by the next forward. */
void gan__net_hold(gan_net *net);

/* Lend the net a block for grad_buf and scratch (NULL: back to its own, made when next
 * needed). Nets that share a block must run one at a time: a trainer lends one to G and D
 * for the length of its own calls. The block grows when a net needs more. */
void gan__net_lend(gan_net *net, gan__arena *arena);

/* Exchange the parameter buffer with *other (n_params floats at least), e.g. for EMA
 * weights. */
void gan__net_swap_params(gan_net *net, float **other);

/* The parameters were set wholesale (a load): the net counts as initialised. */
void gan__net_weights_set(gan_net *net);

/* Place layer `l` as layer `index` of a net with input shape `in` and layers `layers`
 * (only those before index are read), on the nodes `from`: the input count, the nodes and
 * the shapes checked, with the nodes named in messages (no public function). */
int gan__place(gan_layer *l, gan_shape in, gan_layer *const *layers, size_t index, const size_t *from, size_t n_from);

/* Describe layer i for messages ("nothing" past the end). */
void gan__net_describe_layer(const gan_net *net, size_t i, char *buf, size_t cap);

#endif
