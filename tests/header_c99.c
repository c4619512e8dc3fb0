/* Compiled as C99 with -pedantic -Werror: the public header must stay clean. */
#include "gan.h"

int main(void)
{
    return gan_version_number() == GAN_VERSION_NUMBER ? 0 : 1;
}
