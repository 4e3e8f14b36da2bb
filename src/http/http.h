/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Requests and responses as handlers see them: no libmicrohttpd type appears here, so handlers
 * can be driven by tests without sockets. server.c fills a struct http_req per request (in
 * the connection's thread), the router picks the handler, the handler fills the struct
 * http_resp. A handler may defer its answer (http_defer) to a worker such as the group-commit
 * writer, which fills the response and calls http_resume() from its own thread. */
#ifndef OPENDNI_HTTP_HTTP_H
#define OPENDNI_HTTP_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "app/records.h"
#include "app/users.h"

struct app;
struct stream_listener;

#define HTTP_MAX_PARAMS 3
#define HTTP_MAX_HEADERS 12

struct http_req {
    /* public: set by the server before routing */
    struct app *app;
    uint64_t id; /* request id for logs */
    const char *method;
    const char *path;        /* without the query string */
    const char *raw_uri;     /* path and query exactly as received */
    const char *client_addr; /* "127.0.0.1" */
    const char *h_auth, *h_origin, *h_user_agent, *h_content_type, *h_accept_encoding,
        *h_if_none_match, *h_forwarded_for, *h_geo;
    struct buf body;
    int64_t started_at_us; /* monotonic, for the latency histogram */
    /* set by the router */
    const char *route;                      /* the route pattern, for metrics */
    const char *params[HTTP_MAX_PARAMS];    /* {…} path segments */
    char param_store[HTTP_MAX_PARAMS][128]; /* not zeroed: written before params[] point in */
    struct st_account account;              /* the authenticated account (AUTH routes) */
    char credential[80];          /* what authenticated it (admin_account_by_key), re-checkable */
    struct users_session session; /* a dashboard session's user and role (session.row.id 0:
                                     none; Bearer-key requests have no session) */
    struct errbuf eb;             /* error detail for the error response */
    char audit_detail[256];       /* what a handler adds to the audit entry of a session's change */
    int retry_after_s;            /* with ERR_LIMITED: seconds for Retry-After */
    /* private: deferral, owned by server.c */
    void (*_defer_fn)(void *arg);
    void *_defer_arg;
    void (*_after_fn)(void *arg);
    void *_after_arg;
    void *_conn;
    bool _resumed;
    /* private: any request header, looked up on demand (http_req_header); set by server.c */
    const char *(*_header_fn)(void *conn, const char *name);
};

struct http_resp {
    int status;
    const char *content_type; /* static string */
    struct buf body;
    const unsigned char *static_body; /* instead of body: static bytes (assets) */
    size_t static_len;
    /* instead of body: an endless event stream (GET /v1/stream). The server reads it with
     * stream_read until it ends and frees it with stream_unlisten when the request completes
     * (whether or not it was sent), so a handler that sets it hands the listener over. */
    struct stream_listener *stream;
    int n_headers;
    const char *header_names[HTTP_MAX_HEADERS]; /* static strings */
    char header_values[HTTP_MAX_HEADERS][256];  /* not zeroed: [i] written before n_headers > i */
};

/* A handler returns ERR_OK with resp filled, or an error code with req->eb set; the router
 * then answers the contract's error JSON with err_http_status(code). */
typedef int (*http_handler_fn)(struct http_req *req, struct http_resp *resp);

/* Adds a response header (names are static strings). Silently drops past HTTP_MAX_HEADERS. */
void http_header(struct http_resp *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of request header name (case-insensitive), or NULL when the request has none (or
 * was not made by the server, as in handler tests). Looked up when asked, so a header only
 * one route reads costs the others nothing. Borrowed: valid until the request completes.
 * Call from the handler (the connection's thread), not after http_defer. */
const char *http_req_header(const struct http_req *req, const char *name);

/* The client's address into out (cap bytes): the connection's, or for a request from a trusted
 * proxy (--trust-proxy ADDR|CIDR,…) the first X-Forwarded-For entry from the right that no trusted
 * proxy wrote (app/clientaddr.h). */
void http_client_of(const struct http_req *req, char *out, size_t cap);

/* Value of a query-string parameter, percent-decoded into out (cap bytes; cut to cap - 1 bytes
 * and NUL-terminated, nothing written when cap is 0): '+' is a space, %XX a byte (%00 is
 * dropped), an invalid escape is kept as is. The first parameter of that name counts. Returns
 * true if present. */
bool http_query(const struct http_req *req, const char *name, char *out, size_t cap);

/* Asks the server to suspend the connection, then call fn(arg) (which hands the request to
 * another thread). That thread fills the response and calls http_resume(req); the server then
 * sends it. Call at most once, from the handler. */
void http_defer(struct http_req *req, void (*fn)(void *arg), void *arg);
void http_resume(struct http_req *req);
/* Has the server call fn(arg) on its HTTP thread once the request is over (the response sent,
 * or the connection gone): work that must not delay the answer, nor run on the thread that
 * calls http_resume. fn owns arg. Call at most once, before http_resume. */
void http_after(struct http_req *req, void (*fn)(void *arg), void *arg);

/* Fills resp with the error JSON {"error":{"code","message","field"}} for code and req->eb. */
void http_error_resp(struct http_req *req, struct http_resp *resp, int code);

#endif
