/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call report aggregation (see report.h): a hash table from the serialized group key to a row.
 * A key is serialized as, per grouped dimension, 0x00 for null or 0x01, the value and a NUL,
 * so distinct key tuples never collide and the row's key strings can point into the copy. */
#include "base/prelude.h"
#include "report/report.h"

#include "base/buf.h"
#include "base/hash.h"
#include "base/xalloc.h"

static const char *const dim_names[REPORT_N_DIMS] = {
    [REPORT_CHANNEL] = "channel",
    [REPORT_SOURCE] = "source",
    [REPORT_MEDIUM] = "medium",
    [REPORT_CAMPAIGN] = "campaign",
    [REPORT_KEYWORD] = "keyword",
    [REPORT_LANDING_PAGE] = "landing_page",
    [REPORT_DEVICE] = "device",
    [REPORT_LOCATION] = "location",
    [REPORT_LEAD_STATUS] = "lead_status",
    [REPORT_NUMBER] = "number",
    [REPORT_POOL] = "pool",
    [REPORT_DAY] = "day",
    [REPORT_HOUR] = "hour",
    [REPORT_REGION] = "region",
    [REPORT_CONTENT] = "utm_content",
};

struct entry {
    struct report_row row;
    size_t n_ids, cap_ids;
    char *blob; /* the serialized key; row.key[] points into it */
    size_t blob_len;
    uint64_t hash;
};

struct report {
    struct report_dims dims;
    int64_t min_duration_s;
    struct entry **entries;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1 into entries, 0 = empty */
    size_t n_slots;
    struct buf key;
    bool sorted;
    bool keep_ids;
    const struct report_row **out; /* report_rows' answer */
};

const char *report_dim_name(enum report_dim d)
{
    return (unsigned)d < REPORT_N_DIMS ? dim_names[d] : "?";
}

/* ---- group_by parsing ---- */

static int dim_by_name(const char *s, size_t n, enum report_dim *out)
{
    for (int d = 0; d < REPORT_N_DIMS; d++) {
        if (strlen(dim_names[d]) == n && memcmp(dim_names[d], s, n) == 0) {
            *out = (enum report_dim)d;
            return ERR_OK;
        }
    }
    return ERR_NOTFOUND;
}

static int add_dim(struct report_dims *dims, const char *s, size_t n, struct errbuf *eb)
{
    while (n > 0 && *s == ' ')
        s++, n--;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    enum report_dim d;
    if (n == 0)
        return errf(eb, ERR_INVALID, "group_by", "empty dimension in 'group_by'");
    if (dim_by_name(s, n, &d) != ERR_OK)
        return errf(eb, ERR_INVALID, "group_by",
                    "unknown dimension '%.*s' in 'group_by' (use channel, source, medium, "
                    "campaign, keyword, landing_page, device, location, lead_status, number, "
                    "pool, day, hour, region, utm_content)",
                    (int)(n > 64 ? 64 : n), s);
    for (size_t i = 0; i < dims->n; i++)
        if (dims->dim[i] == d)
            return errf(eb, ERR_INVALID, "group_by", "dimension '%s' appears twice in 'group_by'",
                        dim_names[d]);
    dims->dim[dims->n++] = d;
    return ERR_OK;
}

int report_dims_parse(const char *list, struct report_dims *dims, struct errbuf *eb)
{
    struct report_dims out = {0};
    if (list && *list) {
        const char *p = list;
        for (;;) {
            size_t n = strcspn(p, ",");
            int rc = add_dim(&out, p, n, eb);
            if (rc)
                return rc;
            if (!p[n])
                break;
            p += n + 1;
        }
    }
    *dims = out;
    return ERR_OK;
}

/* ---- the rules ---- */

bool report_answered(const char *status, int64_t duration_s)
{
    return status && strcmp(status, "completed") == 0 && duration_s > 0;
}

bool report_qualified(const char *status, int64_t duration_s, int64_t min_duration_s)
{
    return report_answered(status, duration_s) && duration_s >= min_duration_s;
}

int64_t report_avg_duration(const struct report_row *row)
{
    if (row->answered <= 0)
        return 0;
    return (row->talk_s + row->answered / 2) / row->answered;
}

/* ---- the table ---- */

struct report *report_new(const struct report_dims *dims, int64_t min_duration_s)
{
    struct report *r = xcalloc(1, sizeof(*r));
    r->dims = *dims;
    r->min_duration_s = min_duration_s;
    r->n_slots = 64;
    r->slots = xcalloc(r->n_slots, sizeof(*r->slots));
    buf_init(&r->key, 0);
    return r;
}

void report_free(struct report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->entries[i]->n_ids; k++)
            free((char *)r->entries[i]->row.ids[k]);
        free(r->entries[i]->row.ids);
        free(r->entries[i]->blob);
        free(r->entries[i]);
    }
    free(r->entries);
    free(r->out);
    free(r->slots);
    buf_release(&r->key);
    free(r);
}

static void serialize_key(struct report *r, const char *const *key)
{
    buf_reset(&r->key);
    for (size_t i = 0; i < r->dims.n; i++) {
        const char *v = key[r->dims.dim[i]];
        if (!v || !*v) {
            buf_addc(&r->key, '\0');
            continue;
        }
        buf_addc(&r->key, '\1');
        buf_add(&r->key, v, strlen(v) + 1);
    }
}

/* Points row.key[] into the entry's copy of the serialized key. */
static void bind_keys(struct entry *e, size_t n_keys)
{
    const char *p = e->blob;
    e->row.n_keys = n_keys;
    for (size_t i = 0; i < n_keys; i++) {
        if (*p++ == '\0') {
            e->row.key[i] = NULL;
            continue;
        }
        e->row.key[i] = p;
        p += strlen(p) + 1;
    }
}

static void grow_slots(struct report *r)
{
    free(r->slots);
    r->n_slots *= 2;
    r->slots = xcalloc(r->n_slots, sizeof(*r->slots));
    for (size_t i = 0; i < r->n; i++) {
        size_t s = r->entries[i]->hash & (r->n_slots - 1);
        while (r->slots[s])
            s = (s + 1) & (r->n_slots - 1);
        r->slots[s] = i + 1;
    }
}

static struct entry *insert(struct report *r, size_t slot, uint64_t h)
{
    struct entry *e = xcalloc(1, sizeof(*e));
    e->blob_len = r->key.len;
    e->blob = xmalloc(r->key.len + 1);
    memcpy(e->blob, r->key.data, r->key.len + 1);
    e->hash = h;
    bind_keys(e, r->dims.n);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->entries = xrealloc(r->entries, r->cap * sizeof(*r->entries));
    }
    r->entries[r->n++] = e;
    r->slots[slot] = r->n;
    if (r->n * 2 > r->n_slots)
        grow_slots(r);
    return e;
}

static struct entry *lookup(struct report *r)
{
    uint64_t h = hash_bytes(r->key.data, r->key.len);
    size_t s = h & (r->n_slots - 1);
    while (r->slots[s]) {
        struct entry *e = r->entries[r->slots[s] - 1];
        if (e->hash == h && e->blob_len == r->key.len &&
            memcmp(e->blob, r->key.data, e->blob_len) == 0)
            return e;
        s = (s + 1) & (r->n_slots - 1);
    }
    return insert(r, s, h);
}

void report_keep_ids(struct report *r)
{
    r->keep_ids = true;
}

static void keep_id(struct entry *e, const char *id)
{
    if (e->n_ids == e->cap_ids) {
        e->cap_ids = e->cap_ids ? e->cap_ids * 2 : 8;
        e->row.ids = xrealloc(e->row.ids, e->cap_ids * sizeof(*e->row.ids));
    }
    e->row.ids[e->n_ids++] = xstrdup(id ? id : "");
}

void report_add(struct report *r, const struct report_call *c)
{
    serialize_key(r, c->key);
    struct entry *e = lookup(r);
    struct report_row *row = &e->row;
    if (r->keep_ids)
        keep_id(e, c->id);
    row->calls++;
    row->score_sum += c->score;
    row->number_cost += c->number_cost;
    if (c->revenue > 0)
        row->revenue += c->revenue;
    if (report_answered(c->status, c->duration_s)) {
        row->answered++;
        row->talk_s += c->duration_s;
    }
    if (report_qualified(c->status, c->duration_s, r->min_duration_s))
        row->qualified++;
    if (c->converted) {
        row->conversions++;
        row->value += c->value;
    }
    r->sorted = false;
}

void report_add_cost(struct report *r, const char *const key[REPORT_N_DIMS], int64_t cost)
{
    serialize_key(r, key);
    struct report_row *row = &lookup(r)->row;
    row->cost += cost;
    row->has_cost = true;
    r->sorted = false;
}

void report_add_monthly(struct report *r, const char *const key[REPORT_N_DIMS], int64_t cost)
{
    serialize_key(r, key);
    lookup(r)->row.number_monthly_cost += cost;
    r->sorted = false;
}

int64_t report_cost_per(int64_t cost, int64_t n)
{
    return n > 0 ? (cost + n / 2) / n : -1;
}

/* ---- sorted output ---- */

static int cmp_key(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL); /* null first */
    return strcmp(a, b);
}

static int cmp_rows(const void *pa, const void *pb)
{
    const struct report_row *a = &(*(struct entry *const *)pa)->row;
    const struct report_row *b = &(*(struct entry *const *)pb)->row;
    if (a->calls != b->calls)
        return a->calls > b->calls ? -1 : 1;
    for (size_t i = 0; i < a->n_keys; i++) {
        int c = cmp_key(a->key[i], b->key[i]);
        if (c)
            return c;
    }
    return 0;
}

size_t report_rows(struct report *r, const struct report_row *const **rows)
{
    if (!r->sorted && r->n > 1) {
        qsort(r->entries, r->n, sizeof(*r->entries), cmp_rows);
        /* the slots hold indices into entries: rebuild them for later report_add calls */
        memset(r->slots, 0, r->n_slots * sizeof(*r->slots));
        r->n_slots /= 2;
        grow_slots(r);
    }
    r->sorted = true;
    r->out = xrealloc(r->out, (r->n ? r->n : 1) * sizeof(*r->out));
    for (size_t i = 0; i < r->n; i++)
        r->out[i] = &r->entries[i]->row;
    *rows = r->out;
    return r->n;
}
