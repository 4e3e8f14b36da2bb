/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The outbound client (see outbound.h) over libcurl's multi interface: one easy handle per
 * request, the private-address rule in the open-socket callback, bounded answer capture. */
#include "base/prelude.h"
#include "app/outbound.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"
#include "base/xalloc.h"

#define OUTBOUND_IDLE_HANDLES 64 /* as many as connections (CURLMOPT_MAX_TOTAL_CONNECTIONS) */

struct transfer {
    struct outbound *o;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    char *body; /* owned copy (POST body or mail message) */
    size_t len, sent;
    bool refused; /* the open-socket callback refused a private address */
    int64_t started_us;
    struct outbound_result r;
    size_t got;      /* bytes of the answer seen */
    bool keep;       /* keep the whole answer (outbound_request, outbound_fetch) */
    size_t keep_max; /* most bytes kept (OUTBOUND_BODY_MAX unless outbound_fetch's) */
    char *answer;
    size_t answer_len, answer_cap;
    outbound_done_fn done;
    void *arg;
    struct transfer *prev, *next; /* the client's list of transfers in flight */
};

struct outbound {
    CURLM *multi;
    struct outbound_config cfg;
    char ca_file[512];
    char user_agent[64];
    size_t in_flight;
    struct transfer *head; /* in flight */
    /* Easy handles of ended transfers, reset for the next: a new handle per request allocated
     * and freed its buffers each time (bench/outbound: malloc ~5 % of the sender's CPU). */
    CURL *idle[OUTBOUND_IDLE_HANDLES];
    size_t n_idle;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ==== the private-address rule =================================================================
 */

static bool v4_private(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
    } nets[] = {
        {0x00000000, 0xff000000}, {0x0a000000, 0xff000000}, {0x64400000, 0xffc00000},
        {0x7f000000, 0xff000000}, {0xa9fe0000, 0xffff0000}, {0xac100000, 0xfff00000},
        {0xc0000000, 0xffffff00}, {0xc0a80000, 0xffff0000}, {0xc6120000, 0xfffe0000},
        {0xe0000000, 0xe0000000}, /* 224/4 multicast and 240/4 reserved */
    };
    for (size_t i = 0; i < ARRAY_SIZE(nets); i++)
        if ((a & nets[i].mask) == nets[i].net)
            return true;
    return false;
}

static bool v6_private(const unsigned char *b)
{
    static const unsigned char zero[12] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, zero, 12) == 0 || memcmp(b, mapped, 12) == 0) {
        uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return memcmp(b, zero, 12) == 0 && a <= 1 ? true : v4_private(a); /* :: and ::1 */
    }
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}

bool outbound_addr_private(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return v4_private(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        return v6_private(in6->sin6_addr.s6_addr);
    }
    return true; /* anything else (unix sockets) is never an outbound destination */
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = clientp;
    (void)purpose;
    if (!t->o->cfg.allow_private && outbound_addr_private(&a->addr)) {
        t->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* ==== answers ==================================================================================
 */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    size_t room = sizeof(t->r.snippet) - 1 - (t->got < sizeof(t->r.snippet) - 1 ? t->got : 0);
    if (t->got < sizeof(t->r.snippet) - 1) {
        size_t k = len < room ? len : room;
        memcpy(t->r.snippet + t->got, data, k);
        t->r.snippet[t->got + k] = '\0';
    }
    t->got += len;
    if (t->keep && !t->r.body_cut) {
        if (t->answer_len + len > t->keep_max) {
            t->r.body_cut = true;
            if (t->keep_max > OUTBOUND_BODY_MAX)
                return 0; /* media over its limit: nothing of it is used, stop the transfer */
        } else {
            if (t->answer_len + len + 1 > t->answer_cap) {
                size_t cap = t->answer_cap ? t->answer_cap : 4096;
                while (cap < t->answer_len + len + 1)
                    cap *= 2;
                t->answer = xrealloc(t->answer, cap);
                t->answer_cap = cap;
            }
            memcpy(t->answer + t->answer_len, data, len);
            t->answer_len += len;
            t->answer[t->answer_len] = '\0';
        }
    }
    if (t->got > (size_t)64 << 20)
        return 0; /* an endless answer ends the transfer */
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    static const char ctype[] = "content-type:";
    if (len > sizeof(ctype) - 1 && strncasecmp(data, ctype, sizeof(ctype) - 1) == 0) {
        const char *v = data + sizeof(ctype) - 1;
        size_t k = len - (sizeof(ctype) - 1);
        while (k && (*v == ' ' || *v == '\t'))
            v++, k--;
        while (k && (v[k - 1] == '\r' || v[k - 1] == '\n' || v[k - 1] == ' '))
            k--;
        snprintf(t->r.content_type, sizeof(t->r.content_type), "%.*s",
                 (int)(k < sizeof(t->r.content_type) - 1 ? k : sizeof(t->r.content_type) - 1), v);
    }
    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char v[32];
        size_t k = len - (sizeof(name) - 1);
        snprintf(v, sizeof(v), "%.*s", (int)(k < sizeof(v) - 1 ? k : sizeof(v) - 1),
                 data + sizeof(name) - 1);
        char *end = NULL;
        long s = strtol(v, &end, 10);
        if (end != v && s >= 0 && s <= 7 * 86400)
            t->r.retry_after_s = (int)s;
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t k = t->len - t->sent;
    if (k > size * n)
        k = size * n;
    memcpy(buf, t->body + t->sent, k);
    t->sent += k;
    return k;
}

/* ==== requests =================================================================================
 */

static void transfer_free(struct transfer *t)
{
    if (!t)
        return;
    struct outbound *o = t->o;
    if (t->easy && o->n_idle < OUTBOUND_IDLE_HANDLES) { /* not in the multi handle (any more) */
        curl_easy_reset(t->easy);                       /* every option back to its default */
        o->idle[o->n_idle++] = t->easy;
    } else {
        curl_easy_cleanup(t->easy);
    }
    curl_slist_free_all(t->headers);
    curl_slist_free_all(t->rcpt);
    free(t->body);
    free(t->answer);
    free(t);
}

static struct transfer *transfer_new(struct outbound *o, const char *url, const char *protocols,
                                     outbound_done_fn done, void *arg)
{
    struct transfer *t = xcalloc(1, sizeof(*t));
    t->o = o;
    t->keep_max = OUTBOUND_BODY_MAX;
    t->done = done;
    t->arg = arg;
    t->r.retry_after_s = -1;
    t->easy = o->n_idle ? o->idle[--o->n_idle] : curl_easy_init();
    if (!t->easy) {
        free(t);
        return NULL;
    }
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->cfg.connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
    return t;
}

static int start(struct outbound *o, struct transfer *t)
{
    t->started_us = mono_us();
    if (curl_multi_add_handle(o->multi, t->easy) != CURLM_OK) {
        transfer_free(t);
        return ERR_NOMEM;
    }
    o->in_flight++;
    t->next = o->head;
    if (o->head)
        o->head->prev = t;
    o->head = t;
    return ERR_OK;
}

/* A transfer to an HTTP URL: https, or http where private destinations are allowed (tests,
 * local receivers). NULL with *rc ERR_INVALID (another scheme) or ERR_NOMEM. */
static struct transfer *web_transfer(struct outbound *o, const char *url, outbound_done_fn done,
                                     void *arg, int *rc)
{
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = strncasecmp(url, "http://", 7) == 0;
    *rc = ERR_INVALID;
    if (!https && !(http && o->cfg.allow_private))
        return NULL;
    struct transfer *t = transfer_new(o, url, https ? "https" : "http", done, arg);
    *rc = t ? ERR_OK : ERR_NOMEM;
    return t;
}

static void set_headers(struct transfer *t, const char *const *headers, size_t n)
{
    for (size_t i = 0; i < n && i < OUTBOUND_MAX_HEADERS; i++)
        t->headers = curl_slist_append(t->headers, headers[i]);
    t->headers = curl_slist_append(t->headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
}

/* The request body, copied (the caller's may go before the transfer ends). */
static void set_body(struct transfer *t, const char *body, size_t len)
{
    t->body = xmalloc(len + 1);
    memcpy(t->body, body, len);
    t->body[len] = '\0';
    t->len = len;
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
}

int outbound_post(struct outbound *o, const char *url, const char *const *headers, size_t n_headers,
                  const char *body, size_t len, outbound_done_fn done, void *arg)
{
    int rc;
    struct transfer *t = web_transfer(o, url, done, arg, &rc);
    if (!t)
        return rc;
    set_headers(t, headers, n_headers);
    set_body(t, body, len);
    return start(o, t);
}

int outbound_request(struct outbound *o, const char *method, const char *url,
                     const char *const *headers, size_t n_headers, const char *body, size_t len,
                     const char *userpwd, outbound_done_fn done, void *arg)
{
    return outbound_request_within(o, 0, method, url, headers, n_headers, body, len, userpwd, done,
                                   arg);
}

int outbound_request_within(struct outbound *o, int64_t timeout_ms, const char *method,
                            const char *url, const char *const *headers, size_t n_headers,
                            const char *body, size_t len, const char *userpwd,
                            outbound_done_fn done, void *arg)
{
    if (!method)
        return ERR_INVALID;
    int rc;
    struct transfer *t = web_transfer(o, url, done, arg, &rc);
    if (!t)
        return rc;
    t->keep = true;
    if (timeout_ms > 0) {
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        if (timeout_ms < o->cfg.connect_ms)
            curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    }
    set_headers(t, headers, n_headers);
    if (userpwd) {
        curl_easy_setopt(t->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(t->easy, CURLOPT_USERPWD, userpwd);
    }
    if (body)
        set_body(t, body, len);
    else if (strcmp(method, "GET") == 0)
        curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
    if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
        curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, method);
    return start(o, t);
}

int outbound_fetch(struct outbound *o, const char *url, const char *userpwd, size_t max_bytes,
                   int64_t timeout_ms, outbound_done_fn done, void *arg)
{
    int rc;
    struct transfer *t = web_transfer(o, url, done, arg, &rc);
    if (!t)
        return rc;
    t->keep = true;
    t->keep_max = max_bytes;
    if (timeout_ms > 0)
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
    if (userpwd) {
        curl_easy_setopt(t->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(t->easy, CURLOPT_USERPWD, userpwd);
    }
    return start(o, t);
}

int outbound_mail(struct outbound *o, const char *smtp_url, const char *from, const char *to,
                  const char *message, outbound_done_fn done, void *arg)
{
    bool smtps = strncasecmp(smtp_url, "smtps://", 8) == 0;
    if (!smtps && strncasecmp(smtp_url, "smtp://", 7) != 0)
        return ERR_INVALID;
    struct transfer *t = transfer_new(o, smtp_url, smtps ? "smtps" : "smtp", done, arg);
    if (!t)
        return ERR_NOMEM;
    char addr[320];
    snprintf(addr, sizeof(addr), "<%s>", from);
    curl_easy_setopt(t->easy, CURLOPT_MAIL_FROM, addr);
    snprintf(addr, sizeof(addr), "<%s>", to);
    t->rcpt = curl_slist_append(NULL, addr);
    curl_easy_setopt(t->easy, CURLOPT_MAIL_RCPT, t->rcpt);
    /* STARTTLS when the server offers it; required with smtps:// (TLS from the start). */
    curl_easy_setopt(t->easy, CURLOPT_USE_SSL, (long)(smtps ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    t->len = strlen(message);
    t->body = xstrdup(message);
    curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(t->easy, CURLOPT_READDATA, t);
    curl_easy_setopt(t->easy, CURLOPT_UPLOAD, 1L);
    return start(o, t);
}

/* ==== the loop =================================================================================
 */

static void unlink_transfer(struct outbound *o, struct transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        o->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    o->in_flight--;
}

static void finish(struct outbound *o, CURL *e, CURLcode code)
{
    struct transfer *t = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(o->multi, e);
    unlink_transfer(o, t);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    t->r.status = code == CURLE_OK || status ? (int)status : 0;
    t->r.latency_ms = (mono_us() - t->started_us) / 1000;
    if (t->refused)
        snprintf(t->r.error, sizeof(t->r.error),
                 "refused: the destination's address is loopback, private or link-local "
                 "(serve --outbound-allow-private allows it)");
    else if (code != CURLE_OK)
        snprintf(t->r.error, sizeof(t->r.error), "%s", curl_easy_strerror(code));
    if (code != CURLE_OK)
        t->r.status = 0;
    if (t->keep) {
        t->r.body = t->answer ? t->answer : "";
        t->r.body_len = t->answer_len;
    }
    t->done(t->arg, &t->r);
    transfer_free(t);
}

size_t outbound_run(struct outbound *o, int wait_ms)
{
    int running = 0;
    curl_multi_perform(o->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(o->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            finish(o, msg->easy_handle, msg->data.result);
    curl_multi_poll(o->multi, NULL, 0, wait_ms, NULL);
    curl_multi_perform(o->multi, &running);
    while ((msg = curl_multi_info_read(o->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            finish(o, msg->easy_handle, msg->data.result);
    return o->in_flight;
}

size_t outbound_in_flight(const struct outbound *o)
{
    return o->in_flight;
}

void outbound_wakeup(struct outbound *o)
{
    curl_multi_wakeup(o->multi);
}

struct outbound *outbound_new(const struct outbound_config *cfg)
{
    pthread_once(&global_once, global_init);
    struct outbound *o = xcalloc(1, sizeof(*o));
    o->cfg = *cfg;
    snprintf(o->ca_file, sizeof(o->ca_file), "%s", cfg->ca_file ? cfg->ca_file : "");
    snprintf(o->user_agent, sizeof(o->user_agent), "%s",
             cfg->user_agent ? cfg->user_agent : "opendni");
    o->cfg.ca_file = NULL;
    o->cfg.user_agent = NULL;
    o->multi = curl_multi_init();
    if (!o->multi) {
        log_error("outbound", "cannot start libcurl (curl_multi_init)");
        abort();
    }
    curl_multi_setopt(o->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 64L);
    /* keep as many idle connections as may be in flight: the default cache (four per handle
     * added, and handles come and go) closed connections a destination was about to reuse */
    curl_multi_setopt(o->multi, CURLMOPT_MAXCONNECTS, 64L);
    return o;
}

void outbound_free(struct outbound *o)
{
    if (!o)
        return;
    while (o->head) {
        struct transfer *t = o->head;
        curl_multi_remove_handle(o->multi, t->easy);
        unlink_transfer(o, t);
        transfer_free(t);
    }
    while (o->n_idle)
        curl_easy_cleanup(o->idle[--o->n_idle]);
    curl_multi_cleanup(o->multi);
    free(o);
}
