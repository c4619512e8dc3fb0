/* Version queries and feature bits: the header's macros, the runtime library and
 * meson's project version agree, and the feature bits describe this build. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

/* Set by tests/meson.build from the build configuration. */
#ifndef MESON_PROJECT_VERSION
#error "MESON_PROJECT_VERSION must be defined by the build"
#endif
#ifndef EXPECTED_BLAS_FEATURE
#error "EXPECTED_BLAS_FEATURE must be defined by the build"
#endif

static void macros_match_the_project_version(void **state)
{
    (void)state;
    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", GAN_VERSION_MAJOR, GAN_VERSION_MINOR, GAN_VERSION_PATCH);
    assert_string_equal(built, MESON_PROJECT_VERSION);
    assert_string_equal(GAN_VERSION_STRING, MESON_PROJECT_VERSION);
    assert_int_equal(GAN_VERSION_NUMBER, GAN_VERSION_MAJOR * 10000 + GAN_VERSION_MINOR * 100 + GAN_VERSION_PATCH);
}

static void runtime_matches_the_header(void **state)
{
    (void)state;
    assert_int_equal(gan_version_number(), GAN_VERSION_NUMBER);
    assert_string_equal(gan_version_string(), GAN_VERSION_STRING);
    assert_ptr_equal(gan_version_string(), gan_version_string()); /* static storage */
}

static void features_describe_this_build(void **state)
{
    (void)state;
    unsigned f = gan_features();
    unsigned blas = f & (GAN_FEATURE_OPENBLAS | GAN_FEATURE_REFBLAS | GAN_FEATURE_BLIS);
    assert_int_equal(blas, EXPECTED_BLAS_FEATURE); /* exactly the BLAS meson chose */
    assert_true(f & GAN_FEATURE_ZLIB);             /* zlib is a required dependency */
    assert_int_equal(f & ~(blas | GAN_FEATURE_ZLIB), 0); /* no undefined bits */
    assert_int_equal(gan_features(), f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(macros_match_the_project_version),
        cmocka_unit_test(runtime_matches_the_header),
        cmocka_unit_test(features_describe_this_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
