/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: online backups (store_backup). The copy is made with SQLite's backup API in
 * one step, inside one read transaction of the source: in WAL mode that transaction sees one
 * snapshot and does not block the server's writers, so the copy is consistent however busy the
 * store is. It is written to DEST.partial (0600), checked (quick_check), synced and renamed over
 * DEST, so DEST is always either the old file or a complete copy. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

/* fsync of path (a file or a directory). ERR_OK or ERR_IO. */
static int sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    int rc = fsync(fd) == 0 ? ERR_OK : ERR_IO;
    close(fd);
    return rc;
}

/* Whether a and b are the same existing file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Copies the source connection's main database into the file tmp (created 0600 beforehand) and
 * checks the copy. ERR_OK or ERR_BACKEND with the reason in eb. */
static int copy_into(sqlite3 *src, const char *tmp, struct errbuf *eb)
{
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        errf(eb, ERR_BACKEND, "to", "cannot open '%s': %s", tmp,
             dst ? sqlite3_errmsg(dst) : "no memory");
        sqlite3_close(dst);
        return ERR_BACKEND;
    }
    sqlite3_busy_timeout(dst, 5000);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        errf(eb, ERR_BACKEND, "to", "cannot start the backup: %s", sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return ERR_BACKEND;
    }
    /* -1: every page in one step, one read transaction on the source (one snapshot). BUSY and
     * LOCKED are retried: a checkpoint or a writer switching the WAL holds the source briefly. */
    for (int tries = 0; tries < 100; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(50);
    }
    int fin = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || fin != SQLITE_OK) {
        errf(eb, ERR_BACKEND, "db", "the backup failed: %s",
             sqlite3_errstr(rc != SQLITE_DONE ? rc : fin));
        sqlite3_close(dst);
        return ERR_BACKEND;
    }
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    bool ok = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
              strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    if (!ok)
        errf(eb, ERR_BACKEND, "db", "the copy does not pass quick_check: %s", sqlite3_errmsg(dst));
    /* Closing the last connection checkpoints the copy's WAL into its file and removes it. */
    if (sqlite3_close(dst) != SQLITE_OK && ok) {
        errf(eb, ERR_BACKEND, "to", "cannot close the copy '%s'", tmp);
        ok = false;
    }
    return ok ? ERR_OK : ERR_BACKEND;
}

int store_sqlite__backup(struct store *s, const char *dest, struct errbuf *eb)
{
    const char *path = store__sqlite(s)->path;
    if (store__missing(path))
        return errf(eb, ERR_NOTFOUND, "db", "database '%s' does not exist", path);
    if (!*dest)
        return errf(eb, ERR_INVALID, "to", "give the file to write the backup to");
    if (same_file(path, dest))
        return errf(eb, ERR_INVALID, "to", "'%s' is the database itself", dest);
    char tmp[4096], dir[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.partial", dest);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return errf(eb, ERR_INVALID, "to", "path too long");
    struct sconn *c = store__conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "cannot open database '%s'", path);
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) { /* a failed run's leftovers */
        char p[4200];
        snprintf(p, sizeof(p), "%s%s", tmp, sfx[i]);
        unlink(p);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errf(eb, ERR_IO, "to", "cannot create '%s': %s", tmp, strerror(errno));
    close(fd);
    int rc = copy_into(c->db, tmp, eb);
    if (rc == ERR_OK && sync_path(tmp, O_RDONLY) != ERR_OK)
        rc = errf(eb, ERR_IO, "to", "cannot sync '%s': %s", tmp, strerror(errno));
    if (rc == ERR_OK && rename(tmp, dest) != 0)
        rc = errf(eb, ERR_IO, "to", "cannot rename '%s' to '%s': %s", tmp, dest, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s", dest);
    sync_path(dirname(dir), O_RDONLY | O_DIRECTORY); /* the rename itself; best effort */
    return ERR_OK;
}
