/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Routing documents to core/route.h structures (docs/routing.md "Plans"): locations, plans,
 * opening hours, step targets and gotos, validated with the field named on any error (zones
 * come from app/zones.h). */
#include "base/prelude.h"
#include "app/routing_int.h"

#include "app/zones.h"
#include "base/xalloc.h"
#include "core/phone.h"

/* ==== zones ================================================================================== */

const struct zone *routing__zone(const char *name, struct errbuf *eb)
{
    const struct zone *z = NULL;
    int rc = zones_get(name ? name : "", &z);
    if (rc == ERR_INVALID)
        errf(eb, ERR_INVALID, "time_zone", "'%.64s' is not a time zone name", name ? name : "");
    else if (rc == ERR_TOOBIG)
        errf(eb, ERR_TOOBIG, "time_zone", "too many different time zones");
    else if (rc)
        errf(eb, ERR_INVALID, "time_zone", "unknown time zone '%.64s'", name);
    return z;
}

/* ==== small readers ========================================================================== */

static int bad(struct errbuf *eb, const char *field, const char *what)
{
    return errf(eb, ERR_INVALID, field, "%s: %s", field, what);
}

static int opt_str(json_t *o, const char *key, const char **out, const char *field,
                   struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_string(v) || json_string_length(v) > 1000)
        return bad(eb, field, "must be a string of at most 1000 bytes");
    *out = json_string_value(v);
    return ERR_OK;
}

static int opt_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                   const char *field, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return errf(eb, ERR_INVALID, field, "%s: must be a whole number from %lld to %lld", field,
                    lo, hi);
    *out = json_integer_value(v);
    return ERR_OK;
}

static int opt_bool(json_t *o, const char *key, bool *out, const char *field, struct errbuf *eb)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return ERR_OK;
    if (!json_is_boolean(v))
        return bad(eb, field, "must be true or false");
    *out = json_is_true(v);
    return ERR_OK;
}

static int e164(const char *s, const char *field, bool required, struct errbuf *eb)
{
    char norm[PHONE_E164_MAX];
    if (!s)
        return required ? bad(eb, field, "is required") : ERR_OK;
    if (phone_parse(s, norm, NULL) != ERR_OK || strcmp(norm, s) != 0)
        return bad(eb, field, "must be an E.164 number (+15555550100)");
    return ERR_OK;
}

static int only_keys(json_t *o, const char *const *keys, const char *field, struct errbuf *eb)
{
    if (!json_is_object(o))
        return bad(eb, field, "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (const char *const *p = keys; *p && !known; p++)
            known = strcmp(*p, k) == 0;
        if (!known)
            return errf(eb, ERR_INVALID, field, "%s: unknown key '%.40s'", field, k);
    }
    return ERR_OK;
}

/* An http:// or https:// URL of printable ASCII without spaces, at most 511 bytes (the
 * outbound client refuses http:// and private addresses unless --outbound-allow-private). */
static int url(const char *s, const char *field, struct errbuf *eb)
{
    if (!s)
        return ERR_OK;
    size_t n = strlen(s);
    bool scheme = strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
    bool printable = true;
    for (const char *p = s; *p; p++)
        printable &= *p > 0x20 && *p < 0x7f;
    if (!scheme || !printable || n >= 512 || n < 10)
        return bad(eb, field, "bid_url and post_url are https:// URLs of at most 511 bytes");
    return ERR_OK;
}

/* ==== opening hours ========================================================================== */

static int parse_clock(const char *s, bool close, int *out)
{
    unsigned h;
    unsigned m;
    char tail;
    if (!s || strlen(s) != 5 || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || m > 59 ||
        h > (close ? 24u : 23u) || (h == 24 && m != 0))
        return ERR_INVALID;
    *out = (int)(h * 60 + m);
    return ERR_OK;
}

static int parse_day(const char *s)
{
    static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    for (int i = 0; s && i < 7; i++)
        if (strcmp(s, days[i]) == 0)
            return i;
    return -1;
}

static int parse_date(const char *s, int32_t *out)
{
    unsigned y;
    unsigned m;
    unsigned d;
    char tail;
    if (!s || strlen(s) != 10 || sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return ERR_INVALID;
    *out = (int32_t)(y * 10000 + m * 100 + d);
    return ERR_OK;
}

static int parse_weekly(struct routing_plan *rp, json_t *a, struct route_schedule *s,
                        const char *field, struct errbuf *eb)
{
    if (!a || json_is_null(a))
        return ERR_OK;
    if (!json_is_array(a))
        return bad(eb, field, "weekly must be an array");
    s->hours = &rp->hours[rp->n_hours];
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        static const char *const keys[] = {"days", "open", "close", NULL};
        int open;
        int close;
        json_t *days = json_object_get(e, "days");
        if (only_keys(e, keys, field, eb))
            return ERR_INVALID;
        if (parse_clock(json_string_value(json_object_get(e, "open")), false, &open) ||
            parse_clock(json_string_value(json_object_get(e, "close")), true, &close) ||
            close == open)
            return bad(eb, field, "open and close are \"HH:MM\" (close 24:00 at most), different");
        if (!json_is_array(days) || json_array_size(days) == 0)
            return bad(eb, field, "days is an array of sun, mon, tue, wed, thu, fri, sat");
        size_t k;
        json_t *d;
        json_array_foreach(days, k, d)
        {
            int wday = parse_day(json_string_value(d));
            if (wday < 0)
                return bad(eb, field, "days is an array of sun, mon, tue, wed, thu, fri, sat");
            if (rp->n_hours >= ROUTING_MAX_HOURS)
                return bad(eb, field, "too many opening hours");
            rp->hours[rp->n_hours++] = (struct route_hours){
                (uint8_t)wday, (uint16_t)open, (uint16_t)(close % 1440 ? close : 1440)};
            s->n_hours++;
        }
    }
    return ERR_OK;
}

/* {"time_zone":…,"weekly":[…],"holidays":["2026-12-25"]} into a new schedule; null → NULL. */
static int parse_hours(struct routing_plan *rp, json_t *h, const struct zone *dflt,
                       const char *field, const struct route_schedule **out, struct errbuf *eb)
{
    static const char *const keys[] = {"time_zone", "weekly", "holidays", NULL};
    *out = NULL;
    if (!h || json_is_null(h))
        return ERR_OK;
    if (only_keys(h, keys, field, eb))
        return ERR_INVALID;
    if (rp->n_sched >= ROUTING_MAX_SCHEDULES)
        return bad(eb, field, "too many schedules");
    struct route_schedule *s = &rp->sched[rp->n_sched++];
    memset(s, 0, sizeof(*s));
    s->zone = dflt;
    const char *tz = NULL;
    if (opt_str(h, "time_zone", &tz, field, eb))
        return ERR_INVALID;
    if (tz && !(s->zone = routing__zone(tz, eb)))
        return ERR_INVALID;
    if (parse_weekly(rp, json_object_get(h, "weekly"), s, field, eb))
        return ERR_INVALID;
    json_t *hol = json_object_get(h, "holidays");
    if (hol && !json_is_null(hol) && !json_is_array(hol))
        return bad(eb, field, "holidays is an array of dates (YYYY-MM-DD)");
    s->holidays = &rp->holidays[rp->n_holidays];
    size_t i;
    json_t *d;
    json_array_foreach(hol, i, d)
    {
        if (rp->n_holidays >= ROUTING_MAX_HOLIDAYS ||
            parse_date(json_string_value(d), &rp->holidays[rp->n_holidays]))
            return bad(eb, field, "holidays is an array of dates (YYYY-MM-DD)");
        rp->n_holidays++;
        s->n_holidays++;
    }
    *out = s;
    return ERR_OK;
}

/* ==== locations ============================================================================== */

static const char *const location_keys[] = {"name",  "address",    "time_zone", "business_line",
                                            "hours", "area_codes", "regions",   "numbers",
                                            "pools", NULL};

/* "US-TX": two capitals, '-', one to three capitals or digits (ISO 3166-2), as visits store
 * their region (the --geo-header). */
static bool region_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 4 || n > 6 || s[2] != '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (i != 2 && !((s[i] >= 'A' && s[i] <= 'Z') || (i > 2 && s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* "regions": the visitors' regions the location serves (geography), at most
 * ROUTING_MAX_REGIONS. */
static int regions_check(json_t *o, struct errbuf *eb)
{
    json_t *a = json_object_get(o, "regions");
    if (!a || json_is_null(a))
        return ERR_OK;
    if (!json_is_array(a) || json_array_size(a) > ROUTING_MAX_REGIONS)
        return bad(eb, "regions", "must be an array of at most 64 regions like \"US-TX\"");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!region_ok(json_string_value(v)))
            return bad(eb, "regions", "must be an array of ISO 3166-2 regions like \"US-TX\"");
    }
    return ERR_OK;
}

/* "numbers" and "pools": arrays of at most ROUTING_MAX_OWNED external ids. */
static int owned_ids(json_t *o, const char *key, struct errbuf *eb)
{
    json_t *a = json_object_get(o, key);
    if (!a || json_is_null(a))
        return ERR_OK;
    if (!json_is_array(a) || json_array_size(a) > ROUTING_MAX_OWNED)
        return errf(eb, ERR_INVALID, key, "%s: must be an array of at most %d ids", key,
                    ROUTING_MAX_OWNED);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *id = json_string_value(v);
        if (!id || !*id || strlen(id) >= STORE_ID_MAX)
            return errf(eb, ERR_INVALID, key, "%s: must be an array of ids", key);
    }
    return ERR_OK;
}

static int parse_location(struct routing_plan *rp, json_t *o, size_t i, struct errbuf *eb)
{
    struct route_location *l = &rp->locs[i];
    memset(l, 0, sizeof(*l));
    const char *tz = NULL;
    const char *line = NULL;
    if (only_keys(o, location_keys, "location", eb) || opt_str(o, "name", &l->name, "name", eb) ||
        opt_str(o, "time_zone", &tz, "time_zone", eb) ||
        opt_str(o, "business_line", &line, "business_line", eb) ||
        e164(line, "business_line", false, eb))
        return ERR_INVALID;
    if (!l->name || !*l->name)
        return bad(eb, "name", "is required");
    if (owned_ids(o, "numbers", eb) || owned_ids(o, "pools", eb) || regions_check(o, eb))
        return ERR_INVALID;
    const char *address = NULL;
    if (opt_str(o, "address", &address, "address", eb))
        return ERR_INVALID;
    const struct zone *z = routing__zone(tz ? tz : "", eb);
    if (!z)
        return ERR_INVALID;
    if (parse_hours(rp, json_object_get(o, "hours"), z, "hours", &l->hours, eb))
        return ERR_INVALID;
    json_t *codes = json_object_get(o, "area_codes");
    if (codes && !json_is_null(codes) && !json_is_array(codes))
        return bad(eb, "area_codes", "must be an array of area codes (200..999)");
    l->area_codes = &rp->codes[rp->n_codes];
    size_t k;
    json_t *c;
    json_array_foreach(codes, k, c)
    {
        if (!json_is_integer(c) || json_integer_value(c) < 200 || json_integer_value(c) > 999 ||
            rp->n_codes >= ROUTING_MAX_CODES)
            return bad(eb, "area_codes", "must be an array of area codes (200..999)");
        rp->codes[rp->n_codes++] = (uint16_t)json_integer_value(c);
        l->n_area_codes++;
    }
    return ERR_OK;
}

int routing__location_check(json_t *o, struct errbuf *eb)
{
    struct routing_plan *rp = xcalloc(1, sizeof(*rp));
    int rc = parse_location(rp, o, 0, eb);
    free(rp);
    return rc;
}

int routing__location_index(const struct routing_plan *rp, const char *ext_id)
{
    for (size_t i = 0; ext_id && i < rp->plan.n_locations; i++)
        if (strcmp(rp->loc_ids[i], ext_id) == 0)
            return (int)i;
    return -1;
}

/* ==== targets ================================================================================ */

static int location_ref(struct routing_plan *rp, json_t *o, const char *field, int *out,
                        struct errbuf *eb)
{
    const char *id = NULL;
    *out = -1;
    if (opt_str(o, "location", &id, field, eb))
        return ERR_INVALID;
    if (id && (*out = routing__location_index(rp, id)) < 0)
        return errf(eb, ERR_INVALID, field, "%s: no location '%.48s'", field, id);
    return ERR_OK;
}

static int parse_target(struct routing_plan *rp, json_t *o, size_t i, struct errbuf *eb)
{
    static const char *const keys[] = {
        "id",    "number",         "location",  "weight",       "priority",         "timeout",
        "hours", "max_concurrent", "max_daily", "min_duration", "payout",           "whisper",
        "name",  "bid_url",        "post_url",  "price",        ROUTING_SECRET_KEY, NULL};
    struct route_target *t = &rp->targets[i];
    long long weight = 1, priority = 0, timeout = 0, max_c = 0, max_d = 0, min_d = 0, pay = 0;
    if (only_keys(o, keys, "targets", eb) || opt_str(o, "id", &t->id, "targets", eb) ||
        opt_str(o, "number", &t->number, "targets", eb) || e164(t->number, "targets", true, eb) ||
        location_ref(rp, o, "targets", &t->location, eb) ||
        opt_int(o, "weight", 0, 1000000, &weight, "targets", eb) ||
        opt_int(o, "priority", -1000000, 1000000, &priority, "targets", eb) ||
        opt_int(o, "timeout", 5, 600, &timeout, "targets", eb) ||
        opt_int(o, "max_concurrent", 0, 1000000, &max_c, "targets", eb) ||
        opt_int(o, "max_daily", 0, 100000000, &max_d, "targets", eb) ||
        opt_int(o, "min_duration", 0, 86400, &min_d, "targets", eb) ||
        opt_int(o, "price", 0, INT64_MAX / 2, &pay, "targets", eb) ||
        opt_str(o, "whisper", &t->whisper, "targets", eb) ||
        opt_str(o, "bid_url", &t->bid_url, "targets", eb) || url(t->bid_url, "targets", eb) ||
        opt_str(o, "post_url", &rp->post_urls[i], "targets", eb) ||
        url(rp->post_urls[i], "targets", eb) ||
        opt_str(o, ROUTING_SECRET_KEY, &rp->secrets[i], "targets", eb))
        return ERR_INVALID;
    if (rp->post_urls[i] && !t->bid_url)
        return bad(eb, "targets", "a post_url needs a bid_url");
    /* `price` is what the buyer pays per billable call; `payout` is its older name (the same
     * figure: docs/routing.md), accepted alone */
    if (json_object_get(o, "payout")) {
        if (json_object_get(o, "price"))
            return bad(eb, "targets",
                       "a target has a price or a payout (its older name), not both");
        if (opt_int(o, "payout", 0, INT64_MAX / 2, &pay, "targets", eb))
            return ERR_INVALID;
    }
    if (!t->id || !*t->id || strlen(t->id) >= STORE_ID_MAX)
        return bad(eb, "targets", "each target needs an id (1 to 47 characters)");
    for (size_t k = 0; k < i; k++)
        if (strcmp(rp->targets[k].id, t->id) == 0)
            return errf(eb, ERR_INVALID, "targets", "targets: id '%s' is used twice", t->id);
    t->weight = (uint32_t)weight;
    t->priority = (int32_t)priority;
    t->timeout_s = (int)timeout;
    t->max_concurrent = (int32_t)max_c;
    t->max_daily = (int32_t)max_d;
    t->min_duration_s = (int32_t)min_d;
    t->payout = pay;
    return parse_hours(rp, json_object_get(o, "hours"), rp->zone, "targets", &t->schedule, eb);
}

static int target_index(const struct routing_plan *rp, const char *id)
{
    for (size_t i = 0; id && i < rp->plan.n_targets; i++)
        if (strcmp(rp->targets[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* ==== steps ================================================================================== */

/* A step index, "next", "last_resort", "hangup"; absent → dflt. */
static int parse_goto(json_t *v, size_t n_steps, int dflt, int *out, struct errbuf *eb)
{
    *out = dflt;
    if (!v || json_is_null(v))
        return ERR_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        (size_t)json_integer_value(v) < n_steps) {
        *out = (int)json_integer_value(v);
        return ERR_OK;
    }
    const char *s = json_string_value(v);
    if (s && strcmp(s, "next") == 0)
        *out = ROUTE_GOTO_NEXT;
    else if (s && strcmp(s, "last_resort") == 0)
        *out = ROUTE_GOTO_LAST_RESORT;
    else if (s && strcmp(s, "hangup") == 0)
        *out = ROUTE_GOTO_HANGUP;
    else
        return bad(eb, "steps", "a goto is a step index, \"next\", \"last_resort\" or \"hangup\"");
    return ERR_OK;
}

static int parse_options(struct routing_plan *rp, json_t *opts, struct route_step *s,
                         struct errbuf *eb)
{
    if (!json_is_object(opts) || json_object_size(opts) == 0 ||
        json_object_size(opts) > ROUTE_MAX_OPTIONS)
        return bad(eb, "steps", "a menu's options map digits to {\"goto\":…,\"location\":…}");
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v)
    {
        static const char *const keys[] = {"goto", "location", NULL};
        struct route_option *o = &s->options[s->n_options++];
        if (strlen(k) != 1 || !strchr("0123456789*#", k[0]))
            return bad(eb, "steps", "option keys are single digits, * or #");
        o->digit = k[0];
        if (only_keys(v, keys, "steps", eb) ||
            parse_goto(json_object_get(v, "goto"), rp->plan.n_steps, ROUTE_GOTO_NEXT, &o->goto_step,
                       eb) ||
            location_ref(rp, v, "steps", &o->location, eb))
            return ERR_INVALID;
    }
    return ERR_OK;
}

static int parse_step_targets(struct routing_plan *rp, json_t *a, size_t i, struct errbuf *eb)
{
    struct route_step *s = &rp->steps[i];
    if (!a || json_is_null(a))
        return ERR_OK;
    if (!json_is_array(a) || json_array_size(a) > ROUTE_MAX_TARGETS)
        return bad(eb, "steps", "a distribution's targets is an array of target ids");
    size_t k;
    json_t *v;
    json_array_foreach(a, k, v)
    {
        int t = target_index(rp, json_string_value(v));
        if (t < 0)
            return errf(eb, ERR_INVALID, "steps", "steps: no target '%.48s'",
                        json_string_value(v) ? json_string_value(v) : "?");
        rp->step_targets[i][s->n_targets++] = (uint16_t)t;
    }
    s->targets = rp->step_targets[i];
    return ERR_OK;
}

static int parse_step(struct routing_plan *rp, json_t *o, size_t i, struct errbuf *eb)
{
    static const char *const keys[] = {
        "type",       "say",       "timeout",       "options", "tries",  "on_fail",
        "next",       "digit",     "skip_verified", "hours",   "method", "targets",
        "max_length", "on_closed", "deadline_ms",   "reserve", NULL};
    struct route_step *s = &rp->steps[i];
    memset(s, 0, sizeof(*s));
    const char *type = NULL;
    const char *method = NULL;
    const char *digit = NULL;
    long long timeout = 0, tries = 0, max_len = 0, deadline = 0, reserve = 0;
    if (only_keys(o, keys, "steps", eb) || opt_str(o, "type", &type, "steps", eb) ||
        opt_str(o, "say", &s->say, "steps", eb) || opt_str(o, "method", &method, "steps", eb) ||
        opt_str(o, "digit", &digit, "steps", eb) ||
        opt_int(o, "timeout", 1, 60, &timeout, "steps", eb) ||
        opt_int(o, "tries", 1, 5, &tries, "steps", eb) ||
        opt_int(o, "max_length", 1, 3600, &max_len, "steps", eb) ||
        opt_int(o, "deadline_ms", 100, 10000, &deadline, "steps", eb) ||
        opt_int(o, "reserve", 0, 1000000000, &reserve, "steps", eb) ||
        opt_bool(o, "skip_verified", &s->skip_verified, "steps", eb))
        return ERR_INVALID;
    if (route_step_kind_parse(type, &s->kind))
        return bad(eb, "steps", "type is menu, screen, schedule, distribute, voicemail or message");
    s->timeout_s = (int)timeout;
    s->max_tries = (int)tries;
    s->max_len_s = (int)max_len;
    s->deadline_ms = (int)deadline;
    s->reserve = reserve;
    if (digit && (strlen(digit) != 1 || !strchr("0123456789*#", digit[0])))
        return bad(eb, "steps", "a screen's digit is one of 0-9, * or #");
    s->accept_digit = digit ? digit[0] : '\0';
    int dflt_fail = s->kind == ROUTE_STEP_SCREEN ? ROUTE_GOTO_HANGUP : ROUTE_GOTO_NEXT;
    json_t *fail = json_object_get(o, s->kind == ROUTE_STEP_SCHEDULE ? "on_closed" : "on_fail");
    if (parse_goto(json_object_get(o, "next"), rp->plan.n_steps, ROUTE_GOTO_NEXT, &s->next, eb) ||
        parse_goto(fail, rp->plan.n_steps, dflt_fail, &s->on_fail, eb))
        return ERR_INVALID;
    if (s->kind == ROUTE_STEP_MENU)
        return parse_options(rp, json_object_get(o, "options"), s, eb);
    if (s->kind == ROUTE_STEP_SCHEDULE)
        return parse_hours(rp, json_object_get(o, "hours"), rp->zone, "steps", &s->schedule, eb);
    if (s->kind == ROUTE_STEP_DISTRIBUTE) {
        if (route_method_parse(method ? method : "priority", &s->method))
            return bad(eb, "steps",
                       "method is round_robin, weighted, priority, geography or ping_post");
        return parse_step_targets(rp, json_object_get(o, "targets"), i, eb);
    }
    return ERR_OK;
}

/* ==== plans ================================================================================== */

static int parse_blocked(struct routing_plan *rp, json_t *a, struct errbuf *eb)
{
    if (!a || json_is_null(a))
        return ERR_OK;
    if (!json_is_array(a) || json_array_size(a) > ROUTING_MAX_BLOCKED)
        return bad(eb, "blocked", "must be an array of numbers or prefixes (\"+1900*\")");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        size_t n = s ? strlen(s) : 0;
        if (n < 2 || n > 17 || s[0] != '+' || strspn(s + 1, "0123456789") < n - 2 ||
            (s[n - 1] != '*' && (s[n - 1] < '0' || s[n - 1] > '9')))
            return bad(eb, "blocked", "must be an array of numbers or prefixes (\"+1900*\")");
        rp->blocked[rp->plan.n_blocked++] = s;
    }
    rp->plan.blocked = rp->blocked;
    return ERR_OK;
}

static int parse_array(json_t *a, const char *field, size_t max, struct errbuf *eb)
{
    if (!json_is_array(a) || json_array_size(a) > max)
        return errf(eb, ERR_INVALID, field, "%s: must be an array of at most %zu", field, max);
    return ERR_OK;
}

static int parse_plan_head(struct routing_plan *rp, json_t *doc, struct errbuf *eb)
{
    static const char *const keys[] = {
        "name",      "attach",  "last_resort", "record", "notice",
        "time_zone", "blocked", "targets",     "steps",  "reject_failed_verification",
        NULL};
    const char *tz = NULL;
    const char *name = NULL;
    if (only_keys(doc, keys, "plan", eb) || opt_str(doc, "name", &name, "name", eb) ||
        opt_str(doc, "last_resort", &rp->plan.last_resort, "last_resort", eb) ||
        e164(rp->plan.last_resort, "last_resort", true, eb) ||
        opt_bool(doc, "record", &rp->plan.record, "record", eb) ||
        opt_str(doc, "notice", &rp->plan.notice, "notice", eb) ||
        opt_bool(doc, "reject_failed_verification", &rp->plan.reject_failed_verification,
                 "reject_failed_verification", eb) ||
        opt_str(doc, "time_zone", &tz, "time_zone", eb))
        return ERR_INVALID;
    if (!name || !*name || strlen(name) >= STORE_NAME_MAX)
        return bad(eb, "name", "is required (at most 127 bytes)");
    rp->zone = routing__zone(tz ? tz : "UTC", eb);
    if (!rp->zone)
        return ERR_INVALID;
    /* attached to a location: it distributes only to that location's business lines (a
     * location deleted since is no home: nothing would find the plan through it anyway) */
    const char *home =
        json_string_value(json_object_get(json_object_get(doc, "attach"), "location"));
    rp->plan.home = routing__location_index(rp, home);
    rp->plan.at_home = rp->plan.home >= 0;
    return parse_blocked(rp, json_object_get(doc, "blocked"), eb);
}

static int parse_plan(struct routing_plan *rp, json_t *doc, struct errbuf *eb)
{
    if (parse_plan_head(rp, doc, eb))
        return ERR_INVALID;
    json_t *targets = json_object_get(doc, "targets");
    json_t *steps = json_object_get(doc, "steps");
    if (!targets || json_is_null(targets))
        targets = NULL;
    else if (parse_array(targets, "targets", ROUTE_MAX_TARGETS, eb))
        return ERR_INVALID;
    if (parse_array(steps, "steps", ROUTE_MAX_STEPS, eb) || json_array_size(steps) == 0)
        return bad(eb, "steps", "must be an array of 1 to 32 steps");
    rp->plan.targets = rp->targets;
    rp->plan.steps = rp->steps;
    size_t i;
    json_t *v;
    json_array_foreach(targets, i, v)
    {
        if (parse_target(rp, v, i, eb))
            return ERR_INVALID;
        rp->plan.n_targets = i + 1;
    }
    rp->plan.n_steps = json_array_size(steps);
    json_array_foreach(steps, i, v)
    {
        if (parse_step(rp, v, i, eb))
            return ERR_INVALID;
    }
    return route_plan_check(&rp->plan, eb);
}

int routing__plan_parse(json_t *doc, const char *ext_id, json_t *const *loc_docs,
                        const char *const *loc_ids, size_t n_locs, struct routing_plan **out,
                        struct errbuf *eb)
{
    *out = NULL;
    if (n_locs > ROUTE_MAX_LOCATIONS)
        return bad(eb, "locations", "too many locations");
    struct routing_plan *rp = xcalloc(1, sizeof(*rp));
    snprintf(rp->ext_id, sizeof(rp->ext_id), "%s", ext_id ? ext_id : "");
    rp->doc = json_incref(doc);
    rp->plan.locations = rp->locs;
    int rc = ERR_OK;
    for (size_t i = 0; i < n_locs && !rc; i++) {
        rp->loc_docs[i] = json_incref(loc_docs[i]);
        snprintf(rp->loc_ids[i], sizeof(rp->loc_ids[i]), "%s", loc_ids[i]);
        rc = parse_location(rp, loc_docs[i], i, eb);
        rp->locs[i].id = rp->loc_ids[i];
        rp->plan.n_locations = i + 1;
    }
    if (!rc)
        rc = parse_plan(rp, doc, eb);
    if (rc) {
        routing__plan_free(rp);
        return ERR_INVALID;
    }
    *out = rp;
    return ERR_OK;
}

void routing__plan_free(struct routing_plan *rp)
{
    if (!rp)
        return;
    for (size_t i = 0; i < ROUTE_MAX_LOCATIONS; i++)
        json_decref(rp->loc_docs[i]);
    json_decref(rp->doc);
    free(rp);
}
