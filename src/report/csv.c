/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* CSV fields: RFC 4180 quoting and formula neutralization (see csv.h). */
#include "base/prelude.h"
#include "report/csv.h"

#include "base/err.h"

static bool formula_lead(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@';
}

bool csv_is_formula(const char *s)
{
    if (!s || !*s)
        return false;
    if (formula_lead(s[0]) || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')
        return true;
    while (*s == ' ')
        s++;
    return formula_lead(*s);
}

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return false;
    if (s[0] == ' ' || s[n - 1] == ' ')
        return true;
    return strpbrk(s, ",\"\r\n") != NULL;
}

/* Appends prefix (may be "") and s, quoted when either needs it. */
static int field(struct buf *b, const char *prefix, const char *s)
{
    if (!needs_quotes(s))
        return buf_adds(b, prefix) == ERR_OK ? buf_adds(b, s) : ERR_TOOBIG;
    int rc = buf_addc(b, '"');
    if (rc == ERR_OK)
        rc = buf_adds(b, prefix);
    for (const char *p = s; rc == ERR_OK && *p; p++)
        rc = *p == '"' ? buf_add(b, "\"\"", 2) : buf_addc(b, *p);
    return rc == ERR_OK ? buf_addc(b, '"') : rc;
}

int csv_text(struct buf *b, const char *s)
{
    if (!s)
        return ERR_OK;
    return field(b, csv_is_formula(s) ? "'" : "", s);
}

int csv_value(struct buf *b, const char *s)
{
    return s ? field(b, "", s) : ERR_OK;
}

int csv_sep(struct buf *b)
{
    return buf_addc(b, ',');
}

int csv_eol(struct buf *b)
{
    return buf_add(b, "\r\n", 2);
}
