/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A read-through cache of what the visit path needs per account (allowed origins, pools,
 * source numbers, classification rules), so a visit costs no configuration queries. Entries
 * are immutable snapshots with a reference count: accounts_get returns one, accounts_put
 * releases it. A snapshot is reloaded after ACCOUNTS_TTL_MS (changes made by another process,
 * such as the CLI) or at once after accounts_invalidate (changes made through the admin API).
 * Where the store counts configuration changes (store_config_version: PostgreSQL, several
 * nodes on one database), the count is read at most every ACCOUNTS_VERSION_CHECK_MS and every
 * snapshot loaded before it moved is reloaded: another node's change shows within that. A
 * snapshot whose load began before an accounts_invalidate of its account is not cached.
 * THREADING: every function is safe from any thread. */
#ifndef OPENDNI_APP_ACCOUNTS_H
#define OPENDNI_APP_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/classify.h"
#include "store/store.h"

#define ACCOUNTS_TTL_MS 5000
#define ACCOUNTS_VERSION_CHECK_MS 200

struct accounts;

struct acct {
    int64_t id;
    char ext_id[STORE_ID_MAX];
    char **origins;
    size_t n_origins;
    struct st_pool *pools;
    uint64_t *pool_versions; /* per pools[i]: its version (acct_pool_version) */
    uint32_t *pool_sizes;    /* per pools[i]: its numbers when loaded (acct_pool_size) */
    size_t n_pools;
    struct st_number *sources; /* source (never leased) numbers */
    size_t n_sources;
    struct classify_rule *rules;
    size_t n_rules;
    struct st_rule *rule_rows; /* backing strings of rules[] */
    /* The account's privacy settings (app/privacy.h): whether a visit that sends Sec-GPC: 1
     * (Global Privacy Control) or DNT: 1 keeps no click ids, referrer, query or address. */
    bool honor_gpc, honor_dnt;
    /* Settings "lease_policy": "new" (app/calls.h calls_settings): taps and copies of a pool
     * number are noted on the lease (store_lease_note), so the number rests longer. */
    bool lease_policy_new;
    /* Whether the account had any routing plan (app/routing.h) when loaded: a voice webhook of
     * an account without one reads no routing documents. */
    bool has_plans;
    /* Whether it had any routing location when loaded: a call of an account without one reads
     * no location documents (routing_location_of). */
    bool has_locations;
    /* private */
    int _refs;
    int64_t _loaded_at;
    int64_t _version; /* the store's configuration version known when loading began */
};

struct accounts *accounts_new(struct store *store);
void accounts_free(struct accounts *a);
/* The snapshot of account ext_id (loading it if needed). ERR_NOTFOUND, ERR_BACKEND. */
int accounts_get(struct accounts *a, const char *ext_id, int64_t now, const struct acct **out);
int accounts_get_by_id(struct accounts *a, int64_t id, int64_t now, const struct acct **out);
void accounts_put(struct accounts *a, const struct acct *acct);
void accounts_invalidate(struct accounts *a, int64_t account_id);
/* true if any account allows origin (for CORS preflights, which carry no account). */
bool accounts_origin_known(struct accounts *a, const char *origin);
bool acct_origin_allowed(const struct acct *acct, const char *origin);
/* The pool of the account with this row id, or NULL. */
const struct st_pool *acct_pool(const struct acct *acct, int64_t pool_id);
/* The version of pool_id: a hash of the pool's target, fallback number and its numbers (row id
 * and E.164 of each), so it changes whenever a number joins, leaves or moves, or the pool's
 * target or fallback changes (the tracker shows a stored number only while its version holds).
 * 0 for a pool the account does not have. */
/* The number of numbers of the account's pool pool_id when the snapshot was loaded (0: no such
 * pool). What the per-client shares are cut from: a visit reads no pool statistics. */
uint32_t acct_pool_size(const struct acct *acct, int64_t pool_id);
uint64_t acct_pool_version(const struct acct *acct, int64_t pool_id);
/* Hex SHA-256 of an API key, as stored. out: 65 bytes. */
void accounts_key_hash(const char *key, char out[65]);

#endif
