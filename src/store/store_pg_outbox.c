/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend: outbound messages (sql_pg/0011_outbox.sql): destinations, the outbox rows
 * and their claims, the delivery log, and the state of the periodic checks. The semantics are
 * those of store_sqlite_outbox.c. Several nodes send from one database: a claim runs under a
 * transaction-scoped advisory lock, so claims are decided one at a time, each on the rows the
 * claims before it committed (the per-destination limit holds across nodes), and a row's lease
 * keeps it with the node that claimed it; a finish by a node whose lease ran out and was taken
 * by another changes nothing but the log. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

#include "base/xalloc.h"

/* Held by a claim's transaction: claims from every node are serialised. */
#define OUTBOX_CLAIM_LOCK_KEY 0x6f646e6f /* "odno" */

/* An ad-platform destination's format is its platform (sql/0021). */
#define DEST_COLS                                                                                  \
    "id, ext_id, account_id, url, CASE WHEN platform <> '' THEN platform ELSE format END,"         \
    " events, secret, created_at, failing_since, disabled_at, last_error"
/* A message (outbox o) with its event (outbox_events e: sql_pg/0032). */
#define MSG_COLS                                                                                   \
    "o.id, o.account_id, o.destination_id, e.event_id, e.type, e.body, o.created_at, o.state,"     \
    " o.attempts, o.next_at"
#define MSG_FROM " FROM outbox o JOIN outbox_events e ON e.id = o.event_ref"

static bool fits(const char *v, size_t cap)
{
    return v && strlen(v) < cap;
}

/* Reads the DEST_COLS of row from column i on. */
static void read_dest(const PGresult *r, int row, int i, struct st_destination *d)
{
    memset(d, 0, sizeof(*d));
    d->id = store__pg_col_i64(r, row, i);
    store__pg_col_text(r, row, i + 1, d->ext_id, sizeof(d->ext_id));
    d->account_id = store__pg_col_i64(r, row, i + 2);
    store__pg_col_text(r, row, i + 3, d->url, sizeof(d->url));
    store__pg_col_text(r, row, i + 4, d->format, sizeof(d->format));
    store__pg_col_text(r, row, i + 5, d->events, sizeof(d->events));
    store__pg_col_text(r, row, i + 6, d->secret, sizeof(d->secret));
    d->created_at = store__pg_col_i64(r, row, i + 7);
    d->failing_since = store__pg_col_i64(r, row, i + 8);
    d->disabled_at = store__pg_col_i64(r, row, i + 9);
    store__pg_col_text(r, row, i + 10, d->last_error, sizeof(d->last_error));
}

/* Reads the MSG_COLS of row from column i on. */
static void read_msg(const PGresult *r, int row, int i, struct st_outbox_msg *m)
{
    m->id = store__pg_col_i64(r, row, i);
    m->account_id = store__pg_col_i64(r, row, i + 1);
    m->destination_id = store__pg_col_i64(r, row, i + 2);
    store__pg_col_text(r, row, i + 3, m->event_id, sizeof(m->event_id));
    store__pg_col_text(r, row, i + 4, m->type, sizeof(m->type));
    store__pg_col_text(r, row, i + 5, m->body, sizeof(m->body));
    m->created_at = store__pg_col_i64(r, row, i + 6);
    m->state = (int)store__pg_col_i64(r, row, i + 7);
    m->attempts = store__pg_col_i64(r, row, i + 8);
    m->next_at = store__pg_col_i64(r, row, i + 9);
    m->event_ref = 0; /* read where the statement has it */
}

/* Runs a write that must touch a row: ERR_NOTFOUND when it changed none. */
static int exec_changed(struct store *s, const char *sql, const struct pgargs *a, const char *what)
{
    int64_t n = 0;
    int rc = store__pg_changes(s, sql, a, &n, what);
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

/* ---- destinations ---- */

int store_pg__destination_add(struct store *s, struct st_destination *d)
{
    if (!fits(d->ext_id, STORE_ID_MAX) || !fits(d->url, STORE_URL_MAX) ||
        !fits(d->events, STORE_EVENTS_MAX) || !fits(d->secret, STORE_DEST_SECRET_MAX) ||
        !store__destination_format_ok(d->format))
        return ERR_INVALID;
    bool ad = store__destination_format_ad(d->format);
    struct pgargs a = {0};
    store__pg_text(&a, d->ext_id);
    store__pg_i64(&a, d->account_id);
    store__pg_text(&a, d->url);
    store__pg_text(&a, ad ? "json" : d->format);
    store__pg_text(&a, d->events);
    store__pg_text(&a, d->secret);
    store__pg_i64(&a, d->created_at);
    store__pg_text(&a, ad ? d->format : "");
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "INSERT INTO destinations(ext_id, account_id, url, format, events,"
                           " secret, created_at, platform)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                           &a, &r, "insert destination");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc; /* ERR_CONFLICT: the ext_id (or account) */
    d->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__destination_get(struct store *s, int64_t account_id, const char *ext_id,
                              struct st_destination *d)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT " DEST_COLS " FROM destinations"
                           " WHERE account_id = $1 AND ext_id = $2 AND deleted_at = 0",
                           &a, &r, "read destination");
    if (rc)
        return rc;
    read_dest(r, 0, 0, d);
    PQclear(r);
    return ERR_OK;
}

int store_pg__destination_list(struct store *s, int64_t account_id, store_destination_fn fn,
                               void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT " DEST_COLS " FROM destinations"
                            " WHERE account_id = $1 AND deleted_at = 0 ORDER BY id",
                            &a, &r, "list destinations");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_destination d;
        read_dest(r, i, 0, &d);
        if (fn(ctx, &d))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* One statement: the destination is marked deleted and its pending messages given up. */
int store_pg__destination_delete(struct store *s, int64_t account_id, const char *ext_id,
                                 int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    store__pg_i64(&a, now);
    PGresult *r = NULL;
    int rc =
        store__pg_row(s,
                      "WITH d AS (UPDATE destinations SET deleted_at = $3"
                      "  WHERE account_id = $1 AND ext_id = $2 AND deleted_at = 0 RETURNING id),"
                      " o AS (UPDATE outbox SET state = 2, done_at = $3, lease_until = 0"
                      "  WHERE destination_id IN (SELECT id FROM d) AND state = 0)"
                      " SELECT id FROM d",
                      &a, &r, "delete destination");
    if (rc)
        return rc;
    PQclear(r);
    return ERR_OK;
}

int store_pg__destination_result(struct store *s, int64_t account_id, int64_t id, bool ok,
                                 int64_t now, int64_t disable_after_ms, const char *error,
                                 bool *disabled)
{
    *disabled = false;
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    if (ok)
        return store__pg_exec(s,
                              "UPDATE destinations SET failing_since = 0, last_error = ''"
                              " WHERE id = $1 AND account_id = $2"
                              " AND (failing_since <> 0 OR last_error <> '')",
                              &a, NULL, "record a destination's result");
    store__pg_i64(&a, now);
    struct pgargs e = {0};
    store__pg_i64(&e, id);
    store__pg_i64(&e, account_id);
    store__pg_i64(&e, now);
    store__pg_text(&e, error ? error : "");
    int rc = store__pg_exec(s,
                            "UPDATE destinations SET failing_since = CASE failing_since"
                            " WHEN 0 THEN $3::bigint ELSE failing_since END, last_error = $4"
                            " WHERE id = $1 AND account_id = $2",
                            &e, NULL, "record a destination's result");
    if (rc)
        return rc;
    store__pg_i64(&a, disable_after_ms);
    /* A concurrent caller waits for this row and re-checks disabled_at: one of them changes it. */
    int64_t n = 0;
    rc = store__pg_changes(s,
                           "UPDATE destinations SET disabled_at = $3"
                           " WHERE id = $1 AND account_id = $2 AND disabled_at = 0"
                           " AND failing_since <> 0 AND failing_since <= $3::bigint - $4::bigint",
                           &a, &n, "disable a failing destination");
    *disabled = rc == ERR_OK && n == 1;
    return rc;
}

int store_pg__destination_enable(struct store *s, int64_t account_id, const char *ext_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    return exec_changed(s,
                        "UPDATE destinations SET disabled_at = 0, failing_since = 0"
                        " WHERE account_id = $1 AND ext_id = $2 AND deleted_at = 0",
                        &a, "enable destination");
}

int store_pg__destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                     const char *sealed)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    store__pg_text(&a, sealed);
    return exec_changed(s,
                        "UPDATE destinations SET secret = $3 WHERE account_id = $1 AND ext_id = $2",
                        &a, "re-seal a destination's secret");
}

/* ---- the outbox ---- */

/* One statement: the event's row (written once, or found: a message for one more destination),
 * and one message per destination (an array parameter). */
int store_pg__outbox_add(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                         size_t n)
{
    if (!fits(m->event_id, STORE_ID_MAX) || !fits(m->type, STORE_EVENT_TYPE_MAX) ||
        !fits(m->body, STORE_BODY_MAX))
        return ERR_INVALID;
    size_t cap = n * 21 + 3, len = 0;
    char *ids = xmalloc(cap);
    ids[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len +=
            (size_t)snprintf(ids + len, cap - len, "%s%" PRId64, i ? "," : "", destination_ids[i]);
    snprintf(ids + len, cap - len, "}");
    struct pgargs a = {0};
    store__pg_i64(&a, m->account_id);
    store__pg_text(&a, m->event_id);
    store__pg_text(&a, m->type);
    store__pg_text(&a, m->body);
    store__pg_i64(&a, m->created_at);
    store__pg_i64(&a, m->next_at);
    store__pg_text(&a, ids);
    PGresult *r = NULL;
    int rc = store__pg_exec(
        s,
        "WITH e AS (INSERT INTO outbox_events(account_id, event_id, type, body, created_at)"
        "  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, event_id) DO UPDATE"
        "  SET account_id = excluded.account_id RETURNING id)"
        " INSERT INTO outbox(account_id, destination_id, event_ref, created_at, next_at)"
        " SELECT $1, d.id, e.id, $5, $6 FROM e, unnest($7::bigint[]) WITH ORDINALITY AS d(id, i)"
        " ORDER BY d.i RETURNING id",
        &a, &r, "insert outbox messages");
    free(ids);
    if (rc) /* ERR_CONFLICT: an event and destination already written */
        return rc;
    int rows = PQntuples(r);
    if (rows > 0) {
        int64_t last = 0; /* the last message's (the ids grow in insertion order) */
        for (int i = 0; i < rows; i++)
            if (store__pg_col_i64(r, i, 0) > last)
                last = store__pg_col_i64(r, i, 0);
        m->id = last;
    }
    PQclear(r);
    return rows == (int)n ? ERR_OK : ERR_BACKEND;
}

/* The claim, one statement run under the claim lock. Per destination it reads only what it
 * takes (sql_pg/0017's index): the oldest due messages up to its free places (per_dest, $4,
 * less its messages under live leases); of those the oldest due first, at most $5. The claimed
 * rows come back with their destinations in the order of their ids, as the SQLite backend
 * gives them (the order in which they were written). The update re-checks state and lease (a
 * row finished or requeued since is left alone). */
static const char claim_sql[] =
    "WITH pick AS (SELECT p.id FROM destinations t CROSS JOIN LATERAL"
    "   (SELECT o.id, o.next_at FROM outbox o WHERE o.destination_id = t.id AND o.state = 0"
    "   AND o.next_at <= $1::bigint AND o.lease_until <= $1::bigint ORDER BY o.next_at, o.id"
    "   LIMIT GREATEST(0, $4::bigint - (SELECT COUNT(*) FROM outbox b"
    "   WHERE b.destination_id = t.id AND b.lease_until > 0 AND b.lease_until > $1::bigint"
    "   AND b.state = 0))) p"
    "   WHERE t.disabled_at = 0 AND t.deleted_at = 0 ORDER BY p.next_at, p.id LIMIT $5::bigint),"
    " c AS (UPDATE outbox o SET lease_until = $2::bigint, lease_owner = $3::text,"
    "   attempts = o.attempts + 1 FROM pick"
    "   WHERE o.id = pick.id AND o.state = 0 AND o.lease_until <= $1::bigint"
    "   RETURNING o.id, o.account_id, o.destination_id, o.event_ref, o.created_at, o.state,"
    "   o.attempts, o.next_at)"
    " SELECT c.id, c.account_id, c.destination_id, e.event_id, e.type, e.body, c.created_at,"
    " c.state, c.attempts, c.next_at, t.id, t.ext_id, t.account_id, t.url,"
    " CASE WHEN t.platform <> '' THEN t.platform ELSE t.format END, t.events,"
    " t.secret, t.created_at, t.failing_since, t.disabled_at, t.last_error, e.id"
    " FROM c JOIN outbox_events e ON e.id = c.event_ref"
    " JOIN destinations t ON t.id = c.destination_id ORDER BY c.id";

/* Runs the claim in a transaction of its own (or the caller's), holding the claim lock.
 * out: *res, the claimed rows, committed when the transaction is ours. */
static int claim_rows(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                      int64_t per_dest, size_t max, PGresult **res)
{
    bool own = !store__pg_in_tx(s);
    int rc = own ? store_pg__begin(s) : ERR_OK;
    struct pgargs k = {0};
    store__pg_i64(&k, OUTBOX_CLAIM_LOCK_KEY);
    if (rc == ERR_OK)
        rc = store__pg_exec(s, "SELECT pg_advisory_xact_lock($1)", &k, NULL, "lock the outbox");
    struct pgargs a = {0};
    store__pg_i64(&a, now);
    store__pg_i64(&a, lease_until);
    store__pg_text(&a, owner);
    store__pg_i64(&a, per_dest);
    store__pg_i64(&a, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    PGresult *r = NULL;
    if (rc == ERR_OK)
        rc = store__pg_exec(s, claim_sql, &a, &r, "claim outbox messages");
    if (own && rc == ERR_OK)
        rc = store_pg__commit(s);
    if (rc) {
        PQclear(r);
        if (own)
            store_pg__rollback(s);
        return rc;
    }
    *res = r;
    return ERR_OK;
}

int store_pg__outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                           int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx)
{
    if (max == 0)
        return ERR_OK;
    PGresult *r = NULL;
    int rc = claim_rows(s, now, lease_until, owner, per_dest, max, &r);
    if (rc)
        return rc;
    struct st_outbox_msg *m = xmalloc(sizeof(*m));
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_destination d;
        read_msg(r, i, 0, m);
        read_dest(r, i, 10, &d);
        m->event_ref = store__pg_col_i64(r, i, 21);
        if (fn(ctx, m, &d))
            break;
    }
    free(m);
    PQclear(r);
    return ERR_OK;
}

/* PostgreSQL's claim hands out no batch (store_outbox_publish writes rows: sql_pg/0033). */
int store_pg__outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                                const char *owner)
{
    (void)s, (void)account_id, (void)destination_id, (void)owner;
    return ERR_OK;
}

int store_pg__outbox_finish(struct store *s, int64_t id, const char *owner,
                            const struct st_delivery *d, int state, int64_t next_at)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, d->destination_id);
    store__pg_i64(&a, d->attempt);
    store__pg_i64(&a, d->at);
    store__pg_i64(&a, d->status);
    store__pg_text(&a, d->error);
    store__pg_text(&a, d->response);
    store__pg_i64(&a, d->latency_ms);
    store__pg_i64(&a, d->account_id);
    int rc = store__pg_exec(s,
                            "INSERT INTO outbox_attempts(outbox_id, destination_id, attempt, at,"
                            " status, error, response, latency_ms, account_id)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            &a, NULL, "log delivery attempt");
    if (rc)
        return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc; /* no such message */
    struct pgargs u = {0};
    store__pg_i64(&u, id);
    store__pg_text(&u, owner);
    store__pg_i64(&u, state);
    store__pg_i64(&u, next_at);
    store__pg_i64(&u, d->at);
    store__pg_i64(&u, d->account_id);
    return store__pg_exec(s,
                          "UPDATE outbox SET state = $3, next_at = $4, lease_until = 0,"
                          " lease_owner = '', done_at = CASE WHEN $3::integer = 0 THEN 0"
                          " ELSE $5::bigint END"
                          " WHERE id = $1 AND lease_owner = $2 AND state = 0 AND account_id = $6",
                          &u, NULL, "finish outbox message");
}

int store_pg__outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                             const char *event_id, int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, destination_id);
    store__pg_text(&a, event_id);
    store__pg_i64(&a, now);
    return exec_changed(s,
                        "UPDATE outbox SET state = 0, next_at = $4, lease_until = 0,"
                        " lease_owner = '', done_at = 0 WHERE account_id = $1"
                        " AND destination_id = $2 AND event_ref = (SELECT id FROM outbox_events"
                        " WHERE account_id = $1 AND event_id = $3)",
                        &a, "requeue outbox message");
}

int store_pg__outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                         const char *event_id, struct st_outbox_msg *m)
{
    struct pgargs a = {0};
    store__pg_i64(&a, destination_id);
    store__pg_text(&a, event_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT " MSG_COLS MSG_FROM " WHERE e.account_id = $3"
                           " AND e.event_id = $2 AND o.destination_id = $1 AND o.account_id = $3",
                           &a, &r, "read outbox message");
    if (rc)
        return rc;
    read_msg(r, 0, 0, m);
    PQclear(r);
    return ERR_OK;
}

int store_pg__delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                            int64_t before_id, size_t max, store_delivery_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, destination_id);
    store__pg_i64(&a, before_id);
    store__pg_i64(&a, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT a.id, a.outbox_id, a.destination_id, e.event_id, e.type,"
                            " a.attempt, a.at, a.status, a.error, a.response, a.latency_ms"
                            " FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
                            " JOIN outbox_events e ON e.id = o.event_ref"
                            " WHERE a.account_id = $4 AND a.destination_id = $1"
                            " AND ($2::bigint = 0 OR a.id < $2::bigint)"
                            " ORDER BY a.id DESC LIMIT $3",
                            &a, &r, "list deliveries");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_delivery d;
        memset(&d, 0, sizeof(d));
        d.id = store__pg_col_i64(r, i, 0);
        d.outbox_id = store__pg_col_i64(r, i, 1);
        d.destination_id = store__pg_col_i64(r, i, 2);
        store__pg_col_text(r, i, 3, d.event_id, sizeof(d.event_id));
        store__pg_col_text(r, i, 4, d.type, sizeof(d.type));
        d.attempt = store__pg_col_i64(r, i, 5);
        d.at = store__pg_col_i64(r, i, 6);
        d.status = (int)store__pg_col_i64(r, i, 7);
        store__pg_col_text(r, i, 8, d.error, sizeof(d.error));
        store__pg_col_text(r, i, 9, d.response, sizeof(d.response));
        d.latency_ms = store__pg_col_i64(r, i, 10);
        d.account_id = account_id;
        if (fn(ctx, &d))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- periodic checks ---- */

/* One upsert: PostgreSQL's ON CONFLICT DO UPDATE locks the row, so of several nodes observing
 * at once each sees the value the one before it left, and one fires. */
int store_pg__alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                            int64_t now, int64_t cooldown_ms, bool *fired)
{
    *fired = false;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, key);
    store__pg_i64(&a, value);
    store__pg_i64(&a, now);
    store__pg_i64(&a, cooldown_ms);
    PGresult *r = NULL;
    int rc = store__pg_row(
        s,
        "INSERT INTO alert_state AS st(account_id, key, value, prev_value, checked_at, fired_at)"
        " VALUES ($1::bigint, $2::text, $3::bigint, 0, $4::bigint,"
        "  CASE WHEN $3::bigint > 0 THEN $4::bigint ELSE 0 END)"
        " ON CONFLICT (account_id, key) DO UPDATE SET prev_value = st.value,"
        " fired_at = CASE WHEN excluded.value > st.value"
        "  AND (st.fired_at = 0 OR st.fired_at <= $4::bigint - $5::bigint)"
        "  THEN $4::bigint ELSE st.fired_at END,"
        " value = excluded.value, checked_at = $4::bigint"
        " RETURNING st.fired_at = $4::bigint AND st.value > st.prev_value",
        &a, &r, "observe alert state");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *fired = store__pg_col_bool(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

/* ---- traffic counts (alert.swap_miss_rate) ---- */

/* The upsert adds under the row's lock, so the counts of several nodes add up. */
int store_pg__traffic_add(struct store *s, int64_t account_id, int64_t bucket_at,
                          int64_t page_views, int64_t swap_misses, int64_t purge_before)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, bucket_at);
    store__pg_i64(&a, page_views);
    store__pg_i64(&a, swap_misses);
    int rc = store__pg_exec(
        s,
        "INSERT INTO traffic_counts AS t(account_id, bucket_at, page_views, swap_misses)"
        " VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint)"
        " ON CONFLICT (account_id, bucket_at) DO UPDATE SET"
        " page_views = t.page_views + excluded.page_views,"
        " swap_misses = t.swap_misses + excluded.swap_misses",
        &a, NULL, "add traffic counts");
    if (rc)
        return rc;
    struct pgargs b = {0};
    store__pg_i64(&b, account_id);
    store__pg_i64(&b, purge_before);
    return store__pg_exec(s,
                          "DELETE FROM traffic_counts WHERE account_id = $1::bigint"
                          " AND bucket_at < $2::bigint",
                          &b, NULL, "purge traffic counts");
}

int store_pg__traffic_sum(struct store *s, int64_t account_id, int64_t since, int64_t *page_views,
                          int64_t *swap_misses)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, since);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT COALESCE(SUM(page_views), 0)::bigint,"
                           " COALESCE(SUM(swap_misses), 0)::bigint FROM traffic_counts"
                           " WHERE account_id = $1::bigint AND bucket_at >= $2::bigint",
                           &a, &r, "sum traffic counts");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *page_views = store__pg_col_i64(r, 0, 0);
    *swap_misses = store__pg_col_i64(r, 0, 1);
    PQclear(r);
    return ERR_OK;
}

/* ---- the Google Ads scheduled-import feed ---- */

int store_pg__feed_set(struct store *s, int64_t account_id, const char *ext_id,
                       const char *secret_hash, int64_t now)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_text(&a, ext_id);
    store__pg_text(&a, secret_hash);
    store__pg_i64(&a, now);
    return store__pg_exec(s,
                          "INSERT INTO export_feeds(account_id, ext_id, secret_hash, created_at)"
                          " VALUES ($1::bigint, $2::text, $3::text, $4::bigint)"
                          " ON CONFLICT (account_id) DO UPDATE SET ext_id = excluded.ext_id,"
                          " secret_hash = excluded.secret_hash, created_at = excluded.created_at",
                          &a, NULL, "set feed");
}

int store_pg__feed_account(struct store *s, const char *ext_id, struct st_account *acct,
                           char secret_hash[65])
{
    struct pgargs a = {0};
    store__pg_text(&a, ext_id);
    PGresult *r = NULL;
    int rc =
        store__pg_row(s, "SELECT account_id, secret_hash FROM export_feeds WHERE ext_id = $1::text",
                      &a, &r, "read feed");
    if (rc)
        return rc;
    int64_t account_id = store__pg_col_i64(r, 0, 0);
    store__pg_col_text(r, 0, 1, secret_hash, 65);
    PQclear(r);
    return store_pg__account_by_id(s, account_id, acct);
}

int store_pg__feed_delete(struct store *s, int64_t account_id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    int64_t n = 0;
    int rc = store__pg_changes(s, "DELETE FROM export_feeds WHERE account_id = $1::bigint", &a, &n,
                               "delete feed");
    return rc == ERR_OK && n == 0 ? ERR_NOTFOUND : rc;
}

/* A batch: more due rows of one destination, past the per-destination limit (rows another
 * node is claiming are skipped). */
static const char claim_batch_sql[] =
    "WITH pick AS (SELECT o.id FROM outbox o JOIN destinations t ON t.id = o.destination_id"
    "   WHERE o.account_id = $1::bigint AND o.destination_id = $2::bigint"
    "   AND t.account_id = $1::bigint AND o.state = 0 AND o.next_at <= $3::bigint"
    "   AND o.lease_until <= $3::bigint AND t.disabled_at = 0 AND t.deleted_at = 0"
    "   ORDER BY o.next_at, o.id LIMIT $6::bigint FOR UPDATE OF o SKIP LOCKED),"
    " c AS (UPDATE outbox o SET lease_until = $4::bigint, lease_owner = $5::text,"
    "   attempts = o.attempts + 1 FROM pick"
    "   WHERE o.id = pick.id AND o.account_id = $1::bigint"
    "   RETURNING o.id, o.account_id, o.destination_id, o.event_ref, o.created_at, o.state,"
    "   o.attempts, o.next_at)"
    " SELECT c.id, c.account_id, c.destination_id, e.event_id, e.type, e.body, c.created_at,"
    " c.state, c.attempts, c.next_at, t.id, t.ext_id, t.account_id, t.url,"
    " CASE WHEN t.platform <> '' THEN t.platform ELSE t.format END, t.events,"
    " t.secret, t.created_at, t.failing_since, t.disabled_at, t.last_error, e.id"
    " FROM c JOIN outbox_events e ON e.id = c.event_ref AND e.account_id = $1::bigint"
    " JOIN destinations t ON t.id = c.destination_id AND t.account_id = $1::bigint"
    " ORDER BY c.next_at, c.id";

int store_pg__outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                                 int64_t now, int64_t lease_until, const char *owner, size_t max,
                                 store_outbox_fn fn, void *ctx)
{
    if (max == 0)
        return ERR_OK;
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, destination_id);
    store__pg_i64(&a, now);
    store__pg_i64(&a, lease_until);
    store__pg_text(&a, owner);
    store__pg_i64(&a, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    PGresult *r = NULL;
    int rc = store__pg_exec(s, claim_batch_sql, &a, &r, "claim a batch of outbox messages");
    if (rc)
        return rc;
    struct st_outbox_msg *m = xmalloc(sizeof(*m));
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_destination d;
        read_msg(r, i, 0, m);
        read_dest(r, i, 10, &d);
        m->event_ref = store__pg_col_i64(r, i, 21);
        if (fn(ctx, m, &d))
            break;
    }
    free(m);
    PQclear(r);
    return ERR_OK;
}
