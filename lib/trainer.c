/* The minimax trainer: Algorithm 1 of Goodfellow et al. (2014) and its common variants.
 * D sees real and generated rows in one batch of 2B (one gemm per layer instead of two). */
#include "alloc_impl.h"
#include "comm_impl.h"
#include "error_impl.h"
#include "kernels_impl.h"
#include "layer_impl.h"
#include "loss_impl.h"
#include "net_impl.h"
#include "optim_impl.h"
#include "penalty_impl.h"
#include "rng_impl.h"
#include "trainer_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ noise */

static int noise_builtin(void *payload, gan_rng *rng, float *z, size_t batch, size_t dim)
{
    const gan_trainer *t = payload;
    if (t->noise_kind == NOISE_NORMAL) return gan_rng_fill_normal(rng, z, batch * dim, 0.0f, t->noise_scale);
    return gan_rng_fill_uniform(rng, z, batch * dim, -t->noise_scale, t->noise_scale);
}

/* ---------------------------------------------------- create / free */

static size_t data_dim(const gan_trainer *t) { return gan_net_out_dim(t->g); }
static size_t d_in_dim(const gan_trainer *t) { return gan_net_in_dim(t->d); }

/* D's depth up to its logit: a final sigmoid is left to the loss (the node it reads, which
 * in a graph need not be the one before it). */
static size_t logit_depth(const gan_net *d)
{
    size_t n = d->n_layers;
    return n && gan__layer_is_sigmoid(d->layers[n - 1]) ? d->layers[n - 1]->from[0] : n;
}

int gan_trainer_create(gan_trainer **out, gan_net *g, gan_net *d, gan_optim *opt_g, gan_optim *opt_d)
{
    GAN_CHECK_ARG(out);
    *out = NULL;
    GAN_CHECK_ARG(g);
    GAN_CHECK_ARG(d);
    GAN_CHECK_ARG(opt_g);
    GAN_CHECK_ARG(opt_d);
    if (g == d || opt_g == opt_d)
        return gan__fail(GAN_EINVAL, "%s: G and D need distinct nets and distinct optimizers", __func__);
    if (gan_net_out_dim(d) != 1)
        return gan__fail(GAN_EINVAL, "%s: D must have 1 output (a logit or probability), it has %zu", __func__,
                         gan_net_out_dim(d));
    if (gan_net_in_dim(d) < gan_net_out_dim(g))
        return gan__fail(GAN_EINVAL, "%s: D takes %zu inputs, fewer than G's %zu outputs", __func__,
                         gan_net_in_dim(d), gan_net_out_dim(g));
    if (!gan_net_num_params(g) || !gan_net_num_params(d))
        return gan__fail(GAN_EINVAL, "%s: G and D need parameters to train", __func__);
    gan_trainer *t = gan__calloc(1, sizeof *t);
    if (!t) return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
    for (int i = 0; i < 4; i++) {
        if (gan_rng_create(&t->rng[i], 0) != GAN_OK) {
            gan_trainer_free(t);
            return gan__fail(GAN_ENOMEM, "%s: out of memory", __func__);
        }
    }
    t->g = g;
    t->d = d;
    t->opt_g = opt_g;
    t->opt_d = opt_d;
    t->g_seen = (net_seen){g->layout, g->n_layers, g->n_params};
    t->d_seen = (net_seen){d->layout, d->n_layers, d->n_params};
    t->noise_fn = noise_builtin;
    t->noise_payload = t;
    t->noise_kind = NOISE_UNIFORM;
    t->noise_scale = 1.0f;
    t->batch = 100;
    t->d_steps = t->g_steps = 1;
    t->update = GAN_UPDATE_ALTERNATING;
    t->loss = GAN_LOSS_NON_SATURATING;
    t->real_target = 1.0f;
    t->clip = 0.01f;
    t->penalty_interval = 1;
    gan_trainer_set_seed(t, 0);
    t->comm = (gan_comm){.size = sizeof(gan_comm), .ranks = 1};
    gan_net_set_rng(g, t->rng[GAN_STREAM_DROPOUT]);
    gan_net_set_rng(d, t->rng[GAN_STREAM_DROPOUT]);
    *out = t;
    return GAN_OK;
}

void gan_trainer_free(gan_trainer *t)
{
    if (!t) return;
    gan_rng *dropout = t->rng[GAN_STREAM_DROPOUT];
    if (t->g && t->g->rng == dropout) t->g->rng = NULL;
    if (t->d && t->d->rng == dropout) t->d->rng = NULL;
    for (int i = 0; i < 4; i++) gan_rng_free(t->rng[i]);
    gan__free(t->ema);
    gan__free(t->block);
    gan__free(t->snap_d.params);
    gan__optim_mark_free(&t->snap_d.opt);
    gan__free(t->snap_g.params);
    gan__optim_mark_free(&t->snap_g.opt);
    gan__free(t->snap_ema);
    gan__free(t->snap_state);
    gan__free(t->d_next);
    gan__free(t->arena.buf);
    gan__free(t);
}

/* ---------------------------------------------------------- setters */

int gan_trainer_set_data(gan_trainer *t, gan_data_fn fn, void *payload)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(fn);
    t->data_fn = fn;
    t->data_payload = payload;
    return GAN_OK;
}

int gan_trainer_set_noise(gan_trainer *t, gan_noise_fn fn, void *payload)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(fn);
    t->noise_fn = fn;
    t->noise_payload = payload;
    t->noise_kind = NOISE_CUSTOM;
    return GAN_OK;
}

/* ------------------------------------------------------------ bounds */

int gan__check_batch(uint64_t batch)
{
    /* D sees 2 x batch rows; keep that within BLAS's int. */
    if (batch == 0 || batch > (uint64_t)1 << 28)
        return gan__fail(GAN_EINVAL, "the batch size must be in [1, 2^28], got %llu", (unsigned long long)batch);
    return GAN_OK;
}

int gan__check_update_count(uint64_t count, const char *what)
{
    if (count == 0 || count > UINT32_MAX)
        return gan__fail(GAN_EINVAL, "%s must be at least 1 and below 2^32, got %llu", what, (unsigned long long)count);
    return GAN_OK;
}

int gan__check_update_mode(uint64_t mode)
{
    if (mode != GAN_UPDATE_ALTERNATING && mode != GAN_UPDATE_SIMULTANEOUS && mode != GAN_UPDATE_REUSE_FAKES)
        return gan__fail(GAN_EINVAL, "unknown update mode %llu", (unsigned long long)mode);
    return GAN_OK;
}

int gan__check_loss(uint64_t loss)
{
    if (loss < GAN_LOSS_MINIMAX || loss > GAN_LOSS_WASSERSTEIN)
        return gan__fail(GAN_EINVAL, "unknown loss %llu", (unsigned long long)loss);
    return GAN_OK;
}

int gan__check_real_target(float target)
{
    if (!(target > 0.0f && target <= 1.0f))
        return gan__fail(GAN_EINVAL, "the real target must be in (0, 1], got %g", (double)target);
    return GAN_OK;
}

int gan__check_clip(float clip)
{
    if (!(clip > 0.0f && clip <= 1e30f))
        return gan__fail(GAN_EINVAL, "the clip range must be finite and > 0, got %g", (double)clip);
    return GAN_OK;
}

int gan__check_ema_decay(float decay)
{
    if (!(decay >= 0.0f && decay < 1.0f)) return gan__fail(GAN_EINVAL, "the EMA decay must be in [0, 1), got %g", (double)decay);
    return GAN_OK;
}

int gan__check_noise_scale(float scale)
{
    if (!(scale > 0.0f && scale <= 1e30f))
        return gan__fail(GAN_EINVAL, "the noise scale must be finite and > 0, got %g", (double)scale);
    return GAN_OK;
}

int gan__check_generate_stats(uint64_t stats)
{
    if (stats != GAN_STATS_RUNNING && stats != GAN_STATS_BATCH)
        return gan__fail(GAN_EINVAL, "unknown batch-norm statistics %llu", (unsigned long long)stats);
    return GAN_OK;
}

/* A setter's validation failure, named after the setter. */
#define CHECKED(fn, check)                                  \
    do {                                                    \
        int rc_ = (check);                                  \
        if (rc_) return gan__wrap(rc_, "%s", fn);           \
    } while (0)

/* ---------------------------------------------------------- setters */

int gan__check_penalty(uint64_t kind, float weight, uint64_t interval)
{
    if (kind > GAN_PENALTY_R1) return gan__fail(GAN_EINVAL, "unknown gradient penalty %llu", (unsigned long long)kind);
    if (kind != GAN_PENALTY_NONE && !(weight > 0.0f && weight <= 1e30f))
        return gan__fail(GAN_EINVAL, "the penalty's weight must be finite and > 0, got %g", (double)weight);
    if (interval < 1 || interval > 1000000)
        return gan__fail(GAN_EINVAL, "the penalty's interval must be in [1, 1000000], got %llu",
                         (unsigned long long)interval);
    return GAN_OK;
}

#define AUGMENT_ALL (GAN_AUGMENT_COLOR | GAN_AUGMENT_TRANSLATION | GAN_AUGMENT_CUTOUT)

int gan__check_augment(uint64_t policy)
{
    if (policy & ~(uint64_t)AUGMENT_ALL)
        return gan__fail(GAN_EINVAL, "unknown augmentation bits 0x%llx (GAN_AUGMENT_*: 1, 2, 4)",
                         (unsigned long long)(policy & ~(uint64_t)AUGMENT_ALL));
    return GAN_OK;
}

/* The data rows' image shape: D's input shape when D takes images and nothing else, or
 * else G's output shape (a D with condition columns takes flat rows). */
int gan__trainer_augment_shape(const gan_trainer *t, unsigned policy, gan__augment *a)
{
    size_t c, h, w, data = data_dim(t);
    *a = (gan__augment){policy, 0, 0, 0};
    if (!policy) return GAN_OK;
    (void)gan_net_in_shape(t->d, &c, &h, &w);
    if (h * w == 1 || c * h * w != data) (void)gan_net_out_shape(t->g, &c, &h, &w);
    if (h < 2 || w < 2 || c * h * w != data)
        return gan__fail(GAN_EINVAL, "augmentation transforms images, and G's %zu outputs are not one (D's input and "
                         "G's output are flat rows: make D with gan_net_create_image, or end G in an image shape)",
                         data);
    *a = (gan__augment){policy, c, h, w};
    return GAN_OK;
}

/* A penalty is taken per row: a D whose layers couple the rows of a batch cannot have one. */
static int penalty_fits(const gan_trainer *t, int kind, int rc)
{
    if (kind == GAN_PENALTY_NONE) return GAN_OK;
    for (size_t i = 0; i < t->d->n_layers; i++)
        if (t->d->layers[i]->ops->couples_rows)
            return gan__fail(rc, "D's %s layer %zu makes a row's output depend on the rest of the batch, and a "
                             "gradient penalty is taken per row: use no normalisation in D, or spectral norm",
                             t->d->layers[i]->ops->name, i);
    return GAN_OK;
}

static void set_builtin_noise(gan_trainer *t, int kind, float scale)
{
    t->noise_fn = noise_builtin;
    t->noise_payload = t;
    t->noise_kind = kind;
    t->noise_scale = scale;
}

int gan_trainer_set_noise_uniform(gan_trainer *t, float a)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_noise_scale(a));
    set_builtin_noise(t, NOISE_UNIFORM, a);
    return GAN_OK;
}

int gan_trainer_set_noise_normal(gan_trainer *t, float std)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_noise_scale(std));
    set_builtin_noise(t, NOISE_NORMAL, std);
    return GAN_OK;
}

int gan_trainer_set_batch_size(gan_trainer *t, size_t batch)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_batch(batch));
    t->batch = batch;
    return GAN_OK;
}

int gan_trainer_set_d_steps(gan_trainer *t, unsigned k)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_update_count(k, "k (D updates per step)"));
    t->d_steps = k;
    return GAN_OK;
}

int gan_trainer_set_g_steps(gan_trainer *t, unsigned g)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_update_count(g, "the number of G updates per step"));
    t->g_steps = g;
    return GAN_OK;
}

int gan_trainer_set_update(gan_trainer *t, gan_update mode)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_update_mode((uint64_t)mode));
    t->update = mode;
    return GAN_OK;
}

int gan_trainer_set_loss(gan_trainer *t, gan_loss loss)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_loss((uint64_t)loss));
    t->loss = loss;
    return GAN_OK;
}

int gan_trainer_set_seed(gan_trainer *t, uint64_t seed)
{
    GAN_CHECK_ARG(t);
    for (uint64_t i = 0; i < 4; i++) gan_rng_seed(t->rng[i], gan__splitmix64(seed * 4 + i));
    t->steps = 0;
    return GAN_OK;
}

int gan__trainer_check_nets(const gan_trainer *t)
{
    const gan_net *nets[2] = {t->g, t->d};
    const net_seen *seen[2] = {&t->g_seen, &t->d_seen};
    for (int i = 0; i < 2; i++)
        if (nets[i]->layout != seen[i]->layout)
            return gan__fail(GAN_ESTATE, "%s changed after gan_trainer_create (%zu layers and %zu parameters then, %zu "
                             "and %zu now); create a new trainer for it", i ? "D" : "G", seen[i]->n_layers,
                             seen[i]->n_params, nets[i]->n_layers, nets[i]->n_params);
    return GAN_OK;
}

/* D's input must be G's output plus the condition. */
static int check_dims(const gan_trainer *t, size_t c)
{
    int rc = gan__trainer_check_nets(t);
    if (rc) return rc;
    if (d_in_dim(t) != data_dim(t) + c)
        return gan__fail(GAN_EINVAL, "D takes %zu inputs, but G's %zu outputs plus %zu condition values make %zu",
                         d_in_dim(t), data_dim(t), c, data_dim(t) + c);
    if (gan_net_in_dim(t->g) <= c)
        return gan__fail(GAN_EINVAL, "G takes %zu inputs, which leaves no room for noise beside %zu condition values",
                         gan_net_in_dim(t->g), c);
    return GAN_OK;
}

int gan_trainer_set_cond_dim(gan_trainer *t, size_t c)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, check_dims(t, c));
    t->cond_dim = c; /* the workspaces are carved anew for its widths on the next call */
    return GAN_OK;
}

int gan_trainer_set_label_smoothing(gan_trainer *t, float real_target)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_real_target(real_target));
    t->real_target = real_target;
    return GAN_OK;
}

int gan_trainer_set_clip(gan_trainer *t, float c)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_clip(c));
    t->clip = c;
    return GAN_OK;
}

int gan_trainer_set_gradient_penalty(gan_trainer *t, gan_penalty kind, float weight, unsigned interval)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_penalty((uint64_t)kind, weight, interval));
    CHECKED(__func__, penalty_fits(t, (int)kind, GAN_EINVAL));
    t->penalty = (int)kind;
    t->penalty_weight = kind == GAN_PENALTY_NONE ? 0.0f : weight;
    t->penalty_interval = interval;
    return GAN_OK;
}

int gan_trainer_set_augment(gan_trainer *t, unsigned policy)
{
    gan__augment a;
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_augment(policy));
    CHECKED(__func__, gan__trainer_check_nets(t));
    CHECKED(__func__, gan__trainer_augment_shape(t, policy, &a));
    t->augment = a; /* the workspaces are carved anew on the next call */
    return GAN_OK;
}

const float *gan__trainer_ema(const gan_trainer *t)
{
    return t->ema_from == t->g->weights_set ? t->ema : t->g->params;
}

/* Restart the average from G's weights when they were set after it started. */
static void ema_sync(gan_trainer *t)
{
    if (!t->ema || t->ema_from == t->g->weights_set) return;
    memcpy(t->ema, t->g->params, t->g->n_params * sizeof *t->ema);
    t->ema_from = t->g->weights_set;
}

int gan_trainer_set_comm(gan_trainer *t, const gan_comm *comm)
{
    GAN_CHECK_ARG(t);
    if (!comm) {
        t->comm = (gan_comm){.size = sizeof(gan_comm), .ranks = 1};
        return GAN_OK;
    }
    CHECKED(__func__, gan__comm_check(comm));
    memcpy(&t->comm, comm, sizeof t->comm);
    t->comm.size = sizeof t->comm;
    return GAN_OK;
}

int gan_trainer_set_ema(gan_trainer *t, float decay)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_ema_decay(decay));
    CHECKED(__func__, gan__trainer_check_nets(t));
    if (decay > 0.0f && !t->ema) {
        size_t n = gan_net_num_params(t->g);
        if (!(t->ema = gan__calloc(n, sizeof *t->ema)))
            return gan__fail(GAN_ENOMEM, "%s: out of memory for %zu averaged weights", __func__, n);
        memcpy(t->ema, t->g->params, n * sizeof *t->ema); /* the average starts at G's weights */
        t->ema_from = t->g->weights_set;
    }
    if (decay == 0.0f) {
        gan__free(t->ema);
        t->ema = NULL;
    }
    t->ema_decay = decay;
    return GAN_OK;
}

int gan_trainer_set_generate_stats(gan_trainer *t, gan_norm_stats stats)
{
    GAN_CHECK_ARG(t);
    CHECKED(__func__, gan__check_generate_stats((uint64_t)stats));
    t->generate_stats = stats;
    return GAN_OK;
}

gan_rng *gan_trainer_rng(gan_trainer *t, gan_stream which)
{
    return t && which >= GAN_STREAM_INIT && which <= GAN_STREAM_DROPOUT ? t->rng[which] : NULL;
}

size_t gan_trainer_noise_dim(const gan_trainer *t)
{
    return t && gan_net_in_dim(t->g) > t->cond_dim ? gan_net_in_dim(t->g) - t->cond_dim : 0;
}

size_t gan_trainer_data_dim(const gan_trainer *t) { return t ? data_dim(t) : 0; }
size_t gan_trainer_cond_dim(const gan_trainer *t) { return t ? t->cond_dim : 0; }

uint64_t gan_trainer_steps(const gan_trainer *t) { return t ? t->steps : 0; }

/* ------------------------------------------------------- workspaces */

/* Workspaces for `rows` rows through the nets and `fill` rows from the callbacks (the
 * whole batch on every rank, docs/scale.md): the block grows when needed, the carving is
 * redone on every call (it is a few pointer sums). */
static int reserve(gan_trainer *t, size_t rows, size_t fill)
{
    size_t data = data_dim(t), c = t->cond_dim, nz = gan_trainer_noise_dim(t), din = d_in_dim(t);
    /* Without conditions, D's input rows are the data rows and G's input rows the noise
     * rows: x_real, z and x_fake are views into d_in and g_in, and G's gradient is D's
     * input gradient (g_dy unused), so they take no room of their own. The callbacks'
     * rows are views too unless they are more than the nets' (a rank keeps some). An
     * augmentation transforms D's input rows, so the rows it came from keep their own. */
    size_t aug = t->augment.policy != 0;
    size_t own = c || aug ? 1 : 0, own_fill = c || aug || fill != rows ? 1 : 0;
    /* D's input gradient trains G: on the fake half of a simultaneous step's 2B rows
     * (computed for all of them), on B rows of alternating steps. */
    size_t dx_rows = t->update == GAN_UPDATE_SIMULTANEOUS ? 2 : 1;
    /* Per row: g_in, x_fake, g_dy; twice for D: d_in, logits, dlogits; with a penalty its
     * 3 rows of D's width and 2 values. Per filled row: x_all, cond_all, z_all, and
     * WGAN-GP's weight. */
    size_t pen = t->penalty != GAN_PENALTY_NONE;
    size_t per_row = own * (data + data) + (nz + c) + 2 * (din + 2) + dx_rows * din + pen * (3 * din + 2);
    size_t per_fill = own_fill * (data + nz) + c + pen + aug * 2 * GAN__AUGMENT_DRAWS, a, b, total;
    if (gan__size_mul(rows, per_row, &a) || gan__size_mul(fill, per_fill, &b) || a > SIZE_MAX - b ||
        a + b > SIZE_MAX - aug * data)
        return gan__fail(GAN_EINVAL, "%zu rows of workspace overflow", fill);
    total = a + b + aug * data;
    if (total > t->cap) {
        float *block = gan__calloc(total, sizeof *block);
        if (!block) return gan__fail(GAN_ENOMEM, "out of memory for a batch of %zu", rows);
        gan__free(t->block);
        t->block = block;
        t->cap = total;
    }
    float *p = t->block;
#define CARVE(name, width) (t->name = p, p += rows * (width))
#define CARVE_FILL(name, width) (t->name = p, p += fill * (width))
    CARVE_FILL(x_all, own_fill * data);
    CARVE_FILL(cond_all, c);
    CARVE_FILL(z_all, own_fill * nz);
    CARVE_FILL(pen_mix, pen);
    CARVE_FILL(aug_real, aug * GAN__AUGMENT_DRAWS);
    CARVE_FILL(aug_fake, aug * GAN__AUGMENT_DRAWS);
#undef CARVE_FILL
    t->aug_image = p;
    p += aug * data;
    CARVE(g_in, nz + c);
    CARVE(x_fake, own * data);
    CARVE(g_dy, own * data);
    CARVE(d_in, 2 * din);
    CARVE(d_dx, dx_rows * din);
    CARVE(logits, 2);
    CARVE(dlogits, 2);
    CARVE(pen_x, pen * din);
    CARVE(pen_grad, pen * din);
    CARVE(pen_plus, pen * din);
    CARVE(pen_logits, pen);
    CARVE(pen_dy, pen);
#undef CARVE
    if (!own_fill) { /* the callbacks write in place and nothing is copied */
        t->x_all = t->d_in;
        t->z_all = t->g_in;
    }
    if (!own) t->x_fake = t->d_in + rows * din; /* G writes in place too */
    t->x_real = t->x_all;
    t->cond = t->cond_all;
    t->z = t->z_all;
    return GAN_OK;
}

/* dst rows = [a row | b row]; b may be empty, and then a may already be dst. */
static void concat_rows(float *dst, const float *a, size_t wa, const float *b, size_t wb, size_t rows)
{
    if (dst == a && wb == 0) return;
    for (size_t i = 0; i < rows; i++) {
        memcpy(dst + i * (wa + wb), a + i * wa, wa * sizeof *a);
        if (wb) memcpy(dst + i * (wa + wb) + wa, b + i * wb, wb * sizeof *b);
    }
}

/* A failing callback's own message (a libgan call it made, like gan_dataset_sampler)
 * is kept after ours. */
static int callback_failed(const char *which, int rc)
{
    return gan__wrap(GAN_EUSER, "the %s callback returned %d", which, rc);
}

/* What a callback wrote must be finite. Checked here, not left to the loss or the
 * gradient: a ReLU maps NaN to 0 on the way, and a noise row drawn for a D update never
 * reaches a gradient of G. One pass over the rows, far cheaper than the products. */
static int check_written(const char *which, const float *v, size_t rows, size_t width)
{
    size_t n = rows * width;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], sizeof b);
        bad |= (b & 0x7f800000u) == 0x7f800000u; /* exponent all ones: Inf or NaN */
    }
    if (!bad) return GAN_OK;
    size_t i = 0;
    while (isfinite(v[i])) i++;
    return gan__fail(GAN_EDIVERGED, "the %s callback wrote a value that is not finite (%g, row %zu); nothing was updated",
                     which, v[i], i / width);
}

/* The callbacks fill the whole batch on every rank (the streams stay global), and the
 * rank keeps its rows. */
static size_t fill_rows(const gan_trainer *t, size_t rows) { return t->part.global ? t->part.global : rows; }

static int call_data(gan_trainer *t, size_t rows)
{
    size_t fill = fill_rows(t, rows), data = data_dim(t), c = t->cond_dim;
    gan__clear_error();
    int rc = t->data_fn(t->data_payload, t->rng[GAN_STREAM_DATA], t->x_all, c ? t->cond_all : NULL, fill);
    if (rc) return callback_failed("data", rc);
    t->x_real = t->x_all + t->part.first * data; /* this rank's rows, the only ones it reads */
    t->cond = t->cond_all + t->part.first * c;
    rc = check_written("data", t->x_real, rows, data);
    return rc ? rc : check_written("data", t->cond, rows, c);
}

static int call_noise(gan_trainer *t, size_t rows)
{
    size_t fill = fill_rows(t, rows), nz = gan_trainer_noise_dim(t);
    gan__clear_error();
    int rc = t->noise_fn(t->noise_payload, t->rng[GAN_STREAM_NOISE], t->z_all, fill, nz);
    t->z = t->z_all + t->part.first * nz;
    return rc ? callback_failed("noise", rc) : check_written("noise", t->z, rows, nz);
}

/* Noise (and the batch's conditions) through G in training mode into x_fake. */
static int generate_fakes(gan_trainer *t, size_t rows)
{
    int rc = call_noise(t, rows);
    if (rc) return rc;
    concat_rows(t->g_in, t->z, gan_trainer_noise_dim(t), t->cond, t->cond_dim, rows);
    rc = gan__net_forward_depth(t->g, t->g_in, rows, t->x_fake, 1, t->g->n_layers);
    return rc ? gan__wrap(rc, "G") : GAN_OK;
}

/* Each rank's loss is the mean over its rows: scaled by 1/ranks, the gradients' sum over
 * the ranks is the gradient of the whole batch's mean. */
static void per_rank(const gan_trainer *t, float *dlogits, size_t n)
{
    if (!gan__distributed(t)) return;
    float s = 1.0f / (float)t->comm.ranks;
    for (size_t i = 0; i < n; i++) dlogits[i] *= s;
}

/* What the exchanges are tagged with (gan__comm_agree): each update's, and a run's stop. */
enum { TAG_D = 1, TAG_G, TAG_JOINT, TAG_STOP };

static uint64_t tag(const gan_trainer *t, uint64_t kind, uint64_t index)
{
    uint64_t v[] = {kind, index, t->steps, t->batch, t->cond_dim, t->g->n_params, t->d->n_params, t->g->n_state,
                    t->d->n_state, t->d_steps, t->g_steps, (uint64_t)t->update, (uint64_t)t->loss,
                    (uint64_t)t->penalty, t->penalty_interval, t->augment.policy};
    return gan__comm_tag(v, sizeof v / sizeof *v);
}

/* The step's statistics over every rank, and batch norm's running statistics, which
 * each rank moved with its own rows: averaged, the same bits on every rank. */
static int share_stats(gan_trainer *t)
{
    float s[6] = {(float)t->stats.loss_d, (float)t->stats.d_real,  (float)t->stats.d_fake,
                  (float)t->stats.loss_g, (float)t->stats.penalty, (float)t->stats.input_grad_norm};
    float inv = 1.0f / (float)t->comm.ranks;
    int rc = gan__comm_sum(&t->comm, s, t->penalty_fresh ? 6 : 4); /* a penalty not taken is 0 everywhere */
    gan_net *nets[2] = {t->g, t->d};
    for (int i = 0; i < 2 && !rc; i++) {
        gan_net *n = nets[i];
        if (!n->n_state || !gan__net_couples_rows(n)) continue; /* spectral-norm vectors agree already */
        if (!(rc = gan__comm_sum(&t->comm, n->state, n->n_state)))
            for (size_t j = 0; j < n->n_state; j++) n->state[j] *= inv;
    }
    if (rc) return rc;
    t->stats.loss_d = s[0] * inv;
    t->stats.d_real = s[1] * inv;
    t->stats.d_fake = s[2] * inv;
    t->stats.loss_g = s[3] * inv;
    if (t->penalty_fresh) {
        t->stats.penalty = s[4] * inv;
        t->stats.input_grad_norm = s[5] * inv;
    }
    return GAN_OK;
}

/* An update's exchange, after its rows' work and before anything moves: the ranks agree
 * on its status, then sum the gradients of `a` (and `b`); the step's last update shares
 * the statistics too. Without a comm, rc itself. */
static int exchange(gan_trainer *t, int rc, uint64_t kind, unsigned index, gan_net *a, gan_net *b, int last)
{
    if (!gan__distributed(t)) return rc;
    rc = gan__comm_agree(&t->comm, rc, tag(t, kind, index));
    if (!rc) rc = gan__comm_sum(&t->comm, a->grads, a->n_params);
    if (!rc && b) rc = gan__comm_sum(&t->comm, b->grads, b->n_params);
    if (!rc && last) rc = share_stats(t);
    return rc;
}

static int diverged(const char *what, double value)
{
    return gan__fail(GAN_EDIVERGED, "%s is not finite (%g); nothing was updated", what, value);
}

/* D's input rows x as D sees them: with an augmentation, transformed by new draws (into
 * draws) for every row of the whole batch, of which this rank's rows are used, so that
 * the stream moves as on one process. */
static void augment_rows(gan_trainer *t, float *x, size_t rows, float *draws)
{
    if (!t->augment.policy) return;
    (void)gan_rng_fill_uniform(t->rng[GAN_STREAM_DROPOUT], draws, fill_rows(t, rows) * GAN__AUGMENT_DRAWS, 0.0f, 1.0f);
    gan__augment_forward(&t->augment, draws + t->part.first * GAN__AUGMENT_DRAWS, x, rows, d_in_dim(t),
                         t->aug_image);
}

/* D's logits, training mode, on the batch's real rows followed by its fake rows, or on
 * the fake rows alone. Fake rows always sit in the second half of d_in. */
static int d_logits(gan_trainer *t, int with_real, size_t rows)
{
    size_t data = data_dim(t), c = t->cond_dim;
    float *fake_in = t->d_in + rows * (data + c);
    if (with_real) {
        concat_rows(t->d_in, t->x_real, data, t->cond, c, rows);
        augment_rows(t, t->d_in, rows, t->aug_real);
    }
    concat_rows(fake_in, t->x_fake, data, t->cond, c, rows);
    augment_rows(t, fake_in, rows, t->aug_fake);
    int rc = gan__net_forward_depth(t->d, with_real ? t->d_in : fake_in, with_real ? 2 * rows : rows, t->logits, 1,
                                    logit_depth(t->d));
    return rc ? gan__wrap(rc, "D") : GAN_OK;
}

/* D's logits on the real rows alone (already in d_in), into logits[rows..2 rows): the
 * second pass of a D that couples the rows of a batch. */
static int d_real_logits(gan_trainer *t, size_t rows)
{
    size_t data = data_dim(t), c = t->cond_dim;
    concat_rows(t->d_in, t->x_real, data, t->cond, c, rows);
    augment_rows(t, t->d_in, rows, t->aug_real);
    int rc = gan__net_forward_depth(t->d, t->d_in, rows, t->logits + rows, 1, logit_depth(t->d));
    return rc ? gan__wrap(rc, "D") : GAN_OK;
}

/* D's loss on the batch and its parameter gradients (overwritten). A D whose layers
 * couple the rows of a batch (batch norm) sees the generated rows and the real ones in
 * two passes, as PyTorch's DCGAN does, so their statistics never mix; real[] and fake[]
 * say where the logits are. */
static int d_loss_and_grads(gan_trainer *t, size_t rows, int fake_done, double *loss, const float **real,
                            const float **fake)
{
    if (!t->d_coupled) {
        int rc = d_logits(t, 1, rows);
        if (rc) return rc;
        *loss = gan__loss_d(t->loss, t->logits, t->logits + rows, rows, t->real_target, t->dlogits, t->dlogits + rows);
        if (!isfinite(*loss)) return diverged("D's loss", *loss);
        per_rank(t, t->dlogits, 2 * rows);
        gan__net_backward_ex(t->d, t->dlogits, NULL, GAN__GRADS_SET);
        *real = t->logits;
        *fake = t->logits + rows;
        return GAN_OK;
    }
    int rc = fake_done ? GAN_OK : d_logits(t, 0, rows); /* fake rows: logits[0..rows) */
    if (rc) return rc;
    double lf = gan__loss_d_half(t->loss, t->logits, rows, 0, t->real_target, t->dlogits);
    if (!isfinite(lf)) return diverged("D's loss", lf);
    per_rank(t, t->dlogits, rows);
    gan__net_backward_ex(t->d, t->dlogits, NULL, GAN__GRADS_SET);
    if ((rc = d_real_logits(t, rows))) return rc;
    double lr = gan__loss_d_half(t->loss, t->logits + rows, rows, 1, t->real_target, t->dlogits + rows);
    if (!isfinite(lr)) return diverged("D's loss", lr);
    per_rank(t, t->dlogits + rows, rows);
    gan__net_backward_ex(t->d, t->dlogits + rows, NULL, GAN__GRADS_ADD);
    *loss = lr + lf;
    *real = t->logits + rows;
    *fake = t->logits;
    return GAN_OK;
}

/* ---------------------------------------------------------- gradient penalty */

static int penalty_due(const gan_trainer *t)
{
    return t->penalty != GAN_PENALTY_NONE && t->steps % t->penalty_interval == 0;
}

/* The rows the penalty is taken on, into pen_x: the real rows (R1), or interpolates
 * between them and the generated rows with one weight per row of the whole batch, so that
 * a row's weight does not depend on the rank count (WGAN-GP). Conditions are the batch's. */
static void penalty_rows(gan_trainer *t, size_t rows)
{
    size_t data = data_dim(t), c = t->cond_dim;
    concat_rows(t->pen_x, t->x_real, data, t->cond, c, rows);
    if (t->penalty == GAN_PENALTY_WGAN_GP) {
        (void)gan_rng_fill_uniform(t->rng[GAN_STREAM_DROPOUT], t->pen_mix, fill_rows(t, rows), 0.0f, 1.0f);
        const float *mix = t->pen_mix + t->part.first;
        for (size_t i = 0; i < rows; i++) {
            float e = mix[i], *x = t->pen_x + i * (data + c);
            const float *f = t->x_fake + i * data;
            for (size_t j = 0; j < data; j++) x[j] = e * x[j] + (1.0f - e) * f[j];
        }
    }
    /* Rows as D sees them (DiffAugment's code takes R1 on augmented reals). The transform
     * is affine, so an interpolate's is the interpolate of the two rows' under one draw. */
    augment_rows(t, t->pen_x, rows, t->aug_real);
}

/* The gradient penalty's gradient added to D's (penalty.c); its value and mean norm go
 * to the statistics, the value with its weight (and lazy interval) as D's loss has it. */
static int penalise(gan_trainer *t, size_t rows)
{
    size_t din = d_in_dim(t);
    double w = (double)t->penalty_weight * t->penalty_interval, mean, norm;
    gan__penalty_rows r = {t->pen_x, t->pen_grad, t->pen_plus, t->pen_logits, t->pen_dy, rows, din, data_dim(t)};
    penalty_rows(t, rows);
    int rc = gan__penalty_add(t->d, logit_depth(t->d), t->penalty, w / (double)t->batch, &r, &mean, &norm);
    if (rc) return gan__wrap(rc, "D");
    t->stats.penalty = w * mean;
    t->stats.input_grad_norm = norm;
    t->penalty_fresh = 1;
    return GAN_OK;
}

/* D's weights, or their staged values in p, into [-clip, clip]. */
static void clip_weights(gan_trainer *t, float *p)
{
    float c = t->clip;
    for (size_t i = 0, n = gan_net_num_params(t->d); i < n; i++) p[i] = p[i] > c ? c : p[i] < -c ? -c : p[i];
}

/* The Wasserstein loss keeps D Lipschitz by clipping, unless a penalty does. */
static int clips(const gan_trainer *t) { return t->loss == GAN_LOSS_WASSERSTEIN && t->penalty == GAN_PENALTY_NONE; }

/* D's optimizer applies the update it checked (or staged: the values stored are bit for
 * bit the staged ones, clipped alike). */
static void commit_d(gan_trainer *t)
{
    gan__optim_apply(t->opt_d, t->d);
    if (clips(t)) clip_weights(t, t->d->params);
}

/* One update of D. With `staged`, D's new parameters go there and D and its optimizer
 * stay as they are until commit_d(). */
static int d_update(gan_trainer *t, size_t rows, float *staged, unsigned index)
{
    const float *real, *fake;
    double loss;
    int rc = call_data(t, rows);
    if (!rc) rc = generate_fakes(t, rows);
    if (!rc) rc = d_loss_and_grads(t, rows, 0, &loss, &real, &fake);
    if (!rc && penalty_due(t)) rc = penalise(t, rows);
    if (!rc) {
        t->stats.loss_d = loss;
        t->stats.d_real = gan__mean_sigmoid(real, rows);
        t->stats.d_fake = gan__mean_sigmoid(fake, rows);
    }
    if ((rc = exchange(t, rc, TAG_D, index, t->d, NULL, 0))) return rc;
    rc = gan__optim_prepare(t->opt_d, t->d, staged, &t->stats.grad_norm_d);
    if (rc) return gan__wrap(rc, "D");
    if (!staged) commit_d(t);
    else if (clips(t)) clip_weights(t, staged);
    return GAN_OK;
}

/* G's gradient through D: the data columns of D's input gradient, rows from `first`,
 * through the adjoint of the fake rows' augmentation. Without condition columns or an
 * augmentation those rows are the gradient already. */
static const float *g_grad_from_d(gan_trainer *t, size_t first, size_t rows)
{
    size_t data = data_dim(t), din = d_in_dim(t);
    const float *src = t->d_dx + first * din;
    if (t->augment.policy) {
        gan__augment_adjoint(&t->augment, t->aug_fake + t->part.first * GAN__AUGMENT_DRAWS, src, din, t->g_dy, data,
                             rows);
        return t->g_dy;
    }
    if (din == data) return src;
    for (size_t i = 0; i < rows; i++) memcpy(t->g_dy + i * data, src + i * din, data * sizeof *t->g_dy);
    return t->g_dy;
}

/* The decay warms up as TensorFlow's ExponentialMovingAverage(num_updates) does: the
 * weights the average starts from (at step 0, untrained ones) would otherwise still
 * weigh decay^s after s steps, 16% after 1,842 steps at 0.999. */
static void ema_update(gan_trainer *t)
{
    if (!t->ema) return;
    const float *p = t->g->params;
    float warm = (float)((1.0 + (double)t->steps) / (10.0 + (double)t->steps));
    float a = t->ema_decay < warm ? t->ema_decay : warm;
    for (size_t i = 0, n = gan_net_num_params(t->g); i < n; i++) t->ema[i] = a * t->ema[i] + (1.0f - a) * p[i];
}

/* G's update on its rows: the loss and G's gradients through D (D's own gradients are
 * not needed, nor summed over the ranks). `reuse`: on the fakes of D's last update, whose
 * forward G's buffers still hold (nothing ran G since), instead of new ones. */
static int g_loss_and_grads(gan_trainer *t, size_t rows, int reuse)
{
    int rc = t->cond_dim && !reuse ? call_data(t, rows) : GAN_OK; /* conditions as the data has them */
    if (!rc && !reuse) rc = generate_fakes(t, rows);
    if (!rc) rc = d_logits(t, 0, rows);
    if (rc) return rc;
    double loss = gan__loss_g(t->loss, t->logits, rows, t->dlogits);
    if (!isfinite(loss)) return diverged("G's loss", loss);
    per_rank(t, t->dlogits, rows);
    gan__net_backward_ex(t->d, t->dlogits, t->d_dx, GAN__GRADS_NONE); /* only the input gradient, for G */
    gan__net_backward_ex(t->g, g_grad_from_d(t, 0, rows), NULL, GAN__GRADS_SET);
    t->stats.loss_g = loss;
    return GAN_OK;
}

static int g_update(gan_trainer *t, size_t rows, unsigned index)
{
    int rc = g_loss_and_grads(t, rows, t->update == GAN_UPDATE_REUSE_FAKES && index == 0);
    if ((rc = exchange(t, rc, TAG_G, index, t->g, NULL, index + 1 == t->g_steps))) return rc;
    rc = gan__optim_prepare(t->opt_g, t->g, NULL, &t->stats.grad_norm_g);
    if (rc) return gan__wrap(rc, "G");
    gan__optim_apply(t->opt_g, t->g);
    ema_update(t);
    return GAN_OK;
}

/* G's loss on the fake logits of D's last forward and G's parameter gradients through
 * D's input gradient; `first` is where the fake rows start in that forward. */
static int g_grads_through_d(gan_trainer *t, const float *fake, float *dfake, size_t rows, size_t first,
                             double *loss_g)
{
    *loss_g = gan__loss_g(t->loss, fake, rows, dfake);
    if (!isfinite(*loss_g)) return diverged("G's loss", *loss_g);
    per_rank(t, dfake, rows);
    gan__net_backward_ex(t->d, t->dlogits, t->d_dx, GAN__GRADS_NONE);
    gan__net_backward_ex(t->g, g_grad_from_d(t, first, rows), NULL, GAN__GRADS_SET);
    return GAN_OK;
}

/* Both nets' losses and gradients from one batch. */
static int joint_grads(gan_trainer *t, size_t rows)
{
    int rc = call_data(t, rows);
    if (!rc) rc = generate_fakes(t, rows);
    if (rc) return rc;
    const float *real, *fake;
    double loss_g, loss_d;
    if (t->d_coupled) { /* the fake pass trains G and then D, the real pass D */
        if ((rc = d_logits(t, 0, rows))) return rc;
        if ((rc = g_grads_through_d(t, t->logits, t->dlogits, rows, 0, &loss_g))) return rc;
        if ((rc = d_loss_and_grads(t, rows, 1, &loss_d, &real, &fake))) return rc;
    } else {
        if ((rc = d_logits(t, 1, rows))) return rc;
        float *dreal = t->dlogits, *dfake = t->dlogits + rows;
        real = t->logits;
        fake = t->logits + rows;
        memset(dreal, 0, rows * sizeof *dreal);
        if ((rc = g_grads_through_d(t, fake, dfake, rows, rows, &loss_g))) return rc;
        loss_d = gan__loss_d(t->loss, real, fake, rows, t->real_target, dreal, dfake);
        if (!isfinite(loss_d)) return diverged("D's loss", loss_d);
        per_rank(t, t->dlogits, 2 * rows);
        gan__net_backward_ex(t->d, t->dlogits, NULL, GAN__GRADS_SET);
    }
    if (penalty_due(t) && (rc = penalise(t, rows))) return rc;
    t->stats.loss_d = loss_d;
    t->stats.loss_g = loss_g;
    t->stats.d_real = gan__mean_sigmoid(real, rows);
    t->stats.d_fake = gan__mean_sigmoid(fake, rows);
    return GAN_OK;
}

/* D and G from one batch: both updates are computed and checked before either net moves. */
static int joint_update(gan_trainer *t, size_t rows)
{
    int rc = exchange(t, joint_grads(t, rows), TAG_JOINT, 0, t->d, t->g, 1);
    if (rc) return rc;
    if ((rc = gan__optim_prepare(t->opt_d, t->d, NULL, &t->stats.grad_norm_d))) return gan__wrap(rc, "D");
    if ((rc = gan__optim_prepare(t->opt_g, t->g, NULL, &t->stats.grad_norm_g))) return gan__wrap(rc, "G");
    commit_d(t);
    gan__optim_apply(t->opt_g, t->g);
    ema_update(t);
    return GAN_OK;
}

/* ------------------------------------------------------------- step */

/* The net's parameters, when its updates are applied before the step can fail. */
static int snapshot_reserve(snapshot *s, const gan_net *net, const gan_optim *opt)
{
    if (!s->params && !(s->params = gan__calloc(net->n_params, sizeof(float))))
        return gan__fail(GAN_ENOMEM, "out of memory for the step's snapshot");
    return gan__optim_mark_reserve(&s->opt, opt, net);
}

/* Refuses an optimizer whose state is for another net before copying anything. */
static int snapshot_save(snapshot *s, const gan_net *net, const gan_optim *opt, int full)
{
    int rc = gan__optim_begin(&s->opt, opt, net, full);
    if (!rc && full) memcpy(s->params, net->params, net->n_params * sizeof(float));
    return rc;
}

static void snapshot_restore(const snapshot *s, gan_net *net, gan_optim *opt)
{
    if (s->opt.full) memcpy(net->params, s->params, net->n_params * sizeof(float));
    gan__optim_rollback(&s->opt, opt);
}

/* An alternating step checks G's updates after D has moved. With one D update (the
 * usual k = 1) that update is staged: G trains against D's new parameters held in
 * d_next, and D takes them only once G's updates have passed (no copy of D's state).
 * Several D updates each need the last one applied, so they keep a snapshot to restore,
 * as several G updates do. A simultaneous step checks both nets before applying either
 * and needs neither. */
static int alternating(const gan_trainer *t) { return t->update != GAN_UPDATE_SIMULTANEOUS; }
static int stages_d(const gan_trainer *t) { return alternating(t) && t->d_steps == 1; }
static int needs_snapshot_d(const gan_trainer *t) { return alternating(t) && t->d_steps > 1; }
static int needs_snapshot_g(const gan_trainer *t) { return alternating(t) && t->g_steps > 1; }

/* The nets still fit each other and the condition size; a mismatch left by the caller
 * (most often a conditional model without gan_trainer_set_cond_dim) is a state error. */
static int nets_fit(const gan_trainer *t)
{
    int rc = check_dims(t, t->cond_dim);
    if (rc == GAN_EINVAL)
        return gan__wrap(GAN_ESTATE, "with a condition size of %zu (gan_trainer_set_cond_dim)", t->cond_dim);
    return rc;
}

/* Nets whose weights were never set would train for ever at GAN_OK and give zeros. The
 * rule: the net's parameters were set by gan_net_init, a load, or the caller's write
 * access through gan_net_params, since its last layer was added. */
static int initialised(const gan_net *net, const char *who)
{
    return net->initialised ? GAN_OK : gan__fail(GAN_ESTATE, "%s was never initialised (gan_net_init)", who);
}

/* The nets draw dropout masks from this trainer's stream, even when another trainer
 * shares them and lent its own since. */
static void lend_dropout_stream(gan_trainer *t)
{
    t->g->rng = t->d->rng = t->rng[GAN_STREAM_DROPOUT];
}

static int ready(gan_trainer *t)
{
    if (!t->data_fn) return gan__fail(GAN_ESTATE, "no data callback (gan_trainer_set_data)");
    t->d_coupled = gan__net_couples_rows(t->d);
    int rc = nets_fit(t);
    if (!rc) rc = penalty_fits(t, t->penalty, GAN_ESTATE);
    if (!rc && t->penalty != GAN_PENALTY_NONE) gan__net_hold(t->d);
    if (!rc) rc = initialised(t->g, "G");
    if (!rc) rc = initialised(t->d, "D");
    if (!rc && t->batch % (size_t)t->comm.ranks)
        rc = gan__fail(GAN_ESTATE, "the batch of %zu rows does not divide among %d ranks (gan_trainer_set_batch_size)",
                       t->batch, t->comm.ranks);
    if (!rc) rc = reserve(t, t->batch / (size_t)t->comm.ranks, t->batch);
    if (!rc && stages_d(t) && !t->d_next && !(t->d_next = gan__calloc(t->d->n_params, sizeof(float))))
        rc = gan__fail(GAN_ENOMEM, "out of memory for D's staged update");
    if (!rc && needs_snapshot_d(t)) rc = snapshot_reserve(&t->snap_d, t->d, t->opt_d);
    if (!rc && needs_snapshot_g(t)) rc = snapshot_reserve(&t->snap_g, t->g, t->opt_g);
    if (!rc && needs_snapshot_g(t) && t->ema && !t->snap_ema &&
        !(t->snap_ema = gan__calloc(t->g->n_params, sizeof(float))))
        rc = gan__fail(GAN_ENOMEM, "out of memory for the step's snapshot");
    size_t states = t->g->n_state + t->d->n_state;
    if (!rc && states && !t->snap_state && !(t->snap_state = gan__calloc(states, sizeof(float))))
        rc = gan__fail(GAN_ENOMEM, "out of memory for the step's snapshot");
    return rc;
}

/* What a failed step restores; refuses (changing nothing) an optimizer that is not fit
 * for its net. */
static int save_state(gan_trainer *t)
{
    int rc = snapshot_save(&t->snap_d, t->d, t->opt_d, needs_snapshot_d(t));
    if (rc) return gan__wrap(rc, "D");
    if ((rc = snapshot_save(&t->snap_g, t->g, t->opt_g, needs_snapshot_g(t)))) return gan__wrap(rc, "G");
    for (int i = 0; i < 4; i++) t->snap_rng[i] = *t->rng[i];
    if (t->g->n_state) memcpy(t->snap_state, t->g->state, t->g->n_state * sizeof(float));
    if (t->d->n_state) memcpy(t->snap_state + t->g->n_state, t->d->state, t->d->n_state * sizeof(float));
    if (needs_snapshot_g(t) && t->ema) memcpy(t->snap_ema, t->ema, t->g->n_params * sizeof(float));
    return GAN_OK;
}

static void restore_state(gan_trainer *t)
{
    for (int i = 0; i < 4; i++) *t->rng[i] = t->snap_rng[i];
    if (t->g->n_state) memcpy(t->g->state, t->snap_state, t->g->n_state * sizeof(float));
    if (t->d->n_state) memcpy(t->d->state, t->snap_state + t->g->n_state, t->d->n_state * sizeof(float));
    snapshot_restore(&t->snap_d, t->d, t->opt_d);
    snapshot_restore(&t->snap_g, t->g, t->opt_g);
    if (needs_snapshot_g(t) && t->ema) memcpy(t->ema, t->snap_ema, t->g->n_params * sizeof(float));
}

static void copy_stats(gan_step_stats *dst, const gan_step_stats *src)
{
    uint32_t size = dst->size;
    memcpy(dst, src, size < sizeof *src ? size : sizeof *src);
    dst->size = size;
}

/* This rank's rows of the step, for the callbacks (call_data) and dropout (gan__rows);
 * cleared after the step, so that a net's own forward by its owner is one process's. */
static void set_part(gan_trainer *t, int on)
{
    size_t local = t->batch / (size_t)t->comm.ranks;
    gan__rows part = {(size_t)t->comm.rank * local, local, t->batch};
    t->part = t->g->rows = t->d->rows = on && gan__distributed(t) ? part : (gan__rows){0, 0, 0};
}

static int updates(gan_trainer *t, size_t rows)
{
    int rc = GAN_OK;
    if (t->update == GAN_UPDATE_SIMULTANEOUS) {
        rc = joint_update(t, rows);
    } else if (stages_d(t)) {
        rc = d_update(t, rows, t->d_next, 0);
        if (!rc) {
            gan__net_swap_params(t->d, &t->d_next); /* G's updates see the updated D */
            for (unsigned i = 0; i < t->g_steps && !rc; i++) rc = g_update(t, rows, i);
            gan__net_swap_params(t->d, &t->d_next);
        }
        if (!rc) commit_d(t);
    } else {
        for (unsigned i = 0; i < t->d_steps && !rc; i++) rc = d_update(t, rows, NULL, i);
        for (unsigned i = 0; i < t->g_steps && !rc; i++) rc = g_update(t, rows, i);
    }
    return rc;
}

/* G and D run one at a time in the trainer's calls: they share one block for what lasts a
 * call (NULL: each its own again, outside them, where they may run on two threads). */
static void lend_arena(gan_trainer *t, gan__arena *arena)
{
    gan__net_lend(t->g, arena);
    gan__net_lend(t->d, arena);
}

/* One step of gan_trainer_step, whose name its messages leave to the caller. A rank that
 * cannot start the step, or brings a stop from gan_trainer_run (`carried`), meets the
 * others at the step's first exchange, where they learn it before anything moves. */
static int step_on_arena(gan_trainer *t, int carried)
{
    int rc = ready(t);
    if (!rc) {
        ema_sync(t);
        rc = save_state(t);
    }
    if (!rc) rc = carried;
    if (rc && gan__distributed(t))
        rc = gan__comm_agree(&t->comm, rc, tag(t, t->update == GAN_UPDATE_SIMULTANEOUS ? TAG_JOINT : TAG_D, 0));
    if (rc) return rc;
    lend_dropout_stream(t);
    set_part(t, 1);
    t->penalty_fresh = 0; /* a step that does not take the penalty adds 0 to D's loss */
    t->stats.penalty = t->stats.input_grad_norm = 0.0;
    rc = updates(t, t->batch / (size_t)t->comm.ranks);
    set_part(t, 0);
    if (rc) {
        restore_state(t);
        return rc;
    }
    t->steps++;
    t->stats.size = sizeof t->stats;
    t->stats.step = t->steps;
    t->stats.lr_d = gan_optim_get_lr(t->opt_d);
    t->stats.lr_g = gan_optim_get_lr(t->opt_g);
    return GAN_OK;
}

static int train_step(gan_trainer *t, int carried)
{
    lend_arena(t, &t->arena);
    int rc = step_on_arena(t, carried);
    lend_arena(t, NULL);
    return rc;
}

int gan_trainer_step(gan_trainer *t, gan_step_stats *stats)
{
    GAN_CHECK_ARG(t);
    if (stats && stats->size < sizeof(uint64_t) * 2)
        return gan__fail(GAN_EINVAL, "%s: stats->size is %u; set it to sizeof(gan_step_stats)", __func__,
                         (unsigned)stats->size);
    int rc = train_step(t, GAN_OK);
    if (rc) return gan__wrap(rc, "%s", __func__);
    if (stats) copy_stats(stats, &t->stats);
    return GAN_OK;
}

int gan_trainer_run(gan_trainer *t, uint64_t steps, gan_step_fn on_step, void *payload)
{
    GAN_CHECK_ARG(t);
    /* On several ranks one rank's stop stops all: it travels with the next step's first
     * exchange (which then moves nothing), or after the last step with an agreement. */
    int stop = GAN_OK, rc;
    for (uint64_t i = 0; i < steps; i++) {
        if ((rc = train_step(t, stop)))
            return stop ? gan__wrap(rc, "%s", __func__)
                        : gan__wrap(rc, "%s: step %llu", __func__, (unsigned long long)t->steps + 1);
        int asked = on_step ? on_step(payload, &t->stats) : 0;
        if (asked)
            stop = gan__fail(GAN_EUSER, "the on_step callback returned %d at step %llu", asked,
                             (unsigned long long)t->steps);
        if (stop && !gan__distributed(t)) return gan__wrap(stop, "%s", __func__);
    }
    rc = steps && gan__distributed(t) ? gan__comm_agree(&t->comm, stop, tag(t, TAG_STOP, 0)) : GAN_OK;
    return rc ? gan__wrap(rc, "%s", __func__) : GAN_OK;
}

int gan_trainer_generate(gan_trainer *t, const float *z, const float *cond, size_t n, float *out)
{
    GAN_CHECK_ARG(t);
    GAN_CHECK_ARG(out);
    if (n == 0) return gan__fail(GAN_EINVAL, "%s: n must be positive", __func__);
    if (t->cond_dim && !cond)
        return gan__fail(GAN_EINVAL, "%s: 'cond' is NULL but the condition size is %zu", __func__, t->cond_dim);
    int rc = nets_fit(t);
    if (!rc) rc = initialised(t->g, "G");
    if (!rc) rc = reserve(t, t->batch, t->batch);
    if (rc) return gan__wrap(rc, "%s", __func__);
    lend_dropout_stream(t);
    gan_rng noise0 = *t->rng[GAN_STREAM_NOISE]; /* a failure takes the draws back */
    size_t nz = gan_trainer_noise_dim(t), c = t->cond_dim, data = data_dim(t);
    int use_ema = t->ema && gan__trainer_ema(t) == t->ema;
    if (use_ema) gan__net_swap_params(t->g, &t->ema);
    lend_arena(t, &t->arena);
    for (size_t done = 0; done < n && !rc;) {
        size_t rows = n - done < t->batch ? n - done : t->batch;
        if (z) memcpy(t->z, z + done * nz, rows * nz * sizeof *z);
        else rc = call_noise(t, rows);
        if (rc) break;
        concat_rows(t->g_in, t->z, nz, c ? cond + done * c : NULL, c, rows);
        int mode = t->generate_stats == GAN_STATS_BATCH ? GAN__BATCH_STATS : GAN__EVAL;
        rc = gan__net_forward_depth(t->g, t->g_in, rows, out + done * data, mode, t->g->n_layers);
        if (rc) rc = gan__wrap(rc, "G");
        done += rows;
    }
    lend_arena(t, NULL);
    if (use_ema) gan__net_swap_params(t->g, &t->ema);
    if (rc) {
        *t->rng[GAN_STREAM_NOISE] = noise0;
        return gan__wrap(rc, "%s", __func__);
    }
    return GAN_OK;
}
