/* Training-step throughput of the paper's MNIST model, measured against cblas_sgemm at
 * the same shapes in the same process.
 *
 *   bench [--batches 32,100,256] [--seconds S]
 *
 * Threads: set OPENBLAS_NUM_THREADS (bench/run.sh does). Prints, per batch size, steps/s,
 * samples/s, GFLOP/s of the whole step, the sgemm rate on the step's own products, the
 * fraction of that rate the step reaches, and the peak resident memory. */
#define _POSIX_C_SOURCE 200809L
#include <gan.h>

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHECK(call)                                                                         \
    do {                                                                                    \
        int rc_ = (call);                                                                   \
        if (rc_) {                                                                          \
            fprintf(stderr, "%s: %s (%s)\n", #call, gan_strerror(rc_), gan_error_last());   \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- model */

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

/* Synthetic images: the benchmark times compute, not data loading. */
static int random_images(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload; (void)cond;
    return gan_rng_fill_uniform(rng, x, batch * 784, 0.0f, 1.0f);
}

/* ----------------------------------------------------- the step's gemms */

typedef struct { int ta, tb; int m, n, k; } gemm_shape;

/* Every product of one alternating step (k = 1) at batch b, as libgan issues them:
 * D's update sees 2b rows; G's update takes only D's input gradient. */
static size_t step_gemms(gemm_shape *s, int b)
{
    const int g_dims[4] = {100, 1200, 1200, 784};
    size_t n = 0;
#define G(ta_, tb_, m_, n_, k_) (s[n++] = (gemm_shape){ta_, tb_, m_, n_, k_})
    /* D update: G forward, D forward on 2b, D backward with weight gradients, no dx at the input. */
    for (int i = 0; i < 3; i++) G(0, 0, b, g_dims[i + 1], g_dims[i]);
    G(0, 0, 2 * b, 1200, 784); G(0, 0, 2 * b, 1200, 240); G(0, 0, 2 * b, 1, 240);
    G(1, 0, 240, 1, 2 * b);    G(0, 1, 2 * b, 240, 1);
    G(1, 0, 240, 1200, 2 * b); G(0, 1, 2 * b, 240, 1200);
    G(1, 0, 784, 1200, 2 * b);
    /* G update: G forward, D forward on b, D input gradients only, G backward. */
    for (int i = 0; i < 3; i++) G(0, 0, b, g_dims[i + 1], g_dims[i]);
    G(0, 0, b, 1200, 784); G(0, 0, b, 1200, 240); G(0, 0, b, 1, 240);
    G(0, 1, b, 240, 1); G(0, 1, b, 240, 1200); G(0, 1, b, 784, 1200);
    for (int i = 2; i >= 0; i--) {
        G(1, 0, g_dims[i], g_dims[i + 1], b);
        if (i) G(0, 1, b, g_dims[i], g_dims[i + 1]);
    }
#undef G
    return n;
}

static double gemm_flops(const gemm_shape *s, size_t n)
{
    double f = 0;
    for (size_t i = 0; i < n; i++) f += 2.0 * s[i].m * s[i].n * s[i].k;
    return f;
}

/* Seconds for one pass over the step's products with cblas_sgemm, best of several. */
static double time_gemms(const gemm_shape *s, size_t n, double seconds)
{
    size_t big = 2 * 256 * 1200 + 1200 * 1200;
    float *a = calloc(big, sizeof *a), *b = calloc(big, sizeof *b), *c = calloc(big, sizeof *c);
    double best = 1e30, start = now();
    for (int rep = 0; rep < 3 || now() - start < seconds; rep++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            const gemm_shape *g = &s[i];
            int lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
            cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                        g->m, g->n, g->k, 1.0f, a, lda, b, ldb, 1.0f, c, g->n);
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* Seconds per training step at batch b, median of timed windows after a warm-up. */
static double time_steps(int b, double seconds)
{
    gan_net *g = paper_generator(), *d = paper_discriminator();
    gan_optim *og, *od;
    gan_trainer *t;
    CHECK(gan_optim_sgd(&og, 0.1f, 0.5f, 0));
    CHECK(gan_optim_sgd(&od, 0.1f, 0.5f, 0));
    CHECK(gan_trainer_create(&t, g, d, og, od));
    CHECK(gan_trainer_set_batch_size(t, (size_t)b));
    CHECK(gan_trainer_set_data(t, random_images, NULL));
    CHECK(gan_net_init(g, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_UNIFORM, 0.05f));
    CHECK(gan_net_init(d, gan_trainer_rng(t, GAN_STREAM_INIT), GAN_INIT_UNIFORM, 0.005f));
    CHECK(gan_trainer_run(t, 3, NULL, NULL));
    double per_step[64];
    int windows = 0;
    double start = now();
    while (windows < 5 || (now() - start < seconds && windows < 64)) {
        double t0 = now();
        CHECK(gan_trainer_run(t, 5, NULL, NULL));
        per_step[windows++] = (now() - t0) / 5;
    }
    gan_trainer_free(t);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    for (int i = 1; i < windows; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && per_step[j] < per_step[j - 1]; j--) {
            double tmp = per_step[j];
            per_step[j] = per_step[j - 1];
            per_step[j - 1] = tmp;
        }
    return per_step[windows / 2];
}

int main(int argc, char **argv)
{
    const char *batches = "32,100,256";
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batches")) batches = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    }
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("libgan %s, BLAS features 0x%x, threads %s\n", gan_version_string(), gan_features(), threads ? threads : "default");
    printf("%-6s %10s %11s %9s %11s %9s\n", "batch", "steps/s", "samples/s", "GFLOP/s", "sgemm GF/s", "of sgemm");
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int b = atoi(tok);
        if (b <= 0 || b > 4096) continue;
        gemm_shape shapes[64];
        size_t n = step_gemms(shapes, b);
        double flops = gemm_flops(shapes, n), t_step = time_steps(b, seconds), t_gemm = time_gemms(shapes, n, seconds / 2);
        printf("%-6d %10.2f %11.0f %9.2f %11.2f %8.1f%%\n", b, 1 / t_step, b / t_step, flops / t_step * 1e-9,
               flops / t_gemm * 1e-9, 100 * t_gemm / t_step);
        fflush(stdout);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mb=%.1f\n", ru.ru_maxrss / 1024.0);
    return 0;
}
