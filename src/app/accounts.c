/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Account snapshot cache: a small open list guarded by one mutex; loading happens outside it. */
#include "base/prelude.h"
#include "app/accounts.h"
#include "app/calls.h"
#include "app/privacy.h"

#include <openssl/sha.h>
#include <pthread.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/xalloc.h"

#define MAX_CACHED 1024

struct accounts {
    struct store *store;
    pthread_mutex_t mu;
    struct acct *cache[MAX_CACHED];
    size_t n;
    /* store_config_version, guarded by mu: */
    bool versioned;         /* the store has one (until it says ERR_UNSUPPORTED) */
    int64_t version;        /* the latest value read */
    int64_t checked_at;     /* when it was read (the callers' clock) */
    uint64_t invalidations; /* accounts_invalidate calls so far, guarded by mu */
};

struct accounts *accounts_new(struct store *store)
{
    struct accounts *a = xcalloc(1, sizeof(*a));
    a->store = store;
    a->versioned = true;
    a->checked_at = INT64_MIN;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

static void acct_free(struct acct *acct)
{
    for (size_t i = 0; i < acct->n_origins; i++)
        free(acct->origins[i]);
    free(acct->origins);
    free(acct->pools);
    free(acct->pool_versions);
    free(acct->pool_sizes);
    free(acct->sources);
    free(acct->rules);
    free(acct->rule_rows);
    free(acct);
}

void accounts_free(struct accounts *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        acct_free(a->cache[i]);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void accounts_key_hash(const char *key, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- loading ---- */

static int add_origin(void *ctx, const char *origin)
{
    struct acct *acct = ctx;
    acct->origins = xrealloc(acct->origins, (acct->n_origins + 1) * sizeof(char *));
    acct->origins[acct->n_origins++] = xstrdup(origin);
    return 0;
}

static int add_pool(void *ctx, const struct st_pool *p)
{
    struct acct *acct = ctx;
    acct->pools = xrealloc(acct->pools, (acct->n_pools + 1) * sizeof(*p));
    acct->pools[acct->n_pools++] = *p;
    return 0;
}

/* Folds a pool number into its pool's version: a sum, so the order numbers are listed in does
 * not matter. */
static void add_to_version(struct acct *acct, const struct st_number *n)
{
    char key[STORE_E164_MAX + 48];
    int len = snprintf(key, sizeof(key), "%" PRId64 "|%s", n->id, n->number);
    for (size_t i = 0; i < acct->n_pools; i++)
        if (acct->pools[i].id == n->pool_id) {
            acct->pool_versions[i] += hash_bytes(key, (size_t)len);
            acct->pool_sizes[i]++;
        }
}

static int add_source(void *ctx, const struct st_number *n)
{
    struct acct *acct = ctx;
    if (n->pool_id) {
        add_to_version(acct, n);
        return 0;
    }
    acct->sources = xrealloc(acct->sources, (acct->n_sources + 1) * sizeof(*n));
    acct->sources[acct->n_sources++] = *n;
    return 0;
}

static int add_rule(void *ctx, const struct st_rule *r)
{
    struct acct *acct = ctx;
    acct->rule_rows = xrealloc(acct->rule_rows, (acct->n_rules + 1) * sizeof(*r));
    acct->rule_rows[acct->n_rules++] = *r;
    return 0;
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

/* Builds the classify rules over rule_rows (which must not move afterwards). */
static void build_rules(struct acct *acct)
{
    acct->rules = xcalloc(acct->n_rules, sizeof(*acct->rules));
    for (size_t i = 0; i < acct->n_rules; i++) {
        const struct st_rule *r = &acct->rule_rows[i];
        struct classify_rule *c = &acct->rules[i];
        c->field = (enum rule_field)classify_rule_field_parse(r->field);
        c->op = (enum rule_op)classify_rule_op_parse(r->op);
        c->value = r->value;
        c->set_channel = opt(r->set_channel);
        c->set_source = opt(r->set_source);
        c->set_medium = opt(r->set_medium);
        c->set_campaign = opt(r->set_campaign);
        c->pool_id = (uint64_t)r->pool_id;
        c->number_id = (uint64_t)r->number_id;
    }
}

static int any_plan(void *ctx, const struct st_route_doc *d)
{
    (void)d;
    ((struct acct *)ctx)->has_plans = true;
    return 1; /* one is enough */
}

static int any_location(void *ctx, const struct st_route_doc *d)
{
    (void)d;
    ((struct acct *)ctx)->has_locations = true;
    return 1;
}

static int load(struct store *s, const struct st_account *row, int64_t now, int64_t version,
                struct acct **out)
{
    struct acct *acct = xcalloc(1, sizeof(*acct));
    acct->_version = version;
    acct->id = row->id;
    str_copy(acct->ext_id, sizeof(acct->ext_id), row->ext_id);
    int rc = store_account_origins(s, row->id, add_origin, acct);
    if (rc == ERR_OK)
        rc = store_pool_list(s, row->id, add_pool, acct);
    acct->pool_versions = xcalloc(acct->n_pools + 1, sizeof(uint64_t));
    acct->pool_sizes = xcalloc(acct->n_pools + 1, sizeof(uint32_t));
    for (size_t i = 0; i < acct->n_pools; i++)
        acct->pool_versions[i] =
            hash_str(acct->pools[i].target) * 31 + hash_str(acct->pools[i].fallback_number);
    if (rc == ERR_OK)
        rc = store_number_list(s, row->id, 0, add_source, acct);
    if (rc == ERR_OK)
        rc = store_rule_list(s, row->id, add_rule, acct);
    if (rc == ERR_OK)
        rc = store_route_doc_list(s, row->id, "plan", any_plan, acct);
    if (rc == ERR_OK)
        rc = store_route_doc_list(s, row->id, "location", any_location, acct);
    if (rc) {
        acct_free(acct);
        return rc;
    }
    build_rules(acct);
    struct privacy_settings ps;
    privacy_settings_parse(row->settings, &ps, NULL); /* bad settings: the defaults */
    acct->honor_gpc = ps.honor_gpc;
    acct->honor_dnt = ps.honor_dnt;
    struct calls_settings *cs = xmalloc(sizeof(*cs));
    acct->lease_policy_new = calls_settings_parse(row->settings, cs, NULL) == ERR_OK &&
                             cs->policy_new; /* bad settings: the defaults, as for calls */
    free(cs);
    acct->_loaded_at = now;
    acct->_refs = 1; /* the cache's own reference */
    *out = acct;
    return ERR_OK;
}

/* ---- cache ---- */

static void unref_locked(struct acct *acct)
{
    if (--acct->_refs == 0)
        acct_free(acct);
}

static struct acct *lookup_locked(struct accounts *a, const char *ext_id, int64_t id, int64_t now)
{
    for (size_t i = 0; i < a->n; i++) {
        struct acct *acct = a->cache[i];
        if (ext_id ? strcmp(acct->ext_id, ext_id) != 0 : acct->id != id)
            continue;
        if (now - acct->_loaded_at <= ACCOUNTS_TTL_MS && acct->_version == a->version) {
            acct->_refs++;
            return acct;
        }
        a->cache[i] = a->cache[--a->n];
        unref_locked(acct);
        return NULL;
    }
    return NULL;
}

/* Reads the store's configuration version when ACCOUNTS_VERSION_CHECK_MS has passed (one
 * caller at a time; the others go on with the value known). A failed read keeps the old value:
 * the snapshots' time to live still bounds how stale they get. */
static void check_version(struct accounts *a, int64_t now)
{
    pthread_mutex_lock(&a->mu);
    bool due = a->versioned && (a->checked_at == INT64_MIN || now < a->checked_at ||
                                now - a->checked_at >= ACCOUNTS_VERSION_CHECK_MS);
    if (due)
        a->checked_at = now;
    pthread_mutex_unlock(&a->mu);
    if (!due)
        return;
    int64_t v = 0;
    int rc = store_config_version(a->store, &v);
    pthread_mutex_lock(&a->mu);
    if (rc == ERR_UNSUPPORTED)
        a->versioned = false;
    else if (rc == ERR_OK && v > a->version)
        a->version = v;
    pthread_mutex_unlock(&a->mu);
}

static int get(struct accounts *a, const char *ext_id, int64_t id, int64_t now,
               const struct acct **out)
{
    check_version(a, now);
    pthread_mutex_lock(&a->mu);
    struct acct *acct = lookup_locked(a, ext_id, id, now);
    int64_t version = a->version;
    uint64_t invalidations = a->invalidations;
    pthread_mutex_unlock(&a->mu);
    if (acct) {
        *out = acct;
        return ERR_OK;
    }
    struct st_account row;
    int rc = ext_id ? store_account_get(a->store, ext_id, &row)
                    : store_account_by_id(a->store, id, &row);
    if (rc == ERR_OK)
        rc = load(a->store, &row, now, version, &acct);
    if (rc)
        return rc;
    pthread_mutex_lock(&a->mu);
    if (a->invalidations == invalidations) {
        if (a->n == MAX_CACHED)
            unref_locked(a->cache[--a->n]);
        a->cache[a->n++] = acct;
        acct->_refs++; /* the caller's */
    } /* else a change may have been missed by this load: the caller's alone (its _refs 1) */
    pthread_mutex_unlock(&a->mu);
    *out = acct;
    return ERR_OK;
}

int accounts_get(struct accounts *a, const char *ext_id, int64_t now, const struct acct **out)
{
    return get(a, ext_id, 0, now, out);
}

int accounts_get_by_id(struct accounts *a, int64_t id, int64_t now, const struct acct **out)
{
    return get(a, NULL, id, now, out);
}

void accounts_put(struct accounts *a, const struct acct *acct)
{
    if (!acct)
        return;
    pthread_mutex_lock(&a->mu);
    unref_locked((struct acct *)acct);
    pthread_mutex_unlock(&a->mu);
}

void accounts_invalidate(struct accounts *a, int64_t account_id)
{
    pthread_mutex_lock(&a->mu);
    a->invalidations++;
    for (size_t i = 0; i < a->n; i++) {
        if (a->cache[i]->id == account_id) {
            struct acct *acct = a->cache[i];
            a->cache[i] = a->cache[--a->n];
            unref_locked(acct);
            break;
        }
    }
    pthread_mutex_unlock(&a->mu);
}

bool acct_origin_allowed(const struct acct *acct, const char *origin)
{
    for (size_t i = 0; origin && i < acct->n_origins; i++)
        if (strcmp(acct->origins[i], origin) == 0)
            return true;
    return false;
}

bool accounts_origin_known(struct accounts *a, const char *origin)
{
    bool known = false;
    int rc = store_origin_exists(a->store, origin, &known);
    return rc == ERR_OK && known;
}

const struct st_pool *acct_pool(const struct acct *acct, int64_t pool_id)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        if (acct->pools[i].id == pool_id)
            return &acct->pools[i];
    return NULL;
}

uint32_t acct_pool_size(const struct acct *acct, int64_t pool_id)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        if (acct->pools[i].id == pool_id)
            return acct->pool_sizes[i];
    return 0;
}

uint64_t acct_pool_version(const struct acct *acct, int64_t pool_id)
{
    for (size_t i = 0; i < acct->n_pools; i++)
        if (acct->pools[i].id == pool_id)
            return acct->pool_versions[i];
    return 0;
}
