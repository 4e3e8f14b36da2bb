/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The visit use cases (DESIGN.md "The two hot paths", 1): a page view of a new or returning
 * session (drop bots, classify the source, pick a pool or source number per target, lease,
 * persist), a heartbeat renewing the session's leases, and a session event (tel: click …).
 * Each runs in two steps so the transport can answer after the commit without holding a
 * thread: visits_page_view / visits_ping / visits_event decide and fill the answer (on the
 * calling thread), then visit_commit hands the writes to the group-commit writer and calls
 * done once they are on disk (or failed). A visit with nothing to write (a bot, a ping whose
 * renewals the store already covers) needs no commit: visit_free it after answering.
 * Ownership: a struct visit belongs to the caller until visit_commit (which takes it) or
 * visit_free. THREADING: the three entry points from any thread at once; done runs on the
 * writer thread and must not block. */
#ifndef OPENDNI_APP_VISITS_H
#define OPENDNI_APP_VISITS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/classify.h"
#include "core/phone.h"
#include "app/records.h"

struct app;
struct visit;

#define VISITS_MAX_TARGETS 8

enum visit_kind { VISIT_POOL, VISIT_SOURCE, VISIT_FALLBACK, VISIT_STATIC };

/* "pool", "source", "fallback", "static" (API.md numbers[].kind). */
const char *visit_kind_name(enum visit_kind k);

/* A page view as the transport parsed it. Strings are borrowed for the call. */
struct visit_in {
    const char *account; /* acc_… (required) */
    const char *url;     /* landing URL (required) */
    const char *title;   /* the page's title (document.title), NULL if not sent */
    const char *referrer, *visitor_id, *session_id;
    char targets[VISITS_MAX_TARGETS][PHONE_E164_MAX];
    int n_targets;
    bool all_targets;       /* no targets given: every target of the account */
    const char *origin;     /* the Origin header, NULL for non-browser clients */
    const char *user_agent; /* crawler detection and device */
    const char *region;     /* the visitor's ISO 3166-2 region from a trusted header, or NULL */
    const char *own_origin; /* opendni's own public URL: pages it serves are same-site */
    const char *client;     /* the client's address (app/clientaddr.h; behind a trusted proxy,
                               its client's), NULL if unknown: a new session records its core/client.h
                               key */
    bool gpc;               /* the request said Sec-GPC: 1 (Global Privacy Control) */
    bool dnt;               /* the request said DNT: 1 */
    /* The id a new session takes (AMP: derived from its client id, app/amp.h); NULL: random. */
    const char *new_session_id;
};

/* One number to show. display "" = format number. */
struct visit_number {
    char target[PHONE_E164_MAX];
    char number[PHONE_E164_MAX];
    char display[PHONE_DISPLAY_MAX];
    enum visit_kind kind;
    /* kind pool or fallback: its pool's version (acct_pool_version), else 0 */
    uint64_t version;
};

/* The answer, readable with visit_result until the visit is freed or committed. */
struct visit_result {
    bool bot;       /* a crawler: numbers are the targets, nothing stored */
    bool origin_ok; /* an Origin was given and is allowed: the transport allows it (CORS) */
    bool is_ping;   /* answer of visits_ping */
    char session_id[STORE_ID_MAX];
    char visitor_id[STORE_ID_MAX];
    int64_t expires_at;
    int64_t ttl_s;
    struct source src; /* the session's landing source */
    struct visit_number numbers[VISITS_MAX_TARGETS];
    int n_numbers;
};

/* A session event (POST /v1/visits/{id}/events), validated by the transport. */
struct visit_event_in {
    const char *type;   /* tel_click, chat_started, form_submit, swap_miss, number_copy */
    const char *number; /* E.164 or NULL */
    const char *detail; /* or NULL */
};

/* true if type is one of the event types above. */
bool visits_event_type_valid(const char *type);

/* A page view (API.md POST /v1/visits). A new session is counted against its client
 * (app/guard.h): a client over its share of a pool is shown one of its own numbers without a
 * lease; a recognised flood gets the pool's fallback number (or the target) and spends none of
 * the account's new-session budget, and the numbers it held are taken back. Returns ERR_OK with
 * *out set (commit it unless its result says bot), else: ERR_NOTFOUND (unknown account: eb->field
 * "account"), ERR_FORBIDDEN (origin not allowed), ERR_LIMITED (too many new sessions for the
 * account; *retry_after_s), ERR_INVALID (a URL classify refuses: field "url"), ERR_BACKEND. *out is
 * NULL on error; result->origin_ok may still matter to the transport: it is passed in *origin_ok.
 */
int visits_page_view(struct app *app, const struct visit_in *in, int64_t now, struct visit **out,
                     bool *origin_ok, int *retry_after_s, struct errbuf *eb);

/* A heartbeat of session_ext (POST /v1/visits/{id}/ping): renews its live leases, or leases
 * again in its pools when none is live. origin and client as in visit_in; a ping proves a
 * visible tab, so the session's numbers stop counting against its client's share (app/guard.h).
 * ERR_NOTFOUND for an unknown session, ERR_FORBIDDEN for a disallowed origin. *out as for
 * visits_page_view; when visit_needs_commit is false the answer is already durable. */
int visits_ping(struct app *app, const char *session_ext, const char *origin,
                const char *own_origin, const char *client, const char *url, const char *title,
                int64_t now, struct visit **out, bool *origin_ok, struct errbuf *eb);

/* Page views (the journey, store_page_view_add): a returning session's page load is stored as
 * a page view after its landing page; a ping whose url's path differs from the session's latest
 * stored page (a single-page app's navigation) too, written with the ping's renewal (a ping
 * that would write nothing else writes only then). The path of url (no scheme, host, query or
 * fragment; "/" if none) into out (cap bytes, cut on a UTF-8 character boundary). */
void visits_page_path(const char *url, char *out, size_t cap);
/* A non-zero hash of a page path (the session cache's page_hash). */
uint32_t visits_page_hash(const char *path);

/* An event of session_ext. An event that names a number is accepted only for a number the
 * session was shown: a pool number it held a lease on, or one of its account's fixed numbers
 * (source numbers, pools' fallback numbers, the target numbers: what answers of kind source,
 * fallback and static show; calls to them are never scored between sessions). Errors as
 * visits_ping, and ERR_INVALID (eb->field "number") for a number the session was not shown;
 * nothing is stored then. The result has no numbers. */
int visits_event(struct app *app, const char *session_ext, const char *origin,
                 const char *own_origin, const struct visit_event_in *e, int64_t now,
                 struct visit **out, bool *origin_ok, struct errbuf *eb);

/* The answer of v (borrowed, valid until visit_commit's done returns or visit_free). */
const struct visit_result *visit_result(const struct visit *v);

/* false when nothing needs writing (bot; a ping the stored expiries cover). */
bool visit_needs_commit(const struct visit *v);

/* Queues v's writes on the group-commit writer and takes v. done(arg, rc) is called exactly
 * once on the writer thread after the commit (rc ERR_OK: on disk) or its failure, while the
 * result is still readable; v is freed after done returns. */
typedef void (*visit_done_fn)(void *arg, int rc, const struct visit_result *r);
void visit_commit(struct visit *v, visit_done_fn done, void *arg);

/* {"gclid":"…",…}: the click ids a source carries, as stored with the session and answered to
 * the tracker, appended to out as compact JSON text. ERR_OK, or buf_add's error. */
int visit_click_ids_write(const struct source *src, struct buf *out);

/* Frees a visit that is not committed, taking back the new lease claims it made (nothing
 * unacknowledged keeps a number). NULL ok. */
void visit_free(struct visit *v);

#endif
