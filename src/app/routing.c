/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Call routing (routing.h): the documents' API, and each step of a routed call: plan → counts →
 * core/route → the call's routing record → the provider's answer. */
#include "base/prelude.h"
#include "app/routing.h"

#include <pthread.h>
#include <sys/random.h>

#include "base/ids.h"
#include "base/json.h"
#include "base/timefmt.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/xalloc.h"
#include "app/accounts.h"
#include "app/app.h"
#include "app/auction.h"
#include "app/calls.h"
#include "app/metrics.h"
#include "app/routing_int.h"
#include "store/secrets.h"
#include "store/store.h"

#define ROUTING_DEFAULT_NOTICE "This call may be recorded." /* as telephony's */
#define LIVE_WINDOW_MS (4 * 3600 * 1000LL) /* a dialling record older than this is not live */

static const char *kind_name(enum routing_kind k)
{
    return k == ROUTING_PLAN ? "plan" : "location";
}

/* ==== documents ============================================================================== */

static json_t *doc_json(const struct st_route_doc *d)
{
    json_t *o = json_loads(d->body, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "targets"), i, t) /* buyers' secrets: write-only */
        json_object_del(t, ROUTING_SECRET_KEY);
    json_object_set_new(o, "id", json_string(d->ext_id));
    json_object_set_new(o, "created", json_time(d->created_at));
    json_object_set_new(o, "updated", json_time(d->updated_at));
    return o;
}

struct loc_set {
    json_t *docs[ROUTE_MAX_LOCATIONS];
    char ids[ROUTE_MAX_LOCATIONS][STORE_ID_MAX];
    const char *id_ptrs[ROUTE_MAX_LOCATIONS];
    size_t n;
    bool too_many;
};

static int collect_location(void *ctx, const struct st_route_doc *d)
{
    struct loc_set *ls = ctx;
    if (ls->n >= ROUTE_MAX_LOCATIONS) {
        ls->too_many = true;
        return 1;
    }
    json_t *o = json_loads(d->body, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return 0;
    }
    ls->docs[ls->n] = o;
    snprintf(ls->ids[ls->n], STORE_ID_MAX, "%s", d->ext_id);
    ls->id_ptrs[ls->n] = ls->ids[ls->n];
    ls->n++;
    return 0;
}

static void loc_set_free(struct loc_set *ls)
{
    for (size_t i = 0; ls && i < ls->n; i++)
        json_decref(ls->docs[i]);
    free(ls);
}

static int load_locations(struct app *app, int64_t account_id, struct loc_set **out)
{
    struct loc_set *ls = xcalloc(1, sizeof(*ls));
    int rc = store_route_doc_list(app->store, account_id, "location", collect_location, ls);
    if (rc) {
        loc_set_free(ls);
        return rc;
    }
    *out = ls;
    return ERR_OK;
}

/* The attach text of a plan ({"number":"num_…"} or {"pool":"pool_…"}), checked against the
 * account's numbers and pools. */
static int plan_attach(struct app *app, int64_t account_id, json_t *a, char *out, size_t cap,
                       struct errbuf *eb)
{
    out[0] = '\0';
    if (!a || json_is_null(a))
        return ERR_OK;
    const char *kind = json_object_size(a) == 1 ? json_object_iter_key(json_object_iter(a)) : "";
    const char *id = json_string_value(json_object_get(a, kind));
    if (!id || (strcmp(kind, "number") && strcmp(kind, "pool") && strcmp(kind, "location")))
        return errf(eb, ERR_INVALID, "attach",
                    "attach is {\"number\":id}, {\"pool\":id} or {\"location\":id}");
    int rc;
    if (strcmp(kind, "number") == 0) {
        struct st_number n;
        rc = store_number_get(app->store, account_id, id, &n);
    } else if (strcmp(kind, "location") == 0) {
        struct st_route_doc *l = xmalloc(sizeof(*l));
        rc = store_route_doc_get(app->store, account_id, "location", id, l);
        free(l);
    } else {
        struct st_pool p;
        rc = store_pool_get(app->store, account_id, id, &p);
    }
    if (rc == ERR_NOTFOUND)
        return errf(eb, ERR_INVALID, "attach", "attach: no %s '%.48s'", kind, id);
    if (rc)
        return rc;
    snprintf(out, cap, "%s:%s", kind, id);
    return ERR_OK;
}

static bool lists(json_t *o, const char *key, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, key), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            return true;
    }
    return false;
}

/* A location's numbers (key "numbers") or pools ("pools") exist in the account and belong to no
 * other location than self (NULL: a new one). ERR_INVALID or ERR_CONFLICT with eb set. */
static int location_owns(struct app *app, int64_t account_id, const char *self, json_t *o,
                         const char *key, const struct loc_set *ls, struct errbuf *eb)
{
    bool numbers = strcmp(key, "numbers") == 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, key), i, v)
    {
        const char *id = json_string_value(v);
        int rc;
        if (numbers) {
            struct st_number n;
            rc = store_number_get(app->store, account_id, id, &n);
        } else {
            struct st_pool p;
            rc = store_pool_get(app->store, account_id, id, &p);
        }
        if (rc == ERR_NOTFOUND)
            return errf(eb, ERR_INVALID, key, "%s: no %s '%.48s'", key, numbers ? "number" : "pool",
                        id);
        if (rc)
            return rc;
        for (size_t k = 0; k < ls->n; k++)
            if ((!self || strcmp(ls->ids[k], self) != 0) && lists(ls->docs[k], key, id))
                return errf(eb, ERR_CONFLICT, key, "%s: '%.48s' belongs to location '%s'", key, id,
                            ls->ids[k]);
    }
    return ERR_OK;
}

static int check_location(struct app *app, int64_t account_id, const char *self, json_t *o,
                          struct errbuf *eb)
{
    int rc = routing__location_check(o, eb);
    if (rc || (!json_object_get(o, "numbers") && !json_object_get(o, "pools")))
        return rc;
    struct loc_set *ls = NULL;
    rc = load_locations(app, account_id, &ls);
    if (!rc)
        rc = location_owns(app, account_id, self, o, "numbers", ls, eb);
    if (!rc)
        rc = location_owns(app, account_id, self, o, "pools", ls, eb);
    loc_set_free(ls);
    return rc;
}

static int check_doc(struct app *app, int64_t account_id, enum routing_kind kind, const char *self,
                     json_t *o, struct errbuf *eb)
{
    if (kind == ROUTING_LOCATION)
        return check_location(app, account_id, self, o, eb);
    struct loc_set *ls = NULL;
    int rc = load_locations(app, account_id, &ls);
    if (rc)
        return rc;
    struct routing_plan *rp = NULL;
    rc = routing__plan_parse(o, "", ls->docs, ls->id_ptrs, ls->n, &rp, eb);
    routing__plan_free(rp);
    loc_set_free(ls);
    return rc;
}

/* The account's buyers' sealed signing secrets, {target id: sealed}, from its stored plans. */
static int collect_secrets(void *ctx, const struct st_route_doc *d)
{
    if (!strstr(d->body, ROUTING_SECRET_KEY))
        return 0;
    json_t *o = json_loads(d->body, 0, NULL);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "targets"), i, t)
    {
        const char *tid = json_string_value(json_object_get(t, "id"));
        json_t *v = json_object_get(t, ROUTING_SECRET_KEY);
        if (tid && json_is_string(v) && !json_object_get(ctx, tid))
            json_object_set(ctx, tid, v);
    }
    json_decref(o);
    return 0;
}

/* Gives every bidding target (a bid_url) of plan o its signing secret, sealed into the stored
 * document: one per buyer (target id) in the account, the one a stored plan of the account
 * already gives that id, else a new one, whose clear text goes into shown ({target id:
 * secret}: the answer shows it once). */
static int seal_buyer_secrets(struct app *app, int64_t account_id, json_t *o, json_t *shown,
                              struct errbuf *eb)
{
    json_t *known = json_object();
    int rc = store_route_doc_list(app->store, account_id, "plan", collect_secrets, known);
    if (rc)
        rc = errf(eb, rc, NULL, "cannot read the account's plans");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "targets"), i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        if (rc || !id || !json_object_get(t, "bid_url"))
            continue;
        char sealed[SECRETS_SEALED_MAX];
        const char *have = json_string_value(json_object_get(known, id));
        snprintf(sealed, sizeof(sealed), "%s", have && strlen(have) < sizeof(sealed) ? have : "");
        if (!sealed[0]) {
            char clear[STORE_SECRET_MAX], label[STORE_ID_MAX + 8];
            id_new("bsec_", 32, clear, sizeof(clear));
            snprintf(label, sizeof(label), "buyer:%s", id);
            rc = store_secret_seal(app->store, account_id, label, clear, sealed, sizeof(sealed));
            if (rc)
                rc = errf(eb, rc, NULL, "cannot seal buyer '%s''s signing secret", id);
            else
                json_object_set_new(shown, id, json_string(clear));
            memset(clear, 0, sizeof(clear));
            if (!rc) /* the plan's other targets of the same id share it */
                json_object_set_new(known, id, json_string(sealed));
        }
        if (!rc)
            json_object_set_new(t, ROUTING_SECRET_KEY, json_string(sealed));
    }
    json_decref(known);
    return rc;
}

/* The stored plans that hold a sealed buyer secret (routing_reseal_buyers). */
struct sealed_docs {
    struct st_route_doc *v;
    size_t n, cap;
};

static int add_sealed_doc(void *ctx, const struct st_route_doc *d)
{
    struct sealed_docs *sd = ctx;
    if (!strstr(d->body, ROUTING_SECRET_KEY))
        return 0;
    if (sd->n == sd->cap) {
        sd->cap = sd->cap ? 2 * sd->cap : 8;
        sd->v = xrealloc(sd->v, sd->cap * sizeof(*sd->v));
    }
    sd->v[sd->n++] = *d;
    return 0;
}

/* Re-seals the stale buyer secrets of one stored plan d (written back when one changed). */
static int reseal_doc(struct store *s, struct st_route_doc *d, int64_t *n, struct errbuf *eb)
{
    json_t *o = json_loads(d->body, 0, NULL);
    if (!o)
        return errf(eb, ERR_INVALID, NULL, "plan %s: its stored body does not parse", d->ext_id);
    bool changed = false;
    int rc = ERR_OK;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "targets"), i, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        const char *v = json_string_value(json_object_get(t, ROUTING_SECRET_KEY));
        if (rc || !id || !v || !store_secret_stale(s, v))
            continue;
        char label[STORE_ID_MAX + 8], clear[STORE_SECRET_MAX], sealed[SECRETS_SEALED_MAX];
        snprintf(label, sizeof(label), "buyer:%s", id);
        rc = store_secret_open(s, d->account_id, label, v, clear, sizeof(clear));
        if (rc)
            rc = errf(eb, rc, NULL, "the signing secret of buyer '%s' in plan %s does not open%s",
                      id, d->ext_id, rc == ERR_UNSUPPORTED ? " with the keys given" : "");
        if (!rc && (rc = store_secret_seal(s, d->account_id, label, clear, sealed,
                                           sizeof(sealed))) != ERR_OK)
            rc = errf(eb, rc, NULL, "cannot seal buyer '%s''s signing secret", id);
        memset(clear, 0, sizeof(clear));
        if (!rc) {
            json_object_set_new(t, ROUTING_SECRET_KEY, json_string(sealed));
            changed = true;
            (*n)++;
        }
    }
    char *text = !rc && changed ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!rc && changed) {
        if (!text || strlen(text) >= sizeof(d->body))
            rc = errf(eb, ERR_TOOBIG, NULL, "plan %s: too large with its secrets", d->ext_id);
        else
            snprintf(d->body, sizeof(d->body), "%s", text);
        if (!rc && (rc = store_route_doc_put(s, d)) != ERR_OK)
            rc = errf(eb, rc, NULL, "cannot write plan %s", d->ext_id);
    }
    free(text);
    return rc;
}

int routing_reseal_buyers(void *ctx, struct store *s, int64_t now, int64_t *n, struct errbuf *eb)
{
    (void)ctx;
    (void)now; /* a re-sealed plan keeps its updated_at: nobody edited it */
    int64_t *ids = NULL;
    size_t n_ids = 0;
    int rc = store_account_ids(s, &ids, &n_ids);
    if (rc)
        rc = errf(eb, rc, NULL, "cannot list the accounts");
    for (size_t a = 0; rc == ERR_OK && a < n_ids; a++) {
        struct sealed_docs sd = {0};
        rc = store_route_doc_list(s, ids[a], "plan", add_sealed_doc, &sd);
        if (rc)
            rc = errf(eb, rc, NULL, "cannot read the plans");
        for (size_t i = 0; rc == ERR_OK && i < sd.n; i++)
            rc = reseal_doc(s, &sd.v[i], n, eb);
        free(sd.v);
    }
    free(ids);
    return rc;
}

/* A plan's body never carries signing secrets: the server makes them. */
static int no_secrets_given(json_t *o, struct errbuf *eb)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(o, "targets"), i, t)
    {
        if (json_object_get(t, ROUTING_SECRET_KEY) || json_object_get(t, "signing_secret"))
            return errf(eb, ERR_INVALID, "targets",
                        "targets: a buyer's signing_secret is made by the server (write-only)");
    }
    return ERR_OK;
}

int routing_doc_put(struct app *app, int64_t account_id, enum routing_kind kind, const char *ext_id,
                    const char *body, size_t len, json_t **out, struct errbuf *eb)
{
    json_t *o = NULL;
    int rc = json_parse_object(body, len, &o, eb);
    if (rc)
        return rc;
    struct st_route_doc *d = xcalloc(1, sizeof(*d));
    d->account_id = account_id;
    snprintf(d->kind, sizeof(d->kind), "%s", kind_name(kind));
    json_t *shown = json_object(); /* new buyers' signing secrets, shown once */
    rc = kind == ROUTING_PLAN ? no_secrets_given(o, eb) : ERR_OK;
    if (!rc)
        rc = check_doc(app, account_id, kind, ext_id, o, eb);
    if (!rc && kind == ROUTING_PLAN)
        rc = plan_attach(app, account_id, json_object_get(o, "attach"), d->attach,
                         sizeof(d->attach), eb);
    if (!rc && kind == ROUTING_PLAN)
        rc = seal_buyer_secrets(app, account_id, o, shown, eb);
    const char *name = json_string_value(json_object_get(o, "name"));
    snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
    char *text = rc ? NULL : json_dumps(o, JSON_COMPACT);
    if (!rc && (!text || strlen(text) >= sizeof(d->body)))
        rc = errf(eb, ERR_TOOBIG, NULL, "the %s is too large", kind_name(kind));
    if (!rc) {
        snprintf(d->body, sizeof(d->body), "%s", text);
        snprintf(d->ext_id, sizeof(d->ext_id), "%s", ext_id ? ext_id : "");
        d->id = ext_id ? 1 : 0; /* non-zero: replace */
        d->updated_at = time_now_ms();
        rc = store_route_doc_put(app->store, d);
        if (rc == ERR_OK && app->accounts) /* the snapshot says whether the account has plans */
            accounts_invalidate(app->accounts, account_id);
        if (rc == ERR_CONFLICT)
            errf(eb, ERR_CONFLICT, "attach", "another plan is attached there");
    }
    if (!rc)
        rc = store_route_doc_get(app->store, account_id, d->kind, d->ext_id, d);
    if (!rc)
        *out = doc_json(d);
    size_t i;
    json_t *t;
    json_array_foreach(rc ? NULL : json_object_get(*out, "targets"), i, t)
    {
        json_t *secret = json_object_get(shown, json_string_value(json_object_get(t, "id")));
        if (secret)
            json_object_set(t, "signing_secret", secret);
    }
    json_decref(shown);
    free(text);
    free(d);
    json_decref(o);
    return rc;
}

int routing_doc_get(struct app *app, int64_t account_id, enum routing_kind kind, const char *ext_id,
                    json_t **out)
{
    struct st_route_doc *d = xmalloc(sizeof(*d));
    int rc = store_route_doc_get(app->store, account_id, kind_name(kind), ext_id, d);
    if (!rc)
        *out = doc_json(d);
    free(d);
    return rc;
}

static int list_one(void *ctx, const struct st_route_doc *d)
{
    json_array_append_new(ctx, doc_json(d));
    return 0;
}

int routing_doc_list(struct app *app, int64_t account_id, enum routing_kind kind, json_t **out)
{
    json_t *a = json_array();
    int rc = store_route_doc_list(app->store, account_id, kind_name(kind), list_one, a);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = json_pack("{s:o}", kind == ROUTING_PLAN ? "routing_plans" : "locations", a);
    return ERR_OK;
}

int routing_doc_delete(struct app *app, int64_t account_id, enum routing_kind kind,
                       const char *ext_id)
{
    int rc = store_route_doc_delete(app->store, account_id, kind_name(kind), ext_id);
    if (rc == ERR_OK && app->accounts)
        accounts_invalidate(app->accounts, account_id);
    return rc;
}

/* ==== one step of a call ===================================================================== */

/* What a step works with: the plan, the call's record, and the facts. */
struct step {
    struct app *app;
    int64_t account_id;
    struct routing_plan *rp;
    struct st_call_route rec;
    struct route_facts facts;
    int64_t session_id; /* the call's credited visit (0: none), for geography by region */
    int64_t now;
};

/* The location serving the visitor's region (geography, before the caller's area code): the
 * first of the plan's locations whose "regions" lists the region of the call's credited visit
 * (as the --geo-header gave it). -1 when the call has no visit, the visit no region, or no
 * location lists it. One store read, only when some location lists regions. */
static int visit_location(struct step *sp)
{
    const struct routing_plan *rp = sp->rp;
    bool any = false;
    for (size_t i = 0; i < rp->plan.n_locations && !any; i++)
        any = json_array_size(json_object_get(rp->loc_docs[i], "regions")) > 0;
    if (!any || sp->session_id <= 0)
        return -1;
    struct st_session *ss = xmalloc(sizeof(*ss));
    int found = -1;
    if (store_session_by_id(sp->app->store, sp->account_id, sp->session_id, ss) == ERR_OK &&
        ss->account_id == sp->account_id && ss->region[0]) {
        for (size_t i = 0; i < rp->plan.n_locations && found < 0; i++) {
            json_t *regions = json_object_get(rp->loc_docs[i], "regions");
            size_t k;
            json_t *v;
            json_array_foreach(regions, k, v)
            {
                if (strcmp(json_string_value(v), ss->region) == 0) {
                    found = (int)i;
                    break;
                }
            }
        }
    }
    free(ss);
    return found;
}

static struct routing_pending *pending_new(struct step *sp, const struct route_state *st,
                                           const struct route_instr *in,
                                           struct routing_answer *out);

static int load_plan(struct app *app, int64_t account_id, const struct st_route_doc *d,
                     struct routing_plan **out)
{
    struct errbuf eb = {{0}, NULL};
    if (testhooks_fault(TESTHOOK_ROUTE)) {
        log_error("routing", "plan '%s' not evaluated (test fault route)", d->ext_id);
        return ERR_BACKEND;
    }
    json_t *o = json_loads(d->body, 0, NULL);
    struct loc_set *ls = NULL;
    int rc = json_is_object(o) ? load_locations(app, account_id, &ls) : ERR_INVALID;
    if (!rc)
        rc = routing__plan_parse(o, d->ext_id, ls->docs, ls->id_ptrs, ls->n, out, &eb);
    if (rc)
        log_error("routing", "cannot read plan '%s': %s", d->ext_id, eb.msg[0] ? eb.msg : "?");
    loc_set_free(ls);
    json_decref(o);
    return rc;
}

/* The plan's last resort straight from its JSON (for when the plan itself cannot be read). */
static void last_resort_of(const struct st_route_doc *d, char out[STORE_PARTY_MAX])
{
    json_t *o = json_loads(d->body, 0, NULL);
    const char *lr = json_string_value(json_object_get(o, "last_resort"));
    snprintf(out, STORE_PARTY_MAX, "%s", lr ? lr : "");
    json_decref(o);
}

struct count_ctx {
    const struct routing_plan *rp;
    int32_t *live;
    int32_t *today;
};

static int count_one(void *arg, const struct st_route_count *c)
{
    struct count_ctx *cc = arg;
    for (size_t i = 0; i < cc->rp->plan.n_targets; i++)
        if (strcmp(cc->rp->targets[i].id, c->target) == 0) {
            int64_t live = cc->live[i] + c->live;
            int64_t today = cc->today[i] + c->today;
            cc->live[i] = (int32_t)(live > INT32_MAX ? INT32_MAX : live);
            cc->today[i] = (int32_t)(today > INT32_MAX ? INT32_MAX : today);
        }
    return 0;
}

/* "d:PLAN:YYYYMMDD:", the prefix of the plan's per-target counters of the local day of now in
 * the plan's zone (its daily caps). */
static void day_prefix(const struct routing_plan *rp, int64_t now, char *out, size_t cap)
{
    struct zone_local lt;
    zone_local_time(rp->zone, now, &lt);
    snprintf(out, cap, "d:%s:%08d:", rp->ext_id, (int)lt.date);
}

static bool has_caps(const struct routing_plan *rp)
{
    for (size_t i = 0; i < rp->plan.n_targets; i++)
        if (rp->targets[i].max_concurrent > 0 || rp->targets[i].max_daily > 0)
            return true;
    return false;
}

static void add_log(struct st_call_route *r, const char *line)
{
    size_t have = strlen(r->log);
    if (have + strlen(line) + 2 < sizeof(r->log))
        snprintf(r->log + have, sizeof(r->log) - have, "%s%s", have ? "\n" : "", line);
}

/* Evaluates ev from *st (inside the caller's transaction); claims a round-robin number when
 * the pick needs one. Reads the targets' counts only when the plan has caps. */
static int evaluate(struct step *sp, struct route_state *st, const struct route_event *ev,
                    struct route_instr *in)
{
    int32_t live[ROUTE_MAX_TARGETS] = {0};
    int32_t today[ROUTE_MAX_TARGETS] = {0};
    int rc = ERR_OK;
    if (has_caps(sp->rp)) {
        char prefix[STORE_ID_MAX + 32];
        day_prefix(sp->rp, sp->now, prefix, sizeof(prefix));
        struct count_ctx cc = {sp->rp, live, today};
        rc = store_route_counts(sp->app->store, sp->account_id, sp->rp->ext_id, prefix,
                                sp->now - LIVE_WINDOW_MS, count_one, &cc);
    }
    if (rc)
        return rc;
    struct route_counts counts = {.live = live, .today = today};
    struct route_state before = *st;
    route_next(&sp->rp->plan, &sp->facts, &counts, sp->now, st, ev, in);
    if (!in->used_seq)
        return ERR_OK;
    char key[STORE_ID_MAX + 16];
    snprintf(key, sizeof(key), "rr:%s:%d", sp->rp->ext_id, st->step);
    int64_t seq = 0;
    rc = store_route_counter_next(sp->app->store, sp->account_id, key, &seq);
    if (rc)
        return rc;
    counts.rr_seq = (uint64_t)(seq - 1);
    *st = before;
    route_next(&sp->rp->plan, &sp->facts, &counts, sp->now, st, ev, in);
    return ERR_OK;
}

/* A dial of a target with a daily cap counts in the plan's counter of the day. */
static int count_dial(struct step *sp, const struct route_instr *in)
{
    if (in->op != ROUTE_OP_DIAL || in->target < 0 || sp->rp->targets[in->target].max_daily <= 0)
        return ERR_OK;
    char key[STORE_ID_MAX * 2 + 32];
    day_prefix(sp->rp, sp->now, key, sizeof(key));
    size_t n = strlen(key);
    snprintf(key + n, sizeof(key) - n, "%s", sp->rp->targets[in->target].id);
    int64_t v = 0;
    return store_route_counter_next(sp->app->store, sp->account_id, key, &v);
}

static void query(char *out, size_t cap, const char *ev, const char *plan,
                  const struct route_state *st)
{
    char text[ROUTE_STATE_MAX];
    char enc[3 * ROUTE_STATE_MAX];
    route_state_format(st, text);
    size_t n = 0;
    for (const char *p = text; *p; p++) /* '#' would start the URL's fragment */
        n += (size_t)snprintf(enc + n, sizeof(enc) - n, *p == '#' ? "%%23" : "%c", *p);
    snprintf(out, cap, "ev=%s&p=%s&st=%s", ev, plan, enc);
}

/* One step line per target a plan attached to a location left out (once per call): another
 * location's business line. */
static void log_skipped(struct step *sp, const struct route_instr *in)
{
    for (size_t i = 0; i < sp->rp->plan.n_targets && i < ROUTE_MAX_TARGETS; i++) {
        if (!(in->skipped_elsewhere & (UINT64_C(1) << i)))
            continue;
        const struct route_target *t = &sp->rp->plan.targets[i];
        char line[STORE_ID_MAX * 2 + 96];
        snprintf(line, sizeof(line), "skip target %s: a business line of another location (%s)",
                 t->id ? t->id : "?", t->location >= 0 ? sp->rp->loc_ids[t->location] : "?");
        if (!strstr(sp->rec.log, line))
            add_log(&sp->rec, line);
    }
}

/* The answer and the record for instruction in. */
static void apply(struct step *sp, const struct route_state *st, const struct route_instr *in,
                  struct routing_answer *out)
{
    struct st_call_route *r = &sp->rec;
    struct tel_answer *a = &out->ans;
    const char *plan = sp->rp->ext_id;
    route_state_format(st, r->state);
    snprintf(r->digits, sizeof(r->digits), "%s", st->digits);
    if (in->location >= 0)
        snprintf(r->location, sizeof(r->location), "%s", sp->rp->loc_ids[in->location]);
    log_skipped(sp, in);
    add_log(r, in->reason);
    r->dialing = false;
    snprintf(out->say, sizeof(out->say), "%s", in->say ? in->say : "");
    a->say = out->say;
    switch (in->op) {
    case ROUTE_OP_GATHER:
        a->kind = TEL_ANSWER_GATHER;
        a->num_digits = in->num_digits;
        a->timeout_s = in->timeout_s;
        query(out->route_query, sizeof(out->route_query), "gather", plan, st);
        a->route_query = out->route_query;
        snprintf(r->outcome, sizeof(r->outcome), "ivr");
        break;
    case ROUTE_OP_DIAL:
        a->kind = TEL_ANSWER_DIAL;
        snprintf(out->number, sizeof(out->number), "%s", in->number);
        a->forward_to = out->number;
        a->timeout_s = in->timeout_s;
        a->record = in->record;
        if (in->notice) { /* copied: the plan is freed before the answer is written */
            snprintf(out->notice, sizeof(out->notice), "%s", in->notice);
            a->notice = out->notice;
        }
        query(out->route_query, sizeof(out->route_query), "dial", plan, st);
        a->route_query = out->route_query;
        if (in->whisper[0] || in->record) { /* the answering party hears the notice too */
            query(out->whisper_query, sizeof(out->whisper_query), "whisper", plan, st);
            a->whisper_query = out->whisper_query;
        }
        out->last_resort = in->last_resort;
        r->dialing = true;
        snprintf(r->target, sizeof(r->target), "%s",
                 in->target >= 0 ? sp->rp->targets[in->target].id : "");
        snprintf(r->target_number, sizeof(r->target_number), "%s", in->number);
        snprintf(r->outcome, sizeof(r->outcome), "%s", in->last_resort ? "last_resort" : "dialing");
        break;
    case ROUTE_OP_RECORD:
        a->kind = TEL_ANSWER_RECORD;
        a->max_len_s = in->max_len_s;
        query(out->route_query, sizeof(out->route_query), "record", plan, st);
        query(out->status_query, sizeof(out->status_query), "recording", plan, st);
        a->route_query = out->route_query;
        a->status_query = out->status_query;
        snprintf(r->outcome, sizeof(r->outcome), "voicemail");
        break;
    case ROUTE_OP_SAY_HANGUP:
        a->kind = TEL_ANSWER_SAY_HANGUP;
        snprintf(r->outcome, sizeof(r->outcome), "%s",
                 strstr(in->reason, "screen") ? "screened" : "message");
        break;
    case ROUTE_OP_HANGUP:
        a->kind = TEL_ANSWER_SAY_HANGUP;
        a->say = NULL;
        break;
    case ROUTE_OP_REJECT:
        a->kind = TEL_ANSWER_BLOCK;
        snprintf(r->outcome, sizeof(r->outcome), "rejected");
        break;
    case ROUTE_OP_AUCTION:                    /* answered once the auction ends (routing_auction) */
        if (!in->repost || !r->auction_id[0]) /* a re-post continues the same auction */
            id_new("auc_", 20, r->auction_id, sizeof(r->auction_id));
        r->bid_id[0] = '\0';
        r->bid_price = 0;
        r->target[0] = '\0';
        r->target_number[0] = '\0';
        snprintf(r->outcome, sizeof(r->outcome), "auction");
        break;
    }
}

/* The last resort when the plan could not be evaluated (never drop the call), recorded. */
static void fail_over(struct step *sp, const char *last_resort, const char *why,
                      struct routing_answer *out)
{
    memset(&out->ans, 0, sizeof(out->ans));
    snprintf(out->number, sizeof(out->number), "%s", last_resort);
    out->ans.kind = TEL_ANSWER_DIAL;
    out->ans.forward_to = out->number;
    out->last_resort = true;
    snprintf(sp->rec.outcome, sizeof(sp->rec.outcome), "last_resort");
    snprintf(sp->rec.target, sizeof(sp->rec.target), "%s", "");
    snprintf(sp->rec.target_number, sizeof(sp->rec.target_number), "%s", last_resort);
    sp->rec.dialing = true;
    char line[160];
    snprintf(line, sizeof(line), "last resort: %s", why);
    add_log(&sp->rec, line);
    snprintf(sp->rec.state, sizeof(sp->rec.state), "0.0.-1.-2.0.");
}

static void save(struct step *sp)
{
    sp->rec.updated_at = sp->now;
    int rc = store_call_route_put(sp->app->store, &sp->rec);
    if (rc)
        log_error("routing", "cannot record the routing of call '%s': %s", sp->rec.call_sid,
                  err_str(rc));
}

/* Runs fn inside one transaction with the call's record, so the counters it claims and the
 * record commit together (one durable write per step). On failure nothing of it is kept. */
static int in_tx(struct step *sp, int (*fn)(struct step *sp, void *arg), void *arg)
{
    struct store *s = sp->app->store;
    int rc = store_begin(s);
    if (rc)
        return rc;
    rc = fn(sp, arg);
    sp->rec.updated_at = sp->now;
    if (!rc)
        rc = store_call_route_put(s, &sp->rec);
    if (rc) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s);
}

struct first_step {
    struct route_state *st;
    struct route_instr *in;
    struct routing_answer *out;
};

static int run_first_step(struct step *sp, void *arg)
{
    struct first_step *f = arg;
    struct route_event ev = {.kind = ROUTE_EV_START};
    int rc = evaluate(sp, f->st, &ev, f->in);
    if (!rc) {
        apply(sp, f->st, f->in, f->out);
        rc = count_dial(sp, f->in);
    }
    return rc;
}

static uint64_t random_draw(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint64_t)time_now_ms() * 0x9e3779b97f4a7c15ULL;
    return v;
}

static int area_code(const char *from)
{
    if (!from || strncmp(from, "+1", 2) != 0 || strlen(from) != 12)
        return 0;
    return (from[2] - '0') * 100 + (from[3] - '0') * 10 + (from[4] - '0');
}

struct owner_ctx {
    const struct calls_target *t;
    char *out; /* STORE_ID_MAX */
};

static int find_owner(void *arg, const struct st_route_doc *d)
{
    struct owner_ctx *oc = arg;
    const char *id = oc->t->number.id ? oc->t->number.ext_id : oc->t->pool.ext_id;
    if (!strstr(d->body, id)) /* most locations do not name it: no parse */
        return 0;
    json_t *o = json_loads(d->body, 0, NULL);
    bool owns =
        json_is_object(o) && ((oc->t->number.id && lists(o, "numbers", oc->t->number.ext_id)) ||
                              (oc->t->pool.id && lists(o, "pools", oc->t->pool.ext_id)));
    json_decref(o);
    if (owns && !oc->out[0]) /* the number's location wins over its pool's: look on */
        snprintf(oc->out, STORE_ID_MAX, "%s", d->ext_id);
    return 0;
}

int routing_location_of(struct app *app, int64_t account_id, const struct calls_target *t,
                        char out[STORE_ID_MAX])
{
    out[0] = '\0';
    /* Most accounts have no locations: their snapshot says so, and no document is read. */
    const struct acct *snap = NULL;
    if (app->accounts &&
        accounts_get_by_id(app->accounts, account_id, time_now_ms(), &snap) == ERR_OK) {
        bool none = !snap->has_locations;
        accounts_put(app->accounts, snap);
        if (none)
            return ERR_OK;
    }
    char by_pool[STORE_ID_MAX] = "";
    struct calls_target number_only = *t;
    memset(&number_only.pool, 0, sizeof(number_only.pool));
    struct owner_ctx oc = {&number_only, out};
    int rc = store_route_doc_list(app->store, account_id, "location", find_owner, &oc);
    if (!rc && !out[0] && t->pool.id) {
        struct calls_target pool_only = *t;
        memset(&pool_only.number, 0, sizeof(pool_only.number));
        oc = (struct owner_ctx){&pool_only, by_pool};
        rc = store_route_doc_list(app->store, account_id, "location", find_owner, &oc);
        snprintf(out, STORE_ID_MAX, "%s", by_pool);
    }
    if (rc)
        out[0] = '\0';
    return rc;
}

/* The plan of a call to t: its number's, else its pool's, else its location's (loc: the
 * location the call belongs to, "" for none: known, else the number's or its pool's). */
static int plan_for(struct app *app, int64_t account_id, const struct calls_target *t,
                    const char *known, struct st_route_doc *d, char loc[STORE_ID_MAX])
{
    char key[STORE_ROUTE_ATTACH_MAX];
    int rc = ERR_NOTFOUND;
    if (t->number.id) {
        snprintf(key, sizeof(key), "number:%s", t->number.ext_id);
        rc = store_route_doc_by_attach(app->store, account_id, key, d);
    }
    if (rc == ERR_NOTFOUND && t->pool.id) {
        snprintf(key, sizeof(key), "pool:%s", t->pool.ext_id);
        rc = store_route_doc_by_attach(app->store, account_id, key, d);
    }
    if (rc && rc != ERR_NOTFOUND)
        return rc;
    int lrc = known ? (snprintf(loc, STORE_ID_MAX, "%s", known), ERR_OK)
                    : routing_location_of(app, account_id, t, loc);
    if (lrc)
        return lrc;
    if (rc == ERR_NOTFOUND && loc[0]) {
        snprintf(key, sizeof(key), "location:%s", loc);
        rc = store_route_doc_by_attach(app->store, account_id, key, d);
    }
    return rc;
}

/* A provider retrying the voice webhook of a routed call gets the answer of the call's current
 * step again, and nothing is claimed or written twice: the dial it was given (same target, same
 * progress), else the first step once more (a menu, a screen, voicemail, a refusal: none draws
 * on a counter). */
static void replay(struct step *sp, const struct st_call_route *prev, struct routing_answer *out)
{
    struct route_state st;
    struct route_instr in;
    route_state_init(&st);
    memset(&in, 0, sizeof(in));
    bool dialing = route_state_parse(prev->state, &st) == ERR_OK &&
                   (st.target >= 0 || st.target == -2) && prev->target_number[0];
    if (dialing) {
        const struct route_target *t = st.target >= 0 ? &sp->rp->targets[st.target] : NULL;
        in.op = ROUTE_OP_DIAL;
        in.target = t ? st.target : -1;
        in.number = prev->target_number;
        in.last_resort = !t;
        in.record = sp->rp->plan.record;
        in.notice = sp->rp->plan.notice;
        in.timeout_s = t ? t->timeout_s : 0;
        in.location = st.location;
        if (t)
            route_whisper_fill(&sp->facts, t->whisper, in.whisper, sizeof(in.whisper));
    } else {
        route_state_init(&st);
        struct route_event ev = {.kind = ROUTE_EV_START};
        route_next(&sp->rp->plan, &sp->facts, NULL, sp->now, &st, &ev, &in);
    }
    snprintf(in.reason, sizeof(in.reason), "provider retry: answered again");
    apply(sp, &st, &in, out);
}

/* ---- provider retries while an auction runs ---- */

/* A provider retry of a call's voice webhook waiting for the call's auction (routing_join): its
 * webhook, copied, to answer once the auction is recorded (then a retry like any other). */
struct routing_joiner {
    struct app *app;
    struct st_account acct;
    struct calls_target t;
    struct routing_call c;
    char provider[16];
    char call_sid[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    char verstat[64];
    char source[256];
    char campaign[256];
    char location[STORE_ID_MAX];
    struct routing_answer *out;
    void (*done)(void *arg);
    void *arg;
    struct routing_joiner *next;
};

/* The auctions running on this node, by call, with the retries waiting for them. */
struct running {
    char provider[16];
    char call_sid[STORE_PARTY_MAX];
    struct routing_joiner *waiting;
    struct running *next;
};
static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static struct running *running_list;

static struct running **running_find(const char *provider, const char *call_sid)
{
    struct running **pp = &running_list;
    while (*pp && (strcmp((*pp)->provider, provider) || strcmp((*pp)->call_sid, call_sid)))
        pp = &(*pp)->next;
    return pp;
}

static bool running_here(const struct routing_call *c)
{
    pthread_mutex_lock(&running_mu);
    bool here = *running_find(c->provider, c->call_sid) != NULL;
    pthread_mutex_unlock(&running_mu);
    return here;
}

static void running_add(const char *provider, const char *call_sid)
{
    struct running *r = xcalloc(1, sizeof(*r));
    snprintf(r->provider, sizeof(r->provider), "%s", provider);
    snprintf(r->call_sid, sizeof(r->call_sid), "%s", call_sid);
    pthread_mutex_lock(&running_mu);
    r->next = running_list;
    running_list = r;
    pthread_mutex_unlock(&running_mu);
}

/* The auction of the call ended (recorded): takes its waiting retries. */
static struct routing_joiner *running_end(const char *provider, const char *call_sid)
{
    pthread_mutex_lock(&running_mu);
    struct running **pp = running_find(provider, call_sid);
    struct running *r = *pp;
    if (r)
        *pp = r->next;
    pthread_mutex_unlock(&running_mu);
    struct routing_joiner *j = r ? r->waiting : NULL;
    free(r);
    return j;
}

static const char *copy_or_null(const char *s, char *buf, size_t cap)
{
    if (!s)
        return NULL;
    snprintf(buf, cap, "%s", s);
    return buf;
}

static struct routing_joiner *joiner_new(struct app *app, const struct st_account *acct,
                                         const struct calls_target *t, const struct routing_call *c)
{
    struct routing_joiner *j = xcalloc(1, sizeof(*j));
    j->app = app;
    j->acct = *acct;
    j->t = *t;
    j->c = *c;
    j->c.provider = copy_or_null(c->provider, j->provider, sizeof(j->provider));
    j->c.call_sid = copy_or_null(c->call_sid, j->call_sid, sizeof(j->call_sid));
    j->c.from = copy_or_null(c->from, j->from, sizeof(j->from));
    j->c.verstat = copy_or_null(c->verstat, j->verstat, sizeof(j->verstat));
    j->c.source = copy_or_null(c->source, j->source, sizeof(j->source));
    j->c.campaign = copy_or_null(c->campaign, j->campaign, sizeof(j->campaign));
    j->c.location = copy_or_null(c->location, j->location, sizeof(j->location));
    return j;
}

/* Answers a waiting retry now that its call's auction is recorded: as any retry (the same
 * dial), or, when that auction no longer runs anywhere, a new one. */
static void joiner_serve(struct routing_joiner *j)
{
    struct routing_answer *out = j->out;
    j->c.now = time_now_ms();
    int rc = routing_voice(j->app, &j->acct, &j->t, &j->c, out);
    if (rc == ERR_OK && (out->joining || out->auction)) { /* another auction of the call */
        struct app *app = j->app;
        void (*done)(void *) = j->done;
        void *arg = j->arg;
        free(j);
        routing_auction(app, out, done, arg);
        return;
    }
    if (rc) { /* the plan is gone: the number's own line */
        memset(out, 0, sizeof(*out));
        const char *fwd = j->t.number.forward_to[0] ? j->t.number.forward_to : j->t.pool.forward_to;
        snprintf(out->number, sizeof(out->number), "%s", fwd);
        out->ans.kind = TEL_ANSWER_DIAL;
        out->ans.forward_to = out->number;
    }
    void (*done)(void *) = j->done;
    void *arg = j->arg;
    free(j);
    done(arg);
}

int routing_voice(struct app *app, const struct st_account *acct, const struct calls_target *t,
                  const struct routing_call *c, struct routing_answer *out)
{
    memset(out, 0, sizeof(*out));
    /* Most accounts route no calls: their snapshot says so, and no document is read (without
     * a snapshot, or without the cache (bench/route), the store is asked as below). */
    const struct acct *snap = NULL;
    if (app->accounts && accounts_get_by_id(app->accounts, acct->id, c->now, &snap) == ERR_OK) {
        bool none = !snap->has_plans;
        accounts_put(app->accounts, snap);
        if (none)
            return ERR_NOTFOUND; /* the call is forwarded as before */
    }
    struct st_route_doc *d = xmalloc(sizeof(*d));
    char loc[STORE_ID_MAX];
    int rc = plan_for(app, acct->id, t, c->location, d, loc);
    if (rc) {
        if (rc != ERR_NOTFOUND)
            log_error("routing", "cannot look up the plan of a call: %s", err_str(rc));
        free(d);
        return ERR_NOTFOUND; /* the call is forwarded as before */
    }
    struct step *sp = xcalloc(1, sizeof(*sp));
    *sp = (struct step){.app = app, .account_id = acct->id, .now = c->now};
    struct st_call_route *r = &sp->rec;
    r->account_id = acct->id;
    r->recording_duration_s = -1;
    r->billable = -1;
    r->started_at = c->now;
    snprintf(r->provider, sizeof(r->provider), "%s", c->provider);
    snprintf(r->call_sid, sizeof(r->call_sid), "%s", c->call_sid);
    snprintf(r->plan, sizeof(r->plan), "%s", d->ext_id);
    snprintf(r->verstat, sizeof(r->verstat), "%s", c->verstat ? c->verstat : "");
    snprintf(r->location, sizeof(r->location), "%s", loc); /* the call's location, if any */
    sp->facts = (struct route_facts){.from = c->from,
                                     .verstat = c->verstat,
                                     .area_code = area_code(c->from),
                                     .visit_location = -1,
                                     .source = c->source,
                                     .campaign = c->campaign,
                                     .draw = random_draw()};
    sp->session_id = c->session_id;
    rc = load_plan(app, acct->id, d, &sp->rp);
    if (!rc)
        sp->facts.visit_location = visit_location(sp);
    struct st_call_route *prev = xmalloc(sizeof(*prev));
    bool same = !rc && store_call_route_get(app->store, c->provider, c->call_sid, prev) == ERR_OK &&
                prev->account_id == acct->id && strcmp(prev->plan, d->ext_id) == 0;
    /* a retry while the call's auction runs here waits for it (routing_auction: join) */
    bool join = same && strcmp(prev->outcome, "auction") == 0 && running_here(c);
    /* an auction that no longer runs here (its node died) runs again */
    bool retry = same && strcmp(prev->outcome, "auction") != 0;
    if (join) {
        out->joining = joiner_new(app, acct, t, c);
        free(prev);
        routing__plan_free(sp->rp);
        free(sp);
        free(d);
        return ERR_OK;
    }
    if (retry) {
        sp->rec = *prev;
        replay(sp, prev, out);
        free(prev);
        routing__plan_free(sp->rp);
        free(sp);
        free(d);
        return ERR_OK;
    }
    free(prev);
    struct route_state st;
    route_state_init(&st);
    struct route_instr in;
    struct first_step first = {&st, &in, out};
    if (!rc)
        rc = in_tx(sp, run_first_step, &first);
    if (rc) {
        char lr[STORE_PARTY_MAX];
        last_resort_of(d, lr);
        if (!lr[0]) { /* not even a last resort: the number's own forwarding */
            routing__plan_free(sp->rp);
            free(sp);
            free(d);
            return ERR_NOTFOUND;
        }
        fail_over(sp, lr, err_str(rc), out);
        save(sp);
    } else if (in.op == ROUTE_OP_AUCTION) {
        out->auction = pending_new(sp, &st, &in, out);
        free(d);
        return ERR_OK; /* sp is the auction's now */
    }
    routing__plan_free(sp->rp);
    free(sp);
    free(d);
    return ERR_OK;
}

/* ==== ping-post auctions ==================================================================== */

struct routing_pending {
    struct step *sp;
    struct route_state st;
    struct route_instr in; /* the auction: bidders, deadline, reserve */
    struct routing_answer *out;
    void (*done)(void *arg);
    void *arg;
    const struct auction_result *res; /* while the result is applied */
    /* The call's facts, copied: what sp->facts pointed to (the webhook's request, its call)
     * is gone by the time the auction ends. */
    char from[STORE_PARTY_MAX];
    char verstat[64];
    char source[256];
    char campaign[256];
    /* a re-post (in.repost): the same auction's bids left, best first */
    size_t n_rest;
    struct auction_bid_left rest[AUCTION_REST_MAX];
};

static const char *keep(const char *s, char *buf, size_t cap)
{
    if (!s)
        return NULL;
    snprintf(buf, cap, "%s", s);
    return buf;
}

static struct routing_pending *pending_new(struct step *sp, const struct route_state *st,
                                           const struct route_instr *in, struct routing_answer *out)
{
    struct routing_pending *pd = xcalloc(1, sizeof(*pd));
    pd->sp = sp;
    pd->st = *st;
    pd->in = *in;
    pd->out = out;
    struct route_facts *f = &sp->facts;
    f->from = keep(f->from, pd->from, sizeof(pd->from));
    f->verstat = keep(f->verstat, pd->verstat, sizeof(pd->verstat));
    f->source = keep(f->source, pd->source, sizeof(pd->source));
    f->campaign = keep(f->campaign, pd->campaign, sizeof(pd->campaign));
    return pd;
}

static void pending_free(struct routing_pending *pd)
{
    routing__plan_free(pd->sp->rp);
    free(pd->sp);
    free(pd);
}

/* The call's facts a buyer sees (docs/routing.md "Ping-post"): no caller number, no visit. */
static void ping_facts(const struct step *sp, char *out, size_t cap)
{
    char area[16] = "";
    if (sp->facts.area_code > 0 && sp->facts.area_code < 1000)
        snprintf(area, sizeof(area), "%03d", sp->facts.area_code);
    char when[TIME_RFC3339_LEN];
    time_format(sp->now, when);
    const struct routing_plan *rp = sp->rp;
    int loc = -1;
    for (size_t i = 0; i < rp->plan.n_locations && sp->rec.location[0]; i++)
        if (strcmp(rp->loc_ids[i], sp->rec.location) == 0)
            loc = (int)i;
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:s,s:b,s:o}", "area_code", area[0] ? json_string(area) : json_null(),
        "source", json_str_or_null(sp->facts.source ? sp->facts.source : ""), "campaign",
        json_str_or_null(sp->facts.campaign ? sp->facts.campaign : ""), "time", when, "verified",
        route_verstat_passed_a(sp->facts.verstat), "location",
        loc >= 0 && rp->locs[loc].name ? json_string(rp->locs[loc].name) : json_null());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    snprintf(out, cap, "%s", text && strlen(text) < cap ? text : "{}");
    free(text);
    json_decref(o);
}

static struct auction_req *auction_req_of(const struct routing_pending *pd)
{
    const struct step *sp = pd->sp;
    const struct routing_plan *rp = sp->rp;
    struct auction_req *q = xcalloc(1, sizeof(*q));
    snprintf(q->auction_id, sizeof(q->auction_id), "%s", sp->rec.auction_id);
    q->deadline_ms = pd->in.deadline_ms;
    q->reserve = pd->in.reserve;
    q->plan = &rp->plan;
    ping_facts(sp, q->call, sizeof(q->call));
    uint64_t bidders = pd->in.bidders;
    if (pd->in.repost) { /* the bids left get the post in turn; nobody is pinged */
        bidders = 0;
        for (size_t k = 0; k < pd->n_rest; k++) {
            q->preset[q->n_preset++] = pd->rest[k];
            bidders |= UINT64_C(1) << pd->rest[k].target;
        }
    }
    for (size_t i = 0; i < rp->plan.n_targets; i++) {
        if (!(bidders & (UINT64_C(1) << i)) || !rp->targets[i].bid_url)
            continue;
        struct auction_bidder *b = &q->bidders[q->n++];
        b->target = (int)i;
        snprintf(b->id, sizeof(b->id), "%s", rp->targets[i].id);
        snprintf(b->bid_url, sizeof(b->bid_url), "%s", rp->targets[i].bid_url);
        snprintf(b->post_url, sizeof(b->post_url), "%s", rp->post_urls[i] ? rp->post_urls[i] : "");
        char label[STORE_ID_MAX + 8];
        snprintf(label, sizeof(label), "buyer:%s", b->id);
        if (rp->secrets[i] && store_secret_open(sp->app->store, sp->account_id, label,
                                                rp->secrets[i], b->secret, sizeof(b->secret))) {
            log_error("routing", "cannot open a buyer's signing secret in plan '%s'", rp->ext_id);
            memset(b, 0, sizeof(*b));
            q->n--; /* not pinged: unsigned, its buyer would refuse it as forged */
        }
    }
    return q;
}

/* Appends "&rb=T~PRICE~BID_ID~…" (the bids left, best first) to a Dial action's query, as many
 * as fit. The provider signs the URL it calls back, so the bids come back unaltered. */
static void add_bids_left(char *query, size_t cap, const struct auction_bid_left *rest, size_t n)
{
    size_t len = strlen(query);
    for (size_t k = 0; k < n; k++) {
        char one[STORE_ID_MAX + 48];
        int w = snprintf(one, sizeof(one), "%s%d~%" PRId64 "~%s", k ? "~" : "&rb=", rest[k].target,
                         rest[k].price, rest[k].bid_id);
        if (w < 0 || len + (size_t)w >= cap)
            return;
        memcpy(query + len, one, (size_t)w + 1);
        len += (size_t)w;
    }
}

/* Reads the bids left of a Dial action (add_bids_left's text): only bids of targets of the plan
 * that bid, with a price above 0 and a well-formed bid id. Returns how many (at most
 * AUCTION_REST_MAX). */
static size_t parse_bids_left(const struct routing_plan *rp, const char *s,
                              struct auction_bid_left *out)
{
    size_t n = 0;
    while (s && *s && n < AUCTION_REST_MAX) {
        char *end = NULL;
        long t = strtol(s, &end, 10);
        if (end == s || *end != '~')
            break;
        long long price = strtoll(end + 1, &end, 10);
        if (*end != '~')
            break;
        const char *id = end + 1;
        size_t len = strcspn(id, "~");
        if (t < 0 || (size_t)t >= rp->plan.n_targets || !rp->targets[t].bid_url || price <= 0 ||
            len == 0 || len >= sizeof(out[n].bid_id) ||
            strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") < len)
            break;
        out[n] = (struct auction_bid_left){.target = (int)t, .price = price};
        memcpy(out[n].bid_id, id, len);
        out[n].bid_id[len] = '\0';
        n++;
        s = id[len] ? id + len + 1 : id + len;
    }
    return n;
}

/* The step after the auction, inside the record's transaction. */
static int auction_step(struct step *sp, void *arg)
{
    struct routing_pending *pd = arg;
    const struct auction_result *r = pd->res;
    struct route_event ev = {.kind = ROUTE_EV_AUCTION,
                             .winner = r->winner,
                             .destination = r->destination,
                             .price = r->price};
    struct route_instr in;
    int rc = evaluate(sp, &pd->st, &ev, &in);
    if (rc)
        return rc;
    bool won = in.op == ROUTE_OP_DIAL && r->winner >= 0 && in.target == r->winner;
    snprintf(sp->rec.bid_id, sizeof(sp->rec.bid_id), "%s", won ? r->bid_id : "");
    sp->rec.bid_price = won ? r->price : 0;
    apply(sp, &pd->st, &in, pd->out);
    if (won) /* the winner's dial callback carries the bids left, for a re-post */
        add_bids_left(pd->out->route_query, sizeof(pd->out->route_query), r->rest, r->n_rest);
    if (in.op == ROUTE_OP_AUCTION) /* cannot happen: an auction never follows an auction */
        return ERR_INVALID;
    return count_dial(sp, &in);
}

static void auction_done(void *arg, const struct auction_result *r)
{
    struct routing_pending *pd = arg;
    struct step *sp = pd->sp;
    char line[160];
    for (const char *p = r->log; *p;) { /* the auction, one line per buyer, in the call's log */
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof(line), "auction: %.*s", (int)n, p);
        add_log(&sp->rec, line);
        p += n + (p[n] == '\n');
    }
    pd->res = r;
    /* a re-post is counted once, as the auction it continues */
    if (!pd->in.repost && r->winner >= 0)
        metrics_count(sp->app->metrics, "opendni_auctions_won_total",
                      "Ping-post auctions won by a buyer's confirmed bid.", 1);
    else if (!pd->in.repost)
        metrics_count(sp->app->metrics, "opendni_auctions_unsold_total",
                      "Ping-post auctions without a confirmed bid (the plan fell back).", 1);
    int rc = in_tx(sp, auction_step, pd);
    if (rc) {
        fail_over(sp, sp->rp->plan.last_resort, err_str(rc), pd->out);
        save(sp);
    }
    struct routing_joiner *j = running_end(sp->rec.provider, sp->rec.call_sid);
    void (*done)(void *) = pd->done;
    void *done_arg = pd->arg;
    pending_free(pd);
    done(done_arg);
    while (j) { /* the provider's retries of the webhook, answered from the record */
        struct routing_joiner *next = j->next;
        joiner_serve(j);
        j = next;
    }
}

static void routing_auction_start(struct app *app, struct routing_answer *out,
                                  void (*done)(void *arg), void *arg)
{
    struct routing_pending *pd = out->auction;
    out->auction = NULL;
    pd->done = done;
    pd->arg = arg;
    running_add(pd->sp->rec.provider, pd->sp->rec.call_sid);
    auction_run(app->auctions, auction_req_of(pd), auction_done, pd);
}

void routing_auction(struct app *app, struct routing_answer *out, void (*done)(void *arg),
                     void *arg)
{
    struct routing_joiner *j = out->joining;
    if (!j) {
        routing_auction_start(app, out, done, arg);
        return;
    }
    out->joining = NULL;
    j->out = out;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&running_mu);
    struct running *r = *running_find(j->c.provider, j->c.call_sid);
    if (r) { /* answered when the auction is recorded (auction_done) */
        j->next = r->waiting;
        r->waiting = j;
    }
    pthread_mutex_unlock(&running_mu);
    if (!r) /* it ended meanwhile: answer from its record now */
        joiner_serve(j);
}

/* ==== callbacks ============================================================================== */

int routing_event_parse(const char *s, enum routing_event *out)
{
    static const char *const names[] = {"gather", "dial", "record", "recording", "whisper"};
    for (size_t i = 0; s && i < ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum routing_event)i;
            return ERR_OK;
        }
    return ERR_INVALID;
}

int routing_call_account(struct app *app, const char *provider, const char *call_sid,
                         int64_t *account_id)
{
    struct st_call_route *r = xmalloc(sizeof(*r));
    int rc = store_call_route_get(app->store, provider, call_sid, r);
    if (!rc)
        *account_id = r->account_id;
    free(r);
    return rc;
}

/* The facts of a routed call from its stored call (whispers) and its record. */
static void callback_facts(struct step *sp, const struct routing_callback *cb, struct st_call *c)
{
    bool have = calls_by_provider(sp->app, cb->provider, cb->call_sid, c) == ERR_OK;
    sp->session_id = have ? c->session_id : 0;
    sp->facts = (struct route_facts){.from = have ? c->from : NULL,
                                     .verstat = sp->rec.verstat,
                                     .area_code = have ? area_code(c->from) : 0,
                                     .visit_location = -1,
                                     .source = have && c->source[0] ? c->source : NULL,
                                     .campaign = have && c->campaign[0] ? c->campaign : NULL,
                                     .draw = random_draw()};
}

static void record_recording(struct st_call_route *r, const struct routing_callback *cb)
{
    if (cb->recording_url && *cb->recording_url)
        snprintf(r->recording_url, sizeof(r->recording_url), "%s", cb->recording_url);
    if (cb->recording_duration_s >= 0)
        r->recording_duration_s = cb->recording_duration_s;
}

/* A dial that connected: the record says so, with the payout when the target's rule makes it
 * billable. */
static void connected(struct step *sp, const struct route_state *st,
                      const struct routing_callback *cb)
{
    snprintf(sp->rec.outcome, sizeof(sp->rec.outcome), "connected");
    if (st->target >= 0 && (size_t)st->target < sp->rp->plan.n_targets) {
        const struct route_target *t = &sp->rp->targets[st->target];
        int64_t pay = 0;
        bool billable = route_billable(t, cb->dial_duration_s, &pay);
        int64_t price = t->payout;   /* the target's price (plan field `price`) */
        if (sp->rec.bid_price > 0) { /* won in an auction: the buyer pays its bid */
            price = sp->rec.bid_price;
            pay = billable ? price : 0;
        }
        sp->rec.payout = pay;
        sp->rec.price = price;
        sp->rec.billable = billable;
    }
}

struct later_step {
    const struct routing_callback *cb;
    struct route_state *st;
    struct routing_answer *out;
    struct route_instr auction; /* auctioning: the step's auction */
    bool auctioning;
    size_t n_rest; /* a Dial action's bids left (a re-post's) */
    struct auction_bid_left rest[AUCTION_REST_MAX];
};

static int next_step(struct step *sp, void *arg)
{
    struct later_step *ls = arg;
    const struct routing_callback *cb = ls->cb;
    struct route_state *st = ls->st;
    struct routing_answer *out = ls->out;
    struct route_instr in;
    struct route_event ev = {.kind = ROUTE_EV_DIGITS, .digits = cb->digits ? cb->digits : ""};
    if (cb->ev == ROUTING_EV_DIAL) {
        ls->n_rest = parse_bids_left(sp->rp, cb->bids_left, ls->rest);
        ev = (struct route_event){
            .kind = ROUTE_EV_DIAL_DONE, .dial_status = cb->dial_status, .bids_left = ls->n_rest};
    } else if (cb->ev == ROUTING_EV_RECORD)
        ev = (struct route_event){.kind = ROUTE_EV_RECORDED};
    struct route_state before = *st;
    int rc = evaluate(sp, st, &ev, &in);
    if (rc)
        return rc;
    apply(sp, st, &in, out);
    if (in.op == ROUTE_OP_DIAL && cb->ev == ROUTING_EV_DIAL) { /* the auction's winner failed */
        sp->rec.bid_id[0] = '\0';
        sp->rec.bid_price = 0;
    }
    if (in.op == ROUTE_OP_AUCTION) { /* answered once it ends: routing_auction */
        ls->auction = in;
        ls->auctioning = true;
        return ERR_OK;
    }
    bool was_dialing = cb->ev == ROUTING_EV_DIAL;
    if (was_dialing && in.op == ROUTE_OP_HANGUP) {
        connected(sp, &before, cb);
        out->billable = sp->rec.billable == 1;
        /* billable by the target's rule: the publisher's payout in force now is recorded in
         * this step's transaction (sql/0024) */
        if (out->billable) {
            rc = store_call_payout_record(sp->app->store, sp->account_id, sp->rec.provider,
                                          sp->rec.call_sid, sp->now);
            if (rc)
                return rc;
        }
    } else if (cb->ev == ROUTING_EV_RECORD && in.op == ROUTE_OP_HANGUP)
        snprintf(sp->rec.outcome, sizeof(sp->rec.outcome), "voicemail");
    if (was_dialing && in.op == ROUTE_OP_HANGUP && before.target == -2)
        snprintf(sp->rec.outcome, sizeof(sp->rec.outcome), "last_resort");
    return count_dial(sp, &in);
}

/* What the answering party hears before the call is bridged: the recording notice when the
 * plan records calls, then the target's whisper. */
static void whisper(struct step *sp, const struct route_state *st, struct routing_answer *out)
{
    out->ans.kind = TEL_ANSWER_SAY;
    char text[sizeof(out->say)] = "";
    if (st->target >= 0 && (size_t)st->target < sp->rp->plan.n_targets)
        route_whisper_fill(&sp->facts, sp->rp->targets[st->target].whisper, text, sizeof(text));
    const char *notice = sp->rp->plan.notice ? sp->rp->plan.notice : ROUTING_DEFAULT_NOTICE;
    snprintf(out->say, sizeof(out->say), "%s%s%s", sp->rp->plan.record ? notice : "",
             sp->rp->plan.record && text[0] ? " " : "", text);
    out->ans.say = out->say;
}

int routing_next(struct app *app, const struct routing_callback *cb, struct routing_answer *out)
{
    memset(out, 0, sizeof(*out));
    struct route_state st;
    route_state_init(&st);
    if (route_state_parse(cb->state, &st))
        return ERR_INVALID;
    struct step *sp = xcalloc(1, sizeof(*sp));
    struct st_route_doc *d = xmalloc(sizeof(*d));
    struct st_call *call = xmalloc(sizeof(*call));
    sp->app = app;
    sp->now = cb->now;
    int rc = store_call_route_get(app->store, cb->provider, cb->call_sid, &sp->rec);
    if (!rc) {
        sp->account_id = sp->rec.account_id;
        rc = store_route_doc_get(app->store, sp->account_id, "plan", sp->rec.plan, d);
    }
    if (rc) {
        free(call);
        free(d);
        free(sp);
        return rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND;
    }
    out->account_id = sp->account_id;
    callback_facts(sp, cb, call);
    if (cb->ev == ROUTING_EV_RECORD || cb->ev == ROUTING_EV_RECORDING)
        record_recording(&sp->rec, cb);
    if (cb->ev == ROUTING_EV_RECORDING) {
        out->ans.kind = TEL_ANSWER_EMPTY;
        save(sp);
        goto out;
    }
    rc = load_plan(app, sp->account_id, d, &sp->rp);
    if (!rc)
        sp->facts.visit_location = visit_location(sp);
    if (!rc && cb->ev == ROUTING_EV_WHISPER) {
        whisper(sp, &st, out);
        goto out;
    }
    struct later_step later = {.cb = cb, .st = &st, .out = out};
    if (!rc)
        rc = in_tx(sp, next_step, &later);
    if (rc) {
        char lr[STORE_PARTY_MAX];
        last_resort_of(d, lr);
        fail_over(sp, lr[0] ? lr : sp->rec.target_number, err_str(rc), out);
        save(sp);
    } else if (later.auctioning) {
        out->auction = pending_new(sp, &st, &later.auction, out);
        out->auction->n_rest = later.n_rest;
        memcpy(out->auction->rest, later.rest, sizeof(later.rest));
        sp = NULL; /* the auction's now */
    }
out:
    if (sp)
        routing__plan_free(sp->rp);
    free(call);
    free(d);
    free(sp);
    return ERR_OK;
}

/* ==== reads ================================================================================== */

static json_t *route_json(const struct st_call_route *r)
{
    json_t *steps = json_array();
    for (const char *p = r->log; *p;) {
        size_t n = strcspn(p, "\n");
        json_array_append_new(steps, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    json_t *rec =
        r->recording_url[0]
            ? json_pack("{s:s,s:I}", "url", r->recording_url, "duration",
                        (json_int_t)(r->recording_duration_s < 0 ? 0 : r->recording_duration_s))
            : json_null();
    json_t *auction =
        r->auction_id[0] ? json_pack("{s:s,s:o,s:I}", "id", r->auction_id, "bid_id",
                                     json_str_or_null(r->bid_id), "price", (json_int_t)r->bid_price)
                         : json_null();
    json_t *billable = r->billable < 0 ? json_null() : json_boolean(r->billable == 1);
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:I,s:I,s:o,s:o}", "plan", r->plan,
                     "location", json_str_or_null(r->location), "target",
                     json_str_or_null(r->target), "target_number",
                     json_str_or_null(r->target_number), "digits", json_str_or_null(r->digits),
                     "steps", steps, "outcome", r->outcome, "verstat", json_str_or_null(r->verstat),
                     "recording", rec, "payout", (json_int_t)r->payout, "price",
                     (json_int_t)r->price, "billable", billable, "auction", auction);
}

json_t *routing_call_json(struct app *app, const char *provider, const char *call_sid)
{
    struct st_call_route *r = xmalloc(sizeof(*r));
    json_t *o = NULL;
    if (store_call_route_get(app->store, provider, call_sid, r) == ERR_OK)
        o = route_json(r);
    free(r);
    return o;
}

struct report_ctx {
    const char *group; /* "location", "target" or "digits" */
    json_t *rows;      /* key → row */
};

static int report_one(void *arg, const struct st_call_route *r)
{
    struct report_ctx *rc = arg;
    const char *key = rc->group[0] == 't'   ? r->target
                      : rc->group[0] == 'd' ? r->digits
                                            : r->location;
    char k[STORE_ID_MAX + 2];
    snprintf(k, sizeof(k), "%s", key[0] ? key : "-");
    json_t *row = json_object_get(rc->rows, k);
    if (!row) {
        row = json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I}", rc->group, json_str_or_null(key), "calls",
                        (json_int_t)0, "connected", (json_int_t)0, "voicemails", (json_int_t)0,
                        "rejected", (json_int_t)0, "billable", (json_int_t)0, "payout",
                        (json_int_t)0);
        json_object_set_new(rc->rows, k, row);
    }
#define BUMP(name, by)                                                                             \
    json_object_set_new(row, name,                                                                 \
                        json_integer(json_integer_value(json_object_get(row, name)) + (by)))
    BUMP("calls", 1);
    BUMP("connected", strcmp(r->outcome, "connected") == 0);
    BUMP("voicemails", strcmp(r->outcome, "voicemail") == 0);
    BUMP("rejected", strcmp(r->outcome, "rejected") == 0);
    BUMP("billable", r->payout > 0);
    BUMP("payout", r->payout);
#undef BUMP
    return 0;
}

int routing_report(struct app *app, int64_t account_id, const char *group_by, int64_t since,
                   int64_t until, json_t **out, struct errbuf *eb)
{
    static const char *const groups[] = {"location", "target", "digits"};
    const char *group = NULL;
    for (size_t i = 0; group_by && i < ARRAY_SIZE(groups); i++)
        if (strcmp(group_by, groups[i]) == 0)
            group = groups[i];
    if (!group)
        return errf(eb, ERR_INVALID, "group_by", "group_by is location, target or digits");
    struct report_ctx ctx = {group, json_object()};
    int rc = store_call_route_list(app->store, account_id, since, until, report_one, &ctx);
    if (rc) {
        json_decref(ctx.rows);
        return rc;
    }
    json_t *rows = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(ctx.rows, k, v)
    {
        json_array_append(rows, v);
    }
    json_decref(ctx.rows);
    *out = json_pack("{s:o}", "rows", rows);
    return ERR_OK;
}
