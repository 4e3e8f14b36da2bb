/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call scoring: an advisory score from 0 up with the reasons that make it up, from the facts a
 * call has once it ended — answered, talk time, first-time caller. (IVR digits are not an
 * input: calls carry none yet. Words spoken in a call are out of scope.) A score is advisory
 * (DESIGN.md "Call outcomes"): "qualified" stays the conversion rules' measure.
 * Part of the pure core: no I/O, no allocation. THREADING: reentrant. */
#ifndef OPENDNI_CORE_SCORE_H
#define OPENDNI_CORE_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCORE_MAX_STEPS 8
#define SCORE_MAX_REASONS (SCORE_MAX_STEPS + 2)
#define SCORE_REASON_MAX 64

/* Points per fact. A talk-time step adds its points when the talk time is at least min_s; every
 * step met counts (steps at 60 s and 180 s give a 200 s call both). */
struct score_rules {
    int answered;   /* status completed with talk time > 0 */
    int first_time; /* the caller never called the account before */
    size_t n_steps;
    struct {
        int64_t min_s;
        int points;
    } steps[SCORE_MAX_STEPS];
};

struct score_call {
    const char *status; /* "completed", "busy", "no-answer"… (NULL = unknown) */
    int64_t duration_s; /* talk time */
    bool first_time_caller;
};

struct score_result {
    int score;
    size_t n_reasons;
    char reasons[SCORE_MAX_REASONS][SCORE_REASON_MAX]; /* "answered +25", in rule order */
};

/* answered 25, first-time caller 25, talk time >= 60 s 25, >= 180 s 25 (at most 100). */
void score_rules_default(struct score_rules *r);

/* Scores c under r. A call that was not answered gets only the first-time points (talk-time
 * steps need an answered call). Rules worth 0 points give no reason. out: *out. */
void score_call(const struct score_rules *r, const struct score_call *c, struct score_result *out);

#endif
