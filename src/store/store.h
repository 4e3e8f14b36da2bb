/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The store: every durable fact (accounts, keys, pools, numbers, rules, sessions, leases, events,
 * calls, conversions) behind one interface with two backends (SQLite now, PostgreSQL later), so
 * no database type leaks out. Rows are plain structs with fixed-size strings, filled by the store
 * and owned by the caller. Every call may be made from any thread: the backend keeps one
 * connection per thread. Functions return ERR_OK, ERR_NOTFOUND, ERR_CONFLICT (a uniqueness or
 * "in use" rule), ERR_INVALID, or ERR_BACKEND (detail in the errbuf, and counted in
 * store_errors). A write that fails changes nothing.
 *
 * Backends (the ops rule): each store_* function below is a thin dispatcher through the store's
 * ops table (src/store/store_int.h, one member per operation). A backend fills that table once
 * (store_sqlite_ops in store_sqlite*.c) and is registered once in store.c's backends[], which
 * store_open walks to pick the backend for a URL. Callers only ever hold a struct store *; a new
 * operation is a new member, implemented by every backend and pinned by tests/store/conformance.c.
 *
 * Re-entrancy (list callbacks): a list operation (store_*_list, store_account_origins,
 * store_session_leases, store_lease_history, store_report_*, store_export_trace) calls its
 * callback on the caller's thread while its query is still open on that thread's connection.
 * The callback MAY call, on the same store and thread: any read operation other than the list
 * operation that is running, including other list operations (they nest: each operation has its
 * own prepared statement), and the lease operations (store_lease_claim, _touch, _times,
 * store_pool_stats), which hold no lock while a callback runs. It MUST NOT call the running
 * list operation again (SQLite: that operation's cached statement would be reset under the outer
 * loop, which would restart it), write, begin/commit/rollback a transaction or a savepoint (a
 * rollback aborts the open query), or close the store. Other threads are unaffected: they use
 * their own connections. */
#ifndef OPENDNI_STORE_STORE_H
#define OPENDNI_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/client.h"
#include "core/phone.h"
#include "core/pool.h"
#include "store/secrets.h"

#define STORE_ID_MAX 48   /* external ids: "acc_…", "pool_…", session ids */
#define STORE_E164_MAX 17 /* "+" and up to 15 digits, as PHONE_E164_MAX */
#define STORE_NAME_MAX 128
#define STORE_TEXT_MAX 256 /* UTM fields, URLs: truncated by classify already */

struct store;

struct st_account {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    char name[STORE_NAME_MAX];
    char settings[2048]; /* JSON object: conversion rules, recording, … */
};

struct st_pool {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    int64_t account_id;
    char name[STORE_NAME_MAX];
    char target[STORE_E164_MAX];
    char forward_to[STORE_E164_MAX];
    int64_t lease_ttl_s;
    int64_t cooldown_s;
    bool fallback_mode;                   /* on_exhaust: false = share, true = fallback */
    char fallback_number[STORE_E164_MAX]; /* "" = none */
    bool has_channels;                    /* false: the pool serves every channel */
    uint32_t channels; /* else the channels it serves (core/classify classify_channel_bit) */
    int64_t exhaustion_events;
    int64_t peak_concurrent;
    int64_t created_at;
};

struct st_number {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    int64_t account_id;
    char number[STORE_E164_MAX];
    int64_t pool_id;             /* 0 for a source number */
    char source[STORE_TEXT_MAX]; /* source numbers only */
    char medium[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    char target[STORE_E164_MAX];
    char forward_to[STORE_E164_MAX];
    int64_t idle_since;
    int64_t created_at;
};

struct st_rule {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    int64_t account_id;
    int64_t position;
    char field[32];
    char op[16];
    char value[STORE_TEXT_MAX];
    char set_channel[32];
    char set_source[STORE_TEXT_MAX];
    char set_medium[STORE_TEXT_MAX];
    char set_campaign[STORE_TEXT_MAX];
    int64_t pool_id;             /* 0 = none */
    int64_t number_id;           /* 0 = none */
    char location[STORE_ID_MAX]; /* the location (ext id) the rule belongs to, "" = none */
};

struct st_session {
    int64_t id; /* 0 until stored */
    char ext_id[STORE_ID_MAX];
    int64_t account_id;
    char visitor_id[STORE_ID_MAX];
    int64_t created_at;
    int64_t last_active_at;
    char landing_page[STORE_TEXT_MAX];
    char referrer[STORE_TEXT_MAX];
    char channel[32];
    char source[STORE_TEXT_MAX];
    char medium[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    char keyword[STORE_TEXT_MAX];
    char content[STORE_TEXT_MAX];
    char click_ids[1024]; /* JSON object text */
    char device[16];
    char region[8];
    char client_key[CLIENT_KEY_MAX]; /* core/client.h key of the creating request, "" unknown */
    char location[STORE_ID_MAX]; /* the location of the source rule the visit matched, "" none */
};

struct st_lease {
    int64_t id;         /* 0: insert a new lease row */
    int64_t account_id; /* the pool's and the session's account (filled on reads) */
    int64_t session_id;
    int64_t number_id;
    int64_t pool_id;
    int64_t leased_at;
    int64_t last_active_at;
    int64_t expires_at;
    bool shared;
    /* POOL_SIG_* noted on it (store_lease_note); read by SQLite only, to rebuild its engine */
    unsigned signals;
    /* filled on reads, from the lease's session: */
    char session_ext[STORE_ID_MAX];  /* its external id */
    char visitor_id[STORE_ID_MAX];   /* its visitor */
    char client_key[CLIENT_KEY_MAX]; /* its client (st_session.client_key), "" unknown */
};

struct st_event {
    int64_t account_id; /* the session's account */
    int64_t session_id;
    char type[24];
    char number[STORE_E164_MAX];
    char detail[STORE_TEXT_MAX];
    int64_t at;
};

/* Callback for list operations: return 0 to continue, non-zero to stop. */
typedef int (*store_account_fn)(void *ctx, const struct st_account *a);
typedef int (*store_pool_fn)(void *ctx, const struct st_pool *p);
typedef int (*store_number_fn)(void *ctx, const struct st_number *n);
typedef int (*store_rule_fn)(void *ctx, const struct st_rule *r);
typedef int (*store_lease_fn)(void *ctx, const struct st_lease *l);
typedef int (*store_origin_fn)(void *ctx, const char *origin);

/* An API key as the account's key list shows it (the key itself is never stored). */
struct st_api_key {
    int64_t id;
    char key_hash[65]; /* hex SHA-256 */
    int64_t created_at;
    int64_t revoked_at; /* 0 while the key works */
};
typedef int (*store_api_key_fn)(void *ctx, const struct st_api_key *k);

/* ---- lifecycle ---- */

/* Opens the store at url: a file path (SQLite) or postgres:// / postgresql:// (PostgreSQL).
 * Does not migrate. out: *s, free with store_close. */
int store_open(const char *url, struct store **s, struct errbuf *eb);
/* Closes every connection (all threads must be done with the store). NULL ok. */
void store_close(struct store *s);
/* Applies the embedded migrations not yet recorded, each recorded as applied at `now`.
 * ERR_CONFLICT if the database has a newer schema than this binary knows (it refuses to touch
 * it). out: *version (may be NULL). */
int store_migrate(struct store *s, int64_t now, int *version, struct errbuf *eb);
/* ERR_OK when the schema is current and the database answers. ERR_NOTFOUND (eb says how to
 * create it) when the store does not exist: store_open never creates one, store_migrate does. */
int store_check(struct store *s, struct errbuf *eb);
/* Checks that the store is not damaged: full, every page and index (SQLite PRAGMA
 * integrity_check, slow on a large file: `opendni init`); else the quick pass (quick_check:
 * `opendni serve` at start). ERR_OK, or ERR_BACKEND with what is damaged and what to do in eb.
 * A missing store is not damaged (ERR_OK). THREADING: the calling thread's connection. */
int store_verify(struct store *s, bool full, struct errbuf *eb);
/* Writes a consistent copy of the store to the file dest (a new file, mode 0600, replacing one
 * there) while other processes, a server among them, keep reading and writing it: SQLite's
 * online backup API, in steps, restarted when a writer changes the store mid-way. The copy is a
 * complete store that `opendni serve --db dest` serves. ERR_OK; ERR_NOTFOUND for a store that
 * does not exist; ERR_IO or ERR_BACKEND with the reason in eb; ERR_UNSUPPORTED for a backend
 * that leaves backups to its own tools (PostgreSQL: pg_dump). Nothing is left at dest on
 * failure. THREADING: any thread, outside a transaction. */
int store_backup(struct store *s, const char *dest, struct errbuf *eb);
/* Whether the store can commit a write now (GET /readyz): commits one small write transaction
 * of its own (it rewrites the one row of store_health with `now`), waiting at most about a second
 * for the write lock. ERR_OK when it committed; ERR_BACKEND with the store's reason in eb
 * (read-only file, full disk, I/O error, the lock held elsewhere) otherwise, after rolling back.
 * Changes no other data. THREADING: any thread, on that thread's connection, outside a
 * transaction (it opens and ends its own). */
int store_writable(struct store *s, int64_t now, struct errbuf *eb);
/* A number that changes whenever another process may have changed what the visit path caches
 * per account (accounts, origins, pools and their settings, numbers, rules), so a node can
 * drop its copies at once instead of after their time to live. ERR_OK (out: *version);
 * ERR_UNSUPPORTED where one process serves the store and invalidates its own copies (SQLite);
 * ERR_BACKEND. THREADING: any thread. */
int store_config_version(struct store *s, int64_t *version);
/* Events between the nodes serving one database (the SSE stream's fan-out, DESIGN.md "Scale
 * plan"). store_notify sends payload (at most STORE_NOTIFY_MAX - 1 bytes of text) to every
 * process waiting in store_notify_wait on this database, this one included; inside a
 * transaction it is sent only if and when the transaction commits (a rolled-back savepoint drops
 * it too). ERR_OK; ERR_INVALID (too long); ERR_UNSUPPORTED where one process serves the store
 * (SQLite: nothing to tell); ERR_BACKEND. THREADING: any thread, on its connection. */
#define STORE_NOTIFY_MAX 7900
int store_notify(struct store *s, const char *payload);
/* Called once per payload received, in the order sent; payload is borrowed for the call. The
 * callback may use the store (on the waiting thread's connection). */
typedef void (*store_notify_fn)(void *ctx, const char *payload);
/* Listens on the calling thread's connection (from its first call on, and again after a lost
 * connection is re-opened: what was sent in between is not received) and waits at most
 * timeout_ms for payloads, calling fn for each one that arrived. ERR_OK (none or some
 * arrived); ERR_UNSUPPORTED (SQLite); ERR_BACKEND (the connection is lost: call again later).
 * THREADING: one thread of its own, which should do nothing else with the store but what fn
 * does. */
int store_notify_wait(struct store *s, int timeout_ms, store_notify_fn fn, void *ctx);
/* Store errors since start (for /metrics). */
uint64_t store_errors(struct store *s);
/* Declares this process the serving node (`opendni serve`), once, before its threads use the
 * store; it lasts until store_close. The backend then does what serving needs: SQLite takes an
 * exclusive lock on the sibling file PATH.lock (one serving process per database file; `init`,
 * `account` and backups, which never call this, still open the file), writes its pid there,
 * starts its WAL checkpointer thread and tunes the WAL of its connections.
 * ERR_CONFLICT if another process serves the same database (the message names the file and the
 * holder's pid), ERR_IO if the lock file cannot be opened, ERR_INVALID if called twice.
 * THREADING: call from the thread that opened the store, before other threads use it. */
int store_serve_begin(struct store *s, int64_t now, struct errbuf *eb);

/* Transactions on the calling thread's connection (nesting is not supported). store_begin takes
 * the write lock at once so the transaction cannot fail later on a lock. */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);
/* A read transaction: the reads until store_read_end see one snapshot and share one lock
 * acquisition (cheaper than a transaction per statement). Ends with store_read_end. */
int store_read_begin(struct store *s);
void store_read_end(struct store *s);

/* A savepoint inside the current transaction, so one failing item of a batch can be undone
 * without losing the others. */
int store_savepoint(struct store *s);
int store_savepoint_release(struct store *s);
void store_savepoint_rollback(struct store *s);
/* The most savepoints one transaction should hold (>= 1): the group-commit writer's batches
 * (a savepoint per item) are no larger. SQLite: no limit (INT_MAX). PostgreSQL: 64, the
 * subtransactions a server process caches; one more and every snapshot of every session is
 * "suboverflowed" while the transaction runs, so visibility checks go through pg_subtrans. */
int store_savepoints_max(struct store *s);

/* ---- accounts and keys ---- */

/* Creates an account (ext_id "" = generate one) with its allowed origins and one API key
 * (key_hash = hex SHA-256), both created at `now`. ERR_CONFLICT if ext_id is taken. out: *a. */
int store_account_create(struct store *s, const char *ext_id, const char *name,
                         const char *const *origins, size_t n_origins, const char *key_hash,
                         int64_t now, struct st_account *a, struct errbuf *eb);
int store_account_get(struct store *s, const char *ext_id, struct st_account *a);
int store_account_by_id(struct store *s, int64_t id, struct st_account *a);
/* Adds an API key (hex SHA-256) to an account, created at `now`. */
int store_api_key_add(struct store *s, int64_t account_id, const char *key_hash, int64_t now);
/* Revokes (as of `now`) every key of the account but the one with keep_hash (which must be one
 * of its unrevoked keys: ERR_NOTFOUND otherwise, and nothing changes). out: *n_revoked. */
int store_api_key_revoke_others(struct store *s, int64_t account_id, const char *keep_hash,
                                int64_t now, int64_t *n_revoked);
/* Calls fn for each API key of the account, revoked ones too, by id (oldest first). */
int store_api_key_list(struct store *s, int64_t account_id, store_api_key_fn fn, void *ctx);
/* Revokes (as of `now`) the account's unrevoked key with this id. ERR_NOTFOUND if the account
 * has no such unrevoked key (another account's id included): nothing changes. */
int store_api_key_revoke(struct store *s, int64_t account_id, int64_t key_id, int64_t now);
/* The account owning an unrevoked key with this hash; ERR_NOTFOUND otherwise. */
int store_account_by_key(struct store *s, const char *key_hash, struct st_account *a);
int store_account_set_settings(struct store *s, int64_t id, const char *settings_json);
int store_account_list(struct store *s, store_account_fn fn, void *ctx);
/* Every account's row id, in id order (store_account_list's): out *ids (free it; NULL when
 * none), *n. For walks that act on each account after the listing ends. */
int store_account_ids(struct store *s, int64_t **ids, size_t *n);
/* Calls fn(ctx, origin) for each allowed origin of the account. */
int store_account_origins(struct store *s, int64_t account_id, store_origin_fn fn, void *ctx);
/* Allows origin for the account (an origin it allows already: ERR_OK, nothing changes). */
int store_origin_add(struct store *s, int64_t account_id, const char *origin);
/* Stops allowing origin for the account. ERR_NOTFOUND if it did not allow it. */
int store_origin_delete(struct store *s, int64_t account_id, const char *origin);
/* out: *exists, true if any account allows this origin. */
int store_origin_exists(struct store *s, const char *origin, bool *exists);

/* ---- pools ---- */

/* Inserts p, created at `now` (ext_id generated, id and created_at set on return). */
int store_pool_create(struct store *s, struct st_pool *p, int64_t now, struct errbuf *eb);
int store_pool_get(struct store *s, int64_t account_id, const char *ext_id, struct st_pool *p);
/* The *_by_id reads (pools, numbers, sessions, calls; a call's conversion and outcome) find the
 * row in account_id only: another account's row id is ERR_NOTFOUND (the Citus rule). */
int store_pool_by_id(struct store *s, int64_t account_id, int64_t id, struct st_pool *p);
int store_pool_update(struct store *s, const struct st_pool *p, struct errbuf *eb);
/* ERR_CONFLICT if a lease on one of its numbers is live at now. Deletes its numbers too. */
int store_pool_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
/* account_id 0 = every account (engine rebuild). */
int store_pool_list(struct store *s, int64_t account_id, store_pool_fn fn, void *ctx);
int store_pool_set_counters(struct store *s, int64_t account_id, int64_t pool_id,
                            int64_t exhaustion_events, int64_t peak_concurrent);

/* ---- numbers ---- */

/* Inserts n, created at `now` (ext_id, id and created_at set on return). ERR_CONFLICT if the
 * number exists (in any account). */
int store_number_create(struct store *s, struct st_number *n, int64_t now, struct errbuf *eb);
int store_number_get(struct store *s, int64_t account_id, const char *ext_id, struct st_number *n);
int store_number_by_id(struct store *s, int64_t account_id, int64_t id, struct st_number *n);
/* The number row for an E.164 number, whatever the account. */
int store_number_by_e164(struct store *s, const char *e164, struct st_number *n);
/* Writes n's pool, source fields and routes. While serving, moving a number to another pool
 * takes it out of its old pool's lease engine first: ERR_CONFLICT (and nothing changes) while a
 * live lease at `now` holds it. */
int store_number_update(struct store *s, const struct st_number *n, int64_t now, struct errbuf *eb);
/* ERR_CONFLICT if a lease on it is live at now (stored, or while serving, held in the lease
 * engine). */
int store_number_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
/* pool_id > 0: that pool's numbers; pool_id 0: all of the account's numbers. */
int store_number_list(struct store *s, int64_t account_id, int64_t pool_id, store_number_fn fn,
                      void *ctx);

/* ---- rules ---- */

/* Inserts r, created at `now` (ext_id and id set on return). */
int store_rule_create(struct store *s, struct st_rule *r, int64_t now, struct errbuf *eb);
/* Replaces the rule r->ext_id of r->account_id with r's fields (its id and creation time stay;
 * r->id is set on return). ERR_NOTFOUND: the account has no such rule. */
int store_rule_update(struct store *s, struct st_rule *r, struct errbuf *eb);
int store_rule_delete(struct store *s, int64_t account_id, const char *ext_id);
/* In position order. */
int store_rule_list(struct store *s, int64_t account_id, store_rule_fn fn, void *ctx);

/* ---- sessions, leases, events ---- */
/* The lease and event operations take the account id of the pool, number or session they name
 * (struct st_lease and st_event carry it): PostgreSQL filters every statement by it (the
 * distribution column under Citus, docs/scaling.md), so another account's id finds nothing.
 * SQLite's lease engine checks the pool's account the same way (claim, touch, note, release,
 * pool statistics); its lease and event rows are read by session, pool or number alone. */

/* Inserts (id == 0; id set on return) or updates last_active_at of a session. */
int store_session_put(struct store *s, struct st_session *ss);
int store_session_get(struct store *s, const char *ext_id, struct st_session *ss);
int store_session_by_id(struct store *s, int64_t account_id, int64_t id, struct st_session *ss);
/* Inserts a lease (l->id is set on return); store_lease_renew moves its times. */
int store_lease_add(struct store *s, struct st_lease *l);
/* A new session and its one new lease, stored together by store_visits_add. */
struct st_visit_add {
    struct st_session *session; /* id 0; set on return */
    struct st_lease *lease;     /* session_id and id set on return */
};
/* Inserts n new sessions, each with its lease, in the caller's transaction: what
 * store_session_put (id 0) then store_lease_add do for each, in fewer round trips (PostgreSQL:
 * two for the n, a pipeline, instead of 2n). On failure the caller rolls its transaction back:
 * some of the ids may be set, none is stored. */
int store_visits_add(struct store *s, struct st_visit_add *v, size_t n);
/* Renews the most recent lease of a session on a number; neither time moves backwards.
 * ERR_NOTFOUND if there is none. */
int store_lease_renew(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                      int64_t last_active_at, int64_t expires_at);
/* Deletes the stored lease of session_id (row id) on number_id that started at leased_at: a
 * lease taken back (store_lease_release) leaves no row for attribution or a restart to find.
 * ERR_NOTFOUND if there is no such row (nothing changes). */
int store_lease_delete(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                       int64_t leased_at);
/* The most recent lease of the session in each pool it has leased from. */
int store_session_leases(struct store *s, int64_t account_id, int64_t session_id, store_lease_fn fn,
                         void *ctx);
/* Whether the session ever held a stored lease on number_id (the numbers it was shown).
 * out: *held. */
int store_session_held(struct store *s, int64_t account_id, int64_t session_id, int64_t number_id,
                       bool *held);
/* ---- leases: the atomic claim (serving only) ----
 * A claim decides which number a session holds, atomically: no two sessions get one number while
 * another number of the pool is free (DESIGN.md "Lease policy": idle-longest, cooldown, share or
 * fallback). The SQLite backend decides in memory (one process owns the file); PostgreSQL will
 * decide in SQL. The durable record of the claim is written later, by store_lease_add /
 * store_lease_renew / store_pool_set_counters (the group-commit writer). The store's own pool and
 * number writes keep the claims in step. These operations need store_serve_begin first
 * (ERR_UNSUPPORTED otherwise). Sessions are named by their external id.
 * THREADING: any thread; one pool's claims are serialized, different pools' run in parallel. */

/* What a claim or touch decided. */
struct st_lease_claim {
    int64_t number_id;
    char number[STORE_E164_MAX];
    char display[PHONE_DISPLAY_MAX]; /* the number formatted for people */
    unsigned flags;                  /* enum pool_lease_flags (core/pool.h) */
    int64_t leased_at;
    int64_t expires_at;
    uint64_t exhaustion_events; /* the pool's totals after this claim */
    uint32_t peak_concurrent;
    struct pool_undo undo; /* what store_lease_release needs to take a new claim back */
};

/* A page view of the session in pool_id at now (the pool_lease policy of core/pool.h): renews
 * its live lease, gives back prev_number_id if it was the last holder, or claims the free number
 * idle longest; on exhaustion shares (flags) or refuses. ERR_EXHAUSTED in fallback mode or for an
 * empty pool (out->flags still says why), ERR_NOTFOUND for an unknown pool, ERR_UNSUPPORTED if
 * not serving. out: *out. */
int store_lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                      const char *session_ext_id, int64_t prev_number_id, int64_t now,
                      struct st_lease_claim *out);
/* Takes back a claim of store_lease_claim that must not stand: one whose durable record failed
 * (so no lease, exhaustion event or peak is left behind), or a flood's. The session no longer
 * holds the number (nor waits, for a refused claim), the number's idle order and the pool's
 * counters are as before that claim (core/pool.h pool_unclaim). A renewal is never taken back.
 * The stored lease row, if the claim was written, is the caller's to delete (store_lease_delete).
 * Returns ERR_OK; ERR_INVALID for a renewal's claim; ERR_NOTFOUND for an unknown pool or when
 * that claim no longer exists (expired, taken back already): nothing changes then;
 * ERR_UNSUPPORTED if not serving. */
int store_lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                        const struct st_lease_claim *claim, int64_t now);
/* Notes signals (core/pool.h POOL_SIG_*: a tap or copy, a credited call) on session_ext_id's
 * lease of number_id in the pool, its live one or its latest ended one: the number then rests
 * by the issue-20 policy (pool_config_rests_default) once that lease ends, exactly as core's
 * pool_note (a rest noted after the number was released may only keep it longer). The server
 * notes only for accounts with lease_policy "new"; without notes a pool leases idle-longest.
 * Returns ERR_OK, ERR_NOTFOUND if the session holds no lease of that number (or the pool is
 * unknown), ERR_UNSUPPORTED if not serving. */
int store_lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                     const char *session_ext_id, int64_t number_id, unsigned signals, int64_t now);
/* Heartbeat: renews the session's live lease in pool_id at now. ERR_NOTFOUND if it has none (or
 * the pool is unknown), ERR_UNSUPPORTED if not serving. out: *out (flags RENEWED). */
int store_lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                      const char *session_ext_id, int64_t now, struct st_lease_claim *out);
/* A stored lease's last activity and end: the claim's exact times while the serving store still
 * knows that lease (live, or among its number's recent holders), else the stored ones, which may
 * trail a renewal not yet written. Cannot fail. out: *last_active_at, *ends_at. */
void store_lease_times(struct store *s, const struct st_lease *l, int64_t now,
                       int64_t *last_active_at, int64_t *ends_at);
/* Pool health at now (core/pool.h struct pool_stats), counters continuing from the stored ones.
 * ERR_NOTFOUND for an unknown pool, ERR_UNSUPPORTED if not serving. out: *out. */
int store_pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                     struct pool_stats *out);

/* Leases of a pool that were live at `at` or later (expires_at > at), oldest activity first. */
int store_lease_list_live(struct store *s, int64_t account_id, int64_t pool_id, int64_t at,
                          store_lease_fn fn, void *ctx);
/* Leases of a pool that overlap [since, until) (expires_at > since and leased_at < until), by
 * expires_at then id, at most `max` (the pool's usage over time). */
int store_lease_range(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                      int64_t until, size_t max, store_lease_fn fn, void *ctx);
/* Leases on a number that ended after `since` (or are live), newest first, at most `max`. */
int store_lease_history(struct store *s, int64_t account_id, int64_t number_id, int64_t since,
                        size_t max, store_lease_fn fn, void *ctx);
int store_event_add(struct store *s, const struct st_event *e);
/* Latest event of a type by a session on a number at or before `before`; *at = 0 if none. */
int store_event_last(struct store *s, int64_t account_id, int64_t session_id, const char *type,
                     const char *number, int64_t before, int64_t *at);
typedef int (*store_event_fn)(void *ctx, const struct st_event *e);
/* A session's events in time order, at most max. */
int store_event_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                     store_event_fn fn, void *ctx);
/* ---- page views (sql/0026; the journey's pages after the landing page) ---- */
#define STORE_PAGE_VIEWS_MAX 200 /* page views kept per session, its landing page included */
#define STORE_PAGE_PATH_MAX 512  /* a page's path, NUL included */
#define STORE_PAGE_TITLE_MAX 256 /* a page's title, NUL included */
struct st_page_view {
    int64_t account_id;
    int64_t session_id;
    int seq; /* 1 = the first page after the landing page (set by the store) */
    char path[STORE_PAGE_PATH_MAX];
    char title[STORE_PAGE_TITLE_MAX]; /* "" = none sent */
    int64_t at;
};
/* Appends a page view of session_id (of account_id) after its latest one (seq + 1). Writes
 * nothing when the session has STORE_PAGE_VIEWS_MAX - 1 rows already (the landing page is the
 * session's own), nor, with dedupe, when its latest row has the same path (a ping repeating the
 * page). Two writers racing on one session keep one row. Returns ERR_OK (*added, may be NULL,
 * says whether a row was written) or the store's error. */
int store_page_view_add(struct store *s, const struct st_page_view *pv, bool dedupe, bool *added);
typedef int (*store_page_view_fn)(void *ctx, const struct st_page_view *pv);
/* A session's page views after its landing page, in order, at most max. */
int store_page_view_list(struct store *s, int64_t account_id, int64_t session_id, size_t max,
                         store_page_view_fn fn, void *ctx);

/* The detail of a session's newest event of a type (at, then id), in detail (cap bytes; cut to
 * fit); "" if it has none. One index lookup (events_session): the ad platforms' GA client id of
 * the call's session, read in the call's transaction. ERR_OK, ERR_BACKEND. */
int store_event_last_detail(struct store *s, int64_t account_id, int64_t session_id,
                            const char *type, char *detail, size_t cap);
/* Rows in a table (tests and health): "sessions", "leases", "pools", … ERR_INVALID otherwise. */
int store_count(struct store *s, const char *table, int64_t *n);

/* ==== calls ===================================================================================
 * Owned by the call service (src/app/calls.c). Calls, status updates and conversions are
 * written by the group-commit writer, after the webhook's answer was prepared. */

#define STORE_PARTY_MAX 64  /* To/From as the provider sent them: E.164, sip:…, client:… */
#define STORE_STATUS_MAX 33 /* provider call statuses: 1..32 characters */

#define STORE_RECORDING_URL_MAX 512 /* a call's recording URL at the provider (as call_routes') */

/* One inbound call. Strings are "" and ids 0 when unknown; durations are -1 when unknown. */
struct st_call {
    int64_t id;                /* 0 until stored */
    char ext_id[STORE_ID_MAX]; /* "call_…" ("" on insert: generated) */
    int64_t account_id;
    char provider[16];          /* "twilio" (Twilio-compatible webhooks), "pbx" */
    char provider_call_id[128]; /* CallSid; unique per provider */
    int64_t number_id;
    int64_t pool_id; /* the number's pool, or the pool whose fallback was called */
    char to[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    int64_t started_at;
    char status[STORE_STATUS_MAX];     /* effective: ringing … completed, busy, no-answer… */
    int64_t duration_s;                /* effective talk time, 0 until known */
    char forwarded_to[STORE_E164_MAX]; /* "" = rejected (number owned by nobody) */
    bool recorded;
    char method[16]; /* attrib_method_name() values */
    double confidence;
    int64_t session_id; /* credited session */
    int64_t runner_up_session_id;
    double runner_up_confidence;
    int64_t first_session_id; /* first touch of a repeat caller */
    int first_caller; /* 1: no earlier call of the account from this caller when it was stored,
                         2: a repeat caller, 0: not known (stored as NULL; reports then look) */
    char channel[32]; /* snapshot of the credited source */
    char source[STORE_TEXT_MAX];
    char medium[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    char keyword[STORE_TEXT_MAX];
    char reason[160];                   /* why this attribution (human sentence) */
    char error[160];                    /* what failed while handling the call, "" if nothing */
    char call_status[STORE_STATUS_MAX]; /* caller's leg as last reported */
    int64_t call_duration_s;
    int64_t status_seq;                 /* last SequenceNumber applied to the caller's leg */
    char dial_status[STORE_STATUS_MAX]; /* forwarded leg as last reported */
    int64_t dial_duration_s;
    int64_t dial_seq;
    int64_t ended_at; /* 0 until the status is final */
    int64_t updated_at;
    /* the location (ext id) the call belongs to, decided when it is stored: its number's, else
     * its pool's, else that of the source rule that sent the credited visit to it; "" = none */
    char location[STORE_ID_MAX];
    /* a call forwarded without a routing plan: its recording as the provider's recording
     * callback reported it (store_call_recording_put); "" / -1 = none, not reported */
    char recording_url[STORE_RECORDING_URL_MAX];
    int64_t recording_duration_s;
};

struct st_conversion {
    int64_t id;
    int64_t call_id;
    int64_t account_id;
    char name[STORE_NAME_MAX];
    double value;
    char currency[8];
    int64_t at;
    char location[STORE_ID_MAX]; /* the location of the conversion rule that qualified the call */
};

/* What earlier calls say about a caller (repeat-caller rule, first-time-caller conversions). */
struct st_caller {
    int64_t prior_calls;      /* calls from this caller stored before the one asked about */
    int64_t first_session_id; /* session credited to their earliest attributed call, or 0 */
    double first_confidence;  /* that attribution's confidence */
    int64_t last_session_id;  /* session credited to their latest attributed call, or 0 */
};

typedef int (*store_call_fn)(void *ctx, const struct st_call *c);

/* Inserts c (ext_id generated when "", id set). ERR_CONFLICT if the provider's call id is
 * already stored (a retried webhook: read that call instead). */
int store_call_insert(struct store *s, struct st_call *c);
/* The call with this provider call id, any account. ERR_NOTFOUND if none. */
int store_call_by_provider(struct store *s, const char *provider, const char *provider_call_id,
                           struct st_call *c);
/* The account's call with this external id; ERR_NOTFOUND for another account's. */
int store_call_get(struct store *s, int64_t account_id, const char *ext_id, struct st_call *c);
int store_call_by_id(struct store *s, int64_t account_id, int64_t id, struct st_call *c);
/* Writes the status fields of c (status, duration, call_*, dial_*, *_seq, ended_at, error,
 * updated_at). ERR_NOTFOUND if c->id is not stored. */
int store_call_update(struct store *s, const struct st_call *c);
/* Stores the recording of the account's call call_id (its URL at the provider, at most
 * STORE_RECORDING_URL_MAX - 1 bytes, and its length, -1 = not reported), replacing any earlier
 * one: a repeated callback writes the same. ERR_OK; ERR_NOTFOUND when the account has no such
 * call (nothing written); ERR_INVALID for an empty or over-long url. */
int store_call_recording_put(struct store *s, int64_t account_id, int64_t call_id, const char *url,
                             int64_t duration_s);
/* The account's calls with since <= started_at < until, after the cursor position
 * (started_at, id) > (after_at, after_id), in (started_at, id) order, at most max. */
int store_call_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                    int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx);
/* Earlier calls of caller `from` in the account: those with id < before_id (INT64_MAX: all).
 * out: *out. */
int store_call_caller(struct store *s, int64_t account_id, const char *from, int64_t before_id,
                      struct st_caller *out);
/* Whether a call of the account started before `before` was credited to session_id (the
 * likelihood model's "called" signal, core/attrib ATTRIB_F_CALLED). out: *out. */
int store_call_session_credited(struct store *s, int64_t account_id, int64_t session_id,
                                int64_t before, bool *out);
/* Inserts a conversion (id set). ERR_CONFLICT if the call already has one. */
int store_conversion_add(struct store *s, struct st_conversion *cv);
int store_conversion_by_call(struct store *s, int64_t account_id, int64_t call_id,
                             struct st_conversion *cv);
/* The pool whose fallback number is e164 (lowest id if several). ERR_NOTFOUND if none. */
int store_pool_by_fallback(struct store *s, const char *e164, struct st_pool *p);

/* ==== call outcomes ===========================================================================
 * Owned by src/app/outcomes.c (PATCH /v1/calls/{id}; DESIGN.md "Call outcomes"): what a person
 * says about a call. Tables of sql/0012. The store keeps the values as given; the app validates
 * them (tags is a JSON array text the app wrote). */

#define STORE_TAGS_MAX 1024  /* a JSON array of tags (app/outcomes.h bounds it well below) */
#define STORE_NOTES_MAX 4097 /* up to 4096 bytes of UTF-8, NUL included */
#define STORE_LEAD_MAX 16

struct st_call_outcome {
    int64_t call_id;
    int64_t account_id;
    char tags[STORE_TAGS_MAX]; /* JSON array text: "[]" when none */
    char notes[STORE_NOTES_MAX];
    char lead_status[STORE_LEAD_MAX]; /* new, qualified, won, lost, spam */
    int64_t revenue;                  /* minor units of the account's currency; -1 = not given */
    int billable;                     /* -1 = unset, 0 = no, 1 = yes */
    char billable_by[8];              /* who set billable: "" (unset), "api", "user" */
    char billable_user[256];          /* the dashboard user for "user" (an email), else "" */
    int64_t billable_at;              /* when billable was last set, 0 = never */
    int64_t updated_at;
};

/* The outcome of call call_id. ERR_OK with *o filled; ERR_NOTFOUND when none was ever stored,
 * with *o set to the defaults (call_id set, tags "[]", notes "", lead status "new", revenue -1,
 * billable -1, the rest empty or 0); ERR_BACKEND. */
int store_call_outcome_get(struct store *s, int64_t account_id, int64_t call_id,
                           struct st_call_outcome *o);
/* Writes every field of o as the outcome of call o->call_id (inserted or replaced), provided
 * that call belongs to account o->account_id. ERR_NOTFOUND (nothing written) if it does not:
 * another account's call or no call; ERR_CONFLICT for a value the schema refuses (a lead status
 * outside the five, a negative revenue); ERR_BACKEND. */
int store_call_outcome_put(struct store *s, const struct st_call_outcome *o);

/* ==== routing ================================================================================
 * Owned by src/app/routing.c (docs/routing.md; issue #15). Tables of sql/0019. Locations and
 * routing plans are JSON documents the app validates (core/route.h) and the store keeps whole
 * per account ("docs"); a plan may be attached to one number, pool or location (unique per
 * account). Counters are atomic increments shared by every node (round robin). A routed call's
 * routing record is keyed by the provider and its call id, so it is written on the request
 * thread before the answer, whether or not the call row is on disk yet. */

#define STORE_ROUTE_KIND_MAX 16
#define STORE_ROUTE_ATTACH_MAX 72  /* "number:<ext id>", "pool:<ext id>", "location:<ext id>" */
#define STORE_ROUTE_BODY_MAX 32768 /* the document's JSON */
#define STORE_ROUTE_LOG_MAX 2048   /* a call's routing steps, one line each */
#define STORE_ROUTE_STATE_MAX 64   /* core/route.h ROUTE_STATE_MAX */
#define STORE_ROUTE_URL_MAX 512    /* a recording URL */

struct st_route_doc {
    int64_t id;
    int64_t account_id;
    char kind[STORE_ROUTE_KIND_MAX]; /* "location" or "plan" */
    char ext_id[STORE_ID_MAX];       /* "loc_…", "plan_…": set by the store on insert */
    char name[STORE_NAME_MAX];
    char attach[STORE_ROUTE_ATTACH_MAX]; /* plans: where it applies; "" = nowhere */
    char body[STORE_ROUTE_BODY_MAX];
    int64_t created_at;
    int64_t updated_at;
};
typedef int (*store_route_doc_fn)(void *ctx, const struct st_route_doc *d);

/* Inserts d (d->id == 0: ext_id, id and created_at set) or replaces the name, attach, body and
 * updated_at of the account's document (d->account_id, d->kind, d->ext_id). ERR_CONFLICT: the
 * attach is another document's of the account; ERR_NOTFOUND (update): no such document. */
int store_route_doc_put(struct store *s, struct st_route_doc *d);
int store_route_doc_get(struct store *s, int64_t account_id, const char *kind, const char *ext_id,
                        struct st_route_doc *d);
/* The account's plan attached to attach. ERR_NOTFOUND if none. */
int store_route_doc_by_attach(struct store *s, int64_t account_id, const char *attach,
                              struct st_route_doc *d);
/* The account's documents of kind, oldest first; fn returning non-zero stops. */
int store_route_doc_list(struct store *s, int64_t account_id, const char *kind,
                         store_route_doc_fn fn, void *ctx);
int store_route_doc_delete(struct store *s, int64_t account_id, const char *kind,
                           const char *ext_id);
/* Adds 1 to the account's counter key (created at 1) atomically across nodes and gives the new
 * value. out: *n. */
int store_route_counter_next(struct store *s, int64_t account_id, const char *key, int64_t *n);

/* A routed call's routing record. */
struct st_call_route {
    int64_t account_id;
    char provider[16];
    char call_sid[STORE_PARTY_MAX];
    char plan[STORE_ID_MAX];             /* the plan's ext id */
    char location[STORE_ID_MAX];         /* the location's ext id, "" = none */
    char target[STORE_ID_MAX];           /* the target's id in the plan, "" = none (yet) */
    char target_number[STORE_PARTY_MAX]; /* E.164, or a ping-post buyer's sip: URI */
    char digits[24];                     /* digits the caller pressed */
    char state[STORE_ROUTE_STATE_MAX];
    char log[STORE_ROUTE_LOG_MAX];
    char verstat[64]; /* StirVerstat as the provider sent it */
    char outcome[24]; /* dialing, connected, voicemail, rejected, screened, message,
                         last_resort, ended */
    char recording_url[STORE_ROUTE_URL_MAX];
    int64_t recording_duration_s; /* -1 = none */
    int64_t payout;               /* minor units, when billable */
    int64_t price;                /* the connected target's price per billable call (sql/0022) */
    int billable;                 /* the target's rule when it connected: -1 none, 0 no, 1 yes */
    bool dialing;                 /* a target's leg is ringing or connected */
    int64_t started_at;
    int64_t updated_at;
    /* A ping-post auction (sql/0023): its id, the winning bid's id and price (minor units);
     * "", "", 0 when the call was not won in an auction. */
    char auction_id[STORE_ID_MAX];
    char bid_id[STORE_ID_MAX];
    int64_t bid_price;
};
typedef int (*store_call_route_fn)(void *ctx, const struct st_call_route *r);

/* Inserts or replaces the record of (r->provider, r->call_sid). ERR_NOTFOUND if that call's
 * record belongs to another account (nothing written). */
int store_call_route_put(struct store *s, const struct st_call_route *r);
int store_call_route_get(struct store *s, const char *provider, const char *call_sid,
                         struct st_call_route *r);
/* The account's records with since <= started_at < until, oldest first. */
int store_call_route_list(struct store *s, int64_t account_id, int64_t since, int64_t until,
                          store_call_route_fn fn, void *ctx);

/* The live counts of a plan's targets, for its caps: per target, `today` from the account's
 * counters whose key is day_prefix + the target's id (the app counts each dial there), and `live`
 * from the records of calls dialling it whose record changed since live_since (an index on the
 * dialling records keeps this O(live calls)). A target may come in two rows (one with today,
 * one with live): add them. */
struct st_route_count {
    char target[STORE_ID_MAX];
    int64_t today;
    int64_t live;
};
typedef int (*store_route_count_fn)(void *ctx, const struct st_route_count *c);
int store_route_counts(struct store *s, int64_t account_id, const char *plan,
                       const char *day_prefix, int64_t live_since, store_route_count_fn fn,
                       void *ctx);

/* ==== publishers ==============================================================================
 * Owned by src/app/pnl.c (P&L for pay-per-call, sql/0022): payees paid `payout` per billable
 * call of the traffic they own. The owned things (claims) are unique per account. */

#define STORE_PUBLISHER_OWNS_MAX 16384 /* the owns document's JSON */
#define STORE_PUBLISHER_CLAIMS_MAX 256 /* things one publisher owns */

struct st_publisher_claim {
    char kind[8]; /* "source" (a utm_source value), "number" (E.164), "pool" (its API id) */
    char value[STORE_TEXT_MAX];
};

struct st_publisher {
    int64_t id;
    int64_t account_id;
    char ext_id[STORE_ID_MAX]; /* "pub_…": set by the store on insert */
    char name[STORE_NAME_MAX];
    int64_t payout;                      /* minor units per billable call */
    char owns[STORE_PUBLISHER_OWNS_MAX]; /* JSON, as the app wrote it */
    int64_t created_at;
    int64_t updated_at;
    /* written by store_publisher_put only (not read back): what owns lists */
    size_t n_claims;
    struct st_publisher_claim claims[STORE_PUBLISHER_CLAIMS_MAX];
};
typedef int (*store_publisher_fn)(void *ctx, const struct st_publisher *p);

/* Inserts p (p->id == 0: ext_id, id and created_at set) or replaces the name, payout, owns and
 * updated_at of the account's publisher p->ext_id, and replaces its claims with p->claims.
 * ERR_CONFLICT: a claim is another publisher's of the account (call it inside
 * store_begin/commit: the caller rolls back); ERR_NOTFOUND (update): no such publisher. */
int store_publisher_put(struct store *s, struct st_publisher *p);
/* The account's publisher ext_id (claims not filled). ERR_NOTFOUND if none. */
int store_publisher_get(struct store *s, int64_t account_id, const char *ext_id,
                        struct st_publisher *p);
/* The account's publishers, oldest first (claims not filled); fn returning non-zero stops. */
int store_publisher_list(struct store *s, int64_t account_id, store_publisher_fn fn, void *ctx);
/* Deletes the account's publisher ext_id and its claims. ERR_NOTFOUND if none. */
int store_publisher_delete(struct store *s, int64_t account_id, const char *ext_id);
/* Records what the account's call (provider, provider_call_id) owes its publisher, once: the
 * publisher credited now (the one owning its tracking number, else its pool, else its
 * utm_source; none: "" and 0) and that publisher's payout now. Called when the call becomes
 * billable (sql/0024); a call already recorded keeps its first record, a call not stored yet
 * records nothing. Inside store_begin/commit. */
int store_call_payout_record(struct store *s, int64_t account_id, const char *provider,
                             const char *provider_call_id, int64_t now);

/* ==== reports =================================================================================
 * Owned by reports and exports (src/http/handlers/h_reports.c). Read-only queries over calls,
 * sessions and conversions, streamed row by row to a callback (return non-zero to stop). */

/* One call as reports see it. The source fields are the call's attribution snapshot (the
 * session's values when the snapshot is empty); "" = unknown (unattributed calls). */
struct st_report_call {
    int64_t call_id;
    char status[STORE_STATUS_MAX];
    int64_t duration_s;
    int64_t started_at;
    char channel[32];
    char source[STORE_TEXT_MAX];
    char medium[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    char keyword[STORE_TEXT_MAX];
    char landing_page[STORE_TEXT_MAX];
    char device[16];
    bool converted;
    double value;
    char lead_status[STORE_LEAD_MAX]; /* the call's outcome ("new" when it has none) */
    char call_ext[STORE_ID_MAX];      /* the call's API id */
    char from[STORE_PARTY_MAX];
    char to[STORE_PARTY_MAX];     /* the tracking number called */
    char pool[STORE_NAME_MAX];    /* its pool's name, "" for a source number or none */
    char content[STORE_TEXT_MAX]; /* the credited session's utm_content */
    char provider[16];
    int64_t revenue;               /* the outcome's revenue in minor units, -1 = none */
    bool first_time;               /* no earlier call of the account from the same caller */
    char location[STORE_NAME_MAX]; /* the routed call's location (its name), "" = none */
    char pool_ext[STORE_ID_MAX];   /* its pool's API id, "" for none */
    char target[STORE_ID_MAX];     /* the routed call's connected target (buyer) id, "" = none */
    int64_t price;                 /* that target's price per billable call, minor units */
    int rule_billable;             /* the target's rule: -1 no target connected, 0 no, 1 yes */
    int person_billable;           /* a person's billable flag: -1 unset, 0 no, 1 yes */
    int64_t payout;                /* recorded payout (store_call_payout_record), -1 = none */
    char publisher[STORE_ID_MAX];  /* the publisher recorded with it ("" = none) */
    char publisher_name[STORE_NAME_MAX];
};

/* One conversion with what the Google Ads and Microsoft Advertising exports need: the call and the
 * click ids of the session credited with it ("" = none, or no session). */
struct st_report_conversion {
    int64_t id;
    char call_ext[STORE_ID_MAX];
    char from[STORE_PARTY_MAX];
    int64_t call_started_at;
    char name[STORE_NAME_MAX];
    double value;
    char currency[8];
    int64_t at;
    char gclid[1024]; /* as large as the session's click_ids: never truncated */
    char gbraid[1024];
    char wbraid[1024];
    char msclkid[1024]; /* Microsoft Advertising's click id */
    char method[16];    /* the call's attribution method (attrib_method_name) */
    double confidence;  /* … and its confidence */
    int64_t click_at;   /* the credited session's start (its landing click), 0 = no session */
};

typedef int (*store_report_call_fn)(void *ctx, const struct st_report_call *c);
typedef int (*store_report_conversion_fn)(void *ctx, const struct st_report_conversion *cv);

/* The account's calls with since <= started_at < until (the range of store_call_list), in
 * (started_at, id) order. */
int store_report_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                       store_report_call_fn fn, void *ctx);
/* What a report reads of each call besides its own facts, session, outcome, conversion and pool:
 * the routing record with its location and the recorded payout (without it: target "", price 0,
 * rule_billable -1, location "", payout -1, publisher ""). */
#define STORE_REPORT_NEED_ROUTING 1u
#define STORE_REPORT_NEED_ALL STORE_REPORT_NEED_ROUTING
/* As store_report_calls, reading only what need asks for (fewer rows read per call). */
int store_report_calls_need(struct store *s, int64_t account_id, int64_t since, int64_t until,
                            unsigned need, store_report_call_fn fn, void *ctx);
/* The account's conversions with since <= at < until, in (at, id) order. */
int store_report_conversions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                             store_report_conversion_fn fn, void *ctx);

/* One session as the funnel sees it: its source and how far it got. */
struct st_report_session {
    int64_t created_at;
    char channel[32];
    char source[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    bool shown;     /* it held a number (a lease) */
    bool engaged;   /* a tel: click or a chat on its page */
    bool called;    /* a call was credited to it */
    bool qualified; /* a credited call was answered and lasted at least min_duration_s */
    bool converted; /* a credited call has a conversion */
};

/* One (visitor, call) pair of a cohort: the visitor's first session time, and one call credited
 * to any of the visitor's sessions (call_started_at 0: a visitor without calls, listed once). */
struct st_report_cohort {
    char visitor_id[STORE_ID_MAX];
    int64_t first_at;
    int64_t call_started_at;
    int64_t revenue; /* the call's outcome revenue, -1 none */
    bool first;      /* the row is of the visitor's first session */
};

/* One call credited to a session of a report's range (include=call_ids of the funnel and the
 * cohorts): the call's API id and start, whether it qualifies (completed, talk time > 0 and >=
 * min_duration_s), and its session's funnel keys and first_at (its visitor's first session). */
struct st_report_session_call {
    char call_ext[STORE_ID_MAX];
    int64_t started_at;
    bool qualified;
    char channel[32];
    char source[STORE_TEXT_MAX];
    char campaign[STORE_TEXT_MAX];
    int64_t first_at;
};

typedef int (*store_report_session_fn)(void *ctx, const struct st_report_session *r);
typedef int (*store_report_session_call_fn)(void *ctx, const struct st_report_session_call *r);
typedef int (*store_report_cohort_fn)(void *ctx, const struct st_report_cohort *r);

/* The account's sessions with since <= created_at < until, in created_at order. */
int store_report_sessions(struct store *s, int64_t account_id, int64_t since, int64_t until,
                          int64_t min_duration_s, store_report_session_fn fn, void *ctx);
/* The account's visitors whose first session is in [since, until), in first_at order: a row
 * (first set) for each visitor's first session — two when it has two at the same instant — and a
 * row for every call credited to one of the visitor's sessions (call_started_at > 0; first set
 * when that session is the first). A visitor's calls need not follow its first row. */
int store_report_cohort(struct store *s, int64_t account_id, int64_t since, int64_t until,
                        store_report_cohort_fn fn, void *ctx);
/* The calls credited to the account's sessions of a range: by_first false, the sessions with
 * since <= created_at < until (the funnel's); true, those with since <= first_at < until (the
 * cohorts'). In no promised order. */
int store_report_session_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                               bool by_first, int64_t min_duration_s,
                               store_report_session_call_fn fn, void *ctx);

/* ==== ad spend ===============================================================================
 * Owned by the spend import and reports (src/app/spend.c). One row per account, day, platform,
 * campaign and keyword (sql/0018). */

struct st_spend_row {
    char platform[16]; /* "google_ads", "microsoft_ads", "meta" */
    char day[11];      /* YYYY-MM-DD */
    char campaign[STORE_TEXT_MAX];
    char keyword[STORE_TEXT_MAX]; /* "" = no keyword breakdown */
    int64_t cost;                 /* minor units */
    char currency[8];
};

typedef int (*store_spend_fn)(void *ctx, const struct st_spend_row *r);

/* Replaces the account's spend of `platform` on every day that rows[] holds with rows[] (the
 * platform and currency fields of rows[] are ignored: platform and currency are the
 * arguments). ERR_CONFLICT (nothing written) if the account has spend in another currency.
 * Call it inside store_begin/commit so a failure leaves the old rows. */
int store_spend_replace(struct store *s, int64_t account_id, const char *platform,
                        const char *currency, const struct st_spend_row *rows, size_t n,
                        int64_t now);
/* The account's spend with since_day <= day < until_day (YYYY-MM-DD), in (day, platform,
 * campaign, keyword) order. */
int store_spend_list(struct store *s, int64_t account_id, const char *since_day,
                     const char *until_day, store_spend_fn fn, void *ctx);

/* ==== export =================================================================================
 * Owned by the pool-sizing simulator's export (src/cli/cmd_export.c): the visit, page-view,
 * tel: click and call history replayed by `opendni simulate --trace` (docs/pool-sizing.md). */

enum st_trace_kind { ST_TRACE_VISIT = 0, ST_TRACE_PAGEVIEW, ST_TRACE_TEL_CLICK, ST_TRACE_CALL };

/* One row of a trace. A session's activity is its creation, each lease's start and last
 * activity, and its own last activity: what renewed its leases (heartbeats included), which the
 * journey's page views (page_views, store_page_view_add) do not hold. */
struct st_trace_row {
    int64_t at;
    enum st_trace_kind kind;
    char session[STORE_ID_MAX]; /* session ext id; "" for a call credited to no exported session */
    char device[16];            /* visits: the session's device as stored, else "" */
    char region[8];             /* visits: the session's region as stored, else "" */
    char from[STORE_PARTY_MAX]; /* calls: the caller as the provider sent it, else "" */
};

typedef int (*store_trace_fn)(void *ctx, const struct st_trace_row *r);

/* Streams the trace of the sessions created at or after `since` (of one account, or of all
 * when account_id is 0) and the calls to pool numbers (or a pool's fallback) started at or
 * after since, in time order (same time: visit, page view, click, call). A call keeps its
 * session only if it was credited (exact, shared or late) to one of the exported sessions.
 * fn returning non-zero stops the walk (ERR_OK). */
int store_export_trace(struct store *s, int64_t account_id, int64_t since, store_trace_fn fn,
                       void *ctx);
/* store_export_trace of one pool of account_id: the sessions that held a lease in pool_id, and
 * the calls to its numbers or its fallback. pool_id 0 is store_export_trace. */
int store_export_trace_pool(struct store *s, int64_t account_id, int64_t pool_id, int64_t since,
                            store_trace_fn fn, void *ctx);

/* ==== provider credentials ===================================================================
 * Owned by telephony (src/http/handlers/h_telephony.c) and the CLI (cmd_account.c, cmd_call.c):
 * each account's secret per telephony provider, table account_providers (sql/0005). Provider
 * names are telephony/provider.h's (calls.provider). Implemented in store_sqlite_provider.c. */

#define STORE_PROVIDER_MAX 16       /* provider name, NUL included */
#define STORE_PROVIDER_SID_MAX 128  /* the provider's account id */
#define STORE_SECRET_MAX 256        /* auth token, signing key, base64 public key, NUL incl. */
#define STORE_SECRET_SEALED_MAX 512 /* the same sealed (a clear one under 256 bytes) */

struct st_provider_cred {
    int64_t account_id;
    char provider[STORE_PROVIDER_MAX];
    char account_sid[STORE_PROVIDER_SID_MAX]; /* "" = not stored */
    /* The secret in clear as callers of store.h see it (under STORE_SECRET_MAX bytes), "" = not
     * stored; sized for the sealed form the backends store (secrets.h). */
    char secret[STORE_SECRET_SEALED_MAX];
    int64_t updated_at;
};

/* Return non-zero to stop the walk (the walk then returns ERR_OK). */
typedef int (*store_provider_cred_fn)(void *ctx, const struct st_provider_cred *c);

/* Secrets at rest: every backend stores a provider secret sealed (AES-256-GCM, store/secrets.h)
 * with the key given to store_secrets_keys; these functions take and return it in clear. No
 * key: a secret cannot be written nor read (ERR_UNSUPPORTED, logged with what to configure),
 * never stored or returned in clear. A row written in clear by an older opendni is returned
 * as stored while a key is configured (logged: `opendni init` seals it).
 * Stores the account's account_sid and/or secret for provider at now (a NULL one keeps what is
 * stored; the row is created when missing). Returns ERR_OK; ERR_NOTFOUND (no such account);
 * ERR_INVALID (both NULL, an empty provider, or a value longer than its st_provider_cred
 * field; a secret takes under STORE_SECRET_MAX bytes); ERR_UNSUPPORTED (a secret and no key);
 * ERR_BACKEND. */
int store_provider_cred_set(struct store *s, int64_t account_id, const char *provider,
                            const char *account_sid, const char *secret, int64_t now);
/* The account's credentials for provider. ERR_NOTFOUND if it has none; ERR_UNSUPPORTED (no
 * key, or the secret was sealed with a key not given); ERR_INVALID (the sealed value does not
 * authenticate). out: *c. */
int store_provider_cred_get(struct store *s, int64_t account_id, const char *provider,
                            struct st_provider_cred *c);
/* Calls fn for each row of provider whose account_sid is account_sid (through the index),
 * in account id order. account_sid "": the rows of provider with no account_sid stored;
 * NULL: every row of provider. */
int store_provider_cred_find(struct store *s, const char *provider, const char *account_sid,
                             store_provider_cred_fn fn, void *ctx);
/* Calls fn for each provider the account has credentials for, by provider name. The find and
 * list walks stop at the first secret they cannot open and return that error (as _get). */
int store_provider_cred_list(struct store *s, int64_t account_id, store_provider_cred_fn fn,
                             void *ctx);

/* Gives the store its secrets keys: current seals and opens, previous (NULL: none; a rotation's
 * old key) only opens. Copied. current NULL: no key (the default).
 * THREADING: call after store_open, before other threads use the store. */
void store_secrets_keys(struct store *s, const struct secrets_key *current,
                        const struct secrets_key *previous);
/* Re-seals with the current key, in one transaction, every stored provider secret that is not
 * sealed with it: clear rows written by an older opendni, and rows sealed with the previous key
 * (rotation). ERR_OK (out: *n_resealed, may be NULL); ERR_UNSUPPORTED when a secret is sealed
 * with a key not given, or when secrets need sealing and no key was given (*n_resealed then
 * says how many: nothing changes either way; eb says which); ERR_BACKEND. Runs at `now`
 * (updated_at of the rows it rewrites). Call with no other writer of provider rows. */
int store_secrets_reseal(struct store *s, int64_t now, int64_t *n_resealed, struct errbuf *eb);
/* The secrets other records keep inside them (a ping-post buyer's signing secret in its plan:
 * app/routing.c): re-sealed by fn inside store_secrets_reseal_with's transaction (with
 * store_secret_stale, _open and _seal), adding how many to *n. A non-zero return (eb says why)
 * rolls everything back. */
typedef int (*store_reseal_fn)(void *ctx, struct store *s, int64_t now, int64_t *n,
                               struct errbuf *eb);
/* store_secrets_reseal, and fn's secrets in the same transaction (fn NULL: none). */
int store_secrets_reseal_with(struct store *s, int64_t now, store_reseal_fn fn, void *ctx,
                              int64_t *n_resealed, struct errbuf *eb);
/* Whether a sealed value (store_secret_seal's) is to be sealed again: in clear, or sealed with
 * a key other than the current one. */
bool store_secret_stale(struct store *s, const char *v);
/* Seals clear (under STORE_SECRET_MAX bytes) for (account_id, label) with the current key into
 * out (cap bytes; SECRETS_SEALED_MAX suffices), for a secret kept inside another record (a
 * ping-post buyer's signing secret in its plan). ERR_OK; ERR_UNSUPPORTED (no key: logged);
 * ERR_INVALID; ERR_TOOBIG. store_secret_open opens such a value with the key that sealed it:
 * ERR_OK; ERR_UNSUPPORTED (not one of the keys given); ERR_INVALID (does not authenticate, or
 * sealed for another account or label). THREADING: any. */
int store_secret_seal(struct store *s, int64_t account_id, const char *label, const char *clear,
                      char *out, size_t cap);
int store_secret_open(struct store *s, int64_t account_id, const char *label, const char *sealed,
                      char *out, size_t cap);

/* ==== dashboard users =========================================================================
 * Owned by the users service (src/app/users.c) and `opendni user` (cmd_user.c): users (email and
 * password hash), their role in each account, their app sessions (the token's hash only) and the
 * audit log of admin actions; tables of sql/0008. Implemented in store_sqlite_users.c. */

#define STORE_EMAIL_MAX 256 /* an address of up to 254 bytes, NUL included */
#define STORE_PWHASH_MAX 192
#define STORE_ROLE_MAX 16
#define STORE_TOKEN_HASH_MAX 65 /* hex SHA-256 */

struct st_user {
    int64_t id; /* 0 until stored */
    char email[STORE_EMAIL_MAX];
    char password_hash[STORE_PWHASH_MAX];
    int64_t created_at;
    int64_t updated_at;
};

/* A user's role in an account, with the names a list shows. */
struct st_membership {
    int64_t user_id;
    int64_t account_id;
    char role[STORE_ROLE_MAX]; /* "owner", "admin", "analyst", "viewer" */
    int64_t created_at;
    char email[STORE_EMAIL_MAX];       /* filled on reads */
    char account_ext[STORE_ID_MAX];    /* filled on reads */
    char account_name[STORE_NAME_MAX]; /* filled on reads */
};

struct st_app_session {
    int64_t id; /* 0 until stored */
    char token_hash[STORE_TOKEN_HASH_MAX];
    int64_t user_id;
    int64_t account_id; /* the account the session looks at */
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at;        /* absolute end */
    char role[STORE_ROLE_MAX]; /* filled on reads: the user's role in account_id now, "" if
                                  the membership is gone */
};

struct st_audit {
    int64_t id;         /* set on insert */
    int64_t account_id; /* 0 = none (an action on a user as a whole) */
    char actor[STORE_EMAIL_MAX];
    char action[32];
    char subject[STORE_EMAIL_MAX];
    char detail[STORE_TEXT_MAX];
    int64_t at;
};

/* Return non-zero to stop the walk (the walk then returns ERR_OK). */
typedef int (*store_user_fn)(void *ctx, const struct st_user *u);
typedef int (*store_membership_fn)(void *ctx, const struct st_membership *m);
typedef int (*store_audit_fn)(void *ctx, const struct st_audit *a);

/* Inserts u (email and password_hash set by the caller) created at now; id, created_at and
 * updated_at set on return. ERR_CONFLICT if the email exists. */
int store_user_create(struct store *s, struct st_user *u, int64_t now);
/* The user with this email (compared as stored: callers normalise). ERR_NOTFOUND if none. */
int store_user_get(struct store *s, const char *email, struct st_user *u);
int store_user_by_id(struct store *s, int64_t id, struct st_user *u);
/* Replaces the user's password hash at now. ERR_NOTFOUND for an unknown user. */
int store_user_set_password(struct store *s, int64_t user_id, const char *password_hash,
                            int64_t now);
/* Deletes the user with their memberships and sessions. ERR_NOTFOUND for an unknown user. */
int store_user_delete(struct store *s, int64_t user_id);
/* Every user, by email. */
int store_user_list(struct store *s, store_user_fn fn, void *ctx);

/* Gives the user role in the account (replacing the role they had there), at now.
 * ERR_NOTFOUND if the user or the account does not exist. */
int store_membership_set(struct store *s, int64_t user_id, int64_t account_id, const char *role,
                         int64_t now);
/* Takes the user's role in the account away. ERR_NOTFOUND if they had none. */
int store_membership_delete(struct store *s, int64_t user_id, int64_t account_id);
/* The memberships of one user (user_id > 0) or of one account (account_id > 0; both > 0: at
 * most that one), by account id then email. */
int store_membership_list(struct store *s, int64_t user_id, int64_t account_id,
                          store_membership_fn fn, void *ctx);

/* Inserts a session (token_hash, user_id, account_id and the three times set by the caller);
 * id set on return. ERR_CONFLICT if the token hash exists, ERR_NOTFOUND if the user or account
 * does not. */
int store_app_session_create(struct store *s, struct st_app_session *ss);
/* The session with this token hash, role included. ERR_NOTFOUND if none (ended or purged). */
int store_app_session_get(struct store *s, const char *token_hash, struct st_app_session *ss);
/* Sets the account the session looks at and its last activity (never moved backwards).
 * ERR_NOTFOUND if the session is gone. */
int store_app_session_update(struct store *s, int64_t id, int64_t account_id, int64_t last_seen_at);
/* Ends the session with this token hash (logout). ERR_NOTFOUND if there is none. */
int store_app_session_delete(struct store *s, const char *token_hash);
/* Ends every session of the user (a new password, a removed user). out: *n (may be NULL). */
int store_app_session_delete_user(struct store *s, int64_t user_id, int64_t *n);
/* Deletes the sessions over at now: idle since before idle_before, or past their absolute end.
 * out: *n (may be NULL). */
int store_app_session_purge(struct store *s, int64_t idle_before, int64_t now, int64_t *n);

/* Appends an entry (id set on return). */
int store_audit_add(struct store *s, struct st_audit *a);
/* An account's entries with id < before_id (INT64_MAX: from the newest), newest first, at most
 * max. account_id 0: the entries of no account. */
int store_audit_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                     store_audit_fn fn, void *ctx);

/* ==== outbound messages ========================================================================
 * Owned by the outbox (src/app/outbox.c): destinations (webhook endpoints, Slack-compatible
 * incoming webhooks, email addresses), the outbox rows written in the transaction of the fact
 * that caused them, the delivery log, and the state of the periodic checks (alerts). */

#define STORE_URL_MAX 512
#define STORE_EVENTS_MAX 512 /* comma-separated event types of a destination */
#define STORE_EVENT_TYPE_MAX 40
#define STORE_BODY_MAX 16384             /* one message's body (JSON) */
#define STORE_DEST_SECRET_CLEAR_MAX 1024 /* a destination's secret in clear, NUL included */
#define STORE_DEST_SECRET_MAX 1536       /* … and sealed (secrets.h SECRETS_SEALED_MAX) */
#define STORE_SNIPPET_MAX 512            /* the start of a destination's answer kept per attempt */

/* Outbox row states. */
enum st_outbox_state {
    ST_OUTBOX_PENDING = 0,
    ST_OUTBOX_DELIVERED = 1,
    ST_OUTBOX_GAVE_UP = 2, /* retried for the whole retry period, or its destination is gone */
};

struct st_destination {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    int64_t account_id;
    char url[STORE_URL_MAX];
    /* "json" (signed webhook), "slack", "email" (url is mailto:ADDRESS), or an ad platform:
     * "ga4" (GA4 Measurement Protocol: url has the measurement id, secret is the API secret),
     * "meta" (Meta Conversions API: url names the pixel, secret is the access token),
     * "google_ads" (Data Manager API IngestEvents: url is the endpoint with the accounts and the
     * conversion action in its fragment, secret is the OAuth client id, client secret and
     * refresh token, one per line: app/adplat.h). */
    char format[16];
    char events[STORE_EVENTS_MAX];
    /* the signing secret (or credential), in clear for the caller: under
     * STORE_DEST_SECRET_CLEAR_MAX bytes; backends hold the sealed text in the same buffer */
    char secret[STORE_DEST_SECRET_MAX];
    int64_t created_at;
    int64_t failing_since; /* 0: its last attempt succeeded (or none failed yet) */
    int64_t disabled_at;   /* 0: enabled */
    char last_error[256];  /* why the latest attempt failed, "" after a success */
};

struct st_outbox_msg {
    int64_t id; /* 0: a message of its destination's batch (store_outbox_claim), no row yet */
    int64_t event_ref; /* its event's row */
    int64_t account_id;
    int64_t destination_id;
    char event_id[STORE_ID_MAX];
    char type[STORE_EVENT_TYPE_MAX];
    char body[STORE_BODY_MAX];
    int64_t created_at;
    int state;        /* enum st_outbox_state */
    int64_t attempts; /* attempts begun, this claim's included */
    int64_t next_at;
};

/* One attempt of the delivery log. */
struct st_delivery {
    int64_t id;
    int64_t outbox_id;  /* the message's row (0: a batch's message) */
    int64_t event_ref;  /* the message's event row */
    int64_t account_id; /* the message's */
    int64_t destination_id;
    char event_id[STORE_ID_MAX]; /* read back with the log (not written) */
    char type[STORE_EVENT_TYPE_MAX];
    int64_t attempt;
    int64_t at;
    int status; /* HTTP (or SMTP) status; 0 = no answer (refused, timed out, TLS) */
    char error[256];
    char response[STORE_SNIPPET_MAX];
    int64_t latency_ms;
};

typedef int (*store_destination_fn)(void *ctx, const struct st_destination *d);
/* A claimed message with its destination. Return non-zero to stop the walk. */
typedef int (*store_outbox_fn)(void *ctx, const struct st_outbox_msg *m,
                               const struct st_destination *d);
typedef int (*store_delivery_fn)(void *ctx, const struct st_delivery *d);

/* Adds a destination (ext_id, account_id, url, format, events, secret, created_at set by the
 * caller). out: d->id. ERR_OK, ERR_CONFLICT (the ext_id exists), ERR_INVALID (a field too long or
 * an unknown format), ERR_BACKEND. */
int store_destination_add(struct store *s, struct st_destination *d);
/* The account's destination ext_id (not deleted). ERR_NOTFOUND. out: *d. */
int store_destination_get(struct store *s, int64_t account_id, const char *ext_id,
                          struct st_destination *d);
/* The account's destinations that are not deleted, oldest first (fn: non-zero stops). */
int store_destination_list(struct store *s, int64_t account_id, store_destination_fn fn, void *ctx);
/* The same with every secret left out (""): no secret is opened. What a fact's messages are
 * written for (the outbox's targets, in the fact's transaction: one decryption per destination
 * and call was the cost). */
int store_destination_targets(struct store *s, int64_t account_id, store_destination_fn fn,
                              void *ctx);
/* Deletes the account's destination ext_id at now: it stops receiving and its pending messages
 * are given up. ERR_OK, ERR_NOTFOUND. */
int store_destination_delete(struct store *s, int64_t account_id, const char *ext_id, int64_t now);
/* Records the outcome of an attempt on destination id at now: a success clears failing_since;
 * a failure sets it if unset and, once it is disable_after_ms old, disables the destination.
 * A failure also records error (why, for the API: last_error), a success clears it.
 * out: *disabled = true when this call disabled it (exactly one caller sees that). */
int store_destination_result(struct store *s, int64_t account_id, int64_t id, bool ok, int64_t now,
                             int64_t disable_after_ms, const char *error, bool *disabled);
/* Replaces the account's destination ext_id's secret (an ad platform's credential), sealed like
 * the others. ERR_OK, ERR_NOTFOUND, ERR_INVALID (too long), ERR_UNSUPPORTED (no secrets key). */
int store_destination_secret_set(struct store *s, int64_t account_id, const char *ext_id,
                                 const char *secret);
/* Enables a disabled destination again (failing_since cleared). ERR_OK, ERR_NOTFOUND. */
int store_destination_enable(struct store *s, int64_t account_id, const char *ext_id);

/* Adds a message (every field but id, state, attempts set by the caller; next_at = when due),
 * inside the caller's transaction. out: m->id. ERR_OK, ERR_CONFLICT (this event id for this
 * destination exists), ERR_INVALID (a field too long), ERR_BACKEND. */
int store_outbox_add(struct store *s, struct st_outbox_msg *m);
/* The same for each of n destinations (m->destination_id unused): one event, its body stored
 * once. out: m->id, the last message's. */
int store_outbox_add_many(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                          size_t n);
/* Publishes the event m (every field but id, destination_id, state, attempts set by the caller)
 * to the n destinations of the account that take its type now (ids: enabled, not ad platforms),
 * inside the caller's transaction. Each gets it once through store_outbox_claim. SQLite stores
 * the event once, and each destination reads the events after its cursor (sql/0033: the types
 * it takes and whether it is enabled are read then, not now); PostgreSQL writes a message per
 * destination, as store_outbox_add_many (sql_pg/0033 says why).
 * ERR_OK, ERR_INVALID (a field too long), ERR_BACKEND. */
int store_outbox_publish(struct store *s, struct st_outbox_msg *m, const int64_t *destination_ids,
                         size_t n);
/* Claims up to max due pending messages (next_at <= now, no live lease) of enabled destinations,
 * for owner until lease_until, counting one more attempt on each, so no other node sends them
 * while the lease lives; a destination never has more than per_dest messages under live leases.
 * The messages claimed are the oldest due (next_at, then id); fn is then called for each in id
 * order (the order they were written). Then, where the backend reads published events by
 * cursor, a batch per destination of the events after its cursor (in the free places left, in
 * the order published), leased to owner as a whole: these messages have id 0 and attempts 1;
 * the attempt of each is recorded with store_outbox_finish and, the last one recorded, the
 * batch ends with store_outbox_batch_done. A batch whose lease ran out before it ended is sent
 * again as messages of their own (one attempt counted). ERR_OK, ERR_BACKEND. */
int store_outbox_claim(struct store *s, int64_t now, int64_t lease_until, const char *owner,
                       int64_t per_dest, size_t max, store_outbox_fn fn, void *ctx);
/* Claims up to max more due pending messages (as store_outbox_claim: next_at <= now, no live
 * lease, an enabled destination) of the account's destination destination_id, oldest first, for
 * owner until lease_until, past the per-destination limit: a batch sent as one request (the
 * google_ads sender fills its batch with it after store_outbox_claim). fn as there.
 * ERR_OK, ERR_BACKEND. */
int store_outbox_claim_batch(struct store *s, int64_t account_id, int64_t destination_id,
                             int64_t now, int64_t lease_until, const char *owner, size_t max,
                             store_outbox_fn fn, void *ctx);
/* Ends the claim of owner on message id with attempt d (logged whoever holds the message): the
 * message becomes state (ST_OUTBOX_PENDING: due again at next_at) at d->at. A message another
 * owner claimed since (this owner's lease ran out) keeps that claim. id 0, a batch's message
 * (d->event_ref, d->destination_id): the attempt is logged and, unless delivered, the message
 * gets a row of its own in state. ERR_OK, ERR_NOTFOUND. */
int store_outbox_finish(struct store *s, int64_t id, const char *owner, const struct st_delivery *d,
                        int state, int64_t next_at);
/* Ends owner's batch of the account's destination destination_id (store_outbox_claim), after its
 * messages' attempts were recorded in the same transaction: its cursor moves past it. A batch
 * owner no longer holds changes nothing. ERR_OK, ERR_BACKEND. */
int store_outbox_batch_done(struct store *s, int64_t account_id, int64_t destination_id,
                            const char *owner);
/* Sends the account's message event_id to destination destination_id again at now (pending,
 * due now, unclaimed; its attempts count on). ERR_OK, ERR_NOTFOUND. */
int store_outbox_requeue(struct store *s, int64_t account_id, int64_t destination_id,
                         const char *event_id, int64_t now);
/* The message event_id of the account's destination destination_id. ERR_NOTFOUND. out: *m. */
int store_outbox_get(struct store *s, int64_t account_id, int64_t destination_id,
                     const char *event_id, struct st_outbox_msg *m);
/* The delivery log of the account's destination destination_id, newest first, attempts with
 * id < before_id (0: from the newest), at most max. */
int store_delivery_list(struct store *s, int64_t account_id, int64_t destination_id,
                        int64_t before_id, size_t max, store_delivery_fn fn, void *ctx);

/* A periodic check's observation: value for the account's key at now. The check fires (out:
 * *fired = true) when value is greater than the value last seen and the last firing is at least
 * cooldown_ms old (or it never fired), or on the first observation when value > 0; the seen
 * value is kept either way. Atomic, so with several nodes exactly one fires. ERR_OK, ERR_BACKEND.
 */
int store_alert_observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                        int64_t now, int64_t cooldown_ms, bool *fired);

/* ==== privacy: erasure and retention ============================================================
 * Erasure (GDPR/CCPA requests; app/privacy.c): a visitor's or a caller's personal data is
 * scrubbed from the account's rows while the calls stay counted (reports, exports). */

#define STORE_ERASURE_SENT_MAX 8192

struct st_erasure {
    int64_t id;
    char ext_id[STORE_ID_MAX]; /* "ers_…", set by store_erase */
    int64_t account_id;
    char kind[16];                  /* "visitor" or "caller" */
    char actor[STORE_EMAIL_MAX];    /* who asked: "api", a user's email, "cli" */
    char reference[STORE_TEXT_MAX]; /* the requester's own reference (a ticket), may be "" */
    int64_t sessions;               /* sessions scrubbed */
    int64_t calls;                  /* calls scrubbed */
    int64_t events;                 /* events of those sessions scrubbed */
    int64_t outbox_dropped;         /* pending messages about them deleted */
    int64_t outbox_sent;            /* messages about them that had left (listed in sent) */
    /* JSON array, one object per message that had left (delivered, given up, or attempted and
     * pending): {"destination":"wh_…","event_id":"evt_…","type":"…","state":"delivered",
     * "attempts":N,"at":ms}; entries beyond the buffer are counted in outbox_sent only. */
    char sent[STORE_ERASURE_SENT_MAX];
    int64_t at;
};

typedef int (*store_erasure_fn)(void *ctx, const struct st_erasure *e);

/* Erases subject from account e->account_id at e->at, inside the caller's transaction (e->kind,
 * actor, reference, account_id and at set by the caller; the rest is set on return).
 * kind "visitor": the account's sessions of visitor id subject, and the calls attributed to them
 * (session_id); kind "caller": the account's calls from subject (as stored: E.164), and the
 * sessions they were attributed to (session_id, first_session_id). Sessions lose their visitor
 * id, referrer, click ids, client key, region and the landing page's query and fragment; their
 * events lose their detail; calls lose their from number and their outcome's notes. Outbox
 * messages whose body names the subject, one of those calls or sessions: pending ones are
 * deleted (those with attempts begun listed as sent), the others (delivered, given up) listed
 * as sent and their body replaced by {"id","type","erased":true}; the attempts' responses of all
 * of them are emptied. The erasure is recorded (store_erasure_list) without the subject.
 * SQLite: the erasing connection runs with secure_delete on, so the old bytes are zeroed in the
 * pages; store_erase_flush then removes them from the WAL. ERR_OK, ERR_INVALID (unknown kind,
 * empty subject), ERR_BACKEND. */
int store_erase(struct store *s, struct st_erasure *e, const char *subject);
/* After an erasure's commit: SQLite checkpoints the WAL into the file and truncates it
 * (wal_checkpoint(TRUNCATE), retried while readers hold old snapshots, up to about two
 * seconds), so no old copy of an erased page is left in the -wal file; ERR_UNAVAILABLE if it
 * could not.
 * PostgreSQL: nothing (the operator's VACUUM; docs/operations.md). */
int store_erase_flush(struct store *s, struct errbuf *eb);
/* The account's erasures, newest first, with id < before_id (INT64_MAX: from the newest), at
 * most max. */
int store_erasure_list(struct store *s, int64_t account_id, int64_t before_id, size_t max,
                       store_erasure_fn fn, void *ctx);

/* Retention cutoffs of one account (0: keep forever). */
struct st_retention {
    int64_t sessions_before;   /* sessions created and last active before this, no call refers */
    int64_t calls_before;      /* calls started before this (their conversion, outcome with them),
                                  and outbox messages no longer pending created before this */
    int64_t events_before;     /* events at before this */
    int64_t recordings_before; /* routed calls started before this lose their recording */
};

struct st_purged {
    int64_t sessions, calls, events, messages;
    int64_t recordings; /* recordings forgotten (URL and duration of a routed call) */
};

/* Deletes at most max rows of each kind (oldest first) of the account that are older than r's
 * cutoffs, calls first (so their sessions become purgeable) with their routing records, and
 * forgets the recordings (URL, duration) of routed calls older than recordings_before, in the
 * caller's transaction.
 * PostgreSQL: takes a transaction-scoped advisory lock first; while another node holds it, does
 * nothing (out: all 0, *busy = true). out: *n. ERR_OK, ERR_BACKEND. */
int store_purge(struct store *s, int64_t account_id, const struct st_retention *r, size_t max,
                struct st_purged *n, bool *busy);

/* Adds page_views and swap_misses to the account's traffic bucket starting at bucket_at (created
 * when missing), and deletes the account's buckets that start before purge_before.
 * ERR_OK, ERR_BACKEND. */
int store_traffic_add(struct store *s, int64_t account_id, int64_t bucket_at, int64_t page_views,
                      int64_t swap_misses, int64_t purge_before);
/* The sums of the account's traffic buckets starting at or after since. out: *page_views,
 * *swap_misses (0 without any). ERR_OK, ERR_BACKEND. */
int store_traffic_sum(struct store *s, int64_t account_id, int64_t since, int64_t *page_views,
                      int64_t *swap_misses);

/* The account's Google Ads scheduled-import feed becomes ext_id with the password hash
 * secret_hash (hex SHA-256), created at now, replacing the one it had. ERR_OK, ERR_CONFLICT (the
 * ext_id is another account's), ERR_BACKEND. */
int store_feed_set(struct store *s, int64_t account_id, const char *ext_id, const char *secret_hash,
                   int64_t now);
/* The account whose feed is ext_id, and the feed's password hash. ERR_NOTFOUND.
 * out: *a, secret_hash. */
int store_feed_account(struct store *s, const char *ext_id, struct st_account *a,
                       char secret_hash[65]);
/* Removes the account's feed. ERR_OK, ERR_NOTFOUND (it had none). */
int store_feed_delete(struct store *s, int64_t account_id);

/* ==== numbers bought and released through the provider (sql/0020_number_management.sql) ======
 * Owned by app/numbers.c. Every operation filters by account id. Times are Unix ms. */

#define STORE_PROVIDER_REF_MAX 80 /* the provider's id of a number (PN…, a Telnyx id) */

/* An account's number-buying settings. */
struct st_numcfg {
    int64_t account_id;
    char provider[STORE_PROVIDER_MAX]; /* "twilio" or "telnyx" */
    int64_t monthly_cap;               /* minor units per calendar month (UTC) */
    int64_t number_cost;               /* minor units per number per month */
    char country[4];                   /* ISO 3166-1 alpha-2 searched, "US" */
    int64_t updated_at;
};

/* A pool's autoscale settings and its last observation. */
struct st_autoscale {
    int64_t account_id;
    int64_t pool_id;
    bool enabled;
    bool dry_run; /* decide and log, never call the provider */
    int64_t min_size;
    int64_t max_size;
    char area_code[8];       /* new numbers: this area code, else region */
    char region[8];          /* ISO 3166-2 subdivision without the country ("TX") */
    int64_t idle_release_s;  /* release a number idle this long past its cooldown, 0 = never */
    int64_t seen_exhaustion; /* the pool's exhaustion counter at the last check */
    int64_t checked_at;
    char last_decision[64]; /* the last check's decision (app/numbers.c: repeats not logged) */
    int64_t updated_at;
};

/* A purchase, from before the provider is asked until the number is released. */
enum st_intent_state {
    ST_INTENT_PENDING = 0,  /* claimed; the provider may or may not have sold the number */
    ST_INTENT_BOUGHT = 1,   /* bought and recorded: the number is in the pool */
    ST_INTENT_FAILED = 2,   /* nothing was bought */
    ST_INTENT_RELEASED = 3, /* released at the provider */
};

struct st_intent {
    int64_t id;
    int64_t account_id;
    int64_t pool_id;
    int64_t slot;           /* the pool's size with this number (unique while pending) */
    char key[STORE_ID_MAX]; /* idempotency key, sent to the provider with the purchase */
    char provider[STORE_PROVIDER_MAX];
    int state;                   /* enum st_intent_state */
    char number[STORE_E164_MAX]; /* "" until chosen */
    char provider_ref[STORE_PROVIDER_REF_MAX];
    int64_t number_id; /* numbers.id once recorded, 0 before */
    int64_t created_at;
    int64_t updated_at;
    int64_t released_at; /* 0 = not released */
};

/* One line of a pool's number log. */
struct st_number_action {
    int64_t id;
    int64_t account_id;
    int64_t pool_id;
    int64_t at;
    char action[16]; /* search, buy, configure, release, refuse, reconcile, decide */
    char number[STORE_E164_MAX];
    char provider[STORE_PROVIDER_MAX];
    bool dry_run;
    bool ok;
    char detail[STORE_TEXT_MAX];
    int64_t intent_id; /* 0 = none */
};

/* How a pool number was used lately. */
struct st_number_usage {
    int64_t number_id;
    char ext_id[STORE_ID_MAX];
    char number[STORE_E164_MAX];
    int64_t last_lease_end; /* latest expires_at of its stored leases, 0 = never leased */
    int64_t last_call_at;   /* latest call to it, 0 = none */
    int64_t created_at;
};

typedef int (*store_autoscale_fn)(void *ctx, const struct st_autoscale *a);
typedef int (*store_intent_fn)(void *ctx, const struct st_intent *i);
typedef int (*store_number_action_fn)(void *ctx, const struct st_number_action *a);
typedef int (*store_number_usage_fn)(void *ctx, const struct st_number_usage *u);

/* The account's settings. ERR_NOTFOUND when none were stored. out: *c. */
int store_numcfg_get(struct store *s, int64_t account_id, struct st_numcfg *c);
/* Writes them (insert or replace). ERR_INVALID (a field too long), ERR_NOTFOUND (account). */
int store_numcfg_put(struct store *s, const struct st_numcfg *c);
/* A pool's autoscale settings. ERR_NOTFOUND when none were stored (autoscale off). */
int store_autoscale_get(struct store *s, int64_t account_id, int64_t pool_id,
                        struct st_autoscale *a);
/* Writes them (insert or replace); the pool must be the account's (ERR_NOTFOUND). */
int store_autoscale_put(struct store *s, const struct st_autoscale *a);
/* Every enabled autoscale setting of every account, by pool id. */
int store_autoscale_list(struct store *s, store_autoscale_fn fn, void *ctx);

/* Claims the next slot of the account's pool for a purchase, atomically: a pending intent with
 * key and provider, created at now, whose slot is the pool's numbers plus its pending intents
 * plus one, only if that slot is at most target_size. ERR_CONFLICT when the pool (with what is
 * pending) already has target_size numbers, or another node claimed the slot at the same time;
 * ERR_NOTFOUND (the pool is not the account's). Call inside a transaction. out: *out. */
int store_intent_claim(struct store *s, int64_t account_id, int64_t pool_id, int64_t target_size,
                       const char *key, const char *provider, int64_t now, struct st_intent *out);
/* Writes state, number, provider_ref, number_id, updated_at and released_at of the account's
 * intent i->id. ERR_NOTFOUND; ERR_CONFLICT when another pending intent has chosen that number. */
int store_intent_update(struct store *s, const struct st_intent *i);
/* Intents of the account (0: every account) and pool (0: all) in state (-1: any), by id. */
int store_intent_list(struct store *s, int64_t account_id, int64_t pool_id, int state,
                      store_intent_fn fn, void *ctx);
/* Numbers the account pays for in the month starting at month_start: intents pending or
 * bought, and those released at or after month_start. out: *n. */
int store_intent_spend(struct store *s, int64_t account_id, int64_t month_start, int64_t *n);

/* Appends a to the log (a->id set). */
int store_number_action_add(struct store *s, struct st_number_action *a);
/* The account pool's log, newest first, lines with id < before_id (0: from the newest), at most
 * max. */
int store_number_action_list(struct store *s, int64_t account_id, int64_t pool_id,
                             int64_t before_id, size_t max, store_number_action_fn fn, void *ctx);
/* Each number of the account's pool with its latest stored lease end and call, by id. */
int store_number_usage(struct store *s, int64_t account_id, int64_t pool_id,
                       store_number_usage_fn fn, void *ctx);

/* Claims the periodic job `name` for holder until `until` if it is free at now (never claimed,
 * its claim ended, or holder's own): out *got. Atomic across nodes. */
int store_job_claim(struct store *s, const char *name, const char *holder, int64_t now,
                    int64_t until, bool *got);

#endif
