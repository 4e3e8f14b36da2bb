/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Numbers bought and released by opendni: see numbers.h. */
#include "base/prelude.h"
#include "app/numbers.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "base/ids.h"
#include "base/json.h"
#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "core/autoscale.h"
#include "core/phone.h"
#include "app/admin.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/metrics.h"
#include "app/outbound.h"
#include "store/store.h"
#include "telephony/numbers.h"
#include "telephony/provider.h"

#define MAX_BUY 20 /* numbers one request may buy */
#define SETTLE_AFTER_MS                                                                            \
    (2 * 60 * 1000) /* a pending intent this old is settled (no node is                            \
                       still buying it: a purchase takes seconds) */
#define JOB_NAME "numbers"
#define TELNYX_API_CRED "telnyx-api" /* account_providers row: connection id + API key */

enum job_kind { JOB_BUY, JOB_RELEASE, JOB_CHECK };

struct job {
    enum job_kind kind;
    struct numbers_buy_req buy;
    struct numbers_release_req rel;
    numbers_done_fn done;
    void *arg;
    struct job *next;
};

struct numbers {
    struct app *app;
    struct numbers_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    bool stop;
    atomic_bool quiescing; /* the server is stopping: provider calls end at once */
    struct outbound *ob;   /* the thread's */
    char node[48];         /* this process, for job claims */
};

/* ==== helpers =================================================================================
 */

static int fail(struct numbers_result *r, int rc, const char *field, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static int fail(struct numbers_result *r, int rc, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    snprintf(r->field, sizeof(r->field), "%s", field ? field : "");
    r->rc = rc;
    return rc;
}

static int64_t month_start(int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return (int64_t)timegm(&tm) * 1000;
}

/* The provider's name for a number's credentials row. */
static const char *cred_row(const char *provider)
{
    return strcmp(provider, "telnyx") == 0 ? TELNYX_API_CRED : provider;
}

/* What a purchase or release works with. */
struct ctx {
    struct numbers *n;
    struct st_pool pool;
    struct st_numcfg cfg;
    const struct tel_provider *tp;
    struct st_provider_cred cred;
    bool has_cred;
    char base_url[256];
    char voice_url[512];
    char status_url[512];
    struct tel_api_cred api;
    struct tel_hooks hooks;
    json_t *actions; /* what was logged, for the answer */
};

static void ctx_release(struct ctx *c)
{
    json_decref(c->actions);
    memset(&c->cred, 0, sizeof(c->cred));
}

static void bump(struct numbers *n, const char *name, const char *help)
{
    metrics_count(n->app->metrics, name, help, 1);
}

/* Logs an action in the pool's log (and the process log) and in the answer. */
static void act(struct ctx *c, const char *action, const char *number, bool dry_run, bool ok,
                int64_t intent_id, const char *fmt, ...) PRINTF_LIKE(7, 8);
static void act(struct ctx *c, const char *action, const char *number, bool dry_run, bool ok,
                int64_t intent_id, const char *fmt, ...)
{
    struct st_number_action a = {.account_id = c->pool.account_id,
                                 .pool_id = c->pool.id,
                                 .at = time_now_ms(),
                                 .dry_run = dry_run,
                                 .ok = ok,
                                 .intent_id = intent_id};
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.number, sizeof(a.number), "%s", number ? number : "");
    snprintf(a.provider, sizeof(a.provider), "%s", c->tp ? c->tp->name : c->cfg.provider);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
    va_end(ap);
    int rc = store_number_action_add(c->n->app->store, &a);
    char masked[PHONE_E164_MAX + 8];
    log_mask(a.number, masked, sizeof(masked));
    if (ok)
        log_info("numbers", "pool %s: %s%s %s: %s", c->pool.ext_id, dry_run ? "(dry run) " : "",
                 action, masked, a.detail);
    else
        log_warn("numbers", "pool %s: %s%s %s failed: %s", c->pool.ext_id,
                 dry_run ? "(dry run) " : "", action, masked, a.detail);
    if (rc)
        log_error("numbers", "pool %s: cannot write the number log (%s)", c->pool.ext_id,
                  err_str(rc));
    if (!c->actions)
        c->actions = json_array();
    json_array_append_new(c->actions,
                          json_pack("{s:s,s:o,s:b,s:b,s:s,s:o}", "action", a.action, "number",
                                    json_str_or_null(a.number), "dry_run", a.dry_run, "ok", a.ok,
                                    "detail", a.detail, "at", json_time(a.at)));
}

/* Loads the pool (the account's), the account's number settings, its provider and credentials.
 * need_cred: a provider call follows. */
static int ctx_load(struct numbers *n, struct ctx *c, int64_t account_id, const char *pool,
                    int64_t pool_id, bool need_cred, struct numbers_result *r)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    struct store *s = n->app->store;
    int rc = pool ? store_pool_get(s, account_id, pool, &c->pool)
                  : store_pool_by_id(s, account_id, pool_id, &c->pool);
    if (rc == ERR_OK && c->pool.account_id != account_id)
        rc = ERR_NOTFOUND;
    if (rc)
        return fail(r, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL, "no pool '%s'",
                    pool ? pool : "");
    rc = store_numcfg_get(s, account_id, &c->cfg);
    if (rc == ERR_NOTFOUND)
        return fail(r, ERR_CONFLICT, "provider",
                    "the account has no number settings: PUT /v1/number-settings first");
    if (rc)
        return fail(r, ERR_BACKEND, NULL, "cannot read the number settings");
    c->tp = tel_provider_by_name(c->cfg.provider);
    if (!c->tp || !c->tp->numbers)
        return fail(r, ERR_CONFLICT, "provider", "opendni cannot buy numbers from '%s'",
                    c->cfg.provider);
    const char *test_url = testhooks_provider_api(c->tp->name);
    snprintf(c->base_url, sizeof(c->base_url), "%s",
             test_url ? test_url : c->tp->numbers->base_url);
    snprintf(c->voice_url, sizeof(c->voice_url), "%s%s", n->app->public_url,
             c->tp->paths[TEL_HOOK_VOICE]);
    snprintf(c->status_url, sizeof(c->status_url), "%s%s", n->app->public_url,
             c->tp->paths[TEL_HOOK_STATUS]);
    c->hooks = (struct tel_hooks){.voice_url = c->voice_url, .status_url = c->status_url};
    rc = store_provider_cred_get(s, account_id, cred_row(c->tp->name), &c->cred);
    c->has_cred = rc == ERR_OK && c->cred.secret[0] && c->cred.account_sid[0];
    if (!c->has_cred && need_cred)
        return fail(r, ERR_CONFLICT, "provider",
                    rc == ERR_UNSUPPORTED
                        ? "the provider credentials cannot be opened (secrets key)"
                    : strcmp(c->tp->name, "telnyx") == 0
                        ? "no Telnyx API key and connection id: PUT /v1/number-settings with "
                          "telnyx_api_key and telnyx_connection_id"
                        : "no Twilio account SID and auth token: opendni account set "
                          "--twilio-account-sid --twilio-auth-token");
    c->api = (struct tel_api_cred){
        .base_url = c->base_url, .account = c->cred.account_sid, .secret = c->cred.secret};
    return ERR_OK;
}

/* ==== provider calls (on the service thread) ==================================================
 */

struct call {
    bool done;
    int status;
    char error[256];
    char *body;
};

static void call_done(void *arg, const struct outbound_result *r)
{
    struct call *cl = arg;
    cl->status = r->status;
    snprintf(cl->error, sizeof(cl->error), "%s", r->error);
    cl->body = xstrdup(r->body ? r->body : "");
    cl->done = true;
}

/* Sends q and waits for the answer. cl->status 0: nothing came back (cl->error says why). */
static struct outbound *new_outbound(const struct numbers *n)
{
    return outbound_new(&(struct outbound_config){.allow_private = n->cfg.allow_private,
                                                  .ca_file = testhooks_outbound_ca(),
                                                  .connect_ms = 5000,
                                                  .timeout_ms = 20000,
                                                  .user_agent = "opendni"});
}

static void api_call(struct numbers *n, const struct tel_api_req *q, struct call *cl)
{
    memset(cl, 0, sizeof(*cl));
    if (atomic_load(&n->quiescing)) {
        snprintf(cl->error, sizeof(cl->error), "the server is stopping");
        cl->body = xstrdup("");
        return;
    }
    const char *headers[3];
    size_t k = 0;
    char ct[80];
    headers[k++] = "Accept: application/json";
    if (q->body[0] && q->content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", q->content_type);
        headers[k++] = ct;
    }
    if (q->auth_header[0])
        headers[k++] = q->auth_header;
    int rc = outbound_request(n->ob, q->method, q->url, headers, k, q->body[0] ? q->body : NULL,
                              strlen(q->body), q->userpwd[0] ? q->userpwd : NULL, call_done, cl);
    if (rc) {
        snprintf(cl->error, sizeof(cl->error), "refused: %s (the provider API must be https://)",
                 err_str(rc));
        cl->body = xstrdup("");
        cl->done = true;
    }
    while (!cl->done) {
        outbound_run(n->ob, 200);
        if (!cl->done && atomic_load(&n->quiescing)) {
            /* Abandon what is in flight (no callback follows): a purchase left pending is
             * settled after the restart. */
            outbound_free(n->ob);
            n->ob = new_outbound(n);
            snprintf(cl->error, sizeof(cl->error), "the server is stopping");
            cl->body = xstrdup("");
            cl->done = true;
        }
    }
}

static void call_free(struct call *cl)
{
    free(cl->body);
    cl->body = NULL;
}

static bool ok2xx(const struct call *cl)
{
    return cl->status >= 200 && cl->status < 300;
}

/* "HTTP 500" or the transport error, for the log. */
static const char *what(const struct call *cl, char *buf, size_t cap)
{
    if (cl->status)
        snprintf(buf, cap, "HTTP %d", cl->status);
    else
        snprintf(buf, cap, "%s", cl->error);
    return buf;
}

/* Asks the provider for the number it sold under key. ERR_OK (out), ERR_NOTFOUND (it sold
 * none), else undecided (ERR_UNAVAILABLE). */
static int find_owned(struct ctx *c, const char *key, const char *number, struct tel_owned *out)
{
    struct tel_api_req q;
    if (c->tp->numbers->find(&c->api, key, key ? NULL : number, &q))
        return ERR_INVALID;
    struct call cl;
    api_call(c->n, &q, &cl);
    int rc = ok2xx(&cl) ? c->tp->numbers->parse_find(cl.body, out) : ERR_UNAVAILABLE;
    if (rc == ERR_INVALID)
        rc = ERR_UNAVAILABLE;
    call_free(&cl);
    return rc;
}

/* Points the number's voice webhook at opendni. */
static bool configure(struct ctx *c, const struct tel_owned *o, int64_t intent_id)
{
    struct tel_api_req q[2];
    size_t nq = 0;
    if (c->tp->numbers->configure(&c->api, o, &c->hooks, q, &nq)) {
        act(c, "configure", o->number, false, false, intent_id, "cannot build the request");
        return false;
    }
    for (size_t i = 0; i < nq; i++) {
        struct call cl;
        api_call(c->n, &q[i], &cl);
        char w[300];
        bool ok = ok2xx(&cl);
        if (!ok)
            act(c, "configure", o->number, false, false, intent_id, "%s %s: %s", q[i].method,
                strstr(q[i].url, "/v2/") ? strstr(q[i].url, "/v2/") : "IncomingPhoneNumbers",
                what(&cl, w, sizeof(w)));
        call_free(&cl);
        if (!ok)
            return false;
    }
    act(c, "configure", o->number, false, true, intent_id, "voice webhook %s", c->voice_url);
    return true;
}

/* Records a bought number in the pool and its intent as bought. */
static int record(struct ctx *c, struct st_intent *in, const struct tel_owned *o, json_t *bought)
{
    struct app *app = c->n->app;
    int64_t now = time_now_ms();
    struct st_number num;
    int rc = store_number_by_e164(app->store, o->number, &num);
    if (rc == ERR_OK && (num.account_id != c->pool.account_id || num.pool_id != c->pool.id)) {
        act(c, "buy", o->number, false, false, in->id,
            "bought, but the number is already another pool's in opendni: not recorded");
        rc = ERR_CONFLICT;
    } else if (rc == ERR_NOTFOUND) {
        memset(&num, 0, sizeof(num));
        num.account_id = c->pool.account_id;
        num.pool_id = c->pool.id;
        snprintf(num.number, sizeof(num.number), "%s", o->number);
        struct errbuf eb = {{0}, NULL};
        rc = admin_number_create(app, &num, now, &eb);
    }
    in->state = rc == ERR_OK ? ST_INTENT_BOUGHT : in->state;
    in->number_id = rc == ERR_OK ? num.id : 0;
    snprintf(in->number, sizeof(in->number), "%s", o->number);
    snprintf(in->provider_ref, sizeof(in->provider_ref), "%s", o->ref);
    in->updated_at = now;
    int urc = store_intent_update(app->store, in);
    if (rc == ERR_OK && urc == ERR_OK) {
        act(c, "record", o->number, false, true, in->id, "number %s joined the pool (%s)",
            num.ext_id, o->ref);
        bump(c->n, "opendni_numbers_bought_total", "Numbers bought through the provider");
        if (bought)
            json_array_append_new(bought, json_pack("{s:s,s:s,s:s}", "id", num.ext_id, "number",
                                                    num.number, "provider_ref", o->ref));
    }
    return rc ? rc : urc;
}

/* Finishes a purchase the provider made (o): the number's id where the answer lacked it, its
 * webhook, the record. */
static int settle_bought(struct ctx *c, struct st_intent *in, struct tel_owned *o, json_t *bought)
{
    if (!o->ref[0]) {
        struct tel_owned f;
        if (find_owned(c, NULL, o->number, &f) == ERR_OK)
            *o = f;
    }
    configure(c, o, in->id);
    return record(c, in, o, bought);
}

static void intent_failed(struct ctx *c, struct st_intent *in)
{
    in->state = ST_INTENT_FAILED;
    in->updated_at = time_now_ms();
    store_intent_update(c->n->app->store, in);
}

/* One purchase in a claimed intent: search, buy, settle. ERR_OK when a number was bought. */
static int buy_one(struct ctx *c, struct st_intent *in, const struct tel_search *sq, json_t *bought)
{
    struct app *app = c->n->app;
    const struct tel_numbers *tn = c->tp->numbers;
    struct tel_api_req q;
    if (tn->search(&c->api, sq, &q)) {
        intent_failed(c, in);
        act(c, "search", NULL, false, false, in->id, "cannot build the search");
        return ERR_INVALID;
    }
    struct call cl;
    api_call(c->n, &q, &cl);
    struct tel_available av[10];
    size_t nav = 0;
    char w[300];
    if (!ok2xx(&cl) || tn->parse_search(cl.body, av, ARRAY_SIZE(av), &nav)) {
        act(c, "search", NULL, false, false, in->id, "%s", what(&cl, w, sizeof(w)));
        call_free(&cl);
        intent_failed(c, in);
        return ERR_UNAVAILABLE;
    }
    call_free(&cl);
    /* The first one opendni does not have, nor another pending purchase has chosen (the
     * store refuses a number two pending intents would share: two nodes searching at once). */
    const char *pick = NULL;
    int urc = ERR_OK;
    for (size_t i = 0; i < nav && !pick; i++) {
        struct st_number ex;
        if (store_number_by_e164(app->store, av[i].number, &ex) != ERR_NOTFOUND)
            continue;
        snprintf(in->number, sizeof(in->number), "%.*s", (int)sizeof(in->number) - 1, av[i].number);
        in->updated_at = time_now_ms();
        urc = store_intent_update(app->store, in);
        if (urc == ERR_OK)
            pick = av[i].number;
        else if (urc != ERR_CONFLICT)
            break;
    }
    const char *where = sq->area_code && *sq->area_code ? sq->area_code
                        : sq->region                    ? sq->region
                                                        : "";
    act(c, "search", pick, false, nav > 0, in->id, "%zu available (%s %s)", nav,
        sq->area_code && *sq->area_code ? "area code" : "region", where);
    if (!pick) {
        in->number[0] = '\0';
        intent_failed(c, in);
        return urc && urc != ERR_CONFLICT ? ERR_BACKEND : ERR_NOTFOUND;
    }
    if (tn->buy(&c->api, pick, in->key, &c->hooks, &q)) {
        intent_failed(c, in);
        return ERR_INVALID;
    }
    api_call(c->n, &q, &cl);
    struct tel_owned o;
    bool sold = ok2xx(&cl) && tn->parse_buy(cl.body, &o) == ERR_OK;
    if (testhooks_fault(TESTHOOK_NUMBER_CRASH) && sold) {
        log_warn("numbers", "test fault number_crash: killed between the purchase and its record");
        raise(SIGKILL);
    }
    if (!sold) {
        /* The provider may have sold it anyway (an error after the sale, a lost answer): ask
         * for what it sold under the key before deciding. */
        act(c, "buy", pick, false, false, in->id, "%s; asking the provider what it sold",
            what(&cl, w, sizeof(w)));
        call_free(&cl);
        int frc = find_owned(c, in->key, NULL, &o);
        if (frc == ERR_NOTFOUND) {
            intent_failed(c, in);
            act(c, "reconcile", pick, false, true, in->id, "the provider sold nothing: no number");
            return ERR_UNAVAILABLE;
        }
        if (frc != ERR_OK) {
            act(c, "reconcile", pick, false, false, in->id,
                "undecided: the purchase stays pending and is settled later");
            return ERR_UNAVAILABLE;
        }
        act(c, "reconcile", o.number, false, true, in->id, "the provider sold it (%s)", o.ref);
    } else {
        call_free(&cl);
        act(c, "buy", o.number, false, true, in->id, "bought%s%s", o.ref[0] ? " " : "", o.ref);
    }
    return settle_bought(c, in, &o, bought);
}

/* The area code to search: asked, else autoscale's, else the pool target's (NANP). */
static void search_for(struct ctx *c, const char *area_code, const char *region, char *ac,
                       size_t ac_cap, char *rg, size_t rg_cap)
{
    snprintf(ac, ac_cap, "%s", area_code ? area_code : "");
    snprintf(rg, rg_cap, "%s", region ? region : "");
    if (ac[0] || rg[0])
        return;
    struct st_autoscale as;
    if (store_autoscale_get(c->n->app->store, c->pool.account_id, c->pool.id, &as) == ERR_OK &&
        (as.area_code[0] || as.region[0])) {
        snprintf(ac, ac_cap, "%s", as.area_code);
        snprintf(rg, rg_cap, "%s", as.region);
        return;
    }
    if (strncmp(c->pool.target, "+1", 2) == 0 && strlen(c->pool.target) == 12)
        snprintf(ac, ac_cap, "%.3s", c->pool.target + 2);
}

static int64_t pending_of(struct store *s, int64_t account_id, int64_t pool_id);

/* Buys count numbers for c's pool (the pool then has at most its size + count); spend cap
 * first. trigger: "api" or "autoscale". */
static int buy_numbers(struct ctx *c, int64_t count, const char *area_code, const char *region,
                       bool dry_run, const char *trigger, struct numbers_result *r)
{
    struct app *app = c->n->app;
    int64_t now = time_now_ms();
    int64_t held = 0;
    if (store_intent_spend(app->store, c->pool.account_id, month_start(now), &held))
        return fail(r, ERR_BACKEND, NULL, "cannot read this month's spend");
    int64_t after = (held + count) * c->cfg.number_cost;
    char ac[8], rg[8];
    search_for(c, area_code, region, ac, sizeof(ac), rg, sizeof(rg));
    if (after > c->cfg.monthly_cap) {
        if (!dry_run)
            bump(c->n, "opendni_numbers_refused_total",
                 "Purchases refused by the monthly spend cap");
        act(c, "refuse", NULL, dry_run, false, 0,
            "%s: %" PRId64 " more numbers would make this month's spend %" PRId64
            ", past the cap of %" PRId64,
            trigger, count, after, c->cfg.monthly_cap);
        return fail(r, ERR_CONFLICT, "count",
                    "spend cap: %" PRId64 " more numbers at %" PRId64 " a month would make this "
                    "month's spend %" PRId64 ", past the monthly cap of %" PRId64,
                    count, c->cfg.number_cost, after, c->cfg.monthly_cap);
    }
    struct pool_stats st;
    if (admin_pool_stats(app, &c->pool, now, &st) != ERR_OK)
        return fail(r, ERR_BACKEND, NULL, "cannot read the pool's size");
    int64_t size = st.size;
    int64_t pending = pending_of(app->store, c->pool.account_id, c->pool.id);
    r->body = json_pack("{s:s,s:b,s:s,s:I,s:o,s:o,s:I,s:I,s:[]}", "pool", c->pool.ext_id, "dry_run",
                        dry_run, "provider", c->tp->name, "count", (json_int_t)count, "area_code",
                        json_str_or_null(ac), "region", json_str_or_null(rg), "spend_after",
                        (json_int_t)after, "monthly_cap", (json_int_t)c->cfg.monthly_cap, "bought");
    if (dry_run) {
        act(c, "buy", NULL, true, true, 0,
            "%s: would search %s %s and buy %" PRId64 " from %s (spend %" PRId64 " of %" PRId64
            ")%s",
            trigger, ac[0] ? "area code" : "region", ac[0] ? ac : rg, count, c->tp->name, after,
            c->cfg.monthly_cap, c->has_cred ? "" : "; no provider credentials stored");
        r->status = 200;
        return ERR_OK;
    }
    json_t *bought = json_object_get(r->body, "bought");
    struct tel_search sq = {.country = c->cfg.country[0] ? c->cfg.country : "US",
                            .area_code = ac,
                            .region = rg,
                            .limit = 10};
    int rc = ERR_OK;
    for (int64_t i = 0; i < count; i++) {
        struct st_intent in;
        char key[STORE_ID_MAX];
        id_new("ni_", 24, key, sizeof(key));
        /* The slot this request may fill is counted from the purchases pending when it read
         * them; another request (or node) that claimed in between takes that slot, so the count
         * is read again: each request adds its own numbers, never the same one twice. */
        for (int tries = 0; tries < 3; tries++) {
            if (tries)
                pending = pending_of(app->store, c->pool.account_id, c->pool.id);
            rc = store_begin(app->store);
            if (rc == ERR_OK) {
                rc = store_intent_claim(app->store, c->pool.account_id, c->pool.id,
                                        size + pending + count, key, c->tp->name, time_now_ms(),
                                        &in);
                if (rc == ERR_OK)
                    rc = store_commit(app->store);
                else
                    store_rollback(app->store);
            }
            if (rc != ERR_CONFLICT)
                break;
        }
        if (rc == ERR_CONFLICT) {
            act(c, "buy", NULL, false, false, 0,
                "%s: the pool's next slot is being bought already (another request or node)",
                trigger);
            break;
        }
        if (rc) {
            act(c, "buy", NULL, false, false, 0, "%s: cannot claim the purchase (%s)", trigger,
                err_str(rc));
            break;
        }
        rc = buy_one(c, &in, &sq, bought);
        if (rc)
            break;
    }
    size_t got = json_array_size(bought);
    r->status = 201;
    if (got == 0 && count > 0)
        return fail(r, rc == ERR_CONFLICT ? ERR_CONFLICT : ERR_UNAVAILABLE, NULL,
                    "no number was bought: see GET /v1/pools/%s/number-actions", c->pool.ext_id);
    return ERR_OK;
}

static int count_pending(void *ctx, const struct st_intent *i)
{
    (void)i;
    (*(int64_t *)ctx)++;
    return 0;
}

static int64_t pending_of(struct store *s, int64_t account_id, int64_t pool_id)
{
    int64_t n = 0;
    store_intent_list(s, account_id, pool_id, ST_INTENT_PENDING, count_pending, &n);
    return n;
}

/* ==== releases ================================================================================
 */

struct find_intent {
    int64_t number_id;
    const char *number;
    struct st_intent found;
    bool ok;
};

static int on_find_intent(void *ctx, const struct st_intent *i)
{
    struct find_intent *f = ctx;
    if ((f->number_id && i->number_id == f->number_id) ||
        (f->number && strcmp(i->number, f->number) == 0)) {
        f->found = *i;
        f->ok = true;
        return 1;
    }
    return 0;
}

/* Releases at the provider the number of a bought intent already out of the pool. */
static int release_at_provider(struct ctx *c, struct st_intent *in)
{
    struct tel_owned o = {0};
    snprintf(o.number, sizeof(o.number), "%s", in->number);
    snprintf(o.ref, sizeof(o.ref), "%s", in->provider_ref);
    if (!o.ref[0] && find_owned(c, NULL, in->number, &o) != ERR_OK) {
        act(c, "release", in->number, false, false, in->id,
            "the provider's id of the number is unknown; retried later");
        return ERR_UNAVAILABLE;
    }
    struct tel_api_req q;
    if (c->tp->numbers->release(&c->api, &o, &q))
        return ERR_INVALID;
    struct call cl;
    api_call(c->n, &q, &cl);
    bool ok = ok2xx(&cl) || cl.status == 404; /* 404: not the account's any more */
    char w[300];
    what(&cl, w, sizeof(w));
    call_free(&cl);
    if (!ok) {
        act(c, "release", in->number, false, false, in->id, "%s; retried later", w);
        return ERR_UNAVAILABLE;
    }
    in->state = ST_INTENT_RELEASED;
    in->released_at = in->updated_at = time_now_ms();
    store_intent_update(c->n->app->store, in);
    act(c, "release", in->number, false, true, in->id, "released at %s (%s)", c->tp->name, w);
    bump(c->n, "opendni_numbers_released_total", "Numbers released at the provider");
    return ERR_OK;
}

/* One number's usage (store_number_usage walks the pool's). */
struct usage_one {
    int64_t id;
    struct st_number_usage *u;
};

static int on_usage(void *ctx, const struct st_number_usage *x)
{
    struct usage_one *uo = ctx;
    if (x->number_id == uo->id) {
        *uo->u = *x;
        return 1;
    }
    return 0;
}

/* Takes num out of its pool and releases it (or says what would happen). */
static int release_number(struct ctx *c, const struct st_number *num, const char *trigger,
                          bool dry_run, bool force, struct numbers_result *r)
{
    struct app *app = c->n->app;
    struct find_intent f = {.number_id = num->id};
    store_intent_list(app->store, c->pool.account_id, c->pool.id, ST_INTENT_BOUGHT, on_find_intent,
                      &f);
    if (!f.ok)
        return fail(r, ERR_CONFLICT, "number",
                    "number %s was not bought by opendni: delete it with DELETE /v1/numbers/%s "
                    "and release it at your provider",
                    num->ext_id, num->ext_id);
    int64_t now = time_now_ms();
    struct st_account acct;
    struct calls_settings cs;
    struct errbuf eb = {{0}, NULL};
    if (store_account_by_id(app->store, c->pool.account_id, &acct) != ERR_OK ||
        calls_settings_parse(acct.settings, &cs, &eb) != ERR_OK)
        calls_settings_parse(NULL, &cs, &eb);
    struct st_number_usage u = {0};
    struct usage_one uo = {num->id, &u};
    store_number_usage(app->store, c->pool.account_id, c->pool.id, on_usage, &uo);
    if (u.last_lease_end > now)
        return fail(r, ERR_CONFLICT, "number", "number %s is leased now", num->ext_id);
    if (!force && u.last_call_at && u.last_call_at + cs.window_ms > now)
        return fail(r, ERR_CONFLICT, "number",
                    "number %s received a call within the attribution window: a late call "
                    "would be lost (force=true releases it anyway)",
                    num->ext_id);
    r->body = json_pack("{s:s,s:s,s:b,s:s}", "id", num->ext_id, "number", num->number, "dry_run",
                        dry_run, "provider", c->tp->name);
    r->status = 200;
    if (dry_run) {
        act(c, "release", num->number, true, true, f.found.id, "%s: would release %s at %s",
            trigger, num->ext_id, c->tp->name);
        return ERR_OK;
    }
    int rc = admin_number_delete(app, num, now);
    if (rc)
        return fail(r, rc == ERR_CONFLICT ? ERR_CONFLICT : ERR_BACKEND, "number",
                    "number %s cannot leave its pool now (%s)", num->ext_id, err_str(rc));
    act(c, "release", num->number, false, true, f.found.id, "%s: %s left the pool", trigger,
        num->ext_id);
    rc = release_at_provider(c, &f.found);
    json_object_set_new(r->body, "released", json_boolean(rc == ERR_OK));
    return ERR_OK; /* out of the pool; the provider's release is retried until it succeeds */
}

/* ==== settling and autoscaling ================================================================
 */

struct intents {
    struct st_intent *v;
    size_t n, cap;
};

static int collect_intent(void *ctx, const struct st_intent *i)
{
    struct intents *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *i;
    return l->n >= 4096;
}

/* Pending intents old enough: what did the provider sell under their keys? Bought numbers no
 * longer in a pool: release them at the provider. */
static void settle(struct numbers *n, json_t *report)
{
    struct app *app = n->app;
    int64_t now = time_now_ms();
    struct intents l = {0};
    store_intent_list(app->store, 0, 0, ST_INTENT_PENDING, collect_intent, &l);
    for (size_t i = 0; i < l.n; i++) {
        struct st_intent *in = &l.v[i];
        if (in->updated_at + SETTLE_AFTER_MS > now)
            continue;
        struct ctx c;
        struct numbers_result r = {0};
        if (ctx_load(n, &c, in->account_id, NULL, in->pool_id, true, &r) == ERR_OK) {
            struct tel_owned o;
            int rc = find_owned(&c, in->key, NULL, &o);
            if (rc == ERR_OK) {
                act(&c, "reconcile", o.number, false, true, in->id,
                    "a purchase left pending: the provider sold it (%s), recording it", o.ref);
                settle_bought(&c, in, &o, NULL);
            } else if (rc == ERR_NOTFOUND) {
                act(&c, "reconcile", in->number, false, true, in->id,
                    "a purchase left pending: the provider sold nothing");
                intent_failed(&c, in);
            }
            if (report && c.actions)
                json_array_extend(report, c.actions);
        }
        json_decref(r.body);
        ctx_release(&c);
    }
    l.n = 0;
    store_intent_list(app->store, 0, 0, ST_INTENT_BOUGHT, collect_intent, &l);
    for (size_t i = 0; i < l.n; i++) {
        struct st_intent *in = &l.v[i];
        struct st_number num;
        if (!in->number_id ||
            store_number_by_id(app->store, in->account_id, in->number_id, &num) != ERR_NOTFOUND)
            continue;
        struct ctx c;
        struct numbers_result r = {0};
        if (ctx_load(n, &c, in->account_id, NULL, in->pool_id, true, &r) == ERR_OK)
            release_at_provider(&c, in);
        if (report && c.actions)
            json_array_extend(report, c.actions);
        json_decref(r.body);
        ctx_release(&c);
    }
    free(l.v);
}

struct usage_list {
    struct autoscale_number v[256];
    char ext[256][STORE_ID_MAX];
    size_t n;
    const struct intents *owned;
};

static int collect_usage(void *ctx, const struct st_number_usage *u)
{
    struct usage_list *l = ctx;
    bool owned = false;
    for (size_t i = 0; i < l->owned->n && !owned; i++)
        owned = l->owned->v[i].number_id == u->number_id;
    if (!owned)
        return 0; /* only numbers opendni bought are released */
    l->v[l->n] = (struct autoscale_number){.number_id = u->number_id,
                                           .last_lease_end = u->last_lease_end,
                                           .last_call_at = u->last_call_at,
                                           .added_at = u->created_at};
    snprintf(l->ext[l->n], sizeof(l->ext[0]), "%s", u->ext_id);
    l->n++;
    return l->n >= ARRAY_SIZE(l->v);
}

/* One autoscaled pool's check. */
static void autoscale_pool(struct numbers *n, const struct st_autoscale *as, json_t *report)
{
    struct app *app = n->app;
    int64_t now = time_now_ms();
    struct ctx c;
    struct numbers_result r = {0};
    if (ctx_load(n, &c, as->account_id, NULL, as->pool_id, !as->dry_run, &r) != ERR_OK) {
        if (c.pool.id)
            act(&c, "decide", NULL, as->dry_run, false, 0, "autoscale: %s", r.message);
        json_decref(r.body);
        ctx_release(&c);
        return;
    }
    struct pool_stats st;
    if (admin_pool_stats(app, &c.pool, now, &st) != ERR_OK) {
        ctx_release(&c);
        return;
    }
    struct st_account acct;
    struct calls_settings cs;
    struct errbuf eb = {{0}, NULL};
    if (store_account_by_id(app->store, c.pool.account_id, &acct) != ERR_OK ||
        calls_settings_parse(acct.settings, &cs, &eb) != ERR_OK)
        calls_settings_parse(NULL, &cs, &eb);
    int64_t held = 0;
    store_intent_spend(app->store, c.pool.account_id, month_start(now), &held);
    struct autoscale_cfg cfg = {.min_size = as->min_size,
                                .max_size = as->max_size,
                                .cooldown_ms = c.pool.cooldown_s * 1000,
                                .idle_release_ms = as->idle_release_s * 1000,
                                .window_ms = cs.window_ms};
    int64_t seen = as->seen_exhaustion > (int64_t)st.exhaustion_events ? 0 : as->seen_exhaustion;
    struct autoscale_pool ap = {
        .size = st.size,
        .pending = pending_of(app->store, c.pool.account_id, c.pool.id),
        .new_exhaustion = (int64_t)st.exhaustion_events - seen,
        .recommended_size = st.recommended_size,
        .affordable = c.cfg.number_cost > 0 ? c.cfg.monthly_cap / c.cfg.number_cost - held
                                            : (c.cfg.monthly_cap >= 0 ? AUTOSCALE_MAX_ADD : 0)};
    struct intents owned = {0};
    store_intent_list(app->store, c.pool.account_id, c.pool.id, ST_INTENT_BOUGHT, collect_intent,
                      &owned);
    struct usage_list *ul = xcalloc(1, sizeof(*ul));
    ul->owned = &owned;
    store_number_usage(app->store, c.pool.account_id, c.pool.id, collect_usage, ul);
    struct autoscale_plan plan;
    autoscale_decide(&cfg, &ap, ul->v, ul->n, now, &plan);
    /* The observation is kept whatever follows, so one exhaustion is acted on once. */
    struct st_autoscale upd = *as;
    upd.seen_exhaustion = (int64_t)st.exhaustion_events;
    upd.checked_at = now;
    /* A decision the same as the last check's, with no new exhaustion, is not logged again (a
     * dry run, or a cap that keeps refusing, would log one line per pool each interval). */
    snprintf(upd.last_decision, sizeof(upd.last_decision), "%s:%s:%" PRId64 ":%zu:%d",
             as->dry_run ? "dry" : "real", autoscale_why_str(plan.why), plan.add, plan.n_release,
             (int)plan.capped);
    bool repeat = ap.new_exhaustion == 0 && strcmp(upd.last_decision, as->last_decision) == 0;
    store_autoscale_put(app->store, &upd);
    if (repeat && as->dry_run) {
        plan.add = 0; /* nothing would change: what it would do is logged already */
        plan.n_release = 0;
    }
    if ((plan.why != AUTOSCALE_STEADY || plan.capped) && !repeat)
        act(&c, "decide", NULL, as->dry_run, true, 0,
            "autoscale %s: size %" PRId64 " (+%" PRId64 " pending), %" PRId64
            " new exhaustion events, recommended %" PRId64 ": add %" PRId64 "%s, release %zu",
            autoscale_why_str(plan.why), ap.size, ap.pending, ap.new_exhaustion,
            ap.recommended_size, plan.add, plan.capped ? " (spend cap)" : "", plan.n_release);
    if (plan.capped && plan.add < plan.wanted && !as->dry_run)
        bump(n, "opendni_numbers_refused_total", "Purchases refused by the monthly spend cap");
    if (plan.capped && plan.add < plan.wanted && !repeat)
        act(&c, "refuse", NULL, as->dry_run, false, 0,
            "autoscale: %" PRId64 " numbers wanted, the monthly spend cap of %" PRId64
            " allows %" PRId64,
            plan.wanted, c.cfg.monthly_cap, plan.add);
    if (plan.add > 0) {
        struct numbers_result br = {0};
        buy_numbers(&c, plan.add, as->area_code, as->region, as->dry_run, "autoscale", &br);
        json_decref(br.body);
    }
    for (size_t i = 0; i < plan.n_release; i++) {
        struct st_number num;
        if (store_number_by_id(app->store, c.pool.account_id, plan.release[i], &num) != ERR_OK)
            continue;
        struct numbers_result rr = {0};
        release_number(&c, &num, "autoscale", as->dry_run, false, &rr);
        json_decref(rr.body);
    }
    if (report)
        json_array_append_new(
            report, json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:o}", "pool", c.pool.ext_id, "decision",
                              autoscale_why_str(plan.why), "dry_run", as->dry_run, "add",
                              (json_int_t)plan.add, "release", (json_int_t)plan.n_release, "size",
                              (json_int_t)ap.size, "actions",
                              c.actions ? json_incref(c.actions) : json_array()));
    free(ul);
    free(owned.v);
    ctx_release(&c);
}

struct as_list {
    struct st_autoscale *v;
    size_t n, cap;
};

static int collect_as(void *ctx, const struct st_autoscale *a)
{
    struct as_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *a;
    return 0;
}

/* The periodic work, if this node holds the job's claim. */
static int check(struct numbers *n, bool forced, json_t *report)
{
    int64_t now = time_now_ms();
    bool got = false;
    int64_t hold = n->cfg.interval_ms > 0 ? 2 * n->cfg.interval_ms : 120000;
    if (store_job_claim(n->app->store, JOB_NAME, n->node, now, now + hold, &got) != ERR_OK)
        return ERR_BACKEND;
    (void)forced;
    if (!got)
        return ERR_CONFLICT; /* another node holds the claim: it runs the work */
    json_t *settled = json_array();
    settle(n, settled);
    struct as_list l = {0};
    store_autoscale_list(n->app->store, collect_as, &l);
    json_t *pools = json_array();
    for (size_t i = 0; i < l.n; i++)
        autoscale_pool(n, &l.v[i], pools);
    free(l.v);
    if (report) {
        json_object_set_new(report, "settled", settled);
        json_object_set_new(report, "pools", pools);
    } else {
        json_decref(settled);
        json_decref(pools);
    }
    return ERR_OK;
}

/* ==== the service thread ======================================================================
 */

static void run_job(struct numbers *n, struct job *j)
{
    struct numbers_result r = {.status = 200};
    struct ctx c;
    memset(&c, 0, sizeof(c));
    if (j->kind == JOB_BUY) {
        if (ctx_load(n, &c, j->buy.account_id, j->buy.pool, 0, !j->buy.dry_run, &r) == ERR_OK)
            buy_numbers(&c, j->buy.count, j->buy.area_code, j->buy.region, j->buy.dry_run, "api",
                        &r);
    } else if (j->kind == JOB_RELEASE) {
        if (ctx_load(n, &c, j->rel.account_id, j->rel.pool, 0, !j->rel.dry_run, &r) == ERR_OK) {
            struct st_number num;
            int rc = j->rel.number[0] == '+'
                         ? store_number_by_e164(n->app->store, j->rel.number, &num)
                         : store_number_get(n->app->store, j->rel.account_id, j->rel.number, &num);
            if (rc || num.account_id != c.pool.account_id || num.pool_id != c.pool.id)
                fail(&r, ERR_NOTFOUND, "number", "no number '%s' in pool %s", j->rel.number,
                     c.pool.ext_id);
            else
                release_number(&c, &num, "api", j->rel.dry_run, j->rel.force, &r);
        }
    } else {
        r.body = json_object();
        int rc = check(n, true, r.body);
        if (rc == ERR_CONFLICT)
            json_object_set_new(r.body, "ran", json_false());
        else if (rc)
            fail(&r, rc, NULL, "cannot run the number checks");
        else
            json_object_set_new(r.body, "ran", json_true());
    }
    if (r.rc == ERR_OK && r.body && c.actions && j->kind != JOB_CHECK)
        json_object_set(r.body, "actions", c.actions);
    if (r.rc) {
        json_decref(r.body);
        r.body = NULL;
    }
    ctx_release(&c);
    j->done(j->arg, &r);
}

static void *thread_main(void *arg)
{
    struct numbers *n = arg;
    n->ob = new_outbound(n);
    /* The first check after one interval: the server's public URL is known by then. */
    struct timespec next;
    clock_gettime(CLOCK_REALTIME, &next);
    next.tv_sec += n->cfg.interval_ms / 1000;
    next.tv_nsec += (n->cfg.interval_ms % 1000) * 1000000;
    if (next.tv_nsec >= 1000000000) {
        next.tv_sec++;
        next.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        struct job *j = n->head;
        if (j) {
            n->head = j->next;
            if (!n->head)
                n->tail = NULL;
            pthread_mutex_unlock(&n->mu);
            run_job(n, j);
            free(j);
            pthread_mutex_lock(&n->mu);
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        bool due =
            n->cfg.interval_ms > 0 && (now.tv_sec > next.tv_sec ||
                                       (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec));
        if (due) {
            pthread_mutex_unlock(&n->mu);
            check(n, false, NULL);
            pthread_mutex_lock(&n->mu);
            clock_gettime(CLOCK_REALTIME, &next);
            int64_t ms = n->cfg.interval_ms > 0 ? n->cfg.interval_ms : 3600 * 1000;
            next.tv_sec += ms / 1000;
            next.tv_nsec += (ms % 1000) * 1000000;
            if (next.tv_nsec >= 1000000000) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000;
            }
            continue;
        }
        if (n->cfg.interval_ms > 0)
            pthread_cond_timedwait(&n->cv, &n->mu, &next);
        else
            pthread_cond_wait(&n->cv, &n->mu);
    }
    while (n->head) {
        struct job *j = n->head;
        n->head = j->next;
        pthread_mutex_unlock(&n->mu);
        struct numbers_result r = {0};
        fail(&r, ERR_UNAVAILABLE, NULL, "the server is stopping");
        j->done(j->arg, &r);
        free(j);
        pthread_mutex_lock(&n->mu);
    }
    n->tail = NULL;
    pthread_mutex_unlock(&n->mu);
    outbound_free(n->ob);
    n->ob = NULL;
    return NULL;
}

struct numbers *numbers_start(struct app *app, const struct numbers_config *cfg)
{
    struct numbers *n = xcalloc(1, sizeof(*n));
    n->app = app;
    n->cfg = *cfg;
    char host[32] = "";
    gethostname(host, sizeof(host) - 1);
    char id[24];
    id_new("", 12, id, sizeof(id));
    snprintf(n->node, sizeof(n->node), "%.20s-%d-%s", host, (int)getpid(), id);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    if (pthread_create(&n->thread, NULL, thread_main, n) != 0) {
        log_error("numbers", "cannot start the number service thread");
        abort();
    }
    return n;
}

void numbers_quiesce(struct numbers *n)
{
    if (!n)
        return;
    atomic_store(&n->quiescing, true);
    pthread_mutex_lock(&n->mu);
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void numbers_stop(struct numbers *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

static void enqueue(struct numbers *n, struct job *j)
{
    pthread_mutex_lock(&n->mu);
    if (n->stop || atomic_load(&n->quiescing)) {
        pthread_mutex_unlock(&n->mu);
        struct numbers_result r = {0};
        fail(&r, ERR_UNAVAILABLE, NULL, "the server is stopping");
        j->done(j->arg, &r);
        free(j);
        return;
    }
    if (n->tail)
        n->tail->next = j;
    else
        n->head = j;
    n->tail = j;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void numbers_buy(struct numbers *n, const struct numbers_buy_req *q, numbers_done_fn done,
                 void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){.kind = JOB_BUY, .buy = *q, .done = done, .arg = arg};
    enqueue(n, j);
}

void numbers_release(struct numbers *n, const struct numbers_release_req *q, numbers_done_fn done,
                     void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){.kind = JOB_RELEASE, .rel = *q, .done = done, .arg = arg};
    enqueue(n, j);
}

void numbers_check(struct numbers *n, numbers_done_fn done, void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    *j = (struct job){.kind = JOB_CHECK, .done = done, .arg = arg};
    enqueue(n, j);
}

/* ==== settings and the log =====================================================================
 */

static bool digits(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static bool letters(const char *s, size_t min, size_t max)
{
    size_t len = strlen(s);
    if (len < min || len > max)
        return false;
    for (; *s; s++)
        if (!isupper((unsigned char)*s))
            return false;
    return true;
}

int numbers_settings_get(struct app *app, int64_t account_id, json_t **out, struct errbuf *eb)
{
    struct st_numcfg c;
    int rc = store_numcfg_get(app->store, account_id, &c);
    if (rc == ERR_NOTFOUND) {
        memset(&c, 0, sizeof(c));
        snprintf(c.country, sizeof(c.country), "US");
    } else if (rc) {
        return errf(eb, ERR_BACKEND, NULL, "cannot read the number settings");
    }
    int64_t held = 0;
    int64_t now = time_now_ms();
    if (store_intent_spend(app->store, account_id, month_start(now), &held))
        return errf(eb, ERR_BACKEND, NULL, "cannot read this month's spend");
    bool creds = false;
    if (c.provider[0]) {
        struct st_provider_cred pc;
        creds =
            store_provider_cred_get(app->store, account_id, cred_row(c.provider), &pc) == ERR_OK &&
            pc.secret[0] && pc.account_sid[0];
        memset(&pc, 0, sizeof(pc));
    }
    *out = json_pack("{s:o,s:I,s:I,s:s,s:I,s:I,s:b}", "provider", json_str_or_null(c.provider),
                     "monthly_cap", (json_int_t)c.monthly_cap, "number_cost",
                     (json_int_t)c.number_cost, "country", c.country, "numbers_this_month",
                     (json_int_t)held, "spend_this_month", (json_int_t)(held * c.number_cost),
                     "credentials", creds);
    return *out ? ERR_OK : ERR_NOMEM;
}

int numbers_settings_put(struct app *app, int64_t account_id, json_t *body, json_t **out,
                         struct errbuf *eb)
{
    static const char *const keys[] = {"provider", "monthly_cap",    "number_cost",
                                       "country",  "telnyx_api_key", "telnyx_connection_id",
                                       NULL};
    int rc = json_only_keys(body, keys, eb);
    if (rc)
        return rc;
    struct st_numcfg c = {.account_id = account_id, .updated_at = time_now_ms()};
    const char *provider = NULL, *country = "US", *api_key = NULL, *conn = NULL;
    long long cap = 0, cost = 0;
    if ((rc = json_get_str(body, "provider", &provider, eb)) ||
        (rc = json_get_int(body, "monthly_cap", &cap, eb)) ||
        (rc = json_get_int(body, "number_cost", &cost, eb)))
        return rc;
    if (json_object_get(body, "country") && (rc = json_get_str(body, "country", &country, eb)))
        return rc;
    if (json_object_get(body, "telnyx_api_key") &&
        (rc = json_get_str(body, "telnyx_api_key", &api_key, eb)))
        return rc;
    if (json_object_get(body, "telnyx_connection_id") &&
        (rc = json_get_str(body, "telnyx_connection_id", &conn, eb)))
        return rc;
    const struct tel_provider *tp = tel_provider_by_name(provider);
    if (!tp || !tp->numbers)
        return errf(eb, ERR_INVALID, "provider", "provider must be \"twilio\" or \"telnyx\"");
    if (cap < 0 || cap > (1LL << 40))
        return errf(eb, ERR_INVALID, "monthly_cap", "monthly_cap must be 0 or more minor units");
    if (cost <= 0 || cost > (1LL << 32))
        return errf(eb, ERR_INVALID, "number_cost",
                    "number_cost must be the monthly price of a number in minor units, > 0");
    if (!letters(country, 2, 2))
        return errf(eb, ERR_INVALID, "country", "country must be an ISO 3166-1 code, e.g. US");
    if ((api_key || conn) && strcmp(provider, "telnyx") != 0)
        return errf(eb, ERR_INVALID, api_key ? "telnyx_api_key" : "telnyx_connection_id",
                    "Telnyx credentials go with provider \"telnyx\"");
    if (api_key && (!*api_key || strlen(api_key) >= STORE_SECRET_MAX || strpbrk(api_key, "\r\n ")))
        return errf(eb, ERR_INVALID, "telnyx_api_key", "telnyx_api_key must be one token");
    if (conn && (!*conn || strlen(conn) >= 64 || strspn(conn, "0123456789") != strlen(conn)))
        return errf(eb, ERR_INVALID, "telnyx_connection_id",
                    "telnyx_connection_id must be the TeXML application's numeric id");
    snprintf(c.provider, sizeof(c.provider), "%s", provider);
    snprintf(c.country, sizeof(c.country), "%s", country);
    c.monthly_cap = cap;
    c.number_cost = cost;
    rc = store_begin(app->store);
    if (rc == ERR_OK)
        rc = store_numcfg_put(app->store, &c);
    if (rc == ERR_OK && (api_key || conn))
        rc = store_provider_cred_set(app->store, account_id, TELNYX_API_CRED, conn, api_key,
                                     c.updated_at);
    if (rc == ERR_OK)
        rc = store_commit(app->store);
    else
        store_rollback(app->store);
    if (rc == ERR_UNSUPPORTED)
        return errf(eb, ERR_CONFLICT, "telnyx_api_key",
                    "no secrets key: serve needs --secrets-key-file to store the API key");
    if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot write the number settings");
    return numbers_settings_get(app, account_id, out, eb);
}

static json_t *autoscale_json(const struct st_pool *p, const struct st_autoscale *a)
{
    return json_pack("{s:s,s:b,s:b,s:I,s:I,s:o,s:o,s:I,s:o}", "pool", p->ext_id, "enabled",
                     a->enabled, "dry_run", a->dry_run, "min_size", (json_int_t)a->min_size,
                     "max_size", (json_int_t)a->max_size, "area_code",
                     json_str_or_null(a->area_code), "region", json_str_or_null(a->region),
                     "idle_release", (json_int_t)a->idle_release_s, "checked_at",
                     a->checked_at ? json_time(a->checked_at) : json_null());
}

int numbers_autoscale_get(struct app *app, int64_t account_id, const char *pool, json_t **out,
                          struct errbuf *eb)
{
    struct st_pool p;
    int rc = store_pool_get(app->store, account_id, pool, &p);
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL, "no pool '%s'",
                    pool);
    struct st_autoscale a;
    rc = store_autoscale_get(app->store, account_id, p.id, &a);
    if (rc == ERR_NOTFOUND)
        a = (struct st_autoscale){.account_id = account_id, .pool_id = p.id};
    else if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot read the autoscale settings");
    *out = autoscale_json(&p, &a);
    return *out ? ERR_OK : ERR_NOMEM;
}

int numbers_autoscale_put(struct app *app, int64_t account_id, const char *pool, json_t *body,
                          json_t **out, struct errbuf *eb)
{
    static const char *const keys[] = {"enabled",   "dry_run", "min_size",     "max_size",
                                       "area_code", "region",  "idle_release", NULL};
    int rc = json_only_keys(body, keys, eb);
    if (rc)
        return rc;
    struct st_pool p;
    rc = store_pool_get(app->store, account_id, pool, &p);
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL, "no pool '%s'",
                    pool);
    struct st_autoscale a;
    rc = store_autoscale_get(app->store, account_id, p.id, &a);
    if (rc == ERR_NOTFOUND)
        a = (struct st_autoscale){.account_id = account_id, .pool_id = p.id};
    else if (rc)
        return errf(eb, ERR_BACKEND, NULL, "cannot read the autoscale settings");
    bool b;
    long long v;
    const char *s;
    if (json_object_get(body, "enabled")) {
        if ((rc = json_get_bool(body, "enabled", &b, eb)))
            return rc;
        a.enabled = b;
    }
    if (json_object_get(body, "dry_run")) {
        if ((rc = json_get_bool(body, "dry_run", &b, eb)))
            return rc;
        a.dry_run = b;
    }
    if (json_object_get(body, "min_size")) {
        if ((rc = json_get_int(body, "min_size", &v, eb)))
            return rc;
        if (v < 0 || v > 10000)
            return errf(eb, ERR_INVALID, "min_size", "min_size must be 0..10000");
        a.min_size = v;
    }
    if (json_object_get(body, "max_size")) {
        if ((rc = json_get_int(body, "max_size", &v, eb)))
            return rc;
        if (v < 0 || v > 10000)
            return errf(eb, ERR_INVALID, "max_size", "max_size must be 0..10000");
        a.max_size = v;
    }
    if (a.max_size < a.min_size)
        return errf(eb, ERR_INVALID, "max_size", "max_size must be at least min_size");
    if (json_object_get(body, "idle_release")) {
        if ((rc = json_get_int(body, "idle_release", &v, eb)))
            return rc;
        if (v < 0 || v > 366LL * 86400)
            return errf(eb, ERR_INVALID, "idle_release",
                        "idle_release must be 0 (never) to 31622400 seconds");
        a.idle_release_s = v;
    }
    json_t *ac = json_object_get(body, "area_code");
    if (ac) {
        if (json_is_null(ac)) {
            a.area_code[0] = '\0';
        } else {
            if ((rc = json_get_str(body, "area_code", &s, eb)))
                return rc;
            if (!digits(s, 3))
                return errf(eb, ERR_INVALID, "area_code", "area_code must be 3 digits");
            snprintf(a.area_code, sizeof(a.area_code), "%s", s);
        }
    }
    json_t *rg = json_object_get(body, "region");
    if (rg) {
        if (json_is_null(rg)) {
            a.region[0] = '\0';
        } else {
            if ((rc = json_get_str(body, "region", &s, eb)))
                return rc;
            if (!letters(s, 2, 3))
                return errf(eb, ERR_INVALID, "region",
                            "region must be a state or province code, e.g. TX");
            snprintf(a.region, sizeof(a.region), "%s", s);
        }
    }
    a.updated_at = time_now_ms();
    a.last_decision[0] = '\0'; /* new settings: the next decision is logged */
    rc = store_autoscale_put(app->store, &a);
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL,
                    "cannot write the autoscale settings");
    *out = autoscale_json(&p, &a);
    return *out ? ERR_OK : ERR_NOMEM;
}

struct action_list {
    json_t *data;
    int64_t last_id;
    size_t n;
};

static int on_action(void *ctx, const struct st_number_action *a)
{
    struct action_list *l = ctx;
    json_array_append_new(l->data,
                          json_pack("{s:I,s:s,s:o,s:s,s:b,s:b,s:s,s:o}", "id", (json_int_t)a->id,
                                    "action", a->action, "number", json_str_or_null(a->number),
                                    "provider", a->provider, "dry_run", a->dry_run, "ok", a->ok,
                                    "detail", a->detail, "at", json_time(a->at)));
    l->last_id = a->id;
    l->n++;
    return 0;
}

int numbers_actions(struct app *app, int64_t account_id, const char *pool, int64_t before_id,
                    size_t limit, json_t **out, struct errbuf *eb)
{
    struct st_pool p;
    int rc = store_pool_get(app->store, account_id, pool, &p);
    if (rc)
        return errf(eb, rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_BACKEND, NULL, "no pool '%s'",
                    pool);
    struct action_list l = {.data = json_array()};
    rc = store_number_action_list(app->store, account_id, p.id, before_id, limit, on_action, &l);
    if (rc) {
        json_decref(l.data);
        return errf(eb, ERR_BACKEND, NULL, "cannot read the number log");
    }
    *out = json_pack("{s:o,s:o}", "data", l.data, "next",
                     l.n == limit && l.n ? json_integer(l.last_id) : json_null());
    return *out ? ERR_OK : ERR_NOMEM;
}
