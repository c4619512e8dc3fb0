/* The data-parallel cases of comm_cases.h. The model is small, with dropout in D (whose
 * masks must not depend on the rank count) and optionally batch norm; the batch of 12
 * divides among 1, 2, 3 and 4 ranks. */
#include "comm_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 12, ZDIM = 4, XDIM = 3, HIDDEN = 16 };
/* With an augmentation the rows are images of IMAGE_C x IMAGE_SIDE x IMAGE_SIDE. */
enum { IMAGE_C = 3, IMAGE_SIDE = 4, IMAGE_DIM = IMAGE_C * IMAGE_SIDE * IMAGE_SIDE };

/* Count and print a failed check; true when this one failed. A check whose failure skips
 * collective calls must fail on every rank alike, or the others wait for ever (the tests
 * run under a timeout). */
static int check_(const gan_comm *c, int *fails, int ok, const char *what, int line)
{
    if (ok) return 0;
    fprintf(stderr, "rank %d of %d: comm_cases.c:%d: check failed: %s (last error: %s)\n", c->rank, c->ranks, line,
            what, gan_error_last());
    ++*fails;
    return 1;
}
#define CHECK(cond) check_(comm, &fails, (cond) ? 1 : 0, #cond, __LINE__)

typedef struct spec {
    int adam, batchnorm, simultaneous, penalty; /* penalty: a gan_penalty, weight 1 */
    int reuse;                                  /* GAN_UPDATE_REUSE_FAKES */
    unsigned augment;                           /* gan_augment bits */
    unsigned d_steps;
    uint64_t seed;
} spec;

typedef struct model {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    int rank;            /* this rank, for the failure below */
    int fail_rank;       /* the data callback fails once, on this rank, */
    uint64_t fail_step;  /* in this step (0: never) */
    uint64_t stop_step;  /* on_step asks to stop after this step, on the last rank (0: never) */
    int ranks;
    size_t xdim; /* the data rows' width */
} model;

/* Real data: a Gaussian around (0, 1, 2), from the trainer's data stream. */
static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    model *m = payload;
    (void)cond;
    if (m->fail_step && gan_trainer_steps(m->t) + 1 == m->fail_step && m->rank == m->fail_rank) {
        m->fail_step = 0;
        return -7;
    }
    size_t xdim = m->xdim;
    int rc = gan_rng_fill_normal(rng, x, xdim * batch, 0.0f, 0.5f);
    for (size_t i = 0; i < xdim * batch; i++) x[i] += (float)(i % XDIM);
    return rc;
}

/* Add *l, made with status rc; the layer is freed if it is not added. */
static int add(gan_net *n, int rc, gan_layer **l)
{
    if (!rc) rc = gan_net_add(n, *l);
    if (rc) gan_layer_free(*l);
    *l = NULL;
    return rc;
}

static int build_nets(model *m, const spec *s)
{
    gan_layer *l = NULL;
    int rc = gan_net_create(&m->g, ZDIM);
    if (!rc) rc = add(m->g, gan_layer_dense(&l, ZDIM, HIDDEN), &l);
    if (!rc && s->batchnorm) rc = add(m->g, gan_layer_batchnorm(&l, HIDDEN, 0.1f, 1e-5f), &l);
    if (!rc) rc = add(m->g, gan_layer_activation(&l, GAN_ACT_RELU), &l);
    if (!rc) rc = add(m->g, gan_layer_dense(&l, HIDDEN, m->xdim), &l);
    if (!rc && s->augment) rc = gan_net_create_image(&m->d, IMAGE_C, IMAGE_SIDE, IMAGE_SIDE);
    else if (!rc) rc = gan_net_create(&m->d, m->xdim);
    if (!rc) rc = add(m->d, gan_layer_dropout(&l, 0.8f), &l);
    if (!rc) rc = add(m->d, gan_layer_maxout(&l, m->xdim, 8, 2), &l);
    if (!rc && s->batchnorm) rc = add(m->d, gan_layer_batchnorm(&l, 8, 0.1f, 1e-5f), &l);
    if (!rc) rc = add(m->d, gan_layer_dropout(&l, 0.5f), &l);
    if (!rc) rc = add(m->d, gan_layer_dense(&l, 8, 1), &l);
    return rc;
}

static void model_free(model *m)
{
    gan_trainer_free(m->t);
    gan_optim_free(m->og);
    gan_optim_free(m->od);
    gan_net_free(m->g);
    gan_net_free(m->d);
    memset(m, 0, sizeof *m);
}

/* A model and its trainer, on `comm`'s ranks or (NULL) in one process. */
static int model_make(model *m, const spec *s, const gan_comm *comm)
{
    memset(m, 0, sizeof *m);
    m->rank = comm ? comm->rank : 0;
    m->ranks = comm ? comm->ranks : 1;
    m->xdim = s->augment ? IMAGE_DIM : XDIM;
    int rc = build_nets(m, s);
    if (!rc) rc = s->adam ? gan_optim_adam(&m->og, 1e-3f, 0.5f, 0.999f, 1e-8f) : gan_optim_sgd(&m->og, 0.05f, 0.5f, 0);
    if (!rc) rc = s->adam ? gan_optim_adam(&m->od, 1e-3f, 0.5f, 0.999f, 1e-8f) : gan_optim_sgd(&m->od, 0.05f, 0.5f, 0);
    if (!rc) rc = gan_trainer_create(&m->t, m->g, m->d, m->og, m->od);
    if (!rc) rc = gan_trainer_set_seed(m->t, s->seed);
    if (!rc) rc = gan_net_init(m->g, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_net_init(m->d, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f);
    if (!rc) rc = gan_trainer_set_data(m->t, data, m);
    if (!rc) rc = gan_trainer_set_noise_normal(m->t, 1.0f);
    if (!rc) rc = gan_trainer_set_batch_size(m->t, BATCH);
    if (!rc && s->d_steps) rc = gan_trainer_set_d_steps(m->t, s->d_steps);
    if (!rc && s->simultaneous) rc = gan_trainer_set_update(m->t, GAN_UPDATE_SIMULTANEOUS);
    if (!rc && s->reuse) rc = gan_trainer_set_update(m->t, GAN_UPDATE_REUSE_FAKES);
    if (!rc && s->penalty) rc = gan_trainer_set_gradient_penalty(m->t, (gan_penalty)s->penalty, 1.0f, 1);
    if (!rc && s->augment) rc = gan_trainer_set_augment(m->t, s->augment);
    if (!rc && comm) rc = gan_trainer_set_comm(m->t, comm);
    if (rc) model_free(m);
    return rc;
}

static int steps(model *m, int n)
{
    int rc = GAN_OK;
    for (int i = 0; i < n && !rc; i++) rc = gan_trainer_step(m->t, NULL);
    return rc;
}

/* Everything a step moves, in one vector: G's and D's parameters and state. */
typedef struct vec {
    float *v;
    size_t n;
} vec;

static vec weights(const model *m, int grads)
{
    const gan_net *nets[2] = {m->g, m->d};
    size_t n = 0;
    for (int i = 0; i < 2; i++) n += gan_net_num_params(nets[i]) + (grads ? 0 : gan_net_num_state(nets[i]));
    vec out = {malloc(n * sizeof(float)), n};
    float *p = out.v;
    for (int i = 0; p && i < 2; i++) {
        size_t np = gan_net_num_params(nets[i]), ns = gan_net_num_state(nets[i]);
        memcpy(p, grads ? gan_net_grads((gan_net *)nets[i]) : gan_net_params((gan_net *)nets[i]), np * sizeof *p);
        p += np;
        if (!grads && ns) memcpy(p, gan_net_state((gan_net *)nets[i]), ns * sizeof *p);
        if (!grads) p += ns;
    }
    return out;
}

static double dist(vec a, vec b)
{
    double s = 0;
    for (size_t i = 0; i < a.n; i++) s += ((double)a.v[i] - b.v[i]) * ((double)a.v[i] - b.v[i]);
    return sqrt(s);
}

static int same_bits(vec a, vec b) { return a.n == b.n && !memcmp(a.v, b.v, a.n * sizeof *a.v); }

/* The vector holds rank 0's bits on every rank (each rank learns the answer of all). */
static int same_on_all_ranks(const gan_comm *comm, vec a)
{
    float *mine = malloc(a.n * sizeof *mine);
    int64_t ok = mine != NULL;
    if (mine) {
        memcpy(mine, a.v, a.n * sizeof *mine);
        ok = !comm->broadcast(comm->ctx, mine, a.n * sizeof *mine, 0) && !memcmp(mine, a.v, a.n * sizeof *mine);
    }
    free(mine);
    return !comm->agree_min(comm->ctx, &ok, 1) && ok;
}

/* -------------------------------------------------------------------- cases */

/* The ranks' parameters and state are bit-identical after every step, with and without
 * batch norm (whose running statistics are averaged). */
static int case_identical(const gan_comm *comm)
{
    int fails = 0;
    for (int bn = 0; bn < 3; bn++) { /* 2: a gradient penalty instead of batch norm */
        spec s = {.batchnorm = bn == 1, .penalty = bn == 2 ? GAN_PENALTY_WGAN_GP : 0, .seed = 11};
        model m;
        if (CHECK(model_make(&m, &s, comm) == GAN_OK)) continue;
        CHECK(gan_trainer_sync(m.t) == GAN_OK);
        for (int i = 0; i < 15; i++) {
            gan_step_stats st = {.size = sizeof st};
            CHECK(gan_trainer_step(m.t, &st) == GAN_OK);
            vec w = weights(&m, 0);
            float stats[2] = {(float)st.loss_d, (float)st.d_real};
            CHECK(same_on_all_ranks(comm, w));
            CHECK(same_on_all_ranks(comm, (vec){stats, 2}));
            free(w.v);
        }
        model_free(&m);
    }
    return fails;
}

/* N ranks compute what one process does, up to the order of float sums: within 1e-4 of
 * the distance the weights moved after one step and 1e-2 after 20, in each update mode
 * (one staged D update, several D updates, simultaneous, G on D's fakes), with each
 * gradient penalty and with augmentations (WGAN-GP's interpolation weights, the
 * augmentation's draws and dropout's masks follow the rows, not the ranks).
 * Statistics are global. */
static int case_matches_one_rank(const gan_comm *comm)
{
    int fails = 0;
    const spec specs[] = {{.seed = 3},
                          {.seed = 4, .d_steps = 2},
                          {.seed = 5, .simultaneous = 1},
                          {.seed = 6, .reuse = 1},
                          {.seed = 7, .penalty = GAN_PENALTY_WGAN_GP},
                          {.seed = 8, .penalty = GAN_PENALTY_R1, .d_steps = 2},
                          {.seed = 9, .augment = 7},
                          {.seed = 10, .augment = 7, .simultaneous = 1},
                          {.seed = 11, .augment = 3, .penalty = GAN_PENALTY_WGAN_GP}};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        model one, many;
        if (CHECK(model_make(&one, &specs[k], NULL) == GAN_OK)) continue;
        if (CHECK(model_make(&many, &specs[k], comm) == GAN_OK)) {
            model_free(&one);
            continue;
        }
        vec w0 = weights(&one, 0);
        for (int i = 1; i <= 20; i++) {
            gan_step_stats a = {.size = sizeof a}, b = {.size = sizeof b};
            CHECK(gan_trainer_step(one.t, &a) == GAN_OK);
            CHECK(gan_trainer_step(many.t, &b) == GAN_OK);
            if (i != 1 && i != 20) continue;
            vec w1 = weights(&one, 0), wn = weights(&many, 0);
            double moved = dist(w1, w0), off = dist(wn, w1), tol = i == 1 ? 1e-4 : 1e-2;
            if (CHECK(off <= tol * moved))
                fprintf(stderr, "  spec %zu, step %d: %g off, %g moved\n", k, i, off, moved);
            CHECK(fabs(a.loss_d - b.loss_d) <= 1e-5 * (1 + fabs(a.loss_d)));
            CHECK(fabs(a.d_fake - b.d_fake) <= 1e-5);
            CHECK(fabs(a.grad_norm_g - b.grad_norm_g) <= 1e-4 * a.grad_norm_g);
            CHECK(fabs(a.penalty - b.penalty) <= 1e-5 * (1 + a.penalty));
            CHECK(fabs(a.input_grad_norm - b.input_grad_norm) <= 1e-5 * (1 + a.input_grad_norm));
            CHECK(!specs[k].penalty || a.penalty > 0);
            free(w1.v);
            free(wn.v);
        }
        free(w0.v);
        model_free(&one);
        model_free(&many);
    }
    return fails;
}

/* Adam amplifies rounding, so its comparison is of the first step's gradients. */
static int case_adam_gradients(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.adam = 1, .seed = 6};
    model one, many;
    if (CHECK(model_make(&one, &s, NULL) == GAN_OK)) return fails;
    if (CHECK(model_make(&many, &s, comm) == GAN_OK)) {
        model_free(&one);
        return fails;
    }
    CHECK(gan_trainer_step(one.t, NULL) == GAN_OK);
    CHECK(gan_trainer_step(many.t, NULL) == GAN_OK);
    vec g1 = weights(&one, 1), gn = weights(&many, 1), zero = {calloc(g1.n, sizeof(float)), g1.n};
    CHECK(zero.v && dist(gn, g1) <= 1e-5 * dist(g1, zero));
    vec w = weights(&many, 0);
    CHECK(same_on_all_ranks(comm, w));
    free(w.v);
    free(g1.v);
    free(gn.v);
    free(zero.v);
    model_free(&one);
    model_free(&many);
    return fails;
}

/* A callback failure on one rank: every rank returns GAN_EUSER in that step with nothing
 * updated, and a run that then goes on ends bit-equal to a run without the failure. */
static int case_failure(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.seed = 7};
    model a, b;
    if (CHECK(model_make(&a, &s, comm) == GAN_OK)) return fails;
    if (CHECK(model_make(&b, &s, comm) == GAN_OK)) {
        model_free(&a);
        return fails;
    }
    a.fail_rank = comm->ranks - 1;
    a.fail_step = 5;
    CHECK(steps(&a, 4) == GAN_OK);
    vec before = weights(&a, 0);
    int rc = gan_trainer_step(a.t, NULL);
    CHECK(rc == GAN_EUSER);
    if (comm->rank != a.fail_rank) CHECK(strstr(gan_error_last(), "another rank failed") != NULL);
    CHECK(gan_trainer_steps(a.t) == 4);
    vec after = weights(&a, 0);
    CHECK(same_bits(before, after));
    CHECK(steps(&a, 6) == GAN_OK);
    CHECK(steps(&b, 10) == GAN_OK);
    vec wa = weights(&a, 0), wb = weights(&b, 0);
    CHECK(same_bits(wa, wb));
    free(before.v);
    free(after.v);
    free(wa.v);
    free(wb.v);
    model_free(&a);
    model_free(&b);
    return fails;
}

static int stop_on_last_rank(void *payload, const gan_step_stats *st)
{
    const model *m = payload;
    return m->rank == m->ranks - 1 && st->step == m->stop_step;
}

/* One rank's on_step stops gan_trainer_run on every rank after the same step. */
static int case_stop(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.seed = 8};
    model m;
    if (CHECK(model_make(&m, &s, comm) == GAN_OK)) return fails;
    m.stop_step = 3;
    CHECK(gan_trainer_run(m.t, 10, stop_on_last_rank, &m) == GAN_EUSER);
    CHECK(gan_trainer_steps(m.t) == 3);
    CHECK(gan_trainer_run(m.t, 2, NULL, NULL) == GAN_OK); /* no on_step on any rank */
    CHECK(gan_trainer_steps(m.t) == 5);
    m.stop_step = 7; /* the run's last step */
    CHECK(gan_trainer_run(m.t, 2, stop_on_last_rank, &m) == GAN_EUSER);
    CHECK(gan_trainer_steps(m.t) == 7);
    CHECK(gan_trainer_run(m.t, 1, stop_on_last_rank, &m) == GAN_OK);
    model_free(&m);
    return fails;
}

/* Ranks that reach different exchanges get GAN_ESTATE, all of them, and nothing moves:
 * a rank with another batch size, and a rank in gan_trainer_sync while the others step.
 * The trainers are sound afterwards. A batch that does not divide is GAN_ESTATE too. */
static int case_mismatch(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.seed = 9};
    model m;
    if (CHECK(model_make(&m, &s, comm) == GAN_OK)) return fails;
    vec before = weights(&m, 0);
    CHECK(gan_trainer_set_batch_size(m.t, comm->rank == 1 ? 2 * BATCH : BATCH) == GAN_OK);
    CHECK(gan_trainer_step(m.t, NULL) == GAN_ESTATE);
    CHECK(strstr(gan_error_last(), "out of step") != NULL);
    CHECK(gan_trainer_set_batch_size(m.t, BATCH) == GAN_OK);
    CHECK((comm->rank == 0 ? gan_trainer_sync(m.t) : gan_trainer_step(m.t, NULL)) == GAN_ESTATE);
    CHECK(gan_trainer_set_batch_size(m.t, BATCH + 1) == GAN_OK);
    CHECK(gan_trainer_step(m.t, NULL) == GAN_ESTATE);
    CHECK(strstr(gan_error_last(), "does not divide") != NULL);
    CHECK(gan_trainer_steps(m.t) == 0);
    vec after = weights(&m, 0);
    CHECK(same_bits(before, after));
    CHECK(gan_trainer_set_batch_size(m.t, BATCH) == GAN_OK);
    CHECK(steps(&m, 2) == GAN_OK);
    free(before.v);
    free(after.v);
    model_free(&m);
    return fails;
}

/* Ranks that start apart (other seeds) hold rank 0's trainer after gan_trainer_sync. */
static int case_sync(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.seed = 20 + (uint64_t)comm->rank};
    model m;
    if (CHECK(model_make(&m, &s, comm) == GAN_OK)) return fails;
    vec mine = weights(&m, 0);
    CHECK(same_on_all_ranks(comm, mine) == (comm->ranks == 1));
    CHECK(gan_trainer_sync(m.t) == GAN_OK);
    vec synced = weights(&m, 0);
    CHECK(same_on_all_ranks(comm, synced));
    if (comm->rank == 0) CHECK(same_bits(mine, synced));
    CHECK(steps(&m, 3) == GAN_OK);
    free(mine.v);
    free(synced.v);
    model_free(&m);
    return fails;
}

/* A checkpoint that rank 0 saves resumes bit for bit on the same rank count (loaded by
 * rank 0 and synced), and within rounding in one process without a comm. */
static int case_resume(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.seed = 10};
    model a, b, c;
    if (CHECK(model_make(&a, &s, comm) == GAN_OK)) return fails;
    CHECK(steps(&a, 5) == GAN_OK);
    uint64_t size = 0;
    if (comm->rank == 0) {
        size_t n = 0;
        CHECK(gan_trainer_save_mem(a.t, NULL, 0, &n) == GAN_OK);
        size = n;
    }
    CHECK(!comm->broadcast(comm->ctx, &size, sizeof size, 0));
    unsigned char *bytes = malloc(size ? size : 1);
    size_t written = 0;
    if (comm->rank == 0) CHECK(gan_trainer_save_mem(a.t, bytes, size, &written) == GAN_OK);
    CHECK(!comm->broadcast(comm->ctx, bytes, size, 0)); /* for the one-process run below */
    vec mid = weights(&a, 0);
    CHECK(steps(&a, 5) == GAN_OK);
    vec end = weights(&a, 0);

    spec other = {.seed = 99};
    if (!CHECK(model_make(&b, &other, comm) == GAN_OK)) {
        if (comm->rank == 0) CHECK(gan_trainer_load_mem(b.t, bytes, size) == GAN_OK);
        CHECK(gan_trainer_sync(b.t) == GAN_OK);
        CHECK(steps(&b, 5) == GAN_OK);
        vec wb = weights(&b, 0);
        CHECK(same_bits(wb, end));
        free(wb.v);
        model_free(&b);
    }
    if (!CHECK(model_make(&c, &other, NULL) == GAN_OK)) {
        CHECK(gan_trainer_load_mem(c.t, bytes, size) == GAN_OK);
        CHECK(steps(&c, 5) == GAN_OK);
        vec wc = weights(&c, 0);
        CHECK(dist(wc, end) <= 1e-2 * dist(end, mid));
        free(wc.v);
        model_free(&c);
    }
    free(bytes);
    free(mid.v);
    free(end.v);
    model_free(&a);
    return fails;
}

/* A sampler sharded among the ranks fills only each rank's rows and trains bit for bit as
 * an unsharded one, over epochs that the ranks share. */
static int case_sampler_shard(const gan_comm *comm)
{
    int fails = 0;
    enum { ROWS = 30 };
    float rows[ROWS * XDIM];
    for (int i = 0; i < ROWS * XDIM; i++) rows[i] = (float)(i % 7) * 0.25f + (float)(i % XDIM);
    gan_dataset *ds = NULL;
    gan_sampler *whole = NULL, *shard = NULL;
    CHECK(gan_dataset_create_from_floats(&ds, rows, ROWS, XDIM, NULL, 0) == GAN_OK);
    CHECK(gan_sampler_create(&whole, ds, GAN_SAMPLE_EPOCHS, 0) == GAN_OK);
    CHECK(gan_sampler_create(&shard, ds, GAN_SAMPLE_EPOCHS, 0) == GAN_OK);
    CHECK(gan_sampler_set_shard(shard, comm->rank, comm->ranks) == GAN_OK);
    spec s = {.seed = 15};
    model a, b;
    if (!fails && !CHECK(model_make(&a, &s, comm) == GAN_OK)) {
        if (!CHECK(model_make(&b, &s, comm) == GAN_OK)) {
            CHECK(gan_trainer_set_data(a.t, gan_dataset_sampler, whole) == GAN_OK);
            CHECK(gan_trainer_set_data(b.t, gan_dataset_sampler, shard) == GAN_OK);
            CHECK(steps(&a, 8) == GAN_OK);
            CHECK(steps(&b, 8) == GAN_OK);
            vec wa = weights(&a, 0), wb = weights(&b, 0);
            CHECK(same_bits(wa, wb));
            CHECK(gan_sampler_epoch(shard) == gan_sampler_epoch(whole) && gan_sampler_epoch(whole) == 3);
            free(wa.v);
            free(wb.v);
            model_free(&b);
        }
        model_free(&a);
    }
    gan_sampler_free(whole);
    gan_sampler_free(shard);
    gan_dataset_free(ds);
    return fails;
}

static int counting;
static _Atomic uint64_t allocations;

static void *counting_malloc(void *ctx, size_t size)
{
    (void)ctx;
    allocations++;
    return malloc(size);
}

static void counting_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

int comm_cases_count_allocations(int on)
{
    gan_allocator a = {counting_malloc, counting_free, NULL};
    counting = on;
    return gan_set_allocator(on ? &a : NULL);
}

/* A barrier made of an agreement: every rank is here. */
static int meet_all(const gan_comm *comm)
{
    int64_t v = 0;
    return comm->agree_min(comm->ctx, &v, 1);
}

/* A warmed-up step allocates nothing, on any rank: the count is read by rank 0 while the
 * others wait in an agreement, before and after five steps. */
static int case_allocates_nothing(const gan_comm *comm)
{
    int fails = 0;
    if (!counting) return 0;
    const spec specs[] = {{.seed = 16}, {.seed = 17, .batchnorm = 1, .d_steps = 2}, {.seed = 18, .simultaneous = 1}};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        model m;
        if (CHECK(model_make(&m, &specs[k], comm) == GAN_OK)) continue;
        CHECK(steps(&m, 2) == GAN_OK);
        uint64_t before = 0, after = 0;
        CHECK(meet_all(comm) == 0);
        if (comm->rank == 0) before = allocations;
        CHECK(meet_all(comm) == 0);
        CHECK(steps(&m, 5) == GAN_OK);
        CHECK(meet_all(comm) == 0);
        if (comm->rank == 0) after = allocations;
        CHECK(after == before);
        CHECK(meet_all(comm) == 0);
        model_free(&m);
    }
    return fails;
}

int comm_case_one_rank(const gan_comm *comm)
{
    int fails = 0;
    const spec specs[] = {{.seed = 12}, {.seed = 13, .batchnorm = 1, .d_steps = 2}, {.seed = 14, .simultaneous = 1}};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        model one, with;
        if (CHECK(model_make(&one, &specs[k], NULL) == GAN_OK)) continue;
        if (CHECK(model_make(&with, &specs[k], comm) == GAN_OK)) {
            model_free(&one);
            continue;
        }
        CHECK(gan_trainer_sync(with.t) == GAN_OK);
        for (int i = 0; i < 10; i++) {
            gan_step_stats a = {.size = sizeof a}, b = {.size = sizeof b};
            CHECK(gan_trainer_step(one.t, &a) == GAN_OK);
            CHECK(gan_trainer_step(with.t, &b) == GAN_OK);
            CHECK(!memcmp(&a, &b, sizeof a));
        }
        vec w1 = weights(&one, 0), w2 = weights(&with, 0);
        CHECK(same_bits(w1, w2));
        free(w1.v);
        free(w2.v);
        model_free(&one);
        model_free(&with);
    }
    return fails;
}

/* Batch norm trains on the rows a rank normalises: a global batch of one row per rank
 * gives each one value per channel, refused on every rank (GAN_EINVAL, agreed), and
 * nothing moves; two rows per rank train. */
static int case_batchnorm_rows(const gan_comm *comm)
{
    int fails = 0;
    spec s = {.batchnorm = 1, .seed = 12};
    model m;
    if (CHECK(model_make(&m, &s, comm) == GAN_OK)) return fails;
    CHECK(gan_trainer_set_batch_size(m.t, (size_t)comm->ranks) == GAN_OK);
    vec before = weights(&m, 0);
    CHECK(gan_trainer_step(m.t, NULL) == GAN_EINVAL);
    CHECK(strstr(gan_error_last(), "batchnorm layer 1: training needs at least 2 values per channel, got 1") != NULL);
    vec after = weights(&m, 0);
    CHECK(same_bits(before, after));
    CHECK(gan_trainer_set_batch_size(m.t, 2 * (size_t)comm->ranks) == GAN_OK);
    CHECK(gan_trainer_step(m.t, NULL) == GAN_OK);
    free(before.v);
    free(after.v);
    model_free(&m);
    return fails;
}

const comm_case comm_cases[] = {
    {"identical", case_identical},   {"matches_one_rank", case_matches_one_rank},
    {"adam_gradients", case_adam_gradients}, {"failure", case_failure},
    {"stop", case_stop},             {"mismatch", case_mismatch},
    {"sync", case_sync},             {"resume", case_resume},
    {"sampler_shard", case_sampler_shard},   {"allocates_nothing", case_allocates_nothing},
    {"batchnorm_rows", case_batchnorm_rows}, {NULL, NULL},
};
