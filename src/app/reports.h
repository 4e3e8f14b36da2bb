/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The money side of reports (docs/reports.md): the calls report filled with each call's score,
 * revenue and number cost and the account's ad spend, and the spend import (POST /v1/spend:
 * report/spend.h reads the file, the store keeps one row per day, platform, campaign and
 * keyword). Ownership: arguments borrowed for the call; the report belongs to the caller.
 * THREADING: any HTTP thread, at once. */
#ifndef OPENDNI_APP_REPORTS_H
#define OPENDNI_APP_REPORTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "report/report.h"
#include "report/spend.h"
#include "app/records.h"

struct app;

#define REPORTS_LEAD_STATUSES 5 /* new, qualified, won, lost, spam */

struct reports_query {
    int64_t since, until; /* since <= started_at < until */
    unsigned leads;       /* bit i: the i-th lead status of reports_lead_bit; ~0u = every call */
    int tz_offset_min;    /* the day and hour keys' offset east of UTC */
};

/* The bit of a lead status ("new" … "spam"), 0 for anything else. */
unsigned reports_lead_bit(const char *status);

/* What reports_calls found besides the rows. */
struct reports_info {
    bool costed;      /* the grouping allows ad spend (channel, campaign, keyword, day only) */
    bool monthly;     /* the grouping allows the numbers' monthly cost (number, pool only) */
    char currency[8]; /* the account's currency (settings conversion.currency) */
    int64_t min_duration_s;
};

/* The account's minimum talk time for a qualified call (its conversion rules' min_duration). */
int64_t reports_min_duration(const struct st_account *a);

/* Fills r (made by the caller with report_new(dims, reports_min_duration(a))) with the
 * account's calls of q's range and, when dims allow it, the ad spend of the days whose UTC
 * midnight is in the range. ERR_BACKEND with eb set when the store cannot answer. */
int reports_calls(struct app *app, const struct st_account *a, const struct report_dims *dims,
                  const struct reports_query *q, struct report *r, struct reports_info *info,
                  struct errbuf *eb);

/* POST /v1/spend: parses body as platform's export; unless preview (or when a row is bad and
 * not skip_bad), replaces the account's spend of each day in the file in one transaction.
 * The file's currency must be the account's (ERR_CONFLICT otherwise, nothing written);
 * default_currency (may be NULL: the account's) is used when the file names none. *out gets
 * the answer {platform, currency, preview, imported, rows, days, total_cost, skipped_lines,
 * errors}; *bad is true when the file had row errors and nothing was imported (the caller
 * answers 422 with *out). Returns ERR_OK (also with *bad), ERR_CONFLICT, ERR_BACKEND. */
int reports_spend_import(struct app *app, const struct st_account *a, enum spend_platform p,
                         const char *body, size_t len, const char *default_currency, bool preview,
                         bool skip_bad, int64_t now, json_t **out, bool *bad, struct errbuf *eb);

/* GET /v1/spend: the account's spend rows of days [since_day, until_day). */
int reports_spend_list(struct app *app, int64_t account_id, const char *since_day,
                       const char *until_day, json_t **out, struct errbuf *eb);

/* GET /v1/reports/funnel: the account's sessions created in [since, until), each counted at
 * every stage it reached — visits, shown (held a number), engaged (a tel: click or chat),
 * calls (a call was credited to it), qualified, converted — one row per value of `by`, with
 * the drop at each stage. ids (include=call_ids): each row and the totals also list the API ids
 * of the calls credited to its sessions (call_ids) and those of them that qualify
 * (qualified_call_ids), read by one more store read. */
enum reports_funnel_by {
    REPORTS_FUNNEL_NONE,
    REPORTS_FUNNEL_CHANNEL,
    REPORTS_FUNNEL_SOURCE,
    REPORTS_FUNNEL_CAMPAIGN
};
/* "" or NULL (none), "channel", "source", "campaign"; ERR_INVALID (field group_by) else. */
int reports_funnel_parse(const char *s, enum reports_funnel_by *by, struct errbuf *eb);
int reports_funnel(struct app *app, const struct st_account *a, int64_t since, int64_t until,
                   enum reports_funnel_by by, bool ids, json_t **out, struct errbuf *eb);

/* GET /v1/reports/cohorts: visitors by the week (Monday 00:00 UTC) of their first visit in
 * [since, until), with the calls credited to any of their sessions and those calls' revenue in
 * week 0 (the cohort's week) to weeks-1 after it. ids (include=call_ids): each week cell also
 * lists the API ids of the calls it counts, read by one more store read. */
#define REPORTS_MAX_WEEKS 52
int reports_cohorts(struct app *app, const struct st_account *a, int64_t since, int64_t until,
                    int weeks, bool ids, json_t **out, struct errbuf *eb);

/* GET /v1/exports/calls.csv: one CSV row per call of q's range (the calls of GET /v1/calls and
 * of the calls report), with its attribution, outcome, conversion, score and reasons and
 * per-minute number cost; user-written values neutralized (report/csv.h). *rows: rows
 * written. ERR_TOOBIG when out's limit is reached, ERR_BACKEND. */
int reports_export_calls(struct app *app, const struct st_account *a, const struct reports_query *q,
                         struct buf *out, int64_t *rows, struct errbuf *eb);

/* The UTC day of a Unix ms time, "YYYY-MM-DD"; with offset_min east of UTC. out: day. */
void reports_day(int64_t at, int offset_min, char day[11]);

#endif
