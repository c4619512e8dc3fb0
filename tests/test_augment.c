/* DiffAugment (lib/augment.c, gan_trainer_set_augment): each transform against its
 * definition, the adjoint against central differences for every policy, G's gradient
 * through D and the transform against central differences of G's loss, and the trainer's
 * setting: refusals, reproducible and resumable runs, files, steps that allocate
 * nothing. Linked with the library's objects, to drive the transforms and read the
 * trainer's draws. */
#define _GNU_SOURCE /* memmem */
#include "test_util.h"

#include "augment_impl.h"
#include "trainer_impl.h"

#include <math.h>
#include <zlib.h>

enum { ALL = GAN_AUGMENT_COLOR | GAN_AUGMENT_TRANSLATION | GAN_AUGMENT_CUTOUT };

static float *xcalloc_f(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static void fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    gan_rng *r;
    assert_int_equal(gan_rng_create(&r, seed), GAN_OK);
    assert_int_equal(gan_rng_fill_uniform(r, x, n, lo, hi), GAN_OK);
    gan_rng_free(r);
}

/* ------------------------------------------------------ the transforms */

/* u of one row: every draw at its middle, then the ones given. */
static void draws(float *u, float bright, float sat, float con, float sy, float sx, float cy, float cx)
{
    const float v[GAN__AUGMENT_DRAWS] = {bright, sat, con, sy, sx, cy, cx};
    memcpy(u, v, sizeof v);
}

/* Each transform as the paper's code defines it, on a 3 x 8 x 8 image (shift up to 1,
 * cutout 4 x 4). */
static void transforms_by_definition(void **state)
{
    (void)state;
    enum { C = 3, H = 8, W = 8, N = C * H * W };
    float x[N], y[N], tmp[N], u[GAN__AUGMENT_DRAWS];
    fill_uniform(x, N, 1, -1.0f, 1.0f);
    /* Draws at 0.5 are the identity of colour (saturation 1, contrast 1) and no shift. */
    gan__augment a = {ALL & ~GAN_AUGMENT_CUTOUT, C, H, W};
    draws(u, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0, 0);
    memcpy(y, x, sizeof x);
    gan__augment_forward(&a, u, y, 1, N, tmp);
    for (int k = 0; k < N; k++) assert_float_equal(y[k], x[k], 1e-6);
    /* Brightness adds u - 0.5; saturation 0 leaves each pixel's channel mean; contrast
     * 0.5 (u = 0) halves the distance to the image's mean. */
    a.policy = GAN_AUGMENT_COLOR;
    draws(u, 0.9f, 0.0f, 0.5f, 0, 0, 0, 0);
    memcpy(y, x, sizeof x);
    gan__augment_forward(&a, u, y, 1, N, tmp);
    for (int p = 0; p < H * W; p++) {
        float m = (x[p * C] + x[p * C + 1] + x[p * C + 2]) / 3 + 0.4f;
        for (int c = 0; c < C; c++) assert_float_equal(y[p * C + c], m, 1e-5);
    }
    draws(u, 0.5f, 0.5f, 0.0f, 0, 0, 0, 0);
    memcpy(y, x, sizeof x);
    gan__augment_forward(&a, u, y, 1, N, tmp);
    double mean = 0;
    for (int k = 0; k < N; k++) mean += x[k] / N;
    for (int k = 0; k < N; k++) assert_float_equal(y[k], 0.5 * x[k] + 0.5 * mean, 1e-5);
    /* Translation: u = 0 shifts by -1 both ways, output (i, j) reads (i - 1, j - 1). */
    a.policy = GAN_AUGMENT_TRANSLATION;
    draws(u, 0, 0, 0, 0.0f, 0.99f, 0, 0);
    memcpy(y, x, sizeof x);
    gan__augment_forward(&a, u, y, 1, N, tmp);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
            for (int c = 0; c < C; c++) {
                int si = i - 1, sj = j + 1;
                float want = si < 0 || sj >= W ? 0.0f : x[(si * W + sj) * C + c];
                assert_float_equal(y[(i * W + j) * C + c], want, 0);
            }
    /* Cutout: a 4 x 4 square centred on a uniform place in [0, 8], clipped: centre 0
     * (u = 0) cuts rows [0, 2); u = 0.99 (centre 8) rows [6, 8). */
    a.policy = GAN_AUGMENT_CUTOUT;
    draws(u, 0, 0, 0, 0, 0, 0.0f, 0.99f);
    memcpy(y, x, sizeof x);
    gan__augment_forward(&a, u, y, 1, N, tmp);
    int zeros = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            int cut = i < 2 && j >= 6;
            for (int c = 0; c < C; c++) {
                assert_float_equal(y[(i * W + j) * C + c], cut ? 0.0f : x[(i * W + j) * C + c], 0);
                zeros += y[(i * W + j) * C + c] == 0.0f;
            }
        }
    assert_int_equal(zeros, 2 * 2 * C);
    /* An odd side: size int(7 / 2 + 0.5) = 4 (even), centre in [0, 8); centre 3 cuts [1, 5). */
    gan__augment odd = {GAN_AUGMENT_CUTOUT, 1, 7, 7};
    float x7[49], t7[49];
    for (int k = 0; k < 49; k++) x7[k] = 1.0f;
    draws(u, 0, 0, 0, 0, 0, 3.5f / 8, 3.5f / 8);
    gan__augment_forward(&odd, u, x7, 1, 49, t7);
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++) assert_float_equal(x7[i * 7 + j], i >= 1 && i < 5 && j >= 1 && j < 5 ? 0 : 1, 0);
}

/* The adjoint against central differences of L(x) = <w, aug(x)>, for every policy, on
 * shapes with one and three channels, odd and even sides, rows with a stride. */
static void adjoint_matches_central_differences(void **state)
{
    (void)state;
    const size_t shapes[][3] = {{3, 6, 6}, {1, 5, 7}, {3, 4, 9}};
    enum { ROWS = 3, PAD = 2 };
    for (size_t s = 0; s < 3; s++) {
        size_t c = shapes[s][0], h = shapes[s][1], w = shapes[s][2], n = c * h * w, stride = n + PAD;
        float *x = xcalloc_f(ROWS * stride), *y = xcalloc_f(ROWS * stride), *dy = xcalloc_f(ROWS * stride);
        float *dx = xcalloc_f(ROWS * n), *tmp = xcalloc_f(n), u[ROWS * GAN__AUGMENT_DRAWS];
        fill_uniform(x, ROWS * stride, 10 + s, -1.0f, 1.0f);
        fill_uniform(dy, ROWS * stride, 20 + s, -1.0f, 1.0f);
        for (unsigned policy = 1; policy <= ALL; policy++) {
            gan__augment a = {policy, c, h, w};
            fill_uniform(u, ROWS * GAN__AUGMENT_DRAWS, 30 + policy, 0.0f, 1.0f);
            gan__augment_adjoint(&a, u, dy, stride, dx, n, ROWS);
            for (size_t r = 0; r < ROWS; r++)
                for (size_t k = 0; k < n; k++) {
                    double l[2];
                    for (int side = 0; side < 2; side++) {
                        const float eps = 1e-2f;
                        memcpy(y, x, ROWS * stride * sizeof *y);
                        y[r * stride + k] += side ? eps : -eps;
                        gan__augment_forward(&a, u, y, ROWS, stride, tmp);
                        l[side] = 0;
                        for (size_t i = 0; i < n; i++) l[side] += (double)dy[r * stride + i] * y[r * stride + i];
                    }
                    double fd = (l[1] - l[0]) / 2e-2;
                    if (fabs(fd - dx[r * n + k]) > 2e-3 * (1 + fabs(fd)))
                        fail_msg("policy %u, shape %zux%zux%zu, row %zu, value %zu: adjoint %g, differences %g", policy,
                                 c, h, w, r, k, (double)dx[r * n + k], fd);
                    /* the padding (a condition) is never touched */
                    for (size_t i = n; i < stride; i++) assert_float_equal(y[r * stride + i], x[r * stride + i], 0);
                }
        }
        free(x);
        free(y);
        free(dy);
        free(dx);
        free(tmp);
    }
}

/* ------------------------------------------------------- the trainer */

enum { C = 3, S = 4, DIM = C * S * S, NZ = 5, BATCH = 6 };

typedef struct rig {
    gan_net *g, *d;
    gan_optim *og, *od;
    gan_trainer *t;
    int fail_on; /* the data callback fails on its n-th call from now (0: never) */
} rig;

static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    rig *r = payload;
    (void)cond;
    if (r->fail_on && --r->fail_on == 0) return -1;
    return gan_rng_fill_uniform(rng, x, batch * DIM, -1.0f, 1.0f);
}

/* G: dense z -> 3 x 4 x 4 (reshape) -> tanh; D: an image net, dense 8 -> leaky -> 1. */
static void rig_make(rig *r, uint64_t seed, int image_d)
{
    gan_layer *l;
    memset(r, 0, sizeof *r);
    assert_int_equal(gan_net_create(&r->g, NZ), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, NZ, DIM), GAN_OK);
    assert_int_equal(gan_net_add(r->g, l), GAN_OK);
    assert_int_equal(gan_layer_reshape(&l, C, S, S), GAN_OK);
    assert_int_equal(gan_net_add(r->g, l), GAN_OK);
    assert_int_equal(gan_layer_activation(&l, GAN_ACT_TANH), GAN_OK);
    assert_int_equal(gan_net_add(r->g, l), GAN_OK);
    assert_int_equal(image_d ? gan_net_create_image(&r->d, C, S, S) : gan_net_create(&r->d, DIM), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, DIM, 8), GAN_OK);
    assert_int_equal(gan_net_add(r->d, l), GAN_OK);
    assert_int_equal(gan_layer_leaky_relu(&l, 0.2f), GAN_OK);
    assert_int_equal(gan_net_add(r->d, l), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 8, 1), GAN_OK);
    assert_int_equal(gan_net_add(r->d, l), GAN_OK);
    assert_int_equal(gan_optim_sgd(&r->og, 0.5f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&r->od, 0.5f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&r->t, r->g, r->d, r->og, r->od), GAN_OK);
    assert_int_equal(gan_trainer_set_seed(r->t, seed), GAN_OK);
    assert_int_equal(gan_net_init(r->g, gan_trainer_rng(r->t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(r->d, gan_trainer_rng(r->t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_set_data(r->t, data, r), GAN_OK);
    assert_int_equal(gan_trainer_set_noise_normal(r->t, 1.0f), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(r->t, BATCH), GAN_OK);
}

static void rig_free(rig *r)
{
    gan_trainer_free(r->t);
    gan_optim_free(r->og);
    gan_optim_free(r->od);
    gan_net_free(r->g);
    gan_net_free(r->d);
}

/* G's non-saturating loss, mean over the rows, of G's parameters p on noise z with the
 * fake rows' draws u, through D as it stands. */
static double g_loss(rig *r, const float *p, const float *z, const float *u)
{
    float x[BATCH * DIM], tmp[DIM], logit[BATCH];
    memcpy(gan_net_params(r->g), p, gan_net_num_params(r->g) * sizeof *p);
    assert_int_equal(gan_net_forward(r->g, z, BATCH, x, 1), GAN_OK);
    gan__augment_forward(&r->t->augment, u, x, BATCH, DIM, tmp);
    assert_int_equal(gan_net_forward(r->d, x, BATCH, logit, 1), GAN_OK);
    double loss = 0;
    for (int i = 0; i < BATCH; i++) loss += log1p(exp(-(double)logit[i])) / BATCH; /* -log sigmoid */
    return loss;
}

/* An alternating step with SGD (lr 0.5, no momentum) moves G by -0.5 times its gradient,
 * taken through D (after D's update) and the fake rows' transform: against central
 * differences of G's loss on the same noise and the same draws (the trainer's last). */
static void g_gradient_through_the_transform(void **state)
{
    (void)state;
    for (unsigned policy = 1; policy <= ALL; policy++) {
        rig r;
        rig_make(&r, 40 + policy, 1);
        assert_int_equal(gan_trainer_set_augment(r.t, policy), GAN_OK);
        gan_rng noise = *gan_trainer_rng(r.t, GAN_STREAM_NOISE);
        size_t np = gan_net_num_params(r.g);
        float *p0 = xcalloc_f(np), *p1 = xcalloc_f(np), *p = xcalloc_f(np), z[2 * BATCH * NZ];
        float u[BATCH * GAN__AUGMENT_DRAWS];
        memcpy(p0, gan_net_params(r.g), np * sizeof *p0);
        assert_int_equal(gan_trainer_step(r.t, NULL), GAN_OK);
        memcpy(p1, gan_net_params(r.g), np * sizeof *p1);
        memcpy(u, r.t->aug_fake, sizeof u); /* G's update took D's last rows */
        /* D's update drew its noise, then G's update drew its own */
        assert_int_equal(gan_rng_fill_normal(&noise, z, 2 * BATCH * NZ, 0.0f, 1.0f), GAN_OK);
        const float *zg = z + BATCH * NZ;
        double worst = 0, scale = 0;
        for (size_t k = 0; k < np; k++) {
            const float eps = 1e-2f;
            memcpy(p, p0, np * sizeof *p);
            p[k] += eps;
            double up = g_loss(&r, p, zg, u);
            p[k] -= 2 * eps;
            double down = g_loss(&r, p, zg, u);
            double fd = (up - down) / (2 * eps), grad = (p0[k] - p1[k]) / 0.5;
            worst = fmax(worst, fabs(fd - grad));
            scale = fmax(scale, fabs(fd));
        }
        if (!(worst <= 2e-3 * scale && scale > 1e-3))
            fail_msg("policy %u: G's gradient %g off central differences of scale %g", policy, worst, scale);
        free(p0);
        free(p1);
        free(p);
        rig_free(&r);
    }
}

static void refusals(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 1, 0);
    assert_int_equal(gan_trainer_set_augment(NULL, GAN_AUGMENT_COLOR), GAN_EINVAL);
    assert_int_equal(gan_trainer_set_augment(r.t, 8), GAN_EINVAL);
    assert_failure_explained("gan_trainer_set_augment");
    assert_non_null(strstr(gan_error_last(), "unknown augmentation bits 0x8"));
    /* D flat, G an image: the data rows are G's images */
    assert_int_equal(gan_trainer_set_augment(r.t, ALL), GAN_OK);
    assert_int_equal(r.t->augment.height, S);
    assert_int_equal(gan_trainer_set_augment(r.t, GAN_AUGMENT_NONE), GAN_OK);
    rig_free(&r);
    /* Neither net's rows are images: refused, the setting kept. */
    gan_net *g, *d;
    gan_layer *l;
    gan_optim *o, *o2;
    gan_trainer *t;
    assert_int_equal(gan_net_create(&g, NZ), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, NZ, DIM), GAN_OK);
    assert_int_equal(gan_net_add(g, l), GAN_OK);
    assert_int_equal(gan_net_create(&d, DIM), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, DIM, 1), GAN_OK);
    assert_int_equal(gan_net_add(d, l), GAN_OK);
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0, 0), GAN_OK);
    assert_int_equal(gan_optim_sgd(&o2, 0.1f, 0, 0), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, g, d, o, o2), GAN_OK);
    assert_int_equal(gan_trainer_set_augment(t, GAN_AUGMENT_TRANSLATION), GAN_EINVAL);
    assert_failure_explained("gan_trainer_set_augment");
    assert_non_null(strstr(gan_error_last(), "augmentation transforms images"));
    assert_int_equal(t->augment.policy, 0);
    gan_trainer_free(t);
    gan_optim_free(o);
    gan_optim_free(o2);
    gan_net_free(g);
    gan_net_free(d);
}

static float *run(uint64_t seed, unsigned policy, int steps, gan_update mode)
{
    rig r;
    rig_make(&r, seed, 1);
    if (policy != ~0u) assert_int_equal(gan_trainer_set_augment(r.t, policy), GAN_OK);
    assert_int_equal(gan_trainer_set_update(r.t, mode), GAN_OK);
    assert_int_equal(gan_trainer_run(r.t, (uint64_t)steps, NULL, NULL), GAN_OK);
    size_t np = gan_net_num_params(r.g);
    float *p = xcalloc_f(np);
    memcpy(p, gan_net_params(r.g), np * sizeof *p);
    rig_free(&r);
    return p;
}

/* The same seed gives the same bits; the augmentation changes them; policy 0 is a
 * trainer that never had one; in every update mode. */
static void reproducible(void **state)
{
    (void)state;
    const gan_update modes[] = {GAN_UPDATE_ALTERNATING, GAN_UPDATE_SIMULTANEOUS, GAN_UPDATE_REUSE_FAKES};
    size_t np = (NZ + 1) * DIM;
    for (int m = 0; m < 3; m++) {
        float *a = run(3, ALL, 5, modes[m]), *b = run(3, ALL, 5, modes[m]);
        float *none = run(3, GAN_AUGMENT_NONE, 5, modes[m]), *never = run(3, ~0u, 5, modes[m]);
        assert_memory_equal(a, b, np * sizeof *a);
        assert_memory_equal(none, never, np * sizeof *a);
        assert_memory_not_equal(a, none, np * sizeof *a);
        free(a);
        free(b);
        free(none);
        free(never);
    }
}

/* The CRC of a checkpoint's TSET chunk (docs/file-format.md: type, flags, u64 length,
 * payload, CRC-32 of all before it) after its payload was patched. */
static void fix_tset_crc(uint8_t *f, size_t size)
{
    uint8_t *c = memmem(f, size, "TSET", 4);
    assert_non_null(c);
    uint64_t len = 0;
    for (int i = 7; i >= 0; i--) len = len << 8 | c[8 + i];
    uint32_t crc = (uint32_t)crc32(0, c, (uInt)(16 + len));
    for (int i = 0; i < 4; i++) c[16 + len + (uint64_t)i] = (uint8_t)(crc >> (8 * i));
}

/* A run saved after 3 steps and resumed into a fresh trainer (which had no augmentation
 * set) continues bit for bit; a build that does not know the setting refuses the file
 * (its entry is required) and one without it writes none. */
static void resumes_bit_for_bit(void **state)
{
    (void)state;
    test_alloc_install();
    rig a, b;
    rig_make(&a, 9, 1);
    rig_make(&b, 9, 1);
    assert_int_equal(gan_trainer_set_augment(a.t, GAN_AUGMENT_COLOR | GAN_AUGMENT_CUTOUT), GAN_OK);
    assert_int_equal(gan_trainer_set_gradient_penalty(a.t, GAN_PENALTY_R1, 1.0f, 2), GAN_OK);
    assert_int_equal(gan_trainer_run(a.t, 3, NULL, NULL), GAN_OK);
    size_t cap = 1 << 16, n, n_none;
    uint8_t *buf = calloc(cap, 1), *none = calloc(cap, 1);
    const uint8_t entry[8] = {14, 0, 0, 0x80, 4, 0, 0, 0}; /* TSET's key 14, required, 4 bytes */
    assert_int_equal(gan_trainer_save_mem(a.t, buf, cap, &n), GAN_OK);
    assert_non_null(memmem(buf, n, entry, sizeof entry));
    assert_int_equal(gan_trainer_set_augment(a.t, GAN_AUGMENT_NONE), GAN_OK);
    assert_int_equal(gan_trainer_save_mem(a.t, none, cap, &n_none), GAN_OK);
    assert_null(memmem(none, n_none, entry, sizeof entry)); /* off: written as builds before it wrote */
    assert_int_equal(n, n_none + sizeof entry + 4);
    /* unknown bits are refused as their setter refuses them */
    uint8_t *value = (uint8_t *)memmem(buf, n, entry, sizeof entry) + sizeof entry;
    value[0] = 8;
    fix_tset_crc(buf, n);
    assert_int_equal(gan_trainer_load_mem(b.t, buf, n), GAN_EFORMAT);
    assert_non_null(strstr(gan_error_last(), "unknown augmentation bits 0x8"));
    assert_int_equal(b.t->augment.policy, 0);
    value[0] = GAN_AUGMENT_COLOR | GAN_AUGMENT_CUTOUT;
    fix_tset_crc(buf, n);
    assert_int_equal(gan_trainer_load_mem(b.t, buf, n), GAN_OK);
    assert_int_equal(gan_trainer_load_mem(a.t, buf, n), GAN_OK);
    assert_int_equal(b.t->augment.policy, GAN_AUGMENT_COLOR | GAN_AUGMENT_CUTOUT);
    assert_int_equal(b.t->augment.channels, C);
    /* warmed up, the steps allocate nothing */
    assert_int_equal(gan_trainer_step(a.t, NULL), GAN_OK);
    assert_int_equal(gan_trainer_step(b.t, NULL), GAN_OK);
    size_t before = test_alloc.allocs;
    assert_int_equal(gan_trainer_run(a.t, 4, NULL, NULL), GAN_OK);
    assert_int_equal(gan_trainer_run(b.t, 4, NULL, NULL), GAN_OK);
    assert_int_equal(test_alloc.allocs, before);
    assert_memory_equal(gan_net_params(a.g), gan_net_params(b.g), gan_net_num_params(a.g) * sizeof(float));
    assert_memory_equal(gan_net_params(a.d), gan_net_params(b.d), gan_net_num_params(a.d) * sizeof(float));
    free(buf);
    free(none);
    rig_free(&a);
    rig_free(&b);
    assert_int_equal(test_alloc_live(), 0);
    gan_set_allocator(NULL);
}

/* A step whose second D update fails leaves everything as it was, draws included. */
static void a_failed_step_changes_nothing(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 11, 1);
    assert_int_equal(gan_trainer_set_augment(r.t, ALL), GAN_OK);
    assert_int_equal(gan_trainer_set_d_steps(r.t, 2), GAN_OK);
    assert_int_equal(gan_trainer_step(r.t, NULL), GAN_OK);
    assert_failed_step_changes_nothing(r.t, &r.fail_on, 2, GAN_EUSER);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transforms_by_definition),
        cmocka_unit_test(adjoint_matches_central_differences),
        cmocka_unit_test(g_gradient_through_the_transform),
        cmocka_unit_test(refusals),
        cmocka_unit_test(reproducible),
        cmocka_unit_test(resumes_bit_for_bit),
        cmocka_unit_test(a_failed_step_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
