/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Calls while the store is away (see offline.h): the directory of numbers, accounts and
 * provider credentials; the spool records of calls and status reports (one JSON object a
 * line); the thread that replays them through the call service and keeps the directory fresh.
 * THREADING: o->mu guards the directory; o->pending_mu the spooled call ids; o->tick_mu the
 * thread's wake-up. The replay thread alone reads the spool. */
#include "base/prelude.h"
#include "app/offline.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/app.h"
#include "app/health.h"
#include "app/outbox.h"
#include "app/recordings.h"
#include "app/spool.h"
#include "store/store.h"

#define MAX_CREDS 8 /* providers per account */
#define ANSWER_SETTINGS_MAX 600

/* ==== the directory =========================================================================== */

struct dir_num {
    char number[STORE_E164_MAX];
    int64_t account_id, number_id, pool_id;
    bool fallback;
    char forward_to[STORE_E164_MAX];
};

/* An account as the directory keeps it: small (the directory holds every account), with only
 * the settings a call's answer needs (recording and its notice: answer_settings). */
struct dir_acct {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    uint64_t settings_hash; /* of the full settings the answer settings were made from */
    char *answer_settings;  /* JSON, malloc'd */
    size_t n_creds;
    struct st_provider_cred *creds; /* malloc'd, n_creds */
};

/* One open-addressing index (slot = position + 1, 0 = empty) over an array of entries. */
struct dir_index {
    uint32_t *slot;
    size_t cap; /* power of two, at least twice the entries */
};

struct directory {
    struct dir_num *nums;
    size_t n_nums, cap_nums;
    struct dir_acct *accts;
    size_t n_accts, cap_accts;
    struct dir_index by_number, by_account;
};

static uint64_t acct_hash(int64_t id)
{
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

static uint64_t key_hash(const struct directory *d, bool numbers, size_t i)
{
    return numbers ? hash_str(d->nums[i].number) : acct_hash(d->accts[i].id);
}

/* Rebuilds an index for n entries. */
static void index_build(struct directory *d, bool numbers)
{
    struct dir_index *x = numbers ? &d->by_number : &d->by_account;
    size_t n = numbers ? d->n_nums : d->n_accts;
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap *= 2;
    free(x->slot);
    x->slot = xcalloc(cap, sizeof(*x->slot));
    x->cap = cap;
    for (size_t i = 0; i < n; i++) {
        size_t s = key_hash(d, numbers, i) & (cap - 1);
        while (x->slot[s])
            s = (s + 1) & (cap - 1);
        x->slot[s] = (uint32_t)(i + 1);
    }
}

static struct dir_num *find_num(struct directory *d, const char *number)
{
    if (!d->by_number.cap)
        return NULL;
    size_t mask = d->by_number.cap - 1;
    for (size_t s = hash_str(number) & mask; d->by_number.slot[s]; s = (s + 1) & mask) {
        struct dir_num *e = &d->nums[d->by_number.slot[s] - 1];
        if (strcmp(e->number, number) == 0)
            return e;
    }
    return NULL;
}

static struct dir_acct *find_acct(struct directory *d, int64_t id)
{
    if (!d->by_account.cap)
        return NULL;
    size_t mask = d->by_account.cap - 1;
    for (size_t s = acct_hash(id) & mask; d->by_account.slot[s]; s = (s + 1) & mask) {
        struct dir_acct *e = &d->accts[d->by_account.slot[s] - 1];
        if (e->id == id)
            return e;
    }
    return NULL;
}

/* The entry for number, added when missing. */
static struct dir_num *put_num(struct directory *d, const char *number)
{
    struct dir_num *e = find_num(d, number);
    if (e)
        return e;
    if (d->n_nums == d->cap_nums) {
        d->cap_nums = d->cap_nums ? d->cap_nums * 2 : 256;
        d->nums = xrealloc(d->nums, d->cap_nums * sizeof(*d->nums));
    }
    e = &d->nums[d->n_nums++];
    memset(e, 0, sizeof(*e));
    snprintf(e->number, sizeof(e->number), "%s", number);
    if (2 * d->n_nums + 2 > d->by_number.cap)
        index_build(d, true);
    else {
        size_t mask = d->by_number.cap - 1;
        size_t s = hash_str(number) & mask;
        while (d->by_number.slot[s])
            s = (s + 1) & mask;
        d->by_number.slot[s] = (uint32_t)d->n_nums;
    }
    return e;
}

/* The part of an account's settings a call's answer reads (calls_answer_for), as JSON. */
static char *answer_settings(const struct st_account *a)
{
    struct calls_settings cs;
    struct errbuf eb = {{0}, NULL};
    calls_settings_parse(a->settings, &cs, &eb); /* defaults when they do not parse */
    char *j = NULL;
    json_t *v = json_pack("{s:b,s:s}", "record_calls", cs.record, "record_notice", cs.notice);
    if (v)
        j = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return j ? j : xstrdup("");
}

static void set_acct(struct dir_acct *e, const struct st_account *a)
{
    uint64_t h = hash_str(a->settings);
    snprintf(e->ext_id, sizeof(e->ext_id), "%s", a->ext_id);
    if (e->answer_settings && e->settings_hash == h)
        return; /* unchanged: no parse per webhook */
    free(e->answer_settings);
    e->answer_settings = answer_settings(a);
    e->settings_hash = h;
}

static struct dir_acct *put_acct(struct directory *d, const struct st_account *a)
{
    struct dir_acct *e = find_acct(d, a->id);
    if (e) {
        set_acct(e, a);
        return e;
    }
    if (d->n_accts == d->cap_accts) {
        d->cap_accts = d->cap_accts ? d->cap_accts * 2 : 64;
        d->accts = xrealloc(d->accts, d->cap_accts * sizeof(*d->accts));
    }
    e = &d->accts[d->n_accts++];
    memset(e, 0, sizeof(*e));
    e->id = a->id;
    set_acct(e, a);
    if (2 * d->n_accts + 2 > d->by_account.cap)
        index_build(d, false);
    else {
        size_t mask = d->by_account.cap - 1;
        size_t s = acct_hash(a->id) & mask;
        while (d->by_account.slot[s])
            s = (s + 1) & mask;
        d->by_account.slot[s] = (uint32_t)d->n_accts;
    }
    return e;
}

static void put_cred(struct dir_acct *e, const struct st_provider_cred *c)
{
    size_t i = 0;
    while (i < e->n_creds && strcmp(e->creds[i].provider, c->provider) != 0)
        i++;
    if (i == MAX_CREDS)
        return;
    if (i == e->n_creds)
        e->creds = xrealloc(e->creds, ++e->n_creds * sizeof(*e->creds));
    e->creds[i] = *c;
}

static void dir_free(struct directory *d)
{
    if (!d)
        return;
    free(d->nums);
    for (size_t i = 0; i < d->n_accts; i++) {
        free(d->accts[i].answer_settings);
        free(d->accts[i].creds);
    }
    free(d->accts);
    free(d->by_number.slot);
    free(d->by_account.slot);
    free(d);
}

/* ==== struct offline ========================================================================== */

struct offline {
    struct app *app;
    struct spool *spool;
    pthread_mutex_t mu; /* the directory */
    struct directory *dir;
    int64_t loaded_at;      /* monotonic ms of the last full load, 0 = never */
    int64_t config_version; /* the store's, at that load */
    pthread_mutex_t pending_mu;
    char **pending; /* "provider:call id" of spooled voice webhooks not yet replayed */
    size_t n_pending, cap_pending;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick;
    bool stop;
    pthread_t thread;
    uint64_t dropped; /* records given up on (replay thread only, read racily for metrics) */
    atomic_int_fast64_t spooled_at; /* time_now_ms of the last append, 0 = none */
    int replay_fails;               /* replays in a row that stopped on a store failure */
    uint64_t progress;              /* records written or given up on (requeued ones are not) */
    bool requeued;                  /* the record being replayed was spooled again */
    int64_t replay_after; /* monotonic ms: no replay before (backs off to 5 s while failing) */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- loading the directory from the store ---- */

struct loader {
    struct store *s;
    struct directory *d;
    struct st_pool *pools;
    size_t n_pools, cap_pools;
    int64_t account_id;
};

static int load_pool(void *ctx, const struct st_pool *p)
{
    struct loader *l = ctx;
    if (l->n_pools == l->cap_pools) {
        l->cap_pools = l->cap_pools ? l->cap_pools * 2 : 16;
        l->pools = xrealloc(l->pools, l->cap_pools * sizeof(*l->pools));
    }
    l->pools[l->n_pools++] = *p;
    return 0;
}

static const struct st_pool *pool_of(const struct loader *l, int64_t id)
{
    for (size_t i = 0; i < l->n_pools; i++)
        if (l->pools[i].id == id)
            return &l->pools[i];
    return NULL;
}

/* The pool's forward destination (calls.c forward_of): its forward_to, else its target. */
static const char *pool_forward(const struct st_pool *p)
{
    return p->forward_to[0] ? p->forward_to : p->target;
}

static int load_number(void *ctx, const struct st_number *n)
{
    struct loader *l = ctx;
    struct dir_num *e = put_num(l->d, n->number);
    const struct st_pool *p = n->pool_id ? pool_of(l, n->pool_id) : NULL;
    e->account_id = n->account_id;
    e->number_id = n->id;
    e->pool_id = n->pool_id;
    e->fallback = false;
    snprintf(e->forward_to, sizeof(e->forward_to), "%s",
             n->forward_to[0] ? n->forward_to
             : p              ? pool_forward(p)
                              : "");
    return 0;
}

static int load_cred(void *ctx, const struct st_provider_cred *c)
{
    struct loader *l = ctx;
    struct dir_acct *e = find_acct(l->d, c->account_id);
    if (e)
        put_cred(e, c);
    return 0;
}

static int load_account(void *ctx, const struct st_account *a)
{
    struct loader *l = ctx;
    put_acct(l->d, a);
    l->n_pools = 0;
    int rc = store_pool_list(l->s, a->id, load_pool, l);
    for (size_t i = 0; rc == ERR_OK && i < l->n_pools; i++) {
        const struct st_pool *p = &l->pools[i];
        if (!p->fallback_number[0] || find_num(l->d, p->fallback_number))
            continue; /* a tracking number wins over a fallback number (calls_resolve) */
        struct dir_num *e = put_num(l->d, p->fallback_number);
        *e = (struct dir_num){.account_id = a->id, .pool_id = p->id, .fallback = true};
        snprintf(e->number, sizeof(e->number), "%s", p->fallback_number);
        snprintf(e->forward_to, sizeof(e->forward_to), "%s", pool_forward(p));
    }
    if (rc == ERR_OK)
        rc = store_number_list(l->s, a->id, 0, load_number, l);
    if (rc == ERR_OK) {
        int crc = store_provider_cred_list(l->s, a->id, load_cred, l);
        if (crc != ERR_OK && crc != ERR_NOTFOUND) /* a secret that cannot be opened: skip */
            log_warn("calls",
                     "directory: account %s: cannot read its provider credentials "
                     "(%s)",
                     a->ext_id, err_str(crc));
    }
    return rc ? 1 : 0;
}

/* Loads a whole new directory and swaps it in. ERR_OK or the store's failure. */
static int reload(struct offline *o, int64_t version)
{
    struct store *s = o->app->store;
    struct loader l = {.s = s, .d = xcalloc(1, sizeof(struct directory))};
    index_build(l.d, true);
    index_build(l.d, false);
    bool reading = store_read_begin(s) == ERR_OK;
    int rc = store_account_list(s, load_account, &l);
    if (reading)
        store_read_end(s);
    free(l.pools);
    if (rc) {
        dir_free(l.d);
        return rc;
    }
    pthread_mutex_lock(&o->mu);
    struct directory *old = o->dir;
    o->dir = l.d;
    o->loaded_at = mono_ms();
    o->config_version = version;
    pthread_mutex_unlock(&o->mu);
    dir_free(old);
    log_debug("calls", "directory loaded: %zu numbers, %zu accounts", l.d->n_nums, l.d->n_accts);
    return ERR_OK;
}

/* Reloads when the configuration moved (or every OFFLINE_RELOAD_MS). */
static void maybe_reload(struct offline *o)
{
    int64_t v = 0;
    int vrc = store_config_version(o->app->store, &v);
    if (vrc != ERR_OK && vrc != ERR_UNSUPPORTED)
        return; /* the store is away: keep what we have */
    pthread_mutex_lock(&o->mu);
    int64_t age = mono_ms() - o->loaded_at;
    bool due = !o->loaded_at || age >= OFFLINE_RELOAD_MS ||
               (vrc == ERR_OK && v != o->config_version && age >= OFFLINE_RELOAD_MIN_MS);
    pthread_mutex_unlock(&o->mu);
    if (due && reload(o, v) != ERR_OK)
        log_debug("calls", "directory not reloaded: the store did not answer");
}

/* ---- notes and lookups ---- */

void offline_note(struct offline *o, const char *to, const struct calls_target *t,
                  const struct st_account *acct)
{
    if (!o || !t->account_id)
        return;
    char fwd[STORE_E164_MAX];
    calls_forward_of(t, fwd);
    pthread_mutex_lock(&o->mu);
    struct dir_num *e = put_num(o->dir, to);
    e->account_id = t->account_id;
    e->number_id = t->number.id;
    e->pool_id = t->pool.id ? t->pool.id : t->number.pool_id;
    e->fallback = t->fallback;
    snprintf(e->forward_to, sizeof(e->forward_to), "%s", fwd);
    put_acct(o->dir, acct);
    pthread_mutex_unlock(&o->mu);
}

void offline_note_cred(struct offline *o, const struct st_provider_cred *c)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    struct dir_acct *e = find_acct(o->dir, c->account_id);
    if (e)
        put_cred(e, c);
    pthread_mutex_unlock(&o->mu);
}

/* The account as callers see it: id, ext id and the settings its calls' answers need. */
static void acct_out(const struct dir_acct *a, struct st_account *acct)
{
    memset(acct, 0, sizeof(*acct));
    acct->id = a->id;
    snprintf(acct->ext_id, sizeof(acct->ext_id), "%s", a->ext_id);
    snprintf(acct->settings, sizeof(acct->settings), "%s", a->answer_settings);
}

int offline_lookup(struct offline *o, const char *to, struct calls_target *t,
                   struct st_account *acct)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_lock(&o->mu);
    const struct dir_num *e = find_num(o->dir, to);
    const struct dir_acct *a = e ? find_acct(o->dir, e->account_id) : NULL;
    if (a) {
        t->account_id = e->account_id;
        t->fallback = e->fallback;
        t->pool.id = e->pool_id;
        t->pool.account_id = e->account_id;
        snprintf(t->pool.forward_to, sizeof(t->pool.forward_to), "%s", e->forward_to);
        if (!e->fallback) {
            t->number.id = e->number_id;
            t->number.account_id = e->account_id;
            t->number.pool_id = e->pool_id;
            snprintf(t->number.number, sizeof(t->number.number), "%s", e->number);
            snprintf(t->number.forward_to, sizeof(t->number.forward_to), "%s", e->forward_to);
        }
        acct_out(a, acct);
    }
    pthread_mutex_unlock(&o->mu);
    return a ? ERR_OK : ERR_NOTFOUND;
}

int offline_account(struct offline *o, int64_t account_id, struct st_account *acct)
{
    pthread_mutex_lock(&o->mu);
    const struct dir_acct *a = find_acct(o->dir, account_id);
    if (a)
        acct_out(a, acct);
    pthread_mutex_unlock(&o->mu);
    return a ? ERR_OK : ERR_NOTFOUND;
}

int offline_cred_get(struct offline *o, int64_t account_id, const char *provider,
                     struct st_provider_cred *c)
{
    int rc = ERR_NOTFOUND;
    pthread_mutex_lock(&o->mu);
    const struct dir_acct *a = find_acct(o->dir, account_id);
    for (size_t i = 0; a && i < a->n_creds && rc; i++) {
        if (strcmp(a->creds[i].provider, provider) == 0) {
            *c = a->creds[i];
            rc = ERR_OK;
        }
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int offline_cred_find(struct offline *o, const char *provider, const char *account_sid,
                      store_provider_cred_fn fn, void *ctx)
{
    /* copied out first: fn runs without the lock (it checks signatures) */
    struct st_provider_cred *found = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->dir->n_accts; i++) {
        const struct dir_acct *a = &o->dir->accts[i];
        for (size_t j = 0; j < a->n_creds; j++) {
            const struct st_provider_cred *c = &a->creds[j];
            if (strcmp(c->provider, provider) != 0 ||
                (account_sid && strcmp(c->account_sid, account_sid) != 0))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                found = xrealloc(found, cap * sizeof(*found));
            }
            found[n++] = *c;
        }
    }
    pthread_mutex_unlock(&o->mu);
    for (size_t i = 0; i < n && !fn(ctx, &found[i]); i++)
        ;
    free(found);
    return ERR_OK;
}

/* ==== the spool's records ===================================================================== */

static void pending_key(const char *provider, const char *call_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s:%s", provider, call_id);
}

static void pending_add(struct offline *o, const char *provider, const char *call_id)
{
    char key[160];
    pending_key(provider, call_id, key, sizeof(key));
    pthread_mutex_lock(&o->pending_mu);
    if (o->n_pending == o->cap_pending) {
        o->cap_pending = o->cap_pending ? o->cap_pending * 2 : 64;
        o->pending = xrealloc(o->pending, o->cap_pending * sizeof(*o->pending));
    }
    o->pending[o->n_pending++] = xstrdup(key);
    pthread_mutex_unlock(&o->pending_mu);
}

static void pending_drop(struct offline *o, const char *provider, const char *call_id)
{
    char key[160];
    pending_key(provider, call_id, key, sizeof(key));
    pthread_mutex_lock(&o->pending_mu);
    for (size_t i = 0; i < o->n_pending; i++) {
        if (strcmp(o->pending[i], key) != 0)
            continue;
        free(o->pending[i]);
        o->pending[i] = o->pending[--o->n_pending];
        break;
    }
    pthread_mutex_unlock(&o->pending_mu);
}

bool offline_recent(struct offline *o, int64_t now)
{
    if (!o)
        return false;
    int64_t failed = health_failed_at(o->app->health);
    int64_t spooled = atomic_load(&o->spooled_at);
    return (failed && now - failed < OFFLINE_ORPHAN_MS) ||
           (spooled && now - spooled < OFFLINE_ORPHAN_MS);
}

bool offline_has_call(struct offline *o, const char *provider, const char *call_id)
{
    if (!o || !call_id || !call_id[0])
        return false;
    char key[160];
    pending_key(provider, call_id, key, sizeof(key));
    bool found = false;
    pthread_mutex_lock(&o->pending_mu);
    for (size_t i = 0; i < o->n_pending && !found; i++)
        found = strcmp(o->pending[i], key) == 0;
    pthread_mutex_unlock(&o->pending_mu);
    return found;
}

/* Appends v (consumed) to the spool. */
static int spool_json(struct offline *o, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!s)
        return ERR_NOMEM;
    int rc = spool_append(o->spool, s, strlen(s));
    free(s);
    atomic_store(&o->spooled_at, time_now_ms());
    if (rc)
        log_error("calls", "cannot spool a webhook: it was acknowledged, but is not kept");
    return rc;
}

int offline_spool_voice(struct offline *o, int64_t account_id, const struct calls_inbound *in,
                        const struct calls_answer *ans)
{
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:b}", "k", "voice", "p", in->provider,
                          "sid", in->provider_call_id, "to", in->to, "from",
                          in->from ? in->from : "", "at", (json_int_t)in->at, "acct",
                          (json_int_t)account_id, "fwd", ans->forward_to, "rec", ans->record);
    int rc = spool_json(o, v);
    if (rc == ERR_OK) {
        pending_add(o, in->provider, in->provider_call_id);
        log_warn("calls", "call %s spooled: the store cannot take it now", in->provider_call_id);
    }
    return rc;
}

static json_t *report_json(const struct call_report *u, int64_t at)
{
    return json_pack("{s:s,s:i,s:o,s:I,s:I,s:I,s:I}", "k", "status", "leg", (int)u->leg, "st",
                     u->status ? json_string(u->status) : json_null(), "dur",
                     (json_int_t)u->duration_s, "seq", (json_int_t)u->seq, "at", (json_int_t)at,
                     "first", (json_int_t)at);
}

int offline_spool_status(struct offline *o, int64_t account_id, const char *provider,
                         const char *call_id, const char *parent_call_id, bool dial,
                         const struct call_report *u, int64_t at)
{
    json_t *v = report_json(u, at);
    json_object_set_new(v, "p", json_string(provider));
    json_object_set_new(v, "sid", json_string(call_id ? call_id : ""));
    json_object_set_new(v, "parent", json_string(parent_call_id ? parent_call_id : ""));
    json_object_set_new(v, "dial", json_boolean(dial));
    json_object_set_new(v, "acct", json_integer(account_id));
    return spool_json(o, v);
}

int offline_spool_update(struct offline *o, int64_t call_id, const struct call_report *u,
                         int64_t at)
{
    json_t *v = report_json(u, at);
    json_object_set_new(v, "cid", json_integer(call_id));
    return spool_json(o, v);
}

int offline_spool_recording(struct offline *o, int64_t account_id, const char *provider,
                            const char *provider_call_id, const char *parent_call_id,
                            int64_t call_id, const char *url, int64_t duration_s, int64_t at)
{
    if (!o)
        return ERR_IO;
    json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "k", "recording", "p", provider,
                          "sid", provider_call_id ? provider_call_id : "", "parent",
                          parent_call_id ? parent_call_id : "", "acct", (json_int_t)account_id,
                          "cid", (json_int_t)call_id, "url", url, "dur", (json_int_t)duration_s,
                          "first", (json_int_t)at);
    return spool_json(o, v);
}

/* ==== replaying =============================================================================== */

#define REPLAY_STOP ERR_BACKEND /* the store failed: stop here, retry at the next tick */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t jint(json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static void drop(struct offline *o, const char *why, const char *call_id)
{
    o->dropped++;
    log_warn("calls", "spooled record for call %s dropped: %s", call_id, why);
}

/* The owner of `to` now; a number that moved or went is stored for acct, unattributed. */
static int replay_target(struct app *app, const char *to, const struct st_account *acct,
                         struct calls_target *t)
{
    int rc = calls_resolve(app, to, t);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && t->account_id != acct->id)) {
        memset(t, 0, sizeof(*t));
        t->account_id = acct->id;
        return ERR_OK;
    }
    return rc;
}

static int replay_voice(struct offline *o, json_t *r)
{
    struct app *app = o->app;
    struct calls_inbound in = {jstr(r, "p"), jstr(r, "sid"), jstr(r, "to"), jstr(r, "from"),
                               jint(r, "at")};
    struct st_account acct;
    int rc = calls_account(app, jint(r, "acct"), &acct);
    if (rc == ERR_NOTFOUND) {
        drop(o, "its account was deleted", in.provider_call_id);
        pending_drop(o, in.provider, in.provider_call_id);
        return ERR_OK;
    }
    struct calls_target t;
    if (rc == ERR_OK)
        rc = replay_target(app, in.to, &acct, &t);
    if (rc)
        return REPLAY_STOP;
    struct st_call call;
    struct calls_answer ans;
    rc = calls_prepare(app, &acct, &t, &in, &call, &ans);
    if (rc == CALLS_TO_STORE) {
        /* what the caller got is what the call records */
        snprintf(call.forwarded_to, sizeof(call.forwarded_to), "%s", jstr(r, "fwd"));
        call.recorded = json_is_true(json_object_get(r, "rec"));
        int inserted = store_begin(app->store);
        if (inserted == ERR_OK) {
            inserted = calls_insert(app, app->store, &call);
            if (inserted == ERR_OK)
                inserted = store_commit(app->store);
            if (inserted)
                store_rollback(app->store);
        }
        rc = calls_inserted(app, &acct, &in, inserted, &call, &ans);
        if (inserted == ERR_OK) {
            calls_publish_inserted(app, &call);
            outbox_wake(app->outbox);
        }
    }
    if (rc == ERR_CONFLICT) /* another account's call id: answered, never stored (calls.c) */
        rc = ERR_OK;
    if (rc)
        return REPLAY_STOP;
    pending_drop(o, in.provider, in.provider_call_id);
    return ERR_OK;
}

/* Spools a status record again for a later pass (its call is not stored yet). */
static int requeue(struct offline *o, json_t *r)
{
    o->requeued = true;
    return spool_json(o, json_incref(r)) == ERR_OK ? ERR_OK : REPLAY_STOP;
}

/* The stored call a spooled record is about: its "cid", else the call of its provider id "sid",
 * else of its "parent" (out: *by_parent). Returns true with *call_id; false when there is none
 * to act on, with *out the record's outcome: requeued while its call may still be stored,
 * dropped when it never will be or is another account's (ERR_OK), REPLAY_STOP on a store
 * error. */
static bool spooled_call(struct offline *o, json_t *r, int64_t *call_id, bool *by_parent, int *out)
{
    *call_id = jint(r, "cid");
    *by_parent = false;
    if (*call_id)
        return true;
    const char *provider = jstr(r, "p");
    const char *sid = jstr(r, "sid");
    const char *parent = jstr(r, "parent");
    struct st_call c;
    int rc = calls_by_provider(o->app, provider, sid, &c);
    if (rc == ERR_NOTFOUND && parent[0]) {
        rc = calls_by_provider(o->app, provider, parent, &c);
        *by_parent = true;
    }
    if (rc == ERR_NOTFOUND) {
        bool waiting = offline_has_call(o, provider, sid) || offline_has_call(o, provider, parent);
        if (waiting || time_now_ms() - jint(r, "first") < OFFLINE_ORPHAN_MS) {
            *out = requeue(o, r);
        } else {
            drop(o, "no such call was stored", sid);
            *out = ERR_OK;
        }
        return false;
    }
    if (rc) {
        *out = REPLAY_STOP;
        return false;
    }
    if (c.account_id != jint(r, "acct")) {
        drop(o, "the call is another account's", sid);
        *out = ERR_OK;
        return false;
    }
    *call_id = c.id;
    return true;
}

static int replay_status(struct offline *o, json_t *r)
{
    struct call_report u = {(enum call_leg)jint(r, "leg"),
                            json_string_value(json_object_get(r, "st")), jint(r, "dur"),
                            jint(r, "seq")};
    int64_t call_id;
    bool by_parent;
    int out;
    if (!spooled_call(o, r, &call_id, &by_parent, &out))
        return out;
    if (by_parent)
        u.leg = CALL_LEG_DIALED;
    int rc = calls_update(o->app, jint(r, "acct"), call_id, &u, jint(r, "at"), NULL);
    return rc == ERR_OK || rc == ERR_NOTFOUND ? ERR_OK : REPLAY_STOP;
}

/* A recording callback: its call found as replay_status finds one, then recordings_put. */
static int replay_recording(struct offline *o, json_t *r)
{
    struct app *app = o->app;
    int64_t account_id = jint(r, "acct");
    const char *sid = jstr(r, "sid");
    int64_t call_id;
    bool by_parent;
    int out;
    if (!spooled_call(o, r, &call_id, &by_parent, &out))
        return out;
    int rc = recordings_put(app, account_id, call_id, jstr(r, "url"), jint(r, "dur"));
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) { /* another account's, or gone since */
        drop(o, "the recording's call is not the account's", sid[0] ? sid : "?");
        return ERR_OK;
    }
    return rc == ERR_OK ? ERR_OK : REPLAY_STOP;
}

static bool stopping(struct offline *o)
{
    pthread_mutex_lock(&o->tick_mu);
    bool stop = o->stop;
    pthread_mutex_unlock(&o->tick_mu);
    return stop;
}

static int replay_one(void *ctx, const char *rec)
{
    struct offline *o = ctx;
    if (stopping(o))
        return ERR_UNAVAILABLE; /* shutting down: the rest waits for the next start */
    json_t *r = json_loads(rec, 0, NULL);
    const char *kind = jstr(r, "k");
    int rc = ERR_OK;
    o->requeued = false;
    if (!strcmp(kind, "voice"))
        rc = replay_voice(o, r);
    else if (!strcmp(kind, "status"))
        rc = replay_status(o, r);
    else if (!strcmp(kind, "recording"))
        rc = replay_recording(o, r);
    else
        drop(o, "unreadable record", "?");
    json_decref(r);
    if (rc == ERR_OK && !o->requeued)
        o->progress++;
    return rc;
}

static void replay(struct offline *o)
{
    struct spool_stats st;
    spool_stats(o->spool, &st);
    if (!st.records)
        return;
    struct errbuf eb = {{0}, NULL};
    if (mono_ms() < o->replay_after ||
        health_ready(o->app->health, o->app->store, time_now_ms(), &eb) != ERR_OK)
        return; /* not yet: the store cannot commit */
    uint64_t n = 0;
    uint64_t progress = o->progress;
    int rc = spool_replay(o->spool, replay_one, o, &n);
    o->replay_fails = rc ? o->replay_fails + 1 : 0;
    o->replay_after = mono_ms() + (o->replay_fails < 5 ? o->replay_fails : 5) * 1000;
    if (rc == ERR_OK && o->progress == progress) /* only reports waiting for their calls */
        o->replay_after = mono_ms() + OFFLINE_ORPHAN_RETRY_MS;
    if (n)
        log_info("calls", "%" PRIu64 " spooled webhooks written to the store%s", n,
                 rc ? "; the rest waits" : "");
}

/* ---- the thread ---- */

static void *run(void *arg)
{
    struct offline *o = arg;
    prctl(PR_SET_NAME, "od-offline", 0, 0, 0);
    pthread_mutex_lock(&o->tick_mu);
    while (!o->stop) {
        pthread_mutex_unlock(&o->tick_mu);
        replay(o);
        maybe_reload(o);
        pthread_mutex_lock(&o->tick_mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += OFFLINE_TICK_MS / 1000;
        while (!o->stop && pthread_cond_timedwait(&o->tick, &o->tick_mu, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&o->tick_mu);
    return NULL;
}

/* Rebuilds the spooled call ids of records an earlier run left. */
static int note_pending(void *ctx, const char *rec)
{
    struct offline *o = ctx;
    json_t *r = json_loads(rec, 0, NULL);
    if (!strcmp(jstr(r, "k"), "voice"))
        pending_add(o, jstr(r, "p"), jstr(r, "sid"));
    json_decref(r);
    return ERR_OK;
}

int offline_start(struct app *app, const char *spool_dir, struct offline **out, struct errbuf *eb)
{
    struct spool *sp = NULL;
    int rc = spool_open(spool_dir, &sp, eb);
    if (rc)
        return rc;
    struct offline *o = xcalloc(1, sizeof(*o));
    o->app = app;
    o->spool = sp;
    o->dir = xcalloc(1, sizeof(*o->dir));
    index_build(o->dir, true);
    index_build(o->dir, false);
    pthread_mutex_init(&o->mu, NULL);
    pthread_mutex_init(&o->pending_mu, NULL);
    pthread_mutex_init(&o->tick_mu, NULL);
    pthread_cond_init(&o->tick, NULL);
    spool_each(sp, note_pending, o);
    maybe_reload(o);
    if (pthread_create(&o->thread, NULL, run, o) != 0) {
        log_error("calls", "cannot start the spool thread");
        abort();
    }
    *out = o;
    return ERR_OK;
}

void offline_stop(struct offline *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->tick_mu);
    o->stop = true;
    pthread_cond_signal(&o->tick);
    pthread_mutex_unlock(&o->tick_mu);
    pthread_join(o->thread, NULL);
    spool_close(o->spool);
    dir_free(o->dir);
    for (size_t i = 0; i < o->n_pending; i++)
        free(o->pending[i]);
    free(o->pending);
    pthread_mutex_destroy(&o->mu);
    pthread_mutex_destroy(&o->pending_mu);
    pthread_mutex_destroy(&o->tick_mu);
    pthread_cond_destroy(&o->tick);
    free(o);
}

void offline_metrics(struct offline *o, struct buf *out)
{
    if (!o)
        return;
    struct spool_stats st;
    spool_stats(o->spool, &st);
    int64_t age = st.oldest_at ? (time_now_ms() - st.oldest_at) / 1000 : 0;
    pthread_mutex_lock(&o->mu);
    size_t n_numbers = o->dir->n_nums;
    pthread_mutex_unlock(&o->mu);
    buf_addf(
        out,
        "# HELP opendni_spool_depth Webhooks acknowledged while the store could not take "
        "them, waiting in the local spool.\n"
        "# TYPE opendni_spool_depth gauge\nopendni_spool_depth %" PRIu64 "\n"
        "# HELP opendni_spool_bytes Size of the records waiting in the spool.\n"
        "# TYPE opendni_spool_bytes gauge\nopendni_spool_bytes %" PRIu64 "\n"
        "# HELP opendni_spool_oldest_seconds Age of the oldest waiting record (0: none).\n"
        "# TYPE opendni_spool_oldest_seconds gauge\nopendni_spool_oldest_seconds %" PRId64 "\n"
        "# HELP opendni_spool_appended_total Records written to the spool.\n"
        "# TYPE opendni_spool_appended_total counter\nopendni_spool_appended_total %" PRIu64 "\n"
        "# HELP opendni_spool_replayed_total Spooled records written to the store.\n"
        "# TYPE opendni_spool_replayed_total counter\nopendni_spool_replayed_total %" PRIu64 "\n"
        "# HELP opendni_spool_failures_total Webhooks acknowledged that the spool could "
        "not keep (disk full, I/O error).\n"
        "# TYPE opendni_spool_failures_total counter\nopendni_spool_failures_total %" PRIu64 "\n"
        "# HELP opendni_spool_dropped_total Spooled records given up on (their call or "
        "account is gone).\n"
        "# TYPE opendni_spool_dropped_total counter\nopendni_spool_dropped_total %" PRIu64 "\n"
        "# HELP opendni_directory_numbers Numbers this node can forward without the store.\n"
        "# TYPE opendni_directory_numbers gauge\nopendni_directory_numbers %zu\n",
        st.records, st.bytes, age > 0 ? age : 0, st.appended, st.replayed, st.failed, o->dropped,
        n_numbers);
}
