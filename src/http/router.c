/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Route table, matching, Bearer auth, CORS preflights, the error format and the access log. */
#include "base/prelude.h"
#include "http/router.h"

#include <strings.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/clientaddr.h"
#include "http/handlers/handlers.h"
#include "base/json.h"
#include "app/metrics.h"

enum route_flags {
    ROUTE_AUTH = 1 << 0,    /* Bearer API key required; req->account set */
    ROUTE_PUBLIC = 1 << 1,  /* called from browsers on customers' sites: CORS preflights */
    ROUTE_TEST = 1 << 2,    /* exists in the test binary only (base/testhooks.h) */
    ROUTE_DEMO = 1 << 3,    /* exists only with serve --demo */
    ROUTE_METRICS = 1 << 4, /* Bearer --metrics-token required (off without one) */
    /* a dashboard session cookie may call it too (without ROUTE_AUTH: only a session), with
     * the role given by ROUTE_ROLE; state changes need its CSRF token (h_app_authenticate) */
    ROUTE_SESSION = 1 << 5,
};
/* The role a session needs for a ROUTE_SESSION route (core/access.h), kept in bits 8+. */
#define ROUTE_ROLE(r) ((unsigned)(r) << 8)
#define ROUTE_VIEW (ROUTE_SESSION | ROUTE_ROLE(ACCESS_VIEWER))
#define ROUTE_ANALYSE (ROUTE_SESSION | ROUTE_ROLE(ACCESS_ANALYST))
#define ROUTE_MANAGE (ROUTE_SESSION | ROUTE_ROLE(ACCESS_ADMIN))
#define ROUTE_OWN (ROUTE_SESSION | ROUTE_ROLE(ACCESS_OWNER))

struct route {
    const char *method;
    const char *pattern; /* "{}" matches one path segment */
    http_handler_fn fn;
    unsigned flags;
    size_t body_max; /* 0 = the server default */
};

#define KB 1024
static const struct route routes[] = {
    {"GET", "/healthz", h_healthz, 0, 0},
    {"GET", "/readyz", h_readyz, 0, 0},
    {"GET", "/metrics", h_metrics, ROUTE_METRICS, 0},
    {"POST", "/v1/visits", h_visit, ROUTE_PUBLIC, 8 * KB},
    {"POST", "/v1/visits/{}/ping", h_visit_ping, ROUTE_PUBLIC, 8 * KB},
    {"POST", "/v1/visits/{}/events", h_visit_event, ROUTE_PUBLIC, 8 * KB},
    {"GET", "/v1/amp/call-tracking", h_visit_amp, 0, 0},
    {"GET", "/v1/origins", h_visit_origins, 0, 0},
    {"GET", "/v1/sessions/{}", h_session_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"POST", "/v1/pools", h_pool_create, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"GET", "/v1/pools", h_pool_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/pools/{}", h_pool_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PATCH", "/v1/pools/{}", h_pool_update, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"DELETE", "/v1/pools/{}", h_pool_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/pools/{}/health", h_pool_health, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/pools/{}/usage", h_pool_usage, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"POST", "/v1/pools/{}/simulate", h_pool_simulate, ROUTE_AUTH | ROUTE_ANALYSE, 1 * KB},
    {"GET", "/v1/pools/{}/autoscale", h_pool_autoscale_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PUT", "/v1/pools/{}/autoscale", h_pool_autoscale_put, ROUTE_AUTH | ROUTE_MANAGE, 4 * KB},
    {"GET", "/v1/pools/{}/number-actions", h_pool_number_actions, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"POST", "/v1/pools/{}/numbers/buy", h_pool_numbers_buy, ROUTE_AUTH | ROUTE_MANAGE, 4 * KB},
    {"DELETE", "/v1/pools/{}/numbers/{}", h_pool_number_release, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/number-settings", h_number_settings_get, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"PUT", "/v1/number-settings", h_number_settings_put, ROUTE_AUTH | ROUTE_MANAGE, 4 * KB},
    {"POST", "/v1/numbers", h_number_create, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"GET", "/v1/numbers", h_number_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/numbers/{}", h_number_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PATCH", "/v1/numbers/{}", h_number_update, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"DELETE", "/v1/numbers/{}", h_number_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"POST", "/v1/rules", h_rule_create, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"GET", "/v1/rules", h_rule_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PUT", "/v1/rules/{}", h_rule_update, ROUTE_AUTH | ROUTE_MANAGE, 16 * KB},
    {"DELETE", "/v1/rules/{}", h_rule_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    /* {} is the provider's name (telephony/provider.h); the handler labels the route with the
     * provider's own path, e.g. /v1/telephony/twilio/voice */
    {"POST", "/v1/telephony/{}/voice", h_tel_voice, 0, 32 * KB},
    {"POST", "/v1/telephony/{}/status", h_tel_status, 0, 32 * KB},
    {"POST", "/v1/telephony/{}/dial", h_tel_dial, 0, 32 * KB},
    {"POST", "/v1/telephony/{}/route", h_tel_route, 0, 32 * KB},
    {"POST", "/v1/telephony/{}/recording", h_tel_recording, 0, 32 * KB},
    {"POST", "/v1/locations", h_routing_create, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"GET", "/v1/locations", h_routing_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/locations/{}", h_routing_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PUT", "/v1/locations/{}", h_routing_replace, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"DELETE", "/v1/locations/{}", h_routing_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"POST", "/v1/routing-plans", h_routing_create, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"GET", "/v1/routing-plans", h_routing_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/routing-plans/{}", h_routing_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PUT", "/v1/routing-plans/{}", h_routing_replace, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"DELETE", "/v1/routing-plans/{}", h_routing_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/reports/routing", h_report_routing, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/telephony/lookup", h_pbx_lookup, ROUTE_AUTH, 0},
    {"GET", "/v1/calls", h_call_list, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"GET", "/v1/calls/{}", h_call_get, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"PATCH", "/v1/calls/{}", h_call_patch, ROUTE_AUTH | ROUTE_ANALYSE, 16 * KB},
    {"GET", "/v1/calls/{}/recording", h_call_recording, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/reports/calls", h_report_calls, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/reports/funnel", h_report_funnel, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/reports/pnl", h_report_pnl, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"POST", "/v1/publishers", h_publisher_create, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"GET", "/v1/publishers", h_publisher_list, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/publishers/{}", h_publisher_get, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"PUT", "/v1/publishers/{}", h_publisher_replace, ROUTE_AUTH | ROUTE_MANAGE, 64 * KB},
    {"DELETE", "/v1/publishers/{}", h_publisher_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/reports/cohorts", h_report_cohorts, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/exports/calls.csv", h_export_calls, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"POST", "/v1/spend", h_spend_import, ROUTE_AUTH | ROUTE_ANALYSE, 16 * 1024 * KB},
    {"GET", "/v1/spend", h_spend_list, ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/exports/google-ads/click-conversions.csv", h_export_click_conversions,
     ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/exports/google-ads/call-conversions.csv", h_export_call_conversions,
     ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"GET", "/v1/exports/microsoft-ads/click-conversions.csv", h_export_msads_conversions,
     ROUTE_AUTH | ROUTE_ANALYSE, 0},
    {"POST", "/v1/exports/google-ads/feed", h_feed_create, ROUTE_AUTH | ROUTE_MANAGE, 1 * KB},
    {"DELETE", "/v1/exports/google-ads/feed", h_feed_delete, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/feeds/google-ads/click-conversions.csv", h_feed_click_conversions, 0, 0},
    {"GET", "/v1/stream", h_stream, ROUTE_AUTH | ROUTE_VIEW, 0},
    {"POST", "/v1/webhooks", h_webhook_create, ROUTE_AUTH, 16 * KB},
    {"GET", "/v1/webhooks", h_webhook_list, ROUTE_AUTH, 0},
    {"GET", "/v1/webhooks/{}", h_webhook_get, ROUTE_AUTH, 0},
    {"DELETE", "/v1/webhooks/{}", h_webhook_delete, ROUTE_AUTH, 0},
    {"GET", "/v1/webhooks/{}/deliveries", h_webhook_deliveries, ROUTE_AUTH, 0},
    {"POST", "/v1/webhooks/{}/test", h_webhook_test, ROUTE_AUTH, 1 * KB},
    {"POST", "/v1/webhooks/{}/redeliver", h_webhook_redeliver, ROUTE_AUTH, 1 * KB},
    {"POST", "/v1/webhooks/{}/enable", h_webhook_enable, ROUTE_AUTH, 1 * KB},
    {"POST", "/v1/webhooks/{}/credential", h_webhook_credential, ROUTE_AUTH, 4 * KB},
    {"POST", "/v1/erasures", h_erasure_create, ROUTE_AUTH | ROUTE_MANAGE, 4 * KB},
    {"GET", "/v1/erasures", h_erasure_list, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"GET", "/v1/erasures/{}", h_erasure_get, ROUTE_AUTH | ROUTE_MANAGE, 0},
    {"POST", "/v1/test/clock", h_test_clock, ROUTE_TEST, 1 * KB},
    {"POST", "/v1/test/faults", h_test_faults, ROUTE_TEST, 1 * KB},
    {"POST", "/v1/test/numbers-check", h_test_numbers_check, ROUTE_TEST, 1 * KB},
    {"GET", "/v1/app/me", h_app_me, ROUTE_VIEW, 0},
    {"POST", "/v1/app/account", h_app_switch, ROUTE_VIEW, 1 * KB},
    {"GET", "/v1/app/audit", h_app_audit_list, ROUTE_OWN, 0},
    {"GET", "/v1/app/rollup", h_app_rollup, ROUTE_VIEW, 0},
    {"GET", "/v1/app/keys", h_app_key_list, ROUTE_MANAGE, 0},
    {"POST", "/v1/app/keys", h_app_key_create, ROUTE_MANAGE, 1 * KB},
    {"DELETE", "/v1/app/keys/{}", h_app_key_revoke, ROUTE_MANAGE, 0},
    {"GET", "/v1/app/origins", h_app_origin_list, ROUTE_VIEW, 0},
    {"POST", "/v1/app/origins", h_app_origin_add, ROUTE_MANAGE, 1 * KB},
    {"DELETE", "/v1/app/origins", h_app_origin_delete, ROUTE_MANAGE, 0},
    {"GET", "/v1/app/providers", h_app_provider_list, ROUTE_MANAGE, 0},
    {"POST", "/v1/app/providers", h_app_provider_set, ROUTE_MANAGE, 8 * KB},
    {"GET", "/v1/app/users", h_app_user_list, ROUTE_OWN, 0},
    {"POST", "/v1/app/users", h_app_user_set, ROUTE_OWN, 2 * KB},
    {"DELETE", "/v1/app/users", h_app_user_remove, ROUTE_OWN, 0},
    {"POST", "/app/login", h_app_login, 0, 8 * KB},
    {"POST", "/app/logout", h_app_logout, ROUTE_VIEW, 1 * KB},
    {"GET", "/app/", h_app_page, 0, 0},
    {"GET", "/app/{}", h_app_page, 0, 0},
    {"GET", "/dni.js", h_asset, 0, 0},
    {"GET", "/dni-frame.js", h_asset, 0, 0},
    {"GET", "/demo/{}", h_asset, ROUTE_DEMO, 0},
    {"GET", "/demo/", h_asset, ROUTE_DEMO, 0},
};

size_t router_count(void)
{
    return ARRAY_SIZE(routes);
}

const char *router_pattern_at(size_t i)
{
    return routes[i].pattern;
}

const char *router_pattern(const struct route *r)
{
    return r ? r->pattern : "unmatched";
}

/* Matches path against pattern, copying "{}" segments into req->params. */
static bool match_path(const char *pattern, const char *path, struct http_req *req)
{
    int n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= sizeof(req->param_store[0]) || n >= HTTP_MAX_PARAMS)
                return false;
            memcpy(req->param_store[n], path, len);
            req->param_store[n][len] = '\0';
            req->params[n] = req->param_store[n];
            n++;
            path += len;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

const struct route *router_match(struct http_req *req)
{
    bool path_known = false;
    bool tests = testhooks_enabled();
    bool demo = req->app->cfg.demo;
    /* HEAD is answered as GET; the server sends the headers only. */
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        if (((routes[i].flags & ROUTE_TEST) && !tests) || ((routes[i].flags & ROUTE_DEMO) && !demo))
            continue;
        if (!match_path(routes[i].pattern, req->path, req))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    /* A preflight is answered for any public path. */
    if (path_known && strcmp(req->method, "OPTIONS") == 0)
        for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
            if ((routes[i].flags & ROUTE_PUBLIC) && match_path(routes[i].pattern, req->path, req))
                return &routes[i];
    return NULL;
}

size_t router_body_max(const struct route *r, const struct app *app)
{
    if (r && r->body_max)
        return r->body_max;
    return app->cfg.body_max > 0 ? (size_t)app->cfg.body_max : 64 * KB;
}

/* Seconds a client is asked to wait when the store is unavailable. */
#define UNAVAILABLE_RETRY_S 5

/* A store failure while the store cannot commit (PostgreSQL gone, a full disk, a read-only
 * file) is an outage, not a fault of this request: 503 with the reason readiness gives, so
 * clients and load balancers retry (API.md: /readyz fails at the same time). */
static int outage_of(struct http_req *req, int code)
{
    if (code != ERR_BACKEND)
        return code;
    struct errbuf eb = {{0}, NULL};
    if (admin_ready(req->app, &eb) == ERR_OK)
        return code;
    snprintf(req->eb.msg, sizeof(req->eb.msg), "the store is unavailable; retry later (%.200s)",
             eb.msg);
    req->eb.field = NULL;
    return ERR_UNAVAILABLE;
}

void http_error_resp(struct http_req *req, struct http_resp *resp, int code)
{
    code = outage_of(req, code);
    if (!req->eb.msg[0])
        snprintf(req->eb.msg, sizeof(req->eb.msg), "%s", err_str(code));
    resp->status = err_http_status(code);
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    json_error_body(&resp->body, err_str(code), req->eb.msg, req->eb.field);
    if (code == ERR_LIMITED)
        http_header(resp, "Retry-After", "%d", req->retry_after_s > 0 ? req->retry_after_s : 60);
    if (code == ERR_UNAVAILABLE)
        http_header(resp, "Retry-After", "%d", UNAVAILABLE_RETRY_S);
}

void http_client_of(const struct http_req *req, char *out, size_t cap)
{
    clientaddr_resolve(&req->app->trusted, req->client_addr ? req->client_addr : "",
                       req->h_forwarded_for, out, cap);
}

void http_header(struct http_resp *resp, const char *name, const char *fmt, ...)
{
    if (resp->n_headers >= HTTP_MAX_HEADERS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp->header_values[resp->n_headers], sizeof(resp->header_values[0]), fmt, ap);
    va_end(ap);
    resp->header_names[resp->n_headers++] = name;
}

_Static_assert(sizeof(((struct http_req *)0)->credential) == ADMIN_CRED_MAX,
               "http_req.credential holds an admin credential");

/* The credentials of "Authorization: Bearer CRED" (the scheme is case-insensitive, RFC 7235; one
 * or more spaces after it), or NULL. Borrowed from the request. */
static const char *bearer(const struct http_req *req)
{
    const char *h = req->h_auth;
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return NULL;
    h += 6;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

/* Resolves "Authorization: Bearer KEY" to the key's account (and its re-checkable credential,
 * which GET /v1/stream hands to its listener). */
static int authenticate(struct http_req *req)
{
    const char *key = bearer(req);
    if (!key)
        return errf(&req->eb, ERR_AUTH, NULL, "missing or malformed Authorization: Bearer key");
    int rc = admin_account_by_key(req->app, key, &req->account, req->credential);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, ERR_AUTH, NULL, "unknown API key");
    if (rc)
        return errf(&req->eb, rc, NULL, "cannot check the API key");
    return ERR_OK;
}

static bool is_loopback(const char *addr)
{
    return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0);
}

/* GET /metrics shows every account's traffic. With --metrics-token it needs that Bearer token
 * (from anywhere); without one, only a direct client on this host (a loopback peer, and not
 * --trust-proxy, where every peer is the proxy) may read it. */
static int metrics_allowed(struct http_req *req)
{
    const char *want = req->app->cfg.metrics_token;
    if (!want || !want[0]) {
        if (!(req->app->cfg.trust_proxy && req->app->cfg.trust_proxy[0]) &&
            is_loopback(req->client_addr))
            return ERR_OK;
        return errf(&req->eb, ERR_FORBIDDEN, NULL,
                    "metrics are readable from this host only; set serve --metrics-token to "
                    "read them from elsewhere");
    }
    const char *got = bearer(req);
    if (!got || !admin_token_equal(got, want))
        return errf(&req->eb, ERR_AUTH, NULL, "missing or wrong metrics token");
    return ERR_OK;
}

/* A Bearer key where the route takes one and the request has one, else the dashboard session
 * where the route takes one, else nothing. */
static int route_authenticate(const struct route *r, struct http_req *req)
{
    if ((r->flags & ROUTE_AUTH) && (req->h_auth || !(r->flags & ROUTE_SESSION)))
        return authenticate(req);
    if (r->flags & ROUTE_SESSION)
        return h_app_authenticate(req, (enum access_role)(r->flags >> 8));
    return ERR_OK;
}

static int preflight(struct http_req *req, struct http_resp *resp)
{
    resp->status = 204;
    if (req->h_origin && (strcmp(req->h_origin, req->app->public_url) == 0 ||
                          admin_origin_known(req->app, req->h_origin))) {
        http_header(resp, "Access-Control-Allow-Origin", "%s", req->h_origin);
        http_header(resp, "Access-Control-Allow-Methods", "POST, OPTIONS");
        http_header(resp, "Access-Control-Allow-Headers", "Content-Type");
        http_header(resp, "Access-Control-Max-Age", "600");
        http_header(resp, "Vary", "Origin");
    }
    return ERR_OK;
}

void router_dispatch(const struct route *r, struct http_req *req, struct http_resp *resp)
{
    req->route = router_pattern(r);
    int rc;
    if (!r) {
        /* escaped: the path may hold any bytes, and the error JSON takes UTF-8 only */
        char path[160];
        rc = errf(&req->eb, ERR_NOTFOUND, NULL, "no route for %s %s", req->method,
                  log_escape(req->path, path, sizeof(path)));
    } else if (strcmp(req->method, "OPTIONS") == 0) {
        rc = preflight(req, resp);
    } else {
        rc = route_authenticate(r, req);
        if (rc == ERR_OK && (r->flags & ROUTE_METRICS))
            rc = metrics_allowed(req);
        if (rc == ERR_OK) {
            resp->status = 200;
            rc = r->fn(req, resp);
        }
        if (rc == ERR_OK)
            h_app_audit(req); /* a state change made through a dashboard session */
    }
    if (rc != ERR_OK)
        http_error_resp(req, resp, rc);
}

void router_finish(struct http_req *req, struct http_resp *resp, int64_t elapsed_us)
{
    metrics_request(req->app->metrics, req->route ? req->route : "unmatched", resp->status,
                    elapsed_us);
    if (log_level < LOG_INFO)
        return;
    char addr[64], path[256], msg[300] = "";
    log_mask(req->client_addr, addr, sizeof(addr));
    log_escape(req->path, path, sizeof(path));
    if (resp->status >= 400)
        log_escape(req->eb.msg, msg, sizeof(msg));
    log_line(LOG_INFO, "http",
             "req=%" PRIu64 " %s \"%s\" route=%s status=%d us=%" PRId64 " addr=%s%s%s%s", req->id,
             req->method, path, req->route ? req->route : "-", resp->status, elapsed_us, addr,
             msg[0] ? " error=\"" : "", msg, msg[0] ? "\"" : "");
}
