/*
 * fileio.c — the file plumbing of checkpoints (torch.save, safetensors): atomic writes and
 * CRC-32.
 *
 * An lt_afile writes into a temporary file next to the target (same directory, so the final
 * rename stays inside one file system) and only lt_afile_commit makes it visible: flush,
 * fsync, rename over the target, fsync the directory. Until then the old file, if any, is
 * untouched, so a save that fails or is interrupted midway never leaves a partial file under
 * the target's name; lt_afile_abort removes the temporary. A writer killed before either
 * leaves its temporary behind: the next lt_afile_open of the same target removes those whose
 * writer (the pid in the name) is no longer running.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lt.h"

#define AFILE_BUFSZ (1 << 16)

struct lt_afile {
    int      fd;
    char    *path;       /* the target                                         */
    char    *tmp;        /* the temporary beside it                            */
    int64_t  written;    /* bytes handed to lt_afile_write so far              */
    size_t   nbuf;
    unsigned char buf[AFILE_BUFSZ];
};

uint32_t lt_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    /* zlib takes uInt lengths: feed huge blocks in pieces */
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32((uLong)crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* The directory part of path ("." when it has none); malloc'ed, NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* The pid in name when it is "<base>.tmp-<pid>-<n>" (what lt_afile_open makes for a target
 * named base), else 0. */
static pid_t temporary_pid(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp-", 5) != 0) return 0;
    const char *p = name + blen + 5, *q = p;
    long pid = 0;
    for (; *q >= '0' && *q <= '9' && pid <= INT_MAX; q++) pid = pid * 10 + (*q - '0');
    if (q == p || *q != '-' || pid > INT_MAX) return 0;
    const char *n = ++q;
    while (*q >= '0' && *q <= '9') q++;
    return q > n && *q == '\0' ? (pid_t)pid : 0;
}

/* Removes the temporaries of path left by writers killed mid-save (kill -9, a crash, power
 * loss). Only when kill(pid, 0) says that no such process exists (ESRCH): a live writer's
 * temporary, or one of this process, is never touched. Best effort: a directory that cannot
 * be read is left as it is (the open that follows reports what is wrong). */
static void remove_stale_temporaries(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base);
    char *dir = dir_of(path);
    DIR *d = blen && dir ? opendir(dir) : NULL;
    free(dir);
    if (!d) return;
    pid_t self = getpid();
    for (struct dirent *e; (e = readdir(d));) {
        pid_t pid = temporary_pid(e->d_name, base, blen);
        if (pid <= 0 || pid == self) continue;
        if (kill(pid, 0) != 0 && errno == ESRCH) (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Sets the error of a temporary that could not be created: it names the target, and a
 * missing directory as such. */
static int open_error(const char *path, int err)
{
    if (err == ENOENT || err == ENOTDIR) {
        char *dir = dir_of(path);
        struct stat st;
        int rc = LT_OK;
        if (dir && stat(dir, &st) != 0)
            rc = lt_error("cannot write '%s': directory '%s' does not exist", path, dir);
        else if (dir && !S_ISDIR(st.st_mode))
            rc = lt_error("cannot write '%s': '%s' is not a directory", path, dir);
        free(dir);
        if (rc != LT_OK) return rc;
    }
    return lt_error("cannot write '%s': %s", path, strerror(err));
}

lt_afile *lt_afile_open(const char *path)
{
    lt_afile *f = calloc(1, sizeof *f);
    size_t len = strlen(path);
    if (!f || !(f->path = malloc(len + 1)) || !(f->tmp = malloc(len + 40))) {
        if (f) free(f->path);
        free(f);
        lt_error("out of memory");
        return NULL;
    }
    memcpy(f->path, path, len + 1);
    remove_stale_temporaries(path);
    /* O_EXCL with a fresh name: never clobbers another writer's temporary. Mode 0666 lets
     * the umask decide the final permissions, as for any new file. */
    static unsigned counter;
    for (int attempt = 0;; attempt++) {
        snprintf(f->tmp, len + 40, "%s.tmp-%ld-%u", path, (long)getpid(),
                 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) ^ (unsigned)time(NULL));
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd >= 0) break;
        if (errno != EEXIST || attempt > 100) {
            open_error(path, errno);
            free(f->tmp);
            free(f->path);
            free(f);
            return NULL;
        }
    }
    return f;
}

static int write_all(lt_afile *f, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(f->fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return lt_error("cannot write '%s': %s", f->path, strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
    return LT_OK;
}

static int flush(lt_afile *f)
{
    if (f->nbuf == 0) return LT_OK;
    size_t n = f->nbuf;
    f->nbuf = 0;
    return write_all(f, f->buf, n);
}

int lt_afile_write(lt_afile *f, const void *data, size_t n)
{
    f->written += (int64_t)n;
    if (f->nbuf + n <= AFILE_BUFSZ) {   /* small records gather in the buffer */
        memcpy(f->buf + f->nbuf, data, n);
        f->nbuf += n;
        return LT_OK;
    }
    if (flush(f)) return LT_ERR;
    return write_all(f, data, n);       /* bulk data (tensor storages) goes straight out */
}

int64_t lt_afile_tell(const lt_afile *f) { return f->written; }

int lt_afile_pwrite(lt_afile *f, const void *data, size_t n, int64_t offset)
{
    if (flush(f)) return LT_ERR;
    const char *p = data;
    while (n > 0) {
        ssize_t k = pwrite(f->fd, p, n, (off_t)offset);
        if (k < 0) {
            if (errno == EINTR) continue;
            return lt_error("cannot write '%s': %s", f->path, strerror(errno));
        }
        p += k;
        n -= (size_t)k;
        offset += k;
    }
    return LT_OK;
}

static void afile_free(lt_afile *f)
{
    free(f->tmp);
    free(f->path);
    free(f);
}

void lt_afile_abort(lt_afile *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    unlink(f->tmp);
    afile_free(f);
}

/* fsync of the directory makes the rename itself durable; some file systems refuse to open
 * or sync a directory, which only weakens durability, so failures are ignored. */
static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int lt_afile_commit(lt_afile *f)
{
    if (flush(f)) goto fail;
    if (fsync(f->fd) != 0) {
        lt_error("cannot write '%s': %s (fsync)", f->path, strerror(errno));
        goto fail;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        lt_error("cannot write '%s': %s (close)", f->path, strerror(errno));
        goto fail;
    }
    if (rename(f->tmp, f->path) != 0) {
        int err = errno;
        struct stat st;
        lt_error("cannot write '%s': %s", f->path, stat(f->path, &st) == 0 &&
                 S_ISDIR(st.st_mode) ? "it is a directory" : strerror(err));
        goto fail;
    }
    sync_dir(f->path);
    afile_free(f);
    return LT_OK;
fail:
    lt_afile_abort(f);
    return LT_ERR;
}

int lt_read_file(const char *path, void **data, int64_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lt_error("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lt_error("cannot read %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lt_error("cannot read %s: %s", path,
                        S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n ? n : 1);
    if (!p) {
        close(fd);
        return lt_error("out of memory reading %s (%lld bytes)", path, (long long)n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got > (1u << 30) ? (1u << 30) : n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = errno;
            close(fd);
            free(p);
            return lt_error("cannot read %s: %s", path, k < 0 ? strerror(e) : "file shrank");
        }
        got += (size_t)k;
    }
    close(fd);
    *data = p;
    *size = (int64_t)n;
    return LT_OK;
}
