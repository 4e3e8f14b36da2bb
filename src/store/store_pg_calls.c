/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend, part 4: calls and conversions, a pool's fallback number, telephony
 * provider credentials (account_providers), and the read-only report and export queries.
 * List results are read whole before the callback runs (so callbacks may use the store, the
 * re-entrancy rule of store.h): a report holds its result set in memory while it streams. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

#include "base/ids.h"

/* ---- calls ---- */

#define CALL_COLS                                                                                  \
    "id, ext_id, account_id, provider, provider_call_id, number_id, pool_id, to_number,"           \
    " from_number, started_at, status, duration, forwarded_to, recorded, method, confidence,"      \
    " session_id, runner_up_session_id, runner_up_confidence, first_session_id, channel,"          \
    " source, medium, campaign, keyword, reason, error, call_status, call_duration,"               \
    " status_seq, dial_status, dial_duration, dial_seq, ended_at, updated_at, location,"           \
    " recording_url, recording_duration"

static void read_call_ids(const PGresult *r, int i, struct st_call *c)
{
    c->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, c->ext_id, sizeof(c->ext_id));
    c->account_id = store__pg_col_i64(r, i, 2);
    store__pg_col_text(r, i, 3, c->provider, sizeof(c->provider));
    store__pg_col_text(r, i, 4, c->provider_call_id, sizeof(c->provider_call_id));
    c->number_id = store__pg_col_i64(r, i, 5);
    c->pool_id = store__pg_col_i64(r, i, 6);
    store__pg_col_text(r, i, 7, c->to, sizeof(c->to));
    store__pg_col_text(r, i, 8, c->from, sizeof(c->from));
    c->started_at = store__pg_col_i64(r, i, 9);
    store__pg_col_text(r, i, 10, c->status, sizeof(c->status));
    c->duration_s = store__pg_col_i64(r, i, 11);
    store__pg_col_text(r, i, 12, c->forwarded_to, sizeof(c->forwarded_to));
    c->recorded = store__pg_col_i64(r, i, 13) != 0;
}

static void read_call_attribution(const PGresult *r, int i, struct st_call *c)
{
    store__pg_col_text(r, i, 14, c->method, sizeof(c->method));
    c->confidence = store__pg_col_f64(r, i, 15);
    c->session_id = store__pg_col_i64(r, i, 16);
    c->runner_up_session_id = store__pg_col_i64(r, i, 17);
    c->runner_up_confidence = store__pg_col_f64(r, i, 18);
    c->first_session_id = store__pg_col_i64(r, i, 19);
    store__pg_col_text(r, i, 20, c->channel, sizeof(c->channel));
    store__pg_col_text(r, i, 21, c->source, sizeof(c->source));
    store__pg_col_text(r, i, 22, c->medium, sizeof(c->medium));
    store__pg_col_text(r, i, 23, c->campaign, sizeof(c->campaign));
    store__pg_col_text(r, i, 24, c->keyword, sizeof(c->keyword));
    store__pg_col_text(r, i, 25, c->reason, sizeof(c->reason));
    store__pg_col_text(r, i, 26, c->error, sizeof(c->error));
}

static void read_call(const PGresult *r, int i, struct st_call *c)
{
    read_call_ids(r, i, c);
    read_call_attribution(r, i, c);
    store__pg_col_text(r, i, 27, c->call_status, sizeof(c->call_status));
    c->call_duration_s = store__pg_col_opt(r, i, 28, -1);
    c->status_seq = store__pg_col_i64(r, i, 29);
    store__pg_col_text(r, i, 30, c->dial_status, sizeof(c->dial_status));
    c->dial_duration_s = store__pg_col_opt(r, i, 31, -1);
    c->dial_seq = store__pg_col_i64(r, i, 32);
    c->ended_at = store__pg_col_i64(r, i, 33);
    c->updated_at = store__pg_col_i64(r, i, 34);
    store__pg_col_text(r, i, 35, c->location, sizeof(c->location));
    store__pg_col_text(r, i, 36, c->recording_url, sizeof(c->recording_url));
    c->recording_duration_s = store__pg_col_opt(r, i, 37, -1);
}

static int call_query(struct store *s, const char *sql, const struct pgargs *a, struct st_call *c)
{
    PGresult *r = NULL;
    int rc = store__pg_row(s, sql, a, &r, "read call");
    if (rc)
        return rc;
    read_call(r, 0, c);
    PQclear(r);
    return ERR_OK;
}

static void opt_int(struct pgargs *a, int64_t v, int64_t none)
{
    if (v == none)
        store__pg_null(a);
    else
        store__pg_i64(a, v);
}

static void bind_call_insert(struct pgargs *a, const struct st_call *c)
{
    store__pg_text(a, c->ext_id);
    store__pg_i64(a, c->account_id);
    store__pg_text(a, c->provider);
    store__pg_text(a, c->provider_call_id);
    store__pg_id(a, c->number_id);
    store__pg_id(a, c->pool_id);
    store__pg_text(a, c->to);
    store__pg_text(a, c->from);
    store__pg_i64(a, c->started_at);
    store__pg_text(a, c->status);
    store__pg_i64(a, c->duration_s);
    store__pg_opt(a, c->forwarded_to);
    store__pg_i64(a, c->recorded ? 1 : 0);
    store__pg_text(a, c->method);
    store__pg_f64(a, c->confidence);
    store__pg_id(a, c->session_id);
    store__pg_id(a, c->runner_up_session_id);
    if (c->runner_up_session_id)
        store__pg_f64(a, c->runner_up_confidence);
    else
        store__pg_null(a);
    store__pg_id(a, c->first_session_id);
    store__pg_opt(a, c->channel);
    store__pg_opt(a, c->source);
    store__pg_opt(a, c->medium);
    store__pg_opt(a, c->campaign);
    store__pg_opt(a, c->keyword);
    store__pg_opt(a, c->reason);
    store__pg_opt(a, c->error);
    store__pg_opt(a, c->call_status);
    store__pg_i64(a, c->updated_at);
    if (c->first_caller == 0)
        store__pg_null(a);
    else
        store__pg_i64(a, c->first_caller == 1);
    store__pg_opt(a, c->location);
}

int store_pg__call_insert(struct store *s, struct st_call *c)
{
    if (!c->ext_id[0]) /* time-ordered: the ext_id index grows at its right edge */
        id_new_sorted("call_", c->started_at, 16, c->ext_id, sizeof(c->ext_id));
    struct pgargs a = {0};
    bind_call_insert(&a, c);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO calls(ext_id, account_id, provider, provider_call_id, number_id, pool_id,"
        " to_number, from_number, started_at, status, duration, forwarded_to, recorded, method,"
        " confidence, session_id, runner_up_session_id, runner_up_confidence, first_session_id,"
        " channel, source, medium, campaign, keyword, reason, error, call_status, updated_at,"
        " first_caller, location) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)"
        " RETURNING id",
        &a, &r, "insert call");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    c->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__call_update(struct store *s, const struct st_call *c)
{
    struct pgargs a = {0};
    store__pg_i64(&a, c->id);
    store__pg_text(&a, c->status);
    store__pg_i64(&a, c->duration_s);
    store__pg_opt(&a, c->call_status);
    opt_int(&a, c->call_duration_s, -1);
    store__pg_i64(&a, c->status_seq);
    store__pg_opt(&a, c->dial_status);
    opt_int(&a, c->dial_duration_s, -1);
    store__pg_i64(&a, c->dial_seq);
    opt_int(&a, c->ended_at, 0);
    store__pg_opt(&a, c->error);
    store__pg_i64(&a, c->updated_at);
    store__pg_i64(&a, c->account_id);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "UPDATE calls SET status = $2, duration = $3, call_status = $4, call_duration = $5,"
        " status_seq = $6, dial_status = $7, dial_duration = $8, dial_seq = $9, ended_at = $10,"
        " error = $11, updated_at = $12 WHERE account_id = $13 AND id = $1",
        &a, &n, "update call");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__call_recording_put(struct store *s, int64_t account_id, int64_t call_id,
                                 const char *url, int64_t duration_s)
{
    struct pgargs a = {0};
    store__pg_i64(&a, call_id);
    store__pg_i64(&a, account_id);
    store__pg_text(&a, url);
    opt_int(&a, duration_s, -1);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "UPDATE calls SET recording_url = $3, recording_duration = $4"
                               " WHERE id = $1 AND account_id = $2",
                               &a, &n, "store call recording");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__call_by_provider(struct store *s, const char *provider, const char *provider_call_id,
                               struct st_call *c)
{
    struct pgargs a = {0};
    store__pg_text(&a, provider);
    store__pg_text(&a, provider_call_id);
    return call_query(s,
                      "SELECT " CALL_COLS " FROM calls WHERE provider = $1"
                      " AND provider_call_id = $2",
                      &a, c);
}

int store_pg__call_get(struct store *s, int64_t account_id, const char *ext_id, struct st_call *c)
{
    struct pgargs a = {0};
    store__pg_text(&a, ext_id);
    store__pg_i64(&a, account_id);
    return call_query(s, "SELECT " CALL_COLS " FROM calls WHERE ext_id = $1 AND account_id = $2",
                      &a, c);
}

int store_pg__call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    return call_query(s, "SELECT " CALL_COLS " FROM calls WHERE account_id = $2 AND id = $1", &a,
                      c);
}

int store_pg__call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                        int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    store__pg_i64(&a, after_at);
    store__pg_i64(&a, after_id);
    store__pg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    PGresult *r = NULL;
    int rc =
        store__pg_exec(s,
                       "SELECT " CALL_COLS " FROM calls WHERE account_id = $1 AND started_at >= $2"
                       " AND started_at < $3 AND (started_at > $4 OR (started_at = $4 AND id > $5))"
                       " ORDER BY started_at, id LIMIT $6",
                       &a, &r, "list calls");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_call c;
        read_call(r, i, &c);
        if (fn(ctx, &c))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__call_caller(struct store *s, int64_t account_id, const char *from, int64_t before_id,
                          struct st_caller *out)
{
    memset(out, 0, sizeof(*out));
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, from);
    store__pg_i64(&a, before_id);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "SELECT (SELECT COUNT(*) FROM calls WHERE account_id = $1 AND from_number = $2"
        "  AND id < $3),"
        " f.session_id, f.confidence, l.session_id FROM (SELECT 1) one LEFT JOIN LATERAL ("
        "  SELECT session_id, confidence FROM calls WHERE account_id = $1 AND from_number = $2"
        "  AND id < $3 AND session_id IS NOT NULL ORDER BY started_at, id LIMIT 1) f ON true"
        " LEFT JOIN LATERAL ("
        "  SELECT session_id FROM calls WHERE account_id = $1 AND from_number = $2"
        "  AND id < $3 AND session_id IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1) l"
        " ON true",
        &a, &r, "read caller");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    out->prior_calls = store__pg_col_i64(r, 0, 0);
    out->first_session_id = store__pg_col_i64(r, 0, 1);
    out->first_confidence = store__pg_col_f64(r, 0, 2);
    out->last_session_id = store__pg_col_i64(r, 0, 3);
    PQclear(r);
    return ERR_OK;
}

int store_pg__call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                    int64_t before, bool *out)
{
    *out = false;
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, before);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT EXISTS (SELECT 1 FROM calls WHERE session_id = $1"
                           " AND account_id = $2 AND started_at < $3)",
                           &a, &r, "read session's calls");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *out = store__pg_col_bool(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* ---- conversions ---- */

int store_pg__conversion_add(struct store *s, struct st_conversion *cv)
{
    struct pgargs a = {0};
    store__pg_i64(&a, cv->call_id);
    store__pg_i64(&a, cv->account_id);
    store__pg_text(&a, cv->name);
    store__pg_f64(&a, cv->value);
    store__pg_text(&a, cv->currency[0] ? cv->currency : "USD");
    store__pg_i64(&a, cv->at);
    store__pg_opt(&a, cv->location);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO conversions(call_id, account_id, name, value, currency, at,"
                           " location) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                           &a, &r, "insert conversion");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    cv->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                                 struct st_conversion *cv)
{
    struct pgargs a = {0};
    store__pg_i64(&a, call_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT id, call_id, account_id, name, value, currency, at, location"
                           " FROM conversions WHERE account_id = $2 AND call_id = $1",
                           &a, &r, "read conversion");
    if (rc)
        return rc;
    cv->id = store__pg_col_i64(r, 0, 0);
    cv->call_id = store__pg_col_i64(r, 0, 1);
    cv->account_id = store__pg_col_i64(r, 0, 2);
    store__pg_col_text(r, 0, 3, cv->name, sizeof(cv->name));
    cv->value = store__pg_col_f64(r, 0, 4);
    store__pg_col_text(r, 0, 5, cv->currency, sizeof(cv->currency));
    cv->at = store__pg_col_i64(r, 0, 6);
    store__pg_col_text(r, 0, 7, cv->location, sizeof(cv->location));
    PQclear(r);
    return ERR_OK;
}

/* ---- call outcomes ---- */

/* The defaults of a call that has no outcome row (store.h). */
static void outcome_defaults(int64_t call_id, struct st_call_outcome *o)
{
    *o = (struct st_call_outcome){.call_id = call_id, .revenue = -1, .billable = -1};
    snprintf(o->tags, sizeof(o->tags), "[]");
    snprintf(o->lead_status, sizeof(o->lead_status), "new");
}

int store_pg__call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                               struct st_call_outcome *o)
{
    outcome_defaults(call_id, o);
    struct pgargs a = {0};
    store__pg_i64(&a, call_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT account_id, tags, notes, lead_status, revenue, billable,"
                           " billable_by, billable_user, billable_at, updated_at"
                           " FROM call_outcomes WHERE account_id = $2 AND call_id = $1",
                           &a, &r, "read call outcome");
    if (rc)
        return rc;
    o->account_id = store__pg_col_i64(r, 0, 0);
    store__pg_col_text(r, 0, 1, o->tags, sizeof(o->tags));
    store__pg_col_text(r, 0, 2, o->notes, sizeof(o->notes));
    store__pg_col_text(r, 0, 3, o->lead_status, sizeof(o->lead_status));
    o->revenue = store__pg_col_opt(r, 0, 4, -1);
    o->billable = (int)store__pg_col_opt(r, 0, 5, -1);
    store__pg_col_text(r, 0, 6, o->billable_by, sizeof(o->billable_by));
    store__pg_col_text(r, 0, 7, o->billable_user, sizeof(o->billable_user));
    o->billable_at = store__pg_col_i64(r, 0, 8);
    o->updated_at = store__pg_col_i64(r, 0, 9);
    PQclear(r);
    return ERR_OK;
}

int store_pg__call_outcome_put(struct store *s, const struct st_call_outcome *o)
{
    struct pgargs a = {0};
    store__pg_i64(&a, o->call_id);
    store__pg_i64(&a, o->account_id);
    store__pg_text(&a, o->tags[0] ? o->tags : "[]");
    store__pg_text(&a, o->notes);
    store__pg_text(&a, o->lead_status);
    if (o->revenue == -1)
        store__pg_null(&a);
    else
        store__pg_i64(&a, o->revenue);
    if (o->billable < 0)
        store__pg_null(&a);
    else
        store__pg_i64(&a, o->billable != 0);
    store__pg_text(&a, o->billable_by);
    store__pg_text(&a, o->billable_user);
    store__pg_i64(&a, o->billable_at);
    store__pg_i64(&a, o->updated_at);
    /* The row comes from the call's own row, so another account's call writes nothing. */
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO call_outcomes(call_id, account_id, tags, notes, lead_status, revenue,"
        " billable, billable_by, billable_user, billable_at, updated_at)"
        " SELECT id, account_id, $3::text, $4::text, $5::text, $6::bigint, $7::integer,"
        " $8::text, $9::text, $10::bigint, $11::bigint FROM calls"
        " WHERE id = $1::bigint AND account_id = $2::bigint"
        " ON CONFLICT (call_id) DO UPDATE SET tags = excluded.tags, notes = excluded.notes,"
        " lead_status = excluded.lead_status, revenue = excluded.revenue,"
        " billable = excluded.billable, billable_by = excluded.billable_by,"
        " billable_user = excluded.billable_user, billable_at = excluded.billable_at,"
        " updated_at = excluded.updated_at",
        &a, &n, "write call outcome");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__pool_by_fallback(struct store *s, const char *e164, struct st_pool *p)
{
    struct pgargs a = {0};
    store__pg_text(&a, e164);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT id, account_id FROM pools WHERE fallback_number = $1"
                           " ORDER BY id LIMIT 1",
                           &a, &r, "look up fallback");
    if (rc)
        return rc;
    int64_t id = store__pg_col_i64(r, 0, 0);
    int64_t account_id = store__pg_col_i64(r, 0, 1);
    PQclear(r);
    return store_pg__pool_by_id(s, account_id, id, p);
}

/* ---- provider credentials ----
 * The secret column holds what store_secrets.c's dispatchers hand down: the sealed value
 * (store/secrets.h), never the clear secret. */

#define CRED_COLS "account_id, provider, account_sid, secret, updated_at"

static void read_cred(const PGresult *r, int i, struct st_provider_cred *c)
{
    c->account_id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, c->provider, sizeof(c->provider));
    store__pg_col_text(r, i, 2, c->account_sid, sizeof(c->account_sid));
    store__pg_col_text(r, i, 3, c->secret, sizeof(c->secret));
    c->updated_at = store__pg_col_i64(r, i, 4);
}

static bool fits(const char *v, size_t cap)
{
    return !v || strlen(v) < cap;
}

int store_pg__provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                                const char *account_sid, const char *secret, int64_t now)
{
    if (!provider || !*provider || (!account_sid && !secret) ||
        !fits(provider, STORE_PROVIDER_MAX) || !fits(account_sid, STORE_PROVIDER_SID_MAX) ||
        !fits(secret, STORE_SECRET_SEALED_MAX))
        return ERR_INVALID;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, provider);
    store__pg_opt(&a, account_sid);
    store__pg_opt(&a, secret);
    store__pg_i64(&a, now);
    int rc = store__pg_exec(
        s,
        "INSERT INTO account_providers(" CRED_COLS ") VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (account_id, provider) DO UPDATE SET"
        " account_sid = COALESCE(excluded.account_sid, account_providers.account_sid),"
        " secret = COALESCE(excluded.secret, account_providers.secret),"
        " updated_at = excluded.updated_at",
        &a, NULL, "set provider credentials");
    return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* the only constraint left: the account */
}

int store_pg__provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                                struct st_provider_cred *c)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, provider);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT " CRED_COLS " FROM account_providers"
                           " WHERE account_id = $1 AND provider = $2",
                           &a, &r, "read provider credentials");
    if (rc)
        return rc;
    read_cred(r, 0, c);
    PQclear(r);
    return ERR_OK;
}

static int walk_creds(struct store *s, const char *sql, const struct pgargs *a,
                      store_provider_cred_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, sql, a, &r, "list provider credentials");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_provider_cred c;
        read_cred(r, i, &c);
        if (fn(ctx, &c))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                                 store_provider_cred_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_text(&a, provider);
    if (!account_sid)
        return walk_creds(s,
                          "SELECT " CRED_COLS " FROM account_providers WHERE provider = $1"
                          " ORDER BY account_id",
                          &a, fn, ctx);
    if (!*account_sid) /* an empty id is stored as NULL (store__pg_opt) */
        return walk_creds(s,
                          "SELECT " CRED_COLS " FROM account_providers WHERE provider = $1"
                          " AND account_sid IS NULL ORDER BY account_id",
                          &a, fn, ctx);
    store__pg_text(&a, account_sid);
    return walk_creds(s,
                      "SELECT " CRED_COLS " FROM account_providers WHERE provider = $1"
                      " AND account_sid = $2 ORDER BY account_id",
                      &a, fn, ctx);
}

int store_pg__provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                                 void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    return walk_creds(s,
                      "SELECT " CRED_COLS " FROM account_providers WHERE account_id = $1"
                      " ORDER BY provider",
                      &a, fn, ctx);
}

/* ---- reports ---- */

/* The attribution, conversion and outcome come from call_facts (sql/0031): the call's source
 * snapshot, the session's values filling calls stored without one, its conversion and outcome,
 * kept by triggers, so sessions, conversions and call_outcomes are not read. Without
 * STORE_REPORT_NEED_ROUTING the routing record, its location and the recorded payout are not
 * read. */
#define RC_ATTR " f.channel, f.source, f.medium, f.campaign, f.keyword, f.landing_page, f.device,"
#define RC_MIDDLE                                                                                  \
    " COALESCE(f.converted, FALSE), COALESCE(f.conv_value, 0), COALESCE(f.lead_status, 'new'),"    \
    " c.ext_id, c.from_number, c.to_number, p.name, f.content, c.provider,"                        \
    " COALESCE(f.revenue, -1), COALESCE(c.first_caller = 1, NOT EXISTS (SELECT 1 FROM calls e"     \
    " WHERE e.account_id = c.account_id AND e.from_number = c.from_number AND e.id < c.id)),"
#define RC_ROUTE_COLS                                                                              \
    " COALESCE(ld.name, ''), COALESCE(p.ext_id, ''), COALESCE(cr.target, ''),"                     \
    " COALESCE(cr.price, 0), COALESCE(cr.billable, -1), COALESCE(f.outcome_billable, -1),"         \
    " COALESCE(cp.payout, -1), COALESCE(cp.publisher, ''), COALESCE(cp.publisher_name, '')"
#define RC_NO_ROUTE_COLS                                                                           \
    " '', COALESCE(p.ext_id, ''), '', 0, -1, COALESCE(f.outcome_billable, -1), -1, '', ''"
#define RC_FACTS_JOIN " LEFT JOIN call_facts f ON f.account_id = c.account_id AND f.call_id = c.id"
#define RC_COMMON_JOINS " LEFT JOIN pools p ON p.id = c.pool_id"
#define RC_ROUTE_JOINS                                                                             \
    " LEFT JOIN call_payouts cp ON cp.call_id = c.id"                                              \
    " LEFT JOIN call_routes cr ON cr.provider = c.provider AND cr.call_sid = c.provider_call_id"   \
    " AND cr.account_id = c.account_id"                                                            \
    " LEFT JOIN route_docs ld ON ld.account_id = c.account_id AND ld.kind = 'location'"            \
    " AND ld.ext_id = COALESCE(NULLIF(cr.location, ''), c.location, f.conv_location)"
#define RC_WHERE                                                                                   \
    " WHERE c.account_id = $1 AND c.started_at >= $2 AND c.started_at < $3"                        \
    " ORDER BY c.started_at, c.id"

/* [0]: without routing, [1]: everything. */
static const char *const report_call_sql[2] = {
    "SELECT c.id, c.status, c.duration, c.started_at," RC_ATTR RC_MIDDLE RC_NO_ROUTE_COLS
    " FROM calls c" RC_FACTS_JOIN RC_COMMON_JOINS RC_WHERE,
    "SELECT c.id, c.status, c.duration, c.started_at," RC_ATTR RC_MIDDLE RC_ROUTE_COLS
    " FROM calls c" RC_FACTS_JOIN RC_COMMON_JOINS RC_ROUTE_JOINS RC_WHERE,
};

/* click_ids is written by the server as a JSON object; od_jsonb (sql_pg/0001) reads a bad row
 * as NULL instead of failing the whole export. */
#define REPORT_CONVERSION_SQL                                                                      \
    "SELECT cv.id, c.ext_id, c.from_number, c.started_at, cv.name, cv.value, cv.currency,"         \
    " cv.at, od_jsonb(s.click_ids) ->> 'gclid', od_jsonb(s.click_ids) ->> 'gbraid',"               \
    " od_jsonb(s.click_ids) ->> 'wbraid', c.method, c.confidence, COALESCE(s.created_at, 0),"      \
    " od_jsonb(s.click_ids) ->> 'msclkid'"                                                         \
    " FROM conversions cv JOIN calls c ON c.id = cv.call_id"                                       \
    " LEFT JOIN sessions s ON s.id = c.session_id"                                                 \
    " WHERE cv.account_id = $1 AND cv.at >= $2 AND cv.at < $3 ORDER BY cv.at, cv.id"

static void read_report_call(const PGresult *r, int i, struct st_report_call *c)
{
    c->call_id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, c->status, sizeof(c->status));
    c->duration_s = store__pg_col_i64(r, i, 2);
    c->started_at = store__pg_col_i64(r, i, 3);
    store__pg_col_text(r, i, 4, c->channel, sizeof(c->channel));
    store__pg_col_text(r, i, 5, c->source, sizeof(c->source));
    store__pg_col_text(r, i, 6, c->medium, sizeof(c->medium));
    store__pg_col_text(r, i, 7, c->campaign, sizeof(c->campaign));
    store__pg_col_text(r, i, 8, c->keyword, sizeof(c->keyword));
    store__pg_col_text(r, i, 9, c->landing_page, sizeof(c->landing_page));
    store__pg_col_text(r, i, 10, c->device, sizeof(c->device));
    c->converted = store__pg_col_bool(r, i, 11);
    c->value = store__pg_col_f64(r, i, 12);
    store__pg_col_text(r, i, 13, c->lead_status, sizeof(c->lead_status));
    store__pg_col_text(r, i, 14, c->call_ext, sizeof(c->call_ext));
    store__pg_col_text(r, i, 15, c->from, sizeof(c->from));
    store__pg_col_text(r, i, 16, c->to, sizeof(c->to));
    store__pg_col_text(r, i, 17, c->pool, sizeof(c->pool));
    store__pg_col_text(r, i, 18, c->content, sizeof(c->content));
    store__pg_col_text(r, i, 19, c->provider, sizeof(c->provider));
    c->revenue = store__pg_col_i64(r, i, 20);
    c->first_time = store__pg_col_bool(r, i, 21);
    store__pg_col_text(r, i, 22, c->location, sizeof(c->location));
    store__pg_col_text(r, i, 23, c->pool_ext, sizeof(c->pool_ext));
    store__pg_col_text(r, i, 24, c->target, sizeof(c->target));
    c->price = store__pg_col_i64(r, i, 25);
    c->rule_billable = (int)store__pg_col_i64(r, i, 26);
    c->person_billable = (int)store__pg_col_i64(r, i, 27);
    c->payout = store__pg_col_i64(r, i, 28);
    store__pg_col_text(r, i, 29, c->publisher, sizeof(c->publisher));
    store__pg_col_text(r, i, 30, c->publisher_name, sizeof(c->publisher_name));
}

static void read_report_conversion(const PGresult *r, int i, struct st_report_conversion *c)
{
    c->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, c->call_ext, sizeof(c->call_ext));
    store__pg_col_text(r, i, 2, c->from, sizeof(c->from));
    c->call_started_at = store__pg_col_i64(r, i, 3);
    store__pg_col_text(r, i, 4, c->name, sizeof(c->name));
    c->value = store__pg_col_f64(r, i, 5);
    store__pg_col_text(r, i, 6, c->currency, sizeof(c->currency));
    c->at = store__pg_col_i64(r, i, 7);
    store__pg_col_text(r, i, 8, c->gclid, sizeof(c->gclid));
    store__pg_col_text(r, i, 9, c->gbraid, sizeof(c->gbraid));
    store__pg_col_text(r, i, 10, c->wbraid, sizeof(c->wbraid));
    store__pg_col_text(r, i, 11, c->method, sizeof(c->method));
    c->confidence = store__pg_col_f64(r, i, 12);
    c->click_at = store__pg_col_i64(r, i, 13);
    store__pg_col_text(r, i, 14, c->msclkid, sizeof(c->msclkid));
}

/* Runs a report query over (account, since, until). out: *res. */
static int report_rows(struct store *s, const char *sql, int64_t account_id, int64_t since,
                       int64_t until, PGresult **res, const char *what)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    return store__pg_exec(s, sql, &a, res, what);
}

int store_pg__report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                           unsigned need, store_report_call_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc = report_rows(s, report_call_sql[(need & STORE_REPORT_NEED_ROUTING) != 0], account_id,
                         since, until, &r, "report calls");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_report_call c;
        read_report_call(r, i, &c);
        if (fn(ctx, &c))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__report_conversions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                 store_report_conversion_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc =
        report_rows(s, REPORT_CONVERSION_SQL, account_id, since, until, &r, "report conversions");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_report_conversion c;
        read_report_conversion(r, i, &c);
        if (fn(ctx, &c))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- export (the simulator's trace; the SQL of store_sqlite_export.c) ---- */

/* $1 = since (ms), $2 = account id (0 = all), $3 = pool id (0 = all: else the sessions that
 * held a lease in it and the calls to its numbers or its fallback). Activity rows are distinct per
 * session and time, and never at the session's creation (that is the visit). */
static const char export_sql[] =
    "WITH ss AS (SELECT id, ext_id, created_at, last_active_at, device, region FROM sessions"
    "  WHERE created_at >= $1 AND ($2::bigint = 0 OR account_id = $2) AND ($3::bigint = 0 OR"
    "  EXISTS (SELECT 1 FROM leases l WHERE l.session_id = sessions.id AND l.pool_id = $3))),"
    " act AS (SELECT DISTINCT sid, at FROM ("
    "  SELECT l.session_id AS sid, l.leased_at AS at FROM leases l JOIN ss ON ss.id = l.session_id"
    "  UNION ALL SELECT l.session_id, l.last_active_at FROM leases l"
    "   JOIN ss ON ss.id = l.session_id"
    "  UNION ALL SELECT id, last_active_at FROM ss) a)"
    " SELECT at, kind, sid, device, region, caller FROM ("
    "  SELECT created_at AS at, 0 AS kind, ext_id AS sid, device, region, NULL::text AS caller,"
    "   id AS k FROM ss"
    "  UNION ALL SELECT act.at, 1, ss.ext_id, NULL, NULL, NULL, ss.id FROM act"
    "   JOIN ss ON ss.id = act.sid WHERE act.at > ss.created_at"
    "  UNION ALL SELECT e.at, 2, ss.ext_id, NULL, NULL, NULL, ss.id FROM events e"
    "   JOIN ss ON ss.id = e.session_id WHERE e.type = 'tel_click' AND e.at >= ss.created_at"
    "  UNION ALL SELECT c.started_at, 3,"
    "   CASE WHEN c.method IN ('exact', 'shared', 'late') THEN ss.ext_id END, NULL, NULL,"
    "   c.from_number, c.id FROM calls c LEFT JOIN ss ON ss.id = c.session_id"
    "   WHERE c.started_at >= $1 AND ($2::bigint = 0 OR c.account_id = $2)"
    "   AND (c.pool_id IS NOT NULL OR c.number_id IN"
    "    (SELECT id FROM numbers WHERE pool_id IS NOT NULL))"
    "   AND ($3::bigint = 0 OR c.pool_id = $3 OR c.number_id IN (SELECT id FROM numbers"
    "    WHERE pool_id = $3))"
    " ) t ORDER BY at, kind, k";

int store_pg__export_trace(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                           store_trace_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, since);
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, pool_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s, export_sql, &a, &r, "export trace");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_trace_row row;
        memset(&row, 0, sizeof(row));
        row.at = store__pg_col_i64(r, i, 0);
        row.kind = (enum st_trace_kind)store__pg_col_i64(r, i, 1);
        store__pg_col_text(r, i, 2, row.session, sizeof(row.session));
        store__pg_col_text(r, i, 3, row.device, sizeof(row.device));
        store__pg_col_text(r, i, 4, row.region, sizeof(row.region));
        store__pg_col_text(r, i, 5, row.from, sizeof(row.from));
        if (fn(ctx, &row))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- ad spend (sql_pg/0018) ---- */

int store_pg__spend_replace(struct store *s, int64_t account_id, const char *platform,
                            const char *currency, const struct st_spend_row *rows, size_t n,
                            int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, currency);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT 1 FROM ad_spend WHERE account_id = $1::bigint"
                            " AND currency <> $2::text LIMIT 1",
                            &a, &r, "read spend currency");
    if (rc)
        return rc;
    bool other = PQntuples(r) > 0;
    PQclear(r);
    if (other)
        return ERR_CONFLICT;
    /* every day of the file goes first, then its rows: rows need not be in day order */
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        if (i > 0 && strcmp(rows[i].day, rows[i - 1].day) == 0)
            continue;
        struct pgargs d = {0};
        store__pg_i64(&d, account_id);
        store__pg_text(&d, platform);
        store__pg_text(&d, rows[i].day);
        int64_t gone = 0;
        rc = store__pg_changes(s,
                               "DELETE FROM ad_spend WHERE account_id = $1::bigint"
                               " AND platform = $2::text AND day = $3::text",
                               &d, &gone, "replace spend");
    }
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        struct pgargs w = {0};
        store__pg_i64(&w, account_id);
        store__pg_text(&w, platform);
        store__pg_text(&w, rows[i].day);
        store__pg_text(&w, rows[i].campaign);
        store__pg_text(&w, rows[i].keyword);
        store__pg_i64(&w, rows[i].cost);
        store__pg_text(&w, currency);
        store__pg_i64(&w, now);
        int64_t added = 0;
        rc = store__pg_changes(
            s,
            "INSERT INTO ad_spend(account_id, platform, day, campaign, keyword, cost, currency,"
            " imported_at) VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text,"
            " $6::bigint, $7::text, $8::bigint)"
            " ON CONFLICT (account_id, day, platform, campaign, keyword)"
            " DO UPDATE SET cost = ad_spend.cost + excluded.cost",
            &w, &added, "import spend");
    }
    return rc;
}

int store_pg__spend_list(struct store *s, int64_t account_id, const char *since_day,
                         const char *until_day, store_spend_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, since_day);
    store__pg_text(&a, until_day);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT platform, day, campaign, keyword, cost, currency FROM ad_spend"
                            " WHERE account_id = $1::bigint AND day >= $2::text"
                            " AND day < $3::text ORDER BY day, platform, campaign, keyword",
                            &a, &r, "list spend");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_spend_row w;
        store__pg_col_text(r, i, 0, w.platform, sizeof(w.platform));
        store__pg_col_text(r, i, 1, w.day, sizeof(w.day));
        store__pg_col_text(r, i, 2, w.campaign, sizeof(w.campaign));
        store__pg_col_text(r, i, 3, w.keyword, sizeof(w.keyword));
        w.cost = store__pg_col_i64(r, i, 4);
        store__pg_col_text(r, i, 5, w.currency, sizeof(w.currency));
        if (fn(ctx, &w))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- funnel and cohorts ---- */

/* How far each session got (store.h struct st_report_session), from the facts sql/0024's
 * triggers keep on the session: one covering index (sessions_funnel, in its order), no probe per
 * session. */
#define REPORT_SESSION_SQL                                                                         \
    "SELECT s.created_at, s.channel, s.source, s.campaign, (s.funnel & 1) <> 0,"                   \
    " (s.funnel & 2) <> 0, (s.funnel & 4) <> 0, s.call_best > 0 AND s.call_best >= $4::bigint,"    \
    " (s.funnel & 8) <> 0"                                                                         \
    " FROM sessions s WHERE s.account_id = $1::bigint AND s.created_at >= $2 AND s.created_at < "  \
    "$3"                                                                                           \
    " ORDER BY s.created_at"

/* The sessions of the visitors whose first session is in the range (sessions.first_at, kept by
 * sql/0024's triggers; one range of sessions_cohort): each visitor's first session, and each
 * session with a credited call once per call, in first_at order. */
#define REPORT_COHORT_SQL                                                                          \
    "SELECT s.visitor_id, s.first_at, COALESCE(c.started_at, 0), COALESCE(o.revenue, -1),"         \
    " s.created_at = s.first_at FROM sessions s"                                                   \
    " LEFT JOIN calls c ON (s.funnel & 4) <> 0 AND c.session_id = s.id"                            \
    " AND c.account_id = s.account_id"                                                             \
    " LEFT JOIN call_outcomes o ON o.call_id = c.id AND o.account_id = s.account_id"               \
    " WHERE s.account_id = $1::bigint AND s.first_at >= $2 AND s.first_at < $3"                    \
    " AND (s.created_at = s.first_at OR (s.funnel & 4) <> 0)"                                      \
    " ORDER BY s.first_at, s.created_at, s.visitor_id"

/* The calls credited to the sessions of a range (include=call_ids of the funnel, [0], and the
 * cohorts, [1]): the same sessions as REPORT_SESSION_SQL / REPORT_COHORT_SQL, only those with bit 4
 * (a credited call), joined to their calls. */
#define REPORT_SESSION_CALLS_SQL(range)                                                            \
    "SELECT c.ext_id, c.started_at,"                                                               \
    " c.status = 'completed' AND c.duration > 0 AND c.duration >= $4::bigint,"                     \
    " s.channel, s.source, s.campaign, s.first_at FROM sessions s"                                 \
    " JOIN calls c ON c.session_id = s.id AND c.account_id = s.account_id"                         \
    " WHERE s.account_id = $1::bigint AND s." range " >= $2 AND s." range " < $3"                  \
    " AND (s.funnel & 4) <> 0"
static const char *const report_session_calls_sql[] = {REPORT_SESSION_CALLS_SQL("created_at"),
                                                       REPORT_SESSION_CALLS_SQL("first_at")};

int store_pg__report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                              int64_t min_duration_s, store_report_session_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    store__pg_i64(&a, min_duration_s);
    PGresult *r = NULL;
    int rc = store__pg_exec(s, REPORT_SESSION_SQL, &a, &r, "report sessions");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_report_session w = {.created_at = store__pg_col_i64(r, i, 0)};
        store__pg_col_text(r, i, 1, w.channel, sizeof(w.channel));
        store__pg_col_text(r, i, 2, w.source, sizeof(w.source));
        store__pg_col_text(r, i, 3, w.campaign, sizeof(w.campaign));
        w.shown = store__pg_col_bool(r, i, 4);
        w.engaged = store__pg_col_bool(r, i, 5);
        w.called = store__pg_col_bool(r, i, 6);
        w.qualified = store__pg_col_bool(r, i, 7);
        w.converted = store__pg_col_bool(r, i, 8);
        if (fn(ctx, &w))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            store_report_cohort_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc = report_rows(s, REPORT_COHORT_SQL, account_id, since, until, &r, "report cohort");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_report_cohort w;
        store__pg_col_text(r, i, 0, w.visitor_id, sizeof(w.visitor_id));
        w.first_at = store__pg_col_i64(r, i, 1);
        w.call_started_at = store__pg_col_i64(r, i, 2);
        w.revenue = store__pg_col_i64(r, i, 3);
        w.first = store__pg_col_bool(r, i, 4);
        if (fn(ctx, &w))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__report_session_calls(struct store *s, int64_t account_id, int64_t since,
                                   int64_t until, bool by_first, int64_t min_duration_s,
                                   store_report_session_call_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    store__pg_i64(&a, min_duration_s);
    PGresult *r = NULL;
    int rc = store__pg_exec(s, report_session_calls_sql[by_first], &a, &r, "report session calls");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_report_session_call w;
        store__pg_col_text(r, i, 0, w.call_ext, sizeof(w.call_ext));
        w.started_at = store__pg_col_i64(r, i, 1);
        w.qualified = store__pg_col_bool(r, i, 2);
        store__pg_col_text(r, i, 3, w.channel, sizeof(w.channel));
        store__pg_col_text(r, i, 4, w.source, sizeof(w.source));
        store__pg_col_text(r, i, 5, w.campaign, sizeof(w.campaign));
        w.first_at = store__pg_col_i64(r, i, 6);
        if (fn(ctx, &w))
            break;
    }
    PQclear(r);
    return ERR_OK;
}
