/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* cli: flag parsing (the configuration surface of every command): types, env defaults, lists,
 * and the errors that must exit 2. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_type),
        cmocka_unit_test(env_supplies_defaults_and_flags_win),
        cmocka_unit_test(bad_input_is_a_usage_error),
        cmocka_unit_test(help_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
