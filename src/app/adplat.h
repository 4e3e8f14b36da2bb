/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad-platform destinations of the outbox (docs/integrations.md "GA4", "Meta"): a GA4 Measurement
 * Protocol stream (an event per call and per qualified call, for the visitor's GA client id)
 * and a Meta Conversions API pixel (a "Lead" per qualified call, action_source phone_call, fbc
 * from the session's fbclid, the caller's number hashed). The bodies are built when the fact is
 * written (adplat_emit, in its transaction: retries send the same bytes) and hold no secret;
 * the credential is added to the URL when sending (adplat_request_url).
 * Ownership: arguments are borrowed; returned strings are the caller's (free).
 * THREADING: stateless; adplat_emit runs on the thread owning the caller's transaction. */
#ifndef OPENDNI_APP_ADPLAT_H
#define OPENDNI_APP_ADPLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

struct app;
struct outbound_result;

#define ADPLAT_GA4_BASE "https://www.google-analytics.com"
#define ADPLAT_META_BASE "https://graph.facebook.com"
#define ADPLAT_META_VERSION "v24.0"
#define ADPLAT_GA_DETAIL_MAX 64 /* "CLIENT_ID[ SESSION_ID]" of a ga_client visit event */

/* Whether format is an ad platform's (ga4, meta). */
bool adplat_format(const char *format);
/* The event types a destination of format takes: GA4 call.completed and conversion.created,
 * Meta conversion.created. */
bool adplat_takes(const char *format, const char *type);
/* Checks the platform's public id (GA4 measurement id "G-…", Meta pixel id: digits) and the
 * credential, and writes the destination's URL (without the credential). ERR_INVALID (eb). */
int adplat_destination_url(const char *format, const char *id, const char *credential, char *url,
                           size_t cap, struct errbuf *eb);
/* Checks a credential (API secret, access token) for format. ERR_INVALID (eb). */
int adplat_credential_check(const char *format, const char *credential, struct errbuf *eb);
/* The URL to POST to: d->url with its credential, on the test binary's base URL when
 * serve --test-provider-api ga4=URL / meta=URL was given. false when it does not fit. */
bool adplat_request_url(const struct st_destination *d, char *out, size_t cap);
/* Whether a ga_client event's detail is "CLIENT_ID" or "CLIENT_ID SESSION_ID" as the tracker
 * reads them from the _ga and _ga_<stream> cookies. Pure. */
bool adplat_ga_detail_valid(const char *detail);

/* What a call gives the bodies. */
struct adplat_call {
    const struct st_call *call;
    const struct st_conversion *cv; /* NULL for call.completed */
    const char *ga_client_id;       /* "" when the session has none */
    const char *ga_session_id;      /* "" unknown */
    const char *fbclid;             /* "" none */
    int64_t fbclid_at;              /* when the session saw it (ms) */
};

/* The GA4 Measurement Protocol body for type (call.completed: "phone_call"; conversion.created:
 * "qualified_call" with value and currency). NULL without a client id. Pure. */
char *adplat_ga4_body(const struct adplat_call *c, const char *type);
/* The Meta Conversions API body of a qualified call (a "Lead"). NULL when there is nothing to
 * match it by (no fbclid, no caller number). Pure. */
char *adplat_meta_body(const struct adplat_call *c);

/* Writes the messages of type for call (and its conversion cv, NULL for call.completed) to the
 * account's enabled ad-platform destinations that take it, on s inside the caller's
 * transaction. ERR_OK (also when none does) or the store's error (the caller rolls back). */
int adplat_emit(struct app *app, struct store *s, const struct st_call *call,
                const struct st_conversion *cv, const char *type, int64_t now);

/* How long a message to a destination of format is retried: GA4 drops events more than 72 hours
 * old (INTERFACES.md §6), so its messages stop then; others: otherwise_ms. Pure. */
#define ADPLAT_GA4_MAX_AGE_MS (72 * 3600LL * 1000)
int64_t adplat_retry_for_ms(const char *format, int64_t otherwise_ms);

/* How an ad platform's answer ends the message. */
enum adplat_verdict {
    ADPLAT_RETRY,    /* the outbox's usual rule (2xx delivered, else retried) */
    ADPLAT_DROP,     /* refused for good (a 4xx other than 408/429): give up, no retry */
    ADPLAT_REJECTED, /* the credential was refused: give up and disable the destination */
};
/* The verdict on r for format, with the reason in why (cap bytes). Pure. */
enum adplat_verdict adplat_verdict(const char *format, const struct outbound_result *r, char *why,
                                   size_t cap);

#endif
