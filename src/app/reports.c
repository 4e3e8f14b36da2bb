/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The money side of reports (see reports.h). */
#include "base/prelude.h"
#include "app/reports.h"

#include <time.h>

#include "base/json.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "core/score.h"
#include "app/app.h"
#include "app/calls.h"

#define DAY_MS ((int64_t)86400 * 1000)

static const char *const lead_statuses[REPORTS_LEAD_STATUSES] = {"new", "qualified", "won",
                                                                 "lost", "spam"};

unsigned reports_lead_bit(const char *status)
{
    for (size_t i = 0; status && i < ARRAY_SIZE(lead_statuses); i++)
        if (strcmp(status, lead_statuses[i]) == 0)
            return 1u << i;
    return 0;
}

int64_t reports_min_duration(const struct st_account *a)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    return cs.rules.min_duration_s;
}

static void split_time(int64_t at, int offset_min, struct tm *tm)
{
    int64_t s = at / 1000 + (int64_t)offset_min * 60;
    if (at % 1000 < 0)
        s--;
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
}

void reports_day(int64_t at, int offset_min, char day[11])
{
    struct tm tm;
    split_time(at, offset_min, &tm);
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)(tm.tm_mon + 1) % 100u,
             d = (unsigned)tm.tm_mday % 100u;
    snprintf(day, 11, "%04u-%02u-%02u", y, m, d);
}

/* ---- the calls report ---- */

struct fill {
    struct report *r;
    const struct reports_query *q;
    const struct calls_settings *cs;
};

static int add_call(void *ctx, const struct st_report_call *c)
{
    struct fill *f = ctx;
    if (!(f->q->leads & reports_lead_bit(c->lead_status)))
        return 0;
    struct score_result score;
    score_call(&f->cs->score,
               &(struct score_call){.status = c->status,
                                    .duration_s = c->duration_s,
                                    .first_time_caller = c->first_time},
               &score);
    int64_t monthly, per_minute;
    calls_number_costs(f->cs, c->provider, &monthly, &per_minute);
    char day[11], hour[3];
    struct tm tm;
    split_time(c->started_at, f->q->tz_offset_min, &tm);
    reports_day(c->started_at, f->q->tz_offset_min, day);
    hour[0] = (char)('0' + (tm.tm_hour / 10) % 10);
    hour[1] = (char)('0' + tm.tm_hour % 10);
    hour[2] = '\0';
    struct report_call rc = {.status = c->status,
                             .duration_s = c->duration_s,
                             .converted = c->converted,
                             .value = c->value,
                             .revenue = c->revenue,
                             .score = score.score,
                             .number_cost = c->duration_s > 0
                                                ? per_minute * ((c->duration_s + 59) / 60)
                                                : 0,
                             .id = c->call_ext};
    rc.key[REPORT_CHANNEL] = c->channel;
    rc.key[REPORT_SOURCE] = c->source;
    rc.key[REPORT_MEDIUM] = c->medium;
    rc.key[REPORT_CAMPAIGN] = c->campaign;
    rc.key[REPORT_KEYWORD] = c->keyword;
    rc.key[REPORT_LANDING_PAGE] = c->landing_page;
    rc.key[REPORT_DEVICE] = c->device;
    rc.key[REPORT_LOCATION] = NULL; /* calls carry no location yet */
    rc.key[REPORT_LEAD_STATUS] = c->lead_status;
    rc.key[REPORT_NUMBER] = c->to;
    rc.key[REPORT_POOL] = c->pool;
    rc.key[REPORT_DAY] = day;
    rc.key[REPORT_HOUR] = hour;
    rc.key[REPORT_REGION] = phone_region(c->from);
    rc.key[REPORT_CONTENT] = c->content;
    report_add(f->r, &rc);
    return 0;
}

/* Spend can be put in a row only when every grouped dimension is one a spend row has. */
static bool spend_fits(const struct report_dims *dims)
{
    for (size_t i = 0; i < dims->n; i++) {
        enum report_dim d = dims->dim[i];
        if (d != REPORT_CHANNEL && d != REPORT_CAMPAIGN && d != REPORT_KEYWORD && d != REPORT_DAY)
            return false;
    }
    return true;
}

static int add_spend(void *ctx, const struct st_spend_row *w)
{
    struct report *r = ctx;
    enum spend_platform p;
    if (spend_platform_parse(w->platform, &p, NULL) != ERR_OK)
        return 0;
    const char *key[REPORT_N_DIMS] = {0};
    key[REPORT_CHANNEL] = spend_platform_channel(p);
    key[REPORT_CAMPAIGN] = w->campaign;
    key[REPORT_KEYWORD] = w->keyword[0] ? w->keyword : NULL;
    key[REPORT_DAY] = w->day;
    report_add_cost(r, key, w->cost);
    return 0;
}

/* The days whose UTC midnight is in [since, until): [since_day, until_day). */
static void spend_days(int64_t since, int64_t until, char since_day[11], char until_day[11])
{
    reports_day(since + DAY_MS - 1, 0, since_day);
    reports_day(until + DAY_MS - 1, 0, until_day);
}

int reports_calls(struct app *app, const struct st_account *a, const struct report_dims *dims,
                  const struct reports_query *q, struct report *r, struct reports_info *info,
                  struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    *info = (struct reports_info){.costed = spend_fits(dims),
                                  .min_duration_s = cs.rules.min_duration_s};
    snprintf(info->currency, sizeof(info->currency), "%s", cs.currency);
    struct fill f = {r, q, &cs};
    int rc = store_report_calls(app->store, a->id, q->since, q->until, add_call, &f);
    if (rc == ERR_OK && info->costed) {
        char since_day[11], until_day[11];
        spend_days(q->since, q->until, since_day, until_day);
        rc = store_spend_list(app->store, a->id, since_day, until_day, add_spend, r);
    }
    if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot read the calls");
    return ERR_OK;
}

/* ---- spend import ---- */

static json_t *spend_answer(const struct spend_file *f, bool preview, bool imported)
{
    json_t *rows = json_array(), *days = json_array(), *errors = json_array();
    int64_t total = 0;
    for (size_t i = 0; i < f->n_rows; i++) {
        const struct spend_row *w = &f->rows[i];
        total += w->cost;
        json_array_append_new(rows, json_pack("{s:s,s:s,s:o,s:I,s:I}", "day", w->day, "campaign",
                                              w->campaign, "keyword", json_str_or_null(w->keyword),
                                              "cost", (json_int_t)w->cost, "line",
                                              (json_int_t)w->line));
        if (i == 0 || strcmp(w->day, f->rows[i - 1].day) != 0)
            json_array_append_new(days, json_string(w->day));
    }
    for (size_t i = 0; i < f->n_errors; i++)
        json_array_append_new(errors,
                              json_pack("{s:I,s:o,s:s}", "line", (json_int_t)f->errors[i].line,
                                        "column", json_str_or_null(f->errors[i].column),
                                        "message", f->errors[i].message));
    return json_pack("{s:s,s:o,s:b,s:b,s:o,s:o,s:I,s:I,s:o,s:I}", "platform",
                     spend_platform_name(f->platform), "currency", json_str_or_null(f->currency),
                     "preview", preview, "imported", imported, "rows", rows, "days", days,
                     "total_cost", (json_int_t)total, "skipped_lines", (json_int_t)f->skipped,
                     "errors", errors, "more_errors", (json_int_t)f->more_errors);
}

static int spend_write(struct app *app, int64_t account_id, const struct spend_file *f,
                       int64_t now)
{
    struct st_spend_row *rows = xcalloc(f->n_rows ? f->n_rows : 1, sizeof(*rows));
    for (size_t i = 0; i < f->n_rows; i++) {
        snprintf(rows[i].day, sizeof(rows[i].day), "%s", f->rows[i].day);
        snprintf(rows[i].campaign, sizeof(rows[i].campaign), "%s", f->rows[i].campaign);
        snprintf(rows[i].keyword, sizeof(rows[i].keyword), "%s", f->rows[i].keyword);
        rows[i].cost = f->rows[i].cost;
    }
    struct store *s = app->store;
    int rc = store_begin(s);
    if (rc == ERR_OK)
        rc = store_spend_replace(s, account_id, spend_platform_name(f->platform), f->currency,
                                 rows, f->n_rows, now);
    if (rc == ERR_OK)
        rc = store_commit(s);
    else
        store_rollback(s);
    free(rows);
    return rc;
}

int reports_spend_import(struct app *app, const struct st_account *a, enum spend_platform p,
                         const char *body, size_t len, const char *default_currency,
                         bool preview, bool skip_bad, int64_t now, json_t **out, bool *bad,
                         struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    struct spend_file f;
    int parsed = spend_parse(p, body, len,
                             default_currency && *default_currency ? default_currency
                                                                   : cs.currency,
                             &f);
    *bad = parsed != ERR_OK && (!skip_bad || f.n_rows == 0);
    *out = NULL;
    int rc = ERR_OK;
    if (f.currency[0] && strcmp(f.currency, cs.currency) != 0)
        rc = errf(eb, ERR_CONFLICT, "currency",
                  "the file's spend is in %s; the account's currency is %s (one currency per "
                  "account: settings conversion.currency)",
                  f.currency, cs.currency);
    bool imported = false;
    if (rc == ERR_OK && !preview && !*bad) {
        rc = spend_write(app, a->id, &f, now);
        if (rc == ERR_CONFLICT)
            errf(eb, rc, "currency",
                 "the account has spend in another currency than %s: delete it first",
                 f.currency);
        else if (rc)
            rc = errf(eb, ERR_BACKEND, NULL, "cannot import the spend");
        imported = rc == ERR_OK;
    }
    if (rc == ERR_OK)
        *out = spend_answer(&f, preview, imported);
    spend_file_free(&f);
    return rc;
}

/* ---- spend list ---- */

static int list_row(void *ctx, const struct st_spend_row *w)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:o,s:I,s:s}", "day", w->day, "platform",
                                         w->platform, "campaign", w->campaign, "keyword",
                                         json_str_or_null(w->keyword), "cost",
                                         (json_int_t)w->cost, "currency", w->currency));
    return 0;
}

int reports_spend_list(struct app *app, int64_t account_id, const char *since_day,
                       const char *until_day, json_t **out, struct errbuf *eb)
{
    json_t *rows = json_array();
    int rc = store_spend_list(app->store, account_id, since_day, until_day, list_row, rows);
    if (rc) {
        json_decref(rows);
        return errf(eb, ERR_BACKEND, NULL, "cannot read the spend");
    }
    *out = json_pack("{s:o}", "spend", rows);
    return ERR_OK;
}
