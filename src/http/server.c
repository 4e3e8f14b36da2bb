/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* libmicrohttpd glue: one struct ctx per request (created in the URI log callback, freed in the
 * completed callback), the body read into a bounded buffer, the router called once the body is
 * complete, deferred requests suspended and resumed, responses queued.
 * Event streams (resp->stream) are sent with a content-reader callback; app/stream.c parks the
 * connection (suspends it) when nothing is pending and its wake thread resumes it.
 * THREADING: MHD calls everything for one connection from one of its pool threads; http_resume
 * may come from any thread (MHD_resume_connection is thread-safe). n_active counts requests
 * between creation and completion so shutdown can wait for them.
 * Slow clients: MHD's per-address connection limit (--max-conns-per-addr, direct clients only)
 * and our request deadline (--request-timeout): each connection is tracked from accept to close
 * (struct conn_track, MHD's socket context); while it is reading a request (from accept, or from
 * the end of its previous request, until its body is complete) a sweeper thread shuts its socket
 * down once the deadline passes, and MHD then closes it. Requests being handled, deferred
 * (suspended for the group commit) or streaming are not reading: the deadline never ends them. */
#include "base/prelude.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "core/client.h"
#include "http/http.h"
#include "http/router.h"
#include "app/stream.h"

#define STREAM_BLOCK 16384 /* most bytes asked of the stream reader at once */
/* Per-connection memory of libmicrohttpd (request line and headers, response headers; bodies go
 * to our own buffers). Half its 32 KiB default: it is cleared for every request. */
#define CONN_MEMORY 16384

#define SWEEP_EVERY_MS 250 /* how often the request deadline is checked */

/* One open connection (MHD's socket context), from accept to close. */
struct conn_track {
    struct conn_track *prev, *next; /* in http_server.conns, under conns_mu */
    int fd;
    bool shut; /* the sweeper shut it down (under conns_mu) */
    /* when it began reading a request (deadline clock, ms); 0 while a request is being handled,
     * deferred or streamed */
    atomic_int_fast64_t reading_since_ms;
    atomic_int_fast64_t reading_real_ms; /* the same instant on the monotonic clock alone */
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct app *app;
    atomic_int n_active;
    atomic_bool stopping; /* set before waiting for n_active to drain: no new suspensions */
    atomic_uint_fast64_t next_id;
    /* the request deadline (0 = none) and its sweeper */
    int64_t deadline_ms;
    pthread_mutex_t conns_mu; /* guards the list, each entry's shut, and sweep_stop */
    pthread_cond_t sweep_cv;
    struct conn_track conns; /* list head */
    bool sweep_stop;
    bool has_sweeper;
    pthread_t sweeper;
    struct log_throttle sweep_log;
    /* libmicrohttpd's messages, by format string (a flood of refused connections is one line
     * per 10 s per kind) */
    struct log_throttle mhd_log[16];
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

/* The deadline's clock: monotonic, plus the test clock's offset so tests can move it. */
static int64_t deadline_now_ms(void)
{
    return mono_us() / 1000 + testhooks_clock_offset_ms();
}

/* A connection moved past its deadline by the test clock alone is cut only once it has also
 * been reading this long in real time: otherwise a test that jumps the clock by hours would cut
 * the idle keep-alive connections its HTTP client is about to reuse, and its next request
 * fails. Without a test clock (production) the two clocks agree and this never applies. */
#define SWEEP_TEST_REAL_MIN_MS 2000

static struct conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Marks the connection as reading a request since now (at_ms) or, with 0, as handling one. */
static void track_reading(struct MHD_Connection *conn, int64_t at_ms)
{
    struct conn_track *t = track_of(conn);
    if (t) {
        atomic_store(&t->reading_since_ms, at_ms);
        atomic_store(&t->reading_real_ms, mono_us() / 1000);
    }
}

/* MHD's connection notifier: a connection opened (tracked, reading) or closed (forgotten; MHD
 * closes the socket only after this returns, so the sweeper never shuts a reused fd). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_track *t = xcalloc(1, sizeof(*t));
        t->fd = ci ? ci->connect_fd : -1;
        atomic_store(&t->reading_since_ms, deadline_now_ms());
        atomic_store(&t->reading_real_ms, mono_us() / 1000);
        pthread_mutex_lock(&srv->conns_mu);
        t->next = srv->conns.next;
        t->prev = &srv->conns;
        srv->conns.next->prev = t;
        srv->conns.next = t;
        pthread_mutex_unlock(&srv->conns_mu);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn_track *t = *socket_context;
        pthread_mutex_lock(&srv->conns_mu);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pthread_mutex_unlock(&srv->conns_mu);
        free(t);
        *socket_context = NULL;
    }
}

/* Shuts down the sockets of connections reading a request for longer than the deadline
 * (conns_mu held). Returns how many. */
static int sweep(struct http_server *srv, int64_t now)
{
    int n = 0;
    int64_t real_now = mono_us() / 1000;
    int64_t real_min =
        srv->deadline_ms < SWEEP_TEST_REAL_MIN_MS ? srv->deadline_ms : SWEEP_TEST_REAL_MIN_MS;
    for (struct conn_track *t = srv->conns.next; t != &srv->conns; t = t->next) {
        int64_t since = atomic_load(&t->reading_since_ms);
        if (since == 0 || t->shut || t->fd < 0 || now - since < srv->deadline_ms ||
            real_now - atomic_load(&t->reading_real_ms) < real_min)
            continue;
        shutdown(t->fd, SHUT_RDWR); /* MHD sees the end of the stream and closes it */
        t->shut = true;
        n++;
    }
    return n;
}

static void *sweep_loop(void *arg)
{
    struct http_server *srv = arg;
    pthread_mutex_lock(&srv->conns_mu);
    while (!srv->sweep_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SWEEP_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->sweep_cv, &srv->conns_mu, &ts);
        int n = srv->sweep_stop ? 0 : sweep(srv, deadline_now_ms());
        uint64_t held;
        if (n && log_throttle_pass(&srv->sweep_log, mono_us() / 1000, 10000, &held))
            log_warn("http",
                     "closed %d connections still sending their request after %" PRId64
                     " ms (--request-timeout; %" PRIu64
                     " more sweeps like this since the last line)",
                     n, srv->deadline_ms, held);
    }
    pthread_mutex_unlock(&srv->conns_mu);
    return NULL;
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

/* A zeroed ctx but for the two arrays that are always written before they are read (the
 * router's path segments, the response's header values: 3.4 KB of 9.4 KB), since zeroing a
 * whole ctx was a measurable share of a small request's CPU. */
static struct ctx *ctx_new(void)
{
    struct ctx *x = xmalloc(sizeof(*x));
    char *p = (char *)x;
    size_t params = offsetof(struct ctx, req) + offsetof(struct http_req, param_store);
    size_t params_end = params + sizeof(x->req.param_store);
    size_t values = offsetof(struct ctx, resp) + offsetof(struct http_resp, header_values);
    size_t values_end = values + sizeof(x->resp.header_values);
    _Static_assert(offsetof(struct ctx, req) < offsetof(struct ctx, resp), "req before resp");
    memset(p, 0, params);
    memset(p + params_end, 0, values - params_end);
    memset(p + values_end, 0, sizeof(*x) - values_end);
    return x;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *srv = cls;
    struct ctx *x = ctx_new();
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
    track_reading(conn, deadline_now_ms()); /* a kept-alive connection awaits its next request */
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
    if (sa->sa_family == AF_INET && cap >= CLIENT_IPV4_MAX)
        client_ipv4_text(
            (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
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

/* Counts the request's framing headers (MHD_get_connection_values callback). */
struct framing {
    int n_length;        /* Content-Length headers */
    bool lengths_differ; /* two of them with different values */
    bool chunked;        /* a Transfer-Encoding header */
    const char *first_length;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->n_length++ && strcmp(f->first_length, value ? value : "") != 0)
            f->lengths_differ = true;
        else
            f->first_length = value ? value : "";
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->chunked = true;
    }
    return MHD_YES;
}

/* Refuses a request whose body length is ambiguous: Content-Length twice with different values
 * (libmicrohttpd reads the first; a proxy in front may read the last: request smuggling), or with
 * Transfer-Encoding (RFC 9112 6.3). Returns ERR_INVALID with req->eb set, or ERR_OK. */
static int check_framing(struct ctx *x, struct MHD_Connection *conn)
{
    struct framing f = {0, false, false, ""};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    if (f.lengths_differ)
        return errf(&x->req.eb, ERR_INVALID, "Content-Length",
                    "conflicting Content-Length headers");
    if (f.n_length && f.chunked)
        return errf(&x->req.eb, ERR_INVALID, "Content-Length",
                    "Content-Length and Transfer-Encoding together");
    return ERR_OK;
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
        if (check_framing(x, conn) != ERR_OK) {
            track_reading(conn, 0);
            x->req.route = router_pattern(x->route);
            http_error_resp(&x->req, &x->resp, ERR_INVALID);
            http_header(&x->resp, "Connection", "close"); /* the body's end is unknown */
            return send_resp(x, conn);
        }
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
    track_reading(conn, 0); /* the request is in: from here on the deadline does not apply */
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

int http_listen_check(const char *listen)
{
    struct sockaddr_in sa;
    return parse_listen(listen, &sa);
}

/* MHD's log callback: fmt comes from libmicrohttpd itself, never from the network. Each kind of
 * message (its format string) is written once per 10 s with the count of repeats. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *srv = cls;
    struct log_throttle *t = &srv->mhd_log[((uintptr_t)fmt >> 3) % ARRAY_SIZE(srv->mhd_log)];
    uint64_t held;
    if (!log_throttle_pass(t, mono_us() / 1000, 10000, &held))
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http", "%s%s%.0" PRIu64 "%s", msg, held ? " (" : "", held,
             held ? " more like it since the last line)" : "");
}

/* Per-address limit for MHD: direct clients only. Behind a trusted proxy every connection comes
 * from the proxy, whose own limits apply (docs/operations.md). */
static unsigned per_addr_limit(const struct app *app)
{
    if ((app->cfg.trust_proxy && app->cfg.trust_proxy[0]) || app->cfg.max_conns_per_addr <= 0)
        return 0;
    return (unsigned)app->cfg.max_conns_per_addr;
}

static void sweeper_start(struct http_server *srv)
{
    pthread_mutex_init(&srv->conns_mu, NULL);
    pthread_cond_init(&srv->sweep_cv, NULL);
    srv->conns.next = srv->conns.prev = &srv->conns;
    srv->deadline_ms = srv->app->cfg.request_timeout_s * 1000;
    if (srv->deadline_ms > 0 && pthread_create(&srv->sweeper, NULL, sweep_loop, srv) == 0)
        srv->has_sweeper = true;
    else if (srv->deadline_ms > 0)
        log_error("http", "cannot start the request-deadline thread: no deadline");
}

static void sweeper_stop(struct http_server *srv)
{
    pthread_mutex_lock(&srv->conns_mu);
    srv->sweep_stop = true;
    pthread_cond_signal(&srv->sweep_cv);
    pthread_mutex_unlock(&srv->conns_mu);
    if (srv->has_sweeper)
        pthread_join(srv->sweeper, NULL);
    srv->has_sweeper = false;
}

int http_server_start(struct app *app, struct http_server **out, uint16_t *port)
{
    struct sockaddr_in sa;
    if (parse_listen(app->cfg.listen, &sa) != ERR_OK)
        return log_error("http", "bad listen address '%s'", app->cfg.listen), ERR_INVALID;
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->app = app;
    sweeper_start(srv);
    long threads = app->cfg.threads > 0 ? (long)app->cfg.threads : sysconf(_SC_NPROCESSORS_ONLN);
    struct MHD_OptionItem limits[] = {
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_addr_limit(app), NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(threads > 0 ? threads : 2), MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_ARRAY, limits, MHD_OPTION_END);
    if (!srv->daemon) {
        sweeper_stop(srv);
        pthread_mutex_destroy(&srv->conns_mu);
        pthread_cond_destroy(&srv->sweep_cv);
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
    sweeper_stop(srv);
    MHD_stop_daemon(srv->daemon); /* closes what remains: on_connection still needs conns_mu */
    pthread_mutex_destroy(&srv->conns_mu);
    pthread_cond_destroy(&srv->sweep_cv);
    free(srv);
}
