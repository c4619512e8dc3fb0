/* big_idx: a data set larger than what one wants in memory, packed as IDX, mapped rather
 * than read. `big_idx make PATH GB` writes an IDX file of 64 x 64 x 3 images (noise) of about
 * GB gigabytes; `big_idx load PATH` times gan_dataset_load_idx on it, then 100 batches of 64
 * drawn by a sampler, and prints the resident memory after each: only the rows drawn are
 * ever read. The page cache is dropped first when run as root (echo 1 > drop_caches), so
 * the figures are a cold load. Not run in CI (docs/benchmarks.md has the figures). */
#define _XOPEN_SOURCE 700 /* sync() */
#include "gan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

enum { SIDE = 64, CH = 3, ROW = SIDE * SIDE * CH, BATCH = 64, BATCHES = 100 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double resident_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2) exit(1);
    fclose(f);
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1e6;
}

static void put_be32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fwrite(b, 1, 4, f);
}

static int make(const char *path, double gb)
{
    uint32_t n = (uint32_t)(gb * 1e9 / ROW);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    uint8_t head[4] = {0, 0, 8, 4};
    fwrite(head, 1, 4, f);
    put_be32(f, n);
    put_be32(f, SIDE);
    put_be32(f, SIDE);
    put_be32(f, CH);
    uint8_t *row = malloc(ROW);
    uint64_t x = 88172645463325252ULL;
    for (uint32_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ROW; k++) { /* xorshift64: fast noise */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            row[k] = (uint8_t)x;
        }
        if (fwrite(row, 1, ROW, f) != ROW) return 1;
    }
    free(row);
    if (fclose(f)) return 1;
    printf("wrote %s: %u images of %dx%dx%d, %.2f GB\n", path, n, SIDE, SIDE, CH, (16.0 + (double)n * ROW) / 1e9);
    return 0;
}

static int load(const char *path)
{
    FILE *drop = fopen("/proc/sys/vm/drop_caches", "w");
    if (drop) {
        sync();
        fputs("1\n", drop);
        fclose(drop);
    }
    printf("page cache %s\n", drop ? "dropped" : "kept (not root)");
    double rss0 = resident_mb(), t0 = now();
    gan_dataset *ds;
    CHECK(gan_dataset_load_idx(&ds, path, NULL));
    double t1 = now(), rss1 = resident_mb();
    printf("load: %.3f s, %zu rows of %zu bytes, resident %+.1f MB\n", t1 - t0, gan_dataset_size(ds),
           gan_dataset_dim(ds), rss1 - rss0);
    gan_sampler *s;
    gan_rng *rng;
    CHECK(gan_sampler_create(&s, ds, GAN_SAMPLE_EPOCHS, 0));
    CHECK(gan_rng_create(&rng, 1));
    float *x = malloc((size_t)BATCH * ROW * sizeof *x);
    double t2 = now();
    for (int b = 0; b < BATCHES; b++) CHECK(gan_dataset_sampler(s, rng, x, NULL, BATCH));
    double t3 = now();
    printf("%d batches of %d: %.3f s (%.1f ms a batch), resident %+.1f MB since loading\n", BATCHES, BATCH, t3 - t2,
           1e3 * (t3 - t2) / BATCHES, resident_mb() - rss1);
    free(x);
    gan_rng_free(rng);
    gan_sampler_free(s);
    gan_dataset_free(ds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "make")) return make(argv[2], atof(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "load")) return load(argv[2]);
    fprintf(stderr, "usage: %s make PATH GB | load PATH\n", argv[0]);
    return 2;
}
