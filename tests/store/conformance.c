/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The store conformance suite: every store.h operation against its contract, written only
 * against the public API and run once per backend (backends[] below; `conformance NAME` runs
 * one). Time is always a parameter: no test sleeps or reads the clock. Covers migrations,
 * accounts/keys/origins, pools/numbers/rules with tenant scoping, sessions, durable leases and
 * events, calls and conversions, reports and export, savepoints, and the lease claim (serving):
 * exclusivity under concurrency, touch, cooldown and idle-longest order, exhaustion in both
 * modes, the engine's hold on deletes, the rebuild on restart, and single ownership; dashboard
 * users, roles, app sessions and the audit log. */
#include "base/prelude.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#ifdef OPENDNI_WITH_PG
#include <libpq-fe.h>
#endif

#include "store/store.h"

/* ==== backends ================================================================================ */

struct backend {
    const char *name;
    /* Makes the URL of a fresh, empty database (out: url). */
    void (*fresh)(char *url, size_t cap);
    /* Removes what fresh made. */
    void (*cleanup)(const char *url);
    /* Records a schema version newer than any migration, behind the store's back. */
    int (*future_schema)(const char *url);
    bool single_owner; /* store_serve_begin refuses a second server of one database */
    /* Takes the database's write lock from a session of its own, behind the store's back, so
     * the store cannot commit (out: *handle for unlock). 0 or -1. */
    int (*lock_writes)(const char *url, void **handle);
    void (*unlock_writes)(void *handle);
    /* Where store_backup writes a copy of url (out: dest), or NULL: the backend leaves backups
     * to its own tools and store_backup answers ERR_UNSUPPORTED (PostgreSQL: pg_dump). */
    void (*backup_dest)(const char *url, char *dest, size_t cap);
    /* fresh() names a store that does not exist yet (a file path), rather than an empty one. */
    bool fresh_is_missing;
};

static void sqlite_fresh(char *url, size_t cap)
{
    static int n;
    snprintf(url, cap, "/tmp/opendni-conformance-%d-%d.db", (int)getpid(), n++);
    unlink(url);
}

static void sqlite_cleanup(const char *url)
{
    static const char *const suffix[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s%s", url, suffix[i]);
        unlink(p);
    }
}

static int sqlite_future_schema(const char *url)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(url, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "INSERT INTO schema_migrations(version, applied_at) VALUES (9999, 1)",
                          NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int sqlite_lock_writes(const char *url, void **handle)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(url, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    *handle = db;
    return 0;
}

static void sqlite_unlock_writes(void *handle)
{
    sqlite3_exec(handle, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(handle);
}

#ifdef OPENDNI_WITH_PG
/* PostgreSQL: a fresh database per case on the throwaway server that scripts/pg-test-server
 * started (ctest fixture store/pg-server); OPENDNI_PG_STATE names its state file. No server is
 * a failure, never a skip. */
static char pg_host[256], pg_port[16];

static void pg_server(void)
{
    if (pg_host[0])
        return;
    const char *path = getenv("OPENDNI_PG_STATE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "conformance: no PostgreSQL test server (OPENDNI_PG_STATE=%s)\n",
                path ? path : "unset");
        exit(1);
    }
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strchr(line, '=');
        if (!v || v[1] != '\'' || strlen(v) < 3)
            continue;
        *v = '\0';
        v += 2;
        v[strlen(v) - 1] = '\0'; /* closing quote */
        if (strcmp(line, "PGHOST") == 0)
            snprintf(pg_host, sizeof(pg_host), "%s", v);
        else if (strcmp(line, "PGPORT") == 0)
            snprintf(pg_port, sizeof(pg_port), "%s", v);
    }
    fclose(f);
    if (!pg_host[0] || !pg_port[0]) {
        fprintf(stderr, "conformance: bad state file '%s'\n", path);
        exit(1);
    }
}

static void pg_url(const char *db, char *url, size_t cap)
{
    snprintf(url, cap, "postgresql://postgres@/%s?host=%s&port=%s", db, pg_host, pg_port);
}

/* Runs one statement on database db (a test helper, outside the store). */
static int pg_admin(const char *db, const char *sql)
{
    char url[512];
    pg_url(db, url, sizeof(url));
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "conformance: '%s' failed: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

static void pg_fresh(char *url, size_t cap)
{
    static int n;
    pg_server();
    char db[64], sql[128];
    snprintf(db, sizeof(db), "conformance_%d_%d", (int)getpid(), n++);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    if (pg_admin("postgres", sql))
        exit(1);
    pg_url(db, url, cap);
}

/* The database name of a pg_url. */
static void pg_db_of(const char *url, char *db, size_t cap)
{
    const char *name = strstr(url, "@/") + 2;
    snprintf(db, cap, "%.*s", (int)strcspn(name, "?"), name);
}

static void pg_cleanup(const char *url)
{
    char db[64], sql[128];
    pg_db_of(url, db, sizeof(db));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_admin("postgres", sql);
}

static int pg_future_schema(const char *url)
{
    char db[64];
    pg_db_of(url, db, sizeof(db));
    return pg_admin(db, "INSERT INTO schema_migrations(version, applied_at) VALUES (9999, 1)");
}

/* PostgreSQL has no database-wide write lock: another session holds the lock of the table
 * store_writable writes (store_health), in an open transaction, which is what a long writer
 * elsewhere looks like to the probe. */
static int pg_lock_writes(const char *url, void **handle)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQstatus(c) == CONNECTION_OK
                      ? PQexec(c, "BEGIN; LOCK TABLE store_health IN ACCESS EXCLUSIVE MODE")
                      : NULL;
    int rc = r && PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(r);
    if (rc) {
        fprintf(stderr, "conformance: cannot lock store_health: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    *handle = c;
    return 0;
}

static void pg_unlock_writes(void *handle)
{
    PQclear(PQexec(handle, "ROLLBACK"));
    PQfinish(handle);
}
#endif

static void sqlite_backup_dest(const char *url, char *dest, size_t cap)
{
    snprintf(dest, cap, "%s.bak", url);
}

static const struct backend backends[] = {
    {"sqlite", sqlite_fresh, sqlite_cleanup, sqlite_future_schema, true, sqlite_lock_writes,
     sqlite_unlock_writes, sqlite_backup_dest, true},
#ifdef OPENDNI_WITH_PG
    /* Any number of nodes serve one PostgreSQL database (DESIGN.md "Scale plan"); its backups
     * are pg_dump's (store_backup: ERR_UNSUPPORTED); fresh() makes an empty database. */
    {"pg", pg_fresh, pg_cleanup, pg_future_schema, false, pg_lock_writes, pg_unlock_writes, NULL,
     false},
#endif
};

static const struct backend *be; /* the backend under test */

/* ==== fixture ================================================================================= */

struct fx {
    char url[256];
    struct store *s;
    struct st_account a, b; /* two tenants */
};

/* Two secrets keys (store/secrets.h), filled by main. */
static struct secrets_key key1, key2;

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    be->fresh(f->url, sizeof(f->url));
    struct errbuf eb = {{0}, NULL};
    int version = 0;
    const char *oa[] = {"https://a.example"}, *ob[] = {"https://b.example"};
    if (store_open(f->url, &f->s, &eb) || store_migrate(f->s, 1, &version, &eb) || version < 1 ||
        store_account_create(f->s, "", "A", oa, 1, "hash-a", 10, &f->a, &eb) ||
        store_account_create(f->s, "acc_b", "B", ob, 1, "hash-b", 10, &f->b, &eb)) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        return -1;
    }
    store_secrets_keys(f->s, &key1, NULL); /* provider secrets need a key (secrets.h) */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    be->cleanup(f->url);
    free(f);
    return 0;
}

static struct st_pool make_pool(struct fx *f, int64_t account_id, const char *target, int ttl_s,
                                int cooldown_s, bool fallback)
{
    struct st_pool p = {.account_id = account_id,
                        .lease_ttl_s = ttl_s,
                        .cooldown_s = cooldown_s,
                        .fallback_mode = fallback};
    snprintf(p.name, sizeof(p.name), "pool %s", target);
    snprintf(p.target, sizeof(p.target), "%s", target);
    snprintf(p.forward_to, sizeof(p.forward_to), "%s", target);
    assert_int_equal(store_pool_create(f->s, &p, 100, NULL), ERR_OK);
    assert_true(p.id > 0);
    return p;
}

static struct st_number make_number(struct fx *f, int64_t account_id, int64_t pool_id, int i)
{
    struct st_number n = {.account_id = account_id, .pool_id = pool_id};
    snprintf(n.number, sizeof(n.number), "+1555555%04d", i);
    if (!pool_id) {
        snprintf(n.source, sizeof(n.source), "billboard");
        snprintf(n.forward_to, sizeof(n.forward_to), "+15555550000");
    }
    assert_int_equal(store_number_create(f->s, &n, 200, NULL), ERR_OK);
    return n;
}

static struct st_session make_session(struct fx *f, const char *ext, int64_t at)
{
    struct st_session ss = {.account_id = f->a.id, .created_at = at, .last_active_at = at};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "%s", ext);
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v_%s", ext);
    snprintf(ss.device, sizeof(ss.device), "mobile");
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    assert_true(ss.id > 0);
    return ss;
}

/* Row counters for the list operations: ctx is an int. */
#define COUNTER(name, row_type)                                                                    \
    static int name(void *ctx, const row_type *row)                                                \
    {                                                                                              \
        (void)row;                                                                                 \
        (*(int *)ctx)++;                                                                           \
        return 0;                                                                                  \
    }
COUNTER(count_account, struct st_account)
COUNTER(count_pool, struct st_pool)
COUNTER(count_number, struct st_number)
COUNTER(count_lease, struct st_lease)
COUNTER(count_report_call, struct st_report_call)
COUNTER(count_report_conversion, struct st_report_conversion)

static int first_conversion(void *ctx, const struct st_report_conversion *row)
{
    *(struct st_report_conversion *)ctx = *row;
    return 1;
}
COUNTER(count_trace, struct st_trace_row)
COUNTER(count_user, struct st_user)
COUNTER(count_delivery, struct st_delivery)

/* ==== migrations ============================================================================== */

static void migrations_are_idempotent_and_refuse_newer_schemas(void **state)
{
    struct fx *f = *state;
    int v1 = 0, v2 = 0;
    assert_int_equal(store_migrate(f->s, 2, &v1, NULL), ERR_OK);
    assert_int_equal(store_migrate(f->s, 3, &v2, NULL), ERR_OK);
    assert_int_equal(v1, v2);
    assert_true(v1 >= 3);
    assert_int_equal(store_check(f->s, NULL), ERR_OK);
    store_close(f->s);
    assert_int_equal(be->future_schema(f->url), 0);
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(f->url, &f->s, &eb), ERR_OK);
    assert_int_equal(store_migrate(f->s, 4, NULL, &eb), ERR_CONFLICT);
    assert_non_null(strstr(eb.msg, "newer"));
    assert_int_not_equal(store_check(f->s, NULL), ERR_OK);
}

/* A build without libpq refuses postgres:// URLs clearly; one with it connects, and a server
 * it cannot reach is a backend error whose message never shows the URL's password. */
static void postgres_urls_are_refused_or_fail_clearly(void **state)
{
    (void)state;
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
#ifdef OPENDNI_WITH_PG
    assert_int_equal(store_open("postgresql://u:sekrit@127.0.0.1:1/x", &s, &eb), ERR_BACKEND);
    assert_null(s);
    assert_non_null(strstr(eb.msg, "cannot connect"));
    assert_non_null(strstr(eb.msg, "u:***@127.0.0.1:1/x"));
    assert_null(strstr(eb.msg, "sekrit"));
#else
    assert_int_equal(store_open("postgres://localhost/x", &s, &eb), ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(eb.msg, "this build has no PostgreSQL store"));
#endif
}

/* ==== integrity and backups =================================================================== */

static void verify_passes_and_backup_copies_a_store_that_serves(void **state)
{
    struct fx *f = *state;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_verify(f->s, true, &eb), ERR_OK);
    assert_int_equal(store_verify(f->s, false, &eb), ERR_OK);
    if (!be->backup_dest) {
        assert_int_equal(store_backup(f->s, "/tmp/unused", &eb), ERR_UNSUPPORTED);
        assert_non_null(strstr(eb.msg, "pg_dump"));
        return;
    }
    char dest[300];
    be->backup_dest(f->url, dest, sizeof(dest));
    assert_int_equal(store_serve_begin(f->s, 20, &eb), ERR_OK); /* a server holds it */
    struct st_pool p = {.account_id = f->a.id, .lease_ttl_s = 60, .cooldown_s = 0};
    snprintf(p.name, sizeof(p.name), "kept");
    snprintf(p.target, sizeof(p.target), "+15555550100");
    snprintf(p.forward_to, sizeof(p.forward_to), "+15555550100");
    assert_int_equal(store_pool_create(f->s, &p, 30, &eb), ERR_OK);
    assert_int_equal(store_backup(f->s, dest, &eb), ERR_OK);
    assert_int_equal(store_backup(f->s, dest, &eb), ERR_OK);        /* replaces its earlier copy */
    assert_int_equal(store_backup(f->s, f->url, &eb), ERR_INVALID); /* not onto itself */
    struct store *copy = NULL;
    assert_int_equal(store_open(dest, &copy, &eb), ERR_OK);
    assert_int_equal(store_check(copy, &eb), ERR_OK);
    assert_int_equal(store_verify(copy, true, &eb), ERR_OK);
    struct st_account b;
    assert_int_equal(store_account_get(copy, "acc_b", &b), ERR_OK);
    struct st_pool got;
    assert_int_equal(store_pool_get(copy, f->a.id, p.ext_id, &got), ERR_OK);
    assert_string_equal(got.name, "kept");
    store_close(copy);
    be->cleanup(dest);
}

static void a_store_that_does_not_exist_is_reported_not_created(void **state)
{
    (void)state;
    if (!be->fresh_is_missing)
        return;
    char url[256];
    be->fresh(url, sizeof(url));
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(url, &s, &eb), ERR_OK);
    assert_int_equal(store_check(s, &eb), ERR_NOTFOUND);
    assert_non_null(strstr(eb.msg, "opendni init"));
    assert_int_equal(store_verify(s, false, &eb), ERR_OK); /* nothing there to be damaged */
    if (be->backup_dest)
        assert_int_equal(store_backup(s, "/tmp/unused", &eb), ERR_NOTFOUND);
    store_close(s);
    assert_int_equal(store_open(url, &s, &eb), ERR_OK);
    assert_int_equal(store_check(s, &eb), ERR_NOTFOUND); /* the first open created nothing */
    int version = 0;
    assert_int_equal(store_migrate(s, 1, &version, &eb), ERR_OK);
    assert_int_equal(store_check(s, &eb), ERR_OK);
    store_close(s);
    be->cleanup(url);
}

/* ==== accounts, keys, origins ================================================================= */

COUNTER(count_cred, struct st_provider_cred)

static int cred_account(void *ctx, const struct st_provider_cred *c)
{
    *(int64_t *)ctx = c->account_id;
    return 0;
}

static int origin_cb(void *ctx, const char *origin)
{
    snprintf(ctx, 64, "%s", origin);
    return 0;
}

struct key_rows {
    struct st_api_key k[8];
    size_t n;
};

static int key_cb(void *ctx, const struct st_api_key *k)
{
    struct key_rows *r = ctx;
    if (r->n < ARRAY_SIZE(r->k))
        r->k[r->n++] = *k;
    return 0;
}

static int count_origin_cb(void *ctx, const char *origin)
{
    (void)origin;
    ++*(int *)ctx;
    return 0;
}

/* The dashboard's key list and one-key revocation, and adding and removing allowed origins:
 * each on the account named only (another account's key or origin is never touched). */
static void api_key_list_revoke_and_origin_edits(void **state)
{
    struct fx *f = *state;
    struct st_account got;
    assert_int_equal(store_api_key_add(f->s, f->a.id, "hash-a2", 20), ERR_OK);
    struct key_rows r = {0};
    assert_int_equal(store_api_key_list(f->s, f->a.id, key_cb, &r), ERR_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.k[0].key_hash, "hash-a");
    assert_string_equal(r.k[1].key_hash, "hash-a2");
    assert_int_equal(r.k[1].created_at, 20);
    assert_int_equal(r.k[1].revoked_at, 0);
    assert_true(r.k[0].id < r.k[1].id);
    struct key_rows rb = {0};
    assert_int_equal(store_api_key_list(f->s, f->b.id, key_cb, &rb), ERR_OK);
    assert_int_equal(rb.n, 1);
    /* another account's key id: not found, and that key still works */
    assert_int_equal(store_api_key_revoke(f->s, f->a.id, rb.k[0].id, 21), ERR_NOTFOUND);
    assert_int_equal(store_account_by_key(f->s, "hash-b", &got), ERR_OK);
    assert_int_equal(store_api_key_revoke(f->s, f->a.id, r.k[0].id, 22), ERR_OK);
    assert_int_equal(store_account_by_key(f->s, "hash-a", &got), ERR_NOTFOUND);
    assert_int_equal(store_account_by_key(f->s, "hash-a2", &got), ERR_OK);
    assert_int_equal(store_api_key_revoke(f->s, f->a.id, r.k[0].id, 23), ERR_NOTFOUND);
    r.n = 0;
    assert_int_equal(store_api_key_list(f->s, f->a.id, key_cb, &r), ERR_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.k[0].revoked_at, 22);
    /* origins */
    bool known = false;
    assert_int_equal(store_origin_add(f->s, f->a.id, "https://new.example"), ERR_OK);
    assert_int_equal(store_origin_add(f->s, f->a.id, "https://new.example"), ERR_OK); /* again */
    assert_int_equal(store_origin_exists(f->s, "https://new.example", &known), ERR_OK);
    assert_true(known);
    int n = 0;
    assert_int_equal(store_account_origins(f->s, f->a.id, count_origin_cb, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_origin_delete(f->s, f->a.id, "https://b.example"), ERR_NOTFOUND);
    assert_int_equal(store_origin_exists(f->s, "https://b.example", &known), ERR_OK);
    assert_true(known); /* B's origin stays */
    assert_int_equal(store_origin_delete(f->s, f->a.id, "https://new.example"), ERR_OK);
    assert_int_equal(store_origin_delete(f->s, f->a.id, "https://new.example"), ERR_NOTFOUND);
    assert_int_equal(store_origin_exists(f->s, "https://new.example", &known), ERR_OK);
    assert_false(known);
}

static void accounts_keys_and_origins(void **state)
{
    struct fx *f = *state;
    struct st_account got;
    assert_int_equal(store_account_get(f->s, f->a.ext_id, &got), ERR_OK);
    assert_int_equal(got.id, f->a.id);
    assert_int_equal(store_account_by_id(f->s, f->b.id, &got), ERR_OK);
    assert_string_equal(got.ext_id, "acc_b");
    assert_int_equal(store_account_get(f->s, "acc_none", &got), ERR_NOTFOUND);
    assert_int_equal(store_account_by_key(f->s, "hash-a", &got), ERR_OK);
    assert_int_equal(got.id, f->a.id);
    const char *o[] = {"https://c.example"};
    assert_int_equal(store_account_create(f->s, "acc_b", "dup", o, 1, "hash-c", 11, &got, NULL),
                     ERR_CONFLICT);
    assert_int_equal(store_account_by_key(f->s, "hash-c", &got), ERR_NOTFOUND); /* nothing kept */
    bool known = true;
    assert_int_equal(store_origin_exists(f->s, "https://c.example", &known), ERR_OK);
    assert_false(known);
    assert_int_equal(store_origin_exists(f->s, "https://b.example", &known), ERR_OK);
    assert_true(known);
    char origin[64] = "";
    assert_int_equal(store_account_origins(f->s, f->a.id, origin_cb, origin), ERR_OK);
    assert_string_equal(origin, "https://a.example");
    /* keys: add, revoke the others, a foreign key cannot be kept */
    assert_int_equal(store_api_key_add(f->s, f->a.id, "hash-a2", 20), ERR_OK);
    int64_t n = -1;
    assert_int_equal(store_api_key_revoke_others(f->s, f->a.id, "hash-b", 21, &n), ERR_NOTFOUND);
    assert_int_equal(store_account_by_key(f->s, "hash-a", &got), ERR_OK);
    assert_int_equal(store_api_key_revoke_others(f->s, f->a.id, "hash-a2", 21, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_account_by_key(f->s, "hash-a", &got), ERR_NOTFOUND);
    assert_int_equal(store_account_by_key(f->s, "hash-b", &got), ERR_OK); /* B untouched */
    /* settings, provider credentials (found by the provider's account id), listing */
    assert_int_equal(store_account_set_settings(f->s, f->a.id, "{\"x\":1}"), ERR_OK);
    assert_int_equal(store_account_by_id(f->s, f->a.id, &got), ERR_OK);
    assert_string_equal(got.settings, "{\"x\":1}");
    assert_int_equal(store_provider_cred_set(f->s, f->a.id, "twilio", "AC1", "tok", 22), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, f->a.id, "twilio", NULL, "tok2", 23), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, 999999, "twilio", "AC2", "t", 23), ERR_NOTFOUND);
    struct st_provider_cred cred;
    assert_int_equal(store_provider_cred_get(f->s, f->a.id, "twilio", &cred), ERR_OK);
    assert_string_equal(cred.account_sid, "AC1"); /* NULL kept what was stored */
    assert_string_equal(cred.secret, "tok2");
    assert_int_equal(cred.updated_at, 23);
    assert_int_equal(store_provider_cred_get(f->s, f->b.id, "twilio", &cred), ERR_NOTFOUND);
    int64_t found = 0;
    assert_int_equal(store_provider_cred_find(f->s, "twilio", "AC1", cred_account, &found), ERR_OK);
    assert_int_equal(found, f->a.id);
    found = 0;
    assert_int_equal(store_provider_cred_find(f->s, "twilio", "AC9", cred_account, &found), ERR_OK);
    assert_int_equal(found, 0);
    /* "": only the rows with no account id stored (a Telnyx key set without its id) */
    assert_int_equal(store_provider_cred_set(f->s, f->b.id, "telnyx", NULL, "key-b", 24), ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, f->a.id, "telnyx", "T-A", "key-a", 24), ERR_OK);
    assert_int_equal(store_provider_cred_find(f->s, "telnyx", "", cred_account, &found), ERR_OK);
    assert_int_equal(found, f->b.id);
    found = 0;
    assert_int_equal(store_provider_cred_find(f->s, "twilio", "", cred_account, &found), ERR_OK);
    assert_int_equal(found, 0);
    int n_telnyx = 0;
    assert_int_equal(store_provider_cred_find(f->s, "telnyx", NULL, count_cred, &n_telnyx), ERR_OK);
    assert_int_equal(n_telnyx, 2);
    int n_creds = 0;
    assert_int_equal(store_provider_cred_list(f->s, f->a.id, count_cred, &n_creds), ERR_OK);
    assert_int_equal(n_creds, 2); /* twilio, telnyx */
    int count = 0;
    assert_int_equal(store_account_list(f->s, count_account, &count), ERR_OK);
    assert_int_equal(count, 2);
}

/* ==== pools, numbers, rules, with tenant scoping ============================================== */

static void pools_crud_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    assert_int_equal(p.created_at, 100);
    struct st_pool got;
    assert_int_equal(store_pool_get(f->s, f->a.id, p.ext_id, &got), ERR_OK);
    assert_int_equal(got.lease_ttl_s, 60);
    assert_int_equal(store_pool_get(f->s, f->b.id, p.ext_id, &got), ERR_NOTFOUND);
    assert_int_equal(store_pool_delete(f->s, f->b.id, p.ext_id, 1000), ERR_NOTFOUND);
    p.cooldown_s = 30;
    p.fallback_mode = true;
    snprintf(p.fallback_number, sizeof(p.fallback_number), "+15555550199");
    assert_int_equal(store_pool_update(f->s, &p, NULL), ERR_OK);
    assert_int_equal(store_pool_by_id(f->s, p.account_id, p.id, &got), ERR_OK);
    assert_true(got.fallback_mode);
    assert_int_equal(got.cooldown_s, 30);
    assert_int_equal(store_pool_by_fallback(f->s, "+15555550199", &got), ERR_OK);
    assert_int_equal(got.id, p.id);
    assert_int_equal(store_pool_set_counters(f->s, p.account_id, p.id, 7, 3), ERR_OK);
    assert_int_equal(store_pool_by_id(f->s, p.account_id, p.id, &got), ERR_OK);
    assert_int_equal(got.exhaustion_events, 7);
    assert_int_equal(got.peak_concurrent, 3);
    make_pool(f, f->b.id, "+15555550300", 60, 0, false);
    int n_a = 0, n_all = 0;
    assert_int_equal(store_pool_list(f->s, f->a.id, count_pool, &n_a), ERR_OK);
    assert_int_equal(store_pool_list(f->s, 0, count_pool, &n_all), ERR_OK);
    assert_int_equal(n_a, 1);
    assert_int_equal(n_all, 2);
    assert_int_equal(store_pool_delete(f->s, f->a.id, p.ext_id, 1000), ERR_OK);
    assert_int_equal(store_pool_by_id(f->s, p.account_id, p.id, &got), ERR_NOTFOUND);
}

static void numbers_crud_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 101);
    assert_int_equal(n.created_at, 200);
    struct st_number dup = n;
    dup.account_id = f->b.id;
    assert_int_equal(store_number_create(f->s, &dup, 201, NULL), ERR_CONFLICT); /* any account */
    struct st_number src = make_number(f, f->a.id, 0, 102);
    struct st_number got;
    assert_int_equal(store_number_get(f->s, f->a.id, n.ext_id, &got), ERR_OK);
    assert_int_equal(store_number_get(f->s, f->b.id, n.ext_id, &got), ERR_NOTFOUND);
    assert_int_equal(store_number_delete(f->s, f->b.id, n.ext_id, 1000), ERR_NOTFOUND);
    assert_int_equal(store_number_by_e164(f->s, "+15555550102", &got), ERR_OK);
    assert_int_equal(got.id, src.id);
    assert_string_equal(got.source, "billboard");
    snprintf(n.forward_to, sizeof(n.forward_to), "+15555550111");
    assert_int_equal(store_number_update(f->s, &n, 300, NULL), ERR_OK);
    assert_int_equal(store_number_by_id(f->s, n.account_id, n.id, &got), ERR_OK);
    assert_string_equal(got.forward_to, "+15555550111");
    int in_pool = 0, all = 0;
    assert_int_equal(store_number_list(f->s, f->a.id, p.id, count_number, &in_pool), ERR_OK);
    assert_int_equal(store_number_list(f->s, f->a.id, 0, count_number, &all), ERR_OK);
    assert_int_equal(in_pool, 1);
    assert_int_equal(all, 2);
    assert_int_equal(store_number_delete(f->s, f->a.id, src.ext_id, 1000), ERR_OK);
    assert_int_equal(store_number_by_id(f->s, src.account_id, src.id, &got), ERR_NOTFOUND);
}

static int rule_cb(void *ctx, const struct st_rule *r)
{
    int64_t *pos = ctx;
    while (*pos)
        pos++;
    *pos = r->position;
    return 0;
}

static void rules_crud_in_order_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_rule r2 = {.account_id = f->a.id, .position = 2};
    snprintf(r2.field, sizeof(r2.field), "utm_source");
    snprintf(r2.op, sizeof(r2.op), "eq");
    snprintf(r2.value, sizeof(r2.value), "x");
    struct st_rule r1 = r2;
    r1.position = 1;
    assert_int_equal(store_rule_create(f->s, &r2, 400, NULL), ERR_OK);
    assert_int_equal(store_rule_create(f->s, &r1, 400, NULL), ERR_OK);
    int64_t pos[4] = {0};
    assert_int_equal(store_rule_list(f->s, f->a.id, rule_cb, pos), ERR_OK);
    assert_int_equal(pos[0], 1);
    assert_int_equal(pos[1], 2);
    assert_int_equal(pos[2], 0);
    assert_int_equal(store_rule_delete(f->s, f->b.id, r1.ext_id), ERR_NOTFOUND);
    assert_int_equal(store_rule_delete(f->s, f->a.id, r1.ext_id), ERR_OK);
    assert_int_equal(store_rule_delete(f->s, f->a.id, r1.ext_id), ERR_NOTFOUND);
}

/* ==== sessions, durable leases, events ======================================================== */

static int copy_lease(void *ctx, const struct st_lease *l)
{
    *(struct st_lease *)ctx = *l;
    return 0;
}

static void sessions_and_lease_times_never_move_back(void **state)
{
    struct fx *f = *state;
    struct st_session ss = make_session(f, "s_one", 1000);
    struct st_session dup = ss;
    dup.id = 0;
    assert_int_equal(store_session_put(f->s, &dup), ERR_CONFLICT);
    ss.last_active_at = 500; /* older: ignored */
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    struct st_session got;
    assert_int_equal(store_session_get(f->s, "s_one", &got), ERR_OK);
    assert_int_equal(got.last_active_at, 1000);
    assert_int_equal(store_session_by_id(f->s, ss.account_id, ss.id, &got), ERR_OK);
    assert_string_equal(got.device, "mobile");
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 101);
    struct st_lease l = {.account_id = ss.account_id,
                         .session_id = ss.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 1000,
                         .last_active_at = 1000,
                         .expires_at = 61000};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    assert_true(l.id > 0);
    assert_int_equal(store_lease_renew(f->s, ss.account_id, ss.id, n.id, 5000, 65000), ERR_OK);
    assert_int_equal(store_lease_renew(f->s, ss.account_id, ss.id, n.id, 2000, 62000),
                     ERR_OK); /* late */
    assert_int_equal(store_lease_renew(f->s, ss.account_id, ss.id, n.id + 99, 2000, 62000),
                     ERR_NOTFOUND);
    struct st_lease last = {0};
    assert_int_equal(store_session_leases(f->s, ss.account_id, ss.id, copy_lease, &last), ERR_OK);
    assert_int_equal(last.last_active_at, 5000);
    assert_int_equal(last.expires_at, 65000);
    assert_string_equal(last.session_ext, "s_one");
    int live = 0;
    assert_int_equal(store_lease_list_live(f->s, p.account_id, p.id, 64999, count_lease, &live),
                     ERR_OK);
    assert_int_equal(live, 1);
    live = 0;
    assert_int_equal(store_lease_list_live(f->s, p.account_id, p.id, 65000, count_lease, &live),
                     ERR_OK);
    assert_int_equal(live, 0);
    /* a stored live lease blocks deletes until it ends */
    assert_int_equal(store_number_delete(f->s, f->a.id, n.ext_id, 2000), ERR_CONFLICT);
    assert_int_equal(store_pool_delete(f->s, f->a.id, p.ext_id, 2000), ERR_CONFLICT);
    assert_int_equal(store_pool_delete(f->s, f->a.id, p.ext_id, 70000), ERR_OK);
    assert_int_equal(store_number_by_id(f->s, n.account_id, n.id, &(struct st_number){0}),
                     ERR_NOTFOUND);
}

/* store_visits_add: new sessions with their leases stored together in the caller's
 * transaction, each readable as if put one at a time; the ids keep coming from the same place
 * (a session put after them gets a new one); a duplicate session fails the call and, rolled
 * back, leaves nothing of it. */
static void visits_add_stores_sessions_with_their_leases(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    struct st_session ss[3];
    struct st_lease ls[3];
    struct st_visit_add v[3];
    for (int i = 0; i < 3; i++) {
        ss[i] = (struct st_session){
            .account_id = f->a.id, .created_at = 1000 + i, .last_active_at = 1000 + i};
        snprintf(ss[i].ext_id, sizeof(ss[i].ext_id), "s_batch%d", i);
        snprintf(ss[i].landing_page, sizeof(ss[i].landing_page), "https://a.example/p%d", i);
        ls[i] = (struct st_lease){.account_id = f->a.id,
                                  .number_id = i == 1 ? n2.id : n1.id,
                                  .pool_id = p.id,
                                  .leased_at = 1000 + i,
                                  .last_active_at = 1000 + i,
                                  .expires_at = 61000 + i,
                                  .shared = i == 2};
        v[i] = (struct st_visit_add){&ss[i], &ls[i]};
    }
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_visits_add(f->s, v, 3), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    for (int i = 0; i < 3; i++) {
        assert_true(ss[i].id > 0 && ls[i].id > 0);
        assert_int_equal(ls[i].session_id, ss[i].id);
        for (int k = 0; k < i; k++)
            assert_true(ss[k].id != ss[i].id && ls[k].id != ls[i].id);
        struct st_session got;
        assert_int_equal(store_session_get(f->s, ss[i].ext_id, &got), ERR_OK);
        assert_int_equal(got.id, ss[i].id);
        assert_string_equal(got.landing_page, ss[i].landing_page);
        struct st_lease last = {0};
        assert_int_equal(store_session_leases(f->s, ss[i].account_id, ss[i].id, copy_lease, &last),
                         ERR_OK);
        assert_int_equal(last.id, ls[i].id);
        assert_int_equal(last.number_id, ls[i].number_id);
        assert_int_equal(last.expires_at, 61000 + i);
        assert_int_equal(last.shared, i == 2);
        assert_string_equal(last.session_ext, ss[i].ext_id);
    }
    struct st_session after = make_session(f, "s_after", 2000);
    for (int i = 0; i < 3; i++)
        assert_true(after.id != ss[i].id);
    /* a duplicate among them: the call fails, and the transaction rolled back keeps none */
    struct st_session again[2] = {
        {.account_id = f->a.id, .created_at = 3000, .last_active_at = 3000}, ss[0]};
    snprintf(again[0].ext_id, sizeof(again[0].ext_id), "s_batch_new");
    again[1].id = 0;
    struct st_lease al[2] = {ls[0], ls[1]};
    struct st_visit_add av[2] = {{&again[0], &al[0]}, {&again[1], &al[1]}};
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_visits_add(f->s, av, 2), ERR_CONFLICT);
    store_rollback(f->s);
    struct st_session none;
    assert_int_equal(store_session_get(f->s, "s_batch_new", &none), ERR_NOTFOUND);
    assert_int_equal(store_visits_add(f->s, av, 0), ERR_OK);
}

/* The client key a session was created with (migration 0006) comes back on the session and on
 * every lease read; store_session_held answers "was this session shown this number". */
struct lease_rows {
    int n;
    struct st_lease rows[8];
};

static int collect_lease(void *ctx, const struct st_lease *l)
{
    struct lease_rows *r = ctx;
    if (r->n < 8)
        r->rows[r->n++] = *l;
    return 0;
}

/* store_session_leases: the session's latest lease in each pool (by id: the last added), one
 * row per pool in pool order, nothing of another session. */
static void session_leases_latest_per_pool_in_pool_order(void **state)
{
    struct fx *f = *state;
    struct st_session ss = make_session(f, "s_pools", 1000);
    struct st_session other = make_session(f, "s_other", 1000);
    struct st_pool a = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_pool b = make_pool(f, f->a.id, "+15555550199", 60, 0, false);
    struct st_number na1 = make_number(f, f->a.id, a.id, 201);
    struct st_number na2 = make_number(f, f->a.id, a.id, 202);
    struct st_number nb = make_number(f, f->a.id, b.id, 203);
    /* b's lease first, then two in a (the older one with the later times), another session's */
    struct st_lease rows[] = {
        {.account_id = ss.account_id,
         .session_id = ss.id,
         .number_id = nb.id,
         .pool_id = b.id,
         .leased_at = 1000},
        {.account_id = ss.account_id,
         .session_id = ss.id,
         .number_id = na1.id,
         .pool_id = a.id,
         .leased_at = 9000},
        {.account_id = ss.account_id,
         .session_id = ss.id,
         .number_id = na2.id,
         .pool_id = a.id,
         .leased_at = 2000},
        {.account_id = other.account_id,
         .session_id = other.id,
         .number_id = na1.id,
         .pool_id = a.id,
         .leased_at = 3000},
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        rows[i].last_active_at = rows[i].leased_at;
        rows[i].expires_at = rows[i].leased_at + 60000;
        assert_int_equal(store_lease_add(f->s, &rows[i]), ERR_OK);
    }
    struct lease_rows got = {0};
    assert_int_equal(store_session_leases(f->s, ss.account_id, ss.id, collect_lease, &got), ERR_OK);
    assert_int_equal(got.n, 2);
    int ia = a.id < b.id ? 0 : 1;
    assert_int_equal(got.rows[ia].pool_id, a.id);
    assert_int_equal(got.rows[ia].id, rows[2].id); /* the last added in a */
    assert_int_equal(got.rows[ia].number_id, na2.id);
    assert_int_equal(got.rows[1 - ia].pool_id, b.id);
    assert_int_equal(got.rows[1 - ia].number_id, nb.id);
    assert_string_equal(got.rows[0].session_ext, "s_pools");
    got.n = 0;
    assert_int_equal(store_session_leases(f->s, other.account_id, other.id, collect_lease, &got),
                     ERR_OK);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.rows[0].id, rows[3].id);
    /* a session in more pools than a backend may expect (here 7): all of them, in pool order */
    for (int i = 0; i < 5; i++) {
        char target[16];
        snprintf(target, sizeof(target), "+1555555030%d", i);
        struct st_pool p = make_pool(f, f->a.id, target, 60, 0, false);
        struct st_number n = make_number(f, f->a.id, p.id, 210 + i);
        struct st_lease l = {.account_id = ss.account_id,
                             .session_id = ss.id,
                             .number_id = n.id,
                             .pool_id = p.id,
                             .leased_at = 4000,
                             .last_active_at = 4000,
                             .expires_at = 64000};
        assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    }
    got.n = 0;
    assert_int_equal(store_session_leases(f->s, ss.account_id, ss.id, collect_lease, &got), ERR_OK);
    assert_int_equal(got.n, 7);
    for (int i = 1; i < got.n; i++)
        assert_true(got.rows[i - 1].pool_id < got.rows[i].pool_id);
}

static void session_client_and_numbers_held(void **state)
{
    struct fx *f = *state;
    struct st_session ss = {.account_id = f->a.id, .created_at = 10, .last_active_at = 10};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "s_client");
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v_client");
    snprintf(ss.client_key, sizeof(ss.client_key), "2001:db8:1:2::/64");
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    struct st_session other = make_session(f, "s_noclient", 10);
    struct st_session got;
    assert_int_equal(store_session_get(f->s, "s_client", &got), ERR_OK);
    assert_string_equal(got.client_key, "2001:db8:1:2::/64");
    assert_int_equal(store_session_by_id(f->s, other.account_id, other.id, &got), ERR_OK);
    assert_string_equal(got.client_key, ""); /* none recorded: unknown */
    struct st_pool p = make_pool(f, f->a.id, "+15555550300", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 301);
    struct st_number m = make_number(f, f->a.id, p.id, 302);
    struct st_lease l = {.account_id = ss.account_id,
                         .session_id = ss.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 10,
                         .last_active_at = 10,
                         .expires_at = 60010};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    struct st_lease read = {0};
    assert_int_equal(store_lease_history(f->s, n.account_id, n.id, 0, 1, copy_lease, &read),
                     ERR_OK);
    assert_string_equal(read.session_ext, "s_client");
    assert_string_equal(read.visitor_id, "v_client");
    assert_string_equal(read.client_key, "2001:db8:1:2::/64");
    bool held = false;
    assert_int_equal(store_session_held(f->s, ss.account_id, ss.id, n.id, &held), ERR_OK);
    assert_true(held);
    assert_int_equal(store_session_held(f->s, ss.account_id, ss.id, m.id, &held), ERR_OK);
    assert_false(held); /* never shown that one */
    assert_int_equal(store_session_held(f->s, other.account_id, other.id, n.id, &held), ERR_OK);
    assert_false(held); /* another session's number */
}

static int collect_ends(void *ctx, const struct st_lease *l)
{
    int64_t *ends = ctx;
    while (*ends)
        ends++;
    *ends = l->expires_at;
    return 0;
}

static int collect_event(void *ctx, const struct st_event *e)
{
    int64_t *at = ctx;
    while (*at)
        at++;
    *at = e->at;
    return 0;
}

static void history_window_order_max_and_events(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550200", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 201);
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        char ext[16];
        snprintf(ext, sizeof(ext), "s_h%d", i);
        struct st_session ss = make_session(f, ext, i);
        ids[i] = ss.id;
        struct st_lease l = {.account_id = ss.account_id,
                             .session_id = ss.id,
                             .number_id = n.id,
                             .pool_id = p.id,
                             .leased_at = i * 100000,
                             .last_active_at = i * 100000,
                             .expires_at = i * 100000 + 60000};
        assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
        struct st_event e = {
            .account_id = ss.account_id, .session_id = ss.id, .at = i * 100000 + 5};
        snprintf(e.type, sizeof(e.type), "tel_click");
        snprintf(e.number, sizeof(e.number), "+15555550201");
        assert_int_equal(store_event_add(f->s, &e), ERR_OK);
    }
    int64_t ends[4] = {0};
    assert_int_equal(store_lease_history(f->s, n.account_id, n.id, 100000, 10, collect_ends, ends),
                     ERR_OK);
    assert_int_equal(ends[0], 260000); /* newest first */
    assert_int_equal(ends[1], 160000);
    assert_int_equal(ends[2], 0); /* the first lease ended before `since` */
    int64_t one[4] = {0};
    assert_int_equal(store_lease_history(f->s, n.account_id, n.id, 0, 1, collect_ends, one),
                     ERR_OK);
    assert_int_equal(one[0], 260000);
    assert_int_equal(one[1], 0); /* max */
    /* a pool's leases overlapping [since, until), oldest end first, at most max */
    int64_t range[4] = {0};
    assert_int_equal(
        store_lease_range(f->s, p.account_id, p.id, 50000, 200000, 10, collect_ends, range),
        ERR_OK);
    assert_int_equal(range[0], 60000);
    assert_int_equal(range[1], 160000);
    assert_int_equal(range[2], 0); /* leased at `until`: not in it */
    int64_t first[4] = {0};
    assert_int_equal(store_lease_range(f->s, p.account_id, p.id, 0, 300000, 1, collect_ends, first),
                     ERR_OK);
    assert_int_equal(first[0], 60000);
    assert_int_equal(first[1], 0); /* max */
    int64_t none[2] = {0};
    assert_int_equal(
        store_lease_range(f->s, p.account_id, p.id + 1000, 0, 300000, 10, collect_ends, none),
        ERR_OK);
    assert_int_equal(none[0], 0); /* another pool's */
    int64_t at = -1;
    assert_int_equal(
        store_event_last(f->s, f->a.id, ids[1], "tel_click", "+15555550201", 200000, &at), ERR_OK);
    assert_int_equal(at, 100005);
    assert_int_equal(
        store_event_last(f->s, f->a.id, ids[1], "tel_click", "+15555550201", 100000, &at), ERR_OK);
    assert_int_equal(at, 0);
    assert_int_equal(store_event_last(f->s, f->a.id, ids[1], "tel_click", NULL, 200000, &at),
                     ERR_OK);
    assert_int_equal(at, 100005);
    int64_t evs[4] = {0};
    assert_int_equal(store_event_list(f->s, f->a.id, ids[2], 10, collect_event, evs), ERR_OK);
    assert_int_equal(evs[0], 200005);
    assert_int_equal(evs[1], 0);
    int64_t n_events = 0;
    assert_int_equal(store_count(f->s, "events", &n_events), ERR_OK);
    assert_int_equal(n_events, 3);
    assert_int_equal(store_count(f->s, "no_such_table", &n_events), ERR_INVALID);
}

/* The newest event of a type of a session, its detail (the GA client id of adplat): at, then id. */
static void event_last_detail_newest_of_type(void **state)
{
    struct fx *f = *state;
    struct st_session ss = make_session(f, "s_ga", 10);
    struct st_session other = make_session(f, "s_ga2", 10);
    char got[64] = "x";
    assert_int_equal(
        store_event_last_detail(f->s, ss.account_id, ss.id, "ga_client", got, sizeof(got)), ERR_OK);
    assert_string_equal(got, ""); /* none */
    static const struct {
        int64_t session;
        const char *type, *detail;
        int64_t at;
    } evs[] = {{1, "ga_client", "111.1 s1", 100}, {1, "ga_client", "333.3 s3", 300},
               {1, "ga_client", "222.2 s2", 200}, {1, "page_view", "later", 400},
               {2, "ga_client", "999.9", 500},    {1, "ga_client", "444.4 s4", 300}};
    for (size_t i = 0; i < ARRAY_SIZE(evs); i++) {
        struct st_event e = {.account_id = f->a.id,
                             .session_id = evs[i].session == 1 ? ss.id : other.id,
                             .at = evs[i].at};
        snprintf(e.type, sizeof(e.type), "%s", evs[i].type);
        snprintf(e.detail, sizeof(e.detail), "%s", evs[i].detail);
        assert_int_equal(store_event_add(f->s, &e), ERR_OK);
    }
    assert_int_equal(
        store_event_last_detail(f->s, ss.account_id, ss.id, "ga_client", got, sizeof(got)), ERR_OK);
    assert_string_equal(got, "444.4 s4"); /* the newest at 300 (written after 333.3) */
    char small[4];
    assert_int_equal(
        store_event_last_detail(f->s, ss.account_id, ss.id, "ga_client", small, sizeof(small)),
        ERR_OK);
    assert_string_equal(small, "444"); /* cut to fit */
    assert_int_equal(
        store_event_last_detail(f->s, other.account_id, other.id, "ga_client", got, sizeof(got)),
        ERR_OK);
    assert_string_equal(got, "999.9");
    assert_int_equal(
        store_event_last_detail(f->s, ss.account_id, ss.id, "tel_click", got, sizeof(got)), ERR_OK);
    assert_string_equal(got, "");
}

static void savepoint_rollback_keeps_the_rest(void **state)
{
    struct fx *f = *state;
    int64_t before = 0, after = 0;
    assert_int_equal(store_count(f->s, "sessions", &before), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    struct st_session a = {.account_id = f->a.id};
    snprintf(a.ext_id, sizeof(a.ext_id), "s_keep");
    snprintf(a.visitor_id, sizeof(a.visitor_id), "v");
    assert_int_equal(store_savepoint(f->s), ERR_OK);
    assert_int_equal(store_session_put(f->s, &a), ERR_OK);
    assert_int_equal(store_savepoint_release(f->s), ERR_OK);
    struct st_session b = a;
    b.id = 0;
    assert_int_equal(store_savepoint(f->s), ERR_OK);
    assert_int_equal(store_session_put(f->s, &b), ERR_CONFLICT); /* same ext_id */
    store_savepoint_rollback(f->s);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_count(f->s, "sessions", &after), ERR_OK);
    assert_int_equal(after, before + 1);
    assert_int_equal(store_read_begin(f->s), ERR_OK);
    assert_int_equal(store_count(f->s, "sessions", &after), ERR_OK);
    store_read_end(f->s);
    assert_int_equal(store_begin(f->s), ERR_OK);
    b.id = 0;
    snprintf(b.ext_id, sizeof(b.ext_id), "s_gone");
    assert_int_equal(store_session_put(f->s, &b), ERR_OK);
    store_rollback(f->s);
    assert_int_equal(store_session_get(f->s, "s_gone", &b), ERR_NOTFOUND);
    /* a transaction of store_savepoints_max savepoints (a full writer batch), one rolled back */
    int max = store_savepoints_max(f->s);
    assert_true(max >= 1);
    int n = max < 100 ? max : 100;
    assert_int_equal(store_count(f->s, "sessions", &before), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    for (int i = 0; i < n; i++) {
        struct st_session c = {.account_id = f->a.id};
        snprintf(c.ext_id, sizeof(c.ext_id), i == n / 2 ? "s_keep" : "s_batch%d", i);
        snprintf(c.visitor_id, sizeof(c.visitor_id), "v");
        assert_int_equal(store_savepoint(f->s), ERR_OK);
        if (i == n / 2 && n > 1) {
            assert_int_equal(store_session_put(f->s, &c), ERR_CONFLICT);
            store_savepoint_rollback(f->s);
            continue;
        }
        assert_int_equal(store_session_put(f->s, &c), ERR_OK);
        assert_int_equal(store_savepoint_release(f->s), ERR_OK);
    }
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_count(f->s, "sessions", &after), ERR_OK);
    assert_int_equal(after, before + (n > 1 ? n - 1 : n));
}

/* ==== calls, conversions, reports, export ===================================================== */

static struct st_call make_call(struct fx *f, const char *sid, int64_t at, int64_t session_id)
{
    struct st_call c = {.account_id = f->a.id,
                        .started_at = at,
                        .updated_at = at,
                        .session_id = session_id,
                        .confidence = session_id ? 1.0 : 0.0,
                        .call_duration_s = -1,
                        .dial_duration_s = -1};
    snprintf(c.provider, sizeof(c.provider), "twilio");
    snprintf(c.provider_call_id, sizeof(c.provider_call_id), "%s", sid);
    snprintf(c.to, sizeof(c.to), "+15555550101");
    snprintf(c.from, sizeof(c.from), "+15555559999");
    snprintf(c.status, sizeof(c.status), "ringing");
    snprintf(c.method, sizeof(c.method), "%s", session_id ? "exact" : "unattributed");
    assert_int_equal(store_call_insert(f->s, &c), ERR_OK);
    assert_true(c.id > 0);
    return c;
}

static int call_cb(void *ctx, const struct st_call *c)
{
    int64_t *ids = ctx;
    while (*ids)
        ids++;
    *ids = c->id;
    return 0;
}

static void calls_conversions_reports_and_export(void **state)
{
    struct fx *f = *state;
    struct st_session ss = {.account_id = f->a.id, .created_at = 500, .last_active_at = 500};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "s_call");
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v_s_call");
    snprintf(ss.device, sizeof(ss.device), "mobile");
    snprintf(ss.click_ids, sizeof(ss.click_ids), "{\"gclid\":\"G-1\",\"msclkid\":\"m5f0c\"}");
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    struct st_call c1 = make_call(f, "CA1", 1000, ss.id);
    struct st_call c2 = make_call(f, "CA2", 2000, 0);
    struct st_call c3 = make_call(f, "CA3", 3000, 0);
    struct st_call dup = c1;
    dup.id = 0;
    dup.ext_id[0] = '\0';
    assert_int_equal(store_call_insert(f->s, &dup), ERR_CONFLICT); /* a retried webhook */
    struct st_call got;
    assert_int_equal(store_call_by_provider(f->s, "twilio", "CA2", &got), ERR_OK);
    assert_int_equal(got.id, c2.id);
    assert_int_equal(store_call_get(f->s, f->a.id, c1.ext_id, &got), ERR_OK);
    assert_int_equal(store_call_get(f->s, f->b.id, c1.ext_id, &got), ERR_NOTFOUND); /* tenant */
    snprintf(c2.status, sizeof(c2.status), "completed");
    c2.duration_s = 75;
    c2.ended_at = 2075000;
    assert_int_equal(store_call_update(f->s, &c2), ERR_OK);
    assert_int_equal(store_call_by_id(f->s, c2.account_id, c2.id, &got), ERR_OK);
    assert_string_equal(got.status, "completed");
    assert_int_equal(got.duration_s, 75);
    struct st_call none = c2;
    none.id = 99999;
    assert_int_equal(store_call_update(f->s, &none), ERR_NOTFOUND);
    int64_t ids[4] = {0};
    assert_int_equal(store_call_list(f->s, f->a.id, 0, 10000, 1000, c1.id, 1, call_cb, ids),
                     ERR_OK);
    assert_int_equal(ids[0], c2.id); /* after the cursor, at most max */
    assert_int_equal(ids[1], 0);
    int64_t none_b[2] = {0};
    assert_int_equal(store_call_list(f->s, f->b.id, 0, 10000, 0, 0, 10, call_cb, none_b), ERR_OK);
    assert_int_equal(none_b[0], 0);
    struct st_caller who;
    assert_int_equal(store_call_caller(f->s, f->a.id, "+15555559999", c3.id, &who), ERR_OK);
    assert_int_equal(who.prior_calls, 2);
    assert_int_equal(who.first_session_id, ss.id);
    assert_int_equal(who.last_session_id, ss.id); /* CA3 had no session: CA1 is the latest */
    bool credited = false;
    assert_int_equal(store_call_session_credited(f->s, f->a.id, ss.id, 1001, &credited), ERR_OK);
    assert_true(credited);
    assert_int_equal(store_call_session_credited(f->s, f->a.id, ss.id, 1000, &credited), ERR_OK);
    assert_false(credited); /* only calls started before */
    assert_int_equal(store_call_session_credited(f->s, f->b.id, ss.id, INT64_MAX, &credited),
                     ERR_OK);
    assert_false(credited);                         /* another account's */
    who.first_session_id = who.last_session_id = 7; /* the caller's first call: nothing earlier */
    assert_int_equal(store_call_caller(f->s, f->a.id, "+15555559999", c1.id, &who), ERR_OK);
    assert_int_equal(who.prior_calls, 0);
    assert_int_equal(who.first_session_id, 0);
    assert_int_equal(who.last_session_id, 0);
    struct st_conversion cv = {.call_id = c1.id, .account_id = f->a.id, .value = 50, .at = 5000};
    snprintf(cv.name, sizeof(cv.name), "qualified");
    snprintf(cv.currency, sizeof(cv.currency), "USD");
    assert_int_equal(store_conversion_add(f->s, &cv), ERR_OK);
    struct st_conversion again = cv;
    assert_int_equal(store_conversion_add(f->s, &again), ERR_CONFLICT); /* exactly once */
    struct st_conversion read;
    assert_int_equal(store_conversion_by_call(f->s, c1.account_id, c1.id, &read), ERR_OK);
    assert_int_equal(read.id, cv.id);
    assert_int_equal(store_conversion_by_call(f->s, c2.account_id, c2.id, &read), ERR_NOTFOUND);
    int n_calls = 0, n_conv = 0, n_trace = 0;
    assert_int_equal(store_report_calls(f->s, f->a.id, 0, 10000, count_report_call, &n_calls),
                     ERR_OK);
    assert_int_equal(n_calls, 3);
    assert_int_equal(
        store_report_conversions(f->s, f->a.id, 0, 10000, count_report_conversion, &n_conv),
        ERR_OK);
    assert_int_equal(n_conv, 1);
    struct st_report_conversion rc1 = {0};
    assert_int_equal(store_report_conversions(f->s, f->a.id, 0, 10000, first_conversion, &rc1),
                     ERR_OK);
    assert_string_equal(rc1.gclid, "G-1"); /* the click ids of the credited session */
    assert_string_equal(rc1.msclkid, "m5f0c");
    assert_int_equal(rc1.click_at, 500);
    assert_int_equal(store_export_trace(f->s, 0, 0, count_trace, &n_trace), ERR_OK);
    assert_true(n_trace >= 1);
}

/* The simulator's trace of one pool: its sessions (those that held a lease in it) and the calls
 * to its numbers; another pool's and another account's stay out. */
static int collect_trace(void *ctx, const struct st_trace_row *r)
{
    char *out = ctx;
    size_t len = strlen(out);
    snprintf(out + len, 512 - len, "%d:%s;", (int)r->kind, r->session);
    return 0;
}

/* Citus rule (issue 11): a row read by its row id is read in its account; another account's id
 * finds nothing, on both backends (PostgreSQL: one shard's statement). */
/* Every account's id, in id order; the walks that act per account after listing them. */
static void account_ids_lists_every_account(void **state)
{
    struct fx *f = *state;
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(store_account_ids(f->s, &ids, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_true(f->a.id < f->b.id);
    assert_int_equal(ids[0], f->a.id);
    assert_int_equal(ids[1], f->b.id);
    free(ids);
}

static void rows_by_id_in_their_account(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 101);
    struct st_session ss = make_session(f, "s_byid", 1000);
    struct st_call c = make_call(f, "CA_byid", 2000, ss.id);
    struct st_pool gp;
    struct st_number gn;
    struct st_session gs;
    struct st_call gc;
    assert_int_equal(store_pool_by_id(f->s, f->a.id, p.id, &gp), ERR_OK);
    assert_int_equal(store_pool_by_id(f->s, f->b.id, p.id, &gp), ERR_NOTFOUND);
    assert_int_equal(store_number_by_id(f->s, f->a.id, n.id, &gn), ERR_OK);
    assert_int_equal(store_number_by_id(f->s, f->b.id, n.id, &gn), ERR_NOTFOUND);
    assert_int_equal(store_session_by_id(f->s, f->a.id, ss.id, &gs), ERR_OK);
    assert_int_equal(store_session_by_id(f->s, f->b.id, ss.id, &gs), ERR_NOTFOUND);
    assert_int_equal(store_call_by_id(f->s, f->a.id, c.id, &gc), ERR_OK);
    assert_int_equal(gc.session_id, ss.id);
    assert_int_equal(store_call_by_id(f->s, f->b.id, c.id, &gc), ERR_NOTFOUND);
}

static void export_trace_of_one_pool(void **state)
{
    struct fx *f = *state;
    struct st_pool p1 = make_pool(f, f->a.id, "+15555550300", 60, 0, false);
    struct st_pool p2 = make_pool(f, f->a.id, "+15555550400", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p1.id, 301);
    struct st_number n2 = make_number(f, f->a.id, p2.id, 401);
    struct st_session s1 = make_session(f, "s_tp1", 1000);
    struct st_session s2 = make_session(f, "s_tp2", 1100);
    struct st_lease l1 = {.account_id = s1.account_id,
                          .session_id = s1.id,
                          .number_id = n1.id,
                          .pool_id = p1.id,
                          .leased_at = 1000,
                          .last_active_at = 1000,
                          .expires_at = 61000};
    struct st_lease l2 = {.account_id = s2.account_id,
                          .session_id = s2.id,
                          .number_id = n2.id,
                          .pool_id = p2.id,
                          .leased_at = 1100,
                          .last_active_at = 1100,
                          .expires_at = 61100};
    assert_int_equal(store_lease_add(f->s, &l1), ERR_OK);
    assert_int_equal(store_lease_add(f->s, &l2), ERR_OK);
    struct st_call c1 = make_call(f, "CA_tp1", 2000, s1.id);
    struct st_call c2 = make_call(f, "CA_tp2", 2100, s2.id);
    (void)c1;
    (void)c2;
    /* the calls' numbers: c1 to p1's, c2 to p2's */
    char got[512] = "";
    assert_int_equal(store_export_trace_pool(f->s, f->a.id, p1.id, 0, collect_trace, got), ERR_OK);
    assert_string_equal(got, "0:s_tp1;");
    /* the calls are matched by number or pool: store them with theirs */
    struct st_call c3 = {.account_id = f->a.id,
                         .number_id = n1.id,
                         .pool_id = p1.id,
                         .started_at = 3000,
                         .updated_at = 3000,
                         .session_id = s1.id,
                         .confidence = 1.0,
                         .call_duration_s = -1,
                         .dial_duration_s = -1};
    snprintf(c3.provider, sizeof(c3.provider), "twilio");
    snprintf(c3.provider_call_id, sizeof(c3.provider_call_id), "CA_tp3");
    snprintf(c3.to, sizeof(c3.to), "+15555550301");
    snprintf(c3.from, sizeof(c3.from), "+15555559998");
    snprintf(c3.status, sizeof(c3.status), "completed");
    snprintf(c3.method, sizeof(c3.method), "exact");
    assert_int_equal(store_call_insert(f->s, &c3), ERR_OK);
    struct st_call c4 = c3;
    c4.id = 0;
    c4.ext_id[0] = '\0';
    c4.number_id = n2.id;
    c4.pool_id = p2.id;
    c4.session_id = s2.id;
    snprintf(c4.provider_call_id, sizeof(c4.provider_call_id), "CA_tp4");
    assert_int_equal(store_call_insert(f->s, &c4), ERR_OK);
    got[0] = '\0';
    assert_int_equal(store_export_trace_pool(f->s, f->a.id, p1.id, 0, collect_trace, got), ERR_OK);
    assert_string_equal(got, "0:s_tp1;3:s_tp1;");
    got[0] = '\0';
    assert_int_equal(store_export_trace_pool(f->s, f->a.id, p2.id, 0, collect_trace, got), ERR_OK);
    assert_string_equal(got, "0:s_tp2;3:s_tp2;");
    got[0] = '\0'; /* another account: nothing */
    assert_int_equal(store_export_trace_pool(f->s, f->b.id, p1.id, 0, collect_trace, got), ERR_OK);
    assert_string_equal(got, "");
    got[0] = '\0'; /* since: after the first visit */
    assert_int_equal(store_export_trace_pool(f->s, f->a.id, p2.id, 1050, collect_trace, got),
                     ERR_OK);
    assert_string_equal(got, "0:s_tp2;3:s_tp2;");
}

/* ==== call outcomes =========================================================================== */

/* Collects the report rows' lead statuses in order (ctx: char[2][STORE_LEAD_MAX]). */
static int lead_of(void *ctx, const struct st_report_call *r)
{
    char(*leads)[STORE_LEAD_MAX] = ctx;
    int i = leads[0][0] ? 1 : 0;
    snprintf(leads[i], STORE_LEAD_MAX, "%s", r->lead_status);
    return i; /* stop after two */
}

static void call_outcomes_default_replace_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_call c = make_call(f, "CAO1", 1000, 0);
    struct st_call_outcome o;
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &o), ERR_NOTFOUND);
    assert_int_equal(o.call_id, c.id); /* the defaults */
    assert_string_equal(o.tags, "[]");
    assert_string_equal(o.notes, "");
    assert_string_equal(o.lead_status, "new");
    assert_int_equal(o.revenue, -1);
    assert_int_equal(o.billable, -1);

    o.account_id = f->a.id;
    snprintf(o.tags, sizeof(o.tags), "[\"vip\",\"repeat\"]");
    snprintf(o.notes, sizeof(o.notes), "Wants a quote; call back Tuesday. «ünïcode»");
    snprintf(o.lead_status, sizeof(o.lead_status), "won");
    o.revenue = 1234567890123;
    o.billable = 1;
    snprintf(o.billable_by, sizeof(o.billable_by), "user");
    snprintf(o.billable_user, sizeof(o.billable_user), "ana@example.com");
    o.billable_at = 2000;
    o.updated_at = 2000;
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    struct st_call_outcome got;
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &got), ERR_OK);
    assert_int_equal(got.account_id, f->a.id);
    assert_string_equal(got.tags, o.tags);
    assert_string_equal(got.notes, o.notes);
    assert_string_equal(got.lead_status, "won");
    assert_int_equal(got.revenue, 1234567890123);
    assert_int_equal(got.billable, 1);
    assert_string_equal(got.billable_by, "user");
    assert_string_equal(got.billable_user, "ana@example.com");
    assert_int_equal(got.billable_at, 2000);
    assert_int_equal(got.updated_at, 2000);

    /* replaced whole: revenue and billable back to unset, billable false kept as false */
    o.revenue = -1;
    o.billable = -1;
    o.billable_by[0] = o.billable_user[0] = '\0';
    snprintf(o.lead_status, sizeof(o.lead_status), "spam");
    o.updated_at = 3000;
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &got), ERR_OK);
    assert_string_equal(got.lead_status, "spam");
    assert_int_equal(got.revenue, -1);
    assert_int_equal(got.billable, -1);
    assert_string_equal(got.billable_by, "");
    o.billable = 0;
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &got), ERR_OK);
    assert_int_equal(got.billable, 0);

    /* the schema refuses what the app never sends */
    struct st_call_outcome bad = o;
    snprintf(bad.lead_status, sizeof(bad.lead_status), "maybe");
    assert_int_equal(store_call_outcome_put(f->s, &bad), ERR_CONFLICT);
    bad = o;
    bad.revenue = -5;
    assert_int_equal(store_call_outcome_put(f->s, &bad), ERR_CONFLICT);

    /* another account's call, or no call: nothing written */
    struct st_call_outcome other = o;
    other.account_id = f->b.id;
    snprintf(other.lead_status, sizeof(other.lead_status), "lost");
    assert_int_equal(store_call_outcome_put(f->s, &other), ERR_NOTFOUND);
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &got), ERR_OK);
    assert_string_equal(got.lead_status, "spam");
    other = o;
    other.call_id = 999999;
    assert_int_equal(store_call_outcome_put(f->s, &other), ERR_NOTFOUND);
    assert_int_equal(store_call_outcome_get(f->s, f->a.id, 999999, &got), ERR_NOTFOUND);

    /* the calls report carries the lead status ("new" for a call without an outcome) */
    make_call(f, "CAO2", 1500, 0);
    char leads[2][STORE_LEAD_MAX] = {"", ""};
    assert_int_equal(store_report_calls(f->s, f->a.id, 1000, 1600, lead_of, leads), ERR_OK);
    assert_string_equal(leads[0], "spam"); /* CAO1, then CAO2: started_at order */
    assert_string_equal(leads[1], "new");

    /* inside a transaction, rolled back with it */
    assert_int_equal(store_begin(f->s), ERR_OK);
    snprintf(o.lead_status, sizeof(o.lead_status), "qualified");
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    store_rollback(f->s);
    assert_int_equal(store_call_outcome_get(f->s, c.account_id, c.id, &got), ERR_OK);
    assert_string_equal(got.lead_status, "spam");
}

/* ==== funnel and cohorts ====================================================================== */

struct funnel_seen {
    size_t n;
    struct st_report_session rows[8];
};

static int collect_session(void *ctx, const struct st_report_session *r)
{
    struct funnel_seen *s = ctx;
    if (s->n < ARRAY_SIZE(s->rows))
        s->rows[s->n++] = *r;
    return 0;
}

struct cohort_seen {
    size_t n;
    struct st_report_cohort rows[8];
};

static int collect_cohort(void *ctx, const struct st_report_cohort *r)
{
    struct cohort_seen *s = ctx;
    if (s->n < ARRAY_SIZE(s->rows))
        s->rows[s->n++] = *r;
    return 0;
}

static void end_call(struct fx *f, struct st_call *c, int64_t duration)
{
    snprintf(c->status, sizeof(c->status), "completed");
    c->duration_s = duration;
    assert_int_equal(store_call_update(f->s, c), ERR_OK);
}

#define WEEK ((int64_t)7 * 86400 * 1000)

static void funnel_stages_and_cohorts_by_first_visit(void **state)
{
    struct fx *f = *state;
    struct st_session sa = make_session(f, "fa", 100);
    struct st_session sb = make_session(f, "fb", 200);
    struct st_session sc = make_session(f, "fc", 300);
    struct st_session sd = make_session(f, "fd", 400);
    struct st_session se = make_session(f, "fe", 500);
    (void)sa;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 11);
    struct st_lease l = {.account_id = sb.account_id,
                         .session_id = sb.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 200,
                         .last_active_at = 200,
                         .expires_at = 60200};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    struct st_event e = {.account_id = sc.account_id, .session_id = sc.id, .at = 310};
    snprintf(e.type, sizeof(e.type), "tel_click");
    snprintf(e.number, sizeof(e.number), "%s", n.number);
    assert_int_equal(store_event_add(f->s, &e), ERR_OK);
    struct st_call cd = make_call(f, "CAF1", 450, sd.id);
    end_call(f, &cd, 90);
    struct st_conversion cv = {.call_id = cd.id, .account_id = f->a.id, .value = 1, .at = 600};
    snprintf(cv.name, sizeof(cv.name), "Phone call");
    snprintf(cv.currency, sizeof(cv.currency), "USD");
    assert_int_equal(store_conversion_add(f->s, &cv), ERR_OK);
    struct st_call ce = make_call(f, "CAF2", 550, se.id);
    end_call(f, &ce, 30);
    /* the visitor of sd comes back a week later and calls again, worth 1234 */
    struct st_session sd2 = {
        .account_id = f->a.id, .created_at = WEEK + 400, .last_active_at = WEEK + 400};
    snprintf(sd2.ext_id, sizeof(sd2.ext_id), "fd2");
    snprintf(sd2.visitor_id, sizeof(sd2.visitor_id), "v_fd");
    assert_int_equal(store_session_put(f->s, &sd2), ERR_OK);
    struct st_call cd2 = make_call(f, "CAF3", WEEK + 500, sd2.id);
    struct st_call_outcome o = {
        .call_id = cd2.id, .account_id = f->a.id, .revenue = 1234, .billable = -1, .updated_at = 1};
    snprintf(o.lead_status, sizeof(o.lead_status), "won");
    snprintf(o.billable_by, sizeof(o.billable_by), "api");
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    /* another account's session is not counted */
    struct st_session other = {.account_id = f->b.id, .created_at = 150, .last_active_at = 150};
    snprintf(other.ext_id, sizeof(other.ext_id), "fb_other");
    snprintf(other.visitor_id, sizeof(other.visitor_id), "v_other");
    assert_int_equal(store_session_put(f->s, &other), ERR_OK);

    struct funnel_seen fs = {0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 60, collect_session, &fs),
                     ERR_OK);
    assert_int_equal(fs.n, 5);
    assert_false(fs.rows[0].shown || fs.rows[0].engaged || fs.rows[0].called);
    assert_true(fs.rows[1].shown);
    assert_false(fs.rows[1].engaged);
    assert_true(fs.rows[2].engaged);
    assert_false(fs.rows[2].called);
    assert_true(fs.rows[3].called && fs.rows[3].qualified && fs.rows[3].converted);
    assert_true(fs.rows[4].called);
    assert_false(fs.rows[4].qualified || fs.rows[4].converted); /* 30 s < 60 s */
    assert_int_equal(fs.rows[4].created_at, 500);

    struct cohort_seen cs = {0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 0, 1000, collect_cohort, &cs), ERR_OK);
    assert_int_equal(cs.n, 6); /* five visitors, the one of fd with two calls */
    assert_string_equal(cs.rows[0].visitor_id, "v_fa");
    assert_int_equal(cs.rows[0].call_started_at, 0);
    assert_string_equal(cs.rows[3].visitor_id, "v_fd");
    assert_int_equal(cs.rows[3].first_at, 400);
    assert_int_equal(cs.rows[3].call_started_at, 450);
    assert_int_equal(cs.rows[3].revenue, -1);
    assert_string_equal(cs.rows[4].visitor_id, "v_fd");
    assert_int_equal(cs.rows[4].call_started_at, WEEK + 500);
    assert_int_equal(cs.rows[4].revenue, 1234);
    assert_string_equal(cs.rows[5].visitor_id, "v_fe");
    /* a visitor's cohort is their first visit: none starts in the second week */
    cs = (struct cohort_seen){0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 1000, 2 * WEEK, collect_cohort, &cs),
                     ERR_OK);
    assert_int_equal(cs.n, 0);
}

struct session_calls_seen {
    size_t n;
    struct st_report_session_call rows[8];
};

static int collect_session_call(void *ctx, const struct st_report_session_call *r)
{
    struct session_calls_seen *s = ctx;
    if (s->n < ARRAY_SIZE(s->rows))
        s->rows[s->n++] = *r;
    return 0;
}

static const struct st_report_session_call *seen_call(const struct session_calls_seen *s,
                                                      const char *ext)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rows[i].call_ext, ext) == 0)
            return &s->rows[i];
    return NULL;
}

/* include=call_ids of the funnel and the cohorts: the calls credited to the sessions created in
 * the range, or to the sessions whose visitor's first session is in it, with the session's keys,
 * first_at and whether the call qualifies; the account's own only. */
static void report_session_calls_of_funnel_and_cohorts(void **state)
{
    struct fx *f = *state;
    struct st_session sa = make_session(f, "ta", 100); /* no call */
    struct st_session sd = {.account_id = f->a.id, .created_at = 400, .last_active_at = 400};
    snprintf(sd.ext_id, sizeof(sd.ext_id), "td");
    snprintf(sd.visitor_id, sizeof(sd.visitor_id), "v_td");
    snprintf(sd.source, sizeof(sd.source), "google");
    snprintf(sd.channel, sizeof(sd.channel), "paid_search");
    assert_int_equal(store_session_put(f->s, &sd), ERR_OK);
    struct st_session se = make_session(f, "te", 500);
    (void)sa;
    struct st_call cd = make_call(f, "CAT1", 450, sd.id);
    end_call(f, &cd, 90);
    struct st_call ce = make_call(f, "CAT2", 550, se.id);
    end_call(f, &ce, 30);
    make_call(f, "CAT0", 560, 0); /* unattributed: no session */
    /* the visitor of td comes back a week later and calls again (still ringing) */
    struct st_session sd2 = {
        .account_id = f->a.id, .created_at = WEEK + 400, .last_active_at = WEEK + 400};
    snprintf(sd2.ext_id, sizeof(sd2.ext_id), "td2");
    snprintf(sd2.visitor_id, sizeof(sd2.visitor_id), "v_td");
    assert_int_equal(store_session_put(f->s, &sd2), ERR_OK);
    struct st_call cd2 = make_call(f, "CAT3", WEEK + 500, sd2.id);
    /* another account's session and call are not listed */
    struct st_session other = {.account_id = f->b.id, .created_at = 150, .last_active_at = 150};
    snprintf(other.ext_id, sizeof(other.ext_id), "tb_other");
    snprintf(other.visitor_id, sizeof(other.visitor_id), "v_tother");
    assert_int_equal(store_session_put(f->s, &other), ERR_OK);
    struct st_call oc = {.account_id = f->b.id,
                         .started_at = 160,
                         .updated_at = 160,
                         .session_id = other.id,
                         .confidence = 1.0,
                         .call_duration_s = -1,
                         .dial_duration_s = -1};
    snprintf(oc.provider, sizeof(oc.provider), "twilio");
    snprintf(oc.provider_call_id, sizeof(oc.provider_call_id), "CATB");
    snprintf(oc.status, sizeof(oc.status), "ringing");
    snprintf(oc.method, sizeof(oc.method), "exact");
    assert_int_equal(store_call_insert(f->s, &oc), ERR_OK);

    /* the funnel's: sessions created in [0, 1000) */
    struct session_calls_seen ss = {0};
    assert_int_equal(
        store_report_session_calls(f->s, f->a.id, 0, 1000, false, 60, collect_session_call, &ss),
        ERR_OK);
    assert_int_equal(ss.n, 2);
    const struct st_report_session_call *r = seen_call(&ss, cd.ext_id);
    assert_non_null(r);
    assert_true(r->qualified); /* 90 s >= 60 s */
    assert_string_equal(r->source, "google");
    assert_string_equal(r->channel, "paid_search");
    assert_int_equal(r->started_at, 450);
    assert_int_equal(r->first_at, 400);
    r = seen_call(&ss, ce.ext_id);
    assert_non_null(r);
    assert_false(r->qualified); /* 30 s < 60 s */
    assert_string_equal(r->source, "");
    /* min_duration as asked */
    ss = (struct session_calls_seen){0};
    assert_int_equal(
        store_report_session_calls(f->s, f->a.id, 0, 1000, false, 30, collect_session_call, &ss),
        ERR_OK);
    assert_true(seen_call(&ss, ce.ext_id)->qualified);

    /* the cohorts': the sessions of the visitors first seen in [0, 1000), their later ones too */
    ss = (struct session_calls_seen){0};
    assert_int_equal(
        store_report_session_calls(f->s, f->a.id, 0, 1000, true, 60, collect_session_call, &ss),
        ERR_OK);
    assert_int_equal(ss.n, 3);
    r = seen_call(&ss, cd2.ext_id);
    assert_non_null(r);
    assert_int_equal(r->first_at, 400);
    assert_int_equal(r->started_at, WEEK + 500);
    assert_false(r->qualified); /* not completed */
    assert_non_null(seen_call(&ss, cd.ext_id));
    assert_non_null(seen_call(&ss, ce.ext_id));
    /* no visitor is first seen in the second week; its session's call is the funnel's there */
    ss = (struct session_calls_seen){0};
    assert_int_equal(store_report_session_calls(f->s, f->a.id, 1000, 2 * WEEK, true, 60,
                                                collect_session_call, &ss),
                     ERR_OK);
    assert_int_equal(ss.n, 0);
    assert_int_equal(store_report_session_calls(f->s, f->a.id, 1000, 2 * WEEK, false, 60,
                                                collect_session_call, &ss),
                     ERR_OK);
    assert_int_equal(ss.n, 1);
    assert_string_equal(ss.rows[0].call_ext, cd2.ext_id);
    /* the other account sees its own call only */
    ss = (struct session_calls_seen){0};
    assert_int_equal(
        store_report_session_calls(f->s, f->b.id, 0, 1000, false, 60, collect_session_call, &ss),
        ERR_OK);
    assert_int_equal(ss.n, 1);
    assert_string_equal(ss.rows[0].call_ext, oc.ext_id);
}

/* The report's first-time flag: the one stored with the call, else an earlier call's absence. */
static int collect_first(void *ctx, const struct st_report_call *r)
{
    char *out = ctx;
    size_t n = strlen(out);
    if (n < 7)
        out[n] = r->first_time ? 'F' : 'r';
    return 0;
}

static void report_first_time_stored_or_looked_up(void **state)
{
    struct fx *f = *state;
    struct st_call a = {.account_id = f->a.id,
                        .started_at = 100,
                        .updated_at = 100,
                        .call_duration_s = -1,
                        .dial_duration_s = -1,
                        .first_caller = 2};
    snprintf(a.provider, sizeof(a.provider), "twilio");
    snprintf(a.to, sizeof(a.to), "+15555550101");
    snprintf(a.from, sizeof(a.from), "+15125550001");
    snprintf(a.status, sizeof(a.status), "ringing");
    snprintf(a.method, sizeof(a.method), "unattributed");
    struct st_call b = a, c = a, d = a;
    snprintf(a.provider_call_id, sizeof(a.provider_call_id), "CAFT1"); /* stored: repeat */
    assert_int_equal(store_call_insert(f->s, &a), ERR_OK);
    b.first_caller = 1; /* stored: first-time (the store takes the caller's word) */
    b.started_at = 200;
    snprintf(b.provider_call_id, sizeof(b.provider_call_id), "CAFT2");
    assert_int_equal(store_call_insert(f->s, &b), ERR_OK);
    c.first_caller = 0; /* not known: an earlier call from the number exists */
    c.started_at = 300;
    snprintf(c.provider_call_id, sizeof(c.provider_call_id), "CAFT3");
    assert_int_equal(store_call_insert(f->s, &c), ERR_OK);
    d.first_caller = 0; /* not known: no earlier call from this number */
    d.started_at = 400;
    snprintf(d.from, sizeof(d.from), "+15125550002");
    snprintf(d.provider_call_id, sizeof(d.provider_call_id), "CAFT4");
    assert_int_equal(store_call_insert(f->s, &d), ERR_OK);
    char seen[8] = "";
    assert_int_equal(store_report_calls(f->s, f->a.id, 0, 1000, collect_first, seen), ERR_OK);
    assert_string_equal(seen, "rFrF");
}

/* ==== ad spend ================================================================================ */

struct spend_seen {
    size_t n;
    struct st_spend_row rows[8];
};

static int collect_spend(void *ctx, const struct st_spend_row *r)
{
    struct spend_seen *s = ctx;
    if (s->n < ARRAY_SIZE(s->rows))
        s->rows[s->n++] = *r;
    return 0;
}

static struct st_spend_row spend_row(const char *day, const char *campaign, const char *kw,
                                     int64_t cost)
{
    struct st_spend_row r = {.cost = cost};
    snprintf(r.day, sizeof(r.day), "%s", day);
    snprintf(r.campaign, sizeof(r.campaign), "%s", campaign);
    snprintf(r.keyword, sizeof(r.keyword), "%s", kw);
    return r;
}

static void spend_replaces_days_one_currency_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_spend_row first[] = {spend_row("2026-12-02", "Spring", "", 500),
                                   spend_row("2026-12-01", "Spring", "", 1000),
                                   spend_row("2026-12-01", "Brand", "plumber", 250)};
    assert_int_equal(store_spend_replace(f->s, f->a.id, "google_ads", "USD", first, 3, 1), ERR_OK);
    struct st_spend_row meta[] = {spend_row("2026-12-01", "Retarget", "", 70)};
    assert_int_equal(store_spend_replace(f->s, f->a.id, "meta", "USD", meta, 1, 1), ERR_OK);
    /* another account: its own rows, in its own currency */
    assert_int_equal(store_spend_replace(f->s, f->b.id, "google_ads", "EUR", meta, 1, 1), ERR_OK);

    struct spend_seen seen = {0};
    assert_int_equal(
        store_spend_list(f->s, f->a.id, "2026-12-01", "2026-12-03", collect_spend, &seen), ERR_OK);
    assert_int_equal(seen.n, 4); /* (day, platform, campaign, keyword) order */
    assert_string_equal(seen.rows[0].campaign, "Brand");
    assert_string_equal(seen.rows[0].keyword, "plumber");
    assert_string_equal(seen.rows[1].campaign, "Spring");
    assert_int_equal(seen.rows[1].cost, 1000);
    assert_string_equal(seen.rows[2].platform, "meta");
    assert_string_equal(seen.rows[3].day, "2026-12-02");
    assert_string_equal(seen.rows[3].currency, "USD");

    /* a re-import of 12-01 replaces that day of that platform only */
    struct st_spend_row again[] = {spend_row("2026-12-01", "Spring", "", 1200)};
    assert_int_equal(store_spend_replace(f->s, f->a.id, "google_ads", "USD", again, 1, 2), ERR_OK);
    seen = (struct spend_seen){0};
    assert_int_equal(
        store_spend_list(f->s, f->a.id, "2026-12-01", "2026-12-02", collect_spend, &seen), ERR_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.rows[0].campaign, "Spring");
    assert_int_equal(seen.rows[0].cost, 1200);
    assert_string_equal(seen.rows[1].platform, "meta");

    /* another currency is refused, nothing written */
    assert_int_equal(store_spend_replace(f->s, f->a.id, "google_ads", "EUR", first, 3, 3),
                     ERR_CONFLICT);
    seen = (struct spend_seen){0};
    assert_int_equal(
        store_spend_list(f->s, f->a.id, "2026-01-01", "2027-01-01", collect_spend, &seen), ERR_OK);
    assert_int_equal(seen.n, 3);

    /* inside a transaction, rolled back with it */
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_spend_replace(f->s, f->a.id, "meta", "USD", again, 1, 4), ERR_OK);
    store_rollback(f->s);
    seen = (struct spend_seen){0};
    assert_int_equal(
        store_spend_list(f->s, f->a.id, "2026-12-01", "2026-12-02", collect_spend, &seen), ERR_OK);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.rows[1].campaign, "Retarget");
    seen = (struct spend_seen){0};
    assert_int_equal(
        store_spend_list(f->s, f->b.id, "2026-12-01", "2026-12-02", collect_spend, &seen), ERR_OK);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.rows[0].currency, "EUR");
}

/* ==== the lease claim (serving) =============================================================== */

#define MIN_MS 60000

static void claims_need_a_serving_store(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    make_number(f, f->a.id, p.id, 101);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s", 0, 1000, &c),
                     ERR_UNSUPPORTED);
    assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "s", 1000, &c), ERR_UNSUPPORTED);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 1000, &st), ERR_UNSUPPORTED);
    struct st_lease l = {
        .account_id = p.account_id, .pool_id = p.id, .last_active_at = 5, .expires_at = 6};
    int64_t active = 0, ends = 0;
    store_lease_times(f->s, &l, 1000, &active, &ends);
    assert_int_equal(active, 5);
    assert_int_equal(ends, 6);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id + 99, "s", 0, 1000, &c),
                     ERR_NOTFOUND);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_INVALID); /* once */
}

static void claim_touch_times_and_deletes(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 101);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_a", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n.id);
    assert_string_equal(c.number, "+15555550101");
    assert_true(c.display[0] != '\0');
    assert_true(c.flags & POOL_LEASE_NEW);
    assert_int_equal(c.leased_at, 1000);
    assert_int_equal(c.expires_at, 1000 + MIN_MS);
    assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "s_a", 5000, &c), ERR_OK);
    assert_true(c.flags & POOL_LEASE_RENEWED);
    assert_int_equal(c.expires_at, 5000 + MIN_MS);
    assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "s_b", 5000, &c), ERR_NOTFOUND);
    /* another account's id names no pool (the Citus rule): no claim, touch or statistics */
    assert_int_equal(store_lease_claim(f->s, f->b.id, p.id, "s_x", 0, 5000, &c), ERR_NOTFOUND);
    assert_int_equal(store_lease_touch(f->s, f->b.id, p.id, "s_a", 5000, &c), ERR_NOTFOUND);
    struct pool_stats other;
    assert_int_equal(store_pool_stats(f->s, f->b.id, p.id, 5000, &other), ERR_NOTFOUND);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_a", 0, 6000, &c), ERR_OK);
    assert_true(c.flags & POOL_LEASE_RENEWED);
    /* the engine's exact times for a stored lease it knows; stored ones otherwise */
    struct st_session ss = make_session(f, "s_a", 1000);
    struct st_lease l = {.account_id = ss.account_id,
                         .session_id = ss.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 1000,
                         .last_active_at = 1000,
                         .expires_at = 1000 + MIN_MS};
    snprintf(l.session_ext, sizeof(l.session_ext), "s_a");
    int64_t active = 0, ends = 0;
    store_lease_times(f->s, &l, 7000, &active, &ends);
    assert_int_equal(active, 6000);
    assert_int_equal(ends, 6000 + MIN_MS);
    l.leased_at = 900; /* an earlier lease of the session: not the one the engine holds */
    store_lease_times(f->s, &l, 7000, &active, &ends);
    assert_int_equal(active, 1000);
    /* the live claim (not yet stored) holds the number against deletes */
    assert_int_equal(store_number_delete(f->s, f->a.id, n.ext_id, 7000), ERR_CONFLICT);
    struct st_number still;
    assert_int_equal(store_number_by_id(f->s, n.account_id, n.id, &still), ERR_OK);
    assert_int_equal(store_number_delete(f->s, f->a.id, n.ext_id, 6000 + MIN_MS), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_c", 0, 6000 + MIN_MS, &c),
                     ERR_EXHAUSTED);
}

/* A claim taken back (its commit failed, or a flood's) leaves nothing: no lease, no exhaustion
 * event, no peak, the number free again in its old idle order; its stored row can be deleted. */
static void release_takes_a_claim_back(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 600, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    make_number(f, f->a.id, p.id, 102);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim a, b, c, renew;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "a", 0, 1000, &a), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "b", 0, 1000, &b), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "c", 0, 2000, &c), ERR_OK);
    assert_true(c.flags & POOL_LEASE_EXHAUSTED);
    assert_int_equal(store_lease_release(f->s, p.account_id, p.id, &c, 2000), ERR_OK);
    assert_int_equal(store_lease_release(f->s, p.account_id, p.id, &a, 2000), ERR_OK);
    assert_int_equal(store_lease_release(f->s, p.account_id, p.id, &a, 2000),
                     ERR_NOTFOUND); /* once */
    assert_int_equal(store_lease_release(f->s, p.account_id, p.id + 99, &b, 2000), ERR_NOTFOUND);
    assert_int_equal(store_lease_release(f->s, f->b.id, p.id, &b, 2000), ERR_NOTFOUND);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 2000, &st), ERR_OK);
    assert_int_equal(st.live_leases, 1);
    assert_int_equal(st.leased, 1);
    assert_int_equal(st.free, 1);
    assert_int_equal(st.exhaustion_events, 0);
    assert_int_equal(st.peak_concurrent, 1);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "d", 0, 3000, &a), ERR_OK);
    assert_int_equal(a.number_id, n1.id); /* never used again: idlest, lowest id */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "d", 0, 4000, &renew), ERR_OK);
    assert_int_equal(store_lease_release(f->s, p.account_id, p.id, &renew, 4000), ERR_INVALID);
    /* the durable side: the row of a lease taken back is deleted */
    struct st_session ss = make_session(f, "d", 3000);
    struct st_lease l = {.account_id = ss.account_id,
                         .session_id = ss.id,
                         .number_id = n1.id,
                         .pool_id = p.id,
                         .leased_at = 3000,
                         .last_active_at = 3000,
                         .expires_at = 3000 + MIN_MS};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    assert_int_equal(store_lease_delete(f->s, ss.account_id, ss.id, n1.id, 2999), ERR_NOTFOUND);
    assert_int_equal(store_lease_delete(f->s, ss.account_id, ss.id, n1.id, 3000), ERR_OK);
    int64_t live = 0;
    assert_int_equal(store_lease_list_live(f->s, p.account_id, p.id, 3000, count_lease, &live),
                     ERR_OK);
    assert_int_equal(live, 0);
}

/* Issue 20 (store_lease_note): a number whose holder tapped or copied it rests 3 h after that
 * lease ends (core's pool_config_rests_default), so newcomers get the others first, and it is
 * shared last; a tap followed by a credited call earns no rest; a tap noted after the lease
 * ended still counts. */
static void lease_note_rests_tapped_numbers(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    struct st_number n3 = make_number(f, f->a.id, p.id, 103);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "a", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "b", 0, 1000, &c), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "c", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "a", n1.id, POOL_SIG_CLICK, 2000),
                     ERR_OK);
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "c", n3.id, POOL_SIG_CLICK, 3000),
                     ERR_OK);
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "c", n3.id, POOL_SIG_CALLED, 4000),
                     ERR_OK);
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "x", n1.id, POOL_SIG_CLICK, 4000),
                     ERR_NOTFOUND);
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "a", n2.id, POOL_SIG_CLICK, 4000),
                     ERR_NOTFOUND);
    assert_int_equal(
        store_lease_note(f->s, p.account_id, p.id + 99, "a", n1.id, POOL_SIG_CLICK, 4000),
        ERR_NOTFOUND);
    assert_int_equal(store_lease_note(f->s, f->b.id, p.id, "a", n1.id, POOL_SIG_CLICK, 4000),
                     ERR_NOTFOUND);
    /* all ended, no cooldown: n1 (released first, lowest id) still rests; the others are free */
    int64_t t = 200000;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "d", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_false(c.flags & POOL_LEASE_EXHAUSTED);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "e", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id); /* tapped, then called: no rest */
    assert_false(c.flags & POOL_LEASE_EXHAUSTED);
    /* exhausted: a live number is shared before the resting one */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "f", 0, t + 1, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_true(c.flags & POOL_LEASE_EXHAUSTED);
    assert_true(c.flags & POOL_LEASE_SHARED);
    /* b tapped n2 before its lease ended, noted only now: n2 rests as long as n1 from then on */
    assert_int_equal(store_lease_note(f->s, p.account_id, p.id, "b", n2.id, POOL_SIG_CLICK, t + 2),
                     ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "g", 0, t + 3, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_true(c.flags & POOL_LEASE_SHARED);
    /* three hours after the tapped leases ended, n1 and n2 are free again: after n3, whose
     * holders left later but earned no rest */
    int64_t rested = 1000 + MIN_MS + 3 * 3600 * 1000;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "h", 0, rested, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "i", 0, rested, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_false(c.flags & POOL_LEASE_EXHAUSTED);
}

static void cooldown_idle_longest_and_fallback_exhaustion(void **state)
{
    struct fx *f = *state;
    /* fallback mode, ttl 1 min, cooldown 10 min */
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 600, true);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    struct st_number n3 = make_number(f, f->a.id, p.id, 103);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "a", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id); /* never used: lowest id first */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "b", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "b", 5000, &c),
                     ERR_OK); /* n2 ends later */
    /* both released (61 s, 65 s) and cooling: the never-used n3 is the only free one */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "c", 0, 100000, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "d", 0, 200000, &c),
                     ERR_EXHAUSTED);
    assert_true(c.flags & POOL_LEASE_EXHAUSTED);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 200000, &st), ERR_OK);
    assert_int_equal(st.exhaustion_events, 1);
    assert_int_equal(st.size, 3);
    /* past cooldown: the number idle longest (released first) comes back first */
    int64_t t = 65000 + 600000 + 1;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "e", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "f", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "g", 0, t, &c),
                     ERR_EXHAUSTED); /* n3 cools */
}

static void share_mode_exhaustion_shares_and_counts(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 101);
    struct st_pool empty = make_pool(f, f->a.id, "+15555550200", 60, 0, false);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "a", 0, 1000, &c), ERR_OK);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "b", 0, 2000, &c), ERR_OK);
    assert_int_equal(c.number_id, n.id);
    assert_true(c.flags & POOL_LEASE_EXHAUSTED);
    assert_true(c.flags & POOL_LEASE_SHARED);
    assert_int_equal(c.exhaustion_events, 1);
    assert_int_equal(c.peak_concurrent, 2);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 2000, &st), ERR_OK);
    assert_int_equal(st.exhaustion_events, 1);
    assert_int_equal(st.live_leases, 2);
    assert_int_equal(store_lease_claim(f->s, empty.account_id, empty.id, "a", 0, 2000, &c),
                     ERR_EXHAUSTED);
}

/* A renewal makes its number's latest activity later without the claim that picks seeing it
 * first (PostgreSQL: the order key stays behind until a pick meets it): the share pick and the
 * idle-longest pick still order by the true latest activity, and the live count behind the peak
 * drops the leases that ended. */
static void renewals_reorder_the_picks(void **state)
{
    struct fx *f = *state;
    /* share mode, ttl 1 min, no cooldown */
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    struct st_number n3 = make_number(f, f->a.id, p.id, 103);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "a", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "b", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "c", 0, 1000, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "a", 30000, &c),
                     ERR_OK); /* n1: 30 s */
    /* exhausted: shared in order of latest activity, n1 (renewed) last */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "d", 0, 40000, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_true(c.flags & POOL_LEASE_SHARED);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "e", 0, 40000, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "f", 0, 40000, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_int_equal(c.exhaustion_events, 3);
    assert_int_equal(c.peak_concurrent, 6);
    /* b and c ended at 61 s, a at 90 s; d, e, f live: a new claim is the seventh live lease
     * only if the ended ones still counted */
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "g", 0, 95000, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id); /* all at 40 s: lowest id */
    assert_int_equal(c.peak_concurrent, 6);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 95000, &st), ERR_OK);
    assert_int_equal(st.live_leases, 4);
    assert_int_equal(st.peak_concurrent, 6);
    /* all ended: the idle-longest number first, n1 (95 s) after n2 and n3 (40 s) */
    int64_t t = 95000 + 60000 + 1;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "h", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n2.id);
    assert_false(c.flags & POOL_LEASE_EXHAUSTED);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "i", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n3.id);
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "j", 0, t, &c), ERR_OK);
    assert_int_equal(c.number_id, n1.id);
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, t, &st), ERR_OK);
    assert_int_equal(st.live_leases, 3);
}

/* Claims made while serving survive a restart once stored: the engine is rebuilt from the
 * tables, so the session keeps its number and counters continue. */
static void restart_rebuilds_claims_from_the_tables(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct st_lease_claim c;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_x", n2.id, 1000, &c), ERR_OK);
    struct st_session ss = make_session(f, "s_x", 1000);
    struct st_lease l = {.account_id = ss.account_id,
                         .session_id = ss.id,
                         .number_id = c.number_id,
                         .pool_id = p.id,
                         .leased_at = c.leased_at,
                         .last_active_at = 1000,
                         .expires_at = c.expires_at};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    assert_int_equal(store_pool_set_counters(f->s, p.account_id, p.id, 5, 4), ERR_OK);
    store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, NULL), ERR_OK);
    assert_int_equal(store_serve_begin(f->s, 2000, NULL), ERR_OK);
    struct st_lease_claim again;
    assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_x", 0, 2000, &again), ERR_OK);
    assert_true(again.flags & POOL_LEASE_RENEWED);
    assert_int_equal(again.number_id, c.number_id);
    assert_int_equal(again.leased_at, 1000);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, p.account_id, p.id, 2000, &st), ERR_OK);
    assert_int_equal(st.exhaustion_events, 5);
    assert_int_equal(st.peak_concurrent, 4);
}

/* A backend owned by one process (SQLite) refuses a second server; a shared one (PostgreSQL)
 * lets a second node serve the same database and both see the same claims. */
static void a_second_server_is_refused_or_shares_the_claims(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 101);
    struct st_number n2 = make_number(f, f->a.id, p.id, 102);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    struct store *other = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(f->url, &other, &eb), ERR_OK); /* others still open it */
    struct st_account a;
    assert_int_equal(store_account_get(other, f->a.ext_id, &a), ERR_OK);
    if (!be->single_owner) {
        assert_int_equal(store_serve_begin(other, 1000, &eb), ERR_OK);
        struct st_lease_claim c1, c2, again;
        assert_int_equal(store_lease_claim(f->s, p.account_id, p.id, "s_1", 0, 1000, &c1), ERR_OK);
        assert_int_equal(store_lease_claim(other, p.account_id, p.id, "s_2", 0, 1001, &c2), ERR_OK);
        assert_int_equal(c1.number_id, n1.id);
        assert_int_equal(c2.number_id, n2.id); /* the other node saw n1 taken */
        assert_int_equal(store_lease_claim(other, p.account_id, p.id, "s_1", 0, 2000, &again),
                         ERR_OK);
        assert_true(again.flags & POOL_LEASE_RENEWED); /* same session, either node */
        assert_int_equal(again.number_id, n1.id);
        assert_int_equal(store_lease_touch(f->s, p.account_id, p.id, "s_2", 2000, &again), ERR_OK);
        assert_int_equal(again.number_id, n2.id);
        struct pool_stats st;
        assert_int_equal(store_pool_stats(other, p.account_id, p.id, 2000, &st), ERR_OK);
        assert_int_equal(st.live_leases, 2);
        store_close(other);
        return;
    }
    assert_int_equal(store_serve_begin(other, 1000, &eb), ERR_CONFLICT);
    assert_non_null(strstr(eb.msg, f->url));
    assert_non_null(strstr(eb.msg, "already served"));
    store_close(other);
    /* the lock goes with store_close */
    store_close(f->s);
    assert_int_equal(store_open(f->url, &f->s, NULL), ERR_OK);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
}

/* ---- readiness ---- */

/* store_writable commits a write of its own: it says ERR_OK while the store can commit,
 * ERR_BACKEND with a reason (promptly, not after the 5 s busy wait) while another session holds
 * the write lock, ERR_OK again once it is released, and changes no data. */
static void writable_reports_whether_a_commit_can_happen(void **state)
{
    struct fx *f = *state;
    struct errbuf eb = {{0}, NULL};
    int64_t accounts = 0, after = 0;
    assert_int_equal(store_count(f->s, "accounts", &accounts), ERR_OK);
    assert_int_equal(store_writable(f->s, 1000, &eb), ERR_OK);
    assert_int_equal(store_writable(f->s, 1000, &eb),
                     ERR_OK); /* the same ms twice: still a write */
    void *lock = NULL;
    assert_int_equal(be->lock_writes(f->url, &lock), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_writable(f->s, 2000, &eb), ERR_BACKEND);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(eb.msg[0] != '\0');
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    be->unlock_writes(lock);
    assert_int_equal(store_writable(f->s, 3000, &eb), ERR_OK);
    /* the store's own transactions still work after the failed probe */
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_count(f->s, "accounts", &after), ERR_OK);
    assert_int_equal(after, accounts);
}

/* ---- events between nodes ---- */

struct notified {
    int n;
    char payload[4][64];
};

static void note_payload(void *ctx, const char *payload)
{
    struct notified *g = ctx;
    if (g->n < 4)
        snprintf(g->payload[g->n], sizeof(g->payload[0]), "%s", payload);
    g->n++;
}

static void notify_reaches_other_nodes_only_when_committed(void **state)
{
    struct fx *f = *state;
    struct notified g = {0};
    if (be->single_owner) { /* one process serves the store: nothing to tell */
        assert_int_equal(store_notify(f->s, "x"), ERR_UNSUPPORTED);
        assert_int_equal(store_notify_wait(f->s, 0, note_payload, &g), ERR_UNSUPPORTED);
        return;
    }
    struct store *other = NULL; /* another node on the same database */
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(f->url, &other, &eb), ERR_OK);
    assert_int_equal(store_notify_wait(other, 0, note_payload, &g), ERR_OK); /* listens */
    assert_int_equal(g.n, 0);
    assert_int_equal(store_notify(f->s, "one"), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_notify(f->s, "rolled back"), ERR_OK);
    store_rollback(f->s);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_savepoint(f->s), ERR_OK);
    assert_int_equal(store_notify(f->s, "savepoint rolled back"), ERR_OK);
    store_savepoint_rollback(f->s);
    assert_int_equal(store_notify(f->s, "two"), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    static char big[STORE_NOTIFY_MAX + 1];
    memset(big, 'x', STORE_NOTIFY_MAX);
    assert_int_equal(store_notify(f->s, big), ERR_INVALID);
    for (int i = 0; i < 20 && g.n < 2; i++)
        assert_int_equal(store_notify_wait(other, 500, note_payload, &g), ERR_OK);
    assert_int_equal(store_notify_wait(other, 50, note_payload, &g), ERR_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.payload[0], "one");
    assert_string_equal(g.payload[1], "two");
    store_close(other);
}

/* ---- exclusivity under concurrency ---- */

#define RACE_THREADS 8
#define RACE_SESSIONS 40 /* per thread */
#define RACE_NUMBERS 200 /* fewer than RACE_THREADS * RACE_SESSIONS: some claims exhaust */

struct racer {
    struct store *s;
    int64_t account_id;
    int64_t pool_id;
    int thread;
    int64_t number[RACE_SESSIONS];
    unsigned flags[RACE_SESSIONS];
    int rc[RACE_SESSIONS];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < RACE_SESSIONS; i++) {
        char ext[32];
        snprintf(ext, sizeof(ext), "s_%d_%d", r->thread, i);
        struct st_lease_claim c;
        r->rc[i] = store_lease_claim(r->s, r->account_id, r->pool_id, ext, 0, 1000 + i, &c);
        r->number[i] = r->rc[i] == ERR_OK ? c.number_id : 0;
        r->flags[i] = c.flags;
    }
    return NULL;
}

/* Runs the race on one pool; out: how many claims got a number outside exhaustion, and checks
 * that those numbers are pairwise distinct. */
static int run_race(struct store *const s[2], int64_t account_id, int64_t pool_id,
                    int64_t first_number, bool fallback)
{
    static struct racer r[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    for (int t = 0; t < RACE_THREADS; t++) {
        r[t] = (struct racer){
            .s = s[t % 2], .account_id = account_id, .pool_id = pool_id, .thread = t};
        assert_int_equal(pthread_create(&th[t], NULL, race, &r[t]), 0);
    }
    for (int t = 0; t < RACE_THREADS; t++)
        pthread_join(th[t], NULL);
    static int holders[RACE_NUMBERS];
    memset(holders, 0, sizeof(holders));
    int fresh = 0;
    for (int t = 0; t < RACE_THREADS; t++) {
        for (int i = 0; i < RACE_SESSIONS; i++) {
            bool exhausted = r[t].flags[i] & POOL_LEASE_EXHAUSTED;
            if (fallback && exhausted) {
                assert_int_equal(r[t].rc[i], ERR_EXHAUSTED);
                continue;
            }
            assert_int_equal(r[t].rc[i], ERR_OK);
            int64_t k = r[t].number[i] - first_number;
            assert_true(k >= 0 && k < RACE_NUMBERS);
            if (exhausted) {
                assert_true(r[t].flags[i] & POOL_LEASE_SHARED); /* every number was held */
                continue;
            }
            holders[k]++;
            assert_int_equal(holders[k], 1); /* never two holders while a number was free */
            fresh++;
        }
    }
    return fresh;
}

static void claims_are_exclusive_under_concurrency(void **state)
{
    struct fx *f = *state;
    struct st_pool share = make_pool(f, f->a.id, "+15555550100", 3600, 0, false);
    struct st_pool fallback = make_pool(f, f->a.id, "+15555550200", 3600, 0, true);
    int64_t first[2] = {0, 0};
    assert_int_equal(store_begin(f->s), ERR_OK);
    for (int i = 0; i < 2 * RACE_NUMBERS; i++) {
        struct st_number n =
            make_number(f, f->a.id, i < RACE_NUMBERS ? share.id : fallback.id, 1000 + i);
        if (i == 0 || i == RACE_NUMBERS)
            first[i / RACE_NUMBERS] = n.id;
    }
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_serve_begin(f->s, 1000, NULL), ERR_OK);
    /* Every thread has its own connection. A shared backend also gets a second serving store
     * (a second node in miniature): odd threads claim through it. */
    struct store *nodes[2] = {f->s, f->s};
    if (!be->single_owner) {
        assert_int_equal(store_open(f->url, &nodes[1], NULL), ERR_OK);
        assert_int_equal(store_serve_begin(nodes[1], 1000, NULL), ERR_OK);
    }
    assert_int_equal(run_race(nodes, share.account_id, share.id, first[0], false), RACE_NUMBERS);
    assert_int_equal(run_race(nodes, fallback.account_id, fallback.id, first[1], true),
                     RACE_NUMBERS);
    if (nodes[1] != f->s)
        store_close(nodes[1]);
    struct pool_stats st;
    assert_int_equal(store_pool_stats(f->s, share.account_id, share.id, 2000, &st), ERR_OK);
    assert_int_equal(st.exhaustion_events, RACE_THREADS * RACE_SESSIONS - RACE_NUMBERS);
    assert_int_equal(st.live_leases, RACE_THREADS * RACE_SESSIONS);
    assert_int_equal(store_pool_stats(f->s, fallback.account_id, fallback.id, 2000, &st), ERR_OK);
    assert_int_equal(st.exhaustion_events, RACE_THREADS * RACE_SESSIONS - RACE_NUMBERS);
    assert_int_equal(st.live_leases, RACE_NUMBERS);
}

/* ==== provider secrets at rest (the dispatch layer seals for every backend) ====================
 */

static struct store *reopen(struct fx *f, const struct secrets_key *cur,
                            const struct secrets_key *prev)
{
    struct store *s = NULL;
    assert_int_equal(store_open(f->url, &s, NULL), ERR_OK);
    store_secrets_keys(s, cur, prev);
    return s;
}

static void provider_secrets_sealed_and_rotated(void **state)
{
    struct fx *f = *state;
    struct st_provider_cred c;
    assert_int_equal(store_provider_cred_set(f->s, f->a.id, "twilio", "AC1", "token-a", 30),
                     ERR_OK);
    assert_int_equal(store_provider_cred_set(f->s, f->b.id, "telnyx", NULL, "key-b", 30), ERR_OK);
    /* no key: nothing written, nothing read, never clear text */
    struct store *none = reopen(f, NULL, NULL);
    assert_int_equal(store_provider_cred_set(none, f->a.id, "twilio", NULL, "x", 31),
                     ERR_UNSUPPORTED);
    assert_int_equal(store_provider_cred_get(none, f->a.id, "twilio", &c), ERR_UNSUPPORTED);
    assert_int_equal(store_provider_cred_set(none, f->a.id, "twilio", "AC2", NULL, 31), ERR_OK);
    int64_t n = -1;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_secrets_reseal(none, 32, &n, &eb), ERR_OK); /* all sealed: nothing */
    store_close(none);
    /* another key cannot open them */
    struct store *other = reopen(f, &key2, NULL);
    assert_int_equal(store_provider_cred_get(other, f->a.id, "twilio", &c), ERR_UNSUPPORTED);
    int64_t found = 0;
    assert_int_equal(store_provider_cred_find(other, "twilio", "AC2", cred_account, &found),
                     ERR_UNSUPPORTED);
    assert_int_equal(store_secrets_reseal(other, 32, &n, &eb), ERR_UNSUPPORTED);
    store_close(other);
    assert_int_equal(store_provider_cred_get(f->s, f->a.id, "twilio", &c), ERR_OK);
    assert_string_equal(c.secret, "token-a"); /* the failed reseal changed nothing */
    assert_string_equal(c.account_sid, "AC2");
    /* rotation: key1 -> key2, every row in one go */
    struct store *rot = reopen(f, &key2, &key1);
    assert_int_equal(store_secrets_reseal(rot, 33, &n, &eb), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_secrets_reseal(rot, 34, &n, &eb), ERR_OK);
    assert_int_equal(n, 0); /* idempotent */
    store_close(rot);
    struct store *next = reopen(f, &key2, NULL);
    assert_int_equal(store_provider_cred_get(next, f->b.id, "telnyx", &c), ERR_OK);
    assert_string_equal(c.secret, "key-b");
    assert_int_equal(store_provider_cred_find(next, "twilio", "AC2", cred_account, &found), ERR_OK);
    assert_int_equal(found, f->a.id);
    store_close(next);
    assert_int_equal(store_provider_cred_get(f->s, f->a.id, "twilio", &c), ERR_UNSUPPORTED);
}

/* ==== dashboard users ========================================================================= */

static int collect_membership(void *ctx, const struct st_membership *m)
{
    struct st_membership *out = ctx;
    out[out[0].created_at++ + 1] = *m; /* slot 0 counts */
    return 0;
}

static int collect_audit(void *ctx, const struct st_audit *a)
{
    int64_t *ids = ctx;
    ids[ids[0]++ + 1] = a->id;
    return 0;
}

static void users_memberships_sessions_and_audit(void **state)
{
    struct fx *f = *state;
    struct st_user u = {0}, v = {0}, got;
    snprintf(u.email, sizeof(u.email), "ann@example.com");
    snprintf(u.password_hash, sizeof(u.password_hash), "scrypt$15$8$1$s$k");
    assert_int_equal(store_user_create(f->s, &u, 30), ERR_OK);
    assert_true(u.id > 0);
    assert_int_equal(store_user_create(f->s, &u, 31), ERR_CONFLICT); /* one user per email */
    v = u;
    snprintf(v.email, sizeof(v.email), "bob@example.com");
    assert_int_equal(store_user_create(f->s, &v, 31), ERR_OK);
    assert_int_equal(store_user_get(f->s, "ann@example.com", &got), ERR_OK);
    assert_int_equal(got.id, u.id);
    assert_int_equal(got.created_at, 30);
    assert_int_equal(store_user_get(f->s, "ANN@example.com", &got), ERR_NOTFOUND);
    assert_int_equal(store_user_set_password(f->s, u.id, "scrypt$15$8$1$t$k", 40), ERR_OK);
    assert_int_equal(store_user_by_id(f->s, u.id, &got), ERR_OK);
    assert_string_equal(got.password_hash, "scrypt$15$8$1$t$k");
    assert_int_equal(got.updated_at, 40);
    assert_int_equal(store_user_set_password(f->s, 999999, "x", 40), ERR_NOTFOUND);

    /* roles: one per (user, account), replaced by a second set; unknown ids refused */
    assert_int_equal(store_membership_set(f->s, u.id, f->a.id, "viewer", 50), ERR_OK);
    assert_int_equal(store_membership_set(f->s, u.id, f->a.id, "owner", 51), ERR_OK);
    assert_int_equal(store_membership_set(f->s, u.id, f->b.id, "analyst", 52), ERR_OK);
    assert_int_equal(store_membership_set(f->s, v.id, f->a.id, "viewer", 53), ERR_OK);
    assert_int_equal(store_membership_set(f->s, u.id, f->a.id, "boss", 54), ERR_INVALID);
    assert_int_equal(store_membership_set(f->s, 999999, f->a.id, "viewer", 54), ERR_NOTFOUND);
    assert_int_equal(store_membership_set(f->s, u.id, 999999, "viewer", 54), ERR_NOTFOUND);
    struct st_membership ms[8] = {{0}};
    assert_int_equal(store_membership_list(f->s, u.id, 0, collect_membership, ms), ERR_OK);
    assert_int_equal(ms[0].created_at, 2);
    assert_string_equal(ms[1].role, "owner");
    assert_string_equal(ms[1].account_ext, f->a.ext_id);
    assert_string_equal(ms[1].email, "ann@example.com");
    assert_string_equal(ms[2].role, "analyst");
    memset(ms, 0, sizeof(ms));
    assert_int_equal(store_membership_list(f->s, 0, f->a.id, collect_membership, ms), ERR_OK);
    assert_int_equal(ms[0].created_at, 2); /* ann and bob, by email */
    assert_string_equal(ms[1].email, "ann@example.com");
    assert_string_equal(ms[2].email, "bob@example.com");

    /* sessions: by token hash, with the role in the account they look at */
    struct st_app_session ss = {.user_id = u.id,
                                .account_id = f->a.id,
                                .created_at = 60,
                                .last_seen_at = 60,
                                .expires_at = 1000},
                          rs;
    snprintf(ss.token_hash, sizeof(ss.token_hash), "%064d", 1);
    assert_int_equal(store_app_session_create(f->s, &ss), ERR_OK);
    assert_true(ss.id > 0);
    assert_int_equal(store_app_session_create(f->s, &ss), ERR_CONFLICT);
    struct st_app_session bad = ss;
    snprintf(bad.token_hash, sizeof(bad.token_hash), "%064d", 2);
    bad.user_id = 999999;
    assert_int_equal(store_app_session_create(f->s, &bad), ERR_NOTFOUND);
    assert_int_equal(store_app_session_get(f->s, ss.token_hash, &rs), ERR_OK);
    assert_string_equal(rs.role, "owner");
    assert_int_equal(rs.expires_at, 1000);
    assert_int_equal(store_app_session_update(f->s, ss.id, f->b.id, 70), ERR_OK);
    assert_int_equal(store_app_session_update(f->s, ss.id, f->b.id, 65), ERR_OK);
    assert_int_equal(store_app_session_get(f->s, ss.token_hash, &rs), ERR_OK);
    assert_string_equal(rs.role, "analyst");
    assert_int_equal(rs.last_seen_at, 70); /* never backwards */
    assert_int_equal(store_membership_delete(f->s, u.id, f->b.id), ERR_OK);
    assert_int_equal(store_membership_delete(f->s, u.id, f->b.id), ERR_NOTFOUND);
    assert_int_equal(store_app_session_get(f->s, ss.token_hash, &rs), ERR_OK);
    assert_string_equal(rs.role, ""); /* the role is gone, the session row stays */
    assert_int_equal(store_app_session_update(f->s, 999999, f->a.id, 70), ERR_NOTFOUND);

    /* purge: idle before the cutoff or past the absolute end; the rest stay */
    struct st_app_session s2 = ss, s3 = ss;
    snprintf(s2.token_hash, sizeof(s2.token_hash), "%064d", 3);
    s2.last_seen_at = 500;
    snprintf(s3.token_hash, sizeof(s3.token_hash), "%064d", 4);
    s3.last_seen_at = 500;
    s3.expires_at = 600;
    assert_int_equal(store_app_session_create(f->s, &s2), ERR_OK);
    assert_int_equal(store_app_session_create(f->s, &s3), ERR_OK);
    int64_t n = -1;
    assert_int_equal(store_app_session_purge(f->s, 100, 600, &n), ERR_OK);
    assert_int_equal(n, 2); /* ss idle since 70, s3 at its end */
    assert_int_equal(store_app_session_get(f->s, s2.token_hash, &rs), ERR_OK);
    assert_int_equal(store_app_session_delete(f->s, s2.token_hash), ERR_OK);
    assert_int_equal(store_app_session_delete(f->s, s2.token_hash), ERR_NOTFOUND);
    assert_int_equal(store_app_session_create(f->s, &s2), ERR_OK);
    assert_int_equal(store_app_session_delete_user(f->s, u.id, &n), ERR_OK);
    assert_int_equal(n, 1);

    /* the audit log: per account (or none), newest first, paged by id */
    for (int i = 0; i < 3; i++) {
        struct st_audit a = {.account_id = f->a.id, .at = 80 + i};
        snprintf(a.actor, sizeof(a.actor), "cli");
        snprintf(a.action, sizeof(a.action), "user.add");
        snprintf(a.subject, sizeof(a.subject), "ann@example.com");
        assert_int_equal(store_audit_add(f->s, &a), ERR_OK);
    }
    struct st_audit none = {.at = 90};
    snprintf(none.actor, sizeof(none.actor), "cli");
    snprintf(none.action, sizeof(none.action), "user.password");
    assert_int_equal(store_audit_add(f->s, &none), ERR_OK);
    int64_t ids[8] = {0};
    assert_int_equal(store_audit_list(f->s, f->a.id, INT64_MAX, 2, collect_audit, ids), ERR_OK);
    assert_int_equal(ids[0], 2);
    assert_true(ids[1] > ids[2]);
    int64_t more[8] = {0};
    assert_int_equal(store_audit_list(f->s, f->a.id, ids[2], 10, collect_audit, more), ERR_OK);
    assert_int_equal(more[0], 1);
    memset(more, 0, sizeof(more));
    assert_int_equal(store_audit_list(f->s, f->b.id, INT64_MAX, 10, collect_audit, more), ERR_OK);
    assert_int_equal(more[0], 0); /* another account sees nothing */
    assert_int_equal(store_audit_list(f->s, 0, INT64_MAX, 10, collect_audit, more), ERR_OK);
    assert_int_equal(more[0], 1);
    assert_int_equal(more[1], none.id);

    /* deleting a user takes their roles and sessions with them */
    assert_int_equal(store_app_session_create(f->s, &s2), ERR_OK);
    assert_int_equal(store_user_delete(f->s, u.id), ERR_OK);
    assert_int_equal(store_user_delete(f->s, u.id), ERR_NOTFOUND);
    assert_int_equal(store_app_session_get(f->s, s2.token_hash, &rs), ERR_NOTFOUND);
    memset(ms, 0, sizeof(ms));
    assert_int_equal(store_membership_list(f->s, 0, f->a.id, collect_membership, ms), ERR_OK);
    assert_int_equal(ms[0].created_at, 1);
    int n_users = 0;
    assert_int_equal(store_user_list(f->s, count_user, &n_users), ERR_OK);
    assert_int_equal(n_users, 1);
}

/* ==== registry ================================================================================ */

/* ==== outbound messages ======================================================================= */

static struct st_destination make_destination(struct fx *f, int64_t account_id, const char *ext,
                                              const char *events)
{
    struct st_destination d = {.account_id = account_id, .created_at = 10};
    snprintf(d.ext_id, sizeof(d.ext_id), "%s", ext);
    snprintf(d.url, sizeof(d.url), "https://hooks.example/%s", ext);
    snprintf(d.format, sizeof(d.format), "json");
    snprintf(d.events, sizeof(d.events), "%s", events);
    snprintf(d.secret, sizeof(d.secret), "whsec_%s", ext);
    assert_int_equal(store_destination_add(f->s, &d), ERR_OK);
    assert_true(d.id > 0);
    return d;
}

/* Rotation re-seals webhook signing secrets with the provider secrets, in the same transaction:
 * afterwards the new key alone opens them. A deleted destination is not re-sealed: it never signs
 * again. */
static void destination_secrets_rotated(void **state)
{
    struct fx *f = *state;
    make_destination(f, f->a.id, "wh_rot1", "call.completed");
    make_destination(f, f->b.id, "wh_rot2", "call.completed");
    assert_int_equal(store_destination_delete(f->s, f->b.id, "wh_rot2", 20), ERR_OK);
    struct st_destination d;
    struct store *other = reopen(f, &key2, NULL);
    assert_int_equal(store_destination_get(other, f->a.id, "wh_rot1", &d), ERR_UNSUPPORTED);
    store_close(other);
    struct store *rot = reopen(f, &key2, &key1);
    int64_t n = -1;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_secrets_reseal(rot, 33, &n, &eb), ERR_OK);
    assert_int_equal(n, 1); /* the deleted one is not listed: it never signs again */
    assert_int_equal(store_secrets_reseal(rot, 34, &n, &eb), ERR_OK);
    assert_int_equal(n, 0);
    store_close(rot);
    struct store *next = reopen(f, &key2, NULL);
    assert_int_equal(store_destination_get(next, f->a.id, "wh_rot1", &d), ERR_OK);
    assert_string_equal(d.secret, "whsec_wh_rot1");
    store_close(next);
    assert_int_equal(store_destination_get(f->s, f->a.id, "wh_rot1", &d), ERR_UNSUPPORTED);
}

static struct st_outbox_msg *make_msg(struct fx *f, const struct st_destination *d,
                                      const char *event_id, int64_t at)
{
    struct st_outbox_msg *m = calloc(1, sizeof(*m));
    m->account_id = d->account_id;
    m->destination_id = d->id;
    snprintf(m->event_id, sizeof(m->event_id), "%s", event_id);
    snprintf(m->type, sizeof(m->type), "call.completed");
    snprintf(m->body, sizeof(m->body), "{\"id\":\"%s\"}", event_id);
    m->created_at = m->next_at = at;
    assert_int_equal(store_outbox_add(f->s, m), ERR_OK);
    assert_true(m->id > 0);
    return m;
}

COUNTER(count_destination, struct st_destination)

struct claimed {
    int n;
    char event_ids[16][STORE_ID_MAX];
    int64_t attempts[16];
    char secret[STORE_DEST_SECRET_MAX];
};

static int on_claim(void *ctx, const struct st_outbox_msg *m, const struct st_destination *d)
{
    struct claimed *c = ctx;
    snprintf(c->event_ids[c->n], STORE_ID_MAX, "%s", m->event_id);
    c->attempts[c->n] = m->attempts;
    snprintf(c->secret, sizeof(c->secret), "%s", d->secret);
    c->n++;
    return 0;
}

static void destinations_crud_and_tenant_scoping(void **state)
{
    struct fx *f = *state;
    struct st_destination d = make_destination(f, f->a.id, "wh_a1", "call.started,call.completed");
    struct st_destination dup = d;
    assert_int_equal(store_destination_add(f->s, &dup), ERR_CONFLICT);
    struct st_destination bad = d;
    snprintf(bad.ext_id, sizeof(bad.ext_id), "wh_bad");
    snprintf(bad.format, sizeof(bad.format), "xml");
    assert_int_equal(store_destination_add(f->s, &bad), ERR_INVALID);
    struct st_destination got;
    assert_int_equal(store_destination_get(f->s, f->a.id, "wh_a1", &got), ERR_OK);
    assert_string_equal(got.secret, "whsec_wh_a1");
    assert_string_equal(got.events, "call.started,call.completed");
    assert_int_equal(store_destination_get(f->s, f->b.id, "wh_a1", &got), ERR_NOTFOUND);
    int n = 0;
    assert_int_equal(store_destination_list(f->s, f->b.id, count_destination, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_destination_delete(f->s, f->b.id, "wh_a1", 20), ERR_NOTFOUND);
    assert_int_equal(store_destination_delete(f->s, f->a.id, "wh_a1", 20), ERR_OK);
    assert_int_equal(store_destination_get(f->s, f->a.id, "wh_a1", &got), ERR_NOTFOUND);
    assert_int_equal(store_destination_list(f->s, f->a.id, count_destination, &n), ERR_OK);
    assert_int_equal(n, 0);
}

static int64_t rows(struct fx *f, const char *table)
{
    int64_t n = -1;
    assert_int_equal(store_count(f->s, table, &n), ERR_OK);
    return n;
}

/* The delivery log's newest attempts. */
struct dlog {
    int n;
    char event_ids[8][STORE_ID_MAX];
    int64_t attempts[8];
};

static int on_delivery(void *ctx, const struct st_delivery *d)
{
    struct dlog *l = ctx;
    if (l->n < 8) {
        snprintf(l->event_ids[l->n], STORE_ID_MAX, "%s", d->event_id);
        l->attempts[l->n] = d->attempt;
    }
    l->n++;
    return 0;
}

/* A claimed message with its row id (a batch's message: 0) and destination. */
struct claimed_full {
    int n;
    struct st_outbox_msg m[8];
};

static int on_claim_full(void *ctx, const struct st_outbox_msg *m, const struct st_destination *d)
{
    struct claimed_full *c = ctx;
    assert_int_equal(d->id, m->destination_id);
    assert_true(c->n < 8);
    c->m[c->n++] = *m;
    return 0;
}

/* Records attempt status of claimed message m as its sender does: delivered, or due at next_at. */
static void finish_as_sent(struct fx *f, const struct st_outbox_msg *m, const char *owner,
                           int64_t at, int status, int64_t next_at)
{
    struct st_delivery d = {.outbox_id = m->id,
                            .event_ref = m->event_ref,
                            .account_id = m->account_id,
                            .destination_id = m->destination_id,
                            .attempt = m->attempts,
                            .at = at,
                            .status = status};
    int state = status == 200 ? ST_OUTBOX_DELIVERED : ST_OUTBOX_PENDING;
    assert_int_equal(store_outbox_finish(f->s, m->id, owner, &d, state, next_at), ERR_OK);
}

static int count_dest(const struct claimed_full *c, int64_t dest)
{
    int n = 0;
    for (int i = 0; i < c->n; i++)
        n += c->m[i].destination_id == dest;
    return n;
}

/* store_outbox_publish: each destination of the account that takes the event's type gets it
 * once (whether the backend reads it by cursor or writes a row for it), a failed first attempt
 * is retried as the next attempt, a claim that was never recorded is claimed again after its
 * lease with one more attempt counted, and a destination added later never gets it. */
static void outbox_publish_reaches_each_destination_once(void **state)
{
    struct fx *f = *state;
    struct st_destination d1 = make_destination(f, f->a.id, "wh_pub1", "call.started");
    struct st_destination d2 =
        make_destination(f, f->a.id, "wh_pub2", "call.started,summary.daily");
    make_destination(f, f->a.id, "wh_pub3", "summary.daily");
    make_destination(f, f->b.id, "wh_pubb", "call.started");
    int64_t ids[3] = {d1.id, d2.id};
    struct st_outbox_msg *m = calloc(1, sizeof(*m));
    m->account_id = f->a.id;
    snprintf(m->type, sizeof(m->type), "call.started");
    for (int i = 0; i < 2; i++) {
        snprintf(m->event_id, sizeof(m->event_id), "evt_pub%d", i);
        snprintf(m->body, sizeof(m->body), "{\"id\":\"evt_pub%d\"}", i);
        m->created_at = m->next_at = 1000 + i;
        assert_int_equal(store_begin(f->s), ERR_OK);
        assert_int_equal(store_outbox_publish(f->s, m, ids, 2), ERR_OK);
        assert_int_equal(store_commit(f->s), ERR_OK);
    }
    struct claimed_full c = {0};
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_outbox_claim(f->s, 1100, 5000, "node_1", 4, 16, on_claim_full, &c),
                     ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(c.n, 4); /* not wh_pub3 (another type), not account b's */
    assert_int_equal(count_dest(&c, d1.id), 2);
    assert_int_equal(count_dest(&c, d2.id), 2);
    for (int i = 0; i < c.n; i++) {
        assert_int_equal(c.m[i].attempts, 1);
        assert_int_equal(c.m[i].account_id, f->a.id);
        assert_true(strcmp(c.m[i].event_id, "evt_pub0") == 0 ||
                    strcmp(c.m[i].event_id, "evt_pub1") == 0);
        char want[64];
        snprintf(want, sizeof(want), "{\"id\":\"%s\"}", c.m[i].event_id);
        assert_string_equal(c.m[i].body, want);
    }
    struct st_outbox_msg *got = calloc(1, sizeof(*got));
    assert_int_equal(store_outbox_get(f->s, f->a.id, d1.id, "evt_pub0", got), ERR_OK);
    assert_int_equal(got->state, ST_OUTBOX_PENDING);
    assert_int_equal(store_outbox_get(f->s, f->b.id, d1.id, "evt_pub0", got), ERR_NOTFOUND);
    /* in flight: another node gets none of them */
    struct claimed_full c2 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1101, 5000, "node_2", 4, 16, on_claim_full, &c2),
                     ERR_OK);
    assert_int_equal(c2.n, 0);
    /* recorded: all delivered but d2's evt_pub1, due again at 1500 */
    assert_int_equal(store_begin(f->s), ERR_OK);
    for (int i = 0; i < c.n; i++) {
        bool fail = c.m[i].destination_id == d2.id && strcmp(c.m[i].event_id, "evt_pub1") == 0;
        finish_as_sent(f, &c.m[i], "node_1", 1200, fail ? 500 : 200, fail ? 1500 : 1200);
    }
    assert_int_equal(store_outbox_batch_done(f->s, f->a.id, d1.id, "node_1"), ERR_OK);
    assert_int_equal(store_outbox_batch_done(f->s, f->a.id, d2.id, "node_1"), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(store_outbox_get(f->s, f->a.id, d1.id, "evt_pub0", got), ERR_OK);
    assert_int_equal(got->state, ST_OUTBOX_DELIVERED);
    assert_int_equal(got->attempts, 1);
    assert_int_equal(store_outbox_get(f->s, f->a.id, d2.id, "evt_pub1", got), ERR_OK);
    assert_int_equal(got->state, ST_OUTBOX_PENDING);
    assert_int_equal(got->attempts, 1);
    struct claimed_full c3 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1400, 5000, "node_2", 4, 16, on_claim_full, &c3),
                     ERR_OK);
    assert_int_equal(c3.n, 0); /* nothing new, the retry not due */
    assert_int_equal(store_outbox_claim(f->s, 1500, 5000, "node_2", 4, 16, on_claim_full, &c3),
                     ERR_OK);
    assert_int_equal(c3.n, 1);
    assert_int_equal(c3.m[0].destination_id, d2.id);
    assert_string_equal(c3.m[0].event_id, "evt_pub1");
    assert_int_equal(c3.m[0].attempts, 2);
    finish_as_sent(f, &c3.m[0], "node_2", 1600, 200, 1600);
    assert_int_equal(store_outbox_get(f->s, f->a.id, d2.id, "evt_pub1", got), ERR_OK);
    assert_int_equal(got->state, ST_OUTBOX_DELIVERED);
    assert_int_equal(got->attempts, 2);
    /* the delivery log has every attempt, newest first */
    struct dlog l = {0};
    assert_int_equal(store_delivery_list(f->s, f->a.id, d2.id, 0, 10, on_delivery, &l), ERR_OK);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.event_ids[0], "evt_pub1");
    assert_int_equal(l.attempts[0], 2);
    /* a redelivery on request: the next attempt */
    assert_int_equal(store_outbox_requeue(f->s, f->a.id, d1.id, "evt_pub0", 1700), ERR_OK);
    struct claimed_full c4 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1700, 5000, "node_1", 4, 16, on_claim_full, &c4),
                     ERR_OK);
    assert_int_equal(c4.n, 1);
    assert_string_equal(c4.m[0].event_id, "evt_pub0");
    assert_int_equal(c4.m[0].attempts, 2);
    finish_as_sent(f, &c4.m[0], "node_1", 1750, 200, 1750);
    /* a destination added now never gets the events published before */
    struct st_destination d4 = make_destination(f, f->a.id, "wh_pub4", "call.started");
    assert_int_equal(store_outbox_get(f->s, f->a.id, d4.id, "evt_pub0", got), ERR_NOTFOUND);
    /* a claim never recorded (its node died): after its lease, sent again as attempt 2 */
    snprintf(m->event_id, sizeof(m->event_id), "evt_pub9");
    m->created_at = m->next_at = 1800;
    ids[2] = d4.id; /* every destination that takes it */
    assert_int_equal(store_outbox_publish(f->s, m, ids, 3), ERR_OK);
    struct claimed_full c5 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1800, 2000, "node_1", 4, 16, on_claim_full, &c5),
                     ERR_OK);
    assert_int_equal(c5.n, 3);
    struct claimed_full c6 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1999, 9000, "node_2", 4, 16, on_claim_full, &c6),
                     ERR_OK);
    assert_int_equal(c6.n, 0);
    assert_int_equal(store_outbox_claim(f->s, 2000, 9000, "node_2", 4, 16, on_claim_full, &c6),
                     ERR_OK);
    assert_int_equal(c6.n, 3);
    for (int i = 0; i < c6.n; i++) {
        assert_string_equal(c6.m[i].event_id, "evt_pub9");
        assert_int_equal(c6.m[i].attempts, 2);
        finish_as_sent(f, &c6.m[i], "node_2", 2100, 200, 2100);
    }
    /* node_1 recording late changes nothing of node_2's */
    assert_int_equal(store_outbox_batch_done(f->s, f->a.id, d1.id, "node_1"), ERR_OK);
    struct claimed_full c7 = {0};
    assert_int_equal(store_outbox_claim(f->s, 9500, 20000, "node_2", 4, 16, on_claim_full, &c7),
                     ERR_OK);
    assert_int_equal(c7.n, 0);
    assert_int_equal(store_outbox_get(f->s, f->a.id, d4.id, "evt_pub9", got), ERR_OK);
    assert_int_equal(got->state, ST_OUTBOX_DELIVERED);
    /* disabled when an event is published (so not among its destinations), enabled again: it
     * never gets that event */
    bool disabled = false;
    assert_int_equal(
        store_destination_result(f->s, f->a.id, d4.id, false, 9600, 0, "HTTP 500", &disabled),
        ERR_OK);
    assert_true(disabled);
    snprintf(m->event_id, sizeof(m->event_id), "evt_pub10");
    m->created_at = m->next_at = 9600;
    assert_int_equal(store_outbox_publish(f->s, m, ids, 2), ERR_OK); /* d1, d2 */
    assert_int_equal(store_destination_enable(f->s, f->a.id, "wh_pub4"), ERR_OK);
    struct claimed_full c8 = {0};
    assert_int_equal(store_outbox_claim(f->s, 9700, 30000, "node_2", 4, 16, on_claim_full, &c8),
                     ERR_OK);
    assert_int_equal(c8.n, 2);
    assert_int_equal(count_dest(&c8, d4.id), 0);
    assert_int_equal(store_outbox_get(f->s, f->a.id, d4.id, "evt_pub10", got), ERR_NOTFOUND);
    free(got);
    free(m);
}

/* An event for several destinations is stored once (sql/0032), each destination with a message
 * of its own; the retention purge and an erasure take the event with its last message. */
static void outbox_event_stored_once_and_goes_with_its_messages(void **state)
{
    struct fx *f = *state;
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        struct st_destination d = {.account_id = f->a.id, .created_at = 100};
        snprintf(d.ext_id, sizeof(d.ext_id), "wh_once%d", i);
        snprintf(d.url, sizeof(d.url), "https://h.example/%d", i);
        snprintf(d.format, sizeof(d.format), "json");
        snprintf(d.events, sizeof(d.events), "call.started");
        snprintf(d.secret, sizeof(d.secret), "whsec_once%d", i);
        assert_int_equal(store_destination_add(f->s, &d), ERR_OK);
        ids[i] = d.id;
    }
    int64_t events = rows(f, "outbox_events"), msgs = rows(f, "outbox");
    struct st_outbox_msg *m = calloc(1, sizeof(*m));
    m->account_id = f->a.id;
    snprintf(m->event_id, sizeof(m->event_id), "evt_once");
    snprintf(m->type, sizeof(m->type), "call.started");
    snprintf(m->body, sizeof(m->body), "{\"id\":\"evt_once\",\"from\":\"+15555550777\"}");
    m->created_at = m->next_at = 1000;
    assert_int_equal(store_outbox_add_many(f->s, m, ids, 2), ERR_OK);
    assert_int_equal(rows(f, "outbox_events"), events + 1);
    assert_int_equal(rows(f, "outbox"), msgs + 2);
    int64_t last = m->id;
    /* one more destination later: the same event row; the same one again is a conflict */
    m->destination_id = ids[2];
    assert_int_equal(store_outbox_add(f->s, m), ERR_OK);
    assert_true(m->id > last);
    assert_int_equal(store_outbox_add(f->s, m), ERR_CONFLICT);
    assert_int_equal(rows(f, "outbox_events"), events + 1);
    struct st_outbox_msg *got = calloc(1, sizeof(*got));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_outbox_get(f->s, f->a.id, ids[i], "evt_once", got), ERR_OK);
        assert_int_equal(got->destination_id, ids[i]);
        assert_string_equal(got->body, m->body);
        assert_string_equal(got->type, "call.started");
    }
    /* another account never reads it */
    assert_int_equal(store_outbox_get(f->s, f->b.id, ids[0], "evt_once", got), ERR_NOTFOUND);
    /* delivered to the first two: the purge takes those messages, the event stays for the third */
    struct claimed c = {0};
    assert_int_equal(store_outbox_claim(f->s, 1000, 2000, "node_1", 4, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_outbox_get(f->s, f->a.id, ids[i], "evt_once", got), ERR_OK);
        struct st_delivery ok = {.account_id = f->a.id,
                                 .destination_id = ids[i],
                                 .attempt = 1,
                                 .at = 1100,
                                 .status = 200};
        assert_int_equal(store_outbox_finish(f->s, got->id, "node_1", &ok, ST_OUTBOX_DELIVERED, 0),
                         ERR_OK);
    }
    struct st_retention r = {.calls_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(n.messages, 2);
    assert_int_equal(rows(f, "outbox"), msgs + 1);
    assert_int_equal(rows(f, "outbox_events"), events + 1);
    assert_int_equal(store_outbox_get(f->s, f->a.id, ids[2], "evt_once", got), ERR_OK);
    assert_string_equal(got->body, m->body);
    /* an erasure of the caller: the pending message is dropped, and its event with it */
    struct st_erasure *e = calloc(1, sizeof(*e));
    e->account_id = f->a.id;
    e->at = 1200;
    snprintf(e->kind, sizeof(e->kind), "caller");
    snprintf(e->actor, sizeof(e->actor), "test");
    assert_int_equal(store_erase(f->s, e, "+15555550777"), ERR_OK);
    assert_int_equal(e->outbox_dropped, 1);
    assert_int_equal(rows(f, "outbox"), msgs);
    assert_int_equal(rows(f, "outbox_events"), events);
    free(e);
    free(got);
    free(m);
}

static void outbox_claims_lease_limit_and_finish(void **state)
{
    struct fx *f = *state;
    struct st_destination d = make_destination(f, f->a.id, "wh_a", "call.completed");
    struct st_destination e = make_destination(f, f->a.id, "wh_e", "call.completed");
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof(id), "evt_%d", i);
        free(make_msg(f, &d, id, 100 + i));
    }
    free(make_msg(f, &e, "evt_e", 100));
    struct st_outbox_msg *dup = make_msg(f, &e, "evt_x", 100);
    assert_int_equal(store_outbox_add(f->s, dup), ERR_CONFLICT); /* one per event and destination */
    free(dup);
    /* Not due yet; then at most 2 per destination under live leases. */
    struct claimed c = {0};
    assert_int_equal(store_outbox_claim(f->s, 99, 1000, "node_1", 2, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(store_outbox_claim(f->s, 200, 1000, "node_1", 2, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 4); /* evt_0, evt_e (due first), evt_1, evt_x */
    assert_string_equal(c.event_ids[0], "evt_0");
    assert_int_equal(c.attempts[0], 1);
    assert_string_equal(c.secret, "whsec_wh_e");
    /* Another node sees nothing while the leases live and the destinations are at their limit. */
    struct claimed c2 = {0};
    assert_int_equal(store_outbox_claim(f->s, 300, 1100, "node_2", 2, 16, on_claim, &c2), ERR_OK);
    assert_int_equal(c2.n, 0);
    /* Finishing: delivered, and a failure due again later; both logged. */
    struct st_outbox_msg m;
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_0", &m), ERR_OK);
    struct st_delivery ok = {.account_id = d.account_id,
                             .destination_id = d.id,
                             .attempt = 1,
                             .at = 310,
                             .status = 200,
                             .latency_ms = 4};
    snprintf(ok.response, sizeof(ok.response), "fine");
    assert_int_equal(store_outbox_finish(f->s, m.id, "node_1", &ok, ST_OUTBOX_DELIVERED, 310),
                     ERR_OK);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_1", &m), ERR_OK);
    struct st_delivery bad = {
        .account_id = d.account_id, .destination_id = d.id, .attempt = 1, .at = 320, .status = 500};
    assert_int_equal(store_outbox_finish(f->s, m.id, "node_1", &bad, ST_OUTBOX_PENDING, 5000),
                     ERR_OK);
    /* The freed slots go to the next due messages of d. */
    struct claimed c3 = {0};
    assert_int_equal(store_outbox_claim(f->s, 400, 1400, "node_2", 2, 16, on_claim, &c3), ERR_OK);
    assert_int_equal(c3.n, 2);
    assert_string_equal(c3.event_ids[0], "evt_2");
    /* A lease that ran out (its node died) is claimed again, one more attempt counted. */
    struct claimed c4 = {0};
    assert_int_equal(store_outbox_claim(f->s, 1200, 2200, "node_3", 2, 16, on_claim, &c4), ERR_OK);
    assert_int_equal(c4.n, 2); /* evt_e and evt_x of e, its leases of node_1 gone */
    assert_int_equal(c4.attempts[0], 2);
    /* A late finish by the old owner is logged but does not take the new claim's message. */
    assert_int_equal(store_outbox_get(f->s, e.account_id, e.id, "evt_e", &m), ERR_OK);
    struct st_delivery late = {.account_id = e.account_id,
                               .destination_id = e.id,
                               .attempt = 1,
                               .at = 1210,
                               .status = 200};
    assert_int_equal(store_outbox_finish(f->s, m.id, "node_1", &late, ST_OUTBOX_DELIVERED, 0),
                     ERR_OK);
    assert_int_equal(store_outbox_get(f->s, e.account_id, e.id, "evt_e", &m), ERR_OK);
    assert_int_equal(m.state, ST_OUTBOX_PENDING);
    /* The log, newest first, paged by id. */
    int k = 0;
    assert_int_equal(store_delivery_list(f->s, d.account_id, d.id, 0, 10, count_delivery, &k),
                     ERR_OK);
    assert_int_equal(k, 2);
    /* Manual redelivery: the delivered evt_0 is pending and due again. */
    assert_int_equal(store_outbox_requeue(f->s, f->b.id, d.id, "evt_0", 500), ERR_NOTFOUND);
    assert_int_equal(store_outbox_requeue(f->s, f->a.id, d.id, "evt_0", 500), ERR_OK);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_0", &m), ERR_OK);
    assert_int_equal(m.state, ST_OUTBOX_PENDING);
    assert_int_equal(m.next_at, 500);
    /* A deleted destination's pending messages are given up. */
    assert_int_equal(store_destination_delete(f->s, f->a.id, "wh_e", 600), ERR_OK);
    assert_int_equal(store_outbox_get(f->s, e.account_id, e.id, "evt_x", &m), ERR_OK);
    assert_int_equal(m.state, ST_OUTBOX_GAVE_UP);
}

/* A google_ads batch: more due rows of one destination past the per-destination limit, the
 * account's only, oldest first; live leases, later rows and disabled destinations kept out. */
static void outbox_claim_batch_fills_past_the_limit(void **state)
{
    struct fx *f = *state;
    struct st_destination d = make_destination(f, f->a.id, "wh_gb", "conversion.created");
    struct st_destination e = make_destination(f, f->a.id, "wh_ge", "conversion.created");
    for (int i = 0; i < 7; i++) {
        char id[32];
        snprintf(id, sizeof(id), "evt_b%d", i);
        free(make_msg(f, &d, id, 100 + i));
    }
    free(make_msg(f, &d, "evt_later", 5000));
    free(make_msg(f, &e, "evt_e", 100));
    struct claimed c = {0};
    assert_int_equal(store_outbox_claim(f->s, 200, 1000, "node_1", 2, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 3); /* evt_b0, evt_b1 and evt_e */
    struct claimed b = {0};
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->b.id, d.id, 200, 1000, "node_1", 16, on_claim, &b),
        ERR_OK);
    assert_int_equal(b.n, 0); /* another account's id claims nothing */
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->a.id, d.id, 200, 1000, "node_1", 3, on_claim, &b),
        ERR_OK);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.event_ids[0], "evt_b2");
    assert_string_equal(b.event_ids[2], "evt_b4");
    assert_int_equal(b.attempts[0], 1);
    assert_string_equal(b.secret, "whsec_wh_gb");
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->a.id, d.id, 200, 1000, "node_1", 16, on_claim, &b),
        ERR_OK);
    assert_int_equal(b.n, 5); /* evt_b5, evt_b6: not the leased ones, not evt_later */
    assert_string_equal(b.event_ids[4], "evt_b6");
    struct claimed none = {0};
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->a.id, d.id, 300, 1100, "node_2", 16, on_claim, &none),
        ERR_OK);
    assert_int_equal(none.n, 0);
    /* The leases ran out: all seven again, one more attempt each. */
    struct claimed again = {0};
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->a.id, d.id, 1200, 2200, "node_2", 16, on_claim, &again),
        ERR_OK);
    assert_int_equal(again.n, 7);
    assert_string_equal(again.event_ids[0], "evt_b0");
    assert_int_equal(again.attempts[0], 2);
    /* A disabled destination's messages are not claimed. */
    bool disabled = false;
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 2300, 0, "refused", &disabled),
        ERR_OK);
    assert_true(disabled);
    assert_int_equal(
        store_outbox_claim_batch(f->s, f->a.id, d.id, 6000, 7000, "node_2", 16, on_claim, &none),
        ERR_OK);
    assert_int_equal(none.n, 0);
}

/* The claim per destination (issue 16, sql/0017): each destination gives its oldest due
 * messages up to its free places (per_dest less its live leases); of those, the oldest due
 * first up to max; the callback sees them in the order they were written. */
static void outbox_claim_per_destination_order_and_limit(void **state)
{
    struct fx *f = *state;
    struct st_destination a = make_destination(f, f->a.id, "wh_pa", "call.completed");
    struct st_destination b = make_destination(f, f->b.id, "wh_pb", "call.completed");
    for (int i = 0; i < 6; i++) {
        char id[32];
        snprintf(id, sizeof(id), "evt_a%d", i);
        free(make_msg(f, &a, id, 100 + i));
    }
    free(make_msg(f, &b, "evt_b50", 50));
    free(make_msg(f, &b, "evt_b150", 150)); /* not due at 120 */
    free(make_msg(f, &b, "evt_b60", 60));
    struct claimed c = {0};
    assert_int_equal(store_outbox_claim(f->s, 120, 1000, "node_1", 3, 4, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 4); /* the 4 oldest due: b50, b60, a0, a1; in id order */
    assert_string_equal(c.event_ids[0], "evt_a0");
    assert_string_equal(c.event_ids[1], "evt_a1");
    assert_string_equal(c.event_ids[2], "evt_b50");
    assert_string_equal(c.event_ids[3], "evt_b60");
    /* a has 2 live leases of 3: one more; b's next is not due. */
    struct claimed c2 = {0};
    assert_int_equal(store_outbox_claim(f->s, 130, 1000, "node_2", 3, 16, on_claim, &c2), ERR_OK);
    assert_int_equal(c2.n, 1);
    assert_string_equal(c2.event_ids[0], "evt_a2");
    struct claimed c3 = {0};
    assert_int_equal(store_outbox_claim(f->s, 140, 1000, "node_2", 3, 16, on_claim, &c3), ERR_OK);
    assert_int_equal(c3.n, 0); /* a at its limit */
    /* One finished: its place goes to the next of a; b150 is due now too. */
    struct st_outbox_msg m;
    assert_int_equal(store_outbox_get(f->s, a.account_id, a.id, "evt_a0", &m), ERR_OK);
    struct st_delivery ok = {
        .account_id = a.account_id, .destination_id = a.id, .attempt = 1, .at = 150, .status = 200};
    assert_int_equal(store_outbox_finish(f->s, m.id, "node_1", &ok, ST_OUTBOX_DELIVERED, 150),
                     ERR_OK);
    struct claimed c4 = {0};
    assert_int_equal(store_outbox_claim(f->s, 160, 1000, "node_1", 3, 16, on_claim, &c4), ERR_OK);
    assert_int_equal(c4.n, 2);
    assert_string_equal(c4.event_ids[0], "evt_a3");
    assert_string_equal(c4.event_ids[1], "evt_b150");
    /* The leases run out: every pending one is due again, 3 per destination. */
    struct claimed c5 = {0};
    assert_int_equal(store_outbox_claim(f->s, 2000, 3000, "node_3", 3, 16, on_claim, &c5), ERR_OK);
    assert_int_equal(c5.n, 6); /* a1, a2, a3 (a4, a5 wait); b50, b150, b60 */
    assert_string_equal(c5.event_ids[0], "evt_a1");
    assert_string_equal(c5.event_ids[2], "evt_a3");
    assert_int_equal(c5.attempts[0], 2);
}

static void destinations_disable_after_failing_and_enable(void **state)
{
    struct fx *f = *state;
    struct st_destination d = make_destination(f, f->a.id, "wh_d", "call.completed");
    bool disabled = true;
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 1000, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_false(disabled);
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, true, 1200, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 1300, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 1700, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_false(disabled); /* a success at 1200 restarted the clock: failing since 1300 */
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 1800, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_true(disabled);
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, false, 1900, 500, "HTTP 500", &disabled),
        ERR_OK);
    assert_false(disabled); /* exactly once */
    struct st_destination got;
    assert_int_equal(store_destination_get(f->s, f->a.id, "wh_d", &got), ERR_OK);
    assert_int_equal(got.disabled_at, 1800);
    assert_int_equal(got.failing_since, 1300);
    assert_string_equal(got.last_error, "HTTP 500");
    /* A disabled destination's messages are not claimed. */
    free(make_msg(f, &d, "evt_d", 1900));
    struct claimed c = {0};
    assert_int_equal(store_outbox_claim(f->s, 2000, 3000, "n", 4, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(store_destination_enable(f->s, f->b.id, "wh_d"), ERR_NOTFOUND);
    assert_int_equal(store_destination_enable(f->s, f->a.id, "wh_d"), ERR_OK);
    assert_int_equal(store_outbox_claim(f->s, 2000, 3000, "n", 4, 16, on_claim, &c), ERR_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(
        store_destination_result(f->s, d.account_id, d.id, true, 2100, 500, NULL, &disabled),
        ERR_OK);
    assert_int_equal(store_destination_get(f->s, f->a.id, "wh_d", &got), ERR_OK);
    assert_string_equal(got.last_error, "");
    assert_int_equal(got.failing_since, 0);
}

/* Ad-platform destinations (sql/0021) keep their format; a rejected credential disables at once
 * (disable_after 0) with its reason. */
static void destinations_ad_platforms(void **state)
{
    struct fx *f = *state;
    static const char *const formats[] = {"ga4", "meta"};
    for (size_t i = 0; i < 2; i++) {
        struct st_destination d = {.account_id = f->a.id, .created_at = 100};
        snprintf(d.ext_id, sizeof(d.ext_id), "wh_ad%zu", i);
        snprintf(d.url, sizeof(d.url), "https://example.com/%s", formats[i]);
        snprintf(d.format, sizeof(d.format), "%s", formats[i]);
        snprintf(d.events, sizeof(d.events), "conversion.created");
        snprintf(d.secret, sizeof(d.secret), "token-%zu", i);
        assert_int_equal(store_destination_add(f->s, &d), ERR_OK);
        struct st_destination got;
        assert_int_equal(store_destination_get(f->s, f->a.id, d.ext_id, &got), ERR_OK);
        assert_string_equal(got.format, formats[i]);
        assert_string_equal(got.secret, d.secret);
        free(make_msg(f, &d, "evt_ad", 100));
        struct claimed c = {0};
        assert_int_equal(store_outbox_claim(f->s, 200, 300, "n", 4, 16, on_claim, &c), ERR_OK);
        assert_int_equal(c.n, 1);
        bool disabled = false;
        assert_int_equal(store_destination_result(f->s, d.account_id, d.id, false, 400, 0,
                                                  "credential rejected", &disabled),
                         ERR_OK);
        assert_true(disabled);
        assert_int_equal(store_destination_get(f->s, f->a.id, d.ext_id, &got), ERR_OK);
        assert_string_equal(got.last_error, "credential rejected");
        assert_int_equal(got.disabled_at, 400);
        /* A new credential, sealed; the other account cannot touch it. */
        assert_int_equal(store_destination_secret_set(f->s, f->b.id, d.ext_id, "new-token"),
                         ERR_NOTFOUND);
        assert_int_equal(store_destination_secret_set(f->s, f->a.id, d.ext_id, "new-token"),
                         ERR_OK);
        assert_int_equal(store_destination_get(f->s, f->a.id, d.ext_id, &got), ERR_OK);
        assert_string_equal(got.secret, "new-token");
    }
    struct st_destination bad = {.account_id = f->a.id, .created_at = 100};
    snprintf(bad.ext_id, sizeof(bad.ext_id), "wh_bad");
    snprintf(bad.url, sizeof(bad.url), "https://example.com/");
    snprintf(bad.format, sizeof(bad.format), "tiktok");
    snprintf(bad.events, sizeof(bad.events), "conversion.created");
    assert_int_equal(store_destination_add(f->s, &bad), ERR_INVALID);
}

static void alert_observe_fires_once_per_cooldown(void **state)
{
    struct fx *f = *state;
    bool fired = true;
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 0, 100, 1000, &fired), ERR_OK);
    assert_false(fired); /* nothing yet */
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 3, 200, 1000, &fired), ERR_OK);
    assert_true(fired);
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 3, 200, 1000, &fired), ERR_OK);
    assert_false(fired); /* the same observation again */
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 9, 500, 1000, &fired), ERR_OK);
    assert_false(fired); /* grew, but within the cool-down */
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 9, 1300, 1000, &fired), ERR_OK);
    assert_false(fired); /* cool-down over, but no growth since the last look */
    assert_int_equal(store_alert_observe(f->s, f->a.id, "k", 10, 1400, 1000, &fired), ERR_OK);
    assert_true(fired);
    /* Per account and key; a first observation above 0 fires. */
    assert_int_equal(store_alert_observe(f->s, f->b.id, "k", 10, 1400, 1000, &fired), ERR_OK);
    assert_true(fired);
    assert_int_equal(store_alert_observe(f->s, f->a.id, "day", 5, 1400, 0, &fired), ERR_OK);
    assert_true(fired);
    assert_int_equal(store_alert_observe(f->s, f->a.id, "day", 5, 1500, 0, &fired), ERR_OK);
    assert_false(fired);
    assert_int_equal(store_alert_observe(f->s, f->a.id, "day", 6, 1600, 0, &fired), ERR_OK);
    assert_true(fired);
}

/* ==== privacy: erasure and retention ========================================================== */

static int erasure_cb(void *ctx, const struct st_erasure *e)
{
    struct st_erasure *out = ctx;
    if (!out->id)
        *out = *e;
    return 0;
}

static struct st_session make_visit(struct fx *f, int64_t account_id, const char *ext,
                                    const char *visitor, int64_t at)
{
    struct st_session ss = {.account_id = account_id, .created_at = at, .last_active_at = at};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "%s", ext);
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "%s", visitor);
    snprintf(ss.landing_page, sizeof(ss.landing_page), "https://a.example/p?gclid=G%s#x", ext);
    snprintf(ss.referrer, sizeof(ss.referrer), "https://www.google.com/");
    snprintf(ss.click_ids, sizeof(ss.click_ids), "{\"gclid\":\"G%s\"}", ext);
    snprintf(ss.client_key, sizeof(ss.client_key), "203.0.113.9");
    snprintf(ss.region, sizeof(ss.region), "CA");
    snprintf(ss.device, sizeof(ss.device), "mobile");
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    return ss;
}

static void erase_scrubs_caller_and_visitor_and_logs_what_left(void **state)
{
    struct fx *f = *state;
    struct st_session s1 = make_visit(f, f->a.id, "ses_e1", "vis_1", 1000);
    struct st_session s2 = make_visit(f, f->a.id, "ses_e2", "vis_2", 1000);
    struct st_session sb = make_visit(f, f->b.id, "ses_eb", "vis_1", 1000); /* tenant B */
    struct st_event ev = {.account_id = s1.account_id, .session_id = s1.id, .at = 1001};
    snprintf(ev.type, sizeof(ev.type), "form_submit");
    snprintf(ev.detail, sizeof(ev.detail), "jane@example.com");
    assert_int_equal(store_event_add(f->s, &ev), ERR_OK);
    struct st_call c1 = make_call(f, "CA_e1", 2000, s1.id); /* from +15555559999 */
    struct st_call c2 = c1;
    c2.id = 0;
    c2.ext_id[0] = '\0';
    c2.session_id = s2.id;
    snprintf(c2.provider_call_id, sizeof(c2.provider_call_id), "CA_e2");
    snprintf(c2.from, sizeof(c2.from), "+15555550777");
    assert_int_equal(store_call_insert(f->s, &c2), ERR_OK);
    struct st_call cb = c1; /* tenant B, same number */
    cb.account_id = f->b.id;
    cb.session_id = sb.id;
    snprintf(cb.provider_call_id, sizeof(cb.provider_call_id), "CA_eb");
    cb.id = 0;
    cb.ext_id[0] = '\0';
    assert_int_equal(store_call_insert(f->s, &cb), ERR_OK);
    struct st_call_outcome o = {
        .call_id = c1.id, .account_id = f->a.id, .revenue = -1, .billable = -1, .updated_at = 2100};
    snprintf(o.tags, sizeof(o.tags), "[]");
    snprintf(o.notes, sizeof(o.notes), "Jane Doe, leaking pipe");
    snprintf(o.lead_status, sizeof(o.lead_status), "new");
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);

    /* messages: one delivered naming c1, one pending naming c1, one about c2 only */
    struct st_destination d = make_destination(f, f->a.id, "wh_er", "call.completed");
    free(make_msg(f, &d, "evt_3", 2000));                      /* names neither */
    struct st_outbox_msg *longer = calloc(1, sizeof(*longer)); /* a longer number and id: others */
    *longer = (struct st_outbox_msg){
        .account_id = f->a.id, .destination_id = d.id, .created_at = 2000, .next_at = 2000};
    snprintf(longer->event_id, sizeof(longer->event_id), "evt_4");
    snprintf(longer->type, sizeof(longer->type), "call.started");
    snprintf(longer->body, sizeof(longer->body), "{\"from\":\"+155555599990\",\"id\":\"%sX\"}",
             c1.ext_id);
    assert_int_equal(store_outbox_add(f->s, longer), ERR_OK);
    struct st_outbox_msg *n1 = calloc(1, sizeof(*n1));
    *n1 = (struct st_outbox_msg){
        .account_id = f->a.id, .destination_id = d.id, .created_at = 2000, .next_at = 2000};
    snprintf(n1->event_id, sizeof(n1->event_id), "evt_c1a");
    snprintf(n1->type, sizeof(n1->type), "call.started");
    snprintf(n1->body, sizeof(n1->body), "{\"id\":\"%s\",\"from\":\"+15555559999\"}", c1.ext_id);
    assert_int_equal(store_outbox_add(f->s, n1), ERR_OK);
    struct claimed cl = {0};
    assert_int_equal(store_outbox_claim(f->s, 2000, 3000, "node_1", 100, 100, on_claim, &cl),
                     ERR_OK);
    struct st_delivery ok = {.outbox_id = n1->id,
                             .account_id = d.account_id,
                             .destination_id = d.id,
                             .attempt = 1,
                             .at = 2500,
                             .status = 200};
    snprintf(ok.response, sizeof(ok.response), "got +15555559999");
    for (int i = 0; i < cl.n; i++) { /* all delivered but… */
        struct st_outbox_msg got;
        assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, cl.event_ids[i], &got), ERR_OK);
        ok.outbox_id = got.id;
        assert_int_equal(store_outbox_finish(f->s, got.id, "node_1", &ok, ST_OUTBOX_DELIVERED, 0),
                         ERR_OK);
    }
    struct st_outbox_msg *n2 = calloc(1, sizeof(*n2)); /* …this one, still pending */
    *n2 = *n1;
    snprintf(n2->event_id, sizeof(n2->event_id), "evt_c1b");
    snprintf(n2->body, sizeof(n2->body), "{\"id\":\"%s\",\"visitor_id\":\"vis_1\"}", c1.ext_id);
    assert_int_equal(store_outbox_add(f->s, n2), ERR_OK);

    struct st_erasure *e = calloc(1, sizeof(*e));
    *e = (struct st_erasure){.account_id = f->a.id, .at = 5000};
    snprintf(e->kind, sizeof(e->kind), "caller");
    snprintf(e->actor, sizeof(e->actor), "api");
    assert_int_equal(store_erase(f->s, e, ""), ERR_INVALID);
    snprintf(e->kind, sizeof(e->kind), "nobody");
    assert_int_equal(store_erase(f->s, e, "+15555559999"), ERR_INVALID);
    snprintf(e->kind, sizeof(e->kind), "caller");
    snprintf(e->reference, sizeof(e->reference), "ticket 42");
    assert_int_equal(store_erase(f->s, e, "+15555559999"), ERR_OK);
    assert_true(e->id > 0);
    assert_true(strncmp(e->ext_id, "ers_", 4) == 0);
    assert_int_equal(e->calls, 1);
    assert_int_equal(e->sessions, 1);
    assert_int_equal(e->events, 1);
    assert_int_equal(e->outbox_dropped, 1);
    assert_int_equal(e->outbox_sent, 1);
    assert_non_null(strstr(e->sent, "\"event_id\":\"evt_c1a\""));
    assert_non_null(strstr(e->sent, "\"state\":\"delivered\""));
    assert_null(strstr(e->sent, "evt_c1b"));
    assert_int_equal(store_erase_flush(f->s, NULL), ERR_OK);

    struct st_call got;
    assert_int_equal(store_call_by_id(f->s, c1.account_id, c1.id, &got), ERR_OK);
    assert_string_equal(got.from, "");
    assert_int_equal(got.session_id, s1.id); /* still counted and attributed */
    assert_string_equal(got.method, "exact");
    assert_int_equal(store_call_by_id(f->s, c2.account_id, c2.id, &got), ERR_OK);
    assert_string_equal(got.from, "+15555550777");
    assert_int_equal(store_call_by_id(f->s, cb.account_id, cb.id, &got), ERR_OK);
    assert_string_equal(got.from, "+15555559999"); /* the other tenant's is not touched */
    struct st_call_outcome go;
    assert_int_equal(store_call_outcome_get(f->s, c1.account_id, c1.id, &go), ERR_OK);
    assert_string_equal(go.notes, "");
    struct st_session ss;
    assert_int_equal(store_session_by_id(f->s, s1.account_id, s1.id, &ss), ERR_OK);
    assert_string_equal(ss.visitor_id, "");
    assert_string_equal(ss.landing_page, "https://a.example/p");
    assert_string_equal(ss.referrer, "");
    assert_string_equal(ss.click_ids, "");
    assert_string_equal(ss.client_key, "");
    assert_string_equal(ss.region, "");
    assert_string_equal(ss.device, "mobile");
    assert_int_equal(store_session_by_id(f->s, sb.account_id, sb.id, &ss), ERR_OK);
    assert_string_equal(ss.visitor_id, "vis_1");
    struct st_outbox_msg *m = calloc(1, sizeof(*m));
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_c1a", m), ERR_OK);
    assert_null(strstr(m->body, "+1555"));
    assert_non_null(strstr(m->body, "\"erased\":true"));
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_c1b", m), ERR_NOTFOUND);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_3", m), ERR_OK);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_4", m), ERR_OK);
    assert_string_equal(m->body, longer->body); /* whole tokens only */
    free(longer);

    /* a visitor: their sessions and the calls attributed to them */
    struct st_erasure *v = calloc(1, sizeof(*v));
    *v = (struct st_erasure){.account_id = f->a.id, .at = 6000};
    snprintf(v->kind, sizeof(v->kind), "visitor");
    snprintf(v->actor, sizeof(v->actor), "cli");
    assert_int_equal(store_erase(f->s, v, "vis_2"), ERR_OK);
    assert_int_equal(v->sessions, 1);
    assert_int_equal(v->calls, 1);
    assert_int_equal(store_call_by_id(f->s, c2.account_id, c2.id, &got), ERR_OK);
    assert_string_equal(got.from, "");
    assert_int_equal(store_session_by_id(f->s, s2.account_id, s2.id, &ss), ERR_OK);
    assert_string_equal(ss.click_ids, "");

    struct st_erasure first = {0};
    assert_int_equal(store_erasure_list(f->s, f->a.id, INT64_MAX, 10, erasure_cb, &first), ERR_OK);
    assert_string_equal(first.ext_id, v->ext_id); /* newest first */
    struct st_erasure none = {0};
    assert_int_equal(store_erasure_list(f->s, f->b.id, INT64_MAX, 10, erasure_cb, &none), ERR_OK);
    assert_int_equal(none.id, 0);
    free(m);
    free(e);
    free(v);
    free(n1);
    free(n2);
}

/* call_facts (sql/0031): the calls report reads each call's attribution from the call's source
 * snapshot and its credited session's fields as they are now, and its conversion and outcome,
 * without reading sessions, conversions or call_outcomes: an outcome's change and an erasure
 * that strips the landing page's query show in the report, another account's calls stay out. */
static int facts_of(void *ctx, const struct st_report_call *r)
{
    struct st_report_call *out = ctx;
    while (out->call_id)
        out++;
    *out = *r;
    return 0;
}

static void call_facts_follow_the_call_and_its_session(void **state)
{
    struct fx *f = *state;
    struct st_session s1 = make_visit(f, f->a.id, "ses_f1", "vis_f1", 1000);
    struct st_session s2 = {.account_id = f->a.id, .created_at = 1000, .last_active_at = 1000};
    snprintf(s2.ext_id, sizeof(s2.ext_id), "ses_f2");
    snprintf(s2.visitor_id, sizeof(s2.visitor_id), "vis_f2");
    snprintf(s2.landing_page, sizeof(s2.landing_page), "https://a.example/ads");
    snprintf(s2.channel, sizeof(s2.channel), "paid_search");
    snprintf(s2.source, sizeof(s2.source), "google");
    snprintf(s2.medium, sizeof(s2.medium), "cpc");
    snprintf(s2.campaign, sizeof(s2.campaign), "spring");
    snprintf(s2.keyword, sizeof(s2.keyword), "plumber");
    snprintf(s2.content, sizeof(s2.content), "ad-7");
    snprintf(s2.device, sizeof(s2.device), "desktop");
    assert_int_equal(store_session_put(f->s, &s2), ERR_OK);
    struct st_session sb = make_visit(f, f->b.id, "ses_fb", "vis_f1", 1000); /* tenant B */
    struct st_call c1 = make_call(f, "CA_f1", 8000, s1.id);
    struct st_call c2 = c1; /* its own snapshot wins; the session fills the rest */
    c2.id = 0;
    c2.ext_id[0] = '\0';
    c2.started_at = 8001;
    c2.session_id = s2.id;
    snprintf(c2.provider_call_id, sizeof(c2.provider_call_id), "CA_f2");
    snprintf(c2.channel, sizeof(c2.channel), "direct");
    snprintf(c2.source, sizeof(c2.source), "print");
    assert_int_equal(store_call_insert(f->s, &c2), ERR_OK);
    struct st_call c3 = make_call(f, "CA_f3", 8002, 0);
    struct st_call cb = c1;
    cb.id = 0;
    cb.ext_id[0] = '\0';
    cb.account_id = f->b.id;
    cb.session_id = sb.id;
    snprintf(cb.provider_call_id, sizeof(cb.provider_call_id), "CA_fb");
    assert_int_equal(store_call_insert(f->s, &cb), ERR_OK);

    for (unsigned need = 0; need <= STORE_REPORT_NEED_ALL; need++) {
        struct st_report_call r[4] = {0};
        assert_int_equal(store_report_calls_need(f->s, f->a.id, 8000, 8003, need, facts_of, r),
                         ERR_OK);
        assert_int_equal(r[0].call_id, c1.id);
        assert_string_equal(r[0].landing_page, "https://a.example/p?gclid=Gses_f1#x");
        assert_string_equal(r[0].device, "mobile");
        assert_int_equal(r[1].call_id, c2.id);
        assert_string_equal(r[1].channel, "direct");
        assert_string_equal(r[1].source, "print");
        assert_string_equal(r[1].medium, "cpc");
        assert_string_equal(r[1].campaign, "spring");
        assert_string_equal(r[1].keyword, "plumber");
        assert_string_equal(r[1].landing_page, "https://a.example/ads");
        assert_string_equal(r[1].device, "desktop");
        assert_string_equal(r[1].content, "ad-7");
        assert_int_equal(r[2].call_id, c3.id);
        assert_string_equal(r[2].channel, "");
        assert_string_equal(r[2].landing_page, "");
        assert_string_equal(r[2].device, "");
        assert_int_equal(r[3].call_id, 0); /* B's call stays out */
    }

    /* a conversion and an outcome, written and changed, show in the facts */
    struct st_conversion cv = {.call_id = c1.id, .account_id = f->a.id, .value = 25, .at = 8100};
    snprintf(cv.name, sizeof(cv.name), "qualified");
    snprintf(cv.currency, sizeof(cv.currency), "USD");
    assert_int_equal(store_conversion_add(f->s, &cv), ERR_OK);
    struct st_call_outcome o = {.call_id = c2.id,
                                .account_id = f->a.id,
                                .revenue = 5000,
                                .billable = 1,
                                .updated_at = 8100};
    snprintf(o.tags, sizeof(o.tags), "[]");
    snprintf(o.lead_status, sizeof(o.lead_status), "won");
    snprintf(o.billable_by, sizeof(o.billable_by), "api");
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    for (unsigned need = 0; need <= STORE_REPORT_NEED_ALL; need++) {
        struct st_report_call r[4] = {0};
        assert_int_equal(store_report_calls_need(f->s, f->a.id, 8000, 8003, need, facts_of, r),
                         ERR_OK);
        assert_true(r[0].converted);
        assert_true(r[0].value > 24.9 && r[0].value < 25.1);
        assert_string_equal(r[0].lead_status, "new");
        assert_int_equal(r[0].revenue, -1);
        assert_int_equal(r[0].person_billable, -1);
        assert_false(r[1].converted);
        assert_string_equal(r[1].lead_status, "won");
        assert_int_equal(r[1].revenue, 5000);
        assert_int_equal(r[1].person_billable, 1);
        assert_false(r[2].converted);
        assert_string_equal(r[2].lead_status, "new");
    }
    o.revenue = -1;
    o.billable = -1;
    o.updated_at = 8200;
    snprintf(o.lead_status, sizeof(o.lead_status), "lost");
    o.billable_by[0] = '\0';
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    struct st_report_call ro[4] = {0};
    assert_int_equal(store_report_calls(f->s, f->a.id, 8000, 8003, facts_of, ro), ERR_OK);
    assert_string_equal(ro[1].lead_status, "lost");
    assert_int_equal(ro[1].revenue, -1);
    assert_int_equal(ro[1].person_billable, -1);
    assert_true(ro[0].converted);

    /* erasing the visitor strips the landing page's query: the report follows */
    struct st_erasure *v = calloc(1, sizeof(*v));
    *v = (struct st_erasure){.account_id = f->a.id, .at = 9000};
    snprintf(v->kind, sizeof(v->kind), "visitor");
    snprintf(v->actor, sizeof(v->actor), "cli");
    assert_int_equal(store_erase(f->s, v, "vis_f1"), ERR_OK);
    free(v);
    struct st_report_call r[4] = {0};
    assert_int_equal(store_report_calls(f->s, f->a.id, 8000, 8003, facts_of, r), ERR_OK);
    assert_int_equal(r[0].call_id, c1.id);
    assert_string_equal(r[0].landing_page, "https://a.example/p");
    assert_string_equal(r[0].device, "mobile");
    assert_string_equal(r[1].landing_page, "https://a.example/ads");
    struct st_report_call rb[2] = {0}; /* B's visitor of the same id is not A's */
    assert_int_equal(store_report_calls(f->s, f->b.id, 8000, 8003, facts_of, rb), ERR_OK);
    assert_int_equal(rb[0].call_id, cb.id);
    assert_string_equal(rb[0].landing_page, "https://a.example/p?gclid=Gses_fb#x");
}

/* A routed call's record with a recording, as the routing callbacks leave it. */
static void make_recorded_route(struct fx *f, const struct st_call *c, const char *recording)
{
    struct st_call_route r = {.account_id = c->account_id,
                              .recording_duration_s = 42,
                              .started_at = c->started_at,
                              .updated_at = c->started_at};
    snprintf(r.provider, sizeof(r.provider), "%s", c->provider);
    snprintf(r.call_sid, sizeof(r.call_sid), "%.63s", c->provider_call_id);
    snprintf(r.plan, sizeof(r.plan), "plan_1");
    snprintf(r.recording_url, sizeof(r.recording_url), "%s", recording);
    assert_int_equal(store_call_route_put(f->s, &r), ERR_OK);
}

/* Routing records follow their calls: the recording is forgotten after its own retention and by
 * an erasure of the caller; the record goes with a purged call. */
static void routes_follow_retention_and_erasure(void **state)
{
    struct fx *f = *state;
    struct st_call old = make_call(f, "CA_r1", 1000, 0);
    struct st_call young = make_call(f, "CA_r2", 9000, 0);
    make_recorded_route(f, &old, "https://api.example/Recordings/RE1");
    make_recorded_route(f, &young, "https://api.example/Recordings/RE2");
    struct st_call_route got;
    struct st_retention r = {.recordings_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(n.recordings, 1);
    assert_int_equal(n.calls, 0);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CA_r1", &got), ERR_OK);
    assert_string_equal(got.recording_url, "");
    assert_int_equal(got.recording_duration_s, -1);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CA_r2", &got), ERR_OK);
    assert_string_equal(got.recording_url, "https://api.example/Recordings/RE2");
    /* the caller erased: the young call's recording goes too */
    struct st_erasure *e = calloc(1, sizeof(*e));
    *e = (struct st_erasure){.account_id = f->a.id, .at = 9500};
    snprintf(e->kind, sizeof(e->kind), "caller");
    snprintf(e->actor, sizeof(e->actor), "api");
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_erase(f->s, e, "+15555559999"), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    free(e);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CA_r2", &got), ERR_OK);
    assert_string_equal(got.recording_url, "");
    /* calls purged: their records go with them */
    r = (struct st_retention){.calls_before = 5000};
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(n.calls, 1);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CA_r1", &got), ERR_NOTFOUND);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CA_r2", &got), ERR_OK);
}

/* ==== call recordings (sql/0030) ============================================================= */

/* A call forwarded without a plan keeps its own recording: put by the account only, replaced by
 * a repeated callback, shown by every read of the call, forgotten by retention and erasure. */
static void call_recording_put_is_idempotent_and_account_scoped(void **state)
{
    struct fx *f = *state;
    struct st_call old = make_call(f, "CA_rec1", 1000, 0);
    struct st_call young = make_call(f, "CA_rec2", 9000, 0);
    struct st_call got;
    assert_int_equal(store_call_by_id(f->s, old.account_id, old.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, ""); /* none until the callback */
    assert_int_equal(got.recording_duration_s, -1);
    const char *url = "https://api.example/2010-04-01/Accounts/AC1/Recordings/RE1";
    assert_int_equal(store_call_recording_put(f->s, f->a.id, old.id, url, 17), ERR_OK);
    assert_int_equal(store_call_recording_put(f->s, f->a.id, old.id, url, 17), ERR_OK); /* again */
    assert_int_equal(store_call_get(f->s, f->a.id, old.ext_id, &got), ERR_OK);
    assert_string_equal(got.recording_url, url);
    assert_int_equal(got.recording_duration_s, 17);
    assert_int_equal(store_call_by_provider(f->s, "twilio", "CA_rec1", &got), ERR_OK);
    assert_string_equal(got.recording_url, url);
    /* another account's call id, an unknown one, a bad URL: nothing written */
    assert_int_equal(store_call_recording_put(f->s, f->b.id, young.id, url, 5), ERR_NOTFOUND);
    assert_int_equal(store_call_recording_put(f->s, f->a.id, 999999, url, 5), ERR_NOTFOUND);
    assert_int_equal(store_call_recording_put(f->s, f->a.id, young.id, "", 5), ERR_INVALID);
    char big[STORE_RECORDING_URL_MAX + 1];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(store_call_recording_put(f->s, f->a.id, young.id, big, 5), ERR_INVALID);
    assert_int_equal(store_call_by_id(f->s, young.account_id, young.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, "");
    /* a length not reported; then a later callback replaces it */
    assert_int_equal(store_call_recording_put(f->s, f->a.id, young.id, url, -1), ERR_OK);
    assert_int_equal(store_call_by_id(f->s, young.account_id, young.id, &got), ERR_OK);
    assert_int_equal(got.recording_duration_s, -1);
    assert_int_equal(store_call_recording_put(f->s, f->a.id, young.id, "https://x.example/RE2", 9),
                     ERR_OK);
    assert_int_equal(store_call_by_id(f->s, young.account_id, young.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, "https://x.example/RE2");
    assert_int_equal(got.recording_duration_s, 9);
    /* the recordings' retention forgets the old one only */
    struct st_retention r = {.recordings_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(n.recordings, 1);
    assert_int_equal(store_call_by_id(f->s, old.account_id, old.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, "");
    assert_int_equal(got.recording_duration_s, -1);
    assert_int_equal(store_call_by_id(f->s, young.account_id, young.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, "https://x.example/RE2");
    /* the caller erased: their voice goes too */
    struct st_erasure *e = calloc(1, sizeof(*e));
    *e = (struct st_erasure){.account_id = f->a.id, .at = 9500};
    snprintf(e->kind, sizeof(e->kind), "caller");
    snprintf(e->actor, sizeof(e->actor), "api");
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_erase(f->s, e, "+15555559999"), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    free(e);
    assert_int_equal(store_call_by_id(f->s, young.account_id, young.id, &got), ERR_OK);
    assert_string_equal(got.recording_url, "");
    assert_int_equal(got.recording_duration_s, -1);
}

/* ==== page views (sql/0026) ================================================================== */

static int collect_page_view(void *ctx, const struct st_page_view *pv)
{
    struct st_page_view *out = ctx;
    while (out->seq)
        out++;
    *out = *pv;
    return 0;
}

static int add_view(struct fx *f, const struct st_session *ss, const char *path, const char *title,
                    int64_t at, bool dedupe)
{
    struct st_page_view pv = {.account_id = ss->account_id, .session_id = ss->id, .at = at};
    snprintf(pv.path, sizeof(pv.path), "%s", path);
    snprintf(pv.title, sizeof(pv.title), "%s", title ? title : "");
    bool added = false;
    assert_int_equal(store_page_view_add(f->s, &pv, dedupe, &added), ERR_OK);
    return added;
}

/* A session's page views after its landing page: appended in order, a repeated page kept only
 * when asked (a page load) and dropped with dedupe (a ping), at most STORE_PAGE_VIEWS_MAX - 1,
 * scoped to the account, gone with the visitor's erasure and with the events' retention. */
static void page_views_append_bounded_and_follow_privacy(void **state)
{
    struct fx *f = *state;
    struct st_session ss = make_visit(f, f->a.id, "ses_pv", "vis_pv", 1000);
    assert_true(add_view(f, &ss, "/pricing", "Pricing <b>", 2000, true));
    assert_false(add_view(f, &ss, "/pricing", "Pricing <b>", 2100, true)); /* the same page */
    assert_true(add_view(f, &ss, "/pricing", NULL, 2200, false));          /* a reload */
    assert_true(add_view(f, &ss, "/contact", NULL, 2300, true));
    struct st_page_view *got = calloc(STORE_PAGE_VIEWS_MAX + 1, sizeof(*got));
    assert_int_equal(store_page_view_list(f->s, f->a.id, ss.id, 10, collect_page_view, got),
                     ERR_OK);
    assert_int_equal(got[0].seq, 1);
    assert_string_equal(got[0].path, "/pricing");
    assert_string_equal(got[0].title, "Pricing <b>");
    assert_int_equal(got[0].at, 2000);
    assert_int_equal(got[1].seq, 2);
    assert_string_equal(got[1].title, "");
    assert_int_equal(got[1].at, 2200);
    assert_string_equal(got[2].path, "/contact");
    assert_int_equal(got[3].seq, 0);
    /* another account never sees them, and its rows never count against this session's cap */
    memset(got, 0, sizeof(*got) * 4);
    assert_int_equal(store_page_view_list(f->s, f->b.id, ss.id, 10, collect_page_view, got),
                     ERR_OK);
    assert_int_equal(got[0].seq, 0);
    /* max */
    assert_int_equal(store_page_view_list(f->s, f->a.id, ss.id, 1, collect_page_view, got), ERR_OK);
    assert_int_equal(got[0].seq, 1);
    assert_int_equal(got[1].seq, 0);
    /* bounded: the landing page and STORE_PAGE_VIEWS_MAX - 1 rows */
    int added = 3;
    for (int i = 0; i < STORE_PAGE_VIEWS_MAX + 5; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/p%d", i);
        added += add_view(f, &ss, path, NULL, 3000 + i, false);
    }
    assert_int_equal(added, STORE_PAGE_VIEWS_MAX - 1);
    memset(got, 0, sizeof(*got) * (STORE_PAGE_VIEWS_MAX + 1));
    assert_int_equal(store_page_view_list(f->s, f->a.id, ss.id, 1000, collect_page_view, got),
                     ERR_OK);
    assert_int_equal(got[STORE_PAGE_VIEWS_MAX - 2].seq, STORE_PAGE_VIEWS_MAX - 1);
    assert_int_equal(got[STORE_PAGE_VIEWS_MAX - 1].seq, 0);
    /* retention: views older than the events' cut-off go (the session stays: it is young) */
    struct st_session young = make_visit(f, f->a.id, "ses_pv2", "vis_pv2", 9000);
    assert_true(add_view(f, &young, "/old", NULL, 4000, false));
    assert_true(add_view(f, &young, "/new", NULL, 9500, false));
    struct st_retention r = {.events_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 1000, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_true(n.events >= STORE_PAGE_VIEWS_MAX); /* ses_pv's views (3000 + i) and /old */
    memset(got, 0, sizeof(*got) * (STORE_PAGE_VIEWS_MAX + 1));
    assert_int_equal(store_page_view_list(f->s, f->a.id, young.id, 10, collect_page_view, got),
                     ERR_OK);
    assert_string_equal(got[0].path, "/new");
    assert_int_equal(got[1].seq, 0);
    /* the visitor erased: their page views go */
    struct st_erasure *e = calloc(1, sizeof(*e));
    *e = (struct st_erasure){.account_id = f->a.id, .at = 9600};
    snprintf(e->kind, sizeof(e->kind), "visitor");
    snprintf(e->actor, sizeof(e->actor), "cli");
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_erase(f->s, e, "vis_pv2"), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(e->events, 1);
    memset(got, 0, sizeof(*got) * 2);
    assert_int_equal(store_page_view_list(f->s, f->a.id, young.id, 10, collect_page_view, got),
                     ERR_OK);
    assert_int_equal(got[0].seq, 0);
    free(e);
    free(got);
}

static void purge_deletes_old_rows_in_batches_and_keeps_called_sessions(void **state)
{
    struct fx *f = *state;
    struct st_session old1 = make_visit(f, f->a.id, "ses_o1", "v1", 1000);
    struct st_session old2 = make_visit(f, f->a.id, "ses_o2", "v2", 1100);
    struct st_session oldc = make_visit(f, f->a.id, "ses_oc", "v3", 1200); /* has a call */
    struct st_session young = make_visit(f, f->a.id, "ses_y", "v4", 9000);
    struct st_session other = make_visit(f, f->b.id, "ses_ob", "v5", 1000);
    struct st_event ev = {.account_id = oldc.account_id, .session_id = oldc.id, .at = 1250};
    snprintf(ev.type, sizeof(ev.type), "tel_click");
    assert_int_equal(store_event_add(f->s, &ev), ERR_OK);
    ev.at = 9500;
    assert_int_equal(store_event_add(f->s, &ev), ERR_OK);
    struct st_call oldcall = make_call(f, "CA_p1", 1300, oldc.id);
    struct st_call newcall = make_call(f, "CA_p2", 9100, oldc.id);
    (void)oldcall;
    struct st_retention r = {.sessions_before = 5000, .calls_before = 0, .events_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 1, &n, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_false(busy);
    assert_int_equal(n.sessions, 1); /* one per batch, oldest first */
    struct st_session ss;
    assert_int_equal(store_session_by_id(f->s, old1.account_id, old1.id, &ss), ERR_NOTFOUND);
    assert_int_equal(store_session_by_id(f->s, old2.account_id, old2.id, &ss), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(n.sessions, 1);
    assert_int_equal(n.events, 0); /* the kept session's old event went in the first batch */
    assert_int_equal(store_session_by_id(f->s, old2.account_id, old2.id, &ss), ERR_NOTFOUND);
    assert_int_equal(store_session_by_id(f->s, oldc.account_id, oldc.id, &ss),
                     ERR_OK); /* a call refers to it */
    assert_int_equal(store_session_by_id(f->s, young.account_id, young.id, &ss), ERR_OK);
    assert_int_equal(store_session_by_id(f->s, other.account_id, other.id, &ss),
                     ERR_OK); /* other tenant */
    int64_t events = 0;
    assert_int_equal(store_count(f->s, "events", &events), ERR_OK);
    assert_int_equal(events, 1);
    /* calls: the old call goes; its session stays while the newer call refers to it; sent
     * messages older than the cutoff go, a pending one stays */
    struct st_destination d = make_destination(f, f->a.id, "wh_p", "call.completed");
    free(make_msg(f, &d, "evt_sent", 1300));
    free(make_msg(f, &d, "evt_pending", 1400));
    free(make_msg(f, &d, "evt_new", 9200));
    struct claimed cl = {0};
    assert_int_equal(store_outbox_claim(f->s, 1300, 2000, "node_1", 1, 1, on_claim, &cl), ERR_OK);
    assert_int_equal(cl.n, 1);
    assert_string_equal(cl.event_ids[0], "evt_sent");
    struct st_outbox_msg *m = calloc(1, sizeof(*m));
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_sent", m), ERR_OK);
    struct st_delivery ok = {.outbox_id = m->id,
                             .account_id = d.account_id,
                             .destination_id = d.id,
                             .attempt = 1,
                             .at = 1350,
                             .status = 200};
    assert_int_equal(store_outbox_finish(f->s, m->id, "node_1", &ok, ST_OUTBOX_DELIVERED, 0),
                     ERR_OK);
    r.calls_before = 5000;
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(n.calls, 1);
    assert_int_equal(n.messages, 1);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_sent", m), ERR_NOTFOUND);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_pending", m), ERR_OK);
    assert_int_equal(store_outbox_get(f->s, d.account_id, d.id, "evt_new", m), ERR_OK);
    free(m);
    struct st_call got;
    assert_int_equal(store_call_by_id(f->s, oldcall.account_id, oldcall.id, &got), ERR_NOTFOUND);
    assert_int_equal(store_call_by_id(f->s, newcall.account_id, newcall.id, &got), ERR_OK);
    assert_int_equal(store_session_by_id(f->s, oldc.account_id, oldc.id, &ss), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &n, &busy), ERR_OK);
    assert_int_equal(n.calls + n.sessions + n.events + n.messages, 0);
}

/* Several nodes on one PostgreSQL database: while one node's purge transaction holds the purge
 * lock, another's purge does nothing and says so; SQLite has one serving process. */
static void purge_runs_on_one_node_at_a_time(void **state)
{
    struct fx *f = *state;
    if (be->single_owner)
        skip();
    struct store *other = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(store_open(f->url, &other, &eb), ERR_OK);
    struct st_retention r = {.sessions_before = 5000};
    struct st_purged n;
    bool busy = true;
    assert_int_equal(store_begin(other), ERR_OK);
    assert_int_equal(store_purge(other, f->a.id, &r, 10, &n, &busy), ERR_OK);
    assert_false(busy);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 10, &n, &busy), ERR_OK);
    assert_true(busy);
    store_rollback(f->s);
    assert_int_equal(store_commit(other), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 10, &n, &busy), ERR_OK);
    assert_false(busy);
    assert_int_equal(store_commit(f->s), ERR_OK);
    store_close(other);
}

/* ==== routing (sql/0019) ====================================================================== */

static int count_docs(void *ctx, const struct st_route_doc *d)
{
    (void)d;
    ++*(int *)ctx;
    return 0;
}

static int collect_counts(void *ctx, const struct st_route_count *c)
{
    struct st_route_count *out = ctx;
    for (int i = 0; i < 6; i++)
        if (!out[i].target[0]) {
            out[i] = *c;
            break;
        }
    return 0;
}

static int sum_routes(void *ctx, const struct st_call_route *r)
{
    *(int64_t *)ctx += r->payout;
    return 0;
}

static struct st_call_route make_route(int64_t account_id, const char *sid, const char *target,
                                       int64_t at, bool dialing)
{
    struct st_call_route r = {.account_id = account_id, .recording_duration_s = -1};
    snprintf(r.provider, sizeof(r.provider), "twilio");
    snprintf(r.call_sid, sizeof(r.call_sid), "%s", sid);
    snprintf(r.plan, sizeof(r.plan), "plan_x");
    snprintf(r.target, sizeof(r.target), "%s", target);
    r.dialing = dialing;
    r.started_at = r.updated_at = at;
    r.payout = 100;
    return r;
}

/* Rules and calls belong to a location (migration 0027): a rule keeps its location through
 * create, list and update (scoped to the account), a session the location of the rule its visit
 * matched; a call keeps the location decided when it was stored, and the reports name it,
 * unless a plan routed the call elsewhere (call_routes). */
static int rule_location_cb(void *ctx, const struct st_rule *r)
{
    snprintf(ctx, STORE_ID_MAX, "%s", r->location);
    return 0;
}

struct loc_seen {
    int64_t call_id[4];
    char name[4][STORE_NAME_MAX];
};

static int report_location_cb(void *ctx, const struct st_report_call *c)
{
    struct loc_seen *ls = ctx;
    for (size_t i = 0; i < 4; i++)
        if (ls->call_id[i] == c->call_id)
            snprintf(ls->name[i], sizeof(ls->name[i]), "%s", c->location);
    return 0;
}

static struct st_route_doc *make_location(struct fx *f, int64_t account_id, const char *name)
{
    struct st_route_doc *d = calloc(1, sizeof(*d));
    d->account_id = account_id;
    snprintf(d->kind, sizeof(d->kind), "location");
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->body, sizeof(d->body), "{\"name\":\"%s\"}", name);
    d->updated_at = 100;
    assert_int_equal(store_route_doc_put(f->s, d), ERR_OK);
    return d;
}

static void rules_and_calls_belong_to_a_location(void **state)
{
    struct fx *f = *state;
    struct st_route_doc *north = make_location(f, f->a.id, "North");
    struct st_route_doc *south = make_location(f, f->a.id, "South");
    struct st_rule r = {.account_id = f->a.id, .position = 1};
    snprintf(r.field, sizeof(r.field), "utm_source");
    snprintf(r.op, sizeof(r.op), "equals");
    snprintf(r.value, sizeof(r.value), "yelp");
    snprintf(r.location, sizeof(r.location), "%s", north->ext_id);
    assert_int_equal(store_rule_create(f->s, &r, 400, NULL), ERR_OK);
    char got[STORE_ID_MAX] = "";
    assert_int_equal(store_rule_list(f->s, f->a.id, rule_location_cb, got), ERR_OK);
    assert_string_equal(got, north->ext_id);
    /* update: the whole rule, by account and ext id; the id stays */
    struct st_rule u = r;
    u.id = 0;
    snprintf(u.location, sizeof(u.location), "%s", south->ext_id);
    snprintf(u.value, sizeof(u.value), "bing");
    assert_int_equal(store_rule_update(f->s, &u, NULL), ERR_OK);
    assert_int_equal(u.id, r.id);
    assert_int_equal(store_rule_list(f->s, f->a.id, rule_location_cb, got), ERR_OK);
    assert_string_equal(got, south->ext_id);
    u.location[0] = '\0';
    assert_int_equal(store_rule_update(f->s, &u, NULL), ERR_OK);
    assert_int_equal(store_rule_list(f->s, f->a.id, rule_location_cb, got), ERR_OK);
    assert_string_equal(got, "");
    struct st_rule other = u;
    other.account_id = f->b.id; /* another account's rule id: not found, nothing changed */
    snprintf(other.location, sizeof(other.location), "%s", north->ext_id);
    assert_int_equal(store_rule_update(f->s, &other, NULL), ERR_NOTFOUND);
    snprintf(other.ext_id, sizeof(other.ext_id), "rule_nope");
    other.account_id = f->a.id;
    assert_int_equal(store_rule_update(f->s, &other, NULL), ERR_NOTFOUND);
    assert_int_equal(store_rule_list(f->s, f->a.id, rule_location_cb, got), ERR_OK);
    assert_string_equal(got, "");

    /* a session keeps the location of the rule its visit matched */
    struct st_session ss = {.account_id = f->a.id, .created_at = 900, .last_active_at = 900};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "s_loc");
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "v_loc");
    snprintf(ss.location, sizeof(ss.location), "%s", north->ext_id);
    assert_int_equal(store_session_put(f->s, &ss), ERR_OK);
    struct st_session sgot;
    assert_int_equal(store_session_by_id(f->s, ss.account_id, ss.id, &sgot), ERR_OK);
    assert_string_equal(sgot.location, north->ext_id);
    assert_int_equal(store_session_get(f->s, "s_loc", &sgot), ERR_OK);
    assert_string_equal(sgot.location, north->ext_id);

    /* calls: the location stored with the call, read back and named by the reports */
    struct st_call c = {.account_id = f->a.id,
                        .started_at = 1000,
                        .updated_at = 1000,
                        .call_duration_s = -1,
                        .dial_duration_s = -1};
    snprintf(c.provider, sizeof(c.provider), "twilio");
    snprintf(c.to, sizeof(c.to), "+15555550101");
    snprintf(c.from, sizeof(c.from), "+15555559999");
    snprintf(c.status, sizeof(c.status), "ringing");
    snprintf(c.method, sizeof(c.method), "unattributed");
    struct st_call calls[4];
    const char *locs[4] = {north->ext_id, "", north->ext_id, "loc_gone"};
    for (int i = 0; i < 4; i++) {
        calls[i] = c;
        snprintf(calls[i].provider_call_id, sizeof(calls[i].provider_call_id), "CALOC%d", i);
        snprintf(calls[i].location, sizeof(calls[i].location), "%s", locs[i]);
        calls[i].started_at += i;
        assert_int_equal(store_call_insert(f->s, &calls[i]), ERR_OK);
    }
    struct st_call back;
    assert_int_equal(store_call_by_provider(f->s, "twilio", "CALOC0", &back), ERR_OK);
    assert_string_equal(back.location, north->ext_id);
    assert_int_equal(store_call_get(f->s, f->a.id, calls[1].ext_id, &back), ERR_OK);
    assert_string_equal(back.location, "");
    /* a plan routed call 2 to South: the routing record's location wins */
    struct st_call_route cr = make_route(f->a.id, "CALOC2", "t1", 1002, false);
    snprintf(cr.location, sizeof(cr.location), "%s", south->ext_id);
    assert_int_equal(store_call_route_put(f->s, &cr), ERR_OK);
    /* a location's conversion rule qualified call 1 (which has none of its own) */
    struct st_conversion cv = {.call_id = calls[1].id, .account_id = f->a.id, .at = 1500};
    snprintf(cv.name, sizeof(cv.name), "Phone call");
    snprintf(cv.location, sizeof(cv.location), "%s", north->ext_id);
    assert_int_equal(store_conversion_add(f->s, &cv), ERR_OK);
    struct st_conversion cv_got;
    assert_int_equal(store_conversion_by_call(f->s, calls[1].account_id, calls[1].id, &cv_got),
                     ERR_OK);
    assert_string_equal(cv_got.location, north->ext_id);
    struct loc_seen ls = {0};
    for (int i = 0; i < 4; i++)
        ls.call_id[i] = calls[i].id;
    assert_int_equal(store_report_calls(f->s, f->a.id, 0, 2000, report_location_cb, &ls), ERR_OK);
    assert_string_equal(ls.name[0], "North");
    assert_string_equal(ls.name[1], "North"); /* by its conversion rule */
    assert_string_equal(ls.name[2], "South");
    assert_string_equal(ls.name[3], ""); /* a location deleted since: none */
    free(north);
    free(south);
}

static void routing_docs_counters_and_call_routes(void **state)
{
    struct fx *f = *state;
    struct st_route_doc *d = calloc(1, sizeof(*d));
    struct st_route_doc *got = calloc(1, sizeof(*got));
    d->account_id = f->a.id;
    snprintf(d->kind, sizeof(d->kind), "plan");
    snprintf(d->name, sizeof(d->name), "Main line");
    snprintf(d->attach, sizeof(d->attach), "number:num_1");
    snprintf(d->body, sizeof(d->body), "{\"steps\":[]}");
    d->updated_at = 1000;
    assert_int_equal(store_route_doc_put(f->s, d), ERR_OK);
    assert_true(d->id > 0);
    assert_int_equal(strncmp(d->ext_id, "plan_", 5), 0);
    assert_int_equal(store_route_doc_get(f->s, f->a.id, "plan", d->ext_id, got), ERR_OK);
    assert_string_equal(got->name, "Main line");
    assert_string_equal(got->body, d->body);
    assert_int_equal(got->created_at, 1000);
    assert_int_equal(store_route_doc_get(f->s, f->b.id, "plan", d->ext_id, got), ERR_NOTFOUND);
    assert_int_equal(store_route_doc_get(f->s, f->a.id, "location", d->ext_id, got), ERR_NOTFOUND);
    assert_int_equal(store_route_doc_by_attach(f->s, f->a.id, "number:num_1", got), ERR_OK);
    assert_string_equal(got->ext_id, d->ext_id);
    assert_int_equal(store_route_doc_by_attach(f->s, f->b.id, "number:num_1", got), ERR_NOTFOUND);
    /* one plan per attachment and account; another account may attach the same text */
    struct st_route_doc *e = calloc(1, sizeof(*e));
    *e = *d;
    e->id = 0;
    assert_int_equal(store_route_doc_put(f->s, e), ERR_CONFLICT);
    e->id = 0;
    e->attach[0] = '\0';
    assert_int_equal(store_route_doc_put(f->s, e), ERR_OK); /* unattached: no conflict */
    struct st_route_doc *other = calloc(1, sizeof(*other));
    *other = *d;
    other->id = 0;
    other->account_id = f->b.id;
    assert_int_equal(store_route_doc_put(f->s, other), ERR_OK);
    struct st_route_doc *loc = calloc(1, sizeof(*loc));
    *loc = *e;
    loc->id = 0;
    snprintf(loc->kind, sizeof(loc->kind), "location");
    assert_int_equal(store_route_doc_put(f->s, loc), ERR_OK);
    assert_int_equal(strncmp(loc->ext_id, "loc_", 4), 0);
    int n = 0;
    assert_int_equal(store_route_doc_list(f->s, f->a.id, "plan", count_docs, &n), ERR_OK);
    assert_int_equal(n, 2);
    /* update: by account, kind and ext id */
    snprintf(d->name, sizeof(d->name), "Renamed");
    d->attach[0] = '\0';
    d->updated_at = 2000;
    assert_int_equal(store_route_doc_put(f->s, d), ERR_OK);
    assert_int_equal(store_route_doc_get(f->s, f->a.id, "plan", d->ext_id, got), ERR_OK);
    assert_string_equal(got->name, "Renamed");
    assert_string_equal(got->attach, "");
    assert_int_equal(got->updated_at, 2000);
    assert_int_equal(store_route_doc_by_attach(f->s, f->a.id, "number:num_1", got), ERR_NOTFOUND);
    other->account_id = f->a.id; /* b's plan through a's account: not found */
    assert_int_equal(store_route_doc_put(f->s, other), ERR_NOTFOUND);
    assert_int_equal(store_route_doc_delete(f->s, f->a.id, "plan", other->ext_id), ERR_NOTFOUND);
    assert_int_equal(store_route_doc_delete(f->s, f->a.id, "plan", d->ext_id), ERR_OK);
    assert_int_equal(store_route_doc_delete(f->s, f->a.id, "plan", d->ext_id), ERR_NOTFOUND);

    /* counters: 1, 2, 3 per account and key */
    int64_t v = 0;
    for (int64_t i = 1; i <= 3; i++) {
        assert_int_equal(store_route_counter_next(f->s, f->a.id, "rr:plan_x:0", &v), ERR_OK);
        assert_int_equal(v, i);
    }
    assert_int_equal(store_route_counter_next(f->s, f->b.id, "rr:plan_x:0", &v), ERR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(store_begin(f->s), ERR_OK); /* rolled back with its transaction */
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "rr:plan_x:0", &v), ERR_OK);
    assert_int_equal(v, 4);
    store_rollback(f->s);
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "rr:plan_x:0", &v), ERR_OK);
    assert_int_equal(v, 4);

    /* call routes: upsert by provider call id, scoped to the account */
    struct st_call_route r = make_route(f->a.id, "CAR1", "t1", 5000, true);
    snprintf(r.digits, sizeof(r.digits), "12");
    snprintf(r.verstat, sizeof(r.verstat), "TN-Validation-Passed-A");
    assert_int_equal(store_call_route_put(f->s, &r), ERR_OK);
    snprintf(r.recording_url, sizeof(r.recording_url), "https://api.example/rec/RE1");
    r.recording_duration_s = 42;
    snprintf(r.outcome, sizeof(r.outcome), "voicemail");
    r.dialing = false;
    r.updated_at = 6000;
    assert_int_equal(store_call_route_put(f->s, &r), ERR_OK);
    struct st_call_route rg;
    assert_int_equal(store_call_route_get(f->s, "twilio", "CAR1", &rg), ERR_OK);
    assert_string_equal(rg.recording_url, "https://api.example/rec/RE1");
    assert_int_equal(rg.recording_duration_s, 42);
    assert_string_equal(rg.digits, "12");
    assert_string_equal(rg.verstat, "TN-Validation-Passed-A");
    assert_string_equal(rg.outcome, "voicemail");
    assert_false(rg.dialing);
    assert_int_equal(rg.started_at, 5000);
    assert_int_equal(rg.updated_at, 6000);
    assert_string_equal(rg.auction_id, ""); /* not won in an auction */
    assert_int_equal(rg.bid_price, 0);
    /* a ping-post win: the auction, the bid and its price, and a SIP destination */
    snprintf(r.auction_id, sizeof(r.auction_id), "auc_0123456789");
    snprintf(r.bid_id, sizeof(r.bid_id), "bid-77");
    r.bid_price = 2500;
    snprintf(r.target_number, sizeof(r.target_number), "sip:agent-7@buyer.example.com:5061");
    assert_int_equal(store_call_route_put(f->s, &r), ERR_OK);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CAR1", &rg), ERR_OK);
    assert_string_equal(rg.auction_id, "auc_0123456789");
    assert_string_equal(rg.bid_id, "bid-77");
    assert_int_equal(rg.bid_price, 2500);
    assert_string_equal(rg.target_number, "sip:agent-7@buyer.example.com:5061");
    struct st_call_route theirs = r;
    theirs.account_id = f->b.id;
    assert_int_equal(store_call_route_put(f->s, &theirs), ERR_NOTFOUND);
    assert_int_equal(store_call_route_get(f->s, "twilio", "CAR9", &rg), ERR_NOTFOUND);
    struct st_call_route r2 = make_route(f->a.id, "CAR2", "t1", 7000, true);
    struct st_call_route r3 = make_route(f->a.id, "CAR3", "t2", 8000, false);
    struct st_call_route r4 = make_route(f->b.id, "CAR4", "t1", 8000, true);
    assert_int_equal(store_call_route_put(f->s, &r2), ERR_OK);
    assert_int_equal(store_call_route_put(f->s, &r3), ERR_OK);
    assert_int_equal(store_call_route_put(f->s, &r4), ERR_OK);
    /* caps: today's dials from the day's counters, live ones from the dialling records */
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "d:plan_x:20261207:t1", &v), ERR_OK);
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "d:plan_x:20261207:t1", &v), ERR_OK);
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "d:plan_x:20261207:t2", &v), ERR_OK);
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "d:plan_x:20261206:t1", &v), ERR_OK);
    assert_int_equal(store_route_counter_next(f->s, f->a.id, "d:plan_xy:20261207:t1", &v), ERR_OK);
    assert_int_equal(store_route_counter_next(f->s, f->b.id, "d:plan_x:20261207:t2", &v), ERR_OK);
    struct st_route_count counts[6];
    memset(counts, 0, sizeof(counts));
    assert_int_equal(store_route_counts(f->s, f->a.id, "plan_x", "d:plan_x:20261207:", 4000,
                                        collect_counts, counts),
                     ERR_OK);
    int64_t today[3] = {0}, live[3] = {0}; /* t1, t2, other */
    for (int i = 0; i < 6 && counts[i].target[0]; i++) {
        int k = strcmp(counts[i].target, "t1") == 0   ? 0
                : strcmp(counts[i].target, "t2") == 0 ? 1
                                                      : 2;
        today[k] += counts[i].today;
        live[k] += counts[i].live;
    }
    assert_int_equal(today[0], 2);
    assert_int_equal(today[1], 1);
    assert_int_equal(live[0], 1); /* CAR2 (CAR1 ended; CAR4 is b's) */
    assert_int_equal(live[1], 0); /* CAR3 is not dialling */
    assert_int_equal(today[2] + live[2], 0);
    memset(counts, 0, sizeof(counts));
    assert_int_equal(store_route_counts(f->s, f->a.id, "plan_x", "d:plan_x:20261207:", 7500,
                                        collect_counts, counts),
                     ERR_OK); /* CAR2's record is older than the live window */
    for (int i = 0; i < 6; i++)
        assert_int_equal(counts[i].live, 0);
    int64_t payout = 0;
    assert_int_equal(store_call_route_list(f->s, f->a.id, 0, 7500, sum_routes, &payout), ERR_OK);
    assert_int_equal(payout, 200); /* CAR1, CAR2: a's, started before 7500 */
    free(loc);
    free(other);
    free(e);
    free(got);
    free(d);
}

static void traffic_counts_add_up_per_account_and_purge(void **state)
{
    struct fx *f = *state;
    int64_t pv = -1;
    int64_t sm = -1;
    assert_int_equal(store_traffic_sum(f->s, f->a.id, 0, &pv, &sm), ERR_OK);
    assert_int_equal(pv, 0); /* nothing counted yet */
    assert_int_equal(sm, 0);
    assert_int_equal(store_traffic_add(f->s, f->a.id, 300000, 10, 1, 0), ERR_OK);
    assert_int_equal(store_traffic_add(f->s, f->a.id, 300000, 5, 2, 0), ERR_OK); /* adds up */
    assert_int_equal(store_traffic_add(f->s, f->a.id, 600000, 7, 0, 0), ERR_OK);
    assert_int_equal(store_traffic_add(f->s, f->b.id, 600000, 100, 50, 0), ERR_OK);
    assert_int_equal(store_traffic_sum(f->s, f->a.id, 0, &pv, &sm), ERR_OK);
    assert_int_equal(pv, 22);
    assert_int_equal(sm, 3);
    assert_int_equal(store_traffic_sum(f->s, f->a.id, 600000, &pv, &sm), ERR_OK);
    assert_int_equal(pv, 7); /* only the buckets from since on */
    assert_int_equal(sm, 0);
    /* A purge drops the account's older buckets only. */
    assert_int_equal(store_traffic_add(f->s, f->a.id, 900000, 1, 1, 600000), ERR_OK);
    assert_int_equal(store_traffic_sum(f->s, f->a.id, 0, &pv, &sm), ERR_OK);
    assert_int_equal(pv, 8);
    assert_int_equal(sm, 1);
    assert_int_equal(store_traffic_sum(f->s, f->b.id, 0, &pv, &sm), ERR_OK);
    assert_int_equal(pv, 100);
    assert_int_equal(sm, 50);
}

static void feeds_one_per_account_replaced_and_deleted(void **state)
{
    struct fx *f = *state;
    struct st_account a;
    char hash[65];
    assert_int_equal(store_feed_account(f->s, "feed_1", &a, hash), ERR_NOTFOUND);
    assert_int_equal(store_feed_set(f->s, f->a.id, "feed_1", "h1", 10), ERR_OK);
    assert_int_equal(store_feed_account(f->s, "feed_1", &a, hash), ERR_OK);
    assert_int_equal(a.id, f->a.id);
    assert_string_equal(a.ext_id, f->a.ext_id);
    assert_string_equal(hash, "h1");
    /* Another account cannot take the same feed id; a new feed replaces the old one. */
    assert_int_equal(store_feed_set(f->s, f->b.id, "feed_1", "h2", 11), ERR_CONFLICT);
    assert_int_equal(store_feed_set(f->s, f->a.id, "feed_2", "h3", 12), ERR_OK);
    assert_int_equal(store_feed_account(f->s, "feed_1", &a, hash), ERR_NOTFOUND);
    assert_int_equal(store_feed_account(f->s, "feed_2", &a, hash), ERR_OK);
    assert_string_equal(hash, "h3");
    assert_int_equal(store_feed_delete(f->s, f->b.id), ERR_NOTFOUND);
    assert_int_equal(store_feed_delete(f->s, f->a.id), ERR_OK);
    assert_int_equal(store_feed_account(f->s, "feed_2", &a, hash), ERR_NOTFOUND);
}

COUNTER(count_intent, struct st_intent)
COUNTER(count_number_action, struct st_number_action)
COUNTER(count_autoscale, struct st_autoscale)

static int first_usage(void *ctx, const struct st_number_usage *u)
{
    *(struct st_number_usage *)ctx = *u;
    return 1;
}

/* Numbers bought through the provider (sql/0020): settings per account, autoscale per pool,
 * one pending purchase per pool slot up to the target size (a second claim of the same slot
 * conflicts), the month's spend, the action log, usage and job claims, all scoped by account. */
static void number_management_claims_and_scoping(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15125550100", 60, 60, false);
    make_number(f, f->a.id, p.id, 1);
    struct st_numcfg c = {
        .account_id = f->a.id, .monthly_cap = 300, .number_cost = 100, .updated_at = 5};
    snprintf(c.provider, sizeof(c.provider), "twilio");
    snprintf(c.country, sizeof(c.country), "US");
    struct st_numcfg got;
    assert_int_equal(store_numcfg_get(f->s, f->a.id, &got), ERR_NOTFOUND);
    assert_int_equal(store_numcfg_put(f->s, &c), ERR_OK);
    c.monthly_cap = 400;
    assert_int_equal(store_numcfg_put(f->s, &c), ERR_OK);
    assert_int_equal(store_numcfg_get(f->s, f->a.id, &got), ERR_OK);
    assert_int_equal(got.monthly_cap, 400);
    assert_string_equal(got.provider, "twilio");
    assert_int_equal(store_numcfg_get(f->s, f->b.id, &got), ERR_NOTFOUND);

    /* Autoscale: only on the account's own pool; the list gives enabled ones. */
    struct st_autoscale as = {.account_id = f->b.id,
                              .pool_id = p.id,
                              .enabled = true,
                              .min_size = 1,
                              .max_size = 5,
                              .idle_release_s = 60};
    assert_int_equal(store_autoscale_put(f->s, &as), ERR_NOTFOUND);
    as.account_id = f->a.id;
    snprintf(as.area_code, sizeof(as.area_code), "512");
    assert_int_equal(store_autoscale_put(f->s, &as), ERR_OK);
    as.seen_exhaustion = 7;
    snprintf(as.last_decision, sizeof(as.last_decision), "dry:exhausted:2:0:0");
    assert_int_equal(store_autoscale_put(f->s, &as), ERR_OK);
    struct st_autoscale ga;
    assert_int_equal(store_autoscale_get(f->s, f->a.id, p.id, &ga), ERR_OK);
    assert_int_equal(ga.seen_exhaustion, 7);
    assert_string_equal(ga.last_decision, "dry:exhausted:2:0:0");
    assert_string_equal(ga.area_code, "512");
    assert_int_equal(store_autoscale_get(f->s, f->b.id, p.id, &ga), ERR_NOTFOUND);
    int n = 0;
    assert_int_equal(store_autoscale_list(f->s, count_autoscale, &n), ERR_OK);
    assert_int_equal(n, 1);

    /* Claims: the pool has 1 number; target 2 gives slot 2, a second claim for target 2
     * conflicts (the slot is pending), target 3 gives slot 3. Another account's claim on the
     * pool is refused. */
    struct st_intent i1, i2, i3;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_intent_claim(f->s, f->a.id, p.id, 2, "k1", "twilio", 10, &i1), ERR_OK);
    assert_int_equal(i1.slot, 2);
    assert_int_equal(i1.state, ST_INTENT_PENDING);
    assert_int_equal(store_intent_claim(f->s, f->a.id, p.id, 2, "k2", "twilio", 10, &i2),
                     ERR_CONFLICT);
    assert_int_equal(store_intent_claim(f->s, f->a.id, p.id, 3, "k3", "twilio", 10, &i3), ERR_OK);
    assert_int_equal(i3.slot, 3);
    assert_int_equal(store_intent_claim(f->s, f->b.id, p.id, 9, "k4", "twilio", 10, &i2),
                     ERR_NOTFOUND);
    assert_int_equal(store_commit(f->s), ERR_OK);
    int64_t spend = 0;
    assert_int_equal(store_intent_spend(f->s, f->a.id, 0, &spend), ERR_OK);
    assert_int_equal(spend, 2);
    /* Two pending purchases never choose the same number. */
    snprintf(i1.number, sizeof(i1.number), "+15125550111");
    assert_int_equal(store_intent_update(f->s, &i1), ERR_OK);
    snprintf(i3.number, sizeof(i3.number), "+15125550111");
    assert_int_equal(store_intent_update(f->s, &i3), ERR_CONFLICT);
    i3.number[0] = '\0';
    /* i1 bought, i3 failed: the failed one frees its slot and costs nothing. */
    i1.state = ST_INTENT_BOUGHT;
    snprintf(i1.number, sizeof(i1.number), "+15125550111");
    snprintf(i1.provider_ref, sizeof(i1.provider_ref), "PN1");
    i1.updated_at = 11;
    assert_int_equal(store_intent_update(f->s, &i1), ERR_OK);
    i3.state = ST_INTENT_FAILED;
    assert_int_equal(store_intent_update(f->s, &i3), ERR_OK);
    i3.account_id = f->b.id;
    assert_int_equal(store_intent_update(f->s, &i3), ERR_NOTFOUND);
    assert_int_equal(store_intent_spend(f->s, f->a.id, 0, &spend), ERR_OK);
    assert_int_equal(spend, 1);
    n = 0;
    assert_int_equal(store_intent_list(f->s, f->a.id, p.id, ST_INTENT_BOUGHT, count_intent, &n),
                     ERR_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(store_intent_list(f->s, f->b.id, 0, -1, count_intent, &n), ERR_OK);
    assert_int_equal(n, 0);
    /* Released this month: still paid for this month, not the next. */
    i1.state = ST_INTENT_RELEASED;
    i1.released_at = 1000;
    assert_int_equal(store_intent_update(f->s, &i1), ERR_OK);
    assert_int_equal(store_intent_spend(f->s, f->a.id, 500, &spend), ERR_OK);
    assert_int_equal(spend, 1);
    assert_int_equal(store_intent_spend(f->s, f->a.id, 2000, &spend), ERR_OK);
    assert_int_equal(spend, 0);

    /* The log, newest first, per account and pool. */
    for (int k = 0; k < 3; k++) {
        struct st_number_action a = {
            .account_id = f->a.id, .pool_id = p.id, .at = 20 + k, .ok = true, .intent_id = i1.id};
        snprintf(a.action, sizeof(a.action), "buy");
        snprintf(a.detail, sizeof(a.detail), "line %d", k);
        assert_int_equal(store_number_action_add(f->s, &a), ERR_OK);
        assert_true(a.id > 0);
    }
    struct st_number_action bad = {.account_id = f->b.id, .pool_id = p.id};
    assert_int_equal(store_number_action_add(f->s, &bad), ERR_NOTFOUND);
    n = 0;
    assert_int_equal(store_number_action_list(f->s, f->a.id, p.id, 0, 2, count_number_action, &n),
                     ERR_OK);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(store_number_action_list(f->s, f->b.id, p.id, 0, 9, count_number_action, &n),
                     ERR_OK);
    assert_int_equal(n, 0);

    /* Usage: a number never leased nor called reads 0s. */
    struct st_number_usage u = {0};
    assert_int_equal(store_number_usage(f->s, f->a.id, p.id, first_usage, &u), ERR_OK);
    assert_string_equal(u.number, "+15555550001");
    assert_int_equal(u.last_lease_end, 0);
    assert_int_equal(u.last_call_at, 0);
    memset(&u, 0, sizeof(u));
    assert_int_equal(store_number_usage(f->s, f->b.id, p.id, first_usage, &u), ERR_OK);
    assert_int_equal(u.number_id, 0);

    /* Job claims: one holder until its claim ends; the holder may renew. */
    bool g = false;
    assert_int_equal(store_job_claim(f->s, "autoscale", "node1", 100, 200, &g), ERR_OK);
    assert_true(g);
    assert_int_equal(store_job_claim(f->s, "autoscale", "node2", 150, 250, &g), ERR_OK);
    assert_false(g);
    assert_int_equal(store_job_claim(f->s, "autoscale", "node1", 150, 300, &g), ERR_OK);
    assert_true(g);
    assert_int_equal(store_job_claim(f->s, "autoscale", "node2", 300, 400, &g), ERR_OK);
    assert_true(g);
}

/* ==== publishers and the P&L's facts (sql/0022) ============================================== */

static int count_publishers(void *ctx, const struct st_publisher *p)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static struct st_publisher *make_publisher(int64_t account_id, const char *name, int64_t payout,
                                           const char *kind, const char *value)
{
    struct st_publisher *p = calloc(1, sizeof(*p));
    p->account_id = account_id;
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->payout = payout;
    snprintf(p->owns, sizeof(p->owns), "{\"%ss\":[\"%s\"]}", kind, value);
    p->updated_at = 1000;
    p->n_claims = 1;
    snprintf(p->claims[0].kind, sizeof(p->claims[0].kind), "%s", kind);
    snprintf(p->claims[0].value, sizeof(p->claims[0].value), "%s", value);
    return p;
}

static int put_publisher(struct fx *f, struct st_publisher *p)
{
    int rc = store_begin(f->s);
    if (rc)
        return rc;
    rc = store_publisher_put(f->s, p);
    if (rc == ERR_OK)
        return store_commit(f->s);
    store_rollback(f->s);
    return rc;
}

static int pnl_facts(void *ctx, const struct st_report_call *c)
{
    struct st_report_call *out = ctx;
    for (int i = 0; i < 3; i++)
        if (!out[i].call_ext[0]) {
            out[i] = *c;
            break;
        }
    return 0;
}

static void publishers_claims_and_pnl_facts(void **state)
{
    struct fx *f = *state;
    struct st_publisher *p = make_publisher(f->a.id, "Leads Inc", 1500, "source", "bing");
    assert_int_equal(put_publisher(f, p), ERR_OK);
    assert_true(p->id > 0);
    assert_int_equal(strncmp(p->ext_id, "pub_", 4), 0);
    struct st_publisher *got = calloc(1, sizeof(*got));
    assert_int_equal(store_publisher_get(f->s, f->a.id, p->ext_id, got), ERR_OK);
    assert_string_equal(got->name, "Leads Inc");
    assert_int_equal(got->payout, 1500);
    assert_string_equal(got->owns, p->owns);
    assert_int_equal(got->created_at, 1000);
    assert_int_equal(store_publisher_get(f->s, f->b.id, p->ext_id, got), ERR_NOTFOUND);

    /* a thing belongs to one publisher of an account; another account may own it too */
    struct st_publisher *q = make_publisher(f->a.id, "Other", 900, "source", "bing");
    assert_int_equal(put_publisher(f, q), ERR_CONFLICT);
    assert_int_equal(store_publisher_get(f->s, f->a.id, q->ext_id, got), ERR_NOTFOUND);
    struct st_publisher *theirs = make_publisher(f->b.id, "Theirs", 900, "source", "bing");
    assert_int_equal(put_publisher(f, theirs), ERR_OK);
    q->id = 0;
    snprintf(q->claims[0].value, sizeof(q->claims[0].value), "+15555550101");
    snprintf(q->claims[0].kind, sizeof(q->claims[0].kind), "number");
    assert_int_equal(put_publisher(f, q), ERR_OK);
    int n = 0;
    assert_int_equal(store_publisher_list(f->s, f->a.id, count_publishers, &n), ERR_OK);
    assert_int_equal(n, 2);

    /* update: the claims are replaced, so what p gave up is free for q */
    p->payout = 1700;
    snprintf(p->claims[0].value, sizeof(p->claims[0].value), "google");
    p->updated_at = 2000;
    assert_int_equal(put_publisher(f, p), ERR_OK);
    assert_int_equal(store_publisher_get(f->s, f->a.id, p->ext_id, got), ERR_OK);
    assert_int_equal(got->payout, 1700);
    assert_int_equal(got->created_at, 1000);
    assert_int_equal(got->updated_at, 2000);
    q->n_claims = 2;
    snprintf(q->claims[1].kind, sizeof(q->claims[1].kind), "source");
    snprintf(q->claims[1].value, sizeof(q->claims[1].value), "bing");
    assert_int_equal(put_publisher(f, q), ERR_OK);
    theirs->account_id = f->a.id; /* b's publisher through a's account: not found */
    theirs->id = 1;
    assert_int_equal(put_publisher(f, theirs), ERR_NOTFOUND);
    assert_int_equal(store_publisher_delete(f->s, f->a.id, theirs->ext_id), ERR_NOTFOUND);
    assert_int_equal(store_publisher_delete(f->s, f->a.id, q->ext_id), ERR_OK);
    assert_int_equal(store_publisher_delete(f->s, f->a.id, q->ext_id), ERR_NOTFOUND);
    struct st_publisher *r = make_publisher(f->a.id, "Again", 100, "source", "bing");
    assert_int_equal(put_publisher(f, r), ERR_OK); /* the deleted one's claims went with it */

    /* the report's facts of a routed call: its target, price, the rule's and a person's word */
    struct st_call c1 = make_call(f, "CPNL1", 5000, 0);
    struct st_call c2 = make_call(f, "CPNL2", 5001, 0);
    make_call(f, "CPNL3", 5002, 0);
    struct st_call_route rt = make_route(f->a.id, "CPNL1", "buyer_a", 5000, false);
    rt.price = 4200;
    rt.billable = 1;
    assert_int_equal(store_call_route_put(f->s, &rt), ERR_OK);
    struct st_call_route rg;
    assert_int_equal(store_call_route_get(f->s, "twilio", "CPNL1", &rg), ERR_OK);
    assert_int_equal(rg.price, 4200);
    assert_int_equal(rg.billable, 1);
    rt = make_route(f->a.id, "CPNL2", "buyer_b", 5001, false);
    rt.price = 3000;
    rt.billable = 0;
    assert_int_equal(store_call_route_put(f->s, &rt), ERR_OK);
    struct st_call_outcome o = {
        .call_id = c2.id, .account_id = f->a.id, .revenue = -1, .billable = 1, .updated_at = 6000};
    snprintf(o.tags, sizeof(o.tags), "[]");
    snprintf(o.lead_status, sizeof(o.lead_status), "new");
    snprintf(o.billable_by, sizeof(o.billable_by), "api");
    assert_int_equal(store_call_outcome_put(f->s, &o), ERR_OK);
    struct st_report_call facts[3];
    memset(facts, 0, sizeof(facts));
    assert_int_equal(store_report_calls(f->s, f->a.id, 5000, 5003, pnl_facts, facts), ERR_OK);
    assert_string_equal(facts[0].call_ext, c1.ext_id);
    assert_string_equal(facts[0].target, "buyer_a");
    assert_int_equal(facts[0].price, 4200);
    assert_int_equal(facts[0].rule_billable, 1);
    assert_int_equal(facts[0].person_billable, -1);
    assert_string_equal(facts[1].target, "buyer_b");
    assert_int_equal(facts[1].rule_billable, 0);
    assert_int_equal(facts[1].person_billable, 1);
    assert_string_equal(facts[2].target, "");
    assert_int_equal(facts[2].price, 0);
    assert_int_equal(facts[2].rule_billable, -1);
    assert_int_equal(facts[2].person_billable, -1);
    assert_string_equal(facts[2].pool_ext, "");
    free(p);
    free(q);
    free(r);
    free(theirs);
    free(got);
}

/* ==== report speed (sql/0024): the funnel's session facts and payouts per call ============== */

/* The funnel reads facts kept on each session by the store; they follow every write: a lease
 * taken back, events and calls purged, a talk time changed, a conversion. */
static void report_speed_session_facts_follow_writes(void **state)
{
    struct fx *f = *state;
    struct st_session s1 = make_session(f, "rs1", 100);
    struct st_session s2 = make_session(f, "rs2", 200);
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n = make_number(f, f->a.id, p.id, 12);
    struct st_lease l = {.account_id = s1.account_id,
                         .session_id = s1.id,
                         .number_id = n.id,
                         .pool_id = p.id,
                         .leased_at = 100,
                         .last_active_at = 100,
                         .expires_at = 60100};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    struct st_event e = {.account_id = s2.account_id, .session_id = s2.id, .at = 210};
    snprintf(e.type, sizeof(e.type), "tel_click");
    assert_int_equal(store_event_add(f->s, &e), ERR_OK);
    struct funnel_seen fs = {0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 60, collect_session, &fs),
                     ERR_OK);
    assert_int_equal(fs.n, 2);
    assert_true(fs.rows[0].shown && !fs.rows[0].engaged);
    assert_true(fs.rows[1].engaged && !fs.rows[1].shown);
    /* the lease taken back: no longer shown */
    assert_int_equal(store_lease_delete(f->s, s1.account_id, s1.id, n.id, 100), ERR_OK);
    /* a call on s1: 90 s, then corrected to 30 s; a conversion */
    struct st_call c = make_call(f, "CA_rs1", 300, s1.id);
    end_call(f, &c, 90);
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 60, collect_session, &fs),
                     ERR_OK);
    assert_false(fs.rows[0].shown);
    assert_true(fs.rows[0].called && fs.rows[0].qualified && !fs.rows[0].converted);
    end_call(f, &c, 30);
    struct st_conversion cv = {.call_id = c.id, .account_id = f->a.id, .value = 1, .at = 400};
    snprintf(cv.name, sizeof(cv.name), "Phone call");
    snprintf(cv.currency, sizeof(cv.currency), "USD");
    assert_int_equal(store_conversion_add(f->s, &cv), ERR_OK);
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 60, collect_session, &fs),
                     ERR_OK);
    assert_true(fs.rows[0].called && !fs.rows[0].qualified && fs.rows[0].converted);
    /* the qualified rule is the one given when reading */
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 30, collect_session, &fs),
                     ERR_OK);
    assert_true(fs.rows[0].qualified);
    /* retention purges the call and the events: the sessions fall back */
    struct st_retention r = {.calls_before = 1000, .events_before = 1000};
    struct st_purged pn;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &pn, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(pn.calls, 1);
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 1000, 60, collect_session, &fs),
                     ERR_OK);
    assert_int_equal(fs.n, 2);
    assert_false(fs.rows[0].shown || fs.rows[0].engaged || fs.rows[0].called ||
                 fs.rows[0].converted);
    assert_false(fs.rows[1].shown || fs.rows[1].engaged || fs.rows[1].called);
}

/* A visitor's cohort follows its first session: one purged, the next one is the first. */
static void report_speed_cohort_follows_first_session(void **state)
{
    struct fx *f = *state;
    struct st_session v1 = {.account_id = f->a.id, .created_at = 100, .last_active_at = 100};
    snprintf(v1.ext_id, sizeof(v1.ext_id), "cf1");
    snprintf(v1.visitor_id, sizeof(v1.visitor_id), "v_cf");
    assert_int_equal(store_session_put(f->s, &v1), ERR_OK);
    struct st_session v2 = v1;
    v2.id = 0;
    v2.created_at = v2.last_active_at = 5000;
    snprintf(v2.ext_id, sizeof(v2.ext_id), "cf2");
    assert_int_equal(store_session_put(f->s, &v2), ERR_OK);
    make_call(f, "CA_cf", 5100, v2.id);
    /* an earlier session of the visitor stored later still makes it the first */
    struct st_session v0 = v1;
    v0.id = 0;
    v0.created_at = v0.last_active_at = 50;
    snprintf(v0.ext_id, sizeof(v0.ext_id), "cf0");
    assert_int_equal(store_session_put(f->s, &v0), ERR_OK);
    struct cohort_seen cs = {0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 0, 1000, collect_cohort, &cs), ERR_OK);
    assert_int_equal(cs.n, 2);
    assert_true(cs.rows[0].first);
    assert_int_equal(cs.rows[0].first_at, 50);
    assert_int_equal(cs.rows[0].call_started_at, 0);
    assert_false(cs.rows[1].first);
    assert_int_equal(cs.rows[1].call_started_at, 5100);
    /* the two sessions before 1000 purged: the visitor's first visit is now at 5000 */
    struct st_retention r = {.sessions_before = 1000};
    struct st_purged pn;
    bool busy = true;
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_purge(f->s, f->a.id, &r, 100, &pn, &busy), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_int_equal(pn.sessions, 2);
    cs = (struct cohort_seen){0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 0, 1000, collect_cohort, &cs), ERR_OK);
    assert_int_equal(cs.n, 0);
    assert_int_equal(store_report_cohort(f->s, f->a.id, 1000, 9000, collect_cohort, &cs), ERR_OK);
    assert_int_equal(cs.n, 1);
    assert_true(cs.rows[0].first);
    assert_int_equal(cs.rows[0].first_at, 5000);
    assert_int_equal(cs.rows[0].call_started_at, 5100);
}

/* sql/0035: a new session's insert writes its first_at and, with its lease in the same step
 * (store_visits_add), its funnel bit 1; both stay right for the rest: a visit without a lease,
 * a lease taken later and taken back, a session earlier than its visitor's others stored late
 * (its insert moves theirs). Each session's first_at is read through a call on it
 * (include=call_ids). */
static int64_t call_first_at(struct fx *f, const char *call_ext)
{
    struct session_calls_seen sc = {0};
    assert_int_equal(
        store_report_session_calls(f->s, f->a.id, 0, 100000, false, 60, collect_session_call, &sc),
        ERR_OK);
    const struct st_report_session_call *r = seen_call(&sc, call_ext);
    assert_non_null(r);
    return r->first_at;
}

static struct st_session visit_with_lease(struct fx *f, const char *ext, const char *visitor,
                                          int64_t at, const struct st_number *n)
{
    struct st_session ss = {.account_id = f->a.id, .created_at = at, .last_active_at = at};
    snprintf(ss.ext_id, sizeof(ss.ext_id), "%s", ext);
    snprintf(ss.visitor_id, sizeof(ss.visitor_id), "%s", visitor);
    struct st_lease l = {.account_id = f->a.id,
                         .number_id = n->id,
                         .pool_id = n->pool_id,
                         .leased_at = at,
                         .last_active_at = at,
                         .expires_at = at + 60000};
    struct st_visit_add v = {&ss, &l};
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_visits_add(f->s, &v, 1), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    assert_true(ss.id > 0 && l.session_id == ss.id);
    return ss;
}

static void session_facts_insert_first_at_and_funnel(void **state)
{
    struct fx *f = *state;
    struct st_pool p = make_pool(f, f->a.id, "+15555550100", 60, 0, false);
    struct st_number n1 = make_number(f, f->a.id, p.id, 31);
    struct st_number n2 = make_number(f, f->a.id, p.id, 32);
    /* (a) a visitor's first visit, with a lease; (b) its second; (c) its third, no lease (pool
     * exhausted in fallback mode, or no pool); (c') a new visitor's first visit, no lease */
    struct st_session a = visit_with_lease(f, "sf_a", "v_sf", 1000, &n1);
    struct st_session b = visit_with_lease(f, "sf_b", "v_sf", 2000, &n2);
    struct st_session c = {.account_id = f->a.id, .created_at = 3000, .last_active_at = 3000};
    snprintf(c.ext_id, sizeof(c.ext_id), "sf_c");
    snprintf(c.visitor_id, sizeof(c.visitor_id), "v_sf");
    assert_int_equal(store_session_put(f->s, &c), ERR_OK);
    struct st_session d = make_session(f, "sf_d", 3500);
    /* the cohorts before any call: one row per visitor, its first session */
    struct cohort_seen cs = {0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 0, 10000, collect_cohort, &cs), ERR_OK);
    assert_int_equal(cs.n, 2);
    assert_true(cs.rows[0].first && cs.rows[1].first);
    assert_string_equal(cs.rows[0].visitor_id, "v_sf");
    assert_int_equal(cs.rows[0].first_at, 1000);
    assert_int_equal(cs.rows[1].first_at, 3500);
    struct st_call ca = make_call(f, "CA_sfa", 1100, a.id);
    struct st_call cb = make_call(f, "CA_sfb", 2100, b.id);
    struct st_call cc = make_call(f, "CA_sfc", 3100, c.id);
    struct st_call cd = make_call(f, "CA_sfd", 3600, d.id);
    assert_int_equal(call_first_at(f, ca.ext_id), 1000);
    assert_int_equal(call_first_at(f, cb.ext_id), 1000);
    assert_int_equal(call_first_at(f, cc.ext_id), 1000);
    assert_int_equal(call_first_at(f, cd.ext_id), 3500);
    struct funnel_seen fs = {0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 10000, 60, collect_session, &fs),
                     ERR_OK);
    assert_int_equal(fs.n, 4);
    assert_true(fs.rows[0].shown && fs.rows[0].called); /* a */
    assert_true(fs.rows[1].shown);                      /* b */
    assert_false(fs.rows[2].shown);                     /* c */
    assert_false(fs.rows[3].shown);                     /* d */
    cs = (struct cohort_seen){0};
    assert_int_equal(store_report_cohort(f->s, f->a.id, 0, 10000, collect_cohort, &cs), ERR_OK);
    size_t firsts = 0;
    for (size_t i = 0; i < cs.n; i++) {
        firsts += cs.rows[i].first;
        if (!strcmp(cs.rows[i].visitor_id, "v_sf"))
            assert_int_equal(cs.rows[i].first_at, 1000);
        else
            assert_int_equal(cs.rows[i].first_at, 3500);
    }
    assert_int_equal(cs.n, 4); /* a row per call; a's and d's are their visitors' first */
    assert_int_equal(firsts, 2);
    /* a lease taken later for the session without one: shown */
    struct st_lease l = {.account_id = f->a.id,
                         .session_id = c.id,
                         .number_id = n1.id,
                         .pool_id = p.id,
                         .leased_at = 3200,
                         .last_active_at = 3200,
                         .expires_at = 63200};
    assert_int_equal(store_lease_add(f->s, &l), ERR_OK);
    /* an earlier visit of the visitor stored late, with its lease: the visitor's first */
    struct st_session e = visit_with_lease(f, "sf_e", "v_sf", 500, &n2);
    struct st_call ce = make_call(f, "CA_sfe", 600, e.id);
    assert_int_equal(call_first_at(f, ce.ext_id), 500);
    assert_int_equal(call_first_at(f, ca.ext_id), 500);
    assert_int_equal(call_first_at(f, cb.ext_id), 500);
    assert_int_equal(call_first_at(f, cc.ext_id), 500);
    assert_int_equal(call_first_at(f, cd.ext_id), 3500);
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 10000, 60, collect_session, &fs),
                     ERR_OK);
    assert_int_equal(fs.n, 5);
    for (size_t i = 0; i < 4; i++) /* e, a, b, c */
        assert_true(fs.rows[i].shown);
    assert_false(fs.rows[4].shown); /* d */
    /* the lease taken back: c is no longer shown, the others keep theirs */
    assert_int_equal(store_lease_delete(f->s, f->a.id, c.id, n1.id, 3200), ERR_OK);
    fs = (struct funnel_seen){0};
    assert_int_equal(store_report_sessions(f->s, f->a.id, 0, 10000, 60, collect_session, &fs),
                     ERR_OK);
    assert_true(fs.rows[0].shown && fs.rows[1].shown && fs.rows[2].shown);
    assert_false(fs.rows[3].shown || fs.rows[4].shown);
}

static int payout_facts(void *ctx, const struct st_report_call *c)
{
    struct st_report_call *out = ctx;
    for (int i = 0; i < 3; i++)
        if (!out[i].call_ext[0]) {
            out[i] = *c;
            break;
        }
    return 0;
}

/* What a publisher is owed is recorded once, when the call becomes billable, at its payout then. */
static void report_speed_call_payouts_recorded_once(void **state)
{
    struct fx *f = *state;
    struct st_publisher *p = make_publisher(f->a.id, "Numbers Co", 1500, "number", "+15555550101");
    assert_int_equal(put_publisher(f, p), ERR_OK);
    struct st_call c1 = make_call(f, "CA_po1", 7000, 0);
    make_call(f, "CA_po2", 7001, 0);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_call_payout_record(f->s, f->a.id, "twilio", "CA_po1", 7100), ERR_OK);
    /* another account's id records nothing */
    assert_int_equal(store_call_payout_record(f->s, f->b.id, "twilio", "CA_po2", 7100), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    /* the payout changes; c1 keeps its first record, c2 is recorded at the new payout */
    p->payout = 900;
    p->updated_at = 7200;
    assert_int_equal(put_publisher(f, p), ERR_OK);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_call_payout_record(f->s, f->a.id, "twilio", "CA_po1", 7300), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    struct st_report_call facts[3];
    memset(facts, 0, sizeof(facts));
    assert_int_equal(store_report_calls(f->s, f->a.id, 7000, 7002, payout_facts, facts), ERR_OK);
    assert_string_equal(facts[0].call_ext, c1.ext_id);
    assert_int_equal(facts[0].payout, 1500);
    assert_string_equal(facts[0].publisher, p->ext_id);
    assert_string_equal(facts[0].publisher_name, "Numbers Co");
    assert_int_equal(facts[1].payout, -1);
    assert_string_equal(facts[1].publisher, "");
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_call_payout_record(f->s, f->a.id, "twilio", "CA_po2", 7400), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    /* a deleted publisher's record stays with the call */
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_publisher_delete(f->s, f->a.id, p->ext_id), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    memset(facts, 0, sizeof(facts));
    assert_int_equal(store_report_calls(f->s, f->a.id, 7000, 7002, payout_facts, facts), ERR_OK);
    assert_int_equal(facts[0].payout, 1500);
    assert_int_equal(facts[1].payout, 900);
    assert_string_equal(facts[1].publisher_name, "Numbers Co");
    /* no publisher owns a call: recorded as owing no one */
    make_call(f, "CA_po3", 7002, 0);
    assert_int_equal(store_begin(f->s), ERR_OK);
    assert_int_equal(store_call_payout_record(f->s, f->a.id, "twilio", "CA_po3", 7500), ERR_OK);
    assert_int_equal(store_commit(f->s), ERR_OK);
    memset(facts, 0, sizeof(facts));
    assert_int_equal(store_report_calls(f->s, f->a.id, 7002, 7003, payout_facts, facts), ERR_OK);
    assert_int_equal(facts[0].payout, 0);
    assert_string_equal(facts[0].publisher, "");
    free(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        T(migrations_are_idempotent_and_refuse_newer_schemas),
        cmocka_unit_test(postgres_urls_are_refused_or_fail_clearly),
        T(verify_passes_and_backup_copies_a_store_that_serves),
        cmocka_unit_test(a_store_that_does_not_exist_is_reported_not_created),
        T(accounts_keys_and_origins),
        T(api_key_list_revoke_and_origin_edits),
        T(pools_crud_and_tenant_scoping),
        T(numbers_crud_and_tenant_scoping),
        T(rules_crud_in_order_and_tenant_scoping),
        T(sessions_and_lease_times_never_move_back),
        T(visits_add_stores_sessions_with_their_leases),
        T(history_window_order_max_and_events),
        T(account_ids_lists_every_account),
        T(rows_by_id_in_their_account),
        T(session_client_and_numbers_held),
        T(session_leases_latest_per_pool_in_pool_order),
        T(savepoint_rollback_keeps_the_rest),
        T(calls_conversions_reports_and_export),
        T(call_outcomes_default_replace_and_tenant_scoping),
        T(routing_docs_counters_and_call_routes),
        T(call_recording_put_is_idempotent_and_account_scoped),
        T(rules_and_calls_belong_to_a_location),
        T(publishers_claims_and_pnl_facts),
        T(report_speed_session_facts_follow_writes),
        T(report_speed_call_payouts_recorded_once),
        T(report_speed_cohort_follows_first_session),
        T(spend_replaces_days_one_currency_and_tenant_scoping),
        T(funnel_stages_and_cohorts_by_first_visit),
        T(session_facts_insert_first_at_and_funnel),
        T(report_session_calls_of_funnel_and_cohorts),
        T(report_first_time_stored_or_looked_up),
        T(claims_need_a_serving_store),
        T(claim_touch_times_and_deletes),
        T(release_takes_a_claim_back),
        T(lease_note_rests_tapped_numbers),
        T(cooldown_idle_longest_and_fallback_exhaustion),
        T(share_mode_exhaustion_shares_and_counts),
        T(renewals_reorder_the_picks),
        T(restart_rebuilds_claims_from_the_tables),
        T(a_second_server_is_refused_or_shares_the_claims),
        T(writable_reports_whether_a_commit_can_happen),
        T(notify_reaches_other_nodes_only_when_committed),
        T(claims_are_exclusive_under_concurrency),
        T(provider_secrets_sealed_and_rotated),
        T(destination_secrets_rotated),
        T(users_memberships_sessions_and_audit),
        T(destinations_crud_and_tenant_scoping),
        T(outbox_claims_lease_limit_and_finish),
        T(outbox_event_stored_once_and_goes_with_its_messages),
        T(outbox_publish_reaches_each_destination_once),
        T(outbox_claim_batch_fills_past_the_limit),
        T(outbox_claim_per_destination_order_and_limit),
        T(event_last_detail_newest_of_type),
        T(destinations_disable_after_failing_and_enable),
        T(destinations_ad_platforms),
        T(alert_observe_fires_once_per_cooldown),
        T(erase_scrubs_caller_and_visitor_and_logs_what_left),
        T(purge_deletes_old_rows_in_batches_and_keeps_called_sessions),
        T(purge_runs_on_one_node_at_a_time),
        T(routes_follow_retention_and_erasure),
        T(page_views_append_bounded_and_follow_privacy),
        T(export_trace_of_one_pool),
        T(traffic_counts_add_up_per_account_and_purge),
        T(feeds_one_per_account_replaced_and_deleted),
        T(number_management_claims_and_scoping),
        T(call_facts_follow_the_call_and_its_session),
    };
    if (secrets_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key1,
                          NULL) ||
        secrets_key_parse("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key2,
                          NULL))
        return 1;
    const char *want = argc > 1 ? argv[1] : "sqlite";
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        if (strcmp(backends[i].name, want) != 0)
            continue;
        be = &backends[i];
        return cmocka_run_group_tests_name(be->name, tests, NULL, NULL);
    }
    fprintf(stderr, "conformance: no backend '%s'\n", want);
    return 2;
}
