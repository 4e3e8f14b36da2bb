/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Pool autoscaling decisions: see autoscale.h. */
#include "base/prelude.h"
#include "core/autoscale.h"

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* When the number last did anything: its last lease's end, else when it was added. */
static int64_t activity(const struct autoscale_number *n)
{
    return n->last_lease_end ? n->last_lease_end : n->added_at;
}

static bool releasable(const struct autoscale_cfg *cfg, const struct autoscale_number *n,
                       int64_t now)
{
    if (n->last_lease_end > now) /* leased now */
        return false;
    if (activity(n) + cfg->cooldown_ms + cfg->idle_release_ms > now)
        return false;
    return !n->last_call_at || n->last_call_at + cfg->window_ms <= now;
}

void autoscale_decide(const struct autoscale_cfg *cfg, const struct autoscale_pool *pool,
                      const struct autoscale_number *nums, size_t n, int64_t now,
                      struct autoscale_plan *out)
{
    memset(out, 0, sizeof(*out));
    int64_t size = pool->size + pool->pending;
    int64_t want = 0;
    if (size < cfg->min_size) {
        want = cfg->min_size - size;
        out->why = AUTOSCALE_UNDER_MIN;
    }
    if (pool->new_exhaustion > 0 && want < max64(pool->recommended_size - size, 1)) {
        want = max64(pool->recommended_size - size, 1);
        out->why = AUTOSCALE_EXHAUSTED;
    } else if (pool->recommended_size > size + want) {
        want = pool->recommended_size - size;
        out->why = AUTOSCALE_RECOMMENDED;
    }
    if (want > 0) {
        out->wanted = want;
        int64_t add = min64(want, max64(cfg->max_size - size, 0));
        add = min64(add, AUTOSCALE_MAX_ADD);
        if (add > max64(pool->affordable, 0)) {
            add = max64(pool->affordable, 0);
            out->capped = true;
        }
        out->add = add;
        if (add > 0 || out->capped)
            return;
        out->why = AUTOSCALE_STEADY; /* at the maximum already */
        return;
    }
    if (pool->new_exhaustion > 0 || cfg->idle_release_ms <= 0 || pool->pending > 0)
        return;
    int64_t floor = max64(max64(cfg->min_size, pool->recommended_size), 0);
    int64_t room = min64(pool->size - floor, AUTOSCALE_MAX_RELEASE);
    /* Pick the `room` releasable numbers of oldest activity (selection: n is small). */
    bool taken[256] = {0};
    size_t lim = n < ARRAY_SIZE(taken) ? n : ARRAY_SIZE(taken);
    while ((int64_t)out->n_release < room) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < lim; i++)
            if (!taken[i] && releasable(cfg, &nums[i], now) &&
                (best == SIZE_MAX || activity(&nums[i]) < activity(&nums[best]) ||
                 (activity(&nums[i]) == activity(&nums[best]) &&
                  nums[i].number_id < nums[best].number_id)))
                best = i;
        if (best == SIZE_MAX)
            break;
        taken[best] = true;
        out->release[out->n_release++] = nums[best].number_id;
    }
    if (out->n_release)
        out->why = AUTOSCALE_IDLE;
}

const char *autoscale_why_str(enum autoscale_why why)
{
    switch (why) {
    case AUTOSCALE_UNDER_MIN:
        return "under_min";
    case AUTOSCALE_EXHAUSTED:
        return "exhausted";
    case AUTOSCALE_RECOMMENDED:
        return "recommended";
    case AUTOSCALE_IDLE:
        return "idle";
    case AUTOSCALE_STEADY:
        break;
    }
    return "steady";
}
