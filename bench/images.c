/* images: how fast gan_dataset_load_images turns a folder or list of images into a data
 * set, against PIL's decode and resize of the same files (bench/peer_images.py, run by
 * bench/images.sh). Loads PATH `rounds` times and prints the best round's images/s.
 * Usage: images PATH HEIGHT WIDTH CHANNELS [ROUNDS] */
#define _POSIX_C_SOURCE 200809L
#include "gan.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s PATH HEIGHT WIDTH CHANNELS [ROUNDS]\n", argv[0]);
        return 2;
    }
    size_t h = strtoul(argv[2], NULL, 10), w = strtoul(argv[3], NULL, 10), c = strtoul(argv[4], NULL, 10);
    int rounds = argc > 5 ? atoi(argv[5]) : 3;
    double best = 0.0;
    size_t n = 0;
    for (int r = 0; r < rounds; r++) {
        gan_dataset *ds;
        double t0 = now();
        CHECK(gan_dataset_load_images(&ds, argv[1], c, h, w, 0));
        double rate = (double)gan_dataset_size(ds) / (now() - t0);
        n = gan_dataset_size(ds);
        best = rate > best ? rate : best;
        gan_dataset_free(ds);
    }
    printf("libgan images=%zu size=%zux%zux%zu best_of=%d images_per_s=%.0f\n", n, h, w, c, rounds, best);
    return 0;
}
