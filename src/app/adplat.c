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
#include "report/gads.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/outbox.h"
#include "app/outbound.h"
#include "app/zones.h"

#define MAX_TARGETS 32

static char *dump(json_t *v);

bool adplat_format(const char *format)
{
    return strcmp(format, "ga4") == 0 || strcmp(format, "meta") == 0 ||
           strcmp(format, "google_ads") == 0;
}

bool adplat_takes(const char *format, const char *type)
{
    if (strcmp(format, "ga4") == 0)
        return strcmp(type, "call.completed") == 0 || strcmp(type, "conversion.created") == 0;
    if (strcmp(format, "meta") == 0 || strcmp(format, "google_ads") == 0)
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
    if (strcmp(format, "google_ads") == 0) {
        struct adplat_gads_cred c;
        char packed[STORE_DEST_SECRET_CLEAR_MAX];
        if (!credential || !adplat_gads_cred_parse(credential, &c))
            return errf(eb, ERR_INVALID, "refresh_token",
                        "client_id, client_secret and refresh_token are required");
        return adplat_gads_credential(c.client_id, c.client_secret, c.refresh_token, packed,
                                      sizeof(packed), eb);
    }
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

/* ---- Google Ads (Data Manager API) ---- */

static int oauth_char(int c)
{
    return token_char(c) || c == '/' || c == '+' || c == '=';
}

static const char *after_key(const char *p, const char *key)
{
    size_t n = strlen(key);
    return strncmp(p, key, n) == 0 && p[n] == '=' ? p + n + 1 : NULL;
}

bool adplat_gads_config_parse(const char *url, struct adplat_gads_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    static const char head[] = ADPLAT_GADS_BASE ADPLAT_GADS_INGEST "#";
    if (strncmp(url, head, sizeof(head) - 1) != 0)
        return false;
    snprintf(cfg->time_zone, sizeof(cfg->time_zone), "UTC");
    static const struct {
        const char *key;
        size_t off, cap;
    } keys[] = {
        {"customer", offsetof(struct adplat_gads_config, customer_id), sizeof(cfg->customer_id)},
        {"login", offsetof(struct adplat_gads_config, login_customer_id),
         sizeof(cfg->login_customer_id)},
        {"action", offsetof(struct adplat_gads_config, action_id), sizeof(cfg->action_id)},
        {"tz", offsetof(struct adplat_gads_config, time_zone), sizeof(cfg->time_zone)},
        {"ad_user_data", offsetof(struct adplat_gads_config, ad_user_data),
         sizeof(cfg->ad_user_data)},
        {"ad_personalization", offsetof(struct adplat_gads_config, ad_personalization),
         sizeof(cfg->ad_personalization)},
    };
    for (const char *p = url + sizeof(head) - 1; *p;) {
        size_t k = strcspn(p, "&");
        if (strncmp(p, "validate_only=true", k) == 0 && k == strlen("validate_only=true"))
            cfg->validate_only = true;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            const char *v = after_key(p, keys[i].key);
            if (v && v < p + k)
                snprintf((char *)cfg + keys[i].off, keys[i].cap, "%.*s", (int)(p + k - v), v);
        }
        p += k + (p[k] == '&');
    }
    return cfg->customer_id[0] && cfg->action_id[0];
}

static bool consent_ok(const char *v)
{
    return !v[0] || strcmp(v, "granted") == 0 || strcmp(v, "denied") == 0;
}

int adplat_gads_destination_url(const struct adplat_gads_config *cfg, char *url, size_t cap,
                                struct errbuf *eb)
{
    if (!all(cfg->customer_id, 10, 10, isdigit))
        return errf(eb, ERR_INVALID, "customer_id",
                    "customer_id is the Google Ads account's 10-digit customer id");
    if (cfg->login_customer_id[0] && !all(cfg->login_customer_id, 10, 10, isdigit))
        return errf(eb, ERR_INVALID, "login_customer_id",
                    "login_customer_id is the manager account's 10-digit customer id");
    if (!all(cfg->action_id, 1, 20, isdigit))
        return errf(eb, ERR_INVALID, "conversion_action_id",
                    "conversion_action_id is the conversion action's numeric id");
    const struct zone *z;
    if (zones_get(cfg->time_zone, &z) != ERR_OK)
        return errf(eb, ERR_INVALID, "time_zone",
                    "time_zone is an IANA zone name such as "
                    "America/Chicago, or UTC");
    if (!consent_ok(cfg->ad_user_data) || !consent_ok(cfg->ad_personalization))
        return errf(eb, ERR_INVALID, "consent",
                    "consent's ad_user_data and ad_personalization are granted or denied");
    int k =
        snprintf(url, cap, ADPLAT_GADS_BASE ADPLAT_GADS_INGEST "#customer=%s&action=%s%s%s&tz=%s",
                 cfg->customer_id, cfg->action_id, cfg->login_customer_id[0] ? "&login=" : "",
                 cfg->login_customer_id, cfg->time_zone);
    if (k > 0 && (size_t)k < cap && cfg->ad_user_data[0])
        k += snprintf(url + k, cap - (size_t)k, "&ad_user_data=%s", cfg->ad_user_data);
    if (k > 0 && (size_t)k < cap && cfg->ad_personalization[0])
        k += snprintf(url + k, cap - (size_t)k, "&ad_personalization=%s", cfg->ad_personalization);
    if (k > 0 && (size_t)k < cap && cfg->validate_only)
        k += snprintf(url + k, cap - (size_t)k, "&validate_only=true");
    if (k <= 0 || (size_t)k >= cap)
        return errf(eb, ERR_INVALID, "time_zone", "the destination's settings are too long");
    return ERR_OK;
}

int adplat_gads_credential(const char *client_id, const char *client_secret,
                           const char *refresh_token, char *out, size_t cap, struct errbuf *eb)
{
    struct adplat_gads_cred c;
    if (!client_id || !all(client_id, 8, sizeof(c.client_id) - 1, token_char))
        return errf(eb, ERR_INVALID, "client_id",
                    "client_id is the OAuth client's id (…apps.googleusercontent.com)");
    if (!client_secret || !all(client_secret, 8, sizeof(c.client_secret) - 1, token_char))
        return errf(eb, ERR_INVALID, "client_secret",
                    "client_secret is the OAuth client's secret, 8 to %zu letters, digits or -_.~",
                    sizeof(c.client_secret) - 1);
    if (!refresh_token || !all(refresh_token, 8, sizeof(c.refresh_token) - 1, oauth_char))
        return errf(eb, ERR_INVALID, "refresh_token",
                    "refresh_token is the token Google issued for the client (8 to %zu of "
                    "A-Z a-z 0-9 -_.~/+=)",
                    sizeof(c.refresh_token) - 1);
    int k = snprintf(out, cap, "%s\n%s\n%s", client_id, client_secret, refresh_token);
    if (k <= 0 || (size_t)k >= cap)
        return errf(eb, ERR_INVALID, "refresh_token", "the credential is too long");
    return ERR_OK;
}

bool adplat_gads_cred_parse(const char *secret, struct adplat_gads_cred *c)
{
    memset(c, 0, sizeof(*c));
    const char *a = strchr(secret, '\n');
    const char *b = a ? strchr(a + 1, '\n') : NULL;
    if (!a || !b || strchr(b + 1, '\n') || (size_t)(a - secret) >= sizeof(c->client_id) ||
        (size_t)(b - a - 1) >= sizeof(c->client_secret) ||
        strlen(b + 1) >= sizeof(c->refresh_token))
        return false;
    snprintf(c->client_id, sizeof(c->client_id), "%.*s", (int)(a - secret), secret);
    snprintf(c->client_secret, sizeof(c->client_secret), "%.*s", (int)(b - a - 1), a + 1);
    snprintf(c->refresh_token, sizeof(c->refresh_token), "%s", b + 1);
    return c->client_id[0] && c->client_secret[0] && c->refresh_token[0];
}

/* application/x-www-form-urlencoded value of s. */
static void form_value(struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            buf_addc(b, (char)ch);
        else
            buf_addf(b, "%%%02X", ch);
    }
}

char *adplat_gads_token_request(const struct adplat_gads_cred *c, char *url, size_t cap)
{
    const char *test = testhooks_provider_api("google_oauth"); /* NULL in production builds */
    snprintf(url, cap, "%s" ADPLAT_GOOGLE_TOKEN_PATH, test ? test : ADPLAT_GOOGLE_TOKEN_BASE);
    struct buf b;
    buf_init(&b, 4096);
    buf_adds(&b, "grant_type=refresh_token&client_id=");
    form_value(&b, c->client_id);
    buf_adds(&b, "&client_secret=");
    form_value(&b, c->client_secret);
    buf_adds(&b, "&refresh_token=");
    form_value(&b, c->refresh_token);
    return buf_detach(&b, NULL);
}

void adplat_gads_ingest_url(char *url, size_t cap)
{
    const char *test = testhooks_provider_api("google_ads"); /* NULL in production builds */
    snprintf(url, cap, "%s" ADPLAT_GADS_INGEST, test ? test : ADPLAT_GADS_BASE);
}

static json_t *account_json(const char *id)
{
    return json_pack("{s:s,s:s}", "accountType", "GOOGLE_ADS", "accountId", id);
}

static const char *consent_enum(const char *v)
{
    return strcmp(v, "granted") == 0 ? "CONSENT_GRANTED" : "CONSENT_DENIED";
}

char *adplat_gads_request_body(const struct adplat_gads_config *cfg, const char *const *events,
                               size_t n)
{
    json_t *dest = json_pack("{s:o,s:s}", "operatingAccount", account_json(cfg->customer_id),
                             "productDestinationId", cfg->action_id);
    if (cfg->login_customer_id[0])
        json_object_set_new(dest, "loginAccount", account_json(cfg->login_customer_id));
    json_t *evs = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(events[i], 0, NULL);
        if (!json_is_object(e)) {
            json_decref(e);
            json_decref(evs);
            json_decref(dest);
            return NULL;
        }
        json_array_append_new(evs, e);
    }
    json_t *req = json_pack("{s:[o],s:o}", "destinations", dest, "events", evs);
    if (cfg->ad_user_data[0] || cfg->ad_personalization[0]) {
        json_t *c = json_object();
        if (cfg->ad_user_data[0])
            json_object_set_new(c, "adUserData", json_string(consent_enum(cfg->ad_user_data)));
        if (cfg->ad_personalization[0])
            json_object_set_new(c, "adPersonalization",
                                json_string(consent_enum(cfg->ad_personalization)));
        json_object_set_new(req, "consent", c);
    }
    if (cfg->validate_only)
        json_object_set_new(req, "validateOnly", json_true());
    return dump(req);
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

/* "yyyy-mm-ddThh:mm:ss+hh:mm": at (ms) in zone (NULL: UTC). */
static void rfc3339_local(int64_t at, const struct zone *zone, char *out, size_t cap)
{
    int32_t off = zone ? zone_offset(zone, at / 1000) : 0;
    time_t local = (time_t)(at / 1000 + off);
    struct tm tm;
    gmtime_r(&local, &tm);
    char day[32];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    int32_t a = off < 0 ? -off : off;
    snprintf(out, cap, "%s%c%02d:%02d", day, off < 0 ? '-' : '+', (int)(a / 3600),
             (int)(a % 3600 / 60));
}

char *adplat_gads_event(const struct adplat_call *c, const struct calls_settings *cs,
                        const struct zone *zone)
{
    const struct st_call *call = c->call;
    if (!c->cv ||
        !calls_gads_click_wanted(cs, call->method, call->confidence, c->click_at, c->cv->at))
        return NULL;
    int pick = gads_pick_id(c->gclid, c->gbraid, c->wbraid);
    if (pick < 0)
        return NULL;
    static const char *const names[] = {
        [GADS_GCLID] = "gclid", [GADS_GBRAID] = "gbraid", [GADS_WBRAID] = "wbraid"};
    const char *ids[] = {
        [GADS_GCLID] = c->gclid, [GADS_GBRAID] = c->gbraid, [GADS_WBRAID] = c->wbraid};
    char ts[48];
    rfc3339_local(c->cv->at, zone, ts, sizeof(ts));
    /* recorded without a value: the rule's default value (as the CSV export) */
    double value = c->cv->value > 0 ? c->cv->value : cs->rules.value;
    json_t *ev =
        json_pack("{s:s,s:s,s:{s:s},s:f,s:s,s:s}", "transactionId", call->ext_id, "eventTimestamp",
                  ts, "adIdentifiers", names[pick], ids[pick], "conversionValue", value, "currency",
                  c->cv->currency, "eventSource", "PHONE");
    return dump(ev);
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

struct ga_seen {
    char detail[ADPLAT_GA_DETAIL_MAX];
    char click[3][GADS_CLICK_ID_MAX + 1]; /* gclid, gbraid, wbraid */
};

/* The session's GA ids and fbclid. */
static int session_ids(struct store *s, int64_t account_id, int64_t session_id,
                       struct adplat_call *c, struct ga_seen *g, char *client, char *fbclid,
                       size_t fbclid_cap)
{
    struct st_session ss;
    int rc = store_session_by_id(s, account_id, session_id, &ss);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    json_t *ids = ss.click_ids[0] ? json_loads(ss.click_ids, 0, NULL) : NULL;
    const char *fb = json_string_value(json_object_get(ids, "fbclid"));
    if (fb) {
        snprintf(fbclid, fbclid_cap, "%s", fb);
        c->fbclid_at = ss.created_at;
    }
    static const char *const gkeys[] = {"gclid", "gbraid", "wbraid"};
    for (size_t i = 0; i < ARRAY_SIZE(gkeys); i++) {
        const char *v = json_string_value(json_object_get(ids, gkeys[i]));
        snprintf(g->click[i], sizeof(g->click[i]), "%s", v ? v : "");
    }
    c->gclid = g->click[0];
    c->gbraid = g->click[1];
    c->wbraid = g->click[2];
    c->click_at = ss.created_at;
    json_decref(ids);
    /* the newest ga_client event: one index lookup in the call's transaction */
    rc = store_event_last_detail(s, ss.account_id, session_id, "ga_client", g->detail,
                                 sizeof(g->detail));
    if (rc)
        return rc;
    size_t k = strcspn(g->detail, " ");
    snprintf(client, ADPLAT_GA_DETAIL_MAX, "%.*s", (int)k, g->detail);
    c->ga_session_id = g->detail[k] ? g->detail + k + 1 : "";
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

/* A google_ads destination's event for c (*body, NULL when none); the account's conversion rule
 * read once into *cs. */
static int gads_body(struct store *s, const struct st_destination *d, const struct adplat_call *c,
                     struct calls_settings **cs, char **body)
{
    *body = NULL;
    struct adplat_gads_config cfg;
    if (!c->cv || !c->click_at || !adplat_gads_config_parse(d->url, &cfg))
        return ERR_OK;
    if (!*cs) {
        struct st_account a;
        int rc = store_account_by_id(s, c->call->account_id, &a);
        if (rc)
            return rc;
        *cs = xcalloc(1, sizeof(**cs));
        calls_settings_parse(a.settings, *cs, NULL);
    }
    const struct zone *z = NULL;
    if (zones_get(cfg.time_zone, &z) != ERR_OK) /* checked when it was configured */
        log_warn("adplat", "time zone %s of %s cannot be read: UTC", cfg.time_zone, d->ext_id);
    *body = adplat_gads_event(c, *cs, z);
    return ERR_OK;
}

int adplat_emit(struct app *app, struct store *s, const struct st_call *call,
                const struct st_conversion *cv, const char *type, int64_t now)
{
    struct ad_targets *t = xcalloc(1, sizeof(*t));
    t->type = type;
    int rc = store_destination_targets(s, call->account_id, add_ad_target, t);
    struct adplat_call c = {.call = call,
                            .cv = cv,
                            .ga_client_id = "",
                            .ga_session_id = "",
                            .gclid = "",
                            .gbraid = "",
                            .wbraid = ""};
    struct ga_seen *g = xcalloc(1, sizeof(*g));
    struct calls_settings *cs = NULL;
    char client[ADPLAT_GA_DETAIL_MAX] = "";
    char fbclid[512] = "";
    if (rc == ERR_OK && t->n && call->session_id)
        rc = session_ids(s, call->account_id, call->session_id, &c, g, client, fbclid,
                         sizeof(fbclid));
    c.ga_client_id = client;
    c.fbclid = fbclid;
    for (size_t i = 0; rc == ERR_OK && i < t->n; i++) {
        bool ga4 = strcmp(t->d[i].format, "ga4") == 0;
        char *body = NULL;
        if (strcmp(t->d[i].format, "google_ads") == 0)
            rc = gads_body(s, &t->d[i], &c, &cs, &body);
        else
            body = ga4 ? adplat_ga4_body(&c, type) : adplat_meta_body(&c);
        if (body && strlen(body) < STORE_BODY_MAX)
            rc = write_one(s, &t->d[i], type, body, now);
        else if (body)
            log_error("adplat", "event %s of call %s too large for %s", type, call->ext_id,
                      t->d[i].ext_id);
        free(body);
    }
    free(cs);
    free(g);
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

/* ---- Google Ads answers ---- */

static const char *answer_text(const struct outbound_result *r)
{
    return r->body ? r->body : r->snippet;
}

static bool transient(int status)
{
    return status == 0 || status == 408 || status == 429 || status >= 500 || status < 200 ||
           (status >= 300 && status < 400);
}

enum adplat_verdict adplat_gads_token_answer(const struct outbound_result *r, char *token,
                                             size_t cap, int64_t *expires_in_s, char *why,
                                             size_t why_cap)
{
    token[0] = '\0';
    why[0] = '\0';
    *expires_in_s = 0;
    json_t *v = json_loads(answer_text(r), 0, NULL);
    const char *tok = json_string_value(json_object_get(v, "access_token"));
    const char *err = json_string_value(json_object_get(v, "error"));
    const char *desc = json_string_value(json_object_get(v, "error_description"));
    enum adplat_verdict out = ADPLAT_RETRY;
    if (r->status >= 200 && r->status < 300 && tok && tok[0] && strlen(tok) < cap &&
        all(tok, 1, cap - 1, oauth_char)) {
        snprintf(token, cap, "%s", tok);
        json_int_t e = json_integer_value(json_object_get(v, "expires_in"));
        *expires_in_s = e > 0 ? (int64_t)e : 3600;
    } else if (r->status >= 200 && r->status < 300) {
        snprintf(why, why_cap, "Google's token endpoint answered without a usable access_token");
    } else if (transient(r->status)) {
        if (r->status)
            snprintf(why, why_cap, "Google's token endpoint answered HTTP %d", r->status);
        else
            snprintf(why, why_cap, "Google's token endpoint: %.200s", r->error);
    } else {
        out = ADPLAT_REJECTED; /* invalid_grant, invalid_client, unauthorized_client, … */
        snprintf(why, why_cap, "credential rejected by Google (HTTP %d%s%.60s%s%.120s)", r->status,
                 err ? ", " : "", err ? err : "", desc ? ": " : "", desc ? desc : "");
    }
    json_decref(v);
    return out;
}

/* N of the first "events[N]" in field, or -1. */
static long event_index(const char *field)
{
    const char *p = field ? strstr(field, "events[") : NULL;
    if (!p)
        return -1;
    char *end = NULL;
    long i = strtol(p + 7, &end, 10);
    return end != p + 7 && *end == ']' && i >= 0 ? i : -1;
}

void adplat_gads_outcomes(const struct outbound_result *r, size_t n, enum adplat_gads_outcome *out,
                          char (*why)[ADPLAT_WHY_MAX], char (*detail)[ADPLAT_WHY_MAX])
{
    for (size_t i = 0; i < n; i++)
        why[i][0] = detail[i][0] = '\0';
    enum adplat_gads_outcome all_of = ADPLAT_GADS_DROP;
    if (r->status >= 200 && r->status < 300)
        all_of = ADPLAT_GADS_DELIVERED;
    else if (transient(r->status))
        all_of = ADPLAT_GADS_RETRY;
    else if (r->status == 401)
        all_of = ADPLAT_GADS_REAUTH;
    else if (r->status == 403)
        all_of = ADPLAT_GADS_REJECTED;
    json_t *v = all_of == ADPLAT_GADS_DELIVERED || all_of == ADPLAT_GADS_RETRY
                    ? NULL
                    : json_loads(answer_text(r), 0, NULL);
    json_t *e = json_object_get(v, "error");
    const char *status = json_string_value(json_object_get(e, "status"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    for (size_t i = 0; i < n; i++) {
        out[i] = all_of;
        if (all_of == ADPLAT_GADS_REJECTED)
            snprintf(why[i], ADPLAT_WHY_MAX, "credential rejected by Google (HTTP 403%s%s%s%.120s)",
                     status ? " " : "", status ? status : "", msg ? ": " : "", msg ? msg : "");
        else if (all_of == ADPLAT_GADS_REAUTH)
            snprintf(why[i], ADPLAT_WHY_MAX, "credential rejected by Google (HTTP 401%s%s%s%.120s)",
                     status ? " " : "", status ? status : "", msg ? ": " : "", msg ? msg : "");
        else if (all_of == ADPLAT_GADS_DROP)
            snprintf(why[i], ADPLAT_WHY_MAX, "refused by Google (HTTP %d%s%s%s%.120s): not retried",
                     r->status, status ? " " : "", status ? status : "", msg ? ": " : "",
                     msg ? msg : "");
    }
    if (all_of != ADPLAT_GADS_DROP) {
        json_decref(v);
        return;
    }
    /* The API fails a request fast: a field violation naming events[N] refuses that event, and
     * the others of the request were not processed. */
    size_t refused = 0;
    long first = -1;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(e, "details"), i, d)
    {
        size_t j;
        json_t *fv;
        json_array_foreach(json_object_get(d, "fieldViolations"), j, fv)
        {
            const char *field = json_string_value(json_object_get(fv, "field"));
            const char *reason = json_string_value(json_object_get(fv, "reason"));
            const char *desc = json_string_value(json_object_get(fv, "description"));
            long k = event_index(field);
            if (k < 0 || (size_t)k >= n)
                continue;
            if (out[k] != ADPLAT_GADS_RETRY_NOW) /* its first violation says why */
                snprintf(why[k], ADPLAT_WHY_MAX, "refused by Google: %.40s%s%.80s%s%.100s",
                         reason ? reason : "", reason ? " " : "", field, desc ? ": " : "",
                         desc ? desc : "");
            if (out[k] != ADPLAT_GADS_RETRY_NOW) {
                char *t = json_dumps(fv, JSON_COMPACT);
                snprintf(detail[k], ADPLAT_WHY_MAX, "%s", t ? t : "");
                free(t);
            }
            out[k] = ADPLAT_GADS_RETRY_NOW; /* marked; turned into DROP below */
            refused++;
            if (first < 0)
                first = k;
        }
    }
    if (refused == 0) {
        json_decref(v);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        if (out[k] == ADPLAT_GADS_RETRY_NOW) {
            out[k] = ADPLAT_GADS_DROP;
            continue;
        }
        out[k] = ADPLAT_GADS_RETRY_NOW;
        snprintf(why[k], ADPLAT_WHY_MAX,
                 "not processed: Google refused events[%ld] of the same request; sent again",
                 first);
    }
    json_decref(v);
}
