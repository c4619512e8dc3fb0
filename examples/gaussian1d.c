/* Figure 1 of Goodfellow et al. (2014), from real training: a generator learns the 1-D
 * Gaussian p_data = N(mu, sigma) from uniform noise. At four stages of training the
 * program records p_g (a histogram of G's samples) and the discriminator D(x), and draws
 * them beside p_data: black dotted p_data, green p_g, blue dashed D(x).
 *
 *   gaussian1d [--steps N] [--seed S] [--out DIR] [--batch B] [--lr LR] [--mu M] [--sigma S]
 *              [--log FILE.csv]
 *
 * Writes DIR/gaussian1d.png and DIR/losses.png; the last stdout line is the final
 * Jensen-Shannon divergence between histograms of data and G samples: "jsd=<value>"
 * (natural log, in [0, ln 2]). */
#include "common.h"
#include "flags.h"
#include "log.h"
#include "plot.h"

#include <gan.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    HIDDEN = 32,        /* units per hidden layer of G and D */
    N_PANELS = 4,       /* stages of training drawn, like the paper's (a)-(d) */
    N_SAMPLES = 20000,  /* G and data samples per histogram */
    JSD_BINS = 50,      /* bins over mu +- 4 sigma for the JSD, plus two for the tails */
    PLOT_BINS = 80,     /* bins of the plotted p_g curve */
    CURVE = 400         /* points of the p_data and D curves */
};

#define NOISE_DIM 1 /* the paper's figure maps a 1-D z to x */

/* Where the panels sit in training, as fractions of the run. */
static const double panel_at[N_PANELS] = {0.0, 0.02, 0.1, 1.0};

typedef struct options {
    long steps, batch, seed;
    double lr, mu, sigma;
    const char *out, *log;
    char figure[4096], losses[4096]; /* the pictures' paths */
    double shift, scale; /* the nets see (x - shift) / scale: data standardised from a sample */
} options;

/* One stage of training: G's samples (sorted) and a copy of D's parameters. */
typedef struct panel {
    unsigned long long step;
    float *x;
    float *d_params;
} panel;

/* ------------------------------------------------------------ options */

static options parse_options(int argc, char **argv)
{
    options o = {.steps = 10000, .batch = 128, .seed = 1, .lr = 1e-3, .mu = 4.0, .sigma = 0.5, .out = "out"};
    const ex_flag flags[] = {
        {"--steps", EX_LONG, &o.steps, "N", "[1, inf)", "training steps (10000)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where gaussian1d.png and losses.png go (out)"},
        {"--batch", EX_LONG, &o.batch, "B", "[1, inf)", "batch size (128)"},
        {"--lr", EX_REAL, &o.lr, "LR", "(0, inf)", "Adam's learning rate for G and D (1e-3)"},
        {"--mu", EX_REAL, &o.mu, "M", NULL, "mean of the data (4)"},
        {"--sigma", EX_REAL, &o.sigma, "S", "(0, inf)", "standard deviation of the data (0.5)"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "gaussian1d: Figure 1 of Goodfellow et al. (2014) from real training: G learns a 1-D Gaussian.");
    return o;
}

/* ------------------------------------------------------------- models */

static int sample_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    const options *o = payload;
    (void)cond;
    int rc = gan_rng_fill_normal(rng, x, batch, (float)o->mu, (float)o->sigma);
    for (size_t i = 0; i < batch; i++) x[i] = (float)((x[i] - o->shift) / o->scale);
    return rc;
}

static int build_models(ex_gan *m, const options *o)
{
    int rc = ex_mlp(&m->g, NOISE_DIM, HIDDEN, 2, 1, GAN_ACT_LEAKY_RELU, 0);
    if (!rc) rc = ex_mlp(&m->d, 1, HIDDEN, 2, 1, GAN_ACT_LEAKY_RELU, GAN_ACT_SIGMOID);
    if (!rc) rc = gan_optim_adam(&m->opt_g, (float)o->lr, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_optim_adam(&m->opt_d, (float)o->lr, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_trainer_create(&m->t, m->g, m->d, m->opt_g, m->opt_d);
    if (!rc) rc = gan_trainer_set_seed(m->t, (uint64_t)o->seed);
    if (!rc) rc = gan_trainer_set_batch_size(m->t, (size_t)o->batch);
    if (!rc) rc = gan_trainer_set_data(m->t, sample_data, (void *)o);
    /* The seed's init stream makes the starting weights, and so the run, reproducible. */
    if (!rc) rc = gan_net_init(m->g, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_HE, 1.0f);
    if (!rc) rc = gan_net_init(m->d, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_HE, 1.0f);
    /* Averaging G's weights smooths the last wobbles of the game; set after the init, which
     * the average starts from. */
    if (!rc) rc = gan_trainer_set_ema(m->t, 0.999f);
    return rc;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* G's samples in data units from evenly spaced z (the same for every panel, so
 * differences between panels are G's own). */
static int generate_sorted(gan_trainer *t, const options *o, float *z, float *x)
{
    for (size_t i = 0; i < N_SAMPLES; i++) z[i] = -1.0f + (2.0f * (float)i + 1.0f) / N_SAMPLES;
    int rc = gan_trainer_generate(t, z, NULL, N_SAMPLES, x);
    if (rc) return rc;
    for (size_t i = 0; i < N_SAMPLES; i++) x[i] = (float)(o->shift + o->scale * x[i]);
    qsort(x, N_SAMPLES, sizeof *x, cmp_float);
    return GAN_OK;
}

static int snapshot(ex_gan *m, const options *o, panel *p, float *z)
{
    size_t n = gan_net_num_params(m->d);
    p->step = gan_trainer_steps(m->t);
    p->x = malloc(N_SAMPLES * sizeof *p->x);
    p->d_params = malloc(n * sizeof *p->d_params);
    if (!p->x || !p->d_params) return ex_out_of_memory("a panel");
    memcpy(p->d_params, gan_net_params(m->d), n * sizeof *p->d_params);
    return generate_sorted(m->t, o, z, p->x);
}

/* ----------------------------------------------------------- training */

static int train(ex_gan *m, const options *o, panel *panels)
{
    ex_progress prog;
    ex_log log;
    ex_progress_start(&prog, (uint64_t)o->steps, (size_t)o->batch);
    int rc = ex_log_open(&log, o->log, 0, ex_progress_on_step, &prog);
    float *z = malloc(N_SAMPLES * sizeof *z);
    if (!rc && !z) rc = ex_out_of_memory("the noise");
    for (int k = 0; k < N_PANELS && !rc; k++) {
        uint64_t target = (uint64_t)llround(panel_at[k] * (double)o->steps);
        uint64_t done = gan_trainer_steps(m->t);
        if (target > done) rc = gan_trainer_run(m->t, target - done, ex_log_on_step, &log);
        if (!rc) rc = snapshot(m, o, &panels[k], z);
    }
    if (!rc) ex_progress_end(&prog);
    char title[128];
    snprintf(title, sizeof title, "gaussian1d: G learning N(%g, %g), seed %ld", o->mu, o->sigma, o->seed);
    rc = ex_log_finish(&log, rc, o->losses, title);
    free(z);
    return rc;
}

/* -------------------------------------------------------------- stats */

static double normal_pdf(double x, double mu, double sigma)
{
    double u = (x - mu) / sigma;
    return exp(-0.5 * u * u) / (sigma * sqrt(2.0 * 3.14159265358979323846));
}

/* Bin of x among JSD_BINS over mu +- 4 sigma, with one bin for each tail. */
static int jsd_bin(double x, const options *o)
{
    double u = (x - (o->mu - 4.0 * o->sigma)) / (8.0 * o->sigma);
    if (!(u >= 0)) return 0; /* NaN too: a broken G still gets a score */
    if (u >= 1) return JSD_BINS + 1;
    return 1 + (int)(u * JSD_BINS);
}

static double kl_term(double p, double m) { return p > 0 ? p * log(p / m) : 0.0; }

/* JSD between histograms of two equally sized samples. */
static double jsd(const float *a, const float *b, size_t n, const options *o)
{
    double ca[JSD_BINS + 2] = {0}, cb[JSD_BINS + 2] = {0}, js = 0;
    for (size_t i = 0; i < n; i++) {
        ca[jsd_bin(a[i], o)] += 1.0 / (double)n;
        cb[jsd_bin(b[i], o)] += 1.0 / (double)n;
    }
    for (int i = 0; i < JSD_BINS + 2; i++) {
        double m = 0.5 * (ca[i] + cb[i]);
        js += 0.5 * kl_term(ca[i], m) + 0.5 * kl_term(cb[i], m);
    }
    return js;
}

/* Real samples for the JSD, from their own stream so training is not disturbed. Their
 * mean and deviation standardise what the nets see: ReLU nets start with zero biases,
 * so all their kinks sit at 0, far from data around mu. */
static int sample_reference(float *x, options *o)
{
    gan_rng *rng;
    int rc = gan_rng_create(&rng, o->seed ^ 0x5eedda7aULL);
    if (!rc) rc = gan_rng_fill_normal(rng, x, N_SAMPLES, (float)o->mu, (float)o->sigma);
    gan_rng_free(rng);
    if (rc) return rc;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) sum += x[i];
    o->shift = sum / N_SAMPLES;
    for (size_t i = 0; i < N_SAMPLES; i++) sq += (x[i] - o->shift) * (x[i] - o->shift);
    o->scale = sqrt(sq / (N_SAMPLES - 1));
    return rc;
}

/* ------------------------------------------------------------ drawing */

static const ex_style PEN_DATA = {.color = EX_BLACK, .width = 2.2, .dash = EX_DOTTED};
static const ex_style PEN_G = {.color = EX_GREEN, .width = 2};
static const ex_style PEN_D = {.color = EX_BLUE, .width = 2, .dash = EX_DASHED};

/* p_data on CURVE points over [lo, hi]. */
static void data_curve(float *xy, double lo, double hi, const options *o)
{
    for (int i = 0; i < CURVE; i++) {
        double x = lo + (hi - lo) * i / (CURVE - 1);
        xy[2 * i] = (float)x;
        xy[2 * i + 1] = (float)normal_pdf(x, o->mu, o->sigma);
    }
}

/* p_g as a density: a histogram of the panel's samples, through its bins' centres. */
static void pg_curve(float *xy, double lo, double hi, const float *x)
{
    double count[PLOT_BINS] = {0}, w = (hi - lo) / PLOT_BINS;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        double b = floor((x[i] - lo) / w); /* tested before the cast: x may be far out */
        if (b >= 0 && b < PLOT_BINS) count[(int)b] += 1.0;
    }
    for (int b = 0; b < PLOT_BINS; b++) {
        xy[2 * b] = (float)(lo + (b + 0.5) * w);
        xy[2 * b + 1] = (float)(count[b] / (N_SAMPLES * w));
    }
}

/* D(x) on CURVE points, with the panel's parameters loaded into D. */
static int d_curve(float *xy, double lo, double hi, gan_net *d, const panel *p, const options *o)
{
    float grid[CURVE], out[CURVE];
    memcpy(gan_net_params(d), p->d_params, gan_net_num_params(d) * sizeof *p->d_params);
    for (int i = 0; i < CURVE; i++) {
        xy[2 * i] = (float)(lo + (hi - lo) * i / (CURVE - 1));
        grid[i] = (float)((xy[2 * i] - o->shift) / o->scale);
    }
    int rc = gan_net_forward(d, grid, CURVE, out, 0); /* evaluation mode: D's sigmoid output */
    for (int i = 0; i < CURVE; i++) xy[2 * i + 1] = out[i];
    return rc;
}

/* One x range for every panel: the data's +- 4 sigma and the bulk of each p_g, within
 * +- 12 sigma so a wild early G does not squash the data out of sight. */
static void x_range(const panel *panels, const options *o, double *lo, double *hi)
{
    *lo = o->mu - 4.0 * o->sigma;
    *hi = o->mu + 4.0 * o->sigma;
    for (int k = 0; k < N_PANELS; k++) {
        *lo = fmin(*lo, panels[k].x[N_SAMPLES / 200]);
        *hi = fmax(*hi, panels[k].x[N_SAMPLES - 1 - N_SAMPLES / 200]);
    }
    *lo = fmax(*lo, o->mu - 12.0 * o->sigma);
    *hi = fmin(*hi, o->mu + 12.0 * o->sigma);
    double pad = 0.05 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

/* The paper's panels (a)-(d) side by side; the legend in the last, where the curves are calm. */
static int draw_figure(const panel *panels, const double *js, gan_net *d, const options *o)
{
    char title[160], name[80];
    snprintf(title, sizeof title, "Goodfellow et al. (2014), Figure 1, from training: G learns p_data = N(%g, %g)",
             o->mu, o->sigma);
    ex_figure *f = ex_figure_create(N_PANELS * 350, 390, 1, N_PANELS, title);
    double lo, hi, ymax = 1.15 * fmax(1.0, normal_pdf(o->mu, o->mu, o->sigma));
    float xy[2 * CURVE];
    int rc = GAN_OK;
    x_range(panels, o, &lo, &hi);
    for (int k = 0; k < N_PANELS && !rc; k++) {
        ex_axes *a = ex_figure_axes(f, 0, k);
        snprintf(name, sizeof name, "(%c) step %llu, JSD %.3f", 'a' + k, panels[k].step, js[k]);
        ex_axes_text(a, name, "x", k ? NULL : "density, and D(x)");
        ex_axes_limits(a, lo, hi, 0, ymax);
        ex_axes_hline(a, 0.5, (ex_style){.color = EX_GREY, .alpha = 0.5, .width = 1}, "1/2");
        data_curve(xy, lo, hi, o);
        ex_axes_line(a, xy, CURVE, PEN_DATA, k < N_PANELS - 1 ? NULL : "p_data: the data");
        pg_curve(xy, lo, hi, panels[k].x);
        ex_axes_line(a, xy, PLOT_BINS, PEN_G, k < N_PANELS - 1 ? NULL : "p_g: G's samples");
        rc = d_curve(xy, lo, hi, d, &panels[k], o);
        ex_axes_line(a, xy, CURVE, PEN_D, k < N_PANELS - 1 ? NULL : "D(x): the discriminator");
    }
    if (!rc) rc = ex_figure_save(f, o->figure);
    ex_figure_free(f);
    return rc;
}

/* --------------------------------------------------------------- main */

/* The output paths, their directory made before training so a bad --out fails fast. */
static int prepare_output(options *o)
{
    if (snprintf(o->figure, sizeof o->figure, "%s/gaussian1d.png", o->out) >= (int)sizeof o->figure ||
        snprintf(o->losses, sizeof o->losses, "%s/losses.png", o->out) >= (int)sizeof o->losses ||
        ex_mkdir_p(o->out)) {
        fprintf(stderr, "gaussian1d: cannot create the directory %s\n", o->out);
        return EX_FAIL;
    }
    return 0;
}

static int report(const panel *panels, ex_gan *m, const options *o, const float *data)
{
    double js[N_PANELS];
    for (int k = 0; k < N_PANELS; k++) {
        js[k] = jsd(data, panels[k].x, N_SAMPLES, o);
        printf("panel %c  step %6llu  jsd %.4f\n", 'a' + k, panels[k].step, js[k]);
    }
    int rc = draw_figure(panels, js, m->d, o); /* it overwrites D's weights: nothing trains after it */
    if (rc) return rc;
    printf("wrote %s and %s\n", o->figure, o->losses);
    printf("jsd=%.4f\n", js[N_PANELS - 1]);
    return GAN_OK;
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    ex_gan m = {0};
    panel panels[N_PANELS] = {{0}};
    if (prepare_output(&o)) return 1;
    float *data = malloc(N_SAMPLES * sizeof *data);
    if (!data) {
        ex_out_of_memory("the data");
        return 1;
    }
    int rc = sample_reference(data, &o);
    if (!rc) rc = build_models(&m, &o);
    if (!rc) rc = train(&m, &o, panels);
    if (!rc) rc = report(panels, &m, &o, data);
    if (rc && rc != EX_FAIL) fprintf(stderr, "gaussian1d: %s: %s\n", gan_strerror(rc), gan_error_last());
    for (int k = 0; k < N_PANELS; k++) {
        free(panels[k].x);
        free(panels[k].d_params);
    }
    ex_gan_free(&m);
    free(data);
    return rc ? 1 : 0;
}
