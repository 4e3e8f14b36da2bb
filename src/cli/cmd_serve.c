/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni serve: builds struct app, starts the HTTP server and waits for SIGTERM/SIGINT, then
 * stops gracefully: no new connections, in-flight requests finish, the writer commits what it
 * holds, the store closes, exit 0. Signals are blocked in every thread and taken with sigwait,
 * so no handler runs in signal context. */
#include "base/prelude.h"
#include "cli/cli.h"

#include <limits.h>
#include <signal.h>

#include "base/log.h"
#include "base/testhooks.h"
#include "base/timefmt.h"
#include "app/app.h"
#include "app/numbers.h"
#include "app/poolsim.h"
#include "app/recordings.h"
#include "app/auction.h"
#include "app/clientaddr.h"
#include "app/users.h"
#include "http/server.h"
#include "store/secrets.h"

#define GRACE_MS 1500

static int write_port_file(const char *path, uint16_t port)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", (unsigned)port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        return ERR_IO;
    return ERR_OK;
}

static void resolve_public_url(struct app *app, uint16_t port)
{
    const char *u = app->cfg.public_url;
    if (u && *u) {
        size_t n = strlen(u);
        while (n > 0 && u[n - 1] == '/')
            n--;
        snprintf(app->public_url, sizeof(app->public_url), "%.*s", (int)n, u);
    } else {
        char host[128];
        const char *colon = strrchr(app->cfg.listen, ':');
        size_t hn = colon ? (size_t)(colon - app->cfg.listen) : 0;
        snprintf(host, sizeof(host), "%.*s", (int)hn, app->cfg.listen);
        snprintf(app->public_url, sizeof(app->public_url), "http://%s:%u",
                 host[0] && strcmp(host, "0.0.0.0") ? host : "127.0.0.1", (unsigned)port);
    }
}

/* The default spool directory (docs/operations.md "When the database goes away"): beside a
 * SQLite file (its one server owns both); for PostgreSQL, under systemd's StateDirectory= or the
 * user's state directory, one per listen address, so nodes on one host do not share one. */
static void default_spool_dir(const struct app_config *c, char *out, size_t cap)
{
    bool pg = !strncmp(c->db, "postgres://", 11) || !strncmp(c->db, "postgresql://", 13);
    if (!pg) {
        snprintf(out, cap, "%s.spool", c->db);
        return;
    }
    char base[512];
    const char *state = getenv("STATE_DIRECTORY"); /* systemd: "DIR[:DIR…]" */
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (state && *state)
        snprintf(base, sizeof(base), "%.*s", (int)strcspn(state, ":"), state);
    else if (xdg && *xdg)
        snprintf(base, sizeof(base), "%s/opendni", xdg);
    else if (home && *home)
        snprintf(base, sizeof(base), "%s/.local/state/opendni", home);
    else
        snprintf(base, sizeof(base), "opendni-state");
    char listen[128];
    snprintf(listen, sizeof(listen), "%s", c->listen);
    for (char *p = listen; *p; p++)
        if (*p == ':' || *p == '/')
            *p = '-';
    snprintf(out, cap, "%s/spool-%s", base, listen);
}

/* The numeric settings' ranges, checked after every source is applied. */
static int check_ranges(const struct cli_opt *opts, const struct app_config *c)
{
    const struct {
        const long long *v;
        long long min, max;
    } ranges[] = {
        {&c->rate_limit_visits, 0, LLONG_MAX},
        {&c->max_new_sessions, 0, LLONG_MAX},
        {&c->rate_limit_bad_signatures, 0, LLONG_MAX},
        {&c->threads, 0, 256},
        {&c->body_max, 0, INT32_MAX},
        {&c->max_conns_per_addr, 0, 4096},
        {&c->request_timeout_s, 0, 86400},
        {&c->client_new_sessions, 0, LLONG_MAX},
        {&c->client_share, 0, 100},
        {&c->client_max_numbers, 0, LLONG_MAX},
        {&c->flood_hold, 0, LLONG_MAX},
        {&c->session_idle_s, 1, LLONG_MAX},
        {&c->session_max_s, 1, LLONG_MAX},
        {&c->autoscale_interval_s, 0, 86400},
    };
    for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
        long long v = *ranges[i].v;
        if (v >= ranges[i].min && v <= ranges[i].max)
            continue;
        char val[32];
        char hint[96];
        snprintf(val, sizeof(val), "%lld", v);
        if (ranges[i].max == LLONG_MAX)
            snprintf(hint, sizeof(hint), "give %lld or more", ranges[i].min);
        else
            snprintf(hint, sizeof(hint), "give %lld to %lld", ranges[i].min, ranges[i].max);
        return cli_bad_value(opts, ranges[i].v, val, hint);
    }
    return 0;
}

/* Every check of a value that cli_opts cannot make; errors name where the value came from. */
static int check_serve_opts(const struct cli_opt *opts, const struct app_config *c,
                            const char *const *level)
{
    if (log_level_parse(*level) < 0)
        return cli_bad_value(opts, level, *level, "give error, warn, info or debug");
    if (http_listen_check(c->listen) != ERR_OK)
        return cli_bad_value(opts, &c->listen, c->listen,
                             "give IPV4:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)");
    if (check_ranges(opts, c) < 0)
        return -2;
    struct clientaddr_trust trust;
    struct errbuf eb = {{0}, NULL};
    if (clientaddr_trust_parse(c->trust_proxy, &trust, &eb) != ERR_OK) {
        char hint[300];
        snprintf(hint, sizeof(hint), "%s (give proxy addresses or CIDRs)", eb.msg);
        return cli_bad_value(opts, &c->trust_proxy, c->trust_proxy, hint);
    }
    const char *u = c->public_url;
    if (u[0] && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return cli_bad_value(opts, &c->public_url, u,
                             "give the URL providers reach this server at, http(s)://HOST[:PORT]");
    return 0;
}

static int parse_serve_opts(int argc, char **argv, struct app_config *c, const char **key_file,
                            bool *check_only)
{
    const char *level = "info";
    bool fail_calls = false;
    const char *outbound_ca = "";
    const char *clock_start = "";
    const char *provider_api = "";
    struct cli_opt opts[] = {
        {"db", OPT_STR, &c->db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"listen", OPT_STR, &c->listen, "OPENDNI_LISTEN",
         "address:port to listen on (port 0: any)"},
        {"public-url", OPT_STR, &c->public_url, "OPENDNI_PUBLIC_URL",
         "externally visible base URL (webhook signatures)"},
        {"port-file", OPT_STR, &c->port_file, NULL, "write the bound port to this file"},
        {"rate-limit-visits", OPT_INT, &c->rate_limit_visits, "OPENDNI_RATE_LIMIT_VISITS",
         "visit requests per client address per minute, 0 = off"},
        {"max-new-sessions", OPT_INT, &c->max_new_sessions, "OPENDNI_MAX_NEW_SESSIONS",
         "new sessions per account per minute, 0 = off"},
        {"rate-limit-bad-signatures", OPT_INT, &c->rate_limit_bad_signatures,
         "OPENDNI_RATE_LIMIT_BAD_SIGNATURES",
         "provider webhooks with a bad signature per client address per minute before 429, 0 = "
         "off"},
        {"threads", OPT_INT, &c->threads, "OPENDNI_THREADS", "HTTP threads, 0 = one per CPU"},
        {"body-max", OPT_INT, &c->body_max, "OPENDNI_BODY_MAX",
         "request body limit of routes without their own, bytes, 0 = 65536"},
        {"max-conns-per-addr", OPT_INT, &c->max_conns_per_addr, "OPENDNI_MAX_CONNS_PER_ADDR",
         "open connections per client address (direct clients; not with --trust-proxy), 0 = off"},
        {"request-timeout", OPT_INT, &c->request_timeout_s, "OPENDNI_REQUEST_TIMEOUT",
         "seconds a client has to send a request's headers and body, 0 = off"},
        {"geo-header", OPT_STR, &c->geo_header, "OPENDNI_GEO_HEADER",
         "header your proxy sets to the visitor's ISO 3166-2 region (e.g. X-Geo-Region: US-TX)"},
        {"trust-proxy", OPT_STR, &c->trust_proxy, "OPENDNI_TRUST_PROXY",
         "proxies (ADDR or CIDR, comma-separated) whose X-Forwarded-For is believed"},
        {"client-new-sessions", OPT_INT, &c->client_new_sessions, "OPENDNI_CLIENT_NEW_SESSIONS",
         "new sessions per client address per minute before it is a flood, 0 = off"},
        {"client-share", OPT_INT, &c->client_share, "OPENDNI_CLIENT_SHARE",
         "% of a pool one client's unproven sessions may hold, 0 = off"},
        {"client-max-numbers", OPT_INT, &c->client_max_numbers, "OPENDNI_CLIENT_MAX_NUMBERS",
         "most numbers of a pool one client's unproven sessions hold, 0 = no limit"},
        {"flood-hold", OPT_INT, &c->flood_hold, "OPENDNI_FLOOD_HOLD",
         "seconds a flood stays flagged after its last new session"},
        {"metrics-token", OPT_STR, &c->metrics_token, "OPENDNI_METRICS_TOKEN",
         "GET /metrics needs Authorization: Bearer TOKEN (unset: loopback clients only)"},
        {"outbound-allow-private", OPT_BOOL, &c->outbound_allow_private,
         "OPENDNI_OUTBOUND_ALLOW_PRIVATE",
         "webhooks, alerts and provider API calls may reach loopback, private and link-local "
         "addresses"},
        {"smtp-url", OPT_STR, &c->smtp_url, "OPENDNI_SMTP_URL",
         "SMTP server for email alerts: smtp://HOST:PORT (STARTTLS) or smtps://…"},
        {"smtp-from", OPT_STR, &c->smtp_from, "OPENDNI_SMTP_FROM", "From address of email alerts"},
        {"spool-dir", OPT_STR, &c->spool_dir, "OPENDNI_SPOOL_DIR",
         "directory of this node's own for calls answered while the store is away (default: "
         "DB.spool beside a SQLite file; $STATE_DIRECTORY, else ~/.local/state/opendni, "
         "/spool-HOST-PORT for PostgreSQL)"},
        {"autoscale-interval", OPT_INT, &c->autoscale_interval_s, "OPENDNI_AUTOSCALE_INTERVAL",
         "seconds between number checks (pending purchases, pool autoscaling), 0 = off"},
        {"demo", OPT_BOOL, &c->demo, "OPENDNI_DEMO", "serve the demo site at /demo/ (make run)"},
        {"secrets-key-file", OPT_STR, key_file, "OPENDNI_SECRETS_KEY_FILE",
         "file holding the key provider secrets are sealed with (else OPENDNI_SECRETS_KEY)"},
        {"session-idle", OPT_INT, &c->session_idle_s, "OPENDNI_SESSION_IDLE",
         "dashboard sessions end after this many seconds without a request"},
        {"session-max", OPT_INT, &c->session_max_s, "OPENDNI_SESSION_MAX",
         "dashboard sessions end this many seconds after the login"},
        {"log-level", OPT_STR, &level, "OPENDNI_LOG_LEVEL", "error, warn, info or debug"},
        {"log-pii", OPT_BOOL, &c->log_pii, "OPENDNI_LOG_PII", "log phone numbers and addresses"},
        {"check-config", OPT_BOOL, check_only, NULL,
         "check the configuration (file, environment, flags) and exit: 0 ok, 2 not"},
        {0}, /* the test binary's flags follow */
        {"test-fail-call-store", OPT_BOOL, &fail_calls, NULL,
         "fail the call path's store writes (fault hook)"},
        {"test-outbound-ca", OPT_STR, &outbound_ca, NULL,
         "CA bundle trusted for outbound requests instead of the system's"},
        {"test-clock-start", OPT_STR, &clock_start, NULL,
         "start the clock at this time (RFC 3339 or a date; may be in the past)"},
        {"test-provider-api", OPT_STR, &provider_api, NULL,
         "provider and ad-platform API base URLs: NAME=URL[,NAME=URL] (number management; "
         "ga4, meta, google_ads, google_oauth)"},
        {0},
    };
    /* The production binary offers no test flag: its table ends at the first terminator. */
    size_t first_test = 0;
    while (opts[first_test].name)
        first_test++;
    if (testhooks_enabled())
        memmove(&opts[first_test], &opts[first_test + 1],
                (ARRAY_SIZE(opts) - first_test - 1) * sizeof(opts[0]));
    int rc = cli_opts_strict(
        argc, argv, 1, opts,
        "opendni serve [--config FILE] [--db PATH_OR_URL] [--listen 127.0.0.1:8080] "
        "[--public-url URL] [--check-config]",
        NULL, 0);
    if (rc < 0)
        return rc;
    rc = check_serve_opts(opts, c, &level);
    if (rc < 0)
        return rc;
    if (fail_calls)
        testhooks_fault_set(TESTHOOK_CALL_STORE, true);
    if (outbound_ca[0])
        testhooks_outbound_ca_set(outbound_ca);
    if (clock_start[0]) {
        int64_t at;
        if (time_parse(clock_start, &at) != ERR_OK) {
            fprintf(stderr, "error: bad value '%s' for --test-clock-start: give an RFC 3339 time\n",
                    clock_start);
            return -2;
        }
        testhooks_clock_start(at);
    }
    for (const char *p = provider_api; *p;) {
        size_t len = strcspn(p, ",");
        char one[300];
        snprintf(one, sizeof(one), "%.*s", (int)len, p);
        if (testhooks_provider_api_set(one) != 0) {
            fprintf(stderr, "error: --test-provider-api: give NAME=URL[,NAME=URL]\n");
            return -2;
        }
        p += len + (p[len] == ',');
    }
    log_level = log_level_parse(level);
    log_pii = c->log_pii;
    c->log_level = level;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct app app = {.cfg = {.db = "./opendni.db",
                              .listen = "127.0.0.1:8080",
                              .public_url = "",
                              .port_file = "",
                              .geo_header = "",
                              .trust_proxy = "",
                              .client_new_sessions = 30,
                              .client_share = 10,
                              .client_max_numbers = 4,
                              .flood_hold = 600,
                              .metrics_token = "",
                              .smtp_url = "",
                              .smtp_from = "",
                              .rate_limit_visits = 600,
                              .max_new_sessions = 6000,
                              .max_conns_per_addr = 64,
                              .request_timeout_s = 15,
                              .rate_limit_bad_signatures = 30,
                              .session_idle_s = USERS_IDLE_S_DEFAULT,
                              .session_max_s = USERS_MAX_S_DEFAULT,
                              .autoscale_interval_s = 60}};
    const char *key_file = NULL;
    bool check_only = false;
    int rc = parse_serve_opts(argc, argv, &app.cfg, &key_file, &check_only);
    if (rc < 0)
        return cli_opts_exit(rc);
    char spool_dir[1024];
    if (!app.cfg.spool_dir || !app.cfg.spool_dir[0]) {
        default_spool_dir(&app.cfg, spool_dir, sizeof(spool_dir));
        app.cfg.spool_dir = spool_dir;
    }
    struct secrets_key key;
    bool has_key = false;
    if (cli_secrets_key(key_file, &key, &has_key) < 0)
        return check_only ? EXIT_USAGE : EXIT_FAIL;
    if (check_only) {
        memset(&key, 0, sizeof(key));
        const char *path = cli_conf_path();
        printf("configuration ok (%s%s)\n", path ? "file " : "no configuration file",
               path ? path : "");
        return EXIT_OK;
    }
    app.cfg.secrets_key = has_key ? &key : NULL;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);
    struct errbuf eb = {{0}, NULL};
    rc = app_init(&app, &eb);
    memset(&key, 0, sizeof(key)); /* the store keeps its own copy */
    app.cfg.secrets_key = NULL;
    if (rc != ERR_OK) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    struct http_server *srv = NULL;
    uint16_t port = 0;
    if (http_server_start(&app, &srv, &port) != ERR_OK) {
        app_release(&app);
        return EXIT_FAIL;
    }
    resolve_public_url(&app, port);
    if (app.cfg.port_file[0] && write_port_file(app.cfg.port_file, port) != ERR_OK)
        log_error("cli", "cannot write port file '%s'", app.cfg.port_file);
    log_info("cli", "ready: listening on port %u, public url %s", (unsigned)port, app.public_url);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("cli", "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    numbers_quiesce(app.numbers);       /* answers the requests waiting on a provider at once */
    poolsim_quiesce(app.poolsim);       /* a running sweep stops after its current pool size */
    recordings_quiesce(app.recordings); /* recordings being fetched: 503 at once */
    auctions_quiesce(app.auctions);     /* auctions end without a winner: their calls fall back */
    http_server_stop(srv, GRACE_MS);
    app_release(&app);
    log_info("cli", "stopped");
    return EXIT_OK;
}
