/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* core/classify: the marketer's channel cases, landing and referrer parsing, hostile query
 * strings (every field bounded, valid UTF-8, no control characters), per-account rules, and
 * User-Agent bot and device detection against real browser and crawler strings. */
#include "base/prelude.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "core/classify.h"

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

/* An independent UTF-8 check: well-formed (no overlongs, surrogates, > U+10FFFF), and no C0,
 * DEL or C1 control characters. */
static bool clean_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned int cp;
        int n;
        if (*s < 0x80) {
            cp = *s;
            n = 0;
        } else if ((*s & 0xe0) == 0xc0) {
            cp = *s & 0x1f;
            n = 1;
        } else if ((*s & 0xf0) == 0xe0) {
            cp = *s & 0x0f;
            n = 2;
        } else if ((*s & 0xf8) == 0xf0) {
            cp = *s & 0x07;
            n = 3;
        } else {
            return false;
        }
        s++;
        for (int i = 0; i < n; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*s & 0x3f);
        }
        static const unsigned int min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return false;
    }
    return true;
}

static void assert_field_clean(const char *field, size_t cap)
{
    assert_true(strnlen(field, cap) < cap);
    if (!clean_utf8(field))
        print_error("unclean field '%s'\n", field);
    assert_true(clean_utf8(field));
}

static void assert_source_clean(const struct source *s)
{
    assert_field_clean(s->channel, sizeof(s->channel));
    assert_field_clean(s->source, sizeof(s->source));
    assert_field_clean(s->medium, sizeof(s->medium));
    assert_field_clean(s->campaign, sizeof(s->campaign));
    assert_field_clean(s->keyword, sizeof(s->keyword));
    assert_field_clean(s->content, sizeof(s->content));
    for (int i = 0; i < CLICK_N; i++)
        assert_field_clean(s->click_ids[i], sizeof(s->click_ids[i]));
    assert_field_clean(s->landing_page, sizeof(s->landing_page));
    assert_field_clean(s->landing_path, sizeof(s->landing_path));
    assert_field_clean(s->referrer_host, sizeof(s->referrer_host));
}

/* Classifies without rules and checks the invariants every result must keep. */
static void classify(const char *url, const char *referrer, struct source *s)
{
    struct errbuf eb = {0};
    int rule = 99;
    int rc = classify_visit(url, referrer, NULL, 0, s, &rule, &eb);
    if (rc != ERR_OK)
        print_error("classify_visit('%.80s'): %s\n", url, eb.msg);
    assert_int_equal(rc, ERR_OK);
    assert_int_equal(rule, -1);
    assert_true(classify_channel_valid(s->channel));
    assert_source_clean(s);
}

/* "https://t.example/?" + head + unit repeated n_units times + tail, malloc'd. */
static char *url_with_long_value(const char *head, const char *unit, size_t n_units,
                                 const char *tail)
{
    size_t unit_len = strlen(unit);
    size_t cap = 64 + strlen(head) + unit_len * n_units + strlen(tail);
    char *url = malloc(cap);
    assert_non_null(url);
    size_t len = (size_t)snprintf(url, cap, "https://t.example/?%s", head);
    for (size_t i = 0; i < n_units; i++, len += unit_len)
        memcpy(url + len, unit, unit_len);
    snprintf(url + len, cap - len, "%s", tail);
    return url;
}

/* ------------------------------------------------------------------------------------------ */
/* The marketer's cases                                                                       */

struct channel_case {
    const char *url;
    const char *referrer;
    const char *channel, *source, *medium;
};

static void check_cases(const struct channel_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct channel_case *c = &cases[i];
        struct source s;
        classify(c->url, c->referrer, &s);
        if (strcmp(s.channel, c->channel) || strcmp(s.source, c->source) ||
            strcmp(s.medium, c->medium))
            print_error("case %zu %s (ref %s): got %s/%s/%s\n", i, c->url,
                        c->referrer ? c->referrer : "none", s.channel, s.source, s.medium);
        assert_string_equal(s.channel, c->channel);
        assert_string_equal(s.source, c->source);
        assert_string_equal(s.medium, c->medium);
    }
}

static void paid_search(void **state)
{
    static const struct channel_case cases[] = {
        /* auto-tagged Google Ads click, no UTM */
        {"https://plumber.example/?gclid=EAIaIQobChMI", NULL, "paid_search", "google", "cpc"},
        {"https://plumber.example/?gbraid=0AAAAAoX", NULL, "paid_search", "google", "cpc"},
        {"https://plumber.example/?wbraid=CkEKCQ", NULL, "paid_search", "google", "cpc"},
        /* a Google referrer does not make a gclid click organic */
        {"https://plumber.example/?gclid=x", "https://www.google.com/", "paid_search", "google",
         "cpc"},
        /* manual tagging plus gclid */
        {"https://plumber.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=spring-"
         "sale&utm_term=emergency+plumber&gclid=abc",
         "https://www.google.com/", "paid_search", "google", "cpc"},
        {"https://plumber.example/?utm_source=bing&utm_medium=ppc&utm_campaign=brand", NULL,
         "paid_search", "bing", "ppc"},
        {"https://plumber.example/?msclkid=0f1e2d3c", NULL, "paid_search", "bing", "cpc"},
        /* values keep the advertiser's spelling; matching ignores case */
        {"https://plumber.example/?utm_source=Google&utm_medium=CPC", NULL, "paid_search", "Google",
         "CPC"},
        {"https://plumber.example/?utm_source=google&utm_medium=paidsearch", NULL, "paid_search",
         "google", "paidsearch"},
        /* medium without source: the click id names the source */
        {"https://plumber.example/?utm_medium=cpc&gclid=x", NULL, "paid_search", "google", "cpc"},
        /* source without medium: the click id decides and implies cpc */
        {"https://plumber.example/?utm_source=google&gclid=x", NULL, "paid_search", "google",
         "cpc"},
    };
    check_cases(cases, ARRAY_SIZE(cases));
    struct source s;
    classify("https://plumber.example/landing?utm_source=google&utm_medium=cpc&utm_campaign="
             "spring-sale&utm_term=emergency+plumber&utm_content=ad-1",
             NULL, &s);
    assert_string_equal(s.campaign, "spring-sale");
    assert_string_equal(s.keyword, "emergency plumber");
    assert_string_equal(s.content, "ad-1");
    classify("https://plumber.example/?gclid=EAIaIQobChMI&utm_content=ad-1", NULL, &s);
    assert_string_equal(s.click_ids[CLICK_GCLID], "EAIaIQobChMI");
    assert_string_equal(s.click_ids[CLICK_FBCLID], "");
    assert_string_equal(s.content, "ad-1");
    /* a click id starting with '-' (a spreadsheet formula in the exports) is refused at capture;
     * a later one of the same name, and the other fields, still count */
    classify("https://plumber.example/?gclid=-2%2B3&fbclid=-cmd&utm_content=ad-1", NULL, &s);
    assert_string_equal(s.click_ids[CLICK_GCLID], "");
    assert_string_equal(s.click_ids[CLICK_FBCLID], "");
    assert_string_equal(s.content, "ad-1");
    classify("https://plumber.example/?gclid=-x&gclid=Cj0K-a_b", NULL, &s);
    assert_string_equal(s.click_ids[CLICK_GCLID], "Cj0K-a_b");
}

static void organic_search(void **state)
{
    static const struct channel_case cases[] = {
        {"https://plumber.example/", "https://www.google.com/", "organic_search", "google",
         "organic"},
        {"https://plumber.example/", "https://www.google.co.uk/", "organic_search", "google",
         "organic"},
        {"https://plumber.example/", "https://google.com.br/", "organic_search", "google",
         "organic"},
        {"https://plumber.example/", "android-app://com.google.android.googlequicksearchbox/",
         "organic_search", "google", "organic"},
        {"https://plumber.example/", "https://www.bing.com/search?q=plumber", "organic_search",
         "bing", "organic"},
        {"https://plumber.example/", "https://duckduckgo.com/", "organic_search", "duckduckgo",
         "organic"},
        {"https://plumber.example/", "https://search.yahoo.com/", "organic_search", "yahoo",
         "organic"},
        {"https://plumber.example/", "https://www.baidu.com/", "organic_search", "baidu",
         "organic"},
        {"https://plumber.example/", "https://yandex.ru/", "organic_search", "yandex", "organic"},
        {"https://plumber.example/", "https://www.ecosia.org/", "organic_search", "ecosia",
         "organic"},
        /* Google Business Profile links are commonly tagged like this */
        {"https://plumber.example/?utm_source=google&utm_medium=organic", NULL, "organic_search",
         "google", "organic"},
        /* look-alike hosts are ordinary referrals */
        {"https://plumber.example/", "https://google.com.evil.io/", "referral",
         "google.com.evil.io", "referral"},
        {"https://plumber.example/", "https://notgoogle.com/", "referral", "notgoogle.com",
         "referral"},
        {"https://plumber.example/", "https://googleusercontent.com/x", "referral",
         "googleusercontent.com", "referral"},
    };
    check_cases(cases, ARRAY_SIZE(cases));
}

static void paid_and_organic_social(void **state)
{
    static const struct channel_case cases[] = {
        {"https://plumber.example/?fbclid=IwAR0abc", NULL, "paid_social", "facebook", "cpc"},
        {"https://plumber.example/?ttclid=E.C.P.abc", NULL, "paid_social", "tiktok", "cpc"},
        {"https://plumber.example/?li_fat_id=9a8b", NULL, "paid_social", "linkedin", "cpc"},
        /* fbclid is also added to organic posts: UTM says otherwise */
        {"https://plumber.example/?fbclid=x&utm_source=facebook&utm_medium=social", NULL,
         "organic_social", "facebook", "social"},
        {"https://plumber.example/?fbclid=x&utm_source=newsletter&utm_medium=email", NULL, "email",
         "newsletter", "email"},
        {"https://plumber.example/?utm_source=facebook&utm_medium=cpc&utm_campaign=leads", NULL,
         "paid_social", "facebook", "cpc"},
        {"https://plumber.example/?utm_source=fb&utm_medium=paid", NULL, "paid_social", "fb",
         "paid"},
        {"https://plumber.example/?utm_source=instagram&utm_medium=paid_social", NULL,
         "paid_social", "instagram", "paid_social"},
        {"https://plumber.example/?utm_source=ig&utm_medium=Social-Paid", NULL, "paid_social", "ig",
         "Social-Paid"},
        {"https://plumber.example/?utm_source=linkedin&utm_medium=social", NULL, "organic_social",
         "linkedin", "social"},
        {"https://plumber.example/?utm_source=nextdoor&utm_medium=social-network", NULL,
         "organic_social", "nextdoor", "social-network"},
        /* referrers from social networks */
        {"https://plumber.example/", "https://l.facebook.com/l.php?u=x", "organic_social",
         "facebook", "social"},
        {"https://plumber.example/", "https://m.facebook.com/", "organic_social", "facebook",
         "social"},
        {"https://plumber.example/", "https://l.instagram.com/", "organic_social", "instagram",
         "social"},
        {"https://plumber.example/", "https://t.co/AbCdEf", "organic_social", "twitter", "social"},
        {"https://plumber.example/", "https://x.com/someone", "organic_social", "twitter",
         "social"},
        {"https://plumber.example/", "https://www.linkedin.com/feed/", "organic_social", "linkedin",
         "social"},
        {"https://plumber.example/", "https://lnkd.in/abc", "organic_social", "linkedin", "social"},
        {"https://plumber.example/", "https://old.reddit.com/r/plumbing", "organic_social",
         "reddit", "social"},
        {"https://plumber.example/", "https://www.pinterest.com/", "organic_social", "pinterest",
         "social"},
        {"https://plumber.example/", "https://www.youtube.com/", "organic_social", "youtube",
         "social"},
        {"https://plumber.example/", "https://www.tiktok.com/", "organic_social", "tiktok",
         "social"},
    };
    check_cases(cases, ARRAY_SIZE(cases));
}

static void email_display_affiliate_offline(void **state)
{
    static const struct channel_case cases[] = {
        {"https://plumber.example/?utm_source=newsletter&utm_medium=email&utm_campaign=may", NULL,
         "email", "newsletter", "email"},
        {"https://plumber.example/?utm_source=mailchimp&utm_medium=E-mail", NULL, "email",
         "mailchimp", "E-mail"},
        {"https://plumber.example/?utm_source=newsletter", NULL, "email", "newsletter",
         "(not set)"},
        {"https://plumber.example/?utm_medium=email", NULL, "email", "(not set)", "email"},
        {"https://plumber.example/", "https://mail.google.com/", "email", "gmail", "email"},
        {"https://plumber.example/", "https://outlook.live.com/mail/0/", "email", "outlook",
         "email"},
        {"https://plumber.example/?utm_source=gdn&utm_medium=display", NULL, "display", "gdn",
         "display"},
        {"https://plumber.example/?utm_source=adroll&utm_medium=banner", NULL, "display", "adroll",
         "banner"},
        {"https://plumber.example/?utm_source=trade-desk&utm_medium=CPM", NULL, "display",
         "trade-desk", "CPM"},
        {"https://plumber.example/?utm_source=partnerco&utm_medium=affiliate&utm_campaign=q3", NULL,
         "affiliate", "partnerco", "affiliate"},
        {"https://plumber.example/?utm_source=flyer&utm_medium=print", NULL, "offline", "flyer",
         "print"},
    };
    check_cases(cases, ARRAY_SIZE(cases));
}

static void referral_and_direct(void **state)
{
    static const struct channel_case cases[] = {
        {"https://plumber.example/", "https://www.yelp.com/biz/joes-plumbing", "referral",
         "yelp.com", "referral"},
        {"https://plumber.example/", "http://Blog.Partner.example:8080/post", "referral",
         "blog.partner.example", "referral"},
        /* a subdomain of the site is another site */
        {"https://plumber.example/", "https://blog.plumber.example/", "referral",
         "blog.plumber.example", "referral"},
        {"https://plumber.example/", NULL, "direct", "(direct)", "(none)"},
        {"https://plumber.example/", "", "direct", "(direct)", "(none)"},
        /* an unparseable referrer counts as none */
        {"https://plumber.example/", "not a url", "direct", "(direct)", "(none)"},
        {"https://plumber.example/", "https://exa mple.com/", "direct", "(direct)", "(none)"},
        /* the site's own pages are not external, with or without www. */
        {"https://plumber.example/contact", "https://plumber.example/about", "direct", "(direct)",
         "(none)"},
        {"https://plumber.example/", "https://WWW.Plumber.Example/x", "direct", "(direct)",
         "(none)"},
        {"https://www.plumber.example/", "http://plumber.example/", "direct", "(direct)", "(none)"},
        /* internal navigation keeps an explicit tag */
        {"https://plumber.example/?utm_source=newsletter&utm_medium=email",
         "https://plumber.example/", "email", "newsletter", "email"},
        /* tagged with an unknown medium: not direct */
        {"https://plumber.example/?utm_source=partner&utm_medium=qr", NULL, "referral", "partner",
         "qr"},
        /* an untagged external referrer names the source when UTM omits it */
        {"https://plumber.example/?utm_campaign=fall", "https://news.example.org/a", "referral",
         "news.example.org", "referral"},
        /* UTM fragments are not query parameters */
        {"https://plumber.example/#utm_source=google&utm_medium=cpc", NULL, "direct", "(direct)",
         "(none)"},
    };
    check_cases(cases, ARRAY_SIZE(cases));
    struct source s;
    classify("https://plumber.example/?utm_campaign=fall", "https://news.example.org/a", &s);
    assert_string_equal(s.campaign, "fall");
    assert_string_equal(s.keyword, "");
    classify("https://plumber.example/", "https://www.yelp.com/biz/joes-plumbing", &s);
    assert_string_equal(s.referrer_host, "www.yelp.com");
    classify("https://plumber.example/", "https://plumber.example/about", &s);
    assert_string_equal(s.referrer_host, "plumber.example");
    classify("https://plumber.example/", NULL, &s);
    assert_string_equal(s.referrer_host, "");
}

/* ------------------------------------------------------------------------------------------ */
/* Landing URL                                                                                */

static void landing_page_and_path(void **state)
{
    static const struct {
        const char *url, *page, *path;
    } cases[] = {
        {"https://Example.COM:8443/Path/To?x=1#frag", "https://example.com:8443/Path/To",
         "/Path/To"},
        {"HTTPS://example.com", "https://example.com/", "/"},
        {"http://example.com?utm_source=x", "http://example.com/", "/"},
        {"https://user:secret@example.com/a?b=c", "https://example.com/a", "/a"},
        {"https://evil.example@good.example/x", "https://good.example/x", "/x"},
        {"http://[::1]:8080/x", "http://[::1]:8080/x", "/x"},
        {"https://example.com/caf\xc3\xa9/%20x", "https://example.com/caf\xc3\xa9/%20x",
         "/caf\xc3\xa9/%20x"},
        {"https://example.com/a\r\nb", "https://example.com/ab", "/ab"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct source s;
        classify(cases[i].url, NULL, &s);
        assert_string_equal(s.landing_page, cases[i].page);
        assert_string_equal(s.landing_path, cases[i].path);
    }
}

static void rejects_what_is_not_an_http_url(void **state)
{
    static const char *const bad[] = {
        "",
        "example.com/landing",
        "/landing?utm_source=google",
        "//example.com/",
        "ftp://example.com/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "mailto:a@example.com",
        "android-app://com.google.android.gm/",
        "https://",
        "https:///path",
        "https://?utm_source=x",
        "https://exa mple.com/",
        "https://a\nb.example/",
        "https://ex%41mple.com/",
        "https://example.com:99999999/",
        "https://example.com:8o/",
        "https://[::1/",
        "https://[]/",
        "http:/example.com/",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct source s;
        struct errbuf eb = {0};
        int rule = 5;
        memset(&s, 'x', sizeof(s));
        int rc = classify_visit(bad[i], NULL, NULL, 0, &s, &rule, &eb);
        if (rc != ERR_INVALID)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(rc, ERR_INVALID);
        assert_string_equal(eb.field, "url");
        assert_int_equal(rule, -1);
        assert_string_equal(s.channel, ""); /* nothing half-filled */
        assert_string_equal(s.source, "");
    }
    struct source s;
    assert_int_equal(classify_visit(NULL, NULL, NULL, 0, &s, NULL, NULL), ERR_INVALID);
    /* a huge host is not a host */
    size_t n = 300;
    char host[400] = "https://";
    memset(host + 8, 'a', n);
    host[8 + n] = '\0';
    assert_int_equal(classify_visit(host, NULL, NULL, 0, &s, NULL, NULL), ERR_INVALID);
}

/* ------------------------------------------------------------------------------------------ */
/* Hostile query strings                                                                      */

static void huge_values_are_truncated(void **state)
{
    struct source s;
    /* 10 KB of ASCII, then a parameter that must still be read */
    char *url = url_with_long_value("utm_source=", "a", 10240, "&utm_medium=email&gclid=g");
    classify(url, NULL, &s);
    assert_int_equal(strlen(s.source), CLASSIFY_FIELD_MAX - 1);
    assert_int_equal(strspn(s.source, "a"), CLASSIFY_FIELD_MAX - 1);
    assert_string_equal(s.medium, "email");
    assert_string_equal(s.channel, "email");
    assert_string_equal(s.click_ids[CLICK_GCLID], "g");
    free(url);

    /* multi-byte characters are never cut: 2, 3 and 4 byte sequences, and a 1-byte offset */
    static const struct {
        const char *prefix, *unit, *raw_unit;
        size_t want_len;
    } cut[] = {
        {"", "%C3%A9", "\xc3\xa9", 254},                /* é: 127 * 2 */
        {"a", "%C3%A9", "\xc3\xa9", 255},               /* 'a' + 127 * 2 */
        {"", "%E2%82%AC", "\xe2\x82\xac", 255},         /* €: 85 * 3 */
        {"ab", "%E2%82%AC", "\xe2\x82\xac", 254},       /* 2 + 84 * 3 */
        {"", "%F0%9F%98%80", "\xf0\x9f\x98\x80", 252},  /* emoji: 63 * 4 */
        {"a", "%F0%9F%98%80", "\xf0\x9f\x98\x80", 253}, /* 1 + 63 * 4 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cut); i++) {
        char head[32];
        snprintf(head, sizeof(head), "utm_campaign=%s", cut[i].prefix);
        url = url_with_long_value(head, cut[i].unit, 4000, "");
        classify(url, NULL, &s);
        assert_int_equal(strlen(s.campaign), cut[i].want_len);
        size_t plen = strlen(cut[i].prefix);
        assert_memory_equal(s.campaign, cut[i].prefix, plen);
        for (size_t at = plen; at < cut[i].want_len; at += strlen(cut[i].raw_unit))
            assert_memory_equal(s.campaign + at, cut[i].raw_unit, strlen(cut[i].raw_unit));
        free(url);
    }

    /* a 10 KB click id and a 10 KB parameter name */
    url = url_with_long_value("gclid=", "Z", 10240, "");
    classify(url, NULL, &s);
    assert_int_equal(strlen(s.click_ids[CLICK_GCLID]), CLASSIFY_FIELD_MAX - 1);
    assert_string_equal(s.channel, "paid_search");
    free(url);
    url = url_with_long_value("k", "k", 10240, "=v&utm_source=after&utm_medium=cpc");
    classify(url, NULL, &s);
    assert_string_equal(s.source, "after");
    free(url);

    /* 5000 parameters before the one we want */
    url = url_with_long_value("a=", "b&a=", 5000, "b&msclkid=m");
    classify(url, NULL, &s);
    assert_string_equal(s.click_ids[CLICK_MSCLKID], "m");
    free(url);

    /* a 10 KB landing path and a 10 KB referrer */
    char *path = malloc(10300);
    assert_non_null(path);
    memcpy(path, "https://t.example/", 18);
    memset(path + 18, 'p', 10240);
    path[18 + 10240] = '\0';
    classify(path, path, &s);
    assert_int_equal(strlen(s.landing_page), CLASSIFY_FIELD_MAX - 1);
    assert_int_equal(strlen(s.landing_path), CLASSIFY_FIELD_MAX - 1);
    assert_string_equal(s.channel, "direct"); /* same site */
    free(path);
}

static void escapes_and_control_characters(void **state)
{
    static const struct {
        const char *query, *want;
    } cases[] = {
        {"utm_campaign=100%25+off", "100% off"},
        {"utm_campaign=bad%zzescape%4", "bad%zzescape%4"},
        {"utm_campaign=trailing%", "trailing%"},
        {"utm_campaign=%%41", "%A"},
        {"utm_campaign=a%00b%00", "ab"},
        {"utm_campaign=line1%0D%0Aline2%09x%7F", "line1line2x"},
        {"utm_campaign=raw\x01\x1f"
         "ctl\x7f",
         "rawctl"},
        {"utm_campaign=nel%C2%85x", "nelx"},                 /* C1 control U+0085 */
        {"utm_campaign=nbsp%C2%A0x", "nbsp\xc2\xa0x"},       /* U+00A0 is text */
        {"utm_campaign=%FF", "\xef\xbf\xbd"},                /* invalid byte -> U+FFFD */
        {"utm_campaign=%C0%AF", "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong '/' */
        {"utm_campaign=%ED%A0%80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"utm_campaign=x%E2%82", "x\xef\xbf\xbd"},   /* truncated at the end */
        {"utm_campaign=%E2%82x", "\xef\xbf\xbdx"},   /* truncated in the middle */
        {"utm_campaign=caf\xc3\xa9", "caf\xc3\xa9"}, /* raw UTF-8 is kept */
        {"utm_campaign=+spaced+out+", "spaced out"}, /* trimmed */
        {"utm_campaign=%3Cscript%3E", "<script>"},   /* data, escaped on output */
        {"utm%5Fcampaign=encoded-key", "encoded-key"},
        {"UTM_Campaign=any-case-key", "any-case-key"},
        {"utm_campaign=&utm_campaign=first&utm_campaign=second", "first"},
        {"utm_campaign", ""},
        {"=&&=&utm_campaign=ok&", "ok"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char url[512];
        snprintf(url, sizeof(url), "https://t.example/?%s", cases[i].query);
        struct source s;
        classify(url, NULL, &s);
        if (strcmp(s.campaign, cases[i].want) != 0)
            print_error("case %zu '%s': got '%s'\n", i, cases[i].query, s.campaign);
        assert_string_equal(s.campaign, cases[i].want);
    }
    /* a value that cleans to nothing is absent */
    struct source s;
    classify("https://t.example/?utm_source=%00%01&utm_medium=%0A", NULL, &s);
    assert_string_equal(s.channel, "direct");
}

/* Deterministic random garbage: whatever the bytes, the call succeeds and every field keeps
 * its invariants. */
static void random_queries_keep_invariants(void **state)
{
    static const char *const pieces[] = {
        "utm_source=", "utm_medium=", "utm_campaign=",
        "utm_term=",   "gclid=",      "fbclid=",
        "&",           "=",           "%",
        "%2",          "%C3",         "%A9",
        "%E2%82",      "%F0%9F",      "%00",
        "%FF",         "+",           "#",
        "?",           "cpc",         "email",
        "social",      "paid",        "\xc3",
        "\xa9",        "\xff",        "\x01",
        "\x7f",        " ",
    };
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int iter = 0; iter < 3000; iter++) {
        char url[1024] = "https://t.example/p?";
        size_t len = strlen(url);
        for (int k = 0; k < 40; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            const char *piece = pieces[x % ARRAY_SIZE(pieces)];
            char byte[2] = {(char)(1 + (x >> 32) % 255), '\0'};
            const char *add = (x >> 40) % 4 == 0 ? byte : piece;
            size_t n = strlen(add);
            if (len + n < sizeof(url)) {
                memcpy(url + len, add, n);
                len += n;
            }
        }
        url[len] = '\0';
        struct source s;
        classify(url, iter % 2 ? url : "https://www.google.com/", &s);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Rules                                                                                      */

static int classify_with(const char *url, const char *referrer, const struct classify_rule *rules,
                         size_t n, struct source *s)
{
    int rule = 99;
    assert_int_equal(classify_visit(url, referrer, rules, n, s, &rule, NULL), ERR_OK);
    assert_source_clean(s);
    return rule;
}

static void rules_first_match_wins_and_overrides(void **state)
{
    const struct classify_rule rules[] = {
        {.field = RULE_UTM_CAMPAIGN,
         .op = RULE_CONTAINS,
         .value = "brand",
         .set_campaign = "Brand",
         .pool_id = 7},
        {.field = RULE_UTM_SOURCE, .op = RULE_EQUALS, .value = "Google", .pool_id = 3},
        {.field = RULE_UTM_SOURCE, .op = RULE_EQUALS, .value = "google", .pool_id = 4},
    };
    struct source s;
    int r = classify_with("https://t.example/?utm_source=google&utm_medium=cpc&utm_campaign=US-"
                          "BRAND-exact",
                          NULL, rules, ARRAY_SIZE(rules), &s);
    assert_int_equal(r, 0);
    assert_string_equal(s.campaign, "Brand");
    assert_string_equal(s.channel, "paid_search"); /* not overridden: kept */
    assert_string_equal(s.source, "google");

    r = classify_with("https://t.example/?utm_source=GOOGLE&utm_campaign=generic", NULL, rules,
                      ARRAY_SIZE(rules), &s);
    assert_int_equal(r, 1); /* case-insensitive, and before rule 2 */
    assert_int_equal(rules[r].pool_id, 3);
    assert_string_equal(s.campaign, "generic");

    r = classify_with("https://t.example/", NULL, rules, ARRAY_SIZE(rules), &s);
    assert_int_equal(r, -1);
    assert_string_equal(s.channel, "direct");

    /* no rules at all, and a NULL out_rule */
    assert_int_equal(classify_with("https://t.example/", NULL, NULL, 0, &s), -1);
    assert_int_equal(classify_visit("https://t.example/", NULL, rules, 1, &s, NULL, NULL), ERR_OK);
}

static void rules_on_click_ids(void **state)
{
    const struct classify_rule gclid[] = {
        {.field = RULE_CLICK_ID, .op = RULE_PRESENT, .value = "gclid", .number_id = 42}};
    const struct classify_rule any[] = {{.field = RULE_CLICK_ID, .op = RULE_PRESENT}};
    const struct classify_rule msclkid[] = {
        {.field = RULE_CLICK_ID, .op = RULE_EQUALS, .value = "MSCLKID"}};
    struct source s;
    assert_int_equal(classify_with("https://t.example/?gclid=x", NULL, gclid, 1, &s), 0);
    assert_int_equal(classify_with("https://t.example/?fbclid=x", NULL, gclid, 1, &s), -1);
    assert_int_equal(classify_with("https://t.example/?gclid=", NULL, gclid, 1, &s), -1);
    assert_int_equal(classify_with("https://t.example/?fbclid=x", NULL, any, 1, &s), 0);
    assert_int_equal(classify_with("https://t.example/", NULL, any, 1, &s), -1);
    assert_int_equal(classify_with("https://t.example/?msclkid=1", NULL, msclkid, 1, &s), 0);
    /* utm_* rules see the URL's own tags, not sources derived from a click id */
    const struct classify_rule utm[] = {
        {.field = RULE_UTM_SOURCE, .op = RULE_EQUALS, .value = "google"}};
    assert_int_equal(classify_with("https://t.example/?gclid=x", NULL, utm, 1, &s), -1);
    assert_string_equal(s.source, "google");
}

static void rules_on_referrer_path_channel(void **state)
{
    const struct classify_rule rules[] = {
        {.field = RULE_REFERRER_HOST,
         .op = RULE_CONTAINS,
         .value = "yelp",
         .set_channel = "referral",
         .set_source = "Yelp",
         .set_medium = "directory"},
        {.field = RULE_LANDING_PATH, .op = RULE_PREFIX, .value = "/services/", .pool_id = 9},
        {.field = RULE_CHANNEL,
         .op = RULE_EQUALS,
         .value = "organic_social",
         .set_channel = "paid_social",
         .set_medium = "boosted"},
        {.field = RULE_UTM_TERM, .op = RULE_PRESENT, .pool_id = 11},
    };
    size_t n = ARRAY_SIZE(rules);
    struct source s;
    assert_int_equal(classify_with("https://t.example/", "https://m.yelp.com/biz/x", rules, n, &s),
                     0);
    assert_string_equal(s.channel, "referral");
    assert_string_equal(s.source, "Yelp");
    assert_string_equal(s.medium, "directory");

    assert_int_equal(classify_with("https://t.example/Services/plumbing", NULL, rules, n, &s), 1);
    assert_int_equal(classify_with("https://t.example/about/services/", NULL, rules, n, &s), -1);

    assert_int_equal(classify_with("https://t.example/", "https://t.co/x", rules, n, &s), 2);
    assert_string_equal(s.channel, "paid_social");
    assert_string_equal(s.source, "twitter");
    assert_string_equal(s.medium, "boosted");

    assert_int_equal(classify_with("https://t.example/?utm_term=drain", NULL, rules, n, &s), 3);
    assert_int_equal(classify_with("https://t.example/?utm_term=", NULL, rules, n, &s), -1);
}

static void rule_overrides_are_sanitized(void **state)
{
    char long_source[1000];
    memset(long_source, 's', sizeof(long_source) - 1);
    long_source[sizeof(long_source) - 1] = '\0';
    const struct classify_rule rules[] = {
        {.field = RULE_CHANNEL,
         .op = RULE_PRESENT,
         .set_channel = "tv",
         .set_source = long_source,
         .set_medium = "a\nb",
         .set_campaign = ""},
    };
    struct source s;
    assert_int_equal(
        classify_with("https://t.example/?utm_campaign=c", "https://bing.com/", rules, 1, &s), 0);
    assert_string_equal(s.channel, "organic_search"); /* "tv" is not a channel: ignored */
    assert_int_equal(strlen(s.source), CLASSIFY_FIELD_MAX - 1);
    assert_string_equal(s.medium, "ab");
    assert_string_equal(s.campaign, "");
    /* a rule with a field outside the enum never matches */
    const struct classify_rule odd[] = {{.field = (enum rule_field)99, .op = RULE_PRESENT}};
    assert_int_equal(classify_with("https://t.example/", NULL, odd, 1, &s), -1);
}

static void rule_names_parse(void **state)
{
    static const struct {
        const char *name;
        int field;
    } fields[] = {
        {"utm_source", RULE_UTM_SOURCE},
        {"utm_medium", RULE_UTM_MEDIUM},
        {"utm_campaign", RULE_UTM_CAMPAIGN},
        {"utm_term", RULE_UTM_TERM},
        {"utm_content", RULE_UTM_CONTENT},
        {"click_id", RULE_CLICK_ID},
        {"referrer_host", RULE_REFERRER_HOST},
        {"landing_path", RULE_LANDING_PATH},
        {"channel", RULE_CHANNEL},
        {"UTM_SOURCE", RULE_UTM_SOURCE},
        {"utm", -1},
        {"", -1},
        {"utm_source ", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        assert_int_equal(classify_rule_field_parse(fields[i].name), fields[i].field);
    assert_int_equal(classify_rule_op_parse("equals"), RULE_EQUALS);
    assert_int_equal(classify_rule_op_parse("contains"), RULE_CONTAINS);
    assert_int_equal(classify_rule_op_parse("prefix"), RULE_PREFIX);
    assert_int_equal(classify_rule_op_parse("present"), RULE_PRESENT);
    assert_int_equal(classify_rule_op_parse("Equals"), RULE_EQUALS);
    assert_int_equal(classify_rule_op_parse("regex"), -1);
    assert_int_equal(classify_rule_op_parse(NULL), -1);
    assert_string_equal(click_id_names[CLICK_GCLID], "gclid");
    assert_string_equal(click_id_names[CLICK_LI_FAT_ID], "li_fat_id");
}

static void channel_names(void **state)
{
    static const char *const valid[] = {
        "paid_search", "organic_search", "paid_social", "organic_social", "email",
        "referral",    "display",        "affiliate",   "direct",         "offline"};
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++)
        assert_true(classify_channel_valid(valid[i]));
    assert_false(classify_channel_valid("Paid_Search"));
    assert_false(classify_channel_valid("paid"));
    assert_false(classify_channel_valid(""));
    assert_false(classify_channel_valid(NULL));
}

/* ------------------------------------------------------------------------------------------ */
/* User agents                                                                                */

static const struct {
    const char *ua;
    enum device device;
} browsers[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", DEVICE_DESKTOP},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.4 Safari/605.1.15",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     DEVICE_DESKTOP},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", DEVICE_MOBILE},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) GSA/312.0.623345206 Mobile/15E148 Safari/604.1",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/459.0.0.38.110;FBBV/590470938;FBDV/iPhone14,5;FBMD/"
     "iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36 Instagram "
     "298.0.0.31.110 Android (33/13; 420dpi; 1080x2400; Google/google; Pixel 7; panther; "
     "panther; en_US; 505499498)",
     DEVICE_MOBILE},
    /* "Cubot" is a phone brand: a bare "bot" token would hide these visitors */
    {"Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Mobile Safari/537.36",
     DEVICE_MOBILE},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     DEVICE_TABLET},
    {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36",
     DEVICE_TABLET},
    {"Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", DEVICE_TABLET},
    {"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Silk/124.2.1 like Chrome/124.0.6367.118 Safari/537.36",
     DEVICE_TABLET},
};

static void real_browsers_are_not_bots(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(browsers); i++) {
        if (classify_is_bot(browsers[i].ua))
            print_error("browser %zu taken for a bot: %s\n", i, browsers[i].ua);
        assert_false(classify_is_bot(browsers[i].ua));
    }
}

static void devices_of_real_browsers(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(browsers); i++) {
        enum device d = classify_device(browsers[i].ua);
        if (d != browsers[i].device)
            print_error("browser %zu: %s, want %s\n", i, device_name(d),
                        device_name(browsers[i].device));
        assert_int_equal(d, browsers[i].device);
    }
    assert_int_equal(classify_device(NULL), DEVICE_UNKNOWN);
    assert_int_equal(classify_device(""), DEVICE_UNKNOWN);
    assert_int_equal(classify_device("curl/8.5.0"), DEVICE_UNKNOWN);
    assert_string_equal(device_name(DEVICE_DESKTOP), "desktop");
    assert_string_equal(device_name(DEVICE_MOBILE), "mobile");
    assert_string_equal(device_name(DEVICE_TABLET), "tablet");
    assert_string_equal(device_name(DEVICE_UNKNOWN), "unknown");
    assert_string_equal(device_name((enum device)42), "unknown");
}

static void known_bots(void **state)
{
    static const char *const bots[] = {
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)",
        "AdsBot-Google (+http://www.google.com/adsbot.html)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (compatible; AdsBot-Google-Mobile; "
        "+http://www.google.com/mobile/adsbot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0 A",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Go-http-client/1.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)",
        "GOOGLEBOT",
        /* tokens beyond §9.1: one per first-letter list of the index */
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Python/3.11 aiohttp/3.9.1",
        "Apache-HttpClient/4.5.14 (Java/17.0.9)",
        "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)",
        "Mozilla/5.0 (compatible; SomeCrawler/1.0)",
        "Mozilla/5.0 (compatible; DatadogSynthetics)",
        "Mozilla/5.0 (Linux; Android 10) GTmetrix",
        "ia_archiver (+http://www.alexa.com/site/help/webmasters)",
        "libwww-perl/6.72",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1",
        "python-httpx/0.27.0",
        "Python-urllib/3.11",
        "Scrapy/2.11.0 (+https://scrapy.org)",
        "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/)",
        "Site24x7",
        "Mozilla/5.0 (compatible; StatusCake)",
        "",
        "   ",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bots); i++) {
        if (!classify_is_bot(bots[i]))
            print_error("bot %zu missed: %s\n", i, bots[i]);
        assert_true(classify_is_bot(bots[i]));
    }
    assert_true(classify_is_bot(NULL));
}

/* Every crawler token INTERFACES.md §9.1 lists, read from the document itself, is caught
 * inside a user agent, in any case. */
static void interfaces_tokens_are_bots(void **state)
{
    FILE *f = fopen(SHARED_DIR "/INTERFACES.md", "r");
    if (!f)
        skip();
    char line[4096];
    bool in_section = false;
    int n_tokens = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "### ", 4) == 0)
            in_section = strncmp(line, "### 9.1", 7) == 0;
        for (char *p = in_section ? strchr(line, '`') : NULL; p; p = strchr(p, '`')) {
            char *end = strchr(p + 1, '`');
            if (!end)
                break;
            char token[128];
            snprintf(token, sizeof(token), "%.*s", (int)(end - p - 1), p + 1);
            p = end + 1;
            if (strchr(token, '*') || strstr(token, "crawler-user-agents") ||
                strcmp(token, "User-Agent") == 0)
                continue;
            char ua[256];
            snprintf(ua, sizeof(ua), "Mozilla/5.0 (compatible; %s; +https://example.org/)", token);
            if (!classify_is_bot(ua))
                print_error("token '%s' not recognised\n", token);
            assert_true(classify_is_bot(ua));
            for (char *c = token; *c; c++)
                *c = (char)(*c ^ (((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z') ? 0x20 : 0));
            assert_true(classify_is_bot(token)); /* case swapped, on its own */
            n_tokens++;
        }
    }
    fclose(f);
    assert_true(n_tokens >= 50);
    /* the wrapper alone is not a bot, so each hit above came from the token */
    assert_false(classify_is_bot("Mozilla/5.0 (compatible; ; +https://example.org/)"));
}

/* Channel sets: one bit per name in the canonical order, 0 for anything else. */
static void channel_bits(void **state)
{
    (void)state;
    uint32_t all = 0;
    for (size_t i = 0; i < CLASSIFY_N_CHANNELS; i++) {
        const char *name = classify_channel_at(i);
        assert_non_null(name);
        assert_true(classify_channel_valid(name));
        assert_int_equal(classify_channel_bit(name), 1u << i);
        all |= classify_channel_bit(name);
    }
    assert_int_equal(all, (1u << CLASSIFY_N_CHANNELS) - 1);
    assert_null(classify_channel_at(CLASSIFY_N_CHANNELS));
    assert_string_equal(classify_channel_at(0), "paid_search");
    assert_int_equal(classify_channel_bit("offline"), 512);
    assert_int_equal(classify_channel_bit("Paid_search"), 0);
    assert_int_equal(classify_channel_bit(""), 0);
    assert_int_equal(classify_channel_bit(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paid_search),
        cmocka_unit_test(organic_search),
        cmocka_unit_test(paid_and_organic_social),
        cmocka_unit_test(email_display_affiliate_offline),
        cmocka_unit_test(referral_and_direct),
        cmocka_unit_test(landing_page_and_path),
        cmocka_unit_test(rejects_what_is_not_an_http_url),
        cmocka_unit_test(huge_values_are_truncated),
        cmocka_unit_test(escapes_and_control_characters),
        cmocka_unit_test(random_queries_keep_invariants),
        cmocka_unit_test(rules_first_match_wins_and_overrides),
        cmocka_unit_test(rules_on_click_ids),
        cmocka_unit_test(rules_on_referrer_path_channel),
        cmocka_unit_test(rule_overrides_are_sanitized),
        cmocka_unit_test(rule_names_parse),
        cmocka_unit_test(channel_names),
        cmocka_unit_test(real_browsers_are_not_bots),
        cmocka_unit_test(devices_of_real_browsers),
        cmocka_unit_test(known_bots),
        cmocka_unit_test(interfaces_tokens_are_bots),
        cmocka_unit_test(channel_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
