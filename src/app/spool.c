/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The durable local spool (see spool.h): numbered segment files of newline-ended records in a
 * locked directory; appends are written and fdatasync'ed under one mutex, replays read sealed
 * segments whole and delete them once taken.
 * THREADING: sp->mu guards the segment being appended to, the counters and the replay's
 * bookkeeping of which segments exist; it is never held while a replay callback runs nor
 * during an fdatasync (one appender syncs for every record written before it started; the
 * others wait on `synced`). */
#include "base/prelude.h"
#include "app/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"

#define SUFFIX ".spool"

struct spool {
    char dir[PATH_MAX];
    int lock_fd;
    int dir_fd;
    pthread_mutex_t mu;
    int fd;              /* the segment appends go to, -1 until the first append after a seal */
    uint64_t cur_seq;    /* its number */
    off_t cur_size;      /* its size */
    uint64_t first_seq;  /* the oldest segment that may still exist */
    uint64_t replay_seq; /* a replay stopped in this segment … */
    size_t replay_off;   /* … at this offset */
    /* Group sync: records written and synced so far (counts), the synced size of the current
     * segment, whether a leader is syncing, and the epoch a failed sync ends. */
    uint64_t written_seq, synced_seq;
    off_t synced_size;
    bool syncing;
    uint64_t epoch;
    pthread_cond_t synced;
    struct spool_stats st;
};

/* ---- files ---- */

static void seg_path(const struct spool *sp, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%012" PRIu64 SUFFIX, sp->dir, seq);
}

/* mkdir -p, mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* The whole file at path (NUL-terminated). ERR_OK, ERR_NOTFOUND, ERR_IO. */
static int read_all(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return ERR_IO;
    }
    size_t cap = (size_t)st.st_size;
    char *buf = xmalloc(cap + 1);
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ERR_OK;
}

/* Complete lines of a segment's text and their bytes (newlines included). */
static void count_lines(const char *data, size_t len, uint64_t *lines, uint64_t *bytes)
{
    const char *end = data;
    for (const char *p = data; (p = memchr(p, '\n', len - (size_t)(p - data))) != NULL; p++) {
        (*lines)++;
        end = p + 1;
    }
    *bytes += (uint64_t)(end - data);
}

/* ---- opening ---- */

static int take_lock(struct spool *sp, struct errbuf *eb)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/lock", sp->dir);
    sp->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lock_fd < 0)
        return errf(eb, ERR_IO, "spool-dir", "cannot open '%s': %s", path, strerror(errno));
    if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(sp->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
        return errf(eb, ERR_CONFLICT, "spool-dir",
                    "spool directory '%s' is in use by another opendni (pid %s): give each "
                    "node its own --spool-dir",
                    sp->dir, pid[0] ? pid : "unknown");
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(sp->lock_fd, 0) != 0 || pwrite(sp->lock_fd, pid, (size_t)n, 0) != n)
        return errf(eb, ERR_IO, "spool-dir", "cannot write '%s': %s", path, strerror(errno));
    return ERR_OK;
}

/* Finds the segments an earlier run left: their range, records, bytes and age. */
static int scan(struct spool *sp, struct errbuf *eb)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return errf(eb, ERR_IO, "spool-dir", "cannot read '%s': %s", sp->dir, strerror(errno));
    uint64_t lo = UINT64_MAX, hi = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        unsigned long long seq = strtoull(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, SUFFIX) != 0 || seq == 0)
            continue;
        lo = seq < lo ? seq : lo;
        hi = seq > hi ? seq : hi;
    }
    closedir(d);
    sp->cur_seq = hi + 1;
    sp->first_seq = lo == UINT64_MAX ? sp->cur_seq : lo;
    for (uint64_t seq = sp->first_seq; seq < sp->cur_seq; seq++) {
        char path[PATH_MAX + 32];
        seg_path(sp, seq, path, sizeof(path));
        char *data = NULL;
        size_t len = 0;
        struct stat st;
        if (read_all(path, &data, &len) != ERR_OK)
            continue;
        uint64_t before = sp->st.records;
        count_lines(data, len, &sp->st.records, &sp->st.bytes);
        free(data);
        /* the oldest record is at least as old as its segment's last write */
        if (sp->st.records > before && !sp->st.oldest_at && stat(path, &st) == 0)
            sp->st.oldest_at = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    return ERR_OK;
}

int spool_open(const char *dir, struct spool **out, struct errbuf *eb)
{
    if (!dir || !dir[0] || strlen(dir) >= PATH_MAX - 32)
        return errf(eb, ERR_INVALID, "spool-dir", "bad spool directory '%s'", dir ? dir : "");
    if (make_dirs(dir) != 0)
        return errf(eb, ERR_IO, "spool-dir", "cannot create '%s': %s", dir, strerror(errno));
    struct spool *sp = xcalloc(1, sizeof(*sp));
    snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
    sp->fd = -1;
    sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->synced, NULL);
    int rc = sp->dir_fd < 0
                 ? errf(eb, ERR_IO, "spool-dir", "cannot open '%s': %s", dir, strerror(errno))
                 : take_lock(sp, eb);
    if (rc == ERR_OK)
        rc = scan(sp, eb);
    if (rc) {
        spool_close(sp);
        return rc;
    }
    if (sp->st.records)
        log_warn("spool",
                 "%" PRIu64 " records in '%s' from an earlier run: they are written to "
                 "the store once it answers",
                 sp->st.records, dir);
    *out = sp;
    return ERR_OK;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->lock_fd > 0)
        close(sp->lock_fd); /* releases the flock */
    if (sp->dir_fd >= 0)
        close(sp->dir_fd);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->synced);
    free(sp);
}

/* ---- appending ---- */

/* Opens the segment appends go to, and makes its name durable. Caller holds mu. */
static int open_segment(struct spool *sp)
{
    char path[PATH_MAX + 32];
    seg_path(sp, sp->cur_seq, path, sizeof(path));
    sp->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->fd < 0)
        return ERR_IO;
    struct stat st;
    sp->cur_size = fstat(sp->fd, &st) == 0 ? st.st_size : 0;
    sp->synced_size = sp->cur_size;
    if (fsync(sp->dir_fd) != 0) {
        close(sp->fd);
        sp->fd = -1;
        return ERR_IO;
    }
    return ERR_OK;
}

/* Syncs what was written up to now as the group's leader (mu held, dropped during the sync):
 * every record written before the sync started is durable after it, so concurrent appends
 * share one fdatasync. A failed sync cuts everything it covered (and any later write) and
 * starts a new epoch: their appends fail. */
static void sync_group(struct spool *sp)
{
    sp->syncing = true;
    uint64_t target = sp->written_seq;
    off_t size = sp->cur_size;
    int fd = sp->fd;
    pthread_mutex_unlock(&sp->mu);
    int r = fdatasync(fd);
    int err = errno;
    pthread_mutex_lock(&sp->mu);
    sp->syncing = false;
    if (r == 0) {
        sp->st.records += target - sp->synced_seq;
        sp->st.appended += target - sp->synced_seq;
        sp->st.bytes += (uint64_t)(size - sp->synced_size);
        if (!sp->st.oldest_at && target > sp->synced_seq)
            sp->st.oldest_at = time_now_ms();
        sp->synced_seq = target;
        sp->synced_size = size;
    } else {
        log_error("spool", "cannot sync the spool in '%s': %s", sp->dir, strerror(err));
        if (ftruncate(fd, sp->synced_size) != 0)
            log_error("spool", "cannot cut unsynced records from '%s': %s", sp->dir,
                      strerror(errno));
        sp->cur_size = sp->synced_size;
        sp->written_seq = sp->synced_seq;
        sp->epoch++;
    }
    pthread_cond_broadcast(&sp->synced);
}

static int append_locked(struct spool *sp, const char *rec, size_t len)
{
    if (sp->fd < 0 && open_segment(sp) != ERR_OK)
        return ERR_IO;
    static char newline[] = "\n";
    struct iovec iov[2] = {{(void *)rec, len}, {newline, 1}};
    ssize_t n = writev(sp->fd, iov, 2);
    if (n != (ssize_t)len + 1) {
        /* nothing of it stays: a later record must not follow a torn line */
        if (n > 0 && ftruncate(sp->fd, sp->cur_size) != 0)
            log_error("spool", "cannot cut a failed record from '%s': %s", sp->dir,
                      strerror(errno));
        return ERR_IO;
    }
    sp->cur_size += n;
    uint64_t mine = ++sp->written_seq;
    uint64_t epoch = sp->epoch;
    for (;;) {
        if (sp->epoch != epoch)
            return ERR_IO; /* the sync that covered it failed */
        if (sp->synced_seq >= mine)
            return ERR_OK;
        if (!sp->syncing)
            sync_group(sp);
        else
            pthread_cond_wait(&sp->synced, &sp->mu);
    }
}

int spool_append(struct spool *sp, const char *rec, size_t len)
{
    if (len > SPOOL_RECORD_MAX || memchr(rec, '\n', len))
        return ERR_TOOBIG;
    pthread_mutex_lock(&sp->mu);
    int rc = append_locked(sp, rec, len);
    int err = errno;
    if (rc)
        sp->st.failed++;
    pthread_mutex_unlock(&sp->mu);
    if (rc)
        log_error("spool", "cannot append to the spool in '%s': %s", sp->dir, strerror(err));
    return rc;
}

/* ---- replaying ---- */

/* Hands the complete lines of data[*off, len) to fn; *off ends after the last one taken. */
static int replay_lines(struct spool *sp, char *data, size_t len, size_t *off, spool_fn fn,
                        void *ctx, uint64_t *n_taken)
{
    while (*off < len) {
        char *nl = memchr(data + *off, '\n', len - *off);
        if (!nl)
            return ERR_OK; /* a line cut by a crash: never acknowledged */
        *nl = '\0';
        int rc = fn(ctx, data + *off);
        *nl = '\n';
        if (rc)
            return rc;
        size_t n = (size_t)(nl + 1 - (data + *off));
        *off += n;
        (*n_taken)++;
        pthread_mutex_lock(&sp->mu);
        sp->st.records -= sp->st.records ? 1 : 0;
        sp->st.bytes -= sp->st.bytes >= n ? n : sp->st.bytes;
        sp->st.replayed++;
        pthread_mutex_unlock(&sp->mu);
    }
    return ERR_OK;
}

/* Replays one sealed segment and removes it once every record was taken. */
static int replay_segment(struct spool *sp, uint64_t seq, spool_fn fn, void *ctx, uint64_t *n_taken)
{
    char path[PATH_MAX + 32];
    seg_path(sp, seq, path, sizeof(path));
    char *data = NULL;
    size_t len = 0;
    int rc = read_all(path, &data, &len);
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc) {
        log_error("spool", "cannot read spool segment '%s': %s", path, strerror(errno));
        return ERR_IO;
    }
    size_t off = sp->replay_seq == seq ? sp->replay_off : 0;
    rc = replay_lines(sp, data, len, &off, fn, ctx, n_taken);
    free(data);
    if (rc) {
        sp->replay_seq = seq;
        sp->replay_off = off;
        return rc;
    }
    if (unlink(path) != 0 || fsync(sp->dir_fd) != 0) {
        log_error("spool", "cannot remove spool segment '%s': %s", path, strerror(errno));
        return ERR_IO;
    }
    return ERR_OK;
}

int spool_replay(struct spool *sp, spool_fn fn, void *ctx, uint64_t *n_taken)
{
    uint64_t taken = 0;
    pthread_mutex_lock(&sp->mu);
    while (sp->syncing || sp->synced_seq != sp->written_seq) /* its last group is synced */
        pthread_cond_wait(&sp->synced, &sp->mu);
    if (sp->fd >= 0) { /* seal: appends from now on go to the next segment */
        close(sp->fd);
        sp->fd = -1;
        sp->cur_seq++;
    }
    uint64_t last = sp->cur_seq; /* exclusive */
    pthread_mutex_unlock(&sp->mu);
    int rc = ERR_OK;
    for (uint64_t seq = sp->first_seq; seq < last && rc == ERR_OK; seq++) {
        rc = replay_segment(sp, seq, fn, ctx, &taken);
        if (rc == ERR_OK)
            sp->first_seq = seq + 1;
    }
    pthread_mutex_lock(&sp->mu);
    if (!sp->st.records)
        sp->st.oldest_at = 0;
    pthread_mutex_unlock(&sp->mu);
    if (n_taken)
        *n_taken = taken;
    return rc;
}

int spool_each(struct spool *sp, spool_fn fn, void *ctx)
{
    pthread_mutex_lock(&sp->mu);
    uint64_t last = sp->cur_seq; /* inclusive: the segment being appended to, if any */
    pthread_mutex_unlock(&sp->mu);
    for (uint64_t seq = sp->first_seq; seq <= last; seq++) {
        char path[PATH_MAX + 32];
        seg_path(sp, seq, path, sizeof(path));
        char *data = NULL;
        size_t len = 0;
        int rc = read_all(path, &data, &len);
        if (rc == ERR_NOTFOUND)
            continue;
        if (rc)
            return ERR_IO;
        size_t off = sp->replay_seq == seq ? sp->replay_off : 0;
        for (char *nl; off < len && (nl = memchr(data + off, '\n', len - off)) != NULL;) {
            *nl = '\0';
            fn(ctx, data + off);
            off = (size_t)(nl + 1 - data);
        }
        free(data);
    }
    return ERR_OK;
}

void spool_stats(struct spool *sp, struct spool_stats *out)
{
    pthread_mutex_lock(&sp->mu);
    *out = sp->st;
    pthread_mutex_unlock(&sp->mu);
}

const char *spool_dir(const struct spool *sp)
{
    return sp->dir;
}
