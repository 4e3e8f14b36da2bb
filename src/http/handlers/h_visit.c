/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The visit API (public, CORS): POST /v1/visits, /v1/visits/{id}/ping and /events.
 * Validate -> drop bots -> classify -> pick a pool or source number per target -> lease in the
 * in-memory engine -> hand the writes to the group-commit writer -> answer after the commit. */
#include "base/prelude.h"
#include "http/handlers/handlers.h"

#include "base/ids.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/classify.h"
#include "core/phone.h"
#include "http/accounts.h"
#include "http/app.h"
#include "http/json.h"
#include "http/ratelimit.h"
#include "http/sescache.h"
#include "http/writer.h"

#define MAX_TARGETS WRITER_MAX_LEASES
#define DEFAULT_TTL_S 1200
/* A ping's renewal is stored reaching this far past the expiry it acknowledges, so renewals that
 * follow within that time are answered from memory: the stored expiry already covers them. After
 * a crash a lease may thus outlive its last renewal by up to this; while the server runs,
 * attribution takes the exact times from the engines (http/calls.c). */
#define RENEW_AHEAD_MS 60000

enum kind { KIND_POOL, KIND_SOURCE, KIND_FALLBACK, KIND_STATIC };
static const char *const kind_names[] = {"pool", "source", "fallback", "static"};

struct shown {
    char target[PHONE_E164_MAX];
    char number[PHONE_E164_MAX];
    char display[PHONE_DISPLAY_MAX]; /* "" = format number when answering */
    enum kind kind;
};

/* Everything a deferred visit needs until its commit; freed by the done callback. */
struct visit {
    struct write_job job; /* first: the writer hands back &job */
    struct http_req *req;
    struct http_resp *resp;
    bool is_ping;
    int64_t ttl_s;
    int64_t expires_at;
    struct shown shown[MAX_TARGETS];
    int n_shown;
    struct source src;
    struct st_lease prev[MAX_TARGETS]; /* a returning session's latest lease per pool */
    int n_prev;
};

/* ---- shared checks ---- */

/* The client's address: the connection's, or behind a trusted proxy the last X-Forwarded-For
 * entry (the one that proxy added; entries to its left are whatever the client sent). */
static void client_of(const struct http_req *req, char *out, size_t cap)
{
    const char *xff = req->h_forwarded_for;
    if (!req->app->cfg.trust_proxy || !xff || !*xff) {
        snprintf(out, cap, "%s", req->client_addr);
        return;
    }
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    snprintf(out, cap, "%.*s", (int)strcspn(last, " "), last);
}

static int limit_address(struct http_req *req, int64_t now)
{
    char addr[64];
    client_of(req, addr, sizeof(addr));
    if (ratelimit_take(req->app->visit_limit, addr, now, &req->retry_after_s))
        return ERR_OK;
    return errf(&req->eb, ERR_LIMITED, NULL, "too many visits from this address; retry later");
}

/* CORS: a browser request from an origin the account does not allow is refused. */
static int check_origin(struct http_req *req, struct http_resp *resp, const struct acct *acct)
{
    if (!req->h_origin)
        return ERR_OK;
    /* Pages served by opendni itself (the demo) are same-site: their origin is the public URL. */
    bool own = strcmp(req->h_origin, req->app->public_url) == 0;
    if (!own && !acct_origin_allowed(acct, req->h_origin))
        return errf(&req->eb, ERR_FORBIDDEN, NULL, "origin not allowed for this account");
    http_header(resp, "Access-Control-Allow-Origin", "%s", req->h_origin);
    http_header(resp, "Vary", "Origin");
    return ERR_OK;
}

/* ---- responses ---- */

/* {"gclid":"…",…} with the click ids the visit carried (new reference). */
static json_t *click_ids_json(const struct source *src)
{
    json_t *ids = json_object();
    for (int i = 0; i < CLICK_N; i++)
        if (src->click_ids[i][0])
            json_object_set_new(ids, click_id_names[i], json_string(src->click_ids[i]));
    return ids;
}

static json_t *source_json(const struct source *src)
{
    json_t *ids = click_ids_json(src);
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "channel", src->channel, "source",
                     json_str_or_null(src->source), "medium", json_str_or_null(src->medium),
                     "campaign", json_str_or_null(src->campaign), "keyword",
                     json_str_or_null(src->keyword), "click_ids", ids);
}

static json_t *numbers_json(const struct shown *shown, int n)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char display[PHONE_DISPLAY_MAX];
        if (shown[i].display[0])
            snprintf(display, sizeof(display), "%s", shown[i].display);
        else
            phone_format(shown[i].number, display, sizeof(display));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "target", shown[i].target,
                                             "number", shown[i].number, "display", display, "kind",
                                             kind_names[shown[i].kind]));
    }
    return arr;
}

/* The success answer, written before the commit (on the HTTP thread, keeping the single writer
 * thread's work to the store); visit_done replaces it with an error if the commit fails. */
static int write_answer(struct visit *v)
{
    struct http_resp *resp = v->resp;
    struct write_job *job = &v->job;
    resp->content_type = "application/json";
    if (v->is_ping)
        return json_dump_take(json_pack("{s:o,s:o}", "expires_at", json_time(v->expires_at),
                                        "numbers", numbers_json(v->shown, v->n_shown)),
                              &resp->body);
    return json_dump_take(json_pack("{s:s,s:s,s:o,s:I,s:b,s:o,s:o}", "session_id",
                                    job->session.ext_id, "visitor_id", job->session.visitor_id,
                                    "expires_at", json_time(v->expires_at), "ttl",
                                    (json_int_t)v->ttl_s, "bot", 0, "source", source_json(&v->src),
                                    "numbers", numbers_json(v->shown, v->n_shown)),
                          &resp->body);
}

/* The stored expiry the cache knows for the session's lease in pool_id, or 0. */
static int64_t stored_until(const struct sescache_entry *e, int64_t pool_id)
{
    for (int i = 0; i < e->n_pools; i++)
        if (e->pools[i].pool_id == pool_id)
            return e->pools[i].stored_until;
    return 0;
}

/* After a commit (on the writer thread, which runs every done callback in turn): what the store
 * now holds of the session, for its next ping. A renewal keeps the larger of what was known and
 * what it wrote (the store never moves an expiry back); a new lease replaces its pool's entry. */
static void remember_session(struct sescache *cache, const struct write_job *job)
{
    struct sescache_entry e;
    if (!sescache_get(cache, job->session.ext_id, &e) || e.id != job->session.id)
        e = (struct sescache_entry){.id = job->session.id};
    e.account_id = job->session.account_id;
    for (int i = 0; i < job->n_leases; i++) {
        const struct st_lease *l = &job->leases[i];
        int k = 0;
        while (k < e.n_pools && e.pools[k].pool_id != l->pool_id)
            k++;
        if (k == e.n_pools) {
            if (e.n_pools == SESCACHE_POOLS)
                continue; /* not remembered: its pings write */
            e.n_pools++;
            e.pools[k].pool_id = l->pool_id;
            e.pools[k].stored_until = 0;
        }
        if (!job->lease_renew[i] || l->expires_at > e.pools[k].stored_until)
            e.pools[k].stored_until = l->expires_at;
    }
    sescache_put(cache, job->session.ext_id, &e);
}

static void visit_done(struct write_job *job)
{
    struct visit *v = (struct visit *)job;
    struct http_req *req = v->req;
    if (job->rc) {
        errf(&req->eb, job->rc, NULL, "cannot store the visit");
        http_error_resp(req, v->resp, job->rc);
        sescache_drop(req->app->sessions, job->session.ext_id);
    } else {
        remember_session(req->app->sessions, job);
    }
    free(v);
    http_resume(req); /* req and resp may be gone after this */
}

static void submit(void *arg)
{
    struct visit *v = arg;
    writer_submit(v->req->app->writer, &v->job);
}

/* Answers after the commit: the body now, the response when the writer is done. */
static int defer_visit(struct http_req *req, struct visit *v, int64_t now)
{
    if (!v->expires_at)
        v->expires_at = now + v->ttl_s * 1000;
    int rc = write_answer(v);
    if (rc) {
        free(v);
        return rc;
    }
    http_defer(req, submit, v);
    return ERR_OK;
}

static struct visit *visit_new(struct http_req *req, struct http_resp *resp)
{
    struct visit *v = xcalloc(1, sizeof(*v));
    v->req = req;
    v->resp = resp;
    v->job.done = visit_done;
    v->ttl_s = DEFAULT_TTL_S;
    return v;
}

/* ---- picking numbers ---- */

static bool pool_serves(const struct st_pool *p, const char *target, const char *channel)
{
    if (strcmp(p->target, target) != 0)
        return false;
    if (!p->channels[0])
        return true;
    char quoted[40];
    snprintf(quoted, sizeof(quoted), "\"%s\"", channel);
    return strstr(p->channels, quoted) != NULL;
}

static const struct st_number *rule_source(const struct acct *acct,
                                           const struct classify_rule *rule, const char *target)
{
    for (size_t i = 0; rule && rule->number_id && i < acct->n_sources; i++) {
        const struct st_number *n = &acct->sources[i];
        if ((uint64_t)n->id == rule->number_id && (!n->target[0] || !strcmp(n->target, target)))
            return n;
    }
    return NULL;
}

static const struct st_pool *choose_pool(const struct visit *v, const struct acct *acct,
                                         const struct classify_rule *rule, const char *target)
{
    for (int i = 0; i < v->n_prev; i++) { /* a returning session stays in its pool */
        const struct st_pool *p = acct_pool(acct, v->prev[i].pool_id);
        if (p && !strcmp(p->target, target))
            return p;
    }
    const char *channel = v->src.channel;
    if (rule && rule->pool_id) {
        const struct st_pool *p = acct_pool(acct, (int64_t)rule->pool_id);
        if (p && !strcmp(p->target, target))
            return p;
    }
    for (size_t i = 0; i < acct->n_pools; i++)
        if (pool_serves(&acct->pools[i], target, channel))
            return &acct->pools[i];
    return NULL;
}

static int add_prev(void *ctx, const struct st_lease *l)
{
    struct visit *v = ctx;
    if (v->n_prev < MAX_TARGETS)
        v->prev[v->n_prev++] = *l;
    return 0;
}

static int64_t prev_number(const struct visit *v, int64_t pool_id)
{
    for (int i = 0; i < v->n_prev; i++)
        if (v->prev[i].pool_id == pool_id)
            return v->prev[i].number_id;
    return 0;
}

static void add_lease(struct visit *v, const struct st_pool *p, const struct st_lease_claim *el,
                      int64_t now)
{
    struct write_job *j = &v->job;
    int i = j->n_leases++;
    j->leases[i] = (struct st_lease){.number_id = el->number_id,
                                     .pool_id = p->id,
                                     .leased_at = el->leased_at,
                                     .last_active_at = now,
                                     .expires_at = el->expires_at,
                                     .shared = (el->flags & POOL_LEASE_SHARED) != 0};
    j->lease_renew[i] = (el->flags & POOL_LEASE_RENEWED) != 0;
    j->exhaustion_events[i] = el->exhaustion_events;
    j->peak_concurrent[i] = el->peak_concurrent;
    if (el->expires_at > v->expires_at)
        v->expires_at = el->expires_at;
    v->ttl_s = p->lease_ttl_s;
}

/* Leases a number of pool p for the visit's session; falls back per the pool's mode. */
static int lease_pool(struct http_req *req, struct visit *v, const struct st_pool *p,
                      struct shown *sh, int64_t now)
{
    struct st_lease_claim el;
    int rc = store_lease_claim(req->app->store, p->id, v->job.session.ext_id, prev_number(v, p->id),
                               now, &el);
    if (rc == ERR_EXHAUSTED) {
        snprintf(sh->number, sizeof(sh->number), "%s",
                 p->fallback_number[0] ? p->fallback_number : p->target);
        sh->kind = KIND_FALLBACK;
        return ERR_OK;
    }
    if (rc)
        return errf(&req->eb, rc == ERR_NOTFOUND ? ERR_BACKEND : rc, NULL, "pool '%s' cannot lease",
                    p->ext_id);
    snprintf(sh->number, sizeof(sh->number), "%s", el.number);
    snprintf(sh->display, sizeof(sh->display), "%s", el.display);
    sh->kind = KIND_POOL;
    add_lease(v, p, &el, now);
    return ERR_OK;
}

static int pick_numbers(struct http_req *req, struct visit *v, const struct acct *acct,
                        const struct classify_rule *rule, char targets[][PHONE_E164_MAX],
                        int n_targets, int64_t now)
{
    for (int i = 0; i < n_targets; i++) {
        struct shown *sh = &v->shown[v->n_shown++];
        snprintf(sh->target, sizeof(sh->target), "%s", targets[i]);
        const struct st_number *src = rule_source(acct, rule, targets[i]);
        const struct st_pool *p = src ? NULL : choose_pool(v, acct, rule, targets[i]);
        if (src) {
            snprintf(sh->number, sizeof(sh->number), "%s", src->number);
            sh->kind = KIND_SOURCE;
        } else if (p) {
            int rc = lease_pool(req, v, p, sh, now);
            if (rc)
                return rc;
        } else {
            snprintf(sh->number, sizeof(sh->number), "%s", targets[i]);
            sh->kind = KIND_STATIC;
        }
    }
    return ERR_OK;
}

/* ---- POST /v1/visits ---- */

struct visit_in {
    const char *account, *url, *referrer, *visitor_id, *session_id;
    char targets[MAX_TARGETS][PHONE_E164_MAX];
    int n_targets;
    bool all_targets;
};

static int parse_targets(json_t *o, struct visit_in *in, struct errbuf *eb)
{
    json_t *t = json_object_get(o, "targets");
    in->all_targets = !t || json_is_null(t);
    if (in->all_targets)
        return ERR_OK;
    if (!json_is_array(t))
        return errf(eb, ERR_INVALID, "targets", "'targets' must be an array of phone numbers");
    if (json_array_size(t) > MAX_TARGETS)
        return errf(eb, ERR_INVALID, "targets", "at most %d targets", MAX_TARGETS);
    size_t i;
    json_t *e;
    json_array_foreach(t, i, e)
    {
        if (!json_is_string(e))
            return errf(eb, ERR_INVALID, "targets", "'targets' must be an array of phone numbers");
        if (phone_parse(json_string_value(e), in->targets[in->n_targets], eb) != ERR_OK)
            return errf(eb, ERR_INVALID, "targets", "target %zu is not a phone number", i);
        in->n_targets++;
    }
    return ERR_OK;
}

static int parse_visit(json_t *o, struct visit_in *in, struct errbuf *eb)
{
    int rc = json_get_str(o, "account", &in->account, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "url", &in->url, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "referrer", &in->referrer, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "visitor_id", &in->visitor_id, eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "session_id", &in->session_id, eb);
    if (rc == ERR_OK)
        rc = parse_targets(o, in, eb);
    if (rc)
        return rc;
    if (!in->account)
        return errf(eb, ERR_INVALID, "account", "'account' is required");
    if (!in->url)
        return errf(eb, ERR_INVALID, "url", "'url' is required");
    return ERR_OK;
}

static void add_target(struct visit_in *in, const char *t)
{
    for (int i = 0; i < in->n_targets; i++)
        if (strcmp(in->targets[i], t) == 0)
            return;
    if (in->n_targets < MAX_TARGETS && t[0])
        snprintf(in->targets[in->n_targets++], PHONE_E164_MAX, "%s", t);
}

static void all_targets(const struct acct *acct, struct visit_in *in)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        add_target(in, acct->pools[i].target);
    for (size_t i = 0; i < acct->n_sources; i++)
        add_target(in, acct->sources[i].target);
}

static int answer_bot(struct http_req *req, struct http_resp *resp, struct visit_in *in)
{
    struct shown shown[MAX_TARGETS];
    for (int i = 0; i < in->n_targets; i++) {
        snprintf(shown[i].target, sizeof(shown[i].target), "%s", in->targets[i]);
        snprintf(shown[i].number, sizeof(shown[i].number), "%s", in->targets[i]);
        shown[i].display[0] = '\0';
        shown[i].kind = KIND_STATIC;
    }
    resp->content_type = "application/json";
    return json_dump_take(json_pack("{s:n,s:n,s:n,s:n,s:b,s:n,s:o}", "session_id", "visitor_id",
                                    "expires_at", "ttl", "bot", 1, "source", "numbers",
                                    numbers_json(shown, in->n_targets)),
                          &resp->body);
}

/* "US-TX": two capital letters, '-', one to three capitals or digits (ISO 3166-2). */
static bool region_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || n > 6 || s[2] != '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != 2 && !((s[i] >= 'A' && s[i] <= 'Z') || (i > 2 && s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static void fill_session(struct st_session *ss, const struct source *src, const char *referrer,
                         const char *user_agent, const char *region)
{
    if (region_valid(region))
        snprintf(ss->region, sizeof(ss->region), "%s", region);
    snprintf(ss->landing_page, sizeof(ss->landing_page), "%s", src->landing_page);
    snprintf(ss->referrer, sizeof(ss->referrer), "%s", referrer ? referrer : "");
    snprintf(ss->channel, sizeof(ss->channel), "%s", src->channel);
    snprintf(ss->source, sizeof(ss->source), "%s", src->source);
    snprintf(ss->medium, sizeof(ss->medium), "%s", src->medium);
    snprintf(ss->campaign, sizeof(ss->campaign), "%s", src->campaign);
    snprintf(ss->keyword, sizeof(ss->keyword), "%s", src->keyword);
    snprintf(ss->content, sizeof(ss->content), "%s", src->content);
    snprintf(ss->device, sizeof(ss->device), "%s", device_name(classify_device(user_agent)));
    json_t *ids = click_ids_json(src);
    char *s = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    if (s && strlen(s) < sizeof(ss->click_ids))
        snprintf(ss->click_ids, sizeof(ss->click_ids), "%s", s);
    free(s);
}

static void source_from_session(struct source *src, const struct st_session *ss)
{
    memset(src, 0, sizeof(*src));
    snprintf(src->channel, sizeof(src->channel), "%s", ss->channel);
    snprintf(src->source, sizeof(src->source), "%s", ss->source);
    snprintf(src->medium, sizeof(src->medium), "%s", ss->medium);
    snprintf(src->campaign, sizeof(src->campaign), "%s", ss->campaign);
    snprintf(src->keyword, sizeof(src->keyword), "%s", ss->keyword);
    snprintf(src->content, sizeof(src->content), "%s", ss->content);
    snprintf(src->landing_page, sizeof(src->landing_page), "%s", ss->landing_page);
    json_t *ids = ss->click_ids[0] ? json_loads(ss->click_ids, 0, NULL) : NULL;
    for (int i = 0; ids && i < CLICK_N; i++) {
        const char *v = json_string_value(json_object_get(ids, click_id_names[i]));
        if (v)
            snprintf(src->click_ids[i], sizeof(src->click_ids[i]), "%s", v);
    }
    json_decref(ids);
}

/* Loads the session the client sent back (same account), or sets up a new one. */
static int start_session(struct http_req *req, struct visit *v, const struct acct *acct,
                         const struct visit_in *in, int64_t now)
{
    struct st_session *ss = &v->job.session;
    if (in->session_id && id_valid(in->session_id, STORE_ID_MAX - 1) &&
        store_session_get(req->app->store, in->session_id, ss) == ERR_OK &&
        ss->account_id == acct->id) {
        ss->last_active_at = now;
        v->job.touch_session = true;
        return ERR_OK;
    }
    memset(ss, 0, sizeof(*ss));
    if (!ratelimit_take(req->app->session_limit, acct->ext_id, now, &req->retry_after_s))
        return errf(&req->eb, ERR_LIMITED, NULL, "too many new sessions for this account");
    id_new_sorted("s_", now, 20, ss->ext_id, sizeof(ss->ext_id)); /* 100 random bits */
    if (in->visitor_id && id_valid(in->visitor_id, STORE_ID_MAX - 1))
        snprintf(ss->visitor_id, sizeof(ss->visitor_id), "%s", in->visitor_id);
    else
        id_new_sorted("v_", now, 20, ss->visitor_id, sizeof(ss->visitor_id));
    ss->account_id = acct->id;
    ss->created_at = ss->last_active_at = now;
    return ERR_OK;
}

static int run_visit(struct http_req *req, struct http_resp *resp, const struct acct *acct,
                     struct visit_in *in, int64_t now)
{
    if (in->all_targets)
        all_targets(acct, in);
    if (classify_is_bot(req->h_user_agent))
        return answer_bot(req, resp, in);
    struct visit *v = visit_new(req, resp);
    int rule = -1;
    int rc = start_session(req, v, acct, in, now);
    /* A returning session keeps its landing source and its pools; a new one is classified from
     * this page. */
    bool returning = rc == ERR_OK && v->job.session.id;
    if (returning) {
        source_from_session(&v->src, &v->job.session);
        rc = store_session_leases(req->app->store, v->job.session.id, add_prev, v);
    } else if (rc == ERR_OK) {
        rc = classify_visit(in->url, in->referrer, acct->rules, acct->n_rules, &v->src, &rule,
                            &req->eb);
        if (rc == ERR_INVALID)
            req->eb.field = "url";
        if (rc == ERR_OK)
            fill_session(&v->job.session, &v->src, in->referrer, req->h_user_agent, req->h_geo);
    }
    if (rc == ERR_OK)
        rc = pick_numbers(req, v, acct, rule >= 0 ? &acct->rules[rule] : NULL, in->targets,
                          in->n_targets, now);
    if (rc) {
        free(v);
        return rc;
    }
    return defer_visit(req, v, now);
}

int h_visit(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    int rc = limit_address(req, now);
    json_t *o = NULL;
    if (rc == ERR_OK)
        rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    struct visit_in in = {0};
    if (rc == ERR_OK)
        rc = parse_visit(o, &in, &req->eb);
    const struct acct *acct = NULL;
    if (rc == ERR_OK) {
        rc = accounts_get(req->app->accounts, in.account, now, &acct);
        if (rc == ERR_NOTFOUND)
            errf(&req->eb, rc, "account", "unknown account");
    }
    if (rc == ERR_OK)
        rc = check_origin(req, resp, acct);
    if (rc == ERR_OK)
        rc = run_visit(req, resp, acct, &in, now);
    accounts_put(req->app->accounts, acct);
    json_decref(o);
    return rc;
}

/* ---- ping and events ---- */

/* The session named in the path (from the session cache, else the store: only id, ext_id and
 * account_id are set), with its account's snapshot and the CORS check done. */
static int path_session(struct http_req *req, struct http_resp *resp, struct st_session *ss,
                        struct sescache_entry *ce, const struct acct **acct, int64_t now)
{
    int rc = limit_address(req, now);
    if (rc)
        return rc;
    const char *ext = req->params[0];
    if (!id_valid(ext, STORE_ID_MAX - 1))
        return errf(&req->eb, ERR_NOTFOUND, NULL, "unknown session");
    if (!sescache_get(req->app->sessions, ext, ce)) {
        if (store_session_get(req->app->store, ext, ss) != ERR_OK)
            return errf(&req->eb, ERR_NOTFOUND, NULL, "unknown session");
        *ce = (struct sescache_entry){.id = ss->id, .account_id = ss->account_id};
        sescache_put(req->app->sessions, ext, ce);
    }
    ss->id = ce->id;
    ss->account_id = ce->account_id;
    snprintf(ss->ext_id, sizeof(ss->ext_id), "%s", ext);
    rc = accounts_get_by_id(req->app->accounts, ss->account_id, now, acct);
    if (rc)
        return rc;
    return check_origin(req, resp, *acct);
}

struct ping_ctx {
    struct http_req *req;
    struct visit *v;
    const struct acct *acct;
    int64_t now;
    int rc;
};

static int ping_lease(void *arg, const struct st_lease *l)
{
    struct ping_ctx *pc = arg;
    struct visit *v = pc->v;
    const struct st_pool *p = acct_pool(pc->acct, l->pool_id);
    if (!p || v->n_shown >= MAX_TARGETS)
        return 0;
    struct shown *sh = &v->shown[v->n_shown++];
    snprintf(sh->target, sizeof(sh->target), "%s", p->target);
    struct st_lease_claim el;
    if (store_lease_touch(pc->req->app->store, p->id, v->job.session.ext_id, pc->now, &el) ==
        ERR_OK) {
        snprintf(sh->number, sizeof(sh->number), "%s", el.number);
        snprintf(sh->display, sizeof(sh->display), "%s", el.display);
        sh->kind = KIND_POOL;
        add_lease(v, p, &el, pc->now);
        return 0;
    }
    add_prev(v, l); /* the lease was lost: lease again, preferring the number it had */
    pc->rc = lease_pool(pc->req, v, p, sh, pc->now);
    return pc->rc;
}

/* Renews the session's live leases straight from the engines (no store read: +17 % pings/s).
 * Only when none is live does the ping read the session's pools from the store and lease again.
 * A session holding pools of different lease_ttl could keep one lease and lose another during
 * a long pause; that pool is leased again at the next page view rather than at this ping. */
static void touch_live(struct http_req *req, struct visit *v, const struct acct *acct, int64_t now)
{
    for (size_t i = 0; i < acct->n_pools && v->n_shown < MAX_TARGETS; i++) {
        const struct st_pool *p = &acct->pools[i];
        struct st_lease_claim el;
        if (store_lease_touch(req->app->store, p->id, v->job.session.ext_id, now, &el) != ERR_OK)
            continue;
        struct shown *sh = &v->shown[v->n_shown++];
        snprintf(sh->target, sizeof(sh->target), "%s", p->target);
        snprintf(sh->number, sizeof(sh->number), "%s", el.number);
        snprintf(sh->display, sizeof(sh->display), "%s", el.display);
        sh->kind = KIND_POOL;
        add_lease(v, p, &el, now);
    }
}

/* Whether the store already holds every renewal of this ping (see RENEW_AHEAD_MS). */
static bool stored_covers(const struct write_job *job, const struct sescache_entry *ce)
{
    if (job->n_leases == 0)
        return false;
    for (int i = 0; i < job->n_leases; i++)
        if (!job->lease_renew[i] ||
            job->leases[i].expires_at > stored_until(ce, job->leases[i].pool_id))
            return false;
    return true;
}

int h_visit_ping(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    struct visit *v = visit_new(req, resp);
    const struct acct *acct = NULL;
    struct sescache_entry ce;
    int rc = path_session(req, resp, &v->job.session, &ce, &acct, now);
    if (rc == ERR_OK) {
        v->is_ping = true;
        v->job.session.last_active_at = now;
        v->job.touch_session = true;
        touch_live(req, v, acct, now);
        if (v->n_shown == 0) { /* no live lease: find the session's pools and lease again */
            struct ping_ctx pc = {req, v, acct, now, ERR_OK};
            rc = store_session_leases(req->app->store, v->job.session.id, ping_lease, &pc);
            rc = rc ? rc : pc.rc;
        }
    }
    accounts_put(req->app->accounts, acct);
    if (rc == ERR_OK && stored_covers(&v->job, &ce)) {
        rc = write_answer(v); /* nothing to write: answer now */
        free(v);
        return rc;
    }
    if (rc) {
        free(v);
        return rc;
    }
    for (int i = 0; i < v->job.n_leases; i++)
        if (v->job.lease_renew[i])
            v->job.leases[i].expires_at += RENEW_AHEAD_MS;
    return defer_visit(req, v, now);
}

static const char *const event_types[] = {"tel_click", "chat_started", "form_submit", "swap_miss",
                                          "number_copy"};

static int parse_event(struct http_req *req, struct st_event *e)
{
    json_t *o;
    int rc = json_parse_object(req->body.data, req->body.len, &o, &req->eb);
    if (rc)
        return rc;
    const char *type = NULL, *number = NULL, *detail = NULL;
    rc = json_get_str(o, "type", &type, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "number", &number, &req->eb);
    if (rc == ERR_OK)
        rc = json_get_str(o, "detail", &detail, &req->eb);
    bool known = false;
    for (size_t i = 0; rc == ERR_OK && type && i < ARRAY_SIZE(event_types); i++)
        known = known || strcmp(type, event_types[i]) == 0;
    if (rc == ERR_OK && !known)
        rc = errf(&req->eb, ERR_INVALID, "type",
                  "'type' must be tel_click, chat_started, "
                  "form_submit, swap_miss or number_copy");
    if (rc == ERR_OK && number)
        rc = phone_parse(number, e->number, &req->eb)
                 ? errf(&req->eb, ERR_INVALID, "number", "'number' is not a phone number")
                 : ERR_OK;
    if (rc == ERR_OK && detail && strlen(detail) >= sizeof(e->detail))
        rc = errf(&req->eb, ERR_INVALID, "detail", "'detail' is over %zu bytes",
                  sizeof(e->detail) - 1);
    if (rc == ERR_OK) {
        snprintf(e->type, sizeof(e->type), "%s", type);
        snprintf(e->detail, sizeof(e->detail), "%s", detail ? detail : "");
    }
    json_decref(o);
    return rc;
}

static void event_done(struct write_job *job)
{
    struct visit *v = (struct visit *)job;
    struct http_req *req = v->req;
    if (job->rc) {
        errf(&req->eb, job->rc, NULL, "cannot store the event");
        http_error_resp(req, v->resp, job->rc);
    } else {
        v->resp->status = 202;
        v->resp->content_type = "application/json";
        buf_adds(&v->resp->body, "{\"status\":\"accepted\"}");
    }
    free(v);
    http_resume(req);
}

int h_visit_event(struct http_req *req, struct http_resp *resp)
{
    int64_t now = time_now_ms();
    struct visit *v = visit_new(req, resp);
    const struct acct *acct = NULL;
    struct sescache_entry ce;
    int rc = path_session(req, resp, &v->job.session, &ce, &acct, now);
    accounts_put(req->app->accounts, acct);
    if (rc == ERR_OK)
        rc = parse_event(req, &v->job.event);
    if (rc) {
        free(v);
        return rc;
    }
    v->job.event.at = now;
    v->job.has_event = true;
    v->job.done = event_done;
    http_defer(req, submit, v);
    return ERR_OK;
}

/* GET /v1/sessions/{id} (admin): a session with its source and leases. */
struct lease_list {
    struct app *app;
    int64_t now;
    int64_t last_active_at; /* the session's latest activity seen */
    json_t *arr;
};

/* A lease as stored, with the engine's exact times while it knows the lease. */
static int add_lease_json(void *ctx, const struct st_lease *l)
{
    struct lease_list *ll = ctx;
    struct st_number n;
    if (store_number_by_id(ll->app->store, l->number_id, &n) != ERR_OK)
        return 0;
    int64_t active, ends;
    store_lease_times(ll->app->store, l, ll->now, &active, &ends);
    if (active > ll->last_active_at)
        ll->last_active_at = active;
    json_array_append_new(ll->arr,
                          json_pack("{s:s,s:o,s:o,s:o,s:b}", "number", n.number, "leased_at",
                                    json_time(l->leased_at), "last_active_at", json_time(active),
                                    "expires_at", json_time(ends), "shared", l->shared));
    return 0;
}

static int add_event_json(void *ctx, const struct st_event *e)
{
    json_array_append_new(ctx, json_pack("{s:s,s:o,s:o,s:o}", "type", e->type, "number",
                                         json_str_or_null(e->number), "detail",
                                         json_str_or_null(e->detail), "at", json_time(e->at)));
    return 0;
}

int h_session_get(struct http_req *req, struct http_resp *resp)
{
    struct st_session ss;
    if (store_session_get(req->app->store, req->params[0], &ss) != ERR_OK ||
        ss.account_id != req->account.id)
        return errf(&req->eb, ERR_NOTFOUND, NULL, "no session '%s'", req->params[0]);
    struct lease_list ll = {req->app, time_now_ms(), ss.last_active_at, json_array()};
    store_session_leases(req->app->store, ss.id, add_lease_json, &ll);
    json_t *events = json_array();
    store_event_list(req->app->store, ss.id, 1000, add_event_json, events);
    json_t *ids = ss.click_ids[0] ? json_loads(ss.click_ids, 0, NULL) : NULL;
    resp->content_type = "application/json";
    return json_dump_take(
        json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:{s:s,s:o,s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o}", "id",
                  ss.ext_id, "visitor_id", ss.visitor_id, "created_at", json_time(ss.created_at),
                  "last_active_at", json_time(ll.last_active_at), "landing_page",
                  json_str_or_null(ss.landing_page), "referrer", json_str_or_null(ss.referrer),
                  "source", "channel", ss.channel, "source", json_str_or_null(ss.source), "medium",
                  json_str_or_null(ss.medium), "campaign", json_str_or_null(ss.campaign), "keyword",
                  json_str_or_null(ss.keyword), "click_ids", ids ? ids : json_object(), "device",
                  json_str_or_null(ss.device), "leases", ll.arr, "region",
                  json_str_or_null(ss.region), "events", events),
        &resp->body);
}
