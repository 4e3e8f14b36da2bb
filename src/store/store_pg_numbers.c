/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend: numbers bought and released through the provider (sql_pg/0020), with the
 * semantics of store_sqlite_numbers.c. Several nodes share the database: a purchase claim locks
 * the pool's row first, so the claims of every node on one pool are decided one after another
 * (and the partial unique index on pending slots backs it), and a periodic job's claim is one
 * upsert whose row lock lets one node win. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

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

/* ---- settings ---- */

int store_pg__numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *cfg)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT provider, monthly_cap, number_cost, country, updated_at"
                           " FROM number_settings WHERE account_id = $1",
                           &a, &r, "read number settings");
    if (rc)
        return rc;
    memset(cfg, 0, sizeof(*cfg));
    cfg->account_id = account_id;
    store__pg_col_text(r, 0, 0, cfg->provider, sizeof(cfg->provider));
    cfg->monthly_cap = store__pg_col_i64(r, 0, 1);
    cfg->number_cost = store__pg_col_i64(r, 0, 2);
    store__pg_col_text(r, 0, 3, cfg->country, sizeof(cfg->country));
    cfg->updated_at = store__pg_col_i64(r, 0, 4);
    PQclear(r);
    return ERR_OK;
}

int store_pg__numcfg_put(struct store *s, const struct st_numcfg *cfg)
{
    if (!fits(cfg->provider, sizeof(cfg->provider)) || !fits(cfg->country, sizeof(cfg->country)))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, cfg->account_id);
    store__pg_text(&a, cfg->provider);
    store__pg_i64(&a, cfg->monthly_cap);
    store__pg_i64(&a, cfg->number_cost);
    store__pg_text(&a, cfg->country);
    store__pg_i64(&a, cfg->updated_at);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO number_settings(account_id, provider, monthly_cap, number_cost, country,"
        " updated_at) SELECT id, $2::text, $3::bigint, $4::bigint, $5::text, $6::bigint"
        " FROM accounts WHERE id = $1::bigint"
        " ON CONFLICT (account_id) DO UPDATE SET provider = excluded.provider,"
        " monthly_cap = excluded.monthly_cap, number_cost = excluded.number_cost,"
        " country = excluded.country, updated_at = excluded.updated_at",
        &a, &n, "write number settings");
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

static void read_as(const PGresult *r, int row, struct st_autoscale *a)
{
    memset(a, 0, sizeof(*a));
    a->account_id = store__pg_col_i64(r, row, 0);
    a->pool_id = store__pg_col_i64(r, row, 1);
    a->enabled = store__pg_col_i64(r, row, 2) != 0;
    a->dry_run = store__pg_col_i64(r, row, 3) != 0;
    a->min_size = store__pg_col_i64(r, row, 4);
    a->max_size = store__pg_col_i64(r, row, 5);
    store__pg_col_text(r, row, 6, a->area_code, sizeof(a->area_code));
    store__pg_col_text(r, row, 7, a->region, sizeof(a->region));
    a->idle_release_s = store__pg_col_i64(r, row, 8);
    a->seen_exhaustion = store__pg_col_i64(r, row, 9);
    a->checked_at = store__pg_col_i64(r, row, 10);
    a->updated_at = store__pg_col_i64(r, row, 11);
    store__pg_col_text(r, row, 12, a->last_decision, sizeof(a->last_decision));
}

int store_pg__autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                            struct st_autoscale *as)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT " AS_COLS " FROM pool_autoscale"
                           " WHERE account_id = $1 AND pool_id = $2",
                           &a, &r, "read autoscale");
    if (rc)
        return rc;
    read_as(r, 0, as);
    PQclear(r);
    return ERR_OK;
}

int store_pg__autoscale_put(struct store *s, const struct st_autoscale *as)
{
    if (!fits(as->area_code, sizeof(as->area_code)) || !fits(as->region, sizeof(as->region)) ||
        !fits(as->last_decision, sizeof(as->last_decision)))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, as->account_id);
    store__pg_i64(&a, as->pool_id);
    store__pg_i64(&a, as->enabled);
    store__pg_i64(&a, as->dry_run);
    store__pg_i64(&a, as->min_size);
    store__pg_i64(&a, as->max_size);
    store__pg_text(&a, as->area_code);
    store__pg_text(&a, as->region);
    store__pg_i64(&a, as->idle_release_s);
    store__pg_i64(&a, as->seen_exhaustion);
    store__pg_i64(&a, as->checked_at);
    store__pg_i64(&a, as->updated_at);
    store__pg_text(&a, as->last_decision);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO pool_autoscale(" AS_COLS ")"
        " SELECT account_id, id, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::text,"
        " $8::text, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::text FROM pools"
        " WHERE account_id = $1::bigint AND id = $2::bigint"
        " ON CONFLICT (pool_id) DO UPDATE SET enabled = excluded.enabled,"
        " dry_run = excluded.dry_run, min_size = excluded.min_size,"
        " max_size = excluded.max_size, area_code = excluded.area_code,"
        " region = excluded.region, idle_release = excluded.idle_release,"
        " seen_exhaustion = excluded.seen_exhaustion, checked_at = excluded.checked_at,"
        " updated_at = excluded.updated_at, last_decision = excluded.last_decision",
        &a, &n, "write autoscale");
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

int store_pg__autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx)
{
    PGresult *r = NULL;
    struct pgargs a = {0};
    int rc = store__pg_exec(s,
                            "SELECT " AS_COLS " FROM pool_autoscale WHERE enabled <> 0"
                            " ORDER BY pool_id",
                            &a, &r, "list autoscale");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_autoscale as;
        read_as(r, i, &as);
        if (fn(ctx, &as))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- intents ---- */

static void read_intent(const PGresult *r, int row, struct st_intent *i)
{
    memset(i, 0, sizeof(*i));
    i->id = store__pg_col_i64(r, row, 0);
    i->account_id = store__pg_col_i64(r, row, 1);
    i->pool_id = store__pg_col_i64(r, row, 2);
    i->slot = store__pg_col_i64(r, row, 3);
    store__pg_col_text(r, row, 4, i->key, sizeof(i->key));
    store__pg_col_text(r, row, 5, i->provider, sizeof(i->provider));
    i->state = (int)store__pg_col_i64(r, row, 6);
    store__pg_col_text(r, row, 7, i->number, sizeof(i->number));
    store__pg_col_text(r, row, 8, i->provider_ref, sizeof(i->provider_ref));
    i->number_id = store__pg_col_i64(r, row, 9);
    i->created_at = store__pg_col_i64(r, row, 10);
    i->updated_at = store__pg_col_i64(r, row, 11);
    i->released_at = store__pg_col_i64(r, row, 12);
}

int store_pg__intent_claim(struct store *s, int64_t account_id, int64_t pool_id,
                           int64_t target_size, const char *key, const char *provider, int64_t now,
                           struct st_intent *out)
{
    if (!fits(key, STORE_ID_MAX) || !fits(provider, STORE_PROVIDER_MAX))
        return ERR_INVALID;
    /* The pool's row lock serialises the claims of every node on this pool (the caller's
     * transaction holds it until its commit). */
    struct pgargs a = {0};
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s, "SELECT 1 FROM pools WHERE id = $1 AND account_id = $2 FOR UPDATE",
                           &a, &r, "lock pool");
    if (rc)
        return rc;
    PQclear(r);
    struct pgargs b = {0};
    store__pg_i64(&b, account_id);
    store__pg_i64(&b, pool_id);
    store__pg_i64(&b, target_size);
    store__pg_text(&b, key);
    store__pg_text(&b, provider);
    store__pg_i64(&b, now);
    rc = store__pg_row(
        s,
        "INSERT INTO number_intents(account_id, pool_id, slot, key, provider, state,"
        " created_at, updated_at)"
        " SELECT $1::bigint, $2::bigint, n + 1, $4::text, $5::text, 0, $6::bigint, $6::bigint"
        " FROM (SELECT"
        "  (SELECT COUNT(*) FROM numbers WHERE account_id = $1::bigint AND pool_id = $2::bigint)"
        "  + (SELECT COUNT(*) FROM number_intents WHERE account_id = $1::bigint"
        "     AND pool_id = $2::bigint AND state = 0) AS n) t WHERE n < $3::bigint"
        " RETURNING " INTENT_COLS,
        &b, &r, "claim a purchase");
    if (rc == ERR_NOTFOUND)
        return ERR_CONFLICT;
    if (rc)
        return rc;
    read_intent(r, 0, out);
    PQclear(r);
    return ERR_OK;
}

int store_pg__intent_update(struct store *s, const struct st_intent *i)
{
    if (!fits(i->number, STORE_E164_MAX) || !fits(i->provider_ref, STORE_PROVIDER_REF_MAX))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, i->id);
    store__pg_i64(&a, i->account_id);
    store__pg_i64(&a, i->state);
    store__pg_text(&a, i->number);
    store__pg_text(&a, i->provider_ref);
    store__pg_id(&a, i->number_id);
    store__pg_i64(&a, i->updated_at);
    store__pg_i64(&a, i->released_at);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "UPDATE number_intents SET state = $3, number = $4,"
                               " provider_ref = $5, number_id = $6, updated_at = $7,"
                               " released_at = $8 WHERE id = $1 AND account_id = $2",
                               &a, &n, "update a purchase");
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

int store_pg__intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                          store_intent_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, state);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " INTENT_COLS " FROM number_intents"
                            " WHERE ($1::bigint = 0 OR account_id = $1::bigint)"
                            " AND ($2::bigint = 0 OR pool_id = $2::bigint)"
                            " AND ($3::bigint < 0 OR state = $3::bigint) ORDER BY id",
                            &a, &r, "list purchases");
    if (rc)
        return rc;
    for (int k = 0; k < PQntuples(r); k++) {
        struct st_intent i;
        read_intent(r, k, &i);
        if (fn(ctx, &i))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__intent_spend(struct store *s, int64_t account_id, int64_t month_start, int64_t *n)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, month_start);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT COUNT(*) FROM number_intents WHERE account_id = $1"
                           " AND (state IN (0, 1) OR (state = 3 AND released_at >= $2))",
                           &a, &r, "count the month's numbers");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *n = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* ---- the log ---- */

int store_pg__number_action_add(struct store *s, struct st_number_action *na)
{
    if (!fits(na->action, sizeof(na->action)) || !fits(na->number, sizeof(na->number)) ||
        !fits(na->provider, sizeof(na->provider)) || !fits(na->detail, sizeof(na->detail)))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, na->account_id);
    store__pg_i64(&a, na->pool_id);
    store__pg_i64(&a, na->at);
    store__pg_text(&a, na->action);
    store__pg_text(&a, na->number);
    store__pg_text(&a, na->provider);
    store__pg_i64(&a, na->dry_run);
    store__pg_i64(&a, na->ok);
    store__pg_text(&a, na->detail);
    store__pg_id(&a, na->intent_id);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO number_actions(account_id, pool_id, at, action, number, provider, dry_run,"
        " ok, detail, intent_id) SELECT account_id, id, $3::bigint, $4::text, $5::text, $6::text,"
        " $7::bigint, $8::bigint, $9::text, $10::bigint FROM pools"
        " WHERE account_id = $1::bigint AND id = $2::bigint RETURNING id",
        &a, &r, "log a number action");
    if (rc)
        return rc;
    na->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                                 int64_t before_id, size_t max, store_number_action_fn fn,
                                 void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, before_id);
    store__pg_i64(&a, (int64_t)max);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " ACTION_COLS " FROM number_actions"
                            " WHERE account_id = $1 AND pool_id = $2"
                            " AND ($3::bigint = 0 OR id < $3::bigint) ORDER BY id DESC LIMIT $4",
                            &a, &r, "list number actions");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_number_action na;
        memset(&na, 0, sizeof(na));
        na.id = store__pg_col_i64(r, i, 0);
        na.account_id = store__pg_col_i64(r, i, 1);
        na.pool_id = store__pg_col_i64(r, i, 2);
        na.at = store__pg_col_i64(r, i, 3);
        store__pg_col_text(r, i, 4, na.action, sizeof(na.action));
        store__pg_col_text(r, i, 5, na.number, sizeof(na.number));
        store__pg_col_text(r, i, 6, na.provider, sizeof(na.provider));
        na.dry_run = store__pg_col_i64(r, i, 7) != 0;
        na.ok = store__pg_col_i64(r, i, 8) != 0;
        store__pg_col_text(r, i, 9, na.detail, sizeof(na.detail));
        na.intent_id = store__pg_col_i64(r, i, 10);
        if (fn(ctx, &na))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                           store_number_usage_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(
        s,
        "SELECT n.id, n.ext_id, n.number, n.created_at,"
        " COALESCE((SELECT MAX(l.expires_at) FROM leases l WHERE l.number_id = n.id), 0),"
        " COALESCE((SELECT MAX(k.started_at) FROM calls k WHERE k.number_id = n.id"
        "  AND k.account_id = $1), 0)"
        " FROM numbers n WHERE n.account_id = $1 AND n.pool_id = $2 ORDER BY n.id",
        &a, &r, "read number usage");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_number_usage u;
        memset(&u, 0, sizeof(u));
        u.number_id = store__pg_col_i64(r, i, 0);
        store__pg_col_text(r, i, 1, u.ext_id, sizeof(u.ext_id));
        store__pg_col_text(r, i, 2, u.number, sizeof(u.number));
        u.created_at = store__pg_col_i64(r, i, 3);
        u.last_lease_end = store__pg_col_i64(r, i, 4);
        u.last_call_at = store__pg_col_i64(r, i, 5);
        if (fn(ctx, &u))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- periodic jobs ---- */

int store_pg__job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                        int64_t until, bool *got)
{
    *got = false;
    struct pgargs a = {0};
    store__pg_text(&a, name);
    store__pg_text(&a, holder);
    store__pg_i64(&a, now);
    store__pg_i64(&a, until);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO job_claims AS j(name, holder, until) VALUES ($1::text, $2::text, $4::bigint)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
        " WHERE j.until <= $3::bigint OR j.holder = excluded.holder",
        &a, &n, "claim a periodic job");
    *got = rc == ERR_OK && n == 1;
    return rc;
}
