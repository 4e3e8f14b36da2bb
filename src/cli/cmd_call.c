/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni call simulate: plays Twilio against a running server. Sends a correctly signed voice
 * webhook for a call from --from to --to, prints the TwiML answer, waits --duration seconds,
 * then sends the <Dial action> and the caller leg's "completed" status callback (in Twilio's
 * order when the business hangs up), and, when the answer recorded the forward (record_calls),
 * its recording callback. Includes a tiny HTTP/1.1 client (plain TCP, no TLS): behind
 * a TLS proxy, send to the server's local address and sign for the public https URL with
 * --public-url, which is what the server checks signatures against. */
#include "base/prelude.h"
#include "cli/cli.h"

#include <netdb.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/timefmt.h"
#include "core/phone.h"
#include "store/store.h"
#include "telephony/form.h"
#include "telephony/twilio.h"

#define REPLY_MAX (1024 * 1024)
#define IO_TIMEOUT_S 15

/* ==== a tiny HTTP client ====================================================================== */

struct server_url {
    char host[256];
    char port[8];
    char prefix[256]; /* path before /v1/…, "" usually */
};

/* "http://host[:port][/prefix]" (no TLS: point it at the server, not at a proxy). */
static int parse_server(const char *url, struct server_url *u)
{
    if (strncmp(url, "http://", 7) != 0)
        return ERR_INVALID;
    const char *h = url + 7;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof(u->host))
        return ERR_INVALID;
    snprintf(u->host, sizeof(u->host), "%.*s", (int)hl, h);
    const char *p = h + hl;
    size_t pl = 0;
    if (*p == ':') {
        pl = strspn(p + 1, "0123456789");
        if (pl == 0 || pl >= sizeof(u->port))
            return ERR_INVALID;
        snprintf(u->port, sizeof(u->port), "%.*s", (int)pl, p + 1);
        p += pl + 1;
    } else {
        snprintf(u->port, sizeof(u->port), "80");
    }
    if (*p && *p != '/')
        return ERR_INVALID;
    snprintf(u->prefix, sizeof(u->prefix), "%s", p);
    size_t n = strlen(u->prefix);
    while (n > 0 && u->prefix[n - 1] == '/')
        u->prefix[--n] = '\0';
    return ERR_OK;
}

static int dial_tcp(const struct server_url *u)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return ERR_OK;
}

/* Reads until the server closes; splits "HTTP/1.1 NNN …\r\n…\r\n\r\nbody". */
static int read_reply(int fd, int *status, struct buf *body)
{
    struct buf raw;
    buf_init(&raw, REPLY_MAX);
    char chunk[4096];
    ssize_t r = read(fd, chunk, sizeof(chunk));
    while (r > 0 && buf_add(&raw, chunk, (size_t)r) == ERR_OK)
        r = read(fd, chunk, sizeof(chunk));
    const char *end = strstr(raw.data, "\r\n\r\n");
    int rc = r < 0 || !end || sscanf(raw.data, "HTTP/1.%*d %d", status) != 1 ? ERR_IO : ERR_OK;
    if (rc == ERR_OK)
        rc = buf_adds(body, end + 4);
    buf_release(&raw);
    return rc;
}

/* POSTs a form (Connection: close) and reads the whole reply. */
static int http_post(const struct server_url *u, const char *path, const char *sig,
                     const char *form, int *status, struct buf *body)
{
    int fd = dial_tcp(u);
    if (fd < 0)
        return ERR_IO;
    struct buf req;
    buf_init(&req, 0);
    bool default_port = strcmp(u->port, "80") == 0;
    buf_addf(&req,
             "POST %s%s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: opendni-call-simulate\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: %s\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             u->prefix, path, u->host, default_port ? "" : ":", default_port ? "" : u->port, sig,
             strlen(form), form);
    int rc = write_all(fd, req.data, req.len);
    if (rc == ERR_OK)
        rc = read_reply(fd, status, body);
    buf_release(&req);
    close(fd);
    return rc;
}

/* ==== signed webhooks ========================================================================= */

struct sim {
    struct server_url url;
    const char *server; /* --public-url, else --server, without a trailing slash: signed */
    const char *token;
    char account_sid[STORE_PROVIDER_SID_MAX];
    char call_sid[40];
    char dial_sid[40];
    char to[PHONE_E164_MAX];
    char from[PHONE_E164_MAX];
    long long duration_s;
    bool no_wait;             /* report duration_s without waiting it out */
    const char *digits;       /* routing plans: pressed one per <Gather>, in order */
    const char *dial_results; /* routing plans: DialCallStatus of successive dials (a,b,…) */
    size_t n_digits_used;
    size_t n_dials;
};

static void add_param(struct buf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (b->len)
        buf_addc(b, '&');
    buf_adds(b, name);
    buf_addc(b, '=');
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            buf_addc(b, (char)*p);
        } else {
            buf_addc(b, '%');
            buf_addc(b, hex[*p >> 4]);
            buf_addc(b, hex[*p & 15]);
        }
    }
}

/* The parameters every request of this call carries. */
static void common_params(const struct sim *sm, struct buf *b)
{
    add_param(b, "AccountSid", sm->account_sid);
    add_param(b, "ApiVersion", "2010-04-01");
    add_param(b, "CallSid", sm->call_sid);
    add_param(b, "Called", sm->to);
    add_param(b, "Caller", sm->from);
    add_param(b, "Direction", "inbound");
    add_param(b, "From", sm->from);
    add_param(b, "To", sm->to);
}

/* Signs body over server + path (INTERFACES.md §2.1) and posts it; prints the exchange and
 * keeps the answer in out (optional). */
static int send_signed_reply(const struct sim *sm, const char *path, const struct buf *body,
                             struct buf *out)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", sm->server, path);
    struct form f;
    char sig[TWILIO_SIG_LEN + 1];
    int rc = form_parse(body->data, body->len, &f);
    if (rc == ERR_OK)
        rc = twilio_signature(sm->token, url, &f, sig);
    form_release(&f);
    int status = 0;
    struct buf reply;
    buf_init(&reply, REPLY_MAX);
    if (rc == ERR_OK)
        rc = http_post(&sm->url, path, sig, body->data, &status, &reply);
    if (rc)
        fprintf(stderr, "error: POST %s failed: %s\n", url, err_str(rc));
    else
        printf("POST %s -> %d\n%s%s", path, status, reply.data,
               reply.len && reply.data[reply.len - 1] != '\n' ? "\n" : "");
    if (rc == ERR_OK && out)
        buf_adds(out, reply.data);
    buf_release(&reply);
    return rc ? rc : status >= 200 && status < 300 ? ERR_OK : ERR_FORBIDDEN;
}

static int send_signed(const struct sim *sm, const char *path, const struct buf *body)
{
    return send_signed_reply(sm, path, body, NULL);
}

static int send_voice(const struct sim *sm, struct buf *reply)
{
    struct buf b;
    buf_init(&b, 0);
    common_params(sm, &b);
    add_param(&b, "CallStatus", "ringing");
    int rc = send_signed_reply(sm, "/v1/telephony/twilio/voice", &b, reply);
    buf_release(&b);
    return rc;
}

/* ==== routing plans: walking the answers ===================================================== */

#define MAX_STEPS 32

/* The value of attribute name="…" in the first element tag that has it, XML-unescaped (&amp;
 * only: the server writes nothing else in URLs), as a path on sm->server. false if absent or
 * not on this server. */
static bool callback_path(const struct sim *sm, const char *xml, const char *name, char *out,
                          size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=\"", name);
    const char *v = strstr(xml, pat);
    size_t base = strlen(sm->server);
    if (!v)
        return false;
    v += strlen(pat);
    size_t n = 0;
    for (const char *p = v; *p && *p != '"' && n + 1 < cap; p++) {
        out[n++] = *p;
        if (strncmp(p, "&amp;", 5) == 0)
            p += 4;
    }
    out[n] = '\0';
    if (strncmp(out, sm->server, base) != 0)
        return false;
    memmove(out, out + base, n - base + 1);
    return true;
}

/* The n-th comma-separated item of list (or dflt). */
static void nth_item(const char *list, size_t n, const char *dflt, char *out, size_t cap)
{
    snprintf(out, cap, "%s", dflt);
    for (size_t i = 0; list && *list; i++) {
        size_t len = strcspn(list, ",");
        if (i == n) {
            snprintf(out, cap, "%.*s", (int)len, list);
            return;
        }
        list += len + (list[len] == ',');
    }
}

/* One routing callback with extra name=value pairs; its answer replaces *xml. */
static int route_step(struct sim *sm, const char *path, const char *const *kv, struct buf *xml)
{
    struct buf b;
    buf_init(&b, 0);
    common_params(sm, &b);
    add_param(&b, "CallStatus", "in-progress");
    for (size_t i = 0; kv && kv[i]; i += 2)
        add_param(&b, kv[i], kv[i + 1]);
    buf_reset(xml);
    int rc = send_signed_reply(sm, path, &b, xml);
    buf_release(&b);
    return rc;
}

static int answer_gather(struct sim *sm, const char *path, struct buf *xml)
{
    char d[2] = {0, 0};
    if (sm->digits && sm->n_digits_used < strlen(sm->digits))
        d[0] = sm->digits[sm->n_digits_used++];
    const char *kv[] = {"Digits", d, NULL};
    return route_step(sm, path, d[0] ? kv : NULL, xml);
}

static int answer_dial(struct sim *sm, const char *path, struct buf *xml)
{
    char status[24];
    char dur[24];
    nth_item(sm->dial_results, sm->n_dials++, "completed", status, sizeof(status));
    snprintf(dur, sizeof(dur), "%lld", strcmp(status, "completed") == 0 ? sm->duration_s : 0);
    const char *kv[] = {"DialCallSid", sm->dial_sid, "DialCallStatus", status, "DialCallDuration",
                        dur,           NULL};
    return route_step(sm, path, kv, xml);
}

static int answer_record(struct sim *sm, const char *xml_in, const char *path, struct buf *xml)
{
    char status_path[1024];
    char url[96];
    char dur[24];
    snprintf(url, sizeof(url), "https://api.twilio.com/recordings/RE%s", sm->call_sid + 2);
    snprintf(dur, sizeof(dur), "%lld", sm->duration_s);
    const char *kv[] = {"RecordingUrl", url, "RecordingDuration", dur, "RecordingStatus",
                        "completed",    NULL};
    if (callback_path(sm, xml_in, "recordingStatusCallback", status_path, sizeof(status_path)) &&
        route_step(sm, status_path, kv, xml))
        return ERR_IO;
    return route_step(sm, path, kv, xml);
}

/* Follows a routing plan's answers (gather → digits, dial → the next dial result, record →
 * a recording) until one ends the call or leaves the plan (a plain <Dial> to /dial). Returns
 * ERR_OK with *plain set when the last answer was a plain dial. */
static int walk_plan(struct sim *sm, struct buf *xml, bool *plain)
{
    char path[1024];
    *plain = false;
    for (int step = 0; step < MAX_STEPS; step++) {
        const char *x = xml->data;
        bool has_action = callback_path(sm, x, "action", path, sizeof(path));
        bool routed = has_action && strstr(path, "/route?") != NULL;
        int rc;
        if (strstr(x, "<Gather") && routed)
            rc = answer_gather(sm, path, xml);
        else if (strstr(x, "<Dial") && routed)
            rc = answer_dial(sm, path, xml);
        else if (strstr(x, "<Record") && routed)
            rc = answer_record(sm, x, path, xml);
        else {
            *plain = strstr(x, "<Dial") != NULL;
            return ERR_OK;
        }
        if (rc)
            return rc;
    }
    fprintf(stderr, "error: the plan did not end within %d steps\n", MAX_STEPS);
    return ERR_INVALID;
}

static int send_dial_action(const struct sim *sm)
{
    char dur[24];
    snprintf(dur, sizeof(dur), "%lld", sm->duration_s);
    struct buf b;
    buf_init(&b, 0);
    common_params(sm, &b);
    add_param(&b, "CallStatus", "in-progress");
    add_param(&b, "DialCallSid", sm->dial_sid);
    add_param(&b, "DialCallStatus", "completed");
    add_param(&b, "DialCallDuration", dur);
    int rc = send_signed(sm, "/v1/telephony/twilio/dial", &b);
    buf_release(&b);
    return rc;
}

static int send_completed(const struct sim *sm)
{
    char dur[24];
    snprintf(dur, sizeof(dur), "%lld", sm->duration_s);
    struct buf b;
    buf_init(&b, 0);
    common_params(sm, &b);
    add_param(&b, "CallStatus", "completed");
    add_param(&b, "CallDuration", dur);
    add_param(&b, "CallbackSource", "call-progress-events");
    add_param(&b, "SequenceNumber", "3");
    int rc = send_signed(sm, "/v1/telephony/twilio/status", &b);
    buf_release(&b);
    return rc;
}

/* A recorded plain forward's recording is ready (after the call, as Twilio posts it): the
 * <Dial recordingStatusCallback> the answer named, with a made-up recording of the talk time. */
static int send_recording(const struct sim *sm, const char *path)
{
    char url[96];
    char rsid[40];
    char dur[24];
    snprintf(url, sizeof(url), "https://api.twilio.com/recordings/RE%s", sm->call_sid + 2);
    snprintf(rsid, sizeof(rsid), "RE%s", sm->call_sid + 2);
    snprintf(dur, sizeof(dur), "%lld", sm->duration_s);
    struct buf b;
    buf_init(&b, 0);
    common_params(sm, &b);
    add_param(&b, "RecordingSid", rsid);
    add_param(&b, "RecordingUrl", url);
    add_param(&b, "RecordingStatus", "completed");
    add_param(&b, "RecordingDuration", dur);
    add_param(&b, "RecordingChannels", "2");
    add_param(&b, "RecordingSource", "DialVerb");
    int rc = send_signed(sm, path, &b);
    buf_release(&b);
    return rc;
}

/* ==== setting up ============================================================================== */

/* prefix + 32 lowercase hex digits from the kernel, like a Twilio SID. */
static void random_sid(const char *prefix, char *out, size_t cap)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        abort();
    size_t n = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < sizeof(rnd) && n + 2 < cap; i++, n += 2)
        snprintf(out + n, cap - n, "%02x", rnd[i]);
}

/* The account owning `to`: a tracking number, or a pool's fallback number. */
static int owner_of(struct store *s, const char *to, struct st_account *a)
{
    struct st_number n;
    struct st_pool p;
    int64_t account_id = 0;
    if (store_number_by_e164(s, to, &n) == ERR_OK)
        account_id = n.account_id;
    else if (store_pool_by_fallback(s, to, &p) == ERR_OK)
        account_id = p.account_id;
    return account_id ? store_account_by_id(s, account_id, a) : ERR_NOTFOUND;
}

/* Reads the Twilio auth token (and AccountSid) of the account owning sm->to from the store; an
 * account without a token gets a random one, so its webhooks can be verified at all. */
static int token_from_db(const char *db, const char *key_file, struct sim *sm, char *token,
                         size_t cap)
{
    struct store *s = cli_open_store(db, key_file);
    if (!s)
        return ERR_BACKEND;
    struct st_account a;
    struct st_provider_cred c = {0};
    int rc = owner_of(s, sm->to, &a);
    if (rc == ERR_OK) {
        rc = store_provider_cred_get(s, a.id, "twilio", &c);
        rc = rc == ERR_NOTFOUND ? ERR_OK : rc; /* no Twilio credentials yet */
    }
    if (rc == ERR_OK && !c.secret[0]) {
        random_sid("", c.secret, STORE_SECRET_MAX);
        rc = store_provider_cred_set(s, a.id, "twilio", NULL, c.secret, time_now_ms());
        if (rc == ERR_OK)
            fprintf(stderr,
                    "note: account %s had no Twilio auth token; set a random one "
                    "(change it: opendni account set %s --twilio-auth-token …)\n",
                    a.ext_id, a.ext_id);
    }
    store_close(s);
    if (rc == ERR_NOTFOUND)
        fprintf(stderr, "error: no account tracks %s in %s\n", sm->to, db);
    else if (rc == ERR_UNSUPPORTED)
        fprintf(stderr,
                "error: the account's Twilio auth token needs the secrets key "
                "(OPENDNI_SECRETS_KEY_FILE or OPENDNI_SECRETS_KEY; see the log line above)\n");
    else if (rc)
        fprintf(stderr, "error: cannot read or update the account in %s\n", db);
    if (rc)
        return rc;
    snprintf(token, cap, "%.*s", STORE_SECRET_MAX - 1, c.secret); /* clear: < STORE_SECRET_MAX */
    if (!sm->account_sid[0])
        snprintf(sm->account_sid, sizeof(sm->account_sid), "%s", c.account_sid);
    return ERR_OK;
}

static int run_simulation(struct sim *sm)
{
    printf("call %s from %s to %s\n", sm->call_sid, sm->from, sm->to);
    struct buf xml;
    buf_init(&xml, REPLY_MAX);
    bool plain = true;
    char recording[1024] = ""; /* a recorded plain forward: where its recording goes */
    int rc = send_voice(sm, &xml);
    if (rc == ERR_OK)
        rc = walk_plan(sm, &xml, &plain);
    if (rc == ERR_OK && plain &&
        !callback_path(sm, xml.data, "recordingStatusCallback", recording, sizeof(recording)))
        recording[0] = '\0';
    buf_release(&xml);
    if (rc)
        return EXIT_FAIL;
    if (!plain) /* a routing plan ran: its dial results were sent; the call ends */
        return send_completed(sm) ? EXIT_FAIL : EXIT_OK;
    if (sm->duration_s > 0 && !sm->no_wait) {
        printf("talking for %lld s…\n", sm->duration_s);
        fflush(stdout);
        struct timespec ts = {(time_t)sm->duration_s, 0};
        while (nanosleep(&ts, &ts) != 0)
            continue;
    }
    rc = send_dial_action(sm);
    if (rc == ERR_OK)
        rc = send_completed(sm);
    if (rc == ERR_OK && recording[0])
        rc = send_recording(sm, recording);
    return rc ? EXIT_FAIL : EXIT_OK;
}

static int parse_number_opt(const char *flag, const char *v, char out[PHONE_E164_MAX])
{
    if (v && phone_parse(v, out, NULL) == ERR_OK)
        return ERR_OK;
    fprintf(stderr, "error: --%s needs a phone number\n", flag);
    return ERR_INVALID;
}

static int call_simulate(int argc, char **argv)
{
    const char *to = NULL, *from = NULL, *server = "http://127.0.0.1:8080", *db = "./opendni.db";
    const char *sid = NULL, *token = NULL, *key_file = NULL, *public_url = "";
    long long duration = 60;
    bool no_wait = false;
    const char *digits = NULL, *dial_results = NULL;
    const struct cli_opt opts[] = {
        {"digits", OPT_STR, &digits, NULL, "routing plans: digits to press, one per menu/screen"},
        {"dial-results", OPT_STR, &dial_results, NULL,
         "routing plans: each dial's result in turn, e.g. busy,no-answer,completed"},
        {"to", OPT_STR, &to, NULL, "the tracking number called"},
        {"from", OPT_STR, &from, NULL, "the caller's number"},
        {"duration", OPT_INT, &duration, NULL, "talk time to wait, seconds (0: complete at once)"},
        {"no-wait", OPT_BOOL, &no_wait, NULL, "send the end of the call at once, with --duration"},
        {"server", OPT_STR, &server, NULL,
         "where to send the webhooks: the server's http:// address (signed, unless --public-url)"},
        {"public-url", OPT_STR, &public_url, "OPENDNI_PUBLIC_URL",
         "the URL to sign for, as the server's --public-url (e.g. https://… behind a TLS proxy)"},
        {"db", OPT_STR, &db, "OPENDNI_DB", "store to read the account's auth token from"},
        {"account-sid", OPT_STR, &sid, NULL, "AccountSid to send (default: the account's)"},
        {"token", OPT_STR, &token, NULL, "auth token to sign with (default: from --db)"},
        {"secrets-key-file", OPT_STR, &key_file, "OPENDNI_SECRETS_KEY_FILE",
         "the key the store's provider secrets are sealed with (else OPENDNI_SECRETS_KEY)"},
        {0},
    };
    int rc =
        cli_opts(argc, argv, 2, opts,
                 "opendni call simulate --to N --from N [--duration S] [--no-wait] [--server URL] "
                 "[--public-url URL] [--db PATH] [--secrets-key-file FILE] [--account-sid AC…] "
                 "[--token T] [--digits D] [--dial-results S,S…]",
                 NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct sim sm = {.server = server,
                     .token = token,
                     .duration_s = duration,
                     .no_wait = no_wait,
                     .digits = digits,
                     .dial_results = dial_results};
    if (digits && strspn(digits, "0123456789*#") != strlen(digits)) {
        fprintf(stderr, "error: --digits takes 0-9, * and #\n");
        return EXIT_USAGE;
    }
    if (parse_number_opt("to", to, sm.to) || parse_number_opt("from", from, sm.from))
        return EXIT_USAGE;
    if (duration < 0 || duration > 14400) {
        fprintf(stderr, "error: bad value '%lld' for --duration: give 0 to 14400 seconds\n",
                duration);
        return EXIT_USAGE;
    }
    if (parse_server(server, &sm.url) != ERR_OK) {
        fprintf(stderr,
                "error: bad value '%s' for --server: give http://HOST[:PORT], the server's own "
                "address (no TLS here: behind an https proxy, add --public-url https://…, the "
                "URL to sign for)\n",
                server);
        return EXIT_USAGE;
    }
    const char *sign = public_url[0] ? public_url : server;
    if (strncmp(sign, "http://", 7) != 0 && strncmp(sign, "https://", 8) != 0) {
        fprintf(stderr, "error: bad value '%s' for --public-url: give http(s)://HOST[:PORT]\n",
                public_url);
        return EXIT_USAGE;
    }
    size_t n = strlen(sign);
    char base[512];
    snprintf(base, sizeof(base), "%.*s", (int)(n && sign[n - 1] == '/' ? n - 1 : n), sign);
    sm.server = base;
    snprintf(sm.account_sid, sizeof(sm.account_sid), "%s", sid ? sid : "");
    char stored[STORE_SECRET_MAX];
    if (!token && token_from_db(db, key_file, &sm, stored, sizeof(stored)) != ERR_OK)
        return EXIT_FAIL;
    sm.token = token ? token : stored;
    if (!sm.account_sid[0])
        random_sid("AC", sm.account_sid, sizeof(sm.account_sid));
    random_sid("CA", sm.call_sid, sizeof(sm.call_sid));
    random_sid("CA", sm.dial_sid, sizeof(sm.dial_sid));
    return run_simulation(&sm);
}

static const struct cli_verb verbs[] = {
    {"simulate", call_simulate, "send signed Twilio webhooks for one call to a running server"},
};

int cmd_call(int argc, char **argv)
{
    return cli_dispatch("call", verbs, ARRAY_SIZE(verbs), argc, argv);
}
