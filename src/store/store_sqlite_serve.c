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
#include "base/testhooks.h"

/* Small, frequent checkpoints: a checkpoint's fsync of the database file delays the commits'
 * fsyncs of the WAL that queue behind it, so the less it has to flush the shorter the stall.
 * Measured (bench visits, 64 connections): every 100 ms and 8192 pages gave commits stalled
 * 8-16 ms several times a second and a p99 of 7-7.5 ms; every 25 ms and 4096 pages, a p99 of
 * 4.6-5.2 ms at the same throughput. */
#define CHECKPOINT_EVERY_MS 25
#define SERVE_CHECKPOINT_PAGES 4096 /* 16 MiB of WAL at 4 KiB pages */
/* A checkpoint that fails (read-only file, full disk) is retried after twice the previous wait,
 * up to this; the first success returns to CHECKPOINT_EVERY_MS. */
#define CHECKPOINT_BACKOFF_MAX_MS 5000

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
 * checkpoint) on this thread's connection. Returns a SQLite result code: SQLITE_OK, or SQLITE_BUSY
 * (readers in the way: not a failure), or the failure (out: *msg, static or the connection's). */
static int checkpoint(struct store *s, const char **msg)
{
    struct sconn *c = store__conn(s);
    if (!c) {
        *msg = "cannot open a connection";
        return SQLITE_CANTOPEN;
    }
    if (testhooks_fault(TESTHOOK_STORE_READONLY)) {
        *msg = sqlite3_errstr(SQLITE_READONLY);
        return SQLITE_READONLY;
    }
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    *msg = sqlite3_errmsg(c->db);
    return rc;
}

/* Waits up to ms on the checkpointer's condition variable (ck_mu held), or until woken to stop. */
static void checkpoint_wait(struct store_sqlite *sq, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&sq->ck_cv, &sq->ck_mu, &ts);
}

/* Checkpoints the WAL from its own thread (and core), so the writer never stalls copying pages
 * into the database file. Failures back off (doubling to CHECKPOINT_BACKOFF_MAX_MS) and are
 * logged once per STORE__LOG_EVERY_MS, with the count since the last line; recovery is logged
 * once. */
static void *checkpoint_loop(void *arg)
{
    struct store_sqlite *sq = arg;
    prctl(PR_SET_NAME, "od-checkpoint", 0, 0, 0);
    int64_t wait_ms = CHECKPOINT_EVERY_MS;
    uint64_t n_failed = 0;
    pthread_mutex_lock(&sq->ck_mu);
    while (!sq->ck_stop) {
        checkpoint_wait(sq, wait_ms);
        if (sq->ck_stop)
            break;
        pthread_mutex_unlock(&sq->ck_mu);
        const char *msg = "";
        int rc = checkpoint(&sq->base, &msg);
        if (rc == SQLITE_OK || rc == SQLITE_BUSY) {
            if (n_failed)
                log_info("store", "checkpoint works again after %" PRIu64 " failures", n_failed);
            n_failed = 0;
            wait_ms = CHECKPOINT_EVERY_MS;
        } else {
            atomic_fetch_add(&sq->base.errors, 1);
            n_failed++;
            wait_ms =
                wait_ms * 2 > CHECKPOINT_BACKOFF_MAX_MS ? CHECKPOINT_BACKOFF_MAX_MS : wait_ms * 2;
            uint64_t held;
            if (log_throttle_pass(&sq->ck_log, log_mono_ms(), STORE__LOG_EVERY_MS, &held))
                log_error("store",
                          "checkpoint failed: %s (%" PRIu64
                          " failures in a row; next try in %" PRId64 " ms, backing off to %d ms)",
                          msg, n_failed, wait_ms, CHECKPOINT_BACKOFF_MAX_MS);
        }
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
