/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend, part 3: sessions, durable leases and events (the visit hot path's writes
 * and the reads that feed attribution). The lease claims themselves are store_pg_lease.c. */
#include "base/prelude.h"
#include "store/store_pg_int.h"

#include "base/xalloc.h"

#define SESSION_COLS                                                                               \
    "id, ext_id, account_id, visitor_id, created_at, last_active_at, landing_page, referrer,"      \
    " channel, source, medium, campaign, keyword, content, click_ids, device, region, client_key," \
    " location"

static void read_session(const PGresult *r, int i, struct st_session *ss)
{
    ss->id = store__pg_col_i64(r, i, 0);
    store__pg_col_text(r, i, 1, ss->ext_id, sizeof(ss->ext_id));
    ss->account_id = store__pg_col_i64(r, i, 2);
    store__pg_col_text(r, i, 3, ss->visitor_id, sizeof(ss->visitor_id));
    ss->created_at = store__pg_col_i64(r, i, 4);
    ss->last_active_at = store__pg_col_i64(r, i, 5);
    store__pg_col_text(r, i, 6, ss->landing_page, sizeof(ss->landing_page));
    store__pg_col_text(r, i, 7, ss->referrer, sizeof(ss->referrer));
    store__pg_col_text(r, i, 8, ss->channel, sizeof(ss->channel));
    store__pg_col_text(r, i, 9, ss->source, sizeof(ss->source));
    store__pg_col_text(r, i, 10, ss->medium, sizeof(ss->medium));
    store__pg_col_text(r, i, 11, ss->campaign, sizeof(ss->campaign));
    store__pg_col_text(r, i, 12, ss->keyword, sizeof(ss->keyword));
    store__pg_col_text(r, i, 13, ss->content, sizeof(ss->content));
    store__pg_col_text(r, i, 14, ss->click_ids, sizeof(ss->click_ids));
    store__pg_col_text(r, i, 15, ss->device, sizeof(ss->device));
    store__pg_col_text(r, i, 16, ss->region, sizeof(ss->region));
    store__pg_col_text(r, i, 17, ss->client_key, sizeof(ss->client_key));
    store__pg_col_text(r, i, 18, ss->location, sizeof(ss->location));
}

/* The columns of a new session after its id, as parameters $2..$19 (store__pg_visits_add's
 * insert names the id) or $1..$18. */
static void session_args(struct pgargs *a, const struct st_session *ss)
{
    store__pg_text(a, ss->ext_id);
    store__pg_i64(a, ss->account_id);
    store__pg_text(a, ss->visitor_id);
    store__pg_i64(a, ss->created_at);
    store__pg_i64(a, ss->last_active_at);
    store__pg_opt(a, ss->landing_page);
    store__pg_opt(a, ss->referrer);
    store__pg_opt(a, ss->channel);
    store__pg_opt(a, ss->source);
    store__pg_opt(a, ss->medium);
    store__pg_opt(a, ss->campaign);
    store__pg_opt(a, ss->keyword);
    store__pg_opt(a, ss->content);
    store__pg_opt(a, ss->click_ids);
    store__pg_opt(a, ss->device);
    store__pg_opt(a, ss->region);
    store__pg_opt(a, ss->client_key);
    store__pg_opt(a, ss->location);
}

/* A new session is written with its cohort and funnel facts (sql/0024), so that sql_pg/0035's
 * insert trigger (first_at 0 only) and the lease's trigger leave the row alone (each rewrote it:
 * a new row version and its index entries, and a PL/pgSQL call): first_at is the visitor's
 * earliest created_at, or its own if it is the first, and a session earlier than its visitor's
 * others (stored late) moves their first_at in the same statement (`later`); funnel is 1 when
 * the session's lease is inserted in the same step (store_pg__visits_add), else 0. */
static const char SESSION_INSERT[] =
    "WITH later AS (UPDATE sessions SET first_at = $4 WHERE account_id = $2 AND visitor_id = $3"
    " AND first_at > $4) INSERT INTO sessions(ext_id, account_id, visitor_id, created_at,"
    " last_active_at, landing_page, referrer, channel, source, medium, campaign, keyword,"
    " content, click_ids, device, region, client_key, location, first_at) VALUES ($1, $2, $3,"
    " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " LEAST($4, (SELECT MIN(v.created_at) FROM sessions v WHERE v.account_id = $2"
    " AND v.visitor_id = $3))) RETURNING id";
/* the same with the id given ($1) and funnel bit 1 */
static const char SESSION_INSERT_LEASED[] =
    "WITH later AS (UPDATE sessions SET first_at = $5 WHERE account_id = $3 AND visitor_id = $4"
    " AND first_at > $5) INSERT INTO sessions(id, ext_id, account_id, visitor_id, created_at,"
    " last_active_at, landing_page, referrer, channel, source, medium, campaign, keyword,"
    " content, click_ids, device, region, client_key, location, first_at, funnel) VALUES ($1,"
    " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
    " LEAST($5, (SELECT MIN(v.created_at) FROM sessions v WHERE v.account_id = $3"
    " AND v.visitor_id = $4)), 1)";

static int session_insert(struct store *s, struct st_session *ss)
{
    struct pgargs a = {0};
    session_args(&a, ss);
    PGresult *r = NULL;
    int rc = store__pg_row(s, SESSION_INSERT, &a, &r, "insert session");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    ss->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__session_put(struct store *s, struct st_session *ss)
{
    if (!ss->id)
        return session_insert(s, ss);
    struct pgargs a = {0};
    store__pg_i64(&a, ss->id);
    store__pg_i64(&a, ss->last_active_at);
    store__pg_i64(&a, ss->account_id);
    return store__pg_exec(s,
                          "UPDATE sessions SET last_active_at = GREATEST(last_active_at, $2)"
                          " WHERE account_id = $3 AND id = $1",
                          &a, NULL, "update session");
}

static int session_query(struct store *s, const char *sql, const struct pgargs *a,
                         struct st_session *ss)
{
    PGresult *r = NULL;
    int rc = store__pg_row(s, sql, a, &r, "read session");
    if (rc)
        return rc;
    read_session(r, 0, ss);
    PQclear(r);
    return ERR_OK;
}

int store_pg__session_get(struct store *s, const char *ext_id, struct st_session *ss)
{
    struct pgargs a = {0};
    store__pg_text(&a, ext_id);
    return session_query(s, "SELECT " SESSION_COLS " FROM sessions WHERE ext_id = $1", &a, ss);
}

int store_pg__session_by_id(struct store *s, int64_t account_id, int64_t id, struct st_session *ss)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    return session_query(
        s, "SELECT " SESSION_COLS " FROM sessions WHERE account_id = $2 AND id = $1", &a, ss);
}

/* One statement text for both store_pg__lease_add and store_pg__visits_add: a prepared
 * statement is cached by its text's address. */
static const char LEASE_INSERT[] = "INSERT INTO leases(session_id, number_id, pool_id, leased_at,"
                                   " last_active_at, expires_at, shared, account_id)"
                                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

static void lease_args(struct pgargs *a, const struct st_lease *l)
{
    store__pg_i64(a, l->session_id);
    store__pg_i64(a, l->number_id);
    store__pg_i64(a, l->pool_id);
    store__pg_i64(a, l->leased_at);
    store__pg_i64(a, l->last_active_at);
    store__pg_i64(a, l->expires_at);
    store__pg_i64(a, l->shared ? 1 : 0);
    store__pg_i64(a, l->account_id);
}

int store_pg__lease_add(struct store *s, struct st_lease *l)
{
    store__pg_replan_tick(s); /* its foreign key checks' plans follow sessions' growth */
    struct pgargs a = {0};
    lease_args(&a, l);
    PGresult *r = NULL;
    int rc = store__pg_row(s, LEASE_INSERT, &a, &r, "insert lease");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    l->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

static void lease_id(void *ctx, size_t i, const PGresult *r)
{
    struct st_visit_add *v = ctx;
    if (i % 2 == 1 && PQntuples(r) == 1) /* the statements alternate: session, its lease */
        v[i / 2].lease->id = store__pg_col_i64(r, 0, 0);
}

/* Two round trips for the n: the sessions' ids from their identity's sequence, then every
 * session and its lease in one pipeline (each statement as the one-at-a-time path's, the
 * session's with its id given and its funnel bit 1: the lease follows it). The pipeline's replies
 * are small (an id each), so a blocking send cannot fill both sockets' buffers: batches are at most
 * store_savepoints_max visits. */
int store_pg__visits_add(struct store *s, struct st_visit_add *v, size_t n)
{
    if (n == 0)
        return ERR_OK;
    store__pg_replan_tick(s); /* the leases' foreign key checks' plans follow sessions' growth */
    struct pgargs a = {0};
    store__pg_i64(&a, (int64_t)n);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT nextval(pg_get_serial_sequence('sessions', 'id'))"
                            " FROM generate_series(1, $1)",
                            &a, &r, "session ids");
    if (rc)
        return rc;
    if ((size_t)PQntuples(r) != n) {
        PQclear(r);
        return ERR_BACKEND;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].session->id = store__pg_col_i64(r, (int)i, 0);
        v[i].lease->session_id = v[i].session->id;
    }
    PQclear(r);
    const char **sql = xcalloc(2 * n, sizeof(*sql));
    struct pgargs *args = xcalloc(2 * n, sizeof(*args));
    for (size_t i = 0; i < n; i++) {
        sql[2 * i] = SESSION_INSERT_LEASED;
        store__pg_i64(&args[2 * i], v[i].session->id);
        session_args(&args[2 * i], v[i].session);
        sql[2 * i + 1] = LEASE_INSERT;
        lease_args(&args[2 * i + 1], v[i].lease);
    }
    rc = store__pg_pipeline(s, 2 * n, sql, args, lease_id, v, "insert sessions and leases");
    free(sql);
    free(args);
    return rc;
}

#define LEASE_COLS                                                                                 \
    "l.id, l.session_id, l.number_id, l.pool_id, l.leased_at, l.last_active_at, l.expires_at,"     \
    " l.shared, s.ext_id, s.visitor_id, s.client_key, l.account_id"                                \
    " FROM leases l JOIN sessions s ON s.account_id = l.account_id AND s.id = l.session_id"

static void read_lease(const PGresult *r, int i, struct st_lease *l)
{
    l->id = store__pg_col_i64(r, i, 0);
    l->session_id = store__pg_col_i64(r, i, 1);
    l->number_id = store__pg_col_i64(r, i, 2);
    l->pool_id = store__pg_col_i64(r, i, 3);
    l->leased_at = store__pg_col_i64(r, i, 4);
    l->last_active_at = store__pg_col_i64(r, i, 5);
    l->expires_at = store__pg_col_i64(r, i, 6);
    l->shared = store__pg_col_i64(r, i, 7) != 0;
    store__pg_col_text(r, i, 8, l->session_ext, sizeof(l->session_ext));
    store__pg_col_text(r, i, 9, l->visitor_id, sizeof(l->visitor_id));
    store__pg_col_text(r, i, 10, l->client_key, sizeof(l->client_key));
    l->account_id = store__pg_col_i64(r, i, 11);
}

int store_pg__lease_renew(struct store *s, int64_t account_id, int64_t session_id,
                          int64_t number_id, int64_t last_active_at, int64_t expires_at)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, number_id);
    store__pg_i64(&a, last_active_at);
    store__pg_i64(&a, expires_at);
    store__pg_i64(&a, account_id);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "UPDATE leases SET last_active_at = GREATEST(last_active_at, $3),"
                               " expires_at = GREATEST(expires_at, $4)"
                               " WHERE account_id = $5 AND id = (SELECT MAX(id) FROM leases"
                               " WHERE account_id = $5 AND session_id = $1 AND number_id = $2)",
                               &a, &n, "renew lease");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__lease_delete(struct store *s, int64_t account_id, int64_t session_id,
                           int64_t number_id, int64_t leased_at)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, number_id);
    store__pg_i64(&a, leased_at);
    store__pg_i64(&a, account_id);
    int64_t n = 0;
    int rc = store__pg_changes(s,
                               "DELETE FROM leases WHERE account_id = $4 AND session_id = $1"
                               " AND number_id = $2 AND leased_at = $3",
                               &a, &n, "delete lease");
    return rc ? rc : n ? ERR_OK : ERR_NOTFOUND;
}

int store_pg__session_held(struct store *s, int64_t account_id, int64_t session_id,
                           int64_t number_id, bool *held)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, number_id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT 1 FROM leases WHERE account_id = $3 AND session_id = $1"
                           " AND number_id = $2 LIMIT 1",
                           &a, &r, "read lease");
    *held = rc == ERR_OK;
    PQclear(r);
    return rc == ERR_NOTFOUND ? ERR_OK : rc;
}

/* Runs a lease query and calls fn per row (all rows are read first, so fn may use the store). */
static int each_lease(struct store *s, const char *sql, const struct pgargs *a, size_t max,
                      store_lease_fn fn, void *ctx)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, sql, a, &r, "list leases");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r) && (size_t)i < max; i++) {
        struct st_lease l;
        read_lease(r, i, &l);
        if (fn(ctx, &l))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

int store_pg__session_leases(struct store *s, int64_t account_id, int64_t session_id,
                             store_lease_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, account_id);
    return each_lease(s,
                      "SELECT " LEASE_COLS " WHERE l.account_id = $2 AND l.id IN (SELECT MAX(id)"
                      " FROM leases WHERE account_id = $2 AND session_id = $1 GROUP BY pool_id)"
                      " ORDER BY l.pool_id",
                      &a, SIZE_MAX, fn, ctx);
}

int store_pg__lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                              store_lease_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, at);
    store__pg_i64(&a, account_id);
    return each_lease(s,
                      "SELECT " LEASE_COLS " WHERE l.account_id = $3 AND l.pool_id = $1"
                      " AND l.expires_at > $2"
                      " ORDER BY l.last_active_at, l.id",
                      &a, SIZE_MAX, fn, ctx);
}

int store_pg__lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                          int64_t until, size_t max, store_lease_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, pool_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, until);
    store__pg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    store__pg_i64(&a, account_id);
    return each_lease(s,
                      "SELECT " LEASE_COLS " WHERE l.account_id = $5 AND l.pool_id = $1"
                      " AND l.expires_at > $2 AND l.leased_at < $3"
                      " ORDER BY l.expires_at, l.id LIMIT $4",
                      &a, max, fn, ctx);
}

int store_pg__lease_history(struct store *s, int64_t account_id, int64_t number_id, int64_t since,
                            size_t max, store_lease_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, number_id);
    store__pg_i64(&a, since);
    store__pg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    store__pg_i64(&a, account_id);
    return each_lease(s,
                      "SELECT " LEASE_COLS " WHERE l.account_id = $4 AND l.number_id = $1"
                      " AND l.expires_at > $2"
                      " ORDER BY l.expires_at DESC, l.id DESC LIMIT $3",
                      &a, max, fn, ctx);
}

int store_pg__event_add(struct store *s, const struct st_event *e)
{
    struct pgargs a = {0};
    store__pg_i64(&a, e->session_id);
    store__pg_text(&a, e->type);
    store__pg_opt(&a, e->number);
    store__pg_opt(&a, e->detail);
    store__pg_i64(&a, e->at);
    store__pg_i64(&a, e->account_id);
    return store__pg_exec(s,
                          "INSERT INTO events(session_id, type, number, detail, at, account_id)"
                          " VALUES ($1, $2, $3, $4, $5, $6)",
                          &a, NULL, "insert event");
}

int store_pg__event_last(struct store *s, int64_t account_id, int64_t session_id, const char *type,
                         const char *number, int64_t before, int64_t *at)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_text(&a, type);
    store__pg_opt(&a, number);
    store__pg_i64(&a, before);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    *at = 0;
    int rc = store__pg_row(s,
                           "SELECT MAX(at) FROM events WHERE account_id = $5 AND session_id = $1"
                           " AND type = $2"
                           " AND ($3::text IS NULL OR number = $3) AND at <= $4",
                           &a, &r, "read event");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    *at = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                                const char *type, char *detail, size_t cap)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_text(&a, type);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_row(s,
                           "SELECT detail FROM events WHERE account_id = $3 AND session_id = $1"
                           " AND type = $2"
                           " ORDER BY at DESC, id DESC LIMIT 1",
                           &a, &r, "read event");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    store__pg_col_text(r, 0, 0, detail, cap);
    PQclear(r);
    return ERR_OK;
}

int store_pg__event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                         store_event_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT type, number, detail, at FROM events WHERE account_id = $3"
                            " AND session_id = $1 ORDER BY at, id LIMIT $2",
                            &a, &r, "list events");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_event e = {
            .account_id = account_id, .session_id = session_id, .at = store__pg_col_i64(r, i, 3)};
        store__pg_col_text(r, i, 0, e.type, sizeof(e.type));
        store__pg_col_text(r, i, 1, e.number, sizeof(e.number));
        store__pg_col_text(r, i, 2, e.detail, sizeof(e.detail));
        if (fn(ctx, &e))
            break;
    }
    PQclear(r);
    return ERR_OK;
}

/* ---- page views (sql_pg/0026) ---- */

/* $1 account, $2 session, $3 path, $4 title, $5 at, $6 the most rows, $7 dedupe. */
int store_pg__page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe,
                            bool *added)
{
    struct pgargs a = {0};
    store__pg_i64(&a, pv->account_id);
    store__pg_i64(&a, pv->session_id);
    store__pg_text(&a, pv->path);
    store__pg_opt(&a, pv->title);
    store__pg_i64(&a, pv->at);
    store__pg_i64(&a, STORE_PAGE_VIEWS_MAX - 1);
    store__pg_i64(&a, dedupe ? 1 : 0);
    int64_t n = 0;
    int rc = store__pg_changes(
        s,
        "INSERT INTO page_views(account_id, session_id, seq, path, title, at)"
        " SELECT $1::bigint, $2::bigint, COALESCE(MAX(seq), 0) + 1, $3::text, $4::text,"
        " $5::bigint FROM page_views WHERE account_id = $1::bigint AND session_id = $2::bigint"
        " HAVING COALESCE(MAX(seq), 0) < $6::bigint AND ($7::bigint = 0 OR"
        "  COALESCE((SELECT path FROM page_views WHERE account_id = $1::bigint"
        "  AND session_id = $2::bigint ORDER BY seq DESC LIMIT 1), '') <> $3::text)"
        " ON CONFLICT DO NOTHING",
        &a, &n, "insert page view");
    if (rc == ERR_OK && added)
        *added = n > 0;
    return rc;
}

int store_pg__page_view_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                             store_page_view_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, session_id);
    store__pg_i64(&a, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT seq, path, title, at FROM page_views WHERE account_id = $1"
                            " AND session_id = $2 ORDER BY seq LIMIT $3",
                            &a, &r, "list page views");
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        struct st_page_view pv = {.account_id = account_id, .session_id = session_id};
        pv.seq = (int)store__pg_col_i64(r, i, 0);
        store__pg_col_text(r, i, 1, pv.path, sizeof(pv.path));
        store__pg_col_text(r, i, 2, pv.title, sizeof(pv.title));
        pv.at = store__pg_col_i64(r, i, 3);
        if (fn(ctx, &pv))
            break;
    }
    PQclear(r);
    return ERR_OK;
}
