/* Figures with cairo (plot.h): recorded series, drawn on save. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "plot.h"

#include "common.h"

#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { LINE, SCATTER, HLINE };

/* The layout in pixels: the figure title's band, a panel's margins around its plotting
 * area (numbers and labels go there), and the font sizes. */
#define TITLE_BAND 36.0
#define PAD_LEFT 64.0
#define PAD_RIGHT 18.0
#define PAD_TOP 30.0
#define PAD_BOTTOM 46.0
#define FONT_TICK 11.0
#define FONT_LABEL 12.5
#define FONT_TITLE 13.5
#define FONT_FIGURE 15.5

typedef struct series {
    int kind;
    ex_style style;
    char *label;
    float *xy;
    size_t n;
} series;

struct ex_axes {
    ex_figure *fig;
    char *title, *xlabel, *ylabel;
    double lim[4]; /* x0 x1 y0 y1; NAN: from the data */
    series *s;
    size_t n, cap;
};

struct ex_figure {
    int w, h, rows, cols, failed;
    char *title;
    ex_axes *axes;
};

/* Where a panel's data go: its plotting area in pixels and the limits it shows. */
typedef struct frame {
    double x, y, w, h;
    double lim[4];
} frame;

/* A rectangle in pixels; the labels placed so far in a panel, which later ones avoid. */
typedef struct box {
    double x, y, w, h;
} box;

typedef struct placed {
    box b[16];
    int n;
} placed;

/* ------------------------------------------------------------ recording */

static char *copy(ex_figure *f, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c) f->failed = 1;
    return c;
}

ex_figure *ex_figure_create(int width, int height, int rows, int cols, const char *title)
{
    ex_figure *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    *f = (ex_figure){.w = width, .h = height, .rows = rows, .cols = cols};
    f->axes = calloc((size_t)rows * (size_t)cols, sizeof *f->axes);
    f->title = copy(f, title);
    if (!f->axes || f->failed || rows < 1 || cols < 1) {
        ex_figure_free(f);
        return NULL;
    }
    for (int i = 0; i < rows * cols; i++) {
        f->axes[i].fig = f;
        for (int k = 0; k < 4; k++) f->axes[i].lim[k] = NAN;
    }
    return f;
}

void ex_figure_free(ex_figure *f)
{
    if (!f) return;
    for (int i = 0; f->axes && i < f->rows * f->cols; i++) {
        ex_axes *a = &f->axes[i];
        for (size_t k = 0; k < a->n; k++) {
            free(a->s[k].label);
            free(a->s[k].xy);
        }
        free(a->s);
        free(a->title);
        free(a->xlabel);
        free(a->ylabel);
    }
    free(f->axes);
    free(f->title);
    free(f);
}

ex_axes *ex_figure_axes(ex_figure *f, int row, int col)
{
    if (!f || row < 0 || row >= f->rows || col < 0 || col >= f->cols) return NULL;
    return &f->axes[row * f->cols + col];
}

void ex_axes_text(ex_axes *a, const char *title, const char *xlabel, const char *ylabel)
{
    if (!a) return;
    free(a->title);
    free(a->xlabel);
    free(a->ylabel);
    a->title = copy(a->fig, title);
    a->xlabel = copy(a->fig, xlabel);
    a->ylabel = copy(a->fig, ylabel);
}

void ex_axes_limits(ex_axes *a, double x0, double x1, double y0, double y1)
{
    if (!a) return;
    a->lim[0] = x0, a->lim[1] = x1, a->lim[2] = y0, a->lim[3] = y1;
}

static void add(ex_axes *a, int kind, const float *xy, size_t n, ex_style s, const char *label)
{
    if (!a || a->fig->failed) return;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        series *grown = realloc(a->s, cap * sizeof *grown);
        if (!grown) {
            a->fig->failed = 1;
            return;
        }
        a->s = grown;
        a->cap = cap;
    }
    series *sr = &a->s[a->n];
    *sr = (series){.kind = kind, .style = s, .n = n, .label = copy(a->fig, label)};
    if (!sr->style.alpha) sr->style.alpha = 1;
    sr->xy = malloc((2 * n + 1) * sizeof *sr->xy);
    if (!sr->xy) {
        free(sr->label);
        a->fig->failed = 1;
        return;
    }
    if (n) memcpy(sr->xy, xy, 2 * n * sizeof *xy);
    a->n++;
}

void ex_axes_line(ex_axes *a, const float *xy, size_t n, ex_style s, const char *label)
{
    add(a, LINE, xy, n, s, label);
}

void ex_axes_scatter(ex_axes *a, const float *xy, size_t n, ex_style s, const char *label)
{
    add(a, SCATTER, xy, n, s, label);
}

void ex_axes_hline(ex_axes *a, double y, ex_style s, const char *label)
{
    float xy[2] = {NAN, (float)y}; /* x: the panel's width, known when drawn */
    add(a, HLINE, xy, 1, s, label);
}

/* ---------------------------------------------------------------- layout */

/* Limits left to the data: the range of its finite values, padded by 3% on each side. */
static void auto_limits(const ex_axes *a, double lim[4])
{
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t k = 0; k < a->n; k++)
        for (size_t i = 0; i < a->s[k].n; i++)
            for (int d = 0; d < 2; d++) {
                double v = a->s[k].xy[2 * i + d];
                if (!isfinite(v)) continue;
                lo[d] = fmin(lo[d], v);
                hi[d] = fmax(hi[d], v);
            }
    for (int d = 0; d < 2; d++) {
        double l = a->lim[2 * d], h = a->lim[2 * d + 1];
        if (!isfinite(lo[d])) lo[d] = 0, hi[d] = 1;
        if (!isnan(l)) lo[d] = l; /* a fixed side stays, the other fits the data */
        if (!isnan(h)) hi[d] = h;
        if (hi[d] <= lo[d]) lo[d] -= 0.5, hi[d] += 0.5;
        double pad = 0.03 * (hi[d] - lo[d]);
        lim[2 * d] = isnan(l) ? lo[d] - pad : l;
        lim[2 * d + 1] = isnan(h) ? hi[d] + pad : h;
    }
}

/* Pixel coordinates, kept within cairo's fixed-point range for points far outside. */
static double px(const frame *f, double x)
{
    return f->x + fmin(fmax((x - f->lim[0]) / (f->lim[1] - f->lim[0]), -100.0), 100.0) * f->w;
}

static double py(const frame *f, double y)
{
    return f->y + f->h - fmin(fmax((y - f->lim[2]) / (f->lim[3] - f->lim[2]), -100.0), 100.0) * f->h;
}

/* Tick spacing: 1, 2 or 5 times a power of ten, about `target` ticks over span. */
static double tick_step(double span, double target)
{
    double raw = span / fmax(target, 2.0), mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static void tick_label(char *buf, size_t size, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < step * 1e-6) v = 0; /* no "-0.0" */
    snprintf(buf, size, "%.*f", decimals, v);
}

/* ---------------------------------------------------------------- drawing */

static void set_color(cairo_t *cr, ex_rgb c, double alpha) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha); }

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Text placed by an anchor: ax, ay = 0 puts the text's left or top at (x, y), 0.5 its
 * centre, 1 its right or bottom. Heights are the font's, so labels in a row align. */
static void move_to_text(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double cap = 0.72 * fe.ascent; /* digits and capitals, not the accents above them */
    cairo_move_to(cr, x - ax * text_width(cr, s), y + (1 - ay) * cap);
}

static void text(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    move_to_text(cr, x, y, s, ax, ay);
    cairo_show_text(cr, s);
}

static void text_path(cairo_t *cr, double x, double y, const char *s, double ax, double ay)
{
    move_to_text(cr, x, y, s, ax, ay);
    cairo_text_path(cr, s);
}

static void apply_style(cairo_t *cr, const ex_style *s)
{
    set_color(cr, s->color, s->alpha);
    cairo_set_line_width(cr, s->width);
    double w = fmax(s->width, 1.0), dashed[2] = {5 * w, 3 * w}, dotted[2] = {0, 2.2 * w}; /* dots: round caps */
    cairo_set_line_cap(cr, s->dash == EX_DOTTED ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT);
    cairo_set_dash(cr, s->dash == EX_DASHED ? dashed : dotted, s->dash == EX_SOLID ? 0 : 2, 0);
}

static double marker_radius(const frame *f, const ex_style *s)
{
    return fmax(s->width, s->radius * f->w / (f->lim[1] - f->lim[0]));
}

static void marker(cairo_t *cr, double x, double y, double r, const ex_style *s)
{
    cairo_new_sub_path(cr);
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    if (s->ring) {
        cairo_set_line_width(cr, 1.3);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_stroke(cr);
    } else
        cairo_fill(cr);
}

/* Drawn between cairo_save and cairo_restore: it leaves dashes set. */
static void draw_series(cairo_t *cr, const frame *f, const series *sr)
{
    const ex_style *s = &sr->style;
    if (sr->kind == SCATTER) {
        set_color(cr, s->color, s->alpha);
        double r = marker_radius(f, s);
        for (size_t i = 0; i < sr->n; i++)
            if (isfinite(sr->xy[2 * i]) && isfinite(sr->xy[2 * i + 1]))
                marker(cr, px(f, sr->xy[2 * i]), py(f, sr->xy[2 * i + 1]), r, s);
        return;
    }
    apply_style(cr, s);
    if (sr->kind == HLINE) {
        double y = py(f, sr->xy[1]);
        cairo_move_to(cr, f->x, y);
        cairo_line_to(cr, f->x + f->w, y);
        cairo_stroke(cr);
        return;
    }
    int pen_down = 0;
    for (size_t i = 0; i < sr->n; i++) {
        double x = sr->xy[2 * i], y = sr->xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) {
            pen_down = 0;
            continue;
        }
        (pen_down ? cairo_line_to : cairo_move_to)(cr, px(f, x), py(f, y));
        pen_down = 1;
    }
    cairo_stroke(cr);
}

/* One axis' grid lines, ticks and numbers; `vertical` for the y axis. */
static void draw_ticks(cairo_t *cr, const frame *f, int vertical)
{
    double lo = f->lim[vertical ? 2 : 0], hi = f->lim[vertical ? 3 : 1];
    double step = tick_step(hi - lo, vertical ? f->h / 45 : f->w / 90);
    font(cr, FONT_TICK, 0);
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
        double t = k * step; /* not a running sum, whose rounding would drift */
        char buf[32];
        double p = floor(vertical ? py(f, t) : px(f, t)) + 0.5; /* crisp 1-pixel lines */
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_set_line_width(cr, 1);
        if (vertical) {
            cairo_move_to(cr, f->x, p);
            cairo_line_to(cr, f->x + f->w, p);
        } else {
            cairo_move_to(cr, p, f->y);
            cairo_line_to(cr, p, f->y + f->h);
        }
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        if (vertical) {
            cairo_move_to(cr, f->x - 5, p);
            cairo_line_to(cr, f->x, p);
        } else {
            cairo_move_to(cr, p, f->y + f->h);
            cairo_line_to(cr, p, f->y + f->h + 5);
        }
        cairo_stroke(cr);
        tick_label(buf, sizeof buf, t, step);
        if (vertical)
            text(cr, f->x - 8, p, buf, 1, 0.5);
        else
            text(cr, p, f->y + f->h + 8, buf, 0.5, 0);
    }
}

/* How much of the panel a box would hide: its points, for lines a point every 4 pixels
 * along each segment; covering a label already placed outweighs any number of points.
 * Labels and the legend go where it is least. */
static size_t hidden(const ex_axes *a, const frame *f, box b, const placed *taken)
{
    const double x0 = b.x, y0 = b.y, w = b.w, h = b.h;
    size_t count = 0;
    for (int i = 0; i < taken->n; i++) {
        const box *t = &taken->b[i];
        count += x0 < t->x + t->w && t->x < x0 + w && y0 < t->y + t->h && t->y < y0 + h ? SIZE_MAX / 16 : 0;
    }
    for (size_t k = 0; k < a->n; k++) {
        const series *sr = &a->s[k];
        if (sr->kind == HLINE) { /* it crosses the box or it does not */
            double y = py(f, sr->xy[1]);
            count += (y >= y0 && y <= y0 + h) ? 50 : 0;
            continue;
        }
        double x = 0, y = 0;
        int joined = 0; /* a segment leads from (x, y) to the next point */
        for (size_t i = 0; i < sr->n; i++) {
            const float *p = sr->xy + 2 * i;
            if (!isfinite(p[0]) || !isfinite(p[1])) {
                joined = 0;
                continue;
            }
            double x1 = px(f, p[0]), y1 = py(f, p[1]);
            int steps = joined ? (int)fmin(fmax(ceil(hypot(x1 - x, y1 - y) / 4), 1), 64) : 1;
            for (int j = 0; j < steps; j++) { /* from the point back towards the previous one */
                double xs = x1 + (x - x1) * j / steps, ys = y1 + (y - y1) * j / steps;
                count += xs >= x0 && xs <= x0 + w && ys >= y0 && ys <= y0 + h;
            }
            x = x1, y = y1, joined = sr->kind == LINE;
        }
    }
    return count;
}

/* A reference line's label: above or below it, at the left or right end, wherever it
 * hides fewest points; on a white halo that keeps it legible over a curve. */
static void draw_hline_label(cairo_t *cr, const ex_axes *a, const frame *f, const series *sr, placed *taken)
{
    font(cr, FONT_TICK, 0);
    double w = text_width(cr, sr->label) + 8, h = FONT_TICK + 4, y = py(f, sr->xy[1]);
    box best_box = {0};
    size_t best = (size_t)-1;
    for (int c = 0; c < 4; c++) {
        box b = {c % 2 ? f->x + 2 : f->x + f->w - 2 - w, c < 2 ? y - 2 - h : y + 2, w, h};
        size_t n = b.y < f->y || b.y + h > f->y + f->h ? (size_t)-2 : hidden(a, f, b, taken);
        if (n < best) best = n, best_box = b;
    }
    if (taken->n < 16) taken->b[taken->n++] = best_box;
    text_path(cr, best_box.x + 4, best_box.y + h / 2, sr->label, 0, 0.5);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_set_line_width(cr, 3);
    cairo_stroke_preserve(cr);
    set_color(cr, sr->style.color, 1);
    cairo_fill(cr);
}

static void draw_legend(cairo_t *cr, const ex_axes *a, const frame *f, const placed *taken)
{
    const double row = 18, pad = 7, sample = 28;
    double width = 0, height;
    size_t rows = 0;
    font(cr, FONT_TICK, 0);
    for (size_t k = 0; k < a->n; k++)
        if (a->s[k].label && a->s[k].kind != HLINE) {
            width = fmax(width, text_width(cr, a->s[k].label));
            rows++;
        }
    if (!rows) return;
    width += sample + 3 * pad;
    height = (double)rows * row + pad;
    /* Matplotlib's places, in its order of preference: corners, then the middles of the
     * sides, then the centre (0 left or top, 1 centre, 2 right or bottom). */
    static const int place[9][2] = {{2, 0}, {0, 0}, {0, 2}, {2, 2}, {2, 1}, {0, 1}, {1, 2}, {1, 0}, {1, 1}};
    double best_x = 0, best_y = 0;
    size_t best = (size_t)-1;
    for (int c = 0; c < 9; c++) {
        double x = f->x + 8 + place[c][0] * (f->w - 16 - width) / 2;
        double y = f->y + 8 + place[c][1] * (f->h - 16 - height) / 2;
        size_t n = hidden(a, f, (box){x, y, width, height}, taken);
        if (n < best) best = n, best_x = x, best_y = y;
    }
    cairo_rectangle(cr, floor(best_x) + 0.5, floor(best_y) + 0.5, floor(width), floor(height));
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    double y = best_y + pad + row / 2 - 2;
    for (size_t k = 0; k < a->n; k++) {
        const series *sr = &a->s[k];
        if (!sr->label || sr->kind == HLINE) continue;
        double x = best_x + pad;
        if (sr->kind == SCATTER) {
            set_color(cr, sr->style.color, fmax(sr->style.alpha, 0.6)); /* a faint dot alone would not show */
            marker(cr, x + sample / 2, y, fmin(fmax(marker_radius(f, &sr->style), 2.5), 6), &sr->style);
        } else {
            apply_style(cr, &sr->style);
            cairo_move_to(cr, x, y);
            cairo_line_to(cr, x + sample, y);
            cairo_stroke(cr);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, x + sample + pad, y, sr->label, 0, 0.5);
        y += row;
    }
}

static void draw_axes(cairo_t *cr, const ex_axes *a, double x, double y, double w, double h)
{
    frame f = {x + PAD_LEFT, y + PAD_TOP, w - PAD_LEFT - PAD_RIGHT, h - PAD_TOP - PAD_BOTTOM, {0}};
    placed taken = {.n = 0};
    auto_limits(a, f.lim);
    draw_ticks(cr, &f, 0);
    draw_ticks(cr, &f, 1);
    cairo_save(cr);
    cairo_rectangle(cr, f.x, f.y, f.w, f.h);
    cairo_clip(cr);
    for (size_t k = 0; k < a->n; k++) {
        cairo_save(cr);
        draw_series(cr, &f, &a->s[k]);
        cairo_restore(cr);
    }
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, floor(f.x) + 0.5, floor(f.y) + 0.5, floor(f.w), floor(f.h));
    cairo_stroke(cr);
    for (size_t k = 0; k < a->n; k++)
        if (a->s[k].kind == HLINE && a->s[k].label) draw_hline_label(cr, a, &f, &a->s[k], &taken);
    cairo_save(cr);
    draw_legend(cr, a, &f, &taken);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (a->title) {
        font(cr, FONT_TITLE, 0);
        text(cr, f.x + f.w / 2, f.y - 10, a->title, 0.5, 1);
    }
    font(cr, FONT_LABEL, 0);
    if (a->xlabel) text(cr, f.x + f.w / 2, y + h - 10, a->xlabel, 0.5, 1);
    if (a->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, x + 14, f.y + f.h / 2);
        cairo_rotate(cr, -M_PI / 2);
        text(cr, 0, 0, a->ylabel, 0.5, 0.5);
        cairo_restore(cr);
    }
}

/* cairo and fontconfig keep their font caches for the life of the process; freed at exit
 * (when no cairo object is left), leak checkers such as the ASan suite stay quiet. */
static void release_fonts(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}

int ex_figure_save(ex_figure *f, const char *path)
{
    static int registered;
    if (!registered) registered = atexit(release_fonts) == 0;
    if (!f || f->failed) return ex_out_of_memory(path);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->w, f->h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double top = f->title ? TITLE_BAND : 6;
    if (f->title) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        font(cr, FONT_FIGURE, 1);
        double w = text_width(cr, f->title);
        if (w > f->w - 16) cairo_set_font_size(cr, FONT_FIGURE * (f->w - 16) / w); /* a long title shrinks to fit */
        text(cr, f->w / 2.0, TITLE_BAND / 2 + 2, f->title, 0.5, 0.5);
    }
    double cw = (double)f->w / f->cols, ch = (f->h - top) / f->rows;
    for (int r = 0; r < f->rows; r++)
        for (int c = 0; c < f->cols; c++) draw_axes(cr, &f->axes[r * f->cols + c], c * cw, top + r * ch, cw, ch);
    int rc = cairo_status(cr) ? EX_FAIL : ex_png_save(s, path);
    if (cairo_status(cr)) fprintf(stderr, "%s: drawing %s: %s\n", program_invocation_short_name, path,
                                  cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return rc;
}

/* ---------------------------------------------------------------- files */

static cairo_status_t write_file(void *closure, const unsigned char *data, unsigned int n)
{
    return fwrite(data, 1, n, closure) == n ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int ex_png_save(cairo_surface_t *s, const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "%s: the path %s is too long\n", program_invocation_short_name, path);
        return EX_FAIL;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", program_invocation_short_name, tmp, strerror(errno));
        return EX_FAIL;
    }
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_file, f);
    int ok = st == CAIRO_STATUS_SUCCESS && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", program_invocation_short_name, path,
                st ? cairo_status_to_string(st) : strerror(errno));
        remove(tmp);
        return EX_FAIL;
    }
    return 0;
}

void ex_paint_image(cairo_t *cr, const float *img, int channels, int w, int h, int scale, double x, double y)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w * scale, h * scale);
    unsigned char *p = cairo_image_surface_get_data(s);
    size_t stride = (size_t)cairo_image_surface_get_stride(s), c = channels == 3 ? 3 : 1;
    for (int j = 0; p && j < h * scale; j++)
        for (int i = 0; i < w * scale; i++) {
            const float *px = img + ((size_t)(j / scale) * (size_t)w + (size_t)(i / scale)) * c;
            uint32_t v[3];
            for (size_t k = 0; k < 3; k++)
                v[k] = (uint32_t)lrintf(255.0f * fminf(fmaxf(px[c == 3 ? k : 0], 0.0f), 1.0f));
            *(uint32_t *)(p + (size_t)j * stride + 4 * (size_t)i) = v[0] << 16 | v[1] << 8 | v[2];
        }
    cairo_surface_mark_dirty(s);
    cairo_set_source_surface(cr, s, x, y);
    cairo_paint(cr);
    cairo_surface_destroy(s);
}

void ex_paint_gray(cairo_t *cr, const float *img, int w, int h, double x, double y)
{
    ex_paint_image(cr, img, 1, w, h, 1, x, y);
}

int ex_save_pairs(const char *path, const float *left, const float *right, size_t n, size_t per_row, int channels,
                  int side, int scale, const char *title)
{
    const size_t dim = (size_t)channels * (size_t)side * (size_t)side;
    const int drawn = side * scale, cell = drawn + 4, cols = (int)(2 * per_row), rws = (int)((n + per_row - 1) / per_row);
    /* An RGB24 surface starts black. */
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cols * cell + 4, rws * cell + 4);
    cairo_t *cr = cairo_create(s);
    for (size_t i = 0; i < n; i++) {
        int x0 = 4 + (int)(2 * (i % per_row)) * cell, y0 = 4 + (int)(i / per_row) * cell;
        ex_paint_image(cr, left + i * dim, channels, side, side, scale, x0, y0);
        cairo_set_source_rgb(cr, 230 / 255.0, 190 / 255.0, 0);
        cairo_rectangle(cr, x0 + cell - 2, y0 - 2, drawn + 4, drawn + 4);
        cairo_fill(cr);
        ex_paint_image(cr, right + i * dim, channels, side, side, scale, x0 + cell, y0);
    }
    int rc = cairo_status(cr) ? ex_out_of_memory(path) : ex_png_save_titled(s, title, path);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return rc;
}

/* A title strip above a picture, white on black like the grids: the picture, then its
 * title (shrunk to fit the width). */
#define TITLE_STRIP 30
int ex_png_save_titled(cairo_surface_t *picture, const char *title, const char *path)
{
    int w = cairo_image_surface_get_width(picture), h = cairo_image_surface_get_height(picture);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h + TITLE_STRIP);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_paint(cr);
    cairo_set_source_surface(cr, picture, 0, TITLE_STRIP);
    cairo_paint(cr);
    font(cr, FONT_TITLE, 1);
    double tw = text_width(cr, title);
    if (tw > w - 8) cairo_set_font_size(cr, FONT_TITLE * (w - 8) / tw);
    cairo_set_source_rgb(cr, 1, 1, 1);
    text(cr, w / 2.0, TITLE_STRIP / 2.0, title, 0.5, 0.5);
    int rc = cairo_status(cr) ? ex_out_of_memory(path) : ex_png_save(s, path);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return rc;
}

int ex_save_image_grid(const char *path, const float *images, size_t n, size_t side, size_t cols, const char *title)
{
    size_t w, h;
    EX_TRY(gan_image_grid2_size(&w, &h, n, 1, side, side, cols, 2, GRID_SCALE));
    uint8_t *pixels = malloc(w * h);
    if (!pixels) return ex_out_of_memory(path);
    int rc = ex_report(gan_image_grid2(pixels, images, n, 1, side, side, cols, 2, GRID_SCALE), "gan_image_grid2");
    cairo_surface_t *s = rc ? NULL : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    if (s && cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        unsigned char *p = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s);
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++) {
                uint32_t v = pixels[y * w + x];
                *(uint32_t *)(p + y * (size_t)stride + 4 * x) = v << 16 | v << 8 | v;
            }
        cairo_surface_mark_dirty(s);
        rc = ex_png_save_titled(s, title, path);
    } else if (!rc)
        rc = ex_out_of_memory(path);
    cairo_surface_destroy(s);
    free(pixels);
    return rc;
}

/* The band under each image of a labelled grid, the black between images, and the labels'
 * font, in pixels of the picture. */
#define LABEL_BAND 16
#define LABEL_FONT 11.0
#define GRID_GAP 4

int ex_save_labelled_grid(const char *path, const float *images, size_t n, size_t channels, size_t height,
                          size_t width, size_t cols, int scale, const char *const *labels, const char *title)
{
    static int registered;
    if (!registered) registered = atexit(release_fonts) == 0;
    if (!n || !cols || scale < 1 || (channels != 1 && channels != 3) || width * (size_t)scale > 8192 ||
        height * (size_t)scale > 8192 || cols > 1024) {
        fprintf(stderr, "%s: %s: a grid of %zu images of %zu x %zu x %zu, %zu columns, scale %d cannot be drawn\n",
                program_invocation_short_name, path, n, height, width, channels, cols, scale);
        return EX_FAIL;
    }
    size_t rows_ = (n + cols - 1) / cols, band = labels ? LABEL_BAND : 0;
    size_t cw = width * (size_t)scale, ch = height * (size_t)scale;
    size_t w = cols * cw + (cols + 1) * GRID_GAP, h = rows_ * (ch + band) + (rows_ + 1) * GRID_GAP;
    if (w > 32767 || h > 32767) {
        fprintf(stderr, "%s: %s: a grid of %zu x %zu pixels is too large to draw\n", program_invocation_short_name,
                path, w, h);
        return EX_FAIL;
    }
    /* An RGB24 surface starts black: only the images and the labels are drawn. */
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    cairo_t *cr = cairo_create(s);
    unsigned char *p = cairo_image_surface_get_data(s);
    size_t stride = (size_t)cairo_image_surface_get_stride(s);
    cairo_surface_flush(s);
    for (size_t k = 0; p && k < n; k++) {
        size_t x0 = GRID_GAP + (k % cols) * (cw + GRID_GAP), y0 = GRID_GAP + (k / cols) * (ch + band + GRID_GAP);
        const float *img = images + k * height * width * channels;
        for (size_t y = 0; y < ch; y++)
            for (size_t x = 0; x < cw; x++) {
                const float *px = img + ((y / (size_t)scale) * width + x / (size_t)scale) * channels;
                uint32_t c[3];
                for (size_t j = 0; j < 3; j++)
                    c[j] = (uint32_t)lrintf(255.0f * fminf(fmaxf(px[channels == 3 ? j : 0], 0.0f), 1.0f));
                *(uint32_t *)(p + (y0 + y) * stride + 4 * (x0 + x)) = c[0] << 16 | c[1] << 8 | c[2];
            }
    }
    cairo_surface_mark_dirty(s);
    font(cr, LABEL_FONT, 0);
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    for (size_t k = 0; labels && k < n; k++) {
        if (!labels[k] || !labels[k][0]) continue;
        double x0 = GRID_GAP + (double)(k % cols) * (double)(cw + GRID_GAP);
        double y0 = GRID_GAP + (double)(k / cols) * (double)(ch + band + GRID_GAP) + (double)ch;
        double tw = text_width(cr, labels[k]);
        cairo_set_font_size(cr, tw > (double)cw - 2 ? LABEL_FONT * ((double)cw - 2) / tw : LABEL_FONT);
        text(cr, x0 + (double)cw / 2, y0 + band / 2.0 + 1, labels[k], 0.5, 0.5);
        cairo_set_font_size(cr, LABEL_FONT);
    }
    int rc = cairo_status(cr) ? ex_out_of_memory(path) : ex_png_save_titled(s, title, path);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return rc;
}
