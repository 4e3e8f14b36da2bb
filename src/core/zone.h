/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Time zones as data: an IANA zone's UTC offsets (its TZif file's transitions and the POSIX
 * TZ rule in its footer, which covers the years after the last transition), parsed from bytes
 * the caller read, and the local calendar time of a UTC instant in it. Part of the pure core:
 * no I/O and no clock (the app reads /usr/share/zoneinfo/NAME and passes the bytes in; time is
 * a parameter), so schedules are unit-tested across DST changes with zones built in the test.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage.
 * THREADING: reentrant; a parsed zone is read-only and may be shared between threads. */
#ifndef OPENDNI_CORE_ZONE_H
#define OPENDNI_CORE_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ZONE_MAX_TRANSITIONS 1200 /* fat TZif files hold ~240 up to 2037 */
#define ZONE_NAME_MAX 64

/* One end of a daylight-saving period in POSIX "Mm.w.d/time" form: day d (0 = Sunday) of week
 * w (1..4, 5 = last) of month m (1..12), at secs seconds of local time (may be negative or past
 * 24 h, as TZif v3 allows). */
struct zone_when {
    int month, week, wday;
    int32_t secs;
};

/* A POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"), offsets east of UTC in seconds. */
struct zone_rule {
    int32_t std_off;
    int32_t dst_off;
    bool has_dst;
    struct zone_when start, end; /* DST starts at start (standard time), ends at end (DST) */
};

struct zone {
    char name[ZONE_NAME_MAX];          /* the IANA name, or "" */
    size_t n;                          /* transitions */
    int64_t at[ZONE_MAX_TRANSITIONS];  /* Unix seconds, ascending */
    int32_t off[ZONE_MAX_TRANSITIONS]; /* UTC offset from at[i] on */
    int32_t initial_off;               /* before at[0] */
    bool has_rule;                     /* rule applies from the last transition on */
    struct zone_rule rule;
};

/* The local calendar time of an instant. */
struct zone_local {
    int year, month, day; /* month 1..12, day 1..31 */
    int wday;             /* 0 = Sunday */
    int minute;           /* minute of the day, 0..1439 */
    int32_t off;          /* UTC offset in effect, seconds east */
    int32_t date;         /* year * 10000 + month * 100 + day */
};

/* A fixed-offset zone (UTC when off_s is 0). */
void zone_fixed(struct zone *z, const char *name, int32_t off_s);

/* Parses a POSIX TZ string. Returns ERR_OK, or ERR_INVALID with eb (optional) saying where.
 * Only the M form of the rule is read (what tzdata writes); Jn and n are refused. */
int zone_parse_rule(const char *s, struct zone_rule *out, struct errbuf *eb);

/* Parses TZif bytes (RFC 8536, versions 1 to 4; version 2+ uses the 64-bit data and the
 * footer) into z, named name. Returns ERR_OK, ERR_INVALID (not TZif, truncated, a footer that
 * does not parse) or ERR_TOOBIG (more than ZONE_MAX_TRANSITIONS transitions). */
int zone_parse_tzif(struct zone *z, const char *name, const unsigned char *data, size_t len,
                    struct errbuf *eb);

/* The UTC offset (seconds east) in effect at utc_s. */
int32_t zone_offset(const struct zone *z, int64_t utc_s);

/* The local time at utc_ms in z. */
void zone_local_time(const struct zone *z, int64_t utc_ms, struct zone_local *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), and back. */
int64_t zone_days_from_civil(int year, int month, int day);
void zone_civil_from_days(int64_t days, int *year, int *month, int *day);

/* true if name is a plausible IANA zone name to look up under a zoneinfo directory: 1..63
 * characters of [A-Za-z0-9_+-/], no leading '/', no "." or ".." segment. */
bool zone_name_ok(const char *name);

#endif
