/* Nets: a stack of layers over one flat parameter buffer and one gradient buffer. */
#include "net_impl.h"
#include "layer_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"

#include <limits.h>
#include <string.h>

int gan_net_create(gan_net **out, size_t in_dim)
{
    GAN_CHECK_ARG(out, "gan_net_create");
    *out = NULL;
    if (in_dim == 0 || in_dim > INT_MAX)
        return gan__fail(GAN_EINVAL, "gan_net_create: in_dim must be in [1, %d], got %zu", INT_MAX, in_dim);
    gan_net *n = gan__calloc(1, sizeof *n);
    if (!n) return gan__fail(GAN_ENOMEM, "gan_net_create: out of memory");
    n->in_dim = n->out_dim = n->max_dim = n->act_width = in_dim;
    *out = n;
    return GAN_OK;
}

static void drop_workspaces(gan_net *n)
{
    gan__free(n->acts);
    gan__free(n->grad_buf);
    n->acts = n->grad_buf = NULL;
    n->batch_cap = n->batch = 0;
}

void gan_net_free(gan_net *net)
{
    if (!net) return;
    for (size_t i = 0; i < net->n_layers; i++) gan_layer_free(net->layers[i]);
    gan__free(net->layers);
    gan__free(net->params);
    gan__free(net->grads);
    drop_workspaces(net);
    gan__free(net);
}

static void bind_all(gan_net *n)
{
    size_t off = 0;
    for (size_t i = 0; i < n->n_layers; i++) {
        gan_layer *l = n->layers[i];
        if (n->params) gan__layer_bind(l, n->params + off, n->grads + off);
        off += gan_layer_num_params(l);
    }
}

int gan_net_add(gan_net *net, gan_layer *layer)
{
    GAN_CHECK_ARG(net, "gan_net_add");
    GAN_CHECK_ARG(layer, "gan_net_add");
    for (size_t i = 0; i < net->n_layers; i++)
        if (net->layers[i] == layer) return gan__fail(GAN_EINVAL, "gan_net_add: the layer is already in this net");
    /* Placing may set an elementwise layer's width; undo that on failure. */
    size_t old_in = layer->in_dim, old_out = layer->out_dim;
    int rc = layer->ops->place(layer, net->out_dim, net->n_layers);
    if (rc) return rc;
    size_t lp = gan_layer_num_params(layer), total = net->n_params + lp;
    size_t width = net->act_width + layer->out_dim;
    if (total < lp || total > SIZE_MAX / sizeof(float) / 2 || width < layer->out_dim) {
        rc = gan__fail(GAN_EINVAL, "gan_net_add: the net's size overflows");
        goto undo;
    }
    if (net->n_layers == net->cap_layers) {
        size_t cap = net->cap_layers ? 2 * net->cap_layers : 8;
        gan_layer **layers = gan__calloc(cap, sizeof *layers);
        if (!layers) goto oom;
        if (net->n_layers) memcpy(layers, net->layers, net->n_layers * sizeof *layers);
        gan__free(net->layers);
        net->layers = layers;
        net->cap_layers = cap;
    }
    if (lp) {
        float *params = gan__calloc(total, sizeof *params);
        float *grads = params ? gan__calloc(total, sizeof *grads) : NULL;
        if (!grads) {
            gan__free(params);
            goto oom;
        }
        if (net->n_params) {
            memcpy(params, net->params, net->n_params * sizeof *params);
            memcpy(grads, net->grads, net->n_params * sizeof *grads);
        }
        gan__free(net->params);
        gan__free(net->grads);
        net->params = params;
        net->grads = grads;
        net->n_params = total;
    }
    net->layers[net->n_layers++] = layer;
    net->out_dim = layer->out_dim;
    if (layer->out_dim > net->max_dim) net->max_dim = layer->out_dim;
    net->act_width = width;
    bind_all(net);
    drop_workspaces(net); /* shapes changed: resized on the next forward */
    return GAN_OK;
oom:
    rc = gan__fail(GAN_ENOMEM, "gan_net_add: out of memory");
undo:
    layer->in_dim = old_in;
    layer->out_dim = old_out;
    return rc;
}

size_t gan_net_in_dim(const gan_net *net) { return net ? net->in_dim : 0; }
size_t gan_net_out_dim(const gan_net *net) { return net ? net->out_dim : 0; }
size_t gan_net_num_params(const gan_net *net) { return net ? net->n_params : 0; }
size_t gan_net_num_layers(const gan_net *net) { return net ? net->n_layers : 0; }

const gan_layer *gan_net_layer(const gan_net *net, size_t index)
{
    return net && index < net->n_layers ? net->layers[index] : NULL;
}

int gan_net_layer_params(const gan_net *net, size_t index, size_t *offset, size_t *count)
{
    GAN_CHECK_ARG(net, "gan_net_layer_params");
    if (index >= net->n_layers)
        return gan__fail(GAN_EINVAL, "gan_net_layer_params: layer %zu of a net with %zu layers", index,
                         net->n_layers);
    size_t off = 0;
    for (size_t i = 0; i < index; i++) off += gan_layer_num_params(net->layers[i]);
    if (offset) *offset = off;
    if (count) *count = gan_layer_num_params(net->layers[index]);
    return GAN_OK;
}

int gan_net_init(gan_net *net, gan_rng *rng, gan_init scheme, float scale)
{
    GAN_CHECK_ARG(net, "gan_net_init");
    GAN_CHECK_ARG(rng, "gan_net_init");
    if (scheme < GAN_INIT_UNIFORM || scheme > GAN_INIT_HE)
        return gan__fail(GAN_EINVAL, "gan_net_init: unknown init scheme %d", (int)scheme);
    if (!(scale >= 0.0f && scale <= 1e30f))
        return gan__fail(GAN_EINVAL, "gan_net_init: scale must be finite and >= 0, got %g", scale);
    for (size_t i = 0; i < net->n_layers; i++) net->layers[i]->ops->init(net->layers[i], rng, scheme, scale);
    return GAN_OK;
}

int gan_net_set_rng(gan_net *net, gan_rng *rng)
{
    GAN_CHECK_ARG(net, "gan_net_set_rng");
    net->rng = rng;
    return GAN_OK;
}

/* Size every workspace for `batch` rows; on failure the net keeps its old ones. */
static int reserve(gan_net *n, size_t batch)
{
    if (batch <= n->batch_cap) return GAN_OK;
    size_t acts_n, grad_n;
    if (gan__size_mul(batch, n->act_width, &acts_n) || gan__size_mul(batch, n->max_dim, &grad_n) ||
        gan__size_mul(grad_n, 2 * sizeof(float), &grad_n) || acts_n > SIZE_MAX / sizeof(float))
        return gan__fail(GAN_EINVAL, "gan_net_forward: a batch of %zu overflows the workspace size", batch);
    for (size_t i = 0; i < n->n_layers; i++) {
        int rc = n->layers[i]->ops->reserve(n->layers[i], batch);
        if (rc) return rc;
    }
    float *acts = gan__malloc(acts_n * sizeof(float));
    float *grad_buf = acts ? gan__malloc(grad_n) : NULL;
    if (!grad_buf) {
        gan__free(acts);
        return gan__fail(GAN_ENOMEM, "gan_net_forward: out of memory for a batch of %zu", batch);
    }
    drop_workspaces(n);
    n->acts = acts;
    n->grad_buf = grad_buf;
    n->batch_cap = batch;
    return GAN_OK;
}

int gan__net_forward_depth(gan_net *net, const float *x, size_t batch, float *y, int train, size_t depth)
{
    GAN_CHECK_ARG(net, "gan_net_forward");
    GAN_CHECK_ARG(x, "gan_net_forward");
    GAN_CHECK_ARG(y, "gan_net_forward");
    if (batch == 0 || batch > INT_MAX)
        return gan__fail(GAN_EINVAL, "gan_net_forward: batch must be in [1, %d], got %zu", INT_MAX, batch);
    if (train && !net->rng)
        for (size_t i = 0; i < depth; i++)
            if (net->layers[i]->ops->kind == GAN_LAYER_DROPOUT && net->layers[i]->keep_prob < 1.0f)
                return gan__fail(GAN_ESTATE, "gan_net_forward: dropout layer %zu needs an rng in training mode "
                                             "(gan_net_set_rng)", i);
    int rc = reserve(net, batch);
    if (rc) return rc;
    float *in = net->acts;
    size_t width = net->in_dim;
    memcpy(in, x, batch * width * sizeof *x);
    for (size_t i = 0; i < depth; i++) {
        gan_layer *l = net->layers[i];
        float *out = in + batch * l->in_dim;
        l->ops->forward(l, in, batch, out, train, net->rng);
        in = out;
        width = l->out_dim;
    }
    memcpy(y, in, batch * width * sizeof *y);
    net->batch = batch;
    net->depth = depth;
    return GAN_OK;
}

int gan_net_forward(gan_net *net, const float *x, size_t batch, float *y, int train)
{
    return gan__net_forward_depth(net, x, batch, y, train, net ? net->n_layers : 0);
}

int gan_net_backward(gan_net *net, const float *dy, float *dx)
{
    return gan__net_backward_ex(net, dy, dx, GAN__GRADS_ADD);
}

int gan__net_backward_ex(gan_net *net, const float *dy, float *dx, int grads)
{
    GAN_CHECK_ARG(net, "gan_net_backward");
    GAN_CHECK_ARG(dy, "gan_net_backward");
    size_t batch = net->batch, depth = net->depth;
    if (batch == 0) return gan__fail(GAN_ESTATE, "gan_net_backward: no forward pass to differentiate");
    if (depth == 0) {
        if (dx) memcpy(dx, dy, batch * net->in_dim * sizeof *dx);
        return GAN_OK;
    }
    /* Walk the activations from the last one computed; gradients alternate between two halves. */
    float *halves[2] = {net->grad_buf, net->grad_buf + net->batch_cap * net->max_dim};
    float *out = net->acts + batch * net->in_dim;
    for (size_t i = 0; i < depth; i++) out += batch * net->layers[i]->out_dim;
    const float *g = dy;
    for (size_t i = depth; i-- > 0;) {
        gan_layer *l = net->layers[i];
        float *y = out - batch * l->out_dim, *x = y - batch * l->in_dim;
        float *gx = i == 0 ? dx : halves[i & 1];
        l->ops->backward(l, x, y, g, batch, gx, grads);
        g = gx;
        out = y;
    }
    return GAN_OK;
}

void gan__net_swap_params(gan_net *net, float **other)
{
    float *mine = net->params;
    net->params = *other;
    *other = mine;
    bind_all(net);
}

float *gan_net_params(gan_net *net) { return net ? net->params : NULL; }
float *gan_net_grads(gan_net *net) { return net ? net->grads : NULL; }

int gan_net_zero_grads(gan_net *net)
{
    GAN_CHECK_ARG(net, "gan_net_zero_grads");
    if (net->n_params) memset(net->grads, 0, net->n_params * sizeof *net->grads);
    return GAN_OK;
}
