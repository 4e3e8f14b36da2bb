/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The per-account traffic counters (see traffic.h): a fixed table of slots claimed by account id
 * with compare-and-swap and linear probing; a slot, once claimed, keeps its account. */
#include "base/prelude.h"
#include "app/traffic.h"

#include <stdatomic.h>

#include "base/log.h"
#include "base/xalloc.h"

struct slot {
    _Atomic int64_t account_id; /* 0: free */
    _Atomic uint64_t page_views;
    _Atomic uint64_t swap_misses;
};

struct traffic {
    struct slot slots[TRAFFIC_SLOTS];
    atomic_bool full_logged;
};

struct traffic *traffic_new(void)
{
    return xcalloc(1, sizeof(struct traffic));
}

void traffic_free(struct traffic *t)
{
    free(t);
}

static struct slot *slot_of(struct traffic *t, int64_t account_id)
{
    uint64_t h = (uint64_t)account_id * 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < TRAFFIC_SLOTS; i++) {
        struct slot *s = &t->slots[(h + i) % TRAFFIC_SLOTS];
        int64_t id = atomic_load_explicit(&s->account_id, memory_order_acquire);
        if (id == account_id)
            return s;
        if (id == 0) {
            int64_t want = 0;
            if (atomic_compare_exchange_strong(&s->account_id, &want, account_id) ||
                want == account_id)
                return s;
        }
    }
    return NULL;
}

void traffic_count(struct traffic *t, int64_t account_id, uint64_t page_views, uint64_t swap_misses)
{
    if (!t || account_id <= 0)
        return;
    struct slot *s = slot_of(t, account_id);
    if (!s) {
        if (!atomic_exchange(&t->full_logged, true))
            log_warn("outbox",
                     "traffic counters full (%d accounts): swap-miss rates of more "
                     "accounts are not counted on this node",
                     TRAFFIC_SLOTS);
        return;
    }
    if (page_views)
        atomic_fetch_add_explicit(&s->page_views, page_views, memory_order_relaxed);
    if (swap_misses)
        atomic_fetch_add_explicit(&s->swap_misses, swap_misses, memory_order_relaxed);
}

void traffic_drain(struct traffic *t, traffic_fn fn, void *ctx)
{
    if (!t)
        return;
    for (size_t i = 0; i < TRAFFIC_SLOTS; i++) {
        struct slot *s = &t->slots[i];
        int64_t id = atomic_load_explicit(&s->account_id, memory_order_acquire);
        if (id == 0)
            continue;
        uint64_t pv = atomic_exchange(&s->page_views, 0);
        uint64_t sm = atomic_exchange(&s->swap_misses, 0);
        if ((pv || sm) && fn(ctx, id, pv, sm))
            traffic_count(t, id, pv, sm);
    }
}
