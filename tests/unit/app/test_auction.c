/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/auction: the ping-post protocol's answers read without a server (docs/routing.md
 * "Ping-post"): bids, no bids, invalid bids, and the post's confirmation and destination. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/auction.h"

static int bid(int status, const char *body, int64_t *price, char *id)
{
    char why[128];
    *price = -1;
    id[0] = '\0';
    return auction_parse_bid(status, body, price, id, STORE_ID_MAX, why, sizeof(why));
}

static void bids(void **state)
{
    (void)state;
    int64_t price;
    char id[STORE_ID_MAX];
    assert_int_equal(bid(200,
                         "{\"protocol\":\"opendni-ping-post/1\",\"bid\":{\"id\":\"b-1\","
                         "\"price\":2500}}",
                         &price, id),
                     ERR_OK);
    assert_int_equal(price, 2500);
    assert_string_equal(id, "b-1");
    assert_int_equal(bid(200, "{\"bid\":{\"id\":\"x:9.z\",\"price\":1}}", &price, id), ERR_OK);
    /* no bid */
    assert_int_equal(bid(204, "", &price, id), ERR_NOTFOUND);
    assert_int_equal(bid(200, "{\"bid\":null}", &price, id), ERR_NOTFOUND);
    assert_int_equal(bid(200, "{}", &price, id), ERR_NOTFOUND);
    assert_int_equal(bid(200, "{\"bid\":{\"id\":\"b\",\"price\":0}}", &price, id), ERR_NOTFOUND);
    /* invalid */
    const char *bad[] = {
        "",
        "[]",
        "{\"bid\":{\"id\":\"b\",\"price\":\"2500\"}}",
        "{\"bid\":{\"id\":\"b\",\"price\":25.5}}",
        "{\"bid\":{\"id\":\"b\",\"price\":-1}}",
        "{\"bid\":{\"id\":\"b\",\"price\":1000000001}}",
        "{\"bid\":{\"id\":\"b d\",\"price\":5}}",
        "{\"bid\":{\"id\":\"\",\"price\":5}}",
        "{\"bid\":{\"price\":5}}",
        "{\"bid\":5}",
        "{\"protocol\":\"opendni-ping-post/2\",\"bid\":{\"id\":\"b\",\"price\":5}}",
        "{\"bid\":{\"id\":\"b\",\"price\":5},\"bid\":{\"id\":\"c\",\"price\":9}}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(bid(200, bad[i], &price, id), ERR_INVALID);
    assert_int_equal(bid(500, "{\"bid\":{\"id\":\"b\",\"price\":5}}", &price, id), ERR_INVALID);
    assert_int_equal(bid(302, "", &price, id), ERR_INVALID);
}

static int post(int status, const char *body, char *dest)
{
    char why[128];
    dest[0] = '\0';
    return auction_parse_post(status, body, "b-1", dest, ROUTE_DEST_MAX, why, sizeof(why));
}

static void posts(void **state)
{
    (void)state;
    char dest[ROUTE_DEST_MAX];
    assert_int_equal(post(200, "{\"accepted\":true,\"destination\":\"+15125550399\"}", dest),
                     ERR_OK);
    assert_string_equal(dest, "+15125550399");
    assert_int_equal(post(200,
                          "{\"accepted\":true,\"bid_id\":\"b-1\","
                          "\"destination\":\"sip:agent@buyer.example:5061\"}",
                          dest),
                     ERR_OK);
    assert_string_equal(dest, "sip:agent@buyer.example:5061");
    const char *bad[] = {
        "{\"accepted\":false,\"destination\":\"+15125550399\"}",
        "{\"destination\":\"+15125550399\"}",
        "{\"accepted\":\"yes\",\"destination\":\"+15125550399\"}",
        "{\"accepted\":true,\"bid_id\":\"b-2\",\"destination\":\"+15125550399\"}",
        "{\"accepted\":true,\"destination\":\"5125550399\"}",
        "{\"accepted\":true,\"destination\":\"sip:a@b\\\"/><Hangup/>\"}",
        "{\"accepted\":true}",
        "not json",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(post(200, bad[i], dest), ERR_INVALID);
        assert_string_equal(dest, "");
    }
    assert_int_equal(post(503, "{\"accepted\":true,\"destination\":\"+15125550399\"}", dest),
                     ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bids),
        cmocka_unit_test(posts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
