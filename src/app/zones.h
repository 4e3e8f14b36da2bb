/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The system's time zones (IANA names: "America/Chicago"), read once each from $TZDIR or
 * /usr/share/zoneinfo and parsed by core/zone (TZif and its POSIX footer rule), for everything
 * that shows or schedules local time: routing plans' hours, the Google Ads export's tz.
 * The one module that reads the zone data, so offsets agree everywhere.
 * Ownership: a zone handed out lives until the process ends (a bounded cache; zones are few).
 * THREADING: any thread; a zone is read-only once handed out. */
#ifndef OPENDNI_APP_ZONES_H
#define OPENDNI_APP_ZONES_H

#include "core/zone.h"

#define ZONES_MAX 128 /* distinct zones a process keeps */

/* The zone name ("UTC" and "Etc/UTC" are built in). out: *out. ERR_OK; ERR_INVALID (not a zone
 * name: core's zone_name_ok — no "..", no leading '/'); ERR_NOTFOUND (no such zone in the zone
 * data); ERR_IO (unreadable, or not a TZif file: a directory such as "America"); ERR_TOOBIG
 * (ZONES_MAX zones already kept). */
int zones_get(const char *name, const struct zone **out);

#endif
