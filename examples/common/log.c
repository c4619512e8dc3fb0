/* The training record (log.h): a CSV writer chained in front of another gan_step_fn, and
 * the losses picture drawn from what it kept. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "log.h"

#include "common.h"
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Logs of 0.2 had no penalty columns: a resume continues them as they are. */
static const char HEADER_0_2[] = "step,loss_d,loss_g,d_real,d_fake,grad_norm_d,grad_norm_g,lr_d,lr_g\n";
static const char HEADER[] = "step,loss_d,loss_g,d_real,d_fake,grad_norm_d,grad_norm_g,lr_d,lr_g,penalty,input_grad_norm\n";
enum { COLUMNS_0_2 = 8, COLUMNS = 10 }; /* after the step */

static int fail(const ex_log *l, const char *what)
{
    fprintf(stderr, "%s: %s %s: %s\n", program_invocation_short_name, what, l->path, strerror(errno));
    return EX_FAIL;
}

/* Keep one step in `stride`; when full, keep one in twice as many. */
static void record(ex_log *l, uint64_t step, float loss_d, float loss_g, float d_real, float d_fake)
{
    while (step % l->stride == 0 && l->n == EX_LOG_POINTS) {
        size_t k = 0;
        l->stride *= 2;
        for (size_t i = 0; i < l->n; i++)
            if (l->pt[i].step % l->stride == 0) l->pt[k++] = l->pt[i];
        l->n = k;
    }
    if (step % l->stride == 0) l->pt[l->n++] = (ex_log_point){step, loss_d, loss_g, d_real, d_fake};
}

/* Rows up to resume_step are kept and recorded; the file is cut after them. */
static int reopen(ex_log *l, uint64_t resume_step)
{
    char line[512];
    int read = fgets(line, sizeof line, l->csv) != NULL;
    l->columns = read && strcmp(line, HEADER_0_2) == 0 ? COLUMNS_0_2 : COLUMNS;
    if (!read || (strcmp(line, HEADER) != 0 && l->columns == COLUMNS)) {
        fprintf(stderr, "%s: %s is not a training log (its first line is not %.*s)\n", program_invocation_short_name,
                l->path, (int)strlen(HEADER) - 1, HEADER);
        return EX_FAIL;
    }
    long keep = ftell(l->csv);
    unsigned long long step, last = 0;
    float v[4];
    while (fgets(line, sizeof line, l->csv) && strchr(line, '\n') &&
           sscanf(line, "%llu,%f,%f,%f,%f", &step, &v[0], &v[1], &v[2], &v[3]) == 5 && step <= resume_step) {
        record(l, step, v[0], v[1], v[2], v[3]);
        keep = ftell(l->csv);
        last = step;
    }
    if (last != resume_step)
        fprintf(stderr, "%s: %s stops at step %llu, the checkpoint at %llu: the steps between are not in it\n",
                program_invocation_short_name, l->path, last, (unsigned long long)resume_step);
    if (keep < 0 || fseek(l->csv, keep, SEEK_SET) || ftruncate(fileno(l->csv), keep)) return fail(l, "cannot cut");
    return 0;
}

int ex_log_open(ex_log *l, const char *path, uint64_t resume_step, gan_step_fn next, void *next_payload)
{
    *l = (ex_log){.path = path, .next = next, .next_payload = next_payload, .stride = 1, .columns = COLUMNS};
    l->pt = malloc(EX_LOG_POINTS * sizeof *l->pt);
    if (!l->pt) return ex_out_of_memory("the training record");
    if (!path) return 0;
    if (resume_step && (l->csv = fopen(path, "r+"))) return reopen(l, resume_step);
    if (resume_step && errno != ENOENT) return fail(l, "cannot open");
    if (!(l->csv = fopen(path, "w")) || fputs(HEADER, l->csv) < 0) return fail(l, "cannot write");
    return 0;
}

/* ",value": the shortest of 6 to 9 digits that reads back as the same float. */
static void put(FILE *f, double value)
{
    char buf[32];
    float x = (float)value;
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtof(buf, NULL) == x) break;
    }
    fprintf(f, ",%s", buf);
}

int ex_log_on_step(void *payload, const gan_step_stats *s)
{
    ex_log *l = payload;
    record(l, s->step, (float)s->loss_d, (float)s->loss_g, (float)s->d_real, (float)s->d_fake);
    if (l->csv) {
        fprintf(l->csv, "%llu", (unsigned long long)s->step);
        const double v[COLUMNS] = {s->loss_d,      s->loss_g,      s->d_real, s->d_fake,  s->grad_norm_d,
                                   s->grad_norm_g, s->lr_d,        s->lr_g,   s->penalty, s->input_grad_norm};
        for (int i = 0; i < l->columns; i++) put(l->csv, v[i]);
        fputc('\n', l->csv);
        if (ferror(l->csv)) return fail(l, "cannot write"); /* stops the run */
    }
    return l->next ? l->next(l->next_payload, s) : 0;
}

int ex_log_close(ex_log *l)
{
    int rc = 0;
    if (l->csv && fclose(l->csv) != 0) rc = fail(l, "cannot write");
    free(l->pt);
    *l = (ex_log){0};
    return rc;
}

int ex_log_finish(ex_log *l, int rc, const char *path, const char *title)
{
    if (!rc && path) rc = ex_log_plot(l, path, title);
    int closed = ex_log_close(l);
    return rc ? rc : closed;
}

/* ---------------------------------------------------------------- picture */

static float value(const ex_log_point *p, int k)
{
    const float v[4] = {p->loss_d, p->loss_g, p->d_real, p->d_fake};
    return v[k];
}

/* Curve k as (step, value) pairs: raw, or the mean over the 2 * half + 1 points around each. */
static void curve(const ex_log *l, int k, size_t half, float *xy)
{
    double sum = 0;
    size_t lo = 0, hi = 0; /* the window [lo, hi) */
    for (size_t i = 0; i < l->n; i++) {
        size_t want_lo = i > half ? i - half : 0, want_hi = i + half + 1 < l->n ? i + half + 1 : l->n;
        for (; hi < want_hi; hi++) sum += value(&l->pt[hi], k);
        for (; lo < want_lo; lo++) sum -= value(&l->pt[lo], k);
        xy[2 * i] = (float)l->pt[i].step;
        xy[2 * i + 1] = half ? (float)(sum / (double)(hi - lo)) : value(&l->pt[i], k);
    }
}

int ex_log_plot(const ex_log *l, const char *path, const char *title)
{
    static const struct {
        const char *label;
        ex_rgb color;
    } curves[4] = {{"loss_d: D's loss", EX_BLUE},
                   {"loss_g: G's loss", EX_ORANGE},
                   {"D(x): D's mean output on real data", EX_GREEN},
                   {"D(G(z)): on G's samples", EX_RED}};
    size_t half = l->n / 100; /* the moving average spans 2% of the record */
    char note[96], t[160];
    if (l->stride == 1)
        snprintf(note, sizeof note, "lines: mean over %zu steps; faint: each step", 2 * half + 1);
    else
        snprintf(note, sizeof note, "lines: mean over %zu steps; faint: one step in %zu", (2 * half + 1) * l->stride,
                 l->stride);
    ex_figure *f = ex_figure_create(960, 760, 2, 1, title);
    float *xy = malloc((2 * l->n + 1) * sizeof *xy);
    for (int panel = 0; panel < 2 && xy; panel++) {
        ex_axes *a = ex_figure_axes(f, panel, 0);
        for (int k = 2 * panel; k < 2 * panel + 2; k++) {
            curve(l, k, 0, xy);
            ex_axes_line(a, xy, l->n, (ex_style){.color = curves[k].color, .alpha = 0.18, .width = 1}, NULL);
        }
        for (int k = 2 * panel; k < 2 * panel + 2; k++) {
            curve(l, k, half, xy);
            ex_axes_line(a, xy, l->n, (ex_style){.color = curves[k].color, .width = 2}, curves[k].label);
        }
    }
    ex_axes *losses = ex_figure_axes(f, 0, 0), *outputs = ex_figure_axes(f, 1, 0);
    snprintf(t, sizeof t, "Losses (%s)", note);
    ex_axes_text(losses, t, "training step", "loss (nats)");
    /* Where D's cross-entropy and G's non-saturating loss (every example's) sit when D says
     * 1/2 to everything: the game's balance. */
    ex_axes_hline(losses, log(4.0), (ex_style){.color = EX_BLUE, .alpha = 0.6, .width = 1, .dash = EX_DASHED},
                  "ln 4: loss_d when D(x) = D(G(z)) = 1/2");
    ex_axes_hline(losses, log(2.0), (ex_style){.color = EX_ORANGE, .alpha = 0.6, .width = 1, .dash = EX_DASHED},
                  "ln 2: loss_g when D(G(z)) = 1/2");
    snprintf(t, sizeof t, "D's outputs (%s)", note);
    ex_axes_text(outputs, t, "training step", "mean of D's output");
    ex_axes_limits(outputs, NAN, NAN, 0, 1);
    ex_axes_hline(outputs, 0.5, (ex_style){.color = EX_GREY, .width = 1, .dash = EX_DASHED},
                  "1/2: D cannot tell real from generated");
    int rc = xy ? ex_figure_save(f, path) : ex_out_of_memory(path);
    ex_figure_free(f);
    free(xy);
    return rc;
}
