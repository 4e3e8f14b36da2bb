/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, part 3: sessions, leases and events (the visit hot path's writes and the
 * reads that rebuild the lease engine and feed attribution). */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include "base/xalloc.h"

#define SESSION_COLS                                                                               \
    "id, ext_id, account_id, visitor_id, created_at, last_active_at, landing_page, referrer,"      \
    " channel, source, medium, campaign, keyword, content, click_ids, device, region, client_key," \
    " location"

static void read_session(sqlite3_stmt *st, struct st_session *ss)
{
    ss->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, ss->ext_id, sizeof(ss->ext_id));
    ss->account_id = sqlite3_column_int64(st, 2);
    store__col_text(st, 3, ss->visitor_id, sizeof(ss->visitor_id));
    ss->created_at = sqlite3_column_int64(st, 4);
    ss->last_active_at = sqlite3_column_int64(st, 5);
    store__col_text(st, 6, ss->landing_page, sizeof(ss->landing_page));
    store__col_text(st, 7, ss->referrer, sizeof(ss->referrer));
    store__col_text(st, 8, ss->channel, sizeof(ss->channel));
    store__col_text(st, 9, ss->source, sizeof(ss->source));
    store__col_text(st, 10, ss->medium, sizeof(ss->medium));
    store__col_text(st, 11, ss->campaign, sizeof(ss->campaign));
    store__col_text(st, 12, ss->keyword, sizeof(ss->keyword));
    store__col_text(st, 13, ss->content, sizeof(ss->content));
    store__col_text(st, 14, ss->click_ids, sizeof(ss->click_ids));
    store__col_text(st, 15, ss->device, sizeof(ss->device));
    store__col_text(st, 16, ss->region, sizeof(ss->region));
    store__col_text(st, 17, ss->client_key, sizeof(ss->client_key));
    store__col_text(st, 18, ss->location, sizeof(ss->location));
}

/* A new session is written with its cohort and funnel facts (sql/0024), so that sql/0035's
 * insert triggers leave the row alone (they rewrote every new row twice, moving four index
 * entries): first_at is the visitor's earliest created_at, or its own if it is the first; a
 * session earlier than its visitor's others (stored late) moves their first_at here, as the
 * trigger did; funnel is 1 when the caller inserts the session's lease in the same transaction
 * (store_visits_add), else 0, and the lease's trigger sets it. */
static int session_insert(struct sconn *c, struct st_session *ss, int funnel)
{
    sqlite3_stmt *st = store__prep(c, "SELECT MIN(created_at) FROM sessions"
                                      " WHERE account_id = ?1 AND visitor_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, ss->account_id);
    store__bind_text(st, 2, ss->visitor_id);
    int rc = sqlite3_step(st);
    bool known = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    int64_t first = known ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store__err(c, rc, "read visitor's first session");
    bool later = known && first > ss->created_at; /* the visitor's others move to this one */
    if (!known || later)
        first = ss->created_at;
    st = store__prep(
        c, "INSERT INTO sessions(ext_id, account_id, visitor_id, created_at, last_active_at,"
           " landing_page, referrer, channel, source, medium, campaign, keyword, content,"
           " click_ids, device, region, client_key, location, first_at, funnel)"
           " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ss->ext_id);
    sqlite3_bind_int64(st, 2, ss->account_id);
    store__bind_text(st, 3, ss->visitor_id);
    sqlite3_bind_int64(st, 4, ss->created_at);
    sqlite3_bind_int64(st, 5, ss->last_active_at);
    store__bind_opt(st, 6, ss->landing_page);
    store__bind_opt(st, 7, ss->referrer);
    store__bind_opt(st, 8, ss->channel);
    store__bind_opt(st, 9, ss->source);
    store__bind_opt(st, 10, ss->medium);
    store__bind_opt(st, 11, ss->campaign);
    store__bind_opt(st, 12, ss->keyword);
    store__bind_opt(st, 13, ss->content);
    store__bind_opt(st, 14, ss->click_ids);
    store__bind_opt(st, 15, ss->device);
    store__bind_opt(st, 16, ss->region);
    store__bind_opt(st, 17, ss->client_key);
    store__bind_opt(st, 18, ss->location);
    sqlite3_bind_int64(st, 19, first);
    sqlite3_bind_int(st, 20, funnel);
    rc = store__exec(c, st, "insert session");
    if (rc)
        return rc;
    ss->id = sqlite3_last_insert_rowid(c->db);
    if (!later)
        return ERR_OK;
    st = store__prep(c, "UPDATE sessions SET first_at = ?3 WHERE id IN (SELECT v.id FROM sessions v"
                        " WHERE v.account_id = ?1 AND v.visitor_id = ?2 AND +v.first_at > ?3)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, ss->account_id);
    store__bind_text(st, 2, ss->visitor_id);
    sqlite3_bind_int64(st, 3, ss->created_at);
    return store__exec(c, st, "move the visitor's first session");
}

int store_sqlite__session_put(struct store *s, struct st_session *ss)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    if (!ss->id)
        return session_insert(c, ss, 0);
    sqlite3_stmt *st = store__prep(
        c, "UPDATE sessions SET last_active_at = MAX(last_active_at, ?2) WHERE id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, ss->id);
    sqlite3_bind_int64(st, 2, ss->last_active_at);
    return store__exec(c, st, "update session");
}

static int session_query(struct sconn *c, sqlite3_stmt *st, struct st_session *ss)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_session(st, ss);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, "read session");
}

int store_sqlite__session_get(struct store *s, const char *ext_id, struct st_session *ss)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, "SELECT " SESSION_COLS " FROM sessions WHERE ext_id = ?1") : NULL;
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    return session_query(c, st, ss);
}

int store_sqlite__session_by_id(struct store *s, int64_t account_id, int64_t id,
                                struct st_session *ss)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT " SESSION_COLS
                                          " FROM sessions WHERE id = ?1 AND account_id = ?2")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return session_query(c, st, ss);
}

int store_sqlite__lease_add(struct store *s, struct st_lease *l)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *st =
        store__prep(c, "INSERT INTO leases(session_id, number_id, pool_id, leased_at,"
                       " last_active_at, expires_at, shared) VALUES (?1,?2,?3,?4,?5,?6,?7)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, l->session_id);
    sqlite3_bind_int64(st, 2, l->number_id);
    sqlite3_bind_int64(st, 3, l->pool_id);
    sqlite3_bind_int64(st, 4, l->leased_at);
    sqlite3_bind_int64(st, 5, l->last_active_at);
    sqlite3_bind_int64(st, 6, l->expires_at);
    sqlite3_bind_int(st, 7, l->shared);
    int rc = store__exec(c, st, "insert lease");
    if (rc == ERR_OK)
        l->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

/* A statement costs no round trip here: each session, then its lease. The session is written
 * with funnel bit 1 (it holds a lease: the next statement's), so the lease's trigger finds it
 * set and writes nothing. */
int store_sqlite__visits_add(struct store *s, struct st_visit_add *v, size_t n)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    for (size_t i = 0; i < n; i++) {
        int rc = session_insert(c, v[i].session, 1);
        if (rc == ERR_OK) {
            v[i].lease->session_id = v[i].session->id;
            rc = store_sqlite__lease_add(s, v[i].lease);
        }
        if (rc)
            return rc;
    }
    return ERR_OK;
}

#define LEASE_COLS                                                                                 \
    "l.id, l.session_id, l.number_id, l.pool_id, l.leased_at, l.last_active_at, l.expires_at,"     \
    " l.shared, s.ext_id, s.visitor_id, s.client_key, l.signals, s.account_id"                     \
    " FROM leases l JOIN sessions s ON s.id = l.session_id"

static void read_lease(sqlite3_stmt *st, struct st_lease *l)
{
    l->id = sqlite3_column_int64(st, 0);
    l->session_id = sqlite3_column_int64(st, 1);
    l->number_id = sqlite3_column_int64(st, 2);
    l->pool_id = sqlite3_column_int64(st, 3);
    l->leased_at = sqlite3_column_int64(st, 4);
    l->last_active_at = sqlite3_column_int64(st, 5);
    l->expires_at = sqlite3_column_int64(st, 6);
    l->shared = sqlite3_column_int(st, 7) != 0;
    store__col_text(st, 8, l->session_ext, sizeof(l->session_ext));
    store__col_text(st, 9, l->visitor_id, sizeof(l->visitor_id));
    store__col_text(st, 10, l->client_key, sizeof(l->client_key));
    l->signals = (unsigned)sqlite3_column_int(st, 11);
    l->account_id = sqlite3_column_int64(st, 12); /* the session's (SQLite's leases have none) */
}

int store_sqlite__lease_renew(struct store *s, int64_t account_id, int64_t session_id,
                              int64_t number_id, int64_t last_active_at, int64_t expires_at)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, "UPDATE leases SET last_active_at = MAX(last_active_at, ?3),"
                           " expires_at = MAX(expires_at, ?4)"
                           " WHERE id = (SELECT MAX(id) FROM leases"
                           " WHERE session_id = ?1 AND number_id = ?2)")
          : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    sqlite3_bind_int64(st, 2, number_id);
    sqlite3_bind_int64(st, 3, last_active_at);
    sqlite3_bind_int64(st, 4, expires_at);
    int rc = store__exec(c, st, "renew lease");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

int store_sqlite__lease_delete(struct store *s, int64_t account_id, int64_t session_id,
                               int64_t number_id, int64_t leased_at)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "DELETE FROM leases WHERE session_id = ?1"
                                          " AND number_id = ?2 AND leased_at = ?3")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    sqlite3_bind_int64(st, 2, number_id);
    sqlite3_bind_int64(st, 3, leased_at);
    int rc = store__exec(c, st, "delete lease");
    return rc ? rc : sqlite3_changes(c->db) ? ERR_OK : ERR_NOTFOUND;
}

static int each_lease(struct sconn *c, sqlite3_stmt *st, size_t max, store_lease_fn fn, void *ctx)
{
    int rc = SQLITE_DONE;
    for (size_t n = 0; n < max; n++) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct st_lease l;
        read_lease(st, &l);
        if (fn(ctx, &l))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list leases");
}

/* The latest lease per pool: the session's leases by pool, newest first, each pool's first row
 * passed on (one sort; the IN (SELECT MAX(id) … GROUP BY pool_id) form built three temporary
 * B-trees per repeat page view). */
static int by_pool_id(const void *a, const void *b)
{
    const struct st_lease *x = a, *y = b;
    return (x->pool_id > y->pool_id) - (x->pool_id < y->pool_id);
}

/* The latest lease per pool is picked here rather than by ORDER BY: the session's few rows
 * come in index order, and SQLite's sorter (a temporary B-tree per query) cost more than the
 * rows themselves on every repeat page view. */
int store_sqlite__session_leases(struct store *s, int64_t account_id, int64_t session_id,
                                 store_lease_fn fn, void *ctx)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT " LEASE_COLS " WHERE l.session_id = ?1") : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    struct st_lease few[4];
    struct st_lease *latest = few; /* one per pool */
    size_t n = 0, cap = ARRAY_SIZE(few);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_lease l;
        read_lease(st, &l);
        size_t i = 0;
        while (i < n && latest[i].pool_id != l.pool_id)
            i++;
        if (i < n) {
            if (l.id > latest[i].id)
                latest[i] = l;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            struct st_lease *more = xmalloc(cap * sizeof(*more));
            memcpy(more, latest, n * sizeof(*more));
            if (latest != few)
                free(latest);
            latest = more;
        }
        latest[n++] = l;
    }
    sqlite3_reset(st);
    int out = rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list leases");
    if (out == ERR_OK) {
        qsort(latest, n, sizeof(*latest), by_pool_id);
        for (size_t i = 0; i < n; i++)
            if (fn(ctx, &latest[i]))
                break;
    }
    if (latest != few)
        free(latest);
    return out;
}

int store_sqlite__session_held(struct store *s, int64_t account_id, int64_t session_id,
                               int64_t number_id, bool *held)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT 1 FROM leases WHERE session_id = ?1"
                                          " AND number_id = ?2 LIMIT 1")
                         : NULL;
    *held = false;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    sqlite3_bind_int64(st, 2, number_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    *held = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "read lease");
}

int store_sqlite__lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                                  store_lease_fn fn, void *ctx)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT " LEASE_COLS " WHERE l.pool_id = ?1"
                                          " AND l.expires_at > ?2 ORDER BY l.last_active_at, l.id")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, pool_id);
    sqlite3_bind_int64(st, 2, at);
    return each_lease(c, st, SIZE_MAX, fn, ctx);
}

int store_sqlite__lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                              int64_t until, size_t max, store_lease_fn fn, void *ctx)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, "SELECT " LEASE_COLS " WHERE l.pool_id = ?1 AND l.expires_at > ?2"
                           " AND l.leased_at < ?3 ORDER BY l.expires_at, l.id")
          : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, pool_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    return each_lease(c, st, max, fn, ctx);
}

int store_sqlite__lease_history(struct store *s, int64_t account_id, int64_t number_id,
                                int64_t since, size_t max, store_lease_fn fn, void *ctx)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, "SELECT " LEASE_COLS " WHERE l.number_id = ?1"
                           " AND l.expires_at > ?2 ORDER BY l.expires_at DESC, l.id DESC")
          : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, number_id);
    sqlite3_bind_int64(st, 2, since);
    return each_lease(c, st, max, fn, ctx);
}

int store_sqlite__event_add(struct store *s, const struct st_event *e)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "INSERT INTO events(session_id, type, number, detail, at)"
                                          " VALUES (?1, ?2, ?3, ?4, ?5)")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, e->session_id);
    store__bind_text(st, 2, e->type);
    store__bind_opt(st, 3, e->number);
    store__bind_opt(st, 4, e->detail);
    sqlite3_bind_int64(st, 5, e->at);
    return store__exec(c, st, "insert event");
}

int store_sqlite__event_last(struct store *s, int64_t account_id, int64_t session_id,
                             const char *type, const char *number, int64_t before, int64_t *at)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT MAX(at) FROM events WHERE session_id = ?1"
                                          " AND type = ?2 AND (?3 IS NULL OR number = ?3)"
                                          " AND at <= ?4")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    store__bind_text(st, 2, type);
    store__bind_opt(st, 3, number);
    sqlite3_bind_int64(st, 4, before);
    int rc = sqlite3_step(st);
    *at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "read event");
}

int store_sqlite__event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                                    const char *type, char *detail, size_t cap)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT detail FROM events WHERE session_id = ?1"
                                          " AND type = ?2 ORDER BY at DESC, id DESC LIMIT 1")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    store__bind_text(st, 2, type);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store__col_text(st, 0, detail, cap);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "read event");
}

int store_sqlite__event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                             store_event_fn fn, void *ctx)
{
    (void)account_id; /* one node: the lease and event rows need no account filter */
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT type, number, detail, at FROM events"
                                          " WHERE session_id = ?1 ORDER BY at, id")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, session_id);
    int rc = SQLITE_DONE;
    for (size_t n = 0; n < max; n++) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct st_event e = {.session_id = session_id, .at = sqlite3_column_int64(st, 3)};
        store__col_text(st, 0, e.type, sizeof(e.type));
        store__col_text(st, 1, e.number, sizeof(e.number));
        store__col_text(st, 2, e.detail, sizeof(e.detail));
        if (fn(ctx, &e))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list events");
}

/* ---- page views (sql/0026) ---- */

/* ?1 account, ?2 session, ?3 path, ?4 title, ?5 at, ?6 the most rows, ?7 dedupe. The walk of
 * the session's rows is bounded by the cap (at most 199 rows per session). */
static const char page_view_insert[] =
    "INSERT OR IGNORE INTO page_views(account_id, session_id, seq, path, title, at)"
    " SELECT ?1, ?2, COALESCE(MAX(seq), 0) + 1, ?3, ?4, ?5 FROM page_views"
    " WHERE account_id = ?1 AND session_id = ?2"
    " HAVING COALESCE(MAX(seq), 0) < ?6 AND (?7 = 0 OR COALESCE((SELECT path FROM page_views"
    "  WHERE account_id = ?1 AND session_id = ?2 ORDER BY seq DESC LIMIT 1), '') <> ?3)";

int store_sqlite__page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe,
                                bool *added)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, page_view_insert) : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, pv->account_id);
    sqlite3_bind_int64(st, 2, pv->session_id);
    store__bind_text(st, 3, pv->path);
    store__bind_opt(st, 4, pv->title);
    sqlite3_bind_int64(st, 5, pv->at);
    sqlite3_bind_int64(st, 6, STORE_PAGE_VIEWS_MAX - 1);
    sqlite3_bind_int(st, 7, dedupe ? 1 : 0);
    int rc = store__exec(c, st, "insert page view");
    if (rc == ERR_OK && added)
        *added = sqlite3_changes(c->db) > 0;
    return rc;
}

int store_sqlite__page_view_list(struct store *s, int64_t account_id, int64_t session_id,
                                 size_t max, store_page_view_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "SELECT seq, path, title, at FROM page_views"
                                          " WHERE account_id = ?1 AND session_id = ?2"
                                          " ORDER BY seq")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, session_id);
    int rc = SQLITE_DONE;
    for (size_t n = 0; n < max; n++) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct st_page_view pv = {.account_id = account_id, .session_id = session_id};
        pv.seq = sqlite3_column_int(st, 0);
        store__col_text(st, 1, pv.path, sizeof(pv.path));
        store__col_text(st, 2, pv.title, sizeof(pv.title));
        pv.at = sqlite3_column_int64(st, 3);
        if (fn(ctx, &pv))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list page views");
}
