/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Time zones from the system's zone data (DESIGN.md "Cross-cutting decisions": one module reads
 * it): an IANA name ("America/Chicago") is read from $TZDIR or /usr/share/zoneinfo (TZif, version
 * 2 or later: 64-bit transitions, then the POSIX rule of the footer for times after the last
 * transition), so offsets are right on both sides of every DST change without the C library's
 * process-wide TZ state. Ownership: tz_load's result is the caller's (tz_free).
 * THREADING: a loaded zone is read-only: any thread may use it. */
#ifndef OPENDNI_BASE_TZ_H
#define OPENDNI_BASE_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct tz;

#define TZ_NAME_MAX 64

/* Whether name is a well-formed IANA zone name: 1..TZ_NAME_MAX-1 bytes of [A-Za-z0-9_+-/],
 * not starting with '/' and without a "." path step. Pure. */
bool tz_name_valid(const char *name);

/* Loads the zone name. out: *out. ERR_INVALID (a malformed name), ERR_NOTFOUND (no such zone in
 * the zone data), ERR_IO (a file that is not TZif version 2 or later, or unreadable). */
int tz_load(const char *name, struct tz **out);
/* NULL ok. */
void tz_free(struct tz *z);

/* The zone's offset from UTC (seconds east) at the instant at (Unix ms). */
int32_t tz_offset_at(const struct tz *z, int64_t at);
/* The zone's name as loaded. Borrowed, valid until tz_free. */
const char *tz_name(const struct tz *z);

/* Parses a POSIX TZ rule ("CST6CDT,M3.2.0,M11.1.0", "<+0330>-3:30") and gives its offset at
 * at: exposed for tests. ERR_INVALID for a rule this module does not read. out: *offset_s. Pure. */
int tz_posix_offset(const char *rule, int64_t at, int32_t *offset_s);

#endif
