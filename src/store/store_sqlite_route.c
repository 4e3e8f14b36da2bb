/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite: routing documents (locations, plans), counters and calls' routing records
 * (sql/0019; store.h "routing"). */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_sqlite_int.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

#define DOC_COLS "id, account_id, kind, ext_id, name, attach, body, created_at, updated_at"

static void read_doc(sqlite3_stmt *st, struct st_route_doc *d)
{
    d->id = sqlite3_column_int64(st, 0);
    d->account_id = sqlite3_column_int64(st, 1);
    store__col_text(st, 2, d->kind, sizeof(d->kind));
    store__col_text(st, 3, d->ext_id, sizeof(d->ext_id));
    store__col_text(st, 4, d->name, sizeof(d->name));
    store__col_text(st, 5, d->attach, sizeof(d->attach));
    store__col_text(st, 6, d->body, sizeof(d->body));
    d->created_at = sqlite3_column_int64(st, 7);
    d->updated_at = sqlite3_column_int64(st, 8);
}

static int one_doc(struct sconn *c, sqlite3_stmt *st, struct st_route_doc *d, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_doc(st, d);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, what);
}

int store_sqlite__route_doc_put(struct store *s, struct st_route_doc *d)
{
    CONN_OR_FAIL(c, s);
    if (d->id == 0) {
        sqlite3_stmt *st = store__prep(
            c, "INSERT INTO route_docs(account_id, kind, ext_id, name, attach, body, created_at,"
               " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
        if (!st)
            return ERR_BACKEND;
        store__new_ext_id(strcmp(d->kind, "plan") == 0 ? "plan_" : "loc_", d->ext_id);
        sqlite3_bind_int64(st, 1, d->account_id);
        store__bind_text(st, 2, d->kind);
        store__bind_text(st, 3, d->ext_id);
        store__bind_text(st, 4, d->name);
        store__bind_opt(st, 5, d->attach);
        store__bind_text(st, 6, d->body);
        sqlite3_bind_int64(st, 7, d->updated_at);
        int rc = store__exec(c, st, "insert route doc");
        if (rc == ERR_OK) {
            d->id = sqlite3_last_insert_rowid(c->db);
            d->created_at = d->updated_at;
        }
        return rc;
    }
    sqlite3_stmt *st = store__prep(c, "UPDATE route_docs SET name = ?4, attach = ?5, body = ?6,"
                                      " updated_at = ?7 WHERE account_id = ?1 AND kind = ?2"
                                      " AND ext_id = ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, d->account_id);
    store__bind_text(st, 2, d->kind);
    store__bind_text(st, 3, d->ext_id);
    store__bind_text(st, 4, d->name);
    store__bind_opt(st, 5, d->attach);
    store__bind_text(st, 6, d->body);
    sqlite3_bind_int64(st, 7, d->updated_at);
    int rc = store__exec(c, st, "update route doc");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__route_doc_get(struct store *s, int64_t account_id, const char *kind,
                                const char *ext_id, struct st_route_doc *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " DOC_COLS " FROM route_docs WHERE account_id = ?1"
                                      " AND kind = ?2 AND ext_id = ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, kind);
    store__bind_text(st, 3, ext_id);
    return one_doc(c, st, d, "read route doc");
}

int store_sqlite__route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                                      struct st_route_doc *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " DOC_COLS " FROM route_docs WHERE account_id = ?1"
                                      " AND attach = ?2 AND kind = 'plan'");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, attach);
    return one_doc(c, st, d, "read attached plan");
}

int store_sqlite__route_doc_list(struct store *s, int64_t account_id, const char *kind,
                                 store_route_doc_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " DOC_COLS " FROM route_docs WHERE account_id = ?1"
                                      " AND kind = ?2 ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, kind);
    struct st_route_doc *d = xmalloc(sizeof(*d));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_doc(st, d);
        if (fn(ctx, d))
            break;
    }
    sqlite3_reset(st);
    free(d);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list route docs");
}

int store_sqlite__route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                                   const char *ext_id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "DELETE FROM route_docs WHERE account_id = ?1 AND kind = ?2"
                                      " AND ext_id = ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, kind);
    store__bind_text(st, 3, ext_id);
    int rc = store__exec(c, st, "delete route doc");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__route_counter_next(struct store *s, int64_t account_id, const char *key,
                                     int64_t *n)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "INSERT INTO route_counters(account_id, key, n)"
                                      " VALUES (?1, ?2, 1) ON CONFLICT(account_id, key)"
                                      " DO UPDATE SET n = n + 1 RETURNING n");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    int done = rc == SQLITE_ROW ? sqlite3_step(st) : rc;
    sqlite3_reset(st);
    return done == SQLITE_DONE && rc == SQLITE_ROW ? ERR_OK : store__err(c, done, "count route");
}

#define ROUTE_COLS                                                                                 \
    "account_id, provider, call_sid, plan, location, target, target_number, digits, state, log,"   \
    " verstat, outcome, recording_url, recording_duration, payout, dialing, started_at,"           \
    " updated_at, auction_id, bid_id, bid_price, price, billable"

static void read_route(sqlite3_stmt *st, struct st_call_route *r)
{
    r->account_id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, r->provider, sizeof(r->provider));
    store__col_text(st, 2, r->call_sid, sizeof(r->call_sid));
    store__col_text(st, 3, r->plan, sizeof(r->plan));
    store__col_text(st, 4, r->location, sizeof(r->location));
    store__col_text(st, 5, r->target, sizeof(r->target));
    store__col_text(st, 6, r->target_number, sizeof(r->target_number));
    store__col_text(st, 7, r->digits, sizeof(r->digits));
    store__col_text(st, 8, r->state, sizeof(r->state));
    store__col_text(st, 9, r->log, sizeof(r->log));
    store__col_text(st, 10, r->verstat, sizeof(r->verstat));
    store__col_text(st, 11, r->outcome, sizeof(r->outcome));
    store__col_text(st, 12, r->recording_url, sizeof(r->recording_url));
    r->recording_duration_s = sqlite3_column_int64(st, 13);
    r->payout = sqlite3_column_int64(st, 14);
    r->dialing = sqlite3_column_int64(st, 15) != 0;
    r->started_at = sqlite3_column_int64(st, 16);
    r->updated_at = sqlite3_column_int64(st, 17);
    store__col_text(st, 18, r->auction_id, sizeof(r->auction_id));
    store__col_text(st, 19, r->bid_id, sizeof(r->bid_id));
    r->bid_price = sqlite3_column_int64(st, 20);
    r->price = sqlite3_column_int64(st, 21);
    r->billable = sqlite3_column_type(st, 22) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 22) != 0;
}

int store_sqlite__call_route_put(struct store *s, const struct st_call_route *r)
{
    CONN_OR_FAIL(c, s);
    /* The conflict update keeps the account: another account's record is left alone. */
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO call_routes(" ROUTE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
           " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) ON CONFLICT("
           "provider, call_sid) DO"
           " UPDATE SET plan = excluded.plan, location = excluded.location,"
           " target = excluded.target, target_number = excluded.target_number,"
           " digits = excluded.digits, state = excluded.state, log = excluded.log,"
           " verstat = excluded.verstat, outcome = excluded.outcome,"
           " recording_url = excluded.recording_url,"
           " recording_duration = excluded.recording_duration, payout = excluded.payout,"
           " dialing = excluded.dialing, updated_at = excluded.updated_at,"
           " auction_id = excluded.auction_id, bid_id = excluded.bid_id,"
           " bid_price = excluded.bid_price, price = excluded.price, billable = excluded.billable"
           " WHERE call_routes.account_id = excluded.account_id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, r->account_id);
    const char *text[] = {r->provider, r->call_sid,      r->plan,    r->location,
                          r->target,   r->target_number, r->digits,  r->state,
                          r->log,      r->verstat,       r->outcome, r->recording_url};
    for (int i = 0; i < (int)ARRAY_SIZE(text); i++)
        store__bind_text(st, 2 + i, text[i]);
    sqlite3_bind_int64(st, 14, r->recording_duration_s);
    sqlite3_bind_int64(st, 15, r->payout);
    sqlite3_bind_int64(st, 16, r->dialing);
    sqlite3_bind_int64(st, 17, r->started_at);
    sqlite3_bind_int64(st, 18, r->updated_at);
    store__bind_text(st, 19, r->auction_id);
    store__bind_text(st, 20, r->bid_id);
    sqlite3_bind_int64(st, 21, r->bid_price);
    sqlite3_bind_int64(st, 22, r->price);
    if (r->billable < 0)
        sqlite3_bind_null(st, 23);
    else
        sqlite3_bind_int(st, 23, r->billable != 0);
    int rc = store__exec(c, st, "write call route");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__call_route_get(struct store *s, const char *provider, const char *call_sid,
                                 struct st_call_route *r)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ROUTE_COLS " FROM call_routes WHERE provider = ?1"
                                      " AND call_sid = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, provider);
    store__bind_text(st, 2, call_sid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_route(st, r);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, "read call route");
}

int store_sqlite__call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                  store_call_route_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " ROUTE_COLS " FROM call_routes WHERE"
                                      " account_id = ?1 AND started_at >= ?2 AND started_at < ?3"
                                      " ORDER BY started_at, provider, call_sid");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    struct st_call_route *r = xmalloc(sizeof(*r));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_route(st, r);
        if (fn(ctx, r))
            break;
    }
    sqlite3_reset(st);
    free(r);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list call routes");
}

/* The first key after every key that starts with prefix (its last byte raised), for a range. */
static void prefix_end(const char *prefix, char *out, size_t cap)
{
    snprintf(out, cap, "%s", prefix);
    size_t n = strlen(out);
    if (n)
        out[n - 1] = (char)(out[n - 1] + 1);
}

int store_sqlite__route_counts(struct store *s, int64_t account_id, const char *plan,
                               const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                               void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "SELECT substr(key, length(?3) + 1), n, 0 FROM route_counters WHERE account_id = ?1"
           " AND key >= ?3 AND key < ?4"
           " UNION ALL SELECT target, 0, COUNT(*) FROM call_routes WHERE account_id = ?1"
           " AND plan = ?2 AND dialing = 1 AND updated_at >= ?5 AND target <> ''"
           " GROUP BY target");
    if (!st)
        return ERR_BACKEND;
    char end[STORE_ID_MAX + 64];
    prefix_end(day_prefix, end, sizeof(end));
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, plan);
    store__bind_text(st, 3, day_prefix);
    store__bind_text(st, 4, end);
    sqlite3_bind_int64(st, 5, live_since);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_route_count n;
        store__col_text(st, 0, n.target, sizeof(n.target));
        n.today = sqlite3_column_int64(st, 1);
        n.live = sqlite3_column_int64(st, 2);
        if (fn(ctx, &n))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "count routes");
}
