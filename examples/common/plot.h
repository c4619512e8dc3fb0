/* Small figures drawn with cairo for the examples' pictures: a grid of panels (axes), each
 * with a title, axes with ticks and numbers, axis labels, line and scatter series,
 * labelled reference lines and a legend. A figure only records what it is given and draws
 * it all when saved, so ranges and the legend's corner can follow the data.
 *
 * Errors are sticky, as in cairo: calls on a figure that ran out of memory (or on NULL)
 * do nothing, and ex_figure_save reports the failure. */
#ifndef EX_PLOT_H
#define EX_PLOT_H

#include "common.h"

#include <cairo.h>
#include <stddef.h>

typedef struct ex_rgb {
    double r, g, b;
} ex_rgb;

/* A few colours that tell apart (matplotlib's first ones), as initialisers. */
#define EX_BLUE {0.12, 0.47, 0.71}
#define EX_ORANGE {1.00, 0.50, 0.05}
#define EX_GREEN {0.17, 0.63, 0.17}
#define EX_RED {0.84, 0.15, 0.16}
#define EX_PURPLE {0.58, 0.40, 0.74}
#define EX_GREY {0.45, 0.45, 0.45}
#define EX_BLACK {0, 0, 0}

typedef enum ex_dash { EX_SOLID, EX_DASHED, EX_DOTTED } ex_dash;

typedef struct ex_style {
    ex_rgb color;
    double alpha;  /* opacity; 0 means opaque */
    double width;  /* lines: width; markers: radius (pixels) */
    ex_dash dash;
    int ring;      /* markers: open circles instead of dots */
    double radius; /* markers: radius in x data units, where it is more than `width` pixels */
} ex_style;

typedef struct ex_figure ex_figure;
typedef struct ex_axes ex_axes;

/* A width x height pixel figure of rows x cols panels under an optional title; NULL when out of memory. */
ex_figure *ex_figure_create(int width, int height, int rows, int cols, const char *title);
void ex_figure_free(ex_figure *f);
/* The panel at (row, col), owned by the figure. */
ex_axes *ex_figure_axes(ex_figure *f, int row, int col);
/* Draw the figure and write it as a PNG, atomically. 0, or EX_FAIL with a message on stderr. */
int ex_figure_save(ex_figure *f, const char *path);

/* Panel title and axis labels (each may be NULL). */
void ex_axes_text(ex_axes *a, const char *title, const char *xlabel, const char *ylabel);
/* Fixed limits; NAN leaves that side to the data. */
void ex_axes_limits(ex_axes *a, double x0, double x1, double y0, double y1);
/* n points as x, y pairs. A series with a label gets a legend entry. Points outside the
 * limits are clipped; non-finite ones are skipped (a line breaks there). */
void ex_axes_line(ex_axes *a, const float *xy, size_t n, ex_style s, const char *label);
void ex_axes_scatter(ex_axes *a, const float *xy, size_t n, ex_style s, const char *label);
/* A horizontal line across the panel at y, its label written on it. */
void ex_axes_hline(ex_axes *a, double y, ex_style s, const char *label);

/* Write any cairo surface as a PNG: a temporary file in the same directory, flushed and
 * renamed, so a reader never sees half a picture. 0, or EX_FAIL with a message on stderr. */
int ex_png_save(cairo_surface_t *s, const char *path);
/* Paint a gray image (w x h values in [0, 1]) with its top-left corner at (x, y). */
void ex_paint_gray(cairo_t *cr, const float *img, int w, int h, double x, double y);
/* The same for an image of `channels` (1 grey, 3 RGB) values in [0, 1], HWC, each pixel
 * drawn `scale` x `scale`. */
void ex_paint_image(cairo_t *cr, const float *img, int channels, int w, int h, int scale, double x, double y);
/* n grayscale images of side x side pixels in [0, 1] as a PNG grid of `cols` columns
 * (gan_image_grid2, 2 pixels apart, GRID_SCALE) under a title strip. 0, a libgan status or
 * EX_FAIL, reported on stderr. */
int ex_save_image_grid(const char *path, const float *images, size_t n, size_t side, size_t cols, const char *title);
/* n images of height x width pixels of `channels` (1 grey, 3 RGB) values in [0, 1], HWC, as
 * a PNG grid of `cols` columns, black between them as in ex_save_image_grid, each pixel
 * drawn `scale` x `scale`, under a title strip. With `labels` (n strings, NULL entries
 * allowed) each image has its label written under it, shrunk to fit the image's width.
 * 0, or EX_FAIL with a message on stderr. */
int ex_save_labelled_grid(const char *path, const float *images, size_t n, size_t channels, size_t height,
                          size_t width, size_t cols, int scale, const char *const *labels, const char *title);
/* n pairs of images (channels x side x side, [0, 1], HWC) as a PNG of per_row pairs to a
 * row, each left image beside its right one framed in yellow (a sample and its nearest
 * training image), each pixel drawn scale x scale, under a title. 0, or EX_FAIL with a
 * message on stderr. */
int ex_save_pairs(const char *path, const float *left, const float *right, size_t n, size_t per_row, int channels,
                  int side, int scale, const char *title);
/* A picture with a title strip above it, written as a PNG (ex_png_save). */
int ex_png_save_titled(cairo_surface_t *picture, const char *title, const char *path);
/* Grids draw each pixel as GRID_SCALE x GRID_SCALE, so a 28 x 28 image is readable. */
#define GRID_SCALE 2

#endif
