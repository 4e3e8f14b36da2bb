/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The telephony provider interface: one table per provider (struct tel_provider, as curl's
 * vtls backends), registered once in tel_providers[] (provider.c). A provider checks that a
 * webhook carries its signature headers, parses the webhook into the common fields, verifies
 * the signature against the account's secret for that provider, writes its answer (dial,
 * reject, empty) and maps its call statuses onto the ones opendni's status merge understands.
 * Requests reach providers as struct tel_request, with no HTTP-library type.
 * Adding a provider: a file src/telephony/<name>.c defining its table, and one line in
 * tel_providers[]. The HTTP routes (/v1/telephony/<name>/voice|status|dial) follow the name.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage.
 * THREADING: the tables are constant; every function is reentrant (no shared state). */
#ifndef OPENDNI_TELEPHONY_PROVIDER_H
#define OPENDNI_TELEPHONY_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "telephony/form.h"

struct tel_numbers;

/* Longest provider name (calls.provider, account_providers.provider), NUL excluded. */
#define TEL_NAME_MAX 15

/* The webhooks a provider sends, one route each: /v1/telephony/<name>/voice|status|dial|route|
 * recording. */
enum tel_hook_kind {
    TEL_HOOK_VOICE = 0, /* a call comes in: answer where it goes */
    TEL_HOOK_STATUS,    /* status callbacks (either leg) */
    TEL_HOOK_DIAL,      /* the <Dial action>: the forwarded leg ended */
    TEL_HOOK_ROUTE,     /* a routing plan's callbacks (gather, dial, record, whisper) */
    TEL_HOOK_RECORDING, /* the recording callback of a plain forward's recorded <Dial> */
    TEL_HOOK_N,
};

/* A webhook request as providers see it. All pointers are borrowed for the call. */
struct tel_request {
    const char *url;  /* public URL + URI as received: what Twilio-style providers sign */
    const char *body; /* the raw body, len bytes (need not be NUL-terminated; NULL if len 0) */
    size_t len;
    /* The value of request header name (case-insensitive), or NULL if absent. Called only
     * during the provider call that received the request. */
    const char *(*header)(void *ctx, const char *name);
    void *ctx;     /* header's first argument */
    int64_t now_s; /* the server's clock, Unix seconds (freshness checks) */
};

/* The fields of a voice webhook, status callback or <Dial action> that opendni uses, whatever
 * the provider. Strings are borrowed from the parsed request (struct tel_hook), NULL when
 * absent; numbers are -1 when absent. */
struct tel_webhook {
    const char *call_sid;         /* the provider's call id (Twilio CA…, UUIDs, Telnyx v3:…) */
    const char *account_sid;      /* the provider's account id (AccountSid) */
    const char *parent_call_sid;  /* ParentCallSid: set on the forwarded leg's callbacks */
    const char *from;             /* From: E.164, client:…, sip:… or "anonymous" */
    const char *to;               /* To */
    const char *call_status;      /* CallStatus as sent (map it with tel_provider.status) */
    const char *direction;        /* Direction */
    const char *caller_name;      /* CallerName (CNAM), rarely present */
    const char *forwarded_from;   /* ForwardedFrom */
    const char *dial_call_status; /* DialCallStatus (<Dial action> requests) */
    const char *recording_url;    /* RecordingUrl */
    int64_t call_duration_s;      /* CallDuration */
    int64_t dial_call_duration_s; /* DialCallDuration */
    int64_t sequence_number;      /* SequenceNumber (callbacks can arrive out of order) */
};

/* A parsed webhook: what tel_provider.parse produced and .verify reads. Release with
 * tel_hook_release. */
struct tel_hook {
    struct form form;      /* the body's parameters (form-encoded providers; else empty) */
    struct tel_webhook wh; /* the fields, borrowed from form */
};

/* What to answer the provider. */
enum tel_answer_kind {
    TEL_ANSWER_DIAL = 0, /* forward the call to forward_to */
    TEL_ANSWER_REJECT,   /* refuse politely: nobody owns the number */
    TEL_ANSWER_EMPTY,    /* end the request (a <Dial action>): the call goes on or ends */
    /* A routing plan's instructions (core/route.h): their callbacks go to the route path with
     * route_query as the query string (the call's progress through its plan). */
    TEL_ANSWER_GATHER,     /* say, then wait timeout_s for num_digits digits */
    TEL_ANSWER_RECORD,     /* say, then record a voicemail of up to max_len_s */
    TEL_ANSWER_SAY_HANGUP, /* say (if any), hang up */
    TEL_ANSWER_SAY,        /* say only (a whisper to the answering party) */
    TEL_ANSWER_BLOCK,      /* refuse without answering (a blocked caller) */
};

struct tel_answer {
    enum tel_answer_kind kind;
    const char *base_url;   /* the server's public URL: callback URLs are base_url + paths[] */
    const char *forward_to; /* DIAL: E.164, or a sip: URI (a ping-post destination) */
    const char *caller_id;  /* DIAL: caller id to show the business (NULL = provider default) */
    /* DIAL: record the forwarded call after speaking notice; without route_query the recording
     * is posted to the provider's TEL_HOOK_RECORDING path (recordingStatusCallback) */
    bool record;
    const char *notice; /* DIAL: spoken before a recorded call (NULL = default notice) */
    /* Routing (NULL/0 when unused). DIAL with route_query: the <Dial action> goes to the route
     * path, timeout_s bounds the ringing, and whisper_query (if set) plays a whisper to the
     * answering party from the route path. RECORD: status_query receives the recording. */
    const char *route_query;
    const char *whisper_query;
    const char *status_query;
    const char *say;
    int num_digits;
    int timeout_s;
    int max_len_s;
};

struct tel_provider {
    /* The name stored in calls.provider and account_providers.provider, and the route segment
     * /v1/telephony/<name>/…; at most TEL_NAME_MAX bytes of [a-z0-9]. */
    const char *name;
    /* The route of each webhook kind (also its metrics label and the callback URLs its answers
     * ask for); NULL when the provider sends that kind elsewhere (Telnyx posts its
     * <Dial action> to the status route, where DialCallStatus tells it apart). */
    const char *paths[TEL_HOOK_N];
    /* NULL, or the provider whose routes this one shares: a request on host's routes that
     * carries host_header is this provider's (SignalWire on Twilio's routes). */
    const char *host;
    const char *host_header;
    /* For a To nobody owns, the signer is the account whose stored account_sid for this
     * provider equals the request's AccountSid (API.md), found through an index: the cost does
     * not grow with the number of accounts. signer_by_account_sid false: no account id is
     * stored for this provider, and every account with a secret for it is tried. */
    bool signer_by_account_sid;
    /* Kept for accounts stored before their account id was (Telnyx keys set without
     * --telnyx-account-sid): when no account with the request's AccountSid signed it, the
     * accounts of this provider that have no account id stored are tried, one signature
     * check each. Storing the id takes an account out of that list. */
    bool signer_fallback_unkeyed;
    const char *content_type; /* of the answers, a static string */

    /* Whether rq carries the provider's signature headers (and, where the provider signs a
     * timestamp, a fresh one). Returns ERR_OK, or ERR_FORBIDDEN with eb (optional) saying
     * what is missing. */
    int (*check)(const struct tel_request *rq, struct errbuf *eb);
    /* Parses rq's body into out (release it with tel_hook_release whatever this returns).
     * Returns ERR_OK; ERR_INVALID (not the provider's format, or a field the handlers rely on
     * is malformed: eb names it); ERR_TOOBIG (too many parameters). */
    int (*parse)(const struct tel_request *rq, struct tel_hook *out, struct errbuf *eb);
    /* true if rq, parsed as h, is signed with secret (the account's secret for this
     * provider: auth token, signing key, or base64 public key), in constant time. false for a
     * NULL or empty secret, a missing header, or any failure to compute. */
    bool (*verify)(const struct tel_request *rq, const struct tel_hook *h, const char *secret);
    /* Appends the answer document to out. On error out keeps its previous length.
     * Returns ERR_OK; ERR_INVALID (DIAL without forward_to, NULL base_url); ERR_TOOBIG. */
    int (*answer)(struct buf *out, const struct tel_answer *a);
    /* The status opendni's merge understands for a provider's call status: "ringing",
     * "in-progress", "answered" (a dialled leg that connected), "completed", "busy",
     * "no-answer", "failed", "canceled"; a status it does not know is returned as is (the
     * merge reads unknown live statuses as ringing: a status added later never fails a
     * callback). NULL for NULL. The result is static or s itself. */
    const char *(*status)(const char *s);
    /* Number management through the provider's REST API (telephony/numbers.h), or NULL when
     * opendni cannot buy this provider's numbers. */
    const struct tel_numbers *numbers;
};

/* Every provider, in registration order, NULL-terminated. */
extern const struct tel_provider *const tel_providers[];

/* The provider called name, or NULL (also for NULL). */
const struct tel_provider *tel_provider_by_name(const char *name);

/* The provider that takes a request on /v1/telephony/<route>/…: one hosted by route whose
 * host_header rq carries, else the provider called route. NULL if there is none. */
const struct tel_provider *tel_provider_for_route(const char *route, const struct tel_request *rq);

/* Frees what parse stored in h and leaves it empty; a zeroed hook is a no-op. */
void tel_hook_release(struct tel_hook *h);

#endif
