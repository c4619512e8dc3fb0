/* Error reporting shared by every module: set the thread-local message, return the code. */
#ifndef GAN_ERROR_IMPL_H
#define GAN_ERROR_IMPL_H

#include "gan.h"

#if defined(__GNUC__)
#define GAN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GAN_PRINTF(f, a)
#endif

/* Record a formatted message for gan_error_last() and return code. */
int gan__fail(int code, const char *fmt, ...) GAN_PRINTF(2, 3);

/* Forget the last message, so a callback's own gan__fail() can be told apart. */
void gan__clear_error(void);

/* Check a pointer argument; fails with GAN_EINVAL naming fn and arg. */
#define GAN_CHECK_ARG(p, fn) \
    do { if (!(p)) return gan__fail(GAN_EINVAL, "%s: '%s' is NULL", fn, #p); } while (0)

#endif
