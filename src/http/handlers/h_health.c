/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /healthz (the process is alive), GET /readyz (the store can commit) and GET /metrics. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "app/admin.h"

int h_healthz(struct http_req *req, struct http_resp *resp)
{
    /* Liveness only: the server answers, so the process is alive (serve does not listen before
     * its store opened). Whether the store can commit is /readyz's question: a restart (what a
     * failed liveness check leads to) does not cure a full disk. */
    (void)req;
    resp->content_type = "application/json";
    return buf_adds(&resp->body, "{\"status\":\"ok\"}");
}

int h_readyz(struct http_req *req, struct http_resp *resp)
{
    int rc = admin_ready(req->app, &req->eb);
    if (rc)
        return rc;
    resp->content_type = "application/json";
    return buf_adds(&resp->body, "{\"status\":\"ready\"}");
}

int h_metrics(struct http_req *req, struct http_resp *resp)
{
    resp->content_type = "text/plain; version=0.0.4";
    admin_metrics(req->app, &resp->body);
    return ERR_OK;
}
