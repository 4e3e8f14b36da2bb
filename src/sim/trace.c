/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* sim/trace: building, sorting, reading and writing traces (the CSV format of API.md
 * "Simulator"), and the traffic statistics for the rules of thumb. Reading is strict: a bad row
 * stops the run with FILE:LINE and the reason, since a silently skipped row would change the
 * answer the operator buys numbers by. */
#include "base/prelude.h"
#include "sim/trace.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>

#include "base/xalloc.h"
#include "core/attrib.h"

#define LINE_MAX_LEN 1024
#define HOUR_MS ((int64_t)3600 * 1000)
#define DAY_MS (24 * HOUR_MS)
#define TIME_MAX_S INT64_C(100000000000) /* ~3,000 years: keeps ms far from overflow */

/* ==== lifecycle and building ================================================================= */

void sim_trace_init(struct sim_trace *t)
{
    memset(t, 0, sizeof(*t));
    t->cap_regions = 16;
    t->regions = xcalloc(t->cap_regions, sizeof(*t->regions));
    t->n_regions = 1; /* [0] = "" */
}

void sim_trace_release(struct sim_trace *t)
{
    free(t->ev);
    free(t->device);
    free(t->region);
    free(t->regions);
    memset(t, 0, sizeof(*t));
}

bool sim_region_valid(const char *s)
{
    if (!*s)
        return true;
    if (!isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]))
        return false;
    if (s[2] == '\0')
        return true;
    if (s[2] != '-')
        return false;
    size_t n = 0;
    for (const char *p = s + 3; *p; p++, n++)
        if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
            return false;
    return n >= 1 && n <= 3;
}

int sim_trace_region(struct sim_trace *t, const char *region, uint16_t *idx)
{
    if (!sim_region_valid(region))
        return ERR_INVALID;
    for (uint32_t i = 0; i < t->n_regions; i++) {
        if (strcmp(t->regions[i], region) == 0) {
            *idx = (uint16_t)i;
            return ERR_OK;
        }
    }
    if (t->n_regions >= SIM_REGIONS_MAX)
        return ERR_TOOBIG;
    if (t->n_regions == t->cap_regions) {
        t->cap_regions *= 2;
        t->regions = xrealloc(t->regions, t->cap_regions * sizeof(*t->regions));
    }
    snprintf(t->regions[t->n_regions], SIM_REGION_MAX, "%s", region);
    *idx = (uint16_t)t->n_regions;
    t->n_regions++;
    return ERR_OK;
}

uint32_t sim_trace_add_session(struct sim_trace *t, uint8_t device, uint16_t region)
{
    uint32_t id = t->n_sessions + 1;
    if (id >= t->cap_sessions) {
        t->cap_sessions = t->cap_sessions ? 2 * t->cap_sessions : 1024;
        t->device = xrealloc(t->device, t->cap_sessions * sizeof(*t->device));
        t->region = xrealloc(t->region, t->cap_sessions * sizeof(*t->region));
        t->device[0] = 0;
        t->region[0] = 0;
    }
    t->device[id] = device;
    t->region[id] = region;
    t->n_sessions = id;
    return id;
}

uint32_t sim_trace_add_caller(struct sim_trace *t)
{
    t->extended = true;
    return ++t->n_callers;
}

void sim_trace_push(struct sim_trace *t, const struct sim_event *e)
{
    if (t->n_ev == t->cap_ev) {
        t->cap_ev = t->cap_ev ? 2 * t->cap_ev : 4096;
        t->ev = xrealloc(t->ev, t->cap_ev * sizeof(*t->ev));
    }
    t->ev[t->n_ev] = *e;
    t->n_ev++;
}

/* LSD radix sort on `at`, 11 bits a pass: stable, and only as many passes as the largest time
 * needs (3 for a month in ms). */
void sim_trace_sort(struct sim_trace *t)
{
    enum { BITS = 11, BUCKETS = 1 << BITS };
    uint64_t max = 0;
    for (size_t i = 0; i < t->n_ev; i++)
        if ((uint64_t)t->ev[i].at > max)
            max = (uint64_t)t->ev[i].at;
    struct sim_event *tmp = xmalloc((t->n_ev ? t->n_ev : 1) * sizeof(*tmp));
    size_t *count = xmalloc(BUCKETS * sizeof(*count));
    for (int shift = 0; shift < 64 && (max >> shift) != 0; shift += BITS) {
        memset(count, 0, BUCKETS * sizeof(*count));
        for (size_t i = 0; i < t->n_ev; i++)
            count[((uint64_t)t->ev[i].at >> shift) & (BUCKETS - 1)]++;
        size_t sum = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < t->n_ev; i++)
            tmp[count[((uint64_t)t->ev[i].at >> shift) & (BUCKETS - 1)]++] = t->ev[i];
        struct sim_event *swap = t->ev;
        t->ev = tmp;
        tmp = swap;
    }
    free(tmp);
    free(count);
}

/* ==== reading CSV ============================================================================ */

/* Session names seen so far: open addressing from name to session index. */
struct name_map {
    uint32_t *slot; /* session index, 0 = empty */
    uint32_t cap;   /* power of two */
    char **names;   /* [session index] */
    uint32_t cap_names;
};

#define FIELDS_MAX 7 /* the five normative columns, then caller and copy */

struct reader {
    struct sim_trace *t;
    const char *file;
    size_t line;
    int64_t last_at;
    struct name_map names;
    struct name_map callers;
    int n_fields;   /* columns in the header */
    int col_caller; /* index of the caller column, -1 if absent */
    int col_copy;   /* index of the copy column, -1 if absent */
    struct errbuf *eb;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* Slot holding name, or the empty slot where it would go. */
static uint32_t map_find(const struct name_map *m, const char *name)
{
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)hash_name(name) & mask;
    while (m->slot[i] != 0 && strcmp(m->names[m->slot[i]], name) != 0)
        i = (i + 1) & mask;
    return i;
}

static void map_grow(struct name_map *m)
{
    struct name_map old = *m;
    m->cap = old.cap ? 2 * old.cap : 1024;
    m->slot = xcalloc(m->cap, sizeof(*m->slot));
    for (uint32_t i = 0; i < old.cap; i++)
        if (old.slot[i])
            m->slot[map_find(m, m->names[old.slot[i]])] = old.slot[i];
    free(old.slot);
}

static void map_add(struct name_map *m, const char *name, uint32_t id)
{
    if ((uint64_t)id * 2 >= m->cap)
        map_grow(m);
    if (id >= m->cap_names) {
        m->cap_names = m->cap_names ? 2 * m->cap_names : 1024;
        m->names = xrealloc(m->names, m->cap_names * sizeof(*m->names));
    }
    m->names[id] = xstrdup(name);
    m->slot[map_find(m, name)] = id;
}

static uint32_t map_get(const struct name_map *m, const char *name)
{
    return m->cap ? m->slot[map_find(m, name)] : 0;
}

static void map_release(struct name_map *m, uint32_t n)
{
    for (uint32_t i = 1; i <= n && m->names; i++)
        free(m->names[i]);
    free(m->names);
    free(m->slot);
}

PRINTF_LIKE(3, 4)
static int row_err(struct reader *r, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return errf(r->eb, code, NULL, "%s:%zu: %s", r->file, r->line, msg);
}

/* Seconds with an optional fraction ("12", "12.5", "0.001") to ms, rounding to the nearest ms.
 * Returns false for anything else (signs, exponents, empty, absurdly large). */
static bool parse_time(const char *s, int64_t *out_ms)
{
    int64_t sec = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        sec = sec * 10 + (*p - '0');
        if (sec > TIME_MAX_S)
            return false;
    }
    int64_t frac = 0;
    int digits = 0;
    bool round_up = false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (; isdigit((unsigned char)*p); p++, digits++) {
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
            else if (digits == 3)
                round_up = *p >= '5';
        }
    }
    if (*p)
        return false;
    for (; digits < 3; digits++)
        frac *= 10;
    *out_ms = sec * 1000 + frac + (round_up ? 1 : 0);
    return true;
}

static const char *const kind_names[] = {"visit", "pageview", "tel_click", "call"};

static int parse_kind(const char *s, uint8_t *kind)
{
    for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *kind = (uint8_t)i;
            return ERR_OK;
        }
    }
    return ERR_INVALID;
}

static int row_visit(struct reader *r, struct sim_event *e, const char *session, const char *device)
{
    enum attrib_device d = ATTRIB_DEVICE_UNKNOWN;
    if (!*session)
        return row_err(r, ERR_INVALID, "visit without a session");
    if (map_get(&r->names, session))
        return row_err(r, ERR_INVALID, "session '%.64s' visits twice", session);
    if (attrib_device_parse(device, &d) || strcmp(device, "unknown") == 0)
        return row_err(r, ERR_INVALID, "unknown device '%.32s' (mobile, desktop or tablet)",
                       device);
    if (r->t->n_sessions >= SIM_SESSIONS_MAX)
        return row_err(r, ERR_TOOBIG, "too many sessions");
    e->session = sim_trace_add_session(r->t, (uint8_t)d, e->region);
    e->device = (uint8_t)d;
    map_add(&r->names, session, e->session);
    return ERR_OK;
}

/* Resolves the session of a pageview, tel_click or call row. */
static int row_session(struct reader *r, struct sim_event *e, const char *session)
{
    if (!*session) {
        if (e->kind == SIM_CALL)
            return ERR_OK; /* a caller with no tracked session */
        return row_err(r, ERR_INVALID, "%s without a session", kind_names[e->kind]);
    }
    e->session = map_get(&r->names, session);
    if (!e->session)
        return row_err(r, ERR_INVALID, "session '%.64s' has no visit before this row", session);
    return ERR_OK;
}

static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n < max)
            f[n] = p;
        n++;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

/* The optional columns of a row: a call's caller (interned), a tel_click's copy flag. */
static int row_extras(struct reader *r, struct sim_event *e, char **f)
{
    if (r->col_caller >= 0 && e->kind == SIM_CALL && f[r->col_caller][0]) {
        const char *name = f[r->col_caller];
        if (strlen(name) >= SIM_SESSION_NAME_MAX)
            return row_err(r, ERR_INVALID, "caller id over %d bytes", SIM_SESSION_NAME_MAX - 1);
        e->caller = map_get(&r->callers, name);
        if (!e->caller) {
            if (r->t->n_callers >= SIM_SESSIONS_MAX)
                return row_err(r, ERR_TOOBIG, "too many callers");
            e->caller = sim_trace_add_caller(r->t);
            map_add(&r->callers, name, e->caller);
        }
    }
    if (r->col_copy >= 0 && e->kind == SIM_TEL_CLICK) {
        const char *v = f[r->col_copy];
        if (strcmp(v, "1") == 0)
            e->flags |= SIM_FLAG_COPY;
        else if (*v && strcmp(v, "0") != 0)
            return row_err(r, ERR_INVALID, "copy must be 1, 0 or empty, not '%.16s'", v);
    }
    return ERR_OK;
}

static int parse_row(struct reader *r, char *line)
{
    char *f[FIELDS_MAX];
    if (strchr(line, '"'))
        return row_err(r, ERR_INVALID, "quoted fields are not supported");
    int n = split_fields(line, f, FIELDS_MAX);
    if (n != r->n_fields)
        return row_err(r, ERR_INVALID, "expected %d fields, got %d", r->n_fields, n);
    struct sim_event e = {0};
    if (!parse_time(f[0], &e.at))
        return row_err(r, ERR_INVALID, "bad time '%.32s' (seconds, like 12.5)", f[0]);
    if (e.at < r->last_at)
        return row_err(r, ERR_INVALID, "time %.32s is before the row above", f[0]);
    if (parse_kind(f[1], &e.kind))
        return row_err(r, ERR_INVALID, "unknown event '%.32s'", f[1]);
    if (strlen(f[2]) >= SIM_SESSION_NAME_MAX)
        return row_err(r, ERR_INVALID, "session id over %d bytes", SIM_SESSION_NAME_MAX - 1);
    int rc = ERR_OK;
    if (e.kind == SIM_VISIT || e.kind == SIM_CALL) /* pageview, tel_click: device/region unused */
        rc = sim_trace_region(r->t, f[4], &e.region);
    if (rc == ERR_INVALID)
        return row_err(r, rc, "bad region '%.32s' (ISO 3166-2, like US-TX)", f[4]);
    if (rc)
        return row_err(r, rc, "more than %d distinct regions", SIM_REGIONS_MAX);
    rc = e.kind == SIM_VISIT ? row_visit(r, &e, f[2], f[3]) : row_session(r, &e, f[2]);
    if (rc == ERR_OK)
        rc = row_extras(r, &e, f);
    if (rc)
        return rc;
    r->last_at = e.at;
    sim_trace_push(r->t, &e);
    return ERR_OK;
}

/* Reads one line into buf without its line end. Returns 1 for a line, 0 at EOF, or an error. */
static int read_line(struct reader *r, FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return ferror(f) ? errf(r->eb, ERR_IO, NULL, "%s: read error", r->file) : 0;
    r->line++;
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    else if (len + 1 == cap && !feof(f))
        return row_err(r, ERR_TOOBIG, "line over %d bytes", LINE_MAX_LEN);
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    return 1;
}

static int read_header(struct reader *r, FILE *f, char *buf, size_t cap)
{
    int rc = read_line(r, f, buf, cap);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return errf(r->eb, ERR_INVALID, NULL,
                    "%s: empty file (want the header "
                    "time,event,session,device,region)",
                    r->file);
    const char *h = buf;
    if ((unsigned char)h[0] == 0xef && (unsigned char)h[1] == 0xbb && (unsigned char)h[2] == 0xbf)
        h += 3; /* a UTF-8 byte order mark from spreadsheet exports */
    static const char normative[] = "time,event,session,device,region";
    size_t len = strlen(normative);
    if (strncmp(h, normative, len) != 0 || (h[len] != '\0' && h[len] != ','))
        return row_err(r, ERR_INVALID,
                       "the header must be time,event,session,device,region"
                       "[,caller][,copy]");
    r->n_fields = 5;
    if (h[len] == '\0')
        return ERR_OK;
    char extra[LINE_MAX_LEN + 2];
    snprintf(extra, sizeof(extra), "%s", h + len + 1);
    char *col_name[FIELDS_MAX];
    int n = split_fields(extra, col_name, FIELDS_MAX);
    for (int i = 0; i < n; i++) {
        int *col = strcmp(col_name[i], "caller") == 0 ? &r->col_caller
                   : strcmp(col_name[i], "copy") == 0 ? &r->col_copy
                                                      : NULL;
        if (!col || *col >= 0 || i + 5 >= FIELDS_MAX)
            return row_err(r, ERR_INVALID, "unknown or repeated column '%.32s' (caller, copy)",
                           col_name[i]);
        *col = 5 + i;
    }
    r->n_fields = 5 + n;
    r->t->extended = true;
    return ERR_OK;
}

int sim_trace_read(struct sim_trace *t, FILE *f, const char *name, struct errbuf *eb)
{
    struct reader r = {.t = t, .file = name, .eb = eb, .col_caller = -1, .col_copy = -1};
    char buf[LINE_MAX_LEN + 2];
    int rc = read_header(&r, f, buf, sizeof(buf));
    while (rc == ERR_OK) {
        rc = read_line(&r, f, buf, sizeof(buf));
        if (rc <= 0)
            break;
        rc = buf[0] ? parse_row(&r, buf) : ERR_OK;
    }
    map_release(&r.names, t->n_sessions);
    map_release(&r.callers, t->n_callers);
    return rc;
}

/* ==== writing CSV ============================================================================ */

int sim_trace_write(const struct sim_trace *t, FILE *f)
{
    fputs(t->extended ? "time,event,session,device,region,caller,copy\n"
                      : "time,event,session,device,region\n",
          f);
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct sim_event *e = &t->ev[i];
        int64_t ms = e->at;
        fprintf(f, "%" PRId64 ".%03d,%s,", ms / 1000, (int)(ms % 1000), kind_names[e->kind]);
        if (e->session)
            fprintf(f, "s%" PRIu32, e->session);
        const char *dev = e->kind == SIM_VISIT && e->device
                              ? attrib_device_name((enum attrib_device)e->device)
                              : "";
        fprintf(f, ",%s,%s", dev, t->regions[e->region]);
        if (t->extended) {
            fputc(',', f);
            if (e->kind == SIM_CALL && e->caller)
                fprintf(f, "c%" PRIu32, e->caller);
            fputs(e->kind == SIM_TEL_CLICK && (e->flags & SIM_FLAG_COPY) ? ",1" : ",", f);
        }
        fputc('\n', f);
    }
    return ferror(f) ? ERR_IO : ERR_OK;
}

/* ==== statistics ============================================================================= */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Peak of sessions live at once, each live from its visit until last activity + ttl. Visits
 * come in time order; their ends are sorted once. */
static uint32_t peak_live(const struct sim_trace *t, const int64_t *first, int64_t *ends)
{
    qsort(ends + 1, t->n_sessions, sizeof(*ends), cmp_i64);
    uint32_t live = 0;
    uint32_t peak = 0;
    size_t j = 1;
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct sim_event *e = &t->ev[i];
        if (e->kind != SIM_VISIT)
            continue;
        while (j <= t->n_sessions && ends[j] <= first[e->session]) {
            live--;
            j++;
        }
        live++;
        if (live > peak)
            peak = live;
    }
    return peak;
}

static uint32_t peak_hourly(const struct sim_trace *t)
{
    uint32_t peak = 0;
    uint32_t in_hour = 0;
    int64_t hour = -1;
    for (size_t i = 0; i < t->n_ev; i++) {
        if (t->ev[i].kind != SIM_VISIT)
            continue;
        int64_t h = t->ev[i].at / HOUR_MS;
        if (h != hour) {
            hour = h;
            in_hour = 0;
        }
        in_hour++;
        if (in_hour > peak)
            peak = in_hour;
    }
    return peak;
}

void sim_trace_stats(const struct sim_trace *t, int64_t ttl_ms, struct sim_stats *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = (size_t)t->n_sessions + 1;
    int64_t *first = xcalloc(n, sizeof(*first));
    int64_t *last = xcalloc(n, sizeof(*last));
    int64_t last_visit = 0;
    for (size_t i = 0; i < t->n_ev; i++) {
        const struct sim_event *e = &t->ev[i];
        if (e->kind == SIM_CALL) {
            out->calls++;
            out->session_calls += e->session != 0;
            continue;
        }
        if (e->kind == SIM_VISIT) {
            first[e->session] = e->at;
            last_visit = e->at;
        }
        last[e->session] = e->at;
    }
    double minutes = 0;
    for (size_t s = 1; s < n; s++) {
        minutes += (double)(last[s] - first[s]) / 60000.0;
        last[s] += ttl_ms; /* now: when the session's lease would end */
    }
    out->sessions = t->n_sessions;
    out->days = floor((double)last_visit / (double)DAY_MS) + 1;
    out->visits_per_day = t->n_sessions / out->days;
    out->mean_session_min = t->n_sessions ? minutes / t->n_sessions : 0;
    out->peak_hourly_visits = peak_hourly(t);
    out->peak_concurrent = peak_live(t, first, last);
    free(first);
    free(last);
}

static uint32_t at_least_one(double x)
{
    double c = ceil(x - 1e-9);
    return c < 1 ? 1 : c > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

void sim_rules_of_thumb(const struct sim_stats *s, struct sim_rules *out)
{
    out->size[SIM_RULE_CONCURRENT] = at_least_one(s->peak_concurrent);
    out->size[SIM_RULE_QUARTER_HOURLY] = at_least_one(s->peak_hourly_visits / 4.0);
    out->size[SIM_RULE_DAILY_20] = at_least_one(s->visits_per_day / 20.0);
    out->size[SIM_RULE_SESSION_MIN] =
        at_least_one(s->peak_hourly_visits * s->mean_session_min / 60.0);
}

const char *sim_rule_name(int i)
{
    static const char *const names[SIM_RULES] = {
        [SIM_RULE_CONCURRENT] = "1 per concurrent visitor",
        [SIM_RULE_QUARTER_HOURLY] = "1/4 of peak hourly visitors",
        [SIM_RULE_DAILY_20] = "1 per 20 daily visitors",
        [SIM_RULE_SESSION_MIN] = "peak hourly / (60 / session min)",
    };
    return i >= 0 && i < SIM_RULES ? names[i] : "";
}
