/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The outbox (see outbox.h): emitting messages inside the caller's transaction, the sender
 * thread over the outbound client, the periodic checks, and the webhooks API. */
#include "base/prelude.h"
#include "app/outbox.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/random.h>

#include "base/ids.h"
#include "base/json.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/adplat.h"
#include "app/app.h"
#include "app/outbound.h"
#include "app/traffic.h"
#include "app/writer.h"

#define MAX_TARGETS 32 /* destinations one event is written for */
#define MAX_POOLS 256
#define DAY_MS (86400LL * 1000)

/* Event types a destination may subscribe to (webhook.test is only ever sent on request). */
static const char *const event_types[] = {
    "call.started",         "call.completed",   "conversion.created",        "alert.pool_exhausted",
    "alert.swap_miss_rate", "alert.static_use", "alert.destination_failing", "summary.daily",
};

/* An attempt that ended, waiting to be recorded (step). */
struct finished {
    struct sending *x;
    struct outbound_result r;
    bool disabled;  /* its record disabled the destination */
    bool batch_end; /* the last of its batch's attempts (x->batch) */
};

/* A destination's batch of published events (store_outbox_claim: messages with id 0). Its
 * attempts are recorded together, with the batch's end, once the last one ended: the cursor
 * moves past the whole batch in one transaction. */
struct batch {
    int64_t account_id, destination_id;
    size_t left;            /* its sends not ended */
    struct finished *ended; /* those that ended */
    size_t n_ended;
};

/* A cached OAuth2 access token of a google_ads destination (this node's). */
struct gtoken {
    int64_t destination_id;
    unsigned char cred_md[32]; /* SHA-256 of the credential it was fetched with */
    char token[ADPLAT_GADS_TOKEN_MAX];
    int64_t expires_at;     /* refreshed before this (ms) */
    bool fetching;          /* a token request is under way (one per destination) */
    struct gbatch *waiters; /* batches waiting for it */
};
#define GTOKENS 64
#define GTOKEN_MARGIN_MS 300000 /* a token is refreshed this long before it expires */

struct gbatch;
/* One step of the sender, run by the writer inside its batch (write_job.apply): it records the
 * attempts that ended and claims due messages, sharing the batch's transaction and fsync with
 * the visits and calls (its own transaction every few ms held the SQLite write lock they need,
 * and waited on theirs: bench/outbound). The sender starts the claimed sends once the batch has
 * committed (step_end): a send started before could reach its receiver while the claim rolled
 * back, and the message was then sent again under the same attempt number. */
struct step_job {
    struct write_job job; /* first: the writer's */
    struct outbox *o;
    int64_t now;
    struct finished *done; /* the attempts to record (the job's) */
    size_t n_done;
    size_t claim_max; /* 0: no claim */
    struct sending **claimed;
    size_t n_claimed;
    struct gbatch **gb; /* google_ads batches of the claim, filled in the same transaction */
    size_t n_gb;
    struct batch **batches; /* the claim's destination batches */
    size_t n_batches;
};

struct outbox {
    struct app *app;
    struct gtoken tokens[GTOKENS];
    char smtp_url[512];
    char smtp_from[256];
    struct outbound *net;
    EVP_MAC_CTX *mac; /* the sender thread's signatures (mac_new) */
    pthread_t thread;
    atomic_bool stop;
    char owner[STORE_ID_MAX]; /* this node's claims */
    int64_t next_check_at;
    int64_t last_step_at;  /* the last step submitted */
    int64_t last_claim_at; /* the last step that claimed */
    struct finished *done; /* attempts that ended, not yet recorded */
    size_t n_done, cap_done;
    struct step_job *job; /* the step the writer runs, or NULL */
    atomic_bool job_done; /* the writer is done with job */
    atomic_int jobs_out;  /* steps the writer has not let go of (step_done not returned) */
    atomic_bool poke;     /* claim at the next step: messages were written or requeued */
};

/* One message being sent. */
struct sending {
    struct outbox *o;
    struct st_outbox_msg m;
    struct st_destination d;
    char why[256];       /* why the attempt failed (record) */
    int gads;            /* google_ads: enum adplat_gads_outcome of its attempt, -1 otherwise */
    struct batch *batch; /* its destination's batch, or NULL (a message with a row) */
};

/* A batch of a google_ads destination's messages: one IngestEvents request (after a token
 * request when no cached token is fresh). */
struct gbatch {
    struct outbox *o;
    struct st_destination d;
    struct adplat_gads_config cfg;
    struct sending **x;
    size_t n;
    bool reauthed;            /* a 401 already made it fetch a new token */
    struct gbatch *next_wait; /* the next batch waiting for the same token fetch */
    int64_t latency_ms;       /* of the token request, added to the ingest's */
};

bool outbox_event_known(const char *type)
{
    for (size_t i = 0; i < ARRAY_SIZE(event_types); i++)
        if (strcmp(type, event_types[i]) == 0)
            return true;
    return false;
}

/* Whether the comma-separated list has type. */
static bool takes(const char *list, const char *type)
{
    size_t n = strlen(type);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && memcmp(p, type, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

/* ==== pure pieces ============================================================================= */

/* An HMAC-SHA256 context, its algorithm fetched once: HMAC() fetched both per call, a tenth of the
 * sender thread's CPU at 1,000 events a second (bench/outbound). NULL if OpenSSL has none. */
static EVP_MAC_CTX *mac_new(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac); /* the context holds its own reference */
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && !EVP_MAC_CTX_set_params(ctx, params)) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* outbox_sign with a context of mac_new (keyed anew for each signature). */
static void sign_with(EVP_MAC_CTX *mac, const char *secret, int64_t t, const char *body, size_t len,
                      char *sig, size_t cap)
{
    char ts[24];
    int tn = snprintf(ts, sizeof(ts), "%" PRId64, t);
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    /* the signed bytes: t "." body */
    if (!mac || !EVP_MAC_init(mac, (const unsigned char *)secret, strlen(secret), NULL) ||
        !EVP_MAC_update(mac, (const unsigned char *)ts, (size_t)tn) ||
        !EVP_MAC_update(mac, (const unsigned char *)".", 1) ||
        !EVP_MAC_update(mac, (const unsigned char *)body, len) ||
        !EVP_MAC_final(mac, md, &mdlen, sizeof(md)))
        mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (size_t i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * mdlen] = '\0';
    snprintf(sig, cap, "t=%s,v1=%s", ts, hex);
}

void outbox_sign(const char *secret, int64_t t, const char *body, size_t len, char *sig, size_t cap)
{
    EVP_MAC_CTX *mac = mac_new();
    sign_with(mac, secret, t, body, len, sig, cap);
    EVP_MAC_CTX_free(mac);
}

int64_t outbox_backoff_ms(int64_t attempt, double r)
{
    int64_t d = 10000;
    for (int64_t i = 1; i < attempt && d < OUTBOX_MAX_BACKOFF_MS; i++)
        d *= 2;
    if (d > OUTBOX_MAX_BACKOFF_MS)
        d = OUTBOX_MAX_BACKOFF_MS;
    return d / 2 + (int64_t)((double)(d / 2) * r);
}

static double random_unit(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint32_t)time_now_ms();
    return (double)v / 4294967296.0;
}

/* ==== emitting ================================================================================ */

struct targets {
    const char *type;
    int64_t ids[MAX_TARGETS];
    size_t n;
};

static int add_target(void *ctx, const struct st_destination *d)
{
    struct targets *t = ctx;
    /* ad platforms get bodies of their own (adplat_emit) */
    if (!d->disabled_at && !adplat_format(d->format) && takes(d->events, t->type) &&
        t->n < MAX_TARGETS)
        t->ids[t->n++] = d->id;
    return 0;
}

/* Writes the event of body for the targets (the caller's transaction; the body once): published
 * to them (store_outbox_publish), or, for one sent on request, a message for each. */
static int write_messages(struct store *s, int64_t account_id, const char *type,
                          const char *event_id, const char *body, int64_t now, const int64_t *ids,
                          size_t n, bool publish)
{
    struct st_outbox_msg *m = xcalloc(1, sizeof(*m));
    m->account_id = account_id;
    snprintf(m->event_id, sizeof(m->event_id), "%s", event_id);
    snprintf(m->type, sizeof(m->type), "%s", type);
    snprintf(m->body, sizeof(m->body), "%s", body);
    m->created_at = m->next_at = now;
    int rc = publish ? store_outbox_publish(s, m, ids, n) : store_outbox_add_many(s, m, ids, n);
    free(m);
    return rc;
}

/* The envelope of API.md around data (taken). Returns a new string (free) or NULL. */
static char *envelope(struct store *s, int64_t account_id, const char *type, const char *event_id,
                      int64_t now, json_t *data)
{
    struct st_account a;
    if (!data || store_account_by_id(s, account_id, &a) != ERR_OK) {
        json_decref(data);
        return NULL;
    }
    json_t *env = json_pack("{s:s,s:s,s:o,s:s,s:o}", "id", event_id, "type", type, "created",
                            json_time(now), "account", a.ext_id, "data", data);
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    return body;
}

int outbox_emit(struct app *app, struct store *s, int64_t account_id, const char *type, int64_t now,
                outbox_data_fn data, void *ctx)
{
    struct targets t = {.type = type};
    int rc = store_destination_targets(s, account_id, add_target, &t);
    if (rc || t.n == 0)
        return rc;
    char event_id[STORE_ID_MAX];
    id_new_sorted("evt_", now, 20, event_id, sizeof(event_id));
    char *body = envelope(s, account_id, type, event_id, now, data(ctx));
    if (!body || strlen(body) >= STORE_BODY_MAX) { /* never fails the fact it reports */
        log_error("outbox", "cannot write event %s of account %" PRId64 ": %s", type, account_id,
                  body ? "body too large" : "cannot build its data");
        free(body);
        return ERR_OK;
    }
    rc = write_messages(s, account_id, type, event_id, body, now, t.ids, t.n, true);
    free(body);
    if (rc == ERR_OK)
        outbox_written(app);
    return rc;
}

void outbox_written(struct app *app)
{
    if (app && app->outbox)
        atomic_store(&app->outbox->poke, true);
}

/* ==== rendering for Slack and email =========================================================== */

static const char *str_at(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : "";
}

static long long int_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static double num_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* One human line for an event (Slack's text, the email's first line). */
static void render_text(const char *body, char *out, size_t cap)
{
    json_t *env = json_loads(body, 0, NULL);
    const char *type = str_at(env, "type", NULL);
    json_t *d = json_object_get(env, "data");
    if (strcmp(type, "alert.pool_exhausted") == 0)
        snprintf(out, cap,
                 "opendni: pool \"%s\" ran out of numbers (%lld exhaustion events so far); "
                 "about %lld more numbers needed (size %lld, recommended %lld)",
                 str_at(d, "pool_name", NULL), int_at(d, "exhaustion_events"),
                 int_at(d, "numbers_short"), int_at(d, "size"), int_at(d, "recommended_size"));
    else if (strcmp(type, "alert.swap_miss_rate") == 0)
        snprintf(out, cap,
                 "opendni: %lld of %lld page views in the last hour (%.1f %%) showed no tracking "
                 "number: the tracker found none of the target numbers on the page",
                 int_at(d, "swap_misses"), int_at(d, "page_views"), num_at(d, "rate") * 100);
    else if (strcmp(type, "alert.static_use") == 0)
        snprintf(out, cap,
                 "opendni: pool number %s (pool \"%s\") was called although no visitor was shown "
                 "it for 30 days: it is printed or hard-coded somewhere",
                 str_at(d, "number", NULL), str_at(d, "pool_name", NULL));
    else if (strcmp(type, "alert.destination_failing") == 0)
        snprintf(out, cap,
                 "opendni: destination %s failed for 3 days and was disabled (last error: %s)",
                 str_at(d, "url", NULL), str_at(d, "last_error", NULL));
    else if (strcmp(type, "summary.daily") == 0)
        snprintf(out, cap,
                 "opendni daily summary for %s: %lld calls, %lld answered, %lld qualified",
                 str_at(d, "date", NULL), int_at(d, "calls"), int_at(d, "answered"),
                 int_at(d, "qualified"));
    else if (strncmp(type, "call.", 5) == 0 || strcmp(type, "webhook.test") == 0)
        snprintf(out, cap, "opendni %s: %s to %s (%s, %lld s), source %s / %s", type,
                 str_at(d, "from", NULL), str_at(d, "to", NULL), str_at(d, "status", NULL),
                 int_at(d, "duration"), str_at(d, "attribution", "method"),
                 str_at(json_object_get(d, "attribution"), "source", "source"));
    else
        snprintf(out, cap, "opendni %s (%s)", type, str_at(env, "id", NULL));
    json_decref(env);
}

static char *slack_body(const char *body)
{
    char text[1024];
    render_text(body, text, sizeof(text));
    json_t *o = json_pack("{s:s}", "text", text);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* RFC 5322 message: headers, the line, then the event's JSON. Lines end in CRLF. */
static char *mail_message(const struct outbox *o, const struct sending *x)
{
    char text[1024];
    render_text(x->m.body, text, sizeof(text));
    char date[40];
    time_t secs = (time_t)(time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    size_t cap = strlen(x->m.body) + 3072;
    char *msg = xmalloc(cap);
    snprintf(msg, cap,
             "From: %s\r\nTo: %s\r\nSubject: [opendni] %s\r\nDate: %s\r\n"
             "Message-ID: <%s@opendni>\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n\r\n%s\r\n",
             o->smtp_from, x->d.url + 7, x->m.type, date, x->m.event_id, text, x->m.body);
    return msg;
}

/* ==== the sender ============================================================================== */

/* Keeps printable ASCII of an answer (the log is JSON text; answers may be binary). */
static void printable(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : (ch == '\n' || ch == '\t' ? ' ' : '?');
    }
    out[j] = '\0';
}

static json_t *failing_data(void *ctx)
{
    const struct sending *x = ctx;
    return json_pack("{s:s,s:s,s:s,s:o,s:o}", "destination", x->d.ext_id, "url", x->d.url,
                     "last_error", x->why[0] ? x->why : "failing for 3 days", "failing_since",
                     json_time(x->d.failing_since ? x->d.failing_since : x->m.created_at),
                     "disabled_at", json_time(time_now_ms()));
}

/* What follows an attempt: delivered, due again at *next_at, or given up. An ad platform that
 * refused the message for good gives up at once (*rejected: because of its credential). */
static int next_state(struct sending *x, const struct outbound_result *r, int64_t now,
                      int64_t *next_at, bool *rejected)
{
    *next_at = now;
    *rejected = false;
    if (r->status >= 200 && r->status < 300)
        return ST_OUTBOX_DELIVERED;
    if (r->error[0])
        snprintf(x->why, sizeof(x->why), "%s", r->error);
    else
        snprintf(x->why, sizeof(x->why), "HTTP %d", r->status);
    if (x->gads >= 0) { /* google_ads: its batch's answer decided for this event */
        switch ((enum adplat_gads_outcome)x->gads) {
        case ADPLAT_GADS_DROP:
        case ADPLAT_GADS_REJECTED:
        case ADPLAT_GADS_REAUTH: /* a 401 with a token fetched for it */
            *rejected = x->gads != ADPLAT_GADS_DROP;
            return ST_OUTBOX_GAVE_UP;
        case ADPLAT_GADS_RETRY_NOW:
            if (now - x->m.created_at >= OUTBOX_RETRY_FOR_MS)
                return ST_OUTBOX_GAVE_UP;
            return ST_OUTBOX_PENDING; /* *next_at = now */
        default:
            break;
        }
    } else if (adplat_format(x->d.format)) {
        char why[256];
        enum adplat_verdict v = adplat_verdict(x->d.format, r, why, sizeof(why));
        if (v != ADPLAT_RETRY) {
            snprintf(x->why, sizeof(x->why), "%s", why);
            *rejected = v == ADPLAT_REJECTED;
            return ST_OUTBOX_GAVE_UP;
        }
    }
    if (now - x->m.created_at >= adplat_retry_for_ms(x->d.format, OUTBOX_RETRY_FOR_MS))
        return ST_OUTBOX_GAVE_UP;
    *next_at = now + outbox_backoff_ms(x->m.attempts, random_unit());
    if (r->retry_after_s > 0 && now + r->retry_after_s * 1000LL > *next_at)
        *next_at = now + r->retry_after_s * 1000LL;
    return ST_OUTBOX_PENDING;
}

/* Records an attempt inside the batch's transaction: the log row, the message's next state,
 * the destination's health (and alert.destination_failing when it is disabled now).
 * out: *disabled. */
static int record(struct store *s, struct sending *x, const struct outbound_result *r, int64_t now,
                  bool *disabled)
{
    struct outbox *o = x->o;
    struct st_delivery d = {.outbox_id = x->m.id,
                            .event_ref = x->m.event_ref,
                            .account_id = x->m.account_id,
                            .destination_id = x->d.id,
                            .attempt = x->m.attempts,
                            .at = now,
                            .status = r->status,
                            .latency_ms = r->latency_ms};
    printable(r->snippet, d.response, sizeof(d.response));
    int64_t next_at;
    bool rejected;
    int state = next_state(x, r, now, &next_at, &rejected);
    snprintf(d.error, sizeof(d.error), "%s",
             r->error[0] || state != ST_OUTBOX_GAVE_UP ? r->error : x->why);
    *disabled = false;
    int rc = store_outbox_finish(s, x->m.id, o->owner, &d, state, next_at);
    /* Failing for 3 days disables a destination. The last message a destination failed gives
     * up after 3 days from its creation, its first failure a little later: at that give-up,
     * failing for 3 days less two of the longest backoffs is taken as failing for 3 days (else
     * a destination without new traffic would never be disabled). A credential an ad platform
     * refused disables it at once: every message would fail the same way. */
    int64_t disable_after = OUTBOX_DISABLE_AFTER_MS;
    if (state == ST_OUTBOX_GAVE_UP)
        disable_after -= 2 * OUTBOX_MAX_BACKOFF_MS;
    if (rejected)
        disable_after = 0;
    bool ok = state == ST_OUTBOX_DELIVERED;
    /* a success changes a destination only if it was failing (as of the claim: a failure
     * recorded since is cleared by the next success claimed after it) */
    bool healthy = !x->d.failing_since && !x->d.last_error[0];
    if (rc == ERR_OK && !(ok && healthy))
        rc = store_destination_result(s, x->d.account_id, x->d.id, ok, now, disable_after,
                                      ok ? NULL : x->why, disabled);
    if (rc == ERR_OK && *disabled)
        rc = outbox_emit(o->app, s, x->d.account_id, "alert.destination_failing", now, failing_data,
                         x);
    return rc;
}

/* Records every attempt that ended since the last step, inside the step's transaction, each
 * under a savepoint so one that cannot be recorded does not undo the others (it is sent again
 * once its claim's lease runs out). */
static void record_all(struct store *s, struct finished *done, size_t n, int64_t now)
{
    for (size_t i = 0; i < n;) {
        /* one message, or a destination's batch (together, then its end) */
        struct batch *b = done[i].x->batch;
        size_t k = 1;
        while (b && !done[i + k - 1].batch_end)
            k++;
        int one = store_savepoint(s);
        for (size_t j = i; one == ERR_OK && j < i + k; j++)
            one = record(s, done[j].x, &done[j].r, now, &done[j].disabled);
        if (one == ERR_OK && b)
            one = store_outbox_batch_done(s, b->account_id, b->destination_id, done[i].x->o->owner);
        if (one == ERR_OK)
            one = store_savepoint_release(s);
        if (one) {
            store_savepoint_rollback(s);
            for (size_t j = i; j < i + k; j++)
                done[j].disabled = false;
            log_error("outbox",
                      "cannot record attempt %" PRId64 " of %s%s: %s (retried after its lease)",
                      done[i].x->m.attempts, done[i].x->m.event_id, k > 1 ? " and its batch" : "",
                      err_str(one));
        }
        i += k;
    }
}

/* After the step's commit (rc its result): the recorded attempts are done with. */
static void forget_done(struct finished *done, size_t n, int rc)
{
    if (rc && n)
        log_error("outbox", "cannot record %zu attempts: %s (retried after their leases)", n,
                  err_str(rc));
    for (size_t i = 0; i < n; i++) {
        struct finished *f = &done[i];
        if (rc == ERR_OK && f->disabled)
            log_warn("outbox", "destination %s failed for 3 days: disabled", f->x->d.ext_id);
        if (f->batch_end)
            free(f->x->batch);
        free(f->x);
    }
}

/* An attempt ended (inside outbound_run, or at once when it could not start): kept for
 * the next step. */
static void keep_done(struct outbox *o, const struct finished *f)
{
    if (o->n_done == o->cap_done) {
        o->cap_done = o->cap_done ? 2 * o->cap_done : OUTBOX_MAX_IN_FLIGHT;
        o->done = xrealloc(o->done, o->cap_done * sizeof(*o->done));
    }
    o->done[o->n_done++] = *f;
}

static void on_done(void *arg, const struct outbound_result *r)
{
    struct sending *x = arg;
    struct batch *b = x->batch;
    if (!b) {
        keep_done(x->o, &(struct finished){.x = x, .r = *r});
        return;
    }
    /* a batch's attempt waits for the others: kept together, the last one ending it */
    if (!b->ended) /* the first to end: room for the whole batch */
        b->ended = xmalloc(b->left * sizeof(*b->ended));
    b->ended[b->n_ended++] = (struct finished){.x = x, .r = *r};
    if (--b->left > 0)
        return;
    b->ended[b->n_ended - 1].batch_end = true;
    for (size_t i = 0; i < b->n_ended; i++)
        keep_done(x->o, &b->ended[i]);
    free(b->ended);
    b->ended = NULL;
}

/* Fails an attempt that could not start (the reason in error). */
static void fail_now(struct sending *x, const char *error)
{
    struct outbound_result r = {.retry_after_s = -1};
    snprintf(r.error, sizeof(r.error), "%s", error);
    on_done(x, &r);
}

static void send_json(struct outbox *o, struct sending *x)
{
    char h_type[] = "Content-Type: application/json";
    char h_id[STORE_ID_MAX + 32];
    char h_n[48];
    char sig[160];
    char h_sig[200];
    size_t len = strlen(x->m.body);
    if (!x->d.secret[0]) { /* the store could not open it (a missing or wrong secrets key) */
        fail_now(x, "the signing secret cannot be read: is the secrets key configured?");
        return;
    }
    snprintf(h_id, sizeof(h_id), "OpenDNI-Event-Id: %s", x->m.event_id);
    snprintf(h_n, sizeof(h_n), "OpenDNI-Delivery: %" PRId64, x->m.attempts);
    sign_with(o->mac, x->d.secret, time_now_ms() / 1000, x->m.body, len, sig, sizeof(sig));
    snprintf(h_sig, sizeof(h_sig), "OpenDNI-Signature: %s", sig);
    const char *h[] = {h_type, h_id, h_n, h_sig};
    if (outbound_post(o->net, x->d.url, h, ARRAY_SIZE(h), x->m.body, len, on_done, x))
        fail_now(x, "refused: the URL's scheme is not https");
}

static void send_slack(struct outbox *o, struct sending *x)
{
    char *body = slack_body(x->m.body);
    const char *h[] = {"Content-Type: application/json"};
    if (!body)
        fail_now(x, "cannot format the Slack message");
    else if (outbound_post(o->net, x->d.url, h, 1, body, strlen(body), on_done, x))
        fail_now(x, "refused: the URL's scheme is not https");
    free(body);
}

static void send_mail(struct outbox *o, struct sending *x)
{
    if (!o->smtp_url[0] || !o->smtp_from[0]) {
        fail_now(x, "no SMTP server configured (serve --smtp-url and --smtp-from)");
        return;
    }
    char *msg = mail_message(o, x);
    if (outbound_mail(o->net, o->smtp_url, o->smtp_from, x->d.url + 7, msg, on_done, x))
        fail_now(x, "refused: the SMTP URL's scheme is not smtp:// or smtps://");
    free(msg);
}

/* GA4 and Meta: the body written with the fact, the credential in the URL. */
static void send_ad(struct outbox *o, struct sending *x)
{
    char url[STORE_URL_MAX + STORE_SECRET_MAX + 32];
    const char *h[] = {"Content-Type: application/json"};
    if (!adplat_request_url(&x->d, url, sizeof(url)))
        fail_now(x, "the credential cannot be read: is the secrets key configured?");
    else if (outbound_post(o->net, url, h, 1, x->m.body, strlen(x->m.body), on_done, x))
        fail_now(x, "refused: the URL's scheme is not https");
    memset(url, 0, sizeof(url));
}

/* ---- Google Ads: Data Manager API batches with an OAuth2 access token ---- */

static void cred_digest(const char *secret, unsigned char md[32])
{
    unsigned int n = 0;
    if (!EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL))
        memset(md, 0, 32);
}

/* The destination's slot (NULL: none yet). */
static struct gtoken *slot_of(struct outbox *o, int64_t destination_id)
{
    for (size_t i = 0; i < GTOKENS; i++)
        if (o->tokens[i].destination_id == destination_id)
            return &o->tokens[i];
    return NULL;
}

/* The destination's slot, taken when it has none: a free one, else the one (not fetching)
 * whose token expires first. NULL when every slot is fetching. */
static struct gtoken *slot_for(struct outbox *o, int64_t destination_id)
{
    struct gtoken *t = slot_of(o, destination_id);
    if (t)
        return t;
    for (size_t i = 0; i < GTOKENS && !t; i++)
        if (!o->tokens[i].destination_id)
            t = &o->tokens[i];
    bool free_slot = t != NULL;
    for (size_t i = 0; i < GTOKENS && !free_slot; i++) /* else the one expiring first */
        if (!o->tokens[i].fetching && (!t || o->tokens[i].expires_at < t->expires_at))
            t = &o->tokens[i];
    if (!t)
        return NULL;
    OPENSSL_cleanse(t, sizeof(*t));
    t->destination_id = destination_id;
    return t;
}

/* The destination's cached token when it is fresh and was fetched with its current credential. */
static const char *token_of(struct outbox *o, const struct st_destination *d, int64_t now)
{
    struct gtoken *t = slot_of(o, d->id);
    unsigned char md[32];
    cred_digest(d->secret, md);
    return t && t->token[0] && now < t->expires_at && memcmp(t->cred_md, md, sizeof(md)) == 0
               ? t->token
               : NULL;
}

/* Drops the destination's token (refused by a 401); a fetch under way goes on. */
static void token_forget(struct outbox *o, int64_t destination_id)
{
    struct gtoken *t = slot_of(o, destination_id);
    if (t) {
        OPENSSL_cleanse(t->token, sizeof(t->token));
        t->expires_at = 0;
    }
}

/* Ends every message of b with the outcome of the answer r: per event when out is given, else
 * all the same (oc, why), and frees b. */
static void gbatch_end(struct gbatch *b, const struct outbound_result *r,
                       const enum adplat_gads_outcome *out, char (*why)[ADPLAT_WHY_MAX],
                       char (*detail)[ADPLAT_WHY_MAX], enum adplat_gads_outcome oc,
                       const char *why_all)
{
    for (size_t i = 0; i < b->n; i++) {
        struct sending *x = b->x[i];
        struct outbound_result ri = *r;
        ri.body = NULL;
        ri.latency_ms += b->latency_ms;
        x->gads = (int)(out ? out[i] : oc);
        const char *w = out ? why[i] : why_all;
        if (x->gads != ADPLAT_GADS_DELIVERED && w && w[0])
            snprintf(ri.error, sizeof(ri.error), "%s", w);
        if (detail && detail[i][0]) /* the part of the answer about this event */
            snprintf(ri.snippet, sizeof(ri.snippet), "%s", detail[i]);
        on_done(x, &ri);
    }
    free(b->x);
    free(b);
}

static void gads_token_start(struct gbatch *b);

static void gads_ingest_done(void *arg, const struct outbound_result *r)
{
    struct gbatch *b = arg;
    enum adplat_gads_outcome *out = xcalloc(b->n, sizeof(*out));
    char(*why)[ADPLAT_WHY_MAX] = xcalloc(b->n, sizeof(*why));
    char(*detail)[ADPLAT_WHY_MAX] = xcalloc(b->n, sizeof(*detail));
    adplat_gads_outcomes(r, b->n, out, why, detail);
    if (b->n && out[0] == ADPLAT_GADS_REAUTH && !b->reauthed) {
        /* the cached token was refused (revoked, or expired early): once, a new one */
        token_forget(b->o, b->d.id);
        b->reauthed = true;
        b->latency_ms += r->latency_ms;
        gads_token_start(b);
    } else {
        gbatch_end(b, r, out, why, detail, ADPLAT_GADS_RETRY, NULL);
    }
    free(out);
    free(why);
    free(detail);
}

static void gads_ingest_start(struct gbatch *b, const char *token)
{
    const char **bodies = xmalloc(b->n * sizeof(*bodies));
    for (size_t i = 0; i < b->n; i++)
        bodies[i] = b->x[i]->m.body;
    char *body = adplat_gads_request_body(&b->cfg, bodies, b->n);
    free(bodies);
    struct outbound_result r = {.retry_after_s = -1};
    if (!body) {
        snprintf(r.error, sizeof(r.error), "an event of the batch is not JSON");
        gbatch_end(b, &r, NULL, NULL, NULL, ADPLAT_GADS_DROP, r.error);
        return;
    }
    char url[STORE_URL_MAX];
    adplat_gads_ingest_url(url, sizeof(url));
    char auth[ADPLAT_GADS_TOKEN_MAX + 32];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    const char *h[] = {"Content-Type: application/json", auth};
    if (outbound_request(b->o->net, "POST", url, h, ARRAY_SIZE(h), body, strlen(body), NULL,
                         gads_ingest_done, b)) {
        snprintf(r.error, sizeof(r.error), "refused: the URL's scheme is not https");
        gbatch_end(b, &r, NULL, NULL, NULL, ADPLAT_GADS_RETRY, r.error);
    }
    memset(auth, 0, sizeof(auth));
    free(body);
}

static void gads_token_done(void *arg, const struct outbound_result *r)
{
    struct gbatch *b = arg;
    struct outbox *o = b->o;
    char *token = xmalloc(ADPLAT_GADS_TOKEN_MAX);
    char why[ADPLAT_WHY_MAX];
    int64_t expires_in_s = 0;
    enum adplat_verdict v =
        adplat_gads_token_answer(r, token, ADPLAT_GADS_TOKEN_MAX, &expires_in_s, why, sizeof(why));
    /* the batches that waited for this fetch get its outcome too */
    struct gtoken *t = slot_of(o, b->d.id);
    struct gbatch *waiting = t ? t->waiters : NULL;
    if (t) {
        t->fetching = false;
        t->waiters = NULL;
    }
    if (v == ADPLAT_RETRY && token[0] && t) {
        int64_t life = expires_in_s * 1000;
        cred_digest(b->d.secret, t->cred_md);
        snprintf(t->token, sizeof(t->token), "%s", token);
        t->expires_at =
            time_now_ms() + (life > 2 * GTOKEN_MARGIN_MS ? life - GTOKEN_MARGIN_MS : life / 2);
    }
    for (struct gbatch *x = b, *next; x; x = next) {
        next = x == b ? waiting : x->next_wait;
        x->latency_ms += r->latency_ms;
        if (v == ADPLAT_RETRY && token[0]) {
            gads_ingest_start(x, token);
        } else {
            /* the token endpoint's answer is what the delivery log shows */
            struct outbound_result rr = *r;
            rr.latency_ms = 0; /* counted in x->latency_ms */
            gbatch_end(x, &rr, NULL, NULL, NULL,
                       v == ADPLAT_REJECTED ? ADPLAT_GADS_REJECTED : ADPLAT_GADS_RETRY, why);
        }
    }
    OPENSSL_cleanse(token, ADPLAT_GADS_TOKEN_MAX);
    free(token);
}

/* Gets b a new token: joins the destination's fetch under way, or starts one. */
static void gads_token_start(struct gbatch *b)
{
    struct outbox *o = b->o;
    struct outbound_result r = {.retry_after_s = -1};
    struct gtoken *t = slot_for(o, b->d.id);
    if (t && t->fetching) {
        b->next_wait = t->waiters;
        t->waiters = b;
        return;
    }
    struct adplat_gads_cred *c = xmalloc(sizeof(*c));
    if (!adplat_gads_cred_parse(b->d.secret, c)) {
        free(c);
        snprintf(r.error, sizeof(r.error),
                 "the credential cannot be read: is the secrets key configured?");
        gbatch_end(b, &r, NULL, NULL, NULL, ADPLAT_GADS_RETRY, r.error);
        return;
    }
    char url[STORE_URL_MAX];
    char *form = adplat_gads_token_request(c, url, sizeof(url));
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded"};
    if (outbound_request(o->net, "POST", url, h, 1, form, strlen(form), NULL, gads_token_done, b)) {
        snprintf(r.error, sizeof(r.error), "refused: the token URL's scheme is not https");
        gbatch_end(b, &r, NULL, NULL, NULL, ADPLAT_GADS_RETRY, r.error);
    } else if (t) {
        t->fetching = true;
    }
    OPENSSL_cleanse(form, strlen(form));
    free(form);
}

static void gads_start(struct gbatch *b, int64_t now)
{
    const char *token = token_of(b->o, &b->d, now);
    if (token)
        gads_ingest_start(b, token);
    else
        gads_token_start(b);
}

/* A claimed message to send (no batch yet). */
static struct sending *sending_new(struct outbox *o, const struct st_outbox_msg *m,
                                   const struct st_destination *d)
{
    struct sending *x = xmalloc(sizeof(*x));
    x->o = o;
    x->m = *m;
    x->d = *d;
    x->why[0] = '\0';
    x->gads = -1;
    x->batch = NULL;
    return x;
}

/* store_outbox_fn: a message claimed to fill a batch. */
static int gads_fill(void *ctx, const struct st_outbox_msg *m, const struct st_destination *d)
{
    struct gbatch *b = ctx;
    if (b->n >= OUTBOX_GADS_BATCH)
        return 1;
    b->x[b->n++] = sending_new(b->o, m, d);
    return 0;
}

/* The writer's side of a step's google_ads messages: the claimed ones are taken out of j->claimed
 * into one batch per destination, each filled with more of its destination's due messages
 * (store_outbox_claim_batch, in the step's transaction) up to OUTBOX_GADS_BATCH. The sender
 * starts them (gads_send). Returns a claim's error (the caller rolls the claim back). */
static int gads_batches(struct store *s, struct step_job *j)
{
    int rc = ERR_OK;
    for (size_t i = 0; i < j->n_claimed && rc == ERR_OK; i++) {
        struct sending *first = j->claimed[i];
        if (!first || strcmp(first->d.format, "google_ads") != 0)
            continue;
        struct gbatch *b = xcalloc(1, sizeof(*b));
        b->o = j->o;
        b->d = first->d;
        b->x = xmalloc(OUTBOX_GADS_BATCH * sizeof(*b->x));
        for (size_t k = i; k < j->n_claimed && b->n < OUTBOX_GADS_BATCH; k++)
            if (j->claimed[k] && j->claimed[k]->d.id == b->d.id &&
                strcmp(j->claimed[k]->d.format, "google_ads") == 0) {
                b->x[b->n++] = j->claimed[k];
                j->claimed[k] = NULL;
            }
        j->gb = xrealloc(j->gb, (j->n_gb + 1) * sizeof(*j->gb));
        j->gb[j->n_gb++] = b;
        if (b->n < OUTBOX_GADS_BATCH)
            rc = store_outbox_claim_batch(s, b->d.account_id, b->d.id, j->now,
                                          j->now + OUTBOX_LEASE_MS, j->o->owner,
                                          OUTBOX_GADS_BATCH - b->n, gads_fill, b);
    }
    size_t n = 0; /* the others keep their order */
    for (size_t i = 0; i < j->n_claimed; i++)
        if (j->claimed[i])
            j->claimed[n++] = j->claimed[i];
    j->n_claimed = n;
    return rc;
}

/* Frees batches that were never started (their claim failed or was never made). */
static void gads_drop(struct step_job *j)
{
    for (size_t i = 0; i < j->n_gb; i++) {
        for (size_t k = 0; k < j->gb[i]->n; k++)
            free(j->gb[i]->x[k]);
        free(j->gb[i]->x);
        free(j->gb[i]);
    }
    free(j->gb);
    j->gb = NULL;
    j->n_gb = 0;
}

/* The sender's side: one IngestEvents request per batch (after a token request if needed). */
static void gads_send(struct step_job *j)
{
    for (size_t i = 0; i < j->n_gb; i++) {
        struct gbatch *b = j->gb[i];
        struct outbound_result r = {.retry_after_s = -1};
        if (!adplat_gads_config_parse(b->d.url, &b->cfg)) {
            snprintf(r.error, sizeof(r.error), "the destination's settings cannot be read");
            gbatch_end(b, &r, NULL, NULL, NULL, ADPLAT_GADS_DROP, r.error);
        } else {
            gads_start(b, j->now);
        }
    }
    free(j->gb);
    j->gb = NULL;
    j->n_gb = 0;
}

/* Starts sending a claimed message (the sender thread). */
static void dispatch(struct outbox *o, struct sending *x)
{
    const struct st_destination *d = &x->d;
    if (adplat_format(d->format))
        send_ad(o, x);
    else if (strcmp(d->format, "slack") == 0)
        send_slack(o, x);
    else if (strcmp(d->format, "email") == 0)
        send_mail(o, x);
    else
        send_json(o, x);
}

/* store_outbox_fn of the step's claim: kept for the sender (the writer's thread sends nothing). */
static int on_claimed(void *ctx, const struct st_outbox_msg *m, const struct st_destination *d)
{
    struct step_job *j = ctx;
    if (j->n_claimed == j->claim_max)
        return 0;
    struct sending *x = sending_new(j->o, m, d);
    j->claimed[j->n_claimed++] = x;
    if (m->id == 0) { /* a destination's batch: its messages come together */
        struct batch *b = j->n_batches ? j->batches[j->n_batches - 1] : NULL;
        if (!b || b->destination_id != m->destination_id) {
            j->batches = xrealloc(j->batches, (j->n_batches + 1) * sizeof(*j->batches));
            b = j->batches[j->n_batches++] = xcalloc(1, sizeof(*b));
            b->account_id = m->account_id;
            b->destination_id = m->destination_id;
        }
        b->left++;
        x->batch = b;
    }
    return 0;
}

/* The step's writes, in the caller's transaction: the attempts that ended are recorded, and due
 * messages are claimed up to j->claim_max. */
static int step_apply(struct store *s, struct write_job *job)
{
    struct step_job *j = (struct step_job *)job;
    record_all(s, j->done, j->n_done, j->now);
    if (j->claim_max == 0)
        return ERR_OK;
    int claimed = store_savepoint(s);
    if (claimed == ERR_OK)
        claimed = store_outbox_claim(s, j->now, j->now + OUTBOX_LEASE_MS, j->o->owner,
                                     OUTBOX_PER_DEST, j->claim_max, on_claimed, j);
    if (claimed == ERR_OK) /* google_ads batches, filled in the same savepoint */
        claimed = gads_batches(s, j);
    if (claimed == ERR_OK)
        claimed = store_savepoint_release(s);
    if (claimed) {
        store_savepoint_rollback(s);
        log_error("outbox", "cannot claim messages: %s", err_str(claimed));
        for (size_t i = 0; i < j->n_claimed; i++)
            free(j->claimed[i]);
        j->n_claimed = 0;
        for (size_t i = 0; i < j->n_batches; i++)
            free(j->batches[i]);
        j->n_batches = 0;
        gads_drop(j);
    }
    return ERR_OK;
}

/* The writer is done with the step (its thread): the sender takes it from here. */
static void step_done(struct write_job *job)
{
    struct outbox *o = ((struct step_job *)job)->o; /* the sender may free the job at once */
    atomic_store(&o->job_done, true);
    outbound_wakeup(o->net);
    atomic_fetch_sub(&o->jobs_out, 1); /* the last touch of o: outbox_stop waits for it */
}

static struct step_job *step_new(struct outbox *o, int64_t now, bool may_claim)
{
    struct step_job *j = xcalloc(1, sizeof(*j));
    j->o = o;
    j->now = now;
    j->job.apply = step_apply;
    j->job.done = step_done;
    /* the attempts that ended so far are the step's; those ending meanwhile wait for the next */
    j->done = o->done;
    j->n_done = o->n_done;
    o->done = NULL;
    o->n_done = o->cap_done = 0;
    size_t busy = outbound_in_flight(o->net);
    if (may_claim && busy < OUTBOX_MAX_IN_FLIGHT) {
        j->claim_max = OUTBOX_MAX_IN_FLIGHT - busy;
        j->claimed = xmalloc(j->claim_max * sizeof(*j->claimed));
    }
    return j;
}

/* After the step's commit (rc its result): the recorded attempts are done with, and the claim's
 * sends start if it committed (else its messages are claimed again after their leases). */
static void step_end(struct outbox *o, struct step_job *j, int rc)
{
    forget_done(j->done, j->n_done, rc);
    if (rc == ERR_OK) {
        for (size_t i = 0; i < j->n_claimed; i++)
            dispatch(o, j->claimed[i]); /* a batch is its sends' from here */
        j->n_claimed = 0;
        j->n_batches = 0;
        gads_send(j);
    }
    for (size_t i = 0; i < j->n_claimed; i++) /* not committed */
        free(j->claimed[i]);
    for (size_t i = 0; i < j->n_batches; i++)
        free(j->batches[i]);
    free(j->batches);
    gads_drop(j);
    free(j->done);
    free(j->claimed);
    free(j);
}

/* One step in a transaction of its own (the last one, at stop: the writer may be gone). */
static void step_now(struct outbox *o, int64_t now)
{
    struct step_job *j = step_new(o, now, false);
    if (j->n_done == 0) {
        step_end(o, j, ERR_OK);
        return;
    }
    struct store *s = o->app->store;
    int rc = store_begin(s);
    if (rc == ERR_OK)
        rc = step_apply(s, &j->job);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc)
        store_rollback(s);
    step_end(o, j, rc);
}

/* ==== periodic checks ========================================================================= */

static int add_pool(void *ctx, const struct st_pool *p)
{
    struct st_pool *pools = ((struct st_pool **)ctx)[0];
    size_t *n = ((size_t **)ctx)[1];
    if (*n < MAX_POOLS)
        pools[(*n)++] = *p;
    return *n == MAX_POOLS;
}

struct pool_alert {
    const struct st_pool *p;
    struct pool_stats ps;
};

static json_t *pool_alert_data(void *ctx)
{
    const struct pool_alert *a = ctx;
    long long shortfall = (long long)a->ps.recommended_size - (long long)a->ps.size;
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "pool", a->p->ext_id, "pool_name",
                     a->p->name, "on_exhaust", a->p->fallback_mode ? "fallback" : "share", "size",
                     (json_int_t)a->ps.size, "leased", (json_int_t)a->ps.leased,
                     "exhaustion_events", (json_int_t)a->ps.exhaustion_events, "recommended_size",
                     (json_int_t)a->ps.recommended_size, "numbers_short",
                     (json_int_t)(shortfall > 0 ? shortfall : 1));
}

/* Runs fn inside one transaction: the observation and the message it causes. */
static void observe(struct store *s, int64_t account_id, const char *key, int64_t value,
                    int64_t now, int64_t cooldown_ms, const char *type, outbox_data_fn fn,
                    void *ctx, struct app *app)
{
    bool fired = false;
    int rc = store_begin(s);
    if (rc == ERR_OK)
        rc = store_alert_observe(s, account_id, key, value, now, cooldown_ms, &fired);
    if (rc == ERR_OK && fired)
        rc = outbox_emit(app, s, account_id, type, now, fn, ctx);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc) {
        store_rollback(s);
        log_error("outbox", "check %s of account %" PRId64 " failed: %s", key, account_id,
                  err_str(rc));
    }
}

static void check_pools(struct outbox *o, int64_t account_id, int64_t now)
{
    struct store *s = o->app->store;
    struct st_pool *pools = xmalloc(MAX_POOLS * sizeof(*pools));
    size_t n = 0;
    void *ctx[2] = {pools, &n};
    if (store_pool_list(s, account_id, add_pool, ctx) == ERR_OK)
        for (size_t i = 0; i < n; i++) {
            struct pool_alert a = {.p = &pools[i]};
            if (store_pool_stats(s, pools[i].account_id, pools[i].id, now, &a.ps) != ERR_OK)
                continue;
            char key[STORE_ID_MAX + 32];
            snprintf(key, sizeof(key), "pool_exhausted:%s", pools[i].ext_id);
            observe(s, account_id, key, (int64_t)a.ps.exhaustion_events, now,
                    OUTBOX_ALERT_COOLDOWN_MS, "alert.pool_exhausted", pool_alert_data, &a, o->app);
        }
    free(pools);
}

struct day_summary {
    int64_t since;
    long long calls, answered, qualified;
    double value;
};

static int add_call(void *ctx, const struct st_report_call *c)
{
    struct day_summary *d = ctx;
    d->calls++;
    d->answered += strcmp(c->status, "completed") == 0;
    d->qualified += c->converted;
    d->value += c->converted ? c->value : 0;
    return 0;
}

static json_t *summary_data(void *ctx)
{
    struct day_summary *d = ctx;
    char date[16];
    time_t secs = (time_t)(d->since / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    return json_pack("{s:s,s:o,s:o,s:I,s:I,s:I,s:f}", "date", date, "since", json_time(d->since),
                     "until", json_time(d->since + DAY_MS), "calls", (json_int_t)d->calls,
                     "answered", (json_int_t)d->answered, "qualified", (json_int_t)d->qualified,
                     "value", d->value);
}

static void check_summary(struct outbox *o, int64_t account_id, int64_t now)
{
    struct store *s = o->app->store;
    struct day_summary d = {.since = (now / DAY_MS - 1) * DAY_MS};
    if (store_report_calls(s, account_id, d.since, d.since + DAY_MS, add_call, &d) == ERR_OK)
        observe(s, account_id, "summary.daily", now / DAY_MS, now, 0, "summary.daily", summary_data,
                &d, o->app);
}

/* ---- alert.swap_miss_rate ---- */

struct flush {
    struct store *s;
    int64_t now;
};

/* traffic_fn: this node's counts into the store's bucket of now. */
static int flush_traffic(void *ctx, int64_t account_id, uint64_t page_views, uint64_t swap_misses)
{
    const struct flush *f = ctx;
    int64_t bucket = f->now / OUTBOX_SWAP_MISS_BUCKET_MS * OUTBOX_SWAP_MISS_BUCKET_MS;
    int rc = store_traffic_add(f->s, account_id, bucket, (int64_t)page_views, (int64_t)swap_misses,
                               f->now - DAY_MS);
    if (rc)
        log_error("outbox", "cannot store the traffic counts of account %" PRId64 ": %s",
                  account_id, err_str(rc));
    return rc;
}

struct miss_rate {
    int64_t since, until;
    int64_t page_views, swap_misses;
};

static json_t *miss_rate_data(void *ctx)
{
    const struct miss_rate *m = ctx;
    return json_pack(
        "{s:o,s:o,s:I,s:I,s:f,s:f}", "since", json_time(m->since), "until", json_time(m->until),
        "page_views", (json_int_t)m->page_views, "swap_misses", (json_int_t)m->swap_misses, "rate",
        (double)m->swap_misses / (double)m->page_views, "threshold", OUTBOX_SWAP_MISS_PCT / 100.0);
}

/* Whether more than the threshold of at least the minimum of page views missed. Pure. */
static bool miss_rate_high(int64_t page_views, int64_t swap_misses)
{
    return page_views >= OUTBOX_SWAP_MISS_MIN_VIEWS &&
           swap_misses * 100 > page_views * OUTBOX_SWAP_MISS_PCT;
}

/* The observed value grows by one per cool-down while the rate stays high (0 while it is not),
 * so a lasting problem is repeated once per cool-down and a new one alerts at once. */
static void check_swap_miss(struct outbox *o, int64_t account_id, int64_t now)
{
    struct store *s = o->app->store;
    int64_t bucket = now / OUTBOX_SWAP_MISS_BUCKET_MS * OUTBOX_SWAP_MISS_BUCKET_MS;
    struct miss_rate m = {.since = bucket + OUTBOX_SWAP_MISS_BUCKET_MS - OUTBOX_SWAP_MISS_WINDOW_MS,
                          .until = now};
    if (store_traffic_sum(s, account_id, m.since, &m.page_views, &m.swap_misses) != ERR_OK)
        return;
    bool high = miss_rate_high(m.page_views, m.swap_misses);
    int64_t value = high ? now / OUTBOX_SWAP_MISS_COOLDOWN_MS + 1 : 0;
    observe(s, account_id, "swap_miss_rate", value, now, OUTBOX_SWAP_MISS_COOLDOWN_MS,
            "alert.swap_miss_rate", miss_rate_data, &m, o->app);
}

/* ---- alert.static_use ---- */

struct static_use {
    const struct st_call *call;
    struct st_number n;
    struct st_pool p;
    int64_t last_held_at; /* 0: never */
};

static int newest_lease(void *ctx, const struct st_lease *l)
{
    struct static_use *u = ctx;
    u->last_held_at = l->expires_at;
    return 1;
}

static json_t *static_use_data(void *ctx)
{
    const struct static_use *u = ctx;
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "number", u->n.number, "pool", u->p.ext_id,
                     "pool_name", u->p.name, "call_id", u->call->ext_id, "called_at",
                     json_time(u->call->started_at), "last_held_at",
                     u->last_held_at ? json_time(u->last_held_at) : json_null(), "number_added_at",
                     json_time(u->n.created_at));
}

int outbox_check_static_use(struct app *app, struct store *s, const struct st_call *call)
{
    struct static_use u = {.call = call};
    if (!call->number_id || !call->pool_id)
        return ERR_OK;
    int rc = store_number_by_id(s, call->account_id, call->number_id, &u.n);
    if (rc || !u.n.pool_id || u.n.created_at > call->started_at - OUTBOX_STATIC_IDLE_MS)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    rc = store_lease_history(s, u.n.account_id, u.n.id, 0, 1, newest_lease, &u);
    if (rc || u.last_held_at > call->started_at - OUTBOX_STATIC_IDLE_MS)
        return rc;
    rc = store_pool_by_id(s, u.n.account_id, u.n.pool_id, &u.p);
    if (rc)
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    char key[STORE_E164_MAX + 16];
    snprintf(key, sizeof(key), "static_use:%s", u.n.number);
    bool fired = false;
    rc = store_alert_observe(s, call->account_id, key, call->started_at, call->started_at,
                             OUTBOX_STATIC_COOLDOWN_MS, &fired);
    if (rc == ERR_OK && fired)
        rc = outbox_emit(app, s, call->account_id, "alert.static_use", call->started_at,
                         static_use_data, &u);
    return rc;
}

static void run_checks(struct outbox *o, int64_t now)
{
    struct flush f = {o->app->store, now};
    traffic_drain(o->app->traffic, flush_traffic, &f);
    int64_t *ids = NULL;
    size_t n = 0;
    if (store_account_ids(o->app->store, &ids, &n) == ERR_OK)
        for (size_t i = 0; i < n; i++) {
            check_pools(o, ids[i], now);
            check_swap_miss(o, ids[i], now);
            check_summary(o, ids[i], now);
        }
    free(ids);
}

/* Whether a step is due at now, and whether it claims. Steps record what ended at most every
 * OUTBOX_STEP_MS, OUTBOX_BUSY_STEP_MS while 16 requests or more are in flight (sooner when 16
 * attempts wait to be recorded). They claim when messages were written or requeued (poke) or
 * sends ended (their places are free), once a quarter of the capacity is free (a claim reads every
 * destination's free places: claiming for each few sends that ended cost more than the sends,
 * bench/outbound), and at least every OUTBOX_POLL_MS (retries coming due, other nodes' messages,
 * leases that ran out). */
static bool step_due(struct outbox *o, int64_t now, bool *claim)
{
    size_t busy = outbound_in_flight(o->net);
    /* many sends under way: steps less often, each a larger share of a commit */
    int64_t every = busy >= OUTBOX_MAX_IN_FLIGHT / 4 ? OUTBOX_BUSY_STEP_MS : OUTBOX_STEP_MS;
    bool clock_back = now < o->last_step_at || now < o->last_claim_at;
    bool recent = !clock_back && now - o->last_step_at < every;
    bool poll = clock_back || now - o->last_claim_at >= OUTBOX_POLL_MS;
    bool full = busy >= OUTBOX_MAX_IN_FLIGHT;
    bool roomy = busy + OUTBOX_MAX_IN_FLIGHT / 4 <= OUTBOX_MAX_IN_FLIGHT;
    *claim = !full && (poll || (!recent && roomy && (o->n_done > 0 || atomic_load(&o->poke))));
    if (o->n_done >= OUTBOX_MAX_IN_FLIGHT / 4)
        return true;
    return *claim || (!recent && o->n_done > 0);
}

static void *sender_main(void *arg)
{
    struct outbox *o = arg;
    prctl(PR_SET_NAME, "od-outbox", 0, 0, 0); /* visible in top -H and perf */
    while (!atomic_load(&o->stop)) {
        if (o->job && atomic_load(&o->job_done)) {
            step_end(o, o->job, o->job->job.rc);
            o->job = NULL;
        }
        int64_t now = time_now_ms();
        if (!o->job && now >= o->next_check_at) {
            o->next_check_at = now + OUTBOX_CHECK_EVERY_MS;
            run_checks(o, now);
            atomic_store(&o->poke, true); /* they may have written alerts */
        }
        bool claim = false;
        if (!o->job && step_due(o, now, &claim)) {
            if (claim)
                atomic_store(&o->poke, false);
            o->job = step_new(o, now, claim);
            o->last_step_at = now;
            if (claim)
                o->last_claim_at = now;
            atomic_store(&o->job_done, false);
            atomic_fetch_add(&o->jobs_out, 1);
            writer_submit(o->app->writer, &o->job->job);
        }
        /* a step under way or nothing to do: woken by the writer, a poke or a send; else the
         * next step is due within OUTBOX_STEP_MS */
        bool soon = !o->job && (o->n_done > 0 || atomic_load(&o->poke));
        outbound_run(o->net, soon ? (int)OUTBOX_STEP_MS : (int)OUTBOX_POLL_MS);
    }
    /* a clean stop: the step under way ends, what ended since is recorded, nothing is claimed */
    while (o->job && !atomic_load(&o->job_done))
        outbound_run(o->net, 10);
    if (o->job)
        step_end(o, o->job, o->job->job.rc);
    o->job = NULL;
    while (atomic_load(&o->jobs_out) > 0) /* step_done's last lines (it woke us first) */
        sched_yield();
    step_now(o, time_now_ms());
    struct flush f = {o->app->store, time_now_ms()}; /* … and keeps the last counts */
    traffic_drain(o->app->traffic, flush_traffic, &f);
    return NULL;
}

struct outbox *outbox_start(struct app *app, const struct outbox_config *cfg)
{
    struct outbox *o = xcalloc(1, sizeof(*o));
    o->app = app;
    snprintf(o->smtp_url, sizeof(o->smtp_url), "%s", cfg->smtp_url ? cfg->smtp_url : "");
    snprintf(o->smtp_from, sizeof(o->smtp_from), "%s", cfg->smtp_from ? cfg->smtp_from : "");
    id_new("node_", 16, o->owner, sizeof(o->owner));
    struct outbound_config oc = {.allow_private = cfg->allow_private,
                                 .ca_file = testhooks_outbound_ca(),
                                 .connect_ms = 5000,
                                 .timeout_ms = OUTBOX_TIMEOUT_MS,
                                 .user_agent = "opendni-webhooks/1"};
    o->net = outbound_new(&oc);
    o->mac = mac_new();
    if (pthread_create(&o->thread, NULL, sender_main, o) != 0) {
        log_error("outbox", "cannot start the sender thread");
        abort();
    }
    return o;
}

void outbox_stop(struct outbox *o)
{
    if (!o)
        return;
    atomic_store(&o->stop, true);
    outbound_wakeup(o->net);
    pthread_join(o->thread, NULL);
    outbound_free(o->net);
    EVP_MAC_CTX_free(o->mac);
    free(o->done);
    free(o);
}

void outbox_wake(struct outbox *o)
{
    if (o && atomic_load(&o->poke)) /* outbox_written: messages to claim */
        outbound_wakeup(o->net);
}

/* Claim at the next step whatever was written: a requeue, an enabled destination. */
static void poke(struct outbox *o)
{
    if (o) {
        atomic_store(&o->poke, true);
        outbound_wakeup(o->net);
    }
}

/* ==== the webhooks API ======================================================================== */

static int check_url(const char *url, const char *format, bool allow_private, struct errbuf *eb)
{
    size_t n = strlen(url);
    if (n == 0 || n >= STORE_URL_MAX)
        return errf(eb, ERR_INVALID, "url", "the url must be 1 to %d bytes", STORE_URL_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return errf(eb, ERR_INVALID, "url", "the url has a space or control character");
    if (strcmp(format, "email") == 0) {
        const char *at = strchr(url, '@');
        if (strncmp(url, "mailto:", 7) != 0 || !at || at == url + 7 || !at[1] ||
            strpbrk(url + 7, "<>,;\"\\"))
            return errf(eb, ERR_INVALID, "url", "an email destination's url is mailto:ADDRESS");
        return ERR_OK;
    }
    bool https = strncmp(url, "https://", 8) == 0 && n > 8;
    bool http = strncmp(url, "http://", 7) == 0 && n > 7;
    if (!https && !(http && allow_private))
        return errf(eb, ERR_INVALID, "url", "the url must start with https://");
    return ERR_OK;
}

static int set_events(struct st_destination *d, const char *format, const char *const *events,
                      size_t n_events, struct errbuf *eb);

int outbox_destination_add(struct app *app, int64_t account_id, const char *url, const char *format,
                           const char *const *events, size_t n_events, struct st_destination *d,
                           struct errbuf *eb)
{
    memset(d, 0, sizeof(*d));
    if (strcmp(format, "json") && strcmp(format, "slack") && strcmp(format, "email"))
        return errf(eb, ERR_INVALID, "format",
                    "format is json, slack, email, ga4, meta or google_ads");
    int rc = check_url(url, format, app->cfg.outbound_allow_private, eb);
    if (rc)
        return rc;
    rc = set_events(d, format, events, n_events, eb);
    if (rc)
        return rc;
    d->account_id = account_id;
    snprintf(d->url, sizeof(d->url), "%s", url);
    snprintf(d->format, sizeof(d->format), "%s", format);
    id_new("wh_", 16, d->ext_id, sizeof(d->ext_id));
    id_new("whsec_", 32, d->secret, sizeof(d->secret));
    d->created_at = time_now_ms();
    return store_destination_add(app->store, d);
}

int outbox_destination_add_ad(struct app *app, int64_t account_id, const char *format,
                              const char *id, const char *credential, const char *const *events,
                              size_t n_events, struct st_destination *d, struct errbuf *eb)
{
    memset(d, 0, sizeof(*d));
    if (!adplat_format(format) || strcmp(format, "google_ads") == 0)
        return errf(eb, ERR_INVALID, "format",
                    "format is json, slack, email, ga4, meta or google_ads");
    int rc = adplat_destination_url(format, id, credential, d->url, sizeof(d->url), eb);
    if (rc)
        return rc;
    static const char *const ga4_events[] = {"call.completed", "conversion.created"};
    static const char *const meta_events[] = {"conversion.created"};
    bool ga4 = strcmp(format, "ga4") == 0;
    if (n_events == 0) { /* what the platform takes */
        events = ga4 ? ga4_events : meta_events;
        n_events = ga4 ? ARRAY_SIZE(ga4_events) : ARRAY_SIZE(meta_events);
    }
    rc = set_events(d, format, events, n_events, eb);
    if (rc)
        return rc;
    d->account_id = account_id;
    snprintf(d->format, sizeof(d->format), "%s", format);
    snprintf(d->secret, sizeof(d->secret), "%s", credential);
    id_new("wh_", 16, d->ext_id, sizeof(d->ext_id));
    d->created_at = time_now_ms();
    rc = store_destination_add(app->store, d);
    memset(d->secret, 0, sizeof(d->secret)); /* write-only: never shown */
    return rc;
}

int outbox_destination_add_gads(struct app *app, int64_t account_id,
                                const struct adplat_gads_config *cfg, const char *client_id,
                                const char *client_secret, const char *refresh_token,
                                struct st_destination *d, struct errbuf *eb)
{
    memset(d, 0, sizeof(*d));
    int rc = adplat_gads_destination_url(cfg, d->url, sizeof(d->url), eb);
    if (rc == ERR_OK)
        rc = adplat_gads_credential(client_id, client_secret, refresh_token, d->secret,
                                    sizeof(d->secret), eb);
    if (rc) {
        memset(d->secret, 0, sizeof(d->secret));
        return rc;
    }
    d->account_id = account_id;
    snprintf(d->format, sizeof(d->format), "google_ads");
    snprintf(d->events, sizeof(d->events), "conversion.created");
    id_new("wh_", 16, d->ext_id, sizeof(d->ext_id));
    d->created_at = time_now_ms();
    rc = store_destination_add(app->store, d);
    memset(d->secret, 0, sizeof(d->secret)); /* write-only: never shown */
    return rc;
}

int outbox_destination_format(struct app *app, int64_t account_id, const char *ext_id, char *format,
                              size_t cap)
{
    struct st_destination *d = xmalloc(sizeof(*d));
    int rc = store_destination_get(app->store, account_id, ext_id, d);
    snprintf(format, cap, "%s", rc == ERR_OK ? d->format : "");
    memset(d->secret, 0, sizeof(d->secret));
    free(d);
    return rc;
}

/* d->events from the list (known types that format takes, at least one, no duplicates). */
static int set_events(struct st_destination *d, const char *format, const char *const *events,
                      size_t n_events, struct errbuf *eb)
{
    if (n_events == 0)
        return errf(eb, ERR_INVALID, "events", "events must name at least one event type");
    size_t len = 0;
    for (size_t i = 0; i < n_events; i++) {
        if (!outbox_event_known(events[i]))
            return errf(eb, ERR_INVALID, "events", "unknown event type '%.64s'", events[i]);
        if (adplat_format(format) && !adplat_takes(format, events[i]))
            return errf(eb, ERR_INVALID, "events", "a %s destination does not take '%.64s'", format,
                        events[i]);
        if (takes(d->events, events[i]))
            continue;
        int k =
            snprintf(d->events + len, sizeof(d->events) - len, "%s%s", len ? "," : "", events[i]);
        len += (size_t)k;
    }
    return ERR_OK;
}

int outbox_destination_list(struct app *app, int64_t account_id, store_destination_fn fn, void *ctx)
{
    return store_destination_list(app->store, account_id, fn, ctx);
}

int outbox_destination_get(struct app *app, int64_t account_id, const char *ext_id,
                           struct st_destination *d)
{
    return store_destination_get(app->store, account_id, ext_id, d);
}

int outbox_destination_delete(struct app *app, int64_t account_id, const char *ext_id)
{
    struct store *s = app->store;
    int rc = store_begin(s);
    if (rc)
        return rc;
    rc = store_destination_delete(s, account_id, ext_id, time_now_ms());
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc)
        store_rollback(s);
    return rc;
}

int outbox_destination_credential(struct app *app, int64_t account_id, const char *ext_id,
                                  const char *credential, struct errbuf *eb)
{
    struct store *s = app->store;
    struct st_destination d;
    int rc = store_destination_get(s, account_id, ext_id, &d);
    memset(d.secret, 0, sizeof(d.secret));
    if (rc)
        return rc == ERR_NOTFOUND ? errf(eb, rc, NULL, "no webhook '%s'", ext_id) : rc;
    if (!adplat_format(d.format))
        return errf(eb, ERR_CONFLICT, NULL,
                    "only an ad platform's destination (ga4, meta, google_ads) has a credential "
                    "to replace");
    rc = adplat_credential_check(d.format, credential, eb);
    if (rc)
        return rc;
    rc = store_begin(s);
    if (rc)
        return rc;
    rc = store_destination_secret_set(s, account_id, ext_id, credential);
    if (rc == ERR_OK)
        rc = store_destination_enable(s, account_id, ext_id);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc)
        store_rollback(s);
    else
        poke(app->outbox);
    return rc;
}

int outbox_destination_enable(struct app *app, int64_t account_id, const char *ext_id)
{
    int rc = store_destination_enable(app->store, account_id, ext_id);
    if (rc == ERR_OK)
        poke(app->outbox);
    return rc;
}

int outbox_deliveries(struct app *app, const struct st_destination *d, int64_t before_id,
                      size_t max, store_delivery_fn fn, void *ctx)
{
    return store_delivery_list(app->store, d->account_id, d->id, before_id, max, fn, ctx);
}

static json_t *sample_call(int64_t now)
{
    return json_pack(
        "{s:s,s:s,s:s,s:o,s:s,s:i,s:s,s:{s:s,s:f,s:n,s:n,s:{s:s,s:s,s:s,s:s,s:s},s:{},s:n,"
        "s:n,s:n},s:n}",
        "id", "call_test", "to", "+15555550123", "from", "+15555550199", "started_at",
        json_time(now), "status", "completed", "duration", 93, "forwarded_to", "+15555550100",
        "attribution", "method", "exact", "confidence", 1.0, "session_id", "visitor_id", "source",
        "channel", "paid_search", "source", "google", "medium", "cpc", "campaign", "sample",
        "keyword", "plumber near me", "click_ids", "landing_page", "referrer", "device",
        "conversion");
}

int outbox_test(struct app *app, const struct st_account *acct, const struct st_destination *d,
                char *event_id)
{
    if (adplat_format(d->format)) /* a sample would count as a real conversion there */
        return ERR_UNSUPPORTED;
    int64_t now = time_now_ms();
    id_new_sorted("evt_", now, 20, event_id, STORE_ID_MAX);
    char *body = envelope(app->store, acct->id, "webhook.test", event_id, now, sample_call(now));
    if (!body)
        return ERR_NOMEM;
    int rc =
        write_messages(app->store, acct->id, "webhook.test", event_id, body, now, &d->id, 1, false);
    free(body);
    if (rc == ERR_OK)
        poke(app->outbox);
    return rc;
}

int outbox_redeliver(struct app *app, int64_t account_id, const struct st_destination *d,
                     const char *event_id)
{
    int rc = store_outbox_requeue(app->store, account_id, d->id, event_id, time_now_ms());
    if (rc == ERR_OK)
        poke(app->outbox);
    return rc;
}
