/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni account create|set|list: tenants, their allowed origins, API keys (shown once, stored
 * as SHA-256) and telephony provider secrets (one row per provider: store_provider_cred_*). */
#include "base/prelude.h"
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>

#include "base/ids.h"
#include "app/accounts.h"
#include "app/calls.h"
#include "app/privacy.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "store/store.h"
#include "telephony/telnyx.h"

/* "http://Host:8080/" -> "http://host:8080"; ERR_INVALID unless scheme://host[:port]. */
static int normalize_origin(const char *in, char *out, size_t cap)
{
    const char *p = strstr(in, "://");
    if (!p || (strncmp(in, "http://", 7) != 0 && strncmp(in, "https://", 8) != 0))
        return ERR_INVALID;
    size_t n = strlen(in);
    while (n > 0 && in[n - 1] == '/')
        n--;
    if (n <= (size_t)(p + 3 - in) || n >= cap || memchr(p + 3, '/', n - (size_t)(p + 3 - in)))
        return ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    out[n] = '\0';
    return ERR_OK;
}

static int collect_origins(const struct cli_list *in, char out[][256], const char **ptrs)
{
    int n = 0;
    for (int i = 0; i < in->n; i++) {
        char part[256];
        const char *s = in->v[i];
        while (*s) {
            size_t len = strcspn(s, ",");
            snprintf(part, sizeof(part), "%.*s", (int)len, s);
            if (n >= CLI_LIST_MAX || normalize_origin(part, out[n], sizeof(out[n])) != ERR_OK) {
                fprintf(stderr, "error: bad origin '%s' (want scheme://host[:port])\n", part);
                return -1;
            }
            ptrs[n] = out[n];
            n++;
            s += len + (s[len] == ',');
        }
    }
    return n;
}

static int account_create(int argc, char **argv)
{
    const char *db = "./opendni.db", *id = "";
    bool as_json = false;
    struct cli_list origins = {{0}, 0};
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"origin", OPT_LIST, &origins, NULL, "website origin allowed to call the visit API"},
        {"id", OPT_STR, &id, NULL, "account id to use instead of a random one (acc_…)"},
        {"json", OPT_BOOL, &as_json, NULL, "print {\"account_id\",\"api_key\"} as JSON"},
        {0},
    };
    const char *pos[1];
    int rc =
        cli_opts(argc, argv, 2, opts,
                 "opendni account create NAME --origin URL [--id ID] [--json] [--db PATH]", pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1 || !*pos[0] || strlen(pos[0]) >= STORE_NAME_MAX) {
        fprintf(stderr, "error: account create needs a NAME (1 to 127 bytes)\n");
        return EXIT_USAGE;
    }
    if (*id && (!id_valid(id, 40) || strncmp(id, "acc_", 4) != 0)) {
        fprintf(stderr, "error: --id must look like acc_[A-Za-z0-9_-]+\n");
        return EXIT_USAGE;
    }
    char norm[CLI_LIST_MAX][256];
    const char *ptrs[CLI_LIST_MAX];
    int n = collect_origins(&origins, norm, ptrs);
    if (n < 0)
        return EXIT_USAGE;
    if (n == 0) {
        fprintf(stderr, "error: account create needs at least one --origin\n");
        return EXIT_USAGE;
    }
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    char key[80], hash[65];
    id_new("odk_", 52, key, sizeof(key)); /* 52 x 5 bits = 260 bits from the OS */
    accounts_key_hash(key, hash);
    struct st_account a;
    struct errbuf eb = {{0}, NULL};
    rc = store_account_create(s, id, pos[0], ptrs, (size_t)n, hash, time_now_ms(), &a, &eb);
    store_close(s);
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    if (as_json)
        printf("{\"account_id\":\"%s\",\"api_key\":\"%s\"}\n", a.ext_id, key);
    else
        printf("account %s created\napi key (shown once, keep it safe): %s\n", a.ext_id, key);
    return EXIT_OK;
}

/* Settings are a JSON object (conversion rules, recording: docs/telephony.md), validated here,
 * where they are written, by the same parser the call path uses: a value of the wrong type or
 * out of range is refused instead of being replaced by the defaults at every call. Provider
 * secrets are not settings: they go to their own table (store_provider_cred_set). */
static int check_settings(const char *settings)
{
    json_error_t je;
    json_t *v = json_loads(settings, 0, &je);
    bool ok =
        v && json_is_object(v) && strlen(settings) < sizeof(((struct st_account *)0)->settings);
    json_decref(v);
    if (!ok) {
        fprintf(stderr, "error: --settings must be a JSON object under 2 KiB%s%s\n", v ? "" : ": ",
                v ? "" : je.text);
        return -1;
    }
    struct calls_settings cs;
    struct errbuf eb = {{0}, NULL};
    struct privacy_settings ps;
    if (calls_settings_parse(settings, &cs, &eb) != ERR_OK ||
        privacy_settings_parse(settings, &ps, &eb) != ERR_OK) {
        fprintf(stderr, "error: --settings: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

enum { CRED_TWILIO, CRED_SIGNALWIRE, CRED_TELNYX, CRED_N };

/* What account set changes. A NULL field is left as stored. */
struct account_changes {
    const char *settings;
    struct {
        const char *provider; /* telephony/provider.h name */
        const char *account_sid;
        const char *secret;
        const char *secret_file; /* FILE or "-" (standard input) holding the secret */
        const char *flag;        /* the secret's flag, for messages */
        char read[STORE_SECRET_MAX + 2];
    } creds[CRED_N];
};

/* Reads a secret from path ("-": standard input) into out: one line, the trailing newline and
 * surrounding blanks dropped. 0, or -1 after printing why (unreadable, empty, several lines,
 * or STORE_SECRET_MAX bytes or more). */
static int read_secret(const char *flag, const char *path, char *out, size_t cap)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "error: --%s-file: cannot open '%s': %s\n", flag, path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, f);
    bool more = n == cap - 1 && fgetc(f) != EOF;
    bool failed = ferror(f);
    if (!std_in)
        fclose(f);
    out[n] = '\0';
    while (n > 0 && strchr(" \t\r\n", out[n - 1]))
        out[--n] = '\0';
    size_t lead = strspn(out, " \t");
    memmove(out, out + lead, n - lead + 1);
    if (failed || more || !out[0] || strpbrk(out, "\r\n")) {
        fprintf(stderr, "error: --%s-file: '%s' must hold the secret on one line (1 to %d bytes)\n",
                flag, path, STORE_SECRET_MAX - 1);
        memset(out, 0, cap);
        return -1;
    }
    return 0;
}

/* Takes each --*-file secret into ch (refusing a secret given both ways, or stdin twice). */
static int read_secret_files(struct account_changes *ch)
{
    int n_stdin = 0;
    for (size_t i = 0; i < ARRAY_SIZE(ch->creds); i++) {
        const char *path = ch->creds[i].secret_file;
        if (!path)
            continue;
        if (ch->creds[i].secret) {
            fprintf(stderr, "error: give --%s or --%s-file, not both\n", ch->creds[i].flag,
                    ch->creds[i].flag);
            return -1;
        }
        if (strcmp(path, "-") == 0 && n_stdin++) {
            fprintf(stderr, "error: only one secret can come from standard input\n");
            return -1;
        }
        if (read_secret(ch->creds[i].flag, path, ch->creds[i].read, sizeof(ch->creds[i].read)))
            return -1;
        ch->creds[i].secret = ch->creds[i].read;
    }
    return 0;
}

/* The settings' references to the account's data exist: conversion.location_id. ERR_INVALID
 * after printing why. */
static int check_settings_refs(struct store *s, int64_t account_id, const char *settings)
{
    struct calls_settings cs;
    if (calls_settings_parse(settings, &cs, NULL) != ERR_OK || !cs.location[0])
        return ERR_OK;
    struct st_route_doc *d = xmalloc(sizeof(*d));
    int rc = store_route_doc_get(s, account_id, "location", cs.location, d);
    free(d);
    if (rc == ERR_NOTFOUND) {
        fprintf(stderr,
                "error: --settings: conversion.location_id: the account has no location '%s'\n",
                cs.location);
        return ERR_INVALID;
    }
    return rc;
}

/* Applies ch to account ext_id in one transaction. ERR_NOTFOUND for an unknown account. */
static int apply_changes(struct store *s, const char *ext_id, const struct account_changes *ch)
{
    struct st_account a;
    int rc = store_account_get(s, ext_id, &a);
    if (rc == ERR_OK && ch->settings)
        rc = check_settings_refs(s, a.id, ch->settings);
    if (rc == ERR_OK)
        rc = store_begin(s);
    if (rc)
        return rc;
    if (ch->settings)
        rc = store_account_set_settings(s, a.id, ch->settings);
    for (size_t i = 0; rc == ERR_OK && i < ARRAY_SIZE(ch->creds); i++)
        if (ch->creds[i].account_sid || ch->creds[i].secret)
            rc = store_provider_cred_set(s, a.id, ch->creds[i].provider, ch->creds[i].account_sid,
                                         ch->creds[i].secret, time_now_ms());
    if (rc == ERR_OK)
        rc = store_commit(s);
    if (rc)
        store_rollback(s);
    return rc;
}

/* Whether sid is a Twilio AccountSid: "AC" and 32 hexadecimal digits. */
static bool twilio_sid_ok(const char *sid)
{
    if (strncmp(sid, "AC", 2) != 0 || strlen(sid) != 34)
        return false;
    for (const char *p = sid + 2; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

/* Refuses what the store would take but no provider could use. -1 after printing why. */
static int check_changes(const struct account_changes *ch)
{
    if (ch->settings && check_settings(ch->settings) < 0)
        return -1;
    unsigned char raw[TELNYX_KEY_LEN];
    const char *telnyx = ch->creds[CRED_TELNYX].secret;
    if (telnyx && telnyx_public_key(telnyx, raw) != ERR_OK) {
        fprintf(stderr, "error: --telnyx-public-key must be the base64 of a 32-byte Ed25519 key\n");
        return -1;
    }
    const char *twilio = ch->creds[CRED_TWILIO].account_sid;
    if (twilio && !twilio_sid_ok(twilio)) {
        fprintf(stderr, "error: --twilio-account-sid must be a Twilio AccountSid: AC and 32 "
                        "hexadecimal digits (the console's Account Info)\n");
        return -1;
    }
    for (size_t i = 0; i < ARRAY_SIZE(ch->creds); i++) {
        const char *sid = ch->creds[i].account_sid;
        const char *secret = ch->creds[i].secret;
        if ((sid && (!*sid || strlen(sid) >= STORE_PROVIDER_SID_MAX)) ||
            (secret && (!*secret || strlen(secret) >= STORE_SECRET_MAX))) {
            fprintf(stderr, "error: %s: an account id takes 1 to %d bytes, a secret 1 to %d\n",
                    ch->creds[i].provider, STORE_PROVIDER_SID_MAX - 1, STORE_SECRET_MAX - 1);
            return -1;
        }
    }
    return 0;
}

static int account_set(int argc, char **argv)
{
    const char *db = "./opendni.db", *key_file = NULL;
    struct account_changes ch = {
        .creds = {[CRED_TWILIO] = {.provider = "twilio", .flag = "twilio-auth-token"},
                  [CRED_SIGNALWIRE] = {.provider = "signalwire", .flag = "signalwire-signing-key"},
                  [CRED_TELNYX] = {.provider = "telnyx", .flag = "telnyx-public-key"}}};
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"secrets-key-file", OPT_STR, &key_file, "OPENDNI_SECRETS_KEY_FILE",
         "file holding the key provider secrets are sealed with (else OPENDNI_SECRETS_KEY)"},
        {"twilio-auth-token-file", OPT_STR, &ch.creds[CRED_TWILIO].secret_file, NULL,
         "file holding the Twilio auth token, - for standard input (preferred: a flag's value "
         "shows in the process list)"},
        {"twilio-auth-token", OPT_STR, &ch.creds[CRED_TWILIO].secret, NULL, "Twilio auth token"},
        {"twilio-account-sid", OPT_STR, &ch.creds[CRED_TWILIO].account_sid, NULL,
         "Twilio AccountSid (AC…)"},
        {"signalwire-signing-key-file", OPT_STR, &ch.creds[CRED_SIGNALWIRE].secret_file, NULL,
         "file holding the SignalWire Signing Key, - for standard input"},
        {"signalwire-signing-key", OPT_STR, &ch.creds[CRED_SIGNALWIRE].secret, NULL,
         "SignalWire project's Signing Key (API Credentials)"},
        {"signalwire-project-id", OPT_STR, &ch.creds[CRED_SIGNALWIRE].account_sid, NULL,
         "SignalWire project id (the webhooks' AccountSid)"},
        {"telnyx-public-key-file", OPT_STR, &ch.creds[CRED_TELNYX].secret_file, NULL,
         "file holding the Telnyx public key, - for standard input"},
        {"telnyx-public-key", OPT_STR, &ch.creds[CRED_TELNYX].secret, NULL,
         "Telnyx webhook public key (base64, from the Mission Control Portal)"},
        {"telnyx-account-sid", OPT_STR, &ch.creds[CRED_TELNYX].account_sid, NULL,
         "Telnyx account id (the TeXML webhooks' AccountSid)"},
        {"settings", OPT_STR, &ch.settings, NULL,
         "account settings as JSON, replacing them: {\"record_calls\":false,\"conversion\":{…}}"},
        {0},
    };
    const char *pos[1];
    int rc = cli_opts(argc, argv, 2, opts,
                      "opendni account set ID [--twilio-auth-token-file FILE|-]"
                      " [--twilio-account-sid AC…] [--signalwire-signing-key-file FILE|-]"
                      " [--signalwire-project-id ID] [--telnyx-public-key-file FILE|-]"
                      " [--telnyx-account-sid ID] [--settings JSON] (--NAME VALUE instead of"
                      " --NAME-file also works for each secret)",
                      pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (read_secret_files(&ch) < 0)
        return EXIT_USAGE;
    bool any = ch.settings;
    for (size_t i = 0; i < ARRAY_SIZE(ch.creds); i++)
        any |= ch.creds[i].account_sid || ch.creds[i].secret;
    if (rc != 1 || !any) {
        fprintf(stderr, "error: account set needs an ID and a provider secret or --settings\n");
        return EXIT_USAGE;
    }
    if (check_changes(&ch) < 0)
        return EXIT_USAGE;
    struct store *s = cli_open_store(db, key_file);
    if (!s)
        return EXIT_FAIL;
    rc = apply_changes(s, pos[0], &ch);
    store_close(s);
    for (size_t i = 0; i < ARRAY_SIZE(ch.creds); i++)
        memset(ch.creds[i].read, 0, sizeof(ch.creds[i].read));
    if (rc) {
        fprintf(stderr, "error: %s\n",
                rc == ERR_NOTFOUND      ? "no such account"
                : rc == ERR_UNSUPPORTED ? "provider secrets are stored sealed: give "
                                          "--secrets-key-file FILE or set OPENDNI_SECRETS_KEY "
                                          "(opendni secrets keygen FILE makes one); nothing changed"
                                        : "cannot update");
        return EXIT_FAIL;
    }
    printf("account %s updated\n", pos[0]);
    return EXIT_OK;
}

/* Resolves the account named by ID in db. Prints the error; NULL store on failure. */
static struct store *open_account(const char *db, const char *id, struct st_account *a)
{
    struct store *s = cli_open_store(db, NULL);
    if (s && store_account_get(s, id, a) != ERR_OK) {
        fprintf(stderr, "error: no account '%s'\n", id);
        store_close(s);
        return NULL;
    }
    return s;
}

static int account_key(int argc, char **argv)
{
    const char *db = "./opendni.db", *keep = NULL;
    bool as_json = false;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"revoke-others", OPT_STR, &keep, NULL,
         "instead of adding a key: revoke every key of the account but this one"},
        {"json", OPT_BOOL, &as_json, NULL, "print {\"account_id\",\"api_key\"} as JSON"},
        {0},
    };
    const char *pos[1];
    int rc = cli_opts(
        argc, argv, 2, opts,
        "opendni account key ID [--json] | opendni account key ID --revoke-others KEY", pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1) {
        fprintf(stderr, "error: account key needs an account ID\n");
        return EXIT_USAGE;
    }
    struct st_account a;
    struct store *s = open_account(db, pos[0], &a);
    if (!s)
        return EXIT_FAIL;
    char key[80], hash[65];
    int64_t n = 0;
    if (keep) {
        accounts_key_hash(keep, hash);
        rc = store_api_key_revoke_others(s, a.id, hash, time_now_ms(), &n);
    } else {
        id_new("odk_", 52, key, sizeof(key));
        accounts_key_hash(key, hash);
        rc = store_api_key_add(s, a.id, hash, time_now_ms());
    }
    store_close(s);
    if (rc) {
        fprintf(stderr, "error: %s\n",
                rc == ERR_NOTFOUND ? "that key is not one of the account's "
                                     "valid keys"
                                   : "cannot update keys");
        return EXIT_FAIL;
    }
    if (keep)
        printf("revoked %" PRId64 " other key(s) of %s\n", n, a.ext_id);
    else if (as_json)
        printf("{\"account_id\":\"%s\",\"api_key\":\"%s\"}\n", a.ext_id, key);
    else
        printf("new api key for %s (shown once; the old ones stay valid until revoked): %s\n",
               a.ext_id, key);
    return EXIT_OK;
}

static int add_provider(void *ctx, const struct st_provider_cred *c)
{
    char *list = ctx;
    size_t n = strlen(list);
    snprintf(list + n, 128 - n, "%s%s", n ? "," : "", c->provider);
    return 0;
}

/* One line per account: id, name, the providers it has credentials for ("-": none). */
static int print_account(void *ctx, const struct st_account *a)
{
    char providers[128] = "";
    if (store_provider_cred_list(ctx, a->id, add_provider, providers) != ERR_OK)
        snprintf(providers, sizeof(providers), "(unreadable: see the log; secrets key?)");
    printf("%s\t%s\t%s\n", a->ext_id, a->name, providers[0] ? providers : "-");
    return 0;
}

static int account_list(int argc, char **argv)
{
    const char *db = "./opendni.db", *key_file = NULL;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"secrets-key-file", OPT_STR, &key_file, "OPENDNI_SECRETS_KEY_FILE",
         "file holding the key provider secrets are sealed with (else OPENDNI_SECRETS_KEY)"},
        {0},
    };
    int rc = cli_opts(argc, argv, 2, opts, "opendni account list [--db PATH]", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct store *s = cli_open_store(db, key_file);
    if (!s)
        return EXIT_FAIL;
    rc = store_account_list(s, print_account, s);
    store_close(s);
    return rc ? EXIT_FAIL : EXIT_OK;
}

static const struct cli_verb verbs[] = {
    {"create", account_create, "create an account and print its API key"},
    {"key", account_key, "add an API key, or revoke all keys but one (rotation)"},
    {"list", account_list, "list accounts"},
    {"set", account_set, "store provider secrets for an account"},
};

int cmd_account(int argc, char **argv)
{
    return cli_dispatch("account", verbs, ARRAY_SIZE(verbs), argc, argv);
}
