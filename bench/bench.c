/* Training-step throughput of the paper's MNIST model (or, with --model dcgan, of
 * examples/dcgan's; with --model dcgan64, of pytorch/examples' 64 x 64 colour DCGAN),
 * measured against cblas_sgemm at the same shapes in the same process.
 *
 *   bench [--model mlp|dcgan|dcgan64] [--batches 32,100,256 (dcgans: 64)] [--seconds S]
 *         [--no-sgemm] [--rss] [--cpu-time] [--profile] [--order libgan|upstream]
 *
 * Threads: set OPENBLAS_NUM_THREADS (bench/run.sh does). Prints, per batch size, steps/s,
 * samples/s, GFLOP/s of the whole step, the sgemm rate on the step's own products, the
 * fraction of that rate the step reaches, and the peak resident memory.
 *
 * Every batch size is trained first, the largest first, and the peak resident set
 * (VmHWM) is read before any sgemm is timed: peak_rss_mb is the training's, comparable
 * with the peer's, which runs nothing else and in the same order. Largest first, because
 * the heap keeps some of a finished run's freed workspaces and a smaller run after it
 * would then report more than its own peak; this way the peak is the largest run's, as
 * in a process of its own. The sgemm timing's own buffers come after and are reported
 * apart (peak_rss_all_mb). --no-sgemm skips that timing (for profiling the step alone);
 * --rss prints VmHWM/VmRSS at the stages of each training run. --cpu-time times with the
 * process's CPU clock instead of the wall clock: on a loaded machine it leaves out the
 * time the process waits for a core (not what it loses to shared caches). --order upstream
 * (dcgan64) trains as pytorch/examples' main.py does, G on the fakes of D's update
 * (GAN_UPDATE_REUSE_FAKES); libgan's order (the default) draws new ones. --profile
 * (dcgan64) times each layer's forward and backward alone, as a net of its own, at the
 * first batch size, and stops. */
#define _POSIX_C_SOURCE 200809L
#include <gan.h>

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "paper.h"
#include "dcgan64.h"

char *openblas_get_corename(void);
#pragma weak openblas_get_corename


static clockid_t step_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(step_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* VmHWM (peak) or VmRSS (current) from /proc/self/status, in MB; -1 if unavailable. */
static double status_mb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    size_t len = strlen(key);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, len) && line[len] == ':') kb = atof(line + len + 1);
    fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

static int show_rss;
static double base_rss_mb; /* VmRSS before any net */

static void rss_at(int b, const char *stage)
{
    if (show_rss) printf("  [batch %d] %-22s VmHWM %7.1f MB  VmRSS %7.1f MB\n", b, stage, status_mb("VmHWM"),
                         status_mb("VmRSS"));
}

/* ---------------------------------------------------------------- model */

/* examples/dcgan's nets (see its header). */
static void add_unbiased(gan_net *n, gan_layer *l)
{
    CHECK(gan_layer_set_bias(l, 0));
    add(n, l);
}

static gan_net *dcgan_generator(void)
{
    gan_net *g;
    gan_layer *l;
    CHECK(gan_net_create(&g, 100));
    CHECK(gan_layer_dense(&l, 100, 128 * 7 * 7)); add_unbiased(g, l);
    CHECK(gan_layer_batchnorm(&l, 128 * 7 * 7, 0.1f, 1e-5f)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_RELU)); add(g, l);
    CHECK(gan_layer_reshape(&l, 128, 7, 7)); add(g, l);
    CHECK(gan_layer_conv2d_transpose(&l, 128, 64, 4, 2, 1, 0)); add_unbiased(g, l);
    CHECK(gan_layer_batchnorm(&l, 64, 0.1f, 1e-5f)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_RELU)); add(g, l);
    CHECK(gan_layer_conv2d_transpose(&l, 64, 1, 4, 2, 1, 0)); add(g, l);
    CHECK(gan_layer_activation(&l, GAN_ACT_TANH)); add(g, l);
    return g;
}

/* --penalty: none (libgan's D, batch norm in it), plain (D without batch norm, no
 * penalty), wgan-gp or r1 (D without batch norm, weight 10, every step). */
static const char *penalty = "none";
static int penalised(void) { return !strcmp(penalty, "wgan-gp") || !strcmp(penalty, "r1"); }

static gan_net *dcgan_discriminator(void)
{
    gan_net *d;
    gan_layer *l;
    CHECK(gan_net_create_image(&d, 1, 28, 28));
    CHECK(gan_layer_conv2d(&l, 1, 64, 4, 2, 1)); add(d, l);
    CHECK(gan_layer_leaky_relu(&l, 0.2f)); add(d, l);
    CHECK(gan_layer_conv2d(&l, 64, 128, 4, 2, 1));
    if (strcmp(penalty, "none")) {
        add(d, l); /* a penalty is taken per row: no batch norm */
    } else {
        add_unbiased(d, l);
        CHECK(gan_layer_batchnorm(&l, 128, 0.1f, 1e-5f)); add(d, l);
    }
    CHECK(gan_layer_leaky_relu(&l, 0.2f)); add(d, l);
    CHECK(gan_layer_dense(&l, 128 * 7 * 7, 1)); add(d, l);
    return d;
}

static int dcgan_model; /* 0: the MLP, 28: examples/dcgan's, 64: dcgan64 */
static int upstream_order; /* --order upstream */

/* Synthetic images: the benchmark times compute, not data loading. */
static int random_images(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload; (void)cond;
    size_t width = dcgan_model == 64 ? (size_t)C64 * SIDE64 * SIDE64 : 784;
    return dcgan_model ? gan_rng_fill_uniform(rng, x, batch * width, -1.0f, 1.0f)
                       : gan_rng_fill_uniform(rng, x, batch * width, 0.0f, 1.0f);
}

/* ----------------------------------------------------- the step's gemms */

/* A product as libgan issues it: C (m x n) = op(A) op(B) + beta C. Forward products add
 * to the bias already in C (beta 1); gradients overwrite C (beta 0), which OpenBLAS
 * implements as a pass that zeroes C first. */
typedef struct { int ta, tb; int m, n, k; float beta; } gemm_shape;
enum { MAX_GEMMS = 512 };

/* Every product of one alternating step (k = 1) at batch b, as libgan issues them:
 * D's update sees 2b rows; G's update takes only D's input gradient. A transposed A is
 * a weight gradient, a transposed B an input gradient: both overwrite. */
static size_t step_gemms(gemm_shape *s, int b)
{
    const int g_dims[4] = {100, 1200, 1200, 784};
    size_t n = 0;
#define G(ta_, tb_, m_, n_, k_) (s[n++] = (gemm_shape){ta_, tb_, m_, n_, k_, (ta_) || (tb_) ? 0.0f : 1.0f})
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

/* Every product of one DCGAN step at batch b, at full size (the layers cut the rows of
 * convolutions into chunks; the rate of the whole product is the reference). A
 * convolution's products, with M its positions: forward col W (M x cout, K = k*k*cin),
 * weight gradient col^T dy, input gradient dy W^T; a transposed convolution's are
 * those of the convolution from its output back to its input. D sees the fake rows and
 * the real ones in two passes; when G trains, D computes input gradients only. */
static size_t dcgan_gemms(gemm_shape *s, int b)
{
    size_t n = 0;
#define G(ta_, tb_, m_, n_, k_, beta_) (s[n++] = (gemm_shape){ta_, tb_, m_, n_, k_, beta_})
#define G_FORWARD()                                                                                  \
    do {                                                                                             \
        G(0, 0, b, 6272, 100, 0.0f);          /* dense, no bias */                                   \
        G(0, 0, b * 49, 1024, 128, 0.0f);      /* transposed conv 128 -> 64 on 7x7: x W */           \
        G(0, 0, b * 196, 16, 64, 0.0f);        /* transposed conv 64 -> 1 on 14x14 */                \
    } while (0)
#define D_FORWARD(rows)                                                                              \
    do {                                                                                             \
        G(0, 0, (rows) * 196, 64, 16, 1.0f);   /* conv 1 -> 64 to 14x14, with bias */                \
        G(0, 0, (rows) * 49, 128, 1024, 0.0f); /* conv 64 -> 128 to 7x7, no bias */                 \
        G(0, 0, (rows), 1, 6272, 1.0f);        /* dense to the logit */                              \
    } while (0)
    for (int pass = 0; pass < 3; pass++) {    /* D's fake pass, its real pass, G's pass */
        if (pass != 1) G_FORWARD();
        D_FORWARD(b);
        if (pass < 2) { /* D's parameter gradients, input gradients down to its first layer */
            G(1, 0, 6272, 1, b, pass ? 1.0f : 0.0f);
            G(0, 1, b, 6272, 1, 0.0f);
            G(1, 0, 1024, 128, b * 49, pass ? 1.0f : 0.0f);
            G(0, 1, b * 49, 1024, 128, 0.0f);
            G(1, 0, 16, 64, b * 196, pass ? 1.0f : 0.0f);
        } else { /* input gradients through D, then G's backward */
            G(0, 1, b, 6272, 1, 0.0f);
            G(0, 1, b * 49, 1024, 128, 0.0f);
            G(0, 1, b * 196, 16, 64, 0.0f);
            G(1, 0, 64, 16, b * 196, 0.0f);    /* transposed conv 64 -> 1: dW = x^T im2col(dy) */
            G(0, 1, b * 196, 64, 16, 0.0f);    /* dx = im2col(dy) W^T */
            G(1, 0, 128, 1024, b * 49, 0.0f);
            G(0, 1, b * 49, 128, 1024, 0.0f);
            G(1, 0, 100, 6272, b, 0.0f);       /* dense dW */
        }
    }
#undef D_FORWARD
#undef G_FORWARD
#undef G
    return n;
}

/* The products of one convolution of a spec list at batch b, input h x w (updated to
 * the output's): forward, and as asked the weight gradient (beta: add to it) and the
 * input gradient. A convolution's products, with M its output positions, K = k*k*cin:
 * forward col W, weight gradient col^T dy, input gradient dy W^T; a transposed
 * convolution's are those of the convolution from its output back to its input. Where
 * libgan takes Winograd's path (lib/winograd.c: 4x4 kernels, stride 2, padding 1, even
 * sizes, 16 channels or more on both sides) they are its nine products of each kind, of
 * T tiles (2x2 outputs) and K = 4C, at full size. */
enum { FWD = 1, DW = 2, DX = 4 };
static int dense_products; /* count im2col's products, as if no layer took Winograd's path */
static size_t conv_gemms(gemm_shape *s, const layer_spec *c, int b, int *h, int *w, int what, float beta)
{
    size_t n = 0;
    int t = c->kind == CONV_T, ih = *h, iw = *w;
    if (t) {
        *h = (*h - 1) * c->s - 2 * c->p + c->k;
        *w = (*w - 1) * c->s - 2 * c->p + c->k;
    } else {
        *h = (*h + 2 * c->p - c->k) / c->s + 1;
        *w = (*w + 2 * c->p - c->k) / c->s + 1;
    }
    /* The convolution g: from C channels on the larger side to N on the smaller, m positions. */
    int C = t ? c->cout : c->cin, N = t ? c->cin : c->cout, small_h = t ? ih : *h, small_w = t ? iw : *w;
    int m = b * small_h * small_w;
    int wino = !dense_products && c->k == 4 && c->s == 2 && c->p == 1 && small_h % 2 == 0 && small_w % 2 == 0 && (t ? *h : ih) == 2 * small_h &&
               C >= 16 && N >= 16;
    int reps = wino ? 9 : 1, k = wino ? 4 * C : c->k * c->k * C;
    if (wino) m /= 4;
    for (int r = 0; r < reps; r++) {
        /* g's forward is conv2d's forward and conv2d_transpose's input gradient; g's
         * adjoint the other way round (conv2d_transpose's weights are g's transposed). */
        if (what & (t ? DX : FWD)) s[n++] = (gemm_shape){0, t, m, N, k, 0.0f};
        if (what & DW) s[n++] = t ? (gemm_shape){1, 0, N, k, m, beta} : (gemm_shape){1, 0, k, N, m, beta};
        if (what & (t ? FWD : DX)) s[n++] = (gemm_shape){0, !t, m, k, N, 0.0f};
    }
    return n;
}

/* The products of a spec list's forward (what = FWD) or backward (DW and/or DX; the
 * first convolution's DX only with first_dx) at batch b. */
static size_t net_gemms(gemm_shape *s, const layer_spec *spec, int n_spec, int side, int b, int what, int first_dx,
                        float beta)
{
    size_t n = 0;
    int h = side, w = side, first = 1;
    for (int i = 0; i < n_spec; i++) {
        if (spec[i].kind != CONV && spec[i].kind != CONV_T) continue;
        int mine = what & FWD ? FWD : what & ~(first && !first_dx ? DX : 0);
        n += conv_gemms(s + n, &spec[i], b, &h, &w, mine, beta);
        first = 0;
    }
    return n;
}

/* One dcgan64 step at batch b: D on G's fakes (b rows) and on the real rows (b), with
 * parameter gradients and input gradients down to its second convolution; then G's
 * update: G forward (not in upstream's order), D forward and input gradients to its
 * input, G's backward. */
static size_t dcgan64_gemms(gemm_shape *s, int b)
{
    size_t n = 0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 0 || (pass == 2 && !upstream_order)) n += net_gemms(s + n, g64, G64_LAYERS, 1, b, FWD, 0, 0.0f);
        n += net_gemms(s + n, d64, D64_LAYERS, SIDE64, b, FWD, 0, 0.0f);
        if (pass < 2) n += net_gemms(s + n, d64, D64_LAYERS, SIDE64, b, DW | DX, 0, pass ? 1.0f : 0.0f);
        else {
            n += net_gemms(s + n, d64, D64_LAYERS, SIDE64, b, DX, 1, 0.0f);
            n += net_gemms(s + n, g64, G64_LAYERS, 1, b, DW | DX, 0, 0.0f);
        }
    }
    return n;
}

static double gemm_flops(const gemm_shape *s, size_t n)
{
    double f = 0;
    for (size_t i = 0; i < n; i++) f += 2.0 * s[i].m * s[i].n * s[i].k;
    return f;
}

/* Seconds for one pass over the step's products with cblas_sgemm, best of several. Each
 * product has operands of its own, as in the step, where each touches other weights and
 * activations: one shared set would stay in cache and overstate the rate. */
static double time_gemms(const gemm_shape *s, size_t n, double seconds)
{
    float *mem[MAX_GEMMS][3];
    for (size_t i = 0; i < n; i++) {
        const size_t sizes[3] = {(size_t)s[i].m * s[i].k, (size_t)s[i].k * s[i].n, (size_t)s[i].m * s[i].n};
        for (int j = 0; j < 3; j++) {
            mem[i][j] = malloc(sizes[j] * sizeof(float));
            if (!mem[i][j]) {
                fprintf(stderr, "bench: out of memory for the sgemm operands\n");
                exit(1);
            }
            for (size_t e = 0; e < sizes[j]; e++) mem[i][j][e] = (float)((e * 7 + j) % 13) * 0.01f;
        }
    }
    double best = 1e30, start = now();
    for (int rep = 0; rep < 3 || now() - start < seconds; rep++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            const gemm_shape *g = &s[i];
            int lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
            cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                        g->m, g->n, g->k, 1.0f, mem[i][0], lda, mem[i][1], ldb, g->beta, mem[i][2], g->n);
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 3; j++) free(mem[i][j]);
    return best;
}

/* The least memory a dcgan64 step at batch b can hold, in MB (docs/benchmarks.md): the
 * process before any net (base_mb), the parameters with their gradients and Adam's two
 * moments, and at the peak, G's update, what backward reads: G's values, D's for its
 * input gradients, D's input gradient (G's output gradient), and the widest pair of
 * gradients in flight. D's update, which holds D's values with its weight gradients and
 * both halves of its input, holds less. */
static double floor_mb(int b, double base_mb, size_t params)
{
    size_t pair = 0;
    size_t g = kept_floats(g64, G64_LAYERS, NZ, 1, 1, 0, &pair);
    size_t d_inputs = kept_floats(d64, D64_LAYERS, C64, SIDE64, SIDE64, 1, &pair);
    size_t d_all = kept_floats(d64, D64_LAYERS, C64, SIDE64, SIDE64, 0, &pair);
    size_t image = (size_t)C64 * SIDE64 * SIDE64;
    size_t g_update = g + d_inputs + image + pair, d_update = d_all + 2 * image + pair;
    size_t rows = g_update > d_update ? g_update : d_update;
    return base_mb + (16.0 * (double)params + 4.0 * (double)b * (double)rows) / (1024.0 * 1024.0);
}

/* Seconds per training step at batch b, median of timed windows after a warm-up. */
static double time_steps(int b, double seconds)
{
    gan_net *g, *d;
    if (dcgan_model == 64) {
        g = dcgan64_generator();
        d = dcgan64_discriminator();
    } else {
        g = dcgan_model ? dcgan_generator() : paper_generator();
        d = dcgan_model ? dcgan_discriminator() : paper_discriminator();
    }
    gan_optim *og, *od;
    gan_trainer *t = recipe_trainer(g, d, dcgan_model != 0, (size_t)b, random_images, &og, &od);
    if (upstream_order) CHECK(gan_trainer_set_update(t, GAN_UPDATE_REUSE_FAKES));
    if (!strcmp(penalty, "wgan-gp")) {
        CHECK(gan_trainer_set_loss(t, GAN_LOSS_WASSERSTEIN));
        CHECK(gan_trainer_set_gradient_penalty(t, GAN_PENALTY_WGAN_GP, 10.0f, 1));
    } else if (!strcmp(penalty, "r1")) {
        CHECK(gan_trainer_set_gradient_penalty(t, GAN_PENALTY_R1, 10.0f, 1));
    }
    rss_at(b, "nets and trainer made");
    if (dcgan_model == 64)
        printf("floor_mb=%.1f (batch %d; the process held %.1f MB before the nets)\n",
               floor_mb(b, base_rss_mb, gan_net_num_params(g) + gan_net_num_params(d)), b, base_rss_mb);
    CHECK(gan_trainer_run(t, 1, NULL, NULL));
    rss_at(b, "after the first step");
    CHECK(gan_trainer_run(t, 2, NULL, NULL));
    double per_step[64];
    int windows = 0, window = dcgan_model == 64 ? 1 : 5; /* steps per timed window */
    double start = now();
    while (windows < 5 || (now() - start < seconds && windows < 64)) {
        double t0 = now();
        CHECK(gan_trainer_run(t, window, NULL, NULL));
        per_step[windows++] = (now() - t0) / window;
    }
    rss_at(b, "after timing");
    gan_trainer_free(t);
    gan_optim_free(og);
    gan_optim_free(od);
    gan_net_free(g);
    gan_net_free(d);
    rss_at(b, "all freed");
    for (int i = 1; i < windows; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && per_step[j] < per_step[j - 1]; j--) {
            double tmp = per_step[j];
            per_step[j] = per_step[j - 1];
            per_step[j - 1] = tmp;
        }
    return per_step[windows / 2];
}

/* --profile: each layer of a spec list alone, as a net of its own at batch b: the
 * median time of a training forward and of a backward with parameter and input
 * gradients, in ms. */
static void profile_net(const char *name, const layer_spec *spec, int n_spec, size_t c, size_t h, size_t w, int b,
                        gan_rng *rng)
{
    static const char *const kinds[] = {"conv_t", "conv", "batchnorm", "relu", "leaky_relu", "tanh", "sigmoid"};
    double total_f = 0, total_b = 0;
    for (int i = 0; i < n_spec; i++) {
        gan_net *n = net_of(spec, i, i + 1, c, h, w);
        CHECK(gan_net_init(n, rng, GAN_INIT_DCGAN, 1.0f));
        size_t in = gan_net_in_dim(n), out = gan_net_out_dim(n);
        float *x = malloc((size_t)b * in * sizeof *x), *y = malloc((size_t)b * out * sizeof *y),
              *dx = malloc((size_t)b * in * sizeof *dx);
        if (!x || !y || !dx) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
        CHECK(gan_rng_fill_normal(rng, x, (size_t)b * in, 0.0f, 1.0f));
        double tf[7], tb[7];
        for (int r = 0; r < 7; r++) {
            double t0 = now();
            CHECK(gan_net_forward(n, x, (size_t)b, y, 1));
            double t1 = now();
            CHECK(gan_net_backward(n, y, dx)); /* dy = y: any values do */
            tb[r] = now() - t1;
            tf[r] = t1 - t0;
        }
        for (int r = 1; r < 7; r++) /* insertion sort for the medians */
            for (int j = r; j > 0 && tf[j] < tf[j - 1]; j--) { double t = tf[j]; tf[j] = tf[j - 1]; tf[j - 1] = t; }
        for (int r = 1; r < 7; r++)
            for (int j = r; j > 0 && tb[j] < tb[j - 1]; j--) { double t = tb[j]; tb[j] = tb[j - 1]; tb[j - 1] = t; }
        const layer_spec *sp = &spec[i];
        char what[64];
        if (sp->kind == CONV || sp->kind == CONV_T)
            snprintf(what, sizeof what, "%s %d->%d k%d s%d", kinds[sp->kind], sp->cin, sp->cout, sp->k, sp->s);
        else snprintf(what, sizeof what, "%s", kinds[sp->kind]);
        CHECK(gan_net_out_shape(n, &c, &h, &w));
        printf("%-3s %2d %-24s %4zux%-4zux%-4zu %9.2f %9.2f\n", name, i, what, h, w, c, 1e3 * tf[3], 1e3 * tb[3]);
        total_f += tf[3];
        total_b += tb[3];
        free(x);
        free(y);
        free(dx);
        gan_net_free(n);
    }
    printf("%-3s    %-24s %14s %9.2f %9.2f\n", name, "all layers", "", 1e3 * total_f, 1e3 * total_b);
}

int main(int argc, char **argv)
{
    base_rss_mb = status_mb("VmRSS");
    const char *batches = "32,100,256";
    double seconds = 5;
    int sgemm = 1, profile = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-sgemm")) sgemm = 0;
        else if (!strcmp(argv[i], "--rss")) show_rss = 1;
        else if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (!strcmp(argv[i], "--cpu-time")) step_clock = CLOCK_PROCESS_CPUTIME_ID;
        else if (i + 1 < argc && !strcmp(argv[i], "--batches")) batches = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--model")) {
            i++;
            dcgan_model = !strcmp(argv[i], "dcgan64") ? 64 : !strcmp(argv[i], "dcgan") ? 28 : 0;
        }
        else if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--penalty")) penalty = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--order")) upstream_order = !strcmp(argv[++i], "upstream");
    }
    if (penalised()) sgemm = 0; /* the step's products are not the listed ones */
    if (dcgan_model && !strcmp(batches, "32,100,256")) batches = "64";
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    printf("libgan %s, model %s, order %s, penalty %s, BLAS features 0x%x, threads %s", gan_version_string(),
           dcgan_model == 64 ? "dcgan64" : dcgan_model ? "dcgan" : "mlp", upstream_order ? "upstream" : "libgan", penalty,
           gan_features(), threads ? threads : "default");
    /* The kernels OpenBLAS picked for this CPU (OPENBLAS_CORETYPE overrides): the
     * sgemm rate, and so every number below, depends on them. A weak reference, so the
     * bench also links against the reference CBLAS. */
    if (openblas_get_corename) printf(", OpenBLAS core %s", openblas_get_corename());
    printf("\n");
    if (profile) {
        if (dcgan_model != 64) {
            fprintf(stderr, "bench: --profile takes --model dcgan64\n");
            return 2;
        }
        gan_rng *rng;
        CHECK(gan_rng_create(&rng, 1));
        int b = atoi(batches);
        printf("net  # layer                      output (HxWxC) fwd ms    bwd ms   (batch %d)\n", b);
        profile_net("G", g64, G64_LAYERS, NZ, 1, 1, b, rng);
        profile_net("D", d64, D64_LAYERS, C64, SIDE64, SIDE64, b, rng);
        gan_rng_free(rng);
        return 0;
    }
    enum { MAX_B = 16 };
    int bs[MAX_B], nb = 0;
    double t_step[MAX_B];
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *tok = strtok(list, ","); tok && nb < MAX_B; tok = strtok(NULL, ",")) {
        int b = atoi(tok);
        if (b > 0 && b <= 4096) bs[nb++] = b;
    }
    /* Training first, every batch size, largest first; then the peak memory; then the
     * sgemm rates. */
    int done[MAX_B] = {0};
    for (int k = 0; k < nb; k++) {
        int big = -1;
        for (int i = 0; i < nb; i++)
            if (!done[i] && (big < 0 || bs[i] > bs[big])) big = i;
        t_step[big] = time_steps(bs[big], seconds);
        done[big] = 1;
    }
    double rss_train = status_mb("VmHWM");
    printf("%-6s %10s %11s %9s %11s %9s\n", "batch", "steps/s", "samples/s", "GFLOP/s", "sgemm GF/s", "of sgemm");
    for (int i = 0; i < nb; i++) {
        gemm_shape shapes[MAX_GEMMS];
        size_t n = dcgan_model == 64 ? dcgan64_gemms(shapes, bs[i])
                   : dcgan_model ? dcgan_gemms(shapes, bs[i]) : step_gemms(shapes, bs[i]);
        double flops = gemm_flops(shapes, n), t = t_step[i];
        printf("%-6d %10.2f %11.0f", bs[i], 1 / t, bs[i] / t);
        if (penalised()) printf(" %9s", "-"); /* the penalty's passes are not in the count */
        else printf(" %9.2f", flops / t * 1e-9);
        if (sgemm) {
            double t_gemm = time_gemms(shapes, n, seconds / 2);
            printf(" %11.2f %8.1f%%", flops / t_gemm * 1e-9, 100 * t_gemm / t);
        }
        printf("\n");
        if (dcgan_model == 64 && !penalised()) { /* the multiplications im2col would make */
            dense_products = 1;
            double dense = gemm_flops(shapes, dcgan64_gemms(shapes, bs[i]));
            dense_products = 0;
            printf("       %.1f GFLOP a step computed, %.1f by im2col: %.2f dense-equivalent GFLOP/s\n",
                   flops * 1e-9, dense * 1e-9, dense / t * 1e-9);
        }
        fflush(stdout);
    }
    printf("peak_rss_mb=%.1f\n", rss_train);
    if (sgemm) printf("peak_rss_all_mb=%.1f (with the sgemm timing's buffers)\n", status_mb("VmHWM"));
    return 0;
}
