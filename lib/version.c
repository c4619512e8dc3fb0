/* Version and build-feature queries. */
#include "gan.h"

unsigned gan_version_number(void)
{
    return GAN_VERSION_NUMBER;
}

const char *gan_version_string(void)
{
    return GAN_VERSION_STRING;
}

unsigned gan_features(void)
{
    unsigned f = 0;
#if defined(GAN_BLAS_OPENBLAS)
    f |= GAN_FEATURE_OPENBLAS;
#elif defined(GAN_BLAS_BLIS)
    f |= GAN_FEATURE_BLIS;
#else
    f |= GAN_FEATURE_REFBLAS;
#endif
    f |= GAN_FEATURE_ZLIB; /* zlib is a required dependency */
    return f;
}
