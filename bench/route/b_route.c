/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The cost of a routing decision (issue #15: ≤ 1 ms of server time p99): app/routing.c's
 * routing_voice, the first step of a new call, exactly as the voice webhook runs it — the plan
 * attached to the number read from the store, the plan and its locations parsed and checked,
 * the targets' counts read, core/route evaluated (a round-robin pick: a counter claimed in the
 * store and a second evaluation), and the call's routing record written — for N calls against
 * a SQLite store, with 50 calls in progress at any time (each call ends 50 calls later). Prints the
 * thread CPU time (the server's work) and the wall time (also the record's fsync) per decision:
 * p50, p99, max. Usage: b_route STORE_PATH [N] */
#include "base/prelude.h"

#include <time.h>

#include "base/json.h"
#include "base/timefmt.h"
#include "app/app.h"
#include "app/calls.h"
#include "app/routing.h"
#include "store/store.h"

static int64_t ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp64);
    printf("%s p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what, v[n / 2] / 1e6,
           v[n * 99 / 100] / 1e6, v[n - 1] / 1e6);
}

static const char *plan_json(const char *num, const char *loc)
{
    static char body[8192];
    size_t n =
        (size_t)snprintf(body, sizeof(body),
                         "{\"name\":\"bench\",\"attach\":{\"number\":\"%s\"},"
                         "\"last_resort\":\"+15125550199\",\"time_zone\":\"America/Chicago\","
                         "\"blocked\":[\"+1900*\",\"+15555550123\"],\"targets\":[",
                         num);
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"id\":\"t%d\",\"number\":\"+151255502%02d\",\"location\":\"%s\","
                              "\"max_concurrent\":1000000,\"max_daily\":100000000,"
                              ""
                              "\"hours\":{\"weekly\":[{\"days\":[\"sun\",\"mon\",\"tue\",\"wed\","
                              "\"thu\",\"fri\",\"sat\"],\"open\":\"00:00\",\"close\":\"24:00\"}]}}",
                              i ? "," : "", i, i, loc);
    snprintf(body + n, sizeof(body) - n,
             "],\"steps\":[{\"type\":\"screen\",\"say\":\"Press 1.\",\"skip_verified\":true},"
             "{\"type\":\"distribute\",\"method\":\"round_robin\",\"on_fail\":2},"
             "{\"type\":\"voicemail\",\"say\":\"Leave a message.\"}]}");
    return body;
}

static int setup(struct app *app, struct calls_target *t)
{
    struct errbuf eb = {{0}, NULL};
    struct st_account a;
    const char *origin = "https://bench.example";
    int rc = store_account_create(app->store, "acc_bench", "Bench", &origin, 1, "", 0, &a, &eb);
    struct st_number num = {.account_id = a.id};
    snprintf(num.number, sizeof(num.number), "+15125550100");
    snprintf(num.target, sizeof(num.target), "+15125550100");
    snprintf(num.forward_to, sizeof(num.forward_to), "+15125550100");
    snprintf(num.source, sizeof(num.source), "billboard");
    if (!rc)
        rc = store_number_create(app->store, &num, 0, &eb);
    json_t *loc = NULL;
    const char *lj = "{\"name\":\"HQ\",\"time_zone\":\"America/Chicago\",\"area_codes\":[512],"
                     "\"hours\":{\"weekly\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\","
                     "\"sat\",\"sun\"],\"open\":\"00:00\",\"close\":\"24:00\"}]}}";
    if (!rc)
        rc = routing_doc_put(app, a.id, ROUTING_LOCATION, NULL, lj, strlen(lj), &loc, &eb);
    json_t *plan = NULL;
    const char *pj = rc ? "" : plan_json(num.ext_id, json_string_value(json_object_get(loc, "id")));
    if (!rc)
        rc = routing_doc_put(app, a.id, ROUTING_PLAN, NULL, pj, strlen(pj), &plan, &eb);
    json_decref(loc);
    json_decref(plan);
    if (rc) {
        fprintf(stderr, "b_route: setup failed: %s %s\n", err_str(rc), eb.msg);
        return rc;
    }
    memset(t, 0, sizeof(*t));
    t->account_id = a.id;
    t->number = num;
    return ERR_OK;
}

#define LIVE_CALLS 50 /* calls in progress at any time */

static void end_call(struct app *app, size_t i)
{
    char sid[40];
    struct st_call_route r;
    snprintf(sid, sizeof(sid), "CA%032zx", i);
    if (store_call_route_get(app->store, "twilio", sid, &r) == ERR_OK) {
        r.dialing = false;
        store_call_route_put(app->store, &r);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: b_route STORE_PATH [N]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    if (n < 100)
        n = 100;
    struct app app;
    memset(&app, 0, sizeof(app));
    struct errbuf eb = {{0}, NULL};
    int version = 0;
    if (store_open(argv[1], &app.store, &eb) || store_migrate(app.store, 0, &version, &eb)) {
        fprintf(stderr, "b_route: cannot open '%s': %s\n", argv[1], eb.msg);
        return 1;
    }
    struct calls_target t;
    struct st_account acct;
    if (setup(&app, &t) || store_account_by_id(app.store, t.account_id, &acct))
        return 1;
    int64_t *cpu = calloc(n, sizeof(*cpu));
    int64_t *wall = calloc(n, sizeof(*wall));
    struct routing_answer *ans = calloc(1, sizeof(*ans));
    size_t dialled = 0;
    for (size_t i = 0; i < n; i++) {
        char sid[40];
        snprintf(sid, sizeof(sid), "CA%032zx", i);
        struct routing_call c = {.provider = "twilio",
                                 .call_sid = sid,
                                 .from = "+15125550777",
                                 .verstat = "TN-Validation-Passed-A",
                                 .now = time_now_ms()};
        int64_t c0 = ns(CLOCK_THREAD_CPUTIME_ID);
        int64_t w0 = ns(CLOCK_MONOTONIC);
        int rc = routing_voice(&app, &acct, &t, &c, ans);
        wall[i] = ns(CLOCK_MONOTONIC) - w0;
        cpu[i] = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        dialled += rc == ERR_OK && ans->ans.kind == TEL_ANSWER_DIAL && !ans->last_resort;
        if (i >= LIVE_CALLS) /* the call LIVE_CALLS back ends (not timed) */
            end_call(&app, i - LIVE_CALLS);
    }
    printf("routing decisions: %zu (dialled a target: %zu), plan of 10 targets with hours and "
           "caps, 3 steps, round robin, %d calls in progress\n",
           n, dialled, LIVE_CALLS);
    report("  server CPU per decision:", cpu, n);
    report("  wall time per decision (with the record's durable write):", wall, n);
    free(ans);
    free(wall);
    free(cpu);
    store_close(app.store);
    return dialled == n ? 0 : 1;
}
