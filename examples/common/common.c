/* Shared example helpers: error reports, the progress line, nets, files. */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

int ex_report(int rc, const char *what)
{
    if (rc) fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what, gan_strerror(rc), gan_error_last());
    return rc;
}

int ex_out_of_memory(const char *what)
{
    fprintf(stderr, "%s: out of memory for %s\n", program_invocation_short_name, what);
    return EX_FAIL;
}

/* ------------------------------------------------------------- progress */

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ex_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ex_progress_start(ex_progress *p, uint64_t total_steps, size_t samples_per_step)
{
    p->start = ex_now();
    p->cpu_start = ex_cpu_now();
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
    fprintf(stderr, "done in %.1f s (%.1f s of CPU)\n", ex_now() - p->start, ex_cpu_now() - p->cpu_start);
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

int ex_add_from(gan_net *net, int made, gan_layer **l, const size_t *from, size_t n_from)
{
    if (made) return made;
    int rc = gan_net_add_from(net, *l, from, n_from);
    if (rc) gan_layer_free(*l);
    return rc;
}

/* A dense layer (spectrally normalised with `sn` power iterations; 0: not), then `act`. */
static int add_dense(gan_net *net, size_t out_dim, gan_activation act, size_t sn)
{
    gan_layer *l = NULL;
    int made = gan_layer_dense(&l, gan_net_out_dim(net), out_dim);
    if (!made && sn && (made = gan_layer_spectral_norm(l, sn)) != GAN_OK) gan_layer_free(l);
    int rc = ex_add_layer(net, made, &l);
    if (!rc && act) rc = ex_add_layer(net, gan_layer_activation(&l, act), &l);
    return rc;
}

int ex_spectral_mlp(gan_net **out, size_t in, size_t hidden, int layers, size_t out_dim, gan_activation hidden_act,
                    gan_activation last, size_t sn)
{
    int rc = gan_net_create(out, in);
    for (int i = 0; i < layers && !rc; i++) rc = add_dense(*out, hidden, hidden_act, sn);
    if (!rc) rc = add_dense(*out, out_dim, last, sn);
    return rc;
}

int ex_mlp(gan_net **out, size_t in, size_t hidden, int layers, size_t out_dim, gan_activation hidden_act,
           gan_activation last)
{
    return ex_spectral_mlp(out, in, hidden, layers, out_dim, hidden_act, last, 0);
}

int ex_resume(gan_trainer *t, const char *path, uint64_t per_epoch, long epochs, uint64_t *done)
{
    *done = 0;
    if (!path) return 0;
    int rc = ex_report(gan_trainer_load(t, path), "gan_trainer_load");
    if (rc) return rc;
    *done = gan_trainer_steps(t);
    if (*done % per_epoch || *done > (uint64_t)epochs * per_epoch) {
        fprintf(stderr, "%s: %s stopped at step %llu, not at the end of one of %ld epochs of %llu steps\n",
                program_invocation_short_name, path, (unsigned long long)*done, epochs,
                (unsigned long long)per_epoch);
        return GAN_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------ files */

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

int ex_write_rows(const char *path, const float *x, size_t n, size_t dim)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(x, dim * sizeof *x, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        fprintf(stderr, "%s: cannot write %s\n", program_invocation_short_name, path);
        return EX_FAIL;
    }
    return 0;
}
