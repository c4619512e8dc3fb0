/* Shared test helpers: a counting allocator that can fail the n-th allocation. */
#ifndef GAN_TEST_UTIL_H
#define GAN_TEST_UTIL_H

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gan.h"

typedef struct {
    size_t allocs, frees; /* calls so far */
    size_t fail_at;       /* 1-based index of the allocation to fail; 0 = never */
} test_alloc_stats;

static test_alloc_stats test_alloc;

static void *test_malloc_fn(void *ctx, size_t size)
{
    (void)ctx;
    if (test_alloc.fail_at && test_alloc.allocs + 1 == test_alloc.fail_at) {
        test_alloc.fail_at = 0; /* fail once */
        return NULL;
    }
    test_alloc.allocs++;
    return malloc(size);
}

static void test_free_fn(void *ctx, void *p)
{
    (void)ctx;
    test_alloc.frees++;
    free(p);
}

/* A whole file in memory (malloc'ed, with a spare byte after it for a terminator); the test
 * fails when it cannot be read. */
static inline uint8_t *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0, k;
    uint8_t *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - 1 - n, f)) > 0)
        if ((n += k) == cap - 1) {
            uint8_t *bigger = realloc(b, cap *= 2);
            if (!bigger) free(b);
            b = bigger;
        }
    fclose(f);
    if (!b) fail_msg("out of memory reading %s", path);
    b[n] = 0;
    *size = n;
    return b;
}

/* Install the counting allocator with fresh counters. */
static inline void test_alloc_install(void)
{
    memset(&test_alloc, 0, sizeof test_alloc);
    gan_allocator a = {test_malloc_fn, test_free_fn, NULL};
    assert_int_equal(gan_set_allocator(&a), GAN_OK);
}

static inline size_t test_alloc_live(void)
{
    return test_alloc.allocs - test_alloc.frees;
}

/* Every failure explains itself (docs/conventions.md): after a call of the public API
 * fails, gan_error_last() starts with the name of the function called, then ": ". `call`
 * is the call's source text; calls of anything but a gan_ function are not checked.
 * Failures checked so far, for tests that count them: */
static size_t failures_explained;

static inline void assert_failure_explained(const char *call)
{
    while (*call == ' ' || *call == '(') call++;
    if (strncmp(call, "gan_", 4) != 0) return;
    size_t n = strcspn(call, "( ");
    const char *msg = gan_error_last();
    if (strncmp(msg, call, n) != 0 || msg[n] != ':')
        fail_msg("%.*s failed with a message that does not start with its name: '%s'", (int)n, call, msg);
    failures_explained++;
}

/* A warmed-up trainer's steps allocate nothing: a step of each kind (alternating, then
 * simultaneous) to warm up, then `steps` more of each, counted. Needs the counting
 * allocator installed. */
static inline void assert_steady_steps_allocate_nothing(gan_trainer *t, uint64_t steps)
{
    const gan_update kinds[2] = {GAN_UPDATE_ALTERNATING, GAN_UPDATE_SIMULTANEOUS};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gan_trainer_set_update(t, kinds[i]), GAN_OK);
        assert_int_equal(gan_trainer_step(t, NULL), GAN_OK);
        size_t before = test_alloc.allocs;
        assert_int_equal(gan_trainer_run(t, steps, NULL, NULL), GAN_OK);
        if (test_alloc.allocs != before)
            fail_msg("%zu allocations in %llu warmed-up steps", test_alloc.allocs - before, (unsigned long long)steps);
    }
}

/* A step that fails (the data callback failing once, armed by *fail_on = when) leaves the
 * trainer's checkpoint bytes as they were: nets, optimizers, streams, settings. */
static inline void assert_failed_step_changes_nothing(gan_trainer *t, int *fail_on, int when, int status)
{
    size_t cap = 1 << 20, n0, n1;
    uint8_t *before = calloc(cap, 1), *after = calloc(cap, 1);
    assert_non_null(before);
    assert_non_null(after);
    assert_int_equal(gan_trainer_save_mem(t, before, cap, &n0), GAN_OK);
    *fail_on = when;
    assert_int_equal(gan_trainer_step(t, NULL), status);
    assert_int_equal(gan_trainer_save_mem(t, after, cap, &n1), GAN_OK);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
}

/* A test run under the counting allocator that fails when the library leaks:
 * TEST(f) registers f with this setup and teardown. */
static inline int leak_checked_setup(void **state)
{
    (void)state;
    test_alloc_install();
    return 0;
}

static inline int leak_checked_teardown(void **state)
{
    (void)state;
    size_t live = test_alloc_live();
    gan_set_allocator(NULL);
    if (live) {
        print_error("%zu library allocation(s) leaked\n", live);
        return -1;
    }
    return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, leak_checked_setup, leak_checked_teardown)

/* Fail allocation k of `call` for k = 1, 2, ... until it succeeds, counting the failures
 * in `failures`. `check` runs after every failure to prove the handles still work. */
#define SWEEP(failures, call, check)                                        \
    do {                                                                    \
        failures = 0;                                                       \
        for (size_t k = 1;; k++) {                                          \
            size_t live_ = test_alloc_live();                               \
            test_alloc.fail_at = test_alloc.allocs + k;                     \
            int status_ = (call);                                           \
            test_alloc.fail_at = 0;                                         \
            if (status_ == GAN_OK) break;                                   \
            assert_error(status_, GAN_ENOMEM, "out of memory");             \
            assert_failure_explained(#call);                                \
            assert_int_equal(test_alloc_live(), live_);                     \
            check;                                                          \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* Add the layer its constructor (status `made`) put in *l. Takes &l, not l: the
 * constructor in the same argument list fills it. A failed add frees the layer. This one
 * returns the status, for code that must not assert (allocation sweeps, other threads). */
static inline int try_add(gan_net *n, int made, gan_layer **l)
{
    if (made) return made;
    int rc = gan_net_add(n, *l);
    if (rc) gan_layer_free(*l);
    return rc;
}

/* try_add(), asserting that it succeeds. */
static inline void add(gan_net *n, int made, gan_layer **l)
{
    assert_int_equal(try_add(n, made, l), GAN_OK);
}

/* Free a trainer, then what it borrowed (any may be NULL). */
static inline void free_gan(gan_trainer *t, gan_optim *og, gan_optim *od, gan_net *g, gan_net *d)
{
    gan_trainer_free(t);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
}

/* The EMA decay gan_trainer_set_ema documents for the update after `steps` steps:
 * min(decay, (1 + s) / (10 + s)). Stated here from the header, not taken from lib/. */
static inline float ema_decay_after(float decay, uint64_t steps)
{
    float warm = (float)((1.0 + (double)steps) / (10.0 + (double)steps));
    return decay < warm ? decay : warm;
}

/* A trainer's whole saved state (G, D, both optimizers, settings, streams, EMA, step
 * count) as checkpoint bytes in the test's own memory, to check that a call which
 * failed, or must not change it, left it bit for bit as it was. */
typedef struct {
    uint8_t *b;
    size_t n;
} image;

static inline image snap(const gan_trainer *t)
{
    image s;
    assert_int_equal(gan_trainer_save_mem(t, NULL, 0, &s.n), GAN_OK);
    s.b = malloc(s.n);
    assert_non_null(s.b);
    size_t again = 0;
    assert_int_equal(gan_trainer_save_mem(t, s.b, s.n, &again), GAN_OK);
    assert_int_equal(again, s.n);
    return s;
}

static inline void assert_same_image(const gan_trainer *t, const image *s)
{
    image now = snap(t);
    assert_int_equal(now.n, s->n);
    assert_memory_equal(now.b, s->b, s->n);
    free(now.b);
}

/* Add *l (made with status `made`) reading nodes `from` (gan_net_add_from), or the last
 * node when n_from is 0 (gan_net_add); a refused layer is freed and the test fails. FROM
 * lists the nodes: add_from(n, gan_layer_add(&l, 2), &l, FROM(3, 0)). */
static inline void add_from(gan_net *n, int made, gan_layer **l, const size_t *from, size_t n_from)
{
    assert_int_equal(made, GAN_OK);
    int rc = n_from ? gan_net_add_from(n, *l, from, n_from) : gan_net_add(n, *l);
    if (rc) {
        gan_layer_free(*l);
        fail_msg("adding a layer: %s", gan_error_last());
    }
}
#define FROM(...) (const size_t[]){__VA_ARGS__}, sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t)

/* in -> dense hidden -> act -> dense hidden -> act -> dense out (-> sigmoid). */
static inline gan_net *mlp(size_t in, size_t hidden, size_t out, gan_activation act, int sigmoid)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, in), GAN_OK);
    add(n, gan_layer_dense(&l, in, hidden), &l);
    add(n, gan_layer_activation(&l, act), &l);
    add(n, gan_layer_dense(&l, hidden, hidden), &l);
    add(n, gan_layer_activation(&l, act), &l);
    add(n, gan_layer_dense(&l, hidden, out), &l);
    if (sigmoid) add(n, gan_layer_activation(&l, GAN_ACT_SIGMOID), &l);
    return n;
}

/* --------------------------------------------- numeric checks (gradients, references) */

static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    assert_non_null(p);
    return p;
}

static inline gan_rng *new_rng(uint64_t seed)
{
    gan_rng *rng = NULL;
    assert_int_equal(gan_rng_create(&rng, seed), GAN_OK);
    return rng;
}

static inline void fill(gan_rng *rng, float *dst, size_t n, float lo, float hi)
{
    assert_int_equal(gan_rng_fill_uniform(rng, dst, n, lo, hi), GAN_OK);
}

static inline void to_double(const float *src, double *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

static inline double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The reference of spectral normalization with the library's u (cols) and v (rows) held:
 * out = w / sigma, sigma = v^T w u (w rows x cols); returns sigma. */
static inline double sn_reference(double *out, const double *w, size_t rows, size_t cols, const float *u,
                                  const float *v)
{
    double sigma = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) sigma += v[i] * w[i * cols + j] * u[j];
    double s = sigma > 0.0 ? sigma : 1.0;
    for (size_t i = 0; i < rows * cols; i++) out[i] = w[i] / s;
    return sigma;
}

/* Assert that rc is the expected code and that the message mentions `needle`. */
#define assert_error(rc, code, needle)                                              \
    do {                                                                            \
        int rc_ = (rc);                                                             \
        if (rc_ != (code)) fail_msg("got %d (%s), expected %d: %s", rc_,            \
                                    gan_strerror(rc_), (code), gan_error_last());   \
        if (!strstr(gan_error_last(), (needle)))                                    \
            fail_msg("message '%s' does not mention '%s'", gan_error_last(), (needle)); \
        if (rc_) assert_failure_explained(#rc);                                     \
    } while (0)


/* |actual - expected| <= tol * max(1, |expected|). */
static inline int close_to(double actual, double expected, double tol)
{
    return fabs(actual - expected) <= tol * fmax(1.0, fabs(expected));
}

static inline void assert_close(double actual, double expected, double tol, const char *what, size_t i)
{
    if (!close_to(actual, expected, tol))
        fail_msg("%s[%zu]: got %.9g, expected %.9g (tolerance %g)", what, i, actual, expected, tol);
}

/* An internal call's status and message (the public-name rule of assert_error does not
 * apply to internal functions). */
#define assert_status(rc, code, needle)                                                          \
    do {                                                                                         \
        int rc_ = (rc);                                                                          \
        if (rc_ != (code)) fail_msg("got %d, expected %d: %s", rc_, (code), gan_error_last());   \
        if (!strstr(gan_error_last(), (needle)))                                                 \
            fail_msg("message '%s' does not mention '%s'", gan_error_last(), (needle));          \
    } while (0)

#endif
