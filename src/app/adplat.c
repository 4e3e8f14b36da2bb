/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad-platform destinations (see adplat.h): the bodies of GA4 Measurement Protocol and Meta
 * Conversions API events, written with the fact, and the verdict on their answers. */
#include "base/prelude.h"
#include "app/adplat.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/outbox.h"
#include "app/outbound.h"

#define MAX_TARGETS 32

bool adplat_format(const char *format)
{
    return strcmp(format, "ga4") == 0 || strcmp(format, "meta") == 0;
}

bool adplat_takes(const char *format, const char *type)
{
    if (strcmp(format, "ga4") == 0)
        return strcmp(type, "call.completed") == 0 || strcmp(type, "conversion.created") == 0;
    if (strcmp(format, "meta") == 0)
        return strcmp(type, "conversion.created") == 0;
    return false;
}

/* ==== configuration =========================================================================== */

static bool all(const char *s, size_t min, size_t max, int (*ok)(int))
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!ok((unsigned char)s[i]))
            return false;
    return true;
}

static int token_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int adplat_credential_check(const char *format, const char *credential, struct errbuf *eb)
{
    const char *field = strcmp(format, "ga4") == 0 ? "api_secret" : "access_token";
    if (!credential)
        return errf(eb, ERR_INVALID, field, "%s is required", field);
    if (!all(credential, 8, STORE_SECRET_MAX / 2, token_char))
        return errf(eb, ERR_INVALID, field,
                    "%s must be 8 to %d letters, digits or -_.~ as the platform shows it", field,
                    STORE_SECRET_MAX / 2);
    return ERR_OK;
}

int adplat_destination_url(const char *format, const char *id, const char *credential, char *url,
                           size_t cap, struct errbuf *eb)
{
    bool ga4 = strcmp(format, "ga4") == 0;
    const char *id_field = ga4 ? "measurement_id" : "pixel_id";
    if (!id)
        return errf(eb, ERR_INVALID, id_field, "%s is required", id_field);
    if (ga4 && (strncmp(id, "G-", 2) != 0 || !all(id + 2, 4, 20, isalnum)))
        return errf(eb, ERR_INVALID, id_field, "measurement_id is the stream's G-… id");
    if (!ga4 && !all(id, 5, 20, isdigit))
        return errf(eb, ERR_INVALID, id_field, "pixel_id is the pixel's (dataset's) numeric id");
    int rc = adplat_credential_check(format, credential, eb);
    if (rc)
        return rc;
    if (ga4)
        snprintf(url, cap, ADPLAT_GA4_BASE "/mp/collect?measurement_id=%s", id);
    else
        snprintf(url, cap, ADPLAT_META_BASE "/" ADPLAT_META_VERSION "/%s/events", id);
    return ERR_OK;
}

bool adplat_request_url(const struct st_destination *d, char *out, size_t cap)
{
    bool ga4 = strcmp(d->format, "ga4") == 0;
    const char *base = ga4 ? ADPLAT_GA4_BASE : ADPLAT_META_BASE;
    const char *test = testhooks_provider_api(d->format); /* NULL in production builds */
    size_t n = strlen(base);
    const char *rest = strncmp(d->url, base, n) == 0 ? d->url + n : NULL;
    if (!rest || !d->secret[0]) /* the credential was checked as URL-safe when it was given */
        return false;
    int k = snprintf(out, cap, "%s%s%s%s", test ? test : base, rest,
                     ga4 ? "&api_secret=" : "?access_token=", d->secret);
    return k > 0 && (size_t)k < cap;
}

bool adplat_ga_detail_valid(const char *detail)
{
    /* CLIENT_ID is two runs of digits joined by a dot; SESSION_ID digits */
    const char *p = detail;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 20 || p[n] != '.')
        return false;
    p += n + 1;
    n = strspn(p, "0123456789");
    if (n == 0 || n > 20)
        return false;
    p += n;
    if (*p == '\0')
        return true;
    if (*p != ' ')
        return false;
    n = strspn(p + 1, "0123456789");
    return n > 0 && n <= 20 && p[1 + n] == '\0';
}

/* ==== bodies ================================================================================== */

static char *dump(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return s;
}

/* GA4 param string values are at most 100 characters. */
static json_t *ga_str(const char *s)
{
    return json_stringn(s, strnlen(s, 100));
}

char *adplat_ga4_body(const struct adplat_call *c, const char *type)
{
    if (!c->ga_client_id || !c->ga_client_id[0])
        return NULL;
    const struct st_call *call = c->call;
    bool qualified = strcmp(type, "conversion.created") == 0 && c->cv;
    json_t *params = json_object();
    if (c->ga_session_id && c->ga_session_id[0])
        json_object_set_new(params, "session_id", json_string(c->ga_session_id));
    json_object_set_new(params, "engagement_time_msec", json_integer(1));
    json_object_set_new(params, "call_id", ga_str(call->ext_id));
    json_object_set_new(params, "call_sid", ga_str(call->provider_call_id));
    json_object_set_new(params, "tracking_number", ga_str(call->to));
    json_object_set_new(params, "call_duration_sec", json_integer(call->duration_s));
    json_object_set_new(params, "call_status", ga_str(call->status));
    if (qualified) {
        json_object_set_new(params, "conversion_name", ga_str(c->cv->name));
        json_object_set_new(params, "value", json_real(c->cv->value));
        json_object_set_new(params, "currency", ga_str(c->cv->currency));
    }
    int64_t at = qualified ? c->cv->at : call->started_at;
    json_t *ev = json_pack("{s:s,s:o}", "name", qualified ? "qualified_call" : "phone_call",
                           "params", params);
    return dump(json_pack("{s:s,s:I,s:[o]}", "client_id", c->ga_client_id, "timestamp_micros",
                          (json_int_t)at * 1000, "events", ev));
}

/* SHA-256 of s as lowercase hex (65 bytes). */
static void sha256_hex(const char *s, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL))
        n = 0;
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * n] = '\0';
}

/* Meta's phone normalisation: digits only, country code included, no leading + or 00. */
static void meta_phone(const char *e164, char *out, size_t cap)
{
    size_t j = 0;
    for (const char *p = e164; *p && j + 1 < cap; p++)
        if (isdigit((unsigned char)*p))
            out[j++] = *p;
    out[j] = '\0';
    size_t z = strspn(out, "0");
    if (z > 2)
        z = 2;
    memmove(out, out + z, strlen(out + z) + 1);
}

char *adplat_meta_body(const struct adplat_call *c)
{
    const struct st_call *call = c->call;
    if (!c->cv)
        return NULL;
    json_t *user = json_object();
    char digits[STORE_PARTY_MAX];
    meta_phone(call->from[0] == '+' ? call->from : "", digits, sizeof(digits));
    if (strlen(digits) >= 7) {
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        sha256_hex(digits, hex);
        json_object_set_new(user, "ph", json_pack("[s]", hex));
    }
    if (c->fbclid && c->fbclid[0]) {
        char fbc[600];
        snprintf(fbc, sizeof(fbc), "fb.1.%" PRId64 ".%s", c->fbclid_at, c->fbclid);
        json_object_set_new(user, "fbc", json_string(fbc));
    }
    if (json_object_size(user) == 0) {
        json_decref(user);
        return NULL;
    }
    json_t *ev = json_pack("{s:s,s:I,s:s,s:s,s:o,s:{s:f,s:s}}", "event_name", "Lead", "event_time",
                           (json_int_t)(c->cv->at / 1000), "action_source", "phone_call",
                           "event_id", call->ext_id, "user_data", user, "custom_data", "value",
                           c->cv->value, "currency", c->cv->currency);
    return dump(json_pack("{s:[o]}", "data", ev));
}

/* ==== emitting ================================================================================ */

struct ad_targets {
    const char *type;
    struct st_destination d[MAX_TARGETS];
    size_t n;
};

static bool listed(const char *list, const char *type)
{
    size_t n = strlen(type);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && memcmp(p, type, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

static int add_ad_target(void *ctx, const struct st_destination *d)
{
    struct ad_targets *t = ctx;
    if (!d->disabled_at && adplat_format(d->format) && listed(d->events, t->type) &&
        t->n < MAX_TARGETS)
        t->d[t->n++] = *d;
    return 0;
}

/* The session's GA ids and fbclid. */
static int session_ids(struct store *s, int64_t session_id, struct adplat_call *c,
                       char detail[ADPLAT_GA_DETAIL_MAX], char *client, char *fbclid,
                       size_t fbclid_cap)
{
    struct st_session ss;
    int rc = store_session_by_id(s, session_id, &ss);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    json_t *ids = ss.click_ids[0] ? json_loads(ss.click_ids, 0, NULL) : NULL;
    const char *fb = json_string_value(json_object_get(ids, "fbclid"));
    if (fb) {
        snprintf(fbclid, fbclid_cap, "%s", fb);
        c->fbclid_at = ss.created_at;
    }
    json_decref(ids);
    /* the newest ga_client event: one index lookup in the call's transaction */
    rc = store_event_last_detail(s, session_id, "ga_client", detail, ADPLAT_GA_DETAIL_MAX);
    if (rc)
        return rc;
    size_t k = strcspn(detail, " ");
    snprintf(client, ADPLAT_GA_DETAIL_MAX, "%.*s", (int)k, detail);
    c->ga_session_id = detail[k] ? detail + k + 1 : "";
    return ERR_OK;
}

static int write_one(struct store *s, const struct st_destination *d, const char *type,
                     const char *body, int64_t now)
{
    struct st_outbox_msg *m = xcalloc(1, sizeof(*m));
    m->account_id = d->account_id;
    m->destination_id = d->id;
    id_new_sorted("evt_", now, 20, m->event_id, sizeof(m->event_id));
    snprintf(m->type, sizeof(m->type), "%s", type);
    snprintf(m->body, sizeof(m->body), "%s", body);
    m->created_at = m->next_at = now;
    int rc = store_outbox_add(s, m);
    free(m);
    return rc;
}

int adplat_emit(struct app *app, struct store *s, const struct st_call *call,
                const struct st_conversion *cv, const char *type, int64_t now)
{
    struct ad_targets *t = xcalloc(1, sizeof(*t));
    t->type = type;
    int rc = store_destination_targets(s, call->account_id, add_ad_target, t);
    struct adplat_call c = {.call = call, .cv = cv, .ga_client_id = "", .ga_session_id = ""};
    char detail[ADPLAT_GA_DETAIL_MAX] = "";
    char client[ADPLAT_GA_DETAIL_MAX] = "";
    char fbclid[512] = "";
    if (rc == ERR_OK && t->n && call->session_id)
        rc = session_ids(s, call->session_id, &c, detail, client, fbclid, sizeof(fbclid));
    c.ga_client_id = client;
    c.fbclid = fbclid;
    for (size_t i = 0; rc == ERR_OK && i < t->n; i++) {
        bool ga4 = strcmp(t->d[i].format, "ga4") == 0;
        char *body = ga4 ? adplat_ga4_body(&c, type) : adplat_meta_body(&c);
        if (body && strlen(body) < STORE_BODY_MAX)
            rc = write_one(s, &t->d[i], type, body, now);
        else if (body)
            log_error("adplat", "event %s of call %s too large for %s", type, call->ext_id,
                      t->d[i].ext_id);
        free(body);
    }
    if (rc == ERR_OK && t->n)
        outbox_written(app);
    free(t);
    return rc;
}

/* ==== answers ================================================================================= */

int64_t adplat_retry_for_ms(const char *format, int64_t otherwise_ms)
{
    return strcmp(format, "ga4") == 0 && otherwise_ms > ADPLAT_GA4_MAX_AGE_MS
               ? ADPLAT_GA4_MAX_AGE_MS
               : otherwise_ms;
}

enum adplat_verdict adplat_verdict(const char *format, const struct outbound_result *r, char *why,
                                   size_t cap)
{
    why[0] = '\0';
    if (r->status == 0 || (r->status >= 200 && r->status < 300) || r->status == 408 ||
        r->status == 429 || r->status >= 500 || r->status < 400)
        return ADPLAT_RETRY;
    json_t *v = json_loads(r->snippet, 0, NULL);
    json_t *e = json_object_get(v, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    json_int_t code = json_integer_value(json_object_get(e, "code"));
    bool meta = strcmp(format, "meta") == 0;
    bool rejected = r->status == 401 || r->status == 403 ||
                    (meta && (code == 190 || (type && strcmp(type, "OAuthException") == 0 &&
                                              (code == 102 || code == 10 || code == 200))));
    if (rejected)
        snprintf(why, cap, "credential rejected by %s (HTTP %d%s%s%s%.120s)", meta ? "Meta" : "GA4",
                 r->status, type ? ", " : "", type ? type : "", msg ? ": " : "", msg ? msg : "");
    else
        snprintf(why, cap, "refused by %s (HTTP %d%s%.120s): not retried", meta ? "Meta" : "GA4",
                 r->status, msg ? ": " : "", msg ? msg : "");
    json_decref(v);
    return rejected ? ADPLAT_REJECTED : ADPLAT_DROP;
}
