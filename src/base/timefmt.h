/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Times: int64 Unix milliseconds everywhere (names end in _at); RFC 3339 UTC on the wire.
 * Pure functions, safe from any thread. */
#ifndef OPENDNI_BASE_TIMEFMT_H
#define OPENDNI_BASE_TIMEFMT_H

#include <stdint.h>

#define TIME_RFC3339_LEN 32

/* Writes "2026-11-26T04:20:00Z" (seconds precision) into out[TIME_RFC3339_LEN]. Returns out. */
char *time_format(int64_t at, char *out);
/* time_format through gmtime_r and snprintf, as it was: what the unit test compares it with
 * (time_format uses it itself only before 1970 and after 9999). */
char *time_format_libc(int64_t at, char *out);

/* Parses RFC 3339 ("2026-11-26T04:20:00Z", "…T04:20:00.123+01:00") or a plain date
 * "2026-11-26" (midnight UTC). Returns ERR_OK or ERR_INVALID. out: *at in Unix ms. */
int time_parse(const char *s, int64_t *at);

/* The wall clock in Unix ms (for the shell only; core takes time as an argument), plus the
 * test clock's offset in the test binary (base/testhooks.h). */
int64_t time_now_ms(void);

#endif
