/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni audit: the quarterly attribution audit (issue #17 item 4; docs/operations.md "The
 * quarterly audit"). Draws a reproducible random sample of an account's calls (report/audit.h:
 * the seed and the calls' (started_at, id) order decide it), and writes DIR/audit.csv, the file
 * the checker marks (column `correct`: right or wrong), and DIR/audit.html, the same evidence
 * to read (self-contained: no script, no external resource, every value escaped).
 * `opendni audit --score FILE` reads the marked CSV back: accuracy by method with a 95 % Wilson
 * interval. */
#include "base/prelude.h"
#include "cli/cli.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "report/audit.h"
#include "report/csv.h"
#include "store/store.h"

#define DAY_MS (86400LL * 1000)
#define LIST_PAGE 1000
#define SAMPLE_MAX 10000
#define FILE_MAX ((size_t)64 << 20)

/* ---- the sample ---- */

struct ids {
    int64_t account_id; /* the calls' */
    int64_t *v;
    size_t n, cap;
    int64_t last_at, last_id;
};

static int add_call_id(void *ctx, const struct st_call *c)
{
    struct ids *ids = ctx;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 1024;
        ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = c->id;
    ids->last_at = c->started_at;
    ids->last_id = c->id;
    return 0;
}

static int all_calls(struct store *s, int64_t account_id, int64_t since, int64_t until,
                     struct ids *ids)
{
    ids->account_id = account_id;
    ids->last_at = INT64_MIN;
    ids->last_id = 0;
    for (;;) {
        size_t before = ids->n;
        int rc = store_call_list(s, account_id, since, until, ids->last_at, ids->last_id, LIST_PAGE,
                                 add_call_id, ids);
        if (rc)
            return rc;
        if (ids->n - before < LIST_PAGE)
            return ERR_OK;
    }
}

/* ---- one call's evidence ---- */

struct evidence {
    struct st_call call;
    struct st_session ses, runner;
    bool has_ses, has_runner, has_lease;
    struct st_lease lease; /* the credited session's lease of the called number */
};

static int pick_lease(void *ctx, const struct st_lease *l)
{
    struct evidence *e = ctx;
    if (l->number_id != e->call.number_id || l->leased_at > e->call.started_at)
        return 0;
    if (!e->has_lease || l->leased_at > e->lease.leased_at)
        e->lease = *l;
    e->has_lease = true;
    return 0;
}

static void gather(struct store *s, int64_t account_id, int64_t call_id, struct evidence *e)
{
    memset(e, 0, sizeof(*e));
    if (store_call_by_id(s, account_id, call_id, &e->call) != ERR_OK)
        return;
    e->has_ses = e->call.session_id &&
                 store_session_by_id(s, account_id, e->call.session_id, &e->ses) == ERR_OK;
    e->has_runner =
        e->call.runner_up_session_id &&
        store_session_by_id(s, account_id, e->call.runner_up_session_id, &e->runner) == ERR_OK;
    if (e->has_ses && e->call.number_id)
        store_session_leases(s, e->ses.account_id, e->ses.id, pick_lease, e);
}

/* ---- the files ---- */

enum col_kind { VALUE, TEXT };

static const struct {
    const char *name;
    enum col_kind kind;
} cols[] = {
    {"call_id", VALUE},
    {"started_at", VALUE},
    {"from", VALUE},
    {"to", VALUE},
    {"status", VALUE},
    {"duration", VALUE},
    {"method", VALUE},
    {"confidence", VALUE},
    {"channel", TEXT},
    {"source", TEXT},
    {"medium", TEXT},
    {"campaign", TEXT},
    {"keyword", TEXT},
    {"reason", TEXT},
    {"session_id", VALUE},
    {"lease_number", VALUE},
    {"lease_start", VALUE},
    {"lease_last_active", VALUE},
    {"lease_end", VALUE},
    {"lease_shared", VALUE},
    {"landing_page", TEXT},
    {"referrer", TEXT},
    {"click_ids", TEXT},
    {"device", VALUE},
    {"runner_up_session", VALUE},
    {"runner_up_confidence", VALUE},
    {"runner_up_landing_page", TEXT},
    {"correct", TEXT},
    {"checker_notes", TEXT},
};
#define N_COLS ARRAY_SIZE(cols)

static const char *tm(int64_t at, char *out)
{
    return at ? time_format(at, out) : "";
}

/* The row's values, in cols order, into v (pointers into e or bufs). */
static void values(const struct evidence *e, const char **v, char (*num)[TIME_RFC3339_LEN])
{
    const struct st_call *c = &e->call;
    snprintf(num[0], TIME_RFC3339_LEN, "%" PRId64, c->duration_s);
    snprintf(num[1], TIME_RFC3339_LEN, "%.3f", c->confidence);
    snprintf(num[2], TIME_RFC3339_LEN, "%.3f", c->runner_up_confidence);
    const char *out[N_COLS] = {c->ext_id,
                               tm(c->started_at, num[3]),
                               c->from,
                               c->to,
                               c->status,
                               num[0],
                               c->method,
                               num[1],
                               c->channel,
                               c->source,
                               c->medium,
                               c->campaign,
                               c->keyword,
                               c->reason,
                               e->has_ses ? e->ses.ext_id : "",
                               e->has_lease ? c->to : "",
                               e->has_lease ? tm(e->lease.leased_at, num[4]) : "",
                               e->has_lease ? tm(e->lease.last_active_at, num[5]) : "",
                               e->has_lease ? tm(e->lease.expires_at, num[6]) : "",
                               e->has_lease ? (e->lease.shared ? "yes" : "no") : "",
                               e->has_ses ? e->ses.landing_page : "",
                               e->has_ses ? e->ses.referrer : "",
                               e->has_ses && strcmp(e->ses.click_ids, "{}") ? e->ses.click_ids : "",
                               e->has_ses ? e->ses.device : "",
                               e->has_runner ? e->runner.ext_id : "",
                               e->has_runner ? num[2] : "",
                               e->has_runner ? e->runner.landing_page : "",
                               "",
                               ""};
    memcpy(v, out, sizeof(out));
}

static void csv_row(struct buf *b, const char **v)
{
    for (size_t i = 0; i < N_COLS; i++) {
        if (i)
            csv_sep(b);
        if (cols[i].kind == TEXT)
            csv_text(b, v[i]);
        else
            csv_value(b, v[i]);
    }
    csv_eol(b);
}

static const char *const STYLE =
    "body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;max-width:22em;"
    "overflow-wrap:anywhere}th{background:#f3f3f3;position:sticky;top:0}"
    "tr:nth-child(even) td{background:#fafafa}";

static void html_head(struct buf *h, const char *title)
{
    buf_adds(h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'\"><title>");
    buf_add_xml(h, title);
    buf_adds(h, "</title><style>");
    buf_adds(h, STYLE);
    buf_adds(h, "</style></head><body><h1>");
    buf_add_xml(h, title);
    buf_adds(h, "</h1>\n<table><thead><tr>");
    for (size_t i = 0; i < N_COLS; i++) {
        buf_adds(h, "<th>");
        buf_add_xml(h, cols[i].name);
        buf_adds(h, "</th>");
    }
    buf_adds(h, "</tr></thead><tbody>\n");
}

static void html_row(struct buf *h, const char **v)
{
    buf_adds(h, "<tr>");
    for (size_t i = 0; i < N_COLS; i++) {
        buf_adds(h, "<td>");
        buf_add_xml(h, v[i]);
        buf_adds(h, "</td>");
    }
    buf_adds(h, "</tr>\n");
}

static int write_file(const char *dir, const char *name, const struct buf *b, char *path,
                      size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "error: cannot write '%s': %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

struct audit_run {
    const char *account, *out;
    int64_t since, until, days;
    long long sample;
    uint64_t seed;
};

static int write_audit(struct store *s, const struct audit_run *a, const struct ids *ids,
                       const size_t *pick, size_t k)
{
    char t1[TIME_RFC3339_LEN], t2[TIME_RFC3339_LEN], title[512];
    snprintf(title, sizeof(title),
             "# opendni audit of account %s: %zu of %zu calls started %s to %s; seed %" PRIu64
             "; reproduce with: opendni audit --account %s --sample %lld --period %" PRId64
             "d --until %s --seed %" PRIu64,
             a->account, k, ids->n, time_format(a->since, t1), time_format(a->until, t2), a->seed,
             a->account, a->sample, a->days, t2, a->seed);
    struct buf c, h;
    buf_init(&c, 0);
    buf_init(&h, 0);
    buf_adds(&c, title);
    csv_eol(&c);
    html_head(&h, title + 2);
    for (size_t i = 0; i < N_COLS; i++) {
        if (i)
            csv_sep(&c);
        csv_value(&c, cols[i].name);
    }
    csv_eol(&c);
    struct evidence *e = xcalloc(1, sizeof(*e));
    for (size_t i = 0; i < k; i++) {
        const char *v[N_COLS];
        char num[8][TIME_RFC3339_LEN];
        gather(s, ids->account_id, ids->v[pick[i]], e);
        values(e, v, num);
        csv_row(&c, v);
        html_row(&h, v);
    }
    free(e);
    buf_adds(&h, "</tbody></table>\n<p>Mark each call in audit.csv's <code>correct</code> column "
                 "(right or wrong), then run <code>opendni audit --score audit.csv</code>.</p>"
                 "</body></html>\n");
    char p1[4096], p2[4096];
    int rc = write_file(a->out, "audit.csv", &c, p1, sizeof(p1));
    if (rc == 0)
        rc = write_file(a->out, "audit.html", &h, p2, sizeof(p2));
    buf_release(&c);
    buf_release(&h);
    if (rc == 0)
        printf("%s\nwrote %s (mark its 'correct' column: right or wrong) and %s\n", title + 2, p1,
               p2);
    return rc;
}

static int run_audit(const char *db, struct audit_run *a)
{
    if (mkdir(a->out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "error: cannot create '%s': %s\n", a->out, strerror(errno));
        return EXIT_FAIL;
    }
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    struct st_account acct;
    struct ids ids = {0};
    int rc = store_account_get(s, a->account, &acct);
    if (rc)
        fprintf(stderr, "error: no account '%s'\n", a->account);
    else if ((rc = all_calls(s, acct.id, a->since, a->until, &ids)) != ERR_OK)
        fprintf(stderr, "error: cannot read the calls\n");
    size_t *pick = xcalloc((size_t)a->sample + 1, sizeof(size_t));
    if (rc == ERR_OK) {
        size_t k = audit_sample(a->seed, ids.n, (size_t)a->sample, pick);
        rc = write_audit(s, a, &ids, pick, k) ? ERR_IO : ERR_OK;
    }
    free(pick);
    free(ids.v);
    store_close(s);
    return rc == ERR_OK ? EXIT_OK : EXIT_FAIL;
}

/* ---- --score ---- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, FILE_MAX);
    char chunk[65536];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ok = buf_add(&b, chunk, n) == ERR_OK;
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        buf_release(&b);
        errno = EFBIG;
        return NULL;
    }
    buf_addc(&b, '\0');
    return buf_detach(&b, len);
}

static void score_line(const char *name, int64_t right, int64_t marked)
{
    double lo, hi;
    audit_wilson(right, marked, AUDIT_Z95, &lo, &hi);
    printf("%-14s %7" PRId64 " %7" PRId64 " %9.1f %%   %5.1f %% - %5.1f %%\n", name, marked, right,
           marked ? 100.0 * (double)right / (double)marked : 0.0, 100 * lo, 100 * hi);
}

static int score(const char *path)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "error: cannot read '%s': %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    struct audit_score sc;
    struct errbuf eb = {{0}, NULL};
    int rc = audit_score_csv(text, len ? len - 1 : 0, &sc, &eb);
    free(text);
    if (rc) {
        fprintf(stderr, "error: %s: %s\n", path, eb.msg);
        return EXIT_FAIL;
    }
    if (sc.not_understood)
        fprintf(stderr,
                "warning: %" PRId64 " marks are neither right nor wrong (first: row %" PRId64
                ", '%s'); not counted\n",
                sc.not_understood, sc.bad_row, sc.bad_mark);
    if (!sc.marked) {
        fprintf(stderr, "error: no call is marked right or wrong in '%s'\n", path);
        return EXIT_FAIL;
    }
    printf("%-14s %7s %7s %11s   %s\n", "method", "marked", "right", "accuracy",
           "95 % interval (Wilson)");
    for (size_t i = 0; i < sc.n_methods; i++)
        score_line(sc.m[i].method[0] ? sc.m[i].method : "(none)", sc.m[i].right, sc.m[i].marked);
    score_line("all", sc.right, sc.marked);
    if (sc.unmarked)
        printf("%" PRId64 " calls not marked yet (not counted)\n", sc.unmarked);
    return EXIT_OK;
}

/* ---- the command ---- */

static int parse_period(const char *s, int64_t *days)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 1 || v > 36500 || (*end && strcmp(end, "d") != 0))
        return -1;
    *days = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *seed)
{
    if (!*s) {
        if (getrandom(seed, sizeof(*seed), 0) != (ssize_t)sizeof(*seed))
            return -1;
        *seed &= (1ULL << 53) - 1; /* exact in any spreadsheet or JSON reader */
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *seed = v;
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    const char *db = "./opendni.db", *account = "", *period = "90d", *until = "", *seed = "",
               *out = "", *score_file = "";
    long long sample = 100;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"account", OPT_STR, &account, NULL, "the account (acc_…)"},
        {"sample", OPT_INT, &sample, NULL, "calls to draw (default 100)"},
        {"period", OPT_STR, &period, NULL, "calls started in the last N days: Nd (default 90d)"},
        {"until", OPT_STR, &until, NULL, "end of the period (RFC 3339 or a date; default now)"},
        {"seed", OPT_STR, &seed, NULL, "the random seed (default: a new one, printed)"},
        {"out", OPT_STR, &out, NULL, "directory for audit.csv and audit.html"},
        {"score", OPT_STR, &score_file, NULL, "read a marked audit.csv and report accuracy"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts,
                      "opendni audit --account ACC --out DIR [--sample N] [--period Nd] [--until "
                      "TIME] [--seed S] --db PATH\n       opendni audit --score FILE",
                      NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (*score_file)
        return score(score_file);
    struct audit_run a = {.account = account, .out = out, .sample = sample};
    if (!*account || !*out) {
        fprintf(stderr, "error: audit needs --account and --out (or --score FILE)\n");
        return EXIT_USAGE;
    }
    if (sample < 1 || sample > SAMPLE_MAX) {
        fprintf(stderr, "error: --sample must be 1 to %d calls\n", SAMPLE_MAX);
        return EXIT_USAGE;
    }
    if (parse_period(period, &a.days)) {
        fprintf(stderr, "error: --period must be a number of days, like 90d\n");
        return EXIT_USAGE;
    }
    a.until = time_now_ms();
    if (*until && time_parse(until, &a.until) != ERR_OK) {
        fprintf(stderr, "error: --until must be an RFC 3339 time or a date (2026-11-30)\n");
        return EXIT_USAGE;
    }
    a.since = a.until - a.days * DAY_MS;
    if (parse_seed(seed, &a.seed)) {
        fprintf(stderr, "error: --seed must be a whole number >= 0\n");
        return EXIT_USAGE;
    }
    return run_audit(db, &a);
}
