/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/spool: the durable local spool. Records come back in the order appended, a replay that
 * stops keeps the refused record and those after it (also across a reopen), records appended
 * during a replay wait for the next one, a second process (open) is refused while one holds the
 * directory, a line cut short by a crash is skipped, and the counters follow. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "app/spool.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/opendni-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct seen {
    int n;
    char rec[16][32];
    int stop_at;      /* refuse the record with this index (-1: take all) */
    struct spool *sp; /* append while replaying, when set */
};

static int take(void *ctx, const char *rec)
{
    struct seen *s = ctx;
    if (s->n == s->stop_at)
        return ERR_BACKEND;
    snprintf(s->rec[s->n % 16], sizeof(s->rec[0]), "%s", rec);
    s->n++;
    if (s->sp)
        assert_int_equal(spool_append(s->sp, "during", 6), ERR_OK);
    return ERR_OK;
}

static void add(struct spool *sp, const char *rec)
{
    assert_int_equal(spool_append(sp, rec, strlen(rec)), ERR_OK);
}

static void order_stop_and_reopen(void **state)
{
    (void)state;
    struct spool *sp = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    add(sp, "a");
    add(sp, "b");
    add(sp, "c");
    struct spool_stats st;
    spool_stats(sp, &st);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.bytes, 6);
    assert_true(st.oldest_at > 0);
    struct seen s = {.stop_at = 1};
    uint64_t n = 0;
    assert_int_equal(spool_replay(sp, take, &s, &n), ERR_BACKEND);
    assert_int_equal(n, 1);
    assert_string_equal(s.rec[0], "a");
    add(sp, "d"); /* after the seal: a new segment */
    spool_close(sp);

    sp = NULL;
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    spool_stats(sp, &st);
    assert_true(st.records >= 3); /* b, c, d (a's segment is read from its start again) */
    s = (struct seen){.stop_at = -1};
    assert_int_equal(spool_replay(sp, take, &s, &n), ERR_OK);
    /* a was taken but its segment was not finished: it may come again (replays are
     * idempotent); what matters is the order and that nothing is lost */
    assert_string_equal(s.rec[s.n - 3], "b");
    assert_string_equal(s.rec[s.n - 2], "c");
    assert_string_equal(s.rec[s.n - 1], "d");
    spool_stats(sp, &st);
    assert_int_equal(st.records, 0);
    assert_int_equal(st.oldest_at, 0);
    s = (struct seen){.stop_at = -1};
    assert_int_equal(spool_replay(sp, take, &s, &n), ERR_OK);
    assert_int_equal(s.n, 0);
    spool_close(sp);
}

static void appends_during_a_replay_wait(void **state)
{
    (void)state;
    struct spool *sp = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    add(sp, "x");
    add(sp, "y");
    struct seen s = {.stop_at = -1, .sp = sp};
    assert_int_equal(spool_replay(sp, take, &s, NULL), ERR_OK);
    assert_int_equal(s.n, 2);
    s = (struct seen){.stop_at = -1};
    assert_int_equal(spool_replay(sp, take, &s, NULL), ERR_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.rec[0], "during");
    spool_close(sp);
}

static void one_process_per_directory(void **state)
{
    (void)state;
    struct spool *sp = NULL;
    struct spool *again = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    assert_int_equal(spool_open(dir, &again, &eb), ERR_CONFLICT);
    assert_non_null(strstr(eb.msg, "--spool-dir"));
    assert_int_equal(spool_append(sp, "a\nb", 3), ERR_TOOBIG);
    spool_close(sp);
    assert_int_equal(spool_open(dir, &again, &eb), ERR_OK);
    spool_close(again);
}

static void a_torn_last_line_is_skipped(void **state)
{
    (void)state;
    struct spool *sp = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    add(sp, "whole");
    spool_close(sp);
    char path[128];
    snprintf(path, sizeof(path), "%s/000000000001.spool", dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"torn", f);
    fclose(f);
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    struct seen s = {.stop_at = -1};
    assert_int_equal(spool_replay(sp, take, &s, NULL), ERR_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.rec[0], "whole");
    assert_int_equal(access(path, F_OK), -1); /* removed once taken */
    spool_close(sp);
}

/* ---- concurrent appends share syncs and lose nothing ---- */

#define WRITERS 8
#define EACH 100

struct writer_arg {
    struct spool *sp;
    int id;
};

static void *write_many(void *arg)
{
    struct writer_arg *w = arg;
    for (int i = 0; i < EACH; i++) {
        char rec[32];
        int n = snprintf(rec, sizeof(rec), "%d %d", w->id, i);
        assert_int_equal(spool_append(w->sp, rec, (size_t)n), ERR_OK);
    }
    return NULL;
}

struct order {
    int next[WRITERS];
    int n;
};

static int check_order(void *ctx, const char *rec)
{
    struct order *o = ctx;
    int id = -1, i = -1;
    assert_int_equal(sscanf(rec, "%d %d", &id, &i), 2);
    assert_int_equal(i, o->next[id]); /* each writer's records in the order it wrote them */
    o->next[id]++;
    o->n++;
    return ERR_OK;
}

static void concurrent_appends_all_durable_in_order(void **state)
{
    (void)state;
    struct spool *sp = NULL;
    struct errbuf eb = {{0}, NULL};
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    pthread_t t[WRITERS];
    struct writer_arg w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer_arg){sp, i};
        assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    struct spool_stats st;
    spool_stats(sp, &st);
    assert_int_equal(st.records, WRITERS * EACH);
    assert_int_equal(st.appended, WRITERS * EACH);
    spool_close(sp); /* what a crash after the appends returned leaves */
    assert_int_equal(spool_open(dir, &sp, &eb), ERR_OK);
    struct order o = {{0}, 0};
    assert_int_equal(spool_replay(sp, check_order, &o, NULL), ERR_OK);
    assert_int_equal(o.n, WRITERS * EACH);
    spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(order_stop_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_during_a_replay_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(one_process_per_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(a_torn_last_line_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_appends_all_durable_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
