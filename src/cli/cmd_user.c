/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni user add|list|remove|set-password: dashboard users and their role per account
 * (app/users.h). Passwords come only from standard input (--password-stdin), never from a flag
 * that the process list would show. Every change is written to the audit log as actor "cli". */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/timefmt.h"
#include "app/users.h"
#include "store/store.h"

#define DB_HELP "store: SQLite file path or postgres:// URL"

/* Reads one line (the password) from standard input into out, without its line end.
 * Returns its length, or -1 after printing why. */
static long read_password(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin)) {
        fprintf(stderr, "error: --password-stdin: no password on standard input\n");
        return -1;
    }
    size_t n = strlen(out);
    if (n == cap - 1 && out[n - 1] != '\n') {
        fprintf(stderr, "error: the password is longer than %d bytes\n", ACCESS_PASSWORD_MAX);
        return -1;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return (long)n;
}

static int fail(const struct errbuf *eb)
{
    fprintf(stderr, "error: %s\n", eb->msg);
    return EXIT_FAIL;
}

static int user_add(int argc, char **argv)
{
    const char *db = "./opendni.db", *account = NULL, *role = NULL;
    bool pw_stdin = false;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", DB_HELP},
        {"account", OPT_STR, &account, NULL, "the account (acc_…) to give the user a role in"},
        {"role", OPT_STR, &role, NULL, "owner, admin, analyst or viewer"},
        {"password-stdin", OPT_BOOL, &pw_stdin, NULL,
         "read the password from standard input (needed for a new user)"},
        {0},
    };
    const char *pos[1];
    int rc = cli_opts(argc, argv, 2, opts,
                      "opendni user add EMAIL --account ID --role owner|admin|analyst|viewer "
                      "--password-stdin [--db PATH]",
                      pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1 || !account || !role || access_role_parse(role) == ACCESS_NONE) {
        fprintf(stderr, "error: user add needs EMAIL, --account ID and --role "
                        "owner|admin|analyst|viewer\n");
        return EXIT_USAGE;
    }
    char pw[ACCESS_PASSWORD_MAX + 2];
    long pw_len = pw_stdin ? read_password(pw, sizeof(pw)) : 0;
    if (pw_len < 0)
        return EXIT_USAGE;
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    struct errbuf eb = {{0}, NULL};
    bool created = false;
    rc = users_add(s, pos[0], account, role, pw_stdin ? pw : NULL, (size_t)pw_len, "cli",
                   time_now_ms(), &created, &eb);
    store_close(s);
    if (rc)
        return rc == ERR_INVALID ? (fprintf(stderr, "error: %s\n", eb.msg), EXIT_USAGE) : fail(&eb);
    printf("%s %s: %s in %s%s\n", created ? "created" : "updated", pos[0], role, account,
           !created && pw_stdin ? " (existing user: password unchanged; use user set-password)"
                                : "");
    return EXIT_OK;
}

static int user_set_password(int argc, char **argv)
{
    const char *db = "./opendni.db";
    bool pw_stdin = false;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", DB_HELP},
        {"password-stdin", OPT_BOOL, &pw_stdin, NULL, "read the new password from standard input"},
        {0},
    };
    const char *pos[1];
    int rc = cli_opts(argc, argv, 2, opts,
                      "opendni user set-password EMAIL --password-stdin [--db PATH]", pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1 || !pw_stdin) {
        fprintf(stderr, "error: user set-password needs EMAIL and --password-stdin\n");
        return EXIT_USAGE;
    }
    char pw[ACCESS_PASSWORD_MAX + 2];
    long pw_len = read_password(pw, sizeof(pw));
    if (pw_len < 0)
        return EXIT_USAGE;
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    struct errbuf eb = {{0}, NULL};
    rc = users_set_password(s, pos[0], pw, (size_t)pw_len, "cli", time_now_ms(), &eb);
    store_close(s);
    if (rc)
        return rc == ERR_INVALID ? (fprintf(stderr, "error: %s\n", eb.msg), EXIT_USAGE) : fail(&eb);
    printf("password of %s changed; their sessions are ended\n", pos[0]);
    return EXIT_OK;
}

static int user_remove(int argc, char **argv)
{
    const char *db = "./opendni.db", *account = NULL;
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", DB_HELP},
        {"account", OPT_STR, &account, NULL,
         "remove only the user's role in this account (default: the user and all roles)"},
        {0},
    };
    const char *pos[1];
    int rc = cli_opts(argc, argv, 2, opts, "opendni user remove EMAIL [--account ID] [--db PATH]",
                      pos, 1);
    if (rc < 0)
        return cli_opts_exit(rc);
    if (rc != 1) {
        fprintf(stderr, "error: user remove needs EMAIL\n");
        return EXIT_USAGE;
    }
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    struct errbuf eb = {{0}, NULL};
    rc = users_remove(s, pos[0], account, "cli", time_now_ms(), &eb);
    store_close(s);
    if (rc)
        return fail(&eb);
    printf("removed %s%s%s\n", pos[0], account ? " from " : "", account ? account : "");
    return EXIT_OK;
}

/* One line per membership: email, account, role; users without one show "-". */
static int print_membership(void *ctx, const struct st_membership *m)
{
    (*(int *)ctx)++;
    printf("%s\t%s\t%s\n", m->email, m->account_ext, m->role);
    return 0;
}

static int print_user(void *ctx, const struct st_user *u)
{
    int n = 0;
    if (store_membership_list(ctx, u->id, 0, print_membership, &n) != ERR_OK)
        return 1;
    if (n == 0)
        printf("%s\t-\t-\n", u->email);
    return 0;
}

static int user_list(int argc, char **argv)
{
    const char *db = "./opendni.db";
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &db, "OPENDNI_DB", DB_HELP},
        {0},
    };
    int rc = cli_opts(argc, argv, 2, opts, "opendni user list [--db PATH]", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    struct store *s = cli_open_store(db, NULL);
    if (!s)
        return EXIT_FAIL;
    rc = store_user_list(s, print_user, s);
    store_close(s);
    return rc ? EXIT_FAIL : EXIT_OK;
}

static const struct cli_verb verbs[] = {
    {"add", user_add, "create a dashboard user, or give one a role in another account"},
    {"list", user_list, "list users and their roles (email, account, role)"},
    {"remove", user_remove, "delete a user, or take their role in one account away"},
    {"set-password", user_set_password, "replace a user's password and end their sessions"},
};

int cmd_user(int argc, char **argv)
{
    return cli_dispatch("user", verbs, ARRAY_SIZE(verbs), argc, argv);
}
