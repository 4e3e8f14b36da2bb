/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Conversion rules: does a finished call count as a conversion, and what is it worth.
 * Part of the pure core: no I/O, no allocation. Ownership: the rules and the call are borrowed
 * for the duration of each call; the rules' strings and value table belong to the caller and
 * must outlive the rules. THREADING: no shared state; every function is reentrant. */
#ifndef OPENDNI_CORE_CONVERT_H
#define OPENDNI_CORE_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONVERT_DEFAULT_MIN_DURATION_S 60
#define CONVERT_DEFAULT_NAME "Phone call"

/* A value override: applies to calls whose channel and campaign match (NULL = any).
 * Names compare ASCII case-insensitively ("Spring_Sale" matches "spring_sale"). */
struct convert_value {
    const char *channel;
    const char *campaign;
    double value;
};

struct convert_rules {
    int64_t min_duration_s; /* default 60 */
    bool answered_only;     /* default true: status completed with duration > 0 */
    bool first_time_only;   /* default false */
    double value;           /* default value of a conversion (0 = none) */
    const struct convert_value *values;
    size_t n_values;  /* per channel/campaign overrides */
    const char *name; /* conversion name, default "Phone call" */
    /* NULL or "": any call. Else the digits the caller pressed in the routing plan's menus and
     * screens (in order) must begin with these ("1": pressed 1 first; "12": 1, then 2). */
    const char *ivr_digits;
};

/* What the rules look at in a call. Strings are borrowed; NULL means unknown. */
struct convert_call {
    const char *status;     /* API call status: "completed", "busy", "no-answer"… */
    int64_t duration_s;     /* talk time in seconds */
    bool first_time_caller; /* the caller never called this account before */
    const char *channel;    /* attributed channel ("paid_search"), NULL if unattributed */
    const char *campaign;   /* attributed campaign, NULL if none */
    const char *digits;     /* IVR digits pressed (a routed call), NULL or "" if none */
};

/* Fills r with the defaults: 60 s minimum, answered calls only, any caller, value 0, no
 * overrides, name "Phone call". Never fails. out: *r. */
void convert_rules_default(struct convert_rules *r);

/* true if the call is a conversion under r: duration_s >= min_duration_s, and when
 * answered_only the status is "completed" with duration_s > 0, when first_time_only the
 * caller is a first-time caller, and when ivr_digits is set the call's digits begin with it. A NULL
 * rules or call, or a negative duration, is never a conversion. *out_value (if out_value is
 * non-NULL) gets the value: the first override whose campaign matches (and whose channel, if set,
 * matches too) beats the first channel-only match, which beats a catch-all override (both NULL),
 * which beats r->value; 0 when the call is not a conversion. */
bool convert_check(const struct convert_rules *r, const struct convert_call *c, double *out_value);

/* The value a conversion of c would have under r (the precedence of convert_check), whether or
 * not c qualifies. Returns r->value when no override matches; 0 for NULL arguments. */
double convert_value_of(const struct convert_rules *r, const struct convert_call *c);

#endif
