/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The live event stream behind GET /v1/stream: a fan-out of call and conversion events to the
 * Server-Sent-Events listeners of one account. Publishers (the webhook handlers) never block:
 * each listener has a bounded queue, and a listener whose queue would overflow is dropped.
 * A listener remembers the credential it was opened with (an opaque string such as an API
 * key's "key:<hash>"; dashboard sessions can use their own kind), and the stream re-checks the
 * credentials of open listeners every STREAM_RECHECK_MS through a function the application
 * gives it (stream_set_check), so a revocation made anywhere (another process, another node)
 * ends the listeners it no longer authorizes.
 * Ownership: struct stream belongs to struct app (app_init/app_release); a listener belongs to
 * the stream from stream_listen until stream_unlisten.
 * THREADING: every function is thread-safe. One mutex guards the listener list and the queues
 * and is never held while calling into the server; a thread owned by the stream resumes parked
 * connections (after a publish, for keep-alives, at shutdown), so publishers never wait on a
 * connection. */
#ifndef OPENDNI_APP_STREAM_H
#define OPENDNI_APP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STREAM_KEEPALIVE_MS 15000
#define STREAM_QUEUE_MAX (256 * 1024) /* bytes queued per listener before it is dropped */
/* How often open listeners' credentials are checked again. With the wake thread's 1 s tick a
 * revoked credential's listeners end at most ~6 s after the revocation is committed. */
#define STREAM_RECHECK_MS 5000
#define STREAM_CRED_MAX 80 /* longest credential string, NUL included */

struct stream;
struct stream_listener;

/* ---- publishing (used by the webhook handlers) ---------------------------------------- */

/* Creates an empty stream. Never returns NULL (aborts on out-of-memory). */
struct stream *stream_new(void);

/* Frees the stream. Call after the HTTP server has stopped (no listener may remain). NULL ok. */
void stream_free(struct stream *st);

/* Sends one event to every listener of account_id: `event: <event>\ndata: <json>\n\n`.
 * event is a name such as "call.started", "call.completed", "conversion.created"; json is one
 * JSON object on one line (it is copied; newlines in it are replaced by spaces). Non-blocking:
 * a listener whose queue is full is dropped (its connection ends). st NULL is a no-op. */
void stream_publish(struct stream *st, int64_t account_id, const char *event, const char *json);

/* As stream_publish, but listeners opened with stream_listen_masked(..., true) get `masked`
 * instead of `json` (the same event id): what a role that may not see caller numbers or money
 * may see. masked NULL: every listener gets json. */
void stream_publish_masked(struct stream *st, int64_t account_id, const char *event,
                           const char *json, const char *masked);

/* Ends every listener (their connections close after what is queued is sent) and refuses new
 * ones. Call before the HTTP server stops: libmicrohttpd aborts if it is stopped while
 * connections are suspended. Idempotent. */
void stream_shutdown(struct stream *st);

/* ---- listening (used by h_stream.c and server.c) --------------------------------------- */

/* Suspends or resumes the connection of a listener (server.c wraps libmicrohttpd's calls). */
typedef void (*stream_conn_fn)(void *conn);

/* Adds a listener for account_id, opened with credential cred (copied; NULL or "": never
 * re-checked; one longer than STREAM_CRED_MAX - 1 is cut, so its first check fails and the
 * listener ends: fail closed). Returns NULL after stream_shutdown. The first read returns a
 * `retry:` line and a `: connected` comment, so clients see at once that the stream is open. */
struct stream_listener *stream_listen(struct stream *st, int64_t account_id, const char *cred);

/* As stream_listen; masked: the listener gets the masked variant of events
 * (stream_publish_masked), for a dashboard session whose role may not see callers or money. */
struct stream_listener *stream_listen_masked(struct stream *st, int64_t account_id,
                                             const char *cred, bool masked);

/* Tells the stream how to park and wake the listener's connection: stream_read suspends it when
 * nothing is pending, and the stream's wake thread resumes it when an event, a keep-alive or the
 * end is due. Call once, before the first stream_read. The protocol guarantees resume is only
 * called on a connection that suspend was called on, and only once per suspension. */
void stream_attach(struct stream_listener *l, stream_conn_fn suspend, stream_conn_fn resume,
                   void *conn);

/* Copies up to cap pending bytes into out: the greeting, queued events, or a `: keep-alive`
 * comment when nothing was written for the keep-alive interval (15 s; a dead client is then
 * found by the failing write). Returns the number of bytes (> 0); 0 when nothing is pending, in
 * which case the connection has been suspended (if attached) and the caller returns 0 to the
 * server; -1 once the listener has ended (dropped for overflow, or shut down) and everything
 * queued was read: end the response. Called from the connection's thread. */
long stream_read(struct stream_listener *l, char *out, size_t cap);

/* Removes and frees the listener (its connection is finished and will not be resumed). NULL ok. */
void stream_unlisten(struct stream *st, struct stream_listener *l);

/* Number of listeners (for tests and metrics). */
size_t stream_listeners(struct stream *st);

/* Changes the keep-alive interval (default STREAM_KEEPALIVE_MS; tests use less). */
void stream_set_keepalive(struct stream *st, int64_t keepalive_ms);

/* Re-checks one credential of an open listener of account_id. Returns ERR_OK while the
 * credential still authorizes that account, ERR_AUTH once it does not (revoked, unknown, another
 * account's): the stream then ends every listener opened with it, after a last `: credential
 * revoked` comment. Any other code (the store cannot answer) keeps the listeners and checks
 * again at the next interval. cred is borrowed for the call. Called on the stream's wake
 * thread, without the stream's lock held; it may block briefly (one store read). */
typedef int (*stream_check_fn)(void *ctx, int64_t account_id, const char *cred);

/* Installs the credential check, run for every distinct (account, credential) of the open
 * listeners once every_ms (0: STREAM_RECHECK_MS) has passed on the monotonic clock or on
 * time_now_ms (base/timefmt.h, so the test binary's clock can bring a check forward), checked
 * at the wake thread's 1 s tick. fn NULL turns checking off (the default). ctx is borrowed
 * until stream_free or the next call. */
void stream_set_check(struct stream *st, stream_check_fn fn, void *ctx, int64_t every_ms);

#endif
