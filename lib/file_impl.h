/* Files, the one way the library handles them: file descriptors, reads retried after a
 * signal, the system's reason in the message (gan__fail_errno), and every write atomic. */
#ifndef GAN_FILE_IMPL_H
#define GAN_FILE_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Open `path` for reading. *size is its length when it is a regular file, with *regular
 * set; other files (pipes, devices) have no known length, and with `regular_only` are
 * refused (opened without blocking, so a FIFO without a writer does not hang). GAN_EIO
 * "cannot open: ..." or "not a regular file" (the message names neither the function nor
 * the path: callers put them in front). */
int gan__file_open(int *fd, const char *path, int regular_only, uint64_t *size, int *regular);

/* Up to `want` bytes; *got < want only at the end of the file. GAN_EIO "read error: ...". */
int gan__file_read(int fd, void *dst, size_t want, size_t *got);

void gan__file_close(int fd);

/* Writes the bytes of a new file through fd: 0, or the errno value of what failed. */
typedef int (*gan__file_writer)(void *ctx, int fd);

/* Write `path` atomically: `fill` fills a new temporary file beside it, which is then
 * flushed (fsync), closed and renamed over `path`, and the directory synced. On failure
 * the temporary file is removed and a file already at `path` is unchanged: GAN_EIO
 * "<step> failed (the old file, if any, is unchanged): <reason>", GAN_EINVAL for an empty
 * path, GAN_ENOMEM. The message names neither the function nor the path. */
int gan__file_write_atomic(const char *path, gan__file_writer fill, void *ctx);

/* All n bytes to fd, retried after a signal: 0 or the errno value of the failure. */
int gan__file_write_all(int fd, const void *src, size_t n);

#endif
