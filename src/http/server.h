/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The HTTP server: libmicrohttpd with its internal epoll thread pool. The only file that sees
 * MHD types is server.c. Requests are routed by router.c. */
#ifndef OPENDNI_HTTP_SERVER_H
#define OPENDNI_HTTP_SERVER_H

#include <stdint.h>

struct app;
struct http_server;

/* Whether listen is an address this server can bind: "IPv4:PORT" (an empty host is every
 * address, port 0 any free port). ERR_OK or ERR_INVALID; checks the text only, binds nothing. */
int http_listen_check(const char *listen);
/* Starts listening on app->cfg.listen. out: *srv, *port (the bound port). */
int http_server_start(struct app *app, struct http_server **srv, uint16_t *port);
/* Graceful stop: stops accepting, lets in-flight requests (including deferred ones) finish for
 * up to grace_ms, then stops the daemon. NULL ok. */
void http_server_stop(struct http_server *srv, int grace_ms);

#endif
