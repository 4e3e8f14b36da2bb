/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* SQLite backend, leases: the atomic lease operations (store_lease_claim, _touch, _release,
 * _times, store_pool_stats) decided in memory, because one process owns the database file (the lock
 * of store_serve_begin). One core/pool engine per pool, rebuilt from the tables when serving begins
 * and kept in step by the backend's own pool and number writes. Sessions are keyed in the engines
 * by a hash of their external id. Counters persisted in the store (exhaustion events, peak
 * concurrency) continue from their stored values.
 * Layout: a growable array of pools under a read-write lock, each pool with its own mutex around
 * the pure engine and a table number id -> E.164.
 * THREADING: every function is safe from any thread; each pool has its own mutex, and no lock is
 * held while a store query runs or a store callback is called. */
#include "base/prelude.h"
#include "store/store_sqlite_int.h"

#include <pthread.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "core/pool.h"

#define ENGINES_HOLDERS_MAX 64 /* live sharers plus remembered past holders looked at */

struct number_ref {
    int64_t id;
    char e164[STORE_E164_MAX];
    char display[PHONE_DISPLAY_MAX]; /* phone_format(e164), made once */
};

struct slot {
    int64_t pool_id;
    int64_t account_id; /* the pool's */
    pthread_mutex_t mu;
    struct pool *engine;
    int64_t ttl_ms;
    struct number_ref *numbers;
    size_t n_numbers;
    uint64_t exhaustion_base; /* persisted before this process started */
    uint32_t peak_base;
};

struct store_leases {
    struct store *store;
    pthread_rwlock_t lock;
    struct slot **slots;
    size_t n;
};

static uint64_t key_of(const char *s)
{
    uint64_t h = hash_str(s);
    return h ? h : 1;
}

static struct store_leases *leases_new(struct store *store)
{
    struct store_leases *e = xcalloc(1, sizeof(*e));
    e->store = store;
    pthread_rwlock_init(&e->lock, NULL);
    return e;
}

static void slot_free(struct slot *sl)
{
    pool_free(sl->engine);
    pthread_mutex_destroy(&sl->mu);
    free(sl->numbers);
    free(sl);
}

void store__leases_free(struct store_leases *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        slot_free(e->slots[i]);
    free(e->slots);
    pthread_rwlock_destroy(&e->lock);
    free(e);
}

static void config_of(const struct st_pool *p, struct pool_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    /* The issue-20 rests apply only to leases noted (store_lease_note, for accounts with
     * lease_policy "new"): a pool nobody notes on leases idle-longest, as before. */
    pool_config_rests_default(cfg);
    cfg->ttl_ms = p->lease_ttl_s * 1000;
    cfg->cooldown_ms = p->cooldown_s * 1000;
    cfg->on_exhaust = p->fallback_mode ? POOL_FALLBACK : POOL_SHARE;
}

/* Caller holds e->lock (read or write). */
static struct slot *find(struct store_leases *e, int64_t pool_id)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->slots[i]->pool_id == pool_id)
            return e->slots[i];
    return NULL;
}

/* The slot of pool_id with its mutex held (and the registry read-locked), or NULL. */
static struct slot *slot_lock(struct store_leases *e, int64_t pool_id)
{
    pthread_rwlock_rdlock(&e->lock);
    struct slot *sl = find(e, pool_id);
    if (!sl) {
        pthread_rwlock_unlock(&e->lock);
        return NULL;
    }
    pthread_mutex_lock(&sl->mu);
    return sl;
}

/* slot_lock for a store operation named by account and pool: NULL when the pool is another
 * account's, as PostgreSQL's statements filtered by the account id find nothing. */
static struct slot *slot_lock_in(struct store_leases *e, int64_t account_id, int64_t pool_id)
{
    struct slot *sl = slot_lock(e, pool_id);
    if (sl && sl->account_id != account_id) {
        pthread_mutex_unlock(&sl->mu);
        pthread_rwlock_unlock(&e->lock);
        return NULL;
    }
    return sl;
}

static void slot_unlock(struct store_leases *e, struct slot *sl)
{
    pthread_mutex_unlock(&sl->mu);
    pthread_rwlock_unlock(&e->lock);
}

void store__leases_pool_put(struct store_leases *e, const struct st_pool *p)
{
    struct pool_config cfg;
    config_of(p, &cfg);
    pthread_rwlock_wrlock(&e->lock);
    struct slot *sl = find(e, p->id);
    if (sl) {
        pool_set_config(sl->engine, &cfg);
        sl->ttl_ms = cfg.ttl_ms;
    } else {
        sl = xcalloc(1, sizeof(*sl));
        sl->pool_id = p->id;
        sl->account_id = p->account_id;
        pthread_mutex_init(&sl->mu, NULL);
        sl->engine = pool_new(&cfg);
        sl->ttl_ms = cfg.ttl_ms;
        sl->exhaustion_base = (uint64_t)p->exhaustion_events;
        sl->peak_base = (uint32_t)p->peak_concurrent;
        e->slots = xrealloc(e->slots, (e->n + 1) * sizeof(*e->slots));
        e->slots[e->n++] = sl;
    }
    pthread_rwlock_unlock(&e->lock);
}

void store__leases_pool_remove(struct store_leases *e, int64_t pool_id)
{
    pthread_rwlock_wrlock(&e->lock);
    for (size_t i = 0; i < e->n; i++) {
        if (e->slots[i]->pool_id == pool_id) {
            slot_free(e->slots[i]);
            e->slots[i] = e->slots[--e->n];
            break;
        }
    }
    pthread_rwlock_unlock(&e->lock);
}

int store__leases_number_add(struct store_leases *e, const struct st_number *n)
{
    struct slot *sl = slot_lock(e, n->pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    int rc = pool_add_number(sl->engine, (uint64_t)n->id, n->idle_since);
    if (rc == ERR_OK) {
        /* kept sorted by id for number_of's binary search; ids mostly arrive in order */
        sl->numbers = xrealloc(sl->numbers, (sl->n_numbers + 1) * sizeof(*sl->numbers));
        size_t i = sl->n_numbers;
        while (i > 0 && sl->numbers[i - 1].id > n->id) {
            sl->numbers[i] = sl->numbers[i - 1];
            i--;
        }
        sl->numbers[i].id = n->id;
        str_copy(sl->numbers[i].e164, STORE_E164_MAX, n->number);
        phone_format(n->number, sl->numbers[i].display, PHONE_DISPLAY_MAX);
        sl->n_numbers++;
    }
    slot_unlock(e, sl);
    return rc;
}

int store__leases_number_remove(struct store_leases *e, int64_t pool_id, int64_t number_id,
                                int64_t now)
{
    struct slot *sl = slot_lock(e, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    int rc = pool_remove_number(sl->engine, (uint64_t)number_id, now);
    for (size_t i = 0; rc == ERR_OK && i < sl->n_numbers; i++) {
        if (sl->numbers[i].id == number_id) {
            memmove(&sl->numbers[i], &sl->numbers[i + 1],
                    (sl->n_numbers - i - 1) * sizeof(*sl->numbers));
            sl->n_numbers--;
            break;
        }
    }
    slot_unlock(e, sl);
    return rc;
}

bool store__leases_number_live(struct store_leases *e, int64_t pool_id, int64_t number_id,
                               int64_t now)
{
    struct slot *sl = slot_lock(e, pool_id);
    if (!sl)
        return false;
    struct pool_holder h;
    bool live = pool_holders(sl->engine, (uint64_t)number_id, now, &h, 1) == 1 && h.live;
    slot_unlock(e, sl);
    return live;
}

static const struct number_ref *number_of(const struct slot *sl, int64_t number_id)
{
    size_t lo = 0, hi = sl->n_numbers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sl->numbers[mid].id < number_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sl->n_numbers && sl->numbers[lo].id == number_id ? &sl->numbers[lo] : NULL;
}

static void fill_lease(struct slot *sl, uint64_t session_key, uint64_t number_id, unsigned flags,
                       int64_t now, struct st_lease_claim *out)
{
    struct pool_holder h = {0};
    pool_session_get(sl->engine, session_key, now, NULL, &h);
    struct pool_stats st;
    pool_stats_get(sl->engine, now, &st);
    out->number_id = (int64_t)number_id;
    const struct number_ref *ref = number_of(sl, (int64_t)number_id);
    str_copy(out->number, sizeof(out->number), ref ? ref->e164 : "");
    str_copy(out->display, sizeof(out->display), ref ? ref->display : "");
    out->flags = flags;
    out->leased_at = h.leased_at ? h.leased_at : now;
    out->expires_at = h.ends_at ? h.ends_at : now + sl->ttl_ms;
    out->exhaustion_events = sl->exhaustion_base + st.exhaustion_events;
    out->peak_concurrent = st.peak_concurrent > sl->peak_base ? st.peak_concurrent : sl->peak_base;
}

int store_sqlite__lease_claim(struct store *s, int64_t account_id, int64_t pool_id,
                              const char *session_ext_id, int64_t prev_number_id, int64_t now,
                              struct st_lease_claim *out)
{
    struct store_leases *e = store__sqlite(s)->leases;
    if (!e)
        return ERR_UNSUPPORTED;
    uint64_t key = key_of(session_ext_id);
    struct slot *sl = slot_lock_in(e, account_id, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    uint64_t number = 0;
    unsigned flags = 0;
    struct pool_undo undo;
    int rc = pool_claim(sl->engine, key, (uint64_t)prev_number_id, now, &number, &flags, &undo);
    memset(out, 0, sizeof(*out));
    out->flags = flags;
    out->undo = undo;
    if (rc == ERR_OK)
        fill_lease(sl, key, number, flags, now, out);
    slot_unlock(e, sl);
    return rc;
}

/* The signals on the session's latest stored lease of the number, for the engine's rebuild
 * (load_lease). No lease row yet (its visit's batch not committed): nothing to keep, the engine
 * has the note. */
static int note_persist(struct store *s, int64_t pool_id, const char *session_ext_id,
                        int64_t number_id, unsigned signals)
{
    struct sconn *c = store__conn(s);
    sqlite3_stmt *st = c ? store__prep(c, "UPDATE leases SET signals = signals | ?1 WHERE id ="
                                          " (SELECT l.id FROM leases l JOIN sessions s"
                                          " ON s.id = l.session_id WHERE s.ext_id = ?2"
                                          " AND l.number_id = ?3 AND l.pool_id = ?4"
                                          " ORDER BY l.leased_at DESC, l.id DESC LIMIT 1)")
                         : NULL;
    if (!st)
        return ERR_BACKEND;
    sqlite3_bind_int(st, 1, (int)signals);
    store__bind_text(st, 2, session_ext_id);
    sqlite3_bind_int64(st, 3, number_id);
    sqlite3_bind_int64(st, 4, pool_id);
    return store__exec(c, st, "note lease");
}

int store_sqlite__lease_note(struct store *s, int64_t account_id, int64_t pool_id,
                             const char *session_ext_id, int64_t number_id, unsigned signals,
                             int64_t now)
{
    struct store_leases *e = store__sqlite(s)->leases;
    if (!e)
        return ERR_UNSUPPORTED;
    struct slot *sl = slot_lock_in(e, account_id, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    int rc = pool_note(sl->engine, key_of(session_ext_id), (uint64_t)number_id, now, signals);
    slot_unlock(e, sl);
    return rc == ERR_OK ? note_persist(s, pool_id, session_ext_id, number_id, signals) : rc;
}

int store_sqlite__lease_touch(struct store *s, int64_t account_id, int64_t pool_id,
                              const char *session_ext_id, int64_t now, struct st_lease_claim *out)
{
    struct store_leases *e = store__sqlite(s)->leases;
    if (!e)
        return ERR_UNSUPPORTED;
    uint64_t key = key_of(session_ext_id);
    struct slot *sl = slot_lock_in(e, account_id, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    uint64_t number = 0;
    int64_t expires = 0;
    int rc = pool_touch(sl->engine, key, now, &number, &expires);
    memset(out, 0, sizeof(*out)); /* no undo: a renewal is never taken back */
    if (rc == ERR_OK)
        fill_lease(sl, key, number, POOL_LEASE_RENEWED, now, out);
    slot_unlock(e, sl);
    return rc;
}

int store_sqlite__lease_release(struct store *s, int64_t account_id, int64_t pool_id,
                                const struct st_lease_claim *claim, int64_t now)
{
    struct store_leases *e = store__sqlite(s)->leases;
    if (!e)
        return ERR_UNSUPPORTED;
    struct slot *sl = slot_lock_in(e, account_id, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    int rc = pool_unclaim(sl->engine, &claim->undo, now);
    slot_unlock(e, sl);
    return rc;
}

/* The engine's holder record of session_key on number_id (live or recently past). */
static int find_holder(struct store_leases *e, int64_t pool_id, int64_t number_id,
                       uint64_t session_key, int64_t now, struct pool_holder *out)
{
    struct slot *sl = slot_lock(e, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    struct pool_holder h[ENGINES_HOLDERS_MAX];
    size_t n = pool_holders(sl->engine, (uint64_t)number_id, now, h, ARRAY_SIZE(h));
    slot_unlock(e, sl);
    for (size_t i = 0; i < n; i++)
        if (h[i].session_id == session_key) {
            *out = h[i];
            return ERR_OK;
        }
    return ERR_NOTFOUND;
}

void store_sqlite__lease_times(struct store *s, const struct st_lease *l, int64_t now,
                               int64_t *last_active_at, int64_t *ends_at)
{
    struct store_leases *e = store__sqlite(s)->leases;
    *last_active_at = l->last_active_at;
    *ends_at = l->expires_at;
    struct pool_holder h;
    if (e && find_holder(e, l->pool_id, l->number_id, key_of(l->session_ext), now, &h) == ERR_OK &&
        h.leased_at == l->leased_at) { /* the same lease, not an earlier one of the session */
        *last_active_at = h.last_active_at;
        *ends_at = h.ends_at;
    }
}

int store_sqlite__pool_stats(struct store *s, int64_t account_id, int64_t pool_id, int64_t now,
                             struct pool_stats *out)
{
    struct store_leases *e = store__sqlite(s)->leases;
    if (!e)
        return ERR_UNSUPPORTED;
    struct slot *sl = slot_lock_in(e, account_id, pool_id);
    if (!sl)
        return ERR_NOTFOUND;
    pool_stats_get(sl->engine, now, out);
    out->exhaustion_events += sl->exhaustion_base;
    if (sl->peak_base > out->peak_concurrent)
        out->peak_concurrent = sl->peak_base;
    slot_unlock(e, sl);
    return ERR_OK;
}

/* ---- rebuild ---- */

struct load_ctx {
    struct store_leases *e;
    int64_t now;
    int rc;
    bool history; /* restoring ended leases (idle order) rather than live ones */
};

static int load_lease(void *ctx, const struct st_lease *l)
{
    struct load_ctx *lc = ctx;
    int rc = ERR_OK;
    struct store_leases *e = lc->e;
    if (lc->history && l->expires_at > lc->now)
        return 0; /* live: restored from the live list */
    uint64_t key = key_of(l->session_ext);
    struct slot *sl = slot_lock(e, l->pool_id);
    if (!sl)
        return 0;
    /* A stored renewal may reach past its last activity (h_visit.c RENEW_AHEAD_MS): the lease
     * is restored to end at its stored expiry, which every acknowledged renewal is within. */
    int64_t active = l->last_active_at;
    if (l->expires_at - sl->ttl_ms > active)
        active = l->expires_at - sl->ttl_ms;
    if (active < l->leased_at)
        active = l->leased_at;
    rc = pool_restore(sl->engine, key, (uint64_t)l->number_id, l->leased_at, active, lc->now);
    if (rc == ERR_OK && l->signals) /* what was noted on it rests its number as before */
        rc = pool_note(sl->engine, key, (uint64_t)l->number_id, lc->now, l->signals);
    slot_unlock(e, sl);
    if (rc)
        log_warn("store", "lease %" PRId64 " not restored: %s", l->id, err_str(rc));
    return 0;
}

/* Adds the number and replays its most recent ended lease, so released numbers keep their
 * idle order across restarts. */
static int load_number(void *ctx, const struct st_number *n)
{
    struct load_ctx *lc = ctx;
    if (!n->pool_id)
        return 0;
    lc->rc = store__leases_number_add(lc->e, n);
    if (lc->rc == ERR_OK)
        lc->rc =
            store_sqlite__lease_history(lc->e->store, n->account_id, n->id, 0, 1, load_lease, lc);
    return lc->rc;
}

static int load_pool(void *ctx, const struct st_pool *p)
{
    struct load_ctx *lc = ctx;
    store__leases_pool_put(lc->e, p);
    lc->history = true;
    lc->rc = store_sqlite__number_list(lc->e->store, p->account_id, p->id, load_number, lc);
    lc->history = false;
    if (lc->rc == ERR_OK)
        lc->rc = store_sqlite__lease_list_live(lc->e->store, p->account_id, p->id, lc->now,
                                               load_lease, lc);
    return lc->rc;
}

int store__leases_load(struct store *s, int64_t now, struct store_leases **out)
{
    struct store_leases *e = leases_new(s);
    struct load_ctx lc = {e, now, ERR_OK, false};
    int rc = store_sqlite__pool_list(s, 0, load_pool, &lc);
    if (rc == ERR_OK)
        rc = lc.rc;
    if (rc) {
        store__leases_free(e);
        return rc;
    }
    *out = e;
    return ERR_OK;
}
