/* A training record. ex_log_on_step is the gan_step_fn an example hands gan_trainer_run:
 * it writes one CSV row per step (the columns of gan_step_stats) when a file is open,
 * keeps a bounded record in memory for the losses picture, and then calls the next
 * callback (the progress line, a learning-rate schedule), whose answer it returns.
 * The library itself writes nothing: this is all the caller's. */
#ifndef EX_LOG_H
#define EX_LOG_H

#include <gan.h>
#include <stdint.h>
#include <stdio.h>

#define EX_LOG_POINTS 16384 /* the record's size; a longer run keeps one step in 2, 4, ... */

typedef struct ex_log_point {
    uint64_t step;
    float loss_d, loss_g, d_real, d_fake;
} ex_log_point;

typedef struct ex_log {
    FILE *csv;        /* NULL: no file, the record only */
    int columns;      /* values after the step: a 0.2 log resumed has no penalty columns */
    const char *path; /* the file's name, for messages */
    gan_step_fn next; /* may be NULL */
    void *next_payload;
    ex_log_point *pt; /* steps that are multiples of stride, oldest first */
    size_t n, stride;
} ex_log;

/* Start a record, writing to `path` when it is not NULL. A fresh run (resume_step 0)
 * replaces the file. A run resumed from a checkpoint at resume_step continues it: rows up
 * to that step are kept (and read back into the record, so the picture shows the whole
 * run), later ones, which the resumed run does again, are cut off; resumes being exact,
 * the file ends up as one uninterrupted run's, byte for byte. Values are written at float
 * precision, as the shortest text that reads back as the same float, so the record read
 * back is the one a live run keeps. 0, or EX_FAIL with a message on stderr. */
int ex_log_open(ex_log *l, const char *path, uint64_t resume_step, gan_step_fn next, void *next_payload);
int ex_log_on_step(void *payload, const gan_step_stats *s);
/* losses.png: loss_d and loss_g, then D(x) and D(G(z)), over the steps; a moving average
 * drawn over the faint raw values. 0, or EX_FAIL with a message. */
int ex_log_plot(const ex_log *l, const char *path, const char *title);
/* Close the file and free the record; 0, or EX_FAIL when the file could not be written. */
int ex_log_close(ex_log *l);
/* The end of a run whose status is rc: the picture at path (unless rc or path is NULL),
 * then ex_log_close. Returns rc, or else the first failure of the two. */
int ex_log_finish(ex_log *l, int rc, const char *path, const char *title);

#endif
