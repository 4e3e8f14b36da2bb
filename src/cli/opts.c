/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Flag parsing shared by every command: one table of struct cli_opt per command. */
#include "base/prelude.h"
#include "cli/cli.h"

#include "base/err.h"
#include "base/xalloc.h"
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static void print_usage(const struct cli_opt *opts, const char *usage, bool conf)
{
    printf("usage: %s\n", usage);
    if (conf)
        printf("  --%-22s %s (STR; default %s when present; env OPENDNI_CONFIG; \"\": none)\n",
               "config",
               "configuration file: 'key = value' lines, keys the flags below that have an env",
               CLI_CONF_DEFAULT);
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

static int set_bool(bool *dst, const char *v)
{
    static const char *const yes[] = {"1", "true", "on", "yes"};
    static const char *const no[] = {"0", "false", "off", "no"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcmp(v, yes[i]) == 0)
            return *dst = true, 0;
        if (strcmp(v, no[i]) == 0)
            return *dst = false, 0;
    }
    return -1;
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
        return set_bool(o->dst, v);
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

/* ---- where each value came from (for error messages) ---- */

#define N_SOURCES 96
static struct {
    const void *dst;
    char what[320];
} sources[N_SOURCES];
static int n_sources;

static void source_set(const struct cli_opt *o, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void source_set(const struct cli_opt *o, const char *fmt, ...)
{
    int i = 0;
    while (i < n_sources && sources[i].dst != o->dst)
        i++;
    if (i == N_SOURCES)
        return;
    if (i == n_sources)
        n_sources++;
    sources[i].dst = o->dst;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sources[i].what, sizeof(sources[i].what), fmt, ap);
    va_end(ap);
}

const char *cli_opt_source(const struct cli_opt *opts, const void *dst)
{
    static char flag[128];
    for (int i = 0; i < n_sources; i++)
        if (sources[i].dst == dst)
            return sources[i].what;
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (o->dst == dst) {
            snprintf(flag, sizeof(flag), "--%s", o->name);
            return flag;
        }
    return "?";
}

int cli_bad_value(const struct cli_opt *opts, const void *dst, const char *value, const char *hint)
{
    const char *src = cli_opt_source(opts, dst);
    /* A file's source reads "PATH:LINE: key": the location leads, as compilers print it. */
    const char *key = strstr(src, ": ");
    if (src[0] != '-' && key && strncmp(src, "OPENDNI_", 8) != 0)
        fprintf(stderr, "error: %.*s: bad value '%s' for %s: %s\n", (int)(key - src), src, value,
                key + 2, hint);
    else
        fprintf(stderr, "error: bad value '%s' for %s: %s\n", value, src, hint);
    return -2;
}

/* ---- the configuration file ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool key_ok(const char *k)
{
    if (*k < 'a' || *k > 'z')
        return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* One line: 0 (out: *key, *val; both NULL for a blank or comment line) or -1 with what. */
static int conf_line(char *line, const char **key, const char **val, const char **what)
{
    *key = *val = NULL;
    char *t = trim(line);
    if (!*t || *t == '#')
        return 0;
    char *eq = strchr(t, '=');
    if (!eq)
        return *what = "expected 'key = value'", -1;
    *eq = '\0';
    char *k = trim(t);
    char *v = trim(eq + 1);
    if (!key_ok(k))
        return *what = "a key is a flag's long name: lowercase letters, digits and '-'", -1;
    size_t n = strlen(v);
    if (v[0] == '"') {
        if (n < 2 || v[n - 1] != '"')
            return *what = "unterminated quoted value", -1;
        v[n - 1] = '\0';
        v++;
    }
    *key = k;
    *val = v;
    return 0;
}

int cli_conf_parse(char *text, const char *path, struct cli_conf *out, char *err, size_t cap)
{
    out->n = 0;
    int lineno = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        const char *key;
        const char *val;
        const char *what = NULL;
        if (conf_line(p, &key, &val, &what) < 0) {
            snprintf(err, cap, "%s:%d: %s", path, lineno, what);
            return -1;
        }
        p = nl ? nl + 1 : NULL;
        if (!key)
            continue;
        for (int i = 0; i < out->n; i++)
            if (strcmp(out->e[i].key, key) == 0) {
                snprintf(err, cap, "%s:%d: '%s' given twice (first on line %d)", path, lineno, key,
                         out->e[i].line);
                return -1;
            }
        if (out->n == CLI_CONF_MAX) {
            snprintf(err, cap, "%s:%d: more than %d keys", path, lineno, CLI_CONF_MAX);
            return -1;
        }
        out->e[out->n++] = (struct cli_conf_entry){key, val, lineno};
    }
    return 0;
}

static bool has_settings(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (o->env)
            return true;
    return false;
}

/* The file to read: --config in argv, else OPENDNI_CONFIG, else the default when it exists.
 * Returns 0 (out: *path, NULL for none) or -2 after saying what is wrong. */
static int conf_path(int argc, char **argv, int first, const char **path)
{
    *path = NULL;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "error: option '--config' needs a value\n");
                return -2;
            }
            *path = argv[i + 1];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *path = argv[i] + 9;
        }
    }
    if (!*path)
        *path = getenv("OPENDNI_CONFIG");
    if (!*path && access(CLI_CONF_DEFAULT, F_OK) == 0)
        *path = CLI_CONF_DEFAULT;
    if (*path && !**path)
        *path = NULL;
    return 0;
}

/* Reads the whole file into a buffer that lives as long as the process (values point into it;
 * a static pointer keeps it reachable). NULL after printing why. */
static char *conf_read(const char *path)
{
    static char *texts[4];
    static int n_texts;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot read configuration file '%s': %s (--config '' reads none)\n",
                path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096;
    size_t len = 0;
    char *t = xmalloc(cap);
    size_t got;
    while ((got = fread(t + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            if (cap >= (1u << 20)) {
                fprintf(stderr, "error: configuration file '%s' is over 1 MiB\n", path);
                fclose(f);
                free(t);
                return NULL;
            }
            cap *= 2;
            t = xrealloc(t, cap);
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "error: cannot read configuration file '%s'\n", path);
        free(t);
        return NULL;
    }
    t[len] = '\0';
    if (n_texts == (int)ARRAY_SIZE(texts)) /* more parses than commands ever make: reuse */
        n_texts = 0;
    free(texts[n_texts]);
    texts[n_texts++] = t;
    return t;
}

/* Applies the file's keys to opts' settings; strict: a key that is not one is an error. */
static const char *conf_used; /* the last parse's file, NULL for none */

const char *cli_conf_path(void)
{
    return conf_used;
}

static int apply_conf(const struct cli_opt *opts, const char *path, bool strict)
{
    char *text = conf_read(path);
    if (!text)
        return -2;
    static struct cli_conf conf;
    char err[512];
    if (cli_conf_parse(text, path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "error: %s\n", err);
        return -2;
    }
    for (int i = 0; i < conf.n; i++) {
        const struct cli_conf_entry *e = &conf.e[i];
        const struct cli_opt *o = find_opt(opts, e->key, strlen(e->key));
        if (!o || !o->env) {
            if (!strict)
                continue;
            fprintf(stderr,
                    "error: %s:%d: unknown key '%s' (keys: the flags of opendni serve "
                    "--help that have an OPENDNI_ variable)\n",
                    path, e->line, e->key);
            return -2;
        }
        if (set_value(o, e->val) < 0) {
            fprintf(stderr, "error: %s:%d: bad value '%s' for %s\n", path, e->line, e->val, e->key);
            return -2;
        }
        source_set(o, "%s:%d: %s", path, e->line, e->key);
    }
    return 0;
}

static int apply_env(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o && o->name; o++) {
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v && *v && set_value(o, v) < 0) {
            fprintf(stderr, "error: bad value '%s' in %s\n", v, o->env);
            return -2;
        }
        if (v && *v)
            source_set(o, "%s", o->env);
    }
    return 0;
}

static int parse_argv(int argc, char **argv, int first, const struct cli_opt *opts, bool conf,
                      const char **pos, int max_pos)
{
    int n_pos = 0;
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
        if (conf && len == 6 && strncmp(a + 2, "config", 6) == 0) {
            i += !eq; /* read by conf_path */
            continue;
        }
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
        source_set(o, "--%s", o->name);
    }
    return n_pos;
}

static int parse_all(int argc, char **argv, int first, const struct cli_opt *opts,
                     const char *usage, const char **pos, int max_pos, bool strict)
{
    bool conf = has_settings(opts);
    n_sources = 0;
    /* Help first, so the defaults it shows are the built-in ones, not the environment's. */
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(opts, usage, conf);
            return -1;
        }
    const char *path = NULL;
    if (conf && conf_path(argc, argv, first, &path) < 0)
        return -2;
    conf_used = path;
    if (path && apply_conf(opts, path, strict) < 0)
        return -2;
    if (apply_env(opts) < 0)
        return -2;
    return parse_argv(argc, argv, first, opts, conf, pos, max_pos);
}

int cli_opts(int argc, char **argv, int first, const struct cli_opt *opts, const char *usage,
             const char **pos, int max_pos)
{
    return parse_all(argc, argv, first, opts, usage, pos, max_pos, false);
}

int cli_opts_strict(int argc, char **argv, int first, const struct cli_opt *opts, const char *usage,
                    const char **pos, int max_pos)
{
    return parse_all(argc, argv, first, opts, usage, pos, max_pos, true);
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
