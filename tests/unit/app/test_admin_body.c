/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/admin_body and the calls list cursor: the admin API's bodies read without a server (fixed
 * resolver tables), in the order the handlers check them, and the cursor's round trip. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/json.h"
#include "app/admin.h"
#include "app/admin_body.h"

static int lookups; /* resolver calls */

static int ref_pool(void *ctx, const char *ext_id, struct st_pool *out)
{
    (void)ctx;
    lookups++;
    if (strcmp(ext_id, "pool_a") != 0)
        return strcmp(ext_id, "pool_err") == 0 ? ERR_IO : ERR_NOTFOUND;
    *out = (struct st_pool){.id = 7, .ext_id = "pool_a"};
    return ERR_OK;
}

static int ref_number(void *ctx, const char *ext_id, struct st_number *out)
{
    (void)ctx;
    lookups++;
    bool src = strcmp(ext_id, "num_src") == 0;
    if (!src && strcmp(ext_id, "num_pooled") != 0)
        return ERR_NOTFOUND;
    *out = (struct st_number){.id = src ? 11 : 12, .pool_id = src ? 0 : 7};
    snprintf(out->ext_id, sizeof(out->ext_id), "%s", ext_id);
    return ERR_OK;
}

static const struct admin_refs refs = {ref_pool, ref_number, NULL};

static json_t *body(const char *text)
{
    json_t *o = NULL;
    assert_int_equal(json_parse_object(text, strlen(text), &o, NULL), ERR_OK);
    return o;
}

static void pool_defaults_and_ranges(void **state)
{
    (void)state;
    json_t *o = body("{\"name\":\"Spring\",\"target\":\"(512) 555-0100\"}");
    struct st_pool p = {.lease_ttl_s = ADMIN_POOL_DEFAULT_TTL_S,
                        .cooldown_s = ADMIN_POOL_DEFAULT_COOLDOWN_S};
    assert_int_equal(admin_pool_parse(o, &p, true, NULL), ERR_OK);
    assert_string_equal(p.target, "+15125550100");
    assert_string_equal(p.forward_to, "+15125550100"); /* forward_to defaults to target */
    assert_int_equal(p.lease_ttl_s, 1200);
    assert_false(p.has_channels);
    json_decref(o);
    const char *bad[] = {"{\"lease_ttl\":0}",       "{\"lease_ttl\":2592001}",
                         "{\"cooldown\":-1}",       "{\"on_exhaust\":\"drop\"}",
                         "{\"channels\":[\"tv\"]}", "{\"name\":\"\"}"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct st_pool q = {.lease_ttl_s = 60};
        struct errbuf eb = {{0}, NULL};
        o = body(bad[i]);
        assert_int_equal(admin_pool_parse(o, &q, false, &eb), ERR_INVALID);
        assert_non_null(eb.field);
        assert_int_equal(q.lease_ttl_s, 60);
        json_decref(o);
    }
}

/* An unknown pool is reported before a later error of the body, as the handler did when it
 * looked the pool up in the middle of the parse. */
static void number_checks_in_handler_order(void **state)
{
    (void)state;
    struct st_number n = {0};
    char ext[STORE_ID_MAX] = "";
    struct errbuf eb = {{0}, NULL};
    json_t *o =
        body("{\"number\":\"+15125550111\",\"pool\":\"pool_z\",\"source\":{\"source\":\"x\"}}");
    assert_int_equal(admin_number_parse(o, &refs, &n, ext, &eb), ERR_NOTFOUND);
    assert_string_equal(eb.field, "pool");
    json_decref(o);
    o = body("{\"number\":\"+15125550111\",\"pool\":\"pool_err\"}");
    assert_int_equal(admin_number_parse(o, &refs, &n, ext, &eb), ERR_IO);
    json_decref(o);
    o = body("{\"number\":\"+15125550111\",\"pool\":\"pool_a\",\"target\":\"+15125550100\"}");
    memset(&n, 0, sizeof(n));
    assert_int_equal(admin_number_parse(o, &refs, &n, ext, NULL), ERR_OK);
    assert_int_equal(n.pool_id, 7);
    assert_string_equal(ext, "pool_a");
    json_decref(o);
    /* a bad number fails before any lookup */
    lookups = 0;
    o = body("{\"number\":\"12\",\"pool\":\"pool_a\"}");
    assert_int_equal(admin_number_parse(o, &refs, &n, ext, &eb), ERR_INVALID);
    assert_int_equal(lookups, 0);
    json_decref(o);
}

static void rule_needs_a_source_number(void **state)
{
    (void)state;
    struct st_rule r = {0};
    char pool_ext[STORE_ID_MAX] = "", num_ext[STORE_ID_MAX] = "";
    struct errbuf eb = {{0}, NULL};
    json_t *o = body("{\"field\":\"utm_source\",\"value\":\"g\",\"number\":\"num_pooled\"}");
    assert_int_equal(admin_rule_parse(o, &refs, &r, pool_ext, num_ext, &eb), ERR_NOTFOUND);
    assert_string_equal(eb.field, "number");
    json_decref(o);
    o = body("{\"field\":\"utm_source\",\"value\":\"g\",\"number\":\"num_src\",\"position\":2}");
    memset(&r, 0, sizeof(r));
    assert_int_equal(admin_rule_parse(o, &refs, &r, pool_ext, num_ext, NULL), ERR_OK);
    assert_int_equal(r.number_id, 11);
    assert_string_equal(num_ext, "num_src");
    assert_string_equal(r.op, "equals");
    assert_int_equal(r.position, 2);
    json_decref(o);
}

static void cursor_round_trip(void **state)
{
    (void)state;
    char c[ADMIN_CURSOR_MAX];
    int64_t at = 0, id = 0;
    admin_cursor_format(1790000000000LL, 42, c, sizeof(c));
    assert_string_equal(c, "c1a0c4506c00.2a");
    assert_true(admin_cursor_parse(c, &at, &id));
    assert_int_equal(at, 1790000000000LL);
    assert_int_equal(id, 42);
    admin_cursor_format(INT64_MIN, -1, c, sizeof(c));
    assert_int_equal(strlen(c), ADMIN_CURSOR_MAX - 1);
    assert_true(admin_cursor_parse(c, &at, &id));
    assert_true(at == INT64_MIN && id == -1);
    at = id = 5;
    const char *bad[] = {
        "", "c", "c1", "c.1", "c1.", "C1.2", "c1.2.3", "cA.1", "c11111111111111111.1"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_false(admin_cursor_parse(bad[i], &at, &id));
    assert_true(at == 5 && id == 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_defaults_and_ranges),
        cmocka_unit_test(number_checks_in_handler_order),
        cmocka_unit_test(rule_needs_a_source_number),
        cmocka_unit_test(cursor_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
