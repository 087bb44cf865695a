/* SPDX-License-Identifier: MIT */
/* For fuzz targets of loaders that only read from a path (the IDX and CIFAR
 * readers, checkpoints): the input as a file in memory (memfd), named by its
 * /proc/self/fd path, so that no fuzzer touches the disk or changes the
 * public API. */
#ifndef EC2T_FUZZ_FILE_H
#define EC2T_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct fuzz_file {
    int fd;
    char path[64];
} fuzz_file;

/* 0 on success (f->path names a regular file holding the bytes), -1 if not. */
static inline int
fuzz_file_open(fuzz_file *f, const uint8_t *data, size_t size)
{
    size_t done = 0;
    f->fd = memfd_create("ec2t-fuzz", MFD_CLOEXEC);
    if (f->fd < 0)
        return -1;
    while (done < size) {
        ssize_t n = write(f->fd, data + done, size - done);
        if (n <= 0) {
            close(f->fd);
            return -1;
        }
        done += (size_t)n;
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
    return 0;
}

static inline void
fuzz_file_close(fuzz_file *f)
{
    close(f->fd);
}

#endif /* EC2T_FUZZ_FILE_H */
