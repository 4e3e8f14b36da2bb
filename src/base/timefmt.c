/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* RFC 3339 formatting and parsing without the C library's locale-dependent functions. */
#include "base/prelude.h"
#include "base/timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/testhooks.h"

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), valid for any year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil date of a day count since 1970-01-01 (days_from_civil's inverse), for days >= 0. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* 9999-12-31T23:59:59.999Z: the last time with a four-digit year. */
#define TIME_FAST_MAX 253402300799999LL

char *time_format(int64_t at, char *out)
{
    if (at >= 0 && at <= TIME_FAST_MAX) { /* every time the server writes: no gmtime, no printf */
        int64_t s = at / 1000, y;
        unsigned m, d, sod = (unsigned)(s % 86400);
        civil_from_days(s / 86400, &y, &m, &d);
        char *p = put2(out, (unsigned)y / 100);
        p = put2(p, (unsigned)y % 100);
        *p++ = '-';
        p = put2(p, m);
        *p++ = '-';
        p = put2(p, d);
        *p++ = 'T';
        p = put2(p, sod / 3600);
        *p++ = ':';
        p = put2(p, sod / 60 % 60);
        *p++ = ':';
        p = put2(p, sod % 60);
        *p++ = 'Z';
        *p = '\0';
        return out;
    }
    return time_format_libc(at, out);
}

char *time_format_libc(int64_t at, char *out)
{
    time_t s = (time_t)(at >= 0 ? at / 1000 : (at - 999) / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    /* Years are clamped to four digits: RFC 3339 has no others. */
    unsigned year = (unsigned)(tm.tm_year + 1900) % 10000u;
    snprintf(out, TIME_RFC3339_LEN, "%04u-%02u-%02uT%02u:%02u:%02uZ", year,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
    return out;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return ERR_OK;
}

/* Days in month m (1-12) of year y (proleptic Gregorian). */
static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int time_parse(const char *s, int64_t *at)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    size_t n = strlen(s);
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return ERR_INVALID;
    const char *p = s + 10;
    int64_t offset_min = 0;
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 || digits(p + 1, 2, &h) ||
            p[3] != ':' || digits(p + 4, 2, &mi) || p[6] != ':' || digits(p + 7, 2, &sec) ||
            h > 23 || mi > 59 || sec > 60)
            return ERR_INVALID;
        p += 9;
        if (*p == '.') {
            if (p[1] < '0' || p[1] > '9') /* RFC 3339: time-secfrac has at least one digit */
                return ERR_INVALID;
            int scale = 100;
            for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                ms += (*p - '0') * scale;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) != 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
                oh > 23 || om > 59)
                return ERR_INVALID;
            offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
            p += 6;
        } else {
            return ERR_INVALID;
        }
        if (*p)
            return ERR_INVALID;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *at = secs * 1000 + ms;
    return ERR_OK;
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + testhooks_clock_offset_ms();
}
