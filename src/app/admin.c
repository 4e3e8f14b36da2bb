/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The admin use cases (see admin.h): store writes followed by what keeps the visit path in step
 * (the account snapshots; the store keeps its lease claims in step itself). */
#include "base/prelude.h"
#include "app/admin.h"

#include "base/timefmt.h"
#include "app/accounts.h"
#include "app/app.h"
#include "app/health.h"
#include "store/store.h"
#include "app/metrics.h"

/* ---- keys, origins, health ---- */

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
    if (!cred || strncmp(cred, KEY_CRED, strlen(KEY_CRED)) != 0)
        return ERR_AUTH;
    struct st_account a;
    int rc = store_account_by_key(app->store, cred + strlen(KEY_CRED), &a);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && a.id != account_id))
        return ERR_AUTH;
    return rc == ERR_OK ? ERR_OK : ERR_BACKEND;
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

int admin_pool_by_id(struct app *app, int64_t id, struct st_pool *p)
{
    return store_pool_by_id(app->store, id, p);
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
    return store_pool_stats(app->store, p->id, now, out);
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

int admin_number_by_id(struct app *app, int64_t id, struct st_number *n)
{
    return store_number_by_id(app->store, id, n);
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

int admin_rule_create(struct app *app, struct st_rule *r, int64_t now, struct errbuf *eb)
{
    int rc = store_rule_create(app->store, r, now, eb);
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
    if (store_number_by_id(w->app->store, l->number_id, &n) != ERR_OK)
        return 0; /* the number was deleted since */
    struct admin_lease al = {.leased_at = l->leased_at, .shared = l->shared};
    snprintf(al.number, sizeof(al.number), "%s", n.number);
    store_lease_times(w->app->store, l, w->now, &al.last_active_at, &al.expires_at);
    return w->fn(w->ctx, &al);
}

int admin_session_leases(struct app *app, int64_t session_id, int64_t now, admin_lease_fn fn,
                         void *ctx)
{
    struct lease_walk w = {app, now, fn, ctx};
    return store_session_leases(app->store, session_id, lease_seen, &w);
}

int admin_session_events(struct app *app, int64_t session_id, size_t max, store_event_fn fn,
                         void *ctx)
{
    return store_event_list(app->store, session_id, max, fn, ctx);
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
