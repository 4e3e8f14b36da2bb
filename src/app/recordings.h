/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call recordings played in the dashboard (GET /v1/calls/{id}/recording): the recording URL and
 * duration a provider's callback left in the call's routing record (routing plans' recorded dials
 * and voicemail, app/routing.h), else on the call itself (a plain forward recorded by the
 * account's `record_calls`: its recordingStatusCallback, recordings_put), are fetched from the
 * provider through the one outbound client with the account's provider credentials (Twilio,
 * SignalWire: HTTP Basic with the account SID and the auth token, the MP3 rendition: ".mp3" added
 * to a URL without an extension; Telnyx and others: the URL as given, no credential), so the
 * browser never talks to the provider (the app's CSP allows media from itself only) and never sees
 * a credential. A recording is kept in memory while it is relayed, at most RECORDINGS_BYTES_MAX; at
 * most RECORDINGS_MAX_PENDING fetches are queued or in flight (recordings_reserve). The fetches run
 * on the service's own thread, never on an HTTP worker: requests wait suspended (http_defer).
 * THREADING: every function may be called from any thread; callbacks run on the service's. */
#ifndef OPENDNI_APP_RECORDINGS_H
#define OPENDNI_APP_RECORDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/records.h"

struct app;
struct recordings;

#define RECORDINGS_BYTES_MAX ((size_t)48 << 20) /* ~50 min of Twilio's 128 kbit/s MP3 */
#define RECORDINGS_MAX_PENDING 8
#define RECORDINGS_TIMEOUT_MS 60000

/* Where a call's recording is and how to fetch it. */
struct recording_src {
    char call[STORE_ID_MAX];           /* the call's external id (logs) */
    char provider[16];                 /* the call's provider */
    char url[STORE_ROUTE_URL_MAX + 8]; /* what is fetched */
    char userpwd[STORE_PROVIDER_SID_MAX + STORE_SECRET_SEALED_MAX]; /* "sid:token", "" = none */
    int64_t duration_s; /* as the provider reported it, -1 unknown */
};

/* The recording of call_ext (of account_id) and how to fetch it: ERR_OK; ERR_NOTFOUND (no such
 * call, or it has no recording: eb says which); ERR_CONFLICT (the account has no credentials for
 * the provider, which requires them); ERR_INVALID (the stored URL is not http(s)). */
int recordings_source(struct app *app, int64_t account_id, const char *call_ext,
                      struct recording_src *out, struct errbuf *eb);

/* Stores the recording a verified recording callback reported on the account's call call_id
 * (store_call_recording_put: a repeated callback writes the same), in one transaction on the
 * calling thread's store connection. ERR_OK; ERR_NOTFOUND (the account has no such call);
 * ERR_INVALID (url empty or longer than STORE_RECORDING_URL_MAX - 1); ERR_BACKEND (the store
 * failed: nothing written). */
int recordings_put(struct app *app, int64_t account_id, int64_t call_id, const char *url,
                   int64_t duration_s);

/* The fetch's outcome: rc ERR_OK with the audio (body, owned by the callback: free() it) and its
 * content type; else rc and message (ERR_NOTFOUND: the provider has no such recording,
 * ERR_BACKEND: the provider refused, failed or was unreachable, ERR_TOOBIG: over
 * RECORDINGS_BYTES_MAX, ERR_UNAVAILABLE: the server is stopping). */
struct recording_result {
    int rc;
    int provider_status; /* the provider's HTTP status, 0 if none came */
    char message[256];
    char content_type[64];
    char *body;
    size_t len;
};
typedef void (*recordings_done_fn)(void *arg, struct recording_result *r);

struct recordings *recordings_start(bool allow_private);
/* The server is stopping: every waiting fetch is answered ERR_UNAVAILABLE at once. NULL ok. */
void recordings_quiesce(struct recordings *r);
/* Stops the thread and frees r. NULL ok. */
void recordings_stop(struct recordings *r);

/* Takes one of the RECORDINGS_MAX_PENDING places: ERR_OK (then recordings_fetch must follow,
 * once), ERR_UNAVAILABLE when all are taken or the server is stopping. */
int recordings_reserve(struct recordings *r);
/* Fetches src; done(arg, result) follows exactly once, on the service's thread (or at once when
 * stopping), and the place is free before it. */
void recordings_fetch(struct recordings *r, const struct recording_src *src,
                      recordings_done_fn done, void *arg);

#endif
