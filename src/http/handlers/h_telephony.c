/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Provider webhooks (API.md "Telephony", normative for Twilio) and the PBX lookup:
 * POST /v1/telephony/twilio/voice, /status and /dial, /v1/telephony/telnyx/voice and /status,
 * GET /v1/telephony/lookup. Parse the form -> find the account -> verify X-Twilio-Signature
 * (or X-SignalWire-Signature) over public_url + the URI as received, or Telnyx's Ed25519
 * signature over the body -> hand the call to the call service (calls.c) -> answer TwiML
 * (TeXML for Telnyx: the same XML). An unsigned or badly signed request gets 403 and changes
 * nothing; a verified call is always forwarded, whatever fails after the check. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/ids.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "app/app.h"
#include "app/calls.h"
#include "base/json.h"
#include "app/metrics.h"
#include "telephony/form.h"
#include "telephony/telnyx.h"
#include "telephony/twilio.h"

#define SIG_FAILURES "opendni_webhook_signature_failures_total"
#define SIG_FAILURES_HELP "Provider webhooks refused for a missing or invalid signature."
#define URL_MAX 4096

/* One parsed provider request. */
struct hook {
    const char *provider; /* CALLS_PROVIDER_TWILIO or CALLS_PROVIDER_TELNYX: how it is signed */
    struct form form;
    struct twilio_webhook wh;
    char url[URL_MAX]; /* Twilio: what the provider signed, public URL + URI as received */
};

/* ---- parsing and signatures ---- */

static int forbidden(struct http_req *req, const char *why)
{
    metrics_count(req->app->metrics, SIG_FAILURES, SIG_FAILURES_HELP, 1);
    log_warn("telephony", "req=%" PRIu64 " refused: %s", req->id, why);
    return errf(&req->eb, ERR_FORBIDDEN, NULL, "%s", why);
}

/* Checks a signature is present, then parses the form. Release with hook_end. */
static int hook_begin(struct http_req *req, struct hook *h)
{
    memset(h, 0, sizeof(*h));
    h->provider = CALLS_PROVIDER_TWILIO;
    if (!req->h_twilio_sig && !req->h_signalwire_sig)
        return forbidden(req, "missing X-Twilio-Signature");
    int n = snprintf(h->url, sizeof(h->url), "%s%s", req->app->public_url, req->raw_uri);
    if (n < 0 || (size_t)n >= sizeof(h->url))
        return errf(&req->eb, ERR_TOOBIG, NULL, "request URI too long");
    int rc = form_parse(req->body.data, req->body.len, &h->form);
    if (rc)
        return errf(&req->eb, rc, "body", "the body is not application/x-www-form-urlencoded");
    rc = twilio_webhook_parse(&h->form, &h->wh, &req->eb);
    if (rc)
        form_release(&h->form);
    return rc;
}

/* Telnyx (TeXML): checks both headers are present and the timestamp is fresh, then parses
 * the form. The signature itself needs the account's key: see hook_signed_by. */
static int texml_begin(struct http_req *req, struct hook *h)
{
    memset(h, 0, sizeof(*h));
    h->provider = CALLS_PROVIDER_TELNYX;
    if (!req->h_telnyx_sig || !req->h_telnyx_ts)
        return forbidden(req, "missing telnyx-signature-ed25519 or telnyx-timestamp");
    if (!telnyx_fresh(req->h_telnyx_ts, time_now_ms() / 1000, TELNYX_TOLERANCE_S))
        return forbidden(req, "telnyx-timestamp is not within 300 s of now");
    int rc = form_parse(req->body.data, req->body.len, &h->form);
    if (rc)
        return errf(&req->eb, rc, "body", "the body is not application/x-www-form-urlencoded");
    rc = telnyx_webhook_parse(&h->form, &h->wh, &req->eb);
    if (rc)
        form_release(&h->form);
    return rc;
}

static void hook_end(struct hook *h)
{
    form_release(&h->form);
}

/* The account's Telnyx public key, from {"telnyx_public_key":"<base64>"} in its settings. */
static bool telnyx_key_of(const struct st_account *a, unsigned char key[TELNYX_KEY_LEN])
{
    json_t *o = a->settings[0] ? json_loads(a->settings, 0, NULL) : NULL;
    const char *b64 = json_string_value(json_object_get(o, "telnyx_public_key"));
    bool ok = b64 && telnyx_public_key(b64, key) == ERR_OK;
    if (b64 && !ok)
        log_warn("telephony", "account %s: telnyx_public_key is not base64 of 32 bytes", a->ext_id);
    json_decref(o);
    return ok;
}

static bool telnyx_signed_by(const struct http_req *req, const struct st_account *a)
{
    unsigned char key[TELNYX_KEY_LEN];
    return telnyx_key_of(a, key) &&
           telnyx_verify(key, req->h_telnyx_ts, req->body.data, req->body.len, req->h_telnyx_sig);
}

/* Either flavour: they differ only for repeated parameter names (INTERFACES.md §2.2 V3). */
static bool sig_matches(const struct hook *h, const char *token, const char *sig)
{
    return sig && (twilio_verify_as(TWILIO_FLAVOR_TWILIO, token, h->url, &h->form, sig) ||
                   twilio_verify_as(TWILIO_FLAVOR_SIGNALWIRE, token, h->url, &h->form, sig));
}

static bool signed_by(const struct http_req *req, const struct hook *h, const char *token)
{
    if (!token || !*token)
        return false;
    return sig_matches(h, token, req->h_twilio_sig) || sig_matches(h, token, req->h_signalwire_sig);
}

/* Whether account a signed the request, by the provider's scheme. */
static bool hook_signed_by(const struct http_req *req, const struct hook *h,
                           const struct st_account *a)
{
    if (strcmp(h->provider, CALLS_PROVIDER_TELNYX) == 0)
        return telnyx_signed_by(req, a);
    return signed_by(req, h, a->twilio_token);
}

struct signer {
    const struct http_req *req;
    const struct hook *h;
    struct st_account *out;
    bool found;
};

static int try_account(void *arg, const struct st_account *a)
{
    struct signer *sg = arg;
    if (!hook_signed_by(sg->req, sg->h, a))
        return 0;
    *sg->out = *a;
    sg->found = true;
    return 1;
}

/* For a number nobody owns: the account with this (Twilio) AccountSid, else any account whose
 * token or Telnyx key signed the request (API.md). ERR_FORBIDDEN if none did. */
static int find_signer(struct http_req *req, const struct hook *h, struct st_account *out)
{
    if (h->wh.account_sid &&
        calls_account_by_twilio_sid(req->app, h->wh.account_sid, out) == ERR_OK &&
        hook_signed_by(req, h, out))
        return ERR_OK;
    struct signer sg = {req, h, out, false};
    int rc = calls_account_list(req->app, try_account, &sg);
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot read the accounts");
    return sg.found ? ERR_OK : forbidden(req, "invalid webhook signature");
}

/* The account owning the called number (verified), or a signer for a number nobody owns. */
static int verify_for_to(struct http_req *req, const struct hook *h, const char *to,
                         struct calls_target *t, struct st_account *acct)
{
    int rc = calls_resolve(req->app, to, t);
    if (rc == ERR_NOTFOUND)
        return find_signer(req, h, acct);
    if (rc == ERR_OK)
        rc = calls_account(req->app, t->account_id, acct);
    if (rc)
        return errf(&req->eb, ERR_BACKEND, NULL, "cannot look up the called number");
    return hook_signed_by(req, h, acct) ? ERR_OK : forbidden(req, "invalid webhook signature");
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

/* TwiML, or TeXML for Telnyx, whose <Dial action> posts to the status route (the DialCallStatus
 * in it tells the two apart). */
static int answer_twiml(struct http_req *req, struct http_resp *resp,
                        const struct calls_answer *ans, const char *from, const char *provider)
{
    resp->content_type = "text/xml";
    if (!ans->forward_to[0])
        return twiml_reject(&resp->body);
    bool telnyx = strcmp(provider, CALLS_PROVIDER_TELNYX) == 0;
    char action[sizeof(req->app->public_url) + 40];
    char status[sizeof(req->app->public_url) + 40];
    snprintf(action, sizeof(action), "%s/v1/telephony/%s", req->app->public_url,
             telnyx ? "telnyx/status" : "twilio/dial");
    snprintf(status, sizeof(status), "%s/v1/telephony/%s/status", req->app->public_url,
             telnyx ? "telnyx" : "twilio");
    struct twiml_dial d = {.forward_to = ans->forward_to,
                           .action_url = action,
                           .status_url = status,
                           .record = ans->record,
                           .notice = ans->notice[0] ? ans->notice : NULL};
    char caller[PHONE_E164_MAX];
    if (from && phone_parse(from, caller, NULL) == ERR_OK && strcmp(caller, from) == 0)
        d.caller_id = from; /* pass the caller's number through to the business line */
    return twiml_dial(&resp->body, &d);
}

/* ---- deferred writes: calls join the group-commit writer's batch ---- */

/* A webhook whose write waits for the writer (app/calls.h calls_pending). */
struct pending {
    struct http_req *req;
    struct http_resp *resp;
    char from[STORE_PARTY_MAX];
    char provider[16];
    bool dial;     /* a <Dial action> request: answer TwiML */
    bool answered; /* the voice answer was written before the commit */
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
    if (calls_pending_raced(p) || !pd->answered) { /* a CallSid that raced in: its answer */
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
        resp->content_type = "text/xml";
        twiml_empty(&resp->body);
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
static void defer_update(struct http_req *req, struct http_resp *resp, int64_t call_id,
                         const struct calls_status *u, bool dial)
{
    struct pending *pd = pending_new(req, resp);
    pd->dial = dial;
    defer(req, calls_pending_update(req->app, call_id, u, time_now_ms()), pd, false);
}

/* ---- voice webhooks: POST /v1/telephony/twilio/voice and /v1/telephony/telnyx/voice ---- */

/* A parsed voice webhook: verify, attribute, store (deferred to the writer), answer. */
static int voice(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    char to[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    normalize_party(h->wh.to, to, sizeof(to));
    snprintf(from, sizeof(from), "%s", h->wh.from ? h->wh.from : "");
    struct calls_target t;
    struct st_account acct;
    if (!to[0])
        return errf(&req->eb, ERR_INVALID, "To", "'To' is required");
    /* Every read of this webhook (number, account, retry, attribution) in one read transaction;
     * the call itself is written by the writer thread. */
    bool reading = calls_read_begin(req->app);
    int rc = verify_for_to(req, h, to, &t, &acct);
    if (rc) {
        calls_read_end(req->app, reading);
        return rc;
    }
    struct calls_inbound in = {h->provider, h->wh.call_sid, to, from, time_now_ms()};
    struct st_call call;
    struct calls_answer ans;
    /* ans is filled even on failure: the call is forwarded whatever happens */
    int prepared = calls_prepare(req->app, &acct, &t, &in, &call, &ans);
    calls_read_end(req->app, reading);
    /* The answer is written here, not on the single writer thread, which then only replaces it
     * for a CallSid that raced in (the stored call's answer is given). */
    rc = answer_twiml(req, resp, &ans, from, h->provider);
    if (prepared != CALLS_TO_STORE)
        return rc;
    struct pending *pd = pending_new(req, resp);
    snprintf(pd->from, sizeof(pd->from), "%s", from);
    snprintf(pd->provider, sizeof(pd->provider), "%s", h->provider);
    pd->answered = rc == ERR_OK;
    defer(req, calls_pending_voice(req->app, &acct, &in, &call, &ans), pd, true);
    return ERR_OK;
}

int h_twilio_voice(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, &h);
    if (rc)
        return rc;
    rc = voice(req, resp, &h);
    hook_end(&h);
    return rc;
}

int h_telnyx_voice(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = texml_begin(req, &h);
    if (rc)
        return rc;
    rc = voice(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* ---- status callbacks and the <Dial action> ---- */

/* The stored call a callback is about, verified: ours by CallSid, or the forwarded leg's
 * callback (ParentCallSid). ERR_NOTFOUND after checking the signature like a voice webhook
 * (a call that could not be stored: acknowledge, nothing to update). */
static int callback_call(struct http_req *req, const struct hook *h, struct st_call *c,
                         enum calls_leg *leg)
{
    const char *parent = form_get(&h->form, "ParentCallSid");
    int rc = calls_by_provider(req->app, h->provider, h->wh.call_sid, c);
    if (rc == ERR_NOTFOUND && parent && *parent) {
        rc = calls_by_provider(req->app, h->provider, parent, c);
        *leg = CALLS_LEG_DIALED;
    }
    if (rc == ERR_NOTFOUND) {
        char to[STORE_PARTY_MAX];
        struct calls_target t;
        struct st_account acct;
        normalize_party(h->wh.to, to, sizeof(to));
        rc = verify_for_to(req, h, to, &t, &acct);
        return rc ? rc : ERR_NOTFOUND;
    }
    struct st_account acct;
    if (rc == ERR_OK)
        rc = calls_account(req->app, c->account_id, &acct);
    if (rc)
        return errf(&req->eb, ERR_BACKEND, NULL, "cannot read the call");
    return hook_signed_by(req, h, &acct) ? ERR_OK : forbidden(req, "invalid webhook signature");
}

static int status_callback(struct http_req *req, struct http_resp *resp, const struct hook *h)
{
    struct st_call c;
    enum calls_leg leg = CALLS_LEG_CALLER;
    int rc = callback_call(req, h, &c, &leg);
    if (rc == ERR_OK) {
        struct calls_status u = {leg, h->wh.call_status, h->wh.call_duration_s,
                                 h->wh.sequence_number};
        defer_update(req, resp, c.id, &u, false);
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
    struct st_call c;
    enum calls_leg leg = CALLS_LEG_DIALED;
    int rc = callback_call(req, h, &c, &leg);
    if (rc == ERR_OK) {
        struct calls_status u = {CALLS_LEG_DIALED, h->wh.dial_call_status,
                                 h->wh.dial_call_duration_s, -1};
        defer_update(req, resp, c.id, &u, true); /* failures are counted when it is done */
    } else if (rc == ERR_NOTFOUND) {             /* the call continues either way: end it */
        resp->content_type = "text/xml";
        rc = twiml_empty(&resp->body);
    }
    return rc;
}

int h_twilio_status(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, &h);
    if (rc)
        return rc;
    rc = status_callback(req, resp, &h);
    hook_end(&h);
    return rc;
}

int h_twilio_dial(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = hook_begin(req, &h);
    if (rc)
        return rc;
    rc = dial_action(req, resp, &h);
    hook_end(&h);
    return rc;
}

/* Telnyx status callbacks, and the TeXML <Dial action> (which carries DialCallStatus). */
int h_telnyx_status(struct http_req *req, struct http_resp *resp)
{
    struct hook h;
    int rc = texml_begin(req, &h);
    if (rc)
        return rc;
    rc = h.wh.dial_call_status ? dial_action(req, resp, &h) : status_callback(req, resp, &h);
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
    snprintf(in->to, sizeof(in->to), "%s", e164);
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
