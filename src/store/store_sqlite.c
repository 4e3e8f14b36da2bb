/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, part 1: opening, per-thread connections, statement cache, migrations and
 * transactions. WAL with synchronous=FULL (a commit is on disk when it returns), foreign keys,
 * a busy timeout; prepared statements only. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "store/migrations.h"

#define BUSY_TIMEOUT_MS 5000

static atomic_uint_fast64_t next_serial = 1;

/* Each thread remembers a few (store, connection) pairs so lookups are a short scan. */
static _Thread_local struct {
    uint64_t serial;
    struct sconn *conn;
} tl_conns[4];

int store__err(struct sconn *c, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return ERR_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    atomic_fetch_add(&c->store->errors, 1);
    /* A store that cannot write fails every request the same way: one line per interval. */
    uint64_t held;
    if (log_throttle_pass(&store__sqlite(c->store)->err_log[rc & 0x1f], log_mono_ms(),
                          STORE__LOG_EVERY_MS, &held))
        log_error("store", "%s failed: %s%s%.0" PRIu64 "%s", what, sqlite3_errmsg(c->db),
                  held ? " (" : "", held, held ? " more like it since the last line)" : "");
    return ERR_BACKEND;
}

/* Before SQLite initializes: no global memory statistics (they put a process-wide mutex on every
 * allocation of every connection, and opendni never reads them). */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_db(const char *path, sqlite3 **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_error("store", "cannot open '%s': %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return ERR_BACKEND;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON;"
                      "PRAGMA cache_size=-16000; PRAGMA journal_size_limit=67108864;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        log_error("store", "cannot set up '%s': %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return ERR_BACKEND;
    }
    *out = db;
    return ERR_OK;
}

/* The test binary's store_readonly fault (base/testhooks.h): while it is on, the connection
 * refuses every write as SQLite does for a read-only file (PRAGMA query_only: "attempt to write
 * a readonly database"); switched off, it writes again. Production: one call returning false. */
static struct sconn *apply_faults(struct sconn *c)
{
    bool ro = testhooks_fault(TESTHOOK_STORE_READONLY);
    if (ro != c->query_only) {
        const char *sql = ro ? "PRAGMA query_only=1" : "PRAGMA query_only=0";
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK)
            c->query_only = ro;
    }
    return c;
}

struct sconn *store__conn(struct store *s)
{
    struct store_sqlite *sq = store__sqlite(s);
    for (size_t i = 0; i < ARRAY_SIZE(tl_conns); i++)
        if (tl_conns[i].serial == sq->serial)
            return apply_faults(tl_conns[i].conn);
    sqlite3 *db;
    if (open_db(sq->path, &db) != ERR_OK) {
        atomic_fetch_add(&s->errors, 1);
        return NULL;
    }
    if (atomic_load(&sq->serving))
        store__serve_tune(db);
    struct sconn *c = xcalloc(1, sizeof(*c));
    c->db = db;
    c->store = s;
    pthread_mutex_lock(&sq->mu);
    c->next = sq->conns;
    sq->conns = c;
    pthread_mutex_unlock(&sq->mu);
    /* Evict the oldest slot: its connection stays owned by its store and closes with it. */
    memmove(&tl_conns[1], &tl_conns[0], sizeof(tl_conns) - sizeof(tl_conns[0]));
    tl_conns[0].serial = sq->serial;
    tl_conns[0].conn = c;
    return apply_faults(c);
}

sqlite3_stmt *store__prep(struct sconn *c, const char *sql)
{
    for (size_t i = 0; i < c->n_stmts; i++) {
        if (c->stmts[i].sql == sql) {
            sqlite3_reset(c->stmts[i].st);
            sqlite3_clear_bindings(c->stmts[i].st);
            return c->stmts[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        store__err(c, SQLITE_ERROR, "prepare");
        return NULL;
    }
    if (c->n_stmts < STORE__MAX_STMTS) {
        c->stmts[c->n_stmts].sql = sql;
        c->stmts[c->n_stmts].st = st;
        c->n_stmts++;
    } else {
        log_warn("store", "statement cache full; raise STORE__MAX_STMTS");
    }
    return st;
}

int store__exec(struct sconn *c, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return ERR_BACKEND;
    int rc = sqlite3_step(st);
    int err = store__err(c, rc, what);
    sqlite3_reset(st);
    return err;
}

/* SQLITE_STATIC: no copy. Every store function steps its statement before it returns, while
 * the caller's strings are alive; store__prep clears the bindings before the next use. */
void store__bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

void store__bind_opt(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

void store__bind_id(sqlite3_stmt *st, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(st, i, id);
    else
        sqlite3_bind_null(st, i);
}

/* A bounded copy (what snprintf("%s") would write, without its cost: reports read some twenty
 * text columns per call). */
void store__col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    if (cap == 0)
        return;
    /* snprintf(dst, cap, "%s", v) without the format machinery (every text column of every
     * row read goes through here): up to the first NUL, truncated to cap - 1 bytes */
    const char *v = (const char *)sqlite3_column_text(st, i);
    size_t n = v ? strnlen(v, cap - 1) : 0;
    memcpy(dst, v ? v : "", n);
    dst[n] = '\0';
}

void store__new_ext_id(const char *prefix, char out[STORE_ID_MAX])
{
    id_new(prefix, 16, out, STORE_ID_MAX);
}

/* ---- lifecycle ---- */

/* Everything that is not a postgres:// URL is a file path. */
bool store_sqlite__handles(const char *url)
{
    return strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0;
}

/* Creates the directories of path that are missing, mode 0700 (only those: an existing
 * directory keeps its mode). ERR_OK or ERR_IO. */
static int make_dirs(const char *path, struct errbuf *eb)
{
    char dir[4096];
    int n = snprintf(dir, sizeof(dir), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return errf(eb, ERR_INVALID, "db", "database path too long");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return ERR_OK;
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return ERR_OK;
    int rc = make_dirs(dir, eb);
    if (rc == ERR_OK && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errf(eb, ERR_IO, "db", "cannot create directory '%s': %s", dir, strerror(errno));
    return rc;
}

/* The database holds provider secrets (sealed) and every visitor's data: a file opendni
 * creates is 0600, whatever the umask, and SQLite gives its -wal and -shm files the mode of the
 * database file. Special names (":memory:", "file:" URIs) are left to SQLite. */
static int create_private(const char *path, struct errbuf *eb)
{
    if (!*path || *path == ':' || strncmp(path, "file:", 5) == 0)
        return ERR_OK;
    int rc = make_dirs(path, eb);
    if (rc)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    else if (errno != EEXIST)
        return errf(eb, ERR_IO, "db", "cannot create database '%s': %s", path, strerror(errno));
    return ERR_OK;
}

bool store__missing(const char *path)
{
    struct stat st;
    return *path && *path != ':' && strncmp(path, "file:", 5) != 0 && stat(path, &st) != 0 &&
           errno == ENOENT;
}

/* A store that does not exist yet is opened without being created (store_migrate creates it,
 * store_check reports it), so a command that only reads leaves no empty file behind. */
int store_sqlite__open(const char *url, struct store **out, struct errbuf *eb)
{
    sqlite3 *db;
    if (!store__missing(url)) {
        if (open_db(url, &db) != ERR_OK)
            return errf(eb, ERR_BACKEND, "db",
                        "cannot open database '%s' (not a SQLite database, or damaged?)", url);
        sqlite3_close(db);
    }
    struct store_sqlite *sq = xcalloc(1, sizeof(*sq));
    sq->base.ops = &store_sqlite_ops;
    sq->path = xstrdup(url);
    sq->serial = atomic_fetch_add(&next_serial, 1);
    pthread_mutex_init(&sq->mu, NULL);
    sq->lock_fd = -1;
    *out = &sq->base;
    return ERR_OK;
}

void store_sqlite__close(struct store *s)
{
    struct store_sqlite *sq = store__sqlite(s);
    store__serve_end(sq); /* first: the checkpointer uses a connection */
    struct sconn *c = sq->conns;
    while (c) {
        struct sconn *next = c->next;
        for (size_t i = 0; i < c->n_stmts; i++)
            sqlite3_finalize(c->stmts[i].st);
        sqlite3_close(c->db);
        free(c);
        c = next;
    }
    for (size_t i = 0; i < ARRAY_SIZE(tl_conns); i++)
        if (tl_conns[i].serial == sq->serial)
            tl_conns[i].serial = 0;
    pthread_mutex_destroy(&sq->mu);
    free(sq->path);
    free(sq);
}

/* Runs one fixed statement (sql must be a string constant: the cache keys on its address). */
static int run_fixed(struct store *s, const char *sql, const char *what)
{
    struct sconn *c = store__conn(s);
    return c ? store__exec(c, store__prep(c, sql), what) : ERR_BACKEND;
}

int store_sqlite__begin(struct store *s)
{
    return run_fixed(s, "BEGIN IMMEDIATE", "begin");
}

int store_sqlite__commit(struct store *s)
{
    return run_fixed(s, "COMMIT", "commit");
}

void store_sqlite__rollback(struct store *s)
{
    struct sconn *c = store__conn(s);
    if (c && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_sqlite__read_begin(struct store *s)
{
    return run_fixed(s, "BEGIN", "begin read");
}

void store_sqlite__read_end(struct store *s)
{
    struct sconn *c = store__conn(s);
    if (c && !sqlite3_get_autocommit(c->db))
        store_sqlite__commit(s); /* nothing was written: it cannot fail */
}

int store_sqlite__savepoint(struct store *s)
{
    return run_fixed(s, "SAVEPOINT item", "savepoint");
}

int store_sqlite__savepoint_release(struct store *s)
{
    return run_fixed(s, "RELEASE item", "release");
}

void store_sqlite__savepoint_rollback(struct store *s)
{
    run_fixed(s, "ROLLBACK TO item", "rollback to");
    store_sqlite__savepoint_release(s);
}

int store_sqlite__savepoints_max(struct store *s)
{
    (void)s;
    return INT_MAX;
}

/* ---- migrations ---- */

static int migration_version(const struct asset *m)
{
    const char *base = strrchr(m->path, '/');
    return (int)strtol(base ? base + 1 : m->path, NULL, 10);
}

static int current_version(struct sconn *c, int *version)
{
    int rc = sqlite3_exec(c->db,
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store__err(c, rc, "create schema_migrations");
    sqlite3_stmt *st = store__prep(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        return store__err(c, SQLITE_ERROR, "read schema version");
    *version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return ERR_OK;
}

/* Whether migration version v is recorded. Versions are applied by presence, not only above the
 * newest recorded one: a version numbered below one a store already has (branches merged out of
 * order, e.g. 0024 after 0025) is still applied. */
static int recorded(struct sconn *c, int v, bool *yes)
{
    sqlite3_stmt *st = store__prep(c, "SELECT 1 FROM schema_migrations WHERE version = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int(st, 1, v);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *yes = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "read migrations");
}

/* How many of the embedded migrations are recorded (out: *n). */
static int recorded_count(struct sconn *c, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < n_migrations; i++) {
        bool yes;
        if (recorded(c, migration_version(&migrations[i]), &yes) != ERR_OK)
            return ERR_BACKEND;
        *n += yes;
    }
    return ERR_OK;
}

static int apply_migration(struct sconn *c, const struct asset *m, int64_t now, struct errbuf *eb)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, (const char *)m->data, NULL, NULL, &msg);
    if (rc == SQLITE_OK) {
        sqlite3_stmt *st = store__prep(c, "INSERT INTO schema_migrations(version, applied_at)"
                                          " VALUES (?1, ?2)");
        if (st) {
            sqlite3_bind_int(st, 1, migration_version(m));
            sqlite3_bind_int64(st, 2, now);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset(st);
        } else {
            rc = SQLITE_ERROR;
        }
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        errf(eb, ERR_BACKEND, "db", "migration '%s' failed: %s", m->path,
             msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return ERR_BACKEND;
    }
    log_info("store", "applied migration %s", m->path);
    return ERR_OK;
}

/* init makes an existing database (and its -wal, -shm) private too: one created by an older
 * opendni was 0644. Only files this user owns; a failure is a warning, not a failed init. */
static void tighten_modes(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        if (stat(p, &st) != 0 || st.st_uid != geteuid() || !(st.st_mode & (S_IRWXG | S_IRWXO)))
            continue;
        if (chmod(p, st.st_mode & S_IRWXU) == 0)
            log_info("store", "'%s' was readable by others: now mode 0%o", p,
                     (unsigned)(st.st_mode & S_IRWXU));
        else
            log_warn("store", "cannot make '%s' private: %s", p, strerror(errno));
    }
}

int store_sqlite__migrate(struct store *s, int64_t now, int *version, struct errbuf *eb)
{
    int made = create_private(store__sqlite(s)->path, eb);
    if (made)
        return made;
    tighten_modes(store__sqlite(s)->path);
    struct sconn *c = store__conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "cannot open database '%s'", store__sqlite(s)->path);
    int have;
    if (current_version(c, &have) != ERR_OK)
        return errf(eb, ERR_BACKEND, "db", "cannot read the schema version of '%s'",
                    store__sqlite(s)->path);
    int newest = n_migrations ? migration_version(&migrations[n_migrations - 1]) : 0;
    if (have > newest)
        return errf(eb, ERR_CONFLICT, "db",
                    "database '%s' has schema version %d, newer than this opendni (%d); "
                    "upgrade opendni",
                    store__sqlite(s)->path, have, newest);
    for (size_t i = 0; i < n_migrations; i++) {
        bool yes;
        if (recorded(c, migration_version(&migrations[i]), &yes) != ERR_OK)
            return errf(eb, ERR_BACKEND, "db", "cannot read the migrations of '%s'",
                        store__sqlite(s)->path);
        if (yes)
            continue;
        int rc = apply_migration(c, &migrations[i], now, eb);
        if (rc)
            return rc;
        if (migration_version(&migrations[i]) > have)
            have = migration_version(&migrations[i]);
    }
    if (version)
        *version = have;
    return ERR_OK;
}

int store_sqlite__check(struct store *s, struct errbuf *eb)
{
    const char *path = store__sqlite(s)->path;
    if (store__missing(path))
        return errf(eb, ERR_NOTFOUND, "db",
                    "database '%s' does not exist: create it with opendni init --db %s", path,
                    path);
    struct sconn *c = store__conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    int have;
    if (current_version(c, &have) != ERR_OK)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    int newest = n_migrations ? migration_version(&migrations[n_migrations - 1]) : 0;
    size_t n = 0;
    if (have == newest && recorded_count(c, &n) != ERR_OK)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    if (have != newest || n != n_migrations)
        return errf(eb, ERR_CONFLICT, "db", "schema version %d, expected %d%s: run opendni init",
                    have, newest, have == newest ? " (an earlier migration is missing)" : "");
    return ERR_OK;
}

int store_sqlite__verify(struct store *s, bool full, struct errbuf *eb)
{
    const char *path = store__sqlite(s)->path;
    if (store__missing(path))
        return ERR_OK;
    struct sconn *c = store__conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "cannot open database '%s'", path);
    const char *sql = full ? "PRAGMA integrity_check(1)" : "PRAGMA quick_check(1)";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    const unsigned char *row = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    char what[160];
    snprintf(what, sizeof(what), "%s",
             row ? (const char *)row : sqlite3_errmsg(c->db)); /* before finalize frees it */
    sqlite3_finalize(st);
    if (row && strcmp(what, "ok") == 0)
        return ERR_OK;
    static const char head[] = "*** in database main ***";
    char *w = strncmp(what, head, sizeof(head) - 1) == 0 ? what + sizeof(head) - 1 : what;
    w += strspn(w, " \n");
    for (char *p = w; *p; p++) /* one line */
        if (*p == '\n')
            *p = ' ';
    return errf(eb, ERR_BACKEND, "db",
                "database '%s' is damaged (%s: %s); restore it from a backup "
                "(docs/operations.md)",
                path, full ? "integrity_check" : "quick_check", w);
}

/* The probe waits this long for the write lock (the writer holds it for a commit, milliseconds):
 * a readiness probe must answer quickly, so a store locked elsewhere counts as not ready. */
#define WRITABLE_WAIT_MS 1000

int store_sqlite__writable(struct store *s, int64_t now, struct errbuf *eb)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    sqlite3_busy_timeout(c->db, WRITABLE_WAIT_MS);
    int rc = store__exec(c, store__prep(c, "BEGIN IMMEDIATE"), "readiness begin");
    if (rc == ERR_OK) {
        sqlite3_stmt *st =
            store__prep(c, "INSERT INTO store_health(id, n_checks, checked_at) VALUES (1, 1, ?)"
                           " ON CONFLICT(id) DO UPDATE SET n_checks = store_health.n_checks + 1,"
                           " checked_at = excluded.checked_at");
        if (st)
            sqlite3_bind_int64(st, 1, now);
        rc = store__exec(c, st, "readiness write");
        if (rc == ERR_OK)
            rc = store__exec(c, store__prep(c, "COMMIT"), "readiness commit");
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (rc == ERR_OK)
        return ERR_OK;
    errf(eb, ERR_BACKEND, "db", "the store cannot commit: %s", sqlite3_errmsg(c->db));
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return ERR_BACKEND;
}

/* One process serves a SQLite file (store_serve_begin's lock) and its admin API invalidates
 * its own account snapshots; the CLI's changes show after the snapshots' time to live. */
int store_sqlite__config_version(struct store *s, int64_t *version)
{
    (void)s;
    *version = 0;
    return ERR_UNSUPPORTED;
}

/* One process serves a SQLite file: its events reach its own listeners directly. */
int store_sqlite__notify(struct store *s, const char *payload)
{
    (void)s;
    (void)payload;
    return ERR_UNSUPPORTED;
}

int store_sqlite__notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx)
{
    (void)s;
    (void)timeout_ms;
    (void)fn;
    (void)ctx;
    return ERR_UNSUPPORTED;
}

int store_sqlite__count(struct store *s, const char *table, int64_t *n)
{
    static const char *const tables[] = {"accounts", "api_keys",    "pools",  "numbers",
                                         "rules",    "sessions",    "leases", "events",
                                         "calls",    "conversions", "outbox", "outbox_events"};
    static const char *const sqls[] = {
        "SELECT COUNT(*) FROM accounts", "SELECT COUNT(*) FROM api_keys",
        "SELECT COUNT(*) FROM pools",    "SELECT COUNT(*) FROM numbers",
        "SELECT COUNT(*) FROM rules",    "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM leases",   "SELECT COUNT(*) FROM events",
        "SELECT COUNT(*) FROM calls",    "SELECT COUNT(*) FROM conversions",
        "SELECT COUNT(*) FROM outbox",   "SELECT COUNT(*) FROM outbox_events"};
    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        if (strcmp(table, tables[i]) != 0)
            continue;
        struct sconn *c = store__conn(s);
        sqlite3_stmt *st = c ? store__prep(c, sqls[i]) : NULL;
        if (!st || sqlite3_step(st) != SQLITE_ROW)
            return c ? store__err(c, SQLITE_ERROR, "count") : ERR_BACKEND;
        *n = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return ERR_OK;
    }
    return ERR_INVALID;
}

/* ---- the ops table ---- */

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .handles = store_sqlite__handles,
    .open = store_sqlite__open,
    .close = store_sqlite__close,
    .migrate = store_sqlite__migrate,
    .check = store_sqlite__check,
    .verify = store_sqlite__verify,
    .backup = store_sqlite__backup,
    .writable = store_sqlite__writable,
    .config_version = store_sqlite__config_version,
    .notify = store_sqlite__notify,
    .notify_wait = store_sqlite__notify_wait,
    .serve_begin = store_sqlite__serve_begin,
    .begin = store_sqlite__begin,
    .commit = store_sqlite__commit,
    .rollback = store_sqlite__rollback,
    .read_begin = store_sqlite__read_begin,
    .read_end = store_sqlite__read_end,
    .savepoint = store_sqlite__savepoint,
    .savepoint_release = store_sqlite__savepoint_release,
    .savepoint_rollback = store_sqlite__savepoint_rollback,
    .savepoints_max = store_sqlite__savepoints_max,
    .account_create = store_sqlite__account_create,
    .account_get = store_sqlite__account_get,
    .account_by_id = store_sqlite__account_by_id,
    .api_key_add = store_sqlite__api_key_add,
    .api_key_revoke_others = store_sqlite__api_key_revoke_others,
    .account_by_key = store_sqlite__account_by_key,
    .account_set_settings = store_sqlite__account_set_settings,
    .account_list = store_sqlite__account_list,
    .account_origins = store_sqlite__account_origins,
    .origin_exists = store_sqlite__origin_exists,
    .api_key_list = store_sqlite__api_key_list,
    .api_key_revoke = store_sqlite__api_key_revoke,
    .origin_add = store_sqlite__origin_add,
    .origin_delete = store_sqlite__origin_delete,
    .pool_create = store_sqlite__pool_create,
    .pool_get = store_sqlite__pool_get,
    .pool_by_id = store_sqlite__pool_by_id,
    .pool_update = store_sqlite__pool_update,
    .pool_delete = store_sqlite__pool_delete,
    .pool_list = store_sqlite__pool_list,
    .pool_set_counters = store_sqlite__pool_set_counters,
    .number_create = store_sqlite__number_create,
    .number_get = store_sqlite__number_get,
    .number_by_id = store_sqlite__number_by_id,
    .number_by_e164 = store_sqlite__number_by_e164,
    .number_update = store_sqlite__number_update,
    .number_delete = store_sqlite__number_delete,
    .number_list = store_sqlite__number_list,
    .rule_create = store_sqlite__rule_create,
    .rule_update = store_sqlite__rule_update,
    .rule_delete = store_sqlite__rule_delete,
    .rule_list = store_sqlite__rule_list,
    .session_put = store_sqlite__session_put,
    .session_get = store_sqlite__session_get,
    .session_by_id = store_sqlite__session_by_id,
    .lease_add = store_sqlite__lease_add,
    .visits_add = store_sqlite__visits_add,
    .lease_renew = store_sqlite__lease_renew,
    .lease_delete = store_sqlite__lease_delete,
    .session_leases = store_sqlite__session_leases,
    .session_held = store_sqlite__session_held,
    .lease_claim = store_sqlite__lease_claim,
    .lease_touch = store_sqlite__lease_touch,
    .lease_note = store_sqlite__lease_note,
    .lease_release = store_sqlite__lease_release,
    .lease_times = store_sqlite__lease_times,
    .pool_stats = store_sqlite__pool_stats,
    .lease_list_live = store_sqlite__lease_list_live,
    .lease_range = store_sqlite__lease_range,
    .lease_history = store_sqlite__lease_history,
    .event_add = store_sqlite__event_add,
    .event_last = store_sqlite__event_last,
    .event_list = store_sqlite__event_list,
    .page_view_add = store_sqlite__page_view_add,
    .page_view_list = store_sqlite__page_view_list,
    .event_last_detail = store_sqlite__event_last_detail,
    .count = store_sqlite__count,
    .call_insert = store_sqlite__call_insert,
    .call_by_provider = store_sqlite__call_by_provider,
    .call_get = store_sqlite__call_get,
    .call_by_id = store_sqlite__call_by_id,
    .call_update = store_sqlite__call_update,
    .call_recording_put = store_sqlite__call_recording_put,
    .call_list = store_sqlite__call_list,
    .call_caller = store_sqlite__call_caller,
    .call_session_credited = store_sqlite__call_session_credited,
    .conversion_add = store_sqlite__conversion_add,
    .conversion_by_call = store_sqlite__conversion_by_call,
    .pool_by_fallback = store_sqlite__pool_by_fallback,
    .call_outcome_get = store_sqlite__call_outcome_get,
    .call_outcome_put = store_sqlite__call_outcome_put,
    .route_doc_put = store_sqlite__route_doc_put,
    .route_doc_get = store_sqlite__route_doc_get,
    .route_doc_by_attach = store_sqlite__route_doc_by_attach,
    .route_doc_list = store_sqlite__route_doc_list,
    .route_doc_delete = store_sqlite__route_doc_delete,
    .route_counter_next = store_sqlite__route_counter_next,
    .publisher_put = store_sqlite__publisher_put,
    .call_payout_record = store_sqlite__call_payout_record,
    .publisher_get = store_sqlite__publisher_get,
    .publisher_list = store_sqlite__publisher_list,
    .publisher_delete = store_sqlite__publisher_delete,
    .call_route_put = store_sqlite__call_route_put,
    .call_route_get = store_sqlite__call_route_get,
    .call_route_list = store_sqlite__call_route_list,
    .route_counts = store_sqlite__route_counts,
    .provider_cred_set = store_sqlite__provider_cred_set,
    .provider_cred_get = store_sqlite__provider_cred_get,
    .provider_cred_find = store_sqlite__provider_cred_find,
    .provider_cred_list = store_sqlite__provider_cred_list,
    .report_calls = store_sqlite__report_calls,
    .report_conversions = store_sqlite__report_conversions,
    .report_sessions = store_sqlite__report_sessions,
    .report_cohort = store_sqlite__report_cohort,
    .report_session_calls = store_sqlite__report_session_calls,
    .spend_replace = store_sqlite__spend_replace,
    .spend_list = store_sqlite__spend_list,
    .export_trace = store_sqlite__export_trace,
    .user_create = store_sqlite__user_create,
    .user_get = store_sqlite__user_get,
    .user_by_id = store_sqlite__user_by_id,
    .user_set_password = store_sqlite__user_set_password,
    .user_delete = store_sqlite__user_delete,
    .user_list = store_sqlite__user_list,
    .membership_set = store_sqlite__membership_set,
    .membership_delete = store_sqlite__membership_delete,
    .membership_list = store_sqlite__membership_list,
    .app_session_create = store_sqlite__app_session_create,
    .app_session_get = store_sqlite__app_session_get,
    .app_session_update = store_sqlite__app_session_update,
    .app_session_delete = store_sqlite__app_session_delete,
    .app_session_delete_user = store_sqlite__app_session_delete_user,
    .app_session_purge = store_sqlite__app_session_purge,
    .audit_add = store_sqlite__audit_add,
    .audit_list = store_sqlite__audit_list,
    .destination_add = store_sqlite__destination_add,
    .destination_get = store_sqlite__destination_get,
    .destination_list = store_sqlite__destination_list,
    .destination_delete = store_sqlite__destination_delete,
    .destination_result = store_sqlite__destination_result,
    .destination_enable = store_sqlite__destination_enable,
    .destination_secret_set = store_sqlite__destination_secret_set,
    .outbox_add = store_sqlite__outbox_add,
    .outbox_publish = store_sqlite__outbox_publish,
    .outbox_batch_done = store_sqlite__outbox_batch_done,
    .outbox_claim = store_sqlite__outbox_claim,
    .outbox_claim_batch = store_sqlite__outbox_claim_batch,
    .outbox_finish = store_sqlite__outbox_finish,
    .outbox_requeue = store_sqlite__outbox_requeue,
    .outbox_get = store_sqlite__outbox_get,
    .delivery_list = store_sqlite__delivery_list,
    .alert_observe = store_sqlite__alert_observe,
    .erase = store_sqlite__erase,
    .erase_flush = store_sqlite__erase_flush,
    .erasure_list = store_sqlite__erasure_list,
    .purge = store_sqlite__purge,
    .traffic_add = store_sqlite__traffic_add,
    .traffic_sum = store_sqlite__traffic_sum,
    .feed_set = store_sqlite__feed_set,
    .feed_account = store_sqlite__feed_account,
    .feed_delete = store_sqlite__feed_delete,
    .numcfg_get = store_sqlite__numcfg_get,
    .numcfg_put = store_sqlite__numcfg_put,
    .autoscale_get = store_sqlite__autoscale_get,
    .autoscale_put = store_sqlite__autoscale_put,
    .autoscale_list = store_sqlite__autoscale_list,
    .intent_claim = store_sqlite__intent_claim,
    .intent_update = store_sqlite__intent_update,
    .intent_list = store_sqlite__intent_list,
    .intent_spend = store_sqlite__intent_spend,
    .number_action_add = store_sqlite__number_action_add,
    .number_action_list = store_sqlite__number_action_list,
    .number_usage = store_sqlite__number_usage,
    .job_claim = store_sqlite__job_claim,
};
