/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend, part 2: accounts, API keys, pools, numbers and rules (the admin side).
 * Deletes and pool moves respect the claims of every serving node: a number whose lease state
 * (lease_numbers, sql_pg/0001) is live cannot be deleted or moved, whether or not the lease
 * was stored yet. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

/* Runs a single-row query and reads it with read(r, out). */
#define READ_ROW(s, sql, a, read, out, what)                                                       \
    do {                                                                                           \
        PGresult *r_ = NULL;                                                                       \
        int rc_ = store__pg_row((s), (sql), (a), &r_, (what));                                     \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        read(r_, 0, (out));                                                                        \
        PQclear(r_);                                                                               \
        return ERR_OK;                                                                             \
    } while (0)

/* ---- accounts ---- */

#define ACCOUNT_COLS "id, ext_id, name, settings"

static void read_account(const PGresult *r, int i, struct st_account *a)
{
    a->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, a->ext_id, sizeof(a->ext_id));
    store__pg_col_text(r, i, 2, a->name, sizeof(a->name));
    store__pg_col_text(r, i, 3, a->settings, sizeof(a->settings));
}

static int key_insert(struct store *s, int64_t account_id, const char *key_hash, int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, key_hash);
    store__pg_i64(&a, now);
    return store__pg_exec(s,
                          "INSERT INTO api_keys(account_id, key_hash, created_at)"
                          " VALUES ($1, $2, $3)",
                          &a, NULL, "insert api key");
}

static int account_insert(struct store *s, const char *ext_id, const char *name,
                          const char *const *origins, size_t n_origins, const char *key_hash,
                          int64_t now)
{
    struct pgargs a = {0};
    store__pg_text(&a, ext_id);
    store__pg_text(&a, name);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO accounts(ext_id, name, created_at) VALUES ($1, $2, $3)"
                           " RETURNING id",
                           &a, &r, "insert account");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    int64_t id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    for (size_t i = 0; i < n_origins && !rc; i++) {
        struct pgargs o = {0};
        store__pg_i64(&o, id);
        store__pg_text(&o, origins[i]);
        rc = store__pg_exec(s,
                            "INSERT INTO account_origins(account_id, origin) VALUES ($1, $2)"
                            " ON CONFLICT DO NOTHING",
                            &o, NULL, "insert origin");
    }
    return rc ? rc : key_insert(s, id, key_hash, now);
}

int store_pg__account_create(struct store *s, const char *ext_id, const char *name,
                             const char *const *origins, size_t n_origins, const char *key_hash,
                             int64_t now, struct st_account *a, struct errbuf *eb)
{
    char id[STORE_ID_MAX];
    if (ext_id && *ext_id)
        snprintf(id, sizeof(id), "%s", ext_id);
    else
        store__pg_new_ext_id("acc_", id);
    int rc = store_pg__begin(s);
    if (rc)
        return errf(eb, rc, NULL, "cannot start a transaction");
    rc = account_insert(s, id, name, origins, n_origins, key_hash, now);
    if (rc == ERR_OK)
        rc = store_pg__commit(s);
    if (rc) {
        store_pg__rollback(s);
        return errf(eb, rc, "id",
                    rc == ERR_CONFLICT ? "account '%s' exists" : "cannot create account '%s'", id);
    }
    return store_pg__account_get(s, id, a);
}

int store_pg__account_get(struct store *s, const char *ext_id, struct st_account *a)
{
    struct pgargs g = {0};
    store__pg_text(&g, ext_id);
    READ_ROW(s, "SELECT " ACCOUNT_COLS " FROM accounts WHERE ext_id = $1", &g, read_account, a,
             "read account");
}

int store_pg__account_by_id(struct store *s, int64_t id, struct st_account *a)
{
    struct pgargs g = {0};
    store__pg_i64(&g, id);
    READ_ROW(s, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1", &g, read_account, a,
             "read account");
}

int store_pg__api_key_add(struct store *s, int64_t account_id, const char *key_hash, int64_t now)
{
    return key_insert(s, account_id, key_hash, now);
}

int store_pg__api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                    int64_t now, int64_t *n_revoked)
{
    struct st_account acc;
    *n_revoked = 0;
    int rc = store_pg__account_by_key(s, keep_hash, &acc);
    if (rc == ERR_OK && acc.id != account_id)
        rc = ERR_NOTFOUND;
    if (rc)
        return rc;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, keep_hash);
    store__pg_i64(&a, now);
    return store__pg_changes(s,
                             "UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1"
                             " AND key_hash <> $2 AND revoked_at IS NULL",
                             &a, n_revoked, "revoke api keys");
}

int store_pg__account_by_key(struct store *s, const char *key_hash, struct st_account *a)
{
    struct pgargs g = {0};
    store__pg_text(&g, key_hash);
    READ_ROW(s,
             "SELECT a.id, a.ext_id, a.name, a.settings"
             " FROM api_keys k JOIN accounts a ON a.id = k.account_id"
             " WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
             &g, read_account, a, "read account by key");
}

int store_pg__account_set_settings(struct store *s, int64_t id, const char *settings_json)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_text(&a, settings_json);
    int64_t n = 0;
    int rc = store__pg_changes(s, "UPDATE accounts SET settings = $2 WHERE id = $1", &a, &n,
                               "update settings");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__account_list(struct store *s, store_account_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY id", NULL, &r,
                            "list accounts");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_account a;
        read_account(r, i, &a);
        if (fn(ctx, &a))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__account_origins(struct store *s, int64_t account_id, store_origin_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s, "SELECT origin FROM account_origins WHERE account_id = $1", &a, &r,
                            "list origins");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        if (fn(ctx, PQgetvalue(r, i, 0)))
            break;
    PQclear(r);
    return ERR_OK;
}

int store_pg__origin_exists(struct store *s, const char *origin, bool *exists)
{
    struct pgargs a = {0};
    store__pg_text(&a, origin);
    PGresult *r = NULL;
    *exists = false;
    int rc = store__pg_row(s, "SELECT 1 FROM account_origins WHERE origin = $1 LIMIT 1", &a, &r,
                           "check origin");
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc)
        return rc;
    *exists = true;
    PQclear(r);
    return ERR_OK;
}

int store_pg__api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT id, key_hash, created_at, COALESCE(revoked_at, 0)"
                            " FROM api_keys WHERE account_id = $1 ORDER BY id",
                            &a, &r, "list api keys");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_api_key k;
        k.id = store__pg_col_i64(r, i, 0);
        snprintf(k.key_hash, sizeof(k.key_hash), "%s", PQgetvalue(r, i, 1));
        k.created_at = store__pg_col_i64(r, i, 2);
        k.revoked_at = store__pg_col_i64(r, i, 3);
        if (fn(ctx, &k))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, key_id);
    store__pg_i64(&a, now);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1"
                               " AND id = $2 AND revoked_at IS NULL",
                               &a, &n, "revoke api key");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__origin_add(struct store *s, int64_t account_id, const char *origin)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, origin);
    int64_t n = 0;
    return store__pg_changes(s,
                             "INSERT INTO account_origins(account_id, origin) VALUES ($1, $2)"
                             " ON CONFLICT DO NOTHING",
                             &a, &n, "add origin");
}

int store_pg__origin_delete(struct store *s, int64_t account_id, const char *origin)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, origin);
    int64_t n = 0;
    int rc =
        store__pg_changes(s, "DELETE FROM account_origins WHERE account_id = $1 AND origin = $2",
                          &a, &n, "delete origin");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

/* ---- pools ---- */

/* The counters are the shared ones that claims advance (lease_pools; store_pool_set_counters). */
#define POOL_COLS                                                                                  \
    "id, ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust,"           \
    " fallback_number, channel_mask,"                                                              \
    " GREATEST(exhaustion_events, COALESCE((SELECT l.exhaustion_events FROM lease_pools l"         \
    "  WHERE l.account_id = pools.account_id AND l.pool_id = pools.id), 0)),"                      \
    " GREATEST(peak_concurrent, COALESCE((SELECT l.peak_concurrent FROM lease_pools l"             \
    "  WHERE l.account_id = pools.account_id AND l.pool_id = pools.id), 0)), created_at"

static void read_pool(const PGresult *r, int i, struct st_pool *p)
{
    char mode[16];
    p->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, p->ext_id, sizeof(p->ext_id));
    p->account_id = store__pg_col_i64(r, i, 2);
    store__pg_col_text(r, i, 3, p->name, sizeof(p->name));
    store__pg_col_text(r, i, 4, p->target, sizeof(p->target));
    store__pg_col_text(r, i, 5, p->forward_to, sizeof(p->forward_to));
    p->lease_ttl_s = store__pg_col_i64(r, i, 6);
    p->cooldown_s = store__pg_col_i64(r, i, 7);
    store__pg_col_text(r, i, 8, mode, sizeof(mode));
    p->fallback_mode = strcmp(mode, "fallback") == 0;
    store__pg_col_text(r, i, 9, p->fallback_number, sizeof(p->fallback_number));
    p->has_channels = !PQgetisnull(r, i, 10);
    p->channels = (uint32_t)store__pg_col_i64(r, i, 10);
    p->exhaustion_events = store__pg_col_i64(r, i, 11);
    p->peak_concurrent = store__pg_col_i64(r, i, 12);
    p->created_at = store__pg_col_i64(r, i, 13);
}

/* $1..$8: the pool's settable fields. */
static void bind_pool(struct pgargs *a, const struct st_pool *p)
{
    store__pg_text(a, p->name);
    store__pg_text(a, p->target);
    store__pg_text(a, p->forward_to);
    store__pg_i64(a, p->lease_ttl_s);
    store__pg_i64(a, p->cooldown_s);
    store__pg_text(a, p->fallback_mode ? "fallback" : "share");
    store__pg_opt(a, p->fallback_number);
    if (p->has_channels)
        store__pg_i64(a, p->channels);
    else
        store__pg_null(a);
}

int store_pg__pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb)
{
    store__pg_new_ext_id("pool_", p->ext_id);
    p->created_at = now;
    struct pgargs a = {0};
    bind_pool(&a, p);
    store__pg_text(&a, p->ext_id);
    store__pg_i64(&a, p->account_id);
    store__pg_i64(&a, p->created_at);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO pools(name, target, forward_to, lease_ttl, cooldown, on_exhaust,"
        " fallback_number, channel_mask, ext_id, account_id, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::integer, $9, $10, $11) RETURNING id",
        &a, &r, "insert pool");
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_BACKEND : rc, NULL, "cannot create pool");
    p->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__pool_get(struct store *s, int64_t account_id, const char *ext_id, struct st_pool *p)
{
    struct pgargs g = {0};
    store__pg_text(&g, ext_id);
    store__pg_i64(&g, account_id);
    READ_ROW(s, "SELECT " POOL_COLS " FROM pools WHERE ext_id = $1 AND account_id = $2", &g,
             read_pool, p, "read pool");
}

int store_pg__pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p)
{
    struct pgargs g = {0};
    store__pg_i64(&g, id);
    store__pg_i64(&g, account_id);
    READ_ROW(s, "SELECT " POOL_COLS " FROM pools WHERE account_id = $2 AND id = $1", &g, read_pool,
             p, "read pool");
}

int store_pg__pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb)
{
    struct pgargs a = {0};
    bind_pool(&a, p);
    store__pg_i64(&a, p->id);
    store__pg_i64(&a, p->account_id);
    int rc = store__pg_exec(s,
                            "UPDATE pools SET name = $1, target = $2, forward_to = $3,"
                            " lease_ttl = $4, cooldown = $5, on_exhaust = $6,"
                            " fallback_number = $7, channel_mask = $8::integer"
                            " WHERE account_id = $10 AND id = $9",
                            &a, NULL, "update pool");
    return rc ? errf(eb, rc, NULL, "cannot update pool") : ERR_OK;
}

/* A lease of the pool or number (id $1, of account $3) live at $2: stored, or claimed by any
 * serving node. */
#define POOL_LIVE_SQL                                                                              \
    "SELECT 1 FROM leases WHERE account_id = $3 AND pool_id = $1 AND expires_at > $2"              \
    " UNION ALL SELECT 1 FROM numbers n JOIN lease_numbers ln ON ln.account_id = n.account_id"     \
    " AND ln.number_id = n.id JOIN pools p ON p.account_id = n.account_id AND p.id = n.pool_id"    \
    " WHERE n.account_id = $3 AND n.pool_id = $1"                                                  \
    " AND ln.last_active + GREATEST(p.lease_ttl * 1000, 1) > $2 LIMIT 1"
#define NUMBER_LIVE_SQL                                                                            \
    "SELECT 1 FROM leases WHERE account_id = $3 AND number_id = $1 AND expires_at > $2"            \
    " UNION ALL SELECT 1 FROM numbers n JOIN lease_numbers ln ON ln.account_id = n.account_id"     \
    " AND ln.number_id = n.id JOIN pools p ON p.account_id = n.account_id AND p.id = n.pool_id"    \
    " WHERE n.account_id = $3 AND n.id = $1"                                                       \
    " AND ln.last_active + GREATEST(p.lease_ttl * 1000, 1) > $2 LIMIT 1"

/* Runs the delete statements of an object in one transaction, unless a lease is live. The
 * object's row is locked first (FOR UPDATE), so a claim cannot slip in between check and
 * delete without the check seeing it: a claim locks its pool's lease_pools row, and deletes
 * of a pool's rows wait for the claims in flight. */
static int delete_unless_leased(struct store *s, const char *lock_sql, const char *live_sql,
                                const char *const *del_sqls, size_t n, int64_t account_id,
                                int64_t id, int64_t now)
{
    int rc = store_pg__begin(s);
    if (rc)
        return rc;
    struct pgargs one = {0}; /* the lock and the deletes: $1 the row id, $2 its account */
    store__pg_i64(&one, id);
    store__pg_i64(&one, account_id);
    rc = store__pg_exec(s, lock_sql, &one, NULL, "lock for delete");
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, now);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    if (rc == ERR_OK) {
        rc = store__pg_row(s, live_sql, &a, &r, "check leases");
        if (rc == ERR_OK) {
            PQclear(r);
            rc = ERR_CONFLICT;
        } else if (rc == ERR_NOTFOUND) {
            rc = ERR_OK;
        }
    }
    for (size_t i = 0; i < n && rc == ERR_OK; i++)
        rc = store__pg_exec(s, del_sqls[i], &one, NULL, "delete");
    if (rc == ERR_OK)
        rc = store_pg__commit(s);
    if (rc)
        store_pg__rollback(s);
    return rc;
}

int store_pg__pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    struct st_pool p;
    int rc = store_pg__pool_get(s, account_id, ext_id, &p);
    if (rc)
        return rc;
    static const char *const dels[] = {
        "DELETE FROM leases WHERE account_id = $2 AND pool_id = $1",
        "DELETE FROM rules WHERE account_id = $2 AND pool_id = $1",
        "DELETE FROM numbers WHERE account_id = $2 AND pool_id = $1",
        /* lease_pools, lease_holders: ON DELETE CASCADE */
        "DELETE FROM pools WHERE account_id = $2 AND id = $1",
    };
    /* The pool's claims serialize on its lease_pools row: lock it as a claim does. */
    return delete_unless_leased(s, "SELECT od_lease_lock($2, $1)", POOL_LIVE_SQL, dels,
                                ARRAY_SIZE(dels), account_id, p.id, now);
}

int store_pg__pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " POOL_COLS " FROM pools WHERE $1::bigint = 0"
                            " OR account_id = $1 ORDER BY id",
                            &a, &r, "list pools");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_pool p;
        read_pool(r, i, &p);
        if (fn(ctx, &p))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* The shared counters of the pool's lease state (lease_pools), which every node's claims
 * advance, are raised and never moved back; pool reads show them (POOL_COLS). The pools row is
 * not written: the group-commit writer of every node calls this once per pool per batch, and
 * writing the pools row locked it until the batch's fsynced commit, so two nodes' writers waited
 * for each other on a shared pool. With counters a claim already raised (the writer's case),
 * lease_pools is only read, never locked, so claims do not wait for the writer either. */
int store_pg__pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                                int64_t exhaustion_events, int64_t peak_concurrent)
{
    struct pgargs a = {0};
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, exhaustion_events);
    store__pg_i64(&a, peak_concurrent);
    store__pg_i64(&a, account_id);
    return store__pg_exec(
        s,
        "WITH raised AS (UPDATE lease_pools st SET"
        " exhaustion_events = GREATEST(st.exhaustion_events, $2),"
        " peak_concurrent = GREATEST(st.peak_concurrent, $3),"
        " peak_demand = GREATEST(st.peak_demand, $3)"
        " WHERE st.account_id = $4 AND st.pool_id = $1 AND (st.exhaustion_events < $2"
        " OR st.peak_concurrent < $3 OR st.peak_demand < $3))"
        " INSERT INTO lease_pools AS st (account_id, pool_id, exhaustion_events, peak_concurrent,"
        " peak_demand) SELECT account_id, id, $2, $3, $3 FROM pools WHERE account_id = $4"
        " AND id = $1"
        " AND NOT EXISTS (SELECT 1 FROM lease_pools l WHERE l.account_id = $4 AND l.pool_id = $1)"
        " ON CONFLICT (account_id, pool_id) DO UPDATE SET"
        " exhaustion_events = GREATEST(st.exhaustion_events, excluded.exhaustion_events),"
        " peak_concurrent = GREATEST(st.peak_concurrent, excluded.peak_concurrent),"
        " peak_demand = GREATEST(st.peak_demand, excluded.peak_demand)",
        &a, NULL, "update pool counters");
}

/* ---- numbers ---- */

#define NUMBER_COLS                                                                                \
    "id, ext_id, account_id, number, pool_id, source, medium, campaign, target, forward_to,"       \
    " idle_since, created_at"

static void read_number(const PGresult *r, int i, struct st_number *n)
{
    n->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, n->ext_id, sizeof(n->ext_id));
    n->account_id = store__pg_col_i64(r, i, 2);
    store__pg_col_text(r, i, 3, n->number, sizeof(n->number));
    n->pool_id = store__pg_col_i64(r, i, 4);
    store__pg_col_text(r, i, 5, n->source, sizeof(n->source));
    store__pg_col_text(r, i, 6, n->medium, sizeof(n->medium));
    store__pg_col_text(r, i, 7, n->campaign, sizeof(n->campaign));
    store__pg_col_text(r, i, 8, n->target, sizeof(n->target));
    store__pg_col_text(r, i, 9, n->forward_to, sizeof(n->forward_to));
    n->idle_since = store__pg_col_i64(r, i, 10);
    n->created_at = store__pg_col_i64(r, i, 11);
}

/* $1..$6: pool, source fields and routes. */
static void bind_number(struct pgargs *a, const struct st_number *n)
{
    store__pg_id(a, n->pool_id);
    store__pg_opt(a, n->pool_id ? NULL : n->source);
    store__pg_opt(a, n->medium);
    store__pg_opt(a, n->campaign);
    store__pg_opt(a, n->target);
    store__pg_opt(a, n->forward_to);
}

int store_pg__number_create(struct store *s, struct st_number *n, int64_t now, struct errbuf *eb)
{
    store__pg_new_ext_id("num_", n->ext_id);
    n->created_at = now;
    struct pgargs a = {0};
    bind_number(&a, n);
    store__pg_text(&a, n->ext_id);
    store__pg_i64(&a, n->account_id);
    store__pg_text(&a, n->number);
    store__pg_i64(&a, n->created_at);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO numbers(pool_id, source, medium, campaign, target,"
                           " forward_to, ext_id, account_id, number, idle_since, created_at)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10) RETURNING id",
                           &a, &r, "insert number");
    if (rc == ERR_CONFLICT)
        return errf(eb, rc, "number", "number %s already exists", n->number);
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_BACKEND : rc, NULL, "cannot create number");
    n->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__number_get(struct store *s, int64_t account_id, const char *ext_id,
                         struct st_number *n)
{
    struct pgargs g = {0};
    store__pg_text(&g, ext_id);
    store__pg_i64(&g, account_id);
    READ_ROW(s, "SELECT " NUMBER_COLS " FROM numbers WHERE ext_id = $1 AND account_id = $2", &g,
             read_number, n, "read number");
}

int store_pg__number_by_id(struct store *s, int64_t account_id, int64_t id, struct st_number *n)
{
    struct pgargs g = {0};
    store__pg_i64(&g, id);
    store__pg_i64(&g, account_id);
    READ_ROW(s, "SELECT " NUMBER_COLS " FROM numbers WHERE account_id = $2 AND id = $1", &g,
             read_number, n, "read number");
}

int store_pg__number_by_e164(struct store *s, const char *e164, struct st_number *n)
{
    struct pgargs g = {0};
    store__pg_text(&g, e164);
    READ_ROW(s, "SELECT " NUMBER_COLS " FROM numbers WHERE number = $1", &g, read_number, n,
             "read number");
}

/* A move to another pool forgets the number's lease state (as core/pool_remove_number does),
 * and only while no claim holds it. The old pool's claims serialize on its lease_pools row:
 * the first statement takes that lock, so the second (a new snapshot) sees every claim made
 * before it. */
static int number_write(struct store *s, const struct st_number *n, int64_t now, bool *busy)
{
    struct pgargs lk = {0};
    store__pg_i64(&lk, n->id);
    store__pg_id(&lk, n->pool_id);
    store__pg_i64(&lk, n->account_id);
    int rc = store__pg_exec(s,
                            "SELECT od_lease_lock($3, pool_id) FROM numbers WHERE account_id = $3"
                            " AND id = $1 AND pool_id IS DISTINCT FROM $2::bigint"
                            " AND pool_id IS NOT NULL",
                            &lk, NULL, "lock number's pool");
    struct pgargs a = {0};
    bind_number(&a, n);
    store__pg_i64(&a, n->id);
    store__pg_i64(&a, now);
    store__pg_i64(&a, n->account_id);
    PGresult *r = NULL;
    if (rc == ERR_OK)
        rc = store__pg_row(
            s,
            "WITH old AS (SELECT n.pool_id, COALESCE(ln.last_active"
            "  + GREATEST(p.lease_ttl * 1000, 1) > $8, false) AS live FROM numbers n"
            "  LEFT JOIN pools p ON p.account_id = n.account_id AND p.id = n.pool_id"
            "  LEFT JOIN lease_numbers ln ON ln.account_id = n.account_id AND ln.number_id = n.id"
            "  WHERE n.account_id = $9 AND n.id = $7),"
            " moved AS (SELECT live FROM old WHERE pool_id IS DISTINCT FROM $1::bigint),"
            " gone AS (DELETE FROM lease_numbers WHERE account_id = $9 AND number_id = $7"
            "  AND EXISTS (SELECT 1 FROM moved WHERE NOT live)),"
            " u AS (UPDATE numbers SET pool_id = $1, source = $2, medium = $3, campaign = $4,"
            "  target = $5, forward_to = $6 WHERE account_id = $9 AND id = $7"
            "  AND NOT EXISTS (SELECT 1 FROM moved WHERE live) RETURNING id)"
            " SELECT EXISTS (SELECT 1 FROM moved WHERE live)",
            &a, &r, "update number");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *busy = store__pg_col_bool(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__number_update(struct store *s, const struct st_number *n, int64_t now,
                            struct errbuf *eb)
{
    bool own = !store__pg_in_tx(s); /* else the caller's transaction holds the lock */
    int rc = own ? store_pg__begin(s) : ERR_OK;
    bool busy = false;
    if (rc == ERR_OK)
        rc = number_write(s, n, now, &busy);
    if (rc == ERR_OK && busy)
        rc = ERR_CONFLICT;
    if (own && rc == ERR_OK)
        rc = store_pg__commit(s);
    if (own && rc)
        store_pg__rollback(s);
    if (busy)
        return errf(eb, ERR_CONFLICT, NULL, "number %s has a live lease", n->number);
    return rc ? errf(eb, rc, NULL, "cannot update number") : ERR_OK;
}

int store_pg__number_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now)
{
    struct st_number n;
    int rc = store_pg__number_get(s, account_id, ext_id, &n);
    if (rc)
        return rc;
    static const char *const dels[] = {
        "DELETE FROM leases WHERE account_id = $2 AND number_id = $1",
        "DELETE FROM rules WHERE account_id = $2 AND number_id = $1",
        ("DELETE FROM lease_holders h USING numbers n WHERE n.account_id = $2 AND n.id = $1"
         " AND h.account_id = $2 AND h.pool_id = n.pool_id AND h.number_id = n.id"),
        "DELETE FROM numbers WHERE account_id = $2 AND id = $1", /* lease_numbers: CASCADE */
    };
    /* A claim in the number's pool locks the pool's lease state: take that lock, then the
     * liveness check sees every claim made before it. Source numbers have no pool. */
    return delete_unless_leased(s,
                                "SELECT od_lease_lock($2, pool_id) FROM numbers"
                                " WHERE account_id = $2 AND id = $1 AND pool_id IS NOT NULL",
                                NUMBER_LIVE_SQL, dels, ARRAY_SIZE(dels), account_id, n.id, now);
}

int store_pg__number_list(struct store *s, int64_t account_id, int64_t pool_id, store_number_fn fn,
                          void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " NUMBER_COLS " FROM numbers WHERE ($1::bigint = 0 OR"
                            " account_id = $1) AND ($2::bigint = 0 OR pool_id = $2) ORDER BY id",
                            &a, &r, "list numbers");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_number n;
        read_number(r, i, &n);
        if (fn(ctx, &n))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- rules ---- */

int store_pg__rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb)
{
    store__pg_new_ext_id("rule_", r->ext_id);
    struct pgargs a = {0};
    store__pg_text(&a, r->ext_id);
    store__pg_i64(&a, r->account_id);
    store__pg_i64(&a, r->position);
    store__pg_text(&a, r->field);
    store__pg_text(&a, r->op);
    store__pg_text(&a, r->value);
    store__pg_opt(&a, r->set_channel);
    store__pg_opt(&a, r->set_source);
    store__pg_opt(&a, r->set_medium);
    store__pg_opt(&a, r->set_campaign);
    store__pg_id(&a, r->pool_id);
    store__pg_id(&a, r->number_id);
    store__pg_i64(&a, now);
    store__pg_opt(&a, r->location);
    PGresult *res = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO rules(ext_id, account_id, position, field, op, value, set_channel,"
        " set_source, set_medium, set_campaign, pool_id, number_id, created_at, location)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        &a, &res, "insert rule");
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_BACKEND : rc, NULL, "cannot create rule");
    r->id = store__pg_col_i64(res, 0, 0);
    PQclear(res);
    return ERR_OK;
}

int store_pg__rule_update(struct store *s, struct st_rule *r, struct errbuf *eb)
{
    struct pgargs a = {0};
    store__pg_text(&a, r->ext_id);
    store__pg_i64(&a, r->account_id);
    store__pg_i64(&a, r->position);
    store__pg_text(&a, r->field);
    store__pg_text(&a, r->op);
    store__pg_text(&a, r->value);
    store__pg_opt(&a, r->set_channel);
    store__pg_opt(&a, r->set_source);
    store__pg_opt(&a, r->set_medium);
    store__pg_opt(&a, r->set_campaign);
    store__pg_id(&a, r->pool_id);
    store__pg_id(&a, r->number_id);
    store__pg_opt(&a, r->location);
    PGresult *res = NULL;
    int rc = store__pg_row(
        s,
        "UPDATE rules SET position = $3, field = $4, op = $5, value = $6, set_channel = $7,"
        " set_source = $8, set_medium = $9, set_campaign = $10, pool_id = $11, number_id = $12,"
        " location = $13 WHERE ext_id = $1 AND account_id = $2 RETURNING id",
        &a, &res, "update rule");
    if (rc == ERR_NOTFOUND)
        return ERR_NOTFOUND;
    if (rc)
        return errf(eb, rc, NULL, "cannot update rule");
    r->id = store__pg_col_i64(res, 0, 0);
    PQclear(res);
    return ERR_OK;
}

int store_pg__rule_delete(struct store *s, int64_t account_id, const char *ext_id)
{
    struct pgargs a = {0};
    store__pg_text(&a, ext_id);
    store__pg_i64(&a, account_id);
    int64_t n = 0;
    int rc = store__pg_changes(s, "DELETE FROM rules WHERE ext_id = $1 AND account_id = $2", &a, &n,
                               "delete rule");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

static void read_rule(const PGresult *res, int i, struct st_rule *r)
{
    r->id = store__pg_col_i64(res, i, 0);
    store__pg_col_text(res, i, 1, r->ext_id, sizeof(r->ext_id));
    r->account_id = store__pg_col_i64(res, i, 2);
    r->position = store__pg_col_i64(res, i, 3);
    store__pg_col_text(res, i, 4, r->field, sizeof(r->field));
    store__pg_col_text(res, i, 5, r->op, sizeof(r->op));
    store__pg_col_text(res, i, 6, r->value, sizeof(r->value));
    store__pg_col_text(res, i, 7, r->set_channel, sizeof(r->set_channel));
    store__pg_col_text(res, i, 8, r->set_source, sizeof(r->set_source));
    store__pg_col_text(res, i, 9, r->set_medium, sizeof(r->set_medium));
    store__pg_col_text(res, i, 10, r->set_campaign, sizeof(r->set_campaign));
    r->pool_id = store__pg_col_i64(res, i, 11);
    r->number_id = store__pg_col_i64(res, i, 12);
    store__pg_col_text(res, i, 13, r->location, sizeof(r->location));
}

int store_pg__rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *res = NULL;
    int rc = store__pg_exec(
        s,
        "SELECT id, ext_id, account_id, position, field, op, value, set_channel, set_source,"
        " set_medium, set_campaign, pool_id, number_id, location FROM rules WHERE account_id = $1"
        " ORDER BY position, id",
        &a, &res, "list rules");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        struct st_rule r;
        read_rule(res, i, &r);
        if (fn(ctx, &r))
            break;
    }
    PQclear(res);
    return ERR_OK;
}
