/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Google Ads conversion CSV files (see gads.h). Header spellings follow INTERFACES.md §4.1 and
 * §4.2 exactly; click ids and caller numbers are validated, everything user-written goes
 * through csv_text. */
#include "base/prelude.h"
#include "report/gads.h"

#include <time.h>

#include "report/csv.h"

#define CLICK_COLUMNS "Conversion Name,Conversion Time,Conversion Value,Conversion Currency"
#define CALL_HEADER                                                                                \
    "Caller's Phone Number,Call Start Time,Conversion Name,Conversion Time,Conversion Value,"      \
    "Conversion Currency"

static const char *const id_columns[] = {
    [GADS_GCLID] = "Google Click ID", [GADS_GBRAID] = "GBRAID", [GADS_WBRAID] = "WBRAID"};
static const char *const id_names[] = {
    [GADS_GCLID] = "gclid", [GADS_GBRAID] = "gbraid", [GADS_WBRAID] = "wbraid"};

/* ---- time zones and times ---- */

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "+HHMM", "+HH:MM" or "+HH" -> minutes east of UTC; ERR_INVALID otherwise. */
static int parse_offset(const char *s, int *out)
{
    size_t n = strlen(s);
    if ((s[0] != '+' && s[0] != '-') || n < 3 || !is_digits(s + 1, 2))
        return ERR_INVALID;
    const char *mm = n == 3 ? "00" : (n == 5 ? s + 3 : (n == 6 && s[3] == ':' ? s + 4 : NULL));
    if (!mm || !is_digits(mm, 2))
        return ERR_INVALID;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (mm[0] - '0') * 10 + (mm[1] - '0');
    int off = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    if (m > 59 || off < -12 * 60 || off > 14 * 60)
        return ERR_INVALID;
    *out = off;
    return ERR_OK;
}

/* An IANA name: the zone's data, through zone_of. */
static int load_zone(const char *s, gads_zone_fn zone_of, struct gads_tz *out, struct errbuf *eb)
{
    int rc = zone_of ? zone_of(s, &out->zone) : ERR_NOTFOUND;
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID)
        return errf(eb, ERR_INVALID, "tz", "unknown time zone '%.64s'", s);
    if (rc)
        return errf(eb, ERR_INVALID, "tz", "the zone data of '%.64s' cannot be read", s);
    snprintf(out->label, sizeof(out->label), "%s", s);
    return ERR_OK;
}

int gads_tz_parse(const char *s, gads_zone_fn zone_of, struct gads_tz *tz, struct errbuf *eb)
{
    struct gads_tz out = {0, NULL, "UTC"};
    memset(tz, 0, sizeof(*tz));
    if (s && *s && strcmp(s, "UTC") != 0 && strcmp(s, "GMT") != 0 && strcmp(s, "Z") != 0) {
        if ((s[0] != '+' && s[0] != '-') && zone_name_ok(s)) {
            int rc = load_zone(s, zone_of, &out, eb);
            if (rc == ERR_OK)
                *tz = out;
            return rc;
        }
        if (parse_offset(s, &out.offset_min) != ERR_OK)
            return errf(eb, ERR_INVALID, "tz",
                        "'tz' must be UTC, an offset like -0500 or +05:30, or a time zone name "
                        "like America/Chicago");
        int a = out.offset_min < 0 ? -out.offset_min : out.offset_min;
        snprintf(out.label, sizeof(out.label), "%c%02d%02d", out.offset_min < 0 ? '-' : '+', a / 60,
                 a % 60);
    }
    *tz = out;
    return ERR_OK;
}

char *gads_time(int64_t at, const struct gads_tz *tz, char *out)
{
    int64_t utc_s = at / 1000 - (at % 1000 < 0 ? 1 : 0);
    int64_t off_s = tz->zone ? zone_offset(tz->zone, utc_s) : (int64_t)tz->offset_min * 60;
    int64_t sec = utc_s + off_s;
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, GADS_TIME_LEN, "0000-00-00 00:00:00");
        return out;
    }
    char tmp[80]; /* room for any int values, so the format cannot truncate mid-field */
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d", (tm.tm_year + 1900) % 10000,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, GADS_TIME_LEN - 1);
    out[GADS_TIME_LEN - 1] = '\0';
    return out;
}

/* ---- click ids ---- */

int gads_id_parse(const char *s, enum gads_id *id, struct errbuf *eb)
{
    if (!s || !*s) {
        *id = GADS_GCLID;
        return ERR_OK;
    }
    for (size_t i = 0; i < ARRAY_SIZE(id_names); i++) {
        if (strcmp(s, id_names[i]) == 0) {
            *id = (enum gads_id)i;
            return ERR_OK;
        }
    }
    return errf(eb, ERR_INVALID, "id", "'id' must be gclid, gbraid or wbraid");
}

bool gads_click_id_valid(const char *s)
{
    if (!s || !*s || *s == '-') /* a leading '-' reads as a formula; no real id has one */
        return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n >= GADS_CLICK_ID_MAX)
            return false;
    }
    return true;
}

int gads_pick_id(const char *gclid, const char *gbraid, const char *wbraid)
{
    if (gads_click_id_valid(gclid))
        return GADS_GCLID;
    if (gads_click_id_valid(gbraid))
        return GADS_GBRAID;
    return gads_click_id_valid(wbraid) ? GADS_WBRAID : -1;
}

/* ---- rows ---- */

static int tz_row(struct buf *b, const struct gads_tz *tz)
{
    return buf_addf(b, "Parameters:TimeZone=%s\r\n", tz->label);
}

int gads_click_header(struct buf *b, const struct gads_tz *tz, enum gads_id id)
{
    int rc = tz_row(b, tz);
    if (rc == ERR_OK)
        rc = buf_addf(b, "%s," CLICK_COLUMNS "\r\n", id_columns[id]);
    return rc;
}

int gads_msads_header(struct buf *b, const struct gads_tz *tz)
{
    if (tz->zone) /* Microsoft's template takes a fixed offset only */
        return ERR_INVALID;
    int off = tz->offset_min < 0 ? -tz->offset_min : tz->offset_min;
    return buf_addf(b,
                    "Parameters:TimeZone=%c%02d%02d;\r\n"
                    "Microsoft Click ID," CLICK_COLUMNS "\r\n",
                    tz->offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

int gads_call_header(struct buf *b, const struct gads_tz *tz)
{
    int rc = tz_row(b, tz);
    return rc == ERR_OK ? buf_adds(b, CALL_HEADER "\r\n") : rc;
}

static bool currency_valid(const char *s)
{
    return s && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
           s[2] >= 'A' && s[2] <= 'Z';
}

/* Conversion Name, Conversion Time, Conversion Value, Conversion Currency, end of row. */
static int conversion_tail(struct buf *b, const struct gads_tz *tz, const struct gads_conversion *c)
{
    char when[GADS_TIME_LEN], value[64];
    snprintf(value, sizeof(value), "%.2f", c->value);
    int rc = csv_text(b, c->name);
    if (rc == ERR_OK)
        rc = csv_sep(b) == ERR_OK ? csv_value(b, gads_time(c->at, tz, when)) : ERR_TOOBIG;
    if (rc == ERR_OK)
        rc = csv_sep(b) == ERR_OK ? csv_value(b, value) : ERR_TOOBIG;
    if (rc == ERR_OK && csv_sep(b) == ERR_OK)
        rc = currency_valid(c->currency) ? csv_value(b, c->currency) : csv_text(b, c->currency);
    return rc == ERR_OK ? csv_eol(b) : rc;
}

int gads_click_row(struct buf *b, const struct gads_tz *tz, const struct gads_conversion *c)
{
    if (!gads_click_id_valid(c->click_id))
        return ERR_INVALID;
    int rc = csv_value(b, c->click_id);
    if (rc == ERR_OK)
        rc = csv_sep(b);
    return rc == ERR_OK ? conversion_tail(b, tz, c) : rc;
}

static bool e164_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 8 && n <= 16 && s[0] == '+' && s[1] != '0' && is_digits(s + 1, n - 1);
}

int gads_call_row(struct buf *b, const struct gads_tz *tz, const struct gads_conversion *c)
{
    if (!e164_valid(c->caller))
        return ERR_INVALID;
    char start[GADS_TIME_LEN];
    int rc = csv_value(b, c->caller);
    if (rc == ERR_OK)
        rc = csv_sep(b) == ERR_OK ? csv_value(b, gads_time(c->call_started_at, tz, start))
                                  : ERR_TOOBIG;
    if (rc == ERR_OK)
        rc = csv_sep(b);
    return rc == ERR_OK ? conversion_tail(b, tz, c) : rc;
}
