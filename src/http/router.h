/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The route table and dispatch: method + path pattern -> handler, with per-route flags (Bearer
 * auth, public CORS) and body limits; the error format on every failure path; one log line and
 * the metrics per request. Called by server.c from the connection's thread. */
#ifndef OPENDNI_HTTP_ROUTER_H
#define OPENDNI_HTTP_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

struct route;

/* The route for the request's method and path (filling req->params), or NULL. */
const struct route *router_match(struct http_req *req);
/* Body limit for the route (the server's default for NULL). */
size_t router_body_max(const struct route *r, const struct app *app);
const char *router_pattern(const struct route *r);
/* Runs auth/CORS checks and the handler; on any failure fills resp with the error JSON. */
void router_dispatch(const struct route *r, struct http_req *req, struct http_resp *resp);
/* Records metrics and writes the access log line, just before the response is queued. */
void router_finish(struct http_req *req, struct http_resp *resp, int64_t elapsed_us);
/* Number of routes and their patterns (for metrics and the docs test). */
size_t router_count(void);
const char *router_pattern_at(size_t i);

#endif
