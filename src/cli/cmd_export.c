/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni export trace: writes the store's visit, page-view, tel: click and call history as the
 * simulator's CSV trace (API.md "Simulator"), so `opendni simulate --trace` can size pools on
 * the site's own traffic. Verbs sit in a table like the other nested commands. */
#include "base/prelude.h"
#include "cli/cli.h"

#include <errno.h>

#include "base/buf.h"
#include "base/timefmt.h"
#include "app/poolsim.h"
#include "store/store.h"

struct export_ctx {
    FILE *out;
    int64_t since;
    uint64_t rows;
    struct buf line; /* the row being written */
};

static int write_row(void *arg, const struct st_trace_row *r)
{
    struct export_ctx *x = arg;
    buf_reset(&x->line);
    if (poolsim_trace_row(&x->line, x->since, r) != ERR_OK)
        return 1;
    fwrite(x->line.data, 1, x->line.len, x->out);
    x->rows++;
    return 0;
}

static int resolve_account(struct store *s, const char *ext, int64_t *id)
{
    struct st_account a;
    if (!*ext)
        return ERR_OK;
    if (store_account_get(s, ext, &a) != ERR_OK) {
        fprintf(stderr, "error: no account '%s'\n", ext);
        return ERR_NOTFOUND;
    }
    *id = a.id;
    return ERR_OK;
}

static int run_export(const char *db, const char *account, int64_t since, const char *path)
{
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    int64_t account_id = 0;
    FILE *out = NULL;
    int rc = resolve_account(s, account, &account_id);
    if (rc == ERR_OK) {
        out = path ? fopen(path, "w") : stdout;
        if (!out)
            fprintf(stderr, "error: cannot write '%s': %s\n", path, strerror(errno));
    }
    struct export_ctx x = {out, since, 0, {0}};
    buf_init(&x.line, 4096);
    if (out) {
        fputs(POOLSIM_TRACE_HEADER, out);
        rc = store_export_trace(s, account_id, since, write_row, &x);
        if (rc)
            fprintf(stderr, "error: cannot read the store: %s\n", err_str(rc));
    }
    if (out && (fflush(out) != 0 || ferror(out)) && rc == ERR_OK)
        rc = ERR_IO;
    if (out && out != stdout && fclose(out) != 0 && rc == ERR_OK)
        rc = ERR_IO;
    buf_release(&x.line);
    store_close(s);
    return out && rc == ERR_OK ? EXIT_OK : EXIT_FAIL;
}

static int export_trace(int argc, char **argv)
{
    const char *db = "./opendni.db", *since_s = NULL, *account = "", *path = NULL;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", "store: SQLite file path or postgres:// URL"},
        {"since", OPT_STR, &since_s, NULL, "first day (YYYY-MM-DD or RFC 3339): trace time 0"},
        {"account", OPT_STR, &account, NULL, "only this account (acc_…); default: all"},
        {"out", OPT_STR, &path, NULL, "write to this file instead of stdout"},
        {0},
    };
    int rc = cli_opts(argc, argv, 2, opts,
                      "opendni export trace --since DATE [--account ID] "
                      "[--out FILE] [--db PATH]",
                      NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    int64_t since = 0;
    if (!since_s || time_parse(since_s, &since) != ERR_OK) {
        fprintf(stderr, "error: --since needs a date like 2026-11-01\n");
        return EXIT_USAGE;
    }
    return run_export(db, account, since, path);
}

static const struct cli_verb verbs[] = {
    {"trace", export_trace, "visits, page views, tel: clicks and calls as a simulator trace"},
};

int cmd_export(int argc, char **argv)
{
    return cli_dispatch("export", verbs, ARRAY_SIZE(verbs), argc, argv);
}
