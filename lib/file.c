/* Reading files through file descriptors (file_impl.h). */
#define _POSIX_C_SOURCE 200809L

#include "file_impl.h"
#include "error_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int gan__file_open(int *fd, const char *path, int regular_only, uint64_t *size, int *regular)
{
    *size = 0;
    *regular = 0;
    if ((*fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0))) < 0)
        return gan__fail_errno(GAN_EIO, errno, "cannot open");
    struct stat st;
    int rc = GAN_OK;
    if (fstat(*fd, &st) != 0) rc = gan__fail_errno(GAN_EIO, errno, "cannot stat");
    else if (S_ISREG(st.st_mode) && st.st_size >= 0) {
        *size = (uint64_t)st.st_size;
        *regular = 1;
    } else if (regular_only) rc = gan__fail(GAN_EIO, "not a regular file");
    if (rc) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int gan__file_read(int fd, void *dst, size_t want, size_t *got)
{
    size_t n = 0;
    while (n < want) {
        ssize_t k = read(fd, (char *)dst + n, want - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            *got = n;
            return gan__fail_errno(GAN_EIO, errno, "read error");
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    *got = n;
    return GAN_OK;
}

void gan__file_close(int fd)
{
    if (fd >= 0) close(fd);
}
