/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni erase: a GDPR/CCPA erasure request from the command line, as POST /v1/erasures
 * (app/privacy.c): the visitor's or the caller's personal data is scrubbed from the account,
 * the calls stay counted, and the erasure is recorded. Safe while a server runs on the store. */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/json.h"
#include "base/timefmt.h"
#include "base/xalloc.h"
#include "app/privacy.h"
#include "store/store.h"

int cmd_erase(int argc, char **argv)
{
    const char *db = "./opendni.db", *account = "", *visitor = "", *caller = "", *reference = "";
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"account", OPT_STR, &account, NULL, "the account (acc_…)"},
        {"visitor", OPT_STR, &visitor, NULL, "erase this visitor id (the tracker's v_…)"},
        {"caller", OPT_STR, &caller, NULL, "erase this caller's number (+1…)"},
        {"reference", OPT_STR, &reference, NULL, "your reference for the request (a ticket)"},
        {0},
    };
    int rc = cli_opts(argc, argv, 1, opts,
                      "opendni erase --account ACC (--visitor ID | --caller NUMBER) [--reference "
                      "TEXT] --db PATH",
                      NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (!*account || !*visitor == !*caller) {
        fprintf(stderr, "error: erase needs --account and one of --visitor and --caller\n");
        return EXIT_USAGE;
    }
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    struct st_account a;
    struct st_erasure *e = xcalloc(1, sizeof(*e));
    struct errbuf eb = {{0}, NULL};
    rc = store_account_get(s, account, &a);
    if (rc)
        fprintf(stderr, "error: no account '%s'\n", account);
    else
        rc = privacy_erase(s, a.id, *visitor ? "visitor" : "caller", *visitor ? visitor : caller,
                           "cli", reference, time_now_ms(), e, &eb);
    if (rc == ERR_OK) {
        json_t *v = privacy_erasure_json(e);
        char *text = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
        printf("%s\n", text ? text : e->ext_id);
        free(text);
        json_decref(v);
    } else if (eb.msg[0]) {
        fprintf(stderr, "error: %s\n", eb.msg);
    }
    free(e);
    store_close(s);
    return rc == ERR_OK ? EXIT_OK : rc == ERR_INVALID ? EXIT_USAGE : EXIT_FAIL;
}
