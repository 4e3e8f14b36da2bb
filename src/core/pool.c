/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/pool.c: the lease engine behind pool.h. Numbers sit in a slot array found through a hash
 * map and ordered by two indexed 4-ary heaps (every number, and the cooling ones, by release
 * time then id). Leases sit in a slot array on two intrusive lists: all leases by last activity
 * (so expiry pops from the head in O(1)) and each number's live holders, most recent first. */
#include "base/prelude.h"
#include "core/pool.h"

#include "base/err.h"
#include "base/xalloc.h"

#define NIL UINT32_MAX
#define NEVER INT64_MIN /* release time of a never-used number: idlest of all */
#define HEAP_ARITY 4    /* 4 children share a cache line or two: half the depth of a binary heap */

/* A number slot; id 0 marks an unused slot. */
struct pool_num {
    uint64_t id;
    /* Release time: when its latest lease ended or will end (the max ends_at over every holder,
     * live or past, and the idle_since_at it was added with); NEVER if never used. All leases
     * share one ttl, so this orders numbers exactly as "most recent activity by any holder". A
     * number with a live holder always sorts after every number without one. */
    int64_t idle_at;
    uint32_t live; /* live holders */
    uint32_t head; /* first of its live leases, most recently active first */
    uint32_t hist_n, hist_cap;
    struct pool_holder *hist; /* past holders, latest ends_at first (grows to POOL_HISTORY_MAX) */
    /* The release time its past holders set: max over them of ends_at + their rest (and the
     * idle_since_at it was added with); idle_at is this when no holder is live. */
    int64_t past_at;
    int64_t ended_at; /* ends_at of the lease that set past_at, 0 if none */
    int64_t rest_ms;  /* its rest */
    uint8_t rest_why; /* enum pool_rest_why */
};

/* A lease slot: a live lease, or (num == NIL) a session turned away that still wants one. */
struct pool_rec {
    uint64_t session_id;
    int64_t leased_at;
    int64_t last_active_at;
    uint32_t num;
    uint32_t prev, next;   /* activity list, oldest first; `next` also chains free slots */
    uint32_t nprev, nnext; /* the number's live list */
    uint8_t sig;           /* enum pool_signal bits noted on this lease */
};

/* Open addressing, linear probing, backward-shift deletion; val NIL = empty; cap = 2^k. */
struct pool_map {
    uint64_t *keys;
    uint32_t *vals;
    uint32_t cap;
    uint32_t n;
};

/* A heap entry carries its number's key, so sifting never touches the (large) number slots. */
struct pool_hent {
    int64_t idle_at;
    uint64_t id;
    uint32_t slot;
};

/* Indexed min-heap of number slots by (idle_at, id). pos[slot] is the slot's index in at[], or
 * NIL when it is not in this heap; both arrays are compact so sifting stays in cache. */
struct pool_heap {
    struct pool_hent *at;
    uint32_t *pos;
    uint32_t n;
};

struct pool {
    struct pool_config cfg;
    int64_t clock_at; /* latest now seen */

    struct pool_num *nums;
    uint32_t nums_cap, nums_used;
    uint32_t *num_free; /* stack of unused slots below nums_used */
    uint32_t num_free_n;
    struct pool_map by_number;
    struct pool_heap all;  /* every number */
    struct pool_heap cool; /* the cooling numbers; the other idle ones are counted in free_n */

    struct pool_rec *recs;
    uint32_t recs_cap, recs_used, rec_free;
    struct pool_map by_session;
    uint32_t act_head, act_tail;
    bool act_unsorted; /* pool_restore appended out of order: sort before the next expiry */

    uint32_t size, leased, free_n, live_leases, waiting;
    uint32_t peak_concurrent, peak_demand;
    uint64_t exhaustion_events;
    uint64_t ended_leases;
    double ended_life_ms; /* sum of (ends_at - leased_at) over ended_leases */
};

/* ---------------------------------------------------------------- time and config */

static int64_t clamp_time(int64_t t)
{
    if (t < -POOL_TIME_MAX)
        return -POOL_TIME_MAX;
    if (t > POOL_TIME_MAX)
        return POOL_TIME_MAX;
    return t;
}

static struct pool_config config_clean(const struct pool_config *cfg)
{
    struct pool_config c = *cfg;
    c.ttl_ms = c.ttl_ms < 1 ? 1 : clamp_time(c.ttl_ms);
    int64_t *rests[] = {&c.rest_bot_ms, &c.rest_called_ms, &c.rest_click_ms, &c.rest_bounced_ms};
    for (size_t i = 0; i < ARRAY_SIZE(rests); i++)
        *rests[i] = clamp_time(*rests[i] * 4) / 4;
    c.cooldown_ms = c.cooldown_ms < 0 ? 0 : clamp_time(c.cooldown_ms);
    if (c.on_exhaust != POOL_FALLBACK)
        c.on_exhaust = POOL_SHARE;
    return c;
}

static int64_t rec_ends(const struct pool *p, const struct pool_rec *l)
{
    return l->last_active_at + p->cfg.ttl_ms;
}

static struct pool_holder holder_of(const struct pool *p, const struct pool_rec *l, bool live)
{
    struct pool_holder h = {
        .session_id = l->session_id,
        .leased_at = l->leased_at,
        .last_active_at = l->last_active_at,
        .ends_at = rec_ends(p, l),
        .live = live,
        .signals = l->sig,
    };
    return h;
}

void pool_config_rests_default(struct pool_config *cfg)
{
    cfg->rest_bot_ms = 0;
    cfg->rest_called_ms = 0;
    cfg->rest_click_ms = 3 * 3600 * 1000;
    cfg->rest_bounced_ms = 0;
}

/* The rule and rest for a lease that ended with these signals and times. */
static enum pool_rest_why rest_of(const struct pool *p, unsigned sig, int64_t leased_at,
                                  int64_t last_active_at, int64_t *rest)
{
    const struct pool_config *c = &p->cfg;
    enum pool_rest_why why = POOL_REST_NONE;
    *rest = 0;
    if (sig & POOL_SIG_BOT) {
        why = POOL_REST_BOT;
        *rest = c->rest_bot_ms;
    } else if (sig & POOL_SIG_CALLED) {
        why = POOL_REST_CALLED;
        *rest = c->rest_called_ms;
    } else if (sig & POOL_SIG_CLICK) {
        why = POOL_REST_CLICK;
        *rest = c->rest_click_ms;
    } else if (last_active_at == leased_at) {
        why = POOL_REST_BOUNCED;
        *rest = c->rest_bounced_ms;
    }
    return why;
}

int64_t pool_rest_for(const struct pool_config *cfg, unsigned signals)
{
    struct pool p = {.cfg = config_clean(cfg)};
    int64_t rest;
    rest_of(&p, signals, 0, 1, &rest);
    return rest;
}

/* ---------------------------------------------------------------- hash map */

static uint32_t map_home(uint64_t key, uint32_t mask)
{
    /* splitmix64 finalizer: rowids are sequential, so mix them before masking */
    key ^= key >> 30;
    key *= UINT64_C(0xbf58476d1ce4e5b9);
    key ^= key >> 27;
    key *= UINT64_C(0x94d049bb133111eb);
    key ^= key >> 31;
    return (uint32_t)key & mask;
}

static void map_alloc(struct pool_map *m, uint32_t cap)
{
    m->keys = xcalloc(cap, sizeof *m->keys);
    m->vals = xmalloc(cap * sizeof *m->vals);
    memset(m->vals, 0xff, cap * sizeof *m->vals);
    m->cap = cap;
    m->n = 0;
}

/* Index holding key, or the empty index where it would go. */
static uint32_t map_find(const struct pool_map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1;
    uint32_t i = map_home(key, mask);
    while (m->vals[i] != NIL && m->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

static uint32_t map_get(const struct pool_map *m, uint64_t key)
{
    return m->vals[map_find(m, key)];
}

static void map_grow(struct pool_map *m)
{
    struct pool_map old = *m;
    map_alloc(m, old.cap * 2);
    for (uint32_t i = 0; i < old.cap; i++) {
        if (old.vals[i] == NIL)
            continue;
        uint32_t j = map_find(m, old.keys[i]);
        m->keys[j] = old.keys[i];
        m->vals[j] = old.vals[i];
        m->n++;
    }
    free(old.keys);
    free(old.vals);
}

static void map_put(struct pool_map *m, uint64_t key, uint32_t val)
{
    if (((uint64_t)m->n + 1) * 2 > m->cap)
        map_grow(m);
    uint32_t i = map_find(m, key);
    if (m->vals[i] == NIL)
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

static void map_del(struct pool_map *m, uint64_t key)
{
    uint32_t mask = m->cap - 1;
    uint32_t i = map_find(m, key);
    if (m->vals[i] == NIL)
        return;
    /* Close the hole: pull back every later entry of the run whose probe path crosses it. */
    for (uint32_t j = (i + 1) & mask; m->vals[j] != NIL; j = (j + 1) & mask) {
        uint32_t home = map_home(m->keys[j], mask);
        if (((j - home) & mask) < ((j - i) & mask))
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        i = j;
    }
    m->vals[i] = NIL;
    m->n--;
}

static void map_release(struct pool_map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
}

/* ---------------------------------------------------------------- heaps of numbers */

static bool hent_before(const struct pool_hent *x, const struct pool_hent *y)
{
    if (x->idle_at != y->idle_at)
        return x->idle_at < y->idle_at;
    return x->id < y->id;
}

static void heap_put(struct pool_heap *h, uint32_t i, struct pool_hent e)
{
    h->at[i] = e;
    h->pos[e.slot] = i;
}

/* Sifts the entry at i up; returns where it landed. */
static uint32_t heap_up(struct pool_heap *h, uint32_t i)
{
    struct pool_hent e = h->at[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / HEAP_ARITY;
        if (!hent_before(&e, &h->at[parent]))
            break;
        heap_put(h, i, h->at[parent]);
        i = parent;
    }
    heap_put(h, i, e);
    return i;
}

static void heap_down(struct pool_heap *h, uint32_t i)
{
    struct pool_hent e = h->at[i];
    for (;;) {
        uint64_t first = (uint64_t)i * HEAP_ARITY + 1;
        if (first >= h->n)
            break;
        uint32_t c = (uint32_t)first;
        uint32_t end = first + HEAP_ARITY < h->n ? (uint32_t)first + HEAP_ARITY : h->n;
        for (uint32_t k = c + 1; k < end; k++)
            if (hent_before(&h->at[k], &h->at[c]))
                c = k;
        if (!hent_before(&h->at[c], &e))
            break;
        heap_put(h, i, h->at[c]);
        i = c;
    }
    heap_put(h, i, e);
}

static bool heap_has(const struct pool_heap *h, uint32_t slot)
{
    return h->pos[slot] != NIL;
}

static uint32_t heap_top(const struct pool_heap *h)
{
    return h->at[0].slot;
}

/* Sets the key of slot (which is in h) and restores order, whichever way the key moved. */
static void heap_set_key(struct pool_heap *h, uint32_t slot, int64_t idle_at)
{
    uint32_t i = h->pos[slot];
    h->at[i].idle_at = idle_at;
    if (heap_up(h, i) == i)
        heap_down(h, i);
}

static void heap_push(struct pool_heap *h, const struct pool_num *n, uint32_t slot)
{
    h->at[h->n] = (struct pool_hent){n->idle_at, n->id, slot};
    h->n++;
    heap_up(h, h->n - 1);
}

static void heap_remove(struct pool_heap *h, uint32_t slot)
{
    uint32_t i = h->pos[slot];
    h->pos[slot] = NIL;
    h->n--;
    if (i == h->n)
        return;
    struct pool_hent last = h->at[h->n];
    heap_put(h, i, last);
    heap_set_key(h, last.slot, last.idle_at);
}

/* After keys changed wholesale: refresh every entry's key from its number, then heapify. */
static void heap_rebuild(struct pool_heap *h, const struct pool_num *nums)
{
    for (uint32_t i = 0; i < h->n; i++)
        h->at[i].idle_at = nums[h->at[i].slot].idle_at;
    for (uint32_t i = h->n / HEAP_ARITY + 1; i-- > 0;)
        if (i < h->n)
            heap_down(h, i);
}

/* ---------------------------------------------------------------- number states */

static bool num_free_at(const struct pool *p, uint32_t s, int64_t now)
{
    const struct pool_num *n = &p->nums[s];
    if (n->live > 0)
        return false;
    return n->idle_at == NEVER || n->idle_at <= now - p->cfg.cooldown_ms;
}

/* A number without live holders is "parked": counted in free_n, or in the cooling heap. */
static void num_park(struct pool *p, uint32_t s)
{
    if (num_free_at(p, s, p->clock_at))
        p->free_n++;
    else
        heap_push(&p->cool, &p->nums[s], s);
}

static void num_unpark(struct pool *p, uint32_t s)
{
    if (heap_has(&p->cool, s))
        heap_remove(&p->cool, s);
    else
        p->free_n--;
}

/* Cooling numbers whose cooldown has passed by the clock become free. */
static void promote(struct pool *p)
{
    while (p->cool.n > 0 && num_free_at(p, heap_top(&p->cool), p->clock_at)) {
        heap_remove(&p->cool, heap_top(&p->cool));
        p->free_n++;
    }
}

/* Raises the release time (never lowers it). A parked number must be unparked first, since
 * a raise may move it from free to cooling. */
static void num_raise_idle(struct pool *p, uint32_t s, int64_t at)
{
    if (at <= p->nums[s].idle_at)
        return;
    p->nums[s].idle_at = at;
    heap_set_key(&p->all, s, at);
}

static void hist_add(struct pool_num *n, const struct pool_holder *h)
{
    if (n->hist_n == n->hist_cap && n->hist_cap < POOL_HISTORY_MAX) {
        n->hist_cap = n->hist_cap ? 2 * n->hist_cap : 4;
        if (n->hist_cap > POOL_HISTORY_MAX)
            n->hist_cap = POOL_HISTORY_MAX;
        n->hist = xrealloc(n->hist, (size_t)n->hist_cap * sizeof *n->hist);
    }
    uint32_t i = 0;
    while (i < n->hist_n && n->hist[i].ends_at > h->ends_at)
        i++;
    if (i == POOL_HISTORY_MAX)
        return;
    uint32_t keep = n->hist_n < POOL_HISTORY_MAX ? n->hist_n : POOL_HISTORY_MAX - 1;
    memmove(&n->hist[i + 1], &n->hist[i], (keep - i) * sizeof n->hist[0]);
    n->hist[i] = *h;
    if (n->hist_n < POOL_HISTORY_MAX)
        n->hist_n++;
}

static void num_grow(struct pool *p)
{
    uint32_t cap = p->nums_cap ? 2 * p->nums_cap : 16;
    p->nums = xrealloc(p->nums, (size_t)cap * sizeof *p->nums);
    struct pool_heap *heaps[] = {&p->all, &p->cool};
    for (size_t i = 0; i < ARRAY_SIZE(heaps); i++) {
        heaps[i]->at = xrealloc(heaps[i]->at, (size_t)cap * sizeof *heaps[i]->at);
        heaps[i]->pos = xrealloc(heaps[i]->pos, (size_t)cap * sizeof *heaps[i]->pos);
    }
    p->num_free = xrealloc(p->num_free, (size_t)cap * sizeof *p->num_free);
    p->nums_cap = cap;
}

static uint32_t num_alloc(struct pool *p)
{
    if (p->num_free_n > 0) {
        p->num_free_n--;
        return p->num_free[p->num_free_n];
    }
    if (p->nums_used == p->nums_cap)
        num_grow(p);
    p->nums_used++;
    return p->nums_used - 1;
}

/* ---------------------------------------------------------------- lease records and lists */

static uint32_t rec_alloc(struct pool *p)
{
    if (p->rec_free != NIL) {
        uint32_t r = p->rec_free;
        p->rec_free = p->recs[r].next;
        return r;
    }
    if (p->recs_used == p->recs_cap) {
        p->recs_cap = p->recs_cap ? 2 * p->recs_cap : 64;
        p->recs = xrealloc(p->recs, (size_t)p->recs_cap * sizeof *p->recs);
    }
    p->recs_used++;
    return p->recs_used - 1;
}

static void act_append(struct pool *p, uint32_t r)
{
    struct pool_rec *l = &p->recs[r];
    l->next = NIL;
    l->prev = p->act_tail;
    if (p->act_tail == NIL) {
        p->act_head = r;
    } else {
        struct pool_rec *tail = &p->recs[p->act_tail];
        if (tail->last_active_at > l->last_active_at)
            p->act_unsorted = true;
        tail->next = r;
    }
    p->act_tail = r;
}

static void act_unlink(struct pool *p, uint32_t r)
{
    struct pool_rec *l = &p->recs[r];
    if (l->prev == NIL)
        p->act_head = l->next;
    else
        p->recs[l->prev].next = l->next;
    if (l->next == NIL)
        p->act_tail = l->prev;
    else
        p->recs[l->next].prev = l->prev;
}

struct pool_act_key {
    int64_t at;
    uint32_t seq;
    uint32_t rec;
};

static int act_key_cmp(const void *a, const void *b)
{
    const struct pool_act_key *x = a;
    const struct pool_act_key *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Once after out-of-order restores: a stable sort of the activity list by last activity. */
static void act_sort(struct pool *p)
{
    size_t n = (size_t)p->live_leases + p->waiting;
    struct pool_act_key *v = xmalloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (uint32_t r = p->act_head; r != NIL && k < n; r = p->recs[r].next) {
        v[k] = (struct pool_act_key){p->recs[r].last_active_at, (uint32_t)k, r};
        k++;
    }
    qsort(v, k, sizeof *v, act_key_cmp);
    p->act_head = NIL;
    p->act_tail = NIL;
    for (size_t i = 0; i < k; i++)
        act_append(p, v[i].rec);
    p->act_unsorted = false;
    free(v);
}

/* Inserts r into number s's live list, keeping it most recently active first. */
static void nl_insert(struct pool *p, uint32_t s, uint32_t r)
{
    int64_t at = p->recs[r].last_active_at;
    uint32_t prev = NIL;
    uint32_t cur = p->nums[s].head;
    while (cur != NIL && p->recs[cur].last_active_at > at) {
        prev = cur;
        cur = p->recs[cur].nnext;
    }
    p->recs[r].nprev = prev;
    p->recs[r].nnext = cur;
    if (prev == NIL)
        p->nums[s].head = r;
    else
        p->recs[prev].nnext = r;
    if (cur != NIL)
        p->recs[cur].nprev = r;
}

static void nl_unlink(struct pool *p, uint32_t r)
{
    struct pool_rec *l = &p->recs[r];
    if (l->nprev == NIL)
        p->nums[l->num].head = l->nnext;
    else
        p->recs[l->nprev].nnext = l->nnext;
    if (l->nnext != NIL)
        p->recs[l->nnext].nprev = l->nprev;
}

static void note_peak(struct pool *p)
{
    if (p->live_leases > p->peak_concurrent)
        p->peak_concurrent = p->live_leases;
    if (p->live_leases + p->waiting > p->peak_demand)
        p->peak_demand = p->live_leases + p->waiting;
}

static void note_ended(struct pool *p, int64_t leased_at, int64_t ends_at)
{
    p->ended_leases++;
    p->ended_life_ms += (double)(ends_at - leased_at);
}

/* A new record on the activity list and in the session map, not yet holding a number. */
static uint32_t rec_new(struct pool *p, uint64_t session_id, int64_t leased_at,
                        int64_t last_active_at)
{
    uint32_t r = rec_alloc(p);
    struct pool_rec *l = &p->recs[r];
    l->session_id = session_id;
    l->leased_at = leased_at;
    l->last_active_at = last_active_at;
    l->num = NIL;
    l->nprev = NIL;
    l->nnext = NIL;
    act_append(p, r);
    map_put(&p->by_session, session_id, r);
    return r;
}

static void rec_attach(struct pool *p, uint32_t r, uint32_t s)
{
    p->recs[r].sig = 0;
    if (p->nums[s].live == 0) {
        num_unpark(p, s);
        p->leased++;
    }
    p->nums[s].live++;
    p->recs[r].num = s;
    nl_insert(p, s, r);
    p->live_leases++;
    num_raise_idle(p, s, rec_ends(p, &p->recs[r]));
    note_peak(p);
}

static void rec_wait(struct pool *p, uint64_t session_id, int64_t now)
{
    rec_new(p, session_id, now, now);
    p->waiting++;
    note_peak(p);
}

/* A past holder joins number s's release time: past_at rises to its ends_at + rest. */
static void past_note(struct pool *p, uint32_t s, const struct pool_holder *h)
{
    struct pool_num *n = &p->nums[s];
    int64_t rest;
    enum pool_rest_why why = rest_of(p, h->signals, h->leased_at, h->last_active_at, &rest);
    int64_t at = clamp_time(h->ends_at + rest);
    if (n->past_at != NEVER && at <= n->past_at)
        return;
    n->past_at = at;
    n->ended_at = h->ends_at;
    n->rest_ms = rest;
    n->rest_why = (uint8_t)why;
}

/* Number s has no live holder left: its release time is what its past holders set (which a
 * negative rest may put below the ends_at it had while held). */
static void num_settle(struct pool *p, uint32_t s)
{
    struct pool_num *n = &p->nums[s];
    if (n->idle_at == n->past_at)
        return;
    n->idle_at = n->past_at;
    heap_set_key(&p->all, s, n->idle_at);
}

/* The lease r ended: it joins the number's history; the number may become idle. */
static void rec_detach(struct pool *p, uint32_t r)
{
    struct pool_rec *l = &p->recs[r];
    uint32_t s = l->num;
    struct pool_holder h = holder_of(p, l, false);
    nl_unlink(p, r);
    p->nums[s].live--;
    p->live_leases--;
    hist_add(&p->nums[s], &h);
    note_ended(p, h.leased_at, h.ends_at);
    past_note(p, s, &h);
    if (p->nums[s].live == 0) {
        p->leased--;
        num_settle(p, s);
        num_park(p, s);
    }
}

static void rec_end(struct pool *p, uint32_t r)
{
    act_unlink(p, r);
    map_del(&p->by_session, p->recs[r].session_id);
    if (p->recs[r].num == NIL)
        p->waiting--;
    else
        rec_detach(p, r);
    p->recs[r].num = NIL;
    p->recs[r].next = p->rec_free;
    p->rec_free = r;
}

/* Activity at now (>= every last_active_at, since the clock never runs backwards). */
static void rec_renew(struct pool *p, uint32_t r, int64_t now)
{
    act_unlink(p, r);
    p->recs[r].last_active_at = now;
    act_append(p, r);
    uint32_t s = p->recs[r].num;
    if (s == NIL)
        return;
    nl_unlink(p, r);
    nl_insert(p, s, r);
    num_raise_idle(p, s, rec_ends(p, &p->recs[r]));
}

/* ---------------------------------------------------------------- clock and expiry */

static int64_t clock_set(struct pool *p, int64_t now)
{
    now = clamp_time(now);
    if (now > p->clock_at)
        p->clock_at = now;
    return p->clock_at;
}

/* Moves the clock to now and processes everything that ended by then. */
static int64_t advance(struct pool *p, int64_t now)
{
    now = clock_set(p, now);
    if (p->act_unsorted)
        act_sort(p);
    while (p->act_head != NIL && rec_ends(p, &p->recs[p->act_head]) <= now)
        rec_end(p, p->act_head);
    promote(p);
    return now;
}

/* ---------------------------------------------------------------- lifecycle and config */

struct pool *pool_new(const struct pool_config *cfg)
{
    struct pool *p = xcalloc(1, sizeof *p);
    p->cfg = config_clean(cfg);
    p->clock_at = -POOL_TIME_MAX;
    map_alloc(&p->by_number, 16);
    map_alloc(&p->by_session, 64);
    p->rec_free = NIL;
    p->act_head = NIL;
    p->act_tail = NIL;
    return p;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    map_release(&p->by_number);
    map_release(&p->by_session);
    for (uint32_t s = 0; s < p->nums_used; s++)
        free(p->nums[s].hist); /* NULL in removed slots */
    free(p->nums);
    free(p->num_free);
    free(p->all.at);
    free(p->all.pos);
    free(p->cool.at);
    free(p->cool.pos);
    free(p->recs);
    free(p);
}

/* After a ttl change: live numbers' release times move with their holders' ends_at. */
static void rekey_live(struct pool *p)
{
    for (uint32_t s = 0; s < p->nums_used; s++) {
        struct pool_num *n = &p->nums[s];
        if (n->id == 0 || n->live == 0)
            continue;
        n->idle_at = rec_ends(p, &p->recs[n->head]);
        if (n->past_at > n->idle_at)
            n->idle_at = n->past_at;
    }
    heap_rebuild(&p->all, p->nums);
}

/* After a cooldown change: re-classify every idle number as free or cooling. */
static void repark_all(struct pool *p)
{
    p->cool.n = 0;
    p->free_n = 0;
    for (uint32_t s = 0; s < p->nums_used; s++)
        p->cool.pos[s] = NIL;
    for (uint32_t s = 0; s < p->nums_used; s++)
        if (p->nums[s].id != 0 && p->nums[s].live == 0)
            num_park(p, s);
}

void pool_set_config(struct pool *p, const struct pool_config *cfg)
{
    struct pool_config old = p->cfg;
    p->cfg = config_clean(cfg);
    if (p->cfg.ttl_ms != old.ttl_ms)
        rekey_live(p);
    if (p->cfg.cooldown_ms != old.cooldown_ms)
        repark_all(p);
}

/* ---------------------------------------------------------------- numbers */

int pool_add_number(struct pool *p, uint64_t number_id, int64_t idle_since_at)
{
    if (number_id == 0)
        return ERR_INVALID;
    if (map_get(&p->by_number, number_id) != NIL)
        return ERR_CONFLICT;
    uint32_t s = num_alloc(p);
    struct pool_num *n = &p->nums[s];
    memset(n, 0, sizeof *n); /* a new slot, or one pool_remove_number emptied */
    n->id = number_id;
    n->idle_at = idle_since_at == 0 ? NEVER : clamp_time(idle_since_at);
    n->past_at = n->idle_at;
    n->head = NIL;
    p->all.pos[s] = NIL;
    p->cool.pos[s] = NIL;
    heap_push(&p->all, n, s);
    num_park(p, s);
    map_put(&p->by_number, number_id, s);
    p->size++;
    return ERR_OK;
}

int pool_remove_number(struct pool *p, uint64_t number_id, int64_t now)
{
    advance(p, now);
    uint32_t s = map_get(&p->by_number, number_id);
    if (s == NIL)
        return ERR_NOTFOUND;
    if (p->nums[s].live > 0)
        return ERR_CONFLICT;
    num_unpark(p, s);
    heap_remove(&p->all, s);
    map_del(&p->by_number, number_id);
    p->nums[s].id = 0;
    free(p->nums[s].hist);
    p->nums[s].hist = NULL;
    p->nums[s].hist_n = p->nums[s].hist_cap = 0;
    p->num_free[p->num_free_n] = s;
    p->num_free_n++;
    p->size--;
    return ERR_OK;
}

/* ---------------------------------------------------------------- leasing */

/* The session's previous number, if idle and this session was its latest holder. */
static uint32_t returnable(const struct pool *p, uint64_t session_id, uint64_t prev_number_id)
{
    if (prev_number_id == 0)
        return NIL;
    uint32_t s = map_get(&p->by_number, prev_number_id);
    if (s == NIL)
        return NIL;
    const struct pool_num *n = &p->nums[s];
    if (n->live > 0 || n->hist_n == 0 || n->hist[0].session_id != session_id)
        return NIL;
    return s;
}

/* The policy pick: the idlest free number, else (exhausted) the share pick or NIL. */
static uint32_t pick(struct pool *p, unsigned *flags)
{
    if (p->all.n > 0 && num_free_at(p, heap_top(&p->all), p->clock_at))
        return heap_top(&p->all);
    p->exhaustion_events++;
    *flags |= POOL_LEASE_EXHAUSTED;
    if (p->all.n == 0 || p->cfg.on_exhaust == POOL_FALLBACK)
        return NIL;
    return heap_top(&p->all);
}

/* A new lease (or a wait) for the session; *idle_before gets the number's release time before
 * it was claimed. */
static int lease_new(struct pool *p, uint64_t session_id, uint64_t prev_number_id, int64_t now,
                     uint32_t *out_slot, unsigned *flags, int64_t *idle_before)
{
    uint32_t s = returnable(p, session_id, prev_number_id);
    if (s != NIL)
        *flags |= POOL_LEASE_RETURNED;
    else
        s = pick(p, flags);
    *out_slot = s;
    *idle_before = s == NIL ? 0 : p->nums[s].idle_at;
    if (s == NIL) {
        rec_wait(p, session_id, now);
        return ERR_EXHAUSTED;
    }
    *flags |= POOL_LEASE_NEW;
    rec_attach(p, rec_new(p, session_id, now, now), s);
    return ERR_OK;
}

/* Notes what a new claim is about to change (before it changes anything). */
static void undo_begin(const struct pool *p, uint64_t session_id, uint32_t r, struct pool_undo *u)
{
    memset(u, 0, sizeof *u);
    u->session_id = session_id;
    u->peak_concurrent = p->peak_concurrent;
    u->peak_demand = p->peak_demand;
    if (r != NIL) { /* a turned-away session tries again */
        u->was_waiting = true;
        u->wait_leased_at = p->recs[r].leased_at;
        u->wait_active_at = p->recs[r].last_active_at;
    }
}

int pool_claim(struct pool *p, uint64_t session_id, uint64_t prev_number_id, int64_t now,
               uint64_t *out_number_id, unsigned *out_flags, struct pool_undo *undo)
{
    now = advance(p, now);
    unsigned flags = 0;
    uint32_t s = NIL;
    int rc = ERR_OK;
    struct pool_undo u = {0};
    uint32_t r = map_get(&p->by_session, session_id);
    if (r != NIL && p->recs[r].num != NIL) {
        rec_renew(p, r, now);
        s = p->recs[r].num;
        flags = POOL_LEASE_RENEWED;
    } else {
        undo_begin(p, session_id, r, &u);
        if (r != NIL)
            rec_end(p, r); /* a turned-away session tries again */
        rc = lease_new(p, session_id, prev_number_id, now, &s, &flags, &u.idle_at);
        u.valid = true;
        u.number_id = s == NIL ? 0 : p->nums[s].id;
        u.leased_at = now;
        u.exhausted = (flags & POOL_LEASE_EXHAUSTED) != 0;
    }
    if (s != NIL && p->nums[s].live > 1)
        flags |= POOL_LEASE_SHARED;
    if (out_number_id)
        *out_number_id = s == NIL ? 0 : p->nums[s].id;
    if (out_flags)
        *out_flags = flags;
    if (undo)
        *undo = u;
    return rc;
}

int pool_lease(struct pool *p, uint64_t session_id, uint64_t prev_number_id, int64_t now,
               uint64_t *out_number_id, unsigned *out_flags)
{
    return pool_claim(p, session_id, prev_number_id, now, out_number_id, out_flags, NULL);
}

/* ---------------------------------------------------------------- taking a claim back */

/* Frees record r without it joining any history (the lease never happened). */
static void rec_forget(struct pool *p, uint32_t r)
{
    act_unlink(p, r);
    map_del(&p->by_session, p->recs[r].session_id);
    p->recs[r].num = NIL;
    p->recs[r].next = p->rec_free;
    p->rec_free = r;
}

/* Number s lost a holder that never happened: its release time goes back to before_at, raised
 * only by what other holders did (live ones, and leases that ended since). */
static void num_lower_idle(struct pool *p, uint32_t s, int64_t before_at)
{
    struct pool_num *n = &p->nums[s];
    int64_t at = before_at;
    if (n->live > 0 && rec_ends(p, &p->recs[n->head]) > at)
        at = rec_ends(p, &p->recs[n->head]);
    if (n->past_at > at)
        at = n->past_at;
    n->idle_at = at;
    heap_set_key(&p->all, s, at);
    if (n->live == 0) {
        p->leased--;
        num_park(p, s);
    }
}

/* A peak reached while the claim was live counted it: without it, it is one lower. */
static uint32_t peak_without(uint32_t peak, uint32_t before)
{
    if (peak <= before)
        return peak;
    return peak - 1 > before ? peak - 1 : before;
}

static int unclaim_lease(struct pool *p, const struct pool_undo *u, uint32_t r)
{
    uint32_t s = map_get(&p->by_number, u->number_id);
    if (s == NIL || p->recs[r].num != s || p->recs[r].leased_at != u->leased_at)
        return ERR_NOTFOUND;
    nl_unlink(p, r);
    p->nums[s].live--;
    p->live_leases--;
    rec_forget(p, r);
    num_lower_idle(p, s, u->idle_at);
    p->peak_concurrent = peak_without(p->peak_concurrent, u->peak_concurrent);
    if (!u->was_waiting) /* else the claim only turned a wait into a lease: demand unchanged */
        p->peak_demand = peak_without(p->peak_demand, u->peak_demand);
    return ERR_OK;
}

int pool_unclaim(struct pool *p, const struct pool_undo *u, int64_t now)
{
    if (!u || !u->valid)
        return ERR_INVALID;
    advance(p, now);
    uint32_t r = map_get(&p->by_session, u->session_id);
    if (r == NIL)
        return ERR_NOTFOUND;
    if (u->number_id != 0) {
        int rc = unclaim_lease(p, u, r);
        if (rc)
            return rc;
    } else {
        if (p->recs[r].num != NIL || p->recs[r].leased_at != u->leased_at)
            return ERR_NOTFOUND;
        p->waiting--;
        rec_forget(p, r);
        if (!u->was_waiting)
            p->peak_demand = peak_without(p->peak_demand, u->peak_demand);
    }
    if (u->exhausted && p->exhaustion_events > 0)
        p->exhaustion_events--;
    if (u->was_waiting && u->wait_active_at + p->cfg.ttl_ms > p->clock_at) {
        rec_new(p, u->session_id, u->wait_leased_at, u->wait_active_at);
        p->waiting++;
    }
    return ERR_OK;
}

int pool_touch(struct pool *p, uint64_t session_id, int64_t now, uint64_t *out_number_id,
               int64_t *out_expires_at)
{
    now = advance(p, now);
    uint32_t r = map_get(&p->by_session, session_id);
    if (r != NIL)
        rec_renew(p, r, now);
    bool held = r != NIL && p->recs[r].num != NIL;
    if (out_number_id)
        *out_number_id = held ? p->nums[p->recs[r].num].id : 0;
    if (out_expires_at)
        *out_expires_at = held ? rec_ends(p, &p->recs[r]) : 0;
    return held ? ERR_OK : ERR_NOTFOUND;
}

/* ---------------------------------------------------------------- restore */

static void restore_past(struct pool *p, uint32_t s, uint64_t session_id, int64_t leased_at,
                         int64_t last_active_at)
{
    struct pool_holder h = {
        .session_id = session_id,
        .leased_at = leased_at,
        .last_active_at = last_active_at,
        .ends_at = last_active_at + p->cfg.ttl_ms,
        .live = false,
    };
    hist_add(&p->nums[s], &h);
    note_ended(p, leased_at, h.ends_at);
    past_note(p, s, &h);
    if (p->nums[s].live > 0) {
        num_raise_idle(p, s, p->nums[s].past_at);
        return;
    }
    num_unpark(p, s);
    num_raise_idle(p, s, p->nums[s].past_at);
    num_park(p, s);
}

static int restore_live(struct pool *p, uint64_t session_id, uint32_t s, int64_t leased_at,
                        int64_t last_active_at, int64_t now)
{
    uint32_t r = map_get(&p->by_session, session_id);
    if (r != NIL) {
        /* A live lease conflicts; a waiting record or a lease that ended unprocessed does not. */
        if (p->recs[r].num != NIL && rec_ends(p, &p->recs[r]) > now)
            return ERR_CONFLICT;
        rec_end(p, r);
    }
    rec_attach(p, rec_new(p, session_id, leased_at, last_active_at), s);
    return ERR_OK;
}

int pool_restore(struct pool *p, uint64_t session_id, uint64_t number_id, int64_t leased_at,
                 int64_t last_active_at, int64_t now)
{
    /* No expiry here: restores may come in any order, and the list is sorted once later. */
    now = clock_set(p, now);
    uint32_t s = map_get(&p->by_number, number_id);
    if (s == NIL)
        return ERR_NOTFOUND;
    if (leased_at > last_active_at)
        return ERR_INVALID;
    last_active_at = clamp_time(last_active_at);
    if (last_active_at > now)
        last_active_at = now;
    leased_at = clamp_time(leased_at);
    if (leased_at > last_active_at)
        leased_at = last_active_at;
    if (last_active_at + p->cfg.ttl_ms <= now) {
        restore_past(p, s, session_id, leased_at, last_active_at);
        return ERR_OK;
    }
    return restore_live(p, session_id, s, leased_at, last_active_at, now);
}

/* ---------------------------------------------------------------- queries */

static uint32_t recommend(const struct pool *p)
{
    double demand = p->peak_demand;
    double life = (double)p->cfg.ttl_ms;
    if (p->ended_leases > 0)
        life = p->ended_life_ms / (double)p->ended_leases;
    double want = 1.1 * demand * (life + (double)p->cfg.cooldown_ms) / life;
    want -= want * 1e-12; /* so that an exact 11.0 computed as 11.000000000000002 stays 11 */
    uint64_t floor_size = (uint64_t)p->peak_demand + 1;
    if (want >= (double)UINT32_MAX)
        return UINT32_MAX;
    uint64_t size = (uint64_t)want;
    if ((double)size < want)
        size++;
    if (size < floor_size)
        size = floor_size;
    return size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
}

void pool_stats_get(struct pool *p, int64_t now, struct pool_stats *out)
{
    advance(p, now);
    memset(out, 0, sizeof *out);
    out->size = p->size;
    out->leased = p->leased;
    out->cooling = p->cool.n;
    out->free = p->free_n;
    out->live_leases = p->live_leases;
    out->exhaustion_events = p->exhaustion_events;
    out->peak_concurrent = p->peak_concurrent;
    out->recommended_size = recommend(p);
}

size_t pool_holders(struct pool *p, uint64_t number_id, int64_t now, struct pool_holder *out,
                    size_t cap)
{
    advance(p, now);
    uint32_t s = map_get(&p->by_number, number_id);
    if (s == NIL)
        return 0;
    const struct pool_num *n = &p->nums[s];
    size_t k = 0;
    for (uint32_t r = n->head; r != NIL && k < cap; r = p->recs[r].nnext) {
        out[k] = holder_of(p, &p->recs[r], true);
        k++;
    }
    for (uint32_t i = 0; i < n->hist_n && k < cap; i++) {
        out[k] = n->hist[i];
        k++;
    }
    return k;
}

int pool_session_get(struct pool *p, uint64_t session_id, int64_t now, uint64_t *out_number_id,
                     struct pool_holder *out)
{
    advance(p, now);
    uint32_t r = map_get(&p->by_session, session_id);
    if (r == NIL || p->recs[r].num == NIL)
        return ERR_NOTFOUND;
    if (out_number_id)
        *out_number_id = p->nums[p->recs[r].num].id;
    if (out)
        *out = holder_of(p, &p->recs[r], true);
    return ERR_OK;
}

/* ---------------------------------------------------------------- signals and reasons */

/* The session's latest past lease of number s, or NULL. */
static struct pool_holder *hist_find(struct pool_num *n, uint64_t session_id)
{
    for (uint32_t i = 0; i < n->hist_n; i++)
        if (n->hist[i].session_id == session_id)
            return &n->hist[i];
    return NULL;
}

int pool_note(struct pool *p, uint64_t session_id, uint64_t number_id, int64_t now,
              unsigned signals)
{
    advance(p, now);
    uint32_t s = map_get(&p->by_number, number_id);
    if (s == NIL)
        return ERR_NOTFOUND;
    uint32_t r = map_get(&p->by_session, session_id);
    if (r != NIL && p->recs[r].num == s) {
        p->recs[r].sig |= (uint8_t)signals;
        return ERR_OK;
    }
    struct pool_holder *h = hist_find(&p->nums[s], session_id);
    if (!h)
        return ERR_NOTFOUND;
    h->signals |= (uint8_t)signals;
    int64_t before = p->nums[s].past_at;
    past_note(p, s, h);
    if (p->nums[s].past_at == before)
        return ERR_OK;
    if (p->nums[s].live > 0) {
        num_raise_idle(p, s, p->nums[s].past_at);
        return ERR_OK;
    }
    num_unpark(p, s);
    num_raise_idle(p, s, p->nums[s].past_at);
    num_park(p, s);
    return ERR_OK;
}

int pool_explain(struct pool *p, uint64_t number_id, int64_t now, struct pool_pick *out)
{
    advance(p, now);
    memset(out, 0, sizeof *out);
    uint32_t s = map_get(&p->by_number, number_id);
    if (s == NIL)
        return ERR_NOTFOUND;
    const struct pool_num *n = &p->nums[s];
    out->number_id = number_id;
    out->leased = n->live > 0;
    out->release_at = n->idle_at == NEVER ? 0 : n->idle_at;
    out->ended_at = n->ended_at;
    out->why = (enum pool_rest_why)n->rest_why;
    out->rest_ms = n->rest_ms;
    return ERR_OK;
}

const char *pool_rest_why_text(enum pool_rest_why why)
{
    switch (why) {
    case POOL_REST_BOT:
        return "its last holder was automated traffic: reusable at once";
    case POOL_REST_CALLED:
        return "its last holder already called: it rests less";
    case POOL_REST_CLICK:
        return "its last holder tapped or copied it: it rests longer";
    case POOL_REST_BOUNCED:
        return "its last holder left after one page: it rests less";
    case POOL_REST_NONE:
        break;
    }
    return "idle since its last holder left";
}

/* ---------------------------------------------------------------- invariants (pool_check) */

static int check_heap(const struct pool *p, const struct pool_heap *h, struct errbuf *eb)
{
    for (uint32_t i = 0; i < h->n; i++) {
        const struct pool_hent *e = &h->at[i];
        uint32_t s = e->slot;
        if (s >= p->nums_used || p->nums[s].id == 0 || h->pos[s] != i)
            return errf(eb, ERR_INVALID, NULL, "heap: bad entry at %u", i);
        if (e->id != p->nums[s].id || e->idle_at != p->nums[s].idle_at)
            return errf(eb, ERR_INVALID, NULL, "heap: stale key at %u", i);
        if (i > 0 && hent_before(e, &h->at[(i - 1) / HEAP_ARITY]))
            return errf(eb, ERR_INVALID, NULL, "heap: order broken at %u", i);
    }
    return ERR_OK;
}

/* One number's live list: count, back-links, order, and the release time covering it. */
static int check_live_list(const struct pool *p, uint32_t s, struct errbuf *eb)
{
    const struct pool_num *n = &p->nums[s];
    uint32_t count = 0;
    uint32_t prev = NIL;
    for (uint32_t r = n->head; r != NIL; r = p->recs[r].nnext) {
        const struct pool_rec *l = &p->recs[r];
        if (l->num != s || l->nprev != prev || count >= p->live_leases)
            return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": bad live list", n->id);
        if (prev != NIL && p->recs[prev].last_active_at < l->last_active_at)
            return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": live list order", n->id);
        if (n->idle_at < rec_ends(p, l))
            return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": idle_at too old", n->id);
        prev = r;
        count++;
    }
    if (count != n->live)
        return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": live count", n->id);
    return ERR_OK;
}

static int check_num(const struct pool *p, uint32_t s, uint32_t *live_sum, struct errbuf *eb)
{
    const struct pool_num *n = &p->nums[s];
    if (map_get(&p->by_number, n->id) != s || !heap_has(&p->all, s))
        return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": not indexed", n->id);
    if (n->live > 0 && heap_has(&p->cool, s))
        return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": leased and cooling", n->id);
    if (n->live == 0 && !heap_has(&p->cool, s) && !num_free_at(p, s, p->clock_at))
        return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": counted free", n->id);
    for (uint32_t i = 1; i < n->hist_n; i++)
        if (n->hist[i].ends_at > n->hist[i - 1].ends_at)
            return errf(eb, ERR_INVALID, NULL, "number %" PRIu64 ": history order", n->id);
    *live_sum += n->live;
    return check_live_list(p, s, eb);
}

static int check_nums(const struct pool *p, struct errbuf *eb)
{
    uint32_t used = 0;
    uint32_t leased = 0;
    uint32_t live_sum = 0;
    for (uint32_t s = 0; s < p->nums_used; s++) {
        if (p->nums[s].id == 0)
            continue;
        used++;
        leased += p->nums[s].live > 0;
        int rc = check_num(p, s, &live_sum, eb);
        if (rc != ERR_OK)
            return rc;
    }
    if (used != p->size || p->by_number.n != p->size || p->all.n != p->size)
        return errf(eb, ERR_INVALID, NULL, "size %u: %u slots in use", p->size, used);
    if (leased != p->leased || live_sum != p->live_leases)
        return errf(eb, ERR_INVALID, NULL, "leased or live_leases counter is off");
    if (p->leased + p->cool.n + p->free_n != p->size)
        return errf(eb, ERR_INVALID, NULL, "leased + cooling + free != size");
    return ERR_OK;
}

static int check_acts(const struct pool *p, struct errbuf *eb)
{
    uint32_t total = 0;
    uint32_t waiting = 0;
    uint32_t prev = NIL;
    uint32_t limit = p->live_leases + p->waiting;
    for (uint32_t r = p->act_head; r != NIL; r = p->recs[r].next) {
        const struct pool_rec *l = &p->recs[r];
        if (l->prev != prev || total >= limit || map_get(&p->by_session, l->session_id) != r)
            return errf(eb, ERR_INVALID, NULL, "activity list broken at %u", r);
        if (!p->act_unsorted && prev != NIL && p->recs[prev].last_active_at > l->last_active_at)
            return errf(eb, ERR_INVALID, NULL, "activity list out of order at %u", r);
        waiting += l->num == NIL;
        prev = r;
        total++;
    }
    if (prev != p->act_tail || total != limit || waiting != p->waiting)
        return errf(eb, ERR_INVALID, NULL, "activity list: %u records, want %u", total, limit);
    if (p->by_session.n != total)
        return errf(eb, ERR_INVALID, NULL, "session map holds %u, want %u", p->by_session.n, total);
    return ERR_OK;
}

int pool_check(const struct pool *p, struct errbuf *eb)
{
    int rc = check_heap(p, &p->all, eb);
    if (rc == ERR_OK)
        rc = check_heap(p, &p->cool, eb);
    if (rc == ERR_OK)
        rc = check_nums(p, eb);
    if (rc == ERR_OK)
        rc = check_acts(p, eb);
    if (rc == ERR_OK && p->peak_concurrent < p->live_leases)
        rc = errf(eb, ERR_INVALID, NULL, "peak_concurrent below live_leases");
    return rc;
}
