/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* cli: flag parsing (the configuration surface of every command): types, env defaults, lists,
 * and the errors that must exit 2. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli.h"

#include <unistd.h>

struct cfg {
    const char *db;
    long long n;
    bool flag;
    double x;
    struct cli_list list;
};

/* Splits a space-separated command line into a writable argv (strings owned by buf). */
static int split(char *buf, char **argv, int cap)
{
    int n = 0;
    for (char *p = buf; *p && n < cap - 1;) {
        argv[n++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = '\0';
    }
    argv[n] = NULL;
    return n;
}

#define ARGS(str)                                                                                  \
    char line_[256];                                                                               \
    char *argv[16];                                                                                \
    snprintf(line_, sizeof(line_), "%s", str);                                                     \
    int argc = split(line_, argv, 16)

static int parse(struct cfg *c, int argc, char **argv, const char **pos, int max_pos)
{
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &c->db, "OPENDNI_TEST_DB", "db"}, {"n", OPT_INT, &c->n, NULL, "n"},
        {"flag", OPT_BOOL, &c->flag, NULL, "flag"},       {"x", OPT_DOUBLE, &c->x, NULL, "x"},
        {"origin", OPT_LIST, &c->list, NULL, "origins"},  {0},
    };
    return cli_opts(argc, argv, 1, opts, "test [options]", pos, max_pos);
}

static void parses_every_type(void **state)
{
    ARGS("cmd --db a.db --n=42 --flag --x 0.25 name --origin http://a --origin=http://b");
    struct cfg c = {0};
    const char *pos[2];
    assert_int_equal(parse(&c, argc, argv, pos, 2), 1);
    assert_string_equal(c.db, "a.db");
    assert_int_equal(c.n, 42);
    assert_true(c.flag);
    assert_true(c.x == 0.25);
    assert_string_equal(pos[0], "name");
    assert_int_equal(c.list.n, 2);
    assert_string_equal(c.list.v[1], "http://b");
}

static void env_supplies_defaults_and_flags_win(void **state)
{
    setenv("OPENDNI_TEST_DB", "env.db", 1);
    struct cfg c = {0};
    {
        ARGS("cmd");
        assert_int_equal(parse(&c, argc, argv, NULL, 0), 0);
        assert_string_equal(c.db, "env.db");
    }
    ARGS("cmd --db flag.db");
    assert_int_equal(parse(&c, argc, argv, NULL, 0), 0);
    assert_string_equal(c.db, "flag.db");
    unsetenv("OPENDNI_TEST_DB");
}

static void bad_input_is_a_usage_error(void **state)
{
    static const char *const lines[] = {"cmd --nope", "cmd --n 12abc", "cmd --db", "cmd stray",
                                        "cmd --x NaNs"};
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct cfg c = {0};
        ARGS(lines[i]);
        assert_int_equal(parse(&c, argc, argv, NULL, 0), -2);
    }
    assert_int_equal(cli_opts_exit(-2), EXIT_USAGE);
}

static void help_is_not_an_error(void **state)
{
    struct cfg c = {0};
    ARGS("cmd --n 1 --help");
    int rc = parse(&c, argc, argv, NULL, 0);
    assert_int_equal(rc, -1);
    assert_int_equal(cli_opts_exit(rc), EXIT_OK);
}

/* ---- the configuration file ---- */

static void conf_parses_keys_values_comments_and_quotes(void **state)
{
    char text[] = "# opendni\n\n  db = /var/lib/opendni/opendni.db  \n"
                  "listen=127.0.0.1:8080\r\n\t# indented comment\n"
                  "public-url = \"https://example.com/ x \"\nsmtp-from =\n";
    struct cli_conf c;
    char err[256] = "";
    assert_int_equal(cli_conf_parse(text, "f.conf", &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.e[0].key, "db");
    assert_string_equal(c.e[0].val, "/var/lib/opendni/opendni.db");
    assert_int_equal(c.e[0].line, 3);
    assert_string_equal(c.e[1].key, "listen");
    assert_string_equal(c.e[1].val, "127.0.0.1:8080");
    assert_int_equal(c.e[1].line, 4);
    assert_string_equal(c.e[2].val, "https://example.com/ x ");
    assert_int_equal(c.e[2].line, 6);
    assert_string_equal(c.e[3].key, "smtp-from");
    assert_string_equal(c.e[3].val, "");
}

static void conf_errors_name_the_file_and_line(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"db = a\nlisten 127.0.0.1:1\n", "f.conf:2: expected 'key = value'"},
        {"\n\n= x\n", "f.conf:3: a key is a flag's long name"},
        {"--db = x\n", "f.conf:1: a key is a flag's long name"},
        {"DB = x\n", "f.conf:1: a key is a flag's long name"},
        {"db = a\n# x\ndb = b\n", "f.conf:3: 'db' given twice (first on line 1)"},
        {"db = \"a\n", "f.conf:1: unterminated quoted value"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char text[128];
        snprintf(text, sizeof(text), "%s", cases[i].text);
        struct cli_conf c;
        char err[256] = "";
        assert_int_equal(cli_conf_parse(text, "f.conf", &c, err, sizeof(err)), -1);
        assert_non_null(strstr(err, cases[i].err));
    }
}

static const char *write_conf(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/opendni-test-opts-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* default < file < environment < flag, each layer only for what it sets. */
static void conf_precedence(void **state)
{
    const char *path = write_conf("db = file.db\nn = 7\n");
    struct cfg c = {.db = "default.db", .n = 1};
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &c.db, "OPENDNI_TEST_DB", "db"},
        {"n", OPT_INT, &c.n, "OPENDNI_TEST_N", "n"},
        {"flag", OPT_BOOL, &c.flag, "OPENDNI_TEST_FLAG", "flag"},
        {0},
    };
    char line[160];
    snprintf(line, sizeof(line), "cmd --config %s", path);
    {
        ARGS(line);
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), 0);
        assert_string_equal(c.db, "file.db");
        assert_int_equal(c.n, 7);
        assert_false(c.flag);
        assert_non_null(strstr(cli_opt_source(opts, &c.n), ":2: n"));
        assert_string_equal(cli_opt_source(opts, &c.flag), "--flag");
    }
    setenv("OPENDNI_TEST_DB", "env.db", 1);
    {
        ARGS(line);
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), 0);
        assert_string_equal(c.db, "env.db");
        assert_int_equal(c.n, 7);
        assert_string_equal(cli_opt_source(opts, &c.db), "OPENDNI_TEST_DB");
    }
    snprintf(line, sizeof(line), "cmd --db flag.db --config=%s --n 9", path);
    {
        ARGS(line);
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), 0);
        assert_string_equal(c.db, "flag.db");
        assert_int_equal(c.n, 9);
        assert_string_equal(cli_opt_source(opts, &c.db), "--db");
    }
    /* OPENDNI_CONFIG names the file when --config does not; "" is none. */
    unsetenv("OPENDNI_TEST_DB");
    setenv("OPENDNI_CONFIG", path, 1);
    c.n = 1;
    {
        ARGS("cmd");
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), 0);
        assert_int_equal(c.n, 7);
    }
    c.n = 1;
    {
        ARGS("cmd --config=");
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), 0);
        assert_int_equal(c.n, 1);
    }
    unsetenv("OPENDNI_CONFIG");
    unlink(path);
}

/* A key the command lacks: strict refuses it, the others ignore it; a bad value fails both. */
static void conf_unknown_keys_and_bad_values(void **state)
{
    struct cfg c = {0};
    const struct cli_opt opts[] = {
        {"db", OPT_STR, &c.db, "OPENDNI_TEST_DB", "db"},
        {"n", OPT_INT, &c.n, NULL, "n: a flag, not a setting"},
        {"flag", OPT_BOOL, &c.flag, "OPENDNI_TEST_FLAG", "flag"},
        {0},
    };
    static const struct {
        const char *text;
        int strict, shared;
    } cases[] = {
        {"db = x\nlisten = 1.2.3.4:5\n", -2, 0},
        {"n = 3\n", -2, 0},
        {"flag = maybe\n", -2, -2},
        {"flag = yes\n", 0, 0},
        {"db x\n", -2, -2},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *path = write_conf(cases[i].text);
        char line[160];
        snprintf(line, sizeof(line), "cmd --config %s", path);
        ARGS(line);
        assert_int_equal(cli_opts_strict(argc, argv, 1, opts, "t", NULL, 0), cases[i].strict);
        assert_int_equal(cli_opts(argc, argv, 1, opts, "t", NULL, 0), cases[i].shared);
        assert_int_equal(c.n, 0);
        unlink(path);
    }
    assert_true(c.flag);
    ARGS("cmd --config /nonexistent/opendni.conf");
    assert_int_equal(cli_opts(argc, argv, 1, opts, "t", NULL, 0), -2);
}

/* A table without settings reads no file and knows no --config. */
static void no_settings_no_config(void **state)
{
    struct cfg c = {0};
    const struct cli_opt opts[] = {{"n", OPT_INT, &c.n, NULL, "n"}, {0}};
    ARGS("cmd --config x.conf");
    assert_int_equal(cli_opts(argc, argv, 1, opts, "t", NULL, 0), -2);
}

static void bools_are_spelled_out(void **state)
{
    static const char *const lines[] = {"cmd --flag=no", "cmd --flag=off", "cmd --flag=0",
                                        "cmd --flag=false"};
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
        struct cfg c = {.flag = true};
        ARGS(lines[i]);
        assert_int_equal(parse(&c, argc, argv, NULL, 0), 0);
        assert_false(c.flag);
    }
    struct cfg c = {0};
    ARGS("cmd --flag=perhaps");
    assert_int_equal(parse(&c, argc, argv, NULL, 0), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_type),
        cmocka_unit_test(env_supplies_defaults_and_flags_win),
        cmocka_unit_test(bad_input_is_a_usage_error),
        cmocka_unit_test(help_is_not_an_error),
        cmocka_unit_test(conf_parses_keys_values_comments_and_quotes),
        cmocka_unit_test(conf_errors_name_the_file_and_line),
        cmocka_unit_test(conf_precedence),
        cmocka_unit_test(conf_unknown_keys_and_bad_values),
        cmocka_unit_test(no_settings_no_config),
        cmocka_unit_test(bools_are_spelled_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
