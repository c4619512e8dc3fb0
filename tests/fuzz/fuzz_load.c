/* libFuzzer harness for model files and checkpoints: the input is handed, as is, to
 * gan_net_load_mem and to gan_trainer_load_mem on each trainer of load_arch.h.
 * Properties checked, beyond "no crash, no leak, no UB":
 *  - a failure leaves *out NULL, says why, and uses a code a bad file may give;
 *  - a failed trainer load leaves the trainer bit-identical (its saved image unchanged);
 *  - whatever loads saves again, and that save loads and re-saves to the same bytes;
 *  - a loaded net runs forward (when its widths are small), a loaded trainer trains a
 *    step and generates.
 * tests/fuzz/run_fuzzer.sh builds with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which
 * makes the reader skip CRC comparisons so mutations reach the payload checks. */
#include "gan.h"
#include "load_arch.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *save_net(const gan_net *n, size_t *size)
{
    if (gan_net_save_mem(n, NULL, 0, size) != GAN_OK) abort();
    uint8_t *b = malloc(*size);
    if (!b || gan_net_save_mem(n, b, *size, size) != GAN_OK) abort();
    return b;
}

static uint8_t *save_trainer(const gan_trainer *t, size_t *size)
{
    if (gan_trainer_save_mem(t, NULL, 0, size) != GAN_OK) abort();
    uint8_t *b = malloc(*size);
    if (!b || gan_trainer_save_mem(t, b, *size, size) != GAN_OK) abort();
    return b;
}

static int bad_file_code(int rc) { return rc == GAN_EFORMAT || rc == GAN_EVERSION || rc == GAN_ENOMEM; }

static void exercise_net(gan_net *n)
{
    size_t a_n, b_n;
    uint8_t *a = save_net(n, &a_n);
    gan_net *m = NULL;
    if (gan_net_load_mem(&m, a, a_n) != GAN_OK) abort();
    uint8_t *b = save_net(m, &b_n);
    if (a_n != b_n || memcmp(a, b, a_n) != 0) abort();
    free(a);
    free(b);
    gan_net_free(m);

    /* Forward only through small nets: widths, not the file's size, set the workspaces. */
    size_t in = gan_net_in_dim(n), layers = gan_net_num_layers(n), widest = in;
    if (layers > 64) return;
    for (size_t i = 0; i < layers; i++)
        if (gan_layer_out_dim(gan_net_layer(n, i)) > widest) widest = gan_layer_out_dim(gan_net_layer(n, i));
    if (widest > 4096) return;
    enum { BATCH = 2 };
    float *x = calloc(BATCH * in, sizeof *x), *y = calloc(BATCH * gan_net_out_dim(n), sizeof *y);
    gan_rng *rng = NULL;
    if (!x || !y || gan_rng_create(&rng, 1) != GAN_OK) abort();
    for (size_t i = 0; i < BATCH * in; i++) x[i] = (float)(i % 7) * 0.25f - 0.75f;
    if (gan_net_forward(n, x, BATCH, y, 0) != GAN_OK) abort();
    if (gan_net_set_rng(n, rng) != GAN_OK || gan_net_forward(n, x, BATCH, y, 1) != GAN_OK) abort();
    gan_net_set_rng(n, NULL);
    gan_rng_free(rng);
    free(x);
    free(y);
}

static void exercise_trainer(arch_rig *r, int arch)
{
    size_t a_n, b_n;
    uint8_t *a = save_trainer(r->t, &a_n);
    arch_rig s;
    if (arch_make(&s, arch) != GAN_OK) abort();
    if (gan_trainer_load_mem(s.t, a, a_n) != GAN_OK) abort();
    uint8_t *b = save_trainer(s.t, &b_n);
    if (a_n != b_n || memcmp(a, b, a_n) != 0) abort();
    free(a);
    free(b);
    arch_free(&s);

    /* Train a step and generate with the loaded settings, at a small batch and step count. */
    if (gan_trainer_set_batch_size(r->t, 4) || gan_trainer_set_d_steps(r->t, 1) || gan_trainer_set_g_steps(r->t, 1))
        abort();
    int rc = gan_trainer_step(r->t, NULL);
    if (rc == GAN_ESTATE) return; /* condition size 0 on a conditional trainer: not ready, as before saving */
    if (rc != GAN_OK && rc != GAN_EDIVERGED) abort();
    float cond[3 * 2] = {1, 0, 0, 1, 1, 0}; /* a loaded condition fits the nets: at most 2 here */
    float *out = malloc(3 * gan_net_out_dim(r->g) * sizeof *out);
    if (!out || gan_trainer_generate(r->t, NULL, cond, 3, out) != GAN_OK) abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gan_net *n = (gan_net *)&n;
    int rc = gan_net_load_mem(&n, data, size);
    if (rc == GAN_OK) {
        exercise_net(n);
        gan_net_free(n);
    } else if (n || !bad_file_code(rc) || gan_error_last()[0] == '\0') {
        abort();
    }

    for (int arch = 0; arch < ARCH_COUNT; arch++) {
        arch_rig r;
        if (arch_make(&r, arch) != GAN_OK) abort();
        size_t before_n, after_n;
        uint8_t *before = save_trainer(r.t, &before_n);
        rc = gan_trainer_load_mem(r.t, data, size);
        if (rc == GAN_OK) {
            exercise_trainer(&r, arch);
        } else {
            if ((!bad_file_code(rc) && rc != GAN_ESTATE) || gan_error_last()[0] == '\0') abort();
            uint8_t *after = save_trainer(r.t, &after_n);
            if (after_n != before_n || memcmp(before, after, before_n) != 0) abort(); /* all or nothing */
            free(after);
        }
        free(before);
        arch_free(&r);
    }
    return 0;
}
