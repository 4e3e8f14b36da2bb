/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Ad spend files (see spend.h): an RFC 4180 record reader (comma or tab), a header finder that
 * skips each platform's preamble, and per-row checks. */
#include "base/prelude.h"
#include "report/spend.h"

#include <ctype.h>
#include <stdarg.h>

#include "base/xalloc.h"

static const char *const platform_names[SPEND_N_PLATFORMS] = {"google_ads", "microsoft_ads",
                                                              "meta"};
static const char *const platform_channels[SPEND_N_PLATFORMS] = {"paid_search", "paid_search",
                                                                 "paid_social"};

const char *spend_platform_name(enum spend_platform p)
{
    return (unsigned)p < SPEND_N_PLATFORMS ? platform_names[p] : "?";
}

const char *spend_platform_channel(enum spend_platform p)
{
    return (unsigned)p < SPEND_N_PLATFORMS ? platform_channels[p] : NULL;
}

int spend_platform_parse(const char *name, enum spend_platform *p, struct errbuf *eb)
{
    for (int i = 0; name && i < SPEND_N_PLATFORMS; i++)
        if (strcmp(name, platform_names[i]) == 0) {
            *p = (enum spend_platform)i;
            return ERR_OK;
        }
    return errf(eb, ERR_INVALID, "platform",
                "'platform' must be google_ads, microsoft_ads or meta");
}

/* ---- numbers, days, currencies ---- */

int spend_currency_exponent(const char *c)
{
    static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
                                       "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
    for (size_t i = 0; c && i < ARRAY_SIZE(zero); i++)
        if (strcmp(c, zero[i]) == 0)
            return 0;
    for (size_t i = 0; c && i < ARRAY_SIZE(three); i++)
        if (strcmp(c, three[i]) == 0)
            return 3;
    return 2;
}

int spend_amount_parse(const char *s, int exponent, int64_t *minor)
{
    while (*s == ' ')
        s++;
    if (strcmp(s, "--") == 0 || strcmp(s, "-- ") == 0) { /* Google Ads: no data */
        *minor = 0;
        return ERR_OK;
    }
    if (*s == '$' || *s == '-' || *s == '+') {
        if (*s == '-')
            return ERR_INVALID;
        s++;
    }
    int64_t whole = 0, frac = 0;
    int n_int = 0, n_frac = 0, round_digit = -1;
    bool group_ok = true;
    for (; *s && *s != '.'; s++) {
        if (*s == ',') {
            group_ok = group_ok && n_int > 0;
            continue;
        }
        if (!isdigit((unsigned char)*s) || whole > INT64_MAX / 100 / 1000)
            return ERR_INVALID;
        whole = whole * 10 + (*s - '0');
        n_int++;
    }
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++) {
            if (n_frac < exponent)
                frac = frac * 10 + (*s - '0');
            else if (round_digit < 0)
                round_digit = *s - '0';
            n_frac++;
        }
        if (n_frac == 0)
            return ERR_INVALID;
    }
    while (*s == ' ')
        s++;
    if (*s || n_int == 0 || !group_ok)
        return ERR_INVALID;
    for (int i = n_frac; i < exponent; i++)
        frac *= 10;
    int64_t scale = 1;
    for (int i = 0; i < exponent; i++)
        scale *= 10;
    *minor = whole * scale + frac + (round_digit >= 5);
    return ERR_OK;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int day_of(int y, int m, int d, char day[11])
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
        return ERR_INVALID;
    snprintf(day, 11, "%04d-%02d-%02d", y % 10000, (m % 100 + 100) % 100, (d % 100 + 100) % 100);
    return ERR_OK;
}

int spend_day_parse(const char *s, char day[11])
{
    int y, m, d, n = 0;
    while (*s == ' ')
        s++;
    if ((sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 ||
         sscanf(s, "%4d/%2d/%2d%n", &y, &m, &d, &n) == 3) &&
        n == 10)
        return s[n] && s[n] != ' ' ? ERR_INVALID : day_of(y, m, d, day);
    n = 0;
    if (sscanf(s, "%2d/%2d/%4d%n", &m, &d, &y, &n) == 3 && n >= 8 && (!s[n] || s[n] == ' ') &&
        isdigit((unsigned char)s[n - 4]))
        return day_of(y, m, d, day);
    return ERR_INVALID;
}

/* ---- records ---- */

#define MAX_FIELDS 64

struct reader {
    const char *p, *end;
    char sep;
    size_t line; /* line of the next record */
    char *cell[MAX_FIELDS];
    size_t n;
    char *store; /* the record's cells, NUL-separated */
    size_t cap;
};

/* Reads one record; false at the end. Cells beyond MAX_FIELDS are dropped. */
static bool read_record(struct reader *r, size_t *line)
{
    if (r->p >= r->end)
        return false;
    *line = r->line;
    size_t need = (size_t)(r->end - r->p) + MAX_FIELDS + 1;
    if (need > r->cap) {
        r->cap = need;
        r->store = xrealloc(r->store, r->cap);
    }
    char *o = r->store;
    r->n = 0;
    r->cell[r->n++] = o;
    bool quoted = false;
    while (r->p < r->end) {
        char c = *r->p++;
        if (quoted) {
            if (c == '"' && r->p < r->end && *r->p == '"')
                *o++ = '"', r->p++;
            else if (c == '"')
                quoted = false;
            else {
                r->line += c == '\n';
                *o++ = c;
            }
            continue;
        }
        if (c == '"') {
            quoted = true;
        } else if (c == r->sep) {
            *o++ = '\0';
            if (r->n < MAX_FIELDS)
                r->cell[r->n++] = o;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && r->p < r->end && *r->p == '\n')
                r->p++;
            break;
        } else {
            *o++ = c;
        }
    }
    *o = '\0';
    r->line++;
    return true;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    memmove(s, s + i, n - i + 1);
}

/* ---- columns ---- */

enum col { COL_DAY, COL_END, COL_CAMPAIGN, COL_KEYWORD, COL_COST, COL_CURRENCY, COL_N };

/* Header names per platform and column, compared ASCII case-insensitively. */
static const char *const names[SPEND_N_PLATFORMS][COL_N][4] = {
    [SPEND_GOOGLE_ADS] = {[COL_DAY] = {"Day", "Date"},
                          [COL_CAMPAIGN] = {"Campaign"},
                          [COL_KEYWORD] = {"Keyword", "Search keyword"},
                          [COL_COST] = {"Cost"},
                          [COL_CURRENCY] = {"Currency code", "Currency"}},
    [SPEND_MICROSOFT_ADS] = {[COL_DAY] = {"TimePeriod", "Time period", "Date", "Day"},
                             [COL_CAMPAIGN] = {"CampaignName", "Campaign name", "Campaign"},
                             [COL_KEYWORD] = {"Keyword"},
                             [COL_COST] = {"Spend"},
                             [COL_CURRENCY] = {"CurrencyCode", "Currency code", "Currency"}},
    [SPEND_META] = {[COL_DAY] = {"Day", "Reporting starts", "Date"},
                    [COL_END] = {"Reporting ends"},
                    [COL_CAMPAIGN] = {"Campaign name"},
                    [COL_COST] = {"Amount spent"},
                    [COL_CURRENCY] = {"Currency"}},
};

struct header {
    int col[COL_N];   /* cell index, -1 = absent */
    char currency[4]; /* Meta: "Amount spent (EUR)" */
};

static bool is_currency(const char *s)
{
    return strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

/* Meta writes the currency into the cost column's name: "Amount spent (USD)". */
static bool meta_cost(const char *cell, char currency[4])
{
    static const char prefix[] = "Amount spent (";
    size_t n = strlen(prefix);
    if (strncasecmp(cell, prefix, n) != 0 || strlen(cell) != n + 4 || cell[n + 3] != ')')
        return false;
    memcpy(currency, cell + n, 3);
    currency[3] = '\0';
    return is_currency(currency);
}

/* true if the record is p's header: a day, a campaign and a cost column. */
static bool find_header(enum spend_platform p, struct reader *r, struct header *h)
{
    for (int c = 0; c < COL_N; c++)
        h->col[c] = -1;
    h->currency[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        trim(r->cell[i]);
        for (int c = 0; c < COL_N; c++) {
            bool hit = false;
            for (int k = 0; k < 4 && names[p][c][k]; k++)
                hit = hit || strcasecmp(r->cell[i], names[p][c][k]) == 0;
            if (c == COL_COST && p == SPEND_META && meta_cost(r->cell[i], h->currency))
                hit = true;
            /* the first listed name wins where a file has two ("Day" over "Reporting starts") */
            if (hit && h->col[c] < 0)
                h->col[c] = (int)i;
        }
    }
    return h->col[COL_DAY] >= 0 && h->col[COL_CAMPAIGN] >= 0 && h->col[COL_COST] >= 0;
}

/* ---- the file ---- */

static void add_error(struct spend_file *f, size_t line, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct spend_file *f, size_t line, const char *column, const char *fmt, ...)
{
    if (f->n_errors >= SPEND_MAX_ERRORS) {
        f->more_errors++;
        return;
    }
    if (!f->errors)
        f->errors = xcalloc(SPEND_MAX_ERRORS, sizeof(*f->errors));
    struct spend_error *e = &f->errors[f->n_errors++];
    e->line = line;
    snprintf(e->column, sizeof(e->column), "%s", column ? column : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static const char *cell(const struct reader *r, const struct header *h, enum col c)
{
    return h->col[c] >= 0 && (size_t)h->col[c] < r->n ? r->cell[h->col[c]] : NULL;
}

/* A line that is no data: blank, a total ("Total: Account", "Total"), Microsoft's copyright
 * footer. */
static bool skip_line(const struct reader *r)
{
    bool blank = true;
    for (size_t i = 0; i < r->n && blank; i++)
        blank = r->cell[i][0] == '\0';
    if (blank)
        return true;
    const char *first = r->cell[0];
    return strncasecmp(first, "Total", 5) == 0 || strncmp(first, "\xc2\xa9", 2) == 0 ||
           strncasecmp(first, "(c)", 3) == 0;
}

/* The row's currency: its own column, else the header's, else the default. */
static const char *row_currency(const struct reader *r, const struct header *h,
                                const char *default_currency)
{
    const char *c = cell(r, h, COL_CURRENCY);
    if (c && *c)
        return c;
    if (h->currency[0])
        return h->currency;
    return default_currency && *default_currency ? default_currency : NULL;
}

static void read_row(struct spend_file *f, const struct reader *r, const struct header *h,
                     size_t line, const char *default_currency, size_t *cap)
{
    for (size_t i = 0; i < r->n; i++)
        trim(r->cell[i]);
    struct spend_row row = {.line = line};
    const char *day = cell(r, h, COL_DAY), *end = cell(r, h, COL_END);
    const char *campaign = cell(r, h, COL_CAMPAIGN), *kw = cell(r, h, COL_KEYWORD);
    const char *cost = cell(r, h, COL_COST), *cur = row_currency(r, h, default_currency);
    char end_day[11];
    bool ok = true;
    if (!day || spend_day_parse(day, row.day) != ERR_OK) {
        add_error(f, line, "day", "'%.40s' is not a date (YYYY-MM-DD or M/D/YYYY)", day ? day : "");
        ok = false;
    } else if (end && *end &&
               (spend_day_parse(end, end_day) != ERR_OK || strcmp(end_day, row.day) != 0)) {
        add_error(f, line, "day",
                  "the row covers %.12s to %.12s: export one row per day (breakdown by day)", day,
                  end);
        ok = false;
    }
    if (!campaign || !*campaign || strlen(campaign) >= SPEND_TEXT_MAX) {
        add_error(f, line, "campaign", "the campaign name is empty or longer than %d bytes",
                  SPEND_TEXT_MAX - 1);
        ok = false;
    }
    if (kw && strlen(kw) >= SPEND_TEXT_MAX) {
        add_error(f, line, "keyword", "the keyword is longer than %d bytes", SPEND_TEXT_MAX - 1);
        ok = false;
    }
    if (!cur || !is_currency(cur)) {
        add_error(f, line, "currency",
                  "no currency: the file has no currency column and none "
                  "was given (currency=)");
        ok = false;
    } else if (!f->currency[0]) {
        memcpy(f->currency, cur, 4);
    } else if (strcmp(cur, f->currency) != 0) {
        add_error(f, line, "currency", "currency %s differs from the file's %s", cur, f->currency);
        ok = false;
    }
    if (!cost || spend_amount_parse(cost, spend_currency_exponent(cur), &row.cost) != ERR_OK) {
        add_error(f, line, "cost", "'%.40s' is not an amount (like 1,234.56)", cost ? cost : "");
        ok = false;
    }
    if (!ok)
        return;
    snprintf(row.campaign, sizeof(row.campaign), "%s", campaign);
    snprintf(row.keyword, sizeof(row.keyword), "%s", kw ? kw : "");
    if (f->n_rows == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        f->rows = xrealloc(f->rows, *cap * sizeof(*f->rows));
    }
    f->rows[f->n_rows++] = row;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const struct spend_row *a = pa, *b = pb;
    int c = strcmp(a->day, b->day);
    c = c ? c : strcmp(a->campaign, b->campaign);
    c = c ? c : strcmp(a->keyword, b->keyword);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* Sorts the rows and sums those with the same (day, campaign, keyword). */
static void merge_rows(struct spend_file *f)
{
    if (f->n_rows < 2)
        return;
    qsort(f->rows, f->n_rows, sizeof(*f->rows), cmp_rows);
    size_t o = 0;
    for (size_t i = 1; i < f->n_rows; i++) {
        struct spend_row *a = &f->rows[o], *b = &f->rows[i];
        if (strcmp(a->day, b->day) == 0 && strcmp(a->campaign, b->campaign) == 0 &&
            strcmp(a->keyword, b->keyword) == 0)
            a->cost += b->cost;
        else
            f->rows[++o] = *b;
    }
    f->n_rows = o + 1;
}

static char pick_separator(const char *p, size_t len)
{
    size_t commas = 0, tabs = 0;
    for (size_t i = 0; i < len && i < 8192; i++)
        commas += p[i] == ',', tabs += p[i] == '\t';
    return tabs > commas ? '\t' : ',';
}

int spend_parse(enum spend_platform p, const char *text, size_t len, const char *default_currency,
                struct spend_file *out)
{
    *out = (struct spend_file){.platform = p};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        text += 3, len -= 3;
    struct reader r = {.p = text, .end = text + len, .sep = pick_separator(text, len), .line = 1};
    struct header h;
    bool have_header = false;
    size_t line, cap = 0;
    while (read_record(&r, &line)) {
        if (!have_header) {
            have_header = find_header(p, &r, &h);
            out->skipped++;
            continue;
        }
        if (skip_line(&r)) {
            out->skipped++;
            continue;
        }
        if (out->n_rows >= SPEND_MAX_ROWS) {
            add_error(out, line, NULL, "more than %d rows: split the file", SPEND_MAX_ROWS);
            break;
        }
        read_row(out, &r, &h, line, default_currency, &cap);
    }
    free(r.store);
    if (!have_header)
        add_error(out, 0, NULL, "no header row with the %s columns for day, campaign and cost",
                  spend_platform_name(p));
    else if (out->n_rows == 0 && out->n_errors == 0)
        add_error(out, 0, NULL, "the file has no rows");
    merge_rows(out);
    return out->n_errors ? ERR_INVALID : ERR_OK;
}

void spend_file_free(struct spend_file *f)
{
    if (!f)
        return;
    free(f->rows);
    free(f->errors);
    *f = (struct spend_file){0};
}
