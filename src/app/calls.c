/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The call service (see calls.h): number -> account, attribution against the store through
 * core/attrib, storing calls on the request thread, merging status callbacks, conversion rules
 * through core/convert, stream events, and the CALL object of the admin API.
 * Rule of the house: once a webhook is verified, nothing here may keep the call from being
 * forwarded; every failure is logged, counted, and the caller still gets the business line. */
#include "base/prelude.h"
#include "app/calls.h"

#include <math.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/attrib.h"
#include "core/callstatus.h"
#include "core/classify.h"
#include "core/phone.h"
#include "core/pool.h"
#include "app/accounts.h"
#include "app/app.h"
#include "store/store.h"
#include "base/json.h"
#include "app/metrics.h"
#include "app/fanout.h"
#include "app/offline.h"
#include "app/adplat.h"
#include "app/outbox.h"
#include "app/outcomes.h"
#include "app/routing.h"
#include "app/stream.h"
#include "app/writer.h"

#define FAILURES "opendni_webhook_failures_total"
#define FAILURES_HELP "Webhooks whose call could not be attributed, stored or updated."
/* A tel: click logged up to this long after the call start still counts (attrib.h). */
#define CLICK_SKEW_MS 30000
/* Leases of a called number read per call (newest first): enough to see every live holder of a
 * number shared by a flood, so each client's crowd is counted whole. */
#define CALLS_MAX_HISTORY 1024
#define MAX_WINDOW_S (365LL * 86400)

/* ==== settings ================================================================================ */

static void settings_default(struct calls_settings *cs)
{
    memset(cs, 0, sizeof(*cs));
    convert_rules_default(&cs->rules);
    str_copy(cs->name, sizeof(cs->name), CONVERT_DEFAULT_NAME);
    snprintf(cs->currency, sizeof(cs->currency), "USD");
    cs->rules.name = cs->name;
    cs->rules.values = cs->values;
    cs->rules.ivr_digits = cs->ivr_digits;
    cs->window_ms = ATTRIB_DEFAULT_WINDOW_MS;
    cs->gads_methods = 1u << ATTRIB_EXACT | 1u << ATTRIB_SHARED | 1u << ATTRIB_SOURCE;
    cs->gads_min_confidence = CALLS_GADS_MIN_CONFIDENCE;
    score_rules_default(&cs->score);
}

/* Copies an optional string member into dst (unchanged when absent); *set tells if present. */
static int copy_str(json_t *o, const char *key, char *dst, size_t cap, bool *set, struct errbuf *eb)
{
    const char *v = NULL;
    int rc = json_get_str(o, key, &v, eb);
    if (set)
        *set = v != NULL;
    if (rc || !v)
        return rc;
    if (strlen(v) >= cap)
        return errf(eb, ERR_INVALID, key, "'%s' is longer than %zu bytes", key, cap - 1);
    snprintf(dst, cap, "%s", v);
    return ERR_OK;
}

static int parse_value(json_t *v, size_t i, struct calls_settings *cs, struct errbuf *eb)
{
    if (!json_is_object(v))
        return errf(eb, ERR_INVALID, "values", "each of 'conversion.values' must be an object");
    bool has_channel = false;
    bool has_campaign = false;
    struct convert_value *cv = &cs->values[i];
    int rc = copy_str(v, "channel", cs->value_channel[i], sizeof(cs->value_channel[i]),
                      &has_channel, eb);
    if (rc == ERR_OK)
        rc = copy_str(v, "campaign", cs->value_campaign[i], sizeof(cs->value_campaign[i]),
                      &has_campaign, eb);
    if (rc == ERR_OK)
        rc = json_get_number(v, "value", &cv->value, eb);
    if (rc == ERR_OK && (!isfinite(cv->value) || cv->value < 0))
        rc = errf(eb, ERR_INVALID, "value", "a conversion value must be a number >= 0");
    cv->channel = has_channel ? cs->value_channel[i] : NULL;
    cv->campaign = has_campaign ? cs->value_campaign[i] : NULL;
    return rc;
}

static int parse_values(json_t *arr, struct calls_settings *cs, struct errbuf *eb)
{
    if (!arr || json_is_null(arr))
        return ERR_OK;
    if (!json_is_array(arr) || json_array_size(arr) > CALLS_MAX_VALUES)
        return errf(eb, ERR_INVALID, "values",
                    "'conversion.values' must be an array of at "
                    "most %d objects",
                    CALLS_MAX_VALUES);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int rc = parse_value(v, i, cs, eb);
        if (rc)
            return rc;
    }
    cs->rules.n_values = json_array_size(arr);
    return ERR_OK;
}

bool calls_gads_exports(const struct calls_settings *cs, const char *method, double confidence)
{
    enum attrib_method m;
    if (attrib_method_parse(method, &m) != ERR_OK || m == ATTRIB_UNATTRIBUTED)
        return false;
    /* the stored confidence is rounded to 4 places: compare with the same rounding */
    return (cs->gads_methods & 1u << m) && confidence + 1e-9 >= cs->gads_min_confidence;
}

bool calls_gads_click_wanted(const struct calls_settings *cs, const char *method, double confidence,
                             int64_t click_at, int64_t at)
{
    return calls_gads_exports(cs, method, confidence) && click_at > 0 &&
           at - click_at <= CALLS_GADS_CLICK_MAX_AGE_MS;
}

/* "conversion.google_ads": {"methods":[…],"min_confidence":X,"conversion_name":"…"}. */
static int parse_gads_methods(json_t *arr, struct calls_settings *cs, struct errbuf *eb)
{
    if (!arr)
        return ERR_OK;
    if (!json_is_array(arr))
        return errf(eb, ERR_INVALID, "methods", "'google_ads.methods' must be an array");
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        enum attrib_method m;
        if (!json_is_string(v) || attrib_method_parse(json_string_value(v), &m) != ERR_OK ||
            m == ATTRIB_UNATTRIBUTED)
            return errf(eb, ERR_INVALID, "methods",
                        "'google_ads.methods' takes exact, shared, source, late and repeat");
        bits |= 1u << m;
    }
    cs->gads_methods = bits;
    return ERR_OK;
}

static int parse_gads(json_t *o, struct calls_settings *cs, struct errbuf *eb)
{
    if (!o || json_is_null(o))
        return ERR_OK;
    if (!json_is_object(o))
        return errf(eb, ERR_INVALID, "google_ads", "'conversion.google_ads' must be an object");
    int rc = parse_gads_methods(json_object_get(o, "methods"), cs, eb);
    if (rc == ERR_OK)
        rc = json_get_number(o, "min_confidence", &cs->gads_min_confidence, eb);
    if (rc == ERR_OK && (!isfinite(cs->gads_min_confidence) || cs->gads_min_confidence < 0 ||
                         cs->gads_min_confidence > 1))
        rc = errf(eb, ERR_INVALID, "min_confidence", "'min_confidence' must be 0 to 1");
    if (rc == ERR_OK)
        rc = copy_str(o, "conversion_name", cs->gads_name, sizeof(cs->gads_name), NULL, eb);
    return rc;
}

static int parse_conversion(json_t *o, struct calls_settings *cs, struct errbuf *eb)
{
    if (!o || json_is_null(o))
        return ERR_OK;
    if (!json_is_object(o))
        return errf(eb, ERR_INVALID, "conversion", "'conversion' must be an object");
    long long min = cs->rules.min_duration_s;
    int rc = json_get_int(o, "min_duration", &min, eb);
    if (rc == ERR_OK)
        rc = json_get_bool(o, "first_time_only", &cs->rules.first_time_only, eb);
    if (rc == ERR_OK)
        rc = json_get_bool(o, "answered_only", &cs->rules.answered_only, eb);
    if (rc == ERR_OK)
        rc = json_get_number(o, "value", &cs->rules.value, eb);
    if (rc == ERR_OK)
        rc = copy_str(o, "name", cs->name, sizeof(cs->name), NULL, eb);
    if (rc == ERR_OK)
        rc = copy_str(o, "currency", cs->currency, sizeof(cs->currency), NULL, eb);
    if (rc == ERR_OK)
        rc = parse_values(json_object_get(o, "values"), cs, eb);
    if (rc == ERR_OK)
        rc = parse_gads(json_object_get(o, "google_ads"), cs, eb);
    if (rc == ERR_OK)
        rc = copy_str(o, "ivr_digits", cs->ivr_digits, sizeof(cs->ivr_digits), NULL, eb);
    if (rc == ERR_OK && strspn(cs->ivr_digits, "0123456789*#") != strlen(cs->ivr_digits))
        rc = errf(eb, ERR_INVALID, "ivr_digits",
                  "'conversion.ivr_digits' is up to 16 of 0-9, * and #");
    if (rc == ERR_OK)
        rc = copy_str(o, "location_id", cs->location, sizeof(cs->location), NULL, eb);
    if (rc)
        return rc;
    if (min < 0 || min > 86400)
        return errf(eb, ERR_INVALID, "min_duration", "'min_duration' must be 0 to 86400 s");
    if (!isfinite(cs->rules.value) || cs->rules.value < 0)
        return errf(eb, ERR_INVALID, "value", "'conversion.value' must be a number >= 0");
    if (!cs->name[0])
        return errf(eb, ERR_INVALID, "name", "'conversion.name' must not be empty");
    cs->rules.min_duration_s = min;
    return ERR_OK;
}

/* "lease_policy": "old" | "new" (absent: old). */
static int parse_policy(json_t *o, struct calls_settings *cs, struct errbuf *eb)
{
    char policy[16] = "";
    int rc = copy_str(o, "lease_policy", policy, sizeof(policy), NULL, eb);
    if (rc == ERR_OK && policy[0] && strcmp(policy, "old") != 0 && strcmp(policy, "new") != 0)
        rc = errf(eb, ERR_INVALID, "lease_policy", "'lease_policy' must be \"old\" or \"new\"");
    if (rc == ERR_OK)
        cs->policy_new = strcmp(policy, "new") == 0;
    return rc;
}

static int parse_settings(json_t *o, struct calls_settings *cs, struct errbuf *eb)
{
    long long window_s = cs->window_ms / 1000;
    int rc = json_get_bool(o, "record_calls", &cs->record, eb);
    if (rc == ERR_OK)
        rc = copy_str(o, "record_notice", cs->notice, sizeof(cs->notice), NULL, eb);
    if (rc == ERR_OK)
        rc = json_get_int(o, "attribution_window", &window_s, eb);
    if (rc == ERR_OK && (window_s < 1 || window_s > MAX_WINDOW_S))
        rc = errf(eb, ERR_INVALID, "attribution_window",
                  "'attribution_window' must be 1 to %lld seconds", MAX_WINDOW_S);
    if (rc == ERR_OK)
        rc = parse_policy(o, cs, eb);
    if (rc == ERR_OK)
        rc = parse_conversion(json_object_get(o, "conversion"), cs, eb);
    if (rc == ERR_OK) /* only once in range: an out-of-range value would overflow int64 */
        cs->window_ms = (int64_t)window_s * 1000;
    return rc;
}

/* "scoring": {"answered":25,"first_time_caller":25,"talk_time":[{"min":60,"points":25},…]} */
static int parse_points(json_t *o, const char *key, int *out, struct errbuf *eb)
{
    long long v = *out;
    int rc = json_get_int(o, key, &v, eb);
    if (rc == ERR_OK && (v < -1000 || v > 1000))
        rc = errf(eb, ERR_INVALID, key, "'%s' must be -1000 to 1000 points", key);
    if (rc == ERR_OK)
        *out = (int)v;
    return rc;
}

static int parse_steps(json_t *arr, struct score_rules *r, struct errbuf *eb)
{
    if (!arr || json_is_null(arr))
        return ERR_OK;
    if (!json_is_array(arr) || json_array_size(arr) > SCORE_MAX_STEPS)
        return errf(eb, ERR_INVALID, "talk_time",
                    "'scoring.talk_time' must be an array of at most %d objects", SCORE_MAX_STEPS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        long long min = -1;
        int points = 0;
        if (!json_is_object(v))
            return errf(eb, ERR_INVALID, "talk_time", "each talk_time step must be an object");
        int rc = json_get_int(v, "min", &min, eb);
        if (rc == ERR_OK)
            rc = parse_points(v, "points", &points, eb);
        if (rc)
            return rc;
        if (min < 0 || min > 86400)
            return errf(eb, ERR_INVALID, "min", "a talk_time step's 'min' must be 0 to 86400 s");
        r->steps[i].min_s = min;
        r->steps[i].points = points;
    }
    r->n_steps = json_array_size(arr);
    return ERR_OK;
}

static int parse_scoring(json_t *o, struct score_rules *r, struct errbuf *eb)
{
    if (!o || json_is_null(o))
        return ERR_OK;
    if (!json_is_object(o))
        return errf(eb, ERR_INVALID, "scoring", "'scoring' must be an object");
    int rc = parse_points(o, "answered", &r->answered, eb);
    if (rc == ERR_OK)
        rc = parse_points(o, "first_time_caller", &r->first_time, eb);
    return rc == ERR_OK ? parse_steps(json_object_get(o, "talk_time"), r, eb) : rc;
}

/* An amount in minor units, 0 to 10^9. */
static int parse_minor(json_t *o, const char *key, int64_t *out, struct errbuf *eb)
{
    long long v = *out;
    int rc = json_get_int(o, key, &v, eb);
    if (rc == ERR_OK && (v < 0 || v > 1000000000))
        rc = errf(eb, ERR_INVALID, key, "'%s' must be 0 to 1000000000 (minor units)", key);
    if (rc == ERR_OK)
        *out = v;
    return rc;
}

/* "costs": {"number_monthly":115,"per_minute":2,"providers":{"twilio":{…}}} */
static int parse_costs(json_t *o, struct calls_settings *cs, struct errbuf *eb)
{
    if (!o || json_is_null(o))
        return ERR_OK;
    if (!json_is_object(o))
        return errf(eb, ERR_INVALID, "costs", "'costs' must be an object");
    int rc = parse_minor(o, "number_monthly", &cs->number_monthly, eb);
    if (rc == ERR_OK)
        rc = parse_minor(o, "per_minute", &cs->per_minute, eb);
    json_t *prov = json_object_get(o, "providers");
    if (rc || !prov || json_is_null(prov))
        return rc;
    if (!json_is_object(prov) || json_object_size(prov) > CALLS_MAX_PROVIDER_COSTS)
        return errf(eb, ERR_INVALID, "providers",
                    "'costs.providers' must be an object of at most %d providers",
                    CALLS_MAX_PROVIDER_COSTS);
    const char *name;
    json_t *v;
    json_object_foreach(prov, name, v)
    {
        size_t i = cs->n_provider_costs;
        if (!json_is_object(v) || strlen(name) >= sizeof(cs->provider_costs[i].provider))
            return errf(eb, ERR_INVALID, "providers",
                        "each of 'costs.providers' must be a provider name and an object");
        str_copy(cs->provider_costs[i].provider, sizeof(cs->provider_costs[i].provider), name);
        cs->provider_costs[i].number_monthly = cs->number_monthly;
        cs->provider_costs[i].per_minute = cs->per_minute;
        rc = parse_minor(v, "number_monthly", &cs->provider_costs[i].number_monthly, eb);
        if (rc == ERR_OK)
            rc = parse_minor(v, "per_minute", &cs->provider_costs[i].per_minute, eb);
        if (rc)
            return rc;
        cs->n_provider_costs++;
    }
    return ERR_OK;
}

void calls_number_costs(const struct calls_settings *cs, const char *provider, int64_t *monthly,
                        int64_t *per_minute)
{
    *monthly = cs->number_monthly;
    *per_minute = cs->per_minute;
    for (size_t i = 0; provider && i < cs->n_provider_costs; i++)
        if (strcmp(cs->provider_costs[i].provider, provider) == 0) {
            *monthly = cs->provider_costs[i].number_monthly;
            *per_minute = cs->provider_costs[i].per_minute;
        }
}

int calls_settings_parse(const char *json, struct calls_settings *out, struct errbuf *eb)
{
    settings_default(out);
    if (!json || !*json)
        return ERR_OK;
    json_t *o = NULL;
    int rc = json_parse_object(json, strlen(json), &o, eb);
    if (rc == ERR_OK)
        rc = parse_settings(o, out, eb);
    if (rc == ERR_OK)
        rc = parse_scoring(json_object_get(o, "scoring"), &out->score, eb);
    if (rc == ERR_OK)
        rc = parse_costs(json_object_get(o, "costs"), out, eb);
    json_decref(o);
    if (rc)
        settings_default(out);
    return rc;
}

/* Settings of an account, defaults (with a warning) if they do not parse. */
static void account_settings(const struct st_account *a, struct calls_settings *cs)
{
    struct errbuf eb = {{0}, NULL};
    if (calls_settings_parse(a->settings, cs, &eb) != ERR_OK)
        log_warn("calls", "account %s: bad settings (%s); using the defaults", a->ext_id, eb.msg);
}

/* ==== small helpers =========================================================================== */

static bool is_e164(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 8 || n > 16 || s[0] != '+')
        return false;
    return strspn(s + 1, "0123456789") == n - 1;
}

/* Provider-sent parties (E.164, sip:, client:) are ASCII; anything else is replaced, so a
 * stored call always serialises. */
static void copy_party(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    dst[i] = '\0';
}

static void failure(struct app *app, const struct st_call *c, const char *what, int rc)
{
    log_error("calls", "%s (call %s, %s): %s", what, c->provider_call_id, err_str(rc),
              c->error[0] ? c->error : "no detail");
    metrics_count(app->metrics, FAILURES, FAILURES_HELP, 1);
}

void calls_mask_json(json_t *v)
{
    if (!json_is_object(v))
        return;
    const char *from = json_string_value(json_object_get(v, "from"));
    if (from && strlen(from) > 6) { /* "+15125550111" -> "+1••••0111" */
        char masked[80];
        snprintf(masked, sizeof(masked), "%.*s••••%s", from[0] == '+' ? 2 : 0, from,
                 from + strlen(from) - 4);
        json_object_set_new(v, "from", json_string(masked));
    }
    json_t *cv = json_object_get(v, "conversion");
    if (json_is_object(cv))
        json_object_set_new(cv, "value", json_null());
    json_t *oc = json_object_get(v, "outcome");
    if (json_is_object(oc))
        json_object_set_new(oc, "revenue", json_null());
    if (json_object_get(v, "call_id") && json_object_get(v, "value")) /* conversion.created */
        json_object_set_new(v, "value", json_null());
}

/* Publishes v (taken) to the account's stream listeners, and its masked variant to those of
 * dashboard sessions whose role may not see callers or money. */
static void publish(struct app *app, int64_t account_id, const char *event, json_t *v)
{
    if (!app->stream || !v) {
        json_decref(v);
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT);
    calls_mask_json(v);
    char *m = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (s && m)
        stream_publish_masked(app->stream, account_id, event, s, m);
    free(s);
    free(m);
}

static double round4(double x)
{
    return round(x * 10000) / 10000;
}

/* ==== who owns the number ===================================================================== */

int calls_resolve(struct app *app, const char *to, struct calls_target *t)
{
    struct store *s = app->store;
    memset(t, 0, sizeof(*t));
    int rc = store_number_by_e164(s, to, &t->number);
    if (rc == ERR_OK) {
        t->account_id = t->number.account_id;
        if (!t->number.pool_id)
            return ERR_OK;
        /* The pool as the account's snapshot holds it (pools change through the API, which
         * drops the snapshot, or within its reload); a pool it does not know yet: the store. */
        const struct acct *snap = NULL;
        if (app->accounts &&
            accounts_get_by_id(app->accounts, t->account_id, time_now_ms(), &snap) == ERR_OK) {
            const struct st_pool *p = acct_pool(snap, t->number.pool_id);
            if (p)
                t->pool = *p;
            accounts_put(app->accounts, snap);
            if (p)
                return ERR_OK;
        }
        return store_pool_by_id(s, t->account_id, t->number.pool_id, &t->pool);
    }
    memset(&t->number, 0, sizeof(t->number));
    if (rc != ERR_NOTFOUND)
        return rc;
    rc = store_pool_by_fallback(s, to, &t->pool);
    if (rc == ERR_OK) {
        t->account_id = t->pool.account_id;
        t->fallback = true;
    }
    return rc;
}

/* Where the call goes: the number's own forward_to, else its pool's (which defaults to the
 * pool's target); "" when nobody owns the number. */
void calls_forward_of(const struct calls_target *t, char out[STORE_E164_MAX])
{
    const char *f = "";
    if (t->number.forward_to[0])
        f = t->number.forward_to;
    else if (t->pool.forward_to[0])
        f = t->pool.forward_to;
    else if (t->pool.target[0])
        f = t->pool.target;
    snprintf(out, STORE_E164_MAX, "%s", f);
}

/* ==== attribution ============================================================================= */

/* The holders of a called number, read from its lease history before any is scored: the
 * newest lease per session, with its exact times and how many live holders share its client.
 * Grouping uses 64-bit hashes of the client key and the visitor id: they never leave the
 * process, and colliding with a real visitor's would need its visitor id (a first-party
 * secret) or its address, which is what grouping is about anyway. */
struct holding {
    int64_t session_id;
    int64_t leased_at, last_active_at, ends_at;
    uint64_t client, visitor; /* hashes; 0 = unknown */
    uint32_t n_client;        /* live holders sharing client or visitor, itself included */
    bool live;
    int seen; /* order read: newest first */
};

struct holdings {
    struct store *s;
    int64_t at;
    struct holding *h;
    size_t n;
};

static uint64_t key_hash(const char *s)
{
    return s && *s ? hash_str(s) | 1 : 0; /* never 0: 0 means unknown */
}

static int add_holding(void *arg, const struct st_lease *l)
{
    struct holdings *hs = arg;
    for (size_t i = 0; i < hs->n; i++)
        if (hs->h[i].session_id == l->session_id)
            return 0; /* an older lease of a session already seen adds nothing */
    struct holding *h = &hs->h[hs->n];
    *h = (struct holding){.session_id = l->session_id,
                          .leased_at = l->leased_at,
                          .client = key_hash(l->client_key),
                          .visitor = key_hash(l->visitor_id),
                          .seen = (int)hs->n};
    store_lease_times(hs->s, l, hs->at, &h->last_active_at, &h->ends_at);
    h->live = h->leased_at <= hs->at && hs->at < h->ends_at;
    hs->n++;
    return hs->n == CALLS_MAX_HISTORY;
}

/* n_client of every live holding: the larger of the live holders sharing its client key and
 * those sharing its visitor id (a crowd from one address with fresh visitor ids, or one
 * visitor id spread over addresses). */
static void count_clients(struct holding *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t by_client = 0;
        uint32_t by_visitor = 0;
        for (size_t j = 0; h[i].live && j < n; j++) {
            if (!h[j].live)
                continue;
            by_client += h[i].client && h[j].client == h[i].client;
            by_visitor += h[i].visitor && h[j].visitor == h[i].visitor;
        }
        h[i].n_client = by_client > by_visitor ? by_client : by_visitor;
    }
}

/* Which holdings become candidates when there are more than CALLS_MAX_CANDIDATES: live ones
 * first, those of the smallest crowds first (a flood cannot push a lone visitor out), then
 * the newest; then past holders, newest first (rule 3 needs the last one). */
static int cmp_holding(const void *a, const void *b)
{
    const struct holding *x = a;
    const struct holding *y = b;
    if (x->live != y->live)
        return x->live ? -1 : 1;
    if (x->live && x->n_client != y->n_client)
        return x->n_client < y->n_client ? -1 : 1;
    return (x->seen > y->seen) - (x->seen < y->seen);
}

/* One holding -> an attrib candidate, with its tel: click on the number and its session's
 * device and region. */
static int to_candidate(struct store *s, int64_t account_id, const struct holding *h,
                        const char *number, int64_t at, struct attrib_candidate *c)
{
    memset(c, 0, sizeof(*c));
    c->session_id = (uint64_t)h->session_id;
    c->leased_at = h->leased_at;
    c->last_active_at = h->last_active_at;
    c->ends_at = h->ends_at;
    c->n_client = h->n_client;
    struct st_session ss;
    int rc = store_event_last(s, account_id, h->session_id, "tel_click", number, at + CLICK_SKEW_MS,
                              &c->tel_click_at);
    if (rc == ERR_OK)
        rc = store_session_by_id(s, account_id, h->session_id, &ss);
    if (rc)
        return rc;
    if (attrib_device_parse(ss.device, &c->device) != ERR_OK)
        c->device = ATTRIB_DEVICE_UNKNOWN;
    str_copy(c->region, sizeof(c->region), ss.region);
    return ERR_OK;
}

/* The candidates for a call on number t at `at`: out gets at most CALLS_MAX_CANDIDATES. */
static int gather_candidates(struct store *s, const struct calls_target *t, int64_t since,
                             int64_t at, struct attrib_candidate *out, size_t *n_out)
{
    struct holdings hs = {.s = s, .at = at, .h = xmalloc(CALLS_MAX_HISTORY * sizeof(*hs.h))};
    int rc = store_lease_history(s, t->account_id, t->number.id, since, CALLS_MAX_HISTORY,
                                 add_holding, &hs);
    *n_out = 0;
    if (rc == ERR_OK) {
        count_clients(hs.h, hs.n);
        qsort(hs.h, hs.n, sizeof(*hs.h), cmp_holding);
    }
    for (size_t i = 0; rc == ERR_OK && i < hs.n && i < CALLS_MAX_CANDIDATES; i++) {
        rc = to_candidate(s, t->account_id, &hs.h[i], t->number.number, at, &out[i]);
        *n_out = i + 1;
    }
    free(hs.h);
    return rc;
}

static void set_text(char *dst, size_t cap, const char *s)
{
    str_copy(dst, cap, s);
}

static void set_method(struct st_call *c, enum attrib_method m, double confidence)
{
    set_text(c->method, sizeof(c->method), attrib_method_name(m));
    c->confidence = confidence;
}

/* Runner-up's confidence: its share of the score among the live holders for a shared number;
 * 0 otherwise (a holder that ended before the credited one, or a refused near miss). */
static double runner_up_confidence(const struct attrib_result *r)
{
    if (r->method != ATTRIB_SHARED || r->score <= 0)
        return 0;
    return r->confidence * r->runner_up_score / r->score;
}

/* What the likelihood model reads beyond the rules' signals (core/attrib attrib_features): each
 * holder's copy of the number and whether a call was credited to it already, and the session
 * this caller's latest attributed call went to. The same signals the simulator replays. */
static int model_signals(struct store *s, const struct calls_target *t,
                         const struct calls_inbound *in, struct attrib_candidate *c, size_t n,
                         struct attrib_call *call)
{
    int rc = ERR_OK;
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        rc = store_event_last(s, t->account_id, (int64_t)c[i].session_id, "number_copy",
                              t->number.number, in->at + CLICK_SKEW_MS, &c[i].copy_at);
        if (rc == ERR_OK)
            rc = store_call_session_credited(s, t->account_id, (int64_t)c[i].session_id, in->at,
                                             &c[i].called);
    }
    if (rc == ERR_OK && is_e164(in->from)) {
        struct st_caller cl;
        rc = store_call_caller(s, t->account_id, in->from, INT64_MAX, &cl);
        if (rc == ERR_OK)
            call->caller_session_id = (uint64_t)cl.last_session_id;
    }
    return rc;
}

static int attribute_pool(struct store *s, const struct calls_target *t,
                          const struct calls_settings *cs, const struct calls_inbound *in,
                          struct st_call *c)
{
    struct attrib_candidate cands[CALLS_MAX_CANDIDATES];
    size_t n = 0;
    int rc = gather_candidates(s, t, in->at - cs->window_ms, in->at, cands, &n);
    if (rc)
        return rc;
    struct attrib_call call = {.at = in->at, .window_ms = cs->window_ms};
    const char *region = is_e164(in->from) ? phone_region(in->from) : NULL;
    set_text(call.caller_region, sizeof(call.caller_region), region);
    struct attrib_result r;
    if (cs->policy_new)
        rc = model_signals(s, t, in, cands, n, &call);
    if (rc == ERR_OK)
        rc = cs->policy_new ? attrib_decide_model(&call, cands, n, NULL, &r)
                            : attrib_decide(&call, cands, n, &r);
    if (rc)
        return rc;
    set_method(c, r.method, r.confidence);
    set_text(c->reason, sizeof(c->reason), r.reason);
    if (r.chosen >= 0)
        c->session_id = (int64_t)cands[r.chosen].session_id;
    if (r.runner_up >= 0) {
        c->runner_up_session_id = (int64_t)cands[r.runner_up].session_id;
        c->runner_up_confidence = runner_up_confidence(&r);
    }
    return ERR_OK;
}

/* A call's credit from rule 4 or 5 (core/attrib), in and out of the stored call. */
static void credit_to(const struct attrib_credit *cr, struct st_call *c)
{
    set_method(c, cr->method, cr->confidence);
    c->session_id = (int64_t)cr->session_id;
    c->first_session_id = (int64_t)cr->first_session_id;
    set_text(c->channel, sizeof(c->channel), cr->channel);
    set_text(c->source, sizeof(c->source), cr->source);
    set_text(c->medium, sizeof(c->medium), cr->medium);
    set_text(c->campaign, sizeof(c->campaign), cr->campaign);
    set_text(c->reason, sizeof(c->reason), cr->reason);
}

static void attribute_source(const struct st_number *n, struct st_call *c)
{
    struct attrib_credit cr;
    attrib_source_number(n->source, n->medium, n->campaign, &cr);
    credit_to(&cr, c);
}

/* The only channel of a pool that serves exactly one, else "". */
static void pool_channel(const struct st_pool *p, char *out, size_t cap)
{
    for (size_t i = 0; p->has_channels && i < CLASSIFY_N_CHANNELS; i++)
        if (p->channels == 1u << i)
            set_text(out, cap, classify_channel_at(i));
}

/* A pool's fallback number is shown only while the pool is exhausted: the call came from the
 * pool's traffic, but no session can be told apart (source-level attribution). */
static void attribute_fallback(const struct st_pool *p, struct st_call *c)
{
    char channel[32] = "";
    pool_channel(p, channel, sizeof(channel));
    struct attrib_credit cr;
    attrib_fallback_number(p->name, channel, &cr);
    credit_to(&cr, c);
}

/* Copies the credited session's source into the call (reports group calls without joins). */
static int snapshot_session(struct store *s, struct st_call *c)
{
    struct st_session ss;
    int rc = store_session_by_id(s, c->account_id, c->session_id, &ss);
    if (rc)
        return rc;
    set_text(c->channel, sizeof(c->channel), ss.channel);
    set_text(c->source, sizeof(c->source), ss.source);
    set_text(c->medium, sizeof(c->medium), ss.medium);
    set_text(c->campaign, sizeof(c->campaign), ss.campaign);
    set_text(c->keyword, sizeof(c->keyword), ss.keyword);
    set_text(c->location, sizeof(c->location), ss.location); /* its rule's: decide_location */
    return ERR_OK;
}

/* Repeat callers (DESIGN.md rule 5, core/attrib attrib_repeat): the session of their earliest
 * attributed call is the first touch, and takes a call that nothing else explains. */
static int apply_repeat(struct store *s, int64_t account_id, struct st_call *c)
{
    if (!is_e164(c->from))
        return ERR_OK; /* anonymous, client:, sip: callers cannot be recognised */
    struct st_caller cl;
    int rc = store_call_caller(s, account_id, c->from, INT64_MAX, &cl);
    if (rc == ERR_OK) /* kept for reports and scores: they need not look again */
        c->first_caller = cl.prior_calls == 0 ? 1 : 2;
    if (rc || !cl.first_session_id)
        return rc;
    struct attrib_credit cr = {.confidence = c->confidence, .session_id = (uint64_t)c->session_id};
    if (attrib_method_parse(c->method, &cr.method) != ERR_OK)
        cr.method = ATTRIB_UNATTRIBUTED;
    set_text(cr.reason, sizeof(cr.reason), c->reason);
    attrib_repeat(&cr, (uint64_t)cl.first_session_id, cl.first_confidence);
    c->first_session_id = (int64_t)cr.first_session_id;
    set_method(c, cr.method, cr.confidence);
    c->session_id = (int64_t)cr.session_id;
    set_text(c->reason, sizeof(c->reason), cr.reason);
    return ERR_OK;
}

static int attribute(struct store *s, const struct calls_target *t, const struct calls_settings *cs,
                     const struct calls_inbound *in, struct st_call *c)
{
    int rc = ERR_OK;
    if (t->fallback)
        attribute_fallback(&t->pool, c);
    else if (t->number.pool_id)
        rc = attribute_pool(s, t, cs, in, c);
    else if (t->number.id)
        attribute_source(&t->number, c);
    else
        set_text(c->reason, sizeof(c->reason),
                 "no account tracks this number: the call was "
                 "refused politely");
    if (rc == ERR_OK && t->account_id)
        rc = apply_repeat(s, t->account_id, c);
    if (rc == ERR_OK && c->session_id)
        rc = snapshot_session(s, c);
    return rc;
}

/* ==== the call's location ===================================================================== */

/* The location of the first rule (in position order) that shows source number n and belongs to
 * a location, "" for none. */
static int source_rule_location(struct app *app, const struct st_number *n, int64_t now,
                                char out[STORE_ID_MAX])
{
    const struct acct *a = NULL;
    int rc = accounts_get_by_id(app->accounts, n->account_id, now, &a);
    if (rc)
        return rc;
    for (size_t i = 0; i < a->n_rules && !out[0]; i++)
        if (a->rule_rows[i].number_id == n->id)
            set_text(out, STORE_ID_MAX, a->rule_rows[i].location);
    accounts_put(app->accounts, a);
    return ERR_OK;
}

/* Decides once, as the call is stored, the location it belongs to (docs/routing.md
 * "Locations"): its number's, else its pool's, else its source rule's: the rule the credited
 * visit matched (c->location holds it from the session, snapshot_session), or for a source
 * number the first rule that shows it. A failed read leaves the call without one (logged): a
 * location never holds up a call. */
static void decide_location(struct app *app, const struct calls_target *t, struct st_call *c)
{
    char by_rule[STORE_ID_MAX];
    set_text(by_rule, sizeof(by_rule), c->location);
    c->location[0] = '\0';
    if (!t->account_id)
        return;
    int rc = routing_location_of(app, t->account_id, t, c->location);
    if (rc == ERR_OK && !c->location[0])
        set_text(c->location, sizeof(c->location), by_rule);
    if (rc == ERR_OK && !c->location[0] && t->number.id && !t->number.pool_id)
        rc = source_rule_location(app, &t->number, c->started_at, c->location);
    if (rc)
        log_warn("calls", "cannot decide a call's location: %s", err_str(rc));
}

/* ==== taking a call =========================================================================== */

static void new_call(const struct st_account *acct, const struct calls_target *t,
                     const struct calls_inbound *in, const struct calls_answer *ans,
                     struct st_call *c)
{
    memset(c, 0, sizeof(*c));
    c->account_id = acct->id;
    set_text(c->provider, sizeof(c->provider), in->provider);
    set_text(c->provider_call_id, sizeof(c->provider_call_id), in->provider_call_id);
    c->number_id = t->number.id;
    c->pool_id = t->pool.id;
    copy_party(c->to, sizeof(c->to), in->to);
    copy_party(c->from, sizeof(c->from), in->from);
    c->started_at = c->updated_at = in->at;
    set_text(c->status, sizeof(c->status), "ringing");
    set_text(c->call_status, sizeof(c->call_status), "ringing");
    c->call_duration_s = c->dial_duration_s = -1;
    c->status_seq = c->dial_seq = -1;
    set_text(c->forwarded_to, sizeof(c->forwarded_to), ans->forward_to);
    c->recorded = ans->record;
    set_method(c, ATTRIB_UNATTRIBUTED, 0);
}

void calls_answer_of(const struct st_call *call, const struct calls_settings *cs,
                     struct calls_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    set_text(ans->forward_to, sizeof(ans->forward_to), call->forwarded_to);
    ans->record = call->recorded && ans->forward_to[0];
    set_text(ans->notice, sizeof(ans->notice), cs->notice);
}

/* The stored copy of a retried webhook, and the answer it got. */
static int find_retry(struct app *app, const struct st_account *acct,
                      const struct calls_settings *cs, const struct calls_inbound *in,
                      struct st_call *call, struct calls_answer *ans)
{
    int rc = store_call_by_provider(app->store, in->provider, in->provider_call_id, call);
    if (rc == ERR_OK && call->account_id != acct->id) {
        memset(call, 0, sizeof(*call)); /* another account's call id: never show it */
        return ERR_CONFLICT;
    }
    if (rc == ERR_OK) {
        calls_answer_of(call, cs, ans);
        ans->duplicate = true;
    }
    return rc;
}

static void answer_for(const struct calls_settings *cs, const struct calls_target *t,
                       struct calls_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    calls_forward_of(t, ans->forward_to);
    ans->record = cs->record && ans->forward_to[0];
    set_text(ans->notice, sizeof(ans->notice), cs->notice);
}

void calls_answer_for(const struct st_account *acct, const struct calls_target *t,
                      struct calls_answer *ans)
{
    struct calls_settings cs;
    account_settings(acct, &cs);
    answer_for(&cs, t, ans);
}

int calls_prepare(struct app *app, const struct st_account *acct, const struct calls_target *t,
                  const struct calls_inbound *in, struct st_call *call, struct calls_answer *ans)
{
    struct calls_settings cs;
    account_settings(acct, &cs); /* once per call: the answer and the attribution */
    answer_for(&cs, t, ans);
    int rc = find_retry(app, acct, &cs, in, call, ans);
    if (rc == ERR_CONFLICT)
        log_warn("calls", "call id %s belongs to another account: answered, not stored",
                 in->provider_call_id);
    if (rc != ERR_NOTFOUND)
        return rc; /* ERR_OK: a provider retry; else *ans still forwards the call */
    new_call(acct, t, in, ans, call);
    rc = attribute(app->store, t, &cs, in, call);
    if (rc) { /* store it anyway, unattributed, saying why */
        snprintf(call->error, sizeof(call->error), "attribution failed: %s", err_str(rc));
        failure(app, call, "cannot attribute call", rc);
        set_method(call, ATTRIB_UNATTRIBUTED, 0);
        call->session_id = call->runner_up_session_id = call->first_session_id = 0;
        call->channel[0] = call->source[0] = call->medium[0] = '\0';
        call->campaign[0] = call->keyword[0] = call->location[0] = '\0';
        set_text(call->reason, sizeof(call->reason), "attribution failed; see error");
    }
    decide_location(app, t, call);
    return CALLS_TO_STORE;
}

int calls_take(struct app *app, const struct st_account *acct, const struct calls_target *t,
               const struct calls_inbound *in, struct st_call *call, struct calls_answer *ans)
{
    int rc = calls_prepare(app, acct, t, in, call, ans);
    if (rc != CALLS_TO_STORE)
        return rc;
    int inserted = store_begin(app->store);
    if (inserted == ERR_OK) { /* the call and its outbox messages commit together */
        inserted = calls_insert(app, app->store, call);
        if (inserted == ERR_OK)
            inserted = store_commit(app->store);
        if (inserted)
            store_rollback(app->store);
    }
    rc = calls_inserted(app, acct, in, inserted, call, ans);
    if (inserted == ERR_OK && rc == ERR_OK) {
        calls_publish_inserted(app, call);
        outbox_wake(app->outbox);
    }
    return rc;
}

/* An outbox event's data: the CALL object (outbox_data_fn). */
struct call_event {
    struct app *app;
    const struct st_call *call;
    const struct st_conversion *cv;
};

static json_t *call_event_data(void *ctx)
{
    const struct call_event *e = ctx;
    return calls_json(e->app, e->call);
}

int calls_insert(struct app *app, struct store *s, struct st_call *call)
{
    if (testhooks_fault(TESTHOOK_CALL_STORE)) {
        set_text(call->error, sizeof(call->error), "store write refused (test fault call_store)");
        return ERR_BACKEND;
    }
    int rc = store_call_insert(s, call);
    struct call_event e = {app, call, NULL};
    if (rc == ERR_OK) /* in the insert's transaction: the call and its webhooks, or neither */
        rc = outbox_emit(app, s, call->account_id, "call.started", call->started_at,
                         call_event_data, &e);
    if (rc == ERR_OK)
        rc = outbox_check_static_use(app, s, call);
    if (rc == ERR_OK) /* the other nodes' stream listeners hear of it once it commits */
        rc = fanout_notify(app, s, call->account_id, "call.started", call->id);
    return rc;
}

/* lease_policy "new", once the call is stored: the credited holder's call is done, so its tap
 * no longer keeps the number resting (store_lease_note, core/pool POOL_SIG_CALLED). Best effort,
 * as a tap's note; the simulator notes the same on every credited call. */
static void note_called(struct app *app, const struct st_account *acct, const struct st_call *c)
{
    if (!c->session_id || !c->pool_id || !c->number_id)
        return;
    enum attrib_method m;
    if (attrib_method_parse(c->method, &m) != ERR_OK ||
        (m != ATTRIB_EXACT && m != ATTRIB_SHARED && m != ATTRIB_LATE))
        return;
    const struct acct *a = NULL; /* the policy from the account's snapshot, not a settings parse */
    bool policy_new = accounts_get_by_id(app->accounts, acct->id, c->started_at, &a) == ERR_OK &&
                      a->lease_policy_new;
    if (a)
        accounts_put(app->accounts, a);
    struct st_session ss;
    if (!policy_new || store_session_by_id(app->store, c->account_id, c->session_id, &ss) != ERR_OK)
        return;
    int rc = store_lease_note(app->store, c->account_id, c->pool_id, ss.ext_id, c->number_id,
                              POOL_SIG_CALLED, c->started_at);
    if (rc && rc != ERR_NOTFOUND)
        log_debug("calls", "credited call not noted on the lease: %s", err_str(rc));
}

int calls_inserted(struct app *app, const struct st_account *acct, const struct calls_inbound *in,
                   int rc, struct st_call *call, struct calls_answer *ans)
{
    if (rc == ERR_CONFLICT) { /* the same CallSid raced us: use the stored one */
        struct calls_settings cs;
        account_settings(acct, &cs);
        return find_retry(app, acct, &cs, in, call, ans);
    }
    if (rc)
        failure(app, call, "cannot store call; forwarding it anyway", rc);
    else
        note_called(app, acct, call);
    return rc;
}

void calls_publish_inserted(struct app *app, const struct st_call *call)
{
    if (app->stream && stream_listeners(app->stream))
        publish(app, call->account_id, "call.started", calls_json(app, call));
}

/* ==== status callbacks ======================================================================== */

/* The status fields of a stored call, in and out of core's struct. */
static void legs_of(const struct st_call *c, struct call_legs *l)
{
    memset(l, 0, sizeof(*l));
    set_text(l->status, sizeof(l->status), c->status);
    set_text(l->call_status, sizeof(l->call_status), c->call_status);
    set_text(l->dial_status, sizeof(l->dial_status), c->dial_status);
    l->duration_s = c->duration_s;
    l->call_duration_s = c->call_duration_s;
    l->status_seq = c->status_seq;
    l->dial_duration_s = c->dial_duration_s;
    l->dial_seq = c->dial_seq;
    l->started_at = c->started_at;
    l->ended_at = c->ended_at;
    l->updated_at = c->updated_at;
}

static void legs_to(const struct call_legs *l, struct st_call *c)
{
    set_text(c->status, sizeof(c->status), l->status);
    set_text(c->call_status, sizeof(c->call_status), l->call_status);
    set_text(c->dial_status, sizeof(c->dial_status), l->dial_status);
    c->duration_s = l->duration_s;
    c->call_duration_s = l->call_duration_s;
    c->status_seq = l->status_seq;
    c->dial_duration_s = l->dial_duration_s;
    c->dial_seq = l->dial_seq;
    c->ended_at = l->ended_at;
    c->updated_at = l->updated_at;
}

bool calls_merge_status(struct st_call *c, const struct call_report *u, int64_t now)
{
    struct call_legs l;
    legs_of(c, &l);
    if (!callstatus_merge(&l, u, now))
        return false;
    legs_to(&l, c);
    return true;
}

static json_t *conversion_json(const struct st_call *c, const struct st_conversion *cv);

static json_t *conversion_event_data(void *ctx)
{
    const struct call_event *e = ctx;
    return conversion_json(e->call, e->cv);
}

/* Runs the account's conversion rules on a final call; *cv->id != 0 after a new conversion. */
static int maybe_convert(struct store *s, const struct st_call *c, int64_t now,
                         struct st_conversion *cv)
{
    memset(cv, 0, sizeof(*cv));
    struct st_conversion have;
    int rc = store_conversion_by_call(s, c->account_id, c->id, &have);
    if (rc != ERR_NOTFOUND)
        return rc; /* ERR_OK: converted already, exactly once */
    struct st_account a;
    rc = store_account_by_id(s, c->account_id, &a);
    struct st_caller cl = {0};
    if (rc == ERR_OK && is_e164(c->from))
        rc = store_call_caller(s, c->account_id, c->from, c->id, &cl);
    if (rc)
        return rc;
    struct calls_settings cs;
    account_settings(&a, &cs);
    struct convert_call cc = {.status = c->status,
                              .duration_s = c->duration_s,
                              .first_time_caller = cl.prior_calls == 0,
                              .channel = c->channel[0] ? c->channel : NULL,
                              .campaign = c->campaign[0] ? c->campaign : NULL};
    double value = 0;
    char digits[sizeof(((struct st_call_route *)0)->digits)] = "";
    if (cs.ivr_digits[0]) { /* the rule asks what the caller pressed: the routing record's */
        struct st_call_route *r = xmalloc(sizeof(*r));
        rc = store_call_route_get(s, c->provider, c->provider_call_id, r);
        if (rc == ERR_OK && r->account_id == c->account_id)
            str_copy(digits, sizeof(digits), r->digits);
        free(r);
        if (rc && rc != ERR_NOTFOUND)
            return rc;
        cc.digits = digits;
    }
    if (!convert_check(&cs.rules, &cc, &value))
        return ERR_OK;
    *cv = (struct st_conversion){
        .call_id = c->id, .account_id = c->account_id, .value = value, .at = now};
    set_text(cv->name, sizeof(cv->name), cs.name);
    set_text(cv->currency, sizeof(cv->currency), cs.currency);
    if (cs.location[0]) { /* the rule's location, while the account has it */
        struct st_route_doc *d = xmalloc(sizeof(*d));
        rc = store_route_doc_get(s, c->account_id, "location", cs.location, d);
        free(d);
        if (rc && rc != ERR_NOTFOUND)
            return rc;
        set_text(cv->location, sizeof(cv->location), rc ? "" : cs.location);
    }
    rc = store_conversion_add(s, cv);
    if (rc == ERR_CONFLICT) {
        cv->id = 0;
        return ERR_OK;
    }
    return rc;
}

int calls_update_apply(struct app *app, struct store *s, struct calls_update_state *st)
{
    memset(&st->cv, 0, sizeof(st->cv));
    st->changed = false;
    if (testhooks_fault(TESTHOOK_CALL_STORE)) {
        set_text(st->call.error, sizeof(st->call.error),
                 "store write refused (test fault call_store)");
        return ERR_BACKEND;
    }
    st->completed = false;
    int rc = store_call_by_id(s, st->account_id, st->call_id, &st->call);
    bool was_final = rc == ERR_OK && callstatus_final(st->call.status);
    st->changed = rc == ERR_OK && calls_merge_status(&st->call, &st->status, st->now);
    st->completed = st->changed && !was_final && callstatus_final(st->call.status);
    if (rc == ERR_OK && st->changed)
        rc = store_call_update(s, &st->call);
    if (rc == ERR_OK && st->changed && callstatus_final(st->call.status))
        rc = maybe_convert(s, &st->call, st->now, &st->cv);
    struct call_event e = {app, &st->call, &st->cv};
    if (rc == ERR_OK && st->completed) /* the outbox messages join the update's transaction */
        rc = outbox_emit(app, s, st->call.account_id, "call.completed", st->now, call_event_data,
                         &e);
    if (rc == ERR_OK && st->cv.id)
        rc = outbox_emit(app, s, st->call.account_id, "conversion.created", st->now,
                         conversion_event_data, &e);
    if (rc == ERR_OK && st->completed) /* GA4, Meta: bodies of their own */
        rc = adplat_emit(app, s, &st->call, NULL, "call.completed", st->now);
    if (rc == ERR_OK && st->cv.id)
        rc = adplat_emit(app, s, &st->call, &st->cv, "conversion.created", st->now);
    if (rc == ERR_OK && st->completed)
        rc = fanout_notify(app, s, st->call.account_id, "call.completed", st->call.id);
    if (rc == ERR_OK && st->cv.id)
        rc = fanout_notify(app, s, st->call.account_id, "conversion.created", st->call.id);
    return rc;
}

json_t *calls_event_json(struct app *app, const char *event, int64_t account_id, int64_t call_id)
{
    struct st_call c;
    if (store_call_by_id(app->store, account_id, call_id, &c) != ERR_OK ||
        c.account_id != account_id)
        return NULL;
    if (strcmp(event, "conversion.created") != 0)
        return calls_json(app, &c);
    struct st_conversion cv;
    if (store_conversion_by_call(app->store, c.account_id, c.id, &cv) != ERR_OK)
        return NULL;
    return conversion_json(&c, &cv);
}

/* merge -> update -> conversion, in one transaction on this thread's connection. */
static int update_tx(struct app *app, struct calls_update_state *st)
{
    int rc = store_begin(app->store);
    if (rc)
        return rc;
    rc = calls_update_apply(app, app->store, st);
    if (rc == ERR_OK)
        rc = store_commit(app->store);
    if (rc)
        store_rollback(app->store);
    return rc;
}

static json_t *conversion_json(const struct st_call *c, const struct st_conversion *cv)
{
    return json_pack("{s:s,s:s,s:f,s:s,s:o}", "call_id", c->ext_id, "name", cv->name, "value",
                     cv->value, "currency", cv->currency, "at", json_time(cv->at));
}

int calls_updated(struct app *app, int rc, struct calls_update_state *st)
{
    struct st_call *c = &st->call;
    if (rc == ERR_NOTFOUND)
        return rc;
    if (rc) {
        if (!c->provider_call_id[0])
            snprintf(c->provider_call_id, sizeof(c->provider_call_id), "#%" PRId64, st->call_id);
        failure(app, c, "cannot update call", rc);
        return rc;
    }
    return ERR_OK;
}

void calls_publish_updated(struct app *app, const struct calls_update_state *st)
{
    const struct st_call *c = &st->call;
    if (!app->stream || !stream_listeners(app->stream))
        return;
    if (st->completed) /* once per call: later reports on a final call change it silently */
        publish(app, c->account_id, "call.completed", calls_json(app, c));
    if (st->cv.id)
        publish(app, c->account_id, "conversion.created", conversion_json(c, &st->cv));
}

int calls_update(struct app *app, int64_t account_id, int64_t call_id, const struct call_report *u,
                 int64_t now, struct st_call *out)
{
    struct calls_update_state st = {
        .account_id = account_id, .call_id = call_id, .status = *u, .now = now};
    int rc = calls_updated(app, update_tx(app, &st), &st);
    if (rc == ERR_OK) {
        calls_publish_updated(app, &st);
        outbox_wake(app->outbox);
    }
    if (rc == ERR_OK && out)
        *out = st.call;
    return rc;
}

/* ==== the CALL object ========================================================================= */

static json_t *session_ref(struct store *s, int64_t account_id, int64_t session_id)
{
    struct st_session ss;
    if (!session_id || store_session_by_id(s, account_id, session_id, &ss) != ERR_OK)
        return json_null();
    return json_string(ss.ext_id);
}

static json_t *source_json(const struct st_call *c)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "channel", json_str_or_null(c->channel), "source",
                     json_str_or_null(c->source), "medium", json_str_or_null(c->medium), "campaign",
                     json_str_or_null(c->campaign), "keyword", json_str_or_null(c->keyword));
}

static json_t *runner_up_json(struct store *s, const struct st_call *c)
{
    json_t *sid = session_ref(s, c->account_id, c->runner_up_session_id);
    if (json_is_null(sid))
        return sid;
    return json_pack("{s:o,s:f}", "session_id", sid, "confidence", round4(c->runner_up_confidence));
}

static json_t *device_json(const char *device)
{
    bool known = device[0] && strcmp(device, "unknown") != 0;
    return known ? json_string(device) : json_null();
}

static json_t *attribution_json(struct store *s, const struct st_call *c)
{
    struct st_session ss;
    bool have =
        c->session_id && store_session_by_id(s, c->account_id, c->session_id, &ss) == ERR_OK;
    json_t *ids = have && ss.click_ids[0] ? json_loads(ss.click_ids, 0, NULL) : NULL;
    if (!json_is_object(ids)) {
        json_decref(ids);
        ids = json_object();
    }
    return json_pack(
        "{s:s,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "method", c->method, "confidence",
        round4(c->confidence), "session_id", have ? json_string(ss.ext_id) : json_null(),
        "visitor_id", have ? json_string(ss.visitor_id) : json_null(), "source", source_json(c),
        "click_ids", ids, "landing_page", json_str_or_null(have ? ss.landing_page : ""), "referrer",
        json_str_or_null(have ? ss.referrer : ""), "device", device_json(have ? ss.device : ""),
        "reason", json_str_or_null(c->reason), "runner_up", runner_up_json(s, c), "first_touch",
        session_ref(s, c->account_id, c->first_session_id));
}

/* The call's conversion, or null; *loc gets the location of the rule that qualified it. */
static json_t *call_conversion_json(struct store *s, const struct st_call *c,
                                    char loc[STORE_ID_MAX])
{
    struct st_conversion cv;
    loc[0] = '\0';
    if (store_conversion_by_call(s, c->account_id, c->id, &cv) != ERR_OK)
        return json_null();
    set_text(loc, STORE_ID_MAX, cv.location);
    return json_pack("{s:s,s:f,s:o}", "name", cv.name, "value", cv.value, "at", json_time(cv.at));
}

/* Whether no earlier call of the account came from this caller: true, false, or null when the
 * caller is not a phone number (withheld, sip:) or the store cannot answer. */
int calls_first_time(struct app *app, const struct st_call *c)
{
    struct st_caller cl = {0};
    if (!is_e164(c->from) ||
        store_call_caller(app->store, c->account_id, c->from, c->id, &cl) != ERR_OK)
        return -1;
    return cl.prior_calls == 0;
}

json_t *calls_score_json(const struct score_result *r)
{
    json_t *reasons = json_array();
    for (size_t i = 0; i < r->n_reasons; i++)
        json_array_append_new(reasons, json_string(r->reasons[i]));
    return json_pack("{s:i,s:o}", "value", r->score, "reasons", reasons);
}

/* The call's advisory score under its account's "scoring" settings (core/score.h): answered,
 * talk time, and first (calls_first_time, read once by the caller). */
static void calls_score(struct app *app, const struct st_call *c, bool first,
                        struct score_result *out)
{
    struct st_account a;
    struct calls_settings cs;
    if (store_account_by_id(app->store, c->account_id, &a) == ERR_OK)
        account_settings(&a, &cs);
    else
        settings_default(&cs);
    score_call(&cs.score,
               &(struct score_call){
                   .status = c->status, .duration_s = c->duration_s, .first_time_caller = first},
               out);
}

json_t *calls_json(struct app *app, const struct st_call *c)
{
    struct store *s = app->store;
    int ft = calls_first_time(app, c); /* one store read for the field and the score */
    struct score_result score;
    calls_score(app, c, ft == 1, &score);
    char by_conversion[STORE_ID_MAX];
    json_t *o = json_pack(
        "{s:s,s:o,s:o,s:o,s:s,s:I,s:o,s:o,s:b,s:o,s:o,s:o,s:o}", "id", c->ext_id, "to",
        json_str_or_null(c->to), "from", json_str_or_null(c->from), "started_at",
        json_time(c->started_at), "status", c->status, "duration", (json_int_t)c->duration_s,
        "forwarded_to", json_str_or_null(c->forwarded_to), "first_time",
        ft < 0 ? json_null() : json_boolean(ft), "recorded", c->recorded, "attribution",
        attribution_json(s, c), "conversion", call_conversion_json(s, c, by_conversion), "outcome",
        outcomes_call_json(app, c), "score", calls_score_json(&score));
    json_t *routing = routing_call_json(app, c->provider, c->provider_call_id); /* routed calls */
    /* The call's location: where its plan took it (a menu, geography), else the one decided
     * when it was stored; the reports group by the same. */
    const char *routed = routing ? json_string_value(json_object_get(routing, "location")) : NULL;
    const char *loc = routed && routed[0] ? routed : c->location[0] ? c->location : by_conversion;
    /* The call's recording, wherever its callback left it: the routing record's (a plan's
     * recorded dial or voicemail), else the call's own (a plain forward under record_calls). */
    json_t *rrec = routing ? json_object_get(routing, "recording") : NULL;
    json_t *rec =
        json_is_object(rrec) ? json_incref(rrec)
        : c->recording_url[0]
            ? json_pack("{s:s,s:I}", "url", c->recording_url, "duration",
                        (json_int_t)(c->recording_duration_s < 0 ? 0 : c->recording_duration_s))
            : json_null();
    if (o) {
        json_object_set_new(o, "location", json_str_or_null(loc));
        json_object_set_new(o, "recording", rec ? rec : json_null());
        json_object_set_new(o, "routing", routing ? routing : json_null());
    } else {
        json_decref(rec);
        json_decref(routing);
    }
    return o;
}

/* ==== webhooks through the group-commit writer ================================================ */

/* One webhook's write waiting for the writer. Strings the transport owned are copied. */
struct calls_pending {
    struct write_job job; /* first: the writer hands back &job */
    struct app *app;
    bool voice; /* a new call, else a status report */
    struct st_account acct;
    char sid[sizeof(((struct st_call *)0)->provider_call_id)];
    char provider[16];
    char to[STORE_PARTY_MAX];
    char from[STORE_PARTY_MAX];
    char status[STORE_STATUS_MAX];
    struct calls_inbound in;
    struct st_call call;
    struct calls_answer ans;
    struct calls_update_state upd;
    int rc;        /* calls_inserted's / calls_updated's result */
    bool raced;    /* the CallSid raced in: ans is now the stored call's answer */
    bool inserted; /* voice: this webhook stored the call (call.started is due) */
    calls_done_fn done;
    void *arg;
};

static int pending_apply(struct store *s, struct write_job *job)
{
    struct calls_pending *p = (struct calls_pending *)job;
    return p->voice ? calls_insert(p->app, s, &p->call) : calls_update_apply(p->app, s, &p->upd);
}

static void pending_done(struct write_job *job)
{
    struct calls_pending *p = (struct calls_pending *)job;
    if (p->voice) {
        p->rc = calls_inserted(p->app, &p->acct, &p->in, job->rc, &p->call, &p->ans);
        p->raced = job->rc == ERR_CONFLICT;
        p->inserted = job->rc == ERR_OK;
        /* The store refused the write (it went away mid-batch, a full disk): the webhook is
         * answered once the call is in the spool, which writes it when the store is back. */
        if (job->rc != ERR_OK && job->rc != ERR_CONFLICT && p->app->offline)
            offline_spool_voice(p->app->offline, p->acct.id, &p->in, &p->ans);
    } else {
        p->rc = calls_updated(p->app, job->rc, &p->upd);
        if (p->rc != ERR_OK && p->rc != ERR_NOTFOUND && p->app->offline &&
            offline_spool_update(p->app->offline, p->upd.call_id, &p->upd.status, p->upd.now) ==
                ERR_OK)
            p->rc = ERR_OK; /* kept: acknowledged, written when the store is back */
    }
    if (job->rc == ERR_OK) /* its outbox messages, if any, are committed */
        outbox_wake(p->app->outbox);
    p->done(p->arg, p);
}

struct calls_pending *calls_pending_voice(struct app *app, const struct st_account *acct,
                                          const struct calls_inbound *in,
                                          const struct st_call *call,
                                          const struct calls_answer *ans)
{
    struct calls_pending *p = xcalloc(1, sizeof(*p));
    p->app = app;
    p->voice = true;
    p->acct = *acct;
    set_text(p->sid, sizeof(p->sid), in->provider_call_id);
    set_text(p->provider, sizeof(p->provider), in->provider);
    set_text(p->to, sizeof(p->to), in->to);
    set_text(p->from, sizeof(p->from), in->from);
    p->in = (struct calls_inbound){p->provider, p->sid, p->to, p->from, in->at};
    p->call = *call;
    p->ans = *ans;
    return p;
}

void calls_pending_forward(struct calls_pending *p, const char *number)
{
    set_text(p->ans.forward_to, sizeof(p->ans.forward_to), number);
    set_text(p->call.forwarded_to, sizeof(p->call.forwarded_to), number);
}

struct calls_pending *calls_pending_update(struct app *app, int64_t account_id, int64_t call_id,
                                           const struct call_report *u, int64_t now)
{
    struct calls_pending *p = xcalloc(1, sizeof(*p));
    p->app = app;
    set_text(p->status, sizeof(p->status), u->status);
    p->upd = (struct calls_update_state){
        .account_id = account_id, .call_id = call_id, .status = *u, .now = now};
    p->upd.status.status = u->status ? p->status : NULL;
    return p;
}

void calls_pending_commit(struct calls_pending *p, calls_done_fn done, void *arg)
{
    p->done = done;
    p->arg = arg;
    p->job.apply = pending_apply;
    p->job.done = pending_done;
    writer_submit(p->app->writer, &p->job);
}

int calls_pending_result(const struct calls_pending *p)
{
    return p->rc;
}

bool calls_pending_raced(const struct calls_pending *p)
{
    return p->raced;
}

const struct calls_answer *calls_pending_answer(const struct calls_pending *p)
{
    return &p->ans;
}

bool calls_pending_events(const struct calls_pending *p)
{
    return p->rc == ERR_OK && (!p->voice || p->inserted) && p->app->stream &&
           stream_listeners(p->app->stream);
}

void calls_pending_publish(struct calls_pending *p)
{
    if (p->voice)
        calls_publish_inserted(p->app, &p->call);
    else
        calls_publish_updated(p->app, &p->upd);
    calls_pending_free(p);
}

void calls_pending_free(struct calls_pending *p)
{
    free(p);
}

/* ==== reads of the webhook path =============================================================== */

int calls_account(struct app *app, int64_t account_id, struct st_account *a)
{
    return store_account_by_id(app->store, account_id, a);
}

int calls_provider_cred_get(struct app *app, int64_t account_id, const char *provider,
                            struct st_provider_cred *c)
{
    return store_provider_cred_get(app->store, account_id, provider, c);
}

int calls_provider_cred_find(struct app *app, const char *provider, const char *account_sid,
                             store_provider_cred_fn fn, void *ctx)
{
    return store_provider_cred_find(app->store, provider, account_sid, fn, ctx);
}

int calls_by_provider(struct app *app, const char *provider, const char *provider_call_id,
                      struct st_call *c)
{
    return store_call_by_provider(app->store, provider, provider_call_id, c);
}

bool calls_read_begin(struct app *app)
{
    return store_read_begin(app->store) == ERR_OK;
}

void calls_read_end(struct app *app, bool began)
{
    if (began)
        store_read_end(app->store);
}
