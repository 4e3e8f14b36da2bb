/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Phone numbers for the functional core: parsing what humans and providers write into E.164,
 * display formatting, and facts about NANP numbers (region of an area code, toll-free).
 * Ownership: callers own every buffer passed in; returned strings are static and never freed.
 * THREADING: pure functions over constant tables; safe from any thread. */
#ifndef OPENDNI_CORE_PHONE_H
#define OPENDNI_CORE_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define PHONE_E164_MAX 17    /* '+' + up to 15 digits + NUL */
#define PHONE_DISPLAY_MAX 20 /* longest phone_format() output + NUL ("+CCC " + 12 digits) */

/* Parses a phone number written by a human or a provider into E.164: "+15555550123",
 * "(555) 555-0123", "555.555.0123", "1-555-555-0123", "+44 20 7946 0958", "tel:+1-555-…".
 * Separators may be spaces, '-', '.', '/', '(', ')', and the no-break spaces and dashes pasted
 * from web pages; letters (extensions, vanity numbers), a '+' anywhere but first, and inputs
 * over 64 bytes are rejected.
 * Without '+' the number is NANP: 10 digits, or 11 starting with 1. NANP numbers (also "+1…")
 * need an area code and an exchange whose first digit is 2-9 and that are not N11 service codes
 * (the fictional 555 exchange and area code are accepted). Other numbers need '+', 8-15 digits
 * and a country code that does not start with 0.
 * Returns ERR_OK, or ERR_INVALID with a message in eb (field "number"; the input is not echoed,
 * since numbers are PII). out: the E.164 string, "" on error. */
int phone_parse(const char *in, char out[PHONE_E164_MAX], struct errbuf *eb);

/* Formats a canonical E.164 number (as phone_parse writes it) for display: "(555) 555-0123" for
 * NANP, "+CC NNNN…" (a space after the country code) for numbers in a known ITU zone, else the
 * E.164 unchanged. Returns ERR_OK; ERR_INVALID if e164 is not canonical E.164 that
 * phone_parse accepts; ERR_TOOBIG if cap is too small (PHONE_DISPLAY_MAX always suffices).
 * out: the text, "" on error (when cap > 0). */
int phone_format(const char *e164, char *out, size_t cap);

/* True if e164 is a valid canonical NANP number ("+1" + 10 digits passing the NANP rules). */
bool phone_is_nanp(const char *e164);

/* Coarse region of a NANP number's area code, as ISO 3166-2 ("US-TX", "CA-ON"; US territories
 * as "US-PR", "US-GU"…), or for the other NANP countries their ISO 3166-1 code ("JM", "BS").
 * NULL if e164 is not NANP, or the area code is non-geographic (toll-free, 5XX, 900, 555…),
 * shared by several regions (867: the three territories), or unknown to the table.
 * 902/782 serve Nova Scotia and Prince Edward Island and map to "CA-NS".
 * Returns a static string. */
const char *phone_region(const char *e164);

/* True if e164 is a NANP toll-free number (area code 800, 833, 844, 855, 866, 877 or 888). */
bool phone_is_toll_free(const char *e164);

#endif
