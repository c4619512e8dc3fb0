/* Reading files, the one way the library does it: file descriptors, reads retried after a
 * signal, the system's reason in the message (gan__fail_errno). serial.c and dataset.c
 * read through these; writes are serial.c's (the atomic save). */
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

#endif
