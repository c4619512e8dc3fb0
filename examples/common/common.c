/* Shared example helpers: arguments, progress line, canvas, atomic PNG output. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ arguments */

static const char *find_arg(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) != 0) continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", argv[0], name);
            exit(2);
        }
        return argv[i + 1];
    }
    return NULL;
}

long ex_arg_long(int argc, char **argv, const char *name, long def)
{
    const char *v = find_arg(argc, argv, name);
    if (!v) return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v) {
        fprintf(stderr, "%s: %s expects an integer, got '%s'\n", argv[0], name, v);
        exit(2);
    }
    return x;
}

double ex_arg_double(int argc, char **argv, const char *name, double def)
{
    const char *v = find_arg(argc, argv, name);
    if (!v) return def;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(x)) {
        fprintf(stderr, "%s: %s expects a number, got '%s'\n", argv[0], name, v);
        exit(2);
    }
    return x;
}

const char *ex_arg_str(int argc, char **argv, const char *name, const char *def)
{
    const char *v = find_arg(argc, argv, name);
    return v ? v : def;
}

int ex_arg_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

void ex_usage_error(const char *prog, const char *msg)
{
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(2);
}

/* ---------------------------------------------------------------- errors */

int ex_report(int rc, const char *what)
{
    if (rc) fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what, gan_strerror(rc), gan_error_last());
    return rc;
}

/* ------------------------------------------------------------- progress */

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ex_progress_start(ex_progress *p, uint64_t total_steps, size_t samples_per_step)
{
    p->start = ex_now();
    p->last_draw = 0;
    p->first = 0;
    p->total = total_steps;
    p->samples_per_step = samples_per_step;
    p->tty = isatty(fileno(stderr));
}

int ex_progress_on_step(void *payload, const gan_step_stats *s)
{
    ex_progress_update(payload, s);
    return 0;
}

void ex_progress_update(ex_progress *p, const gan_step_stats *s)
{
    uint64_t step = s->step;
    double now = ex_now(), elapsed = now - p->start;
    /* On a terminal redraw 10 times a second; in a log, one line every 5 seconds. */
    if (step != p->total && now - p->last_draw < (p->tty ? 0.1 : 5.0)) return;
    p->last_draw = now;
    uint64_t done = step > p->first ? step - p->first : 0;
    double rate = elapsed > 0 ? (double)done * (double)p->samples_per_step / elapsed : 0;
    double eta = done ? elapsed * (double)(p->total - step) / (double)done : 0;
    fprintf(stderr, "%sstep %llu/%llu  loss_d %.4f  loss_g %.4f  %.0f samples/s  ETA %02d:%02d%s",
            p->tty ? "\r" : "", (unsigned long long)step, (unsigned long long)p->total, s->loss_d, s->loss_g, rate,
            (int)(eta / 60), (int)fmod(eta, 60), p->tty ? "\033[K" : "\n");
    fflush(stderr);
}

void ex_progress_end(ex_progress *p)
{
    if (p->tty) fputc('\n', stderr);
    fprintf(stderr, "done in %.1f s\n", ex_now() - p->start);
}

/* ------------------------------------------------------------------ nets */

void ex_gan_free(ex_gan *m)
{
    gan_trainer_free(m->t);
    gan_optim_free(m->opt_g);
    gan_optim_free(m->opt_d);
    gan_net_free(m->g);
    gan_net_free(m->d);
    memset(m, 0, sizeof *m);
}

int ex_add_layer(gan_net *net, int made, gan_layer **l)
{
    if (made) return made;
    int rc = gan_net_add(net, *l);
    if (rc) gan_layer_free(*l);
    return rc;
}

static int add_dense(gan_net *net, size_t out_dim, gan_activation act)
{
    gan_layer *l = NULL;
    int rc = ex_add_layer(net, gan_layer_dense(&l, gan_net_out_dim(net), out_dim), &l);
    if (!rc && act) rc = ex_add_layer(net, gan_layer_activation(&l, act), &l);
    return rc;
}

int ex_mlp(gan_net **out, size_t in, size_t hidden, int layers, size_t out_dim, gan_activation hidden_act,
           gan_activation last)
{
    int rc = gan_net_create(out, in);
    for (int i = 0; i < layers && !rc; i++) rc = add_dense(*out, hidden, hidden_act);
    if (!rc) rc = add_dense(*out, out_dim, last);
    return rc;
}

/* ---------------------------------------------------------------- canvas */

int ex_canvas_init(ex_canvas *c, int w, int h, ex_color bg)
{
    c->w = w;
    c->h = h;
    c->rgb = malloc((size_t)w * (size_t)h * 3);
    if (!c->rgb) return -1;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        c->rgb[3 * i] = bg.r;
        c->rgb[3 * i + 1] = bg.g;
        c->rgb[3 * i + 2] = bg.b;
    }
    return 0;
}

void ex_canvas_free(ex_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

static void blend(ex_canvas *c, int x, int y, ex_color col, double a)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->rgb + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    p[0] = (uint8_t)lround(p[0] + a * (col.r - p[0]));
    p[1] = (uint8_t)lround(p[1] + a * (col.g - p[1]));
    p[2] = (uint8_t)lround(p[2] + a * (col.b - p[2]));
}

void ex_canvas_dot(ex_canvas *c, double x, double y, double r, ex_color col, double alpha)
{
    for (int j = (int)floor(y - r); j <= (int)ceil(y + r); j++)
        for (int i = (int)floor(x - r); i <= (int)ceil(x + r); i++)
            if ((i - x) * (i - x) + (j - y) * (j - y) <= r * r) blend(c, i, j, col, alpha);
}

void ex_canvas_line(ex_canvas *c, double x0, double y0, double x1, double y1, ex_color col)
{
    double len = fmax(fabs(x1 - x0), fabs(y1 - y0));
    int n = (int)ceil(len) + 1;
    for (int k = 0; k <= n; k++) {
        double t = (double)k / n;
        blend(c, (int)lround(x0 + t * (x1 - x0)), (int)lround(y0 + t * (y1 - y0)), col, 1.0);
    }
}

void ex_canvas_rect(ex_canvas *c, int x0, int y0, int x1, int y1, ex_color col, double alpha)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) blend(c, x, y, col, alpha);
}

void ex_canvas_gray(ex_canvas *c, int x, int y, const uint8_t *gray, int w, int h)
{
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            uint8_t v = gray[(size_t)j * (size_t)w + (size_t)i];
            blend(c, x + i, y + j, (ex_color){v, v, v}, 1.0);
        }
}

/* -------------------------------------------------------------------- PNG */

static int png_write(const char *path, const uint8_t *pixels, int w, int h, int channels)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return -1;
    snprintf(tmp, n + 16, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ok = 0;
    if (info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * (size_t)w * (size_t)channels));
        png_write_end(png, NULL);
        ok = 1;
    }
    png_destroy_write_struct(&png, &info);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int ex_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h) { return png_write(path, rgb, w, h, 3); }
int ex_png_write_gray(const char *path, const uint8_t *gray, int w, int h) { return png_write(path, gray, w, h, 1); }
int ex_canvas_save(const ex_canvas *c, const char *path) { return png_write(path, c->rgb, c->w, c->h, 3); }

int ex_mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int ex_save_image_grid(const char *path, const float *images, size_t n, size_t side, size_t cols)
{
    size_t w, h;
    EX_TRY(gan_image_grid_size(&w, &h, n, side, side, cols, 2));
    uint8_t *pixels = malloc(w * h);
    if (!pixels) return ex_report(GAN_ENOMEM, "ex_save_image_grid");
    int rc = ex_report(gan_image_grid(pixels, images, n, side, side, cols, 2), "gan_image_grid");
    if (!rc && ex_png_write_gray(path, pixels, (int)w, (int)h) != 0) rc = GAN_EIO;
    free(pixels);
    return rc;
}

void ex_idx_path(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    FILE *f = fopen(buf, "rb");
    if (f) {
        fclose(f);
        return;
    }
    snprintf(buf, size, "%s/%s.gz", dir, name);
}
