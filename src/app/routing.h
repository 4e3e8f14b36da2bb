/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call routing (docs/routing.md): locations and routing plans (JSON documents validated here
 * and kept by the store), the plan of a call (attached to its number, else its pool), and each
 * step of a routed call: read the plan, the locations, the zones and the live counts, ask
 * core/route.h for the next instruction, record the call's routing (location, target, digits,
 * steps, recording, StirVerstat) and say what to answer the provider. The never-drop rule holds
 * at every step: whatever fails inside dials the plan's last-resort line and is recorded.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage, except
 * the json_t results, which are new references.
 * THREADING: every function may be called from any HTTP worker thread at once; the zone cache
 * is shared under a mutex. */
#ifndef OPENDNI_APP_ROUTING_H
#define OPENDNI_APP_ROUTING_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "app/records.h"
#include "telephony/provider.h"

struct store;

struct app;
struct calls_target;
struct routing_pending;

#define ROUTING_QUERY_MAX 512 /* a Dial action's query carries the auction's next bids */

/* ==== documents: POST/GET/PUT/DELETE /v1/locations and /v1/routing-plans ==================== */

/* "location" or "plan". */
enum routing_kind { ROUTING_LOCATION = 0, ROUTING_PLAN };

/* Validates body (a JSON object) as a document of kind for acct and stores it: a new one when
 * ext_id is NULL, else a replacement of the account's document ext_id. out: the stored
 * document as the API shows it (new reference). Returns ERR_OK; ERR_INVALID (eb names the
 * field); ERR_NOTFOUND; ERR_CONFLICT (a plan already attached there); ERR_BACKEND. */
/* store_reseal_fn (ctx unused): re-seals with the current key, in the caller's transaction, the
 * buyers' signing secrets of every account's plans that are sealed with another (a key
 * rotation), keeping each one's clear text; adds how many to *n. ERR_UNSUPPORTED or ERR_INVALID
 * (eb names the plan and buyer) when one does not open: nothing is written. */
int routing_reseal_buyers(void *ctx, struct store *s, int64_t now, int64_t *n, struct errbuf *eb);

int routing_doc_put(struct app *app, int64_t account_id, enum routing_kind kind, const char *ext_id,
                    const char *body, size_t len, json_t **out, struct errbuf *eb);
/* The document as the API shows it. ERR_NOTFOUND, ERR_BACKEND. */
int routing_doc_get(struct app *app, int64_t account_id, enum routing_kind kind, const char *ext_id,
                    json_t **out);
/* {"locations":[…]} or {"routing_plans":[…]}. */
int routing_doc_list(struct app *app, int64_t account_id, enum routing_kind kind, json_t **out);
int routing_doc_delete(struct app *app, int64_t account_id, enum routing_kind kind,
                       const char *ext_id);

/* ==== the webhook path ======================================================================= */

/* A new call as routing sees it. */
struct routing_call {
    const char *provider;
    const char *call_sid;
    const char *from;
    const char *verstat; /* StirVerstat, or NULL */
    const char *source;  /* the call's attribution, for whispers */
    const char *campaign;
    int64_t session_id; /* the call's credited visit (0: none): geography by its region */
    /* The location the stored call belongs to (st_call.location: "" = none), which also picks a
     * plan attached to a location; NULL when the call could not be prepared (then the number's
     * or its pool's location is looked up). */
    const char *location;
    int64_t now;
};

/* The location the number of t belongs to (listed by a location itself, else through its
 * pool): its ext id in out, "" for none. ERR_OK, or ERR_BACKEND (out ""). THREADING: any. */
int routing_location_of(struct app *app, int64_t account_id, const struct calls_target *t,
                        char out[STORE_ID_MAX]);

/* What to answer the provider: ans points into this struct (say, number, queries). */
struct routing_answer {
    struct tel_answer ans;
    char number[STORE_PARTY_MAX]; /* DIAL: the number (or a buyer's sip: URI) dialled */
    char say[512];
    char notice[256];
    char route_query[ROUTING_QUERY_MAX];
    char whisper_query[ROUTING_QUERY_MAX];
    char status_query[ROUTING_QUERY_MAX];
    bool last_resort; /* the answer dials the last resort because something failed */
    /* Non-NULL: the step is a ping-post auction and ans is not written yet; run it with
     * routing_auction (which takes it) before answering. */
    struct routing_pending *auction;
    /* Non-NULL: a provider retry of the voice webhook while the call's auction runs on this
     * node; ans is not written yet: routing_auction (which takes it) answers it, as any retry,
     * once that auction is recorded. */
    struct routing_joiner *joining;
    bool billable;      /* this step recorded a connected call its target's rule made billable */
    int64_t account_id; /* the call's account (routing_next) */
};

/* Runs the ping-post auction of out->auction (taken, out->auction set to NULL) on the auction
 * service (app/auction.h): once *out holds the answer of the step after it (the winner's
 * destination dialled, or the plan's fallback, or its last resort if the record cannot be
 * written) and the record is written, done(arg) is called on the auction service's thread.
 * With out->joining (taken) instead, no auction starts: the call's running one is awaited, and
 * out then holds a retry's answer (the same dial), done(arg) on that thread (or at once on the
 * caller's thread when it ended meanwhile). The caller keeps out alive until then. */
void routing_auction(struct app *app, struct routing_answer *out, void (*done)(void *arg),
                     void *arg);

/* The first step of a new call for acct to target t, if a plan is attached to its number or
 * pool. Returns ERR_OK with *out filled (and the call's routing record written), or
 * ERR_NOTFOUND: no plan, answer as before. Any other failure still returns ERR_OK with the
 * plan's last resort in *out when the plan could be read. */
int routing_voice(struct app *app, const struct st_account *acct, const struct calls_target *t,
                  const struct routing_call *c, struct routing_answer *out);

/* The callbacks of a routed call (/v1/telephony/<provider>/route?ev=…&st=…). */
enum routing_event {
    ROUTING_EV_GATHER = 0, /* Digits (absent: no input) */
    ROUTING_EV_DIAL,       /* DialCallStatus, DialCallDuration */
    ROUTING_EV_RECORD,     /* the voicemail ended: RecordingUrl, RecordingDuration */
    ROUTING_EV_RECORDING,  /* the recording status callback: RecordingUrl, RecordingDuration */
    ROUTING_EV_WHISPER,    /* the answering party's whisper */
};
/* Parses "gather", "dial", "record", "recording", "whisper". ERR_INVALID otherwise. */
int routing_event_parse(const char *s, enum routing_event *out);

struct routing_callback {
    const char *provider;
    const char *call_sid;
    enum routing_event ev;
    const char *state;       /* the st query parameter */
    const char *digits;      /* Digits */
    const char *dial_status; /* DialCallStatus (mapped by the provider) */
    int64_t dial_duration_s; /* DialCallDuration, -1 */
    const char *recording_url;
    int64_t recording_duration_s; /* -1 */
    const char *bids_left; /* the rb query parameter of a won auction's Dial action, or NULL */
    int64_t now;
};

/* The account whose routed call this is (for the signature check). ERR_NOTFOUND: no routed
 * call with this provider call id. */
int routing_call_account(struct app *app, const char *provider, const char *call_sid,
                         int64_t *account_id);

/* The next step of a routed call whose signature was checked. Returns ERR_OK with *out filled
 * (a RECORDING callback: out->ans.kind TEL_ANSWER_EMPTY; answer 204), ERR_NOTFOUND (no such
 * routed call), ERR_INVALID (a state that does not parse). Failures inside answer the last
 * resort (ERR_OK). */
int routing_next(struct app *app, const struct routing_callback *cb, struct routing_answer *out);

/* The routing of a call for its CALL object: {"plan","location","target","target_number",
 * "digits","steps":[…],"outcome","verstat","recording":{url,duration}|null,"payout"}, or NULL
 * when the call was not routed. */
json_t *routing_call_json(struct app *app, const char *provider, const char *call_sid);

/* GET /v1/reports/routing?group_by=location|target|digits: per key, calls, connected, voicemails,
 * billable, payout, over routed calls with since <= started < until. ERR_INVALID for another
 * group_by. */
int routing_report(struct app *app, int64_t account_id, const char *group_by, int64_t since,
                   int64_t until, json_t **out, struct errbuf *eb);

#endif
