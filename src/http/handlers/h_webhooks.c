/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The webhooks API (API.md "Outbound webhooks"): destinations of the account's events and
 * alerts, their delivery log, a test send, manual redelivery and re-enabling. The sending
 * itself is app/outbox.c's; handlers parse, call it and format. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/adplat.h"
#include "app/app.h"
#include "app/outbox.h"
#include "app/records.h"

#define MAX_EVENTS 16
#define DELIVERIES_DEFAULT 100
#define DELIVERIES_MAX 1000

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

static json_t *time_or_null(int64_t at)
{
    return at ? json_time(at) : json_null();
}

static json_t *events_json(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, k));
        p += k + (p[k] == ',');
    }
    return a;
}

static json_t *destination_json(const struct st_destination *d)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:o,s:o,s:o}", "id", d->ext_id, "url", d->url,
                     "format", d->format, "events", events_json(d->events), "created",
                     json_time(d->created_at), "enabled", !d->disabled_at, "disabled_at",
                     time_or_null(d->disabled_at), "failing_since", time_or_null(d->failing_since),
                     "last_error", d->last_error[0] ? json_string(d->last_error) : json_null());
}

static int parse_events(json_t *o, const char **events, size_t *n, struct errbuf *eb)
{
    json_t *a = json_object_get(o, "events");
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MAX_EVENTS)
        return errf(eb, ERR_INVALID, "events", "events must be an array of 1 to %d event types",
                    MAX_EVENTS);
    *n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return errf(eb, ERR_INVALID, "events", "events must be strings");
        events[(*n)++] = json_string_value(v);
    }
    return ERR_OK;
}

/* format ga4 / meta: the platform's id and credential instead of a url; events optional. */
static int create_ad(struct http_req *req, json_t *o, const char *format, struct st_destination *d)
{
    bool ga4 = strcmp(format, "ga4") == 0;
    static const char *const ga4_keys[] = {"format", "measurement_id", "api_secret", "events",
                                           NULL};
    static const char *const meta_keys[] = {"format", "pixel_id", "access_token", "events", NULL};
    const char *id = NULL;
    const char *cred = NULL;
    const char *events[MAX_EVENTS];
    size_t n = 0;
    int rc = json_only_keys(o, ga4 ? ga4_keys : meta_keys, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, ga4 ? "measurement_id" : "pixel_id", &id, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, ga4 ? "api_secret" : "access_token", &cred, &req->eb);
    if (rc == ERR_OK && json_object_get(o, "events"))
        rc = parse_events(o, events, &n, &req->eb);
    if (rc == ERR_OK)
        rc = outbox_destination_add_ad(req->app, req->account.id, format, id, cred, events, n, d,
                                       &req->eb);
    return rc;
}

/* Copies the string field key of o (absent: left as it is) into out, without the dashes of a
 * customer id written "123-456-7890" when digits_only. */
static int copy_field(json_t *o, const char *key, char *out, size_t cap, bool digits_only,
                      struct errbuf *eb)
{
    const char *v = NULL;
    int rc = json_get_str(o, key, &v, eb);
    if (rc || !v)
        return rc;
    size_t j = 0;
    for (const char *p = v; *p; p++) {
        if (digits_only && *p == '-')
            continue;
        if (j + 1 >= cap)
            return errf(eb, ERR_INVALID, key, "%s is too long", key);
        out[j++] = *p;
    }
    out[j] = '\0';
    return ERR_OK;
}

/* format google_ads: the accounts, the conversion action, the zone, consent and the OAuth2
 * credential; it takes conversion.created only. */
static int create_gads(struct http_req *req, json_t *o, struct st_destination *d)
{
    static const char *const keys[] = {"format",
                                       "customer_id",
                                       "login_customer_id",
                                       "conversion_action_id",
                                       "time_zone",
                                       "consent",
                                       "validate_only",
                                       "client_id",
                                       "client_secret",
                                       "refresh_token",
                                       "events",
                                       NULL};
    static const char *const consent_keys[] = {"ad_user_data", "ad_personalization", NULL};
    struct adplat_gads_config cfg = {.time_zone = "UTC"};
    const char *client_id = NULL, *client_secret = NULL, *refresh_token = NULL;
    const char *events[MAX_EVENTS];
    size_t n = 0;
    json_t *consent = json_object_get(o, "consent");
    int rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "customer_id", cfg.customer_id, sizeof(cfg.customer_id), true, &req->eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "login_customer_id", cfg.login_customer_id,
                        sizeof(cfg.login_customer_id), true, &req->eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "conversion_action_id", cfg.action_id, sizeof(cfg.action_id), false,
                        &req->eb);
    if (rc == ERR_OK)
        rc = copy_field(o, "time_zone", cfg.time_zone, sizeof(cfg.time_zone), false, &req->eb);
    if (rc == ERR_OK && consent && !json_is_null(consent)) {
        if (!json_is_object(consent))
            rc = errf(&req->eb, ERR_INVALID, "consent",
                      "consent is {\"ad_user_data\":…,\"ad_personalization\":…}");
        if (rc == ERR_OK)
            rc = json_only_keys(consent, consent_keys, &req->eb);
        if (rc == ERR_OK)
            rc = copy_field(consent, "ad_user_data", cfg.ad_user_data, sizeof(cfg.ad_user_data),
                            false, &req->eb);
        if (rc == ERR_OK)
            rc = copy_field(consent, "ad_personalization", cfg.ad_personalization,
                            sizeof(cfg.ad_personalization), false, &req->eb);
        if (rc)
            req->eb.field = "consent";
    }
    if (rc == ERR_OK && json_object_get(o, "validate_only"))
        rc = json_get_bool(o, "validate_only", &cfg.validate_only, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "client_id", &client_id, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "client_secret", &client_secret, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "refresh_token", &refresh_token, &req->eb);
    if (rc == ERR_OK && json_object_get(o, "events")) {
        rc = parse_events(o, events, &n, &req->eb);
        for (size_t i = 0; rc == ERR_OK && i < n; i++)
            if (strcmp(events[i], "conversion.created") != 0)
                rc = errf(&req->eb, ERR_INVALID, "events",
                          "a google_ads destination takes conversion.created only");
    }
    if (rc == ERR_OK)
        rc = outbox_destination_add_gads(req->app, req->account.id, &cfg, client_id, client_secret,
                                         refresh_token, d, &req->eb);
    return rc;
}

int h_webhook_create(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    static const char *const keys[] = {"url", "events", "format", NULL};
    const char *url = NULL;
    const char *format = NULL;
    const char *events[MAX_EVENTS];
    size_t n = 0;
    struct st_destination d;
    rc = json_get_str(o, "format", &format, &req->eb);
    bool ad = rc == ERR_OK && format && (!strcmp(format, "ga4") || !strcmp(format, "meta"));
    bool gads = rc == ERR_OK && format && !strcmp(format, "google_ads");
    if (rc == ERR_OK && (ad || gads)) {
        rc = gads ? create_gads(req, o, &d) : create_ad(req, o, format, &d);
        json_decref(o);
        if (rc)
            return rc;
        http_header(resp, "Location", "/v1/webhooks/%s", d.ext_id);
        return reply(resp, 201, destination_json(&d));
    }
    if (rc == ERR_OK)
        rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "url", &url, &req->eb);
    if (rc == ERR_OK && !url)
        rc = errf(&req->eb, ERR_INVALID, "url", "url is required");
    if (rc == ERR_OK)
        rc = parse_events(o, events, &n, &req->eb);
    if (rc == ERR_OK)
        rc = outbox_destination_add(req->app, req->account.id, url, format ? format : "json",
                                    events, n, &d, &req->eb);
    json_decref(o);
    if (rc)
        return rc;
    json_t *v = destination_json(&d);
    json_object_set_new(v, "secret", json_string(d.secret)); /* shown once */
    http_header(resp, "Location", "/v1/webhooks/%s", d.ext_id);
    return reply(resp, 201, v);
}

static int add_destination(void *ctx, const struct st_destination *d)
{
    json_array_append_new(ctx, destination_json(d));
    return 0;
}

int h_webhook_list(struct http_req *req, struct http_resp *resp)
{
    json_t *a = json_array();
    int rc = outbox_destination_list(req->app, req->account.id, add_destination, a);
    if (rc) {
        json_decref(a);
        return rc;
    }
    return reply(resp, 200, json_pack("{s:o}", "webhooks", a));
}

/* The account's destination named by the first path segment. */
static int destination_of(struct http_req *req, struct st_destination *d)
{
    int rc = outbox_destination_get(req->app, req->account.id, req->params[0], d);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no webhook '%s'", req->params[0]);
    return rc;
}

int h_webhook_get(struct http_req *req, struct http_resp *resp)
{
    struct st_destination d;
    int rc = destination_of(req, &d);
    return rc ? rc : reply(resp, 200, destination_json(&d));
}

int h_webhook_delete(struct http_req *req, struct http_resp *resp)
{
    int rc = outbox_destination_delete(req->app, req->account.id, req->params[0]);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no webhook '%s'", req->params[0]);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}

/* google_ads: {"client_id","client_secret","refresh_token"} (all three) packed as stored. */
static int gads_credential(struct http_req *req, json_t *o)
{
    static const char *const keys[] = {"client_id", "client_secret", "refresh_token", NULL};
    const char *id = NULL, *secret = NULL, *token = NULL;
    int rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "client_id", &id, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "client_secret", &secret, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "refresh_token", &token, &req->eb);
    char *packed = xcalloc(1, STORE_DEST_SECRET_CLEAR_MAX);
    if (rc == ERR_OK)
        rc = adplat_gads_credential(id, secret, token, packed, STORE_DEST_SECRET_CLEAR_MAX,
                                    &req->eb);
    if (rc == ERR_OK)
        rc = outbox_destination_credential(req->app, req->account.id, req->params[0], packed,
                                           &req->eb);
    memset(packed, 0, STORE_DEST_SECRET_CLEAR_MAX);
    free(packed);
    return rc;
}

/* {"api_secret":"…"} (ga4), {"access_token":"…"} (meta) or {"client_id","client_secret",
 * "refresh_token"} (google_ads): the new credential; re-enables. */
int h_webhook_credential(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    char format[16];
    rc = outbox_destination_format(req->app, req->account.id, req->params[0], format,
                                   sizeof(format));
    if (rc) {
        json_decref(o);
        return rc == ERR_NOTFOUND ? errf(&req->eb, rc, NULL, "no webhook '%s'", req->params[0])
                                  : rc;
    }
    if (strcmp(format, "google_ads") == 0) {
        rc = gads_credential(req, o);
        json_decref(o);
        struct st_destination d;
        if (rc == ERR_OK)
            rc = destination_of(req, &d);
        return rc ? rc : reply(resp, 200, destination_json(&d));
    }
    static const char *const keys[] = {"api_secret", "access_token", NULL};
    const char *secret = NULL;
    const char *token = NULL;
    rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "api_secret", &secret, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "access_token", &token, &req->eb);
    if (rc == ERR_OK && (secret ? 1 : 0) + (token ? 1 : 0) != 1)
        rc = errf(&req->eb, ERR_INVALID, NULL, "give the new api_secret or access_token");
    if (rc == ERR_OK)
        rc = outbox_destination_credential(req->app, req->account.id, req->params[0],
                                           secret ? secret : token, &req->eb);
    json_decref(o);
    struct st_destination d;
    if (rc == ERR_OK)
        rc = destination_of(req, &d);
    return rc ? rc : reply(resp, 200, destination_json(&d));
}

int h_webhook_enable(struct http_req *req, struct http_resp *resp)
{
    struct st_destination d;
    int rc = outbox_destination_enable(req->app, req->account.id, req->params[0]);
    if (rc == ERR_OK)
        rc = destination_of(req, &d);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no webhook '%s'", req->params[0]);
    return rc ? rc : reply(resp, 200, destination_json(&d));
}

static int add_delivery(void *ctx, const struct st_delivery *d)
{
    json_t **page = ctx; /* {array, last id} */
    json_array_append_new(page[0],
                          json_pack("{s:I,s:s,s:s,s:I,s:o,s:b,s:o,s:I,s:s,s:o}", "id",
                                    (json_int_t)d->id, "event_id", d->event_id, "type", d->type,
                                    "attempt", (json_int_t)d->attempt, "at", json_time(d->at),
                                    "delivered", d->status >= 200 && d->status < 300, "status",
                                    d->status ? json_integer(d->status) : json_null(), "latency_ms",
                                    (json_int_t)d->latency_ms, "response", d->response, "error",
                                    d->error[0] ? json_string(d->error) : json_null()));
    return 0;
}

/* limit= (1..1000) and cursor= (a delivery id from next_cursor). */
static int deliveries_query(struct http_req *req, long long *limit, long long *before)
{
    char v[32];
    *limit = DELIVERIES_DEFAULT;
    *before = 0;
    char *end = NULL;
    if (http_query(req, "limit", v, sizeof(v))) {
        *limit = strtoll(v, &end, 10);
        if (!v[0] || *end || *limit < 1 || *limit > DELIVERIES_MAX)
            return errf(&req->eb, ERR_INVALID, "limit", "limit must be 1 to %d", DELIVERIES_MAX);
    }
    if (http_query(req, "cursor", v, sizeof(v))) {
        *before = strtoll(v, &end, 10);
        if (!v[0] || *end || *before < 1)
            return errf(&req->eb, ERR_INVALID, "cursor", "cursor must come from next_cursor");
    }
    return ERR_OK;
}

int h_webhook_deliveries(struct http_req *req, struct http_resp *resp)
{
    long long limit = 0;
    long long before = 0;
    struct st_destination d;
    int rc = deliveries_query(req, &limit, &before);
    if (rc == ERR_OK)
        rc = destination_of(req, &d);
    if (rc)
        return rc;
    json_t *page[1] = {json_array()};
    rc = outbox_deliveries(req->app, &d, before, (size_t)limit, add_delivery, page);
    if (rc) {
        json_decref(page[0]);
        return rc;
    }
    size_t n = json_array_size(page[0]);
    json_t *cursor = json_null();
    if (n == (size_t)limit) {
        char c[32];
        json_t *last = json_array_get(page[0], n - 1);
        snprintf(c, sizeof(c), "%lld", (long long)json_integer_value(json_object_get(last, "id")));
        cursor = json_string(c);
    }
    return reply(resp, 200, json_pack("{s:o,s:o}", "deliveries", page[0], "next_cursor", cursor));
}

int h_webhook_test(struct http_req *req, struct http_resp *resp)
{
    struct st_destination d;
    char event_id[STORE_ID_MAX];
    int rc = destination_of(req, &d);
    if (rc == ERR_OK)
        rc = outbox_test(req->app, &req->account, &d, event_id);
    if (rc == ERR_UNSUPPORTED)
        return errf(&req->eb, ERR_CONFLICT, NULL,
                    "an ad platform's destination has no test send (it would count as a real "
                    "conversion): use the platform's test tools");
    return rc ? rc
              : reply(resp, 202,
                      json_pack("{s:s,s:s}", "event_id", event_id, "type", "webhook.test"));
}

int h_webhook_redeliver(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    const char *event_id = NULL;
    struct st_destination d;
    rc = json_get_str(o, "event_id", &event_id, &req->eb);
    if (rc == ERR_OK && !event_id)
        rc = errf(&req->eb, ERR_INVALID, "event_id", "event_id is required");
    if (rc == ERR_OK)
        rc = destination_of(req, &d);
    if (rc == ERR_OK) {
        rc = outbox_redeliver(req->app, req->account.id, &d, event_id);
        if (rc == ERR_NOTFOUND)
            rc = errf(&req->eb, rc, "event_id", "no event '%.64s' for this webhook", event_id);
    }
    json_t *v = rc ? NULL : json_pack("{s:s,s:s}", "event_id", event_id, "status", "queued");
    json_decref(o);
    return rc ? rc : reply(resp, 202, v);
}
