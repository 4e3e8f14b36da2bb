/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: numbers bought and released through the provider (sql/0020): the account's
 * settings, pool autoscale settings, purchase intents (one pending intent per pool slot), the
 * action log, the pool numbers' usage and the claims of periodic jobs. Every statement on
 * account data filters by account id. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

#define AS_COLS                                                                                    \
    "account_id, pool_id, enabled, dry_run, min_size, max_size, area_code, region, idle_release,"  \
    " seen_exhaustion, checked_at, updated_at, last_decision"
#define INTENT_COLS                                                                                \
    "id, account_id, pool_id, slot, key, provider, state, number, provider_ref,"                   \
    " COALESCE(number_id, 0), created_at, updated_at, released_at"
#define ACTION_COLS                                                                                \
    "id, account_id, pool_id, at, action, number, provider, dry_run, ok, detail,"                  \
    " COALESCE(intent_id, 0)"

static bool fits(const char *v, size_t cap)
{
    return v && strlen(v) < cap;
}

/* Steps st once: ERR_OK with a row (left for the caller to read, then reset), ERR_NOTFOUND. */
static int step_row(struct sconn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, what);
}

static int list_end(struct sconn *c, sqlite3_stmt *st, int rc, const char *what)
{
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, what);
}

/* ---- settings ---- */

int store_sqlite__numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *cfg)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT provider, monthly_cap, number_cost, country,"
                                      " updated_at FROM number_settings WHERE account_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc = step_row(c, st, "read number settings");
    if (rc)
        return rc;
    memset(cfg, 0, sizeof(*cfg));
    cfg->account_id = account_id;
    store__col_text(st, 0, cfg->provider, sizeof(cfg->provider));
    cfg->monthly_cap = sqlite3_column_int64(st, 1);
    cfg->number_cost = sqlite3_column_int64(st, 2);
    store__col_text(st, 3, cfg->country, sizeof(cfg->country));
    cfg->updated_at = sqlite3_column_int64(st, 4);
    sqlite3_reset(st);
    return ERR_OK;
}

int store_sqlite__numcfg_put(struct store *s, const struct st_numcfg *cfg)
{
    if (!fits(cfg->provider, sizeof(cfg->provider)) || !fits(cfg->country, sizeof(cfg->country)))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO number_settings(account_id, provider, monthly_cap, number_cost, country,"
           " updated_at) SELECT id, ?2, ?3, ?4, ?5, ?6 FROM accounts WHERE id = ?1"
           " ON CONFLICT (account_id) DO UPDATE SET provider = excluded.provider,"
           " monthly_cap = excluded.monthly_cap, number_cost = excluded.number_cost,"
           " country = excluded.country, updated_at = excluded.updated_at");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, cfg->account_id);
    store__bind_text(st, 2, cfg->provider);
    sqlite3_bind_int64(st, 3, cfg->monthly_cap);
    sqlite3_bind_int64(st, 4, cfg->number_cost);
    store__bind_text(st, 5, cfg->country);
    sqlite3_bind_int64(st, 6, cfg->updated_at);
    int rc = store__exec(c, st, "write number settings");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

static void read_as(sqlite3_stmt *st, struct st_autoscale *a)
{
    memset(a, 0, sizeof(*a));
    a->account_id = sqlite3_column_int64(st, 0);
    a->pool_id = sqlite3_column_int64(st, 1);
    a->enabled = sqlite3_column_int(st, 2) != 0;
    a->dry_run = sqlite3_column_int(st, 3) != 0;
    a->min_size = sqlite3_column_int64(st, 4);
    a->max_size = sqlite3_column_int64(st, 5);
    store__col_text(st, 6, a->area_code, sizeof(a->area_code));
    store__col_text(st, 7, a->region, sizeof(a->region));
    a->idle_release_s = sqlite3_column_int64(st, 8);
    a->seen_exhaustion = sqlite3_column_int64(st, 9);
    a->checked_at = sqlite3_column_int64(st, 10);
    a->updated_at = sqlite3_column_int64(st, 11);
    store__col_text(st, 12, a->last_decision, sizeof(a->last_decision));
}

int store_sqlite__autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                                struct st_autoscale *a)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " AS_COLS " FROM pool_autoscale"
                                      " WHERE account_id = ?1 AND pool_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    int rc = step_row(c, st, "read autoscale");
    if (rc)
        return rc;
    read_as(st, a);
    sqlite3_reset(st);
    return ERR_OK;
}

int store_sqlite__autoscale_put(struct store *s, const struct st_autoscale *a)
{
    if (!fits(a->area_code, sizeof(a->area_code)) || !fits(a->region, sizeof(a->region)) ||
        !fits(a->last_decision, sizeof(a->last_decision)))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO pool_autoscale(" AS_COLS ")"
           " SELECT account_id, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 FROM pools"
           " WHERE account_id = ?1 AND id = ?2"
           " ON CONFLICT (pool_id) DO UPDATE SET enabled = excluded.enabled,"
           " dry_run = excluded.dry_run, min_size = excluded.min_size,"
           " max_size = excluded.max_size, area_code = excluded.area_code,"
           " region = excluded.region, idle_release = excluded.idle_release,"
           " seen_exhaustion = excluded.seen_exhaustion, checked_at = excluded.checked_at,"
           " updated_at = excluded.updated_at, last_decision = excluded.last_decision");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, a->account_id);
    sqlite3_bind_int64(st, 2, a->pool_id);
    sqlite3_bind_int(st, 3, a->enabled);
    sqlite3_bind_int(st, 4, a->dry_run);
    sqlite3_bind_int64(st, 5, a->min_size);
    sqlite3_bind_int64(st, 6, a->max_size);
    store__bind_text(st, 7, a->area_code);
    store__bind_text(st, 8, a->region);
    sqlite3_bind_int64(st, 9, a->idle_release_s);
    sqlite3_bind_int64(st, 10, a->seen_exhaustion);
    sqlite3_bind_int64(st, 11, a->checked_at);
    sqlite3_bind_int64(st, 12, a->updated_at);
    store__bind_text(st, 13, a->last_decision);
    int rc = store__exec(c, st, "write autoscale");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

int store_sqlite__autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " AS_COLS " FROM pool_autoscale"
                                      " WHERE enabled <> 0 ORDER BY pool_id");
    if (!st)
        return ERR_BACKEND;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_autoscale a;
        read_as(st, &a);
        if (fn(ctx, &a))
            break;
    }
    return list_end(c, st, rc, "list autoscale");
}

/* ---- intents ---- */

static void read_intent(sqlite3_stmt *st, struct st_intent *i)
{
    memset(i, 0, sizeof(*i));
    i->id = sqlite3_column_int64(st, 0);
    i->account_id = sqlite3_column_int64(st, 1);
    i->pool_id = sqlite3_column_int64(st, 2);
    i->slot = sqlite3_column_int64(st, 3);
    store__col_text(st, 4, i->key, sizeof(i->key));
    store__col_text(st, 5, i->provider, sizeof(i->provider));
    i->state = sqlite3_column_int(st, 6);
    store__col_text(st, 7, i->number, sizeof(i->number));
    store__col_text(st, 8, i->provider_ref, sizeof(i->provider_ref));
    i->number_id = sqlite3_column_int64(st, 9);
    i->created_at = sqlite3_column_int64(st, 10);
    i->updated_at = sqlite3_column_int64(st, 11);
    i->released_at = sqlite3_column_int64(st, 12);
}

int store_sqlite__intent_claim(struct store *s, int64_t account_id, int64_t pool_id,
                               int64_t target_size, const char *key, const char *provider,
                               int64_t now, struct st_intent *out)
{
    if (!fits(key, STORE_ID_MAX) || !fits(provider, STORE_PROVIDER_MAX))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    /* The pool must be the account's: otherwise nothing is claimed. */
    sqlite3_stmt *st = store__prep(c, "SELECT 1 FROM pools WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, pool_id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = step_row(c, st, "read pool");
    if (rc)
        return rc;
    sqlite3_reset(st);
    st = store__prep(
        c, "INSERT INTO number_intents(account_id, pool_id, slot, key, provider, state,"
           " created_at, updated_at)"
           " SELECT ?1, ?2, n + 1, ?4, ?5, 0, ?6, ?6 FROM (SELECT"
           "  (SELECT COUNT(*) FROM numbers WHERE account_id = ?1 AND pool_id = ?2)"
           "  + (SELECT COUNT(*) FROM number_intents WHERE account_id = ?1 AND pool_id = ?2"
           "     AND state = 0) AS n) WHERE n < ?3"
           " RETURNING " INTENT_COLS);
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    sqlite3_bind_int64(st, 3, target_size);
    store__bind_text(st, 4, key);
    store__bind_text(st, 5, provider);
    sqlite3_bind_int64(st, 6, now);
    rc = step_row(c, st, "claim a purchase");
    if (rc == ERR_NOTFOUND)
        return ERR_CONFLICT; /* the pool is at its target already */
    if (rc)
        return rc;
    read_intent(st, out);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "claim a purchase");
}

int store_sqlite__intent_update(struct store *s, const struct st_intent *i)
{
    if (!fits(i->number, STORE_E164_MAX) || !fits(i->provider_ref, STORE_PROVIDER_REF_MAX))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE number_intents SET state = ?3, number = ?4,"
                                      " provider_ref = ?5, number_id = ?6, updated_at = ?7,"
                                      " released_at = ?8 WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, i->id);
    sqlite3_bind_int64(st, 2, i->account_id);
    sqlite3_bind_int(st, 3, i->state);
    store__bind_text(st, 4, i->number);
    store__bind_text(st, 5, i->provider_ref);
    store__bind_id(st, 6, i->number_id);
    sqlite3_bind_int64(st, 7, i->updated_at);
    sqlite3_bind_int64(st, 8, i->released_at);
    int rc = store__exec(c, st, "update a purchase");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

int store_sqlite__intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                              store_intent_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " INTENT_COLS " FROM number_intents"
                                      " WHERE (?1 = 0 OR account_id = ?1)"
                                      " AND (?2 = 0 OR pool_id = ?2) AND (?3 < 0 OR state = ?3)"
                                      " ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    sqlite3_bind_int(st, 3, state);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_intent i;
        read_intent(st, &i);
        if (fn(ctx, &i))
            break;
    }
    return list_end(c, st, rc, "list purchases");
}

int store_sqlite__intent_spend(struct store *s, int64_t account_id, int64_t month_start, int64_t *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT COUNT(*) FROM number_intents WHERE account_id = ?1"
                       " AND (state IN (0, 1) OR (state = 3 AND released_at >= ?2))");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, month_start);
    int rc = step_row(c, st, "count the month's numbers");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return ERR_OK;
}

/* ---- the log ---- */

int store_sqlite__number_action_add(struct store *s, struct st_number_action *a)
{
    if (!fits(a->action, sizeof(a->action)) || !fits(a->number, sizeof(a->number)) ||
        !fits(a->provider, sizeof(a->provider)) || !fits(a->detail, sizeof(a->detail)))
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO number_actions(account_id, pool_id, at, action, number, provider,"
           " dry_run, ok, detail, intent_id) SELECT account_id, id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10"
           " FROM pools WHERE account_id = ?1 AND id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, a->account_id);
    sqlite3_bind_int64(st, 2, a->pool_id);
    sqlite3_bind_int64(st, 3, a->at);
    store__bind_text(st, 4, a->action);
    store__bind_text(st, 5, a->number);
    store__bind_text(st, 6, a->provider);
    sqlite3_bind_int(st, 7, a->dry_run);
    sqlite3_bind_int(st, 8, a->ok);
    store__bind_text(st, 9, a->detail);
    store__bind_id(st, 10, a->intent_id);
    int rc = store__exec(c, st, "log a number action");
    if (rc == ERR_OK && sqlite3_changes(c->db) == 0)
        return ERR_NOTFOUND;
    if (rc == ERR_OK)
        a->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int store_sqlite__number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                                     int64_t before_id, size_t max, store_number_action_fn fn,
                                     void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ACTION_COLS " FROM number_actions"
                                      " WHERE account_id = ?1 AND pool_id = ?2"
                                      " AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    sqlite3_bind_int64(st, 3, before_id);
    sqlite3_bind_int64(st, 4, (int64_t)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_number_action a;
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(st, 0);
        a.account_id = sqlite3_column_int64(st, 1);
        a.pool_id = sqlite3_column_int64(st, 2);
        a.at = sqlite3_column_int64(st, 3);
        store__col_text(st, 4, a.action, sizeof(a.action));
        store__col_text(st, 5, a.number, sizeof(a.number));
        store__col_text(st, 6, a.provider, sizeof(a.provider));
        a.dry_run = sqlite3_column_int(st, 7) != 0;
        a.ok = sqlite3_column_int(st, 8) != 0;
        store__col_text(st, 9, a.detail, sizeof(a.detail));
        a.intent_id = sqlite3_column_int64(st, 10);
        if (fn(ctx, &a))
            break;
    }
    return list_end(c, st, rc, "list number actions");
}

int store_sqlite__number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                               store_number_usage_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "SELECT n.id, n.ext_id, n.number, n.created_at,"
           " COALESCE((SELECT MAX(l.expires_at) FROM leases l WHERE l.number_id = n.id), 0),"
           " COALESCE((SELECT MAX(k.started_at) FROM calls k WHERE k.number_id = n.id"
           "  AND k.account_id = ?1), 0)"
           " FROM numbers n WHERE n.account_id = ?1 AND n.pool_id = ?2 ORDER BY n.id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, pool_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_number_usage u;
        memset(&u, 0, sizeof(u));
        u.number_id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, u.ext_id, sizeof(u.ext_id));
        store__col_text(st, 2, u.number, sizeof(u.number));
        u.created_at = sqlite3_column_int64(st, 3);
        u.last_lease_end = sqlite3_column_int64(st, 4);
        u.last_call_at = sqlite3_column_int64(st, 5);
        if (fn(ctx, &u))
            break;
    }
    return list_end(c, st, rc, "read number usage");
}

/* ---- periodic jobs ---- */

int store_sqlite__job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                            int64_t until, bool *got)
{
    *got = false;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO job_claims(name, holder, until) VALUES (?1, ?2, ?4)"
           " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
           " WHERE job_claims.until <= ?3 OR job_claims.holder = excluded.holder");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, name);
    store__bind_text(st, 2, holder);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, until);
    int rc = store__exec(c, st, "claim a periodic job");
    *got = rc == ERR_OK && sqlite3_changes(c->db) == 1;
    return rc;
}
