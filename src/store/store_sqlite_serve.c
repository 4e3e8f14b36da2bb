/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, serving: what the one process that serves a database file does beside its
 * queries (store_serve_begin): it holds an exclusive lock on PATH.lock so no second server opens
 * the same file, decides leases in memory (store_sqlite_lease.c), checkpoints the WAL from its
 * own thread, and sizes its connections' automatic checkpoints. Nothing of this is visible above
 * the ops table. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* Small, frequent checkpoints: a checkpoint's fsync of the database file delays the commits'
 * fsyncs of the WAL that queue behind it, so the less it has to flush the shorter the stall.
 * Measured (bench visits, 64 connections): every 100 ms and 8192 pages gave commits stalled
 * 8-16 ms several times a second and a p99 of 7-7.5 ms; every 25 ms and 4096 pages, a p99 of
 * 4.6-5.2 ms at the same throughput. */
#define CHECKPOINT_EVERY_MS 25
#define SERVE_CHECKPOINT_PAGES 4096 /* 16 MiB of WAL at 4 KiB pages */

/* The checkpointer thread copies WAL pages to the database as they come; but with a writer that
 * never pauses its passive checkpoints never finish, and the log would never restart. So the
 * committing connections checkpoint too, rarely: by then nearly every page is already copied,
 * the remainder is small, and as no commit runs meanwhile it completes and the WAL restarts. */
void store__serve_tune(sqlite3 *db)
{
    sqlite3_wal_autocheckpoint(db, SERVE_CHECKPOINT_PAGES);
}

/* ---- the lock file ---- */

/* Reads the pid a lock holder wrote (0 if unreadable). */
static long lock_holder(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* Not the database file itself: closing any descriptor of that file would drop SQLite's POSIX
 * locks on it. */
static int lock_take(struct store_sqlite *sq, struct errbuf *eb)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s.lock", sq->path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return errf(eb, ERR_IO, "db", "cannot open lock file '%s': %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? lock_holder(fd) : 0;
        close(fd);
        if (e != EWOULDBLOCK)
            return errf(eb, ERR_IO, "db", "cannot lock '%s': %s", path, strerror(e));
        if (pid)
            return errf(eb, ERR_CONFLICT, "db",
                        "database '%s' is already served by another opendni (pid %ld, lock '%s')",
                        sq->path, pid, path);
        return errf(eb, ERR_CONFLICT, "db",
                    "database '%s' is already served by another opendni (lock '%s')", sq->path,
                    path);
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        log_warn("store", "cannot write the pid to '%s': %s", path, strerror(errno));
    sq->lock_fd = fd;
    return ERR_OK;
}

static void lock_release(struct store_sqlite *sq)
{
    if (sq->lock_fd < 0)
        return;
    if (ftruncate(sq->lock_fd, 0) != 0) /* no stale pid for the next reader */
        log_warn("store", "cannot clear the lock file of '%s'", sq->path);
    close(sq->lock_fd); /* releases the flock */
    sq->lock_fd = -1;
}

/* ---- the checkpointer ---- */

/* Moves committed WAL content into the database file without blocking writers (a passive
 * checkpoint) on this thread's connection. */
static void checkpoint(struct store *s)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        store__err(c, rc, "checkpoint");
}

/* Checkpoints the WAL from its own thread (and core), so the writer never stalls copying pages
 * into the database file. */
static void *checkpoint_loop(void *arg)
{
    struct store_sqlite *sq = arg;
    prctl(PR_SET_NAME, "od-checkpoint", 0, 0, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&sq->ck_mu);
    while (!sq->ck_stop) {
        ts.tv_nsec += CHECKPOINT_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sq->ck_cv, &sq->ck_mu, &ts);
        pthread_mutex_unlock(&sq->ck_mu);
        checkpoint(&sq->base);
        pthread_mutex_lock(&sq->ck_mu);
    }
    pthread_mutex_unlock(&sq->ck_mu);
    return NULL;
}

/* ---- begin / end ---- */

int store_sqlite__serve_begin(struct store *s, int64_t now, struct errbuf *eb)
{
    struct store_sqlite *sq = store__sqlite(s);
    if (atomic_load(&sq->serving))
        return errf(eb, ERR_INVALID, "db", "store '%s' is already serving", sq->path);
    int rc = lock_take(sq, eb);
    if (rc)
        return rc;
    rc = store__leases_load(s, now, &sq->leases);
    if (rc) {
        lock_release(sq);
        return errf(eb, rc, "db", "cannot rebuild the lease engines from '%s'", sq->path);
    }
    struct sconn *c = store__conn(s); /* this thread's connection may predate serving */
    if (c)
        store__serve_tune(c->db);
    pthread_mutex_init(&sq->ck_mu, NULL);
    pthread_cond_init(&sq->ck_cv, NULL);
    sq->ck_stop = false;
    if (pthread_create(&sq->checkpointer, NULL, checkpoint_loop, sq) != 0) {
        log_error("store", "cannot start the checkpointer thread");
        abort();
    }
    atomic_store(&sq->serving, true);
    return ERR_OK;
}

void store__serve_end(struct store_sqlite *sq)
{
    if (!atomic_load(&sq->serving))
        return;
    pthread_mutex_lock(&sq->ck_mu);
    sq->ck_stop = true;
    pthread_cond_signal(&sq->ck_cv);
    pthread_mutex_unlock(&sq->ck_mu);
    pthread_join(sq->checkpointer, NULL);
    pthread_mutex_destroy(&sq->ck_mu);
    pthread_cond_destroy(&sq->ck_cv);
    store__leases_free(sq->leases);
    sq->leases = NULL;
    lock_release(sq);
    atomic_store(&sq->serving, false);
}
