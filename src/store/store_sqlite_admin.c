/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, part 2: accounts, API keys, pools, numbers and rules (the admin side). */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include "base/log.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

/* Steps a single-row query: ERR_OK with a row, ERR_NOTFOUND without, ERR_BACKEND on error. */
static int step_row(struct sconn *c, sqlite3_stmt *st, const char *what)
{
    if (!st)
        return ERR_BACKEND;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, what);
}

/* ---- accounts ---- */

#define ACCOUNT_COLS "id, ext_id, name, settings"

static void read_account(sqlite3_stmt *st, struct st_account *a)
{
    a->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, a->ext_id, sizeof(a->ext_id));
    store__col_text(st, 2, a->name, sizeof(a->name));
    store__col_text(st, 3, a->settings, sizeof(a->settings));
}

static int account_query(struct sconn *c, sqlite3_stmt *st, struct st_account *a)
{
    int rc = step_row(c, st, "read account");
    if (rc == ERR_OK) {
        read_account(st, a);
        sqlite3_reset(st);
    }
    return rc;
}

static int account_insert(struct sconn *c, const char *ext_id, const char *name,
                          const char *const *origins, size_t n_origins, const char *key_hash,
                          int64_t now)
{
    sqlite3_stmt *st =
        store__prep(c, "INSERT INTO accounts(ext_id, name, created_at) VALUES (?1, ?2, ?3)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    store__bind_text(st, 2, name);
    sqlite3_bind_int64(st, 3, now);
    int rc = store__exec(c, st, "insert account");
    if (rc)
        return rc;
    int64_t id = sqlite3_last_insert_rowid(c->db);
    for (size_t i = 0; i < n_origins && !rc; i++) {
        st = store__prep(c, "INSERT OR IGNORE INTO account_origins(account_id, origin) "
                            "VALUES (?1, ?2)");
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, id);
        store__bind_text(st, 2, origins[i]);
        rc = store__exec(c, st, "insert origin");
    }
    if (rc)
        return rc;
    st = store__prep(c, "INSERT INTO api_keys(account_id, key_hash, created_at) VALUES (?1,?2,?3)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    store__bind_text(st, 2, key_hash);
    sqlite3_bind_int64(st, 3, now);
    return store__exec(c, st, "insert api key");
}

int store_sqlite__account_create(struct store *s, const char *ext_id, const char *name,
                                 const char *const *origins, size_t n_origins, const char *key_hash,
                                 int64_t now, struct st_account *a, struct errbuf *eb)
{
    char id[STORE_ID_MAX];
    if (ext_id && *ext_id)
        str_copy(id, sizeof(id), ext_id);
    else
        store__new_ext_id("acc_", id);
    int rc = store_sqlite__begin(s);
    if (rc)
        return errf(eb, rc, NULL, "cannot start a transaction");
    struct sconn *c = store__conn(s);
    rc = account_insert(c, id, name, origins, n_origins, key_hash, now);
    if (rc == ERR_OK)
        rc = store_sqlite__commit(s);
    if (rc) {
        store_sqlite__rollback(s);
        return errf(eb, rc, "id",
                    rc == ERR_CONFLICT ? "account '%s' exists"
                                       : "cannot create "
                                         "account '%s'",
                    id);
    }
    return store_sqlite__account_get(s, id, a);
}

int store_sqlite__account_get(struct store *s, const char *ext_id, struct st_account *a)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ACCOUNT_COLS " FROM accounts WHERE ext_id = ?1");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    return account_query(c, st, a);
}

int store_sqlite__account_by_id(struct store *s, int64_t id, struct st_account *a)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    return account_query(c, st, a);
}

int store_sqlite__api_key_add(struct store *s, int64_t account_id, const char *key_hash,
                              int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "INSERT INTO api_keys(account_id, key_hash, created_at) VALUES (?1,?2,?3)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, key_hash);
    sqlite3_bind_int64(st, 3, now);
    return store__exec(c, st, "insert api key");
}

int store_sqlite__api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                        int64_t now, int64_t *n_revoked)
{
    struct st_account a;
    int rc = store_sqlite__account_by_key(s, keep_hash, &a);
    if (rc == ERR_OK && a.id != account_id)
        rc = ERR_NOTFOUND;
    if (rc)
        return rc;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE api_keys SET revoked_at = ?3 WHERE account_id = ?1"
                                      " AND key_hash <> ?2 AND revoked_at IS NULL");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, keep_hash);
    sqlite3_bind_int64(st, 3, now);
    rc = store__exec(c, st, "revoke api keys");
    *n_revoked = rc ? 0 : sqlite3_changes(c->db);
    return rc;
}

int store_sqlite__account_by_key(struct store *s, const char *key_hash, struct st_account *a)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT a.id, a.ext_id, a.name, a.settings"
                                      " FROM api_keys k JOIN accounts a ON a.id = k.account_id"
                                      " WHERE k.key_hash = ?1 AND k.revoked_at IS NULL");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, key_hash);
    return account_query(c, st, a);
}

int store_sqlite__account_set_settings(struct store *s, int64_t id, const char *settings_json)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE accounts SET settings = ?2 WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    store__bind_text(st, 2, settings_json);
    int rc = store__exec(c, st, "update settings");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__account_list(struct store *s, store_account_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_account a;
        read_account(st, &a);
        if (fn(ctx, &a))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list accounts");
}

int store_sqlite__account_origins(struct store *s, int64_t account_id, store_origin_fn fn,
                                  void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT origin FROM account_origins WHERE account_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, (const char *)sqlite3_column_text(st, 0)))
            break;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list origins");
}

int store_sqlite__origin_exists(struct store *s, const char *origin, bool *exists)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT 1 FROM account_origins WHERE origin = ?1 LIMIT 1");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, origin);
    int rc = sqlite3_step(st);
    *exists = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "check origin");
}

int store_sqlite__api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT id, key_hash, created_at, COALESCE(revoked_at, 0)"
                                      " FROM api_keys WHERE account_id = ?1 ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_api_key k;
        k.id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, k.key_hash, sizeof(k.key_hash));
        k.created_at = sqlite3_column_int64(st, 2);
        k.revoked_at = sqlite3_column_int64(st, 3);
        if (fn(ctx, &k))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list api keys");
}

int store_sqlite__api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE api_keys SET revoked_at = ?3 WHERE account_id = ?1"
                                      " AND id = ?2 AND revoked_at IS NULL");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, key_id);
    sqlite3_bind_int64(st, 3, now);
    int rc = store__exec(c, st, "revoke api key");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__origin_add(struct store *s, int64_t account_id, const char *origin)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "INSERT OR IGNORE INTO account_origins(account_id, origin)"
                                      " VALUES (?1, ?2)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, origin);
    return store__exec(c, st, "add origin");
}

int store_sqlite__origin_delete(struct store *s, int64_t account_id, const char *origin)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "DELETE FROM account_origins WHERE account_id = ?1 AND origin = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, origin);
    int rc = store__exec(c, st, "delete origin");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

/* ---- pools ---- */

/* The lease engines while serving (NULL otherwise): the pool and number writes below keep them
 * in step with the tables, after the table write succeeded. */
static struct store_leases *engines(struct store *s)
{
    return store__sqlite(s)->leases;
}

#define POOL_COLS                                                                                  \
    "id, ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust,"           \
    " fallback_number, channel_mask, exhaustion_events, peak_concurrent, created_at"

static void read_pool(sqlite3_stmt *st, struct st_pool *p)
{
    char mode[16];
    p->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, p->ext_id, sizeof(p->ext_id));
    p->account_id = sqlite3_column_int64(st, 2);
    store__col_text(st, 3, p->name, sizeof(p->name));
    store__col_text(st, 4, p->target, sizeof(p->target));
    store__col_text(st, 5, p->forward_to, sizeof(p->forward_to));
    p->lease_ttl_s = sqlite3_column_int64(st, 6);
    p->cooldown_s = sqlite3_column_int64(st, 7);
    store__col_text(st, 8, mode, sizeof(mode));
    p->fallback_mode = strcmp(mode, "fallback") == 0;
    store__col_text(st, 9, p->fallback_number, sizeof(p->fallback_number));
    p->has_channels = sqlite3_column_type(st, 10) != SQLITE_NULL;
    p->channels = p->has_channels ? (uint32_t)sqlite3_column_int64(st, 10) : 0;
    p->exhaustion_events = sqlite3_column_int64(st, 11);
    p->peak_concurrent = sqlite3_column_int64(st, 12);
    p->created_at = sqlite3_column_int64(st, 13);
}

static int pool_query(struct sconn *c, sqlite3_stmt *st, struct st_pool *p)
{
    int rc = step_row(c, st, "read pool");
    if (rc == ERR_OK) {
        read_pool(st, p);
        sqlite3_reset(st);
    }
    return rc;
}

static void bind_pool(sqlite3_stmt *st, const struct st_pool *p)
{
    store__bind_text(st, 1, p->name);
    store__bind_text(st, 2, p->target);
    store__bind_text(st, 3, p->forward_to);
    sqlite3_bind_int64(st, 4, p->lease_ttl_s);
    sqlite3_bind_int64(st, 5, p->cooldown_s);
    store__bind_text(st, 6, p->fallback_mode ? "fallback" : "share");
    store__bind_opt(st, 7, p->fallback_number);
    if (p->has_channels)
        sqlite3_bind_int64(st, 8, p->channels);
    else
        sqlite3_bind_null(st, 8);
}

int store_sqlite__pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO pools(name, target, forward_to, lease_ttl, cooldown, on_exhaust,"
           " fallback_number, channel_mask, ext_id, account_id, created_at)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!st)
        return ERR_BACKEND;
    store__new_ext_id("pool_", p->ext_id);
    p->created_at = now;
    bind_pool(st, p);
    store__bind_text(st, 9, p->ext_id);
    sqlite3_bind_int64(st, 10, p->account_id);
    sqlite3_bind_int64(st, 11, p->created_at);
    int rc = store__exec(c, st, "insert pool");
    if (rc)
        return errf(eb, rc, NULL, "cannot create pool");
    p->id = sqlite3_last_insert_rowid(c->db);
    if (engines(s))
        store__leases_pool_put(engines(s), p);
    return ERR_OK;
}

int store_sqlite__pool_get(struct store *s, int64_t account_id, const char *ext_id,
                           struct st_pool *p)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " POOL_COLS " FROM pools WHERE ext_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    sqlite3_bind_int64(st, 2, account_id);
    return pool_query(c, st, p);
}

int store_sqlite__pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " POOL_COLS " FROM pools WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return pool_query(c, st, p);
}

int store_sqlite__pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c,
        "UPDATE pools SET name = ?1, target = ?2, forward_to = ?3, lease_ttl = ?4,"
        " cooldown = ?5, on_exhaust = ?6, fallback_number = ?7, channel_mask = ?8 WHERE id = ?9");
    if (!st)
        return ERR_BACKEND;
    bind_pool(st, p);
    sqlite3_bind_int64(st, 9, p->id);
    int rc = store__exec(c, st, "update pool");
    if (rc)
        return errf(eb, rc, NULL, "cannot update pool");
    if (engines(s))
        store__leases_pool_put(engines(s), p);
    return ERR_OK;
}

static int live_leases(struct sconn *c, const char *sql, int64_t id, int64_t now, bool *live)
{
    sqlite3_stmt *st = store__prep(c, sql);
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    *live = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "check leases");
}

/* Runs the delete statements of an object inside one transaction, unless a lease is live. */
static int delete_unless_leased(struct store *s, const char *live_sql, const char *const *del_sqls,
                                size_t n, int64_t id, int64_t now)
{
    int rc = store_sqlite__begin(s);
    if (rc)
        return rc;
    struct sconn *c = store__conn(s);
    bool live = false;
    rc = live_leases(c, live_sql, id, now, &live);
    if (rc == ERR_OK && live)
        rc = ERR_CONFLICT;
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        sqlite3_stmt *st = store__prep(c, del_sqls[i]);
        if (!st) {
            rc = ERR_BACKEND;
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        rc = store__exec(c, st, "delete");
    }
    if (rc == ERR_OK)
        rc = store_sqlite__commit(s);
    if (rc)
        store_sqlite__rollback(s);
    return rc;
}

int store_sqlite__pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    struct st_pool p;
    int rc = store_sqlite__pool_get(s, account_id, ext_id, &p);
    if (rc)
        return rc;
    static const char *const dels[] = {
        "DELETE FROM leases WHERE pool_id = ?1",
        "DELETE FROM rules WHERE pool_id = ?1",
        "DELETE FROM numbers WHERE pool_id = ?1",
        "DELETE FROM pools WHERE id = ?1",
    };
    rc = delete_unless_leased(s,
                              "SELECT 1 FROM leases WHERE pool_id = ?1 AND expires_at > ?2 LIMIT 1",
                              dels, ARRAY_SIZE(dels), p.id, now);
    if (rc == ERR_OK && engines(s))
        store__leases_pool_remove(engines(s), p.id);
    return rc;
}

int store_sqlite__pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " POOL_COLS
                                      " FROM pools WHERE ?1 = 0 OR account_id = ?1 ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_pool p;
        read_pool(st, &p);
        if (fn(ctx, &p))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list pools");
}

int store_sqlite__pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                                    int64_t exhaustion_events, int64_t peak_concurrent)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "UPDATE pools SET exhaustion_events = ?2, peak_concurrent = ?3 WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, pool_id);
    sqlite3_bind_int64(st, 2, exhaustion_events);
    sqlite3_bind_int64(st, 3, peak_concurrent);
    return store__exec(c, st, "update pool counters");
}

/* ---- numbers ---- */

#define NUMBER_COLS                                                                                \
    "id, ext_id, account_id, number, pool_id, source, medium, campaign, target, forward_to,"       \
    " idle_since, created_at"

static void read_number(sqlite3_stmt *st, struct st_number *n)
{
    n->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, n->ext_id, sizeof(n->ext_id));
    n->account_id = sqlite3_column_int64(st, 2);
    store__col_text(st, 3, n->number, sizeof(n->number));
    n->pool_id = sqlite3_column_int64(st, 4);
    store__col_text(st, 5, n->source, sizeof(n->source));
    store__col_text(st, 6, n->medium, sizeof(n->medium));
    store__col_text(st, 7, n->campaign, sizeof(n->campaign));
    store__col_text(st, 8, n->target, sizeof(n->target));
    store__col_text(st, 9, n->forward_to, sizeof(n->forward_to));
    n->idle_since = sqlite3_column_int64(st, 10);
    n->created_at = sqlite3_column_int64(st, 11);
}

static int number_query(struct sconn *c, sqlite3_stmt *st, struct st_number *n)
{
    int rc = step_row(c, st, "read number");
    if (rc == ERR_OK) {
        read_number(st, n);
        sqlite3_reset(st);
    }
    return rc;
}

static void bind_number(sqlite3_stmt *st, const struct st_number *n)
{
    store__bind_id(st, 1, n->pool_id);
    store__bind_opt(st, 2, n->pool_id ? NULL : n->source);
    store__bind_opt(st, 3, n->medium);
    store__bind_opt(st, 4, n->campaign);
    store__bind_opt(st, 5, n->target);
    store__bind_opt(st, 6, n->forward_to);
}

/* Adds a pool number to its engine; the table row exists, so a failure is only logged. */
static void engine_add(struct store *s, const struct st_number *n)
{
    int rc = store__leases_number_add(engines(s), n);
    if (rc)
        log_warn("store",
                 "number %" PRId64 " not added to the lease engine of pool %" PRId64 ": %s", n->id,
                 n->pool_id, err_str(rc));
}

/* Takes a deleted or moved number out of its old pool's engine. */
static void engine_remove(struct store *s, int64_t pool_id, int64_t number_id, int64_t now)
{
    int rc = store__leases_number_remove(engines(s), pool_id, number_id, now);
    if (rc && rc != ERR_NOTFOUND)
        log_warn("store",
                 "number %" PRId64 " not removed from the lease engine of pool %" PRId64 ": %s",
                 number_id, pool_id, err_str(rc));
}

int store_sqlite__number_create(struct store *s, struct st_number *n, int64_t now,
                                struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c,
        "INSERT INTO numbers(pool_id, source, medium, campaign, target, forward_to, ext_id,"
        " account_id, number, idle_since, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,0,?10)");
    if (!st)
        return ERR_BACKEND;
    store__new_ext_id("num_", n->ext_id);
    n->created_at = now;
    bind_number(st, n);
    store__bind_text(st, 7, n->ext_id);
    sqlite3_bind_int64(st, 8, n->account_id);
    store__bind_text(st, 9, n->number);
    sqlite3_bind_int64(st, 10, n->created_at);
    int rc = store__exec(c, st, "insert number");
    if (rc == ERR_CONFLICT)
        return errf(eb, rc, "number", "number %s already exists", n->number);
    if (rc)
        return errf(eb, rc, NULL, "cannot create number");
    n->id = sqlite3_last_insert_rowid(c->db);
    if (n->pool_id && engines(s))
        engine_add(s, n);
    return ERR_OK;
}

int store_sqlite__number_get(struct store *s, int64_t account_id, const char *ext_id,
                             struct st_number *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " NUMBER_COLS " FROM numbers WHERE ext_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    sqlite3_bind_int64(st, 2, account_id);
    return number_query(c, st, n);
}

int store_sqlite__number_by_id(struct store *s, int64_t account_id, int64_t id, struct st_number *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " NUMBER_COLS " FROM numbers WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return number_query(c, st, n);
}

int store_sqlite__number_by_e164(struct store *s, const char *e164, struct st_number *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " NUMBER_COLS " FROM numbers WHERE number = ?1");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, e164);
    return number_query(c, st, n);
}

static int number_write(struct store *s, const struct st_number *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "UPDATE numbers SET pool_id = ?1, source = ?2, medium = ?3, campaign = ?4,"
                       " target = ?5, forward_to = ?6 WHERE id = ?7");
    if (!st)
        return ERR_BACKEND;
    bind_number(st, n);
    sqlite3_bind_int64(st, 7, n->id);
    return store__exec(c, st, "update number");
}

int store_sqlite__number_update(struct store *s, const struct st_number *n, int64_t now,
                                struct errbuf *eb)
{
    struct st_number old;
    int rc = ERR_OK;
    bool moved = false;
    if (engines(s)) {
        rc = store_sqlite__number_by_id(s, n->account_id, n->id, &old);
        moved = rc == ERR_OK && old.pool_id != n->pool_id;
        if (moved && old.pool_id && store__leases_number_live(engines(s), old.pool_id, n->id, now))
            return errf(eb, ERR_CONFLICT, NULL, "number %s has a live lease", old.number);
    }
    if (rc == ERR_OK)
        rc = number_write(s, n);
    if (rc)
        return errf(eb, rc, NULL, "cannot update number");
    if (moved && old.pool_id)
        engine_remove(s, old.pool_id, n->id, now);
    if (moved && n->pool_id)
        engine_add(s, n);
    return ERR_OK;
}

int store_sqlite__number_delete(struct store *s, int64_t account_id, const char *ext_id,
                                int64_t now)
{
    struct st_number n;
    int rc = store_sqlite__number_get(s, account_id, ext_id, &n);
    if (rc)
        return rc;
    static const char *const dels[] = {
        "DELETE FROM leases WHERE number_id = ?1",
        "DELETE FROM rules WHERE number_id = ?1",
        "DELETE FROM numbers WHERE id = ?1",
    };
    /* The engine knows leases not yet written (the group-commit writer runs behind). */
    if (n.pool_id && engines(s) && store__leases_number_live(engines(s), n.pool_id, n.id, now))
        return ERR_CONFLICT;
    rc = delete_unless_leased(
        s, "SELECT 1 FROM leases WHERE number_id = ?1 AND expires_at > ?2 LIMIT 1", dels,
        ARRAY_SIZE(dels), n.id, now);
    if (rc == ERR_OK && n.pool_id && engines(s))
        engine_remove(s, n.pool_id, n.id, now);
    return rc;
}

int store_sqlite__number_list(struct store *s, int64_t account_id, int64_t pool_id,
                              store_number_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " NUMBER_COLS " FROM numbers WHERE (?1 = 0 OR account_id = ?1)"
                       " AND (?2 = 0 OR pool_id = ?2) ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_number n;
        read_number(st, &n);
        if (fn(ctx, &n))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list numbers");
}

/* ---- rules ---- */

int store_sqlite__rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO rules(ext_id, account_id, position, field, op, value, set_channel,"
           " set_source, set_medium, set_campaign, pool_id, number_id, created_at, location)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
    if (!st)
        return ERR_BACKEND;
    store__new_ext_id("rule_", r->ext_id);
    store__bind_text(st, 1, r->ext_id);
    sqlite3_bind_int64(st, 2, r->account_id);
    sqlite3_bind_int64(st, 3, r->position);
    store__bind_text(st, 4, r->field);
    store__bind_text(st, 5, r->op);
    store__bind_text(st, 6, r->value);
    store__bind_opt(st, 7, r->set_channel);
    store__bind_opt(st, 8, r->set_source);
    store__bind_opt(st, 9, r->set_medium);
    store__bind_opt(st, 10, r->set_campaign);
    store__bind_id(st, 11, r->pool_id);
    store__bind_id(st, 12, r->number_id);
    sqlite3_bind_int64(st, 13, now);
    store__bind_opt(st, 14, r->location);
    int rc = store__exec(c, st, "insert rule");
    if (rc)
        return errf(eb, rc, NULL, "cannot create rule");
    r->id = sqlite3_last_insert_rowid(c->db);
    return ERR_OK;
}

int store_sqlite__rule_update(struct store *s, struct st_rule *r, struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "UPDATE rules SET position = ?3, field = ?4, op = ?5, value = ?6, set_channel = ?7,"
           " set_source = ?8, set_medium = ?9, set_campaign = ?10, pool_id = ?11,"
           " number_id = ?12, location = ?13 WHERE ext_id = ?1 AND account_id = ?2 RETURNING id");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, r->ext_id);
    sqlite3_bind_int64(st, 2, r->account_id);
    sqlite3_bind_int64(st, 3, r->position);
    store__bind_text(st, 4, r->field);
    store__bind_text(st, 5, r->op);
    store__bind_text(st, 6, r->value);
    store__bind_opt(st, 7, r->set_channel);
    store__bind_opt(st, 8, r->set_source);
    store__bind_opt(st, 9, r->set_medium);
    store__bind_opt(st, 10, r->set_campaign);
    store__bind_id(st, 11, r->pool_id);
    store__bind_id(st, 12, r->number_id);
    store__bind_opt(st, 13, r->location);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r->id = sqlite3_column_int64(st, 0);
    int done = rc == SQLITE_ROW ? sqlite3_step(st) : rc;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return ERR_NOTFOUND;
    if (rc != SQLITE_ROW || done != SQLITE_DONE)
        return errf(eb, store__err(c, rc != SQLITE_ROW ? rc : done, "update rule"), NULL,
                    "cannot update rule");
    return ERR_OK;
}

int store_sqlite__rule_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "DELETE FROM rules WHERE ext_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = store__exec(c, st, "delete rule");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c,
        "SELECT id, ext_id, account_id, position, field, op, value, set_channel, set_source,"
        " set_medium, set_campaign, pool_id, number_id, location FROM rules WHERE account_id = ?1"
        " ORDER BY position, id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_rule r;
        r.id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, r.ext_id, sizeof(r.ext_id));
        r.account_id = sqlite3_column_int64(st, 2);
        r.position = sqlite3_column_int64(st, 3);
        store__col_text(st, 4, r.field, sizeof(r.field));
        store__col_text(st, 5, r.op, sizeof(r.op));
        store__col_text(st, 6, r.value, sizeof(r.value));
        store__col_text(st, 7, r.set_channel, sizeof(r.set_channel));
        store__col_text(st, 8, r.set_source, sizeof(r.set_source));
        store__col_text(st, 9, r.set_medium, sizeof(r.set_medium));
        store__col_text(st, 10, r.set_campaign, sizeof(r.set_campaign));
        r.pool_id = sqlite3_column_int64(st, 11);
        r.number_id = sqlite3_column_int64(st, 12);
        store__col_text(st, 13, r.location, sizeof(r.location));
        if (fn(ctx, &r))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list rules");
}
