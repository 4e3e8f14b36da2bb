/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Calls while the store is away (issue #11 item 3; docs/operations.md "When the database goes
 * away"). Two things let a node forward and keep calls without its store:
 * - the directory: each node's copy of who owns every tracking number (number -> account, pool,
 *   forward destination), the accounts' call settings and their provider credentials (to check
 *   webhook signatures). Loaded at start, reloaded when the store's configuration version moves
 *   (at most every 10 s) and every 5 minutes, and kept in step by every webhook the store
 *   answered (offline_note*). Memory only: nothing of it is written anywhere.
 * - the spool (app/spool.h): a voice webhook or status report the store could not take is
 *   written to the node's spool, synced, and only then acknowledged; a thread replays the spool
 *   in order once the store commits again, through the call service (calls.c), idempotently
 *   (provider call ids are unique: a call written already is not written twice; a status
 *   report merges as a retry would). A status report for a call that is not stored (yet: it
 *   may wait in this node's spool or another's) is spooled too, and retried for
 *   OFFLINE_ORPHAN_MS.
 * Ownership: struct offline belongs to struct app (app_init/app_release).
 * THREADING: every function may be called from any thread; one mutex guards the directory and
 * one the spooled call ids, neither held during store calls; the replay thread is the spool's
 * only reader. */
#ifndef OPENDNI_APP_OFFLINE_H
#define OPENDNI_APP_OFFLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/callstatus.h"
#include "app/calls.h"

struct app;
struct offline;

#define OFFLINE_TICK_MS 1000           /* replay attempts and directory checks */
#define OFFLINE_RELOAD_MS (300 * 1000) /* a full directory reload at least this often */
#define OFFLINE_RELOAD_MIN_MS 2000     /* … and at most this often on configuration changes */
#define OFFLINE_ORPHAN_MS                                                                          \
    (600 * 1000)                     /* a spooled status whose call is not found is retried        \
                                        this long (its call may wait in another node's spool) */
#define OFFLINE_ORPHAN_RETRY_MS 3000 /* … every this often while nothing else waits */

/* Opens the spool in spool_dir (app/spool.h: ERR_CONFLICT when another process uses it),
 * loads the directory if the store answers, and starts the replay thread. out: *o. */
int offline_start(struct app *app, const char *spool_dir, struct offline **o, struct errbuf *eb);
/* Stops the thread (a replay in progress finishes its record) and closes the spool. NULL ok. */
void offline_stop(struct offline *o);

/* ---- the directory ---- */

/* Remembers what the store just answered for a webhook to `to`: its owner and the account. */
void offline_note(struct offline *o, const char *to, const struct calls_target *t,
                  const struct st_account *acct);
/* Remembers an account's credentials for a provider (c->secret in clear). */
void offline_note_cred(struct offline *o, const struct st_provider_cred *c);
/* Who owned `to` when the directory last heard. ERR_OK (out: *t, *acct), ERR_NOTFOUND. */
int offline_lookup(struct offline *o, const char *to, struct calls_target *t,
                   struct st_account *acct);
/* The account with this id as last known. ERR_OK, ERR_NOTFOUND. */
int offline_account(struct offline *o, int64_t account_id, struct st_account *acct);
/* An account's credentials for provider as last known. ERR_OK, ERR_NOTFOUND. */
int offline_cred_get(struct offline *o, int64_t account_id, const char *provider,
                     struct st_provider_cred *c);
/* As store_provider_cred_find over the directory's copies (account_sid NULL: every account's
 * credentials for provider). fn's non-zero return stops the walk. */
int offline_cred_find(struct offline *o, const char *provider, const char *account_sid,
                      store_provider_cred_fn fn, void *ctx);

/* ---- the spool ---- */

/* Spools a verified voice webhook of account_id answered with ans, synced before it returns.
 * ERR_OK; ERR_IO (logged and counted: the call is forwarded all the same, but nothing keeps
 * it). */
int offline_spool_voice(struct offline *o, int64_t account_id, const struct calls_inbound *in,
                        const struct calls_answer *ans);
/* Spools a verified status report for the call with this provider call id (or whose forwarded
 * leg has it as parent: parent_call_id, may be ""); dial: the report is the <Dial action>'s
 * (the forwarded leg). ERR_OK, ERR_IO. */
int offline_spool_status(struct offline *o, int64_t account_id, const char *provider,
                         const char *call_id, const char *parent_call_id, bool dial,
                         const struct call_report *u, int64_t at);
/* Spools a verified recording callback (app/recordings.h recordings_put) of account_id: for the
 * stored call call_id (a write the store refused), or, with call_id 0, for the call with this
 * provider call id or parent call id (not stored yet, or the store is away), retried like a
 * status report. ERR_OK, ERR_IO. */
int offline_spool_recording(struct offline *o, int64_t account_id, const char *provider,
                            const char *provider_call_id, const char *parent_call_id,
                            int64_t call_id, const char *url, int64_t duration_s, int64_t at);
/* Spools a status report for the stored call call_id (a write the store refused). */
int offline_spool_update(struct offline *o, int64_t call_id, const struct call_report *u,
                         int64_t at);
/* Whether the store was away lately (within OFFLINE_ORPHAN_MS of now: a failed readiness probe,
 * or this node spooled something): a report for a call not stored may then be for one that
 * waits in some node's spool. */
bool offline_recent(struct offline *o, int64_t now);
/* Whether the call with this provider call id waits in the spool. */
bool offline_has_call(struct offline *o, const char *provider, const char *call_id);

/* Appends the spool's gauges and counters (Prometheus text) to out. */
void offline_metrics(struct offline *o, struct buf *out);

#endif
