/* Reading files through file descriptors (file_impl.h). */
#define _POSIX_C_SOURCE 200809L

#include "file_impl.h"
#include "alloc_impl.h"
#include "error_impl.h"
#include "rng_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* Six characters for a temporary name, from whatever differs between calls. */
static void temp_suffix(char *dst, unsigned attempt)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 20 ^
                 (uint64_t)(uintptr_t)&ts ^ (uint64_t)attempt * GAN__GOLDEN_GAMMA;
    x = gan__splitmix64(x);
    for (int i = 0; i < 6; i++, x /= 36) dst[i] = alphabet[x % 36];
    dst[6] = '\0';
}

/* Make the rename itself durable; best effort (some file systems refuse). */
static void sync_dir(char *tmp_path)
{
    char *slash = strrchr(tmp_path, '/');
    const char *dir = ".";
    if (slash == tmp_path) dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = tmp_path;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int gan__file_write_atomic(const char *path, gan__file_writer fill, void *ctx)
{
    static const char infix[] = ".tmp.";
    size_t len = strlen(path);
    if (len == 0) return gan__fail(GAN_EINVAL, "the path is empty");
    if (len > SIZE_MAX - sizeof infix - 7) return gan__fail(GAN_EINVAL, "the path is too long");
    char *tmp = gan__malloc(len + sizeof infix + 6);
    if (!tmp) return gan__fail(GAN_ENOMEM, "out of memory");
    memcpy(tmp, path, len);
    memcpy(tmp + len, infix, sizeof infix - 1);
    int fd = -1;
    for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
        temp_suffix(tmp + len + sizeof infix - 1, attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST && errno != EINTR) break;
    }
    if (fd < 0) {
        int e = errno;
        gan__free(tmp);
        return gan__fail_errno(GAN_EIO, e, "cannot create a temporary file beside it");
    }
    const char *what = "writing";
    int e = fill(ctx, fd);
    if (!e && fsync(fd) != 0) {
        what = "fsync";
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        what = "closing";
        e = errno;
    }
    if (!e && rename(tmp, path) != 0) {
        what = "renaming the temporary file over it";
        e = errno;
    }
    if (e) {
        unlink(tmp);
        gan__free(tmp);
        return gan__fail_errno(GAN_EIO, e, "%s failed (the old file, if any, is unchanged)", what);
    }
    sync_dir(tmp);
    gan__free(tmp);
    return GAN_OK;
}

int gan__file_write_all(int fd, const void *src, size_t n)
{
    const char *p = src;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}
