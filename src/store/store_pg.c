/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend, part 1: opening, per-thread connections, per-connection prepared
 * statements, parameters and columns, migrations, transactions and savepoints. The URL goes to
 * libpq as it is, so credentials come the usual libpq ways (.pgpass, PGPASSFILE, a service
 * file, PG* variables); a password in the URL works but is never logged or echoed. Prepared
 * statements only (PQprepare/PQexecPrepared), except the embedded migration scripts. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "store/migrations.h"

/* Held (per transaction) while migrating, so two `opendni init` at once apply each migration
 * once. */
#define MIGRATE_LOCK_KEY 0x6f646e69 /* "odni" */

static atomic_uint_fast64_t next_serial = 1;

/* Each thread remembers a few (store, connection) pairs so lookups are a short scan. */
static _Thread_local struct {
    uint64_t serial;
    struct pconn *conn;
} tl_conns[4];

/* A programming error (not an input error): log it and stop. */
static void bug(const char *what)
{
    log_error("store", "bug: %s", what);
    abort();
}

/* ---- parameters and columns ---- */

static const char **next_arg(struct pgargs *a)
{
    if (a->n >= STORE_PG__MAX_ARGS)
        bug("too many statement parameters");
    return &a->v[a->n++];
}

void store__pg_text(struct pgargs *a, const char *v)
{
    *next_arg(a) = v ? v : "";
}

void store__pg_opt(struct pgargs *a, const char *v)
{
    *next_arg(a) = v && *v ? v : NULL;
}

void store__pg_i64(struct pgargs *a, int64_t v)
{
    int i = a->n;
    snprintf(a->num[i], sizeof(a->num[i]), "%" PRId64, v);
    *next_arg(a) = a->num[i];
}

void store__pg_id(struct pgargs *a, int64_t id)
{
    if (id)
        store__pg_i64(a, id);
    else
        store__pg_null(a);
}

void store__pg_f64(struct pgargs *a, double v)
{
    int i = a->n;
    snprintf(a->num[i], sizeof(a->num[i]), "%.17g", v);
    *next_arg(a) = a->num[i];
}

void store__pg_null(struct pgargs *a)
{
    *next_arg(a) = NULL;
}

int64_t store__pg_col_i64(const PGresult *r, int row, int col)
{
    return store__pg_col_opt(r, row, col, 0);
}

int64_t store__pg_col_opt(const PGresult *r, int row, int col, int64_t none)
{
    if (PQgetisnull(r, row, col))
        return none;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double store__pg_col_f64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

bool store__pg_col_bool(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return false;
    const char *v = PQgetvalue(r, row, col);
    return v[0] == 't' || (v[0] >= '1' && v[0] <= '9');
}

/* A bounded copy (what snprintf("%s") would write, without its cost). */
void store__pg_col_text(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    if (n > cap - 1)
        n = cap - 1;
    const char *v = PQgetvalue(r, row, col);
    n = strnlen(v, n);
    memcpy(dst, v, n);
    dst[n] = '\0';
}

void store__pg_new_ext_id(const char *prefix, char out[STORE_ID_MAX])
{
    id_new(prefix, 16, out, STORE_ID_MAX);
}

/* ---- connections ---- */

/* A copy of url with the password of its user info (scheme://user:password@host) masked. */
static char *mask_url(const char *url)
{
    char *out = xstrdup(url);
    char *auth = strstr(out, "://");
    if (!auth)
        return out;
    auth += 3;
    char *end = auth + strcspn(auth, "/?");
    char *at = memchr(auth, '@', (size_t)(end - auth));
    char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        size_t tail = strlen(at) + 1;
        memmove(colon + 4, at, tail);
        memcpy(colon, ":***", 4);
    }
    return out;
}

/* Server notices (e.g. "relation already exists, skipping") are chatter, not errors. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("store", "postgres notice: %s", message);
}

/* Opens a connection; on failure, errf's eb with libpq's reason (it never contains the
 * password) and returns NULL. */
static PGconn *connect_db(struct store_pg *pg, struct errbuf *eb)
{
    /* Defaults a node needs, which the URL (expanded from dbname, after them) or PG* variables
     * override: a connection attempt to a host that went away gives up after 5 s instead of the
     * kernel's minutes, and an idle connection to a dead host is noticed within about a minute
     * (TCP keepalives; Unix sockets ignore them). */
    static const char *const keys[] = {"connect_timeout",  "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "dbname",          NULL};
    const char *vals[] = {getenv("PGCONNECT_TIMEOUT") ? getenv("PGCONNECT_TIMEOUT") : "5",
                          "30",
                          "10",
                          "3",
                          pg->url,
                          NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQsetNoticeProcessor(c, drop_notice, NULL);
        return c;
    }
    char why[256];
    snprintf(why, sizeof(why), "%s", c ? PQerrorMessage(c) : "out of memory");
    why[strcspn(why, "\n")] = '\0';
    errf(eb, ERR_BACKEND, "db", "cannot connect to '%s': %s", pg->safe_url, why);
    PQfinish(c);
    return NULL;
}

static struct pconn *conn_add(struct store_pg *pg, PGconn *db)
{
    struct pconn *c = xcalloc(1, sizeof(*c));
    c->pg = db;
    c->store = &pg->base;
    pthread_mutex_lock(&pg->mu);
    c->next = pg->conns;
    pg->conns = c;
    pg->n_conns++;
    pthread_mutex_unlock(&pg->mu);
    /* Evict the oldest slot: its connection stays owned by its store and closes with it. */
    memmove(&tl_conns[1], &tl_conns[0], sizeof(tl_conns) - sizeof(tl_conns[0]));
    tl_conns[0].serial = pg->serial;
    tl_conns[0].conn = c;
    return c;
}

static const char *prepare(struct pconn *c, const char *sql, char name[24]);

/* The test binary's store_readonly fault (base/testhooks.h): while it is on, the session's
 * transactions are read-only (default_transaction_read_only), so every write fails as on a
 * read-only standby ("cannot execute ... in a read-only transaction"); switched off, it writes
 * again. Applied between transactions only. Production: one call returning false. */
static struct pconn *apply_faults(struct pconn *c)
{
    bool ro = testhooks_fault(TESTHOOK_STORE_READONLY);
    if (ro == c->read_only || PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return c;
    const char *sql = ro ? "SELECT set_config('default_transaction_read_only', 'on', false)"
                         : "SELECT set_config('default_transaction_read_only', 'off', false)";
    char buf[24];
    const char *name = prepare(c, sql, buf);
    PGresult *r = name ? PQexecPrepared(c->pg, name, 0, NULL, NULL, NULL, 0) : NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        c->read_only = ro;
    PQclear(r);
    return c;
}

/* Re-opens a connection the server dropped (a restart, a failover, a network cut), at most once
 * per RECONNECT_EVERY_MS across the store's threads while the server stays unreachable. Its
 * prepared statements and settings died with the old session. Returns whether it is usable. */
#define RECONNECT_EVERY_MS 250
static bool reconnect(struct pconn *c)
{
    struct store_pg *pg = store__pg(c->store);
    int64_t now = log_mono_ms();
    if (now < atomic_load(&pg->retry_at))
        return false;
    PQreset(c->pg);
    c->n_stmts = 0;
    c->read_only = false;
    c->listening = false;
    if (PQstatus(c->pg) == CONNECTION_OK) {
        PQsetNoticeProcessor(c->pg, drop_notice, NULL);
        return true;
    }
    atomic_store(&pg->retry_at, now + RECONNECT_EVERY_MS);
    uint64_t held;
    if (log_throttle_pass(&pg->err_log[0], now, STORE_PG__LOG_EVERY_MS, &held)) {
        char why[256];
        snprintf(why, sizeof(why), "%s", PQerrorMessage(c->pg));
        why[strcspn(why, "\n")] = '\0';
        log_error("store",
                  "cannot reconnect to '%s': %s (%" PRIu64 " more failures since the "
                  "last line)",
                  pg->safe_url, why, held);
    }
    return false;
}

struct pconn *store__pg_conn(struct store *s)
{
    struct store_pg *pg = store__pg(s);
    for (size_t i = 0; i < ARRAY_SIZE(tl_conns); i++) {
        if (tl_conns[i].serial != pg->serial)
            continue;
        struct pconn *c = tl_conns[i].conn;
        if (PQstatus(c->pg) == CONNECTION_BAD) /* the server went away: try again */
            reconnect(c);
        return apply_faults(c);
    }
    pthread_mutex_lock(&pg->mu);
    bool full = pg->n_conns >= STORE_PG__MAX_CONNS;
    pthread_mutex_unlock(&pg->mu);
    struct errbuf eb = {{0}, NULL};
    PGconn *db = full ? NULL : connect_db(pg, &eb);
    if (!db) {
        atomic_fetch_add(&s->errors, 1);
        if (full)
            log_error("store", "no connection for this thread: %d are open (the most per store)",
                      STORE_PG__MAX_CONNS);
        else
            log_error("store", "%s", eb.msg);
        return NULL;
    }
    return apply_faults(conn_add(pg, db));
}

/* The name of sql's prepared statement on c, preparing it on first use; NULL on failure. */
static const char *prepare(struct pconn *c, const char *sql, char name[24])
{
    for (size_t i = 0; i < c->n_stmts; i++) {
        if (c->stmts[i] == sql) {
            snprintf(name, 24, "s%zu", i);
            return name;
        }
    }
    if (c->n_stmts >= STORE_PG__MAX_STMTS)
        bug("statement cache full; raise STORE_PG__MAX_STMTS");
    snprintf(name, 24, "s%zu", c->n_stmts);
    PGresult *r = PQprepare(c->pg, name, sql, 0, NULL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok && PQstatus(c->pg) != CONNECTION_BAD) /* a lost connection is reconnect's to log */
        log_error("store", "cannot prepare a statement: %s",
                  PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                      ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                      : PQerrorMessage(c->pg));
    PQclear(r);
    if (!ok)
        return NULL;
    c->stmts[c->n_stmts++] = sql;
    return name;
}

/* Maps a failed result: integrity constraints (SQLSTATE class 23) are conflicts; the rest is
 * counted and logged (the primary message only: details may quote values). */
static int result_err(struct pconn *c, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strncmp(state, "23", 2) == 0)
        return ERR_CONFLICT;
    atomic_fetch_add(&c->store->errors, 1);
    /* A database that cannot write fails every request the same way: one line per interval. */
    size_t slot = state && state[0] && state[1]
                      ? ((unsigned char)state[0] * 31u + (unsigned char)state[1]) % 31u + 1u
                      : 0;
    uint64_t held;
    if (!log_throttle_pass(&store__pg(c->store)->err_log[slot], log_mono_ms(),
                           STORE_PG__LOG_EVERY_MS, &held))
        return ERR_BACKEND;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char m[512];
    snprintf(m, sizeof(m), "%s", msg ? msg : PQerrorMessage(c->pg));
    m[strcspn(m, "\n")] = '\0';
    log_error("store", "%s failed: %s%s%s%s%.0" PRIu64 "%s", what, m, state ? " sqlstate=" : "",
              state ? state : "", held ? " (" : "", held,
              held ? " more like it since the last line)" : "");
    return ERR_BACKEND;
}

/* Prepares sql on c if needed and runs it: the result (check its status), or NULL when it
 * could not be prepared. */
static PGresult *run_prepared(struct pconn *c, const char *sql, const struct pgargs *a)
{
    if (PQstatus(c->pg) == CONNECTION_BAD)
        return NULL; /* no round trip: the server is known gone (reconnect logged it) */
    char buf[24];
    const char *name = prepare(c, sql, buf);
    if (!name)
        return NULL;
    return PQexecPrepared(c->pg, name, a ? a->n : 0, a ? a->v : NULL, NULL, NULL, 0 /* text */);
}

int store__pg_exec(struct store *s, const char *sql, const struct pgargs *a, PGresult **res,
                   const char *what)
{
    struct pconn *c = store__pg_conn(s);
    if (!c)
        return ERR_BACKEND;
    /* A statement that starts a unit of work (outside a transaction) on a connection the
     * server dropped since its last use (a restart) runs again once on a new connection: the
     * server never saw it, so the first request after PostgreSQL returns does not fail. */
    bool idle = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    PGresult *r = run_prepared(c, sql, a);
    if (!r && idle && PQstatus(c->pg) == CONNECTION_BAD && reconnect(c))
        r = run_prepared(c, sql, a);
    if (!r) {
        atomic_fetch_add(&s->errors, 1);
        return ERR_BACKEND;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && idle &&
        PQstatus(c->pg) == CONNECTION_BAD && reconnect(c)) {
        PQclear(r);
        r = run_prepared(c, sql, a);
        if (!r) {
            atomic_fetch_add(&s->errors, 1);
            return ERR_BACKEND;
        }
        st = PQresultStatus(r);
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = result_err(c, r, what);
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return ERR_OK;
}

/* Counts a pipeline that cannot go on and leaves pipeline mode. With results still pending
 * libpq refuses to leave it: a lost connection leaves it when reconnect resets it (nothing runs
 * on a bad connection before); a live one is reset here (its transaction goes with it), so that
 * ordinary statements run on it again. */
static int pipeline_lost(struct store *s, struct pconn *c)
{
    atomic_fetch_add(&s->errors, 1);
    if (PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c->pg) &&
        PQstatus(c->pg) == CONNECTION_OK) {
        PQreset(c->pg);
        c->n_stmts = 0;
        c->read_only = false;
        c->listening = false;
        if (PQstatus(c->pg) == CONNECTION_OK)
            PQsetNoticeProcessor(c->pg, drop_notice, NULL);
    }
    return ERR_BACKEND;
}

int store__pg_pipeline(struct store *s, size_t n, const char *const *sql, const struct pgargs *a,
                       store__pg_result_fn fn, void *ctx, const char *what)
{
    if (n == 0)
        return ERR_OK;
    struct pconn *c = store__pg_conn(s);
    if (!c || PQstatus(c->pg) == CONNECTION_BAD) {
        if (c)
            atomic_fetch_add(&s->errors, 1);
        return ERR_BACKEND;
    }
    /* Prepared first: PQprepare waits for its answer, which pipeline mode does not allow. */
    const char **names = xcalloc(n, sizeof(*names));
    char(*bufs)[24] = xcalloc(n, sizeof(*bufs));
    int rc = ERR_OK;
    for (size_t i = 0; i < n && rc == ERR_OK; i++)
        if (!(names[i] = prepare(c, sql[i], bufs[i])))
            rc = ERR_BACKEND;
    if (rc || !PQenterPipelineMode(c->pg)) {
        free(names);
        free(bufs);
        atomic_fetch_add(&s->errors, 1);
        return ERR_BACKEND;
    }
    size_t sent = 0;
    while (sent < n && PQsendQueryPrepared(c->pg, names[sent], a[sent].n, a[sent].v, NULL, NULL, 0))
        sent++;
    free(names);
    free(bufs);
    if (sent < n || !PQpipelineSync(c->pg))
        return pipeline_lost(s, c);
    /* Each statement's results end with a NULL; the sync's result ends the pipeline. After a
     * failed statement the rest answer PGRES_PIPELINE_ABORTED (the first error is the one). */
    size_t i = 0;
    for (;;) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            if (PQstatus(c->pg) == CONNECTION_BAD || ++i > sent)
                return pipeline_lost(s, c);
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (rc == ERR_OK && fn)
                fn(ctx, i, r);
        } else if (st != PGRES_PIPELINE_ABORTED && rc == ERR_OK) {
            rc = result_err(c, r, what);
        }
        PQclear(r);
    }
    if (!PQexitPipelineMode(c->pg))
        return pipeline_lost(s, c);
    return rc;
}

int store__pg_row(struct store *s, const char *sql, const struct pgargs *a, PGresult **res,
                  const char *what)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, sql, a, &r, what);
    if (rc)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return ERR_NOTFOUND;
    }
    *res = r;
    return ERR_OK;
}

int store__pg_changes(struct store *s, const char *sql, const struct pgargs *a, int64_t *n,
                      const char *what)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, sql, a, &r, what);
    *n = 0;
    if (rc)
        return rc;
    *n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return ERR_OK;
}

/* ---- lifecycle ---- */

bool store_pg__handles(const char *url)
{
    return strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
}

int store_pg__open(const char *url, struct store **out, struct errbuf *eb)
{
    struct store_pg *pg = xcalloc(1, sizeof(*pg));
    pg->base.ops = &store_pg_ops;
    pg->url = xstrdup(url);
    pg->safe_url = mask_url(url);
    pg->serial = atomic_fetch_add(&next_serial, 1);
    pthread_mutex_init(&pg->mu, NULL);
    PGconn *db = connect_db(pg, eb); /* fail early; kept as this thread's connection */
    if (!db) {
        pthread_mutex_destroy(&pg->mu);
        free(pg->url);
        free(pg->safe_url);
        free(pg);
        return ERR_BACKEND;
    }
    conn_add(pg, db);
    *out = &pg->base;
    return ERR_OK;
}

void store_pg__close(struct store *s)
{
    struct store_pg *pg = store__pg(s);
    struct pconn *c = pg->conns;
    while (c) {
        struct pconn *next = c->next;
        PQfinish(c->pg);
        free(c);
        c = next;
    }
    for (size_t i = 0; i < ARRAY_SIZE(tl_conns); i++)
        if (tl_conns[i].serial == pg->serial)
            tl_conns[i].serial = 0;
    pthread_mutex_destroy(&pg->mu);
    free(pg->url);
    free(pg->safe_url);
    free(pg);
}

/* ---- transactions ---- */

static int run_fixed(struct store *s, const char *sql, const char *what)
{
    return store__pg_exec(s, sql, NULL, NULL, what);
}

bool store__pg_in_tx(struct store *s)
{
    struct pconn *c = store__pg_conn(s);
    return c && PQtransactionStatus(c->pg) != PQTRANS_IDLE;
}

int store_pg__begin(struct store *s)
{
    return run_fixed(s, "BEGIN", "begin");
}

/* A COMMIT of a transaction that failed earlier answers "ROLLBACK" without an error. */
int store_pg__commit(struct store *s)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, "COMMIT", NULL, &r, "commit");
    if (rc)
        return rc;
    bool rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back) {
        atomic_fetch_add(&s->errors, 1);
        log_error("store", "commit failed: the transaction had failed and was rolled back");
        return ERR_BACKEND;
    }
    return ERR_OK;
}

void store_pg__rollback(struct store *s)
{
    if (store__pg_in_tx(s))
        run_fixed(s, "ROLLBACK", "rollback");
}

/* One snapshot for every read until read_end (REPEATABLE READ), taking no write locks. */
int store_pg__read_begin(struct store *s)
{
    return run_fixed(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin read");
}

void store_pg__read_end(struct store *s)
{
    if (store__pg_in_tx(s))
        run_fixed(s, "COMMIT", "end read");
}

int store_pg__savepoint(struct store *s)
{
    return run_fixed(s, "SAVEPOINT item", "savepoint");
}

int store_pg__savepoint_release(struct store *s)
{
    return run_fixed(s, "RELEASE SAVEPOINT item", "release");
}

void store_pg__savepoint_rollback(struct store *s)
{
    run_fixed(s, "ROLLBACK TO SAVEPOINT item", "rollback to");
    store_pg__savepoint_release(s);
}

/* PGPROC_MAX_CACHED_SUBXIDS. Measured with the group-commit writer's batches of up to 1,024
 * savepoints: a primary-key probe of sessions (the leases foreign key check) went from 0.15 to
 * 0.74 ms and the claim from 1.4 to 5.6 ms over four 8 s runs of the PG visit bench. */
int store_pg__savepoints_max(struct store *s)
{
    (void)s;
    return 64;
}

/* ---- migrations ----
 * The versions are those of src/store/sql/NNNN_*.sql (migrations[]); where PostgreSQL needs
 * other SQL, src/store/sql_pg/ has a file of the same version number (migrations_pg[]), which
 * is applied instead. All pending versions apply in one transaction (PostgreSQL's DDL is
 * transactional) under an advisory lock. */

static int migration_version(const struct asset *m)
{
    const char *base = strrchr(m->path, '/');
    return (int)strtol(base ? base + 1 : m->path, NULL, 10);
}

static int newest_version(void)
{
    return n_migrations ? migration_version(&migrations[n_migrations - 1]) : 0;
}

/* The script for migration i: its sql_pg/ version if there is one. */
static const struct asset *migration_for_pg(size_t i)
{
    int v = migration_version(&migrations[i]);
    for (size_t j = 0; j < n_migrations_pg; j++)
        if (migration_version(&migrations_pg[j]) == v)
            return &migrations_pg[j];
    return &migrations[i];
}

/* out: *version, 0 for a database without schema_migrations. */
static int current_version(struct store *s, int *version)
{
    PGresult *r = NULL;
    int rc = store__pg_row(s, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, &r,
                           "look for schema_migrations");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    bool exists = store__pg_col_bool(r, 0, 0);
    PQclear(r);
    *version = 0;
    if (!exists)
        return ERR_OK;
    rc = store__pg_row(s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, &r,
                       "read schema version");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *version = (int)store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* Runs one embedded script (several statements: the simple query protocol). */
static int run_script(struct store *s, const struct asset *m, struct errbuf *eb)
{
    struct pconn *c = store__pg_conn(s);
    if (!c)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    PGresult *r = PQexec(c->pg, (const char *)m->data);
    ExecStatusType st = PQresultStatus(r);
    int rc = ERR_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        rc = errf(eb, ERR_BACKEND, "db", "migration '%s' failed: %s", m->path,
                  msg ? msg : PQerrorMessage(c->pg));
    }
    PQclear(r);
    return rc;
}

/* Whether migration version v is recorded (0 for a database without schema_migrations).
 * Versions are applied by presence, not only above the newest recorded one: a version numbered
 * below one a store already has (branches merged out of order) is still applied. */
static int recorded(struct store *s, int v, bool *yes)
{
    struct pgargs a = {0};
    store__pg_i64(&a, v);
    PGresult *r = NULL;
    int rc = store__pg_row(s, "SELECT 1 FROM schema_migrations WHERE version = $1::integer", &a, &r,
                           "read migrations");
    *yes = rc == ERR_OK;
    if (rc == ERR_OK)
        PQclear(r);
    return rc == ERR_OK || rc == ERR_NOTFOUND ? ERR_OK : rc;
}

static int apply_pending(struct store *s, int64_t now, int *have, struct errbuf *eb)
{
    for (size_t i = 0; i < n_migrations; i++) {
        int v = migration_version(&migrations[i]);
        bool yes = false;
        if (*have > 0 && recorded(s, v, &yes) != ERR_OK)
            return errf(eb, ERR_BACKEND, "db", "cannot read the migrations");
        if (yes)
            continue;
        const struct asset *m = migration_for_pg(i);
        int rc = run_script(s, m, eb);
        if (rc)
            return rc;
        struct pgargs a = {0};
        store__pg_i64(&a, v);
        store__pg_i64(&a, now);
        rc = store__pg_exec(s, "INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)",
                            &a, NULL, "record migration");
        if (rc)
            return errf(eb, rc, "db", "cannot record migration '%s'", m->path);
        log_info("store", "applied migration %s", m->path);
        if (v > *have)
            *have = v;
    }
    return ERR_OK;
}

int store_pg__migrate(struct store *s, int64_t now, int *version, struct errbuf *eb)
{
    struct store_pg *pg = store__pg(s);
    int rc = store_pg__begin(s);
    if (rc)
        return errf(eb, rc, "db", "cannot start a transaction on '%s'", pg->safe_url);
    struct pgargs a = {0};
    store__pg_i64(&a, MIGRATE_LOCK_KEY);
    rc = store__pg_exec(s, "SELECT pg_advisory_xact_lock($1)", &a, NULL, "lock migrations");
    if (rc == ERR_OK)
        rc = run_fixed(s,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
                       "create schema_migrations");
    int have = 0;
    if (rc == ERR_OK)
        rc = current_version(s, &have);
    if (rc) {
        store_pg__rollback(s);
        return errf(eb, rc, "db", "cannot read the schema version of '%s'", pg->safe_url);
    }
    if (have > newest_version()) {
        store_pg__rollback(s);
        return errf(eb, ERR_CONFLICT, "db",
                    "database '%s' has schema version %d, newer than this opendni (%d); "
                    "upgrade opendni",
                    pg->safe_url, have, newest_version());
    }
    rc = apply_pending(s, now, &have, eb);
    if (rc == ERR_OK && (rc = store_pg__commit(s)) != ERR_OK)
        errf(eb, rc, "db", "cannot commit the migrations of '%s'", pg->safe_url);
    if (rc) {
        store_pg__rollback(s);
        return rc;
    }
    if (version)
        *version = have;
    return ERR_OK;
}

int store_pg__check(struct store *s, struct errbuf *eb)
{
    int have;
    if (current_version(s, &have) != ERR_OK)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    size_t n = 0;
    for (size_t i = 0; have == newest_version() && i < n_migrations; i++) {
        bool yes = false;
        if (recorded(s, migration_version(&migrations[i]), &yes) != ERR_OK)
            return errf(eb, ERR_BACKEND, "db", "database unreachable");
        n += yes;
    }
    if (have != newest_version() || n != n_migrations)
        return errf(eb, ERR_CONFLICT, "db", "schema version %d, expected %d%s: run opendni init",
                    have, newest_version(),
                    have == newest_version() ? " (an earlier migration is missing)" : "");
    return ERR_OK;
}

/* PostgreSQL checks its own pages (data checksums, its own recovery): what a client can ask is
 * whether the database answers (its schema may still need migrating: init verifies first). */
int store_pg__verify(struct store *s, bool full, struct errbuf *eb)
{
    (void)full;
    int have;
    if (current_version(s, &have) != ERR_OK)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    return ERR_OK;
}

/* Backups of a PostgreSQL store are PostgreSQL's: pg_dump (or base backups with WAL archiving). */
int store_pg__backup(struct store *s, const char *dest, struct errbuf *eb)
{
    (void)s;
    (void)dest;
    return errf(eb, ERR_UNSUPPORTED, "db",
                "a PostgreSQL store is backed up with pg_dump (docs/operations.md \"Backups\")");
}

/* The probe waits this long for a row lock (another session's write of store_health): a
 * readiness probe must answer quickly, so a store locked elsewhere counts as not ready. */
#define WRITABLE_WAIT_MS "1000"

int store_pg__writable(struct store *s, int64_t now, struct errbuf *eb)
{
    struct pconn *c = store__pg_conn(s);
    if (!c || PQstatus(c->pg) != CONNECTION_OK)
        return errf(eb, ERR_BACKEND, "db", "database unreachable");
    int rc = store_pg__begin(s);
    struct pgargs wait = {0};
    store__pg_text(&wait, WRITABLE_WAIT_MS);
    if (rc == ERR_OK)
        rc = store__pg_exec(s, "SELECT set_config('lock_timeout', $1, true)", &wait, NULL,
                            "readiness lock timeout");
    struct pgargs a = {0};
    store__pg_i64(&a, now);
    if (rc == ERR_OK)
        rc = store__pg_exec(s,
                            "INSERT INTO store_health(id, n_checks, checked_at) VALUES (1, 1, $1)"
                            " ON CONFLICT (id) DO UPDATE SET n_checks = store_health.n_checks + 1,"
                            " checked_at = excluded.checked_at",
                            &a, NULL, "readiness write");
    if (rc == ERR_OK)
        rc = store_pg__commit(s);
    if (rc == ERR_OK)
        return ERR_OK;
    char why[256];
    snprintf(why, sizeof(why), "%s",
             PQerrorMessage(c->pg)[0] ? PQerrorMessage(c->pg) : "the transaction was rolled back");
    why[strcspn(why, "\n")] = '\0';
    if (strncmp(why, "ERROR:  ", 8) == 0)
        memmove(why, why + 8, strlen(why + 8) + 1);
    store_pg__rollback(s);
    return errf(eb, ERR_BACKEND, "db", "the store cannot commit: %s", why);
}

/* config_version is bumped by statement triggers on the configuration tables (sql_pg/0010),
 * whoever writes them: any node's admin API, the CLI, or SQL by hand. */
int store_pg__config_version(struct store *s, int64_t *version)
{
    PGresult *r = NULL;
    *version = 0;
    int rc = store__pg_row(s, "SELECT version FROM config_version WHERE id = 1", NULL, &r,
                           "read config version");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *version = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* ---- events between nodes: LISTEN/NOTIFY on one channel ---- */

#define NOTIFY_BATCH 256 /* payloads handed over per store_notify_wait */

int store_pg__notify(struct store *s, const char *payload)
{
    struct pgargs a = {0};
    store__pg_text(&a, payload);
    return store__pg_exec(s, "SELECT pg_notify('opendni_events', $1)", &a, NULL, "notify");
}

/* Moves what libpq has received into out (copies); returns how many. */
static size_t take_notifies(struct pconn *c, char **out, size_t cap)
{
    size_t n = 0;
    PGnotify *nt;
    while (n < cap && (nt = PQnotifies(c->pg)) != NULL) {
        out[n++] = xstrdup(nt->extra);
        PQfreemem(nt);
    }
    return n;
}

/* Waits for the socket to become readable, at most timeout_ms. ERR_OK (readable or timed out),
 * ERR_BACKEND (the connection is gone). */
static int wait_readable(struct pconn *c, int timeout_ms)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return ERR_BACKEND;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        return ERR_BACKEND;
    if (n > 0 && !PQconsumeInput(c->pg))
        return ERR_BACKEND;
    return ERR_OK;
}

int store_pg__notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx)
{
    struct pconn *c = store__pg_conn(s);
    if (!c || PQstatus(c->pg) != CONNECTION_OK)
        return ERR_BACKEND;
    if (!c->listening) {
        if (store__pg_exec(s, "LISTEN opendni_events", NULL, NULL, "listen") != ERR_OK)
            return ERR_BACKEND;
        c->listening = true;
    }
    if (!PQconsumeInput(c->pg))
        return ERR_BACKEND;
    char *got[NOTIFY_BATCH];
    size_t n = take_notifies(c, got, NOTIFY_BATCH);
    int rc = ERR_OK;
    if (n == 0) {
        rc = wait_readable(c, timeout_ms);
        n = take_notifies(c, got, NOTIFY_BATCH);
    }
    /* The callbacks run after every payload was taken: they may use this connection. */
    for (size_t i = 0; i < n; i++) {
        fn(ctx, got[i]);
        free(got[i]);
    }
    return rc;
}

/* Serving on PostgreSQL takes no lock: any number of nodes serve one database, and the lease
 * claims are decided in it (store_pg_lease.c). It checks that the schema is current, and turns
 * the claim operations on. */
int store_pg__serve_begin(struct store *s, int64_t now, struct errbuf *eb)
{
    (void)now;
    struct store_pg *pg = store__pg(s);
    if (atomic_load(&pg->serving))
        return errf(eb, ERR_INVALID, "db", "store '%s' is already serving", pg->safe_url);
    int rc = store_pg__check(s, eb);
    if (rc)
        return rc;
    atomic_store(&pg->serving, true);
    return ERR_OK;
}

int store_pg__count(struct store *s, const char *table, int64_t *n)
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
        PGresult *r = NULL;
        int rc = store__pg_row(s, sqls[i], NULL, &r, "count");
        if (rc)
            return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
        *n = store__pg_col_i64(r, 0, 0);
        PQclear(r);
        return ERR_OK;
    }
    return ERR_INVALID;
}

/* ---- the ops table ---- */

const struct store_ops store_pg_ops = {
    .name = "postgres",
    .handles = store_pg__handles,
    .open = store_pg__open,
    .close = store_pg__close,
    .migrate = store_pg__migrate,
    .check = store_pg__check,
    .verify = store_pg__verify,
    .backup = store_pg__backup,
    .writable = store_pg__writable,
    .config_version = store_pg__config_version,
    .notify = store_pg__notify,
    .notify_wait = store_pg__notify_wait,
    .serve_begin = store_pg__serve_begin,
    .begin = store_pg__begin,
    .commit = store_pg__commit,
    .rollback = store_pg__rollback,
    .read_begin = store_pg__read_begin,
    .read_end = store_pg__read_end,
    .savepoint = store_pg__savepoint,
    .savepoint_release = store_pg__savepoint_release,
    .savepoint_rollback = store_pg__savepoint_rollback,
    .savepoints_max = store_pg__savepoints_max,
    .account_create = store_pg__account_create,
    .account_get = store_pg__account_get,
    .account_by_id = store_pg__account_by_id,
    .api_key_add = store_pg__api_key_add,
    .api_key_revoke_others = store_pg__api_key_revoke_others,
    .account_by_key = store_pg__account_by_key,
    .account_set_settings = store_pg__account_set_settings,
    .account_list = store_pg__account_list,
    .account_origins = store_pg__account_origins,
    .origin_exists = store_pg__origin_exists,
    .api_key_list = store_pg__api_key_list,
    .api_key_revoke = store_pg__api_key_revoke,
    .origin_add = store_pg__origin_add,
    .origin_delete = store_pg__origin_delete,
    .pool_create = store_pg__pool_create,
    .pool_get = store_pg__pool_get,
    .pool_by_id = store_pg__pool_by_id,
    .pool_update = store_pg__pool_update,
    .pool_delete = store_pg__pool_delete,
    .pool_list = store_pg__pool_list,
    .pool_set_counters = store_pg__pool_set_counters,
    .number_create = store_pg__number_create,
    .number_get = store_pg__number_get,
    .number_by_id = store_pg__number_by_id,
    .number_by_e164 = store_pg__number_by_e164,
    .number_update = store_pg__number_update,
    .number_delete = store_pg__number_delete,
    .number_list = store_pg__number_list,
    .rule_create = store_pg__rule_create,
    .rule_update = store_pg__rule_update,
    .rule_delete = store_pg__rule_delete,
    .rule_list = store_pg__rule_list,
    .session_put = store_pg__session_put,
    .session_get = store_pg__session_get,
    .session_by_id = store_pg__session_by_id,
    .lease_add = store_pg__lease_add,
    .visits_add = store_pg__visits_add,
    .lease_renew = store_pg__lease_renew,
    .lease_delete = store_pg__lease_delete,
    .session_leases = store_pg__session_leases,
    .session_held = store_pg__session_held,
    .lease_claim = store_pg__lease_claim,
    .lease_touch = store_pg__lease_touch,
    .lease_note = store_pg__lease_note,
    .lease_release = store_pg__lease_release,
    .lease_times = store_pg__lease_times,
    .pool_stats = store_pg__pool_stats,
    .lease_list_live = store_pg__lease_list_live,
    .lease_range = store_pg__lease_range,
    .lease_history = store_pg__lease_history,
    .event_add = store_pg__event_add,
    .event_last = store_pg__event_last,
    .event_list = store_pg__event_list,
    .page_view_add = store_pg__page_view_add,
    .page_view_list = store_pg__page_view_list,
    .event_last_detail = store_pg__event_last_detail,
    .count = store_pg__count,
    .call_insert = store_pg__call_insert,
    .call_by_provider = store_pg__call_by_provider,
    .call_get = store_pg__call_get,
    .call_by_id = store_pg__call_by_id,
    .call_update = store_pg__call_update,
    .call_recording_put = store_pg__call_recording_put,
    .call_list = store_pg__call_list,
    .call_caller = store_pg__call_caller,
    .call_session_credited = store_pg__call_session_credited,
    .conversion_add = store_pg__conversion_add,
    .conversion_by_call = store_pg__conversion_by_call,
    .pool_by_fallback = store_pg__pool_by_fallback,
    .call_outcome_get = store_pg__call_outcome_get,
    .call_outcome_put = store_pg__call_outcome_put,
    .route_doc_put = store_pg__route_doc_put,
    .route_doc_get = store_pg__route_doc_get,
    .route_doc_by_attach = store_pg__route_doc_by_attach,
    .route_doc_list = store_pg__route_doc_list,
    .route_doc_delete = store_pg__route_doc_delete,
    .route_counter_next = store_pg__route_counter_next,
    .publisher_put = store_pg__publisher_put,
    .call_payout_record = store_pg__call_payout_record,
    .publisher_get = store_pg__publisher_get,
    .publisher_list = store_pg__publisher_list,
    .publisher_delete = store_pg__publisher_delete,
    .call_route_put = store_pg__call_route_put,
    .call_route_get = store_pg__call_route_get,
    .call_route_list = store_pg__call_route_list,
    .route_counts = store_pg__route_counts,
    .provider_cred_set = store_pg__provider_cred_set,
    .provider_cred_get = store_pg__provider_cred_get,
    .provider_cred_find = store_pg__provider_cred_find,
    .provider_cred_list = store_pg__provider_cred_list,
    .report_calls = store_pg__report_calls,
    .report_conversions = store_pg__report_conversions,
    .report_sessions = store_pg__report_sessions,
    .report_cohort = store_pg__report_cohort,
    .report_session_calls = store_pg__report_session_calls,
    .spend_replace = store_pg__spend_replace,
    .spend_list = store_pg__spend_list,
    .export_trace = store_pg__export_trace,
    .user_create = store_pg__user_create,
    .user_get = store_pg__user_get,
    .user_by_id = store_pg__user_by_id,
    .user_set_password = store_pg__user_set_password,
    .user_delete = store_pg__user_delete,
    .user_list = store_pg__user_list,
    .membership_set = store_pg__membership_set,
    .membership_delete = store_pg__membership_delete,
    .membership_list = store_pg__membership_list,
    .app_session_create = store_pg__app_session_create,
    .app_session_get = store_pg__app_session_get,
    .app_session_update = store_pg__app_session_update,
    .app_session_delete = store_pg__app_session_delete,
    .app_session_delete_user = store_pg__app_session_delete_user,
    .app_session_purge = store_pg__app_session_purge,
    .audit_add = store_pg__audit_add,
    .audit_list = store_pg__audit_list,
    .destination_add = store_pg__destination_add,
    .destination_get = store_pg__destination_get,
    .destination_list = store_pg__destination_list,
    .destination_delete = store_pg__destination_delete,
    .destination_result = store_pg__destination_result,
    .destination_enable = store_pg__destination_enable,
    .destination_secret_set = store_pg__destination_secret_set,
    .outbox_add = store_pg__outbox_add,
    .outbox_publish = store_pg__outbox_add, /* a row per destination: sql_pg/0033 */
    .outbox_batch_done = store_pg__outbox_batch_done,
    .outbox_claim = store_pg__outbox_claim,
    .outbox_claim_batch = store_pg__outbox_claim_batch,
    .outbox_finish = store_pg__outbox_finish,
    .outbox_requeue = store_pg__outbox_requeue,
    .outbox_get = store_pg__outbox_get,
    .delivery_list = store_pg__delivery_list,
    .alert_observe = store_pg__alert_observe,
    .erase = store_pg__erase,
    .erase_flush = store_pg__erase_flush,
    .erasure_list = store_pg__erasure_list,
    .purge = store_pg__purge,
    .traffic_add = store_pg__traffic_add,
    .traffic_sum = store_pg__traffic_sum,
    .feed_set = store_pg__feed_set,
    .feed_account = store_pg__feed_account,
    .feed_delete = store_pg__feed_delete,
    .numcfg_get = store_pg__numcfg_get,
    .numcfg_put = store_pg__numcfg_put,
    .autoscale_get = store_pg__autoscale_get,
    .autoscale_put = store_pg__autoscale_put,
    .autoscale_list = store_pg__autoscale_list,
    .intent_claim = store_pg__intent_claim,
    .intent_update = store_pg__intent_update,
    .intent_list = store_pg__intent_list,
    .intent_spend = store_pg__intent_spend,
    .number_action_add = store_pg__number_action_add,
    .number_action_list = store_pg__number_action_list,
    .number_usage = store_pg__number_usage,
    .job_claim = store_pg__job_claim,
};
