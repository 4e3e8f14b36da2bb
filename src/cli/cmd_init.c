/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni init: create or migrate the store. Idempotent; refuses a newer schema. */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/timefmt.h"
#include "store/store.h"

int cmd_init(int argc, char **argv)
{
    const char *db = "./opendni.db";
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts, "opendni init [--db PATH_OR_URL]", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    int version = 0;
    rc = store_open(db, &s, &eb);
    if (rc == ERR_OK)
        rc = store_migrate(s, time_now_ms(), &version, &eb);
    store_close(s);
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return EXIT_FAIL;
    }
    printf("store %s ready (schema version %d)\n", db, version);
    return EXIT_OK;
}
