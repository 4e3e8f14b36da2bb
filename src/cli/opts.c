/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Flag parsing shared by every command: one table of struct cli_opt per command. */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/err.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_hint[] = {"STR", "N", "", "X", "A[,B…]"};

/* The flag's current value as its default ("" when it has none worth showing: an empty string,
 * an empty list). Called before the environment and argv are applied. */
static void default_of(const struct cli_opt *o, char *out, size_t cap)
{
    out[0] = '\0';
    switch (o->type) {
    case OPT_STR: {
        const char *v = *(const char *const *)o->dst;
        if (v && *v)
            snprintf(out, cap, "%s", v);
        break;
    }
    case OPT_INT:
        snprintf(out, cap, "%lld", *(const long long *)o->dst);
        break;
    case OPT_DOUBLE:
        snprintf(out, cap, "%g", *(const double *)o->dst);
        break;
    case OPT_BOOL:
        snprintf(out, cap, "%s", *(const bool *)o->dst ? "on" : "off");
        break;
    case OPT_LIST:
        break;
    }
}

/* One line per flag: name, help, then (TYPE; default X; env OPENDNI_X) as far as they apply. */
static void print_usage(const struct cli_opt *opts, const char *usage)
{
    printf("usage: %s\n", usage);
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        char def[128];
        default_of(o, def, sizeof(def));
        printf("  --%-22s %s", o->name, o->help);
        const char *sep = " (";
        if (o->type != OPT_BOOL) {
            printf("%s%s", sep, type_hint[o->type]);
            sep = "; ";
        }
        if (def[0]) {
            printf("%sdefault %s", sep, def);
            sep = "; ";
        }
        if (o->env) {
            printf("%senv %s", sep, o->env);
            sep = "; ";
        }
        printf("%s\n", sep[0] == ';' ? ")" : "");
    }
    printf("  --%-22s %s\n", "help", "show this help");
}

static int set_value(const struct cli_opt *o, const char *v)
{
    char *end;
    switch (o->type) {
    case OPT_STR:
        *(const char **)o->dst = v;
        return 0;
    case OPT_INT: {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return -1;
        *(long long *)o->dst = n;
        return 0;
    }
    case OPT_DOUBLE: {
        errno = 0;
        double d = strtod(v, &end);
        if (errno || end == v || *end)
            return -1;
        *(double *)o->dst = d;
        return 0;
    }
    case OPT_LIST: {
        struct cli_list *l = o->dst;
        if (l->n >= CLI_LIST_MAX)
            return -1;
        l->v[l->n++] = v;
        return 0;
    }
    case OPT_BOOL:
        *(bool *)o->dst = strcmp(v, "0") != 0 && strcmp(v, "false") != 0 && strcmp(v, "off") != 0;
        return 0;
    }
    return -1;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t n)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return o;
    return NULL;
}

static int apply_env(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v && *v && set_value(o, v) < 0) {
            fprintf(stderr, "error: bad value '%s' in %s\n", v, o->env);
            return -2;
        }
    }
    return 0;
}

int cli_opts(int argc, char **argv, int first, const struct cli_opt *opts, const char *usage,
             const char **pos, int max_pos)
{
    int n_pos = 0;
    /* Help first, so the defaults it shows are the built-in ones, not the environment's. */
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(opts, usage);
            return -1;
        }
    if (apply_env(opts) < 0)
        return -2;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (n_pos >= max_pos) {
                fprintf(stderr, "error: unexpected argument '%s' (see --help)\n", a);
                return -2;
            }
            pos[n_pos++] = a;
            continue;
        }
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const struct cli_opt *o = find_opt(opts, a + 2, len);
        if (!o) {
            fprintf(stderr, "error: unknown option '%.*s' (see --help)\n", (int)len + 2, a);
            return -2;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && o->type == OPT_BOOL)
            v = "1";
        if (!v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: option '--%s' needs a value\n", o->name);
                return -2;
            }
            v = argv[++i];
        }
        if (set_value(o, v) < 0) {
            fprintf(stderr, "error: bad value '%s' for --%s\n", v, o->name);
            return -2;
        }
    }
    return n_pos;
}

int cli_opts_exit(int rc)
{
    return rc == -1 ? EXIT_OK : EXIT_USAGE;
}

int cli_secrets_key(const char *key_file, struct secrets_key *out, bool *found)
{
    struct errbuf eb = {{0}, NULL};
    if (!key_file || !*key_file)
        key_file = getenv("OPENDNI_SECRETS_KEY_FILE");
    if (secrets_key_configured(key_file, out, found, &eb) != ERR_OK) {
        fprintf(stderr, "error: %s\n", eb.msg);
        return -1;
    }
    return 0;
}

struct store *cli_open_store(const char *db, const char *key_file)
{
    struct store *s = NULL;
    struct errbuf eb = {{0}, NULL};
    struct secrets_key key;
    bool has_key = false;
    if (cli_secrets_key(key_file, &key, &has_key) < 0)
        return NULL;
    int rc = store_open(db, &s, &eb);
    if (rc == ERR_OK)
        rc = store_check(s, &eb);
    if (rc) {
        fprintf(stderr, "error: %s\n", eb.msg);
        store_close(s);
        return NULL;
    }
    store_secrets_keys(s, has_key ? &key : NULL, NULL);
    memset(&key, 0, sizeof(key));
    return s;
}

int cli_dispatch(const char *cmd, const struct cli_verb *verbs, size_t n, int argc, char **argv)
{
    for (size_t i = 0; argc >= 2 && i < n; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc, argv);
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    FILE *out = help ? stdout : stderr;
    if (!help)
        fprintf(stderr, "error: %s needs a verb (see opendni %s --help)\n", cmd, cmd);
    fprintf(out, "usage: opendni %s <verb> [options]   (opendni %s <verb> --help)\n", cmd, cmd);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    return help ? EXIT_OK : EXIT_USAGE;
}
