/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call routing's API (docs/routing.md): locations and routing plans (admin to change, viewer to
 * read; DESIGN.md "Roles": what changes where calls go is admin+), and the routing report
 * (analyst). Handlers parse, call app/routing.c and format. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "app/app.h"
#include "app/routing.h"

#define DAY_MS (24 * 3600 * 1000LL)
#define DEFAULT_RANGE_MS (30 * DAY_MS)

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

static enum routing_kind kind_of(const struct http_req *req)
{
    return strncmp(req->path, "/v1/locations", 13) == 0 ? ROUTING_LOCATION : ROUTING_PLAN;
}

static const char *noun(enum routing_kind k)
{
    return k == ROUTING_PLAN ? "routing plan" : "location";
}

static int put(struct http_req *req, struct http_resp *resp, const char *ext_id)
{
    json_t *out = NULL;
    enum routing_kind k = kind_of(req);
    int rc = routing_doc_put(req->app, req->account.id, k, ext_id, req->body.data, req->body.len,
                             &out, &req->eb);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no %s '%s'", noun(k), ext_id ? ext_id : "");
    return rc ? rc : reply(resp, ext_id ? 200 : 201, out);
}

int h_routing_create(struct http_req *req, struct http_resp *resp)
{
    return put(req, resp, NULL);
}

int h_routing_replace(struct http_req *req, struct http_resp *resp)
{
    return put(req, resp, req->params[0]);
}

int h_routing_get(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    enum routing_kind k = kind_of(req);
    int rc = routing_doc_get(req->app, req->account.id, k, req->params[0], &out);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no %s '%s'", noun(k), req->params[0]);
    return rc ? rc : reply(resp, 200, out);
}

int h_routing_list(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    int rc = routing_doc_list(req->app, req->account.id, kind_of(req), &out);
    return rc ? rc : reply(resp, 200, out);
}

int h_routing_delete(struct http_req *req, struct http_resp *resp)
{
    enum routing_kind k = kind_of(req);
    int rc = routing_doc_delete(req->app, req->account.id, k, req->params[0]);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no %s '%s'", noun(k), req->params[0]);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}

static int time_param(struct http_req *req, const char *name, int64_t *out)
{
    char v[64];
    if (!http_query(req, name, v, sizeof(v)) || !v[0])
        return ERR_NOTFOUND;
    for (char *p = v; *p; p++)
        if (*p == ' ')
            *p = '+'; /* an unescaped '+' of an offset */
    if (time_parse(v, out) != ERR_OK)
        return errf(&req->eb, ERR_INVALID, name, "'%s' must be an RFC 3339 time or a date", name);
    if (strlen(v) == 10 && strcmp(name, "until") == 0)
        *out += DAY_MS;
    return ERR_OK;
}

int h_report_routing(struct http_req *req, struct http_resp *resp)
{
    int64_t until = 0;
    int64_t since = 0;
    int rc = time_param(req, "until", &until);
    if (rc == ERR_NOTFOUND)
        until = time_now_ms() + 1;
    else if (rc)
        return rc;
    rc = time_param(req, "since", &since);
    if (rc == ERR_NOTFOUND)
        since = until - DEFAULT_RANGE_MS;
    else if (rc)
        return rc;
    if (since >= until)
        return errf(&req->eb, ERR_INVALID, "since", "'since' must be before 'until'");
    char group[16] = "";
    http_query(req, "group_by", group, sizeof(group));
    json_t *out = NULL;
    rc = routing_report(req->app, req->account.id, group, since, until, &out, &req->eb);
    return rc ? rc : reply(resp, 200, out);
}
