/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The Twilio-compatible provider pieces shared by twilio.c, signalwire.c and telnyx.c: a
 * form-encoded webhook body, X-Twilio-Signature checks over the public URL, TwiML/TeXML
 * answers with the provider's callback paths, and Twilio's call-status words. Pure: no I/O. */
#include "base/prelude.h"
#include "telephony/provider_int.h"

#include "telephony/twilio.h"

/* base URL (at most 255 bytes) + a callback path and query (routing: < ROUTING_QUERY_MAX) */
#define URL_MAX 1024

int tel__require_header(const struct tel_request *rq, const char *const *headers, struct errbuf *eb)
{
    for (const char *const *h = headers; *h; h++) {
        const char *v = rq->header ? rq->header(rq->ctx, *h) : NULL;
        if (v && *v)
            return ERR_OK;
    }
    return errf(eb, ERR_FORBIDDEN, NULL, "missing %s", headers[0]);
}

int tel__form_parse(const struct tel_request *rq, size_t sid_max, const char *sid_extra,
                    struct tel_hook *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    int rc = form_parse(rq->body, rq->len, &out->form);
    if (rc)
        return errf(eb, rc, "body", "the body is not application/x-www-form-urlencoded");
    return twilio_webhook_parse_as(&out->form, sid_max, sid_extra, &out->wh, eb);
}

/* Either flavour: they differ only for repeated parameter names (INTERFACES.md §2.2 V3). */
static bool sig_matches(const struct tel_request *rq, const struct tel_hook *h, const char *secret,
                        const char *sig)
{
    return twilio_verify_any(secret, rq->url, &h->form, sig);
}

bool tel__twilio_verify(const struct tel_request *rq, const struct tel_hook *h, const char *secret,
                        const char *const *headers)
{
    if (!secret || !*secret || !rq->url || !rq->header)
        return false;
    bool ok = false;
    for (const char *const *name = headers; *name; name++) {
        const char *sig = rq->header(rq->ctx, *name);
        if (sig)
            ok |= sig_matches(rq, h, secret, sig);
    }
    return ok;
}

/* base_url + path into out, or NULL for a NULL path. ERR_TOOBIG if it does not fit. */
static int callback_url(const char *base_url, const char *path, char out[URL_MAX], const char **url)
{
    *url = NULL;
    if (!path)
        return ERR_OK;
    int n = snprintf(out, URL_MAX, "%s%s", base_url, path);
    if (n < 0 || n >= URL_MAX)
        return ERR_TOOBIG;
    *url = out;
    return ERR_OK;
}

/* base_url + route_path + "?" + query into out, or NULL for a NULL query. */
static int route_url(const char *base_url, const char *route_path, const char *query,
                     char out[URL_MAX], const char **url)
{
    *url = NULL;
    if (!query)
        return ERR_OK;
    if (!route_path)
        return ERR_INVALID;
    int n = snprintf(out, URL_MAX, "%s%s?%s", base_url, route_path, query);
    if (n < 0 || n >= URL_MAX)
        return ERR_TOOBIG;
    *url = out;
    return ERR_OK;
}

/* The routing kinds (core/route.h instructions) other than DIAL. */
static int route_answer(struct buf *out, const struct tel_answer *a, const char *route_path)
{
    char action[URL_MAX];
    char status[URL_MAX];
    const char *action_url = NULL;
    const char *status_url = NULL;
    int rc = route_url(a->base_url, route_path, a->route_query, action, &action_url);
    if (!rc)
        rc = route_url(a->base_url, route_path, a->status_query, status, &status_url);
    if (rc)
        return rc;
    if (a->kind == TEL_ANSWER_GATHER)
        return twiml_gather(out, a->say, a->num_digits, a->timeout_s, action_url);
    if (a->kind == TEL_ANSWER_RECORD)
        return twiml_record(out, a->say, a->max_len_s, action_url, status_url);
    if (a->kind == TEL_ANSWER_SAY_HANGUP || a->kind == TEL_ANSWER_SAY)
        return twiml_say(out, a->say, a->kind == TEL_ANSWER_SAY_HANGUP);
    return twiml_block(out);
}

int tel__twiml_answer(struct buf *out, const struct tel_answer *a,
                      const char *const paths[TEL_HOOK_N])
{
    const char *route_path = paths[TEL_HOOK_ROUTE];
    if (a->kind == TEL_ANSWER_REJECT)
        return twiml_reject(out);
    if (a->kind == TEL_ANSWER_EMPTY)
        return twiml_empty(out);
    if (!a->base_url)
        return ERR_INVALID;
    if (a->kind != TEL_ANSWER_DIAL)
        return route_answer(out, a, route_path);
    char action[URL_MAX];
    char status[URL_MAX];
    char whisper[URL_MAX];
    char recording[URL_MAX];
    struct twiml_dial d = {.forward_to = a->forward_to,
                           .caller_id = a->caller_id,
                           .record = a->record,
                           .notice = a->notice,
                           .timeout_s = a->timeout_s};
    int rc = a->route_query
                 ? route_url(a->base_url, route_path, a->route_query, action, &d.action_url)
                 : callback_url(a->base_url, paths[TEL_HOOK_DIAL], action, &d.action_url);
    if (!rc)
        rc = callback_url(a->base_url, paths[TEL_HOOK_STATUS], status, &d.status_url);
    if (!rc && a->record && !a->route_query) /* a routed dial's recording comes to its action */
        rc = callback_url(a->base_url, paths[TEL_HOOK_RECORDING], recording, &d.recording_url);
    if (!rc)
        rc = route_url(a->base_url, route_path, a->whisper_query, whisper, &d.number_url);
    return rc ? rc : twiml_dial(out, &d);
}

const char *tel__twilio_status(const char *s)
{
    if (s && (strcmp(s, "queued") == 0 || strcmp(s, "initiated") == 0))
        return "ringing";
    return s;
}
