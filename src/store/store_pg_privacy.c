/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PostgreSQL backend: erasure (store_erase and its log, sql_pg/0016) and the retention purge,
 * as store_sqlite_privacy.c. An UPDATE leaves the old row version in the table until VACUUM
 * reclaims it, and in the WAL and base backups until they are recycled: docs/operations.md says
 * what the operator runs and what cannot be promised. */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_pg_int.h"

#define PURGE_LOCK_KEY 0x6f646e70 /* "odnp": one node purges at a time */

/* Runs a statement whose row count does not matter (sql: a literal, as store__pg_changes). */
static int run(struct store *s, const char *sql, const struct pgargs *a, const char *what)
{
    int64_t n;
    return store__pg_changes(s, sql, a, &n, what);
}

/* Adds the (id, ext_id) rows of a query to set. */
static int collect(struct store *s, const char *sql, const struct pgargs *a,
                   struct store__idset *set, const char *what)
{
    PGresult *r = NULL;
    int rc = store__pg_exec(s, sql, a, &r, what);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        store__idset_add(set, store__pg_col_i64(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return ERR_OK;
}

static int erase_scope(struct store *s, const struct st_erasure *e, const char *subject,
                       struct store__idset *calls, struct store__idset *sessions)
{
    struct pgargs a = {0};
    store__pg_i64(&a, e->account_id);
    store__pg_text(&a, subject);
    int rc;
    if (strcmp(e->kind, "caller") == 0) {
        rc = collect(s, "SELECT id, ext_id FROM calls WHERE account_id = $1 AND from_number = $2",
                     &a, calls, "erase: find calls");
        for (size_t i = 0; rc == ERR_OK && i < calls->n; i++) {
            struct pgargs b = {0};
            store__pg_i64(&b, calls->id[i]);
            store__pg_i64(&b, e->account_id);
            rc = collect(s,
                         "SELECT s.id, s.ext_id FROM calls c JOIN sessions s"
                         " ON s.id = c.session_id OR s.id = c.first_session_id"
                         " WHERE c.id = $1 AND c.account_id = $2 AND s.account_id = $2",
                         &b, sessions, "erase: find sessions");
        }
        return rc;
    }
    rc = collect(s, "SELECT id, ext_id FROM sessions WHERE account_id = $1 AND visitor_id = $2", &a,
                 sessions, "erase: find sessions");
    for (size_t i = 0; rc == ERR_OK && i < sessions->n; i++) {
        struct pgargs b = {0};
        store__pg_i64(&b, sessions->id[i]);
        store__pg_i64(&b, e->account_id);
        rc = collect(s, "SELECT id, ext_id FROM calls WHERE session_id = $1 AND account_id = $2",
                     &b, calls, "erase: find calls");
    }
    return rc;
}

static int scrub_session(struct store *s, int64_t account_id, int64_t id, int64_t *events)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    PGresult *r = NULL;
    char landing[STORE_TEXT_MAX] = "";
    int rc = store__pg_row(s, "SELECT landing_page FROM sessions WHERE id = $1 AND account_id = $2",
                           &a, &r, "erase: read session");
    if (rc == ERR_NOTFOUND)
        return ERR_OK;
    if (rc)
        return rc;
    store__pg_col_text(r, 0, 0, landing, sizeof(landing));
    PQclear(r);
    store__strip_query(landing);
    struct pgargs b = {0};
    store__pg_i64(&b, id);
    store__pg_i64(&b, account_id);
    store__pg_opt(&b, landing);
    rc = run(s,
             "UPDATE sessions SET visitor_id = '', landing_page = $3, referrer = NULL,"
             " click_ids = NULL, client_key = NULL, region = NULL"
             " WHERE id = $1 AND account_id = $2",
             &b, "erase: scrub session");
    int64_t n = 0;
    if (rc == ERR_OK)
        rc = store__pg_changes(s,
                               "UPDATE events SET detail = NULL WHERE session_id = $1"
                               " AND session_id IN (SELECT id FROM sessions WHERE account_id = $2)",
                               &a, &n, "erase: scrub events");
    *events += n;
    /* the pages the visitor saw (paths and titles may name them): gone, counted as events */
    n = 0;
    if (rc == ERR_OK)
        rc =
            store__pg_changes(s, "DELETE FROM page_views WHERE account_id = $2 AND session_id = $1",
                              &a, &n, "erase: page views");
    *events += n;
    return rc;
}

static int scrub_call(struct store *s, int64_t account_id, int64_t id)
{
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, account_id);
    int rc = run(s,
                 "UPDATE calls SET from_number = '', recording_url = '', recording_duration = NULL"
                 " WHERE id = $1 AND account_id = $2",
                 &a, "erase: scrub call");
    if (rc == ERR_OK)
        rc = run(s,
                 "UPDATE call_outcomes SET notes = '' WHERE call_id = $1"
                 " AND account_id = $2",
                 &a, "erase: scrub outcome");
    /* the caller's voice: a routed call's recording (the URL at the provider, its length) */
    if (rc == ERR_OK)
        rc = run(s,
                 "UPDATE call_routes SET recording_url = '', recording_duration = -1"
                 " WHERE account_id = $2 AND (provider, call_sid) IN"
                 " (SELECT provider, provider_call_id FROM calls"
                 " WHERE id = $1 AND account_id = $2)",
                 &a, "erase: scrub recording");
    return rc;
}

static int scrub_message(struct store *s, struct st_erasure *e, const PGresult *r, int i)
{
    int64_t id = store__pg_col_i64(r, i, 0);
    char dest[STORE_ID_MAX], event_id[STORE_ID_MAX], type[STORE_EVENT_TYPE_MAX];
    store__pg_col_text(r, i, 1, dest, sizeof(dest));
    store__pg_col_text(r, i, 2, event_id, sizeof(event_id));
    store__pg_col_text(r, i, 3, type, sizeof(type));
    int state = (int)store__pg_col_i64(r, i, 4);
    int64_t attempts = store__pg_col_i64(r, i, 5);
    struct pgargs a = {0};
    store__pg_i64(&a, id);
    store__pg_i64(&a, e->account_id);
    int rc = run(s,
                 "UPDATE outbox_attempts SET response = '' WHERE outbox_id = $1"
                 " AND account_id = $2",
                 &a, "erase: scrub attempts");
    if (rc)
        return rc;
    if (state != ST_OUTBOX_PENDING || attempts > 0)
        store__erase_sent(e, dest, event_id, type, state, attempts, store__pg_col_i64(r, i, 6));
    if (state == ST_OUTBOX_PENDING) {
        e->outbox_dropped++;
        return run(s, "DELETE FROM outbox WHERE id = $1 AND account_id = $2", &a,
                   "erase: drop message");
    }
    return ERR_OK;
}

/* The event of a message that named the erased rows (after scrub_message): deleted when none of
 * its messages is left, else its body becomes the stub (its sent messages' record). */
static int scrub_event(struct store *s, int64_t account_id, const PGresult *r, int i)
{
    char event_id[STORE_ID_MAX], type[STORE_EVENT_TYPE_MAX], stub[256];
    store__pg_col_text(r, i, 2, event_id, sizeof(event_id));
    store__pg_col_text(r, i, 3, type, sizeof(type));
    store__erase_stub(event_id, type, stub, sizeof(stub));
    struct pgargs a = {0};
    store__pg_i64(&a, store__pg_col_i64(r, i, 8));
    store__pg_i64(&a, account_id);
    store__pg_text(&a, stub);
    return run(s,
               "WITH gone AS (DELETE FROM outbox_events WHERE id = $1 AND account_id = $2"
               "  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_ref = $1"
               "  AND o.account_id = $2) RETURNING id)"
               " UPDATE outbox_events SET body = $3 WHERE id = $1 AND account_id = $2"
               " AND NOT EXISTS (SELECT 1 FROM gone)",
               &a, "erase: scrub event");
}

static int scrub_messages(struct store *s, struct st_erasure *e, const char *subject,
                          const struct store__idset *calls, const struct store__idset *sessions)
{
    struct pgargs a = {0};
    store__pg_i64(&a, e->account_id);
    PGresult *r = NULL;
    int rc = store__pg_exec(s,
                            "SELECT o.id, d.ext_id, e.event_id, e.type, o.state, o.attempts,"
                            " CASE WHEN o.done_at > 0 THEN o.done_at ELSE o.created_at END, e.body,"
                            " e.id FROM outbox_events e JOIN outbox o ON o.event_ref = e.id"
                            " AND o.account_id = $1 JOIN destinations d ON d.id = o.destination_id"
                            " WHERE e.account_id = $1 ORDER BY o.id FOR UPDATE OF o, e",
                            &a, &r, "erase: find messages");
    int n = rc == ERR_OK ? PQntuples(r) : 0;
    bool *hit = n ? xcalloc((size_t)n, sizeof(*hit)) : NULL;
    for (int i = 0; rc == ERR_OK && i < n; i++)
        if ((hit[i] = store__erase_names(PQgetvalue(r, i, 7), subject, calls, sessions)))
            rc = scrub_message(s, e, r, i);
    for (int i = 0; rc == ERR_OK && i < n; i++) /* each event once its messages are done */
        if (hit[i] &&
            (i == 0 || !hit[i - 1] || strcmp(PQgetvalue(r, i, 8), PQgetvalue(r, i - 1, 8)) != 0))
            rc = scrub_event(s, e->account_id, r, i);
    free(hit);
    PQclear(r);
    return rc;
}

static int record(struct store *s, struct st_erasure *e)
{
    store__pg_new_ext_id("ers_", e->ext_id);
    struct pgargs a = {0};
    store__pg_text(&a, e->ext_id);
    store__pg_i64(&a, e->account_id);
    store__pg_text(&a, e->kind);
    store__pg_text(&a, e->actor);
    store__pg_text(&a, e->reference);
    store__pg_i64(&a, e->sessions);
    store__pg_i64(&a, e->calls);
    store__pg_i64(&a, e->events);
    store__pg_i64(&a, e->outbox_dropped);
    store__pg_i64(&a, e->outbox_sent);
    store__pg_text(&a, e->sent);
    store__pg_i64(&a, e->at);
    PGresult *r = NULL;
    int rc =
        store__pg_row(s,
                      "INSERT INTO erasures(ext_id, account_id, kind, actor, reference,"
                      " sessions, calls, events, outbox_dropped, outbox_sent, sent, at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                      &a, &r, "erase: record");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    e->id = store__pg_col_i64(r, 0, 0);
    PQclear(r);
    return ERR_OK;
}

int store_pg__erase(struct store *s, struct st_erasure *e, const char *subject)
{
    if ((strcmp(e->kind, "visitor") && strcmp(e->kind, "caller")) || !subject || !subject[0] ||
        !e->actor[0])
        return ERR_INVALID;
    e->sessions = e->calls = e->events = e->outbox_dropped = e->outbox_sent = 0;
    snprintf(e->sent, sizeof(e->sent), "[]");
    struct store__idset calls = {0}, sessions = {0};
    int rc = erase_scope(s, e, subject, &calls, &sessions);
    if (rc == ERR_OK) /* before the scrub: the bodies name the visitor and number until then */
        rc = scrub_messages(s, e, subject, &calls, &sessions);
    for (size_t i = 0; rc == ERR_OK && i < sessions.n; i++)
        rc = scrub_session(s, e->account_id, sessions.id[i], &e->events);
    for (size_t i = 0; rc == ERR_OK && i < calls.n; i++)
        rc = scrub_call(s, e->account_id, calls.id[i]);
    e->sessions = (int64_t)sessions.n;
    e->calls = (int64_t)calls.n;
    if (rc == ERR_OK)
        rc = record(s, e);
    store__idset_free(&calls);
    store__idset_free(&sessions);
    return rc;
}

int store_pg__erase_flush(struct store *s, struct errbuf *eb)
{
    (void)s;
    (void)eb;
    return ERR_OK; /* the old row versions go with VACUUM (docs/operations.md) */
}

int store_pg__erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                           store_erasure_fn fn, void *ctx)
{
    struct pgargs a = {0};
    store__pg_i64(&a, account_id);
    store__pg_i64(&a, before_id);
    store__pg_i64(&a, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    PGresult *r = NULL;
    int rc =
        store__pg_exec(s,
                       "SELECT id, ext_id, account_id, kind, actor, reference, sessions, calls,"
                       " events, outbox_dropped, outbox_sent, sent, at FROM erasures"
                       " WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                       &a, &r, "list erasures");
    if (rc)
        return rc;
    struct st_erasure *e = xcalloc(1, sizeof(*e));
    for (int i = 0; i < PQntuples(r); i++) {
        e->id = store__pg_col_i64(r, i, 0);
        store__pg_col_text(r, i, 1, e->ext_id, sizeof(e->ext_id));
        e->account_id = store__pg_col_i64(r, i, 2);
        store__pg_col_text(r, i, 3, e->kind, sizeof(e->kind));
        store__pg_col_text(r, i, 4, e->actor, sizeof(e->actor));
        store__pg_col_text(r, i, 5, e->reference, sizeof(e->reference));
        e->sessions = store__pg_col_i64(r, i, 6);
        e->calls = store__pg_col_i64(r, i, 7);
        e->events = store__pg_col_i64(r, i, 8);
        e->outbox_dropped = store__pg_col_i64(r, i, 9);
        e->outbox_sent = store__pg_col_i64(r, i, 10);
        store__pg_col_text(r, i, 11, e->sent, sizeof(e->sent));
        e->at = store__pg_col_i64(r, i, 12);
        if (fn(ctx, e))
            break;
    }
    free(e);
    PQclear(r);
    return ERR_OK;
}

int store_pg__purge(struct store *s, int64_t account_id, const struct st_retention *r, size_t max,
                    struct st_purged *n, bool *busy)
{
    *n = (struct st_purged){0};
    if (busy)
        *busy = false;
    struct pgargs k = {0};
    store__pg_i64(&k, PURGE_LOCK_KEY);
    PGresult *res = NULL;
    int rc = store__pg_row(s, "SELECT pg_try_advisory_xact_lock($1)", &k, &res, "lock the purge");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    bool locked = store__pg_col_bool(res, 0, 0);
    PQclear(res);
    if (!locked) {
        if (busy)
            *busy = true;
        return ERR_OK;
    }
    int64_t limit = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
    if (r->calls_before > 0) {
        struct pgargs a = {0};
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->calls_before);
        store__pg_i64(&a, limit);
        rc = store__pg_changes(s,
                               "DELETE FROM calls WHERE id IN (SELECT id FROM calls"
                               " WHERE account_id = $1 AND started_at < $2"
                               " ORDER BY started_at, id LIMIT $3)",
                               &a, &n->calls, "purge calls");
    }
    if (rc == ERR_OK && (r->calls_before > 0 || r->recordings_before > 0)) {
        /* the routing records of purged calls go with them (not counted apart); recordings
         * older than their own cutoff are forgotten */
        struct pgargs a = {0};
        int64_t routes = 0;
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->calls_before);
        store__pg_i64(&a, limit);
        if (r->calls_before > 0)
            rc = store__pg_changes(s,
                                   "DELETE FROM call_routes WHERE (provider, call_sid) IN"
                                   " (SELECT provider, call_sid FROM call_routes"
                                   " WHERE account_id = $1 AND started_at < $2"
                                   " ORDER BY started_at LIMIT $3)",
                                   &a, &routes, "purge call routes");
        struct pgargs b = {0};
        store__pg_i64(&b, account_id);
        store__pg_i64(&b, r->recordings_before);
        store__pg_i64(&b, limit);
        if (rc == ERR_OK && r->recordings_before > 0)
            rc = store__pg_changes(s,
                                   "UPDATE call_routes SET recording_url = '',"
                                   " recording_duration = -1 WHERE (provider, call_sid) IN"
                                   " (SELECT provider, call_sid FROM call_routes"
                                   " WHERE account_id = $1 AND started_at < $2"
                                   " AND recording_url <> '' ORDER BY started_at LIMIT $3)",
                                   &b, &n->recordings, "purge recordings");
        int64_t own = 0;
        if (rc == ERR_OK && r->recordings_before > 0) /* unrouted calls' own (sql/0030) */
            rc = store__pg_changes(s,
                                   "UPDATE calls SET recording_url = '', recording_duration = NULL"
                                   " WHERE account_id = $1 AND id IN (SELECT id FROM calls"
                                   " WHERE account_id = $1 AND started_at < $2"
                                   " AND recording_url <> '' ORDER BY started_at LIMIT $3)",
                                   &b, &own, "purge call recordings");
        n->recordings += own;
    }
    if (rc == ERR_OK && r->calls_before > 0) {
        struct pgargs a = {0};
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->calls_before);
        store__pg_i64(&a, limit);
        rc = store__pg_changes(s,
                               "DELETE FROM outbox WHERE account_id = $1 AND id IN (SELECT o.id"
                               " FROM outbox_events e JOIN outbox o ON o.event_ref = e.id"
                               " AND o.account_id = $1 WHERE e.account_id = $1"
                               " AND e.created_at < $2 AND o.state <> 0"
                               " ORDER BY e.created_at LIMIT $3)",
                               &a, &n->messages, "purge messages");
        int64_t events = 0; /* the events whose last message went (not counted apart) */
        if (rc == ERR_OK)
            rc = store__pg_changes(s,
                                   "DELETE FROM outbox_events WHERE id IN (SELECT e.id"
                                   " FROM outbox_events e WHERE e.account_id = $1"
                                   " AND e.created_at < $2 AND NOT EXISTS (SELECT 1 FROM outbox o"
                                   " WHERE o.event_ref = e.id AND o.account_id = $1)"
                                   " ORDER BY e.created_at LIMIT $3)",
                                   &a, &events, "purge message events");
    }
    if (rc == ERR_OK && r->events_before > 0) {
        struct pgargs a = {0};
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->events_before);
        store__pg_i64(&a, limit);
        rc = store__pg_changes(s,
                               "DELETE FROM events WHERE id IN (SELECT e.id FROM sessions s"
                               " JOIN events e ON e.session_id = s.id"
                               " WHERE s.account_id = $1 AND s.created_at < $2"
                               " AND e.at < $2 LIMIT $3)",
                               &a, &n->events, "purge events");
    }
    if (rc == ERR_OK && r->events_before > 0) {
        struct pgargs a = {0};
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->events_before);
        store__pg_i64(&a, limit);
        int64_t pages = 0;
        rc = store__pg_changes(
            s,
            "DELETE FROM page_views WHERE account_id = $1 AND id IN (SELECT id FROM page_views"
            " WHERE account_id = $1 AND at < $2 ORDER BY at LIMIT $3)",
            &a, &pages, "purge page views");
        n->events += pages;
    }
    if (rc == ERR_OK && r->sessions_before > 0) {
        struct pgargs a = {0};
        store__pg_i64(&a, account_id);
        store__pg_i64(&a, r->sessions_before);
        store__pg_i64(&a, limit);
        rc = store__pg_changes(
            s,
            "DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s"
            " WHERE s.account_id = $1 AND s.created_at < $2 AND s.last_active_at < $2"
            " AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.session_id = s.id)"
            " AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.first_session_id = s.id)"
            " AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.runner_up_session_id = s.id)"
            " ORDER BY s.created_at LIMIT $3)",
            &a, &n->sessions, "purge sessions");
    }
    return rc;
}
