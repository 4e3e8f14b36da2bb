/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* libmicrohttpd glue: one struct ctx per request (created in the URI log callback, freed in the
 * completed callback), the body read into a bounded buffer, the router called once the body is
 * complete, deferred requests suspended and resumed, responses queued.
 * Event streams (resp->stream) are sent with a content-reader callback; app/stream.c parks the
 * connection (suspends it) when nothing is pending and its wake thread resumes it.
 * THREADING: MHD calls everything for one connection from one of its pool threads; http_resume
 * may come from any thread (MHD_resume_connection is thread-safe). n_active counts requests
 * between creation and completion so shutdown can wait for them. */
#include "base/prelude.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "http/http.h"
#include "http/router.h"
#include "app/stream.h"

#define STREAM_BLOCK 16384 /* most bytes asked of the stream reader at once */
/* Per-connection memory of libmicrohttpd (request line and headers, response headers; bodies go
 * to our own buffers). Half its 32 KiB default: it is cleared for every request. */
#define CONN_MEMORY 16384

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    atomic_int n_active;
    atomic_bool stopping; /* set before waiting for n_active to drain: no new suspensions */
    atomic_uint_fast64_t next_id;
};

enum ctx_state { CTX_NEW, CTX_BODY, CTX_DEFERRED, CTX_DONE };

struct ctx {
    struct http_req req;
    struct http_resp resp;
    enum ctx_state state;
    const struct route *route;
    bool too_big;
    char addr[INET6_ADDRSTRLEN];
    char *uri;
    struct http_server *srv;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* http_req_header's lookup: MHD compares header names without regard to case. */
static const char *lookup_header(void *conn, const char *name)
{
    return header(conn, name);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *srv = cls;
    struct ctx *x = xcalloc(1, sizeof(*x));
    x->srv = srv;
    x->uri = xstrdup(uri);
    x->req.raw_uri = x->uri;
    x->req.app = srv->app;
    x->req.id = atomic_fetch_add(&srv->next_id, 1);
    x->req.started_at_us = mono_us();
    x->req._conn = conn;
    x->req._header_fn = lookup_header;
    buf_init(&x->resp.body, 0);
    atomic_fetch_add(&srv->n_active, 1);
    return x;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct ctx *x = *con_cls;
    if (!x)
        return;
    if (x->req._after_fn)
        x->req._after_fn(x->req._after_arg);
    if (x->resp.stream)
        stream_unlisten(srv->app->stream, x->resp.stream);
    if (x->req.body.data)
        buf_release(&x->req.body);
    buf_release(&x->resp.body);
    free(x->uri);
    free(x);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->n_active, 1);
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

static void fill_request(struct ctx *x, struct MHD_Connection *conn, const char *url,
                         const char *method)
{
    struct http_req *r = &x->req;
    r->method = method;
    r->path = url;
    r->h_auth = header(conn, MHD_HTTP_HEADER_AUTHORIZATION);
    r->h_origin = header(conn, "Origin");
    r->h_user_agent = header(conn, MHD_HTTP_HEADER_USER_AGENT);
    r->h_content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    r->h_accept_encoding = header(conn, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    r->h_if_none_match = header(conn, MHD_HTTP_HEADER_IF_NONE_MATCH);
    r->h_forwarded_for = header(conn, "X-Forwarded-For");
    r->h_geo = r->app->cfg.geo_header[0] ? header(conn, r->app->cfg.geo_header) : NULL;
    client_addr(conn, x->addr, sizeof(x->addr));
    r->client_addr = x->addr;
    x->route = router_match(r);
    buf_init(&r->body, router_body_max(x->route, r->app));
}

static void conn_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void conn_resume(void *conn)
{
    MHD_resume_connection(conn);
}

/* Content reader of an event stream: 0 means "parked, call again once resumed". */
static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct ctx *x = cls;
    long n = stream_read(x->resp.stream, out, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static enum MHD_Result send_resp(struct ctx *x, struct MHD_Connection *conn)
{
    struct http_resp *rs = &x->resp;
    struct MHD_Response *m;
    if (rs->stream) {
        m = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, x, NULL);
        if (m)
            stream_attach(rs->stream, conn_suspend, conn_resume, conn);
    } else if (rs->static_body) {
        m = MHD_create_response_from_buffer(rs->static_len, (void *)rs->static_body,
                                            MHD_RESPMEM_PERSISTENT);
    } else {
        size_t len;
        char *body = buf_detach(&rs->body, &len);
        m = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        buf_init(&rs->body, 0);
    }
    if (!m)
        return MHD_NO;
    if (rs->content_type)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    for (int i = 0; i < rs->n_headers; i++)
        MHD_add_response_header(m, rs->header_names[i], rs->header_values[i]);
    router_finish(&x->req, rs, mono_us() - x->req.started_at_us);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs->status, m);
    MHD_destroy_response(m);
    x->state = CTX_DONE;
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct ctx *x = *con_cls;
    if (!x)
        return MHD_NO;
    switch (x->state) {
    case CTX_NEW:
        fill_request(x, conn, url, method);
        x->state = CTX_BODY;
        return MHD_YES;
    case CTX_BODY:
        if (*upload_data_size) {
            if (!x->too_big && buf_add(&x->req.body, upload_data, *upload_data_size) != ERR_OK)
                x->too_big = true;
            *upload_data_size = 0;
            return MHD_YES;
        }
        break;
    case CTX_DEFERRED:
        return send_resp(x, conn);
    case CTX_DONE:
        return MHD_YES;
    }
    if (x->too_big) {
        x->req.route = x->route ? router_pattern(x->route) : "unmatched";
        errf(&x->req.eb, ERR_TOOBIG, "body", "request body over %zu bytes", x->req.body.max);
        http_error_resp(&x->req, &x->resp, ERR_TOOBIG);
        return send_resp(x, conn);
    }
    if (atomic_load(&x->srv->stopping)) {
        /* A request that arrives during shutdown (on a kept-alive connection) is refused
         * rather than suspended: MHD cannot stop with suspended connections. */
        x->req.route = router_pattern(x->route);
        errf(&x->req.eb, ERR_UNSUPPORTED, NULL, "the server is shutting down; retry");
        http_error_resp(&x->req, &x->resp, ERR_UNSUPPORTED);
        x->resp.status = 503;
        http_header(&x->resp, "Connection", "close");
        return send_resp(x, conn);
    }
    router_dispatch(x->route, &x->req, &x->resp);
    if (x->req._defer_fn) {
        x->state = CTX_DEFERRED;
        MHD_suspend_connection(conn);
        x->req._defer_fn(x->req._defer_arg);
        return MHD_YES;
    }
    return send_resp(x, conn);
}

void http_defer(struct http_req *req, void (*fn)(void *arg), void *arg)
{
    req->_defer_fn = fn;
    req->_defer_arg = arg;
}

void http_after(struct http_req *req, void (*fn)(void *arg), void *arg)
{
    req->_after_fn = fn;
    req->_after_arg = arg;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return req->_header_fn && req->_conn ? req->_header_fn(req->_conn, name) : NULL;
}

void http_resume(struct http_req *req)
{
    req->_resumed = true;
    MHD_resume_connection(req->_conn);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return ERR_INVALID;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return ERR_INVALID;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
        return ERR_INVALID;
    return ERR_OK;
}

/* MHD's log callback: fmt comes from libmicrohttpd itself, never from the network. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http", "%s", msg);
}

int http_server_start(struct app *app, struct http_server **out, uint16_t *port)
{
    struct sockaddr_in sa;
    if (parse_listen(app->cfg.listen, &sa) != ERR_OK)
        return log_error("http", "bad listen address '%s'", app->cfg.listen), ERR_INVALID;
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->app = app;
    long threads = app->cfg.threads > 0 ? (long)app->cfg.threads : sysconf(_SC_NPROCESSORS_ONLN);
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(threads > 0 ? threads : 2), MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONN_MEMORY, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!srv->daemon) {
        free(srv);
        return log_error("http", "cannot listen on '%s'", app->cfg.listen), ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : 0;
    *out = srv;
    return ERR_OK;
}

void http_server_stop(struct http_server *srv, int grace_ms)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, true);
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Event streams never finish by themselves, and MHD cannot stop with parked connections:
     * end them (each sends what is queued, then closes) and let the wait below drain them. */
    stream_shutdown(srv->app->stream);
    int64_t deadline = mono_us() + (int64_t)grace_ms * 1000;
    while (atomic_load(&srv->n_active) > 0 && mono_us() < deadline) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&srv->n_active) > 0)
        log_warn("http", "stopping with %d requests still open", atomic_load(&srv->n_active));
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
