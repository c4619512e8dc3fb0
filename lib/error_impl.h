/* Error reporting shared by every module: set the thread-local message, return the code.
 *
 * A message is never formatted from the buffer it is written to: gan__fail formats into
 * a buffer of its own and only then copies, so an argument may be gan_error_last().
 * When a call fails because something it called failed, it keeps the inner detail and
 * puts its own context in front with gan__wrap ("gan_trainer_step: G: ..."). Internal
 * functions leave naming the public function to the public one. */
#ifndef GAN_ERROR_IMPL_H
#define GAN_ERROR_IMPL_H

#include "gan.h"

#if defined(__GNUC__)
#define GAN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GAN_PRINTF(f, a)
#endif

enum { GAN__MESSAGE_CAP = 512 };

/* Record a formatted message for gan_error_last() and return code. */
int gan__fail(int code, const char *fmt, ...) GAN_PRINTF(2, 3);

/* gan__fail with the system's description of errno value `err` appended ("...: No
 * such file or directory"): the one place that calls strerror. */
int gan__fail_errno(int code, int err, const char *fmt, ...) GAN_PRINTF(3, 4);

/* Put "<formatted context>: " in front of the current message and return code; a
 * missing inner message leaves the context alone. */
int gan__wrap(int code, const char *fmt, ...) GAN_PRINTF(2, 3);

/* The current message, kept aside while something else may overwrite it. */
typedef struct gan__saved_error {
    char message[GAN__MESSAGE_CAP];
} gan__saved_error;
void gan__error_save(gan__saved_error *saved);
void gan__error_restore(const gan__saved_error *saved);

/* Forget the last message, so a callback's own failure can be told apart. */
void gan__clear_error(void);

/* Check a pointer argument of the public function it stands in: GAN_EINVAL naming the
 * function and the argument. */
#define GAN_CHECK_ARG(p) \
    do { if (!(p)) return gan__fail(GAN_EINVAL, "%s: '%s' is NULL", __func__, #p); } while (0)

#endif
