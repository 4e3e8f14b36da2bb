/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* app/visits: the path a page view keeps of a URL (no scheme, host, query or fragment; "/" when
 * none; cut on a UTF-8 character boundary) and the page hash the session cache compares. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "app/visits.h"

static const char *path_of(const char *url, char *out, size_t cap)
{
    visits_page_path(url, out, cap);
    return out;
}

static void paths_of_urls(void **state)
{
    (void)state;
    char p[64];
    assert_string_equal(path_of("https://site.example/pricing?plan=pro#top", p, sizeof(p)),
                        "/pricing");
    assert_string_equal(path_of("https://site.example", p, sizeof(p)), "/");
    assert_string_equal(path_of("https://site.example?utm_source=x", p, sizeof(p)), "/");
    assert_string_equal(path_of("https://site.example:8443/a/b/", p, sizeof(p)), "/a/b/");
    assert_string_equal(path_of("http://u:pw@site.example/x", p, sizeof(p)), "/x");
    assert_string_equal(path_of("/relative/page?q=1", p, sizeof(p)), "/relative/page");
    assert_string_equal(path_of("", p, sizeof(p)), "/");
    assert_string_equal(path_of(NULL, p, sizeof(p)), "/");
    assert_string_equal(path_of("not a url", p, sizeof(p)), "/");
    assert_string_equal(path_of("https://site.example/a//b", p, sizeof(p)), "/a//b");
    /* a path that names a scheme later is still a path */
    assert_string_equal(path_of("https://site.example/r?to=https://x.example/y", p, sizeof(p)),
                        "/r");
}

static void cut_on_a_character_boundary(void **state)
{
    (void)state;
    char p[8];
    /* "/caf" + é (2 bytes) + "s": 7 bytes fit, the é would be split at byte 6: cut before it */
    assert_string_equal(path_of("https://s.example/caf\xc3\xa9\xc3\xa9", p, sizeof(p)),
                        "/caf\xc3\xa9");
    assert_string_equal(path_of("https://s.example/ab\xe2\x82\xac\xe2\x82\xac", p, sizeof(p)),
                        "/ab\xe2\x82\xac");
    char one[1];
    assert_string_equal(path_of("https://s.example/x", one, sizeof(one)), "");
}

static void hashes_tell_pages_apart_and_are_never_zero(void **state)
{
    (void)state;
    assert_int_equal(visits_page_hash("/pricing"), visits_page_hash("/pricing"));
    assert_int_not_equal(visits_page_hash("/pricing"), visits_page_hash("/contact"));
    assert_int_not_equal(visits_page_hash("/"), 0);
    assert_int_not_equal(visits_page_hash(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_of_urls),
        cmocka_unit_test(cut_on_a_character_boundary),
        cmocka_unit_test(hashes_tell_pages_apart_and_are_never_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
