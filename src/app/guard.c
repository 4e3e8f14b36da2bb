/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The flood guard (see guard.h): a fixed table of client entries in 4-way sets, each with a
 * token bucket of new sessions, a flood flag with its end, and the holds of its unproven
 * sessions. Holds are only counted by the client's first key (its address); the other key (a
 * visitor id) takes part in the bucket and the flag. */
#include "base/prelude.h"
#include "app/guard.h"

#include <pthread.h>

#include "base/hash.h"
#include "base/xalloc.h"

#define WAYS 4
#define SETS (GUARD_SLOTS / WAYS)

enum { H_FREE, H_RESERVED, H_FILLED, H_HELD };

struct ghold {
    struct guard_hold h;
    uint32_t seq; /* names the reservation in its token */
    uint8_t state;
};

struct gentry {
    uint64_t key; /* 0 = unused */
    int64_t last_seen;
    double tokens;
    int64_t tokens_at;
    int64_t flagged_until; /* a flood until then */
    uint32_t rr;           /* round robin over its numbers for reuse */
    struct ghold holds[GUARD_HOLDS];
};

struct guard {
    pthread_mutex_t mu;
    struct guard_config cfg;
    uint32_t seq;
    uint64_t floods, cut;
    struct gentry slots[GUARD_SLOTS];
};

static long long nonneg(long long v)
{
    return v < 0 ? 0 : v;
}

struct guard *guard_new(const struct guard_config *cfg)
{
    struct guard *g = xcalloc(1, sizeof(*g));
    pthread_mutex_init(&g->mu, NULL);
    g->cfg.new_per_min = nonneg(cfg->new_per_min);
    g->cfg.share_pct = nonneg(cfg->share_pct);
    g->cfg.max_numbers = nonneg(cfg->max_numbers);
    g->cfg.flood_s = nonneg(cfg->flood_s);
    return g;
}

void guard_free(struct guard *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* ---- entries ---- */

static uint64_t key_of(const char *s)
{
    uint64_t h = hash_str(s);
    return h ? h : 1;
}

/* A hold that still means something at now: a reservation or a claim in flight, or a claim
 * whose lease has not ended. */
static bool hold_live(const struct ghold *h, int64_t now)
{
    if (h->state == H_RESERVED || h->state == H_FILLED)
        return true;
    return h->state == H_HELD && h->h.expires_at > now;
}

static bool entry_busy(const struct gentry *e, int64_t now)
{
    if (e->flagged_until > now)
        return true;
    for (int i = 0; i < GUARD_HOLDS; i++)
        if (hold_live(&e->holds[i], now))
            return true;
    return false;
}

/* Whether e is a better entry to forget at now than v: idle before busy, then least recently
 * seen. */
static bool forget_first(const struct gentry *e, const struct gentry *v, int64_t now)
{
    bool eb = entry_busy(e, now);
    bool vb = entry_busy(v, now);
    if (eb != vb)
        return vb;
    return e->last_seen < v->last_seen;
}

/* The key's entry, or a new one in its set (an unused one, else the best to forget). Caller
 * holds g->mu. */
static struct gentry *entry_for(struct guard *g, uint64_t key, int64_t now)
{
    struct gentry *set = &g->slots[(key % SETS) * WAYS];
    for (int i = 0; i < WAYS; i++)
        if (set[i].key == key) {
            set[i].last_seen = now;
            return &set[i];
        }
    struct gentry *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].key == 0) {
            victim = &set[i];
            break;
        }
        if (forget_first(&set[i], victim, now))
            victim = &set[i];
    }
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    victim->last_seen = now;
    victim->tokens = (double)g->cfg.new_per_min;
    victim->tokens_at = now;
    return victim;
}

static struct gentry *entry_find(struct guard *g, uint64_t key)
{
    struct gentry *set = &g->slots[(key % SETS) * WAYS];
    for (int i = 0; i < WAYS; i++)
        if (set[i].key == key)
            return &set[i];
    return NULL;
}

/* ---- floods ---- */

/* Takes one token of e's bucket at now; false when it is empty. */
static bool bucket_take(const struct guard *g, struct gentry *e, int64_t now)
{
    double burst = (double)g->cfg.new_per_min;
    if (now > e->tokens_at) {
        e->tokens += (double)(now - e->tokens_at) * burst / 60000.0;
        e->tokens_at = now;
    }
    if (e->tokens > burst)
        e->tokens = burst;
    if (e->tokens < 1.0)
        return false;
    e->tokens -= 1.0;
    return true;
}

/* e is a flood from now on: the numbers its sessions hold are handed back. */
static void flag(struct guard *g, struct gentry *e, int64_t now, struct guard_hold *release,
                 int cap, int *n_release)
{
    g->floods++;
    for (int i = 0; i < GUARD_HOLDS; i++) {
        struct ghold *h = &e->holds[i];
        if (h->state != H_HELD)
            continue; /* in flight: guard_commit hands it back */
        if (h->h.expires_at > now && *n_release < cap)
            release[(*n_release)++] = h->h;
        h->state = H_FREE;
    }
}

enum guard_verdict guard_session(struct guard *g, const char *const *keys, int n_keys, int64_t now,
                                 bool *newly, struct guard_hold *release, int cap, int *n_release)
{
    *newly = false;
    *n_release = 0;
    enum guard_verdict v = GUARD_OK;
    int64_t hold_ms = g->cfg.flood_s * 1000;
    pthread_mutex_lock(&g->mu);
    for (int k = 0; k < n_keys && g->cfg.new_per_min > 0; k++) {
        if (!keys[k] || !keys[k][0])
            continue;
        struct gentry *e = entry_for(g, key_of(keys[k]), now);
        if (e->flagged_until > now) {
            e->flagged_until = now + hold_ms; /* flagged while it keeps coming */
            v = GUARD_FLOOD;
        } else if (!bucket_take(g, e, now)) {
            e->flagged_until = now + hold_ms;
            *newly = true;
            flag(g, e, now, release, cap, n_release);
            v = GUARD_FLOOD;
        }
    }
    if (v == GUARD_FLOOD)
        g->cut++;
    pthread_mutex_unlock(&g->mu);
    return v;
}

/* ---- shares ---- */

/* The numbers of a pool of pool_size one client's unproven sessions may hold (UINT32_MAX: no
 * cap, when --client-share is 0). */
static uint32_t share_cap(const struct guard *g, uint32_t pool_size)
{
    if (g->cfg.share_pct == 0)
        return UINT32_MAX;
    uint64_t cap = (uint64_t)pool_size * (uint64_t)g->cfg.share_pct / 100;
    if (g->cfg.max_numbers > 0 && cap > (uint64_t)g->cfg.max_numbers)
        cap = (uint64_t)g->cfg.max_numbers;
    return cap < 1 ? 1 : (uint32_t)cap;
}

static uint64_t token_of(const struct guard *g, const struct gentry *e, int i)
{
    uint64_t slot = (uint64_t)(e - g->slots);
    return slot << 40 | (uint64_t)i << 32 | e->holds[i].seq;
}

/* The hold a token names, if the reservation is still that one. Caller holds g->mu. */
static struct ghold *hold_of(struct guard *g, uint64_t token)
{
    uint64_t slot = token >> 40;
    uint64_t i = (token >> 32) & 0xff;
    if (token == 0 || slot >= GUARD_SLOTS || i >= GUARD_HOLDS)
        return NULL;
    struct ghold *h = &g->slots[slot].holds[i];
    return h->state != H_FREE && h->seq == (uint32_t)token ? h : NULL;
}

/* One of e's live numbers in pool_id for a session over its share (round robin), or none. */
static void pick_reuse(struct gentry *e, int64_t pool_id, int64_t now, struct guard_hold *reuse)
{
    memset(reuse, 0, sizeof(*reuse));
    int n = 0;
    int idx[GUARD_HOLDS];
    for (int i = 0; i < GUARD_HOLDS; i++) {
        const struct ghold *h = &e->holds[i];
        if (hold_live(h, now) && h->state != H_RESERVED && h->h.pool_id == pool_id)
            idx[n++] = i;
    }
    if (n > 0)
        *reuse = e->holds[idx[e->rr++ % (uint32_t)n]].h;
}

bool guard_reserve(struct guard *g, const char *const *keys, int n_keys, int64_t pool_id,
                   uint32_t pool_size, int64_t now, uint64_t *token, struct guard_hold *reuse)
{
    *token = 0;
    memset(reuse, 0, sizeof(*reuse));
    if (n_keys < 1 || !keys[0] || !keys[0][0])
        return true; /* no client address: nothing to count against */
    pthread_mutex_lock(&g->mu);
    struct gentry *e = entry_for(g, key_of(keys[0]), now);
    uint32_t held = 0;
    int free_i = -1;
    for (int i = 0; i < GUARD_HOLDS; i++) {
        struct ghold *h = &e->holds[i];
        if (!hold_live(h, now)) {
            h->state = H_FREE;
            free_i = free_i < 0 ? i : free_i;
        } else if (h->h.pool_id == pool_id) {
            held++;
        }
    }
    uint32_t cap = share_cap(g, pool_size);
    bool ok = held < cap && (free_i >= 0 || cap == UINT32_MAX);
    if (ok && free_i >= 0) {
        struct ghold *h = &e->holds[free_i];
        memset(h, 0, sizeof(*h));
        h->state = H_RESERVED;
        h->seq = ++g->seq;
        h->h.pool_id = pool_id;
        *token = token_of(g, e, free_i);
    } else {
        g->cut++;
        pick_reuse(e, pool_id, now, reuse);
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void guard_fill(struct guard *g, uint64_t token, const struct guard_hold *hd)
{
    pthread_mutex_lock(&g->mu);
    struct ghold *h = hold_of(g, token);
    if (h && h->state == H_RESERVED) {
        h->h = *hd;
        h->state = H_FILLED;
    }
    pthread_mutex_unlock(&g->mu);
}

void guard_cancel(struct guard *g, uint64_t token)
{
    pthread_mutex_lock(&g->mu);
    struct ghold *h = hold_of(g, token);
    if (h)
        h->state = H_FREE;
    pthread_mutex_unlock(&g->mu);
}

bool guard_commit(struct guard *g, uint64_t token, int64_t session_id, struct guard_hold *out)
{
    bool flood = false;
    pthread_mutex_lock(&g->mu);
    struct ghold *h = hold_of(g, token);
    if (h && h->state == H_FILLED) {
        struct gentry *e = &g->slots[token >> 40];
        h->h.session_id = session_id;
        h->state = H_HELD;
        flood = e->flagged_until > h->h.undo.leased_at;
        if (flood) {
            *out = h->h;
            h->state = H_FREE;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return flood;
}

void guard_proven(struct guard *g, const char *const *keys, int n_keys, const char *session_ext,
                  int64_t now)
{
    (void)now;
    if (n_keys < 1 || !keys[0] || !keys[0][0] || !session_ext)
        return;
    pthread_mutex_lock(&g->mu);
    struct gentry *e = entry_find(g, key_of(keys[0]));
    for (int i = 0; e && i < GUARD_HOLDS; i++) {
        struct ghold *h = &e->holds[i];
        if (h->state == H_HELD && strcmp(h->h.session_ext, session_ext) == 0)
            h->state = H_FREE; /* a real page view: it no longer counts against the share */
    }
    pthread_mutex_unlock(&g->mu);
}

void guard_counts(struct guard *g, uint64_t *floods, uint64_t *cut_sessions)
{
    pthread_mutex_lock(&g->mu);
    *floods = g->floods;
    *cut_sessions = g->cut;
    pthread_mutex_unlock(&g->mu);
}
