/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Time zones as data: TZif parsing (RFC 8536), POSIX TZ rules, offsets and local times. Pure. */
#include "base/prelude.h"
#include "core/zone.h"

/* ==== calendar =============================================================================== */

/* Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms). */
int64_t zone_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void zone_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)d;
}

static int wday_of_days(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int days_in_month(int year, int month)
{
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : n[month - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ==== POSIX TZ rules ========================================================================= */

struct cursor {
    const char *s;
    bool bad;
};

static void skip_name(struct cursor *c)
{
    if (*c->s == '<') {
        const char *end = strchr(c->s, '>');
        if (!end) {
            c->bad = true;
            return;
        }
        c->s = end + 1;
        return;
    }
    const char *start = c->s;
    while ((*c->s >= 'A' && *c->s <= 'Z') || (*c->s >= 'a' && *c->s <= 'z'))
        c->s++;
    if (c->s - start < 3)
        c->bad = true;
}

static int read_int(struct cursor *c, int max)
{
    int v = 0;
    const char *start = c->s;
    while (*c->s >= '0' && *c->s <= '9' && v <= max)
        v = v * 10 + (*c->s++ - '0');
    if (c->s == start || v > max)
        c->bad = true;
    return v;
}

/* [+-]hh[:mm[:ss]] in seconds. */
static int32_t read_hms(struct cursor *c, int max_hours)
{
    int sign = 1;
    if (*c->s == '+' || *c->s == '-')
        sign = *c->s++ == '-' ? -1 : 1;
    int32_t secs = read_int(c, max_hours) * 3600;
    if (*c->s == ':') {
        c->s++;
        secs += read_int(c, 59) * 60;
        if (*c->s == ':') {
            c->s++;
            secs += read_int(c, 59);
        }
    }
    return sign * secs;
}

static void read_when(struct cursor *c, struct zone_when *w)
{
    if (*c->s != 'M') {
        c->bad = true;
        return;
    }
    c->s++;
    w->month = read_int(c, 12);
    if (*c->s++ != '.')
        c->bad = true;
    w->week = read_int(c, 5);
    if (c->bad || *c->s++ != '.')
        c->bad = true;
    w->wday = read_int(c, 6);
    w->secs = 2 * 3600;
    if (*c->s == '/') {
        c->s++;
        w->secs = read_hms(c, 167);
    }
    if (w->month < 1 || w->week < 1)
        c->bad = true;
}

int zone_parse_rule(const char *s, struct zone_rule *out, struct errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    struct cursor c = {.s = s ? s : "", .bad = false};
    skip_name(&c);
    if (!c.bad)
        out->std_off = -read_hms(&c, 24);
    if (!c.bad && *c.s) {
        out->has_dst = true;
        skip_name(&c);
        out->dst_off = out->std_off + 3600;
        if (!c.bad && *c.s && *c.s != ',')
            out->dst_off = -read_hms(&c, 24);
        if (!c.bad && *c.s++ != ',')
            c.bad = true;
        if (!c.bad)
            read_when(&c, &out->start);
        if (!c.bad && *c.s++ != ',')
            c.bad = true;
        if (!c.bad)
            read_when(&c, &out->end);
    }
    if (c.bad || *c.s)
        return errf(eb, ERR_INVALID, "zone", "cannot parse time zone rule '%.40s'", s ? s : "");
    return ERR_OK;
}

/* Unix seconds of w in year, given the offset in effect before it. */
static int64_t when_utc(const struct zone_when *w, int year, int32_t off_before)
{
    int64_t first = zone_days_from_civil(year, w->month, 1);
    int day = 1 + (w->wday - wday_of_days(first) + 7) % 7 + (w->week - 1) * 7;
    while (day > days_in_month(year, w->month))
        day -= 7;
    return (first + day - 1) * 86400 + w->secs - off_before;
}

static int32_t rule_offset(const struct zone_rule *r, int64_t utc_s)
{
    if (!r->has_dst)
        return r->std_off;
    int year;
    int month;
    int day;
    zone_civil_from_days(floor_div(utc_s + r->std_off, 86400), &year, &month, &day);
    int64_t start = when_utc(&r->start, year, r->std_off);
    int64_t end = when_utc(&r->end, year, r->dst_off);
    bool dst = start < end ? utc_s >= start && utc_s < end : !(utc_s >= end && utc_s < start);
    return dst ? r->dst_off : r->std_off;
}

/* ==== zones ================================================================================== */

void zone_fixed(struct zone *z, const char *name, int32_t off_s)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name ? name : "");
    z->initial_off = off_s;
    z->has_rule = true;
    z->rule.std_off = off_s;
}

int32_t zone_offset(const struct zone *z, int64_t utc_s)
{
    if (z->n == 0)
        return z->has_rule ? rule_offset(&z->rule, utc_s) : z->initial_off;
    if (utc_s < z->at[0])
        return z->initial_off;
    if (utc_s >= z->at[z->n - 1] && z->has_rule)
        return rule_offset(&z->rule, utc_s);
    size_t lo = 0;
    size_t hi = z->n; /* the answer is the last at[i] <= utc_s, in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

void zone_local_time(const struct zone *z, int64_t utc_ms, struct zone_local *out)
{
    int64_t utc_s = floor_div(utc_ms, 1000);
    out->off = zone_offset(z, utc_s);
    int64_t local = utc_s + out->off;
    int64_t days = floor_div(local, 86400);
    zone_civil_from_days(days, &out->year, &out->month, &out->day);
    out->wday = wday_of_days(days);
    out->minute = (int)((local - days * 86400) / 60);
    out->date = out->year * 10000 + out->month * 100 + out->day;
}

bool zone_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= ZONE_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") != n)
        return false;
    for (const char *seg = name; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
        size_t len = strcspn(seg, "/");
        if (len == 0 || (seg[0] == '-'))
            return false;
    }
    return true;
}

/* ==== TZif =================================================================================== */

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool read_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->leap <= 100000 &&
           c->chars <= 100000 && c->isut <= 256 && c->isstd <= 256;
}

/* Bytes of the data block after the header, with time_size-byte times. */
static size_t block_len(const struct tzif_counts *c, size_t time_size)
{
    return c->time * (time_size + 1) + c->type * 6 + c->chars + c->leap * (time_size + 4) +
           c->isstd + c->isut;
}

static int read_block(struct zone *z, const unsigned char *p, const struct tzif_counts *c,
                      size_t ts, struct errbuf *eb)
{
    if (c->time > ZONE_MAX_TRANSITIONS)
        return errf(eb, ERR_TOOBIG, "zone", "too many transitions in zone '%s'", z->name);
    const unsigned char *times = p;
    const unsigned char *idx = p + c->time * ts;
    const unsigned char *types = idx + c->time;
    for (uint32_t i = 0; i < c->time; i++) {
        if (idx[i] >= c->type)
            return errf(eb, ERR_INVALID, "zone", "bad TZif type index in zone '%s'", z->name);
        z->at[i] = ts == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        z->off[i] = (int32_t)be32(types + 6 * idx[i]);
        if (i > 0 && z->at[i] <= z->at[i - 1])
            return errf(eb, ERR_INVALID, "zone", "unordered TZif transitions in '%s'", z->name);
    }
    z->n = c->time;
    z->initial_off = (int32_t)be32(types); /* type 0 applies before the first transition */
    return ERR_OK;
}

static int read_footer(struct zone *z, const unsigned char *p, size_t len, struct errbuf *eb)
{
    if (len < 2 || p[0] != '\n')
        return errf(eb, ERR_INVALID, "zone", "truncated TZif footer in zone '%s'", z->name);
    const unsigned char *end = memchr(p + 1, '\n', len - 1);
    if (!end || end - p - 1 >= 128)
        return errf(eb, ERR_INVALID, "zone", "bad TZif footer in zone '%s'", z->name);
    if (end == p + 1)
        return ERR_OK; /* empty: no rule after the last transition */
    char rule[128];
    memcpy(rule, p + 1, (size_t)(end - p - 1));
    rule[end - p - 1] = '\0';
    int rc = zone_parse_rule(rule, &z->rule, eb);
    z->has_rule = rc == ERR_OK;
    return rc;
}

int zone_parse_tzif(struct zone *z, const char *name, const unsigned char *data, size_t len,
                    struct errbuf *eb)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name ? name : "");
    struct tzif_counts c;
    if (!data || !read_header(data, len, &c))
        return errf(eb, ERR_INVALID, "zone", "'%s' is not a TZif file", z->name);
    size_t v1 = block_len(&c, 4);
    if (len - 44 < v1)
        return errf(eb, ERR_INVALID, "zone", "truncated TZif file '%s'", z->name);
    if (data[4] == '\0')
        return read_block(z, data + 44, &c, 4, eb);
    const unsigned char *p = data + 44 + v1;
    size_t left = len - 44 - v1;
    if (!read_header(p, left, &c) || left - 44 < block_len(&c, 8))
        return errf(eb, ERR_INVALID, "zone", "truncated TZif v2 data in '%s'", z->name);
    int rc = read_block(z, p + 44, &c, 8, eb);
    if (!rc)
        rc = read_footer(z, p + 44 + block_len(&c, 8), left - 44 - block_len(&c, 8), eb);
    return rc;
}
