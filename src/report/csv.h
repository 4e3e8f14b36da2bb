/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* CSV writing for exports: RFC 4180 fields (quoted when they hold a comma, a quote, CR or LF,
 * or edge spaces; inner quotes doubled; rows end in CRLF) and formula neutralization for
 * user-written text, so a spreadsheet never runs "=HYPERLINK(…)" from a UTM value.
 * Pure functions over a caller-owned struct buf; safe from any thread. */
#ifndef OPENDNI_REPORT_CSV_H
#define OPENDNI_REPORT_CSV_H

#include <stdbool.h>

#include "base/buf.h"

/* true if a spreadsheet could read s as a formula: it starts with = + - @, a tab, CR or LF,
 * or with spaces followed by = + - @. */
bool csv_is_formula(const char *s);

/* Appends s as one field of user-written text: a formula-like value gets a leading single
 * quote ('=1+2 is shown as text), then the field is quoted if needed. NULL writes an empty
 * field. Returns ERR_OK or ERR_TOOBIG (buffer limit; the row is then incomplete). */
int csv_text(struct buf *b, const char *s);

/* Appends s as one field without neutralization, for values the server generated or validated
 * strictly (times, amounts, E.164 numbers, click ids of [A-Za-z0-9_-]). Quoted if needed. */
int csv_value(struct buf *b, const char *s);

/* Appends the separator between two fields (","). */
int csv_sep(struct buf *b);

/* Ends a row (CRLF). */
int csv_eol(struct buf *b);

#endif
