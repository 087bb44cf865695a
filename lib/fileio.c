/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio-private.h"

struct ec2t__atomic_file {
    ec2t_context *ctx;
    int fd;
    char *path;     /* the target */
    char *tmp_path; /* path + ".tmp-XXXXXX" */
};

ec2t_status
ec2t__load_check(ec2t_context *ctx, uint64_t bytes, const char *what)
{
    if (ctx->load_limit <= 0 || bytes <= (uint64_t)ctx->load_limit)
        return EC2T_OK;
    return ec2t__error(ctx, EC2T_E_NOMEM,
                       "%s would need %llu bytes of memory, more than the context's "
                       "EC2T_CTX_LOAD_LIMIT of %lld bytes",
                       what, (unsigned long long)bytes, (long long)ctx->load_limit);
}

ec2t_status
ec2t__read_file(ec2t_context *ctx, const char *path, size_t max_bytes, uint8_t **data,
                size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t size, got = 0;
    int fd;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ec2t__error(ctx, EC2T_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ec2t__error(ctx, EC2T_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
        close(fd);
        return ec2t__error(ctx, EC2T_E_FORMAT, "%s: %lld bytes is more than the %zu allowed",
                           path, (long long)st.st_size, max_bytes);
    }
    if (ec2t__load_check(ctx, (uint64_t)st.st_size, path) != EC2T_OK) {
        close(fd);
        return EC2T_E_NOMEM;
    }
    size = (size_t)st.st_size;
    buf = ec2t__alloc(ctx, size, 64);
    if (!buf) {
        close(fd);
        return ec2t__nomem(ctx, path);
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            ec2t__free(ctx, buf);
            return ec2t__error(ctx, EC2T_E_IO, "%s: read failed: %s", path,
                               n < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = size;
    return EC2T_OK;
}

static char *
dup_string(ec2t_context *ctx, const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    char *p = ec2t__alloc(ctx, a + b + 1, 1);
    if (p) {
        memcpy(p, s, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

ec2t_status
ec2t__atomic_open(ec2t_context *ctx, const char *path, ec2t__atomic_file **out)
{
    ec2t__atomic_file *f;
    *out = NULL;
    f = ec2t__calloc(ctx, 1, sizeof *f);
    if (!f)
        return ec2t__nomem(ctx, "file writer");
    f->ctx = ctx;
    f->fd = -1;
    f->path = dup_string(ctx, path, "");
    f->tmp_path = dup_string(ctx, path, ".tmp-XXXXXX");
    if (!f->path || !f->tmp_path) {
        ec2t__atomic_abort(f);
        return ec2t__nomem(ctx, "file name");
    }
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        ec2t_status st = ec2t__error(ctx, EC2T_E_IO, "%s: cannot create a temporary file: %s",
                                     path, strerror(errno));
        ec2t__free(ctx, f->tmp_path);
        f->tmp_path = NULL;
        ec2t__atomic_abort(f);
        return st;
    }
    /* mkstemp makes 0600 files; saved models should look like any new file. */
    {
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(f->fd, 0666 & ~mask);
    }
    *out = f;
    return EC2T_OK;
}

ec2t_status
ec2t__atomic_write(ec2t__atomic_file *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ec2t__error(f->ctx, EC2T_E_IO, "%s: write failed: %s", f->path,
                               n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
    }
    return EC2T_OK;
}

static void
fsync_parent_dir(const char *path)
{
    /* Makes the rename itself durable; failure only weakens durability. */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

ec2t_status
ec2t__atomic_commit(ec2t__atomic_file *f)
{
    ec2t_status st = EC2T_OK;
    if (fsync(f->fd) != 0)
        st = ec2t__error(f->ctx, EC2T_E_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && st == EC2T_OK)
        st = ec2t__error(f->ctx, EC2T_E_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    if (st == EC2T_OK && rename(f->tmp_path, f->path) != 0)
        st = ec2t__error(f->ctx, EC2T_E_IO, "%s: rename failed: %s", f->path, strerror(errno));
    if (st != EC2T_OK) {
        ec2t__atomic_abort(f);
        return st;
    }
    fsync_parent_dir(f->path);
    ec2t__free(f->ctx, f->tmp_path);
    f->tmp_path = NULL;
    ec2t__atomic_abort(f);
    return EC2T_OK;
}

void
ec2t__atomic_abort(ec2t__atomic_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp_path) {
        unlink(f->tmp_path);
        ec2t__free(f->ctx, f->tmp_path);
    }
    ec2t__free(f->ctx, f->path);
    ec2t__free(f->ctx, f);
}
