/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, part 5: the read-only queries behind reports and the Google Ads exports.
 * Rows are streamed to the caller's callback while the statement steps, so a report over a
 * month of calls holds one row at a time. Schema: sql/0001_init.sql + 0002_calls.sql. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

/* The attribution, conversion and outcome come from call_facts (sql/0031): the call's source
 * snapshot, the session's values filling calls stored without one, its conversion and outcome,
 * kept by triggers, so sessions, conversions and call_outcomes are not read. Without
 * STORE_REPORT_NEED_ROUTING the routing record, its location and the recorded payout are not
 * read. */
#define RC_ATTR " f.channel, f.source, f.medium, f.campaign, f.keyword, f.landing_page, f.device,"
#define RC_MIDDLE                                                                                  \
    " COALESCE(f.converted, 0), COALESCE(f.conv_value, 0), COALESCE(f.lead_status, 'new'),"        \
    " c.ext_id, c.from_number, c.to_number, p.name, f.content, c.provider,"                        \
    " COALESCE(f.revenue, -1), COALESCE(c.first_caller = 1, NOT EXISTS (SELECT 1 FROM calls e"     \
    " WHERE e.account_id = c.account_id AND e.from_number = c.from_number AND e.id < c.id)),"
#define RC_ROUTE_COLS                                                                              \
    " COALESCE(ld.name, ''), COALESCE(p.ext_id, ''), COALESCE(cr.target, ''),"                     \
    " COALESCE(cr.price, 0), COALESCE(cr.billable, -1), COALESCE(f.outcome_billable, -1),"         \
    " COALESCE(cp.payout, -1), COALESCE(cp.publisher, ''), COALESCE(cp.publisher_name, '')"
#define RC_NO_ROUTE_COLS                                                                           \
    " '', COALESCE(p.ext_id, ''), '', 0, -1, COALESCE(f.outcome_billable, -1), -1, '', ''"
#define RC_FACTS_JOIN " LEFT JOIN call_facts f ON f.call_id = c.id"
#define RC_COMMON_JOINS " LEFT JOIN pools p ON p.id = c.pool_id"
#define RC_ROUTE_JOINS                                                                             \
    " LEFT JOIN call_payouts cp ON cp.call_id = c.id"                                              \
    " LEFT JOIN call_routes cr ON cr.provider = c.provider AND cr.call_sid = c.provider_call_id"   \
    " AND cr.account_id = c.account_id"                                                            \
    " LEFT JOIN route_docs ld ON ld.account_id = c.account_id AND ld.kind = 'location'"            \
    " AND ld.ext_id = COALESCE(NULLIF(cr.location, ''), c.location, f.conv_location)"
#define RC_WHERE                                                                                   \
    " WHERE c.account_id = ?1 AND c.started_at >= ?2 AND c.started_at < ?3"                        \
    " ORDER BY c.started_at, c.id"

/* [0]: without routing, [1]: everything. */
static const char *const report_call_sql[2] = {
    "SELECT c.id, c.status, c.duration, c.started_at," RC_ATTR RC_MIDDLE RC_NO_ROUTE_COLS
    " FROM calls c" RC_FACTS_JOIN RC_COMMON_JOINS RC_WHERE,
    "SELECT c.id, c.status, c.duration, c.started_at," RC_ATTR RC_MIDDLE RC_ROUTE_COLS
    " FROM calls c" RC_FACTS_JOIN RC_COMMON_JOINS RC_ROUTE_JOINS RC_WHERE,
};

/* click_ids is written by the server as a JSON object; json_valid keeps one bad row from
 * failing the whole export. */
#define CLICK_ID(name)                                                                             \
    " CASE WHEN json_valid(s.click_ids) THEN json_extract(s.click_ids, '$." name "') END"

/* clang-format off */
#define REPORT_CONVERSION_SQL                                                                      \
    "SELECT cv.id, c.ext_id, c.from_number, c.started_at, cv.name, cv.value, cv.currency,"         \
    " cv.at," CLICK_ID("gclid") "," CLICK_ID("gbraid") "," CLICK_ID("wbraid") ","                  \
    " c.method, c.confidence, COALESCE(s.created_at, 0)," CLICK_ID("msclkid")                      \
    " FROM conversions cv JOIN calls c ON c.id = cv.call_id"                                       \
    " LEFT JOIN sessions s ON s.id = c.session_id"                                                 \
    " WHERE cv.account_id = ?1 AND cv.at >= ?2 AND cv.at < ?3"                                     \
    " ORDER BY cv.at, cv.id"
/* clang-format on */

static void read_report_call(sqlite3_stmt *st, struct st_report_call *r)
{
    r->call_id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, r->status, sizeof(r->status));
    r->duration_s = sqlite3_column_int64(st, 2);
    r->started_at = sqlite3_column_int64(st, 3);
    store__col_text(st, 4, r->channel, sizeof(r->channel));
    store__col_text(st, 5, r->source, sizeof(r->source));
    store__col_text(st, 6, r->medium, sizeof(r->medium));
    store__col_text(st, 7, r->campaign, sizeof(r->campaign));
    store__col_text(st, 8, r->keyword, sizeof(r->keyword));
    store__col_text(st, 9, r->landing_page, sizeof(r->landing_page));
    store__col_text(st, 10, r->device, sizeof(r->device));
    r->converted = sqlite3_column_int(st, 11) != 0;
    r->value = sqlite3_column_double(st, 12);
    store__col_text(st, 13, r->lead_status, sizeof(r->lead_status));
    store__col_text(st, 14, r->call_ext, sizeof(r->call_ext));
    store__col_text(st, 15, r->from, sizeof(r->from));
    store__col_text(st, 16, r->to, sizeof(r->to));
    store__col_text(st, 17, r->pool, sizeof(r->pool));
    store__col_text(st, 18, r->content, sizeof(r->content));
    store__col_text(st, 19, r->provider, sizeof(r->provider));
    r->revenue = sqlite3_column_int64(st, 20);
    r->first_time = sqlite3_column_int(st, 21) != 0;
    store__col_text(st, 22, r->location, sizeof(r->location));
    store__col_text(st, 23, r->pool_ext, sizeof(r->pool_ext));
    store__col_text(st, 24, r->target, sizeof(r->target));
    r->price = sqlite3_column_int64(st, 25);
    r->rule_billable = sqlite3_column_int(st, 26);
    r->person_billable = sqlite3_column_int(st, 27);
    r->payout = sqlite3_column_int64(st, 28);
    store__col_text(st, 29, r->publisher, sizeof(r->publisher));
    store__col_text(st, 30, r->publisher_name, sizeof(r->publisher_name));
}

static void read_report_conversion(sqlite3_stmt *st, struct st_report_conversion *r)
{
    r->id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, r->call_ext, sizeof(r->call_ext));
    store__col_text(st, 2, r->from, sizeof(r->from));
    r->call_started_at = sqlite3_column_int64(st, 3);
    store__col_text(st, 4, r->name, sizeof(r->name));
    r->value = sqlite3_column_double(st, 5);
    store__col_text(st, 6, r->currency, sizeof(r->currency));
    r->at = sqlite3_column_int64(st, 7);
    store__col_text(st, 8, r->gclid, sizeof(r->gclid));
    store__col_text(st, 9, r->gbraid, sizeof(r->gbraid));
    store__col_text(st, 10, r->wbraid, sizeof(r->wbraid));
    store__col_text(st, 11, r->method, sizeof(r->method));
    r->confidence = sqlite3_column_double(st, 12);
    r->click_at = sqlite3_column_int64(st, 13);
    store__col_text(st, 14, r->msclkid, sizeof(r->msclkid));
}

/* Binds (account, since, until) and steps st, calling each(st, ctx) per row until it returns
 * non-zero. */
static int stream_rows(struct sconn *c, sqlite3_stmt *st, int64_t account_id, int64_t since,
                       int64_t until, int (*each)(sqlite3_stmt *st, void *ctx), void *ctx,
                       const char *what)
{
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW) {
        if (each(st, ctx))
            break;
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, what);
}

struct call_walk {
    store_report_call_fn fn;
    void *ctx;
};

static int each_call(sqlite3_stmt *st, void *arg)
{
    struct call_walk *w = arg;
    struct st_report_call r;
    read_report_call(st, &r);
    return w->fn(w->ctx, &r);
}

int store_sqlite__report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                               unsigned need, store_report_call_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, report_call_sql[(need & STORE_REPORT_NEED_ROUTING) != 0]) : NULL;
    if (!st)
        return ERR_BACKEND;
    struct call_walk w = {fn, ctx};
    return stream_rows(c, st, account_id, since, until, each_call, &w, "report calls");
}

struct conversion_walk {
    store_report_conversion_fn fn;
    void *ctx;
};

static int each_conversion(sqlite3_stmt *st, void *arg)
{
    struct conversion_walk *w = arg;
    struct st_report_conversion r;
    read_report_conversion(st, &r);
    return w->fn(w->ctx, &r);
}

int store_sqlite__report_conversions(struct store *s, int64_t account_id, int64_t since,
                                     int64_t until, store_report_conversion_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, REPORT_CONVERSION_SQL) : NULL;
    if (!st)
        return ERR_BACKEND;
    struct conversion_walk w = {fn, ctx};
    return stream_rows(c, st, account_id, since, until, each_conversion, &w, "report conversions");
}

/* ---- ad spend (sql/0018) ---- */

int store_sqlite__spend_replace(struct store *s, int64_t account_id, const char *platform,
                                const char *currency, const struct st_spend_row *rows, size_t n,
                                int64_t now)
{
    struct sconn *c = store__conn(s);
    if (!c)
        return ERR_BACKEND;
    sqlite3_stmt *other =
        store__prep(c, "SELECT 1 FROM ad_spend WHERE account_id = ?1 AND currency <> ?2 LIMIT 1");
    sqlite3_stmt *del =
        store__prep(c, "DELETE FROM ad_spend WHERE account_id = ?1 AND platform = ?2 AND day = ?3");
    sqlite3_stmt *ins = store__prep(
        c, "INSERT INTO ad_spend(account_id, platform, day, campaign, keyword, cost, currency,"
           " imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
           " ON CONFLICT(account_id, day, platform, campaign, keyword)"
           " DO UPDATE SET cost = ad_spend.cost + excluded.cost");
    if (!other || !del || !ins)
        return ERR_BACKEND;
    sqlite3_bind_int64(other, 1, account_id);
    store__bind_text(other, 2, currency);
    int rc = sqlite3_step(other);
    sqlite3_reset(other);
    if (rc == SQLITE_ROW)
        return ERR_CONFLICT;
    if (rc != SQLITE_DONE)
        return store__err(c, rc, "read spend currency");
    /* every day of the file goes first, then its rows: rows need not be in day order */
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(rows[i].day, rows[i - 1].day) == 0)
            continue;
        sqlite3_bind_int64(del, 1, account_id);
        store__bind_text(del, 2, platform);
        store__bind_text(del, 3, rows[i].day);
        if ((rc = store__exec(c, del, "replace spend")) != ERR_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(ins, 1, account_id);
        store__bind_text(ins, 2, platform);
        store__bind_text(ins, 3, rows[i].day);
        store__bind_text(ins, 4, rows[i].campaign);
        store__bind_text(ins, 5, rows[i].keyword);
        sqlite3_bind_int64(ins, 6, rows[i].cost);
        store__bind_text(ins, 7, currency);
        sqlite3_bind_int64(ins, 8, now);
        if ((rc = store__exec(c, ins, "import spend")) != ERR_OK)
            return rc;
    }
    return ERR_OK;
}

int store_sqlite__spend_list(struct store *s, int64_t account_id, const char *since_day,
                             const char *until_day, store_spend_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st =
        c ? store__prep(c, "SELECT platform, day, campaign, keyword, cost, currency FROM ad_spend"
                           " WHERE account_id = ?1 AND day >= ?2 AND day < ?3"
                           " ORDER BY day, platform, campaign, keyword")
          : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, since_day);
    store__bind_text(st, 3, until_day);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_spend_row r;
        store__col_text(st, 0, r.platform, sizeof(r.platform));
        store__col_text(st, 1, r.day, sizeof(r.day));
        store__col_text(st, 2, r.campaign, sizeof(r.campaign));
        store__col_text(st, 3, r.keyword, sizeof(r.keyword));
        r.cost = sqlite3_column_int64(st, 4);
        store__col_text(st, 5, r.currency, sizeof(r.currency));
        if (fn(ctx, &r))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list spend");
}

/* ---- funnel and cohorts ---- */

/* How far each session got (store.h struct st_report_session), from the facts sql/0024's
 * triggers keep on the session: one covering index (sessions_funnel, in its order), no probe per
 * session. */
#define REPORT_SESSION_SQL                                                                         \
    "SELECT s.created_at, s.channel, s.source, s.campaign, (s.funnel & 1) <> 0,"                   \
    " (s.funnel & 2) <> 0, (s.funnel & 4) <> 0, s.call_best > 0 AND s.call_best >= ?4,"            \
    " (s.funnel & 8) <> 0"                                                                         \
    " FROM sessions s WHERE s.account_id = ?1 AND s.created_at >= ?2 AND s.created_at < ?3"        \
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
    " WHERE s.account_id = ?1 AND s.first_at >= ?2 AND s.first_at < ?3"                            \
    " AND (s.created_at = s.first_at OR (s.funnel & 4) <> 0)"                                      \
    " ORDER BY s.first_at, s.created_at, s.visitor_id"

/* The calls credited to the sessions of a range (include=call_ids of the funnel, [0], and the
 * cohorts, [1]): the same sessions as REPORT_SESSION_SQL / REPORT_COHORT_SQL, only those with bit 4
 * (a credited call), joined to their calls. */
#define REPORT_SESSION_CALLS_SQL(range)                                                            \
    "SELECT c.ext_id, c.started_at,"                                                               \
    " c.status = 'completed' AND c.duration > 0 AND c.duration >= ?4,"                             \
    " s.channel, s.source, s.campaign, s.first_at FROM sessions s"                                 \
    " JOIN calls c ON c.session_id = s.id AND c.account_id = s.account_id"                         \
    " WHERE s.account_id = ?1 AND s." range " >= ?2 AND s." range " < ?3 AND (s.funnel & 4) <> 0"
static const char *const report_session_calls_sql[] = {REPORT_SESSION_CALLS_SQL("created_at"),
                                                       REPORT_SESSION_CALLS_SQL("first_at")};

int store_sqlite__report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                  int64_t min_duration_s, store_report_session_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, REPORT_SESSION_SQL) : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int64(st, 4, min_duration_s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_report_session r = {.created_at = sqlite3_column_int64(st, 0)};
        store__col_text(st, 1, r.channel, sizeof(r.channel));
        store__col_text(st, 2, r.source, sizeof(r.source));
        store__col_text(st, 3, r.campaign, sizeof(r.campaign));
        r.shown = sqlite3_column_int(st, 4) != 0;
        r.engaged = sqlite3_column_int(st, 5) != 0;
        r.called = sqlite3_column_int(st, 6) != 0;
        r.qualified = sqlite3_column_int(st, 7) != 0;
        r.converted = sqlite3_column_int(st, 8) != 0;
        if (fn(ctx, &r))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "report sessions");
}

int store_sqlite__report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                                store_report_cohort_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, REPORT_COHORT_SQL) : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_report_cohort r;
        store__col_text(st, 0, r.visitor_id, sizeof(r.visitor_id));
        r.first_at = sqlite3_column_int64(st, 1);
        r.call_started_at = sqlite3_column_int64(st, 2);
        r.revenue = sqlite3_column_int64(st, 3);
        r.first = sqlite3_column_int(st, 4) != 0;
        if (fn(ctx, &r))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "report cohort");
}

int store_sqlite__report_session_calls(struct store *s, int64_t account_id, int64_t since,
                                       int64_t until, bool by_first, int64_t min_duration_s,
                                       store_report_session_call_fn fn, void *ctx)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, report_session_calls_sql[by_first]) : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, until);
    sqlite3_bind_int64(st, 4, min_duration_s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_report_session_call r;
        store__col_text(st, 0, r.call_ext, sizeof(r.call_ext));
        r.started_at = sqlite3_column_int64(st, 1);
        r.qualified = sqlite3_column_int(st, 2) != 0;
        store__col_text(st, 3, r.channel, sizeof(r.channel));
        store__col_text(st, 4, r.source, sizeof(r.source));
        store__col_text(st, 5, r.campaign, sizeof(r.campaign));
        r.first_at = sqlite3_column_int64(st, 6);
        if (fn(ctx, &r))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK
                                                 : store__err(c, rc, "report session calls");
}
