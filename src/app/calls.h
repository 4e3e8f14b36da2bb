/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The call service: what happens to an inbound call between the provider's webhook and the
 * store. Finds who owns the called number, attributes the call (DESIGN.md "Attribution
 * rules": exact/shared/late from the number's lease history through core/attrib, source
 * numbers, a pool's fallback number, repeat callers), stores it, merges the status callbacks
 * that follow, runs the account's conversion rules (core/convert) exactly once, publishes the
 * stream events, and builds the API's CALL object.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage, except
 * calls_json, which returns a new reference.
 * THREADING: every function may be called from any HTTP worker thread at once; writes use the
 * calling thread's store connection (no group commit: a webhook must answer in milliseconds). */
#ifndef OPENDNI_APP_CALLS_H
#define OPENDNI_APP_CALLS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "core/attrib.h"
#include "core/callstatus.h"
#include "core/convert.h"
#include "core/score.h"
#include "app/records.h"

struct app;

#define CALLS_PROVIDER_PBX "pbx" /* GET /v1/telephony/lookup (providers name themselves) */
#define CALLS_MAX_VALUES 16      /* per channel/campaign conversion values */
#define CALLS_MAX_CANDIDATES ATTRIB_HOLDERS_MAX /* holders scored per call (live ones first) */

/* The number a call was made to and who owns it. */
struct calls_target {
    int64_t account_id;      /* 0: nobody owns the number */
    struct st_number number; /* number.id 0 when `to` is only a pool's fallback number */
    struct st_pool pool;     /* pool.id 0 for a source number */
    bool fallback;           /* `to` is pool's fallback number */
};

/* Finds who owns `to` (E.164): a tracking number (pool or source), else a pool's fallback
 * number. Returns ERR_OK with *t filled, ERR_NOTFOUND (t->account_id 0) or ERR_BACKEND. */
int calls_resolve(struct app *app, const char *to, struct calls_target *t);

/* An account's call settings, parsed from accounts.settings:
 * {"record_calls":false,"record_notice":"…","attribution_window":2592000,
 *  "conversion":{"min_duration":60,"first_time_only":false,"answered_only":true,"value":0,
 *                "name":"Phone call","currency":"USD",
 *                "values":[{"channel":"paid_search","campaign":null,"value":150}]}}
 * Everything is optional; absent keys keep the defaults. rules.values points into this
 * struct: do not copy it by value. */
#define CALLS_MAX_PROVIDER_COSTS 8

struct calls_settings {
    struct convert_rules rules;
    struct convert_value values[CALLS_MAX_VALUES];
    char value_channel[CALLS_MAX_VALUES][32];
    char value_campaign[CALLS_MAX_VALUES][STORE_TEXT_MAX];
    char name[STORE_NAME_MAX];
    char currency[8];
    char ivr_digits[17]; /* "conversion.ivr_digits": "" = any call */
    /* "conversion.location_id": the location the rule belongs to ("" = none); a call it qualifies
     * that belongs to no location otherwise is counted at it */
    char location[STORE_ID_MAX];
    bool record;
    char notice[256];
    int64_t window_ms; /* attribution window */
    /* "lease_policy": "new" scores a call on a pool number with the likelihood model over its
     * past holders (core/attrib attrib_decide_model, issue 20); "old" (the default) with the
     * rules exact / shared / late (attrib_decide). */
    bool policy_new;
    /* What the rule sends to Google Ads ("conversion.google_ads"): conversions of calls
     * attributed by one of these methods (bit 1 << enum attrib_method; default exact, shared
     * and source: late and repeat only if asked) with at least this confidence (default 0.8),
     * under this conversion action name ("" = the rule's name). */
    unsigned gads_methods;
    double gads_min_confidence;
    char gads_name[STORE_NAME_MAX];
    struct score_rules score; /* settings "scoring" (core/score.h) */
    /* settings "costs": what tracking numbers cost, minor units of `currency`; per provider
     * (provider[i]) overriding the account-wide default (number_monthly, per_minute). */
    int64_t number_monthly, per_minute;
    size_t n_provider_costs;
    struct {
        char provider[16];
        int64_t number_monthly, per_minute;
    } provider_costs[CALLS_MAX_PROVIDER_COSTS];
};

#define CALLS_GADS_MIN_CONFIDENCE 0.8

/* Whether a conversion of a call attributed by method (attrib_method_name) with confidence goes
 * to Google Ads under cs's rule. Pure. */
bool calls_gads_exports(const struct calls_settings *cs, const char *method, double confidence);

/* Google Ads takes clicks up to 90 days old. */
#define CALLS_GADS_CLICK_MAX_AGE_MS (90 * 86400LL * 1000)
/* Whether a conversion at `at` of a call attributed by method with confidence to a session whose
 * click was at click_at (0: none) goes to Google Ads under cs's rule: calls_gads_exports, and the
 * click at most CALLS_GADS_CLICK_MAX_AGE_MS older than the conversion. The CSV export and the
 * Data Manager upload (app/adplat.c) both ask this. Pure. */
bool calls_gads_click_wanted(const struct calls_settings *cs, const char *method, double confidence,
                             int64_t click_at, int64_t at);

/* The costs of a call's number under cs: per provider when set, else the account's. */
void calls_number_costs(const struct calls_settings *cs, const char *provider, int64_t *monthly,
                        int64_t *per_minute);

/* Parses settings JSON ("" or NULL = defaults). Returns ERR_OK, or ERR_INVALID with eb naming
 * the key; on error *out holds the defaults (a bad setting never blocks a call). */
int calls_settings_parse(const char *json, struct calls_settings *out, struct errbuf *eb);

/* A new inbound call as the provider reports it. */
struct calls_inbound {
    const char *provider;         /* CALLS_PROVIDER_* */
    const char *provider_call_id; /* CallSid, unique per provider */
    const char *to;
    const char *from;
    int64_t at; /* when the webhook arrived */
};

/* What to answer the provider. */
struct calls_answer {
    char forward_to[STORE_E164_MAX]; /* "" = reject politely: nobody owns the number */
    bool record;
    char notice[256]; /* spoken before a recorded call */
    bool duplicate;   /* the provider retried: the call was already stored */
};

/* Takes a verified inbound call for acct (the owner of t, or the account whose signature
 * matched for a number nobody owns): attributes it, stores it (or finds the earlier copy of a
 * retried webhook) and publishes call.started. *ans is always filled, whatever fails: the
 * call must be forwarded even when the store is down (DESIGN.md). On failure the error is
 * logged and counted in opendni_webhook_failures_total.
 * Returns ERR_OK (call stored or found, *call filled), ERR_CONFLICT (the provider call id is
 * another account's: nothing stored, *call zeroed) or the failure's code. */
int calls_take(struct app *app, const struct st_account *acct, const struct calls_target *t,
               const struct calls_inbound *in, struct st_call *call, struct calls_answer *ans);

/* What to answer the provider for a call to t of acct: forward to the number's destination
 * (else its pool's, else the pool's target; "" for a number nobody owns), recording as the
 * account's settings say. Pure. */
void calls_answer_for(const struct st_account *acct, const struct calls_target *t,
                      struct calls_answer *ans);
/* Where a call to t goes (the first part of calls_answer_for). Pure. */
void calls_forward_of(const struct calls_target *t, char out[STORE_E164_MAX]);

/* calls_take in three steps, so the write can join the group-commit writer's batch
 * (calls_insert also writes the call.started outbox messages in that transaction):
 * calls_prepare does everything before the insert and returns CALLS_TO_STORE when *call must
 * be inserted (any other value is calls_take's result: a retry found, or a failure with *ans
 * still forwarding); calls_insert writes it (on the store connection of the calling thread,
 * inside the caller's transaction); calls_inserted takes the insert's result and finishes
 * (a CallSid that raced in is looked up, failures are counted); after a successful insert,
 * calls_publish_inserted sends call.started to the stream (from any thread but the writer's). */
#define CALLS_TO_STORE 1
int calls_prepare(struct app *app, const struct st_account *acct, const struct calls_target *t,
                  const struct calls_inbound *in, struct st_call *call, struct calls_answer *ans);
int calls_insert(struct app *app, struct store *s, struct st_call *call);
int calls_inserted(struct app *app, const struct st_account *acct, const struct calls_inbound *in,
                   int rc, struct st_call *call, struct calls_answer *ans);
void calls_publish_inserted(struct app *app, const struct st_call *call);

/* The TwiML answer for a stored call (a provider retry answers the same). */
void calls_answer_of(const struct st_call *call, const struct calls_settings *cs,
                     struct calls_answer *ans);

/* A provider's report on one leg of a call: core/callstatus.h struct call_report. */

/* Merges one report into c (pure): a report older than the leg's last SequenceNumber, or
 * a non-final status after a final one, is ignored. Then recomputes the effective status
 * (the forwarded leg's outcome once known: completed/answered -> completed, else busy,
 * no-answer…; otherwise the caller's leg) and duration (talk time: the forwarded leg's
 * duration when reported, else the caller's; 0 for a call that did not connect), and sets
 * ended_at = now when it first becomes final. Returns true if c changed. */
bool calls_merge_status(struct st_call *c, const struct call_report *u, int64_t now);

/* One status report being applied: inputs, then what calls_update_apply found. */
struct calls_update_state {
    int64_t account_id; /* the call's */
    int64_t call_id;
    struct call_report status;
    int64_t now;
    struct st_call call;     /* out: the call after the update */
    bool changed;            /* out */
    bool completed;          /* out: this report made the call final (call.completed is due) */
    struct st_conversion cv; /* out: cv.id != 0 when a conversion was recorded */
};
/* The writes of calls_update inside the caller's transaction (e.g. the writer's batch),
 * with the outbox messages they cause (call.completed once, when the call first becomes final;
 * conversion.created). */
int calls_update_apply(struct app *app, struct store *s, struct calls_update_state *st);
/* Finishes after the commit (rc = the apply's or the commit's result): counts failures.
 * Returns rc. Then, when it returned ERR_OK, calls_publish_updated sends call.completed /
 * conversion.created to the stream (from any thread but the writer's). */
int calls_updated(struct app *app, int rc, struct calls_update_state *st);
void calls_publish_updated(struct app *app, const struct calls_update_state *st);

/* Applies a report to stored call call_id in one transaction: merge, update, and when the
 * call is final and qualifies under the account's rules, a conversion (at most one per call).
 * Publishes call.completed / conversion.created. out (may be NULL): the call after the update.
 * Returns ERR_OK, ERR_NOTFOUND, or ERR_BACKEND (also when the test binary's fault call_store
 * is on; logged and counted). */
int calls_update(struct app *app, int64_t account_id, int64_t call_id, const struct call_report *u,
                 int64_t now, struct st_call *out);

/* {"value":75,"reasons":["answered +25",…]} */
json_t *calls_score_json(const struct score_result *r);

/* The API's CALL object for c (API.md), plus attribution.reason, attribution.runner_up
 * ({session_id, confidence} or null) and attribution.first_touch (session id or null),
 * outcome (app/outcomes.h: tags, notes, lead status, revenue, billable) and score
 * (calls_score). Reads the sessions,
 * the conversion and the outcome from the store. Returns a new reference (NULL only on
 * allocation failure). Safe from any thread. */
json_t *calls_json(struct app *app, const struct st_call *c);

/* Whether no earlier call of the account came from c's caller: 1 yes, 0 no, -1 unknown (the
 * caller is not a phone number, or the store cannot answer). One indexed store read. */
int calls_first_time(struct app *app, const struct st_call *c);

/* Masks, in place, what a role below analyst may not see in a CALL object (calls_json) or a
 * conversion event: the caller number keeps its country prefix and last four digits
 * ("+1••••0111"), and conversion values and outcome revenue become null (DESIGN.md "Roles":
 * money figures analyst+). NULL ok. */
void calls_mask_json(json_t *v);
/* The data of a stream event about stored call call_id of account_id, as this node would
 * have published it (another node's event: app/fanout.h): the CALL object for call.started
 * and call.completed, the conversion for conversion.created. A new reference; NULL when the
 * call (of that account) or its conversion is not found or the store cannot answer. */
json_t *calls_event_json(struct app *app, const char *event, int64_t account_id, int64_t call_id);

/* ==== webhooks through the group-commit writer ================================================
 * A verified webhook's write joins the writer's batch (one fsync for many calls and visits):
 * the transport answers the provider first (calls_prepare filled the answer), then hands the
 * write over and finishes in done, on the writer thread. */

struct calls_pending;

/* Called once on the writer thread after the commit or its failure. It owns p: it must end
 * with calls_pending_free(p) or calls_pending_publish(p) (the latter from another thread). */
typedef void (*calls_done_fn)(void *arg, struct calls_pending *p);

/* A new call to store: what calls_prepare returned CALLS_TO_STORE for (copied). */
struct calls_pending *calls_pending_voice(struct app *app, const struct st_account *acct,
                                          const struct calls_inbound *in,
                                          const struct st_call *call,
                                          const struct calls_answer *ans);
/* A status report on stored call call_id (copied). */
struct calls_pending *calls_pending_update(struct app *app, int64_t account_id, int64_t call_id,
                                           const struct call_report *u, int64_t now);
/* Before calls_pending_commit: the voice call goes to number (E.164) instead, as a routing
 * step decided after p was made (a ping-post auction's winner). */
void calls_pending_forward(struct calls_pending *p, const char *number);
/* Queues p on the writer; done(arg, p) follows exactly once. */
void calls_pending_commit(struct calls_pending *p, calls_done_fn done, void *arg);
/* In done: calls_inserted's result (voice) or calls_updated's (status report). */
int calls_pending_result(const struct calls_pending *p);
/* In done (voice): the provider call id raced in from another request; the answer is now
 * that stored call's (calls_pending_answer). */
bool calls_pending_raced(const struct calls_pending *p);
const struct calls_answer *calls_pending_answer(const struct calls_pending *p);
/* true when stream events are due (a stored change and someone listening). */
bool calls_pending_events(const struct calls_pending *p);
/* Publishes the stream events of p and frees it. From any thread but the writer's (formatting
 * and waking listeners must not hold up the single writer). */
void calls_pending_publish(struct calls_pending *p);
void calls_pending_free(struct calls_pending *p);

/* ==== reads of the webhook path ============================================================== */

/* The account with this row id. ERR_NOTFOUND, ERR_BACKEND. */
int calls_account(struct app *app, int64_t account_id, struct st_account *a);
/* The account's credentials for a telephony provider (store_provider_cred_get). */
int calls_provider_cred_get(struct app *app, int64_t account_id, const char *provider,
                            struct st_provider_cred *c);
/* The credentials of provider whose account id is account_sid (NULL: every account holding
 * one), for finding the signer of a webhook to a number nobody owns (store_provider_cred_find). */
int calls_provider_cred_find(struct app *app, const char *provider, const char *account_sid,
                             store_provider_cred_fn fn, void *ctx);
/* The stored call with this provider call id, any account. ERR_NOTFOUND if none. */
int calls_by_provider(struct app *app, const char *provider, const char *provider_call_id,
                      struct st_call *c);
/* One read snapshot for a webhook's reads (cheaper than one per statement). Returns whether it
 * began; pass that to calls_read_end. */
bool calls_read_begin(struct app *app);
void calls_read_end(struct app *app, bool began);

#endif
