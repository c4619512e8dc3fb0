/* libFuzzer harness for the IDX reader: the input is split into an images part and a
 * labels part, both handed to gan_dataset_load_idx_mem (raw or gzip, as the bytes say).
 * Layout: 4 bytes little-endian split point (taken modulo the rest's length + 1), then the
 * images bytes, then the labels bytes. A split at the very end means "no labels".
 * A data set that loads is then split and sampled, to exercise odd shapes there too. */
#include "gan.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every row and label so a wrong size or stride shows up under ASan. */
static void touch(const gan_dataset *ds)
{
    size_t rows = gan_dataset_size(ds), dim = gan_dataset_dim(ds);
    volatile float sink = 0;
    for (size_t i = 0; i < rows; i++) {
        const float *r = gan_dataset_row(ds, i);
        sink += r[0] + r[dim - 1] + (float)gan_dataset_label(ds, i);
        if (r[0] < 0.0f || r[0] > 1.0f) abort();
    }
    (void)sink;
}

static void split_and_sample(const gan_dataset *ds, uint64_t seed)
{
    size_t n = gan_dataset_size(ds), dim = gan_dataset_dim(ds), classes = gan_dataset_num_classes(ds);
    gan_rng *rng;
    if (gan_rng_create(&rng, seed)) return;
    gan_dataset *a, *b;
    if (n >= 2 && gan_dataset_split(&a, &b, ds, n / 2, rng) == GAN_OK) {
        touch(a);
        touch(b);
        gan_dataset_free(a);
        gan_dataset_free(b);
    }
    enum { BATCH = 5 };
    gan_sampler *s;
    float *x = malloc(BATCH * dim * sizeof *x), *cond = classes ? malloc(BATCH * classes * sizeof *cond) : NULL;
    if (x && gan_sampler_create(&s, ds, seed & 1 ? GAN_SAMPLE_EPOCHS : GAN_SAMPLE_UNIFORM, classes && cond) == GAN_OK) {
        if (gan_dataset_sampler(s, rng, x, cond, BATCH) != 0) abort();
        gan_sampler_free(s);
    }
    free(x);
    free(cond);
    gan_rng_free(rng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t raw = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    const uint8_t *rest = data + 4;
    size_t n = size - 4, split = raw % (n + 1);
    gan_dataset *ds = NULL;
    int rc = gan_dataset_load_idx_mem(&ds, rest, split, split < n ? rest + split : NULL, n - split);
    if (rc == GAN_OK) {
        touch(ds);
        split_and_sample(ds, raw);
        gan_dataset_free(ds);
    } else if (ds || gan_error_last()[0] == '\0') {
        abort(); /* a failure must leave *out NULL and say why */
    }
    return 0;
}
