/* Helpers shared by the example programs: error reports, a progress line, nets and
 * files. Flags are in flags.h, pictures in plot.h, the training record in log.h. None of
 * it is part of libgan. */
#ifndef EX_COMMON_H
#define EX_COMMON_H

#include <gan.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- errors */
/* A failure outside libgan, already reported on stderr (distinct from every GAN_E* code). */
#define EX_FAIL (-100)
/* "PROG: out of memory for WHAT" on stderr; returns EX_FAIL. */
int ex_out_of_memory(const char *what);
/* For a failed libgan call: "PROG: WHAT: error (gan_error_last())" on stderr. Returns rc,
 * so `return ex_report(rc, "...")` passes 0 through silently. */
int ex_report(int rc, const char *what);
/* Return from the calling function (with the code) when a libgan call fails. */
#define EX_TRY(call)                            \
    do {                                        \
        int rc_ = (call);                       \
        if (rc_) return ex_report(rc_, #call);  \
    } while (0)

/* ------------------------------------------------------------- progress */
/* A live line on stderr: step, losses, samples/s, ETA. Redrawn at most 10 times a second. */
typedef struct ex_progress {
    double start, last_draw, cpu_start;
    uint64_t first, total; /* steps done before this run (0, or where a resume starts), and at its end */
    size_t samples_per_step;
    int tty;
} ex_progress;

/* Start timing a run that ends at step `total_steps`; set p->first after this when it resumes. */
void ex_progress_start(ex_progress *p, uint64_t total_steps, size_t samples_per_step);
void ex_progress_update(ex_progress *p, const gan_step_stats *s);
/* A gan_step_fn drawing the line: pass the ex_progress as payload to gan_trainer_run. */
int ex_progress_on_step(void *payload, const gan_step_stats *s);
void ex_progress_end(ex_progress *p); /* final line and newline */
double ex_now(void);                  /* monotonic seconds */
double ex_cpu_now(void);              /* seconds of this process's CPU time */

/* ------------------------------------------------------------------ nets */
/* G, D, their optimizers and the trainer of one run. Zero-initialise; ex_gan_free frees
 * whatever was made, the trainer first since it borrows the rest. */
typedef struct ex_gan {
    gan_net *g, *d;
    gan_optim *opt_g, *opt_d;
    gan_trainer *t;
} ex_gan;

void ex_gan_free(ex_gan *m);

/* Add the layer its constructor (status `made`) put in *l to `net`. Takes &l, not l: the
 * constructor in the same argument list fills it. A failed add frees the layer. */
int ex_add_layer(gan_net *net, int made, gan_layer **l);
/* ex_add_layer() reading the nodes `from` (gan_net_add_from). */
int ex_add_from(gan_net *net, int made, gan_layer **l, const size_t *from, size_t n_from);

/* An MLP: in -> (dense, hidden_act) x layers -> dense out_dim -> last (0: none). */
int ex_mlp(gan_net **out, size_t in, size_t hidden, int layers, size_t out_dim, gan_activation hidden_act,
           gan_activation last);
/* The same with every dense layer spectrally normalised, `sn` power iterations each. */
int ex_spectral_mlp(gan_net **out, size_t in, size_t hidden, int layers, size_t out_dim, gan_activation hidden_act,
                    gan_activation last, size_t sn);

/* Resume a run of `epochs` epochs of per_epoch steps from the checkpoint at path (NULL:
 * a fresh run, *done = 0): *done is its step count, which must end an epoch. 0, or a
 * status reported on stderr. */
int ex_resume(gan_trainer *t, const char *path, uint64_t per_epoch, long epochs, uint64_t *done);

/* ------------------------------------------------------------------ files */
/* dir/name, or dir/name.gz when only that exists (IDX files ship either way). */
void ex_idx_path(char *buf, size_t size, const char *dir, const char *name);

/* n rows of dim floats as raw little-endian float32 (what examples/score reads), written
 * atomically (a temporary file beside it, then a rename). 0, or EX_FAIL with a message. */
int ex_write_rows(const char *path, const float *x, size_t n, size_t dim);

/* Create a directory (and parents) if missing; 0 or -1. */
int ex_mkdir_p(const char *path);

#endif
