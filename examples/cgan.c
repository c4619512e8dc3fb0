/* A conditional GAN (Mirza & Osindero, 2014) on the 25-Gaussian grid: modes at
 * {-4,-2,0,2,4}^2 with sigma 0.05. The condition is the mode's index as a one-hot vector
 * of 25, appended by the trainer to G's noise and to D's input; after training, G is asked
 * for each mode in turn and scored on whether it delivers the one requested.
 *
 *   cgan [--steps N] [--seed S] [--out DIR] [--batch B] [--lr LR] [--log FILE.csv]
 *
 * Prints a 5 x 5 table of per-mode scores and writes DIR/cgan.png (samples coloured by
 * the requested mode) and DIR/losses.png. The last stdout line is "requested=<%> hq=<%>":
 * the share of all samples whose nearest mode is the requested one, and the share within
 * 3 sigma of it. */
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
    GRID = 5,             /* modes per axis */
    N_MODES = GRID * GRID,
    DATA_DIM = 2,
    NOISE_DIM = 2,        /* 2-D noise for a 2-D blob: it trained tighter than 8-D */
    HIDDEN = 128,         /* units per hidden layer of G and D */
    PER_MODE = 200        /* samples generated per requested mode for the score */
};

#define SIGMA 0.05        /* standard deviation of each mode */
#define SPACING 2.0       /* distance between neighbouring modes */
#define NET_SCALE 0.25    /* the nets see x / 4: inputs and outputs of order 1 */

typedef struct options {
    long steps, batch, seed;
    double lr;
    const char *out, *log;
    char figure[4096], losses[4096]; /* the pictures' paths */
} options;

/* ------------------------------------------------------------ options */

static options parse_options(int argc, char **argv)
{
    options o = {.steps = 4000, .batch = 256, .seed = 1, .lr = 5e-4, .out = "out"};
    const ex_flag flags[] = {
        {"--steps", EX_LONG, &o.steps, "N", "[1, inf)", "training steps (4000)"},
        {"--seed", EX_LONG, &o.seed, "S", "[0, inf)", "seed of every random stream (1)"},
        {"--out", EX_TEXT, &o.out, "DIR", NULL, "where cgan.png and losses.png go (out)"},
        {"--batch", EX_LONG, &o.batch, "B", "[1, inf)", "batch size (256)"},
        {"--lr", EX_REAL, &o.lr, "LR", "(0, inf)", "Adam's learning rate for G and D (5e-4)"},
        {"--log", EX_TEXT, &o.log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "cgan: a conditional GAN on the 25-Gaussian grid; G is asked for each mode in turn.");
    return o;
}

/* --------------------------------------------------------------- data */

/* Centre of mode k along one axis: column k % GRID for x, row k / GRID for y. */
static double mode_x(int k) { return SPACING * (k % GRID - GRID / 2); }
static double mode_y(int k) { return SPACING * (k / GRID - GRID / 2); }

/* The nearest mode of a point: the grid is a product, so each axis rounds on its own. */
static int nearest_mode(double x, double y)
{
    int col = (int)lround(x / SPACING) + GRID / 2, row = (int)lround(y / SPACING) + GRID / 2;
    col = col < 0 ? 0 : col >= GRID ? GRID - 1 : col;
    row = row < 0 ? 0 : row >= GRID ? GRID - 1 : row;
    return row * GRID + col;
}

static void one_hot(float *row, int k)
{
    memset(row, 0, N_MODES * sizeof *row);
    row[k] = 1.0f;
}

/* A uniformly chosen mode per row: its sample in x (net units), its one-hot in cond. */
static int sample_data(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    (void)payload;
    for (size_t i = 0; i < batch; i++) {
        int k = (int)(gan_rng_uniform(rng) * N_MODES);
        k = k < N_MODES ? k : N_MODES - 1; /* guards rounding of a uniform just below 1 */
        x[2 * i] = (float)(NET_SCALE * (mode_x(k) + SIGMA * gan_rng_normal(rng)));
        x[2 * i + 1] = (float)(NET_SCALE * (mode_y(k) + SIGMA * gan_rng_normal(rng)));
        one_hot(cond + i * N_MODES, k);
    }
    return 0;
}

/* ------------------------------------------------------------- models */

static int build_models(ex_gan *m, const options *o)
{
    int rc = ex_mlp(&m->g, NOISE_DIM + N_MODES, HIDDEN, 2, DATA_DIM, GAN_ACT_LEAKY_RELU, 0);
    if (!rc) rc = ex_mlp(&m->d, DATA_DIM + N_MODES, HIDDEN, 2, 1, GAN_ACT_LEAKY_RELU, GAN_ACT_SIGMOID);
    if (!rc) rc = gan_optim_adam(&m->opt_g, (float)o->lr, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_optim_adam(&m->opt_d, (float)o->lr, 0.5f, 0.999f, 1e-8f);
    if (!rc) rc = gan_trainer_create(&m->t, m->g, m->d, m->opt_g, m->opt_d);
    if (!rc) rc = gan_trainer_set_seed(m->t, (uint64_t)o->seed);
    if (!rc) rc = gan_trainer_set_batch_size(m->t, (size_t)o->batch);
    if (!rc) rc = gan_trainer_set_cond_dim(m->t, N_MODES);
    if (!rc) rc = gan_trainer_set_noise_normal(m->t, 1.0f);
    if (!rc) rc = gan_trainer_set_data(m->t, sample_data, NULL);
    /* The seed's init stream makes the starting weights, and so the run, reproducible. */
    if (!rc) rc = gan_net_init(m->g, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_HE, 1.0f);
    if (!rc) rc = gan_net_init(m->d, gan_trainer_rng(m->t, GAN_STREAM_INIT), GAN_INIT_HE, 1.0f);
    /* The last iterate circles around each mode; averaged weights sit at its centre. A
     * horizon of ~200 steps forgets the early weights within a short run (0.999 did not),
     * and the average starts from G's weights, so it is switched on after the init. */
    if (!rc) rc = gan_trainer_set_ema(m->t, 0.995f);
    return rc;
}

/* ----------------------------------------------------------- training */

static int train(ex_gan *m, const options *o)
{
    ex_progress prog;
    ex_log log;
    char title[96];
    ex_progress_start(&prog, (uint64_t)o->steps, (size_t)o->batch);
    int rc = ex_log_open(&log, o->log, 0, ex_progress_on_step, &prog);
    if (!rc) rc = gan_trainer_run(m->t, (uint64_t)o->steps, ex_log_on_step, &log);
    if (!rc) ex_progress_end(&prog);
    snprintf(title, sizeof title, "cgan: the 25-Gaussian grid, one mode asked at a time, seed %ld", o->seed);
    return ex_log_finish(&log, rc, o->losses, title);
}

/* ---------------------------------------------------------- evaluation */

/* PER_MODE samples for every mode, in data units: rows k * PER_MODE .. were asked for k. */
static int generate_all(gan_trainer *t, float *x)
{
    float *cond = malloc((size_t)PER_MODE * N_MODES * sizeof *cond);
    if (!cond) return ex_out_of_memory("the conditions");
    int rc = GAN_OK;
    for (int k = 0; k < N_MODES && !rc; k++) {
        for (int i = 0; i < PER_MODE; i++) one_hot(cond + (size_t)i * N_MODES, k);
        rc = gan_trainer_generate(t, NULL, cond, PER_MODE, x + (size_t)k * PER_MODE * DATA_DIM);
    }
    for (size_t i = 0; !rc && i < (size_t)PER_MODE * N_MODES * DATA_DIM; i++) x[i] = (float)(x[i] / NET_SCALE);
    free(cond);
    return rc;
}

typedef struct score {
    int requested[N_MODES]; /* samples whose nearest mode is the requested one */
    int hq[N_MODES];        /* samples within 3 sigma of the requested mode */
    double spread;          /* RMS per-axis distance to the requested mode (data: SIGMA) */
} score;

static score score_samples(const float *x)
{
    score s = {{0}, {0}, 0.0};
    double sq = 0;
    for (int k = 0; k < N_MODES; k++) {
        for (int i = 0; i < PER_MODE; i++) {
            const float *p = x + ((size_t)k * PER_MODE + (size_t)i) * DATA_DIM;
            double dx = p[0] - mode_x(k), dy = p[1] - mode_y(k);
            s.requested[k] += nearest_mode(p[0], p[1]) == k;
            s.hq[k] += hypot(dx, dy) <= 3.0 * SIGMA;
            sq += dx * dx + dy * dy;
        }
    }
    s.spread = sqrt(sq / (2.0 * PER_MODE * N_MODES));
    return s;
}

static double percent(int count, int total) { return 100.0 * count / total; }

/* The table is laid out like the grid: top row y = +4, left column x = -4. */
static void print_table(const score *s)
{
    printf("per mode: %% nearest is requested / %% within 3 sigma of it\n");
    for (int row = GRID - 1; row >= 0; row--) {
        printf("  y=%+.0f ", mode_y(row * GRID));
        for (int col = 0; col < GRID; col++) {
            int k = row * GRID + col;
            printf(" %5.1f/%5.1f", percent(s->requested[k], PER_MODE), percent(s->hq[k], PER_MODE));
        }
        printf("\n");
    }
    printf("spread around the requested mode: %.4f per axis (data %.4f)\n", s->spread, SIGMA);
}

/* ------------------------------------------------------------ drawing */

/* A distinct colour per mode: hues spread so that neighbouring modes differ. */
static ex_rgb mode_color(int k)
{
    double h = (double)((k * 7) % N_MODES) / N_MODES * 6.0, f = h - floor(h);
    double rgb[6][3] = {{1, f, 0}, {1 - f, 1, 0}, {0, 1, f}, {0, 1 - f, 1}, {f, 0, 1}, {1, 0, 1 - f}};
    const double *c = rgb[(int)h % 6];
    return (ex_rgb){0.15 + 0.7 * c[0], 0.15 + 0.7 * c[1], 0.15 + 0.7 * c[2]};
}

static int draw_scatter(const float *x, int requested, const options *o)
{
    char title[128], label[80];
    float modes[2 * N_MODES];
    snprintf(title, sizeof title, "cgan: %.1f%% of G's samples land nearest the mode asked for",
             percent(requested, PER_MODE * N_MODES));
    snprintf(label, sizeof label, "%d samples per mode, coloured by the mode asked for", PER_MODE);
    ex_figure *f = ex_figure_create(640, 670, 1, 1, title); /* a square plotting area */
    ex_axes *a = ex_figure_axes(f, 0, 0);
    ex_axes_text(a, NULL, "x", "y");
    ex_axes_limits(a, -5.5, 5.5, -5.5, 5.5);
    for (int k = 0; k < N_MODES; k++) {
        ex_style dots = {.color = mode_color(k), .alpha = 0.6, .width = 1.5};
        ex_axes_scatter(a, x + (size_t)k * PER_MODE * DATA_DIM, PER_MODE, dots,
                        k ? NULL : label);
        modes[2 * k] = (float)mode_x(k);
        modes[2 * k + 1] = (float)mode_y(k);
    }
    ex_axes_scatter(a, modes, N_MODES, (ex_style){.color = EX_GREY, .width = 4, .ring = 1, .radius = 3 * SIGMA},
                    "the modes: circles of radius 3σ");
    int rc = ex_figure_save(f, o->figure);
    ex_figure_free(f);
    return rc;
}

/* --------------------------------------------------------------- main */

/* The output paths, their directory made before training so a bad --out fails fast. */
static int prepare_output(options *o)
{
    if (snprintf(o->figure, sizeof o->figure, "%s/cgan.png", o->out) >= (int)sizeof o->figure ||
        snprintf(o->losses, sizeof o->losses, "%s/losses.png", o->out) >= (int)sizeof o->losses ||
        ex_mkdir_p(o->out)) {
        fprintf(stderr, "cgan: cannot create the directory %s\n", o->out);
        return EX_FAIL;
    }
    return 0;
}

static int report(ex_gan *m, const options *o)
{
    float *x = malloc((size_t)PER_MODE * N_MODES * DATA_DIM * sizeof *x);
    if (!x) return ex_out_of_memory("the samples");
    int rc = generate_all(m->t, x);
    if (!rc) {
        score s = score_samples(x);
        int req = 0, hq = 0;
        for (int k = 0; k < N_MODES; k++) {
            req += s.requested[k];
            hq += s.hq[k];
        }
        rc = draw_scatter(x, req, o);
        print_table(&s);
        if (!rc) printf("wrote %s and %s\n", o->figure, o->losses);
        if (!rc) printf("requested=%.1f hq=%.1f\n", percent(req, PER_MODE * N_MODES), percent(hq, PER_MODE * N_MODES));
    }
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    ex_gan m = {0};
    if (prepare_output(&o)) return 1;
    int rc = build_models(&m, &o);
    if (!rc) rc = train(&m, &o);
    if (!rc) rc = report(&m, &o);
    if (rc && rc != EX_FAIL) fprintf(stderr, "cgan: %s: %s\n", gan_strerror(rc), gan_error_last());
    ex_gan_free(&m);
    return rc ? 1 : 0;
}
