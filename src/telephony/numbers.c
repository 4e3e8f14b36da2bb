/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Number management requests for Twilio (REST API 2010-04-01: AvailablePhoneNumbers and
 * IncomingPhoneNumbers, form bodies, HTTP Basic with AccountSid and auth token) and Telnyx
 * (API v2: available_phone_numbers, number_orders, phone_numbers, texml_applications, JSON
 * bodies, Bearer API key). See numbers.h; docs/telephony.md cites the providers' pages. */
#include "base/prelude.h"
#include "telephony/numbers.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>

bool tel_urlencode_cat(char *dst, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(dst);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (keep ? 1 : 3) >= cap)
            return false;
        if (keep) {
            dst[n++] = (char)*p;
        } else {
            dst[n++] = '%';
            dst[n++] = hex[*p >> 4];
            dst[n++] = hex[*p & 15];
        }
    }
    dst[n] = '\0';
    return true;
}

/* Appends printf text to dst. false when it does not fit. */
static bool cat(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool cat(char *dst, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(dst);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(dst + n, cap - n, fmt, ap);
    va_end(ap);
    return k >= 0 && (size_t)k < cap - n;
}

/* "&name=value" (or "name=value" first), both percent-encoded ("filter[limit]" is sent as
 * "filter%5Blimit%5D": brackets are not allowed unencoded in a query, RFC 3986). */
static bool param(char *dst, size_t cap, const char *name, const char *value)
{
    return cat(dst, cap, "%s", dst[0] ? "&" : "") && tel_urlencode_cat(dst, cap, name) &&
           cat(dst, cap, "=") && tel_urlencode_cat(dst, cap, value);
}

static bool empty(const char *s)
{
    return !s || !*s;
}

/* Values that go into a URL path must be plain ids. */
static bool path_safe(const char *s)
{
    if (empty(s))
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '+')
            return false;
    return true;
}

static int cred_ok(const struct tel_api_cred *c)
{
    return c && !empty(c->base_url) && !empty(c->secret) ? ERR_OK : ERR_INVALID;
}

/* ==== Twilio =================================================================================
 */

static int tw_begin(const struct tel_api_cred *c, const char *method, struct tel_api_req *r)
{
    memset(r, 0, sizeof(*r));
    if (cred_ok(c) || !path_safe(c->account))
        return ERR_INVALID;
    r->method = method;
    if (!cat(r->userpwd, sizeof(r->userpwd), "%s:%s", c->account, c->secret) ||
        !cat(r->url, sizeof(r->url), "%s/2010-04-01/Accounts/%s/", c->base_url, c->account))
        return ERR_TOOBIG;
    return ERR_OK;
}

static int tw_search(const struct tel_api_cred *c, const struct tel_search *q,
                     struct tel_api_req *r)
{
    int rc = tw_begin(c, "GET", r);
    if (rc)
        return rc;
    const char *country = empty(q->country) ? "US" : q->country;
    if (!path_safe(country))
        return ERR_INVALID;
    char qs[256] = "";
    bool ok = true;
    if (!empty(q->area_code))
        ok = param(qs, sizeof(qs), "AreaCode", q->area_code);
    else if (!empty(q->region))
        ok = param(qs, sizeof(qs), "InRegion", q->region);
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", q->limit < 1 ? 1 : q->limit > 50 ? 50 : q->limit);
    ok = ok && param(qs, sizeof(qs), "VoiceEnabled", "true") &&
         param(qs, sizeof(qs), "PageSize", limit);
    if (!ok || !cat(r->url, sizeof(r->url), "AvailablePhoneNumbers/%s/Local.json?%s", country, qs))
        return ERR_TOOBIG;
    return ERR_OK;
}

/* The array named key of the JSON object body. NULL when absent. The caller decrefs root. */
static json_t *array_of(const char *body, const char *key, json_t **root)
{
    *root = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
    json_t *a = json_is_object(*root) ? json_object_get(*root, key) : NULL;
    return json_is_array(a) ? a : NULL;
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Copies an E.164 number from a provider's answer (it must look like one). */
static bool take_number(char *dst, size_t cap, const char *s)
{
    if (empty(s) || s[0] != '+' || strlen(s) >= cap || strlen(s) < 8)
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    str_copy(dst, cap, s);
    return true;
}

static int parse_list(const char *body, const char *key, struct tel_available *out, size_t cap,
                      size_t *n)
{
    *n = 0;
    json_t *root;
    json_t *a = array_of(body, key, &root);
    if (!a) {
        json_decref(root);
        return ERR_INVALID;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (*n < cap && json_is_object(v) &&
            take_number(out[*n].number, sizeof(out[*n].number), str_of(v, "phone_number")))
            (*n)++;
    }
    json_decref(root);
    return ERR_OK;
}

static int tw_parse_search(const char *body, struct tel_available *out, size_t cap, size_t *n)
{
    return parse_list(body, "available_phone_numbers", out, cap, n);
}

/* VoiceUrl, VoiceMethod, StatusCallback, StatusCallbackMethod. */
static bool tw_hooks(char *body, size_t cap, const struct tel_hooks *h)
{
    return param(body, cap, "VoiceUrl", h->voice_url) && param(body, cap, "VoiceMethod", "POST") &&
           (empty(h->status_url) || (param(body, cap, "StatusCallback", h->status_url) &&
                                     param(body, cap, "StatusCallbackMethod", "POST")));
}

static int tw_buy(const struct tel_api_cred *c, const char *number, const char *key,
                  const struct tel_hooks *h, struct tel_api_req *r)
{
    int rc = tw_begin(c, "POST", r);
    if (rc)
        return rc;
    if (empty(number) || empty(key) || !h || empty(h->voice_url))
        return ERR_INVALID;
    char name[64];
    snprintf(name, sizeof(name), TEL_KEY_PREFIX "%s", key);
    r->content_type = "application/x-www-form-urlencoded";
    if (!cat(r->url, sizeof(r->url), "IncomingPhoneNumbers.json") ||
        !param(r->body, sizeof(r->body), "PhoneNumber", number) ||
        !param(r->body, sizeof(r->body), "FriendlyName", name) ||
        !tw_hooks(r->body, sizeof(r->body), h))
        return ERR_TOOBIG;
    return ERR_OK;
}

static int tw_owned(json_t *o, struct tel_owned *out)
{
    memset(out, 0, sizeof(*out));
    const char *sid = str_of(o, "sid");
    if (!json_is_object(o) || !path_safe(sid) || strlen(sid) >= sizeof(out->ref) ||
        !take_number(out->number, sizeof(out->number), str_of(o, "phone_number")))
        return ERR_INVALID;
    str_copy(out->ref, sizeof(out->ref), sid);
    return ERR_OK;
}

static int tw_parse_buy(const char *body, struct tel_owned *out)
{
    json_t *root = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
    int rc = tw_owned(root, out);
    json_decref(root);
    return rc;
}

static int tw_configure(const struct tel_api_cred *c, const struct tel_owned *o,
                        const struct tel_hooks *h, struct tel_api_req *r, size_t *n)
{
    *n = 0;
    int rc = tw_begin(c, "POST", &r[0]);
    if (rc)
        return rc;
    if (!path_safe(o->ref) || !h || empty(h->voice_url))
        return ERR_INVALID;
    r[0].content_type = "application/x-www-form-urlencoded";
    if (!cat(r[0].url, sizeof(r[0].url), "IncomingPhoneNumbers/%s.json", o->ref) ||
        !tw_hooks(r[0].body, sizeof(r[0].body), h))
        return ERR_TOOBIG;
    *n = 1;
    return ERR_OK;
}

static int tw_find(const struct tel_api_cred *c, const char *key, const char *number,
                   struct tel_api_req *r)
{
    int rc = tw_begin(c, "GET", r);
    if (rc)
        return rc;
    char qs[256] = "";
    char name[64];
    snprintf(name, sizeof(name), TEL_KEY_PREFIX "%s", key ? key : "");
    bool ok = key ? param(qs, sizeof(qs), "FriendlyName", name)
                  : !empty(number) && param(qs, sizeof(qs), "PhoneNumber", number);
    if (!ok)
        return ERR_INVALID;
    if (!cat(r->url, sizeof(r->url), "IncomingPhoneNumbers.json?%s", qs))
        return ERR_TOOBIG;
    return ERR_OK;
}

static int tw_parse_find(const char *body, struct tel_owned *out)
{
    json_t *root;
    json_t *a = array_of(body, "incoming_phone_numbers", &root);
    int rc = a ? ERR_NOTFOUND : ERR_INVALID;
    if (a && json_array_size(a) > 0)
        rc = tw_owned(json_array_get(a, 0), out);
    json_decref(root);
    return rc;
}

static int tw_release(const struct tel_api_cred *c, const struct tel_owned *o,
                      struct tel_api_req *r)
{
    int rc = tw_begin(c, "DELETE", r);
    if (rc)
        return rc;
    if (!path_safe(o->ref))
        return ERR_INVALID;
    return cat(r->url, sizeof(r->url), "IncomingPhoneNumbers/%s.json", o->ref) ? ERR_OK
                                                                               : ERR_TOOBIG;
}

const struct tel_numbers tel_numbers_twilio = {
    .base_url = "https://api.twilio.com",
    .search = tw_search,
    .parse_search = tw_parse_search,
    .buy = tw_buy,
    .parse_buy = tw_parse_buy,
    .configure = tw_configure,
    .find = tw_find,
    .parse_find = tw_parse_find,
    .release = tw_release,
};

/* ==== Telnyx =================================================================================
 */

static int tx_begin(const struct tel_api_cred *c, const char *method, struct tel_api_req *r)
{
    memset(r, 0, sizeof(*r));
    if (cred_ok(c) || strpbrk(c->secret, "\r\n"))
        return ERR_INVALID;
    r->method = method;
    if (!cat(r->auth_header, sizeof(r->auth_header), "Authorization: Bearer %s", c->secret) ||
        !cat(r->url, sizeof(r->url), "%s/v2/", c->base_url))
        return ERR_TOOBIG;
    return ERR_OK;
}

/* Writes v as the request's JSON body (takes v). */
static int tx_body(struct tel_api_req *r, json_t *v)
{
    if (!v)
        return ERR_NOMEM;
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return ERR_NOMEM;
    bool fits = strlen(s) < sizeof(r->body);
    if (fits)
        str_copy(r->body, sizeof(r->body), s);
    free(s);
    r->content_type = "application/json";
    return fits ? ERR_OK : ERR_TOOBIG;
}

static int tx_search(const struct tel_api_cred *c, const struct tel_search *q,
                     struct tel_api_req *r)
{
    int rc = tx_begin(c, "GET", r);
    if (rc)
        return rc;
    char qs[512] = "";
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", q->limit < 1 ? 1 : q->limit > 50 ? 50 : q->limit);
    bool ok = param(qs, sizeof(qs), "filter[country_code]", empty(q->country) ? "US" : q->country);
    if (!empty(q->area_code))
        ok = ok && param(qs, sizeof(qs), "filter[national_destination_code]", q->area_code);
    else if (!empty(q->region))
        ok = ok && param(qs, sizeof(qs), "filter[administrative_area]", q->region);
    ok = ok && param(qs, sizeof(qs), "filter[features][]", "voice") &&
         param(qs, sizeof(qs), "filter[limit]", limit);
    if (!ok || !cat(r->url, sizeof(r->url), "available_phone_numbers?%s", qs))
        return ERR_TOOBIG;
    return ERR_OK;
}

static int tx_parse_search(const char *body, struct tel_available *out, size_t cap, size_t *n)
{
    return parse_list(body, "data", out, cap, n);
}

static int tx_buy(const struct tel_api_cred *c, const char *number, const char *key,
                  const struct tel_hooks *h, struct tel_api_req *r)
{
    (void)h; /* the voice URL is the TeXML application's (configure) */
    int rc = tx_begin(c, "POST", r);
    if (rc)
        return rc;
    if (empty(number) || empty(key))
        return ERR_INVALID;
    char ref[64];
    snprintf(ref, sizeof(ref), TEL_KEY_PREFIX "%s", key);
    if (!cat(r->url, sizeof(r->url), "number_orders"))
        return ERR_TOOBIG;
    json_t *v = json_pack("{s:[{s:s}],s:s}", "phone_numbers", "phone_number", number,
                          "customer_reference", ref);
    if (v && !empty(c->account))
        json_object_set_new(v, "connection_id", json_string(c->account));
    return tx_body(r, v);
}

static int tx_parse_buy(const char *body, struct tel_owned *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_loads(body ? body : "", JSON_REJECT_DUPLICATES, NULL);
    json_t *data = json_is_object(root) ? json_object_get(root, "data") : NULL;
    json_t *nums = json_is_object(data) ? json_object_get(data, "phone_numbers") : NULL;
    json_t *first = json_is_array(nums) ? json_array_get(nums, 0) : NULL;
    /* The order's phone_numbers carry the order line's id, not the number's: find gives it. */
    int rc = json_is_object(first) &&
                     take_number(out->number, sizeof(out->number), str_of(first, "phone_number"))
                 ? ERR_OK
                 : ERR_INVALID;
    json_decref(root);
    return rc;
}

static int tx_configure(const struct tel_api_cred *c, const struct tel_owned *o,
                        const struct tel_hooks *h, struct tel_api_req *r, size_t *n)
{
    *n = 0;
    if (!path_safe(c ? c->account : NULL) || !path_safe(o->ref) || !h || empty(h->voice_url))
        return ERR_INVALID;
    /* 1: the TeXML application's voice webhook (and status callback); 2: the number on it. */
    int rc = tx_begin(c, "PATCH", &r[0]);
    if (rc)
        return rc;
    if (!cat(r[0].url, sizeof(r[0].url), "texml_applications/%s", c->account))
        return ERR_TOOBIG;
    json_t *app = json_pack("{s:s,s:s,s:s}", "friendly_name", "opendni", "voice_url", h->voice_url,
                            "voice_method", "post");
    if (app && !empty(h->status_url)) {
        json_object_set_new(app, "status_callback", json_string(h->status_url));
        json_object_set_new(app, "status_callback_method", json_string("post"));
    }
    if ((rc = tx_body(&r[0], app)))
        return rc;
    if ((rc = tx_begin(c, "PATCH", &r[1])))
        return rc;
    if (!cat(r[1].url, sizeof(r[1].url), "phone_numbers/%s", o->ref))
        return ERR_TOOBIG;
    if ((rc = tx_body(&r[1], json_pack("{s:s}", "connection_id", c->account))))
        return rc;
    *n = 2;
    return ERR_OK;
}

static int tx_find(const struct tel_api_cred *c, const char *key, const char *number,
                   struct tel_api_req *r)
{
    int rc = tx_begin(c, "GET", r);
    if (rc)
        return rc;
    char qs[256] = "";
    char ref[64];
    snprintf(ref, sizeof(ref), TEL_KEY_PREFIX "%s", key ? key : "");
    bool ok = key ? param(qs, sizeof(qs), "filter[customer_reference]", ref)
                  : !empty(number) && param(qs, sizeof(qs), "filter[phone_number]", number);
    if (!ok)
        return ERR_INVALID;
    return cat(r->url, sizeof(r->url), "phone_numbers?%s", qs) ? ERR_OK : ERR_TOOBIG;
}

static int tx_parse_find(const char *body, struct tel_owned *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root;
    json_t *a = array_of(body, "data", &root);
    int rc = a ? ERR_NOTFOUND : ERR_INVALID;
    json_t *o = a ? json_array_get(a, 0) : NULL;
    if (json_is_object(o)) {
        const char *id = str_of(o, "id");
        rc = path_safe(id) && strlen(id) < sizeof(out->ref) &&
                     take_number(out->number, sizeof(out->number), str_of(o, "phone_number"))
                 ? ERR_OK
                 : ERR_INVALID;
        if (rc == ERR_OK)
            str_copy(out->ref, sizeof(out->ref), id);
    }
    json_decref(root);
    return rc;
}

static int tx_release(const struct tel_api_cred *c, const struct tel_owned *o,
                      struct tel_api_req *r)
{
    int rc = tx_begin(c, "DELETE", r);
    if (rc)
        return rc;
    if (!path_safe(o->ref))
        return ERR_INVALID;
    return cat(r->url, sizeof(r->url), "phone_numbers/%s", o->ref) ? ERR_OK : ERR_TOOBIG;
}

const struct tel_numbers tel_numbers_telnyx = {
    .base_url = "https://api.telnyx.com",
    .search = tx_search,
    .parse_search = tx_parse_search,
    .buy = tx_buy,
    .parse_buy = tx_parse_buy,
    .configure = tx_configure,
    .find = tx_find,
    .parse_find = tx_parse_find,
    .release = tx_release,
};
