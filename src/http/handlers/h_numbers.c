/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Numbers bought and released by opendni (app/numbers.h): the account's number settings, a
 * pool's autoscale settings and number log, and purchases and releases, which wait for the
 * number service's thread (the provider's API is never called from an HTTP thread). */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include <ctype.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/numbers.h"

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

/* A query flag: "true" or "1". */
static bool flag(const struct http_req *req, const char *name)
{
    char v[8];
    return http_query(req, name, v, sizeof(v)) && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* ---- settings ---- */

int h_number_settings_get(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    int rc = numbers_settings_get(req->app, req->account.id, &out, &req->eb);
    return rc ? rc : reply(resp, 200, out);
}

int h_number_settings_put(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    json_t *out = NULL;
    rc = numbers_settings_put(req->app, req->account.id, o, &out, &req->eb);
    json_decref(o);
    return rc ? rc : reply(resp, 200, out);
}

int h_pool_autoscale_get(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    int rc = numbers_autoscale_get(req->app, req->account.id, req->params[0], &out, &req->eb);
    return rc ? rc : reply(resp, 200, out);
}

int h_pool_autoscale_put(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    json_t *out = NULL;
    rc = numbers_autoscale_put(req->app, req->account.id, req->params[0], o, &out, &req->eb);
    json_decref(o);
    return rc ? rc : reply(resp, 200, out);
}

int h_pool_number_actions(struct http_req *req, struct http_resp *resp)
{
    char v[24];
    long long before = 0, limit = 50;
    if (http_query(req, "before", v, sizeof(v))) {
        char *end = NULL;
        before = strtoll(v, &end, 10);
        if (!*v || *end || before <= 0)
            return errf(&req->eb, ERR_INVALID, "before", "'before' must be a cursor");
    }
    if (http_query(req, "limit", v, sizeof(v))) {
        char *end = NULL;
        limit = strtoll(v, &end, 10);
        if (!*v || *end || limit < 1 || limit > 500)
            return errf(&req->eb, ERR_INVALID, "limit", "'limit' must be 1..500");
    }
    json_t *out = NULL;
    int rc = numbers_actions(req->app, req->account.id, req->params[0], before, (size_t)limit, &out,
                             &req->eb);
    return rc ? rc : reply(resp, 200, out);
}

/* ---- purchases and releases (deferred to the number service) ---- */

struct wait {
    struct http_req *req;
    struct http_resp *resp;
    int kind; /* 0 buy, 1 release, 2 check */
    struct numbers_buy_req buy;
    struct numbers_release_req rel;
};

static void job_done(void *arg, struct numbers_result *r)
{
    struct wait *w = arg;
    struct http_req *req = w->req;
    if (r->rc) {
        errf(&req->eb, r->rc, r->field[0] ? r->field : NULL, "%s", r->message);
        http_error_resp(req, w->resp, r->rc);
    } else if (reply(w->resp, r->status ? r->status : 200, r->body) != ERR_OK) {
        http_error_resp(req, w->resp, ERR_NOMEM);
    }
    r->body = NULL;
    free(w);
    http_resume(req); /* req and resp may be gone after this */
}

static void submit(void *arg)
{
    struct wait *w = arg;
    struct numbers *n = w->req->app->numbers;
    if (w->kind == 0)
        numbers_buy(n, &w->buy, job_done, w);
    else if (w->kind == 1)
        numbers_release(n, &w->rel, job_done, w);
    else
        numbers_check(n, job_done, w);
}

static bool all_digits(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static bool upper(const char *s)
{
    size_t len = strlen(s);
    if (len < 2 || len > 3)
        return false;
    for (; *s; s++)
        if (!isupper((unsigned char)*s))
            return false;
    return true;
}

int h_pool_numbers_buy(struct http_req *req, struct http_resp *resp)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    static const char *const keys[] = {"area_code", "region", "count", "dry_run", NULL};
    struct wait *w = xcalloc(1, sizeof(*w));
    w->buy.account_id = req->account.id;
    w->buy.count = 1;
    snprintf(w->buy.pool, sizeof(w->buy.pool), "%s", req->params[0]);
    const char *s = NULL;
    long long count = 1;
    bool dry = false;
    rc = json_only_keys(o, keys, &req->eb);
    if (rc == ERR_OK && json_object_get(o, "area_code") &&
        !json_is_null(json_object_get(o, "area_code"))) {
        rc = json_get_str(o, "area_code", &s, &req->eb);
        if (rc == ERR_OK && !all_digits(s, 3))
            rc = errf(&req->eb, ERR_INVALID, "area_code", "'area_code' must be 3 digits");
        if (rc == ERR_OK)
            snprintf(w->buy.area_code, sizeof(w->buy.area_code), "%s", s);
    }
    if (rc == ERR_OK && json_object_get(o, "region") &&
        !json_is_null(json_object_get(o, "region"))) {
        rc = json_get_str(o, "region", &s, &req->eb);
        if (rc == ERR_OK && !upper(s))
            rc = errf(&req->eb, ERR_INVALID, "region",
                      "'region' must be a state or province code, e.g. TX");
        if (rc == ERR_OK)
            snprintf(w->buy.region, sizeof(w->buy.region), "%s", s);
    }
    if (rc == ERR_OK && json_object_get(o, "count")) {
        rc = json_get_int(o, "count", &count, &req->eb);
        if (rc == ERR_OK && (count < 1 || count > 20))
            rc = errf(&req->eb, ERR_INVALID, "count", "'count' must be 1..20");
        w->buy.count = count;
    }
    if (rc == ERR_OK && json_object_get(o, "dry_run")) {
        rc = json_get_bool(o, "dry_run", &dry, &req->eb);
        w->buy.dry_run = dry;
    }
    json_decref(o);
    if (rc) {
        free(w);
        return rc;
    }
    w->req = req;
    w->resp = resp;
    w->kind = 0;
    http_defer(req, submit, w);
    return ERR_OK;
}

int h_pool_number_release(struct http_req *req, struct http_resp *resp)
{
    struct wait *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->resp = resp;
    w->kind = 1;
    w->rel.account_id = req->account.id;
    snprintf(w->rel.pool, sizeof(w->rel.pool), "%s", req->params[0]);
    snprintf(w->rel.number, sizeof(w->rel.number), "%s", req->params[1]);
    w->rel.dry_run = flag(req, "dry_run");
    w->rel.force = flag(req, "force");
    http_defer(req, submit, w);
    return ERR_OK;
}

int h_test_numbers_check(struct http_req *req, struct http_resp *resp)
{
    struct wait *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->resp = resp;
    w->kind = 2;
    http_defer(req, submit, w);
    return ERR_OK;
}
