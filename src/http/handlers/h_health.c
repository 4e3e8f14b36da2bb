/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /healthz and GET /metrics. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "http/app.h"
#include "http/metrics.h"

int h_healthz(struct http_req *req, struct http_resp *resp)
{
    int rc = store_check(req->app->store, &req->eb);
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
    metrics_render(req->app->metrics, req->app->store, &resp->body);
    return ERR_OK;
}
