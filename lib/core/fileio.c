/* SPDX-License-Identifier: MIT */
/* The load limit, whole-file reads and atomic saves.
 *
 * A save writes path.tmp-XXXXXX (mkstemp) and renames it over path. A save
 * that is killed leaves its temporary behind, so every save of path removes
 * the temporaries of path that are dead. Which are dead: every save holds
 * an exclusive flock on its temporary from the moment it exists until after
 * the rename, and the kernel drops the lock when the process dies, so a
 * temporary that nobody holds locked belongs to no running save. A save
 * that finds its new temporary gone once it holds the lock (another save
 * judged it dead in that instant) makes another. Only names of exactly
 * that pattern for that target are considered. The one mistaken removal
 * left is the temporary of a running save by a libec2t that did not lock
 * it (before 0.1.0): that save then fails with EC2T_E_IO, and the target
 * is never touched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio-private.h"

struct ec2t__atomic_file {
    ec2t_context *ctx;
    int fd;
    char *path;     /* the target */
    char *tmp_path; /* path + ".tmp-XXXXXX" */
    int locked;     /* fd holds the flock that marks the temporary alive */
};

#define TMP_SUFFIX ".tmp-"
#define TMP_RANDOM 6 /* the XXXXXX that mkstemp replaces */
#define MAX_TMP_TRIES 16

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

/* The folder of path into dir ("." for a bare name); 0 if it does not fit. */
static int
parent_dir(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0)
        n = 1; /* "/name": the root */
    if (n >= cap)
        return 0;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    return 1;
}

static void
fsync_parent_dir(const char *path)
{
    /* Makes the rename itself durable; failure only weakens durability. */
    char dir[4096];
    int fd;
    if (!parent_dir(path, dir, sizeof dir))
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* 1 if name is base + ".tmp-" + the six characters mkstemp puts there. */
static int
is_temporary_of(const char *name, const char *base, size_t base_len)
{
    const char *r = name + base_len + strlen(TMP_SUFFIX);
    if (strncmp(name, base, base_len) != 0 ||
        strncmp(name + base_len, TMP_SUFFIX, strlen(TMP_SUFFIX)) != 0 || strlen(r) != TMP_RANDOM)
        return 0;
    for (int i = 0; i < TMP_RANDOM; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') ||
              (r[i] >= '0' && r[i] <= '9')))
            return 0;
    return 1;
}

/* Remove one temporary if no save holds it (see the top), and only if the
 * name still refers to the file that was found unlocked. */
static void
remove_if_dead(int dir_fd, const char *name)
{
    struct stat a, b;
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return;
    if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        (void)unlinkat(dir_fd, name, 0);
    close(fd);
}

/* The dead temporaries of f->path, left by saves that were killed. Best
 * effort: a folder that cannot be listed keeps them. */
static void
remove_stale_temporaries(const ec2t__atomic_file *f)
{
    const char *slash = strrchr(f->path, '/'), *base = slash ? slash + 1 : f->path;
    char dir[4096];
    struct dirent *e;
    DIR *d;
    if (!parent_dir(f->path, dir, sizeof dir) || !(d = opendir(dir)))
        return;
    while ((e = readdir(d)) != NULL)
        if (is_temporary_of(e->d_name, base, strlen(base)))
            remove_if_dead(dirfd(d), e->d_name);
    closedir(d);
}

/* Create the temporary and lock it. If another save removed it before the
 * lock was ours (it looked dead), make another. A file system without flock
 * gets an unlocked temporary, and no cleanup (nothing tells dead from alive). */
static ec2t_status
create_temporary(ec2t__atomic_file *f)
{
    size_t n = strlen(f->tmp_path);
    struct stat a, b;
    for (int tries = 0; tries < MAX_TMP_TRIES; tries++) {
        memcpy(f->tmp_path + n - TMP_RANDOM, "XXXXXX", TMP_RANDOM);
        f->fd = mkstemp(f->tmp_path);
        if (f->fd < 0)
            return ec2t__error(f->ctx, EC2T_E_IO, "%s: cannot create a temporary file: %s",
                               f->path, strerror(errno));
        if (flock(f->fd, LOCK_EX) != 0)
            return EC2T_OK;
        if (fstat(f->fd, &a) == 0 && stat(f->tmp_path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            f->locked = 1;
            return EC2T_OK;
        }
        close(f->fd);
        f->fd = -1;
    }
    return ec2t__error(f->ctx, EC2T_E_IO, "%s: temporary files vanish as they are made", f->path);
}

ec2t_status
ec2t__atomic_open(ec2t_context *ctx, const char *path, ec2t__atomic_file **out)
{
    ec2t__atomic_file *f;
    ec2t_status st;
    *out = NULL;
    f = ec2t__calloc(ctx, 1, sizeof *f);
    if (!f)
        return ec2t__nomem(ctx, "file writer");
    f->ctx = ctx;
    f->fd = -1;
    f->path = dup_string(ctx, path, "");
    f->tmp_path = dup_string(ctx, path, TMP_SUFFIX "XXXXXX");
    if (!f->path || !f->tmp_path) {
        ec2t__atomic_abort(f);
        return ec2t__nomem(ctx, "file name");
    }
    if ((st = create_temporary(f)) != EC2T_OK) {
        ec2t__free(ctx, f->tmp_path);
        f->tmp_path = NULL;
        ec2t__atomic_abort(f);
        return st;
    }
    if (f->locked)
        remove_stale_temporaries(f);
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

ec2t_status
ec2t__atomic_commit(ec2t__atomic_file *f)
{
    ec2t_status st = EC2T_OK;
    if (fsync(f->fd) != 0)
        st = ec2t__error(f->ctx, EC2T_E_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    /* Rename while the lock is held: once it is released, the temporary's
     * name must be gone, or another save could take it for a dead one. */
    if (st == EC2T_OK && rename(f->tmp_path, f->path) != 0)
        st = ec2t__error(f->ctx, EC2T_E_IO, "%s: rename failed: %s", f->path, strerror(errno));
    if (st != EC2T_OK) {
        ec2t__atomic_abort(f);
        return st;
    }
    /* the data is on disk (fsync); close cannot lose it any more */
    (void)close(f->fd);
    f->fd = -1;
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
    /* unlink first: the lock must outlive the temporary's name */
    if (f->tmp_path) {
        unlink(f->tmp_path);
        ec2t__free(f->ctx, f->tmp_path);
    }
    if (f->fd >= 0)
        close(f->fd);
    ec2t__free(f->ctx, f->path);
    ec2t__free(f->ctx, f);
}
