/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Provider webhooks (API.md "Telephony", normative for Twilio) and the PBX lookup:
 * POST /v1/telephony/<provider>/voice, /status, /dial, /route and /recording for each provider of
 * telephony/provider.h (twilio, signalwire, telnyx), GET /v1/telephony/lookup. The provider
 * checks its signature headers and parses the webhook -> find the account -> the provider
 * verifies the signature with that account's secret for it (account_providers) -> hand the
 * call to the call service (calls.c) -> the provider writes the answer (TwiML, TeXML). An
 * unsigned or badly signed request gets 403 and changes nothing; a verified call is always
 * forwarded, whatever fails after the check. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <strings.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "app/app.h"
#include "app/pnl.h"
#include "app/calls.h"
#include "app/metrics.h"
#include "app/offline.h"
#include "app/ratelimit.h"
#include "app/recordings.h"
#include "app/routing.h"
#include "base/json.h"
#include "telephony/provider.h"

#define SIG_FAILURES "opendni_webhook_signature_failures_total"
#define SIG_FAILURES_HELP "Provider webhooks refused for a missing or invalid signature."
#define SIG_LIMITED "opendni_webhook_signature_limited_total"
#define SIG_LIMITED_HELP                                                                           \
    "Provider webhooks refused with 429: their address sent too many bad signatures."
#define URL_MAX 4096

/* One parsed provider request. */
struct hook {
    const char *provider; /* tp->name: calls.provider */
    const struct tel_provider *tp;
    struct tel_request rq;
    struct tel_hook th;
    char url[URL_MAX]; /* what Twilio-style providers sign: public URL + URI as received */
};

/* ---- parsing and signatures ---- */

/* Every refused signature spends one of the client address's tokens
 * (--rate-limit-bad-signatures a minute); limited() refuses the address once they ran out. */
static int forbidden(struct http_req *req, const char *why)
{
    char addr[64];
    http_client_of(req, addr, sizeof(addr));
    ratelimit_take(req->app->bad_signature_limit, addr, time_now_ms(), NULL);
    metrics_count(req->app->metrics, SIG_FAILURES, SIG_FAILURES_HELP, 1);
    log_warn("telephony", "req=%" PRIu64 " refused: %s", req->id, why);
    return errf(&req->eb, ERR_FORBIDDEN, NULL, "%s", why);
}

/* ERR_LIMITED (429 with Retry-After) when the client's address sent too many bad signatures
 * this minute: refused before any signature is computed, so a flood of forgeries costs one
 * table lookup each. */
static int limited(struct http_req *req)
{
    char addr[64];
    http_client_of(req, addr, sizeof(addr));
    if (!ratelimit_blocked(req->app->bad_signature_limit, addr, time_now_ms(), &req->retry_after_s))
        return ERR_OK;
    metrics_count(req->app->metrics, SIG_LIMITED, SIG_LIMITED_HELP, 1);
    log_debug("telephony", "req=%" PRIu64 " refused: too many bad signatures", req->id);
    return errf(&req->eb, ERR_LIMITED, NULL,
                "too many webhooks with a bad signature from this address; retry later");
}

/* A refused signature, logged with the URL it was checked against (--public-url + the URI as
 * received; escaped: the URI is the sender's): a proxy or a --public-url that does not match
 * what the provider calls is the usual cause, and this line shows it. */
static int bad_signature(struct http_req *req, const struct hook *h)
{
    char addr[64];
    http_client_of(req, addr, sizeof(addr));
    ratelimit_take(req->app->bad_signature_limit, addr, time_now_ms(), NULL);
    metrics_count(req->app->metrics, SIG_FAILURES, SIG_FAILURES_HELP, 1);
    if (log_level >= LOG_WARN) {
        char esc[URL_MAX * 2];
        log_warn("telephony", "req=%" PRIu64 " refused: invalid %s webhook signature for url '%s'",
                 req->id, h->provider, log_escape(h->url, esc, sizeof(esc)));
    }
    return errf(&req->eb, ERR_FORBIDDEN, NULL, "invalid webhook signature");
}

static const char *req_header(void *ctx, const char *name)
{
    return http_req_header(ctx, name);
}

/* Picks the provider of /v1/telephony/<name>/<kind> (params[0] is <name>), checks its
 * signature headers, then parses the body. Release with hook_end, whatever this returns. */
static int hook_begin(struct http_req *req, enum tel_hook_kind kind, struct hook *h)
{
    memset(h, 0, sizeof(*h));
    h->rq = (struct tel_request){.url = h->url,
                                 .body = req->body.data,
                                 .len = req->body.len,
                                 .header = req_header,
                                 .ctx = req,
                                 .now_s = time_now_ms() / 1000};
    h->tp = tel_provider_for_route(req->params[0], &h->rq);
    if (!h->tp || !h->tp->paths[kind])
        return errf(&req->eb, ERR_NOTFOUND, NULL, "no route for %s %s", req->method, req->path);
    h->provider = h->tp->name;
    req->route = h->tp->paths[kind]; /* metrics and logs label each provider's route */
    if (limited(req))
        return ERR_LIMITED;
    struct errbuf eb = {{0}, NULL};
    if (h->tp->check(&h->rq, &eb))
        return forbidden(req, eb.msg);
    int n = snprintf(h->url, sizeof(h->url), "%s%s", req->app->public_url, req->raw_uri);
    if (n < 0 || (size_t)n >= sizeof(h->url))
        return errf(&req->eb, ERR_TOOBIG, NULL, "request URI too long");
    return h->tp->parse(&h->rq, &h->th, &req->eb);
}

static void hook_end(struct hook *h)
{
    tel_hook_release(&h->th);
}

/* Whether the account signed the request with its secret for the request's provider.
 * ERR_OK, ERR_FORBIDDEN (counted and logged), or ERR_BACKEND. */
static int check_signed_by(struct http_req *req, const struct hook *h, int64_t account_id)
{
    struct st_provider_cred c;
    int rc = calls_provider_cred_get(req->app, account_id, h->provider, &c);
    if (rc && rc != ERR_NOTFOUND)
        return errf(&req->eb, ERR_BACKEND, NULL, "cannot read the account's credentials");
    if (rc == ERR_OK && h->tp->verify(&h->rq, &h->th, c.secret)) {
        offline_note_cred(req->app->offline, &c);
        return ERR_OK;
    }
    return bad_signature(req, h);
}

struct signer {
    const struct hook *h;
    int64_t account_id; /* out: 0 = none signed */
};

static int try_cred(void *arg, const struct st_provider_cred *c)
{
    struct signer *sg = arg;
    if (!sg->h->tp->verify(&sg->h->rq, &sg->h->th, c->secret))
        return 0;
    sg->account_id = c->account_id;
    return 1;
}

/* For a number nobody owns: the account whose stored account id for this provider is the
 * request's AccountSid (API.md), never every account's; then, for a provider that keeps its
 * old behaviour (signer_fallback_unkeyed), the accounts that stored no account id for it
 * ("" asks the store for exactly those). A provider that stores no account id at all tries
 * every account holding a secret for it. ERR_FORBIDDEN if none signed. */
static int find_signer(struct http_req *req, const struct hook *h, struct st_account *out)
{
    struct signer sg = {h, 0};
    const char *sid = h->th.wh.account_sid;
    int rc = ERR_OK;
    if (!h->tp->signer_by_account_sid)
        rc = calls_provider_cred_find(req->app, h->provider, NULL, try_cred, &sg);
    else if (sid && *sid)
        rc = calls_provider_cred_find(req->app, h->provider, sid, try_cred, &sg);
    if (rc == ERR_OK && !sg.account_id && h->tp->signer_by_account_sid &&
        h->tp->signer_fallback_unkeyed)
        rc = calls_provider_cred_find(req->app, h->provider, "", try_cred, &sg);
    if (rc == ERR_OK && sg.account_id)
        rc = calls_account(req->app, sg.account_id, out);
    if (rc)
        return errf(&req->eb, ERR_BACKEND, NULL, "cannot read the accounts");
    return sg.account_id ? ERR_OK : bad_signature(req, h);
}

/* While the store cannot answer (app/offline.h): the owner of `to` as the directory last knew
 * it, verified with its credentials as last known; else (a callback whose To is the business
 * line, a number the directory has not heard of) the account whose stored credentials signed
 * it, as find_signer does. ERR_OK (*t zeroed but for account_id when `to` is unknown);
 * ERR_UNAVAILABLE (503: the provider retries or uses its fallback URL) when nothing known
 * signed it. */
static int verify_offline(struct http_req *req, const struct hook *h, const char *to,
                          struct calls_target *t, struct st_account *acct)
{
    struct offline *o = req->app->offline;
    struct st_provider_cred c;
    if (offline_lookup(o, to, t, acct) == ERR_OK) {
        if (offline_cred_get(o, acct->id, h->provider, &c) == ERR_OK &&
            h->tp->verify(&h->rq, &h->th, c.secret))
            return ERR_OK;
        /* Not 403: the secret may have changed since the directory last heard (a rotation
         * just before the outage); 503 lets the provider retry or use its fallback URL. */
        log_warn("telephony", "req=%" PRIu64 " signature not verified by the directory's copy",
                 req->id);
        return errf(&req->eb, ERR_UNAVAILABLE, NULL,
                    "the store is unavailable and the signature cannot be verified now");
    }
    struct signer sg = {h, 0};
    const char *sid = h->th.wh.account_sid;
    if (!h->tp->signer_by_account_sid)
        offline_cred_find(o, h->provider, NULL, try_cred, &sg);
    else if (sid && *sid)
        offline_cred_find(o, h->provider, sid, try_cred, &sg);
    if (!sg.account_id || offline_account(o, sg.account_id, acct) != ERR_OK)
        return errf(&req->eb, ERR_UNAVAILABLE, NULL,
                    "the store is unavailable and this node does not know the number");
    memset(t, 0, sizeof(*t));
    t->account_id = acct->id;
    return ERR_OK;
}

/* The account owning the called number (verified), or a signer for a number nobody owns.
 * *offline is set when the store could not answer and the directory did (the webhook then goes
 * to the spool). */
static int verify_for_to(struct http_req *req, const struct hook *h, const char *to,
                         struct calls_target *t, struct st_account *acct, bool *offline)
{
    *offline = false;
    int rc = calls_resolve(req->app, to, t);
    if (rc == ERR_NOTFOUND)
        return find_signer(req, h, acct);
    if (rc == ERR_OK)
        rc = calls_account(req->app, t->account_id, acct);
    if (rc == ERR_OK) {
        rc = check_signed_by(req, h, acct->id);
        if (rc == ERR_OK)
            offline_note(req->app->offline, to, t, acct);
        if (rc != ERR_BACKEND)
            return rc;
    }
    req->eb.msg[0] = '\0';
    rc = verify_offline(req, h, to, t, acct);
    *offline = rc == ERR_OK;
    return rc;
}

/* To in E.164 when it parses (providers send E.164; a PBX may not), else as sent. */
static void normalize_party(const char *in, char *out, size_t cap)
{
    char e164[PHONE_E164_MAX];
    if (in && phone_parse(in, e164, NULL) == ERR_OK)
        snprintf(out, cap, "%s", e164);
    else
        snprintf(out, cap, "%s", in ? in : "");
}

/* ---- answers ---- */

/* The provider's answer for a stored or prepared call: forward it (passing the caller's number
 * through when it is E.164), or refuse politely when nobody owns the number. */
static int answer_twiml(struct http_req *req, struct http_resp *resp,
                        const struct calls_answer *ans, const char *from, const char *provider)
{
    const struct tel_provider *tp = tel_provider_by_name(provider);
    if (!tp) /* cannot happen: provider comes from the table */
        return errf(&req->eb, ERR_INVALID, NULL, "unknown provider '%s'", provider);
    struct tel_answer a = {.kind = ans->forward_to[0] ? TEL_ANSWER_DIAL : TEL_ANSWER_REJECT,
                           .base_url = req->app->public_url,
                           .forward_to = ans->forward_to,
                           .record = ans->record,
                           .notice = ans->notice[0] ? ans->notice : NULL};
    char caller[PHONE_E164_MAX];
    if (from && phone_parse(from, caller, NULL) == ERR_OK && strcmp(caller, from) == 0)
        a.caller_id = from; /* pass the caller's number through to the business line */
    resp->content_type = tp->content_type;
    return tp->answer(&resp->body, &a);
}

/* The provider's empty answer: the <Dial action> of a call we have nothing to do for. */
static int answer_empty(struct http_resp *resp, const struct hook *h)
{
    struct tel_answer a = {.kind = TEL_ANSWER_EMPTY};
    resp->content_type = h->tp->content_type;
    return h->tp->answer(&resp->body, &a);
}

/* ---- deferred writes: calls join the group-commit writer's batch ---- */

/* A webhook whose write waits for the writer (app/calls.h calls_pending). */
struct pending {
    struct http_req *req;
    struct http_resp *resp;
    char from[STORE_PARTY_MAX];
    char provider[16];
    const struct tel_provider *tp; /* status reports: whose empty answer a <Dial action> gets */
    bool dial;                     /* a <Dial action> request: answer the provider's markup */
    bool answered;                 /* the voice answer was written before the commit */
    /* answered after a ping-post auction (or a retry that awaited it): a CallSid that raced in
     * keeps that answer, the routing record's, not the stored call's plain forward */
    bool auctioned;
};

static void publish_events(void *arg)
{
    calls_pending_publish(arg);
}

/* After the commit, on the writer thread: stream events go out from the HTTP thread once the
 * provider has its answer (http_after), so the single writer is never held up by them. */
static void finish(struct pending *pd, struct calls_pending *p)
{
    struct http_req *req = pd->req;
    if (calls_pending_events(p))
        http_after(req, publish_events, p);
    else
        calls_pending_free(p);
    free(pd);
    http_resume(req); /* req and resp may be gone after this */
}

static void voice_done(void *arg, struct calls_pending *p)
{
    struct pending *pd = arg;
    if ((calls_pending_raced(p) && !pd->auctioned) || !pd->answered) { /* raced in: its answer */
        buf_reset(&pd->resp->body);
        if (answer_twiml(pd->req, pd->resp, calls_pending_answer(p), pd->from, pd->provider) !=
            ERR_OK)
            http_error_resp(pd->req, pd->resp, ERR_NOMEM);
    }
    finish(pd, p);
}

static void update_done(void *arg, struct calls_pending *p)
{
    struct pending *pd = arg;
    int rc = calls_pending_result(p);
    struct http_resp *resp = pd->resp;
    if (pd->dial) { /* the call continues either way: end it */
        struct tel_answer a = {.kind = TEL_ANSWER_EMPTY};
        resp->content_type = pd->tp->content_type;
        pd->tp->answer(&resp->body, &a);
    } else if (rc == ERR_OK || rc == ERR_NOTFOUND) {
        resp->status = 204;
    } else {
        errf(&pd->req->eb, rc, NULL, "cannot update the call; retry later");
        http_error_resp(pd->req, resp, rc);
    }
    finish(pd, p);
}

struct submit {
    struct calls_pending *p;
    struct pending *pd;
    bool voice;
};

static void submit_job(void *arg)
{
    struct submit sb = *(struct submit *)arg;
    free(arg);
    calls_pending_commit(sb.p, sb.voice ? voice_done : update_done, sb.pd);
}

/* Suspends the request until p is committed. */
static void defer(struct http_req *req, struct calls_pending *p, struct pending *pd, bool voice)
{
    struct submit *sb = xcalloc(1, sizeof(*sb));
    *sb = (struct submit){p, pd, voice};
    http_defer(req, submit_job, sb);
}

static struct pending *pending_new(struct http_req *req, struct http_resp *resp)
{
    struct pending *pd = xcalloc(1, sizeof(*pd));
    pd->req = req;
    pd->resp = resp;
    return pd;
}

/* Defers a status report on call_id to the writer. */
static void defer_update(struct http_req *req, struct http_resp *resp, const struct hook *h,
                         int64_t account_id, int64_t call_id, const struct call_report *u,
                         bool dial)
{
    struct pending *pd = pending_new(req, resp);
    pd->tp = h->tp;
    pd->dial = dial;
    defer(req, calls_pending_update(req->app, account_id, call_id, u, time_now_ms()), pd, false);
}

/* ---- routing plans (app/routing.h) ---- */

/* The provider's answer for a routing instruction, with the caller's number passed through
 * when it is E.164. */
static int answer_route(struct http_req *req, struct http_resp *resp, const struct hook *h,
                        struct routing_answer *ra)
{
    char caller[PHONE_E164_MAX];
    const char *from = h->th.wh.from;
    ra->ans.base_url = req->app->public_url;
    if (ra->ans.kind == TEL_ANSWER_DIAL && from && phone_parse(from, caller, NULL) == ERR_OK &&
        strcmp(caller, from) == 0)
        ra->ans.caller_id = from;
    resp->content_type = h->tp->content_type;
    return h->tp->answer(&resp->body, &ra->ans);
}

/* ERR_NOTFOUND when the call has no plan (answer as before); else the plan's answer, and the
 * stored call shows the number it dials. A plan whose first step is a ping-post auction leaves
 * the answer unwritten and hands its routing answer out in *auction (answer_auction). */
static int routed_voice(struct http_req *req, struct http_resp *resp, const struct hook *h,
                        const struct st_account *acct, const struct calls_target *t,
                        const struct st_call *call, struct calls_answer *ans,
                        struct routing_answer **auction)
{
    *auction = NULL;
    if (!t->account_id || !ans->forward_to[0])
        return ERR_NOTFOUND;
    struct routing_call rc = {.provider = h->provider,
                              .call_sid = h->th.wh.call_sid,
                              .from = h->th.wh.from,
                              .verstat = form_get(&h->th.form, "StirVerstat"),
                              .source = call->source[0] ? call->source : NULL,
                              .campaign = call->campaign[0] ? call->campaign : NULL,
                              .session_id = call->session_id,
                              /* NULL: the call was not prepared (its location not decided) */
                              .location = call->provider[0] ? call->location : NULL,
                              .now = time_now_ms()};
    struct routing_answer *ra = xcalloc(1, sizeof(*ra));
    int r = routing_voice(req->app, acct, t, &rc, ra);
    if (r == ERR_OK && (ra->auction || ra->joining)) { /* an auction, or a retry awaiting it */
        *auction = ra;
        return ERR_OK;
    }
    if (r == ERR_OK) {
        if (ra->ans.kind == TEL_ANSWER_DIAL && ra->number[0] == '+')
            snprintf(ans->forward_to, sizeof(ans->forward_to), "%.16s", ra->number);
        r = answer_route(req, resp, h, ra);
    }
    free(ra);
    return r;
}

/* ---- ping-post auctions: the provider's request waits suspended (app/auction.h) ---- */

struct auction_wait {
    struct http_req *req;
    struct http_resp *resp;
    struct routing_answer *ra;
    const struct tel_provider *tp;
    char from[STORE_PARTY_MAX];
    struct calls_pending *p; /* the voice webhook's call, written once answered; NULL: none */
};

/* On the auction thread, once the routing step after the auction is decided and recorded: the
 * answer, then the call's write (the writer resumes the request), or the resume itself. */
static void auction_answered(void *arg)
{
    struct auction_wait *w = arg;
    struct http_req *req = w->req;
    struct routing_answer *ra = w->ra;
    char caller[PHONE_E164_MAX];
    ra->ans.base_url = req->app->public_url;
    if (ra->ans.kind == TEL_ANSWER_DIAL && phone_parse(w->from, caller, NULL) == ERR_OK &&
        strcmp(caller, w->from) == 0)
        ra->ans.caller_id = w->from;
    w->resp->content_type = w->tp->content_type;
    int rc = ra->ans.kind == TEL_ANSWER_EMPTY ? (w->resp->status = 204, ERR_OK)
                                              : w->tp->answer(&w->resp->body, &ra->ans);
    if (rc)
        http_error_resp(req, w->resp, ERR_NOMEM);
    if (w->p) {
        if (ra->ans.kind == TEL_ANSWER_DIAL && ra->number[0] == '+')
            calls_pending_forward(w->p, ra->number);
        struct pending *pd = pending_new(req, w->resp);
        str_copy(pd->from, sizeof(pd->from), w->from);
        str_copy(pd->provider, sizeof(pd->provider), w->tp->name);
        pd->answered = rc == ERR_OK;
        pd->auctioned = true;
        struct calls_pending *p = w->p;
        free(ra);
        free(w);
        calls_pending_commit(p, voice_done, pd);
        return;
    }
    free(ra);
    free(w);
    http_resume(req); /* req may be gone after this */
}

static void auction_submit(void *arg)
{
    struct auction_wait *w = arg;
    routing_auction(w->req->app, w->ra, auction_answered, w);
}

/* Suspends the request while the auction of ra runs; p (or NULL) is written after. */
static void answer_auction(struct http_req *req, struct http_resp *resp, const struct hook *h,
                           struct routing_answer *ra, struct calls_pending *p)
{
    struct auction_wait *w = xcalloc(1, sizeof(*w));
    *w = (struct auction_wait){.req = req, .resp = resp, .ra = ra, .tp = h->tp, .p = p};
    str_copy(w->from, sizeof(w->from), h->th.wh.from ? h->th.wh.from : "");
    http_defer(req, auction_submit, w);
}

/* ---- voice webhooks: POST /v1/telephony/<provider>/voice ---- */

/* A parsed voice webhook: verify, attribute, store (deferred to the writer), answer. */
static int voice(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    char to[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    normalize_party(h->th.wh.to, to, sizeof(to));
    str_copy(from, sizeof(from), h->th.wh.from ? h->th.wh.from : "");
    struct calls_target t;
    struct st_account acct;
    if (!to[0])
        return errf(&req->eb, ERR_INVALID, "To", "'To' is required");
    /* Every read of this webhook (number, account, retry, attribution) in one read transaction;
     * the call itself is written by the writer thread. */
    bool reading = calls_read_begin(req->app);
    bool offline = false;
    int rc = verify_for_to(req, h, to, &t, &acct, &offline);
    if (rc) {
        calls_read_end(req->app, reading);
        return rc;
    }
    struct calls_inbound in = {h->provider, h->th.wh.call_sid, to, from, time_now_ms()};
    struct st_call call = {0}; /* read by routing even when the store could not prepare it */
    struct calls_answer ans;
    /* ans is filled even on failure: the call is forwarded whatever happens */
    int prepared = offline ? ERR_UNAVAILABLE : calls_prepare(req->app, &acct, &t, &in, &call, &ans);
    calls_read_end(req->app, reading);
    if (offline)
        calls_answer_for(&acct, &t, &ans);
    /* The store could not read for this call: it is answered once it is in the spool. */
    if (prepared != CALLS_TO_STORE && prepared != ERR_OK && prepared != ERR_CONFLICT)
        offline_spool_voice(req->app->offline, acct.id, &in, &ans);
    /* The answer is written here, not on the single writer thread, which then only replaces it
     * for a CallSid that raced in (the stored call's answer is given). A call whose number or
     * pool has a routing plan is answered by its plan's first step (app/routing.h). */
    struct routing_answer *auction = NULL;
    rc = routed_voice(req, resp, h, &acct, &t, &call, &ans, &auction);
    if (auction) { /* answered (and the call written) once the auction ends */
        answer_auction(req, resp, h, auction,
                       prepared == CALLS_TO_STORE
                           ? calls_pending_voice(req->app, &acct, &in, &call, &ans)
                           : NULL);
        return ERR_OK;
    }
    if (rc == ERR_NOTFOUND)
        rc = answer_twiml(req, resp, &ans, from, h->provider);
    if (prepared != CALLS_TO_STORE)
        return rc;
    struct pending *pd = pending_new(req, resp);
    str_copy(pd->from, sizeof(pd->from), from);
    str_copy(pd->provider, sizeof(pd->provider), h->provider);
    pd->answered = rc == ERR_OK;
    defer(req, calls_pending_voice(req->app, &acct, &in, &call, &ans), pd, true);
    return ERR_OK;
}

int h_tel_voice(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, TEL_HOOK_VOICE, &h);
    if (rc == ERR_OK)
        rc = voice(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* ---- status callbacks and the <Dial action> ---- */

/* What a callback is about. */
struct callback {
    struct st_call c;   /* the stored call (rc ERR_OK) */
    enum call_leg leg;  /* in: the leg a report by our CallSid is about */
    int64_t account_id; /* spool: the account that signed it */
};

/* A callback's call id and its parent's, as sent. */
static const char *parent_of(const struct hook *h)
{
    return h->th.wh.parent_call_sid ? h->th.wh.parent_call_sid : "";
}

/* The stored call a callback is about, verified: ours by CallSid, or the forwarded leg's
 * callback (ParentCallSid). CALLBACK_SPOOL (verified like a voice webhook, cb->account_id set)
 * when the report must go to the spool: the store cannot answer, or the call is not stored yet
 * and may be after an outage (offline_recent). ERR_NOTFOUND (verified) for a call that is not
 * stored otherwise: acknowledge, nothing to update. */
#define CALLBACK_SPOOL 1
static int callback_call(struct http_req *req, const struct hook *h, struct callback *cb)
{
    const char *parent = parent_of(h);
    int rc = calls_by_provider(req->app, h->provider, h->th.wh.call_sid, &cb->c);
    if (rc == ERR_NOTFOUND && *parent) {
        rc = calls_by_provider(req->app, h->provider, parent, &cb->c);
        cb->leg = CALL_LEG_DIALED;
    }
    if (rc == ERR_OK)
        return check_signed_by(req, h, cb->c.account_id);
    char to[STORE_PARTY_MAX];
    struct calls_target t;
    struct st_account acct;
    bool offline = false;
    normalize_party(h->th.wh.to, to, sizeof(to));
    int vrc = rc == ERR_NOTFOUND ? verify_for_to(req, h, to, &t, &acct, &offline)
                                 : verify_offline(req, h, to, &t, &acct);
    if (vrc)
        return vrc;
    cb->account_id = acct.id;
    /* Not stored (yet): after an outage its call may wait in this node's spool or another
     * node's, to be written shortly; the spool applies the report then (or gives up after
     * OFFLINE_ORPHAN_MS). Otherwise a call that could not be stored: nothing to update. */
    struct offline *o = req->app->offline;
    if (rc != ERR_NOTFOUND || offline || offline_has_call(o, h->provider, h->th.wh.call_sid) ||
        offline_has_call(o, h->provider, parent) || offline_recent(o, time_now_ms()))
        return CALLBACK_SPOOL;
    return ERR_NOTFOUND;
}

/* Spools a verified report (CALLBACK_SPOOL). ERR_OK once it is kept. */
static int spool_report(struct http_req *req, const struct hook *h, const struct callback *cb,
                        bool dial, const struct call_report *u)
{
    if (offline_spool_status(req->app->offline, cb->account_id, h->provider, h->th.wh.call_sid,
                             parent_of(h), dial, u, time_now_ms()) != ERR_OK)
        return errf(&req->eb, ERR_UNAVAILABLE, NULL, "cannot keep the report now; retry later");
    return ERR_OK;
}

static int status_callback(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    struct callback cb = {.leg = CALL_LEG_CALLER};
    int rc = callback_call(req, h, &cb);
    struct call_report u = {cb.leg, h->tp->status(h->th.wh.call_status), h->th.wh.call_duration_s,
                            h->th.wh.sequence_number};
    if (rc == CALLBACK_SPOOL) {
        rc = spool_report(req, h, &cb, false, &u);
    } else if (rc == ERR_OK) {
        defer_update(req, resp, h, cb.c.account_id, cb.c.id, &u, false);
    } else if (rc == ERR_NOTFOUND) {
        log_warn("telephony", "req=%" PRIu64 " status callback for an unknown call", req->id);
        rc = ERR_OK;
    }
    if (rc == ERR_OK)
        resp->status = 204;
    return rc;
}

static int dial_action(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    struct callback cb = {.leg = CALL_LEG_DIALED};
    int rc = callback_call(req, h, &cb);
    struct call_report u = {CALL_LEG_DIALED, h->tp->status(h->th.wh.dial_call_status),
                            h->th.wh.dial_call_duration_s, -1};
    if (rc == CALLBACK_SPOOL) /* the call continues either way: end it */
        rc =
            spool_report(req, h, &cb, true, &u) == ERR_OK ? answer_empty(resp, h) : ERR_UNAVAILABLE;
    else if (rc == ERR_OK)
        defer_update(req, resp, h, cb.c.account_id, cb.c.id, &u,
                     true);      /* failures are counted when it is done */
    else if (rc == ERR_NOTFOUND) /* the call continues either way: end it */
        rc = answer_empty(resp, h);
    return rc;
}

int h_tel_status(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, TEL_HOOK_STATUS, &h);
    if (rc == ERR_OK && h.th.wh.dial_call_status && !h.tp->paths[TEL_HOOK_DIAL])
        rc = dial_action(req, resp, &h); /* its <Dial action> comes to the status route */
    else if (rc == ERR_OK)
        rc = status_callback(req, resp, &h);
    hook_end(&h);
    return rc;
}

int h_tel_dial(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, TEL_HOOK_DIAL, &h);
    if (rc == ERR_OK)
        rc = dial_action(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* ---- a routed call's callbacks: POST /v1/telephony/<provider>/route?ev=&p=&st= ---- */

static int64_t form_count(const struct form *f, const char *name)
{
    const char *v = form_get(f, name);
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > 9 || strspn(v, "0123456789") != n)
        return -1;
    return strtoll(v, NULL, 10);
}

/* A callback of a call whose routing record is gone (it could not be written): verified like a
 * voice webhook, the call goes where its number forwards (never dropped). */
static int route_unknown(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    char to[STORE_PARTY_MAX];
    struct calls_target t;
    struct st_account acct;
    bool offline = false;
    normalize_party(h->th.wh.to, to, sizeof(to));
    int rc = verify_for_to(req, h, to, &t, &acct, &offline);
    if (rc)
        return rc;
    struct calls_answer ans;
    memset(&ans, 0, sizeof(ans));
    const char *fwd = t.number.forward_to[0] ? t.number.forward_to : t.pool.forward_to;
    str_copy(ans.forward_to, sizeof(ans.forward_to), fwd);
    log_warn("telephony", "req=%" PRIu64 " routing callback for a call with no routing record",
             req->id);
    return answer_twiml(req, resp, &ans, h->th.wh.from, h->provider);
}

static int route_callback(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    char ev[16];
    char st[96];
    struct routing_callback cb = {.provider = h->provider,
                                  .call_sid = h->th.wh.call_sid,
                                  .state = st,
                                  .digits = form_get(&h->th.form, "Digits"),
                                  .dial_status = h->tp->status(h->th.wh.dial_call_status),
                                  .dial_duration_s = h->th.wh.dial_call_duration_s,
                                  .recording_url = h->th.wh.recording_url,
                                  .recording_duration_s =
                                      form_count(&h->th.form, "RecordingDuration"),
                                  .now = time_now_ms()};
    if (!http_query(req, "ev", ev, sizeof(ev)) || routing_event_parse(ev, &cb.ev) ||
        !http_query(req, "st", st, sizeof(st)))
        return errf(&req->eb, ERR_INVALID, "ev", "a routing callback needs ev and st");
    char rb[ROUTING_QUERY_MAX];
    if (http_query(req, "rb", rb, sizeof(rb)))
        cb.bids_left = rb;
    int64_t account_id = 0;
    int rc = routing_call_account(req->app, h->provider, cb.call_sid, &account_id);
    if (rc == ERR_NOTFOUND)
        return route_unknown(req, resp, h);
    if (rc)
        return errf(&req->eb, ERR_BACKEND, NULL, "cannot read the call's routing");
    rc = check_signed_by(req, h, account_id);
    if (rc)
        return rc;
    struct routing_answer *ra = xcalloc(1, sizeof(*ra));
    rc = routing_next(req->app, &cb, ra);
    if (rc == ERR_INVALID)
        errf(&req->eb, ERR_INVALID, "st", "the routing state does not parse");
    else if (rc == ERR_NOTFOUND)
        rc = route_unknown(req, resp, h);
    else if (rc == ERR_OK && ra->auction) {
        answer_auction(req, resp, h, ra, NULL); /* takes ra */
        return ERR_OK;
    } else if (rc == ERR_OK && ra->ans.kind == TEL_ANSWER_EMPTY)
        resp->status = 204;
    else if (rc == ERR_OK)
        rc = answer_route(req, resp, h, ra);
    if (rc == ERR_OK && ra->billable) /* live P&L totals, once the provider has its answer */
        http_after(req, pnl_event_publish, pnl_event_new(req->app, ra->account_id));
    free(ra);
    return rc;
}

int h_tel_route(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, TEL_HOOK_ROUTE, &h);
    if (rc == ERR_OK)
        rc = route_callback(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* ---- a plain forward's recording: POST /v1/telephony/<provider>/recording ---- */

#define RECORDING_IGNORED 2 /* a RecordingStatus other than completed: nothing to store */

/* The recording a verified callback reports: ERR_OK with *url and *duration_s (-1: not sent),
 * RECORDING_IGNORED, or ERR_INVALID (400) naming the field. */
static int recording_fields(struct http_req *req, const struct hook *h, const char **url,
                            int64_t *duration_s)
{
    const char *status = form_get(&h->th.form, "RecordingStatus");
    const char *dur = form_get(&h->th.form, "RecordingDuration");
    *url = h->th.wh.recording_url;
    *duration_s = -1;
    if (status && strcmp(status, "completed") != 0)
        return RECORDING_IGNORED;
    size_t n = *url ? strlen(*url) : 0;
    if (!n)
        return errf(&req->eb, ERR_INVALID, "RecordingUrl", "'RecordingUrl' is required");
    bool printable = true;
    for (const char *p = *url; *p; p++)
        printable &= *p > 0x20 && *p < 0x7f;
    if (!printable || n >= STORE_RECORDING_URL_MAX ||
        (strncasecmp(*url, "https://", 8) != 0 && strncasecmp(*url, "http://", 7) != 0))
        return errf(&req->eb, ERR_INVALID, "RecordingUrl",
                    "'RecordingUrl' must be an http(s) URL of at most %d bytes",
                    STORE_RECORDING_URL_MAX - 1);
    if (dur) {
        size_t d = strlen(dur);
        if (d == 0 || d > 9 || strspn(dur, "0123456789") != d)
            return errf(&req->eb, ERR_INVALID, "RecordingDuration",
                        "'RecordingDuration' must be whole seconds");
        *duration_s = strtoll(dur, NULL, 10);
    }
    return ERR_OK;
}

/* Verified like a status callback (the call's account signed it), then stored on the call; a
 * store that cannot take it now has it spooled (app/offline.h) before the 204. */
static int recording_callback(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    struct callback cb = {.leg = CALL_LEG_CALLER};
    int rc = callback_call(req, h, &cb);
    if (rc != ERR_OK && rc != CALLBACK_SPOOL && rc != ERR_NOTFOUND)
        return rc;
    const char *url = NULL;
    int64_t duration_s = -1;
    int frc = recording_fields(req, h, &url, &duration_s);
    if (frc == RECORDING_IGNORED) {
        char esc[96];
        log_info("telephony",
                 "req=%" PRIu64 " recording callback with RecordingStatus '%s' for %s: "
                 "nothing stored",
                 req->id, log_escape(form_get(&h->th.form, "RecordingStatus"), esc, sizeof(esc)),
                 h->th.wh.call_sid);
        resp->status = 204;
        return ERR_OK;
    }
    if (frc)
        return frc;
    struct offline *o = req->app->offline;
    int64_t now = time_now_ms();
    if (rc == ERR_NOTFOUND) {
        log_warn("telephony", "req=%" PRIu64 " recording callback for an unknown call %s", req->id,
                 h->th.wh.call_sid);
    } else if (rc == ERR_OK) {
        rc = recordings_put(req->app, cb.c.account_id, cb.c.id, url, duration_s);
        if (rc == ERR_BACKEND) /* kept: written when the store is back */
            rc = offline_spool_recording(o, cb.c.account_id, h->provider, h->th.wh.call_sid, "",
                                         cb.c.id, url, duration_s, now);
    } else {
        rc = offline_spool_recording(o, cb.account_id, h->provider, h->th.wh.call_sid, parent_of(h),
                                     0, url, duration_s, now);
    }
    if (rc && rc != ERR_NOTFOUND)
        return errf(&req->eb, ERR_UNAVAILABLE, NULL, "cannot keep the recording now; retry later");
    resp->status = 204;
    return ERR_OK;
}

int h_tel_recording(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, TEL_HOOK_RECORDING, &h);
    if (rc == ERR_OK)
        rc = recording_callback(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* ---- GET /v1/telephony/lookup?to=&from=[&call_id=][&format=text] (PBX, Bearer key) ---- */

struct lookup_in {
    char to[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    char call_id[80];
    bool text;
};

static int parse_lookup(struct http_req *req, struct lookup_in *in)
{
    char raw[STORE_PARTY_MAX] = "";
    char e164[PHONE_E164_MAX];
    if (!http_query(req, "to", raw, sizeof(raw)) || phone_parse(raw, e164, NULL) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, "to", "'to' must be a phone number");
    str_copy(in->to, sizeof(in->to), e164);
    raw[0] = '\0';
    if (!http_query(req, "from", raw, sizeof(raw)) || !raw[0])
        return errf(&req->eb, ERR_INVALID, "from", "'from' is required (the caller's number)");
    for (const char *p = raw; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return errf(&req->eb, ERR_INVALID, "from", "'from' must be printable ASCII");
    normalize_party(raw, in->from, sizeof(in->from));
    if (http_query(req, "call_id", in->call_id, sizeof(in->call_id)) &&
        !id_valid(in->call_id, sizeof(in->call_id) - 1))
        return errf(&req->eb, ERR_INVALID, "call_id",
                    "'call_id' must be 1 to 79 characters "
                    "of [A-Za-z0-9_-]");
    if (!in->call_id[0])
        id_new("pbx_", 26, in->call_id, sizeof(in->call_id));
    char format[16] = "";
    http_query(req, "format", format, sizeof(format));
    in->text = strcmp(format, "text") == 0;
    return ERR_OK;
}

int h_pbx_lookup(struct http_req *req, struct http_resp *resp)
{
    struct lookup_in in = {0};
    int rc = parse_lookup(req, &in);
    struct calls_target t;
    if (rc == ERR_OK)
        rc = calls_resolve(req->app, in.to, &t);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && t.account_id != req->account.id))
        return errf(&req->eb, ERR_NOTFOUND, "to", "%s is not a tracking number of this account",
                    in.to);
    if (rc)
        return rc;
    /* PBX call ids are chosen by the client: scope them to the account. */
    char pcid[sizeof(((struct st_call *)0)->provider_call_id)];
    snprintf(pcid, sizeof(pcid), "%" PRId64 ":%s", req->account.id, in.call_id);
    struct calls_inbound ci = {CALLS_PROVIDER_PBX, pcid, in.to, in.from, time_now_ms()};
    struct st_call call;
    struct calls_answer ans;
    bool stored = calls_take(req->app, &req->account, &t, &ci, &call, &ans) == ERR_OK;
    if (in.text) {
        resp->content_type = "text/plain";
        return buf_addf(&resp->body, "%s\n", ans.forward_to);
    }
    json_t *cj = stored ? calls_json(req->app, &call) : NULL;
    json_t *attr = cj ? json_incref(json_object_get(cj, "attribution")) : NULL;
    json_decref(cj);
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:o,s:s,s:o}", "call_id",
                                    stored ? json_string(call.ext_id) : json_null(), "forward_to",
                                    ans.forward_to, "attribution", attr ? attr : json_null()),
                          &resp->body);
}
