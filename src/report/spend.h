/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad spend files: reads the CSV reports Google Ads, Microsoft Advertising and Meta Ads Manager
 * export (one row per day and campaign, optionally per keyword) into rows of (day, campaign,
 * keyword, cost in minor units), with every bad row named by line. The columns, date and number
 * formats each platform writes are listed in tests/data/spend/README.md with their sources.
 * Pure: no I/O, no clock. Ownership: a struct spend_file owns its rows and errors until
 * spend_file_free. THREADING: no shared state. */
#ifndef OPENDNI_REPORT_SPEND_H
#define OPENDNI_REPORT_SPEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum spend_platform { SPEND_GOOGLE_ADS, SPEND_MICROSOFT_ADS, SPEND_META, SPEND_N_PLATFORMS };

#define SPEND_TEXT_MAX 256
#define SPEND_MAX_ROWS 100000
#define SPEND_MAX_ERRORS 100

/* The API name ("google_ads", "microsoft_ads", "meta"), and the channel its spend is counted
 * under in reports ("paid_search", "paid_social": core/classify's channel names). */
const char *spend_platform_name(enum spend_platform p);
const char *spend_platform_channel(enum spend_platform p);
/* ERR_INVALID (eb field "platform") for another name. out: *p. */
int spend_platform_parse(const char *name, enum spend_platform *p, struct errbuf *eb);

struct spend_row {
    char day[11]; /* YYYY-MM-DD */
    char campaign[SPEND_TEXT_MAX];
    char keyword[SPEND_TEXT_MAX]; /* "" = the campaign's spend without a keyword breakdown */
    int64_t cost;                 /* minor units of the file's currency */
    size_t line;                  /* first line of the file it came from */
};

struct spend_error {
    size_t line; /* 1-based line of the file; 0 = the file as a whole */
    char column[48];
    char message[160];
};

struct spend_file {
    enum spend_platform platform;
    char currency[4]; /* ISO 4217, upper case */
    struct spend_row *rows;
    size_t n_rows;
    struct spend_error *errors;
    size_t n_errors;    /* at most SPEND_MAX_ERRORS are kept */
    size_t more_errors; /* errors found beyond those kept */
    size_t skipped;     /* total, blank, preamble and footer lines */
};

/* Parses text (len bytes; a UTF-8 BOM is skipped) as p's export. default_currency (may be NULL)
 * is the currency when the file names none. Rows with the same (day, campaign, keyword) are
 * summed. Always fills *out (free it with spend_file_free); returns ERR_OK when the file has no
 * error, ERR_INVALID otherwise (the errors are in out->errors; rows may be partial). */
int spend_parse(enum spend_platform p, const char *text, size_t len, const char *default_currency,
                struct spend_file *out);
void spend_file_free(struct spend_file *f);

/* Digits after the decimal point of an ISO 4217 currency's minor unit (JPY 0, KWD 3, else 2). */
int spend_currency_exponent(const char *currency);

/* Parses an amount as the platforms write it ("1,234.56", "1234.5", "$12", "--" = 0) into minor
 * units with exponent digits, rounding half away from zero beyond them. ERR_INVALID for anything
 * else or a negative amount. out: *minor. */
int spend_amount_parse(const char *s, int exponent, int64_t *minor);

/* Parses a day as "YYYY-MM-DD", "YYYY/MM/DD" or "M/D/YYYY" into "YYYY-MM-DD" (a real date).
 * ERR_INVALID otherwise. out: day. */
int spend_day_parse(const char *s, char day[11]);

#endif
