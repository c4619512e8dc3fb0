/* Spectral normalization (gan_layer_spectral_norm): the estimate against LAPACK's SVD,
 * the state it keeps, files, a trainer that steps, fails and resumes with it, and its
 * errors. The gradient checks are in test_layers.c (dense, maxout) and test_conv.c. */
#include "test_util.h"

#include <math.h>

/* LAPACK's SVD (OpenBLAS carries it; the reference build links liblapack). */
void dgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork, int *info,
             size_t jobu_len, size_t jobvt_len);

/* The largest singular value of a rows x cols float matrix. */
static double largest_singular_value(const float *w, size_t rows, size_t cols)
{
    int m = (int)cols, n = (int)rows, one = 1, info = 0, lwork = -1; /* column-major: the transpose */
    double *a = xcalloc(rows * cols, sizeof *a), *s = xcalloc(rows + cols, sizeof *s), query;
    to_double(w, a, rows * cols);
    dgesvd_("N", "N", &m, &n, a, &m, s, NULL, &one, NULL, &one, &query, &lwork, &info, 1, 1);
    lwork = (int)query;
    double *work = xcalloc((size_t)lwork, sizeof *work);
    dgesvd_("N", "N", &m, &n, a, &m, s, NULL, &one, NULL, &one, work, &lwork, &info, 1, 1);
    assert_int_equal(info, 0);
    double top = s[0];
    free(a), free(s), free(work);
    return top;
}

static gan_net *spectral_dense(size_t in, size_t out, size_t iterations, int bias)
{
    gan_net *n;
    gan_layer *l;
    assert_int_equal(gan_net_create(&n, in), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, in, out), GAN_OK);
    if (!bias) assert_int_equal(gan_layer_set_bias(l, 0), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, iterations), GAN_OK);
    add(n, GAN_OK, &l);
    return n;
}

/* After enough training forwards the net computes x W / sigma_max(W): rows of the
 * identity give back W / sigma, whose largest singular value is then 1. Dense, then the
 * matrix a conv2d stores ((k*k*cin) x cout). */
static void sigma_matches_the_svd(void **state)
{
    (void)state;
    enum { IN = 7, OUT = 5 };
    gan_net *n = spectral_dense(IN, OUT, 8, 0);
    gan_rng *rng = new_rng(3);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    float eye[IN * IN] = {0}, y[IN * OUT];
    for (int i = 0; i < IN; i++) eye[i * IN + i] = 1.0f;
    double sigma = largest_singular_value(gan_net_params(n), IN, OUT);
    for (int i = 0; i < 50; i++) assert_int_equal(gan_net_forward(n, eye, IN, y, 1), GAN_OK);
    for (int i = 0; i < IN * OUT; i++) assert_true(fabs(y[i] - gan_net_params(n)[i] / sigma) < 1e-5);
    assert_true(fabs(largest_singular_value(y, IN, OUT) - 1.0) < 1e-5);
    gan_net_free(n);

    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 3, 6, 6), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, 3, 4, 3, 2, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 4), GAN_OK);
    add(n, GAN_OK, &l);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_HE, 1.0f), GAN_OK);
    float x[6 * 6 * 3], out[3 * 3 * 4];
    fill(rng, x, sizeof x / sizeof *x, -1.0f, 1.0f);
    for (int i = 0; i < 100; i++) assert_int_equal(gan_net_forward(n, x, 1, out, 1), GAN_OK);
    /* sigma from the state against the SVD of the 27 x 4 weights */
    const float *u = gan_net_state(n), *v = u + 4, *w = gan_net_params(n);
    double est = 0.0;
    for (int i = 0; i < 27; i++)
        for (int j = 0; j < 4; j++) est += v[i] * w[i * 4 + j] * u[j];
    double want = largest_singular_value(w, 27, 4);
    assert_true(fabs(est - want) < 1e-5 * want);
    gan_net_free(n);
    gan_rng_free(rng);
}

/* u and v are state: unit vectors from gan_net_init; a training forward moves them, an
 * evaluation forward does not; the optimizer never touches them. */
static void vectors_are_state(void **state)
{
    (void)state;
    gan_net *n = spectral_dense(4, 3, 1, 1);
    assert_int_equal(gan_net_num_state(n), 3 + 4);
    gan_rng *rng = new_rng(4);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_XAVIER, 1.0f), GAN_OK);
    float *s = gan_net_state(n), before[7], x[8], y[6], dy[6] = {1, 2, 3, 4, 5, 6};
    double nu = 0.0, nv = 0.0;
    for (int i = 0; i < 3; i++) nu += s[i] * s[i];
    for (int i = 3; i < 7; i++) nv += s[i] * s[i];
    assert_true(fabs(nu - 1.0) < 1e-6 && fabs(nv - 1.0) < 1e-6);
    fill(rng, x, 8, -1.0f, 1.0f);
    memcpy(before, s, sizeof before);
    assert_int_equal(gan_net_forward(n, x, 2, y, 0), GAN_OK);
    assert_memory_equal(before, s, sizeof before);
    assert_int_equal(gan_net_forward(n, x, 2, y, 1), GAN_OK);
    assert_true(memcmp(before, s, sizeof before) != 0);
    memcpy(before, s, sizeof before);
    gan_optim *o;
    assert_int_equal(gan_optim_sgd(&o, 0.1f, 0.0f, 0), GAN_OK);
    assert_int_equal(gan_net_zero_grads(n), GAN_OK);
    assert_int_equal(gan_net_backward(n, dy, NULL), GAN_OK);
    assert_int_equal(gan_optim_step(o, n), GAN_OK);
    assert_memory_equal(before, s, sizeof before);
    gan_optim_free(o);
    gan_net_free(n);
    gan_rng_free(rng);
}

/* A model file keeps the normalization and its vectors: the loaded net computes the same
 * outputs, in evaluation and training mode, and saves to the same bytes. */
static void files_keep_it(void **state)
{
    (void)state;
    gan_net *n, *back;
    gan_layer *l;
    assert_int_equal(gan_net_create_image(&n, 1, 8, 8), GAN_OK);
    assert_int_equal(gan_layer_conv2d(&l, 1, 2, 4, 2, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 2), GAN_OK);
    add(n, GAN_OK, &l);
    add(n, gan_layer_leaky_relu(&l, 0.2f), &l);
    assert_int_equal(gan_layer_dense(&l, 32, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add(n, GAN_OK, &l);
    gan_rng *rng = new_rng(5);
    assert_int_equal(gan_net_init(n, rng, GAN_INIT_DCGAN, 1.0f), GAN_OK);
    float x[2 * 64], y[2], z[2];
    fill(rng, x, 128, -1.0f, 1.0f);
    assert_int_equal(gan_net_forward(n, x, 2, y, 1), GAN_OK); /* moves u and v */
    size_t size, again;
    assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
    uint8_t *a = xcalloc(size, 1), *b = xcalloc(size, 1);
    assert_int_equal(gan_net_save_mem(n, a, size, &size), GAN_OK);
    assert_int_equal(gan_net_load_mem(&back, a, size), GAN_OK);
    assert_int_equal(gan_net_num_state(back), gan_net_num_state(n));
    assert_memory_equal(gan_net_state(back), gan_net_state(n), gan_net_num_state(n) * sizeof(float));
    assert_int_equal(gan_net_save_mem(back, b, size, &again), GAN_OK);
    assert_int_equal(again, size);
    assert_memory_equal(a, b, size);
    for (int train = 0; train < 2; train++) {
        assert_int_equal(gan_net_forward(n, x, 2, y, train), GAN_OK);
        assert_int_equal(gan_net_forward(back, x, 2, z, train), GAN_OK);
        assert_memory_equal(y, z, sizeof y);
    }
    free(a), free(b);
    gan_net_free(back);
    gan_net_free(n);
    gan_rng_free(rng);
}

/* A trainer with spectral norm in D: steps allocate nothing once warmed up; a step whose
 * data callback fails leaves u and v (the whole checkpoint) as they were; a checkpoint
 * resumes bit for bit; a D without the norm does not take its checkpoint. */
typedef struct {
    int calls, fail_on;
} feed;

static int data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    feed *f = payload;
    (void)cond;
    if (++f->calls == f->fail_on) return 3;
    return gan_rng_fill_normal(rng, x, 2 * batch, 1.0f, 0.5f);
}

static gan_net *spectral_d(int spectral)
{
    gan_net *d;
    gan_layer *l;
    assert_int_equal(gan_net_create(&d, 2), GAN_OK);
    assert_int_equal(gan_layer_dense(&l, 2, 16), GAN_OK);
    if (spectral) assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add(d, GAN_OK, &l);
    add(d, gan_layer_leaky_relu(&l, 0.2f), &l);
    assert_int_equal(gan_layer_dense(&l, 16, 1), GAN_OK);
    if (spectral) assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    add(d, GAN_OK, &l);
    return d;
}

static gan_trainer *make_trainer(gan_net **g, gan_net **d, gan_optim **og, gan_optim **od, feed *f, int spectral)
{
    gan_trainer *t;
    *g = mlp(3, 8, 2, GAN_ACT_RELU, 0);
    *d = spectral_d(spectral);
    assert_int_equal(gan_optim_adam(og, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_optim_adam(od, 1e-3f, 0.5f, 0.999f, 1e-8f), GAN_OK);
    assert_int_equal(gan_trainer_create(&t, *g, *d, *og, *od), GAN_OK);
    assert_int_equal(gan_trainer_set_data(t, data, f), GAN_OK);
    assert_int_equal(gan_trainer_set_batch_size(t, 16), GAN_OK);
    assert_int_equal(gan_net_init(*g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    assert_int_equal(gan_net_init(*d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_XAVIER, 1.0f), GAN_OK);
    return t;
}

static void trains_fails_and_resumes(void **state)
{
    (void)state;
    gan_net *g, *d, *g2, *d2, *g3, *d3;
    gan_optim *og, *od, *og2, *od2, *og3, *od3;
    feed f = {0, 0}, f2 = {0, 0}, f3 = {0, 0};
    gan_trainer *t = make_trainer(&g, &d, &og, &od, &f, 1);
    assert_steady_steps_allocate_nothing(t, 3);
    image mid = snap(t);
    f.fail_on = f.calls + 1;
    assert_error(gan_trainer_step(t, NULL), GAN_EUSER, "data callback");
    assert_same_image(t, &mid);
    assert_int_equal(gan_trainer_run(t, 5, NULL, NULL), GAN_OK);
    image end = snap(t);

    gan_trainer *t2 = make_trainer(&g2, &d2, &og2, &od2, &f2, 1);
    assert_int_equal(gan_trainer_load_mem(t2, mid.b, mid.n), GAN_OK);
    assert_int_equal(gan_trainer_run(t2, 5, NULL, NULL), GAN_OK);
    assert_same_image(t2, &end);

    gan_trainer *t3 = make_trainer(&g3, &d3, &og3, &od3, &f3, 0);
    assert_error(gan_trainer_load_mem(t3, mid.b, mid.n), GAN_EFORMAT, "spectral norm (1 iteration) in the file");
    free(mid.b), free(end.b);
    free_gan(t, og, od, g, d);
    free_gan(t2, og2, od2, g2, d2);
    free_gan(t3, og3, od3, g3, d3);
}

static void errors(void **state)
{
    (void)state;
    gan_layer *l;
    gan_net *n;
    assert_error(gan_layer_spectral_norm(NULL, 1), GAN_EINVAL, "'layer' is NULL");
    assert_int_equal(gan_layer_activation(&l, GAN_ACT_TANH), GAN_OK);
    assert_error(gan_layer_spectral_norm(l, 1), GAN_EINVAL, "activation layers have no weight matrix");
    gan_layer_free(l);
    assert_int_equal(gan_layer_batchnorm(&l, 3, 0.1f, 1e-5f), GAN_OK);
    assert_error(gan_layer_spectral_norm(l, 1), GAN_EINVAL, "batchnorm layers have no weight matrix");
    gan_layer_free(l);
    assert_int_equal(gan_layer_dense(&l, 3, 2), GAN_OK);
    assert_error(gan_layer_spectral_norm(l, 0), GAN_EINVAL, "power_iterations must be in [1, 64], got 0");
    assert_error(gan_layer_spectral_norm(l, 65), GAN_EINVAL, "got 65");
    assert_int_equal(gan_layer_spectral_norm(l, 1), GAN_OK);
    assert_int_equal(gan_layer_spectral_norm(l, 3), GAN_OK); /* a new count, the same state */
    assert_int_equal(gan_net_create(&n, 3), GAN_OK);
    add(n, GAN_OK, &l);
    assert_int_equal(gan_net_num_state(n), 2 + 3);
    assert_error(gan_layer_spectral_norm(l, 1), GAN_ESTATE, "in a net already");
    gan_net_free(n);
}

/* y of the dense net 1 -> 2 without bias for x = 1 is W / sigma = [3, 4] / 5. */
static void assert_normalised(gan_net *n, int train)
{
    float x = 1.0f, y[2];
    assert_int_equal(gan_net_forward(n, &x, 1, y, train), GAN_OK);
    assert_true(fabsf(y[0] - 0.6f) < 1e-6f && fabsf(y[1] - 0.8f) < 1e-6f);
}

/* u and v never set: weights written through gan_net_params (an import) leave them zero,
 * a fixed point of the power iteration; u = v = 1e-30 made sigma 1e-60, 0 in float. The
 * layer still divides by sigma, in both modes, and from a file that holds such vectors
 * (issue 23: it output W x, or inf). A file with non-finite u or v is refused. */
static void vectors_never_set(void **state)
{
    (void)state;
    for (int train = 0; train < 2; train++) {
        gan_net *n = spectral_dense(1, 2, 1, 0);
        float *w = gan_net_params(n);
        w[0] = 3.0f;
        w[1] = 4.0f;
        assert_normalised(n, train);
        assert_normalised(n, train); /* and again, from the vectors the first forward left */
        for (int i = 0; i < 3; i++) gan_net_state(n)[i] = 1e-30f;
        assert_normalised(n, train);
        for (int zero = 0; zero < 2; zero++) {
            for (int i = 0; i < 3; i++) gan_net_state(n)[i] = zero ? 0.0f : 1e-30f;
            size_t size;
            assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
            uint8_t *buf = xcalloc(size, 1);
            assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
            gan_net *back;
            assert_int_equal(gan_net_load_mem(&back, buf, size), GAN_OK);
            assert_normalised(back, train);
            gan_net_free(back);
            free(buf);
        }
        gan_net_state(n)[train ? 0 : 2] = NAN; /* u, then v */
        size_t size;
        assert_int_equal(gan_net_save_mem(n, NULL, 0, &size), GAN_OK);
        uint8_t *buf = xcalloc(size, 1);
        assert_int_equal(gan_net_save_mem(n, buf, size, &size), GAN_OK);
        gan_net *back = NULL;
        assert_error(gan_net_load_mem(&back, buf, size), GAN_EFORMAT, "layer 0 (dense");
        assert_true(strstr(gan_error_last(), train ? "spectral norm's u holds a non-finite value"
                                                   : "spectral norm's v holds a non-finite value") != NULL);
        assert_null(back);
        free(buf);
        gan_net_free(n);
    }
}

/* Each allocation failing in turn: the constructor's, then gan_net_add's buffers (into a
 * net that already has a layer: its first add allocates the layer list it keeps). */
static void allocation_failures(void **state)
{
    (void)state;
    size_t f;
    gan_layer *l;
    gan_net *n;
    assert_int_equal(gan_layer_dense(&l, 3, 2), GAN_OK);
    SWEEP(f, gan_layer_spectral_norm(l, 1), (void)0);
    assert_int_equal(f, 1);
    assert_int_equal(gan_net_create(&n, 3), GAN_OK);
    gan_layer *first;
    add(n, gan_layer_dense(&first, 3, 3), &first);
    SWEEP(f, gan_net_add(n, l), assert_int_equal(gan_net_num_layers(n), 1));
    assert_true(f >= 2);
    gan_net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(sigma_matches_the_svd),
        TEST(vectors_are_state),
        TEST(files_keep_it),
        TEST(trains_fails_and_resumes),
        TEST(errors),
        TEST(vectors_never_set),
        TEST(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
