/* mixture2d: a GAN on the 2-D Gaussian mixtures of the mode-collapse literature
 * (8 modes on a ring, 25 on a grid), scored by modes covered, high-quality samples
 * and the reverse KL of the mode histogram, over one or more seeds. */
#include "common.h"
#include "flags.h"
#include "gan.h"
#include "log.h"
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODES 25
#define N_EVAL 2500
#define PI 3.14159265358979323846

typedef struct mixture {
    const char *name;
    int k;                       /* number of modes */
    double mode[MAX_MODES][2];   /* centres */
    double sigma;                /* per-axis standard deviation */
    double scale;                /* the nets see data / scale */
    double view;                 /* the plot shows [-view, view]^2 */
    long steps, batch;           /* default training length and batch */
} mixture;

typedef struct options {
    long steps, batch, seeds, hidden, layers, zdim, d_steps, stop_at, sn;
    long seed;
    double lr, lr_d, beta1, beta2, ema, decay, clip, gp, r1;
    long interval;
    const char *mixture, *noise, *loss;
    const char *out, *save, *resume, *log; /* checkpoint and log paths, or NULL */
} options;

typedef struct score {
    int covered;
    double hq_percent, rkl;
} score;

/* ----------------------------------------------------------- mixtures */

static void mixture_make(mixture *m, const char *name)
{
    memset(m, 0, sizeof *m);
    m->name = name;
    if (strcmp(name, "ring") == 0) {
        m->k = 8;
        for (int i = 0; i < 8; i++) {
            m->mode[i][0] = cos(2 * PI * i / 8);
            m->mode[i][1] = sin(2 * PI * i / 8);
        }
        m->sigma = 0.01;
        m->scale = 1.0;
        m->view = 1.5;
        m->steps = 10000; /* EMA's average needs the steps to settle: 97.6% high quality, 94.7% at 5000 without */
        m->batch = 256;
        return;
    }
    if (strcmp(name, "grid") == 0) {
        m->k = 25;
        for (int i = 0; i < 25; i++) {
            m->mode[i][0] = -4.0 + 2.0 * (i % 5);
            m->mode[i][1] = -4.0 + 2.0 * (i / 5);
        }
        m->sigma = 0.05;
        m->scale = 4.0; /* keeps the nets' inputs and outputs near unit size */
        m->view = 6.0;
        m->steps = 20000; /* 25 modes take longer to separate, and a batch of 512 to all be seen */
        m->batch = 512;
    }
}

/* gan_data_fn: a uniform mode plus Gaussian noise, from the trainer's data stream only. */
static int sample_mixture(void *payload, gan_rng *rng, float *x, float *cond, size_t batch)
{
    const mixture *m = payload;
    (void)cond;
    for (size_t i = 0; i < batch; i++) {
        int k = (int)(gan_rng_uniform(rng) * (float)m->k);
        if (k >= m->k) k = m->k - 1; /* float rounding */
        for (size_t j = 0; j < 2; j++)
            x[2 * i + j] = (float)((m->mode[k][j] + m->sigma * gan_rng_normal(rng)) / m->scale);
    }
    return 0;
}

static int nearest_mode(const mixture *m, double x, double y, double *dist)
{
    int best = 0;
    double best_d2 = INFINITY;
    for (int k = 0; k < m->k; k++) {
        double dx = x - m->mode[k][0], dy = y - m->mode[k][1], d2 = dx * dx + dy * dy;
        if (d2 < best_d2) {
            best_d2 = d2;
            best = k;
        }
    }
    *dist = sqrt(best_d2);
    return best;
}

/* Samples (already in data units) -> modes covered, % high quality, KL(q || uniform). */
static score score_samples(const mixture *m, const float *xy, size_t n)
{
    int count[MAX_MODES] = {0};
    size_t hq = 0;
    for (size_t i = 0; i < n; i++) {
        double dist;
        int k = nearest_mode(m, xy[2 * i], xy[2 * i + 1], &dist);
        if (dist <= 3.0 * m->sigma) {
            count[k]++;
            hq++;
        }
    }
    score s = {0, 100.0 * (double)hq / (double)n, 0.0};
    if (!hq) s.rkl = log(m->k); /* q is undefined: count it as the worst single-mode histogram */
    for (int k = 0; k < m->k; k++) {
        if (!count[k]) continue;
        double q = (double)count[k] / (double)hq;
        s.covered++;
        s.rkl += q * log(q * m->k);
    }
    return s;
}

/* --------------------------------------------------------------- plot */

/* Samples as faint blue dots, the modes as red circles of 3 sigma (at least 4 pixels). */
static int plot(const mixture *m, const float *xy, size_t n, const score *s, uint64_t seed, const char *path)
{
    char title[160], label[64];
    float modes[2 * MAX_MODES];
    snprintf(title, sizeof title, "The %s of %d Gaussians, seed %llu: %d/%d modes, %.1f%% high quality", m->name,
             m->k, (unsigned long long)seed, s->covered, m->k, s->hq_percent);
    ex_figure *f = ex_figure_create(640, 670, 1, 1, title); /* a square plotting area */
    ex_axes *a = ex_figure_axes(f, 0, 0);
    ex_axes_text(a, NULL, "x", "y");
    ex_axes_limits(a, -m->view, m->view, -m->view, m->view);
    snprintf(label, sizeof label, "%zu samples of G", n);
    ex_axes_scatter(a, xy, n, (ex_style){.color = EX_BLUE, .alpha = 0.25, .width = 1.6}, label);
    for (int k = 0; k < m->k; k++) {
        modes[2 * k] = (float)m->mode[k][0];
        modes[2 * k + 1] = (float)m->mode[k][1];
    }
    ex_axes_scatter(a, modes, (size_t)m->k, (ex_style){.color = EX_RED, .width = 4, .ring = 1, .radius = 3 * m->sigma},
                    "the modes: circles of radius 3σ");
    int rc = ex_figure_save(f, path);
    ex_figure_free(f);
    return rc;
}

/* ------------------------------------------------------------ training */

static int run_setup(ex_gan *r, const options *o, mixture *m, uint64_t seed)
{
    EX_TRY(ex_mlp(&r->g, (size_t)o->zdim, (size_t)o->hidden, (int)o->layers, 2, GAN_ACT_RELU, 0));
    EX_TRY(ex_spectral_mlp(&r->d, 2, (size_t)o->hidden, (int)o->layers, 1, GAN_ACT_LEAKY_RELU, 0, (size_t)o->sn));
    EX_TRY(gan_optim_adam(&r->opt_g, (float)o->lr, (float)o->beta1, (float)o->beta2, 1e-8f));
    EX_TRY(gan_optim_adam(&r->opt_d, (float)o->lr_d, (float)o->beta1, (float)o->beta2, 1e-8f));
    EX_TRY(gan_trainer_create(&r->t, r->g, r->d, r->opt_g, r->opt_d));
    EX_TRY(gan_trainer_set_seed(r->t, seed));
    /* Initialise from the trainer's init stream so the seed decides everything. */
    gan_rng *init = gan_trainer_rng(r->t, GAN_STREAM_INIT);
    EX_TRY(gan_net_init(r->g, init, GAN_INIT_HE, 1.0f));
    EX_TRY(gan_net_init(r->d, init, GAN_INIT_HE, 1.0f));
    EX_TRY(gan_trainer_set_data(r->t, sample_mixture, m));
    EX_TRY(strcmp(o->noise, "uniform") == 0 ? gan_trainer_set_noise_uniform(r->t, 1.0f)
                                             : gan_trainer_set_noise_normal(r->t, 1.0f));
    EX_TRY(gan_trainer_set_batch_size(r->t, (size_t)o->batch));
    EX_TRY(gan_trainer_set_d_steps(r->t, (unsigned)o->d_steps));
    /* wgan: the critic kept Lipschitz by clipping its weights; wgan-gp: by the penalty. */
    int wasserstein = strcmp(o->loss, "ns") != 0;
    EX_TRY(gan_trainer_set_loss(r->t, wasserstein ? GAN_LOSS_WASSERSTEIN : GAN_LOSS_NON_SATURATING));
    EX_TRY(gan_trainer_set_clip(r->t, (float)o->clip));
    if (strcmp(o->loss, "wgan-gp") == 0)
        EX_TRY(gan_trainer_set_gradient_penalty(r->t, GAN_PENALTY_WGAN_GP, (float)o->gp, (unsigned)o->interval));
    else if (o->r1 > 0)
        EX_TRY(gan_trainer_set_gradient_penalty(r->t, GAN_PENALTY_R1, (float)o->r1, (unsigned)o->interval));
    EX_TRY(gan_trainer_set_ema(r->t, (float)o->ema)); /* after init: the average starts there */
    return GAN_OK;
}

typedef struct progress {
    ex_progress bar;
    const options *o;
    ex_gan *r;
} progress;

/* Learning-rate factor after `step`: 1, then a linear fall to 0 over the last `decay` of the run.
 * Adam's steps do not shrink on their own, and sigma 0.01 needs G to come to rest. */
static double lr_factor(const options *o, uint64_t step)
{
    double start = (1.0 - o->decay) * (double)o->steps;
    if ((double)step <= start) return 1.0;
    return ((double)o->steps - (double)step) / ((double)o->steps - start);
}

static int on_step(void *payload, const gan_step_stats *s)
{
    progress *p = payload;
    double f = lr_factor(p->o, s->step);
    ex_progress_update(&p->bar, s);
    int rc = gan_optim_set_lr(p->r->opt_g, (float)(f * p->o->lr));
    if (!rc) rc = gan_optim_set_lr(p->r->opt_d, (float)(f * p->o->lr_d));
    return ex_report(rc, "gan_optim_set_lr");
}

/* One fresh training from `seed`; fills xy (N_EVAL x 2, data units). With `losses` (the
 * first seed), --log records it and its losses are drawn there. */
static int train_and_sample(const options *o, mixture *m, uint64_t seed, float *xy, const char *losses)
{
    ex_gan r = {0};
    ex_log log = {0};
    progress p = {.o = o, .r = &r};
    int rc = run_setup(&r, o, m, seed);
    /* A checkpoint replaces the fresh nets, optimizers, rngs and step count. */
    if (!rc && o->resume) rc = ex_report(gan_trainer_load(r.t, o->resume), "gan_trainer_load");
    uint64_t done = rc ? 0 : gan_trainer_steps(r.t);
    if (!rc && done > (uint64_t)o->steps) {
        fprintf(stderr, "mixture2d: %s has %llu steps, more than --steps %ld\n", o->resume, (unsigned long long)done,
                o->steps);
        rc = GAN_EINVAL;
    }
    if (!rc) rc = ex_log_open(&log, losses ? o->log : NULL, done, on_step, &p);
    /* --stop-at pauses a run of --steps (whose schedule it keeps) for a later --resume. */
    uint64_t end = o->stop_at && (uint64_t)o->stop_at < (uint64_t)o->steps ? (uint64_t)o->stop_at : (uint64_t)o->steps;
    if (!rc) {
        ex_progress_start(&p.bar, end, (size_t)o->batch);
        p.bar.first = done;
        rc = ex_report(gan_trainer_run(r.t, end > done ? end - done : 0, ex_log_on_step, &log), "gan_trainer_run");
        ex_progress_end(&p.bar);
    }
    if (!rc && o->save) rc = ex_report(gan_trainer_save(r.t, o->save), "gan_trainer_save");
    char title[128];
    snprintf(title, sizeof title, "mixture2d, %s: seed %llu, %llu of %ld steps", m->name, (unsigned long long)seed,
             (unsigned long long)end, o->steps);
    rc = ex_log_finish(&log, rc, losses, title);
    if (!rc) rc = ex_report(gan_trainer_generate(r.t, NULL, NULL, N_EVAL, xy), "gan_trainer_generate");
    for (size_t i = 0; !rc && i < 2 * N_EVAL; i++) xy[i] = (float)(xy[i] * m->scale);
    ex_gan_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- main */

static double mean_of(const double *v, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

/* Standard error of the mean (0 for a single value). */
static double se_of(const double *v, long n)
{
    if (n < 2) return 0;
    double mu = mean_of(v, n), ss = 0;
    for (long i = 0; i < n; i++) ss += (v[i] - mu) * (v[i] - mu);
    return sqrt(ss / (double)(n - 1) / (double)n);
}

static void parse(int argc, char **argv, options *o, mixture *m)
{
    *o = (options){.seeds = 1, .seed = 1, .hidden = 128, .layers = 3, .zdim = 2, .d_steps = 1, .lr = 1e-3,
                   .lr_d = NAN, .beta1 = 0.5, .beta2 = NAN, .decay = 0.5, .ema = 0.999, .clip = 0.01, .gp = 0.1,
                   .interval = 1, .mixture = "ring", .noise = "normal", .loss = "ns", .out = "out"};
    double scale = NAN; /* NAN, and steps 0: the mixture's own */
    const ex_flag flags[] = {
        {"--mixture", EX_CHOICE, &o->mixture, "ring|grid", NULL, "8 modes on a circle, or 25 on a grid (ring)"},
        {"--seeds", EX_LONG, &o->seeds, "N", "[1, inf)", "train N times, from seeds S, S+1, ... (1)"},
        {"--seed", EX_LONG, &o->seed, "S", "[0, inf)", "the first seed (1)"},
        {"--out", EX_TEXT, &o->out, "DIR", NULL, "where the pictures go (out)"},
        {"--steps", EX_LONG, &o->steps, "N", "[1, inf)", "training steps (ring 10000, grid 20000)"},
        {"--batch", EX_LONG, &o->batch, "B", "[1, inf)", "batch size (ring 256, grid 512)"},
        {"--lr", EX_REAL, &o->lr, "LR", "(0, inf)", "Adam's learning rate (1e-3)"},
        {"--lr-d", EX_REAL, &o->lr_d, "LR", "(0, inf)", "D's learning rate (= --lr)"},
        {"--beta1", EX_REAL, &o->beta1, "B", "[0, 1)", "Adam's beta1 (0.5)"},
        {"--beta2", EX_REAL, &o->beta2, "B", "[0, 1)", "Adam's beta2 (0.999; 0.9 for the Wasserstein losses)"},
        {"--loss", EX_CHOICE, &o->loss, "ns|wgan|wgan-gp", NULL,
         "non-saturating; Wasserstein with clipping (--clip); Wasserstein with WGAN-GP (--gp) (ns)"},
        {"--clip", EX_REAL, &o->clip, "C", "(0, inf)", "wgan: D's weights clipped to [-C, C] (0.01)"},
        {"--gp", EX_REAL, &o->gp, "L", "(0, inf)", "wgan-gp: the penalty's weight lambda (0.1, the paper's for toys)"},
        {"--r1", EX_REAL, &o->r1, "W", "[0, inf)", "ns: an R1 penalty of weight W on real rows; 0: off (0)"},
        {"--penalty-interval", EX_LONG, &o->interval, "N", "[1, 1000000]", "take the penalty every N steps (1)"},
        {"--decay", EX_REAL, &o->decay, "F", "[0, 1]", "the last fraction of steps, where lr falls to 0 (0.5)"},
        {"--ema", EX_REAL, &o->ema, "D", "[0, 1)", "decay of G's weight average, which is scored; 0: off (0.999)"},
        {"--sn", EX_LONG, &o->sn, "N", "[0, 64]", "spectral norm on D's layers, N power steps; 0: off (0)"},
        {"--d-steps", EX_LONG, &o->d_steps, "K", "[1, 4294967295]", "D steps per G step (1)"},
        {"--save", EX_TEXT, &o->save, "CHECKPOINT", NULL, "save the trainer when training ends"},
        {"--resume", EX_TEXT, &o->resume, "CHECKPOINT", NULL, "continue a saved trainer"},
        {"--stop-at", EX_LONG, &o->stop_at, "N", "[0, inf)",
         "end training at step N of --steps, e.g. to --save and --resume later (0: at the end)"},
        {"--log", EX_TEXT, &o->log, "FILE.csv", NULL, "one CSV row of gan_step_stats per step (the first seed)"},
        {"--layers", EX_LONG, &o->layers, "L", "[0, inf)", "hidden layers of G and D (3)"},
        {"--hidden", EX_LONG, &o->hidden, "H", "[1, inf)", "units per hidden layer (128)"},
        {"--zdim", EX_LONG, &o->zdim, "Z", "[1, inf)", "noise dimension (2)"},
        {"--noise", EX_CHOICE, &o->noise, "normal|uniform", NULL, "G's noise (normal)"},
        {"--scale", EX_REAL, &scale, "X", "(0, inf)", "the nets see data / X (ring 1, grid 4)"},
        {0}};
    ex_flags_parse(argc, argv, flags,
                   "mixture2d: a GAN on a 2-D Gaussian mixture, scored by modes covered, high-quality samples and\n"
                   "the reverse KL of the mode histogram, over one or more seeds.");
    if ((o->save || o->resume) && o->seeds != 1) ex_flags_fail(flags, "--save and --resume take one seed (--seeds 1)");
    mixture_make(m, o->mixture);
    int wasserstein = strcmp(o->loss, "ns") != 0;
    if (o->r1 > 0 && wasserstein) ex_flags_fail(flags, "--r1 goes with --loss ns (one penalty at a time)");
    if (isnan(o->beta2)) o->beta2 = wasserstein ? 0.9 : 0.999;
    if (!o->steps) o->steps = m->steps;
    if (!o->batch) o->batch = m->batch;
    if (isnan(o->lr_d)) o->lr_d = o->lr;
    if (!isnan(scale)) m->scale = scale;
}

int main(int argc, char **argv)
{
    options o;
    mixture m;
    parse(argc, argv, &o, &m);
    char path[4096], losses[4096];
    snprintf(path, sizeof path, "%s/mixture2d_%s.png", o.out, m.name);
    snprintf(losses, sizeof losses, "%s/losses.png", o.out);
    float *xy = malloc(2 * N_EVAL * sizeof *xy);
    double *modes = malloc((size_t)o.seeds * sizeof *modes), *hq = malloc((size_t)o.seeds * sizeof *hq),
           *rkl = malloc((size_t)o.seeds * sizeof *rkl);
    int status = 1;
    if (!xy || !modes || !hq || !rkl) {
        fprintf(stderr, "mixture2d: out of memory\n");
        goto done;
    }
    if (ex_mkdir_p(o.out) != 0) { /* fail before training, not after */
        fprintf(stderr, "mixture2d: cannot create %s\n", o.out);
        goto done;
    }
    printf("mixture %s: %d modes, sigma %g | G, D: %ld x %ld, z %ld %s | batch %ld, %ld steps, lr %g/%g "
           "(decay %g), ema %g | loss %s, k %ld",
           m.name, m.k, m.sigma, o.layers, o.hidden, o.zdim, o.noise, o.batch,
           o.steps, o.lr, o.lr_d, o.decay, o.ema, o.loss, o.d_steps);
    if (strcmp(o.loss, "wgan") == 0) printf(", clip %g", o.clip);
    if (strcmp(o.loss, "wgan-gp") == 0) printf(", lambda %g every %ld", o.gp, o.interval);
    if (o.r1 > 0) printf(", R1 %g every %ld", o.r1, o.interval);
    printf("\n");
    fflush(stdout);
    for (long i = 0; i < o.seeds; i++) {
        uint64_t seed = (uint64_t)(o.seed + i);
        double t0 = ex_now();
        if (train_and_sample(&o, &m, seed, xy, i == 0 ? losses : NULL) != 0) goto done;
        score s = score_samples(&m, xy, N_EVAL);
        modes[i] = s.covered;
        hq[i] = s.hq_percent;
        rkl[i] = s.rkl;
        printf("seed %llu: modes %d/%d  hq %.1f%%  rkl %.3f  (%.1f s)\n", (unsigned long long)seed, s.covered, m.k,
               s.hq_percent, s.rkl, ex_now() - t0);
        fflush(stdout);
        if (i == 0 && plot(&m, xy, N_EVAL, &s, seed, path) != 0) goto done; /* plot() said why */
    }
    printf("mean ± se over %ld seeds: modes %.1f ± %.1f / %d  hq %.1f ± %.1f %%  rkl %.3f ± %.3f\n", o.seeds,
           mean_of(modes, o.seeds), se_of(modes, o.seeds), m.k, mean_of(hq, o.seeds), se_of(hq, o.seeds),
           mean_of(rkl, o.seeds), se_of(rkl, o.seeds));
    printf("picture: %s\nlosses: %s\n", path, losses);
    printf("modes=%.1f/%d hq=%.1f rkl=%.3f seeds=%ld\n", mean_of(modes, o.seeds), m.k, mean_of(hq, o.seeds),
           mean_of(rkl, o.seeds), o.seeds);
    status = 0;
done:
    free(xy);
    free(modes);
    free(hq);
    free(rkl);
    return status;
}
