/* Status codes, their static descriptions and the thread-local detail message. */
#include "error_impl.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[512];

const char *gan_strerror(int code)
{
    switch (code) {
    case GAN_OK: return "success";
    case GAN_EINVAL: return "invalid argument";
    case GAN_ENOMEM: return "out of memory";
    case GAN_EIO: return "input/output error";
    case GAN_EFORMAT: return "malformed data";
    case GAN_EVERSION: return "unsupported format version";
    case GAN_EUSER: return "stopped by a user callback";
    case GAN_EDIVERGED: return "training diverged (non-finite loss or gradient)";
    case GAN_ESTATE: return "invalid state for this call";
    default: return "unknown error code";
    }
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
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}
