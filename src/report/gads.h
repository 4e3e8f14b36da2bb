/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Google Ads offline conversion files (INTERFACES.md §4): the click-conversion CSV (one click id
 * column: Google Click ID, GBRAID or WBRAID) and the call-conversion CSV, each opened by a
 * "Parameters:TimeZone=" row, times as "yyyy-MM-dd HH:mm:ss" in that zone. Time zones are UTC,
 * fixed offsets (±HHMM) or IANA names ("America/Chicago": a core/zone.h zone the caller looks
 * up — app/zones.h reads the system's zone data —, so each row's offset is the one in force at
 * its instant: DST right).
 * Functions writing into a caller-owned struct buf; safe from any thread. */
#ifndef OPENDNI_REPORT_GADS_H
#define OPENDNI_REPORT_GADS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/zone.h"

#define GADS_TIME_LEN 20      /* "2025-01-14 11:05:11" and NUL */
#define GADS_CLICK_ID_MAX 512 /* longest click id accepted (real ones are ~100 bytes) */

struct gads_tz {
    int offset_min;            /* minutes east of UTC (no zone) */
    const struct zone *zone;   /* an IANA zone (borrowed from the lookup), or NULL */
    char label[ZONE_NAME_MAX]; /* what the Parameters row says: "UTC", "-0500", "America/Chicago" */
};

/* Parses the tz parameter: NULL, "", "UTC", "GMT", "Z" (UTC), an offset "+HHMM", "-HHMM",
 * "+HH:MM", "+HH" between -1200 and +1400, or an IANA zone name that zone_of finds (app/zones.h's
 * zones_get; NULL: names are refused). ERR_INVALID with eb->field "tz" otherwise. out: *tz. */
typedef int (*gads_zone_fn)(const char *name, const struct zone **out);
int gads_tz_parse(const char *s, gads_zone_fn zone_of, struct gads_tz *tz, struct errbuf *eb);

/* Writes at (Unix ms) as "yyyy-MM-dd HH:mm:ss" in tz into out[GADS_TIME_LEN]. Returns out. */
char *gads_time(int64_t at, const struct gads_tz *tz, char *out);

enum gads_id { GADS_GCLID, GADS_GBRAID, GADS_WBRAID };

/* Parses "gclid" (also NULL or ""), "gbraid" or "wbraid". ERR_INVALID, field "id", otherwise. */
int gads_id_parse(const char *s, enum gads_id *id, struct errbuf *eb);

/* true if s looks like a Google click id: 1..GADS_CLICK_ID_MAX bytes of [A-Za-z0-9_-], not starting
 * with - (it would read as a formula; no real id does). Anything
 * else (attacker-written URLs can carry any text) is not exported. */
bool gads_click_id_valid(const char *s);

/* The one id column a conversion belongs to, so that uploading all three files never counts a
 * conversion twice: the first valid of gclid, gbraid, wbraid (NULL or "" = absent). Returns
 * the enum gads_id value, or -1 when none is valid. */
int gads_pick_id(const char *gclid, const char *gbraid, const char *wbraid);

/* One conversion to export. Strings are borrowed. */
struct gads_conversion {
    const char *click_id;    /* click file: the id of the file's column */
    const char *caller;      /* call file: the caller's number, E.164 */
    int64_t call_started_at; /* call file */
    const char *name;        /* Conversion Name (user-written: neutralized) */
    int64_t at;              /* Conversion Time */
    double value;
    const char *currency; /* ISO 4217; anything else is written neutralized */
};

/* The parameter row and the header row of the click file with id's column first. */
int gads_click_header(struct buf *b, const struct gads_tz *tz, enum gads_id id);
/* One click-file row. ERR_INVALID (nothing written) if the click id is not valid. */
int gads_click_row(struct buf *b, const struct gads_tz *tz, const struct gads_conversion *c);

/* Microsoft Advertising's offline-conversion file (INTERFACES.md §5.1): the parameter row with a
 * fixed offset ("Parameters:TimeZone=-0500;", the template's trailing ';') and the header with
 * "Microsoft Click ID" first; its rows are gads_click_row's with the msclkid as click id.
 * ERR_INVALID (nothing written) for an IANA zone: the template takes an offset only. */
int gads_msads_header(struct buf *b, const struct gads_tz *tz);

/* The parameter row and the header row of the call-conversion file. */
int gads_call_header(struct buf *b, const struct gads_tz *tz);
/* One call-file row. ERR_INVALID (nothing written) if the caller is not E.164 ("+" and 7 to 15
 * digits): Google matches callers by number, so anything else cannot be imported. */
int gads_call_row(struct buf *b, const struct gads_tz *tz, const struct gads_conversion *c);

#endif
