/* Status codes, their static descriptions and the thread-local detail message. */
#include "error_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[GAN__MESSAGE_CAP];

/* One table, indexed by -code. */
static const char *const DESCRIPTIONS[] = {
    "success",                                        /* GAN_OK */
    "invalid argument",                               /* GAN_EINVAL */
    "out of memory",                                  /* GAN_ENOMEM */
    "input/output error",                             /* GAN_EIO */
    "malformed data",                                 /* GAN_EFORMAT */
    "unsupported format version",                     /* GAN_EVERSION */
    "stopped by a user callback",                     /* GAN_EUSER */
    "training diverged (non-finite loss or gradient)", /* GAN_EDIVERGED */
    "invalid state for this call",                    /* GAN_ESTATE */
};

const char *gan_strerror(int code)
{
    if (code > 0 || -(long)code >= (long)(sizeof DESCRIPTIONS / sizeof DESCRIPTIONS[0])) return "unknown error code";
    return DESCRIPTIONS[-code];
}

const char *gan_error_last(void)
{
    return last_message;
}

void gan__clear_error(void)
{
    last_message[0] = '\0';
}

int gan__fail(int code, const char *fmt, ...)
{
    char buf[GAN__MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_message, buf, sizeof buf);
    return code;
}

int gan__fail_errno(int code, int err, const char *fmt, ...)
{
    char buf[GAN__MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return gan__fail(code, "%s: %s", buf, strerror(err));
}

int gan__wrap(int code, const char *fmt, ...)
{
    char context[GAN__MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    if (!last_message[0]) return gan__fail(code, "%s", context);
    return gan__fail(code, "%s: %s", context, last_message);
}

void gan__error_save(gan__saved_error *saved)
{
    memcpy(saved->message, last_message, sizeof last_message);
}

void gan__error_restore(const gan__saved_error *saved)
{
    memcpy(last_message, saved->message, sizeof last_message);
}
