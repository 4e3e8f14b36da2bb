/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni backup: a consistent copy of the store while it is in use, a server running on it
 * included (store_backup: SQLite's online backup API; a PostgreSQL store is refused with a
 * pointer to pg_dump). The copy is mode 0600, like the store. Restoring is documented in
 * docs/operations.md: stop the server, put the copy in place with its mode, start it again. */
#include "base/prelude.h"
#include "cli/cli.h"

#include "store/store.h"

int cmd_backup(int argc, char **argv)
{
    const char *db = "./opendni.db", *to = "";
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"to", OPT_STR, &to, NULL, "file to write the copy to (replaced when it exists)"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts, "opendni backup --db PATH --to FILE", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (!*to) {
        fprintf(stderr, "error: backup needs --to FILE (see --help)\n");
        return EXIT_USAGE;
    }
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    rc = store_open(db, &s, &eb);
    if (rc == ERR_OK)
        rc = store_check(s, &eb);
    if (rc == ERR_OK)
        rc = store_backup(s, to, &eb);
    store_close(s);
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        if (rc == ERR_UNSUPPORTED)
            fprintf(stderr, "hint: back up a PostgreSQL store with pg_dump "
                            "(docs/operations.md, \"Backups\")\n");
        return rc == ERR_INVALID ? EXIT_USAGE : EXIT_FAIL;
    }
    printf("backed up %s to %s\n", db, to);
    return EXIT_OK;
}
