/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* P&L for pay-per-call (see pnl.h; docs/reports.md "P&L"). */
#include "base/prelude.h"
#include "app/pnl.h"

#include "base/hash.h"
#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/phone.h"
#include "report/spend.h"
#include "store/store.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/fanout.h"
#include "app/reports.h"
#include "app/stream.h"

#define DAY_MS ((int64_t)86400 * 1000)
#define PUB_NAME_MAX 200

/* ==== publishers ============================================================================= */

static const char *const claim_kinds[] = {"sources", "numbers", "pools"};
static const char *const claim_names[] = {"source", "number", "pool"};

static json_t *publisher_json(const struct st_publisher *p)
{
    json_t *owns = json_loads(p->owns, 0, NULL);
    json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:o}", "id", p->ext_id, "name", p->name, "payout",
                          (json_int_t)p->payout, "created_at", json_time(p->created_at),
                          "updated_at", json_time(p->updated_at));
    for (size_t k = 0; k < ARRAY_SIZE(claim_kinds); k++) {
        json_t *a = json_is_object(owns) ? json_object_get(owns, claim_kinds[k]) : NULL;
        json_object_set_new(o, claim_kinds[k], json_is_array(a) ? json_incref(a) : json_array());
    }
    json_decref(owns);
    return o;
}

/* Reads one list of the body ("sources", "numbers", "pools") into p's claims and its
 * normalised copy into owns. */
static int read_claims(struct app *app, int64_t account_id, json_t *body, size_t k,
                       struct st_publisher *p, json_t *owns, struct errbuf *eb)
{
    const char *field = claim_kinds[k];
    json_t *list = json_object_get(body, field);
    json_t *out = json_array();
    json_object_set_new(owns, field, out);
    if (!list || json_is_null(list))
        return ERR_OK;
    if (!json_is_array(list))
        return errf(eb, ERR_INVALID, field, "'%s' must be an array of strings", field);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) >= STORE_TEXT_MAX)
            return errf(eb, ERR_INVALID, field, "'%s' must hold strings of 1 to %d bytes", field,
                        STORE_TEXT_MAX - 1);
        char value[STORE_TEXT_MAX];
        snprintf(value, sizeof(value), "%s", s);
        if (k == 1) {
            char e164[PHONE_E164_MAX];
            if (phone_parse(s, e164, NULL) != ERR_OK)
                return errf(eb, ERR_INVALID, field, "'%s': cannot parse number '%.40s'", field, s);
            snprintf(value, sizeof(value), "%s", e164);
        } else if (k == 2) {
            struct st_pool pool;
            int rc = store_pool_get(app->store, account_id, s, &pool);
            if (rc == ERR_NOTFOUND)
                return errf(eb, ERR_INVALID, field, "'%s': no pool '%.48s'", field, s);
            if (rc)
                return errf(eb, ERR_BACKEND, NULL, "cannot read the pools");
        }
        for (size_t j = 0; j < p->n_claims; j++)
            if (strcmp(p->claims[j].kind, claim_names[k]) == 0 &&
                strcmp(p->claims[j].value, value) == 0)
                return errf(eb, ERR_INVALID, field, "'%s' lists '%.48s' twice", field, value);
        if (p->n_claims == STORE_PUBLISHER_CLAIMS_MAX)
            return errf(eb, ERR_INVALID, field, "a publisher owns at most %d things",
                        STORE_PUBLISHER_CLAIMS_MAX);
        struct st_publisher_claim *c = &p->claims[p->n_claims++];
        snprintf(c->kind, sizeof(c->kind), "%s", claim_names[k]);
        snprintf(c->value, sizeof(c->value), "%s", value);
        json_array_append_new(out, json_string(value));
    }
    return ERR_OK;
}

static int read_publisher(struct app *app, int64_t account_id, const char *body, size_t len,
                          struct st_publisher *p, struct errbuf *eb)
{
    static const char *const keys[] = {"name", "payout", "sources", "numbers", "pools", NULL};
    json_t *o = NULL;
    int rc = json_parse_object(body, len, &o, eb);
    if (rc)
        return rc;
    const char *name = NULL;
    long long payout = -1;
    json_t *owns = json_object();
    rc = json_only_keys(o, keys, eb);
    if (!rc)
        rc = json_get_str(o, "name", &name, eb);
    if (!rc && (!name || !*name || strlen(name) > PUB_NAME_MAX))
        rc = errf(eb, ERR_INVALID, "name", "'name' is required (1 to %d bytes)", PUB_NAME_MAX);
    if (!rc)
        rc = json_get_int(o, "payout", &payout, eb);
    if (!rc && (payout < 0 || payout > INT64_MAX / 2))
        rc = errf(eb, ERR_INVALID, "payout",
                  "'payout' is required: minor units per billable call, 0 or more");
    for (size_t k = 0; !rc && k < ARRAY_SIZE(claim_kinds); k++)
        rc = read_claims(app, account_id, o, k, p, owns, eb);
    if (!rc) {
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->payout = payout;
        char *s = json_dumps(owns, JSON_COMPACT);
        if (!s || strlen(s) >= sizeof(p->owns))
            rc = errf(eb, ERR_INVALID, NULL, "the publisher's lists are too long");
        else
            snprintf(p->owns, sizeof(p->owns), "%s", s);
        free(s);
    }
    json_decref(owns);
    json_decref(o);
    return rc;
}

struct owner_find {
    const struct st_publisher *p;
    char found[STORE_ID_MAX + STORE_TEXT_MAX + 64];
};

/* Names a claim of f->p that another publisher already has (for the 409's message). */
static int find_owner(void *ctx, const struct st_publisher *other)
{
    struct owner_find *f = ctx;
    if (strcmp(other->ext_id, f->p->ext_id) == 0)
        return 0;
    json_t *owns = json_loads(other->owns, 0, NULL);
    for (size_t i = 0; i < f->p->n_claims && !f->found[0]; i++) {
        const struct st_publisher_claim *c = &f->p->claims[i];
        for (size_t k = 0; k < ARRAY_SIZE(claim_names); k++) {
            json_t *a =
                strcmp(c->kind, claim_names[k]) == 0 ? json_object_get(owns, claim_kinds[k]) : NULL;
            size_t j;
            json_t *v;
            json_array_foreach(a, j, v)
            {
                const char *s = json_string_value(v);
                if (s && strcmp(s, c->value) == 0)
                    snprintf(f->found, sizeof(f->found), "%s '%.48s' is publisher %s's", c->kind,
                             c->value, other->ext_id);
            }
        }
    }
    json_decref(owns);
    return f->found[0] != 0;
}

int pnl_publisher_put(struct app *app, int64_t account_id, const char *ext_id, const char *body,
                      size_t len, int64_t now, json_t **out, struct errbuf *eb)
{
    struct st_publisher *p = xcalloc(1, sizeof(*p));
    p->account_id = account_id;
    p->updated_at = now;
    int rc = read_publisher(app, account_id, body, len, p, eb);
    if (!rc && ext_id) {
        struct st_publisher *old = xmalloc(sizeof(*old));
        rc = store_publisher_get(app->store, account_id, ext_id, old);
        if (!rc)
            p->id = old->id;
        free(old);
        snprintf(p->ext_id, sizeof(p->ext_id), "%s", ext_id);
        if (rc && rc != ERR_NOTFOUND)
            rc = errf(eb, ERR_BACKEND, NULL, "cannot read the publisher");
    }
    struct owner_find f = {p, ""};
    if (!rc && store_publisher_list(app->store, account_id, find_owner, &f) == ERR_OK && f.found[0])
        rc = errf(eb, ERR_CONFLICT, NULL, "%s (a thing belongs to one publisher)", f.found);
    if (!rc && (rc = store_begin(app->store)) == ERR_OK) {
        rc = store_publisher_put(app->store, p);
        if (rc == ERR_OK)
            rc = store_commit(app->store);
        else
            store_rollback(app->store);
        if (rc == ERR_CONFLICT) /* another node's write came first */
            errf(eb, rc, NULL, "a source, number or pool listed is another publisher's");
        else if (rc && rc != ERR_NOTFOUND)
            rc = errf(eb, ERR_BACKEND, NULL, "cannot write the publisher");
    }
    if (!rc)
        *out = publisher_json(p);
    free(p);
    return rc;
}

int pnl_publisher_get(struct app *app, int64_t account_id, const char *ext_id, json_t **out)
{
    struct st_publisher *p = xmalloc(sizeof(*p));
    int rc = store_publisher_get(app->store, account_id, ext_id, p);
    if (!rc)
        *out = publisher_json(p);
    free(p);
    return rc;
}

static int list_one(void *ctx, const struct st_publisher *p)
{
    json_array_append_new(ctx, publisher_json(p));
    return 0;
}

int pnl_publisher_list(struct app *app, int64_t account_id, json_t **out)
{
    json_t *a = json_array();
    int rc = store_publisher_list(app->store, account_id, list_one, a);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = json_pack("{s:o}", "publishers", a);
    return ERR_OK;
}

int pnl_publisher_delete(struct app *app, int64_t account_id, const char *ext_id)
{
    int rc = store_begin(app->store);
    if (rc)
        return rc;
    rc = store_publisher_delete(app->store, account_id, ext_id);
    if (rc == ERR_OK)
        return store_commit(app->store);
    store_rollback(app->store);
    return rc;
}

/* ==== who is paid for a call ================================================================= */

struct payee {
    char ext_id[STORE_ID_MAX];
    char name[STORE_NAME_MAX];
    int64_t payout;
};

/* One owned thing: kind 0 number, 1 pool, 2 source (the order of precedence). */
struct owned {
    int kind;
    char *value;
    size_t payee;
};

struct payees {
    size_t n, cap;
    struct payee *p;
    size_t n_owned, cap_owned;
    struct owned *owned; /* sorted by (kind, value) once read */
};

static void add_owned(struct payees *ps, int kind, const char *value)
{
    if (ps->n_owned == ps->cap_owned) {
        ps->cap_owned = ps->cap_owned ? ps->cap_owned * 2 : 16;
        ps->owned = xrealloc(ps->owned, ps->cap_owned * sizeof(*ps->owned));
    }
    ps->owned[ps->n_owned++] = (struct owned){kind, xstrdup(value), ps->n - 1};
}

static int add_payee(void *ctx, const struct st_publisher *p)
{
    struct payees *ps = ctx;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 8;
        ps->p = xrealloc(ps->p, ps->cap * sizeof(*ps->p));
    }
    struct payee *e = &ps->p[ps->n++];
    snprintf(e->ext_id, sizeof(e->ext_id), "%s", p->ext_id);
    snprintf(e->name, sizeof(e->name), "%s", p->name);
    e->payout = p->payout;
    static const char *const lists[] = {"numbers", "pools", "sources"};
    json_t *owns = json_loads(p->owns, 0, NULL);
    for (int k = 0; k < (int)ARRAY_SIZE(lists); k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(owns, lists[k]), i, v)
        {
            if (json_string_value(v))
                add_owned(ps, k, json_string_value(v));
        }
    }
    json_decref(owns);
    return 0;
}

static int cmp_owned(const void *x, const void *y)
{
    const struct owned *a = x, *b = y;
    return a->kind != b->kind ? a->kind - b->kind : strcmp(a->value, b->value);
}

/* The account's publishers and what they own, sorted for payee_of. */
static int payees_read(struct app *app, int64_t account_id, struct payees *ps)
{
    int rc = store_publisher_list(app->store, account_id, add_payee, ps);
    if (rc == ERR_OK && ps->n_owned)
        qsort(ps->owned, ps->n_owned, sizeof(*ps->owned), cmp_owned);
    return rc;
}

static void payees_release(struct payees *ps)
{
    for (size_t i = 0; i < ps->n_owned; i++)
        free(ps->owned[i].value);
    free(ps->owned);
    free(ps->p);
}

/* The call's publisher: its number's, else its pool's, else its utm_source's; NULL if none.
 * O(log n) in the things owned. */
static const struct payee *payee_of(const struct payees *ps, const struct st_report_call *c)
{
    const char *values[] = {c->to, c->pool_ext, c->source};
    for (int k = 0; k < (int)ARRAY_SIZE(values) && ps->n_owned; k++) {
        if (!values[k][0])
            continue;
        struct owned key = {k, (char *)values[k], 0};
        const struct owned *o =
            bsearch(&key, ps->owned, ps->n_owned, sizeof(*ps->owned), cmp_owned);
        if (o)
            return &ps->p[o->payee];
    }
    return NULL;
}

/* ==== the report ============================================================================= */

static const char *const dim_names[PNL_N_DIMS] = {"day", "source", "buyer", "publisher"};

int pnl_dims_parse(const char *list, struct pnl_dims *dims, struct errbuf *eb)
{
    dims->n = 0;
    if (!list || !*list)
        return ERR_OK;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (size_t d = 0; d < PNL_N_DIMS; d++)
            if (strlen(dim_names[d]) == n && strncmp(p, dim_names[d], n) == 0)
                found = (int)d;
        for (size_t i = 0; found >= 0 && i < dims->n; i++)
            if (dims->dim[i] == (enum pnl_dim)found)
                found = -2;
        if (found < 0)
            return errf(eb, ERR_INVALID, "group_by",
                        "'group_by' lists day, source, buyer and publisher, each once");
        dims->dim[dims->n++] = (enum pnl_dim)found;
        if (!p[n])
            return ERR_OK;
        p += n + 1;
    }
}

struct prow {
    char *key[PNL_N_DIMS]; /* by dimension; NULL = null */
    int64_t calls, billable, revenue, payouts, number_cost, cost, monthly;
    json_t *ids, *billable_ids;
    char *pub_name; /* the publisher's name (grouped by publisher) */
};

struct pnl {
    const struct pnl_dims *dims;
    const struct pnl_query *q;
    const struct calls_settings *cs;
    const struct payees *payees;
    size_t n, cap;
    struct prow *rows;
    size_t slots_cap; /* open addressing: row index + 1, 0 = empty */
    size_t *slots;
};

static uint64_t key_hash(const struct pnl *t, char *const key[PNL_N_DIMS])
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < t->dims->n; i++) {
        const char *k = key[t->dims->dim[i]];
        h = (h ^ (k ? hash_str(k) : 7)) * 1099511628211ULL;
    }
    return h;
}

static bool key_equal(const struct pnl *t, char *const a[PNL_N_DIMS], char *const b[PNL_N_DIMS])
{
    for (size_t i = 0; i < t->dims->n; i++) {
        const char *x = a[t->dims->dim[i]], *y = b[t->dims->dim[i]];
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return false;
    }
    return true;
}

static void grow_slots(struct pnl *t)
{
    free(t->slots);
    t->slots_cap = t->slots_cap ? t->slots_cap * 2 : 64;
    t->slots = xcalloc(t->slots_cap, sizeof(*t->slots));
    for (size_t r = 0; r < t->n; r++) {
        size_t i = (size_t)key_hash(t, t->rows[r].key) & (t->slots_cap - 1);
        while (t->slots[i])
            i = (i + 1) & (t->slots_cap - 1);
        t->slots[i] = r + 1;
    }
}

/* The row of key (only the grouped dimensions are read), created when new. */
static struct prow *row_of(struct pnl *t, const char *const key[PNL_N_DIMS])
{
    char *k[PNL_N_DIMS] = {0};
    for (size_t i = 0; i < t->dims->n; i++) {
        enum pnl_dim d = t->dims->dim[i];
        k[d] = key[d] && *key[d] ? (char *)key[d] : NULL;
    }
    if ((t->n + 1) * 2 > t->slots_cap)
        grow_slots(t);
    size_t i = (size_t)key_hash(t, k) & (t->slots_cap - 1);
    for (; t->slots[i]; i = (i + 1) & (t->slots_cap - 1))
        if (key_equal(t, t->rows[t->slots[i] - 1].key, k))
            return &t->rows[t->slots[i] - 1];
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->rows = xrealloc(t->rows, t->cap * sizeof(*t->rows));
    }
    struct prow *r = &t->rows[t->n];
    memset(r, 0, sizeof(*r));
    for (size_t j = 0; j < t->dims->n; j++) {
        enum pnl_dim d = t->dims->dim[j];
        r->key[d] = k[d] ? xstrdup(k[d]) : NULL;
    }
    if (t->q->call_ids) {
        r->ids = json_array();
        r->billable_ids = json_array();
    }
    t->slots[i] = ++t->n;
    return r;
}

static int add_call(void *ctx, const struct st_report_call *c)
{
    struct pnl *t = ctx;
    /* the publisher and payout recorded when the call became billable (sql/0024); a call
     * without a record (never billable, or billable before payouts were recorded): the
     * publisher owning it now, at its payout now */
    const struct payee *pub = c->payout >= 0 ? NULL : payee_of(t->payees, c);
    const char *pub_id = c->payout >= 0 ? (c->publisher[0] ? c->publisher : NULL)
                         : pub          ? pub->ext_id
                                        : NULL;
    int64_t payout = c->payout >= 0 ? c->payout : pub ? pub->payout : 0;
    bool connected = c->rule_billable >= 0 && c->target[0];
    bool billable = c->person_billable >= 0 ? c->person_billable == 1 : c->rule_billable == 1;
    int64_t monthly, per_minute;
    calls_number_costs(t->cs, c->provider, &monthly, &per_minute);
    char day[11];
    reports_day(c->started_at, t->q->tz_offset_min, day);
    const char *key[PNL_N_DIMS] = {day, c->source, connected ? c->target : NULL, pub_id};
    struct prow *r = row_of(t, key);
    if (pub_id && !r->pub_name)
        r->pub_name = xstrdup(c->payout >= 0 ? c->publisher_name : pub->name);
    r->calls++;
    r->number_cost += c->duration_s > 0 ? per_minute * ((c->duration_s + 59) / 60) : 0;
    if (billable) {
        r->billable++;
        r->revenue += connected ? c->price : 0;
        r->payouts += payout;
    }
    if (r->ids) {
        json_array_append_new(r->ids, json_string(c->call_ext));
        if (billable)
            json_array_append_new(r->billable_ids, json_string(c->call_ext));
    }
    return 0;
}

/* Ad spend and number rent fit a grouping by day only (or none). */
static bool costs_fit(const struct pnl_dims *dims)
{
    return dims->n == 0 || (dims->n == 1 && dims->dim[0] == PNL_DAY);
}

static int add_spend(void *ctx, const struct st_spend_row *w)
{
    struct pnl *t = ctx;
    const char *key[PNL_N_DIMS] = {w->day};
    row_of(t, key)->cost += w->cost;
    return 0;
}

struct rent {
    struct pnl *t;
    int64_t per_month;
};

/* A number's monthly cost over the part of [since, until) after it was created, cut at the
 * report's days (per_month × time / 30 days, each day's share rounded half up). */
static int add_rent(void *ctx, const struct st_number *n)
{
    struct rent *m = ctx;
    const struct pnl_query *q = m->t->q;
    int64_t off = (int64_t)q->tz_offset_min * 60000;
    for (int64_t from = n->created_at > q->since ? n->created_at : q->since; from < q->until;) {
        int64_t local = from + off;
        int64_t day_end = local - ((local % DAY_MS) + DAY_MS) % DAY_MS + DAY_MS - off;
        int64_t to = day_end < q->until ? day_end : q->until;
        char day[11];
        reports_day(from, q->tz_offset_min, day);
        const char *key[PNL_N_DIMS] = {day};
        double cost = (double)m->per_month * (double)(to - from) / (30.0 * (double)DAY_MS);
        row_of(m->t, key)->monthly += (int64_t)(cost + 0.5);
        from = to;
    }
    return 0;
}

static int cmp_key(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static _Thread_local const struct pnl_dims *sort_dims; /* qsort has no context */

static int cmp_rows(const void *x, const void *y)
{
    const struct prow *a = x, *b = y;
    for (size_t i = 0; i < sort_dims->n; i++) {
        int c = cmp_key(a->key[sort_dims->dim[i]], b->key[sort_dims->dim[i]]);
        if (c)
            return c;
    }
    return 0;
}

static json_t *figures_json(const struct prow *r, bool costed)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "calls", (json_int_t)r->calls, "billable",
                          (json_int_t)r->billable, "revenue", (json_int_t)r->revenue, "payouts",
                          (json_int_t)r->payouts, "margin", (json_int_t)(r->revenue - r->payouts),
                          "number_cost", (json_int_t)r->number_cost);
    json_object_set_new(o, "cost", costed ? json_integer((json_int_t)r->cost) : json_null());
    json_object_set_new(o, "number_monthly_cost",
                        costed ? json_integer((json_int_t)r->monthly) : json_null());
    json_object_set_new(o, "net",
                        costed ? json_integer((json_int_t)(r->revenue - r->payouts -
                                                           r->number_cost - r->cost - r->monthly))
                               : json_null());
    return o;
}

static json_t *rows_json(struct pnl *t, bool costed, struct prow *total)
{
    json_t *rows = json_array();
    sort_dims = t->dims;
    if (t->n)
        qsort(t->rows, t->n, sizeof(*t->rows), cmp_rows);
    for (size_t i = 0; i < t->n; i++) {
        struct prow *r = &t->rows[i];
        json_t *key = json_object();
        for (size_t j = 0; j < t->dims->n; j++) {
            enum pnl_dim d = t->dims->dim[j];
            json_object_set_new(key, dim_names[d], json_str_or_null(r->key[d]));
            if (d == PNL_PUBLISHER && r->key[d] && r->pub_name)
                json_object_set_new(key, "publisher_name", json_string(r->pub_name));
        }
        json_t *o = figures_json(r, costed);
        json_object_set_new(o, "key", key);
        if (r->ids) {
            json_object_set(o, "call_ids", r->ids);
            json_object_set(o, "billable_call_ids", r->billable_ids);
        }
        json_array_append_new(rows, o);
        total->calls += r->calls;
        total->billable += r->billable;
        total->revenue += r->revenue;
        total->payouts += r->payouts;
        total->number_cost += r->number_cost;
        total->cost += r->cost;
        total->monthly += r->monthly;
    }
    return rows;
}

static void pnl_release(struct pnl *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (size_t d = 0; d < PNL_N_DIMS; d++)
            free(t->rows[i].key[d]);
        free(t->rows[i].pub_name);
        json_decref(t->rows[i].ids);
        json_decref(t->rows[i].billable_ids);
    }
    free(t->rows);
    free(t->slots);
}

/* Reads the calls (and, when the grouping allows, spend and rent) into t. */
static int pnl_fill(struct app *app, const struct st_account *a, struct pnl *t, bool costed)
{
    int rc = store_report_calls_need(app->store, a->id, t->q->since, t->q->until,
                                     STORE_REPORT_NEED_ROUTING, add_call, t);
    if (rc == ERR_OK && costed) {
        char since_day[11], until_day[11]; /* the days whose UTC midnight is in the range */
        reports_day(t->q->since + DAY_MS - 1, 0, since_day);
        reports_day(t->q->until + DAY_MS - 1, 0, until_day);
        rc = store_spend_list(app->store, a->id, since_day, until_day, add_spend, t);
    }
    if (rc == ERR_OK && costed) {
        struct rent m = {t, t->cs->number_monthly};
        rc = store_number_list(app->store, a->id, 0, add_rent, &m);
    }
    return rc;
}

int pnl_report(struct app *app, const struct st_account *a, const struct pnl_dims *dims,
               const struct pnl_query *q, json_t **out, struct errbuf *eb)
{
    struct calls_settings cs;
    calls_settings_parse(a->settings, &cs, NULL);
    struct payees ps = {0};
    struct pnl t = {.dims = dims, .q = q, .cs = &cs, .payees = &ps};
    bool costed = costs_fit(dims);
    int rc = payees_read(app, a->id, &ps);
    if (rc == ERR_OK)
        rc = pnl_fill(app, a, &t, costed);
    if (rc == ERR_OK) {
        struct prow total = {0};
        json_t *rows = rows_json(&t, costed, &total);
        json_t *group = json_array();
        for (size_t i = 0; i < dims->n; i++)
            json_array_append_new(group, json_string(dim_names[dims->dim[i]]));
        *out = json_pack("{s:o,s:o,s:o,s:s,s:o,s:o}", "rows", rows, "totals",
                         figures_json(&total, costed), "group_by", group, "currency", cs.currency,
                         "since", json_time(q->since), "until", json_time(q->until));
    } else {
        rc = errf(eb, ERR_BACKEND, NULL, "cannot read the calls");
    }
    pnl_release(&t);
    payees_release(&ps);
    return rc;
}

/* ==== live totals ============================================================================ */

json_t *pnl_today_json(struct app *app, int64_t account_id, int64_t now)
{
    struct st_account a;
    if (admin_account_by_id(app, account_id, &a) != ERR_OK)
        return NULL;
    struct pnl_dims dims = {0};
    struct pnl_query q = {.since = now - ((now % DAY_MS) + DAY_MS) % DAY_MS};
    q.until = q.since + DAY_MS;
    struct calls_settings cs;
    calls_settings_parse(a.settings, &cs, NULL);
    struct payees ps = {0};
    struct pnl t = {.dims = &dims, .q = &q, .cs = &cs, .payees = &ps};
    json_t *o = NULL;
    if (payees_read(app, account_id, &ps) == ERR_OK &&
        store_report_calls_need(app->store, account_id, q.since, q.until, STORE_REPORT_NEED_ROUTING,
                                add_call, &t) == ERR_OK) {
        struct prow r = t.n ? t.rows[0] : (struct prow){0};
        char day[11];
        reports_day(q.since, 0, day);
        o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "day", day, "calls", (json_int_t)r.calls,
                      "billable", (json_int_t)r.billable, "revenue", (json_int_t)r.revenue,
                      "payouts", (json_int_t)r.payouts, "margin",
                      (json_int_t)(r.revenue - r.payouts), "currency", cs.currency);
    }
    pnl_release(&t);
    payees_release(&ps);
    return o;
}

void pnl_publish_today(struct app *app, int64_t account_id)
{
    pnl_publish_local(app, account_id);
    /* the other nodes' listeners (PostgreSQL): each node reads the totals itself */
    fanout_notify(app, app->store, account_id, "pnl.updated", 0);
}

void pnl_publish_local(struct app *app, int64_t account_id)
{
    if (!app->stream || !stream_listeners(app->stream))
        return;
    json_t *o = pnl_today_json(app, account_id, time_now_ms());
    if (!o)
        return;
    char *s = json_dumps(o, JSON_COMPACT);
    const char *money[] = {"revenue", "payouts", "margin"};
    for (size_t i = 0; i < ARRAY_SIZE(money); i++)
        json_object_set_new(o, money[i], json_null());
    char *m = json_dumps(o, JSON_COMPACT);
    if (s && m)
        stream_publish_masked(app->stream, account_id, "pnl.updated", s, m);
    free(s);
    free(m);
    json_decref(o);
}

struct pnl_event {
    struct app *app;
    int64_t account_id;
};

struct pnl_event *pnl_event_new(struct app *app, int64_t account_id)
{
    struct pnl_event *e = xmalloc(sizeof(*e));
    *e = (struct pnl_event){app, account_id};
    return e;
}

void pnl_event_publish(void *ev)
{
    struct pnl_event *e = ev;
    pnl_publish_today(e->app, e->account_id);
    free(e);
}
