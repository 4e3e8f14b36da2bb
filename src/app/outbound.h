/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The one outbound client (DESIGN.md "Cross-cutting decisions": outbound requests): HTTPS POSTs
 * and SMTP mail through libcurl's multi interface, with connect and total timeouts, TLS
 * verification always on, no redirects, no proxy from the environment, and the private-address
 * rule of API.md: unless allow_private, a connection to a loopback, private, link-local,
 * multicast or otherwise reserved address is refused when the socket is opened (after DNS, so
 * a name that resolves inward is refused too) and plain http:// is refused.
 * Ownership: requests copy what they are given; results are borrowed for the callback.
 * THREADING: a struct outbound belongs to one thread (the sender's): every function but
 * outbound_wakeup must be called from it; callbacks run on it, inside outbound_run. */
#ifndef OPENDNI_APP_OUTBOUND_H
#define OPENDNI_APP_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct sockaddr;

#define OUTBOUND_SNIPPET_MAX 512
#define OUTBOUND_MAX_HEADERS 8

struct outbound_config {
    bool allow_private;     /* serve --outbound-allow-private */
    const char *ca_file;    /* CA bundle to trust instead of the system's (test binary), or NULL */
    int64_t connect_ms;     /* connect timeout */
    int64_t timeout_ms;     /* whole transfer: an answer must be complete by then */
    const char *user_agent; /* "opendni/VERSION" */
};

/* What came back. status: the HTTP status (or SMTP's last reply code); 0 when nothing came back
 * (refused address, DNS, TLS, timeout), then error says why. */
struct outbound_result {
    int status;
    int64_t latency_ms;
    int retry_after_s; /* the answer's Retry-After in seconds, -1 if none */
    char error[256];
    char snippet[OUTBOUND_SNIPPET_MAX]; /* the first bytes of the answer's body */
    /* outbound_request only: the whole answer (up to OUTBOUND_BODY_MAX bytes, NUL-terminated;
     * body_cut when it was longer), borrowed for the callback. NULL for the others. */
    const char *body;
    size_t body_len;
    bool body_cut;
    char content_type[128]; /* the answer's Content-Type, "" if none */
};

#define OUTBOUND_BODY_MAX (1u << 20)

/* Called once per request, on the thread running outbound_run. */
typedef void (*outbound_done_fn)(void *arg, const struct outbound_result *r);

/* A new client (libcurl's global state is set up on first use). Never NULL (aborts on OOM). */
struct outbound *outbound_new(const struct outbound_config *cfg);
/* Aborts what is in flight (their callbacks are not called) and frees o. NULL ok. */
void outbound_free(struct outbound *o);

/* Starts a POST of body (len bytes) to url with the headers ("Name: value"). done(arg, result)
 * follows exactly once from outbound_run. ERR_OK, or ERR_INVALID (a URL scheme the rule refuses:
 * done is not called). */
int outbound_post(struct outbound *o, const char *url, const char *const *headers, size_t n_headers,
                  const char *body, size_t len, outbound_done_fn done, void *arg);
/* Starts a request with method (GET, POST, PATCH, DELETE) to url with the headers and, unless
 * body is NULL, the body (len bytes); userpwd "user:password" (NULL: none) is sent as HTTP Basic
 * authentication. The whole answer is kept (struct outbound_result body). Same contract and
 * rules as outbound_post. */
int outbound_request(struct outbound *o, const char *method, const char *url,
                     const char *const *headers, size_t n_headers, const char *body, size_t len,
                     const char *userpwd, outbound_done_fn done, void *arg);
/* outbound_request with its own whole-transfer timeout (timeout_ms > 0; 0 = the client's):
 * ping-post bids, whose deadline is the auction's. */
int outbound_request_within(struct outbound *o, int64_t timeout_ms, const char *method,
                            const char *url, const char *const *headers, size_t n_headers,
                            const char *body, size_t len, const char *userpwd,
                            outbound_done_fn done, void *arg);
/* Starts a GET of url that keeps the whole answer up to max_bytes (struct outbound_result body;
 * body_cut when it was longer: the transfer then stops), userpwd as outbound_request, and the
 * answer's Content-Type; timeout_ms as outbound_request_within (0: the client's). For media
 * (call recordings). Same contract and rules as outbound_post. */
int outbound_fetch(struct outbound *o, const char *url, const char *userpwd, size_t max_bytes,
                   int64_t timeout_ms, outbound_done_fn done, void *arg);
/* Starts mail delivery of message (RFC 5322 text: headers, blank line, body) through the SMTP
 * server smtp_url (smtp:// with STARTTLS when offered, or smtps://) from `from` to `to`.
 * Same contract as outbound_post. */
int outbound_mail(struct outbound *o, const char *smtp_url, const char *from, const char *to,
                  const char *message, outbound_done_fn done, void *arg);
/* Runs the transfers for up to wait_ms (less when one finishes or outbound_wakeup is called),
 * calling the callbacks of those that end. Returns the number still in flight. */
size_t outbound_run(struct outbound *o, int wait_ms);
/* Requests in flight. */
size_t outbound_in_flight(const struct outbound *o);
/* Makes a running outbound_run return early. Safe from any thread. */
void outbound_wakeup(struct outbound *o);

/* Whether addr is one the private-address rule refuses: IPv4 0/8, 10/8, 100.64/10, 127/8,
 * 169.254/16, 172.16/12, 192.0.0/24, 192.168/16, 198.18/15, 224/4 and above; IPv6 ::, ::1,
 * fc00::/7, fe80::/10, ff00::/8, and IPv4-mapped or -compatible forms of the above. Pure. */
bool outbound_addr_private(const struct sockaddr *addr);

#endif
