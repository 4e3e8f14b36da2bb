/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/trace: the traffic a simulation replays, in memory, and its normative CSV form
 * (API.md "Simulator"): `time,event,session,device,region`, rows in non-decreasing time, and the
 * optional columns after those five (`caller`, `copy`: docs/pool-sizing.md).
 * Also the traffic statistics behind the vendors' rules of thumb for pool size.
 * Ownership: a struct sim_trace owns its arrays; sim_trace_release frees them. Readers borrow
 * the FILE they are given and never close it. THREADING: a finished trace is read-only and may
 * be replayed by several threads at once; building one is single-threaded. */
#ifndef OPENDNI_SIM_TRACE_H
#define OPENDNI_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define SIM_REGION_MAX 8         /* "US-TX" + NUL, as attrib_candidate.region */
#define SIM_REGIONS_MAX 4096     /* distinct regions in one trace */
#define SIM_SESSION_NAME_MAX 128 /* longest session id in a CSV trace, in bytes */
#define SIM_SESSIONS_MAX (UINT32_MAX - 1)

enum sim_kind { SIM_VISIT = 0, SIM_PAGEVIEW = 1, SIM_TEL_CLICK = 2, SIM_CALL = 3 };

/* sim_event.flags: the tel_click was a copy of the number to the clipboard, not a tap. */
#define SIM_FLAG_COPY 1u

/* One row. 24 bytes, so a month of busy traffic (tens of millions of rows) fits in memory. */
struct sim_event {
    int64_t at;       /* ms from the trace start (>= 0) */
    uint32_t session; /* 1-based session index; 0 only for a call by someone with no session */
    uint32_t caller;  /* calls: 1-based caller index (same index, same caller); 0 = unknown */
    uint16_t region;  /* index into the region table (0 = ""): visit region, or caller region */
    uint8_t kind;     /* enum sim_kind */
    uint8_t device;   /* enum attrib_device, visits only (0 = unknown) */
    uint8_t flags;    /* SIM_FLAG_*: tel_click rows only */
};

struct sim_trace {
    struct sim_event *ev; /* rows in non-decreasing `at` */
    size_t n_ev, cap_ev;
    uint32_t n_sessions; /* sessions are 1..n_sessions */
    uint8_t *device;     /* [1..n_sessions]: enum attrib_device of each session */
    uint16_t *region;    /* [1..n_sessions]: region index of each session */
    uint32_t cap_sessions;
    char (*regions)[SIM_REGION_MAX]; /* [0] is "" */
    uint32_t n_regions, cap_regions;
    uint32_t n_callers; /* callers are 1..n_callers (sim_trace_add_caller) */
    bool extended;      /* has the optional columns caller and copy (written when set) */
};

/* Traffic facts for the rules of thumb (computed by sim_trace_stats). */
struct sim_stats {
    uint32_t sessions;
    uint64_t calls, session_calls; /* all calls; calls with a true session */
    double days;                   /* whole days spanned by the visits (>= 1) */
    double visits_per_day;         /* sessions / days */
    uint32_t peak_hourly_visits;   /* most visits started in one clock hour of the trace */
    double mean_session_min;       /* mean of (last activity - visit), minutes */
    uint32_t peak_concurrent;      /* most sessions live at once (visit .. last activity + ttl) */
};

/* The vendors' rules of thumb, in the order of struct sim_rules.size[]. */
enum {
    SIM_RULE_CONCURRENT,
    SIM_RULE_QUARTER_HOURLY,
    SIM_RULE_DAILY_20,
    SIM_RULE_SESSION_MIN,
    SIM_RULES
};

struct sim_rules {
    uint32_t size[SIM_RULES];
};

/* ---- lifecycle ---- */

/* An empty trace (one region "", no sessions, no rows). Release with sim_trace_release. */
void sim_trace_init(struct sim_trace *t);
/* Frees everything and leaves t empty and reusable (sim_trace_init again). A zeroed t is ok. */
void sim_trace_release(struct sim_trace *t);

/* ---- building (the synthetic generator uses these) ---- */

/* Index of region (interned; "" is 0). Returns ERR_OK, ERR_INVALID if the text is not a
 * region (see sim_region_valid) or ERR_TOOBIG past SIM_REGIONS_MAX. out: *idx. */
int sim_trace_region(struct sim_trace *t, const char *region, uint16_t *idx);
/* A new session with its device and region index; returns its 1-based index (the caller then
 * appends its visit row). Aborts on out of memory like xmalloc. */
uint32_t sim_trace_add_session(struct sim_trace *t, uint8_t device, uint16_t region);
/* A new caller index (1-based), for the caller column of call rows; sets t->extended. */
uint32_t sim_trace_add_caller(struct sim_trace *t);
/* Appends a row (no ordering check: sim_trace_sort() or sim_trace_check() afterwards). */
void sim_trace_push(struct sim_trace *t, const struct sim_event *e);
/* Stable sort of the rows by time: same-time rows keep their order (a session's visit stays
 * before its own same-ms page view). O(n) radix sort. */
void sim_trace_sort(struct sim_trace *t);

/* ---- CSV ---- */

/* True if s is "" or a coarse region: two uppercase letters ("JM") optionally followed by '-' and
 * 1-3 uppercase letters or digits ("US-TX", "CA-ON"). */
bool sim_region_valid(const char *s);

/* Reads a CSV trace from f into t (which must be freshly initialised). name is used in error
 * messages, which read "NAME:LINE: reason" (e.g. "trace.csv:17: unknown event 'clik'").
 * Rules: the header line starts `time,event,session,device,region`, optionally followed by the
 * columns `caller` and `copy` (each at most once, in any order); every row has as many fields as
 * the header (no quoting); a call's caller is any id (same id, same caller; empty = unknown),
 * a tel_click's copy is 1 (the number was copied, not tapped), 0 or empty; both are ignored on
 * other rows; time is a non-negative decimal number of seconds, never below the row
 * before; a visit names a new session with device mobile|desktop|tablet (or empty) and a valid
 * region; pageview and tel_click name a session that visited before (device/region ignored);
 * a call names such a session or none, and region is the caller's. Empty lines are skipped.
 * Returns ERR_OK, ERR_INVALID (a bad row or header; detail in eb), ERR_TOOBIG (a line over
 * 1 KiB, or too many sessions or regions) or ERR_IO (read error). On error t holds what was
 * read so far; release it. */
int sim_trace_read(struct sim_trace *t, FILE *f, const char *name, struct errbuf *eb);

/* Writes t as a CSV trace (session i is written as "s<i>", caller i as "c<i>", time in seconds
 * with 3 decimals); the columns caller and copy follow the five only when t->extended.
 * Returns ERR_OK or ERR_IO. */
int sim_trace_write(const struct sim_trace *t, FILE *f);

/* ---- statistics ---- */

/* Fills *out from t; ttl_ms is the lease ttl used for peak_concurrent. */
void sim_trace_stats(const struct sim_trace *t, int64_t ttl_ms, struct sim_stats *out);

/* The four rules of thumb applied to s (each at least 1):
 *   CONCURRENT       one number per concurrent visitor: peak_concurrent;
 *   QUARTER_HOURLY   a quarter of peak hourly visitors: ceil(peak_hourly / 4);
 *   DAILY_20         one per 20 daily visitors: ceil(visits_per_day / 20);
 *   SESSION_MIN      peak hourly visitors / (60 / session minutes):
 *                    ceil(peak_hourly * mean_session_min / 60). */
void sim_rules_of_thumb(const struct sim_stats *s, struct sim_rules *out);

/* Static short description of rule i ("1 per concurrent visitor", …), "" out of range. */
const char *sim_rule_name(int i);

#endif
