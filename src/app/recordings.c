/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call recordings relayed from the provider (see recordings.h): one thread with its own outbound
 * client; jobs wait in a queue, then in flight until the provider answered. */
#include "base/prelude.h"
#include "app/recordings.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <strings.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/outbound.h"
#include "store/store.h"

struct job {
    struct recording_src src;
    recordings_done_fn done;
    void *arg;
    struct recordings *owner;
    bool answered; /* answered already (the server stopped while it was in flight) */
    struct job *next;
};

struct recordings {
    pthread_t thread;
    pthread_mutex_t mu;
    struct job *queue;  /* new jobs, newest first (the thread starts them in order) */
    struct job *flying; /* started: their outbound callback is due */
    struct outbound *ob;
    atomic_int pending; /* places taken (recordings_reserve) */
    atomic_bool quiescing, stop;
};

/* ==== where the recording is ================================================================== */

/* Whether the URL's last path segment has an extension (".mp3", ".wav", …). */
static bool has_extension(const char *url)
{
    const char *end = url + strcspn(url, "?#");
    const char *slash = url;
    for (const char *p = url; p < end; p++)
        if (*p == '/')
            slash = p;
    for (const char *p = slash; p < end; p++)
        if (*p == '.')
            return true;
    return false;
}

static bool basic_auth(const char *provider)
{
    return strcmp(provider, "twilio") == 0 || strcmp(provider, "signalwire") == 0;
}

int recordings_source(struct app *app, int64_t account_id, const char *call_ext,
                      struct recording_src *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct st_call c;
    if (admin_call_get(app, account_id, call_ext, &c) != ERR_OK)
        return errf(eb, ERR_NOTFOUND, NULL, "no call '%s'", call_ext);
    struct st_call_route *r = xmalloc(sizeof(*r));
    int rc = store_call_route_get(app->store, c.provider, c.provider_call_id, r);
    if (rc == ERR_OK && (r->account_id != account_id || !r->recording_url[0]))
        rc = ERR_NOTFOUND;
    const char *url = rc == ERR_OK ? r->recording_url : NULL;
    int64_t duration_s = rc == ERR_OK ? r->recording_duration_s : -1;
    if (rc == ERR_NOTFOUND && c.recording_url[0]) { /* a plain forward's, from its callback */
        url = c.recording_url;
        duration_s = c.recording_duration_s;
        rc = ERR_OK;
    }
    if (rc == ERR_OK) {
        snprintf(out->call, sizeof(out->call), "%s", c.ext_id);
        snprintf(out->provider, sizeof(out->provider), "%s", c.provider);
        out->duration_s = duration_s;
        bool mp3 = basic_auth(c.provider) && !has_extension(url);
        size_t q = strcspn(url, "?#"); /* ".mp3" goes before a query */
        snprintf(out->url, sizeof(out->url), "%.*s%s%s", (int)q, url, mp3 ? ".mp3" : "", url + q);
    }
    free(r);
    if (rc == ERR_NOTFOUND)
        return errf(eb, ERR_NOTFOUND, NULL, "call '%s' has no recording", call_ext);
    if (rc)
        return errf(eb, rc, NULL, "cannot read the call's recording");
    if (strncasecmp(out->url, "https://", 8) != 0 && strncasecmp(out->url, "http://", 7) != 0)
        return errf(eb, ERR_INVALID, NULL, "the recording's URL is not an http(s) URL");
    if (!basic_auth(c.provider))
        return ERR_OK; /* Telnyx's recording URLs are signed links, used as given */
    struct st_provider_cred cred;
    if (store_provider_cred_get(app->store, account_id, c.provider, &cred) != ERR_OK ||
        !cred.account_sid[0] || !cred.secret[0])
        return errf(eb, ERR_CONFLICT, NULL,
                    "the account has no %s account SID and auth token to fetch the recording "
                    "with (Settings, provider credentials)",
                    c.provider);
    snprintf(out->userpwd, sizeof(out->userpwd), "%s:%s", cred.account_sid, cred.secret);
    return ERR_OK;
}

int recordings_put(struct app *app, int64_t account_id, int64_t call_id, const char *url,
                   int64_t duration_s)
{
    struct store *s = app->store;
    int rc = store_begin(s);
    if (rc)
        return ERR_BACKEND;
    rc = store_call_recording_put(s, account_id, call_id, url, duration_s);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc)
        store_rollback(s);
    return rc == ERR_OK || rc == ERR_NOTFOUND || rc == ERR_INVALID ? rc : ERR_BACKEND;
}

/* ==== the fetch ================================================================================
 */

static void fail(struct recording_result *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct recording_result *r, int rc, const char *fmt, ...)
{
    r->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

static void answer(struct recordings *rs, struct job *j, struct recording_result *r)
{
    j->answered = true;
    atomic_fetch_sub(&rs->pending, 1); /* free before the answer: a retry finds it free */
    j->done(j->arg, r);
}

/* The content type to answer: the provider's when it is audio, else by the URL's extension. */
static bool audio_type(const char *given, const char *url, char *out, size_t cap)
{
    if (strncasecmp(given, "audio/", 6) == 0) {
        snprintf(out, cap, "%.*s", (int)strcspn(given, ";"), given);
        return true;
    }
    if (given[0] && strncasecmp(given, "application/octet-stream", 24) != 0)
        return false; /* an error page, JSON: not a recording */
    size_t q = strcspn(url, "?#");
    bool wav = q >= 4 && strncasecmp(url + q - 4, ".wav", 4) == 0;
    snprintf(out, cap, "%s", wav ? "audio/wav" : "audio/mpeg");
    return true;
}

static void fetched(void *arg, const struct outbound_result *o)
{
    struct job *j = arg;
    struct recordings *rs = j->owner;
    /* off the in-flight list */
    for (struct job **p = &rs->flying; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    if (j->answered) { /* the server stopped meanwhile */
        free(j);
        return;
    }
    struct recording_result r = {.provider_status = o->status};
    if (o->body_cut)
        fail(&r, ERR_TOOBIG, "the recording is larger than %zu MiB", RECORDINGS_BYTES_MAX >> 20);
    else if (o->status == 0)
        fail(&r, ERR_BACKEND, "the provider could not be reached: %s", o->error);
    else if (o->status == 404 || o->status == 410)
        fail(&r, ERR_NOTFOUND, "the provider no longer has this recording (HTTP %d)", o->status);
    else if (o->status == 401 || o->status == 403)
        fail(&r, ERR_BACKEND, "the provider refused the account's credentials (HTTP %d)",
             o->status);
    else if (o->status != 200)
        fail(&r, ERR_BACKEND, "the provider answered HTTP %d", o->status);
    else if (!audio_type(o->content_type, j->src.url, r.content_type, sizeof(r.content_type)))
        fail(&r, ERR_BACKEND, "the provider answered %.60s, not audio", o->content_type);
    if (r.rc == ERR_OK) {
        r.body = xmalloc(o->body_len + 1);
        memcpy(r.body, o->body, o->body_len);
        r.body[o->body_len] = '\0';
        r.len = o->body_len;
    } else {
        log_warn("recordings", "call %s: %s", j->src.call, r.message);
    }
    answer(rs, j, &r);
    free(j);
}

/* Starts the queued jobs, oldest first. */
static void start_queued(struct recordings *rs)
{
    pthread_mutex_lock(&rs->mu);
    struct job *q = rs->queue;
    rs->queue = NULL;
    pthread_mutex_unlock(&rs->mu);
    struct job *rev = NULL; /* the queue is newest first */
    while (q) {
        struct job *next = q->next;
        q->next = rev;
        rev = q;
        q = next;
    }
    while (rev) {
        struct job *j = rev;
        rev = j->next;
        j->next = rs->flying;
        rs->flying = j;
        if (outbound_fetch(rs->ob, j->src.url, j->src.userpwd[0] ? j->src.userpwd : NULL,
                           RECORDINGS_BYTES_MAX, RECORDINGS_TIMEOUT_MS, fetched, j) != ERR_OK) {
            rs->flying = j->next;
            struct recording_result r = {0};
            fail(&r, ERR_BACKEND, "the recording's URL is refused by the outbound rules");
            answer(rs, j, &r);
            free(j);
        }
    }
}

/* Answers every job the thread holds with ERR_UNAVAILABLE (the in-flight ones stay listed until
 * their transfer ends or is dropped). */
static void answer_all(struct recordings *rs)
{
    pthread_mutex_lock(&rs->mu);
    struct job *q = rs->queue;
    rs->queue = NULL;
    pthread_mutex_unlock(&rs->mu);
    while (q) {
        struct job *next = q->next;
        struct recording_result r = {0};
        fail(&r, ERR_UNAVAILABLE, "the server is stopping");
        answer(rs, q, &r);
        free(q);
        q = next;
    }
    for (struct job *j = rs->flying; j; j = j->next)
        if (!j->answered) {
            struct recording_result r = {0};
            fail(&r, ERR_UNAVAILABLE, "the server is stopping");
            answer(rs, j, &r);
        }
}

static void *thread_main(void *arg)
{
    struct recordings *rs = arg;
    while (!atomic_load(&rs->stop)) {
        if (atomic_load(&rs->quiescing))
            answer_all(rs);
        else
            start_queued(rs);
        outbound_run(rs->ob, 200);
    }
    answer_all(rs);
    outbound_free(rs->ob); /* transfers in flight are dropped without their callbacks */
    rs->ob = NULL;
    while (rs->flying) {
        struct job *j = rs->flying;
        rs->flying = j->next;
        free(j);
    }
    return NULL;
}

struct recordings *recordings_start(bool allow_private)
{
    struct recordings *rs = xcalloc(1, sizeof(*rs));
    pthread_mutex_init(&rs->mu, NULL);
    rs->ob = outbound_new(&(struct outbound_config){.allow_private = allow_private,
                                                    .ca_file = testhooks_outbound_ca(),
                                                    .connect_ms = 5000,
                                                    .timeout_ms = RECORDINGS_TIMEOUT_MS,
                                                    .user_agent = "opendni"});
    if (pthread_create(&rs->thread, NULL, thread_main, rs) != 0) {
        log_error("recordings", "cannot start the recordings thread");
        abort();
    }
    return rs;
}

void recordings_quiesce(struct recordings *rs)
{
    if (!rs)
        return;
    atomic_store(&rs->quiescing, true);
    outbound_wakeup(rs->ob);
}

void recordings_stop(struct recordings *rs)
{
    if (!rs)
        return;
    atomic_store(&rs->stop, true);
    outbound_wakeup(rs->ob);
    pthread_join(rs->thread, NULL);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
}

int recordings_reserve(struct recordings *rs)
{
    if (atomic_load(&rs->quiescing))
        return ERR_UNAVAILABLE;
    if (atomic_fetch_add(&rs->pending, 1) >= RECORDINGS_MAX_PENDING) {
        atomic_fetch_sub(&rs->pending, 1);
        return ERR_UNAVAILABLE;
    }
    return ERR_OK;
}

void recordings_fetch(struct recordings *rs, const struct recording_src *src,
                      recordings_done_fn done, void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){.src = *src, .done = done, .arg = arg, .owner = rs};
    pthread_mutex_lock(&rs->mu);
    j->next = rs->queue;
    rs->queue = j;
    pthread_mutex_unlock(&rs->mu);
    outbound_wakeup(rs->ob);
}
