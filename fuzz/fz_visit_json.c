/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Fuzz target: the body of POST /v1/visits (public, attacker-written). The handler's own
 * parse_visit is static in http/handlers/h_visit.c, so this target runs the public pieces it is
 * made of, in the same order: json_parse_object, json_get_str on the visit's string fields,
 * phone_parse on each of "targets", and classify_visit on url and referrer. Invariants: the
 * strings handed out hold no NUL (json.h), parsed targets are E.164, the classification holds
 * the struct source guarantees (classify.h). */
#include "base/prelude.h"

#include <jansson.h>

#include "base/err.h"
#include "core/classify.h"
#include "core/phone.h"
#include "base/json.h"
#include "fuzz.h"

#define BODY_MAX 8192 /* the route's limit (API.md: body over 8 KiB -> 413) */

static const char *get_str(json_t *o, const char *key)
{
    const char *v = NULL;
    struct errbuf eb = {{0}, NULL};
    int rc = json_get_str(o, key, &v, &eb);
    json_t *j = json_object_get(o, key);
    if (rc != ERR_OK) {
        FUZZ_CHECK(rc == ERR_INVALID && eb.field && strcmp(eb.field, key) == 0);
        FUZZ_CHECK(v == NULL);
        return NULL;
    }
    FUZZ_CHECK(!v || (json_is_string(j) && strlen(v) == json_string_length(j)));
    FUZZ_CHECK(v || !j || json_is_null(j));
    return v;
}

static void check_targets(json_t *o)
{
    json_t *t = json_object_get(o, "targets");
    if (!json_is_array(t))
        return;
    size_t i;
    json_t *e;
    json_array_foreach(t, i, e)
    {
        if (!json_is_string(e))
            continue;
        char e164[PHONE_E164_MAX];
        if (phone_parse(json_string_value(e), e164, NULL) == ERR_OK)
            FUZZ_CHECK(e164[0] == '+' && strlen(e164) >= 9);
        else
            FUZZ_CHECK(e164[0] == '\0');
    }
}

static void check_classify(const char *url, const char *referrer)
{
    struct source src;
    int rule = -7;
    if (classify_visit(url, referrer, NULL, 0, &src, &rule, NULL) != ERR_OK)
        return;
    FUZZ_CHECK(rule == -1);
    FUZZ_CHECK(classify_channel_valid(src.channel));
    const char *const fields[] = {src.source,       src.medium,       src.campaign,
                                  src.keyword,      src.content,      src.landing_page,
                                  src.landing_path, src.referrer_host};
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        FUZZ_CHECK(fuzz_field_ok(fields[i], CLASSIFY_FIELD_MAX));
    for (size_t i = 0; i < CLICK_N; i++)
        FUZZ_CHECK(fuzz_field_ok(src.click_ids[i], CLASSIFY_FIELD_MAX));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > BODY_MAX)
        return 0;
    json_t *o = NULL;
    struct errbuf eb = {{0}, NULL};
    if (json_parse_object((const char *)data, size, &o, &eb) != ERR_OK) {
        FUZZ_CHECK(o == NULL && eb.msg[0]);
        return 0;
    }
    FUZZ_CHECK(json_is_object(o));
    (void)get_str(o, "account");
    const char *url = get_str(o, "url");
    const char *referrer = get_str(o, "referrer");
    (void)get_str(o, "visitor_id");
    (void)get_str(o, "session_id");
    check_targets(o);
    if (url)
        check_classify(url, referrer);
    long long n = -1;
    bool b = false;
    double d = 0;
    (void)json_get_int(o, "ttl", &n, NULL);
    (void)json_get_bool(o, "bot", &b, NULL);
    (void)json_get_number(o, "confidence", &d, NULL);
    json_decref(o);
    return 0;
}
