/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Privacy settings, erasure and the retention purge (see privacy.h). */
#include "base/prelude.h"
#include "app/privacy.h"

#include <pthread.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "app/app.h"

#define DAY_MS (86400LL * 1000)

/* ==== settings ================================================================================ */

static void defaults(struct privacy_settings *s)
{
    *s = (struct privacy_settings){.sessions_days = PRIVACY_SESSIONS_DAYS,
                                   .calls_days = PRIVACY_CALLS_DAYS,
                                   .events_days = PRIVACY_EVENTS_DAYS,
                                   .recordings_days = PRIVACY_RECORDINGS_DAYS,
                                   .honor_gpc = true,
                                   .honor_dnt = false};
}

static int get_days(json_t *o, const char *key, int64_t *out, struct errbuf *eb)
{
    long long v = *out;
    int rc = json_get_int(o, key, &v, eb);
    if (rc == ERR_OK && (v < 0 || v > PRIVACY_MAX_DAYS))
        rc = errf(eb, ERR_INVALID, key, "'retention.%s' must be 0 (keep forever) to %d days", key,
                  PRIVACY_MAX_DAYS);
    if (rc == ERR_OK)
        *out = v;
    return rc;
}

static int parse(json_t *o, struct privacy_settings *s, struct errbuf *eb)
{
    static const char *const rkeys[] = {"sessions_days", "calls_days", "events_days",
                                        "recordings_days", NULL};
    static const char *const pkeys[] = {"honor_gpc", "honor_dnt", NULL};
    json_t *r = json_object_get(o, "retention");
    json_t *p = json_object_get(o, "privacy");
    int rc = ERR_OK;
    if (r && !json_is_null(r)) {
        if (!json_is_object(r))
            return errf(eb, ERR_INVALID, "retention", "'retention' must be an object");
        rc = json_only_keys(r, rkeys, eb);
        if (rc == ERR_OK)
            rc = get_days(r, "sessions_days", &s->sessions_days, eb);
        if (rc == ERR_OK)
            rc = get_days(r, "calls_days", &s->calls_days, eb);
        if (rc == ERR_OK)
            rc = get_days(r, "events_days", &s->events_days, eb);
        if (rc == ERR_OK)
            rc = get_days(r, "recordings_days", &s->recordings_days, eb);
    }
    if (rc == ERR_OK && p && !json_is_null(p)) {
        if (!json_is_object(p))
            return errf(eb, ERR_INVALID, "privacy", "'privacy' must be an object");
        rc = json_only_keys(p, pkeys, eb);
        if (rc == ERR_OK)
            rc = json_get_bool(p, "honor_gpc", &s->honor_gpc, eb);
        if (rc == ERR_OK)
            rc = json_get_bool(p, "honor_dnt", &s->honor_dnt, eb);
    }
    return rc;
}

int privacy_settings_parse(const char *json, struct privacy_settings *out, struct errbuf *eb)
{
    defaults(out);
    if (!json || !*json)
        return ERR_OK;
    json_t *o = NULL;
    int rc = json_parse_object(json, strlen(json), &o, eb);
    if (rc == ERR_OK)
        rc = parse(o, out, eb);
    json_decref(o);
    if (rc)
        defaults(out);
    return rc;
}

static int64_t cutoff(int64_t days, int64_t now)
{
    return days > 0 ? now - days * DAY_MS : 0;
}

void privacy_retention(const struct privacy_settings *s, int64_t now, struct st_retention *r)
{
    r->sessions_before = cutoff(s->sessions_days, now);
    r->calls_before = cutoff(s->calls_days, now);
    r->events_before = cutoff(s->events_days, now);
    r->recordings_before = cutoff(s->recordings_days, now);
}

/* ==== erasure ================================================================================= */

static bool visitor_id_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n >= STORE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f || v[i] == '"' || v[i] == '\\')
            return false;
    return true;
}

int privacy_erase(struct store *s, int64_t account_id, const char *kind, const char *subject,
                  const char *actor, const char *reference, int64_t now, struct st_erasure *e,
                  struct errbuf *eb)
{
    memset(e, 0, sizeof(*e));
    char e164[PHONE_E164_MAX];
    const char *what = subject;
    if (!kind || (strcmp(kind, "visitor") && strcmp(kind, "caller")))
        return errf(eb, ERR_INVALID, "kind", "erase a visitor_id or a caller");
    if (strcmp(kind, "caller") == 0) {
        if (!subject || phone_parse(subject, e164, NULL) != ERR_OK)
            return errf(eb, ERR_INVALID, "caller", "'caller' must be a phone number");
        what = e164;
    } else if (!subject || !visitor_id_ok(subject)) {
        return errf(eb, ERR_INVALID, "visitor_id", "'visitor_id' must be a visitor id");
    }
    if (reference && strlen(reference) >= sizeof(e->reference))
        return errf(eb, ERR_INVALID, "reference", "'reference' is longer than %zu bytes",
                    sizeof(e->reference) - 1);
    e->account_id = account_id;
    e->at = now;
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    snprintf(e->actor, sizeof(e->actor), "%s", actor && actor[0] ? actor : "api");
    snprintf(e->reference, sizeof(e->reference), "%s", reference ? reference : "");
    int rc = store_begin(s);
    if (rc == ERR_OK)
        rc = store_erase(s, e, what);
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc) /* a commit that failed may leave the transaction open */
        store_rollback(s);
    if (rc)
        return errf(eb, rc == ERR_INVALID ? ERR_INVALID : ERR_BACKEND, NULL, "cannot erase: %s",
                    err_str(rc));
    struct errbuf feb = {{0}, NULL};
    if (store_erase_flush(s, &feb) != ERR_OK)
        log_warn("privacy",
                 "erasure %s: the WAL still holds old pages (%s); they go with the "
                 "next checkpoint",
                 e->ext_id, feb.msg);
    /* nothing of the subject in the log: the erasure's id and counts only */
    log_info("privacy",
             "erasure %s of a %s in account %" PRId64 ": %" PRId64 " calls, %" PRId64
             " sessions, %" PRId64 " events, %" PRId64 " pending messages dropped, %" PRId64
             " sent messages scrubbed",
             e->ext_id, e->kind, account_id, e->calls, e->sessions, e->events, e->outbox_dropped,
             e->outbox_sent);
    return ERR_OK;
}

int privacy_erasures(struct store *s, int64_t account_id, size_t max, store_erasure_fn fn,
                     void *ctx)
{
    return store_erasure_list(s, account_id, INT64_MAX, max, fn, ctx);
}

json_t *privacy_erasure_json(const struct st_erasure *e)
{
    json_t *sent = json_loads(e->sent[0] ? e->sent : "[]", 0, NULL);
    if (!json_is_array(sent)) {
        json_decref(sent);
        sent = json_array();
    }
    size_t i;
    json_t *m;
    json_array_foreach(sent, i, m) /* times as everywhere else in the API */
    {
        json_t *at = json_object_get(m, "at");
        if (json_is_integer(at))
            json_object_set_new(m, "at", json_time((int64_t)json_integer_value(at)));
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:{s:I,s:I,s:I},s:{s:I,s:I,s:o}}", "id", e->ext_id,
                     "kind", e->kind, "actor", e->actor, "reference", e->reference, "created_at",
                     json_time(e->at), "erased", "calls", (json_int_t)e->calls, "sessions",
                     (json_int_t)e->sessions, "events", (json_int_t)e->events, "outbox", "dropped",
                     (json_int_t)e->outbox_dropped, "sent", (json_int_t)e->outbox_sent,
                     "sent_messages", sent);
}

/* ==== retention purge ========================================================================= */

int privacy_purge_account(struct store *s, const struct st_account *a, int64_t now, int max_batches,
                          bool (*stop)(void *ctx), void *ctx, struct st_purged *total, bool *busy)
{
    struct privacy_settings ps;
    struct errbuf eb = {{0}, NULL};
    if (privacy_settings_parse(a->settings, &ps, &eb) != ERR_OK)
        log_warn("privacy", "account %s: bad privacy settings (%s); using the defaults", a->ext_id,
                 eb.msg);
    struct st_retention r;
    privacy_retention(&ps, now, &r);
    *busy = false;
    if (!r.sessions_before && !r.calls_before && !r.events_before && !r.recordings_before)
        return ERR_OK;
    for (int i = 0; i < max_batches && !(stop && stop(ctx)); i++) {
        struct st_purged n = {0};
        int rc = store_begin(s);
        if (rc == ERR_OK)
            rc = store_purge(s, a->id, &r, PRIVACY_PURGE_BATCH, &n, busy);
        if (rc == ERR_OK)
            rc = store_commit(s);
        if (rc)
            store_rollback(s);
        if (rc)
            return rc;
        total->sessions += n.sessions;
        total->calls += n.calls;
        total->events += n.events;
        total->messages += n.messages;
        total->recordings += n.recordings;
        if (*busy || n.sessions + n.calls + n.events + n.messages + n.recordings == 0)
            break;
        /* let the visit writer in between batches */
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    return ERR_OK;
}

struct purger {
    struct app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int64_t next_at;
};

struct ids {
    struct st_account *v;
    size_t n, cap;
};

static int add_account(void *ctx, const struct st_account *a)
{
    struct ids *ids = ctx;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 16;
        ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = *a;
    return 0;
}

static bool stopping(void *ctx)
{
    struct purger *p = ctx;
    pthread_mutex_lock(&p->mu);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void purge_all(struct purger *p, int64_t now)
{
    struct store *s = p->app->store;
    struct ids ids = {0};
    if (store_account_list(s, add_account, &ids) != ERR_OK) {
        log_warn("privacy", "retention purge: cannot list the accounts; trying again later");
        free(ids.v);
        return;
    }
    for (size_t i = 0; i < ids.n && !stopping(p); i++) {
        struct st_purged n = {0};
        bool busy = false;
        int rc = privacy_purge_account(s, &ids.v[i], now, 1000, stopping, p, &n, &busy);
        if (rc)
            log_warn("privacy", "retention purge of account %s failed: %s", ids.v[i].ext_id,
                     err_str(rc));
        else if (n.sessions + n.calls + n.events + n.messages + n.recordings)
            log_info("privacy",
                     "retention purge of account %s: %" PRId64 " sessions, %" PRId64
                     " calls, %" PRId64 " events, %" PRId64 " sent messages, %" PRId64
                     " recordings",
                     ids.v[i].ext_id, n.sessions, n.calls, n.events, n.messages, n.recordings);
        if (busy) /* another node is purging: it will do the rest */
            break;
    }
    free(ids.v);
}

static void *purger_main(void *arg)
{
    struct purger *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = time_now_ms();
        if (now >= p->next_at) {
            p->next_at = now + PRIVACY_PURGE_EVERY_MS;
            pthread_mutex_unlock(&p->mu);
            purge_all(p, now);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        /* wake every second: the test clock may jump */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&p->cv, &p->mu, &until);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct purger *privacy_start(struct app *app)
{
    struct purger *p = xcalloc(1, sizeof(*p));
    p->app = app;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->next_at = time_now_ms() + 1000; /* not in the way of the start */
    if (pthread_create(&p->thread, NULL, purger_main, p) != 0) {
        log_error("privacy", "cannot start the retention purge thread");
        abort();
    }
    return p;
}

void privacy_stop(struct purger *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
