/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call reports: group calls by marketing dimensions (channel, source, … location) and by lead
 * status, and count
 * calls, answered, qualified, conversions, value and talk time per group. Pure: the store hands
 * each call's facts to report_add, the handler renders the rows. Ownership: a struct report
 * owns its rows and their key strings (copied from the calls); rows are borrowed until
 * report_free. THREADING: a report is used by one thread; the functions share no state. */
#ifndef OPENDNI_REPORT_REPORT_H
#define OPENDNI_REPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum report_dim {
    REPORT_CHANNEL,
    REPORT_SOURCE,
    REPORT_MEDIUM,
    REPORT_CAMPAIGN,
    REPORT_KEYWORD,
    REPORT_LANDING_PAGE,
    REPORT_DEVICE,
    REPORT_LOCATION,
    REPORT_LEAD_STATUS, /* a person's verdict on the call (app/outcomes.h) */
    REPORT_NUMBER,      /* the tracking number called (E.164) */
    REPORT_POOL,        /* its pool's name */
    REPORT_DAY,         /* YYYY-MM-DD of the call's start (in the report's offset) */
    REPORT_HOUR,        /* "00".."23" of the call's start (in the report's offset) */
    REPORT_REGION,      /* the caller's region from the area code (core/phone.h) */
    REPORT_CONTENT,     /* utm_content of the credited session */
    REPORT_N_DIMS
};

/* The dimensions to group by, in the order asked. n == 0: one row with every call. */
struct report_dims {
    size_t n;
    enum report_dim dim[REPORT_N_DIMS];
};

/* The API name of a dimension ("channel", "landing_page"…). Static string. */
const char *report_dim_name(enum report_dim d);

/* Parses a comma-separated list of dimension names ("channel,campaign"; spaces around names are
 * ignored; NULL or "" gives no dimension). ERR_INVALID with eb->field "group_by" for an unknown,
 * empty or repeated name. out: *dims. */
int report_dims_parse(const char *list, struct report_dims *dims, struct errbuf *eb);

/* One call's facts. key[d] is the call's value for dimension d (NULL or "" = null: an
 * unattributed call, or a value not known); only the grouped dimensions are read. */
struct report_call {
    const char *key[REPORT_N_DIMS];
    const char *status;  /* final status: "completed", "busy", "no-answer"… */
    int64_t duration_s;  /* talk time */
    bool converted;      /* the call has a conversion */
    double value;        /* its value */
    int64_t revenue;     /* the outcome's revenue, minor units; -1 = none */
    int score;           /* core/score */
    int64_t number_cost; /* per-minute number cost of the call, minor units */
    const char *id;      /* the call's API id (kept with report_keep_ids) */
};

/* A group. key[i] is the value of dims.dim[i] (NULL = null). Counters as in report_add. */
struct report_row {
    const char *key[REPORT_N_DIMS];
    size_t n_keys;
    int64_t calls;
    int64_t answered;  /* status "completed" and duration > 0 */
    int64_t qualified; /* answered and duration >= the minimum */
    int64_t conversions;
    double value;                /* sum of conversion values */
    int64_t talk_s;              /* sum of the answered calls' durations */
    int64_t revenue;             /* sum of the outcomes' revenue (minor units) */
    int64_t score_sum;           /* sum of the calls' scores */
    int64_t number_cost;         /* sum of the calls' per-minute number costs */
    int64_t cost;                /* ad spend counted in this row (report_add_cost), minor units */
    bool has_cost;               /* spend was added to this row */
    int64_t number_monthly_cost; /* the numbers' monthly cost over the range (report_add_monthly) */
    const char **ids; /* with report_keep_ids: the API ids of the row's calls, in add order */
};

struct report;

/* A new empty report grouping by dims; qualified calls last at least min_duration_s seconds.
 * Never returns NULL (aborts on out-of-memory). */
struct report *report_new(const struct report_dims *dims, int64_t min_duration_s);
void report_free(struct report *r);

/* Keeps each row's call ids (report_row.ids), for tracing a figure to its calls. */
void report_keep_ids(struct report *r);

/* Counts one call in its group (created on first use). */
void report_add(struct report *r, const struct report_call *c);

/* Adds cost to the group whose keys are key[] (indexed by dimension, like report_call.key);
 * a group without calls is created (calls 0). */
void report_add_cost(struct report *r, const char *const key[REPORT_N_DIMS], int64_t cost);

/* Adds the monthly cost of numbers to the group whose keys are key[] (created if needed). */
void report_add_monthly(struct report *r, const char *const key[REPORT_N_DIMS], int64_t cost);

/* cost / n rounded half up, -1 when n is 0 (the per-call, per-qualified and per-conversion
 * costs). */
int64_t report_cost_per(int64_t cost, int64_t n);

/* The rows, most calls first, then by keys (null before any value, then byte order). Sorted on
 * each call; borrowed until the next report_add or report_free. out: *rows. */
size_t report_rows(struct report *r, const struct report_row *const **rows);

/* Mean talk time of the row's answered calls in whole seconds (rounded half up); 0 if none. */
int64_t report_avg_duration(const struct report_row *row);

/* The answered / qualified rules, for callers that need them on single calls. */
bool report_answered(const char *status, int64_t duration_s);
bool report_qualified(const char *status, int64_t duration_s, int64_t min_duration_s);

#endif
