/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Building and tearing down struct app for `opendni serve`. */
#include "base/prelude.h"
#include "app/app.h"

#include "base/log.h"
#include "base/timefmt.h"
#include "app/accounts.h"
#include "app/metrics.h"
#include "app/ratelimit.h"
#include "app/sescache.h"
#include "app/stream.h"
#include "app/users.h"
#include "app/writer.h"
#include "store/store.h"

#define SESSION_CACHE_SLOTS 65536 /* ~4.5 MiB */

int app_init(struct app *app, struct errbuf *eb)
{
    int rc = store_open(app->cfg.db, &app->store, eb);
    if (rc)
        return rc;
    rc = store_check(app->store, eb);
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
    app->writer = writer_start(app->store);
    app->stream = stream_new();
    app->sessions = sescache_new(SESSION_CACHE_SLOTS);
    app->login_addr_limit = ratelimit_new(USERS_LOGIN_PER_ADDR);
    app->login_email_limit = ratelimit_new(USERS_LOGIN_PER_EMAIL);
    return ERR_OK;
}

void app_release(struct app *app)
{
    writer_stop(app->writer);
    app->writer = NULL;
    stream_free(app->stream); /* after the server stopped: no listener remains */
    app->stream = NULL;
    sescache_free(app->sessions);
    app->sessions = NULL;
    ratelimit_free(app->visit_limit);
    ratelimit_free(app->session_limit);
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
