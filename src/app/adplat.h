/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad-platform destinations of the outbox (docs/integrations.md "GA4", "Meta", "Google Ads"): a
 * GA4 Measurement Protocol stream (an event per call and per qualified call, for the visitor's
 * GA client id), a Meta Conversions API pixel (a "Lead" per qualified call, action_source
 * phone_call, fbc from the session's fbclid, the caller's number hashed) and a Google Ads
 * conversion action through the Data Manager API (IngestEvents: a click conversion per
 * qualified call whose session has a gclid, gbraid or wbraid, under the rule's Google Ads
 * filter, calls_gads_click_wanted). The bodies are built when the fact is written (adplat_emit,
 * in its transaction: retries send the same bytes) and hold no secret; the credential is added
 * to the URL when sending (adplat_request_url), or, for Google Ads, an OAuth2 access token
 * fetched with the destination's refresh token (app/outbox.c) authorises a batch of events.
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

/* Google Ads through the Data Manager API (INTERFACES.md §4.3; google.ads.datamanager.v1). */
#define ADPLAT_GADS_BASE "https://datamanager.googleapis.com"
#define ADPLAT_GADS_INGEST "/v1/events:ingest"
#define ADPLAT_GOOGLE_TOKEN_BASE "https://oauth2.googleapis.com"
#define ADPLAT_GOOGLE_TOKEN_PATH "/token"
#define ADPLAT_GADS_BATCH_MAX 2000 /* IngestEventsRequest.events: at most 2000 */
#define ADPLAT_GADS_TOKEN_MAX 2048 /* an access token (Google: up to 2048 bytes) */
#define ADPLAT_WHY_MAX 256

/* A google_ads destination's settings, kept in its url's fragment
 * (ADPLAT_GADS_BASE ADPLAT_GADS_INGEST "#customer=…&action=…[&login=…][&tz=…][&ad_user_data=…]
 * [&ad_personalization=…][&validate_only=true]"). */
struct adplat_gads_config {
    char customer_id[16];       /* the operating account: the Google Ads customer id, digits */
    char login_customer_id[16]; /* the manager account the credential signs in with ("" none) */
    char action_id[24];         /* the conversion action's id (productDestinationId), digits */
    char time_zone[64];         /* the zone eventTimestamp's offset is written in ("UTC") */
    char ad_user_data[16];      /* request-level consent: "", "granted", "denied" */
    char ad_personalization[16];
    bool validate_only; /* IngestEventsRequest.validateOnly: checked by Google, not imported */
};
/* The OAuth2 client and refresh token of a google_ads destination (its secret, one per line). */
struct adplat_gads_cred {
    char client_id[257];
    char client_secret[129];
    char refresh_token[513];
};

/* Whether format is an ad platform's (ga4, meta, google_ads). */
bool adplat_format(const char *format);
/* The event types a destination of format takes: GA4 call.completed and conversion.created,
 * Meta conversion.created. */
bool adplat_takes(const char *format, const char *type);
/* Checks the platform's public id (GA4 measurement id "G-…", Meta pixel id: digits) and the
 * credential, and writes the destination's URL (without the credential). ERR_INVALID (eb). */
int adplat_destination_url(const char *format, const char *id, const char *credential, char *url,
                           size_t cap, struct errbuf *eb);
/* Checks cfg (customer and action ids, zone, consent values) and writes the google_ads
 * destination's url. ERR_INVALID (eb names the field). */
int adplat_gads_destination_url(const struct adplat_gads_config *cfg, char *url, size_t cap,
                                struct errbuf *eb);
/* Reads a google_ads destination's url back into *cfg. false when it is not one. Pure. */
bool adplat_gads_config_parse(const char *url, struct adplat_gads_config *cfg);
/* Checks the OAuth client id, client secret and refresh token and packs them into out (the
 * destination's secret, cap >= STORE_DEST_SECRET_CLEAR_MAX). ERR_INVALID (eb names the field). */
int adplat_gads_credential(const char *client_id, const char *client_secret,
                           const char *refresh_token, char *out, size_t cap, struct errbuf *eb);
/* Unpacks a google_ads destination's secret. false when it is not three lines. Pure. */
bool adplat_gads_cred_parse(const char *secret, struct adplat_gads_cred *c);
/* The token endpoint's URL and the refresh-token grant's form body for c (free). */
char *adplat_gads_token_request(const struct adplat_gads_cred *c, char *url, size_t cap);
/* The IngestEvents URL (the test binary's base URL when serve --test-provider-api
 * google_ads=URL was given). */
void adplat_gads_ingest_url(char *url, size_t cap);
/* The IngestEvents request for cfg around the n events' bodies (each as adplat_emit wrote it).
 * NULL when a body is not JSON. Returns a new string (free). Pure. */
char *adplat_gads_request_body(const struct adplat_gads_config *cfg, const char *const *events,
                               size_t n);

/* Checks a credential (API secret, access token; google_ads: adplat_gads_credential's packed
 * form) for format. ERR_INVALID (eb). */
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
    const struct st_conversion *cv;      /* NULL for call.completed */
    const char *ga_client_id;            /* "" when the session has none */
    const char *ga_session_id;           /* "" unknown */
    const char *fbclid;                  /* "" none */
    int64_t fbclid_at;                   /* when the session saw it (ms) */
    const char *gclid, *gbraid, *wbraid; /* the session's Google click ids ("" none) */
    int64_t click_at;                    /* when the session began (its click), 0 none */
};

/* The GA4 Measurement Protocol body for type (call.completed: "phone_call"; conversion.created:
 * "qualified_call" with value and currency). NULL without a client id. Pure. */
char *adplat_ga4_body(const struct adplat_call *c, const char *type);
/* The Meta Conversions API body of a qualified call (a "Lead"). NULL when there is nothing to
 * match it by (no fbclid, no caller number). Pure. */
char *adplat_meta_body(const struct adplat_call *c);

/* The Data Manager API Event of a qualified call for a google_ads destination: the first valid
 * of gclid, gbraid, wbraid (gads_pick_id), eventTimestamp with the offset of zone (NULL: UTC)
 * at the conversion, its value (the rule's default value when it has none) and currency,
 * transactionId the call's id, eventSource PHONE. NULL when the call has no valid click id or
 * the rule does not send it (calls_gads_click_wanted under cs). Pure. */
struct calls_settings;
struct zone;
char *adplat_gads_event(const struct adplat_call *c, const struct calls_settings *cs,
                        const struct zone *zone);

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

/* The token endpoint's answer r: ADPLAT_RETRY (token and its lifetime out: *expires_in_s; or,
 * when token is left "", a transient failure: why), ADPLAT_REJECTED (the refresh token or client
 * was refused: invalid_grant, invalid_client, unauthorized_client, any other 4xx: why).
 * Pure. */
enum adplat_verdict adplat_gads_token_answer(const struct outbound_result *r, char *token,
                                             size_t cap, int64_t *expires_in_s, char *why,
                                             size_t why_cap);

/* What an IngestEvents answer means for one event of the batch. */
enum adplat_gads_outcome {
    ADPLAT_GADS_DELIVERED, /* 2xx */
    ADPLAT_GADS_RETRY,     /* transient (5xx, 429, no answer): the outbox's backoff */
    ADPLAT_GADS_RETRY_NOW, /* not processed because another event of the batch was refused
                              (the API fails a request fast): sent again at once */
    ADPLAT_GADS_DROP,      /* refused for good (this event's field, or the conversion action) */
    ADPLAT_GADS_REAUTH,    /* 401: the access token is refused: fetch a new one and send again */
    ADPLAT_GADS_REJECTED,  /* the credential has no access (403, or 401 with a fresh token) */
};
/* The outcome of answer r for each of the batch's n events (out[i], why[i]; detail[i]: the
 * error's part about event i, for the delivery log, may be ""). Pure. */
void adplat_gads_outcomes(const struct outbound_result *r, size_t n, enum adplat_gads_outcome *out,
                          char (*why)[ADPLAT_WHY_MAX], char (*detail)[ADPLAT_WHY_MAX]);

#endif
