/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Token buckets in a fixed open-addressing table of 64-bit key hashes. */
#include "base/prelude.h"
#include "app/ratelimit.h"

#include <pthread.h>

#include "base/hash.h"
#include "base/xalloc.h"

#define SLOTS 16384 /* power of two */
#define PROBE 16

struct bucket {
    uint64_t key; /* 0 = empty */
    double tokens;
    int64_t last_at;
    uint32_t spent; /* tokens taken here not yet handed to ratelimit_spent (shared only) */
};

struct ratelimit {
    pthread_mutex_t mu;
    double per_ms;
    double burst;
    bool shared; /* ratelimit_share: count what is taken here for the other nodes */
    struct bucket slots[SLOTS];
};

struct ratelimit *ratelimit_new(long long per_minute)
{
    if (per_minute <= 0)
        return NULL;
    struct ratelimit *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->per_ms = (double)per_minute / 60000.0;
    r->burst = (double)per_minute;
    return r;
}

void ratelimit_free(struct ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint64_t hash(const char *s)
{
    uint64_t h = hash_str(s);
    return h ? h : 1; /* 0 marks an empty bucket */
}

/* Tokens b would hold at now: its refill, capped at the burst. */
static double tokens_at(const struct ratelimit *r, const struct bucket *b, int64_t now)
{
    double t = b->tokens;
    if (now > b->last_at)
        t += (double)(now - b->last_at) * r->per_ms;
    return t < r->burst ? t : r->burst;
}

/* The key's bucket, or a slot of its probe window reset for this key: an empty one, else the
 * one that would hold the most tokens now. Forgetting a key hands it a full burst on its next
 * request, so a full bucket (idle for a full refill) costs nothing to forget and a drained one
 * goes last; choosing the stalest slot instead let a flood of new keys push a drained key out
 * and reset it. */
static struct bucket *slot_for(struct ratelimit *r, uint64_t key, int64_t now)
{
    struct bucket *victim = NULL;
    double victim_tokens = -1;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &r->slots[(key + i) & (SLOTS - 1)];
        if (b->key == key)
            return b;
        double t = b->key == 0 ? r->burst + 1 : tokens_at(r, b, now);
        if (t > victim_tokens) {
            victim = b;
            victim_tokens = t;
        }
    }
    victim->key = key;
    victim->tokens = r->burst;
    victim->last_at = now;
    victim->spent = 0;
    return victim;
}

bool ratelimit_take(struct ratelimit *r, const char *key, int64_t now, int *retry_after_s)
{
    if (!r)
        return true;
    pthread_mutex_lock(&r->mu);
    struct bucket *b = slot_for(r, hash(key), now);
    if (now > b->last_at) {
        b->tokens += (double)(now - b->last_at) * r->per_ms;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
        b->last_at = now;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    if (ok && r->shared)
        b->spent++;
    else if (retry_after_s)
        *retry_after_s = (int)((1.0 - b->tokens) / r->per_ms / 1000.0) + 1;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

bool ratelimit_blocked(struct ratelimit *r, const char *key, int64_t now, int *retry_after_s)
{
    if (!r)
        return false;
    uint64_t k = hash(key);
    bool blocked = false;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < PROBE; i++) {
        const struct bucket *b = &r->slots[(k + i) & (SLOTS - 1)];
        if (b->key != k)
            continue;
        double t = tokens_at(r, b, now);
        blocked = t < 1.0;
        if (blocked && retry_after_s)
            *retry_after_s = (int)((1.0 - t) / r->per_ms / 1000.0) + 1;
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return blocked;
}

void ratelimit_share(struct ratelimit *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->shared = true;
    pthread_mutex_unlock(&r->mu);
}

void ratelimit_spent(struct ratelimit *r, ratelimit_spent_fn fn, void *ctx)
{
    if (!r)
        return;
    struct {
        uint64_t key;
        uint32_t n;
    } *got = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < SLOTS; i++) {
        struct bucket *b = &r->slots[i];
        if (!b->key || !b->spent)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            got = xrealloc(got, cap * sizeof(*got));
        }
        got[n].key = b->key;
        got[n++].n = b->spent;
        b->spent = 0;
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++)
        fn(ctx, got[i].key, got[i].n);
    free(got);
}

void ratelimit_charge(struct ratelimit *r, uint64_t key, int64_t now, uint32_t n)
{
    if (!r || !key)
        return;
    pthread_mutex_lock(&r->mu);
    struct bucket *b = slot_for(r, key, now);
    if (now > b->last_at) {
        b->tokens += (double)(now - b->last_at) * r->per_ms;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
        b->last_at = now;
    }
    b->tokens -= n;
    if (b->tokens < 0)
        b->tokens = 0; /* spent elsewhere: empty, never in debt */
    pthread_mutex_unlock(&r->mu);
}
