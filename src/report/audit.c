/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The quarterly audit's sampling, interval and scoring (see audit.h). */
#include "base/prelude.h"
#include "report/audit.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

size_t audit_sample(uint64_t seed, size_t n, size_t k, size_t *out)
{
    if (k > n)
        k = n;
    uint64_t state = seed;
    size_t chosen = 0;
    /* Knuth's algorithm S: index i is taken with probability (k - chosen) / (n - i) */
    for (size_t i = 0; i < n && chosen < k; i++) {
        double u = (double)(splitmix64(&state) >> 11) * 0x1.0p-53; /* [0, 1) */
        if ((double)(n - i) * u < (double)(k - chosen))
            out[chosen++] = i;
    }
    return chosen;
}

void audit_wilson(int64_t right, int64_t n, double z, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double nn = (double)n, p = (double)right / nn, z2 = z * z;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    *lo = center - half < 0 ? 0 : center - half;
    *hi = center + half > 1 ? 1 : center + half;
}

int audit_mark(const char *s)
{
    static const char *const right[] = {"right",   "r",  "yes", "y", "1", "true",
                                        "correct", "ok", "x",   "✓", "✔"};
    static const char *const wrong[] = {"wrong", "w",         "no", "n", "0",
                                        "false", "incorrect", "✗",  "✘"};
    while (*s == ' ' || *s == '\t' || *s == '\'')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < ARRAY_SIZE(right); i++)
        if (strlen(right[i]) == n && strncasecmp(s, right[i], n) == 0)
            return 1;
    for (size_t i = 0; i < ARRAY_SIZE(wrong); i++)
        if (strlen(wrong[i]) == n && strncasecmp(s, wrong[i], n) == 0)
            return 0;
    return -2;
}

/* ---- CSV reading ---- */

#define FIELDS_MAX 64
#define FIELD_MAX 512

struct row {
    size_t n;
    char f[FIELDS_MAX][FIELD_MAX];
};

/* Reads one record starting at *pos (quoted fields may span lines); false at the end. A field
 * longer than FIELD_MAX is cut, fields beyond FIELDS_MAX are dropped. *bad on a quote that never
 * closes. */
static bool next_row(const char *t, size_t len, size_t *pos, struct row *r, bool *bad)
{
    size_t i = *pos;
    if (i >= len)
        return false;
    r->n = 0;
    size_t fl = 0;
    bool quoted = false, any = false;
    char *f = r->f[0];
    for (;;) {
        char c = i < len ? t[i] : '\n';
        if (quoted) {
            if (i >= len) {
                *bad = true;
                break;
            }
            if (c == '"' && i + 1 < len && t[i + 1] == '"') {
                i++;
            } else if (c == '"') {
                quoted = false;
                i++;
                continue;
            }
        } else if (c == '"' && fl == 0 && !any) {
            quoted = true;
            any = true;
            i++;
            continue;
        } else if (c == ',' || c == '\n' || c == '\r') {
            f[fl] = '\0';
            if (r->n < FIELDS_MAX)
                r->n++;
            fl = 0;
            any = false;
            if (c == ',') {
                f = r->f[r->n < FIELDS_MAX ? r->n : FIELDS_MAX - 1];
                i++;
                continue;
            }
            i += (c == '\r' && i + 1 < len && t[i + 1] == '\n') ? 2 : 1;
            break;
        }
        if (fl + 1 < FIELD_MAX)
            f[fl++] = c;
        any = true;
        i++;
    }
    *pos = i;
    return true;
}

static int column(const struct row *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->f[i], name) == 0)
            return (int)i;
    return -1;
}

static int count(struct audit_score *sc, const char *method, int mark, struct errbuf *eb)
{
    size_t i = 0;
    while (i < sc->n_methods && strcmp(sc->m[i].method, method) != 0)
        i++;
    if (i == sc->n_methods) {
        if (i == AUDIT_METHODS_MAX)
            return errf(eb, ERR_INVALID, "method", "more than %d attribution methods",
                        AUDIT_METHODS_MAX);
        snprintf(sc->m[i].method, sizeof(sc->m[i].method), "%s", method);
        sc->n_methods++;
    }
    sc->m[i].marked++;
    sc->m[i].right += mark;
    sc->marked++;
    sc->right += mark;
    return ERR_OK;
}

int audit_score_csv(const char *text, size_t len, struct audit_score *sc, struct errbuf *eb)
{
    memset(sc, 0, sizeof(*sc));
    struct row *r = calloc(1, sizeof(*r));
    if (!r)
        return ERR_NOMEM;
    size_t pos = 0;
    bool bad = false;
    int mcol = -1, ccol = -1, rc = ERR_OK;
    int64_t line = 0;
    while (rc == ERR_OK && next_row(text, len, &pos, r, &bad)) {
        line++;
        if (bad)
            rc = errf(eb, ERR_INVALID, NULL, "row %" PRId64 ": a quoted field never ends", line);
        else if (r->n == 1 && !r->f[0][0])
            continue; /* a blank line */
        else if (mcol < 0 && r->f[0][0] == '#')
            continue;
        else if (mcol < 0) {
            mcol = column(r, "method");
            ccol = column(r, "correct");
            if (mcol < 0 || ccol < 0)
                rc = errf(eb, ERR_INVALID, NULL,
                          "the header (row %" PRId64 ") has no 'method' and 'correct' columns: "
                          "is this an opendni audit CSV?",
                          line);
        } else {
            const char *m = (size_t)ccol < r->n ? r->f[ccol] : "";
            int mark = audit_mark(m);
            if (mark == -1)
                sc->unmarked++;
            else if (mark == -2 && sc->not_understood++ == 0) {
                sc->bad_row = line;
                snprintf(sc->bad_mark, sizeof(sc->bad_mark), "%s", m);
            } else if (mark >= 0)
                rc = count(sc, (size_t)mcol < r->n ? r->f[mcol] : "", mark, eb);
        }
    }
    if (rc == ERR_OK && mcol < 0)
        rc = errf(eb, ERR_INVALID, NULL, "the file has no header row");
    free(r);
    return rc;
}
