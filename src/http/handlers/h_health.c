/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /healthz and GET /metrics. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "app/admin.h"

int h_healthz(struct http_req *req, struct http_resp *resp)
{
    int rc = admin_store_check(req->app, &req->eb);
    if (rc) {
        req->eb.field = NULL;
        return rc == ERR_CONFLICT ? ERR_BACKEND : rc;
    }
    resp->content_type = "application/json";
    return buf_adds(&resp->body, "{\"status\":\"ok\"}");
}

int h_metrics(struct http_req *req, struct http_resp *resp)
{
    resp->content_type = "text/plain; version=0.0.4";
    admin_metrics(req->app, &resp->body);
    return ERR_OK;
}
