/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, export: the trace of visits, page views, tel: clicks and calls that
 * `opendni export trace` writes for the pool-sizing simulator. One read-only statement that
 * unions the sessions, leases, events and calls tables in time order. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

/* ?1 = since (ms), ?2 = account id (0 = all), ?3 = pool id (0 = all: else the sessions that
 * held a lease in it and the calls to its numbers or its fallback). Activity rows are distinct per
 * session and time, and never at the session's creation (that is the visit). */
static const char export_sql[] =
    "WITH ss AS (SELECT id, ext_id, created_at, last_active_at, device, region FROM sessions"
    "  WHERE created_at >= ?1 AND (?2 = 0 OR account_id = ?2) AND (?3 = 0 OR EXISTS"
    "  (SELECT 1 FROM leases l WHERE l.session_id = sessions.id AND l.pool_id = ?3))),"
    " act AS (SELECT DISTINCT sid, at FROM ("
    "  SELECT l.session_id AS sid, l.leased_at AS at FROM leases l JOIN ss ON ss.id = l.session_id"
    "  UNION ALL SELECT l.session_id, l.last_active_at FROM leases l"
    "   JOIN ss ON ss.id = l.session_id"
    "  UNION ALL SELECT id, last_active_at FROM ss))"
    " SELECT at, kind, sid, device, region, caller FROM ("
    "  SELECT created_at AS at, 0 AS kind, ext_id AS sid, device, region, NULL AS caller,"
    "   id AS k FROM ss"
    "  UNION ALL SELECT act.at, 1, ss.ext_id, NULL, NULL, NULL, ss.id FROM act"
    "   JOIN ss ON ss.id = act.sid WHERE act.at > ss.created_at"
    "  UNION ALL SELECT e.at, 2, ss.ext_id, NULL, NULL, NULL, ss.id FROM events e"
    "   JOIN ss ON ss.id = e.session_id WHERE e.type = 'tel_click' AND e.at >= ss.created_at"
    "  UNION ALL SELECT c.started_at, 3,"
    "   CASE WHEN c.method IN ('exact', 'shared', 'late') THEN ss.ext_id END, NULL, NULL,"
    "   c.from_number, c.id FROM calls c LEFT JOIN ss ON ss.id = c.session_id"
    "   WHERE c.started_at >= ?1 AND (?2 = 0 OR c.account_id = ?2)"
    "   AND (c.pool_id IS NOT NULL OR c.number_id IN"
    "    (SELECT id FROM numbers WHERE pool_id IS NOT NULL))"
    "   AND (?3 = 0 OR c.pool_id = ?3 OR c.number_id IN (SELECT id FROM numbers"
    "    WHERE pool_id = ?3))"
    " ) ORDER BY at, kind, k";

static void read_row(sqlite3_stmt *st, struct st_trace_row *r)
{
    memset(r, 0, sizeof(*r));
    r->at = sqlite3_column_int64(st, 0);
    r->kind = (enum st_trace_kind)sqlite3_column_int(st, 1);
    store__col_text(st, 2, r->session, sizeof(r->session));
    store__col_text(st, 3, r->device, sizeof(r->device));
    store__col_text(st, 4, r->region, sizeof(r->region));
    store__col_text(st, 5, r->from, sizeof(r->from));
}

int store_sqlite__export_trace(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                               store_trace_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, export_sql) : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, account_id);
    sqlite3_bind_int64(st, 3, pool_id);
    int rc;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct st_trace_row row;
        read_row(st, &row);
        if (fn(ctx, &row))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "export trace");
}
