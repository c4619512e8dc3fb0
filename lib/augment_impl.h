/* Differentiable augmentation (DiffAugment, Zhao et al. 2020) of image rows, and its
 * adjoint, for the trainer (gan_trainer_set_augment) and the tests. */
#ifndef GAN_AUGMENT_IMPL_H
#define GAN_AUGMENT_IMPL_H

#include <stddef.h>

/* Uniforms in [0, 1) a row's transform is made of: brightness, saturation, contrast,
 * the translation's two shifts, the cutout's two offsets (drawn whatever the policy, so
 * that a stream moves the same way for every policy). */
enum { GAN__AUGMENT_DRAWS = 7 };

/* The policy (gan_augment bits) and the images' shape, channels last. */
typedef struct gan__augment {
    unsigned policy;
    size_t channels, height, width;
} gan__augment;

/* Transform, in place, the first channels * height * width values of `rows` rows
 * `stride` apart; row i's transform is made of u[i * GAN__AUGMENT_DRAWS ...]. tmp holds
 * one image (channels * height * width floats). Each row's transform is affine in the
 * row: colour, then translation, then cutout. */
void gan__augment_forward(const gan__augment *a, const float *u, float *x, size_t rows, size_t stride, float *tmp);

/* The adjoint of gan__augment_forward with the same u: dx (rows of one image, dx_stride
 * apart) = J^T dy (rows dy_stride apart, their first image values read). dy and dx must
 * not overlap. */
void gan__augment_adjoint(const gan__augment *a, const float *u, const float *dy, size_t dy_stride, float *dx,
                          size_t dx_stride, size_t rows);

#endif
