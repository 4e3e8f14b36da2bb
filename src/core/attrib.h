/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call attribution: given a call on a pool number and the sessions that held that number,
 * decide which session (if any) the call belongs to, how sure we are, and why.
 * Part of the pure core: no I/O, no clock, no allocation; time is always a parameter.
 * Ownership: every pointer argument is borrowed for the duration of the call; results go into
 * caller-owned storage. THREADING: no shared state; every function is reentrant. */
#ifndef OPENDNI_CORE_ATTRIB_H
#define OPENDNI_CORE_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default attribution_window: 30 days, in ms. */
#define ATTRIB_DEFAULT_WINDOW_MS ((int64_t)30 * 24 * 3600 * 1000)

enum attrib_method {
    ATTRIB_EXACT,
    ATTRIB_SHARED,
    ATTRIB_LATE,
    ATTRIB_SOURCE,
    ATTRIB_REPEAT,
    ATTRIB_UNATTRIBUTED
};
enum attrib_device {
    ATTRIB_DEVICE_UNKNOWN = 0,
    ATTRIB_DEVICE_DESKTOP,
    ATTRIB_DEVICE_MOBILE,
    ATTRIB_DEVICE_TABLET
};

/* One session that held (or holds) the called number. */
struct attrib_candidate {
    uint64_t session_id;
    int64_t leased_at;      /* when the session got the number */
    int64_t last_active_at; /* its last page view or heartbeat */
    int64_t ends_at;        /* when its lease ends or ended (last_active_at + ttl) */
    int64_t tel_click_at;   /* latest tel: click on this number by the session, 0 if none */
    enum attrib_device device;
    char region[8]; /* session's coarse geo "US-TX", or "" */
    /* How many of the call's live holders share this candidate's client (same address or IPv6
     * /64, or same visitor id; core/client.h), itself included; 0 and 1 mean alone. The caller
     * counts it over every live holder, also those it could not pass as candidates. */
    uint32_t n_client;
};

struct attrib_call {
    int64_t at;            /* call start */
    char caller_region[8]; /* region of the caller's area code, or "" */
    int64_t window_ms;     /* attribution_window (default 30 days) */
};

struct attrib_result {
    enum attrib_method method; /* EXACT, SHARED, LATE or UNATTRIBUTED from attrib_decide */
    double confidence;         /* 0..1 */
    int chosen;                /* index into candidates, -1 if none */
    int runner_up;             /* index, -1 if none */
    double score, runner_up_score;
    char reason[160]; /* human sentence: why this session (USERS.md #10) */
};

/* Attributes a call on a pool number from the sessions that held it. Candidates in any order;
 * those whose lease covers call->at (leased_at <= at < ends_at) are live. Rules: exactly one
 * live -> EXACT, confidence 1; several live -> SHARED, scored; none live -> LATE to the holder
 * whose lease ended last, if at - ends_at <= window and nobody else held the number since
 * (confidence decaying with the gap: document the curve); else UNATTRIBUTED. Pure.
 *
 * Details:
 * - Candidates with leased_at > call->at got the number after the call and are ignored.
 * - call->window_ms == 0 means ATTRIB_DEFAULT_WINDOW_MS.
 * - EXACT: confidence 1, score = attrib_score() of the holder, no runner-up.
 * - SHARED: the live candidate with the highest attrib_score() wins; confidence = its score /
 *   the sum over live candidates; runner_up is the second best. Ties are broken by the later
 *   tel: click, then the later activity, then the lower session_id, so the result does not
 *   depend on the order of the candidates.
 * - LATE: the last holder is the candidate with the latest ends_at among real holdings
 *   (ends_at > leased_at). It is credited if the gap at - ends_at is within the window and no
 *   other candidate got the number in [ends_at, at] (a lease cut short at once, ends_at <=
 *   leased_at, still showed the number to someone and blocks). Confidence follows
 *   attrib_late_confidence(gap); if several holders ended at the same instant, it is further
 *   multiplied by the winner's share of their scores. runner_up is the holder that ended next.
 * - UNATTRIBUTED: confidence 0, chosen -1. If a last holder existed but was refused (outside
 *   the window, or blocked), runner_up is that holder, so callers can show the near miss.
 * - reason is always filled with one lowercase sentence without a trailing period.
 * Returns ERR_OK, or ERR_INVALID (call or out NULL, c NULL with n > 0, n > INT_MAX, or a
 * negative window); on error *out is still set to UNATTRIBUTED. */
int attrib_decide(const struct attrib_call *call, const struct attrib_candidate *c, size_t n,
                  struct attrib_result *out);

/* Score of one candidate for a call (exposed for tests and the simulator). Always > 0 and
 * finite; only ratios between candidates of one call mean anything. The score is the product
 * of independent factors (constants in attrib.c):
 *   recency: 0.05 + 0.95 * 0.5^(idle / 10 min), idle = at - max(last_active_at, tel click);
 *   tel: click on the number at most 2 min before the call (or up to 30 s after, for beacons
 *     that land after the webhook): x21, then 1 + 20 * 0.5^((age - 2 min) / 5 min);
 *   caller region equal to the session region (both non-empty): x1.5;
 *   device: mobile x1.4, tablet x1.2, desktop and unknown x1;
 *   client: x 1/n_client, so the live holders of one client split one voice: a flood of
 *     sessions from one address that all clicked weighs as much as one visitor who clicked,
 *     never more, and each of its sessions weighs 1/n of that. */
double attrib_score(const struct attrib_call *call, const struct attrib_candidate *c);

/* Confidence of a LATE attribution whose lease ended gap_ms before the call:
 * 0.9 / (1 + gap / 1 day), so 0.9 at once, ~0.86 after an hour, 0.45 after a day, ~0.03 after
 * 30 days; strictly decreasing. A negative gap counts as 0. */
double attrib_late_confidence(int64_t gap_ms);

/* Static lowercase name: "exact", "shared", "late", "source", "repeat", "unattributed"
 * (the API's attribution.method values); "unknown" for a value outside the enum. */
const char *attrib_method_name(enum attrib_method m);

/* Parses a name written by attrib_method_name. Returns ERR_OK or ERR_INVALID.
 * out: *m (untouched on error). */
int attrib_method_parse(const char *s, enum attrib_method *m);

/* Static lowercase name: "desktop", "mobile", "tablet", or "unknown". */
const char *attrib_device_name(enum attrib_device d);

/* Parses "desktop", "mobile", "tablet" (ASCII case-insensitive) or "unknown"/"" to the enum.
 * Returns ERR_OK or ERR_INVALID. out: *d (untouched on error). */
int attrib_device_parse(const char *s, enum attrib_device *d);

/* ---- rules 4 and 5 (DESIGN.md "Attribution rules"): no lease history needed ---- */

#define ATTRIB_TEXT_MAX 256
/* A repeat caller credited to their first session gets this share of its confidence. */
#define ATTRIB_REPEAT_SHARE 0.5

/* What a call is credited to by a fixed source (rule 4) or as a repeat caller (rule 5). Strings
 * are "" when unknown. */
struct attrib_credit {
    enum attrib_method method;
    double confidence;
    uint64_t session_id;       /* credited session, 0 = none */
    uint64_t first_session_id; /* a repeat caller's first touch, 0 = none */
    char channel[32];
    char source[ATTRIB_TEXT_MAX];
    char medium[ATTRIB_TEXT_MAX];
    char campaign[ATTRIB_TEXT_MAX];
    char reason[160];
};

/* Rule 4, a source (offline) number: its fixed source, method SOURCE, confidence 1; the channel
 * is what classify gives a visit tagged utm_source=source&utm_medium=medium, so a billboard
 * number lands in the same report row as a billboard landing page. NULL strings read as "".
 * out: *out (cleared first). */
void attrib_source_number(const char *source, const char *medium, const char *campaign,
                          struct attrib_credit *out);

/* Rule 4, a pool's fallback number (shown only while the pool was exhausted): source-level
 * credit to the pool, channel = the pool's only channel (pool_channel, "" or NULL when it
 * serves several). out: *out (cleared first). */
void attrib_fallback_number(const char *pool_name, const char *pool_channel,
                            struct attrib_credit *out);

/* Rule 5, a caller whose earliest attributed call was credited to first_session_id (0: none)
 * with first_confidence: notes it as the first touch, and credits a call that nothing else
 * explained (method UNATTRIBUTED) to it with ATTRIB_REPEAT_SHARE of that confidence, its
 * reason saying why (the previous reason kept in it). Returns true if c changed. */
bool attrib_repeat(struct attrib_credit *c, uint64_t first_session_id, double first_confidence);

#endif
