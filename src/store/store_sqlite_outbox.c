/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend: outbound messages (sql/0011_outbox.sql): destinations, the outbox rows and
 * their claims (a lease per row, so several senders never send one message at once), the
 * delivery log, and the state of the periodic checks. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include "base/xalloc.h"

#define CONN_OR_FAIL(c, s)                                                                         \
    struct sconn *c = store__conn(s);                                                              \
    if (!c)                                                                                        \
    return ERR_BACKEND

/* An ad-platform destination's format is its platform (sql/0021). */
#define DEST_COLS                                                                                  \
    "id, ext_id, account_id, url, CASE WHEN platform <> '' THEN platform ELSE format END,"         \
    " events, secret, created_at, failing_since, disabled_at, last_error"
/* A message (outbox o) with its event (outbox_events e: sql/0032). */
#define MSG_COLS                                                                                   \
    "o.id, o.account_id, o.destination_id, e.event_id, e.type, e.body, o.created_at, o.state,"     \
    " o.attempts, o.next_at, o.event_ref"
#define MSG_FROM " FROM outbox o JOIN outbox_events e ON e.id = o.event_ref"
/* The id of the newest event published by account (a parameter, "?1"), 0 for none (sql/0033). */
#define NEWEST_PUBLISHED(account)                                                                  \
    "(SELECT COALESCE(MAX(id), 0) FROM outbox_events"                                              \
    " WHERE fanout = 1 AND account_id = " account ")"

static bool fits(const char *v, size_t cap)
{
    return v && strlen(v) < cap;
}

static void read_dest(sqlite3_stmt *st, int i, struct st_destination *d)
{
    memset(d, 0, sizeof(*d));
    d->id = sqlite3_column_int64(st, i);
    store__col_text(st, i + 1, d->ext_id, sizeof(d->ext_id));
    d->account_id = sqlite3_column_int64(st, i + 2);
    store__col_text(st, i + 3, d->url, sizeof(d->url));
    store__col_text(st, i + 4, d->format, sizeof(d->format));
    store__col_text(st, i + 5, d->events, sizeof(d->events));
    store__col_text(st, i + 6, d->secret, sizeof(d->secret));
    d->created_at = sqlite3_column_int64(st, i + 7);
    d->failing_since = sqlite3_column_int64(st, i + 8);
    d->disabled_at = sqlite3_column_int64(st, i + 9);
    store__col_text(st, i + 10, d->last_error, sizeof(d->last_error));
}

static void read_msg(sqlite3_stmt *st, int i, struct st_outbox_msg *m)
{
    m->id = sqlite3_column_int64(st, i);
    m->account_id = sqlite3_column_int64(st, i + 1);
    m->destination_id = sqlite3_column_int64(st, i + 2);
    store__col_text(st, i + 3, m->event_id, sizeof(m->event_id));
    store__col_text(st, i + 4, m->type, sizeof(m->type));
    store__col_text(st, i + 5, m->body, sizeof(m->body));
    m->created_at = sqlite3_column_int64(st, i + 6);
    m->state = sqlite3_column_int(st, i + 7);
    m->attempts = sqlite3_column_int64(st, i + 8);
    m->next_at = sqlite3_column_int64(st, i + 9);
    m->event_ref = sqlite3_column_int64(st, i + 10);
}

/* Steps st once: ERR_OK with a row (left for the caller to read, then reset), ERR_NOTFOUND. */
static int step_row(struct sconn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_NOTFOUND : store__err(c, rc, what);
}

/* ---- destinations ---- */

int store_sqlite__destination_add(struct store *s, struct st_destination *d)
{
    if (!fits(d->ext_id, STORE_ID_MAX) || !fits(d->url, STORE_URL_MAX) ||
        !fits(d->events, STORE_EVENTS_MAX) || !fits(d->secret, STORE_DEST_SECRET_MAX) ||
        !store__destination_format_ok(d->format))
        return ERR_INVALID;
    bool ad = store__destination_format_ad(d->format);
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "INSERT INTO destinations(ext_id, account_id, url, format,"
                                      " events, secret, created_at, platform)"
                                      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, d->ext_id);
    sqlite3_bind_int64(st, 2, d->account_id);
    store__bind_text(st, 3, d->url);
    store__bind_text(st, 4, ad ? "json" : d->format);
    store__bind_text(st, 5, d->events);
    store__bind_text(st, 6, d->secret);
    sqlite3_bind_int64(st, 7, d->created_at);
    store__bind_text(st, 8, ad ? d->format : "");
    int rc = store__exec(c, st, "insert destination");
    if (rc)
        return rc;
    d->id = sqlite3_last_insert_rowid(c->db);
    /* its cursor: the events published before it are not its */
    st = store__prep(c, "INSERT INTO outbox_cursors(destination_id, account_id, pos, end_pos)"
                        " VALUES (?1, ?2, " NEWEST_PUBLISHED("?2") ", " NEWEST_PUBLISHED("?2") ")");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, d->id);
    sqlite3_bind_int64(st, 2, d->account_id);
    return store__exec(c, st, "insert destination cursor");
}

int store_sqlite__destination_get(struct store *s, int64_t account_id, const char *ext_id,
                                  struct st_destination *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " DEST_COLS " FROM destinations"
                                      " WHERE account_id = ?1 AND ext_id = ?2 AND deleted_at = 0");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    int rc = step_row(c, st, "read destination");
    if (rc == ERR_OK) {
        read_dest(st, 0, d);
        sqlite3_reset(st);
    }
    return rc;
}

int store_sqlite__destination_list(struct store *s, int64_t account_id, store_destination_fn fn,
                                   void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " DEST_COLS " FROM destinations"
                                      " WHERE account_id = ?1 AND deleted_at = 0 ORDER BY id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_destination d;
        read_dest(st, 0, &d);
        if (fn(ctx, &d))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list destinations");
}

int store_sqlite__destination_delete(struct store *s, int64_t account_id, const char *ext_id,
                                     int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE destinations SET deleted_at = ?3"
                                      " WHERE account_id = ?1 AND ext_id = ?2 AND deleted_at = 0"
                                      " RETURNING id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    sqlite3_bind_int64(st, 3, now);
    int rc = step_row(c, st, "delete destination");
    if (rc)
        return rc;
    int64_t id = sqlite3_column_int64(st, 0);
    rc = sqlite3_step(st); /* ends the statement: the update is done */
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store__err(c, rc, "delete destination");
    st = store__prep(c, "UPDATE outbox SET state = 2, done_at = ?2, lease_until = 0"
                        " WHERE destination_id = ?1 AND state = 0");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return store__exec(c, st, "give up a deleted destination's messages");
}

int store_sqlite__destination_result(struct store *s, int64_t account_id, int64_t id, bool ok,
                                     int64_t now, int64_t disable_after_ms, const char *error,
                                     bool *disabled)
{
    *disabled = false;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        ok ? store__prep(c, "UPDATE destinations SET failing_since = 0, last_error = ''"
                            " WHERE id = ?1 AND account_id = ?4"
                            " AND (failing_since <> 0 OR last_error <> '')")
           : store__prep(c, "UPDATE destinations SET failing_since = CASE failing_since"
                            " WHEN 0 THEN ?2 ELSE failing_since END, last_error = ?3"
                            " WHERE id = ?1 AND account_id = ?4");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 4, account_id);
    if (!ok) {
        sqlite3_bind_int64(st, 2, now);
        store__bind_text(st, 3, error ? error : "");
    }
    int rc = store__exec(c, st, "record a destination's result");
    if (rc || ok)
        return rc;
    st = store__prep(c, "UPDATE destinations SET disabled_at = ?2"
                        " WHERE id = ?1 AND account_id = ?4 AND disabled_at = 0"
                        " AND failing_since <> 0 AND failing_since <= ?2 - ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 4, account_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, disable_after_ms);
    rc = store__exec(c, st, "disable a failing destination");
    *disabled = rc == ERR_OK && sqlite3_changes(c->db) == 1;
    return rc;
}

int store_sqlite__destination_enable(struct store *s, int64_t account_id, const char *ext_id)
{
    CONN_OR_FAIL(c, s);
    /* a disabled destination got no messages (store_outbox_publish): its cursor skips the events
     * published meanwhile */
    sqlite3_stmt *st = store__prep(
        c,
        "UPDATE outbox_cursors SET pos = " NEWEST_PUBLISHED("?1") ", end_pos = " NEWEST_PUBLISHED(
            "?1") ", n = 0, owner = '', lease_until = 0"
                  " WHERE destination_id = (SELECT id"
                  " FROM destinations WHERE account_id = ?1 AND ext_id = ?2 AND deleted_at = 0"
                  " AND disabled_at <> 0)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    int moved = store__exec(c, st, "move an enabled destination's cursor");
    if (moved)
        return moved;
    st = store__prep(c, "UPDATE destinations SET disabled_at = 0, failing_since = 0"
                        " WHERE account_id = ?1 AND ext_id = ?2 AND deleted_at = 0");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    int rc = store__exec(c, st, "enable destination");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

int store_sqlite__destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                         const char *sealed)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "UPDATE destinations SET secret = ?3 WHERE account_id = ?1 AND ext_id = ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    store__bind_text(st, 3, sealed);
    int rc = store__exec(c, st, "re-seal a destination's secret");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

/* ---- the outbox ---- */

/* The event's row (written once, or found: a message for one more destination); fanout: read
 * by the destinations' cursors (store_outbox_publish). out: *event, its id. */
static int add_event(struct sconn *c, const struct st_outbox_msg *m, bool fanout, int64_t *event)
{
    if (!fits(m->event_id, STORE_ID_MAX) || !fits(m->type, STORE_EVENT_TYPE_MAX) ||
        !fits(m->body, STORE_BODY_MAX))
        return ERR_INVALID;
    sqlite3_stmt *st = store__prep(c, "INSERT INTO outbox_events(account_id, event_id, type, body,"
                                      " created_at, fanout) VALUES (?1,?2,?3,?4,?5,?6)"
                                      " ON CONFLICT (account_id, event_id) DO UPDATE"
                                      " SET account_id = excluded.account_id RETURNING id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, m->account_id);
    store__bind_text(st, 2, m->event_id);
    store__bind_text(st, 3, m->type);
    store__bind_text(st, 4, m->body);
    sqlite3_bind_int64(st, 5, m->created_at);
    sqlite3_bind_int(st, 6, fanout);
    int rc = step_row(c, st, "insert outbox event");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *event = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return ERR_OK;
}

/* The event once: the destinations it is for read it after their cursors (sql/0033); they are
 * the account's enabled destinations that take its type, which destination_ids lists. */
int store_sqlite__outbox_publish(struct store *s, struct st_outbox_msg *m,
                                 const int64_t *destination_ids, size_t n)
{
    (void)destination_ids, (void)n;
    CONN_OR_FAIL(c, s);
    m->id = 0;
    return add_event(c, m, true, &m->event_ref);
}

/* The event's row, then one message per destination. */
int store_sqlite__outbox_add(struct store *s, struct st_outbox_msg *m,
                             const int64_t *destination_ids, size_t n)
{
    CONN_OR_FAIL(c, s);
    int64_t event;
    int rc = add_event(c, m, false, &event);
    if (rc)
        return rc;
    m->event_ref = event;
    sqlite3_stmt *st;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        st = store__prep(c, "INSERT INTO outbox(account_id, destination_id, event_ref, created_at,"
                            " next_at) VALUES (?1,?2,?3,?4,?5)");
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, m->account_id);
        sqlite3_bind_int64(st, 2, destination_ids[i]);
        sqlite3_bind_int64(st, 3, event);
        sqlite3_bind_int64(st, 4, m->created_at);
        sqlite3_bind_int64(st, 5, m->next_at);
        rc = store__exec(c, st, "insert outbox message");
        if (rc == ERR_OK)
            m->id = sqlite3_last_insert_rowid(c->db);
    }
    return rc;
}

/* The claim reads per destination only what it takes (sql/0017's index): the destinations with
 * a message due, each with its messages under live leases (those with no free place left are
 * skipped: per_dest); then each one's oldest due messages up to its free places. */
static const char claim_dests_sql[] =
    "SELECT t.id, (SELECT COUNT(*) FROM outbox b WHERE b.destination_id = t.id"
    " AND b.lease_until > 0 AND b.lease_until > ?1 AND b.state = 0) FROM destinations t WHERE "
    "t.disabled_at = 0 AND t.deleted_at = 0"
    " AND EXISTS (SELECT 1 FROM outbox o WHERE o.destination_id = t.id AND o.state = 0"
    " AND o.next_at <= ?1)";
static const char claim_due_sql[] =
    "SELECT id, next_at FROM outbox WHERE destination_id = ?1 AND state = 0 AND next_at <= ?2"
    " AND lease_until <= ?2 ORDER BY next_at, id LIMIT ?3";
static const char claim_take_sql[] =
    "UPDATE outbox SET lease_until = ?2, lease_owner = ?3, attempts = attempts + 1"
    " WHERE id = ?1 AND state = 0 AND lease_until <= ?4";

struct due {
    int64_t id, next_at;
};

static int by_due(const void *a, const void *b)
{
    const struct due *x = a, *y = b;
    if (x->next_at != y->next_at)
        return (x->next_at > y->next_at) - (x->next_at < y->next_at);
    return (x->id > y->id) - (x->id < y->id);
}

static int by_id(const void *a, const void *b)
{
    const struct due *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

struct dest_free {
    int64_t id, free;
};

/* Appends to *v (n, cap) the due messages of the destinations with free places. */
static int claim_candidates(struct sconn *c, int64_t now, int64_t per_dest, struct due **v,
                            size_t *n, size_t *cap)
{
    sqlite3_stmt *st = store__prep(c, claim_dests_sql);
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, now);
    struct dest_free *dv = NULL;
    size_t dn = 0, dcap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t leased = sqlite3_column_int64(st, 1);
        if (leased >= per_dest)
            continue;
        if (dn == dcap) {
            dcap = dcap ? 2 * dcap : 64;
            dv = xrealloc(dv, dcap * sizeof(*dv));
        }
        dv[dn++] = (struct dest_free){sqlite3_column_int64(st, 0), per_dest - leased};
    }
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "claim: destinations");
    for (size_t i = 0; rc == ERR_OK && i < dn; i++) {
        st = store__prep(c, claim_due_sql);
        if (!st) {
            rc = ERR_BACKEND;
            break;
        }
        sqlite3_bind_int64(st, 1, dv[i].id);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int64(st, 3, dv[i].free);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 64;
                *v = xrealloc(*v, *cap * sizeof(**v));
            }
            (*v)[(*n)++] = (struct due){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
        }
        sqlite3_reset(st);
        if (step != SQLITE_DONE)
            rc = store__err(c, step, "claim: due messages");
    }
    free(dv);
    return rc;
}

static int claimed_one(struct sconn *c, int64_t id, store_outbox_fn fn, void *ctx, bool *stop)
{
    sqlite3_stmt *st =
        store__prep(c, "SELECT " MSG_COLS ", t.id, t.ext_id, t.account_id, t.url,"
                       " CASE WHEN t.platform <> '' THEN t.platform ELSE t.format END,"
                       " t.events, t.secret, t.created_at, t.failing_since, t.disabled_at,"
                       " t.last_error" MSG_FROM " JOIN destinations t ON t.id = o.destination_id"
                       " WHERE o.id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, id);
    int rc = step_row(c, st, "read claimed message");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    struct st_outbox_msg *m = xmalloc(sizeof(*m));
    struct st_destination d;
    read_msg(st, 0, m);
    read_dest(st, 11, &d);
    sqlite3_reset(st);
    *stop = fn(ctx, m, &d) != 0;
    free(m);
    return ERR_OK;
}

/* ---- batches: the published events after a destination's cursor (sql/0033) ---- */

/* The destinations' cursors with something to do: events after the cursor and no batch under
 * way (with the messages under live leases), or (?2) a batch whose lease ran out. */
static const char cursor_dests_sql[] =
    "SELECT c.destination_id, c.account_id, c.pos, c.end_pos, t.events,"
    " CASE WHEN ?2 THEN 0 ELSE (SELECT COUNT(*) FROM outbox b"
    "  WHERE b.destination_id = c.destination_id AND b.lease_until > 0"
    "  AND b.lease_until > ?1 AND b.state = 0) END"
    " FROM outbox_cursors c JOIN destinations t ON t.id = c.destination_id"
    " WHERE t.disabled_at = 0 AND t.deleted_at = 0 AND t.platform = ''"
    " AND CASE WHEN ?2 THEN c.end_pos > c.pos AND c.lease_until <= ?1"
    "  ELSE c.end_pos = c.pos AND EXISTS (SELECT 1 FROM outbox_events e"
    "   WHERE e.account_id = c.account_id AND e.fanout = 1 AND e.id > c.pos) END";
/* Whether the destination takes the event's type (events: its comma-separated list). */
#define TAKES(events) "instr(',' || " events " || ',', ',' || e.type || ',') > 0"

struct cursor {
    int64_t destination_id, account_id, pos, end_pos, leased;
    char events[STORE_EVENTS_MAX];
};

/* A claimed message of a batch, with its destination (handed out after the claim's writes). */
struct batch_msg {
    struct st_outbox_msg m;
    struct st_destination d;
};

/* A batch whose lease ran out: its messages become rows of their own, due now, counting the
 * attempt that may have been made (never a second attempt under one number); those with an
 * attempt logged are done (their owner recorded them after losing the lease). */
static int batch_expired(struct sconn *c, const struct cursor *k, int64_t now)
{
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO outbox(account_id, destination_id, event_ref, created_at, next_at,"
           " attempts) SELECT e.account_id, ?1, e.id, e.created_at, ?5, 1 FROM outbox_events e"
           " WHERE e.account_id = ?2 AND e.fanout = 1 AND e.id > ?3 AND e.id <= ?4"
           " AND " TAKES("?6") " AND NOT EXISTS (SELECT 1 FROM outbox_attempts a"
                               " WHERE a.event_ref = e.id AND a.destination_id = ?1)"
                               " ON CONFLICT (event_ref, destination_id) DO NOTHING");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, k->destination_id);
    sqlite3_bind_int64(st, 2, k->account_id);
    sqlite3_bind_int64(st, 3, k->pos);
    sqlite3_bind_int64(st, 4, k->end_pos);
    sqlite3_bind_int64(st, 5, now);
    store__bind_text(st, 6, k->events);
    int rc = store__exec(c, st, "claim: an expired batch's messages");
    if (rc)
        return rc;
    st = store__prep(c, "UPDATE outbox_cursors SET pos = end_pos, n = 0, owner = '',"
                        " lease_until = 0 WHERE destination_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, k->destination_id);
    return store__exec(c, st, "claim: end an expired batch");
}

/* Claims up to max of the events after k's cursor that its destination takes, as one batch
 * leased to owner (or moves the cursor past events it does not take). Appends them to *v. */
static int batch_claim(struct sconn *c, const struct cursor *k, size_t max, int64_t lease_until,
                       const char *owner, struct batch_msg **v, size_t *n)
{
    sqlite3_stmt *st =
        store__prep(c, "SELECT e.id, e.event_id, e.type, e.body, e.created_at"
                       " FROM outbox_events e WHERE e.account_id = ?1 AND e.fanout = 1"
                       " AND e.id > ?2 AND " TAKES("?3") " ORDER BY e.id LIMIT ?4");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, k->account_id);
    sqlite3_bind_int64(st, 2, k->pos);
    store__bind_text(st, 3, k->events);
    sqlite3_bind_int64(st, 4, (int64_t)max);
    size_t first = *n;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct batch_msg *b = &(*v)[(*n)++];
        struct st_outbox_msg *m = &b->m; /* every field set (no memset of the body) */
        m->id = 0;
        m->event_ref = sqlite3_column_int64(st, 0);
        m->account_id = k->account_id;
        m->destination_id = k->destination_id;
        store__col_text(st, 1, m->event_id, sizeof(m->event_id));
        store__col_text(st, 2, m->type, sizeof(m->type));
        store__col_text(st, 3, m->body, sizeof(m->body));
        m->created_at = m->next_at = sqlite3_column_int64(st, 4);
        m->state = ST_OUTBOX_PENDING;
        m->attempts = 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store__err(c, rc, "claim: a batch's events");
    size_t taken = *n - first;
    int64_t end = taken ? (*v)[*n - 1].m.event_ref : k->pos;
    if (taken < max) { /* every event up to the newest was read: the cursor passes them all */
        st = store__prep(c, "SELECT " NEWEST_PUBLISHED("?1"));
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, k->account_id);
        rc = step_row(c, st, "claim: the newest event");
        if (rc)
            return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
        int64_t top = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (top > end)
            end = top;
    }
    if (taken) {
        st = store__prep(c, "SELECT " DEST_COLS " FROM destinations WHERE id = ?1");
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, k->destination_id);
        rc = step_row(c, st, "claim: a batch's destination");
        if (rc)
            return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
        read_dest(st, 0, &(*v)[first].d);
        sqlite3_reset(st);
        for (size_t i = first + 1; i < *n; i++)
            (*v)[i].d = (*v)[first].d;
    }
    st = store__prep(c, "UPDATE outbox_cursors SET end_pos = ?2, n = ?3, owner = ?4,"
                        " lease_until = ?5, pos = CASE WHEN ?3 = 0 THEN ?2 ELSE pos END"
                        " WHERE destination_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, k->destination_id);
    sqlite3_bind_int64(st, 2, end);
    sqlite3_bind_int64(st, 3, (int64_t)taken);
    store__bind_text(st, 4, taken ? owner : "");
    sqlite3_bind_int64(st, 5, taken ? lease_until : 0);
    return store__exec(c, st, "claim: lease a batch");
}

/* The cursors of cursor_dests_sql (expired: the batches whose lease ran out). out: *kv (kn). */
static int cursors(struct sconn *c, int64_t now, bool expired, struct cursor **kv, size_t *kn)
{
    sqlite3_stmt *st = store__prep(c, cursor_dests_sql);
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, expired);
    size_t kcap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*kn == kcap) {
            kcap = kcap ? 2 * kcap : 16;
            *kv = xrealloc(*kv, kcap * sizeof(**kv));
        }
        struct cursor *k = &(*kv)[(*kn)++];
        k->destination_id = sqlite3_column_int64(st, 0);
        k->account_id = sqlite3_column_int64(st, 1);
        k->pos = sqlite3_column_int64(st, 2);
        k->end_pos = sqlite3_column_int64(st, 3);
        store__col_text(st, 4, k->events, sizeof(k->events));
        k->leased = sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "claim: cursors");
}

/* The batches whose lease ran out become rows of their own (claimed like the others). */
static int expire_batches(struct sconn *c, int64_t now)
{
    struct cursor *kv = NULL;
    size_t kn = 0;
    int rc = cursors(c, now, true, &kv, &kn);
    for (size_t i = 0; rc == ERR_OK && i < kn; i++)
        rc = batch_expired(c, &kv[i], now);
    free(kv);
    return rc;
}

/* A batch per destination with free places, up to max messages in all. out: *v (n). */
static int claim_batches(struct sconn *c, int64_t now, int64_t lease_until, const char *owner,
                         int64_t per_dest, size_t max, struct batch_msg **v, size_t *n)
{
    struct cursor *kv = NULL;
    size_t kn = 0;
    int rc = cursors(c, now, false, &kv, &kn);
    *v = max ? xmalloc(max * sizeof(**v)) : NULL;
    for (size_t i = 0; rc == ERR_OK && i < kn; i++) {
        struct cursor *k = &kv[i];
        size_t room = max - *n;
        if (k->leased >= per_dest || room == 0)
            continue;
        if ((int64_t)room > per_dest - k->leased)
            room = (size_t)(per_dest - k->leased);
        rc = batch_claim(c, k, room, lease_until, owner, v, n);
    }
    free(kv);
    return rc;
}

int store_sqlite__outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                               int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    if (max == 0 || per_dest <= 0)
        return ERR_OK;
    bool own = sqlite3_get_autocommit(c->db) != 0; /* the reads and the claims: one transaction */
    int rc = own ? store_sqlite__begin(s) : ERR_OK;
    struct due *v = NULL;
    size_t n = 0, cap = 0, taken = 0;
    if (rc == ERR_OK)
        rc = expire_batches(c, now);
    if (rc == ERR_OK)
        rc = claim_candidates(c, now, per_dest, &v, &n, &cap);
    /* the oldest due first, at most max, then in the order they were written */
    if (rc == ERR_OK && n > 1)
        qsort(v, n, sizeof(*v), by_due);
    if (n > max)
        n = max;
    if (rc == ERR_OK && n > 1)
        qsort(v, n, sizeof(*v), by_id);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        sqlite3_stmt *st = store__prep(c, claim_take_sql);
        if (!st) {
            rc = ERR_BACKEND;
            break;
        }
        sqlite3_bind_int64(st, 1, v[i].id);
        sqlite3_bind_int64(st, 2, lease_until);
        store__bind_text(st, 3, owner);
        sqlite3_bind_int64(st, 4, now);
        rc = store__exec(c, st, "claim outbox message");
        if (rc == ERR_OK && sqlite3_changes(c->db) == 1)
            v[taken++] = v[i];
    }
    struct batch_msg *bv = NULL;
    size_t bn = 0;
    if (rc == ERR_OK)
        rc = claim_batches(c, now, lease_until, owner, per_dest, max - taken, &bv, &bn);
    if (own) {
        if (rc == ERR_OK)
            rc = store_sqlite__commit(s);
        if (rc)
            store_sqlite__rollback(s);
    }
    bool stop = false;
    for (size_t i = 0; rc == ERR_OK && !stop && i < taken; i++)
        rc = claimed_one(c, v[i].id, fn, ctx, &stop);
    for (size_t i = 0; rc == ERR_OK && !stop && i < bn; i++)
        stop = fn(ctx, &bv[i].m, &bv[i].d) != 0;
    free(bv);
    free(v);
    return rc;
}

int store_sqlite__outbox_finish(struct store *s, int64_t id, const char *owner,
                                const struct st_delivery *d, int state, int64_t next_at)
{
    CONN_OR_FAIL(c, s);
    /* the message's event: its row's (id), or the batch message's own (d->event_ref) */
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO outbox_attempts(event_ref, destination_id, attempt, at, status, error,"
           " response, latency_ms, account_id) SELECT CASE WHEN ?10 = 0 THEN ?1 ELSE"
           " (SELECT event_ref FROM outbox WHERE id = ?10) END, ?2,?3,?4,?5,?6,?7,?8,?9");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, d->event_ref);
    sqlite3_bind_int64(st, 10, id);
    sqlite3_bind_int64(st, 9, d->account_id);
    sqlite3_bind_int64(st, 2, d->destination_id);
    sqlite3_bind_int64(st, 3, d->attempt);
    sqlite3_bind_int64(st, 4, d->at);
    sqlite3_bind_int(st, 5, d->status);
    store__bind_text(st, 6, d->error);
    store__bind_text(st, 7, d->response);
    sqlite3_bind_int64(st, 8, d->latency_ms);
    int rc = store__exec(c, st, "log delivery attempt");
    if (rc)
        return rc == ERR_CONFLICT ? ERR_NOTFOUND : rc;
    if (id == 0 && state == ST_OUTBOX_DELIVERED) /* a batch's message: its cursor passes it */
        return ERR_OK;
    if (id == 0) { /* … or it gets a row of its own, for its retries */
        st = store__prep(c, "INSERT INTO outbox(account_id, destination_id, event_ref, created_at,"
                            " state, attempts, next_at, done_at) SELECT e.account_id, ?2, e.id,"
                            " e.created_at, ?3, ?4, ?5, CASE WHEN ?3 = 0 THEN 0 ELSE ?6 END"
                            " FROM outbox_events e WHERE e.id = ?1 AND e.account_id = ?7"
                            " ON CONFLICT (event_ref, destination_id) DO NOTHING");
        if (!st)
            return ERR_BACKEND;
        sqlite3_bind_int64(st, 1, d->event_ref);
        sqlite3_bind_int64(st, 2, d->destination_id);
        sqlite3_bind_int(st, 3, state);
        sqlite3_bind_int64(st, 4, d->attempt);
        sqlite3_bind_int64(st, 5, next_at);
        sqlite3_bind_int64(st, 6, d->at);
        sqlite3_bind_int64(st, 7, d->account_id);
        return store__exec(c, st, "a batch message's row");
    }
    st = store__prep(c, "UPDATE outbox SET state = ?3, next_at = ?4, lease_until = 0,"
                        " lease_owner = '', done_at = CASE WHEN ?3 = 0 THEN 0 ELSE ?5 END"
                        " WHERE id = ?1 AND lease_owner = ?2 AND state = 0 AND account_id = ?6");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 6, d->account_id);
    sqlite3_bind_int64(st, 1, id);
    store__bind_text(st, 2, owner);
    sqlite3_bind_int(st, 3, state);
    sqlite3_bind_int64(st, 4, next_at);
    sqlite3_bind_int64(st, 5, d->at);
    return store__exec(c, st, "finish outbox message");
}

int store_sqlite__outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                                    const char *owner)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE outbox_cursors SET pos = end_pos, n = 0, owner = '',"
                                      " lease_until = 0 WHERE destination_id = ?1"
                                      " AND account_id = ?2 AND owner = ?3 AND end_pos > pos");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, destination_id);
    sqlite3_bind_int64(st, 2, account_id);
    store__bind_text(st, 3, owner);
    return store__exec(c, st, "end a batch");
}

int store_sqlite__outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                                 const char *event_id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "UPDATE outbox SET state = 0, next_at = ?4, lease_until = 0,"
                                      " lease_owner = '', done_at = 0 WHERE account_id = ?1"
                                      " AND destination_id = ?2 AND event_ref = (SELECT id"
                                      " FROM outbox_events WHERE account_id = ?1"
                                      " AND event_id = ?3)");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, destination_id);
    store__bind_text(st, 3, event_id);
    sqlite3_bind_int64(st, 4, now);
    int rc = store__exec(c, st, "requeue outbox message");
    if (rc || sqlite3_changes(c->db) > 0)
        return rc;
    /* no row: a published event its destination's cursor passed with an attempt logged gets a
     * row of its own, its attempts counting on; one still after the cursor is on its way */
    st = store__prep(
        c, "INSERT INTO outbox(account_id, destination_id, event_ref, created_at, next_at,"
           " attempts) SELECT e.account_id, t.id, e.id, e.created_at, ?4,"
           " (SELECT COUNT(*) FROM outbox_attempts a WHERE a.event_ref = e.id"
           "  AND a.destination_id = t.id)"
           " FROM outbox_events e JOIN destinations t ON t.id = ?2 AND t.account_id = ?1"
           " JOIN outbox_cursors c ON c.destination_id = t.id"
           " WHERE e.account_id = ?1 AND e.event_id = ?3 AND e.fanout = 1"
           " AND " TAKES("t.events") " AND e.id <= c.pos AND EXISTS (SELECT 1"
                                     " FROM outbox_attempts a WHERE a.event_ref = e.id AND "
                                     "a.destination_id = t.id)"
                                     " ON CONFLICT (event_ref, destination_id) DO NOTHING");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, destination_id);
    store__bind_text(st, 3, event_id);
    sqlite3_bind_int64(st, 4, now);
    rc = store__exec(c, st, "requeue a published message");
    if (rc || sqlite3_changes(c->db) > 0)
        return rc;
    struct st_outbox_msg *m = xmalloc(sizeof(*m)); /* pending in its destination's batches */
    rc = store_sqlite__outbox_get(s, account_id, destination_id, event_id, m);
    free(m);
    return rc;
}

int store_sqlite__outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                             const char *event_id, struct st_outbox_msg *m)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT " MSG_COLS MSG_FROM " WHERE e.account_id = ?3"
                                      " AND e.event_id = ?2 AND o.destination_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, destination_id);
    store__bind_text(st, 2, event_id);
    sqlite3_bind_int64(st, 3, account_id);
    int rc = step_row(c, st, "read outbox message");
    if (rc == ERR_OK) {
        read_msg(st, 0, m);
        sqlite3_reset(st);
    }
    if (rc != ERR_NOTFOUND)
        return rc;
    /* no row: a published event the destination takes, after its cursor (pending) or delivered
     * in a batch (an attempt logged); before its cursor without an attempt, it was never its */
    st = store__prep(c,
                     "SELECT 0, e.account_id, t.id, e.event_id, e.type, e.body, e.created_at,"
                     " CASE WHEN e.id > c.pos THEN 0 ELSE 1 END,"
                     " (SELECT COUNT(*) FROM outbox_attempts a WHERE a.event_ref = e.id"
                     "  AND a.destination_id = t.id), e.created_at, e.id"
                     " FROM outbox_events e JOIN destinations t ON t.id = ?1 AND t.account_id = ?3"
                     " JOIN outbox_cursors c ON c.destination_id = t.id"
                     " WHERE e.account_id = ?3 AND e.event_id = ?2 AND e.fanout = 1 AND " TAKES(
                         "t.events") " AND (e.id > c.pos OR EXISTS (SELECT 1 FROM outbox_attempts a"
                                     "  WHERE a.event_ref = e.id AND a.destination_id = t.id))");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, destination_id);
    store__bind_text(st, 2, event_id);
    sqlite3_bind_int64(st, 3, account_id);
    rc = step_row(c, st, "read a published message");
    if (rc == ERR_OK) {
        read_msg(st, 0, m);
        sqlite3_reset(st);
    }
    return rc;
}

int store_sqlite__delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                                int64_t before_id, size_t max, store_delivery_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT a.id, a.event_ref, a.destination_id, e.event_id,"
                                      " e.type, a.attempt, a.at, a.status, a.error, a.response,"
                                      " a.latency_ms, a.account_id FROM outbox_attempts a"
                                      " JOIN outbox_events e ON e.id = a.event_ref"
                                      " WHERE a.destination_id = ?1 AND (?2 = 0 OR a.id < ?2)"
                                      " AND a.account_id = ?4 ORDER BY a.id DESC LIMIT ?3");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 4, account_id);
    sqlite3_bind_int64(st, 1, destination_id);
    sqlite3_bind_int64(st, 2, before_id);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_delivery d;
        memset(&d, 0, sizeof(d));
        d.id = sqlite3_column_int64(st, 0);
        d.event_ref = sqlite3_column_int64(st, 1);
        d.destination_id = sqlite3_column_int64(st, 2);
        store__col_text(st, 3, d.event_id, sizeof(d.event_id));
        store__col_text(st, 4, d.type, sizeof(d.type));
        d.attempt = sqlite3_column_int64(st, 5);
        d.at = sqlite3_column_int64(st, 6);
        d.status = sqlite3_column_int(st, 7);
        store__col_text(st, 8, d.error, sizeof(d.error));
        store__col_text(st, 9, d.response, sizeof(d.response));
        d.latency_ms = sqlite3_column_int64(st, 10);
        d.account_id = sqlite3_column_int64(st, 11);
        if (fn(ctx, &d))
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "list deliveries");
}

/* ---- periodic checks ---- */

int store_sqlite__alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                                int64_t now, int64_t cooldown_ms, bool *fired)
{
    *fired = false;
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(
        c, "INSERT INTO alert_state(account_id, key, value, prev_value, checked_at, fired_at)"
           " VALUES (?1, ?2, ?3, 0, ?4, CASE WHEN ?3 > 0 THEN ?4 ELSE 0 END)"
           " ON CONFLICT (account_id, key) DO UPDATE SET prev_value = alert_state.value,"
           " fired_at = CASE WHEN excluded.value > alert_state.value"
           "  AND (alert_state.fired_at = 0 OR alert_state.fired_at <= ?4 - ?5)"
           "  THEN ?4 ELSE alert_state.fired_at END,"
           " value = excluded.value, checked_at = ?4"
           " RETURNING fired_at = ?4 AND value > prev_value");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, value);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, cooldown_ms);
    int rc = step_row(c, st, "observe alert state");
    if (rc)
        return rc;
    *fired = sqlite3_column_int(st, 0) != 0;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "observe alert state");
}

/* ---- traffic counts (alert.swap_miss_rate) ---- */

int store_sqlite__traffic_add(struct store *s, int64_t account_id, int64_t bucket_at,
                              int64_t page_views, int64_t swap_misses, int64_t purge_before)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "INSERT INTO traffic_counts(account_id, bucket_at, page_views, swap_misses)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, bucket_at) DO UPDATE SET"
                       " page_views = traffic_counts.page_views + excluded.page_views,"
                       " swap_misses = traffic_counts.swap_misses + excluded.swap_misses");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, bucket_at);
    sqlite3_bind_int64(st, 3, page_views);
    sqlite3_bind_int64(st, 4, swap_misses);
    int rc = store__exec(c, st, "add traffic counts");
    if (rc)
        return rc;
    st = store__prep(c, "DELETE FROM traffic_counts WHERE account_id = ?1 AND bucket_at < ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, purge_before);
    return store__exec(c, st, "purge traffic counts");
}

int store_sqlite__traffic_sum(struct store *s, int64_t account_id, int64_t since,
                              int64_t *page_views, int64_t *swap_misses)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "SELECT COALESCE(SUM(page_views), 0),"
                                      " COALESCE(SUM(swap_misses), 0) FROM traffic_counts"
                                      " WHERE account_id = ?1 AND bucket_at >= ?2");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, since);
    int rc = step_row(c, st, "sum traffic counts");
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_BACKEND : rc;
    *page_views = sqlite3_column_int64(st, 0);
    *swap_misses = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return ERR_OK;
}

/* ---- the Google Ads scheduled-import feed ---- */

int store_sqlite__feed_set(struct store *s, int64_t account_id, const char *ext_id,
                           const char *secret_hash, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "INSERT INTO export_feeds(account_id, ext_id, secret_hash, created_at)"
                       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id) DO UPDATE SET"
                       " ext_id = excluded.ext_id, secret_hash = excluded.secret_hash,"
                       " created_at = excluded.created_at");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    store__bind_text(st, 2, ext_id);
    store__bind_text(st, 3, secret_hash);
    sqlite3_bind_int64(st, 4, now);
    return store__exec(c, st, "set feed");
}

int store_sqlite__feed_account(struct store *s, const char *ext_id, struct st_account *a,
                               char secret_hash[65])
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st =
        store__prep(c, "SELECT account_id, secret_hash FROM export_feeds WHERE ext_id = ?1");
    if (!st)
        return ERR_BACKEND;
    store__bind_text(st, 1, ext_id);
    int rc = step_row(c, st, "read feed");
    if (rc)
        return rc;
    int64_t account_id = sqlite3_column_int64(st, 0);
    store__col_text(st, 1, secret_hash, 65);
    sqlite3_reset(st);
    return store_sqlite__account_by_id(s, account_id, a);
}

int store_sqlite__feed_delete(struct store *s, int64_t account_id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = store__prep(c, "DELETE FROM export_feeds WHERE account_id = ?1");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    int rc = store__exec(c, st, "delete feed");
    return rc == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOTFOUND : rc;
}

/* A batch: more due rows of one destination, past the per-destination limit. */
int store_sqlite__outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                                     int64_t now, int64_t lease_until, const char *owner,
                                     size_t max, store_outbox_fn fn, void *ctx)
{
    CONN_OR_FAIL(c, s);
    if (max == 0)
        return ERR_OK;
    sqlite3_stmt *st = store__prep(
        c, "UPDATE outbox SET lease_until = ?4, lease_owner = ?5, attempts = attempts + 1"
           " WHERE id IN (SELECT o.id FROM outbox o JOIN destinations t ON t.id = o.destination_id"
           "  WHERE o.account_id = ?1 AND o.destination_id = ?2 AND t.account_id = ?1"
           "  AND o.state = 0 AND o.next_at <= ?3 AND o.lease_until <= ?3"
           "  AND t.disabled_at = 0 AND t.deleted_at = 0 ORDER BY o.next_at, o.id LIMIT ?6)"
           " RETURNING id");
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int64(st, 1, account_id);
    sqlite3_bind_int64(st, 2, destination_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, lease_until);
    store__bind_text(st, 5, owner);
    sqlite3_bind_int64(st, 6, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    int64_t *ids = xmalloc(max * sizeof(*ids));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (n < max)
            ids[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    rc = rc == SQLITE_DONE ? ERR_OK : store__err(c, rc, "claim a batch of outbox messages");
    /* RETURNING's order is unspecified: handed out in id order */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int64_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    bool stop = false;
    for (size_t i = 0; rc == ERR_OK && !stop && i < n; i++)
        rc = claimed_one(c, ids[i], fn, ctx, &stop);
    free(ids);
    return rc;
}
