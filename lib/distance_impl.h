/* Blocked squared distances between two sets of rows, shared by the Parzen estimate, the
 * nearest neighbours (eval.c) and the k-NN precision and recall (metrics.c), with the
 * checks of such sets. Distances come from |x|^2 + |s|^2 - 2 x.s with one sgemm per block
 * of BLOCK_Q x BLOCK_R rows, so the workspace stays a few MiB whatever the row counts. */
#ifndef GAN_DISTANCE_IMPL_H
#define GAN_DISTANCE_IMPL_H

#include <float.h>
#include <stddef.h>

/* A block is BLOCK_Q query rows x BLOCK_R reference rows: a 4 MiB float tile. */
#define BLOCK_Q 512
#define BLOCK_R 2048
/* A distance is at most 4 x the larger squared norm; this bound keeps it (and the
 * sgemm's partial sums) finite in float. */
#define MAX_NORM2 ((double)FLT_MAX / 8.0)

/* The distance loops run in chunks of a constant length: -O2's cheap cost model vectorises
 * a loop only when no scalar remainder is needed. Branches on floats also stop it, so clamps
 * compare bit patterns, which order like the values for floats >= 0. */
#define CHUNK 64

static inline size_t gan__min_size(size_t a, size_t b) { return a < b ? a : b; }

/* GAN_EINVAL, with a message naming fn, unless dim is in [1, INT_MAX]. */
int gan__check_dim(const char *fn, size_t dim);
/* rows > 0 and rows x dim floats addressable; name is the count's argument name. */
int gan__check_rows(const char *fn, const char *name, size_t rows, size_t dim);
/* Every row finite and small enough (MAX_NORM2) that its distances fit a float. */
int gan__check_values(const char *fn, const char *what, const float *x, size_t rows, size_t dim);
/* All three for two sets of rows of one width. */
int gan__check_pair(const char *fn, const char *qname, const float *q, size_t nq, const char *rname,
                    const float *r, size_t nr, size_t dim);

/* Receives the squared distances of query rows q0 .. q0+rows-1 to reference rows
 * r0 .. r0+cols-1 (d2 is rows x cols), with each row's minimum over the block. */
typedef struct dist_sink dist_sink;
struct dist_sink {
    void (*start)(dist_sink *s, size_t q0, size_t rows);
    void (*block)(dist_sink *s, size_t q0, size_t rows, size_t r0, size_t cols, const float *d2,
                  const float *row_min);
    void (*finish)(dist_sink *s, size_t q0, size_t rows);
};

typedef struct dist_ws {
    size_t bq, br;            /* block sizes, clipped to the problem */
    float *g;                 /* bq x br distances */
    float *qn, *rn, *row_min; /* bq query norms, br reference norms, bq minima */
} dist_ws;

/* GAN_ENOMEM (no message) or a workspace for nq x nr distances; free w->g. */
int gan__dist_ws_alloc(dist_ws *w, size_t nq, size_t nr);
/* Feeds every block of distances from q's rows to r's rows to the sink, queries in the
 * outer loop. */
void gan__dist_pass(const dist_ws *w, const float *q, size_t nq, const float *r, size_t nr, size_t dim,
                    dist_sink *s);

#endif
