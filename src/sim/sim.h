/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/sim: replays a trace through the lease engine (core/pool) and the attribution rules
 * (core/attrib) exactly as the server runs them, for one pool size or a sweep, and counts how
 * many calls would be credited to the session that really placed them.
 * Ownership: the trace is borrowed read-only; results go into caller-owned storage.
 * THREADING: sim_run is reentrant (one engine per call, nothing shared but the read-only trace);
 * sim_sweep starts its own worker threads and joins them before returning. */
#ifndef OPENDNI_SIM_SIM_H
#define OPENDNI_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/attrib.h"
#include "core/pool.h"
#include "sim/trace.h"

#define SIM_POOL_MAX 1000000u                   /* largest pool a simulation accepts */
#define SIM_WITHIN_MS ((int64_t)30 * 60 * 1000) /* accuracy_within_30min: call <= 30 min after */
/* Trace time 0 maps to this Unix time (2026-01-01T00:00:00Z), so that no event lands on 0,
 * which core/attrib reads as "no tel: click". */
#define SIM_EPOCH_MS INT64_C(1767225600000)

/* Which lease and attribution policy a replay runs. */
enum sim_policy {
    SIM_POLICY_NEW = 0, /* issue 20: rests by what the holder did (pool_config_rests_default),
                         * signals noted on the engine (taps, copies, credited calls), and the
                         * likelihood model over every past holder (attrib_decide_model) */
    SIM_POLICY_OLD = 1, /* idle-longest, rules exact / shared / late (attrib_decide), copies
                         * ignored: the server before issue 20 */
};

/* Training data for attrib_fit, collected by sim_fit: per call with a true session among its
 * candidates, their feature bits and the index of the true one. */
struct sim_fit_data {
    uint32_t *x;
    size_t n_x, cap_x;
    size_t *start; /* n_sets + 1 entries once finished */
    uint32_t *label;
    size_t n_sets, cap_sets;
};

struct sim_config {
    uint32_t pool_size;  /* numbers in the pool, 1..SIM_POOL_MAX */
    int64_t ttl_ms;      /* lease ttl (default 20 min) */
    int64_t cooldown_ms; /* default 30 min */
    enum pool_exhaust on_exhaust;
    int64_t window_ms; /* attribution window (default ATTRIB_DEFAULT_WINDOW_MS) */
    uint64_t seed;     /* picks the numbers dialled by callers with no session */
    enum sim_policy policy;
    const struct attrib_model *model; /* new policy's weights; NULL = attrib_model_default */
};

/*
 * What one pool size gave. Every call lands in exactly one of correct, misattributed and
 * unattributed (so they sum to calls):
 *   correct        credited to the session that placed it;
 *   misattributed  credited to another session (also: a caller with no session credited to one);
 *   unattributed   credited to no session (method unattributed, or source: the fallback number).
 * attributable counts the calls with a true session; accuracy = correct / attributable. The
 * within_30min pair counts the attributable calls placed at most 30 min after their session's
 * last activity (visit, page view or tel: click).
 */
struct sim_result {
    uint32_t pool_size;
    uint64_t calls, attributable, correct, misattributed, unattributed;
    uint64_t within_30min, within_30min_correct;
    uint64_t by_method[ATTRIB_UNATTRIBUTED + 1]; /* indexed by enum attrib_method */
    uint64_t exhaustion_events;
    uint32_t peak_concurrent; /* from the engine's pool health */
};

/* Fills cfg with the defaults: ttl 1200 s, cooldown 1800 s, share, 30-day window, seed 1,
 * the new policy with the default weights; pool_size 0 (the caller must set it). */
void sim_config_default(struct sim_config *cfg);

/* Replays t through a fresh engine with cfg. Returns ERR_OK, or ERR_INVALID if pool_size is 0
 * or above SIM_POOL_MAX (nothing is run). out: *out. */
int sim_run(const struct sim_trace *t, const struct sim_config *cfg, struct sim_result *out);

/* sim_run for each of sizes[0..n) with the rest of base, on up to n_threads threads (one engine
 * per pool size; 0 or 1 runs them on the calling thread). out[i] is the result for sizes[i], the
 * same whatever the thread count. Returns ERR_OK, or the first error of sim_run. */
int sim_sweep(const struct sim_trace *t, const struct sim_config *base, const uint32_t *sizes,
              size_t n, unsigned n_threads, struct sim_result *out);

/* Replays t under cfg (the new policy) and fits the model's weights on the trace's truth: every
 * call placed by a tracked session whose session is among the dialled number's holders is one
 * training set (its candidates as the replay sees them). l2 as attrib_fit. Returns ERR_OK with
 * *out and *n_sets (calls used) set, or ERR_INVALID (bad pool size, no usable call). */
int sim_fit(const struct sim_trace *t, const struct sim_config *cfg, double l2,
            struct attrib_model *out, size_t *n_sets);

/* accuracy (correct / attributable) and the within-30-min one; NaN when the denominator is 0. */
double sim_accuracy(const struct sim_result *r);
double sim_accuracy_30min(const struct sim_result *r);

#endif
