/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The visit use cases (see visits.h): drop bots -> classify -> pick a pool or source number per
 * target -> claim a number (store_lease_claim) -> hand the writes to the group-commit writer ->
 * done after the commit. */
#include "base/prelude.h"
#include "app/visits.h"

#include "app/accounts.h"
#include "app/adplat.h"
#include "app/app.h"
#include "app/clientaddr.h"
#include "app/guard.h"
#include "app/metrics.h"
#include "store/store.h"
#include "app/ratelimit.h"
#include "app/sescache.h"
#include "app/traffic.h"
#include "app/writer.h"
#include "base/hash.h"
#include "base/ids.h"
#include "base/json.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/client.h"
#include "core/pool.h"

#define DEFAULT_TTL_S 1200
/* A ping's renewal is stored reaching this far past the expiry it acknowledges, so renewals that
 * follow within that time are answered from memory: the stored expiry already covers them. After
 * a crash a lease may thus outlive its last renewal by up to this; while the server runs,
 * attribution takes the exact times from the store's claims (store_lease_times). */
#define RENEW_AHEAD_MS 60000

static const char *const kind_names[] = {"pool", "source", "fallback", "static"};

const char *visit_kind_name(enum visit_kind k)
{
    return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "static";
}

/* ga_client: the visitor's GA client id (and GA session id) from the _ga cookies, which GA4
 * destinations send events for (app/adplat.h). */
static const char *const event_types[] = {"tel_click", "chat_started", "form_submit",
                                          "swap_miss", "number_copy",  "ga_client"};

bool visits_event_type_valid(const char *type)
{
    for (size_t i = 0; type && i < ARRAY_SIZE(event_types); i++)
        if (strcmp(type, event_types[i]) == 0)
            return true;
    return false;
}

/* Everything a visit needs until its commit; freed after the done callback. */
struct visit {
    struct write_job job; /* first: the writer hands back &job */
    struct app *app;
    struct visit_result res;
    bool covered; /* a ping whose renewals the store already holds: nothing to write */
    struct st_lease prev[VISITS_MAX_TARGETS]; /* a returning session's latest lease per pool */
    int n_prev;
    /* The new claims this visit made (not renewals): taken back if its commit fails. */
    struct {
        int64_t pool_id;
        struct st_lease_claim claim;
        uint64_t token; /* its place in the client's share (app/guard.h), 0 if none */
    } claims[VISITS_MAX_TARGETS];
    int n_claims;
    int64_t now;
    /* A new session is counted against its client: by address key, and by visitor id. */
    bool guarded;
    bool flood; /* its client is a recognised flood: no pool number */
    char keys[GUARD_KEYS][STORE_ID_MAX + CLIENTADDR_MAX];
    const char *key_ptrs[GUARD_KEYS];
    int n_keys;
    uint32_t page_hash; /* the page this visit or ping showed (sescache page_hash), 0 = none */
    visit_done_fn done;
    void *arg;
};

/* Cuts s to at most cap - 1 bytes without splitting a UTF-8 character. */
static void utf8_copy(char *out, size_t cap, const char *s, size_t len)
{
    if (cap == 0)
        return;
    if (len > cap - 1) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--; /* s[len] continues a character: end before that character */
    }
    memcpy(out, s, len);
    out[len] = '\0';
}

void visits_page_path(const char *url, char *out, size_t cap)
{
    const char *p = url ? url : "";
    const char *scheme = strstr(p, "://");
    if (scheme && (size_t)(scheme - p) < 16 && !memchr(p, '/', (size_t)(scheme - p))) {
        p = scheme + 3;
        p += strcspn(p, "/?#"); /* the authority */
    }
    size_t len = strcspn(p, "?#");
    if (len == 0 || p[0] != '/') {
        utf8_copy(out, cap, "/", 1);
        return;
    }
    utf8_copy(out, cap, p, len);
}

uint32_t visits_page_hash(const char *path)
{
    uint64_t h = hash_str(path);
    uint32_t v = (uint32_t)(h ^ (h >> 32));
    return v ? v : 1;
}

/* Adds the page view of path (visits_page_path's; title may be NULL) to v's write. */
static void add_page_view(struct visit *v, const char *path, const char *title, int64_t now,
                          bool dedupe)
{
    struct st_page_view *pv = &v->job.page_view;
    str_copy(pv->path, sizeof(pv->path), path); /* already cut to fit */
    utf8_copy(pv->title, sizeof(pv->title), title ? title : "", title ? strlen(title) : 0);
    pv->at = now;
    v->job.has_page_view = true;
    v->job.page_view_dedupe = dedupe;
    v->page_hash = visits_page_hash(pv->path);
}

/* A zeroed visit but for res.src (3.9 KB of ~12): classify_visit and source_from_session clear
 * and fill it before anything reads it, and pings, events and bots never read it. */
static struct visit *visit_new(struct app *app)
{
    struct visit *v = xmalloc(sizeof(*v));
    size_t src = offsetof(struct visit, res) + offsetof(struct visit_result, src);
    size_t src_end = src + sizeof(v->res.src);
    memset(v, 0, src);
    memset((char *)v + src_end, 0, sizeof(*v) - src_end);
    v->app = app;
    v->res.ttl_s = DEFAULT_TTL_S;
    return v;
}

/* A visit that is not acknowledged leaves no lease and no count behind: its new claims are taken
 * back from the engines (its renewals keep their leases, which earlier commits hold). */
static void release_claims(struct visit *v)
{
    for (int i = 0; i < v->n_claims; i++) {
        store_lease_release(v->app->store, v->job.session.account_id, v->claims[i].pool_id,
                            &v->claims[i].claim, v->now);
        guard_cancel(v->app->guard, v->claims[i].token);
    }
}

/* ---- handing numbers back ---- */

/* The stored leases of taken-back claims (a flood's, or an unacknowledged visit's), deleted
 * through the writer. */
#define HANDBACK_MAX (GUARD_HOLDS > VISITS_MAX_TARGETS ? GUARD_HOLDS : VISITS_MAX_TARGETS)

struct handback {
    struct write_job job; /* first: the writer hands back &job */
    int n;
    struct guard_hold rows[HANDBACK_MAX];
};

static int handback_apply(struct store *s, struct write_job *job)
{
    struct handback *hb = (struct handback *)job;
    for (int i = 0; i < hb->n; i++) {
        const struct guard_hold *h = &hb->rows[i];
        int rc =
            store_lease_delete(s, h->account_id, h->session_id, h->number_id, h->undo.leased_at);
        if (rc && rc != ERR_NOTFOUND)
            return rc;
    }
    return ERR_OK;
}

static void handback_done(struct write_job *job)
{
    if (job->rc)
        log_warn("visits", "leases were taken back but their rows stay: %s", err_str(job->rc));
    free(job);
}

/* Takes a flood's claims back: out of the engines at once (the numbers are free again, the
 * counters as if the claims never were), and their stored rows deleted by the writer. */
static void hand_back(struct app *app, const struct guard_hold *holds, int n, int64_t now)
{
    struct handback *hb = NULL;
    for (int i = 0; i < n; i++) {
        struct st_lease_claim c = {.undo = holds[i].undo};
        if (store_lease_release(app->store, holds[i].account_id, holds[i].pool_id, &c, now) !=
            ERR_OK)
            continue; /* ended or renewed meanwhile: nothing to hand back */
        if (!holds[i].session_id)
            continue;
        if (!hb)
            hb = xcalloc(1, sizeof(*hb));
        hb->rows[hb->n++] = holds[i];
    }
    if (!hb)
        return;
    hb->job.apply = handback_apply;
    hb->job.done = handback_done;
    writer_submit(app->writer, &hb->job);
}

void visit_free(struct visit *v)
{
    if (v)
        release_claims(v); /* never committed: never acknowledged */
    free(v);
}

const struct visit_result *visit_result(const struct visit *v)
{
    return &v->res;
}

bool visit_needs_commit(const struct visit *v)
{
    return !v->res.bot && !v->covered;
}

/* CORS: a browser request from an origin the account does not allow is refused. Pages served by
 * opendni itself (the demo) are same-site: their origin is the public URL. */
static int check_origin(const struct acct *acct, const char *origin, const char *own,
                        bool *origin_ok, struct errbuf *eb)
{
    if (!origin)
        return ERR_OK;
    if (!(own && strcmp(origin, own) == 0) && !acct_origin_allowed(acct, origin))
        return errf(eb, ERR_FORBIDDEN, NULL, "origin not allowed for this account");
    *origin_ok = true;
    return ERR_OK;
}

/* ---- after the commit ---- */

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
static void remember_session(struct sescache *cache, const struct write_job *job,
                             uint32_t page_hash)
{
    struct sescache_entry e;
    if (!sescache_get(cache, job->session.ext_id, &e) || e.id != job->session.id)
        e = (struct sescache_entry){.id = job->session.id};
    e.account_id = job->session.account_id;
    if (page_hash)
        e.page_hash = page_hash;
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

/* After the commit of a new session's claims: held against its client's share, or (if the
 * client was recognised as a flood meanwhile) handed back at once. */
static void hold_claims(struct visit *v)
{
    for (int i = 0; i < v->n_claims; i++) {
        struct guard_hold h;
        if (v->claims[i].token &&
            guard_commit(v->app->guard, v->claims[i].token, v->job.session.id, &h))
            hand_back(v->app, &h, 1, v->now);
    }
}

/* A failed commit may still have written its rows (an I/O error after the write, a lost
 * acknowledgement): their deletion is queued on the writer before the claims are released, so a
 * claim the released numbers give to the next visitor is written after it. */
static void delete_unacknowledged(struct visit *v)
{
    if (!v->job.session.id || v->n_claims == 0)
        return;
    struct handback *hb = xcalloc(1, sizeof(*hb));
    for (int i = 0; i < v->n_claims; i++) {
        struct guard_hold *h = &hb->rows[hb->n++];
        h->account_id = v->job.session.account_id;
        h->session_id = v->job.session.id;
        h->number_id = v->claims[i].claim.number_id;
        h->undo.leased_at = v->claims[i].claim.leased_at;
    }
    hb->job.apply = handback_apply;
    hb->job.done = handback_done;
    writer_submit(v->app->writer, &hb->job);
}

static void committed(struct write_job *job)
{
    struct visit *v = (struct visit *)job;
    if (job->rc) {
        delete_unacknowledged(v);
        release_claims(v);
    } else
        hold_claims(v);
    if (!job->has_event) {
        if (job->rc)
            sescache_drop(v->app->sessions, job->session.ext_id);
        else
            remember_session(v->app->sessions, job, v->page_hash);
    }
    v->done(v->arg, job->rc, &v->res);
    free(v);
}

void visit_commit(struct visit *v, visit_done_fn done, void *arg)
{
    v->done = done;
    v->arg = arg;
    v->job.done = committed;
    writer_submit(v->app->writer, &v->job);
}

/* ---- picking numbers ---- */

static bool pool_serves(const struct st_pool *p, const char *target, const char *channel)
{
    if (strcmp(p->target, target) != 0)
        return false;
    return !p->has_channels || (p->channels & classify_channel_bit(channel)) != 0;
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
    const char *channel = v->res.src.channel;
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
    if (v->n_prev < VISITS_MAX_TARGETS)
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
    if (el->expires_at > v->res.expires_at)
        v->res.expires_at = el->expires_at;
    v->res.ttl_s = p->lease_ttl_s;
}

static void show_lease(struct visit_number *sh, const struct st_lease_claim *el)
{
    str_copy(sh->number, sizeof(sh->number), el->number);
    str_copy(sh->display, sizeof(sh->display), el->display);
    sh->kind = VISIT_POOL;
}

static void show_fallback(struct visit_number *sh, const struct st_pool *p)
{
    str_copy(sh->number, sizeof(sh->number),
             p->fallback_number[0] ? p->fallback_number : p->target);
    sh->kind = VISIT_FALLBACK;
}

/* A new session's place in its client's share of pool p. false: the session is answered
 * without a claim (a flood's fallback, or one of the client's own numbers). */
static bool guard_pool(struct visit *v, const struct st_pool *p, uint32_t pool_size,
                       struct visit_number *sh, int64_t now, uint64_t *token)
{
    *token = 0;
    if (!v->guarded)
        return true;
    struct guard_hold reuse = {0};
    if (!v->flood &&
        guard_reserve(v->app->guard, v->key_ptrs, v->n_keys, p->id, pool_size, now, token, &reuse))
        return true;
    metrics_count(v->app->metrics, "opendni_visit_sessions_cut_total",
                  "New sessions answered without a new pool lease (client over its share, or a "
                  "recognised flood)",
                  1);
    if (reuse.number_id) {
        str_copy(sh->number, sizeof(sh->number), reuse.number);
        str_copy(sh->display, sizeof(sh->display), reuse.display);
        sh->kind = VISIT_POOL;
    } else {
        show_fallback(sh, p);
    }
    return false;
}

/* Notes a new claim (taken back if the visit is not acknowledged) and fills its place in the
 * client's share. */
static void note_claim(struct visit *v, const struct st_pool *p, const struct st_lease_claim *el,
                       int rc, uint64_t token)
{
    bool held = rc == ERR_OK && el->undo.valid;
    if ((rc == ERR_OK || rc == ERR_EXHAUSTED) && el->undo.valid &&
        v->n_claims < VISITS_MAX_TARGETS) {
        v->claims[v->n_claims].pool_id = p->id;
        v->claims[v->n_claims].claim = *el;
        v->claims[v->n_claims].token = held ? token : 0;
        v->n_claims++;
    } else {
        held = false;
    }
    if (!held) {
        guard_cancel(v->app->guard, token);
        return;
    }
    struct guard_hold h = {.account_id = p->account_id,
                           .pool_id = p->id,
                           .number_id = el->number_id,
                           .expires_at = el->expires_at,
                           .undo = el->undo};
    str_copy(h.number, sizeof(h.number), el->number);
    str_copy(h.display, sizeof(h.display), el->display);
    str_copy(h.session_ext, sizeof(h.session_ext), v->job.session.ext_id);
    guard_fill(v->app->guard, token, &h);
}

/* Leases a number of pool p (of pool_size numbers) for the visit's session; falls back per the
 * pool's mode. */
static int lease_pool(struct visit *v, const struct st_pool *p, uint32_t pool_size,
                      struct visit_number *sh, int64_t now, struct errbuf *eb)
{
    v->now = now;
    uint64_t token = 0;
    if (!guard_pool(v, p, pool_size, sh, now, &token))
        return ERR_OK;
    struct st_lease_claim el;
    int rc = store_lease_claim(v->app->store, p->account_id, p->id, v->job.session.ext_id,
                               prev_number(v, p->id), now, &el);
    note_claim(v, p, &el, rc, token);
    if (rc == ERR_EXHAUSTED) {
        show_fallback(sh, p);
        return ERR_OK;
    }
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_BACKEND : rc, NULL, "pool '%s' cannot lease",
                    p->ext_id);
    show_lease(sh, &el);
    add_lease(v, p, &el, now);
    return ERR_OK;
}

static int pick_numbers(struct visit *v, const struct acct *acct, const struct classify_rule *rule,
                        const struct visit_in *in, int64_t now, struct errbuf *eb)
{
    for (int i = 0; i < in->n_targets; i++) {
        struct visit_number *sh = &v->res.numbers[v->res.n_numbers++];
        str_copy(sh->target, sizeof(sh->target), in->targets[i]);
        const struct st_number *src = rule_source(acct, rule, in->targets[i]);
        const struct st_pool *p = src ? NULL : choose_pool(v, acct, rule, in->targets[i]);
        if (src) {
            str_copy(sh->number, sizeof(sh->number), src->number);
            sh->kind = VISIT_SOURCE;
        } else if (p) {
            int rc = lease_pool(v, p, acct_pool_size(acct, p->id), sh, now, eb);
            if (rc)
                return rc;
            sh->version = acct_pool_version(acct, p->id);
        } else {
            str_copy(sh->number, sizeof(sh->number), in->targets[i]);
            sh->kind = VISIT_STATIC;
        }
    }
    return ERR_OK;
}

/* ---- page views ---- */

static void add_target(struct visit_in *in, const char *t)
{
    for (int i = 0; i < in->n_targets; i++)
        if (strcmp(in->targets[i], t) == 0)
            return;
    if (in->n_targets < VISITS_MAX_TARGETS && t[0])
        str_copy(in->targets[in->n_targets++], PHONE_E164_MAX, t);
}

static void all_targets(const struct acct *acct, struct visit_in *in)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        add_target(in, acct->pools[i].target);
    for (size_t i = 0; i < acct->n_sources; i++)
        add_target(in, acct->sources[i].target);
}

static void answer_bot(struct visit *v, const struct visit_in *in)
{
    v->res.bot = true;
    for (int i = 0; i < in->n_targets; i++) {
        struct visit_number *sh = &v->res.numbers[v->res.n_numbers++];
        str_copy(sh->target, sizeof(sh->target), in->targets[i]);
        str_copy(sh->number, sizeof(sh->number), in->targets[i]);
        sh->kind = VISIT_STATIC;
    }
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

int visit_click_ids_write(const struct source *src, struct buf *out)
{
    int rc = buf_addc(out, '{');
    bool first = true;
    for (int i = 0; rc == ERR_OK && i < CLICK_N; i++) {
        if (!src->click_ids[i][0])
            continue;
        if (!first)
            rc = buf_addc(out, ',');
        first = false;
        if (rc == ERR_OK)
            rc = json_buf_key(out, click_id_names[i]);
        if (rc == ERR_OK)
            rc = json_buf_str(out, src->click_ids[i]);
    }
    return rc ? rc : buf_addc(out, '}');
}

/* A visitor who opted out (GPC or DNT, as the account honours them): the number still swaps and
 * the session keeps its channel, source, medium, campaign and device, but no click ids,
 * referrer, landing page query, region or address (client key). */
static bool opted_out(const struct acct *acct, const struct visit_in *in)
{
    return (in->gpc && acct->honor_gpc) || (in->dnt && acct->honor_dnt);
}

static void strip_personal(struct st_session *ss)
{
    ss->landing_page[strcspn(ss->landing_page, "?#")] = '\0';
    ss->referrer[0] = ss->region[0] = ss->client_key[0] = '\0';
    snprintf(ss->click_ids, sizeof(ss->click_ids), "{}");
}

static void fill_session(struct st_session *ss, const struct source *src, const struct visit_in *in)
{
    if (region_valid(in->region))
        str_copy(ss->region, sizeof(ss->region), in->region);
    str_copy(ss->landing_page, sizeof(ss->landing_page), src->landing_page);
    str_copy(ss->referrer, sizeof(ss->referrer), in->referrer ? in->referrer : "");
    str_copy(ss->channel, sizeof(ss->channel), src->channel);
    str_copy(ss->source, sizeof(ss->source), src->source);
    str_copy(ss->medium, sizeof(ss->medium), src->medium);
    str_copy(ss->campaign, sizeof(ss->campaign), src->campaign);
    str_copy(ss->keyword, sizeof(ss->keyword), src->keyword);
    str_copy(ss->content, sizeof(ss->content), src->content);
    str_copy(ss->device, sizeof(ss->device), device_name(classify_device(in->user_agent)));
    client_key(in->client, ss->client_key, sizeof(ss->client_key)); /* "" when unknown */
    struct buf ids;
    buf_init(&ids, sizeof(ss->click_ids) - 1); /* too many to store: none stored, as before */
    if (visit_click_ids_write(src, &ids) == ERR_OK)
        memcpy(ss->click_ids, ids.data, ids.len + 1);
    buf_release(&ids);
}

static void source_from_session(struct source *src, const struct st_session *ss)
{
    memset(src, 0, sizeof(*src));
    str_copy(src->channel, sizeof(src->channel), ss->channel);
    str_copy(src->source, sizeof(src->source), ss->source);
    str_copy(src->medium, sizeof(src->medium), ss->medium);
    str_copy(src->campaign, sizeof(src->campaign), ss->campaign);
    str_copy(src->keyword, sizeof(src->keyword), ss->keyword);
    str_copy(src->content, sizeof(src->content), ss->content);
    str_copy(src->landing_page, sizeof(src->landing_page), ss->landing_page);
    json_t *ids = ss->click_ids[0] ? json_loads(ss->click_ids, 0, NULL) : NULL;
    for (int i = 0; ids && i < CLICK_N; i++) {
        const char *val = json_string_value(json_object_get(ids, click_id_names[i]));
        if (val)
            str_copy(src->click_ids[i], sizeof(src->click_ids[i]), val);
    }
    json_decref(ids);
}

/* The client's keys: its address key ("a:…", a /64 for IPv6) and its visitor id ("v:…"). */
static void client_keys(struct visit *v, const char *client, const char *visitor_id)
{
    char key[CLIENTADDR_MAX];
    clientaddr_key(client ? client : "", key, sizeof(key));
    snprintf(v->keys[0], sizeof(v->keys[0]), "a:%s", key);
    v->key_ptrs[0] = key[0] ? v->keys[0] : "";
    v->n_keys = 1;
    if (visitor_id && id_valid(visitor_id, STORE_ID_MAX - 1)) {
        snprintf(v->keys[1], sizeof(v->keys[1]), "v:%s", visitor_id);
        v->key_ptrs[1] = v->keys[1];
        v->n_keys = 2;
    }
}

/* A new session counts against its client; a flood's held numbers are handed back, and its
 * recognition is logged once per flood (and counted in /metrics). */
static void guard_session_start(struct visit *v, const struct visit_in *in, int64_t now)
{
    client_keys(v, in->client, in->visitor_id);
    v->guarded = true;
    struct guard_hold rel[GUARD_HOLDS];
    int n_rel = 0;
    bool newly = false;
    v->flood = guard_session(v->app->guard, v->key_ptrs, v->n_keys, now, &newly, rel, GUARD_HOLDS,
                             &n_rel) == GUARD_FLOOD;
    if (!newly)
        return;
    char masked[CLIENTADDR_MAX];
    log_warn("visits",
             "flood: client %s starts new sessions faster than %lld a minute; its new sessions "
             "get no pool number until %llds after its last, %d numbers taken back",
             log_mask(v->keys[0] + 2, masked, sizeof(masked)), v->app->cfg.client_new_sessions,
             v->app->cfg.flood_hold, n_rel);
    metrics_count(v->app->metrics, "opendni_visit_floods_total",
                  "Clients recognised as a flood of new sessions", 1);
    hand_back(v->app, rel, n_rel, now);
}

/* Loads the session the client sent back (same account), or sets up a new one. */
static int start_session(struct visit *v, const struct acct *acct, const struct visit_in *in,
                         int64_t now, int *retry_after_s, struct errbuf *eb)
{
    struct st_session *ss = &v->job.session;
    if (in->session_id && id_valid(in->session_id, STORE_ID_MAX - 1) &&
        store_session_get(v->app->store, in->session_id, ss) == ERR_OK &&
        ss->account_id == acct->id) {
        ss->last_active_at = now;
        v->job.touch_session = true;
        return ERR_OK;
    }
    memset(ss, 0, sizeof(*ss));
    guard_session_start(v, in, now);
    if (!v->flood && !ratelimit_take(v->app->session_limit, acct->ext_id, now, retry_after_s))
        return errf(eb, ERR_LIMITED, NULL, "too many new sessions for this account");
    if (in->new_session_id && id_valid(in->new_session_id, STORE_ID_MAX - 1))
        str_copy(ss->ext_id, sizeof(ss->ext_id), in->new_session_id);
    else
        id_new_sorted("s_", now, 20, ss->ext_id, sizeof(ss->ext_id)); /* 100 random bits */
    if (in->visitor_id && id_valid(in->visitor_id, STORE_ID_MAX - 1))
        str_copy(ss->visitor_id, sizeof(ss->visitor_id), in->visitor_id);
    else
        id_new_sorted("v_", now, 20, ss->visitor_id, sizeof(ss->visitor_id));
    ss->account_id = acct->id;
    ss->created_at = ss->last_active_at = now;
    return ERR_OK;
}

/* The answer's session fields, once the numbers are picked. */
static void finish_result(struct visit *v, int64_t now)
{
    if (!v->res.expires_at)
        v->res.expires_at = now + v->res.ttl_s * 1000;
    str_copy(v->res.session_id, sizeof(v->res.session_id), v->job.session.ext_id);
    str_copy(v->res.visitor_id, sizeof(v->res.visitor_id), v->job.session.visitor_id);
}

static int run_visit(struct visit *v, const struct acct *acct, struct visit_in *in, int64_t now,
                     int *retry_after_s, struct errbuf *eb)
{
    if (in->all_targets)
        all_targets(acct, in);
    if (classify_is_bot(in->user_agent)) {
        answer_bot(v, in);
        return ERR_OK;
    }
    int rule = -1;
    int rc = start_session(v, acct, in, now, retry_after_s, eb);
    /* A returning session keeps its landing source and its pools; a new one is classified from
     * this page. */
    bool returning = rc == ERR_OK && v->job.session.id;
    if (returning) {
        source_from_session(&v->res.src, &v->job.session);
        char path[STORE_PAGE_PATH_MAX];
        visits_page_path(in->url, path, sizeof(path));
        add_page_view(v, path, in->title, now, false); /* a page load: always a page view */
        rc = store_session_leases(v->app->store, v->job.session.account_id, v->job.session.id,
                                  add_prev, v);
    } else if (rc == ERR_OK) {
        rc = classify_visit(in->url, in->referrer, acct->rules, acct->n_rules, &v->res.src, &rule,
                            eb);
        if (rc == ERR_INVALID)
            eb->field = "url";
        if (rc == ERR_OK) {
            fill_session(&v->job.session, &v->res.src, in);
            char path[STORE_PAGE_PATH_MAX]; /* the landing page is the session's own row */
            visits_page_path(in->url, path, sizeof(path));
            v->page_hash = visits_page_hash(path);
        }
        if (rc == ERR_OK && rule >= 0) /* a location's rule: the visit's calls are its */
            str_copy(v->job.session.location, sizeof(v->job.session.location),
                     acct->rule_rows[rule].location);
        if (rc == ERR_OK && opted_out(acct, in))
            strip_personal(&v->job.session);
    }
    if (rc == ERR_OK)
        rc = pick_numbers(v, acct, rule >= 0 ? &acct->rules[rule] : NULL, in, now, eb);
    if (rc == ERR_OK)
        finish_result(v, now);
    return rc;
}

int visits_page_view(struct app *app, const struct visit_in *in, int64_t now, struct visit **out,
                     bool *origin_ok, int *retry_after_s, struct errbuf *eb)
{
    *out = NULL;
    *origin_ok = false;
    const struct acct *acct = NULL;
    int rc = accounts_get(app->accounts, in->account, now, &acct);
    if (rc == ERR_NOTFOUND)
        errf(eb, rc, "account", "unknown account");
    if (rc == ERR_OK)
        rc = check_origin(acct, in->origin, in->own_origin, origin_ok, eb);
    struct visit *v = NULL;
    if (rc == ERR_OK) {
        v = visit_new(app);
        struct visit_in copy = *in; /* all_targets fills the targets */
        rc = run_visit(v, acct, &copy, now, retry_after_s, eb);
        v->res.origin_ok = *origin_ok;
        if (rc == ERR_OK && !v->res.bot) /* the page views of alert.swap_miss_rate */
            traffic_count(app->traffic, acct->id, 1, 0);
    }
    accounts_put(app->accounts, acct);
    if (rc) {
        visit_free(v);
        return rc;
    }
    *out = v;
    return ERR_OK;
}

/* ---- ping and events ---- */

/* The session of session_ext (from the session cache, else the store: only id, ext_id and
 * account_id are set), with its account's snapshot and the origin checked. */
static int path_session(struct visit *v, const char *ext, const char *origin, const char *own,
                        struct sescache_entry *ce, const struct acct **acct, int64_t now,
                        bool *origin_ok, struct errbuf *eb)
{
    struct st_session *ss = &v->job.session;
    if (!id_valid(ext, STORE_ID_MAX - 1))
        return errf(eb, ERR_NOTFOUND, NULL, "unknown session");
    if (!sescache_get(v->app->sessions, ext, ce)) {
        if (store_session_get(v->app->store, ext, ss) != ERR_OK)
            return errf(eb, ERR_NOTFOUND, NULL, "unknown session");
        *ce = (struct sescache_entry){.id = ss->id, .account_id = ss->account_id};
        sescache_put(v->app->sessions, ext, ce);
    }
    ss->id = ce->id;
    ss->account_id = ce->account_id;
    str_copy(ss->ext_id, sizeof(ss->ext_id), ext);
    int rc = accounts_get_by_id(v->app->accounts, ss->account_id, now, acct);
    if (rc)
        return rc;
    rc = check_origin(*acct, origin, own, origin_ok, eb);
    v->res.origin_ok = *origin_ok;
    return rc;
}

struct ping_ctx {
    struct visit *v;
    const struct acct *acct;
    int64_t now;
    struct errbuf *eb;
    int rc;
};

static int ping_lease(void *arg, const struct st_lease *l)
{
    struct ping_ctx *pc = arg;
    struct visit *v = pc->v;
    const struct st_pool *p = acct_pool(pc->acct, l->pool_id);
    if (!p || v->res.n_numbers >= VISITS_MAX_TARGETS)
        return 0;
    struct visit_number *sh = &v->res.numbers[v->res.n_numbers++];
    str_copy(sh->target, sizeof(sh->target), p->target);
    struct st_lease_claim el;
    if (store_lease_touch(v->app->store, p->account_id, p->id, v->job.session.ext_id, pc->now,
                          &el) == ERR_OK) {
        show_lease(sh, &el);
        add_lease(v, p, &el, pc->now);
        return 0;
    }
    add_prev(v, l); /* the lease was lost: lease again, preferring the number it had */
    pc->rc = lease_pool(v, p, acct_pool_size(pc->acct, p->id), sh, pc->now, pc->eb);
    sh->version = acct_pool_version(pc->acct, p->id);
    return pc->rc;
}

/* Renews the session's live leases straight from the claims (no store read: +17 % pings/s).
 * Only when none is live does the ping read the session's pools from the store and lease again.
 * A session holding pools of different lease_ttl could keep one lease and lose another during
 * a long pause; that pool is leased again at the next page view rather than at this ping. */
static void touch_live(struct visit *v, const struct acct *acct, int64_t now)
{
    for (size_t i = 0; i < acct->n_pools && v->res.n_numbers < VISITS_MAX_TARGETS; i++) {
        const struct st_pool *p = &acct->pools[i];
        struct st_lease_claim el;
        if (store_lease_touch(v->app->store, p->account_id, p->id, v->job.session.ext_id, now,
                              &el) != ERR_OK)
            continue;
        struct visit_number *sh = &v->res.numbers[v->res.n_numbers++];
        str_copy(sh->target, sizeof(sh->target), p->target);
        show_lease(sh, &el);
        sh->version = acct_pool_version(acct, p->id);
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

int visits_ping(struct app *app, const char *session_ext, const char *origin,
                const char *own_origin, const char *client, const char *url, const char *title,
                int64_t now, struct visit **out, bool *origin_ok, struct errbuf *eb)
{
    *out = NULL;
    *origin_ok = false;
    struct visit *v = visit_new(app);
    v->res.is_ping = true;
    const struct acct *acct = NULL;
    struct sescache_entry ce;
    int rc = path_session(v, session_ext, origin, own_origin, &ce, &acct, now, origin_ok, eb);
    if (rc == ERR_OK) {
        client_keys(v, client, NULL);
        guard_proven(app->guard, v->key_ptrs, v->n_keys, session_ext, now);
        v->job.session.last_active_at = now;
        v->job.touch_session = true;
        touch_live(v, acct, now);
        if (v->res.n_numbers == 0) { /* no live lease: find the session's pools and lease again */
            struct ping_ctx pc = {v, acct, now, eb, ERR_OK};
            rc = store_session_leases(app->store, v->job.session.account_id, v->job.session.id,
                                      ping_lease, &pc);
            rc = rc ? rc : pc.rc;
        }
    }
    accounts_put(app->accounts, acct);
    if (rc) {
        visit_free(v);
        return rc;
    }
    finish_result(v, now);
    v->covered = stored_covers(&v->job, &ce);
    if (url) { /* another page than the latest stored one: a page view (dedupe: the store's) */
        char path[STORE_PAGE_PATH_MAX];
        visits_page_path(url, path, sizeof(path));
        if (visits_page_hash(path) != ce.page_hash) {
            add_page_view(v, path, title, now, true);
            v->covered = false;
        }
    }
    for (int i = 0; !v->covered && i < v->job.n_leases; i++)
        if (v->job.lease_renew[i])
            v->job.leases[i].expires_at += RENEW_AHEAD_MS;
    *out = v;
    return ERR_OK;
}

/* One of the account's fixed numbers: a target, a pool's fallback, a source number. */
static bool fixed_number(const struct acct *acct, const char *number)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        if (!strcmp(acct->pools[i].target, number) ||
            !strcmp(acct->pools[i].fallback_number, number))
            return true;
    for (size_t i = 0; i < acct->n_sources; i++)
        if (!strcmp(acct->sources[i].number, number) || !strcmp(acct->sources[i].target, number))
            return true;
    return false;
}

/* Whether session_id (of acct) was shown number (visits_event). ERR_OK with *shown, or the
 * store's error. */
static int number_shown(struct store *s, const struct acct *acct, int64_t session_id,
                        const char *number, bool *shown)
{
    *shown = fixed_number(acct, number);
    if (*shown)
        return ERR_OK;
    struct st_number n;
    int rc = store_number_by_e164(s, number, &n);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && n.account_id != acct->id))
        return ERR_OK;
    if (rc)
        return rc;
    if (!n.pool_id) { /* a source number of the account not in the snapshot yet */
        *shown = true;
        return ERR_OK;
    }
    return store_session_held(s, acct->id, session_id, n.id, shown);
}

static int check_event_number(struct visit *v, const struct acct *acct, const char *number,
                              struct errbuf *eb)
{
    bool shown = false;
    int rc = number_shown(v->app->store, acct, v->job.session.id, number, &shown);
    if (rc)
        return errf(eb, rc, NULL, "cannot check the event's number");
    if (!shown)
        return errf(eb, ERR_INVALID, "number", "'number' was not shown to this session");
    return ERR_OK;
}

/* lease_policy "new" (issue 20): a tap or copy of a pool number is noted on the session's
 * lease of it, so that the number rests longer once the lease ends (store_lease_note, core/pool
 * pool_note). Best effort: the event is what is kept; a lease that ended long ago, or a store
 * not serving, just is not noted. */
static void note_interest(struct store *s, const struct acct *acct, const char *session_ext,
                          const struct visit_event_in *e, int64_t now)
{
    if (!e->number || !e->number[0] ||
        (strcmp(e->type, "tel_click") != 0 && strcmp(e->type, "number_copy") != 0))
        return;
    struct st_number n;
    if (store_number_by_e164(s, e->number, &n) != ERR_OK || n.account_id != acct->id || !n.pool_id)
        return;
    int rc = store_lease_note(s, n.account_id, n.pool_id, session_ext, n.id, POOL_SIG_CLICK, now);
    if (rc && rc != ERR_NOTFOUND)
        log_debug("visit", "tap not noted on the lease: %s", err_str(rc));
}

int visits_event(struct app *app, const char *session_ext, const char *origin,
                 const char *own_origin, const struct visit_event_in *e, int64_t now,
                 struct visit **out, bool *origin_ok, struct errbuf *eb)
{
    *out = NULL;
    *origin_ok = false;
    if (strcmp(e->type, "ga_client") == 0 &&
        (!e->detail || !adplat_ga_detail_valid(e->detail) || (e->number && e->number[0])))
        return errf(eb, ERR_INVALID, "detail",
                    "a ga_client event's detail is the _ga client id (digits.digits), optionally "
                    "a space and the GA session id, and it has no number");
    struct visit *v = visit_new(app);
    const struct acct *acct = NULL;
    struct sescache_entry ce;
    int rc = path_session(v, session_ext, origin, own_origin, &ce, &acct, now, origin_ok, eb);
    if (rc == ERR_OK && e->number && e->number[0])
        rc = check_event_number(v, acct, e->number, eb);
    if (rc == ERR_OK && acct->lease_policy_new)
        note_interest(app->store, acct, session_ext, e, now);
    accounts_put(app->accounts, acct);
    if (rc) {
        visit_free(v);
        return rc;
    }
    struct st_event *ev = &v->job.event;
    str_copy(ev->type, sizeof(ev->type), e->type);
    str_copy(ev->number, sizeof(ev->number), e->number ? e->number : "");
    str_copy(ev->detail, sizeof(ev->detail), e->detail ? e->detail : "");
    ev->at = now;
    ev->account_id = v->job.session.account_id;
    v->job.has_event = true;
    /* A page where the tracker found none of the targets (not a custom selector's miss: that
     * page may still have swapped its numbers) counts for alert.swap_miss_rate. */
    if (strcmp(e->type, "swap_miss") == 0 && strncmp(ev->detail, "selector ", 9) != 0)
        traffic_count(app->traffic, v->job.session.account_id, 0, 1);
    *out = v;
    return ERR_OK;
}
