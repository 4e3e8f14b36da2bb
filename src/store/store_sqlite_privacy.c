/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: erasure (store_erase and its log, sql/0016) and the retention purge.
 * Every connection runs with secure_delete on (store_sqlite.c), so a scrubbed or deleted value
 * is zeroed in its page as it goes, and store_erase_flush truncates the WAL that still holds the
 * old page images. */
#include "base/prelude.h"
#include "base/xalloc.h"
#include "store/store_sqlite_int.h"

#include <time.h>

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

/* Adds the rows a two-column (id, ext_id) query yields to set. */
static int collect(struct sconn *c, sqlite3_stmt *st, struct store__idset *set, const char *what)
{
    if (!st)
        return ERR_BACKEND;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        store__idset_add(set, sqlite3_column_int64(st, 0),
                         (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, what);
}

/* The rows of an erasure: for a caller, the calls from the number and the sessions they were
 * attributed to; for a visitor, the visitor's sessions and the calls attributed to them. */
static int erase_scope(struct sconn *c, const struct st_erasure *e, const char *subject,
                       struct store__idset *calls, struct store__idset *sessions)
{
    int rc;
    if (strcmp(e->kind, "caller") == 0) {
        sqlite3_stmt *st = store__prep(
            c, "SELECT id, ext_id FROM calls WHERE account_id = ?1 AND from_number = ?2");
        if (st) {
            sqlite3_bind_int64(st, 1, e->account_id);
            store__bind_text(st, 2, subject);
        }
        rc = collect(c, st, calls, "erase: find calls");
        st = store__prep(c, "SELECT s.id, s.ext_id FROM calls c JOIN sessions s"
                            " ON s.id = c.session_id OR s.id = c.first_session_id"
                            " WHERE c.id = ?1 AND c.account_id = ?2 AND s.account_id = ?2");
        for (size_t i = 0; rc == ERR_OK && i < calls->n; i++) {
            if (st) {
                sqlite3_bind_int64(st, 1, calls->id[i]);
                sqlite3_bind_int64(st, 2, e->account_id);
            }
            rc = collect(c, st, sessions, "erase: find sessions");
        }
        return rc;
    }
    sqlite3_stmt *st =
        store__prep(c, "SELECT id, ext_id FROM sessions WHERE account_id = ?1 AND visitor_id = ?2");
    if (st) {
        sqlite3_bind_int64(st, 1, e->account_id);
        store__bind_text(st, 2, subject);
    }
    rc = collect(c, st, sessions, "erase: find sessions");
    st = store__prep(c, "SELECT id, ext_id FROM calls WHERE session_id = ?1 AND account_id = ?2");
    for (size_t i = 0; rc == ERR_OK && i < sessions->n; i++) {
        if (st) {
            sqlite3_bind_int64(st, 1, sessions->id[i]);
            sqlite3_bind_int64(st, 2, e->account_id);
        }
        rc = collect(c, st, calls, "erase: find calls");
    }
    return rc;
}

static int scrub_session(struct sconn *c, int64_t account_id, int64_t id, int64_t *events)
{
    sqlite3_stmt *st =
        store__prep(c, "SELECT landing_page FROM sessions WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    char landing[STORE_TEXT_MAX] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store__col_text(st, 0, landing, sizeof(landing));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store__err(c, rc, "erase: read session");
    store__strip_query(landing);
    st = store__prep(c, "UPDATE sessions SET visitor_id = '', landing_page = ?3, referrer = NULL,"
                        " click_ids = NULL, client_key = NULL, region = NULL"
                        " WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    store__bind_opt(st, 3, landing);
    rc = store__exec(c, st, "erase: scrub session");
    if (rc)
        return rc;
    st = store__prep(c, "UPDATE events SET detail = NULL WHERE session_id = ?1"
                        " AND session_id IN (SELECT id FROM sessions WHERE account_id = ?2)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    rc = store__exec(c, st, "erase: scrub events");
    *events += rc == ERR_OK ? sqlite3_changes(c->db) : 0;
    if (rc)
        return rc;
    /* the pages the visitor saw (paths and titles may name them): gone, counted as events */
    st = store__prep(c, "DELETE FROM page_views WHERE account_id = ?2 AND session_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    rc = store__exec(c, st, "erase: page views");
    *events += rc == ERR_OK ? sqlite3_changes(c->db) : 0;
    return rc;
}

static int scrub_call(struct sconn *c, int64_t account_id, int64_t id)
{
    sqlite3_stmt *st =
        store__prep(c, "UPDATE calls SET from_number = '', recording_url = '',"
                       " recording_duration = NULL WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = store__exec(c, st, "erase: scrub call");
    if (rc)
        return rc;
    st = store__prep(c,
                     "UPDATE call_outcomes SET notes = '' WHERE call_id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    rc = store__exec(c, st, "erase: scrub outcome");
    if (rc)
        return rc;
    /* the caller's voice: a routed call's recording (the URL at the provider, its length) */
    st = store__prep(c, "UPDATE call_routes SET recording_url = '', recording_duration = -1"
                        " WHERE account_id = ?2 AND (provider, call_sid) IN"
                        " (SELECT provider, provider_call_id FROM calls"
                        " WHERE id = ?1 AND account_id = ?2)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, account_id);
    return store__exec(c, st, "erase: scrub recording");
}

/* One outbox message that names the erased rows. */
struct hit {
    int64_t id;
    int64_t event; /* its outbox_events row */
    int64_t destination_id;
    char destination[STORE_ID_MAX];
    char event_id[STORE_ID_MAX];
    char type[STORE_EVENT_TYPE_MAX];
    int state;
    int64_t attempts, at;
};

static int find_messages(struct sconn *c, const struct st_erasure *e, const char *subject,
                         const struct store__idset *calls, const struct store__idset *sessions,
                         struct hit **hits, size_t *n)
{
    sqlite3_stmt *st =
        store__prep(c, "SELECT o.id, d.ext_id, e.event_id, e.type, o.state, o.attempts,"
                       " CASE WHEN o.done_at > 0 THEN o.done_at ELSE o.created_at END, e.body,"
                       " e.id, d.id FROM outbox_events e JOIN outbox o ON o.event_ref = e.id"
                       " JOIN destinations d ON d.id = o.destination_id"
                       " WHERE e.account_id = ?1 ORDER BY o.id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, e->account_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 7);
        if (!body || !store__erase_names(body, subject, calls, sessions))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *hits = xrealloc(*hits, cap * sizeof(**hits));
        }
        struct hit *h = &(*hits)[(*n)++];
        h->id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, h->destination, sizeof(h->destination));
        store__col_text(st, 2, h->event_id, sizeof(h->event_id));
        store__col_text(st, 3, h->type, sizeof(h->type));
        h->state = sqlite3_column_int(st, 4);
        h->attempts = sqlite3_column_int64(st, 5);
        h->at = sqlite3_column_int64(st, 6);
        h->event = sqlite3_column_int64(st, 8);
        h->destination_id = sqlite3_column_int64(st, 9);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "erase: find messages");
}

static int scrub_message(struct sconn *c, struct st_erasure *e, const struct hit *h)
{
    sqlite3_stmt *st = store__prep(c, "UPDATE outbox_attempts SET response = ''"
                                      " WHERE event_ref = ?1 AND account_id = ?2"
                                      " AND destination_id = ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, h->event);
    sqlite3_bind_int64(st, 2, e->account_id);
    sqlite3_bind_int64(st, 3, h->destination_id);
    int rc = store__exec(c, st, "erase: scrub attempts");
    if (rc)
        return rc;
    if (h->state != ST_OUTBOX_PENDING || h->attempts > 0)
        store__erase_sent(e, h->destination, h->event_id, h->type, h->state, h->attempts, h->at);
    if (h->state == ST_OUTBOX_PENDING) {
        st = store__prep(c, "DELETE FROM outbox WHERE id = ?1 AND account_id = ?2");
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, h->id);
        sqlite3_bind_int64(st, 2, e->account_id);
        e->outbox_dropped++;
        return store__exec(c, st, "erase: drop message");
    }
    return ERR_OK;
}

/* The event of a message that named the erased rows (after scrub_message): deleted when none of
 * its messages or attempts is left, else its body becomes the stub (its sent messages' record).
 * A published event is no longer read by its destinations' cursors. */
static int scrub_event(struct sconn *c, int64_t account_id, int64_t event, const char *event_id,
                       const char *type)
{
    sqlite3_stmt *st = store__prep(c, "DELETE FROM outbox_events WHERE id = ?1 AND account_id = ?2"
                                      " AND NOT EXISTS (SELECT 1 FROM outbox o"
                                      " WHERE o.event_ref = ?1) AND NOT EXISTS (SELECT 1"
                                      " FROM outbox_attempts a WHERE a.event_ref = ?1)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, event);
    sqlite3_bind_int64(st, 2, account_id);
    int rc = store__exec(c, st, "erase: drop event");
    if (rc || sqlite3_changes(c->db) > 0)
        return rc;
    char stub[256];
    store__erase_stub(event_id, type, stub, sizeof(stub));
    st = store__prep(c, "UPDATE outbox_events SET body = ?3, fanout = 0"
                        " WHERE id = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, event);
    sqlite3_bind_int64(st, 2, account_id);
    store__bind_text(st, 3, stub);
    return store__exec(c, st, "erase: scrub event");
}

/* A published event (sql/0033) that names the erased rows. */
struct published {
    int64_t event;
    char event_id[STORE_ID_MAX];
    char type[STORE_EVENT_TYPE_MAX];
};

static int find_published(struct sconn *c, const struct st_erasure *e, const char *subject,
                          const struct store__idset *calls, const struct store__idset *sessions,
                          struct published **pub, size_t *n)
{
    sqlite3_stmt *st = store__prep(c, "SELECT id, event_id, type, body FROM outbox_events"
                                      " WHERE account_id = ?1 AND fanout = 1 ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, e->account_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 3);
        if (!body || !store__erase_names(body, subject, calls, sessions))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *pub = xrealloc(*pub, cap * sizeof(**pub));
        }
        struct published *p = &(*pub)[(*n)++];
        p->event = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, p->event_id, sizeof(p->event_id));
        store__col_text(st, 2, p->type, sizeof(p->type));
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "erase: find published events");
}

/* A published event that names the erased rows: where it was sent in a batch (an attempt logged,
 * no row of its own: scrub_message has those) is listed, the destinations still to read it
 * do not get it, and the attempts' answers are scrubbed. */
static int scrub_published(struct sconn *c, struct st_erasure *e, const struct published *p)
{
    sqlite3_stmt *st = store__prep(
        c, "SELECT t.ext_id, COUNT(*), MAX(a.at), MAX(a.status BETWEEN 200 AND 299)"
           " FROM outbox_attempts a JOIN destinations t ON t.id = a.destination_id"
           " WHERE a.event_ref = ?1 AND a.account_id = ?2 AND NOT EXISTS (SELECT 1 FROM outbox o"
           " WHERE o.event_ref = ?1 AND o.destination_id = a.destination_id)"
           " GROUP BY a.destination_id ORDER BY a.destination_id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, p->event);
    sqlite3_bind_int64(st, 2, e->account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char dest[STORE_ID_MAX];
        store__col_text(st, 0, dest, sizeof(dest));
        store__erase_sent(e, dest, p->event_id, p->type,
                          sqlite3_column_int(st, 3) ? ST_OUTBOX_DELIVERED : ST_OUTBOX_GAVE_UP,
                          sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store__err(c, rc, "erase: a published event's attempts");
    st = store__prep(
        c, "SELECT COUNT(*) FROM outbox_cursors k JOIN destinations t"
           " ON t.id = k.destination_id WHERE k.account_id = ?1 AND k.pos < ?2"
           " AND t.deleted_at = 0 AND instr(',' || t.events || ',', ',' || ?3 || ',') > 0");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, e->account_id);
    sqlite3_bind_int64(st, 2, p->event);
    store__bind_text(st, 3, p->type);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        e->outbox_dropped += sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store__err(c, rc, "erase: a published event's destinations");
    st = store__prep(c, "UPDATE outbox_attempts SET response = ''"
                        " WHERE event_ref = ?1 AND account_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, p->event);
    sqlite3_bind_int64(st, 2, e->account_id);
    rc = store__exec(c, st, "erase: scrub a published event's attempts");
    return rc ? rc : scrub_event(c, e->account_id, p->event, p->event_id, p->type);
}

static int record(struct sconn *c, struct st_erasure *e)
{
    store__new_ext_id("ers_", e->ext_id);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO erasures(ext_id, account_id, kind, actor, reference, sessions, calls,"
           " events, outbox_dropped, outbox_sent, sent, at)"
           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, e->ext_id);
    sqlite3_bind_int64(st, 2, e->account_id);
    store__bind_text(st, 3, e->kind);
    store__bind_text(st, 4, e->actor);
    store__bind_text(st, 5, e->reference);
    sqlite3_bind_int64(st, 6, e->sessions);
    sqlite3_bind_int64(st, 7, e->calls);
    sqlite3_bind_int64(st, 8, e->events);
    sqlite3_bind_int64(st, 9, e->outbox_dropped);
    sqlite3_bind_int64(st, 10, e->outbox_sent);
    store__bind_text(st, 11, e->sent);
    sqlite3_bind_int64(st, 12, e->at);
    int rc = store__exec(c, st, "erase: record");
    if (rc == ERR_OK)
        e->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

int store_sqlite__erase(struct store *s, struct st_erasure *e, const char *subject)
{
    if ((strcmp(e->kind, "visitor") && strcmp(e->kind, "caller")) || !subject || !subject[0] ||
        !e->actor[0])
        return ERR_INVALID;
    CONN_OR_FAIL(c, s);
    e->sessions = e->calls = e->events = e->outbox_dropped = e->outbox_sent = 0;
    snprintf(e->sent, sizeof(e->sent), "[]");
    struct store__idset calls = {0}, sessions = {0};
    struct hit *hits = NULL;
    size_t n_hits = 0;
    struct published *pub = NULL;
    size_t n_pub = 0;
    int rc = erase_scope(c, e, subject, &calls, &sessions);
    if (rc == ERR_OK) /* before the scrub: the bodies name the visitor and number until then */
        rc = find_messages(c, e, subject, &calls, &sessions, &hits, &n_hits);
    if (rc == ERR_OK)
        rc = find_published(c, e, subject, &calls, &sessions, &pub, &n_pub);
    for (size_t i = 0; rc == ERR_OK && i < sessions.n; i++)
        rc = scrub_session(c, e->account_id, sessions.id[i], &e->events);
    for (size_t i = 0; rc == ERR_OK && i < calls.n; i++)
        rc = scrub_call(c, e->account_id, calls.id[i]);
    for (size_t i = 0; rc == ERR_OK && i < n_pub; i++) /* before their rows are dropped */
        rc = scrub_published(c, e, &pub[i]);
    for (size_t i = 0; rc == ERR_OK && i < n_hits; i++)
        rc = scrub_message(c, e, &hits[i]);
    for (size_t i = 0; rc == ERR_OK && i < n_hits; i++)   /* hits are in id order: an event's */
        if (i == 0 || hits[i].event != hits[i - 1].event) /* messages are mostly together */
            rc = scrub_event(c, e->account_id, hits[i].event, hits[i].event_id, hits[i].type);
    e->sessions = (int64_t)sessions.n;
    e->calls = (int64_t)calls.n;
    if (rc == ERR_OK)
        rc = record(c, e);
    free(hits);
    free(pub);
    store__idset_free(&calls);
    store__idset_free(&sessions);
    return rc;
}

int store_sqlite__erase_flush(struct store *s, struct errbuf *eb)
{
    CONN_OR_FAIL(c, s);
    int rc = SQLITE_BUSY;
    /* A reader on an old snapshot, or the checkpointer's own pass, holds the WAL for a moment. */
    for (int i = 0; i < 100 && rc == SQLITE_BUSY; i++) {
        rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    if (rc == SQLITE_OK)
        return ERR_OK;
    return errf(eb, ERR_UNAVAILABLE, NULL, "cannot truncate the WAL: %s", sqlite3_errstr(rc));
}

#define ERASURE_COLS                                                                               \
    "id, ext_id, account_id, kind, actor, reference, sessions, calls, events, outbox_dropped,"     \
    " outbox_sent, sent, at"

int store_sqlite__erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                               store_erasure_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT " ERASURE_COLS " FROM erasures WHERE account_id = ?1 AND id < ?2"
                       " ORDER BY id DESC LIMIT ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int64(st, 3, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    struct st_erasure *e = xcalloc(1, sizeof(*e));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        e->id = sqlite3_column_int64(st, 0);
        store__col_text(st, 1, e->ext_id, sizeof(e->ext_id));
        e->account_id = sqlite3_column_int64(st, 2);
        store__col_text(st, 3, e->kind, sizeof(e->kind));
        store__col_text(st, 4, e->actor, sizeof(e->actor));
        store__col_text(st, 5, e->reference, sizeof(e->reference));
        e->sessions = sqlite3_column_int64(st, 6);
        e->calls = sqlite3_column_int64(st, 7);
        e->events = sqlite3_column_int64(st, 8);
        e->outbox_dropped = sqlite3_column_int64(st, 9);
        e->outbox_sent = sqlite3_column_int64(st, 10);
        store__col_text(st, 11, e->sent, sizeof(e->sent));
        e->at = sqlite3_column_int64(st, 12);
        if (fn(ctx, e))
            break;
    }
    int err = rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list erasures");
    sqlite3_reset(st);
    free(e);
    return err;
}

/* Runs a DELETE of at most max rows and adds the rows it deleted to *n. */
static int purge_step(struct sconn *c, sqlite3_stmt *st, int64_t account_id, int64_t before,
                      size_t max, int64_t *n, const char *what)
{
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, before);
    sqlite3_bind_int64(st, 3, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    int rc = store__exec(c, st, what);
    *n += rc == ERR_OK ? sqlite3_changes(c->db) : 0;
    return rc;
}

int store_sqlite__purge(struct store *s, int64_t account_id, const struct st_retention *r,
                        size_t max, struct st_purged *n, bool *busy)
{
    CONN_OR_FAIL(c, s);
    *n = (struct st_purged){0};
    if (busy)
        *busy = false;
    int rc = ERR_OK;
    if (r->calls_before > 0)
        rc = purge_step(c,
                        store__prep(c, "DELETE FROM calls WHERE id IN (SELECT id FROM calls"
                                       " WHERE account_id = ?1 AND started_at < ?2"
                                       " ORDER BY started_at, id LIMIT ?3)"),
                        account_id, r->calls_before, max, &n->calls, "purge calls");
    int64_t routes = 0; /* the routing records of those calls (not counted apart) */
    if (rc == ERR_OK && r->calls_before > 0)
        rc = purge_step(c,
                        store__prep(c, "DELETE FROM call_routes WHERE (provider, call_sid) IN"
                                       " (SELECT provider, call_sid FROM call_routes"
                                       " WHERE account_id = ?1 AND started_at < ?2"
                                       " ORDER BY started_at LIMIT ?3)"),
                        account_id, r->calls_before, max, &routes, "purge call routes");
    if (rc == ERR_OK && r->recordings_before > 0)
        rc = purge_step(c,
                        store__prep(c, "UPDATE call_routes SET recording_url = '',"
                                       " recording_duration = -1 WHERE (provider, call_sid) IN"
                                       " (SELECT provider, call_sid FROM call_routes"
                                       " WHERE account_id = ?1 AND started_at < ?2"
                                       " AND recording_url <> '' ORDER BY started_at LIMIT ?3)"),
                        account_id, r->recordings_before, max, &n->recordings, "purge recordings");
    if (rc == ERR_OK && r->recordings_before > 0) /* unrouted calls' own (sql/0030) */
        rc = purge_step(c,
                        store__prep(c, "UPDATE calls SET recording_url = '',"
                                       " recording_duration = NULL WHERE id IN (SELECT id"
                                       " FROM calls WHERE account_id = ?1 AND started_at < ?2"
                                       " AND recording_url <> '' ORDER BY started_at LIMIT ?3)"),
                        account_id, r->recordings_before, max, &n->recordings,
                        "purge call recordings");
    if (rc == ERR_OK && r->calls_before > 0)
        rc = purge_step(c,
                        store__prep(c, "DELETE FROM outbox WHERE id IN (SELECT o.id"
                                       " FROM outbox_events e JOIN outbox o ON o.event_ref = e.id"
                                       " WHERE e.account_id = ?1 AND e.created_at < ?2"
                                       " AND o.state <> 0 ORDER BY e.created_at LIMIT ?3)"),
                        account_id, r->calls_before, max, &n->messages, "purge messages");
    int64_t events = 0; /* the events whose last message went (not counted apart) */
    if (rc == ERR_OK && r->calls_before > 0)
        rc = purge_step(c,
                        store__prep(c, "DELETE FROM outbox_events WHERE id IN (SELECT e.id"
                                       " FROM outbox_events e WHERE e.account_id = ?1"
                                       " AND e.created_at < ?2 AND NOT EXISTS (SELECT 1"
                                       " FROM outbox o WHERE o.event_ref = e.id)"
                                       " ORDER BY e.created_at LIMIT ?3)"),
                        account_id, r->calls_before, max, &events, "purge message events");
    if (rc == ERR_OK && r->events_before > 0)
        rc = purge_step(c,
                        store__prep(c, "DELETE FROM events WHERE id IN (SELECT e.id FROM sessions s"
                                       " JOIN events e ON e.session_id = s.id"
                                       " WHERE s.account_id = ?1 AND s.created_at < ?2"
                                       " AND e.at < ?2 LIMIT ?3)"),
                        account_id, r->events_before, max, &n->events, "purge events");
    if (rc == ERR_OK && r->events_before > 0)
        rc = purge_step(
            c,
            store__prep(c, "DELETE FROM page_views WHERE account_id = ?1 AND id IN (SELECT id"
                           " FROM page_views WHERE account_id = ?1 AND at < ?2"
                           " ORDER BY at LIMIT ?3)"),
            account_id, r->events_before, max, &n->events, "purge page views");
    if (rc == ERR_OK && r->sessions_before > 0)
        rc = purge_step(
            c,
            store__prep(c, "DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s"
                           " WHERE s.account_id = ?1 AND s.created_at < ?2"
                           " AND s.last_active_at < ?2"
                           " AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.session_id = s.id)"
                           " AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.first_session_id = s.id)"
                           " AND NOT EXISTS (SELECT 1 FROM calls c"
                           " WHERE c.runner_up_session_id = s.id)"
                           " ORDER BY s.created_at LIMIT ?3)"),
            account_id, r->sessions_before, max, &n->sessions, "purge sessions");
    return rc;
}
