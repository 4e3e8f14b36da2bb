/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Zone data (see tz.h): a TZif reader and the POSIX TZ rules of its footer. */
#include "base/prelude.h"
#include "base/tz.h"

#include <errno.h>
#include <stdio.h>

#include "base/xalloc.h"

#define TZIF_MAX (256 * 1024) /* the largest zone file read (real ones are < 4 KiB) */

struct tz {
    char name[TZ_NAME_MAX];
    int64_t *trans; /* transition times (Unix seconds), ascending */
    uint8_t *idx;   /* the type each transition starts */
    int32_t *utoff; /* per type */
    uint8_t *isdst; /* per type */
    size_t n_trans, n_types;
    char footer[64]; /* the POSIX rule after the last transition, "" none */
};

bool tz_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-' || ch == '/';
        if (!ok)
            return false;
    }
    return true;
}

/* ==== POSIX TZ rules ========================================================================== */

struct rule_date {
    char kind; /* 'M', 'J' (1..365, no Feb 29) or 'D' (0..365) */
    int m, w, d;
    int n;
    int32_t time_s; /* local time of the change, default 02:00 */
};

struct posix {
    int32_t std_off, dst_off; /* seconds east */
    bool has_dst;
    struct rule_date start, end;
};

static const char *skip_name(const char *p)
{
    if (*p == '<') {
        const char *q = strchr(p, '>');
        return q && q > p + 1 ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

/* [+-]hh[:mm[:ss]] in seconds (hours up to 167). NULL when malformed. */
static const char *parse_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return i == 0 ? NULL : p;
        int32_t x = 0;
        for (int k = 0; k < 3 && *p >= '0' && *p <= '9'; k++)
            x = x * 10 + (*p++ - '0');
        v[i] = x;
        if (*p != ':' || i == 2)
            break;
        p++;
    }
    if (v[0] > 167 || v[1] > 59 || v[2] > 59)
        return NULL;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *parse_int(const char *p, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    int x = 0;
    while (*p >= '0' && *p <= '9' && x < 1000)
        x = x * 10 + (*p++ - '0');
    *out = x;
    return p;
}

static const char *parse_date(const char *p, struct rule_date *r)
{
    r->time_s = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        p = parse_int(p + 1, &r->m);
        if (!p || *p++ != '.' || !(p = parse_int(p, &r->w)) || *p++ != '.' ||
            !(p = parse_int(p, &r->d)))
            return NULL;
        if (r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d > 6)
            return NULL;
    } else {
        r->kind = *p == 'J' ? 'J' : 'D';
        p = parse_int(p + (*p == 'J'), &r->n);
        if (!p || r->n > 365 || (r->kind == 'J' && r->n < 1))
            return NULL;
    }
    if (*p == '/')
        p = parse_hms(p + 1, &r->time_s);
    return p;
}

static int parse_posix(const char *s, struct posix *z)
{
    memset(z, 0, sizeof(*z));
    int32_t off = 0;
    const char *p = skip_name(s);
    if (!p || !(p = parse_hms(p, &off)))
        return ERR_INVALID;
    z->std_off = -off; /* POSIX offsets are west of UTC */
    if (!*p)
        return ERR_OK;
    if (!(p = skip_name(p)))
        return ERR_INVALID;
    z->has_dst = true;
    z->dst_off = z->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, &off)))
            return ERR_INVALID;
        z->dst_off = -off;
    }
    if (*p != ',' || !(p = parse_date(p + 1, &z->start)) || *p != ',' ||
        !(p = parse_date(p + 1, &z->end)) || *p)
        return ERR_INVALID;
    return ERR_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day (days since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
    if (r->kind == 'J')
        return days_from_civil(y, 1, 1) + r->n - 1 + (leap(y) && r->n >= 60);
    if (r->kind == 'D')
        return days_from_civil(y, 1, 1) + r->n;
    int64_t first = days_from_civil(y, r->m, 1);
    int wday = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int64_t day = first + (r->d - wday + 7) % 7 + 7 * (r->w - 1);
    int64_t next = r->m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, r->m + 1, 1);
    while (day >= next)
        day -= 7; /* week 5: the last such day of the month */
    return day;
}

static int32_t posix_offset(const struct posix *z, int64_t t)
{
    if (!z->has_dst)
        return z->std_off;
    int64_t local = t + z->std_off;
    int64_t y = year_of_days(local / 86400 - (local % 86400 < 0));
    int64_t start = rule_day(&z->start, y) * 86400 + z->start.time_s - z->std_off;
    int64_t end = rule_day(&z->end, y) * 86400 + z->end.time_s - z->dst_off;
    bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? z->dst_off : z->std_off;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int tz_posix_offset(const char *rule, int64_t at, int32_t *offset_s)
{
    struct posix z;
    int rc = parse_posix(rule, &z);
    if (rc == ERR_OK)
        *offset_s = posix_offset(&z, floor_div(at, 1000));
    return rc;
}

/* ==== TZif ==================================================================================== */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The counts of a header at p: isut, isstd, leap, time, type, char. */
static void counts(const unsigned char *p, size_t c[6])
{
    for (int i = 0; i < 6; i++)
        c[i] = be32(p + 20 + 4 * i);
}

static size_t block_len(const size_t c[6], size_t tsize)
{
    return c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
}

static int parse_tzif(const unsigned char *b, size_t len, struct tz *z)
{
    size_t c[6];
    if (len < 44 || memcmp(b, "TZif", 4) != 0 || b[4] < '2')
        return ERR_IO;
    counts(b, c);
    size_t off = 44 + block_len(c, 4);
    if (off + 44 > len || memcmp(b + off, "TZif", 4) != 0)
        return ERR_IO;
    counts(b + off, c);
    off += 44;
    if (c[4] == 0 || c[4] > 256 || c[3] > 100000 || off + block_len(c, 8) > len)
        return ERR_IO;
    z->n_trans = c[3];
    z->n_types = c[4];
    z->trans = xcalloc(c[3] + 1, sizeof(*z->trans));
    z->idx = xcalloc(c[3] + 1, 1);
    z->utoff = xcalloc(c[4], sizeof(*z->utoff));
    z->isdst = xcalloc(c[4], 1);
    for (size_t i = 0; i < c[3]; i++)
        z->trans[i] = be64(b + off + 8 * i);
    off += 8 * c[3];
    for (size_t i = 0; i < c[3]; i++)
        if ((z->idx[i] = b[off + i]) >= c[4])
            return ERR_IO;
    off += c[3];
    for (size_t i = 0; i < c[4]; i++) {
        z->utoff[i] = (int32_t)be32(b + off + 6 * i);
        z->isdst[i] = b[off + 6 * i + 4];
    }
    off += block_len(c, 8) - 9 * c[3];
    if (off < len && b[off] == '\n') {
        const unsigned char *nl = memchr(b + off + 1, '\n', len - off - 1);
        size_t n = nl ? (size_t)(nl - (b + off + 1)) : 0;
        if (n < sizeof(z->footer)) {
            memcpy(z->footer, b + off + 1, n);
            z->footer[n] = '\0';
        }
    }
    struct posix p;
    if (z->footer[0] && parse_posix(z->footer, &p) != ERR_OK)
        z->footer[0] = '\0'; /* a rule this reader does not know: the last type holds */
    return ERR_OK;
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? ERR_NOTFOUND : ERR_IO;
    unsigned char *b = xmalloc(TZIF_MAX);
    size_t n = fread(b, 1, TZIF_MAX, f);
    bool bad = ferror(f) || n == TZIF_MAX;
    fclose(f);
    if (bad) {
        free(b);
        return ERR_IO;
    }
    *out = b;
    *len = n;
    return ERR_OK;
}

int tz_load(const char *name, struct tz **out)
{
    *out = NULL;
    if (!tz_name_valid(name))
        return ERR_INVALID;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    unsigned char *b = NULL;
    size_t len = 0;
    int rc = read_file(path, &b, &len);
    if (rc)
        return rc;
    struct tz *z = xcalloc(1, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name);
    rc = parse_tzif(b, len, z);
    free(b);
    if (rc) {
        tz_free(z);
        return rc;
    }
    *out = z;
    return ERR_OK;
}

void tz_free(struct tz *z)
{
    if (!z)
        return;
    free(z->trans);
    free(z->idx);
    free(z->utoff);
    free(z->isdst);
    free(z);
}

const char *tz_name(const struct tz *z)
{
    return z->name;
}

/* The type in force before the first transition: the first standard-time type (RFC 8536). */
static size_t first_type(const struct tz *z)
{
    for (size_t i = 0; i < z->n_types; i++)
        if (!z->isdst[i])
            return i;
    return 0;
}

int32_t tz_offset_at(const struct tz *z, int64_t at)
{
    int64_t t = floor_div(at, 1000);
    if (z->n_trans == 0 || t < z->trans[0]) {
        if (!(z->n_trans == 0 && z->footer[0]))
            return z->utoff[first_type(z)];
    }
    if ((z->n_trans == 0 || t >= z->trans[z->n_trans - 1]) && z->footer[0]) {
        struct posix p;
        parse_posix(z->footer, &p);
        return posix_offset(&p, t);
    }
    size_t lo = 0;
    size_t hi = z->n_trans; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->utoff[z->idx[lo]];
}
