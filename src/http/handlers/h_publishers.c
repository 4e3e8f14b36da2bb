/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Publishers (docs/reports.md "P&L"): payees paid per billable call of the traffic they own.
 * Admin to change (DESIGN.md "Roles": what spends money), analyst to read (money figures).
 * Handlers parse, call app/pnl.c and format. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "app/app.h"
#include "app/pnl.h"

static int reply(struct http_resp *resp, int status, json_t *v)
{
    resp->status = status;
    resp->content_type = "application/json";
    return v ? json_dump_take(v, &resp->body) : ERR_NOMEM;
}

static int put(struct http_req *req, struct http_resp *resp, const char *ext_id)
{
    json_t *out = NULL;
    int rc = pnl_publisher_put(req->app, req->account.id, ext_id, req->body.data, req->body.len,
                               time_now_ms(), &out, &req->eb);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no publisher '%s'", ext_id ? ext_id : "");
    return rc ? rc : reply(resp, ext_id ? 200 : 201, out);
}

int h_publisher_create(struct http_req *req, struct http_resp *resp)
{
    return put(req, resp, NULL);
}

int h_publisher_replace(struct http_req *req, struct http_resp *resp)
{
    return put(req, resp, req->params[0]);
}

int h_publisher_get(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    int rc = pnl_publisher_get(req->app, req->account.id, req->params[0], &out);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no publisher '%s'", req->params[0]);
    return rc ? rc : reply(resp, 200, out);
}

int h_publisher_list(struct http_req *req, struct http_resp *resp)
{
    json_t *out = NULL;
    int rc = pnl_publisher_list(req->app, req->account.id, &out);
    return rc ? rc : reply(resp, 200, out);
}

int h_publisher_delete(struct http_req *req, struct http_resp *resp)
{
    int rc = pnl_publisher_delete(req->app, req->account.id, req->params[0]);
    if (rc == ERR_NOTFOUND)
        return errf(&req->eb, rc, NULL, "no publisher '%s'", req->params[0]);
    if (rc)
        return rc;
    resp->status = 204;
    return ERR_OK;
}
