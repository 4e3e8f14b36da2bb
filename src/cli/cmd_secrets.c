/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni secrets keygen|rotate: the key provider secrets and webhook signing secrets are sealed
 * with (store/secrets.h). keygen writes a new random key to a new 0600 file; rotate re-seals
 * every stored secret from the old key to the new one in one transaction
 * (store_secrets_reseal). */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/timefmt.h"
#include "app/routing.h"
#include "store/store.h"

static int secrets_keygen(int argc, char **argv)
{
    const struct cli_opt opts[] = {{0}};
    const char *pos[1];
    int rc = cli_opts(argc, argv, 2, opts, "opendni secrets keygen FILE", pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1 || !*pos[0]) {
        fprintf(stderr, "error: secrets keygen needs the FILE to write the key to\n");
        return EXIT_USAGE;
    }
    struct errbuf eb = {{0}, NULL};
    struct secrets_key k;
    if (secrets_key_generate(pos[0], &k, &eb) != ERR_OK) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    printf("new secrets key %s written to %s (mode 0600); keep a copy outside the database's "
           "backups\n",
           k.kid, pos[0]);
    memset(&k, 0, sizeof(k));
    return EXIT_OK;
}

/* Loads a required key file. -1 after printing why. */
static int load_key(const char *flag, const char *path, struct secrets_key *k)
{
    struct errbuf eb = {{0}, NULL};
    if (!path || !*path) {
        fprintf(stderr, "error: secrets rotate needs --%s FILE\n", flag);
        return -1;
    }
    if (secrets_key_load(path, k, &eb) != ERR_OK) {
        fprintf(stderr, "error: --%s: %s\n", flag, eb.msg);
        return -1;
    }
    return 0;
}

static int secrets_rotate(int argc, char **argv)
{
    const char *db = "./opendni.db", *old_file = NULL, *new_file = NULL;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"old-key-file", OPT_STR, &old_file, NULL, "the key the secrets are sealed with now"},
        {"new-key-file", OPT_STR, &new_file, NULL, "the key to seal them with from now on"},
        {0},
    };
    int rc = cli_opts(argc, argv, 2, opts,
                      "opendni secrets rotate --old-key-file FILE --new-key-file FILE [--db PATH]",
                      NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct secrets_key old_key, new_key;
    if (load_key("old-key-file", old_file, &old_key) < 0 ||
        load_key("new-key-file", new_file, &new_key) < 0)
        return EXIT_USAGE;
    struct store *s = cli_open_store(db, new_file);
    if (!s)
        return EXIT_FAIL;
    store_secrets_keys(s, &new_key, &old_key);
    memset(&old_key, 0, sizeof(old_key));
    memset(&new_key, 0, sizeof(new_key));
    struct errbuf eb = {{0}, NULL};
    int64_t n = 0;
    rc = store_secrets_reseal_with(s, time_now_ms(), routing_reseal_buyers, NULL, &n, &eb);
    store_close(s);
    if (rc) {
        fprintf(stderr, "error: %s; nothing changed\n", eb.msg);
        return EXIT_FAIL;
    }
    printf("re-sealed %" PRId64
           " secret(s) (provider credentials, webhook and buyer signing secrets) with "
           "the new key; restart opendni serve with "
           "it, then retire the old key\n",
           n);
    return EXIT_OK;
}

static const struct cli_verb verbs[] = {
    {"keygen", secrets_keygen, "write a new random secrets key to a new file (0600)"},
    {"rotate", secrets_rotate, "re-seal every stored secret with a new key, in one transaction"},
};

int cmd_secrets(int argc, char **argv)
{
    return cli_dispatch("secrets", verbs, ARRAY_SIZE(verbs), argc, argv);
}
