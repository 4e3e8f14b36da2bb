/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, part 4: calls and conversions (the call path's writes, the calls API's reads)
 * and the look-up the webhooks need for a number nobody leases: a pool's fallback number (the
 * signer of a number nobody owns: store_sqlite_provider.c). Schema: sql/0001_init.sql +
 * 0002_calls.sql. */
#include "base/prelude.h"
#include "base/ids.h"
#include "store/store_sqlite_int.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

/* ---- rows ---- */

#define CALL_COLS                                                                                  \
    "id, ext_id, account_id, provider, provider_call_id, number_id, pool_id, to_number,"           \
    " from_number, started_at, status, duration, forwarded_to, recorded, method, confidence,"      \
    " session_id, runner_up_session_id, runner_up_confidence, first_session_id, channel,"          \
    " source, medium, campaign, keyword, reason, error, call_status, call_duration,"               \
    " status_seq, dial_status, dial_duration, dial_seq, ended_at, updated_at, location,"           \
    " recording_url, recording_duration"

static int64_t col_opt_int(sqlite3_stmt *st, int i, int64_t none)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? none : sqlite3_column_int64(st, i);
}

static void read_call_ids(sqlite3_stmt *st, struct st_call *c)
{
    c->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, c->ext_id, sizeof(c->ext_id));
    c->account_id = sqlite3_column_int64(st, 2);
    store__col_text(st, 3, c->provider, sizeof(c->provider));
    store__col_text(st, 4, c->provider_call_id, sizeof(c->provider_call_id));
    c->number_id = col_opt_int(st, 5, 0);
    c->pool_id = col_opt_int(st, 6, 0);
    store__col_text(st, 7, c->to, sizeof(c->to));
    store__col_text(st, 8, c->from, sizeof(c->from));
    c->started_at = sqlite3_column_int64(st, 9);
    store__col_text(st, 10, c->status, sizeof(c->status));
    c->duration_s = sqlite3_column_int64(st, 11);
    store__col_text(st, 12, c->forwarded_to, sizeof(c->forwarded_to));
    c->recorded = sqlite3_column_int(st, 13) != 0;
}

static void read_call_attribution(sqlite3_stmt *st, struct st_call *c)
{
    store__col_text(st, 14, c->method, sizeof(c->method));
    c->confidence = sqlite3_column_double(st, 15);
    c->session_id = col_opt_int(st, 16, 0);
    c->runner_up_session_id = col_opt_int(st, 17, 0);
    c->runner_up_confidence = sqlite3_column_double(st, 18);
    c->first_session_id = col_opt_int(st, 19, 0);
    store__col_text(st, 20, c->channel, sizeof(c->channel));
    store__col_text(st, 21, c->source, sizeof(c->source));
    store__col_text(st, 22, c->medium, sizeof(c->medium));
    store__col_text(st, 23, c->campaign, sizeof(c->campaign));
    store__col_text(st, 24, c->keyword, sizeof(c->keyword));
    store__col_text(st, 25, c->reason, sizeof(c->reason));
    store__col_text(st, 26, c->error, sizeof(c->error));
}

static void read_call_status(sqlite3_stmt *st, struct st_call *c)
{
    store__col_text(st, 27, c->call_status, sizeof(c->call_status));
    c->call_duration_s = col_opt_int(st, 28, -1);
    c->status_seq = sqlite3_column_int64(st, 29);
    store__col_text(st, 30, c->dial_status, sizeof(c->dial_status));
    c->dial_duration_s = col_opt_int(st, 31, -1);
    c->dial_seq = sqlite3_column_int64(st, 32);
    c->ended_at = col_opt_int(st, 33, 0);
    c->updated_at = sqlite3_column_int64(st, 34);
    store__col_text(st, 35, c->location, sizeof(c->location));
    store__col_text(st, 36, c->recording_url, sizeof(c->recording_url));
    c->recording_duration_s = col_opt_int(st, 37, -1);
}

static void read_call(sqlite3_stmt *st, struct st_call *c)
{
    read_call_ids(st, c);
    read_call_attribution(st, c);
    read_call_status(st, c);
}

static int call_query(struct sconn *c, sqlite3_stmt *st, struct st_call *call)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_call(st, call);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, "read call");
}

static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v, int64_t none)
{
    if (v == none)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* ---- writes ---- */

static void bind_call_insert(sqlite3_stmt *st, const struct st_call *c)
{
    store__bind_text(st, 1, c->ext_id);
    sqlite3_bind_int64(st, 2, c->account_id);
    store__bind_text(st, 3, c->provider);
    store__bind_text(st, 4, c->provider_call_id);
    store__bind_id(st, 5, c->number_id);
    store__bind_id(st, 6, c->pool_id);
    store__bind_text(st, 7, c->to);
    store__bind_text(st, 8, c->from);
    sqlite3_bind_int64(st, 9, c->started_at);
    store__bind_text(st, 10, c->status);
    sqlite3_bind_int64(st, 11, c->duration_s);
    store__bind_opt(st, 12, c->forwarded_to);
    sqlite3_bind_int(st, 13, c->recorded);
    store__bind_text(st, 14, c->method);
    sqlite3_bind_double(st, 15, c->confidence);
    store__bind_id(st, 16, c->session_id);
    store__bind_id(st, 17, c->runner_up_session_id);
    if (c->runner_up_session_id)
        sqlite3_bind_double(st, 18, c->runner_up_confidence);
    store__bind_id(st, 19, c->first_session_id);
    store__bind_opt(st, 20, c->channel);
    store__bind_opt(st, 21, c->source);
    store__bind_opt(st, 22, c->medium);
    store__bind_opt(st, 23, c->campaign);
    store__bind_opt(st, 24, c->keyword);
    store__bind_opt(st, 25, c->reason);
    store__bind_opt(st, 26, c->error);
    store__bind_opt(st, 27, c->call_status);
    sqlite3_bind_int64(st, 28, c->updated_at);
    if (c->first_caller == 0) /* not known */
        sqlite3_bind_null(st, 29);
    else
        sqlite3_bind_int(st, 29, c->first_caller == 1);
    store__bind_opt(st, 30, c->location);
}

int store_sqlite__call_insert(struct store *s, struct st_call *c)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(
        conn, "INSERT INTO calls(ext_id, account_id, provider, provider_call_id, number_id,"
              " pool_id, to_number, from_number, started_at, status, duration, forwarded_to,"
              " recorded, method, confidence, session_id, runner_up_session_id,"
              " runner_up_confidence, first_session_id, channel, source, medium, campaign,"
              " keyword, reason, error, call_status, updated_at, first_caller, location) VALUES"
              " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
              "?23,?24,?25,?26,?27,?28,?29,?30)");
    if (!st)
        return ERR_BACKEND;
    if (!c->ext_id[0]) /* time-ordered: the ext_id index grows at its right edge */
        id_new_sorted("call_", c->started_at, 16, c->ext_id, sizeof(c->ext_id));
    bind_call_insert(st, c);
    int rc = store__exec(conn, st, "insert call");
    if (rc == ERR_OK)
        c->id = sqlite3_last_insert_rowid(conn->db);
    return rc;
}

int store_sqlite__call_update(struct store *s, const struct st_call *c)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(
        conn, "UPDATE calls SET status = ?2, duration = ?3, call_status = ?4,"
              " call_duration = ?5, status_seq = ?6, dial_status = ?7, dial_duration = ?8,"
              " dial_seq = ?9, ended_at = ?10, error = ?11, updated_at = ?12 WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, c->id);
    store__bind_text(st, 2, c->status);
    sqlite3_bind_int64(st, 3, c->duration_s);
    store__bind_opt(st, 4, c->call_status);
    bind_opt_int(st, 5, c->call_duration_s, -1);
    sqlite3_bind_int64(st, 6, c->status_seq);
    store__bind_opt(st, 7, c->dial_status);
    bind_opt_int(st, 8, c->dial_duration_s, -1);
    sqlite3_bind_int64(st, 9, c->dial_seq);
    bind_opt_int(st, 10, c->ended_at, 0);
    store__bind_opt(st, 11, c->error);
    sqlite3_bind_int64(st, 12, c->updated_at);
    int rc = store__exec(conn, st, "update call");
    return rc ? rc : sqlite3_changes(conn->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__call_recording_put(struct store *s, int64_t account_id, int64_t call_id,
                                     const char *url, int64_t duration_s)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, "UPDATE calls SET recording_url = ?3,"
                                         " recording_duration = ?4 WHERE id = ?1"
                                         " AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, call_id);
    sqlite3_bind_int64(st, 2, account_id);
    store__bind_text(st, 3, url);
    bind_opt_int(st, 4, duration_s, -1);
    int rc = store__exec(conn, st, "store call recording");
    return rc ? rc : sqlite3_changes(conn->db) ? ERR_OK : ERR_NOTFOUND;
}

/* ---- reads ---- */

int store_sqlite__call_by_provider(struct store *s, const char *provider,
                                   const char *provider_call_id, struct st_call *c)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, "SELECT " CALL_COLS " FROM calls WHERE provider = ?1"
                                         " AND provider_call_id = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, provider);
    store__bind_text(st, 2, provider_call_id);
    return call_query(conn, st, c);
}

int store_sqlite__call_get(struct store *s, int64_t account_id, const char *ext_id,
                           struct st_call *c)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, "SELECT " CALL_COLS " FROM calls WHERE ext_id = ?1"
                                         " AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    sqlite3_bind_int64(st, 2, account_id);
    return call_query(conn, st, c);
}

int store_sqlite__call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st =
        store__prep(conn, "SELECT " CALL_COLS " FROM calls WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return call_query(conn, st, c);
}

int store_sqlite__call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            int64_t after_at, int64_t after_id, size_t max, store_call_fn fn,
                            void *ctx)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(
        conn, "SELECT " CALL_COLS " FROM calls WHERE account_id = ?1 AND started_at >= ?2"
              " AND started_at < ?3 AND (started_at > ?4 OR (started_at = ?4 AND id > ?5))"
              " ORDER BY started_at, id LIMIT ?6");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int64(st, 4, after_at);
    sqlite3_bind_int64(st, 5, after_id);
    sqlite3_bind_int64(st, 6, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW) {
        struct st_call c;
        read_call(st, &c);
        if (fn(ctx, &c)) {
            rc = SQLITE_DONE;
            break;
        }
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(conn, rc, "list calls");
}

/* Binds (account, from, before_id) to ?1..?3 of a caller query. */
static sqlite3_stmt *caller_stmt(struct sconn *conn, const char *sql, int64_t account_id,
                                 const char *from, int64_t before_id)
{
    sqlite3_stmt *st = store__prep(conn, sql);
    if (st) {
        sqlite3_bind_int64(st, 1, account_id);
        store__bind_text(st, 2, from);
        sqlite3_bind_int64(st, 3, before_id);
    }
    return st;
}

int store_sqlite__call_caller(struct store *s, int64_t account_id, const char *from,
                              int64_t before_id, struct st_caller *out)
{
    memset(out, 0, sizeof(*out));
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = caller_stmt(conn,
                                   "SELECT COUNT(*) FROM calls WHERE account_id = ?1"
                                   " AND from_number = ?2 AND id < ?3",
                                   account_id, from, before_id);
    if (!st)
        return ERR_BACKEND;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out->prior_calls = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store__err(conn, rc, "count caller's calls");
    if (out->prior_calls == 0) /* a first-time caller (most calls): no earlier call to read */
        return ERR_OK;
    st = caller_stmt(conn,
                     "SELECT session_id, confidence FROM calls WHERE account_id = ?1"
                     " AND from_number = ?2 AND id < ?3 AND session_id IS NOT NULL"
                     " ORDER BY started_at, id LIMIT 1",
                     account_id, from, before_id);
    if (!st)
        return ERR_BACKEND;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->first_session_id = sqlite3_column_int64(st, 0);
        out->first_confidence = sqlite3_column_double(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store__err(conn, rc, "read caller");
    st = caller_stmt(conn,
                     "SELECT session_id FROM calls WHERE account_id = ?1"
                     " AND from_number = ?2 AND id < ?3 AND session_id IS NOT NULL"
                     " ORDER BY started_at DESC, id DESC LIMIT 1",
                     account_id, from, before_id);
    if (!st)
        return ERR_BACKEND;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out->last_session_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(conn, rc, "read caller");
}

int store_sqlite__call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                        int64_t before, bool *out)
{
    *out = false;
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, "SELECT 1 FROM calls WHERE session_id = ?1"
                                         " AND account_id = ?2 AND started_at < ?3 LIMIT 1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    sqlite3_bind_int64(st, 2, account_id);
    sqlite3_bind_int64(st, 3, before);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK
                                                 : store__err(conn, rc, "read session's calls");
}

/* ---- conversions ---- */

int store_sqlite__conversion_add(struct store *s, struct st_conversion *cv)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st =
        store__prep(conn, "INSERT INTO conversions(call_id, account_id, name, value, currency, at,"
                          " location) VALUES (?1,?2,?3,?4,?5,?6,?7)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, cv->call_id);
    sqlite3_bind_int64(st, 2, cv->account_id);
    store__bind_text(st, 3, cv->name);
    sqlite3_bind_double(st, 4, cv->value);
    store__bind_text(st, 5, cv->currency[0] ? cv->currency : "USD");
    sqlite3_bind_int64(st, 6, cv->at);
    store__bind_opt(st, 7, cv->location);
    int rc = store__exec(conn, st, "insert conversion");
    if (rc == ERR_OK)
        cv->id = sqlite3_last_insert_rowid(conn->db);
    return rc;
}

int store_sqlite__conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                                     struct st_conversion *cv)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st =
        store__prep(conn, "SELECT id, call_id, account_id, name, value, currency, at, location"
                          " FROM conversions WHERE call_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, call_id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        cv->id = sqlite3_column_int64(st, 0);
        cv->call_id = sqlite3_column_int64(st, 1);
        cv->account_id = sqlite3_column_int64(st, 2);
        store__col_text(st, 3, cv->name, sizeof(cv->name));
        cv->value = sqlite3_column_double(st, 4);
        store__col_text(st, 5, cv->currency, sizeof(cv->currency));
        cv->at = sqlite3_column_int64(st, 6);
        store__col_text(st, 7, cv->location, sizeof(cv->location));
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(conn, rc, "read conversion");
}

/* ---- call outcomes ---- */

/* The defaults of a call that has no outcome row (store.h). */
static void outcome_defaults(int64_t call_id, struct st_call_outcome *o)
{
    *o = (struct st_call_outcome){.call_id = call_id, .revenue = -1, .billable = -1};
    snprintf(o->tags, sizeof(o->tags), "[]");
    snprintf(o->lead_status, sizeof(o->lead_status), "new");
}

int store_sqlite__call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                                   struct st_call_outcome *o)
{
    outcome_defaults(call_id, o);
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, "SELECT account_id, tags, notes, lead_status, revenue,"
                                         " billable, billable_by, billable_user, billable_at,"
                                         " updated_at FROM call_outcomes"
                                         " WHERE call_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, call_id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        o->account_id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, o->tags, sizeof(o->tags));
        store__col_text(st, 2, o->notes, sizeof(o->notes));
        store__col_text(st, 3, o->lead_status, sizeof(o->lead_status));
        o->revenue = col_opt_int(st, 4, -1);
        o->billable = (int)col_opt_int(st, 5, -1);
        store__col_text(st, 6, o->billable_by, sizeof(o->billable_by));
        store__col_text(st, 7, o->billable_user, sizeof(o->billable_user));
        o->billable_at = sqlite3_column_int64(st, 8);
        o->updated_at = sqlite3_column_int64(st, 9);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(conn, rc, "read call outcome");
}

int store_sqlite__call_outcome_put(struct store *s, const struct st_call_outcome *o)
{
    CONN_OR_FAIL(conn, s);
    /* The row comes from the call's own row, so another account's call writes nothing. */
    sqlite3_stmt *st = store__prep(
        conn, "INSERT INTO call_outcomes(call_id, account_id, tags, notes, lead_status, revenue,"
              " billable, billable_by, billable_user, billable_at, updated_at)"
              " SELECT id, account_id, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM calls"
              " WHERE id = ?1 AND account_id = ?2"
              " ON CONFLICT(call_id) DO UPDATE SET tags = excluded.tags, notes = excluded.notes,"
              " lead_status = excluded.lead_status, revenue = excluded.revenue,"
              " billable = excluded.billable, billable_by = excluded.billable_by,"
              " billable_user = excluded.billable_user, billable_at = excluded.billable_at,"
              " updated_at = excluded.updated_at");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, o->call_id);
    sqlite3_bind_int64(st, 2, o->account_id);
    store__bind_text(st, 3, o->tags[0] ? o->tags : "[]");
    store__bind_text(st, 4, o->notes);
    store__bind_text(st, 5, o->lead_status);
    bind_opt_int(st, 6, o->revenue, -1);
    bind_opt_int(st, 7, o->billable < 0 ? -1 : o->billable != 0, -1);
    store__bind_text(st, 8, o->billable_by);
    store__bind_text(st, 9, o->billable_user);
    sqlite3_bind_int64(st, 10, o->billable_at);
    sqlite3_bind_int64(st, 11, o->updated_at);
    int rc = store__exec(conn, st, "write call outcome");
    return rc ? rc : sqlite3_changes(conn->db) ? ERR_OK : ERR_NOTFOUND;
}

/* ---- look-ups for webhooks ---- */

/* Runs a query for one row's id and account id (bound to ?1 as text), ERR_NOTFOUND without a
 * row. */
static int id_by_text(struct store *s, const char *sql, const char *v, int64_t *id,
                      int64_t *account_id)
{
    CONN_OR_FAIL(conn, s);
    sqlite3_stmt *st = store__prep(conn, sql);
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, v);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *account_id = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(conn, rc, "look up id");
}

int store_sqlite__pool_by_fallback(struct store *s, const char *e164, struct st_pool *p)
{
    int64_t id = 0, account_id = 0;
    int rc = id_by_text(s,
                        "SELECT id, account_id FROM pools WHERE fallback_number = ?1"
                        " ORDER BY id LIMIT 1",
                        e164, &id, &account_id);
    return rc ? rc : store_sqlite__pool_by_id(s, account_id, id, p);
}
