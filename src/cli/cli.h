/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The opendni subcommands. Each lives in cli/cmd_<name>.c and is listed in main.c's commands[].
 * A command gets argv from its own name on (argv[0] == "serve"), parses its own flags with
 * cli_opts(), and returns the process exit code: 0 ok, 1 failed, 2 usage, 78 bad config. */
#ifndef OPENDNI_CLI_CLI_H
#define OPENDNI_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CONFIG = 78 };

enum cli_opt_type { OPT_STR, OPT_INT, OPT_BOOL, OPT_DOUBLE, OPT_LIST };

#define CLI_LIST_MAX 16
/* The destination of an OPT_LIST flag: every occurrence (and comma-separated parts) in order. */
struct cli_list {
    const char *v[CLI_LIST_MAX];
    int n;
};

/* One flag of a command: "--name VALUE" (or "--name=VALUE"; OPT_BOOL takes no value).
 * env names an OPENDNI_* variable that supplies the default, or NULL. */
struct cli_opt {
    const char *name;
    enum cli_opt_type type;
    void *dst; /* const char **, long long *, bool *, double * or struct cli_list * */
    const char *env;
    const char *help;
};

/* Parses argv[first..] against opts; positional arguments are collected into pos (up to
 * max_pos). "--help" prints usage (usage line + the flags) to stdout and returns -1.
 * Returns the number of positionals, -1 for help shown, or -2 after printing one clear
 * line on stderr for a bad flag or value (the caller exits 2).
 *
 * A flag with an OPENDNI_* variable is a setting, and its long name is also a key of the
 * configuration file (cli_conf_parse): a command with settings accepts --config FILE (else
 * OPENDNI_CONFIG; else CLI_CONF_DEFAULT when it exists; "" for none). Precedence: the table's
 * initial values < the file < the environment < the flags. cli_opts applies the file's keys this
 * command has and ignores the others (the file is the server's; init, account ... share its db);
 * cli_opts_strict (serve) refuses a key that is not one of its settings. The file's text stays
 * allocated for the process's life: OPT_STR destinations point into it. Main thread only. */
int cli_opts(int argc, char **argv, int first, const struct cli_opt *opts, const char *usage,
             const char **pos, int max_pos);
int cli_opts_strict(int argc, char **argv, int first, const struct cli_opt *opts, const char *usage,
                    const char **pos, int max_pos);

/* Where the value of the option whose destination is dst came from, for an error message, as
 * the last cli_opts call set it: "--listen", "OPENDNI_LISTEN" or "PATH:LINE: listen"; the flag
 * ("--NAME") when it was not set. Borrowed, valid until the next cli_opts call. */
const char *cli_opt_source(const struct cli_opt *opts, const void *dst);

/* The configuration file the last cli_opts call read, or NULL when it read none. Borrowed. */
const char *cli_conf_path(void);

/* Prints "error: bad value 'V' for SOURCE: hint" (cli_opt_source) and returns -2. */
int cli_bad_value(const struct cli_opt *opts, const void *dst, const char *value, const char *hint);

/* The configuration file read when neither --config nor OPENDNI_CONFIG names one. */
#define CLI_CONF_DEFAULT "/etc/opendni/opendni.conf"
#define CLI_CONF_MAX 128

struct cli_conf_entry {
    const char *key;
    const char *val;
    int line;
};

/* A parsed configuration file: entries in file order, each key once. */
struct cli_conf {
    struct cli_conf_entry e[CLI_CONF_MAX];
    int n;
};

/* Parses a configuration file's text: one "key = value" a line; blank lines and lines whose
 * first non-blank character is '#' are ignored; spaces around the key and the value are
 * dropped, and a value in double quotes keeps what is inside them as is. text is modified in
 * place and out's strings point into it. Returns 0, or -1 with "PATH:LINE: what is wrong" in
 * err (a line without '=', an empty or malformed key, a key given twice, too many keys). */
int cli_conf_parse(char *text, const char *path, struct cli_conf *out, char *err, size_t cap);

/* Exit code for a cli_opts() result < 0: 0 after help, 2 after an error. */
int cli_opts_exit(int rc);

/* A verb of a command with sub-commands ("account create"). */
struct cli_verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* Runs the verb named by argv[1] (its fn gets the same argc/argv); otherwise prints the verbs,
 * to stdout for --help (exit 0) or to stderr after "error: CMD needs a verb" (exit 2). */
int cli_dispatch(const char *cmd, const struct cli_verb *verbs, size_t n, int argc, char **argv);

struct secrets_key;

/* The secrets key of a command (store/secrets.h): the file key_file (its --secrets-key-file;
 * NULL or "": OPENDNI_SECRETS_KEY_FILE), else OPENDNI_SECRETS_KEY. Returns 0 (out: *found,
 * false when none is configured; *out filled when true), or -1 after printing why the
 * configured key is unusable. */
int cli_secrets_key(const char *key_file, struct secrets_key *out, bool *found);

/* Opens the store named by --db, checks its schema and gives it the secrets key
 * (cli_secrets_key; none configured is fine until a provider secret is read or written).
 * Prints the error and returns NULL. */
struct store *cli_open_store(const char *db, const char *key_file);

int cmd_account(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_secrets(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_version(int argc, char **argv);

#endif
