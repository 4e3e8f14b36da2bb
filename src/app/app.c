/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Building and tearing down struct app for `opendni serve`. */
#include "base/prelude.h"
#include "app/app.h"

#include "base/hash.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "app/accounts.h"
#include "app/admin.h"
#include "app/fanout.h"
#include "app/guard.h"
#include "app/health.h"
#include "app/metrics.h"
#include "app/offline.h"
#include "app/numbers.h"
#include "app/poolsim.h"
#include "app/recordings.h"
#include "app/auction.h"
#include "app/outbox.h"
#include "app/privacy.h"
#include "app/ratelimit.h"
#include "app/sescache.h"
#include "app/stream.h"
#include "app/traffic.h"
#include "app/users.h"
#include "app/writer.h"
#include "store/store.h"

#define SESSION_CACHE_SLOTS 65536 /* ~4.5 MiB */

_Static_assert(ADMIN_CRED_MAX == STREAM_CRED_MAX, "stream listeners keep admin credentials");

/* The stream's credential re-check (app/stream.h stream_check_fn): a revoked API key ends the
 * streams it opened, whoever revoked it (the CLI, another node). */
static int check_credential(void *ctx, int64_t account_id, const char *cred)
{
    return admin_credential_check(ctx, account_id, cred);
}

int app_init(struct app *app, struct errbuf *eb)
{
    int rc = clientaddr_trust_parse(app->cfg.trust_proxy, &app->trusted, eb);
    if (rc)
        return rc;
    rc = store_open(app->cfg.db, &app->store, eb);
    if (rc)
        return rc;
    rc = store_check(app->store, eb);
    if (rc == ERR_OK)
        rc = store_verify(app->store, false, eb); /* quick_check: refuse to serve a damaged store */
    store_secrets_keys(app->store, app->cfg.secrets_key, NULL);
    if (!app->cfg.secrets_key)
        log_warn("store", "no secrets key: webhooks to accounts with provider secrets fail until "
                          "serve has --secrets-key-file or OPENDNI_SECRETS_KEY");
    if (rc == ERR_OK)
        rc = store_serve_begin(app->store, time_now_ms(), eb);
    if (rc) {
        store_close(app->store);
        app->store = NULL;
        return rc;
    }
    app->metrics = metrics_new();
    app->accounts = accounts_new(app->store);
    app->visit_limit = ratelimit_new(app->cfg.rate_limit_visits);
    app->session_limit = ratelimit_new(app->cfg.max_new_sessions);
    app->bad_signature_limit = ratelimit_new(app->cfg.rate_limit_bad_signatures);
    app->writer = writer_start(app->store);
    app->stream = stream_new();
    stream_set_check(app->stream, check_credential, app, STREAM_RECHECK_MS);
    app->sessions = sescache_new(SESSION_CACHE_SLOTS);
    struct guard_config gc = {.new_per_min = app->cfg.client_new_sessions,
                              .share_pct = app->cfg.client_share,
                              .max_numbers = app->cfg.client_max_numbers,
                              .flood_s = app->cfg.flood_hold};
    app->guard = guard_new(&gc);
    app->health = health_new();
    app->login_addr_limit = ratelimit_new(USERS_LOGIN_PER_ADDR);
    app->login_email_limit = ratelimit_new(USERS_LOGIN_PER_EMAIL);
    struct outbox_config oc = {.allow_private = app->cfg.outbound_allow_private,
                               .smtp_url = app->cfg.smtp_url,
                               .smtp_from = app->cfg.smtp_from};
    app->traffic = traffic_new();
    app->outbox = outbox_start(app, &oc);
    app->purger = privacy_start(app);
    char node[32];
    id_new("node_", 20, node, sizeof(node)); /* 100 random bits */
    app->node_id = hash_str(node);
    app->fanout = fanout_start(app);
    rc = offline_start(app, app->cfg.spool_dir, &app->offline, eb);
    if (rc) {
        app_release(app);
        return rc;
    }
    struct numbers_config nc = {.allow_private = app->cfg.outbound_allow_private,
                                .interval_ms = app->cfg.autoscale_interval_s * 1000};
    app->numbers = numbers_start(app, &nc);
    app->auctions =
        auctions_start(&(struct auctions_config){.allow_private = app->cfg.outbound_allow_private});
    app->poolsim = poolsim_start(app);
    app->recordings = recordings_start(app->cfg.outbound_allow_private);
    return ERR_OK;
}

void app_release(struct app *app)
{
    privacy_stop(app->purger); /* before the store it uses */
    app->purger = NULL;
    offline_stop(app->offline); /* its replay uses the writer's services and the store */
    app->offline = NULL;
    fanout_stop(app->fanout);
    app->fanout = NULL;
    recordings_stop(app->recordings);
    app->recordings = NULL;
    poolsim_stop(app->poolsim); /* before the store it uses */
    app->poolsim = NULL;
    numbers_stop(app->numbers); /* before the store it uses */
    app->numbers = NULL;
    auctions_quiesce(app->auctions); /* their callbacks write routing records: store still open */
    auctions_stop(app->auctions);
    app->auctions = NULL;
    outbox_stop(app->outbox); /* before the writer and the store it uses */
    app->outbox = NULL;
    traffic_free(app->traffic); /* after the server stopped: no visit counts any more */
    app->traffic = NULL;
    writer_stop(app->writer);
    app->writer = NULL;
    stream_free(app->stream); /* after the server stopped: no listener remains */
    app->stream = NULL;
    sescache_free(app->sessions);
    app->sessions = NULL;
    guard_free(app->guard);
    app->guard = NULL;
    health_free(app->health);
    app->health = NULL;
    ratelimit_free(app->visit_limit);
    ratelimit_free(app->session_limit);
    ratelimit_free(app->bad_signature_limit);
    app->bad_signature_limit = NULL;
    ratelimit_free(app->login_addr_limit);
    ratelimit_free(app->login_email_limit);
    app->login_addr_limit = app->login_email_limit = NULL;
    accounts_free(app->accounts);
    metrics_free(app->metrics);
    store_close(app->store);
    app->visit_limit = app->session_limit = NULL;
    app->accounts = NULL;
    app->metrics = NULL;
    app->store = NULL;
}
