/* The bench programs' error exit: a failed libgan call prints its message and stops. */
#ifndef GAN_BENCH_CHECK_H
#define GAN_BENCH_CHECK_H

#include "gan.h"

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                         \
    do {                                                                                    \
        int rc_ = (call);                                                                   \
        if (rc_) {                                                                          \
            fprintf(stderr, "%s: %s (%s)\n", #call, gan_strerror(rc_), gan_error_last());   \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

#endif
