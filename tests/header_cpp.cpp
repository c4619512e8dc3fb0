// Compiled as C++11 with -pedantic -Werror: the header must be usable from C++.
#include "gan.h"

int main()
{
    gan_net *net = nullptr;
    if (gan_net_create(&net, 4) != GAN_OK) return 1;
    gan_net_free(net);
    return gan_version_number() == GAN_VERSION_NUMBER ? 0 : 1;
}
