/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin use cases (see admin.h): store writes followed by what keeps the visit path in step
 * (the account snapshots; the store keeps its lease claims in step itself). */
#include "base/prelude.h"
#include "app/admin.h"

#include <ctype.h>

#include "base/ids.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/accounts.h"
#include "app/app.h"
#include "app/health.h"
#include "app/users.h"
#include "store/store.h"
#include "app/metrics.h"
#include "app/offline.h"

/* ---- keys, origins, health ---- */

struct find_key {
    const char *hash;
    struct st_api_key *k;
};

static int find_key_cb(void *ctx, const struct st_api_key *k)
{
    struct find_key *f = ctx;
    if (strcmp(k->key_hash, f->hash) == 0)
        *f->k = *k;
    return 0;
}

#define KEY_CRED "key:"

int admin_account_by_key(struct app *app, const char *key, struct st_account *a,
                         char cred[ADMIN_CRED_MAX])
{
    char hex[65];
    accounts_key_hash(key, hex);
    if (cred)
        snprintf(cred, ADMIN_CRED_MAX, KEY_CRED "%s", hex);
    return store_account_by_key(app->store, hex, a);
}

int admin_credential_check(struct app *app, int64_t account_id, const char *cred)
{
    if (cred && strncmp(cred, ADMIN_SESSION_CRED, strlen(ADMIN_SESSION_CRED)) == 0)
        return users_session_check(app, cred + strlen(ADMIN_SESSION_CRED), account_id,
                                   time_now_ms());
    if (!cred || strncmp(cred, KEY_CRED, strlen(KEY_CRED)) != 0)
        return ERR_AUTH;
    struct st_account a;
    int rc = store_account_by_key(app->store, cred + strlen(KEY_CRED), &a);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && a.id != account_id))
        return ERR_AUTH;
    return rc == ERR_OK ? ERR_OK : ERR_BACKEND;
}

int admin_account_by_id(struct app *app, int64_t id, struct st_account *a)
{
    return store_account_by_id(app->store, id, a);
}

bool admin_origin_known(struct app *app, const char *origin)
{
    return accounts_origin_known(app->accounts, origin);
}

bool admin_token_equal(const char *got, const char *want)
{
    size_t n = strlen(want);
    size_t m = strnlen(got, n + 1);
    unsigned char diff = m != n;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

int admin_ready(struct app *app, struct errbuf *eb)
{
    return health_ready(app->health, app->store, time_now_ms(), eb);
}

int admin_store_check(struct app *app, struct errbuf *eb)
{
    return store_check(app->store, eb);
}

void admin_metrics(struct app *app, struct buf *out)
{
    metrics_render(app->metrics, app->store, out);
    offline_metrics(app->offline, out);
}

/* ---- pools ---- */

int admin_pool_create(struct app *app, struct st_pool *p, int64_t now, struct errbuf *eb)
{
    int rc = store_pool_create(app->store, p, now, eb);
    if (rc)
        return rc;
    accounts_invalidate(app->accounts, p->account_id);
    return ERR_OK;
}

int admin_pool_get(struct app *app, int64_t account_id, const char *ext_id, struct st_pool *p)
{
    return store_pool_get(app->store, account_id, ext_id, p);
}

int admin_pool_by_id(struct app *app, int64_t account_id, int64_t id, struct st_pool *p)
{
    return store_pool_by_id(app->store, account_id, id, p);
}

int admin_pool_list(struct app *app, int64_t account_id, store_pool_fn fn, void *ctx)
{
    return store_pool_list(app->store, account_id, fn, ctx);
}

int admin_pool_update(struct app *app, const struct st_pool *p, struct errbuf *eb)
{
    int rc = store_pool_update(app->store, p, eb);
    if (rc)
        return rc;
    accounts_invalidate(app->accounts, p->account_id);
    return ERR_OK;
}

static int any_intent(void *ctx, const struct st_intent *i)
{
    *(bool *)ctx = i->state == ST_INTENT_PENDING || i->state == ST_INTENT_BOUGHT;
    return *(bool *)ctx;
}

int admin_pool_delete(struct app *app, const struct st_pool *p, int64_t now)
{
    /* Numbers opendni bought are released through it first (app/numbers.h): deleting the pool
     * would forget them while the provider still bills them. */
    bool held = false;
    int rc = store_intent_list(app->store, p->account_id, p->id, -1, any_intent, &held);
    if (rc == ERR_OK && held)
        return ERR_CONFLICT;
    rc = rc ? rc : store_pool_delete(app->store, p->account_id, p->ext_id, now);
    if (rc)
        return rc;
    accounts_invalidate(app->accounts, p->account_id);
    return ERR_OK;
}

int admin_pool_stats(struct app *app, const struct st_pool *p, int64_t now, struct pool_stats *out)
{
    return store_pool_stats(app->store, p->account_id, p->id, now, out);
}

/* ---- numbers ---- */

int admin_number_create(struct app *app, struct st_number *n, int64_t now, struct errbuf *eb)
{
    int rc = store_number_create(app->store, n, now, eb);
    if (rc)
        return rc;
    accounts_invalidate(app->accounts, n->account_id);
    return ERR_OK;
}

int admin_number_get(struct app *app, int64_t account_id, const char *ext_id, struct st_number *n)
{
    return store_number_get(app->store, account_id, ext_id, n);
}

int admin_number_by_id(struct app *app, int64_t account_id, int64_t id, struct st_number *n)
{
    return store_number_by_id(app->store, account_id, id, n);
}

int admin_number_list(struct app *app, int64_t account_id, int64_t pool_id, store_number_fn fn,
                      void *ctx)
{
    return store_number_list(app->store, account_id, pool_id, fn, ctx);
}

int admin_number_update(struct app *app, const struct st_number *n, int64_t now, struct errbuf *eb)
{
    int rc = store_number_update(app->store, n, now, eb);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, n->account_id);
    return rc;
}

int admin_number_delete(struct app *app, const struct st_number *n, int64_t now)
{
    int rc = store_number_delete(app->store, n->account_id, n->ext_id, now);
    if (rc)
        return rc;
    accounts_invalidate(app->accounts, n->account_id);
    return ERR_OK;
}

/* ---- rules ---- */

/* A rule's location ("" = none) is one of the account's: else ERR_INVALID naming location_id. */
static int rule_location_check(struct app *app, const struct st_rule *r, struct errbuf *eb)
{
    if (!r->location[0])
        return ERR_OK;
    struct st_route_doc *d = xmalloc(sizeof(*d));
    int rc = store_route_doc_get(app->store, r->account_id, "location", r->location, d);
    free(d);
    if (rc == ERR_NOTFOUND)
        return errf(eb, ERR_INVALID, "location_id", "no location '%s'", r->location);
    return rc ? errf(eb, rc, NULL, "cannot read location '%s'", r->location) : ERR_OK;
}

int admin_rule_create(struct app *app, struct st_rule *r, int64_t now, struct errbuf *eb)
{
    int rc = rule_location_check(app, r, eb);
    if (rc == ERR_OK)
        rc = store_rule_create(app->store, r, now, eb);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, r->account_id);
    return rc;
}

int admin_rule_update(struct app *app, struct st_rule *r, struct errbuf *eb)
{
    int rc = rule_location_check(app, r, eb);
    if (rc == ERR_OK)
        rc = store_rule_update(app->store, r, eb);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, r->account_id);
    return rc;
}

int admin_rule_list(struct app *app, int64_t account_id, store_rule_fn fn, void *ctx)
{
    return store_rule_list(app->store, account_id, fn, ctx);
}

int admin_rule_delete(struct app *app, int64_t account_id, const char *ext_id)
{
    int rc = store_rule_delete(app->store, account_id, ext_id);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, account_id);
    return rc;
}

/* ---- pool usage over time ---- */

struct usage {
    struct st_lease *l; /* (number, leased_at, expires_at) of each lease read */
    size_t n, cap;
};

static int add_usage_lease(void *ctx, const struct st_lease *l)
{
    struct usage *u = ctx;
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 1024;
        u->l = xrealloc(u->l, u->cap * sizeof(*u->l));
    }
    u->l[u->n++] = (struct st_lease){
        .number_id = l->number_id, .leased_at = l->leased_at, .expires_at = l->expires_at};
    return 0;
}

static int by_number_then_start(const void *a, const void *b)
{
    const struct st_lease *x = a, *y = b;
    if (x->number_id != y->number_id)
        return x->number_id < y->number_id ? -1 : 1;
    return x->leased_at < y->leased_at ? -1 : x->leased_at > y->leased_at;
}

/* Adds 1 to every point in [from, to) (a number's merged busy interval). */
static void count_points(int64_t from, int64_t to, int64_t since, int64_t step, size_t n,
                         int64_t *in_use)
{
    int64_t first = from <= since ? 0 : (from - since + step - 1) / step;
    for (int64_t i = first; i < (int64_t)n && since + i * step < to; i++)
        in_use[i]++;
}

int admin_pool_usage(struct app *app, const struct st_pool *p, int64_t since, int64_t step,
                     size_t n, int64_t *in_use, bool *truncated)
{
    memset(in_use, 0, n * sizeof(*in_use));
    struct usage u = {0};
    int64_t until = since + (int64_t)n * step;
    int rc = store_lease_range(app->store, p->account_id, p->id, since, until,
                               ADMIN_USAGE_MAX_LEASES, add_usage_lease, &u);
    *truncated = u.n == ADMIN_USAGE_MAX_LEASES;
    /* a number shared by several sessions counts once: merge each number's intervals */
    qsort(u.l, u.n, sizeof(*u.l), by_number_then_start);
    for (size_t i = 0; rc == ERR_OK && i < u.n;) {
        int64_t from = u.l[i].leased_at, to = u.l[i].expires_at;
        size_t j = i + 1;
        for (; j < u.n && u.l[j].number_id == u.l[i].number_id && u.l[j].leased_at <= to; j++)
            to = u.l[j].expires_at > to ? u.l[j].expires_at : to;
        count_points(from, to, since, step, n, in_use);
        i = j;
    }
    free(u.l);
    return rc;
}

/* ---- settings: keys, origins, provider credentials ---- */

int admin_key_create(struct app *app, int64_t account_id, int64_t now, char out_key[ADMIN_KEY_MAX],
                     struct st_api_key *k)
{
    id_new("odk_", 52, out_key, ADMIN_KEY_MAX); /* 52 x 5 bits = 260 bits from the OS */
    char hash[65];
    accounts_key_hash(out_key, hash);
    int rc = store_api_key_add(app->store, account_id, hash, now);
    if (rc)
        return rc;
    /* its row, for the answer: the newest key with this hash */
    struct find_key f = {hash, k};
    memset(k, 0, sizeof(*k));
    return store_api_key_list(app->store, account_id, find_key_cb, &f);
}

int admin_key_list(struct app *app, int64_t account_id, store_api_key_fn fn, void *ctx)
{
    return store_api_key_list(app->store, account_id, fn, ctx);
}

int admin_key_revoke(struct app *app, int64_t account_id, int64_t key_id, int64_t now)
{
    return store_api_key_revoke(app->store, account_id, key_id, now);
}

int admin_origins(struct app *app, int64_t account_id, store_origin_fn fn, void *ctx)
{
    return store_account_origins(app->store, account_id, fn, ctx);
}

/* scheme://host[:port] with scheme http or https, a host of [a-z0-9.-] (or a bracketed IPv6
 * literal) and an optional port: what a browser sends as Origin, nothing else. */
static bool origin_ok(const char *o)
{
    size_t n = strlen(o);
    const char *h = strncmp(o, "https://", 8) == 0  ? o + 8
                    : strncmp(o, "http://", 7) == 0 ? o + 7
                                                    : NULL;
    if (!h || n > 255 || !*h)
        return false;
    const char *p = h;
    if (*p == '[') {
        while (*p && *p != ']' && (isxdigit((unsigned char)*p) || *p == ':' || *p == '['))
            p++;
        if (*p++ != ']')
            return false;
    } else {
        while (*p &&
               (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '-'))
            p++;
        if (p == h)
            return false;
    }
    if (*p == ':') {
        const char *d = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == d || p - d > 5 || strtol(d, NULL, 10) < 1 || strtol(d, NULL, 10) > 65535)
            return false;
    }
    return *p == '\0';
}

int admin_origin_add(struct app *app, int64_t account_id, const char *origin, struct errbuf *eb)
{
    if (!origin_ok(origin))
        return errf(eb, ERR_INVALID, "origin",
                    "an origin is http:// or https://, a lowercase host and an optional port, "
                    "nothing after it (https://www.example.com)");
    int rc = store_origin_add(app->store, account_id, origin);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, account_id);
    return rc;
}

int admin_origin_delete(struct app *app, int64_t account_id, const char *origin)
{
    int rc = store_origin_delete(app->store, account_id, origin);
    if (rc == ERR_OK)
        accounts_invalidate(app->accounts, account_id);
    return rc;
}

int admin_provider_list(struct app *app, int64_t account_id, store_provider_cred_fn fn, void *ctx)
{
    return store_provider_cred_list(app->store, account_id, fn, ctx);
}

int admin_provider_set(struct app *app, int64_t account_id, const char *provider,
                       const char *account_sid, const char *secret, int64_t now)
{
    return store_provider_cred_set(app->store, account_id, provider, account_sid, secret, now);
}

/* ---- sessions ---- */

int admin_session_get(struct app *app, int64_t account_id, const char *ext_id,
                      struct st_session *ss)
{
    int rc = store_session_get(app->store, ext_id, ss);
    if (rc == ERR_OK && ss->account_id != account_id)
        rc = ERR_NOTFOUND;
    return rc;
}

struct lease_walk {
    struct app *app;
    int64_t now;
    admin_lease_fn fn;
    void *ctx;
};

static int lease_seen(void *arg, const struct st_lease *l)
{
    struct lease_walk *w = arg;
    struct st_number n;
    if (store_number_by_id(w->app->store, l->account_id, l->number_id, &n) != ERR_OK)
        return 0; /* the number was deleted since */
    struct admin_lease al = {.leased_at = l->leased_at, .shared = l->shared};
    snprintf(al.number, sizeof(al.number), "%s", n.number);
    store_lease_times(w->app->store, l, w->now, &al.last_active_at, &al.expires_at);
    return w->fn(w->ctx, &al);
}

int admin_session_leases(struct app *app, int64_t account_id, int64_t session_id, int64_t now,
                         admin_lease_fn fn, void *ctx)
{
    struct lease_walk w = {app, now, fn, ctx};
    return store_session_leases(app->store, account_id, session_id, lease_seen, &w);
}

int admin_session_events(struct app *app, int64_t account_id, int64_t session_id, size_t max,
                         store_event_fn fn, void *ctx)
{
    return store_event_list(app->store, account_id, session_id, max, fn, ctx);
}

int admin_session_page_views(struct app *app, int64_t account_id, int64_t session_id, size_t max,
                             store_page_view_fn fn, void *ctx)
{
    return store_page_view_list(app->store, account_id, session_id, max, fn, ctx);
}

/* ---- calls and reports ---- */

int admin_call_get(struct app *app, int64_t account_id, const char *ext_id, struct st_call *c)
{
    return store_call_get(app->store, account_id, ext_id, c);
}

int admin_call_list(struct app *app, int64_t account_id, int64_t since, int64_t until,
                    int64_t after_at, int64_t after_id, size_t max, store_call_fn fn, void *ctx)
{
    return store_call_list(app->store, account_id, since, until, after_at, after_id, max, fn, ctx);
}

int admin_report_calls(struct app *app, int64_t account_id, int64_t since, int64_t until,
                       store_report_call_fn fn, void *ctx)
{
    return store_report_calls(app->store, account_id, since, until, fn, ctx);
}

int admin_report_conversions(struct app *app, int64_t account_id, int64_t since, int64_t until,
                             store_report_conversion_fn fn, void *ctx)
{
    return store_report_conversions(app->store, account_id, since, until, fn, ctx);
}

/* ---- the Google Ads scheduled-import feed ---- */

int admin_feed_create(struct app *app, int64_t account_id, char id[ADMIN_FEED_ID_MAX],
                      char password[ADMIN_FEED_PASSWORD_MAX])
{
    id_new("feed_", 20, id, ADMIN_FEED_ID_MAX);
    id_new("", 40, password, ADMIN_FEED_PASSWORD_MAX);
    char hex[65];
    accounts_key_hash(password, hex);
    return store_feed_set(app->store, account_id, id, hex, time_now_ms());
}

int admin_feed_auth(struct app *app, const char *id, const char *password, struct st_account *a)
{
    char want[65];
    int rc = store_feed_account(app->store, id, a, want);
    if (rc == ERR_NOTFOUND)
        return ERR_AUTH;
    if (rc)
        return ERR_BACKEND;
    char got[65];
    accounts_key_hash(password, got);
    return admin_token_equal(got, want) ? ERR_OK : ERR_AUTH;
}

int admin_feed_delete(struct app *app, int64_t account_id)
{
    return store_feed_delete(app->store, account_id);
}
