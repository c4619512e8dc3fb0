/* Nets: a stack of layers over one flat parameter buffer and one gradient buffer.
 *
 * Activations: forward keeps what backward will read and no more. The net's input is
 * copied only when layer 0's backward reads it (a dense or maxout layer); otherwise
 * layer 0 reads the caller's rows. An elementwise layer (activation, dropout) runs in
 * place over its input unless that is the net's input or the output of a layer whose
 * backward reads it (an activation): dense -> relu, maxout -> dropout and
 * dense -> sigmoid share one buffer. Backward computes an input gradient only where a
 * layer below needs it: nothing below the first layer with parameters unless the caller
 * asks for dx. Elementwise layers also run backward in place, on the gradient the layer
 * above left in one of two ping-pong halves or in the caller's dx; so the halves hold
 * only the gradients that enter a layer above the leading elementwise ones (a D that
 * starts with dropout never keeps its 784-wide input gradient: maxout writes it into
 * dx and dropout scales it there).
 *
 * Graphs (a layer reads nodes other than the previous one, docs/graphs.md) keep the same
 * flat buffers and run in insertion order, with a plan made as layers are added: every
 * node's value has its place in acts (the input copied only when a reader's backward
 * reads it, as in a chain; an elementwise layer that is the
 * only reader of a node runs in place over it, on the chain's rule), and every node's
 * gradient a slot of grad_buf while it is live in backward (from its first reader's
 * backward to its producer's), slots reused first-fit. A reader that finds the node's
 * gradient already written writes into a sum slot, then adds. */
#include "net_impl.h"
#include "layer_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int new_net(gan_net **out, gan_shape in, const char *fn)
{
    gan_net *n = gan__calloc(1, sizeof *n);
    if (!n) return gan__fail(GAN_ENOMEM, "%s: out of memory", fn);
    n->in = n->out = in;
    n->max_dim = n->act_width = gan__shape_size(in);
    *out = n;
    return GAN_OK;
}

int gan_net_create(gan_net **out, size_t in_dim)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    if (in_dim == 0 || in_dim > INT_MAX)
        return gan__fail(GAN_EINVAL, "%s: in_dim must be in [1, %d], got %zu", __func__, INT_MAX, in_dim);
    return new_net(out, gan__vector_shape(in_dim), __func__);
}

int gan_net_create_image(gan_net **out, size_t channels, size_t height, size_t width)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    int rc = gan__check_shape(channels, height, width);
    if (rc) return gan__wrap(rc, "%s", __func__);
    return new_net(out, (gan_shape){channels, height, width}, __func__);
}

static void drop_workspaces(gan_net *n)
{
    gan__free(n->acts);
    gan__free(n->own.buf);
    n->own = (gan__arena){0};
    n->acts = n->grad_buf = n->scratch = NULL;
    n->batch_cap = n->batch = n->transient_n = 0;
}

/* Layer 0's backward reads the net's input: keep a copy. */
static int copies_input(const gan_net *n) { return n->n_layers && n->layers[0]->ops->reads_x; }

/* Layer i overwrites its input (see the top of the file). */
static int in_place(const gan_net *n, size_t i)
{
    return i > 0 && n->layers[i]->ops->elementwise && !n->layers[i - 1]->ops->reads_y;
}

/* Layers 0 .. lead-1 are all elementwise. */
static size_t leading_elementwise(const gan_net *n)
{
    size_t lead = 0;
    while (lead < n->n_layers && n->layers[lead]->ops->elementwise) lead++;
    return lead;
}

/* The shape of node k: the input, or layer k-1's output. */
static gan_shape node_shape(gan_shape in, gan_layer *const *layers, size_t k) { return k ? layers[k - 1]->out : in; }

#define NO_SLOT SIZE_MAX

/* A graph's plan (see the top of the file). Slot assignment walks backward: a node takes
 * a free slot at its first reader and gives it back once its producer has run; the free
 * slots are a stack in the nodes' `stack` fields (never more than one per node). The
 * input's gradient is the caller's dx, never a slot. A layer needs as many sum slots as
 * it has inputs whose gradient a reader above it (or an earlier input) already wrote. */
static void plan_graph(gan_net *n)
{
    gan__node *nd = n->nodes;
    size_t count = n->n_layers + 1, widest = gan__shape_size(n->in), scratch = 0;
    for (size_t k = 0; k < count; k++) {
        nd[k].readers = 0;
        nd[k].slot = NO_SLOT;
    }
    n->graph_copies_input = 0; /* only when a reader of the input reads it again in backward */
    for (size_t i = 0; i < n->n_layers; i++)
        for (size_t m = 0; m < n->layers[i]->n_from; m++) {
            nd[n->layers[i]->from[m]].readers++;
            if (!n->layers[i]->from[m] && n->layers[i]->ops->reads_x) n->graph_copies_input = 1;
        }
    size_t width = n->graph_copies_input ? widest : 0;
    nd[0].act = 0;
    for (size_t i = 0; i < n->n_layers; i++) {
        const gan_layer *l = n->layers[i];
        size_t j = l->from[0], out = gan__shape_size(l->out);
        if (l->ops->elementwise && j > 0 && nd[j].readers == 1 && !n->layers[j - 1]->ops->reads_y) {
            nd[i + 1].act = nd[j].act;
        } else {
            nd[i + 1].act = width;
            width += out;
        }
        if (out > widest) widest = out;
        if (l->scratch_width > scratch) scratch = l->scratch_width;
    }
    size_t slots = 0, free_top = 0, sums = 0;
    for (size_t i = n->n_layers; i-- > 0;) {
        const gan_layer *l = n->layers[i];
        size_t here = 0;
        for (size_t m = 0; m < l->n_from; m++) {
            gan__node *src = &nd[l->from[m]];
            if (src->written) here++; /* planning: "has its slot" */
            else if (l->from[m]) src->slot = free_top ? nd[--free_top].stack : slots++;
            src->written = 1;
        }
        if (here > sums) sums = here;
        if (nd[i + 1].slot != NO_SLOT) nd[free_top++].stack = nd[i + 1].slot;
    }
    for (size_t k = 0; k < count; k++) nd[k].written = 0;
    n->act_width = width;
    n->scratch_width = scratch;
    n->max_dim = widest;
    n->grad_slots = slots;
    n->grad_bufs = slots + sums ? slots + sums : 1;
}

/* Floats per row of acts, of each gradient half and of the shared scratch. */
static void size_workspaces(gan_net *n)
{
    if (n->graph) {
        plan_graph(n);
        return;
    }
    n->grad_bufs = 2;
    size_t width = copies_input(n) ? gan__shape_size(n->in) : 0, scratch = 0, grad = 1,
           lead = leading_elementwise(n);
    for (size_t i = 0; i < n->n_layers; i++) {
        const gan_layer *l = n->layers[i];
        if (!in_place(n, i)) width += gan__shape_size(l->out);
        if (l->scratch_width > scratch) scratch = l->scratch_width;
        /* Layer i's input gradient goes to dx, or nowhere, when all below it are elementwise. */
        if (i > lead && gan__shape_size(l->in) > grad) grad = gan__shape_size(l->in);
    }
    n->act_width = width;
    n->scratch_width = scratch;
    n->max_dim = grad;
}

void gan_net_free(gan_net *net)
{
    if (!net) return;
    for (size_t i = 0; i < net->n_layers; i++) gan_layer_free(net->layers[i]);
    gan__free(net->layers);
    gan__free(net->params);
    gan__free(net->grads);
    gan__free(net->state);
    gan__free(net->nodes);
    drop_workspaces(net);
    gan__free(net);
}

static void bind_all(gan_net *n)
{
    size_t off = 0, soff = 0;
    for (size_t i = 0; i < n->n_layers; i++) {
        gan_layer *l = n->layers[i];
        gan__layer_bind(l, n->params ? n->params + off : NULL, n->grads ? n->grads + off : NULL,
                        n->state ? n->state + soff : NULL);
        off += l->n_params;
        soff += l->n_state;
    }
}

/* Room for `total` floats in each of the n buffers bufs[i], which hold `used` floats:
 * capacity doubles, so a net built layer by layer copies its buffers a logarithmic number
 * of times. New room is zero; on failure the buffers are as they were. */
static int grow_buffers(float **bufs[], size_t n, size_t used, size_t *cap, size_t total)
{
    if (total <= *cap) return GAN_OK;
    size_t want = *cap ? *cap : total;
    while (want < total) want = want > SIZE_MAX / sizeof(float) / 4 ? total : 2 * want;
    float *fresh[2] = {NULL, NULL};
    for (size_t i = 0; i < n; i++)
        if (!(fresh[i] = gan__calloc(want, sizeof(float)))) {
            for (size_t j = 0; j < i; j++) gan__free(fresh[j]);
            return gan__fail(GAN_ENOMEM, "out of memory for %zu values", total);
        }
    for (size_t i = 0; i < n; i++) {
        if (used) memcpy(fresh[i], *bufs[i], used * sizeof(float));
        gan__free(*bufs[i]);
        *bufs[i] = fresh[i];
    }
    *cap = want;
    return GAN_OK;
}

static int owned_here(const gan_net *net, const gan_layer *layer)
{
    for (size_t i = 0; i < net->n_layers; i++)
        if (net->layers[i] == layer) return 1;
    return 0;
}

static int get_shape(gan_shape s, size_t *c, size_t *h, size_t *w)
{
    if (c) *c = s.c;
    if (h) *h = s.h;
    if (w) *w = s.w;
    return GAN_OK;
}

/* "node 3 (8x4x4), node 1 (2x8x8)" into buf. */
static void describe_nodes(gan_shape in, gan_layer *const *layers, const size_t *from, size_t n_from, char *buf,
                           size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t m = 0; m < n_from && used < cap; m++) {
        gan_shape s = node_shape(in, layers, from[m]);
        int w = snprintf(buf + used, cap - used, "%snode %zu (%zux%zux%zu)", m ? ", " : "", from[m], s.c, s.h, s.w);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int gan__place(gan_layer *l, gan_shape in, gan_layer *const *layers, size_t index, const size_t *from, size_t n_from)
{
    if (n_from != l->n_in)
        return gan__fail(GAN_EINVAL, "%s layer %zu takes %zu input%s, %zu named%s", l->ops->name, index, l->n_in,
                         l->n_in == 1 ? "" : "s", n_from, l->n_in > 1 ? " (add it with gan_net_add_from)" : "");
    for (size_t m = 0; m < n_from; m++)
        if (from[m] > index)
            return gan__fail(GAN_EINVAL, "%s layer %zu reads node %zu, but the nodes so far are 0 to %zu",
                             l->ops->name, index, from[m], index);
    int rc;
    if (l->n_in == 1) {
        rc = l->ops->place(l, node_shape(in, layers, from[0]), index);
    } else {
        gan_shape shapes[GAN__MAX_INPUTS];
        for (size_t m = 0; m < n_from; m++) shapes[m] = node_shape(in, layers, from[m]);
        rc = l->ops->place_n(l, shapes, n_from, index);
    }
    if (rc && (n_from != 1 || from[0] != index)) {
        char nodes[GAN__MAX_INPUTS * 48];
        describe_nodes(in, layers, from, n_from, nodes, sizeof nodes);
        return gan__wrap(rc, "reading %s", nodes);
    }
    return rc;
}

/* Room for `cap` nodes in a graph's plan. */
static int grow_nodes(gan_net *net, size_t cap)
{
    gan__node *nodes = gan__calloc(cap, sizeof *nodes);
    if (!nodes) return GAN_ENOMEM;
    gan__free(net->nodes);
    net->nodes = nodes;
    return GAN_OK;
}

static int add_layer(gan_net *net, gan_layer *layer, const size_t *from, size_t n_from)
{
    if (layer->in_net)
        return gan__fail(GAN_EINVAL, "the layer is already in %s net (a net owns its layers)",
                         owned_here(net, layer) ? "this" : "another");
    size_t index = net->n_layers;
    int routed = n_from != 1 || from[0] != index, graph = net->graph || routed;
    /* Placing may set an elementwise layer's shape; undo that on failure. */
    gan_shape old_in = layer->in, old_out = layer->out;
    int rc = gan__place(layer, net->in, net->layers, index, from, n_from);
    if (rc) return rc;
    size_t lp = layer->n_params, total = net->n_params + lp, out = gan__shape_size(layer->out);
    size_t width = net->act_width + out;
    if (total < lp || total > SIZE_MAX / sizeof(float) / 2 || width < out) {
        rc = gan__fail(GAN_EINVAL, "the net's size overflows");
        goto undo;
    }
    if (net->n_layers == net->cap_layers || (graph && !net->nodes)) {
        size_t cap = net->n_layers == net->cap_layers ? (net->cap_layers ? 2 * net->cap_layers : 8) : net->cap_layers;
        gan_layer **layers = gan__calloc(cap, sizeof *layers);
        if (!layers || (graph && grow_nodes(net, cap + 1))) {
            gan__free(layers);
            rc = gan__fail(GAN_ENOMEM, "out of memory");
            goto undo;
        }
        if (net->n_layers) memcpy(layers, net->layers, net->n_layers * sizeof *layers);
        gan__free(net->layers);
        net->layers = layers;
        net->cap_layers = cap;
    }
    float **pg[2] = {&net->params, &net->grads}, **st[1] = {&net->state};
    size_t states = net->n_state + layer->n_state;
    if ((rc = grow_buffers(pg, 2, net->n_params, &net->cap_params, total)) ||
        (rc = grow_buffers(st, 1, net->n_state, &net->cap_state, states)) || (rc = gan__layer_attach(layer)))
        goto undo;
    net->n_params = total;
    net->n_state = states;
    net->layers[net->n_layers++] = layer;
    layer->in_net = 1;
    memmove(layer->from, from, n_from * sizeof *from);
    layer->n_from = n_from;
    layer->routed = routed;
    net->graph = graph;
    net->out = layer->out;
    net->layout++;
    net->initialised = 0; /* the new layer's parameters are zeros */
    size_workspaces(net);
    bind_all(net);
    drop_workspaces(net); /* shapes changed: resized on the next forward */
    return GAN_OK;
undo:
    layer->in = old_in;
    layer->out = old_out;
    if (net->graph) {
        plan_graph(net); /* grow_nodes may have replaced the plan */
    } else {
        gan__free(net->nodes); /* still a chain */
        net->nodes = NULL;
    }
    return rc;
}

int gan_net_add(gan_net *net, gan_layer *layer)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(layer);
    size_t last = net->n_layers;
    int rc = add_layer(net, layer, &last, 1);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

int gan_net_add_from(gan_net *net, gan_layer *layer, const size_t *from, size_t n_from)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(layer);
    GAN_CHECK_ARG(from);
    if (n_from == 0 || n_from > GAN__MAX_INPUTS)
        return gan__fail(GAN_EINVAL, "%s: n_from must be in [1, %d], got %zu", __func__, GAN__MAX_INPUTS, n_from);
    int rc = add_layer(net, layer, from, n_from);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

int gan_net_node_shape(const gan_net *net, size_t node, size_t *channels, size_t *height, size_t *width)
{
    GAN_CHECK_ARG(net);
    if (node > net->n_layers)
        return gan__fail(GAN_EINVAL, "%s: node %zu of a net with nodes 0 to %zu", __func__, node, net->n_layers);
    return get_shape(node_shape(net->in, net->layers, node), channels, height, width);
}

int gan_net_layer_inputs(const gan_net *net, size_t index, size_t *from, size_t cap, size_t *n_from)
{
    GAN_CHECK_ARG(net);
    if (index >= net->n_layers)
        return gan__fail(GAN_EINVAL, "%s: layer %zu of a net with %zu layers", __func__, index, net->n_layers);
    const gan_layer *l = net->layers[index];
    if (n_from) *n_from = l->n_from;
    if (cap < l->n_from)
        return gan__fail(GAN_EINVAL, "%s: layer %zu reads %zu nodes, room for %zu", __func__, index, l->n_from, cap);
    if (l->n_from) memcpy(from, l->from, l->n_from * sizeof *from);
    return GAN_OK;
}

size_t gan_net_in_dim(const gan_net *net) { return net ? gan__shape_size(net->in) : 0; }
size_t gan_net_out_dim(const gan_net *net) { return net ? gan__shape_size(net->out) : 0; }
size_t gan_net_num_params(const gan_net *net) { return net ? net->n_params : 0; }
size_t gan_net_num_layers(const gan_net *net) { return net ? net->n_layers : 0; }
size_t gan_net_num_state(const gan_net *net) { return net ? net->n_state : 0; }
float *gan_net_state(gan_net *net) { return net ? net->state : NULL; }

int gan__net_couples_rows(const gan_net *net)
{
    for (size_t i = 0; i < net->n_layers; i++)
        if (net->layers[i]->ops->couples_rows) return 1;
    return 0;
}

int gan_net_in_shape(const gan_net *net, size_t *channels, size_t *height, size_t *width)
{
    GAN_CHECK_ARG(net);
    return get_shape(net->in, channels, height, width);
}

int gan_net_out_shape(const gan_net *net, size_t *channels, size_t *height, size_t *width)
{
    GAN_CHECK_ARG(net);
    return get_shape(net->out, channels, height, width);
}

void gan__net_describe_layer(const gan_net *net, size_t i, char *buf, size_t cap)
{
    if (i < net->n_layers) gan__layer_describe(net->layers[i], buf, cap);
    else snprintf(buf, cap, "nothing");
}

const gan_layer *gan_net_layer(const gan_net *net, size_t index)
{
    return net && index < net->n_layers ? net->layers[index] : NULL;
}

int gan_net_layer_params(const gan_net *net, size_t index, size_t *offset, size_t *count)
{
    GAN_CHECK_ARG(net);
    if (index >= net->n_layers)
        return gan__fail(GAN_EINVAL, "%s: layer %zu of a net with %zu layers", __func__, index,
                         net->n_layers);
    size_t off = 0;
    for (size_t i = 0; i < index; i++) off += gan_layer_num_params(net->layers[i]);
    if (offset) *offset = off;
    if (count) *count = gan_layer_num_params(net->layers[index]);
    return GAN_OK;
}

int gan_net_init(gan_net *net, gan_rng *rng, gan_init scheme, float scale)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(rng);
    if (scheme < GAN_INIT_UNIFORM || scheme > GAN_INIT_DCGAN)
        return gan__fail(GAN_EINVAL, "%s: unknown init scheme %d", __func__, (int)scheme);
    if (!(scale >= 0.0f && scale <= 1e30f))
        return gan__fail(GAN_EINVAL, "%s: scale must be finite and >= 0, got %g", __func__, scale);
    for (size_t i = 0; i < net->n_layers; i++)
        gan__layer_init(net->layers[i], rng, scheme, scale);
    gan__net_weights_set(net);
    return GAN_OK;
}

int gan_net_set_rng(gan_net *net, gan_rng *rng)
{
    GAN_CHECK_ARG(net);
    net->rng = rng;
    return GAN_OK;
}

/* Size every workspace for `batch` rows; on failure the net keeps its old ones. */
static int reserve(gan_net *n, size_t batch)
{
    if (batch <= n->batch_cap) return GAN_OK;
    size_t acts_n, grad_n, scratch_n;
    if (gan__size_mul(batch, n->act_width, &acts_n) || gan__size_mul(batch, n->max_dim, &grad_n) ||
        gan__size_mul(grad_n, n->grad_bufs, &grad_n) || acts_n > SIZE_MAX / sizeof(float) ||
        gan__size_mul(batch, n->scratch_width, &scratch_n))
        return gan__fail(GAN_EINVAL, "a batch of %zu overflows the workspace size", batch);
    int rc = GAN_OK;
    for (size_t i = 0; i < n->n_layers && !rc; i++) {
        gan_layer *l = n->layers[i];
        if (l->ops->reserve) rc = l->ops->reserve(l, batch);
        if (!rc && l->scratch_need > scratch_n) scratch_n = l->scratch_need; /* one buffer for all */
    }
    if (!rc && (scratch_n > SIZE_MAX / sizeof(float) || grad_n > SIZE_MAX / sizeof(float) - scratch_n))
        rc = gan__fail(GAN_EINVAL, "a batch of %zu overflows the workspace size", batch);
    /* Every buffer gets at least one float, so that NULL means a failure. The block for
     * grad_buf and scratch grows here too, so that a failure changes nothing. */
    gan__arena *block = n->lent ? n->lent : &n->own;
    size_t transient_n = grad_n + scratch_n ? grad_n + scratch_n : 1;
    float *acts = rc ? NULL : gan__malloc((acts_n ? acts_n : 1) * sizeof(float));
    float *transient = acts && block->cap < transient_n ? gan__malloc(transient_n * sizeof(float)) : NULL;
    if (!acts || (block->cap < transient_n && !transient)) {
        gan__free(acts);
        for (size_t i = 0; i < n->n_layers; i++) {
            gan__free(n->layers[i]->work_next);
            n->layers[i]->work_next = NULL;
        }
        return rc ? rc : gan__fail(GAN_ENOMEM, "out of memory for a batch of %zu", batch);
    }
    for (size_t i = 0; i < n->n_layers; i++) {
        gan_layer *l = n->layers[i];
        if (!l->work_next) continue;
        gan__free(l->work);
        l->work = l->work_next;
        l->work_next = NULL;
    }
    if (transient) {
        gan__free(block->buf);
        *block = (gan__arena){transient, transient_n};
    }
    gan__free(n->acts);
    n->acts = acts;
    n->batch_cap = batch;
    n->batch = 0;
    n->grad_n = grad_n;
    n->transient_n = transient_n;
    return GAN_OK;
}

/* Point grad_buf and the layers' scratch into the block in use (the trainer's, or the
 * net's own), grown first if it is too small for this net. */
static int use_transient(gan_net *n)
{
    gan__arena *a = n->lent ? n->lent : &n->own;
    if (a->cap < n->transient_n) {
        float *buf = gan__malloc(n->transient_n * sizeof(float));
        if (!buf) return gan__fail(GAN_ENOMEM, "out of memory for a batch of %zu", n->batch_cap);
        gan__free(a->buf);
        *a = (gan__arena){buf, n->transient_n};
    }
    n->grad_buf = a->buf;
    n->scratch = a->buf + n->grad_n;
    for (size_t i = 0; i < n->n_layers; i++) {
        gan_layer *l = n->layers[i];
        l->scratch = l->scratch_width || l->scratch_need ? n->scratch : NULL;
    }
    return GAN_OK;
}

void gan__net_lend(gan_net *net, gan__arena *arena) { net->lent = arena; }

/* The chain's forward (see the top of the file); returns the last output. */
static const float *forward_chain(gan_net *net, const float *x, size_t batch, int train, size_t depth)
{
    const float *in = x;
    float *slot = net->acts; /* the next free activation */
    if (depth && copies_input(net)) {
        size_t width = gan__shape_size(net->in);
        memcpy(slot, x, batch * width * sizeof *x);
        in = slot;
        slot += batch * width;
    }
    for (size_t i = 0; i < depth; i++) {
        gan_layer *l = net->layers[i];
        float *out = (float *)in; /* in place: in is one of the net's buffers */
        if (!in_place(net, i)) {
            out = slot;
            slot += batch * gan__shape_size(l->out);
        }
        l->fwd_x = in;
        l->fwd_y = out;
        l->rows = net->rows;
        gan__layer_forward(l, in, batch, out, train, net->rng);
        in = out;
    }
    return in;
}

/* A graph's forward: each node's value where the plan puts it. */
static const float *forward_graph(gan_net *net, const float *x, size_t batch, int train, size_t depth)
{
    gan__node *nd = net->nodes;
    nd[0].value = x;
    if (net->graph_copies_input) {
        memcpy(net->acts, x, batch * gan__shape_size(net->in) * sizeof *x);
        nd[0].value = net->acts;
    }
    for (size_t i = 0; i < depth; i++) {
        gan_layer *l = net->layers[i];
        float *out = net->acts + batch * nd[i + 1].act;
        nd[i + 1].value = out;
        l->fwd_y = out;
        l->rows = net->rows;
        if (l->n_in == 1) {
            l->fwd_x = nd[l->from[0]].value;
            gan__layer_forward(l, l->fwd_x, batch, out, train, net->rng);
        } else {
            for (size_t m = 0; m < l->n_from; m++) l->fwd_xs[m] = nd[l->from[m]].value;
            l->ops->forward_n(l, l->fwd_xs, batch, out, train, net->rng);
        }
    }
    return nd[depth].value;
}

int gan__net_forward_depth(gan_net *net, const float *x, size_t batch, float *y, int train, size_t depth)
{
    if (batch == 0 || batch > INT_MAX)
        return gan__fail(GAN_EINVAL, "batch must be in [1, %d], got %zu", INT_MAX, batch);
    if (gan__draws(train) && !net->rng)
        for (size_t i = 0; i < depth; i++)
            if (net->layers[i]->needs_rng)
                return gan__fail(GAN_ESTATE, "%s layer %zu needs an rng in training mode (gan_net_set_rng)",
                                 net->layers[i]->ops->name, i);
    if (train == GAN__TRAIN || train == GAN__HOLD || train == GAN__REPLAY)
        for (size_t i = 0; i < depth; i++) {
            gan_layer *l = net->layers[i];
            int rc = l->ops->check_batch ? l->ops->check_batch(l, batch) : GAN_OK;
            if (rc) return gan__wrap(rc, "%s layer %zu", l->ops->name, i);
        }
    int rc = reserve(net, batch);
    if (!rc) rc = use_transient(net);
    if (rc) return rc;
    const float *out = net->graph ? forward_graph(net, x, batch, train, depth)
                                  : forward_chain(net, x, batch, train, depth);
    gan_shape shape = node_shape(net->in, net->layers, depth);
    memmove(y, out, batch * gan__shape_size(shape) * sizeof *y);
    net->batch = batch;
    net->depth = depth;
    return GAN_OK;
}

int gan_net_forward(gan_net *net, const float *x, size_t batch, float *y, int train)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(x);
    GAN_CHECK_ARG(y);
    int rc = gan__net_forward_depth(net, x, batch, y, train ? GAN__TRAIN : GAN__EVAL, net->n_layers);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

int gan_net_forward_to(gan_net *net, const float *x, size_t batch, size_t depth, float *y)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(x);
    GAN_CHECK_ARG(y);
    if (depth > net->n_layers)
        return gan__fail(GAN_EINVAL, "%s: depth %zu exceeds the net's %zu layers", __func__, depth, net->n_layers);
    int rc = gan__net_forward_depth(net, x, batch, y, GAN__EVAL, depth);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

int gan_net_backward(gan_net *net, const float *dy, float *dx)
{
    GAN_CHECK_ARG(net);
    GAN_CHECK_ARG(dy);
    int rc = gan__net_backward_ex(net, dy, dx, GAN__GRADS_ADD);
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

/* The chain's backward (see the top of the file). */
static void backward_chain(gan_net *net, const float *dy, float *dx, int grads)
{
    size_t batch = net->batch, depth = net->depth;
    /* Layers run down to `low`: to layer 0 when dx is wanted, else to the first layer with
     * parameter gradients to compute. Each passes an input gradient down only when a
     * layer below runs; gradients alternate between two halves. */
    size_t low = depth;
    if (dx) low = 0;
    else if (grads != GAN__GRADS_NONE)
        for (size_t i = 0; i < depth && low == depth; i++)
            if (net->layers[i]->n_params) low = i;
    float *h0 = net->grad_buf, *h1 = net->grad_buf + net->batch_cap * net->max_dim;
    size_t lead = leading_elementwise(net);
    const float *g = dy;
    for (size_t i = depth; i-- > low;) {
        gan_layer *l = net->layers[i];
        float *gx;
        if (i == 0 || (dx && i <= lead)) gx = dx;  /* only elementwise layers below: straight to dx */
        else if (i == low) gx = NULL;              /* nothing below needs it */
        else if (l->ops->elementwise && g != dy) gx = (float *)g; /* in place: g is ours or dx */
        else gx = g == h0 ? h1 : h0;
        gan__layer_backward(l, g, batch, gx, grads);
        g = gx;
    }
}

/* A graph's backward: a layer runs when its output has a gradient (written by a reader,
 * or dy) and something wants one from it: its own parameters' gradients, or a node below
 * that leads to parameters or to dx. Layers that do not run leave their gradients as
 * they are, or zero them when `grads` overwrites. */
static void backward_graph(gan_net *net, const float *dy, float *dx, int grads)
{
    size_t batch = net->batch, depth = net->depth, stride = net->batch_cap * net->max_dim;
    gan__node *nd = net->nodes;
    nd[0].need = dx != NULL;
    nd[0].written = 0;
    for (size_t k = 1; k <= depth; k++) {
        const gan_layer *l = net->layers[k - 1];
        unsigned char need = grads != GAN__GRADS_NONE && l->n_params;
        for (size_t m = 0; m < l->n_from; m++) need |= nd[l->from[m]].need;
        nd[k].need = need;
        nd[k].written = 0;
    }
    float *sums = net->grad_buf + net->grad_slots * stride;
    for (size_t i = depth; i-- > 0;) {
        gan_layer *l = net->layers[i];
        size_t k = i + 1;
        if (!nd[k].need || (k < depth && !nd[k].written)) {
            if (grads == GAN__GRADS_SET && l->n_params) memset(l->grads, 0, l->n_params * sizeof *l->grads);
            continue;
        }
        const float *g = k == depth ? dy : net->grad_buf + nd[k].slot * stride;
        float *dxs[GAN__MAX_INPUTS], *into[GAN__MAX_INPUTS]; /* into: where a sum goes */
        size_t n_sums = 0;
        for (size_t m = 0; m < l->n_from; m++) {
            gan__node *src = &nd[l->from[m]];
            float *own = l->from[m] ? net->grad_buf + src->slot * stride : dx;
            into[m] = NULL;
            if (!src->need) {
                dxs[m] = NULL;
            } else if (src->written) {
                dxs[m] = sums + n_sums++ * stride;
                into[m] = own;
            } else {
                dxs[m] = own;
                src->written = 1;
            }
        }
        if (l->n_in == 1) gan__layer_backward(l, g, batch, dxs[0], grads);
        else l->ops->backward_n(l, l->fwd_xs, l->fwd_y, g, batch, dxs, grads);
        for (size_t m = 0; m < l->n_from; m++)
            if (into[m]) {
                size_t n = batch * gan__shape_size(node_shape(net->in, net->layers, l->from[m]));
                for (size_t e = 0; e < n; e++) into[m][e] += dxs[m][e];
            }
    }
    if (dx && !nd[0].written) memset(dx, 0, batch * gan__shape_size(net->in) * sizeof *dx);
}

int gan__net_backward_ex(gan_net *net, const float *dy, float *dx, int grads)
{
    size_t batch = net->batch;
    if (batch == 0) return gan__fail(GAN_ESTATE, "no forward pass to differentiate");
    int rc = use_transient(net); /* a net sharing the block may have moved it */
    if (rc) return rc;
    if (net->depth == 0) {
        if (dx) memcpy(dx, dy, batch * gan__shape_size(net->in) * sizeof *dx);
    } else if (net->graph) {
        backward_graph(net, dy, dx, grads);
    } else {
        backward_chain(net, dy, dx, grads);
    }
    return GAN_OK;
}

void gan__net_hold(gan_net *net)
{
    int changed = 0;
    for (size_t i = 0; i < net->n_layers; i++) {
        changed |= !net->layers[i]->holds;
        net->layers[i]->holds = 1;
    }
    if (changed) drop_workspaces(net); /* the next forward reserves room for the choices */
}

void gan__net_swap_params(gan_net *net, float **other)
{
    float *mine = net->params;
    net->params = *other;
    *other = mine;
    bind_all(net);
}

void gan__net_weights_set(gan_net *net)
{
    net->weights_set++;
    net->initialised = 1;
}

/* Whoever holds the pointer may write weights: the net counts as initialised from here. */
float *gan_net_params(gan_net *net)
{
    if (!net) return NULL;
    net->initialised = 1;
    return net->params;
}
float *gan_net_grads(gan_net *net) { return net ? net->grads : NULL; }

int gan_net_zero_grads(gan_net *net)
{
    GAN_CHECK_ARG(net);
    if (net->n_params) memset(net->grads, 0, net->n_params * sizeof *net->grads);
    return GAN_OK;
}
