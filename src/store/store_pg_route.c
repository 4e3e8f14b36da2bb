/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL: routing documents (locations, plans), counters and calls' routing records
 * (sql_pg/0019; store.h "routing"). The counter is one INSERT … ON CONFLICT DO UPDATE … RETURNING:
 * the row lock serializes concurrent increments from every node. */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_pg_int.h"

#define DOC_COLS "id, account_id, kind, ext_id, name, attach, body, created_at, updated_at"

static void read_doc(const PGresult *r, int i, struct st_route_doc *d)
{
    d->id = store__pg_col_i64(r, i, 0);
    d->account_id = store__pg_col_i64(r, i, 1);
    store__pg_col_text(r, i, 2, d->kind, sizeof(d->kind));
    store__pg_col_text(r, i, 3, d->ext_id, sizeof(d->ext_id));
    store__pg_col_text(r, i, 4, d->name, sizeof(d->name));
    store__pg_col_text(r, i, 5, d->attach, sizeof(d->attach));
    store__pg_col_text(r, i, 6, d->body, sizeof(d->body));
    d->created_at = store__pg_col_i64(r, i, 7);
    d->updated_at = store__pg_col_i64(r, i, 8);
}

static int doc_insert(struct store *s, struct st_route_doc *d)
{
    store__pg_new_ext_id(strcmp(d->kind, "plan") == 0 ? "plan_" : "loc_", d->ext_id);
    struct pgargs a = {0};
    store__pg_i64(&a, d->account_id);
    store__pg_text(&a, d->kind);
    store__pg_text(&a, d->ext_id);
    store__pg_text(&a, d->name);
    store__pg_opt(&a, d->attach);
    store__pg_text(&a, d->body);
    store__pg_i64(&a, d->updated_at);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO route_docs(account_id, kind, ext_id, name, attach, body,"
                           " created_at, updated_at) VALUES ($1::bigint, $2::text, $3::text,"
                           " $4::text, $5::text, $6::text, $7::bigint, $7::bigint) RETURNING id",
                           &a, &r, "insert route doc");
    if (rc)
        return rc;
    d->id = store__pg_col_i64(r, 0, 0);
    d->created_at = d->updated_at;
    PQclear(r);
    return ERR_OK;
}

int store_pg__route_doc_put(struct store *s, struct st_route_doc *d)
{
    if (d->id == 0)
        return doc_insert(s, d);
    struct pgargs a = {0};
    store__pg_i64(&a, d->account_id);
    store__pg_text(&a, d->kind);
    store__pg_text(&a, d->ext_id);
    store__pg_text(&a, d->name);
    store__pg_opt(&a, d->attach);
    store__pg_text(&a, d->body);
    store__pg_i64(&a, d->updated_at);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "UPDATE route_docs SET name = $4::text, attach = $5::text,"
                               " body = $6::text, updated_at = $7::bigint WHERE"
                               " account_id = $1::bigint AND kind = $2::text AND ext_id = $3::text",
                               &a, &n, "update route doc");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

static int doc_row(struct store *s, const char *sql, const struct pgargs *a, struct st_route_doc *d,
                   const char *what)
{
    PGresult *r = NULL;
    int rc = store__pg_row(s, sql, a, &r, what);
    if (rc)
        return rc;
    read_doc(r, 0, d);
    PQclear(r);
    return ERR_OK;
}

int store_pg__route_doc_get(struct store *s, int64_t account_id, const char *kind,
                            const char *ext_id, struct st_route_doc *d)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, kind);
    store__pg_text(&a, ext_id);
    return doc_row(s,
                   "SELECT " DOC_COLS " FROM route_docs WHERE account_id = $1::bigint"
                   " AND kind = $2::text AND ext_id = $3::text",
                   &a, d, "read route doc");
}

int store_pg__route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                                  struct st_route_doc *d)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, attach);
    return doc_row(s,
                   "SELECT " DOC_COLS " FROM route_docs WHERE account_id = $1::bigint"
                   " AND attach = $2::text AND kind = 'plan'",
                   &a, d, "read attached plan");
}

int store_pg__route_doc_list(struct store *s, int64_t account_id, const char *kind,
                             store_route_doc_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, kind);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " DOC_COLS " FROM route_docs WHERE account_id = $1::bigint"
                            " AND kind = $2::text ORDER BY id",
                            &a, &r, "list route docs");
    if (rc)
        return rc;
    struct st_route_doc *d = xmalloc(sizeof(*d));
    for (int i = 0; i < PQntuples(r); i++) {
        read_doc(r, i, d);
        if (fn(ctx, d))
            break;
    }
    free(d);
    PQclear(r);
    return ERR_OK;
}

int store_pg__route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                               const char *ext_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, kind);
    store__pg_text(&a, ext_id);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "DELETE FROM route_docs WHERE account_id = $1::bigint"
                               " AND kind = $2::text AND ext_id = $3::text",
                               &a, &n, "delete route doc");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__route_counter_next(struct store *s, int64_t account_id, const char *key, int64_t *n)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, key);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO route_counters(account_id, key, n) VALUES ($1::bigint,"
                           " $2::text, 1) ON CONFLICT (account_id, key) DO UPDATE SET"
                           " n = route_counters.n + 1 RETURNING n",
                           &a, &r, "count route");
    if (rc)
        return rc;
    *n = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

#define ROUTE_COLS                                                                                 \
    "account_id, provider, call_sid, plan, location, target, target_number, digits, state, log,"   \
    " verstat, outcome, recording_url, recording_duration, payout, dialing, started_at,"           \
    " updated_at, auction_id, bid_id, bid_price, price, billable"

static void read_route(const PGresult *res, int i, struct st_call_route *r)
{
    r->account_id = store__pg_col_i64(res, i, 0);
    store__pg_col_text(res, i, 1, r->provider, sizeof(r->provider));
    store__pg_col_text(res, i, 2, r->call_sid, sizeof(r->call_sid));
    store__pg_col_text(res, i, 3, r->plan, sizeof(r->plan));
    store__pg_col_text(res, i, 4, r->location, sizeof(r->location));
    store__pg_col_text(res, i, 5, r->target, sizeof(r->target));
    store__pg_col_text(res, i, 6, r->target_number, sizeof(r->target_number));
    store__pg_col_text(res, i, 7, r->digits, sizeof(r->digits));
    store__pg_col_text(res, i, 8, r->state, sizeof(r->state));
    store__pg_col_text(res, i, 9, r->log, sizeof(r->log));
    store__pg_col_text(res, i, 10, r->verstat, sizeof(r->verstat));
    store__pg_col_text(res, i, 11, r->outcome, sizeof(r->outcome));
    store__pg_col_text(res, i, 12, r->recording_url, sizeof(r->recording_url));
    r->recording_duration_s = store__pg_col_i64(res, i, 13);
    r->payout = store__pg_col_i64(res, i, 14);
    r->dialing = store__pg_col_i64(res, i, 15) != 0;
    r->started_at = store__pg_col_i64(res, i, 16);
    r->updated_at = store__pg_col_i64(res, i, 17);
    store__pg_col_text(res, i, 18, r->auction_id, sizeof(r->auction_id));
    store__pg_col_text(res, i, 19, r->bid_id, sizeof(r->bid_id));
    r->bid_price = store__pg_col_i64(res, i, 20);
    r->price = store__pg_col_i64(res, i, 21);
    r->billable = PQgetisnull(res, i, 22) ? -1 : store__pg_col_i64(res, i, 22) != 0;
}

int store_pg__call_route_put(struct store *s, const struct st_call_route *r)
{
    struct pgargs a = {0};
    store__pg_i64(&a, r->account_id);
    const char *text[] = {r->provider, r->call_sid,      r->plan,    r->location,
                          r->target,   r->target_number, r->digits,  r->state,
                          r->log,      r->verstat,       r->outcome, r->recording_url};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        store__pg_text(&a, text[i]);
    store__pg_i64(&a, r->recording_duration_s);
    store__pg_i64(&a, r->payout);
    store__pg_i64(&a, r->dialing);
    store__pg_i64(&a, r->started_at);
    store__pg_i64(&a, r->updated_at);
    store__pg_text(&a, r->auction_id);
    store__pg_text(&a, r->bid_id);
    store__pg_i64(&a, r->bid_price);
    store__pg_i64(&a, r->price);
    if (r->billable < 0)
        store__pg_null(&a);
    else
        store__pg_i64(&a, r->billable != 0);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO call_routes(" ROUTE_COLS ") VALUES ($1::bigint, $2::text, $3::text,"
        " $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text,"
        " $12::text, $13::text, $14::bigint, $15::bigint, $16::integer, $17::bigint, $18::bigint,"
        " $19::text, $20::text, $21::bigint, $22::bigint, $23::integer)"
        " ON CONFLICT (provider, call_sid) DO UPDATE SET plan = excluded.plan,"
        " location = excluded.location, target = excluded.target,"
        " target_number = excluded.target_number, digits = excluded.digits,"
        " state = excluded.state, log = excluded.log, verstat = excluded.verstat,"
        " outcome = excluded.outcome, recording_url = excluded.recording_url,"
        " recording_duration = excluded.recording_duration, payout = excluded.payout,"
        " dialing = excluded.dialing, updated_at = excluded.updated_at,"
        " auction_id = excluded.auction_id, bid_id = excluded.bid_id,"
        " bid_price = excluded.bid_price, price = excluded.price, billable = excluded.billable"
        " WHERE call_routes.account_id = excluded.account_id",
        &a, &n, "write call route");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__call_route_get(struct store *s, const char *provider, const char *call_sid,
                             struct st_call_route *r)
{
    struct pgargs a = {0};
    store__pg_text(&a, provider);
    store__pg_text(&a, call_sid);
    PGresult *res = NULL;
    int rc = store__pg_row(s,
                           "SELECT " ROUTE_COLS " FROM call_routes WHERE provider = $1::text"
                           " AND call_sid = $2::text",
                           &a, &res, "read call route");
    if (rc)
        return rc;
    read_route(res, 0, r);
    PQclear(res);
    return ERR_OK;
}

int store_pg__call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                              store_call_route_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    PGresult *res = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " ROUTE_COLS " FROM call_routes WHERE account_id = $1::bigint"
                            " AND started_at >= $2::bigint AND started_at < $3::bigint"
                            " ORDER BY started_at, provider, call_sid",
                            &a, &res, "list call routes");
    if (rc)
        return rc;
    struct st_call_route *r = xmalloc(sizeof(*r));
    for (int i = 0; i < PQntuples(res); i++) {
        read_route(res, i, r);
        if (fn(ctx, r))
            break;
    }
    free(r);
    PQclear(res);
    return ERR_OK;
}

int store_pg__route_counts(struct store *s, int64_t account_id, const char *plan,
                           const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                           void *ctx)
{
    char end[STORE_ID_MAX + 64];
    snprintf(end, sizeof(end), "%s", day_prefix);
    size_t len = strlen(end);
    if (len)
        end[len - 1] = (char)(end[len - 1] + 1); /* the first key after the prefix's range */
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, plan);
    store__pg_text(&a, day_prefix);
    store__pg_text(&a, end);
    store__pg_i64(&a, live_since);
    PGresult *res = NULL;
    int rc =
        store__pg_exec(s,
                       "SELECT substr(key, length($3::text) + 1), n, 0::bigint FROM route_counters"
                       " WHERE account_id = $1::bigint AND key >= $3::text"
                       " AND key < $4::text"
                       " UNION ALL SELECT target, 0::bigint, COUNT(*) FROM call_routes"
                       " WHERE account_id = $1::bigint AND plan = $2::text AND dialing = 1"
                       " AND updated_at >= $5::bigint AND target <> '' GROUP BY target",
                       &a, &res, "count routes");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        struct st_route_count n;
        store__pg_col_text(res, i, 0, n.target, sizeof(n.target));
        n.today = store__pg_col_i64(res, i, 1);
        n.live = store__pg_col_i64(res, i, 2);
        if (fn(ctx, &n))
            break;
    }
    PQclear(res);
    return ERR_OK;
}
