/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /v1/stream: the account's live events (call.started, call.completed,
 * conversion.created) as Server-Sent Events, for an API key or a dashboard session (viewer+;
 * a viewer's events are masked as the calls API masks them). The handler only registers a listener
 * with the credential that authenticated the request; server.c sends it through a content reader
 * and app/stream.c feeds it, keeps it alive and ends it once that credential is revoked. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "app/app.h"
#include "app/stream.h"

int h_stream(struct http_req *req, struct http_resp *resp)
{
    /* a dashboard session below analyst gets events with the caller and money masked */
    bool masked = req->session.row.id && !access_allows(req->session.role, ACCESS_ANALYST);
    struct stream_listener *l =
        req->app->stream
            ? stream_listen_masked(req->app->stream, req->account.id, req->credential, masked)
            : NULL;
    if (!l) {
        /* Only after stream_shutdown: the server is stopping. */
        errf(&req->eb, ERR_UNSUPPORTED, NULL, "the server is shutting down; retry");
        http_error_resp(req, resp, ERR_UNSUPPORTED);
        resp->status = 503;
        http_header(resp, "Retry-After", "5");
        return ERR_OK;
    }
    resp->status = 200;
    resp->content_type = "text/event-stream; charset=utf-8";
    http_header(resp, "Cache-Control", "no-cache, no-store");
    http_header(resp, "X-Accel-Buffering", "no"); /* nginx in front: do not buffer events */
    resp->stream = l;
    return ERR_OK;
}
