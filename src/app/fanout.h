/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The stream across nodes (DESIGN.md "Scale plan": the SSE stream fans out through
 * LISTEN/NOTIFY). A node publishes its call events to its own listeners directly (stream.c) and
 * tells the other nodes in the transaction that writes the call (fanout_notify: a notification
 * sent only if it commits, naming the node, the account, the event and the call); each node's
 * fan-out thread waits for the others' notifications (store_notify_wait), skips its own and
 * those of accounts nobody here listens to, reads the call and publishes the event to its
 * listeners. So a /v1/stream listener on node A sees a call answered on node B, each event
 * once. Events sent while a node's listening connection is down are not seen by its listeners
 * (the stream is live, as a reconnecting SSE client's is). On SQLite (one process) there is no
 * other node: fanout_notify does nothing and the thread ends at once.
 * Ownership: struct fanout belongs to struct app (app_init/app_release).
 * THREADING: fanout_notify from any thread, on that thread's store connection; one thread of
 * its own waits and publishes. */
#ifndef OPENDNI_APP_FANOUT_H
#define OPENDNI_APP_FANOUT_H

#include <stdint.h>

struct app;
struct store;
struct fanout;

/* Starts the fan-out thread. Never NULL (aborts on OOM). */
struct fanout *fanout_start(struct app *app);
/* Stops the thread (within about a second). NULL ok. */
void fanout_stop(struct fanout *f);

/* Tells the other nodes that event ("call.started", "call.completed", "conversion.created")
 * happened to call call_id of account_id, inside the caller's transaction on s (or, outside
 * one, at once: "pnl.updated" with call_id 0, the account's P&L totals changed). ERR_OK (also
 * where there is no other node); ERR_BACKEND (the transaction has failed). */
int fanout_notify(struct app *app, struct store *s, int64_t account_id, const char *event,
                  int64_t call_id);

#endif
