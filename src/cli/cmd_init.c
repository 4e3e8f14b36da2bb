/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni init: create or migrate the store (idempotent; refuses a newer schema and a damaged
 * store: PRAGMA integrity_check), make its files private (0600), and seal the provider secrets
 * still stored in clear once a secrets key is configured (store_secrets_reseal). */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/timefmt.h"
#include "app/routing.h"
#include "store/store.h"

/* Seals what an older opendni stored in clear. A store without a key only hears how many
 * secrets wait (a warning: the schema is migrated all the same). */
static int seal_clear_secrets(struct store *s, bool has_key)
{
    struct errbuf eb = {{0}, NULL};
    int64_t n = 0;
    int rc = store_secrets_reseal_with(s, time_now_ms(), routing_reseal_buyers, NULL, &n, &eb);
    if (rc == ERR_UNSUPPORTED && !has_key) {
        fprintf(stderr, "warning: %s\n", eb.msg);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return -1;
    }
    if (n)
        printf("sealed %" PRId64 " secret(s) with the secrets key\n", n);
    return 0;
}

int cmd_init(int argc, char **argv)
{
    const char *db = "./opendni.db", *key_file = NULL;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"secrets-key-file", OPT_STR, &key_file, "OPENDNI_SECRETS_KEY_FILE",
         "file holding the key provider secrets are sealed with (else OPENDNI_SECRETS_KEY)"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts,
                      "opendni init [--db PATH_OR_URL] [--secrets-key-file FILE]", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct secrets_key key;
    bool has_key = false;
    if (cli_secrets_key(key_file, &key, &has_key) < 0)
        return EXIT_FAIL;
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    int version = 0;
    rc = store_open(db, &s, &eb);
    if (rc == ERR_OK)
        rc = store_verify(s, true, &eb); /* a damaged store is not migrated, nor called ready */
    if (rc == ERR_OK)
        rc = store_migrate(s, time_now_ms(), &version, &eb);
    if (rc) {
        store_close(s);
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    store_secrets_keys(s, has_key ? &key : NULL, NULL);
    memset(&key, 0, sizeof(key));
    rc = seal_clear_secrets(s, has_key);
    store_close(s);
    if (rc < 0)
        return EXIT_FAIL;
    printf("store %s ready (schema version %d)\n", db, version);
    return EXIT_OK;
}
